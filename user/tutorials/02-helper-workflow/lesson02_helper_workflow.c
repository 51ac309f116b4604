// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Lesson 02: the helper families around ttak_mem_alloc_safe().
 *
 * ttak_mem_alloc_safe() takes eight arguments; the helpers fix most of
 * them. Each family comes as plain, _raw (the same call under upstream's
 * second name) and _with_flags:
 *
 *   ttak_mem_*    (is_const, is_volatile, allow_direct, is_root) =
 *                 (false, false, true, false)
 *   ttak_root_*   (true, true, true, true): blocks the caller owns for good
 *
 * and alloc, realloc and dup each have both families. The workflow here
 * builds a small record, copies it, grows it, and lets go of everything
 * with ttak_mem_freep() and a scoped block, with tracing switched on for
 * a moment to see the events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttak/mem/mem.h>
#include <ttak/timing/timing.h>

#define LIFETIME	1000	/* ticks: long enough for the whole lesson */

static const char *answer(void *p, uint64_t now)
{
	errno = 0;
	if (ttak_mem_access(p, now))
		return "valid";
	return errno == EFAULT ? "refused (EFAULT)" :
	       errno == EPERM ? "refused (EPERM)" : "refused";
}

int main(void)
{
	const uint64_t now = ttak_get_tick_count();
	const ttak_mem_flags_t strict = TTAK_MEM_STRICT_CHECK |
					TTAK_MEM_CACHE_ALIGNED;
	char *name, *copy, *bigger, *cfg, *sealed, *old, *snap;
	void *scoped_addr;

	setenv("TTAK_QUIET", "1", 1);
	printf("== lesson 02: helper workflow ==\n");

	/* 1. plain and _raw: the same call */
	name = ttak_mem_alloc_raw(16, LIFETIME, now);
	if (!name)
		return 1;
	strcpy(name, "sensor-7");
	printf("1. ttak_mem_alloc_raw(16): \"%s\", access %s\n", name,
	       answer(name, now));

	/* 2. dup copies bytes into a new, independent block */
	copy = ttak_mem_dup(name, strlen(name) + 1, LIFETIME, now);
	if (!copy)
		return 1;
	copy[0] = 'S';
	printf("2. ttak_mem_dup: copy \"%s\", original still \"%s\"\n", copy,
	       name);

	/* 3. realloc keeps the bytes and hands back a new block */
	old = name;
	bigger = ttak_mem_realloc(name, 64, LIFETIME, now);
	if (!bigger)
		return 1;
	name = NULL;
	strcat(bigger, "/temperature");
	printf("3. ttak_mem_realloc(64): \"%s\"; the old pointer: %s\n",
	       bigger, answer(old, now));

	/* 4. root + flags: strict end canary, 64-byte alignment */
	cfg = ttak_root_alloc_with_flags(100, LIFETIME, now, strict);
	if (!cfg)
		return 1;
	printf("4. ttak_root_alloc_with_flags(STRICT|ALIGNED): aligned to 64: %s\n",
	       (uintptr_t)cfg % TTAK_CACHE_LINE_SIZE ? "no" : "yes");

	/* 5. allow_direct = false: the block exists, access is refused */
	sealed = ttak_mem_alloc_safe(32, LIFETIME, now, false, false, false,
				     false, TTAK_MEM_DEFAULT);
	if (!sealed)
		return 1;
	printf("5. allow_direct=false: access %s\n", answer(sealed, now));

	/* 6. a scoped block is freed when its scope ends */
	{
		ttak_mem_alloc_scoped(scratch, char *, 256, LIFETIME, now);

		if (!scratch)
			return 1;
		scoped_addr = scratch;
		printf("6. ttak_mem_alloc_scoped: inside the scope access %s\n",
		       answer(scratch, now));
	}
	printf("   after the scope access %s\n", answer(scoped_addr, now));

	/* 7. trace a few events: one JSON line each, on stderr */
	printf("7. tracing on for a root dup and two frees:\n");
	fflush(stdout);
	ttak_mem_set_trace(1);
	snap = ttak_root_dup(bigger, 64, LIFETIME, now);
	ttak_mem_freep((void **)&snap);
	ttak_mem_freep((void **)&copy);
	ttak_mem_set_trace(0);
	printf("   ttak_mem_freep(&copy): copy is now %s\n",
	       copy ? "still set" : "NULL");
	ttak_mem_freep((void **)&copy);		/* NULL: nothing to do */
	printf("   a second ttak_mem_freep(&copy) does nothing\n");

	ttak_mem_freep((void **)&bigger);
	ttak_mem_freep((void **)&cfg);
	ttak_mem_freep((void **)&sealed);
	printf("lesson 02: done, every block freed\n");
	return 0;
}
