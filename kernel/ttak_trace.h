/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ttak.ko's tracepoints, system "ttak" (tracefs events/ttak/). They are
 * emitted by the module's glue (the files of kernel/), never by kernel/core/,
 * which user space shares; the core reaches them only through the
 * ttak_plat_trace_*() hooks of kernel/ttak_platform.h. @env is a
 * published env's name, or "default" for the module's own env.
 * ttak_trace.c creates them; without CONFIG_TRACEPOINTS they compile
 * away.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ttak

#if !defined(TTAK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define TTAK_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>
#include <linux/version.h>

/* __assign_str() lost its source argument in 6.10 */
#ifndef ttak_assign_env
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define ttak_assign_env()	__assign_str(env)
#else
#define ttak_assign_env()	__assign_str(env, env)
#endif
#endif

/* A generation began: its bytes and the chunk size it is carved by. */
TRACE_EVENT(ttak_generation_begin,
	TP_PROTO(const char *env, size_t bytes, size_t chunk),
	TP_ARGS(env, bytes, chunk),
	TP_STRUCT__entry(
		__string(env, env)
		__field(size_t, bytes)
		__field(size_t, chunk)
	),
	TP_fast_assign(
		ttak_assign_env();
		__entry->bytes = bytes;
		__entry->chunk = chunk;
	),
	TP_printk("env=%s bytes=%zu chunk=%zu", __get_str(env),
		  __entry->bytes, __entry->chunk)
);

/* A generation was released to the GC: its bytes became garbage. */
TRACE_EVENT(ttak_generation_retire,
	TP_PROTO(const char *env, size_t bytes),
	TP_ARGS(env, bytes),
	TP_STRUCT__entry(
		__string(env, env)
		__field(size_t, bytes)
	),
	TP_fast_assign(
		ttak_assign_env();
		__entry->bytes = bytes;
	),
	TP_printk("env=%s bytes=%zu", __get_str(env), __entry->bytes)
);

/*
 * ttak.ko rotated an env: its garbage bytes a rotation can act on, before
 * and after. What it flushed is freed a grace period later; a reader
 * holding that back shows as ttak_reclaim_blocked.
 */
TRACE_EVENT(ttak_gc_rotate,
	TP_PROTO(const char *env, size_t before, size_t after),
	TP_ARGS(env, before, after),
	TP_STRUCT__entry(
		__string(env, env)
		__field(size_t, before)
		__field(size_t, after)
	),
	TP_fast_assign(
		ttak_assign_env();
		__entry->before = before;
		__entry->after = after;
	),
	TP_printk("env=%s garbage_before=%zu garbage_after=%zu",
		  __get_str(env), __entry->before, __entry->after)
);

/*
 * A rotation took retired blocks out of an env, to be freed once no
 * reader can hold them; @waited_ns: since the oldest of them was retired.
 */
TRACE_EVENT(ttak_flush,
	TP_PROTO(const char *env, size_t blocks, size_t bytes, u64 waited_ns),
	TP_ARGS(env, blocks, bytes, waited_ns),
	TP_STRUCT__entry(
		__string(env, env)
		__field(size_t, blocks)
		__field(size_t, bytes)
		__field(u64, waited_ns)
	),
	TP_fast_assign(
		ttak_assign_env();
		__entry->blocks = blocks;
		__entry->bytes = bytes;
		__entry->waited_ns = waited_ns;
	),
	TP_printk("env=%s blocks=%zu bytes=%zu waited_ns=%llu",
		  __get_str(env), __entry->blocks, __entry->bytes,
		  __entry->waited_ns)
);

/* After a rotation, a reader on @cpu still holds an old @epoch. */
TRACE_EVENT(ttak_reclaim_blocked,
	TP_PROTO(int cpu, u64 epoch, u64 held_ns),
	TP_ARGS(cpu, epoch, held_ns),
	TP_STRUCT__entry(
		__field(int, cpu)
		__field(u64, epoch)
		__field(u64, held_ns)
	),
	TP_fast_assign(
		__entry->cpu = cpu;
		__entry->epoch = epoch;
		__entry->held_ns = held_ns;
	),
	TP_printk("cpu=%d epoch=%llu held_ns=%llu", __entry->cpu,
		  __entry->epoch, __entry->held_ns)
);

#endif /* TTAK_TRACE_H */

/* out of tree: define_trace.h finds this file by path and name */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ttak_trace
#include <trace/define_trace.h>
