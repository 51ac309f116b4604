// SPDX-License-Identifier: GPL-2.0
/*
 * Published envs: the arena envs other modules hand to ttak.ko with
 * ttak_env_publish() (include/ttak/kernel.h). ttak.ko shows each in
 * debugfs, rotates it in the background by the default env's interval
 * (unless its GC is in manual mode) and rotates it for the shrinker.
 *
 * Two locks: ttak_envs.rotate_lock (a mutex) is held by everything that
 * touches a client's env for more than a read of its counters - a
 * rotation pass, the envs summary, publish and unpublish - so once
 * unpublish has taken it and unlinked the entry no rotation of that env
 * is running or can start. ttak_envs.list_lock (a spinlock, nested
 * inside) guards the list for the shrinker's count, which may not sleep.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include <ttak/kernel.h>
#include <ttak/mem/epoch_gc.h>
#include <ttak/timing/timing.h>

#include "core/ttak_core.h"
#include "ttak_debugfs.h"
#include "ttak_default_env.h"
#include "ttak_envs.h"
#include "ttak_trace.h"

/* Shortest delay between two background passes, in ms. */
#define TTAK_ENVS_MIN_MS	10U

static struct {
	struct mutex rotate_lock;	/* rotations, publish, unpublish */
	spinlock_t list_lock;		/* the list, for the shrinker's count */
	struct list_head list;
	bool running;			/* the background pass is set up */
	struct delayed_work work;
} ttak_envs = {
	.rotate_lock = __MUTEX_INITIALIZER(ttak_envs.rotate_lock),
	.list_lock = __SPIN_LOCK_UNLOCKED(ttak_envs.list_lock),
	.list = LIST_HEAD_INIT(ttak_envs.list),
};

static size_t ttak_env_pressure(const ttak_arena_env_t *env)
{
	return atomic_long_read(&env->gc->tree.garbage_pressure);
}

/*
 * What a rotation can act on: without what an earlier one flushed and
 * a grace period frees anyway (the EBR work item does, unasked).
 */
static size_t ttak_env_actionable(ttak_arena_env_t *env)
{
	return ttak_mem_tree_actionable_pressure(&env->gc->tree);
}

/* 1-32 characters of [A-Za-z0-9_.-], not "." nor "..", not "default". */
static int ttak_check_name(const char *name)
{
	size_t len, i;

	if (!name)
		return -EINVAL;
	len = strnlen(name, TTAK_ENV_NAME_MAX + 1);
	if (!len || len > TTAK_ENV_NAME_MAX || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	/* ASCII only: the kernel's isalnum() takes Latin-1 letters too */
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_' && c != '.' &&
		    c != '-')
			return -EINVAL;
	}
	/* the module's own env has this name */
	if (!strcmp(name, "default"))
		return -EEXIST;
	return 0;
}

static struct ttak_env_entry *ttak_find_env(const ttak_arena_env_t *env,
					    const char *name)
{
	struct ttak_env_entry *e;

	lockdep_assert_held(&ttak_envs.rotate_lock);
	list_for_each_entry(e, &ttak_envs.list, link)
		if (e->env == env || (name && !strcmp(e->name, name)))
			return e;
	return NULL;
}

int ttak_env_publish(ttak_arena_env_t *env, const char *name)
{
	struct ttak_env_entry *e;
	int ret;

	/* a destroyed env has no stride: nothing to carve, nothing to show */
	if (!env || !env->gc || !ttak_arena_env_chunk_stride(env, 0))
		return -EINVAL;
	ret = ttak_check_name(name);
	if (ret)
		return ret;
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	e->env = env;
	strscpy(e->name, name, sizeof(e->name));
	e->last_rotate_ns = ttak_get_tick_count_ns();

	mutex_lock(&ttak_envs.rotate_lock);
	if (ttak_find_env(env, name)) {
		mutex_unlock(&ttak_envs.rotate_lock);
		kfree(e);
		return -EEXIST;
	}
	/* debugfs failures are not fatal: the env is rotated all the same */
	e->dir = ttak_debugfs_env_add(e);
	spin_lock_irq(&ttak_envs.list_lock);
	list_add_tail(&e->link, &ttak_envs.list);
	spin_unlock_irq(&ttak_envs.list_lock);
	mutex_unlock(&ttak_envs.rotate_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(ttak_env_publish);

void ttak_env_unpublish(ttak_arena_env_t *env)
{
	struct ttak_env_entry *e;

	if (!env)
		return;
	/* a rotation of @env in progress holds the lock: wait for it */
	mutex_lock(&ttak_envs.rotate_lock);
	e = ttak_find_env(env, NULL);
	if (e) {
		spin_lock_irq(&ttak_envs.list_lock);
		list_del(&e->link);
		spin_unlock_irq(&ttak_envs.list_lock);
	}
	mutex_unlock(&ttak_envs.rotate_lock);
	if (!e)
		return;
	/* waits for the readers of its files, the last users of @env */
	ttak_debugfs_env_remove(e);
	kfree(e);
}
EXPORT_SYMBOL_GPL(ttak_env_unpublish);

/*
 * Rotate one env (registry locked); returns the garbage bytes it flushed
 * (freed once a grace period has passed, without anything more).
 */
static size_t ttak_rotate_env(struct ttak_env_entry *e)
{
	struct ttak_mem_tree_stats ts0, ts1;
	size_t before, after;
	u64 now;
	int ret;

	lockdep_assert_held(&ttak_envs.rotate_lock);
	ttak_mem_tree_get_stats(&e->env->gc->tree, &ts0);
	before = ttak_env_actionable(e->env);
	ret = __ttak_arena_env_rotate(e->env);
	if (ret) {
		/* its owner destroyed it while published: a client's bug */
		pr_warn_once("published env %s refused a rotation: %d\n",
			     e->name, ret);
		return 0;
	}
	now = ttak_get_tick_count_ns();
	after = ttak_env_actionable(e->env);
	ttak_mem_tree_get_stats(&e->env->gc->tree, &ts1);
	trace_ttak_gc_rotate(e->name, before, after);
	/*
	 * The garbage a rotation took out of the tree; it was retired after
	 * ttak.ko's previous rotation of the env (or its publishing).
	 */
	if (ts0.garbage_nodes > ts1.garbage_nodes)
		trace_ttak_flush(e->name, ts0.garbage_nodes - ts1.garbage_nodes,
				 ts0.bytes > ts1.bytes ? ts0.bytes - ts1.bytes : 0,
				 now - e->last_rotate_ns);
	if (ts1.pending_nodes)
		ttak_trace_blockers();
	e->last_rotate_ns = now;
	return before > after ? before - after : 0;
}

/* The published entry of @env (list_lock held), or NULL. */
static struct ttak_env_entry *ttak_entry_of(const struct ttak_arena_env *env)
{
	struct ttak_env_entry *e;

	list_for_each_entry(e, &ttak_envs.list, link)
		if (e->env == env)
			return e;
	return NULL;
}

void ttak_plat_trace_gen_begin(const struct ttak_arena_env *env,
			       size_t bytes)
{
	struct ttak_env_entry *e;
	unsigned long flags;

	if (!trace_ttak_generation_begin_enabled())
		return;
	/* the default env's events come from ttak_default_env.c */
	spin_lock_irqsave(&ttak_envs.list_lock, flags);
	e = ttak_entry_of(env);
	if (e)
		trace_ttak_generation_begin(e->name, bytes,
					    env->config.chunk_bytes);
	spin_unlock_irqrestore(&ttak_envs.list_lock, flags);
}

void ttak_plat_trace_gen_retire(const struct ttak_arena_env *env,
				size_t bytes)
{
	struct ttak_env_entry *e;
	unsigned long flags;

	if (!trace_ttak_generation_retire_enabled())
		return;
	spin_lock_irqsave(&ttak_envs.list_lock, flags);
	e = ttak_entry_of(env);
	if (e)
		trace_ttak_generation_retire(e->name, bytes);
	spin_unlock_irqrestore(&ttak_envs.list_lock, flags);
}

static void ttak_envs_workfn(struct work_struct *work)
{
	unsigned long next = ttak_default_env_interval_ms();
	struct ttak_epoch_gc_stats gs;
	struct ttak_env_entry *e;

	mutex_lock(&ttak_envs.rotate_lock);
	list_for_each_entry(e, &ttak_envs.list, link) {
		ttak_epoch_gc_get_stats(e->env->gc, &gs);
		if (gs.manual || !ttak_env_actionable(e->env))
			continue;
		ttak_rotate_env(e);
		/* garbage left that a rotation can flush: soon again */
		if (ttak_env_actionable(e->env))
			next = TTAK_ENVS_MIN_MS;
	}
	mutex_unlock(&ttak_envs.rotate_lock);
	queue_delayed_work(system_unbound_wq, &ttak_envs.work,
			   msecs_to_jiffies(max(next,
						(unsigned long)TTAK_ENVS_MIN_MS)));
}

void ttak_envs_walk(ttak_envs_fn fn, void *ctx)
{
	struct ttak_env_entry *e;

	mutex_lock(&ttak_envs.rotate_lock);
	list_for_each_entry(e, &ttak_envs.list, link)
		fn(e, ctx);
	mutex_unlock(&ttak_envs.rotate_lock);
}

size_t ttak_envs_garbage(void)
{
	struct ttak_env_entry *e;
	unsigned long flags;
	size_t sum = 0;

	spin_lock_irqsave(&ttak_envs.list_lock, flags);
	list_for_each_entry(e, &ttak_envs.list, link)
		sum += ttak_env_pressure(e->env);
	spin_unlock_irqrestore(&ttak_envs.list_lock, flags);
	return sum;
}

size_t ttak_envs_shrink(void)
{
	struct ttak_env_entry *e;
	size_t freed = 0;

	/* its holder may be the very task that is reclaiming */
	if (!mutex_trylock(&ttak_envs.rotate_lock))
		return 0;
	list_for_each_entry(e, &ttak_envs.list, link)
		if (ttak_env_actionable(e->env))
			freed += ttak_rotate_env(e);
	mutex_unlock(&ttak_envs.rotate_lock);
	return freed;
}

void ttak_envs_init(void)
{
	INIT_DELAYED_WORK(&ttak_envs.work, ttak_envs_workfn);
	ttak_envs.running = ttak_default_env_interval_ms() != 0;
	if (ttak_envs.running)
		queue_delayed_work(system_unbound_wq, &ttak_envs.work,
				   msecs_to_jiffies(ttak_default_env_interval_ms()));
}

void ttak_envs_exit(void)
{
	struct ttak_env_entry *e, *tmp;
	LIST_HEAD(left);

	if (ttak_envs.running)
		cancel_delayed_work_sync(&ttak_envs.work);
	/* a client module holds ttak.ko: only one that forgot is left */
	mutex_lock(&ttak_envs.rotate_lock);
	spin_lock_irq(&ttak_envs.list_lock);
	list_splice_init(&ttak_envs.list, &left);
	spin_unlock_irq(&ttak_envs.list_lock);
	mutex_unlock(&ttak_envs.rotate_lock);
	list_for_each_entry_safe(e, tmp, &left, link) {
		pr_warn("env %s still published at unload: forgotten, not freed\n",
			e->name);
		list_del(&e->link);
		ttak_debugfs_env_remove(e);
		kfree(e);
	}
}
