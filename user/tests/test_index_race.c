// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The mem tree's index under a lock-free ttak_mem_tree_find_node():
 * lookups racing with inserts, removals (whose backward shift moves other
 * keys), cleanups and table growth (the old table retired through EBR).
 *
 * What a lookup promises, checked from reader threads:
 *  - a key indexed for the whole lookup is found, with its own node;
 *  - a key being removed or re-added (the same address with a new node:
 *    ABA) is found with a node for that address or not at all, never
 *    with another key's node, and a node found inside an epoch section
 *    stays readable until the section ends (ASan: no use after free);
 *  - a key removed before the lookup began is not found.
 * Teardown after the races frees every table (LeakSanitizer).
 *
 * TTAK_STRESS_MS (default 2000) is shared by the timed tests here;
 * TTAK_SEED re-runs a seed (printed by every random test).
 */
#include "ttak_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define STABLE		64	/* keys indexed for the whole test */
#define CHURN		512	/* keys removed and re-added meanwhile */
#define READERS		2
#define GROW_KEYS	6000	/* 16 slots -> 16384: ten table swaps */
#define TIMED_TESTS	2	/* TEST()s below sharing TTAK_STRESS_MS */

static unsigned long share_ms(void)
{
	return tt_env_ms("TTAK_STRESS_MS", 2000) / TIMED_TESTS;
}

static void *new_key(void)
{
	return ttak_mem_alloc(64, __TTAK_UNSAFE_MEM_FOREVER__, 0);
}

/*
 * The size a key's nodes are added with: a tag of the address, so that
 * a reader can tell a node of another key. (A reader may not read ->ptr:
 * a removal clears it under the tree lock.)
 */
static size_t tag_of(const void *key)
{
	uint64_t x = (uintptr_t)key * 0x9e3779b97f4a7c15ULL;

	return 64 + (size_t)(x >> 52);
}

static ttak_mem_node_t *add_key(ttak_mem_tree_t *tree, void *key, bool root)
{
	return ttak_mem_tree_add(tree, key, tag_of(key),
				 root ? __TTAK_UNSAFE_MEM_FOREVER__ : 0, root);
}

/*
 * One find inside a section: a node found must be one of @key's, and it
 * stays readable until the section ends, even if it is unlinked meanwhile
 * (ASan: no use after free). Its tree, size and serial never change.
 */
static ttak_mem_node_t *find_checked(ttak_mem_tree_t *tree, void *key)
{
	ttak_mem_node_t *n;

	ttak_epoch_enter();
	n = ttak_mem_tree_find_node(tree, key);
	if (n && (!CHECK_PTR_EQ(n->tree, tree) ||
		  !CHECK_EQ(n->size, tag_of(key)) || !CHECK_NE(n->serial, 0)))
		n = NULL;
	ttak_epoch_exit();
	return n;
}

/* --- 1: lookups while other keys churn ------------------------------ */

struct churn {
	ttak_mem_tree_t tree;
	void *stable[STABLE];
	ttak_mem_node_t *stable_node[STABLE];
	_Atomic(void *) key[CHURN];	/* NULL: not indexed, not found */
	atomic_bool stop;
	atomic_ulong finds, churn_hits, churn_misses, rounds;
	uint64_t seed;
};

static void *churn_reader(void *arg)
{
	struct churn *c = arg;
	uint64_t rng = c->seed ^ (uintptr_t)&rng;
	unsigned long finds = 0, hits = 0, misses = 0;

	while (!atomic_load(&c->stop)) {
		unsigned int s = (unsigned int)(tt_rng(&rng) % STABLE);
		unsigned int k = (unsigned int)(tt_rng(&rng) % CHURN);
		void *p;

		/* always indexed: found, with its own node */
		if (!CHECK_PTR_EQ(ttak_mem_tree_find_node(&c->tree,
							  c->stable[s]),
				  c->stable_node[s]))
			break;
		finds++;
		/* maybe moving, maybe gone, maybe back with a new node */
		p = atomic_load(&c->key[k]);
		if (p && find_checked(&c->tree, p))
			hits++;
		else
			misses++;
		if (tt_failures())
			break;
	}
	atomic_fetch_add(&c->finds, finds);
	atomic_fetch_add(&c->churn_hits, hits);
	atomic_fetch_add(&c->churn_misses, misses);
	return NULL;
}

/*
 * Take churn key @k out: half the time by removal (the block stays the
 * caller's, and comes back at the same address: ABA), half the time by
 * release + cleanup (the block is freed; a new one may reuse the address).
 */
static void churn_out(struct churn *c, unsigned int k, uint64_t *rng)
{
	void *p = atomic_load(&c->key[k]);
	ttak_mem_node_t *n;

	if (!p)
		return;
	n = ttak_mem_tree_find_node(&c->tree, p);
	if (!CHECK_NOT_NULL(n))
		return;
	if (tt_rng(rng) & 1) {
		ttak_mem_tree_remove(&c->tree, n);
		/* removed: no lookup that starts now may find it */
		CHECK_NULL(ttak_mem_tree_find_node(&c->tree, p));
		n = add_key(&c->tree, p, false);
		CHECK_NOT_NULL(n);
		CHECK_PTR_EQ(ttak_mem_tree_find_node(&c->tree, p), n);
		return;
	}
	atomic_store(&c->key[k], NULL);
	ttak_mem_node_release(n);
	ttak_mem_tree_perform_cleanup(&c->tree, 0);
	CHECK_NULL(ttak_mem_tree_find_node(&c->tree, p));
}

static void churn_in(struct churn *c, unsigned int k)
{
	void *p;

	if (atomic_load(&c->key[k]))
		return;
	p = new_key();
	if (!CHECK_NOT_NULL(p))
		return;
	if (!CHECK_NOT_NULL(add_key(&c->tree, p, false))) {
		ttak_mem_free(p);
		return;
	}
	atomic_store(&c->key[k], p);
}

TEST(find_races_insert_remove_cleanup_and_reuse)
{
	static struct churn c;
	pthread_t th[READERS];
	uint64_t rng, end;
	unsigned int i;
	void *p;

	memset(&c, 0, sizeof(c));
	c.seed = tt_seed();
	rng = c.seed;
	ttak_mem_tree_init(&c.tree);
	ttak_mem_tree_set_manual_cleanup(&c.tree, true);
	for (i = 0; i < STABLE; i++) {
		c.stable[i] = new_key();
		ASSERT_NOT_NULL(c.stable[i]);
		/* root, never released: indexed until the destroy */
		c.stable_node[i] = add_key(&c.tree, c.stable[i], true);
		ASSERT_NOT_NULL(c.stable_node[i]);
	}
	for (i = 0; i < READERS; i++)
		ASSERT_EQ(pthread_create(&th[i], NULL, churn_reader, &c), 0);
	end = tt_now_ms() + share_ms();
	while (tt_now_ms() < end && !tt_failures()) {
		for (i = 0; i < CHURN; i++) {
			unsigned int k = (unsigned int)(tt_rng(&rng) % CHURN);

			if (atomic_load(&c.key[k]))
				churn_out(&c, k, &rng);
			else
				churn_in(&c, k);
		}
		atomic_fetch_add(&c.rounds, 1);
		ttak_epoch_reclaim();
	}
	atomic_store(&c.stop, true);
	for (i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	if (tt_failures())
		return;
	CHECK_GT(atomic_load(&c.rounds), 0);
	CHECK_GT(atomic_load(&c.finds), 0);
	CHECK_GT(atomic_load(&c.churn_hits), 0);
	/* the destroy frees the blocks it still indexes */
	for (i = 0; i < CHURN; i++) {
		p = atomic_load(&c.key[i]);
		if (p)
			CHECK_NOT_NULL(find_checked(&c.tree, p));
	}
	ttak_mem_tree_destroy(&c.tree);
	CHECK_EQ(tt_live_blocks(), 0);
}

/* --- 2: lookups across table growth and a full drain ---------------- */

/*
 * A key's state counts its changes: 4k adding, 4k+1 indexed (the add
 * returned, the removal has not begun), 4k+2 removing, 4k+3 removed.
 * A reader that reads the same state before and after its find knows
 * what the find had to answer.
 */
struct grow {
	ttak_mem_tree_t tree;
	void *key[GROW_KEYS];
	_Atomic(ttak_mem_node_t *) node[GROW_KEYS];
	atomic_ulong state[GROW_KEYS];
	atomic_size_t published;	/* key[0..published-1] may be looked up */
	atomic_bool stop;
	atomic_ulong finds, gone;
	uint64_t seed;
};

static void *grow_reader(void *arg)
{
	struct grow *g = arg;
	uint64_t rng = g->seed ^ (uintptr_t)&rng;
	unsigned long finds = 0, gone = 0, before;

	while (!atomic_load(&g->stop) && !tt_failures()) {
		size_t n = atomic_load(&g->published), j;
		ttak_mem_node_t *want, *found;

		if (!n)
			continue;
		j = (size_t)(tt_rng(&rng) % n);
		before = atomic_load(&g->state[j]);
		want = atomic_load(&g->node[j]);
		found = find_checked(&g->tree, g->key[j]);
		/* the find's reads happen before the state is read again */
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load(&g->state[j]) != before)
			continue;	/* changed meanwhile: either answer */
		if (before % 4 == 1) {
			/* indexed for the whole find: found, its own node */
			if (!CHECK_PTR_EQ(found, want))
				break;
			finds++;
		} else if (before % 4 == 3) {
			/* removed before the find began */
			if (!CHECK_NULL(found))
				break;
			gone++;
		}
	}
	atomic_fetch_add(&g->finds, finds);
	atomic_fetch_add(&g->gone, gone);
	return NULL;
}

static void grow_round(struct grow *g, uint64_t *rng)
{
	static size_t perm[GROW_KEYS];
	struct ttak_mem_tree_stats st;
	pthread_t th[READERS];
	ttak_mem_node_t *n;
	size_t i, j, tmp;
	int started = 0;

	ttak_mem_tree_init(&g->tree);
	ttak_mem_tree_set_manual_cleanup(&g->tree, true);
	atomic_store(&g->published, 0);
	atomic_store(&g->stop, false);
	/* readers live for one round: a destroy must not race a find */
	for (started = 0; started < READERS; started++)
		if (!CHECK_EQ(pthread_create(&th[started], NULL, grow_reader,
					     g), 0))
			break;
	/* indexed one by one: the table is replaced ten times meanwhile */
	for (i = 0; i < GROW_KEYS && !tt_failures(); i++) {
		atomic_fetch_add(&g->state[i], 1);	/* adding */
		n = add_key(&g->tree, g->key[i], false);
		if (!CHECK_NOT_NULL(n))
			break;
		atomic_store(&g->node[i], n);
		atomic_fetch_add(&g->state[i], 1);	/* indexed */
		atomic_store(&g->published, i + 1);
	}
	ttak_mem_tree_get_stats(&g->tree, &st);
	CHECK_EQ(st.nodes, GROW_KEYS);
	/* then all out again in random order, each shift racing the readers */
	for (i = 0; i < GROW_KEYS; i++)
		perm[i] = i;
	for (i = GROW_KEYS - 1; i > 0; i--) {
		j = (size_t)(tt_rng(rng) % (i + 1));
		tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (i = 0; i < GROW_KEYS && !tt_failures(); i++) {
		j = perm[i];
		atomic_fetch_add(&g->state[j], 1);	/* removing */
		ttak_mem_tree_remove(&g->tree, atomic_load(&g->node[j]));
		atomic_fetch_add(&g->state[j], 1);	/* removed */
	}
	atomic_store(&g->stop, true);
	while (started--)
		pthread_join(th[started], NULL);
	ttak_mem_tree_get_stats(&g->tree, &st);
	CHECK_EQ(st.nodes, 0);
	/* every replaced table was retired to EBR: LSan sees a leak if not */
	ttak_mem_tree_destroy(&g->tree);
}

TEST(find_races_table_growth_and_removal_shifts)
{
	static struct grow g;
	unsigned long rounds = 0;
	uint64_t rng, end;
	size_t i;

	memset(&g, 0, sizeof(g));
	g.seed = tt_seed();
	rng = g.seed;
	for (i = 0; i < GROW_KEYS; i++) {
		g.key[i] = new_key();
		ASSERT_NOT_NULL(g.key[i]);
		atomic_store(&g.state[i], 3);	/* removed: not indexed */
	}
	end = tt_now_ms() + share_ms();
	do {
		grow_round(&g, &rng);
		rounds++;
	} while (tt_now_ms() < end && !tt_failures());
	for (i = 0; i < GROW_KEYS; i++)
		ttak_mem_free(g.key[i]);
	if (tt_failures())
		return;
	CHECK_GT(rounds, 0);
	CHECK_GT(atomic_load(&g.finds), 0);
	CHECK_GT(atomic_load(&g.gone), 0);
	CHECK_EQ(tt_live_blocks(), 0);
}

/* --- 3: one address, many nodes (single thread, exact) --------------- */

TEST(reused_address_is_found_with_its_newest_node_only)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p, *other[32];
	uint64_t serial = 0;
	unsigned int i, r;

	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_manual_cleanup(&tree, true);
	p = new_key();
	ASSERT_NOT_NULL(p);
	for (i = 0; i < 32; i++) {
		other[i] = new_key();
		ASSERT_NOT_NULL(other[i]);
		ASSERT_NOT_NULL(add_key(&tree, other[i], false));
	}
	for (r = 0; r < 200; r++) {
		n = add_key(&tree, p, false);
		ASSERT_NOT_NULL(n);
		/* a new node each time: the serial tells it from the last */
		ASSERT_NE(n->serial, serial);
		serial = n->serial;
		ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
		/* a second add of an indexed address is refused */
		errno = 0;
		ASSERT_NULL(add_key(&tree, p, false));
		ASSERT_ERRNO(EEXIST);
		ttak_mem_tree_remove(&tree, n);
		ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));
		/* the neighbours that a removal shifted are all still there */
		for (i = 0; i < 32; i++)
			ASSERT_NOT_NULL(find_checked(&tree, other[i]));
	}
	ttak_mem_tree_destroy(&tree);
	ttak_mem_free(p);
	CHECK_EQ(tt_live_blocks(), 0);
}
