// SPDX-License-Identifier: GPL-2.0
/*
 * ttak.ko's EBR reader flavour: "percpu".
 *
 * Named after what the readers are: CPUs, not threads. Each CPU owns one
 * reader record per context level (task, softirq, hardirq, NMI, as
 * interrupt_context_level() numbers them), so there is nothing to
 * register, and a read section runs with preemption disabled: the task
 * cannot migrate away from the record it published and cannot sleep.
 * The read side is inline in <ttak/mem/epoch.h>, over the per-CPU records
 * exported here: preemption off, a store and smp_mb(). The interface
 * towards the core's epoch.c is kernel/core/epoch_flavour.h.
 *
 * Why a record per level: an interrupt may arrive anywhere inside
 * ttak_epoch_enter() or _exit() of the context below it. With one shared
 * record, a softirq landing between the task's nesting increment and its
 * publish saw "already inside", skipped publishing and read unprotected.
 * Contexts on one CPU nest strictly and none interrupts its own level, so
 * each record has exactly one writer at a time and needs no atomics.
 *
 * Two proofs of a grace period:
 *
 *  - The epoch scan (shared with user space): the reader's smp_mb() after
 *    its publish pairs with ttak_flavour_heavy_barrier()'s smp_mb() before
 *    the reclaimer reads the records, so either the scan sees the reader
 *    inside or the reader sees every unlink made before the barrier.
 *    Immediate; every reclaiming call of the API uses it.
 *
 *    Tried and measured instead (issue 9): readers with no barrier and an
 *    IPI to every CPU as the reclaimer's barrier, the twin of user space's
 *    membarrier(). The read section fell from 1.5-2.1x rcu_read_lock() to
 *    0.82-0.93x under TCG, but every rotation then interrupts every CPU:
 *    the arena cycle went from 1.0-2.3x kmem_cache+call_rcu to 6.7x at 2
 *    and 80-89x at 8 guest CPUs, and retire throughput from 1.0-1.7x to
 *    0.3-0.8x call_rcu. Barrier-free readers need reclaimers that wait for
 *    RCU (proof 2) on the common path, which changes what a rotation
 *    promises in the kernel; that is left for the performance issue.
 *
 *  - RCU: a region with preemption disabled is an RCU read-side critical
 *    section in every kernel we build for (since the RCU flavours were
 *    consolidated in 4.20), hardirq and NMI handlers included. A batch
 *    queued after its unlinks takes get_state_synchronize_rcu(); once
 *    poll_state_synchronize_rcu() says that grace period is over, every
 *    section that could have reached the batch's objects has ended. It
 *    costs nobody anything but latency, and a grace period is shared
 *    with the whole kernel. The background work, which frees what
 *    atomic-context retirers queued, is an rcu_work: it runs after a
 *    grace period and frees what that covers, with a scan on top only
 *    when the queue passed its bound.
 *
 * Retire batches are per CPU: a slot with the open batch, guarded by a
 * per-CPU spinlock taken with interrupts off (any context but NMI may
 * retire). Only its own CPU takes it, except a reclaimer sealing every
 * CPU's partial batch, so it never bounces between CPUs on the retire
 * path. Full batches go to epoch.c's queue and the work item is kicked.
 */
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "core/ttak_core.h"
#include "core/epoch_flavour.h"

DEFINE_PER_CPU(struct ttak_epoch_cpu_readers, ttak_epoch_cpu_readers);
EXPORT_PER_CPU_SYMBOL_GPL(ttak_epoch_cpu_readers);

/* The reclaimer's notes on each record; only epoch.c's scan writes them. */
struct ttak_cpu_seen {
	struct ttak_epoch_seen level[TTAK_EPOCH_CONTEXT_LEVELS];
};

static DEFINE_PER_CPU(struct ttak_cpu_seen, ttak_epoch_seen);

/* A CPU's open retire batch. */
struct ttak_cpu_batch {
	spinlock_t lock;	/* @open; taken by its CPU, or a sealing pass */
	struct ttak_retire_chunk *open;
};

static DEFINE_PER_CPU(struct ttak_cpu_batch, ttak_cpu_batch) = {
	.lock = __SPIN_LOCK_UNLOCKED(ttak_cpu_batch.lock),
};

static void ttak_background_fn(struct work_struct *work);

static struct rcu_work ttak_background;
static bool ttak_background_ready;	/* set at init, cleared at exit */

void ttak_epoch_exit_unmatched(void)
{
	WARN_ONCE(1, "ttak: ttak_epoch_exit() without a matching enter\n");
}
EXPORT_SYMBOL_GPL(ttak_epoch_exit_unmatched);

/* Readers are CPUs: nothing to register. */
void ttak_epoch_register_thread(void)
{
}
EXPORT_SYMBOL_GPL(ttak_epoch_register_thread);

void ttak_epoch_deregister_thread(void)
{
}
EXPORT_SYMBOL_GPL(ttak_epoch_deregister_thread);

void ttak_flavour_scan_readers(ttak_reader_fn fn, void *ctx)
{
	struct ttak_epoch_cpu_readers *rs;
	struct ttak_cpu_seen *seen;
	int cpu, level;

	for_each_possible_cpu(cpu) {
		rs = per_cpu_ptr(&ttak_epoch_cpu_readers, cpu);
		seen = per_cpu_ptr(&ttak_epoch_seen, cpu);
		for (level = 0; level < TTAK_EPOCH_CONTEXT_LEVELS; level++)
			fn(&rs->level[level].state, &seen->level[level], cpu,
			   ctx);
	}
}

/*
 * The reclaimer's side of the read-side handshake: pairs with the smp_mb()
 * in ttak_epoch_enter() after a reader publishes its epoch, so either the
 * scan that follows sees the reader inside or the reader sees every unlink
 * made before this barrier.
 */
void ttak_flavour_heavy_barrier(void)
{
	/* pairs with the smp_mb() in ttak_epoch_enter() */
	smp_mb();
}

/*
 * The caller's own level: a task inside a section cannot migrate, and no
 * other context of its level runs on its CPU meanwhile, so the count is
 * non-zero exactly when the caller itself is inside.
 */
bool ttak_flavour_in_section(void)
{
	struct ttak_epoch_cpu_readers *rs;
	bool inside;

	preempt_disable();
	rs = this_cpu_ptr(&ttak_epoch_cpu_readers);
	inside = rs->level[interrupt_context_level()].nesting != 0;
	preempt_enable();
	return inside;
}

/* A batch slot's lock would deadlock against an NMI that retired. */
bool ttak_flavour_may_retire(void)
{
	return !in_nmi();
}

/*
 * A pass runs cleanups, which may sleep. Without a
 * preempt count a held spinlock cannot be seen: such kernels trust the
 * caller's process context outside a section, as the kernel-doc asks.
 */
bool ttak_flavour_may_reclaim(void)
{
	if (!IS_ENABLED(CONFIG_PREEMPT_COUNT))
		return !in_interrupt() && !irqs_disabled() &&
		       !ttak_flavour_in_section();
	return preemptible();
}

unsigned long ttak_flavour_chunk_lock(void)
	__acquires(&ttak_cpu_batch.lock)
{
	unsigned long flags;

	local_irq_save(flags);
	spin_lock(this_cpu_ptr(&ttak_cpu_batch.lock));
	return flags;
}

struct ttak_retire_chunk **ttak_flavour_open_chunk(void)
{
	struct ttak_cpu_batch *b = this_cpu_ptr(&ttak_cpu_batch);

	lockdep_assert_held(&b->lock);
	return &b->open;
}

void ttak_flavour_chunk_unlock(unsigned long flags)
	__releases(&ttak_cpu_batch.lock)
{
	spin_unlock(this_cpu_ptr(&ttak_cpu_batch.lock));
	local_irq_restore(flags);
}

void ttak_flavour_visit_open(bool every, ttak_open_fn fn, void *ctx)
{
	struct ttak_cpu_batch *b;
	unsigned long flags;
	int cpu;

	if (!every) {
		flags = ttak_flavour_chunk_lock();
		fn(ttak_flavour_open_chunk(), ctx);
		ttak_flavour_chunk_unlock(flags);
		return;
	}
	/* offline CPUs too: a batch left behind by one still counts */
	for_each_possible_cpu(cpu) {
		b = per_cpu_ptr(&ttak_cpu_batch, cpu);
		spin_lock_irqsave(&b->lock, flags);
		fn(&b->open, ctx);
		spin_unlock_irqrestore(&b->lock, flags);
	}
}

unsigned long ttak_flavour_gp_snapshot(void)
{
	return get_state_synchronize_rcu();
}

bool ttak_flavour_gp_passed(unsigned long snapshot)
{
	return poll_state_synchronize_rcu(snapshot);
}

static void ttak_background_fn(struct work_struct *work)
{
	ttak_epoch_background_pass();
}

/*
 * queue_rcu_work() may be called from any context but NMI and does
 * nothing while the work is already waiting for its grace period.
 */
void ttak_flavour_kick_reclaim(void)
{
	if (READ_ONCE(ttak_background_ready))
		queue_rcu_work(system_unbound_wq, &ttak_background);
}

void ttak_flavour_stop_background(void)
{
	WRITE_ONCE(ttak_background_ready, false);
	/* a pass in progress may kick itself once more: wait that out too */
	flush_rcu_work(&ttak_background);
	flush_rcu_work(&ttak_background);
}

void ttak_flavour_start_background(void)
{
	INIT_RCU_WORK(&ttak_background, ttak_background_fn);
	WRITE_ONCE(ttak_background_ready, true);
}
