#!/bin/sh
# Distributions build monkey with backends switched off and package each
# backend apart.  This builds, tests and stages an install once per
# --disable-backend-NAME (docker, spawn, none, rootless), checks that the
# staged backend directory lacks exactly that backend, and checks that
# --enable-backend-docker=yes without libcurl and
# --enable-backend-rootless=yes without libseccomp stop configure naming
# the package to install.  Expensive (four full builds): CI runs it, "make
# check" does not.
#
# Usage: tests/configure-matrix.sh [WORKDIR [CONFIGURE-ARG...]]
#   WORKDIR    where the builds go ("" or none: a new directory under /tmp,
#              removed afterwards when everything passed)
#   CONFIGURE-ARG  passed to every configure run, e.g. CFLAGS='-O2 -Werror'
#   MATRIX_BACKENDS (environment)  the backends to disable in turn
#              (default "docker spawn none rootless")
# Needs an autoreconf'ed source tree (configure present).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$top/configure" ] || {
	echo "configure-matrix: $top/configure is missing: run autoreconf -fi first" >&2
	exit 2
}
work=${1:-}
[ $# -gt 0 ] && shift
keep=1
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/monkey-matrix.XXXXXX") || exit 2
	keep=0
fi
mkdir -p "$work"
MAKE=${MAKE:-make}
jobs=$(nproc 2>/dev/null || echo 2)
failures=0
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	failures=$((failures + 1))
}
show_tail() { tail -n "${2:-40}" "$1" | sed 's/^/#   /'; }

# --- configure without libcurl -------------------------------------------
# A pkg-config search path holding every .pc file of this machine except
# libcurl's: configure then sees the machine exactly as one without
# libcurl4-openssl-dev.
pcdir=$work/pc-without-libcurl
rm -rf "$pcdir"
mkdir -p "$pcdir"
for d in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
	for pc in "$d"/*.pc; do
		[ -f "$pc" ] || continue
		case ${pc##*/} in libcurl.pc) continue ;; esac
		[ -e "$pcdir/${pc##*/}" ] || ln -s "$pc" "$pcdir/"
	done
done
if PKG_CONFIG_LIBDIR=$pcdir pkg-config --exists libcurl; then
	not_ok "libcurl is hidden from pkg-config"
else
	ok "libcurl is hidden from pkg-config"
fi
PKG_CONFIG_LIBDIR=$pcdir pkg-config --exists json-c
[ $? = 0 ] && ok "json-c is still visible" || not_ok "json-c is still visible"
d=$work/nocurl
rm -rf "$d" && mkdir -p "$d"
(cd "$d" && PKG_CONFIG_LIBDIR=$pcdir "$top/configure" \
	--enable-backend-docker=yes >configure.log 2>&1)
[ $? != 0 ] && ok "--enable-backend-docker=yes without libcurl fails" ||
	not_ok "--enable-backend-docker=yes without libcurl fails"
if grep -q 'enable-backend-docker=yes needs libcurl: install libcurl4-openssl-dev' \
	"$d/configure.log"; then
	ok "the error names the package to install"
else
	not_ok "the error names the package to install"
	show_tail "$d/configure.log" 5
fi
(cd "$d" && "$top/configure" --enable-backend-docker=maybe >bad.log 2>&1)
[ $? != 0 ] && grep -q "must be auto, yes or no, not 'maybe'" "$d/bad.log" &&
	ok "an invalid --enable-backend-docker value is refused by name" ||
	not_ok "an invalid --enable-backend-docker value is refused by name"

# The same for the rootless backend and libseccomp.
pcdir2=$work/pc-without-libseccomp
rm -rf "$pcdir2"
mkdir -p "$pcdir2"
for d in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
	for pc in "$d"/*.pc; do
		[ -f "$pc" ] || continue
		case ${pc##*/} in libseccomp.pc) continue ;; esac
		[ -e "$pcdir2/${pc##*/}" ] || ln -s "$pc" "$pcdir2/"
	done
done
d=$work/noseccomp
rm -rf "$d" && mkdir -p "$d"
(cd "$d" && PKG_CONFIG_LIBDIR=$pcdir2 "$top/configure" \
	--enable-backend-rootless=yes >configure.log 2>&1)
[ $? != 0 ] && grep -q 'enable-backend-rootless=yes needs libseccomp >= 2.4: install libseccomp-dev' \
	"$d/configure.log" &&
	ok "--enable-backend-rootless=yes without libseccomp fails naming libseccomp-dev" ||
	{ not_ok "--enable-backend-rootless=yes without libseccomp fails naming libseccomp-dev"; show_tail "$d/configure.log" 5; }
(cd "$d" && PKG_CONFIG_LIBDIR=$pcdir2 "$top/configure" >auto.log 2>&1) &&
	grep -q "rootless=no" "$d/auto.log" &&
	ok "without libseccomp, auto leaves the rootless backend out" ||
	not_ok "without libseccomp, auto leaves the rootless backend out"
(cd "$d" && "$top/configure" --enable-backend-rootless=maybe >bad.log 2>&1)
[ $? != 0 ] && grep -q "must be auto, yes or no, not 'maybe'" "$d/bad.log" &&
	ok "an invalid --enable-backend-rootless value is refused by name" ||
	not_ok "an invalid --enable-backend-rootless value is refused by name"

# --- one build per disabled backend --------------------------------------
for b in ${MATRIX_BACKENDS:-docker spawn none rootless}; do
	d=$work/without-$b
	rm -rf "$d" && mkdir -p "$d"
	echo "# building with --disable-backend-$b in $d"
	# A prefix of its own: the built-in backend directory must hold only
	# what this build installs, whatever is installed on the machine.
	if ! (cd "$d" && "$top/configure" --disable-backend-$b \
		--prefix="$d/_prefix" "$@" \
		>configure.log 2>&1); then
		not_ok "--disable-backend-$b: configure"
		show_tail "$d/configure.log"
		continue
	fi
	ok "--disable-backend-$b: configure"
	grep -q "$b=no" "$d/configure.log" &&
		ok "--disable-backend-$b: configure reports $b=no" ||
		not_ok "--disable-backend-$b: configure reports $b=no"
	if (cd "$d" && "$MAKE" -j"$jobs" >build.log 2>&1); then
		ok "--disable-backend-$b: make"
	else
		not_ok "--disable-backend-$b: make"
		show_tail "$d/build.log"
		continue
	fi
	# Tests one at a time (timing-sensitive ones share the machine
	# with nothing else); the build above used every core.  The
	# container and namespace suites are left out unless
	# MATRIX_ALL_TESTS=1: they do not change with the backends a build
	# leaves out, and the full builds of CI ran them twice already.
	list=print-light-tests
	[ "${MATRIX_ALL_TESTS:-0}" = 1 ] && list=print-tests
	tests=$("$MAKE" --no-print-directory -s -C "$d" $list)
	if (cd "$d" && "$MAKE" -j"$jobs" check TESTS= >/dev/null 2>&1 &&
		"$MAKE" check VERBOSE=1 TESTS="$tests" >check.log 2>&1); then
		ok "--disable-backend-$b: make check"
	else
		not_ok "--disable-backend-$b: make check"
		grep -E '^(FAIL|ERROR|not ok)' "$d/check.log" | sed 's/^/#   /'
		show_tail "$d/check.log" 60
	fi
	if (cd "$d" && "$MAKE" install DESTDIR="$d/stage" >install.log 2>&1); then
		ok "--disable-backend-$b: make install"
	else
		not_ok "--disable-backend-$b: make install"
		show_tail "$d/install.log"
		continue
	fi
	eval "$("$MAKE" --no-print-directory -s -C "$d" sdk-print-config |
		grep "^SDK_[A-Z]*='")"
	bdir=$d/stage$SDK_BACKENDDIR
	if [ -e "$bdir/$b.so" ]; then
		not_ok "--disable-backend-$b: $b.so is not installed"
	else
		ok "--disable-backend-$b: $b.so is not installed"
	fi
	for other in docker spawn none rootless; do
		[ "$other" = "$b" ] && continue
		# docker and rootless are built only where libcurl and
		# libseccomp are (configure's auto).
		if [ "$other" = docker ] && ! pkg-config --exists libcurl; then
			continue
		fi
		if [ "$other" = rootless ] && ! pkg-config --exists libseccomp; then
			continue
		fi
		[ -f "$bdir/$other.so" ] &&
			ok "--disable-backend-$b: $other.so is installed" ||
			not_ok "--disable-backend-$b: $other.so is installed"
	done
done

echo "# configure-matrix: $failures failed"
if [ "$failures" = 0 ] && [ "$keep" = 0 ]; then
	rm -rf "$work"
fi
[ "$failures" = 0 ]
