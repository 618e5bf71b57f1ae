#!/bin/sh
# The manuals keep up with the program: monkey(1) documents every
# subcommand, every long option and every environment variable the built
# monkey's --help texts name, monkey-backend(7) every capability flag of the
# installed header, and both format without groff warnings.  Run by
# "make check" (tests/sdk.mk).
set -u

# make check runs tests in the build directory and exports srcdir and
# MONKEY_BUILDDIR; by hand, run it from the build directory.
builddir=$(cd "${MONKEY_BUILDDIR:-.}" && pwd) || exit 99
srcdir=$(cd "${MONKEY_SRCDIR:-${srcdir:-.}}" && pwd) || exit 99
monkey=$builddir/monkey
man1=$builddir/doc/monkey.1
man7=$builddir/doc/monkey-backend.7

failures=0
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	failures=$((failures + 1))
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/monkey-man.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# roff escapes "-" as "\-"; compare against plain text.
sed 's/\\-/-/g' "$man1" >"$tmp/man1" || exit 1
sed 's/\\-/-/g' "$man7" >"$tmp/man7" || exit 1

for m in "$man1" "$man7"; do
	if grep -n '@[a-zA-Z_]*@' "$m"; then
		not_ok "${m##*/} has every @VARIABLE@ filled in"
	else
		ok "${m##*/} has every @VARIABLE@ filled in"
	fi
done

subcommands=$("$monkey" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')
[ -n "$subcommands" ] || not_ok "monkey --help lists subcommands"
for c in $subcommands; do
	if grep -q "^\.SS \"monkey $c" "$tmp/man1"; then
		ok "monkey(1) has a section for monkey $c"
	else
		not_ok "monkey(1) has a section for monkey $c"
	fi
	"$monkey" "$c" --help >"$tmp/help" 2>&1
	for opt in $(grep -oE -- '--[a-z][a-z-]+' "$tmp/help" | sort -u); do
		if grep -qE -- "(^|[^a-z-])$opt([^a-z-]|\$)" "$tmp/man1"; then
			ok "monkey(1) documents $c $opt"
		else
			not_ok "monkey(1) documents $c $opt"
		fi
	done
	for var in $(grep -oE '\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b' "$tmp/help" | sort -u); do
		if grep -q -- "$var" "$tmp/man1"; then
			ok "monkey(1) documents $var ($c --help names it)"
		else
			not_ok "monkey(1) documents $var ($c --help names it)"
		fi
	done
	for code in $(grep -oE '\b(12[4-7]|130)\b' "$tmp/help" | sort -u); do
		if grep -qE "^\.B $code\$|^\.TP.*$code|[^0-9]$code[^0-9]" "$tmp/man1"; then
			ok "monkey(1) documents exit status $code of $c"
		else
			not_ok "monkey(1) documents exit status $code of $c"
		fi
	done
done

for cap in $(grep -oE 'MONKEY_CAP_[A-Z_]+' "$srcdir/include/monkey/backend.h" | sort -u); do
	if grep -q -- "$cap" "$tmp/man7"; then
		ok "monkey-backend(7) explains $cap"
	else
		not_ok "monkey-backend(7) explains $cap"
	fi
done
for f in init probe exec fini details description safety capabilities \
	struct_size abi_major abi_minor; do
	if grep -qE "(^|[ (])$f([ ,)]|\$)" "$tmp/man7"; then
		ok "monkey-backend(7) explains the descriptor's $f"
	else
		not_ok "monkey-backend(7) explains the descriptor's $f"
	fi
done

command -v groff >/dev/null ||
	not_ok "groff is installed to check the manuals (apt-get install groff-base)"
for m in "$man1" "$man7"; do
	LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -Wbreak -z "$m" >"$tmp/lint" 2>&1
	if [ $? = 0 ] && [ ! -s "$tmp/lint" ]; then
		ok "${m##*/} formats without groff warnings"
	else
		not_ok "${m##*/} formats without groff warnings"
		sed 's/^/#   /' "$tmp/lint"
	fi
done

echo "# $failures failed"
[ "$failures" = 0 ]
