/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ttak.ko's default arena env, owned by ttak_default_env.c: the env, the
 * generations begun through debugfs `control`, their bookkeeping, the
 * module parameters that size them and the background rotation. Others
 * see it only through these calls; every snapshot is taken under the
 * owner's lock, so what one call returns is consistent.
 */
#ifndef TTAK_DEFAULT_ENV_H
#define TTAK_DEFAULT_ENV_H

#include <linux/types.h>

#include <ttak/mem/arena_helper.h>
#include <ttak/mem_tree/mem_tree.h>

/**
 * struct ttak_default_env_stats - a snapshot of the default env.
 * @env: the env's lifetime counters.
 * @tree: its GC's tree.
 * @gc: its GC's rotation state.
 * @flushed: retired generations that a rotation took out of the tree.
 * @auto_rotate: background rotation is on (rotate_interval_ms > 0).
 * @rotate_interval_ms: the rotate_interval_ms parameter.
 * @rotate_next_ms: delay before the next background rotation; 0 when
 *	rotation is manual.
 * @mem_blocks: blocks allocated through the core, the env's included.
 * @mem_bytes: their bytes.
 */
struct ttak_default_env_stats {
	struct ttak_arena_env_stats env;
	struct ttak_mem_tree_stats tree;
	struct ttak_epoch_gc_stats gc;
	u64 flushed;
	bool auto_rotate;
	unsigned int rotate_interval_ms;
	unsigned long rotate_next_ms;
	size_t mem_blocks;
	size_t mem_bytes;
};

/**
 * struct ttak_default_env_flush - what the default env has not freed yet.
 * @retired_nodes: retired generations waiting for a rotation.
 * @retired_bytes: their bytes.
 * @pending_nodes: blocks a rotation took out, waiting for epoch readers.
 * @pending_bytes: their bytes.
 */
struct ttak_default_env_flush {
	size_t retired_nodes;
	size_t retired_bytes;
	size_t pending_nodes;
	size_t pending_bytes;
};

/**
 * enum ttak_default_env_gen_state - where a generation is in its life.
 * @TTAK_GEN_LIVE: begun, with room for another chunk.
 * @TTAK_GEN_FULL: begun, no room for another chunk.
 * @TTAK_GEN_RETIRED: released to the GC, waiting for a rotation.
 */
enum ttak_default_env_gen_state {
	TTAK_GEN_LIVE,
	TTAK_GEN_FULL,
	TTAK_GEN_RETIRED,
};

/**
 * struct ttak_default_env_gen - one generation, as the walk shows it.
 * @id: the number the control operations take.
 * @base: the buffer's address, for display only: never dereference it.
 * @capacity: bytes in the generation.
 * @used: bytes carved.
 * @chunk: chunk size a carve uses.
 * @state: live, full or retired.
 */
struct ttak_default_env_gen {
	u32 id;
	const void *base;
	size_t capacity;
	size_t used;
	size_t chunk;
	enum ttak_default_env_gen_state state;
};

/* Called by ttak_default_env_walk_gens() for each generation. */
typedef void (*ttak_default_env_gen_fn)(const struct ttak_default_env_gen *gen,
					void *ctx);

/**
 * ttak_default_env_init() - Check the module parameters, set up the
 * default env and start its background rotation if asked for.
 *
 * An out-of-range parameter is refused with a message naming it.
 *
 * Context: module init, after ttak_core_init(); may sleep.
 * Return: 0; -EINVAL for a parameter out of range, or the reason the
 * core refused the env.
 */
int ttak_default_env_init(void);

/**
 * ttak_default_env_exit() - Stop the rotation and free every generation.
 * @live: set to the number of generations that were live.
 * @retired: set to the number that were retired and not yet flushed.
 *
 * Live and retired generations go with the env's own GC.
 *
 * Context: module exit, once nothing can call the control operations;
 * may sleep.
 */
void ttak_default_env_exit(unsigned int *live, unsigned int *retired);

/**
 * ttak_default_env_begin() - Begin a generation.
 * @size: its bytes, or NULL for the generation_bytes parameter.
 * @chunk: chunk size for a later carve, or NULL for chunk_bytes.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL when @size is 0 or over 64 MiB, or a chunk of @chunk
 * bytes (0 refused) does not fit in @size once rounded up to its stride;
 * -ENOSPC when 1024 generations exist already (live or retired); -ENOMEM
 * when the bookkeeping, the buffer or its tracking node cannot be
 * allocated; or another error the core gives for refusing the generation.
 */
int ttak_default_env_begin(const size_t *size, const size_t *chunk);

/**
 * ttak_default_env_carve() - Carve every remaining chunk of a live
 * generation, filling each with a pattern.
 * @id: the generation, or NULL for the newest live one.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL when there is no such live generation; -ENOSPC when
 * it has no room for another chunk.
 */
int ttak_default_env_carve(const u32 *id);

/**
 * ttak_default_env_retire() - Release a live generation to the GC.
 * @id: the generation, or NULL for the newest live one.
 *
 * Its bytes become garbage pressure until the next rotation; when the
 * pressure reaches the threshold the background rotation runs at once.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL when there is no such live generation; otherwise the
 * reason the core refused the retire (-ENOENT: the GC no longer tracked
 * it), which is a bug and logged.
 */
int ttak_default_env_retire(const u32 *id);

/**
 * ttak_default_env_rotate() - Rotate the default env's GC now.
 *
 * Retired generations leave the tree and are forgotten; their memory is
 * freed once no epoch reader can hold it.
 *
 * Context: process context, outside an epoch section; may sleep.
 * Return: 0, or the reason the core refused the rotation (-EINVAL for a
 * torn-down env, which a loaded module never has).
 */
int ttak_default_env_rotate(void);

/**
 * ttak_default_env_get_stats() - Snapshot the default env's counters.
 * @stats: filled in.
 *
 * Context: process context; may sleep.
 */
void ttak_default_env_get_stats(struct ttak_default_env_stats *stats);

/**
 * ttak_default_env_get_flush() - Snapshot what is not freed yet.
 * @flush: filled in.
 *
 * Context: process context; may sleep.
 */
void ttak_default_env_get_flush(struct ttak_default_env_flush *flush);

/**
 * ttak_default_env_pressure() - The default env's garbage pressure.
 *
 * Context: any context; takes no lock.
 * Return: the pressure in bytes.
 */
size_t ttak_default_env_pressure(void);

/**
 * ttak_default_env_walk_gens() - Walk the generations, oldest first.
 * @fn: called with each generation's snapshot and @ctx, under the owner's
 *	lock (so the walk sees one consistent state); it must not call back
 *	into this file.
 * @ctx: passed to @fn.
 *
 * Context: process context; may sleep.
 */
void ttak_default_env_walk_gens(ttak_default_env_gen_fn fn, void *ctx);

/**
 * ttak_default_env_shrink() - Rotate the default env for the shrinker.
 *
 * Skips the rotation when the owner's lock is taken (its holder may be
 * the task that is reclaiming): it never waits for the lock nor for a
 * reader.
 *
 * Context: process context where the caller may sleep (reclaim with
 * __GFP_DIRECT_RECLAIM).
 * Return: the garbage bytes freed.
 */
size_t ttak_default_env_shrink(void);

/**
 * ttak_default_env_interval_ms() - The rotate_interval_ms parameter.
 *
 * Published envs are rotated by this interval too.
 *
 * Context: any context.
 * Return: the interval in ms; 0 when rotation is manual.
 */
unsigned int ttak_default_env_interval_ms(void);

#endif /* TTAK_DEFAULT_ENV_H */
