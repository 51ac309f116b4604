// SPDX-License-Identifier: GPL-2.0
/*
 * Torture test for ttak.ko: epoch readers in every context, writers that
 * retire what the readers hold, mem tree references taken while a cleaner
 * unlinks garbage, and arena generations, all at once for duration_s
 * seconds. A test module only, like ttak_epoch_hold_test.ko: never
 * installed, loaded by the kselftests.
 *
 * Loading the module runs the whole test inside its init:
 *
 *   readers    one kthread bound to each online CPU: ttak_epoch_enter(),
 *              read the published object, check its magic, sometimes hold
 *              it for a few microseconds and check again, ttak_epoch_exit()
 *   softirq    one soft hrtimer per CPU (HRTIMER_SOFTIRQ) doing the same
 *              while holding the section for softirq_hold_us: fired often,
 *              it lands over the task readers' sections, and when it lands
 *              inside the task reader's ttak_epoch_enter() call it holds
 *              softirq_long_hold_us, long enough for a grace period: a
 *              nested section the entry left unprotected then reads freed
 *              memory
 *   hardirq    one hard hrtimer per CPU, a short section in hard interrupt
 *              context; after its section each softirq and hardirq reader
 *              also calls ttak_mem_access() on a tracked block the cleaner
 *              may be freeing (the call promises any context)
 *   writers    allocate a new object, publish it (xchg), retire the old
 *              one with ttak_epoch_retire() and reclaim; now and then
 *              ttak_epoch_synchronize(). The retire callback overwrites the
 *              magic with a poison value before kfree(), so a reader that
 *              is not protected sees the poison (or KASAN sees the read)
 *   finders    inside a section, look a tracked block of a private mem tree
 *              up with ttak_mem_tree_find_node() and take a reference; after
 *              the section the node must still be in the tree while the
 *              reference is held (else a "lost reference"), the block is
 *              touched and the reference released
 *   cleaner    ttak_mem_tree_perform_cleanup() + ttak_epoch_reclaim() in a
 *              loop, adding new garbage blocks for the ones it freed
 *   arena      a private arena env: begin, claim every chunk, fill and check
 *              it, retire, rotate
 *
 * Verdict: the log gets one "ttak_torture: counts:" line and then
 * "ttak_torture: PASS" or "ttak_torture: FAIL (...)". Init returns 0 only
 * if no read saw a freed object, no reference was lost, no tracked block
 * was corrupt, and the readers, the softirq readers, the writers, the
 * finders and the arena all did work; otherwise insmod fails with -EINVAL.
 * The module does nothing after init and can be removed at once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/preempt.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem/mem.h>
#include <ttak/mem_tree/mem_tree.h>
#include <ttak/timing/timing.h>

static unsigned int duration_s = 20;
module_param(duration_s, uint, 0444);
MODULE_PARM_DESC(duration_s, "length of the run, 1..600 s (default 20)");

static unsigned int nwriters = 2;
module_param(nwriters, uint, 0444);
MODULE_PARM_DESC(nwriters, "writer kthreads, 1..16 (default 2)");

static unsigned int nfinders = 4;
module_param(nfinders, uint, 0444);
MODULE_PARM_DESC(nfinders, "mem tree finder kthreads, 1..16 (default 4)");

static unsigned int nslots = 16;
module_param(nslots, uint, 0444);
MODULE_PARM_DESC(nslots, "tracked blocks in the private mem tree, 1..4096 (default 16)");

static unsigned int reader_hold_us = 20;
module_param(reader_hold_us, uint, 0444);
MODULE_PARM_DESC(reader_hold_us, "longest hold of a task reader, 0..1000 us (default 20)");

static unsigned int softirq_hold_us = 100;
module_param(softirq_hold_us, uint, 0444);
MODULE_PARM_DESC(softirq_hold_us, "section held by a softirq reader, 0..2000 us (default 100)");

static unsigned int softirq_long_hold_us = 5000;
module_param(softirq_long_hold_us, uint, 0444);
MODULE_PARM_DESC(softirq_long_hold_us, "section held by a softirq reader that interrupted a task reader's ttak_epoch_enter(), 0..20000 us (default 5000)");

static unsigned int softirq_period_us = 500;
module_param(softirq_period_us, uint, 0444);
MODULE_PARM_DESC(softirq_period_us, "mean period of the softirq readers, 100..100000 us (default 500)");

static unsigned int hardirq_hold_us = 10;
module_param(hardirq_hold_us, uint, 0444);
MODULE_PARM_DESC(hardirq_hold_us, "section held by a hardirq reader, 0..100 us, ten times that over a task section (default 10)");

static unsigned int hardirq_period_us = 700;
module_param(hardirq_period_us, uint, 0444);
MODULE_PARM_DESC(hardirq_period_us, "mean period of the hardirq readers, 0 (off) or 100..100000 us (default 700)");

static unsigned int sync_every = 256;
module_param(sync_every, uint, 0444);
MODULE_PARM_DESC(sync_every, "a writer calls ttak_epoch_synchronize() every N replacements, 0 = never (default 256)");

#define TORTURE_MAGIC		0x7a4b0b1eU
#define TORTURE_POISON		0xdeadf00dU
#define TORTURE_BLOCK_MAGIC	0x6b10c4edU
#define TORTURE_MAX_THREADS	16
#define TORTURE_ARENA_CHUNKS	64

/* The object readers find through torture_cur. */
struct torture_obj {
	u32 magic;
	u32 seq;
	u32 check;	/* ~seq */
	u64 retired_ns;
	u32 pad[11];
};

/* The contents of a tracked block in the private mem tree. */
struct torture_block {
	u32 magic;
	u32 slot;
	atomic_t touches;
};

/* What one interrupt-context reader saw; its timer callback is the writer. */
struct torture_irq_counts {
	unsigned long reads;
	unsigned long bad;
	unsigned long over_task;	/* landed inside the task's section */
	unsigned long in_enter;		/* landed in the task's enter */
	unsigned long overtaken;	/* epoch moved past a watched read */
	unsigned long wrong_ctx;	/* ran outside its expected context */
	unsigned long accessed;		/* ttak_mem_access() said live */
	unsigned long access_refused;	/* ... said gone (freed meanwhile) */
};

/* A softirq or hardirq reader of one CPU. */
struct torture_irq_reader {
	struct hrtimer timer;
	u32 rnd;
	struct torture_irq_counts n;
};

struct torture_cpu {
	struct task_struct *task;
	struct torture_irq_reader soft;
	struct torture_irq_reader hard;
	int task_state;		/* TORTURE_TASK_* of this CPU's reader */
	/* written by the thread only */
	unsigned long reads;
	unsigned long bad_reads;
};

/* Where the task reader is, for the interrupts that land on its CPU. */
enum {
	TORTURE_TASK_OUT,
	TORTURE_TASK_ENTERING,	/* inside its call of ttak_epoch_enter() */
	TORTURE_TASK_INSIDE,
};

struct torture_writer {
	struct task_struct *task;
	unsigned long replaced;
	unsigned long syncs;
	unsigned long alloc_failures;
};

struct torture_finder {
	struct task_struct *task;
	unsigned long lookups;
	unsigned long misses;
	unsigned long refused;
	unsigned long acquires;
	unsigned long lost_refs;
	unsigned long bad_blocks;
};

struct torture_cleaner {
	struct task_struct *task;
	unsigned long cleanups;
	unsigned long readds;
	unsigned long add_failures;
};

struct torture_arena {
	struct task_struct *task;
	ttak_arena_env_t env;
	bool env_ok;
	unsigned long generations;
	unsigned long chunks;
	unsigned long rotations;
	unsigned long begin_failures;
	unsigned long bad_chunks;
};

static struct torture_obj *torture_cur;
static bool torture_stopping;
static atomic_long_t torture_objs_alloc;
static atomic_long_t torture_objs_freed;
static atomic_long_t torture_objs_poisoned_bad;
static atomic64_t torture_gp_total_ns;
static atomic64_t torture_gp_max_ns;

static struct torture_cpu *torture_cpus;
static struct torture_writer torture_writers[TORTURE_MAX_THREADS];
static struct torture_finder torture_finders[TORTURE_MAX_THREADS];
static struct torture_cleaner torture_cleaner_state;
static struct torture_arena torture_arena_state;

static ttak_mem_tree_t torture_tree;
static void **torture_slots;

static u32 torture_rnd(u32 *state)
{
	u32 x = *state;

	/* xorshift32: cheap, and good enough to spread the timings */
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static u32 torture_seed(void)
{
	return get_random_u32() | 1;
}

static bool torture_obj_ok(const struct torture_obj *obj)
{
	return READ_ONCE(obj->magic) == TORTURE_MAGIC &&
	       READ_ONCE(obj->check) == ~READ_ONCE(obj->seq);
}

/* The body of every read section: false if the object was freed under us. */
static __always_inline bool torture_read(unsigned int hold_us)
{
	struct torture_obj *obj;
	bool ok;

	/* pairs with the xchg() that published it */
	obj = smp_load_acquire(&torture_cur);
	if (!obj)
		return true;
	ok = torture_obj_ok(obj);
	if (hold_us) {
		udelay(hold_us);
		ok = torture_obj_ok(obj) && ok;
	}
	return ok;
}

/*
 * The read of a softirq or hardirq section that landed inside the task
 * reader's ttak_epoch_enter(): hold for @hold_us, checking all along.
 * While any section is inside, the global epoch moves at most one past
 * the epoch read after entering; when it moves further the section is
 * not protected, and the hold is stretched by @ext_us so that the
 * grace period that frees the object can end under our eyes.
 */
static bool torture_read_watch(unsigned int hold_us, unsigned int ext_us,
			       unsigned long *overtaken)
{
	u64 g0 = ttak_epoch_current();
	u64 start, limit = (u64)hold_us * NSEC_PER_USEC;
	struct torture_obj *obj;
	bool ok, stretched = false;

	/* pairs with the xchg() that published it */
	obj = smp_load_acquire(&torture_cur);
	if (!obj)
		return true;
	ok = torture_obj_ok(obj);
	start = ktime_get_ns();
	while (ok) {
		u64 spent;

		udelay(5);
		ok = torture_obj_ok(obj);
		spent = ktime_get_ns() - start;
		if (!stretched && ttak_epoch_current() > g0 + 1) {
			stretched = true;
			(*overtaken)++;
			limit = spent + (u64)ext_us * NSEC_PER_USEC;
		}
		if (spent >= limit)
			break;
	}
	return ok;
}

/* Retire callback: poison, then free; readers that see it are unprotected. */
static void torture_obj_free(void *p)
{
	struct torture_obj *obj = p;
	s64 gp = (s64)(ktime_get_ns() - obj->retired_ns);
	s64 max = atomic64_read(&torture_gp_max_ns);

	/* retire-to-free latency, for the report */
	atomic64_add(gp, &torture_gp_total_ns);
	while (gp > max && !atomic64_try_cmpxchg(&torture_gp_max_ns, &max, gp))
		;
	if (obj->magic != TORTURE_MAGIC)
		atomic_long_inc(&torture_objs_poisoned_bad);
	WRITE_ONCE(obj->magic, TORTURE_POISON);
	WRITE_ONCE(obj->check, obj->seq);
	atomic_long_inc(&torture_objs_freed);
	kfree(obj);
}

static struct torture_obj *torture_obj_new(u32 seq)
{
	struct torture_obj *obj = kzalloc(sizeof(*obj), GFP_KERNEL);

	if (!obj)
		return NULL;
	obj->magic = TORTURE_MAGIC;
	obj->seq = seq;
	obj->check = ~seq;
	atomic_long_inc(&torture_objs_alloc);
	return obj;
}

static u64 torture_jitter_ns(u32 *rnd, unsigned int period_us)
{
	/* uniform in [period / 2, 3 * period / 2) */
	u32 us = period_us / 2 + torture_rnd(rnd) % period_us;

	return (u64)us * NSEC_PER_USEC;
}

/*
 * One section of an interrupt-context reader, which landed while the
 * CPU's task reader was in state @task. Landed in the task reader's
 * ttak_epoch_enter(), the section nests over one being entered: it holds
 * for @long_hold_us (watched, extended up to @ext_us), long enough for
 * the writers to retire and free what it read in case the nesting left it
 * unprotected. Elsewhere it holds @hold_us only: long sections that are
 * protected merely delay every grace period. @in_ctx: the callback runs
 * in the context it was armed for.
 */
/*
 * ttak_mem_access() promises any context: probe a tracked block that the
 * cleaner may be freeing right now. The block registry's lock is taken
 * here in interrupt context and by the cleaner and the finders in task
 * context; lockdep (debug kernel) reports it unless every taker turns
 * interrupts off. The answer is not dereferenced: the block may be freed
 * as soon as the call returns.
 */
static void torture_access_probe(struct torture_irq_reader *ir)
{
	void *ptr = READ_ONCE(torture_slots[torture_rnd(&ir->rnd) % nslots]);

	if (!ptr)
		return;
	if (ttak_mem_access(ptr, ttak_get_tick_count()))
		ir->n.accessed++;
	else
		ir->n.access_refused++;
}

static enum hrtimer_restart torture_irq_section(struct torture_irq_reader *ir,
						int task, bool in_ctx,
						unsigned int hold_us,
						unsigned int long_hold_us,
						unsigned int ext_us,
						unsigned int period_us)
{
	struct torture_irq_counts *n = &ir->n;
	bool ok;

	ttak_epoch_enter();
	if (task == TORTURE_TASK_ENTERING)
		ok = torture_read_watch(long_hold_us, ext_us, &n->overtaken);
	else
		ok = torture_read(hold_us);
	ttak_epoch_exit();
	torture_access_probe(ir);

	if (in_ctx)
		n->reads++;
	else
		n->wrong_ctx++;
	if (!ok)
		n->bad++;
	if (task == TORTURE_TASK_ENTERING)
		n->in_enter++;
	else if (task == TORTURE_TASK_INSIDE)
		n->over_task++;

	if (READ_ONCE(torture_stopping))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(&ir->timer,
			    ns_to_ktime(torture_jitter_ns(&ir->rnd, period_us)));
	return HRTIMER_RESTART;
}

static enum hrtimer_restart torture_soft_fn(struct hrtimer *t)
{
	struct torture_cpu *pc = container_of(t, struct torture_cpu,
					      soft.timer);

	return torture_irq_section(&pc->soft, READ_ONCE(pc->task_state),
				   in_serving_softirq(), softirq_hold_us,
				   softirq_long_hold_us, 50000,
				   softirq_period_us);
}

static enum hrtimer_restart torture_hard_fn(struct hrtimer *t)
{
	struct torture_cpu *pc = container_of(t, struct torture_cpu,
					      hard.timer);

	return torture_irq_section(&pc->hard, READ_ONCE(pc->task_state),
				   in_hardirq(), hardirq_hold_us,
				   10 * hardirq_hold_us, 2000,
				   hardirq_period_us);
}

/* Bound to one CPU: task-context sections, and that CPU's timers. */
static int torture_reader_fn(void *arg)
{
	struct torture_cpu *pc = arg;
	u32 rnd = torture_seed();
	unsigned long iter = 0;

	hrtimer_start(&pc->soft.timer,
		      ns_to_ktime(torture_jitter_ns(&pc->soft.rnd,
						    softirq_period_us)),
		      HRTIMER_MODE_REL_PINNED_SOFT);
	if (hardirq_period_us)
		hrtimer_start(&pc->hard.timer,
			      ns_to_ktime(torture_jitter_ns(&pc->hard.rnd,
							    hardirq_period_us)),
			      HRTIMER_MODE_REL_PINNED_HARD);

	while (!kthread_should_stop()) {
		u32 r = torture_rnd(&rnd);
		unsigned int hold = 0;
		bool ok;

		/* mostly back-to-back sections: the entry is the target */
		if (reader_hold_us && !(r & 15))
			hold = 1 + (r >> 8) % reader_hold_us;
		WRITE_ONCE(pc->task_state, TORTURE_TASK_ENTERING);
		ttak_epoch_enter();
		WRITE_ONCE(pc->task_state, TORTURE_TASK_INSIDE);
		ok = torture_read(hold);
		WRITE_ONCE(pc->task_state, TORTURE_TASK_OUT);
		ttak_epoch_exit();
		pc->reads++;
		if (!ok)
			pc->bad_reads++;
		if (!(++iter & 63))
			cond_resched();
	}
	return 0;
}

static int torture_writer_fn(void *arg)
{
	struct torture_writer *w = arg;
	u32 seq = 0;

	while (!kthread_should_stop()) {
		struct torture_obj *obj, *old;

		obj = torture_obj_new(++seq);
		if (!obj) {
			w->alloc_failures++;
			cond_resched();
			continue;
		}
		/* full barrier: the object's fields before the pointer */
		old = xchg(&torture_cur, obj);
		if (old) {
			old->retired_ns = ktime_get_ns();
			ttak_epoch_retire(old, torture_obj_free);
		}
		ttak_epoch_reclaim();
		w->replaced++;
		if (sync_every && !(w->replaced % sync_every)) {
			ttak_epoch_synchronize();
			w->syncs++;
		}
		cond_resched();
	}
	return 0;
}

/* Still in the tree: the reference we hold must keep it there. */
static bool torture_node_kept(void *ptr, ttak_mem_node_t *node)
{
	return ttak_mem_tree_find_node(&torture_tree, ptr) == node;
}

static int torture_finder_fn(void *arg)
{
	struct torture_finder *f = arg;
	u32 rnd = torture_seed();
	unsigned long iter = 0;

	while (!kthread_should_stop()) {
		u32 r = torture_rnd(&rnd);
		struct torture_block *blk;
		ttak_mem_node_t *node;
		bool got = false;
		void *ptr;

		if (!(++iter & 15))
			cond_resched();
		ptr = READ_ONCE(torture_slots[r % nslots]);
		f->lookups++;

		ttak_epoch_enter();
		node = ttak_mem_tree_find_node(&torture_tree, ptr);
		if (node) {
			/* let the cleaner judge the node meanwhile */
			if (r & 0x100)
				udelay(1 + ((r >> 12) & 7));
			got = ttak_mem_node_try_acquire(node);
		}
		ttak_epoch_exit();

		if (!node) {
			f->misses++;
			continue;
		}
		if (!got) {
			f->refused++;
			continue;
		}
		f->acquires++;
		/* a cleanup and a grace period may pass here */
		udelay(1 + ((r >> 16) & 15));
		if (r & 0x200)
			cond_resched();
		/*
		 * A node that left the tree while we hold a reference is a
		 * lost reference: it is being freed, so neither its block nor
		 * the node may be touched, and no release follows.
		 */
		if (!torture_node_kept(ptr, node)) {
			f->lost_refs++;
			continue;
		}
		blk = ptr;
		if (READ_ONCE(blk->magic) != TORTURE_BLOCK_MAGIC)
			f->bad_blocks++;
		atomic_inc(&blk->touches);
		if (!torture_node_kept(ptr, node)) {
			f->lost_refs++;
			continue;
		}
		ttak_mem_node_release(node);
	}
	return 0;
}

/* A new garbage block for @slot: tracked, added, released to 0 references. */
static bool torture_slot_fill(unsigned int slot)
{
	struct torture_block *blk;
	ttak_mem_node_t *node;

	blk = ttak_mem_alloc_safe(sizeof(*blk), __TTAK_UNSAFE_MEM_FOREVER__,
				  ttak_get_tick_count(), false, false, true,
				  false, TTAK_MEM_DEFAULT);
	if (!blk)
		return false;
	blk->magic = TORTURE_BLOCK_MAGIC;
	blk->slot = slot;
	atomic_set(&blk->touches, 0);
	/* expires at once: each cleanup may take it unless it is held */
	node = ttak_mem_tree_add(&torture_tree, blk, sizeof(*blk), 0, false);
	if (!node) {
		ttak_mem_free(blk);
		return false;
	}
	WRITE_ONCE(torture_slots[slot], blk);
	ttak_mem_node_release(node);
	return true;
}

static int torture_cleaner_fn(void *arg)
{
	struct torture_cleaner *c = arg;
	unsigned int i;

	while (!kthread_should_stop()) {
		ttak_mem_tree_perform_cleanup(&torture_tree,
					      ttak_get_tick_count());
		ttak_epoch_reclaim();
		c->cleanups++;
		for (i = 0; i < nslots; i++) {
			void *ptr = READ_ONCE(torture_slots[i]);

			if (ptr && ttak_mem_tree_find_node(&torture_tree, ptr))
				continue;
			if (torture_slot_fill(i))
				c->readds++;
			else
				c->add_failures++;
		}
		cond_resched();
	}
	return 0;
}

static int torture_arena_fn(void *arg)
{
	struct torture_arena *a = arg;
	void *chunks[TORTURE_ARENA_CHUNKS];
	ttak_arena_generation_t gen;
	u32 id = 0;

	while (!kthread_should_stop()) {
		unsigned int n = 0, i;
		size_t chunk_bytes = a->env.config.chunk_bytes;
		int pattern;
		void *c;

		cond_resched();
		if (!ttak_arena_generation_begin(&a->env, &gen, ++id)) {
			a->begin_failures++;
			continue;
		}
		a->generations++;
		pattern = (int)(id & 0xff);
		while (n < TORTURE_ARENA_CHUNKS &&
		       (c = ttak_arena_generation_claim(&a->env, &gen, 0))) {
			memset(c, pattern, chunk_bytes);
			chunks[n++] = c;
		}
		for (i = 0; i < n; i++)
			if (memchr_inv(chunks[i], pattern, chunk_bytes))
				a->bad_chunks++;
		a->chunks += n;
		ttak_arena_generation_retire(&a->env, &gen);
		if (!(id & 3)) {
			ttak_arena_env_rotate(&a->env);
			a->rotations++;
		}
	}
	return 0;
}

static int torture_check_params(void)
{
	if (!duration_s || duration_s > 600 ||
	    !nwriters || nwriters > TORTURE_MAX_THREADS ||
	    !nfinders || nfinders > TORTURE_MAX_THREADS ||
	    !nslots || nslots > 4096 || reader_hold_us > 1000 ||
	    softirq_hold_us > 2000 || softirq_long_hold_us > 20000 ||
	    softirq_period_us < 100 ||
	    softirq_period_us > 100000 || hardirq_hold_us > 100 ||
	    (hardirq_period_us && (hardirq_period_us < 100 ||
				   hardirq_period_us > 100000))) {
		pr_err("parameter out of range (see modinfo ttak_torture.ko)\n");
		return -EINVAL;
	}
	return 0;
}

static int torture_start(struct task_struct **slot,
			 int (*fn)(void *), void *arg, const char *name,
			 unsigned int idx)
{
	struct task_struct *t = kthread_create(fn, arg, "%s/%u", name, idx);

	if (IS_ERR(t)) {
		pr_err("cannot create %s/%u: %ld\n", name, idx, PTR_ERR(t));
		return PTR_ERR(t);
	}
	*slot = t;
	return 0;
}

static int torture_create_threads(void)
{
	unsigned int i;
	int cpu, err;

	for_each_online_cpu(cpu) {
		struct torture_cpu *pc = &torture_cpus[cpu];
		struct task_struct *t;

		t = kthread_create_on_cpu(torture_reader_fn, pc, cpu,
					  "ttak_tort_rd/%u");
		if (IS_ERR(t)) {
			pr_err("cannot create the reader of cpu %d: %ld\n",
			       cpu, PTR_ERR(t));
			return PTR_ERR(t);
		}
		pc->task = t;
	}
	for (i = 0; i < nwriters; i++) {
		err = torture_start(&torture_writers[i].task, torture_writer_fn,
				    &torture_writers[i], "ttak_tort_wr", i);
		if (err)
			return err;
	}
	for (i = 0; i < nfinders; i++) {
		err = torture_start(&torture_finders[i].task, torture_finder_fn,
				    &torture_finders[i], "ttak_tort_find", i);
		if (err)
			return err;
	}
	err = torture_start(&torture_cleaner_state.task, torture_cleaner_fn,
			    &torture_cleaner_state, "ttak_tort_clean", 0);
	if (err)
		return err;
	return torture_start(&torture_arena_state.task, torture_arena_fn,
			     &torture_arena_state, "ttak_tort_arena", 0);
}

static void torture_wake_all(void)
{
	unsigned int i;
	int cpu;

	for_each_possible_cpu(cpu)
		if (torture_cpus[cpu].task)
			wake_up_process(torture_cpus[cpu].task);
	for (i = 0; i < nwriters; i++)
		wake_up_process(torture_writers[i].task);
	for (i = 0; i < nfinders; i++)
		wake_up_process(torture_finders[i].task);
	wake_up_process(torture_cleaner_state.task);
	wake_up_process(torture_arena_state.task);
}

static void torture_stop(struct task_struct **t)
{
	if (*t) {
		kthread_stop(*t);
		*t = NULL;
	}
}

/* Stop every thread and timer; safe after a partial start. */
static void torture_stop_all(void)
{
	unsigned int i;
	int cpu;

	WRITE_ONCE(torture_stopping, true);
	for_each_possible_cpu(cpu)
		torture_stop(&torture_cpus[cpu].task);
	/* no reader left to start a timer; the callbacks stop re-arming */
	for_each_possible_cpu(cpu) {
		hrtimer_cancel(&torture_cpus[cpu].soft.timer);
		hrtimer_cancel(&torture_cpus[cpu].hard.timer);
	}
	for (i = 0; i < TORTURE_MAX_THREADS; i++) {
		torture_stop(&torture_writers[i].task);
		torture_stop(&torture_finders[i].task);
	}
	torture_stop(&torture_cleaner_state.task);
	torture_stop(&torture_arena_state.task);
}

/*
 * Free the last object and wait until every retired one went through its
 * callback: the callbacks are this module's code, so init must not return
 * before ttak.ko has run them all.
 */
static void torture_flush(void)
{
	struct torture_obj *last = xchg(&torture_cur, NULL);
	unsigned int waited = 0;

	if (last) {
		last->retired_ns = ktime_get_ns();
		ttak_epoch_retire(last, torture_obj_free);
	}
	for (;;) {
		ttak_epoch_synchronize();
		if (atomic_long_read(&torture_objs_freed) ==
		    atomic_long_read(&torture_objs_alloc))
			break;
		if (!(++waited % 1000))
			pr_warn("still waiting for %ld retired objects\n",
				atomic_long_read(&torture_objs_alloc) -
				atomic_long_read(&torture_objs_freed));
		usleep_range(1000, 2000);
	}
}

struct torture_totals {
	unsigned long reads, bad_reads;
	struct torture_irq_counts soft, hard;
	unsigned long replaced, syncs, alloc_failures;
	unsigned long lookups, misses, refused, acquires, lost_refs;
	unsigned long bad_blocks;
};

static void torture_irq_add(struct torture_irq_counts *sum,
			    const struct torture_irq_counts *n)
{
	sum->reads += n->reads;
	sum->bad += n->bad;
	sum->over_task += n->over_task;
	sum->in_enter += n->in_enter;
	sum->overtaken += n->overtaken;
	sum->wrong_ctx += n->wrong_ctx;
	sum->accessed += n->accessed;
	sum->access_refused += n->access_refused;
}

static void torture_sum(struct torture_totals *t)
{
	unsigned int i;
	int cpu;

	memset(t, 0, sizeof(*t));
	for_each_possible_cpu(cpu) {
		struct torture_cpu *pc = &torture_cpus[cpu];

		t->reads += pc->reads;
		t->bad_reads += pc->bad_reads;
		torture_irq_add(&t->soft, &pc->soft.n);
		torture_irq_add(&t->hard, &pc->hard.n);
	}
	for (i = 0; i < TORTURE_MAX_THREADS; i++) {
		struct torture_writer *w = &torture_writers[i];
		struct torture_finder *f = &torture_finders[i];

		t->replaced += w->replaced;
		t->syncs += w->syncs;
		t->alloc_failures += w->alloc_failures;
		t->lookups += f->lookups;
		t->misses += f->misses;
		t->refused += f->refused;
		t->acquires += f->acquires;
		t->lost_refs += f->lost_refs;
		t->bad_blocks += f->bad_blocks;
	}
}

/* Print the counts and judge them; returns 0 for PASS. */
static int torture_verdict(unsigned int cpus, u64 run_ns, u64 stop_ns)
{
	struct torture_arena *a = &torture_arena_state;
	struct torture_cleaner *c = &torture_cleaner_state;
	struct torture_totals t;
	unsigned long bad;
	long freed;

	torture_sum(&t);
	bad = t.bad_reads + t.soft.bad + t.hard.bad;

	pr_info("counts: cpus=%u duration_s=%u reads=%lu softirq_reads=%lu softirq_over_task=%lu softirq_in_enter=%lu hardirq_reads=%lu hardirq_over_task=%lu hardirq_in_enter=%lu epoch_overtaken=%lu bad_reads=%lu (task %lu, softirq %lu, hardirq %lu)\n",
		cpus, duration_s, t.reads, t.soft.reads, t.soft.over_task,
		t.soft.in_enter, t.hard.reads, t.hard.over_task,
		t.hard.in_enter, t.soft.overtaken + t.hard.overtaken, bad,
		t.bad_reads, t.soft.bad, t.hard.bad);
	freed = atomic_long_read(&torture_objs_freed);
	pr_info("counts: replaced=%lu syncs=%lu freed=%ld gp_avg_us=%llu gp_max_us=%llu alloc_failures=%lu\n",
		t.replaced, t.syncs, freed,
		freed ? div_u64(atomic64_read(&torture_gp_total_ns),
				freed * NSEC_PER_USEC) : 0,
		div_u64(atomic64_read(&torture_gp_max_ns), NSEC_PER_USEC),
		t.alloc_failures);
	pr_info("counts: lookups=%lu misses=%lu refused=%lu acquires=%lu lost_refs=%lu bad_blocks=%lu cleanups=%lu readds=%lu add_failures=%lu\n",
		t.lookups, t.misses, t.refused, t.acquires, t.lost_refs,
		t.bad_blocks, c->cleanups, c->readds, c->add_failures);
	pr_info("counts: mem_access softirq=%lu/%lu hardirq=%lu/%lu (live/gone)\n",
		t.soft.accessed, t.soft.access_refused, t.hard.accessed,
		t.hard.access_refused);
	pr_info("counts: generations=%lu chunks=%lu rotations=%lu begin_failures=%lu bad_chunks=%lu run_ms=%llu stop_ms=%llu\n",
		a->generations, a->chunks, a->rotations, a->begin_failures,
		a->bad_chunks, div_u64(run_ns, NSEC_PER_MSEC),
		div_u64(stop_ns, NSEC_PER_MSEC));

	if (bad || t.lost_refs || t.bad_blocks || a->bad_chunks ||
	    atomic_long_read(&torture_objs_poisoned_bad)) {
		pr_err("FAIL (bad_reads=%lu lost_refs=%lu bad_blocks=%lu bad_chunks=%lu double_frees=%ld)\n",
		       bad, t.lost_refs, t.bad_blocks, a->bad_chunks,
		       atomic_long_read(&torture_objs_poisoned_bad));
		return -EINVAL;
	}
	if (t.soft.wrong_ctx || t.hard.wrong_ctx) {
		pr_err("FAIL (timer callbacks outside their context: softirq %lu, hardirq %lu)\n",
		       t.soft.wrong_ctx, t.hard.wrong_ctx);
		return -EINVAL;
	}
	if (!t.reads || !t.soft.reads || !t.replaced || !t.acquires ||
	    !a->rotations || !(t.soft.accessed + t.soft.access_refused) ||
	    (t.hard.reads && !(t.hard.accessed + t.hard.access_refused))) {
		pr_err("FAIL (some part did no work: reads=%lu softirq_reads=%lu replaced=%lu acquires=%lu rotations=%lu)\n",
		       t.reads, t.soft.reads, t.replaced, t.acquires,
		       a->rotations);
		return -EINVAL;
	}
	pr_info("PASS\n");
	return 0;
}

static int torture_setup(void)
{
	unsigned int i;
	int cpu;

	torture_cpus = kcalloc(nr_cpu_ids, sizeof(*torture_cpus), GFP_KERNEL);
	if (!torture_cpus)
		return -ENOMEM;
	/* before anything can fail: torture_stop_all() cancels them */
	for_each_possible_cpu(cpu) {
		struct torture_cpu *pc = &torture_cpus[cpu];

		hrtimer_init(&pc->soft.timer, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_PINNED_SOFT);
		pc->soft.timer.function = torture_soft_fn;
		hrtimer_init(&pc->hard.timer, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_PINNED_HARD);
		pc->hard.timer.function = torture_hard_fn;
		pc->soft.rnd = torture_seed();
		pc->hard.rnd = torture_seed();
	}

	torture_slots = kcalloc(nslots, sizeof(*torture_slots), GFP_KERNEL);
	if (!torture_slots)
		return -ENOMEM;
	torture_cur = torture_obj_new(0);
	if (!torture_cur)
		return -ENOMEM;

	ttak_mem_tree_init(&torture_tree);
	/* an empty slot (failed allocation) is the cleaner's to fill */
	for (i = 0; i < nslots; i++)
		if (!torture_slot_fill(i))
			torture_cleaner_state.add_failures++;

	if (!ttak_arena_env_init(&torture_arena_state.env, NULL))
		return -EINVAL;
	torture_arena_state.env_ok = true;
	return 0;
}

static void torture_teardown(void)
{
	if (torture_arena_state.env_ok) {
		ttak_arena_env_destroy(&torture_arena_state.env);
		torture_arena_state.env_ok = false;
	}
	ttak_mem_tree_destroy(&torture_tree);
	torture_flush();
	kfree(torture_slots);
	torture_slots = NULL;
	kfree(torture_cpus);
	torture_cpus = NULL;
}

static int __init torture_init(void)
{
	unsigned int cpus = num_online_cpus();
	u64 t0, t1, t2;
	int err;

	err = torture_check_params();
	if (err)
		return err;
	if (cpus < 2) {
		pr_err("needs at least two online CPUs\n");
		return -ENODEV;
	}
	pr_info("start: %u s on %u CPUs, %u writers, %u finders over %u blocks, softirq sections %u us (%u us over a task section) every ~%u us, hardirq sections %u us every ~%u us\n",
		duration_s, cpus, nwriters, nfinders, nslots, softirq_hold_us,
		softirq_long_hold_us, softirq_period_us, hardirq_hold_us,
		hardirq_period_us);

	err = torture_setup();
	if (!err)
		err = torture_create_threads();
	t0 = ktime_get_ns();
	if (!err) {
		unsigned int s;

		torture_wake_all();
		/* a second at a time: insmod is not a hung task */
		for (s = 0; s < duration_s; s++)
			msleep(MSEC_PER_SEC);
	}
	t1 = ktime_get_ns();
	if (torture_cpus)
		torture_stop_all();
	t2 = ktime_get_ns();
	if (!err)
		err = torture_verdict(cpus, t1 - t0, t2 - t1);
	else
		pr_err("FAIL (setup error %d)\n", err);
	torture_teardown();
	return err;
}

static void __exit torture_exit(void)
{
}

module_init(torture_init);
module_exit(torture_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak test: torture the epoch readers, the mem tree and the arena");
