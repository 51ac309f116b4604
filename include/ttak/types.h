/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Types shared by the public ttak headers.
 *
 * The same headers serve ttak.ko and libttak. Only the few types whose
 * representation differs between kernel and user space are chosen here:
 * the atomics that programs read from public structs and the lock that
 * guards a mem tree. Everything else is plain C.
 */
#ifndef TTAK_TYPES_H
#define TTAK_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/spinlock.h>

typedef atomic_t ttak_atomic_u32_t;
typedef atomic_long_t ttak_atomic_size_t;
typedef atomic64_t ttak_atomic_u64_t;
typedef spinlock_t ttak_lock_t;
#else
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef _Atomic uint32_t ttak_atomic_u32_t;
typedef _Atomic size_t ttak_atomic_size_t;
typedef _Atomic uint64_t ttak_atomic_u64_t;
typedef pthread_mutex_t ttak_lock_t;
#endif

/*
 * struct ttak_hash_link - intrusive entry of a pointer-keyed hash table.
 * Private to the implementation; embedded in mem-tree nodes and in the
 * headers of blocks from ttak_mem_alloc_safe().
 */
struct ttak_hash_link {
	struct ttak_hash_link *next;
	const void *key;
};

/* struct ttak_ptr_hash - chained hash of ttak_hash_link, keyed by address. */
struct ttak_ptr_hash {
	struct ttak_hash_link **buckets;
	size_t mask;		/* bucket count - 1, a power of two */
	size_t count;
};

#endif /* TTAK_TYPES_H */
