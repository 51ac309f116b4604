// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The out-of-line half of bench_common.h: medians and spreads of rounds,
 * the RESULT line for them, and the measured note on how far two threads
 * run in parallel on this machine.
 */
#include <pthread.h>
#include <sched.h>

#include "bench_common.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct bench_spread bench_spread_of(const double *v, int n)
{
	struct bench_spread s = { 0, 0, 0, n };
	double *c;

	bench_check(n >= 1, "no rounds");
	c = malloc((size_t)n * sizeof(*c));
	bench_check(c, "malloc");
	memcpy(c, v, (size_t)n * sizeof(*c));
	s.med = bench_median(c, n);
	s.min = c[0];
	s.max = c[n - 1];
	free(c);
	return s;
}

struct bench_spread bench_ratio_spread(const double *ours, const double *base,
				       double *ratio, int n)
{
	int r;

	for (r = 0; r < n; r++) {
		bench_check(base[r] > 0, "round %d: baseline measured %g", r,
			    base[r]);
		ratio[r] = ours[r] / base[r];
	}
	return bench_spread_of(ratio, n);
}

char *bench_spread_str(char *buf, size_t size, struct bench_spread s,
		       const char *unit)
{
	snprintf(buf, size, "%.4g%s%s [%.4g..%.4g]", s.med, *unit ? " " : "",
		 unit, s.min, s.max);
	return buf;
}

void bench_result_spread(const char *id, const char *what,
			 struct bench_spread ours, const char *unit,
			 const char *base_name, struct bench_spread base,
			 struct bench_spread ratio, const char *target,
			 const char *verdict)
{
	char o[96], b[96], r[96];

	printf("RESULT %s | %s | %s | %s | %s | %s | %s | %s\n", id, what,
	       bench_spread_str(o, sizeof(o), ours, unit), base_name,
	       bench_spread_str(b, sizeof(b), base, unit),
	       bench_spread_str(r, sizeof(r), ratio, ""), target, verdict);
	fflush(stdout);
}

struct spinner {
	pthread_t thread;
	uint64_t iters;
	uint64_t result;
};

static _Atomic int spin_go;
static _Atomic int spin_ready;

/* Touches no memory: only the core's own execution units count. */
static uint64_t spin(uint64_t iters)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, i;

	for (i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		__asm__ __volatile__("" : "+r"(x));
	}
	return x;
}

static void *spin_thread(void *arg)
{
	struct spinner *s = arg;

	atomic_fetch_add(&spin_ready, 1);
	while (!atomic_load_explicit(&spin_go, memory_order_acquire))
		;
	s->result = spin(s->iters);
	return NULL;
}

/* Wall time of @threads threads (1 or 2) each spinning @iters, at once. */
static uint64_t spin_wall_ns(int threads, uint64_t iters)
{
	struct spinner s[2];
	uint64_t t0;
	int i;

	atomic_store(&spin_go, 0);
	atomic_store(&spin_ready, 0);
	for (i = 0; i < threads; i++) {
		s[i].iters = iters;
		bench_check(!pthread_create(&s[i].thread, NULL, spin_thread,
					    &s[i]), "spinner thread");
	}
	/* yield: the spinners, not this thread, should have the CPUs */
	while (atomic_load(&spin_ready) < threads)
		sched_yield();
	t0 = bench_now_ns();
	atomic_store_explicit(&spin_go, 1, memory_order_release);
	for (i = 0; i < threads; i++) {
		pthread_join(s[i].thread, NULL);
		bench_keep(s[i].result);
	}
	return bench_now_ns() - t0;
}

double bench_parallel_speedup(int rounds, unsigned int ms)
{
	double v[16];
	uint64_t t0, t, iters = 1 << 20;
	int r;

	if (rounds < 1)
		rounds = 1;
	if (rounds > 16)
		rounds = 16;
	t0 = bench_now_ns();
	bench_keep(spin(iters));
	t = bench_now_ns() - t0;
	iters = (uint64_t)((double)iters * ms * 1e6 / (double)(t ? t : 1));
	for (r = 0; r < rounds; r++) {
		double one = (double)spin_wall_ns(1, iters);

		v[r] = 2 * one / (double)spin_wall_ns(2, iters);
	}
	return bench_median(v, rounds);
}

double bench_machine_note(void)
{
	double s = bench_parallel_speedup(7, 40);

	printf("# note: %ld CPUs online; 2 threads of a register-only loop did %.2fx the work of 1 just now (2.00 on two free cores), so 2-thread figures show %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), s,
	       s < BENCH_SHARED_CORE ? "contention, not parallel speed-up" :
	       "parallel speed-up as well as contention");
	fflush(stdout);
	return s;
}
