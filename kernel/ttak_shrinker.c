// SPDX-License-Identifier: GPL-2.0
/*
 * ttak.ko's shrinker: when the kernel reclaims memory, the garbage of
 * the default env and of every published env is rotated out and freed,
 * and the epoch core's spare retire batches are trimmed.
 *
 * count: garbage pressure of every env (retired generations, and those a
 * rotation took out that wait for readers), in pages, plus one page per
 * spare retire batch.
 * scan: trims the spares (never sleeps); then, only where the gfp mask
 * lets reclaim sleep, rotates each env whose lock is free. A rotation
 * never waits for a reader: what a reader may hold stays pending and
 * counted, so a scan that frees nothing says SHRINK_STOP. A rotation
 * frees all of an env's garbage at once, so nr_to_scan is a floor, not a
 * limit. ttak_epoch_synchronize() (which waits) is never called here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/shrinker.h>
#include <linux/version.h>

#include "core/ttak_core.h"
#include "ttak_default_env.h"
#include "ttak_envs.h"
#include "ttak_shrinker.h"

static unsigned long ttak_shrink_count(struct shrinker *s,
				       struct shrink_control *sc)
{
	size_t bytes = ttak_default_env_pressure() + ttak_envs_garbage();
	unsigned long pages = DIV_ROUND_UP(bytes, PAGE_SIZE) +
			      ttak_epoch_spare_count();

	return pages ? pages : SHRINK_EMPTY;
}

static unsigned long ttak_shrink_scan(struct shrinker *s,
				      struct shrink_control *sc)
{
	unsigned long freed = ttak_epoch_spare_trim();
	size_t bytes;

	/* a rotation may sleep, and reclaims in process context only */
	if (gfpflags_allow_blocking(sc->gfp_mask)) {
		bytes = ttak_default_env_shrink() + ttak_envs_shrink();
		freed += DIV_ROUND_UP(bytes, PAGE_SIZE);
	}
	return freed ? freed : SHRINK_STOP;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)

static struct shrinker *ttak_shrinker;

int ttak_shrinker_init(void)
{
	ttak_shrinker = shrinker_alloc(0, "ttak");
	if (!ttak_shrinker)
		return -ENOMEM;
	ttak_shrinker->count_objects = ttak_shrink_count;
	ttak_shrinker->scan_objects = ttak_shrink_scan;
	shrinker_register(ttak_shrinker);
	return 0;
}

void ttak_shrinker_exit(void)
{
	shrinker_free(ttak_shrinker);
}

#else

static struct shrinker ttak_shrinker = {
	.count_objects = ttak_shrink_count,
	.scan_objects = ttak_shrink_scan,
	.seeks = DEFAULT_SEEKS,
};

int ttak_shrinker_init(void)
{
	return register_shrinker(&ttak_shrinker, "ttak");
}

void ttak_shrinker_exit(void)
{
	unregister_shrinker(&ttak_shrinker);
}

#endif
