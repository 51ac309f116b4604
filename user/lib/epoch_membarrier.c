// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libttak's EBR reader flavour: "membarrier".
 *
 * Named after who pays for the ordering (the idea of liburcu's memb
 * flavour): a reader's section costs a few plain stores and no fence,
 * and the reclaimer makes up for it with
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), a full barrier on every
 * running thread of the process. The interface towards the core's
 * epoch.c is kernel/core/epoch_flavour.h.
 *
 * Records: one per thread. The part the inline ttak_epoch_enter()/exit()
 * of <ttak/mem/epoch.h> touch (state, nesting, fast) is the public
 * thread-local ttak_epoch_self; the rest is private here (ttak_memb_self:
 * registry link, thread id, the reclaimer's notes, the open retire
 * batch). A thread registers on its first section, and a key destructor
 * deregisters it at thread exit, so exited threads never hold
 * reclamation back.
 *
 * Idle readers cost nothing. A membarrier() is needed only for readers
 * that may be inside a section without a fence of their own; a reader
 * record's public @fast flag says so. A heavy barrier that finds @fast
 * set clears it on every reader, then issues the membarrier(); a reader
 * that enters afterwards takes the slow path, which stores its state,
 * sets @fast again and fences once. So a reader that stays outside its
 * sections costs one membarrier() and then none, however often the
 * reclaimer rotates; a busy one costs what it always did, plus one fence
 * per membarrier(). Why this keeps the grace period:
 *  - the inline enter stores its state before it loads @fast. If that
 *    load comes after the membarrier()'s barrier on the thread, it sees
 *    @fast clear and the slow path fences; if before, so was the store,
 *    and the scan after the membarrier() sees the reader inside.
 *  - a slow-path enter stores its state and @fast = true, then fences;
 *    the reclaimer fences before it loads @fast and the states. If its
 *    load misses the reader's @fast, its fence came first, so the reader
 *    sees every unlink made before it - in this section and in every
 *    fast one after. If it sees @fast, it issues a membarrier().
 *  - clearing @fast and the membarrier() that makes it binding happen
 *    under the registry lock, which other reclaimers take to read @fast:
 *    none can see a cleared flag before the membarrier() is done.
 *
 * Without membarrier() (an old kernel, or TTAK_NO_MEMBARRIER set) every
 * reader fences itself on its slow path and the heavy barrier is a plain
 * fence. Which one holds is decided in the constructor, before any
 * reader exists, so the readers never mix.
 *
 * Library start-up and fork() live here too, because both are about the
 * registry: the constructor initialises the core and then the flavour,
 * and the fork handlers take every core lock and the registry lock, and
 * leave the child with only its own record (see ttak_fork_prepare()).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ttak_platform.h"
#include "ttak_core.h"
#include "epoch_flavour.h"
#include "ttak_fault.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The private half of a thread's reader record. @seen belongs to epoch.c;
 * @next and the registry membership change under ttak_registry_lock; the
 * rest is the thread's own.
 */
struct ttak_memb_reader {
	struct ttak_epoch_reader *pub;	/* this thread's ttak_epoch_self */
	struct ttak_memb_reader *next;	/* registry link */
	struct ttak_epoch_seen seen;
	struct ttak_retire_chunk *chunk;	/* open retire batch */
	int tid;
	bool registered;
	bool fenced;	/* no membarrier(): this reader fences itself */
	/*
	 * ttak_reader_key's destructor is armed for this thread: it
	 * registered, or it holds an open retire batch. A thread that
	 * retires without ever entering a section is not a reader, but its
	 * batch must still be handed over when it exits. Left set while the
	 * destructor runs, so sealing the batch there does not re-arm it.
	 */
	bool exit_armed;
};

_Thread_local struct ttak_epoch_reader ttak_epoch_self;
static _Thread_local struct ttak_memb_reader ttak_memb_self;
/* Readers fence themselves until membarrier() is known to work. */
static _Atomic bool ttak_epoch_reader_fence = true;

static pthread_mutex_t ttak_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ttak_memb_reader *ttak_readers;
/* registered readers; seq_cst so the barrier below can skip the lock */
static _Atomic size_t ttak_nreaders;
static pthread_key_t ttak_reader_key;
static bool ttak_membarrier_ok;

/* membarrier(EXPEDITED) calls issued, for the tests (ttak_fault.h) */
static atomic_ulong ttak_membarriers;

static int ttak_membarrier(int cmd)
{
	return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

unsigned long ttak_test_membarriers(void)
{
	return atomic_load(&ttak_membarriers);
}

static void ttak_arm_exit(void)
{
	if (ttak_memb_self.exit_armed)
		return;
	/* a non-NULL value makes the key's destructor run at thread exit */
	pthread_setspecific(ttak_reader_key, &ttak_memb_self);
	ttak_memb_self.exit_armed = true;
}

static void ttak_reader_exit(void *arg)
{
	(void)arg;
	ttak_epoch_deregister_thread();
}

/*
 * fork(): the child has only the forking thread. Every lock of the
 * library is held across the fork, in the order in which they nest (the
 * core's, then the registry, which the scan takes under the core's EBR
 * lock), so none is left locked in the child by a thread it does not
 * have. The registry still lists the records of the others, frozen in
 * whatever state they were - inside a section, maybe - so the child's
 * reclamation would wait for threads that no longer exist: the child
 * keeps only the caller's record. (The other threads' open retire
 * batches stay behind: kept, never freed early.)
 */
static void ttak_fork_prepare(void)
{
	ttak_lock_t *l;
	size_t i;

	for (i = 0; (l = ttak_core_lock_at(i)); i++)
		ttak_lock(l);
	pthread_mutex_lock(&ttak_registry_lock);
}

static void ttak_fork_unlock_core(void)
{
	size_t n = 0;

	while (ttak_core_lock_at(n))
		n++;
	while (n-- > 0)
		ttak_unlock(ttak_core_lock_at(n));
}

static void ttak_fork_parent(void)
{
	pthread_mutex_unlock(&ttak_registry_lock);
	ttak_fork_unlock_core();
}

static void ttak_fork_child(void)
{
	struct ttak_memb_reader *self = &ttak_memb_self;

	ttak_readers = NULL;
	atomic_store(&ttak_nreaders, 0);
	if (self->registered) {
		self->tid = (int)syscall(SYS_gettid);
		self->next = NULL;
		ttak_readers = self;
		atomic_store(&ttak_nreaders, 1);
	}
	ttak_core_fork_child();
	pthread_mutex_unlock(&ttak_registry_lock);
	ttak_fork_unlock_core();
}

__attribute__((constructor))
static void ttak_user_init(void)
{
	ttak_core_init();
	pthread_key_create(&ttak_reader_key, ttak_reader_exit);
	pthread_atfork(ttak_fork_prepare, ttak_fork_parent, ttak_fork_child);
	/* Before any reader exists: either all readers fence or none. */
	if (ttak_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 &&
	    !getenv("TTAK_NO_MEMBARRIER")) {
		ttak_membarrier_ok = true;
		atomic_store(&ttak_epoch_reader_fence, false);
	}
}

void ttak_epoch_register_thread(void)
{
	struct ttak_memb_reader *self = &ttak_memb_self;

	if (self->registered)
		return;
	self->pub = &ttak_epoch_self;
	self->tid = (int)syscall(SYS_gettid);
	self->fenced = atomic_load(&ttak_epoch_reader_fence);
	/* the first enter sets it, after its fence (slow path) */
	atomic_store(&ttak_epoch_self.fast, false);
	atomic_store(&ttak_epoch_self.state, 0);
	pthread_mutex_lock(&ttak_registry_lock);
	self->next = ttak_readers;
	ttak_readers = self;
	ttak_nreaders++;
	pthread_mutex_unlock(&ttak_registry_lock);
	ttak_arm_exit();
	self->registered = true;
}

/*
 * The outermost enter of a thread the inline path cannot serve: not yet
 * registered, fencing itself, or cleared by a reclaimer's membarrier().
 * ttak_epoch_enter() has counted the nesting and stored a state already;
 * this one may be newer, and the section begins after the fence below.
 */
void ttak_epoch_enter_slow(void)
{
	u64 epoch;

	if (!ttak_memb_self.registered)
		ttak_epoch_register_thread();
	epoch = atomic_load_explicit(&ttak_epoch_global, memory_order_acquire);
	atomic_store_explicit(&ttak_epoch_self.state, (epoch << 1) | 1,
			      memory_order_relaxed);
	/* back to the inline path: see the top of this file */
	if (!ttak_memb_self.fenced)
		atomic_store_explicit(&ttak_epoch_self.fast, true,
				      memory_order_relaxed);
	/* pairs with the reclaimer's fence in ttak_flavour_heavy_barrier() */
	atomic_thread_fence(memory_order_seq_cst);
}

void ttak_epoch_deregister_thread(void)
{
	struct ttak_memb_reader *self = &ttak_memb_self, **pp;

	if (!self->registered) {
		/* never a reader, but maybe a retirer: hand the batch over */
		ttak_epoch_seal_own();
		return;
	}
	if (ttak_epoch_self.nesting) {
		ttak_plat_report("thread %d deregisters inside an epoch section\n",
				 self->tid);
		ttak_epoch_self.nesting = 0;
	}
	atomic_store_explicit(&ttak_epoch_self.state, 0, memory_order_release);
	/* queued retirees outlive the thread in the shared queue */
	ttak_epoch_seal_own();
	pthread_mutex_lock(&ttak_registry_lock);
	for (pp = &ttak_readers; *pp; pp = &(*pp)->next) {
		if (*pp == self) {
			*pp = self->next;
			ttak_nreaders--;
			break;
		}
	}
	pthread_mutex_unlock(&ttak_registry_lock);
	pthread_setspecific(ttak_reader_key, NULL);
	self->exit_armed = false;
	self->registered = false;
	atomic_store(&ttak_epoch_self.fast, false);
}

void ttak_flavour_scan_readers(ttak_reader_fn fn, void *ctx)
{
	struct ttak_memb_reader *r;

	pthread_mutex_lock(&ttak_registry_lock);
	for (r = ttak_readers; r; r = r->next)
		fn(&r->pub->state, &r->seen, r->tid, ctx);
	pthread_mutex_unlock(&ttak_registry_lock);
}

/*
 * The reclaimer's half of the handshake. membarrier() runs a full
 * barrier on every other running thread: it pairs with the compiler-only
 * fence after a reader's store of its state (inline ttak_epoch_enter()),
 * so either the scan that follows sees the reader inside or the reader
 * sees every unlink made before the call. It is issued only when some
 * other reader's @fast is set, and clears them all (see the top of this
 * file); readers with @fast clear fence on their next enter, and the
 * fence here pairs with theirs. Without membarrier() the readers always
 * fence themselves.
 */
void ttak_flavour_heavy_barrier(void)
{
	struct ttak_memb_reader *r;
	bool need = false;

	atomic_thread_fence(memory_order_seq_cst);
	/*
	 * A thread whose registration (a seq_cst increment) comes after this
	 * load sees every store made before our fence; with no other reader
	 * registered, that fence is all the ordering needed.
	 */
	if (!ttak_membarrier_ok ||
	    atomic_load(&ttak_nreaders) <= (ttak_memb_self.registered ? 1u : 0u))
		return;
	pthread_mutex_lock(&ttak_registry_lock);
	for (r = ttak_readers; r; r = r->next) {
		if (r == &ttak_memb_self ||
		    !atomic_load_explicit(&r->pub->fast, memory_order_relaxed))
			continue;
		atomic_store_explicit(&r->pub->fast, false,
				      memory_order_relaxed);
		need = true;
	}
	if (need) {
		atomic_fetch_add(&ttak_membarriers, 1);
		/* registered in the constructor; it cannot fail after that */
		if (ttak_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
		    ttak_membarrier(MEMBARRIER_CMD_GLOBAL) != 0) {
			ttak_plat_report("membarrier() failed: readers may be unsafe; aborting\n");
			abort();
		}
	}
	pthread_mutex_unlock(&ttak_registry_lock);
}

/* A thread's section may block: poll, with a pause between scans. */
void ttak_flavour_wait_for_readers(void)
{
	ttak_plat_wait_relax();
}

/* The scan is the only proof here: every pass uses it. */
bool ttak_flavour_scan_on_every_pass(void)
{
	return true;
}

bool ttak_flavour_in_section(void)
{
	return ttak_epoch_self.nesting != 0;
}

/* Any thread may retire, also inside a section. */
bool ttak_flavour_may_retire(void)
{
	return true;
}

/* Any thread may scan and wait; membarrier() cannot deadlock a section. */
bool ttak_flavour_may_reclaim(void)
{
	return true;
}

struct ttak_retire_chunk **ttak_flavour_open_chunk(void)
{
	/* whoever may hold a batch gets it sealed at thread exit */
	ttak_arm_exit();
	return &ttak_memb_self.chunk;
}

/* The open batch is the thread's own: nothing to lock. */
unsigned long ttak_flavour_chunk_lock(void)
{
	return 0;
}

void ttak_flavour_chunk_unlock(unsigned long flags)
{
	(void)flags;
}

/* Other threads' batches are theirs: they seal them, at the latest at exit. */
void ttak_flavour_visit_open(bool every, ttak_open_fn fn, void *ctx)
{
	(void)every;
	fn(&ttak_memb_self.chunk, ctx);
}

/* No grace-period proof but the scan. */
unsigned long ttak_flavour_gp_snapshot(void)
{
	return 0;
}

bool ttak_flavour_gp_passed(unsigned long snapshot)
{
	(void)snapshot;
	return false;
}

/* No background: the threads that retire reclaim (see epoch.c). */
void ttak_flavour_kick_reclaim(void)
{
}

void ttak_flavour_start_background(void)
{
}

void ttak_flavour_stop_background(void)
{
}
