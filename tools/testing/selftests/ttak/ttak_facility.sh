# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Sourced by ttak.sh (which gives ok, not_ok, diag, ctl, klog, load_ttak,
# loaded, $dir, $dfs, $tmp): ttak.ko as a facility for other modules.
# ttak.sh's globals (n, failed, ...) are not to be reused here.
# Each function loads ttak.ko itself, prints one TAP result and leaves
# nothing loaded.
#
#   facility_default_env    envs/default/ and envs_summary show the
#                           default env
#   facility_publish        ttak_example_client.ko publishes two envs:
#                           envs/<name>/ files, modes, formats, hashed
#                           addresses, root only, the summary
#   facility_bad_names      refused names fail the client's insmod with
#                           -EINVAL / -EEXIST and change nothing; a
#                           32-character name is taken
#   facility_unpublish      rmmod of the client removes its directories
#                           and summary lines and frees its memory
#   facility_background     rotate_interval_ms rotates a published env in
#                           automatic mode and leaves one in manual mode
#   facility_drop_caches    with rotation manual, the shrinker flushes
#                           every env's garbage on drop_caches
#   facility_shrink_reader  with a reader holding an old epoch, the
#                           shrinker returns at once and frees nothing
#                           the reader may hold
#   facility_trace          the events of tracefs events/ttak/ for the
#                           default env (driven through control), a
#                           published env and a reader holding an epoch
#
# FACILITY_TESTS is how many results these print.
FACILITY_TESTS=8

facility_client() {
	if [ -f "$dir/ttak_example_client.ko" ]; then
		insmod "$dir/ttak_example_client.ko" "$@"
	else
		modprobe ttak_example_client "$@"
	fi
}

# Wall clock in centiseconds, from /proc/uptime.
facility_cs() {
	sed 's/^\([0-9]*\)\.\([0-9][0-9]\).*/\1\2/' /proc/uptime
}

# mode NAME: the permission bits of a debugfs file as ls shows them.
facility_mode() {
	ls -ld "$1" | cut -c1-10
}

# facility_check DESCRIPTION CONDITION...: record a failed condition.
facility_fail() {
	facility_why="$facility_why; $*"
}

facility_files() {
	for f in stats pressure flush_status generations; do
		m=$(facility_mode "$1/$f")
		[ "$m" = "-r--------" ] || facility_fail "$1/$f has mode $m"
	done
}

facility_default_env() {
	name="envs/default/ and envs_summary show the default env"
	facility_why=
	if ! load_ttak; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	d=$dfs/envs/default
	facility_files "$d"
	m=$(facility_mode "$dfs/envs_summary")
	[ "$m" = "-r--------" ] || facility_fail "envs_summary has mode $m"
	s=$(cat "$dfs/envs_summary")
	[ "$s" = "default pressure=0 pending_bytes=0" ] ||
		facility_fail "idle summary '$s'"
	ctl "begin 8192 128" && ctl carve && ctl retire ||
		facility_fail "begin/carve/retire refused"
	s=$(cat "$dfs/envs_summary")
	echo "$s" | diag
	[ "$s" = "default pressure=8192 pending_bytes=8192" ] ||
		facility_fail "summary after a retire '$s'"
	[ "$(cat "$d/pressure")" = 8192 ] ||
		facility_fail "envs/default/pressure $(cat "$d/pressure")"
	cmp -s "$d/generations" "$dfs/generations" ||
		facility_fail "envs/default/generations differs"
	cmp -s "$d/flush_status" "$dfs/flush_status" ||
		facility_fail "envs/default/flush_status differs"
	grep -q '^waiting for rotation: 1 blocks, 8192 bytes$' \
		"$d/flush_status" || facility_fail "flush_status"
	ctl rotate
	wait_flushed "$d"
	[ "$(cat "$d/flush_status")" = flushed ] ||
		facility_fail "not flushed after rotate"
	rmmod ttak || facility_fail "rmmod ttak"
	if [ -z "$facility_why" ]; then
		ok "$name"
	else
		not_ok "$name${facility_why}"
	fi
}

# key FILE KEY: the value of "KEY: value" in FILE.
facility_key() {
	sed -n "s/^$2: //p" "$1"
}

facility_publish() {
	name="a client module publishes two envs (envs/<name>/, envs_summary)"
	facility_why=
	if ! load_ttak; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	mark_klog
	if ! facility_client; then
		klog | diag
		not_ok "$name: insmod ttak_example_client.ko failed"
		rmmod ttak
		return
	fi
	a=$dfs/envs/example.a
	b=$dfs/envs/example-b
	for e in "$a" "$b"; do
		[ -d "$e" ] || facility_fail "$e missing"
		facility_files "$e"
	done
	# 4 generations of 64 KiB (B: 128 KiB), 3 retired
	[ "$(cat "$a/pressure")" = 196608 ] ||
		facility_fail "A pressure $(cat "$a/pressure")"
	[ "$(cat "$b/pressure")" = 393216 ] ||
		facility_fail "B pressure $(cat "$b/pressure")"
	cat "$a/generations" | diag
	[ "$(grep -c '^base=[0-9a-f(][^ ]* bytes=65536 state=retired$' "$a/generations")" = 3 ] ||
		facility_fail "A generations: not 3 retired"
	[ "$(grep -c '^base=[0-9a-f(][^ ]* bytes=65536 state=live$' "$a/generations")" = 1 ] ||
		facility_fail "A generations: not 1 live"
	# hashed %p: 00000000xxxxxxxx, never a raw ffff... address
	! grep -q 'base=ffff' "$a/generations" "$b/generations" ||
		facility_fail "raw pointer printed"
	cat "$a/flush_status" | diag
	grep -q '^pending: 3 blocks, 196608 bytes$' "$a/flush_status" &&
	grep -q '^waiting for rotation: 3 blocks, 196608 bytes$' \
		"$a/flush_status" || facility_fail "A flush_status"
	[ "$(facility_key "$a/stats" generations_begun)" = 4 ] &&
	[ "$(facility_key "$a/stats" generations_retired)" = 3 ] &&
	[ "$(facility_key "$a/stats" generations_live)" = 1 ] &&
	[ "$(facility_key "$a/stats" garbage_pressure)" = 196608 ] &&
	[ "$(facility_key "$a/stats" rotation)" = manual ] ||
		facility_fail "A stats"
	# every key of the default env's stats, in the same order
	[ "$(cut -d: -f1 "$a/stats")" = "$(cut -d: -f1 "$dfs/stats")" ] ||
		facility_fail "A stats keys differ from the default env's"
	s=$(cat "$dfs/envs_summary")
	echo "$s" | diag
	[ "$s" = "default pressure=0 pending_bytes=0
example.a pressure=196608 pending_bytes=196608
example-b pressure=393216 pending_bytes=393216" ] ||
		facility_fail "envs_summary"
	if su -s /bin/sh nobody -c "cat $a/stats" >/dev/null 2>&1 ||
	   su -s /bin/sh nobody -c "cat $dfs/envs_summary" >/dev/null 2>&1; then
		facility_fail "nobody could read"
	fi
	rmmod ttak_example_client || facility_fail "rmmod client"
	rmmod ttak || facility_fail "rmmod ttak"
	if [ -z "$facility_why" ]; then
		ok "$name"
	else
		not_ok "$name${facility_why}"
	fi
}

# facility_refused ERRNO PARAMS...: the client's insmod fails with
# "refused: -ERRNO" logged and nothing published.
facility_refused() {
	want=$1
	shift
	mark_klog
	if facility_client "$@" 2>/dev/null; then
		rmmod ttak_example_client
		facility_fail "$* accepted"
		return
	fi
	loaded ttak_example_client && facility_fail "$* left loaded"
	klog | grep -q "refused: -$want\$" ||
		facility_fail "$*: no 'refused: -$want' logged"
	[ "$(cat "$dfs/envs_summary")" = "default pressure=0 pending_bytes=0" ] ||
		facility_fail "$* changed envs_summary"
	[ "$(ls "$dfs/envs")" = default ] || facility_fail "$* left a directory"
}

facility_bad_names() {
	name="bad names are refused (-EINVAL, -EEXIST) and change nothing"
	facility_why=
	if ! load_ttak; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	blocks=$(facility_key "$dfs/stats" mem_blocks)
	long=abcdefghijklmnopqrstuvwxyz0123456
	for bad in bad/name . .. "$long" 'a*b' 'x:y' 'é'; do
		facility_refused 22 name_a="$bad"
	done
	facility_refused 22 name_b=bad/name
	facility_refused 17 name_a=default
	facility_refused 17 name_a=twice name_b=twice
	[ "$(facility_key "$dfs/stats" mem_blocks)" = "$blocks" ] ||
		facility_fail "refused loads left blocks allocated"
	# 32 characters and dots inside are fine
	if facility_client name_a=abcdefghijklmnopqrstuvwxyz012345 \
		name_b=...; then
		[ -d "$dfs/envs/abcdefghijklmnopqrstuvwxyz012345" ] &&
		[ -d "$dfs/envs/..." ] || facility_fail "good names not shown"
		rmmod ttak_example_client
	else
		facility_fail "a 32-character name was refused"
	fi
	rmmod ttak || facility_fail "rmmod ttak"
	if [ -z "$facility_why" ]; then
		ok "$name"
	else
		not_ok "$name${facility_why}"
	fi
}

facility_unpublish() {
	name="unpublish removes the env's directory and summary line"
	facility_why=
	if ! load_ttak; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	blocks=$(facility_key "$dfs/stats" mem_blocks)
	facility_client || facility_fail "insmod client"
	during=$(facility_key "$dfs/stats" mem_blocks)
	# a reader of the env's files while it goes
	( while [ -d "$dfs/envs/example.a" ]; do
		cat "$dfs/envs/example.a/stats" "$dfs/envs_summary"
	  done >/dev/null 2>&1 ) &
	reader=$!
	sleep 1
	rmmod ttak_example_client || facility_fail "rmmod client"
	wait $reader
	[ ! -e "$dfs/envs/example.a" ] && [ ! -e "$dfs/envs/example-b" ] ||
		facility_fail "directories left"
	[ "$(cat "$dfs/envs_summary")" = "default pressure=0 pending_bytes=0" ] ||
		facility_fail "summary '$(cat "$dfs/envs_summary")'"
	after=$(facility_key "$dfs/stats" mem_blocks)
	echo "mem_blocks: $blocks before, $during published, $after after" |
		diag
	[ "$during" -ge $((blocks + 8)) ] && [ "$after" = "$blocks" ] ||
		facility_fail "blocks $blocks/$during/$after"
	rmmod ttak || facility_fail "rmmod ttak"
	if [ -z "$facility_why" ]; then
		ok "$name"
	else
		not_ok "$name${facility_why}"
	fi
}

# facility_wait_zero FILE SECONDS: wait until FILE reads 0.
facility_wait_zero() {
	i=0
	while [ "$(cat "$1")" != 0 ] && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(cat "$1")" = 0 ]
}

facility_background() {
	name="background rotation of published envs (rotate_interval_ms=200)"
	facility_why=
	if ! load_ttak rotate_interval_ms=200; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	a=$dfs/envs/example.a
	facility_client manual=0 || facility_fail "insmod client manual=0"
	[ "$(facility_key "$a/stats" rotation)" = automatic ] ||
		facility_fail "rotation not automatic"
	# generous: a slow guest on a busy host
	facility_wait_zero "$a/pressure" 60 ||
		facility_fail "A pressure stays $(cat "$a/pressure")"
	facility_wait_zero "$dfs/envs/example-b/pressure" 60 ||
		facility_fail "B pressure stays"
	[ "$(cat "$a/flush_status")" = flushed ] ||
		facility_fail "A not flushed"
	rmmod ttak_example_client
	# manual mode: the background work leaves the env alone
	facility_client manual=1 || facility_fail "insmod client manual=1"
	sleep 2
	[ "$(cat "$a/pressure")" = 196608 ] ||
		facility_fail "manual env rotated ($(cat "$a/pressure"))"
	[ "$(facility_key "$a/stats" flushes)" = 0 ] ||
		facility_fail "manual env flushed"
	rmmod ttak_example_client
	rmmod ttak || facility_fail "rmmod ttak"
	if [ -z "$facility_why" ]; then
		ok "$name"
	else
		not_ok "$name${facility_why}"
	fi
}

facility_drop_caches() {
	name="drop_caches flushes every env's garbage (rotation manual, no rotate written)"
	facility_why=
	if ! load_ttak; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	for i in 1 2 3 4; do
		ctl "begin 1048576 4096" && ctl carve && ctl retire ||
			facility_fail "begin/carve/retire $i"
	done
	# 7 of 8 generations of 512 KiB (B: 1 MiB) retired
	facility_client gens=8 gen_kib=512 || facility_fail "insmod client"
	a=$dfs/envs/example.a
	flushes=$(facility_key "$dfs/stats" flushes)
	echo "before: $(cat "$dfs/envs_summary" | tr '\n' ';') flushes $flushes" |
		diag
	[ "$(cat "$dfs/pressure")" = 4194304 ] &&
	[ "$(cat "$a/pressure")" = 3670016 ] ||
		facility_fail "pressure before: $(cat "$dfs/pressure") $(cat "$a/pressure")"
	start=$(facility_cs)
	echo 2 >/proc/sys/vm/drop_caches
	took=$(($(facility_cs) - start))
	for d in "$dfs" "$dfs/envs/example.a" "$dfs/envs/example-b"; do
		wait_flushed "$d"
	done
	echo "after drop_caches (${took}0 ms) and a grace period: $(cat "$dfs/envs_summary" | tr '\n' ';')" |
		diag
	echo "flush_status: $(cat "$dfs/flush_status"), flushes $(facility_key "$dfs/stats" flushes)" |
		diag
	[ "$(cat "$dfs/pressure")" = 0 ] ||
		facility_fail "pressure after $(cat "$dfs/pressure")"
	[ "$(cat "$dfs/flush_status")" = flushed ] ||
		facility_fail "flush_status $(cat "$dfs/flush_status")"
	[ "$(facility_key "$dfs/stats" flushes)" -gt "$flushes" ] ||
		facility_fail "no flush counted"
	for e in example.a example-b; do
		[ "$(cat "$dfs/envs/$e/pressure")" = 0 ] &&
		[ "$(cat "$dfs/envs/$e/flush_status")" = flushed ] ||
			facility_fail "$e not flushed"
	done
	[ "$(grep -c state=retired "$a/generations")" = 0 ] ||
		facility_fail "A still lists retired generations"
	rmmod ttak_example_client
	rmmod ttak || facility_fail "rmmod ttak"
	if [ -z "$facility_why" ]; then
		ok "$name"
	else
		not_ok "$name${facility_why}"
	fi
}

facility_shrink_reader() {
	name="the shrinker never waits for a reader nor frees what it holds"
	hold_ms=5000
	facility_why=
	if [ "$(grep -c '^processor' /proc/cpuinfo)" -lt 2 ]; then
		ok "$name # SKIP needs two CPUs"
		return
	fi
	if ! load_ttak; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	ctl "begin 4096 128" && ctl carve || facility_fail "setup"
	if [ -f "$dir/ttak_epoch_hold_test.ko" ]; then
		insmod "$dir/ttak_epoch_hold_test.ko" hold_ms=$hold_ms
	else
		modprobe ttak_epoch_hold_test hold_ms=$hold_ms
	fi || {
		not_ok "$name: insmod ttak_epoch_hold_test.ko failed"
		rmmod ttak
		return
	}
	start=$(facility_cs)
	ctl retire || facility_fail "retire"
	echo 2 >/proc/sys/vm/drop_caches
	took=$(($(facility_cs) - start))
	pressure=$(cat "$dfs/pressure")
	status=$(cat "$dfs/flush_status")
	echo "drop_caches took ${took}0 ms with the reader inside; pressure $pressure" |
		diag
	echo "$status" | diag
	# the reader was still inside when the status was read: no wait
	echo "$status" | grep -q '^waiting for readers: 1 blocks, 4096 bytes$' &&
	echo "$status" | grep -q '^reader: cpu [0-9]* epoch [0-9]* held [0-9]* ms$' ||
		facility_fail "status while held"
	[ "$pressure" = 4096 ] || facility_fail "pressure while held $pressure"
	[ "$took" -lt $((hold_ms / 10)) ] || facility_fail "took ${took}0 ms"
	while [ $(($(facility_cs) - start)) -le $((hold_ms / 10 + 100)) ]; do
		sleep 1
	done
	rmmod ttak_epoch_hold_test
	echo 2 >/proc/sys/vm/drop_caches
	wait_flushed "$dfs"
	after=$(cat "$dfs/flush_status")
	echo "after the reader left and drop_caches: $after, pressure $(cat "$dfs/pressure")" |
		diag
	[ "$after" = flushed ] && [ "$(cat "$dfs/pressure")" = 0 ] ||
		facility_fail "not flushed after the reader left"
	rmmod ttak || facility_fail "rmmod ttak"
	if [ -z "$facility_why" ]; then
		ok "$name"
	else
		not_ok "$name${facility_why}"
	fi
}

# facility_event PATTERN: the trace holds a line matching PATTERN (an
# extended regular expression for what follows "ttak_").
facility_event() {
	grep -Eq ": ttak_$1\$" "$tmp/trace" ||
		facility_fail "no event ttak_$1"
}

facility_trace() {
	name="tracepoints: events/ttak/ with their fields in trace"
	facility_why=
	tr=/sys/kernel/tracing
	[ -d "$tr/events" ] || mount -t tracefs nodev "$tr" 2>/dev/null
	if [ ! -d "$tr/events" ]; then
		ok "$name # SKIP no tracefs"
		return
	fi
	if [ "$(grep -c '^processor' /proc/cpuinfo)" -lt 2 ]; then
		ok "$name # SKIP needs two CPUs (a reader spins on one)"
		return
	fi
	if ! load_ttak; then
		not_ok "$name: insmod ttak.ko failed"
		return
	fi
	if [ ! -d "$tr/events/ttak" ]; then
		not_ok "$name: no $tr/events/ttak"
		rmmod ttak
		return
	fi
	echo 0 >"$tr/tracing_on"
	echo >"$tr/trace"
	echo 1 >"$tr/events/ttak/enable"
	echo 1 >"$tr/tracing_on"
	# the default env through control
	ctl "begin 8192 256" && ctl carve && ctl retire && ctl rotate ||
		facility_fail "begin/carve/retire/rotate"
	# a published env: its generations, then the shrinker's rotation
	facility_client gens=2 gen_kib=16 || facility_fail "insmod client"
	echo 2 >/proc/sys/vm/drop_caches
	# a reader holding an old epoch across a rotation
	ctl "begin 4096 128" || facility_fail "begin"
	if [ -f "$dir/ttak_epoch_hold_test.ko" ]; then
		insmod "$dir/ttak_epoch_hold_test.ko" hold_ms=5000
	else
		modprobe ttak_epoch_hold_test hold_ms=5000
	fi || facility_fail "insmod ttak_epoch_hold_test.ko"
	ctl retire && ctl rotate || facility_fail "retire/rotate held"
	rmmod ttak_epoch_hold_test
	echo 0 >"$tr/tracing_on"
	echo 0 >"$tr/events/ttak/enable"
	grep ' ttak_' "$tr/trace" | sed 's/^.*: \(ttak_\)/\1/' >"$tmp/trace.raw"
	grep ' ttak_' "$tr/trace" >"$tmp/trace"
	diag <"$tmp/trace.raw"
	echo >"$tr/trace"
	facility_event 'generation_begin: env=default bytes=8192 chunk=256'
	facility_event 'generation_retire: env=default bytes=8192'
	facility_event 'gc_rotate: env=default garbage_before=8192 garbage_after=0'
	facility_event 'flush: env=default blocks=1 bytes=8192 waited_ns=[1-9][0-9]*'
	facility_event 'generation_begin: env=example\.a bytes=16384 chunk=128'
	facility_event 'generation_retire: env=example\.a bytes=16384'
	facility_event 'generation_begin: env=example-b bytes=32768 chunk=128'
	facility_event 'generation_retire: env=example-b bytes=32768'
	facility_event 'gc_rotate: env=example\.a garbage_before=16384 garbage_after=0'
	facility_event 'flush: env=example\.a blocks=1 bytes=16384 waited_ns=[1-9][0-9]*'
	facility_event 'flush: env=example-b blocks=1 bytes=32768 waited_ns=[1-9][0-9]*'
	facility_event 'gc_rotate: env=default garbage_before=4096 garbage_after=0'
	facility_event 'reclaim_blocked: cpu=[0-9]+ epoch=[0-9]+ held_ns=[1-9][0-9]*'
	rmmod ttak_example_client || facility_fail "rmmod client"
	rmmod ttak || facility_fail "rmmod ttak"
	if [ -z "$facility_why" ]; then
		ok "$name"
	else
		not_ok "$name${facility_why}"
	fi
}

facility_tests() {
	facility_default_env
	facility_publish
	facility_bad_names
	facility_unpublish
	facility_background
	facility_drop_caches
	facility_shrink_reader
	facility_trace
}
