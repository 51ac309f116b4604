// SPDX-License-Identifier: GPL-2.0
/*
 * Torture test for ttak.ko: epoch readers in every context, writers that
 * retire what the readers hold from every context, mem tree references
 * taken while a cleaner unlinks garbage, and an arena env rotated under
 * its user, all at once for duration_s seconds. A test module only, like
 * ttak_epoch_hold_test.ko: never installed, loaded by the kselftests.
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
 *   retirers   four sources replace the published object and retire the
 *              old one with ttak_epoch_retire(), each from its context:
 *     process    nwriters kthreads: allocate, publish (xchg), retire;
 *                every 16 replacements ttak_epoch_reclaim(), every
 *                sync_every ttak_epoch_synchronize(); they also refill
 *                the pools of the hardirq retirers
 *     timer      a struct timer_list per CPU (softirq), every
 *                timer_period_ms: a GFP_ATOMIC object (a failed allocation
 *                is counted and the tick skipped), published with xchg()
 *                outside a section, or on every other tick found inside a
 *                section and replaced with cmpxchg() there
 *     hardirq    a hard hrtimer per CPU (HRTIMER_MODE_REL_PINNED_HARD),
 *                every ~hardirq_retire_period_us, the same two ways, with
 *                objects taken from a per-CPU pool the process retirers
 *                fill beforehand (an empty pool is counted and skipped)
 *     in-section ninsection kthreads: inside ttak_epoch_enter(), find the
 *                object, replace it with cmpxchg(), retire it right there,
 *                hold it for up to insection_hold_us and check it is
 *                still intact, then ttak_epoch_exit()
 *              The cleanup poisons the magic before kfree(), so a reader
 *              that is not protected sees the poison (or KASAN sees the
 *              read); it counts the objects per source and notes a cleanup
 *              outside process context or of an object already poisoned
 *   finders    inside a section, look a tracked block of a private mem tree
 *              up with ttak_mem_tree_find_node() and take a reference; after
 *              the section the node must still be in the tree while the
 *              reference is held (else a "lost reference"), the block is
 *              touched and the reference released
 *   cleaner    ttak_mem_tree_perform_cleanup() + ttak_epoch_reclaim() in a
 *              loop, adding new garbage blocks for the ones it freed
 *   arena      a private arena env: one kthread begins generations, claims
 *              every chunk, fills and checks them and retires them, while
 *              another rotates the same env all along
 *
 * Every timer re-arms no sooner than TORTURE_IRQ_DUTY times what its
 * callback took beyond its designed hold (counted as throttled_*): on a
 * slow machine interrupts must not starve what they race against.
 *
 * At the end every thread and timer is stopped (nothing of the module can
 * run after init returns), the last object is retired, and one
 * ttak_epoch_synchronize() must have cleaned up every retired object:
 * per source, retired == cleaned, and allocated == cleaned + never used.
 *
 * Verdict: the log gets "ttak_torture: counts:" lines and then
 * "ttak_torture: PASS" or "ttak_torture: FAIL (...)". Init returns 0 only
 * if no read saw a freed object, no retirer saw its own object poisoned,
 * no cleanup ran twice, early, late or outside process context, no
 * reference was lost, no tracked block or chunk was corrupt, and the
 * readers, the softirq readers, each of the four retire sources, the
 * finders, the arena and its rotator all did work; otherwise insmod fails
 * with -EINVAL. The module does nothing after init and can be removed at
 * once.
 *
 * Parameters (modinfo ttak_torture.ko; out of range: insmod fails with
 * -EINVAL and a line naming the parameter): duration_s, nwriters,
 * ninsection, nfinders, nslots, the readers' holds and periods, the
 * retirers' periods, the hardirq pool size, insection_hold_us, sync_every.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/preempt.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timer.h>

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
MODULE_PARM_DESC(nwriters, "process-context retirer kthreads, 1..16 (default 2)");

static unsigned int ninsection = 2;
module_param(ninsection, uint, 0444);
MODULE_PARM_DESC(ninsection, "kthreads that replace and retire the object inside a read section, 1..16 (default 2)");

static unsigned int insection_hold_us = 20;
module_param(insection_hold_us, uint, 0444);
MODULE_PARM_DESC(insection_hold_us, "longest hold of an object retired inside its own section, 0..1000 us (default 20)");

static unsigned int timer_period_ms = 1;
module_param(timer_period_ms, uint, 0444);
MODULE_PARM_DESC(timer_period_ms, "period of the per-CPU timer (softirq) retirers, 1..1000 ms, at least a jiffy (default 1)");

static unsigned int hardirq_retire_period_us = 1000;
module_param(hardirq_retire_period_us, uint, 0444);
MODULE_PARM_DESC(hardirq_retire_period_us, "mean period of the per-CPU hardirq retirers, 100..100000 us (default 1000)");

static unsigned int hardirq_pool = 256;
module_param(hardirq_pool, uint, 0444);
MODULE_PARM_DESC(hardirq_pool, "objects kept ready per CPU for the hardirq retirer, 1..4096 (default 256)");

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
/*
 * A timer's next expiry is at least this many times what its callback
 * took beyond its designed hold: on a slow machine (a debug kernel under
 * TCG) interrupts must not eat the CPUs that the threads, softirqs and
 * grace periods need.
 */
#define TORTURE_IRQ_DUTY	4

/* Who retired an object: the cleanup counts per source. */
enum torture_src {
	TORTURE_SRC_PROCESS,
	TORTURE_SRC_TIMER,	/* struct timer_list: softirq */
	TORTURE_SRC_HARDIRQ,	/* hard hrtimer */
	TORTURE_SRC_IN_SECTION,	/* kthread, inside its own read section */
	TORTURE_SRC_FINAL,	/* the last object, at the end */
	TORTURE_SRC_NR
};

/* The object readers find through torture_cur; 64 bytes. */
struct torture_obj {
	u32 magic;
	u32 seq;
	u32 check;	/* ~seq */
	u32 src;	/* enum torture_src, set by the retirer */
	u64 retired_ns;
	struct llist_node pool;	/* in a hardirq retirer's pool */
	u32 pad[8];
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
	unsigned long throttled;	/* next expiry stretched (DUTY) */
};

/* A softirq or hardirq reader of one CPU. */
struct torture_irq_reader {
	struct hrtimer timer;
	u32 rnd;
	struct torture_irq_counts n;
};

/*
 * What a retirer did; each instance is written by one thread or one
 * timer only, and read after they all stopped.
 */
struct torture_retire_counts {
	unsigned long retired;
	unsigned long in_section;	/* of which inside a section */
	unsigned long raced;		/* cmpxchg() lost: object kept */
	unsigned long no_obj;		/* allocation failed, pool empty */
	unsigned long wrong_ctx;	/* ran outside its expected context */
	unsigned long throttled;	/* next expiry stretched (DUTY) */
};

/* The softirq retirer of one CPU. */
struct torture_timer_retirer {
	struct timer_list timer;
	struct torture_obj *spare;	/* allocated, not published yet */
	unsigned long ticks;
	struct torture_retire_counts n;
};

/*
 * The hardirq retirer of one CPU and its pool: the process retirers add
 * objects, the hrtimer alone takes them (llist_del_first() allows one
 * taker); @pooled counts them for the refill.
 */
struct torture_hard_retirer {
	struct hrtimer timer;
	struct llist_head pool;
	atomic_t pooled;
	struct torture_obj *spare;
	u32 rnd;
	unsigned long ticks;
	struct torture_retire_counts n;
};

struct torture_cpu {
	struct task_struct *task;
	struct torture_irq_reader soft;
	struct torture_irq_reader hard;
	struct torture_timer_retirer tr;
	struct torture_hard_retirer hr;
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
	unsigned int idx;
	unsigned long syncs;
	unsigned long refills;
	struct torture_retire_counts n;
};

/* Finds, replaces and retires the object inside its read section. */
struct torture_insection {
	struct task_struct *task;
	unsigned long reads;
	struct torture_retire_counts n;
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
	struct task_struct *rotator;
	ttak_arena_env_t env;
	bool env_ok;
	unsigned long generations;
	unsigned long chunks;
	unsigned long rotations;	/* by the rotator */
	unsigned long begin_failures;
	unsigned long bad_chunks;
};

/* What the end of the run found (torture_flush()). */
struct torture_end {
	long retired[TORTURE_SRC_NR];
	long cleaned_at_sync;	/* right after one ttak_epoch_synchronize() */
	long waits;		/* further synchronize rounds it took */
	size_t pending;		/* ttak_epoch_pending() after that */
};

static struct torture_obj *torture_cur;
static bool torture_stopping;
static atomic_long_t torture_objs_alloc;
static atomic_long_t torture_objs_unused;	/* freed, never published */
static atomic_long_t torture_objs_freed;
static atomic_long_t torture_cleaned[TORTURE_SRC_NR];
static atomic_long_t torture_cleaned_outside_task;
static atomic_long_t torture_objs_poisoned_bad;
static atomic_long_t torture_bad_retiree;	/* a retirer saw poison */
static atomic64_t torture_gp_total_ns;
static atomic64_t torture_gp_max_ns;
static unsigned long torture_timer_jiffies;

static struct torture_cpu *torture_cpus;
static struct torture_writer torture_writers[TORTURE_MAX_THREADS];
static struct torture_insection torture_insections[TORTURE_MAX_THREADS];
static struct torture_finder torture_finders[TORTURE_MAX_THREADS];
static struct torture_cleaner torture_cleaner_state;
static struct torture_arena torture_arena_state;
static struct torture_end torture_end_state;

static ttak_mem_tree_t torture_tree;
static bool torture_tree_ok;
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

/*
 * Retire callback: poison, then free; readers that see it are unprotected.
 * Counts per source, so that the end can match every retire with one
 * cleanup; a cleanup that finds the poison already ran twice.
 */
static void torture_obj_free(void *p)
{
	struct torture_obj *obj = p;
	s64 gp = (s64)(ktime_get_ns() - obj->retired_ns);
	s64 max = atomic64_read(&torture_gp_max_ns);

	/* retire-to-free latency, for the report */
	atomic64_add(gp, &torture_gp_total_ns);
	while (gp > max && !atomic64_try_cmpxchg(&torture_gp_max_ns, &max, gp))
		;
	/* the contract: cleanups run later, in process context */
	if (!in_task())
		atomic_long_inc(&torture_cleaned_outside_task);
	if (obj->magic != TORTURE_MAGIC)
		atomic_long_inc(&torture_objs_poisoned_bad);
	else if (obj->src < TORTURE_SRC_NR)
		atomic_long_inc(&torture_cleaned[obj->src]);
	WRITE_ONCE(obj->magic, TORTURE_POISON);
	WRITE_ONCE(obj->check, obj->seq);
	atomic_long_inc(&torture_objs_freed);
	kfree(obj);
}

/* @gfp: GFP_KERNEL in a thread, GFP_ATOMIC in the timer retirers. */
static struct torture_obj *torture_obj_new(u32 seq, gfp_t gfp)
{
	struct torture_obj *obj = kzalloc(sizeof(*obj), gfp);

	if (!obj)
		return NULL;
	obj->magic = TORTURE_MAGIC;
	obj->seq = seq;
	obj->check = ~seq;
	atomic_long_inc(&torture_objs_alloc);
	return obj;
}

/* An object that was never published: no reader can hold it. */
static void torture_obj_unused(struct torture_obj *obj)
{
	if (!obj)
		return;
	atomic_long_inc(&torture_objs_unused);
	kfree(obj);
}

/*
 * Hand @old, which the caller unlinked (so no one else retires it), to
 * ttak_epoch_retire() from the calling context. Until then it must be
 * intact: poison here means it was freed without a retire of ours.
 */
static void torture_retire(struct torture_obj *old, enum torture_src src)
{
	if (!torture_obj_ok(old))
		atomic_long_inc(&torture_bad_retiree);
	old->src = src;
	old->retired_ns = ktime_get_ns();
	ttak_epoch_retire(old, torture_obj_free);
}

/*
 * Publish @obj in place of the current object and retire the old one
 * from the calling context. Outside a section: unlink with xchg(). With
 * @in_section: the standard EBR pattern inside ttak_epoch_enter(): find
 * the object, check it, replace it with cmpxchg(), retire it right there,
 * and check it is still intact @hold_us later, since our own section
 * still protects it. Returns false when a racing retirer replaced the
 * object first (@obj was not published: the caller keeps it).
 */
static bool torture_replace(struct torture_obj *obj, enum torture_src src,
			    bool in_section, unsigned int hold_us)
{
	struct torture_obj *old;

	if (!in_section) {
		/* full barrier: the object's fields before the pointer */
		old = xchg(&torture_cur, obj);
		if (old)
			torture_retire(old, src);
		return true;
	}
	ttak_epoch_enter();
	/* pairs with the xchg() or cmpxchg() that published it */
	old = smp_load_acquire(&torture_cur);
	if (!old || cmpxchg(&torture_cur, old, obj) != old) {
		ttak_epoch_exit();
		return false;
	}
	torture_retire(old, src);
	if (hold_us)
		udelay(hold_us);
	/* retired by us, but our section is still open */
	if (!torture_obj_ok(old))
		atomic_long_inc(&torture_bad_retiree);
	ttak_epoch_exit();
	return true;
}

/* Count one replacement attempt in @n; true when @obj was published. */
static bool torture_replace_count(struct torture_retire_counts *n,
				  struct torture_obj *obj,
				  enum torture_src src, bool in_section,
				  unsigned int hold_us)
{
	if (!torture_replace(obj, src, in_section, hold_us)) {
		n->raced++;
		return false;
	}
	n->retired++;
	if (in_section)
		n->in_section++;
	return true;
}

static u64 torture_jitter_ns(u32 *rnd, unsigned int period_us)
{
	/* uniform in [period / 2, 3 * period / 2) */
	u32 us = period_us / 2 + torture_rnd(rnd) % period_us;

	return (u64)us * NSEC_PER_USEC;
}

/*
 * The delay to a timer's next expiry: its jittered period, or
 * TORTURE_IRQ_DUTY times what the callback started at @start_ns took
 * beyond its designed hold of @hold_us, whichever is longer; a stretch
 * is counted in @throttled.
 */
static u64 torture_next_ns(u32 *rnd, unsigned int period_us, u64 start_ns,
			   unsigned int hold_us, unsigned long *throttled)
{
	u64 next = torture_jitter_ns(rnd, period_us);
	u64 spent = ktime_get_ns() - start_ns;
	u64 hold = (u64)hold_us * NSEC_PER_USEC;
	u64 min;

	if (spent <= hold)
		return next;
	min = TORTURE_IRQ_DUTY * (spent - hold);
	if (next >= min)
		return next;
	(*throttled)++;
	return min;
}

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
static enum hrtimer_restart torture_irq_section(struct torture_irq_reader *ir,
						int task, bool in_ctx,
						unsigned int hold_us,
						unsigned int long_hold_us,
						unsigned int ext_us,
						unsigned int period_us)
{
	struct torture_irq_counts *n = &ir->n;
	u64 start = ktime_get_ns();
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
	/* a long watched hold is rare and by design: no stretch then */
	if (task == TORTURE_TASK_ENTERING)
		hrtimer_forward_now(&ir->timer,
				    ns_to_ktime(torture_jitter_ns(&ir->rnd,
								  period_us)));
	else
		hrtimer_forward_now(&ir->timer,
				    ns_to_ktime(torture_next_ns(&ir->rnd,
								period_us, start,
								hold_us,
								&n->throttled)));
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

/*
 * The softirq retirer of one CPU: a GFP_ATOMIC object each tick (none:
 * counted, tick skipped), published outside a section on even ticks and
 * inside one, with cmpxchg(), on odd ticks.
 */
static void torture_timer_fn(struct timer_list *t)
{
	struct torture_timer_retirer *tr = from_timer(tr, t, timer);
	bool in_section = tr->ticks++ & 1;
	u64 start = ktime_get_ns();
	unsigned long next = torture_timer_jiffies, min;

	if (!in_serving_softirq())
		tr->n.wrong_ctx++;
	if (!tr->spare)
		tr->spare = torture_obj_new((u32)tr->ticks, GFP_ATOMIC);
	if (!tr->spare)
		tr->n.no_obj++;
	else if (torture_replace_count(&tr->n, tr->spare, TORTURE_SRC_TIMER,
				       in_section, 0))
		tr->spare = NULL;
	min = nsecs_to_jiffies(TORTURE_IRQ_DUTY * (ktime_get_ns() - start));
	if (next < min) {
		next = min;
		tr->n.throttled++;
	}
	/* stops the re-arming before del_timer_sync() */
	if (!READ_ONCE(torture_stopping))
		mod_timer(&tr->timer, jiffies + next);
}

/*
 * The hardirq retirer of one CPU: an object from the pool the process
 * retirers filled (empty: counted, tick skipped); every other tick the
 * replacement is made inside a hardirq section.
 */
static enum hrtimer_restart torture_hard_retire_fn(struct hrtimer *t)
{
	struct torture_hard_retirer *hr =
		container_of(t, struct torture_hard_retirer, timer);
	bool in_section = hr->ticks++ & 1;
	u64 start = ktime_get_ns();

	if (!in_hardirq())
		hr->n.wrong_ctx++;
	if (!hr->spare) {
		struct llist_node *node = llist_del_first(&hr->pool);

		if (node) {
			atomic_dec(&hr->pooled);
			hr->spare = llist_entry(node, struct torture_obj, pool);
		}
	}
	if (!hr->spare)
		hr->n.no_obj++;
	else if (torture_replace_count(&hr->n, hr->spare,
				       TORTURE_SRC_HARDIRQ, in_section, 0))
		hr->spare = NULL;

	if (READ_ONCE(torture_stopping))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t,
			    ns_to_ktime(torture_next_ns(&hr->rnd,
							hardirq_retire_period_us,
							start, 0, &hr->n.throttled)));
	return HRTIMER_RESTART;
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
	/* the retirers: pinned, so they too stay on this CPU */
	mod_timer(&pc->tr.timer, jiffies + torture_timer_jiffies);
	hrtimer_start(&pc->hr.timer,
		      ns_to_ktime(torture_jitter_ns(&pc->hr.rnd,
						    hardirq_retire_period_us)),
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

/* Fill @hr's pool up to hardirq_pool objects; false when out of memory. */
static bool torture_pool_fill(struct torture_hard_retirer *hr, u32 *seq,
			      unsigned long *added)
{
	while (atomic_read(&hr->pooled) < hardirq_pool) {
		struct torture_obj *obj;

		obj = torture_obj_new(++*seq, GFP_KERNEL);
		if (!obj)
			return false;
		/* full barrier: the fields before the hrtimer sees it */
		llist_add(&obj->pool, &hr->pool);
		atomic_inc(&hr->pooled);
		(*added)++;
	}
	return true;
}

/*
 * Top up the hardirq retirers' pools of the CPUs this process retirer
 * serves (cpu % nwriters == its index): objects allocated beforehand, in
 * process context, for a context that must not allocate.
 */
static void torture_refill(struct torture_writer *w, u32 *seq)
{
	int cpu;

	for_each_online_cpu(cpu) {
		if (cpu % nwriters != w->idx)
			continue;
		if (!torture_pool_fill(&torture_cpus[cpu].hr, seq,
				       &w->refills)) {
			w->n.no_obj++;
			return;
		}
	}
}

/* The process-context retirer; also fills the hardirq retirers' pools. */
static int torture_writer_fn(void *arg)
{
	struct torture_writer *w = arg;
	u32 seq = 0;

	while (!kthread_should_stop()) {
		struct torture_obj *obj;

		torture_refill(w, &seq);
		obj = torture_obj_new(++seq, GFP_KERNEL);
		if (!obj) {
			w->n.no_obj++;
			cond_resched();
			continue;
		}
		torture_replace_count(&w->n, obj, TORTURE_SRC_PROCESS, false, 0);
		/* a reclaim scans every CPU: not on each retire */
		if (!(w->n.retired % 16))
			ttak_epoch_reclaim();
		if (sync_every && !(w->n.retired % sync_every)) {
			ttak_epoch_synchronize();
			w->syncs++;
		}
		cond_resched();
	}
	return 0;
}

/*
 * Inside a read section: find the object, replace it with cmpxchg(),
 * retire it there and keep reading it until the section ends. The new
 * object is allocated before the section, which must not sleep.
 */
static int torture_insection_fn(void *arg)
{
	struct torture_insection *is = arg;
	struct torture_obj *spare = NULL;
	u32 rnd = torture_seed();
	u32 seq = 0;

	while (!kthread_should_stop()) {
		u32 r = torture_rnd(&rnd);
		unsigned int hold = 0;

		cond_resched();
		if (!spare)
			spare = torture_obj_new(++seq, GFP_KERNEL);
		if (!spare) {
			is->n.no_obj++;
			continue;
		}
		if (insection_hold_us)
			hold = (r >> 8) % (insection_hold_us + 1);
		is->reads++;
		if (torture_replace_count(&is->n, spare,
					  TORTURE_SRC_IN_SECTION, true, hold))
			spare = NULL;
	}
	torture_obj_unused(spare);
	return 0;
}

/*
 * Rotate the arena env while its user begins, fills and retires
 * generations: the rotation hands the garbage to EBR under the user.
 */
static int torture_rotator_fn(void *arg)
{
	struct torture_arena *a = arg;

	while (!kthread_should_stop()) {
		ttak_arena_env_rotate(&a->env);
		a->rotations++;
		usleep_range(100, 200);
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
		/* the rotator hands it to EBR */
		ttak_arena_generation_retire(&a->env, &gen);
	}
	return 0;
}

/* @name=@v must lie in @lo..@hi; else a message naming it. */
static bool torture_in_range(const char *name, unsigned int v,
			     unsigned int lo, unsigned int hi)
{
	if (v >= lo && v <= hi)
		return true;
	pr_err("%s=%u out of range %u..%u (see modinfo ttak_torture.ko)\n",
	       name, v, lo, hi);
	return false;
}

#define TORTURE_RANGE(p, lo, hi) torture_in_range(#p, p, lo, hi)

static int torture_check_params(void)
{
	bool ok = TORTURE_RANGE(duration_s, 1, 600) &&
		  TORTURE_RANGE(nwriters, 1, TORTURE_MAX_THREADS) &&
		  TORTURE_RANGE(ninsection, 1, TORTURE_MAX_THREADS) &&
		  TORTURE_RANGE(nfinders, 1, TORTURE_MAX_THREADS) &&
		  TORTURE_RANGE(nslots, 1, 4096) &&
		  TORTURE_RANGE(reader_hold_us, 0, 1000) &&
		  TORTURE_RANGE(insection_hold_us, 0, 1000) &&
		  TORTURE_RANGE(softirq_hold_us, 0, 2000) &&
		  TORTURE_RANGE(softirq_long_hold_us, 0, 20000) &&
		  TORTURE_RANGE(softirq_period_us, 100, 100000) &&
		  TORTURE_RANGE(hardirq_hold_us, 0, 100) &&
		  TORTURE_RANGE(timer_period_ms, 1, 1000) &&
		  TORTURE_RANGE(hardirq_retire_period_us, 100, 100000) &&
		  TORTURE_RANGE(hardirq_pool, 1, 4096);

	/* 0 turns the hardirq readers off */
	if (ok && hardirq_period_us)
		ok = TORTURE_RANGE(hardirq_period_us, 100, 100000);
	return ok ? 0 : -EINVAL;
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
		torture_writers[i].idx = i;
		err = torture_start(&torture_writers[i].task, torture_writer_fn,
				    &torture_writers[i], "ttak_tort_wr", i);
		if (err)
			return err;
	}
	for (i = 0; i < ninsection; i++) {
		err = torture_start(&torture_insections[i].task,
				    torture_insection_fn, &torture_insections[i],
				    "ttak_tort_insec", i);
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
	err = torture_start(&torture_arena_state.task, torture_arena_fn,
			    &torture_arena_state, "ttak_tort_arena", 0);
	if (err)
		return err;
	return torture_start(&torture_arena_state.rotator, torture_rotator_fn,
			     &torture_arena_state, "ttak_tort_rot", 0);
}

static void torture_wake(struct task_struct *t)
{
	if (t)
		wake_up_process(t);
}

static void torture_wake_all(void)
{
	unsigned int i;
	int cpu;

	for_each_possible_cpu(cpu)
		torture_wake(torture_cpus[cpu].task);
	for (i = 0; i < TORTURE_MAX_THREADS; i++) {
		torture_wake(torture_writers[i].task);
		torture_wake(torture_insections[i].task);
		torture_wake(torture_finders[i].task);
	}
	torture_wake(torture_cleaner_state.task);
	torture_wake(torture_arena_state.task);
	torture_wake(torture_arena_state.rotator);
}

static void torture_stop(struct task_struct **t)
{
	if (*t) {
		kthread_stop(*t);
		*t = NULL;
	}
}

/*
 * A timer_list that re-arms itself. timer_shutdown_sync() would refuse
 * any later mod_timer(), but upstream 6.1 lacks it (and a version test is
 * not kernel style): del_timer_sync() suffices because torture_stopping
 * is set first. A callback that read it unset re-arms once more, and
 * del_timer_sync() retries until neither a callback runs nor the timer
 * is queued; any later callback sees the flag and does not re-arm.
 */
static void torture_timer_stop(struct timer_list *t)
{
	del_timer_sync(t);
}

/*
 * Stop every thread and timer; safe after a partial start. Afterwards no
 * code of this module runs but the retire cleanups, which
 * torture_flush() waits for.
 */
static void torture_stop_all(void)
{
	unsigned int i;
	int cpu;

	WRITE_ONCE(torture_stopping, true);
	/* the readers arm their CPU's timers: stop them first */
	for_each_possible_cpu(cpu)
		torture_stop(&torture_cpus[cpu].task);
	/* no one left to arm a timer; the callbacks stop re-arming */
	for_each_possible_cpu(cpu) {
		struct torture_cpu *pc = &torture_cpus[cpu];

		hrtimer_cancel(&pc->soft.timer);
		hrtimer_cancel(&pc->hard.timer);
		hrtimer_cancel(&pc->hr.timer);
		torture_timer_stop(&pc->tr.timer);
	}
	for (i = 0; i < TORTURE_MAX_THREADS; i++) {
		torture_stop(&torture_writers[i].task);
		torture_stop(&torture_insections[i].task);
		torture_stop(&torture_finders[i].task);
	}
	torture_stop(&torture_cleaner_state.task);
	torture_stop(&torture_arena_state.task);
	torture_stop(&torture_arena_state.rotator);
}

static void torture_retire_add(struct torture_retire_counts *sum,
			       const struct torture_retire_counts *n)
{
	sum->retired += n->retired;
	sum->in_section += n->in_section;
	sum->raced += n->raced;
	sum->no_obj += n->no_obj;
	sum->wrong_ctx += n->wrong_ctx;
	sum->throttled += n->throttled;
}

struct torture_totals {
	unsigned long reads, bad_reads, insection_reads;
	struct torture_irq_counts soft, hard;
	/* by enum torture_src; FINAL unused */
	struct torture_retire_counts ret[TORTURE_SRC_NR];
	unsigned long syncs, refills;
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
	sum->throttled += n->throttled;
}

/* After torture_stop_all(): nothing writes the counts any more. */
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
		torture_retire_add(&t->ret[TORTURE_SRC_TIMER], &pc->tr.n);
		torture_retire_add(&t->ret[TORTURE_SRC_HARDIRQ], &pc->hr.n);
	}
	for (i = 0; i < TORTURE_MAX_THREADS; i++) {
		struct torture_writer *w = &torture_writers[i];
		struct torture_insection *is = &torture_insections[i];
		struct torture_finder *f = &torture_finders[i];

		torture_retire_add(&t->ret[TORTURE_SRC_PROCESS], &w->n);
		t->syncs += w->syncs;
		t->refills += w->refills;
		torture_retire_add(&t->ret[TORTURE_SRC_IN_SECTION], &is->n);
		t->insection_reads += is->reads;
		t->lookups += f->lookups;
		t->misses += f->misses;
		t->refused += f->refused;
		t->acquires += f->acquires;
		t->lost_refs += f->lost_refs;
		t->bad_blocks += f->bad_blocks;
	}
}

/*
 * Retire the last object, free what was never published, then one
 * ttak_epoch_synchronize() must have cleaned up everything retired. The
 * cleanups are this module's code: init must not return before every
 * one of them ran, so a scheme that is late is waited for (and judged).
 */
static void torture_flush(const struct torture_totals *t)
{
	struct torture_end *e = &torture_end_state;
	struct torture_obj *last = xchg(&torture_cur, NULL);
	long retired = 0, freed;
	int cpu, src;

	if (last) {
		torture_retire(last, TORTURE_SRC_FINAL);
		e->retired[TORTURE_SRC_FINAL] = 1;
	}
	for (src = 0; src < TORTURE_SRC_FINAL; src++)
		e->retired[src] = t->ret[src].retired;
	for (src = 0; src < TORTURE_SRC_NR; src++)
		retired += e->retired[src];
	/* the timers are stopped: their spares and pools are ours */
	for_each_possible_cpu(cpu) {
		struct torture_cpu *pc = &torture_cpus[cpu];
		struct torture_obj *obj, *next;

		torture_obj_unused(pc->tr.spare);
		pc->tr.spare = NULL;
		torture_obj_unused(pc->hr.spare);
		pc->hr.spare = NULL;
		llist_for_each_entry_safe(obj, next,
					  llist_del_all(&pc->hr.pool), pool)
			torture_obj_unused(obj);
		atomic_set(&pc->hr.pooled, 0);
	}

	ttak_epoch_synchronize();
	e->cleaned_at_sync = atomic_long_read(&torture_objs_freed);
	for (freed = e->cleaned_at_sync; freed < retired;
	     freed = atomic_long_read(&torture_objs_freed)) {
		if (!(++e->waits % 1000))
			pr_warn("still waiting for %ld retired objects\n",
				retired - freed);
		usleep_range(1000, 2000);
		ttak_epoch_synchronize();
	}
	e->pending = ttak_epoch_pending();
}

/* Print the counts and judge them; returns 0 for PASS. */
static int torture_verdict(const struct torture_totals *t, unsigned int cpus,
			   u64 run_ns, u64 stop_ns)
{
	const struct torture_retire_counts *rp = &t->ret[TORTURE_SRC_PROCESS];
	const struct torture_retire_counts *rt = &t->ret[TORTURE_SRC_TIMER];
	const struct torture_retire_counts *rh = &t->ret[TORTURE_SRC_HARDIRQ];
	const struct torture_retire_counts *ri = &t->ret[TORTURE_SRC_IN_SECTION];
	struct torture_arena *a = &torture_arena_state;
	struct torture_cleaner *c = &torture_cleaner_state;
	struct torture_end *e = &torture_end_state;
	long freed = atomic_long_read(&torture_objs_freed);
	long alloc = atomic_long_read(&torture_objs_alloc);
	long unused = atomic_long_read(&torture_objs_unused);
	long twice = atomic_long_read(&torture_objs_poisoned_bad);
	long not_task = atomic_long_read(&torture_cleaned_outside_task);
	long bad_retirees = atomic_long_read(&torture_bad_retiree);
	long retired = 0, mismatched = 0;
	unsigned long bad, wrong_ctx;
	int src;

	bad = t->bad_reads + t->soft.bad + t->hard.bad;
	wrong_ctx = t->soft.wrong_ctx + t->hard.wrong_ctx + rt->wrong_ctx +
		    rh->wrong_ctx;
	for (src = 0; src < TORTURE_SRC_NR; src++) {
		retired += e->retired[src];
		if (atomic_long_read(&torture_cleaned[src]) != e->retired[src])
			mismatched++;
	}

	pr_info("counts: cpus=%u duration_s=%u reads=%lu softirq_reads=%lu softirq_over_task=%lu softirq_in_enter=%lu hardirq_reads=%lu hardirq_over_task=%lu hardirq_in_enter=%lu insection_reads=%lu epoch_overtaken=%lu bad_reads=%lu (task %lu, softirq %lu, hardirq %lu)\n",
		cpus, duration_s, t->reads, t->soft.reads, t->soft.over_task,
		t->soft.in_enter, t->hard.reads, t->hard.over_task,
		t->hard.in_enter, t->insection_reads,
		t->soft.overtaken + t->hard.overtaken, bad, t->bad_reads,
		t->soft.bad, t->hard.bad);
	pr_info("counts: retired_process=%lu retired_timer=%lu retired_hardirq=%lu retired_in_section=%lu timer_in_section=%lu hardirq_in_section=%lu raced=%lu timer_alloc_failures=%lu hardirq_pool_empty=%lu process_alloc_failures=%lu refills=%lu syncs=%lu\n",
		rp->retired, rt->retired, rh->retired, ri->retired,
		rt->in_section, rh->in_section,
		rt->raced + rh->raced + ri->raced, rt->no_obj, rh->no_obj,
		rp->no_obj + ri->no_obj, t->refills, t->syncs);
	pr_info("counts: retired_total=%ld cleaned_at_sync=%ld cleaned=%ld double_cleanups=%ld cleanups_outside_task=%ld bad_retirees=%ld allocated=%ld unused=%ld sync_waits=%ld pending_after_sync=%zu gp_avg_us=%llu gp_max_us=%llu\n",
		retired, e->cleaned_at_sync, freed, twice, not_task,
		bad_retirees, alloc, unused, e->waits, e->pending,
		freed ? div_u64(atomic64_read(&torture_gp_total_ns),
				freed * NSEC_PER_USEC) : 0,
		div_u64(atomic64_read(&torture_gp_max_ns), NSEC_PER_USEC));
	pr_info("counts: lookups=%lu misses=%lu refused=%lu acquires=%lu lost_refs=%lu bad_blocks=%lu cleanups=%lu readds=%lu add_failures=%lu\n",
		t->lookups, t->misses, t->refused, t->acquires, t->lost_refs,
		t->bad_blocks, c->cleanups, c->readds, c->add_failures);
	pr_info("counts: mem_access softirq=%lu/%lu hardirq=%lu/%lu (live/gone) throttled_softirq_reader=%lu throttled_hardirq_reader=%lu throttled_timer=%lu throttled_hardirq_retirer=%lu\n",
		t->soft.accessed, t->soft.access_refused, t->hard.accessed,
		t->hard.access_refused, t->soft.throttled, t->hard.throttled,
		rt->throttled, rh->throttled);
	pr_info("counts: generations=%lu chunks=%lu rotations=%lu begin_failures=%lu bad_chunks=%lu run_ms=%llu stop_ms=%llu\n",
		a->generations, a->chunks, a->rotations, a->begin_failures,
		a->bad_chunks, div_u64(run_ns, NSEC_PER_MSEC),
		div_u64(stop_ns, NSEC_PER_MSEC));

	if (bad || bad_retirees || twice || t->lost_refs || t->bad_blocks ||
	    a->bad_chunks) {
		pr_err("FAIL (bad_reads=%lu bad_retirees=%ld double_cleanups=%ld lost_refs=%lu bad_blocks=%lu bad_chunks=%lu)\n",
		       bad, bad_retirees, twice, t->lost_refs, t->bad_blocks,
		       a->bad_chunks);
		return -EINVAL;
	}
	if (wrong_ctx || not_task) {
		pr_err("FAIL (outside their context: reader timers %lu, retirer timers %lu, cleanups %ld)\n",
		       t->soft.wrong_ctx + t->hard.wrong_ctx,
		       rt->wrong_ctx + rh->wrong_ctx, not_task);
		return -EINVAL;
	}
	if (e->cleaned_at_sync != retired || mismatched ||
	    alloc != freed + unused) {
		pr_err("FAIL (retire accounting: retired %ld, cleaned %ld when ttak_epoch_synchronize() returned and %ld in the end, %ld sources with retired != cleaned, allocated %ld vs cleaned + unused %ld)\n",
		       retired, e->cleaned_at_sync, freed, mismatched, alloc,
		       freed + unused);
		return -EINVAL;
	}
	if (!t->reads || !t->soft.reads || !rp->retired || !rt->retired ||
	    !rh->retired || !ri->retired || !t->acquires || !a->rotations ||
	    !a->generations || !(t->soft.accessed + t->soft.access_refused) ||
	    (t->hard.reads && !(t->hard.accessed + t->hard.access_refused))) {
		pr_err("FAIL (some part did no work: reads=%lu softirq_reads=%lu retired_process=%lu retired_timer=%lu retired_hardirq=%lu retired_in_section=%lu acquires=%lu generations=%lu rotations=%lu)\n",
		       t->reads, t->soft.reads, rp->retired, rt->retired,
		       rh->retired, ri->retired, t->acquires, a->generations,
		       a->rotations);
		return -EINVAL;
	}
	pr_info("PASS\n");
	return 0;
}

static int torture_setup(void)
{
	unsigned long added = 0;
	unsigned int i;
	u32 seq = 0;
	int cpu;

	torture_timer_jiffies = max(msecs_to_jiffies(timer_period_ms), 1UL);
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
		hrtimer_init(&pc->hr.timer, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_PINNED_HARD);
		pc->hr.timer.function = torture_hard_retire_fn;
		timer_setup(&pc->tr.timer, torture_timer_fn, TIMER_PINNED);
		init_llist_head(&pc->hr.pool);
		pc->soft.rnd = torture_seed();
		pc->hard.rnd = torture_seed();
		pc->hr.rnd = torture_seed();
	}
	/* the hardirq retirers start with full pools */
	for_each_online_cpu(cpu)
		if (!torture_pool_fill(&torture_cpus[cpu].hr, &seq, &added))
			return -ENOMEM;

	torture_slots = kcalloc(nslots, sizeof(*torture_slots), GFP_KERNEL);
	if (!torture_slots)
		return -ENOMEM;
	torture_cur = torture_obj_new(0, GFP_KERNEL);
	if (!torture_cur)
		return -ENOMEM;

	ttak_mem_tree_init(&torture_tree);
	torture_tree_ok = true;
	/* an empty slot (failed allocation) is the cleaner's to fill */
	for (i = 0; i < nslots; i++)
		if (!torture_slot_fill(i))
			torture_cleaner_state.add_failures++;

	if (!ttak_arena_env_init(&torture_arena_state.env, NULL))
		return -EINVAL;
	torture_arena_state.env_ok = true;
	return 0;
}

/* After torture_stop_all(); safe after a partial setup. */
static void torture_teardown(struct torture_totals *t)
{
	if (torture_arena_state.env_ok) {
		ttak_arena_env_destroy(&torture_arena_state.env);
		torture_arena_state.env_ok = false;
	}
	if (torture_tree_ok) {
		ttak_mem_tree_destroy(&torture_tree);
		torture_tree_ok = false;
	}
	if (torture_cpus) {
		torture_sum(t);
		torture_flush(t);
	}
	kfree(torture_slots);
	torture_slots = NULL;
}

static int __init torture_init(void)
{
	unsigned int cpus = num_online_cpus();
	struct torture_totals *t;
	u64 t0, t1, t2;
	int err;

	err = torture_check_params();
	if (err)
		return err;
	if (cpus < 2) {
		pr_err("needs at least two online CPUs\n");
		return -ENODEV;
	}
	pr_info("start: %u s on %u CPUs, retirers: %u process, %u in-section, a timer every %u ms and a hardirq hrtimer every ~%u us per CPU; %u finders over %u blocks, softirq sections %u us (%u us over a task section) every ~%u us, hardirq sections %u us every ~%u us\n",
		duration_s, cpus, nwriters, ninsection, timer_period_ms,
		hardirq_retire_period_us, nfinders, nslots, softirq_hold_us,
		softirq_long_hold_us, softirq_period_us, hardirq_hold_us,
		hardirq_period_us);

	/* too big for the stack with TORTURE_SRC_NR counters */
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	err = torture_setup();
	if (!err)
		err = torture_create_threads();
	t0 = ktime_get_ns();
	if (!err) {
		u64 end = t0 + (u64)duration_s * NSEC_PER_SEC, now;

		torture_wake_all();
		/*
		 * At most a second at a time, so insmod is no hung task; an
		 * hrtimer wakes us, not the timer softirq the torture loads.
		 */
		while ((now = ktime_get_ns()) < end) {
			unsigned long us = min_t(u64, USEC_PER_SEC,
						 div_u64(end - now, NSEC_PER_USEC) + 1);

			usleep_range(us, us + USEC_PER_MSEC);
		}
	}
	t1 = ktime_get_ns();
	if (torture_cpus)
		torture_stop_all();
	t2 = ktime_get_ns();
	torture_teardown(t);
	if (!err)
		err = torture_verdict(t, cpus, t1 - t0, t2 - t1);
	else
		pr_err("FAIL (setup error %d)\n", err);
	kfree(torture_cpus);
	torture_cpus = NULL;
	kfree(t);
	return err;
}

static void __exit torture_exit(void)
{
}

module_init(torture_init);
module_exit(torture_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak test: torture the epoch readers and retirers of every context, the mem tree and the arena");
