// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Allocation failure at every site of the core, injected with the test
 * hook of ttak_fault.h (the calling thread's n-th allocation fails, and
 * with repeat every later one too).
 *
 * First the regression tests of one contract: a retire never cleans an
 * object early, whatever allocation fails. Inside a read section the
 * object waits for a grace period after the section (or, with even the
 * reserve gone, is leaked with a "ttak: " report); outside a section the
 * retire may wait for the other readers and clean at once. The cleanup
 * callbacks check "is the section still open?" flags, so an early
 * cleanup fails the test in every flavour, not only under ASan.
 *
 * Then a fail-nth sweep of each allocating operation: count the
 * operation's allocations, then run it once with the n-th failing and
 * once with the n-th and all later ones failing, for every n up to the
 * count + 1. Each run must fail cleanly (NULL/false, errno) or absorb the
 * failure, lose no memory (the allocator's block count, the tree's and
 * env's statistics, LeakSanitizer in the asan flavour) and leave a state
 * in which the same operation succeeds once faults are off.
 */
#include "ttak_test.h"
#include "ttak_fault.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define FOREVER		__TTAK_UNSAFE_MEM_FOREVER__
#define LIVE_MAGIC	0x4c4956454f424a32ULL	/* "LIVEOBJ2" */
#define DEAD_MAGIC	0xdeadbeefdeadbeefULL
#define MAX_OBJS	(24 * 1024)
/* more than the spare batches plus an open one can hold (17 x 254) */
#define DRAIN_MAX	(12 * 1024)
#define EXHAUST_OBJS	(20 * 1024)
#define EXTRA_OBJS	4
#define HOLD_MS		1000

struct obj {
	uint64_t magic;
	unsigned int id;
	bool heap;
};

static struct obj static_objs[MAX_OBJS];
static atomic_uint cleaned[MAX_OBJS];
static struct obj *held[MAX_OBJS];
static unsigned int next_id;

/* set just after entering / just before leaving the sections in play */
static atomic_bool main_inside, other_inside;
static atomic_ulong early;	/* cleanups run while a section was open */
static atomic_ulong bad;	/* cleanups of an object already cleaned */

static void quiet(void)
{
	setenv("TTAK_QUIET", "1", 1);
}

static void obj_cleanup(void *p)
{
	struct obj *o = p;

	if (atomic_load(&main_inside) || atomic_load(&other_inside))
		atomic_fetch_add(&early, 1);
	if (o->magic != LIVE_MAGIC || o->id >= MAX_OBJS) {
		atomic_fetch_add(&bad, 1);
		return;
	}
	atomic_fetch_add(&cleaned[o->id], 1);
	o->magic = DEAD_MAGIC;
	if (o->heap)
		free(o);
}

/* A fresh object; heap ones are freed by their cleanup. */
static struct obj *new_obj(bool heap)
{
	struct obj *o;
	unsigned int id = next_id;

	if (id >= MAX_OBJS)
		return NULL;
	o = heap ? malloc(sizeof(*o)) : &static_objs[id];
	if (!o)
		return NULL;
	next_id++;
	o->magic = LIVE_MAGIC;
	o->id = id;
	o->heap = heap;
	held[id] = o;
	return o;
}

/*
 * Retire fresh objects until the library has been refused an allocation
 * (no open batch and no spare one left), then @extra more. The caller
 * armed the faults. Returns the number retired, 0 when nothing was
 * refused within @max.
 */
static size_t retire_until_refused(size_t max, bool heap, size_t extra)
{
	size_t i, stop = max;
	struct obj *o;

	for (i = 0; i < stop; i++) {
		o = new_obj(heap);
		if (!o)
			return 0;
		ttak_epoch_retire(o, obj_cleanup);
		if (stop == max && ttak_fault_failed())
			stop = i + 1 + extra < max ? i + 1 + extra : max;
	}
	return ttak_fault_failed() ? i : 0;
}

/* Objects [first, next_id) whose cleanup ran other than exactly once. */
static size_t not_once(unsigned int first, size_t *never)
{
	size_t wrong = 0, zero = 0;
	unsigned int i;

	for (i = first; i < next_id; i++) {
		unsigned int c = atomic_load(&cleaned[i]);

		if (c != 1)
			wrong++;
		if (!c)
			zero++;
	}
	if (never)
		*never = zero;
	return wrong;
}

/* Heap objects [first, next_id) no longer intact (read inside a section). */
static size_t damaged(unsigned int first)
{
	size_t n = 0;
	unsigned int i;

	for (i = first; i < next_id; i++)
		if (held[i]->magic != LIVE_MAGIC || held[i]->id != i)
			n++;
	return n;
}

/* After a grace period: every object cleaned exactly once, none early. */
static void check_cleaned_once_after_synchronize(void)
{
	ttak_epoch_synchronize();
	CHECK_EQ(atomic_load(&early), 0);
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK_EQ(not_once(0, NULL), 0);
	CHECK_EQ(ttak_epoch_pending(), 0);
}

/*
 * (a) Inside its own section, a thread that cannot allocate a batch
 * retires objects: none may be cleaned before the section ends.
 */
TEST(retire_in_own_section_without_memory_waits_for_exit)
{
	size_t n;

	quiet();
	ttak_epoch_enter();
	atomic_store(&main_inside, true);
	ttak_fault_fail_nth(1, true);
	n = retire_until_refused(DRAIN_MAX, true, EXTRA_OBJS);
	ttak_epoch_reclaim();		/* a reclaim here changes nothing */
	CHECK_EQ(atomic_load(&early), 0);
	/* the retirer still holds every object: ASan reports a UAF here */
	CHECK_EQ(damaged(0), 0);
	printf("%zu objects retired in the section, %lu allocations refused\n",
	       n, ttak_fault_failed());
	ttak_fault_fail_nth(0, false);
	atomic_store(&main_inside, false);
	ttak_epoch_exit();
	ASSERT_GT(n, 0);

	check_cleaned_once_after_synchronize();
}

struct holder {
	pthread_t thread;
	unsigned long max_ms;	/* leave by itself after this long */
	atomic_bool ready;
	atomic_bool release;
	atomic_bool timed_out;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	uint64_t end;

	ttak_epoch_enter();
	atomic_store(&other_inside, true);
	atomic_store(&h->ready, true);
	end = tt_now_ms() + h->max_ms;
	while (!atomic_load(&h->release) && tt_now_ms() < end)
		tt_sleep_ms(1);
	if (!atomic_load(&h->release))
		atomic_store(&h->timed_out, true);
	atomic_store(&other_inside, false);
	ttak_epoch_exit();
	return NULL;
}

static bool holder_start(struct holder *h, unsigned long max_ms)
{
	memset(h, 0, sizeof(*h));
	h->max_ms = max_ms;
	if (pthread_create(&h->thread, NULL, holder_main, h))
		return false;
	while (!atomic_load(&h->ready))
		tt_sleep_ms(1);
	return true;
}

static void holder_stop(struct holder *h)
{
	atomic_store(&h->release, true);
	pthread_join(h->thread, NULL);
}

/*
 * (b) As (a), with a second thread holding a section as well: the
 * objects wait for both sections.
 */
TEST(retire_in_section_without_memory_waits_for_both_sections)
{
	struct holder h;
	size_t n;

	quiet();
	ASSERT(holder_start(&h, HOLD_MS));
	ttak_epoch_enter();
	atomic_store(&main_inside, true);
	ttak_fault_fail_nth(1, true);
	n = retire_until_refused(DRAIN_MAX, true, EXTRA_OBJS);
	ttak_epoch_reclaim();
	CHECK_EQ(atomic_load(&early), 0);
	CHECK_EQ(damaged(0), 0);
	printf("%zu objects retired in the section, %lu allocations refused\n",
	       n, ttak_fault_failed());
	ttak_fault_fail_nth(0, false);
	atomic_store(&main_inside, false);
	ttak_epoch_exit();
	/* the other thread is still inside: still nothing may go */
	ttak_epoch_reclaim();
	CHECK_EQ(atomic_load(&early), 0);
	/* a retire that waited for the holder kept it inside till it gave up */
	CHECK(!atomic_load(&h.timed_out));
	holder_stop(&h);
	ASSERT_GT(n, 0);

	check_cleaned_once_after_synchronize();
}

/*
 * (c) The owner of a generation retires and rotates it inside its own
 * section while it still holds a chunk, and no allocation succeeds: the
 * generation must stay allocated until the section ends.
 */
TEST(generation_rotated_in_owners_section_without_memory_outlives_it)
{
	struct ttak_mem_tree_stats st0, st;
	struct ttak_arena_env_stats es;
	ttak_arena_generation_t g;
	ttak_arena_env_t env;
	unsigned char *chunk;
	size_t n, i, live0;
	unsigned long sum = 0;
	void *base;

	quiet();
	ASSERT(ttak_arena_env_init(&env, NULL));
	ttak_epoch_gc_manual_rotate(env.gc, true);
	ASSERT(ttak_arena_generation_begin(&env, &g, 1));
	chunk = ttak_arena_generation_claim(&env, &g, 0);
	ASSERT_NOT_NULL(chunk);
	memset(chunk, 0x5a, env.config.chunk_bytes);
	base = g.base;
	live0 = tt_live_blocks();
	ttak_mem_tree_get_stats(&env.gc->tree, &st0);

	ttak_epoch_enter();
	atomic_store(&main_inside, true);
	ttak_fault_fail_nth(1, true);
	/* no open batch, no spare one: the rotation's retire must allocate */
	n = retire_until_refused(DRAIN_MAX, true, 0);
	CHECK(ttak_arena_generation_retire(&env, &g));
	ttak_arena_env_rotate(&env);
	ttak_epoch_reclaim();
	ttak_mem_tree_get_stats(&env.gc->tree, &st);
	/* not flushed: still allocated, still counted as pending */
	CHECK_EQ(st.freed_nodes, st0.freed_nodes);
	CHECK_EQ(st.pending_nodes, 1);
	CHECK_EQ(tt_live_blocks(), live0);
	/* the owner still uses its chunk: ASan reports a UAF here */
	for (i = 0; i < env.config.chunk_bytes; i++)
		sum += chunk[i];
	memset(chunk, 0xa5, env.config.chunk_bytes);
	CHECK_EQ(sum, 0x5aUL * env.config.chunk_bytes);
	CHECK_EQ(atomic_load(&early), 0);
	CHECK_EQ(damaged(0), 0);
	printf("%zu objects retired before the rotation, %lu allocations refused\n",
	       n, ttak_fault_failed());
	ttak_fault_fail_nth(0, false);
	atomic_store(&main_inside, false);
	ttak_epoch_exit();
	ASSERT_GT(n, 0);

	ttak_arena_env_rotate(&env);
	ttak_epoch_synchronize();
	ttak_mem_tree_get_stats(&env.gc->tree, &st);
	CHECK_EQ(st.freed_nodes, st0.freed_nodes + 1);
	CHECK_EQ(st.pending_nodes, 0);
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.garbage_pressure, 0);
	CHECK_NULL(ttak_mem_tree_find_node(&env.gc->tree, base));
	CHECK_EQ(tt_live_blocks(), live0 - 1);
	ttak_arena_env_get_stats(&env, &es);
	CHECK_EQ(es.begun, 1);
	CHECK_EQ(es.retired, 1);
	CHECK_EQ(es.live, 0);
	CHECK_EQ(es.failed, 0);
	CHECK_EQ(atomic_load(&early), 0);
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK_EQ(not_once(0, NULL), 0);
	ttak_arena_env_destroy(&env);
}

/*
 * (d) A retire that cannot allocate, outside any section, while another
 * thread sits in one: the retire may wait, but the cleanups must not run
 * before that thread has left.
 */
TEST(retire_outside_section_without_memory_waits_for_other_reader)
{
	struct holder h;
	size_t n;

	quiet();
	ASSERT(holder_start(&h, 200));
	ttak_fault_fail_nth(1, true);
	n = retire_until_refused(DRAIN_MAX, true, EXTRA_OBJS);
	ttak_epoch_reclaim();
	printf("%zu objects retired, %lu allocations refused\n", n,
	       ttak_fault_failed());
	ttak_fault_fail_nth(0, false);
	CHECK_EQ(atomic_load(&early), 0);
	holder_stop(&h);
	ASSERT_GT(n, 0);

	check_cleaned_once_after_synchronize();
}

/*
 * (e) So many retires inside a section with every allocation failing that
 * any reserve runs out: objects may be leaked, each with a "ttak: "
 * report, but none is cleaned early and none twice.
 */
TEST(retire_reserve_exhausted_in_section_leaks_never_early)
{
	const char *out;
	size_t i, wrong, never;
	unsigned long refused;

	unsetenv("TTAK_QUIET");
	tt_capture_begin();
	ttak_epoch_enter();
	atomic_store(&main_inside, true);
	ttak_fault_fail_nth(1, true);
	for (i = 0; i < EXHAUST_OBJS; i++)
		ttak_epoch_retire(new_obj(false), obj_cleanup);
	ttak_epoch_reclaim();
	refused = ttak_fault_failed();
	ttak_fault_fail_nth(0, false);
	atomic_store(&main_inside, false);
	ttak_epoch_exit();
	ttak_epoch_synchronize();
	out = tt_capture_end();

	wrong = not_once(0, &never);
	printf("%zu retired in one section, %lu allocations refused, %zu leaked, %zu reports\n",
	       i, refused, never, tt_count(out, "ttak: "));
	CHECK_GT(refused, 0);
	CHECK_EQ(atomic_load(&early), 0);
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK_EQ(wrong, never);		/* cleaned once, or never */
	if (never)
		CHECK_GE(tt_count(out, "ttak: "), 1);
	CHECK_EQ(ttak_epoch_pending(), 0);
}

/* ---- fail-nth sweep ---- */

#define NB	24	/* blocks per operation */
#define NG	8	/* generations per operation */
#define NR	300	/* retires per operation: more than one batch */

static void *blk[NB];
static ttak_mem_node_t *nodes[NB];
static int errs[NB];
static ttak_mem_tree_t tree;
static ttak_epoch_gc_t gc;
static ttak_arena_env_t env;
static ttak_arena_generation_t gens[NG];
static bool env_ok;
static unsigned int first_obj;	/* objects of the current run */

struct sweep {
	const char *name;
	void (*setup)(void);
	bool (*run)(void);	/* faults armed; true: complete success */
	void (*verify)(bool ok);	/* faults off: consistent, torn down */
};

/*
 * Use up the spare batches and leave no open one, so the next retire has
 * to allocate a batch. Inside a section nothing retired meanwhile can be
 * reclaimed, so no batch comes back: retire until one is allocated, then
 * until that one is sealed (ttak_epoch_pending() grows). The objects are
 * reclaimable once the section ends.
 */
static void drain_batches(void)
{
	size_t i, sealed = 0;
	bool fresh = false;

	ttak_epoch_enter();
	ttak_fault_fail_nth(0, false);
	for (i = 0; i < DRAIN_MAX; i++) {
		ttak_epoch_retire(new_obj(false), obj_cleanup);
		if (!fresh && ttak_fault_allocs()) {
			fresh = true;
			sealed = ttak_epoch_pending();
		} else if (fresh && ttak_epoch_pending() > sealed) {
			break;
		}
	}
	ttak_epoch_exit();
	CHECK(fresh && i < DRAIN_MAX);
}

static void *alloc_block(size_t size)
{
	return ttak_mem_alloc_safe(size, FOREVER, 0, false, false, true, false,
				   TTAK_MEM_STRICT_CHECK);
}

/* Every object of the run cleaned exactly once, nothing pending. */
static void check_objs_drained(void)
{
	ttak_epoch_synchronize();
	CHECK_EQ(not_once(first_obj, NULL), 0);
	CHECK_EQ(atomic_load(&early), 0);
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK_EQ(ttak_epoch_pending(), 0);
}

static void check_tree_empty(ttak_mem_tree_t *t, uint64_t freed)
{
	struct ttak_mem_tree_stats st;

	ttak_mem_tree_get_stats(t, &st);
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.bytes, 0);
	CHECK_EQ(st.garbage_nodes, 0);
	CHECK_EQ(st.pending_nodes, 0);
	CHECK_EQ(st.pending_bytes, 0);
	CHECK_EQ(st.garbage_pressure, 0);
	CHECK_EQ(st.freed_nodes, freed);
}

/* A new run: the objects of the last one are all cleaned by now. */
static void setup_nothing(void)
{
	unsigned int i;

	for (i = 0; i < next_id; i++)
		atomic_store(&cleaned[i], 0);
	next_id = 0;
	first_obj = 0;
}

static void setup_blocks(void)
{
	size_t i;

	setup_nothing();
	for (i = 0; i < NB; i++) {
		blk[i] = alloc_block(64);
		CHECK_NOT_NULL(blk[i]);
		nodes[i] = NULL;
		errs[i] = 0;
	}
}

/* ttak_mem_alloc_safe(): NB blocks, so the registry grows now and then */
static bool run_alloc(void)
{
	bool all = true;
	size_t i;

	for (i = 0; i < NB; i++) {
		errno = 0;
		blk[i] = alloc_block(64 + i);
		errs[i] = errno;
		if (!blk[i])
			all = false;
	}
	return all;
}

static void verify_alloc(bool ok)
{
	size_t i;

	(void)ok;
	for (i = 0; i < NB; i++) {
		if (!blk[i]) {
			CHECK_EQ(errs[i], ENOMEM);
			blk[i] = alloc_block(64 + i);
			CHECK_NOT_NULL(blk[i]);
		}
		CHECK_PTR_EQ(ttak_mem_access(blk[i], 0), blk[i]);
		ttak_mem_free(blk[i]);
	}
	check_objs_drained();
}

/* ttak_mem_tree_add(): NB nodes into a fresh tree (its index grows) */
static void setup_tree_add(void)
{
	setup_blocks();
	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_manual_cleanup(&tree, true);
	drain_batches();
}

static bool run_tree_add(void)
{
	bool all = true;
	size_t i;

	for (i = 0; i < NB; i++) {
		errno = 0;
		nodes[i] = ttak_mem_tree_add(&tree, blk[i], 64, 0, false);
		errs[i] = errno;
		if (!nodes[i])
			all = false;
	}
	return all;
}

/* Release every node, clean up, and check the tree ends empty. */
static void flush_tree(ttak_mem_tree_t *t)
{
	struct ttak_mem_tree_stats st;
	size_t i;

	for (i = 0; i < NB; i++)
		ttak_mem_node_release(nodes[i]);
	ttak_mem_tree_get_stats(t, &st);
	CHECK_EQ(st.garbage_nodes, NB);
	CHECK_EQ(st.garbage_pressure, NB * 64);
	ttak_mem_tree_perform_cleanup(t, 1);
	ttak_epoch_synchronize();
	check_tree_empty(t, NB);
}

static void verify_tree_add(bool ok)
{
	struct ttak_mem_tree_stats st;
	size_t i, added = 0;

	(void)ok;
	for (i = 0; i < NB; i++) {
		ttak_mem_node_t *found = ttak_mem_tree_find_node(&tree, blk[i]);

		if (nodes[i]) {
			added++;
			CHECK_PTR_EQ(found, nodes[i]);
			continue;
		}
		CHECK_EQ(errs[i], ENOMEM);
		CHECK_NULL(found);
	}
	ttak_mem_tree_get_stats(&tree, &st);
	CHECK_EQ(st.nodes, added);
	CHECK_EQ(st.bytes, added * 64);
	for (i = 0; i < NB; i++) {
		if (nodes[i])
			continue;
		nodes[i] = ttak_mem_tree_add(&tree, blk[i], 64, 0, false);
		CHECK_NOT_NULL(nodes[i]);
	}
	flush_tree(&tree);
	ttak_mem_tree_destroy(&tree);
	check_objs_drained();
}

/* ttak_epoch_gc_register(): NB blocks into a fresh manual GC */
static void setup_gc_register(void)
{
	setup_blocks();
	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	drain_batches();
}

static bool run_gc_register(void)
{
	bool all = true;
	size_t i;

	for (i = 0; i < NB; i++) {
		errno = 0;
		ttak_epoch_gc_register(&gc, blk[i], 64);
		errs[i] = errno;
		nodes[i] = ttak_mem_tree_find_node(&gc.tree, blk[i]);
		if (!nodes[i])
			all = false;
	}
	return all;
}

static void verify_gc_register(bool ok)
{
	struct ttak_mem_tree_stats st;
	size_t i;

	(void)ok;
	for (i = 0; i < NB; i++) {
		if (nodes[i])
			continue;
		/* untracked and still the caller's */
		CHECK_EQ(errs[i], ENOMEM);
		CHECK_PTR_EQ(ttak_mem_access(blk[i], 0), blk[i]);
		ttak_epoch_gc_register(&gc, blk[i], 64);
		nodes[i] = ttak_mem_tree_find_node(&gc.tree, blk[i]);
		CHECK_NOT_NULL(nodes[i]);
	}
	ttak_mem_tree_get_stats(&gc.tree, &st);
	CHECK_EQ(st.nodes, NB);
	for (i = 0; i < NB; i++)
		ttak_mem_node_release(nodes[i]);
	ttak_epoch_gc_rotate(&gc);
	ttak_epoch_synchronize();
	check_tree_empty(&gc.tree, NB);
	ttak_epoch_gc_destroy(&gc);
	check_objs_drained();
}

/* ttak_arena_env_init(): allocates nothing */
static bool run_env_init(void)
{
	ttak_arena_env_config_t cfg;

	ttak_arena_env_config_init(&cfg);
	cfg.generation_bytes = 8192;
	cfg.chunk_bytes = 256;
	env_ok = ttak_arena_env_init(&env, &cfg);
	return env_ok;
}

static void verify_env_init(bool ok)
{
	ttak_arena_generation_t g;

	CHECK(ok);
	if (!env_ok)
		return;
	CHECK(ttak_arena_generation_begin(&env, &g, 7));
	CHECK(ttak_arena_generation_retire(&env, &g));
	ttak_arena_env_rotate(&env);
	ttak_epoch_synchronize();
	check_tree_empty(&env.gc->tree, 1);
	ttak_arena_env_destroy(&env);
	check_objs_drained();
}

static void env_up(void)
{
	setup_nothing();
	env_ok = run_env_init();
	CHECK(env_ok);
	ttak_epoch_gc_manual_rotate(env.gc, true);
	memset(gens, 0, sizeof(gens));
}

/* ttak_arena_generation_begin(): NG generations in a fresh env */
static void setup_begin(void)
{
	env_up();
	drain_batches();
}

static bool run_begin(void)
{
	bool all = true;
	size_t i;

	for (i = 0; i < NG; i++) {
		errno = 0;
		if (ttak_arena_generation_begin(&env, &gens[i], (uint32_t)i))
			continue;
		errs[i] = errno;
		all = false;
	}
	return all;
}

/* Retire every live generation, rotate, and check the env ends empty. */
static void flush_env(uint64_t begun)
{
	struct ttak_arena_env_stats es;
	struct ttak_mem_tree_stats st;
	void *bases[NG];
	size_t i;

	for (i = 0; i < NG; i++) {
		bases[i] = gens[i].base;
		CHECK_NOT_NULL(bases[i]);
		if (gens[i].base)
			CHECK(ttak_arena_generation_retire(&env, &gens[i]));
	}
	ttak_mem_tree_get_stats(&env.gc->tree, &st);
	CHECK_EQ(st.garbage_pressure, NG * env.config.generation_bytes);
	ttak_arena_env_rotate(&env);
	ttak_epoch_synchronize();
	check_tree_empty(&env.gc->tree, begun);
	for (i = 0; i < NG; i++)
		CHECK_NULL(ttak_mem_tree_find_node(&env.gc->tree, bases[i]));
	ttak_arena_env_get_stats(&env, &es);
	CHECK_EQ(es.begun, begun);
	CHECK_EQ(es.retired, begun);
	CHECK_EQ(es.live, 0);
	ttak_arena_env_destroy(&env);
}

static void verify_begin(bool ok)
{
	struct ttak_arena_env_stats es;
	struct ttak_mem_tree_stats st;
	size_t i, got = 0;

	(void)ok;
	for (i = 0; i < NG; i++) {
		if (!gens[i].base) {
			CHECK_EQ(gens[i].capacity, 0);
			CHECK_EQ(gens[i].used, 0);
			continue;
		}
		got++;
		CHECK_NOT_NULL(ttak_mem_tree_find_node(&env.gc->tree,
						       gens[i].base));
	}
	ttak_arena_env_get_stats(&env, &es);
	CHECK_EQ(es.begun, got);
	CHECK_EQ(es.failed, NG - got);
	CHECK_EQ(es.live, got);
	ttak_mem_tree_get_stats(&env.gc->tree, &st);
	CHECK_EQ(st.nodes, got);
	for (i = 0; i < NG; i++) {
		if (!gens[i].base)
			CHECK(ttak_arena_generation_begin(&env, &gens[i],
							  (uint32_t)i));
		CHECK_NOT_NULL(ttak_arena_generation_claim(&env, &gens[i], 0));
	}
	flush_env(NG);
	check_objs_drained();
}

/* ttak_arena_generation_retire(): NG live generations */
static void setup_gen_retire(void)
{
	env_up();
	CHECK(run_begin());
	drain_batches();
}

static bool run_gen_retire(void)
{
	bool all = true;
	size_t i;

	for (i = 0; i < NG; i++)
		if (!ttak_arena_generation_retire(&env, &gens[i]))
			all = false;
	return all;
}

static void verify_gen_retire(bool ok)
{
	struct ttak_mem_tree_stats st;
	size_t i;

	CHECK(ok);
	for (i = 0; i < NG; i++)
		CHECK_NULL(gens[i].base);
	ttak_mem_tree_get_stats(&env.gc->tree, &st);
	CHECK_EQ(st.garbage_nodes, NG);
	CHECK_EQ(st.garbage_pressure, NG * env.config.generation_bytes);
	ttak_arena_env_rotate(&env);
	ttak_epoch_synchronize();
	check_tree_empty(&env.gc->tree, NG);
	ttak_arena_env_destroy(&env);
	check_objs_drained();
}

/* ttak_arena_env_rotate(): NG retired generations, no batch at hand */
static void setup_env_rotate(void)
{
	setup_gen_retire();
	CHECK(run_gen_retire());
	drain_batches();
}

static bool run_env_rotate(void)
{
	ttak_arena_env_rotate(&env);
	return true;
}

static void verify_rotated(ttak_mem_tree_t *t)
{
	struct ttak_mem_tree_stats st;

	ttak_mem_tree_get_stats(t, &st);
	/* out of the index at once, whatever failed */
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.garbage_nodes, 0);
	ttak_epoch_synchronize();
	check_tree_empty(t, st.freed_nodes + st.pending_nodes);
}

static void verify_env_rotate(bool ok)
{
	CHECK(ok);
	verify_rotated(&env.gc->tree);
	/* and the env still works */
	CHECK(run_begin());
	flush_env(2 * NG);
	check_objs_drained();
}

/* ttak_epoch_gc_rotate(): NB released blocks, no batch at hand */
static void setup_gc_rotate(void)
{
	size_t i;

	setup_blocks();
	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	for (i = 0; i < NB; i++) {
		nodes[i] = ttak_epoch_gc_register_node(&gc, blk[i], 64);
		CHECK_NOT_NULL(nodes[i]);
		ttak_mem_node_release(nodes[i]);
	}
	drain_batches();
}

static bool run_gc_rotate(void)
{
	ttak_epoch_gc_rotate(&gc);
	return true;
}

static void verify_gc_rotate(bool ok)
{
	CHECK(ok);
	verify_rotated(&gc.tree);
	check_tree_empty(&gc.tree, NB);
	ttak_epoch_gc_destroy(&gc);
	check_objs_drained();
}

/* ttak_mem_tree_perform_cleanup(): NB garbage nodes, no batch at hand */
static void setup_tree_cleanup(void)
{
	size_t i;

	setup_blocks();
	ttak_mem_tree_init(&tree);
	ttak_mem_tree_set_manual_cleanup(&tree, true);
	for (i = 0; i < NB; i++) {
		nodes[i] = ttak_mem_tree_add(&tree, blk[i], 64, 0, false);
		CHECK_NOT_NULL(nodes[i]);
		ttak_mem_node_release(nodes[i]);
	}
	drain_batches();
}

static bool run_tree_cleanup(void)
{
	ttak_mem_tree_perform_cleanup(&tree, 1);
	return true;
}

static void verify_tree_cleanup(bool ok)
{
	CHECK(ok);
	verify_rotated(&tree);
	check_tree_empty(&tree, NB);
	ttak_mem_tree_destroy(&tree);
	check_objs_drained();
}

/* ttak_epoch_retire(): NR objects, no batch at hand */
static void setup_retire(void)
{
	setup_nothing();
	drain_batches();
}

static bool run_retire(void)
{
	size_t i;

	for (i = 0; i < NR; i++)
		ttak_epoch_retire(new_obj(true), obj_cleanup);
	return true;
}

static void verify_retire(bool ok)
{
	CHECK(ok);
	check_objs_drained();
}

/* ttak_epoch_synchronize(): NR objects queued, some in the open batch */
static void setup_synchronize(void)
{
	setup_retire();
	run_retire();
}

static bool run_synchronize(void)
{
	ttak_epoch_synchronize();
	return true;
}

static void verify_synchronize(bool ok)
{
	CHECK(ok);
	/* every object queued before it is clean, whatever failed */
	CHECK_EQ(not_once(first_obj, NULL), 0);
	check_objs_drained();
}

/*
 * Count the allocations of @s, then fail each one (once, and from there
 * on) and one past the end. Prints the number of injection points.
 */
static void sweep(const struct sweep *s)
{
	unsigned long count, n, points = 0, refused, refused_total = 0;
	size_t live0 = tt_live_blocks();
	int repeat;
	bool ok;

	s->setup();
	ttak_fault_fail_nth(0, false);
	ok = s->run();
	count = ttak_fault_allocs();
	CHECK_EQ(ttak_fault_failed(), 0);
	ttak_fault_fail_nth(0, false);
	CHECK(ok);
	s->verify(ok);
	CHECK_EQ(tt_live_blocks(), live0);
	if (tt_failures())
		return;
	for (repeat = 0; repeat < 2; repeat++) {
		for (n = 1; n <= count + 1; n++) {
			s->setup();
			ttak_fault_fail_nth(n, repeat);
			ok = s->run();
			refused = ttak_fault_failed();
			ttak_fault_fail_nth(0, false);
			if (refused)
				points++;
			refused_total += refused;
			if (!refused && !ok)
				tt_fail(__FILE__, __LINE__,
					"%s failed with no allocation refused",
					s->name);
			s->verify(ok);
			CHECK_EQ(tt_live_blocks(), live0);
			if (tt_failures()) {
				printf("%s: failed at n=%lu%s\n", s->name, n,
				       repeat ? " (repeat)" : "");
				return;
			}
		}
	}
	printf("%s: %lu allocations, %lu injection points, %lu refused\n",
	       s->name, count, points, refused_total);
}

#define SWEEP_TEST(op, what)						\
	TEST(fail_nth_##op)						\
	{								\
		static const struct sweep s = {				\
			what, setup_##op, run_##op, verify_##op		\
		};							\
									\
		quiet();						\
		sweep(&s);						\
	}

static void setup_alloc(void)
{
	setup_nothing();
	drain_batches();
}

static void setup_env_init(void)
{
	setup_nothing();
}

SWEEP_TEST(alloc, "ttak_mem_alloc_safe")
SWEEP_TEST(tree_add, "ttak_mem_tree_add")
SWEEP_TEST(gc_register, "ttak_epoch_gc_register")
SWEEP_TEST(env_init, "ttak_arena_env_init")
SWEEP_TEST(begin, "ttak_arena_generation_begin")
SWEEP_TEST(gen_retire, "ttak_arena_generation_retire")
SWEEP_TEST(env_rotate, "ttak_arena_env_rotate")
SWEEP_TEST(retire, "ttak_epoch_retire")
SWEEP_TEST(gc_rotate, "ttak_epoch_gc_rotate")
SWEEP_TEST(tree_cleanup, "ttak_mem_tree_perform_cleanup")
SWEEP_TEST(synchronize, "ttak_epoch_synchronize")
