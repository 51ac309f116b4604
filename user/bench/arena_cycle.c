// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Arena cycle: begin a 4096-byte generation with 128-byte chunks, carve
 * all 32 chunks (touching each), retire it and rotate until the mem tree
 * no longer finds it. The baseline does what a program without ttak
 * would: aligned_alloc(64, 4096), touch the same 32 spots, free.
 *
 * Both run in this one process, interleaved in rounds, and the median
 * round of each is reported, because the machines are noisy.
 *
 *   arena_cycle [--rounds=R] [--round-ms=MS]    time both, print RESULTs
 *   arena_cycle --only=ttak|baseline --cycles=N  run N cycles and exit;
 *	run_bench.sh runs this under strace -c for two values of N and
 *	divides the difference in system calls by the difference in N.
 *   arena_cycle --smoke                          short run, sanity checks
 *   --reader: keep a second thread registered as an epoch reader (idle,
 *	outside any section) for the whole run, as any program with more
 *	than one thread has; the default run also times that case.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem_tree/mem_tree.h>

#include "bench_common.h"

#define GEN_BYTES	4096
#define CHUNK_BYTES	128
#define CHUNKS		(GEN_BYTES / CHUNK_BYTES)
#define MAX_ROUNDS	64

struct phase_ns {
	uint64_t begin, carve, retire, rotate;
};

static ttak_arena_env_t env;
static _Atomic int reader_state;	/* 1 registered, 2 told to leave */
static pthread_t reader;

static void *idle_reader(void *arg)
{
	(void)arg;
	ttak_epoch_register_thread();
	atomic_store(&reader_state, 1);
	while (atomic_load(&reader_state) != 2)
		usleep(1000);
	ttak_epoch_deregister_thread();
	return NULL;
}

static void reader_start(void)
{
	atomic_store(&reader_state, 0);
	bench_check(!pthread_create(&reader, NULL, idle_reader, NULL),
		    "reader thread");
	while (atomic_load(&reader_state) != 1)
		usleep(100);
}

static void reader_stop(void)
{
	atomic_store(&reader_state, 2);
	pthread_join(reader, NULL);
}

static void ttak_cycle(uint64_t i, struct phase_ns *ph)
{
	ttak_arena_generation_t gen;
	uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
	void *base;
	int k;

	if (ph)
		t0 = bench_now_ns();
	bench_check(ttak_arena_generation_begin(&env, &gen, (uint32_t)i),
		    "generation begin failed");
	if (ph)
		t1 = bench_now_ns();
	for (k = 0; k < CHUNKS; k++) {
		char *c = ttak_arena_generation_claim(&env, &gen, 0);

		bench_check(c, "claim %d failed", k);
		*(volatile uint64_t *)c = i + (uint64_t)k;
	}
	bench_check(!ttak_arena_generation_claim(&env, &gen, 0),
		    "a 33rd chunk fit");
	if (ph)
		t2 = bench_now_ns();
	base = gen.base;
	bench_check(ttak_arena_generation_retire(&env, &gen), "retire failed");
	if (ph)
		t3 = bench_now_ns();
	do {
		ttak_arena_env_rotate(&env);
	} while (ttak_mem_tree_find_node(&env.gc->tree, base));
	if (ph) {
		t4 = bench_now_ns();
		ph->begin += t1 - t0;
		ph->carve += t2 - t1;
		ph->retire += t3 - t2;
		ph->rotate += t4 - t3;
	}
}

static void baseline_cycle(uint64_t i)
{
	char *p = aligned_alloc(64, GEN_BYTES);
	int k;

	bench_check(p, "aligned_alloc failed");
	for (k = 0; k < CHUNKS; k++)
		*(volatile uint64_t *)(p + k * CHUNK_BYTES) = i + (uint64_t)k;
	bench_keep(p);
	free(p);
}

/* Run cycles for about @ms milliseconds; return ns per cycle. */
static double timed_round(bool ttak, unsigned int ms, uint64_t *done)
{
	uint64_t start = bench_now_ns(), end = start + ms * 1000000ULL;
	uint64_t n = 0, now;

	do {
		int j;

		for (j = 0; j < 256; j++, n++) {
			if (ttak)
				ttak_cycle(n, NULL);
			else
				baseline_cycle(n);
		}
		now = bench_now_ns();
	} while (now < end);
	*done += n;
	return (double)(now - start) / (double)n;
}

struct opts {
	unsigned int rounds, round_ms;
	const char *only;		/* ttak|baseline: the strace mode */
	uint64_t cycles;
	bool with_reader;
};

static void parse(int argc, char **argv, struct opts *o)
{
	bool smoke = false;
	const char *v;
	int a;

	for (a = 1; a < argc; a++) {
		if (bench_arg(argv[a], "--rounds=", &v))
			o->rounds = (unsigned int)atoi(v);
		else if (bench_arg(argv[a], "--round-ms=", &v))
			o->round_ms = (unsigned int)atoi(v);
		else if (bench_arg(argv[a], "--only=", &v))
			o->only = v;
		else if (bench_arg(argv[a], "--cycles=", &v))
			o->cycles = strtoull(v, NULL, 0);
		else if (!strcmp(argv[a], "--smoke"))
			smoke = true;
		else if (!strcmp(argv[a], "--reader"))
			o->with_reader = true;
		else {
			fprintf(stderr, "usage: %s [--rounds=R] [--round-ms=MS] [--only=ttak|baseline --cycles=N] [--smoke]\n",
				argv[0]);
			exit(2);
		}
	}
	if (smoke) {
		o->rounds = 3;
		o->round_ms = 50;
	}
	if (o->rounds < 1)
		o->rounds = 1;
	if (o->rounds > MAX_ROUNDS)
		o->rounds = MAX_ROUNDS;
}

/* --only: just run the cycles, for strace to count the system calls. */
static void run_only(const struct opts *o)
{
	bool ttak = !strcmp(o->only, "ttak");
	uint64_t i;

	if (o->with_reader)
		reader_start();
	for (i = 0; i < o->cycles; i++) {
		if (ttak)
			ttak_cycle(i, NULL);
		else
			baseline_cycle(i);
	}
	if (o->with_reader)
		reader_stop();
	printf("ran %llu %s cycles\n", (unsigned long long)o->cycles, o->only);
}

/* Interleaved rounds of ttak, baseline, ttak with an idle reader. */
static void time_rounds(const struct opts *o, double *mt, double *mb,
			double *mr)
{
	double t_ttak[MAX_ROUNDS], t_base[MAX_ROUNDS], t_rd[MAX_ROUNDS];
	int r, n = (int)o->rounds;
	uint64_t done = 0, i;

	/* warm both paths up: malloc arenas, hash tables, retire chunks */
	for (i = 0; i < 20000; i++) {
		ttak_cycle(i, NULL);
		baseline_cycle(i);
	}
	for (r = 0; r < n; r++) {
		t_ttak[r] = timed_round(true, o->round_ms, &done);
		t_base[r] = timed_round(false, o->round_ms, &done);
		reader_start();
		t_rd[r] = timed_round(true, o->round_ms, &done);
		reader_stop();
	}
	*mt = bench_median(t_ttak, n);
	*mb = bench_median(t_base, n);
	*mr = bench_median(t_rd, n);
	bench_check(*mt > 0 && *mb > 0 && done > 0, "no cycles ran");
}

static void report(const struct opts *o)
{
	struct phase_ns ph = { 0 };
	double mt, mb, mr;
	uint64_t i;

	time_rounds(o, &mt, &mb, &mr);
	/* where the time goes (costs include two clock reads per phase) */
	for (i = 0; i < 100000; i++)
		ttak_cycle(i, &ph);

	printf("# arena cycle: %u rounds of %u ms each, medians; 1 thread\n",
	       o->rounds, o->round_ms);
	printf("# phases per ttak cycle (ns): begin %.0f, carve 32 %.0f, retire %.0f, rotate-until-flushed %.0f\n",
	       ph.begin / 1e5, ph.carve / 1e5, ph.retire / 1e5,
	       ph.rotate / 1e5);
	bench_result("arena.cycle", "arena cycle 4096/128 (begin, carve 32, retire, rotate)",
		     mt, "ns", "aligned_alloc+touch+free", mb, "ratio <= 1.5",
		     bench_verdict(mt <= 1.5 * mb));
	bench_result("arena.cycle.reader", "same, a 2nd thread registered as an idle reader",
		     mr, "ns", "aligned_alloc+touch+free", mb, "context", "-");
}

int main(int argc, char **argv)
{
	struct opts o = { .rounds = 9, .round_ms = 200 };

	parse(argc, argv, &o);
	bench_check(ttak_arena_env_init(&env, NULL), "env init");
	bench_check(env.config.generation_bytes == GEN_BYTES &&
		    env.config.chunk_bytes == CHUNK_BYTES,
		    "defaults are not 4096/128");
	if (o.only)
		run_only(&o);
	else
		report(&o);
	ttak_arena_env_destroy(&env);
	return 0;
}
