// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * User-space platform layer, generic primitives only: block memory,
 * allocation-failure injection, the clock, error reports, the wait loop's
 * pause and the huge-page hint. The EBR read side (reader registry,
 * membarrier(), thread exit and fork() handling, library start-up) is
 * the flavour in epoch_membarrier.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ttak_platform.h"
#include "ttak_fault.h"

#include <stdarg.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/*
 * Block memory. Two paths, chosen by the block's size alone (so a free
 * always takes the path its allocation took):
 *
 * - Blocks of at least ttak_map_min bytes (16 KiB by default; generations,
 *   mostly) are page-aligned anonymous mappings of their own. A freed one
 *   goes to a shared cache while the cache's resident bytes stay within
 *   ttak_map_cache_limit (512 KiB by default); past that its pages are given
 *   back at once with madvise(MADV_DONTNEED) and the mapping is kept,
 *   empty, for reuse of its address range (no mmap() next time); past
 *   that too it is unmapped. So memory a program stops using leaves its
 *   RSS within the cache bound, which glibc's heap does not promise for
 *   blocks of this size (it keeps them below its trim threshold, and a
 *   live block at the top pins everything under it).
 *   MADV_DONTNEED rather than MADV_FREE: MADV_FREE'd pages stay counted
 *   in RSS (and the cgroup's memory) until the kernel is short of memory,
 *   which is the figure users watch, and what they read afterwards is
 *   either the old contents or zeros; after MADV_DONTNEED the range reads
 *   zero and RSS drops at once. The price is one page fault per page on
 *   reuse, paid only past the resident bound.
 *   Why 16 KiB: a block of four pages or more loses at most a fifth to
 *   page rounding (nothing when sized to pages, as generations usually
 *   are), and below that glibc's bins and the per-thread cache serve
 *   blocks well: the 4 KiB generations of the arena cycle stay on malloc
 *   at 4.4 KiB each instead of taking two pages.
 * - Smaller blocks come from malloc(); a per-thread cache keeps the last
 *   8 freed ones of 1 KiB up to the mapping threshold (at most 8 x 16 KiB
 *   a thread) and is drained into free() when the thread exits.
 *
 * The shared cache needs no lock, hence nothing across fork(): two arrays
 * of slots (64 resident, 256 given back but still mapped), each slot a
 * mapping's address with its page count in the low bits (so mappings of
 * 16 MiB and more are never kept), taken by one thread only with a
 * compare-and-exchange. A fork() in the middle of another thread's put
 * or take can lose that one block in the child (a leak of one mapping,
 * whose bytes may stay counted against the bound), nothing worse.
 *
 * Environment, read once at the first block: TTAK_BLOCK_MAP_MIN (bytes,
 * K/M suffix allowed; 0 = never map: every block on malloc with the
 * per-thread cache up to 64 KiB, the behaviour before mappings; values
 * below 4096 count as 4096) and TTAK_BLOCK_CACHE_BYTES (resident bytes
 * the shared cache may keep; 0 = give every freed block back at once).
 * A malformed value is ignored.
 *
 * Under AddressSanitizer both caches are off and every block goes to
 * malloc()/free(), so a use after free of a generation buffer is
 * reported (ASan's quarantine, with both stacks) instead of hidden by
 * reuse or by a mapping that still reads.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TTAK_BLOCK_ASAN		1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TTAK_BLOCK_ASAN		1
#endif
#endif
#ifndef TTAK_BLOCK_ASAN
#define TTAK_BLOCK_ASAN		0
#endif

#define TTAK_BLOCK_CACHE_SLOTS	8
#define TTAK_BLOCK_CACHE_MIN	1024		/* malloc's tcache has smaller */
#define TTAK_BLOCK_CACHE_MAX	(64 * 1024)	/* without mappings */

#define TTAK_PAGE		4096UL
#define TTAK_MAP_MIN_DEFAULT	(16 * 1024UL)
#define TTAK_MAP_CACHE_DEFAULT	(512 * 1024UL)
/* a slot: page-aligned address | pages; bigger mappings are never kept */
#define TTAK_MAP_PAGES_MASK	(TTAK_PAGE - 1)
#define TTAK_MAP_HOT_SLOTS	64
#define TTAK_MAP_COLD_SLOTS	256

struct ttak_block_cache {
	void *block[TTAK_BLOCK_CACHE_SLOTS];
	size_t size[TTAK_BLOCK_CACHE_SLOTS];
	unsigned int count;
	bool armed;		/* destructor key set for this thread */
};

static _Thread_local struct ttak_block_cache ttak_blocks;
static pthread_key_t ttak_blocks_key;
static pthread_once_t ttak_blocks_once = PTHREAD_ONCE_INIT;
static _Atomic size_t ttak_blocks_drained;	/* bytes, at thread exits */

/* 0 until read; then the threshold + 1 (1: never map) */
static _Atomic size_t ttak_map_min_plus1;
static _Atomic size_t ttak_map_cache_limit;
static _Atomic size_t ttak_map_hot_bytes;	/* reserved for the hot slots */
static _Atomic uintptr_t ttak_map_hot[TTAK_MAP_HOT_SLOTS];
static _Atomic uintptr_t ttak_map_cold[TTAK_MAP_COLD_SLOTS];
static _Atomic size_t ttak_map_cold_bytes;
static _Atomic size_t ttak_map_mapped;		/* bytes mapped, live or kept */

static void ttak_block_cache_drain(void *arg)
{
	struct ttak_block_cache *cache = arg;
	size_t bytes = 0;

	while (cache->count) {
		cache->count--;
		bytes += cache->size[cache->count];
		free(cache->block[cache->count]);
	}
	atomic_fetch_add_explicit(&ttak_blocks_drained, bytes,
				  memory_order_relaxed);
}

/* On first use: the platform needs no constructor, so no start-up order. */
static void ttak_block_cache_key_create(void)
{
	pthread_key_create(&ttak_blocks_key, ttak_block_cache_drain);
}

/* A size from the environment: digits with an optional K or M. */
static bool ttak_env_size(const char *name, size_t *out)
{
	const char *s = getenv(name);
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || v > (size_t)-1 / 4)
		return false;
	*out = (size_t)v;
	return true;
}

/*
 * Blocks of this raw size and more are mapped; SIZE_MAX: none. Read
 * once; threads racing on the first read compute the same value.
 */
static size_t ttak_map_min(void)
{
	size_t v = atomic_load_explicit(&ttak_map_min_plus1,
					memory_order_acquire);
	size_t min = TTAK_MAP_MIN_DEFAULT, limit = TTAK_MAP_CACHE_DEFAULT;
	int saved = errno;

	if (ttak_likely(v))
		return v == 1 ? (size_t)-1 : v - 1;
	if (TTAK_BLOCK_ASAN) {
		min = 0;
	} else if (ttak_env_size("TTAK_BLOCK_MAP_MIN", &min) && min &&
		   min < TTAK_PAGE) {
		min = TTAK_PAGE;
	}
	ttak_env_size("TTAK_BLOCK_CACHE_BYTES", &limit);
	errno = saved;
	atomic_store_explicit(&ttak_map_cache_limit, limit,
			      memory_order_relaxed);
	/* the limit is stored before the threshold is seen */
	atomic_store_explicit(&ttak_map_min_plus1, min ? min + 1 : 1,
			      memory_order_release);
	return min ? min : (size_t)-1;
}

static size_t ttak_map_len(size_t size)
{
	return (size + TTAK_PAGE - 1) & ~(TTAK_PAGE - 1);
}

/* Put @word into a free slot of @slots; false when all are taken. */
static bool ttak_slot_put(_Atomic uintptr_t *slots, unsigned int n,
			  uintptr_t word)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uintptr_t empty = 0;

		if (!atomic_load_explicit(&slots[i], memory_order_relaxed) &&
		    atomic_compare_exchange_strong_explicit(&slots[i], &empty,
							    word,
							    memory_order_release,
							    memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * Take a mapping of @pages pages out of @slots; NULL when none. The
 * exchange makes the taker its only owner; the acquire pairs with the
 * release of the put, so the freeing thread's writes happen before.
 */
static void *ttak_slot_take(_Atomic uintptr_t *slots, unsigned int n,
			    uintptr_t pages)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uintptr_t w = atomic_load_explicit(&slots[i],
						   memory_order_relaxed);

		if (w && (w & TTAK_MAP_PAGES_MASK) == pages &&
		    atomic_compare_exchange_strong_explicit(&slots[i], &w, 0,
							    memory_order_acquire,
							    memory_order_relaxed))
			return (void *)(w & ~TTAK_MAP_PAGES_MASK);
	}
	return NULL;
}

/* Reserve @len bytes of the resident bound; false when over it. */
static bool ttak_map_hot_reserve(size_t len)
{
	size_t limit = atomic_load_explicit(&ttak_map_cache_limit,
					    memory_order_relaxed);
	size_t old = atomic_fetch_add_explicit(&ttak_map_hot_bytes, len,
					       memory_order_relaxed);

	if (old + len <= limit)
		return true;
	atomic_fetch_sub_explicit(&ttak_map_hot_bytes, len,
				  memory_order_relaxed);
	return false;
}

/*
 * Fault in a zero mapping's pages now, in the thread that begins the
 * block (a pool filler, often), not one by one in the thread that
 * carves it; the kernel zeroes each page once. Where MADV_POPULATE_WRITE
 * is missing (before Linux 5.14) writing zeros does the same.
 */
static void *ttak_map_populate(void *p, size_t size)
{
#ifdef MADV_POPULATE_WRITE
	if (!madvise(p, ttak_map_len(size), MADV_POPULATE_WRITE))
		return p;
#endif
	return memset(p, 0, size);
}

static void *ttak_map_alloc(size_t size)
{
	size_t len = ttak_map_len(size);
	uintptr_t pages = len / TTAK_PAGE;
	void *p;

	if (pages <= TTAK_MAP_PAGES_MASK) {
		p = ttak_slot_take(ttak_map_hot, TTAK_MAP_HOT_SLOTS, pages);
		if (p) {
			atomic_fetch_sub_explicit(&ttak_map_hot_bytes, len,
						  memory_order_relaxed);
			/* kept resident with what it held */
			memset(p, 0, size);
			return p;
		}
		p = ttak_slot_take(ttak_map_cold, TTAK_MAP_COLD_SLOTS, pages);
		if (p) {
			/* its pages were given back: they read zero */
			atomic_fetch_sub_explicit(&ttak_map_cold_bytes, len,
						  memory_order_relaxed);
			return ttak_map_populate(p, size);
		}
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	atomic_fetch_add_explicit(&ttak_map_mapped, len, memory_order_relaxed);
	return ttak_map_populate(p, size);
}

static void ttak_map_free(void *p, size_t size)
{
	size_t len = ttak_map_len(size);
	uintptr_t pages = len / TTAK_PAGE;
	uintptr_t word = (uintptr_t)p | pages;

	if (pages <= TTAK_MAP_PAGES_MASK) {
		if (ttak_map_hot_reserve(len)) {
			if (ttak_slot_put(ttak_map_hot, TTAK_MAP_HOT_SLOTS, word))
				return;
			atomic_fetch_sub_explicit(&ttak_map_hot_bytes, len,
						  memory_order_relaxed);
		}
		/* keep the range, give the pages back */
		if (!madvise(p, len, MADV_DONTNEED)) {
			atomic_fetch_add_explicit(&ttak_map_cold_bytes, len,
						  memory_order_relaxed);
			if (ttak_slot_put(ttak_map_cold, TTAK_MAP_COLD_SLOTS,
					  word))
				return;
			atomic_fetch_sub_explicit(&ttak_map_cold_bytes, len,
						  memory_order_relaxed);
		}
	}
	atomic_fetch_sub_explicit(&ttak_map_mapped, len, memory_order_relaxed);
	munmap(p, len);
}

/* Unmap every mapping in @slots; @bytes counts those it held. */
static void ttak_slots_unmap(_Atomic uintptr_t *slots, unsigned int n,
			     _Atomic size_t *bytes)
{
	unsigned int i;
	uintptr_t w;
	size_t len;

	for (i = 0; i < n; i++) {
		if (!atomic_load_explicit(&slots[i], memory_order_relaxed))
			continue;
		w = atomic_exchange_explicit(&slots[i], 0, memory_order_acquire);
		if (!w)
			continue;
		len = (w & TTAK_MAP_PAGES_MASK) * TTAK_PAGE;
		atomic_fetch_sub_explicit(bytes, len, memory_order_relaxed);
		atomic_fetch_sub_explicit(&ttak_map_mapped, len,
					  memory_order_relaxed);
		munmap((void *)(w & ~TTAK_MAP_PAGES_MASK), len);
	}
}

/* Give every kept mapping back to the system; cheap when none. */
void ttak_plat_block_trim(void)
{
	ttak_slots_unmap(ttak_map_hot, TTAK_MAP_HOT_SLOTS, &ttak_map_hot_bytes);
	ttak_slots_unmap(ttak_map_cold, TTAK_MAP_COLD_SLOTS,
			 &ttak_map_cold_bytes);
}

void ttak_plat_block_set_cache_limit(size_t bytes)
{
	ttak_map_min();		/* the environment must not override it later */
	atomic_store_explicit(&ttak_map_cache_limit, bytes,
			      memory_order_relaxed);
}

void ttak_plat_block_get_stats(struct ttak_plat_block_stats *st)
{
	size_t min = ttak_map_min();

	st->map_min = min == (size_t)-1 ? 0 : min;
	st->cache_limit = atomic_load(&ttak_map_cache_limit);
	st->cached_bytes = atomic_load(&ttak_map_hot_bytes);
	st->kept_bytes = atomic_load(&ttak_map_cold_bytes);
	st->mapped_bytes = atomic_load(&ttak_map_mapped);
	st->thread_cached = ttak_blocks.count;
	st->drained_at_exit = atomic_load(&ttak_blocks_drained);
}

_Thread_local bool ttak_fault_armed;
static _Thread_local unsigned long ttak_fault_nth;	/* countdown, 1 = next */
static _Thread_local bool ttak_fault_repeat;
static _Thread_local unsigned long ttak_fault_seen;
static _Thread_local unsigned long ttak_fault_refused;

void ttak_fault_fail_nth(unsigned long nth, bool repeat)
{
	ttak_fault_nth = nth;
	ttak_fault_repeat = nth && repeat;
	ttak_fault_seen = 0;
	ttak_fault_refused = 0;
	/* counting needs the slow path too, so stay armed until turned off */
	ttak_fault_armed = true;
}

unsigned long ttak_fault_allocs(void)
{
	return ttak_fault_seen;
}

unsigned long ttak_fault_failed(void)
{
	return ttak_fault_refused;
}

bool ttak_fault_hit(void)
{
	ttak_fault_seen++;
	if (!ttak_fault_nth)
		return false;
	if (ttak_fault_nth > 1) {
		ttak_fault_nth--;
		return false;
	}
	if (!ttak_fault_repeat)
		ttak_fault_nth = 0;
	ttak_fault_refused++;
	return true;
}

void *ttak_plat_block_alloc(size_t size)
{
	struct ttak_block_cache *cache = &ttak_blocks;
	unsigned int i;
	void *p;

	if (ttak_fault_refuse())
		return NULL;
	if (size >= ttak_map_min())
		return ttak_map_alloc(size);

	for (i = cache->count; i-- > 0;) {
		if (cache->size[i] == size) {
			p = cache->block[i];
			cache->count--;
			cache->block[i] = cache->block[cache->count];
			cache->size[i] = cache->size[cache->count];
			return memset(p, 0, size);
		}
	}
	return calloc(1, size);
}

void ttak_plat_block_free(void *p, size_t size)
{
	struct ttak_block_cache *cache = &ttak_blocks;
	size_t min = ttak_map_min();

	if (size >= min) {
		ttak_map_free(p, size);
		return;
	}
	if (TTAK_BLOCK_ASAN || size < TTAK_BLOCK_CACHE_MIN ||
	    size > TTAK_BLOCK_CACHE_MAX) {
		free(p);
		return;
	}
	if (!cache->armed) {
		/* drains the cache when the thread exits */
		pthread_once(&ttak_blocks_once, ttak_block_cache_key_create);
		pthread_setspecific(ttak_blocks_key, cache);
		cache->armed = true;
	}
	if (cache->count == TTAK_BLOCK_CACHE_SLOTS) {
		/* evict the oldest: the cache follows the sizes in use */
		free(cache->block[0]);
		memmove(&cache->block[0], &cache->block[1],
			sizeof(cache->block[0]) * (TTAK_BLOCK_CACHE_SLOTS - 1));
		memmove(&cache->size[0], &cache->size[1],
			sizeof(cache->size[0]) * (TTAK_BLOCK_CACHE_SLOTS - 1));
		cache->count--;
	}
	cache->block[cache->count] = p;
	cache->size[cache->count] = size;
	cache->count++;
}

u64 ttak_plat_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

void ttak_plat_report(const char *fmt, ...)
{
	va_list ap;

	if (getenv("TTAK_QUIET"))
		return;
	va_start(ap, fmt);
	fputs("ttak: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void ttak_plat_trace(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n] = '\n';
	/* one write: lines of concurrent threads do not interleave */
	if (write(STDERR_FILENO, line, (size_t)n + 1) < 0)
		return;
}

void ttak_plat_wait_relax(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 50000 };

	nanosleep(&ts, NULL);
}

void ttak_plat_hint_huge(void *p, size_t size)
{
	uintptr_t start = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t end = ((uintptr_t)p + size) & ~(uintptr_t)4095;

	if (end > start)
		madvise((void *)start, end - start, MADV_HUGEPAGE);
}
