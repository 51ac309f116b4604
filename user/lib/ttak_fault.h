/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Allocation-failure injection for the user-space tests (not installed).
 *
 * Every allocation the core makes goes through ttak_plat_alloc(),
 * ttak_plat_zalloc() or ttak_plat_block_alloc(); each one is counted per
 * thread, and the calling thread can make one of them, or all of them
 * from one on, return NULL. The kernel's twin is failslab with fail-nth.
 */
#ifndef TTAK_FAULT_H
#define TTAK_FAULT_H

#include <stdbool.h>

/*
 * Fail the @nth allocation of the calling thread from now on (1: the
 * next one); with @repeat every later one fails too. 0 turns it off.
 */
void ttak_fault_fail_nth(unsigned long nth, bool repeat);
/* Allocations the calling thread made (or was refused) so far. */
unsigned long ttak_fault_allocs(void);
/* Allocations refused by injection on the calling thread so far. */
unsigned long ttak_fault_failed(void);

/*
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) calls the library has
 * issued in this process so far (its heavy barrier; see
 * epoch_membarrier.c).
 */
unsigned long ttak_test_membarriers(void);

#endif /* TTAK_FAULT_H */
