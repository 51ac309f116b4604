// SPDX-License-Identifier: GPL-2.0
/*
 * ttak.ko's background rotation. Each test needs the module loaded with
 * particular parameters and is skipped otherwise; ttak.sh loads it twice:
 *
 *   periodic:  rotate_interval_ms=200 - retired garbage is flushed
 *              without any `rotate` command, within a few intervals.
 *   kick:      rotate_interval_ms=600000 pressure_threshold=4096 - the
 *              interval is far away, but a retire that takes pressure to
 *              the threshold runs the rotation at once.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "ttak_selftest.h"

/* Begin, carve and retire one default generation; its id. */
static long long retire_one(struct __test_metadata *_metadata)
{
	long long id = ttak_begin("");

	EXPECT_LE(0, id);
	if (id < 0)
		return id;
	EXPECT_EQ(0, ttak_ctl_id("carve", id));
	EXPECT_EQ(0, ttak_ctl_id("retire", id));
	return id;
}

static bool debugfs_ready(void)
{
	return !geteuid() && !access(TTAK_DEBUGFS "/control", F_OK);
}

TEST(periodic)
{
	long long interval, flushes, id, took;
	char buf[TTAK_BUF];

	if (!debugfs_ready())
		SKIP(return, "needs root and ttak.ko loaded");
	interval = ttak_param("rotate_interval_ms");
	if (interval <= 0 || interval > 1000 ||
	    ttak_param("pressure_threshold") <= ttak_param("generation_bytes"))
		SKIP(return, "needs rotate_interval_ms 1..1000, threshold > generation");

	ASSERT_LT(0, ttak_read("stats", buf, sizeof(buf)));
	ASSERT_NE(NULL, strstr(buf, "rotation: automatic\n"));
	flushes = ttak_field(buf, "flushes");

	id = retire_one(_metadata);
	ASSERT_LE(0, id);
	/* below the threshold: it waits for the timer, at most backed off */
	took = ttak_wait_flushed(interval * 8 * 3 + 2000);
	ASSERT_LE(0, took) TH_LOG("still pending: pressure %lld",
				  ttak_pressure());
	TH_LOG("flushed %lld ms after the retire", took);
	EXPECT_LT(flushes, ttak_stat("flushes"));
	EXPECT_EQ(0, ttak_stat("pending_nodes"));
	EXPECT_LE(1, ttak_stat("generations_flushed"));

	/* and again, after the work has backed off while idle */
	usleep(interval * 4 * 1000);
	id = retire_one(_metadata);
	ASSERT_LE(0, id);
	took = ttak_wait_flushed(interval * 8 * 3 + 2000);
	ASSERT_LE(0, took);
	TH_LOG("flushed %lld ms after the second retire", took);
}

TEST(kick)
{
	long long interval, threshold, gen, flushes, id, took;

	if (!debugfs_ready())
		SKIP(return, "needs root and ttak.ko loaded");
	interval = ttak_param("rotate_interval_ms");
	threshold = ttak_param("pressure_threshold");
	gen = ttak_param("generation_bytes");
	if (interval < 60000 || threshold <= 0 || threshold > gen)
		SKIP(return, "needs rotate_interval_ms >= 60000, threshold <= generation");

	/* the first run of the work is a whole interval away */
	flushes = ttak_stat("flushes");
	id = retire_one(_metadata);
	ASSERT_LE(0, id);
	took = ttak_wait_flushed(5000);
	ASSERT_LE(0, took) TH_LOG("pressure %lld not flushed by a kick",
				  ttak_pressure());
	TH_LOG("kicked rotation flushed %lld ms after the retire", took);
	EXPECT_EQ(flushes + 1, ttak_stat("flushes"));
	/* after a flush the work waits the base interval again */
	EXPECT_EQ(interval, ttak_stat("rotate_next_ms"));
}

TEST_HARNESS_MAIN
