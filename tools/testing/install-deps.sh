#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# Install what building and testing ttak needs on Debian 12 (as root).
# Idempotent: packages already present are left alone.
set -eu

PKGS=(
	build-essential clang libclang-rt-14-dev valgrind pkg-config
	liburcu-dev gnuplot-nox strace
	linux-headers-amd64 linux-image-amd64
	linux-headers-6.12-amd64 linux-image-6.12-amd64 linux-source-6.12
	qemu-system-x86 busybox-static cpio kmod sparse
	flex bison bc libelf-dev libssl-dev xz-utils
	debhelper dh-dkms dkms dpkg-dev lintian man-db
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${missing[*]}; run as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
