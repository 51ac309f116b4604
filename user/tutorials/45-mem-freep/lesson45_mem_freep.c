// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Lesson 45: ttak_mem_freep() - free a block and forget its address.
 *
 * ttak_mem_free(p) frees the block, and p still holds the address: a
 * dangling pointer. ttak_mem_freep(&p) frees it and sets p to NULL, so
 * the owner can tell "I have a block" from "I had one", and freeing
 * twice is harmless. ttak itself refuses a stale pointer (its registry
 * knows every live block), but plain C code around it would not: the
 * NULL is what keeps the rest of the program honest.
 *
 * The example keeps a small table of session buffers; closing a session
 * must leave its slot empty whatever path closes it, once or twice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttak/mem/mem.h>
#include <ttak/timing/timing.h>

#define SESSIONS	3

static char *session[SESSIONS];

static void open_session(int i, const char *who, uint64_t now)
{
	session[i] = ttak_mem_alloc(32, TT_SECOND(1) / TT_MILLI_SECOND(1),
				    now);
	if (session[i])
		snprintf(session[i], 32, "%s", who);
}

/* Every path that ends a session goes through here; it may run twice. */
static void close_session(int i)
{
	ttak_mem_freep((void **)&session[i]);
}

static void show(uint64_t now)
{
	int i;

	for (i = 0; i < SESSIONS; i++)
		printf("  slot %d: %s%s%s\n", i,
		       session[i] ? "\"" : "",
		       session[i] && ttak_mem_access(session[i], now) ?
		       session[i] : "(empty)",
		       session[i] ? "\"" : "");
}

int main(void)
{
	const uint64_t now = ttak_get_tick_count();
	char *dangling;

	setenv("TTAK_QUIET", "1", 1);
	printf("== lesson 45: ttak_mem_freep ==\n");
	open_session(0, "alice", now);
	open_session(1, "bob", now);
	open_session(2, "carol", now);
	if (!session[0] || !session[1] || !session[2])
		return 1;
	show(now);

	printf("1. ttak_mem_free(session[1]): the slot keeps the address\n");
	dangling = session[1];
	ttak_mem_free(session[1]);
	printf("  slot 1 is %s; ttak_mem_access on it: %s\n",
	       session[1] ? "still set (dangling)" : "NULL",
	       ttak_mem_access(dangling, now) ? "valid" :
	       errno == EFAULT ? "refused (EFAULT)" : "refused");
	session[1] = NULL;	/* what ttak_mem_freep() does for us */

	printf("2. close_session(0) uses ttak_mem_freep(&session[0])\n");
	close_session(0);
	printf("  slot 0 is %s\n", session[0] ? "still set" : "NULL");

	printf("3. close_session(0) again: freep of NULL does nothing\n");
	errno = 0;
	close_session(0);
	printf("  no error reported: %s\n", errno ? "no" : "yes");

	printf("4. ttak_mem_freep(NULL) is a no-op too\n");
	ttak_mem_freep(NULL);
	show(now);

	close_session(2);
	printf("lesson 45: done, %s\n",
	       session[0] || session[1] || session[2] ?
	       "UNEXPECTED: a slot is still set" : "every slot empty");
	return session[0] || session[1] || session[2];
}
