#!/bin/sh
# Start or stop the container engines the docker backend's tests run against:
# dockerd (DESIGN §5: no bridge, no iptables) and podman's Docker-compatible
# service.  Idempotent; used by .ci/run and by developers.
#
#   tests/engines.sh start [docker|podman|all]   (default: all)
#   tests/engines.sh stop  [docker|podman|all]
#   tests/engines.sh status [docker|podman|all]  exit 0 when all answer
#
# Environment: DOCKER_SOCK (default /var/run/docker.sock), PODMAN_SOCK
# (default /run/podman/podman.sock), ENGINE_LOG_DIR (default /var/log),
# ENGINE_WAIT_S (seconds to wait for an engine to answer, default 60).
set -u

DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
PODMAN_SOCK=${PODMAN_SOCK:-/run/podman/podman.sock}
LOG_DIR=${ENGINE_LOG_DIR:-/var/log}
WAIT_S=${ENGINE_WAIT_S:-60}
DOCKER_PIDFILE=/var/run/docker.pid
PODMAN_PIDFILE=/run/podman/monkey-service.pid

say() { printf 'engines: %s\n' "$*" >&2; }

# True when the engine behind socket $1 answers GET /_ping with OK.
answers() {
	[ -S "$1" ] || return 1
	out=$(curl -sS --max-time 2 --unix-socket "$1" http://engine/_ping 2>/dev/null) || return 1
	[ "$out" = OK ]
}

# Wait until socket $1 answers, or process $2 dies, or WAIT_S passes.
wait_for() {
	i=0
	while [ "$i" -lt $((WAIT_S * 10)) ]; do
		answers "$1" && return 0
		if [ -n "$2" ] && ! kill -0 "$2" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	say "$1 not found: install it (apt-get install -y $2)"
	return 1
}

start_docker() {
	if answers "$DOCKER_SOCK"; then
		say "docker already answers at $DOCKER_SOCK"
		return 0
	fi
	need dockerd docker.io || return 1
	need curl curl || return 1
	# A stale pid file from a killed daemon makes dockerd refuse to start.
	if [ -f "$DOCKER_PIDFILE" ] && ! kill -0 "$(cat "$DOCKER_PIDFILE")" 2>/dev/null; then
		rm -f "$DOCKER_PIDFILE"
	fi
	mkdir -p "$LOG_DIR"
	# setsid: the daemon must not die with the shell that started it, nor
	# get that shell's Ctrl-C.  cd /: engines write files into their
	# working directory (conmon leaves "oom" markers), never a checkout.
	cd /
	setsid dockerd --bridge=none --iptables=false -H "unix://$DOCKER_SOCK" \
		>"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
	pid=$!
	if wait_for "$DOCKER_SOCK" "$pid"; then
		say "docker started (pid $pid) at $DOCKER_SOCK"
		return 0
	fi
	say "dockerd did not answer at $DOCKER_SOCK within ${WAIT_S}s; last lines of $LOG_DIR/dockerd.log:"
	tail -n 20 "$LOG_DIR/dockerd.log" >&2
	return 1
}

start_podman() {
	if answers "$PODMAN_SOCK"; then
		say "podman already answers at $PODMAN_SOCK"
		return 0
	fi
	need podman podman || return 1
	need curl curl || return 1
	mkdir -p "$(dirname "$PODMAN_SOCK")" "$LOG_DIR"
	rm -f "$PODMAN_SOCK"
	cd /
	setsid podman system service --time=0 "unix://$PODMAN_SOCK" \
		>"$LOG_DIR/podman-service.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$PODMAN_PIDFILE"
	if wait_for "$PODMAN_SOCK" "$pid"; then
		say "podman service started (pid $pid) at $PODMAN_SOCK"
		return 0
	fi
	say "podman service did not answer at $PODMAN_SOCK within ${WAIT_S}s; last lines of $LOG_DIR/podman-service.log:"
	tail -n 20 "$LOG_DIR/podman-service.log" >&2
	return 1
}

# Send SIGTERM to the pid in file $1 and wait up to 20 s for it to go.
stop_pidfile() {
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 200 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "pid $pid did not stop after SIGTERM; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	rm -f "$1"
}

stop_docker() {
	stop_pidfile "$DOCKER_PIDFILE"
	say "docker stopped"
}

stop_podman() {
	stop_pidfile "$PODMAN_PIDFILE"
	rm -f "$PODMAN_SOCK"
	say "podman service stopped"
}

status_one() {
	if answers "$2"; then
		say "$1 answers at $2"
		return 0
	fi
	say "$1 does not answer at $2"
	return 1
}

cmd=${1:-}
which=${2:-all}
case "$which" in
docker | podman | all) ;;
*)
	say "unknown engine '$which' (docker, podman or all)"
	exit 2
	;;
esac

rc=0
case "$cmd" in
start)
	[ "$which" = podman ] || start_docker || rc=1
	[ "$which" = docker ] || start_podman || rc=1
	;;
stop)
	[ "$which" = podman ] || stop_docker
	[ "$which" = docker ] || stop_podman
	;;
status)
	[ "$which" = podman ] || status_one docker "$DOCKER_SOCK" || rc=1
	[ "$which" = docker ] || status_one podman "$PODMAN_SOCK" || rc=1
	;;
*)
	echo "usage: $0 start|stop|status [docker|podman|all]" >&2
	exit 2
	;;
esac
exit $rc
