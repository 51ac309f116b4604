// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * EBR safety: an object retired (or a block flushed by the epoch GC)
 * while a reader inside ttak_epoch_enter()/exit() holds it is not cleaned
 * up until that reader has left, and then exactly once. Also: threads
 * that exit or deregister never hold reclamation back, and the epoch
 * counter keeps moving correctly, also across 2^32.
 *
 * TTAK_EBR_TRIALS sets the number of trials (default and minimum 1000).
 */
#include "ttak_test.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>

#define LIVE_MAGIC	0x4c4956454f424a31ULL	/* "LIVEOBJ1" */
#define DEAD_MAGIC	0xdeaddeaddeaddeadULL
#define BLOCK_BYTES	512
#define BLOCK_FILL	0x6d

struct obj {
	uint64_t magic;
	unsigned long trial;
};

static atomic_ulong cleanups;		/* cleanups run, all trials */
static atomic_ulong bad_cleanups;	/* on a dead object: run twice */
static _Atomic(struct obj *) shared_obj;
static _Atomic(unsigned char *) shared_block;

static void obj_cleanup(void *p)
{
	struct obj *o = p;

	if (o->magic != LIVE_MAGIC)
		atomic_fetch_add(&bad_cleanups, 1);
	o->magic = DEAD_MAGIC;
	atomic_fetch_add(&cleanups, 1);
	free(o);
}

static bool block_intact(const unsigned char *b)
{
	size_t i;

	for (i = 0; i < BLOCK_BYTES; i++)
		if (b[i] != BLOCK_FILL)
			return false;
	return true;
}

/* The reader's side of one trial, driven by the writer through sems. */
struct reader_ctl {
	sem_t start, held, release, exited;
	atomic_bool quit;
	bool nest;
	unsigned long bad;	/* object or block found damaged */
	unsigned long empty;	/* nothing published when entering */
};

static void *reader_main(void *arg)
{
	struct reader_ctl *c = arg;
	struct obj *o;
	unsigned char *b;

	for (;;) {
		sem_wait(&c->start);
		if (atomic_load(&c->quit))
			break;
		ttak_epoch_enter();
		if (c->nest)
			ttak_epoch_enter();
		o = atomic_load_explicit(&shared_obj, memory_order_acquire);
		b = atomic_load_explicit(&shared_block, memory_order_acquire);
		if (!o || !b)
			c->empty++;
		else if (o->magic != LIVE_MAGIC || !block_intact(b))
			c->bad++;
		sem_post(&c->held);
		sem_wait(&c->release);
		/* the writer unlinked, retired, reclaimed and rotated */
		if (o && b && (o->magic != LIVE_MAGIC || !block_intact(b)))
			c->bad++;
		if (c->nest)
			ttak_epoch_exit();
		ttak_epoch_exit();
		sem_post(&c->exited);
	}
	return NULL;
}

static unsigned long trials(void)
{
	unsigned long n = tt_env_ms("TTAK_EBR_TRIALS", 1000);

	return n < 1000 ? 1000 : n;
}

/* One trial; returns the number of failed checks. */
static unsigned long one_trial(struct reader_ctl *c, ttak_epoch_gc_t *gc,
			       unsigned long t)
{
	unsigned long fails = tt_failures(), before = atomic_load(&cleanups);
	struct ttak_mem_tree_stats st;
	unsigned char *b;
	struct obj *o;
	int i;

	o = malloc(sizeof(*o));
	b = ttak_mem_alloc(BLOCK_BYTES, __TTAK_UNSAFE_MEM_FOREVER__, 0);
	if (!CHECK_NOT_NULL(o) || !CHECK_NOT_NULL(b))
		return 1;
	o->magic = LIVE_MAGIC;
	o->trial = t;
	memset(b, BLOCK_FILL, BLOCK_BYTES);
	ttak_epoch_gc_register(gc, b, BLOCK_BYTES);
	atomic_store_explicit(&shared_obj, o, memory_order_release);
	atomic_store_explicit(&shared_block, b, memory_order_release);

	c->nest = t & 1;
	sem_post(&c->start);
	sem_wait(&c->held);

	/* unlink, then retire / release: nobody new can find them */
	atomic_store_explicit(&shared_obj, NULL, memory_order_release);
	atomic_store_explicit(&shared_block, NULL, memory_order_release);
	ttak_epoch_retire(o, obj_cleanup);
	ttak_mem_node_release(ttak_mem_tree_find_node(&gc->tree, b));
	for (i = 0; i < 3; i++) {
		ttak_epoch_reclaim();
		ttak_epoch_gc_rotate(gc);
	}
	/* the reader is inside: nothing of this trial may be gone */
	CHECK_EQ(atomic_load(&cleanups), before);
	CHECK_PTR_EQ(ttak_mem_access(b, 0), b);
	CHECK_NULL(ttak_mem_tree_find_node(&gc->tree, b));
	ttak_mem_tree_get_stats(&gc->tree, &st);
	CHECK_EQ(st.pending_nodes, 1);

	sem_post(&c->release);
	sem_wait(&c->exited);

	ttak_epoch_reclaim();
	ttak_epoch_gc_rotate(gc);
	CHECK_EQ(atomic_load(&cleanups), before + 1);
	ttak_mem_tree_get_stats(&gc->tree, &st);
	CHECK_EQ(st.pending_nodes, 0);
	CHECK_EQ(st.garbage_pressure, 0);
	CHECK_EQ(tt_live_blocks(), 0);
	/* and only once */
	ttak_epoch_reclaim();
	ttak_epoch_gc_rotate(gc);
	CHECK_EQ(atomic_load(&cleanups), before + 1);
	return tt_failures() - fails;
}

static void run_trials(unsigned long n, bool report)
{
	struct reader_ctl c;
	ttak_epoch_gc_t gc;
	unsigned long t, failed = 0;
	pthread_t reader;

	memset(&c, 0, sizeof(c));
	sem_init(&c.start, 0, 0);
	sem_init(&c.held, 0, 0);
	sem_init(&c.release, 0, 0);
	sem_init(&c.exited, 0, 0);
	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	atomic_store(&cleanups, 0);
	atomic_store(&bad_cleanups, 0);
	if (!CHECK_EQ(pthread_create(&reader, NULL, reader_main, &c), 0))
		return;
	for (t = 0; t < n; t++) {
		if (one_trial(&c, &gc, t))
			failed++;
		if (failed > 5)
			break;	/* the first failures tell the story */
	}
	atomic_store(&c.quit, true);
	sem_post(&c.start);
	pthread_join(reader, NULL);
	if (report)
		printf("  %lu trials, %lu failed\n", t, failed);
	CHECK_EQ(failed, 0);
	CHECK_EQ(c.bad, 0);
	CHECK_EQ(c.empty, 0);
	CHECK_EQ(atomic_load(&cleanups), n);
	CHECK_EQ(atomic_load(&bad_cleanups), 0);
	ttak_epoch_gc_destroy(&gc);
	sem_destroy(&c.start);
	sem_destroy(&c.held);
	sem_destroy(&c.release);
	sem_destroy(&c.exited);
}

TEST(retired_object_outlives_reader_1000_trials)
{
	run_trials(trials(), true);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TEST(safety_holds_across_epoch_2_pow_32)
{
	/* private to the implementation, but public for the inline enter */
	atomic_store(&ttak_epoch_global, (1ULL << 32) - 500);
	run_trials(1000, false);
	ASSERT_GT(ttak_epoch_current(), 1ULL << 32);
}

TEST(safety_holds_at_epoch_2_pow_62)
{
	atomic_store(&ttak_epoch_global, (1ULL << 62) - 500);
	run_trials(1000, false);
	ASSERT_GT(ttak_epoch_current(), 1ULL << 62);
}

struct sync_ctl {
	atomic_bool returned;
};

static void *synchronizer(void *arg)
{
	struct sync_ctl *s = arg;

	ttak_epoch_synchronize();
	atomic_store(&s->returned, true);
	return NULL;
}

TEST(synchronize_waits_for_the_reader_every_time)
{
	struct reader_ctl c;
	pthread_t reader, syncer;
	int t;

	memset(&c, 0, sizeof(c));
	sem_init(&c.start, 0, 0);
	sem_init(&c.held, 0, 0);
	sem_init(&c.release, 0, 0);
	sem_init(&c.exited, 0, 0);
	atomic_store(&cleanups, 0);
	ASSERT_EQ(pthread_create(&reader, NULL, reader_main, &c), 0);
	for (t = 0; t < 20; t++) {
		struct sync_ctl s = { false };
		struct obj *o = malloc(sizeof(*o));
		unsigned char *b = ttak_mem_alloc(BLOCK_BYTES, 10, 0);

		ASSERT(o && b);
		o->magic = LIVE_MAGIC;
		memset(b, BLOCK_FILL, BLOCK_BYTES);
		atomic_store(&shared_obj, o);
		atomic_store(&shared_block, b);
		c.nest = t & 1;
		sem_post(&c.start);
		sem_wait(&c.held);
		atomic_store(&shared_obj, NULL);
		atomic_store(&shared_block, NULL);
		ttak_epoch_retire(o, obj_cleanup);
		ttak_epoch_retire(b, NULL);
		ttak_epoch_reclaim();	/* seal: synchronize judges sealed batches */
		ASSERT_EQ(pthread_create(&syncer, NULL, synchronizer, &s), 0);
		tt_sleep_ms(10);
		CHECK(!atomic_load(&s.returned));
		CHECK_EQ(atomic_load(&cleanups), (unsigned long)t);
		sem_post(&c.release);
		sem_wait(&c.exited);
		pthread_join(syncer, NULL);
		CHECK(atomic_load(&s.returned));
		ttak_epoch_reclaim();
		CHECK_EQ(atomic_load(&cleanups), (unsigned long)t + 1);
		CHECK_EQ(tt_live_blocks(), 0);
	}
	atomic_store(&c.quit, true);
	sem_post(&c.start);
	pthread_join(reader, NULL);
	ASSERT_EQ(c.bad, 0);
	ASSERT_EQ(atomic_load(&bad_cleanups), 0);
}

/* Threads that end inside a section, or deregister inside one. */
static void *die_inside(void *arg)
{
	bool deregister = arg != NULL;

	ttak_epoch_enter();
	if (deregister) {
		ttak_epoch_deregister_thread();
		tt_sleep_ms(1);
	}
	return NULL;
}

TEST(exiting_and_deregistering_threads_never_block_reclaim)
{
	enum { THREADS = 200 };
	unsigned long i;
	pthread_t t[4];
	int k;

	setenv("TTAK_QUIET", "1", 1);	/* deregistering inside is reported */
	atomic_store(&cleanups, 0);
	for (i = 0; i < THREADS; i += 4) {
		for (k = 0; k < 4; k++)
			ASSERT_EQ(pthread_create(&t[k], NULL, die_inside,
						 (k & 1) ? &t[k] : NULL), 0);
		/* reclaim while they come and go */
		for (k = 0; k < 4; k++) {
			struct obj *o = malloc(sizeof(*o));

			ASSERT_NOT_NULL(o);
			o->magic = LIVE_MAGIC;
			ttak_epoch_retire(o, obj_cleanup);
			ttak_epoch_reclaim();
		}
		for (k = 0; k < 4; k++)
			pthread_join(t[k], NULL);
		/* once they are gone, one reclaim frees everything */
		ttak_epoch_reclaim();
		ASSERT_EQ(atomic_load(&cleanups), i + 4);
		ASSERT_EQ(ttak_epoch_pending(), 0);
		ASSERT_EQ(ttak_epoch_report_blockers(NULL, 0), 0);
	}
	ASSERT_EQ(atomic_load(&bad_cleanups), 0);
}

TEST(epoch_keeps_advancing_over_many_rotations)
{
	enum { ROTATIONS = 100000 };
	ttak_epoch_gc_t gc;
	uint64_t global = ttak_epoch_current(), now;
	unsigned long r;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	for (r = 1; r <= ROTATIONS; r++) {
		if (r % 100 == 0) {
			void *p = ttak_mem_alloc(64, 1, 0);

			ASSERT_NOT_NULL(p);
			ttak_epoch_gc_register(&gc, p, 64);
			ttak_mem_node_release(ttak_mem_tree_find_node(&gc.tree,
								      p));
		}
		ttak_epoch_gc_rotate(&gc);
		now = ttak_epoch_current();
		/* no reader: every rotation moves the global epoch on */
		ASSERT_GT(now, global);
		global = now;
		ASSERT_EQ(atomic_load(&gc.current_epoch), r);
	}
	ASSERT_EQ(tt_live_blocks(), 0);
	ASSERT_EQ(atomic_load(&gc.tree.garbage_pressure), 0);
	ttak_epoch_gc_destroy(&gc);
}
