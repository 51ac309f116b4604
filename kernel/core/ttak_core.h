/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Internal interface between the core files (shared by ttak.ko and libttak).
 */
#ifndef TTAK_CORE_H
#define TTAK_CORE_H

#include "ttak_platform.h"
#include <ttak/types.h>
#include <ttak/mem/mem.h>
#include <ttak/mem/epoch.h>

/* ptr_hash.c: (key, entry) table keyed by address; writers lock. */
void *ttak_ptr_hash_find(const struct ttak_ptr_hash *h, const void *key);
/* Lookup without the lock; the caller is inside an epoch section. */
void *ttak_ptr_hash_find_lockless(const struct ttak_ptr_hash *h,
				  const void *key);
/* False when @key is present already or the table is too full. */
bool ttak_ptr_hash_insert(struct ttak_ptr_hash *h, const void *key,
			  void *entry);
/* The entry that was stored under @key, or NULL. */
void *ttak_ptr_hash_remove(struct ttak_ptr_hash *h, const void *key);
/* Slot count the table wants next, or 0 when it is large enough. */
size_t ttak_ptr_hash_grow_target(const struct ttak_ptr_hash *h);
/* Grow @h if it wants to; takes @lock around the table, allocates outside. */
void ttak_ptr_hash_grow(struct ttak_ptr_hash *h, ttak_lock_t *lock);
/* Iteration for teardown: slots 0..capacity-1, NULL where empty. */
size_t ttak_ptr_hash_capacity(const struct ttak_ptr_hash *h);
void *ttak_ptr_hash_entry_at(const struct ttak_ptr_hash *h, size_t i);
/* Free the table at once: no reader may be left. */
void ttak_ptr_hash_free(struct ttak_ptr_hash *h);

/* mem_tree.c: cleanup with both clocks given (one clock read per rotation) */
struct ttak_mem_tree;
void ttak_mem_tree_cleanup_at(struct ttak_mem_tree *tree, u64 now,
			      u64 now_ns);
/*
 * Drop the reference ttak_mem_tree_add() gave, once, if the node at @ptr
 * is still the one with @serial: a retired generation's stale copy, or a
 * new generation at a reused address, is refused.
 */
bool ttak_mem_tree_release_owner(struct ttak_mem_tree *tree, void *ptr,
				 u64 serial);
/* A fresh id for a node or an env; never 0, never reused. */
u64 ttak_core_new_id(void);
void ttak_mem_tree_core_init(void);
#define TTAK_TREE_LOCK_STRIPES	32	/* power of two */
ttak_lock_t *ttak_mem_tree_lock_at(size_t i);

/* mem.c */
int ttak_mem_core_init(void);
/* Free every block still allocated; returns how many there were. */
size_t ttak_mem_core_exit(void);
/* Blocks and bytes currently allocated through ttak_mem_alloc_safe(). */
void ttak_mem_core_usage(size_t *blocks, size_t *bytes);
#define TTAK_REGISTRY_STRIPES	16	/* power of two */
ttak_lock_t *ttak_mem_lock_at(size_t i);
/* ttak_mem_free() with the signature of a cleanup callback. */
void ttak_mem_free_cb(void *ptr);

/* epoch.c */
int ttak_epoch_core_init(void);
/* Wait for readers and run every pending cleanup. */
void ttak_epoch_core_exit(void);
/* Seal the calling context's open retire batch into the shared queue. */
void ttak_epoch_seal_own(void);

/* Both halves of the core, in the order they must start and stop. */
int ttak_core_init(void);
void ttak_core_exit(void);
/*
 * The @i-th lock of the core, NULL past the last, in the one order in
 * which they may nest (tree stripes, block registry stripes, EBR domain):
 * fork() takes them all, so the child finds none held by a thread it
 * does not have. User space only.
 */
ttak_lock_t *ttak_core_lock_at(size_t i);
/* In a fork() child, every core lock held: forget the parent's other threads. */
void ttak_core_fork_child(void);

#endif /* TTAK_CORE_H */
