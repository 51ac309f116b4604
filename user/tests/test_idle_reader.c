// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Idle readers cost the reclaimer nothing (user/lib/epoch_membarrier.c):
 * a heavy barrier clears every reader's fast flag when it issues
 * membarrier(), and a reader that stays outside its sections costs no
 * further one; its next enter fences on the slow path and is fast again.
 *
 * The promise this must not break is the grace period: the torture below
 * has readers that idle for random spells (so reclaimers clear them) and
 * then enter and read objects that two writers swap out, retire and
 * reclaim at once, with each object poisoned by its cleanup. A reader
 * that ever sees a poisoned object fails the test. TTAK_STRESS_MS sets
 * its duration (default 2000, at most a quarter of it here).
 */
#include "ttak_test.h"
#include "ttak_fault.h"

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem_tree/mem_tree.h>

#define OBJ_LIVE	0x4c49564549444c45ULL	/* "LIVEIDLE" */
#define OBJ_DEAD	0xdeadbeefdeadbeefULL
#define CYCLES		1000

static atomic_ulong cleaned;

static void count_cleanup(void *p)
{
	(void)p;
	atomic_fetch_add(&cleaned, 1);
}

/*
 * Whether the library uses membarrier() here (not under
 * TTAK_NO_MEMBARRIER or on kernels without it): a reader that was inside
 * a section once, then a reclaim, must cost exactly one.
 */
struct idle {
	sem_t ready, go;
	int sections;		/* before parking, each time it is told to go */
	atomic_bool stop;
	pthread_t thread;
};

static void *idle_main(void *arg)
{
	struct idle *r = arg;
	int i;

	ttak_epoch_register_thread();
	for (;;) {
		for (i = 0; i < r->sections; i++) {
			ttak_epoch_enter();
			ttak_epoch_exit();
		}
		sem_post(&r->ready);
		sem_wait(&r->go);
		if (atomic_load(&r->stop))
			break;
	}
	ttak_epoch_deregister_thread();
	return NULL;
}

static bool idle_start(struct idle *r, int sections)
{
	memset(r, 0, sizeof(*r));
	r->sections = sections;
	sem_init(&r->ready, 0, 0);
	sem_init(&r->go, 0, 0);
	if (!CHECK_EQ(pthread_create(&r->thread, NULL, idle_main, r), 0))
		return false;
	sem_wait(&r->ready);
	return true;
}

/* The reader runs its sections once more and parks again. */
static void idle_wake(struct idle *r)
{
	sem_post(&r->go);
	sem_wait(&r->ready);
}

static void idle_finish(struct idle *r)
{
	atomic_store(&r->stop, true);
	sem_post(&r->go);
	pthread_join(r->thread, NULL);
	sem_destroy(&r->ready);
	sem_destroy(&r->go);
}

/* CYCLES retire + reclaim; each frees its object before it returns. */
static bool retire_reclaim_cycles(void)
{
	int x, i;
	unsigned long before;

	for (i = 0; i < CYCLES; i++) {
		before = atomic_load(&cleaned);
		ttak_epoch_retire(&x, count_cleanup);
		ttak_epoch_reclaim();
		if (!CHECK_EQ(atomic_load(&cleaned), before + 1))
			return false;
	}
	return true;
}

static bool membarrier_in_use(void)
{
	return !getenv("TTAK_NO_MEMBARRIER") && ttak_test_membarriers() > 0;
}

TEST(an_idle_reader_costs_one_membarrier_not_one_per_reclaim)
{
	struct idle r;
	unsigned long m0, m1, m2;

	ASSERT(idle_start(&r, 1));
	m0 = ttak_test_membarriers();
	ASSERT(retire_reclaim_cycles());
	m1 = ttak_test_membarriers();
	if (!membarrier_in_use()) {
		/* readers fence themselves: no membarrier() ever */
		CHECK_EQ(m1, 0);
		idle_finish(&r);
		return;
	}
	/* the reader had entered once: the first reclaim clears it */
	CHECK_EQ(m1 - m0, 1);

	/* it enters again (fast once more) and idles: one more, no more */
	idle_wake(&r);
	ASSERT(retire_reclaim_cycles());
	m2 = ttak_test_membarriers();
	CHECK_EQ(m2 - m1, 1);
	idle_finish(&r);
}

TEST(a_reader_that_never_entered_costs_no_membarrier)
{
	struct idle r;
	unsigned long m0;

	ASSERT(idle_start(&r, 0));
	m0 = ttak_test_membarriers();
	ASSERT(retire_reclaim_cycles());
	CHECK_EQ(ttak_test_membarriers(), m0);
	idle_finish(&r);
}

/* The same promise for arena generations: begin, carve, retire, rotate. */
TEST(an_idle_reader_costs_no_membarrier_per_rotation)
{
	ttak_arena_env_t env;
	ttak_arena_generation_t gen;
	struct idle r;
	unsigned long m0;
	void *base;
	int i;

	ASSERT(ttak_arena_env_init(&env, NULL));
	ASSERT(idle_start(&r, 1));
	/* the first rotation clears the reader */
	ASSERT(ttak_arena_generation_begin(&env, &gen, 0));
	ASSERT(ttak_arena_generation_retire(&env, &gen));
	ttak_arena_env_rotate(&env);
	m0 = ttak_test_membarriers();
	for (i = 0; i < CYCLES; i++) {
		if (!CHECK(ttak_arena_generation_begin(&env, &gen, (uint32_t)i)))
			break;
		base = gen.base;
		CHECK_NOT_NULL(ttak_arena_generation_claim(&env, &gen, 0));
		CHECK(ttak_arena_generation_retire(&env, &gen));
		ttak_arena_env_rotate(&env);
		/* flushed by this one rotation: the reader is outside */
		if (!CHECK_NULL(ttak_mem_tree_find_node(&env.gc->tree, base)))
			break;
	}
	CHECK_EQ(ttak_test_membarriers(), m0);
	idle_finish(&r);
	ttak_arena_env_destroy(&env);
}

/*
 * A reader the reclaimer cleared while it idled enters (slow path) and
 * holds an object: the object is not freed until it leaves, and the
 * reclaims meanwhile issue a membarrier() again (it is fast once more).
 */
struct holder {
	sem_t ready, go;
	int *held;
	pthread_t thread;
};

static int *_Atomic shared_int;

static void *hold_main(void *arg)
{
	struct holder *h = arg;

	ttak_epoch_enter();		/* fast */
	ttak_epoch_exit();
	sem_post(&h->ready);
	sem_wait(&h->go);		/* meanwhile cleared */
	ttak_epoch_enter();
	h->held = atomic_load(&shared_int);
	sem_post(&h->ready);
	sem_wait(&h->go);
	ttak_epoch_exit();
	ttak_epoch_deregister_thread();
	return NULL;
}

TEST(a_cleared_reader_that_enters_again_is_waited_for)
{
	static int obj;
	struct holder h;
	unsigned long m0;

	memset(&h, 0, sizeof(h));
	sem_init(&h.ready, 0, 0);
	sem_init(&h.go, 0, 0);
	atomic_store(&shared_int, &obj);
	ASSERT_EQ(pthread_create(&h.thread, NULL, hold_main, &h), 0);
	sem_wait(&h.ready);
	CHECK(retire_reclaim_cycles());	/* clears it */
	m0 = ttak_test_membarriers();
	sem_post(&h.go);
	sem_wait(&h.ready);		/* inside, holding obj */
	CHECK_PTR_EQ(h.held, &obj);
	atomic_store(&cleaned, 0);
	atomic_store(&shared_int, NULL);
	ttak_epoch_retire(&obj, count_cleanup);
	ttak_epoch_reclaim();
	ttak_epoch_reclaim();
	CHECK_EQ(atomic_load(&cleaned), 0);
	if (membarrier_in_use())
		CHECK_EQ(ttak_test_membarriers() - m0, 1);
	sem_post(&h.go);
	pthread_join(h.thread, NULL);
	ttak_epoch_reclaim();
	CHECK_EQ(atomic_load(&cleaned), 1);
	sem_destroy(&h.ready);
	sem_destroy(&h.go);
}

/*
 * Torture: readers idle for random spells of 0-200 us (long enough, often,
 * for a reclaim to clear them), then enter and check the object they
 * reach, with a pause inside; two writers swap the object out, retire it
 * and reclaim after every swap, so every pass judges a reader that may
 * just be coming back. Cleanups poison; a reader that sees poison fails.
 */
#define READERS		3
#define WRITERS		2

struct tobj {
	_Atomic uint64_t magic;
	uint64_t seq;
};

static struct tobj *_Atomic torture_obj;
static atomic_bool torture_stop;
static atomic_ulong torture_bad, torture_reads, torture_twice,
		    torture_cleaned, torture_made;

static void tobj_cleanup(void *p)
{
	struct tobj *o = p;

	if (atomic_exchange(&o->magic, OBJ_DEAD) != OBJ_LIVE)
		atomic_fetch_add(&torture_twice, 1);
	atomic_fetch_add(&torture_cleaned, 1);
	free(o);
}

/* per reader: the test's printed seed, varied by the reader's number */
static uint64_t torture_seed;

static void *torture_reader(void *arg)
{
	uint64_t rng = torture_seed ^ (uintptr_t)arg * 0x9e3779b97f4a7c15ULL;
	struct timespec ts = { 0, 0 };
	struct tobj *o;
	unsigned int burst, k;

	while (!atomic_load(&torture_stop)) {
		ts.tv_nsec = (long)(tt_rng(&rng) % 200000);
		if (tt_rng(&rng) & 1)
			nanosleep(&ts, NULL);
		/* a burst: the first section may find itself cleared */
		for (burst = tt_rng(&rng) % 64 + 1; burst; burst--) {
			ttak_epoch_enter();
			o = atomic_load(&torture_obj);
			for (k = 0; o && k < 8; k++) {
				if (atomic_load(&o->magic) != OBJ_LIVE)
					atomic_fetch_add(&torture_bad, 1);
				if (k == 4 && burst == 1)
					sched_yield();
			}
			ttak_epoch_exit();
			atomic_fetch_add(&torture_reads, 1);
		}
	}
	ttak_epoch_deregister_thread();
	return NULL;
}

static void *torture_writer(void *arg)
{
	struct tobj *o, *old;

	(void)arg;
	while (!atomic_load(&torture_stop)) {
		o = malloc(sizeof(*o));
		if (!o)
			continue;
		atomic_store(&o->magic, OBJ_LIVE);
		o->seq = atomic_fetch_add(&torture_made, 1);
		old = atomic_exchange(&torture_obj, o);
		if (old)
			ttak_epoch_retire(old, tobj_cleanup);
		ttak_epoch_reclaim();
	}
	ttak_epoch_deregister_thread();
	return NULL;
}

TEST(torture_readers_that_idle_and_return_never_see_a_freed_object)
{
	pthread_t rd[READERS], wr[WRITERS];
	unsigned long m0, ms = tt_env_ms("TTAK_STRESS_MS", 2000) / 4;
	struct tobj *last;
	int i;

	if (ms < 200)
		ms = 200;
	torture_seed = tt_seed();
	m0 = ttak_test_membarriers();
	for (i = 0; i < READERS; i++)
		ASSERT_EQ(pthread_create(&rd[i], NULL, torture_reader,
					 (void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < WRITERS; i++)
		ASSERT_EQ(pthread_create(&wr[i], NULL, torture_writer, NULL), 0);
	tt_sleep_ms(ms);
	atomic_store(&torture_stop, true);
	for (i = 0; i < WRITERS; i++)
		pthread_join(wr[i], NULL);
	for (i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	last = atomic_exchange(&torture_obj, NULL);
	if (last)
		ttak_epoch_retire(last, tobj_cleanup);
	ttak_epoch_synchronize();

	printf("# %lu objects, %lu reads, %lu membarrier() calls\n",
	       atomic_load(&torture_made), atomic_load(&torture_reads),
	       ttak_test_membarriers() - m0);
	CHECK_EQ(atomic_load(&torture_bad), 0);
	CHECK_EQ(atomic_load(&torture_twice), 0);
	CHECK_EQ(atomic_load(&torture_cleaned), atomic_load(&torture_made));
	CHECK_GT(atomic_load(&torture_reads), 0);
	CHECK_EQ(ttak_epoch_pending(), 0);
}
