// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: an allocation whose failure is not handled. Loaded under
 * fail-nth=1 with failslab aimed at module text, kzalloc() returns NULL
 * and the store through it oopses (KASAN's inline check reports the
 * null-ptr-deref first). It proves that injected failures reach module
 * code; without injection it loads and unloads quietly. Built and loaded
 * only by prove-checkers.sh; never shipped.
 */
#include <linux/module.h>
#include <linux/slab.h>

struct canary_failslab_obj {
	unsigned long pad[7];
	unsigned long value;
};

static struct canary_failslab_obj *canary_obj;

static int __init canary_failslab_init(void)
{
	canary_obj = kzalloc(sizeof(*canary_obj), GFP_KERNEL);
	/* deliberately unchecked */
	WRITE_ONCE(canary_obj->value, 1);
	pr_info("canary_failslab: allocation succeeded\n");
	return 0;
}

static void __exit canary_failslab_exit(void)
{
	kfree(canary_obj);
}

module_init(canary_failslab_init);
module_exit(canary_failslab_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: unchecked allocation under failslab");
