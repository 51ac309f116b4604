// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * <ttak/timing/timing.h>: monotonic 64-bit tick clocks and the TT_* unit
 * macros.
 */
#include "ttak_test.h"

#include <time.h>
#include <ttak/timing/timing.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

TEST(unit_macros_give_nanoseconds)
{
	int n = 5;

	ASSERT_EQ(TT_NANO_SECOND(7), 7);
	ASSERT_EQ(TT_MICRO_SECOND(5), 5000);
	ASSERT_EQ(TT_MILLI_SECOND(3), 3000000);
	ASSERT_EQ(TT_SECOND(2), 2000000000ULL);
	/* an int argument must not overflow in int arithmetic */
	ASSERT_EQ(TT_SECOND(n), 5000000000ULL);
	ASSERT_EQ(TT_MILLI_SECOND(n * 1000), 5000000000ULL);
	ASSERT_EQ(TT_SECOND(1 + 1), 2000000000ULL);	/* parenthesised */
}

TEST(ns_clock_is_monotonic)
{
	uint64_t prev = ttak_get_tick_count_ns(), now;
	int i;

	for (i = 0; i < 200000; i++) {
		now = ttak_get_tick_count_ns();
		ASSERT_GE(now, prev);
		prev = now;
	}
}

TEST(ms_clock_is_monotonic)
{
	uint64_t prev = ttak_get_tick_count(), now;
	int i;

	for (i = 0; i < 200000; i++) {
		now = ttak_get_tick_count();
		ASSERT_GE(now, prev);
		prev = now;
	}
}

TEST(clocks_share_the_monotonic_origin)
{
	uint64_t before, ns, ms, after;

	before = mono_ns();
	ns = ttak_get_tick_count_ns();
	ms = ttak_get_tick_count();
	after = mono_ns();
	ASSERT_GE(ns, before);
	ASSERT_LE(ns, after);
	ASSERT_GE(ms, before / 1000000);
	ASSERT_LE(ms, after / 1000000);
}

TEST(clocks_advance_with_real_time)
{
	uint64_t ns0 = ttak_get_tick_count_ns(), ms0 = ttak_get_tick_count();
	uint64_t ns1, ms1;

	tt_sleep_ms(60);
	ns1 = ttak_get_tick_count_ns();
	ms1 = ttak_get_tick_count();
	ASSERT_GE(ns1 - ns0, TT_MILLI_SECOND(60));
	ASSERT_GE(ms1 - ms0, 59);	/* ms truncation may cost one */
	/* and not absurdly more (generous bound for loaded machines) */
	ASSERT_LT(ms1 - ms0, 60000);
}

TEST(ms_clock_is_not_a_32_bit_counter)
{
	uint64_t ns = ttak_get_tick_count_ns();
	uint64_t ms = ttak_get_tick_count();

	/*
	 * A 32-bit nanosecond counter wraps every 4.29 s; ms derived from
	 * the 64-bit one agrees with it to within the time between calls.
	 */
	ASSERT_GE(ms, ns / 1000000);
	ASSERT_LE(ms - ns / 1000000, 1000);
}
