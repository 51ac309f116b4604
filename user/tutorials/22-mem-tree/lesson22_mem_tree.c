// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Lesson 22: the mem tree - tracking, references, expiry, pressure.
 *
 * A mem tree tracks blocks from ttak_mem_alloc_safe() by address. Each
 * node starts with one reference; the last release makes it garbage and
 * adds its size to tree.garbage_pressure. A cleanup frees the garbage
 * whose expiry has passed: a node expiring at E is still kept at tick E
 * and freed from E + 1 on, 0 means at once, FOREVER never. The ticks are
 * made up here (1000, 1100, ...) so every run prints the same numbers;
 * manual cleanup keeps the tree from cleaning behind the lesson's back.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define FOREVER	__TTAK_UNSAFE_MEM_FOREVER__

static ttak_mem_tree_t tree;

static const char *where(void *p)
{
	return ttak_mem_tree_find_node(&tree, p) ? "tracked" : "gone";
}

static void pressure(const char *what)
{
	printf("  %-40s pressure=%zu\n", what,
	       (size_t)atomic_load(&tree.garbage_pressure));
}

int main(void)
{
	void *soon, *later, *keep, *mine;
	ttak_mem_node_t *n_soon, *n_later, *n_keep, *n_mine, *found;
	int bad = 0;

	printf("== lesson 22: mem tree ==\n");
	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_manual_cleanup(&tree, true);

	soon = ttak_mem_alloc(64, FOREVER, 1000);
	later = ttak_mem_alloc(128, FOREVER, 1000);
	keep = ttak_mem_alloc(256, FOREVER, 1000);
	mine = ttak_mem_alloc(512, FOREVER, 1000);
	if (!soon || !later || !keep || !mine)
		return 1;

	printf("1. add four nodes (expiry 0, 1100, FOREVER, 1100)\n");
	n_soon = ttak_mem_tree_add(&tree, soon, 64, 0, false);
	n_later = ttak_mem_tree_add(&tree, later, 128, 1100, false);
	n_keep = ttak_mem_tree_add(&tree, keep, 256, FOREVER, true);
	n_mine = ttak_mem_tree_add(&tree, mine, 512, 1100, false);
	if (!n_soon || !n_later || !n_keep || !n_mine)
		return 1;
	found = ttak_mem_tree_find_node(&tree, later);
	if (found != n_later)
		return 1;
	printf("  find(later): node of %zu bytes, expires %" PRIu64 ", refs %u\n",
	       found->size, found->expires_tick,
	       (unsigned int)atomic_load(&found->ref_count));

	printf("2. references: acquire, release, release\n");
	ttak_mem_node_acquire(n_later);
	printf("  after acquire: refs %u\n",
	       (unsigned int)atomic_load(&n_later->ref_count));
	ttak_mem_node_release(n_later);
	pressure("after one release (refs 1):");
	ttak_mem_node_release(n_later);
	pressure("after the last release (garbage):");
	ttak_mem_node_release(n_soon);
	ttak_mem_node_release(n_keep);
	pressure("soon and keep released too:");

	printf("3. cleanups by tick\n");
	ttak_mem_tree_perform_cleanup(&tree, 1000);
	printf("  cleanup(1000): soon %s, later %s, keep %s\n", where(soon),
	       where(later), where(keep));
	bad += ttak_mem_tree_find_node(&tree, soon) != NULL;
	ttak_mem_tree_perform_cleanup(&tree, 1100);
	printf("  cleanup(1100): later %s (its last valid tick)\n",
	       where(later));
	bad += ttak_mem_tree_find_node(&tree, later) == NULL;
	ttak_mem_tree_perform_cleanup(&tree, 1101);
	printf("  cleanup(1101): later %s, keep %s\n", where(later),
	       where(keep));
	bad += ttak_mem_tree_find_node(&tree, later) != NULL;
	pressure("keep stays garbage (FOREVER):");

	printf("4. a reference guards against cleanups\n");
	ttak_mem_node_release(n_mine);
	if (ttak_mem_node_try_acquire(n_mine))
		printf("  try_acquire(mine): taken back from the garbage\n");
	ttak_mem_tree_perform_cleanup(&tree, 5000);
	printf("  cleanup(5000): mine %s (held)\n", where(mine));
	bad += ttak_mem_tree_find_node(&tree, mine) == NULL;

	printf("5. remove drops the bookkeeping, not the memory\n");
	ttak_mem_tree_remove(&tree, n_mine);
	printf("  mine %s, block still usable: %s\n", where(mine),
	       ttak_mem_access(mine, 1000) ? "yes" : "no");
	ttak_mem_free(mine);

	printf("6. report external pressure, threshold, hint\n");
	ttak_mem_tree_set_pressure_threshold(&tree, 4096);
	ttak_mem_tree_report_pressure(&tree, 1000);
	pressure("reported 1000 external bytes:");
	ttak_mem_tree_hint(&tree, TTAK_MEM_TREE_HINT_SHUTDOWN);
	pressure("hint SHUTDOWN cleans even in manual:");

	ttak_mem_tree_destroy(&tree);	/* frees keep */
	printf("%s\n", bad ? "lesson 22: UNEXPECTED RESULT" :
	       "lesson 22: done, the tree is destroyed");
	return bad ? 1 : 0;
}
