#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Ship only the product: a default module build (no TTAK_TESTS, see
# kernel/Kbuild) makes ttak.ko and nothing else, and modules_install
# installs ttak.ko alone, so a test module cannot slip back into
# `make modules_install` or DKMS unnoticed. Host only: builds, never loads.
#
# Usage: check-ship.sh [KDIR...]
#   KDIR...   kernel build trees (default: the newest Debian 6.1 and 6.12
#             headers in /lib/modules/<ver>/build that are installed)
#
# For each KDIR, in a copy of the working tree's Kbuild, kernel/ and
# include/ (as DKMS builds it: M=<root>, through ./Kbuild):
#   make -C KDIR M=<copy> modules
#   make -C KDIR M=<copy> INSTALL_MOD_PATH=<tmp> modules_install
# passes when the copy holds kernel/ttak.ko as its only .ko and the install
# tree holds one module file, ttak.ko (possibly compressed). One more line
# checks that dkms.conf names no module but ttak.
#
# Prints one "ok"/"not ok" line per check and "ship: N passed, N failed";
# exit status 0 when all passed. Work files go under
# ${TTAK_VM_WORK:-/tmp/ttak-vm}/ship; TTAK_JOBS is make's -j (default 2).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${TTAK_VM_WORK:-/tmp/ttak-vm}/ship
jobs=${TTAK_JOBS:-2}
npass=0
nfail=0

ok() {
	npass=$((npass + 1))
	echo "ok $*"
}

not_ok() {
	nfail=$((nfail + 1))
	echo "not ok $*"
}

# Newest stock (not rt or cloud) headers for a series such as 6.1; the
# trailing ".*" keeps 6.1 from matching 6.12.
stock_kdir() {
	for d in /lib/modules/"$1".*-amd64/build; do
		[ ! -f "$d/Makefile" ] || echo "$d"
	done | grep -Ev -- '-(rt|cloud)-amd64/build$' | sort -rV | head -n 1
}

if [ $# -eq 0 ]; then
	for t in 6.1 6.12; do
		d=$(stock_kdir "$t")
		if [ -n "$d" ]; then
			set -- "$@" "$d"
		else
			echo "# no $t headers in /lib/modules: not checked"
		fi
	done
fi

check_kdir() {	# check_kdir KDIR
	kdir=$1
	if [ ! -f "$kdir/Makefile" ]; then
		not_ok "$kdir: not a kernel build directory"
		return 0
	fi
	name=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$kdir/include/generated/utsrelease.h" 2>/dev/null || true)
	case $name in
	'' | *[!A-Za-z0-9.+_-]*) name=$(echo "$kdir" | tr -c 'A-Za-z0-9.+_\n-' _) ;;
	esac
	src=$work/$name/src
	inst=$work/$name/install
	log=$work/$name/build.log
	rm -rf "${work:?}/${name:?}"
	mkdir -p "$src" "$inst"
	cp "$repo/Kbuild" "$src/"
	# Sources only, as run-vm.sh copies them.
	tar -C "$repo" -cf - --exclude='*.o' --exclude='*.ko' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
		--exclude='*.a' --exclude=Module.symvers \
		--exclude=modules.order kernel include | tar -C "$src" -xf -
	if ! make -C "$kdir" M="$src" -j"$jobs" modules >"$log" 2>&1; then
		tail -n 20 "$log" | sed 's/^/# /'
		not_ok "$name: default module build failed; see $log"
		return 0
	fi
	# Signing without the distribution's key only warns; any other
	# failure is the check's.
	if ! make -C "$kdir" M="$src" INSTALL_MOD_PATH="$inst" \
		modules_install >>"$log" 2>&1; then
		tail -n 20 "$log" | sed 's/^/# /'
		not_ok "$name: modules_install failed; see $log"
		return 0
	fi
	built=$(cd "$src" && find . -name '*.ko' | sort | tr '\n' ' ')
	installed=$(cd "$inst" && find . -type f -name '*.ko*' |
		sed 's|.*/||' | sort | tr '\n' ' ')
	case $installed in
	'ttak.ko ' | 'ttak.ko.xz ' | 'ttak.ko.gz ' | 'ttak.ko.zst ') ;;
	*) installed="unexpected: $installed" ;;
	esac
	if [ "$built" = './kernel/ttak.ko ' ] &&
	   [ "${installed#unexpected}" = "$installed" ]; then
		ok "$name: default build and modules_install ship ttak.ko only"
	else
		echo "# built: $built"
		echo "# installed: $installed"
		not_ok "$name: default build ships more than ttak.ko"
	fi
}

for kdir in "$@"; do
	check_kdir "$kdir"
done

names=$(sed -n 's/^BUILT_MODULE_NAME\[[0-9]*\]="\(.*\)"$/\1/p' \
	"$repo/dkms.conf" | tr '\n' ' ')
if [ "$names" = 'ttak ' ]; then
	ok "dkms.conf builds and installs ttak only"
else
	not_ok "dkms.conf names modules: $names(want ttak only)"
fi

echo "ship: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
