#!/bin/sh
# Run the ttak kselftests inside a QEMU guest (TCG; KVM guests hang here).
# The host kernel never loads anything: modules are only built on the host.
#
# Usage:
#   run-vm.sh [OPTIONS] 6.1|6.12|<full version>   Debian stock kernel
#   run-vm.sh [OPTIONS] --bzimage PATH --kdir PATH
#   run-vm.sh --demo [6.1|6.12]                   insmod ttak.ko, drive debugfs
#
# Options:
#   --extra-init FILE  shell fragment run in the guest after ttak.sh, e.g.
#                      kmemleak scans after rmmod (see "Guest" below)
#   --append ARGS      extra kernel command line arguments
#   --timeout SEC      wall-clock limit for the guest (default 300)
#   --smp N|SPEC       guest CPUs, as TTAK_VM_SMP below (default 4)
#   --name NAME        name of the run: its work dir, the verdict's
#                      vm[NAME] and the guest's TTAK_VM_TARGET (default:
#                      the target, e.g. 6.12; "custom" for --bzimage),
#                      so that one kernel at two CPU counts keeps two logs
#
# Stock targets use the newest /boot/vmlinuz-<target>.*-amd64 that has
# headers in /lib/modules/<ver>/build (rt and cloud flavours are skipped).
#
# Steps, all under $TTAK_VM_WORK/<name>/ so runs never share objects:
#   1. copy kernel/ and include/ to src/ and build every .ko with
#      make -C $KDIR M=src/kernel KSFT_INC=<dir> TTAK_TESTS=y modules
#      (ttak.ko and the test modules in kernel/tests/, or ttak.ko alone
#      for --demo; all of them land flat in the guest's /ttak/)
#   2. build the selftests (contract below) into selftests/
#   3. pack a busybox initramfs (initramfs.cpio) and boot it
#   4. judge console.log: print `vm[<name>]: N passed, N failed, N skipped`
#      and exit 0 (pass) or 1 (fail, or could not run)
#
# Contract for tools/testing/selftests/ttak/:
#   * Makefile: `make -C tools/testing/selftests/ttak OUTPUT=<dir> KSFT_INC=<dir>`
#     builds everything into OUTPUT (an absolute, existing, empty directory)
#     and writes nothing into the source tree. KSFT_INC is the directory
#     holding kselftest.h and kselftest_harness.h (use -I$(KSFT_INC)); it is
#     extracted from Debian's linux-source-6.12 tarball. Executables must be
#     static (-static): the guest has no libc. Everything in OUTPUT is copied
#     to /ttak/ in the guest, so keep objects elsewhere or accept the bytes.
#   * ttak.sh: in OUTPUT or next to the Makefile (every *.sh there is copied
#     to /ttak/ too). The guest runs `sh /ttak/ttak.sh` as root in /ttak,
#     stdin /dev/null. It loads the modules itself (insmod /ttak/ttak.ko,
#     /ttak/ttak_lesson40_test.ko), runs the tests, prints TAP (nested
#     results indented with "# " as kselftest's runner does), unloads the
#     modules and exits 0 only if everything passed.
#   * The same KSFT_INC is passed to the module build, for kselftest_module.h.
#
# Guest: busybox (sh, insmod, rmmod, su, ...); proc, sysfs, devtmpfs,
# debugfs (/sys/kernel/debug) and a tmpfs on /tmp are mounted. User
# nobody (uid/gid 65534) exists for "unprivileged is refused" checks:
#   su -s /bin/sh nobody -c 'cat /sys/kernel/debug/ttak/stats'
# or setgid(65534)/setuid(65534) in a forked child. Environment: TTAK_DIR=/ttak,
# TTAK_VM_TARGET=<target>. An --extra-init fragment runs in a subshell after
# ttak.sh with TTAK_RC set to ttak.sh's status; a non-zero fragment status
# fails a run that had passed.
#
# Verdict: FAIL if the guest never prints its end marker (crash, hang,
# timeout), fewer CPUs came online than --smp asked for, ttak.sh's
# status is non-zero, any TAP result is `not ok`
# (directives SKIP and TODO excepted), a TAP plan is not met, there are no
# results at all, or after the start marker the console (live messages plus
# a dump of the kernel log at the end) shows BUG:, WARNING:, Oops, a panic,
# KASAN, UBSAN, kmemleak leaks, lockdep or might_sleep reports, ODEBUG, hung
# tasks or RCU stalls. Debian kernels print "module verification failed"
# and "loading out-of-tree module taints kernel" for our unsigned module;
# those are expected.
#
# Environment:
#   TTAK_VM_WORK           work root (default /tmp/ttak-vm)
#   TTAK_CACHE             cache root for the extracted kselftest headers
#                          (default /var/cache/ttak if writable, else
#                          ${XDG_CACHE_HOME:-~/.cache}/ttak)
#   TTAK_LINUX_TARBALL     default /usr/src/linux-source-6.12.tar.xz
#   TTAK_VM_MODULE_SRC     module dir to build instead of <repo>/kernel
#   TTAK_VM_MODULE         --demo only: boot this prebuilt ttak.ko (.ko,
#                          .ko.xz, .ko.gz or .ko.zst, e.g. the one DKMS
#                          installed) instead of building one; its
#                          vermagic must name the target's release
#   TTAK_VM_SELFTESTS_SRC  selftests dir instead of <repo>/tools/testing/selftests/ttak
#   TTAK_VM_EXTRA_INIT     same as --extra-init
#   TTAK_VM_APPEND         same as --append
#   TTAK_VM_TIMEOUT        same as --timeout
#   TTAK_VM_MEM            guest RAM (default 1G)
#   TTAK_VM_SMP            QEMU -smp (default 4). A bare count N means
#                          N,sockets=N,cores=1,threads=1: one CPU per
#                          socket, so that the firmware's MP table lists
#                          them all and a kernel without ACPI brings them
#                          up. Anything else goes to QEMU as it is. The
#                          guest fails the run when fewer CPUs than the
#                          leading count (or cpus=N) come online.
#   TTAK_VM_VERBOSE=1      echo the whole console, not just the guest's run
#   TTAK_JOBS              make -j (default nproc)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
me=run-vm.sh

die() {
	echo "$me: error: $*" >&2
	exit 1
}
say() {
	echo "$me: $*" >&2
}
usage() {
	sed -n '2,/^set -eu$/{/^set -eu$/d;s/^# \{0,1\}//;p}' "$0"
	exit "$1"
}
need() {
	command -v "$1" >/dev/null 2>&1 || die "'$1' not found (apt-get install $2)"
}
is_static() {
	! readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'
}

# --- Arguments -------------------------------------------------------------

target=
bzimage=
kdir=
name=
smp=${TTAK_VM_SMP:-4}
demo=0
extra_init=${TTAK_VM_EXTRA_INIT:-}
append=${TTAK_VM_APPEND:-}
tmo=${TTAK_VM_TIMEOUT:-300}
while [ $# -gt 0 ]; do
	case $1 in
	--bzimage) bzimage=${2:?}; shift ;;
	--kdir) kdir=${2:?}; shift ;;
	--name) name=${2:?}; shift ;;
	--smp) smp=${2:?}; shift ;;
	--demo) demo=1 ;;
	--extra-init) extra_init=${2:?}; shift ;;
	--append) append=${2:?}; shift ;;
	--timeout) tmo=${2:?}; shift ;;
	-h | --help) usage 0 ;;
	-*) echo "$me: unknown option $1" >&2; usage 2 ;;
	*) [ -z "$target" ] || die "more than one target"; target=$1 ;;
	esac
	shift
done
[ $demo -eq 0 ] || [ -n "$target$bzimage" ] || target=6.12
case $tmo in '' | *[!0-9]*) die "--timeout wants seconds, got '$tmo'" ;; esac

# --- Tools -----------------------------------------------------------------

need qemu-system-x86_64 qemu-system-x86
need busybox busybox-static
need cpio cpio
need make build-essential
need gcc build-essential
need readelf binutils
need xz xz-utils
need flock util-linux
for tool in tar timeout tee sort od dd; do
	need "$tool" coreutils
done
bb=$(command -v busybox)
# A dynamic busybox would find no libc in the guest and /init would not start.
is_static "$bb" || die "$bb is dynamically linked (apt-get install busybox-static)"

# --- Kernel ----------------------------------------------------------------

if [ -n "$bzimage" ] || [ -n "$kdir" ]; then
	if [ -z "$bzimage" ] || [ -z "$kdir" ]; then
		die "--bzimage and --kdir go together"
	fi
	[ -z "$target" ] || die "give a target or --bzimage/--kdir, not both"
	target=${name:-custom}
elif [ -n "$target" ]; then
	case $target in
	6.1) pkgs="linux-image-amd64 linux-headers-amd64" ;;
	6.12) pkgs="linux-image-6.12-amd64 linux-headers-6.12-amd64" ;;
	*) pkgs="the linux-image and linux-headers packages for $target" ;;
	esac
	if [ -e "/boot/vmlinuz-$target" ]; then
		ver=$target
	else
		# Newest image with headers; the trailing ".*" keeps 6.1 from
		# matching 6.12.
		ver=$(for f in /boot/vmlinuz-"$target".*-amd64; do
				[ ! -e "$f" ] || echo "${f#/boot/vmlinuz-}"
			done | grep -Ev -- '-(rt|cloud)-amd64$' | sort -rV |
			while read -r v; do
				[ -d "/lib/modules/$v/build" ] && { echo "$v"; break; }
			done)
		[ -n "$ver" ] || die "no /boot/vmlinuz-$target.*-amd64 with headers in /lib/modules/<ver>/build (apt-get install $pkgs)"
	fi
	bzimage=/boot/vmlinuz-$ver
	kdir=/lib/modules/$ver/build
	[ -d "$kdir" ] || die "no headers for $ver in $kdir (apt-get install $pkgs)"
else
	echo "$me: no target" >&2
	usage 2
fi
[ -r "$bzimage" ] || die "cannot read kernel image $bzimage"
[ -f "$kdir/Makefile" ] || die "$kdir is not a kernel build directory"
# A module built against other headers fails in the guest with a bare
# "Invalid module format"; compare release strings before spending a boot.
# The setup header holds a pointer (at 0x20e, relative to 0x200) to the
# image's version string.
off=$(od -An -tu2 -j 526 -N 2 "$bzimage" | tr -d ' ')
bz_rel=$(dd if="$bzimage" bs=1 skip=$((off + 512)) count=128 2>/dev/null |
	tr '\0' '\n' | head -n 1 | cut -d ' ' -f 1)
kd_rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
	"$kdir/include/generated/utsrelease.h" 2>/dev/null || true)
[ "$bz_rel" = "$kd_rel" ] ||
	die "$bzimage is release '$bz_rel' but $kdir is '$kd_rel'"
# From here on the run's name stands for the target.
[ -z "$name" ] || target=$name
case $target in */* | .* | '') die "bad target name '$target'" ;; esac

mod_src=${TTAK_VM_MODULE_SRC:-$repo/kernel}
st_src=${TTAK_VM_SELFTESTS_SRC:-$repo/tools/testing/selftests/ttak}
[ -d "$mod_src" ] || die "no module source directory $mod_src"
[ $demo -eq 1 ] || [ -f "$st_src/Makefile" ] || die "no selftests Makefile in $st_src"
[ -z "$extra_init" ] || [ -r "$extra_init" ] || die "cannot read $extra_init"
jobs=${TTAK_JOBS:-$(nproc)}
case $smp in
*[!0-9]*) ;;
[1-9]*) smp=$smp,sockets=$smp,cores=1,threads=1 ;;
esac
# The CPUs the guest must see online: the leading count, or cpus=N.
case $smp in
[0-9]*) want_cpus=${smp%%,*} ;;
*cpus=[0-9]*) want_cpus=${smp#*cpus=}; want_cpus=${want_cpus%%,*} ;;
*) want_cpus=1 ;;
esac
case $want_cpus in '' | *[!0-9]* | 0) die "cannot read a CPU count from --smp/TTAK_VM_SMP '$smp'" ;; esac

work=${TTAK_VM_WORK:-/tmp/ttak-vm}/$target
mkdir -p "$work"
# Two runs of one target would overwrite each other's initramfs and log.
exec 8>"$work/.lock"
flock -n 8 || { say "waiting for another run of $target"; flock 8; }

# --- kselftest headers (extracted once per linux-source version) -----------

cache_root() {
	if [ -n "${TTAK_CACHE:-}" ]; then
		echo "$TTAK_CACHE"
	elif mkdir -p /var/cache/ttak 2>/dev/null && [ -w /var/cache/ttak ]; then
		echo /var/cache/ttak
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/ttak"
	fi
}

ksft_headers() {
	tarball=${TTAK_LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
	[ -r "$tarball" ] || die "missing $tarball (apt-get install linux-source-6.12)"
	kver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	if [ -z "$kver" ] || [ "$tarball" != /usr/src/linux-source-6.12.tar.xz ]; then
		kver=tar-$(sha256sum "$tarball" | cut -c1-12)
	fi
	kver=$(printf '%s' "$kver" | tr -c 'A-Za-z0-9._+-' '_')
	cache=$(cache_root)
	dir=$cache/kselftest-$kver
	KSFT_INC=$dir/tools/testing/selftests
	[ -e "$dir/.done" ] && return
	mkdir -p "$cache" || die "cannot create $cache (set TTAK_CACHE)"
	exec 9>"$cache/.kselftest.lock"
	flock 9
	if [ ! -e "$dir/.done" ]; then
		say "extracting kselftest headers from $tarball (about 10 s, once)"
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp"
		tar -xJf "$tarball" -C "$dir.tmp" --strip-components=1 \
			--wildcards '*/tools/testing/selftests/kselftest*' ||
			die "extracting kselftest headers from $tarball failed"
		[ -f "$dir.tmp/tools/testing/selftests/kselftest_harness.h" ] ||
			die "$tarball has no tools/testing/selftests/kselftest_harness.h"
		touch "$dir.tmp/.done"
		mv "$dir.tmp" "$dir"
	fi
	exec 9>&-
}
ksft_headers

# --- Module ----------------------------------------------------------------

say "target $target: kernel $bzimage, headers $kdir"
say "building modules from $mod_src"
rm -rf "$work/src"
mkdir -p "$work/src/kernel" "$work/src/include"
# Sources only: objects from an in-tree build for another kernel must not
# leak into this one.
copy_sources() {
	tar -C "$1" -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.a' \
		--exclude=Module.symvers --exclude=modules.order . |
		tar -C "$2" -xf -
}
copy_sources "$mod_src" "$work/src/kernel"
[ ! -d "$repo/include" ] || copy_sources "$repo/include" "$work/src/include"
mlog=$work/module-build.log
if [ -n "${TTAK_VM_MODULE:-}" ]; then
	[ $demo -eq 1 ] || die "TTAK_VM_MODULE goes with --demo only"
	[ -r "$TTAK_VM_MODULE" ] || die "cannot read TTAK_VM_MODULE=$TTAK_VM_MODULE"
	ko=$work/src/kernel/ttak.ko
	case $TTAK_VM_MODULE in
	*.xz) xz -dc "$TTAK_VM_MODULE" >"$ko" ;;
	*.gz) gzip -dc "$TTAK_VM_MODULE" >"$ko" ;;
	*.zst) zstd -qdc "$TTAK_VM_MODULE" >"$ko" ;;
	*) cp "$TTAK_VM_MODULE" "$ko" ;;
	esac || die "cannot unpack $TTAK_VM_MODULE"
	magic=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d ' ' -f 1)
	[ "$magic" = "$kd_rel" ] ||
		die "$TTAK_VM_MODULE is for '$magic', the guest runs '$kd_rel'"
	say "prebuilt $TTAK_VM_MODULE (vermagic $magic), not building"
else
# TTAK_TESTS=y: the test and bench modules in kernel/tests/ too (the demo
# needs ttak.ko alone).
tests=y
[ $demo -eq 0 ] || tests=
if ! make -C "$kdir" M="$work/src/kernel" KSFT_INC="$KSFT_INC" -j"$jobs" \
	TTAK_TESTS=$tests modules >"$mlog" 2>&1; then
	tail -n 30 "$mlog" >&2
	die "module build failed; see $mlog"
fi
# Point warnings at the files people edit, not at our copies.
if grep -q 'warning:' "$mlog"; then
	say "module build warnings ($mlog):"
	grep -A3 'warning:' "$mlog" |
		sed -e "s|$work/src/kernel|$mod_src|g" -e "s|$work/src/include|$repo/include|g" >&2
fi
kos=$(cd "$work/src/kernel" && find . -name '*.ko' | sort | tr '\n' ' ')
[ -n "$kos" ] || die "module build produced no .ko files; see $mlog"
say "built $kos"
fi

# --- Selftests -------------------------------------------------------------

stout=$work/selftests
rm -rf "$stout"
mkdir -p "$stout"
if [ $demo -eq 0 ]; then
	say "building selftests from $st_src"
	slog=$work/selftests-build.log
	if ! make -C "$st_src" OUTPUT="$stout" KSFT_INC="$KSFT_INC" -j"$jobs" \
		>"$slog" 2>&1; then
		tail -n 30 "$slog" >&2
		die "selftests build failed; see $slog"
	fi
	# A dynamic test would fail in the guest with a bare "not found".
	elf=$(printf '\177ELF')
	dyn=$(find "$stout" -type f -perm -u+x | while IFS= read -r f; do
		[ "$(head -c 4 "$f")" != "$elf" ] || is_static "$f" || echo "$f"
	done)
	[ -z "$dyn" ] || die "dynamically linked, build with -static: $(echo "$dyn" | tr "\n" " ")"
	[ -f "$stout/ttak.sh" ] || [ -f "$st_src/ttak.sh" ] ||
		die "no ttak.sh in $stout or $st_src"
fi

# --- Initramfs -------------------------------------------------------------

root=$work/initramfs
rm -rf "$root"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
	"$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" \
	"$root/root" "$root/ttak"
cp "$bb" "$root/bin/busybox"
# What `busybox --install -s` would do, but into $root instead of the host.
for p in $("$bb" --list-full); do
	[ "$p" = bin/busybox ] || ln -s /bin/busybox "$root/$p"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
	'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
find "$work/src/kernel" -name '*.ko' -exec cp {} "$root/ttak/" \;
if [ $demo -eq 1 ]; then
	cp "$here/demo-guest.sh" "$root/ttak/"
	main=/ttak/demo-guest.sh
else
	cp -R "$stout/." "$root/ttak/"
	for f in "$st_src"/*.sh; do
		[ ! -f "$f" ] || cp "$f" "$root/ttak/"
	done
	main=/ttak/ttak.sh
fi
[ -z "$extra_init" ] || cp "$extra_init" "$root/ttak/extra-init.sh"
printf 'export TTAK_VM_TARGET=%s TTAK_DIR=/ttak\nTTAK_VM_MAIN=%s\nTTAK_VM_CPUS=%s\n' \
	"$target" "$main" "$want_cpus" >"$root/ttak/vm.conf"
initrd=$work/initramfs.cpio
# Uncompressed: the debug kernel may lack a decompressor, and TCG is slow
# at inflating.
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$initrd"

# --- Boot ------------------------------------------------------------------

log=$work/console.log
say "booting $target with -smp $smp (timeout ${tmo}s); console log: $log"
# oops=panic with panic=-1: an oops leaves locks held and the guest would
# hang until the timeout; a panic resets at once and -no-reboot ends QEMU.
# loglevel=5 shows warnings live; the kernel log is dumped in full at the end.
cmdline="console=ttyS0 panic=-1 oops=panic loglevel=5 printk.time=1 $append"
cr=$(printf '\r')
# Echo the guest's run without boot noise or the final kernel-log dump.
show_guest() {
	state=boot
	[ "${TTAK_VM_VERBOSE:-0}" = 0 ] || state=all
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%"$cr"}
		case $state:$line in
		all:*) printf '%s\n' "$line" ;;
		boot:TTAK-VM-START*) state=run; printf '%s\n' "$line" ;;
		run:TTAK-VM-DMESG-BEGIN*) state=dmesg ;;
		run:TTAK-VM-RESULT*) state=end; printf '%s\n' "$line" ;;
		dmesg:TTAK-VM-DMESG-END*) state=run ;;
		run:*) printf '%s\n' "$line" ;;
		esac
	done
}
start=$(date +%s)
{
	qrc=0
	# --foreground: QEMU stays in our process group, so a Ctrl-C or a
	# kill of the calling tier's group ends it too instead of leaving a
	# guest running until the timeout
	timeout --foreground -k 10 "$tmo" qemu-system-x86_64 -accel tcg \
		-m "${TTAK_VM_MEM:-1G}" -smp "$smp" \
		-nographic -nodefaults -no-reboot -serial stdio \
		-kernel "$bzimage" -initrd "$initrd" -append "$cmdline" \
		</dev/null 2>&1 || qrc=$?
	echo "$qrc" >"$work/qemu.rc"
} | tee "$log" | show_guest
secs=$(($(date +%s) - start))
qrc=$(cat "$work/qemu.rc")
case $qrc in 124 | 137) say "guest killed after the ${tmo}s timeout" ;; esac
say "guest ran ${secs}s; console log: $log"

mode="test"
[ $demo -eq 0 ] || mode="demo"
exec awk -v target="$target" -v mode="$mode" -v qemu_rc="$qrc" \
	-f "$here/verdict.awk" "$log"
