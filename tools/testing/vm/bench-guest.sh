#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of run-bench.sh: run ttak_bench.ko inside the QEMU guest.
# run-bench.sh hands this script to run-vm.sh as the selftests' ttak.sh,
# so it runs as /ttak/ttak.sh (root, in /ttak) and prints TAP for the
# runner's verdict; the benchmark's own lines go out as "# ttak_bench: ...".
#
#   1  insmod ttak.ko
#   2  insmod ttak_bench.ko: the run at load (parameters from
#      TTAK_BENCH_PARAMS in bench-conf.sh) ends with "done status=0", and
#      its retire figures used every online CPU
#   3  debugfs: `results` shows the run, bad writes to `run` are refused,
#      a short run through `run` (TTAK_BENCH_RERUN rounds) succeeds
#   4  rmmod ttak_bench and ttak; with kmemleak, two scans find nothing
#
# Not a kselftest: tools/testing/selftests/ttak/ttak.sh never loads
# ttak_bench.ko.

dir=${TTAK_DIR:-$(cd "$(dirname "$0")" && pwd)}
dfs=/sys/kernel/debug/ttak_bench
TTAK_BENCH_PARAMS=
TTAK_BENCH_RERUN=1
# shellcheck source=/dev/null
[ ! -f "$dir/bench-conf.sh" ] || . "$dir/bench-conf.sh"
n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n $*"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n $*"
}

mark_klog() {
	klog_mark=$(dmesg | wc -l)
}

# The benchmark's kernel log lines since the mark, without timestamps.
bench_lines() {
	dmesg | tail -n +$((klog_mark + 1)) |
		sed -n 's/^\[[ 0-9.]*\] //; /^ttak_bench: /p'
}

loaded() {
	grep -q "^$1 " /proc/modules
}

echo "TAP version 13"
echo "1..4"
grep -q ' /sys/kernel/debug debugfs ' /proc/mounts ||
	mount -t debugfs none /sys/kernel/debug

if insmod "$dir/ttak.ko"; then
	ok "insmod ttak.ko"
else
	not_ok "insmod ttak.ko"
fi

mark_klog
start=$(date +%s)
# shellcheck disable=SC2086 # the parameters are separate words
if insmod "$dir/ttak_bench.ko" $TTAK_BENCH_PARAMS; then
	rc=0
else
	rc=$?
fi
secs=$(($(date +%s) - start))
bench_lines | sed 's/^/# /'
echo "# insmod ttak_bench.ko $TTAK_BENCH_PARAMS took ${secs}s"
cpus=$(grep -c '^processor' /proc/cpuinfo)
if [ $rc = 0 ] && bench_lines | grep -q '^ttak_bench: done status=0 ' &&
   bench_lines | grep -q "^ttak_bench: retire cpus=$cpus "; then
	ok "ttak_bench run at load, retire on $cpus CPUs"
else
	not_ok "ttak_bench run at load, retire on $cpus CPUs (insmod status $rc)"
fi

debugfs_checks() {
	if ! loaded ttak_bench; then
		echo "not loaded"
		return 1
	fi
	grep -q '^done status=0 ' "$dfs/results" ||
		{ echo "results show no finished run"; return 1; }
	for bad in 0 64 abc -1 ''; do
		if echo "$bad" >"$dfs/run" 2>/dev/null; then
			echo "write '$bad' to run was accepted"
			return 1
		fi
	done
	mark_klog
	echo "$TTAK_BENCH_RERUN" >"$dfs/run" ||
		{ echo "run with $TTAK_BENCH_RERUN rounds failed"; return 1; }
	if ! grep -q "^config rounds=$TTAK_BENCH_RERUN " "$dfs/results" ||
	   ! grep -q '^done status=0 ' "$dfs/results"; then
		echo "results do not show the new run"
		return 1
	fi
	bench_lines | grep -q '^ttak_bench: done status=0 ' ||
		{ echo "the new run logged nothing"; return 1; }
	return 0
}

if why=$(debugfs_checks 2>&1); then
	sed 's/^/# rerun: /' "$dfs/results"
	ok "debugfs run and results"
else
	echo "# $why"
	not_ok "debugfs run and results"
fi

unload_ok=1
loaded ttak_bench && { rmmod ttak_bench || unload_ok=0; }
loaded ttak && { rmmod ttak || unload_ok=0; }
leak=
kml=/sys/kernel/debug/kmemleak
if [ -w "$kml" ]; then
	# kmemleak reports an object only after two scans a few seconds apart
	echo scan >"$kml"
	sleep 5
	echo scan >"$kml"
	leak=$(cat "$kml")
	[ -z "$leak" ] || echo "$leak" | head -n 40 | sed 's/^/# /'
	note=
else
	note=" # kmemleak not in this kernel"
fi
if [ $unload_ok = 1 ] && [ -z "$leak" ]; then
	ok "rmmod ttak_bench and ttak, nothing leaked$note"
else
	not_ok "rmmod ttak_bench and ttak, nothing leaked"
fi

echo "# $n tests, $failed failed"
[ $failed = 0 ]
