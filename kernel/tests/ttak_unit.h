/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ttak_unit.h - one unit-test harness for the two homes of the core.
 *
 * A suite written against this header builds as a kernel test module and
 * as a user-space test program, the way lib/test_xarray.c builds in the
 * kernel and in tools/testing/radix-tree:
 *
 *	TU_TEST(alloc_is_zeroed)
 *	{
 *		char *p = ttak_mem_alloc(64, 10, 0);
 *
 *		ASSERT_NOT_NULL(p);
 *		ASSERT_EQ(p[0], 0);
 *		ttak_mem_free(p);
 *	}
 *
 *	static const struct tu_case cases[] = {
 *		TU_CASE(alloc_is_zeroed),
 *	};
 *	static const struct tu_suite suite = {
 *		.cases = cases,
 *		.ncases = ARRAY_SIZE(cases),
 *	};
 *	TU_SUITE(suite, "what the suite covers");
 *
 * Checks: the ASSERT_*() and CHECK_*() of user/tests/ttak_test.h, with the
 * same meaning in both homes. CHECK reports, keeps going and evaluates to
 * true when the check held. ASSERT reports and ends the case: it returns
 * from the calling function in user space, where each case is a forked
 * child; in the kernel it ends the kthread the case runs in (as a KUnit
 * assertion does), so use it in case bodies, not in helpers that must
 * clean up after themselves.
 *
 * errno: CLEAR_ERRNO(), CHECK_ERRNO() and ASSERT_ERRNO() check it in user
 * space and are nothing in the kernel, which has no errno. TU_KERNEL is 1
 * in the kernel and 0 in user space, for the rare expectation that is
 * genuinely home-specific (say why next to it).
 *
 * Kernel: the module's init runs the cases one after the other, each in
 * a kthread of its own (process context), and prints KTAP to the kernel
 * log, every line prefixed "<module>: ": the plan, one "ok N - name" or
 * "not ok N - name" per case after the failed checks of the case as
 * "# file:line: ..." lines, and a totals line. init fails with -EINVAL
 * when a case failed, so insmod fails. The module uses ttak.ko's exported
 * API: ttak.ko must be loaded first.
 *
 * User space: the cases become tests of user/tests/ttak_test.c, in table
 * order, counted in its "N passed, N failed" line like every test program
 * of the user tier.
 *
 * Helpers: tu_live_blocks() / tu_live_bytes() (ttak blocks allocated
 * since the case began), tu_calloc() / tu_free() (fixture memory that is
 * not ttak's), tu_sleep_ms(), tu_rng() (xorshift64*, the sequence of the
 * user framework's tt_rng()), tu_quiet() (no stderr line for the errors a
 * case provokes; the kernel's are rate-limited), tu_yield() (a scheduling
 * point for long loops in the kernel), TU_READ_U32() (a public
 * ttak_atomic_u32_t member), TU_FAIL() (a failure with a message),
 * TU_ROUNDS(n) (the size of a bulk or randomized case: n, or n / 10 in a
 * kernel whose checkers make every allocation and lock cost a stack
 * trace, where a tenth covers the same paths in a bearable time).
 */
#ifndef TTAK_UNIT_H
#define TTAK_UNIT_H

#ifdef __KERNEL__
#ifndef pr_fmt
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#endif

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <ttak/mem/epoch.h>
#include "core/ttak_core.h"	/* ttak_mem_core_usage() */
#else
#include <stdlib.h>

#include "ttak_platform.h"	/* u64, u32 */
#include "ttak_test.h"
#endif

struct tu_case {
	const char *name;
	void (*fn)(void);
};

struct tu_suite {
	const struct tu_case *cases;
	size_t ncases;
};

#define TU_TEST(name)	static void tu_fn_##name(void)
#define TU_CASE(name)	{ #name, tu_fn_##name }

#ifdef __KERNEL__

#define TU_KERNEL	1

/* KASAN, kmemleak and lockdep save a stack trace per allocation or lock */
#define TU_ROUNDS_DIV							\
	(IS_ENABLED(CONFIG_KASAN) || IS_ENABLED(CONFIG_DEBUG_KMEMLEAK) ||	\
	 IS_ENABLED(CONFIG_PROVE_LOCKING) ? 10 : 1)
#define TU_ROUNDS(n)		((n) / TU_ROUNDS_DIV)

#ifndef UINT64_MAX
#define UINT64_MAX	U64_MAX
#endif

enum tu_op { TU_EQ, TU_NE, TU_LT, TU_LE, TU_GT, TU_GE };

/*
 * The running case, its failed checks and ttak's usage when it began.
 * Written by the runner before the case's kthread starts and read after
 * tu_done: the kthread and the completion order the accesses.
 */
static const struct tu_case *tu_current;
static unsigned int tu_failures;
static size_t tu_base_blocks, tu_base_bytes;
static struct completion tu_done;

static inline __printf(3, 4) void tu_fail(const char *file, int line,
					  const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("# %s:%d: %pV\n", kbasename(file), line, &vaf);
	va_end(args);
	tu_failures++;
}

/* An ASSERT failed: the case ends here, its kthread with it. */
static inline void __noreturn tu_abort(void)
{
	kthread_complete_and_exit(&tu_done, 0);
}

static inline bool tu_check(bool ok, const char *file, int line,
			    const char *expr)
{
	if (!ok)
		tu_fail(file, line, "%s failed", expr);
	return ok;
}

static inline bool tu_check_cmp(u64 va, u64 vb, enum tu_op op,
				const char *a, const char *b, const char *file,
				int line)
{
	static const char *const names[] = {
		"==", "!=", "<", "<=", ">", ">="
	};
	bool ok;

	switch (op) {
	case TU_EQ:
		ok = va == vb;
		break;
	case TU_NE:
		ok = va != vb;
		break;
	case TU_LT:
		ok = va < vb;
		break;
	case TU_LE:
		ok = va <= vb;
		break;
	case TU_GT:
		ok = va > vb;
		break;
	default:
		ok = va >= vb;
		break;
	}
	if (!ok)
		tu_fail(file, line, "%s %s %s failed: %llu (0x%llx) vs %llu (0x%llx)",
			a, names[op], b, va, va, vb, vb);
	return ok;
}

/* Pointers travel as integers: nothing is read through them. */
static inline bool tu_check_ptr(unsigned long va, unsigned long vb,
				bool want_equal, const char *a, const char *b,
				const char *file, int line)
{
	bool ok = (va == vb) == want_equal;

	if (!ok)
		tu_fail(file, line, "%s %s %s failed: %p vs %p", a,
			want_equal ? "==" : "!=", b, (void *)va, (void *)vb);
	return ok;
}

#define TU_CHECK_S(c, s)	tu_check(!!(c), __FILE__, __LINE__, s)
#define TU_CMP_S(a, op, b, sa, sb)					\
	tu_check_cmp((u64)(a), (u64)(b), op, sa, sb, __FILE__, __LINE__)
#define TU_PTR_S(a, b, eq, sa, sb)					\
	tu_check_ptr((unsigned long)(const void *)(a),			\
		     (unsigned long)(const void *)(b), eq, sa, sb,	\
		     __FILE__, __LINE__)

#define CHECK(c)		TU_CHECK_S(c, #c)
#define CHECK_EQ(a, b)		TU_CMP_S(a, TU_EQ, b, #a, #b)
#define CHECK_NE(a, b)		TU_CMP_S(a, TU_NE, b, #a, #b)
#define CHECK_LT(a, b)		TU_CMP_S(a, TU_LT, b, #a, #b)
#define CHECK_LE(a, b)		TU_CMP_S(a, TU_LE, b, #a, #b)
#define CHECK_GT(a, b)		TU_CMP_S(a, TU_GT, b, #a, #b)
#define CHECK_GE(a, b)		TU_CMP_S(a, TU_GE, b, #a, #b)
#define CHECK_PTR_EQ(a, b)	TU_PTR_S(a, b, true, #a, #b)
#define CHECK_PTR_NE(a, b)	TU_PTR_S(a, b, false, #a, #b)
#define CHECK_NULL(a)		TU_PTR_S(a, NULL, true, #a, "NULL")
#define CHECK_NOT_NULL(a)	TU_PTR_S(a, NULL, false, #a, "NULL")

#define TU_OR_ABORT(check)	do { if (!(check)) tu_abort(); } while (0)
#define ASSERT(c)		TU_OR_ABORT(TU_CHECK_S(c, #c))
#define ASSERT_EQ(a, b)		TU_OR_ABORT(TU_CMP_S(a, TU_EQ, b, #a, #b))
#define ASSERT_NE(a, b)		TU_OR_ABORT(TU_CMP_S(a, TU_NE, b, #a, #b))
#define ASSERT_LT(a, b)		TU_OR_ABORT(TU_CMP_S(a, TU_LT, b, #a, #b))
#define ASSERT_LE(a, b)		TU_OR_ABORT(TU_CMP_S(a, TU_LE, b, #a, #b))
#define ASSERT_GT(a, b)		TU_OR_ABORT(TU_CMP_S(a, TU_GT, b, #a, #b))
#define ASSERT_GE(a, b)		TU_OR_ABORT(TU_CMP_S(a, TU_GE, b, #a, #b))
#define ASSERT_PTR_EQ(a, b)	TU_OR_ABORT(TU_PTR_S(a, b, true, #a, #b))
#define ASSERT_PTR_NE(a, b)	TU_OR_ABORT(TU_PTR_S(a, b, false, #a, #b))
#define ASSERT_NULL(a)		TU_OR_ABORT(TU_PTR_S(a, NULL, true, #a, "NULL"))
#define ASSERT_NOT_NULL(a)						\
	TU_OR_ABORT(TU_PTR_S(a, NULL, false, #a, "NULL"))

/* The kernel has no errno: the public calls drop the reason. */
#define CLEAR_ERRNO()		do { } while (0)
#define CHECK_ERRNO(e)		((void)(e))
#define ASSERT_ERRNO(e)		((void)(e))

#define TU_FAIL(fmt, ...)	tu_fail(__FILE__, __LINE__, fmt, ##__VA_ARGS__)

#define TU_READ_U32(p)		((u32)atomic_read(p))

/*
 * In the kernel a rotation or cleanup frees what it flushed once an RCU
 * grace period has passed; user space frees at once. So a kernel case
 * waits for one before it counts what was freed, unless it is inside a
 * section (or atomic), where it may not wait and what its section holds
 * must still count as pending.
 */
static inline void tu_after_grace_period(void)
{
	if (preemptible())
		ttak_epoch_synchronize();
}

static inline size_t tu_live_blocks(void)
{
	size_t blocks, bytes;

	tu_after_grace_period();
	ttak_mem_core_usage(&blocks, &bytes);
	return blocks - tu_base_blocks;
}

static inline size_t tu_live_bytes(void)
{
	size_t blocks, bytes;

	tu_after_grace_period();
	ttak_mem_core_usage(&blocks, &bytes);
	return bytes - tu_base_bytes;
}

static inline void *tu_calloc(size_t n, size_t size)
{
	return kvcalloc(n, size, GFP_KERNEL);
}

static inline void tu_free(void *p)
{
	kvfree(p);
}

static inline void tu_sleep_ms(unsigned long ms)
{
	msleep(ms);
}

static inline u64 tu_rng(u64 *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

static inline void tu_quiet(void)
{
}

static inline void tu_yield(void)
{
	cond_resched();
}

static inline int tu_case_thread(void *unused)
{
	tu_current->fn();
	kthread_complete_and_exit(&tu_done, 0);
}

/* Cases slower than this get a diagnostic line with their time. */
#define TU_SLOW_MS	1000

/* Run one case in a kthread of its own; true when it passed. */
static inline bool tu_run_case(const struct tu_case *c, size_t nr)
{
	struct task_struct *task;
	u64 start, ms;

	tu_current = c;
	tu_failures = 0;
	/* what earlier cases flushed is freed before this one counts */
	tu_after_grace_period();
	ttak_mem_core_usage(&tu_base_blocks, &tu_base_bytes);
	init_completion(&tu_done);
	start = ktime_get_ns();
	task = kthread_run(tu_case_thread, NULL, "ttak_unit/%zu", nr);
	if (IS_ERR(task)) {
		tu_fail(__FILE__, __LINE__, "kthread_run: %ld",
			PTR_ERR(task));
	} else {
		/* short waits: a long case is no hung insmod */
		while (!wait_for_completion_timeout(&tu_done, 30 * HZ))
			pr_info("# %s: still running\n", c->name);
	}
	ms = div_u64(ktime_get_ns() - start, NSEC_PER_MSEC);
	if (ms >= TU_SLOW_MS)
		pr_info("# %s: %llu ms\n", c->name, ms);
	return !tu_failures;
}

static inline int tu_run(const struct tu_suite *suite)
{
	size_t i, failed = 0;
	bool ok;

	pr_info("KTAP version 1\n");
	pr_info("1..%zu\n", suite->ncases);
	for (i = 0; i < suite->ncases; i++) {
		ok = tu_run_case(&suite->cases[i], i + 1);
		if (!ok)
			failed++;
		pr_info("%sok %zu - %s\n", ok ? "" : "not ", i + 1,
			suite->cases[i].name);
	}
	pr_info("# Totals: pass:%zu fail:%zu\n", suite->ncases - failed,
		failed);
	return failed ? -EINVAL : 0;
}

#define TU_SUITE(suite, description)					\
	static int __init suite##_init(void)				\
	{								\
		return tu_run(&(suite));				\
	}								\
	static void __exit suite##_exit(void)				\
	{								\
	}								\
	module_init(suite##_init);					\
	module_exit(suite##_exit);					\
	MODULE_LICENSE("Dual MIT/GPL");					\
	MODULE_DESCRIPTION(description)

#else /* user space */

#define TU_KERNEL	0

#define TU_ROUNDS(n)		(n)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#define CLEAR_ERRNO()		(errno = 0)
#define TU_FAIL(...)		tt_fail(__FILE__, __LINE__, __VA_ARGS__)
#define TU_READ_U32(p)		atomic_load(p)

/* A rotation or cleanup frees at once here: nothing to wait for. */
static inline void tu_after_grace_period(void)
{
}

/* Each case runs in a fresh child: everything live is the case's. */
static inline size_t tu_live_blocks(void)
{
	return tt_live_blocks();
}

static inline size_t tu_live_bytes(void)
{
	return tt_live_bytes();
}

static inline void *tu_calloc(size_t n, size_t size)
{
	return calloc(n, size);
}

static inline void tu_free(void *p)
{
	free(p);
}

static inline void tu_sleep_ms(unsigned long ms)
{
	tt_sleep_ms(ms);
}

static inline u64 tu_rng(u64 *state)
{
	return tt_rng(state);
}

static inline void tu_quiet(void)
{
	setenv("TTAK_QUIET", "1", 1);
}

static inline void tu_yield(void)
{
}

/*
 * Hand the cases to the framework, which sorts by (file, line): the
 * table index as the line keeps table order. The entries stay reachable
 * from the framework's list, so LeakSanitizer counts no leak.
 */
static inline void tu_register_suite(const struct tu_suite *suite,
				     const char *description)
{
	struct tt_test *t = calloc(suite->ncases, sizeof(*t));
	size_t i;

	(void)description;	/* the kernel module's; the framework has none */
	if (!t)
		abort();
	for (i = 0; i < suite->ncases; i++) {
		t[i].name = suite->cases[i].name;
		t[i].fn = suite->cases[i].fn;
		t[i].file = __FILE__;
		t[i].line = (int)i;
		tt_register(&t[i]);
	}
}

#define TU_SUITE(suite, description)					\
	__attribute__((constructor))					\
	static void suite##_register(void)				\
	{								\
		tu_register_suite(&(suite), description);		\
	}								\
	extern int tu_suite_unused_##suite

#endif /* __KERNEL__ */

#endif /* TTAK_UNIT_H */
