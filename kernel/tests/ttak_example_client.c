// SPDX-License-Identifier: GPL-2.0
/*
 * An example client of ttak.ko: a module that keeps two arena envs and
 * publishes them (include/ttak/kernel.h), so that they show up in
 * /sys/kernel/debug/ttak/envs/<name>/, are rotated by ttak.ko's
 * background work and flushed by its shrinker.
 *
 * At load each env runs a short workload: @gens generations begin, every
 * chunk of each is carved and filled, and all but the newest are
 * retired, so the env holds live and retired generations and garbage
 * pressure of (@gens - 1) generations; env B's generations are twice
 * env A's. Rotation is left to ttak.ko. At unload both are unpublished,
 * then destroyed (which frees what is left).
 *
 * A name ttak_env_publish() refuses fails the insmod with its error
 * (-EINVAL for a bad name, -EEXIST for a taken one) and leaves nothing
 * published. The kselftest suite drives it through ttak.ko's debugfs.
 * Built only with TTAK_TESTS=y; never installed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include <ttak/kernel.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch_gc.h>

#define EXAMPLE_MAX_GENS	64
#define EXAMPLE_MAX_KIB		4096

static char *name_a = "example.a";
module_param(name_a, charp, 0444);
MODULE_PARM_DESC(name_a, "published name of env A (default example.a)");

static char *name_b = "example-b";
module_param(name_b, charp, 0444);
MODULE_PARM_DESC(name_b, "published name of env B (default example-b)");

static unsigned int gens = 4;
module_param(gens, uint, 0444);
MODULE_PARM_DESC(gens, "generations each env begins, 1..64 (default 4)");

static unsigned int gen_kib = 64;
module_param(gen_kib, uint, 0444);
MODULE_PARM_DESC(gen_kib, "KiB per generation of env A (B: twice), 1..4096 (default 64)");

static bool manual = true;
module_param(manual, bool, 0444);
MODULE_PARM_DESC(manual, "envs' GCs in manual mode: ttak.ko's background work leaves them alone (default Y)");

struct example_env {
	ttak_arena_env_t env;
	ttak_arena_generation_t gen[EXAMPLE_MAX_GENS];
	bool up;
	bool published;
};

static struct example_env example[2];

static bool example_fill(void *chunk, size_t bytes, size_t index, void *ctx)
{
	memset(chunk, (int)(index & 0xff), bytes);
	return true;
}

/* Begin, carve and retire all but the newest generation. */
static int example_workload(struct example_env *x)
{
	unsigned int i;

	for (i = 0; i < gens; i++) {
		if (!ttak_arena_generation_begin(&x->env, &x->gen[i], i))
			return -ENOMEM;
		ttak_arena_generation_for_each(&x->env, &x->gen[i], 0,
					       example_fill, NULL);
	}
	for (i = 0; i + 1 < gens; i++)
		if (!ttak_arena_generation_retire(&x->env, &x->gen[i]))
			return -EINVAL;
	return 0;
}

static int example_start(struct example_env *x, const char *name,
			 size_t bytes)
{
	ttak_arena_env_config_t config;
	int ret;

	ttak_arena_env_config_init(&config);
	config.generation_bytes = bytes;
	if (!ttak_arena_env_init(&x->env, &config))
		return -EINVAL;
	x->up = true;
	ttak_epoch_gc_manual_rotate(x->env.gc, manual);
	ret = ttak_env_publish(&x->env, name);
	if (ret) {
		pr_err("publishing env '%s' refused: %d\n", name, ret);
		return ret;
	}
	x->published = true;
	return example_workload(x);
}

static void example_stop(struct example_env *x)
{
	/* ttak.ko lets go of the env before it is torn down */
	if (x->published)
		ttak_env_unpublish(&x->env);
	if (x->up)
		ttak_arena_env_destroy(&x->env);
	x->published = false;
	x->up = false;
}

static int __init example_init(void)
{
	size_t bytes = (size_t)gen_kib << 10;
	int ret;

	if (!gens || gens > EXAMPLE_MAX_GENS || !gen_kib ||
	    gen_kib > EXAMPLE_MAX_KIB) {
		pr_err("gens=%u (1..%u) or gen_kib=%u (1..%u) out of range\n",
		       gens, EXAMPLE_MAX_GENS, gen_kib, EXAMPLE_MAX_KIB);
		return -EINVAL;
	}
	ret = example_start(&example[0], name_a, bytes);
	if (!ret)
		ret = example_start(&example[1], name_b, 2 * bytes);
	if (ret) {
		example_stop(&example[1]);
		example_stop(&example[0]);
		return ret;
	}
	pr_info("published %s and %s: %u generations each, %u retired\n",
		name_a, name_b, gens, gens - 1);
	return 0;
}

static void __exit example_exit(void)
{
	example_stop(&example[1]);
	example_stop(&example[0]);
	pr_info("unpublished %s and %s\n", name_a, name_b);
}

module_init(example_init);
module_exit(example_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak example client: two published arena envs");
