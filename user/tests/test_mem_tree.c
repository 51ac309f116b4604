// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/mem_tree/mem_tree.h>: tracking, references, garbage pressure,
 * cleanup by expiry, automatic and manual cleanup, hints, statistics.
 */
#include "ttak_test.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define HOUR_NS	(3600ULL * 1000000000ULL)

static struct ttak_mem_tree_stats stats_of(ttak_mem_tree_t *tree)
{
	struct ttak_mem_tree_stats s;

	memset(&s, 0xff, sizeof(s));
	ttak_mem_tree_get_stats(tree, &s);
	return s;
}

/* A tree whose automatic cleanup never fires by itself. */
static void quiet_tree(ttak_mem_tree_t *tree)
{
	ttak_mem_tree_init(tree);
	ttak_mem_tree_set_cleaning_intervals(tree, HOUR_NS, HOUR_NS);
}

static size_t pressure(ttak_mem_tree_t *tree)
{
	return atomic_load(&tree->garbage_pressure);
}

TEST(init_gives_empty_tree_with_defaults)
{
	ttak_mem_tree_t tree;
	struct ttak_mem_tree_stats s;

	memset(&tree, 0xa5, sizeof(tree));
	ttak_mem_tree_init(&tree);
	s = stats_of(&tree);
	ASSERT_EQ(s.nodes, 0);
	ASSERT_EQ(s.bytes, 0);
	ASSERT_EQ(s.garbage_nodes, 0);
	ASSERT_EQ(s.pending_nodes, 0);
	ASSERT_EQ(s.freed_nodes, 0);
	ASSERT_EQ(pressure(&tree), 0);
	ASSERT_EQ(atomic_load(&tree.pressure_threshold), 1u << 20);
	ASSERT_EQ(s.pressure_threshold, 1u << 20);
	ttak_mem_tree_destroy(&tree);
}

TEST(init_and_destroy_ignore_null_and_uninitialised)
{
	ttak_mem_tree_t tree;

	ttak_mem_tree_init(NULL);
	ttak_mem_tree_destroy(NULL);
	memset(&tree, 0, sizeof(tree));
	ttak_mem_tree_destroy(&tree);	/* never initialised */
	ttak_mem_tree_init(&tree);
	ttak_mem_tree_destroy(&tree);
	ttak_mem_tree_destroy(&tree);	/* twice */
	errno = 0;
	ASSERT_NULL(ttak_mem_tree_add(&tree, &tree, 8, 0, false));
	ASSERT_ERRNO(EINVAL);
}

TEST(add_creates_node_with_one_reference)
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
	ASSERT_EQ(atomic_load(&n->ref_count), 1);
	ASSERT(n->is_root);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	ASSERT_EQ(stats_of(&tree).nodes, 1);
	ASSERT_EQ(stats_of(&tree).bytes, 100);
	ASSERT_EQ(pressure(&tree), 0);
	ttak_mem_tree_destroy(&tree);
	/* destroy frees the tracked block */
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(add_bad_input_is_refused)
{
	ttak_mem_tree_t tree;
	char x;

	quiet_tree(&tree);
	errno = 0;
	ASSERT_NULL(ttak_mem_tree_add(NULL, &x, 1, 0, false));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_tree_add(&tree, NULL, 1, 0, false));
	ASSERT_ERRNO(EINVAL);
	ASSERT_EQ(stats_of(&tree).nodes, 0);
	ttak_mem_tree_destroy(&tree);
}

TEST(add_twice_is_eexist)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(8, 10, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 8, 0, false);
	ASSERT_NOT_NULL(n);
	errno = 0;
	ASSERT_NULL(ttak_mem_tree_add(&tree, p, 16, 0, false));
	ASSERT_ERRNO(EEXIST);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	ASSERT_EQ(n->size, 8);
	ASSERT_EQ(stats_of(&tree).nodes, 1);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(find_never_tracked_pointer_is_null)
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
	errno = 0;
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, NULL));
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ASSERT_NULL(ttak_mem_tree_find_node(NULL, p));
	ASSERT_ERRNO(EINVAL);
	ttak_mem_tree_destroy(&tree);
}

TEST(remove_drops_bookkeeping_not_memory)
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
	ASSERT_EQ(stats_of(&tree).nodes, 0);
	ttak_epoch_synchronize();
	ASSERT_EQ(stats_of(&tree).pending_nodes, 0);
	ASSERT_EQ(stats_of(&tree).freed_nodes, 1);
	/* the block is still the caller's */
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ASSERT_EQ(tt_live_blocks(), 1);
	memset(p, 1, 64);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(remove_of_garbage_node_takes_back_pressure)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	char *p = ttak_mem_alloc(300, 10, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 300, 0, false);
	ASSERT_NOT_NULL(n);
	ttak_mem_node_release(n);
	ASSERT_EQ(pressure(&tree), 300);
	ttak_mem_tree_remove(&tree, n);
	ASSERT_EQ(pressure(&tree), 0);
	ttak_epoch_synchronize();
	ASSERT_EQ(pressure(&tree), 0);
	ASSERT_EQ(stats_of(&tree).garbage_nodes, 0);
	ASSERT_PTR_EQ(ttak_mem_access(p, 0), p);
	ttak_mem_free(p);
	ttak_mem_tree_destroy(&tree);
}

TEST(remove_bad_input_is_refused)
{
	ttak_mem_tree_t a, b;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(8, 10, 0);
	const char *err;

	ASSERT_NOT_NULL(p);
	quiet_tree(&a);
	quiet_tree(&b);
	n = ttak_mem_tree_add(&a, p, 8, 0, false);
	ASSERT_NOT_NULL(n);
	errno = 0;
	ttak_mem_tree_remove(NULL, n);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_tree_remove(&a, NULL);
	ASSERT_ERRNO(EINVAL);
	tt_capture_begin();
	errno = 0;
	ttak_mem_tree_remove(&b, n);	/* a node of another tree */
	CHECK_ERRNO(EINVAL);
	err = tt_capture_end();
	ASSERT_CONTAINS(err, "not in this tree");
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&a, p), n);
	/* inside a section, the removed node outlives the second call */
	ttak_epoch_enter();
	ttak_mem_tree_remove(&a, n);
	setenv("TTAK_QUIET", "1", 1);
	errno = 0;
	ttak_mem_tree_remove(&a, n);
	CHECK_ERRNO(EINVAL);
	ttak_epoch_exit();
	ttak_epoch_reclaim();
	ASSERT_EQ(stats_of(&a).pending_nodes, 0);
	ttak_mem_tree_destroy(&a);
	ttak_mem_tree_destroy(&b);
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(acquire_release_track_references_and_pressure)
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
	ASSERT_EQ(atomic_load(&n->ref_count), 3);
	ttak_mem_node_release(n);
	ttak_mem_node_release(n);
	ASSERT_EQ(atomic_load(&n->ref_count), 1);
	ASSERT_EQ(pressure(&tree), 0);
	ttak_mem_node_release(n);	/* last reference */
	ASSERT_EQ(atomic_load(&n->ref_count), 0);
	ASSERT_EQ(pressure(&tree), 500);
	ASSERT_EQ(stats_of(&tree).garbage_nodes, 1);
	/* still tracked until a cleanup */
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	/* resurrected: no longer garbage */
	ttak_mem_node_acquire(n);
	ASSERT_EQ(pressure(&tree), 0);
	ASSERT_EQ(stats_of(&tree).garbage_nodes, 0);
	ttak_mem_tree_perform_cleanup(&tree, UINT64_MAX - 1);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(release_at_zero_is_refused)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p = ttak_mem_alloc(64, 10, 0);
	const char *err;

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 64, 0, false);
	ASSERT_NOT_NULL(n);
	ttak_mem_node_release(n);
	ASSERT_EQ(pressure(&tree), 64);
	tt_capture_begin();
	errno = 0;
	ttak_mem_node_release(n);
	CHECK_ERRNO(EINVAL);
	err = tt_capture_end();
	ASSERT_CONTAINS(err, "no reference left");
	ASSERT_EQ(atomic_load(&n->ref_count), 0);
	ASSERT_EQ(pressure(&tree), 64);		/* not counted twice */
	ASSERT_EQ(stats_of(&tree).garbage_nodes, 1);
	errno = 0;
	ttak_mem_node_release(NULL);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_node_acquire(NULL);
	ASSERT_ERRNO(EINVAL);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(cleanup_frees_expired_unreferenced_blocks)
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
	ASSERT_EQ(pressure(&tree), 90);

	ttak_mem_tree_perform_cleanup(&tree, 99);
	/* only the node expiring at 0 qualifies at tick 99 */
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, d));
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, c), old);
	ASSERT_EQ(pressure(&tree), 50);
	ASSERT_EQ(tt_live_blocks(), 3);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(d, 0));
	ASSERT_ERRNO(EFAULT);

	ttak_mem_tree_perform_cleanup(&tree, 100);	/* expiry is inclusive */
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, c));
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, b), young);
	ASSERT_EQ(pressure(&tree), 20);
	ASSERT_EQ(tt_live_blocks(), 2);

	ttak_mem_tree_perform_cleanup(&tree, 10000);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, b));
	/* expired but referenced: kept */
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, a), live);
	ASSERT_EQ(pressure(&tree), 0);
	s = stats_of(&tree);
	ASSERT_EQ(s.nodes, 1);
	ASSERT_EQ(s.bytes, 10);
	ASSERT_EQ(s.garbage_nodes, 0);
	ASSERT_EQ(s.pending_nodes, 0);
	ASSERT_EQ(s.freed_nodes, 3);
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(forever_is_never_cleaned)
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
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_EQ(pressure(&tree), 10);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(expiry_zero_is_cleaned_at_tick_zero)
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
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}

TEST(cleanup_bad_input_is_einval)
{
	ttak_mem_tree_t tree;

	memset(&tree, 0, sizeof(tree));
	errno = 0;
	ttak_mem_tree_perform_cleanup(NULL, 0);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_tree_perform_cleanup(&tree, 0);	/* uninitialised */
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_tree_hint(NULL, TTAK_MEM_TREE_HINT_IDLE);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_tree_set_pressure_threshold(NULL, 1);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_tree_set_cleaning_intervals(NULL, 1, 2);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_tree_report_pressure(NULL, 1);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_tree_set_manual_cleanup(NULL, true);
	ASSERT_ERRNO(EINVAL);
}

TEST(pressure_is_exact_and_returns_to_zero)
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
		ASSERT_EQ(pressure(&tree), sum);
	}
	ASSERT_EQ(stats_of(&tree).garbage_nodes, 10);
	ttak_mem_tree_perform_cleanup(&tree, 1);
	ASSERT_EQ(pressure(&tree), 0);
	ASSERT_EQ(stats_of(&tree).nodes, 0);
	ASSERT_EQ(stats_of(&tree).bytes, 0);
	ASSERT_EQ(stats_of(&tree).freed_nodes, 10);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}

TEST(report_pressure_counts_until_next_cleanup)
{
	ttak_mem_tree_t tree;

	quiet_tree(&tree);
	ttak_mem_tree_report_pressure(&tree, 1000);
	ttak_mem_tree_report_pressure(&tree, 24);
	ASSERT_EQ(pressure(&tree), 1024);
	ASSERT_EQ(stats_of(&tree).garbage_pressure, 1024);
	ttak_mem_tree_perform_cleanup(&tree, 1);
	ASSERT_EQ(pressure(&tree), 0);
	ttak_mem_tree_destroy(&tree);
}

TEST(threshold_is_stored)
{
	ttak_mem_tree_t tree;

	quiet_tree(&tree);
	ttak_mem_tree_set_pressure_threshold(&tree, 12345);
	ASSERT_EQ(atomic_load(&tree.pressure_threshold), 12345);
	ASSERT_EQ(stats_of(&tree).pressure_threshold, 12345);
	ttak_mem_tree_set_pressure_threshold(&tree, 0);
	ASSERT_EQ(atomic_load(&tree.pressure_threshold), 0);
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

TEST(add_cleans_automatically_over_threshold)
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
	ASSERT_EQ(pressure(&tree), 1200);
	/* the next add finds pressure over threshold and cleans */
	keep = ttak_mem_alloc(8, 1000, 0);
	ASSERT_NOT_NULL(ttak_mem_tree_add(&tree, keep, 8, 0, false));
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g1));
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g2));
	ASSERT_EQ(pressure(&tree), 0);
	ASSERT_EQ(tt_live_blocks(), 1);
	g3 = add_garbage(&tree, 10);
	ASSERT_NOT_NULL(g3);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(manual_cleanup_stops_automatic_cleanup)
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
	ASSERT_EQ(pressure(&tree), 210);
	/* explicit cleanup still works */
	ttak_mem_tree_perform_cleanup(&tree, 5);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g1));
	ASSERT_EQ(pressure(&tree), 0);
	/* and switching back re-enables the automatic one */
	ttak_mem_tree_set_manual_cleanup(&tree, false);
	g1 = add_garbage(&tree, 100);
	ASSERT_NOT_NULL(g1);
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_FREE);
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, g1));
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(cleaning_intervals_gate_automatic_cleanup)
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
	errno = 0;
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
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}

TEST(hints_pressure_idle_shutdown)
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
	ASSERT_EQ(pressure(&tree), 0);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}

TEST(hint_values_match_api)
{
	ASSERT_EQ(TTAK_MEM_TREE_HINT_ALLOC, 1 << 0);
	ASSERT_EQ(TTAK_MEM_TREE_HINT_FREE, 1 << 1);
	ASSERT_EQ(TTAK_MEM_TREE_HINT_PRESSURE, 1 << 2);
	ASSERT_EQ(TTAK_MEM_TREE_HINT_IDLE, 1 << 3);
	ASSERT_EQ(TTAK_MEM_TREE_HINT_SHUTDOWN, 1 << 4);
}

TEST(destroy_frees_live_and_garbage_blocks)
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
	ASSERT_EQ(tt_live_blocks(), 50);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TEST(many_nodes_are_all_found)
{
	enum { N = 20000 };
	ttak_mem_tree_t tree;
	ttak_mem_node_t **nodes = calloc(N, sizeof(*nodes));
	void **ptrs = calloc(N, sizeof(*ptrs));
	size_t i;

	ASSERT(nodes && ptrs);
	quiet_tree(&tree);
	for (i = 0; i < N; i++) {
		ptrs[i] = ttak_mem_alloc(8, 1000, 0);
		ASSERT_NOT_NULL(ptrs[i]);
		nodes[i] = ttak_mem_tree_add(&tree, ptrs[i], 8, 0, false);
		ASSERT_NOT_NULL(nodes[i]);
	}
	ASSERT_EQ(stats_of(&tree).nodes, N);
	for (i = 0; i < N; i++)
		ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, ptrs[i]),
			      nodes[i]);
	/* release every other one and clean: exactly those go */
	for (i = 0; i < N; i += 2)
		ttak_mem_node_release(nodes[i]);
	ASSERT_EQ(pressure(&tree), (size_t)N / 2 * 8);
	ttak_mem_tree_perform_cleanup(&tree, 1);
	for (i = 0; i < N; i++) {
		if (i % 2)
			ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, ptrs[i]),
				      nodes[i]);
		else
			ASSERT_NULL(ttak_mem_tree_find_node(&tree, ptrs[i]));
	}
	ASSERT_EQ(stats_of(&tree).nodes, N / 2);
	ASSERT_EQ(tt_live_blocks(), N / 2);
	ASSERT_EQ(pressure(&tree), 0);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
	free(nodes);
	free(ptrs);
}

/* A reader inside a section keeps cleaned-up blocks alive. */
struct holder {
	sem_t inside, leave;
	void *block;
	unsigned char seen;
};

static void *hold_section(void *arg)
{
	struct holder *h = arg;

	ttak_epoch_enter();
	h->seen = *(volatile unsigned char *)h->block;
	sem_post(&h->inside);
	sem_wait(&h->leave);
	/* still readable: the cleanup must not have freed it */
	CHECK_EQ(*(volatile unsigned char *)h->block, h->seen);
	ttak_epoch_exit();
	return NULL;
}

TEST(cleanup_defers_free_while_a_reader_is_inside)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	struct holder h;
	pthread_t t;
	unsigned char *p = ttak_mem_alloc(128, 1000, 0);

	ASSERT_NOT_NULL(p);
	memset(p, 0x6b, 128);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 128, 0, false);
	ASSERT_NOT_NULL(n);
	sem_init(&h.inside, 0, 0);
	sem_init(&h.leave, 0, 0);
	h.block = p;
	ASSERT_EQ(pthread_create(&t, NULL, hold_section, &h), 0);
	sem_wait(&h.inside);

	ttak_mem_node_release(n);
	ttak_mem_tree_perform_cleanup(&tree, 1);
	/* out of the index at once, but not freed */
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));
	ASSERT_EQ(stats_of(&tree).pending_nodes, 1);
	ASSERT_EQ(stats_of(&tree).pending_bytes, 128);
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_EQ(pressure(&tree), 128);	/* freed bytes leave it */
	ttak_epoch_reclaim();
	ASSERT_EQ(tt_live_blocks(), 1);

	sem_post(&h.leave);
	pthread_join(t, NULL);
	ttak_epoch_reclaim();
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(stats_of(&tree).pending_nodes, 0);
	ASSERT_EQ(stats_of(&tree).freed_nodes, 1);
	ASSERT_EQ(pressure(&tree), 0);
	ttak_mem_tree_destroy(&tree);
	sem_destroy(&h.inside);
	sem_destroy(&h.leave);
}

struct refcount_arg {
	ttak_mem_node_t *node;
	unsigned long rounds;
};

static void *acquire_release_loop(void *argp)
{
	struct refcount_arg *arg = argp;
	unsigned long i;

	for (i = 0; i < arg->rounds; i++) {
		ttak_mem_node_acquire(arg->node);
		ttak_mem_node_release(arg->node);
	}
	return NULL;
}

TEST(concurrent_acquire_release_keeps_counts_exact)
{
	ttak_mem_tree_t tree;
	struct refcount_arg arg;
	ttak_mem_node_t *n;
	pthread_t t[4];
	void *p = ttak_mem_alloc(256, 1000, 0);
	int i;

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 256, __TTAK_UNSAFE_MEM_FOREVER__,
			      false);
	ASSERT_NOT_NULL(n);
	/* from zero, so every round crosses zero and reconciles */
	ttak_mem_node_release(n);
	arg.node = n;
	arg.rounds = 20000;
	for (i = 0; i < 4; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, acquire_release_loop,
					 &arg), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(atomic_load(&n->ref_count), 0);
	ASSERT_EQ(stats_of(&tree).garbage_nodes, 1);
	ASSERT_EQ(pressure(&tree), 256);
	ttak_mem_node_acquire(n);
	ASSERT_EQ(stats_of(&tree).garbage_nodes, 0);
	ASSERT_EQ(pressure(&tree), 0);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(destroy_inside_a_section_is_refused)
{
	ttak_mem_tree_t tree;
	const char *err;
	void *p = ttak_mem_alloc(16, 10, 0);

	ASSERT_NOT_NULL(p);
	quiet_tree(&tree);
	ASSERT_NOT_NULL(ttak_mem_tree_add(&tree, p, 16, 0, false));
	ttak_epoch_enter();
	tt_capture_begin();
	errno = 0;
	ttak_mem_tree_destroy(&tree);
	CHECK_ERRNO(EDEADLK);
	err = tt_capture_end();
	ttak_epoch_exit();
	ASSERT_CONTAINS(err, "inside an epoch section");
	/* refused means untouched */
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&tree, p));
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}

static void *leave_later(void *arg)
{
	struct holder *h = arg;

	tt_sleep_ms(80);
	sem_post(&h->leave);
	return NULL;
}

TEST(destroy_waits_for_a_reader_holding_a_flushed_block)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	struct holder h;
	pthread_t t, rel;
	uint64_t t0;
	unsigned char *p = ttak_mem_alloc(64, 1000, 0);

	ASSERT_NOT_NULL(p);
	memset(p, 0x21, 64);
	quiet_tree(&tree);
	n = ttak_mem_tree_add(&tree, p, 64, 0, false);
	ASSERT_NOT_NULL(n);
	sem_init(&h.inside, 0, 0);
	sem_init(&h.leave, 0, 0);
	h.block = p;
	ASSERT_EQ(pthread_create(&t, NULL, hold_section, &h), 0);
	sem_wait(&h.inside);
	ttak_mem_node_release(n);
	ttak_mem_tree_perform_cleanup(&tree, 1);	/* pending on the reader */
	ASSERT_EQ(stats_of(&tree).pending_nodes, 1);
	t0 = tt_now_ms();
	ASSERT_EQ(pthread_create(&rel, NULL, leave_later, &h), 0);
	ttak_mem_tree_destroy(&tree);	/* returns once the reader left */
	CHECK_GE(tt_now_ms() - t0, 70);
	CHECK_EQ(tt_live_blocks(), 0);
	pthread_join(rel, NULL);
	pthread_join(t, NULL);
	sem_destroy(&h.inside);
	sem_destroy(&h.leave);
}

TEST(get_stats_ignores_null)
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
	uint32_t refs;
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
	struct ttak_mem_tree_stats s = stats_of(tree);
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
			tt_fail(__FILE__, __LINE__, "slot %zu: node of %p lost",
				i, e->ptr);
			ok = false;
		}
	}
	for (i = 0; i < MODEL_FREED && i < m->nfreed; i++) {
		if (model_tracks(m, m->freed[i]))
			continue;	/* the address came back */
		if (ttak_mem_tree_find_node(tree, m->freed[i])) {
			tt_fail(__FILE__, __LINE__, "%p found after it left",
				m->freed[i]);
			ok = false;
		}
	}
	ok &= CHECK_EQ(s.nodes, nodes);
	ok &= CHECK_EQ(s.bytes, bytes);
	ok &= CHECK_EQ(s.garbage_nodes, garbage);
	ok &= CHECK_EQ(s.garbage_pressure, pres);
	ok &= CHECK_EQ(s.pending_nodes, 0);
	ok &= CHECK_EQ(tt_live_blocks(), live);
	return ok;
}

TEST(random_operations_match_a_model)
{
	static struct model m;
	ttak_mem_tree_t tree;
	uint64_t seed = 0x7474616b2d6d6f64ULL;
	unsigned long op;

	quiet_tree(&tree);
	for (op = 0; op < 200000; op++) {
		uint64_t r = tt_rng(&seed);
		struct model_entry *e = &m.e[(r >> 8) % MODEL_SLOTS];

		switch (r % 8) {
		case 0:
		case 1:		/* add */
			if (e->ptr)
				break;
			e->size = 1 + (size_t)(r >> 40) % 300;
			e->ptr = ttak_mem_alloc(e->size, 10, 0);
			ASSERT_NOT_NULL(e->ptr);
			e->node = ttak_mem_tree_add(&tree, e->ptr, e->size, 0,
						    false);
			ASSERT_NOT_NULL(e->node);
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
			ttak_mem_tree_remove(&tree, e->node);
			ttak_mem_free(e->ptr);
			model_forget(&m, e);
			break;
		case 6:		/* cleanup, now and then */
			if ((r >> 20) % 64)
				break;
			ttak_mem_tree_perform_cleanup(&tree, 1);
			for (size_t i = 0; i < MODEL_SLOTS; i++)
				if (m.e[i].ptr && !m.e[i].refs)
					model_forget(&m, &m.e[i]);
			break;
		default:	/* lookup */
			if (e->ptr)
				ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree,
								      e->ptr),
					      e->node);
			break;
		}
		if (op % 20000 == 0)
			ASSERT(model_check(&m, &tree));
	}
	ASSERT(model_check(&m, &tree));
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
}
