// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Arena generations: one tracked buffer per generation, carved front to
 * back, registered with the env's epoch GC while live and flushed by the
 * first safe rotation after it is retired.
 */
#include "ttak_core.h"
#include <ttak/mem/arena_helper.h>
#include <ttak/timing/timing.h>

#define TTAK_ARENA_DEFAULT_GENERATION	4096
#define TTAK_ARENA_DEFAULT_CHUNK	128
#define TTAK_ARENA_KNOWN_FLAGS	(TTAK_MEM_HUGE_PAGES | TTAK_MEM_CACHE_ALIGNED | \
				 TTAK_MEM_STRICT_CHECK | TTAK_MEM_LOW_PRIORITY)

void ttak_arena_env_config_init(ttak_arena_env_config_t *config)
{
	if (!config)
		return;
	config->gc = NULL;
	config->generation_bytes = TTAK_ARENA_DEFAULT_GENERATION;
	config->chunk_bytes = TTAK_ARENA_DEFAULT_CHUNK;
	config->alloc_flags = TTAK_MEM_CACHE_ALIGNED | TTAK_MEM_STRICT_CHECK;
	config->lifetime_ticks = __TTAK_UNSAFE_MEM_FOREVER__;
}
EXPORT_SYMBOL_GPL(ttak_arena_env_config_init);

/* Chunk size as carved: rounded up to a cache line when asked for. */
static size_t ttak_arena_stride(const ttak_arena_env_t *env, size_t bytes)
{
	size_t line = TTAK_CACHE_LINE_SIZE;

	if (!(env->config.alloc_flags & TTAK_MEM_CACHE_ALIGNED))
		return bytes;
	if (bytes > (size_t)-1 - line)
		return 0;
	return (bytes + line - 1) & ~(line - 1);
}

bool ttak_arena_env_init(ttak_arena_env_t *env,
			 const ttak_arena_env_config_t *config)
{
	ttak_arena_env_config_t defaults;

	if (!env) {
		ttak_set_errno(EINVAL);
		return false;
	}
	if (!config) {
		ttak_arena_env_config_init(&defaults);
		config = &defaults;
	}
	memset(env, 0, sizeof(*env));
	env->config = *config;
	if (!config->generation_bytes || !config->chunk_bytes ||
	    (config->alloc_flags & ~TTAK_ARENA_KNOWN_FLAGS) ||
	    !ttak_arena_stride(env, config->chunk_bytes) ||
	    ttak_arena_stride(env, config->chunk_bytes) >
	    config->generation_bytes) {
		ttak_set_errno(EINVAL);
		return false;
	}
	if (config->gc) {
		env->gc = config->gc;
	} else {
		ttak_epoch_gc_init(&env->own_gc);
		env->gc = &env->own_gc;
		env->owns_gc = true;
	}
	ttak_a64_set(&env->begun, 0);
	ttak_a64_set(&env->retired, 0);
	ttak_a64_set(&env->failed, 0);
	env->id = ttak_core_new_id();
	return true;
}
EXPORT_SYMBOL_GPL(ttak_arena_env_init);

void ttak_arena_env_destroy(ttak_arena_env_t *env)
{
	if (!env || !env->gc)
		return;
	if (env->owns_gc) {
		ttak_epoch_gc_destroy(&env->own_gc);
		/* refused inside a section: keep the env, or it all leaks */
		if (env->own_gc.tree.initialized)
			return;
	} else {
		ttak_epoch_gc_rotate(env->gc);
	}
	env->gc = NULL;
	env->id = 0;
}
EXPORT_SYMBOL_GPL(ttak_arena_env_destroy);

bool ttak_arena_generation_begin(ttak_arena_env_t *env,
				 ttak_arena_generation_t *generation,
				 uint32_t epoch_id)
{
	ttak_mem_node_t *node;
	u64 lifetime, now;
	size_t bytes;
	void *base;

	if (generation)
		memset(generation, 0, sizeof(*generation));	/* even on failure */
	if (!env || !env->gc || !generation) {
		ttak_set_errno(EINVAL);
		return false;
	}
	bytes = env->config.generation_bytes;
	lifetime = env->config.lifetime_ticks;
	/* a lifetime that never ends needs no clock */
	now = lifetime == __TTAK_UNSAFE_MEM_FOREVER__ ? 0 : ttak_get_tick_count();
	base = ttak_mem_alloc_with_flags(bytes, lifetime, now,
					 env->config.alloc_flags);
	if (!base)
		goto fail;
	node = ttak_epoch_gc_register_node(env->gc, base, bytes);
	if (!node) {
		ttak_mem_free(base);
		goto fail;
	}
	generation->base = base;
	generation->env_id = env->id;
	generation->serial = node->serial;	/* held: cannot go yet */
	generation->capacity = bytes;
	generation->used = 0;
	generation->epoch_id = epoch_id;
	ttak_a64_inc_return(&env->begun);
	return true;
fail:
	ttak_a64_inc_return(&env->failed);
	return false;
}
EXPORT_SYMBOL_GPL(ttak_arena_generation_begin);

/*
 * @generation was begun in @env, and @env is not destroyed: its buffer
 * is the owner's to carve. (A destroyed env has id 0; a re-initialised
 * one has a new id.)
 */
static bool ttak_generation_of(const ttak_arena_env_t *env,
			       const ttak_arena_generation_t *generation)
{
	return env && generation && generation->base && env->gc &&
	       generation->env_id == env->id;
}

void *ttak_arena_generation_claim(ttak_arena_env_t *env,
				  ttak_arena_generation_t *generation,
				  size_t bytes)
{
	size_t stride;
	void *chunk;

	if (!ttak_generation_of(env, generation)) {
		ttak_set_errno(EINVAL);
		return NULL;
	}
	stride = ttak_arena_stride(env, bytes ? bytes : env->config.chunk_bytes);
	if (!stride || generation->used > generation->capacity ||
	    stride > generation->capacity - generation->used) {
		ttak_set_errno(ENOSPC);
		return NULL;
	}
	chunk = (char *)generation->base + generation->used;
	generation->used += stride;
	return chunk;
}
EXPORT_SYMBOL_GPL(ttak_arena_generation_claim);

size_t ttak_arena_generation_for_each(ttak_arena_env_t *env,
				      ttak_arena_generation_t *generation,
				      size_t chunk_bytes,
				      ttak_arena_chunk_handler_t handler,
				      void *ctx)
{
	size_t count = 0;
	void *chunk;

	if (!ttak_generation_of(env, generation) || !handler) {
		ttak_set_errno(EINVAL);
		return 0;
	}
	if (!chunk_bytes)
		chunk_bytes = env->config.chunk_bytes;
	while ((chunk = ttak_arena_generation_claim(env, generation,
						    chunk_bytes))) {
		if (!handler(chunk, chunk_bytes, count++, ctx))
			break;
	}
	return count;
}
EXPORT_SYMBOL_GPL(ttak_arena_generation_for_each);

size_t ttak_arena_generation_remaining(const ttak_arena_generation_t *generation)
{
	if (!generation || !generation->base ||
	    generation->used > generation->capacity)
		return 0;
	return generation->capacity - generation->used;
}
EXPORT_SYMBOL_GPL(ttak_arena_generation_remaining);

void ttak_arena_generation_reset(ttak_arena_generation_t *generation)
{
	if (generation && generation->base)
		generation->used = 0;
}
EXPORT_SYMBOL_GPL(ttak_arena_generation_reset);

bool ttak_arena_generation_retire(ttak_arena_env_t *env,
				  ttak_arena_generation_t *generation)
{
	if (!ttak_generation_of(env, generation)) {
		ttak_set_errno(EINVAL);
		return false;
	}
	/* by identity, not address: a newer generation may live there now */
	if (!ttak_mem_tree_release_owner(&env->gc->tree, generation->base,
					 generation->serial)) {
		ttak_set_errno(ENOENT);
		return false;
	}
	ttak_a64_inc_return(&env->retired);
	memset(generation, 0, sizeof(*generation));
	return true;
}
EXPORT_SYMBOL_GPL(ttak_arena_generation_retire);

void ttak_arena_env_rotate(ttak_arena_env_t *env)
{
	if (!env || !env->gc) {
		ttak_set_errno(EINVAL);
		return;
	}
	ttak_epoch_gc_rotate(env->gc);
}
EXPORT_SYMBOL_GPL(ttak_arena_env_rotate);

void ttak_arena_env_get_stats(ttak_arena_env_t *env,
			      struct ttak_arena_env_stats *stats)
{
	if (!env || !stats)
		return;
	stats->begun = ttak_a64_read(&env->begun);
	stats->retired = ttak_a64_read(&env->retired);
	stats->failed = ttak_a64_read(&env->failed);
	stats->live = stats->begun - stats->retired;
}
EXPORT_SYMBOL_GPL(ttak_arena_env_get_stats);
