// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Lesson 40: arena generations through their whole life.
 *
 * Each of three generations is begun (allocated with strict checks and
 * cache alignment, registered with the env's epoch GC), carved into
 * 128-byte chunks that get a deterministic fill pattern, retired (its GC
 * reference dropped, its bytes reported as garbage pressure) and flushed
 * by an epoch rotation. After the rotation the mem tree must no longer
 * know the buffer: that is what "cleanup status: flushed" proves.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ttak/mem/arena_helper.h>
#include <ttak/mem_tree/mem_tree.h>

#define GENERATIONS	3

struct carve_state {
	uint32_t generation;
	size_t bad_alignment;
};

/* Fill one chunk with a pattern derived from generation and index. */
static bool carve_chunk(void *chunk, size_t chunk_bytes, size_t index,
			void *ctx)
{
	struct carve_state *state = ctx;
	unsigned int pattern;

	pattern = (unsigned int)((state->generation + 1) * 13 + index) & 0xff;
	memset(chunk, (int)pattern, chunk_bytes);
	if ((uintptr_t)chunk % TTAK_CACHE_LINE_SIZE)
		state->bad_alignment++;
	if (index % 8 == 0)
		printf("  chunk[%zu] => %p pattern=0x%02x\n", index, chunk,
		       pattern);
	return true;
}

int main(void)
{
	ttak_arena_env_config_t config;
	ttak_arena_env_t env;
	int failures = 0;
	uint32_t gen;

	ttak_arena_env_config_init(&config);
	config.generation_bytes = 4096;
	config.chunk_bytes = 128;
	if (!ttak_arena_env_init(&env, &config)) {
		perror("[arena] env init");
		return 1;
	}

	for (gen = 0; gen < GENERATIONS; gen++) {
		ttak_arena_generation_t generation;
		struct carve_state state = { .generation = gen };
		size_t chunks, pressure;
		void *base;
		bool flushed;

		if (!ttak_arena_generation_begin(&env, &generation, gen)) {
			perror("[arena] generation begin");
			failures++;
			break;
		}
		printf("[arena] generation %u started (capacity=%zu, chunk=%zu)\n",
		       gen, generation.capacity, env.config.chunk_bytes);

		chunks = ttak_arena_generation_for_each(&env, &generation, 0,
							carve_chunk, &state);
		printf("  used=%zu / %zu bytes (%zu chunks)\n", generation.used,
		       generation.capacity, chunks);
		if (state.bad_alignment)
			failures++;

		base = generation.base;
		if (!ttak_arena_generation_retire(&env, &generation))
			failures++;
		pressure = atomic_load(&env.gc->tree.garbage_pressure);
		printf("  retired: garbage pressure %zu bytes\n", pressure);

		ttak_arena_env_rotate(&env);
		flushed = !ttak_mem_tree_find_node(&env.gc->tree, base);
		pressure = atomic_load(&env.gc->tree.garbage_pressure);
		printf("  cleanup status: %s (garbage pressure %zu bytes)\n",
		       flushed ? "flushed" : "pending (still tracked)",
		       pressure);
		if (!flushed || pressure)
			failures++;
	}

	ttak_arena_env_destroy(&env);
	return failures ? 1 : 0;
}
