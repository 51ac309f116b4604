// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Concurrency stress: arena churn on a shared env (begin / carve /
 * publish / retire / rotate) and EBR read / retire on a shared pointer,
 * all at once. TTAK_STRESS_MS (default 2000) is the time for the whole
 * program, shared equally by its stress tests.
 *
 * Readers check inside their sections that what they reached is intact:
 * a freed object shows up as a poisoned magic (and, under ASan, as a
 * use-after-free). Afterwards every block is accounted for: each retired
 * object cleaned exactly once, nothing pending in EBR, the GC tree empty
 * with zero pressure, and no ttak block left alive.
 */
#include "ttak_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define OBJ_LIVE	0x4f424a4c49564521ULL	/* "OBJLIVE!" */
#define OBJ_DEAD	0xdeadbeefdeadbeefULL
#define CHUNK_MAGIC	0x43484e4b4d414721ULL	/* "CHNKMAG!" */
#define PAYLOAD		48
#define LIVE_GENS	4
#define STRESS_TESTS	2	/* TEST()s below sharing TTAK_STRESS_MS */

struct obj {
	uint64_t magic;
	uint64_t seq;
	unsigned char payload[PAYLOAD];
	bool ttak_block;	/* from ttak_mem_alloc(), else malloc() */
};

/* The first bytes of every carved chunk. */
struct chunk_head {
	uint64_t magic;
	uint64_t gen_seq;
	void *gen_base;
};

struct stress {
	ttak_arena_env_t *env[2];
	ttak_epoch_gc_t *gc;		/* the GC behind both envs */
	bool manual;			/* rotate only from the rotator */
	atomic_bool stop;
	_Atomic(struct obj *) shared_obj;
	_Atomic(struct chunk_head *) published;
	atomic_ulong gen_seq;

	/* accounting */
	atomic_ulong objs_made, objs_retired, objs_cleaned, objs_twice;
	atomic_ulong gens_begun, gens_retired, chunks_carved;
	atomic_ulong reads, chunk_reads, node_reads, bad_reads;
	atomic_ulong bad_gens, rotations;
};

static struct stress *S;	/* for the cleanup callback */

static void obj_cleanup(void *p)
{
	struct obj *o = p;

	if (o->magic != OBJ_LIVE)
		atomic_fetch_add(&S->objs_twice, 1);
	o->magic = OBJ_DEAD;		/* poison for late readers */
	memset(o->payload, 0xdd, PAYLOAD);
	atomic_fetch_add(&S->objs_cleaned, 1);
	if (o->ttak_block)
		ttak_mem_free(o);
	else
		free(o);
}

static bool obj_intact(const struct obj *o)
{
	size_t i;

	if (o->magic != OBJ_LIVE)
		return false;
	for (i = 0; i < PAYLOAD; i++)
		if (o->payload[i] != (unsigned char)(o->seq + i))
			return false;
	return true;
}

static unsigned char chunk_byte(uint64_t seq, size_t index, size_t off)
{
	return (unsigned char)(seq * 31 + index * 7 + off);
}

struct carve {
	uint64_t seq;
	void *base;
};

static bool carve_chunk(void *chunk, size_t bytes, size_t index, void *ctx)
{
	struct carve *c = ctx;
	struct chunk_head *h = chunk;
	unsigned char *b = chunk;
	size_t i;

	for (i = sizeof(*h); i < bytes; i++)
		b[i] = chunk_byte(c->seq, index, i);
	h->magic = CHUNK_MAGIC;
	h->gen_seq = c->seq;
	h->gen_base = c->base;
	return true;
}

/* A whole generation still holds what was carved into it. */
static bool generation_intact(const ttak_arena_generation_t *g, uint64_t seq,
			      size_t chunk)
{
	const unsigned char *b = g->base;
	size_t i, off;

	for (i = 0; (i + 1) * chunk <= g->used; i++) {
		const struct chunk_head *h = (const void *)(b + i * chunk);

		if (h->magic != CHUNK_MAGIC || h->gen_seq != seq)
			return false;
		for (off = sizeof(*h); off < chunk; off++)
			if (b[i * chunk + off] != chunk_byte(seq, i, off))
				return false;
	}
	return true;
}

static bool chunk_intact(const struct chunk_head *h, size_t chunk)
{
	const unsigned char *b = (const void *)h;
	size_t index, off;

	if (h->magic != CHUNK_MAGIC)
		return false;
	index = (size_t)(b - (const unsigned char *)h->gen_base) / chunk;
	for (off = sizeof(*h); off < chunk; off++)
		if (b[off] != chunk_byte(h->gen_seq, index, off))
			return false;
	return true;
}

struct live_gen {
	ttak_arena_generation_t g;
	uint64_t seq;
};

/* Take the published chunk down if it is in @g; true if it was. */
static void unpublish(struct stress *s, const ttak_arena_generation_t *g)
{
	struct chunk_head *cur = atomic_load(&s->published);

	while (cur && (void *)cur >= g->base &&
	       (char *)cur < (char *)g->base + g->capacity) {
		if (atomic_compare_exchange_weak(&s->published, &cur, NULL))
			break;
	}
}

static void retire_gen(struct stress *s, ttak_arena_env_t *env,
		       struct live_gen *lg)
{
	size_t chunk = env->config.chunk_bytes;

	if (!generation_intact(&lg->g, lg->seq, chunk))
		atomic_fetch_add(&s->bad_gens, 1);
	unpublish(s, &lg->g);
	if (CHECK(ttak_arena_generation_retire(env, &lg->g)))
		atomic_fetch_add(&s->gens_retired, 1);
}

static void *arena_worker(void *arg)
{
	struct stress *s = S;
	ttak_arena_env_t *env = s->env[(uintptr_t)arg & 1];
	struct live_gen ring[LIVE_GENS];
	unsigned int n = 0, i;
	unsigned long iter = 0;

	memset(ring, 0, sizeof(ring));
	while (!atomic_load(&s->stop)) {
		struct live_gen *lg = &ring[n % LIVE_GENS];
		struct carve c;
		size_t carved;

		if (n >= LIVE_GENS)
			retire_gen(s, env, lg);
		lg->seq = atomic_fetch_add(&s->gen_seq, 1);
		if (!CHECK(ttak_arena_generation_begin(env, &lg->g,
						       (uint32_t)lg->seq)))
			break;
		atomic_fetch_add(&s->gens_begun, 1);
		c.seq = lg->seq;
		c.base = lg->g.base;
		carved = ttak_arena_generation_for_each(env, &lg->g, 0,
							carve_chunk, &c);
		atomic_fetch_add(&s->chunks_carved, carved);
		/* publish one of its chunks for the readers */
		if (carved && (iter & 1))
			atomic_store_explicit(&s->published,
					      (struct chunk_head *)
					      ((char *)lg->g.base +
					       (iter % carved) *
					       env->config.chunk_bytes),
					      memory_order_release);
		n++;
		iter++;
		if (!s->manual && iter % 8 == 0)
			ttak_arena_env_rotate(env);
	}
	for (i = 0; i < LIVE_GENS && i < n; i++)
		retire_gen(s, env, &ring[i]);
	return NULL;
}

static void *reader(void *arg)
{
	struct stress *s = S;
	unsigned long iter = 0;
	size_t chunk = s->env[0]->config.chunk_bytes;

	(void)arg;
	while (!atomic_load(&s->stop)) {
		struct chunk_head *h;
		struct obj *o;

		ttak_epoch_enter();
		o = atomic_load_explicit(&s->shared_obj, memory_order_acquire);
		h = atomic_load_explicit(&s->published, memory_order_acquire);
		if (o) {
			if (!obj_intact(o))
				atomic_fetch_add(&s->bad_reads, 1);
			atomic_fetch_add(&s->reads, 1);
		}
		if (h) {
			if (!chunk_intact(h, chunk))
				atomic_fetch_add(&s->bad_reads, 1);
			atomic_fetch_add(&s->chunk_reads, 1);
			if (iter % 4 == 0) {
				/* the node stays valid inside the section */
				ttak_mem_node_t *n;

				n = ttak_mem_tree_find_node(&s->gc->tree,
							    h->gen_base);
				if (n) {
					if (n->ptr != h->gen_base ||
					    n->size != s->env[0]->config.generation_bytes)
						atomic_fetch_add(&s->bad_reads,
								 1);
					atomic_fetch_add(&s->node_reads, 1);
				}
			}
		}
		if (iter % 64 == 0) {
			/* hold the section across rotations for a while */
			struct timespec ts = { 0, 50000 };

			nanosleep(&ts, NULL);
			if ((o && !obj_intact(o)) ||
			    (h && !chunk_intact(h, chunk)))
				atomic_fetch_add(&s->bad_reads, 1);
		}
		ttak_epoch_exit();
		iter++;
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct stress *s = S;
	unsigned long seq = 0;
	size_t i;

	(void)arg;
	while (!atomic_load(&s->stop)) {
		struct obj *o, *old;
		bool tracked = seq & 1;

		o = tracked ? ttak_mem_alloc(sizeof(*o), 1000000, 0) :
			      malloc(sizeof(*o));
		if (!CHECK_NOT_NULL(o))
			break;
		o->seq = seq++;
		o->ttak_block = tracked;
		for (i = 0; i < PAYLOAD; i++)
			o->payload[i] = (unsigned char)(o->seq + i);
		o->magic = OBJ_LIVE;
		atomic_fetch_add(&s->objs_made, 1);
		old = atomic_exchange_explicit(&s->shared_obj, o,
					       memory_order_acq_rel);
		if (old) {
			ttak_epoch_retire(old, obj_cleanup);
			atomic_fetch_add(&s->objs_retired, 1);
		}
		if (seq % 64 == 0)
			ttak_epoch_reclaim();
		if (seq % 4096 == 0)
			ttak_epoch_synchronize();
	}
	return NULL;
}

static void *rotator(void *arg)
{
	struct stress *s = S;
	unsigned long i = 0;

	(void)arg;
	while (!atomic_load(&s->stop)) {
		if (i % 3 == 2)
			ttak_epoch_gc_hint(s->gc, TTAK_EPOCH_GC_HINT_COLLECT_NOW);
		else
			ttak_epoch_gc_rotate(s->gc);
		atomic_fetch_add(&s->rotations, 1);
		if (i % 5 == 0)
			ttak_epoch_reclaim();
		i++;
		sched_yield();
	}
	return NULL;
}

static void run_stress(struct stress *s)
{
	unsigned long ms = tt_env_ms("TTAK_STRESS_MS", 2000) / STRESS_TESTS;
	struct ttak_mem_tree_stats st;
	struct ttak_arena_env_stats es[2];
	pthread_t t[7];
	struct obj *last;
	int i, n = 0;

	S = s;
	ASSERT_EQ(pthread_create(&t[n++], NULL, arena_worker, (void *)0), 0);
	ASSERT_EQ(pthread_create(&t[n++], NULL, arena_worker, (void *)1), 0);
	ASSERT_EQ(pthread_create(&t[n++], NULL, reader, NULL), 0);
	ASSERT_EQ(pthread_create(&t[n++], NULL, reader, NULL), 0);
	ASSERT_EQ(pthread_create(&t[n++], NULL, writer, NULL), 0);
	ASSERT_EQ(pthread_create(&t[n++], NULL, rotator, NULL), 0);
	tt_sleep_ms(ms);
	atomic_store(&s->stop, true);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);

	/* retire what is still shared, then let every grace period pass */
	last = atomic_exchange(&s->shared_obj, NULL);
	if (last) {
		ttak_epoch_retire(last, obj_cleanup);
		atomic_fetch_add(&s->objs_retired, 1);
	}
	CHECK_NULL(atomic_load(&s->published));
	ttak_epoch_synchronize();
	ttak_epoch_gc_rotate(s->gc);
	ttak_epoch_synchronize();

	printf("  %lu ms: %lu generations, %lu chunks, %lu objects, "
	       "%lu+%lu+%lu reads, %lu rotations\n", ms,
	       atomic_load(&s->gens_begun), atomic_load(&s->chunks_carved),
	       atomic_load(&s->objs_made), atomic_load(&s->reads),
	       atomic_load(&s->chunk_reads), atomic_load(&s->node_reads),
	       atomic_load(&s->rotations));

	/* nothing seen damaged, nothing cleaned twice */
	CHECK_EQ(atomic_load(&s->bad_reads), 0);
	CHECK_EQ(atomic_load(&s->bad_gens), 0);
	CHECK_EQ(atomic_load(&s->objs_twice), 0);
	/* every object made was retired and cleaned exactly once */
	CHECK_EQ(atomic_load(&s->objs_retired), atomic_load(&s->objs_made));
	CHECK_EQ(atomic_load(&s->objs_cleaned), atomic_load(&s->objs_made));
	CHECK_EQ(ttak_epoch_pending(), 0);
	/* every generation begun was retired and flushed */
	CHECK_EQ(atomic_load(&s->gens_retired), atomic_load(&s->gens_begun));
	ttak_arena_env_get_stats(s->env[0], &es[0]);
	memset(&es[1], 0, sizeof(es[1]));
	if (s->env[1] != s->env[0])
		ttak_arena_env_get_stats(s->env[1], &es[1]);
	CHECK_EQ(es[0].begun + es[1].begun, atomic_load(&s->gens_begun));
	CHECK_EQ(es[0].retired + es[1].retired, atomic_load(&s->gens_begun));
	CHECK_EQ(es[0].live + es[1].live, 0);
	CHECK_EQ(es[0].failed + es[1].failed, 0);
	ttak_mem_tree_get_stats(&s->gc->tree, &st);
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.bytes, 0);
	CHECK_EQ(st.garbage_nodes, 0);
	CHECK_EQ(st.pending_nodes, 0);
	CHECK_EQ(st.pending_bytes, 0);
	CHECK_EQ(st.garbage_pressure, 0);
	CHECK_EQ(atomic_load(&s->gc->tree.garbage_pressure), 0);
	CHECK_EQ(st.freed_nodes, atomic_load(&s->gens_begun));
	/* no ttak block alive: generations and objects all freed */
	CHECK_EQ(tt_live_blocks(), 0);
	CHECK_EQ(tt_live_bytes(), 0);
	/* and the run did enough to mean something */
	CHECK_GT(atomic_load(&s->gens_begun), 50);
	CHECK_GT(atomic_load(&s->objs_made), 50);
	CHECK_GT(atomic_load(&s->reads), 50);
	CHECK_GT(atomic_load(&s->chunk_reads), 10);
}

TEST(stress_arena_and_ebr_on_a_shared_env)
{
	static struct stress s;
	ttak_arena_env_t env;

	ASSERT(ttak_arena_env_init(&env, NULL));
	s.env[0] = s.env[1] = &env;
	s.gc = env.gc;
	run_stress(&s);
	ttak_arena_env_destroy(&env);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(stress_two_envs_on_a_manual_external_gc)
{
	static struct stress s;
	ttak_arena_env_config_t c;
	ttak_arena_env_t e1, e2;
	ttak_epoch_gc_t gc;

	ttak_epoch_gc_init(&gc);
	ttak_epoch_gc_manual_rotate(&gc, true);
	ttak_arena_env_config_init(&c);
	c.gc = &gc;
	c.generation_bytes = 8192;
	c.chunk_bytes = 256;
	ASSERT(ttak_arena_env_init(&e1, &c));
	ASSERT(ttak_arena_env_init(&e2, &c));
	s.env[0] = &e1;
	s.env[1] = &e2;
	s.gc = &gc;
	s.manual = true;
	run_stress(&s);
	ttak_arena_env_destroy(&e1);
	ttak_arena_env_destroy(&e2);
	ttak_epoch_gc_destroy(&gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}
