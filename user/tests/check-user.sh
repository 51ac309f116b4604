#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# check-user.sh - the user-space test tier (`make check-user`).
#
#  1. for each flavour (plain: gcc -O2; asan: ASan+UBSan; tsan: TSan;
#     clang: clang -O2) build libttak and the suite into build/<flavour>/
#     with warnings as errors, check that libttak.so exports exactly the
#     public API of the headers (check-exports.sh, one line), and run it;
#  2. run lesson 40 under valgrind memcheck and check what it prints;
#  3. install into a scratch prefix and build lesson 40 against it through
#     pkg-config, statically and against the shared library, and run both.
#
# Every program and every tier check counts; the last line printed is
# "N passed, N failed" for the whole tier, and the exit status is non-zero
# when anything failed.
#
# Compilers: plain and asan use gcc; tsan uses clang, because gcc 12
# refuses atomic_thread_fence() under -fsanitize=thread (-Werror=tsan) and
# the core orders its epoch reads with fences (TSan sees the ordering
# through the atomics that carry it; it does not model fences either way).
#
# Knobs (environment): TTAK_FLAVOURS (default "plain asan tsan clang"),
# TTAK_CC (plain, default gcc), TTAK_ASAN_CC (default gcc), TTAK_TSAN_CC
# (default clang), TTAK_JOBS (default 2), TTAK_STRESS_MS (stress duration;
# see run-flavour.sh), TTAK_TEST_VERBOSE.

set -u
cd "$(dirname "$0")/../.." || exit 2

: "${TTAK_FLAVOURS:=plain asan tsan clang}"
: "${TTAK_CC:=gcc}"
: "${TTAK_ASAN_CC:=gcc}"
: "${TTAK_TSAN_CC:=clang}"
: "${TTAK_JOBS:=2}"
MAKE=${MAKE:-make}
OUT=build/check-user
LESSON_DIR=user/tutorials/40-arena-memory
LESSON_SRC=$LESSON_DIR/lesson40_arena_memory.c
LESSON_CFLAGS="-std=c11 -Wall -Wextra -Werror -pedantic -g -D_XOPEN_SOURCE=700"
mkdir -p "$OUT"

pass=0
fail=0

ok() {
	pass=$((pass + 1))
	echo "  [tier] PASS $1"
}

bad() {
	fail=$((fail + 1))
	echo "  [tier] FAIL $1"
}

# Show a log when a step failed.
show() {
	echo "---- $1 ----"
	tail -n 80 "$1"
	echo "----"
}

# Rebuild a flavour from scratch when its compiler changed: objects of
# two compilers' sanitizer runtimes must not meet in one library.
use_cc() {
	stamp=build/$1/.compiler
	want=$("$2" --version 2>/dev/null | head -n 1)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$want" ]; then
		rm -rf "build/$1"
	fi
	mkdir -p "build/$1"
	printf '%s\n' "$want" >"$stamp"
}

test_bins() {
	for src in user/tests/test_*.c; do
		printf 'build/%s/tests/%s ' "$1" "$(basename "$src" .c)"
	done
	# the unit suite shared with the kernel (see tests.mk)
	printf 'build/%s/tests/test_core_suite ' "$1"
}

# Count a lesson run's output lines; $1 = output file, $2 = label.
check_lesson_output() {
	flushed=$(grep -c 'cleanup status: flushed' "$1")
	used=$(grep -c 'used=4096 / 4096 bytes (32 chunks)' "$1")
	if [ "$flushed" -eq 3 ] && [ "$used" -eq 3 ]; then
		ok "$2: 3x flushed, 3x used=4096 / 4096 bytes (32 chunks)"
	else
		show "$1"
		bad "$2: $flushed x flushed, $used x used=4096 (want 3 each)"
	fi
}

# 1. the suite in each flavour
for fl in $TTAK_FLAVOURS; do
	case $fl in
	asan)	cc=$TTAK_ASAN_CC ;;
	tsan)	cc=$TTAK_TSAN_CC ;;
	clang)	cc=clang ;;
	*)	cc=$TTAK_CC ;;
	esac
	echo "== $fl ($cc) =="
	use_cc "$fl" "$cc"
	log=$OUT/build-$fl.log
	if ! $MAKE --no-print-directory -j"$TTAK_JOBS" FLAVOUR="$fl" CC="$cc" \
	     lib tests >"$log" 2>&1; then
		show "$log"
		bad "$fl: build"
		continue
	fi
	elog=$OUT/exports-$fl.log
	if sh user/tests/check-exports.sh "build/$fl/libttak.so" >"$elog" 2>&1
	then
		ok "$fl: libttak.so exports exactly the public API ($(sed -n \
			's/.* exactly the \([0-9]*\) public names$/\1/p' "$elog") names)"
	else
		cat "$elog"
		bad "$fl: libttak.so exports differ from the public headers"
	fi
	# shellcheck disable=SC2046
	sh user/tests/run-flavour.sh "$fl" $(test_bins "$fl") 2>&1 |
		tee "$OUT/run-$fl.log"
	last=$(tail -n 1 "$OUT/run-$fl.log")
	p=$(echo "$last" | sed -n 's/^\[.*\] \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$last" | sed -n 's/^\[.*\] \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		bad "$fl: runner did not report"
		continue
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done

# 2. lesson 40 under valgrind (needs the plain library)
echo "== lesson 40 under valgrind =="
use_cc plain "$TTAK_CC"
lesson=$OUT/lesson40_arena_memory
if $MAKE --no-print-directory -j"$TTAK_JOBS" FLAVOUR=plain CC="$TTAK_CC" \
   lib >"$OUT/build-lesson.log" 2>&1 &&
   $TTAK_CC $LESSON_CFLAGS -Iinclude "$LESSON_SRC" build/plain/libttak.a \
   -pthread -o "$lesson" >>"$OUT/build-lesson.log" 2>&1; then
	if valgrind --error-exitcode=1 --leak-check=full "$lesson" \
	   >"$OUT/lesson-valgrind.out" 2>"$OUT/lesson-valgrind.err"; then
		ok "lesson 40 clean under valgrind memcheck"
	else
		cat "$OUT/lesson-valgrind.out"
		show "$OUT/lesson-valgrind.err"
		bad "lesson 40 under valgrind memcheck"
	fi
	check_lesson_output "$OUT/lesson-valgrind.out" "lesson 40 output"
else
	show "$OUT/build-lesson.log"
	bad "lesson 40 build"
fi

# 3. install, then build the lesson against the installed library
echo "== install + pkg-config =="
prefix=$(mktemp -d "${TMPDIR:-/tmp}/ttak-install.XXXXXX")
ilog=$OUT/install.log
if $MAKE --no-print-directory FLAVOUR=plain CC="$TTAK_CC" PREFIX="$prefix" \
   install >"$ilog" 2>&1 &&
   [ -f "$prefix/lib/pkgconfig/libttak.pc" ] &&
   [ -f "$prefix/include/ttak/mem/arena_helper.h" ]; then
	ok "make install PREFIX=<tmp>"
	PKG_CONFIG_PATH=$prefix/lib/pkgconfig
	export PKG_CONFIG_PATH
	cflags=$(pkg-config --cflags libttak)
	ldir=$(pkg-config --libs-only-L libttak)
	other=$(pkg-config --static --libs-only-other libttak)
	libs=$(pkg-config --libs libttak)

	# static: libttak.a by name, the rest from pkg-config
	bin=$OUT/lesson40-static
	# shellcheck disable=SC2086
	if $TTAK_CC $LESSON_CFLAGS $cflags "$LESSON_SRC" $ldir -l:libttak.a \
	   $other -o "$bin" >>"$ilog" 2>&1 &&
	   ! readelf -d "$bin" | grep -q 'NEEDED.*libttak' &&
	   env -u LD_LIBRARY_PATH "$bin" >"$bin.out" 2>&1; then
		ok "lesson 40 built statically via pkg-config runs"
		check_lesson_output "$bin.out" "lesson 40 (static) output"
	else
		show "$ilog"
		bad "lesson 40 built statically via pkg-config"
	fi

	# shared: needs libttak.so.0 from the prefix at run time
	bin=$OUT/lesson40-shared
	# shellcheck disable=SC2086
	if $TTAK_CC $LESSON_CFLAGS $cflags "$LESSON_SRC" $libs -o "$bin" \
	   >>"$ilog" 2>&1 &&
	   readelf -d "$bin" | grep -q 'NEEDED.*libttak\.so\.0' &&
	   LD_LIBRARY_PATH=$prefix/lib "$bin" >"$bin.out" 2>&1; then
		ok "lesson 40 built against libttak.so via pkg-config runs"
		check_lesson_output "$bin.out" "lesson 40 (shared) output"
	else
		show "$ilog"
		bad "lesson 40 built against libttak.so via pkg-config"
	fi

	# the lesson's own Makefile, in a copy of its folder
	mkdir -p "$prefix/lesson"
	cp "$LESSON_DIR/Makefile" "$LESSON_SRC" "$prefix/lesson/"
	if $MAKE --no-print-directory -C "$prefix/lesson" >>"$ilog" 2>&1 &&
	   LD_LIBRARY_PATH=$prefix/lib "$prefix/lesson/lesson40_arena_memory" \
	   >"$OUT/lesson40-makefile.out" 2>&1; then
		ok "lesson 40 Makefile against the installed libttak"
		check_lesson_output "$OUT/lesson40-makefile.out" \
			"lesson 40 (its Makefile) output"
	else
		show "$ilog"
		bad "lesson 40 Makefile against the installed libttak"
	fi
else
	show "$ilog"
	bad "make install PREFIX=<tmp>"
fi
rm -rf "$prefix"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
