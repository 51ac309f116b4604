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
 * struct ttak_ptr_hash - address-keyed hash table, private to the
 * implementation: the index of a mem tree and of the block registry.
 */
struct ttak_hash_slot {
	const void *key;	/* NULL: empty */
	void *entry;
};

struct ttak_hash_table;

struct ttak_ptr_hash {
	struct ttak_hash_table *table;
	size_t count;
	unsigned int seq;	/* odd while a writer moves slots */
};

#endif /* TTAK_TYPES_H */
