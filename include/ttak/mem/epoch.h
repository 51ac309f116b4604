/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Epoch-based reclamation (EBR).
 *
 * Readers bracket their accesses to shared objects with ttak_epoch_enter()
 * and ttak_epoch_exit(). A writer unlinks an object, then hands it to
 * ttak_epoch_retire(); its cleanup runs only after every reader that was
 * inside a section at the time has left it (a grace period).
 *
 * One 64-bit global epoch advances when all readers inside a section have
 * seen its current value; an object retired at epoch E is safe once no
 * active reader started at E or earlier. The counter does not wrap.
 * Readers that left, threads that exited and threads that deregistered
 * never hold reclamation back.
 *
 * User space: sections are per thread, may nest, and may block; a thread
 * registers on its first ttak_epoch_enter() and deregisters when it exits.
 * Kernel: sections are per CPU with preemption disabled (so each is also
 * an RCU read-side critical section): they must not sleep; any context
 * may enter one, and retire from any context but NMI.
 */
#ifndef TTAK_EPOCH_H
#define TTAK_EPOCH_H

#include <ttak/types.h>

/*
 * Retired objects wait in one of three states relative to the global
 * epoch (current, previous, safe); kept for API compatibility.
 */
#define TTAK_EPOCH_SESSIONS 3

/**
 * ttak_epoch_register_thread() - Register the calling thread as a reader.
 *
 * Optional: ttak_epoch_enter() registers on first use. Idempotent.
 * In the kernel readers are per CPU and this does nothing.
 *
 * Context: user space: the calling thread. Kernel: any context.
 */
void ttak_epoch_register_thread(void);

/**
 * ttak_epoch_deregister_thread() - Withdraw the calling thread.
 *
 * Hands the thread's pending retirees to the shared queue; the thread no
 * longer holds back any grace period. Called automatically at thread exit.
 * Must not be called inside a section. Does nothing in the kernel.
 *
 * Context: user space: the calling thread, outside a section. Kernel: any
 *	context.
 */
void ttak_epoch_deregister_thread(void);

/**
 * ttak_epoch_retire() - Free @ptr with @cleanup after a grace period.
 * @ptr: an object already unlinked from every shared structure; NULL is
 *	ignored.
 * @cleanup: called once with @ptr when no reader can hold it; NULL means
 *	ttak_mem_free() (so @ptr must come from ttak_mem_alloc_safe()).
 *
 * Retirees are batched per thread (kernel: per CPU) and reclaimed as
 * batches fill up. The queue is bounded: a retirer that may sleep and
 * finds it long reclaims itself before queueing more; in the kernel a
 * retirer in atomic context hands full batches to a work item instead,
 * and the cleanups always run in process context, never in the
 * retirer's. If no memory can be found for a batch where the caller may
 * not wait (inside a section; kernel: any atomic context) a small static
 * reserve takes the retiree; past that the object is kept, never freed
 * (an error is logged), rather than freed early.
 *
 * Context: user space: any thread, also inside a section; not from a
 * signal handler. Kernel: any context but NMI: process, softirq or
 * hardirq, interrupts on or off, inside or outside a section; never
 * sleeps there (in preemptible process context it may sleep to reclaim).
 */
void ttak_epoch_retire(void *ptr, void (*cleanup)(void *));

/**
 * ttak_epoch_reclaim() - Advance the epoch if possible and run every
 * cleanup whose grace period has passed.
 *
 * Never waits for readers. User space: seals the caller's own batch
 * first, so with no reader inside a section everything retired so far is
 * cleaned up. Kernel: cleans up what an RCU grace period since its
 * retire covers; the rest is left to the module's background work, which
 * seals every CPU's batch and runs after each grace period. Only once
 * the queue passed its bound does a pass also seal every batch and scan
 * the readers, interrupting every CPU, so memory stays bounded however
 * slow grace periods are.
 *
 * Context: user space: any thread. Kernel: preemptible process context
 *	(so outside a section); may sleep. Elsewhere it only asks the work
 *	item for a pass.
 */
void ttak_epoch_reclaim(void);

/**
 * ttak_epoch_synchronize() - Wait until every reader that is inside a
 * section now has left it, then reclaim (ttak extension).
 *
 * When it returns, the cleanup of every object retired before the call
 * (and sealed, by this thread or a thread that exited) has run, also
 * those another thread's reclaim had taken on and was still running.
 *
 * Context: must not be called inside a section, nor from a cleanup.
 *	Kernel: preemptible process context; sleeps: an IPI to every online
 *	CPU shows which readers are inside, and while some are it waits out
 *	RCU grace periods. Refused with an error logged (user space: errno
 *	EDEADLK) where it would deadlock.
 */
void ttak_epoch_synchronize(void);

#ifdef __KERNEL__
#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/percpu.h>
#include <linux/preempt.h>

/* task, softirq, hardirq, NMI: interrupt_context_level() numbers them */
#define TTAK_EPOCH_CONTEXT_LEVELS	4

/*
 * struct ttak_epoch_cpu_reader - private: one CPU's reader record for one
 * context level, touched only by the inline ttak_epoch_enter()/exit()
 * below and by ttak.ko.
 * @state: 0 outside a section, else (epoch << 1) | 1; written only by
 *	the context that owns the level on this CPU, read by reclaimers.
 * @nesting: section depth of that context.
 */
struct ttak_epoch_cpu_reader {
	atomic64_t state;
	unsigned int nesting;
};

struct ttak_epoch_cpu_readers {
	struct ttak_epoch_cpu_reader level[TTAK_EPOCH_CONTEXT_LEVELS];
};

DECLARE_PER_CPU(struct ttak_epoch_cpu_readers, ttak_epoch_cpu_readers);
extern atomic64_t ttak_epoch_global;
void ttak_epoch_exit_unmatched(void);

/**
 * ttak_epoch_enter() - Enter a read section on the local CPU.
 *
 * Disables preemption and publishes the current epoch in this CPU's
 * reader record, with no barrier: a reclaimer proves a grace period by
 * RCU's (a section with preemption off is an RCU read-side critical
 * section), or interrupts every CPU before it scans the records (see
 * kernel/epoch_percpu.c). Objects reached inside the
 * section stay valid until the matching ttak_epoch_exit(). Sections
 * nest; a softirq, hardirq or NMI that interrupts a section (even in the
 * middle of its enter or exit) uses its own record of the CPU, so its
 * own section is protected too. Inline, like rcu_read_lock().
 *
 * Context: any: process, softirq, hardirq or NMI. The section must not
 * sleep: with CONFIG_DEBUG_ATOMIC_SLEEP any sleeping call inside it is
 * reported as a sleep in atomic context.
 */
static inline void ttak_epoch_enter(void)
{
	struct ttak_epoch_cpu_reader *r;

	preempt_disable();
	r = this_cpu_ptr(&ttak_epoch_cpu_readers.level[interrupt_context_level()]);
	if (r->nesting++)
		return;
	/* acquire: the epoch is read before any object of the section */
	atomic64_set(&r->state,
		     (atomic64_read_acquire(&ttak_epoch_global) << 1) | 1);
	/*
	 * Keeps the store before the section's accesses in program order;
	 * the reclaimer's IPI (a full barrier on this CPU) or a grace
	 * period does the rest.
	 */
	barrier();
}

/**
 * ttak_epoch_exit() - Leave the section opened by ttak_epoch_enter().
 *
 * The outermost exit withdraws the CPU from the readers (a store-release)
 * and re-enables preemption. An unmatched exit triggers a one-time
 * warning and is otherwise ignored.
 *
 * Context: the context that entered the section, on the same CPU.
 */
static inline void ttak_epoch_exit(void)
{
	struct ttak_epoch_cpu_reader *r;

	/* a section holds preemption off: a count of 0 is an unmatched exit */
	if (IS_ENABLED(CONFIG_PREEMPT_COUNT) && unlikely(!preempt_count())) {
		ttak_epoch_exit_unmatched();
		return;
	}
	r = this_cpu_ptr(&ttak_epoch_cpu_readers.level[interrupt_context_level()]);
	if (unlikely(!r->nesting)) {
		ttak_epoch_exit_unmatched();
		return;
	}
	/* release: pairs with the acquire read of the state in the scan */
	if (!--r->nesting)
		atomic64_set_release(&r->state, 0);
	preempt_enable();
}
#else
/*
 * struct ttak_epoch_reader - private: the part of the calling thread's
 * reader record that the inline ttak_epoch_enter()/exit() below touch.
 * Only that code and the library may use it; the rest of the record
 * (registry link, thread id, the reclaimer's notes) is the library's own.
 * @state: 0 outside a section, else (epoch << 1) | 1; written only by
 *	this thread, read by reclaimers.
 * @nesting: section depth of this thread.
 * @fast: the reclaimer fences for this thread (membarrier()), so the
 *	inline path below suffices. A reclaimer clears it when it issues
 *	membarrier() (a reader that stays outside its sections then costs
 *	no further one); the next enter takes the slow path, which fences
 *	and sets it again.
 */
struct ttak_epoch_reader {
	ttak_atomic_u64_t state;
	unsigned int nesting;
	_Atomic bool fast;
};

extern _Thread_local struct ttak_epoch_reader ttak_epoch_self;
/* Outermost enter of a thread whose @fast is clear (see above). */
void ttak_epoch_enter_slow(void);
extern ttak_atomic_u64_t ttak_epoch_global;

/**
 * ttak_epoch_enter() - Enter a read section.
 *
 * Objects reached inside the section stay valid until the matching
 * ttak_epoch_exit(). Sections nest. Costs a few plain stores: the
 * reclaimer pays for the ordering with membarrier(). Not async-signal-safe:
 * a signal handler must not enter a section of the thread it interrupts.
 */
static inline void ttak_epoch_enter(void)
{
	uint64_t epoch;

	/*
	 * ttak_epoch_self is named, not reached through a local pointer:
	 * gcc 12's UBSan at -O1 takes such a pointer to a thread-local for
	 * NULL inside a loop and reports a false "member access within null
	 * pointer".
	 */
	if (ttak_epoch_self.nesting++)
		return;
	/* acquire: the epoch is read before any object of the section */
	epoch = atomic_load_explicit(&ttak_epoch_global, memory_order_acquire);
	atomic_store_explicit(&ttak_epoch_self.state, (epoch << 1) | 1,
			      memory_order_relaxed);
	/*
	 * No fence: the reclaimer's membarrier() (its heavy barrier, in
	 * libttak's membarrier flavour) is a full barrier on this thread
	 * and pairs with this compiler-only one, which keeps the store
	 * before the load of @fast and the section's accesses in program
	 * order. @fast is read after the store: a reclaimer that cleared it
	 * and then issued membarrier() either sees the store or has this
	 * load see the cleared flag, and then the slow path fences.
	 */
	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(!atomic_load_explicit(&ttak_epoch_self.fast,
						   memory_order_relaxed), 0))
		ttak_epoch_enter_slow();
	/* the section's accesses stay after the test above */
	atomic_signal_fence(memory_order_seq_cst);
}

/**
 * ttak_epoch_exit() - Leave the read section opened by ttak_epoch_enter().
 *
 * An unmatched exit is ignored.
 */
static inline void ttak_epoch_exit(void)
{
	/* ttak_epoch_self by name: see ttak_epoch_enter() */
	if (!ttak_epoch_self.nesting)
		return;
	if (--ttak_epoch_self.nesting)
		return;
	/* release: our reads of shared objects happen before the reclaimer
	 * sees us leave (pairs with the acquire read of the state in its scan)
	 */
	atomic_store_explicit(&ttak_epoch_self.state, 0, memory_order_release);
}
#endif /* __KERNEL__ */

/**
 * struct ttak_epoch_blocker - a reader holding back reclamation.
 * @id: thread id (user space) or CPU number (kernel).
 * @epoch: the epoch it entered at.
 * @held_ns: how long it has been seen holding that epoch.
 */
struct ttak_epoch_blocker {
	int id;
	uint64_t epoch;
	uint64_t held_ns;
};

/**
 * ttak_epoch_report_blockers() - List readers inside a section that entered
 * at an epoch older than the current one (ttak extension).
 * @out: array to fill.
 * @max: its length.
 *
 * Context: user space: any thread. Kernel: preemptible process context
 *	(takes the domain lock with interrupts off; does not sleep).
 * Return: the number of such readers (may exceed @max; only @max stored).
 */
size_t ttak_epoch_report_blockers(struct ttak_epoch_blocker *out, size_t max);

/**
 * ttak_epoch_current() - The global epoch (ttak extension).
 *
 * Context: any thread or context; takes no lock.
 * Return: the current value; it only grows.
 */
uint64_t ttak_epoch_current(void);

/**
 * ttak_epoch_pending() - Retirees waiting for a grace period (ttak
 * extension).
 *
 * Counts the objects in sealed batches; objects still in a thread's (in
 * the kernel: a CPU's) open batch are not counted yet.
 *
 * Context: user space: any thread. Kernel: any context but NMI; does not
 *	sleep.
 * Return: the number of objects queued and not yet cleaned up.
 */
size_t ttak_epoch_pending(void);

#endif /* TTAK_EPOCH_H */
