// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: sleeping inside a ttak epoch read section, which the API
 * forbids (ttak_epoch_enter() disables preemption). With
 * DEBUG_ATOMIC_SLEEP, msleep() must report "sleeping function called
 * from invalid context". Uses ttak.ko's exported API, so it also proves
 * the check reaches callers of ttak. Built and loaded only by
 * prove-checkers.sh; never shipped.
 */
#include <linux/delay.h>
#include <linux/module.h>

#include <ttak/mem/epoch.h>

static int __init canary_epoch_sleep_init(void)
{
	ttak_epoch_enter();
	msleep(1);
	ttak_epoch_exit();
	pr_info("canary_epoch_sleep: slept inside an epoch section\n");
	return 0;
}

static void __exit canary_epoch_sleep_exit(void)
{
}

module_init(canary_epoch_sleep_init);
module_exit(canary_epoch_sleep_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: sleep in an epoch section (might_sleep)");
