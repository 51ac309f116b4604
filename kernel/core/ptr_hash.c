// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Address-keyed hash table, the index behind the mem tree and the block
 * registry: open addressing with linear probing over (key, entry) slots.
 * A lookup compares keys stored in the table itself, so it costs one
 * cache miss however large the table grows, and it never reads the
 * memory the key points to (the registry relies on that to recognise
 * foreign pointers). Deletion shifts the following run back instead of
 * leaving tombstones, so probe runs stay short under churn.
 *
 * The caller provides the locking; growing allocates outside the
 * caller's lock so the kernel can use GFP_KERNEL under a spinlock.
 */
#include "ttak_core.h"

#define TTAK_HASH_MIN_SLOTS	16

static size_t ttak_ptr_hash_home(const void *key, size_t mask)
{
	u64 x = (u64)(uintptr_t)key;

	/* 64-bit finaliser: addresses differ mostly in their middle bits */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & mask;
}

/* Slot holding @key, or the empty slot ending its probe run. */
static struct ttak_hash_slot *ttak_ptr_hash_probe(const struct ttak_ptr_hash *h,
						   const void *key)
{
	size_t i = ttak_ptr_hash_home(key, h->mask);

	while (h->slots[i].key && h->slots[i].key != key)
		i = (i + 1) & h->mask;
	return &h->slots[i];
}

void *ttak_ptr_hash_find(const struct ttak_ptr_hash *h, const void *key)
{
	if (!h->slots || !key)
		return NULL;
	return ttak_ptr_hash_probe(h, key)->entry;
}

bool ttak_ptr_hash_insert(struct ttak_ptr_hash *h, const void *key,
			  void *entry)
{
	struct ttak_hash_slot *slot;

	/* at most 3/4 full, so every probe run ends on an empty slot */
	if (!h->slots || !key || (h->count + 1) * 4 > (h->mask + 1) * 3)
		return false;
	slot = ttak_ptr_hash_probe(h, key);
	if (slot->key)
		return false;
	slot->key = key;
	slot->entry = entry;
	h->count++;
	return true;
}

void *ttak_ptr_hash_remove(struct ttak_ptr_hash *h, const void *key)
{
	size_t hole, next, home;
	void *entry;

	if (!h->slots || !key)
		return NULL;
	hole = ttak_ptr_hash_probe(h, key) - h->slots;
	entry = h->slots[hole].entry;
	if (!entry)
		return NULL;
	/* pull back every later entry of the run whose home allows it */
	for (next = (hole + 1) & h->mask; h->slots[next].key;
	     next = (next + 1) & h->mask) {
		home = ttak_ptr_hash_home(h->slots[next].key, h->mask);
		/* stays if its home lies cyclically in (hole, next] */
		if (((next - home) & h->mask) < ((next - hole) & h->mask))
			continue;
		h->slots[hole] = h->slots[next];
		hole = next;
	}
	h->slots[hole].key = NULL;
	h->slots[hole].entry = NULL;
	h->count--;
	return entry;
}

size_t ttak_ptr_hash_grow_target(const struct ttak_ptr_hash *h)
{
	size_t n;

	if (!h->slots)
		return TTAK_HASH_MIN_SLOTS;
	n = h->mask + 1;
	/* grow at half full: linear probing degrades past that */
	if ((h->count + 1) * 2 <= n)
		return 0;
	return n * 2;
}

struct ttak_hash_slot *ttak_ptr_hash_rehash(struct ttak_ptr_hash *h,
					    struct ttak_hash_slot *slots,
					    size_t n)
{
	struct ttak_hash_slot *old = h->slots;
	size_t i, old_n = old ? h->mask + 1 : 0;

	h->slots = slots;
	h->mask = n - 1;
	h->count = 0;
	for (i = 0; i < old_n; i++)
		if (old[i].key)
			ttak_ptr_hash_insert(h, old[i].key, old[i].entry);
	return old;
}

void ttak_ptr_hash_grow(struct ttak_ptr_hash *h, ttak_lock_t *lock)
{
	struct ttak_hash_slot *slots;
	size_t n;

	ttak_lock(lock);
	n = ttak_ptr_hash_grow_target(h);
	ttak_unlock(lock);
	if (!n)
		return;

	/* On failure the old table keeps working until it is 3/4 full. */
	slots = ttak_plat_zalloc(n * sizeof(*slots));
	if (!slots)
		return;

	ttak_lock(lock);
	/* Another thread may have grown it meanwhile. */
	if (!h->slots || h->mask + 1 < n)
		slots = ttak_ptr_hash_rehash(h, slots, n);
	ttak_unlock(lock);
	ttak_plat_free(slots);
}

void ttak_ptr_hash_free(struct ttak_ptr_hash *h)
{
	ttak_plat_free(h->slots);
	h->slots = NULL;
	h->mask = 0;
	h->count = 0;
}
