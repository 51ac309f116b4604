// SPDX-License-Identifier: GPL-2.0
/*
 * ttak.ko: the ttak core (kernel/core/, shared with libttak) in kernel
 * memory, its API exported to other modules, and a default arena env
 * (ttak_default_env.c, which owns it and the module parameters) that
 * debugfs drives (ttak_debugfs.c); the envs other modules publish
 * (ttak_envs.c) and a shrinker (ttak_shrinker.c) over all of them.
 *
 * This file only starts and stops the pieces, in order: the core, the
 * default env, debugfs, the published envs' rotation, the shrinker; and
 * back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

#include "core/ttak_core.h"
#include "ttak_debugfs.h"
#include "ttak_default_env.h"
#include "ttak_envs.h"
#include "ttak_shrinker.h"

static int __init ttak_init(void)
{
	unsigned int live, retired;
	int ret;

	ret = ttak_core_init();
	if (ret)
		return ret;
	ret = ttak_default_env_init();
	if (ret) {
		ttak_core_exit();
		return ret;
	}
	ttak_debugfs_init();
	ttak_envs_init();
	ret = ttak_shrinker_init();
	if (ret) {
		ttak_envs_exit();
		ttak_debugfs_exit();
		ttak_default_env_exit(&live, &retired);
		ttak_core_exit();
		return ret;
	}
	return 0;
}

static void __exit ttak_exit(void)
{
	unsigned int live, retired;
	size_t blocks, bytes;

	/* waits for a scan in progress */
	ttak_shrinker_exit();
	ttak_envs_exit();
	/* waits for every debugfs reader and writer to leave */
	ttak_debugfs_exit();
	ttak_default_env_exit(&live, &retired);

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
