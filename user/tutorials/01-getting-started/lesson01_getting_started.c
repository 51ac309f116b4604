// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Lesson 01: a tracked allocation and its lifetime.
 *
 * Every ttak block is born at a tick (the caller's clock, milliseconds
 * from ttak_get_tick_count() here) with a lifetime in ticks. It is valid
 * through tick now + lifetime and expired from the tick after. Expiry
 * does not free anything: ttak_mem_access() refuses the block, the
 * owner still frees it. A freed block is refused too, and ttak knows it
 * without reading the freed memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttak/mem/mem.h>
#include <ttak/timing/timing.h>

/* Ask ttak whether @p may be used at tick @at; say what it answered. */
static int probe(const char *label, void *p, uint64_t t0, uint64_t at)
{
	char when[32];
	char *ok;

	if (at == UINT64_MAX)
		snprintf(when, sizeof(when), "the last tick");
	else
		snprintf(when, sizeof(when), "T+%" PRIu64, at - t0);

	errno = 0;
	ok = ttak_mem_access(p, at);
	if (ok) {
		printf("  %-8s at %s: valid \"%s\"\n", label, when, ok);
		return 1;
	}
	printf("  %-8s at %s: refused (%s)\n", label, when,
	       errno == ETIMEDOUT ? "ETIMEDOUT: expired" :
	       errno == EFAULT ? "EFAULT: not a live block" : strerror(errno));
	return 0;
}

int main(void)
{
	const uint64_t t0 = ttak_get_tick_count();
	/* 0.3 ms in whole milliseconds: the tick is 1 ms, so 0 ticks */
	const uint64_t brief = TT_MILLI_SECOND(0.3) / TT_MILLI_SECOND(1);
	const uint64_t lifetime = 250;
	char *note, *brief_note, *forever;
	int bad = 0;

	/* the lesson provokes refusals: no "ttak: ..." lines on stderr */
	setenv("TTAK_QUIET", "1", 1);
	printf("== lesson 01: tracked allocation ==\n");
	printf("clock: ttak_get_tick_count() = T (ms since an arbitrary origin)\n");

	note = ttak_mem_alloc(128, lifetime, t0);
	brief_note = ttak_mem_alloc(64, brief, t0);
	forever = ttak_mem_alloc(32, __TTAK_UNSAFE_MEM_FOREVER__, t0);
	if (!note || !brief_note || !forever) {
		perror("ttak_mem_alloc");
		return 1;
	}
	/* tracked blocks arrive zeroed */
	printf("fresh block is zeroed: %s\n",
	       note[0] == 0 && note[127] == 0 ? "yes" : "no");
	snprintf(note, 128, "hello, lifetime=%" PRIu64 " ticks", lifetime);
	snprintf(brief_note, 64, "hello, lifetime=%" PRIu64 " ticks", brief);
	snprintf(forever, 32, "hello, forever");

	printf("lifetime %" PRIu64 ": valid through T+%" PRIu64 "\n",
	       lifetime, lifetime);
	bad += !probe("note", note, t0, t0);
	bad += !probe("note", note, t0, t0 + lifetime / 2);
	bad += !probe("note", note, t0, t0 + lifetime);
	bad += probe("note", note, t0, t0 + lifetime + 1);

	printf("lifetime %" PRIu64 ": valid at T only\n", brief);
	bad += !probe("brief", brief_note, t0, t0 + brief);
	bad += probe("brief", brief_note, t0, t0 + brief + 1);

	printf("lifetime FOREVER: never expires\n");
	bad += !probe("forever", forever, t0, UINT64_MAX);

	printf("expired is not freed: the owner frees every block\n");
	ttak_mem_free(note);
	ttak_mem_free(brief_note);
	ttak_mem_free(forever);
	/* the stale pointer is refused; nothing is read through it */
	bad += probe("note", note, t0, t0);
	printf("%s\n", bad ? "lesson 01: UNEXPECTED RESULT" :
	       "lesson 01: done, every answer as expected");
	return bad ? 1 : 0;
}
