// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: a WARN_ON() that fires. tinyconfig turns CONFIG_BUG off, which
 * would make it silent; the debug config sets it. The console must show a
 * "WARNING:" line. Built and loaded only by prove-checkers.sh; never
 * shipped.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int canary_warn_cond = 1;
module_param(canary_warn_cond, int, 0444);

static int __init canary_warn_init(void)
{
	WARN_ON(canary_warn_cond);
	return 0;
}

static void __exit canary_warn_exit(void)
{
}

module_init(canary_warn_init);
module_exit(canary_warn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: WARN_ON (CONFIG_BUG)");
