// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: an out-of-bounds read one byte past a 16-byte slab object.
 * KASAN must report slab-out-of-bounds. Built and loaded only by
 * prove-checkers.sh; never shipped.
 */
#include <linux/module.h>
#include <linux/slab.h>

static int __init canary_kasan_oob_init(void)
{
	size_t size = 16;
	char *p;
	char c;

	p = kzalloc(size, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	/* keep the compiler from proving the access out of bounds */
	OPTIMIZER_HIDE_VAR(size);
	c = READ_ONCE(p[size]);
	pr_info("canary_kasan_oob: read %d past the end\n", c);
	kfree(p);
	return 0;
}

static void __exit canary_kasan_oob_exit(void)
{
}

module_init(canary_kasan_oob_init);
module_exit(canary_kasan_oob_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: out-of-bounds read (KASAN)");
