# Guest side of the debug-kernel tier: the --extra-init fragment that
# run-vm.sh runs after the kselftest suite (ttak.sh), inside the debug
# kernel (KASAN, kmemleak, lockdep, failslab; see ttak-debug.config).
#
# Sourced by the guest's /init in a subshell, with TTAK_RC = ttak.sh's
# status, as root, in busybox sh. It prints one TAP block that the
# runner's verdict counts like the suite's:
#
#   1. kmemleak after the suite: scan, wait > 5 s, scan, read the report
#      (the suite unloads the modules). Any unreferenced object fails; the
#      report is echoed as is, so the runner's console check fails too.
#   2. fault injection, one operation class at a time, with fail-nth
#      (/proc/<pid>/fail-nth) failing the Nth allocation, N = 1, 2, ...,
#      until the operation runs without an injected failure:
#        insmod    module load (ttak_init) under failslab and
#                  fail_page_alloc; must fail cleanly, or load fully
#        begin carve retire rotate
#                  one `control` write each, from a clean starting state
#        rotate-held
#                  `rotate` while ttak_epoch_hold_test.ko keeps a reader
#                  inside an epoch section on the other CPU: the flushed
#                  generation waits for the reader (pending), and a
#                  failed retire-batch allocation takes the fallback that
#                  waits for readers instead. Needs two CPUs.
#        begin-vmalloc
#                  `begin 4194304`: a generation too big for kmalloc
#                  (over KMALLOC_MAX_SIZE), so kvmalloc always takes
#                  vmalloc, whose own allocations (vm_struct, vmap_area,
#                  pages, page tables, KASAN shadow) then fail in turn.
#                  A single fail-nth cannot reach them for small sizes:
#                  failing kmalloc there consumes it.
#        lesson40  insmod ttak_lesson40_test.ko (the in-kernel lesson)
#      After every attempt the debugfs files must add up (see
#      check_state) and, if the write failed, be exactly as before it;
#      then the state is put back with fault-free commands. After each
#      class ttak.ko is unloaded and kmemleak must find nothing.
#   3. the torture under failslab: ttak_torture.ko (see
#      kernel/tests/ttak_torture.c) for TTAK_TORTURE_FS_S seconds while
#      failslab fails TTAK_TORTURE_FS_PCT percent of the slab allocations made
#      inside ttak.ko's text (probability-based, stack-trace filter as
#      above). Its insmod must pass (no read of a freed object, no lost
#      reference), failures must really have been injected, and kmemleak
#      must find nothing after the unload; splats fail through the runner.
#   4. a summary line: distinct failure points (values of N at which an
#      allocation really failed) per class and in total.
#
# Failure points are counted with the fault attributes' `times` counters,
# which the kernel decrements on every injected failure (fail-nth
# included), so an operation that runs as a child process (insmod) is
# counted as exactly as a write the shell makes itself.
#
# Environment (set by run-vm.sh's guest): TTAK_DIR (default /ttak).
# Optional, also from $TTAK_DIR/debug-init.conf if that file exists (the
# checker proof runs use it to turn fault injection off):
#   TTAK_FI_CLASSES  default "insmod begin begin-vmalloc carve retire
#                    rotate rotate-held lesson40"; empty = leak check only
#   TTAK_FI_MAX_N    default 400, the most attempts per class
#   TTAK_TORTURE_FS_S    default 10, seconds of the torture under failslab
#   TTAK_TORTURE_FS_PCT  default 2, its failslab probability in percent
# The torture step runs only when TTAK_FI_CLASSES is not empty.

set -eu

TTAK_DIR=${TTAK_DIR:-/ttak}
if [ -r "$TTAK_DIR/debug-init.conf" ]; then
	. "$TTAK_DIR/debug-init.conf"
fi
FI_CLASSES=${TTAK_FI_CLASSES-insmod begin begin-vmalloc carve retire rotate rotate-held lesson40}
FI_MAX_N=${TTAK_FI_MAX_N:-400}
TORTURE_FS_S=${TTAK_TORTURE_FS_S:-10}
TORTURE_FS_PCT=${TTAK_TORTURE_FS_PCT:-2}
DBG=/sys/kernel/debug
D=$DBG/ttak
KML=$DBG/kmemleak
FS=$DBG/failslab
FP=$DBG/fail_page_alloc
KO=$TTAK_DIR/ttak.ko
LKO=$TTAK_DIR/ttak_lesson40_test.ko
HKO=$TTAK_DIR/ttak_epoch_hold_test.ko
TKO=$TTAK_DIR/ttak_torture.ko
# Long enough for the faulted rotation and the snapshot after it.
HOLD_MS=1500
# Module text lives here on x86-64 (MODULES_VADDR .. MODULES_END).
MOD_AREA_START=0xffffffffa0000000
MOD_AREA_END=0xffffffffff000000
# Above KMALLOC_MAX_SIZE (4 MiB with 4 KiB pages) once the block header
# is added: kmalloc refuses at once (no fault check) and vmalloc serves it.
VMALLOC_BYTES=4194304

tapn=0
tapfail=0
total_points=0
summary=

note() {
	echo "# debug-init: $*"
}

tap() {		# tap ok|not-ok description
	tapn=$((tapn + 1))
	if [ "$1" = ok ]; then
		echo "ok $tapn $2"
	else
		tapfail=$((tapfail + 1))
		echo "not ok $tapn $2"
	fi
}

# --- kmemleak ----------------------------------------------------------------

# Scan twice, more than kmemleak's minimum object age (5 s) apart, and
# report what is left; `clear` afterwards, so every phase reports only
# its own leaks (each leak fails the phase that made it).
leak_check() {		# leak_check label
	if ! echo scan >"$KML" 2>/dev/null; then
		note "kmemleak refused 'scan' (disabled at boot?)"
		tap not-ok "kmemleak after $1: kmemleak not active"
		return 0
	fi
	sleep 6
	echo scan >"$KML"
	cat "$KML" >/tmp/kmemleak.report
	if [ -s /tmp/kmemleak.report ]; then
		# Verbatim: the runner fails on "unreferenced object" as well.
		cat /tmp/kmemleak.report
		echo clear >"$KML"
		tap not-ok "kmemleak after $1: $(grep -c '^unreferenced object' /tmp/kmemleak.report) unreferenced objects"
	else
		tap ok "kmemleak after $1: no unreferenced objects"
	fi
}

# --- debugfs state ------------------------------------------------------------

SN=/tmp/ttak-snap
mkdir -p "$SN"

# Copy stats, pressure, flush_status and generations to $SN until two
# rounds agree (the clock and epoch lines aside): ttak.ko frees what a
# rotation flushed a grace period later, from its own work item, and
# that must not land between the reads of one snapshot.
snap_copy() {
	i=0
	: >"$SN/prev"
	while :; do
		for f in stats pressure flush_status generations; do
			cat "$D/$f" >"$SN/$f" 2>/dev/null || : >"$SN/$f"
		done
		cat "$SN/stats" "$SN/pressure" "$SN/flush_status" \
		    "$SN/generations" |
			grep -v -e '^last_flush_ms_ago:' -e '^epoch:' >"$SN/cur"
		cmp -s "$SN/cur" "$SN/prev" && return
		i=$((i + 1))
		[ $i -lt 100 ] || return
		mv "$SN/cur" "$SN/prev"
		sleep 0.1
	done
}

# What a rotation flushed is freed once a grace period has passed: wait
# (20 s at most, a slow debug guest) until flush_status says "flushed".
wait_flushed() {
	i=0
	while [ "$(cat "$D/flush_status")" != flushed ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# snap PREFIX: every "key: value" of stats as ${PREFIX}_key, the
# `pressure` file as ${PREFIX}__pressure, the `generations` file as
# ${PREFIX}__gens and its totals as ${PREFIX}__nlines, __nlive,
# __nretired, __cap (all capacities), __retcap (retired capacities),
# and the first line of `flush_status` as ${PREFIX}__flush; all from
# one settled copy (snap_copy).
snap() {
	snap_copy
	eval "$(awk -v p="$1" -F': ' \
		'NF == 2 && $1 ~ /^[a-z_]+$/ { printf "%s_%s=\"%s\"\n", p, $1, $2 }' \
		"$SN/stats")"
	read -r v <"$SN/pressure"
	eval "${1}__pressure=\$v"
	read -r v <"$SN/flush_status"
	eval "${1}__flush=\$v"
	eval "${1}__gens=\$(cat \"\$SN/generations\")"
	eval "$(awk -v p="$1" '
		{
			n++
			for (i = 1; i <= NF; i++) {
				split($i, kv, "=")
				f[kv[1]] = kv[2]
			}
			cap += f["capacity"]
			if (f["state"] == "retired") {
				r++
				rc += f["capacity"]
			} else {
				l++
			}
		}
		END {
			printf "%s__nlines=%d %s__nlive=%d %s__nretired=%d ", p, n, p, l, p, r
			printf "%s__cap=%d %s__retcap=%d\n", p, cap, p, rc
		}' "$SN/generations")"
}

get() {		# get PREFIX key: print ${PREFIX}_key
	eval "printf '%s' \"\${${1}_$2:-?}\""
}

bad=0
complain() {
	note "INCONSISTENT: $*"
	bad=1
}

expect_eq() {	# expect_eq what got want
	[ "$2" = "$3" ] || complain "$1 is $2, expected $3"
}

# The debugfs files agree with each other (state snapshot PREFIX).
check_state() {
	p=$1
	begun=$(get "$p" generations_begun)
	retired=$(get "$p" generations_retired)
	flushed=$(get "$p" generations_flushed)
	live=$(get "$p" generations_live)
	pend_n=$(get "$p" pending_nodes)
	pend_b=$(get "$p" pending_bytes)
	gp=$(get "$p" garbage_pressure)
	nlines=$(get "$p" _nlines)
	nlive=$(get "$p" _nlive)
	nret=$(get "$p" _nretired)
	retcap=$(get "$p" _retcap)
	expect_eq "pressure file" "$(get "$p" _pressure)" "$gp"
	expect_eq "generations_live" "$live" $((begun - retired))
	expect_eq "live lines in generations" "$nlive" "$live"
	expect_eq "lines in generations" "$nlines" $((begun - flushed))
	expect_eq "retired lines in generations" "$nret" $((retired - flushed))
	expect_eq "tracked_nodes" "$(get "$p" tracked_nodes)" "$nlines"
	expect_eq "tracked_bytes" "$(get "$p" tracked_bytes)" "$(get "$p" _cap)"
	expect_eq "garbage_pressure" "$gp" $((retcap + pend_b))
	expect_eq "mem_blocks" "$(get "$p" mem_blocks)" $((nlines + pend_n))
	if [ "$nret" -eq 0 ] && [ "$pend_n" -eq 0 ]; then
		expect_eq "flush_status" "$(get "$p" _flush)" flushed
	else
		expect_eq "flush_status" "$(get "$p" _flush)" \
			"pending: $((nret + pend_n)) blocks, $((retcap + pend_b)) bytes"
	fi
}

# After a refused command nothing may have changed but the failure count.
check_unchanged() {	# check_unchanged BEFORE AFTER
	for k in generations_begun generations_retired generations_flushed \
		generations_live tracked_nodes tracked_bytes garbage_pressure \
		pending_nodes pending_bytes mem_blocks mem_bytes _pressure \
		_flush _gens; do
		[ "$(get "$1" $k)" = "$(get "$2" $k)" ] ||
			complain "refused command changed ${k#_}: '$(get "$1" $k)' -> '$(get "$2" $k)'"
	done
	f0=$(get "$1" generations_failed)
	f1=$(get "$2" generations_failed)
	[ "$f1" -ge "$f0" ] && [ "$f1" -le $((f0 + 1)) ] ||
		complain "generations_failed went from $f0 to $f1"
}

# --- fault injection ---------------------------------------------------------

ctl() {		# ctl command: a fault-free control write that must work
	echo "$1" >"$D/control" || complain "fault-free '$1' refused"
}

# Aim both injectors at [start, end) and make them count every sleeping
# allocation, including vmalloc's order-0 highmem-capable pages. With
# probability 0 nothing fails except through fail-nth.
fi_aim() {	# fi_aim start end
	for a in "$FS" "$FP"; do
		echo 0 >"$a/probability"
		echo 0 >"$a/verbose"
		echo 32 >"$a/stacktrace-depth"
		echo "$1" >"$a/require-start"
		echo "$2" >"$a/require-end"
		echo N >"$a/ignore-gfp-wait"
	done
	echo N >"$FP/ignore-gfp-highmem"
	echo 0 >"$FP/min-order"
	echo Y >"$FS/cache-filter"
}

# failslab's cache filter: every slab cache may fail except the checkers'
# own (kmemleak's metadata, debugobjects' pool). Their allocations happen
# inside the module's calls and would otherwise double the count with
# failures they absorb on their own. Caches must not be merged (boot with
# slab_nomerge) or the kernel refuses the per-cache flag.
fi_cache_filter() {
	nc=0
	nskip=0
	nrefused=0
	for c in /sys/kernel/slab/*; do
		[ -f "$c/failslab" ] || continue
		case ${c##*/} in
		kmemleak_* | debug_objects_cache)
			echo 0 >"$c/failslab"
			nskip=$((nskip + 1))
			continue
			;;
		esac
		if echo 1 >"$c/failslab" 2>/dev/null; then
			nc=$((nc + 1))
		else
			nrefused=$((nrefused + 1))
		fi
	done
	note "failslab armed on $nc slab caches, $nskip checker caches spared, $nrefused merged caches refused (boot with slab_nomerge)"
	[ "$nrefused" -eq 0 ] || complain "some slab caches are merged; failslab cannot cover them"
}

fi_disarm() {
	for a in "$FS" "$FP"; do
		echo 0 >"$a/probability"
		echo 0 >"$a/require-start"
		echo 0xffffffffffffffff >"$a/require-end"
		echo 1 >"$a/times"
	done
	echo N >"$FS/cache-filter"
}

# A large `times` that only injections decrement (-1 would mean no limit
# and no count).
fi_times_reset() {
	echo 1000000 >"$FS/times"
	echo 1000000 >"$FP/times"
}

fi_times_used() {	# prints "slab page" injections since fi_times_reset
	read -r ts <"$FS/times"
	read -r tp <"$FP/times"
	echo "$((1000000 - ts)) $((1000000 - tp))"
}

# ttak.ko's text as "start end" in hex: from /proc/modules (base of the
# module's text memory, which holds .text and its cold parts) to base +
# size (all of its core memory, which is text first).
ttak_range() {
	awk '$1 == "ttak" { print $2, $6 }' /proc/modules | {
		read -r size base
		sec=$(cat /sys/module/ttak/sections/.text)
		case $base in
		0xffffffff????????) ;;
		*) echo "bad"; return 0 ;;
		esac
		case $sec in 0xffffffff????????) ;; *) echo "bad"; return 0 ;; esac
		# busybox sh arithmetic is signed 64-bit: work on the low half.
		lo=$((0x${base#0xffffffff}))
		[ "$lo" -le "$((0x${sec#0xffffffff}))" ] || lo=$((0x${sec#0xffffffff}))
		printf '0xffffffff%08x 0xffffffff%08x\n' "$lo" $((lo + size))
	}
}

# One faulted operation: fail the Nth allocation the filters admit.
# Sets op_rc (0 = the operation succeeded) and op_left (what is left of
# fail-nth afterwards: 0 = injected; "-" = unknown, the task is gone).
fi_op() {	# fi_op class N
	op_rc=0
	op_left=-
	case $1 in
	insmod | lesson40)
		ko=$KO_GZ
		[ "$1" = insmod ] || ko=$LKO_GZ
		# A forked child starts with fail-nth 0, an exec keeps it: set
		# it in the subshell that then becomes insmod.
		(echo "$2" >/proc/self/fail-nth && exec insmod "$ko") \
			>/tmp/fi.out 2>&1 || op_rc=1
		;;
	*)
		cmd=$1
		[ "$1" != begin-vmalloc ] || cmd="begin $VMALLOC_BYTES"
		[ "$1" != rotate-held ] || cmd=rotate
		# The subshell itself writes: no fork or exec in between.
		set -- $(
			echo "$2" >/proc/self/fail-nth
			if echo "$cmd" >"$D/control" 2>/tmp/fi.out; then r=0; else r=1; fi
			read -r left </proc/self/fail-nth
			echo "$r $left"
		)
		op_rc=$1
		op_left=$2
		;;
	esac
}

loaded() {
	[ -d /sys/module/ttak ]
}

unload() {
	for m in ttak_lesson40_test ttak_epoch_hold_test; do
		if [ -d "/sys/module/$m" ]; then
			rmmod "$m" || complain "rmmod $m failed"
		fi
	done
	if loaded; then
		rmmod ttak || complain "rmmod ttak failed"
	fi
	! loaded || complain "ttak still loaded after rmmod"
	[ ! -e "$D" ] || complain "$D left behind after rmmod"
}

load_clean() {
	insmod "$KO" || { complain "fault-free insmod failed"; return 1; }
	snap s0
	check_state s0
	expect_eq "generations after load" "$(get s0 _nlines)" 0
}

# Bring the default env back to "no generations".
reset_env() {
	snap r
	while [ "$(get r _nlive)" -gt 0 ]; do
		ctl retire
		snap r
	done
	if [ "$(get r _nretired)" -gt 0 ]; then
		ctl rotate
		wait_flushed
		snap r
	fi
	check_state r
	expect_eq "generations after reset" "$(get r _nlines)" 0
	expect_eq "pressure after reset" "$(get r _pressure)" 0
}

# The starting state of each control class.
setup_class() {		# setup_class class
	case $1 in
	begin | begin-vmalloc | lesson40) ;;
	carve) ctl begin ;;
	retire) ctl begin; ctl carve ;;
	rotate) ctl begin; ctl carve; ctl retire ;;
	rotate-held)
		ctl begin; ctl carve; ctl retire
		insmod "$HKO" hold_ms=$HOLD_MS || complain "insmod $HKO failed"
		;;
	esac
}

# What a successful command must have done (snapshots b = before, a = after).
check_success() {	# check_success class
	case $1 in
	begin | begin-vmalloc)
		expect_eq "begun after begin" "$(get a generations_begun)" \
			$(($(get b generations_begun) + 1))
		;;
	carve)
		expect_eq "generations after carve" \
			"$(echo "$(get a _gens)" | grep -c 'state=full')" 1
		;;
	retire)
		expect_eq "retired after retire" "$(get a generations_retired)" \
			$(($(get b generations_retired) + 1))
		expect_eq "pressure after retire" "$(get a _pressure)" \
			$(($(get b _pressure) + $(get b _cap)))
		;;
	rotate)
		# out of the tree at once, freed a grace period later
		expect_eq "retired generations after rotate" "$(get a _nretired)" 0
		expect_eq "pressure after rotate" "$(get a _pressure)" \
			"$(get a pending_bytes)"
		wait_flushed
		snap w
		check_state w
		expect_eq "pressure a grace period after rotate" \
			"$(get w _pressure)" 0
		expect_eq "flush_status a grace period after rotate" \
			"$(get w _flush)" flushed
		;;
	rotate-held)
		# out of the tree at once; the memory waits for the reader
		# (or the fallback already waited for it)
		expect_eq "retired generations after rotate" "$(get a _nretired)" 0
		expect_eq "pressure after rotate" "$(get a _pressure)" \
			"$(get a pending_bytes)"
		;;
	esac
}

# Run one class: N = 1, 2, ... until no injection happens.
fi_class() {	# fi_class class
	cls=$1
	bad=0
	points=0
	slab=0
	page=0
	errs=0
	absorbed=0
	degraded=0
	n=1
	clean_rc=
	if [ "$cls" = rotate-held ]; then
		if [ ! -f "$HKO" ] || [ "$(nproc)" -lt 2 ]; then
			tap ok "faults: $cls # SKIP needs $HKO and two CPUs"
			tap ok "kmemleak after faults: $cls # SKIP not run"
			return 0
		fi
	fi
	if [ "$cls" != insmod ]; then
		load_clean || { tap not-ok "faults: $cls: ttak.ko does not load"; return 0; }
	fi
	while [ "$n" -le "$FI_MAX_N" ]; do
		if [ "$cls" = insmod ] || [ "$cls" = lesson40 ]; then
			fi_aim "$MOD_AREA_START" "$MOD_AREA_END"
		else
			set -- $(ttak_range)
			[ "$1" != bad ] || { complain "cannot read ttak.ko's address"; break; }
			fi_aim "$1" "$2"
		fi
		[ "$cls" = insmod ] || { setup_class "$cls"; snap b; check_state b; }
		fi_times_reset
		fi_op "$cls" "$n"
		op_out=$(head -n 1 /tmp/fi.out)
		set -- $(fi_times_used)
		fi_disarm
		hit=$(($1 + $2))
		case $op_left:$hit in
		-:* | 0:1 | [1-9]*:0) ;;
		*) complain "N=$n: fail-nth left $op_left but $hit injections counted" ;;
		esac
		if [ "$hit" -gt 1 ]; then
			complain "N=$n: $hit injections for one fail-nth"
		fi
		case $cls in
		insmod)
			if [ "$op_rc" -ne 0 ]; then
				! loaded || complain "N=$n: insmod failed but ttak is loaded"
				[ ! -e "$D" ] || complain "N=$n: insmod failed but $D exists"
			else
				loaded || complain "N=$n: insmod succeeded but ttak is not loaded"
				missing=
				for f in stats pressure flush_status generations control; do
					[ -e "$D/$f" ] || missing="$missing $f"
				done
				if [ -n "$missing" ]; then
					# debugfs errors are not fatal, by design
					degraded=$((degraded + 1))
					note "N=$n: loaded without debugfs:$missing"
				else
					snap a
					check_state a
					ctl begin; ctl carve; ctl retire; ctl rotate
					wait_flushed
					snap a
					check_state a
					expect_eq "N=$n: pressure after a lifecycle" "$(get a _pressure)" 0
				fi
				unload
			fi
			;;
		lesson40)
			[ "$op_rc" -ne 0 ] || rmmod ttak_lesson40_test ||
				complain "rmmod ttak_lesson40_test failed"
			snap a
			check_state a
			check_unchanged b a
			;;
		*)
			snap a
			check_state a
			if [ "$op_rc" -ne 0 ]; then
				check_unchanged b a
			else
				check_success "$cls"
			fi
			if [ "$cls" = rotate-held ]; then
				# waits for the reader to leave its section
				rmmod ttak_epoch_hold_test ||
					complain "rmmod ttak_epoch_hold_test failed"
				ctl rotate
				wait_flushed
				snap a
				check_state a
				expect_eq "pending after the reader left" \
					"$(get a pending_nodes)" 0
			fi
			reset_env
			;;
		esac
		if [ "$hit" -eq 0 ]; then
			clean_rc=$op_rc
			note "$cls N=$n: no injection, rc $op_rc: done"
			break
		fi
		what=slab
		[ "$1" -eq 0 ] || [ "$2" -eq 0 ] || what="slab+page"
		[ "$1" -ne 0 ] || what=page
		if [ "$op_rc" -ne 0 ]; then
			note "$cls N=$n: $what failure, refused: $op_out"
		else
			note "$cls N=$n: $what failure, absorbed${op_out:+: $op_out}"
		fi
		points=$((points + 1))
		slab=$((slab + $1))
		page=$((page + $2))
		if [ "$op_rc" -ne 0 ]; then
			errs=$((errs + 1))
		else
			absorbed=$((absorbed + 1))
		fi
		if [ "$bad" -ne 0 ]; then
			note "$cls: first inconsistency at N=$n; output: $(cat /tmp/fi.out)"
			break
		fi
		n=$((n + 1))
	done
	[ -n "$clean_rc" ] || [ "$bad" -ne 0 ] ||
		complain "$cls: still injecting after $FI_MAX_N attempts"
	[ "${clean_rc:-0}" -eq 0 ] || complain "$cls: fails without an injected fault"
	unload
	total_points=$((total_points + points))
	summary="$summary $cls=$points"
	msg="$points failure points ($slab slab, $page page; $errs refused, $absorbed absorbed"
	[ "$degraded" -eq 0 ] || msg="$msg, $degraded loaded without some debugfs files"
	msg="$msg)"
	if [ "$bad" -eq 0 ]; then
		tap ok "faults: $cls: $msg"
	else
		tap not-ok "faults: $cls: $msg"
	fi
	leak_check "faults: $cls"
}

# --- torture under failslab -------------------------------------------------

# ttak_torture.ko while failslab fails a share of ttak.ko's slab
# allocations at random (tree nodes, tracked blocks, retire batches,
# generations): the failures must be absorbed or refused without a read
# of freed memory, a lost reference, a leak or a splat.
torture_failslab() {
	name="torture under failslab ($TORTURE_FS_PCT% of ttak.ko's slab allocations, ${TORTURE_FS_S}s)"
	if [ ! -f "$TKO" ]; then
		tap ok "$name # SKIP no $TKO"
		tap ok "kmemleak after the torture # SKIP not run"
		return 0
	fi
	bad=0
	load_clean || { tap not-ok "$name: ttak.ko does not load"; return 0; }
	set -- $(ttak_range)
	if [ "$1" = bad ]; then
		unload
		tap not-ok "$name: cannot read ttak.ko's address"
		return 0
	fi
	fi_aim "$1" "$2"
	echo 1 >"$FS/interval"
	fi_times_reset
	mark=$(dmesg | wc -l)
	echo "$TORTURE_FS_PCT" >"$FS/probability"
	# gzip: one real load, as for the classes above
	gzip -c "$TKO" >/tmp/ttak_torture.ko.gz
	insmod /tmp/ttak_torture.ko.gz duration_s="$TORTURE_FS_S"
	trc=$?
	echo 0 >"$FS/probability"
	set -- $(fi_times_used)
	fi_disarm
	injected=$1
	tlog=$(dmesg | tail -n +$((mark + 1)) | grep 'ttak_torture: ')
	echo "$tlog" | sed 's/^/# /'
	[ ! -d /sys/module/ttak_torture ] || rmmod ttak_torture ||
		complain "rmmod ttak_torture failed"
	unload
	counts=$(echo "$tlog" | sed -n 's/.*ttak_torture: counts: //p' |
		tr '\n' ' ')
	pick() {
		echo " $counts" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
	}
	msg="$injected failures injected; bad_reads=$(pick bad_reads)"
	msg="$msg lost_refs=$(pick lost_refs) softirq_reads=$(pick softirq_reads)"
	msg="$msg acquires=$(pick acquires) add_failures=$(pick add_failures)"
	msg="$msg begin_failures=$(pick begin_failures)"
	note "torture under failslab: insmod status $trc, $msg"
	if [ "$trc" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$injected" -gt 0 ] &&
	   echo "$tlog" | grep -q 'ttak_torture: PASS'; then
		tap ok "$name: $msg"
	else
		tap not-ok "$name: insmod status $trc, $msg"
	fi
	leak_check "the torture under failslab"
}

# --- main --------------------------------------------------------------------

nclasses=$(echo $FI_CLASSES | wc -w)
echo "TAP version 13"
echo "1..$((nclasses ? 2 * nclasses + 4 : 1))"
note "suite status $TTAK_RC; kernel $(uname -r)"

# Whatever the suite left loaded is its own failure; unload it for a
# meaningful leak check.
unload
leak_check "the kselftest suite"

[ "$nclasses" -gt 0 ] || exit $((tapfail > 0))

for a in "$FS" "$FP"; do
	[ -d "$a" ] || { note "no $a: is CONFIG_FAULT_INJECTION_DEBUG_FS set?"; exit 1; }
done
[ -e /proc/self/fail-nth ] || { note "no /proc/self/fail-nth"; exit 1; }
# busybox insmod retries a failed finit_module() with init_module() on
# the file's contents, which would load the module a second time with
# no fault armed and hide the failure. Given a gzip file, the kernel
# rejects the finit_module() at once (not ELF; no module code runs) and
# the one real load is the init_module() of the unpacked image.
KO_GZ=/tmp/ttak.ko.gz
LKO_GZ=/tmp/ttak_lesson40_test.ko.gz
gzip -c "$KO" >"$KO_GZ"
gzip -c "$LKO" >"$LKO_GZ"
bad=0
fi_cache_filter
[ "$bad" -eq 0 ] || tapfail=$((tapfail + 1))
for cls in $FI_CLASSES; do
	fi_class "$cls"
done
torture_failslab

note "fault injection: $total_points distinct failure points:$summary"
if [ "$total_points" -gt 0 ]; then
	tap ok "faults: $total_points distinct failure points exercised"
else
	tap not-ok "faults: no failure point was exercised"
fi
echo "TTAK-FI-SUMMARY: total=$total_points$summary"
[ "$tapfail" -eq 0 ]
