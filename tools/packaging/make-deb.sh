#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# make-deb.sh - `make deb`: the Debian packages of ttak, built with
# debhelper (dh, dh-dkms) from a scratch copy of the tree.
#
#   ttak-dkms     the module source in /usr/src/ttak-<version>/, registered
#                 with DKMS (dkms.conf: ttak.ko only; kernel/tests/ is not
#                 shipped)
#   libttak0      libttak.so.0 (SONAME libttak.so.0)
#   libttak-dev   headers, libttak.a, libttak.so, libttak.pc, man pages
#                 (section 3 from the headers' kernel-doc, ttak(7))
#
# Steps:
#   1. copy the tree (the files git tracks plus untracked ones it does not
#      ignore; without git, everything but build/ and .git/) to
#      build/deb-src/ttak-<version>/ and lay tools/packaging/debian/ out
#      as its debian/
#   2. dpkg-buildpackage -b -us -uc there (log: build/deb-src/build.log)
#   3. move the three .debs to build/deb/ (.changes and .buildinfo stay
#      in build/deb-src/)
#   4. lintian on them: any error fails; warnings are printed
#
# The versions in the Makefile, dkms.conf and debian/changelog must agree.
# Needs debhelper, dh-dkms, dpkg-dev, lintian and linux-source-6.12 (for
# kernel-doc): tools/testing/install-deps.sh installs them.
#
# Environment: TTAK_LINTIAN=0 skips step 4.
set -eu

me=make-deb.sh
die() {
	echo "$me: error: $*" >&2
	exit 1
}
say() {
	echo "$me: $*" >&2
}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

for t in dpkg-buildpackage dh dh_dkms; do
	command -v "$t" >/dev/null 2>&1 ||
		die "'$t' not found (run tools/testing/install-deps.sh)"
done

version=$(sed -n 's/^VERSION *:= *//p' Makefile)
dkms_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
deb_version=$(sed -n '1s/^ttak (\([^)]*\)).*/\1/p' "$here/debian/changelog")
[ -n "$version" ] || die "no VERSION in Makefile"
[ "$dkms_version" = "$version" ] ||
	die "dkms.conf says $dkms_version, the Makefile $version"
[ "$deb_version" = "$version" ] ||
	die "tools/packaging/debian/changelog says $deb_version, the Makefile $version"
grep -q "usr/src/ttak-$version/" "$here/debian/ttak-dkms.install" ||
	die "tools/packaging/debian/ttak-dkms.install does not install into usr/src/ttak-$version/"

work=$repo/build/deb-src
src=$work/ttak-$version
out=$repo/build/deb
rm -rf "$work" "$out"
mkdir -p "$src" "$out"

say "copying the tree to $src"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# files deleted in the work tree but still tracked are left out
	git -C "$repo" ls-files -z -c -o --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar -C "$repo" --null -T - -cf - | tar -C "$src" -xf -
else
	tar -C "$repo" --exclude=./build --exclude=./.git -cf - . |
		tar -C "$src" -xf -
fi
cp -R "$here/debian" "$src/debian"

say "dpkg-buildpackage -b -us -uc (log: $work/build.log)"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	die "dpkg-buildpackage failed; see $work/build.log"
fi
# kernel-doc's warnings and the pages with no kernel-doc
grep -E '^(gen-man\.sh|include/ttak/.*warning)' "$work/build.log" >&2 || true

for p in ttak-dkms libttak0 libttak-dev; do
	set -- "$work/${p}_"*.deb
	[ -f "$1" ] || die "dpkg-buildpackage made no $p package"
	mv "$@" "$out/"
done
extra=$(find "$work" -maxdepth 1 -name '*.deb' | tr '\n' ' ')
[ -z "$extra" ] || die "unexpected packages: $extra"
say "packages in $out:"
ls -l "$out" >&2

if [ "${TTAK_LINTIAN:-1}" != 0 ]; then
	command -v lintian >/dev/null 2>&1 ||
		die "'lintian' not found (run tools/testing/install-deps.sh)"
	say "lintian $out/*.deb"
	# exits non-zero on any error tag; warnings are only printed
	if ! lintian --fail-on error "$out"/*.deb >"$work/lintian.log" 2>&1; then
		cat "$work/lintian.log" >&2
		die "lintian found errors"
	fi
	if [ -s "$work/lintian.log" ]; then
		cat "$work/lintian.log" >&2
	else
		say "lintian: no errors, no warnings"
	fi
fi
