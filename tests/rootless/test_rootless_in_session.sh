#!/bin/sh
# The rootless backend's test programs again, each command run as the
# second of a session opened with its settings (MONKEY_TEST_SESSION=1):
# in a sandbox that already served a command it must behave as a fresh
# one (isolation, limits, OOM, timeouts, cancel, stdin, kill-at-end), and
# closing the session must leave nothing behind.  Skips (77) when the
# backend cannot run here, unless MONKEY_REQUIRE_ROOTLESS=1.
set -u
MONKEY_TEST_SESSION=1
export MONKEY_TEST_SESSION
dir=${MONKEY_BUILDDIR:-.}/tests/rootless
status=0
for t in test_rootless test_rootless_limits test_rootless_tree; do
	echo "== $t (in sessions)"
	"$dir/$t"
	rc=$?
	case $rc in
	0) ;;
	77)
		# Skipped: never a pass, and a failure where rootless is
		# required (the programs themselves fail then too).
		if [ "${MONKEY_REQUIRE_ROOTLESS:-}" = 1 ]; then
			status=1
		elif [ $status -eq 0 ]; then
			status=77
		fi
		;;
	*) status=1 ;;
	esac
done
exit $status
