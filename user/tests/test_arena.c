// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/mem/arena_helper.h>: config defaults and validation, generations
 * from begin to flush, deterministic carving, and every bad input of
 * issue 2 item 8.
 */
#include "ttak_test.h"

#include <stdlib.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>
#include <ttak/timing/timing.h>

static size_t pressure(ttak_arena_env_t *env)
{
	return atomic_load(&env->gc->tree.garbage_pressure);
}

static struct ttak_mem_tree_stats tree_stats(ttak_arena_env_t *env)
{
	struct ttak_mem_tree_stats s;

	memset(&s, 0xff, sizeof(s));
	ttak_mem_tree_get_stats(&env->gc->tree, &s);
	return s;
}

static bool default_env(ttak_arena_env_t *env)
{
	return CHECK(ttak_arena_env_init(env, NULL));
}

TEST(config_defaults)
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

TEST(env_init_with_null_config_uses_defaults)
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

TEST(env_init_null_env_is_einval)
{
	errno = 0;
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
	errno = 0;
	if (!CHECK(!ttak_arena_env_init(&env, &c))) {
		fprintf(stderr, "  accepted gen=%zu chunk=%zu flags=%#x\n",
			gen, chunk, (unsigned int)flags);
		ttak_arena_env_destroy(&env);
		return;
	}
	CHECK_ERRNO(EINVAL);
	errno = 0;
	CHECK(!ttak_arena_generation_begin(&env, &g, 1));
	CHECK_ERRNO(EINVAL);
	CHECK_NULL(g.base);
	errno = 0;
	ttak_arena_env_rotate(&env);
	CHECK_ERRNO(EINVAL);
	ttak_arena_env_destroy(&env);
	CHECK_EQ(tt_live_blocks(), 0);
}

TEST(env_init_refuses_bad_configs)
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

TEST(env_init_accepts_edge_configs)
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
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(begin_allocates_and_registers_a_generation)
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
	ASSERT_EQ(atomic_load(&n->ref_count), 1);
	ASSERT_EQ(n->size, 4096);
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_EQ(tt_live_bytes(), 4096);
	/* the buffer is a strictly checked ttak block */
	ASSERT_PTR_EQ(ttak_mem_access(g.base, 0), g.base);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(begin_bad_input_is_einval)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;

	ASSERT(default_env(&env));
	errno = 0;
	ASSERT(!ttak_arena_generation_begin(NULL, &g, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT(!ttak_arena_generation_begin(&env, NULL, 0));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_arena_env_destroy(&env);
	/* a destroyed env begins nothing */
	errno = 0;
	ASSERT(!ttak_arena_generation_begin(&env, &g, 0));
	ASSERT_ERRNO(EINVAL);
}

TEST(begin_failure_is_counted_and_leaves_nothing)
{
	ttak_arena_env_config_t c;
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	struct ttak_arena_env_stats st;

	ttak_arena_env_config_init(&c);
	c.generation_bytes = (size_t)1 << 50;	/* no machine has that */
	ASSERT(ttak_arena_env_init(&env, &c));
	errno = 0;
	ASSERT(!ttak_arena_generation_begin(&env, &g, 3));
	ASSERT_ERRNO(ENOMEM);
	ASSERT_NULL(g.base);
	ASSERT_EQ(g.capacity, 0);
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.failed, 1);
	ASSERT_EQ(st.begun, 0);
	ASSERT_EQ(tree_stats(&env).nodes, 0);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(claim_carves_deterministic_aligned_chunks)
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
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT_ERRNO(ENOSPC);
	ASSERT_EQ(g.used, 4096);
	/* the carving stayed inside the block: its end canary is intact */
	ASSERT_PTR_EQ(ttak_mem_access(g.base, 0), g.base);
	ttak_arena_env_destroy(&env);
}

TEST(claim_sizes_are_rounded_to_cache_lines)
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

TEST(claim_without_alignment_packs_chunks)
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

TEST(claim_larger_than_generation_is_enospc)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 4097));
	ASSERT_ERRNO(ENOSPC);
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, SIZE_MAX));
	ASSERT_ERRNO(ENOSPC);
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, SIZE_MAX - 10));
	ASSERT_ERRNO(ENOSPC);
	ASSERT_EQ(g.used, 0);
	/* a partly used generation refuses what no longer fits */
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 4000));
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 128));
	ASSERT_ERRNO(ENOSPC);
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 64));
	ttak_arena_env_destroy(&env);
}

TEST(claim_bad_input_is_einval)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g, empty;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	memset(&empty, 0, sizeof(empty));
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(NULL, &g, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&env, NULL, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&env, &empty, 0));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(g.used, 0);
	ttak_arena_env_destroy(&env);
}

TEST(claim_from_retired_generation_is_einval)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT(ttak_arena_generation_retire(&env, &g));
	errno = 0;
	ASSERT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 0,
		  NULL, NULL), 0);
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(ttak_arena_generation_remaining(&g), 0);
	ttak_arena_generation_reset(&g);	/* no-op */
	ASSERT_NULL(g.base);
	ASSERT_EQ(g.used, 0);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
}

struct walk {
	void *base;
	size_t calls;
	size_t stop_after;
	size_t bad;
	void *ctx_seen;
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

TEST(for_each_carves_every_chunk)
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

TEST(for_each_stops_when_the_handler_says_so)
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

TEST(for_each_bad_input)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	struct walk w = { 0 };

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	w.base = g.base;
	errno = 0;
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 0, NULL, &w), 0);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_EQ(ttak_arena_generation_for_each(NULL, &g, 0, walker, &w), 0);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_EQ(ttak_arena_generation_for_each(&env, NULL, 0, walker, &w), 0);
	ASSERT_ERRNO(EINVAL);
	/* chunk larger than the generation: nothing carved */
	errno = 0;
	ASSERT_EQ(ttak_arena_generation_for_each(&env, &g, 8192, walker, &w),
		  0);
	ASSERT_ERRNO(ENOSPC);
	ASSERT_EQ(w.calls, 0);
	ASSERT_EQ(g.used, 0);
	ttak_arena_env_destroy(&env);
}

TEST(remaining_and_reset)
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

TEST(retire_releases_and_rotation_flushes)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	struct ttak_arena_env_stats st;
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
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&env.gc->tree, base));
	ASSERT_EQ(atomic_load(&ttak_mem_tree_find_node(&env.gc->tree,
						       base)->ref_count), 0);
	ASSERT_EQ(pressure(&env), 4096);
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.begun, 1);
	ASSERT_EQ(st.retired, 1);
	ASSERT_EQ(st.live, 0);
	ttak_arena_env_rotate(&env);
	ASSERT_NULL(ttak_mem_tree_find_node(&env.gc->tree, base));
	ASSERT_EQ(pressure(&env), 0);
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(tree_stats(&env).nodes, 0);
	ttak_arena_env_destroy(&env);
}

TEST(retire_twice_is_refused)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g, copy;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	copy = g;
	ASSERT(ttak_arena_generation_retire(&env, &g));
	/* the same struct: emptied, so nothing to retire */
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, &g));
	ASSERT_ERRNO(EINVAL);
	/* a stale copy: found, but no reference left to drop */
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, &copy));
	ASSERT_ERRNO(ENOENT);
	ASSERT_EQ(pressure(&env), 4096);	/* counted once */
	ttak_arena_env_rotate(&env);
	/* and after the flush it is not found at all */
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, &copy));
	ASSERT_ERRNO(ENOENT);
	ASSERT_EQ(pressure(&env), 0);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_arena_env_destroy(&env);
}

TEST(retire_of_never_tracked_generation_is_refused)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t forged, empty;
	struct ttak_arena_env_stats st;
	void *foreign = ttak_mem_alloc(4096, 10, 0);

	ASSERT_NOT_NULL(foreign);
	ASSERT(default_env(&env));
	memset(&empty, 0, sizeof(empty));
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, &empty));
	ASSERT_ERRNO(EINVAL);
	forged.base = foreign;
	forged.capacity = 4096;
	forged.used = 0;
	forged.epoch_id = 1;
	errno = 0;
	/* never begun in this env: refused before any lookup */
	ASSERT(!ttak_arena_generation_retire(&env, &forged));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(NULL, &forged));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT(!ttak_arena_generation_retire(&env, NULL));
	ASSERT_ERRNO(EINVAL);
	ttak_arena_env_rotate(&env);
	/* the foreign block is untouched and still the caller's */
	ASSERT_PTR_EQ(ttak_mem_access(foreign, 0), foreign);
	ASSERT_EQ(pressure(&env), 0);
	ttak_arena_env_get_stats(&env, &st);
	ASSERT_EQ(st.retired, 0);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_mem_free(foreign);
}

TEST(find_node_of_never_tracked_pointer_is_null)
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

TEST(rotate_bad_input_is_einval)
{
	ttak_arena_env_t env;

	errno = 0;
	ttak_arena_env_rotate(NULL);
	ASSERT_ERRNO(EINVAL);
	ASSERT(default_env(&env));
	ttak_arena_env_destroy(&env);
	errno = 0;
	ttak_arena_env_rotate(&env);
	ASSERT_ERRNO(EINVAL);
}

TEST(destroy_frees_live_and_retired_generations)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g[6];
	int i;

	ASSERT(default_env(&env));
	ttak_epoch_gc_manual_rotate(env.gc, true);
	for (i = 0; i < 6; i++)
		ASSERT(ttak_arena_generation_begin(&env, &g[i], (uint32_t)i));
	for (i = 0; i < 6; i += 2)
		ASSERT(ttak_arena_generation_retire(&env, &g[i]));
	ASSERT_EQ(tt_live_blocks(), 6);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TEST(lesson_flow_three_generations)
{
	ttak_arena_env_config_t c;
	ttak_arena_env_t env;
	uint32_t gen;

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
		ASSERT_EQ(pressure(&env), 4096);
		ttak_arena_env_rotate(&env);
		ASSERT_NULL(ttak_mem_tree_find_node(&env.gc->tree, base));
		ASSERT_EQ(pressure(&env), 0);
		ASSERT_EQ(tt_live_blocks(), 0);
	}
	ttak_arena_env_destroy(&env);
}

TEST(external_gc_is_shared_and_left_to_its_owner)
{
	ttak_arena_env_config_t c;
	ttak_arena_env_t e1, e2;
	ttak_arena_generation_t g1, g2, g3;
	ttak_epoch_gc_t gc;
	uint64_t epoch;

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
	ASSERT_EQ(atomic_load(&gc.tree.garbage_pressure), 8192);
	/* destroying an env rotates the external GC, frees nothing live */
	epoch = atomic_load(&gc.current_epoch);
	ttak_arena_env_destroy(&e1);
	ASSERT_EQ(atomic_load(&gc.current_epoch), epoch + 1);
	ASSERT_EQ(atomic_load(&gc.tree.garbage_pressure), 0);
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_arena_env_destroy(&e2);
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&gc.tree, g3.base));
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(many_live_generations_then_one_rotation)
{
	enum { N = 1000 };
	ttak_arena_generation_t *g = calloc(N, sizeof(*g));
	ttak_arena_env_t env;
	int i;

	ASSERT_NOT_NULL(g);
	ASSERT(default_env(&env));
	ttak_epoch_gc_manual_rotate(env.gc, true);
	for (i = 0; i < N; i++) {
		ASSERT(ttak_arena_generation_begin(&env, &g[i], (uint32_t)i));
		ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g[i], 0));
	}
	ASSERT_EQ(tree_stats(&env).nodes, N);
	for (i = 0; i < N; i++)
		ASSERT(ttak_arena_generation_retire(&env, &g[i]));
	ASSERT_EQ(pressure(&env), (size_t)N * 4096);
	ttak_arena_env_rotate(&env);
	ASSERT_EQ(pressure(&env), 0);
	ASSERT_EQ(tree_stats(&env).nodes, 0);
	ASSERT_EQ(tree_stats(&env).freed_nodes, N);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_arena_env_destroy(&env);
	free(g);
}

TEST(large_generation_with_small_chunks)
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
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_arena_env_destroy(&env);
}

TEST(generation_lifetime_is_applied_to_the_buffer)
{
	ttak_arena_env_config_t c;
	ttak_arena_env_t env;
	ttak_arena_generation_t g;

	ttak_arena_env_config_init(&c);
	c.lifetime_ticks = 1;	/* one millisecond */
	ASSERT(ttak_arena_env_init(&env, &c));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	tt_sleep_ms(5);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(g.base, ttak_get_tick_count()));
	ASSERT_ERRNO(ETIMEDOUT);
	/* expiry of the buffer does not stop the generation's own life */
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT(ttak_arena_generation_retire(&env, &g));
	ttak_arena_env_rotate(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_arena_env_destroy(&env);
}

TEST(destroy_inside_a_section_is_refused_and_retryable)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t g;
	const char *err;

	ASSERT(default_env(&env));
	ASSERT(ttak_arena_generation_begin(&env, &g, 0));
	ttak_epoch_enter();
	tt_capture_begin();
	errno = 0;
	ttak_arena_env_destroy(&env);
	CHECK_ERRNO(EDEADLK);
	err = tt_capture_end();
	ttak_epoch_exit();
	ASSERT_CONTAINS(err, "inside an epoch section");
	/* refused: the env and its generation are still there */
	ASSERT_NOT_NULL(env.gc);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&env.gc->tree, g.base));
	ASSERT_NOT_NULL(ttak_arena_generation_claim(&env, &g, 0));
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_arena_env_destroy(&env);
	ASSERT_NULL(env.gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(stats_count_begun_retired_live)
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
