#!/bin/sh
# monkey exec and monkey sandbox with the rootless backend, as a user runs
# them: the exit statuses every backend shares (the command's, 124 on
# timeout, 125 when the sandbox cannot do what was asked, 126 not
# executable, 127 not found, 128+N killed by signal N), and what
# "sandbox list" and "sandbox info" say.  Skips (exit 77) when the
# backend cannot run here, unless MONKEY_REQUIRE_ROOTLESS=1.
set -u

builddir=${MONKEY_BUILDDIR:-.}
monkey="$builddir/monkey"
moddir="$builddir/plugins/rootless/.libs"
[ -e "$moddir/rootless.so" ] || moddir="$builddir/plugins/rootless"
# An image name meant for docker must not reach this backend; and a PATH
# with directories this user may not search would make a missing program
# "not executable" (126), as execvp(3) does.
unset MONKEY_DOCKER_IMAGE MONKEY_SANDBOX
PATH=/usr/local/bin:/usr/bin:/bin
export PATH

ws=$(mktemp -d "${TMPDIR:-/tmp}/monkey-rt-cli.XXXXXX") || exit 99
trap 'rm -rf "$ws"' EXIT
cd "$ws" || exit 99

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

if ! "$monkey" sandbox info rootless --backend-dir "$moddir" >"$ws/info" 2>&1; then
	cat "$ws/info"
	fail "monkey sandbox info rootless failed"
fi
if ! grep -q '^available: *yes' "$ws/info"; then
	cat "$ws/info"
	if [ "${MONKEY_REQUIRE_ROOTLESS:-0}" = 1 ]; then
		echo "FAIL: the rootless backend cannot run here (MONKEY_REQUIRE_ROOTLESS=1)"
		exit 1
	fi
	echo "SKIP: the rootless backend cannot run here"
	exit 77
fi
grep -q 'user, mount, PID, network' "$ws/info" ||
	fail "sandbox info does not describe the namespaces"
grep -q '^safety: *high' "$ws/info" || fail "sandbox info: safety is not high"

"$monkey" sandbox list --backend-dir "$moddir" >"$ws/list" 2>&1
grep -q '^rootless' "$ws/list" || { cat "$ws/list"; fail "sandbox list does not show rootless"; }

# status NAME WANT ARGS...: monkey exec ARGS exits with WANT.
status() {
	name=$1 want=$2
	shift 2
	"$monkey" exec --sandbox rootless --no-fallback --backend-dir "$moddir" \
		"$@" >"$ws/out" 2>"$ws/err"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "$name: exit $got, wanted $want"
		cat "$ws/out" "$ws/err"
	fi
}

status "command's status" 3 -- sh -c 'exit 3'
status "killed by SIGTERM" 143 -- sh -c 'kill -TERM $$'
status "timeout" 124 --timeout 300 -- sleep 10
status "not found" 127 -- no-such-program-anywhere
grep -q 'command not found' "$ws/err" || fail "not found: no message"
: >"$ws/plain"
status "not executable" 126 -- "$ws/plain"
status "image that is not a directory" 125 --image no-such-image:latest -- true
grep -q 'is not a directory' "$ws/err" || fail "image: no message"

"$monkey" exec --sandbox rootless --no-fallback --backend-dir "$moddir" \
	--json -- echo hi >"$ws/json" 2>"$ws/err"
grep -q '"sandbox":"rootless"' "$ws/json" && grep -q '"stdout":"hi\\n"' "$ws/json" ||
	{ cat "$ws/json" "$ws/err"; fail "json result"; }

[ "$failures" = 0 ] || exit 1
echo "all rootless CLI checks passed"
