/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The mem tree: an index of tracked allocations with reference counts.
 *
 * Despite the name it is a hash table keyed by address, so lookups cost
 * O(1) expected. Nodes whose reference count drops to zero move to a
 * garbage list; a cleanup walks only that list, unlinks the expired nodes
 * and hands them to epoch reclamation, which frees block and node once no
 * reader inside ttak_epoch_enter()/ttak_epoch_exit() can still see them.
 *
 * Garbage pressure counts the bytes of nodes that reached zero references
 * and have not been freed yet; it returns to 0 when all of them are.
 *
 * Memory tracked by a tree must come from ttak_mem_alloc_safe(): cleanup
 * frees it with ttak_mem_free().
 */
#ifndef TTAK_MEM_TREE_H
#define TTAK_MEM_TREE_H

#include <ttak/types.h>

struct ttak_mem_tree;

typedef struct ttak_mem_node {
	void *ptr;
	size_t size;
	uint64_t expires_tick;
	ttak_atomic_u32_t ref_count;
	bool is_root;
	/* private: */
	bool on_garbage;	/* linked on tree->garbage (tree lock) */
	bool unlinked;		/* out of the index, waiting for a grace period */
	bool owner_released;	/* the reference from add went by retire */
	uint64_t serial;	/* never reused: tells a stale handle apart */
	struct ttak_mem_node *garbage_prev;
	struct ttak_mem_node *garbage_next;
	struct ttak_mem_tree *tree;
} ttak_mem_node_t;

typedef struct ttak_mem_tree {
	ttak_atomic_size_t garbage_pressure;
	ttak_atomic_size_t pressure_threshold;
	/* private: the tree's lock is a stripe of a global table */
	struct ttak_ptr_hash index;
	struct ttak_mem_node *garbage;	/* ref_count 0, still indexed */
	size_t bytes_tracked;		/* sum of sizes of indexed nodes */
	size_t garbage_nodes;
	size_t external_pressure;	/* from ttak_mem_tree_report_pressure() */
	ttak_atomic_size_t pending_nodes;	/* unlinked, not yet freed */
	ttak_atomic_size_t pending_bytes;
	ttak_atomic_u64_t freed_nodes;		/* total ever freed */
	uint64_t min_interval_ns;
	uint64_t max_interval_ns;
	uint64_t last_cleanup_ns;
	bool manual_cleanup;
	bool initialized;
} ttak_mem_tree_t;

typedef enum {
	TTAK_MEM_TREE_HINT_ALLOC	= 1 << 0,
	TTAK_MEM_TREE_HINT_FREE		= 1 << 1,
	TTAK_MEM_TREE_HINT_PRESSURE	= 1 << 2,
	TTAK_MEM_TREE_HINT_IDLE		= 1 << 3,
	TTAK_MEM_TREE_HINT_SHUTDOWN	= 1 << 4,
} ttak_mem_tree_hint_t;

/**
 * struct ttak_mem_tree_stats - a consistent snapshot of a tree.
 * @nodes: nodes in the index.
 * @bytes: bytes of the nodes in the index.
 * @garbage_nodes: indexed nodes with no reference left.
 * @pending_nodes: nodes unlinked and waiting for a grace period.
 * @pending_bytes: their bytes.
 * @freed_nodes: nodes freed since init.
 * @garbage_pressure: current pressure in bytes.
 * @pressure_threshold: threshold in bytes.
 */
struct ttak_mem_tree_stats {
	size_t nodes;
	size_t bytes;
	size_t garbage_nodes;
	size_t pending_nodes;
	size_t pending_bytes;
	uint64_t freed_nodes;
	size_t garbage_pressure;
	size_t pressure_threshold;
};

/**
 * ttak_mem_tree_init() - Initialise an empty tree.
 * @tree: the tree; NULL is ignored.
 *
 * Defaults: automatic cleanup between 10 ms and 1 s apart, threshold
 * 1 MiB. Automatic cleanup runs in the caller of ttak_mem_tree_add() and
 * ttak_mem_tree_hint(); no thread is started.
 *
 * Context: any thread or context; takes no lock.
 */
void ttak_mem_tree_init(ttak_mem_tree_t *tree);

/**
 * ttak_mem_tree_destroy() - Free every node and every tracked block.
 * @tree: the tree; NULL or an uninitialised tree is ignored.
 *
 * Waits for blocks still in a grace period.
 *
 * Context: must not be called inside ttak_epoch_enter()/exit(); there it
 * is refused (reported, errno EDEADLK) and @tree stays as it was.
 */
void ttak_mem_tree_destroy(ttak_mem_tree_t *tree);

/**
 * ttak_mem_tree_add() - Track @ptr.
 * @tree: the tree.
 * @ptr: the block; must not be tracked by @tree already.
 * @size: its size in bytes.
 * @expires_tick: last tick at which the node is still valid: once
 *	unreferenced it may be freed from the next tick on; 0 means at once,
 *	__TTAK_UNSAFE_MEM_FOREVER__ never.
 * @is_root: recorded in the node.
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 * Return: the new node with ref_count 1, or NULL (bad argument, @ptr
 * already tracked, or no memory; errno EINVAL, EEXIST or ENOMEM).
 */
ttak_mem_node_t *ttak_mem_tree_add(ttak_mem_tree_t *tree, void *ptr,
				   size_t size, uint64_t expires_tick,
				   bool is_root);

/**
 * ttak_mem_tree_remove() - Stop tracking a node, leaving its block alone.
 * @tree: the tree holding @node.
 * @node: the node; NULL, a node of another tree or one removed already
 *	is refused (errno EINVAL) and nothing changes.
 *
 * The node is freed after a grace period; the caller owns the block.
 * Remove is the owner's free of the node: references others hold do not
 * keep it, so call it only when nobody else holds one.
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 */
void ttak_mem_tree_remove(ttak_mem_tree_t *tree, ttak_mem_node_t *node);

/**
 * ttak_mem_node_try_acquire() - Take a reference, or learn the node is gone.
 * @node: a node the caller may use (see ttak_mem_tree_find_node()).
 *
 * A node with no reference is garbage, and a cleanup may take it out of
 * the tree between a find and this call. Either the reference is taken,
 * and the node stays in the tree and its block stays allocated until the
 * matching ttak_mem_node_release() whatever cleanups run, or the node was
 * taken out already and nothing changes.
 *
 * Context: user space: any thread. Kernel: process context; does not
 *	sleep (takes spinlocks that are not irq-safe).
 * Return: true if the reference was taken; false (errno ENOENT in user
 *	space) if the node was taken out of its tree, false (EINVAL) for NULL.
 */
bool ttak_mem_node_try_acquire(ttak_mem_node_t *node);

/**
 * ttak_mem_node_acquire() - Take a reference.
 * @node: a node the caller may use (see ttak_mem_tree_find_node()).
 *
 * ttak_mem_node_try_acquire() without the result: when the node was
 * taken out of its tree already no reference is taken, and user space
 * sees errno ENOENT. Callers that may race with a cleanup use the try
 * form.
 *
 * Context: user space: any thread. Kernel: process context; does not
 *	sleep (takes spinlocks that are not irq-safe).
 */
void ttak_mem_node_acquire(ttak_mem_node_t *node);

/**
 * ttak_mem_node_release() - Drop a reference.
 * @node: the node.
 *
 * The last release moves the node to the garbage list and adds its size
 * to the tree's garbage pressure. Releasing NULL or a node at zero is
 * refused (errno EINVAL) and changes nothing.
 * After dropping the last reference the call no longer touches @node.
 *
 * Context: user space: any thread. Kernel: process context; does not
 *	sleep (takes spinlocks that are not irq-safe).
 */
void ttak_mem_node_release(ttak_mem_node_t *node);

/**
 * ttak_mem_tree_set_cleaning_intervals() - Pace automatic cleanup.
 * @tree: the tree.
 * @min_ns: an automatic cleanup runs at most this often, and only once
 *	the pressure has reached the threshold.
 * @max_ns: with garbage waiting, an automatic cleanup runs at least this
 *	often. @min_ns > @max_ns, or a NULL @tree, is refused (errno EINVAL)
 *	and nothing changes.
 *
 * Context: user space: any thread. Kernel: process context; does not
 * sleep (takes spinlocks that are not irq-safe).
 */
void ttak_mem_tree_set_cleaning_intervals(ttak_mem_tree_t *tree,
					  uint64_t min_ns, uint64_t max_ns);

/**
 * ttak_mem_tree_set_pressure_threshold() - Set the pressure threshold.
 * @tree: the tree.
 * @threshold_bytes: garbage pressure at which automatic cleanup (and an
 *	automatic epoch GC) stops waiting for the interval.
 *
 * A NULL @tree is refused (errno EINVAL).
 *
 * Context: any thread or context; takes no lock.
 */
void ttak_mem_tree_set_pressure_threshold(ttak_mem_tree_t *tree,
					  size_t threshold_bytes);

/**
 * ttak_mem_tree_report_pressure() - Count external garbage.
 * @tree: the tree.
 * @pressure_amount: bytes added to the pressure figure until the next
 *	cleanup takes them back.
 *
 * May run an automatic cleanup that is due. A NULL @tree is refused
 * (errno EINVAL).
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 */
void ttak_mem_tree_report_pressure(ttak_mem_tree_t *tree,
				   size_t pressure_amount);

/**
 * ttak_mem_tree_set_manual_cleanup() - Switch automatic cleanup off or on.
 * @tree: the tree.
 * @manual_cleanup_enabled: true: only ttak_mem_tree_perform_cleanup() and
 *	the SHUTDOWN hint clean the tree.
 *
 * A NULL @tree is refused (errno EINVAL).
 *
 * Context: user space: any thread. Kernel: process context; does not
 * sleep (takes spinlocks that are not irq-safe).
 */
void ttak_mem_tree_set_manual_cleanup(ttak_mem_tree_t *tree,
				      bool manual_cleanup_enabled);

/**
 * ttak_mem_tree_perform_cleanup() - Flush expired unreferenced nodes.
 * @tree: the tree.
 * @now: current tick; nodes with expires_tick < @now, or expires_tick 0,
 *	qualify (a node expiring at @now is still valid at @now).
 *
 * Costs O(garbage), not O(nodes). Qualifying nodes leave the index at
 * once; their blocks are freed as soon as no epoch reader can hold them,
 * which is immediately when no reader is inside a section. A NULL or
 * destroyed @tree is refused (errno EINVAL).
 *
 * Context: user space: any thread. Kernel: process context.
 */
void ttak_mem_tree_perform_cleanup(ttak_mem_tree_t *tree, uint64_t now);

/**
 * ttak_mem_tree_find_node() - Look up the node tracking @ptr.
 * @tree: the tree.
 * @ptr: the block address.
 *
 * The node returned stays valid while the caller holds a reference (unless
 * its owner removes it, see ttak_mem_tree_remove()), or until the caller
 * leaves the epoch section it was found in, or - with
 * neither - until the next cleanup of @tree that may free it. Nodes are
 * freed only after a grace period, never under a reader's feet.
 *
 * Context: user space: any thread. Kernel: process context; does not
 *	sleep (takes spinlocks that are not irq-safe).
 * Return: the node, or NULL when @ptr is not (or no longer) tracked, or
 * (errno EINVAL) for a NULL or destroyed @tree or a NULL @ptr.
 */
ttak_mem_node_t *ttak_mem_tree_find_node(ttak_mem_tree_t *tree, void *ptr);

/**
 * ttak_mem_tree_hint() - Tell the tree what the program is doing.
 * @tree: the tree.
 * @hint: ttak_mem_tree_hint_t bits.
 *
 * PRESSURE and IDLE run a cleanup at once (unless manual), SHUTDOWN runs
 * one even in manual mode; ALLOC and FREE only let an overdue automatic
 * cleanup run. A NULL or destroyed @tree is refused (errno EINVAL).
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 */
void ttak_mem_tree_hint(ttak_mem_tree_t *tree, ttak_mem_tree_hint_t hint);

/**
 * ttak_mem_tree_get_stats() - Snapshot the counters of a tree (ttak
 * extension).
 * @tree: the tree; NULL is ignored.
 * @stats: filled in, consistently under the tree's lock.
 *
 * Context: user space: any thread. Kernel: process context; does not
 * sleep (takes spinlocks that are not irq-safe).
 */
void ttak_mem_tree_get_stats(ttak_mem_tree_t *tree,
			     struct ttak_mem_tree_stats *stats);

#endif /* TTAK_MEM_TREE_H */
