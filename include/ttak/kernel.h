/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ttak.ko as a facility for other modules (kernel only): an arena env a
 * module publishes is shown in debugfs under
 * /sys/kernel/debug/ttak/envs/<name>/, rotated by ttak.ko's background
 * work, and flushed when the kernel runs short of memory (ttak.ko's
 * shrinker).
 *
 *	static ttak_arena_env_t env;
 *
 *	ttak_arena_env_init(&env, NULL);
 *	err = ttak_env_publish(&env, "mydrv");
 *	...
 *	ttak_env_unpublish(&env);
 *	ttak_arena_env_destroy(&env);
 */
#ifndef TTAK_KERNEL_H
#define TTAK_KERNEL_H

/* kernel modules only: in user space (libttak) it declares nothing */
#ifdef __KERNEL__

#include <ttak/mem/arena_helper.h>

/* Longest name ttak_env_publish() accepts, without its NUL. */
#define TTAK_ENV_NAME_MAX	32

/**
 * ttak_env_publish() - Make an arena env visible to ttak.ko.
 * @env: an env set up with ttak_arena_env_init(); it must stay set up
 *	until ttak_env_unpublish() returns.
 * @name: 1 to TTAK_ENV_NAME_MAX characters of [A-Za-z0-9_.-], neither
 *	"." nor ".."; copied.
 *
 * Once published, the env has a debugfs directory envs/@name/ (stats,
 * pressure, flush_status, generations) and a line in the envs summary;
 * ttak.ko's background work rotates it (when its GC is not in manual
 * mode and the module's rotate_interval_ms is not 0), and the shrinker
 * rotates it when the kernel reclaims memory, whatever its mode. Each
 * rotation is the one of ttak_arena_env_rotate(), which the owner may
 * still call at any time. "default" is the module's own env.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL for a NULL or destroyed @env or a bad @name;
 * -EEXIST when @name or @env is published already; -ENOMEM. On an
 * error nothing changed.
 */
int ttak_env_publish(ttak_arena_env_t *env, const char *name);

/**
 * ttak_env_unpublish() - Take an env out of ttak.ko's sight.
 * @env: a published env; one that is not published is ignored.
 *
 * Removes the debugfs directory (waiting for its readers) and waits for
 * a rotation of @env that ttak.ko's background work or shrinker is
 * running. When it returns, ttak.ko touches @env no more: the owner may
 * destroy it. Every published env must be unpublished before its
 * module unloads.
 *
 * Context: process context; may sleep.
 */
void ttak_env_unpublish(ttak_arena_env_t *env);

#endif /* __KERNEL__ */
#endif /* TTAK_KERNEL_H */
