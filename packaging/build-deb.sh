#!/bin/sh
# Builds monkey's Debian packages from a "make dist" tarball: unpacks it,
# copies packaging/debian into it (upstream trees carry no live debian/),
# runs dpkg-buildpackage -us -uc -b and lintian on the result.
#
#   packaging/build-deb.sh TARBALL [OUTDIR]
#
# TARBALL is monkey-VERSION.tar.gz ("make dist" in a configured tree);
# OUTDIR (default: ./deb) receives the unpacked tree, the .deb files, the
# .buildinfo, the .changes, build.log and lintian.log; what each package
# holds (dpkg -c) and lintian's findings are printed.  DEB_BUILD_OPTIONS and
# DEB_BUILD_PROFILES pass through (DEB_BUILD_OPTIONS=nocheck skips make
# check; DEB_BUILD_PROFILES=pkg.monkey.norootless drops the rootless
# backend).  Exits non-zero when the build fails or lintian reports an
# error.  Needs dpkg-dev, debhelper, lintian and the Build-Depends of
# packaging/debian/control.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] && [ $# -le 2 ] || {
	echo "usage: $0 TARBALL [OUTDIR]" >&2
	exit 2
}
tarball=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=${2:-deb}
[ -f "$tarball" ] || {
	echo "$0: no tarball $1: run 'make dist' in a configured tree" >&2
	exit 2
}
case $(basename "$tarball") in
monkey-*.tar.gz) ;;
*)
	echo "$0: $1 is not a monkey-VERSION.tar.gz from 'make dist'" >&2
	exit 2
	;;
esac
version=$(basename "$tarball" .tar.gz)
version=${version#monkey-}

# The package's upstream version must be the tarball's: a stale changelog
# would label one release's files with another's version.
debversion=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)
case $debversion in
"$version"-*) ;;
*)
	echo "$0: packaging/debian/changelog is at $debversion, the tarball" \
		"at $version: add a changelog entry for $version-1" >&2
	exit 1
	;;
esac

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/monkey-$version
rm -rf "$src"
cp "$tarball" "$out/monkey_$version.orig.tar.gz"
tar -C "$out" -xzf "$tarball"
cp -R "$here/debian" "$src/debian"

start=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc -b -j2) >"$out/build.log" 2>&1; then
	tail -n 80 "$out/build.log"
	echo "$0: dpkg-buildpackage failed (the whole log: $out/build.log)" >&2
	exit 1
fi
echo "dpkg-buildpackage: $(($(date +%s) - start)) s (log: $out/build.log)"
for d in "$out"/*_"$debversion"_*.deb; do
	case $d in *-dbgsym_*) continue ;; esac
	echo "--- dpkg -c ${d##*/}"
	dpkg -c "$d"
done

changes=$(ls "$out"/monkey_"$debversion"_*.changes)
# Every tag that shows, info included, with the overrides and the reason
# each holds.  (With --show-overrides, --fail-on error also fails on the
# overridden errors: count the errors shown instead.)
start=$(date +%s)
status=0
lintian --display-info --show-overrides --fail-on none "$changes" \
	>"$out/lintian.log" 2>&1 || status=$?
cat "$out/lintian.log"
errors=$(grep -c '^E: ' "$out/lintian.log" || true)
echo "lintian: $(($(date +%s) - start)) s, $errors errors"
[ "$status" = 0 ] || {
	echo "$0: lintian failed (status $status)" >&2
	exit 1
}
[ "$errors" = 0 ]
