// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Epoch-based reclamation, the shared half: the global epoch, retire
 * batches, grace-period detection and reclamation. The read side - the
 * reader records, enter/exit and the heavy barrier - is a flavour, one
 * per home, behind epoch_flavour.h: per CPU in the kernel
 * (kernel/epoch_percpu.c), per thread with membarrier() in user space
 * (user/lib/epoch_membarrier.c).
 *
 * Safety argument, in short. A reader publishes (epoch << 1) | 1 before it
 * touches shared objects; a retirer unlinks objects and puts them in its
 * open batch. A full batch (or an open one a pass seals) is queued after
 * a full barrier, stamped with the global epoch E it then reads and with
 * the flavour's grace-period snapshot.
 * A batch is freed on either of two proofs:
 *
 *  1. The scan. The reclaimer issues a heavy barrier (a full barrier on
 *     every reader: membarrier() in user space, an IPI to every CPU in
 *     the kernel; ttak_flavour_heavy_barrier()) and then reads every
 *     record, each state with acquire, which pairs with the store-release
 *     of 0 by which a reader leaves. A reader that can still reach an
 *     object of a batch queued before the barrier is therefore seen
 *     inside with an epoch <= E, and such a batch is freed only when
 *     every reader seen inside has an epoch > E. The global epoch moves
 *     on only when every reader inside has caught up with it, so readers
 *     that keep entering cannot hold a batch back for ever.
 *  2. The flavour's own grace period, where it has one: in the kernel a
 *     section runs with preemption disabled and so is an RCU read-side
 *     critical section; once RCU's grace period from the batch's
 *     snapshot is over, every section that began before the batch was
 *     queued (all that could reach its objects) has ended.
 *
 * Proof 1 is immediate, but its barrier interrupts every reader; user
 * space has only it, and every reclaiming call uses it, so a rotation
 * frees what no reader holds before it returns. Proof 2 costs nobody
 * anything but time: in the kernel every pass (a rotation's, the
 * background work's) frees what it covers, and only a pass that finds
 * the queue past its bound, or ttak_epoch_synchronize(), pays for
 * proof 1 (ttak_flavour_scan_on_every_pass()). So kernel readers enter
 * without a barrier, and a rotation there frees its garbage once an RCU
 * grace period has passed, as call_rcu() would.
 *
 * Cleanups run only in passes, which run where the flavour allows
 * (kernel: preemptible process context, the work item included); a
 * retire in any other context only queues and asks for a pass.
 */
#include "ttak_core.h"
#include "epoch_flavour.h"
#include <ttak/timing/timing.h>

#define TTAK_SPARE_CHUNKS	16
/* batches for retires that find no memory where they may not wait */
#define TTAK_RESERVE_CHUNKS	4
/*
 * Queue length at which a retirer that may reclaim runs a pass itself
 * (one that may not asks for the background one): the bound on what
 * waits, while readers progress. Where passes do not scan the readers
 * (kernel), a pass past the bound does, and that interrupts every CPU:
 * the queue may hold more first (RCU, for comparison, lets 10000
 * callbacks per CPU wait before it hurries its grace periods).
 */
#define TTAK_RECLAIM_SOFT	(8 * TTAK_RETIRE_BATCH)
#define TTAK_RECLAIM_SOFT_LAZY	(64 * TTAK_RETIRE_BATCH)

struct ttak_retire_item {
	void *ptr;
	void (*cleanup)(void *ptr);
};

/* Batches one reclaimer detached and is running the cleanups of. */
struct ttak_run {
	u64 ticket;
	struct ttak_run *next;
};

#define TTAK_CHUNK_HEAD_BYTES	48
/* items per batch: the batch fills a 4 KiB slab object */
#define TTAK_RETIRE_BATCH	\
	((4096 - TTAK_CHUNK_HEAD_BYTES) / sizeof(struct ttak_retire_item))

struct ttak_retire_chunk {
	struct ttak_retire_chunk *next;
	u64 stamp;		/* global epoch when queued */
	u64 seq;		/* queue order */
	unsigned long gp;	/* the flavour's grace-period snapshot */
	size_t count;
	bool reserve;		/* static, from ttak_reserve[]: never freed */
	struct ttak_retire_item items[TTAK_RETIRE_BATCH];
};

static_assert(sizeof(struct ttak_retire_chunk) <= 4096,
	      "a retire batch outgrew its 4 KiB");

/*
 * The domain. Its lock is taken with interrupts off in the kernel: a
 * retire in hard interrupt context queues a full batch and takes a
 * spare one under it. Nothing under it sleeps or runs a cleanup.
 */
static struct {
	ttak_lock_t lock;
	struct ttak_retire_chunk *head;		/* queued, in seq order */
	struct ttak_retire_chunk **tail;
	size_t pending;				/* items in queued chunks */
	u64 sealed;				/* chunks queued so far */
	struct ttak_retire_chunk *spare;
	size_t nspare;
	struct ttak_retire_chunk *reserve;	/* free reserve batches */
	struct ttak_run *runs;	/* in progress, on the runners' stacks */
	u64 run_tickets;	/* tickets handed out so far */
	u64 kept;		/* retirees kept for ever: no memory at all */
	bool scanning;		/* a bound-driven scan is in progress */
} ttak_ebr;

static struct ttak_retire_chunk ttak_reserve[TTAK_RESERVE_CHUNKS];

/* read by the inline ttak_epoch_enter() of both homes */
ttak_atomic_u64_t ttak_epoch_global;
EXPORT_SYMBOL_GPL(ttak_epoch_global);

static unsigned long ttak_ebr_lock(void)
	__acquires(&ttak_ebr.lock)
{
	unsigned long flags;

	ttak_lock_irqsave(&ttak_ebr.lock, flags);
	return flags;
}

static void ttak_ebr_unlock(unsigned long flags)
	__releases(&ttak_ebr.lock)
{
	ttak_unlock_irqrestore(&ttak_ebr.lock, flags);
}

/* A batch from the spare pool or the allocator; any context. */
static struct ttak_retire_chunk *ttak_chunk_get(void)
{
	struct ttak_retire_chunk *c;
	unsigned long flags;

	flags = ttak_ebr_lock();
	c = ttak_ebr.spare;
	if (c) {
		ttak_ebr.spare = c->next;
		ttak_ebr.nspare--;
	}
	ttak_ebr_unlock(flags);
	if (!c) {
		c = ttak_plat_alloc_any(sizeof(*c));
		if (c)
			c->reserve = false;
	}
	if (c) {
		c->next = NULL;
		c->count = 0;
	}
	return c;
}

/* A reserve batch, for a retire that found no memory and may not wait. */
static struct ttak_retire_chunk *ttak_reserve_get(void)
{
	struct ttak_retire_chunk *c;
	unsigned long flags;

	flags = ttak_ebr_lock();
	c = ttak_ebr.reserve;
	if (c)
		ttak_ebr.reserve = c->next;
	ttak_ebr_unlock(flags);
	if (c) {
		c->next = NULL;
		c->count = 0;
	}
	return c;
}

static void ttak_chunk_put(struct ttak_retire_chunk *c)
{
	unsigned long flags;

	flags = ttak_ebr_lock();
	if (c->reserve) {
		c->next = ttak_ebr.reserve;
		ttak_ebr.reserve = c;
		c = NULL;
	} else if (ttak_ebr.nspare < TTAK_SPARE_CHUNKS) {
		c->next = ttak_ebr.spare;
		ttak_ebr.spare = c;
		ttak_ebr.nspare++;
		c = NULL;
	}
	ttak_ebr_unlock(flags);
	ttak_plat_free(c);
}

/*
 * Append the chain @c to the queue (domain locked). The caller issued a
 * full barrier after the chain's unlinks: both proofs start after them.
 */
static void ttak_chunks_queue_locked(struct ttak_retire_chunk *c)
{
	struct ttak_retire_chunk *next;
	unsigned long gp = ttak_flavour_gp_snapshot();
	u64 stamp = ttak_a64_read(&ttak_epoch_global);

	for (; c; c = next) {
		next = c->next;
		c->stamp = stamp;
		c->gp = gp;
		c->seq = ++ttak_ebr.sealed;
		c->next = NULL;
		*ttak_ebr.tail = c;
		ttak_ebr.tail = &c->next;
		ttak_ebr.pending += c->count;
	}
}

/* Queue a chain of batches; returns the queue length after it. */
static size_t ttak_chunks_seal(struct ttak_retire_chunk *c)
{
	unsigned long flags;
	size_t pending;

	/* every unlink of the batches' objects is ordered before the stamp */
	ttak_smp_mb();
	flags = ttak_ebr_lock();
	ttak_chunks_queue_locked(c);
	pending = ttak_ebr.pending;
	ttak_ebr_unlock(flags);
	return pending;
}

struct ttak_taken {
	struct ttak_retire_chunk *list;
	bool keep_empty;	/* leave an empty batch in place */
};

/* Take a slot's batch onto the caller's list (the slot is locked). */
static void ttak_take_open(struct ttak_retire_chunk **slot, void *ctx)
{
	struct ttak_taken *taken = ctx;
	struct ttak_retire_chunk *c = *slot;

	if (!c || (!c->count && taken->keep_empty))
		return;
	*slot = NULL;
	c->next = taken->list;
	taken->list = c;
}

/*
 * Queue the open batches a pass may seal (@every: every CPU's, in the
 * kernel); empty ones go back to the pool unless @keep_empty.
 */
static void ttak_seal_open(bool every, bool keep_empty)
{
	struct ttak_taken taken = { .keep_empty = keep_empty };
	struct ttak_retire_chunk *c, *next, *full = NULL;

	ttak_flavour_visit_open(every, ttak_take_open, &taken);
	for (c = taken.list; c; c = next) {
		next = c->next;
		if (c->count) {
			c->next = full;
			full = c;
		} else {
			ttak_chunk_put(c);	/* must not outlive its owner */
		}
	}
	if (full)
		ttak_chunks_seal(full);
}

void ttak_epoch_seal_own(void)
{
	ttak_seal_open(false, false);
}

struct ttak_scan {
	u64 global;
	u64 now_ns;
	u64 min_epoch;		/* smallest epoch of a reader inside */
	bool any_inside;
	struct ttak_epoch_blocker *out;
	size_t max;
	size_t blockers;
};

static void ttak_scan_reader(ttak_atomic_u64_t *rstate,
			     struct ttak_epoch_seen *seen, int id, void *ctx)
{
	struct ttak_scan *scan = ctx;
	/* acquire: pairs with the reader's store-release of 0 on exit */
	u64 state = ttak_a64_read_acquire(rstate);
	u64 epoch = state >> 1;

	if (!(state & 1)) {
		seen->state = 0;
		return;
	}
	if (!scan->any_inside || epoch < scan->min_epoch)
		scan->min_epoch = epoch;
	scan->any_inside = true;

	/* stall bookkeeping for flush-status reports; clock read only here */
	if (!scan->now_ns)
		scan->now_ns = ttak_get_tick_count_ns();
	if (seen->state != state) {
		seen->state = state;
		seen->since_ns = scan->now_ns;
	}
	if (epoch < scan->global) {
		if (scan->blockers < scan->max) {
			scan->out[scan->blockers].id = id;
			scan->out[scan->blockers].epoch = epoch;
			scan->out[scan->blockers].held_ns =
				scan->now_ns - seen->since_ns;
		}
		scan->blockers++;
	}
}

/* Scan readers with the domain locked; advance the epoch if all caught up. */
static void ttak_scan_locked(struct ttak_scan *scan)
{
	scan->global = ttak_a64_read(&ttak_epoch_global);
	scan->now_ns = 0;
	scan->any_inside = false;
	scan->blockers = 0;
	ttak_flavour_scan_readers(ttak_scan_reader, scan);
	if (!scan->any_inside || scan->min_epoch >= scan->global) {
		if (ttak_a64_cmpxchg(&ttak_epoch_global, scan->global,
				     scan->global + 1))
			scan->global++;
	}
}

/*
 * Detach the chunks at the head of the queue whose grace period is
 * over: sealed up to @last_seq (before the scan's barrier) with a stamp
 * below @bound, or covered by the flavour's own proof. Both proofs
 * only grow along the queue, so the first chunk with neither ends it.
 */
static struct ttak_retire_chunk *ttak_detach_safe(u64 last_seq, u64 bound)
{
	struct ttak_retire_chunk *done = NULL, **done_tail = &done, *c;

	while ((c = ttak_ebr.head)) {
		if (!(c->seq <= last_seq && c->stamp < bound) &&
		    !ttak_flavour_gp_passed(c->gp))
			break;
		ttak_ebr.head = c->next;
		if (!ttak_ebr.head)
			ttak_ebr.tail = &ttak_ebr.head;
		ttak_ebr.pending -= c->count;
		c->next = NULL;
		*done_tail = c;
		done_tail = &c->next;
	}
	return done;
}

static void ttak_run_chunks(struct ttak_retire_chunk *c)
{
	struct ttak_retire_chunk *next, **slot;
	unsigned long flags;
	size_t i;

	for (; c; c = next) {
		next = c->next;
		for (i = 0; i < c->count; i++)
			c->items[i].cleanup(c->items[i].ptr);
		c->count = 0;
		c->next = NULL;
		/* reuse it as the caller's open batch: no trip to the pool */
		flags = ttak_flavour_chunk_lock();
		slot = ttak_flavour_open_chunk();
		if (!*slot && !c->reserve) {
			*slot = c;
			c = NULL;
		}
		ttak_flavour_chunk_unlock(flags);
		if (c)
			ttak_chunk_put(c);
	}
}

/*
 * One reclamation pass; never waits for a reader. With @expedite it
 * seals the caller's open batch (@every: every CPU's), forces the
 * ordering on every reader and scans their records, so a batch no
 * reader can hold now is freed now. Without, it frees what the flavour's
 * cheaper proof covers, and seals only with @seal: a batch sealed now
 * has no grace period behind it yet, and the background pass, which
 * seals, comes anyway. Readers the scan sees inside with an old epoch
 * are reported through @scan when the caller asks.
 */
static void ttak_reclaim_pass(struct ttak_scan *scan, bool every,
			      bool seal, bool expedite)
{
	struct ttak_retire_chunk *done;
	struct ttak_run run, **pp;
	unsigned long flags;
	u64 last_seq = 0, bound = 0;
	bool left;

	if (seal || expedite)
		ttak_seal_open(every, true);
	if (expedite) {
		flags = ttak_ebr_lock();
		last_seq = ttak_ebr.sealed;
		ttak_ebr_unlock(flags);
		/* batches sealed before this barrier are the ones it judges */
		ttak_flavour_heavy_barrier();
	}

	flags = ttak_ebr_lock();
	if (expedite) {
		ttak_scan_locked(scan);
		bound = scan->any_inside ? scan->min_epoch : scan->global;
	}
	done = ttak_detach_safe(last_seq, bound);
	if (done) {
		/* no longer pending, not yet cleaned: visible to synchronize */
		run.ticket = ++ttak_ebr.run_tickets;
		run.next = ttak_ebr.runs;
		ttak_ebr.runs = &run;
	}
	left = ttak_ebr.head;
	ttak_ebr_unlock(flags);
	/* what waits for readers is the background's to look at again */
	if (left)
		ttak_flavour_kick_reclaim();
	if (!done)
		return;

	ttak_run_chunks(done);
	flags = ttak_ebr_lock();
	for (pp = &ttak_ebr.runs; *pp != &run; pp = &(*pp)->next)
		;
	*pp = run.next;
	ttak_ebr_unlock(flags);
}

/* Wait for the cleanups other reclaimers had taken when this was called. */
static void ttak_wait_runs(void)
{
	struct ttak_run *r;
	unsigned long flags;
	u64 last;
	bool busy;

	flags = ttak_ebr_lock();
	last = ttak_ebr.run_tickets;
	ttak_ebr_unlock(flags);
	for (;;) {
		busy = false;
		flags = ttak_ebr_lock();
		for (r = ttak_ebr.runs; r && !busy; r = r->next)
			busy = r->ticket <= last;
		ttak_ebr_unlock(flags);
		if (!busy)
			return;
		ttak_plat_wait_relax();
	}
}

static size_t ttak_pending_now(void)
{
	unsigned long flags;
	size_t pending;

	flags = ttak_ebr_lock();
	pending = ttak_ebr.pending;
	ttak_ebr_unlock(flags);
	return pending;
}

static size_t ttak_reclaim_soft(void)
{
	return ttak_flavour_scan_on_every_pass() ? TTAK_RECLAIM_SOFT :
						    TTAK_RECLAIM_SOFT_LAZY;
}

/*
 * A pass. Where the scan is the only proof, a scanning one. Elsewhere
 * (kernel) what the grace periods cover first, and only if the queue is
 * still past its bound a scan, by one reclaimer at a time: the others go
 * on, one round of IPIs serves them all.
 */
static void ttak_pass(bool seal)
{
	struct ttak_scan scan = { 0 };
	unsigned long flags;
	bool mine;

	if (ttak_flavour_scan_on_every_pass()) {
		ttak_reclaim_pass(&scan, true, seal, true);
		return;
	}
	ttak_reclaim_pass(&scan, true, seal, false);
	if (ttak_pending_now() < TTAK_RECLAIM_SOFT_LAZY)
		return;
	flags = ttak_ebr_lock();
	mine = !ttak_ebr.scanning;
	ttak_ebr.scanning = true;
	ttak_ebr_unlock(flags);
	if (!mine)
		return;
	ttak_reclaim_pass(&scan, true, true, true);
	flags = ttak_ebr_lock();
	ttak_ebr.scanning = false;
	ttak_ebr_unlock(flags);
}

void ttak_epoch_reclaim(void)
{
	if (!ttak_flavour_may_reclaim()) {
		ttak_plat_err("epoch reclaim where it may not sleep; left to the background\n");
		ttak_flavour_kick_reclaim();
		return;
	}
	ttak_pass(false);
}
EXPORT_SYMBOL_GPL(ttak_epoch_reclaim);

void ttak_epoch_background_pass(void)
{
	ttak_pass(true);
}

/* Wait until every reader inside a section now has left it. */
static void ttak_wait_readers(void)
{
	struct ttak_scan scan = { 0 };
	u64 target = ttak_a64_read(&ttak_epoch_global);
	unsigned long flags;

	for (;;) {
		ttak_flavour_heavy_barrier();
		flags = ttak_ebr_lock();
		ttak_scan_locked(&scan);
		ttak_ebr_unlock(flags);
		/* once the epoch moved past target, new readers do not count */
		if (scan.global > target &&
		    (!scan.any_inside || scan.min_epoch > target))
			return;
		/* not a barrier per spin: readers may stay a while */
		ttak_flavour_wait_for_readers();
	}
}

void ttak_epoch_synchronize(void)
{
	struct ttak_scan scan = { 0 };

	ttak_might_sleep();
	if (ttak_flavour_in_section()) {
		ttak_plat_err("epoch synchronize inside a read section; refused\n");
		ttak_set_errno(EDEADLK);
		return;
	}
	if (!ttak_flavour_may_reclaim()) {
		ttak_plat_err("epoch synchronize where it may not sleep; refused\n");
		ttak_set_errno(EDEADLK);
		return;
	}
	ttak_seal_open(true, false);
	ttak_wait_readers();
	/* a scanning pass: what was sealed above is free of readers now */
	ttak_reclaim_pass(&scan, true, true, true);
	/* what another thread detached meanwhile is cleaned before we return */
	ttak_wait_runs();
}
EXPORT_SYMBOL_GPL(ttak_epoch_synchronize);

/*
 * No memory for a batch. A caller that may wait does: once every reader
 * inside now has left, nobody can hold @ptr. One that may not (inside a
 * section its own section holds @ptr; in the kernel also any atomic
 * context) takes a static reserve batch; with the reserve gone too, a
 * reclaim pass may refill the pools where one may run, and failing that
 * @ptr is kept for ever rather than freed early, and counted.
 * Returns the batch to use, or NULL when @ptr was dealt with.
 */
static struct ttak_retire_chunk *ttak_retire_no_memory(void *ptr,
						       void (*cleanup)(void *))
{
	struct ttak_retire_chunk *c;
	unsigned long flags;

	if (!ttak_flavour_in_section() && ttak_flavour_may_reclaim()) {
		ttak_plat_err("retire: no memory for a batch, waiting for readers instead\n");
		ttak_seal_open(true, false);
		ttak_wait_readers();
		cleanup(ptr);
		return NULL;
	}
	c = ttak_reserve_get();
	if (c)
		return c;
	if (ttak_flavour_may_reclaim()) {
		ttak_epoch_reclaim();
		c = ttak_chunk_get();
		if (!c)
			c = ttak_reserve_get();
		if (c)
			return c;
	}
	flags = ttak_ebr_lock();
	ttak_ebr.kept++;
	ttak_ebr_unlock(flags);
	ttak_flavour_kick_reclaim();	/* so the reserve comes back */
	ttak_plat_err("retire: no memory and no reserve here; the object is kept, never freed\n");
	return NULL;
}

void ttak_epoch_retire(void *ptr, void (*cleanup)(void *))
{
	struct ttak_retire_chunk **slot, *c, *fresh = NULL;
	unsigned long flags;
	size_t pending;
	bool first;

	if (!ptr)
		return;
	if (!cleanup)
		cleanup = ttak_mem_free_cb;
	if (!ttak_flavour_may_retire()) {
		ttak_plat_err("retire in a context that may not retire; the object is kept, never freed\n");
		return;
	}

	for (;;) {
		flags = ttak_flavour_chunk_lock();
		slot = ttak_flavour_open_chunk();
		if (*slot || fresh)
			break;
		/* allocate outside the lock; another retirer may beat us */
		ttak_flavour_chunk_unlock(flags);
		fresh = ttak_chunk_get();
		if (!fresh)
			fresh = ttak_retire_no_memory(ptr, cleanup);
		if (!fresh)
			return;
	}
	if (!*slot) {
		*slot = fresh;
		fresh = NULL;
	}
	c = *slot;
	c->items[c->count].ptr = ptr;
	c->items[c->count].cleanup = cleanup;
	first = c->count++ == 0;
	if (c->count == TTAK_RETIRE_BATCH)
		*slot = NULL;
	else
		c = NULL;
	ttak_flavour_chunk_unlock(flags);

	if (fresh)
		ttak_chunk_put(fresh);
	/*
	 * A batch that never fills must not wait for a reclaim nobody
	 * calls: the background pass seals it (kernel; a no-op in user
	 * space, where the thread seals its own at the latest at exit).
	 */
	if (first && !c)
		ttak_flavour_kick_reclaim();
	if (!c)
		return;
	pending = ttak_chunks_seal(c);
	/* back-pressure: the queue stays bounded while readers progress */
	if (pending >= ttak_reclaim_soft() && ttak_flavour_may_reclaim())
		ttak_epoch_reclaim();
	else
		ttak_flavour_kick_reclaim();
}
EXPORT_SYMBOL_GPL(ttak_epoch_retire);

size_t ttak_epoch_report_blockers(struct ttak_epoch_blocker *out, size_t max)
{
	struct ttak_scan scan = { 0 };
	unsigned long flags;

	scan.out = out;
	scan.max = out ? max : 0;
	ttak_flavour_heavy_barrier();
	flags = ttak_ebr_lock();
	ttak_scan_locked(&scan);
	/*
	 * Where passes do not scan (kernel), the epoch may not have moved
	 * since the readers inside entered, so none looks old: the scan
	 * just moved it if it could, and a second one names them.
	 */
	if (!scan.blockers && scan.any_inside &&
	    !ttak_flavour_scan_on_every_pass())
		ttak_scan_locked(&scan);
	ttak_ebr_unlock(flags);
	return scan.blockers;
}
EXPORT_SYMBOL_GPL(ttak_epoch_report_blockers);

uint64_t ttak_epoch_current(void)
{
	return ttak_a64_read(&ttak_epoch_global);
}
EXPORT_SYMBOL_GPL(ttak_epoch_current);

size_t ttak_epoch_pending(void)
{
	return ttak_pending_now();
}
EXPORT_SYMBOL_GPL(ttak_epoch_pending);

size_t ttak_epoch_spare_count(void)
{
	return READ_ONCE(ttak_ebr.nspare);
}

size_t ttak_epoch_spare_trim(void)
{
	struct ttak_retire_chunk *c, *next;
	unsigned long flags;
	size_t n;

	flags = ttak_ebr_lock();
	c = ttak_ebr.spare;
	n = ttak_ebr.nspare;
	ttak_ebr.spare = NULL;
	ttak_ebr.nspare = 0;
	ttak_ebr_unlock(flags);
	for (; c; c = next) {
		next = c->next;
		ttak_plat_free(c);
	}
	return n;
}

ttak_lock_t *ttak_core_lock_at(size_t i)
{
	if (i < TTAK_TREE_LOCK_STRIPES)
		return ttak_mem_tree_lock_at(i);
	i -= TTAK_TREE_LOCK_STRIPES;
	if (i < TTAK_REGISTRY_STRIPES)
		return ttak_mem_lock_at(i);
	i -= TTAK_REGISTRY_STRIPES;
	return i ? NULL : &ttak_ebr.lock;
}

void ttak_core_fork_child(void)
{
	/* those runners stayed in the parent: their cleanups never run here */
	ttak_ebr.runs = NULL;
}

int ttak_epoch_core_init(void)
{
	size_t i;

	memset(&ttak_ebr, 0, sizeof(ttak_ebr));
	ttak_lock_init(&ttak_ebr.lock);
	ttak_ebr.tail = &ttak_ebr.head;
	for (i = 0; i < TTAK_RESERVE_CHUNKS; i++) {
		ttak_reserve[i].reserve = true;
		ttak_reserve[i].next = ttak_ebr.reserve;
		ttak_ebr.reserve = &ttak_reserve[i];
	}
	ttak_a64_set(&ttak_epoch_global, 1);
	ttak_flavour_start_background();
	return 0;
}

void ttak_epoch_core_exit(void)
{
	struct ttak_retire_chunk *c;

	ttak_flavour_stop_background();
	/* open batches are not counted as pending until they are sealed */
	ttak_seal_open(true, false);
	while (ttak_epoch_pending()) {
		ttak_epoch_synchronize();
		if (ttak_epoch_pending())
			ttak_plat_wait_relax();
	}
	/* the last pass may have recycled a drained batch as an open one */
	ttak_seal_open(true, false);
	while ((c = ttak_ebr.spare)) {
		ttak_ebr.spare = c->next;
		ttak_plat_free(c);
	}
	ttak_ebr.nspare = 0;
	ttak_lock_destroy(&ttak_ebr.lock);
}

int ttak_core_init(void)
{
	int err;

	ttak_mem_tree_core_init();
	err = ttak_mem_core_init();

	if (!err)
		err = ttak_epoch_core_init();
	return err;
}

void ttak_core_exit(void)
{
	ttak_epoch_core_exit();
	ttak_mem_core_exit();
}
