#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest entry point for ttak.ko. Prints TAP version 13; the harness
# programs' own TAP is nested under "# " as kselftest's runner does.
#
#   1-5  insmod refuses invalid module parameters, with a clear message
#   6    insmod ttak.ko (manual rotation)
#   7    ttak_debugfs_test: modes, lifecycle and pressure accounting,
#        malformed commands, unprivileged users, concurrent use
#   8    the in-kernel lesson 40 (ttak_lesson40_test.ko) loads and passes
#   9    a reader inside an epoch section holds the flush back, and
#        flush_status names its CPU (ttak_epoch_hold_test.ko)
#   10   rmmod with live and retired generations frees all of them
#   11   background rotation flushes on its own (rotate_interval_ms=200)
#   12   a retire over the pressure threshold kicks the rotation at once
#   13   ttak_torture.ko: epoch readers in task, softirq and hardirq
#        context against retirers in process, timer (softirq) and
#        hardirq context and inside read sections, mem tree references
#        against a cleaner, an arena env rotated under its user, for
#        $TTAK_TORTURE_S seconds (default 20, 10 on the VM's debug
#        kernel); fails on any read of a freed object, any lost
#        reference, a retired object not cleaned up exactly once by the
#        final ttak_epoch_synchronize(), or a reader or retire source
#        that did no work; the retire, read and rotation counts are
#        relayed on a "# torture counts:" line
#   14   the core's unit suite (kernel/tests/ttak_core_test.c, which user
#        space runs as test_core_suite) inside the kernel: each case of
#        ttak_core_test.ko's KTAP is relayed, nested, as a result of its own
#   15-  ttak.ko as a facility for other modules: published envs, the
#        shrinker (ttak_facility.sh lists them)
#
# Run as root. The modules are taken from $TTAK_DIR (default: this
# script's directory) when ttak.ko is there, else from the installed tree
# with modprobe. The test modules (kernel/tests/) are built only by
# `make module TTAK_TESTS=y`, after which `make modules_install` installs
# them too; DKMS never does. ttak.ko must not be loaded already. Exit
# status: 0 when everything passed, 1 otherwise, 4 (skip) when not root.

dir=${TTAK_DIR:-$(cd "$(dirname "$0")" && pwd)}
tmp=${TMPDIR:-/tmp}/ttak-selftest.$$
dfs=/sys/kernel/debug/ttak
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

diag() {
	sed 's/^/# /'
}

# Kernel log lines written since the last mark.
mark_klog() {
	klog_mark=$(dmesg | wc -l)
}

klog() {
	dmesg | tail -n +$((klog_mark + 1))
}

load_ttak() {
	if [ -f "$dir/ttak.ko" ]; then
		insmod "$dir/ttak.ko" "$@"
	else
		modprobe ttak "$@"
	fi
}

load_lesson40() {
	if [ -f "$dir/ttak_lesson40_test.ko" ]; then
		insmod "$dir/ttak_lesson40_test.ko"
	else
		modprobe ttak_lesson40_test
	fi
}

loaded() {
	grep -q "^$1 " /proc/modules
}

# run_harness NAME PROGRAM [ARGS]: one TAP result for a harness program.
run_harness() {
	name=$1
	shift
	"$@" >"$tmp/out" 2>&1
	rc=$?
	diag <"$tmp/out"
	case $rc in
	0) ok "$name" ;;
	4) ok "$name # SKIP" ;;
	*) not_ok "$name (exit $rc)" ;;
	esac
}

# bad_param DESCRIPTION EXPECTED-LOG-TEXT PARAMS...
bad_param() {
	desc=$1
	want=$2
	shift 2
	mark_klog
	if load_ttak "$@" 2>/dev/null; then
		rmmod ttak
		not_ok "$desc: insmod accepted $*"
		return
	fi
	if loaded ttak; then
		not_ok "$desc: module left loaded"
	elif klog | grep -q -- "$want"; then
		klog | grep -- "$want" | diag
		ok "$desc"
	else
		klog | diag
		not_ok "$desc: no '$want' in the kernel log"
	fi
}

lesson40() {
	mark_klog
	if ! load_lesson40; then
		klog | diag
		not_ok "in-kernel lesson 40: insmod failed"
		return
	fi
	klog | grep -e 'ttak_lesson40_test: ' | diag
	log=$(klog)
	rmmod ttak_lesson40_test
	started=$(echo "$log" |
		grep -c '\[arena\] generation [0-2] started (capacity=4096, chunk=128)')
	# %p: hashed (or "(____ptrval____)" before the hash key is ready)
	chunks=$(echo "$log" |
		grep -c -e 'chunk\[[0-9]*\] => 00000000[0-9a-f]\{8\} pattern=0x' \
			-e 'chunk\[[0-9]*\] => (____ptrval____) pattern=0x')
	used=$(echo "$log" | grep -c 'used=4096 / 4096 bytes (32 chunks)')
	flushed=$(echo "$log" | grep -c 'cleanup status: flushed')
	if [ "$started" = 3 ] && [ "$chunks" = 12 ] && [ "$used" = 3 ] &&
	   [ "$flushed" = 3 ] && echo "$log" | grep -q 'lesson40: PASS'; then
		ok "in-kernel lesson 40"
	else
		not_ok "in-kernel lesson 40 (started $started, chunk lines $chunks, used $used, flushed $flushed)"
	fi
}

ctl() {
	echo "$1" >"$dfs/control"
}

# wait_flushed DIR: what a rotation flushed is freed after a grace
# period, by ttak.ko's own work item: wait (20 s at most, for a slow
# guest) until DIR's pressure is 0 and its flush_status "flushed".
wait_flushed() {
	waited=0
	while { [ "$(cat "$1/pressure")" != 0 ] ||
		[ "$(cat "$1/flush_status")" != flushed ]; } &&
	      [ $waited -lt 20 ]; do
		sleep 1
		waited=$((waited + 1))
	done
}

# torture_count NAME: the value of NAME=<n> in the torture's count lines.
torture_count() {
	echo " $torture_counts" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}

# ttak_torture.ko runs in its insmod and fails it on a bad read or a lost
# reference; the counts must also show that the softirq readers ran and
# that each retire source retired.
torture() {
	name="torture: epoch readers and retirers in every context, mem tree, arena"
	secs=${TTAK_TORTURE_S:-20}
	# KASAN and lockdep under TCG: half the time does as much work
	[ "${TTAK_VM_TARGET:-}" != debug ] || secs=${TTAK_TORTURE_S:-10}
	if [ "$(grep -c '^processor' /proc/cpuinfo)" -lt 2 ]; then
		ok "$name # SKIP needs two CPUs"
		return
	fi
	if ! load_ttak; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	mark_klog
	if [ -n "${TTAK_VM_TARGET:-}" ]; then
		# busybox insmod retries a failed finit_module() with
		# init_module(), which would run a failing torture twice; the
		# kernel refuses a gzip file in finit_module() at once
		gzip -c "$dir/ttak_torture.ko" >"$tmp/ttak_torture.ko.gz"
		insmod "$tmp/ttak_torture.ko.gz" duration_s="$secs"
	elif [ -f "$dir/ttak_torture.ko" ]; then
		insmod "$dir/ttak_torture.ko" duration_s="$secs"
	else
		modprobe ttak_torture duration_s="$secs"
	fi
	rc=$?
	log=$(klog | grep 'ttak_torture: ')
	echo "$log" | diag
	! loaded ttak_torture || rmmod ttak_torture
	rmmod ttak || not_ok "$name: rmmod ttak failed"
	torture_counts=$(echo "$log" | sed -n 's/.*ttak_torture: counts: //p' |
		tr '\n' ' ')
	soft=$(torture_count softirq_reads)
	bad=$(torture_count bad_reads)
	lost=$(torture_count lost_refs)
	counts="cpus=$(torture_count cpus) reads=$(torture_count reads)"
	counts="$counts softirq_reads=${soft:-?}"
	counts="$counts softirq_over_task=$(torture_count softirq_over_task)"
	counts="$counts hardirq_reads=$(torture_count hardirq_reads)"
	counts="$counts bad_reads=${bad:-?} acquires=$(torture_count acquires)"
	counts="$counts lost_refs=${lost:-?} rotations=$(torture_count rotations)"
	# per retire source (process, timer, hardirq, in a section)
	retired=
	idle=
	for src in process timer hardirq in_section; do
		c=$(torture_count retired_$src)
		retired="$retired retired_$src=$c"
		[ "${c:-0}" -gt 0 ] || idle="$idle $src"
	done
	echo "torture counts:$retired retired_total=$(torture_count retired_total) cleaned=$(torture_count cleaned) reads=$(torture_count reads) softirq_reads=${soft:-?} hardirq_reads=$(torture_count hardirq_reads) insection_reads=$(torture_count insection_reads) rotations=$(torture_count rotations)" |
		diag
	if [ "$rc" -eq 0 ] && [ "${soft:-0}" -gt 0 ] && [ "${bad:-1}" -eq 0 ] &&
	   [ "${lost:-1}" -eq 0 ] && [ -z "$idle" ] &&
	   echo "$log" | grep -q 'ttak_torture: PASS'; then
		ok "$name ($counts)"
	else
		not_ok "$name (insmod status $rc; $counts${idle:+; no retires from$idle})"
	fi
}

# ttak_core_test.ko runs the unit suite in its init and fails its insmod
# when a case fails; the KTAP it logs is relayed nested under one result.
core_suite() {
	name="the core's unit suite in the kernel (ttak_core_test.ko)"
	if ! load_ttak; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	mark_klog
	if [ -n "${TTAK_VM_TARGET:-}" ]; then
		# a gzip file makes busybox insmod run init once (see torture)
		gzip -c "$dir/ttak_core_test.ko" >"$tmp/ttak_core_test.ko.gz"
		insmod "$tmp/ttak_core_test.ko.gz"
	elif [ -f "$dir/ttak_core_test.ko" ]; then
		insmod "$dir/ttak_core_test.ko"
	else
		modprobe ttak_core_test
	fi
	rc=$?
	# "[time] ttak_core_test: <KTAP line>"
	klog | sed -n 's/^[^a-z]*ttak_core_test: //p' >"$tmp/core"
	diag <"$tmp/core"
	! loaded ttak_core_test || rmmod ttak_core_test
	rmmod ttak || not_ok "$name: rmmod ttak failed"
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tmp/core")
	passed=$(grep -c '^ok ' "$tmp/core")
	if [ "$rc" -eq 0 ] && [ -n "$plan" ] && [ "$passed" = "$plan" ]; then
		ok "$name: $passed cases"
	else
		not_ok "$name (insmod status $rc; $passed of ${plan:-?} cases passed)"
	fi
}

# The memory of a flushed generation waits for a reader that may hold it.
reader_holds_flush() {
	# the module's longest: insmod, retire and rotate must fit inside the
	# section even on a busy host running the debug kernel
	hold_ms=5000
	name="a reader inside an epoch section holds the flush back"
	# the section spins on one CPU while the test runs on another
	if [ "$(grep -c '^processor' /proc/cpuinfo)" -lt 2 ]; then
		ok "$name # SKIP needs two CPUs"
		return
	fi
	if ! ctl "begin 4096 128" || ! ctl carve; then
		not_ok "$name: setup failed"
		return
	fi
	if [ -f "$dir/ttak_epoch_hold_test.ko" ]; then
		insmod "$dir/ttak_epoch_hold_test.ko" hold_ms=$hold_ms
	else
		modprobe ttak_epoch_hold_test hold_ms=$hold_ms
	fi || {
		not_ok "$name: insmod ttak_epoch_hold_test.ko failed"
		return
	}
	start=$(date +%s)
	ctl retire && ctl rotate
	# pressure first: once the reader leaves, the background work may
	# free the block before the next rotate, and a status that still
	# shows it waiting proves it was pending when pressure was read
	pressure=$(cat "$dfs/pressure")
	status=$(cat "$dfs/flush_status")
	echo "$status" | diag
	# wait out the section (date has 1 s granularity: one more second)
	while [ $(($(date +%s) - start)) -le $((hold_ms / 1000 + 1)) ]; do
		sleep 1
	done
	rmmod ttak_epoch_hold_test
	ctl rotate
	wait_flushed "$dfs"
	after=$(cat "$dfs/flush_status")
	echo "after the reader left: $after, pressure $(cat "$dfs/pressure")" |
		diag
	if echo "$status" | grep -q '^pending: 1 blocks, 4096 bytes$' &&
	   echo "$status" | grep -q '^waiting for readers: 1 blocks, 4096 bytes$' &&
	   echo "$status" | grep -q '^reader: cpu [0-9]* epoch [0-9]* held [0-9]* ms$' &&
	   [ "$pressure" = 4096 ] && [ "$after" = flushed ] &&
	   [ "$(cat "$dfs/pressure")" = 0 ]; then
		ok "$name"
	else
		not_ok "$name"
	fi
}

# Leave generations in every state, unload, and check what was freed.
unload_with_generations() {
	if ! { ctl begin && ctl carve && ctl begin && ctl "begin 8192 256" &&
	       ctl carve && ctl begin && ctl retire; }; then
		not_ok "rmmod with live generations: setup failed"
		return
	fi
	live=$(grep -c -e 'state=live' -e 'state=full' "$dfs/generations")
	retired=$(grep -c 'state=retired' "$dfs/generations")
	blocks=$(sed -n 's/^mem_blocks: //p' "$dfs/stats")
	echo "$live live, $retired retired generations, $blocks blocks" | diag
	mark_klog
	if ! rmmod ttak; then
		not_ok "rmmod with live generations: rmmod failed"
		return
	fi
	want="unloaded: freed $live live and $retired retired generations; 0 stray blocks (0 bytes) reclaimed"
	klog | grep 'ttak: ' | diag
	if [ "$live" -ge 3 ] && [ "$retired" -ge 1 ] && [ "$blocks" -ge 4 ] &&
	   ! loaded ttak && [ ! -e "$dfs" ] && klog | grep -q -- "$want"; then
		ok "rmmod with live and retired generations frees them all"
	else
		not_ok "rmmod with live and retired generations frees them all"
	fi
}

# rotation NAME TEST PARAMS...: reload with PARAMS and run one test.
rotation() {
	name=$1
	test=$2
	shift 2
	if ! load_ttak "$@"; then
		not_ok "$name: insmod $* failed"
		return
	fi
	run_harness "$name" "$dir/ttak_rotation_test" -t "$test"
	rmmod ttak || not_ok "$name: rmmod failed"
}

echo "TAP version 13"
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP ttak.sh must run as root"
	exit 4
fi
if loaded ttak; then
	echo "Bail out! ttak.ko is loaded already; unload it first"
	exit 1
fi
grep -q ' /sys/kernel/debug debugfs ' /proc/mounts ||
	mount -t debugfs none /sys/kernel/debug
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=ttak_facility.sh
. "$(cd "$(dirname "$0")" && pwd)/ttak_facility.sh"

echo "1..$((14 + FACILITY_TESTS))"
bad_param "generation_bytes=0 refused" "generation_bytes=0 out of range" \
	generation_bytes=0
bad_param "chunk larger than the generation refused" "chunk_bytes=8192 invalid" \
	chunk_bytes=8192
bad_param "pressure_threshold=0 refused" "pressure_threshold=0 invalid" \
	pressure_threshold=0
bad_param "rotate_interval_ms over an hour refused" \
	"rotate_interval_ms=3600001 out of range" rotate_interval_ms=3600001
bad_param "non-numeric chunk_bytes refused" "invalid for parameter" \
	chunk_bytes=lots

mark_klog
if load_ttak && [ -d "$dfs" ]; then
	klog | grep 'ttak: ' | diag
	ok "insmod ttak.ko"
	run_harness ttak_debugfs_test "$dir/ttak_debugfs_test"
	lesson40
	reader_holds_flush
	unload_with_generations
else
	klog | diag
	not_ok "insmod ttak.ko"
	not_ok "ttak_debugfs_test # not run"
	not_ok "in-kernel lesson 40 # not run"
	not_ok "reader holds the flush back # not run"
	not_ok "rmmod with live generations # not run"
fi
loaded ttak && rmmod ttak

rotation "background rotation flushes on its own" periodic \
	rotate_interval_ms=200
rotation "pressure over the threshold kicks the rotation" kick \
	rotate_interval_ms=600000 pressure_threshold=4096
torture
core_suite
facility_tests

echo "# $n tests, $failed failed"
[ "$failed" = 0 ]
