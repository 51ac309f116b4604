// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The mem tree: tracked blocks indexed by address, with reference counts.
 *
 * State of a node, all changes under the tree lock:
 *   indexed, ref_count > 0           live
 *   indexed, ref_count == 0          garbage: on tree->garbage, counted
 *                                    in garbage_pressure
 *   unlinked                         out of the index, retired to EBR;
 *                                    freed after a grace period
 * ref_count moves to and from zero only under the tree lock, together
 * with the garbage list; above zero it moves without the lock (a node
 * with a reference is never garbage, so no cleanup can take it). So a
 * cleanup that sees zero under the lock owns the node, an acquire that
 * finds the node unlinked fails visibly, and a release never touches the
 * node after its last reference is gone.
 */
#include "ttak_core.h"
#include "epoch_flavour.h"
#include <ttak/mem_tree/mem_tree.h>
#include <ttak/timing/timing.h>

#define TTAK_TREE_DEFAULT_THRESHOLD	(1024UL * 1024)	/* 1 MiB */
#define TTAK_TREE_DEFAULT_MIN_NS	TT_MILLI_SECOND(10)
#define TTAK_TREE_DEFAULT_MAX_NS	TT_SECOND(1)

/*
 * What a new tree starts with (ttak_mem_configure_gc()). Each is read and
 * written whole; a tree initialised during a configure call may get some
 * old and some new values, all of them valid settings.
 */
static u64 ttak_gc_min_ns = TTAK_TREE_DEFAULT_MIN_NS;
static u64 ttak_gc_max_ns = TTAK_TREE_DEFAULT_MAX_NS;
static size_t ttak_gc_threshold = TTAK_TREE_DEFAULT_THRESHOLD;

void ttak_mem_configure_gc(u64 min_interval_ns, u64 max_interval_ns,
			   size_t pressure_threshold)
{
	if (min_interval_ns > max_interval_ns) {
		ttak_plat_err("configure gc: min interval above max; refused\n");
		ttak_report(-EINVAL);
		return;
	}
	WRITE_ONCE(ttak_gc_min_ns, min_interval_ns);
	WRITE_ONCE(ttak_gc_max_ns, max_interval_ns);
	WRITE_ONCE(ttak_gc_threshold, pressure_threshold);
}
EXPORT_SYMBOL_GPL(ttak_mem_configure_gc);

/*
 * Tree locks live in one striped table, not in the trees: fork() can
 * take every one of them (ttak_core_lock_at()) without a list of
 * trees, which a tree freed without ttak_mem_tree_destroy() would leave
 * dangling. No path holds two tree locks at once.
 */
static struct ttak_tree_lock {
	ttak_lock_t lock;
} ttak_tree_locks[TTAK_TREE_LOCK_STRIPES];

/* Ids of nodes and envs: never reused, so a stale handle is told apart. */
static ttak_atomic_u64_t ttak_next_id;

u64 ttak_core_new_id(void)
{
	return ttak_a64_inc_return(&ttak_next_id);
}

static ttak_lock_t *ttak_tree_lock_of(const ttak_mem_tree_t *tree)
{
	uintptr_t x = (uintptr_t)tree;

	return &ttak_tree_locks[(x >> 6 ^ x >> 12) &
				(TTAK_TREE_LOCK_STRIPES - 1)].lock;
}

#define ttak_tree_lock(tree)	ttak_lock(ttak_tree_lock_of(tree))
#define ttak_tree_unlock(tree)	ttak_unlock(ttak_tree_lock_of(tree))

void ttak_mem_tree_core_init(void)
{
	size_t i;

	for (i = 0; i < TTAK_TREE_LOCK_STRIPES; i++)
		ttak_lock_init(&ttak_tree_locks[i].lock);
}

ttak_lock_t *ttak_mem_tree_lock_at(size_t i)
{
	return &ttak_tree_locks[i].lock;
}

static void ttak_garbage_add(ttak_mem_tree_t *tree, ttak_mem_node_t *node)
{
	node->garbage_prev = NULL;
	node->garbage_next = tree->garbage;
	if (tree->garbage)
		tree->garbage->garbage_prev = node;
	tree->garbage = node;
	node->on_garbage = true;
	tree->garbage_nodes++;
	ttak_asize_add(&tree->garbage_pressure, node->size);
}

/* Unlink from the garbage list; the caller settles the pressure. */
static void ttak_garbage_del(ttak_mem_tree_t *tree, ttak_mem_node_t *node)
{
	if (node->garbage_prev)
		node->garbage_prev->garbage_next = node->garbage_next;
	else
		tree->garbage = node->garbage_next;
	if (node->garbage_next)
		node->garbage_next->garbage_prev = node->garbage_prev;
	node->garbage_prev = NULL;
	node->garbage_next = NULL;
	node->on_garbage = false;
	tree->garbage_nodes--;
}

void ttak_mem_tree_init(ttak_mem_tree_t *tree)
{
	if (!tree)
		return;
	memset(tree, 0, sizeof(*tree));
	ttak_asize_set(&tree->garbage_pressure, 0);
	ttak_asize_set(&tree->pressure_threshold, READ_ONCE(ttak_gc_threshold));
	ttak_asize_set(&tree->pending_nodes, 0);
	ttak_asize_set(&tree->pending_bytes, 0);
	ttak_a64_set(&tree->freed_nodes, 0);
	tree->min_interval_ns = READ_ONCE(ttak_gc_min_ns);
	tree->max_interval_ns = READ_ONCE(ttak_gc_max_ns);
	tree->last_cleanup_ns = ttak_get_tick_count_ns();
	tree->initialized = true;
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_init);

/*
 * Runs after a grace period: nobody can reach @p any more. The pending
 * counter is dropped last; ttak_mem_tree_destroy() waits for it to reach
 * zero before the tree's memory may go.
 */
static void ttak_node_free(void *p)
{
	ttak_mem_node_t *node = p;
	ttak_mem_tree_t *tree = node->tree;

	if (node->ptr)
		ttak_mem_free(node->ptr);
	if (node->on_garbage)	/* set at unlink: charged to the pressure */
		ttak_asize_sub(&tree->garbage_pressure, node->size);
	ttak_a64_inc_return(&tree->freed_nodes);
	ttak_asize_sub(&tree->pending_bytes, node->size);
	ttak_asize_sub(&tree->pending_nodes, 1);
	ttak_plat_free(node);
}

/*
 * Take @node out of the index (tree locked). @charged: its bytes stay in
 * the pressure until the free. @free_block: the free releases node->ptr.
 */
static void ttak_node_unlink(ttak_mem_tree_t *tree, ttak_mem_node_t *node,
			     bool free_block)
{
	bool charged = node->on_garbage;

	if (node->on_garbage)
		ttak_garbage_del(tree, node);
	ttak_ptr_hash_remove(&tree->index, node->ptr);
	tree->bytes_tracked -= node->size;
	node->unlinked = true;
	node->on_garbage = charged;	/* reused as "charged" from now on */
	if (!free_block) {
		ttak_mem_block_track(node->ptr, -1);	/* the owner's again */
		node->ptr = NULL;
	}
	ttak_asize_add(&tree->pending_nodes, 1);
	ttak_asize_add(&tree->pending_bytes, node->size);
}

/* Hand unlinked nodes (chained through garbage_next) to EBR. */
static void ttak_retire_nodes(ttak_mem_node_t *list)
{
	ttak_mem_node_t *next;

	for (; list; list = next) {
		next = list->garbage_next;
		list->garbage_next = NULL;
		ttak_epoch_retire(list, ttak_node_free);
	}
	ttak_epoch_reclaim();
}

/* 0, or -EDEADLK inside a section (nothing changes) */
static int __ttak_mem_tree_destroy(ttak_mem_tree_t *tree)
{
	ttak_mem_node_t *list = NULL;
	size_t i;

	if (!tree || !tree->initialized)
		return 0;
	if (ttak_flavour_in_section()) {
		ttak_plat_err("mem tree destroyed inside an epoch section; refused\n");
		return -EDEADLK;
	}
	ttak_tree_lock(tree);
	for (i = 0; i < ttak_ptr_hash_capacity(&tree->index); i++) {
		/* an unlink shifts a later entry into slot i: look again */
		while (ttak_ptr_hash_entry_at(&tree->index, i)) {
			ttak_mem_node_t *node;

			node = ttak_ptr_hash_entry_at(&tree->index, i);
			ttak_node_unlink(tree, node, true);
			node->garbage_next = list;
			list = node;
		}
	}
	ttak_tree_unlock(tree);
	ttak_retire_nodes(list);

	/* Nodes retired by earlier cleanups may still wait for readers. */
	while (ttak_asize_read(&tree->pending_nodes)) {
		ttak_epoch_reclaim();
		if (ttak_asize_read(&tree->pending_nodes))
			ttak_plat_wait_relax();
	}
	ttak_ptr_hash_free(&tree->index);
	tree->initialized = false;
	return 0;
}

void ttak_mem_tree_destroy(ttak_mem_tree_t *tree)
{
	ttak_report(__ttak_mem_tree_destroy(tree));
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_destroy);

size_t ttak_mem_tree_actionable_pressure(ttak_mem_tree_t *tree)
{
	size_t pressure = ttak_asize_read(&tree->garbage_pressure);
	size_t pending;

	if (ttak_flavour_scan_on_every_pass())
		return pressure;
	pending = ttak_asize_read(&tree->pending_bytes);
	return pressure > pending ? pressure - pending : 0;
}

/*
 * Tree locked: is an automatic cleanup due? The clock is read only when
 * there is garbage to judge, and the reading goes to *@now_ns for the
 * cleanup itself.
 */
static bool ttak_cleanup_due(ttak_mem_tree_t *tree, u64 *now_ns)
{
	u64 since;

	if (!tree->garbage || tree->manual_cleanup)
		return false;
	*now_ns = ttak_get_tick_count_ns();
	since = *now_ns - tree->last_cleanup_ns;
	if (since >= tree->max_interval_ns)
		return true;
	return since >= tree->min_interval_ns &&
	       ttak_mem_tree_actionable_pressure(tree) >=
	       ttak_asize_read(&tree->pressure_threshold);
}

/* The cleanup ttak_cleanup_due() asked for, on its clock reading. */
static void ttak_cleanup_now(ttak_mem_tree_t *tree, u64 now_ns)
{
	ttak_mem_tree_cleanup_at(tree, div_u64(now_ns, 1000000), now_ns);
}

static void ttak_maybe_cleanup(ttak_mem_tree_t *tree)
{
	u64 now_ns = 0;
	bool due;

	ttak_tree_lock(tree);
	due = ttak_cleanup_due(tree, &now_ns);
	ttak_tree_unlock(tree);
	if (due)
		ttak_cleanup_now(tree, now_ns);
}

ttak_mem_node_t *__ttak_mem_tree_add(ttak_mem_tree_t *tree, void *ptr,
				     size_t size, u64 expires_tick,
				     bool is_root)
{
	ttak_mem_node_t *node;
	u64 now_ns = 0;
	bool due;

	if (!tree || !ptr || !tree->initialized)
		return ERR_PTR(-EINVAL);
	node = ttak_plat_zalloc(sizeof(*node));
	if (!node)
		return ERR_PTR(-ENOMEM);
	node->ptr = ptr;
	node->size = size;
	node->expires_tick = expires_tick;
	node->is_root = is_root;
	node->tree = tree;
	node->serial = ttak_core_new_id();
	ttak_a32_set(&node->ref_count, 1);
	/* counted before it is indexed: no dirty-pointer free in between */
	ttak_mem_block_track(ptr, 1);

	ttak_tree_lock(tree);
	if (ttak_unlikely(ttak_ptr_hash_grow_target(&tree->index))) {
		ttak_tree_unlock(tree);
		ttak_ptr_hash_grow(&tree->index, ttak_tree_lock_of(tree));
		ttak_tree_lock(tree);
	}
	if (!ttak_ptr_hash_insert(&tree->index, ptr, node)) {
		bool dup = ttak_ptr_hash_find(&tree->index, ptr);

		ttak_tree_unlock(tree);
		ttak_mem_block_track(ptr, -1);
		ttak_plat_free(node);
		return ERR_PTR(dup ? -EEXIST : -ENOMEM);
	}
	tree->bytes_tracked += size;
	due = ttak_cleanup_due(tree, &now_ns);	/* under the add's own lock */
	ttak_tree_unlock(tree);

	if (due)
		ttak_cleanup_now(tree, now_ns);
	return node;
}

ttak_mem_node_t *ttak_mem_tree_add(ttak_mem_tree_t *tree, void *ptr,
				   size_t size, uint64_t expires_tick,
				   bool is_root)
{
	return ttak_report_ptr(__ttak_mem_tree_add(tree, ptr, size,
						   expires_tick, is_root));
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_add);

/* 0, or -EINVAL: not a node of @tree, or removed already */
static int __ttak_mem_tree_remove(ttak_mem_tree_t *tree,
				  ttak_mem_node_t *node)
{
	bool ok;

	if (!tree || !node)
		return -EINVAL;
	ttak_tree_lock(tree);
	ok = node->tree == tree && !node->unlinked;
	if (ok) {
		ttak_node_unlink(tree, node, false);
		if (node->on_garbage) {
			/* removed garbage leaves the pressure figure now */
			ttak_asize_sub(&tree->garbage_pressure, node->size);
			node->on_garbage = false;
		}
	}
	ttak_tree_unlock(tree);
	if (!ok) {
		ttak_plat_err("remove of a node not in this tree\n");
		return -EINVAL;
	}
	node->garbage_next = NULL;
	ttak_retire_nodes(node);
	return 0;
}

void ttak_mem_tree_remove(ttak_mem_tree_t *tree, ttak_mem_node_t *node)
{
	ttak_report(__ttak_mem_tree_remove(tree, node));
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_remove);

/* 0, or -ENOENT once the node left its tree (-EINVAL for NULL) */
static int __ttak_mem_node_try_acquire(ttak_mem_node_t *node)
{
	ttak_mem_tree_t *tree;
	bool live;

	if (!node)
		return -EINVAL;
	/* held already: no cleanup can take it, so no lock is needed */
	if (ttak_a32_add_above(&node->ref_count, 1, 0))
		return 0;
	tree = node->tree;
	ttak_tree_lock(tree);
	live = !node->unlinked;
	if (live && ttak_a32_inc_return(&node->ref_count) == 1 &&
	    node->on_garbage) {
		ttak_garbage_del(tree, node);
		ttak_asize_sub(&tree->garbage_pressure, node->size);
	}
	ttak_tree_unlock(tree);
	return live ? 0 : -ENOENT;
}

bool ttak_mem_node_try_acquire(ttak_mem_node_t *node)
{
	return ttak_report(__ttak_mem_node_try_acquire(node));
}
EXPORT_SYMBOL_GPL(ttak_mem_node_try_acquire);

void ttak_mem_node_acquire(ttak_mem_node_t *node)
{
	ttak_mem_node_try_acquire(node);
}
EXPORT_SYMBOL_GPL(ttak_mem_node_acquire);

/* Drop one reference with the tree locked; false if there was none. */
static bool ttak_node_put_locked(ttak_mem_tree_t *tree, ttak_mem_node_t *node)
{
	long refs = ttak_a32_dec_unless_zero(&node->ref_count);

	if (refs < 0)
		return false;
	if (!refs && !node->unlinked)
		ttak_garbage_add(tree, node);
	return true;
}

/* 0, or -EINVAL: NULL or no reference left */
static int __ttak_mem_node_release(ttak_mem_node_t *node)
{
	ttak_mem_tree_t *tree;
	bool held;

	if (!node)
		return -EINVAL;
	/* not the last reference: the node stays live, no lock needed */
	if (ttak_a32_add_above(&node->ref_count, -1, 1))
		return 0;
	/*
	 * Maybe the last: drop it under the lock, so no cleanup sees zero
	 * before the node is on the garbage list, and touch the node no
	 * more once the lock is released.
	 */
	tree = node->tree;
	ttak_tree_lock(tree);
	held = ttak_node_put_locked(tree, node);
	ttak_tree_unlock(tree);
	if (!held) {
		ttak_plat_err("release of a node with no reference left\n");
		return -EINVAL;
	}
	return 0;
}

void ttak_mem_node_release(ttak_mem_node_t *node)
{
	ttak_report(__ttak_mem_node_release(node));
}
EXPORT_SYMBOL_GPL(ttak_mem_node_release);

bool ttak_mem_tree_release_owner(ttak_mem_tree_t *tree, void *ptr, u64 serial)
{
	ttak_mem_node_t *node;
	bool ok;

	ttak_tree_lock(tree);
	node = ttak_ptr_hash_find(&tree->index, ptr);
	ok = node && node->serial == serial && !node->owner_released &&
	     ttak_node_put_locked(tree, node);
	if (ok)
		node->owner_released = true;
	ttak_tree_unlock(tree);
	return ok;
}

void ttak_mem_tree_set_cleaning_intervals(ttak_mem_tree_t *tree,
					  u64 min_ns, u64 max_ns)
{
	if (!tree || min_ns > max_ns) {
		ttak_report(-EINVAL);
		return;
	}
	ttak_tree_lock(tree);
	tree->min_interval_ns = min_ns;
	tree->max_interval_ns = max_ns;
	ttak_tree_unlock(tree);
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_set_cleaning_intervals);

void ttak_mem_tree_set_pressure_threshold(ttak_mem_tree_t *tree,
					  size_t threshold_bytes)
{
	if (!tree) {
		ttak_report(-EINVAL);
		return;
	}
	ttak_asize_set(&tree->pressure_threshold, threshold_bytes);
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_set_pressure_threshold);

void ttak_mem_tree_report_pressure(ttak_mem_tree_t *tree,
				   size_t pressure_amount)
{
	if (!tree) {
		ttak_report(-EINVAL);
		return;
	}
	/* external garbage: counted until the next cleanup takes it back */
	ttak_tree_lock(tree);
	tree->external_pressure += pressure_amount;
	ttak_asize_add(&tree->garbage_pressure, pressure_amount);
	ttak_tree_unlock(tree);
	ttak_maybe_cleanup(tree);
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_report_pressure);

void ttak_mem_tree_set_manual_cleanup(ttak_mem_tree_t *tree,
				      bool manual_cleanup_enabled)
{
	if (!tree) {
		ttak_report(-EINVAL);
		return;
	}
	ttak_tree_lock(tree);
	tree->manual_cleanup = manual_cleanup_enabled;
	ttak_tree_unlock(tree);
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_set_manual_cleanup);

/*
 * The block boundary of mem.c: a node expiring at E is kept through tick
 * E and qualifies from E + 1 on. Expiry 0 is "now": it qualifies at any
 * tick, 0 included (what ttak_epoch_gc_register() relies on).
 */
static bool ttak_node_expired(const ttak_mem_node_t *node, u64 now)
{
	if (node->expires_tick == __TTAK_UNSAFE_MEM_FOREVER__)
		return false;
	return !node->expires_tick || now > node->expires_tick;
}

/* Cleanup with the expiry clock @now (ticks) and the wall clock @now_ns. */
void ttak_mem_tree_cleanup_at(ttak_mem_tree_t *tree, u64 now, u64 now_ns)
{
	ttak_mem_node_t *node, *next, *list = NULL;

	ttak_tree_lock(tree);
	for (node = tree->garbage; node; node = next) {
		next = node->garbage_next;
		if (!ttak_node_expired(node, now))
			continue;
		/* zero crossings happen under this lock: it is garbage */
		ttak_node_unlink(tree, node, true);
		node->garbage_next = list;
		list = node;
	}
	ttak_asize_sub(&tree->garbage_pressure, tree->external_pressure);
	tree->external_pressure = 0;
	tree->last_cleanup_ns = now_ns;
	ttak_tree_unlock(tree);
	ttak_retire_nodes(list);
}

void ttak_mem_tree_perform_cleanup(ttak_mem_tree_t *tree, uint64_t now)
{
	if (!tree || !tree->initialized) {
		ttak_report(-EINVAL);
		return;
	}
	ttak_mem_tree_cleanup_at(tree, now, ttak_get_tick_count_ns());
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_perform_cleanup);

ttak_mem_node_t *ttak_mem_tree_find_node(ttak_mem_tree_t *tree, void *ptr)
{
	ttak_mem_node_t *node;

	if (!tree || !ptr || !tree->initialized) {
		ttak_report(-EINVAL);
		return NULL;
	}
	/* lock-free: nodes and replaced tables are freed after a grace period */
	ttak_epoch_enter();
	node = ttak_ptr_hash_find_lockless(&tree->index, ptr);
	ttak_epoch_exit();
	return node;
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_find_node);

void ttak_mem_tree_hint(ttak_mem_tree_t *tree, ttak_mem_tree_hint_t hint)
{
	bool manual;

	if (!tree || !tree->initialized) {
		ttak_report(-EINVAL);
		return;
	}
	ttak_tree_lock(tree);
	manual = tree->manual_cleanup;
	ttak_tree_unlock(tree);

	if ((hint & TTAK_MEM_TREE_HINT_SHUTDOWN) ||
	    (!manual && (hint & (TTAK_MEM_TREE_HINT_PRESSURE |
				 TTAK_MEM_TREE_HINT_IDLE))))
		ttak_mem_tree_perform_cleanup(tree, ttak_get_tick_count());
	else if (hint & (TTAK_MEM_TREE_HINT_ALLOC | TTAK_MEM_TREE_HINT_FREE))
		ttak_maybe_cleanup(tree);
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_hint);

void ttak_mem_tree_get_stats(ttak_mem_tree_t *tree,
			     struct ttak_mem_tree_stats *stats)
{
	if (!tree || !stats)
		return;
	ttak_tree_lock(tree);
	stats->nodes = tree->index.count;
	stats->bytes = tree->bytes_tracked;
	stats->garbage_nodes = tree->garbage_nodes;
	stats->pending_nodes = ttak_asize_read(&tree->pending_nodes);
	stats->pending_bytes = ttak_asize_read(&tree->pending_bytes);
	stats->freed_nodes = ttak_a64_read(&tree->freed_nodes);
	stats->garbage_pressure = ttak_asize_read(&tree->garbage_pressure);
	stats->pressure_threshold = ttak_asize_read(&tree->pressure_threshold);
	ttak_tree_unlock(tree);
}
EXPORT_SYMBOL_GPL(ttak_mem_tree_get_stats);

void ttak_mem_tree_walk(struct ttak_mem_tree *tree, ttak_mem_tree_walk_fn fn,
			void *ctx)
{
	const ttak_mem_node_t *node;
	size_t i;

	if (!tree || !tree->initialized || !fn)
		return;
	ttak_tree_lock(tree);
	for (i = 0; i < ttak_ptr_hash_capacity(&tree->index); i++) {
		node = ttak_ptr_hash_entry_at(&tree->index, i);
		if (node)
			fn(node->ptr, node->size, node->on_garbage, ctx);
	}
	ttak_tree_unlock(tree);
}
