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
#     then every other lesson of user/tutorials/ (LESSONS below): built
#     with gcc and clang (warnings as errors), run under valgrind, its
#     key lines checked;
#  3. install into a scratch prefix and build lesson 40 against it through
#     pkg-config, statically and against the shared library, and run both;
#     every other lesson through its own Makefile and pkg-config.
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

# Key lines of each lesson (fixed strings, one per line of the list);
# the lesson's README shows its whole output.
lesson_keys() {
	case $1 in
	01-*)	printf '%s\n' 'at T+250: valid' \
			'at T+251: refused (ETIMEDOUT: expired)' \
			'brief    at T+0: valid "hello, lifetime=0 ticks"' \
			'brief    at T+1: refused (ETIMEDOUT: expired)' \
			'forever  at the last tick: valid' \
			'at T+0: refused (EFAULT: not a live block)' \
			'lesson 01: done, every answer as expected' ;;
	02-*)	printf '%s\n' 'the old pointer: refused (EFAULT)' \
			'aligned to 64: yes' \
			'allow_direct=false: access refused (EPERM)' \
			'after the scope access refused (EFAULT)' \
			'{"event":"alloc","ptr":"0x' '"root":1,"flags":0}' \
			'copy is now NULL' 'lesson 02: done, every block freed' ;;
	21-*)	printf '%s\n' 'epoch=0 tracked=3 garbage=2 pressure=300' \
			'epoch=1 tracked=1 garbage=0 pressure=0' \
			'epoch=1 tracked=1 garbage=1 pressure=300' \
			'epoch=2 tracked=0 garbage=0 pressure=0' \
			'epoch=2 tracked=4 garbage=3 pressure=1200' \
			'epoch=3 tracked=1 garbage=0 pressure=0' \
			'lesson 21: done, every block flushed' ;;
	22-*)	printf '%s\n' 'expires 1100, refs 1' \
			'cleanup(1000): soon gone, later tracked, keep tracked' \
			'cleanup(1100): later tracked' \
			'cleanup(1101): later gone, keep tracked' \
			'cleanup(5000): mine tracked (held)' \
			'mine gone, block still usable: yes' \
			'lesson 22: done, the tree is destroyed' ;;
	23-*)	printf '%s\n' 'reclaim with the reader inside: cleaned 0' \
			'version 1 still intact (magic ALIVE)' \
			'reclaim after the reader left: cleaned 1' \
			'retired 2000, cleaned 2000' \
			'reads, 0 of a cleaned-up object, order kept' \
			'lesson 23: done, no reader ever saw a cleaned object' ;;
	45-*)	printf '%s\n' 'slot 1 is still set (dangling); ttak_mem_access on it: refused (EFAULT)' \
			'slot 0 is NULL' 'no error reported: yes' \
			'lesson 45: done, every slot empty' ;;
	esac
}

# Every key line of lesson $1 in output file $2; $3 = label.
check_keys() {
	missing=0
	keys=$OUT/keys-$1.txt
	lesson_keys "$1" >"$keys"
	while IFS= read -r key; do
		grep -qF -- "$key" "$2" || {
			echo "  missing: $key"
			missing=$((missing + 1))
		}
	done <"$keys"
	if [ "$missing" -eq 0 ] && [ -s "$keys" ]; then
		ok "$3: $(wc -l <"$keys" | tr -d ' ') key lines"
	else
		show "$2"
		bad "$3: $missing key lines missing"
	fi
}

# every lesson but 40 (done above): gcc and clang, valgrind, key lines
LESSONS=""
for dir in user/tutorials/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	[ -f "$dir/Makefile" ] && [ "$name" != 40-arena-memory ] || continue
	set -- "$dir"/lesson*.c
	[ -f "$1" ] || continue
	LESSONS="$LESSONS $name"
	echo "== lesson $name =="
	src=$1
	bin=$OUT/$(basename "$src" .c)
	if $TTAK_CC $LESSON_CFLAGS -Iinclude "$src" build/plain/libttak.a \
	   -pthread -o "$bin" >"$OUT/build-$name.log" 2>&1 &&
	   clang $LESSON_CFLAGS -Iinclude "$src" build/plain/libttak.a \
	   -pthread -o "$bin-clang" >>"$OUT/build-$name.log" 2>&1; then
		ok "$name: builds with $TTAK_CC and clang, no warnings"
	else
		show "$OUT/build-$name.log"
		bad "$name: build"
		continue
	fi
	if valgrind --error-exitcode=1 --leak-check=full "$bin" \
	   >"$bin.out" 2>"$bin.err"; then
		ok "$name: clean under valgrind memcheck"
	else
		show "$bin.err"
		bad "$name: under valgrind memcheck"
	fi
	# stderr too: lesson 02 shows its trace lines there
	cat "$bin.err" >>"$bin.out"
	check_keys "$name" "$bin.out" "$name output"
done

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

	# every other lesson: its own Makefile, pkg-config, shared library
	for name in $LESSONS; do
		rm -rf "$prefix/lesson"
		mkdir -p "$prefix/lesson"
		cp "user/tutorials/$name/Makefile" \
		   "user/tutorials/$name"/lesson*.c "$prefix/lesson/"
		out=$OUT/$name-makefile.out
		prog=$(cd "user/tutorials/$name" && basename lesson*.c .c)
		if $MAKE --no-print-directory -C "$prefix/lesson" >>"$ilog" 2>&1 &&
		   LD_LIBRARY_PATH=$prefix/lib "$prefix/lesson/$prog" \
		   >"$out" 2>&1; then
			ok "$name Makefile against the installed libttak"
			check_keys "$name" "$out" "$name (its Makefile) output"
		else
			show "$ilog"
			bad "$name Makefile against the installed libttak"
		fi
	done
else
	show "$ilog"
	bad "make install PREFIX=<tmp>"
fi
rm -rf "$prefix"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
