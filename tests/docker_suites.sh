#!/bin/sh
# Runs the docker backend's test programs once more in the mode the
# caller set in the environment (test_docker_pooled.sh,
# test_docker_direct.sh); $1 names the mode in the output.
set -u
dir=${MONKEY_BUILDDIR:-.}/tests
status=0
for t in test_docker test_docker_exec test_docker_errors; do
	echo "== $t ($1)"
	"$dir/$t"
	rc=$?
	case $rc in
	0) ;;
	77) [ $status -eq 0 ] && status=77 ;;
	*) status=1 ;;
	esac
done
exit $status
