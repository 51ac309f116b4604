#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# Run every ttak user-space bench, each figure beside its baseline from
# the same run, and end with a Markdown table of all of them.
#
#   run_bench.sh [--smoke] BINDIR
#
# --smoke: seconds-long runs that only check the benches ran and their
# figures are sane (used by `make check`); targets are reported, never
# enforced. Without it the whole run takes about seven minutes.
set -eu

SMOKE=0
if [ "${1:-}" = "--smoke" ]; then
	SMOKE=1
	shift
fi
BIN=${1:?usage: run_bench.sh [--smoke] BINDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
OUTDIR=${TTAK_BENCH_OUT:-$HERE/results}
mkdir -p "$OUTDIR"
LOG=$OUTDIR/bench-$( [ $SMOKE = 1 ] && echo smoke || echo full ).txt
: > "$LOG"

say() { echo "$@" | tee -a "$LOG"; }
# the bench's exit status, not tee's: a bench that died stops the script
RC=$(mktemp)
trap 'rm -f "$RC"' EXIT
run() {
	{ rc=0; "$@" 2>&1 || rc=$?; echo "$rc" > "$RC"; } | tee -a "$LOG"
	rc=$(cat "$RC")
	if [ "$rc" != 0 ]; then
		echo "run_bench: $* exited with status $rc" >&2
		exit 1
	fi
}

say "# ttak benches, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(nproc) vCPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# how to read 2-thread figures is measured, not assumed: the EBR and TTL
# benches print a "# note:" with the parallel speed-up of this machine

# 1. arena cycle, then system calls per cycle in steady state
if [ $SMOKE = 1 ]; then run "$BIN/arena_cycle" --smoke; else run "$BIN/arena_cycle"; fi

# strace -c over N1 and N2 cycles; the difference in calls over N2 - N1
# cycles is the steady-state figure (start-up and teardown cancel out).
# Prints the total calls and the membarrier calls.
syscalls() {
	f=$(mktemp)
	strace -f -c -o "$f" "$BIN/arena_cycle" --only="$1" --cycles="$2" ${3:-} > /dev/null
	awk '$NF == "total" { t = $4 } $NF == "membarrier" { m = $4 }
		END { print t + 0, m + 0 }' "$f"
	rm -f "$f"
}
if command -v strace > /dev/null 2>&1; then
	if [ $SMOKE = 1 ]; then N1=1000; N2=11000; else N1=20000; N2=220000; fi
	t1=$(syscalls ttak $N1); t2=$(syscalls ttak $N2)
	b1=$(syscalls baseline $N1); b2=$(syscalls baseline $N2)
	# the idle reader blocks in one read() for the whole run, so every
	# call that grows with the cycles is the cycle thread's
	r1=$(syscalls ttak $N1 --reader); r2=$(syscalls ttak $N2 --reader)
	m1=${r1#* }; m2=${r2#* }
	t1=${t1% *}; t2=${t2% *}; b1=${b1% *}; b2=${b2% *}; r1=${r1% *}; r2=${r2% *}
	awk -v t1="$t1" -v t2="$t2" -v b1="$b1" -v b2="$b2" -v r1="$r1" -v r2="$r2" -v m1="$m1" -v m2="$m2" -v n="$((N2 - N1))" 'BEGIN {
		t = (t2 - t1) / n; b = (b2 - b1) / n; r = (r2 - r1) / n; m = (m2 - m1) / n
		printf "# syscalls under strace -c: ttak %d and %d calls, baseline %d and %d, with an idle reader thread %d and %d (membarrier %d and %d), for %d more cycles\n", t1, t2, b1, b2, r1, r2, m1, m2, n
		printf "RESULT arena.syscalls | system calls per arena cycle, steady state | %.4f calls | aligned_alloc+touch+free | %.4f calls | - | < 0.001 per cycle | %s\n", t, b, (t < 0.001 ? "met" : "MISSED")
		printf "RESULT arena.syscalls.reader | system calls per arena cycle, a 2nd thread registered as an idle reader | %.4f calls | aligned_alloc+touch+free | %.4f calls | - | < 0.05 per cycle | %s\n", r, b, (r < 0.05 ? "met" : "MISSED")
		printf "RESULT arena.syscalls.reader.membarrier | of these, membarrier calls per cycle | %.4f calls | aligned_alloc+touch+free | %.4f calls | - | context | -\n", m, 0
	}' | tee -a "$LOG"
else
	say "# strace not installed: system calls per cycle not measured"
fi

# 2. mem-tree scaling
if [ $SMOKE = 1 ]; then run "$BIN/tree_scaling" --smoke; else run "$BIN/tree_scaling"; fi

# 3. EBR against liburcu
if [ $SMOKE = 1 ]; then run "$BIN/ebr_bench" --smoke; else run "$BIN/ebr_bench"; fi

# 4. the TTL cache: ttak arena entries against malloc'ed entries and
# against the behaviour before generations had pages of their own
# (TTAK_BLOCK_MAP_MIN=0: generations on glibc's heap, with the evacuation
# budget of then, 150 %), and the library change alone (budget 150 %,
# generations mapped), in interleaved rounds so that a noisy neighbour
# hits all four alike; medians and spreads of the rounds
TTL=$BIN/ttl_cache_bench_lockfree
if [ $SMOKE = 1 ]; then D=2; L=3; R=1; else D=6; L=60; R=5; fi
i=0
while [ $i -lt $R ]; do
	run "$TTL" --threads=2 --duration=$D --alloc=arena --label=arena --quiet
	run "$TTL" --threads=2 --duration=$D --alloc=malloc --label=malloc --quiet
	run env TTAK_BLOCK_MAP_MIN=0 "$TTL" --threads=2 --duration=$D --budget=150 --label=before --quiet
	run "$TTL" --threads=2 --duration=$D --budget=150 --label=libonly --quiet
	i=$((i + 1))
done

# 5. RSS impact: generation and chunk sizes aligned to pages and cache
# lines against misaligned ones, long enough to judge flatness; the
# per-second samples go to CSV for the plots. Generations are mappings
# of their own, so a misaligned one pays its page rounding in full.
ALIGNED="--gen-bytes=65408 --chunk-bytes=320"
MISALIGNED="--gen-bytes=65636 --chunk-bytes=300 --no-align"
run "$TTL" --threads=2 --duration=$L --label=aligned $ALIGNED --csv="$OUTDIR/ttl-aligned.csv"
run "$TTL" --threads=2 --duration=$L --label=misaligned $MISALIGNED --csv="$OUTDIR/ttl-misaligned.csv"

awk '
/^SUMMARY/ {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	l = v["label"]; k = ++n[l]
	ops[l, k] = v["ops"]; rss[l, k] = v["rss_mib"]; bound[l, k] = v["bound_mib"]
	ratio[l, k] = v["rss_ratio"]
	flat[l] = v["flat"]; nflat[l] = v["nflat"]; dur[l] = v["duration"]
}
# median, min and max of a[l, 1..n[l]] into md, lo, hi
function spread(a, l,    c, i, j, t, s) {
	c = n[l]
	for (i = 1; i <= c; i++) s[i] = a[l, i]
	for (i = 2; i <= c; i++)
		for (j = i; j > 1 && s[j - 1] > s[j]; j--) { t = s[j]; s[j] = s[j - 1]; s[j - 1] = t }
	lo = s[1]; hi = s[c]
	md = c % 2 ? s[(c + 1) / 2] : (s[c / 2] + s[c / 2 + 1]) / 2
}
function fmt(a, l, unit) { spread(a, l); return sprintf("%.4g %s [%.4g..%.4g]", md, unit, lo, hi) }
# per-round ratios a[x, r] / a[y, r] (the two ran side by side) into q["_q", r]
function ratios(a, x, y,    r) {
	n["_q"] = n[x] < n[y] ? n[x] : n[y]
	for (r = 1; r <= n["_q"]; r++) q["_q", r] = a[x, r] / a[y, r]
}
function rfmt(a, l) { spread(a, l); return sprintf("%.3f [%.3f..%.3f]", md, lo, hi) }
END {
	ratios(ops, "arena", "malloc"); r = rfmt(q, "_q")
	printf "RESULT ttl.ops | TTL cache ops/s, 2 threads, arena entries, %d rounds | %s | malloc entries, same bench | %s | %s | >= 1.5x libttak reference (README) | -\n", n["arena"], fmt(ops, "arena", "ops/s"), fmt(ops, "malloc", "ops/s"), r
	ratios(ops, "arena", "before"); r = rfmt(q, "_q"); m = md
	printf "RESULT ttl.ops.before | TTL cache ops/s against the behaviour before (generations on glibc heap, budget 150%%) | %s | before, same bench | %s | %s | ratio >= 1.0 | %s\n", fmt(ops, "arena", "ops/s"), fmt(ops, "before", "ops/s"), r, (m >= 1.0 ? "met" : "MISSED")
	r = rfmt(ratio, "arena"); m = md
	printf "RESULT ttl.rss | TTL steady RSS, arena entries | %s | live entries x entry + table | %s | %s | ratio <= 1.25 | %s\n", fmt(rss, "arena", "MiB"), fmt(bound, "arena", "MiB"), r, (m <= 1.25 ? "met" : "MISSED")
	ratios(ops, "libonly", "before"); r = rfmt(q, "_q")
	printf "RESULT ttl.ops.libonly | TTL cache ops/s, budget 150%% with mapped generations (the library change alone) | %s | before, same bench | %s | %s | context | -\n", fmt(ops, "libonly", "ops/s"), fmt(ops, "before", "ops/s"), r
	r = rfmt(ratio, "libonly")
	printf "RESULT ttl.rss.libonly | TTL steady RSS, budget 150%% with mapped generations (the library change alone) | %s | live entries x entry + table | %s | %s | context | -\n", fmt(rss, "libonly", "MiB"), fmt(bound, "libonly", "MiB"), r
	r = rfmt(ratio, "before")
	printf "RESULT ttl.rss.before | TTL steady RSS, behaviour before (context) | %s | live entries x entry + table | %s | %s | context | -\n", fmt(rss, "before", "MiB"), fmt(bound, "before", "MiB"), r
	r = rfmt(ratio, "malloc")
	printf "RESULT ttl.rss.malloc | TTL steady RSS, malloc entries (context) | %s | live entries x entry + table | %s | %s | context | -\n", fmt(rss, "malloc", "MiB"), fmt(bound, "malloc", "MiB"), r
	spread(ops, "malloc"); mops = md
	for (k = 0; k < 2; k++) {
		l = k ? "misaligned" : "aligned"
		printf "RESULT ttl.flat.%s | TTL RSS last quarter / second quarter, %d s, %s | %.3f x | flat | 1 x | %.3f | within 10%% | %s\n", l, dur[l], l, flat[l], flat[l], (flat[l] >= 0.9 && flat[l] <= 1.1 ? "met" : "MISSED")
		printf "RESULT ttl.nflat.%s | same for RSS / (live x entry + table), %s | %.3f x | flat | 1 x | %.3f | within 10%% | %s\n", l, l, nflat[l], nflat[l], (nflat[l] >= 0.9 && nflat[l] <= 1.1 ? "met" : "MISSED")
		r = rss[l, 1] / bound[l, 1]
		printf "RESULT ttl.rss.%s | TTL steady RSS, %s, %d s | %.4g MiB | live entries x entry + table | %.4g MiB | %.3f | ratio <= 1.25 | %s\n", l, l, dur[l], rss[l, 1], bound[l, 1], r, (r <= 1.25 ? "met" : "MISSED")
		printf "RESULT ttl.ops.%s | TTL ops/s, %s, %d s | %.4g ops/s | malloc entries (median) | %.4g ops/s | %.3f | context | -\n", l, l, dur[l], ops[l, 1], mops, ops[l, 1] / mops
	}
}' "$LOG" | tee -a "$LOG"

if [ $SMOKE = 0 ] && command -v gnuplot > /dev/null 2>&1; then
	gnuplot -e "outdir='$HERE'; aligned='$OUTDIR/ttl-aligned.csv'; misaligned='$OUTDIR/ttl-misaligned.csv'" "$HERE/rss_impact.gp"
	say "# plots: $HERE/rss_impact_rss.svg $HERE/rss_impact_ops.svg"
fi

# the table
{
	echo
	echo "| figure | ours | baseline | value | ratio | target | verdict |"
	echo "|---|---|---|---|---|---|---|"
	grep '^RESULT' "$LOG" | sed 's/^RESULT //' | awk -F' [|] ' '{
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8 }'
} > "$OUTDIR/table.md"
cat "$OUTDIR/table.md"
say "# results in $LOG and $OUTDIR/table.md"

# a bench that died has stopped the script (run() above);
# in smoke mode also insist that every expected figure was printed: 45,
# or 42 without strace
if [ $SMOKE = 1 ]; then
	n=$(grep -c '^RESULT' "$LOG")
	if [ "$n" -lt 42 ]; then
		echo "smoke: only $n figures printed" >&2
		exit 1
	fi
	echo "smoke: $n figures printed, every bench ran"
fi
