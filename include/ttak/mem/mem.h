/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Tracked allocations with lifetimes and integrity checks.
 *
 * Every block carries a header just below the pointer handed out and is
 * registered in a process-wide (or, in ttak.ko, module-wide) index, so a
 * free or access of a pointer that ttak never returned, or returned and
 * already freed, is recognised without touching the foreign memory.
 *
 * Errors are reported, never ignored: user space gets NULL and errno
 * (EINVAL bad argument, ENOMEM, EFAULT unknown or corrupted block,
 * ETIMEDOUT expired) plus one line on stderr for integrity failures;
 * the kernel gets NULL and a rate-limited pr_err().
 */
#ifndef TTAK_MEM_H
#define TTAK_MEM_H

#include <ttak/types.h>

#define TTAK_CACHE_LINE_SIZE		64
/* Lifetime that never expires. */
#define __TTAK_UNSAFE_MEM_FOREVER__	((uint64_t)-1)

typedef enum {
	TTAK_MEM_DEFAULT	= 0,
	/* Ask for transparent huge pages (user space, blocks >= 2 MiB). */
	TTAK_MEM_HUGE_PAGES	= 1 << 0,
	/* Align the returned pointer to TTAK_CACHE_LINE_SIZE. */
	TTAK_MEM_CACHE_ALIGNED	= 1 << 1,
	/* Guard the block with an end canary checked on access and free. */
	TTAK_MEM_STRICT_CHECK	= 1 << 2,
	/* Accepted and recorded; no effect on placement. */
	TTAK_MEM_LOW_PRIORITY	= 1 << 3,
} ttak_mem_flags_t;

/**
 * ttak_mem_alloc_safe() - Allocate a zeroed, tracked block.
 * @size: bytes wanted; 0 is refused.
 * @lifetime_ticks: ticks the block stays accessible, or
 *	__TTAK_UNSAFE_MEM_FOREVER__.
 * @now_tick: the caller's current tick (see ttak_get_tick_count()).
 * @is_const: recorded; the block is meant to be written once.
 * @is_volatile: recorded.
 * @allow_direct: when false, ttak_mem_access() refuses the block.
 * @is_root: recorded; root blocks are owned by the caller for ever.
 * @flags: ttak_mem_flags_t bits; unknown bits are refused.
 *
 * The block's expiry is @now_tick + @lifetime_ticks (saturating): it is
 * valid while the tick is at most that, and expired only after it, so a
 * lifetime of 0 is valid at @now_tick itself and expired from the next
 * tick on.
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 * Return: the block, or NULL (errno EINVAL or ENOMEM in user space).
 */
void *ttak_mem_alloc_safe(size_t size, uint64_t lifetime_ticks,
			  uint64_t now_tick, bool is_const, bool is_volatile,
			  bool allow_direct, bool is_root,
			  ttak_mem_flags_t flags);

/**
 * ttak_mem_realloc_safe() - Resize a tracked block.
 * @ptr: a block from this allocator, or NULL to allocate.
 * @new_size: bytes wanted; 0 is refused and @ptr is left alone.
 * @lifetime_ticks: lifetime of the new block.
 * @now_tick: the caller's current tick.
 * @is_root: root flag of the new block.
 * @flags: flags of the new block.
 *
 * The contents up to the smaller size are kept, the rest is zeroed.
 *
 * Context: as ttak_mem_alloc_safe().
 * Return: the new block, or NULL with @ptr untouched (errno EINVAL for a
 * zero @new_size, EFAULT when @ptr is no live block, or as
 * ttak_mem_alloc_safe()).
 */
void *ttak_mem_realloc_safe(void *ptr, size_t new_size,
			    uint64_t lifetime_ticks, uint64_t now_tick,
			    bool is_root, ttak_mem_flags_t flags);

/**
 * ttak_mem_dup_safe() - Copy @size bytes of @src into a new tracked block.
 * @src: source bytes (any memory).
 * @size: bytes to copy; 0 is refused.
 * @lifetime_ticks: lifetime of the copy.
 * @now_tick: the caller's current tick.
 * @is_root: root flag of the copy.
 * @flags: flags of the copy.
 *
 * Context: as ttak_mem_alloc_safe().
 * Return: the copy, or NULL (errno EINVAL for a NULL @src, or as
 * ttak_mem_alloc_safe()).
 */
void *ttak_mem_dup_safe(const void *src, size_t size, uint64_t lifetime_ticks,
			uint64_t now_tick, bool is_root,
			ttak_mem_flags_t flags);

/**
 * ttak_mem_free() - Free a tracked block.
 * @ptr: a block from this allocator; NULL is a no-op.
 *
 * A pointer that is not a live ttak block (foreign, or freed already) and
 * a block whose header or end canary was overwritten are reported and
 * not freed (errno EFAULT in user space).
 *
 * Context: as ttak_mem_alloc_safe() (freeing a large block may sleep in
 * the kernel).
 */
void ttak_mem_free(void *ptr);

/**
 * ttak_mem_freep() - Free *@ptr and set it to NULL.
 * @ptr: address of a block pointer; NULL is a no-op.
 *
 * Context: as ttak_mem_free().
 */
void ttak_mem_freep(void **ptr);

/**
 * ttak_mem_access() - Check a block before use.
 * @ptr: a block from this allocator.
 * @now_tick: the caller's current tick.
 *
 * Context: any thread; in the kernel, any context (process, softirq,
 * hardirq): the block registry's locks are taken with interrupts off.
 * Return: @ptr if it is a live, intact, unexpired (@now_tick at most its
 * expiry tick) block allocated with allow_direct; NULL otherwise (errno EINVAL for NULL, EFAULT for a
 * pointer that is no live block or a corrupted one, ETIMEDOUT, EPERM).
 */
void *ttak_mem_access(void *ptr, uint64_t now_tick);

/*
 * Convenience forms. Argument order after the size is
 * (lifetime, now[, flags]); the booleans are
 * (is_const, is_volatile, allow_direct, is_root).
 */
#define ttak_mem_alloc(size, lifetime, now) \
	ttak_mem_alloc_safe((size), (lifetime), (now), false, false, true, \
			    false, TTAK_MEM_DEFAULT)
#define ttak_mem_alloc_raw(size, lifetime, now) \
	ttak_mem_alloc(size, lifetime, now)
#define ttak_mem_alloc_with_flags(size, lifetime, now, flags) \
	ttak_mem_alloc_safe((size), (lifetime), (now), false, false, true, \
			    false, (flags))
#define ttak_mem_alloc_with_flags_raw(size, lifetime, now, flags) \
	ttak_mem_alloc_with_flags(size, lifetime, now, flags)
#define ttak_root_alloc(size, lifetime, now) \
	ttak_mem_alloc_safe((size), (lifetime), (now), true, true, true, \
			    true, TTAK_MEM_DEFAULT)
#define ttak_root_alloc_raw(size, lifetime, now) \
	ttak_root_alloc(size, lifetime, now)
#define ttak_root_alloc_with_flags(size, lifetime, now, flags) \
	ttak_mem_alloc_safe((size), (lifetime), (now), true, true, true, \
			    true, (flags))
#define ttak_root_alloc_with_flags_raw(size, lifetime, now, flags) \
	ttak_root_alloc_with_flags(size, lifetime, now, flags)

#define ttak_mem_realloc(ptr, size, lifetime, now) \
	ttak_mem_realloc_safe((ptr), (size), (lifetime), (now), false, \
			      TTAK_MEM_DEFAULT)
#define ttak_mem_realloc_raw(ptr, size, lifetime, now) \
	ttak_mem_realloc(ptr, size, lifetime, now)
#define ttak_mem_realloc_with_flags(ptr, size, lifetime, now, flags) \
	ttak_mem_realloc_safe((ptr), (size), (lifetime), (now), false, (flags))
#define ttak_mem_realloc_with_flags_raw(ptr, size, lifetime, now, flags) \
	ttak_mem_realloc_with_flags(ptr, size, lifetime, now, flags)
#define ttak_root_realloc(ptr, size, lifetime, now) \
	ttak_mem_realloc_safe((ptr), (size), (lifetime), (now), true, \
			      TTAK_MEM_DEFAULT)
#define ttak_root_realloc_raw(ptr, size, lifetime, now) \
	ttak_root_realloc(ptr, size, lifetime, now)
#define ttak_root_realloc_with_flags(ptr, size, lifetime, now, flags) \
	ttak_mem_realloc_safe((ptr), (size), (lifetime), (now), true, (flags))
#define ttak_root_realloc_with_flags_raw(ptr, size, lifetime, now, flags) \
	ttak_root_realloc_with_flags(ptr, size, lifetime, now, flags)

#define ttak_mem_dup(src, size, lifetime, now) \
	ttak_mem_dup_safe((src), (size), (lifetime), (now), false, \
			  TTAK_MEM_DEFAULT)
#define ttak_mem_dup_raw(src, size, lifetime, now) \
	ttak_mem_dup(src, size, lifetime, now)
#define ttak_mem_dup_with_flags(src, size, lifetime, now, flags) \
	ttak_mem_dup_safe((src), (size), (lifetime), (now), false, (flags))
#define ttak_mem_dup_with_flags_raw(src, size, lifetime, now, flags) \
	ttak_mem_dup_with_flags(src, size, lifetime, now, flags)
#define ttak_root_dup(src, size, lifetime, now) \
	ttak_mem_dup_safe((src), (size), (lifetime), (now), true, \
			  TTAK_MEM_DEFAULT)
#define ttak_root_dup_raw(src, size, lifetime, now) \
	ttak_root_dup(src, size, lifetime, now)
#define ttak_root_dup_with_flags(src, size, lifetime, now, flags) \
	ttak_mem_dup_safe((src), (size), (lifetime), (now), true, (flags))
#define ttak_root_dup_with_flags_raw(src, size, lifetime, now, flags) \
	ttak_root_dup_with_flags(src, size, lifetime, now, flags)

#endif /* TTAK_MEM_H */
