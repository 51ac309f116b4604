#!/bin/sh
# Prove that every checker of the debug-kernel tier is armed: build the
# deliberately broken modules in canaries/ together with ttak.ko, boot
# the debug kernel once per canary through the normal VM runner (same
# command line and --extra-init fragment as the real tier), and require
# the runner to FAIL with the checker's own signature. A control module
# with no bug must PASS, or a "caught" canary would prove nothing.
#
# Usage: tools/testing/debug-kernel/prove-checkers.sh [CANARY...]
#        (default: all; names as in the table below, e.g. leak lockdep)
#
# The canaries are built into a scratch copy of kernel/ under
# $TTAK_VM_WORK/proof/ and loaded only in these guests: they are not part
# of kernel/Kbuild, never installed and never loaded by the normal tiers.
#
# Output: one line per canary, "proof: <checker>: CAUGHT|MISSED|PASS|FAIL
# (...)", then "proof: N of M checkers proven". Exit 0 only if all were.
#
# Environment: TTAK_VM_WORK (default /tmp/ttak-vm), TTAK_CACHE and
# TTAK_JOBS as for build.sh and run-vm.sh; TTAK_PROOF_SMP, the guests' -smp
# (default 2,sockets=2,cores=1,threads=1).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
me=prove-checkers.sh
work=${TTAK_VM_WORK:-/tmp/ttak-vm}/proof

# name | module | how it is loaded | checker | the runner's verdict must
# show (grep -E) | optional: the console log must also show (grep -E)
# "how": plain = insmod after ttak.ko; failslab = insmod under fail-nth=1
# with failslab aimed at module text (the NULL is then caught by KASAN's
# inline checks before the page fault; the stack dump of the injection,
# verbose=2, shows that failslab made it). The control must PASS.
canaries='
leak|canary_leak|plain|kmemleak|unreferenced object
kasan-oob|canary_kasan_oob|plain|KASAN out-of-bounds|BUG: KASAN: slab-out-of-bounds
kasan-uaf|canary_kasan_uaf|plain|KASAN use-after-free|BUG: KASAN: slab-use-after-free
epoch-sleep|canary_epoch_sleep|plain|might_sleep in ttak_epoch_enter()|BUG: sleeping function called from invalid context
lockdep|canary_lockdep|plain|lockdep (PROVE_LOCKING)|possible circular locking dependency
warn|canary_warn|plain|WARN_ON (CONFIG_BUG)|WARNING: .*canary_warn_init
failslab|canary_failslab|failslab|failslab + fail-nth|KASAN: null-ptr-deref|should_failslab
odebug|canary_odebug|plain|debugobjects|ODEBUG: free active .*timer_list
list|canary_list|plain|DEBUG_LIST|WARNING: .*__list_add_valid
control|canary_clean|plain|control (no bug)|PASS
'

die() {
	echo "$me: error: $*" >&2
	exit 1
}

want=" $* "
selected() {
	[ "$want" = "  " ] && return 0
	case $want in *" $1 "*) return 0 ;; esac
	return 1
}
for w in "$@"; do
	echo "$canaries" | grep -q "^$w|" || die "unknown canary '$w'"
done

eval "$("$here/build.sh")"
[ -n "${BZIMAGE:-}" ] && [ -n "${KDIR:-}" ] || die "build.sh printed no BZIMAGE/KDIR"

# ttak.ko's sources plus the canaries, one Kbuild for all, so that the
# canaries link against this build's exports of ttak.ko.
modsrc=$work/modsrc
rm -rf "$modsrc"
mkdir -p "$modsrc"
tar -C "$repo/kernel" -cf - --exclude='*.o' --exclude='*.ko' \
	--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
	--exclude=Module.symvers --exclude=modules.order . | tar -C "$modsrc" -xf -
cp "$here"/canaries/*.c "$modsrc/"
{
	echo
	echo "# prove-checkers.sh: canaries, never shipped"
	for c in "$here"/canaries/*.c; do
		c=${c##*/}
		echo "obj-m += ${c%.c}.o"
	done
} >>"$modsrc/Kbuild"

# One stand-in "selftests" directory per canary: ttak.sh loads ttak.ko and
# the canary and reports ok itself, so only the checkers can fail the run;
# debug-init.conf turns the fragment's fault injection off (its kmemleak
# check stays).
make_suite() {	# make_suite dir module how
	rm -rf "$1"
	mkdir -p "$1"
	# printf, not a here-document: the recipe needs its tab.
	printf '%s\n' '# prove-checkers.sh: nothing to build but the fragment settings' \
		'all:' "	echo 'TTAK_FI_CLASSES=' >\$(OUTPUT)/debug-init.conf" \
		>"$1/Makefile"
	{
		echo '#!/bin/sh'
		echo "# prove-checkers.sh: load $2 ($3); generated, not shipped"
		echo "mod=$2"
		echo "how=$3"
		cat <<-'EOF'
		echo "TAP version 13"
		echo "1..1"
		insmod /ttak/ttak.ko || { echo "not ok 1 insmod ttak.ko"; exit 1; }
		if [ "$how" = failslab ]; then
			# both injectors count toward fail-nth: aim both at
			# module text, so that the first counted allocation is
			# the canary's own
			for fs in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
				echo 0xffffffffa0000000 >$fs/require-start
				echo 0xffffffffff000000 >$fs/require-end
				echo N >$fs/ignore-gfp-wait
				echo 2 >$fs/verbose
			done
			# a gzip image: busybox insmod's init_module() fallback is
			# then the only real load (see debug-init.sh)
			gzip -c /ttak/$mod.ko >/tmp/$mod.ko.gz
			(echo 1 >/proc/self/fail-nth && exec insmod /tmp/$mod.ko.gz)
		else
			insmod /ttak/$mod.ko
		fi
		rc=$?
		echo "# insmod $mod: status $rc"
		rmmod $mod 2>/dev/null
		rmmod ttak
		echo "ok 1 $mod loaded and unloaded"
		EOF
	} >"$1/ttak.sh"
}

start=$(date +%s)
rm -f "$work/.results"
: >"$work/.results"
# The loop runs in a pipeline's subshell: results go through a file.
echo "$canaries" | while IFS='|' read -r name mod how checker sig also; do
	[ -n "$name" ] || continue
	selected "$name" || continue
	st=$work/suite-$name
	make_suite "$st" "$mod" "$how"
	log=$work/$name.log
	t0=$(date +%s)
	rc=0
	# A canary proves a checker, not a race: two CPUs boot and run
	# faster under TCG than the suite's four.
	TTAK_VM_SMP=${TTAK_PROOF_SMP:-2,sockets=2,cores=1,threads=1} \
		TTAK_VM_WORK=$work/vm TTAK_VM_MODULE_SRC=$modsrc \
		TTAK_VM_SELFTESTS_SRC=$st \
		"$repo/tools/testing/vm/run-vm.sh" --bzimage "$BZIMAGE" \
		--kdir "$KDIR" --name "proof-$name" --append slab_nomerge \
		--extra-init "$here/debug-init.sh" --timeout 300 \
		>"$log" 2>&1 </dev/null || rc=$?
	secs=$(($(date +%s) - t0))
	# The runner's own verdict lines, not the guest's chatter.
	verdict=$(grep "^vm\[proof-$name\]: " "$log" || true)
	if [ "$sig" = PASS ]; then
		if [ "$rc" -eq 0 ]; then
			echo "proof: $checker: PASS (${secs}s)"
			echo ok >>"$work/.results"
		else
			echo "proof: $checker: FAIL, the control run failed (${secs}s); $log:"
			echo "$verdict" | sed 's/^/proof:   /'
			echo bad >>"$work/.results"
		fi
	elif [ "$rc" -ne 0 ] && echo "$verdict" | grep -Eq -- "$sig" &&
		{ [ -z "$also" ] || grep -Eq -- "$also" "$log"; }; then
		line=$(echo "$verdict" | grep -E -m1 -- "$sig" | sed 's/^vm\[[^]]*\]: *//')
		echo "proof: $checker: CAUGHT by $mod (${secs}s): $line"
		echo ok >>"$work/.results"
	else
		echo "proof: $checker: MISSED by $mod: runner status $rc, no /$sig/ in its verdict${also:+ or no /$also/ in the log} (${secs}s); $log:"
		echo "$verdict" | sed 's/^/proof:   /'
		echo bad >>"$work/.results"
	fi
done
total=$(grep -c . "$work/.results" || true)
proven=$(grep -c '^ok$' "$work/.results" || true)
echo "proof: $proven of $total checkers proven in $(($(date +%s) - start))s"
[ "$total" -gt 0 ] && [ "$proven" -eq "$total" ]
