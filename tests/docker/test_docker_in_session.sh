#!/bin/sh
# The docker backend's test programs again, each command run inside a
# session (MONKEY_TEST_SESSION=1): as the second command of a container
# that already served one, it must behave exactly as in a fresh one
# (hardening, limits, OOM, timeouts, stdin, output bounds), and closing
# the session must leave nothing behind.
MONKEY_TEST_SESSION=1
export MONKEY_TEST_SESSION
exec sh "$(dirname "$0")/docker_suites.sh" session
