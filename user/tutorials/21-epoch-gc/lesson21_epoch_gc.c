// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Lesson 21: the epoch GC - register, release, rotate.
 *
 * An epoch GC is a mem tree (gc.tree) whose unreferenced blocks are
 * flushed by rotation. A registered block holds one reference; dropping
 * it makes the block garbage and adds its size to the garbage pressure;
 * ttak_epoch_gc_rotate() advances gc.current_epoch and frees the garbage
 * as soon as no epoch reader can hold it (here: during the rotation, no
 * thread is reading). In automatic mode, registering and hinting also
 * rotate once the pressure reaches the tree's threshold; in manual mode
 * only an explicit rotation (or the COLLECT_NOW hint) does.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>
#include <ttak/timing/timing.h>

#define FOREVER	__TTAK_UNSAFE_MEM_FOREVER__

static ttak_epoch_gc_t gc;

static void status(const char *what)
{
	struct ttak_mem_tree_stats st;

	ttak_mem_tree_get_stats(&gc.tree, &st);
	printf("  %-34s epoch=%" PRIu64 " tracked=%zu garbage=%zu pressure=%zu\n",
	       what, (uint64_t)atomic_load(&gc.current_epoch), st.nodes,
	       st.garbage_nodes, (size_t)atomic_load(&gc.tree.garbage_pressure));
}

/* Drop the reference registration gave: the block becomes garbage. */
static void release(void *p)
{
	ttak_mem_node_t *node = ttak_mem_tree_find_node(&gc.tree, p);

	if (node)
		ttak_mem_node_release(node);
}

int main(void)
{
	const uint64_t now = ttak_get_tick_count();
	void *a, *b, *c, *big[4];
	int i, bad = 0;

	printf("== lesson 21: epoch GC ==\n");
	ttak_epoch_gc_init(&gc);
	/* no automatic cleanup by the clock in this lesson: only pressure */
	ttak_mem_tree_set_cleaning_intervals(&gc.tree, TT_HOUR(1), TT_HOUR(1));

	printf("1. register three blocks (ttak_mem_alloc + ttak_epoch_gc_register)\n");
	a = ttak_mem_alloc(100, FOREVER, now);
	b = ttak_mem_alloc(200, FOREVER, now);
	if (!a || !b)
		return 1;
	ttak_epoch_gc_register(&gc, a, 100);
	ttak_epoch_gc_register(&gc, b, 200);
	/* ttak_fastalloc() is both steps in one call */
	c = ttak_fastalloc(&gc, 300, FOREVER, now);
	if (!c)
		return 1;
	status("registered a, b, c:");

	printf("2. release a and b, then rotate\n");
	release(a);
	release(b);
	status("released a, b:");
	ttak_epoch_gc_rotate(&gc);
	status("after ttak_epoch_gc_rotate:");
	bad += ttak_mem_tree_find_node(&gc.tree, a) != NULL;
	bad += ttak_mem_tree_find_node(&gc.tree, c) == NULL;

	printf("3. manual mode: only an explicit request flushes\n");
	ttak_epoch_gc_manual_rotate(&gc, true);
	release(c);
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_IDLE);
	status("released c, hint IDLE:");
	bad += ttak_mem_tree_find_node(&gc.tree, c) == NULL;
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
	status("hint COLLECT_NOW:");
	bad += ttak_mem_tree_find_node(&gc.tree, c) != NULL;

	printf("4. automatic mode, threshold 1024 bytes: pressure rotates\n");
	ttak_epoch_gc_manual_rotate(&gc, false);
	ttak_mem_tree_set_pressure_threshold(&gc.tree, 1024);
	for (i = 0; i < 4; i++) {
		big[i] = ttak_fastalloc(&gc, 400, FOREVER, now);
		if (!big[i])
			return 1;
	}
	release(big[0]);
	release(big[1]);
	status("released 2 x 400 (below 1024):");
	release(big[2]);
	status("released a third (1200 >= 1024):");
	ttak_epoch_gc_hint(&gc, TTAK_EPOCH_GC_HINT_ALLOC);
	status("hint ALLOC over the threshold:");
	bad += atomic_load(&gc.tree.garbage_pressure) != 0;

	printf("5. destroy frees what is still tracked (big[3])\n");
	ttak_epoch_gc_destroy(&gc);
	printf("%s\n", bad ? "lesson 21: UNEXPECTED RESULT" :
	       "lesson 21: done, every block flushed");
	return bad ? 1 : 0;
}
