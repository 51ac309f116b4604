/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State of ttak.ko's own arena env, shared by the module glue
 * (ttak_main.c) and its debugfs interface (ttak_debugfs.c).
 */
#ifndef TTAK_MODULE_H
#define TTAK_MODULE_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include <ttak/mem/arena_helper.h>

/* Largest generation the module parameters and `begin` accept. */
#define TTAK_GEN_MAX_BYTES	(64UL << 20)
/* Most generations `begin` keeps at a time (live and retired). */
#define TTAK_GEN_MAX_COUNT	1024
/* Longest auto-rotation interval, in ms (one hour). */
#define TTAK_ROTATE_MAX_MS	3600000U
/* Shortest delay between two background rotations, in ms. */
#define TTAK_ROTATE_MIN_MS	10U
/* An idle background rotation backs off up to this many base intervals. */
#define TTAK_ROTATE_BACKOFF	8U

/**
 * struct ttak_kgen - a generation begun through debugfs `control`.
 * @link: entry in ttak_mod.gens, oldest first.
 * @gen: the generation itself; emptied by the core when retired.
 * @base: the buffer's address, for display only; never dereferenced
 *	once the generation is retired.
 * @capacity: bytes in the generation.
 * @used: bytes carved, as of the last carve.
 * @chunk: chunk size `carve` uses.
 * @id: number shown in `generations` and taken by the commands.
 * @retired: released to the GC, waiting for the next rotation.
 */
struct ttak_kgen {
	struct list_head link;
	ttak_arena_generation_t gen;
	void *base;
	size_t capacity;
	size_t used;
	size_t chunk;
	u32 id;
	bool retired;
};

/**
 * struct ttak_module - the module's default arena env and its bookkeeping.
 * @lock: serialises @env's generations, @gens and every counter below;
 *	taken by the debugfs files and the rotation work.
 * @env: the default env (its own epoch GC, in manual mode: only the
 *	module rotates it).
 * @gens: struct ttak_kgen, live and retired-not-yet-flushed.
 * @next_id: id of the next generation begun.
 * @nlive: live generations on @gens.
 * @nretired: retired generations on @gens.
 * @retired_bytes: their bytes (retired, waiting for a rotation).
 * @flushed: retired generations that a rotation took out of the tree.
 * @auto_rotate: background rotation is on (rotate_interval_ms > 0).
 * @next_ms: delay before the next background rotation (adaptive).
 * @rotate_work: the background rotation.
 */
struct ttak_module {
	struct mutex lock;	/* guards all below but rotate_work */
	ttak_arena_env_t env;
	struct list_head gens;
	u32 next_id;
	unsigned int nlive;
	unsigned int nretired;
	size_t retired_bytes;
	u64 flushed;
	bool auto_rotate;
	unsigned long next_ms;
	struct delayed_work rotate_work;
};

extern struct ttak_module ttak_mod;
extern unsigned long ttak_param_generation_bytes;
extern unsigned long ttak_param_chunk_bytes;
extern unsigned int ttak_param_rotate_interval_ms;

/* ttak_main.c: the commands behind debugfs `control`; 0 or -errno. */
int ttak_ctl_begin(size_t size, size_t chunk);
int ttak_ctl_carve(const u32 *id);
int ttak_ctl_retire(const u32 *id);
void ttak_ctl_rotate(void);

/* ttak_debugfs.c */
void ttak_debugfs_init(void);
void ttak_debugfs_exit(void);

#endif /* TTAK_MODULE_H */
