// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Epoch GC: rotation of a mem tree's garbage through epoch reclamation.
 * A rotation is a cleanup of the tree (O(garbage)) plus one reclamation
 * pass; it never waits for readers.
 */
#include "ttak_core.h"
#include <ttak/mem/epoch_gc.h>
#include <ttak/timing/timing.h>

void ttak_epoch_gc_init(ttak_epoch_gc_t *gc)
{
	if (!gc)
		return;
	memset(gc, 0, sizeof(*gc));
	ttak_mem_tree_init(&gc->tree);
	ttak_a64_set(&gc->current_epoch, 0);
	ttak_a64_set(&gc->rotations, 0);
	ttak_a64_set(&gc->last_rotate_ns, 0);
	gc->manual_rotation = false;
}
EXPORT_SYMBOL_GPL(ttak_epoch_gc_init);

void ttak_epoch_gc_destroy(ttak_epoch_gc_t *gc)
{
	if (!gc)
		return;
	ttak_mem_tree_destroy(&gc->tree);
}
EXPORT_SYMBOL_GPL(ttak_epoch_gc_destroy);

static bool ttak_gc_over_threshold(ttak_epoch_gc_t *gc)
{
	return ttak_mem_tree_actionable_pressure(&gc->tree) >=
	       ttak_asize_read(&gc->tree.pressure_threshold);
}

ttak_mem_node_t *__ttak_epoch_gc_register(ttak_epoch_gc_t *gc, void *ptr,
					  size_t size)
{
	ttak_mem_node_t *node;

	if (!gc || !ptr || !size)
		return ERR_PTR(-EINVAL);
	/* expiry 0: flushed by the first safe rotation after release */
	node = __ttak_mem_tree_add(&gc->tree, ptr, size, 0, false);
	if (IS_ERR(node)) {
		ttak_plat_err("gc register of %p failed (%ld)\n", ptr,
			      PTR_ERR(node));
		return node;
	}
	if (!READ_ONCE(gc->manual_rotation) && ttak_gc_over_threshold(gc))
		ttak_epoch_gc_rotate(gc);
	return node;
}

ttak_mem_node_t *ttak_epoch_gc_register_node(ttak_epoch_gc_t *gc, void *ptr,
					     size_t size)
{
	return ttak_report_ptr(__ttak_epoch_gc_register(gc, ptr, size));
}
EXPORT_SYMBOL_GPL(ttak_epoch_gc_register_node);

void ttak_epoch_gc_register(ttak_epoch_gc_t *gc, void *ptr, size_t size)
{
	ttak_epoch_gc_register_node(gc, ptr, size);
}
EXPORT_SYMBOL_GPL(ttak_epoch_gc_register);

int __ttak_epoch_gc_rotate(ttak_epoch_gc_t *gc)
{
	u64 now_ns;

	if (!gc || !gc->tree.initialized)
		return -EINVAL;
	now_ns = ttak_get_tick_count_ns();
	ttak_a64_inc_return(&gc->current_epoch);
	/* the cleanup retires the garbage and runs one reclaim pass */
	ttak_mem_tree_cleanup_at(&gc->tree, div_u64(now_ns, 1000000), now_ns);
	ttak_a64_inc_return(&gc->rotations);
	ttak_a64_set(&gc->last_rotate_ns, now_ns);
	return 0;
}

void ttak_epoch_gc_rotate(ttak_epoch_gc_t *gc)
{
	ttak_report(__ttak_epoch_gc_rotate(gc));
}
EXPORT_SYMBOL_GPL(ttak_epoch_gc_rotate);

void ttak_epoch_gc_get_stats(ttak_epoch_gc_t *gc,
			     struct ttak_epoch_gc_stats *stats)
{
	if (!gc || !stats)
		return;
	stats->epoch = ttak_a64_read(&gc->current_epoch);
	stats->rotations = ttak_a64_read(&gc->rotations);
	stats->last_rotate_ns = ttak_a64_read(&gc->last_rotate_ns);
	stats->manual = READ_ONCE(gc->manual_rotation);
}
EXPORT_SYMBOL_GPL(ttak_epoch_gc_get_stats);

void ttak_epoch_gc_manual_rotate(ttak_epoch_gc_t *gc, bool manual_mode)
{
	if (!gc) {
		ttak_report(-EINVAL);
		return;
	}
	WRITE_ONCE(gc->manual_rotation, manual_mode);
	/* in manual mode nothing flushes behind the owner's back */
	ttak_mem_tree_set_manual_cleanup(&gc->tree, manual_mode);
}
EXPORT_SYMBOL_GPL(ttak_epoch_gc_manual_rotate);

void ttak_epoch_gc_hint(ttak_epoch_gc_t *gc, ttak_epoch_gc_hint_t hint)
{
	bool manual;

	if (!gc) {
		ttak_report(-EINVAL);
		return;
	}
	manual = READ_ONCE(gc->manual_rotation);
	if ((hint & TTAK_EPOCH_GC_HINT_COLLECT_NOW) ||
	    (!manual && (hint & (TTAK_EPOCH_GC_HINT_IDLE |
				 TTAK_EPOCH_GC_HINT_FREE))) ||
	    (!manual && (hint & (TTAK_EPOCH_GC_HINT_ALLOC |
				 TTAK_EPOCH_GC_HINT_REALLOC)) &&
	     ttak_gc_over_threshold(gc)))
		ttak_epoch_gc_rotate(gc);
}
EXPORT_SYMBOL_GPL(ttak_epoch_gc_hint);
