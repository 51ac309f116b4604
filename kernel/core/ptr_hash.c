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
 * Writers hold the caller's lock. Readers either hold it too or use
 * ttak_ptr_hash_find_lockless() inside an epoch section: every change
 * runs inside a sequence count (odd while slots move) that the lockless
 * reader retries on, and a replaced table is freed through EBR only.
 * Growing allocates outside the caller's lock so the kernel can use
 * GFP_KERNEL under a spinlock.
 */
#include "ttak_core.h"

#define TTAK_HASH_MIN_SLOTS	16

/*
 * The header is two words, so the slots start as aligned as the
 * allocation (16 bytes or more) and no slot straddles two cache lines:
 * a hit reads its key and its entry from one line. With a one-word
 * header every fourth slot did, a second miss for a quarter of the hits.
 */
struct ttak_hash_table {
	unsigned long mask;		/* slot count - 1, a power of two */
	unsigned long unused;		/* keeps slot[] two words in */
	struct ttak_hash_slot slot[];
};

static size_t ttak_ptr_hash_home(const void *key, size_t mask)
{
	u64 x = (u64)(uintptr_t)key;

	/* 64-bit finaliser: addresses differ mostly in their middle bits */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & mask;
}

static void ttak_ptr_hash_write_begin(struct ttak_ptr_hash *h)
{
	WRITE_ONCE(h->seq, h->seq + 1);
	smp_wmb();		/* odd count visible before any slot moves */
}

static void ttak_ptr_hash_write_end(struct ttak_ptr_hash *h)
{
	smp_wmb();		/* slots settled before the count is even */
	WRITE_ONCE(h->seq, h->seq + 1);
}

/* Index of the slot holding @key, or of the empty slot ending its run. */
static size_t ttak_ptr_hash_probe(const struct ttak_hash_table *t,
				  const void *key)
{
	size_t i = ttak_ptr_hash_home(key, t->mask);
	const void *k;

	while ((k = READ_ONCE(t->slot[i].key)) && k != key)
		i = (i + 1) & t->mask;
	return i;
}

void *ttak_ptr_hash_find(const struct ttak_ptr_hash *h, const void *key)
{
	const struct ttak_hash_table *t = h->table;

	if (!t || !key)
		return NULL;
	return t->slot[ttak_ptr_hash_probe(t, key)].entry;
}

void *ttak_ptr_hash_find_lockless(const struct ttak_ptr_hash *h,
				  const void *key)
{
	const struct ttak_hash_table *t;
	const void *k;
	unsigned int seq;
	size_t i, n, mask;
	void *entry;

	if (!key)
		return NULL;
	for (;;) {
		seq = READ_ONCE(h->seq);
		smp_rmb();	/* count read before the slots; pairs with write_end */
		if (ttak_unlikely(seq & 1)) {
			ttak_cpu_relax();
			continue;
		}
		entry = NULL;
		t = ttak_load_acquire_ptr(&h->table);
		if (t) {
			/* fixed for the table's life: read once, not per probe */
			mask = t->mask;
			i = ttak_ptr_hash_home(key, mask);
			/* bounded: a torn view must not spin for ever */
			for (n = 0; n <= mask; n++) {
				k = READ_ONCE(t->slot[i].key);
				if (k == key) {
					entry = ttak_load_acquire_ptr(&t->slot[i].entry);
					break;
				}
				if (!k)
					break;
				i = (i + 1) & mask;
			}
		}
		smp_rmb();	/* slots read before the count; pairs with write_begin */
		if (ttak_likely(READ_ONCE(h->seq) == seq))
			return entry;
	}
}

bool ttak_ptr_hash_insert(struct ttak_ptr_hash *h, const void *key,
			  void *entry)
{
	struct ttak_hash_table *t = h->table;
	size_t i;

	/* at most 3/4 full, so every probe run ends on an empty slot */
	if (!t || !key || (h->count + 1) * 4 > (t->mask + 1) * 3)
		return false;
	i = ttak_ptr_hash_probe(t, key);
	if (t->slot[i].key)
		return false;
	ttak_ptr_hash_write_begin(h);
	/* entry first: a lockless reader that sees the key sees the entry */
	ttak_store_release_ptr(&t->slot[i].entry, entry);
	WRITE_ONCE(t->slot[i].key, key);
	ttak_ptr_hash_write_end(h);
	h->count++;
	return true;
}

void *ttak_ptr_hash_remove(struct ttak_ptr_hash *h, const void *key)
{
	struct ttak_hash_table *t = h->table;
	size_t hole, next, home;
	void *entry;

	if (!t || !key)
		return NULL;
	hole = ttak_ptr_hash_probe(t, key);
	entry = t->slot[hole].entry;
	if (!entry)
		return NULL;
	ttak_ptr_hash_write_begin(h);
	/* pull back every later entry of the run whose home allows it */
	for (next = (hole + 1) & t->mask; t->slot[next].key;
	     next = (next + 1) & t->mask) {
		home = ttak_ptr_hash_home(t->slot[next].key, t->mask);
		/* stays if its home lies cyclically in (hole, next] */
		if (((next - home) & t->mask) < ((next - hole) & t->mask))
			continue;
		ttak_store_release_ptr(&t->slot[hole].entry,
				       t->slot[next].entry);
		WRITE_ONCE(t->slot[hole].key, t->slot[next].key);
		hole = next;
	}
	WRITE_ONCE(t->slot[hole].key, NULL);
	WRITE_ONCE(t->slot[hole].entry, NULL);
	ttak_ptr_hash_write_end(h);
	h->count--;
	return entry;
}

size_t ttak_ptr_hash_grow_target(const struct ttak_ptr_hash *h)
{
	size_t n;

	if (!h->table)
		return TTAK_HASH_MIN_SLOTS;
	n = h->table->mask + 1;
	/* grow at half full: linear probing degrades past that */
	if ((h->count + 1) * 2 <= n)
		return 0;
	return n * 2;
}

/* Fill @fresh (unpublished, so plain stores) with every entry of @h. */
static void ttak_ptr_hash_copy(const struct ttak_ptr_hash *h,
			       struct ttak_hash_table *fresh)
{
	const struct ttak_hash_table *old = h->table;
	size_t i, j;

	for (i = 0; old && i <= old->mask; i++) {
		if (!old->slot[i].key)
			continue;
		j = ttak_ptr_hash_home(old->slot[i].key, fresh->mask);
		while (fresh->slot[j].key)
			j = (j + 1) & fresh->mask;
		fresh->slot[j] = old->slot[i];
	}
}

static void ttak_ptr_hash_table_free(void *table)
{
	ttak_plat_free(table);
}

void ttak_ptr_hash_grow(struct ttak_ptr_hash *h, ttak_lock_t *lock)
{
	struct ttak_hash_table *fresh, *old = NULL;
	unsigned long flags;
	size_t n;

	/* irqsave: the block registry's stripes are taken in hardirq too */
	ttak_lock_irqsave(lock, flags);
	n = ttak_ptr_hash_grow_target(h);
	ttak_unlock_irqrestore(lock, flags);
	if (!n)
		return;

	/* On failure the old table keeps working until it is 3/4 full. */
	fresh = ttak_plat_zalloc(sizeof(*fresh) + n * sizeof(fresh->slot[0]));
	if (!fresh)
		return;
	fresh->mask = n - 1;

	ttak_lock_irqsave(lock, flags);
	/* Another thread may have grown it meanwhile. */
	if (!h->table || h->table->mask + 1 < n) {
		ttak_ptr_hash_copy(h, fresh);
		old = h->table;
		ttak_ptr_hash_write_begin(h);
		ttak_store_release_ptr(&h->table, fresh);
		ttak_ptr_hash_write_end(h);
		fresh = NULL;
	}
	ttak_unlock_irqrestore(lock, flags);
	ttak_plat_free(fresh);
	/* lockless readers may still walk the old table */
	if (old)
		ttak_epoch_retire(old, ttak_ptr_hash_table_free);
}

size_t ttak_ptr_hash_capacity(const struct ttak_ptr_hash *h)
{
	return h->table ? h->table->mask + 1 : 0;
}

void *ttak_ptr_hash_entry_at(const struct ttak_ptr_hash *h, size_t i)
{
	return h->table->slot[i].entry;
}

void ttak_ptr_hash_free(struct ttak_ptr_hash *h)
{
	ttak_plat_free(h->table);
	h->table = NULL;
	h->count = 0;
}
