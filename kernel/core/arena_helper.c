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

/*
 * The one stride rule: a chunk of @bytes takes @bytes, rounded up to a
 * cache line when the env's flags ask for aligned chunks; 0 if that
 * overflows.
 */
static size_t ttak_stride_of(ttak_mem_flags_t flags, size_t bytes)
{
	size_t line = TTAK_CACHE_LINE_SIZE;

	if (!(flags & TTAK_MEM_CACHE_ALIGNED))
		return bytes;
	if (bytes > (size_t)-1 - line)
		return 0;
	return (bytes + line - 1) & ~(line - 1);
}

size_t ttak_arena_env_chunk_stride(const ttak_arena_env_t *env, size_t bytes)
{
	if (!env || !env->gc)
		return 0;
	return ttak_stride_of(env->config.alloc_flags,
			      bytes ? bytes : env->config.chunk_bytes);
}
EXPORT_SYMBOL_GPL(ttak_arena_env_chunk_stride);

static int ttak_config_check(const ttak_arena_env_config_t *config)
{
	size_t stride;

	if (!config->generation_bytes || !config->chunk_bytes ||
	    (config->alloc_flags & ~TTAK_ARENA_KNOWN_FLAGS))
		return -EINVAL;
	stride = ttak_stride_of(config->alloc_flags, config->chunk_bytes);
	if (!stride || stride > config->generation_bytes)
		return -EINVAL;
	return 0;
}

int __ttak_arena_env_init(ttak_arena_env_t *env,
			  const ttak_arena_env_config_t *config)
{
	ttak_arena_env_config_t defaults;
	int err;

	if (!env)
		return -EINVAL;
	if (!config) {
		ttak_arena_env_config_init(&defaults);
		config = &defaults;
	}
	memset(env, 0, sizeof(*env));
	env->config = *config;
	err = ttak_config_check(config);
	if (err)
		return err;
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
	return 0;
}

bool ttak_arena_env_init(ttak_arena_env_t *env,
			 const ttak_arena_env_config_t *config)
{
	return ttak_report(__ttak_arena_env_init(env, config));
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

int __ttak_arena_generation_begin(ttak_arena_env_t *env,
				  ttak_arena_generation_t *generation,
				  u32 epoch_id, size_t bytes)
{
	ttak_mem_node_t *node;
	u64 lifetime, now;
	void *base;

	if (generation)
		memset(generation, 0, sizeof(*generation));	/* even on failure */
	if (!env || !env->gc || !generation)
		return -EINVAL;
	if (!bytes)
		bytes = env->config.generation_bytes;
	lifetime = env->config.lifetime_ticks;
	/* a lifetime that never ends needs no clock */
	now = lifetime == __TTAK_UNSAFE_MEM_FOREVER__ ? 0 : ttak_get_tick_count();
	base = __ttak_mem_alloc(bytes, lifetime, now, false, false, true, false,
				env->config.alloc_flags);
	if (IS_ERR(base))
		goto fail;
	node = __ttak_epoch_gc_register(env->gc, base, bytes);
	if (IS_ERR(node)) {
		ttak_mem_free(base);
		base = node;
		goto fail;
	}
	generation->base = base;
	generation->env_id = env->id;
	generation->serial = node->serial;	/* held: cannot go yet */
	generation->capacity = bytes;
	generation->used = 0;
	generation->epoch_id = epoch_id;
	ttak_a64_inc_return(&env->begun);
	ttak_plat_trace_gen_begin(env, bytes);
	return 0;
fail:
	ttak_a64_inc_return(&env->failed);
	return (int)PTR_ERR(base);
}

bool ttak_arena_generation_begin(ttak_arena_env_t *env,
				 ttak_arena_generation_t *generation,
				 uint32_t epoch_id)
{
	return ttak_report(__ttak_arena_generation_begin(env, generation,
							 epoch_id, 0));
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

/*
 * Why a claim failed, for errno: -EINVAL (not a live generation of
 * @env) or -ENOSPC. Apart from the success path, which stays a few
 * loads and compares (a cycle claims 32 chunks).
 */
static void *ttak_claim_failed(ttak_arena_env_t *env,
			       ttak_arena_generation_t *generation)
{
	ttak_report(ttak_generation_of(env, generation) ? -ENOSPC : -EINVAL);
	return NULL;
}

void *ttak_arena_generation_claim(ttak_arena_env_t *env,
				  ttak_arena_generation_t *generation,
				  size_t bytes)
{
	size_t stride, used;

	if (ttak_unlikely(!ttak_generation_of(env, generation)))
		return ttak_claim_failed(env, generation);
	stride = ttak_stride_of(env->config.alloc_flags,
				bytes ? bytes : env->config.chunk_bytes);
	used = generation->used;
	/* used > capacity: a caller scribbled on the handle; refuse */
	if (ttak_unlikely(!stride || used > generation->capacity ||
			  stride > generation->capacity - used))
		return ttak_claim_failed(env, generation);
	generation->used = used + stride;
	return (char *)generation->base + used;
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
		ttak_report(-EINVAL);
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

int __ttak_arena_generation_retire(ttak_arena_env_t *env,
				   ttak_arena_generation_t *generation)
{
	if (!ttak_generation_of(env, generation))
		return -EINVAL;
	/* by identity, not address: a newer generation may live there now */
	if (!ttak_mem_tree_release_owner(&env->gc->tree, generation->base,
					 generation->serial))
		return -ENOENT;
	ttak_a64_inc_return(&env->retired);
	ttak_plat_trace_gen_retire(env, generation->capacity);
	memset(generation, 0, sizeof(*generation));
	return 0;
}

bool ttak_arena_generation_retire(ttak_arena_env_t *env,
				  ttak_arena_generation_t *generation)
{
	return ttak_report(__ttak_arena_generation_retire(env, generation));
}
EXPORT_SYMBOL_GPL(ttak_arena_generation_retire);

int __ttak_arena_env_rotate(ttak_arena_env_t *env)
{
	if (!env || !env->gc)
		return -EINVAL;
	return __ttak_epoch_gc_rotate(env->gc);
}

void ttak_arena_env_rotate(ttak_arena_env_t *env)
{
	ttak_report(__ttak_arena_env_rotate(env));
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
