#!/bin/sh
# Run the in-kernel benchmark (kernel/tests/ttak_bench.c) in a QEMU guest.
# The host kernel never loads anything: run-vm.sh builds and boots.
#
# Usage:
#   run-bench.sh [OPTIONS] [TARGET...]     TARGET: 6.1, 6.12, ... (default:
#                                          6.1 6.12)
#   run-bench.sh [OPTIONS] --bzimage PATH --kdir PATH [--name NAME]
#
# Every target boots once per guest CPU count (--cpus), so one call prints
# every figure for every kernel and CPU count: by default 6.1 and 6.12,
# each at -smp 2 and -smp 8, four guests, about 3-4 minutes.
#
# Options:
#   --cpus "N..."      guest CPU counts, one boot each (default "2 8"),
#                      given to run-vm.sh as --smp N (one CPU per socket);
#                      the retire figures use every online CPU
#   --rounds N         rounds per variant, medians reported (default 9)
#   --round-ms MS      length of one round (default 100)
#   --barrier-every N  cycles between rcu_barrier() calls in the bounded
#                      call_rcu baseline (default 4096)
#   --rerun N          rounds of the second, debugfs-driven run (default 1)
#   --out FILE         append the benchmark lines
#                      ("TARGET smp=N: ttak_bench: ...")
#   --name NAME        name of a --bzimage kernel (default custom)
#   --timeout SEC, --append ARGS, --extra-init FILE, --bzimage PATH,
#   --kdir PATH
#                      passed to run-vm.sh
#
# How: a throw-away selftests directory holds a Makefile that builds
# nothing, bench-guest.sh as its ttak.sh and bench-conf.sh with the
# parameters; run-vm.sh gets it through TTAK_VM_SELFTESTS_SRC, builds
# ttak.ko and the test modules (TTAK_TESTS=y, ttak_bench.ko among them),
# boots the guest, and judges the TAP that
# bench-guest.sh prints (and the kernel log) as usual. Each boot is
# run-vm.sh's run TARGET-smpN (its verdict reads vm[6.12-smp8]); work
# files go under $TTAK_VM_WORK/TARGET-smpN (default /tmp/ttak-vm-bench),
# apart from the kselftest runs'. A guest that never reached /init (under
# a loaded host TCG sometimes fails the kernel's IO-APIC timer check) is
# booted once more. Every other run-vm.sh environment variable works as
# there, except TTAK_VM_SMP, which --cpus sets.
#
# Under TCG only the ratios mean anything. Exit status: 0 when every
# target passed, 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
me=run-bench.sh

die() {
	echo "$me: error: $*" >&2
	exit 1
}
usage() {
	sed -n '2,/^set -eu$/{/^set -eu$/d;s/^# \{0,1\}//;p}' "$0"
	exit "$1"
}
number() {
	case $2 in
	'' | *[!0-9]*) die "$1 wants a number, got '$2'" ;;
	esac
}

rounds=9
round_ms=100
barrier=4096
rerun=1
cpus="2 8"
out=
targets=
custom=0
name=custom
set -- "$@" --end--
while [ "$1" != --end-- ]; do
	case $1 in
	--rounds) rounds=${2:?}; number "$1" "$2"; shift ;;
	--round-ms) round_ms=${2:?}; number "$1" "$2"; shift ;;
	--barrier-every) barrier=${2:?}; number "$1" "$2"; shift ;;
	--rerun) rerun=${2:?}; number "$1" "$2"; shift ;;
	--cpus)
		cpus=${2:?}
		for c in $cpus; do
			number "$1" "$c"
			[ "$c" -ge 1 ] || die "$1: a guest needs a CPU"
		done
		shift ;;
	--out) out=${2:?}; shift ;;
	--name) name=${2:?}; shift ;;
	--bzimage | --kdir | --timeout | --append | --extra-init)
		[ "$1" != --bzimage ] || custom=1
		set -- "$@" "$1" "${2:?}"
		shift ;;
	-h | --help) usage 0 ;;
	-*) echo "$me: unknown option $1" >&2; usage 2 ;;
	*) targets="$targets $1" ;;
	esac
	shift
done
shift	# --end--; "$@" now holds the options for run-vm.sh
if [ $custom = 1 ]; then
	[ -z "$targets" ] || die "give targets or --bzimage/--kdir, not both"
	targets=$name
fi
[ -n "$targets" ] || targets="6.1 6.12"
case $cpus in *[0-9]*) ;; *) die "--cpus wants one or more counts" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ttak-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
st=$tmp/selftests
mkdir "$st"
# run-vm.sh runs `make -C $st OUTPUT=... KSFT_INC=...`: nothing to build
printf 'all:\n\t@:\n.PHONY: all\n' >"$st/Makefile"
cp "$here/bench-guest.sh" "$st/ttak.sh"
printf 'TTAK_BENCH_PARAMS="rounds=%s round_ms=%s barrier_every=%s"\nTTAK_BENCH_RERUN=%s\n' \
	"$rounds" "$round_ms" "$barrier" "$rerun" >"$st/bench-conf.sh"

export TTAK_VM_SELFTESTS_SRC="$st"
export TTAK_VM_WORK="${TTAK_VM_WORK:-/tmp/ttak-vm-bench}"
status=0
summary=
for t in $targets; do
	for n in $cpus; do
		start=$(date +%s)
		tgt=$t
		[ $custom = 0 ] || tgt=
		for try in 1 2; do
			{
				rc=0
				# shellcheck disable=SC2086 # $tgt: one word or none
				"$here/run-vm.sh" "$@" --smp "$n" \
					--name "$t-smp$n" $tgt || rc=$?
				echo "$rc" >"$tmp/rc"
			} 2>&1 | tee "$tmp/log"
			rc=$(cat "$tmp/rc")
			if [ "$rc" = 0 ] || [ $try = 2 ] ||
			   ! grep -q 'guest never reached /init' "$tmp/log"; then
				break
			fi
			echo "$me: $t-smp$n did not boot; once more" >&2
		done
		secs=$(($(date +%s) - start))
		lines=$(sed -n 's/\r$//; s/^# \(ttak_bench: .*\)$/\1/p' "$tmp/log")
		if [ -n "$out" ]; then
			[ -z "$lines" ] ||
				echo "$lines" | sed "s/^/$t smp=$n: /" >>"$out"
			echo "$t smp=$n: run-bench.sh wall_s=$secs rc=$rc" >>"$out"
		fi
		# a guest that printed nothing must not stop the other runs
		figures=$(echo "$lines" | grep -e ' arena_cycle ' \
			-e ' read_section ' -e ' retire' -e ' done ') ||
			figures="(no figures)"
		summary="$summary
== $t smp=$n: rc=$rc, ${secs}s wall (build, boot, two runs, kmemleak scans)
$figures"
		[ "$rc" = 0 ] || status=1
	done
done
echo "$me: summary$summary"
exit $status
