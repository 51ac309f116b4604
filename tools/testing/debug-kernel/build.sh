#!/bin/sh
# Build the ttak debug kernel (KASAN, kmemleak, lockdep, failslab, ...) from
# Debian's linux-source-6.12 tarball: tinyconfig + ttak-debug.config.
#
# Usage: tools/testing/debug-kernel/build.sh
#
# Environment:
#   TTAK_CACHE           cache root (default /var/cache/ttak); kept outside
#                        the repo: the extracted source is ~1.7 GB and each
#                        build dir ~280 MB.
#   TTAK_LINUX_TARBALL   source tarball (default /usr/src/linux-source-6.12.tar.xz)
#   TTAK_JOBS            parallel jobs (default: nproc)
#
# Layout under $TTAK_CACHE/debug-kernel/:
#   src-<pkgver>/linux-source-6.12/  extracted once per package version
#   <pkgver>-<hash8>/                O= build dir, one per fragment sha256;
#                                    holds .config, bzImage, Module.symvers,
#                                    build.log and a `done` stamp
#
# Progress goes to stderr. stdout gets exactly two lines, so callers can
# `eval "$(build.sh)"`:
#   BZIMAGE=<build dir>/arch/x86/boot/bzImage
#   KDIR=<build dir>       (use as: make -C "$KDIR" M=$PWD modules)
# A second run with the same key rebuilds nothing and prints the same lines.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/ttak-debug.config
tarball=${TTAK_LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
cache=${TTAK_CACHE:-/var/cache/ttak}/debug-kernel
jobs=${TTAK_JOBS:-$(nproc)}

die() {
	echo "build.sh: error: $*" >&2
	exit 1
}
say() {
	echo "build.sh: $*" >&2
}

[ -r "$fragment" ] || die "missing config fragment $fragment"
[ -r "$tarball" ] || die "missing $tarball (apt-get install linux-source-6.12)"
for tool in make gcc flex bison bc tar xz sha256sum flock; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found (needs build-essential flex bison bc xz-utils util-linux)"
done
# objtool (needed by the ORC unwinder) and sign-file need these headers.
for hdr in gelf.h openssl/opensslv.h; do
	[ -e "/usr/include/$hdr" ] ||
		die "/usr/include/$hdr missing (apt-get install libelf-dev libssl-dev)"
done

# Key part 1: the package version, so a linux-source upgrade gets its own
# tree. A tarball that no package owns is keyed by its own checksum.
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
if [ -z "$pkgver" ] || [ "$tarball" != /usr/src/linux-source-6.12.tar.xz ]; then
	pkgver=tar-$(sha256sum "$tarball" | cut -c1-12)
fi
# Debian versions contain '~' and ':'; keep paths plain.
pkgver=$(printf '%s' "$pkgver" | tr -c 'A-Za-z0-9._+-' '_')
# Key part 2: the fragment's content.
hash8=$(sha256sum "$fragment" | cut -c1-8)

srcroot=$cache/src-$pkgver
src=$srcroot/linux-source-6.12
out=$cache/$pkgver-$hash8

print_result() {
	echo "BZIMAGE=$out/arch/x86/boot/bzImage"
	echo "KDIR=$out"
}

if [ -e "$out/done" ]; then
	say "up to date: $out"
	print_result
	exit 0
fi

mkdir -p "$cache" || die "cannot create $cache (set TTAK_CACHE)"
# Serialise concurrent runs (e.g. two CI jobs): one builds, the other waits
# and then finds the `done` stamp.
exec 9>"$cache/.lock"
flock 9
if [ -e "$out/done" ]; then
	say "built by a concurrent run: $out"
	print_result
	exit 0
fi

# Extract once per package version. Extract to a temporary name and rename,
# so an interrupted extraction is never mistaken for a complete tree.
if [ ! -e "$srcroot/.extracted" ]; then
	say "extracting $tarball (about a minute)"
	rm -rf "$srcroot" "$srcroot.tmp"
	mkdir -p "$srcroot.tmp"
	tar -xJf "$tarball" -C "$srcroot.tmp" || die "extracting $tarball failed"
	[ -f "$srcroot.tmp/linux-source-6.12/Makefile" ] ||
		die "$tarball has no linux-source-6.12/Makefile"
	mv "$srcroot.tmp" "$srcroot"
	touch "$srcroot/.extracted"
fi

# A partial build dir from an earlier failure is reused: make is incremental
# and the config step below rewrites .config from scratch anyway.
mkdir -p "$out"
log=$out/build.log
: >"$log"

kmake() {
	make -C "$src" O="$out" ARCH=x86_64 "$@" >>"$log" 2>&1
}

say "configuring $out (tinyconfig + $(basename "$fragment"))"
kmake tinyconfig || die "make tinyconfig failed; see $log"
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$fragment" \
	>>"$log" 2>&1 || die "merging $fragment failed; see $log"
kmake olddefconfig || die "make olddefconfig failed; see $log"

# Kconfig silently drops options whose dependencies are unmet, so check
# every request against the final .config before spending minutes building.
bad=$out/config-check.failed
: >"$bad"
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		sym=${line%%=*}
		grep -qxF "$line" "$out/.config" && continue
		;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		grep -q "^$sym=" "$out/.config" || continue
		;;
	*) continue ;;
	esac
	got=$(grep -E "^($sym=|# $sym is not set)" "$out/.config" || echo "(absent)")
	echo "  wanted: $line   got: $got" >>"$bad"
done <"$fragment"
if [ -s "$bad" ]; then
	echo "build.sh: error: options of $(basename "$fragment") not honoured" \
		"by Kconfig (unmet dependencies?):" >&2
	cat "$bad" >&2
	exit 1
fi
rm -f "$bad"
say "config check passed: all $(grep -cE '^(CONFIG_|# CONFIG_)' "$fragment") fragment lines honoured"

# `modules` writes Module.symvers, without which out-of-tree module builds
# warn about every kernel symbol; it also runs modules_prepare.
say "building bzImage and modules with -j$jobs (several minutes); log: $log"
start=$(date +%s)
kmake -j"$jobs" bzImage modules || {
	tail -n 30 "$log" >&2
	die "kernel build failed; see $log"
}
say "build took $(($(date +%s) - start)) s"

for f in arch/x86/boot/bzImage Module.symvers scripts/mod/modpost; do
	[ -e "$out/$f" ] || die "build finished but $out/$f is missing"
done
touch "$out/done"
print_result
