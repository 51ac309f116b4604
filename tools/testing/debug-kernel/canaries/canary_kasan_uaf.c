// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: a read after kfree(), the bug a reclaimer that frees too early
 * makes. KASAN must report slab-use-after-free. Built and loaded only by
 * prove-checkers.sh; never shipped.
 */
#include <linux/module.h>
#include <linux/slab.h>

static int __init canary_kasan_uaf_init(void)
{
	char *p;
	char c;

	p = kzalloc(64, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	kfree(p);
	OPTIMIZER_HIDE_VAR(p);
	c = READ_ONCE(p[8]);
	pr_info("canary_kasan_uaf: read %d after free\n", c);
	return 0;
}

static void __exit canary_kasan_uaf_exit(void)
{
}

module_init(canary_kasan_uaf_init);
module_exit(canary_kasan_uaf_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: use after free (KASAN)");
