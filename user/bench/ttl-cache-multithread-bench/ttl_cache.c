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
 * meets are removed instead of copied. A flushed generation's pages go
 * back to the system (libttak maps blocks of 16 KiB and more itself and
 * keeps at most 512 KiB of freed ones resident), so RSS follows the
 * generations in use; the budget (--budget, 120 %) sets how many.
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
#include <malloc.h>
#include <pthread.h>
#include <stdalign.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem_tree/mem_tree.h>

#include "bench_common.h"
#include "ttl_cache.h"

#define VALUE_WORDS	(TTL_VALUE_BYTES / 8)
#define POOL_SLOTS	4
#define TICK_NS		1000000ULL
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

/* Counters of one thread; only the owner writes them. */
struct counters {
	_Atomic uint64_t hits;
	_Atomic uint64_t misses;
	_Atomic uint64_t expired;
	_Atomic uint64_t writes;
	_Atomic uint64_t retires;	/* entries that left the table */
	_Atomic int64_t in_table;	/* inserts into empty buckets - removals */
	_Atomic uint64_t evictions;
	_Atomic uint64_t bad_reads;
	_Atomic uint64_t gens_begun;
	_Atomic uint64_t moved;
	_Atomic uint64_t gens_retired;
};

struct ttl_cache_thread {
	alignas(64) struct counters c;
	struct gen_meta *cur[2];	/* [0] new keys, [1] rewrites */
};

struct candidate {
	struct gen_meta *m;
	int64_t live;
};

struct ttl_cache {
	struct ttl_cache_config cfg;
	_Atomic uint64_t *table;
	size_t table_mask;
	size_t entry_stride;
	uint64_t entries_per_gen;
	int nthreads;			/* the caller's */
	struct ttl_cache_thread *threads;	/* theirs, then maintenance's */
	struct ttl_cache_thread *maint;
	pthread_t maint_thread;
	uint64_t t0_ns;
	/* the maintenance thread's alone */
	struct gen_meta *gen_list;
	size_t gen_list_len;
	size_t sweep_cursor;
	struct candidate *cands;
	size_t cands_cap;
	alignas(64) _Atomic uint64_t now_ms;
	alignas(64) _Atomic int stop;
	alignas(64) _Atomic(struct gen_meta *) full_stack;
	_Atomic(struct gen_meta *) pool[POOL_SLOTS];
	alignas(64) ttak_arena_env_t env;
};

static inline struct entry *slot_entry(uint64_t word)
{
	return (struct entry *)(uintptr_t)(word & PTR_MASK);
}

static inline uint64_t slot_word(struct entry *e, uint64_t tag)
{
	return (tag << 48) | (uint64_t)(uintptr_t)e;
}

static inline uint64_t now(struct ttl_cache *c)
{
	return atomic_load_explicit(&c->now_ms, memory_order_relaxed);
}

/* ---- generations ---- */

static struct gen_meta *gen_new(struct ttl_cache *c, struct ttl_cache_thread *t)
{
	ttak_arena_generation_t g;
	struct gen_meta *m;

	if (!ttak_arena_generation_begin(&c->env, &g, 0))
		return NULL;
	m = ttak_arena_generation_claim(&c->env, &g, sizeof(*m));
	bench_check(m, "no room for generation metadata");
	memset(m, 0, sizeof(*m));
	m->gen = g;
	atomic_store_explicit(&m->live, 0, memory_order_relaxed);
	bench_cnt_add(&t->c.gens_begun, 1);
	return m;
}

/* Hand a full generation to the maintenance thread. */
static void gen_seal(struct ttl_cache *c, struct gen_meta *m)
{
	struct gen_meta *head = atomic_load_explicit(&c->full_stack,
						     memory_order_relaxed);

	m->full_ms = now(c);
	do {
		m->next = head;
	} while (!atomic_compare_exchange_weak_explicit(&c->full_stack, &head,
							m, memory_order_release,
							memory_order_relaxed));
}

/* Carve one entry from @m; NULL when @m is full. */
static struct entry *gen_carve(struct ttl_cache *c, struct gen_meta *m)
{
	struct entry *e = ttak_arena_generation_claim(&c->env, &m->gen, 0);

	if (!e)
		return NULL;
	if (!m->carved++)
		m->first = e;
	atomic_fetch_add_explicit(&m->live, 1, memory_order_relaxed);
	e->gen = m;
	atomic_store_explicit(&e->dead, 0, memory_order_relaxed);
	return e;
}

/*
 * @cls 1: the entry replaces a live entry of its key (a key rewritten
 * within its TTL, likely to be rewritten again soon); 0: a key not in
 * the table, likely to live until it expires. Keeping the two apart
 * lets generations die whole instead of being pinned by one survivor.
 */
static struct entry *entry_alloc(struct ttl_cache *c,
				 struct ttl_cache_thread *t, int cls)
{
	struct gen_meta **cur = &t->cur[cls];
	struct entry *e;
	int i;

	if (!c->cfg.arena) {
		e = malloc(sizeof(*e));
		if (e)
			e->gen = NULL;
		return e;
	}
	for (;;) {
		if (*cur) {
			e = gen_carve(c, *cur);
			if (e)
				return e;
			gen_seal(c, *cur);
			*cur = NULL;
		}
		for (i = 0; i < POOL_SLOTS && !*cur; i++)
			*cur = atomic_exchange_explicit(&c->pool[i], NULL,
							memory_order_acquire);
		if (!*cur)
			*cur = gen_new(c, t);
		if (!*cur)
			return NULL;
	}
}

/* @e left the table: it dies once no reader can hold it. */
static void entry_dead(struct ttl_cache_thread *t, struct entry *e)
{
	bench_cnt_add(&t->c.retires, 1);
	if (e->gen) {
		/* readers never look at it: it only spares evacuate() a probe */
		atomic_store_explicit(&e->dead, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(&e->gen->live, 1, memory_order_release);
	} else {
		ttak_epoch_retire(e, free);
	}
}

/* ---- table ---- */

static void entry_fill(struct ttl_cache *c, struct entry *e, uint64_t key,
		       uint64_t stamp)
{
	int i;

	e->key = key;
	e->expires_ms = now(c) + c->cfg.ttl_ms;
	e->stamp = stamp;
	for (i = 0; i < VALUE_WORDS; i++)
		e->value[i] = stamp + (uint64_t)i;
}

/* Take @word (@e) out of @slot if nobody changed it meanwhile. */
static void slot_remove(struct ttl_cache_thread *t, _Atomic uint64_t *slot,
			uint64_t word, struct entry *e)
{
	if (atomic_compare_exchange_strong_explicit(slot, &word, 0,
						    memory_order_acq_rel,
						    memory_order_relaxed)) {
		bench_cnt_add_signed(&t->c.in_table, -1);
		entry_dead(t, e);
	}
}

/* Caller is inside an epoch section. */
static enum ttl_lookup cache_get(struct ttl_cache *c,
				 struct ttl_cache_thread *t, uint64_t key,
				 uint64_t *out)
{
	uint64_t h = bench_mix64(key), tag = h >> 48, word;
	size_t idx = h & c->table_mask;
	struct entry *e;
	int i;

	for (i = 0; i < TTL_PROBE_LIMIT; i++) {
		_Atomic uint64_t *slot = &c->table[(idx + i) & c->table_mask];

		word = atomic_load_explicit(slot, memory_order_acquire);
		if (!word || word >> 48 != tag)
			continue;
		e = slot_entry(word);
		if (e->key != key)
			continue;
		if (e->expires_ms > now(c)) {
			/* an entry is immutable once published */
			if (e->value[VALUE_WORDS - 1] - e->value[0] !=
			    VALUE_WORDS - 1 || e->value[0] != e->stamp)
				bench_cnt_add(&t->c.bad_reads, 1);
			*out = e->value[0];
			return TTL_HIT;
		}
		slot_remove(t, slot, word, e);
		return TTL_EXPIRED;
	}
	return TTL_MISS;
}

/* Is @key in the table (caller inside a section)? */
static bool cache_has(struct ttl_cache *c, uint64_t key)
{
	uint64_t h = bench_mix64(key), tag = h >> 48, word;
	size_t idx = h & c->table_mask;
	int i;

	for (i = 0; i < TTL_PROBE_LIMIT; i++) {
		word = atomic_load_explicit(&c->table[(idx + i) & c->table_mask],
					    memory_order_acquire);
		if (word && word >> 48 == tag && slot_entry(word)->key == key)
			return true;
	}
	return false;
}

/* Where a put may go, from one look at the key's buckets. */
struct put_scan {
	_Atomic uint64_t *empty, *stale, *victim;
	uint64_t stale_w, victim_w, victim_exp;
};

/*
 * Look at @n's buckets: swap @n in for its key's entry if there is one
 * (returns 1; -1 if that swap lost a race), else note in @s the first
 * empty bucket, the first expired one and the one expiring first (0).
 */
static int put_scan(struct ttl_cache *c, struct ttl_cache_thread *t,
		    struct entry *n, uint64_t nw, uint64_t tnow,
		    struct put_scan *s)
{
	size_t idx = bench_mix64(n->key) & c->table_mask;
	uint64_t word;
	int i;

	memset(s, 0, sizeof(*s));
	s->victim_exp = UINT64_MAX;
	for (i = 0; i < TTL_PROBE_LIMIT; i++) {
		_Atomic uint64_t *slot = &c->table[(idx + i) & c->table_mask];
		struct entry *e;

		word = atomic_load_explicit(slot, memory_order_acquire);
		if (!word) {
			if (!s->empty)
				s->empty = slot;
			continue;
		}
		e = slot_entry(word);
		if (word >> 48 == nw >> 48 && e->key == n->key) {
			if (!atomic_compare_exchange_strong_explicit(
				    slot, &word, nw, memory_order_acq_rel,
				    memory_order_relaxed))
				return -1;
			entry_dead(t, e);
			return 1;
		}
		if (e->expires_ms <= tnow && !s->stale) {
			s->stale = slot;
			s->stale_w = word;
		}
		if (e->expires_ms < s->victim_exp) {
			s->victim = slot;
			s->victim_w = word;
			s->victim_exp = e->expires_ms;
		}
	}
	return 0;
}

/*
 * Publish @n for its key (caller inside a section). Replaces the key's
 * entry, else fills an empty bucket, else an expired one, else evicts
 * the one that expires first.
 */
static void cache_put(struct ttl_cache *c, struct ttl_cache_thread *t,
		      struct entry *n)
{
	uint64_t nw = slot_word(n, bench_mix64(n->key) >> 48), word;
	uint64_t tnow = now(c);
	struct put_scan s;
	int r;

	for (;;) {
		r = put_scan(c, t, n, nw, tnow, &s);
		if (r > 0)
			return;
		if (r < 0)
			continue;
		if (s.empty) {
			word = 0;
			if (atomic_compare_exchange_strong_explicit(
				    s.empty, &word, nw, memory_order_acq_rel,
				    memory_order_relaxed)) {
				bench_cnt_add_signed(&t->c.in_table, 1);
				return;
			}
			continue;
		}
		if (!s.stale) {
			s.stale = s.victim;
			s.stale_w = s.victim_w;
			bench_cnt_add(&t->c.evictions, 1);
		}
		if (atomic_compare_exchange_strong_explicit(
			    s.stale, &s.stale_w, nw, memory_order_acq_rel,
			    memory_order_relaxed)) {
			entry_dead(t, slot_entry(s.stale_w));
			return;
		}
	}
}

enum ttl_lookup ttl_cache_get(struct ttl_cache *c, struct ttl_cache_thread *t,
			      uint64_t key, uint64_t *value)
{
	enum ttl_lookup r;

	ttak_epoch_enter();
	r = cache_get(c, t, key, value);
	switch (r) {
	case TTL_HIT:
		bench_cnt_add(&t->c.hits, 1);
		break;
	case TTL_EXPIRED:
		bench_cnt_add(&t->c.expired, 1);
		break;
	default:
		bench_cnt_add(&t->c.misses, 1);
		break;
	}
	ttak_epoch_exit();
	return r;
}

void ttl_cache_set(struct ttl_cache *c, struct ttl_cache_thread *t,
		   uint64_t key, uint64_t stamp)
{
	struct entry *n;
	int cls = 0;

	if (c->cfg.arena && c->cfg.segregate) {
		ttak_epoch_enter();
		cls = cache_has(c, key);
		ttak_epoch_exit();
	}
	n = entry_alloc(c, t, cls);
	bench_check(n, "entry allocation failed");
	entry_fill(c, n, key, stamp);
	ttak_epoch_enter();
	cache_put(c, t, n);
	ttak_epoch_exit();
	bench_cnt_add(&t->c.writes, 1);
}

/* ---- maintenance ---- */

static void sweep_slice(struct ttl_cache *c, size_t count)
{
	uint64_t tnow = now(c);
	size_t i;

	ttak_epoch_enter();
	for (i = 0; i < count; i++) {
		_Atomic uint64_t *slot = &c->table[c->sweep_cursor];
		uint64_t word = atomic_load_explicit(slot, memory_order_acquire);

		c->sweep_cursor = (c->sweep_cursor + 1) & c->table_mask;
		if (!word || slot_entry(word)->expires_ms > tnow)
			continue;
		slot_remove(c->maint, slot, word, slot_entry(word));
	}
	ttak_epoch_exit();
}

/* The bucket that holds exactly @word, NULL if it left the table. */
static _Atomic uint64_t *find_slot(struct ttl_cache *c, uint64_t h,
				   uint64_t word)
{
	size_t idx = h & c->table_mask;
	int i;

	for (i = 0; i < TTL_PROBE_LIMIT; i++) {
		_Atomic uint64_t *s = &c->table[(idx + i) & c->table_mask];

		if (atomic_load_explicit(s, memory_order_acquire) == word)
			return s;
	}
	return NULL;
}

/* Copy live @e into the maintenance thread's generation; false: no room. */
static bool evacuate_entry(struct ttl_cache *c, struct entry *e, uint64_t tnow)
{
	struct ttl_cache_thread *t = c->maint;
	uint64_t h = bench_mix64(e->key), word = slot_word(e, h >> 48);
	_Atomic uint64_t *slot = find_slot(c, h, word);
	struct entry *n;

	if (!slot)
		return true;	/* already out of the table */
	if (e->expires_ms <= tnow) {
		slot_remove(t, slot, word, e);
		return true;
	}
	n = entry_alloc(c, t, 0);
	if (!n)
		return false;
	memcpy(n, e, sizeof(*n));
	n->gen = t->cur[0];
	if (atomic_compare_exchange_strong_explicit(
		    slot, &word, slot_word(n, h >> 48),
		    memory_order_acq_rel, memory_order_relaxed)) {
		entry_dead(t, e);
		bench_cnt_add(&t->c.moved, 1);
	} else {
		/* replaced meanwhile: the copy was never published */
		atomic_store_explicit(&n->dead, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(&n->gen->live, 1,
					  memory_order_release);
	}
	return true;
}

/* Copy the survivors of @m elsewhere so that @m drains. */
static void evacuate(struct ttl_cache *c, struct gen_meta *m)
{
	uint64_t tnow = now(c);
	uint32_t k;

	ttak_epoch_enter();
	for (k = 0; k < m->carved; k++) {
		struct entry *e = (struct entry *)((char *)m->first +
						   (size_t)k * c->entry_stride);

		if (atomic_load_explicit(&e->dead, memory_order_relaxed))
			continue;
		if (!evacuate_entry(c, e, tnow))
			break;
	}
	ttak_epoch_exit();
}

static int cmp_candidate(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	return (x->live > y->live) - (x->live < y->live);
}

/* Entries the existing generations can hold, minus the budget for the live. */
static int64_t capacity_excess(struct ttl_cache *c)
{
	int64_t live = 0, gens = 0;
	int i;

	/* only the maintenance thread retires generations */
	for (i = 0; i <= c->nthreads; i++) {
		struct counters *n = &c->threads[i].c;

		live += atomic_load_explicit(&n->in_table, memory_order_relaxed);
		gens += (int64_t)(atomic_load_explicit(&n->gens_begun,
						       memory_order_relaxed) -
				  atomic_load_explicit(&n->gens_retired,
						       memory_order_relaxed));
	}
	if (live < 0)
		live = 0;
	return gens * (int64_t)c->entries_per_gen -
	       live * (int64_t)c->cfg.budget_pct / 100;
}

static void retire_generation(struct ttl_cache *c, struct gen_meta *m)
{
	ttak_arena_generation_t g = m->gen;	/* m lives inside g */

	bench_check(ttak_arena_generation_retire(&c->env, &g),
		    "generation retire failed");
	bench_cnt_add(&c->maint->c.gens_retired, 1);
}

/*
 * Retire the drained generations of the list. With @n, also note in
 * c->cands (@n of them) the others full for long enough at @tnow to be
 * evacuated.
 */
static bool retire_drained(struct ttl_cache *c, uint64_t tnow, size_t *n)
{
	struct gen_meta *m, **pp;
	bool retired = false;

	for (pp = &c->gen_list; (m = *pp);) {
		int64_t live = atomic_load_explicit(&m->live,
						    memory_order_acquire);

		if (live == 0) {
			*pp = m->next;
			c->gen_list_len--;
			retire_generation(c, m);
			retired = true;
			continue;
		}
		if (n && tnow - m->full_ms >= c->cfg.evacuate_age_ms &&
		    *n < c->cands_cap) {
			c->cands[*n].m = m;
			c->cands[*n].live = live;
			(*n)++;
		}
		pp = &m->next;
	}
	return retired;
}

/*
 * Of the @n candidates, evacuate: with --evacuate=auto, while the
 * generations could hold more than the budget of live entries, the
 * sparsest first (fewest copies per generation freed, as a
 * log-structured file system picks segments to clean); with a fixed
 * percentage, every one below it. False: auto found nothing to do.
 */
static bool evacuate_candidates(struct ttl_cache *c, size_t n)
{
	struct candidate *cd = c->cands;
	int64_t excess;
	size_t i;

	if (!c->cfg.evacuate_auto) {
		for (i = 0; i < n; i++)
			if ((uint64_t)cd[i].live * 100 <
			    (uint64_t)cd[i].m->carved * c->cfg.evacuate_pct)
				evacuate(c, cd[i].m);
		return true;
	}
	excess = capacity_excess(c);
	if (excess <= 0 || !n)
		return false;
	qsort(cd, n, sizeof(*cd), cmp_candidate);
	for (i = 0; i < n && excess > 0; i++) {
		evacuate(c, cd[i].m);
		excess -= (int64_t)c->entries_per_gen - cd[i].live;
	}
	return true;
}

/* Walk the full generations: retire the drained, evacuate the sparse. */
static bool walk_generations(struct ttl_cache *c, uint64_t tnow)
{
	size_t n = 0;
	bool retired;

	if (c->gen_list_len > c->cands_cap) {
		c->cands_cap = c->gen_list_len * 2;
		c->cands = realloc(c->cands, c->cands_cap * sizeof(*c->cands));
		bench_check(c->cands, "no memory for candidates");
	}
	retired = retire_drained(c, tnow, &n);
	if (!evacuate_candidates(c, n))
		return retired;
	/* evacuated generations have drained unless a copy lost a race */
	return retire_drained(c, tnow, NULL) || retired;
}

static void maintain_generations(struct ttl_cache *c, uint64_t tick)
{
	struct gen_meta *m, *taken;
	bool retired = false;
	int i;

	taken = atomic_exchange_explicit(&c->full_stack, NULL,
					 memory_order_acquire);
	while (taken) {
		m = taken;
		taken = m->next;
		m->next = c->gen_list;
		c->gen_list = m;
		c->gen_list_len++;
	}
	/* the walk touches every generation: not every tick */
	if (!(tick % WALK_TICKS))
		retired = walk_generations(c, now(c));
	if (retired || ttak_epoch_pending())
		ttak_arena_env_rotate(&c->env);
	/* four generations seeded per epoch */
	for (i = 0; i < POOL_SLOTS; i++) {
		if (atomic_load_explicit(&c->pool[i], memory_order_relaxed))
			continue;
		m = gen_new(c, c->maint);
		if (!m)
			break;
		atomic_store_explicit(&c->pool[i], m, memory_order_release);
	}
}

static void *maint_main(void *arg)
{
	struct ttl_cache *c = arg;
	size_t slice = (c->table_mask + 1) / c->cfg.sweep_ms;
	struct timespec ts = { 0, (long)TICK_NS };
	uint64_t ticks = 0;

	ttak_epoch_register_thread();
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		nanosleep(&ts, NULL);
		ticks++;
		if (c->cfg.trim_ms && !(ticks % c->cfg.trim_ms))
			malloc_trim(0);
		atomic_store_explicit(&c->now_ms,
				      (bench_now_ns() - c->t0_ns) / 1000000,
				      memory_order_relaxed);
		sweep_slice(c, slice ? slice : 1);
		if (c->cfg.arena)
			maintain_generations(c, ticks);
		else
			ttak_epoch_reclaim();
	}
	ttak_epoch_deregister_thread();
	return NULL;
}

/* ---- life cycle and figures ---- */

void ttl_cache_config_init(struct ttl_cache_config *cfg)
{
	*cfg = (struct ttl_cache_config){
		.arena = true,
		.ttl_ms = 1000,
		.buckets = 1 << 20,
		.gen_bytes = 65536 - 128,
		.chunk_bytes = 320,
		.align = true,
		.evacuate_pct = 50,
		.evacuate_age_ms = 20,
		.segregate = true,
		.evacuate_auto = true,
		.budget_pct = 120,
		.sweep_ms = 100,
	};
}

bool ttl_cache_config_valid(const struct ttl_cache_config *cfg)
{
	return cfg->buckets && !(cfg->buckets & (cfg->buckets - 1)) &&
	       cfg->buckets >= TTL_PROBE_LIMIT &&
	       cfg->chunk_bytes >= sizeof(struct entry) &&
	       cfg->evacuate_pct <= 100 && cfg->sweep_ms;
}

static void setup_arena(struct ttl_cache *c)
{
	const struct ttl_cache_config *cfg = &c->cfg;
	ttak_arena_env_config_t ec;

	if (cfg->gen_mmap)
		bench_check(mallopt(M_MMAP_THRESHOLD,
				    (int)(cfg->gen_bytes & ~4095UL)), "mallopt");
	ttak_arena_env_config_init(&ec);
	ec.generation_bytes = cfg->gen_bytes;
	ec.chunk_bytes = cfg->chunk_bytes;
	ec.alloc_flags = TTAK_MEM_STRICT_CHECK |
			 (cfg->align ? TTAK_MEM_CACHE_ALIGNED : 0);
	bench_check(ttak_arena_env_init(&c->env, &ec), "arena env init");
	/* only the maintenance thread rotates */
	ttak_epoch_gc_manual_rotate(c->env.gc, true);
	c->entry_stride = ttak_arena_env_chunk_stride(&c->env, 0);
	bench_check(sizeof(struct gen_meta) + c->entry_stride <= cfg->gen_bytes,
		    "generation too small for one entry");
	c->entries_per_gen = (cfg->gen_bytes -
			      ((sizeof(struct gen_meta) + 63) & ~63UL)) /
			     c->entry_stride;
}

static void *zalloc64(size_t bytes)
{
	void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);

	bench_check(p, "no memory for %zu bytes", bytes);
	memset(p, 0, bytes);
	return p;
}

struct ttl_cache *ttl_cache_create(const struct ttl_cache_config *cfg,
				   int threads)
{
	struct ttl_cache *c = zalloc64(sizeof(*c));

	c->cfg = *cfg;
	c->table_mask = cfg->buckets - 1;
	c->table = zalloc64(cfg->buckets * sizeof(*c->table));
	c->nthreads = threads;
	c->threads = zalloc64((size_t)(threads + 1) * sizeof(*c->threads));
	c->maint = &c->threads[threads];
	if (cfg->arena)
		setup_arena(c);
	return c;
}

void ttl_cache_start(struct ttl_cache *c, uint64_t t0_ns)
{
	c->t0_ns = t0_ns;
	atomic_store(&c->now_ms, 0);
	atomic_store(&c->stop, 0);
	bench_check(!pthread_create(&c->maint_thread, NULL, maint_main, c),
		    "maintenance thread");
}

void ttl_cache_stop(struct ttl_cache *c)
{
	atomic_store(&c->stop, 1);
	pthread_join(c->maint_thread, NULL);
}

void ttl_cache_destroy(struct ttl_cache *c)
{
	if (c->cfg.arena)
		ttak_arena_env_destroy(&c->env);
	free(c->cands);
	free(c->threads);
	free(c->table);
	free(c);
}

struct ttl_cache_thread *ttl_cache_thread_enter(struct ttl_cache *c, int id)
{
	ttak_epoch_register_thread();
	return &c->threads[id];
}

void ttl_cache_thread_leave(struct ttl_cache *c, struct ttl_cache_thread *t)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (t->cur[i]) {
			gen_seal(c, t->cur[i]);
			t->cur[i] = NULL;
		}
	}
	ttak_epoch_deregister_thread();
}

void ttl_cache_totals(struct ttl_cache *c, struct ttl_cache_totals *tot)
{
	int i;

	memset(tot, 0, sizeof(*tot));
	for (i = 0; i <= c->nthreads; i++) {
		struct counters *n = &c->threads[i].c;

		tot->hits += atomic_load(&n->hits);
		tot->misses += atomic_load(&n->misses);
		tot->expired += atomic_load(&n->expired);
		tot->writes += atomic_load(&n->writes);
		tot->retires += atomic_load(&n->retires);
		tot->in_table += atomic_load(&n->in_table);
		tot->evictions += atomic_load(&n->evictions);
		tot->bad_reads += atomic_load(&n->bad_reads);
		tot->gens_begun += atomic_load(&n->gens_begun);
		tot->moved += atomic_load(&n->moved);
		tot->gens_retired += atomic_load(&n->gens_retired);
	}
}

void ttl_cache_geometry(const struct ttl_cache *c, struct ttl_cache_geometry *g)
{
	g->entry_size = sizeof(struct entry);
	g->stride = c->entry_stride;
	g->entry_bytes = c->cfg.arena ? c->entry_stride : sizeof(struct entry);
	g->entries_per_gen = c->entries_per_gen;
	g->table_bytes = c->cfg.buckets * sizeof(*c->table);
}

uint64_t ttl_cache_epoch(struct ttl_cache *c)
{
	struct ttak_epoch_gc_stats st;

	if (!c->cfg.arena)
		return ttak_epoch_current();
	ttak_epoch_gc_get_stats(c->env.gc, &st);
	return st.epoch;
}

uint64_t ttl_cache_flushed(struct ttl_cache *c, size_t *pending)
{
	struct ttak_mem_tree_stats st;

	*pending = 0;
	if (!c->cfg.arena)
		return 0;
	ttak_mem_tree_get_stats(&c->env.gc->tree, &st);
	*pending = st.pending_bytes + st.garbage_pressure;
	return st.freed_nodes;
}

size_t ttl_cache_gens_listed(const struct ttl_cache *c)
{
	return c->gen_list_len;
}
