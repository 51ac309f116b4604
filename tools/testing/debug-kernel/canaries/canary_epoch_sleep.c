// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: a sleeping allocation inside a ttak epoch read section, which
 * the API forbids (ttak_epoch_enter() disables preemption). With
 * DEBUG_ATOMIC_SLEEP, kmalloc(GFP_KERNEL)'s might_sleep() must report
 * "sleeping function called from invalid context" even though this
 * allocation does not actually sleep. Uses ttak.ko's exported API, so it
 * also proves the check reaches callers of ttak. Built and loaded only by
 * prove-checkers.sh; never shipped.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include <ttak/mem/epoch.h>

static int __init canary_epoch_sleep_init(void)
{
	void *p;

	ttak_epoch_enter();
	p = kmalloc(64, GFP_KERNEL);
	ttak_epoch_exit();
	kfree(p);
	pr_info("canary_epoch_sleep: allocated with GFP_KERNEL inside an epoch section\n");
	return 0;
}

static void __exit canary_epoch_sleep_exit(void)
{
}

module_init(canary_epoch_sleep_init);
module_exit(canary_epoch_sleep_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: sleeping allocation in an epoch section (might_sleep)");
