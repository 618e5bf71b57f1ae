#!/bin/sh
# libmonkey's dynamic symbol table is exactly the functions the installed
# headers (include/monkey/*.h) declare, every one monkey_-prefixed.  An
# internal function that leaks, a public one whose definition lacks
# MONKEY_EXPORT, or a data object fails here.
#
# make check runs tests in the build directory and exports MONKEY_SRCDIR
# and MONKEY_BUILDDIR; by hand, run it from the build directory.
builddir=$(cd "${MONKEY_BUILDDIR:-.}" && pwd) || exit 99
srcdir=$(cd "${MONKEY_SRCDIR:-${srcdir:-.}}" && pwd) || exit 99
lib=$builddir/.libs/libmonkey.so
MAKE=${MAKE:-make}

[ -f "$lib" ] || {
	echo "FAIL: $lib is not built"
	exit 1
}
command -v nm >/dev/null || {
	echo "FAIL: nm (binutils) is needed to read $lib"
	exit 1
}
# The compiler the build uses, to read the headers as a user's would.
eval "$("$MAKE" --no-print-directory -s -C "$builddir" sdk-print-config |
	grep "^SDK_CC='")"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/monkey-exports.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{ print $3 }' | sort -u >"$tmp/exported"

for h in "$srcdir"/include/monkey/*.h; do
	echo "#include <monkey/${h##*/}>"
done >"$tmp/all.c"
${SDK_CC:-cc} -E -I"$srcdir/include" "$tmp/all.c" >"$tmp/all.i" || {
	echo "FAIL: the headers in $srcdir/include/monkey do not preprocess"
	exit 1
}
# The function declarations of include/monkey/*.h: their text (the line
# markers say where it comes from) with every brace block (struct bodies,
# inline functions) left out, cut at ';'; a statement that is no typedef
# or static inline and holds '(' declares the name before its first '('.
awk '
/^# [0-9]+ "/ { mine = index($3, "/include/monkey/") > 0; next }
mine { text = text " " $0 }
END {
	out = ""; depth = 0
	for (i = 1; i <= length(text); i++) {
		c = substr(text, i, 1)
		if (c == "{") { depth++; continue }
		if (c == "}") { if (--depth == 0) out = out ";"; continue }
		if (depth == 0) out = out c
	}
	n = split(out, stmt, ";")
	for (i = 1; i <= n; i++) {
		s = stmt[i]
		sub(/^[ \t]+/, "", s)
		if (s ~ /^(typedef|static)[ \t]/ || s !~ /\(/)
			continue
		if (match(s, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/))
			print substr(s, RSTART, RLENGTH - 1)
	}
}' "$tmp/all.i" | tr -d ' \t' | sort -u >"$tmp/declared"

status=0
if [ ! -s "$tmp/declared" ]; then
	echo "FAIL: found no function declared in $srcdir/include/monkey"
	exit 1
fi
extra=$(comm -23 "$tmp/exported" "$tmp/declared")
missing=$(comm -13 "$tmp/exported" "$tmp/declared")
if [ -n "$extra" ]; then
	echo "FAIL: libmonkey exports what no installed header declares" \
		"(make it static, or declare it in include/monkey/):"
	echo "$extra" | sed 's/^/  /'
	status=1
fi
if [ -n "$missing" ]; then
	echo "FAIL: declared in include/monkey/ but not exported (mark the" \
		"definition MONKEY_EXPORT):"
	echo "$missing" | sed 's/^/  /'
	status=1
fi
unprefixed=$(grep -v '^monkey_' "$tmp/exported")
if [ -n "$unprefixed" ]; then
	echo "FAIL: exported without the monkey_ prefix:"
	echo "$unprefixed" | sed 's/^/  /'
	status=1
fi
# The Debian symbols file lists the same functions: a new one that is
# not there would make the package build name it with the Debian
# revision, which lintian rejects.
symbols=$srcdir/packaging/debian/libmonkey0.symbols
if [ -f "$symbols" ]; then
	sed -n 's/^ \([A-Za-z_0-9]*\)@Base .*/\1/p' "$symbols" | sort -u \
		>"$tmp/listed"
	unlisted=$(comm -23 "$tmp/exported" "$tmp/listed")
	stale=$(comm -13 "$tmp/exported" "$tmp/listed")
	if [ -n "$unlisted$stale" ]; then
		echo "FAIL: $symbols does not match the exports; add new ones" \
			"(NAME@Base VERSION, VERSION the upstream version that" \
			"adds it) and drop removed ones (and bump the soname):"
		[ -n "$unlisted" ] && echo "$unlisted" | sed 's/^/  missing: /'
		[ -n "$stale" ] && echo "$stale" | sed 's/^/  not exported: /'
		status=1
	fi
fi
[ $status = 0 ] &&
	echo "ok: libmonkey exports the $(wc -l <"$tmp/declared") functions" \
		"include/monkey/ declares, and nothing else; the symbols file" \
		"lists them"
exit $status
