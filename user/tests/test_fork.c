// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fork() in a multithreaded program: every lock of the library is taken
 * before the fork and released (or reset) after it, so the child may use
 * every call of the library, and the parent's other threads - absent in
 * the child - never hold back the child's reclamation, even when they were
 * inside ttak_epoch_enter()/exit() at the fork.
 *
 * Threads churn the block registry, the EBR retire queue, a shared arena
 * env and a shared mem tree while the main thread forks again and again;
 * each child, under alarm(5) (a hang is a failure), uses all of it and
 * exits with a bit per step that went wrong. A parked thread sits inside a
 * section at every fork. The duration follows TTAK_STRESS_MS (capped).
 */
#include "ttak_test.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define FOREVER		__TTAK_UNSAFE_MEM_FOREVER__
#define CHURNERS	3
#define MAX_FORKS	200
#define MIN_FORKS	20
#define MAX_MS		1500UL
#define CHILD_ALARM	5

/*
 * gcc 12's AddressSanitizer and clang 14's ThreadSanitizer do not hold
 * their own allocator locks across fork(): a child forked while another
 * thread is inside malloc() hangs in the sanitizer's allocator, not in
 * ttak (caught under TSan, about one run in 40: the child waits in
 * SizeClassAllocator64::GetFromAllocator() called from ttak_epoch_retire()'s
 * malloc). Under those two the churners pause outside any call at each
 * fork, so those flavours check what the child can do and that the parked
 * reader does not block it; the plain and clang flavours also fork while
 * the churners hold the library's locks.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FORK_QUIESCE	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FORK_QUIESCE	1
#endif
#endif
#ifndef FORK_QUIESCE
#define FORK_QUIESCE	0
#endif

static atomic_bool pause_req;
static atomic_int paused;

static ttak_arena_env_t shared_env;
static ttak_mem_tree_t shared_tree;
static atomic_bool stop;
static atomic_ulong churn_rounds;

/* the parked reader: inside a section whenever hold is set */
static atomic_bool hold, held;

static void *alloc64(void)
{
	return ttak_mem_alloc(64, FOREVER, 0);
}

static void churn_mem(void)
{
	void *p = alloc64(), *q = alloc64();

	ttak_mem_free(p);
	ttak_epoch_retire(q, NULL);	/* NULL: freed with ttak_mem_free() */
}

static void churn_tree(unsigned long round)
{
	ttak_mem_node_t *node;
	void *p = alloc64();

	if (!p)
		return;
	node = ttak_mem_tree_add(&shared_tree, p, 64, 0, false);
	if (!node) {
		ttak_mem_free(p);
		return;
	}
	CHECK_PTR_EQ(ttak_mem_tree_find_node(&shared_tree, p), node);
	ttak_mem_node_release(node);	/* the tree frees p in a cleanup */
	if (round % 8 == 0)
		ttak_mem_tree_perform_cleanup(&shared_tree, 1);
}

static void churn_arena(unsigned long round, bool in_section)
{
	ttak_arena_generation_t g;
	unsigned char *c;

	if (in_section)
		ttak_epoch_enter();
	if (ttak_arena_generation_begin(&shared_env, &g, (uint32_t)round)) {
		c = ttak_arena_generation_claim(&shared_env, &g, 0);
		if (CHECK_NOT_NULL(c))
			memset(c, (int)round, 64);
		CHECK(ttak_arena_generation_retire(&shared_env, &g));
	}
	ttak_arena_env_rotate(&shared_env);
	if (in_section)
		ttak_epoch_exit();
}

static void churn_section(unsigned long round)
{
	void *p = alloc64();

	ttak_epoch_enter();
	ttak_epoch_enter();
	(void)ttak_mem_tree_find_node(&shared_tree, p);
	ttak_epoch_retire(p, NULL);	/* inside: waits for this section */
	ttak_epoch_exit();
	if (round % 4 == 0)
		tt_sleep_ms(0);
	ttak_epoch_exit();
	if (round % 16 == 0)
		ttak_epoch_gc_rotate(shared_env.gc);
	else
		ttak_epoch_reclaim();
}

/* Never waits for readers: the parked one may sit inside for a while. */
static void *churn_main(void *arg)
{
	unsigned long round = (uintptr_t)arg;

	while (!atomic_load(&stop)) {
		if (FORK_QUIESCE && atomic_load(&pause_req)) {
			atomic_fetch_add(&paused, 1);
			while (atomic_load(&pause_req) && !atomic_load(&stop))
				sched_yield();
			atomic_fetch_sub(&paused, 1);
			continue;
		}
		switch (round % 5) {
		case 0:
			churn_mem();
			break;
		case 1:
			churn_tree(round);
			break;
		case 2:
		case 3:
			churn_arena(round, round % 5 == 3);
			break;
		default:
			churn_section(round);
			break;
		}
		round++;
		atomic_fetch_add(&churn_rounds, 1);
	}
	return NULL;
}

static void *park_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		if (!atomic_load(&hold)) {
			tt_sleep_ms(0);
			continue;
		}
		ttak_epoch_enter();
		atomic_store(&held, true);
		while (atomic_load(&hold) && !atomic_load(&stop))
			sched_yield();
		ttak_epoch_exit();
		atomic_store(&held, false);
	}
	return NULL;
}

static pthread_t threads[CHURNERS + 1];

static bool start_threads(void)
{
	size_t i;

	setenv("TTAK_QUIET", "1", 1);	/* the refused synchronize reports */
	atomic_store(&stop, false);
	atomic_store(&hold, false);
	atomic_store(&held, false);
	atomic_store(&pause_req, false);
	atomic_store(&paused, 0);
	if (!ttak_arena_env_init(&shared_env, NULL))
		return false;
	ttak_mem_tree_init(&shared_tree);
	for (i = 0; i < CHURNERS; i++)
		if (pthread_create(&threads[i], NULL, churn_main,
				   (void *)(uintptr_t)(i * 7)))
			return false;
	return !pthread_create(&threads[CHURNERS], NULL, park_main, NULL);
}

static void stop_threads(void)
{
	size_t i;

	atomic_store(&stop, true);
	for (i = 0; i <= CHURNERS; i++)
		pthread_join(threads[i], NULL);
	ttak_epoch_synchronize();
	ttak_arena_env_destroy(&shared_env);
	ttak_mem_tree_destroy(&shared_tree);
}

/* The parked thread is inside a section until unpark(). */
static void park(void)
{
	atomic_store(&hold, true);
	while (!atomic_load(&held))
		sched_yield();
}

static void unpark(void)
{
	atomic_store(&hold, false);
	while (atomic_load(&held))
		sched_yield();
}

/* Under ASan and TSan only: the churners wait outside any call until resume(). */
static void quiesce(void)
{
	if (!FORK_QUIESCE)
		return;
	atomic_store(&pause_req, true);
	while (atomic_load(&paused) < CHURNERS)
		sched_yield();
}

static void resume(void)
{
	atomic_store(&pause_req, false);
}

/* ---- what a child does: every call of the library ---- */

enum {
	BAD_ALLOC	= 1 << 0,
	BAD_RETIRE	= 1 << 1,
	BAD_ARENA	= 1 << 2,
	BAD_TREE	= 1 << 3,
	BAD_GC		= 1 << 4,
	BAD_SECTION	= 1 << 5,
	BAD_NESTED	= 1 << 6,	/* the fork-inside-a-section steps */
	BAD_GRANDCHILD	= 1 << 7,
};

/*
 * Counts the cleanups of the one object watched. A forked child inherits
 * its parent's open retire batch: the parent's objects get cleaned up in
 * the child too, and must not be counted.
 */
static atomic_int child_cleaned;
static void *_Atomic child_target;

static void child_cleanup(void *p)
{
	if (p == atomic_load(&child_target))
		atomic_fetch_add(&child_cleaned, 1);
}

static void watch(void *p)
{
	atomic_store(&child_target, p);
	atomic_store(&child_cleaned, 0);
}

static int child_work(void)
{
	struct ttak_mem_tree_stats st;
	ttak_arena_generation_t g;
	ttak_mem_node_t *node;
	ttak_epoch_gc_t gc;
	int bad = 0, x, y;
	void *p, *base;
	char *c;

	/* registry */
	p = ttak_mem_alloc(128, FOREVER, 0);
	if (!p || ttak_mem_access(p, 0) != p)
		bad |= BAD_ALLOC;
	ttak_mem_free(p);

	/* EBR: the parent's threads were inside sections, they are gone */
	watch(&x);
	ttak_epoch_retire(&x, child_cleanup);
	ttak_epoch_retire(alloc64(), NULL);
	ttak_epoch_synchronize();
	if (atomic_load(&child_cleaned) != 1 || ttak_epoch_pending() ||
	    ttak_epoch_report_blockers(NULL, 0))
		bad |= BAD_RETIRE;

	/* the shared env: begin, claim, retire, rotate, flushed */
	if (!ttak_arena_generation_begin(&shared_env, &g, 99)) {
		bad |= BAD_ARENA;
	} else {
		base = g.base;
		c = ttak_arena_generation_claim(&shared_env, &g, 0);
		if (c)
			memset(c, 0x42, 64);
		if (!c || !ttak_arena_generation_retire(&shared_env, &g))
			bad |= BAD_ARENA;
		ttak_arena_env_rotate(&shared_env);
		ttak_epoch_synchronize();
		if (ttak_mem_tree_find_node(&shared_env.gc->tree, base))
			bad |= BAD_ARENA;
	}

	/* the shared tree: add, find, release, cleanup */
	p = alloc64();
	node = p ? ttak_mem_tree_add(&shared_tree, p, 64, 0, false) : NULL;
	if (!node || ttak_mem_tree_find_node(&shared_tree, p) != node) {
		bad |= BAD_TREE;
	} else {
		ttak_mem_node_release(node);
		ttak_mem_tree_perform_cleanup(&shared_tree, 1);
		ttak_epoch_synchronize();
		if (ttak_mem_tree_find_node(&shared_tree, p))
			bad |= BAD_TREE;
		ttak_mem_tree_get_stats(&shared_tree, &st);
	}

	/* GC rotation of the shared env, and a private GC end to end */
	ttak_epoch_gc_rotate(shared_env.gc);
	ttak_epoch_gc_init(&gc);
	p = alloc64();
	node = p ? ttak_epoch_gc_register_node(&gc, p, 64) : NULL;
	if (!node) {
		bad |= BAD_GC;
	} else {
		ttak_mem_node_release(node);
		ttak_epoch_gc_rotate(&gc);
		ttak_epoch_synchronize();
		ttak_mem_tree_get_stats(&gc.tree, &st);
		if (st.nodes || st.pending_nodes || st.garbage_pressure)
			bad |= BAD_GC;
	}
	ttak_epoch_gc_destroy(&gc);

	/* a section of its own holds what it retires, and then lets go */
	watch(&y);
	ttak_epoch_enter();
	ttak_epoch_retire(&y, child_cleanup);
	ttak_epoch_reclaim();
	if (atomic_load(&child_cleaned))
		bad |= BAD_SECTION;
	ttak_epoch_exit();
	ttak_epoch_synchronize();
	if (atomic_load(&child_cleaned) != 1)
		bad |= BAD_SECTION;
	return bad;
}

/* Wait for a child; report how it ended. True when it exited with 0. */
static bool reap(pid_t pid, unsigned long nr)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			tt_fail(__FILE__, __LINE__, "waitpid: %s",
				strerror(errno));
			return false;
		}
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return true;
	if (WIFSIGNALED(status))
		tt_fail(__FILE__, __LINE__, "child %lu killed by signal %d%s",
			nr, WTERMSIG(status),
			WTERMSIG(status) == SIGALRM ? " (hung)" : "");
	else
		tt_fail(__FILE__, __LINE__,
			"child %lu exited with 0x%x (bad steps)", nr,
			WEXITSTATUS(status));
	return false;
}

static unsigned long fork_budget_ms(void)
{
	unsigned long ms = tt_env_ms("TTAK_STRESS_MS", 1000);

	return ms < MAX_MS ? ms : MAX_MS;
}

TEST(child_of_a_busy_process_uses_every_call)
{
	uint64_t end = tt_now_ms() + fork_budget_ms();
	unsigned long forks = 0, parked = 0;
	pid_t pid;

	ASSERT(start_threads());
	while (forks < MAX_FORKS && (forks < MIN_FORKS || tt_now_ms() < end)) {
		/* every other fork with a parent thread inside a section */
		if (forks & 1) {
			park();
			parked++;
		}
		quiesce();
		fflush(NULL);
		pid = fork();
		if (!pid) {
			alarm(CHILD_ALARM);
			_exit(child_work());
		}
		resume();
		if (forks & 1)
			unpark();
		if (!CHECK_GE(pid, 0))
			break;
		forks++;
		if (!reap(pid, forks))
			break;
	}
	stop_threads();
	printf("%lu forks (%lu with a parent thread inside a section), %lu churn rounds\n",
	       forks, parked, atomic_load(&churn_rounds));
}

/*
 * A child forked from inside a section is inside it too: what it retires
 * waits for its own exit, synchronize is refused there, and once it has
 * left the section everything works. Its own child, forked from inside a
 * section as well, behaves the same.
 */
static int child_inside_section(bool fork_again)
{
	int bad = 0, z, status;
	pid_t pid;

	watch(&z);
	ttak_epoch_retire(&z, child_cleanup);
	ttak_epoch_reclaim();
	errno = 0;
	ttak_epoch_synchronize();	/* inside a section: refused */
	if (errno != EDEADLK || atomic_load(&child_cleaned))
		bad |= BAD_NESTED;
	ttak_epoch_enter();		/* nesting still works */
	ttak_epoch_exit();

	if (fork_again) {
		pid = fork();
		if (!pid) {
			alarm(CHILD_ALARM);
			_exit(child_inside_section(false));
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad |= BAD_GRANDCHILD;
	}

	ttak_epoch_reclaim();
	if (atomic_load(&child_cleaned))
		bad |= BAD_NESTED;
	ttak_epoch_exit();	/* the section entered before the fork */
	ttak_epoch_synchronize();
	if (atomic_load(&child_cleaned) != 1)
		bad |= BAD_NESTED;
	return bad | child_work();
}

TEST(child_forked_inside_a_section_leaves_it)
{
	uint64_t end = tt_now_ms() + fork_budget_ms() / 3;
	static int w[MAX_FORKS];
	unsigned long forks = 0, late = 0;
	pid_t pid;

	ASSERT(start_threads());
	while (forks < MAX_FORKS / 4 &&
	       (forks < MIN_FORKS / 2 || tt_now_ms() < end)) {
		park();
		quiesce();
		fflush(NULL);
		ttak_epoch_enter();
		pid = fork();
		if (!pid) {
			alarm(CHILD_ALARM);
			_exit(child_inside_section(true));
		}
		resume();
		/* the parent's own section is unaffected */
		watch(&w[forks]);
		ttak_epoch_retire(&w[forks], child_cleanup);
		ttak_epoch_reclaim();
		CHECK_EQ(atomic_load(&child_cleaned), 0);
		ttak_epoch_exit();
		unpark();
		if (!CHECK_GE(pid, 0))
			break;
		forks++;
		if (!reap(pid, forks))
			break;
		/*
		 * Another thread's reclaim pass may have taken the batch:
		 * synchronize still returns only after its cleanups ran.
		 */
		ttak_epoch_synchronize();
		if (!atomic_load(&child_cleaned))
			late++;
		CHECK_EQ(atomic_load(&child_cleaned), 1);
	}
	stop_threads();
	printf("%lu forks from inside a section, each forking once more\n",
	       forks);
	printf("%lu times synchronize returned before the cleanup had run\n",
	       late);
}
