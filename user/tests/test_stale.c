// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Stale handles: copies of generation structs, envs, trees and GCs used
 * after the object they name is gone, and addresses reused by a new
 * object (ABA).
 *
 * A generation is identified by what it is, not by its address: retiring
 * a stale copy of a generation must not retire whatever now lives at the
 * same base address. The library's per-thread block cache hands the same
 * buffer back when a generation of the same size begins right after a
 * flush, so the reuse is deterministic in the plain, clang and TSan
 * builds (under ASan blocks always go back to free(), and the test notes
 * when the address differs).
 *
 * Every object used after its teardown must answer with an error (EINVAL
 * or ENOENT) and change nothing; no test dereferences freed memory.
 */
#include "ttak_test.h"

#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

static bool stats_equal(const struct ttak_arena_env_stats *a,
			const struct ttak_arena_env_stats *b)
{
	return a->begun == b->begun && a->retired == b->retired &&
	       a->live == b->live && a->failed == b->failed;
}

static void print_stats(const char *what, const struct ttak_arena_env_stats *s)
{
	printf("  %s: begun %llu retired %llu live %llu failed %llu\n", what,
	       (unsigned long long)s->begun, (unsigned long long)s->retired,
	       (unsigned long long)s->live, (unsigned long long)s->failed);
}

/* Fill every chunk of @g with @byte and read it back. */
static bool carve_and_check(ttak_arena_env_t *env, ttak_arena_generation_t *g,
			    unsigned char byte)
{
	size_t n = 0, i;
	unsigned char *c;

	while ((c = ttak_arena_generation_claim(env, g, 0))) {
		memset(c, byte, env->config.chunk_bytes);
		n++;
	}
	if (!CHECK_ERRNO(ENOSPC) || !CHECK_GT(n, 0))
		return false;
	c = g->base;
	for (i = 0; i < g->used; i++) {
		if (c[i] != byte) {
			tt_fail(__FILE__, __LINE__, "byte %zu is %#x", i, c[i]);
			return false;
		}
	}
	return true;
}

static size_t gc_pressure(ttak_arena_env_t *env)
{
	struct ttak_mem_tree_stats st;

	ttak_mem_tree_get_stats(&env->gc->tree, &st);
	return st.garbage_pressure;
}

static size_t gc_nodes(ttak_arena_env_t *env)
{
	struct ttak_mem_tree_stats st;

	ttak_mem_tree_get_stats(&env->gc->tree, &st);
	return st.nodes;
}

/*
 * Defect 4: begin, copy, retire, flush, begin again (same size: the
 * buffer comes back at the same address), then retire the OLD copy. It
 * names a generation that is gone: false, ENOENT, nothing changed.
 */
TEST(retire_of_stale_copy_after_address_reuse_is_enoent)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g1, stale, g2;
	struct ttak_arena_env_stats before, after;
	ttak_mem_node_t *node;
	size_t pressure;
	bool reused;

	ASSERT(ttak_arena_env_init(&env, NULL));
	ASSERT(ttak_arena_generation_begin(&env, &g1, 1));
	ASSERT(carve_and_check(&env, &g1, 0x11));
	stale = g1;
	ASSERT(ttak_arena_generation_retire(&env, &g1));
	ttak_arena_env_rotate(&env);
	ASSERT_NULL(ttak_mem_tree_find_node(&env.gc->tree, stale.base));
	ASSERT_EQ(gc_pressure(&env), 0);

	ASSERT(ttak_arena_generation_begin(&env, &g2, 2));
	reused = g2.base == stale.base;
	printf("  new generation %s the old base address\n",
	       reused ? "reuses" : "does not reuse (sanitizer allocator?)");
#if !defined(__SANITIZE_ADDRESS__)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer)
	/* the per-thread block cache makes this deterministic */
	ASSERT(reused);
#endif
#else
	ASSERT(reused);
#endif
#endif
	ttak_arena_env_get_stats(&env, &before);
	pressure = gc_pressure(&env);
	print_stats("before stale retire", &before);

	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, &stale));
	ASSERT_ERRNO(ENOENT);
	ttak_arena_env_get_stats(&env, &after);
	print_stats("after stale retire ", &after);
	ASSERT(stats_equal(&before, &after));
	ASSERT_EQ(after.live, 1);
	ASSERT_EQ(gc_pressure(&env), pressure);
	ASSERT_EQ(pressure, 0);

	/* the live generation is untouched: tracked, referenced, usable */
	node = ttak_mem_tree_find_node(&env.gc->tree, g2.base);
	ASSERT_NOT_NULL(node);
	ASSERT_EQ(atomic_load(&node->ref_count), 1);
	ttak_arena_env_rotate(&env);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&env.gc->tree, g2.base), node);
	ASSERT(carve_and_check(&env, &g2, 0x22));
	ttak_arena_generation_reset(&g2);
	ASSERT(carve_and_check(&env, &g2, 0x33));

	ASSERT(ttak_arena_generation_retire(&env, &g2));
	ttak_arena_env_get_stats(&env, &after);
	ASSERT_EQ(after.begun, 2);
	ASSERT_EQ(after.retired, 2);
	ASSERT_EQ(after.live, 0);
	ttak_arena_env_rotate(&env);
	ASSERT_EQ(gc_nodes(&env), 0);
	ASSERT_EQ(gc_pressure(&env), 0);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/* The same over many rounds, with the stale copy retired at random. */
TEST(stale_copies_never_retire_a_newer_generation)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t live, stale[4];
	struct ttak_arena_env_stats before, after;
	unsigned int round, reuse = 0, i;
	bool have_stale[4] = { false };

	ASSERT(ttak_arena_env_init(&env, NULL));
	for (round = 0; round < 400; round++) {
		ASSERT(ttak_arena_generation_begin(&env, &live, round));
		for (i = 0; i < 4; i++)
			if (have_stale[i] && stale[i].base == live.base)
				reuse++;
		ttak_arena_env_get_stats(&env, &before);
		for (i = 0; i < 4; i++) {
			if (!have_stale[i])
				continue;
			errno = 0;
			ASSERT(!ttak_arena_generation_retire(&env, &stale[i]));
			ASSERT_ERRNO(ENOENT);
		}
		ttak_arena_env_get_stats(&env, &after);
		ASSERT(stats_equal(&before, &after));
		ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &live, 0));
		i = round % 4;
		stale[i] = live;
		have_stale[i] = true;
		ASSERT(ttak_arena_generation_retire(&env, &live));
		if (round % 3)
			ttak_arena_env_rotate(&env);
	}
	printf("  400 rounds, a stale copy pointed at the live generation %u times\n",
	       reuse);
	ttak_arena_env_get_stats(&env, &after);
	ASSERT_EQ(after.begun, 400);
	ASSERT_EQ(after.retired, 400);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/* Retired but not flushed yet: the copy still names a retired node. */
TEST(retire_of_stale_copy_before_rotation_is_enoent)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g, copy;
	struct ttak_arena_env_stats before, after;
	size_t pressure;

	ASSERT(ttak_arena_env_init(&env, NULL));
	ASSERT(ttak_arena_generation_begin(&env, &g, 7));
	copy = g;
	ASSERT(ttak_arena_generation_retire(&env, &g));
	ASSERT_NULL(g.base);
	pressure = gc_pressure(&env);
	ASSERT_EQ(pressure, env.config.generation_bytes);
	ttak_arena_env_get_stats(&env, &before);
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, &copy));
	ASSERT_ERRNO(ENOENT);
	ttak_arena_env_get_stats(&env, &after);
	ASSERT(stats_equal(&before, &after));
	ASSERT_EQ(gc_pressure(&env), pressure);
	ttak_arena_env_rotate(&env);
	ASSERT_EQ(gc_pressure(&env), 0);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/* Defect 5: two copies of one live generation retire it once. */
TEST(double_retire_through_two_copies_retires_once)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g, a, b;
	struct ttak_arena_env_stats st;

	ASSERT(ttak_arena_env_init(&env, NULL));
	ASSERT(ttak_arena_generation_begin(&env, &g, 3));
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	a = g;
	b = g;
	ASSERT(ttak_arena_generation_retire(&env, &a));
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, &b));
	ASSERT_ERRNO(ENOENT);
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, &g));
	ASSERT_ERRNO(ENOENT);
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.begun, 1);
	ASSERT_EQ(st.retired, 1);
	ASSERT_EQ(st.live, 0);
	ASSERT_EQ(gc_pressure(&env), env.config.generation_bytes);
	ttak_arena_env_rotate(&env);
	ASSERT_EQ(gc_pressure(&env), 0);
	ASSERT_EQ(gc_nodes(&env), 0);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
}

static bool count_chunk(void *chunk, size_t bytes, size_t index, void *ctx)
{
	(void)chunk;
	(void)bytes;
	(void)index;
	++*(unsigned long *)ctx;
	return true;
}

/* Everything on a destroyed env is EINVAL and calls nothing back. */
static void check_env_is_dead(ttak_arena_env_t *env,
			      ttak_arena_generation_t *g)
{
	ttak_arena_generation_t fresh;
	unsigned long calls = 0;

	memset(&fresh, 0, sizeof(fresh));

	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(env, g, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(env, g, 64));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_EQ(ttak_arena_generation_for_each(env, g, 0, count_chunk,
						 &calls), 0);
	ASSERT_EQ(calls, 0);
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(env, g));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT(!ttak_arena_generation_begin(env, &fresh, 9));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_arena_env_rotate(env);
	ASSERT_ERRNO(EINVAL);
	/* a second destroy is harmless */
	ttak_arena_env_destroy(env);
}

/* Defect 5 (use after destroy) with a private GC. */
TEST(env_use_after_destroy_is_einval)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t live, retired;
	size_t before;

	ASSERT(ttak_arena_env_init(&env, NULL));
	ASSERT(ttak_arena_generation_begin(&env, &live, 1));
	ASSERT(ttak_arena_generation_begin(&env, &retired, 2));
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &live, 0));
	ASSERT(ttak_arena_generation_retire(&env, &retired));
	before = live.used;
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
	/* live.base now names freed memory: nothing may carve it */
	check_env_is_dead(&env, &live);
	if (tt_failures())
		return;
	ASSERT_EQ(live.used, before);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/* The same with an external GC, which outlives the env. */
TEST(env_use_after_destroy_with_external_gc_is_einval)
{
	ttak_arena_env_config_t cfg;
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	ttak_epoch_gc_t gc;

	ttak_epoch_gc_init(&gc);
	ttak_arena_env_config_init(&cfg);
	cfg.gc = &gc;
	ASSERT(ttak_arena_env_init(&env, &cfg));
	ASSERT(ttak_arena_generation_begin(&env, &g, 1));
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ttak_arena_env_destroy(&env);
	check_env_is_dead(&env, &g);
	if (tt_failures())
		return;
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/* A generation of env A handed to env B is refused and B is unchanged. */
TEST(generation_of_another_env_is_refused)
{
	ttak_arena_env_t a, b;
	ttak_arena_generation_t g;
	struct ttak_arena_env_stats sa, sb, sa2, sb2;
	unsigned long calls = 0;
	size_t used;

	ASSERT(ttak_arena_env_init(&a, NULL));
	ASSERT(ttak_arena_env_init(&b, NULL));
	ASSERT(ttak_arena_generation_begin(&a, &g, 1));
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&a, &g, 0));
	used = g.used;
	ttak_arena_env_get_stats(&a, &sa);
	ttak_arena_env_get_stats(&b, &sb);

	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&b, &g, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_EQ(ttak_arena_generation_for_each(&b, &g, 0, count_chunk,
						 &calls), 0);
	ASSERT_EQ(calls, 0);
	ASSERT_EQ(g.used, used);
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&b, &g));
	ASSERT(errno == EINVAL || errno == ENOENT);
	ASSERT_NOT_NULL(g.base);
	ttak_arena_env_get_stats(&a, &sa2);
	ttak_arena_env_get_stats(&b, &sb2);
	ASSERT(stats_equal(&sa, &sa2));
	ASSERT(stats_equal(&sb, &sb2));

	/* still A's, and fine there */
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&a, &g, 0));
	ASSERT(ttak_arena_generation_retire(&a, &g));
	ttak_arena_env_destroy(&a);
	ttak_arena_env_destroy(&b);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/* A destroyed and re-initialised at the same address: old gens are dead. */
TEST(generation_of_a_reinitialised_env_is_refused)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t old, fresh;
	struct ttak_arena_env_stats st;
	unsigned long calls = 0;

	ASSERT(ttak_arena_env_init(&env, NULL));
	ASSERT(ttak_arena_generation_begin(&env, &old, 1));
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &old, 0));
	ttak_arena_env_destroy(&env);
	ASSERT(ttak_arena_env_init(&env, NULL));

	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&env, &old, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &old, 0, count_chunk,
						 &calls), 0);
	ASSERT_EQ(calls, 0);
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, &old));
	ASSERT(errno == EINVAL || errno == ENOENT);
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.begun, 0);
	ASSERT_EQ(st.retired, 0);

	/* the new env works */
	ASSERT(ttak_arena_generation_begin(&env, &fresh, 2));
	ASSERT(carve_and_check(&env, &fresh, 0x5a));
	ASSERT(ttak_arena_generation_retire(&env, &fresh));
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(mem_tree_use_after_destroy_is_einval)
{
	ttak_mem_tree_t tree;
	void *p = ttak_mem_alloc(64, __TTAK_UNSAFE_MEM_FOREVER__, 0);
	void *q = ttak_mem_alloc(64, __TTAK_UNSAFE_MEM_FOREVER__, 0);

	ASSERT(p && q);
	ttak_mem_tree_init(&tree);
	ASSERT_NOT_NULL(ttak_mem_tree_add(&tree, p, 64, 0, false));
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 1);		/* p went with the tree */

	errno = 0;
	ASSERT_NULL(ttak_mem_tree_add(&tree, q, 64, 0, false));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, q));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_tree_perform_cleanup(&tree, 0);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_SHUTDOWN);
	ASSERT_ERRNO(EINVAL);
	ttak_mem_tree_destroy(&tree);		/* twice: ignored */
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_PTR_EQ(ttak_mem_access(q, 0), q);
	ttak_mem_free(q);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(epoch_gc_use_after_destroy_is_einval)
{
	ttak_epoch_gc_t gc;
	void *p = ttak_mem_alloc(64, __TTAK_UNSAFE_MEM_FOREVER__, 0);
	void *q = ttak_mem_alloc(64, __TTAK_UNSAFE_MEM_FOREVER__, 0);

	ASSERT(p && q);
	ttak_epoch_gc_init(&gc);
	ASSERT_NOT_NULL(ttak_epoch_gc_register_node(&gc, p, 64));
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 1);

	tt_capture_begin();
	errno = 0;
	ASSERT_NULL(ttak_epoch_gc_register_node(&gc, q, 64));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_epoch_gc_register(&gc, q, 64);
	ASSERT_ERRNO(EINVAL);
	(void)tt_capture_end();
	errno = 0;
	ttak_epoch_gc_rotate(&gc);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, q));
	ASSERT_ERRNO(EINVAL);
	ttak_epoch_gc_destroy(&gc);		/* twice: ignored */
	/* q was refused every time: still the caller's */
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_PTR_EQ(ttak_mem_access(q, 0), q);
	ttak_mem_free(q);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/* The tree freed the block; the owner's late free is reported, no crash. */
TEST(free_of_a_block_the_tree_already_freed_is_refused)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	const char *err;
	void *p = ttak_mem_alloc(96, __TTAK_UNSAFE_MEM_FOREVER__, 0);
	void *q = ttak_mem_alloc(96, __TTAK_UNSAFE_MEM_FOREVER__, 0);

	ASSERT(p && q);
	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_manual_cleanup(&tree, true);
	n = ttak_mem_tree_add(&tree, p, 96, 0, false);
	ASSERT_NOT_NULL(n);
	ttak_mem_node_release(n);
	ttak_mem_tree_perform_cleanup(&tree, 0);
	ttak_epoch_synchronize();
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));

	tt_capture_begin();
	errno = 0;
	ttak_mem_free(p);
	err = tt_capture_end();
	ASSERT_ERRNO(EFAULT);
	ASSERT_CONTAINS(err, "not a live ttak block");
	errno = 0;
	ASSERT_NULL(ttak_mem_access(p, 0));
	ASSERT_ERRNO(EFAULT);

	/* and twice by hand: the second free is refused too */
	ttak_mem_free(q);
	tt_capture_begin();
	errno = 0;
	ttak_mem_free(q);
	err = tt_capture_end();
	ASSERT_ERRNO(EFAULT);
	ASSERT_EQ(tt_count(err, "not a live ttak block"), 1);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/*
 * After remove or cleanup the old node is gone from the index; a new
 * block at the same address gets a node of its own (ref 1, its own size).
 * The old node pointer is never dereferenced.
 */
TEST(reused_address_gets_a_fresh_node)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n, *n2;
	unsigned int round, reused = 0;
	struct ttak_mem_tree_stats st;

	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_manual_cleanup(&tree, true);
	for (round = 0; round < 64; round++) {
		size_t size = 2048;
		void *p = ttak_mem_alloc(size, __TTAK_UNSAFE_MEM_FOREVER__, 0);
		void *q;

		ASSERT_NOT_NULL(p);
		n = ttak_mem_tree_add(&tree, p, 100 + round, 0, false);
		ASSERT_NOT_NULL(n);
		if (round & 1) {
			ttak_mem_tree_remove(&tree, n);
			ttak_mem_free(p);	/* remove left it to us */
		} else {
			ttak_mem_node_release(n);
			ttak_mem_tree_perform_cleanup(&tree, 0);
		}
		ttak_epoch_synchronize();
		ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));
		errno = 0;
		ASSERT_NULL(ttak_mem_access(p, 0));
		ASSERT_ERRNO(EFAULT);

		q = ttak_mem_alloc(size, __TTAK_UNSAFE_MEM_FOREVER__, 0);
		ASSERT_NOT_NULL(q);
		reused += q == p;
		n2 = ttak_mem_tree_add(&tree, q, 5000 + round, 0, false);
		ASSERT_NOT_NULL(n2);
		ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, q), n2);
		ASSERT_EQ(atomic_load(&n2->ref_count), 1);
		ASSERT_EQ(n2->size, 5000 + round);
		ASSERT_PTR_EQ(n2->ptr, q);
		ttak_mem_tree_get_stats(&tree, &st);
		ASSERT_EQ(st.nodes, 1);
		ASSERT_EQ(st.bytes, 5000 + round);
		ASSERT_EQ(st.garbage_pressure, 0);
		ttak_mem_node_release(n2);
		ttak_mem_tree_perform_cleanup(&tree, 0);
		ttak_epoch_synchronize();
		ASSERT_EQ(tt_live_blocks(), 0);
	}
	printf("  64 rounds, the new block reused the old address %u times\n",
	       reused);
	ttak_mem_tree_get_stats(&tree, &st);
	ASSERT_EQ(st.freed_nodes, 128);
	ttak_mem_tree_destroy(&tree);
}
