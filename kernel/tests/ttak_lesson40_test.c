// SPDX-License-Identifier: GPL-2.0
/*
 * Lesson 40 inside the kernel: the user-space tutorial's scenario run
 * against ttak.ko's exported API.
 *
 * Three generations each go through begin -> carve 32 x 128 bytes ->
 * retire -> rotate, and the kernel log gets the same lines as the
 * tutorial prints. A generation passes when every chunk is cache-line
 * aligned, the retire reports exactly its capacity as garbage pressure,
 * and after the rotation the mem tree no longer finds the buffer and the
 * pressure is back to 0.
 *
 * Verdict: the module's init returns 0 only when every check passed, so
 * `insmod ttak_lesson40_test.ko` fails (-EINVAL) on any failure; the log
 * ends with "lesson40: PASS" or "lesson40: FAIL (N checks failed)". The
 * module does nothing after init and can be removed at once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>

#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem_tree/mem_tree.h>

#define LESSON40_GENERATIONS	3
#define LESSON40_GEN_BYTES	4096
#define LESSON40_CHUNK_BYTES	128

struct lesson40_carve {
	u32 generation;
	size_t bad_alignment;
};

/* Fill one chunk with a pattern derived from generation and index. */
static bool lesson40_carve_chunk(void *chunk, size_t chunk_bytes,
				 size_t index, void *ctx)
{
	struct lesson40_carve *state = ctx;
	unsigned int pattern;

	pattern = ((state->generation + 1) * 13 + index) & 0xff;
	memset(chunk, (int)pattern, chunk_bytes);
	if (!IS_ALIGNED((unsigned long)chunk, TTAK_CACHE_LINE_SIZE))
		state->bad_alignment++;
	if (index % 8 == 0)
		pr_info("  chunk[%zu] => %p pattern=0x%02x\n", index, chunk,
			pattern);
	return true;
}

/* One generation through its life; returns the number of failed checks. */
static int lesson40_generation(ttak_arena_env_t *env, u32 gen)
{
	ttak_mem_tree_t *tree = &env->gc->tree;
	struct lesson40_carve state = { .generation = gen };
	ttak_arena_generation_t generation;
	size_t chunks, pressure, before;
	int failures = 0;
	bool flushed;
	void *base;

	if (!ttak_arena_generation_begin(env, &generation, gen)) {
		pr_err("[arena] generation %u: begin failed\n", gen);
		return 1;
	}
	pr_info("[arena] generation %u started (capacity=%zu, chunk=%zu)\n",
		gen, generation.capacity, env->config.chunk_bytes);

	chunks = ttak_arena_generation_for_each(env, &generation, 0,
						lesson40_carve_chunk, &state);
	pr_info("  used=%zu / %zu bytes (%zu chunks)\n", generation.used,
		generation.capacity, chunks);
	if (state.bad_alignment || generation.used != LESSON40_GEN_BYTES ||
	    chunks != LESSON40_GEN_BYTES / LESSON40_CHUNK_BYTES)
		failures++;

	base = generation.base;
	before = atomic_long_read(&tree->garbage_pressure);
	if (!ttak_arena_generation_retire(env, &generation))
		failures++;
	pressure = atomic_long_read(&tree->garbage_pressure);
	pr_info("  retired: garbage pressure %zu bytes\n", pressure);
	if (pressure - before != LESSON40_GEN_BYTES)
		failures++;

	ttak_arena_env_rotate(env);
	flushed = !ttak_mem_tree_find_node(tree, base);
	pressure = atomic_long_read(&tree->garbage_pressure);
	if (flushed && pressure) {
		/*
		 * Out of the tree, but a reader on another CPU is inside a
		 * section: the memory goes after its grace period.
		 */
		pr_info("  waiting for a grace period (%zu bytes pending)\n",
			pressure);
		ttak_epoch_synchronize();
		pressure = atomic_long_read(&tree->garbage_pressure);
	}
	pr_info("  cleanup status: %s (garbage pressure %zu bytes)\n",
		flushed ? "flushed" : "pending (still tracked)", pressure);
	if (!flushed || pressure)
		failures++;
	return failures;
}

static ttak_arena_env_t lesson40_env;

static int __init lesson40_init(void)
{
	ttak_arena_env_config_t config;
	int failures = 0;
	u32 gen;

	ttak_arena_env_config_init(&config);
	config.generation_bytes = LESSON40_GEN_BYTES;
	config.chunk_bytes = LESSON40_CHUNK_BYTES;
	if (!ttak_arena_env_init(&lesson40_env, &config)) {
		pr_err("[arena] env init failed\n");
		pr_err("lesson40: FAIL (env init)\n");
		return -EINVAL;
	}
	for (gen = 0; gen < LESSON40_GENERATIONS; gen++)
		failures += lesson40_generation(&lesson40_env, gen);
	ttak_arena_env_destroy(&lesson40_env);

	if (failures) {
		pr_err("lesson40: FAIL (%d checks failed)\n", failures);
		return -EINVAL;
	}
	pr_info("lesson40: PASS\n");
	return 0;
}

static void __exit lesson40_exit(void)
{
}

module_init(lesson40_init);
module_exit(lesson40_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak lesson 40 (arena generations) as an in-kernel test");
