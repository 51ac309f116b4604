// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ttak_test.c - registry, runner and helpers of the ttak test framework.
 * See ttak_test.h for how tests are written and run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ttak_test.h"
#include "ttak_core.h"

#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TT_DEFAULT_TIMEOUT	120
#define TT_CAPTURE_MAX		(64 * 1024)

/*
 * Sanitizer defaults for test programs run by hand (run-flavour.sh sets
 * the same through the environment): some tests ask for absurd sizes and
 * expect NULL, as malloc() gives, instead of the sanitizer's abort.
 * Unused unless the program is built with the sanitizer.
 */
const char *__asan_default_options(void);
const char *__tsan_default_options(void);

const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

const char *__tsan_default_options(void)
{
	return "allocator_may_return_null=1:halt_on_error=1";
}

static struct tt_test *tt_head;
static size_t tt_ntests;
static atomic_ulong tt_nfail;
static const char *tt_current;

void tt_register(struct tt_test *t)
{
	t->next = tt_head;
	tt_head = t;
	tt_ntests++;
}

void tt_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one write per report, so lines from several threads stay whole */
	fprintf(stderr, "%s:%d: %s: %s\n", file, line,
		tt_current ? tt_current : "?", msg);
	atomic_fetch_add(&tt_nfail, 1);
}

unsigned long tt_failures(void)
{
	return atomic_load(&tt_nfail);
}

bool tt_check_cmp(uintmax_t va, uintmax_t vb, enum tt_op op,
		  const char *a, const char *b, const char *file, int line)
{
	static const char *const names[] = {
		"==", "!=", "<", "<=", ">", ">="
	};
	bool ok;

	switch (op) {
	case TT_EQ:
		ok = va == vb;
		break;
	case TT_NE:
		ok = va != vb;
		break;
	case TT_LT:
		ok = va < vb;
		break;
	case TT_LE:
		ok = va <= vb;
		break;
	case TT_GT:
		ok = va > vb;
		break;
	default:
		ok = va >= vb;
		break;
	}
	if (!ok)
		tt_fail(file, line, "%s %s %s failed: %ju (0x%jx) vs %ju (0x%jx)",
			a, names[op], b, va, va, vb, vb);
	return ok;
}

bool tt_check_ptr(uintptr_t va, uintptr_t vb, bool want_equal,
		  const char *a, const char *b, const char *file, int line)
{
	bool ok = (va == vb) == want_equal;

	if (!ok)
		tt_fail(file, line, "%s %s %s failed: %p vs %p", a,
			want_equal ? "==" : "!=", b, (void *)va, (void *)vb);
	return ok;
}

bool tt_check_contains(const char *hay, const char *needle, const char *file,
		       int line)
{
	if (hay && needle && strstr(hay, needle))
		return true;
	tt_fail(file, line, "expected \"%s\" in output: \"%s\"",
		needle ? needle : "(null)", hay ? hay : "(null)");
	return false;
}

size_t tt_count(const char *hay, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	if (!len)
		return 0;
	while ((hay = strstr(hay, needle))) {
		n++;
		hay += len;
	}
	return n;
}

static int tt_saved_stderr = -1;
static FILE *tt_capture_file;
static char tt_capture_buf[TT_CAPTURE_MAX];

void tt_capture_begin(void)
{
	fflush(stderr);
	tt_capture_file = tmpfile();
	if (!tt_capture_file) {
		perror("tmpfile");
		abort();
	}
	tt_saved_stderr = dup(STDERR_FILENO);
	if (tt_saved_stderr < 0 ||
	    dup2(fileno(tt_capture_file), STDERR_FILENO) < 0) {
		perror("dup");
		abort();
	}
}

const char *tt_capture_end(void)
{
	size_t n;

	fflush(stderr);
	dup2(tt_saved_stderr, STDERR_FILENO);
	close(tt_saved_stderr);
	tt_saved_stderr = -1;
	rewind(tt_capture_file);
	n = fread(tt_capture_buf, 1, sizeof(tt_capture_buf) - 1,
		  tt_capture_file);
	tt_capture_buf[n] = '\0';
	fclose(tt_capture_file);
	tt_capture_file = NULL;
	return tt_capture_buf;
}

unsigned long tt_env_ms(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end)
		return def;
	return v;
}

uint64_t tt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t tt_rng(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

uint64_t tt_seed(void)
{
	const char *s = getenv("TTAK_SEED");
	uint64_t seed;

	if (s && *s)
		seed = strtoull(s, NULL, 0);
	else
		seed = tt_now_ms() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	if (!seed)
		seed = 1;
	printf("  seed %#llx (re-run: TTAK_SEED=%#llx)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	fflush(stdout);
	return seed;
}

void tt_sleep_ms(unsigned long ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

size_t tt_live_blocks(void)
{
	size_t blocks, bytes;

	ttak_mem_core_usage(&blocks, &bytes);
	return blocks;
}

size_t tt_live_bytes(void)
{
	size_t blocks, bytes;

	ttak_mem_core_usage(&blocks, &bytes);
	return bytes;
}

/* Tests in file order (registration order is up to the toolchain). */
static int tt_cmp(const void *a, const void *b)
{
	const struct tt_test *x = *(const struct tt_test * const *)a;
	const struct tt_test *y = *(const struct tt_test * const *)b;
	int c = strcmp(x->file, y->file);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static bool tt_selected(const struct tt_test *t, int argc, char **argv,
			int first)
{
	int i;

	if (first >= argc)
		return true;
	for (i = first; i < argc; i++)
		if (strstr(t->name, argv[i]))
			return true;
	return false;
}

/* Run one test in a child; true when it passed. */
static bool tt_run_forked(const struct tt_test *t, unsigned long timeout)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return false;
	}
	if (!pid) {
		alarm((unsigned int)timeout);
		tt_current = t->name;
		t->fn();
		fflush(stdout);
		/* exit(), not _exit(): LeakSanitizer checks at exit */
		exit(tt_failures() ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("waitpid");
			return false;
		}
	}
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 0)
			return true;
		fprintf(stderr, "%s: exit status %d\n", t->name,
			WEXITSTATUS(status));
		return false;
	}
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		fprintf(stderr, "%s: killed by signal %d (%s)%s\n", t->name,
			sig, strsignal(sig),
			sig == SIGALRM ? ": timed out" : "");
	}
	return false;
}

static bool tt_run_inline(const struct tt_test *t)
{
	unsigned long before = tt_failures();

	tt_current = t->name;
	t->fn();
	tt_current = NULL;
	return tt_failures() == before;
}

int main(int argc, char **argv)
{
	unsigned long timeout = tt_env_ms("TTAK_TEST_TIMEOUT",
					  TT_DEFAULT_TIMEOUT);
	bool nofork = getenv("TTAK_TEST_NOFORK") != NULL;
	size_t i, n = 0, passed = 0, failed = 0;
	struct tt_test **tests, *t;
	bool list = false;
	int first = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "-l")) {
		list = true;
		first = 2;
	}
	tests = calloc(tt_ntests ? tt_ntests : 1, sizeof(*tests));
	if (!tests)
		return 2;
	for (t = tt_head; t; t = t->next)
		tests[n++] = t;
	qsort(tests, n, sizeof(*tests), tt_cmp);

	for (i = 0; i < n; i++) {
		uint64_t start;
		bool ok;

		t = tests[i];
		if (!tt_selected(t, argc, argv, first))
			continue;
		if (list) {
			printf("%s\n", t->name);
			continue;
		}
		printf("[ RUN    ] %s\n", t->name);
		start = tt_now_ms();
		ok = nofork ? tt_run_inline(t) : tt_run_forked(t, timeout);
		printf("[ %s ] %s (%llu ms)\n", ok ? "    OK" : "FAILED",
		       t->name, (unsigned long long)(tt_now_ms() - start));
		if (ok)
			passed++;
		else
			failed++;
	}
	free(tests);
	if (list)
		return 0;
	printf("%zu passed, %zu failed\n", passed, failed);
	return failed ? 1 : 0;
}
