// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of the platform layer: the epoch read side.
 *
 * Each CPU owns one struct ttak_epoch_reader. A read section runs with
 * preemption disabled, so the task cannot migrate away from the record it
 * published and cannot sleep: with CONFIG_DEBUG_ATOMIC_SLEEP a sleeping
 * call inside a section is reported through the preempt count, like any
 * other sleep in atomic context.
 *
 * Ordering: enter publishes (epoch << 1) | 1 and then issues smp_mb()
 * before any access to shared objects; the reclaimer issues smp_mb()
 * (ttak_plat_heavy_barrier()) before it reads the records. Either the
 * reclaimer sees the reader inside, or the reader sees every unlink that
 * preceded the reclaimer's barrier and cannot reach the retired objects.
 * Exit is a store-release of 0, so the section's reads complete before
 * the reclaimer can see the CPU outside.
 *
 * Retire batches are not per CPU: one module-wide open batch, guarded by
 * a mutex, collects retirees from every context (all of which may sleep).
 */
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>

#include "core/ttak_core.h"

static DEFINE_PER_CPU(struct ttak_epoch_reader, ttak_epoch_readers);

static DEFINE_MUTEX(ttak_chunk_mutex);
static struct ttak_retire_chunk *ttak_open_chunk;

void ttak_epoch_enter(void)
{
	struct ttak_epoch_reader *r;
	u64 epoch;

	preempt_disable();
	r = this_cpu_ptr(&ttak_epoch_readers);
	if (r->nesting++)
		return;
	epoch = (u64)atomic64_read(&ttak_epoch_global);
	atomic64_set(&r->state, (s64)((epoch << 1) | 1));
	/* pairs with the reclaimer's barrier before it scans the records */
	smp_mb();
}
EXPORT_SYMBOL_GPL(ttak_epoch_enter);

void ttak_epoch_exit(void)
{
	struct ttak_epoch_reader *r = this_cpu_ptr(&ttak_epoch_readers);

	/* an unmatched exit must not unbalance the preempt count */
	if (WARN_ON_ONCE(!r->nesting))
		return;
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

void ttak_plat_scan_readers(ttak_reader_fn fn, void *ctx)
{
	int cpu;

	for_each_possible_cpu(cpu)
		fn(per_cpu_ptr(&ttak_epoch_readers, cpu), cpu, ctx);
}

/*
 * Outside a section the caller is preemptible, and no other context can
 * be inside a section on the CPU it runs on: that one would have
 * preemption disabled (or be an interrupt that returns first). So the
 * local nesting count is non-zero exactly when the caller is inside.
 */
bool ttak_plat_in_section(void)
{
	return this_cpu_read(ttak_epoch_readers.nesting) != 0;
}

struct ttak_retire_chunk **ttak_plat_open_chunk(void)
{
	lockdep_assert_held(&ttak_chunk_mutex);
	return &ttak_open_chunk;
}

void ttak_plat_chunk_lock(void)
{
	mutex_lock(&ttak_chunk_mutex);
}

void ttak_plat_chunk_unlock(void)
{
	mutex_unlock(&ttak_chunk_mutex);
}
