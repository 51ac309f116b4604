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

#endif /* TTAK_DEBUGFS_H */
