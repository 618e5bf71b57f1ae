#!/bin/sh
# The docker backend's test programs again, this time with a warm pool
# (MONKEY_TEST_POOL=1): every command the harness runs must take a
# prestarted container and behave exactly as in a fresh one, and each
# test's state must leave nothing behind at fini.
set -u
dir=${MONKEY_BUILDDIR:-.}/tests
MONKEY_TEST_POOL=1
export MONKEY_TEST_POOL
status=0
for t in test_docker test_docker_exec test_docker_errors; do
	echo "== $t (pooled)"
	"$dir/$t"
	rc=$?
	case $rc in
	0) ;;
	77) [ $status -eq 0 ] && status=77 ;;
	*) status=1 ;;
	esac
done
exit $status
