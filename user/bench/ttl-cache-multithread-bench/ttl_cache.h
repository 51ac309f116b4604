/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A multi-threaded TTL cache on ttak: lock-free open addressing, readers
 * inside EBR sections, entries carved from arena generations (or, as the
 * baseline, from malloc). ttl_cache.c says how it works; this is what the
 * bench driver (ttl_cache_bench_lockfree.c) calls.
 *
 * Threads: the cache runs its own maintenance thread between
 * ttl_cache_start() and ttl_cache_stop(); each of the caller's threads
 * takes one of the handles the cache was created with
 * (ttl_cache_thread_enter/leave) and passes it to every get and set.
 */
#ifndef TTL_CACHE_H
#define TTL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TTL_VALUE_BYTES	256	/* the value every entry carries */
#define TTL_PROBE_LIMIT	4	/* buckets a key may sit in */

struct ttl_cache_config {
	bool arena;			/* entries from arena generations */
	uint64_t ttl_ms;
	size_t buckets;			/* a power of two */
	size_t gen_bytes;
	size_t chunk_bytes;
	bool align;			/* cache-line aligned chunks */
	unsigned int evacuate_pct;
	unsigned int evacuate_age_ms;
	bool segregate;			/* new keys, rewrites apart */
	bool evacuate_auto;
	unsigned int budget_pct;	/* auto: generation bytes / live bytes */
	unsigned int trim_ms;		/* malloc_trim(0) this often, 0 never */
	unsigned int sweep_ms;		/* whole table swept this often */
	bool gen_mmap;			/* generations mapped one by one */
};

/* What the cache counted, summed over its threads. */
struct ttl_cache_totals {
	uint64_t hits, misses, expired, writes;
	uint64_t retires, evictions, bad_reads, gens_begun, moved, gens_retired;
	int64_t in_table;		/* entries in the table */
};

struct ttl_cache_geometry {
	size_t entry_size;		/* sizeof the entry */
	size_t entry_bytes;		/* what one entry takes: stride or size */
	size_t stride;			/* arena: entry to entry */
	uint64_t entries_per_gen;	/* arena */
	size_t table_bytes;
};

enum ttl_lookup { TTL_MISS, TTL_HIT, TTL_EXPIRED };

struct ttl_cache;
struct ttl_cache_thread;

/* The defaults the bench runs with. */
void ttl_cache_config_init(struct ttl_cache_config *cfg);
bool ttl_cache_config_valid(const struct ttl_cache_config *cfg);

/* A cache for @threads caller threads; fails the bench on error. */
struct ttl_cache *ttl_cache_create(const struct ttl_cache_config *cfg,
				   int threads);
/* Start the maintenance thread; the TTL clock counts from @t0_ns. */
void ttl_cache_start(struct ttl_cache *c, uint64_t t0_ns);
void ttl_cache_stop(struct ttl_cache *c);
void ttl_cache_destroy(struct ttl_cache *c);

/* Called by caller thread @id (0 .. threads - 1) before and after use. */
struct ttl_cache_thread *ttl_cache_thread_enter(struct ttl_cache *c, int id);
void ttl_cache_thread_leave(struct ttl_cache *c, struct ttl_cache_thread *t);

enum ttl_lookup ttl_cache_get(struct ttl_cache *c, struct ttl_cache_thread *t,
			      uint64_t key, uint64_t *value);
/* Store a fresh entry for @key whose value is made from @stamp. */
void ttl_cache_set(struct ttl_cache *c, struct ttl_cache_thread *t,
		   uint64_t key, uint64_t stamp);

void ttl_cache_totals(struct ttl_cache *c, struct ttl_cache_totals *tot);
void ttl_cache_geometry(const struct ttl_cache *c,
			struct ttl_cache_geometry *g);
/* The epoch readers are in: the GC's with arena entries, else EBR's. */
uint64_t ttl_cache_epoch(struct ttl_cache *c);
/* Generations flushed so far; @pending: bytes waiting to be. */
uint64_t ttl_cache_flushed(struct ttl_cache *c, size_t *pending);
/* Full generations on the maintenance list; after ttl_cache_stop(). */
size_t ttl_cache_gens_listed(const struct ttl_cache *c);

#endif /* TTL_CACHE_H */
