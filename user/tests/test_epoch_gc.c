// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/mem/epoch_gc.h> in user space only: a second registration is
 * reported on stderr, and a rotation never frees what a reader thread may
 * hold. init/destroy, register, rotate, manual mode, hints and the
 * tt_epoch_gc_t alias are gc_* in the unit suite shared with the kernel
 * (kernel/tests/ttak_core_test.c, run here as test_core_suite).
 */
#include "ttak_test.h"
#include "ttak_core_fixtures.h"

#include <pthread.h>
#include <semaphore.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>

static struct ttak_mem_tree_stats gc_stats(ttak_epoch_gc_t *gc)
{
	struct ttak_mem_tree_stats s;

	memset(&s, 0xff, sizeof(s));
	ttak_mem_tree_get_stats(&gc->tree, &s);
	return s;
}

static size_t pressure(ttak_epoch_gc_t *gc)
{
	return atomic_load(&gc->tree.garbage_pressure);
}

/* Twice: reported, the first registration stays. */
TEST(register_twice_is_reported)
{
	ttak_epoch_gc_t gc;
	const char *err;
	void *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_register(&gc, p, 64);
	tt_capture_begin();
	errno = 0;
	ttak_epoch_gc_register(&gc, p, 64);
	CHECK_ERRNO(EEXIST);
	err = tt_capture_end();
	ASSERT_CONTAINS(err, "gc register of");
	ASSERT_EQ(gc_stats(&gc).nodes, 1);
	ASSERT_EQ(atomic_load(&ttak_mem_tree_find_node(&gc.tree, p)->ref_count),
		  1);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}

struct reader {
	sem_t inside, leave;
	const unsigned char *block;
	size_t size;
	unsigned long bad;
};

static void *read_inside(void *arg)
{
	struct reader *r = arg;
	size_t i;

	ttak_epoch_enter();
	sem_post(&r->inside);
	sem_wait(&r->leave);
	for (i = 0; i < r->size; i++)
		if (r->block[i] != 0xc3)
			r->bad++;
	ttak_epoch_exit();
	return NULL;
}

TEST(rotate_never_frees_under_a_reader)
{
	ttak_epoch_gc_t gc;
	struct reader r;
	pthread_t t;
	unsigned char *p;

	ttak_epoch_gc_init(&gc);
	p = tracked(&gc, 2048);
	ASSERT_NOT_NULL(p);
	memset(p, 0xc3, 2048);
	memset(&r, 0, sizeof(r));
	sem_init(&r.inside, 0, 0);
	sem_init(&r.leave, 0, 0);
	r.block = p;
	r.size = 2048;
	ASSERT_EQ(pthread_create(&t, NULL, read_inside, &r), 0);
	sem_wait(&r.inside);

	release(&gc, p);
	ttak_epoch_gc_rotate(&gc);
	ttak_epoch_gc_rotate(&gc);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
	/* unreachable through the tree, but still allocated */
	CHECK_NULL(ttak_mem_tree_find_node(&gc.tree, p));
	CHECK_EQ(tt_live_blocks(), 1);
	CHECK_EQ(gc_stats(&gc).pending_nodes, 1);
	CHECK_EQ(pressure(&gc), 2048);

	sem_post(&r.leave);
	pthread_join(t, NULL);
	ASSERT_EQ(r.bad, 0);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(gc_stats(&gc).pending_nodes, 0);
	ASSERT_EQ(pressure(&gc), 0);
	ttak_epoch_gc_destroy(&gc);
	sem_destroy(&r.inside);
	sem_destroy(&r.leave);
}
