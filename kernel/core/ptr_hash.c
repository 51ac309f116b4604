// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Address-keyed chained hash table, the index behind the mem tree and the
 * block registry. The caller provides the locking; growing allocates
 * outside the caller's lock so the kernel can use GFP_KERNEL under a
 * spinlock-protected table.
 */
#include "ttak_core.h"

#define TTAK_HASH_MIN_BUCKETS	16
#define TTAK_HASH_LOAD		2	/* entries per bucket before growing */

static size_t ttak_ptr_hash_index(const void *key, size_t mask)
{
	u64 x = (u64)(uintptr_t)key;

	/* 64-bit finaliser: addresses differ mostly in their middle bits */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & mask;
}

struct ttak_hash_link *ttak_ptr_hash_find(const struct ttak_ptr_hash *h,
					  const void *key)
{
	struct ttak_hash_link *l;

	if (!h->buckets)
		return NULL;
	for (l = h->buckets[ttak_ptr_hash_index(key, h->mask)]; l; l = l->next)
		if (l->key == key)
			return l;
	return NULL;
}

void ttak_ptr_hash_insert(struct ttak_ptr_hash *h, struct ttak_hash_link *l)
{
	struct ttak_hash_link **head;

	head = &h->buckets[ttak_ptr_hash_index(l->key, h->mask)];
	l->next = *head;
	*head = l;
	h->count++;
}

bool ttak_ptr_hash_remove(struct ttak_ptr_hash *h, struct ttak_hash_link *l)
{
	struct ttak_hash_link **pp;

	if (!h->buckets)
		return false;
	pp = &h->buckets[ttak_ptr_hash_index(l->key, h->mask)];
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			l->next = NULL;
			h->count--;
			return true;
		}
	}
	return false;
}

size_t ttak_ptr_hash_grow_target(const struct ttak_ptr_hash *h)
{
	size_t n;

	if (!h->buckets)
		return TTAK_HASH_MIN_BUCKETS;
	n = h->mask + 1;
	if (h->count + 1 <= n * TTAK_HASH_LOAD)
		return 0;
	return n * 2;
}

struct ttak_hash_link **ttak_ptr_hash_rehash(struct ttak_ptr_hash *h,
					     struct ttak_hash_link **buckets,
					     size_t n)
{
	struct ttak_hash_link **old = h->buckets;
	size_t i, old_n = old ? h->mask + 1 : 0;

	h->buckets = buckets;
	h->mask = n - 1;
	h->count = 0;
	for (i = 0; i < old_n; i++) {
		struct ttak_hash_link *l = old[i], *next;

		for (; l; l = next) {
			next = l->next;
			ttak_ptr_hash_insert(h, l);
		}
	}
	return old;
}

void ttak_ptr_hash_grow(struct ttak_ptr_hash *h, ttak_lock_t *lock)
{
	struct ttak_hash_link **buckets;
	size_t n;

	ttak_lock(lock);
	n = ttak_ptr_hash_grow_target(h);
	ttak_unlock(lock);
	if (!n)
		return;

	/* On failure the old table keeps working, only with longer chains. */
	buckets = ttak_plat_zalloc(n * sizeof(*buckets));
	if (!buckets)
		return;

	ttak_lock(lock);
	/* Another thread may have grown it meanwhile. */
	if (!h->buckets || h->mask + 1 < n)
		buckets = ttak_ptr_hash_rehash(h, buckets, n);
	ttak_unlock(lock);
	ttak_plat_free(buckets);
}
