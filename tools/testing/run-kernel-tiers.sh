#!/bin/sh
# The kernel part of `make check`: every tier that boots a guest, and
# first a host-only check of what the module build ships.
#
#   ship           check-ship.sh: a default build (no TTAK_TESTS) and
#                  its modules_install make ttak.ko alone, for 6.1 and
#                  6.12; dkms.conf names ttak alone
#   vm-6.1-smp2    the kselftest suite (torture and core unit suite
#   vm-6.1-smp8    included) on Debian's 6.1 kernel with 2 and 8 guest
#                  CPUs (vm/run-vm.sh --smp N 6.1)
#   vm-6.12-smp2   the same on Debian's 6.12 kernel
#   vm-6.12-smp8
#   debug-smp8     the same suite on the debug kernel (KASAN, kmemleak,
#                  lockdep, DEBUG_ATOMIC_SLEEP, debugobjects, failslab)
#                  with 8 guest CPUs (TTAK_DEBUG_SMP), then the
#                  debug-kernel/debug-init.sh fragment: kmemleak after the
#                  suite, fault injection with fail-nth over module load,
#                  the `control` commands and the in-kernel lesson 40, and
#                  the torture (ttak_torture.ko) under a random failslab
#   checkers       debug-kernel/prove-checkers.sh: one broken canary
#                  module per checker must make the runner FAIL with that
#                  checker's report, a clean control module must PASS
#                  (2 CPUs)
#
# TCG gives each guest CPU a host thread: at 8 CPUs on a 2-core host the
# guest runs slower but interleaves wider, which is what the torture is
# for. Every guest fails if fewer CPUs come online than it was given
# (one per socket, so that kernels without ACPI see them all too).
#
# The debug kernel is built on first use and cached (debug-kernel/build.sh:
# about 3.5 min on 2 cores; a cache hit returns at once).
#
# Usage: tools/testing/run-kernel-tiers.sh [--prove-checkers] [TIER...]
#   TIER...            run only these tiers (default: all seven); also
#                      vm-6.1 and vm-6.12 (both CPU counts), debug (the
#                      debug tier at TTAK_DEBUG_SMP), and any
#                      vm-6.1-smpN, vm-6.12-smpN or debug-smpN
#   --prove-checkers   same as the tier list "checkers"
#
# Environment:
#   TTAK_SKIP_VM=1             skip every kernel tier (prints SKIPPED, exit 0)
#   TTAK_SKIP_DEBUG_KERNEL=1   skip the debug and checkers tiers, loudly
#   TTAK_SKIP_PROOF=1          skip only the checkers tier, loudly
#   TTAK_DEBUG_SMP=N           guest CPUs of the debug tier (default 8)
#   TTAK_VM_WORK, TTAK_CACHE, TTAK_JOBS   as for run-vm.sh and build.sh
#
# Output: the tiers' own output as they run, then one summary line per
# tier ("kernel-tiers: <tier>: PASS|FAIL|SKIPPED ... <seconds>s") and
# "kernel-tiers: N passed, N failed". Exit status 1 if any tier failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
me=run-kernel-tiers.sh
work=${TTAK_VM_WORK:-/tmp/ttak-vm}
logs=$work/tiers

usage() {
	sed -n '2,/^set -eu$/{/^set -eu$/d;s/^# \{0,1\}//;p}' "$0"
	exit "$1"
}

debug_smp=${TTAK_DEBUG_SMP:-8}
case $debug_smp in
'' | 0* | *[!0-9]*) echo "$me: TTAK_DEBUG_SMP wants a CPU count, got '$debug_smp'" >&2; exit 2 ;;
esac
tiers=
while [ $# -gt 0 ]; do
	case $1 in
	--prove-checkers) tiers="$tiers checkers" ;;
	-h | --help) usage 0 ;;
	ship | checkers) tiers="$tiers $1" ;;
	vm-6.1 | vm-6.12) tiers="$tiers $1-smp2 $1-smp8" ;;
	debug) tiers="$tiers debug-smp$debug_smp" ;;
	vm-6.1-smp[1-9]* | vm-6.12-smp[1-9]* | debug-smp[1-9]*)
		case ${1##*-smp} in
		*[!0-9]*) echo "$me: bad CPU count in '$1'" >&2; usage 2 ;;
		esac
		tiers="$tiers $1"
		;;
	*) echo "$me: unknown argument '$1'" >&2; usage 2 ;;
	esac
	shift
done
[ -n "$tiers" ] ||
	tiers="ship vm-6.1-smp2 vm-6.1-smp8 vm-6.12-smp2 vm-6.12-smp8 debug-smp$debug_smp checkers"

if [ "${TTAK_SKIP_VM:-0}" = 1 ]; then
	echo "kernel-tiers: SKIPPED: TTAK_SKIP_VM=1, no kernel tier ran"
	exit 0
fi

mkdir -p "$logs"
# One run at a time per work root: the logs and the summary below are
# shared, and two sets of TCG guests would only slow each other down.
command -v flock >/dev/null 2>&1 || { echo "$me: flock not found (util-linux)" >&2; exit 1; }
exec 7>"$work/.kernel-tiers.lock"
if ! flock -n 7; then
	echo "$me: waiting for another run using $work"
	flock 7
fi
summary=$logs/summary
: >"$summary"
npass=0
nfail=0

record() {	# record tier PASS|FAIL|SKIPPED detail seconds
	line=$(printf 'kernel-tiers: %-13s %-7s %s (%ss)' "$1:" "$2" "$3" "$4")
	echo "$line" >>"$summary"
	case $2 in
	PASS) npass=$((npass + 1)) ;;
	FAIL) nfail=$((nfail + 1)) ;;
	esac
}

skipped() {	# skipped tier why
	line="kernel-tiers: $1: SKIPPED ($2) *** this tier did NOT run ***"
	echo "$line" >>"$summary"
	echo "$line"
}

# run_tier tier log command...: stream the output, keep it in the log.
run_tier() {
	t=$1
	log=$2
	shift 2
	echo "kernel-tiers: === $t: $* ==="
	t0=$(date +%s)
	rm -f "$log.rc"
	# `tee` would hide the command's status; keep it in a file.
	{ "$@" 2>&1 || echo $? >"$log.rc"; } | tee "$log"
	secs=$(($(date +%s) - t0))
	rc=0
	[ ! -f "$log.rc" ] || { rc=$(cat "$log.rc"); rm -f "$log.rc"; }
}

# The runner's verdict line: "vm[<t>]: N passed, N failed, N skipped: X".
vm_detail() {
	d=$(grep -E '^vm\[[^]]*\]: [0-9]+ passed, ' "$1" | tail -n 1 |
		sed -e 's/^vm\[[^]]*\]: //' -e 's/: \(PASS\|FAIL\)$//')
	echo "${d:-no verdict from the runner}"
}

vm_tier() {	# vm_tier tier target cpus
	# --name: each CPU count keeps its own work dir and console log
	run_tier "$1" "$logs/$1.log" "$here/vm/run-vm.sh" --name "$2-smp$3" \
		--smp "$3" --timeout 600 "$2"
	if [ "$rc" -eq 0 ]; then
		record "$1" PASS "$(vm_detail "$logs/$1.log")" "$secs"
	else
		record "$1" FAIL "$(vm_detail "$logs/$1.log"); see $logs/$1.log" "$secs"
	fi
}

ship_tier() {
	run_tier ship "$logs/ship.log" "$here/check-ship.sh"
	d=$(sed -n 's/^ship: \([0-9]* passed, [0-9]* failed\)$/\1/p' \
		"$logs/ship.log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		record ship PASS "${d:-?}" "$secs"
	else
		record ship FAIL "${d:-no result}; see $logs/ship.log" "$secs"
	fi
}

debug_kernel() {
	# Build (or find in the cache) the debug kernel; sets BZIMAGE, KDIR
	# and build_secs.
	t0=$(date +%s)
	if ! out=$("$here/debug-kernel/build.sh"); then
		return 1
	fi
	eval "$out"
	build_secs=$(($(date +%s) - t0))
}

debug_tier() {	# debug_tier tier cpus
	echo "kernel-tiers: === $1: build or reuse the debug kernel ==="
	if ! debug_kernel; then
		record "$1" FAIL "debug kernel build failed" 0
		debug_ok=0
		return 0
	fi
	debug_ok=1
	# slab_nomerge: failslab's per-cache filter (debug-init.sh) needs
	# unmerged caches. The fault-injection sweep takes several minutes.
	# The guest's name stays "debug": ttak.sh shortens the torture there.
	run_tier "$1" "$logs/$1.log" "$here/vm/run-vm.sh" \
		--bzimage "$BZIMAGE" --kdir "$KDIR" --name debug --smp "$2" \
		--append slab_nomerge --timeout 2400 \
		--extra-init "$here/debug-kernel/debug-init.sh"
	fi_sum=$(sed -n 's/^TTAK-FI-SUMMARY: total=\([0-9]*\).*/\1/p' \
		"$logs/$1.log" | tail -n 1)
	d="$(vm_detail "$logs/$1.log"); ${fi_sum:-no} fault-injection points"
	d="$d; kernel build ${build_secs}s"
	if [ "$rc" -eq 0 ]; then
		record "$1" PASS "$d" "$secs"
	else
		record "$1" FAIL "$d; see $logs/$1.log" "$secs"
	fi
}

checkers_tier() {
	run_tier checkers "$logs/checkers.log" "$here/debug-kernel/prove-checkers.sh"
	d=$(sed -n 's/^proof: \([0-9]* of [0-9]* checkers proven\).*/\1/p' \
		"$logs/checkers.log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		record checkers PASS "${d:-?}" "$secs"
	else
		record checkers FAIL "${d:-no result}; see $logs/checkers.log" "$secs"
	fi
}

debug_ok=1
for t in $tiers; do
	case $t in
	ship) ship_tier ;;
	vm-*-smp*)
		k=${t#vm-}
		vm_tier "$t" "${k%-smp*}" "${t##*-smp}"
		;;
	debug-smp*)
		if [ "${TTAK_SKIP_DEBUG_KERNEL:-0}" = 1 ]; then
			skipped "$t" "TTAK_SKIP_DEBUG_KERNEL=1"
		else
			debug_tier "$t" "${t##*-smp}"
		fi
		;;
	checkers)
		if [ "${TTAK_SKIP_DEBUG_KERNEL:-0}" = 1 ]; then
			skipped checkers "TTAK_SKIP_DEBUG_KERNEL=1"
		elif [ "${TTAK_SKIP_PROOF:-0}" = 1 ]; then
			skipped checkers "TTAK_SKIP_PROOF=1"
		elif [ "$debug_ok" = 0 ]; then
			record checkers FAIL "no debug kernel" 0
		else
			checkers_tier
		fi
		;;
	esac
done

echo
cat "$summary"
echo "kernel-tiers: logs in $logs"
echo "kernel-tiers: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
