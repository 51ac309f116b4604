// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/mem/mem.h> in user space only: what the library writes to stderr
 * for a bad free, access or realloc, and threads allocating at once.
 * Tracked allocation, realloc, dup, free, access, flags, expiry and the
 * integrity checks are mem_* in the unit suite shared with the kernel
 * (kernel/tests/ttak_core_test.c, run here as test_core_suite).
 */
#include "ttak_test.h"
#include "ttak_core_fixtures.h"

#include <stdlib.h>
#include <ttak/mem/mem.h>

TEST(free_null_is_a_noop)
{
	size_t before = tt_live_blocks();
	const char *err;

	tt_capture_begin();
	errno = 0;
	ttak_mem_free(NULL);
	err = tt_capture_end();
	ASSERT_ERRNO(0);
	ASSERT_EQ(strlen(err), 0);
	ASSERT_EQ(tt_live_blocks(), before);
}

TEST(double_free_is_reported_and_refused)
{
	char *p = ttak_mem_alloc(48, 10, 0);
	char *q = ttak_mem_alloc(48, 10, 0);
	const char *err;

	ASSERT(p && q);
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 1);
	tt_capture_begin();
	errno = 0;
	ttak_mem_free(p);
	err = tt_capture_end();
	ASSERT_ERRNO(EFAULT);
	ASSERT_CONTAINS(err, "not a live ttak block");
	/* the other block is untouched */
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_PTR_EQ(ttak_mem_access(q, 0), q);
	ttak_mem_free(q);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(free_of_foreign_pointer_is_refused)
{
	char *heap = malloc(64);
	long on_stack[8] = { 0 };
	const char *err;

	ASSERT_NOT_NULL(heap);
	memset(heap, 0x3c, 64);
	tt_capture_begin();
	errno = 0;
	ttak_mem_free(heap);
	err = tt_capture_end();
	ASSERT_ERRNO(EFAULT);
	ASSERT_CONTAINS(err, "not a live ttak block");
	/* not freed: still ours and intact (ASan would flag a double free) */
	ASSERT(all_bytes(heap, 64, 0x3c));
	free(heap);

	tt_capture_begin();
	errno = 0;
	ttak_mem_free(on_stack);
	err = tt_capture_end();
	ASSERT_ERRNO(EFAULT);
	ASSERT_CONTAINS(err, "not a live ttak block");
}

/* Flip the byte just below the user pointer: the header's check word. */
static void underrun_case(ttak_mem_flags_t flags)
{
	unsigned char *p = ttak_mem_alloc_with_flags(100, 10, 0, flags);
	const char *err;

	ASSERT_NOT_NULL(p);
	p[-1] ^= 0x5a;
	tt_capture_begin();
	errno = 0;
	CHECK_NULL(ttak_mem_access(p, 0));
	CHECK_ERRNO(EFAULT);
	errno = 0;
	ttak_mem_free(p);
	CHECK_ERRNO(EFAULT);
	err = tt_capture_end();
	CHECK_EQ(tt_count(err, "header corrupted"), 2);
	/* refused, so not freed: the block is still registered */
	ASSERT_EQ(tt_live_blocks(), 1);
	/* repaired, it is a normal block again */
	p[-1] ^= 0x5a;
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(strict_check_detects_header_underrun)
{
	underrun_case(TTAK_MEM_STRICT_CHECK);
	underrun_case(TTAK_MEM_STRICT_CHECK | TTAK_MEM_CACHE_ALIGNED);
}

TEST(header_check_works_without_strict_flag)
{
	underrun_case(TTAK_MEM_DEFAULT);
}

TEST(strict_check_detects_overrun_past_end_canary)
{
	size_t sizes[] = { 1, 63, 64, 100, 4096 };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *p;
		const char *err;

		p = ttak_mem_alloc_with_flags(n, 10, 0, TTAK_MEM_STRICT_CHECK |
					      (i & 1 ? TTAK_MEM_CACHE_ALIGNED :
					       TTAK_MEM_DEFAULT));
		ASSERT_NOT_NULL(p);
		memset(p, 0x77, n);	/* filling the block itself is fine */
		ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
		p[n] ^= 0x80;		/* one byte past the end */
		tt_capture_begin();
		errno = 0;
		CHECK_NULL(ttak_mem_access(p, 0));
		CHECK_ERRNO(EFAULT);
		errno = 0;
		ttak_mem_free(p);
		CHECK_ERRNO(EFAULT);
		err = tt_capture_end();
		CHECK_EQ(tt_count(err, "end canary overwritten"), 2);
		ASSERT_EQ(tt_live_blocks(), 1);
		p[n] ^= 0x80;
		ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
		ttak_mem_free(p);
		ASSERT_EQ(tt_live_blocks(), 0);
	}
}

TEST(realloc_of_foreign_or_freed_pointer_is_efault)
{
	char *heap = malloc(32);
	char *p = ttak_mem_alloc(32, 10, 0);
	const char *err;

	ASSERT(heap && p);
	ttak_mem_free(p);
	tt_capture_begin();
	errno = 0;
	CHECK_NULL(ttak_mem_realloc(heap, 64, 10, 0));
	CHECK_ERRNO(EFAULT);
	errno = 0;
	CHECK_NULL(ttak_mem_realloc(p, 64, 10, 0));
	CHECK_ERRNO(EFAULT);
	err = tt_capture_end();
	CHECK_EQ(tt_count(err, "not a live ttak block"), 2);
	ASSERT_EQ(tt_live_blocks(), 0);
	free(heap);
}

struct churn_arg {
	unsigned int seed;
	unsigned long rounds;
};

static void *churn(void *argp)
{
	struct churn_arg *arg = argp;
	void *slot[32] = { 0 };
	unsigned long r;

	for (r = 0; r < arg->rounds; r++) {
		unsigned int i = rand_r(&arg->seed) % 32;
		size_t n = 1 + rand_r(&arg->seed) % 512;

		if (slot[i]) {
			if (!CHECK_PTR_EQ(ttak_mem_access(slot[i], 0),
					  slot[i]))
				break;
			ttak_mem_free(slot[i]);
			slot[i] = NULL;
		} else {
			slot[i] = ttak_mem_alloc_with_flags(
				n, 100, 0, (r & 1) ? TTAK_MEM_STRICT_CHECK :
				TTAK_MEM_CACHE_ALIGNED);
			if (!CHECK_NOT_NULL(slot[i]))
				break;
			memset(slot[i], (int)r, n);
		}
	}
	for (r = 0; r < 32; r++)
		ttak_mem_free(slot[r]);
	return NULL;
}

TEST(concurrent_alloc_free_keeps_registry_consistent)
{
	struct churn_arg args[4];
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		args[i].seed = (unsigned int)i * 7919u + 1;
		args[i].rounds = 20000;
		ASSERT_EQ(pthread_create(&t[i], NULL, churn, &args[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(tt_live_bytes(), 0);
}


/* Count the lines of @out that contain @needle. */
static int lines_with(const char *out, const char *needle)
{
	int n = 0;

	while ((out = strstr(out, needle))) {
		n++;
		out += strlen(needle);
	}
	return n;
}

/*
 * ttak_mem_set_trace(1): one JSON object a line on stderr for every
 * allocation event, whole lines even from threads; off again, silence.
 */
TEST(trace_writes_one_json_line_per_event)
{
	char *p, *q, *d;
	const char *out;
	size_t n;

	tt_capture_begin();
	ttak_mem_set_trace(1);
	p = ttak_mem_alloc(64, 10, 5);
	q = ttak_root_alloc(32, 0, 5);
	d = ttak_dangerous_alloc(100);
	ttak_mem_free(p);
	ttak_dangerous_free(d);
	tt_autoclean_dirty_pointers(6);		/* q expired at 6 */
	ttak_mem_set_trace(0);
	p = ttak_mem_alloc(16, 10, 5);
	ttak_mem_free(p);
	out = tt_capture_end();
	ASSERT(q && d);
	ASSERT_EQ(lines_with(out, "{\"event\":\"alloc\","), 2);
	ASSERT_EQ(lines_with(out, "\"size\":64,\"now\":5,\"expires\":15,\"root\":0,\"flags\":0}\n"), 1);
	ASSERT_EQ(lines_with(out, "\"size\":32,\"now\":5,\"expires\":5,\"root\":1,\"flags\":0}\n"), 1);
	ASSERT_EQ(lines_with(out, "{\"event\":\"free\","), 1);
	ASSERT_EQ(lines_with(out, "{\"event\":\"autoclean\","), 1);
	ASSERT_EQ(lines_with(out, "{\"event\":\"dangerous_alloc\","), 1);
	ASSERT_EQ(lines_with(out, "{\"event\":\"dangerous_free\","), 1);
	ASSERT_EQ(lines_with(out, "\n"), 6);
	/* every line is an object */
	ASSERT_EQ(lines_with(out, "}\n"), 6);
	ASSERT_EQ(tt_live_blocks(), 0);
	n = 0;
	ASSERT_NULL(tt_inspect_dirty_pointers(UINT64_MAX, &n));
	ASSERT_EQ(n, 0);
}

/* tt_inspect_dirty_pointers() hands out memory that free() takes. */
TEST(dirty_pointer_list_is_freed_with_free)
{
	void *a = ttak_mem_alloc(8, 1, 1);
	void **list;
	size_t n = 0;

	ASSERT_NOT_NULL(a);
	list = tt_inspect_dirty_pointers(3, &n);
	ASSERT_NOT_NULL(list);
	ASSERT_EQ(n, 1);
	ASSERT_PTR_EQ(list[0], a);
	free(list);
	ttak_mem_free(a);
}
