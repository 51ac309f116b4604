// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: a lock-order inversion. Takes A then B, later B then A, in one
 * thread, so nothing deadlocks, but lockdep has seen both orders and must
 * report a possible circular locking dependency. Built and loaded only by
 * prove-checkers.sh; never shipped.
 */
#include <linux/module.h>
#include <linux/mutex.h>

static DEFINE_MUTEX(canary_a);
static DEFINE_MUTEX(canary_b);

static int __init canary_lockdep_init(void)
{
	mutex_lock(&canary_a);
	mutex_lock(&canary_b);
	mutex_unlock(&canary_b);
	mutex_unlock(&canary_a);

	mutex_lock(&canary_b);
	mutex_lock(&canary_a);
	mutex_unlock(&canary_a);
	mutex_unlock(&canary_b);
	pr_info("canary_lockdep: took A->B and B->A\n");
	return 0;
}

static void __exit canary_lockdep_exit(void)
{
}

module_init(canary_lockdep_init);
module_exit(canary_lockdep_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: lock-order inversion (lockdep)");
