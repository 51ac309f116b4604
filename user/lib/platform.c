// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * User-space platform layer, generic primitives only: the block cache,
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

#define TTAK_BLOCK_CACHE_SLOTS	8
#define TTAK_BLOCK_CACHE_MIN	1024		/* malloc's tcache has smaller */
/* Under AddressSanitizer every block goes back to free(), so a use after
 * free of a generation buffer is reported instead of hidden by reuse.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TTAK_BLOCK_CACHE_OFF	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TTAK_BLOCK_CACHE_OFF	1
#endif
#endif
#ifndef TTAK_BLOCK_CACHE_OFF
#define TTAK_BLOCK_CACHE_OFF	0
#endif
#define TTAK_BLOCK_CACHE_MAX	(64 * 1024)	/* larger ones are rare */

struct ttak_block_cache {
	void *block[TTAK_BLOCK_CACHE_SLOTS];
	size_t size[TTAK_BLOCK_CACHE_SLOTS];
	unsigned int count;
	bool armed;		/* destructor key set for this thread */
};

static _Thread_local struct ttak_block_cache ttak_blocks;
static pthread_key_t ttak_blocks_key;
static pthread_once_t ttak_blocks_once = PTHREAD_ONCE_INIT;

static void ttak_block_cache_drain(void *arg)
{
	struct ttak_block_cache *cache = arg;

	while (cache->count) {
		cache->count--;
		free(cache->block[cache->count]);
	}
}

/* On first use: the platform needs no constructor, so no start-up order. */
static void ttak_block_cache_key_create(void)
{
	pthread_key_create(&ttak_blocks_key, ttak_block_cache_drain);
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

	for (i = cache->count; i-- > 0;) {
		if (cache->size[i] == size) {
			p = cache->block[i];
			cache->count--;
			cache->block[i] = cache->block[cache->count];
			cache->size[i] = cache->size[cache->count];
			return p;
		}
	}
	return malloc(size);
}

void ttak_plat_block_free(void *p, size_t size)
{
	struct ttak_block_cache *cache = &ttak_blocks;

	if (TTAK_BLOCK_CACHE_OFF || size < TTAK_BLOCK_CACHE_MIN ||
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
