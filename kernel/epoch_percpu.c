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
 * exported here: preemption off and plain stores, no barrier, as cheap
 * as rcu_read_lock() on a kernel with a preempt count. The interface
 * towards the core's epoch.c is kernel/core/epoch_flavour.h.
 *
 * Why a record per level: an interrupt may arrive anywhere inside
 * ttak_epoch_enter() or _exit() of the context below it. With one shared
 * record, a softirq landing between the task's nesting increment and its
 * publish saw "already inside", skipped publishing and read unprotected.
 * Contexts on one CPU nest strictly and none interrupts its own level, so
 * each record has exactly one writer at a time and needs no atomics.
 *
 * Two proofs of a grace period, both sound with barrier-free readers:
 *
 *  - RCU, the common one: a region with preemption disabled is an RCU
 *    read-side critical section in every kernel we build for (since the
 *    RCU flavours were consolidated in 4.20), hardirq and NMI handlers
 *    included. A batch queued after its unlinks takes
 *    get_state_synchronize_rcu(); once poll_state_synchronize_rcu() says
 *    that grace period is over, every section that could have reached
 *    the batch's objects has ended. It costs nobody anything but
 *    latency, and a grace period is shared with the whole kernel. Every
 *    pass uses it (ttak_flavour_scan_on_every_pass() is false), and the
 *    background work that finishes what passes leave is an rcu_work: it
 *    runs after a grace period. So a rotation frees its garbage as
 *    call_rcu() would, a grace period later.
 *
 *  - The epoch scan (shared with user space), for when waiting is not
 *    good enough: ttak_epoch_synchronize(), and a pass that finds the
 *    queue past its bound (so memory stays bounded however slow grace
 *    periods are). ttak_flavour_heavy_barrier() sends an IPI to every
 *    online CPU whose handler runs smp_mb(), the kernel twin of user
 *    space's membarrier(), and then the records are read.
 *
 *    Measured (issue 9, in ttak_bench.ko under TCG): readers paying
 *    smp_mb() on enter cost 1.5-2.1x rcu_read_lock(); the IPI on every
 *    pass instead made the arena cycle 6.7x (2 CPUs) to 80-89x (8 CPUs)
 *    kmem_cache + call_rcu. Only scanning past the bound keeps both
 *    cheap; the figures are in user/bench/README.md.
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
#include <linux/smp.h>
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

static void ttak_ipi_mb(void *unused)
{
	/* orders this CPU's reader state before the sender's scan */
	smp_mb();
}

/*
 * The reclaimer's side of the read-side handshake, the kernel twin of
 * membarrier(): a full barrier on every online CPU. Wherever the IPI
 * lands in a reader's enter, either the reader's state is visible to the
 * scan that follows, or the reader's loads come after every unlink made
 * before this call. A section with interrupts off only delays the IPI,
 * and an NMI's section ends before the IPI can run.
 *
 * No cpus_read_lock(): the shrinker may get here from memory reclaim,
 * which a CPU hotplug writer can enter while it holds that lock. A CPU
 * missing from the online mask holds no section: one going offline left
 * its sections before its stopper ran, and one coming online starts its
 * first after a context switch (a full barrier) that follows its being
 * marked online, while the smp_mb() below orders the unlinks before this
 * CPU reads the mask.
 */
void ttak_flavour_heavy_barrier(void)
{
	might_sleep();
	/* the unlinks before the online mask is read */
	smp_mb();
	on_each_cpu(ttak_ipi_mb, NULL, 1);
}

/* A section is an RCU read-side critical section: one grace period ends it. */
void ttak_flavour_wait_for_readers(void)
{
	synchronize_rcu();
}

/* The IPI interrupts every CPU: RCU's grace periods are the common proof. */
bool ttak_flavour_scan_on_every_pass(void)
{
	return false;
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
