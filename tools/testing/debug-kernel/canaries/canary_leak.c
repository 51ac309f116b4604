// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: a leak. Allocates a buffer at load and forgets the pointer, so
 * once the module is gone nothing refers to it. kmemleak must report an
 * unreferenced object after the forced scans. Built and loaded only by
 * prove-checkers.sh; never shipped.
 */
#include <linux/module.h>
#include <linux/slab.h>

static int __init canary_leak_init(void)
{
	void *p = kmalloc(200, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	/* hide the value from the compiler so the call is not elided */
	OPTIMIZER_HIDE_VAR(p);
	pr_info("canary_leak: leaked 200 bytes\n");
	return 0;
}

static void __exit canary_leak_exit(void)
{
}

module_init(canary_leak_init);
module_exit(canary_leak_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: memory leak (kmemleak)");
