/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Arena generations on top of the epoch GC.
 *
 * A generation is one buffer from ttak_mem_alloc_safe(), registered with
 * the env's GC when it begins. Chunks are carved from it front to back at
 * deterministic offsets (each rounded up to TTAK_CACHE_LINE_SIZE when the
 * env's flags ask for cache alignment). Retiring a generation drops its
 * GC reference, which reports its size as pressure; the next safe
 * rotation frees it, after which ttak_mem_tree_find_node() no longer
 * finds it.
 *
 * A generation struct belongs to its caller and is used by one thread at
 * a time; the env may be shared between threads.
 */
#ifndef TTAK_ARENA_HELPER_H
#define TTAK_ARENA_HELPER_H

#include <ttak/types.h>
#include <ttak/mem/mem.h>
#include <ttak/mem/epoch_gc.h>

typedef struct ttak_arena_env_config {
	ttak_epoch_gc_t *gc;		/* external GC, or NULL for a private one */
	size_t generation_bytes;
	size_t chunk_bytes;
	ttak_mem_flags_t alloc_flags;
	uint64_t lifetime_ticks;
} ttak_arena_env_config_t;

/**
 * struct ttak_arena_env_stats - lifetime counters of an env.
 * @begun: generations begun.
 * @retired: generations retired.
 * @live: begun and not yet retired.
 * @failed: begin calls that failed.
 */
struct ttak_arena_env_stats {
	uint64_t begun;
	uint64_t retired;
	uint64_t live;
	uint64_t failed;
};

typedef struct ttak_arena_env {
	ttak_arena_env_config_t config;
	ttak_epoch_gc_t *gc;
	/* private: */
	ttak_epoch_gc_t own_gc;
	bool owns_gc;
	uint64_t id;		/* 0 once destroyed; never reused */
	ttak_atomic_u64_t begun;
	ttak_atomic_u64_t retired;
	ttak_atomic_u64_t failed;
} ttak_arena_env_t;

typedef struct ttak_arena_generation {
	void *base;		/* NULL once retired */
	size_t capacity;
	size_t used;
	uint32_t epoch_id;
	/* private: which env and which node, so a stale copy is refused */
	uint64_t env_id;
	uint64_t serial;
} ttak_arena_generation_t;

/* Return false to stop the walk. */
typedef bool (*ttak_arena_chunk_handler_t)(void *chunk, size_t chunk_bytes,
					   size_t chunk_index, void *ctx);

/**
 * ttak_arena_env_config_init() - Fill @config with the defaults.
 * @config: the config; NULL is ignored.
 *
 * 4096-byte generations, 128-byte chunks, cache-aligned and strictly
 * checked, never expiring, private GC.
 *
 * Context: any thread or context; takes no lock.
 */
void ttak_arena_env_config_init(ttak_arena_env_config_t *config);

/**
 * ttak_arena_env_init() - Set up an env.
 * @env: the env.
 * @config: the config, or NULL for the defaults. Refused when a size is
 *	0, the chunk is larger than the generation or a flag is unknown.
 *
 * Context: any thread or context; allocates nothing.
 * Return: true on success; false leaves @env unusable (errno EINVAL).
 */
bool ttak_arena_env_init(ttak_arena_env_t *env,
			 const ttak_arena_env_config_t *config);

/**
 * ttak_arena_env_destroy() - Tear down an env.
 * @env: the env; NULL is ignored.
 *
 * A private GC is destroyed with every generation it still tracks, retired
 * or not; an external GC is rotated once and left to its owner. Afterwards
 * every call with @env, or with a generation begun in it, fails with
 * EINVAL (claim NULL, for_each 0, retire false), even once @env is
 * initialised again.
 *
 * Context: not inside an epoch section; there the teardown of a private
 * GC is refused (reported, errno EDEADLK) and @env stays usable.
 * Kernel: process context, may sleep.
 */
void ttak_arena_env_destroy(ttak_arena_env_t *env);

/**
 * ttak_arena_generation_begin() - Allocate and register a generation.
 * @env: the env.
 * @generation: filled in; its previous contents are ignored.
 * @epoch_id: caller's label, kept in @generation.
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 * Return: true on success; false leaves @generation empty: EINVAL for a
 * NULL or destroyed @env or NULL @generation, ENOMEM when the buffer or
 * its tracking node cannot be allocated.
 */
bool ttak_arena_generation_begin(ttak_arena_env_t *env,
				 ttak_arena_generation_t *generation,
				 uint32_t epoch_id);

/**
 * ttak_arena_generation_claim() - Carve the next chunk.
 * @env: the env.
 * @generation: a live generation.
 * @bytes: chunk size, 0 for config.chunk_bytes.
 *
 * Context: the generation's single user (see above); no lock, never sleeps.
 * Return: the chunk, or NULL when the generation is retired, was not begun
 * in @env or @env was destroyed (errno EINVAL), or has too little room
 * left (ENOSPC).
 */
void *ttak_arena_generation_claim(ttak_arena_env_t *env,
				  ttak_arena_generation_t *generation,
				  size_t bytes);

/**
 * ttak_arena_generation_for_each() - Carve chunks until full or stopped.
 * @env: the env.
 * @generation: a live generation.
 * @chunk_bytes: chunk size, 0 for config.chunk_bytes.
 * @handler: called for each chunk; returning false stops the walk after
 *	that chunk.
 * @ctx: passed to @handler.
 *
 * Context: as ttak_arena_generation_claim(); @handler runs in the caller's
 *	context.
 * Return: the number of chunks carved and handed to @handler.
 */
size_t ttak_arena_generation_for_each(ttak_arena_env_t *env,
				      ttak_arena_generation_t *generation,
				      size_t chunk_bytes,
				      ttak_arena_chunk_handler_t handler,
				      void *ctx);

/**
 * ttak_arena_generation_remaining() - Bytes left to carve.
 * @generation: the generation.
 *
 * Context: any thread or context; takes no lock.
 * Return: the bytes after the last chunk carved; 0 for a retired
 * generation or NULL.
 */
size_t ttak_arena_generation_remaining(const ttak_arena_generation_t *generation);

/**
 * ttak_arena_generation_reset() - Forget every chunk carved so far.
 * @generation: a live generation; NULL or a retired one is ignored.
 *
 * The next claim starts at the front again (used = 0). The memory is not
 * cleared.
 *
 * Context: the generation's single user; no lock, never sleeps.
 */
void ttak_arena_generation_reset(ttak_arena_generation_t *generation);

/**
 * ttak_arena_generation_retire() - Release a generation to the GC.
 * @env: the env.
 * @generation: the generation; emptied on success.
 *
 * Context: user space: any thread. Kernel: process context; does not
 *	sleep (takes spinlocks that are not irq-safe).
 * A generation is told by identity, not by address: a stale copy of a
 * generation retired already is refused even when a newer generation now
 * lives at the same address, and of two copies of one generation only
 * the first retire succeeds.
 *
 * Return: true if a generation was retired; false for an empty generation
 * or one not begun in @env or a destroyed @env (errno EINVAL), or one
 * retired already or no longer tracked (ENOENT). False changes nothing.
 */
bool ttak_arena_generation_retire(ttak_arena_env_t *env,
				  ttak_arena_generation_t *generation);

/**
 * ttak_arena_env_rotate() - Rotate the env's GC.
 * @env: the env.
 *
 * See ttak_epoch_gc_rotate(): retired generations leave the GC's tree at
 * once and are freed when no epoch reader can hold them.
 *
 * Context: user space: any thread. Kernel: process context outside an
 * epoch section, may sleep.
 * On failure (a NULL or destroyed @env) nothing happens and errno is
 * EINVAL.
 */
void ttak_arena_env_rotate(ttak_arena_env_t *env);

/**
 * ttak_arena_env_chunk_stride() - Bytes one chunk takes in @env's
 * generations (ttak extension).
 * @env: the env.
 * @chunk_bytes: the chunk size asked for, 0 for config.chunk_bytes.
 *
 * The size rounded up to TTAK_CACHE_LINE_SIZE when the env's flags ask for
 * cache-aligned chunks, else the size itself: the rule claim() carves by.
 *
 * Context: any thread or context; takes no lock.
 * Return: the stride; 0 for a NULL or destroyed env, or when rounding up
 * overflows.
 */
size_t ttak_arena_env_chunk_stride(const ttak_arena_env_t *env,
				   size_t chunk_bytes);

/**
 * ttak_arena_env_get_stats() - Snapshot the env's counters (ttak extension).
 * @env: the env; NULL is ignored.
 * @stats: filled in.
 *
 * Context: any thread or context; takes no lock.
 */
void ttak_arena_env_get_stats(ttak_arena_env_t *env,
			      struct ttak_arena_env_stats *stats);

#endif /* TTAK_ARENA_HELPER_H */
