// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * User-space platform layer: reader registry, membarrier, clock, errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ttak_platform.h"
#include "ttak_core.h"
#include "ttak_fault.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Thread_local struct ttak_epoch_reader ttak_epoch_self;
/* Readers fence themselves until membarrier() is known to work. */
static _Atomic bool ttak_epoch_reader_fence = true;

static pthread_mutex_t ttak_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ttak_epoch_reader *ttak_readers;
/* registered readers; seq_cst so the barrier below can skip the lock */
static _Atomic size_t ttak_nreaders;
static pthread_key_t ttak_reader_key;
static bool ttak_membarrier_ok;

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

static void ttak_block_cache_drain(void *arg)
{
	struct ttak_block_cache *cache = arg;

	while (cache->count) {
		cache->count--;
		free(cache->block[cache->count]);
	}
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

static int ttak_membarrier(int cmd)
{
	return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

/*
 * ttak_reader_key's destructor is armed for this thread: it registered,
 * or it holds an open retire batch. A thread that retires without ever
 * entering a section is not a reader, but its batch must still be handed
 * over when it exits. Left set while the destructor runs, so sealing the
 * batch there does not re-arm it.
 */
static _Thread_local bool ttak_exit_armed;

static void ttak_arm_exit(void)
{
	if (ttak_exit_armed)
		return;
	/* a non-NULL value makes the key's destructor run at thread exit */
	pthread_setspecific(ttak_reader_key, &ttak_epoch_self);
	ttak_exit_armed = true;
}

static void ttak_reader_exit(void *arg)
{
	(void)arg;
	ttak_epoch_deregister_thread();
}

/*
 * fork(): the child has only the forking thread. Every lock of the
 * library is held across the fork, in the order in which they nest (the
 * core's, then the registry), so none is left locked in the child by a
 * thread it does not have. The registry still lists the records of the
 * others, frozen in whatever state they were - inside a section, maybe -
 * so the child's reclamation would wait for threads that no longer
 * exist: the child keeps only the caller's record. (The other threads'
 * open retire batches stay behind: kept, never freed early.)
 */
static void ttak_fork_prepare(void)
{
	ttak_lock_t *l;
	size_t i;

	for (i = 0; (l = ttak_core_lock_at(i)); i++)
		ttak_lock(l);
	pthread_mutex_lock(&ttak_registry_lock);
}

static void ttak_fork_unlock_core(void)
{
	size_t n = 0;

	while (ttak_core_lock_at(n))
		n++;
	while (n-- > 0)
		ttak_unlock(ttak_core_lock_at(n));
}

static void ttak_fork_parent(void)
{
	pthread_mutex_unlock(&ttak_registry_lock);
	ttak_fork_unlock_core();
}

static void ttak_fork_child(void)
{
	struct ttak_epoch_reader *self = &ttak_epoch_self;

	ttak_readers = NULL;
	atomic_store(&ttak_nreaders, 0);
	if (self->registered) {
		self->tid = (int)syscall(SYS_gettid);
		self->next = NULL;
		ttak_readers = self;
		atomic_store(&ttak_nreaders, 1);
	}
	ttak_core_fork_child();
	pthread_mutex_unlock(&ttak_registry_lock);
	ttak_fork_unlock_core();
}

__attribute__((constructor))
static void ttak_user_init(void)
{
	ttak_core_init();
	pthread_key_create(&ttak_reader_key, ttak_reader_exit);
	pthread_key_create(&ttak_blocks_key, ttak_block_cache_drain);
	pthread_atfork(ttak_fork_prepare, ttak_fork_parent, ttak_fork_child);
	/* Before any reader exists: either all readers fence or none. */
	if (ttak_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 &&
	    !getenv("TTAK_NO_MEMBARRIER")) {
		ttak_membarrier_ok = true;
		atomic_store(&ttak_epoch_reader_fence, false);
	}
}

void ttak_epoch_register_thread(void)
{
	struct ttak_epoch_reader *self = &ttak_epoch_self;

	if (self->registered)
		return;
	self->tid = (int)syscall(SYS_gettid);
	self->fenced = atomic_load(&ttak_epoch_reader_fence);
	self->fast = !self->fenced;
	atomic_store(&self->state, 0);
	pthread_mutex_lock(&ttak_registry_lock);
	self->next = ttak_readers;
	ttak_readers = self;
	ttak_nreaders++;
	pthread_mutex_unlock(&ttak_registry_lock);
	ttak_arm_exit();
	self->registered = true;
}

void ttak_epoch_enter_slow(void)
{
	struct ttak_epoch_reader *self = &ttak_epoch_self;
	uint64_t epoch;

	if (!self->registered)
		ttak_epoch_register_thread();
	epoch = atomic_load_explicit(&ttak_epoch_global, memory_order_acquire);
	atomic_store_explicit(&self->state, (epoch << 1) | 1,
			      memory_order_relaxed);
	if (self->fenced)
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst);
}

void ttak_epoch_deregister_thread(void)
{
	struct ttak_epoch_reader *self = &ttak_epoch_self, **pp;

	if (!self->registered) {
		/* never a reader, but maybe a retirer: hand the batch over */
		ttak_epoch_seal_own();
		return;
	}
	if (self->nesting) {
		ttak_plat_report("thread %d deregisters inside an epoch section\n",
				 self->tid);
		self->nesting = 0;
	}
	atomic_store_explicit(&self->state, 0, memory_order_release);
	/* queued retirees outlive the thread in the shared queue */
	ttak_epoch_seal_own();
	pthread_mutex_lock(&ttak_registry_lock);
	for (pp = &ttak_readers; *pp; pp = &(*pp)->next) {
		if (*pp == self) {
			*pp = self->next;
			ttak_nreaders--;
			break;
		}
	}
	pthread_mutex_unlock(&ttak_registry_lock);
	pthread_setspecific(ttak_reader_key, NULL);
	ttak_exit_armed = false;
	self->registered = false;
	self->fast = false;
}

void ttak_plat_scan_readers(ttak_reader_fn fn, void *ctx)
{
	struct ttak_epoch_reader *r;

	pthread_mutex_lock(&ttak_registry_lock);
	for (r = ttak_readers; r; r = r->next)
		fn(r, r->tid, ctx);
	pthread_mutex_unlock(&ttak_registry_lock);
}

void ttak_plat_heavy_barrier(void)
{
	size_t others;

	atomic_thread_fence(memory_order_seq_cst);
	others = atomic_load(&ttak_nreaders) -
		 (ttak_epoch_self.registered ? 1 : 0);
	/*
	 * A thread whose registration (a seq_cst increment) comes after the
	 * load above sees every store made before our fence; with no other
	 * reader registered, that fence is all the ordering needed.
	 */
	if (others && ttak_membarrier_ok &&
	    ttak_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
		return;
	atomic_thread_fence(memory_order_seq_cst);
}

bool ttak_plat_in_section(void)
{
	return ttak_epoch_self.nesting != 0;
}

struct ttak_retire_chunk **ttak_plat_open_chunk(void)
{
	/* whoever may hold a batch gets it sealed at thread exit */
	ttak_arm_exit();
	return &ttak_epoch_self.chunk;
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
