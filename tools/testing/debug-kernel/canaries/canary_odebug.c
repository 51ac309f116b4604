// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: freeing memory that holds an armed timer, the mistake a GC
 * makes when it frees an object whose deferred work is still queued.
 * DEBUG_OBJECTS_FREE must report "ODEBUG: free active". Built and loaded
 * only by prove-checkers.sh; never shipped.
 */
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/timer.h>

struct canary_odebug_obj {
	struct timer_list timer;
};

static void canary_odebug_fn(struct timer_list *t)
{
}

static int __init canary_odebug_init(void)
{
	struct canary_odebug_obj *o = kzalloc(sizeof(*o), GFP_KERNEL);

	if (!o)
		return -ENOMEM;
	timer_setup(&o->timer, canary_odebug_fn, 0);
	mod_timer(&o->timer, jiffies + 3600 * HZ);
	/* debugobjects deactivates the timer when it reports the free */
	kfree(o);
	return 0;
}

static void __exit canary_odebug_exit(void)
{
}

module_init(canary_odebug_init);
module_exit(canary_odebug_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: free of an active timer (debugobjects)");
