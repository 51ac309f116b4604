// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs interface of ttak.ko, in /sys/kernel/debug/ttak/ (root only):
 *
 *   stats         0400  one "key: value" per line
 *   pressure      0400  garbage pressure of the default env, in bytes
 *   flush_status  0400  "flushed", or "pending: N blocks, M bytes" with the
 *                       reasons and the CPUs whose readers hold old epochs
 *   generations   0400  one line per generation the module keeps
 *   control       0200  commands, one per write of at most 64 bytes:
 *                         begin [size [chunk]]   begin a generation
 *                         carve [id]             claim all its chunks
 *                         retire [id]            release it to the GC
 *                         rotate                 flush what is safe
 *                       carve and retire act on the newest live
 *                       generation without an id. A malformed or unknown
 *                       command, or an id that names no live generation,
 *                       fails with -EINVAL and changes nothing.
 *   envs_summary  0400  one line per published env: name, pressure and
 *                       bytes not freed yet (not "envs": that is the
 *                       directory below)
 *   envs/<name>/  0500  stats, pressure, flush_status, generations of a
 *                       published env (include/ttak/kernel.h), in the
 *                       formats above; envs/default/ is the default env
 *
 * Addresses are printed with %p only (hashed). This file only parses
 * and prints: the state it shows and changes belongs to
 * ttak_default_env.c, reached through the calls of ttak_default_env.h.
 */
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <ttak/mem/epoch.h>
#include <ttak/timing/timing.h>

#include "core/ttak_core.h"
#include "ttak_debugfs.h"
#include "ttak_default_env.h"
#include "ttak_envs.h"

#define TTAK_CTL_MAX_BYTES	64
#define TTAK_CTL_MAX_ARGS	3
#define TTAK_BLOCKERS_SHOWN	8

static struct dentry *ttak_debugfs_dir;
static struct dentry *ttak_envs_dir;

static int stats_show(struct seq_file *m, void *unused)
{
	struct ttak_default_env_stats st;
	u64 now_ns;

	ttak_default_env_get_stats(&st);
	now_ns = ttak_get_tick_count_ns();

	seq_printf(m, "epoch: %llu\n", ttak_epoch_current());
	seq_printf(m, "gc_epoch: %llu\n", st.gc.epoch);
	seq_printf(m, "generations_begun: %llu\n", st.env.begun);
	seq_printf(m, "generations_retired: %llu\n", st.env.retired);
	seq_printf(m, "generations_flushed: %llu\n", st.flushed);
	seq_printf(m, "generations_live: %llu\n", st.env.live);
	seq_printf(m, "generations_failed: %llu\n", st.env.failed);
	seq_printf(m, "tracked_nodes: %zu\n", st.tree.nodes);
	seq_printf(m, "tracked_bytes: %zu\n", st.tree.bytes);
	seq_printf(m, "garbage_nodes: %zu\n", st.tree.garbage_nodes);
	seq_printf(m, "garbage_pressure: %zu\n", st.tree.garbage_pressure);
	seq_printf(m, "pressure_threshold: %zu\n", st.tree.pressure_threshold);
	seq_printf(m, "pending_nodes: %zu\n", st.tree.pending_nodes);
	seq_printf(m, "pending_bytes: %zu\n", st.tree.pending_bytes);
	seq_printf(m, "freed_nodes: %llu\n", st.tree.freed_nodes);
	seq_printf(m, "epoch_pending: %zu\n", ttak_epoch_pending());
	seq_printf(m, "flushes: %llu\n", st.gc.rotations);
	if (st.gc.last_rotate_ns)
		seq_printf(m, "last_flush_ms_ago: %llu\n",
			   div_u64(now_ns - st.gc.last_rotate_ns,
				   NSEC_PER_MSEC));
	else
		seq_puts(m, "last_flush_ms_ago: never\n");
	seq_printf(m, "rotation: %s\n",
		   st.auto_rotate ? "automatic" : "manual");
	seq_printf(m, "rotate_interval_ms: %u\n", st.rotate_interval_ms);
	seq_printf(m, "rotate_next_ms: %lu\n", st.rotate_next_ms);
	seq_printf(m, "mem_blocks: %zu\n", st.mem_blocks);
	seq_printf(m, "mem_bytes: %zu\n", st.mem_bytes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static int pressure_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "%zu\n", ttak_default_env_pressure());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pressure);

/* What an env has not freed yet, and the readers that hold it back. */
static void ttak_show_flush(struct seq_file *m,
			    const struct ttak_default_env_flush *fl)
{
	struct ttak_epoch_blocker blockers[TTAK_BLOCKERS_SHOWN];
	size_t i, n, shown;

	if (!fl->retired_nodes && !fl->pending_nodes) {
		seq_puts(m, "flushed\n");
		return;
	}
	seq_printf(m, "pending: %zu blocks, %zu bytes\n",
		   fl->retired_nodes + fl->pending_nodes,
		   fl->retired_bytes + fl->pending_bytes);
	if (fl->retired_nodes)
		seq_printf(m, "waiting for rotation: %zu blocks, %zu bytes\n",
			   fl->retired_nodes, fl->retired_bytes);
	if (fl->pending_nodes)
		seq_printf(m, "waiting for readers: %zu blocks, %zu bytes\n",
			   fl->pending_nodes, fl->pending_bytes);

	n = ttak_epoch_report_blockers(blockers, ARRAY_SIZE(blockers));
	shown = min_t(size_t, n, ARRAY_SIZE(blockers));
	for (i = 0; i < shown; i++)
		seq_printf(m, "reader: cpu %d epoch %llu held %llu ms\n",
			   blockers[i].id, blockers[i].epoch,
			   div_u64(blockers[i].held_ns, NSEC_PER_MSEC));
	if (n > shown)
		seq_printf(m, "reader: %zu more\n", n - shown);
}

static int flush_status_show(struct seq_file *m, void *unused)
{
	struct ttak_default_env_flush fl;

	ttak_default_env_get_flush(&fl);
	ttak_show_flush(m, &fl);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(flush_status);

static const char * const ttak_gen_state_names[] = {
	[TTAK_GEN_LIVE] = "live",
	[TTAK_GEN_FULL] = "full",
	[TTAK_GEN_RETIRED] = "retired",
};

static void ttak_print_gen(const struct ttak_default_env_gen *g, void *ctx)
{
	struct seq_file *m = ctx;

	seq_printf(m, "id=%u base=%p capacity=%zu used=%zu chunk=%zu state=%s\n",
		   g->id, g->base, g->capacity, g->used, g->chunk,
		   ttak_gen_state_names[g->state]);
}

static int generations_show(struct seq_file *m, void *unused)
{
	ttak_default_env_walk_gens(ttak_print_gen, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(generations);

/*
 * A published env's files: the same formats as the default env's, from
 * the counters the core gives for any env. They run only while the env
 * is published: unpublish removes them and waits for their readers.
 */
static int env_stats_show(struct seq_file *m, void *unused)
{
	const struct ttak_env_entry *e = m->private;
	struct ttak_arena_env_stats es;
	struct ttak_mem_tree_stats ts;
	struct ttak_epoch_gc_stats gs;
	unsigned int interval = ttak_default_env_interval_ms();
	size_t blocks, bytes;
	u64 now_ns;

	ttak_arena_env_get_stats(e->env, &es);
	ttak_mem_tree_get_stats(&e->env->gc->tree, &ts);
	ttak_epoch_gc_get_stats(e->env->gc, &gs);
	ttak_mem_core_usage(&blocks, &bytes);
	now_ns = ttak_get_tick_count_ns();

	seq_printf(m, "epoch: %llu\n", ttak_epoch_current());
	seq_printf(m, "gc_epoch: %llu\n", gs.epoch);
	seq_printf(m, "generations_begun: %llu\n", es.begun);
	seq_printf(m, "generations_retired: %llu\n", es.retired);
	/* the tree tracks only the env's generations: a freed node is one */
	seq_printf(m, "generations_flushed: %llu\n", ts.freed_nodes);
	seq_printf(m, "generations_live: %llu\n", es.live);
	seq_printf(m, "generations_failed: %llu\n", es.failed);
	seq_printf(m, "tracked_nodes: %zu\n", ts.nodes);
	seq_printf(m, "tracked_bytes: %zu\n", ts.bytes);
	seq_printf(m, "garbage_nodes: %zu\n", ts.garbage_nodes);
	seq_printf(m, "garbage_pressure: %zu\n", ts.garbage_pressure);
	seq_printf(m, "pressure_threshold: %zu\n", ts.pressure_threshold);
	seq_printf(m, "pending_nodes: %zu\n", ts.pending_nodes);
	seq_printf(m, "pending_bytes: %zu\n", ts.pending_bytes);
	seq_printf(m, "freed_nodes: %llu\n", ts.freed_nodes);
	seq_printf(m, "epoch_pending: %zu\n", ttak_epoch_pending());
	seq_printf(m, "flushes: %llu\n", gs.rotations);
	if (gs.last_rotate_ns)
		seq_printf(m, "last_flush_ms_ago: %llu\n",
			   div_u64(now_ns - gs.last_rotate_ns, NSEC_PER_MSEC));
	else
		seq_puts(m, "last_flush_ms_ago: never\n");
	/* ttak.ko's background work leaves a GC in manual mode alone */
	seq_printf(m, "rotation: %s\n",
		   interval && !gs.manual ? "automatic" : "manual");
	seq_printf(m, "rotate_interval_ms: %u\n", interval);
	seq_printf(m, "rotate_next_ms: %u\n", gs.manual ? 0 : interval);
	seq_printf(m, "mem_blocks: %zu\n", blocks);
	seq_printf(m, "mem_bytes: %zu\n", bytes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(env_stats);

static int env_pressure_show(struct seq_file *m, void *unused)
{
	const struct ttak_env_entry *e = m->private;

	seq_printf(m, "%zu\n",
		   (size_t)atomic_long_read(&e->env->gc->tree.garbage_pressure));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(env_pressure);

struct ttak_env_walk {
	struct seq_file *m;	/* NULL: count only */
	size_t retired_nodes;
	size_t retired_bytes;
};

static void ttak_env_walk_node(const void *ptr, size_t size, bool garbage,
			       void *ctx)
{
	struct ttak_env_walk *w = ctx;

	if (garbage) {
		w->retired_nodes++;
		w->retired_bytes += size;
	}
	if (w->m)
		seq_printf(w->m, "base=%p bytes=%zu state=%s\n", ptr, size,
			   garbage ? "retired" : "live");
}

static int env_flush_status_show(struct seq_file *m, void *unused)
{
	const struct ttak_env_entry *e = m->private;
	struct ttak_default_env_flush fl;
	struct ttak_mem_tree_stats ts;
	struct ttak_env_walk w = { };

	ttak_mem_tree_walk(&e->env->gc->tree, ttak_env_walk_node, &w);
	ttak_mem_tree_get_stats(&e->env->gc->tree, &ts);
	fl.retired_nodes = w.retired_nodes;
	fl.retired_bytes = w.retired_bytes;
	fl.pending_nodes = ts.pending_nodes;
	fl.pending_bytes = ts.pending_bytes;
	ttak_show_flush(m, &fl);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(env_flush_status);

static int env_generations_show(struct seq_file *m, void *unused)
{
	const struct ttak_env_entry *e = m->private;
	struct ttak_mem_tree_stats ts;
	struct ttak_env_walk w = { .m = m };

	ttak_mem_tree_walk(&e->env->gc->tree, ttak_env_walk_node, &w);
	/* out of the tree, waiting for readers: counted, not listed */
	ttak_mem_tree_get_stats(&e->env->gc->tree, &ts);
	if (ts.pending_nodes)
		seq_printf(m, "pending flush: %zu blocks, %zu bytes\n",
			   ts.pending_nodes, ts.pending_bytes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(env_generations);

static void ttak_envs_line(const char *name, size_t pressure, size_t pending,
			   struct seq_file *m)
{
	seq_printf(m, "%s pressure=%zu pending_bytes=%zu\n", name, pressure,
		   pending);
}

static void ttak_print_env(const struct ttak_env_entry *e, void *ctx)
{
	struct ttak_mem_tree_stats ts;

	ttak_mem_tree_get_stats(&e->env->gc->tree, &ts);
	/* pressure holds what waits for a rotation and for readers */
	ttak_envs_line(e->name, ts.garbage_pressure, ts.garbage_pressure, ctx);
}

static int envs_show(struct seq_file *m, void *unused)
{
	struct ttak_default_env_flush fl;

	ttak_default_env_get_flush(&fl);
	ttak_envs_line("default", ttak_default_env_pressure(),
		       fl.retired_bytes + fl.pending_bytes, m);
	ttak_envs_walk(ttak_print_env, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(envs);

static int ttak_parse_size(const char *s, size_t *out)
{
	unsigned long v;
	int ret = kstrtoul(s, 10, &v);

	if (ret)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Run one command; -EINVAL for anything malformed, before any change,
 * else what the default env's control operation returns.
 */
static int ttak_control_exec(int argc, char **argv)
{
	size_t size, chunk;
	u32 id;

	if (!strcmp(argv[0], "begin")) {
		/* a size left out is the module parameter's */
		if (argc > 3 ||
		    (argc > 1 && ttak_parse_size(argv[1], &size)) ||
		    (argc > 2 && ttak_parse_size(argv[2], &chunk)))
			return -EINVAL;
		return ttak_default_env_begin(argc > 1 ? &size : NULL,
					      argc > 2 ? &chunk : NULL);
	}
	if (!strcmp(argv[0], "carve")) {
		if (argc > 2 || (argc == 2 && kstrtou32(argv[1], 10, &id)))
			return -EINVAL;
		return ttak_default_env_carve(argc == 2 ? &id : NULL);
	}
	if (!strcmp(argv[0], "retire")) {
		if (argc > 2 || (argc == 2 && kstrtou32(argv[1], 10, &id)))
			return -EINVAL;
		return ttak_default_env_retire(argc == 2 ? &id : NULL);
	}
	if (!strcmp(argv[0], "rotate")) {
		if (argc != 1)
			return -EINVAL;
		return ttak_default_env_rotate();
	}
	return -EINVAL;
}

static ssize_t control_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[TTAK_CTL_MAX_BYTES + 1];
	char *argv[TTAK_CTL_MAX_ARGS];
	char *cur = buf, *tok;
	int argc = 0, ret;

	if (!count || count > TTAK_CTL_MAX_BYTES)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (strlen(buf) != count)	/* embedded NUL */
		return -EINVAL;

	while ((tok = strsep(&cur, " \t\n"))) {
		if (!*tok)
			continue;
		if (argc == TTAK_CTL_MAX_ARGS)
			return -EINVAL;
		argv[argc++] = tok;
	}
	if (!argc)
		return -EINVAL;
	ret = ttak_control_exec(argc, argv);
	return ret ? ret : (ssize_t)count;
}

static const struct file_operations control_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.write = control_write,
};

struct dentry *ttak_debugfs_env_add(struct ttak_env_entry *e)
{
	struct dentry *dir = debugfs_create_dir(e->name, ttak_envs_dir);

	if (IS_ERR(dir)) {
		pr_warn("ttak: no debugfs directory for env %s (%ld)\n",
			e->name, PTR_ERR(dir));
		return dir;
	}
	debugfs_create_file("stats", 0400, dir, e, &env_stats_fops);
	debugfs_create_file("pressure", 0400, dir, e, &env_pressure_fops);
	debugfs_create_file("flush_status", 0400, dir, e,
			    &env_flush_status_fops);
	debugfs_create_file("generations", 0400, dir, e,
			    &env_generations_fops);
	return dir;
}

void ttak_debugfs_env_remove(struct ttak_env_entry *e)
{
	debugfs_remove_recursive(e->dir);
	e->dir = NULL;
}

/* stats, pressure, flush_status and generations of the default env */
static void ttak_debugfs_default_files(struct dentry *dir)
{
	debugfs_create_file("stats", 0400, dir, NULL, &stats_fops);
	debugfs_create_file("pressure", 0400, dir, NULL, &pressure_fops);
	debugfs_create_file("flush_status", 0400, dir, NULL,
			    &flush_status_fops);
	debugfs_create_file("generations", 0400, dir, NULL,
			    &generations_fops);
}

void ttak_debugfs_init(void)
{
	/* debugfs failures are not fatal: the API works without it */
	ttak_debugfs_dir = debugfs_create_dir("ttak", NULL);
	if (IS_ERR(ttak_debugfs_dir))
		pr_warn("ttak: no debugfs directory (%ld): stats not shown\n",
			PTR_ERR(ttak_debugfs_dir));
	ttak_debugfs_default_files(ttak_debugfs_dir);
	debugfs_create_file("control", 0200, ttak_debugfs_dir, NULL,
			    &control_fops);
	debugfs_create_file("envs_summary", 0400, ttak_debugfs_dir, NULL,
			    &envs_fops);
	ttak_envs_dir = debugfs_create_dir("envs", ttak_debugfs_dir);
	ttak_debugfs_default_files(debugfs_create_dir("default",
						      ttak_envs_dir));
}

void ttak_debugfs_exit(void)
{
	debugfs_remove_recursive(ttak_debugfs_dir);
	ttak_debugfs_dir = NULL;
	ttak_envs_dir = NULL;
}
