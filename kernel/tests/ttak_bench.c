// SPDX-License-Identifier: GPL-2.0
/*
 * ttak_bench.ko: the kernel side of the ttak benchmarks, each figure beside
 * a baseline built from the kernel's own tools, measured in the same run.
 *
 * Arena cycle: begin a 4096-byte generation with 128-byte chunks, carve all
 * 32 chunks (touching each), retire it and rotate until the mem tree no
 * longer finds it, through ttak.ko's exported API. Baselines: a cycle of
 * kmem_cache_alloc() from a 4096-byte cache, the same 32 touches, then
 *
 *   call_rcu        call_rcu(); the callback does kmem_cache_free(). The
 *                   free is deferred: callbacks that run on this CPU during
 *                   the round are charged to it, the backlog left at its
 *                   end is not. A lower bound.
 *   call_rcu+drain  the same rounds with the rcu_barrier() that drains the
 *                   backlog after each round added to the round's time: all
 *                   the callbacks, plus one wait for a grace period per
 *                   round, during which the CPU may idle. An upper bound.
 *   call_rcu+rcu_barrier
 *                   an rcu_barrier() every barrier_every cycles inside the
 *                   loop, so memory stays bounded (barrier_every x 4 KiB)
 *                   and every cost is paid in the round, including the
 *                   waits for grace periods.
 *   kmem_cache_free an immediate free, no grace period at all: the floor.
 *   zalloc+call_rcu as call_rcu, from kmem_cache_zalloc(): ttak's
 *                   generations are zeroed memory, so is this object.
 *
 * A rotation takes the flushed generation out of the tree at once and ttak
 * frees it after an RCU grace period, from its work item, as call_rcu()
 * would.
 *
 * Read section: ttak_epoch_enter() + one READ_ONCE() + ttak_epoch_exit()
 * against rcu_read_lock() + the same read + rcu_read_unlock(); the same
 * loop with no section at all is printed as context.
 *
 * Retire throughput: one kthread bound to each online CPU kmalloc()s
 * 64-byte objects and either ttak_epoch_retire()s each with a kfree()
 * cleanup or call_rcu()s its embedded rcu_head with a kfree() callback.
 * A round runs from the start signal until every object is freed: after
 * round_ms the threads stop and the round drains with
 * ttak_epoch_synchronize() or rcu_barrier(), so both pay for all their
 * frees. Objects per second over all CPUs are reported; the ratio is ttak
 * throughput / call_rcu throughput (>= 1.0: ttak is as fast). Every
 * millisecond or so the main thread samples ttak_epoch_pending() and the
 * objects retired and not yet freed (issued - freed; for call_rcu, the
 * callback backlog), whose peaks give the memory waiting. The variant
 * lines of the two give the wall time per object over all CPUs; the
 * same rounds up to the stop, without the drain, are printed as context
 * (retire_no_drain: frees left to the drain are not paid for).
 *
 * Every variant runs in rounds of round_ms milliseconds, interleaved (the
 * variants take turns, the first one rotating from round to round), and
 * the median round of each is reported. Loops run in batches with
 * cond_resched() between them. Output, one line each, in the kernel log
 * and in debugfs `results` (ratio is ttak / baseline of the figure
 * printed: of times for arena and read, <= 1.0 means ttak is as fast; of
 * throughputs for retire, where >= 1.0 does):
 *
 *   ttak_bench: config rounds=9 round_ms=100 barrier_every=4096 cpus=2 kernel=...
 *   ttak_bench: variant arena.ttak median=... ns min=... ns max=... ns ops=...
 *   ttak_bench: arena_cycle ttak=... ns baseline=... ns ratio=... baseline_is=...
 *   ttak_bench: read_section ttak=... ns baseline=... ns ratio=... baseline_is=...
 *   ttak_bench: arena_phases begin=... carve=... retire=... rotate=... ns
 *   ttak_bench: arena_rotations per_cycle=...
 *   ttak_bench: call_rcu backlog_peak=... drain_median_us=... valve=...
 *   ttak_bench: retire cpus=... ttak=... obj/s baseline=... obj/s ratio=... baseline_is=...
 *   ttak_bench: retire_no_drain cpus=... ttak=... obj/s baseline=... obj/s ratio=...
 *   ttak_bench: retire_memory cpus=... object_bytes=64
 *               ttak_pending_peak=... (... bytes) ttak_unfreed_peak=... (... bytes)
 *               call_rcu_backlog_peak=... (... bytes)           [one line]
 *   ttak_bench: retire_drain cpus=... ttak_synchronize_median_us=...
 *               rcu_barrier_median_us=... cut_ttak=... cut_call_rcu=...   [one line]
 *   ttak_bench: done status=0 elapsed_ms=...
 *
 * Under an emulator (QEMU TCG) only the ratios mean anything.
 *
 * Use: `insmod ttak_bench.ko` runs once at load (run_on_load=0 skips it);
 * insmod fails if that run fails. Root may run it again with
 * `echo ROUNDS > /sys/kernel/debug/ttak_bench/run` (1..63; the write
 * returns when the run is over, a fatal signal stops it) and read the last
 * run's lines from /sys/kernel/debug/ttak_bench/results. Not part of the
 * kselftest run: it takes seconds and judges nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <linux/wait_bit.h>

#include <ttak/mem/arena_helper.h>
#include <ttak/mem/epoch.h>
#include <ttak/mem_tree/mem_tree.h>

#define BENCH_GEN_BYTES		4096
#define BENCH_CHUNK_BYTES	128
#define BENCH_CHUNKS		(BENCH_GEN_BYTES / BENCH_CHUNK_BYTES)
#define BENCH_MAX_ROUNDS	63
#define BENCH_MAX_ROUND_MS	10000
#define BENCH_MAX_BARRIER	(1024U * 1024U)
/* cycles and read sections between two clock reads and a cond_resched() */
#define BENCH_CYCLE_BATCH	64
#define BENCH_READ_BATCH	16384
#define BENCH_WARMUP_CYCLES	2000
#define BENCH_PHASE_CYCLES	10000
/* a retired generation that survives this many rotations is a bug */
#define BENCH_MAX_ROTATIONS	64
/*
 * Safety valve of the call_rcu variant: past this many callbacks waiting
 * (128 MiB of 4 KiB objects) the loop waits with rcu_barrier(), and the
 * result says how often it had to.
 */
#define BENCH_BACKLOG_MAX	32768L
/* retire bench: objects between two looks at the stop flag */
#define BENCH_RETIRE_BATCH	64
/* the main thread samples the backlog this often, in microseconds */
#define BENCH_SAMPLE_US		1000
/*
 * Past this many objects waiting (64 MiB) the round is cut short, so a
 * scheme that does not bound its memory cannot take the guest down; the
 * result says how often.
 */
#define BENCH_RETIRE_MAX	(1024L * 1024L)

static unsigned int rounds = 9;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "rounds per variant, medians reported, 1..63 (default 9)");

static unsigned int round_ms = 100;
module_param(round_ms, uint, 0444);
MODULE_PARM_DESC(round_ms, "length of one round, 1..10000 ms (default 100)");

static unsigned int barrier_every = 4096;
module_param(barrier_every, uint, 0444);
MODULE_PARM_DESC(barrier_every, "cycles between rcu_barrier() calls in the bounded call_rcu baseline (default 4096)");

static bool run_on_load = true;
module_param(run_on_load, bool, 0444);
MODULE_PARM_DESC(run_on_load, "run the benchmark at insmod (default 1)");

enum bench_variant {
	BV_ARENA_TTAK,
	BV_ARENA_CALL_RCU,
	BV_ARENA_BARRIER,
	BV_ARENA_KFREE,
	BV_ARENA_ZERO,
	BV_READ_TTAK,
	BV_READ_RCU,
	BV_READ_NONE,
	BV_RETIRE_TTAK,
	BV_RETIRE_CALL_RCU,
	BV_RUN,		/* variants that run rounds; the rest are derived */
	BV_ARENA_CALL_RCU_DRAIN = BV_RUN,
	/* the retire rounds up to the stop, without the final drain */
	BV_RETIRE_TTAK_NO_DRAIN,
	BV_RETIRE_CALL_RCU_NO_DRAIN,
	BV_COUNT
};

static const char * const bench_variant_names[BV_COUNT] = {
	[BV_ARENA_TTAK]		= "arena.ttak",
	[BV_ARENA_CALL_RCU]	= "arena.kmem_cache+call_rcu",
	[BV_ARENA_BARRIER]	= "arena.kmem_cache+call_rcu+rcu_barrier",
	[BV_ARENA_KFREE]	= "arena.kmem_cache+kmem_cache_free",
	[BV_ARENA_ZERO]		= "arena.kmem_cache_zalloc+call_rcu",
	[BV_READ_TTAK]		= "read.ttak_epoch_enter_exit",
	[BV_READ_RCU]		= "read.rcu_read_lock_unlock",
	[BV_READ_NONE]		= "read.no_section",
	[BV_RETIRE_TTAK]	= "retire.ttak_epoch_retire+synchronize",
	[BV_RETIRE_CALL_RCU]	= "retire.call_rcu+rcu_barrier",
	[BV_ARENA_CALL_RCU_DRAIN] = "arena.kmem_cache+call_rcu+drain",
	[BV_RETIRE_TTAK_NO_DRAIN] = "retire.ttak_epoch_retire.no_drain",
	[BV_RETIRE_CALL_RCU_NO_DRAIN] = "retire.call_rcu.no_drain",
};

/**
 * struct bench_results - the figures of one run.
 * @status: 0, or the -errno that stopped the run.
 * @rounds: rounds per variant.
 * @round_ms: length of one round.
 * @barrier_every: cycles between barriers in BV_ARENA_BARRIER.
 * @elapsed_ms: wall time of the whole run.
 * @ps: per variant and round, picoseconds per operation.
 * @ops: per variant, operations over all rounds.
 * @median_ps: per variant, the median of @ps.
 * @phase_ps: ttak cycle phases (begin, carve, retire, rotate), each
 *	including one clock read.
 * @rotations: rotations over all timed ttak cycles.
 * @backlog_peak: most call_rcu callbacks seen waiting.
 * @valve: times the call_rcu variant had to wait for its backlog.
 * @drain_us: per round, the rcu_barrier() after a call_rcu round; with
 *	the round, it makes up BV_ARENA_CALL_RCU_DRAIN.
 * @drain_median_us: the median of @drain_us.
 * @retire_cpus: CPUs (one bound kthread each) of the retire rounds.
 * @retire_pending_peak: most ttak_epoch_pending() seen in ttak's rounds.
 * @retire_unfreed_peak: per retire variant (ttak, call_rcu), most objects
 *	seen retired and not yet freed; for call_rcu, the callback backlog.
 * @retire_cut: per retire variant, rounds cut short at BENCH_RETIRE_MAX.
 * @retire_drain_us: per retire variant and round, the final
 *	ttak_epoch_synchronize() or rcu_barrier().
 * @retire_drain_median_us: the medians of @retire_drain_us.
 */
struct bench_results {
	int status;
	unsigned int rounds;
	unsigned int round_ms;
	unsigned int barrier_every;
	u64 elapsed_ms;
	u64 ps[BV_COUNT][BENCH_MAX_ROUNDS];
	u64 ops[BV_COUNT];
	u64 median_ps[BV_COUNT];
	u64 phase_ps[4];
	u64 rotations;
	long backlog_peak;
	u64 valve;
	u64 drain_us[BENCH_MAX_ROUNDS];
	u64 drain_median_us;
	unsigned int retire_cpus;
	long retire_pending_peak;
	long retire_unfreed_peak[2];
	unsigned int retire_cut[2];
	u64 retire_drain_us[2][BENCH_MAX_ROUNDS];
	u64 retire_drain_median_us[2];
};

/* Serialises runs and guards bench_last and the state below. */
static DEFINE_MUTEX(bench_lock);
static struct bench_results bench_last;
static bool bench_have_results;
static struct bench_results bench_res;
static struct kmem_cache *bench_cache;
static ttak_arena_env_t bench_env;
static struct dentry *bench_dir;

/* call_rcu callbacks run so far; read by the loop to know its backlog */
static atomic_long_t bench_rcu_done;
/* what every section and cycle reads, so no loop can be optimised away */
static u64 bench_shared;
static u64 bench_sink;

static void bench_rcu_free(struct rcu_head *head)
{
	kmem_cache_free(bench_cache, head);
	atomic_long_inc(&bench_rcu_done);
}

/* The same 32 stores in every arena variant. */
static __always_inline void bench_touch(char *base, u64 i)
{
	int k;

	for (k = 0; k < BENCH_CHUNKS; k++)
		WRITE_ONCE(*(u64 *)(base + k * BENCH_CHUNK_BYTES), i + k);
}

/*
 * One ttak cycle; returns the rotations it took, or -errno. @t, if not
 * NULL, gets the clock at the end of each phase.
 */
static int bench_ttak_cycle(u64 i, u64 *t)
{
	ttak_arena_generation_t gen;
	ttak_mem_tree_t *tree;
	int k, rot = 0;
	void *base;

	if (!ttak_arena_generation_begin(&bench_env, &gen, (u32)i))
		return -ENOMEM;
	if (t)
		t[0] = ktime_get_ns();
	for (k = 0; k < BENCH_CHUNKS; k++) {
		char *c = ttak_arena_generation_claim(&bench_env, &gen, 0);

		if (!c)
			return -EFAULT;
		WRITE_ONCE(*(u64 *)c, i + k);
	}
	if (ttak_arena_generation_claim(&bench_env, &gen, 0))
		return -EFAULT;
	if (t)
		t[1] = ktime_get_ns();
	base = gen.base;
	if (!ttak_arena_generation_retire(&bench_env, &gen))
		return -EFAULT;
	if (t)
		t[2] = ktime_get_ns();
	tree = &bench_env.gc->tree;
	do {
		if (++rot > BENCH_MAX_ROTATIONS)
			return -ETIMEDOUT;
		ttak_arena_env_rotate(&bench_env);
	} while (ttak_mem_tree_find_node(tree, base));
	if (t)
		t[3] = ktime_get_ns();
	return rot;
}

static int bench_kmem_cycle(enum bench_variant v, u64 i)
{
	/* ttak's generations are zeroed: so is this baseline's object */
	gfp_t gfp = v == BV_ARENA_ZERO ? GFP_KERNEL | __GFP_ZERO : GFP_KERNEL;
	char *p = kmem_cache_alloc(bench_cache, gfp);

	if (!p)
		return -ENOMEM;
	bench_touch(p, i);
	bench_sink += READ_ONCE(*(u64 *)p);
	if (v == BV_ARENA_KFREE)
		kmem_cache_free(bench_cache, p);
	else
		call_rcu((struct rcu_head *)p, bench_rcu_free);
	return 0;
}

/* Wait for every call_rcu callback issued so far. */
static void bench_drain(void)
{
	rcu_barrier();
}

/* Run batches of one arena variant for about round_ms; ns/op in ps. */
static int bench_arena_round(enum bench_variant v, unsigned int r)
{
	struct bench_results *res = &bench_res;
	u64 start, now, end, n = 0;
	long issued = 0, base_done, backlog;
	int j, ret = 0;

	base_done = atomic_long_read(&bench_rcu_done);
	start = ktime_get_ns();
	end = start + (u64)res->round_ms * NSEC_PER_MSEC;
	do {
		for (j = 0; j < BENCH_CYCLE_BATCH; j++, n++) {
			if (v == BV_ARENA_TTAK) {
				ret = bench_ttak_cycle(n, NULL);
				if (ret < 0)
					return ret;
				res->rotations += ret;
				continue;
			}
			ret = bench_kmem_cycle(v, n);
			if (ret)
				return ret;
			if (v == BV_ARENA_KFREE)
				continue;
			issued++;
			if (v == BV_ARENA_BARRIER &&
			    (n + 1) % res->barrier_every == 0)
				bench_drain();
		}
		if (v == BV_ARENA_CALL_RCU) {
			backlog = issued - (atomic_long_read(&bench_rcu_done) -
					    base_done);
			if (backlog > res->backlog_peak)
				res->backlog_peak = backlog;
			if (backlog > BENCH_BACKLOG_MAX) {
				res->valve++;
				bench_drain();
			}
		}
		cond_resched();
		if (fatal_signal_pending(current))
			return -EINTR;
		now = ktime_get_ns();
	} while (now < end);
	res->ps[v][r] = div64_u64((now - start) * 1000, n);
	res->ops[v] += n;

	if (v == BV_ARENA_CALL_RCU) {
		bench_drain();
		end = ktime_get_ns();
		res->drain_us[r] = div_u64(end - now, NSEC_PER_USEC);
		/* the round with its backlog's grace period and callbacks */
		res->ps[BV_ARENA_CALL_RCU_DRAIN][r] =
			div64_u64((end - start) * 1000, n);
		res->ops[BV_ARENA_CALL_RCU_DRAIN] += n;
	} else if (v == BV_ARENA_BARRIER || v == BV_ARENA_ZERO) {
		/*
		 * barrier: fewer than barrier_every left over; zero: the
		 * backlog, untimed as call_rcu's is
		 */
		bench_drain();
	}
	return 0;
}

static noinline u64 bench_read_ttak(unsigned int n)
{
	u64 sum = 0;

	while (n--) {
		ttak_epoch_enter();
		sum += READ_ONCE(bench_shared);
		ttak_epoch_exit();
	}
	return sum;
}

static noinline u64 bench_read_rcu(unsigned int n)
{
	u64 sum = 0;

	while (n--) {
		rcu_read_lock();
		sum += READ_ONCE(bench_shared);
		rcu_read_unlock();
	}
	return sum;
}

static noinline u64 bench_read_none(unsigned int n)
{
	u64 sum = 0;

	while (n--) {
		sum += READ_ONCE(bench_shared);
		barrier();
	}
	return sum;
}

static int bench_read_round(enum bench_variant v, unsigned int r)
{
	struct bench_results *res = &bench_res;
	u64 start, now, end, n = 0, sum = 0;

	start = ktime_get_ns();
	end = start + (u64)res->round_ms * NSEC_PER_MSEC;
	do {
		switch (v) {
		case BV_READ_TTAK:
			sum += bench_read_ttak(BENCH_READ_BATCH);
			break;
		case BV_READ_RCU:
			sum += bench_read_rcu(BENCH_READ_BATCH);
			break;
		default:
			sum += bench_read_none(BENCH_READ_BATCH);
			break;
		}
		n += BENCH_READ_BATCH;
		cond_resched();
		if (fatal_signal_pending(current))
			return -EINTR;
		now = ktime_get_ns();
	} while (now < end);
	bench_sink += sum;
	res->ps[v][r] = div64_u64((now - start) * 1000, n);
	res->ops[v] += n;
	return 0;
}

/* The retire bench's object: 64 bytes, from kmalloc-64, in both variants. */
struct bench_obj {
	struct rcu_head rcu;	/* used by the call_rcu variant only */
	u64 payload[6];
};

/* Objects freed so far, per CPU: no shared line in the callbacks. */
static DEFINE_PER_CPU(unsigned long, bench_retire_freed);

static void bench_retire_kfree(void *p)
{
	kfree(p);
	this_cpu_inc(bench_retire_freed);
}

static void bench_retire_rcu_kfree(struct rcu_head *head)
{
	kfree(container_of(head, struct bench_obj, rcu));
	this_cpu_inc(bench_retire_freed);
}

static unsigned long bench_retire_freed_sum(void)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu(bench_retire_freed, cpu));
	return sum;
}

/* What one retire round shares with its kthreads (on the caller's stack). */
struct bench_retire_round {
	struct completion go;
	atomic_t ready;
	bool stop;
	enum bench_variant v;
};

/* One per CPU, each on its own cache lines: only its kthread writes it. */
struct bench_worker {
	struct bench_retire_round *round;
	struct task_struct *task;
	unsigned long issued;
	int ret;
} ____cacheline_aligned_in_smp;

static int bench_retire_thread(void *arg)
{
	struct bench_worker *w = arg;
	struct bench_retire_round *rr = w->round;
	struct bench_obj *obj;
	unsigned long n = 0;
	int j;

	atomic_inc(&rr->ready);
	wake_up_var(&rr->ready);
	wait_for_completion(&rr->go);
	while (!READ_ONCE(rr->stop)) {
		for (j = 0; j < BENCH_RETIRE_BATCH; j++, n++) {
			obj = kmalloc(sizeof(*obj), GFP_KERNEL);
			if (!obj) {
				w->ret = -ENOMEM;
				goto out;
			}
			WRITE_ONCE(obj->payload[0], n);
			if (rr->v == BV_RETIRE_TTAK)
				ttak_epoch_retire(obj, bench_retire_kfree);
			else
				call_rcu(&obj->rcu, bench_retire_rcu_kfree);
		}
		WRITE_ONCE(w->issued, n);
		cond_resched();
	}
out:
	WRITE_ONCE(w->issued, n);
	return 0;
}

/* Objects retired in this round and not yet freed. */
static long bench_retire_unfreed(const struct bench_worker *w,
				 unsigned int nw, unsigned long freed_base)
{
	unsigned long issued = 0;
	unsigned int i;

	for (i = 0; i < nw; i++)
		issued += READ_ONCE(w[i].issued);
	return (long)(issued - (bench_retire_freed_sum() - freed_base));
}

/* Stop and reap the kthreads; returns the objects they retired. */
static u64 bench_retire_reap(struct bench_retire_round *rr,
			     struct bench_worker *w, unsigned int nw, int *ret)
{
	u64 total = 0;
	unsigned int i;

	WRITE_ONCE(rr->stop, true);
	/* a kthread that never got past the start waits here, not for ever */
	complete_all(&rr->go);
	for (i = 0; i < nw; i++) {
		kthread_stop(w[i].task);
		put_task_struct(w[i].task);
		total += w[i].issued;
		if (w[i].ret && !*ret)
			*ret = w[i].ret;
	}
	return total;
}

/* Peaks of what waits, sampled while the kthreads retire. */
static void bench_retire_sample(enum bench_variant v,
				const struct bench_worker *w, unsigned int nw,
				unsigned long freed_base, long *unfreed)
{
	struct bench_results *res = &bench_res;
	int k = v - BV_RETIRE_TTAK;
	long pending;

	*unfreed = bench_retire_unfreed(w, nw, freed_base);
	if (*unfreed > res->retire_unfreed_peak[k])
		res->retire_unfreed_peak[k] = *unfreed;
	if (v != BV_RETIRE_TTAK)
		return;
	pending = (long)ttak_epoch_pending();
	if (pending > res->retire_pending_peak)
		res->retire_pending_peak = pending;
}

/*
 * One retire round over every online CPU: from the start signal until the
 * last object is freed; ns per object (all CPUs together) in ps.
 */
static int bench_retire_round(enum bench_variant v, unsigned int r)
{
	struct bench_results *res = &bench_res;
	struct bench_retire_round rr = { .v = v };
	int k = v - BV_RETIRE_TTAK, ret = 0;
	unsigned long freed_base;
	unsigned int nw = 0;
	struct bench_worker *w;
	u64 start, now, end, objects;
	long unfreed = 0;
	int cpu;

	init_completion(&rr.go);
	atomic_set(&rr.ready, 0);
	w = kcalloc(num_possible_cpus(), sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	for_each_online_cpu(cpu) {
		struct task_struct *t;

		w[nw].round = &rr;
		t = kthread_create(bench_retire_thread, &w[nw],
				   "ttak_bench/%d", cpu);
		if (IS_ERR(t)) {
			ret = PTR_ERR(t);
			break;
		}
		kthread_bind(t, cpu);
		get_task_struct(t);
		w[nw++].task = t;
		wake_up_process(t);
	}
	if (!ret && nw)
		wait_var_event(&rr.ready, atomic_read(&rr.ready) == nw);
	if (ret || !nw) {
		bench_retire_reap(&rr, w, nw, &ret);
		kfree(w);
		return ret ? ret : -ENODEV;
	}
	res->retire_cpus = nw;

	/* every object of earlier rounds was freed when they ended */
	freed_base = bench_retire_freed_sum();
	start = ktime_get_ns();
	complete_all(&rr.go);
	end = start + (u64)res->round_ms * NSEC_PER_MSEC;
	/*
	 * Sleep at least once: a host that stalls this vCPU past the end
	 * must not leave the kthreads no chance to run.
	 */
	do {
		usleep_range(BENCH_SAMPLE_US, 2 * BENCH_SAMPLE_US);
		bench_retire_sample(v, w, nw, freed_base, &unfreed);
		if (unfreed > BENCH_RETIRE_MAX) {
			res->retire_cut[k]++;
			break;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	} while (ktime_get_ns() < end);
	objects = bench_retire_reap(&rr, w, nw, &ret);
	/* the last retirees, before the drain */
	bench_retire_sample(v, w, nw, freed_base, &unfreed);
	now = ktime_get_ns();
	if (v == BV_RETIRE_TTAK)
		ttak_epoch_synchronize();
	else
		rcu_barrier();
	end = ktime_get_ns();
	unfreed = bench_retire_unfreed(w, nw, freed_base);
	kfree(w);
	if (ret)
		return ret;
	/* the drain's contract: nothing of this round is left unfreed */
	if (unfreed) {
		pr_err("retire round %s: %ld objects not freed after the drain\n",
		       bench_variant_names[v], unfreed);
		return -EFAULT;
	}
	res->retire_drain_us[k][r] = div_u64(end - now, NSEC_PER_USEC);
	/* per object over all CPUs; a round retires at least one batch */
	objects = max_t(u64, objects, 1);
	res->ops[v] += objects;
	res->ps[v][r] = div64_u64((end - start) * 1000, objects);
	/* context: what the frees left to the drain cost the round */
	res->ops[BV_RETIRE_TTAK_NO_DRAIN + k] += objects;
	res->ps[BV_RETIRE_TTAK_NO_DRAIN + k][r] =
		div64_u64((now - start) * 1000, objects);
	return 0;
}

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return (x > y) - (x < y);
}

static u64 bench_median(const u64 *v, unsigned int n)
{
	u64 tmp[BENCH_MAX_ROUNDS];

	memcpy(tmp, v, n * sizeof(*v));
	sort(tmp, n, sizeof(*tmp), bench_cmp_u64, NULL);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* Where a ttak cycle's time goes; every phase includes one clock read. */
static int bench_phases(void)
{
	u64 t[4], t0, sum[4] = { 0 };
	int i, k, ret;

	for (i = 0; i < BENCH_PHASE_CYCLES; i++) {
		t0 = ktime_get_ns();
		ret = bench_ttak_cycle(i, t);
		if (ret < 0)
			return ret;
		sum[0] += t[0] - t0;
		for (k = 1; k < 4; k++)
			sum[k] += t[k] - t[k - 1];
		if (i % BENCH_CYCLE_BATCH == 0) {
			cond_resched();
			if (fatal_signal_pending(current))
				return -EINTR;
		}
	}
	for (k = 0; k < 4; k++)
		bench_res.phase_ps[k] = div_u64(sum[k] * 1000,
						BENCH_PHASE_CYCLES);
	return 0;
}

static int bench_warm_up(void)
{
	int i, ret;

	for (i = 0; i < BENCH_WARMUP_CYCLES; i++) {
		ret = bench_ttak_cycle(i, NULL);
		if (ret < 0)
			return ret;
		ret = bench_kmem_cycle(BV_ARENA_KFREE, i);
		if (ret)
			return ret;
		if (i % BENCH_CYCLE_BATCH == 0)
			cond_resched();
	}
	return 0;
}

static int bench_run_rounds(void)
{
	unsigned int r, k;
	int ret;

	for (r = 0; r < bench_res.rounds; r++) {
		for (k = 0; k < BV_RUN; k++) {
			enum bench_variant v = (r + k) % BV_RUN;

			if (v <= BV_ARENA_ZERO)
				ret = bench_arena_round(v, r);
			else if (v >= BV_RETIRE_TTAK)
				ret = bench_retire_round(v, r);
			else
				ret = bench_read_round(v, r);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* One whole run into bench_res, then bench_last. Caller holds bench_lock. */
static int bench_run(unsigned int nrounds)
{
	struct bench_results *res = &bench_res;
	ttak_arena_env_config_t config;
	u64 start = ktime_get_ns();
	unsigned int v;
	int ret;

	memset(res, 0, sizeof(*res));
	res->rounds = nrounds;
	res->round_ms = round_ms;
	res->barrier_every = barrier_every;

	ttak_arena_env_config_init(&config);
	config.generation_bytes = BENCH_GEN_BYTES;
	config.chunk_bytes = BENCH_CHUNK_BYTES;
	if (!ttak_arena_env_init(&bench_env, &config)) {
		ret = -EINVAL;
		goto out;
	}
	ret = bench_warm_up();
	if (!ret)
		ret = bench_run_rounds();
	if (!ret)
		ret = bench_phases();
	ttak_arena_env_destroy(&bench_env);
	if (!ret) {
		for (v = 0; v < BV_COUNT; v++)
			res->median_ps[v] = bench_median(res->ps[v],
							 res->rounds);
		res->drain_median_us = bench_median(res->drain_us, res->rounds);
		for (v = 0; v < 2; v++)
			res->retire_drain_median_us[v] =
				bench_median(res->retire_drain_us[v],
					     res->rounds);
	}
out:
	/*
	 * nothing of ours may wait in RCU or in ttak's queue once the run is
	 * over: the callbacks are this module's code
	 */
	bench_drain();
	ttak_epoch_synchronize();
	res->status = ret;
	res->elapsed_ms = div_u64(ktime_get_ns() - start, NSEC_PER_MSEC);
	bench_last = *res;
	bench_have_results = true;
	return ret;
}

/* Print to @m, or to the kernel log when @m is NULL. */
static __printf(2, 3) void bench_out(struct seq_file *m, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	if (m) {
		seq_vprintf(m, fmt, args);
	} else {
		vaf.fmt = fmt;
		vaf.va = &args;
		pr_info("%pV", &vaf);
	}
	va_end(args);
}

/* A figure in ps as "ns.hh" (nanoseconds, two decimals). */
struct bench_ns {
	char s[24];
};

static struct bench_ns bench_ns(u64 ps)
{
	struct bench_ns out;

	snprintf(out.s, sizeof(out.s), "%llu.%02llu", div_u64(ps, 1000),
		 div_u64(ps % 1000, 10));
	return out;
}

/* x / y with three decimals, as "r.rrr". */
static struct bench_ns bench_ratio(u64 x, u64 y)
{
	struct bench_ns out;
	u64 milli = y ? div64_u64(x * 1000 + y / 2, y) : 0;

	snprintf(out.s, sizeof(out.s), "%llu.%03llu", div_u64(milli, 1000),
		 milli % 1000);
	return out;
}

static void bench_compare(struct seq_file *m, const struct bench_results *res,
			  const char *what, enum bench_variant ours,
			  enum bench_variant base, const char *base_name)
{
	u64 x = res->median_ps[ours], y = res->median_ps[base];

	bench_out(m, "%s ttak=%s ns baseline=%s ns ratio=%s baseline_is=%s\n",
		  what, bench_ns(x).s, bench_ns(y).s, bench_ratio(x, y).s,
		  base_name);
}

/* Objects per second from picoseconds per object. */
static u64 bench_per_s(u64 ps)
{
	return ps ? div64_u64(1000000000000ULL, ps) : 0;
}

static void bench_retire_report(struct seq_file *m,
				const struct bench_results *res)
{
	u64 t = res->median_ps[BV_RETIRE_TTAK];
	u64 b = res->median_ps[BV_RETIRE_CALL_RCU];
	u64 tn = res->median_ps[BV_RETIRE_TTAK_NO_DRAIN];
	u64 bn = res->median_ps[BV_RETIRE_CALL_RCU_NO_DRAIN];
	const long *up = res->retire_unfreed_peak;
	long obj = sizeof(struct bench_obj);

	/* throughput ratio: time per object of call_rcu over ttak's */
	bench_out(m,
		  "retire cpus=%u ttak=%llu obj/s baseline=%llu obj/s ratio=%s baseline_is=kmalloc64+call_rcu+kfree+rcu_barrier_at_end\n",
		  res->retire_cpus, bench_per_s(t), bench_per_s(b),
		  bench_ratio(b, t).s);
	bench_out(m,
		  "retire_no_drain cpus=%u ttak=%llu obj/s baseline=%llu obj/s ratio=%s baseline_is=kmalloc64+call_rcu+kfree\n",
		  res->retire_cpus, bench_per_s(tn), bench_per_s(bn),
		  bench_ratio(bn, tn).s);
	bench_out(m,
		  "retire_memory cpus=%u object_bytes=%ld ttak_pending_peak=%ld (%ld bytes) ttak_unfreed_peak=%ld (%ld bytes) call_rcu_backlog_peak=%ld (%ld bytes)\n",
		  res->retire_cpus, obj, res->retire_pending_peak,
		  res->retire_pending_peak * obj, up[0], up[0] * obj,
		  up[1], up[1] * obj);
	bench_out(m,
		  "retire_drain cpus=%u ttak_synchronize_median_us=%llu rcu_barrier_median_us=%llu cut_ttak=%u cut_call_rcu=%u\n",
		  res->retire_cpus, res->retire_drain_median_us[0],
		  res->retire_drain_median_us[1], res->retire_cut[0],
		  res->retire_cut[1]);
}

static void bench_report(struct seq_file *m, const struct bench_results *res)
{
	const u64 *ph = res->phase_ps;
	unsigned int v, r;
	u64 lo, hi;

	bench_out(m, "config rounds=%u round_ms=%u barrier_every=%u cpus=%u kernel=%s\n",
		  res->rounds, res->round_ms, res->barrier_every,
		  num_online_cpus(), init_utsname()->release);
	if (res->status) {
		bench_out(m, "done status=%d elapsed_ms=%llu\n", res->status,
			  res->elapsed_ms);
		return;
	}
	for (v = 0; v < BV_COUNT; v++) {
		lo = U64_MAX;
		hi = 0;
		for (r = 0; r < res->rounds; r++) {
			lo = min(lo, res->ps[v][r]);
			hi = max(hi, res->ps[v][r]);
		}
		bench_out(m, "variant %s median=%s ns min=%s ns max=%s ns ops=%llu\n",
			  bench_variant_names[v], bench_ns(res->median_ps[v]).s,
			  bench_ns(lo).s, bench_ns(hi).s, res->ops[v]);
	}
	bench_compare(m, res, "arena_cycle", BV_ARENA_TTAK, BV_ARENA_CALL_RCU,
		      "kmem_cache_alloc+touch+call_rcu");
	bench_compare(m, res, "arena_cycle", BV_ARENA_TTAK,
		      BV_ARENA_CALL_RCU_DRAIN,
		      "kmem_cache_alloc+touch+call_rcu+drain_after_round");
	bench_compare(m, res, "arena_cycle", BV_ARENA_TTAK, BV_ARENA_BARRIER,
		      "kmem_cache_alloc+touch+call_rcu+rcu_barrier_every_N");
	bench_compare(m, res, "arena_cycle", BV_ARENA_TTAK, BV_ARENA_KFREE,
		      "kmem_cache_alloc+touch+kmem_cache_free");
	bench_compare(m, res, "arena_cycle", BV_ARENA_TTAK, BV_ARENA_ZERO,
		      "kmem_cache_zalloc+touch+call_rcu");
	bench_compare(m, res, "read_section", BV_READ_TTAK, BV_READ_RCU,
		      "rcu_read_lock");
	bench_compare(m, res, "read_section", BV_READ_TTAK, BV_READ_NONE,
		      "no_section");
	bench_out(m, "arena_phases begin=%s carve=%s retire=%s rotate=%s ns\n",
		  bench_ns(ph[0]).s, bench_ns(ph[1]).s, bench_ns(ph[2]).s,
		  bench_ns(ph[3]).s);
	bench_out(m, "arena_rotations per_cycle=%s\n",
		  bench_ratio(res->rotations, res->ops[BV_ARENA_TTAK]).s);
	bench_out(m, "call_rcu backlog_peak=%ld drain_median_us=%llu valve=%llu\n",
		  res->backlog_peak, res->drain_median_us, res->valve);
	bench_retire_report(m, res);
	bench_out(m, "done status=0 elapsed_ms=%llu\n", res->elapsed_ms);
}

static int bench_results_show(struct seq_file *m, void *unused)
{
	int ret = mutex_lock_interruptible(&bench_lock);

	if (ret)
		return ret;
	if (bench_have_results)
		bench_report(m, &bench_last);
	else
		seq_puts(m, "no run yet\n");
	mutex_unlock(&bench_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bench_results);

static ssize_t bench_run_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	unsigned int n;
	int ret;

	ret = kstrtouint_from_user(buf, count, 10, &n);
	if (ret)
		return ret;
	if (!n || n > BENCH_MAX_ROUNDS)
		return -EINVAL;
	ret = mutex_lock_interruptible(&bench_lock);
	if (ret)
		return ret;
	ret = bench_run(n);
	bench_report(NULL, &bench_last);
	mutex_unlock(&bench_lock);
	return ret ? ret : count;
}

static const struct file_operations bench_run_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= bench_run_write,
	.llseek	= noop_llseek,
};

static int __init bench_init(void)
{
	int ret = 0;

	BUILD_BUG_ON(sizeof(struct bench_obj) != 64);
	if (!rounds || rounds > BENCH_MAX_ROUNDS) {
		pr_err("rounds=%u out of range (1..%u)\n", rounds,
		       BENCH_MAX_ROUNDS);
		return -EINVAL;
	}
	if (!round_ms || round_ms > BENCH_MAX_ROUND_MS) {
		pr_err("round_ms=%u out of range (1..%u)\n", round_ms,
		       BENCH_MAX_ROUND_MS);
		return -EINVAL;
	}
	if (!barrier_every || barrier_every > BENCH_MAX_BARRIER) {
		pr_err("barrier_every=%u out of range (1..%u)\n",
		       barrier_every, BENCH_MAX_BARRIER);
		return -EINVAL;
	}
	/* 4 KiB objects, cache-line aligned as a generation's chunks are */
	bench_cache = kmem_cache_create("ttak_bench_4k", BENCH_GEN_BYTES,
					TTAK_CACHE_LINE_SIZE, 0, NULL);
	if (!bench_cache)
		return -ENOMEM;

	if (run_on_load) {
		mutex_lock(&bench_lock);
		ret = bench_run(rounds);
		bench_report(NULL, &bench_last);
		mutex_unlock(&bench_lock);
		if (ret) {
			kmem_cache_destroy(bench_cache);
			return ret;
		}
	}
	bench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("run", 0200, bench_dir, NULL, &bench_run_fops);
	debugfs_create_file("results", 0400, bench_dir, NULL,
			    &bench_results_fops);
	return 0;
}

static void __exit bench_exit(void)
{
	/* waits for a run started through `run` to finish */
	debugfs_remove_recursive(bench_dir);
	rcu_barrier();
	kmem_cache_destroy(bench_cache);
}

module_init(bench_init);
module_exit(bench_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ttak benchmark: arena cycle, epoch read section and retire throughput against kmem_cache and RCU");
