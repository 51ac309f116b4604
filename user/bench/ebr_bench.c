// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * EBR costs, ttak against liburcu (memb flavour, read path inlined with
 * _LGPL_SOURCE as a serious user would build it), in the same run:
 *
 *  - read pair: ttak_epoch_enter()/exit() against rcu_read_lock/unlock,
 *    1 and 2 threads;
 *  - retire throughput of 64-byte malloc'ed objects: ttak_epoch_retire()
 *    with a ttak_epoch_reclaim() every 4096 retires, against call_rcu()
 *    and defer_rcu(), 1 and 2 threads;
 *  - peak RSS (getrusage) of 10 M retires, each measurement in its own
 *    process so one allocator's leftovers never pollute another's figure.
 *
 * Every figure comes from interleaved rounds (11 for the read pair, 7
 * for the retires), ttak and the baselines taking turns, and the one
 * that goes first alternating from round to round, so a noisy neighbour
 * hits both sides alike. Each figure prints median [min..max] for ours
 * and the baseline, and for the ratio taken per round pair; verdicts
 * come from the median ratio. A retire round is a process per
 * implementation, which gives its peak RSS as well, so the peak RSS
 * figures are medians of the same rounds at no extra cost.
 *
 * With no mode the program is the driver: it runs the read rounds itself
 * and every retire measurement as a child process of this same binary.
 *
 *   ebr_bench [--smoke] [--count=N] [--rounds=N] [--read-rounds=N]
 *   ebr_bench retire --impl=ttak|call_rcu|defer_rcu --threads=T --count=N
 */
#define _LGPL_SOURCE
#define RCU_MEMB
#include <urcu.h>

#include <pthread.h>
#include <stdatomic.h>
#include <ttak/mem/epoch.h>

#include "bench_common.h"

#define MAX_THREADS	8
#define MAX_ROUNDS	32
#define OBJ_BYTES	64
#define RECLAIM_EVERY	4096

enum impl { IMPL_TTAK, IMPL_URCU, IMPL_CALL_RCU, IMPL_DEFER_RCU };

struct worker {
	pthread_t thread;
	enum impl impl;
	uint64_t count;		/* in: retires to do; out: read pairs done */
	uint64_t ns;
	char pad[64];
};

static _Atomic int go;
static _Atomic int stop;
static _Atomic int ready;

struct rcu_obj {
	struct rcu_head head;
	char payload[OBJ_BYTES - sizeof(struct rcu_head)];
};

static void wait_go(void)
{
	atomic_fetch_add(&ready, 1);
	while (!atomic_load_explicit(&go, memory_order_acquire))
		;
}

/*
 * Read pairs in batches of 4096 until told to stop; count them. At least
 * one batch: on a loaded machine a reader may first run after the stop.
 */
static uint64_t read_ttak(void)
{
	uint64_t n = 0, i;

	do {
		for (i = 0; i < 4096; i++) {
			ttak_epoch_enter();
			bench_barrier();
			ttak_epoch_exit();
		}
		n += 4096;
	} while (!atomic_load_explicit(&stop, memory_order_relaxed));
	return n;
}

static uint64_t read_urcu(void)
{
	uint64_t n = 0, i;

	do {
		for (i = 0; i < 4096; i++) {
			rcu_read_lock();
			bench_barrier();
			rcu_read_unlock();
		}
		n += 4096;
	} while (!atomic_load_explicit(&stop, memory_order_relaxed));
	return n;
}

static void *read_worker(void *arg)
{
	struct worker *w = arg;
	bool ttak = w->impl == IMPL_TTAK;
	uint64_t t0;

	if (ttak)
		ttak_epoch_register_thread();
	else
		rcu_register_thread();
	wait_go();
	t0 = bench_now_ns();
	w->count = ttak ? read_ttak() : read_urcu();
	w->ns = bench_now_ns() - t0;
	if (ttak)
		ttak_epoch_deregister_thread();
	else
		rcu_unregister_thread();
	return NULL;
}

/* One round: @threads readers for @ms; returns mean ns per pair per thread. */
static double read_round(enum impl impl, int threads, unsigned int ms)
{
	struct worker w[MAX_THREADS];
	double sum = 0;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	int t;

	atomic_store(&go, 0);
	atomic_store(&stop, 0);
	atomic_store(&ready, 0);
	for (t = 0; t < threads; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].impl = impl;
		bench_check(!pthread_create(&w[t].thread, NULL, read_worker,
					    &w[t]), "pthread_create");
	}
	while (atomic_load(&ready) < threads)
		;
	atomic_store_explicit(&go, 1, memory_order_release);
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (t = 0; t < threads; t++) {
		pthread_join(w[t].thread, NULL);
		bench_check(w[t].count > 0, "reader %d did nothing", t);
		sum += (double)w[t].ns / (double)w[t].count;
	}
	return sum / threads;
}

static void free_rcu_obj(struct rcu_head *head)
{
	free(caa_container_of(head, struct rcu_obj, head));
}

static void *retire_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t i, t0;

	switch (w->impl) {
	case IMPL_TTAK:
		ttak_epoch_register_thread();
		break;
	case IMPL_DEFER_RCU:
		rcu_register_thread();
		bench_check(!rcu_defer_register_thread(), "defer register");
		break;
	default:
		rcu_register_thread();
		break;
	}
	wait_go();
	t0 = bench_now_ns();
	for (i = 0; i < w->count; i++) {
		struct rcu_obj *o = malloc(sizeof(*o));

		bench_check(o, "malloc");
		o->payload[0] = (char)i;
		switch (w->impl) {
		case IMPL_TTAK:
			ttak_epoch_retire(o, free);
			if ((i & (RECLAIM_EVERY - 1)) == RECLAIM_EVERY - 1)
				ttak_epoch_reclaim();
			break;
		case IMPL_CALL_RCU:
			call_rcu(&o->head, free_rcu_obj);
			break;
		default:
			defer_rcu(free, o);
			break;
		}
	}
	w->ns = bench_now_ns() - t0;
	switch (w->impl) {
	case IMPL_TTAK:
		ttak_epoch_reclaim();
		ttak_epoch_deregister_thread();
		break;
	case IMPL_DEFER_RCU:
		rcu_defer_unregister_thread();
		rcu_unregister_thread();
		break;
	default:
		rcu_unregister_thread();
		break;
	}
	return NULL;
}

/* Child mode: retire @count objects over @threads threads. */
static int retire_child(enum impl impl, int threads, uint64_t count)
{
	struct worker w[MAX_THREADS];
	uint64_t t0, t1;
	int t;

	atomic_store(&go, 0);
	atomic_store(&ready, 0);
	for (t = 0; t < threads; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].impl = impl;
		w[t].count = count / (uint64_t)threads;
		bench_check(!pthread_create(&w[t].thread, NULL, retire_worker,
					    &w[t]), "pthread_create");
	}
	while (atomic_load(&ready) < threads)
		;
	t0 = bench_now_ns();
	atomic_store_explicit(&go, 1, memory_order_release);
	for (t = 0; t < threads; t++)
		pthread_join(w[t].thread, NULL);
	t1 = bench_now_ns();
	/* throughput over the wall time of the retire loops (not the drain) */
	printf("retire %.6f Mops %zu peak_rss\n",
	       (double)(count / (uint64_t)threads * (uint64_t)threads) /
	       ((double)(t1 - t0) / 1e3), bench_peak_rss_bytes());
	if (impl == IMPL_CALL_RCU)
		rcu_barrier();
	return 0;
}

static const char * const impl_name[] = { "ttak", "urcu", "call_rcu", "defer_rcu" };

/* Driver side: run one retire measurement as a fresh process. */
static void run_child(const char *self, enum impl impl, int threads,
		      uint64_t count, double *mops, double *peak_mib)
{
	char cmd[4200];
	size_t peak = 0;
	FILE *p;
	int got;

	snprintf(cmd, sizeof(cmd), "'%s' retire --impl=%s --threads=%d --count=%llu",
		 self, impl_name[impl], threads, (unsigned long long)count);
	p = popen(cmd, "r");
	bench_check(p, "popen %s", cmd);
	got = fscanf(p, "retire %lf Mops %zu peak_rss", mops, &peak);
	bench_check(!pclose(p) && got == 2, "child failed: %s", cmd);
	bench_check(*mops > 0 && peak > 0, "insane child figures: %s", cmd);
	*peak_mib = (double)peak / (1 << 20);
}

static enum impl parse_impl(const char *s)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(s, impl_name[i]))
			return (enum impl)i;
	fprintf(stderr, "unknown impl %s\n", s);
	exit(2);
}

struct opts {
	bool child, smoke;
	enum impl impl;
	int threads;
	int rounds;		/* retire rounds */
	int read_rounds;
	uint64_t count;
};

static int clamp_rounds(const char *v)
{
	int n = atoi(v);

	return n < 1 ? 1 : n > MAX_ROUNDS ? MAX_ROUNDS : n;
}

static void parse(int argc, char **argv, struct opts *o)
{
	const char *v;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "retire"))
			o->child = true;
		else if (bench_arg(argv[a], "--impl=", &v))
			o->impl = parse_impl(v);
		else if (bench_arg(argv[a], "--threads=", &v))
			o->threads = atoi(v);
		else if (bench_arg(argv[a], "--count=", &v))
			o->count = strtoull(v, NULL, 0);
		else if (bench_arg(argv[a], "--rounds=", &v))
			o->rounds = clamp_rounds(v);
		else if (bench_arg(argv[a], "--read-rounds=", &v))
			o->read_rounds = clamp_rounds(v);
		else if (!strcmp(argv[a], "--smoke"))
			o->smoke = true;
		else {
			fprintf(stderr, "usage: %s [--smoke] [--count=N] [--rounds=N] [--read-rounds=N] | retire --impl=ttak|call_rcu|defer_rcu --threads=T --count=N\n",
				argv[0]);
			exit(2);
		}
	}
	if (o->threads < 1 || o->threads > MAX_THREADS)
		o->threads = 1;
}

/* Said of 2-thread figures, when measured true: see bench_machine_note(). */
static const char *two_threads_note = "";

/* One line of every round's figures, in round order, for the log. */
static void print_rounds(const char *id, const char *unit,
			 const char *name0, const double *v0,
			 const char *name1, const double *v1,
			 const double *ratio, int rounds)
{
	int r;

	printf("# %s rounds (%s): %s", id, unit, name0);
	for (r = 0; r < rounds; r++)
		printf(" %.4g", v0[r]);
	printf("; %s", name1);
	for (r = 0; r < rounds; r++)
		printf(" %.4g", v1[r]);
	printf("; ratio");
	for (r = 0; r < rounds; r++)
		printf(" %.3f", ratio[r]);
	printf("\n");
}

/* The read pair, ttak against liburcu, 1 and 2 threads. */
static void read_figures(int rounds, unsigned int round_ms)
{
	double rt[MAX_ROUNDS], ru[MAX_ROUNDS], ratio[MAX_ROUNDS];
	struct bench_spread st, su, sr;
	char id[64], what[160];
	int r, t;

	printf("# EBR: read pair, %d interleaved rounds of %u ms, the side going first alternating; median [min..max], the ratio per round pair\n",
	       rounds, round_ms);
	for (t = 1; t <= 2; t++) {
		for (r = 0; r < rounds; r++) {
			if (!(r & 1))
				rt[r] = read_round(IMPL_TTAK, t, round_ms);
			ru[r] = read_round(IMPL_URCU, t, round_ms);
			if (r & 1)
				rt[r] = read_round(IMPL_TTAK, t, round_ms);
		}
		st = bench_spread_of(rt, rounds);
		su = bench_spread_of(ru, rounds);
		sr = bench_ratio_spread(rt, ru, ratio, rounds);
		snprintf(id, sizeof(id), "ebr.read.%dt", t);
		print_rounds(id, "ns", "ttak", rt, "urcu", ru, ratio, rounds);
		snprintf(what, sizeof(what), "enter/exit pair, %d thread%s%s, %d rounds",
			 t, t > 1 ? "s" : "", t > 1 ? two_threads_note : "",
			 rounds);
		bench_result_spread(id, what, st, "ns",
				    "liburcu memb inline read pair", su, sr,
				    "median ratio <= 1.0",
				    bench_verdict(sr.med <= 1.0));
	}
}

/*
 * One retire figure against one baseline: @v[k][r] is round r of
 * implementation k ([0] ttak, [1] defer_rcu, [2] call_rcu); @k picks
 * the baseline. @met judges the target; NULL for context figures.
 */
static void retire_result(const char *id, const char *what, const char *unit,
			  double v[3][MAX_ROUNDS], int k, int rounds,
			  const char *target,
			  bool (*met)(struct bench_spread ours,
				      struct bench_spread ratio))
{
	static const char * const name[3] = {
		"ttak", "liburcu defer_rcu", "liburcu call_rcu"
	};
	double ratio[MAX_ROUNDS];
	struct bench_spread so, sb, sr;

	so = bench_spread_of(v[0], rounds);
	sb = bench_spread_of(v[k], rounds);
	sr = bench_ratio_spread(v[0], v[k], ratio, rounds);
	print_rounds(id, unit, "ttak", v[0], name[k] + strlen("liburcu "),
		     v[k], ratio, rounds);
	bench_result_spread(id, what, so, unit, name[k], sb, sr, target,
			    met ? bench_verdict(met(so, sr)) : "-");
}

/* 2 threads retire at least 1.5x defer_rcu's rate: by the median ratio. */
static bool retire_met(struct bench_spread ours, struct bench_spread ratio)
{
	(void)ours;
	return ratio.med >= 1.5;
}

/* Memory stays bounded: in every round, so by the largest peak. */
static bool peak_met(struct bench_spread ours, struct bench_spread ratio)
{
	(void)ratio;
	return ours.max < 32;
}

/* @t threads' retire figures over @rounds rounds. */
static void retire_report(int t, uint64_t count, int rounds,
			  double mops[3][MAX_ROUNDS],
			  double peak[3][MAX_ROUNDS])
{
	const char *note = t > 1 ? two_threads_note : "";
	char id[64], what[160];

	snprintf(id, sizeof(id), "ebr.retire.%dt.defer", t);
	snprintf(what, sizeof(what), "retire+reclaim/4096, %d thread%s%s, %d rounds",
		 t, t > 1 ? "s" : "", note, rounds);
	retire_result(id, what, "M/s", mops, 1, rounds,
		      t > 1 ? "median ratio >= 1.5" : "context",
		      t > 1 ? retire_met : NULL);
	snprintf(id, sizeof(id), "ebr.retire.%dt.call", t);
	retire_result(id, what, "M/s", mops, 2, rounds, "context", NULL);
	snprintf(id, sizeof(id), "ebr.peak.%dt.defer", t);
	snprintf(what, sizeof(what), "peak RSS, %llu retires, %d thread%s, %d rounds",
		 (unsigned long long)count, t, t > 1 ? "s" : "", rounds);
	retire_result(id, what, "MiB", peak, 1, rounds,
		      "< 32 MiB in every round", peak_met);
	snprintf(id, sizeof(id), "ebr.peak.%dt.call", t);
	retire_result(id, what, "MiB", peak, 2, rounds, "context", NULL);
}

/*
 * Every retire measurement, each in a child process of this binary: in
 * each round, for 1 and then 2 threads, ttak, defer_rcu, call_rcu, in
 * that order in even rounds and the reverse in odd ones.
 */
static void retire_figures(uint64_t count, int rounds)
{
	static const enum impl order[3] = {
		IMPL_TTAK, IMPL_DEFER_RCU, IMPL_CALL_RCU
	};
	/* [threads][0 ttak, 1 defer_rcu, 2 call_rcu][round] */
	static double mops[3][3][MAX_ROUNDS], peak[3][3][MAX_ROUNDS];
	char self[4096];
	ssize_t len;
	int r, t, k, i;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	bench_check(len > 0, "readlink /proc/self/exe");
	self[len] = 0;
	printf("# EBR: retire of %llu 64-byte objects, %d interleaved rounds, each run a separate process, the order reversed every other round; median [min..max], the ratio per round\n",
	       (unsigned long long)count, rounds);
	fflush(stdout);
	for (r = 0; r < rounds; r++)
		for (t = 1; t <= 2; t++)
			for (k = 0; k < 3; k++) {
				i = r & 1 ? 2 - k : k;
				run_child(self, order[i], t, count,
					  &mops[t][i][r], &peak[t][i][r]);
			}
	for (t = 1; t <= 2; t++)
		retire_report(t, count, rounds, mops[t], peak[t]);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.impl = IMPL_TTAK, .threads = 1, .count = 10000000,
		.rounds = 7, .read_rounds = 11,
	};

	parse(argc, argv, &o);
	if (o.child)
		return retire_child(o.impl, o.threads, o.count);
	/* how to read the 2-thread figures: measured before any of them */
	if (bench_machine_note() < BENCH_SHARED_CORE)
		two_threads_note = " (2 vCPUs on ~1 core)";
	if (o.smoke) {
		read_figures(o.read_rounds < 5 ? o.read_rounds : 5, 20);
		retire_figures(200000, o.rounds);
	} else {
		read_figures(o.read_rounds, 100);
		retire_figures(o.count, o.rounds);
	}
	return 0;
}
