// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Every convenience macro of <ttak/mem/mem.h> must expand to the _safe
 * call with the argument order and booleans of the API. The macros name
 * ttak_mem_alloc_safe & co. at their point of use, so redefining those
 * names below makes every expansion call a recorder that notes the
 * arguments and then calls the real function.
 */
#include "ttak_test.h"

#include <ttak/mem/mem.h>

struct call {
	int fn;			/* 1 alloc, 2 realloc, 3 dup */
	const void *ptr;
	size_t size;
	uint64_t lifetime;
	uint64_t now;
	bool is_const, is_volatile, allow_direct, is_root;
	ttak_mem_flags_t flags;
};

static struct call last;

static void *rec_alloc(size_t size, uint64_t lifetime, uint64_t now,
		       bool is_const, bool is_volatile, bool allow_direct,
		       bool is_root, ttak_mem_flags_t flags)
{
	last = (struct call){ 1, NULL, size, lifetime, now, is_const,
			      is_volatile, allow_direct, is_root, flags };
	return ttak_mem_alloc_safe(size, lifetime, now, is_const, is_volatile,
				   allow_direct, is_root, flags);
}

static void *rec_realloc(void *ptr, size_t size, uint64_t lifetime,
			 uint64_t now, bool is_root, ttak_mem_flags_t flags)
{
	last = (struct call){ 2, ptr, size, lifetime, now, false, false, false,
			      is_root, flags };
	return ttak_mem_realloc_safe(ptr, size, lifetime, now, is_root, flags);
}

static void *rec_dup(const void *src, size_t size, uint64_t lifetime,
		     uint64_t now, bool is_root, ttak_mem_flags_t flags)
{
	last = (struct call){ 3, src, size, lifetime, now, false, false, false,
			      is_root, flags };
	return ttak_mem_dup_safe(src, size, lifetime, now, is_root, flags);
}

#define ttak_mem_alloc_safe	rec_alloc
#define ttak_mem_realloc_safe	rec_realloc
#define ttak_mem_dup_safe	rec_dup

#define F	(TTAK_MEM_CACHE_ALIGNED | TTAK_MEM_STRICT_CHECK)

/* Check the recorded call against what the API says the macro passes. */
static bool expect(int fn, size_t size, uint64_t lifetime, uint64_t now,
		   bool root, ttak_mem_flags_t flags, const char *what)
{
	bool ok = true;

	ok &= CHECK_EQ(last.fn, fn);
	ok &= CHECK_EQ(last.size, size);
	ok &= CHECK_EQ(last.lifetime, lifetime);
	ok &= CHECK_EQ(last.now, now);
	ok &= CHECK_EQ(last.is_root, root);
	ok &= CHECK_EQ(last.flags, flags);
	if (fn == 1) {
		/* alloc: (is_const, is_volatile, allow_direct) */
		ok &= CHECK_EQ(last.is_const, root);
		ok &= CHECK_EQ(last.is_volatile, root);
		ok &= CHECK_EQ(last.allow_direct, true);
	}
	if (!ok)
		fprintf(stderr, "  ... in %s\n", what);
	memset(&last, 0, sizeof(last));
	return ok;
}

/*
 * A block from a macro works: direct access allowed, lifetime as given
 * (valid through now + lifetime, expired one tick later).
 */
static void usable(void *p, uint64_t now, uint64_t lifetime)
{
	CHECK_NOT_NULL(p);
	CHECK_PTR_EQ(ttak_mem_access(p, now), p);
	CHECK_PTR_EQ(ttak_mem_access(p, now + lifetime), p);
	CHECK_NULL(ttak_mem_access(p, now + lifetime + 1));
	ttak_mem_free(p);
}

TEST(alloc_macros_pass_api_arguments)
{
	void *p;

	p = ttak_mem_alloc(11, 100, 5);
	expect(1, 11, 100, 5, false, TTAK_MEM_DEFAULT, "ttak_mem_alloc");
	usable(p, 5, 100);
	p = ttak_mem_alloc_raw(12, 101, 6);
	expect(1, 12, 101, 6, false, TTAK_MEM_DEFAULT, "ttak_mem_alloc_raw");
	usable(p, 6, 101);
	p = ttak_mem_alloc_with_flags(13, 102, 7, F);
	expect(1, 13, 102, 7, false, F, "ttak_mem_alloc_with_flags");
	usable(p, 7, 102);
	p = ttak_mem_alloc_with_flags_raw(14, 103, 8, F);
	expect(1, 14, 103, 8, false, F, "ttak_mem_alloc_with_flags_raw");
	usable(p, 8, 103);
	p = ttak_root_alloc(15, 104, 9);
	expect(1, 15, 104, 9, true, TTAK_MEM_DEFAULT, "ttak_root_alloc");
	usable(p, 9, 104);
	p = ttak_root_alloc_raw(16, 105, 10);
	expect(1, 16, 105, 10, true, TTAK_MEM_DEFAULT, "ttak_root_alloc_raw");
	usable(p, 10, 105);
	p = ttak_root_alloc_with_flags(17, 106, 11, F);
	expect(1, 17, 106, 11, true, F, "ttak_root_alloc_with_flags");
	usable(p, 11, 106);
	p = ttak_root_alloc_with_flags_raw(18, 107, 12, F);
	expect(1, 18, 107, 12, true, F, "ttak_root_alloc_with_flags_raw");
	usable(p, 12, 107);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(realloc_macros_pass_api_arguments)
{
	void *p = ttak_mem_alloc(8, 1000, 0);

	ASSERT_NOT_NULL(p);
#define STEP(call, n, lt, now, root, fl)				\
	do {								\
		void *old = p;						\
		p = call;						\
		ASSERT_NOT_NULL(p);					\
		CHECK_PTR_EQ(last.ptr, old);				\
		expect(2, n, lt, now, root, fl, #call);			\
		CHECK_PTR_EQ(ttak_mem_access(p, (now) + (lt)), p);	\
		CHECK_NULL(ttak_mem_access(p, (now) + (lt) + 1));	\
	} while (0)
	STEP(ttak_mem_realloc(p, 20, 200, 1), 20, 200, 1, false,
	     TTAK_MEM_DEFAULT);
	STEP(ttak_mem_realloc_raw(p, 21, 201, 2), 21, 201, 2, false,
	     TTAK_MEM_DEFAULT);
	STEP(ttak_mem_realloc_with_flags(p, 22, 202, 3, F), 22, 202, 3, false,
	     F);
	STEP(ttak_mem_realloc_with_flags_raw(p, 23, 203, 4, F), 23, 203, 4,
	     false, F);
	STEP(ttak_root_realloc(p, 24, 204, 5), 24, 204, 5, true,
	     TTAK_MEM_DEFAULT);
	STEP(ttak_root_realloc_raw(p, 25, 205, 6), 25, 205, 6, true,
	     TTAK_MEM_DEFAULT);
	STEP(ttak_root_realloc_with_flags(p, 26, 206, 7, F), 26, 206, 7, true,
	     F);
	STEP(ttak_root_realloc_with_flags_raw(p, 27, 207, 8, F), 27, 207, 8,
	     true, F);
#undef STEP
	ttak_mem_free(p);
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(dup_macros_pass_api_arguments)
{
	static const char src[64] = "the quick brown fox";
	void *p;

#define STEP(call, n, lt, now, root, fl)				\
	do {								\
		p = call;						\
		ASSERT_NOT_NULL(p);					\
		CHECK_PTR_EQ(last.ptr, src);				\
		expect(3, n, lt, now, root, fl, #call);			\
		CHECK_EQ(memcmp(p, src, n), 0);				\
		usable(p, now, lt);					\
	} while (0)
	STEP(ttak_mem_dup(src, 30, 300, 1), 30, 300, 1, false,
	     TTAK_MEM_DEFAULT);
	STEP(ttak_mem_dup_raw(src, 31, 301, 2), 31, 301, 2, false,
	     TTAK_MEM_DEFAULT);
	STEP(ttak_mem_dup_with_flags(src, 32, 302, 3, F), 32, 302, 3, false,
	     F);
	STEP(ttak_mem_dup_with_flags_raw(src, 33, 303, 4, F), 33, 303, 4,
	     false, F);
	STEP(ttak_root_dup(src, 34, 304, 5), 34, 304, 5, true,
	     TTAK_MEM_DEFAULT);
	STEP(ttak_root_dup_raw(src, 35, 305, 6), 35, 305, 6, true,
	     TTAK_MEM_DEFAULT);
	STEP(ttak_root_dup_with_flags(src, 36, 306, 7, F), 36, 306, 7, true,
	     F);
	STEP(ttak_root_dup_with_flags_raw(src, 37, 307, 8, F), 37, 307, 8,
	     true, F);
#undef STEP
	ASSERT_EQ(tt_live_blocks(), 0);
}

TEST(macro_arguments_are_evaluated_once)
{
	size_t n = 40;
	uint64_t lt = 50, now = 60;
	void *p;

	p = ttak_root_alloc_with_flags(n++, lt++, now++, F);
	ASSERT_NOT_NULL(p);
	ASSERT_EQ(n, 41);
	ASSERT_EQ(lt, 51);
	ASSERT_EQ(now, 61);
	p = ttak_mem_realloc_with_flags(p, n++, lt++, now++, F);
	ASSERT_NOT_NULL(p);
	ASSERT_EQ(n, 42);
	ttak_mem_free(p);
}

TEST(api_constants)
{
	ASSERT_EQ(TTAK_CACHE_LINE_SIZE, 64);
	ASSERT_EQ(__TTAK_UNSAFE_MEM_FOREVER__, UINT64_MAX);
	ASSERT_EQ(TTAK_MEM_DEFAULT, 0);
	ASSERT_EQ(TTAK_MEM_HUGE_PAGES, 1);
	ASSERT_EQ(TTAK_MEM_CACHE_ALIGNED, 2);
	ASSERT_EQ(TTAK_MEM_STRICT_CHECK, 4);
	ASSERT_EQ(TTAK_MEM_LOW_PRIORITY, 8);
}
