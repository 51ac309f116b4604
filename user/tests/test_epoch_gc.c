// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/mem/epoch_gc.h>: init/destroy, register, rotate, manual mode,
 * hints, the tt_epoch_gc_t alias, and flushing only what is safe.
 */
#include "ttak_test.h"

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

static uint64_t epoch_of(ttak_epoch_gc_t *gc)
{
	return atomic_load(&gc->current_epoch);
}

static size_t pressure(ttak_epoch_gc_t *gc)
{
	return atomic_load(&gc->tree.garbage_pressure);
}

/* Allocate and register @size bytes; the block or NULL. */
static void *tracked(ttak_epoch_gc_t *gc, size_t size)
{
	void *p = ttak_mem_alloc(size, __TTAK_UNSAFE_MEM_FOREVER__, 0);

	if (!CHECK_NOT_NULL(p))
		return NULL;
	ttak_epoch_gc_register(gc, p, size);
	if (!CHECK_NOT_NULL(ttak_mem_tree_find_node(&gc->tree, p)))
		return NULL;
	return p;
}

static void release(ttak_epoch_gc_t *gc, void *p)
{
	ttak_mem_node_t *n = ttak_mem_tree_find_node(&gc->tree, p);

	if (CHECK_NOT_NULL(n))
		ttak_mem_node_release(n);
}

TEST(init_starts_at_epoch_zero_in_automatic_mode)
{
	ttak_epoch_gc_t gc;

	memset(&gc, 0x5a, sizeof(gc));
	ttak_epoch_gc_init(&gc);
	ASSERT_EQ(epoch_of(&gc), 0);
	ASSERT_EQ(pressure(&gc), 0);
	ASSERT_EQ(gc_stats(&gc).nodes, 0);
	ASSERT(!gc.manual_rotation);
	ttak_epoch_gc_destroy(&gc);
}

TEST(null_gc_is_ignored_or_einval)
{
	char x;

	ttak_epoch_gc_init(NULL);
	ttak_epoch_gc_destroy(NULL);
	errno = 0;
	ttak_epoch_gc_rotate(NULL);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_epoch_gc_register(NULL, &x, 1);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_epoch_gc_manual_rotate(NULL, true);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_epoch_gc_hint(NULL, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
	ASSERT_ERRNO(EINVAL);
}

TEST(rotate_of_destroyed_gc_is_einval)
{
	ttak_epoch_gc_t gc;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_destroy(&gc);
	errno = 0;
	ttak_epoch_gc_rotate(&gc);
	ASSERT_ERRNO(EINVAL);
	ttak_epoch_gc_destroy(&gc);	/* twice is harmless */
}

TEST(alias_type_is_the_same_gc)
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
	ASSERT_EQ(epoch_of(&gc), 1);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(register_tracks_with_one_reference)
{
	ttak_epoch_gc_t gc;
	ttak_mem_node_t *n;
	void *p;

	ttak_epoch_gc_init(&gc);
	p = tracked(&gc, 4096);
	ASSERT_NOT_NULL(p);
	n = ttak_mem_tree_find_node(&gc.tree, p);
	ASSERT_EQ(atomic_load(&n->ref_count), 1);
	ASSERT_EQ(n->size, 4096);
	ASSERT_PTR_EQ(n->ptr, p);
	/* referenced blocks survive rotations */
	ttak_epoch_gc_rotate(&gc);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&gc.tree, p), n);
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(register_node_returns_the_node)
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
}

TEST(register_bad_input_is_refused)
{
	ttak_epoch_gc_t gc;
	const char *err;
	void *p = ttak_mem_alloc(64, 10, 0);

	ASSERT_NOT_NULL(p);
	ttak_epoch_gc_init(&gc);
	errno = 0;
	ttak_epoch_gc_register(&gc, NULL, 64);
	ASSERT_ERRNO(EINVAL);
	errno = 0;
	ttak_epoch_gc_register(&gc, p, 0);
	ASSERT_ERRNO(EINVAL);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, p));
	ASSERT_NULL(ttak_epoch_gc_register_node(&gc, p, 0));
	ASSERT_EQ(gc_stats(&gc).nodes, 0);

	/* twice: reported, the first registration stays */
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

TEST(rotate_flushes_released_blocks_in_one_rotation)
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
	ASSERT_EQ(pressure(&gc), 400);
	ASSERT_EQ(gc_stats(&gc).garbage_nodes, 2);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_EQ(epoch_of(&gc), 1);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, a));
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, c));
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&gc.tree, b));
	ASSERT_EQ(pressure(&gc), 0);
	ASSERT_EQ(tt_live_blocks(), 1);
	ASSERT_EQ(gc_stats(&gc).freed_nodes, 2);
	ASSERT_EQ(gc_stats(&gc).pending_nodes, 0);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(a, 0));
	ASSERT_ERRNO(EFAULT);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(rotate_counts_epochs)
{
	ttak_epoch_gc_t gc;
	uint64_t i;

	ttak_epoch_gc_init(&gc);
	for (i = 1; i <= 1000; i++) {
		ttak_epoch_gc_rotate(&gc);
		ASSERT_EQ(epoch_of(&gc), i);
	}
	ttak_epoch_gc_destroy(&gc);
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

TEST(automatic_mode_rotates_on_register_over_threshold)
{
	ttak_epoch_gc_t gc;
	void *a, *b;

	ttak_epoch_gc_init(&gc);
	ttak_mem_tree_set_pressure_threshold(&gc.tree, 1000);
	a = tracked(&gc, 1500);
	ASSERT_NOT_NULL(a);
	ASSERT_EQ(epoch_of(&gc), 0);
	release(&gc, a);
	ASSERT_EQ(pressure(&gc), 1500);
	b = tracked(&gc, 10);		/* finds pressure over threshold */
	ASSERT_NOT_NULL(b);
	ASSERT_GE(epoch_of(&gc), 1);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, a));
	ASSERT_EQ(pressure(&gc), 0);
	ASSERT_EQ(tt_live_blocks(), 1);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(manual_mode_flushes_only_on_request)
{
	ttak_epoch_gc_t gc;
	void *a, *b;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	ASSERT(gc.manual_rotation);
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
	ASSERT_EQ(epoch_of(&gc), 0);
	ASSERT_NOT_NULL(ttak_mem_tree_find_node(&gc.tree, a));
	ASSERT_EQ(pressure(&gc), 64);
	ttak_epoch_gc_rotate(&gc);
	ASSERT_EQ(epoch_of(&gc), 1);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, a));
	ASSERT_EQ(pressure(&gc), 0);
	/* back to automatic */
	ttak_epoch_gc_manual_rotate(&gc, false);
	ASSERT(!gc.manual_rotation);
	release(&gc, b);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_IDLE);
	ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, b));
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_epoch_gc_destroy(&gc);
}

TEST(hints_rotate_as_documented)
{
	ttak_epoch_gc_t gc;
	uint64_t e;

	ttak_epoch_gc_init(&gc);
	ttak_mem_tree_set_pressure_threshold(&gc.tree, 100);
	e = epoch_of(&gc);
	/* automatic, under threshold: ALLOC and REALLOC do nothing */
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_ALLOC);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_REALLOC);
	ASSERT_EQ(epoch_of(&gc), e);
	/* IDLE, FREE and COLLECT_NOW rotate */
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_IDLE);
	ASSERT_EQ(epoch_of(&gc), e + 1);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_FREE);
	ASSERT_EQ(epoch_of(&gc), e + 2);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
	ASSERT_EQ(epoch_of(&gc), e + 3);
	/* over threshold: ALLOC and REALLOC rotate too */
	ttak_mem_tree_report_pressure(&gc.tree, 100);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_ALLOC);
	ASSERT_EQ(epoch_of(&gc), e + 4);
	ASSERT_EQ(pressure(&gc), 0);	/* the rotation took it back */
	ttak_mem_tree_report_pressure(&gc.tree, 150);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_REALLOC);
	ASSERT_EQ(epoch_of(&gc), e + 5);
	/* manual: only COLLECT_NOW */
	ttak_epoch_gc_manual_rotate(&gc, true);
	ttak_mem_tree_report_pressure(&gc.tree, 1000);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_IDLE |
			   TTAK_EPOCH_GC_HINT_FREE |
			   TTAK_EPOCH_GC_HINT_ALLOC |
			   TTAK_EPOCH_GC_HINT_REALLOC);
	ASSERT_EQ(epoch_of(&gc), e + 5);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
	ASSERT_EQ(epoch_of(&gc), e + 6);
	ttak_epoch_gc_destroy(&gc);
}

TEST(hint_values_match_api)
{
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_ALLOC, 1 << 0);
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_FREE, 1 << 1);
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_REALLOC, 1 << 2);
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_IDLE, 1 << 3);
	ASSERT_EQ(TTAK_EPOCH_GC_HINT_COLLECT_NOW, 1 << 4);
}

TEST(destroy_frees_every_tracked_block)
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
	ASSERT_EQ(tt_live_blocks(), 40);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TEST(many_rotations_keep_epochs_and_pressure_exact)
{
	ttak_epoch_gc_t gc;
	uint64_t global = ttak_epoch_current();
	int i;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	for (i = 0; i < 5000; i++) {
		void *p = tracked(&gc, 256);

		ASSERT_NOT_NULL(p);
		release(&gc, p);
		ASSERT_EQ(pressure(&gc), 256);
		ttak_epoch_gc_rotate(&gc);
		ASSERT_EQ(pressure(&gc), 0);
		ASSERT_NULL(ttak_mem_tree_find_node(&gc.tree, p));
	}
	ASSERT_EQ(epoch_of(&gc), 5000);
	/* every rotation without readers also moved the global epoch */
	ASSERT_GE(ttak_epoch_current(), global + 5000);
	ASSERT_EQ(gc_stats(&gc).freed_nodes, 5000);
	ASSERT_EQ(gc_stats(&gc).nodes, 0);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_epoch_gc_destroy(&gc);
}
