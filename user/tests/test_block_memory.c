// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The memory behind tracked blocks (user/lib/platform.c): blocks of the
 * mapping threshold and more (16 KiB) are mappings of their own, kept
 * for reuse within a resident byte bound and given back with
 * MADV_DONTNEED past it; smaller ones come from malloc with a per-thread
 * cache drained at thread exit.
 *
 * What is checked: a flushed generation's pages leave the process
 * (mincore() and RSS), memory handed out again reads zero through the
 * API, the byte bound holds, a thread's cache is drained when it exits,
 * many threads allocating and freeing never share a block (and TSan
 * sees no race), a failing mmap() is an ordinary ENOMEM, injected
 * failures reach every block, and under ASan a read of a flushed
 * generation is reported as a use after free.
 */
#include "ttak_test.h"
#include "ttak_core_fixtures.h"
#include "ttak_fault.h"
#include "ttak_platform.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define FOREVER		__TTAK_UNSAFE_MEM_FOREVER__
#define PAGE		4096UL
#define KIB		1024UL
#define MIB		(1024UL * 1024UL)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN	0
#endif
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN	1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN	1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN	0
#endif

static struct ttak_plat_block_stats stats(void)
{
	struct ttak_plat_block_stats st;

	ttak_plat_block_get_stats(&st);
	return st;
}

/* Mapped blocks are in play (not under ASan, where malloc has them all). */
static bool mapping_on(void)
{
	if (stats().map_min)
		return true;
	printf("# blocks are not mapped in this build (ASan): nothing to check\n");
	return false;
}

/* Resident pages of the pages that overlap [p, p + len); 0 if unmapped. */
static size_t resident_pages(const void *p, size_t len)
{
	uintptr_t start = (uintptr_t)p & ~(PAGE - 1);
	uintptr_t end = ((uintptr_t)p + len + PAGE - 1) & ~(PAGE - 1);
	size_t n = (end - start) / PAGE, i, res = 0;
	unsigned char *vec = malloc(n);

	if (!CHECK_NOT_NULL(vec))
		return (size_t)-1;
	if (mincore((void *)start, end - start, vec)) {
		CHECK_ERRNO(ENOMEM);	/* unmapped: nothing resident */
		free(vec);
		return 0;
	}
	for (i = 0; i < n; i++)
		res += vec[i] & 1;
	free(vec);
	return res;
}

static size_t rss_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!CHECK_NOT_NULL(f))
		return 0;
	CHECK_EQ(fscanf(f, "%lu %lu", &size, &res), 2);
	fclose(f);
	return res * (size_t)sysconf(_SC_PAGESIZE);
}

static void fill(void *p, size_t len, unsigned char v)
{
	memset(p, v, len);
}

/* Retire @g and rotate until the tree no longer has it (freed). */
static void flush(ttak_arena_env_t *env, ttak_arena_generation_t *g)
{
	void *base = g->base;
	int i;

	ASSERT(ttak_arena_generation_retire(env, g));
	for (i = 0; i < 100 && ttak_mem_tree_find_node(&env->gc->tree, base);
	     i++)
		ttak_arena_env_rotate(env);
	CHECK_NULL(ttak_mem_tree_find_node(&env->gc->tree, base));
}

static bool env_of(ttak_arena_env_t *env, size_t gen_bytes)
{
	ttak_arena_env_config_t ec;

	ttak_arena_env_config_init(&ec);
	ec.generation_bytes = gen_bytes;
	ec.chunk_bytes = 256;
	return CHECK(ttak_arena_env_init(env, &ec));
}

TEST(defaults_map_16k_and_more)
{
	struct ttak_plat_block_stats st = stats();

	if (UNDER_ASAN) {
		CHECK_EQ(st.map_min, 0);
		return;
	}
	CHECK_EQ(st.map_min, 16 * KIB);
	CHECK_EQ(st.cache_limit, 512 * KIB);
}

/*
 * 64 MiB of generations, touched, then flushed with a zero bound: every
 * page leaves (mincore), and RSS falls by about as much (not under TSan).
 */
TEST(flushed_generations_leave_rss)
{
	enum { GENS = 64 };
	const size_t gen = 1 * MIB;
	ttak_arena_generation_t g[GENS];
	ttak_arena_env_t env;
	size_t before, full, after, res = 0;
	int i;

	if (!mapping_on())
		return;
	ttak_plat_block_set_cache_limit(0);
	ASSERT(env_of(&env, gen));
	before = rss_bytes();
	for (i = 0; i < GENS; i++) {
		ASSERT(ttak_arena_generation_begin(&env, &g[i], 0));
		fill(g[i].base, gen, 0xa5);
	}
	full = rss_bytes();
	CHECK_GE(full, before + GENS * gen * 9 / 10);
	for (i = 0; i < GENS; i++) {
		void *base = g[i].base;

		flush(&env, &g[i]);
		res += resident_pages(base, gen);
	}
	after = rss_bytes();
	CHECK_EQ(res, 0);
	/* TSan keeps its shadow of the pages: only mincore() counts there */
	if (!UNDER_TSAN)
		CHECK_LE(after, before + 4 * MIB);
	printf("# RSS %zu KiB before, %zu KiB with %d MiB of generations, %zu KiB after the flush\n",
	       before / KIB, full / KIB, (int)(GENS * gen / MIB), after / KIB);
	CHECK_EQ(stats().cached_bytes, 0);
	ttak_arena_env_destroy(&env);
}

/*
 * The same with the default bound: at most the bound stays resident,
 * and ttak_plat_block_trim() gives that back too.
 */
TEST(default_bound_keeps_at_most_512kib)
{
	enum { GENS = 32 };
	const size_t gen = 256 * KIB;
	ttak_arena_generation_t g[GENS];
	void *base[GENS];
	ttak_arena_env_t env;
	size_t res = 0;
	int i;

	if (!mapping_on())
		return;
	ASSERT(env_of(&env, gen));
	for (i = 0; i < GENS; i++) {
		ASSERT(ttak_arena_generation_begin(&env, &g[i], 0));
		base[i] = g[i].base;
		fill(base[i], gen, 0x5a);
	}
	for (i = 0; i < GENS; i++)
		flush(&env, &g[i]);
	for (i = 0; i < GENS; i++)
		res += resident_pages(base[i], gen);
	CHECK_LE(res * PAGE, 512 * KIB);
	CHECK_LE(stats().cached_bytes, 512 * KIB);
	CHECK_GT(stats().cached_bytes, 0);
	ttak_plat_block_trim();
	CHECK_EQ(stats().cached_bytes, 0);
	CHECK_EQ(stats().kept_bytes, 0);
	res = 0;
	for (i = 0; i < GENS; i++)
		res += resident_pages(base[i], gen);
	CHECK_EQ(res, 0);
	ttak_arena_env_destroy(&env);
}

/*
 * A block handed out again, from the resident cache (dirty) or from a
 * mapping whose pages were given back, reads zero through the API; the
 * platform's given-back mappings read zero even before the core's memset.
 */
TEST(reuse_returns_zeroed_memory)
{
	const size_t sizes[] = { 16 * KIB, 20000, 64 * KIB, 1 * MIB };
	size_t limit, k;

	if (!mapping_on())
		return;
	for (limit = 0; limit <= 1; limit++) {
		ttak_plat_block_set_cache_limit(limit ? 8 * MIB : 0);
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			unsigned char *p = ttak_mem_alloc(sizes[k], FOREVER, 0);
			unsigned char *q;

			ASSERT_NOT_NULL(p);
			fill(p, sizes[k], 0xff);
			ttak_mem_free(p);
			q = ttak_mem_alloc(sizes[k], FOREVER, 0);
			ASSERT_NOT_NULL(q);
			/* the mapping came back: reuse was exercised */
			CHECK_PTR_EQ(q, p);
			CHECK(all_bytes(q, sizes[k], 0));
			ttak_mem_free(q);
		}
	}
	/* the platform itself: a given-back mapping reads zero */
	{
		unsigned char *b;

		ttak_plat_block_trim();
		ttak_plat_block_set_cache_limit(0);
		b = ttak_plat_block_alloc(64 * KIB);
		ASSERT_NOT_NULL(b);
		fill(b, 64 * KIB, 0x77);
		ttak_plat_block_free(b, 64 * KIB);
		CHECK_EQ(resident_pages(b, 64 * KIB), 0);
		CHECK_EQ(stats().kept_bytes, 64 * KIB);
		ASSERT_PTR_EQ(ttak_plat_block_alloc(64 * KIB), b);
		CHECK(all_bytes(b, 64 * KIB, 0));
		ttak_plat_block_free(b, 64 * KIB);
	}
}

/*
 * Blocks read zero: a block kept resident is cleared on reuse; a fresh
 * or given-back one is zero already and only faulted in.
 */
TEST(zeroed_blocks_are_cleared_only_when_reused_resident)
{
	const size_t len = 1 * MIB;
	unsigned char *b, *p;

	if (!mapping_on())
		return;
	ttak_plat_block_trim();
	ttak_plat_block_set_cache_limit(8 * MIB);
	b = ttak_plat_block_alloc(64 * KIB);
	ASSERT_NOT_NULL(b);
	fill(b, 64 * KIB, 0x5a);
	ttak_plat_block_free(b, 64 * KIB);
	CHECK_EQ(resident_pages(b, 64 * KIB), 64 * KIB / 4096);
	ASSERT_PTR_EQ(ttak_plat_block_alloc(64 * KIB), b);
	CHECK(all_bytes(b, 64 * KIB, 0));
	ttak_plat_block_free(b, 64 * KIB);

	/* fresh and given back: zero, and resident before the caller */
	ttak_plat_block_trim();
	ttak_plat_block_set_cache_limit(0);
	p = ttak_mem_alloc(len, FOREVER, 0);
	ASSERT_NOT_NULL(p);
	CHECK_GE(resident_pages(p, len), len / 4096 - 1);
	CHECK(all_bytes(p, len, 0));
	fill(p, len, 0xa5);
	ttak_mem_free(p);
	CHECK_EQ(stats().kept_bytes, len + 4096);
	b = ttak_mem_alloc(len, FOREVER, 0);
	ASSERT_NOT_NULL(b);
	CHECK_PTR_EQ(b, p);
	CHECK(all_bytes(b, len, 0));
	ttak_mem_free(b);
	ttak_plat_block_set_cache_limit(512 * KIB);	/* the default */
}

/* 400 freed 64 KiB blocks against bounds of 0, 256 KiB and 4 MiB. */
TEST(cache_byte_bound_holds)
{
	enum { N = 400 };
	const size_t len = 64 * KIB;
	const size_t limits[] = { 0, 256 * KIB, 4 * MIB };
	static void *b[N];
	size_t l, i, res;

	if (!mapping_on())
		return;
	for (l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		ttak_plat_block_trim();
		ttak_plat_block_set_cache_limit(limits[l]);
		for (i = 0; i < N; i++) {
			b[i] = ttak_plat_block_alloc(len);
			ASSERT_NOT_NULL(b[i]);
			CHECK_EQ((uintptr_t)b[i] % PAGE, 0);
			fill(b[i], len, (unsigned char)i);
		}
		CHECK_GE(stats().mapped_bytes, N * len);
		for (i = 0; i < N; i++)
			ttak_plat_block_free(b[i], len);
		for (res = 0, i = 0; i < N; i++)
			res += resident_pages(b[i], len);
		CHECK_LE(stats().cached_bytes, limits[l]);
		CHECK_LE(res * PAGE, limits[l]);
		/* what the slots cannot hold (320) is unmapped */
		CHECK_EQ(stats().mapped_bytes,
			 stats().cached_bytes + stats().kept_bytes);
		CHECK_LT(stats().mapped_bytes, N * len);
	}
	ttak_plat_block_trim();
	CHECK_EQ(stats().mapped_bytes, 0);
}

static atomic_uint thread_cached;

static void *cache_some(void *arg)
{
	void *b[8];
	int i;

	(void)arg;
	for (i = 0; i < 8; i++) {
		b[i] = ttak_plat_block_alloc(8 * KIB);
		if (!CHECK_NOT_NULL(b[i]))
			return NULL;
	}
	for (i = 0; i < 8; i++)
		ttak_plat_block_free(b[i], 8 * KIB);
	atomic_store(&thread_cached, stats().thread_cached);
	return NULL;
}

TEST(thread_exit_drains_its_cache)
{
	size_t drained = stats().drained_at_exit;
	pthread_t t;

	ASSERT_EQ(pthread_create(&t, NULL, cache_some, NULL), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	if (UNDER_ASAN) {
		/* no cache under ASan: every block went straight to free() */
		CHECK_EQ(atomic_load(&thread_cached), 0);
		CHECK_EQ(stats().drained_at_exit, drained);
		return;
	}
	CHECK_EQ(atomic_load(&thread_cached), 8);
	CHECK_EQ(stats().drained_at_exit, drained + 8 * 8 * KIB);
	/* mapped blocks: no per-thread state, all in the shared counts */
	CHECK_EQ(stats().mapped_bytes, stats().cached_bytes + stats().kept_bytes);
}

/*
 * Threads allocate, stamp, check and free blocks of a few sizes on both
 * sides of the threshold: a block given to two threads at once shows as
 * a foreign stamp; TSan checks the hand-over between threads.
 */
#define RACE_THREADS	4
static atomic_ulong race_bad, race_ops;
static atomic_bool race_stop;

static void *race_worker(void *arg)
{
	static const size_t sizes[] = { 8 * KIB, 16 * KIB, 20 * KIB,
					64 * KIB, 128 * KIB };
	uint64_t rng = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	unsigned long id = (unsigned long)(uintptr_t)arg + 1, ops = 0;
	struct { uint64_t *p; size_t len; } held[4] = { { 0 } };

	while (!atomic_load_explicit(&race_stop, memory_order_relaxed)) {
		unsigned int h = (unsigned int)(tt_rng(&rng) % 4);
		size_t i;

		if (held[h].p) {
			for (i = 0; i < held[h].len / 8; i += 509)
				if (held[h].p[i] != (id << 32 | i))
					atomic_fetch_add(&race_bad, 1);
			ttak_plat_block_free(held[h].p, held[h].len);
			held[h].p = NULL;
			continue;
		}
		held[h].len = sizes[tt_rng(&rng) % 5];
		held[h].p = ttak_plat_block_alloc(held[h].len);
		if (!CHECK_NOT_NULL(held[h].p))
			break;
		for (i = 0; i < held[h].len / 8; i += 509)
			held[h].p[i] = id << 32 | i;
		ops++;
	}
	for (unsigned int h = 0; h < 4; h++)
		if (held[h].p)
			ttak_plat_block_free(held[h].p, held[h].len);
	atomic_fetch_add(&race_ops, ops);
	return NULL;
}

TEST(alloc_free_race_many_threads)
{
	unsigned long ms = tt_env_ms("TTAK_STRESS_MS", 2000);
	pthread_t t[RACE_THREADS];
	uintptr_t i;

	/* a small bound: blocks go all three ways (cache, given back, unmapped) */
	ttak_plat_block_set_cache_limit(192 * KIB);
	for (i = 0; i < RACE_THREADS; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, race_worker, (void *)i), 0);
	tt_sleep_ms(ms / 2);
	atomic_store(&race_stop, true);
	for (i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	printf("# %lu blocks allocated by %d threads\n", atomic_load(&race_ops),
	       RACE_THREADS);
	CHECK_EQ(atomic_load(&race_bad), 0);
	CHECK_GT(atomic_load(&race_ops), 100);
	CHECK_LE(stats().cached_bytes, 192 * KIB);
	CHECK_EQ(stats().mapped_bytes, stats().cached_bytes + stats().kept_bytes);
}

/*
 * mmap() refused (address-space limit): the generation is refused with
 * ENOMEM, nothing is lost, and it succeeds once the limit is lifted.
 * Not under the sanitizers: their runtimes map memory of their own.
 */
TEST(mmap_failure_is_enomem)
{
	const size_t gen = 8 * MIB;
	ttak_arena_generation_t g;
	ttak_arena_env_t env;
	struct rlimit old, low;
	unsigned long vm = 0;
	size_t blocks;
	FILE *f;
	bool ok;

	if (!mapping_on())
		return;
	if (UNDER_TSAN) {
		printf("# not under TSan: its runtime maps memory too\n");
		return;
	}
	setenv("TTAK_QUIET", "1", 1);
	ASSERT(env_of(&env, gen));
	ttak_plat_block_trim();
	blocks = tt_live_blocks();
	f = fopen("/proc/self/statm", "r");
	ASSERT_NOT_NULL(f);
	ASSERT_EQ(fscanf(f, "%lu", &vm), 1);
	fclose(f);
	ASSERT_EQ(getrlimit(RLIMIT_AS, &old), 0);
	low = old;
	low.rlim_cur = vm * PAGE + 2 * MIB;
	ASSERT_EQ(setrlimit(RLIMIT_AS, &low), 0);
	errno = 0;
	ok = ttak_arena_generation_begin(&env, &g, 0);
	CHECK_ERRNO(ENOMEM);
	ASSERT_EQ(setrlimit(RLIMIT_AS, &old), 0);
	CHECK(!ok);
	CHECK_EQ(tt_live_blocks(), blocks);
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	flush(&env, &g);
	ttak_arena_env_destroy(&env);
}

/* Injected failures reach mapped blocks even with one cached to reuse. */
TEST(fault_injection_fails_mapped_blocks)
{
	void *p;

	p = ttak_plat_block_alloc(64 * KIB);
	ASSERT_NOT_NULL(p);
	ttak_plat_block_free(p, 64 * KIB);	/* cached (not under ASan) */
	ttak_fault_fail_nth(1, true);
	CHECK_NULL(ttak_plat_block_alloc(64 * KIB));
	CHECK_NULL(ttak_plat_block_alloc(8 * KIB));
	CHECK_EQ(ttak_fault_failed(), 2);
	ttak_fault_fail_nth(0, false);
	p = ttak_plat_block_alloc(64 * KIB);
	CHECK_NOT_NULL(p);
	ttak_plat_block_free(p, 64 * KIB);
}

/*
 * Under ASan a read of a flushed generation is a reported use after
 * free (in a child, which ASan ends): blocks are malloc()'s there, in
 * ASan's quarantine, not kept in a cache or a mapping that still reads.
 */
TEST(asan_reports_use_after_flush)
{
	char path[] = "/tmp/ttak-uaf-XXXXXX";
	ttak_arena_generation_t g;
	ttak_arena_env_t env;
	char log[4096];
	int fd, status;
	ssize_t n;
	pid_t pid;

	if (!UNDER_ASAN) {
		printf("# needs ASan: a plain build cannot see the read\n");
		return;
	}
	fd = mkstemp(path);
	ASSERT(fd >= 0);
	unlink(path);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		volatile char *p;

		dup2(fd, STDERR_FILENO);
		if (!env_of(&env, 64 * KIB) ||
		    !ttak_arena_generation_begin(&env, &g, 0))
			_exit(3);
		p = g.base;
		flush(&env, &g);
		if (p[100] == 42)	/* ASan stops here */
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
	n = pread(fd, log, sizeof(log) - 1, 0);
	close(fd);
	ASSERT(n > 0);
	log[n] = '\0';
	CHECK_CONTAINS(log, "heap-use-after-free");
}
