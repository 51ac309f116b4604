/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel side of the platform layer.
 *
 * The core in kernel/core/ is shared with libttak and includes
 * "ttak_platform.h"; user/lib/ttak_platform.h gives the same names in user
 * space. Here only generic primitives: kvmalloc for blocks, spinlocks, the
 * kernel's atomics and barriers, ktime, error reporting. The EBR read side
 * is a flavour of its own (kernel/epoch_percpu.c, behind
 * kernel/core/epoch_flavour.h).
 */
#ifndef TTAK_KERNEL_PLATFORM_H
#define TTAK_KERNEL_PLATFORM_H

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/types.h>

#include <ttak/types.h>

#define ttak_likely(x)		likely(x)
#define ttak_unlikely(x)	unlikely(x)

/* memory: callers are in process context, see the kernel-doc of the API */
static inline void *ttak_plat_alloc(size_t size)
{
	return kvmalloc(size, GFP_KERNEL);
}

static inline void *ttak_plat_zalloc(size_t size)
{
	return kvzalloc(size, GFP_KERNEL);
}

/*
 * A small allocation from any context but NMI (the retire batches): it
 * waits for memory only where the caller may sleep.
 */
static inline void *ttak_plat_alloc_any(size_t size)
{
	gfp_t gfp = preemptible() ? GFP_KERNEL : GFP_NOWAIT;

	return kmalloc(size, gfp | __GFP_NOWARN);
}

static inline void ttak_plat_free(void *p)
{
	kvfree(p);
}

/*
 * Memory behind tracked blocks: the slab caches already recycle it. The
 * size is the caller's: one the allocator cannot give (kvmalloc() refuses
 * anything over INT_MAX with a WARN unless told not to) is an ordinary
 * -ENOMEM for the caller, not a kernel warning. Zeroed, as the core
 * promises its callers (user space: see there).
 *
 * A 4 KiB generation (4096 bytes plus header, alignment slack and canary)
 * lands in kmalloc-8k. A slab cache of its own was tried and dropped:
 * kmem_cache_create() at module load leaks its sysfs name in the slab
 * code's own error path when an allocation inside it fails (failslab in
 * the debug tier), which no caller can clean up.
 */
static inline void *ttak_plat_block_alloc(size_t size)
{
	return kvzalloc(size, GFP_KERNEL | __GFP_NOWARN);
}

static inline void ttak_plat_block_free(void *p, size_t size)
{
	kvfree(p);
}

static inline void ttak_plat_hint_huge(void *p, size_t size)
{
}

/* locks */
static inline void ttak_lock_init(ttak_lock_t *l)
{
	spin_lock_init(l);
}

static inline void ttak_lock_destroy(ttak_lock_t *l)
{
}

static inline void ttak_lock(ttak_lock_t *l)
	__acquires(l)
{
	spin_lock(l);
}

static inline void ttak_unlock(ttak_lock_t *l)
	__releases(l)
{
	spin_unlock(l);
}

/* A lock also taken from hardirq context: interrupts off while held. */
#define ttak_lock_irqsave(l, flags)		spin_lock_irqsave((l), (flags))
#define ttak_unlock_irqrestore(l, flags)	spin_unlock_irqrestore((l), (flags))

/* atomics on the public member types */
#define ttak_a32_read(p)	((u32)atomic_read(p))
#define ttak_a32_set(p, v)	atomic_set((p), (v))
#define ttak_a32_inc_return(p)	((u32)atomic_inc_return(p))

/* Decrement unless zero; return the new value, or -1 if it was zero. */
static inline long ttak_a32_dec_unless_zero(atomic_t *p)
{
	int old = atomic_read(p);

	do {
		if (!old)
			return -1;
	} while (!atomic_try_cmpxchg(p, &old, old - 1));
	return (long)(u32)old - 1;
}

/* Add @delta unless the value is @floor or below; true when it did. */
static inline bool ttak_a32_add_above(atomic_t *p, int delta, u32 floor)
{
	int old = atomic_read(p);

	do {
		if ((u32)old <= floor)
			return false;
	} while (!atomic_try_cmpxchg(p, &old, old + delta));
	return true;
}

#define ttak_asize_read(p)	((size_t)atomic_long_read(p))
#define ttak_asize_set(p, v)	atomic_long_set((p), (long)(v))
#define ttak_asize_add(p, v)	atomic_long_add((long)(v), (p))
#define ttak_asize_sub(p, v)	atomic_long_sub((long)(v), (p))

#define ttak_a64_read(p)	((u64)atomic64_read(p))
#define ttak_a64_read_acquire(p) ((u64)atomic64_read_acquire(p))
#define ttak_a64_set(p, v)	atomic64_set((p), (s64)(v))
#define ttak_a64_inc_return(p)	((u64)atomic64_inc_return(p))

static inline bool ttak_a64_cmpxchg(atomic64_t *p, u64 old, u64 new)
{
	s64 expected = (s64)old;

	return atomic64_try_cmpxchg(p, &expected, (s64)new);
}

/* Full barrier; each use in the core says what it orders. */
#define ttak_smp_mb()		smp_mb()
/* publish a pointer to lockless readers; pairs with the acquire below */
#define ttak_store_release_ptr(p, v)	smp_store_release((p), (v))
/* read a published pointer; pairs with the release above */
#define ttak_load_acquire_ptr(p)	smp_load_acquire(p)
#define ttak_cpu_relax()	cpu_relax()

/* clock */
static inline u64 ttak_plat_now_ns(void)
{
	return ktime_get_ns();
}

/*
 * errors: the kernel has no errno. The core's workers return -errno or
 * ERR_PTR() and the module glue passes the reason on; the public calls,
 * which keep upstream's bool / NULL signatures, drop it here.
 */
#define ttak_set_errno(e)	((void)(e))
#define ttak_plat_err(fmt, ...) \
	pr_err_ratelimited("ttak: " fmt, ##__VA_ARGS__)

/*
 * Allocation trace lines (ttak_mem_set_trace()): none in the kernel yet;
 * the format is still checked and nothing is evaluated.
 */
#define ttak_plat_trace(fmt, ...)	no_printk(fmt, ##__VA_ARGS__)

static inline void ttak_plat_wait_relax(void)
{
	usleep_range(100, 200);
}

#define ttak_might_sleep()	might_sleep()

/*
 * Trace hooks of the core: ttak.ko's glue (ttak_envs.c) turns a
 * published env's generation events into tracepoints (ttak_trace.h).
 * Process context; they do not sleep.
 */
struct ttak_arena_env;
void ttak_plat_trace_gen_begin(const struct ttak_arena_env *env,
			       size_t bytes);
void ttak_plat_trace_gen_retire(const struct ttak_arena_env *env,
				size_t bytes);

#endif /* TTAK_KERNEL_PLATFORM_H */
