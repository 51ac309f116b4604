/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ttak.ko's shrinker (ttak_shrinker.c): the kernel's memory pressure
 * flushes the garbage of the default env and of every published env.
 */
#ifndef TTAK_SHRINKER_H
#define TTAK_SHRINKER_H

/**
 * ttak_shrinker_init() - Register the shrinker.
 *
 * Context: module init, once the envs are up; may sleep.
 * Return: 0, or -ENOMEM.
 */
int ttak_shrinker_init(void);

/**
 * ttak_shrinker_exit() - Unregister it, waiting for a scan in progress.
 *
 * Context: module exit, before the envs go; may sleep.
 */
void ttak_shrinker_exit(void);

#endif /* TTAK_SHRINKER_H */
