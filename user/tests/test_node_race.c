// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Reference taking and dropping on mem tree nodes racing with cleanup.
 *
 * Defect 2: a reader finds a node at zero references (garbage) inside an
 * epoch section and takes a reference while a cleanup, on another
 * thread, takes the node out of the tree. The reference must then either
 * fail (ttak_mem_node_try_acquire() false, ENOENT) or keep the node
 * indexed and its block allocated until the release.
 *
 * Defect 8: the last release of a node must not touch the node after
 * the reference is gone: a cleanup and a reclaim on another thread may
 * free it right then.
 *
 * Every block carries a header (magic, its own address) and a byte
 * region per worker thread, which the worker fills and reads back while
 * it holds a reference; a freed block shows up as a pattern mismatch, a
 * node missing from the index, or (ASan) a use after free.
 *
 * TTAK_STRESS_MS (default 2000) is shared by the stress tests here;
 * TTAK_SEED re-runs a seed (printed by every random test); the seed fixes
 * which blocks each worker picks, not the thread interleaving.
 */
#include "ttak_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define BLOCK_MAGIC	0x52414345424c4b21ULL	/* "RACEBLK!" */
#define BLOCK_BYTES	256
#define REGION		48
#define MAX_WORKERS	3
#define STRESS_SHARE_A	6	/* tenths of TTAK_STRESS_MS */
#define STRESS_SHARE_B	4

struct block_head {
	uint64_t magic;
	void *self;
};

static unsigned long stress_ms(unsigned int tenths)
{
	return tt_env_ms("TTAK_STRESS_MS", 2000) * tenths / 10;
}

static void *new_block(void)
{
	struct block_head *h = ttak_mem_alloc(BLOCK_BYTES,
					      __TTAK_UNSAFE_MEM_FOREVER__, 0);

	if (h) {
		h->magic = BLOCK_MAGIC;
		h->self = h;
	}
	return h;
}

/* Shared by the workers and the cleaner of one test. */
struct race {
	ttak_mem_tree_t *tree;
	ttak_epoch_gc_t *gc;		/* (b): the tree is gc->tree */
	unsigned int slots;
	_Atomic(void *) slot[64];
	atomic_bool stop;
	atomic_ulong added;
	atomic_ulong acquires, failed_acquires, void_acquires, void_enoent;
	atomic_ulong cleanups;
	uint64_t seed;
};

struct worker {
	struct race *r;
	unsigned int id;
	bool use_void;		/* alternate with ttak_mem_node_acquire() */
};

/* Fill this worker's region of the held block and read it back. */
static bool use_block(struct worker *w, void *p, uint64_t iter)
{
	struct block_head *h = p;
	unsigned char *region = (unsigned char *)p + 64 + w->id * REGION;
	unsigned char byte = (unsigned char)(iter * 31 + w->id + 1);
	size_t i;

	if (!CHECK_EQ(h->magic, BLOCK_MAGIC) || !CHECK_PTR_EQ(h->self, p))
		return false;
	memset(region, byte, REGION);
	for (i = 0; i < REGION; i++)
		if (!CHECK_EQ(region[i], byte))
			return false;
	return true;
}

/*
 * One find + reference under an epoch section. Returns the node held,
 * or NULL when there was none to take (and checks the failure's errno
 * against the index).
 */
static ttak_mem_node_t *take(struct worker *w, void *p, uint64_t iter)
{
	struct race *r = w->r;
	ttak_mem_node_t *n, *again;
	bool got;

	ttak_epoch_enter();
	n = ttak_mem_tree_find_node(r->tree, p);
	if (!n) {
		ttak_epoch_exit();
		return NULL;
	}
	errno = 0;
	if (w->use_void && (iter & 1)) {
		ttak_mem_node_acquire(n);
		got = errno != ENOENT;
		CHECK(errno == 0 || errno == ENOENT);
		atomic_fetch_add_explicit(&r->void_acquires, 1,
					  memory_order_relaxed);
		if (!got)
			atomic_fetch_add_explicit(&r->void_enoent, 1,
						  memory_order_relaxed);
	} else {
		got = ttak_mem_node_try_acquire(n);
		if (!got)
			CHECK_ERRNO(ENOENT);
	}
	/* still in the section: n cannot have been freed yet */
	again = ttak_mem_tree_find_node(r->tree, p);
	if (got)
		CHECK_PTR_EQ(again, n);
	else
		CHECK_PTR_NE(again, n);	/* ENOENT exactly when it is gone */
	ttak_epoch_exit();
	if (got)
		atomic_fetch_add_explicit(&r->acquires, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&r->failed_acquires, 1,
					  memory_order_relaxed);
	return got ? n : NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	uint64_t s = r->seed + 0x1000193ULL * (w->id + 1), iter;

	for (iter = 0; !atomic_load_explicit(&r->stop, memory_order_relaxed);
	     iter++) {
		void *p = atomic_load_explicit(&r->slot[tt_rng(&s) % r->slots],
					       memory_order_acquire);
		ttak_mem_node_t *n = take(w, p, iter);

		if (!n)
			continue;
		/* held, outside any section: must stay indexed and alive */
		if (!CHECK_PTR_EQ(n->ptr, p) || !use_block(w, p, iter) ||
		    !CHECK_PTR_EQ(ttak_mem_tree_find_node(r->tree, p), n) ||
		    !use_block(w, p, iter + 1)) {
			/* n may be freed: do not release it, stop the run */
			atomic_store(&r->stop, true);
			break;
		}
		ttak_mem_node_release(n);
		if (tt_failures()) {
			atomic_store(&r->stop, true);
			break;
		}
	}
	return NULL;
}

/* Track a new block at zero references: garbage, ready to be cleaned. */
static void *add_garbage(struct race *r)
{
	ttak_mem_node_t *n;
	void *p = new_block();

	if (!CHECK_NOT_NULL(p))
		return NULL;
	if (r->gc)
		n = ttak_epoch_gc_register_node(r->gc, p, BLOCK_BYTES);
	else
		n = ttak_mem_tree_add(r->tree, p, BLOCK_BYTES, 0, false);
	if (!CHECK_NOT_NULL(n)) {
		ttak_mem_free(p);
		return NULL;
	}
	ttak_mem_node_release(n);
	atomic_fetch_add_explicit(&r->added, 1, memory_order_relaxed);
	return p;
}

/* Re-add the slots whose node a cleanup took out. */
static bool refill(struct race *r)
{
	unsigned int i;

	for (i = 0; i < r->slots; i++) {
		void *p = atomic_load_explicit(&r->slot[i],
					       memory_order_relaxed);

		if (ttak_mem_tree_find_node(r->tree, p))
			continue;
		p = add_garbage(r);
		if (!p)
			return false;
		atomic_store_explicit(&r->slot[i], p, memory_order_release);
	}
	return true;
}

static void *cleaner_main(void *arg)
{
	struct race *r = arg;
	uint64_t k;

	for (k = 0; !atomic_load_explicit(&r->stop, memory_order_relaxed);
	     k++) {
		if (r->gc && (k & 1))
			ttak_epoch_gc_rotate(r->gc);
		else
			ttak_mem_tree_perform_cleanup(r->tree, 0);
		ttak_epoch_reclaim();
		atomic_fetch_add_explicit(&r->cleanups, 1,
					  memory_order_relaxed);
		if (!refill(r)) {
			atomic_store(&r->stop, true);
			break;
		}
	}
	return NULL;
}

static void run_race(struct race *r, unsigned int workers, bool use_void,
		     unsigned long ms)
{
	pthread_t wt[MAX_WORKERS], ct;
	struct worker w[MAX_WORKERS];
	uint64_t start, end;
	unsigned int i;

	for (i = 0; i < r->slots; i++) {
		void *p = add_garbage(r);

		ASSERT_NOT_NULL(p);
		atomic_store(&r->slot[i], p);
	}
	for (i = 0; i < workers; i++) {
		w[i].r = r;
		w[i].id = i;
		w[i].use_void = use_void && i == 0;
		ASSERT_EQ(pthread_create(&wt[i], NULL, worker_main, &w[i]), 0);
	}
	ASSERT_EQ(pthread_create(&ct, NULL, cleaner_main, r), 0);
	start = tt_now_ms();
	end = start + ms;
	while (tt_now_ms() < end && !atomic_load(&r->stop))
		tt_sleep_ms(10);
	atomic_store(&r->stop, true);
	for (i = 0; i < workers; i++)
		pthread_join(wt[i], NULL);
	pthread_join(ct, NULL);
	printf("  %lu ms: %lu acquires, %lu failed (ENOENT), void path %lu (%lu ENOENT), %lu cleanups, %lu nodes added\n",
	       (unsigned long)(tt_now_ms() - start), atomic_load(&r->acquires), atomic_load(&r->failed_acquires),
	       atomic_load(&r->void_acquires), atomic_load(&r->void_enoent),
	       atomic_load(&r->cleanups), atomic_load(&r->added));
}

/* After the run: everything released; one cleanup empties the tree. */
static void check_drained(struct race *r)
{
	struct ttak_mem_tree_stats st;

	if (r->gc)
		ttak_epoch_gc_rotate(r->gc);
	else
		ttak_mem_tree_perform_cleanup(r->tree, 0);
	ttak_epoch_synchronize();
	ttak_mem_tree_get_stats(r->tree, &st);
	printf("  end: nodes %zu garbage %zu pending %zu pressure %zu freed %llu\n",
	       st.nodes, st.garbage_nodes, st.pending_nodes,
	       st.garbage_pressure, (unsigned long long)st.freed_nodes);
	ASSERT_EQ(st.nodes, 0);
	ASSERT_EQ(st.bytes, 0);
	ASSERT_EQ(st.garbage_nodes, 0);
	ASSERT_EQ(st.pending_nodes, 0);
	ASSERT_EQ(st.pending_bytes, 0);
	ASSERT_EQ(st.garbage_pressure, 0);
	ASSERT_EQ(st.freed_nodes, atomic_load(&r->added));
	ASSERT_EQ(ttak_epoch_pending(), 0);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/*
 * (a) Acquire vs cleanup: two workers find garbage nodes and take
 * references (one of them alternating with the void acquire), the
 * cleaner cleans, reclaims and re-adds what it took out.
 */
TEST(acquire_vs_cleanup_never_loses_a_held_node)
{
	static struct race r;
	ttak_mem_tree_t tree;

	memset(&r, 0, sizeof(r));
	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_manual_cleanup(&tree, true);
	r.tree = &tree;
	r.slots = 16;
	r.seed = tt_seed();
	run_race(&r, 2, true, stress_ms(STRESS_SHARE_A));
	if (tt_failures())
		return;	/* a node may be freed under a reference: no teardown */
	ASSERT_GT(atomic_load(&r.acquires), 0);
	check_drained(&r);
	ttak_mem_tree_destroy(&tree);
}

/*
 * (b) Release vs cleanup: workers take and drop references on a few
 * nodes of an epoch GC while the cleaner rotates and reclaims without a
 * pause; the last release must not touch a node a cleanup frees.
 */
TEST(release_vs_cleanup_and_rotate_stays_clean)
{
	static struct race r;
	ttak_epoch_gc_t gc;

	memset(&r, 0, sizeof(r));
	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	r.gc = &gc;
	r.tree = &gc.tree;
	r.slots = 4;
	r.seed = tt_seed();
	run_race(&r, 2, false, stress_ms(STRESS_SHARE_B));
	if (tt_failures())
		return;
	ASSERT_GT(atomic_load(&r.acquires), 0);
	check_drained(&r);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}

/* @tree, manual, tracking @p as garbage: added, then released to 0. */
static bool garbage_tree(ttak_mem_tree_t *tree, void *p)
{
	ttak_mem_node_t *n;

	ttak_mem_tree_init(tree);
	ttak_mem_tree_set_manual_cleanup(tree, true);
	n = ttak_mem_tree_add(tree, p, BLOCK_BYTES, 0, false);
	if (!CHECK_NOT_NULL(n))
		return false;
	ttak_mem_node_release(n);
	return true;
}

/*
 * Deterministic form of (a): the node is found inside a section, a
 * cleanup takes it out before the reference is taken. Both acquire
 * forms must refuse with ENOENT and leave the count at zero.
 */
TEST(acquire_of_node_cleaned_inside_the_section_is_enoent)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	void *p = new_block();
	struct ttak_mem_tree_stats st;

	ASSERT_NOT_NULL(p);
	ASSERT(garbage_tree(&tree, p));

	ttak_epoch_enter();
	n = ttak_mem_tree_find_node(&tree, p);
	ASSERT_NOT_NULL(n);
	ttak_mem_tree_perform_cleanup(&tree, 0);	/* unlinks, defers the free */
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));
	errno = 0;
	ttak_mem_node_acquire(n);
	CHECK_ERRNO(ENOENT);
	errno = 0;
	CHECK(!ttak_mem_node_try_acquire(n));
	CHECK_ERRNO(ENOENT);
	CHECK_EQ(atomic_load(&n->ref_count), 0);
	ttak_epoch_exit();
	if (tt_failures())
		return;		/* the node may be held and freed: stop here */

	ttak_epoch_synchronize();
	ttak_mem_tree_get_stats(&tree, &st);
	ASSERT_EQ(st.nodes, 0);
	ASSERT_EQ(st.pending_nodes, 0);
	ASSERT_EQ(st.garbage_pressure, 0);
	ASSERT_EQ(st.freed_nodes, 1);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}

/* The found-garbage node taken before the cleanup is kept by it. */
TEST(acquire_before_cleanup_keeps_node_and_block)
{
	ttak_mem_tree_t tree;
	ttak_mem_node_t *n;
	struct worker w = { NULL, 0, false };
	void *p = new_block();
	struct ttak_mem_tree_stats st;

	ASSERT_NOT_NULL(p);
	ASSERT(garbage_tree(&tree, p));

	ttak_epoch_enter();
	n = ttak_mem_tree_find_node(&tree, p);
	ASSERT_NOT_NULL(n);
	errno = 0;
	ASSERT(ttak_mem_node_try_acquire(n));
	ASSERT_ERRNO(0);
	ttak_epoch_exit();
	ttak_mem_tree_perform_cleanup(&tree, 0);
	ttak_epoch_synchronize();
	ASSERT_PTR_EQ(ttak_mem_tree_find_node(&tree, p), n);
	ASSERT(use_block(&w, p, 1));
	ASSERT_EQ(tt_live_blocks(), 1);
	errno = 0;
	ttak_mem_node_acquire(n);		/* a second reference */
	ASSERT_ERRNO(0);
	ASSERT_EQ(atomic_load(&n->ref_count), 2);
	ttak_mem_node_release(n);
	ttak_mem_node_release(n);
	ttak_mem_tree_get_stats(&tree, &st);
	ASSERT_EQ(st.garbage_pressure, BLOCK_BYTES);
	ttak_mem_tree_perform_cleanup(&tree, 0);
	ttak_epoch_synchronize();
	ASSERT_NULL(ttak_mem_tree_find_node(&tree, p));
	ttak_mem_tree_get_stats(&tree, &st);
	ASSERT_EQ(st.garbage_pressure, 0);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_mem_tree_destroy(&tree);
}
