// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Arena cycle: begin a 4096-byte generation with 128-byte chunks, carve
 * all 32 chunks (touching each), retire it and rotate until the mem tree
 * no longer finds it. The baselines, in the same rounds:
 *   - what a program without ttak would do: aligned_alloc(64, 4096),
 *     touch the same 32 spots, free (context);
 *   - the same with the zeroing the API promises: aligned_alloc,
 *     memset(0, 4096), the 32 touches, free (target: the cycle <= 1.5x);
 *   - per object, against one chunk's share of the cycle (cycle / 32):
 *     malloc(128) + touch + free (target <= 0.5x), and malloc(128) +
 *     touch + liburcu defer_rcu(free) (target <= 0.1x; each round ends
 *     with rcu_defer_barrier_thread(), so it pays for all its frees).
 * The cycle with a second thread registered as an idle epoch reader
 * (blocked in read() on a pipe, outside any section) runs in the same
 * rounds too (target: <= 1.3x the cycle without).
 *
 * Every variant runs in each round, the first one rotating from round
 * to round, and the median round of each is reported, because the
 * machines are noisy.
 *
 *   arena_cycle [--rounds=R] [--round-ms=MS]    time all, print RESULTs
 *   arena_cycle --only=ttak|baseline --cycles=N  run N cycles and exit;
 *	run_bench.sh runs this under strace -c for two values of N and
 *	divides the difference in system calls by the difference in N.
 *   arena_cycle --smoke                          short run, sanity checks
 *   --reader: keep a second thread registered as an epoch reader (idle,
 *	outside any section) for the whole run, as any program with more
 *	than one thread has. It blocks in one read() until told to leave,
 *	so every system call that grows with N is the cycle thread's.
 */
#define RCU_MEMB
#include <urcu.h>

#include <errno.h>
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
static _Atomic int reader_state;	/* 1: registered */
static pthread_t reader;
static int reader_pipe[2];

/* Registered, then blocked in one read() until reader_stop() writes. */
static void *idle_reader(void *arg)
{
	char c;

	(void)arg;
	ttak_epoch_register_thread();
	atomic_store(&reader_state, 1);
	while (read(reader_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	ttak_epoch_deregister_thread();
	return NULL;
}

static void reader_start(void)
{
	atomic_store(&reader_state, 0);
	bench_check(!pipe(reader_pipe), "pipe");
	bench_check(!pthread_create(&reader, NULL, idle_reader, NULL),
		    "reader thread");
	while (atomic_load(&reader_state) != 1)
		usleep(100);
}

static void reader_stop(void)
{
	bench_check(write(reader_pipe[1], "x", 1) == 1, "reader wake-up");
	pthread_join(reader, NULL);
	close(reader_pipe[0]);
	close(reader_pipe[1]);
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

static void baseline_cycle(uint64_t i, bool zero)
{
	char *p = aligned_alloc(64, GEN_BYTES);
	int k;

	bench_check(p, "aligned_alloc failed");
	if (zero) {
		memset(p, 0, GEN_BYTES);
		bench_keep(p);	/* the stores below must not fold it away */
	}
	for (k = 0; k < CHUNKS; k++)
		*(volatile uint64_t *)(p + k * CHUNK_BYTES) = i + (uint64_t)k;
	bench_keep(p);
	free(p);
}

/* One object the way a program without arenas keeps it. */
static void object_cycle(uint64_t i, bool defer)
{
	char *p = malloc(CHUNK_BYTES);

	bench_check(p, "malloc failed");
	*(volatile uint64_t *)p = i;
	bench_keep(p);
	if (defer)
		defer_rcu(free, p);
	else
		free(p);
}

enum variant {
	V_TTAK,		/* the arena cycle */
	V_BASE,		/* aligned_alloc + touch + free */
	V_ZERO,		/* aligned_alloc + memset + touch + free */
	V_MALLOC,	/* per object: malloc(128) + touch + free */
	V_DEFER,	/* per object: malloc(128) + touch + defer_rcu(free) */
	V_READER,	/* the arena cycle beside an idle registered reader */
	V_COUNT
};

/* One unit of @v: a cycle, or one object of the per-object variants. */
static void run_one(enum variant v, uint64_t i)
{
	switch (v) {
	case V_TTAK:
	case V_READER:
		ttak_cycle(i, NULL);
		break;
	case V_BASE:
	case V_ZERO:
		baseline_cycle(i, v == V_ZERO);
		break;
	default:
		object_cycle(i, v == V_DEFER);
		break;
	}
}

/* Run @v for about @ms milliseconds; return ns per unit. */
static double timed_round(enum variant v, unsigned int ms, uint64_t *done)
{
	uint64_t start, end, n = 0, now;

	if (v == V_READER)
		reader_start();
	start = bench_now_ns();
	end = start + ms * 1000000ULL;
	do {
		int j;

		for (j = 0; j < 256; j++, n++)
			run_one(v, n);
		now = bench_now_ns();
	} while (now < end);
	if (v == V_DEFER) {
		/* the round pays for every free it deferred */
		rcu_defer_barrier_thread();
		now = bench_now_ns();
	}
	if (v == V_READER)
		reader_stop();
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
			fprintf(stderr, "usage: %s [--rounds=R] [--round-ms=MS] [--only=ttak|baseline --cycles=N [--reader]] [--smoke]\n",
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
			baseline_cycle(i, false);
	}
	if (o->with_reader)
		reader_stop();
	printf("ran %llu %s cycles\n", (unsigned long long)o->cycles, o->only);
}

/* Interleaved rounds of every variant; medians into @med[V_COUNT]. */
static void time_rounds(const struct opts *o, double *med)
{
	static double t[V_COUNT][MAX_ROUNDS];
	int r, v, n = (int)o->rounds;
	uint64_t done = 0, i;

	/* warm every path up: malloc arenas, hash tables, retire chunks */
	for (i = 0; i < 20000; i++)
		for (v = 0; v < V_COUNT; v++)
			if (v != V_READER)
				run_one((enum variant)v, i);
	rcu_defer_barrier_thread();
	for (r = 0; r < n; r++) {
		/* the first variant rotates, so no one always follows another */
		for (i = 0; i < V_COUNT; i++) {
			v = (int)((r + i) % V_COUNT);
			t[v][r] = timed_round((enum variant)v, o->round_ms,
					      &done);
		}
	}
	for (v = 0; v < V_COUNT; v++) {
		med[v] = bench_median(t[v], n);
		bench_check(med[v] > 0, "variant %d: no time measured", v);
	}
	bench_check(done > 0, "no cycles ran");
}

static void report(const struct opts *o)
{
	struct phase_ns ph = { 0 };
	double m[V_COUNT], chunk;
	uint64_t i;

	rcu_register_thread();
	bench_check(!rcu_defer_register_thread(), "defer_rcu register");
	time_rounds(o, m);
	rcu_defer_unregister_thread();
	rcu_unregister_thread();
	/* where the time goes (costs include two clock reads per phase) */
	for (i = 0; i < 100000; i++)
		ttak_cycle(i, &ph);

	chunk = m[V_TTAK] / CHUNKS;
	printf("# arena cycle: %u rounds of %u ms each, medians; 1 thread (the reader variant: 2)\n",
	       o->rounds, o->round_ms);
	printf("# phases per ttak cycle (ns): begin %.0f, carve 32 %.0f, retire %.0f, rotate-until-flushed %.0f\n",
	       ph.begin / 1e5, ph.carve / 1e5, ph.retire / 1e5,
	       ph.rotate / 1e5);
	bench_result("arena.cycle", "arena cycle 4096/128 (begin, carve 32, retire, rotate)",
		     m[V_TTAK], "ns", "aligned_alloc+touch+free", m[V_BASE],
		     "context", "-");
	bench_result("arena.cycle.zero", "arena cycle 4096/128 against zeroed memory",
		     m[V_TTAK], "ns", "aligned_alloc+memset 4096+touch+free",
		     m[V_ZERO], "ratio <= 1.5",
		     bench_verdict(m[V_TTAK] <= 1.5 * m[V_ZERO]));
	bench_result("arena.chunk.malloc", "one chunk's share of the arena cycle (cycle / 32)",
		     chunk, "ns", "malloc(128)+touch+free", m[V_MALLOC],
		     "ratio <= 0.5", bench_verdict(chunk <= 0.5 * m[V_MALLOC]));
	bench_result("arena.chunk.defer", "one chunk's share of the arena cycle (cycle / 32)",
		     chunk, "ns", "malloc(128)+touch+liburcu defer_rcu(free)",
		     m[V_DEFER], "ratio <= 0.1",
		     bench_verdict(chunk <= 0.1 * m[V_DEFER]));
	bench_result("arena.cycle.reader", "arena cycle, a 2nd thread registered as an idle reader",
		     m[V_READER], "ns", "same cycle, no 2nd thread", m[V_TTAK],
		     "ratio <= 1.3",
		     bench_verdict(m[V_READER] <= 1.3 * m[V_TTAK]));
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
