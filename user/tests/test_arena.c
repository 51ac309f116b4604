// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/mem/arena_helper.h> in user space only: what the library writes
 * to stderr. Config defaults and validation, generations from begin to
 * flush, deterministic carving and every bad input of issue 2 item 8 are
 * arena_* in the unit suite shared with the kernel
 * (kernel/tests/ttak_core_test.c, run here as test_core_suite).
 */
#include "ttak_test.h"

#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

static bool default_env(ttak_arena_env_t *env)
{
	return CHECK(ttak_arena_env_init(env, NULL));
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
