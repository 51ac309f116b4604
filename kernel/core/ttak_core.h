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

/*
 * Errors as values. The core's workers (__ttak_*; those another file
 * calls are declared below, the rest are static beside their public
 * call) return 0 or -errno, or a pointer that may be ERR_PTR(-errno);
 * the public calls keep upstream's bool / NULL / void signatures and
 * report the reason through ttak_set_errno(): errno in user space,
 * dropped in the kernel, where the module glue calls the workers to
 * return the real reason.
 */
static inline bool ttak_report(int err)
{
	if (err)
		ttak_set_errno(-err);
	return !err;
}

static inline void *ttak_report_ptr(void *p)
{
	if (!IS_ERR(p))
		return p;
	ttak_set_errno((int)-PTR_ERR(p));
	return NULL;
}

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
/*
 * Grow @h if it wants to; takes @lock (irqsave) around the table and
 * allocates outside it.
 */
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
/*
 * The garbage pressure a cleanup can act on now: where a pass frees only
 * after a grace period (kernel), without what was unlinked already and
 * waits for one; another cleanup would not free that sooner.
 */
size_t ttak_mem_tree_actionable_pressure(struct ttak_mem_tree *tree);
/* A fresh id for a node or an env; never 0, never reused. */
u64 ttak_core_new_id(void);
void ttak_mem_tree_core_init(void);
/*
 * Call @fn for each block the tree indexes, with its size and whether its
 * last reference went (garbage waiting for a rotation), under the tree's
 * lock: @fn must not sleep nor call into the tree. For ttak.ko's debugfs.
 */
typedef void (*ttak_mem_tree_walk_fn)(const void *ptr, size_t size,
				      bool garbage, void *ctx);
void ttak_mem_tree_walk(struct ttak_mem_tree *tree, ttak_mem_tree_walk_fn fn,
			void *ctx);
#define TTAK_TREE_LOCK_STRIPES	32	/* power of two */
ttak_lock_t *ttak_mem_tree_lock_at(size_t i);

/* mem.c */
/* ttak_mem_alloc_safe(): the block, or ERR_PTR(-EINVAL / -ENOMEM). */
void *__ttak_mem_alloc(size_t size, u64 lifetime_ticks, u64 now_tick,
		       bool is_const, bool is_volatile, bool allow_direct,
		       bool is_root, ttak_mem_flags_t flags);
int ttak_mem_core_init(void);
/* Free every block still allocated; returns how many there were. */
size_t ttak_mem_core_exit(void);
/* Blocks and bytes currently allocated through ttak_mem_alloc_safe(). */
void ttak_mem_core_usage(size_t *blocks, size_t *bytes);
#define TTAK_REGISTRY_STRIPES	16	/* power of two */
ttak_lock_t *ttak_mem_lock_at(size_t i);
/* ttak_mem_free() with the signature of a cleanup callback. */
void ttak_mem_free_cb(void *ptr);
/*
 * A mem tree starts (+1) or stops (-1) tracking the block @ptr: the dirty
 * pointer calls leave tracked blocks to their trees. Any lock order
 * allowed by ttak_core_lock_at() (tree locks may be held).
 */
void ttak_mem_block_track(const void *ptr, int delta);

/* mem_tree.c */
struct ttak_mem_node;
/* the node, or ERR_PTR(-EINVAL / -ENOMEM / -EEXIST) */
struct ttak_mem_node *__ttak_mem_tree_add(struct ttak_mem_tree *tree,
					  void *ptr, size_t size,
					  u64 expires_tick, bool is_root);

/* epoch_gc.c */
struct ttak_epoch_gc;
/* the node, or ERR_PTR(-EINVAL / -ENOMEM / -EEXIST) */
struct ttak_mem_node *__ttak_epoch_gc_register(struct ttak_epoch_gc *gc,
					       void *ptr, size_t size);
int __ttak_epoch_gc_rotate(struct ttak_epoch_gc *gc);		/* -EINVAL */

/* arena_helper.c */
struct ttak_arena_env;
struct ttak_arena_env_config;
struct ttak_arena_generation;
int __ttak_arena_env_init(struct ttak_arena_env *env,
			  const struct ttak_arena_env_config *config);
/* @bytes 0: the env's generation_bytes; the env's config is not touched */
int __ttak_arena_generation_begin(struct ttak_arena_env *env,
				  struct ttak_arena_generation *generation,
				  u32 epoch_id, size_t bytes);
/* -EINVAL (not this env's, destroyed env), -ENOENT (retired already) */
int __ttak_arena_generation_retire(struct ttak_arena_env *env,
				   struct ttak_arena_generation *generation);
int __ttak_arena_env_rotate(struct ttak_arena_env *env);

/* epoch.c */
int ttak_epoch_core_init(void);
/* Wait for readers and run every pending cleanup. */
void ttak_epoch_core_exit(void);
/* Seal the calling context's open retire batch into the shared queue. */
void ttak_epoch_seal_own(void);
/*
 * Spare retire batches (one page each) kept for the next retires: how
 * many, and free them all (any context but NMI; returns how many went).
 */
size_t ttak_epoch_spare_count(void);
size_t ttak_epoch_spare_trim(void);

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
