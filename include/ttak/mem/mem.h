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
#include <ttak/mem/epoch_gc.h>

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
 * expiry tick) block allocated with allow_direct; NULL otherwise (errno
 * EINVAL for NULL, EFAULT for a pointer that is no live block or a
 * corrupted one, ETIMEDOUT, EPERM).
 */
void *ttak_mem_access(void *ptr, uint64_t now_tick);

/**
 * ttak_mem_access_bridge() - ttak_mem_access(), always out of line.
 * @ptr: a block from this allocator.
 * @now_tick: the caller's current tick.
 *
 * For callers that must not depend on anything inline in this header
 * (another compiler, a foreign-language binding). ttak_mem_access() is
 * out of line already, so both give the same answer.
 *
 * Context: as ttak_mem_access().
 * Return: as ttak_mem_access().
 */
void *ttak_mem_access_bridge(void *ptr, uint64_t now_tick);

/**
 * ttak_fastalloc() - Allocate a tracked block and register it with @gc.
 * @gc: an initialised epoch GC.
 * @size: bytes wanted; 0 is refused.
 * @lifetime_ticks: lifetime of the block, as for ttak_mem_alloc_safe().
 * @now_tick: the caller's current tick.
 *
 * ttak_mem_alloc() then ttak_epoch_gc_register() in one call: the block
 * is zeroed, allows direct access and is tracked by @gc with one
 * reference. Release that reference (ttak_mem_node_release() on
 * ttak_mem_tree_find_node(&@gc->tree, block)) and the next rotation of
 * @gc frees it; ttak_epoch_gc_destroy() frees it too. Do not
 * ttak_mem_free() it yourself. When the registration fails the block is
 * freed again: nothing is left behind.
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 * Return: the block, or NULL (errno EINVAL for a NULL or destroyed @gc or
 * a zero @size, ENOMEM).
 */
void *ttak_fastalloc(ttak_epoch_gc_t *gc, size_t size,
		     uint64_t lifetime_ticks, uint64_t now_tick);

/**
 * ttak_fastcalloc() - ttak_fastalloc() of zero-filled memory.
 * @gc: an initialised epoch GC.
 * @size: bytes wanted; 0 is refused.
 * @lifetime_ticks: lifetime of the block.
 * @now: the caller's current tick.
 *
 * Every tracked block is zeroed already, so this is ttak_fastalloc()
 * under the name upstream programs use for "I rely on the zeroes".
 *
 * Context: as ttak_fastalloc().
 * Return: as ttak_fastalloc().
 */
void *ttak_fastcalloc(ttak_epoch_gc_t *gc, size_t size,
		      uint64_t lifetime_ticks, uint64_t now);

/**
 * ttak_dangerous_alloc() - Untracked, zeroed, 64-byte aligned memory.
 * @size: bytes wanted; 0 is refused.
 *
 * No ttak header check, no lifetime, no registry, no tree: the cheapest
 * block ttak hands out, and the one nothing protects. ttak_mem_access()
 * and ttak_mem_free() refuse it (it is no tracked block); only
 * ttak_dangerous_free() frees it.
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 * Return: the block (aligned to TTAK_CACHE_LINE_SIZE), or NULL (errno
 * EINVAL for a zero or absurd @size, ENOMEM).
 */
void *ttak_dangerous_alloc(size_t size);

/**
 * ttak_dangerous_calloc() - ttak_dangerous_alloc() of @nmemb * @size bytes.
 * @nmemb: number of elements.
 * @size: bytes per element.
 *
 * Context: as ttak_dangerous_alloc().
 * Return: the zeroed block, or NULL (errno EOVERFLOW when @nmemb * @size
 * does not fit a size_t, EINVAL for a zero product, ENOMEM).
 */
void *ttak_dangerous_calloc(size_t nmemb, size_t size);

/**
 * ttak_dangerous_free() - Free a block of ttak_dangerous_alloc().
 * @ptr: the block; NULL is a no-op.
 *
 * A tracked block (from ttak_mem_alloc_safe()) is recognised, refused
 * (errno EINVAL) and left alone; a pointer whose hidden word below it is
 * not the one ttak_dangerous_alloc() wrote is refused (errno EFAULT).
 * Like free(), anything else (a foreign pointer, a second free) is
 * undefined: untracked memory has no registry to ask.
 *
 * Context: as ttak_dangerous_alloc().
 */
void ttak_dangerous_free(void *ptr);

/**
 * tt_inspect_dirty_pointers() - List the tracked blocks expired at a tick.
 * @now_tick: the tick to judge by; a block is expired once @now_tick is
 *	past its expiry tick (see ttak_mem_access()).
 * @count_out: receives the number of entries.
 *
 * Looks at every live tracked block (of the process; in the kernel, of
 * every module using ttak.ko). Blocks that a mem tree or epoch GC tracks
 * are not listed: their tree frees them. Nothing is freed.
 *
 * Context: user space: any thread. Kernel: process context, may sleep.
 * Return: a new array of *@count_out block addresses, which the caller
 * frees with free() in user space and kvfree() in the kernel; NULL with
 * *@count_out 0 when no block is expired; NULL (errno EINVAL) for a NULL
 * @count_out, or (ENOMEM, *@count_out 0) without memory for the array.
 */
void **tt_inspect_dirty_pointers(uint64_t now_tick, size_t *count_out);

/**
 * tt_autoclean_dirty_pointers() - Free every tracked block expired at a tick.
 * @now_tick: the tick to judge by.
 *
 * Frees what tt_inspect_dirty_pointers() would list, each block only if
 * it is still expired, untracked by any tree and intact when its turn
 * comes. A caller still using an expired block loses it: expiry is the
 * owner's promise that nobody does.
 *
 * Context: as tt_inspect_dirty_pointers().
 */
void tt_autoclean_dirty_pointers(uint64_t now_tick);

/**
 * tt_autoclean_and_inspect() - Free the expired blocks and list them.
 * @now_tick: the tick to judge by.
 * @count_out: receives the number of blocks freed.
 *
 * tt_autoclean_dirty_pointers() in one pass that also returns what it
 * freed. The addresses are for logs and counts only: the blocks are gone.
 *
 * Context: as tt_inspect_dirty_pointers().
 * Return: as tt_inspect_dirty_pointers(), listing the freed blocks.
 */
void **tt_autoclean_and_inspect(uint64_t now_tick, size_t *count_out);

/**
 * ttak_mem_configure_gc() - Tune the GC of tracked allocations.
 * @min_interval_ns: an automatic cleanup runs at most this often, and
 *	only once the garbage pressure has reached @pressure_threshold.
 * @max_interval_ns: with garbage waiting, one runs at least this often.
 * @pressure_threshold: garbage bytes that let a cleanup run early.
 *
 * Tracked allocations are collected by the mem trees and epoch GCs that
 * track them: the settings become the ones every mem tree, epoch GC and
 * arena env initialised from now on starts with (defaults: 10 ms, 1 s,
 * 1 MiB); trees initialised earlier keep theirs
 * (ttak_mem_tree_set_cleaning_intervals() and
 * ttak_mem_tree_set_pressure_threshold() tune one tree). In the kernel
 * they are module-wide. @min_interval_ns > @max_interval_ns is refused
 * (errno EINVAL) and nothing changes.
 *
 * Context: any thread or context; takes no lock.
 */
void ttak_mem_configure_gc(uint64_t min_interval_ns, uint64_t max_interval_ns,
			   size_t pressure_threshold);

/**
 * ttak_mem_set_trace() - Trace allocation events, or stop.
 * @enable: non-zero: on; 0: off.
 *
 * User space: while on, every tracked allocation and free, every block
 * tt_autoclean_dirty_pointers() frees and every dangerous allocation and
 * free writes one JSON object on a line of its own to stderr, e.g.
 * {"event":"alloc","ptr":"0x...","size":64,"now":5,"expires":15,
 * "root":0,"flags":0}. Kernel: the switch is kept and reported by
 * ttak_mem_is_trace_enabled(); nothing is printed yet.
 *
 * Context: any thread or context; takes no lock.
 */
void ttak_mem_set_trace(int enable);

/**
 * ttak_mem_is_trace_enabled() - Is allocation tracing on?
 *
 * Context: any thread or context.
 * Return: 1 when on, 0 when off.
 */
int ttak_mem_is_trace_enabled(void);

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

/*
 * Scoped forms: declare `cast var` holding the block the matching macro
 * above returns, and free it with ttak_mem_free() when var leaves its
 * scope (the compiler's cleanup attribute; gcc and clang, both homes).
 * cast must be a pointer type. A NULL var (the call failed) is left
 * alone; after a successful realloc the old block is gone already, after
 * a failed one it is still the caller's. Assigning another block to var
 * makes the cleanup free that one instead.
 */
static inline void ttak_mem_scoped_cleanup(void *var_addr)
{
	ttak_mem_free(*(void **)var_addr);
}

#define TTAK_MEM_SCOPED	__attribute__((cleanup(ttak_mem_scoped_cleanup)))

#define ttak_mem_alloc_scoped(var, cast, size, lifetime, now_tick) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_mem_alloc(size, lifetime, now_tick)
#define ttak_root_alloc_scoped(var, cast, size, lifetime, now_tick) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_root_alloc(size, lifetime, now_tick)
#define ttak_mem_alloc_with_flags_scoped(var, cast, size, lifetime, \
					 now_tick, flags) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_mem_alloc_with_flags(size, lifetime, now_tick, flags)
#define ttak_root_alloc_with_flags_scoped(var, cast, size, lifetime, \
					  now_tick, flags) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_root_alloc_with_flags(size, lifetime, now_tick, \
						 flags)
#define ttak_mem_realloc_scoped(var, cast, ptr, size, lifetime, now_tick) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_mem_realloc(ptr, size, lifetime, now_tick)
#define ttak_root_realloc_scoped(var, cast, ptr, size, lifetime, now_tick) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_root_realloc(ptr, size, lifetime, now_tick)
#define ttak_mem_realloc_with_flags_scoped(var, cast, ptr, size, lifetime, \
					   now_tick, flags) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_mem_realloc_with_flags(ptr, size, lifetime, \
						  now_tick, flags)
#define ttak_root_realloc_with_flags_scoped(var, cast, ptr, size, lifetime, \
					    now_tick, flags) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_root_realloc_with_flags(ptr, size, lifetime, \
						   now_tick, flags)
#define ttak_mem_dup_scoped(var, cast, src, size, lifetime, now_tick) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_mem_dup(src, size, lifetime, now_tick)
#define ttak_root_dup_scoped(var, cast, src, size, lifetime, now_tick) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_root_dup(src, size, lifetime, now_tick)
#define ttak_mem_dup_with_flags_scoped(var, cast, src, size, lifetime, \
				       now_tick, flags) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_mem_dup_with_flags(src, size, lifetime, now_tick, \
					      flags)
#define ttak_root_dup_with_flags_scoped(var, cast, src, size, lifetime, \
					now_tick, flags) \
	cast var TTAK_MEM_SCOPED = \
		(cast)ttak_root_dup_with_flags(src, size, lifetime, now_tick, \
					       flags)

#endif /* TTAK_MEM_H */
