// SPDX-License-Identifier: GPL-2.0
/*
 * Control for the canaries: allocates, uses ttak's epoch API correctly
 * and frees everything. Its run must PASS; if it failed, a "caught"
 * canary would prove nothing. Built and loaded only by prove-checkers.sh;
 * never shipped.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include <ttak/mem/epoch.h>

static DEFINE_MUTEX(canary_a);
static DEFINE_MUTEX(canary_b);
static char *canary_buf;

static int __init canary_clean_init(void)
{
	canary_buf = kzalloc(200, GFP_KERNEL);
	if (!canary_buf)
		return -ENOMEM;
	ttak_epoch_enter();
	canary_buf[199] = 1;
	ttak_epoch_exit();
	mutex_lock(&canary_a);
	mutex_lock(&canary_b);
	mutex_unlock(&canary_b);
	mutex_unlock(&canary_a);
	return 0;
}

static void __exit canary_clean_exit(void)
{
	kfree(canary_buf);
}

module_init(canary_clean_init);
module_exit(canary_clean_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary control: no bug");
