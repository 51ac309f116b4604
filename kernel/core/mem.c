// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Tracked allocations.
 *
 * Layout of a block (the header sits right below the pointer returned):
 *
 *   raw -> [ padding for alignment ][ struct ttak_block ][ user bytes ][ canary ]
 *
 * Every live block is linked into a striped, address-keyed registry, so
 * free and access first ask the registry whether the pointer is ours.
 * That is what makes a foreign pointer or a double free detectable
 * without reading memory that may not be ours. The header's check word
 * sits next to the user bytes, so an underrun hits it first; the end
 * canary (TTAK_MEM_STRICT_CHECK) catches overruns.
 */
#include "ttak_core.h"
#include <ttak/mem/epoch_gc.h>
#include <ttak/timing/timing.h>

#define TTAK_BLOCK_MAGIC	0x7474616b626c6b31ULL	/* "ttakblk1" */
#define TTAK_CANARY_MAGIC	0x63616e6172792121ULL	/* "canary!!" */
#define TTAK_MEM_KNOWN_FLAGS	(TTAK_MEM_HUGE_PAGES | TTAK_MEM_CACHE_ALIGNED | \
				 TTAK_MEM_STRICT_CHECK | TTAK_MEM_LOW_PRIORITY)
#define TTAK_HUGE_MIN		(2UL << 20)
#define TTAK_DANGER_MAGIC	0x7474616b64616e67ULL	/* "ttakdang" */
/* one JSON object a line (ttak_mem_set_trace()) */
#define TTAK_TRACE_ALLOC	"{\"event\":\"alloc\",\"ptr\":\"%p\",\"size\":%zu," \
				"\"now\":%llu,\"expires\":%llu,\"root\":%d,\"flags\":%u}"

struct ttak_block {
	u32 tree_refs;			/* mem trees tracking it (stripe lock) */
	void *raw;
	size_t size;
	u64 expires_tick;
	u32 flags;
	u8 is_const;
	u8 is_volatile;
	u8 allow_direct;
	u8 is_root;
	size_t raw_size;		/* bytes behind raw, for the free */
	u64 check;			/* last: nearest to the user bytes */
};

struct ttak_registry_stripe {
	ttak_lock_t lock;
	struct ttak_ptr_hash index;
	size_t bytes;
};

static struct ttak_registry_stripe ttak_registry[TTAK_REGISTRY_STRIPES];

/* ttak_mem_set_trace(): read on every allocation and free */
static ttak_atomic_u32_t ttak_trace_on;

static bool ttak_tracing(void)
{
	return ttak_unlikely(ttak_a32_read(&ttak_trace_on));
}

static struct ttak_registry_stripe *ttak_stripe_of(const void *ptr)
{
	uintptr_t x = (uintptr_t)ptr;

	/* blocks are at least 16-byte aligned: skip the constant low bits */
	return &ttak_registry[(x >> 6 ^ x >> 12) & (TTAK_REGISTRY_STRIPES - 1)];
}

static u64 ttak_block_check(const struct ttak_block *b)
{
	u64 h = TTAK_BLOCK_MAGIC;

	h ^= (u64)(uintptr_t)b->raw * 0x9e3779b97f4a7c15ULL;
	h ^= (u64)b->size * 0xc2b2ae3d27d4eb4fULL;
	h ^= (u64)b->raw_size * 0x27d4eb2f165667c5ULL;
	h ^= b->expires_tick * 0x165667b19e3779f9ULL;
	h ^= ((u64)b->flags << 32) | ((u64)b->is_const << 24) |
	     ((u64)b->is_volatile << 16) | ((u64)b->allow_direct << 8) |
	     b->is_root;
	h ^= (u64)(uintptr_t)(b + 1);	/* the user pointer */
	return h;
}

static u64 ttak_canary_of(const void *user)
{
	return TTAK_CANARY_MAGIC ^ (u64)(uintptr_t)user;
}

static struct ttak_block *ttak_block_of(const void *user)
{
	return (struct ttak_block *)((char *)user - sizeof(struct ttak_block));
}

static u64 ttak_expiry(u64 now, u64 lifetime)
{
	if (lifetime == __TTAK_UNSAFE_MEM_FOREVER__)
		return __TTAK_UNSAFE_MEM_FOREVER__;
	if (now > __TTAK_UNSAFE_MEM_FOREVER__ - 1 - lifetime)
		return __TTAK_UNSAFE_MEM_FOREVER__ - 1;	/* saturate */
	return now + lifetime;
}

/*
 * Valid while @now <= expires_tick, expired only once @now has passed it
 * (upstream's boundary): a lifetime of N ticks from tick T is usable at
 * T + N and gone at T + N + 1, and a lifetime of 0 is usable at T only.
 */
static bool ttak_block_expired(const struct ttak_block *b, u64 now)
{
	return b->expires_tick != __TTAK_UNSAFE_MEM_FOREVER__ &&
	       now > b->expires_tick;
}

/*
 * Integrity of a registered block: 0, or the negative errno to report.
 * Called with the block's stripe locked, so the block cannot go away.
 */
static int ttak_block_verify(const void *user, const struct ttak_block *b)
{
	u64 canary;

	if (b->check != ttak_block_check(b)) {
		ttak_plat_err("block %p: header corrupted (underrun?)\n", user);
		return -EFAULT;
	}
	if (b->flags & TTAK_MEM_STRICT_CHECK) {
		memcpy(&canary, (const char *)user + b->size, sizeof(canary));
		if (canary != ttak_canary_of(user)) {
			ttak_plat_err("block %p: end canary overwritten (overrun of %zu-byte block)\n",
				      user, b->size);
			return -EFAULT;
		}
	}
	return 0;
}

void *__ttak_mem_alloc(size_t size, u64 lifetime_ticks, u64 now_tick,
		       bool is_const, bool is_volatile, bool allow_direct,
		       bool is_root, ttak_mem_flags_t flags)
{
	struct ttak_registry_stripe *stripe;
	size_t align, raw_size, limit;
	unsigned long irqflags;
	struct ttak_block *b;
	uintptr_t user;
	u64 canary;
	void *raw;

	limit = (size_t)-1 / 2;
	if (!size || size > limit || (flags & ~TTAK_MEM_KNOWN_FLAGS))
		return ERR_PTR(-EINVAL);
	align = (flags & TTAK_MEM_CACHE_ALIGNED) ? TTAK_CACHE_LINE_SIZE : 16;
	/*
	 * Header + worst-case padding. Do not count on 16-byte alignment
	 * from the allocator: kmalloc() promises 8 bytes only, and gives no
	 * more under KASAN or slub_debug red zones; with 8 the padding can
	 * reach align - 8 and the canary would land past the allocation.
	 */
	raw_size = sizeof(*b) + (align - 1) + size;
	if (flags & TTAK_MEM_STRICT_CHECK)
		raw_size += sizeof(canary);

	/* zeroed: fresh pages are not cleared twice (ttak_platform.h) */
	raw = ttak_plat_block_alloc(raw_size);
	if (!raw)
		return ERR_PTR(-ENOMEM);
	user = ((uintptr_t)raw + sizeof(*b) + align - 1) & ~(uintptr_t)(align - 1);
	b = ttak_block_of((void *)user);
	b->raw = raw;
	b->size = size;
	b->expires_tick = ttak_expiry(now_tick, lifetime_ticks);
	b->flags = flags;
	b->is_const = is_const;
	b->is_volatile = is_volatile;
	b->allow_direct = allow_direct;
	b->is_root = is_root;
	b->tree_refs = 0;
	b->raw_size = raw_size;
	b->check = ttak_block_check(b);
	if (flags & TTAK_MEM_STRICT_CHECK) {
		canary = ttak_canary_of((void *)user);
		memcpy((char *)user + size, &canary, sizeof(canary));
	}
	if ((flags & TTAK_MEM_HUGE_PAGES) && size >= TTAK_HUGE_MIN)
		ttak_plat_hint_huge((void *)user, size);

	stripe = ttak_stripe_of((void *)user);
	ttak_lock_irqsave(&stripe->lock, irqflags);
	if (ttak_unlikely(ttak_ptr_hash_grow_target(&stripe->index))) {
		ttak_unlock_irqrestore(&stripe->lock, irqflags);
		ttak_ptr_hash_grow(&stripe->index, &stripe->lock);
		ttak_lock_irqsave(&stripe->lock, irqflags);
	}
	if (!ttak_ptr_hash_insert(&stripe->index, (void *)user, b)) {
		ttak_unlock_irqrestore(&stripe->lock, irqflags);
		ttak_plat_block_free(raw, raw_size);
		return ERR_PTR(-ENOMEM);
	}
	stripe->bytes += size;
	ttak_unlock_irqrestore(&stripe->lock, irqflags);
	if (ttak_tracing())
		ttak_plat_trace(TTAK_TRACE_ALLOC, (void *)user, size,
				(unsigned long long)now_tick,
				(unsigned long long)b->expires_tick,
				is_root ? 1 : 0, (unsigned int)flags);
	return (void *)user;
}

void *ttak_mem_alloc_safe(size_t size, u64 lifetime_ticks, u64 now_tick,
			  bool is_const, bool is_volatile,
			  bool allow_direct, bool is_root,
			  ttak_mem_flags_t flags)
{
	return ttak_report_ptr(__ttak_mem_alloc(size, lifetime_ticks, now_tick,
						is_const, is_volatile,
						allow_direct, is_root, flags));
}
EXPORT_SYMBOL_GPL(ttak_mem_alloc_safe);

/*
 * A dirty block (tt_inspect_dirty_pointers()): intact, expired at @now
 * and tracked by no mem tree, whose cleanup would free it once more.
 * Stripe locked; silent, the free that follows reports corruption.
 */
static bool ttak_block_dirty(const struct ttak_block *b, u64 now)
{
	return b->check == ttak_block_check(b) && !b->tree_refs &&
	       ttak_block_expired(b, now);
}

/*
 * Free @ptr; with @only_dirty, only while it is dirty at @now (checked
 * under the same lock as the free, so a tree add cannot slip between).
 * 0, -EFAULT: no live block, or a corrupted one (nothing freed), or
 * -EAGAIN: no longer dirty (nothing freed).
 */
static int ttak_mem_release(void *ptr, bool only_dirty, u64 now)
{
	struct ttak_registry_stripe *stripe = ttak_stripe_of(ptr);
	unsigned long irqflags;
	struct ttak_block *b;
	size_t raw_size, size;
	void *raw;
	int err;

	ttak_lock_irqsave(&stripe->lock, irqflags);
	b = ttak_ptr_hash_find(&stripe->index, ptr);
	if (!b) {
		ttak_unlock_irqrestore(&stripe->lock, irqflags);
		if (only_dirty)
			return -EAGAIN;		/* freed by its owner meanwhile */
		ttak_plat_err("free of %p: not a live ttak block (foreign pointer or double free)\n",
			      ptr);
		return -EFAULT;
	}
	err = ttak_block_verify(ptr, b);
	if (!err && only_dirty && !ttak_block_dirty(b, now))
		err = -EAGAIN;
	if (err) {
		/* keep it: freeing through a corrupted header corrupts more */
		ttak_unlock_irqrestore(&stripe->lock, irqflags);
		return err;
	}
	ttak_ptr_hash_remove(&stripe->index, ptr);
	stripe->bytes -= b->size;
	raw = b->raw;
	raw_size = b->raw_size;
	size = b->size;
	b->check = 0;		/* a stale copy of the pointer fails verification */
	ttak_unlock_irqrestore(&stripe->lock, irqflags);
	ttak_plat_block_free(raw, raw_size);
	if (ttak_tracing())
		ttak_plat_trace("{\"event\":\"%s\",\"ptr\":\"%p\",\"size\":%zu}",
				only_dirty ? "autoclean" : "free", ptr, size);
	return 0;
}

/* 0, or -EFAULT: no live block, or a corrupted one (nothing freed) */
static int __ttak_mem_free(void *ptr)
{
	return ttak_mem_release(ptr, false, 0);
}

void ttak_mem_free(void *ptr)
{
	if (ptr)
		ttak_report(__ttak_mem_free(ptr));
}
EXPORT_SYMBOL_GPL(ttak_mem_free);

void ttak_mem_free_cb(void *ptr)
{
	ttak_mem_free(ptr);
}

void ttak_mem_freep(void **ptr)
{
	if (!ptr)
		return;
	ttak_mem_free(*ptr);
	*ptr = NULL;
}
EXPORT_SYMBOL_GPL(ttak_mem_freep);

/*
 * Any context, hardirq included: the stripe lock is taken with interrupts
 * off everywhere (in the kernel), so an interrupt cannot find its own CPU
 * holding it; the block cannot be freed while the lock is held.
 * 0, or -EINVAL / -EFAULT / -EPERM / -ETIMEDOUT.
 */
static int __ttak_mem_access(void *ptr, u64 now_tick)
{
	struct ttak_registry_stripe *stripe;
	unsigned long irqflags;
	struct ttak_block *b;
	int err;

	if (!ptr)
		return -EINVAL;
	stripe = ttak_stripe_of(ptr);
	ttak_lock_irqsave(&stripe->lock, irqflags);
	if (!ttak_ptr_hash_find(&stripe->index, ptr)) {
		err = -EFAULT;
	} else {
		b = ttak_block_of(ptr);
		err = ttak_block_verify(ptr, b);
		if (!err && !b->allow_direct)
			err = -EPERM;
		else if (!err && ttak_block_expired(b, now_tick))
			err = -ETIMEDOUT;
	}
	ttak_unlock_irqrestore(&stripe->lock, irqflags);
	return err;
}

void *ttak_mem_access(void *ptr, uint64_t now_tick)
{
	return ttak_report(__ttak_mem_access(ptr, now_tick)) ? ptr : NULL;
}
EXPORT_SYMBOL_GPL(ttak_mem_access);

void *ttak_mem_access_bridge(void *ptr, u64 now_tick)
{
	return ttak_mem_access(ptr, now_tick);
}
EXPORT_SYMBOL_GPL(ttak_mem_access_bridge);

/* Count a mem tree's hold on @ptr (+1 at add, -1 at remove). */
void ttak_mem_block_track(const void *ptr, int delta)
{
	struct ttak_registry_stripe *stripe = ttak_stripe_of(ptr);
	unsigned long irqflags;
	struct ttak_block *b;

	ttak_lock_irqsave(&stripe->lock, irqflags);
	b = ttak_ptr_hash_find(&stripe->index, ptr);
	/* not ours (the tree's owner broke its contract): nothing to count */
	if (b && (delta > 0 || b->tree_refs))
		b->tree_refs += delta;
	ttak_unlock_irqrestore(&stripe->lock, irqflags);
}

/* --- fast and dangerous allocation ---------------------------------- */

static void *__ttak_fastalloc(ttak_epoch_gc_t *gc, size_t size,
			      u64 lifetime_ticks, u64 now_tick)
{
	ttak_mem_node_t *node;
	void *p;

	if (!gc || !gc->tree.initialized)
		return ERR_PTR(-EINVAL);
	p = __ttak_mem_alloc(size, lifetime_ticks, now_tick, false, false,
			     true, false, TTAK_MEM_DEFAULT);
	if (IS_ERR(p))
		return p;
	node = __ttak_epoch_gc_register(gc, p, size);
	if (IS_ERR(node)) {
		__ttak_mem_free(p);
		return ERR_PTR(PTR_ERR(node));
	}
	return p;
}

void *ttak_fastalloc(ttak_epoch_gc_t *gc, size_t size, u64 lifetime_ticks,
		     u64 now_tick)
{
	return ttak_report_ptr(__ttak_fastalloc(gc, size, lifetime_ticks,
						now_tick));
}
EXPORT_SYMBOL_GPL(ttak_fastalloc);

void *ttak_fastcalloc(ttak_epoch_gc_t *gc, size_t size, u64 lifetime_ticks,
		      u64 now)
{
	/* tracked blocks are zeroed already */
	return ttak_fastalloc(gc, size, lifetime_ticks, now);
}
EXPORT_SYMBOL_GPL(ttak_fastcalloc);

/*
 * An untracked block keeps only what its free needs, just below the
 * pointer: the allocation, its size and a check word.
 */
struct ttak_danger {
	void *raw;
	size_t raw_size;
	u64 check;
};

static void *__ttak_dangerous_alloc(size_t size)
{
	struct ttak_danger *d;
	size_t raw_size;
	uintptr_t user;
	void *raw;

	if (!size || size > (size_t)-1 / 2)
		return ERR_PTR(-EINVAL);
	/* the allocator promises 8-byte alignment at least, as above */
	raw_size = sizeof(*d) + TTAK_CACHE_LINE_SIZE - 1 + size;
	raw = ttak_plat_block_alloc(raw_size);	/* zeroed */
	if (!raw)
		return ERR_PTR(-ENOMEM);
	user = ((uintptr_t)raw + sizeof(*d) + TTAK_CACHE_LINE_SIZE - 1) &
	       ~(uintptr_t)(TTAK_CACHE_LINE_SIZE - 1);
	d = (struct ttak_danger *)user - 1;
	d->raw = raw;
	d->raw_size = raw_size;
	d->check = TTAK_DANGER_MAGIC ^ (u64)user;
	if (ttak_tracing())
		ttak_plat_trace("{\"event\":\"dangerous_alloc\",\"ptr\":\"%p\",\"size\":%zu}",
				(void *)user, size);
	return (void *)user;
}

void *ttak_dangerous_alloc(size_t size)
{
	return ttak_report_ptr(__ttak_dangerous_alloc(size));
}
EXPORT_SYMBOL_GPL(ttak_dangerous_alloc);

void *ttak_dangerous_calloc(size_t nmemb, size_t size)
{
	if (size && nmemb > (size_t)-1 / size) {
		ttak_report(-EOVERFLOW);
		return NULL;
	}
	return ttak_dangerous_alloc(nmemb * size);
}
EXPORT_SYMBOL_GPL(ttak_dangerous_calloc);

static bool ttak_block_is_live(const void *ptr)
{
	struct ttak_registry_stripe *stripe = ttak_stripe_of(ptr);
	unsigned long irqflags;
	bool live;

	ttak_lock_irqsave(&stripe->lock, irqflags);
	live = ttak_ptr_hash_find(&stripe->index, ptr);
	ttak_unlock_irqrestore(&stripe->lock, irqflags);
	return live;
}

/* 0, -EINVAL: a tracked block, -EFAULT: no dangerous block */
static int __ttak_dangerous_free(void *ptr)
{
	struct ttak_danger *d = (struct ttak_danger *)ptr - 1;

	if (ttak_block_is_live(ptr)) {
		ttak_plat_err("dangerous free of %p: a tracked block (use ttak_mem_free)\n",
			      ptr);
		return -EINVAL;
	}
	if ((uintptr_t)ptr % TTAK_CACHE_LINE_SIZE ||
	    d->check != (TTAK_DANGER_MAGIC ^ (u64)(uintptr_t)ptr)) {
		ttak_plat_err("dangerous free of %p: not from ttak_dangerous_alloc\n",
			      ptr);
		return -EFAULT;
	}
	d->check = 0;
	ttak_plat_block_free(d->raw, d->raw_size);
	if (ttak_tracing())
		ttak_plat_trace("{\"event\":\"dangerous_free\",\"ptr\":\"%p\"}",
				ptr);
	return 0;
}

void ttak_dangerous_free(void *ptr)
{
	if (ptr)
		ttak_report(__ttak_dangerous_free(ptr));
}
EXPORT_SYMBOL_GPL(ttak_dangerous_free);

/* --- dirty pointers ---------------------------------------------------- */

/*
 * The dirty blocks at @now: a new array (ttak_plat_alloc(), so free() in
 * user space, kvfree() in the kernel) or NULL with *@count 0 when there
 * are none, or ERR_PTR(-ENOMEM). Sized from the block count first; the
 * registry may grow meanwhile, so a full array means: again, larger.
 */
static void **ttak_dirty_collect(u64 now, size_t *count)
{
	size_t blocks, bytes, cap, n, i, s;
	bool full;
	void **arr;

	*count = 0;
	ttak_mem_core_usage(&blocks, &bytes);
	cap = blocks + 16;
	for (;;) {
		if (cap > (size_t)-1 / sizeof(*arr))
			return ERR_PTR(-ENOMEM);
		arr = ttak_plat_alloc(cap * sizeof(*arr));
		if (!arr)
			return ERR_PTR(-ENOMEM);
		n = 0;
		full = false;
		for (s = 0; s < TTAK_REGISTRY_STRIPES && !full; s++) {
			struct ttak_registry_stripe *st = &ttak_registry[s];
			unsigned long irqflags;

			ttak_lock_irqsave(&st->lock, irqflags);
			for (i = 0; i < ttak_ptr_hash_capacity(&st->index); i++) {
				struct ttak_block *b;

				b = ttak_ptr_hash_entry_at(&st->index, i);
				if (!b || !ttak_block_dirty(b, now))
					continue;
				if (n == cap) {
					full = true;
					break;
				}
				arr[n++] = b + 1;	/* the user pointer */
			}
			ttak_unlock_irqrestore(&st->lock, irqflags);
		}
		if (!full)
			break;
		ttak_plat_free(arr);
		cap *= 2;
	}
	if (!n) {
		ttak_plat_free(arr);
		return NULL;
	}
	*count = n;
	return arr;
}

static void **__tt_dirty(u64 now_tick, size_t *count_out, bool clean)
{
	size_t n, i, kept = 0;
	void **arr;

	if (!count_out)
		return ERR_PTR(-EINVAL);
	arr = ttak_dirty_collect(now_tick, &n);
	if (!arr || IS_ERR(arr) || !clean) {
		*count_out = n;
		return arr;
	}
	for (i = 0; i < n; i++)
		if (!ttak_mem_release(arr[i], true, now_tick))
			arr[kept++] = arr[i];
	*count_out = kept;
	if (!kept) {
		ttak_plat_free(arr);
		return NULL;
	}
	return arr;
}

void **tt_inspect_dirty_pointers(u64 now_tick, size_t *count_out)
{
	return ttak_report_ptr(__tt_dirty(now_tick, count_out, false));
}
EXPORT_SYMBOL_GPL(tt_inspect_dirty_pointers);

void **tt_autoclean_and_inspect(u64 now_tick, size_t *count_out)
{
	return ttak_report_ptr(__tt_dirty(now_tick, count_out, true));
}
EXPORT_SYMBOL_GPL(tt_autoclean_and_inspect);

void tt_autoclean_dirty_pointers(u64 now_tick)
{
	size_t n;

	ttak_plat_free(tt_autoclean_and_inspect(now_tick, &n));
}
EXPORT_SYMBOL_GPL(tt_autoclean_dirty_pointers);

/* --- tracing ------------------------------------------------------------ */

void ttak_mem_set_trace(int enable)
{
	ttak_a32_set(&ttak_trace_on, enable ? 1 : 0);
}
EXPORT_SYMBOL_GPL(ttak_mem_set_trace);

int ttak_mem_is_trace_enabled(void)
{
	return ttak_a32_read(&ttak_trace_on) ? 1 : 0;
}
EXPORT_SYMBOL_GPL(ttak_mem_is_trace_enabled);

/* Size of a live block, under its stripe lock: 0 or -EFAULT. */
static int ttak_block_size(void *ptr, size_t *size)
{
	struct ttak_registry_stripe *stripe = ttak_stripe_of(ptr);
	unsigned long irqflags;
	int err = -EFAULT;

	ttak_lock_irqsave(&stripe->lock, irqflags);
	if (ttak_ptr_hash_find(&stripe->index, ptr) &&
	    !ttak_block_verify(ptr, ttak_block_of(ptr))) {
		*size = ttak_block_of(ptr)->size;
		err = 0;
	}
	ttak_unlock_irqrestore(&stripe->lock, irqflags);
	return err;
}

static void *__ttak_mem_realloc(void *ptr, size_t new_size,
				u64 lifetime_ticks, u64 now_tick,
				bool is_root, ttak_mem_flags_t flags)
{
	size_t old_size;
	void *fresh;

	if (!ptr)
		return __ttak_mem_alloc(new_size, lifetime_ticks, now_tick,
					false, false, true, is_root, flags);
	if (!new_size)
		return ERR_PTR(-EINVAL);
	if (ttak_block_size(ptr, &old_size)) {
		ttak_plat_err("realloc of %p: not a live ttak block\n", ptr);
		return ERR_PTR(-EFAULT);
	}
	fresh = __ttak_mem_alloc(new_size, lifetime_ticks, now_tick, false,
				 false, true, is_root, flags);
	if (IS_ERR(fresh))
		return fresh;
	memcpy(fresh, ptr, old_size < new_size ? old_size : new_size);
	ttak_mem_free(ptr);
	return fresh;
}

void *ttak_mem_realloc_safe(void *ptr, size_t new_size,
			    u64 lifetime_ticks, u64 now_tick,
			    bool is_root, ttak_mem_flags_t flags)
{
	return ttak_report_ptr(__ttak_mem_realloc(ptr, new_size,
						  lifetime_ticks, now_tick,
						  is_root, flags));
}
EXPORT_SYMBOL_GPL(ttak_mem_realloc_safe);

void *ttak_mem_dup_safe(const void *src, size_t size, u64 lifetime_ticks,
			u64 now_tick, bool is_root,
			ttak_mem_flags_t flags)
{
	void *copy;

	if (!src) {
		ttak_report(-EINVAL);
		return NULL;
	}
	copy = ttak_mem_alloc_safe(size, lifetime_ticks, now_tick, false, false,
				   true, is_root, flags);
	if (copy)
		memcpy(copy, src, size);
	return copy;
}
EXPORT_SYMBOL_GPL(ttak_mem_dup_safe);

/* Exported for the unit suite's leak checks (kernel/tests/ttak_core_test.c). */
void ttak_mem_core_usage(size_t *blocks, size_t *bytes)
{
	size_t i, n = 0, sum = 0;

	for (i = 0; i < TTAK_REGISTRY_STRIPES; i++) {
		unsigned long irqflags;

		ttak_lock_irqsave(&ttak_registry[i].lock, irqflags);
		n += ttak_registry[i].index.count;
		sum += ttak_registry[i].bytes;
		ttak_unlock_irqrestore(&ttak_registry[i].lock, irqflags);
	}
	*blocks = n;
	*bytes = sum;
}
EXPORT_SYMBOL_GPL(ttak_mem_core_usage);

ttak_lock_t *ttak_mem_lock_at(size_t i)
{
	return &ttak_registry[i].lock;
}

int ttak_mem_core_init(void)
{
	size_t i;

	for (i = 0; i < TTAK_REGISTRY_STRIPES; i++) {
		memset(&ttak_registry[i], 0, sizeof(ttak_registry[i]));
		ttak_lock_init(&ttak_registry[i].lock);
	}
	return 0;
}

size_t ttak_mem_core_exit(void)
{
	size_t i, b, leaked = 0;

	for (i = 0; i < TTAK_REGISTRY_STRIPES; i++) {
		struct ttak_registry_stripe *s = &ttak_registry[i];

		for (b = 0; b < ttak_ptr_hash_capacity(&s->index); b++) {
			struct ttak_block *blk = ttak_ptr_hash_entry_at(&s->index, b);

			if (!blk)
				continue;
			ttak_plat_block_free(blk->raw, blk->raw_size);
			leaked++;
		}
		ttak_ptr_hash_free(&s->index);
		s->bytes = 0;
		ttak_lock_destroy(&s->lock);
	}
	return leaked;
}
