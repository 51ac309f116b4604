#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# gen-man.sh OUTDIR - the manual pages of ttak (`make man`).
#
#   OUTDIR/man3/<name>.3   one page per kernel-doc comment of a function
#                          or struct in every header under include/ttak/
#                          (found with find: a new header is picked up
#                          with no change here), made by the kernel's own
#                          scripts/kernel-doc -man
#   OUTDIR/man3/<macro>.3  `.so` link to the page of the documented
#                          function a convenience macro expands to; that
#                          page lists the macros it stands behind
#   OUTDIR/man7/ttak.7     the overview, written by hand (ttak.7 here)
#
# kernel-doc is not copied into this tree: it is extracted once from
# Debian's linux-source-6.12 tarball into a cache directory, as run-vm.sh
# does with the kselftest headers.
#
# Each kernel-doc page gets section 3, the library's name, the header to
# include, the macros that wrap it and SEE ALSO ttak(7). A name documented
# twice (one comment for the kernel, one for user space, under
# #ifdef __KERNEL__ ... #else) becomes one page with both descriptions.
# A public function without kernel-doc, or a function-like macro that
# wraps no documented function, is reported as a warning on stderr.
#
# Environment:
#   KERNEL_DOC              a kernel-doc script to use instead
#   TTAK_LINUX_TARBALL      default /usr/src/linux-source-6.12.tar.xz
#   TTAK_CACHE              cache root (default /var/cache/ttak if
#                           writable, else ${XDG_CACHE_HOME:-~/.cache}/ttak)
#   KBUILD_BUILD_TIMESTAMP  date of the pages (kernel-doc reads it); set
#                           from SOURCE_DATE_EPOCH when that is set
#   TTAK_VERSION            version shown in the footer (default: the
#                           top-level Makefile's VERSION)
set -eu

me=gen-man.sh
die() {
	echo "$me: error: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $me OUTDIR"
out=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

cache_root() {
	if [ -n "${TTAK_CACHE:-}" ]; then
		echo "$TTAK_CACHE"
	elif mkdir -p /var/cache/ttak 2>/dev/null && [ -w /var/cache/ttak ]; then
		echo /var/cache/ttak
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/ttak"
	fi
}

# Path of scripts/kernel-doc, extracted from the tarball on first use.
kernel_doc() {
	if [ -n "${KERNEL_DOC:-}" ]; then
		[ -r "$KERNEL_DOC" ] || die "cannot read KERNEL_DOC=$KERNEL_DOC"
		echo "$KERNEL_DOC"
		return
	fi
	tarball=${TTAK_LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
	[ -r "$tarball" ] ||
		die "missing $tarball (apt-get install linux-source-6.12, or set KERNEL_DOC)"
	kver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	if [ -z "$kver" ] || [ "$tarball" != /usr/src/linux-source-6.12.tar.xz ]; then
		kver=tar-$(sha256sum "$tarball" | cut -c1-12)
	fi
	kver=$(printf '%s' "$kver" | tr -c 'A-Za-z0-9._+-' '_')
	cache=$(cache_root)
	dir=$cache/kernel-doc-$kver
	if [ ! -e "$dir/.done" ]; then
		mkdir -p "$cache" || die "cannot create $cache (set TTAK_CACHE)"
		# one extraction at a time; a second caller waits for it
		(
			flock 9
			if [ ! -e "$dir/.done" ]; then
				echo "$me: extracting scripts/kernel-doc from $tarball (about 15 s, once)" >&2
				rm -rf "$dir" "$dir.tmp"
				mkdir -p "$dir.tmp"
				tar -xJf "$tarball" -C "$dir.tmp" --strip-components=1 \
					--wildcards '*/scripts/kernel-doc' ||
					die "extracting scripts/kernel-doc from $tarball failed"
				[ -f "$dir.tmp/scripts/kernel-doc" ] ||
					die "$tarball has no scripts/kernel-doc"
				touch "$dir.tmp/.done"
				mv "$dir.tmp" "$dir"
			fi
		) 9>"$cache/.kernel-doc.lock"
	fi
	echo "$dir/scripts/kernel-doc"
}

kdoc=$(kernel_doc)
version=${TTAK_VERSION:-$(sed -n 's/^VERSION *:= *//p' "$repo/Makefile")}
if [ -n "${SOURCE_DATE_EPOCH:-}" ] && [ -z "${KBUILD_BUILD_TIMESTAMP:-}" ]; then
	KBUILD_BUILD_TIMESTAMP=@$SOURCE_DATE_EPOCH
	export KBUILD_BUILD_TIMESTAMP
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ttak-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out/man3" "$out/man7"
mkdir -p "$out/man3" "$out/man7"

headers=$(cd "$repo/include" && find ttak -name '*.h' | LC_ALL=C sort)
[ -n "$headers" ] || die "no headers under $repo/include/ttak"

for h in $headers; do
	src=$repo/include/$h
	# kernel-only headers stop user-space builds with an #error
	lib="libttak (\\-lttak; pkg\\-config libttak); in the kernel, ttak.ko"
	if grep -q '^#ifndef __KERNEL__' "$src" && grep -q '^#error' "$src"; then
		lib="ttak.ko (for kernel modules only)"
	fi

	# Which #ifdef __KERNEL__ branch each kernel-doc title is in
	# (kernel, user or both), in file order: "name branch" lines.
	awk '
	function branch(  i) {
		for (i = sp; i > 0; i--)
			if (st[i] == "kernel" || st[i] == "user")
				return st[i]
		return "both"
	}
	/^#[ \t]*ifdef[ \t]+__KERNEL__/ { st[++sp] = "kernel"; next }
	/^#[ \t]*ifndef[ \t]+__KERNEL__/ { st[++sp] = "user"; next }
	/^#[ \t]*if.*!defined\(__KERNEL__\)/ { st[++sp] = "user"; next }
	/^#[ \t]*if.*defined\(__KERNEL__\)/ { st[++sp] = "kernel"; next }
	/^#[ \t]*if/ { st[++sp] = "-"; next }
	/^#[ \t]*(else|elif)/ {
		if (st[sp] == "kernel") st[sp] = "user"
		else if (st[sp] == "user") st[sp] = "kernel"
		next
	}
	/^#[ \t]*endif/ { if (sp > 0) sp--; next }
	/^\/\*\*/ { title = 1; next }
	title {
		title = 0
		if (match($0, /^ \* (struct|union|enum) [A-Za-z0-9_]+/)) {
			n = substr($0, RSTART, RLENGTH); sub(/.* /, "", n)
			print n, branch()
		} else if (match($0, /^ \* [A-Za-z0-9_]+\(\)/)) {
			n = substr($0, 4, RLENGTH - 5)
			print n, branch()
		}
	}' "$src" >"$tmp/branches"

	# Function-like macros: "macro expansion" lines, continuations
	# joined, for the macro list of the page each one wraps.
	awk '
	/^#[ \t]*define[ \t]+[A-Za-z_][A-Za-z0-9_]*\(/ { def = $0; cont = /\\$/ }
	!/^#[ \t]*define/ && cont { def = def " " $0; cont = /\\$/ }
	def != "" && !cont {
		gsub(/\\/, "", def); gsub(/[ \t]+/, " ", def)
		print def
		def = ""
	}' "$src" >"$tmp/macros"

	"$kdoc" -man -Wall "$src" 2>"$tmp/kdoc.err" >"$tmp/kdoc.out" ||
		{ cat "$tmp/kdoc.err" >&2; die "kernel-doc failed on $h"; }
	# a header with no kernel-doc at all (types.h) is not an error
	grep -v 'no structured comments found' "$tmp/kdoc.err" >&2 || true

	# Split into one file per occurrence: $tmp/p/<name>.<n> and
	# $tmp/p/<name>.<n>.branch.
	rm -rf "$tmp/p"
	mkdir -p "$tmp/p"
	awk -v dir="$tmp/p" -v bfile="$tmp/branches" '
	BEGIN {
		while ((getline l < bfile) > 0) {
			split(l, f, " ")
			nb[f[1]]++
			br[f[1], nb[f[1]]] = f[2]
		}
	}
	/^\.TH / {
		if (file != "") close(file)
		# .TH "title" 9 "what" "date" "manual" LINUX
		split($0, q, "\"")
		what = q[4]; name = what
		sub(/^(struct|union|enum|typedef) /, "", name)
		if (name !~ /^[A-Za-z_][A-Za-z0-9_]*$/) {
			print "gen-man.sh: cannot name a page for \"" what "\"" > "/dev/stderr"
			exit 1
		}
		n = ++seen[name]
		b = ((name, n) in br) ? br[name, n] : "both"
		file = dir "/" name "." n
		print b > (file ".branch"); close(file ".branch")
		print name >> (dir "/names")
		next
	}
	file != "" { print > file }
	' "$tmp/kdoc.out" || die "splitting the kernel-doc output of $h failed"
	[ -f "$tmp/p/names" ] || continue

	# Each function-like macro and the documented function it ends up
	# calling (macro -> macro -> function, at most 8 steps): "macro target".
	sort -u "$tmp/p/names" >"$tmp/documented"
	ls "$out/man3" | sed -n 's/\.3$//p' >>"$tmp/documented"
	: >"$tmp/targets"
	while IFS= read -r def; do
		m=${def#\#define }
		m=${m%%(*}
		target=$m
		for _ in 1 2 3 4 5 6 7 8; do
			! grep -qx "$target" "$tmp/documented" || break
			exp=$(grep -E "^# *define +$target\(" "$tmp/macros" | head -n 1 |
				sed -E 's/^# *define +[A-Za-z0-9_]+\([^)]*\) *//')
			target=$(printf '%s\n' "$exp" |
				grep -oE '[A-Za-z_][A-Za-z0-9_]*\(' | head -n 1 | tr -d '(')
			[ -n "$target" ] || break
		done
		if [ -n "$target" ] && [ "$target" != "$m" ] &&
		   grep -qx "$target" "$tmp/documented"; then
			echo "$m $target" >>"$tmp/targets"
		else
			echo "$me: warning: no kernel-doc for macro $m ($h)" >&2
		fi
	done <"$tmp/macros"

	for name in $(sort -u "$tmp/p/names"); do
		page=$out/man3/$name.3
		[ ! -e "$page" ] || die "$name is documented in two headers"
		n=1
		while [ -f "$tmp/p/$name.$((n + 1))" ]; do
			n=$((n + 1))
		done
		# the user-space variant leads when there are two
		first=1
		for i in $(seq 1 "$n"); do
			[ "$(cat "$tmp/p/$name.$i.branch")" != user ] || first=$i
		done
		{
			date=$(sed -n '1s/^\.TH "[^"]*" 9 "[^"]*" "\([^"]*\)".*/\1/p' "$tmp/kdoc.out")
			printf '.TH "%s" 3 "%s" "ttak %s" "ttak Manual"\n' \
				"$name" "$date" "$version"
			# NAME, SYNOPSIS and ARGUMENTS of the leading variant,
			# with LIBRARY and the #include line
			awk -v hdr="$h" -v lib="$lib" '
			/^\.SH / {
				s = $0; sub(/^\.SH "?/, "", s); sub(/"$/, "", s)
				# the synopsis is left-adjusted, not justified
				if (syn) { print ".ad b"; syn = 0 }
				if (s != "NAME" && s != "SYNOPSIS" && s != "ARGUMENTS" && s != "Members")
					exit
				if (s == "SYNOPSIS") {
					print ".SH LIBRARY"; print lib
					print ".SH SYNOPSIS"
					print ".nf"; print ".B #include <" hdr ">"; print ".fi"; print ".sp"
					print ".ad l"; syn = 1
					next
				}
			}
			END { if (syn) print ".ad b" }
			# whatis wants the page name first: "ttak_x \- ...",
			# not "struct ttak_x \- ..."
			prev == ".SH NAME" { sub(/^(struct|union|enum) /, "") }
			{ print; prev = $0 }' "$tmp/p/$name.$first"
			if [ "$n" -eq 1 ]; then
				awk 'body { print; next }
				/^\.SH / { s = $0; sub(/^\.SH "?/, "", s); sub(/"$/, "", s)
					if (s != "NAME" && s != "SYNOPSIS" && s != "ARGUMENTS" && s != "Members") { body = 1; print } }' \
					"$tmp/p/$name.1"
			else
				for i in $first $(seq 1 "$n" | grep -vx "$first"); do
					case $(cat "$tmp/p/$name.$i.branch") in
					user) echo '.SH "USER SPACE (libttak)"' ;;
					kernel) echo '.SH "KERNEL (ttak.ko)"' ;;
					*) echo ".SH \"DEFINITION $i\"" ;;
					esac
					awk 'body && /^\.SH / { sub(/^\.SH/, ".SS"); print; next }
					body { print; next }
					/^\.SH / { s = $0; sub(/^\.SH "?/, "", s); sub(/"$/, "", s)
						if (s != "NAME" && s != "SYNOPSIS" && s != "ARGUMENTS" && s != "Members") {
							body = 1; sub(/^\.SH/, ".SS"); print } }' \
						"$tmp/p/$name.$i"
				done
			fi
			# the convenience macros that expand to this function
			awk -v fn="$name" -v tfile="$tmp/targets" '
			BEGIN { while ((getline l < tfile) > 0) { split(l, f, " "); t[f[1]] = f[2] } }
			{
				m = $0; sub(/^#[ \t]*define[ \t]+/, "", m); sub(/\(.*/, "", m)
				if (t[m] == fn) print
			}' "$tmp/macros" >"$tmp/wraps"
			if [ -s "$tmp/wraps" ]; then
				echo '.SH "CONVENIENCE MACROS"'
				echo '.nf'
				sed -e 's/\\/\\e/g' -e 's/^[.'\'']/\\\&&/' "$tmp/wraps"
				echo '.fi'
			fi
			echo '.SH "SEE ALSO"'
			echo '.BR ttak (7)'
		} >"$page"
	done

	# Macros: a .so link to the page of the function they stand for.
	while read -r m target; do
		[ -e "$out/man3/$m.3" ] || echo ".so man3/$target.3" >"$out/man3/$m.3"
	done <"$tmp/targets"

	# Public functions declared without a kernel-doc comment.
	awk '
	/^[ \t]*(\*|\/\*)/ { next }
	/^(static|typedef|extern|#)/ { next }
	/^[A-Za-z_]/ && match($0, /[A-Za-z_][A-Za-z0-9_]*\(/) {
		n = substr($0, RSTART, RLENGTH - 1)
		if (n ~ /^(ttak|tt)_/) print n
	}' "$src" | sort -u | while read -r fn; do
		[ -f "$out/man3/$fn.3" ] ||
			echo "$me: warning: no kernel-doc for function $fn ($h)" >&2
	done
done

cp "$here/ttak.7" "$out/man7/ttak.7"
mdate=$(LC_ALL=C date -u -d "${KBUILD_BUILD_TIMESTAMP:-now}" '+%B %Y')
sed -i -e "s/@VERSION@/$version/" -e "s/@DATE@/$mdate/" "$out/man7/ttak.7"
echo "$me: $(ls "$out/man3" | wc -l) pages in $out/man3, ttak.7 in $out/man7" >&2
