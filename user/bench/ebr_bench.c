// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * EBR costs, ttak against liburcu (memb flavour, read path inlined with
 * _LGPL_SOURCE as a serious user would build it), in the same run:
 *
 *  - read pair: ttak_epoch_enter()/exit() against rcu_read_lock/unlock,
 *    1 and 2 threads, interleaved rounds, medians;
 *  - retire throughput of 64-byte malloc'ed objects: ttak_epoch_retire()
 *    with a ttak_epoch_reclaim() every 4096 retires, against call_rcu()
 *    and defer_rcu(), 1 and 2 threads;
 *  - peak RSS (getrusage) of 10 M retires, each measurement in its own
 *    process so one allocator's leftovers never pollute another's figure.
 *
 * With no mode the program is the driver: it runs the read rounds itself
 * and every retire measurement as a child process of this same binary.
 *
 *   ebr_bench [--smoke] [--count=N]
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
	uint64_t count;
};

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
		else if (!strcmp(argv[a], "--smoke"))
			o->smoke = true;
		else {
			fprintf(stderr, "usage: %s [--smoke] [--count=N] | retire --impl=ttak|call_rcu|defer_rcu --threads=T --count=N\n",
				argv[0]);
			exit(2);
		}
	}
	if (o->threads < 1 || o->threads > MAX_THREADS)
		o->threads = 1;
}

/* Said of 2-thread figures, when measured true: see bench_machine_note(). */
static const char *two_threads_note = "";

/* The read pair, ttak against liburcu, 1 and 2 threads. */
static void read_figures(unsigned int rounds, unsigned int round_ms)
{
	double rt[MAX_ROUNDS], ru[MAX_ROUNDS], mt, mu;
	char id[64], what[160];
	int r, t;

	printf("# EBR: read pair, %u interleaved rounds of %u ms, medians\n",
	       rounds, round_ms);
	if (bench_machine_note() < BENCH_SHARED_CORE)
		two_threads_note = " (2 vCPUs on ~1 core)";
	for (t = 1; t <= 2; t++) {
		for (r = 0; r < (int)rounds; r++) {
			rt[r] = read_round(IMPL_TTAK, t, round_ms);
			ru[r] = read_round(IMPL_URCU, t, round_ms);
		}
		mt = bench_median(rt, (int)rounds);
		mu = bench_median(ru, (int)rounds);
		snprintf(id, sizeof(id), "ebr.read.%dt", t);
		snprintf(what, sizeof(what), "enter/exit pair, %d thread%s%s", t,
			 t > 1 ? "s" : "",
			 t > 1 ? two_threads_note : "");
		bench_result(id, what, mt, "ns", "liburcu memb inline read pair",
			     mu, "ratio <= 1.0", bench_verdict(mt <= mu));
	}
}

/* @t threads' retire figures: [0] ttak, [1] defer_rcu, [2] call_rcu. */
static void retire_report(int t, uint64_t count, const double *mops,
			  const double *peak)
{
	const char *note = t > 1 ? two_threads_note : "";
	char id[64], what[160];

	snprintf(id, sizeof(id), "ebr.retire.%dt.defer", t);
	snprintf(what, sizeof(what), "retire+reclaim/4096, %d thread%s%s",
		 t, t > 1 ? "s" : "", note);
	bench_result(id, what, mops[0], "M/s", "liburcu defer_rcu",
		     mops[1], t > 1 ? "ratio >= 1.5" : "context",
		     t > 1 ? bench_verdict(mops[0] >= 1.5 * mops[1]) : "-");
	snprintf(id, sizeof(id), "ebr.retire.%dt.call", t);
	bench_result(id, what, mops[0], "M/s", "liburcu call_rcu",
		     mops[2], "context", "-");
	snprintf(id, sizeof(id), "ebr.peak.%dt.defer", t);
	snprintf(what, sizeof(what), "peak RSS, %llu retires, %d thread%s",
		 (unsigned long long)count, t, t > 1 ? "s" : "");
	bench_result(id, what, peak[0], "MiB", "liburcu defer_rcu",
		     peak[1], "< 32 MiB", bench_verdict(peak[0] < 32));
	snprintf(id, sizeof(id), "ebr.peak.%dt.call", t);
	bench_result(id, what, peak[0], "MiB", "liburcu call_rcu",
		     peak[2], "context", "-");
}

/* Every retire measurement, each in a child process of this binary. */
static void retire_figures(uint64_t count)
{
	static const enum impl order[3] = {
		IMPL_TTAK, IMPL_DEFER_RCU, IMPL_CALL_RCU
	};
	double mops[3][3], peak[3][3];
	char self[4096];
	ssize_t len;
	int t, i;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	bench_check(len > 0, "readlink /proc/self/exe");
	self[len] = 0;
	printf("# EBR: retire of %llu 64-byte objects, each run a separate process\n",
	       (unsigned long long)count);
	for (t = 1; t <= 2; t++)
		for (i = 0; i < 3; i++)
			run_child(self, order[i], t, count, &mops[t][i],
				  &peak[t][i]);
	for (t = 1; t <= 2; t++)
		retire_report(t, count, mops[t], peak[t]);
}

int main(int argc, char **argv)
{
	struct opts o = { .impl = IMPL_TTAK, .threads = 1, .count = 10000000 };

	parse(argc, argv, &o);
	if (o.child)
		return retire_child(o.impl, o.threads, o.count);
	if (o.smoke) {
		read_figures(3, 30);
		retire_figures(200000);
	} else {
		read_figures(11, 100);
		retire_figures(o.count);
	}
	return 0;
}
