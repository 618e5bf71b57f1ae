#!/bin/sh
# The docker backend's test programs again without monkey-launch (an
# installation that lacks it): fresh containers then run the command
# itself as PID 1 and the engine says how it ended.  Both ways must give
# the same answers.
MONKEY_DOCKER_LAUNCHER=/nonexistent/monkey-launch
export MONKEY_DOCKER_LAUNCHER
exec sh "$(dirname "$0")/docker_suites.sh" "without monkey-launch"
