#!/bin/sh
# test_agent_jobs's job scenarios again with --sandbox rootless: the
# agent's session is then one rootless sandbox, whose jobs (busybox httpd,
# cat) serve and feed its foreground commands and die with the run.
# Skips (77) when the rootless backend cannot run here, and fails instead
# when MONKEY_REQUIRE_ROOTLESS=1.
set -u
builddir=${MONKEY_BUILDDIR:-.}
moddir="$builddir/plugins/rootless/.libs"
[ -e "$moddir/rootless.so" ] || moddir="$builddir/plugins/rootless"
if ! info=$(MONKEY_SANDBOX= "$builddir/monkey" sandbox info rootless \
	--backend-dir "$moddir" 2>&1) ||
	! printf '%s\n' "$info" | grep -q '^available: *yes'; then
	printf '%s\n' "$info"
	if [ "${MONKEY_REQUIRE_ROOTLESS:-0}" = 1 ]; then
		echo "FAIL: the rootless backend cannot run here (MONKEY_REQUIRE_ROOTLESS=1)"
		exit 1
	fi
	echo "SKIP: the rootless backend cannot run here (MONKEY_REQUIRE_ROOTLESS=1 makes this a failure)"
	exit 77
fi
MONKEY_TEST_AGENT_SANDBOX=rootless
export MONKEY_TEST_AGENT_SANDBOX
exec "$builddir/tests/agent/test_agent_jobs"
