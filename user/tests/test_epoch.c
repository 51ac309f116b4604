// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/mem/epoch.h>: registration, sections and nesting, retire,
 * reclaim, synchronize, the epoch counter, blockers and pending counts.
 */
#include "ttak_test.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/mem.h>

static atomic_int cleaned;
static void *last_cleaned;

static void count_cleanup(void *p)
{
	last_cleaned = p;
	atomic_fetch_add(&cleaned, 1);
}

/* A thread parked inside (or outside) a section until told to go on. */
struct parked {
	sem_t ready, go;
	bool enter;
	bool nest;
	int tid;
	uint64_t entered_at;
	atomic_bool left;	/* the section is over */
	pthread_t thread;
};

static void *park(void *arg)
{
	struct parked *p = arg;

	p->tid = (int)syscall(SYS_gettid);
	if (p->enter) {
		ttak_epoch_enter();
		if (p->nest)
			ttak_epoch_enter();
		p->entered_at = ttak_epoch_current();
	} else {
		ttak_epoch_register_thread();
	}
	sem_post(&p->ready);
	sem_wait(&p->go);
	if (p->enter) {
		if (p->nest)
			ttak_epoch_exit();
		ttak_epoch_exit();
	}
	atomic_store(&p->left, true);
	return NULL;
}

static bool park_start(struct parked *p, bool enter, bool nest)
{
	memset(p, 0, sizeof(*p));
	p->enter = enter;
	p->nest = nest;
	sem_init(&p->ready, 0, 0);
	sem_init(&p->go, 0, 0);
	if (!CHECK_EQ(pthread_create(&p->thread, NULL, park, p), 0))
		return false;
	sem_wait(&p->ready);
	return true;
}

static void park_finish(struct parked *p)
{
	sem_post(&p->go);
	pthread_join(p->thread, NULL);
	sem_destroy(&p->ready);
	sem_destroy(&p->go);
}

TEST(sessions_constant)
{
	ASSERT_EQ(TTAK_EPOCH_SESSIONS, 3);
}

TEST(register_and_deregister_are_idempotent)
{
	int x;

	ttak_epoch_register_thread();
	ttak_epoch_register_thread();
	ttak_epoch_deregister_thread();
	ttak_epoch_deregister_thread();
	/* enter registers on first use; everything still works */
	ttak_epoch_enter();
	ttak_epoch_exit();
	atomic_store(&cleaned, 0);
	ttak_epoch_retire(&x, count_cleanup);
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 1);
	ASSERT_PTR_EQ(last_cleaned, &x);
}

TEST(retire_then_reclaim_without_readers_cleans_once)
{
	int objs[5];
	int i;

	atomic_store(&cleaned, 0);
	for (i = 0; i < 5; i++)
		ttak_epoch_retire(&objs[i], count_cleanup);
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 5);
	ASSERT_EQ(ttak_epoch_pending(), 0);
	ttak_epoch_reclaim();
	ttak_epoch_synchronize();
	ASSERT_EQ(atomic_load(&cleaned), 5);
}

TEST(retire_null_is_ignored)
{
	atomic_store(&cleaned, 0);
	ttak_epoch_retire(NULL, count_cleanup);
	ttak_epoch_retire(NULL, NULL);
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 0);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TEST(null_cleanup_means_ttak_mem_free)
{
	void *p = ttak_mem_alloc(64, 10, 0);
	void *q = ttak_mem_alloc_with_flags(100, 10, 0, TTAK_MEM_STRICT_CHECK);

	ASSERT(p && q);
	ASSERT_EQ(tt_live_blocks(), 2);
	ttak_epoch_retire(p, NULL);
	ttak_epoch_retire(q, NULL);
	ASSERT_EQ(tt_live_blocks(), 2);		/* not before reclaim */
	ttak_epoch_reclaim();
	ASSERT_EQ(tt_live_blocks(), 0);
	errno = 0;
	ASSERT_NULL(ttak_mem_access(p, 0));
	ASSERT_ERRNO(EFAULT);
}

TEST(own_section_delays_own_retirees)
{
	int x;

	atomic_store(&cleaned, 0);
	ttak_epoch_enter();
	ttak_epoch_retire(&x, count_cleanup);	/* retire inside: allowed */
	ttak_epoch_reclaim();
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 0);
	ASSERT_EQ(ttak_epoch_pending(), 1);
	ttak_epoch_exit();
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 1);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TEST(nested_sections_end_at_outermost_exit)
{
	int x;

	atomic_store(&cleaned, 0);
	ttak_epoch_enter();
	ttak_epoch_enter();
	ttak_epoch_enter();
	ttak_epoch_retire(&x, count_cleanup);
	ttak_epoch_exit();
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 0);
	ttak_epoch_exit();
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 0);
	ttak_epoch_exit();	/* outermost */
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 1);
}

TEST(unmatched_exit_is_ignored)
{
	int x;

	ttak_epoch_exit();
	ttak_epoch_exit();
	/* the next section is a normal one: one exit ends it */
	atomic_store(&cleaned, 0);
	ttak_epoch_enter();
	ttak_epoch_retire(&x, count_cleanup);
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 0);
	ttak_epoch_exit();
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 1);
}

TEST(other_reader_inside_blocks_reclaim_until_it_leaves)
{
	struct parked r;
	int x;

	atomic_store(&cleaned, 0);
	ASSERT(park_start(&r, true, true));
	ttak_epoch_retire(&x, count_cleanup);
	ttak_epoch_reclaim();
	ttak_epoch_reclaim();
	ttak_epoch_reclaim();
	CHECK_EQ(atomic_load(&cleaned), 0);
	CHECK_EQ(ttak_epoch_pending(), 1);
	park_finish(&r);
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 1);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TEST(registered_idle_thread_does_not_block)
{
	struct parked r;
	int x;

	atomic_store(&cleaned, 0);
	ASSERT(park_start(&r, false, false));
	ttak_epoch_retire(&x, count_cleanup);
	ttak_epoch_reclaim();
	CHECK_EQ(atomic_load(&cleaned), 1);
	park_finish(&r);
}

TEST(reader_entering_after_the_epoch_moved_does_not_block)
{
	struct parked a, b;
	int x;

	atomic_store(&cleaned, 0);
	ASSERT(park_start(&a, true, false));
	ttak_epoch_retire(&x, count_cleanup);
	ttak_epoch_reclaim();		/* held back by a; the epoch moves */
	CHECK_EQ(atomic_load(&cleaned), 0);
	ASSERT(park_start(&b, true, false));
	CHECK_GT(b.entered_at, a.entered_at);
	park_finish(&a);
	/* b entered after x was unreachable: it must not hold x back */
	ttak_epoch_reclaim();
	CHECK_EQ(atomic_load(&cleaned), 1);
	CHECK(!atomic_load(&b.left));
	park_finish(&b);
}

static atomic_bool churn_stop;

static void *section_churn(void *arg)
{
	volatile int sink = 0;

	(void)arg;
	while (!atomic_load(&churn_stop)) {
		ttak_epoch_enter();
		sink++;
		ttak_epoch_exit();
	}
	return NULL;
}

TEST(readers_that_keep_entering_do_not_starve_reclaim)
{
	enum { N = 200 };
	static int objs[N];
	pthread_t t[2];
	int i, rounds = 0;

	atomic_store(&cleaned, 0);
	atomic_store(&churn_stop, false);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, section_churn, NULL), 0);
	for (i = 0; i < N; i++) {
		ttak_epoch_retire(&objs[i], count_cleanup);
		ttak_epoch_reclaim();
	}
	/* bounded: each reclaim either advances or waits for a short section */
	while (atomic_load(&cleaned) < N && rounds++ < 100000)
		ttak_epoch_reclaim();
	atomic_store(&churn_stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(atomic_load(&cleaned), N);
}

static void *exit_inside_section(void *arg)
{
	(void)arg;
	ttak_epoch_enter();
	ttak_epoch_enter();
	return NULL;	/* the thread ends without leaving its section */
}

TEST(thread_exiting_inside_a_section_does_not_block)
{
	pthread_t t;
	int x;

	atomic_store(&cleaned, 0);
	setenv("TTAK_QUIET", "1", 1);
	ASSERT_EQ(pthread_create(&t, NULL, exit_inside_section, NULL), 0);
	pthread_join(t, NULL);
	ttak_epoch_retire(&x, count_cleanup);
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 1);
	ASSERT_EQ(ttak_epoch_report_blockers(NULL, 0), 0);
}

static void *deregister_inside_section(void *arg)
{
	sem_t *done = arg;

	ttak_epoch_enter();
	ttak_epoch_deregister_thread();
	sem_post(done);
	/* stay alive: deregistration alone must release reclamation */
	tt_sleep_ms(50);
	/* a stray exit after deregistering is harmless */
	ttak_epoch_exit();
	return NULL;
}

TEST(deregister_inside_a_section_reports_and_releases)
{
	pthread_t t;
	sem_t done;
	const char *err;
	int x;

	atomic_store(&cleaned, 0);
	sem_init(&done, 0, 0);
	tt_capture_begin();
	ASSERT_EQ(pthread_create(&t, NULL, deregister_inside_section, &done),
		  0);
	sem_wait(&done);
	err = tt_capture_end();
	CHECK_CONTAINS(err, "deregisters inside an epoch section");
	ttak_epoch_retire(&x, count_cleanup);
	ttak_epoch_reclaim();
	CHECK_EQ(atomic_load(&cleaned), 1);
	pthread_join(t, NULL);
	sem_destroy(&done);
}

static void *retire_and_leave(void *arg)
{
	int *objs = arg;
	int i;

	for (i = 0; i < 3; i++)
		ttak_epoch_retire(&objs[i], count_cleanup);
	/* no reclaim: the batch must survive the thread */
	return NULL;
}

TEST(retirees_of_an_exited_thread_are_reclaimed)
{
	static int objs[3];
	pthread_t t;

	atomic_store(&cleaned, 0);
	ASSERT_EQ(pthread_create(&t, NULL, retire_and_leave, objs), 0);
	pthread_join(t, NULL);
	ASSERT_EQ(ttak_epoch_pending(), 3);
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 3);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

static void *retire_and_deregister(void *arg)
{
	int *objs = arg;

	ttak_epoch_retire(&objs[0], count_cleanup);
	ttak_epoch_retire(&objs[1], count_cleanup);
	ttak_epoch_deregister_thread();
	return NULL;
}

TEST(deregister_hands_over_open_batch)
{
	static int objs[2];
	pthread_t t;

	atomic_store(&cleaned, 0);
	ASSERT_EQ(pthread_create(&t, NULL, retire_and_deregister, objs), 0);
	pthread_join(t, NULL);
	ASSERT_EQ(ttak_epoch_pending(), 2);
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 2);
}

TEST(many_retirees_are_each_cleaned_once)
{
	enum { N = 10000 };
	unsigned char *hits = calloc(N, 1);
	int i;

	ASSERT_NOT_NULL(hits);
	atomic_store(&cleaned, 0);
	for (i = 0; i < N; i++)
		ttak_epoch_retire(&hits[i], count_cleanup);
	ttak_epoch_synchronize();
	ASSERT_EQ(atomic_load(&cleaned), N);
	ASSERT_EQ(ttak_epoch_pending(), 0);
	free(hits);
}

static void mark_cleanup(void *p)
{
	unsigned char *hit = p;

	(*hit)++;
}

TEST(every_retiree_cleaned_exactly_once_with_reader_churn)
{
	enum { N = 3000 };
	unsigned char *hits = calloc(N, 1);
	struct parked r;
	int i;

	ASSERT_NOT_NULL(hits);
	for (i = 0; i < N; i++) {
		if (i % 500 == 0)
			ASSERT(park_start(&r, true, false));
		ttak_epoch_retire(&hits[i], mark_cleanup);
		if (i % 7 == 0)
			ttak_epoch_reclaim();
		if (i % 500 == 499)
			park_finish(&r);
	}
	ttak_epoch_synchronize();
	for (i = 0; i < N; i++)
		ASSERT_EQ(hits[i], 1);
	ASSERT_EQ(ttak_epoch_pending(), 0);
	free(hits);
}

static void *release_later(void *arg)
{
	struct parked *p = arg;

	tt_sleep_ms(100);
	sem_post(&p->go);
	return NULL;
}

TEST(synchronize_waits_for_readers_inside)
{
	struct parked r;
	pthread_t rel;
	uint64_t t0;
	int x;

	atomic_store(&cleaned, 0);
	ASSERT(park_start(&r, true, true));
	ttak_epoch_retire(&x, count_cleanup);
	t0 = tt_now_ms();
	ASSERT_EQ(pthread_create(&rel, NULL, release_later, &r), 0);
	ttak_epoch_synchronize();
	/* returned only after the reader left, and cleaned up */
	CHECK(atomic_load(&r.left));
	CHECK_GE(tt_now_ms() - t0, 90);
	CHECK_EQ(atomic_load(&cleaned), 1);
	CHECK_EQ(ttak_epoch_pending(), 0);
	pthread_join(rel, NULL);
	pthread_join(r.thread, NULL);
	sem_destroy(&r.ready);
	sem_destroy(&r.go);
}

TEST(synchronize_inside_a_section_is_refused)
{
	const char *err;

	ttak_epoch_enter();
	tt_capture_begin();
	errno = 0;
	ttak_epoch_synchronize();
	CHECK_ERRNO(EDEADLK);
	err = tt_capture_end();
	CHECK_CONTAINS(err, "synchronize inside a read section");
	ttak_epoch_exit();
}

TEST(synchronize_with_nothing_to_do_returns)
{
	uint64_t e = ttak_epoch_current();

	ttak_epoch_synchronize();
	ttak_epoch_synchronize();
	ASSERT_GT(ttak_epoch_current(), e);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TEST(epoch_advances_once_per_reclaim_without_readers)
{
	uint64_t e = ttak_epoch_current(), now;
	int i;

	for (i = 0; i < 100000; i++) {
		ttak_epoch_reclaim();
		now = ttak_epoch_current();
		ASSERT_EQ(now, e + 1);
		e = now;
	}
}

TEST(epoch_stops_one_past_the_oldest_reader)
{
	struct parked r;
	uint64_t start;
	int i;

	ASSERT(park_start(&r, true, false));
	start = r.entered_at;
	for (i = 0; i < 10; i++)
		ttak_epoch_reclaim();
	/* it may move once (the reader has seen the current epoch) */
	CHECK_LE(ttak_epoch_current(), start + 1);
	CHECK_GE(ttak_epoch_current(), start);
	park_finish(&r);
	ttak_epoch_reclaim();
	ttak_epoch_reclaim();
	ASSERT_GE(ttak_epoch_current(), start + 2);
}

TEST(blockers_name_the_reader_holding_an_old_epoch)
{
	struct ttak_epoch_blocker b[4];
	struct parked r;
	size_t n;

	ASSERT_EQ(ttak_epoch_report_blockers(b, 4), 0);
	ASSERT(park_start(&r, true, false));
	ttak_epoch_reclaim();	/* moves the epoch past the reader */
	ttak_epoch_reclaim();
	tt_sleep_ms(20);
	memset(b, 0, sizeof(b));
	n = ttak_epoch_report_blockers(b, 4);
	CHECK_EQ(n, 1);
	CHECK_EQ(b[0].id, r.tid);
	CHECK_EQ(b[0].epoch, r.entered_at);
	CHECK_LT(b[0].epoch, ttak_epoch_current());
	CHECK_GE(b[0].held_ns, 10 * 1000 * 1000ULL);
	/* NULL buffer: count only */
	CHECK_EQ(ttak_epoch_report_blockers(NULL, 0), 1);
	park_finish(&r);
	ttak_epoch_reclaim();
	ASSERT_EQ(ttak_epoch_report_blockers(b, 4), 0);
}

static int chain_left;

/* A cleanup that retires the next link of a chain. */
static void chain_cleanup(void *p)
{
	int *link = p;

	atomic_fetch_add(&cleaned, 1);
	if (--chain_left > 0)
		ttak_epoch_retire(link + 1, chain_cleanup);
}

TEST(cleanup_may_retire_more)
{
	static int chain[50];
	int rounds = 0;

	atomic_store(&cleaned, 0);
	chain_left = 50;
	ttak_epoch_retire(&chain[0], chain_cleanup);
	while (atomic_load(&cleaned) < 50 && rounds++ < 200)
		ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 50);
	ttak_epoch_reclaim();
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

static void reclaiming_cleanup(void *p)
{
	(void)p;
	atomic_fetch_add(&cleaned, 1);
	ttak_epoch_reclaim();	/* re-entering reclamation is allowed */
}

TEST(cleanup_may_call_reclaim)
{
	int objs[300];
	int i;

	atomic_store(&cleaned, 0);
	for (i = 0; i < 300; i++)
		ttak_epoch_retire(&objs[i], reclaiming_cleanup);
	ttak_epoch_synchronize();
	ASSERT_EQ(atomic_load(&cleaned), 300);
	ASSERT_EQ(ttak_epoch_pending(), 0);
}

TEST(forked_child_is_not_blocked_by_the_parents_readers)
{
	struct parked r;
	int status, x;
	pid_t pid;

	ASSERT(park_start(&r, true, false));
	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		/* only this thread exists here; r's record must not count */
		alarm(5);	/* alarms do not survive fork: a hang ends */
		atomic_store(&cleaned, 0);
		ttak_epoch_retire(&x, count_cleanup);
		ttak_epoch_reclaim();
		ttak_epoch_synchronize();	/* and must not hang */
		_exit(atomic_load(&cleaned) == 1 &&
		      ttak_epoch_pending() == 0 &&
		      ttak_epoch_report_blockers(NULL, 0) == 0 ? 0 : 1);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	/* the parent still sees its reader */
	atomic_store(&cleaned, 0);
	ttak_epoch_retire(&x, count_cleanup);
	ttak_epoch_reclaim();
	CHECK_EQ(atomic_load(&cleaned), 0);
	park_finish(&r);
	ttak_epoch_reclaim();
	ASSERT_EQ(atomic_load(&cleaned), 1);
}

/*
 * gcc 12's UBSan at -O1 (the asan flavour) once reported a false "member
 * access within null pointer" in the inline enter/exit called in a loop,
 * when they reached the thread-local record through a local pointer.
 */
TEST(enter_exit_in_a_loop_is_sanitizer_clean)
{
	unsigned int i, inside = 0;

	for (i = 0; i < 1000; i++) {
		ttak_epoch_enter();
		inside += ttak_epoch_self.nesting;
		ttak_epoch_exit();
	}
	ASSERT_EQ(inside, 1000);
	ASSERT_EQ(ttak_epoch_self.nesting, 0);
}

static atomic_bool sync_race_stop;
static atomic_uint sync_race_cleaned;

static void sync_race_cleanup(void *p)
{
	(void)p;
	atomic_fetch_add(&sync_race_cleaned, 1);
}

static void *sync_race_reclaimer(void *arg)
{
	(void)arg;
	while (!atomic_load(&sync_race_stop))
		ttak_epoch_reclaim();
	return NULL;
}

/*
 * Another thread's reclaim may take this thread's sealed batch and still
 * be running its cleanups: synchronize returns only after they ran.
 */
TEST(synchronize_waits_for_cleanups_another_reclaim_runs)
{
	uint64_t end = tt_now_ms() + 300;
	unsigned int rounds = 0, early = 0;
	static int obj;
	pthread_t t;

	ASSERT_EQ(pthread_create(&t, NULL, sync_race_reclaimer, NULL), 0);
	while (tt_now_ms() < end || rounds < 1000) {
		ttak_epoch_retire(&obj, sync_race_cleanup);
		ttak_epoch_synchronize();
		rounds++;
		if (atomic_load(&sync_race_cleaned) != rounds)
			early++;
		while (atomic_load(&sync_race_cleaned) != rounds)
			;	/* catch up, so each round judges one object */
	}
	atomic_store(&sync_race_stop, true);
	pthread_join(t, NULL);
	printf("%u rounds\n", rounds);
	ASSERT_EQ(early, 0);
}
