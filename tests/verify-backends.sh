#!/bin/sh
# "monkey sandbox verify" on every backend of a build tree, as CI runs it:
# spawn, none, rootless (when this build has it; tests/ci.sh verifies it
# as an unprivileged user too), docker through Docker's engine and through
# podman's service must verify clean; the lying test backend (tests/modules/liar.c) must
# fail with exactly its two lies named.  Prints each report.  (The
# out-of-tree example backend is verified by tests/sdk/test_sdk.sh, against a
# staged install.)
#
#   tests/verify-backends.sh BUILDDIR       (after "make check" built it)
set -u
builddir=$(cd "${1:-.}" && pwd) || exit 2
monkey=$builddir/monkey
PODMAN_SOCK=${PODMAN_SOCK:-/run/podman/podman.sock}
MONKEY_BACKEND_PATH=$builddir/plugins/spawn/.libs:$builddir/plugins/none/.libs:$builddir/plugins/docker/.libs:$builddir/plugins/rootless/.libs
MONKEY_BACKEND_PATH_ONLY=1 # never an installed monkey's backends
MONKEY_DOCKER_IMAGE=${MONKEY_DOCKER_IMAGE:-monkey-test:busybox}
export MONKEY_BACKEND_PATH MONKEY_BACKEND_PATH_ONLY MONKEY_DOCKER_IMAGE
[ -x "$monkey" ] || {
	echo "FAIL: no monkey in $builddir: build it first" >&2
	exit 1
}
[ -f "$builddir/tests/modules/.libs/liar.so" ] || {
	echo "FAIL: no liar test backend in $builddir: run make check first" >&2
	exit 1
}

out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
failures=0

# verify LABEL WANT_STATUS ARGS...: run, print, compare the status.
verify() {
	label=$1 want=$2
	shift 2
	printf '\n=== monkey sandbox verify %s\n' "$*"
	"$monkey" sandbox verify "$@" >"$out" 2>"$err"
	status=$?
	cat "$out" "$err"
	if [ "$status" = "$want" ]; then
		echo "PASS: verify $label (status $status)"
	else
		echo "FAIL: verify $label: status $status, expected $want"
		failures=$((failures + 1))
	fi
}

verify spawn 0 spawn
verify none 0 none
if [ -f "$builddir/plugins/rootless/.libs/rootless.so" ]; then
	verify rootless 0 rootless
fi
verify docker 0 docker
DOCKER_HOST=unix://$PODMAN_SOCK
export DOCKER_HOST
verify "docker through podman" 0 docker
unset DOCKER_HOST
verify liar 1 liar --backend-dir "$builddir/tests/modules/.libs"
want="monkey: backend 'liar' does not do what it claims: network-isolation, kill-tree FAILED"
if [ "$(cat "$err")" = "$want" ]; then
	echo "PASS: the liar fails with exactly its two lies named"
else
	echo "FAIL: the liar's verdict: expected '$want'"
	failures=$((failures + 1))
fi
[ "$failures" = 0 ]
