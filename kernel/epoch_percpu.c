// SPDX-License-Identifier: GPL-2.0
/*
 * ttak.ko's EBR reader flavour: "percpu".
 *
 * Named after what the readers are: CPUs, not threads. Each CPU owns one
 * reader record per context level (task, softirq, hardirq, NMI, as
 * interrupt_context_level() numbers them), so there is nothing to
 * register, and a read section runs with preemption disabled: the task
 * cannot migrate away from the record it published and cannot sleep.
 * With CONFIG_DEBUG_ATOMIC_SLEEP a sleeping call inside a section is
 * reported through the preempt count, like any other sleep in atomic
 * context. The reader pays for its ordering itself (smp_mb() on enter),
 * so the reclaimer's heavy barrier is a plain smp_mb(). The interface
 * towards the core's epoch.c is kernel/core/epoch_flavour.h.
 *
 * Why a record per level: an interrupt may arrive anywhere inside
 * ttak_epoch_enter() or _exit() of the context below it. With one shared
 * record, a softirq landing between the task's nesting increment and its
 * publish saw "already inside", skipped publishing and read unprotected.
 * Contexts on one CPU nest strictly and none interrupts its own level, so
 * each record has exactly one writer at a time and needs no atomics.
 *
 * Ordering: enter publishes (epoch << 1) | 1 and then issues smp_mb()
 * before any access to shared objects; the reclaimer issues smp_mb()
 * (ttak_flavour_heavy_barrier()) before it reads the records. Either the
 * reclaimer sees the reader inside, or the reader sees every unlink that
 * preceded the reclaimer's barrier and cannot reach the retired objects.
 * Exit is a store-release of 0, so the section's reads complete before
 * the reclaimer can see the CPU outside.
 *
 * Retire batches are not per CPU: one module-wide open batch, guarded by
 * a mutex, collects retirees from every context (all of which may sleep).
 */
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>

#include "core/ttak_core.h"
#include "core/epoch_flavour.h"

#define TTAK_CONTEXT_LEVELS	4	/* task, softirq, hardirq, NMI */

/*
 * One level's record: @state and @nesting are written only by the
 * context that owns the level on this CPU, @seen only by epoch.c.
 */
struct ttak_percpu_reader {
	atomic64_t state;	/* 0 outside, else (epoch << 1) | 1 */
	unsigned int nesting;
	struct ttak_epoch_seen seen;
};

struct ttak_cpu_readers {
	struct ttak_percpu_reader level[TTAK_CONTEXT_LEVELS];
};

static DEFINE_PER_CPU(struct ttak_cpu_readers, ttak_epoch_readers);

/* The calling context's record; preemption is disabled. */
static struct ttak_percpu_reader *ttak_this_reader(void)
{
	return this_cpu_ptr(&ttak_epoch_readers.level[interrupt_context_level()]);
}

static DEFINE_MUTEX(ttak_chunk_mutex);
static struct ttak_retire_chunk *ttak_open_chunk;

void ttak_epoch_enter(void)
{
	struct ttak_percpu_reader *r;
	u64 epoch;

	preempt_disable();
	r = ttak_this_reader();
	if (r->nesting++)
		return;
	epoch = (u64)atomic64_read(&ttak_epoch_global);
	atomic64_set(&r->state, (s64)((epoch << 1) | 1));
	/* pairs with the smp_mb() in ttak_flavour_heavy_barrier() */
	smp_mb();
}
EXPORT_SYMBOL_GPL(ttak_epoch_enter);

void ttak_epoch_exit(void)
{
	struct ttak_percpu_reader *r = ttak_this_reader();

	/* an unmatched exit must not unbalance the preempt count */
	if (WARN_ON_ONCE(!r->nesting))
		return;
	/* release: pairs with the acquire read of the state in epoch.c's scan */
	if (!--r->nesting)
		atomic64_set_release(&r->state, 0);
	preempt_enable();
}
EXPORT_SYMBOL_GPL(ttak_epoch_exit);

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
	struct ttak_cpu_readers *rs;
	int cpu, level;

	for_each_possible_cpu(cpu) {
		rs = per_cpu_ptr(&ttak_epoch_readers, cpu);
		for (level = 0; level < TTAK_CONTEXT_LEVELS; level++)
			fn(&rs->level[level].state, &rs->level[level].seen,
			   cpu, ctx);
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
	bool inside;

	preempt_disable();
	inside = ttak_this_reader()->nesting != 0;
	preempt_enable();
	return inside;
}

struct ttak_retire_chunk **ttak_flavour_open_chunk(void)
{
	lockdep_assert_held(&ttak_chunk_mutex);
	return &ttak_open_chunk;
}

void ttak_flavour_chunk_lock(void)
{
	mutex_lock(&ttak_chunk_mutex);
}

void ttak_flavour_chunk_unlock(void)
{
	mutex_unlock(&ttak_chunk_mutex);
}
