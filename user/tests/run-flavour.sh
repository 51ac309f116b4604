#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# run-flavour.sh FLAVOUR TEST_BINARY... - run the test programs of one build
# flavour with the sanitizer settings it needs and print one summary line
# per program and, last, "[FLAVOUR] N passed, N failed".
#
# Each program's output goes to <binary>.log; it is shown in full when the
# program fails, or always with TTAK_TEST_VERBOSE=1. TTAK_STRESS_MS sets
# the stress tests' duration (default 2000 ms plain, 700 ms sanitized,
# 1000 ms for other flavours such as clang).
# Exit status: 0 when everything passed.

flavour=$1
shift

case $flavour in
asan|tsan)	: "${TTAK_STRESS_MS:=700}" ;;
plain)		: "${TTAK_STRESS_MS:=2000}" ;;
*)		: "${TTAK_STRESS_MS:=1000}" ;;
esac
export TTAK_STRESS_MS
# LeakSanitizer runs at the exit of every forked test; huge requests fail
# with NULL instead of aborting, as malloc() would.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:detect_stack_use_after_return=1:strict_string_checks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:allocator_may_return_null=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

total_pass=0
total_fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	log=$bin.log
	"$bin" >"$log" 2>&1
	rc=$?
	last=$(tail -n 1 "$log")
	pass=$(printf '%s\n' "$last" |
	       sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
	fail=$(printf '%s\n' "$last" |
	       sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
	if [ -z "$pass" ]; then
		# the program itself died: count it as one failure
		pass=0
		fail=1
		last="did not finish (exit status $rc)"
	elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
		last="$last, but exit status $rc"
	fi
	if [ "$fail" -ne 0 ] || [ -n "$TTAK_TEST_VERBOSE" ]; then
		cat "$log"
	fi
	printf '  [%s] %-20s %s\n' "$flavour" "$name" "$last"
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
done
echo "[$flavour] $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
