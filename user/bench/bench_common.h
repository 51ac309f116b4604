/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Helpers shared by the ttak user-space benchmarks: clocks, RSS, a tiny
 * PRNG and hash, single-writer counters, medians and spreads of rounds,
 * the machine note, and the one output format every bench uses for its
 * figures. The inline ones are here; the rest are in bench_common.c,
 * linked into every bench.
 *
 * Every figure is printed on one line that starts with "RESULT", so the
 * driver (run_bench.sh) can put them into a table:
 *
 *   RESULT <id> | <what> | <ours> <unit> | <baseline name> | <baseline> |
 *          <ratio> | <target> | <verdict>
 *
 * A figure measured in rounds gives ours, the baseline and the ratio as
 * "median [min..max]" (bench_result_spread()).
 */
#ifndef TTAK_BENCH_COMMON_H
#define TTAK_BENCH_COMMON_H

#include <stdatomic.h>
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

/* A 64-bit finaliser (MurmurHash3's): spreads keys over a hash table. */
static inline uint64_t bench_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * Counters with a single writer (their thread) and any number of readers:
 * a relaxed load and store, no locked instruction on the hot path.
 */
static inline void bench_cnt_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline void bench_cnt_add_signed(_Atomic int64_t *c, int64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* @part as a percentage of @whole, 0 when there is no whole. */
static inline double bench_pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* Is @arg option @name ("--name=")? Then *@val is what follows the '='. */
static inline bool bench_arg(const char *arg, const char *name,
			     const char **val)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n))
		return false;
	*val = arg + n;
	return true;
}

/* Keep a value alive without the compiler seeing through it. */
#define bench_keep(x)	__asm__ __volatile__("" : : "r"(x) : "memory")
#define bench_barrier()	__asm__ __volatile__("" : : : "memory")

/*
 * Print one figure. The ratio printed is always ours / baseline; the
 * target check is the caller's (@verdict: "met", "MISSED", or "-" for
 * context figures).
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

/* Median of @v[0..n-1] (sorts @v); rounds of a noisy machine. */
double bench_median(double *v, int n);

/* Median, smallest and largest of some rounds' samples, and how many. */
struct bench_spread {
	double med, min, max;
	int n;
};

/* The spread of @v[0..n-1]; @v is left as it is (n >= 1). */
struct bench_spread bench_spread_of(const double *v, int n);

/*
 * Per round pair: @ours[r] / @base[r] for r < n, into @ratio, then their
 * spread. Both sides of a pair ran next to each other, so the ratio
 * cancels the machine's slower drifts that the two medians would not.
 */
struct bench_spread bench_ratio_spread(const double *ours, const double *base,
				       double *ratio, int n);

/*
 * "1.23 ns [1.2..1.4]": median, unit, [min..max] (4 significant digits),
 * into @buf; returns @buf. An empty @unit prints none.
 */
char *bench_spread_str(char *buf, size_t size, struct bench_spread s,
		       const char *unit);

/*
 * bench_result() for figures measured in rounds: ours, baseline and the
 * ratio each as median [min..max]; @ratio is the spread of the per-round
 * ratios (bench_ratio_spread()), which the verdict should also come from,
 * so the ratio column is its median, not ours / baseline of the medians.
 */
void bench_result_spread(const char *id, const char *what,
			 struct bench_spread ours, const char *unit,
			 const char *base_name, struct bench_spread base,
			 struct bench_spread ratio, const char *target,
			 const char *verdict);

/*
 * Work two threads get done together on a register-only loop, against
 * one thread alone: about 2 on two free cores, about 1 when the two CPUs
 * share one core or a neighbour keeps the other busy. Measured in
 * @rounds interleaved rounds of about @ms each, the median reported.
 */
double bench_parallel_speedup(int rounds, unsigned int ms);

/* Below this, 2 threads get about one core's worth of work done. */
#define BENCH_SHARED_CORE	1.5

/*
 * Print the "# note:" line that tells how to read 2-thread figures,
 * from bench_parallel_speedup() measured right now; returns that figure.
 */
double bench_machine_note(void);

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
