/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ttak.ko's debugfs interface (ttak_debugfs.c), as the module's init and
 * exit see it.
 */
#ifndef TTAK_DEBUGFS_H
#define TTAK_DEBUGFS_H

/**
 * ttak_debugfs_init() - Create /sys/kernel/debug/ttak/ and its files.
 *
 * A failure is logged and not fatal: the API works without debugfs.
 * Call it once the default env is up (ttak_default_env_init()).
 *
 * Context: module init; may sleep.
 */
void ttak_debugfs_init(void);

/**
 * ttak_debugfs_exit() - Remove the files, waiting for every reader and
 * writer to leave.
 *
 * Afterwards nothing calls into the default env from debugfs.
 *
 * Context: module exit; may sleep.
 */
void ttak_debugfs_exit(void);

struct dentry;
struct ttak_env_entry;

/**
 * ttak_debugfs_env_add() - Create envs/<name>/ for a published env.
 * @e: the env; its files read @e until ttak_debugfs_env_remove().
 *
 * Context: process context; may sleep.
 * Return: the directory, or an error pointer (logged, not fatal).
 */
struct dentry *ttak_debugfs_env_add(struct ttak_env_entry *e);

/**
 * ttak_debugfs_env_remove() - Remove @e's directory, waiting for every
 * reader of its files to leave.
 * @e: the env.
 *
 * Context: process context; may sleep.
 */
void ttak_debugfs_env_remove(struct ttak_env_entry *e);

#endif /* TTAK_DEBUGFS_H */
