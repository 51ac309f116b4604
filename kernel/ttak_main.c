// SPDX-License-Identifier: GPL-2.0
/*
 * ttak.ko: the ttak core (kernel/core/, shared with libttak) in kernel
 * memory, its API exported to other modules, and a default arena env that
 * debugfs drives (see ttak_debugfs.c).
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
 * shrinks while readers hold garbage back or pressure stays over the
 * threshold, and a retire that takes the pressure over the threshold
 * runs it at once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <ttak/mem/epoch.h>
#include <ttak/mem_tree/mem_tree.h>

#include "core/ttak_core.h"
#include "ttak_module.h"

unsigned long ttak_param_generation_bytes = 4096;
module_param_named(generation_bytes, ttak_param_generation_bytes, ulong,
		   0444);
MODULE_PARM_DESC(generation_bytes,
		 "bytes per generation of the default arena env (default 4096)");

unsigned long ttak_param_chunk_bytes = 128;
module_param_named(chunk_bytes, ttak_param_chunk_bytes, ulong, 0444);
MODULE_PARM_DESC(chunk_bytes,
		 "chunk size carved from the default env's generations (default 128)");

static unsigned long pressure_threshold = 1UL << 20;
module_param(pressure_threshold, ulong, 0444);
MODULE_PARM_DESC(pressure_threshold,
		 "garbage pressure in bytes that triggers a background rotation at once (default 1 MiB)");

unsigned int ttak_param_rotate_interval_ms;
module_param_named(rotate_interval_ms, ttak_param_rotate_interval_ms, uint,
		   0444);
MODULE_PARM_DESC(rotate_interval_ms,
		 "background rotation interval in ms, 0 = manual rotation only (default 0)");

struct ttak_module ttak_mod = {
	.lock = __MUTEX_INITIALIZER(ttak_mod.lock),
	.gens = LIST_HEAD_INIT(ttak_mod.gens),
};

/* Size of a chunk as carved from an env with cache-aligned chunks. */
static size_t ttak_stride(size_t chunk)
{
	return ALIGN(chunk, TTAK_CACHE_LINE_SIZE);
}

static bool ttak_sizes_ok(size_t size, size_t chunk)
{
	return size && size <= TTAK_GEN_MAX_BYTES && chunk &&
	       chunk <= size && ttak_stride(chunk) <= size;
}

static struct ttak_kgen *ttak_find_gen(const u32 *id)
{
	struct ttak_kgen *g;

	lockdep_assert_held(&ttak_mod.lock);
	/* newest first: with no id, the newest live generation */
	list_for_each_entry_reverse(g, &ttak_mod.gens, link) {
		if (g->retired)
			continue;
		if (!id || g->id == *id)
			return g;
	}
	return NULL;
}

/**
 * ttak_ctl_begin() - Begin a generation of the default env.
 * @size: its bytes.
 * @chunk: chunk size for a later carve.
 *
 * Context: process context; takes ttak_mod.lock.
 * Return: 0, -EINVAL for sizes out of range, -ENOSPC when
 * TTAK_GEN_MAX_COUNT generations exist already, -ENOMEM.
 */
int ttak_ctl_begin(size_t size, size_t chunk)
{
	ttak_arena_env_t *env = &ttak_mod.env;
	struct ttak_kgen *g;
	size_t saved;
	bool ok;
	int ret = 0;

	if (!ttak_sizes_ok(size, chunk))
		return -EINVAL;
	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;

	mutex_lock(&ttak_mod.lock);
	if (ttak_mod.nlive + ttak_mod.nretired >= TTAK_GEN_MAX_COUNT) {
		ret = -ENOSPC;
		goto out;
	}
	/* the core sizes a generation from the env's config */
	saved = env->config.generation_bytes;
	env->config.generation_bytes = size;
	ok = ttak_arena_generation_begin(env, &g->gen, ttak_mod.next_id);
	env->config.generation_bytes = saved;
	if (!ok) {
		ret = -ENOMEM;
		goto out;
	}
	g->id = ttak_mod.next_id++;
	g->base = g->gen.base;
	g->capacity = g->gen.capacity;
	g->chunk = chunk;
	list_add_tail(&g->link, &ttak_mod.gens);
	ttak_mod.nlive++;
	g = NULL;
out:
	mutex_unlock(&ttak_mod.lock);
	kfree(g);
	return ret;
}

/* Fill a chunk with a pattern derived from generation and index. */
static bool ttak_fill_chunk(void *chunk, size_t chunk_bytes, size_t index,
			    void *ctx)
{
	const struct ttak_kgen *g = ctx;

	memset(chunk, (int)(((g->id + 1) * 13 + index) & 0xff), chunk_bytes);
	return true;
}

/**
 * ttak_ctl_carve() - Carve every remaining chunk of a live generation.
 * @id: the generation, or NULL for the newest live one.
 *
 * Context: process context; takes ttak_mod.lock.
 * Return: 0, -EINVAL when there is no such live generation, -ENOSPC when
 * it has no room for another chunk.
 */
int ttak_ctl_carve(const u32 *id)
{
	struct ttak_kgen *g;
	int ret = 0;

	mutex_lock(&ttak_mod.lock);
	g = ttak_find_gen(id);
	if (!g) {
		ret = -EINVAL;
	} else if (ttak_arena_generation_remaining(&g->gen) <
		   ttak_stride(g->chunk)) {
		ret = -ENOSPC;
	} else {
		ttak_arena_generation_for_each(&ttak_mod.env, &g->gen,
					       g->chunk, ttak_fill_chunk, g);
		g->used = g->gen.used;
	}
	mutex_unlock(&ttak_mod.lock);
	return ret;
}

/* Run the background rotation now, if there is one. */
static void ttak_kick_rotation(void)
{
	if (ttak_mod.auto_rotate)
		mod_delayed_work(system_unbound_wq, &ttak_mod.rotate_work, 0);
}

/**
 * ttak_ctl_retire() - Retire a live generation.
 * @id: the generation, or NULL for the newest live one.
 *
 * Its bytes become garbage pressure until the next rotation.
 *
 * Context: process context; takes ttak_mod.lock.
 * Return: 0, or -EINVAL when there is no such live generation.
 */
int ttak_ctl_retire(const u32 *id)
{
	ttak_mem_tree_t *tree = &ttak_mod.env.gc->tree;
	struct ttak_kgen *g;
	bool kick = false;
	int ret = 0;

	mutex_lock(&ttak_mod.lock);
	g = ttak_find_gen(id);
	if (!g) {
		ret = -EINVAL;
	} else if (!ttak_arena_generation_retire(&ttak_mod.env, &g->gen)) {
		/* the GC lost track of it: a core bug, not bad input */
		pr_err("generation %u could not be retired\n", g->id);
		ret = -EIO;
	} else {
		g->retired = true;
		ttak_mod.nlive--;
		ttak_mod.nretired++;
		ttak_mod.retired_bytes += g->capacity;
		kick = atomic_long_read(&tree->garbage_pressure) >=
		       atomic_long_read(&tree->pressure_threshold);
	}
	mutex_unlock(&ttak_mod.lock);
	if (kick)
		ttak_kick_rotation();
	return ret;
}

/*
 * Rotate the default env and forget the retired generations it flushed.
 * A rotation takes every retired generation out of the tree at once;
 * their memory follows when no epoch reader can hold it.
 */
static void ttak_rotate_locked(void)
{
	ttak_mem_tree_t *tree = &ttak_mod.env.gc->tree;
	struct ttak_kgen *g, *tmp;

	lockdep_assert_held(&ttak_mod.lock);
	ttak_arena_env_rotate(&ttak_mod.env);
	list_for_each_entry_safe(g, tmp, &ttak_mod.gens, link) {
		if (!g->retired || ttak_mem_tree_find_node(tree, g->base))
			continue;
		list_del(&g->link);
		ttak_mod.nretired--;
		ttak_mod.retired_bytes -= g->capacity;
		ttak_mod.flushed++;
		kfree(g);
	}
}

/**
 * ttak_ctl_rotate() - Rotate the default env's GC now.
 *
 * Context: process context; takes ttak_mod.lock.
 */
void ttak_ctl_rotate(void)
{
	mutex_lock(&ttak_mod.lock);
	ttak_rotate_locked();
	mutex_unlock(&ttak_mod.lock);
}

static void ttak_rotate_workfn(struct work_struct *work)
{
	ttak_mem_tree_t *tree = &ttak_mod.env.gc->tree;
	unsigned long base = ttak_param_rotate_interval_ms;
	struct ttak_mem_tree_stats st;
	unsigned long next;

	mutex_lock(&ttak_mod.lock);
	ttak_mem_tree_get_stats(tree, &st);
	next = ttak_mod.next_ms;
	if (!ttak_mod.nretired && !st.pending_nodes) {
		/* idle: back off */
		next = min(next * 2, base * TTAK_ROTATE_BACKOFF);
	} else {
		ttak_rotate_locked();
		ttak_mem_tree_get_stats(tree, &st);
		if (st.garbage_pressure >= st.pressure_threshold)
			next = TTAK_ROTATE_MIN_MS;
		else if (st.pending_nodes)	/* readers hold some back */
			next = max(min(next, base) / 2,
				   (unsigned long)TTAK_ROTATE_MIN_MS);
		else
			next = base;
	}
	next = max(next, (unsigned long)TTAK_ROTATE_MIN_MS);
	ttak_mod.next_ms = next;
	mutex_unlock(&ttak_mod.lock);

	queue_delayed_work(system_unbound_wq, &ttak_mod.rotate_work,
			   msecs_to_jiffies(next));
}

static int __init ttak_check_params(void)
{
	if (!ttak_param_generation_bytes ||
	    ttak_param_generation_bytes > TTAK_GEN_MAX_BYTES) {
		pr_err("generation_bytes=%lu out of range (1..%lu)\n",
		       ttak_param_generation_bytes, TTAK_GEN_MAX_BYTES);
		return -EINVAL;
	}
	if (!ttak_sizes_ok(ttak_param_generation_bytes,
			   ttak_param_chunk_bytes)) {
		pr_err("chunk_bytes=%lu invalid: must be 1..generation_bytes (%lu) after rounding up to %d bytes\n",
		       ttak_param_chunk_bytes, ttak_param_generation_bytes,
		       TTAK_CACHE_LINE_SIZE);
		return -EINVAL;
	}
	if (!pressure_threshold) {
		pr_err("pressure_threshold=0 invalid: must be at least 1 byte\n");
		return -EINVAL;
	}
	if (ttak_param_rotate_interval_ms > TTAK_ROTATE_MAX_MS) {
		pr_err("rotate_interval_ms=%u out of range (0 = manual, up to %u)\n",
		       ttak_param_rotate_interval_ms, TTAK_ROTATE_MAX_MS);
		return -EINVAL;
	}
	return 0;
}

static int __init ttak_init(void)
{
	ttak_arena_env_config_t config;
	int ret;

	ret = ttak_check_params();
	if (ret)
		return ret;
	ret = ttak_core_init();
	if (ret)
		return ret;

	ttak_arena_env_config_init(&config);
	config.generation_bytes = ttak_param_generation_bytes;
	config.chunk_bytes = ttak_param_chunk_bytes;
	if (!ttak_arena_env_init(&ttak_mod.env, &config)) {
		pr_err("default arena env refused its configuration\n");
		ttak_core_exit();
		return -EINVAL;
	}
	/* only the module rotates: `rotate` or the background work */
	ttak_epoch_gc_manual_rotate(ttak_mod.env.gc, true);
	ttak_mem_tree_set_pressure_threshold(&ttak_mod.env.gc->tree,
					     pressure_threshold);

	ttak_debugfs_init();

	ttak_mod.auto_rotate = ttak_param_rotate_interval_ms != 0;
	INIT_DELAYED_WORK(&ttak_mod.rotate_work, ttak_rotate_workfn);
	if (ttak_mod.auto_rotate) {
		ttak_mod.next_ms = ttak_param_rotate_interval_ms;
		queue_delayed_work(system_unbound_wq, &ttak_mod.rotate_work,
				   msecs_to_jiffies(ttak_mod.next_ms));
	}
	pr_info("loaded: generation %lu bytes, chunk %lu bytes, pressure threshold %lu bytes, rotation %s\n",
		ttak_param_generation_bytes, ttak_param_chunk_bytes,
		pressure_threshold,
		ttak_mod.auto_rotate ? "automatic" : "manual");
	return 0;
}

static void __exit ttak_exit(void)
{
	unsigned int live, retired;
	struct ttak_kgen *g, *tmp;
	size_t blocks, bytes;

	/* waits for every debugfs reader and writer to leave */
	ttak_debugfs_exit();
	cancel_delayed_work_sync(&ttak_mod.rotate_work);

	mutex_lock(&ttak_mod.lock);
	live = ttak_mod.nlive;
	retired = ttak_mod.nretired;
	/* the env's own GC frees every generation it tracks, retired or not */
	ttak_arena_env_destroy(&ttak_mod.env);
	list_for_each_entry_safe(g, tmp, &ttak_mod.gens, link) {
		list_del(&g->link);
		kfree(g);
	}
	ttak_mod.nlive = 0;
	ttak_mod.nretired = 0;
	ttak_mod.retired_bytes = 0;
	mutex_unlock(&ttak_mod.lock);

	/* anything still allocated now was leaked by a user of the API */
	ttak_mem_core_usage(&blocks, &bytes);
	ttak_core_exit();
	pr_info("unloaded: freed %u live and %u retired generations; %zu stray blocks (%zu bytes) reclaimed\n",
		live, retired, blocks, bytes);
}

module_init(ttak_init);
module_exit(ttak_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak: arena generations, mem tree and epoch reclamation");
MODULE_VERSION("0.1.0");
