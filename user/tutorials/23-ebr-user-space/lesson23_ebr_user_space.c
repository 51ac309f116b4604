// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Lesson 23: epoch-based reclamation (EBR) with two threads.
 *
 * A writer replaces a shared object while a reader uses it without a
 * lock. The writer may not free the old object at once: the reader may
 * still be looking at it. It retires it instead; ttak runs the cleanup
 * after a grace period, once every reader that was inside a read section
 * (ttak_epoch_enter() ... ttak_epoch_exit()) when it was retired has
 * left. Part 1 holds a section open on purpose and watches the cleanup
 * wait for it; part 2 lets the two threads race for a while and checks
 * that the reader never saw a cleaned-up object.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ttak/mem/epoch.h>
#include <ttak/mem/mem.h>

#define FOREVER		__TTAK_UNSAFE_MEM_FOREVER__
#define VERSIONS	2000
#define HANDSHAKE	50	/* the reader reads at least once per 50 */
#define ALIVE		0x600dULL
#define DEAD		0xdeadULL

struct config {
	uint64_t magic;		/* ALIVE until the cleanup poisons it */
	uint64_t version;
	uint64_t check;		/* version * 3 + 1, written with it */
};

static _Atomic(struct config *) current;
static atomic_ulong cleaned;

/* The retire callback: runs after the grace period, never earlier. */
static void config_cleanup(void *p)
{
	struct config *c = p;

	c->magic = DEAD;	/* a reader that still saw it would notice */
	ttak_mem_free(c);
	atomic_fetch_add(&cleaned, 1);
}

static struct config *config_new(uint64_t version)
{
	struct config *c = ttak_mem_alloc(sizeof(*c), FOREVER, 0);

	if (c) {
		c->magic = ALIVE;
		c->version = version;
		c->check = version * 3 + 1;
	}
	return c;
}

/* Publish a new version and retire the one it replaces. */
static bool replace(uint64_t version)
{
	struct config *fresh = config_new(version), *old;

	if (!fresh)
		return false;
	old = atomic_exchange(&current, fresh);
	ttak_epoch_retire(old, config_cleanup);
	return true;
}

/* --- part 1: one section held open ----------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int step;

static void wait_step(int want)
{
	pthread_mutex_lock(&lock);
	while (step < want)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void set_step(int s)
{
	pthread_mutex_lock(&lock);
	step = s;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void *holding_reader(void *arg)
{
	struct config *seen;

	(void)arg;
	ttak_epoch_enter();
	seen = atomic_load(&current);
	printf("  reader: inside a section, holding version %llu\n",
	       (unsigned long long)seen->version);
	set_step(1);
	wait_step(2);		/* the writer retires it meanwhile */
	printf("  reader: version %llu still intact (magic %s)\n",
	       (unsigned long long)seen->version,
	       seen->magic == ALIVE ? "ALIVE" : "DEAD");
	ttak_epoch_exit();
	printf("  reader: left the section\n");
	set_step(3);
	return NULL;
}

/* --- part 2: a reader racing the writer ------------------------------ */

static atomic_bool stop;

struct read_stats {
	atomic_ulong reads;
	unsigned long bad;
	uint64_t last;
	bool backwards;
};

static void *racing_reader(void *arg)
{
	struct read_stats *st = arg;

	while (!atomic_load(&stop)) {
		struct config *c;

		ttak_epoch_enter();
		c = atomic_load(&current);
		if (c->magic != ALIVE || c->check != c->version * 3 + 1)
			st->bad++;
		if (c->version < st->last)
			st->backwards = true;
		st->last = c->version;
		ttak_epoch_exit();
		atomic_fetch_add(&st->reads, 1);
	}
	return NULL;
}

int main(void)
{
	struct read_stats st;
	pthread_t reader;
	unsigned long before;
	uint64_t v;
	int bad = 0;

	printf("== lesson 23: EBR in user space, two threads ==\n");
	atomic_store(&current, config_new(1));
	if (!atomic_load(&current))
		return 1;

	printf("1. a grace period waits for the reader\n");
	if (pthread_create(&reader, NULL, holding_reader, NULL))
		return 1;
	wait_step(1);
	if (!replace(2))
		return 1;
	printf("  writer: published version 2, retired version 1\n");
	ttak_epoch_reclaim();
	printf("  writer: reclaim with the reader inside: cleaned %lu\n",
	       atomic_load(&cleaned));
	bad += atomic_load(&cleaned) != 0;
	set_step(2);
	wait_step(3);
	ttak_epoch_reclaim();
	printf("  writer: reclaim after the reader left: cleaned %lu\n",
	       atomic_load(&cleaned));
	bad += atomic_load(&cleaned) != 1;
	pthread_join(reader, NULL);

	printf("2. %d replacements while a reader reads\n", VERSIONS);
	memset(&st, 0, sizeof(st));
	before = atomic_load(&cleaned);
	if (pthread_create(&reader, NULL, racing_reader, &st))
		return 1;
	for (v = 3; v < 3 + VERSIONS; v++) {
		unsigned long seen = atomic_load(&st.reads);

		if (!replace(v))
			return 1;
		/* let the reader in now and then (cheap under valgrind too) */
		while (v % HANDSHAKE == 0 && atomic_load(&st.reads) == seen)
			sched_yield();
	}
	atomic_store(&stop, true);
	pthread_join(reader, NULL);
	/* the reader thread ended: nothing can hold a retired version */
	ttak_epoch_synchronize();
	printf("  retired %d, cleaned %lu\n", VERSIONS,
	       atomic_load(&cleaned) - before);
	printf("  reader: %s reads, %lu of a cleaned-up object, order %s\n",
	       atomic_load(&st.reads) >= VERSIONS / HANDSHAKE ? ">= 40" :
	       "too few",
	       st.bad,
	       st.backwards ? "BROKEN" : "kept");
	bad += atomic_load(&cleaned) - before != VERSIONS || st.bad ||
	       st.backwards || atomic_load(&st.reads) < VERSIONS / HANDSHAKE;

	/* the last version is retired like the others */
	ttak_epoch_retire(atomic_exchange(&current, NULL), config_cleanup);
	ttak_epoch_synchronize();
	printf("%s\n", bad ? "lesson 23: UNEXPECTED RESULT" :
	       "lesson 23: done, no reader ever saw a cleaned object");
	return bad ? 1 : 0;
}
