// SPDX-License-Identifier: GPL-2.0
/*
 * ttak.ko's default arena env: the one owner of the env, the generations
 * begun through debugfs `control`, their bookkeeping, the module
 * parameters that size them and the background rotation. Everything here
 * is serialised by ttak_denv.lock; the calls of ttak_default_env.h are
 * the only way in.
 *
 * Module parameters, checked once at load time:
 *   generation_bytes    size of a generation of the default env (4096)
 *   chunk_bytes         chunk size `carve` uses (128)
 *   pressure_threshold  garbage pressure, in bytes, that kicks a background
 *                       rotation at once (1 MiB)
 *   rotate_interval_ms  background rotation interval; 0 (the default)
 *                       means manual: only `rotate` flushes
 *
 * Background rotation is a delayed work item that sleeps between runs.
 * The interval adapts: it is the base interval while there is garbage,
 * doubles on every idle run up to TTAK_ROTATE_BACKOFF base intervals,
 * shrinks to the minimum while garbage not yet flushed stays over the
 * threshold, and a retire that takes it over the threshold runs it at
 * once. What a rotation flushed and readers (or the grace period) still
 * hold is freed by the EBR work item, not by rotating again.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem_tree/mem_tree.h>
#include <ttak/timing/timing.h>

#include "core/ttak_core.h"
#include "ttak_default_env.h"
#include "ttak_envs.h"
#include "ttak_trace.h"

/* Largest generation the module parameters and `begin` accept. */
#define TTAK_GEN_MAX_BYTES	(64UL << 20)
/* Most generations `begin` keeps at a time (live and retired). */
#define TTAK_GEN_MAX_COUNT	1024
/* Longest auto-rotation interval, in ms (one hour). */
#define TTAK_ROTATE_MAX_MS	3600000U
/* Shortest delay between two background rotations, in ms. */
#define TTAK_ROTATE_MIN_MS	10U
/* An idle background rotation backs off up to this many base intervals. */
#define TTAK_ROTATE_BACKOFF	8U

static unsigned long generation_bytes = 4096;
module_param(generation_bytes, ulong, 0444);
MODULE_PARM_DESC(generation_bytes,
		 "bytes per generation of the default arena env (default 4096)");

static unsigned long chunk_bytes = 128;
module_param(chunk_bytes, ulong, 0444);
MODULE_PARM_DESC(chunk_bytes,
		 "chunk size carved from the default env's generations (default 128)");

static unsigned long pressure_threshold = 1UL << 20;
module_param(pressure_threshold, ulong, 0444);
MODULE_PARM_DESC(pressure_threshold,
		 "garbage pressure in bytes that triggers a background rotation at once (default 1 MiB)");

static unsigned int rotate_interval_ms;
module_param(rotate_interval_ms, uint, 0444);
MODULE_PARM_DESC(rotate_interval_ms,
		 "background rotation interval in ms, 0 = manual rotation only (default 0)");

/**
 * struct ttak_kgen - a generation begun through ttak_default_env_begin().
 * @link: entry in ttak_denv.gens, oldest first.
 * @gen: the generation itself; emptied by the core when retired.
 * @base: the buffer's address, for display only; never dereferenced
 *	once the generation is retired.
 * @capacity: bytes in the generation.
 * @used: bytes carved.
 * @chunk: chunk size `carve` uses.
 * @id: number shown in `generations` and taken by the commands.
 * @retired: released to the GC, waiting for the next rotation.
 * @retire_ns: ttak_get_tick_count_ns() at the retire.
 */
struct ttak_kgen {
	struct list_head link;
	ttak_arena_generation_t gen;
	void *base;
	size_t capacity;
	size_t used;
	size_t chunk;
	u32 id;
	bool retired;
	u64 retire_ns;
};

/**
 * struct ttak_default_env - the default env and its bookkeeping.
 * @lock: serialises @env's generations, @gens and every field below
 *	but @rotate_work.
 * @env: the env (its own epoch GC, in manual mode: only this file
 *	rotates it).
 * @gens: struct ttak_kgen, live and retired-not-yet-flushed.
 * @next_id: id of the next generation begun.
 * @nlive: live generations on @gens.
 * @nretired: retired generations on @gens.
 * @retired_bytes: their bytes (retired, waiting for a rotation).
 * @flushed: retired generations that a rotation took out of the tree.
 * @auto_rotate: background rotation is on (rotate_interval_ms > 0);
 *	set once at init.
 * @next_ms: delay before the next background rotation (adaptive).
 * @rotate_work: the background rotation.
 */
struct ttak_default_env {
	struct mutex lock;	/* guards all below but rotate_work */
	ttak_arena_env_t env;
	struct list_head gens;
	u32 next_id;
	unsigned int nlive;
	unsigned int nretired;
	size_t retired_bytes;
	u64 flushed;
	bool auto_rotate;
	unsigned long next_ms;
	struct delayed_work rotate_work;
};

static struct ttak_default_env ttak_denv = {
	.lock = __MUTEX_INITIALIZER(ttak_denv.lock),
	.gens = LIST_HEAD_INIT(ttak_denv.gens),
};

/* Bytes a chunk of @chunk takes in the env; 0 if it cannot be carved. */
static size_t ttak_stride(size_t chunk)
{
	return ttak_arena_env_chunk_stride(&ttak_denv.env, chunk);
}

static bool ttak_sizes_ok(size_t size, size_t chunk)
{
	size_t stride;

	if (!size || size > TTAK_GEN_MAX_BYTES || !chunk || chunk > size)
		return false;
	stride = ttak_stride(chunk);
	return stride && stride <= size;
}

static struct ttak_kgen *ttak_find_gen(const u32 *id)
{
	struct ttak_kgen *g;

	lockdep_assert_held(&ttak_denv.lock);
	/* newest first: with no id, the newest live generation */
	list_for_each_entry_reverse(g, &ttak_denv.gens, link) {
		if (g->retired)
			continue;
		if (!id || g->id == *id)
			return g;
	}
	return NULL;
}

int ttak_default_env_begin(const size_t *size, const size_t *chunk)
{
	size_t bytes = size ? *size : generation_bytes;
	size_t cbytes = chunk ? *chunk : chunk_bytes;
	struct ttak_kgen *g;
	int ret;

	if (!ttak_sizes_ok(bytes, cbytes))
		return -EINVAL;
	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;

	mutex_lock(&ttak_denv.lock);
	if (ttak_denv.nlive + ttak_denv.nretired >= TTAK_GEN_MAX_COUNT) {
		ret = -ENOSPC;
		goto out;
	}
	/* sized here, not through the env's config, which stays as set */
	ret = __ttak_arena_generation_begin(&ttak_denv.env, &g->gen,
					    ttak_denv.next_id, bytes);
	if (ret)
		goto out;
	g->id = ttak_denv.next_id++;
	g->base = g->gen.base;
	g->capacity = g->gen.capacity;
	g->chunk = cbytes;
	list_add_tail(&g->link, &ttak_denv.gens);
	ttak_denv.nlive++;
	trace_ttak_generation_begin("default", g->capacity, g->chunk);
	g = NULL;
out:
	mutex_unlock(&ttak_denv.lock);
	kfree(g);
	return ret;
}

/* Fill a chunk with a pattern derived from generation and index. */
static bool ttak_fill_chunk(void *chunk, size_t bytes, size_t index,
			    void *ctx)
{
	const struct ttak_kgen *g = ctx;

	memset(chunk, (int)(((g->id + 1) * 13 + index) & 0xff), bytes);
	return true;
}

/* No room for another chunk of @g's size. */
static bool ttak_gen_full(const struct ttak_kgen *g)
{
	return ttak_arena_generation_remaining(&g->gen) < ttak_stride(g->chunk);
}

int ttak_default_env_carve(const u32 *id)
{
	struct ttak_kgen *g;
	int ret = 0;

	mutex_lock(&ttak_denv.lock);
	g = ttak_find_gen(id);
	if (!g) {
		ret = -EINVAL;
	} else if (ttak_gen_full(g)) {
		ret = -ENOSPC;
	} else {
		ttak_arena_generation_for_each(&ttak_denv.env, &g->gen,
					       g->chunk, ttak_fill_chunk, g);
		g->used = g->gen.used;
	}
	mutex_unlock(&ttak_denv.lock);
	return ret;
}

/* Run the background rotation now, if there is one. */
static void ttak_kick_rotation(void)
{
	if (ttak_denv.auto_rotate)
		mod_delayed_work(system_unbound_wq, &ttak_denv.rotate_work, 0);
}

int ttak_default_env_retire(const u32 *id)
{
	ttak_mem_tree_t *tree = &ttak_denv.env.gc->tree;
	struct ttak_kgen *g;
	bool kick = false;
	int ret;

	mutex_lock(&ttak_denv.lock);
	g = ttak_find_gen(id);
	if (!g) {
		ret = -EINVAL;
		goto out;
	}
	ret = __ttak_arena_generation_retire(&ttak_denv.env, &g->gen);
	if (ret) {
		/* the GC lost track of it: a core bug, not bad input */
		pr_err("generation %u could not be retired: %d\n", g->id, ret);
		goto out;
	}
	g->retired = true;
	g->retire_ns = ttak_get_tick_count_ns();
	trace_ttak_generation_retire("default", g->capacity);
	ttak_denv.nlive--;
	ttak_denv.nretired++;
	ttak_denv.retired_bytes += g->capacity;
	kick = ttak_mem_tree_actionable_pressure(tree) >=
	       atomic_long_read(&tree->pressure_threshold);
out:
	mutex_unlock(&ttak_denv.lock);
	if (kick)
		ttak_kick_rotation();
	return ret;
}

/*
 * Rotate the env and forget the retired generations it flushed. A
 * rotation takes every retired generation out of the tree at once; their
 * memory follows when no epoch reader can hold it. No generation can
 * begin at a flushed one's address meanwhile: begin takes the lock.
 */
static int ttak_rotate_locked(void)
{
	ttak_mem_tree_t *tree = &ttak_denv.env.gc->tree;
	size_t before = ttak_mem_tree_actionable_pressure(tree);
	size_t blocks = 0, bytes = 0;
	struct ttak_mem_tree_stats st;
	struct ttak_kgen *g, *tmp;
	u64 now, oldest = 0;
	int ret;

	lockdep_assert_held(&ttak_denv.lock);
	ret = __ttak_arena_env_rotate(&ttak_denv.env);
	if (ret)
		return ret;
	now = ttak_get_tick_count_ns();
	list_for_each_entry_safe(g, tmp, &ttak_denv.gens, link) {
		if (!g->retired || ttak_mem_tree_find_node(tree, g->base))
			continue;
		blocks++;
		bytes += g->capacity;
		if (!oldest || g->retire_ns < oldest)
			oldest = g->retire_ns;
		list_del(&g->link);
		ttak_denv.nretired--;
		ttak_denv.retired_bytes -= g->capacity;
		ttak_denv.flushed++;
		kfree(g);
	}
	trace_ttak_gc_rotate("default", before,
			     ttak_mem_tree_actionable_pressure(tree));
	if (blocks)
		trace_ttak_flush("default", blocks, bytes, now - oldest);
	ttak_mem_tree_get_stats(tree, &st);
	if (st.pending_nodes)
		ttak_trace_blockers();
	return 0;
}

int ttak_default_env_rotate(void)
{
	int ret;

	mutex_lock(&ttak_denv.lock);
	ret = ttak_rotate_locked();
	mutex_unlock(&ttak_denv.lock);
	return ret;
}

size_t ttak_default_env_shrink(void)
{
	size_t before, after;

	if (!mutex_trylock(&ttak_denv.lock))
		return 0;
	/* what the rotation flushes; a grace period frees it unasked */
	before = ttak_mem_tree_actionable_pressure(&ttak_denv.env.gc->tree);
	/* a failure needs a destroyed env, which a loaded module never has */
	if (before)
		WARN_ON_ONCE(ttak_rotate_locked());
	after = ttak_mem_tree_actionable_pressure(&ttak_denv.env.gc->tree);
	mutex_unlock(&ttak_denv.lock);
	return before > after ? before - after : 0;
}

unsigned int ttak_default_env_interval_ms(void)
{
	return rotate_interval_ms;
}

static void ttak_rotate_workfn(struct work_struct *work)
{
	ttak_mem_tree_t *tree = &ttak_denv.env.gc->tree;
	unsigned long base = rotate_interval_ms;
	struct ttak_mem_tree_stats st;
	unsigned long next;

	mutex_lock(&ttak_denv.lock);
	ttak_mem_tree_get_stats(tree, &st);
	next = ttak_denv.next_ms;
	if (!ttak_denv.nretired && !st.pending_nodes) {
		/* idle: back off */
		next = min(next * 2, base * TTAK_ROTATE_BACKOFF);
	} else {
		/* only a destroyed env refuses, and exit cancels us first */
		WARN_ON_ONCE(ttak_rotate_locked());
		ttak_mem_tree_get_stats(tree, &st);
		/* what waits for readers is freed by EBR, not by rotating */
		if (ttak_mem_tree_actionable_pressure(tree) >= st.pressure_threshold)
			next = TTAK_ROTATE_MIN_MS;
		else
			next = base;
	}
	next = max(next, (unsigned long)TTAK_ROTATE_MIN_MS);
	ttak_denv.next_ms = next;
	mutex_unlock(&ttak_denv.lock);

	queue_delayed_work(system_unbound_wq, &ttak_denv.rotate_work,
			   msecs_to_jiffies(next));
}

static int ttak_check_params(void)
{
	if (!generation_bytes || generation_bytes > TTAK_GEN_MAX_BYTES) {
		pr_err("generation_bytes=%lu out of range (1..%lu)\n",
		       generation_bytes, TTAK_GEN_MAX_BYTES);
		return -EINVAL;
	}
	if (!chunk_bytes || chunk_bytes > generation_bytes) {
		pr_err("chunk_bytes=%lu invalid: must be 1..generation_bytes (%lu) after rounding up to %d bytes\n",
		       chunk_bytes, generation_bytes, TTAK_CACHE_LINE_SIZE);
		return -EINVAL;
	}
	if (!pressure_threshold) {
		pr_err("pressure_threshold=0 invalid: must be at least 1 byte\n");
		return -EINVAL;
	}
	if (rotate_interval_ms > TTAK_ROTATE_MAX_MS) {
		pr_err("rotate_interval_ms=%u out of range (0 = manual, up to %u)\n",
		       rotate_interval_ms, TTAK_ROTATE_MAX_MS);
		return -EINVAL;
	}
	return 0;
}

int ttak_default_env_init(void)
{
	ttak_arena_env_config_t config;
	int ret;

	ret = ttak_check_params();
	if (ret)
		return ret;

	ttak_arena_env_config_init(&config);
	config.generation_bytes = generation_bytes;
	config.chunk_bytes = chunk_bytes;
	ret = __ttak_arena_env_init(&ttak_denv.env, &config);
	if (ret == -EINVAL) {
		/*
		 * The sizes are in range and the flags are the defaults: the
		 * env refuses a chunk whose stride is over the generation.
		 */
		pr_err("chunk_bytes=%lu invalid: must be 1..generation_bytes (%lu) after rounding up to %d bytes\n",
		       chunk_bytes, generation_bytes, TTAK_CACHE_LINE_SIZE);
		return ret;
	}
	if (ret) {
		pr_err("default arena env refused its configuration: %d\n",
		       ret);
		return ret;
	}
	/* only this file rotates: `rotate` or the background work */
	ttak_epoch_gc_manual_rotate(ttak_denv.env.gc, true);
	ttak_mem_tree_set_pressure_threshold(&ttak_denv.env.gc->tree,
					     pressure_threshold);

	ttak_denv.auto_rotate = rotate_interval_ms != 0;
	INIT_DELAYED_WORK(&ttak_denv.rotate_work, ttak_rotate_workfn);
	if (ttak_denv.auto_rotate) {
		ttak_denv.next_ms = rotate_interval_ms;
		queue_delayed_work(system_unbound_wq, &ttak_denv.rotate_work,
				   msecs_to_jiffies(ttak_denv.next_ms));
	}
	pr_info("loaded: generation %lu bytes, chunk %lu bytes, pressure threshold %lu bytes, rotation %s\n",
		generation_bytes, chunk_bytes, pressure_threshold,
		ttak_denv.auto_rotate ? "automatic" : "manual");
	return 0;
}

void ttak_default_env_exit(unsigned int *live, unsigned int *retired)
{
	struct ttak_kgen *g, *tmp;

	cancel_delayed_work_sync(&ttak_denv.rotate_work);

	mutex_lock(&ttak_denv.lock);
	*live = ttak_denv.nlive;
	*retired = ttak_denv.nretired;
	/* the env's own GC frees every generation it tracks, retired or not */
	ttak_arena_env_destroy(&ttak_denv.env);
	list_for_each_entry_safe(g, tmp, &ttak_denv.gens, link) {
		list_del(&g->link);
		kfree(g);
	}
	ttak_denv.nlive = 0;
	ttak_denv.nretired = 0;
	ttak_denv.retired_bytes = 0;
	mutex_unlock(&ttak_denv.lock);
}

void ttak_default_env_get_stats(struct ttak_default_env_stats *stats)
{
	mutex_lock(&ttak_denv.lock);
	ttak_arena_env_get_stats(&ttak_denv.env, &stats->env);
	ttak_mem_tree_get_stats(&ttak_denv.env.gc->tree, &stats->tree);
	ttak_epoch_gc_get_stats(ttak_denv.env.gc, &stats->gc);
	stats->flushed = ttak_denv.flushed;
	stats->auto_rotate = ttak_denv.auto_rotate;
	stats->rotate_interval_ms = rotate_interval_ms;
	stats->rotate_next_ms = ttak_denv.auto_rotate ? ttak_denv.next_ms : 0;
	/* under the lock: no generation of ours begins or goes meanwhile */
	ttak_mem_core_usage(&stats->mem_blocks, &stats->mem_bytes);
	mutex_unlock(&ttak_denv.lock);
}

void ttak_default_env_get_flush(struct ttak_default_env_flush *flush)
{
	struct ttak_mem_tree_stats ts;

	mutex_lock(&ttak_denv.lock);
	flush->retired_nodes = ttak_denv.nretired;
	flush->retired_bytes = ttak_denv.retired_bytes;
	ttak_mem_tree_get_stats(&ttak_denv.env.gc->tree, &ts);
	mutex_unlock(&ttak_denv.lock);
	flush->pending_nodes = ts.pending_nodes;
	flush->pending_bytes = ts.pending_bytes;
}

size_t ttak_default_env_pressure(void)
{
	return atomic_long_read(&ttak_denv.env.gc->tree.garbage_pressure);
}

void ttak_default_env_walk_gens(ttak_default_env_gen_fn fn, void *ctx)
{
	struct ttak_default_env_gen info;
	struct ttak_kgen *g;

	mutex_lock(&ttak_denv.lock);
	list_for_each_entry(g, &ttak_denv.gens, link) {
		info.id = g->id;
		info.base = g->base;
		info.capacity = g->capacity;
		info.used = g->used;
		info.chunk = g->chunk;
		if (g->retired)
			info.state = TTAK_GEN_RETIRED;
		else if (ttak_gen_full(g))
			info.state = TTAK_GEN_FULL;
		else
			info.state = TTAK_GEN_LIVE;
		fn(&info, ctx);
	}
	mutex_unlock(&ttak_denv.lock);
}
