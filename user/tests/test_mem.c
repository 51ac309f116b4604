// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/mem/mem.h>: tracked allocation, realloc, dup, free, access,
 * flags, expiry and the integrity checks.
 */
#include "ttak_test.h"

#include <stdlib.h>
#include <ttak/mem/mem.h>

#define TT_BAD_FLAG	((ttak_mem_flags_t)(1 << 7))

static bool all_bytes(const void *p, size_t n, unsigned char v)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != v)
			return false;
	return true;
}

TEST(alloc_returns_zeroed_memory)
{
	size_t sizes[] = { 1, 7, 64, 100, 4096, 65536 };
	size_t i, round;

	/* dirty the allocator's free lists so zeroing has to be done */
	for (round = 0; round < 3; round++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned char *p;

			p = ttak_mem_alloc(sizes[i], 100, 0);
			ASSERT_NOT_NULL(p);
			ASSERT(all_bytes(p, sizes[i], 0));
			memset(p, 0xa5, sizes[i]);
			ttak_mem_free(p);
			p = ttak_mem_alloc_with_flags(sizes[i], 100, 0,
						      TTAK_MEM_STRICT_CHECK |
						      TTAK_MEM_CACHE_ALIGNED);
			ASSERT_NOT_NULL(p);
			ASSERT(all_bytes(p, sizes[i], 0));
			memset(p, 0x5a, sizes[i]);
			ttak_mem_free(p);
		}
	}
}

TEST(alloc_zero_size_is_einval)
{
	size_t before = tt_live_blocks();

	errno = 0;
	ASSERT_NULL(ttak_mem_alloc(0, 10, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_alloc_safe(0, 10, 0, false, false, true, false,
					TTAK_MEM_STRICT_CHECK));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tt_live_blocks(), before);
}

TEST(alloc_unknown_flag_is_einval)
{
	errno = 0;
	ASSERT_NULL(ttak_mem_alloc_with_flags(16, 10, 0, TT_BAD_FLAG));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_alloc_with_flags(16, 10, 0,
					      TTAK_MEM_CACHE_ALIGNED |
					      (ttak_mem_flags_t)(1u << 30)));
	ASSERT_ERRNO(EINVAL);
}

TEST(alloc_absurd_sizes_fail_cleanly)
{
	size_t before = tt_live_blocks();

	errno = 0;
	ASSERT_NULL(ttak_mem_alloc(SIZE_MAX, 10, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_alloc(SIZE_MAX - 8, 10, 0));
	ASSERT_ERRNO(EINVAL);
	/* representable, but no machine has a pebibyte to give */
	errno = 0;
	ASSERT_NULL(ttak_mem_alloc_with_flags((size_t)1 << 50, 10, 0,
					      TTAK_MEM_STRICT_CHECK));
	ASSERT_ERRNO(ENOMEM);
	ASSERT_EQ(tt_live_blocks(), before);
}

TEST(known_flags_are_accepted)
{
	ttak_mem_flags_t all = TTAK_MEM_HUGE_PAGES | TTAK_MEM_CACHE_ALIGNED |
			       TTAK_MEM_STRICT_CHECK | TTAK_MEM_LOW_PRIORITY;
	ttak_mem_flags_t one[] = { TTAK_MEM_DEFAULT, TTAK_MEM_HUGE_PAGES,
				   TTAK_MEM_CACHE_ALIGNED,
				   TTAK_MEM_STRICT_CHECK,
				   TTAK_MEM_LOW_PRIORITY, all };
	size_t i;

	for (i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		char *p = ttak_mem_alloc_with_flags(333, 10, 0, one[i]);

		ASSERT_NOT_NULL(p);
		ASSERT_PTR_EQ(ttak_mem_access(p, 5), p);
		ttak_mem_free(p);
	}
}

TEST(huge_pages_block_is_usable)
{
	size_t size = 4u << 20;
	unsigned char *p;

	p = ttak_mem_alloc_with_flags(size, __TTAK_UNSAFE_MEM_FOREVER__, 0,
				      TTAK_MEM_HUGE_PAGES |
				      TTAK_MEM_STRICT_CHECK);
	ASSERT_NOT_NULL(p);
	ASSERT(all_bytes(p, size, 0));
	memset(p, 0x11, size);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ttak_mem_free(p);
}

TEST(cache_aligned_pointer_is_64_byte_aligned)
{
	void *keep[300];
	size_t i;

	for (i = 0; i < 300; i++) {
		ttak_mem_flags_t f = TTAK_MEM_CACHE_ALIGNED;

		if (i & 1)
			f |= TTAK_MEM_STRICT_CHECK;
		keep[i] = ttak_mem_alloc_with_flags(i + 1, 10, 0, f);
		ASSERT_NOT_NULL(keep[i]);
		ASSERT_EQ((uintptr_t)keep[i] % TTAK_CACHE_LINE_SIZE, 0);
		/* the whole block is writable */
		memset(keep[i], 0xff, i + 1);
	}
	for (i = 0; i < 300; i++) {
		ASSERT_PTR_EQ(ttak_mem_access(keep[i], 1), keep[i]);
		ttak_mem_free(keep[i]);
	}
}

TEST(default_pointer_is_16_byte_aligned)
{
	size_t i;

	for (i = 1; i < 200; i += 3) {
		void *p = ttak_mem_alloc(i, 10, 0);

		ASSERT_NOT_NULL(p);
		ASSERT_EQ((uintptr_t)p % 16, 0);
		ttak_mem_free(p);
	}
}

TEST(usage_counts_blocks_and_bytes)
{
	size_t blocks = tt_live_blocks(), bytes = tt_live_bytes();
	void *a, *b, *c;

	a = ttak_mem_alloc(10, 1, 0);
	b = ttak_mem_alloc_with_flags(200, 1, 0, TTAK_MEM_STRICT_CHECK);
	c = ttak_root_alloc(3000, 1, 0);
	ASSERT(a && b && c);
	ASSERT_EQ(tt_live_blocks(), blocks + 3);
	ASSERT_EQ(tt_live_bytes(), bytes + 3210);
	ttak_mem_free(b);
	ASSERT_EQ(tt_live_blocks(), blocks + 2);
	ASSERT_EQ(tt_live_bytes(), bytes + 3010);
	ttak_mem_free(a);
	ttak_mem_free(c);
	ASSERT_EQ(tt_live_blocks(), blocks);
	ASSERT_EQ(tt_live_bytes(), bytes);
}

TEST(access_returns_live_block)
{
	int *p = ttak_mem_alloc(sizeof(int) * 4, 50, 1000);

	ASSERT_NOT_NULL(p);
	ASSERT_PTR_EQ(ttak_mem_access(p, 1000), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, 1049), p);
	/* an earlier tick than the allocation's is still before expiry */
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ttak_mem_free(p);
}

TEST(access_after_expiry_is_etimedout)
{
	char *p = ttak_mem_alloc(32, 50, 1000);

	ASSERT_NOT_NULL(p);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(p, 1050));
	ASSERT_ERRNO(ETIMEDOUT);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(p, UINT64_MAX));
	ASSERT_ERRNO(ETIMEDOUT);
	/* expired is not dead: the block is still ours to free */
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(zero_lifetime_expires_at_once)
{
	char *p = ttak_mem_alloc(32, 0, 77);

	ASSERT_NOT_NULL(p);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(p, 77));
	ASSERT_ERRNO(ETIMEDOUT);
	ASSERT_PTR_EQ(ttak_mem_access(p, 76), p);
	ttak_mem_free(p);
}

TEST(forever_never_expires)
{
	char *p = ttak_mem_alloc(8, __TTAK_UNSAFE_MEM_FOREVER__, 123);

	ASSERT_NOT_NULL(p);
	ASSERT_PTR_EQ(ttak_mem_access(p, 123), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, UINT64_MAX - 1), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, UINT64_MAX), p);
	ttak_mem_free(p);
}

TEST(expiry_saturates_instead_of_wrapping)
{
	uint64_t now = UINT64_MAX - 10;
	char *p = ttak_mem_alloc(8, 1000, now);

	ASSERT_NOT_NULL(p);
	/* now + 1000 would wrap to a tick in the past */
	ASSERT_PTR_EQ(ttak_mem_access(p, now), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, UINT64_MAX - 2), p);
	ttak_mem_free(p);
}

TEST(no_direct_access_is_eperm)
{
	char *p = ttak_mem_alloc_safe(16, 100, 0, false, false, false, false,
				      TTAK_MEM_DEFAULT);

	ASSERT_NOT_NULL(p);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(p, 1));
	ASSERT_ERRNO(EPERM);
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(access_null_is_einval)
{
	errno = 0;
	ASSERT_NULL(ttak_mem_access(NULL, 0));
	ASSERT_ERRNO(EINVAL);
}

TEST(access_foreign_pointer_is_efault)
{
	long on_stack[4] = { 0 };
	char *heap = malloc(64);
	char *p = ttak_mem_alloc(64, 10, 0);

	ASSERT(heap && p);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(on_stack, 0));
	ASSERT_ERRNO(EFAULT);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(heap, 0));
	ASSERT_ERRNO(EFAULT);
	/* interior pointers are not blocks either */
	errno = 0;
	ASSERT_NULL(ttak_mem_access(p + 16, 0));
	ASSERT_ERRNO(EFAULT);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	free(heap);
	ttak_mem_free(p);
}

TEST(access_after_free_is_efault)
{
	char *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	ttak_mem_free(p);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(p, 0));
	ASSERT_ERRNO(EFAULT);
}

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

TEST(freep_frees_and_clears)
{
	void *p = ttak_mem_alloc(100, 10, 0);
	void *none = NULL;

	ASSERT_NOT_NULL(p);
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_mem_freep(&p);
	ASSERT_NULL(p);
	ASSERT_EQ(tt_live_blocks(), 0);
	/* both NULL forms are no-ops */
	ttak_mem_freep(&none);
	ASSERT_NULL(none);
	ttak_mem_freep(NULL);
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

TEST(free_of_interior_pointer_is_refused)
{
	char *p = ttak_mem_alloc(256, 10, 0);

	ASSERT_NOT_NULL(p);
	setenv("TTAK_QUIET", "1", 1);
	errno = 0;
	ttak_mem_free(p + 64);
	ASSERT_ERRNO(EFAULT);
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
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

TEST(header_corruption_deeper_in_header_is_detected)
{
	unsigned char *p = ttak_mem_alloc_with_flags(64, 10, 0,
						     TTAK_MEM_STRICT_CHECK);
	long off;

	ASSERT_NOT_NULL(p);
	setenv("TTAK_QUIET", "1", 1);
	/*
	 * White box (mem.c's struct ttak_block, 64 bytes below the pointer):
	 * the flag bytes, expiry, size and raw-pointer words end 17, 25, 33
	 * and 41 bytes below it. A change to any of them must be caught.
	 */
	for (off = 17; off <= 41; off += 8) {
		p[-off] ^= 0x01;
		errno = 0;
		CHECK_NULL(ttak_mem_access(p, 0));
		CHECK_ERRNO(EFAULT);
		p[-off] ^= 0x01;
		ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	}
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
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

TEST(realloc_grows_and_keeps_contents)
{
	unsigned char *p = ttak_mem_alloc(100, 10, 0), *q;
	size_t i;

	ASSERT_NOT_NULL(p);
	for (i = 0; i < 100; i++)
		p[i] = (unsigned char)i;
	q = ttak_mem_realloc(p, 1000, 10, 0);
	ASSERT_NOT_NULL(q);
	for (i = 0; i < 100; i++)
		ASSERT_EQ(q[i], i);
	ASSERT(all_bytes(q + 100, 900, 0));
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_EQ(tt_live_bytes(), 1000);
	if (q != p) {
		errno = 0;
		ASSERT_NULL(ttak_mem_access(p, 0));
		ASSERT_ERRNO(EFAULT);
	}
	ttak_mem_free(q);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(realloc_shrinks_and_keeps_prefix)
{
	unsigned char *p = ttak_mem_alloc(1000, 10, 0), *q;

	ASSERT_NOT_NULL(p);
	memset(p, 0xab, 1000);
	q = ttak_mem_realloc_with_flags(p, 10, 10, 0, TTAK_MEM_STRICT_CHECK);
	ASSERT_NOT_NULL(q);
	ASSERT(all_bytes(q, 10, 0xab));
	ASSERT_EQ(tt_live_bytes(), 10);
	/* the new block carries the new flags: its canary is checked */
	setenv("TTAK_QUIET", "1", 1);
	q[10] ^= 1;
	ASSERT_NULL(ttak_mem_access(q, 0));
	q[10] ^= 1;
	ttak_mem_free(q);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(realloc_null_allocates)
{
	unsigned char *p = ttak_mem_realloc(NULL, 64, 10, 0);

	ASSERT_NOT_NULL(p);
	ASSERT(all_bytes(p, 64, 0));
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_mem_free(p);
}

TEST(realloc_to_zero_is_einval_and_keeps_block)
{
	unsigned char *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	memset(p, 9, 64);
	errno = 0;
	ASSERT_NULL(ttak_mem_realloc(p, 0, 10, 0));
	ASSERT_ERRNO(EINVAL);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ASSERT(all_bytes(p, 64, 9));
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(realloc_with_bad_flags_keeps_block)
{
	unsigned char *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	errno = 0;
	ASSERT_NULL(ttak_mem_realloc_with_flags(p, 128, 10, 0, TT_BAD_FLAG));
	ASSERT_ERRNO(EINVAL);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_mem_free(p);
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

TEST(realloc_of_corrupted_block_is_refused)
{
	unsigned char *p = ttak_mem_alloc_with_flags(32, 10, 0,
						     TTAK_MEM_STRICT_CHECK);

	ASSERT_NOT_NULL(p);
	setenv("TTAK_QUIET", "1", 1);
	p[32] ^= 0xff;
	errno = 0;
	ASSERT_NULL(ttak_mem_realloc(p, 64, 10, 0));
	ASSERT_ERRNO(EFAULT);
	ASSERT_EQ(tt_live_blocks(), 1);
	p[32] ^= 0xff;
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(realloc_sets_new_lifetime_and_alignment)
{
	char *p = ttak_mem_alloc(10, 5, 0), *q;

	ASSERT_NOT_NULL(p);
	q = ttak_root_realloc_with_flags(p, 300, 1000, 100,
					 TTAK_MEM_CACHE_ALIGNED);
	ASSERT_NOT_NULL(q);
	ASSERT_EQ((uintptr_t)q % TTAK_CACHE_LINE_SIZE, 0);
	ASSERT_PTR_EQ(ttak_mem_access(q, 1099), q);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(q, 1100));
	ASSERT_ERRNO(ETIMEDOUT);
	ttak_mem_free(q);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(dup_copies_bytes)
{
	char src[200];
	char *d;
	size_t i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 7 + 1);
	d = ttak_mem_dup(src, sizeof(src), 10, 0);
	ASSERT_NOT_NULL(d);
	ASSERT_PTR_NE(d, src);
	ASSERT_EQ(memcmp(d, src, sizeof(src)), 0);
	ASSERT_PTR_EQ(ttak_mem_access(d, 9), d);
	ASSERT_NULL(ttak_mem_access(d, 10));
	ttak_mem_free(d);

	d = ttak_root_dup_with_flags(src, 65, 10, 0, TTAK_MEM_CACHE_ALIGNED |
				     TTAK_MEM_STRICT_CHECK);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ((uintptr_t)d % TTAK_CACHE_LINE_SIZE, 0);
	ASSERT_EQ(memcmp(d, src, 65), 0);
	ttak_mem_free(d);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(dup_of_a_tracked_block)
{
	char *a = ttak_mem_alloc(16, 10, 0), *b;

	ASSERT_NOT_NULL(a);
	memcpy(a, "fifteen chars..", 16);
	b = ttak_mem_dup(a, 16, 10, 0);
	ASSERT_NOT_NULL(b);
	ASSERT_EQ(strcmp(b, "fifteen chars.."), 0);
	ttak_mem_free(a);
	ASSERT_EQ(strcmp(b, "fifteen chars.."), 0);
	ttak_mem_free(b);
}

TEST(dup_bad_input_is_einval)
{
	char src[4] = "abc";

	errno = 0;
	ASSERT_NULL(ttak_mem_dup(NULL, 16, 10, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_dup(src, 0, 10, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_dup_with_flags(src, 4, 10, 0, TT_BAD_FLAG));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tt_live_blocks(), 0);
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

/*
 * Random alloc / free / access against a model of what is live, so the
 * registry (an address-keyed table) sees inserts and removals in every
 * order: live blocks are always found, freed addresses never (unless a
 * later allocation reused them).
 */
TEST(registry_matches_a_model_under_random_churn)
{
	enum { SLOTS = 4000, FREED = 256 };
	static void *live[SLOTS];
	static size_t size[SLOTS];
	static void *freed[FREED];
	uint64_t seed = 0x6d656d2d6d6f6465ULL;
	size_t nfreed = 0, nlive = 0, bytes = 0, i, j;
	unsigned long op;

	for (op = 0; op < 300000; op++) {
		uint64_t r = tt_rng(&seed);
		size_t k = (size_t)(r >> 16) % SLOTS;

		if (!live[k]) {
			size[k] = 1 + (size_t)(r >> 40) % 2000;
			live[k] = ttak_mem_alloc_with_flags(size[k], 10, 0,
				(r & 1) ? TTAK_MEM_STRICT_CHECK :
					  TTAK_MEM_CACHE_ALIGNED);
			ASSERT_NOT_NULL(live[k]);
			nlive++;
			bytes += size[k];
		} else if (r & 2) {
			ASSERT_PTR_EQ(ttak_mem_access(live[k], 0), live[k]);
		} else {
			ttak_mem_free(live[k]);
			freed[nfreed++ % FREED] = live[k];
			live[k] = NULL;
			nlive--;
			bytes -= size[k];
		}
		if (op % 30000)
			continue;
		ASSERT_EQ(tt_live_blocks(), nlive);
		ASSERT_EQ(tt_live_bytes(), bytes);
		for (i = 0; i < FREED && i < nfreed; i++) {
			bool back = false;

			for (j = 0; j < SLOTS && !back; j++)
				back = live[j] == freed[i];
			if (back)
				continue;
			errno = 0;
			ASSERT_NULL(ttak_mem_access(freed[i], 0));
			ASSERT_ERRNO(EFAULT);
		}
	}
	for (i = 0; i < SLOTS; i++)
		ttak_mem_free(live[i]);
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(tt_live_bytes(), 0);
}
