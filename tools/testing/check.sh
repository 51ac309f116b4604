#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# `make check`: every test tier in turn, then one closing line that adds
# them up. Each tier prints its own "N passed, N failed" line last.
#
#   user      libttak suite plain / ASan+UBSan / TSan / clang, lesson 40
#             under valgrind, install + pkg-config (user/tests/check-user.sh)
#   bench     a seconds-long smoke run of every benchmark (counts as one)
#   package   make deb, apt-get install the three packages, DKMS builds
#             for every kernel with headers, the installed ttak.ko in a
#             6.12 guest, lesson 40 and man pages from the packages, purge
#             (tools/testing/check-packages.sh; TTAK_SKIP_PACKAGES=1)
#   kernel    kselftest in QEMU on Debian 6.1 and 6.12 at 2 and 8 guest
#             CPUs, then the debug kernel
#             (tools/testing/run-kernel-tiers.sh; TTAK_SKIP_VM=1 and
#             TTAK_SKIP_DEBUG_KERNEL=1 skip parts, loudly)
set -u
cd "$(dirname "$0")/../.."

total_pass=0
total_fail=0
summary=()

# kernel_counts LOG: "PASS FAIL" summed over run-kernel-tiers.sh's
# per-tier lines (TAP results, and the checkers each canary proves)
kernel_counts() {
	awk '/^kernel-tiers: [a-z0-9.-]+: / {
		if (match($0, /[0-9]+ passed, [0-9]+ failed/)) {
			split(substr($0, RSTART, RLENGTH), f, /[ ,]+/)
			p += f[1]; x += f[3]
		} else if (match($0, /[0-9]+ of [0-9]+ checkers proven/)) {
			split(substr($0, RSTART, RLENGTH), f, / /)
			p += f[1]; x += f[3] - f[1]
		} else if ($0 ~ /FAIL/) {
			x += 1
		}
	} END { print p + 0, x + 0 }' "$1"
}

# run NAME CMD...: run a tier, add its closing counts to the totals
run() {
	local name=$1 log line pass fail rc
	shift
	log=$(mktemp)
	echo "=== tier: $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -oE '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	pass=${line%% passed*}
	fail=${line#*passed, }
	fail=${fail%% failed}
	if [ "$name" = kernel ] && grep -q '^kernel-tiers: [a-z0-9.-]*: ' "$log"; then
		# count the tests inside the kernel tiers, not the tiers
		read -r pass fail < <(kernel_counts "$log")
		line="$pass passed, $fail failed"
	fi
	if [ -z "$line" ]; then
		# a tier without counts is one test: its exit status
		pass=$((rc == 0)) fail=$((rc != 0))
	elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1		# failed outside its counted tests
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	summary+=("$(printf '%-8s %5d passed, %d failed (exit %d)' "$name" "$pass" "$fail" "$rc")")
	rm -f "$log"
}

run user make --no-print-directory check-user
run bench make --no-print-directory check-bench
run package tools/testing/check-packages.sh
if [ -x tools/testing/run-kernel-tiers.sh ]; then
	run kernel tools/testing/run-kernel-tiers.sh
fi

echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
