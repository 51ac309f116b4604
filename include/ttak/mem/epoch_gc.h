/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Epoch GC: a mem tree whose unreferenced blocks are flushed by rotation.
 *
 * ttak_epoch_gc_register() tracks a block with one reference; releasing
 * that reference (ttak_mem_node_release() on the node found with
 * ttak_mem_tree_find_node(&gc->tree, ptr)) makes it garbage and adds its
 * size to gc->tree.garbage_pressure; ttak_epoch_gc_rotate() advances
 * current_epoch, takes every garbage block out of the tree and frees it
 * once no epoch reader can hold it - during that same rotation when no
 * reader is inside a section.
 *
 * No thread is started. In automatic mode (the default) registering a
 * block or hinting also rotates when garbage pressure has reached the
 * tree's threshold; in manual mode only ttak_epoch_gc_rotate() does.
 */
#ifndef TTAK_EPOCH_GC_H
#define TTAK_EPOCH_GC_H

#include <ttak/types.h>
#include <ttak/mem_tree/mem_tree.h>

typedef struct ttak_epoch_gc {
	ttak_mem_tree_t tree;
	ttak_atomic_u64_t current_epoch;
	/* private: */
	bool manual_rotation;
	ttak_atomic_u64_t rotations;
	ttak_atomic_u64_t last_rotate_ns;
} ttak_epoch_gc_t;

typedef ttak_epoch_gc_t tt_epoch_gc_t;

/**
 * struct ttak_epoch_gc_stats - a snapshot of a GC's rotation state.
 * @epoch: the GC's current_epoch (advances once per rotation).
 * @rotations: rotations since init.
 * @last_rotate_ns: ttak_get_tick_count_ns() at the last rotation, 0 if
 *	none yet.
 * @manual: only ttak_epoch_gc_rotate() flushes (manual mode).
 */
struct ttak_epoch_gc_stats {
	uint64_t epoch;
	uint64_t rotations;
	uint64_t last_rotate_ns;
	bool manual;
};

typedef enum {
	TTAK_EPOCH_GC_HINT_ALLOC	= 1 << 0,
	TTAK_EPOCH_GC_HINT_FREE		= 1 << 1,
	TTAK_EPOCH_GC_HINT_REALLOC	= 1 << 2,
	TTAK_EPOCH_GC_HINT_IDLE		= 1 << 3,
	TTAK_EPOCH_GC_HINT_COLLECT_NOW	= 1 << 4,
} ttak_epoch_gc_hint_t;

/**
 * ttak_epoch_gc_init() - Initialise @gc in automatic mode.
 * @gc: the GC; NULL is ignored.
 *
 * Context: any thread or context; takes no lock.
 */
void ttak_epoch_gc_init(ttak_epoch_gc_t *gc);

/**
 * ttak_epoch_gc_destroy() - Free every block @gc tracks.
 * @gc: the GC; NULL is ignored.
 *
 * Context: must not be called inside an epoch section (it may wait for
 * one to end).
 */
void ttak_epoch_gc_destroy(ttak_epoch_gc_t *gc);

/**
 * ttak_epoch_gc_register() - Track a block from ttak_mem_alloc_safe().
 * @gc: the GC.
 * @ptr: the block.
 * @size: its size in bytes.
 *
 * The block is tracked with one reference and flushed by the first safe
 * rotation after that reference is released. Failure (bad argument, block
 * tracked already, no memory) is reported (errno in user space) and
 * leaves the block untracked and owned by the caller.
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 */
void ttak_epoch_gc_register(ttak_epoch_gc_t *gc, void *ptr, size_t size);

/**
 * ttak_epoch_gc_register_node() - ttak_epoch_gc_register() that returns
 * the node, or NULL on failure (ttak extension).
 * @gc: the GC.
 * @ptr: the block.
 * @size: its size in bytes.
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 * Return: the node tracking @ptr, or NULL on failure (errno EINVAL for a
 * NULL @gc or @ptr or a zero @size, EEXIST when @ptr is tracked already,
 * ENOMEM).
 */
ttak_mem_node_t *ttak_epoch_gc_register_node(ttak_epoch_gc_t *gc, void *ptr,
					     size_t size);

/**
 * ttak_epoch_gc_rotate() - Advance the epoch and flush what is safe.
 * @gc: the GC.
 *
 * Costs O(garbage + readers). Never waits: blocks still visible to a
 * reader stay pending (see ttak_epoch_report_blockers()) and are freed
 * by a later rotation or reclaim. Kernel: the flushed blocks are freed
 * once an RCU grace period has passed, as call_rcu() frees (by the
 * module's background work or a later rotation; ttak_epoch_synchronize()
 * waits for them), so no reader pays a barrier to enter a section.
 *
 * Context: user space: any thread. Kernel: process context.
 * A NULL or destroyed @gc is refused (errno EINVAL).
 */
void ttak_epoch_gc_rotate(ttak_epoch_gc_t *gc);

/**
 * ttak_epoch_gc_get_stats() - Snapshot @gc's rotation state (ttak
 * extension).
 * @gc: the GC; NULL is ignored.
 * @stats: filled in; NULL is ignored.
 *
 * The tree's counters come from ttak_mem_tree_get_stats(&gc->tree, ...).
 *
 * Context: any thread or context; takes no lock.
 */
void ttak_epoch_gc_get_stats(ttak_epoch_gc_t *gc,
			     struct ttak_epoch_gc_stats *stats);

/**
 * ttak_epoch_gc_manual_rotate() - Switch between manual and automatic mode.
 * @gc: the GC.
 * @manual_mode: true: only ttak_epoch_gc_rotate() (and the COLLECT_NOW
 *	hint) flush; false: registering and hinting also rotate once the
 *	pressure reaches the tree's threshold.
 *
 * A NULL @gc is refused (errno EINVAL).
 *
 * Context: user space: any thread. Kernel: process context; does not sleep.
 */
void ttak_epoch_gc_manual_rotate(ttak_epoch_gc_t *gc, bool manual_mode);

/**
 * ttak_epoch_gc_hint() - Tell the GC what the program is doing.
 * @gc: the GC.
 * @hint: ttak_epoch_gc_hint_t bits.
 *
 * COLLECT_NOW rotates even in manual mode; IDLE and FREE rotate in
 * automatic mode; ALLOC and REALLOC rotate in automatic mode only when
 * pressure has reached the threshold. A NULL @gc is refused (errno EINVAL).
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 */
void ttak_epoch_gc_hint(ttak_epoch_gc_t *gc, ttak_epoch_gc_hint_t hint);

#endif /* TTAK_EPOCH_GC_H */
