// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Scaling with what is tracked: with N live 4 KiB generations, the cost
 * of ttak_mem_tree_find_node() on a random live pointer, of two
 * begin/retire/rotate-until-flushed cycles, and the RSS each live
 * generation costs. N = 10^3 .. 10^6; each N runs in a forked child so
 * that RSS deltas are not polluted by memory an earlier N freed.
 *
 *   hot cycle   begin a fresh generation, retire it at once, rotate
 *               until find_node no longer finds it: hot memory only
 *   cold cycle  retire a random one of the N live generations, rotate
 *               until it is flushed, begin its replacement (N stays
 *               constant): what a program retiring old generations pays
 *
 * Baselines in the same run: for find_node an ideal lock-free
 * open-addressing map of the same pointers (pointer -> value, 16-byte
 * slots, at most half full, no checks: the least any index answering
 * find_node's question reads); for the cold cycle the hot cycle at
 * N = 10^3. Context: the same ideal table holding keys only (8-byte
 * slots: half the footprint, but it cannot return the node), and the
 * map under a mutex. Ours and its baseline alternate in rounds; the
 * figures are the medians.
 *
 *   tree_scaling [--max=N] [--lookups=L] [--cycles=C] [--rounds=R]
 *                [--smoke] [--only=N --phase=find|ideal|set|hot|cold|none]
 *
 * --only runs one N in this process with one kind of lookup or cycle only
 * (or none), for valgrind --tool=cachegrind: the difference between a
 * phase and "none", divided by --lookups or --cycles, is what one lookup
 * or cycle of that phase costs (see README.md).
 */
#include <pthread.h>
#include <sys/wait.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem_tree/mem_tree.h>

#include "bench_common.h"

#define MAX_ROUNDS	15

struct scale_result {
	double find_ns;		/* medians over the rounds */
	double map_ns;
	double set_ns;
	double map_locked_ns;
	double find_map_ratio;	/* median of the per-round ratios */
	double hot_ns;
	double cold_ns;
	double rss_per_gen;
	double build_ns;
};

/*
 * The ideal tables: linear probing, the same finaliser as ours, no
 * sequence count, no epoch, no input checks. The map returns the value.
 */
struct ideal_slot {
	uintptr_t key;
	void *val;
};

static struct ideal_slot *ideal_map;
static uintptr_t *ideal_set;
static size_t ideal_mask;
static pthread_mutex_t ideal_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t ideal_home(uintptr_t key)
{
	return (size_t)bench_mix64(key) & ideal_mask;
}

static void ideal_insert(uintptr_t key, void *val)
{
	size_t i = ideal_home(key);

	while (ideal_map[i].key)
		i = (i + 1) & ideal_mask;
	ideal_map[i].key = key;
	ideal_map[i].val = val;
	i = ideal_home(key);
	while (ideal_set[i])
		i = (i + 1) & ideal_mask;
	ideal_set[i] = key;
}

/* noinline: cachegrind charges each lookup kind to its own function */
static __attribute__((noinline)) void *ideal_map_find(uintptr_t key)
{
	size_t i = ideal_home(key);

	for (;;) {
		uintptr_t k = __atomic_load_n(&ideal_map[i].key,
					      __ATOMIC_ACQUIRE);
		if (k == key)
			return ideal_map[i].val;
		if (!k)
			return NULL;
		i = (i + 1) & ideal_mask;
	}
}

static __attribute__((noinline)) size_t ideal_set_find(uintptr_t key)
{
	size_t i = ideal_home(key);

	while (ideal_set[i] && ideal_set[i] != key)
		i = (i + 1) & ideal_mask;
	return i;
}

static __attribute__((noinline)) void *
find_node(ttak_arena_env_t *env, void *p)
{
	return ttak_mem_tree_find_node(&env->gc->tree, p);
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

enum phase {
	PHASE_ALL, PHASE_FIND, PHASE_IDEAL, PHASE_SET, PHASE_HOT, PHASE_COLD,
	PHASE_NONE
};

static double time_map(void **probe, size_t lookups)
{
	uint64_t t0, t1, sink = 0;
	size_t i;

	t0 = bench_now_ns();
	for (i = 0; i < lookups; i++)
		sink += ideal_map_find((uintptr_t)probe[i]) != NULL;
	t1 = bench_now_ns();
	bench_check(sink == lookups, "ideal map missed %zu", lookups - sink);
	return (double)(t1 - t0) / (double)lookups;
}

static double time_set(void **probe, size_t lookups)
{
	uint64_t t0, t1, sink = 0;
	size_t i;

	t0 = bench_now_ns();
	for (i = 0; i < lookups; i++)
		sink += ideal_set_find((uintptr_t)probe[i]);
	t1 = bench_now_ns();
	bench_keep(sink);
	return (double)(t1 - t0) / (double)lookups;
}

/* the map with an uncontended mutex around each lookup (context) */
static double time_map_locked(void **probe, size_t lookups)
{
	uint64_t t0, t1, sink = 0;
	size_t i;

	t0 = bench_now_ns();
	for (i = 0; i < lookups; i++) {
		pthread_mutex_lock(&ideal_lock);
		sink += ideal_map_find((uintptr_t)probe[i]) != NULL;
		pthread_mutex_unlock(&ideal_lock);
	}
	t1 = bench_now_ns();
	bench_keep(sink);
	return (double)(t1 - t0) / (double)lookups;
}

static double time_find(ttak_arena_env_t *env, void **probe, size_t lookups)
{
	size_t i, found = 0;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (i = 0; i < lookups; i++)
		found += find_node(env, probe[i]) != NULL;
	t1 = bench_now_ns();
	bench_check(found == lookups, "find_node missed %zu live pointers",
		    lookups - found);
	return (double)(t1 - t0) / (double)lookups;
}

/* ns per hot cycle: a fresh generation, retired at once. */
static double time_hot(ttak_arena_env_t *env, size_t cycles)
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
		} while (find_node(env, base));
	}
	t1 = bench_now_ns();
	return (double)(t1 - t0) / (double)cycles;
}

/* ns per cold cycle: a random live generation replaced. */
static double time_cold(ttak_arena_env_t *env, ttak_arena_generation_t *gens,
			size_t n, size_t cycles, uint64_t *seed)
{
	uint64_t t0, t1;
	size_t i;

	t0 = bench_now_ns();
	for (i = 0; i < cycles; i++) {
		ttak_arena_generation_t *g = &gens[bench_rand(seed) % n];
		void *base = g->base;

		bench_check(ttak_arena_generation_retire(env, g), "retire");
		do {
			ttak_arena_env_rotate(env);
		} while (find_node(env, base));
		bench_check(ttak_arena_generation_begin(env, g, (uint32_t)i),
			    "begin");
	}
	t1 = bench_now_ns();
	return (double)(t1 - t0) / (double)cycles;
}

static void fill_probe(void **probe, size_t lookups,
		       const ttak_arena_generation_t *gens, size_t n,
		       uint64_t *seed)
{
	size_t i;

	memset(ideal_map, 0, (ideal_mask + 1) * sizeof(*ideal_map));
	memset(ideal_set, 0, (ideal_mask + 1) * sizeof(*ideal_set));
	for (i = 0; i < n; i++)
		ideal_insert((uintptr_t)gens[i].base, (void *)&gens[i]);
	for (i = 0; i < lookups; i++)
		probe[i] = gens[bench_rand(seed) % n].base;
}

static void run_one(size_t n, size_t lookups, size_t cycles, int rounds,
		    enum phase phase, struct scale_result *res)
{
	double find[MAX_ROUNDS], map[MAX_ROUNDS], set[MAX_ROUNDS];
	double lock[MAX_ROUNDS], ratio[MAX_ROUNDS];
	double hot[MAX_ROUNDS], cold[MAX_ROUNDS];
	ttak_arena_generation_t *gens;
	ttak_arena_env_t env;
	void **probe;
	size_t slots, per = cycles / (size_t)rounds + 1;
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ n;
	int r;

	probe = malloc(lookups * sizeof(*probe));
	for (slots = 1; slots < 2 * n; slots <<= 1)
		;
	ideal_map = calloc(slots, sizeof(*ideal_map));
	ideal_set = calloc(slots, sizeof(*ideal_set));
	ideal_mask = slots - 1;
	bench_check(probe && ideal_map && ideal_set, "no memory for %zu", n);
	/* fault the bench's own arrays in before the first RSS reading */
	memset(probe, 0, lookups * sizeof(*probe));
	memset(ideal_map, 0, slots * sizeof(*ideal_map));
	memset(ideal_set, 0, slots * sizeof(*ideal_set));

	gens = build(&env, n, res);
	fill_probe(probe, lookups, gens, n, &seed);

	if (phase != PHASE_ALL) {
		/* one kind of lookup or cycle, for cachegrind */
		if (phase == PHASE_FIND)
			res->find_ns = time_find(&env, probe, lookups);
		else if (phase == PHASE_IDEAL)
			res->map_ns = time_map(probe, lookups);
		else if (phase == PHASE_SET)
			res->set_ns = time_set(probe, lookups);
		else if (phase == PHASE_HOT)
			res->hot_ns = time_hot(&env, cycles);
		else if (phase == PHASE_COLD)
			res->cold_ns = time_cold(&env, gens, n, cycles, &seed);
		return;
	}

	/* ours and the ideal map alternate, over the same random pointers */
	for (r = 0; r < rounds; r++) {
		if (r & 1) {
			find[r] = time_find(&env, probe, lookups);
			map[r] = time_map(probe, lookups);
		} else {
			map[r] = time_map(probe, lookups);
			find[r] = time_find(&env, probe, lookups);
		}
		ratio[r] = find[r] / map[r];
		set[r] = time_set(probe, lookups);
		lock[r] = time_map_locked(probe, lookups);
	}
	/* then hot and cold cycles alternate with n generations live */
	for (r = 0; r < rounds; r++) {
		hot[r] = time_hot(&env, per);
		cold[r] = time_cold(&env, gens, n, per, &seed);
	}
	res->find_ns = bench_median(find, rounds);
	res->map_ns = bench_median(map, rounds);
	res->set_ns = bench_median(set, rounds);
	res->map_locked_ns = bench_median(lock, rounds);
	res->find_map_ratio = bench_median(ratio, rounds);
	res->hot_ns = bench_median(hot, rounds);
	res->cold_ns = bench_median(cold, rounds);
	/* the process exits right after; freeing 10^6 blocks is not timed */
}

static bool run_forked(size_t n, size_t lookups, size_t cycles, int rounds,
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
		run_one(n, lookups, cycles, rounds, PHASE_ALL, res);
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
	size_t max, lookups, cycles, only;
	int rounds;
	enum phase phase;
};

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--max=N] [--lookups=L] [--cycles=C] [--rounds=R] [--smoke]\n"
		"       %s --only=N [--lookups=L] [--cycles=C] --phase=find|ideal|set|hot|cold|none\n",
		prog, prog);
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	const char *v;
	int a;

	for (a = 1; a < argc; a++) {
		if (bench_arg(argv[a], "--max=", &v)) {
			o->max = strtoull(v, NULL, 0);
		} else if (bench_arg(argv[a], "--lookups=", &v)) {
			o->lookups = strtoull(v, NULL, 0);
		} else if (bench_arg(argv[a], "--cycles=", &v)) {
			o->cycles = strtoull(v, NULL, 0);
		} else if (bench_arg(argv[a], "--rounds=", &v)) {
			o->rounds = atoi(v);
		} else if (bench_arg(argv[a], "--only=", &v)) {
			o->only = strtoull(v, NULL, 0);
		} else if (bench_arg(argv[a], "--phase=", &v)) {
			if (!strcmp(v, "find"))
				o->phase = PHASE_FIND;
			else if (!strcmp(v, "ideal"))
				o->phase = PHASE_IDEAL;
			else if (!strcmp(v, "set"))
				o->phase = PHASE_SET;
			else if (!strcmp(v, "hot"))
				o->phase = PHASE_HOT;
			else if (!strcmp(v, "cold"))
				o->phase = PHASE_COLD;
			else if (!strcmp(v, "none"))
				o->phase = PHASE_NONE;
			else
				usage(argv[0]);
		} else if (!strcmp(argv[a], "--smoke")) {
			o->max = 10000;
			o->lookups = 1 << 15;
			o->cycles = 1000;
			o->rounds = 3;
		} else {
			usage(argv[0]);
		}
	}
	bench_check(o->lookups && o->cycles, "nothing to measure");
	bench_check(o->rounds >= 1 && o->rounds <= MAX_ROUNDS,
		    "rounds: 1..%d", MAX_ROUNDS);
	bench_check(!o->only == (o->phase == PHASE_ALL),
		    "--only and --phase go together");
}

/* The figures at @n live generations; @r0: those at N = 1000. */
static void report(size_t n, const struct scale_result *r,
		   const struct scale_result *r0)
{
	char id[64], what[160];
	bool cold_target = n >= 100000;

	snprintf(id, sizeof(id), "tree.find_vs_ideal.%zu", n);
	snprintf(what, sizeof(what),
		 "find_node on random live pointers vs ideal open-addressing map, %zu live",
		 n);
	printf("RESULT %s | %s | %.4g ns | ideal lock-free map | %.4g ns | %.3f | ratio <= 1.5 | %s\n",
	       id, what, r->find_ns, r->map_ns, r->find_map_ratio,
	       bench_verdict(r->find_map_ratio <= 1.5));
	snprintf(id, sizeof(id), "tree.find_vs_set.%zu", n);
	snprintf(what, sizeof(what),
		 "find_node vs ideal key-only set (half the bytes, no value), %zu live",
		 n);
	bench_result(id, what, r->find_ns, "ns", "ideal key-only set",
		     r->set_ns, "context", "-");
	snprintf(id, sizeof(id), "tree.find.%zu", n);
	snprintf(what, sizeof(what), "find_node, %zu live generations", n);
	bench_result(id, what, r->find_ns, "ns", "same at N=1000",
		     r0->find_ns, "context", "-");
	snprintf(id, sizeof(id), "tree.cycle.%zu", n);
	snprintf(what, sizeof(what), "hot begin/retire/rotate cycle, %zu live", n);
	bench_result(id, what, r->hot_ns, "ns", "same at N=1000",
		     r0->hot_ns, "ratio <= 1.5",
		     bench_verdict(r->hot_ns <= 1.5 * r0->hot_ns));
	snprintf(id, sizeof(id), "tree.cold.%zu", n);
	snprintf(what, sizeof(what),
		 "cold cycle: retire a random live generation, rotate until flushed, begin its replacement, %zu live",
		 n);
	bench_result(id, what, r->cold_ns, "ns", "hot cycle at N=1000",
		     r0->hot_ns, cold_target ? "ratio <= 2" : "context",
		     cold_target ? bench_verdict(r->cold_ns <= 2 * r0->hot_ns) :
				   "-");
	snprintf(id, sizeof(id), "tree.rss.%zu", n);
	snprintf(what, sizeof(what), "RSS per live 4 KiB generation, %zu live", n);
	bench_result(id, what, r->rss_per_gen / 1024, "KiB",
		     "4 KiB payload", 4.0, "<= 4.5 KiB",
		     bench_verdict(r->rss_per_gen <= 4.5 * 1024));
}

int main(int argc, char **argv)
{
	struct opts o = { .max = 1000000, .lookups = 1 << 20,
			  .cycles = 20000, .rounds = 5 };
	struct scale_result res[8];
	int k = 0, j;
	size_t n;

	parse(argc, argv, &o);
	if (o.only) {
		memset(res, 0, sizeof(res[0]));
		run_one(o.only, o.lookups, o.cycles, 1, o.phase, &res[0]);
		printf("# N=%zu phase %d: find %.1f ns, ideal map %.1f ns, set %.1f ns, hot %.1f ns, cold %.1f ns\n",
		       o.only, (int)o.phase, res[0].find_ns, res[0].map_ns,
		       res[0].set_ns, res[0].hot_ns, res[0].cold_ns);
		return 0;
	}
	printf("# mem-tree scaling, 1 thread; each N in its own process; medians of %d rounds\n",
	       o.rounds);
	printf("# %8s %8s %8s %8s %9s %9s %9s %9s %9s\n", "N", "find ns",
	       "map ns", "set ns", "map+lock", "hot ns", "cold ns",
	       "RSS/gen B", "begin ns");
	for (n = 1000; n <= o.max && k < 8; n *= 10, k++) {
		bench_check(run_forked(n, o.lookups, o.cycles, o.rounds,
				       &res[k]),
			    "child for N=%zu failed", n);
		printf("# %8zu %8.1f %8.1f %8.1f %9.1f %9.1f %9.1f %9.0f %9.1f\n",
		       n, res[k].find_ns, res[k].map_ns, res[k].set_ns,
		       res[k].map_locked_ns, res[k].hot_ns, res[k].cold_ns,
		       res[k].rss_per_gen, res[k].build_ns);
		bench_check(res[k].find_ns > 0 && res[k].hot_ns > 0 &&
			    res[k].cold_ns > 0 && res[k].map_ns > 0 &&
			    res[k].rss_per_gen > 4096,
			    "insane figures for N=%zu", n);
	}
	for (j = 0, n = 1000; j < k; j++, n *= 10)
		report(n, &res[j], &res[0]);
	return 0;
}
