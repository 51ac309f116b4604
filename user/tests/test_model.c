// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Model-based random tests of arena generations, the mem tree and epoch
 * sections together.
 *
 * single_thread_ops_match_the_model: seeded random sequences of env
 * begin / claim / for_each / retire (also through stale copies) / rotate
 * / reset / remaining, tree add / find / acquire / try_acquire / release
 * / remove / cleanup, epoch enter / exit / retire / reclaim, each checked
 * after EVERY step against a reference model: which generations are
 * live, retired or flushed, the env's counters, every live chunk's
 * bytes, every node's reference count, the pressure (bytes of released
 * nodes not cleaned yet), pending nodes and the allocator's live blocks.
 *
 * threads_match_their_models: three workers run random ops on their own
 * envs (all on one shared epoch GC) and their own blocks in one shared
 * tree, and take references on each other's blocks, while a cleaner
 * thread cleans, rotates and reclaims without a pause. Each worker checks
 * what is thread-local after every step (its env's counters, the bytes
 * of its live chunks and of every block it holds, that held blocks stay
 * indexed); the totals are checked at the end.
 *
 * Every test prints its seed; TTAK_SEED=<seed> re-runs it (the
 * single-threaded run is then exactly reproducible). TTAK_STRESS_MS
 * bounds the time.
 */
#include "ttak_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>

#define GEN_BYTES	1024
#define CHUNK_BYTES	64
#define MAX_GENS	6
#define MAX_CHUNKS	(GEN_BYTES / 64)
#define MAX_BLOCKS	24
#define STEPS		4000
#define FOREVER		__TTAK_UNSAFE_MEM_FOREVER__

/*
 * gcc 12 with -fsanitize=undefined at -O1 reports a "member access
 * within null pointer" in the inline ttak_epoch_enter()/exit() when they
 * are inlined into a loop (a false positive on the thread-local reader's
 * address); called through these the check is not hoisted.
 */
static __attribute__((noinline)) void section_enter(void)
{
	ttak_epoch_enter();
}

static __attribute__((noinline)) void section_exit(void)
{
	ttak_epoch_exit();
}

static unsigned int rnd(uint64_t *s, unsigned int n)
{
	return (unsigned int)(tt_rng(s) % n);
}

static size_t stride_of(size_t bytes)
{
	if (!bytes)
		bytes = CHUNK_BYTES;
	return (bytes + 63) & ~(size_t)63;
}

/* ---- generations ---------------------------------------------------- */

enum gen_state { G_EMPTY, G_LIVE, G_RETIRED, G_FLUSHED };

struct chunk_rec {
	size_t off, len;
	unsigned char byte;
};

struct gen_model {
	enum gen_state state;
	ttak_arena_generation_t g;	/* the caller's struct */
	ttak_arena_generation_t stale;	/* copy taken before the retire */
	bool have_stale;
	void *base;			/* as begun */
	size_t used;
	unsigned int nchunks;
	struct chunk_rec chunk[MAX_CHUNKS];
	unsigned int serial;
};

struct env_model {
	ttak_arena_env_t env;
	struct gen_model gen[MAX_GENS];
	uint64_t begun, retired;
	unsigned int serial;
};

static unsigned char chunk_byte(unsigned int serial, unsigned int idx)
{
	return (unsigned char)(serial * 7 + idx * 13 + 1);
}

static bool check_gen(struct env_model *m, struct gen_model *gm)
{
	const unsigned char *base = gm->base;
	ttak_mem_node_t *node;
	unsigned int c;
	size_t i;

	if (gm->state != G_LIVE)
		return CHECK_NULL(gm->g.base) &&
		       CHECK_EQ(ttak_arena_generation_remaining(&gm->g), 0);
	if (!CHECK_PTR_EQ(gm->g.base, gm->base) ||
	    !CHECK_EQ(gm->g.used, gm->used) ||
	    !CHECK_EQ(ttak_arena_generation_remaining(&gm->g),
		      GEN_BYTES - gm->used))
		return false;
	node = ttak_mem_tree_find_node(&m->env.gc->tree, gm->base);
	if (!CHECK_NOT_NULL(node) || !CHECK_GE(atomic_load(&node->ref_count), 1))
		return false;
	for (c = 0; c < gm->nchunks; c++) {
		const struct chunk_rec *r = &gm->chunk[c];

		for (i = 0; i < r->len; i++) {
			if (base[r->off + i] != r->byte) {
				tt_fail(__FILE__, __LINE__,
					"gen %u chunk %u byte %zu is %#x, want %#x",
					gm->serial, c, i, base[r->off + i],
					r->byte);
				return false;
			}
		}
	}
	return true;
}

static void record_chunk(struct gen_model *gm, void *chunk, size_t len)
{
	struct chunk_rec *r = &gm->chunk[gm->nchunks];

	r->off = (size_t)((unsigned char *)chunk - (unsigned char *)gm->base);
	r->len = len;
	r->byte = chunk_byte(gm->serial, gm->nchunks);
	memset(chunk, r->byte, len);
	gm->nchunks++;
}

struct walk {
	struct gen_model *gm;
	size_t stop_at;
	size_t expect_off;
	bool bad;
};

static bool walk_chunk(void *chunk, size_t bytes, size_t idx, void *ctx)
{
	struct walk *w = ctx;

	if (!CHECK_PTR_EQ(chunk, (unsigned char *)w->gm->base + w->expect_off))
		w->bad = true;
	w->expect_off += stride_of(bytes);
	record_chunk(w->gm, chunk, bytes);
	return idx < w->stop_at;
}

/* One random op on the env; returns false after a failed check. */
static bool env_step(struct env_model *m, uint64_t *s, unsigned int op)
{
	struct gen_model *gm = &m->gen[rnd(s, MAX_GENS)];
	size_t bytes, stride;
	unsigned int i;
	void *chunk;

	switch (op) {
	case 0:		/* begin */
		if (gm->state == G_LIVE || gm->state == G_RETIRED)
			return true;
		if (!CHECK(ttak_arena_generation_begin(&m->env, &gm->g,
						       m->serial)))
			return false;
		gm->state = G_LIVE;
		gm->base = gm->g.base;
		gm->used = 0;
		gm->nchunks = 0;
		gm->have_stale = false;
		gm->serial = ++m->serial;
		m->begun++;
		return CHECK_EQ(gm->g.capacity, GEN_BYTES) &&
		       CHECK_EQ((uintptr_t)gm->base % 64, 0);
	case 1:		/* claim */
		bytes = rnd(s, 3) ? rnd(s, 200) : 0;
		stride = stride_of(bytes);
		errno = 0;
		chunk = ttak_arena_generation_claim(&m->env, &gm->g, bytes);
		if (gm->state != G_LIVE)
			return CHECK_NULL(chunk) && CHECK_ERRNO(EINVAL);
		if (stride > GEN_BYTES - gm->used)
			return CHECK_NULL(chunk) && CHECK_ERRNO(ENOSPC);
		if (!CHECK_PTR_EQ(chunk, (unsigned char *)gm->base + gm->used))
			return false;
		gm->used += stride;
		record_chunk(gm, chunk, bytes ? bytes : CHUNK_BYTES);
		return true;
	case 2: {	/* for_each, stopping at a random chunk */
		struct walk w = { gm, rnd(s, 20), 0, false };
		size_t n, fits;

		bytes = rnd(s, 2) ? 0 : 1 + rnd(s, 150);
		stride = stride_of(bytes);
		w.expect_off = gm->used;
		errno = 0;
		n = ttak_arena_generation_for_each(&m->env, &gm->g, bytes,
						   walk_chunk, &w);
		if (gm->state != G_LIVE)
			return CHECK_EQ(n, 0) && CHECK_EQ(gm->nchunks, 0);
		fits = (GEN_BYTES - gm->used) / stride;
		if (!CHECK_EQ(n, fits < w.stop_at + 1 ? fits : w.stop_at + 1) ||
		    w.bad)
			return false;
		gm->used += n * stride;
		return true;
	}
	case 3:		/* retire, sometimes keeping a stale copy */
		if (gm->state == G_LIVE) {
			if (rnd(s, 2)) {
				gm->stale = gm->g;
				gm->have_stale = true;
			}
			if (!CHECK(ttak_arena_generation_retire(&m->env, &gm->g)))
				return false;
			gm->state = G_RETIRED;
			gm->nchunks = 0;
			m->retired++;
			return CHECK_NULL(gm->g.base);
		}
		errno = 0;
		if (!CHECK(!ttak_arena_generation_retire(&m->env, &gm->g)))
			return false;
		return CHECK_ERRNO(EINVAL);
	case 4:		/* retire a stale copy of any retired generation */
		for (i = 0; i < MAX_GENS; i++) {
			struct gen_model *o = &m->gen[i];
			ttak_arena_generation_t copy;

			if (!o->have_stale)
				continue;
			copy = o->stale;
			errno = 0;
			if (!CHECK(!ttak_arena_generation_retire(&m->env, &copy)) ||
			    !CHECK_ERRNO(ENOENT))
				return false;
		}
		return true;
	case 5:		/* reset */
		ttak_arena_generation_reset(&gm->g);
		if (gm->state == G_LIVE) {
			gm->used = 0;
			gm->nchunks = 0;
		}
		return true;
	default:	/* rotate */
		ttak_arena_env_rotate(&m->env);
		for (i = 0; i < MAX_GENS; i++)
			if (m->gen[i].state == G_RETIRED)
				m->gen[i].state = G_FLUSHED;
		return true;
	}
}

static bool check_env(struct env_model *m, size_t *gc_nodes,
		      size_t *gc_pressure)
{
	struct ttak_arena_env_stats st;
	unsigned int i;

	ttak_arena_env_get_stats(&m->env, &st);
	if (!CHECK_EQ(st.begun, m->begun) || !CHECK_EQ(st.retired, m->retired) ||
	    !CHECK_EQ(st.live, m->begun - m->retired) || !CHECK_EQ(st.failed, 0))
		return false;
	*gc_nodes = 0;
	*gc_pressure = 0;
	for (i = 0; i < MAX_GENS; i++) {
		if (!check_gen(m, &m->gen[i]))
			return false;
		if (m->gen[i].state == G_LIVE || m->gen[i].state == G_RETIRED)
			++*gc_nodes;
		if (m->gen[i].state == G_RETIRED)
			*gc_pressure += GEN_BYTES;
	}
	return true;
}

/* ---- tracked blocks in a tree --------------------------------------- */

struct blk_model {
	bool indexed;
	void *p;
	ttak_mem_node_t *node;
	size_t size;
	uint64_t expires;
	unsigned int refs;
	unsigned char byte;
};

/*
 * Nodes out of the index whose free must wait ([0]: cleaned inside the
 * section still open) or may still wait ([1]: the section closed, no
 * reclaim since). Pressure keeps a cleaned node's bytes until its free.
 */
struct pend {
	size_t n[2];		/* pending nodes */
	size_t bytes[2];	/* their bytes still in the pressure */
	size_t blocks[2];	/* ttak blocks the frees will release */
};

static void pend_exit(struct pend *p)
{
	p->n[1] += p->n[0];
	p->bytes[1] += p->bytes[0];
	p->blocks[1] += p->blocks[0];
	p->n[0] = p->bytes[0] = p->blocks[0] = 0;
}

static void pend_clear(struct pend *p)
{
	memset(p, 0, sizeof(*p));
}

static bool pend_check(const struct pend *p, size_t nodes, size_t pressure,
		       size_t indexed_garbage_bytes)
{
	return CHECK_GE(nodes, p->n[0]) && CHECK_LE(nodes, p->n[0] + p->n[1]) &&
	       CHECK_GE(pressure, indexed_garbage_bytes + p->bytes[0]) &&
	       CHECK_LE(pressure, indexed_garbage_bytes + p->bytes[0] +
			p->bytes[1]);
}

struct world {
	struct env_model em;
	ttak_mem_tree_t tree;
	struct blk_model blk[MAX_BLOCKS];
	unsigned int depth;		/* epoch section nesting */
	struct pend tp, gp;		/* the tree's, the gc tree's */
	size_t epoch_retired;		/* ttak_epoch_retire()d, maybe live */
	uint64_t seed;
	unsigned long steps;
};

static bool check_block(struct world *w, struct blk_model *b)
{
	const unsigned char *p = b->p;
	size_t i;

	if (!CHECK_PTR_EQ(ttak_mem_tree_find_node(&w->tree, b->p), b->node) ||
	    !CHECK_EQ(atomic_load(&b->node->ref_count), b->refs) ||
	    !CHECK_EQ(b->node->size, b->size))
		return false;
	for (i = 0; i < b->size; i++) {
		if (p[i] != b->byte) {
			tt_fail(__FILE__, __LINE__, "block byte %zu is %#x, want %#x",
				i, p[i], b->byte);
			return false;
		}
	}
	return true;
}

/* A node (and maybe its block) left the index: pending while inside. */
static void node_gone(struct world *w, struct pend *p, bool with_block,
		      size_t charged)
{
	if (w->depth) {
		p->n[0]++;
		p->blocks[0] += with_block;
		p->bytes[0] += charged;
	}
}

static void world_reclaimed(struct world *w)
{
	if (!w->depth) {
		pend_clear(&w->tp);
		pend_clear(&w->gp);
	}
}

static void world_exited(struct world *w)
{
	if (!w->depth) {
		pend_exit(&w->tp);
		pend_exit(&w->gp);
	}
}

static bool tree_step(struct world *w, uint64_t *s, unsigned int op)
{
	struct blk_model *b = &w->blk[rnd(s, MAX_BLOCKS)];
	static const uint64_t expiry[] = { 0, 0, 5, FOREVER };
	static const uint64_t nows[] = { 0, 3, 5, 6, 10 };
	unsigned int i;
	uint64_t now;

	switch (op) {
	case 0:		/* add */
		if (b->indexed)
			return true;
		b->size = 1 + rnd(s, 300);
		b->p = ttak_mem_alloc(b->size, FOREVER, 0);
		if (!CHECK_NOT_NULL(b->p))
			return false;
		b->byte = (unsigned char)(1 + rnd(s, 255));
		memset(b->p, b->byte, b->size);
		b->expires = expiry[rnd(s, 4)];
		b->node = ttak_mem_tree_add(&w->tree, b->p, b->size, b->expires,
					    false);
		if (!CHECK_NOT_NULL(b->node))
			return false;
		b->indexed = true;
		b->refs = 1;
		return true;
	case 1:		/* find */
		if (!b->p)
			return true;
		if (b->indexed)
			return CHECK_PTR_EQ(ttak_mem_tree_find_node(&w->tree, b->p),
					    b->node);
		/* old address: nothing, unless a live block took it over */
		for (i = 0; i < MAX_BLOCKS; i++)
			if (w->blk[i].indexed && w->blk[i].p == b->p)
				return CHECK_PTR_EQ(ttak_mem_tree_find_node(&w->tree,
									 b->p),
						    w->blk[i].node);
		return CHECK_NULL(ttak_mem_tree_find_node(&w->tree, b->p));
	case 2:		/* acquire (both forms) */
		if (!b->indexed)
			return true;
		errno = 0;
		if (rnd(s, 2)) {
			if (!CHECK(ttak_mem_node_try_acquire(b->node)))
				return false;
		} else {
			ttak_mem_node_acquire(b->node);
		}
		b->refs++;
		return CHECK_ERRNO(0);
	case 3:		/* release */
		if (!b->indexed || !b->refs)
			return true;
		ttak_mem_node_release(b->node);
		b->refs--;
		return true;
	case 4:		/* remove: the block is ours again */
		if (!b->indexed)
			return true;
		ttak_mem_tree_remove(&w->tree, b->node);
		b->indexed = false;
		node_gone(w, &w->tp, false, 0);
		if (!CHECK_PTR_EQ(ttak_mem_access(b->p, 0), b->p))
			return false;
		ttak_mem_free(b->p);
		return true;
	case 5:		/* cleanup at a random tick */
		now = nows[rnd(s, 5)];
		ttak_mem_tree_perform_cleanup(&w->tree, now);
		for (i = 0; i < MAX_BLOCKS; i++) {
			struct blk_model *o = &w->blk[i];

			/* valid through its expiry tick; 0 is at once */
			if (!o->indexed || o->refs || o->expires == FOREVER ||
			    (o->expires && now <= o->expires))
				continue;
			o->indexed = false;
			node_gone(w, &w->tp, true, o->size);
		}
		world_reclaimed(w);
		return true;
	default:	/* a stale node found inside a section, then cleaned */
		if (!b->indexed || b->refs || b->expires != 0)
			return true;
		section_enter();
		if (!CHECK_PTR_EQ(ttak_mem_tree_find_node(&w->tree, b->p),
				  b->node)) {
			section_exit();
			return false;
		}
		w->depth++;
		ttak_mem_tree_perform_cleanup(&w->tree, 0);
		for (i = 0; i < MAX_BLOCKS; i++) {
			struct blk_model *o = &w->blk[i];

			if (o->indexed && !o->refs && o->expires == 0) {
				o->indexed = false;
				node_gone(w, &w->tp, true, o->size);
			}
		}
		errno = 0;
		if (!CHECK(!ttak_mem_node_try_acquire(b->node)) ||
		    !CHECK_ERRNO(ENOENT)) {
			section_exit();
			return false;
		}
		errno = 0;
		ttak_mem_node_acquire(b->node);
		if (!CHECK_ERRNO(ENOENT)) {
			section_exit();
			return false;
		}
		w->depth--;
		section_exit();
		world_exited(w);
		return true;
	}
}

static bool epoch_step(struct world *w, uint64_t *s, unsigned int op)
{
	void *p;

	switch (op) {
	case 0:		/* enter */
		if (w->depth >= 2)
			return true;
		section_enter();
		w->depth++;
		return true;
	case 1:		/* exit */
		if (!w->depth)
			return true;
		section_exit();
		w->depth--;
		world_exited(w);
		return true;
	case 2:		/* retire an untracked block */
		p = ttak_mem_alloc(16 + rnd(s, 100), FOREVER, 0);
		if (!CHECK_NOT_NULL(p))
			return false;
		ttak_epoch_retire(p, NULL);
		w->epoch_retired++;
		return true;
	default:	/* reclaim */
		ttak_epoch_reclaim();
		world_reclaimed(w);
		if (!w->depth)
			w->epoch_retired = 0;
		return true;
	}
}

static bool check_world(struct world *w)
{
	struct ttak_mem_tree_stats ts, gs;
	size_t nodes = 0, bytes = 0, garbage = 0, pressure = 0, blocks;
	size_t gc_nodes, gc_pressure, live;
	unsigned int i;

	if (!check_env(&w->em, &gc_nodes, &gc_pressure))
		return false;
	for (i = 0; i < MAX_BLOCKS; i++) {
		struct blk_model *b = &w->blk[i];

		if (!b->indexed)
			continue;
		if (!check_block(w, b))
			return false;
		nodes++;
		bytes += b->size;
		if (!b->refs) {
			garbage++;
			pressure += b->size;
		}
	}
	ttak_mem_tree_get_stats(&w->tree, &ts);
	ttak_mem_tree_get_stats(&w->em.env.gc->tree, &gs);
	if (!CHECK_EQ(ts.nodes, nodes) || !CHECK_EQ(ts.bytes, bytes) ||
	    !CHECK_EQ(ts.garbage_nodes, garbage) ||
	    !pend_check(&w->tp, ts.pending_nodes, ts.garbage_pressure,
			pressure) ||
	    !CHECK_EQ(gs.nodes, gc_nodes) ||
	    !CHECK_EQ(gs.bytes, gc_nodes * GEN_BYTES) ||
	    !CHECK_EQ(gs.garbage_nodes, gc_pressure / GEN_BYTES) ||
	    !pend_check(&w->gp, gs.pending_nodes, gs.garbage_pressure,
			gc_pressure))
		return false;
	/* gens in the gc tree, blocks in the tree, and what waits */
	blocks = gc_nodes + nodes + w->tp.blocks[0] + w->gp.blocks[0];
	live = tt_live_blocks();
	if (!CHECK_GE(live, blocks) ||
	    !CHECK_LE(live, blocks + w->tp.blocks[1] + w->gp.blocks[1] +
		      w->epoch_retired))
		return false;
	return true;
}

/* Where a flush of the gc tree may wait: rotation inside a section. */
static void gens_flushed(struct world *w, size_t before_nodes)
{
	struct ttak_mem_tree_stats gs;

	size_t gone;

	ttak_mem_tree_get_stats(&w->em.env.gc->tree, &gs);
	gone = before_nodes - gs.nodes;
	if (w->depth) {
		w->gp.n[0] += gone;
		w->gp.bytes[0] += gone * GEN_BYTES;
		w->gp.blocks[0] += gone;
	}
	world_reclaimed(w);
}

static const char *const op_names[] = {
	"begin", "claim", "for_each", "retire", "retire-stale", "reset",
	"rotate", "add", "find", "acquire", "release", "remove", "cleanup",
	"clean-under-reader", "enter", "exit", "epoch-retire", "reclaim",
};

static bool one_seed(uint64_t seed, unsigned long steps)
{
	static struct world w;
	ttak_arena_env_config_t cfg;
	uint64_t s = seed;
	unsigned long k;
	unsigned int i;

	memset(&w, 0, sizeof(w));
	w.seed = seed;
	ttak_arena_env_config_init(&cfg);
	cfg.generation_bytes = GEN_BYTES;
	cfg.chunk_bytes = CHUNK_BYTES;
	if (!CHECK(ttak_arena_env_init(&w.em.env, &cfg)))
		return false;
	ttak_epoch_gc_manual_rotate(w.em.env.gc, true);
	ttak_mem_tree_init(&w.tree);
	ttak_mem_tree_set_manual_cleanup(&w.tree, true);

	for (k = 0; k < steps; k++) {
		unsigned int op = rnd(&s, 18);
		struct ttak_mem_tree_stats gs;
		bool ok;

		ttak_mem_tree_get_stats(&w.em.env.gc->tree, &gs);
		if (op < 7)
			ok = env_step(&w.em, &s, op);
		else if (op < 14)
			ok = tree_step(&w, &s, op - 7);
		else
			ok = epoch_step(&w, &s, op - 14);
		if (ok && op == 6)
			gens_flushed(&w, gs.nodes);
		if (!ok || !check_world(&w)) {
			printf("  seed %#llx: failed at step %lu (%s), depth %u\n",
			       (unsigned long long)seed, k, op_names[op],
			       w.depth);
			while (w.depth--)
				section_exit();
			return false;
		}
	}
	while (w.depth) {
		section_exit();
		w.depth--;
	}
	/* drain: everything released, cleaned, flushed, freed */
	for (i = 0; i < MAX_GENS; i++)
		if (w.em.gen[i].state == G_LIVE &&
		    !CHECK(ttak_arena_generation_retire(&w.em.env,
							&w.em.gen[i].g)))
			return false;
	for (i = 0; i < MAX_BLOCKS; i++) {
		while (w.blk[i].indexed && w.blk[i].refs) {
			ttak_mem_node_release(w.blk[i].node);
			w.blk[i].refs--;
		}
	}
	ttak_arena_env_rotate(&w.em.env);
	ttak_mem_tree_perform_cleanup(&w.tree, 1000);
	ttak_epoch_synchronize();
	{
		struct ttak_mem_tree_stats ts;
		size_t forever = 0;

		for (i = 0; i < MAX_BLOCKS; i++)
			if (w.blk[i].indexed && w.blk[i].expires == FOREVER)
				forever++;
		ttak_mem_tree_get_stats(&w.tree, &ts);
		if (!CHECK_EQ(ts.nodes, forever) ||
		    !CHECK_EQ(ts.pending_nodes, 0) ||
		    !CHECK_EQ(ttak_epoch_pending(), 0) ||
		    !CHECK_EQ(tt_live_blocks(), forever))
			return false;
	}
	ttak_mem_tree_destroy(&w.tree);
	ttak_arena_env_destroy(&w.em.env);
	return CHECK_EQ(tt_live_blocks(), 0);
}

TEST(single_thread_ops_match_the_model)
{
	unsigned long budget = tt_env_ms("TTAK_STRESS_MS", 2000) / 2;
	uint64_t seed = tt_seed(), start = tt_now_ms();
	unsigned int runs = 0;

	/* the first seed always runs; more while time is left */
	do {
		if (!one_seed(seed, STEPS))
			return;
		runs++;
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		if (!seed)
			seed = 1;
		if (getenv("TTAK_SEED"))
			break;
	} while (tt_now_ms() - start < budget);
	printf("  %u seeds x %d steps, every step checked, %llu ms\n", runs,
	       STEPS, (unsigned long long)(tt_now_ms() - start));
}

/* ---- concurrent variant ------------------------------------------- */

#define WORKERS		3
#define OWN_BLOCKS	8
#define OWN_GENS	3
#define HELD_OTHERS	4
#define CBLOCK_BYTES	128
#define CBLOCK_MAGIC	0x4d4f44454c424b21ULL	/* "MODELBK!" */

struct cblock_head {
	uint64_t magic;
	void *self;
	unsigned int owner;
	unsigned int serial;
};

struct shared {
	ttak_mem_tree_t tree;
	ttak_epoch_gc_t gc;
	_Atomic(void *) pub[WORKERS][OWN_BLOCKS];
	atomic_bool stop;
	atomic_ulong added, foreign_acquires, foreign_enoent, steps;
	atomic_ulong rotations;
	uint64_t seed;
};

struct own_blk {
	void *p;
	ttak_mem_node_t *node;	/* valid while refs > 0 */
	unsigned int refs;	/* references this worker holds */
	unsigned int serial;
	unsigned char byte;
};

struct other_ref {
	void *p;
	ttak_mem_node_t *node;
};

struct cworker {
	struct shared *sh;
	unsigned int id;
	uint64_t rng;
	struct env_model em;
	struct own_blk own[OWN_BLOCKS];
	struct other_ref held[HELD_OTHERS];
	unsigned int serial;
};

static bool own_intact(struct cworker *cw, struct own_blk *b)
{
	const struct cblock_head *h = b->p;
	const unsigned char *pay = (const unsigned char *)b->p + sizeof(*h);
	size_t i;

	if (!CHECK_PTR_EQ(ttak_mem_tree_find_node(&cw->sh->tree, b->p),
			  b->node) ||
	    !CHECK_GE(atomic_load(&b->node->ref_count), b->refs) ||
	    !CHECK_EQ(h->magic, CBLOCK_MAGIC) || !CHECK_PTR_EQ(h->self, b->p) ||
	    !CHECK_EQ(h->owner, cw->id) || !CHECK_EQ(h->serial, b->serial))
		return false;
	for (i = 0; i < CBLOCK_BYTES - sizeof(*h); i++)
		if (!CHECK_EQ(pay[i], b->byte))
			return false;
	return true;
}

static bool other_intact(struct cworker *cw, struct other_ref *o)
{
	const struct cblock_head *h = o->p;

	return CHECK_PTR_EQ(ttak_mem_tree_find_node(&cw->sh->tree, o->p),
			    o->node) &&
	       CHECK_GE(atomic_load(&o->node->ref_count), 1) &&
	       CHECK_EQ(h->magic, CBLOCK_MAGIC) && CHECK_PTR_EQ(h->self, o->p) &&
	       CHECK_LT(h->owner, WORKERS);
}

/* Find + try_acquire inside a section: the node held, or NULL. */
static ttak_mem_node_t *grab(struct shared *sh, void *p, bool *gone)
{
	ttak_mem_node_t *n;
	bool got = false;

	*gone = false;
	section_enter();
	n = ttak_mem_tree_find_node(&sh->tree, p);
	if (n) {
		errno = 0;
		got = ttak_mem_node_try_acquire(n);
		if (!got) {
			CHECK_ERRNO(ENOENT);
			*gone = true;
		}
	}
	section_exit();
	return got ? n : NULL;
}

static bool cworker_step(struct cworker *cw)
{
	struct shared *sh = cw->sh;
	uint64_t *s = &cw->rng;
	unsigned int op = rnd(s, 10);
	struct own_blk *b = &cw->own[rnd(s, OWN_BLOCKS)];
	struct other_ref *o = &cw->held[rnd(s, HELD_OTHERS)];
	ttak_mem_node_t *n;
	bool gone;

	switch (op) {
	case 0: case 1: case 2:		/* env ops on our own env */
		return env_step(&cw->em, s, rnd(s, 7));
	case 3:				/* add an own block */
		if (b->refs)
			return true;
		b->p = ttak_mem_alloc(CBLOCK_BYTES, FOREVER, 0);
		if (!CHECK_NOT_NULL(b->p))
			return false;
		b->serial = ++cw->serial;
		b->byte = (unsigned char)(1 + rnd(s, 255));
		memset(b->p, b->byte, CBLOCK_BYTES);
		{
			struct cblock_head *h = b->p;

			h->magic = CBLOCK_MAGIC;
			h->self = b->p;
			h->owner = cw->id;
			h->serial = b->serial;
		}
		b->node = ttak_mem_tree_add(&sh->tree, b->p, CBLOCK_BYTES, 0,
					    false);
		if (!CHECK_NOT_NULL(b->node))
			return false;
		b->refs = 1;
		atomic_fetch_add(&sh->added, 1);
		atomic_store_explicit(&sh->pub[cw->id][b - cw->own], b->p,
				      memory_order_release);
		return true;
	case 4:				/* release an own reference */
		if (!b->refs)
			return true;
		if (b->refs == 1) {
			/* the last one: the cleaner may free it right away */
			ttak_mem_node_release(b->node);
			b->refs = 0;
			return true;
		}
		ttak_mem_node_release(b->node);
		b->refs--;
		return true;
	case 5:				/* take our own block (back) */
		if (!b->p)
			return true;
		if (b->refs) {
			errno = 0;
			if (!CHECK(ttak_mem_node_try_acquire(b->node)))
				return false;
			b->refs++;
			return true;
		}
		n = grab(sh, b->p, &gone);
		if (!n) {
			b->p = NULL;	/* cleaned (or never ours again) */
			return true;
		}
		{
			const struct cblock_head *h = b->p;

			if (h->owner != cw->id || h->serial != b->serial) {
				/* the address went to another block */
				ttak_mem_node_release(n);
				b->p = NULL;
				return true;
			}
		}
		b->node = n;
		b->refs = 1;
		return true;
	case 6: case 7: {		/* take another worker's block */
		unsigned int who = rnd(s, WORKERS);
		void *p;

		if (o->node || who == cw->id)
			return true;
		p = atomic_load_explicit(&sh->pub[who][rnd(s, OWN_BLOCKS)],
					 memory_order_acquire);
		if (!p)
			return true;
		n = grab(sh, p, &gone);
		if (gone)
			atomic_fetch_add_explicit(&sh->foreign_enoent, 1,
						  memory_order_relaxed);
		if (!n)
			return true;
		atomic_fetch_add_explicit(&sh->foreign_acquires, 1,
					  memory_order_relaxed);
		o->p = p;
		o->node = n;
		return true;
	}
	default:			/* drop another worker's block */
		if (!o->node)
			return true;
		ttak_mem_node_release(o->node);
		o->node = NULL;
		o->p = NULL;
		return true;
	}
}

static bool cworker_check(struct cworker *cw)
{
	size_t gc_nodes, gc_pressure;
	unsigned int i;

	if (!check_env(&cw->em, &gc_nodes, &gc_pressure))
		return false;
	for (i = 0; i < OWN_BLOCKS; i++)
		if (cw->own[i].refs && !own_intact(cw, &cw->own[i]))
			return false;
	for (i = 0; i < HELD_OTHERS; i++)
		if (cw->held[i].node && !other_intact(cw, &cw->held[i]))
			return false;
	return true;
}

static void *cworker_main(void *arg)
{
	struct cworker *cw = arg;
	struct shared *sh = cw->sh;
	ttak_arena_env_config_t cfg;
	unsigned long steps = 0;
	unsigned int i;

	ttak_arena_env_config_init(&cfg);
	cfg.generation_bytes = GEN_BYTES;
	cfg.chunk_bytes = CHUNK_BYTES;
	cfg.gc = &sh->gc;
	if (!CHECK(ttak_arena_env_init(&cw->em.env, &cfg))) {
		atomic_store(&sh->stop, true);
		return NULL;
	}
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		steps++;
		if (!cworker_step(cw) || !cworker_check(cw)) {
			printf("  worker %u failed at step %lu (seed %#llx)\n",
			       cw->id, steps, (unsigned long long)sh->seed);
			atomic_store(&sh->stop, true);
			return NULL;	/* leave everything: no teardown */
		}
	}
	atomic_fetch_add(&sh->steps, steps);
	/* hand everything back */
	for (i = 0; i < MAX_GENS; i++)
		if (cw->em.gen[i].state == G_LIVE)
			CHECK(ttak_arena_generation_retire(&cw->em.env,
							   &cw->em.gen[i].g));
	for (i = 0; i < OWN_BLOCKS; i++)
		while (cw->own[i].refs) {
			ttak_mem_node_release(cw->own[i].node);
			cw->own[i].refs--;
		}
	for (i = 0; i < HELD_OTHERS; i++)
		if (cw->held[i].node)
			ttak_mem_node_release(cw->held[i].node);
	ttak_arena_env_destroy(&cw->em.env);	/* external GC: rotates */
	return NULL;
}

static void *cleaner_main(void *arg)
{
	struct shared *sh = arg;
	unsigned long k;

	for (k = 0; !atomic_load_explicit(&sh->stop, memory_order_relaxed);
	     k++) {
		switch (k % 4) {
		case 0:
			ttak_mem_tree_perform_cleanup(&sh->tree, 0);
			break;
		case 1:
			ttak_epoch_gc_rotate(&sh->gc);
			atomic_fetch_add(&sh->rotations, 1);
			break;
		case 2:
			ttak_epoch_reclaim();
			break;
		default:
			if (!(k % 64))
				ttak_epoch_synchronize();
			else
				sched_yield();
		}
	}
	return NULL;
}

TEST(threads_match_their_models)
{
	static struct shared sh;
	static struct cworker cw[WORKERS];
	pthread_t wt[WORKERS], ct;
	struct ttak_mem_tree_stats ts, gs;
	unsigned long ms = tt_env_ms("TTAK_STRESS_MS", 2000) / 2;
	uint64_t end;
	unsigned int i;

	memset(&sh, 0, sizeof(sh));
	memset(cw, 0, sizeof(cw));
	sh.seed = tt_seed();
	ttak_mem_tree_init(&sh.tree);
	ttak_mem_tree_set_manual_cleanup(&sh.tree, true);
	ttak_epoch_gc_init(&sh.gc);
	ttak_epoch_gc_manual_rotate(&sh.gc, true);
	for (i = 0; i < WORKERS; i++) {
		cw[i].sh = &sh;
		cw[i].id = i;
		cw[i].rng = sh.seed + 0x9e3779b97f4a7c15ULL * (i + 1);
		ASSERT_EQ(pthread_create(&wt[i], NULL, cworker_main, &cw[i]), 0);
	}
	ASSERT_EQ(pthread_create(&ct, NULL, cleaner_main, &sh), 0);
	end = tt_now_ms() + ms;
	while (tt_now_ms() < end && !atomic_load(&sh.stop))
		tt_sleep_ms(10);
	atomic_store(&sh.stop, true);
	for (i = 0; i < WORKERS; i++)
		pthread_join(wt[i], NULL);
	pthread_join(ct, NULL);
	printf("  %lu worker steps, %lu blocks added, %lu foreign acquires (%lu ENOENT), %lu rotations\n",
	       atomic_load(&sh.steps), atomic_load(&sh.added),
	       atomic_load(&sh.foreign_acquires),
	       atomic_load(&sh.foreign_enoent), atomic_load(&sh.rotations));
	if (tt_failures())
		return;		/* state unknown: no teardown */

	/* everything was handed back: one cleanup and rotation drain it all */
	ttak_mem_tree_perform_cleanup(&sh.tree, 0);
	ttak_epoch_gc_rotate(&sh.gc);
	ttak_epoch_synchronize();
	ttak_mem_tree_get_stats(&sh.tree, &ts);
	ttak_mem_tree_get_stats(&sh.gc.tree, &gs);
	ASSERT_EQ(ts.nodes, 0);
	ASSERT_EQ(ts.garbage_pressure, 0);
	ASSERT_EQ(ts.pending_nodes, 0);
	ASSERT_EQ(ts.freed_nodes, atomic_load(&sh.added));
	ASSERT_EQ(gs.nodes, 0);
	ASSERT_EQ(gs.garbage_pressure, 0);
	ASSERT_EQ(gs.pending_nodes, 0);
	{
		uint64_t begun = 0;

		for (i = 0; i < WORKERS; i++)
			begun += cw[i].em.begun;
		ASSERT_EQ(gs.freed_nodes, begun);
	}
	ASSERT_EQ(ttak_epoch_pending(), 0);
	ASSERT_EQ(tt_live_blocks(), 0);
	ttak_mem_tree_destroy(&sh.tree);
	ttak_epoch_gc_destroy(&sh.gc);
	ASSERT_EQ(tt_live_blocks(), 0);
}
