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
 * touches shared objects; a retirer unlinks objects, issues a full barrier
 * and stamps the batch with the global epoch E it then reads. Before
 * judging a batch the reclaimer issues a heavy barrier (a full barrier on
 * every reader: membarrier() in user space, smp_mb() paired with the
 * reader's own smp_mb() in the kernel; ttak_flavour_heavy_barrier()) and
 * then reads every record, reading each state with acquire, which pairs
 * with the store-release of 0 by which a reader leaves. A
 * reader that can still reach an object of the batch is therefore seen
 * inside a section with an epoch <= E, and a batch is freed only when
 * every reader seen inside has an epoch > E. The global epoch moves on
 * only when every reader inside has caught up with it, so readers that
 * keep entering cannot hold a batch back for ever.
 */
#include "ttak_core.h"
#include "epoch_flavour.h"
#include <ttak/timing/timing.h>

#define TTAK_RETIRE_BATCH	254	/* items per batch: a 4 KiB chunk */
#define TTAK_SPARE_CHUNKS	16
/* batches for retires inside a section when no memory is left */
#define TTAK_RESERVE_CHUNKS	4
/* queue length at which a thread sealing a batch reclaims first */
#define TTAK_RECLAIM_SOFT	(8 * TTAK_RETIRE_BATCH)

struct ttak_retire_item {
	void *ptr;
	void (*cleanup)(void *ptr);
};

/* Batches one reclaimer detached and is running the cleanups of. */
struct ttak_run {
	u64 ticket;
	struct ttak_run *next;
};

struct ttak_retire_chunk {
	struct ttak_retire_chunk *next;
	u64 stamp;		/* global epoch when sealed */
	u64 seq;		/* seal order */
	size_t count;
	bool reserve;		/* static, from ttak_reserve[]: never freed */
	struct ttak_retire_item items[TTAK_RETIRE_BATCH];
};

static struct {
	ttak_lock_t lock;
	struct ttak_retire_chunk *head;		/* sealed, in stamp order */
	struct ttak_retire_chunk **tail;
	size_t pending;				/* items in sealed chunks */
	u64 sealed;				/* chunks sealed so far */
	struct ttak_retire_chunk *spare;
	size_t nspare;
	struct ttak_retire_chunk *reserve;	/* free reserve batches */
	struct ttak_run *runs;	/* in progress, on the runners' stacks */
	u64 run_tickets;	/* tickets handed out so far */
} ttak_ebr;

static struct ttak_retire_chunk ttak_reserve[TTAK_RESERVE_CHUNKS];

ttak_atomic_u64_t ttak_epoch_global;

static struct ttak_retire_chunk *ttak_chunk_get(void)
{
	struct ttak_retire_chunk *c;

	ttak_lock(&ttak_ebr.lock);
	c = ttak_ebr.spare;
	if (c) {
		ttak_ebr.spare = c->next;
		ttak_ebr.nspare--;
	}
	ttak_unlock(&ttak_ebr.lock);
	if (!c) {
		c = ttak_plat_alloc(sizeof(*c));
		if (c)
			c->reserve = false;
	}
	if (c) {
		c->next = NULL;
		c->count = 0;
	}
	return c;
}

/* A reserve batch, for a retire inside a section that found no memory. */
static struct ttak_retire_chunk *ttak_reserve_get(void)
{
	struct ttak_retire_chunk *c;

	ttak_lock(&ttak_ebr.lock);
	c = ttak_ebr.reserve;
	if (c)
		ttak_ebr.reserve = c->next;
	ttak_unlock(&ttak_ebr.lock);
	if (c) {
		c->next = NULL;
		c->count = 0;
	}
	return c;
}

static void ttak_chunk_put(struct ttak_retire_chunk *c)
{
	ttak_lock(&ttak_ebr.lock);
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
	ttak_unlock(&ttak_ebr.lock);
	ttak_plat_free(c);
}

/* Append @c to the sealed queue (domain locked). */
static void ttak_chunk_queue_locked(struct ttak_retire_chunk *c)
{
	c->stamp = ttak_a64_read(&ttak_epoch_global);
	c->seq = ++ttak_ebr.sealed;
	c->next = NULL;
	*ttak_ebr.tail = c;
	ttak_ebr.tail = &c->next;
	ttak_ebr.pending += c->count;
}

/* Queue a full or partial batch; returns the queue length after it. */
static size_t ttak_chunk_seal(struct ttak_retire_chunk *c)
{
	size_t pending;

	/* every unlink of the batch's objects is ordered before the stamp */
	ttak_smp_mb();
	ttak_lock(&ttak_ebr.lock);
	ttak_chunk_queue_locked(c);
	pending = ttak_ebr.pending;
	ttak_unlock(&ttak_ebr.lock);
	return pending;
}

/*
 * Take the caller's open batch. @keep_empty leaves an empty one in place
 * for the next retire and returns NULL.
 */
static struct ttak_retire_chunk *ttak_take_own(bool keep_empty)
{
	struct ttak_retire_chunk **slot, *c;

	ttak_flavour_chunk_lock();
	slot = ttak_flavour_open_chunk();
	c = slot ? *slot : NULL;
	if (c && (c->count || !keep_empty))
		*slot = NULL;
	else
		c = NULL;
	ttak_flavour_chunk_unlock();
	return c;
}

void ttak_epoch_seal_own(void)
{
	struct ttak_retire_chunk *c = ttak_take_own(false);

	if (c && c->count)
		ttak_chunk_seal(c);
	else if (c)
		ttak_chunk_put(c);	/* an empty batch must not outlive its owner */
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

/* Detach the chunks sealed up to @last_seq whose grace period is over. */
static struct ttak_retire_chunk *ttak_detach_safe(u64 last_seq, u64 bound)
{
	struct ttak_retire_chunk *done = NULL, **done_tail = &done, *c;

	while ((c = ttak_ebr.head) && c->seq <= last_seq && c->stamp < bound) {
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
	size_t i;

	for (; c; c = next) {
		next = c->next;
		for (i = 0; i < c->count; i++)
			c->items[i].cleanup(c->items[i].ptr);
		c->count = 0;
		c->next = NULL;
		/* reuse it as the caller's open batch: no trip to the pool */
		ttak_flavour_chunk_lock();
		slot = ttak_flavour_open_chunk();
		if (slot && !*slot && !c->reserve) {
			*slot = c;
			c = NULL;
		}
		ttak_flavour_chunk_unlock();
		if (c)
			ttak_chunk_put(c);
	}
}

/*
 * One reclamation pass; never waits. @own, the caller's batch if any, is
 * queued under the same lock as the snapshot. Readers the scan sees inside
 * with an old epoch are reported through @scan when the caller asks.
 */
static void ttak_reclaim_pass(struct ttak_scan *scan,
			      struct ttak_retire_chunk *own)
{
	struct ttak_retire_chunk *done;
	struct ttak_run run, **pp;
	u64 last_seq, bound;

	if (own)
		ttak_smp_mb();	/* as in ttak_chunk_seal() */
	ttak_lock(&ttak_ebr.lock);
	if (own)
		ttak_chunk_queue_locked(own);
	last_seq = ttak_ebr.sealed;
	ttak_unlock(&ttak_ebr.lock);

	/* batches sealed before this barrier are the ones this scan judges */
	ttak_flavour_heavy_barrier();

	ttak_lock(&ttak_ebr.lock);
	ttak_scan_locked(scan);
	bound = scan->any_inside ? scan->min_epoch : scan->global;
	done = ttak_detach_safe(last_seq, bound);
	if (done) {
		/* no longer pending, not yet cleaned: visible to synchronize */
		run.ticket = ++ttak_ebr.run_tickets;
		run.next = ttak_ebr.runs;
		ttak_ebr.runs = &run;
	}
	ttak_unlock(&ttak_ebr.lock);
	if (!done)
		return;

	ttak_run_chunks(done);
	ttak_lock(&ttak_ebr.lock);
	for (pp = &ttak_ebr.runs; *pp != &run; pp = &(*pp)->next)
		;
	*pp = run.next;
	ttak_unlock(&ttak_ebr.lock);
}

/* Wait for the cleanups other reclaimers had taken when this was called. */
static void ttak_wait_runs(void)
{
	struct ttak_run *r;
	u64 last;
	bool busy;

	ttak_lock(&ttak_ebr.lock);
	last = ttak_ebr.run_tickets;
	ttak_unlock(&ttak_ebr.lock);
	for (;;) {
		busy = false;
		ttak_lock(&ttak_ebr.lock);
		for (r = ttak_ebr.runs; r && !busy; r = r->next)
			busy = r->ticket <= last;
		ttak_unlock(&ttak_ebr.lock);
		if (!busy)
			return;
		ttak_plat_wait_relax();
	}
}

void ttak_epoch_reclaim(void)
{
	struct ttak_scan scan = { 0 };

	ttak_reclaim_pass(&scan, ttak_take_own(true));
}
EXPORT_SYMBOL_GPL(ttak_epoch_reclaim);

/* Wait until every reader inside a section now has left it. */
static void ttak_wait_readers(void)
{
	struct ttak_scan scan = { 0 };
	u64 target = ttak_a64_read(&ttak_epoch_global);

	for (;;) {
		ttak_flavour_heavy_barrier();
		ttak_lock(&ttak_ebr.lock);
		ttak_scan_locked(&scan);
		ttak_unlock(&ttak_ebr.lock);
		/* once the epoch moved past target, new readers do not count */
		if (scan.global > target &&
		    (!scan.any_inside || scan.min_epoch > target))
			return;
		ttak_plat_wait_relax();
	}
}

void ttak_epoch_synchronize(void)
{
	ttak_might_sleep();
	if (ttak_flavour_in_section()) {
		ttak_plat_err("epoch synchronize inside a read section; refused\n");
		ttak_set_errno(EDEADLK);
		return;
	}
	ttak_epoch_seal_own();
	ttak_wait_readers();
	ttak_epoch_reclaim();
	/* what another thread detached meanwhile is cleaned before we return */
	ttak_wait_runs();
}
EXPORT_SYMBOL_GPL(ttak_epoch_synchronize);

/*
 * No memory for a batch. Outside a section the caller may wait: once
 * every reader inside now has left, nobody can hold @ptr. Inside one it
 * must not (its own section holds @ptr), so a static reserve batch takes
 * the retiree; with the reserve gone too, a reclaim pass may refill the
 * pools, and failing that @ptr is kept for ever rather than freed early.
 * Returns the batch to use, or NULL when @ptr was dealt with.
 */
static struct ttak_retire_chunk *ttak_retire_no_memory(void *ptr,
						       void (*cleanup)(void *))
{
	struct ttak_retire_chunk *c;

	if (!ttak_flavour_in_section()) {
		ttak_plat_err("retire: no memory for a batch, waiting for readers instead\n");
		ttak_wait_readers();
		cleanup(ptr);
		return NULL;
	}
	c = ttak_reserve_get();
	if (c)
		return c;
	ttak_epoch_reclaim();
	c = ttak_chunk_get();
	if (!c)
		c = ttak_reserve_get();
	if (c)
		return c;
	ttak_plat_err("retire inside a section: no memory and no reserve; the object is kept, never freed\n");
	return NULL;
}

void ttak_epoch_retire(void *ptr, void (*cleanup)(void *))
{
	struct ttak_retire_chunk **slot, *c, *fresh = NULL;
	size_t pending = 0;

	if (!ptr)
		return;
	if (!cleanup)
		cleanup = ttak_mem_free_cb;
	ttak_might_sleep();

	ttak_flavour_chunk_lock();
	slot = ttak_flavour_open_chunk();
	if (!*slot) {
		/* allocate outside the lock; another retirer may beat us */
		ttak_flavour_chunk_unlock();
		fresh = ttak_chunk_get();
		if (!fresh)
			fresh = ttak_retire_no_memory(ptr, cleanup);
		if (!fresh)
			return;
		ttak_flavour_chunk_lock();
		slot = ttak_flavour_open_chunk();
		if (!*slot) {
			*slot = fresh;
			fresh = NULL;
		}
	}
	c = *slot;
	c->items[c->count].ptr = ptr;
	c->items[c->count].cleanup = cleanup;
	if (++c->count == TTAK_RETIRE_BATCH)
		*slot = NULL;
	else
		c = NULL;
	ttak_flavour_chunk_unlock();

	if (fresh)
		ttak_chunk_put(fresh);
	if (c)
		pending = ttak_chunk_seal(c);
	/* back-pressure: the queue stays bounded while readers progress */
	if (pending >= TTAK_RECLAIM_SOFT)
		ttak_epoch_reclaim();
}
EXPORT_SYMBOL_GPL(ttak_epoch_retire);

size_t ttak_epoch_report_blockers(struct ttak_epoch_blocker *out, size_t max)
{
	struct ttak_scan scan = { 0 };

	scan.out = out;
	scan.max = out ? max : 0;
	ttak_flavour_heavy_barrier();
	ttak_lock(&ttak_ebr.lock);
	ttak_scan_locked(&scan);
	ttak_unlock(&ttak_ebr.lock);
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
	size_t pending;

	ttak_lock(&ttak_ebr.lock);
	pending = ttak_ebr.pending;
	ttak_unlock(&ttak_ebr.lock);
	return pending;
}
EXPORT_SYMBOL_GPL(ttak_epoch_pending);

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
	return 0;
}

void ttak_epoch_core_exit(void)
{
	struct ttak_retire_chunk *c;

	/* the open batch is not counted as pending until it is sealed */
	ttak_epoch_seal_own();
	while (ttak_epoch_pending()) {
		ttak_epoch_synchronize();
		if (ttak_epoch_pending())
			ttak_plat_wait_relax();
	}
	/* the last pass may have recycled a drained batch as the open one */
	ttak_epoch_seal_own();
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
