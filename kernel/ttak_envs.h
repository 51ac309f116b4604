/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ttak.ko's registry of published envs (ttak_envs.c): the envs other
 * modules publish with ttak_env_publish() (include/ttak/kernel.h), their
 * background rotation and their part in the shrinker.
 */
#ifndef TTAK_ENVS_H
#define TTAK_ENVS_H

#include <linux/list.h>
#include <linux/types.h>

#include <ttak/kernel.h>

struct dentry;

/**
 * struct ttak_env_entry - a published env.
 * @link: entry in the registry, in the order of publishing.
 * @env: the client's env; never touched once unpublished.
 * @name: the published name.
 * @dir: its debugfs directory envs/<name>/ (an error pointer when
 *	debugfs has none).
 * @last_rotate_ns: ttak_get_tick_count_ns() at ttak.ko's last rotation
 *	of @env, or at its publishing.
 */
struct ttak_env_entry {
	struct list_head link;
	ttak_arena_env_t *env;
	char name[TTAK_ENV_NAME_MAX + 1];
	struct dentry *dir;
	u64 last_rotate_ns;
};

/* Called by ttak_envs_walk() for each published env. */
typedef void (*ttak_envs_fn)(const struct ttak_env_entry *e, void *ctx);

/**
 * ttak_envs_init() - Start the background rotation of published envs.
 *
 * Context: module init, after the default env and debugfs; may sleep.
 */
void ttak_envs_init(void);

/**
 * ttak_envs_exit() - Stop it; forget envs a module left published.
 *
 * Context: module exit, before debugfs goes; may sleep.
 */
void ttak_envs_exit(void);

/**
 * ttak_envs_walk() - Call @fn for each published env, oldest first.
 * @fn: called under the registry's lock: no rotation runs meanwhile;
 *	it must not call back into this file.
 * @ctx: passed to @fn.
 *
 * Context: process context; may sleep.
 */
void ttak_envs_walk(ttak_envs_fn fn, void *ctx);

/**
 * ttak_envs_garbage() - Garbage bytes of every published env.
 *
 * Context: any context but NMI; takes a spinlock, never sleeps.
 * Return: the sum of their pressures.
 */
size_t ttak_envs_garbage(void);

/**
 * ttak_envs_shrink() - Rotate every published env, for the shrinker.
 *
 * Skipped when a rotation pass, a publish or an unpublish holds the
 * registry (never waits for it nor for a reader).
 *
 * Context: process context where the caller may sleep.
 * Return: the garbage bytes freed.
 */
size_t ttak_envs_shrink(void);

/**
 * ttak_trace_blockers() - Emit ttak_reclaim_blocked for each reader that
 * holds an old epoch (ttak_trace.c), when the event is on.
 *
 * Context: preemptible process context; does not sleep.
 */
void ttak_trace_blockers(void);

#endif /* TTAK_ENVS_H */
