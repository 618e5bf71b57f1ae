#!/bin/sh
# The docker backend's suites again, through podman's Docker-compatible
# service (tests/engines.sh start podman).  Podman reports no OOM kill:
# the launcher reads the count of the container's cgroup, so only the direct
# path (no launcher) expects "unknown" there.
set -u
PODMAN_SOCK=${PODMAN_SOCK:-/run/podman/podman.sock}
builddir=$(cd "${MONKEY_BUILDDIR:-.}" && pwd)
# Run by hand, the build tree's backends are found from MONKEY_BUILDDIR,
# and never an installed monkey's.
: "${MONKEY_BACKEND_PATH:=$builddir/plugins/docker/.libs:$builddir/plugins/spawn/.libs:$builddir/plugins/none/.libs}"
MONKEY_BACKEND_PATH_ONLY=1
export MONKEY_BACKEND_PATH MONKEY_BACKEND_PATH_ONLY

answers=no
if [ -S "$PODMAN_SOCK" ] &&
	[ "$(curl -sS --max-time 5 --unix-socket "$PODMAN_SOCK" http://engine/_ping 2>/dev/null)" = OK ]; then
	answers=yes
fi
if [ "$answers" != yes ]; then
	if [ "${CI:-}" = true ] || [ "${MONKEY_REQUIRE_DOCKER:-}" = 1 ]; then
		echo "FAIL: podman's service does not answer at $PODMAN_SOCK (tests/engines.sh start podman)" >&2
		exit 1
	fi
	echo "SKIP: podman's service does not answer at $PODMAN_SOCK (tests/engines.sh start podman)" >&2
	exit 77
fi

srcdir=${MONKEY_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
required=no
if [ "${CI:-}" = true ] || [ "${MONKEY_REQUIRE_DOCKER:-}" = 1 ]; then
	required=yes
fi
rc=0 skipped=0 ran=0
for t in test_docker test_docker_errors test_docker_cli.sh test_docker_pool \
	pooled:test_docker_exec test_docker_session session:test_docker; do
	echo "== $t through podman at $PODMAN_SOCK"
	case $t in
	*.sh) DOCKER_HOST="unix://$PODMAN_SOCK" sh "$srcdir/tests/docker/$t" ;;
	pooled:*) DOCKER_HOST="unix://$PODMAN_SOCK" MONKEY_TEST_POOL=1 \
		"$builddir/tests/docker/${t#pooled:}" ;;
	session:*) DOCKER_HOST="unix://$PODMAN_SOCK" MONKEY_TEST_SESSION=1 \
		"$builddir/tests/docker/${t#session:}" ;;
	*) DOCKER_HOST="unix://$PODMAN_SOCK" "$builddir/tests/docker/$t" ;;
	esac
	r=$?
	case $r in
	0) ran=$((ran + 1)) ;;
	77)
		# A suite that skipped ran nothing: never a pass, and a
		# failure where containers are required.
		if [ "$required" = yes ]; then
			echo "$t through podman skipped, but containers are required here" >&2
			rc=1
		else
			echo "SKIP: $t through podman" >&2
			skipped=$((skipped + 1))
		fi
		;;
	*)
		echo "$t through podman: exit $r" >&2
		rc=1
		;;
	esac
done
if [ "$rc" = 0 ] && [ "$skipped" -gt 0 ]; then
	echo "SKIP: $skipped suite(s) skipped, $ran ran" >&2
	exit 77
fi
exit $rc
