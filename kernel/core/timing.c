// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The tick clock: 64-bit nanoseconds from the platform's monotonic clock.
 * Milliseconds are derived by division, so both never wrap.
 */
#include "ttak_core.h"
#include <ttak/timing/timing.h>

uint64_t ttak_get_tick_count_ns(void)
{
	return ttak_plat_now_ns();
}
EXPORT_SYMBOL_GPL(ttak_get_tick_count_ns);

uint64_t ttak_get_tick_count(void)
{
	return div_u64(ttak_plat_now_ns(), 1000000);
}
EXPORT_SYMBOL_GPL(ttak_get_tick_count);
