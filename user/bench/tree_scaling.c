// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Scaling with what is tracked: with N live 4 KiB generations, the cost
 * of ttak_mem_tree_find_node() on a random live pointer, of one
 * begin/retire/rotate-until-flushed cycle, and the RSS each live
 * generation costs. N = 10^3 .. 10^6; each N runs in a forked child so
 * that RSS deltas are not polluted by memory an earlier N freed.
 *
 * Baselines in the same run: the figure at N = 10^3 (targets are about
 * growth), and as context an ideal lock-free open-addressing lookup of
 * the same pointers, which shows how much of any growth the memory
 * hierarchy alone causes.
 *
 *   tree_scaling [--max=N] [--lookups=L] [--cycles=C] [--smoke]
 */
#include <pthread.h>
#include <sys/wait.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem_tree/mem_tree.h>

#include "bench_common.h"

struct scale_result {
	double find_ns;
	double ideal_ns;
	double ideal_locked_ns;
	double cycle_ns;
	double rss_per_gen;
	double build_ns;
};

/* Minimal linear-probing pointer set: the "ideal hash" context figure. */
static uintptr_t *ideal;
static size_t ideal_mask;
static pthread_mutex_t ideal_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t ideal_slot(uintptr_t key)
{
	uint64_t x = key;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & ideal_mask;
}

static void ideal_insert(uintptr_t key)
{
	size_t i = ideal_slot(key);

	while (ideal[i])
		i = (i + 1) & ideal_mask;
	ideal[i] = key;
}

static size_t ideal_find(uintptr_t key)
{
	size_t i = ideal_slot(key);

	while (ideal[i] && ideal[i] != key)
		i = (i + 1) & ideal_mask;
	return i;
}

/* @n live generations in a fresh env; RSS and time they took. */
static ttak_arena_generation_t *build(ttak_arena_env_t *env, size_t n,
				      struct scale_result *res)
{
	ttak_arena_generation_t *gens = calloc(n, sizeof(*gens));
	size_t i, rss0, rss1;
	uint64_t t0, t1;

	bench_check(gens, "no memory for %zu", n);
	/* fault the bench's own array in before the first RSS reading */
	memset(gens, 0, n * sizeof(*gens));
	bench_check(ttak_arena_env_init(env, NULL), "env init");
	ttak_epoch_gc_manual_rotate(env->gc, true);
	rss0 = bench_rss_bytes();
	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		bench_check(ttak_arena_generation_begin(env, &gens[i],
							(uint32_t)i),
			    "begin %zu of %zu", i, n);
	t1 = bench_now_ns();
	rss1 = bench_rss_bytes();
	res->rss_per_gen = (double)(rss1 - rss0) / (double)n;
	res->build_ns = (double)(t1 - t0) / (double)n;
	return gens;
}

/* The ideal table's ns per lookup of @probe, bare and under a mutex. */
static void time_ideal(void **probe, size_t lookups, struct scale_result *res)
{
	uint64_t t0, t1, sink = 0;
	size_t i;

	t0 = bench_now_ns();
	for (i = 0; i < lookups; i++)
		sink += ideal_find((uintptr_t)probe[i]);
	t1 = bench_now_ns();
	bench_keep(sink);
	res->ideal_ns = (double)(t1 - t0) / (double)lookups;

	/* the same with an uncontended mutex around each lookup */
	t0 = bench_now_ns();
	for (i = 0; i < lookups; i++) {
		pthread_mutex_lock(&ideal_lock);
		sink += ideal_find((uintptr_t)probe[i]);
		pthread_mutex_unlock(&ideal_lock);
	}
	t1 = bench_now_ns();
	bench_keep(sink);
	res->ideal_locked_ns = (double)(t1 - t0) / (double)lookups;
}

static double time_find(ttak_arena_env_t *env, void **probe, size_t lookups)
{
	size_t i, found = 0;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (i = 0; i < lookups; i++)
		found += ttak_mem_tree_find_node(&env->gc->tree, probe[i]) != NULL;
	t1 = bench_now_ns();
	bench_check(found == lookups, "find_node missed %zu live pointers",
		    lookups - found);
	return (double)(t1 - t0) / (double)lookups;
}

/* ns per begin/retire/rotate-until-flushed cycle. */
static double time_cycles(ttak_arena_env_t *env, size_t cycles)
{
	ttak_arena_generation_t g;
	uint64_t t0, t1;
	size_t i;

	t0 = bench_now_ns();
	for (i = 0; i < cycles; i++) {
		void *base;

		bench_check(ttak_arena_generation_begin(env, &g, 0), "begin");
		base = g.base;
		bench_check(ttak_arena_generation_retire(env, &g), "retire");
		do {
			ttak_arena_env_rotate(env);
		} while (ttak_mem_tree_find_node(&env->gc->tree, base));
	}
	t1 = bench_now_ns();
	return (double)(t1 - t0) / (double)cycles;
}

static void run_one(size_t n, size_t lookups, size_t cycles,
		    struct scale_result *res)
{
	ttak_arena_generation_t *gens;
	ttak_arena_env_t env;
	void **probe;
	size_t i, slots;
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ n;

	probe = malloc(lookups * sizeof(*probe));
	for (slots = 1; slots < 2 * n; slots <<= 1)
		;
	ideal = calloc(slots, sizeof(*ideal));
	ideal_mask = slots - 1;
	bench_check(probe && ideal, "no memory for %zu", n);
	/* fault the bench's own arrays in before the first RSS reading */
	memset(probe, 0, lookups * sizeof(*probe));
	memset(ideal, 0, slots * sizeof(*ideal));

	gens = build(&env, n, res);
	for (i = 0; i < n; i++)
		ideal_insert((uintptr_t)gens[i].base);
	for (i = 0; i < lookups; i++)
		probe[i] = gens[bench_rand(&seed) % n].base;

	/* ideal first, then ttak, each over the same random pointers */
	time_ideal(probe, lookups, res);
	res->find_ns = time_find(&env, probe, lookups);
	/* one begin/retire/rotate cycle with n generations live */
	res->cycle_ns = time_cycles(&env, cycles);
	/* the process exits right after; freeing 10^6 blocks is not timed */
}

static bool run_forked(size_t n, size_t lookups, size_t cycles,
		       struct scale_result *res)
{
	int fd[2], status;
	pid_t pid;
	ssize_t got;

	bench_check(!pipe(fd), "pipe");
	fflush(stdout);
	pid = fork();
	bench_check(pid >= 0, "fork");
	if (!pid) {
		close(fd[0]);
		run_one(n, lookups, cycles, res);
		if (write(fd[1], res, sizeof(*res)) != sizeof(*res))
			_exit(3);
		_exit(0);
	}
	close(fd[1]);
	got = read(fd[0], res, sizeof(*res));
	close(fd[0]);
	waitpid(pid, &status, 0);
	return got == sizeof(*res) && WIFEXITED(status) &&
	       !WEXITSTATUS(status);
}

struct opts {
	size_t max, lookups, cycles;
};

static void parse(int argc, char **argv, struct opts *o)
{
	const char *v;
	int a;

	for (a = 1; a < argc; a++) {
		if (bench_arg(argv[a], "--max=", &v))
			o->max = strtoull(v, NULL, 0);
		else if (bench_arg(argv[a], "--lookups=", &v))
			o->lookups = strtoull(v, NULL, 0);
		else if (bench_arg(argv[a], "--cycles=", &v))
			o->cycles = strtoull(v, NULL, 0);
		else if (!strcmp(argv[a], "--smoke")) {
			o->max = 10000;
			o->lookups = 1 << 16;
			o->cycles = 2000;
		} else {
			fprintf(stderr, "usage: %s [--max=N] [--lookups=L] [--cycles=C] [--smoke]\n",
				argv[0]);
			exit(2);
		}
	}
	bench_check(o->lookups && o->cycles, "nothing to measure");
}

/* The figures at @n live generations, against those at N = 1000 (@r0). */
static void report(size_t n, const struct scale_result *r,
		   const struct scale_result *r0)
{
	char id[64], what[128];

	snprintf(id, sizeof(id), "tree.find.%zu", n);
	snprintf(what, sizeof(what), "find_node, %zu live generations", n);
	bench_result(id, what, r->find_ns, "ns", "same at N=1000",
		     r0->find_ns, "ratio <= 1.5",
		     bench_verdict(r->find_ns <= 1.5 * r0->find_ns));
	snprintf(id, sizeof(id), "tree.find_vs_ideal.%zu", n);
	snprintf(what, sizeof(what), "find_node vs ideal lock-free hash, %zu live", n);
	bench_result(id, what, r->find_ns, "ns", "ideal open addressing",
		     r->ideal_ns, "context", "-");
	snprintf(id, sizeof(id), "tree.cycle.%zu", n);
	snprintf(what, sizeof(what), "begin/retire/rotate cycle, %zu live", n);
	bench_result(id, what, r->cycle_ns, "ns", "same at N=1000",
		     r0->cycle_ns, "ratio <= 1.5",
		     bench_verdict(r->cycle_ns <= 1.5 * r0->cycle_ns));
	snprintf(id, sizeof(id), "tree.rss.%zu", n);
	snprintf(what, sizeof(what), "RSS per live 4 KiB generation, %zu live", n);
	bench_result(id, what, r->rss_per_gen / 1024, "KiB",
		     "4 KiB payload", 4.0, "<= 4.5 KiB",
		     bench_verdict(r->rss_per_gen <= 4.5 * 1024));
}

int main(int argc, char **argv)
{
	struct opts o = { .max = 1000000, .lookups = 1 << 20, .cycles = 20000 };
	struct scale_result res[8];
	int k = 0, j;
	size_t n;

	parse(argc, argv, &o);
	printf("# mem-tree scaling, 1 thread; each N in its own process\n");
	printf("# %9s %10s %10s %12s %10s %10s %10s\n", "N", "find ns",
	       "ideal ns", "ideal+lock", "cycle ns", "RSS/gen B", "begin ns");
	for (n = 1000; n <= o.max && k < 8; n *= 10, k++) {
		bench_check(run_forked(n, o.lookups, o.cycles, &res[k]),
			    "child for N=%zu failed", n);
		printf("# %9zu %10.1f %10.1f %12.1f %10.1f %10.0f %10.1f\n",
		       n, res[k].find_ns, res[k].ideal_ns,
		       res[k].ideal_locked_ns, res[k].cycle_ns,
		       res[k].rss_per_gen, res[k].build_ns);
		bench_check(res[k].find_ns > 0 && res[k].cycle_ns > 0 &&
			    res[k].rss_per_gen > 4096,
			    "insane figures for N=%zu", n);
	}
	for (j = 0, n = 1000; j < k; j++, n *= 10)
		report(n, &res[j], &res[0]);
	return 0;
}
