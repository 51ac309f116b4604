#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# check-exports.sh - libttak.so exports the public API and nothing else.
#
# Usage: check-exports.sh LIBTTAK_SO [HEADER_ROOT]
#   HEADER_ROOT  directory holding ttak/ (default: the repository's include/)
#
# The public API is read from the headers, not from the version script
# (user/lib/libttak.map), so that the two are checked against each other:
# one translation unit includes every header under HEADER_ROOT/ttak/ as a
# user-space program would (no __KERNEL__), and
#   * functions: gcc -aux-info lists every function the unit declares;
#     those declared in HEADER_ROOT/ttak/ and not static are public;
#   * variables: the preprocessed text of those headers is split into
#     top-level declarations; each `extern` one that declares an object
#     (no parameter list, or a pointer to function) is public. This is how
#     ttak_epoch_self and ttak_epoch_global, which the inline
#     ttak_epoch_enter() reads, are found.
# That list must equal `nm -D --defined-only LIBTTAK_SO` (version suffixes
# such as @@LIBTTAK_0 and the version node itself left out). Any name in
# one list only is printed ("missing from libttak.so" / "exported but not
# in the headers") and fails the check.
#
# Prints "check-exports: PASS ..." or "check-exports: FAIL ..." last;
# exit status 0 on PASS. Needs gcc (for -aux-info; TTAK_EXPORTS_CC
# overrides) and nm.

set -u
here=$(cd "$(dirname "$0")" && pwd)
so=${1:?usage: check-exports.sh LIBTTAK_SO [HEADER_ROOT]}
inc=${2:-$here/../../include}
inc=$(cd "$inc" && pwd) || exit 2
cc=${TTAK_EXPORTS_CC:-gcc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ttak-exports.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "check-exports: FAIL $*"
	exit 1
}

[ -f "$so" ] || fail "$so: no such file"

(cd "$inc" && find ttak -name '*.h' | LC_ALL=C sort) |
	sed 's|.*|#include <&>|' >"$tmp/all.c"
[ -s "$tmp/all.c" ] || fail "no headers under $inc/ttak"
flags="-std=c11 -D_GNU_SOURCE -I$inc"

# Functions. A line reads: /* FILE:LINE:NC */ extern RET NAME (ARGS);
# (C: declared, F: defined). The name is the first identifier followed by
# " (" whose parenthesis does not open a declarator such as "(*".
# shellcheck disable=SC2086
$cc $flags -fsyntax-only -aux-info "$tmp/aux" "$tmp/all.c" \
	>"$tmp/cc.log" 2>&1 || { cat "$tmp/cc.log"; fail "headers do not compile"; }
awk -v root="$inc/ttak/" '
	$1 != "/*" || index($2, root) != 1 { next }
	{
		decl = $0
		sub(/^\/\*[^*]*\*\/ /, "", decl)
		if (decl ~ /^static /)
			next
		s = decl
		while (match(s, /[A-Za-z_][A-Za-z0-9_]* \(/)) {
			name = substr(s, RSTART, RLENGTH - 2)
			after = substr(s, RSTART + RLENGTH, 1)
			if (after != "*") {
				print name
				break
			}
			s = substr(s, RSTART + RLENGTH)
		}
	}' "$tmp/aux" >"$tmp/functions"

# Variables: the headers' own preprocessed lines, split at top level.
# shellcheck disable=SC2086
$cc $flags -E "$tmp/all.c" 2>>"$tmp/cc.log" | awk -v root="$inc/ttak/" '
	/^# [0-9]+ "/ {
		f = $3
		gsub(/"/, "", f)
		keep = index(f, root) == 1
		next
	}
	/^#/ { next }
	keep { printf "%s ", $0 }' | awk '
	# Drop __attribute__((...)) and friends, balanced parentheses.
	function strip_attr(s,    out, i, d) {
		while (match(s, /__attribute__[ \t]*\(|__asm__[ \t]*\(|asm[ \t]*\(/)) {
			out = out substr(s, 1, RSTART - 1)
			i = RSTART + RLENGTH
			d = 1
			while (d > 0 && i <= length(s)) {
				c = substr(s, i, 1)
				if (c == "(") d++
				else if (c == ")") d--
				i++
			}
			s = substr(s, i)
		}
		return out s
	}
	function emit(st,    m) {
		st = strip_attr(st)
		gsub(/[ \t]+/, " ", st)
		sub(/^ /, "", st)
		if (st !~ /^(__extension__ )?extern /)
			return
		sub(/=.*/, "", st)			# an initializer
		if (match(st, /\( ?\* ?[A-Za-z_][A-Za-z0-9_]* ?\)/)) {
			m = substr(st, RSTART, RLENGTH)	# pointer to function
			gsub(/[^A-Za-z0-9_]/, "", m)
			print m
			return
		}
		if (st ~ /\(/)
			return				# a function
		gsub(/\[[^]]*\]/, "", st)		# array bounds
		sub(/ $/, "", st)
		if (match(st, /[A-Za-z_][A-Za-z0-9_]*$/))
			print substr(st, RSTART)
	}
	{
		text = $0
		st = ""
		depth = 0
		for (i = 1; i <= length(text); i++) {
			c = substr(text, i, 1)
			if (c == "{") {
				if (depth == 0)
					head = st
				depth++
			} else if (c == "}") {
				depth--
				# the end of a function body ends its definition
				if (depth == 0 && head ~ /\)[ \t]*$/) {
					st = ""
					continue
				}
			} else if (c == ";" && depth == 0) {
				emit(st)
				st = ""
				continue
			}
			if (depth == 0 && c != "}")
				st = st c
		}
	}' >"$tmp/variables"

LC_ALL=C sort -u "$tmp/functions" "$tmp/variables" >"$tmp/public"
[ -s "$tmp/public" ] || fail "no declarations found in $inc/ttak"

nm -D --defined-only "$so" >"$tmp/nm" 2>"$tmp/nm.err" ||
	{ cat "$tmp/nm.err"; fail "nm -D $so"; }
# "ADDR TYPE NAME[@[@]VERSION]"; type A is the version node itself.
awk 'NF == 3 && $2 != "A" { sub(/@.*/, "", $3); print $3 }' "$tmp/nm" |
	LC_ALL=C sort -u >"$tmp/exported"

missing=$(LC_ALL=C comm -23 "$tmp/public" "$tmp/exported")
extra=$(LC_ALL=C comm -13 "$tmp/public" "$tmp/exported")
n=$(wc -l <"$tmp/public" | tr -d ' ')
[ -z "$missing" ] || echo "$missing" | sed 's/^/# missing from libttak.so: /'
[ -z "$extra" ] || echo "$extra" | sed 's/^/# exported but not in the headers: /'
if [ -n "$missing$extra" ]; then
	fail "$so: exports differ from the $n public names in $inc/ttak"
fi
echo "check-exports: PASS $so exports exactly the $n public names"
