/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * User-space side of the platform layer.
 *
 * The core in kernel/core/ is written once for ttak.ko and libttak. It
 * includes "ttak_platform.h"; the kernel build finds kernel/ttak_platform.h,
 * the user build finds this file. Both give the same names, for generic
 * primitives only: allocation, locks, the atomics on public struct
 * members, barriers, the clock, error reporting. The EBR read side is a
 * flavour of its own (user/lib/epoch_membarrier.c, behind
 * kernel/core/epoch_flavour.h).
 */
#ifndef TTAK_USER_PLATFORM_H
#define TTAK_USER_PLATFORM_H

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ttak/types.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint8_t u8;

/*
 * The core marks its API for ttak.ko's symbol table; in user space every
 * non-static symbol is exported already. The redundant declaration keeps
 * the statement well-formed after a function body.
 */
#define EXPORT_SYMBOL_GPL(sym)	extern int ttak_export_unused_##sym

#define ttak_likely(x)		__builtin_expect(!!(x), 1)
#define ttak_unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * Allocation-failure injection (user/lib/ttak_fault.h): armed only by
 * tests, so the fast path costs one thread-local load.
 */
extern _Thread_local bool ttak_fault_armed;
bool ttak_fault_hit(void);

static inline bool ttak_fault_refuse(void)
{
	return ttak_unlikely(ttak_fault_armed) && ttak_fault_hit();
}

/* sparse's lock-context annotations of the kernel build */
#define __acquires(x)
#define __releases(x)

/* memory */
static inline void *ttak_plat_alloc(size_t size)
{
	return ttak_fault_refuse() ? NULL : malloc(size);
}

/* The kernel's "any context" allocation; every thread may wait here. */
static inline void *ttak_plat_alloc_any(size_t size)
{
	return ttak_plat_alloc(size);
}

static inline void *ttak_plat_zalloc(size_t size)
{
	return ttak_fault_refuse() ? NULL : calloc(1, size);
}

static inline void ttak_plat_free(void *p)
{
	free(p);
}

/*
 * Memory behind tracked blocks (platform.c says how). Blocks of 16 KiB
 * and more (TTAK_BLOCK_MAP_MIN) are page-aligned mappings of their own:
 * freed ones are kept for reuse up to 512 KiB resident
 * (TTAK_BLOCK_CACHE_BYTES), shared by all threads, and past that their
 * pages go back to the system at once (MADV_DONTNEED). Smaller blocks
 * come from malloc() with a small per-thread cache of recently freed ones,
 * so a 4 KiB generation that is flushed and begun again costs no trip
 * through malloc's slow path. A block reads zero, as the core promises
 * its callers: fresh and given-back pages are zero already (they are
 * faulted in, not cleared again), so only memory reused with its
 * contents is cleared here. Under AddressSanitizer every block is
 * malloc()'s.
 */
void *ttak_plat_block_alloc(size_t size);
void ttak_plat_block_free(void *p, size_t size);

/* What the block memory holds right now; for tests and benches. */
struct ttak_plat_block_stats {
	size_t map_min;		/* blocks this big and more are mapped; 0: none */
	size_t cache_limit;	/* resident bytes the shared cache may keep */
	size_t cached_bytes;	/* freed mappings kept resident for reuse */
	size_t kept_bytes;	/* freed mappings kept with their pages given back */
	size_t mapped_bytes;	/* every mapping: live blocks and the two above */
	unsigned int thread_cached; /* smaller blocks in this thread's cache */
	size_t drained_at_exit;	/* bytes of those freed as their threads exited */
};
void ttak_plat_block_get_stats(struct ttak_plat_block_stats *st);
/* Change the resident bound (takes effect on the next frees). */
void ttak_plat_block_set_cache_limit(size_t bytes);
/* Unmap every kept mapping. */
void ttak_plat_block_trim(void);

/* Hint for huge blocks; failure is harmless. */
void ttak_plat_hint_huge(void *p, size_t size);

/* locks */
static inline void ttak_lock_init(ttak_lock_t *l)
{
	pthread_mutex_init(l, NULL);
}

static inline void ttak_lock_destroy(ttak_lock_t *l)
{
	pthread_mutex_destroy(l);
}

static inline void ttak_lock(ttak_lock_t *l)
{
	pthread_mutex_lock(l);
}

static inline void ttak_unlock(ttak_lock_t *l)
{
	pthread_mutex_unlock(l);
}

/* A lock also taken from interrupt context (kernel); a mutex here. */
#define ttak_lock_irqsave(l, flags)	do { (flags) = 0; ttak_lock(l); } while (0)
#define ttak_unlock_irqrestore(l, flags) ((void)(flags), ttak_unlock(l))

/* atomics on the public member types */
#define ttak_a32_read(p)	atomic_load(p)
#define ttak_a32_set(p, v)	atomic_store((p), (v))
static inline u32 ttak_a32_inc_return(ttak_atomic_u32_t *p)
{
	return atomic_fetch_add(p, 1) + 1;
}

/* Decrement unless zero; return the new value, or -1 if it was zero. */
static inline long ttak_a32_dec_unless_zero(ttak_atomic_u32_t *p)
{
	uint32_t old = atomic_load(p);

	do {
		if (!old)
			return -1;
	} while (!atomic_compare_exchange_weak(p, &old, old - 1));
	return (long)old - 1;
}

/* Add @delta unless the value is @floor or below; true when it did. */
static inline bool ttak_a32_add_above(ttak_atomic_u32_t *p, int delta,
				      uint32_t floor)
{
	uint32_t old = atomic_load(p);

	do {
		if (old <= floor)
			return false;
	} while (!atomic_compare_exchange_weak(p, &old, old + (uint32_t)delta));
	return true;
}

#define ttak_asize_read(p)	atomic_load(p)
#define ttak_asize_set(p, v)	atomic_store((p), (size_t)(v))
#define ttak_asize_add(p, v)	((void)atomic_fetch_add((p), (size_t)(v)))
#define ttak_asize_sub(p, v)	((void)atomic_fetch_sub((p), (size_t)(v)))

#define ttak_a64_read(p)	atomic_load(p)
#define ttak_a64_read_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define ttak_a64_set(p, v)	atomic_store((p), (uint64_t)(v))
static inline u64 ttak_a64_inc_return(ttak_atomic_u64_t *p)
{
	return atomic_fetch_add(p, 1) + 1;
}

static inline bool ttak_a64_cmpxchg(ttak_atomic_u64_t *p, u64 old, u64 new)
{
	return atomic_compare_exchange_strong(p, &old, new);
}

#define ttak_smp_mb()		atomic_thread_fence(memory_order_seq_cst)

/* Pointer publication for lockless readers. */
#define ttak_store_release_ptr(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ttak_load_acquire_ptr(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_rmb()		atomic_thread_fence(memory_order_acquire)
#define smp_wmb()		atomic_thread_fence(memory_order_release)

static inline void ttak_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Single relaxed accesses to plain fields shared between threads. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static inline u64 div_u64(u64 dividend, u32 divisor)
{
	return dividend / divisor;
}

/* clock */
u64 ttak_plat_now_ns(void);

/*
 * errors: the core's workers return 0 or -errno, or a pointer that may
 * carry -errno (the kernel's ERR_PTR convention); the public calls hand
 * the reason to ttak_set_errno().
 */
#define ttak_set_errno(e)	((void)(errno = (e)))
#define TTAK_MAX_ERRNO		4095

static inline void *ERR_PTR(long err)
{
	return (void *)err;
}

static inline long PTR_ERR(const void *p)
{
	return (long)p;
}

static inline bool IS_ERR(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)-TTAK_MAX_ERRNO;
}

#define ttak_plat_err(...)	ttak_plat_report(__VA_ARGS__)
void ttak_plat_report(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * One allocation trace line (ttak_mem_set_trace()) on stderr, written
 * whole; TTAK_QUIET does not silence it: the program asked for it.
 */
void ttak_plat_trace(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* A wait loop's pause between polls; may sleep. */
void ttak_plat_wait_relax(void);
#define ttak_might_sleep()	do { } while (0)

/* Trace hooks of the core: tracepoints in the kernel, nothing here. */
struct ttak_arena_env;
static inline void ttak_plat_trace_gen_begin(const struct ttak_arena_env *env,
					     size_t bytes)
{
	(void)env;
	(void)bytes;
}

static inline void ttak_plat_trace_gen_retire(const struct ttak_arena_env *env,
					      size_t bytes)
{
	(void)env;
	(void)bytes;
}

#endif /* TTAK_USER_PLATFORM_H */
