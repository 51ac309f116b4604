/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Helpers shared by the ttak user-space benchmarks: clocks, RSS, a tiny
 * PRNG, and the one output format every bench uses for its figures.
 *
 * Every figure is printed on one line that starts with "RESULT", so the
 * driver (run_bench.sh) can put them into a table:
 *
 *   RESULT <id> | <what> | <ours> <unit> | <baseline name> | <baseline> |
 *          <ratio> | <target> | <verdict>
 */
#ifndef TTAK_BENCH_COMMON_H
#define TTAK_BENCH_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Resident set size in bytes, from /proc/self/statm. */
static inline size_t bench_rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Peak resident set size of this process in bytes (getrusage). */
static inline size_t bench_peak_rss_bytes(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (size_t)ru.ru_maxrss * 1024;
}

/* xorshift64*: good enough to pick keys and pointers. */
static inline uint64_t bench_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Keep a value alive without the compiler seeing through it. */
#define bench_keep(x)	__asm__ __volatile__("" : : "r"(x) : "memory")
#define bench_barrier()	__asm__ __volatile__("" : : : "memory")

/*
 * Print one figure. @lower_is_better decides the ratio's direction:
 * the ratio printed is always ours / baseline; the target check is the
 * caller's (@verdict: "met", "MISSED", or "-" for context figures).
 */
static inline void bench_result(const char *id, const char *what,
				double ours, const char *unit,
				const char *base_name, double base,
				const char *target, const char *verdict)
{
	if (base > 0)
		printf("RESULT %s | %s | %.4g %s | %s | %.4g %s | %.3f | %s | %s\n",
		       id, what, ours, unit, base_name, base, unit,
		       ours / base, target, verdict);
	else
		printf("RESULT %s | %s | %.4g %s | %s | - | - | %s | %s\n",
		       id, what, ours, unit, base_name, target, verdict);
	fflush(stdout);
}

static inline const char *bench_verdict(bool met)
{
	return met ? "met" : "MISSED";
}

/* Fail loudly: a bench that did not run must not look like one that did. */
#define bench_check(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "bench check failed: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			exit(2);					\
		}							\
	} while (0)

#endif /* TTAK_BENCH_COMMON_H */
