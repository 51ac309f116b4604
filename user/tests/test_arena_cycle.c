// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The arena cycle of user/bench/arena_cycle.c (begin a generation, carve
 * it, retire it, rotate until it is flushed) under attack, for the
 * promises a cheaper cycle must keep (issue 14 part 2):
 *   - a generation whose buffer and tree node come back from a flushed
 *     one (same address, same thread's block cache) starts zeroed, and a
 *     stale handle of the flushed one can neither retire nor damage it;
 *   - the claim fast path refuses every bad handle and every chunk that
 *     does not fit, with the right errno;
 *   - an allocation failure at any point of a cycle leaves no block, no
 *     node and no count behind, and the next cycle works;
 *   - two threads beginning, retiring and rotating in one env at once
 *     lose nothing and free nothing early.
 */
#include "ttak_test.h"
#include "ttak_core_fixtures.h"
#include "ttak_fault.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define ROTATE_MAX	10000

static void quiet(void)
{
	setenv("TTAK_QUIET", "1", 1);
}

/* Rotate until the tree no longer finds @base; false if it never went. */
static bool flush(ttak_arena_env_t *env, void *base)
{
	int i;

	for (i = 0; i < ROTATE_MAX; i++) {
		ttak_arena_env_rotate(env);
		if (!ttak_mem_tree_find_node(&env->gc->tree, base))
			return true;
	}
	return false;
}

/* Claim every chunk, check each is zero, fill it with @fill. */
static size_t carve_all(ttak_arena_env_t *env, ttak_arena_generation_t *g,
			int fill, size_t *dirty)
{
	size_t n = 0, stride = ttak_arena_env_chunk_stride(env, 0);
	unsigned char *c;

	while ((c = ttak_arena_generation_claim(env, g, 0))) {
		if (!all_bytes(c, stride, 0))
			(*dirty)++;
		memset(c, fill, stride);
		n++;
	}
	return n;
}

TEST(recycled_generation_starts_zeroed)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	size_t dirty = 0, n, reused = 0;
	void *prev = NULL;
	int i;

	ASSERT(ttak_arena_env_init(&env, NULL));
	for (i = 0; i < 200; i++) {
		ASSERT(ttak_arena_generation_begin(&env, &g, (uint32_t)i));
		reused += g.base == prev;
		n = carve_all(&env, &g, 0xa5, &dirty);
		CHECK_EQ(n, env.config.generation_bytes /
			    ttak_arena_env_chunk_stride(&env, 0));
		prev = g.base;
		ASSERT(ttak_arena_generation_retire(&env, &g));
		ASSERT(flush(&env, prev));
	}
	CHECK_EQ(dirty, 0);
	/* with the block cache on, the same buffer comes straight back */
	printf("%zu of 200 generations reused the previous buffer\n", reused);
	ttak_arena_env_destroy(&env);
	CHECK_EQ(tt_live_blocks(), 0);
}

TEST(stale_handle_of_a_recycled_generation_is_refused)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g1, stale, g2, copy;
	struct ttak_arena_env_stats es;
	int tries = 0;

	quiet();
	ASSERT(ttak_arena_env_init(&env, NULL));
	ASSERT(ttak_arena_generation_begin(&env, &g1, 1));
	stale = g1;
	ASSERT(ttak_arena_generation_retire(&env, &g1));
	/* the handle retire was given is cleared: a second retire is refused */
	errno = 0;
	CHECK(!ttak_arena_generation_retire(&env, &g1));
	CHECK_ERRNO(EINVAL);
	/* a copy taken before the retire: the owner's hold is gone already */
	copy = stale;
	errno = 0;
	CHECK(!ttak_arena_generation_retire(&env, &copy));
	CHECK_ERRNO(ENOENT);
	ASSERT(flush(&env, stale.base));

	/* begin until a generation lands where the stale one was */
	do {
		ASSERT(ttak_arena_generation_begin(&env, &g2, 2));
		if (g2.base == stale.base)
			break;
		ASSERT(ttak_arena_generation_retire(&env, &g2));
		ASSERT(flush(&env, g2.base));
	} while (++tries < 64);
	if (g2.base != stale.base) {
		/*
		 * An allocator that never hands it back (ASan's quarantine;
		 * the block cache is off there): nothing to attack. The last
		 * g2 was retired and flushed in the loop.
		 */
		printf("address never reused in %d tries; ABA not exercised\n",
		       tries);
		ttak_arena_env_destroy(&env);
		CHECK_EQ(tt_live_blocks(), 0);
		return;
	}
	CHECK_NE(g2.serial, stale.serial);
	errno = 0;
	CHECK(!ttak_arena_generation_retire(&env, &stale));
	CHECK_ERRNO(ENOENT);
	/* the new generation is untouched: live, carvable, retired once */
	CHECK_NOT_NULL(ttak_mem_tree_find_node(&env.gc->tree, g2.base));
	CHECK_NOT_NULL(ttak_arena_generation_claim(&env, &g2, 0));
	ttak_arena_env_rotate(&env);
	CHECK_NOT_NULL(ttak_mem_tree_find_node(&env.gc->tree, g2.base));
	ASSERT(ttak_arena_generation_retire(&env, &g2));
	CHECK(flush(&env, stale.base));
	ttak_arena_env_get_stats(&env, &es);
	CHECK_EQ(es.retired, es.begun);
	CHECK_EQ(es.live, 0);
	ttak_arena_env_destroy(&env);
	CHECK_EQ(tt_live_blocks(), 0);
}

TEST(claim_refuses_what_does_not_fit_and_bad_handles)
{
	ttak_arena_env_t env, other;
	ttak_arena_generation_t g, bad;
	size_t stride, used;
	char *c, *first;
	int k;

	quiet();
	ASSERT(ttak_arena_env_init(&env, NULL));
	ASSERT(ttak_arena_env_init(&other, NULL));
	ASSERT(ttak_arena_generation_begin(&env, &g, 1));
	stride = ttak_arena_env_chunk_stride(&env, 0);

	/* bad handles: EINVAL, and nothing is carved */
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(NULL, &g, 0));
	CHECK_ERRNO(EINVAL);
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&env, NULL, 0));
	CHECK_ERRNO(EINVAL);
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&other, &g, 0));
	CHECK_ERRNO(EINVAL);
	bad = g;
	bad.base = NULL;
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&env, &bad, 0));
	CHECK_ERRNO(EINVAL);
	CHECK_EQ(g.used, 0);

	/* chunks that cannot fit: ENOSPC, and nothing is carved */
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&env, &g, SIZE_MAX));
	CHECK_ERRNO(ENOSPC);
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&env, &g, SIZE_MAX - 62));
	CHECK_ERRNO(ENOSPC);
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&env, &g, g.capacity + 1));
	CHECK_ERRNO(ENOSPC);
	CHECK_EQ(g.used, 0);

	/* a 1-byte chunk takes a whole cache line: the next one is aligned */
	first = ttak_arena_generation_claim(&env, &g, 1);
	ASSERT_PTR_EQ(first, g.base);
	c = ttak_arena_generation_claim(&env, &g, 0);
	ASSERT_PTR_EQ(c, first + ttak_arena_env_chunk_stride(&env, 1));
	/* exactly full, then nothing more, not even one byte */
	used = g.used;
	for (k = 0; used + stride <= g.capacity; k++, used += stride)
		CHECK_PTR_EQ(ttak_arena_generation_claim(&env, &g, 0),
			     (char *)g.base + used);
	/* the odd line left by the 1-byte chunk, exactly */
	if (used < g.capacity)
		CHECK_PTR_EQ(ttak_arena_generation_claim(&env, &g,
							 g.capacity - used),
			     (char *)g.base + used);
	CHECK_EQ(g.used, g.capacity);
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&env, &g, 1));
	CHECK_ERRNO(ENOSPC);
	CHECK_EQ(ttak_arena_generation_remaining(&g), 0);

	/* a handle scribbled past its capacity is refused, not wrapped */
	bad = g;
	bad.used = bad.capacity + stride;
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&env, &bad, 0));
	CHECK_ERRNO(ENOSPC);

	/* after the env is destroyed, and once it is a new env at the same place */
	ASSERT(ttak_arena_generation_retire(&env, &g));
	ttak_arena_env_destroy(&env);
	bad.used = 0;
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&env, &bad, 0));
	CHECK_ERRNO(EINVAL);
	ASSERT(ttak_arena_env_init(&env, NULL));
	errno = 0;
	CHECK_NULL(ttak_arena_generation_claim(&env, &bad, 0));
	CHECK_ERRNO(EINVAL);
	ttak_arena_env_destroy(&env);
	ttak_arena_env_destroy(&other);
	CHECK_EQ(tt_live_blocks(), 0);
}

/*
 * One cycle with the @nth allocation failing (and with @repeat every one
 * after it): whatever step fails, no block, node or count may be left
 * behind once the rest of the cycle and a flush have run.
 */
static void cycle_with_fault(unsigned long nth, bool repeat,
			     unsigned long *refused)
{
	struct ttak_mem_tree_stats st;
	struct ttak_arena_env_stats es;
	ttak_arena_generation_t g;
	ttak_arena_env_t env;
	size_t dirty = 0;
	bool begun;
	void *base;

	ASSERT(ttak_arena_env_init(&env, NULL));
	ttak_fault_fail_nth(nth, repeat);
	begun = ttak_arena_generation_begin(&env, &g, 1);
	if (!begun) {
		CHECK_ERRNO(ENOMEM);
		CHECK_NULL(g.base);
	} else {
		base = g.base;
		carve_all(&env, &g, 0x3c, &dirty);
		CHECK(ttak_arena_generation_retire(&env, &g));
		ttak_arena_env_rotate(&env);
	}
	*refused = ttak_fault_failed();
	ttak_fault_fail_nth(0, false);
	if (begun)
		CHECK(flush(&env, base));
	ttak_epoch_synchronize();
	ttak_arena_env_rotate(&env);
	ttak_mem_tree_get_stats(&env.gc->tree, &st);
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.pending_nodes, 0);
	CHECK_EQ(st.garbage_pressure, 0);
	ttak_arena_env_get_stats(&env, &es);
	CHECK_EQ(es.begun, begun ? 1 : 0);
	CHECK_EQ(es.failed, begun ? 0 : 1);
	CHECK_EQ(es.live, 0);
	CHECK_EQ(dirty, 0);

	/* and the next cycle works */
	ASSERT(ttak_arena_generation_begin(&env, &g, 2));
	base = g.base;
	CHECK_EQ(carve_all(&env, &g, 0x3c, &dirty), 32);
	CHECK_EQ(dirty, 0);
	ASSERT(ttak_arena_generation_retire(&env, &g));
	CHECK(flush(&env, base));
	ttak_arena_env_destroy(&env);
	ttak_epoch_synchronize();
	CHECK_EQ(tt_live_blocks(), 0);
}

TEST(allocation_failure_at_every_step_of_a_cycle_leaks_nothing)
{
	unsigned long nth, refused = 0;
	int repeat;

	quiet();
	for (repeat = 0; repeat < 2; repeat++) {
		for (nth = 1; nth < 64; nth++) {
			cycle_with_fault(nth, repeat, &refused);
			if (tt_failures()) {
				printf("failed at allocation %lu%s\n", nth,
				       repeat ? " and on" : "");
				return;
			}
			/* past the cycle's last allocation: every one was hit */
			if (!refused)
				break;
		}
		CHECK_LT(nth, 64);
		printf("%s: %lu allocation sites in a cycle\n",
		       repeat ? "fail from the nth on" : "fail the nth",
		       nth - 1);
	}
}

/* --- two threads in one env ----------------------------------------- */

struct racer {
	ttak_arena_env_t *env;
	unsigned long cycles;
	_Atomic unsigned long *dirty;
	_Atomic unsigned long *stale_ok;
	_Atomic bool *stop;
};

static _Atomic unsigned long race_dirty, race_stale_ok;
static _Atomic bool race_stop;

static void *race_cycles(void *arg)
{
	struct racer *r = arg;
	ttak_arena_generation_t g, prev = { 0 };
	size_t dirty = 0;
	unsigned long i;

	ttak_epoch_register_thread();
	for (i = 0; i < r->cycles; i++) {
		if (!CHECK(ttak_arena_generation_begin(r->env, &g,
						       (uint32_t)i)))
			break;
		carve_all(r->env, &g, (int)(i & 0xff) | 1, &dirty);
		/* the previous one's handle is stale: never a second retire */
		if (prev.env_id && ttak_arena_generation_retire(r->env, &prev))
			atomic_fetch_add(r->stale_ok, 1);
		prev = g;
		if (!CHECK(ttak_arena_generation_retire(r->env, &g)))
			break;
		ttak_arena_env_rotate(r->env);
	}
	atomic_fetch_add(r->dirty, dirty);
	ttak_epoch_deregister_thread();
	return NULL;
}

static void *race_rotator(void *arg)
{
	struct racer *r = arg;

	ttak_epoch_register_thread();
	while (!atomic_load(r->stop)) {
		ttak_arena_env_rotate(r->env);
		ttak_epoch_reclaim();
	}
	ttak_epoch_deregister_thread();
	return NULL;
}

TEST(begin_retire_rotate_from_two_threads)
{
	unsigned long cycles = tt_env_ms("TTAK_STRESS_MS", 300) * 20;
	struct ttak_mem_tree_stats st;
	struct ttak_arena_env_stats es;
	ttak_arena_env_t env;
	struct racer r;
	pthread_t t[3];
	int i;

	quiet();
	if (cycles > 20000)
		cycles = 20000;
	ASSERT(ttak_arena_env_init(&env, NULL));
	r = (struct racer){ &env, cycles, &race_dirty, &race_stale_ok,
			    &race_stop };
	ASSERT(!pthread_create(&t[0], NULL, race_cycles, &r));
	ASSERT(!pthread_create(&t[1], NULL, race_cycles, &r));
	ASSERT(!pthread_create(&t[2], NULL, race_rotator, &r));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	atomic_store(&race_stop, true);
	pthread_join(t[2], NULL);

	CHECK_EQ(atomic_load(&race_dirty), 0);
	CHECK_EQ(atomic_load(&race_stale_ok), 0);
	ttak_arena_env_get_stats(&env, &es);
	CHECK_EQ(es.begun, 2 * cycles);
	CHECK_EQ(es.retired, 2 * cycles);
	CHECK_EQ(es.failed, 0);
	for (i = 0; i < 100; i++) {
		ttak_arena_env_rotate(&env);
		ttak_epoch_synchronize();
		ttak_mem_tree_get_stats(&env.gc->tree, &st);
		if (!st.nodes && !st.pending_nodes)
			break;
	}
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.pending_nodes, 0);
	CHECK_EQ(st.freed_nodes, 2 * cycles);
	CHECK_EQ(st.garbage_pressure, 0);
	ttak_arena_env_destroy(&env);
	CHECK_EQ(tt_live_blocks(), 0);
}
