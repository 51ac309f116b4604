// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The TTL cache bench: worker threads run a workload of hot and cold keys,
 * reads and a share of writes, against the cache of ttl_cache.c for
 * --duration seconds. Every second one line of figures (ops/s,
 * hit/miss/expired, sampled latency, epoch, RSS, live entries, flushes/s,
 * retires/s, generations, bytes waiting for a flush; --csv writes them for
 * rss_impact.gp), at the end "# summary" lines and one SUMMARY line that
 * run_bench.sh reads.
 *
 * Steady RSS is compared with what the live data needs: live entries x
 * entry size + the table; flatness compares the last quarter of the run
 * with the second.
 */
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdalign.h>

#include "bench_common.h"
#include "ttl_cache.h"

#define MAX_THREADS	64
#define LAT_SAMPLE_MASK	127	/* time one op in 128 */
#define MIB		(1024.0 * 1024.0)

struct config {
	int threads;
	int duration;
	uint64_t keys;
	uint64_t hot_keys;
	unsigned int hot_pct;
	unsigned int write_pct;
	const char *csv;
	const char *label;
	bool quiet;
	struct ttl_cache_config cache;
};

/* One worker thread; only it writes its counters. */
struct worker {
	alignas(64) _Atomic uint64_t ops;
	_Atomic uint64_t lat_ns;
	_Atomic uint64_t lat_samples;
	uint64_t rng;
	struct ttl_cache_thread *ct;
	pthread_t thread;
	int id;
};

struct totals {
	uint64_t ops, lat_ns, lat_samples;
	struct ttl_cache_totals c;
};

/* One second's figures. */
struct second {
	struct totals cur;
	double dt, ops, reads, lat, live, bound;
	uint64_t flush;
	size_t pend, rss;
};

/* What the per-second loop keeps for the summary. */
struct run {
	FILE *csv;
	struct totals prev;
	uint64_t prev_flush, t_prev;
	double sum_ops, live_sum, rss_sum, pend_sum;
	double rss_sum_2nd, rss_sum_4th, norm_2nd, norm_4th;
	int n_2nd, n_4th, n_steady;
	size_t rss, rss_max, rss0;
};

static struct config cfg = {
	.threads = 2,
	.duration = 15,
	.keys = 1 << 20,
	.hot_keys = 1 << 16,
	.hot_pct = 90,
	.write_pct = 5,
};

static struct ttl_cache *cache;
static struct ttl_cache_geometry geo;
static struct worker *workers;
static alignas(64) _Atomic int stop;

/* ---- workers ---- */

static inline uint64_t pick_key(struct worker *w, uint64_t r)
{
	if (r % 100 < cfg.hot_pct)
		return bench_rand(&w->rng) % cfg.hot_keys;
	return cfg.hot_keys + bench_rand(&w->rng) % (cfg.keys - cfg.hot_keys);
}

static void one_op(struct worker *w, uint64_t *sink)
{
	uint64_t r = bench_rand(&w->rng), key = pick_key(w, r), v = 0;

	if ((r >> 32) % 100 < cfg.write_pct)
		ttl_cache_set(cache, w->ct, key, r);
	else if (ttl_cache_get(cache, w->ct, key, &v) == TTL_HIT)
		*sink += v;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t sink = 0, n = 0, t0, t1;
	int i;

	w->ct = ttl_cache_thread_enter(cache, w->id);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (i = 0; i < 256; i++, n++) {
			if (!(n & LAT_SAMPLE_MASK)) {
				t0 = bench_now_ns();
				one_op(w, &sink);
				t1 = bench_now_ns();
				bench_cnt_add(&w->lat_ns, t1 - t0);
				bench_cnt_add(&w->lat_samples, 1);
			} else {
				one_op(w, &sink);
			}
		}
		bench_cnt_add(&w->ops, 256);
	}
	bench_keep(sink);
	ttl_cache_thread_leave(cache, w->ct);
	return NULL;
}

static void start_workers(void)
{
	int i;

	workers = aligned_alloc(64, (size_t)cfg.threads * sizeof(*workers));
	bench_check(workers, "workers");
	memset(workers, 0, (size_t)cfg.threads * sizeof(*workers));
	for (i = 0; i < cfg.threads; i++) {
		workers[i].id = i;
		workers[i].rng = bench_mix64(0x1234567ULL + (uint64_t)i) | 1;
		bench_check(!pthread_create(&workers[i].thread, NULL,
					    worker_main, &workers[i]),
			    "worker thread");
	}
}

static void stop_workers(void)
{
	int i;

	atomic_store(&stop, 1);
	for (i = 0; i < cfg.threads; i++)
		pthread_join(workers[i].thread, NULL);
}

static void snapshot(struct totals *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < cfg.threads; i++) {
		t->ops += atomic_load(&workers[i].ops);
		t->lat_ns += atomic_load(&workers[i].lat_ns);
		t->lat_samples += atomic_load(&workers[i].lat_samples);
	}
	ttl_cache_totals(cache, &t->c);
}

/* ---- options ---- */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [options]\n"
		"  --threads=N        worker threads (env TTAK_BENCH_THREADS, default 2)\n"
		"  --duration=S       seconds (env TTAK_BENCH_DURATION_SEC, default 15)\n"
		"  --alloc=arena|malloc  entry allocator (default arena)\n"
		"  --keys=N --hot-keys=N --hot-pct=P --write-pct=P --ttl-ms=MS\n"
		"  --buckets=N        table size, a power of two (default 1 Mi)\n"
		"  --gen-bytes=B --chunk-bytes=B --no-align   arena geometry\n"
		"  --evacuate=PCT|auto  evacuate generations below PCT%% live (0: never);\n"
		"                     auto (default) moves PCT to keep generation\n"
		"                     memory within --budget=PCT (120) of live entries\n"
		"  --evacuate-age=MS  only generations full for at least MS\n"
		"  --no-segregate     one generation per worker for new keys and rewrites\n"
		"  --trim-ms=MS       malloc_trim(0) every MS in the maintenance thread\n"
		"                     (default off; only matters with TTAK_BLOCK_MAP_MIN=0)\n"
		"  --sweep-ms=MS      sweep the whole table for expired entries every MS (100)\n"
		"  --gen-mmap         mallopt(M_MMAP_THRESHOLD) at the generation size, so\n"
		"                     glibc maps each generation and unmaps it when flushed\n"
		"                     (only with TTAK_BLOCK_MAP_MIN=0: otherwise libttak maps\n"
		"                     every block of 16 KiB and more on its own already)\n"
		"  --csv=FILE         per-second samples for plotting\n"
		"  --label=TEXT       name of this run in the summary\n"
		"  --quiet            no per-second lines\n", prog);
	exit(2);
}

/* The options of the cache itself; false if @c is none of them. */
static bool cache_option(int c, const char *arg)
{
	struct ttl_cache_config *cc = &cfg.cache;

	switch (c) {
	case 'T':
		cc->ttl_ms = strtoull(arg, NULL, 0);
		break;
	case 'b':
		cc->buckets = strtoull(arg, NULL, 0);
		break;
	case 'g':
		cc->gen_bytes = strtoull(arg, NULL, 0);
		break;
	case 'c':
		cc->chunk_bytes = strtoull(arg, NULL, 0);
		break;
	case 'n':
		cc->align = false;
		break;
	case 'e':
		cc->evacuate_auto = !strcmp(arg, "auto");
		if (!cc->evacuate_auto)
			cc->evacuate_pct = (unsigned int)atoi(arg);
		break;
	case 'B':
		cc->budget_pct = (unsigned int)atoi(arg);
		break;
	case 'M':
		cc->trim_ms = (unsigned int)atoi(arg);
		break;
	case 'S':
		cc->sweep_ms = (unsigned int)atoi(arg);
		break;
	case 'P':
		cc->gen_mmap = true;
		break;
	case 'E':
		cc->evacuate_age_ms = (unsigned int)atoi(arg);
		break;
	case 's':
		cc->segregate = false;
		break;
	default:
		return false;
	}
	return true;
}

/* The workload's and the output's options; false if @c is none. */
static bool bench_option(int c, const char *arg)
{
	switch (c) {
	case 't':
		cfg.threads = atoi(arg);
		break;
	case 'd':
		cfg.duration = atoi(arg);
		break;
	case 'a':
		if (!strcmp(arg, "arena"))
			cfg.cache.arena = true;
		else if (!strcmp(arg, "malloc"))
			cfg.cache.arena = false;
		else
			return false;
		break;
	case 'k':
		cfg.keys = strtoull(arg, NULL, 0);
		break;
	case 'K':
		cfg.hot_keys = strtoull(arg, NULL, 0);
		break;
	case 'H':
		cfg.hot_pct = (unsigned int)atoi(arg);
		break;
	case 'w':
		cfg.write_pct = (unsigned int)atoi(arg);
		break;
	case 'o':
		cfg.csv = arg;
		break;
	case 'l':
		cfg.label = arg;
		break;
	case 'q':
		cfg.quiet = true;
		break;
	default:
		return false;
	}
	return true;
}

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", 1, NULL, 't' }, { "duration", 1, NULL, 'd' },
		{ "alloc", 1, NULL, 'a' }, { "keys", 1, NULL, 'k' },
		{ "hot-keys", 1, NULL, 'K' }, { "hot-pct", 1, NULL, 'H' },
		{ "write-pct", 1, NULL, 'w' }, { "ttl-ms", 1, NULL, 'T' },
		{ "buckets", 1, NULL, 'b' }, { "gen-bytes", 1, NULL, 'g' },
		{ "chunk-bytes", 1, NULL, 'c' }, { "no-align", 0, NULL, 'n' },
		{ "evacuate", 1, NULL, 'e' }, { "evacuate-age", 1, NULL, 'E' },
		{ "csv", 1, NULL, 'o' }, { "label", 1, NULL, 'l' },
		{ "quiet", 0, NULL, 'q' }, { "help", 0, NULL, 'h' },
		{ "no-segregate", 0, NULL, 's' }, { "budget", 1, NULL, 'B' },
		{ "trim-ms", 1, NULL, 'M' }, { "sweep-ms", 1, NULL, 'S' },
		{ "gen-mmap", 0, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	const char *s;
	int c;

	ttl_cache_config_init(&cfg.cache);
	s = getenv("TTAK_BENCH_THREADS");
	if (s && atoi(s) > 0)
		cfg.threads = atoi(s);
	s = getenv("TTAK_BENCH_DURATION_SEC");
	if (s && atoi(s) > 0)
		cfg.duration = atoi(s);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (!cache_option(c, optarg) && !bench_option(c, optarg))
			usage(argv[0]);
	if (cfg.threads < 1 || cfg.threads > MAX_THREADS || cfg.duration < 1 ||
	    cfg.hot_keys < 1 || cfg.keys <= cfg.hot_keys || cfg.hot_pct > 100 ||
	    cfg.write_pct > 100 || !ttl_cache_config_valid(&cfg.cache))
		usage(argv[0]);
	if (!cfg.label)
		cfg.label = cfg.cache.arena ? "arena" : "malloc";
}

/* ---- output ---- */

static void print_header(void)
{
	const struct ttl_cache_config *cc = &cfg.cache;

	printf("# ttl_cache_bench_lockfree: %s, %d worker threads + 1 maintenance, %d s\n",
	       cfg.label, cfg.threads, cfg.duration);
	printf("# keys %llu (hot %llu take %u%%), writes %u%%, TTL %llu ms, %zu buckets, probe %d, value %d B, entry %zu B\n",
	       (unsigned long long)cfg.keys, (unsigned long long)cfg.hot_keys,
	       cfg.hot_pct, cfg.write_pct, (unsigned long long)cc->ttl_ms,
	       cc->buckets, TTL_PROBE_LIMIT, TTL_VALUE_BYTES, geo.entry_size);
	if (cc->arena)
		printf("# arena: generation %zu B, chunk %zu B (stride %zu, %s, %llu entries), evacuate below %s%u%% live after %u ms%s\n",
		       cc->gen_bytes, cc->chunk_bytes, geo.stride,
		       cc->align ? "cache aligned" : "unaligned",
		       (unsigned long long)geo.entries_per_gen,
		       cc->evacuate_auto ? "auto from " : "",
		       cc->evacuate_pct, cc->evacuate_age_ms,
		       cc->segregate ? ", new keys and rewrites in separate generations" : "");
	if (cc->arena && cc->evacuate_auto)
		printf("# arena: evacuation budget: generations may hold %u%% of the live entries%s\n",
		       cc->budget_pct, cc->gen_mmap ? "; generations mmapped one by one" : "");
	if (cc->arena)
		printf("# arena: block memory: TTAK_BLOCK_MAP_MIN=%s TTAK_BLOCK_CACHE_BYTES=%s (unset: libttak's defaults, 16K and 512K)\n",
		       getenv("TTAK_BLOCK_MAP_MIN") ? getenv("TTAK_BLOCK_MAP_MIN") : "unset",
		       getenv("TTAK_BLOCK_CACHE_BYTES") ? getenv("TTAK_BLOCK_CACHE_BYTES") : "unset");
	if (cfg.threads >= 2)
		bench_machine_note();
	if (!cfg.quiet)
		printf("%5s %10s %6s %6s %6s %9s %7s %10s %8s %9s %9s %9s %7s %8s\n",
		       "time", "ops/s", "hit%", "miss%", "exp%", "writes/s",
		       "lat_ns", "epoch", "rss_MiB", "live", "flush/s",
		       "retire/s", "gens", "pend_MiB");
}

static void open_csv(struct run *r)
{
	if (!cfg.csv)
		return;
	r->csv = fopen(cfg.csv, "w");
	bench_check(r->csv, "cannot write %s", cfg.csv);
	fprintf(r->csv, "# sec ops_per_s rss_mib live_entries flushes_per_s retires_per_s bound_mib\n");
}

static void sleep_until(uint64_t target)
{
	uint64_t t = bench_now_ns();
	struct timespec ts;

	if (target <= t)
		return;
	ts.tv_sec = (time_t)((target - t) / 1000000000ULL);
	ts.tv_nsec = (long)((target - t) % 1000000000ULL);
	nanosleep(&ts, NULL);
}

/* The figures of the second since @r->prev. */
static void take_second(struct run *r, struct second *s)
{
	struct totals *cur = &s->cur, *prev = &r->prev;
	uint64_t t_now = bench_now_ns();

	snapshot(cur);
	s->flush = ttl_cache_flushed(cache, &s->pend);
	s->rss = bench_rss_bytes();
	s->dt = (double)(t_now - r->t_prev) / 1e9;
	s->ops = (double)(cur->ops - prev->ops) / s->dt;
	s->reads = (double)((cur->c.hits - prev->c.hits) +
			    (cur->c.misses - prev->c.misses) +
			    (cur->c.expired - prev->c.expired));
	s->lat = cur->lat_samples - prev->lat_samples ?
		 (double)(cur->lat_ns - prev->lat_ns) /
		 (double)(cur->lat_samples - prev->lat_samples) : 0;
	s->live = (double)cur->c.in_table;
	s->bound = s->live * (double)geo.entry_bytes + (double)geo.table_bytes;
	r->t_prev = t_now;
}

static double per_read(const struct second *s, uint64_t now, uint64_t then)
{
	return s->reads ? 100.0 * (double)(now - then) / s->reads : 0;
}

static void print_second(int sec, const struct run *r, const struct second *s)
{
	const struct ttl_cache_totals *c = &s->cur.c, *p = &r->prev.c;

	if (!cfg.quiet)
		printf("%5d %10.0f %6.1f %6.1f %6.1f %9.0f %7.1f %10llu %8.1f %9.0f %9.0f %9.0f %7llu %8.1f\n",
		       sec, s->ops, per_read(s, c->hits, p->hits),
		       per_read(s, c->misses, p->misses),
		       per_read(s, c->expired, p->expired),
		       (double)(c->writes - p->writes) / s->dt, s->lat,
		       (unsigned long long)ttl_cache_epoch(cache),
		       (double)s->rss / MIB, s->live,
		       (double)(s->flush - r->prev_flush) / s->dt,
		       (double)(c->retires - p->retires) / s->dt,
		       (unsigned long long)(c->gens_begun - c->gens_retired),
		       (double)s->pend / MIB);
	if (r->csv)
		fprintf(r->csv, "%d %.0f %.2f %.0f %.0f %.0f %.2f\n", sec,
			s->ops, (double)s->rss / MIB, s->live,
			(double)(s->flush - r->prev_flush) / s->dt,
			(double)(c->retires - p->retires) / s->dt,
			s->bound / MIB);
	fflush(stdout);
}

/* Keep what the summary needs of second @sec. */
static void account_second(struct run *r, int sec, const struct second *s)
{
	double rss = (double)s->rss;

	r->pend_sum += (double)s->pend;
	r->sum_ops += s->ops;
	if (s->rss > r->rss_max)
		r->rss_max = s->rss;
	r->rss = s->rss;
	/* steady state: after the first TTL plus two seconds */
	if (sec > 2 + (int)(cfg.cache.ttl_ms / 1000)) {
		r->rss_sum += rss;
		r->live_sum += s->live;
		r->n_steady++;
	}
	if (sec > cfg.duration / 4 && sec <= cfg.duration / 2) {
		r->rss_sum_2nd += rss;
		r->norm_2nd += rss / s->bound;
		r->n_2nd++;
	}
	if (sec > 3 * cfg.duration / 4) {
		r->rss_sum_4th += rss;
		r->norm_4th += rss / s->bound;
		r->n_4th++;
	}
	r->prev = s->cur;
	r->prev_flush = s->flush;
}

static void run_seconds(struct run *r, uint64_t t_start)
{
	struct second s;
	int sec;

	snapshot(&r->prev);
	r->t_prev = bench_now_ns();
	for (sec = 1; sec <= cfg.duration; sec++) {
		sleep_until(t_start + (uint64_t)sec * 1000000000ULL);
		take_second(r, &s);
		print_second(sec, r, &s);
		account_second(r, sec, &s);
	}
}

/* ---- summary ---- */

struct summary {
	double ops;		/* mean ops/s */
	double rss, live;	/* steady state */
	double bound;		/* live x entry + table */
	double flat, nflat;	/* last quarter / second quarter */
};

static void summarise(const struct totals *t, const struct run *r,
		      struct summary *m)
{
	bool both = r->n_2nd && r->n_4th;

	m->ops = r->sum_ops / cfg.duration;
	m->rss = r->n_steady ? r->rss_sum / r->n_steady : (double)r->rss;
	m->live = r->n_steady ? r->live_sum / r->n_steady :
				(double)t->c.in_table;
	m->bound = m->live * (double)geo.entry_bytes + (double)geo.table_bytes;
	m->flat = both ? (r->rss_sum_4th / r->n_4th) /
			 (r->rss_sum_2nd / r->n_2nd) : 0;
	m->nflat = both ? r->norm_4th / r->norm_2nd * r->n_2nd / r->n_4th : 0;
}

static void print_counts(const struct ttl_cache_totals *c, const struct run *r)
{
	struct mallinfo2 mi;

	printf("# summary %s: writes %llu, entries retired %llu, evictions %llu, generations begun %llu retired %llu, survivors moved %llu, corrupt reads %llu\n",
	       cfg.label, (unsigned long long)c->writes,
	       (unsigned long long)c->retires,
	       (unsigned long long)c->evictions,
	       (unsigned long long)c->gens_begun,
	       (unsigned long long)c->gens_retired,
	       (unsigned long long)c->moved,
	       (unsigned long long)c->bad_reads);
	mi = mallinfo2();
	printf("# summary %s: malloc at the end: %.1f MiB in use, %.1f MiB free but held, %.1f MiB mmapped; %zu generations listed full; retired generations waiting for a flush: %.1f MiB on average\n",
	       cfg.label, (double)mi.uordblks / MIB, (double)mi.fordblks / MIB,
	       (double)mi.hblkhd / MIB, ttl_cache_gens_listed(cache),
	       r->pend_sum / cfg.duration / MIB);
}

static void print_summary(const struct totals *t, const struct run *r)
{
	const struct ttl_cache_totals *c = &t->c;
	uint64_t reads = c->hits + c->misses + c->expired;
	struct summary m;

	summarise(t, r, &m);
	printf("# summary %s: %.0f ops/s mean over %d s, %d threads; hit %.1f%% miss %.1f%% expired %.1f%%; mean op latency %.1f ns (sampled)\n",
	       cfg.label, m.ops, cfg.duration, cfg.threads,
	       bench_pct(c->hits, reads), bench_pct(c->misses, reads),
	       bench_pct(c->expired, reads),
	       t->lat_samples ? (double)t->lat_ns / (double)t->lat_samples : 0);
	printf("# summary %s: steady RSS %.1f MiB (max %.1f, at start %.1f); live entries %.0f; live x entry + table = %.1f MiB; ratio %.2f; RSS last quarter / second quarter %.3f (of RSS / bound: %.3f)\n",
	       cfg.label, m.rss / MIB, (double)r->rss_max / MIB,
	       (double)r->rss0 / MIB, m.live, m.bound / MIB, m.rss / m.bound,
	       m.flat, m.nflat);
	print_counts(c, r);
	/* the line run_bench.sh reads */
	printf("SUMMARY label=%s ops=%.0f rss_mib=%.2f bound_mib=%.2f rss_ratio=%.3f flat=%.3f nflat=%.3f bad=%llu threads=%d duration=%d\n",
	       cfg.label, m.ops, m.rss / MIB, m.bound / MIB, m.rss / m.bound,
	       m.flat, m.nflat, (unsigned long long)c->bad_reads,
	       cfg.threads, cfg.duration);
}

int main(int argc, char **argv)
{
	struct run r = { 0 };
	struct totals end;
	uint64_t t_start;

	parse(argc, argv);
	r.rss0 = bench_rss_bytes();
	cache = ttl_cache_create(&cfg.cache, cfg.threads);
	ttl_cache_geometry(cache, &geo);
	open_csv(&r);
	print_header();

	t_start = bench_now_ns();
	start_workers();
	ttl_cache_start(cache, t_start);
	run_seconds(&r, t_start);
	stop_workers();
	ttl_cache_stop(cache);
	snapshot(&end);

	print_summary(&end, &r);
	bench_check(end.ops > 0 && end.c.writes > 0 && end.c.hits > 0,
		    "the cache did no work");
	bench_check(!end.c.bad_reads, "%llu reads saw a torn or reused entry",
		    (unsigned long long)end.c.bad_reads);
	if (r.csv)
		fclose(r.csv);
	ttl_cache_destroy(cache);
	free(workers);
	return 0;
}
