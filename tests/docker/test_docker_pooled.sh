#!/bin/sh
# The docker backend's test programs again, this time with a warm pool
# (MONKEY_TEST_POOL=1): every command the harness runs must take a
# prestarted container and behave exactly as in a fresh one, and each
# test's state must leave nothing behind at fini.
MONKEY_TEST_POOL=1
export MONKEY_TEST_POOL
exec sh "$(dirname "$0")/docker_suites.sh" pooled
