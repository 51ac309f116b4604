// SPDX-License-Identifier: GPL-2.0
/*
 * Canary: adding a list entry that is already on the list. DEBUG_LIST
 * must report "list_add double add" (with a WARNING) and refuse the add.
 * Built and loaded only by prove-checkers.sh; never shipped.
 */
#include <linux/list.h>
#include <linux/module.h>

static LIST_HEAD(canary_head);
static struct list_head canary_entry;

static int __init canary_list_init(void)
{
	list_add(&canary_entry, &canary_head);
	list_add(&canary_entry, &canary_head);
	list_del_init(&canary_entry);
	return 0;
}

static void __exit canary_list_exit(void)
{
}

module_init(canary_list_init);
module_exit(canary_list_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak checker canary: list double add (DEBUG_LIST)");
