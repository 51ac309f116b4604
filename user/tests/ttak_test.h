/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ttak_test.h - the user-space test framework of ttak.
 *
 * A test program is a set of TEST() bodies linked with ttak_test.c, which
 * provides main(). Each test runs in a forked child (set TTAK_TEST_NOFORK=1
 * to run them in-process, e.g. under a debugger), so one crash, hang or
 * leak fails one test and the rest still run.
 *
 *	TEST(mem_alloc_zeroes)
 *	{
 *		char *p = ttak_mem_alloc(64, 10, 0);
 *
 *		ASSERT_NOT_NULL(p);
 *		ASSERT_EQ(p[0], 0);
 *		ttak_mem_free(p);
 *	}
 *
 * ASSERT_*() report "file:line: ..." and return from the calling function
 * on failure, so they belong in test bodies and helpers returning void.
 * CHECK_*() report the same way, keep going, and evaluate to true when the
 * check held; they are the ones to use in helper threads.
 *
 * The program prints one line per test and, last, exactly
 * "N passed, N failed"; its exit status is non-zero when a test failed.
 * Arguments select tests whose name contains one of them; -l lists.
 *
 * Environment: TTAK_TEST_TIMEOUT (seconds per test, default 120),
 * TTAK_TEST_NOFORK, TTAK_STRESS_MS (see tt_env_ms()).
 */
#ifndef TTAK_TEST_H
#define TTAK_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct tt_test {
	const char *name;
	void (*fn)(void);
	const char *file;
	int line;
	struct tt_test *next;
};

void tt_register(struct tt_test *t);

#define TEST(name)							\
	static void tt_fn_##name(void);					\
	static struct tt_test tt_test_##name = {			\
		#name, tt_fn_##name, __FILE__, __LINE__, NULL		\
	};								\
	__attribute__((constructor))					\
	static void tt_register_##name(void)				\
	{								\
		tt_register(&tt_test_##name);				\
	}								\
	static void tt_fn_##name(void)

/* Failure reporting: counts the failure and prints where it happened. */
void tt_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Failures of the running test so far (all threads). */
unsigned long tt_failures(void);

static inline bool tt_check(bool ok, const char *file, int line,
			    const char *expr)
{
	if (!ok)
		tt_fail(file, line, "%s failed", expr);
	return ok;
}

enum tt_op { TT_EQ, TT_NE, TT_LT, TT_LE, TT_GT, TT_GE };

/* Each operand is evaluated once, as a function argument. */
bool tt_check_cmp(uintmax_t va, uintmax_t vb, enum tt_op op,
		  const char *a, const char *b, const char *file, int line);
/* Pointers travel as integers: nothing is read through them. */
bool tt_check_ptr(uintptr_t va, uintptr_t vb, bool want_equal,
		  const char *a, const char *b, const char *file, int line);

static inline bool tt_check_errno(int want, int got, const char *file,
				  int line)
{
	if (want != got)
		tt_fail(file, line, "errno is %d (%s), expected %d (%s)", got,
			strerror(got), want, strerror(want));
	return want == got;
}

bool tt_check_contains(const char *hay, const char *needle, const char *file,
		       int line);

/*
 * Every user-facing macro stringifies its own operands: passed on to
 * another macro first, they would be macro-expanded before printing.
 */
#define TT_CHECK_S(c, s)	tt_check(!!(c), __FILE__, __LINE__, s)
#define TT_CMP_S(a, op, b, sa, sb)					\
	tt_check_cmp((uintmax_t)(a), (uintmax_t)(b), op, sa, sb,	\
		     __FILE__, __LINE__)
#define TT_PTR_S(a, b, eq, sa, sb)					\
	tt_check_ptr((uintptr_t)(const void *)(a),			\
		     (uintptr_t)(const void *)(b), eq, sa, sb,		\
		     __FILE__, __LINE__)

#define CHECK(c)		TT_CHECK_S(c, #c)
#define CHECK_EQ(a, b)		TT_CMP_S(a, TT_EQ, b, #a, #b)
#define CHECK_NE(a, b)		TT_CMP_S(a, TT_NE, b, #a, #b)
#define CHECK_LT(a, b)		TT_CMP_S(a, TT_LT, b, #a, #b)
#define CHECK_LE(a, b)		TT_CMP_S(a, TT_LE, b, #a, #b)
#define CHECK_GT(a, b)		TT_CMP_S(a, TT_GT, b, #a, #b)
#define CHECK_GE(a, b)		TT_CMP_S(a, TT_GE, b, #a, #b)
#define CHECK_PTR_EQ(a, b)	TT_PTR_S(a, b, true, #a, #b)
#define CHECK_PTR_NE(a, b)	TT_PTR_S(a, b, false, #a, #b)
#define CHECK_NULL(a)		TT_PTR_S(a, NULL, true, #a, "NULL")
#define CHECK_NOT_NULL(a)	TT_PTR_S(a, NULL, false, #a, "NULL")
#define CHECK_ERRNO(e)		tt_check_errno((e), errno, __FILE__, __LINE__)
#define CHECK_CONTAINS(hay, needle)					\
	tt_check_contains((hay), (needle), __FILE__, __LINE__)

#define TT_OR_RETURN(check)	do { if (!(check)) return; } while (0)
#define ASSERT(c)		TT_OR_RETURN(TT_CHECK_S(c, #c))
#define ASSERT_EQ(a, b)		TT_OR_RETURN(TT_CMP_S(a, TT_EQ, b, #a, #b))
#define ASSERT_NE(a, b)		TT_OR_RETURN(TT_CMP_S(a, TT_NE, b, #a, #b))
#define ASSERT_LT(a, b)		TT_OR_RETURN(TT_CMP_S(a, TT_LT, b, #a, #b))
#define ASSERT_LE(a, b)		TT_OR_RETURN(TT_CMP_S(a, TT_LE, b, #a, #b))
#define ASSERT_GT(a, b)		TT_OR_RETURN(TT_CMP_S(a, TT_GT, b, #a, #b))
#define ASSERT_GE(a, b)		TT_OR_RETURN(TT_CMP_S(a, TT_GE, b, #a, #b))
#define ASSERT_PTR_EQ(a, b)	TT_OR_RETURN(TT_PTR_S(a, b, true, #a, #b))
#define ASSERT_PTR_NE(a, b)	TT_OR_RETURN(TT_PTR_S(a, b, false, #a, #b))
#define ASSERT_NULL(a)		TT_OR_RETURN(TT_PTR_S(a, NULL, true, #a, "NULL"))
#define ASSERT_NOT_NULL(a)						\
	TT_OR_RETURN(TT_PTR_S(a, NULL, false, #a, "NULL"))
#define ASSERT_ERRNO(e)		TT_OR_RETURN(CHECK_ERRNO(e))
#define ASSERT_CONTAINS(h, n)	TT_OR_RETURN(CHECK_CONTAINS(h, n))

/*
 * Capture what the library writes to stderr: everything between
 * tt_capture_begin() and tt_capture_end() goes to a temporary file whose
 * contents tt_capture_end() returns (static buffer, NUL-terminated,
 * valid until the next capture).
 */
void tt_capture_begin(void);
const char *tt_capture_end(void);
/* Occurrences of @needle in @hay. */
size_t tt_count(const char *hay, const char *needle);

/* Milliseconds from env var @name, or @def when unset or malformed. */
unsigned long tt_env_ms(const char *name, unsigned long def);
/* Monotonic milliseconds, independent of the library's clock. */
uint64_t tt_now_ms(void);
void tt_sleep_ms(unsigned long ms);
/* Deterministic xorshift64*: the next number of the sequence in *@state. */
uint64_t tt_rng(uint64_t *state);
/*
 * Seed of a random test: TTAK_SEED if set, else from the clock; printed
 * with the line that re-runs it. Never 0.
 */
uint64_t tt_seed(void);
/* Blocks and bytes live in ttak's allocator right now. */
size_t tt_live_blocks(void);
size_t tt_live_bytes(void);

#endif /* TTAK_TEST_H */
