/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ttak_core_fixtures.h - fixtures of the core's unit suite
 * (ttak_core_test.c), shared with the user-only tests in user/tests/ that
 * cover the same calls with threads or stderr capture.
 *
 * Include it after the check macros: ttak_unit.h in the suite,
 * user/tests/ttak_test.h in a user test. Everything here is static
 * inline, so a file pays only for what it uses.
 */
#ifndef TTAK_CORE_FIXTURES_H
#define TTAK_CORE_FIXTURES_H

#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define HOUR_NS		(3600ULL * 1000000000ULL)

/* Every one of the @n bytes at @p is @v. */
static inline bool all_bytes(const void *p, size_t n, unsigned char v)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != v)
			return false;
	return true;
}

/* A snapshot; poisoned first, so a field the call forgot shows. */
static inline struct ttak_mem_tree_stats tree_stats(ttak_mem_tree_t *tree)
{
	struct ttak_mem_tree_stats s;

	memset(&s, 0xff, sizeof(s));
#ifdef __KERNEL__
	/* the kernel frees what a cleanup flushed after a grace period */
	tu_after_grace_period();
#endif
	ttak_mem_tree_get_stats(tree, &s);
	return s;
}

/* A tree whose automatic cleanup never fires by itself. */
static inline void quiet_tree(ttak_mem_tree_t *tree)
{
	ttak_mem_tree_init(tree);
	ttak_mem_tree_set_cleaning_intervals(tree, HOUR_NS, HOUR_NS);
}

/* Allocate and register @size bytes with @gc; the block or NULL. */
static inline void *tracked(ttak_epoch_gc_t *gc, size_t size)
{
	void *p = ttak_mem_alloc(size, __TTAK_UNSAFE_MEM_FOREVER__, 0);

	if (!CHECK_NOT_NULL(p))
		return NULL;
	ttak_epoch_gc_register(gc, p, size);
	if (!CHECK_NOT_NULL(ttak_mem_tree_find_node(&gc->tree, p)))
		return NULL;
	return p;
}

/* Drop the reference the registration of @p gave. */
static inline void release(ttak_epoch_gc_t *gc, void *p)
{
	ttak_mem_node_t *n = ttak_mem_tree_find_node(&gc->tree, p);

	if (CHECK_NOT_NULL(n))
		ttak_mem_node_release(n);
}

#endif /* TTAK_CORE_FIXTURES_H */
