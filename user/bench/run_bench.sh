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
# enforced. Without it the whole run takes about four minutes.
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

# 4. the TTL cache: ttak arena entries against malloc'ed entries, in
# alternating runs so that a noisy neighbour hits both alike
TTL=$BIN/ttl_cache_bench_lockfree
if [ $SMOKE = 1 ]; then D=2; L=3; M=2; R=1; else D=8; L=60; M=10; R=2; fi
i=0
while [ $i -lt $R ]; do
	run "$TTL" --threads=2 --duration=$D --alloc=arena --label=arena --quiet
	run "$TTL" --threads=2 --duration=$D --alloc=malloc --label=malloc --quiet
	i=$((i + 1))
done

# 5. RSS impact: generation and chunk sizes aligned to pages and cache
# lines against misaligned ones, long enough to judge flatness; the
# per-second samples go to CSV for the plots. Then the same pair with
# each generation mapped on its own (glibc's mmap threshold lowered to
# the generation size), where the page rounding shows undiluted.
ALIGNED="--gen-bytes=65408 --chunk-bytes=320"
MISALIGNED="--gen-bytes=65636 --chunk-bytes=300 --no-align"
run "$TTL" --threads=2 --duration=$L --label=aligned $ALIGNED --csv="$OUTDIR/ttl-aligned.csv"
run "$TTL" --threads=2 --duration=$L --label=misaligned $MISALIGNED --csv="$OUTDIR/ttl-misaligned.csv"
run "$TTL" --threads=2 --duration=$M --label=aligned-mmap $ALIGNED --gen-mmap --quiet
run "$TTL" --threads=2 --duration=$M --label=misaligned-mmap $MISALIGNED --gen-mmap --quiet

awk '
/^SUMMARY/ {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	l = v["label"]; n[l]++
	ops[l] += v["ops"]; rss[l] += v["rss_mib"]; bound[l] += v["bound_mib"]
	flat[l] = v["flat"]; nflat[l] = v["nflat"]; dur[l] = v["duration"]
}
function r(l) { return rss[l] / bound[l] }
END {
	for (l in n) { ops[l] /= n[l]; rss[l] /= n[l]; bound[l] /= n[l] }
	printf "RESULT ttl.ops | TTL cache ops/s, 2 threads (2 vCPUs on ~1 core), arena entries | %.4g ops/s | malloc entries, same bench | %.4g ops/s | %.3f | >= 1.5x libttak reference (README) | -\n", ops["arena"], ops["malloc"], ops["arena"] / ops["malloc"]
	printf "RESULT ttl.rss | TTL steady RSS, arena entries | %.4g MiB | live entries x entry + table | %.4g MiB | %.3f | ratio <= 1.25 | %s\n", rss["arena"], bound["arena"], r("arena"), (r("arena") <= 1.25 ? "met" : "MISSED")
	printf "RESULT ttl.rss.malloc | TTL steady RSS, malloc entries (context) | %.4g MiB | live entries x entry + table | %.4g MiB | %.3f | context | -\n", rss["malloc"], bound["malloc"], r("malloc")
	for (k = 0; k < 2; k++) {
		l = k ? "misaligned" : "aligned"
		printf "RESULT ttl.flat.%s | TTL RSS last quarter / second quarter, %d s, %s | %.3f x | flat | 1 x | %.3f | within 10%% | %s\n", l, dur[l], l, flat[l], flat[l], (flat[l] >= 0.9 && flat[l] <= 1.1 ? "met" : "MISSED")
		printf "RESULT ttl.nflat.%s | same for RSS / (live x entry + table), %s | %.3f x | flat | 1 x | %.3f | within 10%% | %s\n", l, l, nflat[l], nflat[l], (nflat[l] >= 0.9 && nflat[l] <= 1.1 ? "met" : "MISSED")
		printf "RESULT ttl.rss.%s | TTL steady RSS, %s | %.4g MiB | live entries x entry + table | %.4g MiB | %.3f | ratio <= 1.25 | %s\n", l, l, rss[l], bound[l], r(l), (r(l) <= 1.25 ? "met" : "MISSED")
		printf "RESULT ttl.ops.%s | TTL ops/s, %s | %.4g ops/s | malloc entries | %.4g ops/s | %.3f | context | -\n", l, l, ops[l], ops["malloc"], ops[l] / ops["malloc"]
		l = l "-mmap"
		printf "RESULT ttl.rss.%s | TTL steady RSS, %s | %.4g MiB | live entries x entry + table | %.4g MiB | %.3f | context | -\n", l, l, rss[l], bound[l], r(l)
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
# in smoke mode also insist that every expected figure was printed: 43,
# or 40 without strace
if [ $SMOKE = 1 ]; then
	n=$(grep -c '^RESULT' "$LOG")
	if [ "$n" -lt 40 ]; then
		echo "smoke: only $n figures printed" >&2
		exit 1
	fi
	echo "smoke: $n figures printed, every bench ran"
fi
