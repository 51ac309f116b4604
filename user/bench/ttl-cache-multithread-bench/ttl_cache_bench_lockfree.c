// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A multi-threaded TTL cache on ttak: lock-free open addressing, readers
 * inside EBR sections, entries carved from arena generations.
 *
 * Table. 1 Mi buckets of one word each; a key may sit in any of the 4
 * buckets from its hash (probe limit 4). A bucket holds the entry pointer
 * with a 16-bit tag of the key's hash in its top bits, so a reader
 * dereferences an entry only when the tag matches. Writers publish with
 * compare-and-swap; an entry is never changed once published: a write
 * makes a new entry and swaps it in.
 *
 * Entry lifecycle (--alloc=arena, the default). Each worker carves its
 * entries from its current generation; a full generation goes to the
 * maintenance thread's list. Every generation counts its live entries:
 * +1 when carved, -1 when the entry leaves the table (replaced, expired,
 * evicted). A generation whose count reaches zero is retired with
 * ttak_arena_generation_retire() and flushed by the next rotation, which
 * frees it only after a grace period: a reader still holding one of its
 * entries is inside a section that started before the entry left the
 * table. So the grace period is paid once per generation, not per entry.
 *
 * Keeping RSS bounded. An entry of a hot key dies within milliseconds,
 * one of a cold key lives a whole TTL, and a generation lives as long as
 * its longest-lived entry: mostly-dead generations would pin memory.
 * The maintenance thread therefore evacuates a generation whose live
 * share has fallen below --evacuate percent: it copies each survivor
 * into its own generation (survivors are grouped with survivors, like a
 * generational GC promotes them) and swaps the copy in; the old
 * generation then drains to zero and is retired. Expired entries it
 * meets are removed instead of copied.
 *
 * Epochs. The maintenance thread wakes every millisecond: it advances
 * the coarse clock readers compare TTLs against, sweeps a slice of the
 * table for expired entries, retires dead generations, evacuates
 * sparse ones, rotates the GC (one epoch) and seeds up to four fresh
 * generations per epoch into a pool that workers take from.
 *
 * --alloc=malloc is the baseline: entries from malloc(), each retired
 * with ttak_epoch_retire(entry, free).
 */
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem_tree/mem_tree.h>

#include "bench_common.h"

#define VALUE_BYTES	256
#define VALUE_WORDS	(VALUE_BYTES / 8)
#define PROBE_LIMIT	4
#define POOL_SLOTS	4
#define MAX_THREADS	64
#define TICK_NS		1000000ULL
#define LAT_SAMPLE_MASK	127	/* time one op in 128 */
#define WALK_TICKS	4	/* generations walked every 4 ms */
#define PTR_MASK	((1ULL << 48) - 1)

struct gen_meta;

struct entry {
	uint64_t key;
	uint64_t expires_ms;
	struct gen_meta *gen;		/* NULL for malloc'ed entries */
	uint64_t stamp;
	_Atomic uint32_t dead;		/* set once the entry left the table */
	uint64_t value[VALUE_WORDS];
};

/* Lives in the first chunk of its own generation. */
struct gen_meta {
	ttak_arena_generation_t gen;
	_Atomic int64_t live;		/* carved and still in the table */
	uint32_t carved;
	uint64_t full_ms;
	struct entry *first;
	struct gen_meta *next;		/* full stack, then maintenance list */
};

struct config {
	int threads;
	int duration;
	bool arena;
	uint64_t keys;
	uint64_t hot_keys;
	unsigned int hot_pct;
	unsigned int write_pct;
	uint64_t ttl_ms;
	size_t buckets;
	size_t gen_bytes;
	size_t chunk_bytes;
	bool align;
	unsigned int evacuate_pct;
	unsigned int evacuate_age_ms;
	bool segregate;
	bool evacuate_auto;
	unsigned int budget_pct;	/* auto: generation bytes / live bytes */
	unsigned int trim_ms;		/* malloc_trim(0) this often, 0 never */
	unsigned int sweep_ms;		/* whole table swept this often */
	bool gen_mmap;			/* generations mapped one by one */
	const char *csv;
	const char *label;
	bool quiet;
};

/* Counters of one thread; only the owner writes them. */
struct counters {
	alignas(64) _Atomic uint64_t ops;
	_Atomic uint64_t hits;
	_Atomic uint64_t misses;
	_Atomic uint64_t expired;
	_Atomic uint64_t writes;
	_Atomic uint64_t lat_ns;
	_Atomic uint64_t lat_samples;
	_Atomic uint64_t retires;	/* entries that left the table */
	_Atomic int64_t in_table;	/* inserts into empty buckets - removals */
	_Atomic uint64_t evictions;
	_Atomic uint64_t bad_reads;
	_Atomic uint64_t gens_begun;
	_Atomic uint64_t moved;
	_Atomic uint64_t gens_retired;
};

struct worker {
	alignas(64) struct counters c;
	pthread_t thread;
	uint64_t rng;
	struct gen_meta *cur[2];	/* [0] new keys, [1] rewrites */
	int id;
};

static struct config cfg = {
	.threads = 2,
	.duration = 15,
	.arena = true,
	.keys = 1 << 20,
	.hot_keys = 1 << 16,
	.hot_pct = 90,
	.write_pct = 5,
	.ttl_ms = 1000,
	.buckets = 1 << 20,
	.gen_bytes = 65536 - 128,
	.chunk_bytes = 320,
	.align = true,
	.evacuate_pct = 50,
	.evacuate_age_ms = 20,
	.segregate = true,
	.evacuate_auto = true,
	.budget_pct = 150,
	.sweep_ms = 100,
};

static _Atomic uint64_t *table;
static size_t table_mask;
static alignas(64) _Atomic uint64_t now_ms;
static alignas(64) _Atomic int stop;
static _Atomic int started;
static ttak_arena_env_t env;
static size_t entry_stride;
static _Atomic(struct gen_meta *) full_stack;
static _Atomic(struct gen_meta *) pool[POOL_SLOTS];
static struct worker maint;
static uint64_t entries_per_gen;
static uint64_t t_start_ns;

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline struct entry *slot_entry(uint64_t word)
{
	return (struct entry *)(uintptr_t)(word & PTR_MASK);
}

static inline uint64_t slot_word(struct entry *e, uint64_t tag)
{
	return (tag << 48) | (uint64_t)(uintptr_t)e;
}

static inline void cnt_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline void cnt_add_signed(_Atomic int64_t *c, int64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline uint64_t now(void)
{
	return atomic_load_explicit(&now_ms, memory_order_relaxed);
}

/* ---- generations ---- */

static struct gen_meta *gen_new(struct worker *w)
{
	ttak_arena_generation_t g;
	struct gen_meta *m;

	if (!ttak_arena_generation_begin(&env, &g, 0))
		return NULL;
	m = ttak_arena_generation_claim(&env, &g, sizeof(*m));
	bench_check(m, "no room for generation metadata");
	memset(m, 0, sizeof(*m));
	m->gen = g;
	atomic_store_explicit(&m->live, 0, memory_order_relaxed);
	cnt_add(&w->c.gens_begun, 1);
	return m;
}

/* Hand a full generation to the maintenance thread. */
static void gen_seal(struct gen_meta *m)
{
	struct gen_meta *head = atomic_load_explicit(&full_stack,
						     memory_order_relaxed);

	m->full_ms = now();
	do {
		m->next = head;
	} while (!atomic_compare_exchange_weak_explicit(&full_stack, &head, m,
							memory_order_release,
							memory_order_relaxed));
}

/*
 * @cls 1: the entry replaces a live entry of its key (a key rewritten
 * within its TTL, likely to be rewritten again soon); 0: a key not in
 * the table, likely to live until it expires. Keeping the two apart
 * lets generations die whole instead of being pinned by one survivor.
 */
static struct entry *entry_alloc(struct worker *w, int cls)
{
	struct gen_meta **cur = &w->cur[cls];
	struct entry *e;
	int i;

	if (!cfg.arena) {
		e = malloc(sizeof(*e));
		if (e)
			e->gen = NULL;
		return e;
	}
	for (;;) {
		if (*cur) {
			e = ttak_arena_generation_claim(&env, &(*cur)->gen, 0);
			if (e) {
				if (!(*cur)->carved++)
					(*cur)->first = e;
				atomic_fetch_add_explicit(&(*cur)->live, 1,
							  memory_order_relaxed);
				e->gen = *cur;
				atomic_store_explicit(&e->dead, 0,
						      memory_order_relaxed);
				return e;
			}
			gen_seal(*cur);
			*cur = NULL;
		}
		for (i = 0; i < POOL_SLOTS && !*cur; i++)
			*cur = atomic_exchange_explicit(&pool[i], NULL,
							memory_order_acquire);
		if (!*cur)
			*cur = gen_new(w);
		if (!*cur)
			return NULL;
	}
}

/* @e left the table: it dies once no reader can hold it. */
static void entry_dead(struct worker *w, struct entry *e)
{
	cnt_add(&w->c.retires, 1);
	if (e->gen) {
		/* readers never look at it: it only spares evacuate() a probe */
		atomic_store_explicit(&e->dead, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(&e->gen->live, 1, memory_order_release);
	}
	else
		ttak_epoch_retire(e, free);
}

/* ---- table ---- */

static void entry_fill(struct entry *e, uint64_t key, uint64_t stamp)
{
	int i;

	e->key = key;
	e->expires_ms = now() + cfg.ttl_ms;
	e->stamp = stamp;
	for (i = 0; i < VALUE_WORDS; i++)
		e->value[i] = stamp + (uint64_t)i;
}

enum lookup { L_MISS, L_HIT, L_EXPIRED };

/* Caller is inside an epoch section. */
static enum lookup cache_get(struct worker *w, uint64_t key, uint64_t *out)
{
	uint64_t h = mix64(key), tag = h >> 48, word;
	size_t idx = h & table_mask;
	struct entry *e;
	int i;

	for (i = 0; i < PROBE_LIMIT; i++) {
		_Atomic uint64_t *slot = &table[(idx + i) & table_mask];

		word = atomic_load_explicit(slot, memory_order_acquire);
		if (!word || word >> 48 != tag)
			continue;
		e = slot_entry(word);
		if (e->key != key)
			continue;
		if (e->expires_ms > now()) {
			/* an entry is immutable once published */
			if (e->value[VALUE_WORDS - 1] - e->value[0] !=
			    VALUE_WORDS - 1 || e->value[0] != e->stamp)
				cnt_add(&w->c.bad_reads, 1);
			*out = e->value[0];
			return L_HIT;
		}
		if (atomic_compare_exchange_strong_explicit(slot, &word, 0,
							    memory_order_acq_rel,
							    memory_order_relaxed)) {
			cnt_add_signed(&w->c.in_table, -1);
			entry_dead(w, e);
		}
		return L_EXPIRED;
	}
	return L_MISS;
}

/* Is @key in the table (caller inside a section)? */
static bool cache_has(uint64_t key)
{
	uint64_t h = mix64(key), tag = h >> 48, word;
	size_t idx = h & table_mask;
	int i;

	for (i = 0; i < PROBE_LIMIT; i++) {
		word = atomic_load_explicit(&table[(idx + i) & table_mask],
					    memory_order_acquire);
		if (word && word >> 48 == tag && slot_entry(word)->key == key)
			return true;
	}
	return false;
}

/*
 * Publish @n for its key (caller inside a section). Replaces the key's
 * entry, else fills an empty bucket, else an expired one, else evicts
 * the one that expires first. Returns false only if @n was not used.
 */
static void cache_put(struct worker *w, struct entry *n)
{
	uint64_t h = mix64(n->key), tag = h >> 48, word, nw = slot_word(n, tag);
	size_t idx = h & table_mask;
	uint64_t t = now();

	for (;;) {
		_Atomic uint64_t *empty = NULL, *stale = NULL, *victim = NULL;
		uint64_t stale_w = 0, victim_w = 0, victim_exp = UINT64_MAX;
		int i;

		for (i = 0; i < PROBE_LIMIT; i++) {
			_Atomic uint64_t *slot = &table[(idx + i) & table_mask];
			struct entry *e;

			word = atomic_load_explicit(slot, memory_order_acquire);
			if (!word) {
				if (!empty)
					empty = slot;
				continue;
			}
			e = slot_entry(word);
			if (word >> 48 == tag && e->key == n->key) {
				if (atomic_compare_exchange_strong_explicit(
					    slot, &word, nw, memory_order_acq_rel,
					    memory_order_relaxed)) {
					entry_dead(w, e);
					return;
				}
				goto again;
			}
			if (e->expires_ms <= t && !stale) {
				stale = slot;
				stale_w = word;
			}
			if (e->expires_ms < victim_exp) {
				victim = slot;
				victim_w = word;
				victim_exp = e->expires_ms;
			}
		}
		if (empty) {
			word = 0;
			if (atomic_compare_exchange_strong_explicit(
				    empty, &word, nw, memory_order_acq_rel,
				    memory_order_relaxed)) {
				cnt_add_signed(&w->c.in_table, 1);
				return;
			}
			continue;
		}
		if (!stale) {
			stale = victim;
			stale_w = victim_w;
			cnt_add(&w->c.evictions, 1);
		}
		if (atomic_compare_exchange_strong_explicit(
			    stale, &stale_w, nw, memory_order_acq_rel,
			    memory_order_relaxed)) {
			entry_dead(w, slot_entry(stale_w));
			return;
		}
again:
		;
	}
}

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

	if ((r >> 32) % 100 < cfg.write_pct) {
		struct entry *n;
		int cls = 0;

		if (cfg.arena && cfg.segregate) {
			ttak_epoch_enter();
			cls = cache_has(key);
			ttak_epoch_exit();
		}
		n = entry_alloc(w, cls);

		bench_check(n, "entry allocation failed");
		entry_fill(n, key, r);
		ttak_epoch_enter();
		cache_put(w, n);
		ttak_epoch_exit();
		cnt_add(&w->c.writes, 1);
		return;
	}
	ttak_epoch_enter();
	switch (cache_get(w, key, &v)) {
	case L_HIT:
		cnt_add(&w->c.hits, 1);
		*sink += v;
		break;
	case L_EXPIRED:
		cnt_add(&w->c.expired, 1);
		break;
	default:
		cnt_add(&w->c.misses, 1);
		break;
	}
	ttak_epoch_exit();
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t sink = 0, n = 0, t0, t1;
	int i;

	ttak_epoch_register_thread();
	atomic_fetch_add(&started, 1);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (i = 0; i < 256; i++, n++) {
			if (!(n & LAT_SAMPLE_MASK)) {
				t0 = bench_now_ns();
				one_op(w, &sink);
				t1 = bench_now_ns();
				cnt_add(&w->c.lat_ns, t1 - t0);
				cnt_add(&w->c.lat_samples, 1);
			} else {
				one_op(w, &sink);
			}
		}
		cnt_add(&w->c.ops, 256);
	}
	bench_keep(sink);
	for (i = 0; i < 2; i++) {
		if (w->cur[i]) {
			gen_seal(w->cur[i]);
			w->cur[i] = NULL;
		}
	}
	ttak_epoch_deregister_thread();
	return NULL;
}

/* ---- maintenance ---- */

static struct gen_meta *gen_list;	/* maintenance thread only */
static size_t gen_list_len;
static size_t sweep_cursor;

static void sweep_slice(size_t count)
{
	uint64_t t = now();
	size_t i;

	ttak_epoch_enter();
	for (i = 0; i < count; i++) {
		_Atomic uint64_t *slot = &table[sweep_cursor];
		uint64_t word = atomic_load_explicit(slot, memory_order_acquire);

		sweep_cursor = (sweep_cursor + 1) & table_mask;
		if (!word || slot_entry(word)->expires_ms > t)
			continue;
		if (atomic_compare_exchange_strong_explicit(slot, &word, 0,
							    memory_order_acq_rel,
							    memory_order_relaxed)) {
			cnt_add_signed(&maint.c.in_table, -1);
			entry_dead(&maint, slot_entry(word));
		}
	}
	ttak_epoch_exit();
}

/* Copy the survivors of @m elsewhere so that @m drains. */
static void evacuate(struct gen_meta *m)
{
	uint64_t t = now();
	uint32_t k;

	ttak_epoch_enter();
	for (k = 0; k < m->carved; k++) {
		struct entry *e = (struct entry *)((char *)m->first +
						   (size_t)k * entry_stride);
		uint64_t h = mix64(e->key), word = slot_word(e, h >> 48);
		size_t idx = h & table_mask;
		_Atomic uint64_t *slot = NULL;
		struct entry *n;
		int i;

		if (atomic_load_explicit(&e->dead, memory_order_relaxed))
			continue;
		for (i = 0; i < PROBE_LIMIT; i++) {
			_Atomic uint64_t *s = &table[(idx + i) & table_mask];

			if (atomic_load_explicit(s, memory_order_acquire) == word) {
				slot = s;
				break;
			}
		}
		if (!slot)
			continue;	/* already out of the table */
		if (e->expires_ms <= t) {
			if (atomic_compare_exchange_strong_explicit(
				    slot, &word, 0, memory_order_acq_rel,
				    memory_order_relaxed)) {
				cnt_add_signed(&maint.c.in_table, -1);
				entry_dead(&maint, e);
			}
			continue;
		}
		n = entry_alloc(&maint, 0);
		if (!n)
			break;
		memcpy(n, e, sizeof(*n));
		n->gen = maint.cur[0];
		if (atomic_compare_exchange_strong_explicit(
			    slot, &word, slot_word(n, h >> 48),
			    memory_order_acq_rel, memory_order_relaxed)) {
			entry_dead(&maint, e);
			cnt_add(&maint.c.moved, 1);
		} else {
			/* replaced meanwhile: the copy was never published */
			atomic_store_explicit(&n->dead, 1, memory_order_relaxed);
			atomic_fetch_sub_explicit(&n->gen->live, 1,
						  memory_order_release);
		}
	}
	ttak_epoch_exit();
}

static struct worker *workers;

struct candidate {
	struct gen_meta *m;
	int64_t live;
};

static struct candidate *cands;
static size_t cands_cap;

static int cmp_candidate(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	return (x->live > y->live) - (x->live < y->live);
}

/* Entries the existing generations can hold, minus the budget for the live. */
static int64_t capacity_excess(void)
{
	int64_t live = atomic_load_explicit(&maint.c.in_table,
					    memory_order_relaxed);
	int64_t gens = (int64_t)(atomic_load_explicit(&maint.c.gens_begun,
						      memory_order_relaxed) -
				 atomic_load_explicit(&maint.c.gens_retired,
						      memory_order_relaxed));
	int i;

	for (i = 0; i < cfg.threads; i++) {
		live += atomic_load_explicit(&workers[i].c.in_table,
					     memory_order_relaxed);
		gens += (int64_t)atomic_load_explicit(&workers[i].c.gens_begun,
						      memory_order_relaxed);
	}
	if (live < 0)
		live = 0;
	return gens * (int64_t)entries_per_gen -
	       live * (int64_t)cfg.budget_pct / 100;
}

static void retire_generation(struct gen_meta *m)
{
	ttak_arena_generation_t g = m->gen;	/* m lives inside g */

	bench_check(ttak_arena_generation_retire(&env, &g),
		    "generation retire failed");
	cnt_add(&maint.c.gens_retired, 1);
}

/*
 * Walk the full generations: retire the drained ones, and pick the ones
 * to evacuate. With --evacuate=auto, while the generations could hold
 * more than the budget of live entries, evacuate the sparsest first
 * (fewest copies per generation freed, as a log-structured file system
 * picks segments to clean); with a fixed percentage, every generation
 * below it.
 */
static bool walk_generations(uint64_t t)
{
	struct gen_meta *m, **pp;
	size_t n = 0, i;
	bool retired = false;
	int64_t excess;

	if (gen_list_len > cands_cap) {
		cands_cap = gen_list_len * 2;
		cands = realloc(cands, cands_cap * sizeof(*cands));
		bench_check(cands, "no memory for candidates");
	}
	for (pp = &gen_list; (m = *pp);) {
		int64_t live = atomic_load_explicit(&m->live,
						    memory_order_acquire);

		if (live == 0) {
			*pp = m->next;
			gen_list_len--;
			retire_generation(m);
			retired = true;
			continue;
		}
		if (t - m->full_ms >= cfg.evacuate_age_ms && n < cands_cap) {
			cands[n].m = m;
			cands[n].live = live;
			n++;
		}
		pp = &m->next;
	}
	if (cfg.evacuate_auto) {
		excess = capacity_excess();
		if (excess <= 0 || !n)
			return retired;
		qsort(cands, n, sizeof(*cands), cmp_candidate);
		for (i = 0; i < n && excess > 0; i++) {
			evacuate(cands[i].m);
			excess -= (int64_t)entries_per_gen - cands[i].live;
		}
		n = i;
	} else {
		for (i = 0; i < n; i++) {
			if ((uint64_t)cands[i].live * 100 <
			    (uint64_t)cands[i].m->carved * cfg.evacuate_pct) {
				evacuate(cands[i].m);
			}
		}
	}
	/* evacuated generations have drained unless a copy lost a race */
	for (pp = &gen_list; (m = *pp);) {
		if (!atomic_load_explicit(&m->live, memory_order_acquire)) {
			*pp = m->next;
			gen_list_len--;
			retire_generation(m);
			retired = true;
			continue;
		}
		pp = &m->next;
	}
	return retired;
}

static void maintain_generations(uint64_t tick)
{
	struct gen_meta *m, *taken;
	bool retired = false;
	int i;

	taken = atomic_exchange_explicit(&full_stack, NULL, memory_order_acquire);
	while (taken) {
		m = taken;
		taken = m->next;
		m->next = gen_list;
		gen_list = m;
		gen_list_len++;
	}
	/* the walk touches every generation: not every tick */
	if (!(tick % WALK_TICKS))
		retired = walk_generations(now());
	if (retired || ttak_epoch_pending())
		ttak_arena_env_rotate(&env);
	/* four generations seeded per epoch */
	for (i = 0; i < POOL_SLOTS; i++) {
		if (atomic_load_explicit(&pool[i], memory_order_relaxed))
			continue;
		m = gen_new(&maint);
		if (!m)
			break;
		atomic_store_explicit(&pool[i], m, memory_order_release);
	}
}

static void *maint_main(void *arg)
{
	size_t slice = (table_mask + 1) / (cfg.sweep_ms ? cfg.sweep_ms : 1);
	struct timespec ts = { 0, (long)TICK_NS };
	uint64_t ticks = 0;

	(void)arg;
	ttak_epoch_register_thread();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		nanosleep(&ts, NULL);
		ticks++;
		if (cfg.trim_ms && !(ticks % cfg.trim_ms))
			malloc_trim(0);
		atomic_store_explicit(&now_ms,
				      (bench_now_ns() - t_start_ns) / 1000000,
				      memory_order_relaxed);
		sweep_slice(slice ? slice : 1);
		if (cfg.arena)
			maintain_generations(ticks);
		else
			ttak_epoch_reclaim();
	}
	ttak_epoch_deregister_thread();
	return NULL;
}

/* ---- reporting ---- */

struct totals {
	uint64_t ops, hits, misses, expired, writes, lat_ns, lat_samples;
	uint64_t retires, evictions, bad_reads, gens_begun, moved, gens_retired;
	int64_t in_table;
};

static void add_counters(struct totals *t, struct counters *c)
{
	t->ops += atomic_load(&c->ops);
	t->hits += atomic_load(&c->hits);
	t->misses += atomic_load(&c->misses);
	t->expired += atomic_load(&c->expired);
	t->writes += atomic_load(&c->writes);
	t->lat_ns += atomic_load(&c->lat_ns);
	t->lat_samples += atomic_load(&c->lat_samples);
	t->retires += atomic_load(&c->retires);
	t->in_table += atomic_load(&c->in_table);
	t->evictions += atomic_load(&c->evictions);
	t->bad_reads += atomic_load(&c->bad_reads);
	t->gens_begun += atomic_load(&c->gens_begun);
	t->moved += atomic_load(&c->moved);
	t->gens_retired += atomic_load(&c->gens_retired);
}

static void snapshot(struct totals *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < cfg.threads; i++)
		add_counters(t, &workers[i].c);
	add_counters(t, &maint.c);
}

static uint64_t flushed_total(size_t *pending_bytes)
{
	struct ttak_mem_tree_stats st;

	*pending_bytes = 0;
	if (!cfg.arena)
		return 0;
	ttak_mem_tree_get_stats(&env.gc->tree, &st);
	*pending_bytes = st.pending_bytes + st.garbage_pressure;
	return st.freed_nodes;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

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
		"                     memory within --budget=PCT (115) of live entries\n"
		"  --evacuate-age=MS  only generations full for at least MS\n"
		"  --no-segregate     one generation per worker for new keys and rewrites\n"
		"  --trim-ms=MS       malloc_trim(0) every MS in the maintenance thread\n"
		"                     (gives freed generation pages back; default off)\n"
		"  --sweep-ms=MS      sweep the whole table for expired entries every MS (100)\n"
		"  --gen-mmap         mallopt(M_MMAP_THRESHOLD) at the generation size, so\n"
		"                     glibc maps each generation and unmaps it when flushed\n"
		"  --csv=FILE         per-second samples for plotting\n"
		"  --label=TEXT       name of this run in the summary\n"
		"  --quiet            no per-second lines\n", prog);
	exit(2);
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

	s = getenv("TTAK_BENCH_THREADS");
	if (s && atoi(s) > 0)
		cfg.threads = atoi(s);
	s = getenv("TTAK_BENCH_DURATION_SEC");
	if (s && atoi(s) > 0)
		cfg.duration = atoi(s);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': cfg.threads = atoi(optarg); break;
		case 'd': cfg.duration = atoi(optarg); break;
		case 'a':
			if (!strcmp(optarg, "arena"))
				cfg.arena = true;
			else if (!strcmp(optarg, "malloc"))
				cfg.arena = false;
			else
				usage(argv[0]);
			break;
		case 'k': cfg.keys = strtoull(optarg, NULL, 0); break;
		case 'K': cfg.hot_keys = strtoull(optarg, NULL, 0); break;
		case 'H': cfg.hot_pct = (unsigned int)atoi(optarg); break;
		case 'w': cfg.write_pct = (unsigned int)atoi(optarg); break;
		case 'T': cfg.ttl_ms = strtoull(optarg, NULL, 0); break;
		case 'b': cfg.buckets = strtoull(optarg, NULL, 0); break;
		case 'g': cfg.gen_bytes = strtoull(optarg, NULL, 0); break;
		case 'c': cfg.chunk_bytes = strtoull(optarg, NULL, 0); break;
		case 'n': cfg.align = false; break;
		case 'e':
			cfg.evacuate_auto = !strcmp(optarg, "auto");
			if (!cfg.evacuate_auto)
				cfg.evacuate_pct = (unsigned int)atoi(optarg);
			break;
		case 'B': cfg.budget_pct = (unsigned int)atoi(optarg); break;
		case 'M': cfg.trim_ms = (unsigned int)atoi(optarg); break;
		case 'S': cfg.sweep_ms = (unsigned int)atoi(optarg); break;
		case 'P': cfg.gen_mmap = true; break;
		case 'E': cfg.evacuate_age_ms = (unsigned int)atoi(optarg); break;
		case 'o': cfg.csv = optarg; break;
		case 'l': cfg.label = optarg; break;
		case 'q': cfg.quiet = true; break;
		case 's': cfg.segregate = false; break;
		default: usage(argv[0]);
		}
	}
	if (cfg.threads < 1 || cfg.threads > MAX_THREADS || cfg.duration < 1 ||
	    cfg.hot_keys < 1 || cfg.keys <= cfg.hot_keys || cfg.hot_pct > 100 ||
	    cfg.write_pct > 100 || !cfg.buckets ||
	    (cfg.buckets & (cfg.buckets - 1)) || cfg.buckets < PROBE_LIMIT ||
	    cfg.chunk_bytes < sizeof(struct entry) || cfg.evacuate_pct > 100 ||
	    !cfg.sweep_ms)
		usage(argv[0]);
	if (!cfg.label)
		cfg.label = cfg.arena ? "arena" : "malloc";
}

static void setup_arena(void)
{
	ttak_arena_env_config_t ec;

	if (cfg.gen_mmap)
		bench_check(mallopt(M_MMAP_THRESHOLD, (int)(cfg.gen_bytes & ~4095UL)),
			    "mallopt");
	ttak_arena_env_config_init(&ec);
	ec.generation_bytes = cfg.gen_bytes;
	ec.chunk_bytes = cfg.chunk_bytes;
	ec.alloc_flags = TTAK_MEM_STRICT_CHECK |
			 (cfg.align ? TTAK_MEM_CACHE_ALIGNED : 0);
	bench_check(ttak_arena_env_init(&env, &ec), "arena env init");
	/* only the maintenance thread rotates */
	ttak_epoch_gc_manual_rotate(env.gc, true);
	entry_stride = cfg.align ?
		(cfg.chunk_bytes + TTAK_CACHE_LINE_SIZE - 1) &
		~(size_t)(TTAK_CACHE_LINE_SIZE - 1) : cfg.chunk_bytes;
	bench_check(sizeof(struct gen_meta) + entry_stride <= cfg.gen_bytes,
		    "generation too small for one entry");
	entries_per_gen = (cfg.gen_bytes - ((sizeof(struct gen_meta) + 63) & ~63UL)) /
			  entry_stride;
}

int main(int argc, char **argv)
{
	struct totals prev, cur;
	uint64_t prev_flush = 0, flush, t_prev, t_now;
	double sum_ops = 0, rss_sum_2nd = 0, rss_sum_4th = 0;
	double live_sum = 0, rss_sum = 0, pend_sum = 0;
	double norm_2nd = 0, norm_4th = 0;
	size_t entry_bytes;
	int n_2nd = 0, n_4th = 0, n_steady = 0;
	size_t rss = 0, rss_max = 0, rss0;
	pthread_t mt;
	FILE *csv = NULL;
	int sec, i;

	parse(argc, argv);
	rss0 = bench_rss_bytes();
	table_mask = cfg.buckets - 1;
	table = aligned_alloc(64, cfg.buckets * sizeof(*table));
	bench_check(table, "table");
	memset(table, 0, cfg.buckets * sizeof(*table));
	workers = aligned_alloc(64, (size_t)cfg.threads * sizeof(*workers));
	bench_check(workers, "workers");
	memset(workers, 0, (size_t)cfg.threads * sizeof(*workers));
	memset(&maint, 0, sizeof(maint));
	if (cfg.arena)
		setup_arena();
	entry_bytes = cfg.arena ? entry_stride : sizeof(struct entry);
	if (cfg.csv) {
		csv = fopen(cfg.csv, "w");
		bench_check(csv, "cannot write %s", cfg.csv);
		fprintf(csv, "# sec ops_per_s rss_mib live_entries flushes_per_s retires_per_s bound_mib\n");
	}

	printf("# ttl_cache_bench_lockfree: %s, %d worker threads + 1 maintenance, %d s\n",
	       cfg.label, cfg.threads, cfg.duration);
	printf("# keys %llu (hot %llu take %u%%), writes %u%%, TTL %llu ms, %zu buckets, probe %d, value %d B, entry %zu B\n",
	       (unsigned long long)cfg.keys, (unsigned long long)cfg.hot_keys,
	       cfg.hot_pct, cfg.write_pct, (unsigned long long)cfg.ttl_ms,
	       cfg.buckets, PROBE_LIMIT, VALUE_BYTES, sizeof(struct entry));
	if (cfg.arena)
		printf("# arena: generation %zu B, chunk %zu B (stride %zu, %s, %llu entries), evacuate below %s%u%% live after %u ms%s\n",
		       cfg.gen_bytes, cfg.chunk_bytes, entry_stride,
		       cfg.align ? "cache aligned" : "unaligned",
		       (unsigned long long)entries_per_gen,
		       cfg.evacuate_auto ? "auto from " : "",
		       cfg.evacuate_pct, cfg.evacuate_age_ms,
		       cfg.segregate ? ", new keys and rewrites in separate generations" : "");
	if (cfg.arena && cfg.evacuate_auto)
		printf("# arena: evacuation budget: generations may hold %u%% of the live entries%s\n",
		       cfg.budget_pct, cfg.gen_mmap ? "; generations mmapped one by one" : "");
	if (cfg.threads >= 2)
		printf("# note: the 2 vCPUs of this machine share roughly one physical core\n");
	if (!cfg.quiet)
		printf("%5s %10s %6s %6s %6s %9s %7s %10s %8s %9s %9s %9s %7s %8s\n",
		       "time", "ops/s", "hit%", "miss%", "exp%", "writes/s",
		       "lat_ns", "epoch", "rss_MiB", "live", "flush/s",
		       "retire/s", "gens", "pend_MiB");

	t_start_ns = bench_now_ns();
	atomic_store(&now_ms, 0);
	for (i = 0; i < cfg.threads; i++) {
		workers[i].id = i;
		workers[i].rng = mix64(0x1234567ULL + (uint64_t)i) | 1;
		bench_check(!pthread_create(&workers[i].thread, NULL,
					    worker_main, &workers[i]),
			    "worker thread");
	}
	bench_check(!pthread_create(&mt, NULL, maint_main, NULL),
		    "maintenance thread");

	snapshot(&prev);
	t_prev = bench_now_ns();
	for (sec = 1; sec <= cfg.duration; sec++) {
		uint64_t target = t_start_ns + (uint64_t)sec * 1000000000ULL;
		struct timespec ts;
		double dt, ops, reads, lat, live, bound_now;
		size_t pend;

		t_now = bench_now_ns();
		if (target > t_now) {
			ts.tv_sec = (time_t)((target - t_now) / 1000000000ULL);
			ts.tv_nsec = (long)((target - t_now) % 1000000000ULL);
			nanosleep(&ts, NULL);
		}
		t_now = bench_now_ns();
		snapshot(&cur);
		flush = flushed_total(&pend);
		rss = bench_rss_bytes();
		dt = (double)(t_now - t_prev) / 1e9;
		ops = (double)(cur.ops - prev.ops) / dt;
		reads = (double)((cur.hits - prev.hits) +
				 (cur.misses - prev.misses) +
				 (cur.expired - prev.expired));
		lat = cur.lat_samples - prev.lat_samples ?
		      (double)(cur.lat_ns - prev.lat_ns) /
		      (double)(cur.lat_samples - prev.lat_samples) : 0;
		live = (double)cur.in_table;
		if (!cfg.quiet)
			printf("%5d %10.0f %6.1f %6.1f %6.1f %9.0f %7.1f %10llu %8.1f %9.0f %9.0f %9.0f %7llu %8.1f\n",
			       sec, ops,
			       reads ? 100.0 * (double)(cur.hits - prev.hits) / reads : 0,
			       reads ? 100.0 * (double)(cur.misses - prev.misses) / reads : 0,
			       reads ? 100.0 * (double)(cur.expired - prev.expired) / reads : 0,
			       (double)(cur.writes - prev.writes) / dt, lat,
			       (unsigned long long)(cfg.arena ?
				atomic_load(&env.gc->current_epoch) : ttak_epoch_current()),
			       (double)rss / (1 << 20), live,
			       (double)(flush - prev_flush) / dt,
			       (double)(cur.retires - prev.retires) / dt,
			       (unsigned long long)(cur.gens_begun - cur.gens_retired),
			       (double)pend / (1 << 20));
		pend_sum += (double)pend;
		bound_now = live * (double)entry_bytes +
			    (double)(cfg.buckets * sizeof(*table));
		if (csv)
			fprintf(csv, "%d %.0f %.2f %.0f %.0f %.0f %.2f\n", sec, ops,
				(double)rss / (1 << 20), live,
				(double)(flush - prev_flush) / dt,
				(double)(cur.retires - prev.retires) / dt,
				bound_now / (1 << 20));
		fflush(stdout);
		sum_ops += ops;
		if (rss > rss_max)
			rss_max = rss;
		/* steady state: after the first TTL plus two seconds */
		if (sec > 2 + (int)(cfg.ttl_ms / 1000)) {
			rss_sum += (double)rss;
			live_sum += live;
			n_steady++;
		}
		if (sec > cfg.duration / 4 && sec <= cfg.duration / 2) {
			rss_sum_2nd += (double)rss;
			norm_2nd += (double)rss / bound_now;
			n_2nd++;
		}
		if (sec > 3 * cfg.duration / 4) {
			rss_sum_4th += (double)rss;
			norm_4th += (double)rss / bound_now;
			n_4th++;
		}
		prev = cur;
		prev_flush = flush;
		t_prev = t_now;
	}
	atomic_store(&stop, 1);
	for (i = 0; i < cfg.threads; i++)
		pthread_join(workers[i].thread, NULL);
	pthread_join(mt, NULL);
	snapshot(&cur);

	{
		double mean_ops = sum_ops / cfg.duration;
		double rss_steady = n_steady ? rss_sum / n_steady : (double)rss;
		double live_steady = n_steady ? live_sum / n_steady : (double)cur.in_table;
		double bound = live_steady * (double)(cfg.arena ? entry_stride :
						       sizeof(struct entry)) +
			       (double)(cfg.buckets * sizeof(*table));
		double flat = n_2nd && n_4th ?
			      (rss_sum_4th / n_4th) / (rss_sum_2nd / n_2nd) : 0;
		double nflat = n_2nd && n_4th ? norm_4th / norm_2nd *
			       n_2nd / n_4th : 0;
		uint64_t reads = cur.hits + cur.misses + cur.expired;

		printf("# summary %s: %.0f ops/s mean over %d s, %d threads; hit %.1f%% miss %.1f%% expired %.1f%%; mean op latency %.1f ns (sampled)\n",
		       cfg.label, mean_ops, cfg.duration, cfg.threads,
		       pct(cur.hits, reads), pct(cur.misses, reads),
		       pct(cur.expired, reads),
		       cur.lat_samples ? (double)cur.lat_ns / (double)cur.lat_samples : 0);
		printf("# summary %s: steady RSS %.1f MiB (max %.1f, at start %.1f); live entries %.0f; live x entry + table = %.1f MiB; ratio %.2f; RSS last quarter / second quarter %.3f (of RSS / bound: %.3f)\n",
		       cfg.label, rss_steady / (1 << 20),
		       (double)rss_max / (1 << 20), (double)rss0 / (1 << 20),
		       live_steady, bound / (1 << 20), rss_steady / bound, flat,
		       nflat);
		printf("# summary %s: writes %llu, entries retired %llu, evictions %llu, generations begun %llu retired %llu, survivors moved %llu, corrupt reads %llu\n",
		       cfg.label, (unsigned long long)cur.writes,
		       (unsigned long long)cur.retires,
		       (unsigned long long)cur.evictions,
		       (unsigned long long)cur.gens_begun,
		       (unsigned long long)cur.gens_retired,
		       (unsigned long long)cur.moved,
		       (unsigned long long)cur.bad_reads);
		{
			struct mallinfo2 mi = mallinfo2();

			printf("# summary %s: malloc at the end: %.1f MiB in use, %.1f MiB free but held, %.1f MiB mmapped; %zu generations listed full; retired generations waiting for a flush: %.1f MiB on average\n",
			       cfg.label, (double)mi.uordblks / (1 << 20),
			       (double)mi.fordblks / (1 << 20),
			       (double)mi.hblkhd / (1 << 20), gen_list_len,
			       pend_sum / cfg.duration / (1 << 20));
		}
		printf("SUMMARY label=%s ops=%.0f rss_mib=%.2f bound_mib=%.2f rss_ratio=%.3f flat=%.3f nflat=%.3f bad=%llu threads=%d duration=%d\n",
		       cfg.label, mean_ops, rss_steady / (1 << 20),
		       bound / (1 << 20), rss_steady / bound, flat, nflat,
		       (unsigned long long)cur.bad_reads, cfg.threads,
		       cfg.duration);
		bench_check(cur.ops > 0 && cur.writes > 0 && cur.hits > 0,
			    "the cache did no work");
		bench_check(!cur.bad_reads, "%llu reads saw a torn or reused entry",
			    (unsigned long long)cur.bad_reads);
	}
	if (csv)
		fclose(csv);
	if (cfg.arena)
		ttak_arena_env_destroy(&env);
	return 0;
}
