// SPDX-License-Identifier: GPL-2.0
/*
 * ttak.ko's tracepoints (ttak_trace.h) are created here, with the one
 * event helper more than a file needs: the readers that hold an old
 * epoch after a rotation.
 */
#include <linux/kernel.h>

#include <ttak/mem/epoch.h>

#include "ttak_envs.h"

#define CREATE_TRACE_POINTS
#include "ttak_trace.h"

/* Readers reported, at most, after one rotation. */
#define TTAK_TRACE_BLOCKERS	8

void ttak_trace_blockers(void)
{
	struct ttak_epoch_blocker b[TTAK_TRACE_BLOCKERS];
	size_t i, n;

	if (!trace_ttak_reclaim_blocked_enabled())
		return;
	n = min_t(size_t, ttak_epoch_report_blockers(b, ARRAY_SIZE(b)),
		  ARRAY_SIZE(b));
	for (i = 0; i < n; i++)
		trace_ttak_reclaim_blocked(b[i].id, b[i].epoch, b[i].held_ns);
}
