/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Monotonic tick clock shared by every ttak lifetime.
 *
 * Both clocks count from an arbitrary origin (boot in the kernel,
 * CLOCK_MONOTONIC's origin in user space), never go backwards and are
 * 64 bits wide, so they do not wrap within the life of a machine.
 */
#ifndef TTAK_TIMING_H
#define TTAK_TIMING_H

#include <ttak/types.h>

#define TT_NANO_SECOND(n)	((uint64_t)(n))
#define TT_MICRO_SECOND(n)	((uint64_t)(n) * 1000ULL)
#define TT_MILLI_SECOND(n)	((uint64_t)(n) * 1000000ULL)
#define TT_SECOND(n)		((uint64_t)(n) * 1000000000ULL)
#define TT_MINUTE(n)		((uint64_t)(n) * 60000000000ULL)
#define TT_HOUR(n)		((uint64_t)(n) * 3600000000000ULL)

/**
 * ttak_get_tick_count() - Monotonic time in milliseconds.
 *
 * Context: Any context.
 * Return: milliseconds since an arbitrary, fixed origin.
 */
uint64_t ttak_get_tick_count(void);

/**
 * ttak_get_tick_count_ns() - Monotonic time in nanoseconds.
 *
 * Context: Any context.
 * Return: nanoseconds since the same origin as ttak_get_tick_count().
 */
uint64_t ttak_get_tick_count_ns(void);

#endif /* TTAK_TIMING_H */
