// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The core's single-threaded unit tests, written once for both homes:
 * ttak_core_test.ko runs them inside the kernel (KASAN, lockdep and the
 * rest of the debug kernel watching), build/<flavour>/tests/test_core_suite
 * runs them in user space under the sanitizers. See ttak_unit.h for the
 * harness; threaded, fork() and stderr-capture tests stay in user/tests/.
 *
 *   mem_*    <ttak/mem/mem.h>: tracked allocation, realloc, dup, free,
 *            access, flags, expiry and the integrity checks
 *   tree_*   <ttak/mem_tree/mem_tree.h>: tracking, references, garbage
 *            pressure, cleanup by expiry, automatic and manual cleanup,
 *            hints, statistics
 *   gc_*     <ttak/mem/epoch_gc.h>: init/destroy, register, rotate,
 *            manual mode, hints, the tt_epoch_gc_t alias
 *   arena_*  <ttak/mem/arena_helper.h>: config defaults and validation,
 *            generations from begin to flush, deterministic carving, and
 *            every bad input
 *   ebr_*    <ttak/mem/epoch.h>: a retiree outlives the section that
 *            retired it, counts, batches; in the kernel also retire with
 *            interrupts off and from hard interrupt context
 */
#include "ttak_unit.h"
#include "ttak_core_fixtures.h"

#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>
#include <ttak/timing/timing.h>

#if TU_KERNEL
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/irq_work.h>
#include <linux/irqflags.h>
#include <linux/kthread.h>
#include <linux/timer.h>
#endif

#define BAD_FLAG	((ttak_mem_flags_t)(1 << 7))

static size_t tree_pressure(ttak_mem_tree_t *tree)
{
	return tree_stats(tree).garbage_pressure;
}

static struct ttak_epoch_gc_stats gc_stats(ttak_epoch_gc_t *gc)
{
	struct ttak_epoch_gc_stats s;

	memset(&s, 0xff, sizeof(s));
	ttak_epoch_gc_get_stats(gc, &s);
	return s;
}

static u64 gc_epoch(ttak_epoch_gc_t *gc)
{
	return gc_stats(gc).epoch;
}

/* --- mem ---------------------------------------------------------------- */

TU_TEST(mem_alloc_returns_zeroed_memory)
{
	static const size_t sizes[] = { 1, 7, 64, 100, 4096, 65536 };
	size_t i, round;

	/* dirty the allocator's free lists so zeroing has to be done */
	for (round = 0; round < 3; round++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
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

TU_TEST(mem_alloc_zero_size_is_einval)
{
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_alloc(0, 10, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_alloc_safe(0, 10, 0, false, false, true, false,
					TTAK_MEM_STRICT_CHECK));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_alloc_unknown_flag_is_einval)
{
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_alloc_with_flags(16, 10, 0, BAD_FLAG));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_alloc_with_flags(16, 10, 0,
					      TTAK_MEM_CACHE_ALIGNED |
					      (ttak_mem_flags_t)(1u << 30)));
	ASSERT_ERRNO(EINVAL);
}

TU_TEST(mem_alloc_absurd_sizes_fail_cleanly)
{
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_alloc(SIZE_MAX, 10, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_alloc(SIZE_MAX - 8, 10, 0));
	ASSERT_ERRNO(EINVAL);
	/*
	 * Representable, but no machine has a pebibyte to give: a plain
	 * refusal in both homes (in the kernel without kvmalloc()'s WARN).
	 */
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_alloc_with_flags((size_t)1 << 50, 10, 0,
					      TTAK_MEM_STRICT_CHECK));
	ASSERT_ERRNO(ENOMEM);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_known_flags_are_accepted)
{
	static const ttak_mem_flags_t one[] = {
		TTAK_MEM_DEFAULT, TTAK_MEM_HUGE_PAGES, TTAK_MEM_CACHE_ALIGNED,
		TTAK_MEM_STRICT_CHECK, TTAK_MEM_LOW_PRIORITY,
		TTAK_MEM_HUGE_PAGES | TTAK_MEM_CACHE_ALIGNED |
		TTAK_MEM_STRICT_CHECK | TTAK_MEM_LOW_PRIORITY,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(one); i++) {
		char *p = ttak_mem_alloc_with_flags(333, 10, 0, one[i]);

		ASSERT_NOT_NULL(p);
		ASSERT_PTR_EQ(ttak_mem_access(p, 5), p);
		ttak_mem_free(p);
	}
}

TU_TEST(mem_huge_pages_block_is_usable)
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

TU_TEST(mem_cache_aligned_pointer_is_64_byte_aligned)
{
	enum { N = 300 };
	void **keep = tu_calloc(N, sizeof(*keep));
	size_t i;

	ASSERT_NOT_NULL(keep);
	for (i = 0; i < N; i++) {
		ttak_mem_flags_t f = TTAK_MEM_CACHE_ALIGNED;

		if (i & 1)
			f |= TTAK_MEM_STRICT_CHECK;
		keep[i] = ttak_mem_alloc_with_flags(i + 1, 10, 0, f);
		if (!CHECK_NOT_NULL(keep[i]))
			break;
		CHECK_EQ((uintptr_t)keep[i] % TTAK_CACHE_LINE_SIZE, 0);
		/* the whole block is writable */
		memset(keep[i], 0xff, i + 1);
	}
	for (i = 0; i < N && keep[i]; i++) {
		CHECK_PTR_EQ(ttak_mem_access(keep[i], 1), keep[i]);
		ttak_mem_free(keep[i]);
	}
	tu_free(keep);
}

TU_TEST(mem_default_pointer_is_16_byte_aligned)
{
	size_t i;

	for (i = 1; i < 200; i += 3) {
		void *p = ttak_mem_alloc(i, 10, 0);

		ASSERT_NOT_NULL(p);
		ASSERT_EQ((uintptr_t)p % 16, 0);
		ttak_mem_free(p);
	}
}

TU_TEST(mem_usage_counts_blocks_and_bytes)
{
	void *a, *b, *c;

	a = ttak_mem_alloc(10, 1, 0);
	b = ttak_mem_alloc_with_flags(200, 1, 0, TTAK_MEM_STRICT_CHECK);
	c = ttak_root_alloc(3000, 1, 0);
	ASSERT(a && b && c);
	ASSERT_EQ(tu_live_blocks(), 3);
	ASSERT_EQ(tu_live_bytes(), 3210);
	ttak_mem_free(b);
	ASSERT_EQ(tu_live_blocks(), 2);
	ASSERT_EQ(tu_live_bytes(), 3010);
	ttak_mem_free(a);
	ttak_mem_free(c);
	ASSERT_EQ(tu_live_blocks(), 0);
	ASSERT_EQ(tu_live_bytes(), 0);
}

TU_TEST(mem_access_returns_live_block)
{
	int *p = ttak_mem_alloc(sizeof(int) * 4, 50, 1000);

	ASSERT_NOT_NULL(p);
	ASSERT_PTR_EQ(ttak_mem_access(p, 1000), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, 1049), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, 1050), p);	/* its last valid tick */
	/* an earlier tick than the allocation's is still before expiry */
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ttak_mem_free(p);
}

TU_TEST(mem_access_after_expiry_is_etimedout)
{
	char *p = ttak_mem_alloc(32, 50, 1000);

	ASSERT_NOT_NULL(p);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(p, 1051));
	ASSERT_ERRNO(ETIMEDOUT);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(p, UINT64_MAX));
	ASSERT_ERRNO(ETIMEDOUT);
	/* expired is not dead: the block is still ours to free */
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_mem_free(p);
	ASSERT_EQ(tu_live_blocks(), 0);
}

/* Lifetime 0: valid at the tick it was allocated at, expired one later. */
TU_TEST(mem_zero_lifetime_is_valid_only_at_its_tick)
{
	char *p = ttak_mem_alloc(32, 0, 77);

	ASSERT_NOT_NULL(p);
	ASSERT_PTR_EQ(ttak_mem_access(p, 76), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, 77), p);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(p, 78));
	ASSERT_ERRNO(ETIMEDOUT);
	ttak_mem_free(p);
}

/*
 * The boundary, upstream's: valid while now <= expiry, expired once
 * now > expiry. A lifetime of N from tick T: T + N - 1 and T + N valid,
 * T + N + 1 expired; the same through the out-of-line bridge.
 */
TU_TEST(mem_expiry_boundary_is_inclusive)
{
	static const u64 lifetimes[] = { 1, 2, 50, 1000 };
	const u64 t = 5000;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lifetimes); i++) {
		u64 n = lifetimes[i];
		char *p = ttak_mem_alloc(16, n, t);

		ASSERT_NOT_NULL(p);
		CHECK_PTR_EQ(ttak_mem_access(p, t + n - 1), p);
		CHECK_PTR_EQ(ttak_mem_access(p, t + n), p);
		CLEAR_ERRNO();
		CHECK_NULL(ttak_mem_access(p, t + n + 1));
		CHECK_ERRNO(ETIMEDOUT);
		/* an expired block stays allocated and intact */
		CHECK_EQ(tu_live_blocks(), 1);
		ttak_mem_free(p);
	}
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_forever_never_expires)
{
	char *p = ttak_mem_alloc(8, __TTAK_UNSAFE_MEM_FOREVER__, 123);

	ASSERT_NOT_NULL(p);
	ASSERT_PTR_EQ(ttak_mem_access(p, 123), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, UINT64_MAX - 1), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, UINT64_MAX), p);
	ttak_mem_free(p);
}

TU_TEST(mem_expiry_saturates_instead_of_wrapping)
{
	u64 now = UINT64_MAX - 10;
	char *p = ttak_mem_alloc(8, 1000, now);

	ASSERT_NOT_NULL(p);
	/* now + 1000 would wrap to a tick in the past */
	ASSERT_PTR_EQ(ttak_mem_access(p, now), p);
	ASSERT_PTR_EQ(ttak_mem_access(p, UINT64_MAX - 2), p);
	ttak_mem_free(p);
}

TU_TEST(mem_no_direct_access_is_eperm)
{
	char *p = ttak_mem_alloc_safe(16, 100, 0, false, false, false, false,
				      TTAK_MEM_DEFAULT);

	ASSERT_NOT_NULL(p);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(p, 1));
	ASSERT_ERRNO(EPERM);
	ttak_mem_free(p);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_access_null_is_einval)
{
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(NULL, 0));
	ASSERT_ERRNO(EINVAL);
}

TU_TEST(mem_access_foreign_pointer_is_efault)
{
	long on_stack[4] = { 0 };
	char *heap = tu_calloc(1, 64);
	char *p = ttak_mem_alloc(64, 10, 0);

	if (CHECK(heap && p)) {
		CLEAR_ERRNO();
		CHECK_NULL(ttak_mem_access(on_stack, 0));
		CHECK_ERRNO(EFAULT);
		CLEAR_ERRNO();
		CHECK_NULL(ttak_mem_access(heap, 0));
		CHECK_ERRNO(EFAULT);
		/* interior pointers are not blocks either */
		CLEAR_ERRNO();
		CHECK_NULL(ttak_mem_access(p + 16, 0));
		CHECK_ERRNO(EFAULT);
		CHECK_PTR_EQ(ttak_mem_access(p, 0), p);
	}
	tu_free(heap);
	ttak_mem_free(p);
}

TU_TEST(mem_access_after_free_is_efault)
{
	char *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	ttak_mem_free(p);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(p, 0));
	ASSERT_ERRNO(EFAULT);
}

TU_TEST(mem_freep_frees_and_clears)
{
	void *p = ttak_mem_alloc(100, 10, 0);
	void *none = NULL;

	ASSERT_NOT_NULL(p);
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_mem_freep(&p);
	ASSERT_NULL(p);
	ASSERT_EQ(tu_live_blocks(), 0);
	/* both NULL forms are no-ops */
	ttak_mem_freep(&none);
	ASSERT_NULL(none);
	ttak_mem_freep(NULL);
}

TU_TEST(mem_free_of_interior_pointer_is_refused)
{
	char *p = ttak_mem_alloc(256, 10, 0);

	ASSERT_NOT_NULL(p);
	tu_quiet();
	CLEAR_ERRNO();
	ttak_mem_free(p + 64);
	ASSERT_ERRNO(EFAULT);
	ASSERT_EQ(tu_live_blocks(), 1);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ttak_mem_free(p);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_header_corruption_deeper_in_header_is_detected)
{
	unsigned char *p = ttak_mem_alloc_with_flags(64, 10, 0,
						     TTAK_MEM_STRICT_CHECK);
	long off;

	ASSERT_NOT_NULL(p);
	tu_quiet();
	/*
	 * White box (mem.c's struct ttak_block, right below the pointer):
	 * the flag bytes, expiry, size and raw-pointer words end 17, 25, 33
	 * and 41 bytes below it. A change to any of them must be caught.
	 */
	for (off = 17; off <= 41; off += 8) {
		p[-off] ^= 0x01;
		CLEAR_ERRNO();
		CHECK_NULL(ttak_mem_access(p, 0));
		CHECK_ERRNO(EFAULT);
		p[-off] ^= 0x01;
		ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	}
	ttak_mem_free(p);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_realloc_grows_and_keeps_contents)
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
	ASSERT_EQ(tu_live_blocks(), 1);
	ASSERT_EQ(tu_live_bytes(), 1000);
	if (q != p) {
		CLEAR_ERRNO();
		ASSERT_NULL(ttak_mem_access(p, 0));
		ASSERT_ERRNO(EFAULT);
	}
	ttak_mem_free(q);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_realloc_shrinks_and_keeps_prefix)
{
	unsigned char *p = ttak_mem_alloc(1000, 10, 0), *q;

	ASSERT_NOT_NULL(p);
	memset(p, 0xab, 1000);
	q = ttak_mem_realloc_with_flags(p, 10, 10, 0, TTAK_MEM_STRICT_CHECK);
	ASSERT_NOT_NULL(q);
	ASSERT(all_bytes(q, 10, 0xab));
	ASSERT_EQ(tu_live_bytes(), 10);
	/* the new block carries the new flags: its canary is checked */
	tu_quiet();
	q[10] ^= 1;
	ASSERT_NULL(ttak_mem_access(q, 0));
	q[10] ^= 1;
	ttak_mem_free(q);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_realloc_null_allocates)
{
	unsigned char *p = ttak_mem_realloc(NULL, 64, 10, 0);

	ASSERT_NOT_NULL(p);
	ASSERT(all_bytes(p, 64, 0));
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_mem_free(p);
}

TU_TEST(mem_realloc_to_zero_is_einval_and_keeps_block)
{
	unsigned char *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	memset(p, 9, 64);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_realloc(p, 0, 10, 0));
	ASSERT_ERRNO(EINVAL);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ASSERT(all_bytes(p, 64, 9));
	ttak_mem_free(p);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_realloc_with_bad_flags_keeps_block)
{
	unsigned char *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_realloc_with_flags(p, 128, 10, 0, BAD_FLAG));
	ASSERT_ERRNO(EINVAL);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_mem_free(p);
}

TU_TEST(mem_realloc_of_corrupted_block_is_refused)
{
	unsigned char *p = ttak_mem_alloc_with_flags(32, 10, 0,
						     TTAK_MEM_STRICT_CHECK);

	ASSERT_NOT_NULL(p);
	tu_quiet();
	p[32] ^= 0xff;
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_realloc(p, 64, 10, 0));
	ASSERT_ERRNO(EFAULT);
	ASSERT_EQ(tu_live_blocks(), 1);
	p[32] ^= 0xff;
	ttak_mem_free(p);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_realloc_sets_new_lifetime_and_alignment)
{
	char *p = ttak_mem_alloc(10, 5, 0), *q;

	ASSERT_NOT_NULL(p);
	q = ttak_root_realloc_with_flags(p, 300, 1000, 100,
					 TTAK_MEM_CACHE_ALIGNED);
	ASSERT_NOT_NULL(q);
	ASSERT_EQ((uintptr_t)q % TTAK_CACHE_LINE_SIZE, 0);
	ASSERT_PTR_EQ(ttak_mem_access(q, 1100), q);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(q, 1101));
	ASSERT_ERRNO(ETIMEDOUT);
	ttak_mem_free(q);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_dup_copies_bytes)
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
	ASSERT_PTR_EQ(ttak_mem_access(d, 10), d);
	ASSERT_NULL(ttak_mem_access(d, 11));
	ttak_mem_free(d);

	d = ttak_root_dup_with_flags(src, 65, 10, 0, TTAK_MEM_CACHE_ALIGNED |
				     TTAK_MEM_STRICT_CHECK);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ((uintptr_t)d % TTAK_CACHE_LINE_SIZE, 0);
	ASSERT_EQ(memcmp(d, src, 65), 0);
	ttak_mem_free(d);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_dup_of_a_tracked_block)
{
	static const char text[16] = "fifteen chars..";
	char *a = ttak_mem_alloc(16, 10, 0), *b;

	ASSERT_NOT_NULL(a);
	memcpy(a, text, sizeof(text));
	b = ttak_mem_dup(a, 16, 10, 0);
	ASSERT_NOT_NULL(b);
	ASSERT_EQ(strcmp(b, text), 0);
	ttak_mem_free(a);
	ASSERT_EQ(strcmp(b, text), 0);
	ttak_mem_free(b);
}

TU_TEST(mem_dup_bad_input_is_einval)
{
	char src[4] = "abc";

	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_dup(NULL, 16, 10, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_dup(src, 0, 10, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_dup_with_flags(src, 4, 10, 0, BAD_FLAG));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tu_live_blocks(), 0);
}

/*
 * Random alloc / free / access against a model of what is live, so the
 * registry (an address-keyed table) sees inserts and removals in every
 * order: live blocks are always found, freed addresses never (unless a
 * later allocation reused them).
 */
enum { REG_SLOTS = 4000, REG_FREED = 256 };

struct reg_model {
	void *live[REG_SLOTS];
	size_t size[REG_SLOTS];
	void *freed[REG_FREED];
	size_t nfreed, nlive, bytes;
};

/* Freed addresses that no live block took again are unknown to ttak. */
static bool reg_check(struct reg_model *m)
{
	bool ok = true;
	size_t i, j;

	ok &= CHECK_EQ(tu_live_blocks(), m->nlive);
	ok &= CHECK_EQ(tu_live_bytes(), m->bytes);
	for (i = 0; i < REG_FREED && i < m->nfreed; i++) {
		bool back = false;

		for (j = 0; j < REG_SLOTS && !back; j++)
			back = m->live[j] == m->freed[i];
		if (back)
			continue;
		CLEAR_ERRNO();
		ok &= CHECK_NULL(ttak_mem_access(m->freed[i], 0));
		CHECK_ERRNO(EFAULT);
	}
	return ok;
}

TU_TEST(mem_registry_matches_a_model_under_random_churn)
{
	static struct reg_model m;
	const unsigned long ops = TU_ROUNDS(300000);
	u64 seed = 0x6d656d2d6d6f6465ULL;
	unsigned long op;
	size_t i;

	for (op = 0; op < ops; op++) {
		u64 r = tu_rng(&seed);
		size_t k = (size_t)(r >> 16) % REG_SLOTS;

		if (!m.live[k]) {
			ttak_mem_flags_t f = (r & 1) ? TTAK_MEM_STRICT_CHECK :
						       TTAK_MEM_CACHE_ALIGNED;

			m.size[k] = 1 + (size_t)(r >> 40) % 2000;
			m.live[k] = ttak_mem_alloc_with_flags(m.size[k], 10, 0,
							      f);
			if (!CHECK_NOT_NULL(m.live[k]))
				break;
			m.nlive++;
			m.bytes += m.size[k];
		} else if (r & 2) {
			if (!CHECK_PTR_EQ(ttak_mem_access(m.live[k], 0),
					  m.live[k]))
				break;
		} else {
			ttak_mem_free(m.live[k]);
			m.freed[m.nfreed++ % REG_FREED] = m.live[k];
			m.live[k] = NULL;
			m.nlive--;
			m.bytes -= m.size[k];
		}
		if (op % (ops / 10))
			continue;
		tu_yield();
		if (!reg_check(&m))
			break;
	}
	for (i = 0; i < REG_SLOTS; i++)
		ttak_mem_free(m.live[i]);
	ASSERT_EQ(tu_live_blocks(), 0);
	ASSERT_EQ(tu_live_bytes(), 0);
}

/* --- the rest of upstream's memory subset --------------------------- */

TU_TEST(mem_minute_and_hour_are_nanoseconds)
{
	ASSERT_EQ(TT_MINUTE(1), 60ULL * TT_SECOND(1));
	ASSERT_EQ(TT_MINUTE(3), 180000000000ULL);
	ASSERT_EQ(TT_HOUR(1), 60ULL * TT_MINUTE(1));
	ASSERT_EQ(TT_HOUR(2), 7200000000000ULL);
	ASSERT_EQ(TT_HOUR(0), 0);
}

TU_TEST(mem_access_bridge_judges_like_access)
{
	char *p = ttak_mem_alloc(16, 10, 100);
	char *q = ttak_mem_alloc_safe(16, 10, 100, false, false, false, false,
				      TTAK_MEM_DEFAULT);

	ASSERT(p && q);
	ASSERT_PTR_EQ(ttak_mem_access_bridge(p, 110), p);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access_bridge(p, 111));
	ASSERT_ERRNO(ETIMEDOUT);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access_bridge(q, 100));
	ASSERT_ERRNO(EPERM);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access_bridge(NULL, 0));
	ASSERT_ERRNO(EINVAL);
	ttak_mem_free(p);
	ttak_mem_free(q);
	tu_quiet();
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access_bridge(p, 100));
	ASSERT_ERRNO(EFAULT);
}

TU_TEST(mem_fastalloc_registers_with_the_gc)
{
	ttak_epoch_gc_t gc;
	ttak_mem_node_t *node;
	unsigned char *p, *z;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	p = ttak_fastalloc(&gc, 100, 50, 1000);
	z = ttak_fastcalloc(&gc, 300, __TTAK_UNSAFE_MEM_FOREVER__, 1000);
	ASSERT(p && z);
	ASSERT(all_bytes(p, 100, 0));
	ASSERT(all_bytes(z, 300, 0));
	ASSERT_EQ(tu_live_blocks(), 2);
	node = ttak_mem_tree_find_node(&gc.tree, p);
	ASSERT_NOT_NULL(node);
	ASSERT_EQ(TU_READ_U32(&node->ref_count), 1);
	ASSERT_EQ(node->size, 100);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&gc.tree, z));
	/* the block's own lifetime is the one given */
	ASSERT_PTR_EQ(ttak_mem_access(p, 1050), p);
	ASSERT_NULL(ttak_mem_access(p, 1051));
	/* released and rotated: gone, the other one stays */
	ttak_mem_node_release(node);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, p));
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_fastalloc_bad_input_leaves_nothing)
{
	ttak_epoch_gc_t gc;

	tu_quiet();
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_fastalloc(NULL, 16, 10, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_fastcalloc(NULL, 16, 10, 0));
	ASSERT_ERRNO(EINVAL);
	ttak_epoch_gc_init(&gc);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_fastalloc(&gc, 0, 10, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_fastalloc(&gc, SIZE_MAX, 10, 0));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tree_stats(&gc.tree).nodes, 0);
	ttak_epoch_gc_destroy(&gc);
	/* a destroyed GC takes nothing: no block is left behind */
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_fastalloc(&gc, 16, 10, 0));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_dangerous_alloc_is_zeroed_aligned_and_untracked)
{
	static const size_t sizes[] = { 1, 63, 64, 65, 1000, 70000 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned char *p = ttak_dangerous_alloc(sizes[i]);
		unsigned int *c = ttak_dangerous_calloc(sizes[i], sizeof(*c));

		ASSERT(p && c);
		CHECK_EQ((uintptr_t)p % TTAK_CACHE_LINE_SIZE, 0);
		CHECK_EQ((uintptr_t)c % TTAK_CACHE_LINE_SIZE, 0);
		CHECK(all_bytes(p, sizes[i], 0));
		CHECK(all_bytes(c, sizes[i] * sizeof(*c), 0));
		memset(p, 0xa5, sizes[i]);
		memset(c, 0x5a, sizes[i] * sizeof(*c));
		/* no header, no registry: not a tracked block */
		CHECK_EQ(tu_live_blocks(), 0);
		tu_quiet();
		CLEAR_ERRNO();
		CHECK_NULL(ttak_mem_access(p, 0));
		CHECK_ERRNO(EFAULT);
		ttak_dangerous_free(p);
		ttak_dangerous_free(c);
	}
	ttak_dangerous_free(NULL);
}

TU_TEST(mem_dangerous_bad_input_is_refused)
{
	void *t, *d;

	tu_quiet();
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_dangerous_alloc(0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_dangerous_alloc(SIZE_MAX));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_dangerous_calloc(SIZE_MAX / 2, 3));
	ASSERT_ERRNO(EOVERFLOW);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_dangerous_calloc(0, 8));
	ASSERT_ERRNO(EINVAL);
	/* a tracked block is not the dangerous free's, and survives it */
	t = ttak_mem_alloc(64, 10, 0);
	ASSERT_NOT_NULL(t);
	CLEAR_ERRNO();
	ttak_dangerous_free(t);
	ASSERT_ERRNO(EINVAL);
	ASSERT_PTR_EQ(ttak_mem_access(t, 0), t);
	ASSERT_EQ(tu_live_blocks(), 1);
	/* and the tracked free refuses an untracked block */
	d = ttak_dangerous_alloc(64);
	ASSERT_NOT_NULL(d);
	CLEAR_ERRNO();
	ttak_mem_free(d);
	ASSERT_ERRNO(EFAULT);
	ttak_dangerous_free(d);
	ttak_mem_free(t);
	ASSERT_EQ(tu_live_blocks(), 0);
}

static bool dirty_has(void **list, size_t n, const void *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == p)
			return true;
	return false;
}

/*
 * Blocks at made-up ticks near 1000: nothing else alive (another
 * module's block in the kernel) expires that early.
 */
TU_TEST(mem_dirty_pointers_are_the_expired_untracked_blocks)
{
	void *a = ttak_mem_alloc(10, 10, 1000);		/* expires 1010 */
	void *b = ttak_mem_alloc(20, 20, 1000);		/* expires 1020 */
	void *f = ttak_mem_alloc(30, __TTAK_UNSAFE_MEM_FOREVER__, 1000);
	void *t = ttak_mem_alloc(40, 0, 1000);		/* expires 1000 */
	ttak_mem_tree_t tree;
	ttak_mem_node_t *node;
	size_t n = 99;
	void **list;

	ASSERT(a && b && f && t);
	quiet_tree(&tree);
	node = ttak_mem_tree_add(&tree, t, 40, __TTAK_UNSAFE_MEM_FOREVER__,
				 false);
	ASSERT_NOT_NULL(node);

	/* at 1000 nothing is expired: NULL and 0, not an error */
	CLEAR_ERRNO();
	ASSERT_NULL(tt_inspect_dirty_pointers(1000, &n));
	ASSERT_EQ(n, 0);
	ASSERT_ERRNO(0);

	list = tt_inspect_dirty_pointers(1011, &n);
	ASSERT_NOT_NULL(list);
	CHECK(dirty_has(list, n, a));
	CHECK(!dirty_has(list, n, b));
	CHECK(!dirty_has(list, n, f));
	CHECK(!dirty_has(list, n, t));	/* expired, but the tree's */
	tu_free(list);

	list = tt_inspect_dirty_pointers(UINT64_MAX, &n);
	ASSERT_NOT_NULL(list);
	CHECK(dirty_has(list, n, a) && dirty_has(list, n, b));
	CHECK(!dirty_has(list, n, f) && !dirty_has(list, n, t));
	tu_free(list);
	/* inspecting frees nothing */
	ASSERT_EQ(tu_live_blocks(), 4);

	/* removed from its tree, the block is its owner's and dirty again */
	ttak_mem_tree_remove(&tree, node);
	list = tt_inspect_dirty_pointers(1001, &n);
	ASSERT_NOT_NULL(list);
	CHECK(dirty_has(list, n, t));
	tu_free(list);

	ttak_mem_tree_destroy(&tree);
	ttak_mem_free(a);
	ttak_mem_free(b);
	ttak_mem_free(f);
	ttak_mem_free(t);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_autoclean_frees_only_what_is_dirty)
{
	void *a = ttak_mem_alloc(10, 10, 1000);
	void *b = ttak_mem_alloc(20, 20, 1000);
	void *f = ttak_mem_alloc(30, __TTAK_UNSAFE_MEM_FOREVER__, 1000);
	void *t = ttak_mem_alloc(40, 0, 1000);
	ttak_mem_tree_t tree;
	ttak_mem_node_t *node;
	size_t n;
	void **list;

	ASSERT(a && b && f && t);
	quiet_tree(&tree);
	node = ttak_mem_tree_add(&tree, t, 40, __TTAK_UNSAFE_MEM_FOREVER__,
				 false);
	ASSERT_NOT_NULL(node);

	tt_autoclean_dirty_pointers(1010);	/* a is valid through 1010 */
	ASSERT_EQ(tu_live_blocks(), 4);
	tt_autoclean_dirty_pointers(1011);
	ASSERT_EQ(tu_live_blocks(), 3);
	tu_quiet();
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(a, 0));
	ASSERT_ERRNO(EFAULT);

	list = tt_autoclean_and_inspect(1021, &n);
	ASSERT_NOT_NULL(list);
	CHECK(dirty_has(list, n, b));
	CHECK(!dirty_has(list, n, f) && !dirty_has(list, n, t));
	tu_free(list);
	ASSERT_EQ(tu_live_blocks(), 2);
	/* nothing left to clean: NULL and 0 */
	ASSERT_NULL(tt_autoclean_and_inspect(1021, &n));
	ASSERT_EQ(n, 0);
	/* the tree's block stays until its tree lets it go */
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, t), node);
	ttak_mem_tree_destroy(&tree);
	ttak_mem_free(f);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(mem_dirty_pointers_bad_input_is_einval)
{
	void *a = ttak_mem_alloc(10, 0, 1000);

	ASSERT_NOT_NULL(a);
	CLEAR_ERRNO();
	ASSERT_NULL(tt_inspect_dirty_pointers(2000, NULL));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(tt_autoclean_and_inspect(2000, NULL));
	ASSERT_ERRNO(EINVAL);
	/* a refusal frees nothing */
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_mem_free(a);
}

TU_TEST(mem_configure_gc_sets_what_new_trees_start_with)
{
	ttak_mem_tree_t before, after;
	ttak_epoch_gc_t gc;

	ttak_mem_tree_init(&before);
	ttak_mem_configure_gc(TT_MILLI_SECOND(1), TT_MILLI_SECOND(2), 4096);
	ttak_mem_tree_init(&after);
	ttak_epoch_gc_init(&gc);
	CHECK_EQ(tree_stats(&before).pressure_threshold, 1024 * 1024);
	CHECK_EQ(tree_stats(&after).pressure_threshold, 4096);
	CHECK_EQ(tree_stats(&gc.tree).pressure_threshold, 4096);
	/* min above max: refused, the settings stay */
	tu_quiet();
	CLEAR_ERRNO();
	ttak_mem_configure_gc(TT_SECOND(2), TT_SECOND(1), 77);
	CHECK_ERRNO(EINVAL);
	ttak_mem_tree_destroy(&after);
	ttak_mem_tree_init(&after);
	CHECK_EQ(tree_stats(&after).pressure_threshold, 4096);
	/* back to the defaults (the kernel keeps them for the next case) */
	ttak_mem_configure_gc(TT_MILLI_SECOND(10), TT_SECOND(1), 1024 * 1024);
	ttak_epoch_gc_destroy(&gc);
	ttak_mem_tree_destroy(&after);
	ttak_mem_tree_destroy(&before);
}

TU_TEST(mem_trace_switch)
{
	void *p;

	ASSERT_EQ(ttak_mem_is_trace_enabled(), 0);
	ttak_mem_set_trace(7);
	ASSERT_EQ(ttak_mem_is_trace_enabled(), 1);
	/* tracing changes no result */
	p = ttak_mem_alloc(8, 10, 0);
	ASSERT_NOT_NULL(p);
	ttak_mem_free(p);
	ttak_mem_set_trace(0);
	ASSERT_EQ(ttak_mem_is_trace_enabled(), 0);
	ASSERT_EQ(tu_live_blocks(), 0);
}

/* Each scoped block is live inside its scope and freed when it ends. */
TU_TEST(mem_scoped_macros_free_at_scope_exit)
{
	static const char src[32] = "scoped";
	const ttak_mem_flags_t f = TTAK_MEM_CACHE_ALIGNED |
				   TTAK_MEM_STRICT_CHECK;

	{
		ttak_mem_alloc_scoped(a, char *, 16, 10, 0);
		ttak_root_alloc_scoped(b, char *, 16, 10, 0);
		ttak_mem_alloc_with_flags_scoped(c, char *, 16, 10, 0, f);
		ttak_root_alloc_with_flags_scoped(d, char *, 16, 10, 0, f);

		ASSERT(a && b && c && d);
		CHECK_EQ((uintptr_t)c % TTAK_CACHE_LINE_SIZE, 0);
		CHECK_EQ((uintptr_t)d % TTAK_CACHE_LINE_SIZE, 0);
		CHECK_PTR_EQ(ttak_mem_access(a, 10), a);
		CHECK_NULL(ttak_mem_access(b, 11));
		CHECK_EQ(tu_live_blocks(), 4);
	}
	ASSERT_EQ(tu_live_blocks(), 0);
	{
		ttak_mem_dup_scoped(a, char *, src, sizeof(src), 10, 0);
		ttak_root_dup_scoped(b, char *, src, sizeof(src), 10, 0);
		ttak_mem_dup_with_flags_scoped(c, char *, src, sizeof(src), 10,
					       0, f);
		ttak_root_dup_with_flags_scoped(d, char *, src, sizeof(src),
						10, 0, f);

		ASSERT(a && b && c && d);
		CHECK_EQ(memcmp(a, src, sizeof(src)), 0);
		CHECK_EQ(memcmp(d, src, sizeof(src)), 0);
		CHECK_EQ(tu_live_blocks(), 4);
	}
	ASSERT_EQ(tu_live_blocks(), 0);
	{
		char *p1 = ttak_mem_alloc(8, 10, 0);
		char *p2 = ttak_mem_alloc(8, 10, 0);
		char *p3 = ttak_mem_alloc(8, 10, 0);
		char *p4 = ttak_mem_alloc(8, 10, 0);

		ASSERT(p1 && p2 && p3 && p4);
		p1[0] = 'x';
		{
			ttak_mem_realloc_scoped(a, char *, p1, 100, 10, 0);
			ttak_root_realloc_scoped(b, char *, p2, 100, 10, 0);
			ttak_mem_realloc_with_flags_scoped(c, char *, p3, 100,
							   10, 0, f);
			ttak_root_realloc_with_flags_scoped(d, char *, p4, 100,
							    10, 0, f);

			ASSERT(a && b && c && d);
			CHECK_EQ(a[0], 'x');
			/* the old blocks went with the realloc */
			CHECK_EQ(tu_live_blocks(), 4);
		}
		ASSERT_EQ(tu_live_blocks(), 0);
	}
	{
		/* a failed call leaves NULL, and the cleanup ignores it */
		ttak_mem_alloc_scoped(z, char *, 0, 10, 0);

		CHECK_NULL(z);
	}
	ASSERT_EQ(tu_live_blocks(), 0);
}

/* --- mem tree ----------------------------------------------------------- */

TU_TEST(tree_init_gives_empty_tree_with_defaults)
{
	ttak_mem_tree_t tree;
	struct ttak_mem_tree_stats s;

	memset(&tree, 0xa5, sizeof(tree));
	ttak_mem_tree_init(&tree);
	s = tree_stats(&tree);
	ASSERT_EQ(s.nodes, 0);
	ASSERT_EQ(s.bytes, 0);
	ASSERT_EQ(s.garbage_nodes, 0);
	ASSERT_EQ(s.pending_nodes, 0);
	ASSERT_EQ(s.freed_nodes, 0);
	ASSERT_EQ(s.garbage_pressure, 0);
	ASSERT_EQ(s.pressure_threshold, 1u << 20);
	ttak_mem_tree_destroy(&tree);
}

TU_TEST(tree_init_and_destroy_ignore_null_and_uninitialised)
{
	ttak_mem_tree_t tree;

	ttak_mem_tree_init(NULL);
	ttak_mem_tree_destroy(NULL);
	memset(&tree, 0, sizeof(tree));
	ttak_mem_tree_destroy(&tree);	/* never initialised */
	ttak_mem_tree_init(&tree);
	ttak_mem_tree_destroy(&tree);
	ttak_mem_tree_destroy(&tree);	/* twice */
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_tree_add(&tree, &tree, 8, 0, false));
	ASSERT_ERRNO(EINVAL);
}

TU_TEST(tree_add_creates_node_with_one_reference)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(100, 10, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 100, 1234, true);
	ASSERT_NOT_NULL(n);
	ASSERT_PTR_EQ(n->ptr, p);
	ASSERT_EQ(n->size, 100);
	ASSERT_EQ(n->expires_tick, 1234);
	ASSERT_EQ(TU_READ_U32(&n->ref_count), 1);
	ASSERT(n->is_root);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	ASSERT_EQ(tree_stats(&tree).nodes, 1);
	ASSERT_EQ(tree_stats(&tree).bytes, 100);
	ASSERT_EQ(tree_pressure(&tree), 0);
	ttak_mem_tree_destroy(&tree);
	/* destroy frees the tracked block */
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_add_bad_input_is_refused)
{
	ttak_mem_tree_t tree;
	char x;

	quiet_tree(&tree);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_tree_add(NULL, &x, 1, 0, false));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_tree_add(&tree, NULL, 1, 0, false));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tree_stats(&tree).nodes, 0);
	ttak_mem_tree_destroy(&tree);
}

TU_TEST(tree_add_twice_is_eexist)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(8, 10, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 8, 0, false);
	ASSERT_NOT_NULL(n);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_tree_add(&tree, p, 16, 0, false));
	ASSERT_ERRNO(EEXIST);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	ASSERT_EQ(n->size, 8);
	ASSERT_EQ(tree_stats(&tree).nodes, 1);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_find_never_tracked_pointer_is_null)
{
	ttak_mem_tree_t tree;
	void *p = ttak_mem_alloc(8, 10, 0);
	char local;

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));	/* empty tree */
	ASSERT_NOT_NULL(ttak_mem_tree_add(&tree, p, 8, 0, false));
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, &local));
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, (char *)p + 1));
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, NULL));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_tree_find_node(NULL, p));
	ASSERT_ERRNO(EINVAL);
	ttak_mem_tree_destroy(&tree);
}

TU_TEST(tree_remove_drops_bookkeeping_not_memory)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	char *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 64, 0, false);
	ASSERT_NOT_NULL(n);
	ttak_mem_tree_remove(&tree, n);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));
	ASSERT_EQ(tree_stats(&tree).nodes, 0);
	ttak_epoch_synchronize();
	ASSERT_EQ(tree_stats(&tree).pending_nodes, 0);
	ASSERT_EQ(tree_stats(&tree).freed_nodes, 1);
	/* the block is still the caller's */
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ASSERT_EQ(tu_live_blocks(), 1);
	memset(p, 1, 64);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_mem_free(p);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_remove_of_garbage_node_takes_back_pressure)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	char *p = ttak_mem_alloc(300, 10, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 300, 0, false);
	ASSERT_NOT_NULL(n);
	ttak_mem_node_release(n);
	ASSERT_EQ(tree_pressure(&tree), 300);
	ttak_mem_tree_remove(&tree, n);
	ASSERT_EQ(tree_pressure(&tree), 0);
	ttak_epoch_synchronize();
	ASSERT_EQ(tree_pressure(&tree), 0);
	ASSERT_EQ(tree_stats(&tree).garbage_nodes, 0);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ttak_mem_free(p);
	ttak_mem_tree_destroy(&tree);
}

TU_TEST(tree_remove_null_is_einval)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(8, 10, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 8, 0, false);
	ASSERT_NOT_NULL(n);
	CLEAR_ERRNO();
	ttak_mem_tree_remove(NULL, n);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_mem_tree_remove(&tree, NULL);
	ASSERT_ERRNO(EINVAL);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_acquire_release_track_references_and_pressure)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(500, 10, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 500, 0, false);
	ASSERT_NOT_NULL(n);
	ttak_mem_node_acquire(n);
	ttak_mem_node_acquire(n);
	ASSERT_EQ(TU_READ_U32(&n->ref_count), 3);
	ttak_mem_node_release(n);
	ttak_mem_node_release(n);
	ASSERT_EQ(TU_READ_U32(&n->ref_count), 1);
	ASSERT_EQ(tree_pressure(&tree), 0);
	ttak_mem_node_release(n);	/* last reference */
	ASSERT_EQ(TU_READ_U32(&n->ref_count), 0);
	ASSERT_EQ(tree_pressure(&tree), 500);
	ASSERT_EQ(tree_stats(&tree).garbage_nodes, 1);
	/* still tracked until a cleanup */
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	/* resurrected: no longer garbage */
	ttak_mem_node_acquire(n);
	ASSERT_EQ(tree_pressure(&tree), 0);
	ASSERT_EQ(tree_stats(&tree).garbage_nodes, 0);
	ttak_mem_tree_perform_cleanup(&tree, UINT64_MAX - 1);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_cleanup_frees_expired_unreferenced_blocks)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *live, *young, *old, *now0;
	void *a = ttak_mem_alloc(10, 1000, 0);
	void *b = ttak_mem_alloc(20, 1000, 0);
	void *c = ttak_mem_alloc(30, 1000, 0);
	void *d = ttak_mem_alloc(40, 1000, 0);
	struct ttak_mem_tree_stats s;

	ASSERT(a && b && c && d);
	quiet_tree(&tree);
	live = ttak_mem_tree_add(&tree, a, 10, 50, false);	/* referenced */
	young = ttak_mem_tree_add(&tree, b, 20, 500, false);
	old = ttak_mem_tree_add(&tree, c, 30, 100, false);
	now0 = ttak_mem_tree_add(&tree, d, 40, 0, false);
	ASSERT(live && young && old && now0);
	ttak_mem_node_release(young);
	ttak_mem_node_release(old);
	ttak_mem_node_release(now0);
	ASSERT_EQ(tree_pressure(&tree), 90);

	ttak_mem_tree_perform_cleanup(&tree, 99);
	/* only the node expiring at 0 qualifies at tick 99 */
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, d));
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, c), old);
	ASSERT_EQ(tree_pressure(&tree), 50);
	ASSERT_EQ(tu_live_blocks(), 3);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(d, 0));
	ASSERT_ERRNO(EFAULT);

	/* expiring at 100: still valid at 100, cleaned from 101 on */
	ttak_mem_tree_perform_cleanup(&tree, 100);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, c), old);
	ASSERT_EQ(tree_pressure(&tree), 50);
	ttak_mem_tree_perform_cleanup(&tree, 101);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, c));
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, b), young);
	ASSERT_EQ(tree_pressure(&tree), 20);
	ASSERT_EQ(tu_live_blocks(), 2);

	ttak_mem_tree_perform_cleanup(&tree, 10000);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, b));
	/* expired but referenced: kept */
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, a), live);
	ASSERT_EQ(tree_pressure(&tree), 0);
	s = tree_stats(&tree);
	ASSERT_EQ(s.nodes, 1);
	ASSERT_EQ(s.bytes, 10);
	ASSERT_EQ(s.garbage_nodes, 0);
	ASSERT_EQ(s.pending_nodes, 0);
	ASSERT_EQ(s.freed_nodes, 3);
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_forever_is_never_cleaned)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(10, 1000, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 10, __TTAK_UNSAFE_MEM_FOREVER__,
			      false);
	ASSERT_NOT_NULL(n);
	ttak_mem_node_release(n);
	ttak_mem_tree_perform_cleanup(&tree, UINT64_MAX);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_SHUTDOWN);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	ASSERT_EQ(tu_live_blocks(), 1);
	ASSERT_EQ(tree_pressure(&tree), 10);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_expiry_zero_is_cleaned_at_tick_zero)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(10, 1000, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 10, 0, false);
	ASSERT_NOT_NULL(n);
	ttak_mem_node_release(n);
	ttak_mem_tree_perform_cleanup(&tree, 0);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}

/*
 * A node expiring at N is kept by cleanups at N - 1 and N and taken at
 * N + 1: the boundary of ttak_mem_access(), so a block the tree keeps is
 * one its owner may still access. FOREVER never, 0 at once.
 */
TU_TEST(tree_expiry_boundary_is_inclusive)
{
	static const u64 expiries[] = { 1, 2, 77, 100000 };
	ttak_mem_tree_t tree;
	size_t i;

	quiet_tree(&tree);
	for (i = 0; i < ARRAY_SIZE(expiries); i++) {
		u64 n = expiries[i];
		void *p = ttak_mem_alloc(8, n, 0);
		ttak_mem_node_t *node;

		ASSERT_NOT_NULL(p);
		node = ttak_mem_tree_add(&tree, p, 8, n, false);
		ASSERT_NOT_NULL(node);
		ttak_mem_node_release(node);
		ttak_mem_tree_perform_cleanup(&tree, n - 1);
		CHECK_PTR_EQ(ttak_mem_tree_find_node(&tree, p), node);
		ttak_mem_tree_perform_cleanup(&tree, n);
		CHECK_PTR_EQ(ttak_mem_tree_find_node(&tree, p), node);
		CHECK_PTR_EQ(ttak_mem_access(p, n), p);
		ttak_mem_tree_perform_cleanup(&tree, n + 1);
		CHECK_NULL(ttak_mem_tree_find_node(&tree, p));
		CHECK_EQ(tu_live_blocks(), 0);
		CHECK_EQ(tree_pressure(&tree), 0);
	}
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_cleanup_bad_input_is_einval)
{
	ttak_mem_tree_t tree;

	memset(&tree, 0, sizeof(tree));
	CLEAR_ERRNO();
	ttak_mem_tree_perform_cleanup(NULL, 0);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_mem_tree_perform_cleanup(&tree, 0);	/* uninitialised */
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_mem_tree_hint(NULL, TTAK_MEM_TREE_HINT_IDLE);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_mem_tree_set_pressure_threshold(NULL, 1);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_mem_tree_set_cleaning_intervals(NULL, 1, 2);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_mem_tree_report_pressure(NULL, 1);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_mem_tree_set_manual_cleanup(NULL, true);
	ASSERT_ERRNO(EINVAL);
}

TU_TEST(tree_pressure_is_exact_and_returns_to_zero)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n[10];
	void *p[10];
	size_t i, sum = 0;

	quiet_tree(&tree);
	for (i = 0; i < 10; i++) {
		p[i] = ttak_mem_alloc(100 + i, 1000, 0);
		ASSERT_NOT_NULL(p[i]);
		n[i] = ttak_mem_tree_add(&tree, p[i], 100 + i, 0, false);
		ASSERT_NOT_NULL(n[i]);
	}
	for (i = 0; i < 10; i++) {
		ttak_mem_node_release(n[i]);
		sum += 100 + i;
		ASSERT_EQ(tree_pressure(&tree), sum);
	}
	ASSERT_EQ(tree_stats(&tree).garbage_nodes, 10);
	ttak_mem_tree_perform_cleanup(&tree, 1);
	ASSERT_EQ(tree_pressure(&tree), 0);
	ASSERT_EQ(tree_stats(&tree).nodes, 0);
	ASSERT_EQ(tree_stats(&tree).bytes, 0);
	ASSERT_EQ(tree_stats(&tree).freed_nodes, 10);
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}

TU_TEST(tree_report_pressure_counts_until_next_cleanup)
{
	ttak_mem_tree_t tree;

	quiet_tree(&tree);
	ttak_mem_tree_report_pressure(&tree, 1000);
	ttak_mem_tree_report_pressure(&tree, 24);
	ASSERT_EQ(tree_pressure(&tree), 1024);
	ttak_mem_tree_perform_cleanup(&tree, 1);
	ASSERT_EQ(tree_pressure(&tree), 0);
	ttak_mem_tree_destroy(&tree);
}

TU_TEST(tree_threshold_is_stored)
{
	ttak_mem_tree_t tree;

	quiet_tree(&tree);
	ttak_mem_tree_set_pressure_threshold(&tree, 12345);
	ASSERT_EQ(tree_stats(&tree).pressure_threshold, 12345);
	ttak_mem_tree_set_pressure_threshold(&tree, 0);
	ASSERT_EQ(tree_stats(&tree).pressure_threshold, 0);
	ttak_mem_tree_destroy(&tree);
}

/* Add a released node of @size expiring at 0: garbage at once. */
static void *add_garbage(ttak_mem_tree_t *tree, size_t size)
{
	void *p = ttak_mem_alloc(size, 1000, 0);
	ttak_mem_node_t *n;

	if (!CHECK_NOT_NULL(p))
		return NULL;
	n = ttak_mem_tree_add(tree, p, size, 0, false);
	if (!CHECK_NOT_NULL(n))
		return NULL;
	ttak_mem_node_release(n);
	return p;
}

TU_TEST(tree_add_cleans_automatically_over_threshold)
{
	ttak_mem_tree_t tree;
	void *g1, *g2, *g3, *keep;

	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_cleaning_intervals(&tree, 0, HOUR_NS);
	ttak_mem_tree_set_pressure_threshold(&tree, 1000);
	g1 = add_garbage(&tree, 600);
	ASSERT_NOT_NULL(g1);
	/* 600 < 1000: the add of g2 does not clean */
	ASSERT_PTR_NE(ttak_mem_tree_find_node(&tree, g1), NULL);
	g2 = add_garbage(&tree, 600);
	ASSERT_NOT_NULL(g2);
	ASSERT_EQ(tree_pressure(&tree), 1200);
	/* the next add finds pressure over threshold and cleans */
	keep = ttak_mem_alloc(8, 1000, 0);
	ASSERT_NOT_NULL(ttak_mem_tree_add(&tree, keep, 8, 0, false));
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g1));
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g2));
	ASSERT_EQ(tree_pressure(&tree), 0);
	ASSERT_EQ(tu_live_blocks(), 1);
	g3 = add_garbage(&tree, 10);
	ASSERT_NOT_NULL(g3);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_manual_cleanup_stops_automatic_cleanup)
{
	ttak_mem_tree_t tree;
	void *g1, *g2;

	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_cleaning_intervals(&tree, 0, 0);
	ttak_mem_tree_set_pressure_threshold(&tree, 1);
	ttak_mem_tree_set_manual_cleanup(&tree, true);
	g1 = add_garbage(&tree, 100);
	g2 = add_garbage(&tree, 100);
	ASSERT(g1 && g2);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_PRESSURE);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_IDLE);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_ALLOC |
			   TTAK_MEM_TREE_HINT_FREE);
	ttak_mem_tree_report_pressure(&tree, 10);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&tree, g1));
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&tree, g2));
	ASSERT_EQ(tree_pressure(&tree), 210);
	/* explicit cleanup still works */
	ttak_mem_tree_perform_cleanup(&tree, 5);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g1));
	ASSERT_EQ(tree_pressure(&tree), 0);
	/* and switching back re-enables the automatic one */
	ttak_mem_tree_set_manual_cleanup(&tree, false);
	g1 = add_garbage(&tree, 100);
	ASSERT_NOT_NULL(g1);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_FREE);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g1));
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(tree_cleaning_intervals_gate_automatic_cleanup)
{
	ttak_mem_tree_t tree;
	void *g, *h;

	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_pressure_threshold(&tree, 1);
	/* min interval of an hour: over threshold, but too soon */
	ttak_mem_tree_set_cleaning_intervals(&tree, HOUR_NS, HOUR_NS);
	g = add_garbage(&tree, 64);
	h = add_garbage(&tree, 64);
	ASSERT(g && h);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_ALLOC);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&tree, g));
	/* invalid (min > max) is refused and changes nothing */
	CLEAR_ERRNO();
	ttak_mem_tree_set_cleaning_intervals(&tree, 2, 1);
	ASSERT_ERRNO(EINVAL);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_ALLOC);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&tree, g));
	/* max interval 0: always overdue, even under the threshold */
	ttak_mem_tree_set_pressure_threshold(&tree, SIZE_MAX);
	ttak_mem_tree_set_cleaning_intervals(&tree, 0, 0);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_ALLOC);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g));
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, h));
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}

TU_TEST(tree_hints_pressure_idle_shutdown)
{
	ttak_mem_tree_t tree;
	void *g;

	quiet_tree(&tree);
	/* ALLOC/FREE only run an overdue cleanup: not overdue here */
	g = add_garbage(&tree, 32);
	ASSERT_NOT_NULL(g);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_ALLOC);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_FREE);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&tree, g));
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_PRESSURE);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g));

	g = add_garbage(&tree, 32);
	ASSERT_NOT_NULL(g);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_IDLE);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g));

	/* SHUTDOWN cleans even in manual mode */
	ttak_mem_tree_set_manual_cleanup(&tree, true);
	g = add_garbage(&tree, 32);
	ASSERT_NOT_NULL(g);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_IDLE);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&tree, g));
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_SHUTDOWN);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g));
	ASSERT_EQ(tree_pressure(&tree), 0);
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}

TU_TEST(tree_hint_values_match_api)
{
	ASSERT_EQ(TTAK_MEM_TREE_HINT_ALLOC, 1 << 0);
	ASSERT_EQ(TTAK_MEM_TREE_HINT_FREE, 1 << 1);
	ASSERT_EQ(TTAK_MEM_TREE_HINT_PRESSURE, 1 << 2);
	ASSERT_EQ(TTAK_MEM_TREE_HINT_IDLE, 1 << 3);
	ASSERT_EQ(TTAK_MEM_TREE_HINT_SHUTDOWN, 1 << 4);
}

TU_TEST(tree_destroy_frees_live_and_garbage_blocks)
{
	ttak_mem_tree_t tree;
	size_t i;

	quiet_tree(&tree);
	for (i = 0; i < 50; i++) {
		void *p = ttak_mem_alloc(16 + i, 1000, 0);
		ttak_mem_node_t *n;

		ASSERT_NOT_NULL(p);
		n = ttak_mem_tree_add(&tree, p, 16 + i, i % 3 ?
				      __TTAK_UNSAFE_MEM_FOREVER__ : 0,
				      i & 1);
		ASSERT_NOT_NULL(n);
		if (i % 2)
			ttak_mem_node_release(n);
	}
	ASSERT_EQ(tu_live_blocks(), 50);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TU_TEST(tree_many_nodes_are_all_found)
{
	const size_t N = TU_ROUNDS(20000);	/* even */
	ttak_mem_tree_t tree;
	ttak_mem_node_t **nodes = tu_calloc(N, sizeof(*nodes));
	void **ptrs = tu_calloc(N, sizeof(*ptrs));
	size_t i;

	if (!CHECK(nodes && ptrs))
		goto out;
	quiet_tree(&tree);
	for (i = 0; i < N; i++) {
		ptrs[i] = ttak_mem_alloc(8, 1000, 0);
		if (!CHECK_NOT_NULL(ptrs[i]))
			goto done;
		nodes[i] = ttak_mem_tree_add(&tree, ptrs[i], 8, 0, false);
		if (!CHECK_NOT_NULL(nodes[i]))
			goto done;
	}
	CHECK_EQ(tree_stats(&tree).nodes, N);
	for (i = 0; i < N; i++)
		if (!CHECK_PTR_EQ(ttak_mem_tree_find_node(&tree, ptrs[i]),
				  nodes[i]))
			goto done;
	tu_yield();
	/* release every other one and clean: exactly those go */
	for (i = 0; i < N; i += 2)
		ttak_mem_node_release(nodes[i]);
	CHECK_EQ(tree_pressure(&tree), N / 2 * 8);
	ttak_mem_tree_perform_cleanup(&tree, 1);
	for (i = 0; i < N; i++) {
		if (i % 2 ? !CHECK_PTR_EQ(ttak_mem_tree_find_node(&tree,
								  ptrs[i]),
					  nodes[i]) :
			    !CHECK_NULL(ttak_mem_tree_find_node(&tree,
								ptrs[i])))
			goto done;
	}
	CHECK_EQ(tree_stats(&tree).nodes, N / 2);
	CHECK_EQ(tu_live_blocks(), N / 2);
	CHECK_EQ(tree_pressure(&tree), 0);
done:
	ttak_mem_tree_destroy(&tree);
	CHECK_EQ(tu_live_blocks(), 0);
out:
	tu_free(nodes);
	tu_free(ptrs);
}

TU_TEST(tree_get_stats_ignores_null)
{
	ttak_mem_tree_t tree;
	struct ttak_mem_tree_stats s;

	quiet_tree(&tree);
	memset(&s, 0x3c, sizeof(s));
	ttak_mem_tree_get_stats(NULL, &s);
	ASSERT_EQ(s.nodes, (size_t)0x3c3c3c3c3c3c3c3cULL);
	ttak_mem_tree_get_stats(&tree, NULL);
	ttak_mem_tree_destroy(&tree);
}

enum { MODEL_SLOTS = 3000, MODEL_FREED = 512 };

struct model_entry {
	void *ptr;
	ttak_mem_node_t *node;
	size_t size;
	u32 refs;
};

struct model {
	struct model_entry e[MODEL_SLOTS];
	void *freed[MODEL_FREED];	/* addresses no longer tracked */
	size_t nfreed;
};

static bool model_tracks(const struct model *m, const void *p)
{
	size_t i;

	for (i = 0; i < MODEL_SLOTS; i++)
		if (m->e[i].ptr == p)
			return true;
	return false;
}

static void model_forget(struct model *m, struct model_entry *e)
{
	m->freed[m->nfreed++ % MODEL_FREED] = e->ptr;
	memset(e, 0, sizeof(*e));
}

/* Compare the tree with the model; false (reported) on a mismatch. */
static bool model_check(struct model *m, ttak_mem_tree_t *tree)
{
	size_t i, nodes = 0, bytes = 0, garbage = 0, pres = 0, live = 0;
	struct ttak_mem_tree_stats s = tree_stats(tree);
	bool ok = true;

	for (i = 0; i < MODEL_SLOTS; i++) {
		struct model_entry *e = &m->e[i];

		if (!e->ptr)
			continue;
		nodes++;
		live++;
		bytes += e->size;
		if (!e->refs) {
			garbage++;
			pres += e->size;
		}
		if (ttak_mem_tree_find_node(tree, e->ptr) != e->node) {
			TU_FAIL("slot %zu: node of %p lost", i, e->ptr);
			ok = false;
		}
	}
	for (i = 0; i < MODEL_FREED && i < m->nfreed; i++) {
		if (model_tracks(m, m->freed[i]))
			continue;	/* the address came back */
		if (ttak_mem_tree_find_node(tree, m->freed[i])) {
			TU_FAIL("%p found after it left", m->freed[i]);
			ok = false;
		}
	}
	ok &= CHECK_EQ(s.nodes, nodes);
	ok &= CHECK_EQ(s.bytes, bytes);
	ok &= CHECK_EQ(s.garbage_nodes, garbage);
	ok &= CHECK_EQ(s.garbage_pressure, pres);
	ok &= CHECK_EQ(s.pending_nodes, 0);
	ok &= CHECK_EQ(tu_live_blocks(), live);
	return ok;
}

/* One random operation on @e; false when a call failed (reported). */
static bool model_step(struct model *m, ttak_mem_tree_t *tree,
		       struct model_entry *e, u64 r)
{
	size_t i;

	switch (r % 8) {
	case 0:
	case 1:		/* add */
		if (e->ptr)
			break;
		e->size = 1 + (size_t)(r >> 40) % 300;
		e->ptr = ttak_mem_alloc(e->size, 10, 0);
		if (!CHECK_NOT_NULL(e->ptr))
			return false;
		e->node = ttak_mem_tree_add(tree, e->ptr, e->size, 0, false);
		if (!CHECK_NOT_NULL(e->node)) {
			ttak_mem_free(e->ptr);
			memset(e, 0, sizeof(*e));
			return false;
		}
		e->refs = 1;
		break;
	case 2:
	case 3:		/* release */
		if (!e->ptr || !e->refs)
			break;
		ttak_mem_node_release(e->node);
		e->refs--;
		break;
	case 4:		/* acquire, also from zero */
		if (!e->ptr)
			break;
		ttak_mem_node_acquire(e->node);
		e->refs++;
		break;
	case 5:		/* remove: the block stays ours */
		if (!e->ptr || (r >> 20) % 4)
			break;
		ttak_mem_tree_remove(tree, e->node);
		ttak_mem_free(e->ptr);
		model_forget(m, e);
		break;
	case 6:		/* cleanup, now and then */
		if ((r >> 20) % 64)
			break;
		ttak_mem_tree_perform_cleanup(tree, 1);
		for (i = 0; i < MODEL_SLOTS; i++)
			if (m->e[i].ptr && !m->e[i].refs)
				model_forget(m, &m->e[i]);
		break;
	default:	/* lookup */
		if (e->ptr)
			return CHECK_PTR_EQ(ttak_mem_tree_find_node(tree,
								    e->ptr),
					    e->node);
		break;
	}
	return true;
}

TU_TEST(tree_random_operations_match_a_model)
{
	static struct model m;
	const unsigned long ops = TU_ROUNDS(200000);
	ttak_mem_tree_t tree;
	u64 seed = 0x7474616b2d6d6f64ULL;
	unsigned long op;

	quiet_tree(&tree);
	for (op = 0; op < ops; op++) {
		u64 r = tu_rng(&seed);

		if (!model_step(&m, &tree, &m.e[(r >> 8) % MODEL_SLOTS], r))
			break;
		if (op % (ops / 10))
			continue;
		tu_yield();
		if (!model_check(&m, &tree))
			break;
	}
	CHECK(model_check(&m, &tree));
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tu_live_blocks(), 0);
}

/* --- epoch-based reclamation -------------------------------------------- */

static ttak_atomic_u64_t ebr_cleaned;

/* cleanups may run on another thread (the kernel's work item) */
static void ebr_count_free(void *p)
{
	ttak_a64_inc_return(&ebr_cleaned);
	ttak_mem_free(p);
}

static u64 ebr_cleaned_now(void)
{
	return ttak_a64_read(&ebr_cleaned);
}

TU_TEST(ebr_retire_inside_a_section_outlives_it)
{
	char *p = ttak_mem_alloc(64, __TTAK_UNSAFE_MEM_FOREVER__, 0);
	u64 before, inside;

	ASSERT_NOT_NULL(p);
	ttak_epoch_synchronize();
	before = ebr_cleaned_now();
	ttak_epoch_enter();
	ttak_epoch_retire(p, ebr_count_free);
	/* still ours to read: the section that retired it holds it */
	memset(p, 0x5a, 64);
	inside = ebr_cleaned_now();
	ttak_epoch_exit();
	ASSERT_EQ(inside, before);
	ttak_epoch_synchronize();
	ASSERT_EQ(ebr_cleaned_now(), before + 1);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TU_TEST(ebr_many_batches_are_each_cleaned_once)
{
	size_t n = TU_ROUNDS(3000), i;
	u64 before;

	ttak_epoch_synchronize();
	before = ebr_cleaned_now();
	for (i = 0; i < n; i++) {
		void *p = ttak_mem_alloc(16, __TTAK_UNSAFE_MEM_FOREVER__, 0);

		ASSERT_NOT_NULL(p);
		ttak_epoch_retire(p, ebr_count_free);
	}
	ttak_epoch_synchronize();
	ASSERT_EQ(ebr_cleaned_now(), before + n);
	ASSERT_EQ(ttak_epoch_pending(), 0);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(ebr_retire_null_is_ignored)
{
	u64 before = ebr_cleaned_now();

	ttak_epoch_retire(NULL, ebr_count_free);
	ttak_epoch_synchronize();
	ASSERT_EQ(ebr_cleaned_now(), before);
}

#if TU_KERNEL
/*
 * With interrupts off the retire must neither sleep (the debug kernel's
 * DEBUG_ATOMIC_SLEEP would say) nor run a cleanup; more than two batches
 * fill up and are queued from atomic context.
 */
TU_TEST(ebr_retire_with_interrupts_off)
{
	enum { N = 700 };
	void **objs = kcalloc(N, sizeof(*objs), GFP_KERNEL);
	unsigned long flags;
	u64 before;
	size_t i;

	ASSERT_NOT_NULL(objs);
	for (i = 0; i < N; i++) {
		objs[i] = ttak_mem_alloc(32, __TTAK_UNSAFE_MEM_FOREVER__, 0);
		ASSERT_NOT_NULL(objs[i]);
	}
	ttak_epoch_synchronize();
	before = ebr_cleaned_now();
	local_irq_save(flags);
	ttak_epoch_enter();
	for (i = 0; i < N; i++)
		ttak_epoch_retire(objs[i], ebr_count_free);
	/* nothing retired inside a live section is cleaned meanwhile */
	for (i = 0; i < N; i++)
		memset(objs[i], 0x11, 32);
	ttak_epoch_exit();
	local_irq_restore(flags);
	kfree(objs);
	ttak_epoch_synchronize();
	ASSERT_EQ(ebr_cleaned_now(), before + N);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

struct ebr_hardirq {
	struct irq_work work;
	void *obj;
	bool in_hardirq;
	bool in_section;
};

static void ebr_hardirq_fn(struct irq_work *work)
{
	struct ebr_hardirq *h = container_of(work, struct ebr_hardirq, work);

	h->in_hardirq = in_hardirq();
	ttak_epoch_enter();
	h->in_section = true;
	ttak_epoch_retire(h->obj, ebr_count_free);
	ttak_epoch_exit();
}

/* A retire in hard interrupt context, over a task's open section. */
TU_TEST(ebr_retire_from_hardirq_over_a_task_section)
{
	struct ebr_hardirq h = { .obj = ttak_mem_alloc(48, 100000, 0) };
	char *mine = ttak_mem_alloc(48, 100000, 0);
	u64 before, inside;

	ASSERT_NOT_NULL(h.obj);
	ASSERT_NOT_NULL(mine);
	init_irq_work(&h.work, ebr_hardirq_fn);
	ttak_epoch_synchronize();
	before = ebr_cleaned_now();
	ttak_epoch_enter();
	ttak_epoch_retire(mine, ebr_count_free);
	irq_work_queue(&h.work);
	/* irq_work_sync() may sleep: wait with interrupts on instead */
	while (irq_work_is_busy(&h.work))
		cpu_relax();
	inside = ebr_cleaned_now();
	memset(mine, 0x22, 48);
	ttak_epoch_exit();
	ASSERT_EQ(inside, before);
	ASSERT(h.in_section);
	ASSERT(h.in_hardirq);
	ttak_epoch_synchronize();
	ASSERT_EQ(ebr_cleaned_now(), before + 2);
}

/* Where a pass may not run, reclaim leaves it to the work item. */
TU_TEST(ebr_reclaim_in_atomic_context_does_not_clean)
{
	void *p = ttak_mem_alloc(32, __TTAK_UNSAFE_MEM_FOREVER__, 0);
	u64 before, inside;

	ASSERT_NOT_NULL(p);
	ttak_epoch_synchronize();
	before = ebr_cleaned_now();
	preempt_disable();
	ttak_epoch_retire(p, ebr_count_free);
	ttak_epoch_reclaim();	/* logs that it left the pass to the work */
	inside = ebr_cleaned_now();
	preempt_enable();
	ASSERT_EQ(inside, before);
	ttak_epoch_synchronize();
	ASSERT_EQ(ebr_cleaned_now(), before + 1);
}

/* Waits of up to this long for the work item on a slow guest. */
#define EBR_BACKGROUND_MS	20000

/* Poll until @want objects were cleaned; false after the limit. */
static bool ebr_cleaned_reaches(u64 want)
{
	unsigned int ms;

	for (ms = 0; ms < EBR_BACKGROUND_MS; ms += 20) {
		if (ebr_cleaned_now() >= want)
			return true;
		msleep(20);
	}
	return ebr_cleaned_now() >= want;
}

struct ebr_timer {
	struct timer_list timer;
	void *obj[3];
	bool in_softirq;
	bool done;
};

static void ebr_timer_fn(struct timer_list *t)
{
	struct ebr_timer *et = container_of(t, struct ebr_timer, timer);
	int i;

	et->in_softirq = in_serving_softirq();
	for (i = 0; i < ARRAY_SIZE(et->obj); i++)
		ttak_epoch_retire(et->obj[i], ebr_count_free);
	WRITE_ONCE(et->done, true);
}

/*
 * Three retires from a timer fill no batch, and nobody reclaims or
 * synchronizes: the work item must still seal the partial batch and
 * free it after a grace period.
 */
TU_TEST(ebr_partial_batch_from_a_timer_is_freed_unasked)
{
	struct ebr_timer et = { 0 };
	u64 before;
	int i;

	for (i = 0; i < ARRAY_SIZE(et.obj); i++) {
		et.obj[i] = ttak_mem_alloc(40, __TTAK_UNSAFE_MEM_FOREVER__, 0);
		ASSERT_NOT_NULL(et.obj[i]);
	}
	ttak_epoch_synchronize();
	before = ebr_cleaned_now();
	timer_setup_on_stack(&et.timer, ebr_timer_fn, 0);
	mod_timer(&et.timer, jiffies + 1);
	while (!READ_ONCE(et.done))
		usleep_range(1000, 2000);
	del_timer_sync(&et.timer);
	destroy_timer_on_stack(&et.timer);
	ASSERT(et.in_softirq);
	CHECK(ebr_cleaned_reaches(before + ARRAY_SIZE(et.obj)));
	ttak_epoch_synchronize();
	ASSERT_EQ(ebr_cleaned_now(), before + ARRAY_SIZE(et.obj));
}

struct ebr_on_cpu {
	struct completion done;
	void *obj[3];
	int cpu;
};

static int ebr_retire_on_cpu_fn(void *data)
{
	struct ebr_on_cpu *oc = data;
	int i;

	oc->cpu = raw_smp_processor_id();
	for (i = 0; i < ARRAY_SIZE(oc->obj); i++)
		ttak_epoch_retire(oc->obj[i], ebr_count_free);
	complete(&oc->done);
	return 0;
}

/*
 * A CPU goes offline with a partial batch in its slot: the slot of every
 * possible CPU is sealed by the background pass, so the objects are
 * still freed, unasked. (With one CPU online there is none to take
 * away: the case says so and checks nothing.)
 */
TU_TEST(ebr_partial_batch_of_an_offlined_cpu_is_freed)
{
	struct ebr_on_cpu oc = { .cpu = -1 };
	unsigned int cpu = cpumask_last(cpu_online_mask);
	struct task_struct *task;
	u64 before;
	int i, err;

	if (num_online_cpus() < 2 || !cpu) {
		pr_info("# %s: one CPU online, nothing to offline\n", __func__);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(oc.obj); i++) {
		oc.obj[i] = ttak_mem_alloc(40, __TTAK_UNSAFE_MEM_FOREVER__, 0);
		ASSERT_NOT_NULL(oc.obj[i]);
	}
	init_completion(&oc.done);
	ttak_epoch_synchronize();
	before = ebr_cleaned_now();
	task = kthread_create(ebr_retire_on_cpu_fn, &oc, "ttak_unit_cpu%u",
			      cpu);
	ASSERT(!IS_ERR(task));
	kthread_bind(task, cpu);
	wake_up_process(task);
	wait_for_completion(&oc.done);
	ASSERT_EQ(oc.cpu, (int)cpu);
	err = remove_cpu(cpu);
	CHECK_EQ(err, 0);
	CHECK(ebr_cleaned_reaches(before + ARRAY_SIZE(oc.obj)));
	if (!err)
		CHECK_EQ(add_cpu(cpu), 0);
	ttak_epoch_synchronize();
	ASSERT_EQ(ebr_cleaned_now(), before + ARRAY_SIZE(oc.obj));
}
#endif /* TU_KERNEL */

/* --- epoch gc ----------------------------------------------------------- */

TU_TEST(gc_init_starts_at_epoch_zero_in_automatic_mode)
{
	ttak_epoch_gc_t gc;

	memset(&gc, 0x5a, sizeof(gc));
	ttak_epoch_gc_init(&gc);
	ASSERT_EQ(gc_epoch(&gc), 0);
	ASSERT_EQ(gc_stats(&gc).rotations, 0);
	ASSERT(!gc_stats(&gc).manual);
	ASSERT_EQ(tree_pressure(&gc.tree), 0);
	ASSERT_EQ(tree_stats(&gc.tree).nodes, 0);
	ttak_epoch_gc_destroy(&gc);
}

TU_TEST(gc_null_gc_is_ignored_or_einval)
{
	char x;

	ttak_epoch_gc_init(NULL);
	ttak_epoch_gc_destroy(NULL);
	CLEAR_ERRNO();
	ttak_epoch_gc_rotate(NULL);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_epoch_gc_register(NULL, &x, 1);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_epoch_gc_manual_rotate(NULL, true);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_epoch_gc_hint(NULL, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
	ASSERT_ERRNO(EINVAL);
}

TU_TEST(gc_rotate_of_destroyed_gc_is_einval)
{
	ttak_epoch_gc_t gc;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_destroy(&gc);
	CLEAR_ERRNO();
	ttak_epoch_gc_rotate(&gc);
	ASSERT_ERRNO(EINVAL);
	ttak_epoch_gc_destroy(&gc);	/* twice is harmless */
}

TU_TEST(gc_alias_type_is_the_same_gc)
{
	tt_epoch_gc_t gc;
	ttak_epoch_gc_t *same = &gc;
	void *p;

	ttak_epoch_gc_init(same);
	p = tracked(&gc, 128);
	ASSERT_NOT_NULL(p);
	release(&gc, p);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, p));
	ASSERT_EQ(gc_epoch(&gc), 1);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(gc_register_tracks_with_one_reference)
{
	ttak_epoch_gc_t gc;
	ttak_mem_node_t *n;
	void *p;

	ttak_epoch_gc_init(&gc);
	p = tracked(&gc, 4096);
	ASSERT_NOT_NULL(p);
	n = ttak_mem_tree_find_node(&gc.tree, p);
	ASSERT_EQ(TU_READ_U32(&n->ref_count), 1);
	ASSERT_EQ(n->size, 4096);
	ASSERT_PTR_EQ(n->ptr, p);
	/* referenced blocks survive rotations */
	ttak_epoch_gc_rotate(&gc);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&gc.tree, p), n);
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(gc_register_node_returns_the_node)
{
	ttak_epoch_gc_t gc;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	ttak_epoch_gc_init(&gc);
	n = ttak_epoch_gc_register_node(&gc, p, 64);
	ASSERT_NOT_NULL(n);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&gc.tree, p), n);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(gc_register_bad_input_is_refused)
{
	ttak_epoch_gc_t gc;
	void *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	ttak_epoch_gc_init(&gc);
	CLEAR_ERRNO();
	ttak_epoch_gc_register(&gc, NULL, 64);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ttak_epoch_gc_register(&gc, p, 0);
	ASSERT_ERRNO(EINVAL);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, p));
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_epoch_gc_register_node(&gc, p, 0));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tree_stats(&gc.tree).nodes, 0);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 1);	/* never taken over */
	ttak_mem_free(p);
}

TU_TEST(gc_rotate_flushes_released_blocks_in_one_rotation)
{
	ttak_epoch_gc_t gc;
	void *a, *b, *c;

	ttak_epoch_gc_init(&gc);
	a = tracked(&gc, 100);
	b = tracked(&gc, 200);
	c = tracked(&gc, 300);
	ASSERT(a && b && c);
	release(&gc, a);
	release(&gc, c);
	ASSERT_EQ(tree_pressure(&gc.tree), 400);
	ASSERT_EQ(tree_stats(&gc.tree).garbage_nodes, 2);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_EQ(gc_epoch(&gc), 1);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, a));
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, c));
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&gc.tree, b));
	ASSERT_EQ(tree_pressure(&gc.tree), 0);
	ASSERT_EQ(tu_live_blocks(), 1);
	ASSERT_EQ(tree_stats(&gc.tree).freed_nodes, 2);
	ASSERT_EQ(tree_stats(&gc.tree).pending_nodes, 0);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(a, 0));
	ASSERT_ERRNO(EFAULT);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 0);
}

#if TU_KERNEL
/*
 * A kernel rotation takes its garbage out of the tree at once and frees
 * it after a grace period, from the work item: nobody calls anything
 * more. (The stats are read directly: tree_stats() would wait.)
 */
TU_TEST(gc_kernel_rotation_frees_after_a_grace_period_unasked)
{
	struct ttak_mem_tree_stats st = { 0 };
	ttak_epoch_gc_t gc;
	unsigned int ms;
	void *a;

	ttak_epoch_gc_init(&gc);
	a = tracked(&gc, 4096);
	ASSERT_NOT_NULL(a);
	release(&gc, a);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, a));
	for (ms = 0; ms < EBR_BACKGROUND_MS; ms += 20) {
		ttak_mem_tree_get_stats(&gc.tree, &st);
		if (!st.pending_nodes)
			break;
		msleep(20);
	}
	CHECK_EQ(st.pending_nodes, 0);
	CHECK_EQ(st.garbage_pressure, 0);
	CHECK_EQ(st.freed_nodes, 1);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 0);
}
#endif

TU_TEST(gc_rotate_counts_epochs)
{
	ttak_epoch_gc_t gc;
	u64 i;

	ttak_epoch_gc_init(&gc);
	for (i = 1; i <= 1000; i++) {
		ttak_epoch_gc_rotate(&gc);
		ASSERT_EQ(gc_epoch(&gc), i);
	}
	ASSERT_EQ(gc_stats(&gc).rotations, 1000);
	ttak_epoch_gc_destroy(&gc);
}

TU_TEST(gc_automatic_mode_rotates_on_register_over_threshold)
{
	ttak_epoch_gc_t gc;
	void *a, *b;

	ttak_epoch_gc_init(&gc);
	ttak_mem_tree_set_pressure_threshold(&gc.tree, 1000);
	/*
	 * Only the GC's rule may flush here: the tree's own automatic
	 * cleanup (due once 10 ms passed, easily on a slow debug guest)
	 * would flush first and leave the GC nothing to rotate for.
	 */
	ttak_mem_tree_set_cleaning_intervals(&gc.tree, UINT64_MAX / 2,
					     UINT64_MAX / 2);
	a = tracked(&gc, 1500);
	ASSERT_NOT_NULL(a);
	ASSERT_EQ(gc_epoch(&gc), 0);
	release(&gc, a);
	ASSERT_EQ(tree_pressure(&gc.tree), 1500);
	b = tracked(&gc, 10);		/* finds pressure over threshold */
	ASSERT_NOT_NULL(b);
	ASSERT_GE(gc_epoch(&gc), 1);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, a));
	ASSERT_EQ(tree_pressure(&gc.tree), 0);
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(gc_manual_mode_flushes_only_on_request)
{
	ttak_epoch_gc_t gc;
	void *a, *b;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	ASSERT(gc_stats(&gc).manual);
	ttak_mem_tree_set_pressure_threshold(&gc.tree, 1);
	ttak_mem_tree_set_cleaning_intervals(&gc.tree, 0, 0);
	a = tracked(&gc, 64);
	ASSERT_NOT_NULL(a);
	release(&gc, a);
	b = tracked(&gc, 64);
	ASSERT_NOT_NULL(b);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_IDLE);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_FREE);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_ALLOC);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_REALLOC);
	ttak_mem_tree_hint(&gc.tree, TTAK_MEM_TREE_HINT_PRESSURE);
	ASSERT_EQ(gc_epoch(&gc), 0);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&gc.tree, a));
	ASSERT_EQ(tree_pressure(&gc.tree), 64);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_EQ(gc_epoch(&gc), 1);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, a));
	ASSERT_EQ(tree_pressure(&gc.tree), 0);
	/* back to automatic */
	ttak_epoch_gc_manual_rotate(&gc, false);
	ASSERT(!gc_stats(&gc).manual);
	release(&gc, b);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_IDLE);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, b));
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_epoch_gc_destroy(&gc);
}

TU_TEST(gc_hints_rotate_as_documented)
{
	ttak_epoch_gc_t gc;
	u64 e;

	ttak_epoch_gc_init(&gc);
	ttak_mem_tree_set_pressure_threshold(&gc.tree, 100);
	e = gc_epoch(&gc);
	/* automatic, under threshold: ALLOC and REALLOC do nothing */
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_ALLOC);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_REALLOC);
	ASSERT_EQ(gc_epoch(&gc), e);
	/* IDLE, FREE and COLLECT_NOW rotate */
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_IDLE);
	ASSERT_EQ(gc_epoch(&gc), e + 1);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_FREE);
	ASSERT_EQ(gc_epoch(&gc), e + 2);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
	ASSERT_EQ(gc_epoch(&gc), e + 3);
	/* over threshold: ALLOC and REALLOC rotate too */
	ttak_mem_tree_report_pressure(&gc.tree, 100);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_ALLOC);
	ASSERT_EQ(gc_epoch(&gc), e + 4);
	ASSERT_EQ(tree_pressure(&gc.tree), 0);	/* the rotation took it */
	ttak_mem_tree_report_pressure(&gc.tree, 150);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_REALLOC);
	ASSERT_EQ(gc_epoch(&gc), e + 5);
	/* manual: only COLLECT_NOW */
	ttak_epoch_gc_manual_rotate(&gc, true);
	ttak_mem_tree_report_pressure(&gc.tree, 1000);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_IDLE |
			   TTAK_EPOCH_GC_HINT_FREE |
			   TTAK_EPOCH_GC_HINT_ALLOC |
			   TTAK_EPOCH_GC_HINT_REALLOC);
	ASSERT_EQ(gc_epoch(&gc), e + 5);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
	ASSERT_EQ(gc_epoch(&gc), e + 6);
	ttak_epoch_gc_destroy(&gc);
}

TU_TEST(gc_hint_values_match_api)
{
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_ALLOC, 1 << 0);
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_FREE, 1 << 1);
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_REALLOC, 1 << 2);
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_IDLE, 1 << 3);
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_COLLECT_NOW, 1 << 4);
}

TU_TEST(gc_destroy_frees_every_tracked_block)
{
	ttak_epoch_gc_t gc;
	int i;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	for (i = 0; i < 40; i++) {
		void *p = tracked(&gc, 32 + (size_t)i);

		ASSERT_NOT_NULL(p);
		if (i % 2)
			release(&gc, p);
	}
	ASSERT_EQ(tu_live_blocks(), 40);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 0);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TU_TEST(gc_many_rotations_keep_epochs_and_pressure_exact)
{
	const unsigned int n = TU_ROUNDS(5000);
	ttak_epoch_gc_t gc;
	u64 global = ttak_epoch_current();
	unsigned int i;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	for (i = 0; i < n; i++) {
		void *p = tracked(&gc, 256);

		ASSERT_NOT_NULL(p);
		release(&gc, p);
		ASSERT_EQ(tree_pressure(&gc.tree), 256);
		ttak_epoch_gc_rotate(&gc);
		ASSERT_EQ(tree_pressure(&gc.tree), 0);
		ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, p));
		if (i % 500 == 0)
			tu_yield();
	}
	ASSERT_EQ(gc_epoch(&gc), n);
	/* every rotation without readers also moved the global epoch */
	ASSERT_GE(ttak_epoch_current(), global + n);
	ASSERT_EQ(tree_stats(&gc.tree).freed_nodes, n);
	ASSERT_EQ(tree_stats(&gc.tree).nodes, 0);
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_epoch_gc_destroy(&gc);
}

/* --- arena -------------------------------------------------------------- */

static size_t env_pressure(ttak_arena_env_t *env)
{
	return tree_pressure(&env->gc->tree);
}

static struct ttak_mem_tree_stats env_tree_stats(ttak_arena_env_t *env)
{
	return tree_stats(&env->gc->tree);
}

static bool default_env(ttak_arena_env_t *env)
{
	return CHECK(ttak_arena_env_init(env, NULL));
}

TU_TEST(arena_config_defaults)
{
	ttak_arena_env_config_t c;

	memset(&c, 0x77, sizeof(c));
	ttak_arena_env_config_init(&c);
	ASSERT_NULL(c.gc);
	ASSERT_EQ(c.generation_bytes, 4096);
	ASSERT_EQ(c.chunk_bytes, 128);
	ASSERT_EQ(c.alloc_flags, TTAK_MEM_CACHE_ALIGNED | TTAK_MEM_STRICT_CHECK);
	ASSERT_EQ(c.lifetime_ticks, __TTAK_UNSAFE_MEM_FOREVER__);
	ttak_arena_env_config_init(NULL);	/* ignored */
}

TU_TEST(arena_env_init_with_null_config_uses_defaults)
{
	ttak_arena_env_t env;

	ASSERT(default_env(&env));
	ASSERT_NOT_NULL(env.gc);
	ASSERT_NULL(env.config.gc);
	ASSERT_EQ(env.config.generation_bytes, 4096);
	ASSERT_EQ(env.config.chunk_bytes, 128);
	ASSERT_EQ(env.config.alloc_flags,
		  TTAK_MEM_CACHE_ALIGNED | TTAK_MEM_STRICT_CHECK);
	ASSERT_EQ(env.config.lifetime_ticks, __TTAK_UNSAFE_MEM_FOREVER__);
	ttak_arena_env_destroy(&env);
	ttak_arena_env_destroy(&env);	/* twice is harmless */
	ttak_arena_env_destroy(NULL);
}

TU_TEST(arena_env_init_null_env_is_einval)
{
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_env_init(NULL, NULL));
	ASSERT_ERRNO(EINVAL);
}

/* A refused config leaves an env on which everything fails cleanly. */
static void bad_config(size_t gen, size_t chunk, ttak_mem_flags_t flags)
{
	ttak_arena_env_config_t c;
	ttak_arena_generation_t g;
	ttak_arena_env_t env;

	ttak_arena_env_config_init(&c);
	c.generation_bytes = gen;
	c.chunk_bytes = chunk;
	c.alloc_flags = flags;
	CLEAR_ERRNO();
	if (ttak_arena_env_init(&env, &c)) {
		TU_FAIL("accepted gen=%zu chunk=%zu flags=%#x", gen, chunk,
			(unsigned int)flags);
		ttak_arena_env_destroy(&env);
		return;
	}
	CHECK_ERRNO(EINVAL);
	CLEAR_ERRNO();
	CHECK(!ttak_arena_generation_begin(&env, &g, 1));
	CHECK_ERRNO(EINVAL);
	CHECK_NULL(g.base);
	CLEAR_ERRNO();
	ttak_arena_env_rotate(&env);
	CHECK_ERRNO(EINVAL);
	ttak_arena_env_destroy(&env);
	CHECK_EQ(tu_live_blocks(), 0);
}

TU_TEST(arena_env_init_refuses_bad_configs)
{
	ttak_mem_flags_t dflt = TTAK_MEM_CACHE_ALIGNED | TTAK_MEM_STRICT_CHECK;

	bad_config(0, 128, dflt);			/* no generation */
	bad_config(4096, 0, dflt);			/* no chunk */
	bad_config(128, 4096, dflt);			/* chunk > generation */
	bad_config(4096, 4097, TTAK_MEM_DEFAULT);
	bad_config(100, 65, dflt);	/* 65 rounds up to 128 > 100 */
	bad_config(4096, SIZE_MAX, dflt);		/* rounding overflows */
	bad_config(4096, 128, (ttak_mem_flags_t)(1 << 9));	/* unknown flag */
}

TU_TEST(arena_env_init_accepts_edge_configs)
{
	ttak_arena_env_config_t c;
	ttak_arena_generation_t g;
	ttak_arena_env_t env;

	ttak_arena_env_config_init(&c);
	c.generation_bytes = 128;
	c.chunk_bytes = 128;			/* chunk == generation */
	ASSERT(ttak_arena_env_init(&env, &c));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(arena_begin_allocates_and_registers_a_generation)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	ttak_mem_node_t *n;

	ASSERT(default_env(&env));
	memset(&g, 0xee, sizeof(g));
	ASSERT(ttak_arena_generation_begin(&env, &g, 77));
	ASSERT_NOT_NULL(g.base);
	ASSERT_EQ((uintptr_t)g.base % TTAK_CACHE_LINE_SIZE, 0);
	ASSERT_EQ(g.capacity, 4096);
	ASSERT_EQ(g.used, 0);
	ASSERT_EQ(g.epoch_id, 77);
	ASSERT_EQ(ttak_arena_generation_remaining(&g), 4096);
	n = ttak_mem_tree_find_node(&env.gc->tree, g.base);
	ASSERT_NOT_NULL(n);
	ASSERT_EQ(TU_READ_U32(&n->ref_count), 1);
	ASSERT_EQ(n->size, 4096);
	ASSERT_EQ(tu_live_blocks(), 1);
	ASSERT_EQ(tu_live_bytes(), 4096);
	/* the buffer is a strictly checked ttak block */
	ASSERT_PTR_EQ(ttak_mem_access(g.base, 0), g.base);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(arena_begin_bad_input_is_einval)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;

	ASSERT(default_env(&env));
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_begin(NULL, &g, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_begin(&env, NULL, 0));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_arena_env_destroy(&env);
	/* a destroyed env begins nothing */
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_begin(&env, &g, 0));
	ASSERT_ERRNO(EINVAL);
}

TU_TEST(arena_begin_failure_is_counted_and_leaves_nothing)
{
	ttak_arena_env_config_t c;
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	struct ttak_arena_env_stats st;

	ttak_arena_env_config_init(&c);
	c.generation_bytes = (size_t)1 << 50;	/* no machine has a pebibyte */
	ASSERT(ttak_arena_env_init(&env, &c));
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_begin(&env, &g, 3));
	ASSERT_ERRNO(ENOMEM);
	ASSERT_NULL(g.base);
	ASSERT_EQ(g.capacity, 0);
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.failed, 1);
	ASSERT_EQ(st.begun, 0);
	ASSERT_EQ(env_tree_stats(&env).nodes, 0);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(arena_claim_carves_deterministic_aligned_chunks)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	size_t i;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	for (i = 0; i < 32; i++) {
		char *c = ttak_arena_generation_claim(&env, &g, 0);

		ASSERT_PTR_EQ(c, (char *)g.base + i * 128);
		ASSERT_EQ((uintptr_t)c % TTAK_CACHE_LINE_SIZE, 0);
		ASSERT_EQ(g.used, (i + 1) * 128);
		ASSERT_EQ(ttak_arena_generation_remaining(&g),
			  4096 - (i + 1) * 128);
		memset(c, (int)i, 128);		/* every chunk fully usable */
	}
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT_ERRNO(ENOSPC);
	ASSERT_EQ(g.used, 4096);
	/* the carving stayed inside the block: its end canary is intact */
	ASSERT_PTR_EQ(ttak_mem_access(g.base, 0), g.base);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_claim_sizes_are_rounded_to_cache_lines)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	char *a, *b, *c, *d;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	a = ttak_arena_generation_claim(&env, &g, 1);
	b = ttak_arena_generation_claim(&env, &g, 64);
	c = ttak_arena_generation_claim(&env, &g, 65);
	d = ttak_arena_generation_claim(&env, &g, 0);
	ASSERT(a && b && c && d);
	ASSERT_EQ(b - a, 64);
	ASSERT_EQ(c - b, 64);
	ASSERT_EQ(d - c, 128);
	ASSERT_EQ(g.used, 64 + 64 + 128 + 128);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_claim_without_alignment_packs_chunks)
{
	ttak_arena_env_config_t cfg;
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	char *a, *b, *c;

	ttak_arena_env_config_init(&cfg);
	cfg.alloc_flags = TTAK_MEM_STRICT_CHECK;
	cfg.generation_bytes = 1000;
	cfg.chunk_bytes = 100;
	ASSERT(ttak_arena_env_init(&env, &cfg));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	a = ttak_arena_generation_claim(&env, &g, 0);
	b = ttak_arena_generation_claim(&env, &g, 3);
	c = ttak_arena_generation_claim(&env, &g, 897);
	ASSERT(a && b && c);
	ASSERT_EQ(b - a, 100);
	ASSERT_EQ(c - b, 3);
	ASSERT_EQ(ttak_arena_generation_remaining(&g), 0);
	memset(c, 0xff, 897);		/* right up to the end, no further */
	ASSERT_PTR_EQ(ttak_mem_access(g.base, 0), g.base);
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 1));
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_claim_larger_than_generation_is_enospc)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 4097));
	ASSERT_ERRNO(ENOSPC);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, SIZE_MAX));
	ASSERT_ERRNO(ENOSPC);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, SIZE_MAX - 10));
	ASSERT_ERRNO(ENOSPC);
	ASSERT_EQ(g.used, 0);
	/* a partly used generation refuses what no longer fits */
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 4000));
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 128));
	ASSERT_ERRNO(ENOSPC);
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 64));
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_claim_bad_input_is_einval)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g, empty;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	memset(&empty, 0, sizeof(empty));
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_arena_generation_claim(NULL, &g, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_arena_generation_claim(&env, NULL, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_arena_generation_claim(&env, &empty, 0));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(g.used, 0);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_claim_from_retired_generation_is_einval)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT(ttak_arena_generation_retire(&env, &g));
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 0, NULL, NULL), 0);
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(ttak_arena_generation_remaining(&g), 0);
	ttak_arena_generation_reset(&g);	/* no-op */
	ASSERT_NULL(g.base);
	ASSERT_EQ(g.used, 0);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tu_live_blocks(), 0);
}

struct walk {
	void *base;
	size_t calls;
	size_t stop_after;
	size_t bad;
};

static bool walker(void *chunk, size_t chunk_bytes, size_t index, void *ctx)
{
	struct walk *w = ctx;

	if (chunk != (char *)w->base + index * 128 || chunk_bytes != 128 ||
	    index != w->calls || (uintptr_t)chunk % TTAK_CACHE_LINE_SIZE)
		w->bad++;
	memset(chunk, 0x5c, chunk_bytes);
	w->calls++;
	return w->calls != w->stop_after;
}

TU_TEST(arena_for_each_carves_every_chunk)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	struct walk w = { 0 };

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	w.base = g.base;
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 0, walker, &w), 32);
	ASSERT_EQ(w.calls, 32);
	ASSERT_EQ(w.bad, 0);
	ASSERT_EQ(g.used, 4096);
	ASSERT_EQ(ttak_arena_generation_remaining(&g), 0);
	/* a full generation yields no more */
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 0, walker, &w), 0);
	ASSERT_EQ(w.calls, 32);
	ASSERT_PTR_EQ(ttak_mem_access(g.base, 0), g.base);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_for_each_stops_when_the_handler_says_so)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	struct walk w = { 0 };

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	w.base = g.base;
	w.stop_after = 5;
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 128, walker, &w), 5);
	ASSERT_EQ(g.used, 5 * 128);
	ASSERT_EQ(w.bad, 0);
	/* the next walk resumes where it stopped, counting from 0 again */
	w.base = (char *)g.base + 5 * 128;
	w.calls = 0;
	w.stop_after = 0;
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 0, walker, &w), 27);
	ASSERT_EQ(w.bad, 0);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_for_each_bad_input)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	struct walk w = { 0 };

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	w.base = g.base;
	CLEAR_ERRNO();
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 0, NULL, &w), 0);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_EQ(ttak_arena_generation_for_each(NULL, &g, 0, walker, &w), 0);
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT_EQ(ttak_arena_generation_for_each(&env, NULL, 0, walker, &w), 0);
	ASSERT_ERRNO(EINVAL);
	/* chunk larger than the generation: nothing carved */
	CLEAR_ERRNO();
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 8192, walker, &w),
		  0);
	ASSERT_ERRNO(ENOSPC);
	ASSERT_EQ(w.calls, 0);
	ASSERT_EQ(g.used, 0);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_remaining_and_reset)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	void *first, *again;

	ASSERT(default_env(&env));
	ASSERT_EQ(ttak_arena_generation_remaining(NULL), 0);
	ttak_arena_generation_reset(NULL);
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	first = ttak_arena_generation_claim(&env, &g, 1000);
	ASSERT_NOT_NULL(first);
	ASSERT_EQ(ttak_arena_generation_remaining(&g), 4096 - 1024);
	ttak_arena_generation_reset(&g);
	ASSERT_EQ(g.used, 0);
	ASSERT_EQ(ttak_arena_generation_remaining(&g), 4096);
	again = ttak_arena_generation_claim(&env, &g, 0);
	ASSERT_PTR_EQ(again, first);	/* same offsets after a reset */
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&env.gc->tree, g.base)->ptr,
		      g.base);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_retire_releases_and_rotation_flushes)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	struct ttak_arena_env_stats st;
	ttak_mem_node_t *n;
	void *base;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 9));
	base = g.base;
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT(ttak_arena_generation_retire(&env, &g));
	/* emptied */
	ASSERT_NULL(g.base);
	ASSERT_EQ(g.capacity, 0);
	ASSERT_EQ(g.used, 0);
	/* still tracked, unreferenced, its size reported once as pressure */
	n = ttak_mem_tree_find_node(&env.gc->tree, base);
	ASSERT_NOT_NULL(n);
	ASSERT_EQ(TU_READ_U32(&n->ref_count), 0);
	ASSERT_EQ(env_pressure(&env), 4096);
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.begun, 1);
	ASSERT_EQ(st.retired, 1);
	ASSERT_EQ(st.live, 0);
	ttak_arena_env_rotate(&env);
	ASSERT_NULL(ttak_mem_tree_find_node(&env.gc->tree, base));
	ASSERT_EQ(env_pressure(&env), 0);
	ASSERT_EQ(tu_live_blocks(), 0);
	ASSERT_EQ(env_tree_stats(&env).nodes, 0);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_retire_twice_is_refused)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g, copy;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	copy = g;
	ASSERT(ttak_arena_generation_retire(&env, &g));
	/* the same struct: emptied, so nothing to retire */
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_retire(&env, &g));
	ASSERT_ERRNO(EINVAL);
	/* a stale copy: found, but no reference left to drop */
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_retire(&env, &copy));
	ASSERT_ERRNO(ENOENT);
	ASSERT_EQ(env_pressure(&env), 4096);	/* counted once */
	ttak_arena_env_rotate(&env);
	/* and after the flush it is not found at all */
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_retire(&env, &copy));
	ASSERT_ERRNO(ENOENT);
	ASSERT_EQ(env_pressure(&env), 0);
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_retire_of_never_tracked_generation_is_refused)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t forged, empty;
	struct ttak_arena_env_stats st;
	void *foreign = ttak_mem_alloc(4096, 10, 0);

	ASSERT_NOT_NULL(foreign);
	ASSERT(default_env(&env));
	memset(&empty, 0, sizeof(empty));
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_retire(&env, &empty));
	ASSERT_ERRNO(EINVAL);
	memset(&forged, 0, sizeof(forged));
	forged.base = foreign;
	forged.capacity = 4096;
	forged.used = 0;
	forged.epoch_id = 1;
	CLEAR_ERRNO();
	/* never begun in this env: refused before any lookup */
	ASSERT(!ttak_arena_generation_retire(&env, &forged));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_retire(NULL, &forged));
	ASSERT_ERRNO(EINVAL);
	CLEAR_ERRNO();
	ASSERT(!ttak_arena_generation_retire(&env, NULL));
	ASSERT_ERRNO(EINVAL);
	ttak_arena_env_rotate(&env);
	/* the foreign block is untouched and still the caller's */
	ASSERT_PTR_EQ(ttak_mem_access(foreign, 0), foreign);
	ASSERT_EQ(env_pressure(&env), 0);
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.retired, 0);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_mem_free(foreign);
}

TU_TEST(arena_find_node_of_never_tracked_pointer_is_null)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	int local;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	ASSERT_NULL(ttak_mem_tree_find_node(&env.gc->tree, &local));
	/* chunks are not tracked, only the generation's base */
	ASSERT_NULL(ttak_mem_tree_find_node(&env.gc->tree,
					    (char *)g.base + 128));
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&env.gc->tree, g.base));
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_rotate_bad_input_is_einval)
{
	ttak_arena_env_t env;

	CLEAR_ERRNO();
	ttak_arena_env_rotate(NULL);
	ASSERT_ERRNO(EINVAL);
	ASSERT(default_env(&env));
	ttak_arena_env_destroy(&env);
	CLEAR_ERRNO();
	ttak_arena_env_rotate(&env);
	ASSERT_ERRNO(EINVAL);
}

TU_TEST(arena_destroy_frees_live_and_retired_generations)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g[6];
	int i;

	ASSERT(default_env(&env));
	ttak_epoch_gc_manual_rotate(env.gc, true);
	for (i = 0; i < 6; i++)
		ASSERT(ttak_arena_generation_begin(&env, &g[i], (u32)i));
	for (i = 0; i < 6; i += 2)
		ASSERT(ttak_arena_generation_retire(&env, &g[i]));
	ASSERT_EQ(tu_live_blocks(), 6);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tu_live_blocks(), 0);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TU_TEST(arena_lesson_flow_three_generations)
{
	ttak_arena_env_config_t c;
	ttak_arena_env_t env;
	u32 gen;

	ttak_arena_env_config_init(&c);
	ASSERT(ttak_arena_env_init(&env, &c));
	for (gen = 0; gen < 3; gen++) {
		ttak_arena_generation_t g;
		struct walk w = { 0 };
		void *base;

		ASSERT(ttak_arena_generation_begin(&env, &g, gen));
		w.base = g.base;
		ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 0, walker,
							 &w), 32);
		ASSERT_EQ(w.bad, 0);
		ASSERT_EQ(g.used, 4096);
		base = g.base;
		ASSERT(ttak_arena_generation_retire(&env, &g));
		ASSERT_EQ(env_pressure(&env), 4096);
		ttak_arena_env_rotate(&env);
		ASSERT_NULL(ttak_mem_tree_find_node(&env.gc->tree, base));
		ASSERT_EQ(env_pressure(&env), 0);
		ASSERT_EQ(tu_live_blocks(), 0);
	}
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_external_gc_is_shared_and_left_to_its_owner)
{
	ttak_arena_env_config_t c;
	ttak_arena_env_t e1, e2;
	ttak_arena_generation_t g1, g2, g3;
	ttak_epoch_gc_t gc;
	u64 epoch;

	ttak_epoch_gc_init(&gc);
	ttak_arena_env_config_init(&c);
	c.gc = &gc;
	ASSERT(ttak_arena_env_init(&e1, &c));
	ASSERT(ttak_arena_env_init(&e2, &c));
	ASSERT_PTR_EQ(e1.gc, &gc);
	ASSERT_PTR_EQ(e2.gc, &gc);
	ASSERT(ttak_arena_generation_begin(&e1, &g1, 1));
	ASSERT(ttak_arena_generation_begin(&e2, &g2, 2));
	ASSERT(ttak_arena_generation_begin(&e2, &g3, 3));
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&gc.tree, g1.base));
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&gc.tree, g2.base));
	ASSERT(ttak_arena_generation_retire(&e1, &g1));
	ASSERT(ttak_arena_generation_retire(&e2, &g2));
	ASSERT_EQ(tree_pressure(&gc.tree), 8192);
	/* destroying an env rotates the external GC, frees nothing live */
	epoch = gc_epoch(&gc);
	ttak_arena_env_destroy(&e1);
	ASSERT_EQ(gc_epoch(&gc), epoch + 1);
	ASSERT_EQ(tree_pressure(&gc.tree), 0);
	ASSERT_EQ(tu_live_blocks(), 1);
	ttak_arena_env_destroy(&e2);
	ASSERT_EQ(tu_live_blocks(), 1);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&gc.tree, g3.base));
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tu_live_blocks(), 0);
}

TU_TEST(arena_many_live_generations_then_one_rotation)
{
	enum { N = 1000 };
	ttak_arena_generation_t *g = tu_calloc(N, sizeof(*g));
	ttak_arena_env_t env;
	int i;

	ASSERT_NOT_NULL(g);
	if (!default_env(&env))
		goto out;
	ttak_epoch_gc_manual_rotate(env.gc, true);
	for (i = 0; i < N; i++) {
		if (!CHECK(ttak_arena_generation_begin(&env, &g[i], (u32)i)) ||
		    !CHECK_NOT_NULL(ttak_arena_generation_claim(&env, &g[i],
								0)))
			goto done;
	}
	CHECK_EQ(env_tree_stats(&env).nodes, N);
	for (i = 0; i < N; i++)
		if (!CHECK(ttak_arena_generation_retire(&env, &g[i])))
			goto done;
	CHECK_EQ(env_pressure(&env), (size_t)N * 4096);
	ttak_arena_env_rotate(&env);
	CHECK_EQ(env_pressure(&env), 0);
	CHECK_EQ(env_tree_stats(&env).nodes, 0);
	CHECK_EQ(env_tree_stats(&env).freed_nodes, N);
	CHECK_EQ(tu_live_blocks(), 0);
done:
	ttak_arena_env_destroy(&env);
	CHECK_EQ(tu_live_blocks(), 0);
out:
	tu_free(g);
}

TU_TEST(arena_large_generation_with_small_chunks)
{
	ttak_arena_env_config_t c;
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	size_t n = 0;
	char *chunk, *prev = NULL;

	ttak_arena_env_config_init(&c);
	c.generation_bytes = 1 << 20;
	c.chunk_bytes = 64;
	ASSERT(ttak_arena_env_init(&env, &c));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	while ((chunk = ttak_arena_generation_claim(&env, &g, 0))) {
		if (prev)
			ASSERT_EQ(chunk - prev, 64);
		prev = chunk;
		n++;
	}
	ASSERT_EQ(n, (1 << 20) / 64);
	ASSERT(ttak_arena_generation_retire(&env, &g));
	ttak_arena_env_rotate(&env);
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_generation_lifetime_is_applied_to_the_buffer)
{
	ttak_arena_env_config_t c;
	ttak_arena_env_t env;
	ttak_arena_generation_t g;

	ttak_arena_env_config_init(&c);
	c.lifetime_ticks = 1;	/* one millisecond */
	ASSERT(ttak_arena_env_init(&env, &c));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	tu_sleep_ms(5);
	CLEAR_ERRNO();
	ASSERT_NULL(ttak_mem_access(g.base, ttak_get_tick_count()));
	ASSERT_ERRNO(ETIMEDOUT);
	/* expiry of the buffer does not stop the generation's own life */
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT(ttak_arena_generation_retire(&env, &g));
	ttak_arena_env_rotate(&env);
	ASSERT_EQ(tu_live_blocks(), 0);
	ttak_arena_env_destroy(&env);
}

TU_TEST(arena_stats_count_begun_retired_live)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g[3];
	struct ttak_arena_env_stats st;

	ASSERT(default_env(&env));
	memset(&st, 0xff, sizeof(st));
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.begun, 0);
	ASSERT_EQ(st.retired, 0);
	ASSERT_EQ(st.live, 0);
	ASSERT_EQ(st.failed, 0);
	ASSERT(ttak_arena_generation_begin(&env, &g[0], 0));
	ASSERT(ttak_arena_generation_begin(&env, &g[1], 1));
	ASSERT(ttak_arena_generation_begin(&env, &g[2], 2));
	ASSERT(ttak_arena_generation_retire(&env, &g[1]));
	ASSERT(!ttak_arena_generation_retire(&env, &g[1]));	/* not counted */
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.begun, 3);
	ASSERT_EQ(st.retired, 1);
	ASSERT_EQ(st.live, 2);
	/* NULL arguments are ignored */
	ttak_arena_env_get_stats(NULL, &st);
	ttak_arena_env_get_stats(&env, NULL);
	ASSERT_EQ(st.begun, 3);
	ttak_arena_env_destroy(&env);
}

/* ttak_arena_env_chunk_stride() is the rule claim() carves by */
TU_TEST(arena_chunk_stride_is_the_rule_claim_carves_by)
{
	static const size_t sizes[] = { 1, 63, 64, 65, 100, 128, 129 };
	ttak_arena_env_config_t cfg;
	ttak_arena_env_t env, packed;
	ttak_arena_generation_t g;
	size_t i, used;

	ASSERT(default_env(&env));
	ASSERT_EQ(ttak_arena_env_chunk_stride(&env, 1), 64);
	ASSERT_EQ(ttak_arena_env_chunk_stride(&env, 64), 64);
	ASSERT_EQ(ttak_arena_env_chunk_stride(&env, 65), 128);
	/* 0: the env's chunk size (128 by default) */
	ASSERT_EQ(ttak_arena_env_chunk_stride(&env, 0), 128);
	/* rounding up would overflow */
	ASSERT_EQ(ttak_arena_env_chunk_stride(&env, SIZE_MAX - 3), 0);
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	for (i = 0, used = 0; i < ARRAY_SIZE(sizes); i++) {
		ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, sizes[i]));
		used += ttak_arena_env_chunk_stride(&env, sizes[i]);
		ASSERT_EQ(g.used, used);
	}

	ttak_arena_env_config_init(&cfg);
	cfg.alloc_flags = TTAK_MEM_STRICT_CHECK;	/* no cache alignment */
	ASSERT(ttak_arena_env_init(&packed, &cfg));
	ASSERT_EQ(ttak_arena_env_chunk_stride(&packed, 65), 65);
	ASSERT_EQ(ttak_arena_env_chunk_stride(&packed, SIZE_MAX - 3),
		  SIZE_MAX - 3);
	ttak_arena_env_destroy(&packed);

	ASSERT_EQ(ttak_arena_env_chunk_stride(NULL, 64), 0);
	ttak_arena_env_destroy(&env);
	/* a destroyed env has no stride */
	ASSERT_EQ(ttak_arena_env_chunk_stride(&env, 64), 0);
}

TU_TEST(gc_stats_follow_rotations)
{
	struct ttak_epoch_gc_stats s;
	ttak_epoch_gc_t gc;
	u64 first;

	ttak_epoch_gc_init(&gc);
	s = gc_stats(&gc);
	ASSERT_EQ(s.epoch, 0);
	ASSERT_EQ(s.rotations, 0);
	ASSERT_EQ(s.last_rotate_ns, 0);
	ttak_epoch_gc_rotate(&gc);
	s = gc_stats(&gc);
	ASSERT_EQ(s.epoch, 1);
	ASSERT_EQ(s.rotations, 1);
	ASSERT_GT(s.last_rotate_ns, 0);
	first = s.last_rotate_ns;
	ttak_epoch_gc_rotate(&gc);
	s = gc_stats(&gc);
	ASSERT_EQ(s.rotations, 2);
	ASSERT_GE(s.last_rotate_ns, first);
	/* NULL arguments are ignored */
	memset(&s, 0x5a, sizeof(s));
	ttak_epoch_gc_get_stats(NULL, &s);
	ASSERT_EQ(s.rotations, 0x5a5a5a5a5a5a5a5aULL);
	ttak_epoch_gc_get_stats(&gc, NULL);
	ttak_epoch_gc_destroy(&gc);
}

static const struct tu_case ttak_core_cases[] = {
	TU_CASE(mem_alloc_returns_zeroed_memory),
	TU_CASE(mem_alloc_zero_size_is_einval),
	TU_CASE(mem_alloc_unknown_flag_is_einval),
	TU_CASE(mem_alloc_absurd_sizes_fail_cleanly),
	TU_CASE(mem_known_flags_are_accepted),
	TU_CASE(mem_huge_pages_block_is_usable),
	TU_CASE(mem_cache_aligned_pointer_is_64_byte_aligned),
	TU_CASE(mem_default_pointer_is_16_byte_aligned),
	TU_CASE(mem_usage_counts_blocks_and_bytes),
	TU_CASE(mem_access_returns_live_block),
	TU_CASE(mem_access_after_expiry_is_etimedout),
	TU_CASE(mem_zero_lifetime_is_valid_only_at_its_tick),
	TU_CASE(mem_expiry_boundary_is_inclusive),
	TU_CASE(mem_forever_never_expires),
	TU_CASE(mem_expiry_saturates_instead_of_wrapping),
	TU_CASE(mem_no_direct_access_is_eperm),
	TU_CASE(mem_access_null_is_einval),
	TU_CASE(mem_access_foreign_pointer_is_efault),
	TU_CASE(mem_access_after_free_is_efault),
	TU_CASE(mem_freep_frees_and_clears),
	TU_CASE(mem_free_of_interior_pointer_is_refused),
	TU_CASE(mem_header_corruption_deeper_in_header_is_detected),
	TU_CASE(mem_realloc_grows_and_keeps_contents),
	TU_CASE(mem_realloc_shrinks_and_keeps_prefix),
	TU_CASE(mem_realloc_null_allocates),
	TU_CASE(mem_realloc_to_zero_is_einval_and_keeps_block),
	TU_CASE(mem_realloc_with_bad_flags_keeps_block),
	TU_CASE(mem_realloc_of_corrupted_block_is_refused),
	TU_CASE(mem_realloc_sets_new_lifetime_and_alignment),
	TU_CASE(mem_dup_copies_bytes),
	TU_CASE(mem_dup_of_a_tracked_block),
	TU_CASE(mem_dup_bad_input_is_einval),
	TU_CASE(mem_registry_matches_a_model_under_random_churn),
	TU_CASE(mem_minute_and_hour_are_nanoseconds),
	TU_CASE(mem_access_bridge_judges_like_access),
	TU_CASE(mem_fastalloc_registers_with_the_gc),
	TU_CASE(mem_fastalloc_bad_input_leaves_nothing),
	TU_CASE(mem_dangerous_alloc_is_zeroed_aligned_and_untracked),
	TU_CASE(mem_dangerous_bad_input_is_refused),
	TU_CASE(mem_dirty_pointers_are_the_expired_untracked_blocks),
	TU_CASE(mem_autoclean_frees_only_what_is_dirty),
	TU_CASE(mem_dirty_pointers_bad_input_is_einval),
	TU_CASE(mem_configure_gc_sets_what_new_trees_start_with),
	TU_CASE(mem_trace_switch),
	TU_CASE(mem_scoped_macros_free_at_scope_exit),

	TU_CASE(tree_init_gives_empty_tree_with_defaults),
	TU_CASE(tree_init_and_destroy_ignore_null_and_uninitialised),
	TU_CASE(tree_add_creates_node_with_one_reference),
	TU_CASE(tree_add_bad_input_is_refused),
	TU_CASE(tree_add_twice_is_eexist),
	TU_CASE(tree_find_never_tracked_pointer_is_null),
	TU_CASE(tree_remove_drops_bookkeeping_not_memory),
	TU_CASE(tree_remove_of_garbage_node_takes_back_pressure),
	TU_CASE(tree_remove_null_is_einval),
	TU_CASE(tree_acquire_release_track_references_and_pressure),
	TU_CASE(tree_cleanup_frees_expired_unreferenced_blocks),
	TU_CASE(tree_forever_is_never_cleaned),
	TU_CASE(tree_expiry_zero_is_cleaned_at_tick_zero),
	TU_CASE(tree_expiry_boundary_is_inclusive),
	TU_CASE(tree_cleanup_bad_input_is_einval),
	TU_CASE(tree_pressure_is_exact_and_returns_to_zero),
	TU_CASE(tree_report_pressure_counts_until_next_cleanup),
	TU_CASE(tree_threshold_is_stored),
	TU_CASE(tree_add_cleans_automatically_over_threshold),
	TU_CASE(tree_manual_cleanup_stops_automatic_cleanup),
	TU_CASE(tree_cleaning_intervals_gate_automatic_cleanup),
	TU_CASE(tree_hints_pressure_idle_shutdown),
	TU_CASE(tree_hint_values_match_api),
	TU_CASE(tree_destroy_frees_live_and_garbage_blocks),
	TU_CASE(tree_many_nodes_are_all_found),
	TU_CASE(tree_get_stats_ignores_null),
	TU_CASE(tree_random_operations_match_a_model),

	TU_CASE(ebr_retire_inside_a_section_outlives_it),
	TU_CASE(ebr_many_batches_are_each_cleaned_once),
	TU_CASE(ebr_retire_null_is_ignored),
#if TU_KERNEL
	TU_CASE(ebr_retire_with_interrupts_off),
	TU_CASE(ebr_retire_from_hardirq_over_a_task_section),
	TU_CASE(ebr_reclaim_in_atomic_context_does_not_clean),
	TU_CASE(ebr_partial_batch_from_a_timer_is_freed_unasked),
	TU_CASE(ebr_partial_batch_of_an_offlined_cpu_is_freed),
#endif

	TU_CASE(gc_init_starts_at_epoch_zero_in_automatic_mode),
	TU_CASE(gc_null_gc_is_ignored_or_einval),
	TU_CASE(gc_rotate_of_destroyed_gc_is_einval),
	TU_CASE(gc_alias_type_is_the_same_gc),
	TU_CASE(gc_register_tracks_with_one_reference),
	TU_CASE(gc_register_node_returns_the_node),
	TU_CASE(gc_register_bad_input_is_refused),
	TU_CASE(gc_rotate_flushes_released_blocks_in_one_rotation),
	TU_CASE(gc_rotate_counts_epochs),
	TU_CASE(gc_automatic_mode_rotates_on_register_over_threshold),
	TU_CASE(gc_manual_mode_flushes_only_on_request),
#if TU_KERNEL
	TU_CASE(gc_kernel_rotation_frees_after_a_grace_period_unasked),
#endif
	TU_CASE(gc_hints_rotate_as_documented),
	TU_CASE(gc_hint_values_match_api),
	TU_CASE(gc_destroy_frees_every_tracked_block),
	TU_CASE(gc_many_rotations_keep_epochs_and_pressure_exact),

	TU_CASE(arena_config_defaults),
	TU_CASE(arena_env_init_with_null_config_uses_defaults),
	TU_CASE(arena_env_init_null_env_is_einval),
	TU_CASE(arena_env_init_refuses_bad_configs),
	TU_CASE(arena_env_init_accepts_edge_configs),
	TU_CASE(arena_begin_allocates_and_registers_a_generation),
	TU_CASE(arena_begin_bad_input_is_einval),
	TU_CASE(arena_begin_failure_is_counted_and_leaves_nothing),
	TU_CASE(arena_claim_carves_deterministic_aligned_chunks),
	TU_CASE(arena_claim_sizes_are_rounded_to_cache_lines),
	TU_CASE(arena_claim_without_alignment_packs_chunks),
	TU_CASE(arena_claim_larger_than_generation_is_enospc),
	TU_CASE(arena_claim_bad_input_is_einval),
	TU_CASE(arena_claim_from_retired_generation_is_einval),
	TU_CASE(arena_for_each_carves_every_chunk),
	TU_CASE(arena_for_each_stops_when_the_handler_says_so),
	TU_CASE(arena_for_each_bad_input),
	TU_CASE(arena_remaining_and_reset),
	TU_CASE(arena_retire_releases_and_rotation_flushes),
	TU_CASE(arena_retire_twice_is_refused),
	TU_CASE(arena_retire_of_never_tracked_generation_is_refused),
	TU_CASE(arena_find_node_of_never_tracked_pointer_is_null),
	TU_CASE(arena_rotate_bad_input_is_einval),
	TU_CASE(arena_destroy_frees_live_and_retired_generations),
	TU_CASE(arena_lesson_flow_three_generations),
	TU_CASE(arena_external_gc_is_shared_and_left_to_its_owner),
	TU_CASE(arena_many_live_generations_then_one_rotation),
	TU_CASE(arena_large_generation_with_small_chunks),
	TU_CASE(arena_generation_lifetime_is_applied_to_the_buffer),
	TU_CASE(arena_stats_count_begun_retired_live),
	TU_CASE(arena_chunk_stride_is_the_rule_claim_carves_by),
	TU_CASE(gc_stats_follow_rotations),
};

static const struct tu_suite ttak_core_suite = {
	.cases = ttak_core_cases,
	.ncases = ARRAY_SIZE(ttak_core_cases),
};

TU_SUITE(ttak_core_suite,
	 "ttak core unit tests, shared with user space (test_core_suite)");
