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
 *
 * Addresses are printed with %p only (hashed).
 */
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <ttak/mem/epoch.h>
#include <ttak/mem_tree/mem_tree.h>
#include <ttak/timing/timing.h>

#include "core/ttak_core.h"
#include "ttak_module.h"

#define TTAK_CTL_MAX_BYTES	64
#define TTAK_CTL_MAX_ARGS	3
#define TTAK_BLOCKERS_SHOWN	8

static struct dentry *ttak_debugfs_dir;

static int stats_show(struct seq_file *m, void *unused)
{
	ttak_epoch_gc_t *gc = ttak_mod.env.gc;
	struct ttak_arena_env_stats es;
	struct ttak_mem_tree_stats ts;
	size_t blocks, bytes;
	u64 last_ns, now_ns;

	mutex_lock(&ttak_mod.lock);
	ttak_arena_env_get_stats(&ttak_mod.env, &es);
	ttak_mem_tree_get_stats(&gc->tree, &ts);
	ttak_mem_core_usage(&blocks, &bytes);
	last_ns = (u64)atomic64_read(&gc->last_rotate_ns);
	now_ns = ttak_get_tick_count_ns();

	seq_printf(m, "epoch: %llu\n", ttak_epoch_current());
	seq_printf(m, "gc_epoch: %llu\n", (u64)atomic64_read(&gc->current_epoch));
	seq_printf(m, "generations_begun: %llu\n", es.begun);
	seq_printf(m, "generations_retired: %llu\n", es.retired);
	seq_printf(m, "generations_flushed: %llu\n", ttak_mod.flushed);
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
	seq_printf(m, "flushes: %llu\n", (u64)atomic64_read(&gc->rotations));
	if (last_ns)
		seq_printf(m, "last_flush_ms_ago: %llu\n",
			   div_u64(now_ns - last_ns, NSEC_PER_MSEC));
	else
		seq_puts(m, "last_flush_ms_ago: never\n");
	seq_printf(m, "rotation: %s\n",
		   ttak_mod.auto_rotate ? "automatic" : "manual");
	seq_printf(m, "rotate_interval_ms: %u\n",
		   ttak_param_rotate_interval_ms);
	seq_printf(m, "rotate_next_ms: %lu\n",
		   ttak_mod.auto_rotate ? ttak_mod.next_ms : 0);
	seq_printf(m, "mem_blocks: %zu\n", blocks);
	seq_printf(m, "mem_bytes: %zu\n", bytes);
	mutex_unlock(&ttak_mod.lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static int pressure_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "%lu\n",
		   atomic_long_read(&ttak_mod.env.gc->tree.garbage_pressure));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pressure);

static int flush_status_show(struct seq_file *m, void *unused)
{
	struct ttak_epoch_blocker blockers[TTAK_BLOCKERS_SHOWN];
	size_t nretired, retired_bytes, i, n, shown;
	struct ttak_mem_tree_stats ts;

	mutex_lock(&ttak_mod.lock);
	nretired = ttak_mod.nretired;
	retired_bytes = ttak_mod.retired_bytes;
	ttak_mem_tree_get_stats(&ttak_mod.env.gc->tree, &ts);
	mutex_unlock(&ttak_mod.lock);

	if (!nretired && !ts.pending_nodes) {
		seq_puts(m, "flushed\n");
		return 0;
	}
	seq_printf(m, "pending: %zu blocks, %zu bytes\n",
		   nretired + ts.pending_nodes,
		   retired_bytes + ts.pending_bytes);
	if (nretired)
		seq_printf(m, "waiting for rotation: %zu blocks, %zu bytes\n",
			   nretired, retired_bytes);
	if (ts.pending_nodes)
		seq_printf(m, "waiting for readers: %zu blocks, %zu bytes\n",
			   ts.pending_nodes, ts.pending_bytes);

	n = ttak_epoch_report_blockers(blockers, ARRAY_SIZE(blockers));
	shown = min_t(size_t, n, ARRAY_SIZE(blockers));
	for (i = 0; i < shown; i++)
		seq_printf(m, "reader: cpu %d epoch %llu held %llu ms\n",
			   blockers[i].id, blockers[i].epoch,
			   div_u64(blockers[i].held_ns, NSEC_PER_MSEC));
	if (n > shown)
		seq_printf(m, "reader: %zu more\n", n - shown);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(flush_status);

/* live: room for another chunk; full: carved; retired: waits for rotation */
static const char *ttak_gen_state(const struct ttak_kgen *g)
{
	if (g->retired)
		return "retired";
	if (ttak_arena_generation_remaining(&g->gen) <
	    ALIGN(g->chunk, TTAK_CACHE_LINE_SIZE))
		return "full";
	return "live";
}

static int generations_show(struct seq_file *m, void *unused)
{
	struct ttak_kgen *g;

	mutex_lock(&ttak_mod.lock);
	list_for_each_entry(g, &ttak_mod.gens, link)
		seq_printf(m, "id=%u base=%p capacity=%zu used=%zu chunk=%zu state=%s\n",
			   g->id, g->base, g->capacity,
			   g->retired ? g->used : g->gen.used, g->chunk,
			   ttak_gen_state(g));
	mutex_unlock(&ttak_mod.lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(generations);

static int ttak_parse_size(const char *s, size_t *out)
{
	unsigned long v;
	int ret = kstrtoul(s, 10, &v);

	if (ret)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Run one command; -EINVAL for anything malformed, before any change. */
static int ttak_control_exec(int argc, char **argv)
{
	size_t size, chunk;
	u32 id;

	if (!strcmp(argv[0], "begin")) {
		size = ttak_param_generation_bytes;
		chunk = ttak_param_chunk_bytes;
		if (argc > 3 ||
		    (argc > 1 && ttak_parse_size(argv[1], &size)) ||
		    (argc > 2 && ttak_parse_size(argv[2], &chunk)))
			return -EINVAL;
		return ttak_ctl_begin(size, chunk);
	}
	if (!strcmp(argv[0], "carve")) {
		if (argc > 2 || (argc == 2 && kstrtou32(argv[1], 10, &id)))
			return -EINVAL;
		return ttak_ctl_carve(argc == 2 ? &id : NULL);
	}
	if (!strcmp(argv[0], "retire")) {
		if (argc > 2 || (argc == 2 && kstrtou32(argv[1], 10, &id)))
			return -EINVAL;
		return ttak_ctl_retire(argc == 2 ? &id : NULL);
	}
	if (!strcmp(argv[0], "rotate")) {
		if (argc != 1)
			return -EINVAL;
		ttak_ctl_rotate();
		return 0;
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

void ttak_debugfs_init(void)
{
	/* debugfs failures are not fatal: the API works without it */
	ttak_debugfs_dir = debugfs_create_dir("ttak", NULL);
	if (IS_ERR(ttak_debugfs_dir))
		pr_warn("ttak: no debugfs directory (%ld): stats not shown\n",
			PTR_ERR(ttak_debugfs_dir));
	debugfs_create_file("stats", 0400, ttak_debugfs_dir, NULL,
			    &stats_fops);
	debugfs_create_file("pressure", 0400, ttak_debugfs_dir, NULL,
			    &pressure_fops);
	debugfs_create_file("flush_status", 0400, ttak_debugfs_dir, NULL,
			    &flush_status_fops);
	debugfs_create_file("generations", 0400, ttak_debugfs_dir, NULL,
			    &generations_fops);
	debugfs_create_file("control", 0200, ttak_debugfs_dir, NULL,
			    &control_fops);
}

void ttak_debugfs_exit(void)
{
	debugfs_remove_recursive(ttak_debugfs_dir);
	ttak_debugfs_dir = NULL;
}
