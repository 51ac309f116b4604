#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# check-packages.sh - the package tier of `make check`: build the Debian
# packages, install them the way a user does, use them, purge them.
#
#  1. `make deb`: ttak-dkms, libttak0, libttak-dev in build/deb/, lintian
#     without errors (tools/packaging/make-deb.sh)
#  2. apt-get install ./build/deb/*.deb (dependencies come from the
#     archive), with DKMS's autoinstall_all_kernels set so that it builds
#     for every kernel in /lib/modules, not only the running and the
#     newest one
#  3. for every kernel with headers (/lib/modules/<ver>/build/include, the
#     test DKMS itself makes): `dkms status` says ttak is installed for it
#     and its updates/dkms/ holds ttak.ko alone; the host kernel has not
#     loaded it (nothing is ever loaded on the host)
#  4. the ttak.ko DKMS installed for Debian's 6.12 kernel boots in a QEMU
#     guest (vm/run-vm.sh --demo with TTAK_VM_MODULE: insmod, read stats,
#     one generation through control, rmmod)
#  5. lesson 40 builds with `pkg-config --cflags --libs libttak` against
#     the package's libttak.pc and runs; the headers it included and the
#     libttak.so.0 it runs with are the package's (dpkg -L), not a
#     `make install` copy in /usr/local
#  6. `man -w 3 ttak_epoch_retire` (and ttak(7), and a macro's page) finds
#     the package's page
#  7. apt-get purge: no package left, no file the packages listed, nothing
#     named ttak*/libttak* under /usr (but /usr/local), /lib/modules,
#     /var/lib/dkms or /var/cache/man
#
# The packages are purged on any exit, so an interrupted run leaves no
# ttak-dkms behind to hook future kernel installs. Needs root (apt-get)
# and what tools/testing/install-deps.sh installs.
#
# Prints one "ok"/"not ok" line per check and, last,
# "package: N passed, N failed"; exit status 0 when all passed.
# Environment: TTAK_SKIP_PACKAGES=1 skips the tier (loudly);
# TTAK_VM_WORK (default /tmp/ttak-vm) holds the guest's files under
# packages/.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 2
work=${TTAK_VM_WORK:-/tmp/ttak-vm}/packages
pkgs="ttak-dkms libttak0 libttak-dev"
npass=0
nfail=0
start=$(date +%s)

ok() {
	npass=$((npass + 1))
	echo "ok $*"
}
not_ok() {
	nfail=$((nfail + 1))
	echo "not ok $*"
}
finish() {
	echo "# package tier took $(($(date +%s) - start)) s"
	echo "package: $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ]
	exit $?
}
# show FILE: the end of a log, indented as a TAP comment
show() {
	tail -n "${2:-30}" "$1" | sed 's/^/#   /'
}

if [ "${TTAK_SKIP_PACKAGES:-0}" = 1 ]; then
	echo "package: SKIPPED (TTAK_SKIP_PACKAGES=1): the packages are NOT tested"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	not_ok "the package tier installs packages and needs root (TTAK_SKIP_PACKAGES=1 skips it)"
	finish
fi

rm -rf "$work"
mkdir -p "$work"
export DEBIAN_FRONTEND=noninteractive

installed() {	# installed PKG: dpkg knows it (any state but not-installed)
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -qv 'not-installed'
}
purge() {
	present=
	for p in $pkgs; do
		! installed "$p" || present="$present $p"
	done
	[ -z "$present" ] ||
		apt-get purge -y -q $present >"$work/purge.log" 2>&1
}
# leftovers of an interrupted run would hide what this one installs
purge || { show "$work/purge.log"; not_ok "purging packages left by an earlier run"; }
trap 'purge' EXIT
trap 'exit 130' INT TERM

version=$(sed -n 's/^VERSION *:= *//p' Makefile)

# 1. build
if make --no-print-directory deb >"$work/deb.log" 2>&1; then
	nw=$(grep -c '^W: ' "$work/deb.log")
	ok "make deb: $(ls build/deb | tr '\n' ' ')(lintian: no errors, $nw warnings)"
	grep '^W: ' "$work/deb.log" | sed 's/^/#   /'
else
	show "$work/deb.log" 40
	not_ok "make deb"
	finish
fi

# 2. install
if autoinstall_all_kernels=1 apt-get install -y -q ./build/deb/*.deb \
	>"$work/install.log" 2>&1; then
	ok "apt-get install ./build/deb/*.deb"
else
	show "$work/install.log" 40
	not_ok "apt-get install ./build/deb/*.deb"
	finish
fi
# what the packages put on the system, for the checks below and the purge
for p in $pkgs; do
	dpkg -L "$p" >"$work/$p.list" 2>/dev/null
done
so=$(grep '/libttak\.so\.0$' "$work/libttak0.list")
soname=$(objdump -p "$so" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
if [ -n "$so" ] && [ "$soname" = libttak.so.0 ]; then
	ok "libttak0 ships $so with SONAME libttak.so.0"
else
	not_ok "libttak0: libttak.so.0 '$so' has SONAME '$soname'"
fi

# 3. DKMS: built and installed for every kernel with headers
dkms status >"$work/dkms-status.txt" 2>&1
grep -v 'readelf: Warning' "$work/dkms-status.txt" | sed 's/^/#   dkms status: /'
nk=0
for d in /lib/modules/*/; do
	k=$(basename "$d")
	[ -e "/lib/modules/$k/build/include" ] || continue
	nk=$((nk + 1))
	st=$(dkms status -m ttak -v "$version" -k "$k" 2>&1)
	mods=$(find "/lib/modules/$k/updates/dkms" -name '*.ko*' 2>/dev/null |
		sed 's|.*/||' | sort | tr '\n' ' ')
	case $st:$mods in
	*": installed"*:"ttak.ko "* | *": installed"*:"ttak.ko."[gxz]*" ")
		ok "dkms: ttak $version built and installed for $k (updates/dkms: $mods)" ;;
	*) not_ok "dkms: ttak for $k: status '$st', updates/dkms holds '$mods'" ;;
	esac
done
[ "$nk" -gt 0 ] || not_ok "no kernel in /lib/modules has headers: DKMS built nothing"
if [ ! -e /sys/module/ttak ]; then
	ok "the host kernel $(uname -r) has not loaded ttak"
else
	not_ok "ttak is loaded into the host kernel"
fi

# 4. the DKMS-built module for 6.12 in a guest
ko=$(for f in /lib/modules/6.12.*-amd64/updates/dkms/ttak.ko*; do
	[ ! -e "$f" ] || echo "$f"
done | grep -Ev -- '-(rt|cloud)-amd64/' | sort -rV | head -n 1)
if [ -z "$ko" ]; then
	not_ok "no ttak.ko installed by DKMS for a 6.12 kernel"
elif TTAK_VM_WORK=$work TTAK_VM_MODULE=$ko TTAK_VM_SMP=2 \
	"$here/vm/run-vm.sh" --demo --name dkms-6.12 6.12 >"$work/vm.log" 2>&1 &&
	grep -q 'demo: PASS' "$work/vm.log" &&
	grep -q '^generations_flushed: 1' "$work/vm.log"; then
	ok "the DKMS-installed $ko boots in a 6.12 guest: insmod, stats, one generation flushed, rmmod"
else
	show "$work/vm.log" 40
	not_ok "the DKMS-installed $ko in a 6.12 guest"
fi

# 5. lesson 40 against the installed library
lesson=$repo/user/tutorials/40-arena-memory/lesson40_arena_memory.c
pc=$(grep '/pkgconfig/libttak\.pc$' "$work/libttak-dev.list")
bin=$work/lesson40
# the package's libttak.pc, whatever else pkg-config's path holds
flags=
[ -z "$pc" ] ||
	flags=$(PKG_CONFIG_LIBDIR=$(dirname "$pc") pkg-config --cflags --libs libttak |
		sed 's/ *$//')
# A `make install` copy in /usr/local comes first in the compiler's and
# the dynamic linker's paths: hide it (a private mount namespace with
# empty /usr/local/include and /usr/local/lib) rather than test it.
shadow=$(ls -d /usr/local/include/ttak /usr/local/lib/libttak* \
	/usr/local/lib/*/libttak* 2>/dev/null | tr '\n' ' ')
cat >"$work/lesson.sh" <<EOF
gcc -std=c11 -Wall -Wextra -Werror -pedantic -D_XOPEN_SOURCE=700 \\
	-MD -MF "$work/lesson40.d" "$lesson" $flags -o "$bin" \\
	>"$work/lesson-build.log" 2>&1 || exit 10
ldd "$bin" >"$work/lesson40.ldd" 2>&1
env -u LD_LIBRARY_PATH "$bin" >"$work/lesson40.out" 2>&1 || exit 11
EOF
rm -f "$work/lesson40.d" "$work/lesson40.ldd" "$work/lesson40.out"
if [ -z "$pc" ] || [ -z "$flags" ]; then
	not_ok "libttak-dev ships no usable libttak.pc ('$pc', flags '$flags')"
else
	if [ -n "$shadow" ]; then
		echo "# hiding a make install copy in /usr/local for lesson 40: $shadow"
		# shellcheck disable=SC2016
		unshare -m sh -c 'mount -t tmpfs ttak-hide /usr/local/include &&
			mount -t tmpfs ttak-hide /usr/local/lib && exec sh "$1"' \
			sh "$work/lesson.sh"
	else
		sh "$work/lesson.sh"
	fi
	lrc=$?
	# every ttak header the compiler read must be one of the package's
	bad=$(tr ' \\' '\n\n' <"$work/lesson40.d" 2>/dev/null | grep '/ttak/.*\.h$' |
		while read -r h; do
			r=$(readlink -f "$h")
			grep -qx "$r" "$work/libttak-dev.list" || echo "$h"
		done)
	lib=$(awk '$1 == "libttak.so.0" { print $3 }' "$work/lesson40.ldd" 2>/dev/null)
	if [ "$lrc" -eq 10 ] || [ ! -s "$work/lesson40.d" ]; then
		show "$work/lesson-build.log"
		not_ok "lesson 40 build with pkg-config --cflags --libs libttak (exit $lrc)"
	elif [ -n "$bad" ]; then
		not_ok "lesson 40 read headers that are not libttak-dev's: $bad"
	elif [ "$(readlink -f "$lib")" != "$(readlink -f "$so")" ]; then
		not_ok "lesson 40 runs with '$lib', not the package's $so"
	elif [ "$lrc" -eq 0 ] &&
		[ "$(grep -c 'cleanup status: flushed' "$work/lesson40.out")" -eq 3 ]; then
		ok "lesson 40 built with 'pkg-config --cflags --libs libttak' ($flags) against libttak-dev and $so runs: 3 generations flushed"
	else
		show "$work/lesson40.out"
		not_ok "lesson 40 against the packages (exit $lrc)"
	fi
fi

# 6. man pages
for q in "3 ttak_epoch_retire" "3 ttak_arena_generation_begin" "7 ttak" \
	"3 ttak_mem_alloc"; do
	# shellcheck disable=SC2086
	found=$(man -w -a $q 2>/dev/null | while read -r f; do
		grep -qx "$f" "$work/libttak-dev.list" && echo "$f"
	done | head -n 1)
	# man -l renders the file itself: no cat page left in /var/cache/man
	# shellcheck disable=SC2086
	if [ -n "$found" ] && man -l "$found" 2>/dev/null | grep -q "${q#* }"; then
		ok "man -w $q: $found"
	else
		not_ok "man -w $q finds no page of libttak-dev ($(man -w -a $q 2>&1 | tr '\n' ' '))"
	fi
done

# 7. purge, then nothing of ours may be left
if apt-get purge -y -q $pkgs >"$work/purge.log" 2>&1; then
	ok "apt-get purge $pkgs"
else
	show "$work/purge.log"
	not_ok "apt-get purge $pkgs"
fi
left=
for p in $pkgs; do
	! installed "$p" || left="$left $p"
done
files=$(cat "$work"/*.list | while read -r f; do
	[ -d "$f" ] || [ ! -e "$f" ] && [ ! -L "$f" ] || echo "$f"
done)
strays=$(find /usr /lib/modules /var/lib/dkms /var/cache/man -path /usr/local -prune -o \
	\( -name 'ttak*' -o -name 'libttak*' \) -print 2>/dev/null)
dk=$(dkms status -m ttak 2>/dev/null)
if [ -z "$left$files$strays$dk" ]; then
	ok "after the purge: no package, no file of theirs, nothing named ttak* under /usr (but /usr/local), /lib/modules, /var/lib/dkms, /var/cache/man"
else
	[ -z "$left" ] || echo "#   still installed:$left"
	[ -z "$files" ] || echo "$files" | sed 's/^/#   left: /'
	[ -z "$strays" ] || echo "$strays" | sed 's/^/#   stray: /'
	[ -z "$dk" ] || echo "#   dkms status: $dk"
	not_ok "the purge left things behind"
fi
trap - EXIT
finish
