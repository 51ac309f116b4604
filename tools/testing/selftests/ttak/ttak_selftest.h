/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the ttak kselftests: reading and writing the files
 * of /sys/kernel/debug/ttak/ and parsing what they say.
 */
#ifndef TTAK_SELFTEST_H
#define TTAK_SELFTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TTAK_DEBUGFS	"/sys/kernel/debug/ttak"
#define TTAK_PARAMS	"/sys/module/ttak/parameters"
#define TTAK_BUF	8192

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Read a whole file into @buf; the length, or -errno. */
static inline ssize_t ttak_read_path(const char *path, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd, err;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	while ((size_t)len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			err = errno;
			close(fd);
			return -err;
		}
		if (!n)
			break;
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return len;
}

static inline ssize_t ttak_read(const char *name, char *buf, size_t size)
{
	char path[256];

	snprintf(path, sizeof(path), TTAK_DEBUGFS "/%s", name);
	return ttak_read_path(path, buf, size);
}

/* Write @len bytes of @cmd to control in one write(); 0 or -errno. */
static inline int ttak_ctl_len(const char *cmd, size_t len)
{
	int fd, err = 0;
	ssize_t n;

	fd = open(TTAK_DEBUGFS "/control", O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, cmd, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

static inline int ttak_ctl(const char *cmd)
{
	return ttak_ctl_len(cmd, strlen(cmd));
}

/* The value of "key: value" in @text as a number; -1 when absent. */
static inline long long ttak_field(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return strtoll(p + klen + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static inline long long ttak_stat(const char *key)
{
	char buf[TTAK_BUF];

	if (ttak_read("stats", buf, sizeof(buf)) < 0)
		return -1;
	return ttak_field(buf, key);
}

static inline long long ttak_pressure(void)
{
	char buf[64];

	if (ttak_read("pressure", buf, sizeof(buf)) <= 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

/* A module parameter as a number; -1 when it cannot be read. */
static inline long long ttak_param(const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), TTAK_PARAMS "/%s", name);
	if (ttak_read_path(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

/**
 * struct ttak_gen_line - one line of the generations file.
 */
struct ttak_gen_line {
	unsigned int id;
	char base[32];
	unsigned long capacity, used, chunk;
	char state[16];
};

/* Find generation @id (or the newest when @id < 0); true if found. */
static inline bool ttak_gen(long long id, struct ttak_gen_line *out)
{
	char buf[TTAK_BUF], *line, *save = NULL;
	struct ttak_gen_line g;
	bool found = false;

	if (ttak_read("generations", buf, sizeof(buf)) < 0)
		return false;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line,
			   "id=%u base=%31s capacity=%lu used=%lu chunk=%lu state=%15s",
			   &g.id, g.base, &g.capacity, &g.used, &g.chunk,
			   g.state) != 6)
			continue;
		if (id >= 0 && g.id != id)
			continue;
		if (id < 0 && found && g.id < out->id)
			continue;
		*out = g;
		found = true;
	}
	return found;
}

/* Fill @out with up to @max generations; how many there are. */
static inline size_t ttak_gens(struct ttak_gen_line *out, size_t max)
{
	char buf[TTAK_BUF * 8], *line, *save = NULL;
	struct ttak_gen_line g;
	size_t n = 0;

	if (ttak_read("generations", buf, sizeof(buf)) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line,
			   "id=%u base=%31s capacity=%lu used=%lu chunk=%lu state=%15s",
			   &g.id, g.base, &g.capacity, &g.used, &g.chunk,
			   g.state) != 6)
			continue;
		if (n < max)
			out[n] = g;
		n++;
	}
	return n;
}

/* Begin a generation with @args ("" for the defaults); its id or -errno. */
static inline long long ttak_begin(const char *args)
{
	struct ttak_gen_line g;
	char cmd[64];
	int err;

	snprintf(cmd, sizeof(cmd), "begin%s%s\n", *args ? " " : "", args);
	err = ttak_ctl(cmd);
	if (err)
		return err;
	return ttak_gen(-1, &g) ? (long long)g.id : -ENOENT;
}

static inline int ttak_ctl_id(const char *verb, long long id)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "%s %lld\n", verb, id);
	return ttak_ctl(cmd);
}

/*
 * Everything the control file may change, minus what moves on its own
 * (epochs, clocks): two equal snapshots mean "nothing changed".
 */
static inline void ttak_snapshot(char *out, size_t size)
{
	static const char * const keys[] = {
		"generations_begun", "generations_retired",
		"generations_flushed", "generations_live",
		"generations_failed", "tracked_nodes", "tracked_bytes",
		"garbage_nodes", "garbage_pressure", "pending_nodes",
		"pending_bytes", "freed_nodes", "flushes", "mem_blocks",
		"mem_bytes",
	};
	char stats[TTAK_BUF], gens[TTAK_BUF];
	size_t i, len = 0;

	if (ttak_read("stats", stats, sizeof(stats)) < 0)
		stats[0] = '\0';
	if (ttak_read("generations", gens, sizeof(gens)) < 0)
		gens[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(keys) && len < size; i++)
		len += snprintf(out + len, size - len, "%s=%lld\n", keys[i],
				ttak_field(stats, keys[i]));
	if (len < size)
		snprintf(out + len, size - len, "pressure=%lld\n%s",
			 ttak_pressure(), gens);
}

static inline long long ttak_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * The module frees what a rotation flushed once an RCU grace period has
 * passed, from its own work item: a few ms, far longer on a slow guest.
 */
#define TTAK_GRACE_PERIOD_MS	20000

/*
 * Poll until pressure is 0 and flush_status says "flushed"; the ms it
 * took, or -1 after @limit_ms.
 */
static inline long long ttak_wait_flushed(long long limit_ms)
{
	long long start = ttak_now_ms();
	char buf[TTAK_BUF];

	for (;;) {
		if (ttak_pressure() == 0 &&
		    ttak_read("flush_status", buf, sizeof(buf)) > 0 &&
		    !strcmp(buf, "flushed\n"))
			return ttak_now_ms() - start;
		if (ttak_now_ms() - start > limit_ms)
			return -1;
		usleep(10000);
	}
}

#endif /* TTAK_SELFTEST_H */
