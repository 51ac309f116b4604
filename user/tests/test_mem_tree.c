// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/mem_tree/mem_tree.h> in user space only: what the library writes
 * to stderr, and readers and reference holders in other threads. Tracking,
 * references, garbage pressure, cleanup by expiry, automatic and manual
 * cleanup, hints and statistics are tree_* in the unit suite shared with
 * the kernel (kernel/tests/ttak_core_test.c, run here as test_core_suite).
 */
#include "ttak_test.h"
#include "ttak_core_fixtures.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

static size_t pressure(ttak_mem_tree_t *tree)
{
	return atomic_load(&tree->garbage_pressure);
}

/* NULL arguments: tree_remove_null_is_einval in the shared suite. */
TEST(remove_from_another_tree_or_twice_is_refused)
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
	ASSERT_EQ(tree_stats(&a).pending_nodes, 0);
	ttak_mem_tree_destroy(&a);
	ttak_mem_tree_destroy(&b);
	ttak_mem_free(p);
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
	ASSERT_EQ(tree_stats(&tree).garbage_nodes, 1);
	errno = 0;
	ttak_mem_node_release(NULL);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_mem_node_acquire(NULL);
	ASSERT_ERRNO(EINVAL);
	ttak_mem_tree_destroy(&tree);
	ASSERT_EQ(tt_live_blocks(), 0);
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
	ASSERT_EQ(tree_stats(&tree).pending_nodes, 1);
	ASSERT_EQ(tree_stats(&tree).pending_bytes, 128);
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_EQ(pressure(&tree), 128);	/* freed bytes leave it */
	ttak_epoch_reclaim();
	ASSERT_EQ(tt_live_blocks(), 1);

	sem_post(&h.leave);
	pthread_join(t, NULL);
	ttak_epoch_reclaim();
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(tree_stats(&tree).pending_nodes, 0);
	ASSERT_EQ(tree_stats(&tree).freed_nodes, 1);
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
	ASSERT_EQ(tree_stats(&tree).garbage_nodes, 1);
	ASSERT_EQ(pressure(&tree), 256);
	ttak_mem_node_acquire(n);
	ASSERT_EQ(tree_stats(&tree).garbage_nodes, 0);
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
	ASSERT_EQ(tree_stats(&tree).pending_nodes, 1);
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
