#!/bin/sh
# `monkey exec --sandbox docker` as a user runs it, against the real engine:
# exit codes (command's, 124, 125, 126, 127), the engine's messages, the
# fallback to spawn, and SIGINT/SIGTERM mid-command leaving no container.
# The engine is asked directly (curl on its socket) what containers remain.
set -u

builddir=$(cd "${MONKEY_BUILDDIR:-.}" && pwd)
# Run by hand, the build tree's backends are found from MONKEY_BUILDDIR,
# and never an installed monkey's.
: "${MONKEY_BACKEND_PATH:=$builddir/plugins/docker/.libs:$builddir/plugins/spawn/.libs:$builddir/plugins/none/.libs}"
MONKEY_BACKEND_PATH_ONLY=1
export MONKEY_BACKEND_PATH MONKEY_BACKEND_PATH_ONLY
MONKEY="$builddir/monkey"
IMAGE=${MONKEY_DOCKER_IMAGE:-monkey-test:busybox}
SOCK=${DOCKER_HOST:-unix:///var/run/docker.sock}
SOCK=${SOCK#unix://}
WS=$(mktemp -d /tmp/monkey-cli-XXXXXX)
trap 'rm -rf "$WS"' EXIT
cd "$WS" || exit 1

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; }

unavailable() {
	if [ "${CI:-}" = true ] || [ "${MONKEY_REQUIRE_DOCKER:-}" = 1 ]; then
		echo "FAIL: $1" >&2
		exit 1
	fi
	echo "SKIP: $1 (tests/engines.sh start; set MONKEY_REQUIRE_DOCKER=1 to make this a failure)" >&2
	exit 77
}

[ -x "$MONKEY" ] || unavailable "$MONKEY is not built"
command -v curl >/dev/null 2>&1 || unavailable "curl is needed to ask the engine"
[ "$(curl -sS --max-time 5 --unix-socket "$SOCK" http://engine/_ping 2>/dev/null)" = OK ] ||
	unavailable "no container engine answers at $SOCK"
[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "http://engine/images/$IMAGE/json")" = 200 ] ||
	unavailable "image $IMAGE is missing (tests/make-test-image.sh)"

# Number of containers labelled monkey.sandbox=$1.
containers_of() {
	curl -s --unix-socket "$SOCK" -G "http://engine/containers/json" \
		--data-urlencode all=1 \
		--data-urlencode "filters={\"label\":[\"monkey.sandbox=$1\"]}" |
		grep -o '"Id"' | wc -l
}

# Remove every container labelled monkey.sandbox=$1 (what a failed check
# left).
remove_of() {
	for c in $(curl -s --unix-socket "$SOCK" -G "http://engine/containers/json" \
		--data-urlencode all=1 \
		--data-urlencode "filters={\"label\":[\"monkey.sandbox=$1\"]}" |
		grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
		curl -s -o /dev/null --unix-socket "$SOCK" -X DELETE "http://engine/containers/$c?force=1"
	done
}

# The instance id monkey process $1 labels its containers with.
instance_of() {
	# Field 22 of /proc/PID/stat, counted after the ")" that ends comm.
	st=$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20)
	echo "$1-$st"
}

mexec() {
	"$MONKEY" exec --sandbox docker --no-fallback --image "$IMAGE" "$@"
}

# ---- exit codes and messages ----

out=$(mexec -- sh -c 'echo out; echo err >&2; exit 7' 2>"$WS/err")
rc=$?
if [ "$rc" = 7 ] && [ "$out" = out ] && grep -qx err "$WS/err"; then
	ok "exit status and streams pass through"
else
	not_ok "exit status and streams pass through (rc=$rc out=$out)"
fi

mexec -- no-such-program-xyz >/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 127 ] && grep -q 'executable file not found' "$WS/err"; then
	ok "missing program exits 127 with the engine's message"
else
	not_ok "missing program exits 127 (rc=$rc: $(cat "$WS/err"))"
fi

mexec -- /etc >/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 126 ] && grep -q 'permission denied' "$WS/err"; then
	ok "non-executable program exits 126"
else
	not_ok "non-executable program exits 126 (rc=$rc: $(cat "$WS/err"))"
fi

mexec --timeout 1000 -- sh -c 'echo partial; sleep 30' >"$WS/out" 2>"$WS/err"
rc=$?
if [ "$rc" = 124 ] && grep -qx partial "$WS/out"; then
	ok "timeout exits 124 and keeps partial output"
else
	not_ok "timeout exits 124 (rc=$rc: $(cat "$WS/err"))"
fi

mexec --memory 1 -- true >/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 125 ] && grep -qi 'memory' "$WS/err"; then
	ok "a bad option exits 125 with the engine's message"
else
	not_ok "a bad option exits 125 (rc=$rc: $(cat "$WS/err"))"
fi

# A registry on a closed loopback port: the pull fails without traffic.
"$MONKEY" exec --sandbox docker --no-fallback --image 127.0.0.1:1/monkey/absent:v1 -- true \
	>/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 125 ] && grep -q '127.0.0.1:1/monkey/absent:v1' "$WS/err" &&
	grep -q 'not present locally' "$WS/err" && grep -q 'connection refused' "$WS/err"; then
	ok "a missing image exits 125 naming the image and the engine's reason"
else
	not_ok "a missing image exits 125 (rc=$rc: $(cat "$WS/err"))"
fi

# ---- the workspace's .git is read-only unless --writable-git ----

mkdir "$WS/.git" && echo '[core]' >"$WS/.git/config"
mexec -- sh -c 'echo "	fsmonitor = x" >> .git/config' >/dev/null 2>&1
ro_rc=$?
ro_after=$(cat "$WS/.git/config")
mexec --writable-git -- sh -c 'echo "	fsmonitor = x" >> .git/config' >/dev/null 2>"$WS/err"
rw_rc=$?
rw_after=$(cat "$WS/.git/config")
rm -rf "$WS/.git"
if [ "$ro_rc" != 0 ] && [ "$ro_after" = '[core]' ] && [ "$rw_rc" = 0 ] &&
	[ "$rw_after" = "$(printf '[core]\n\tfsmonitor = x')" ]; then
	ok ".git is read-only in the container; --writable-git makes it writable"
else
	not_ok ".git read-only (ro=$ro_rc rw=$rw_rc after=$rw_after: $(cat "$WS/err"))"
fi

# ---- every limit that ends or breaks a command says so ----

mexec --pids 4 -- sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait' \
	>/dev/null 2>"$WS/err"
if grep -q 'sh hit the process limit (--pids 4); raise it with --pids N' "$WS/err"; then
	ok "forks refused at --pids are reported with the option that raises it"
else
	not_ok "forks refused at --pids are reported: $(cat "$WS/err")"
fi
out=$(mexec --json --pids 4 -- sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait' 2>/dev/null)
case $out in
*'"limitHit":"pids"'*'"limitsUnknown":[]'*) ok "--json names the pids limit (limitHit)" ;;
*) not_ok "--json names the pids limit: $out" ;;
esac
out=$(mexec --json --pids 4 -- true 2>/dev/null)
case $out in
*'"limitHit":null,"limitsHit":[],"limitsUnknown":[]'*) ok "--json: no limit hit, none unknown" ;;
*) not_ok "--json: no limit hit, none unknown: $out" ;;
esac

mexec --cpu-time 1 --cpus 1 -- sh -c 'while :; do :; done' >/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 137 ] && grep -q 'sh hit the CPU-time limit (--cpu-time 1)' "$WS/err"; then
	ok "a kill at --cpu-time in a container is reported (exit 137)"
else
	not_ok "a kill at --cpu-time in a container is reported (rc=$rc: $(cat "$WS/err"))"
fi

"$MONKEY" exec --sandbox spawn --no-fallback --file-size 4096 -- \
	dd if=/dev/zero of="$WS/big" bs=1000 count=100 >/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 153 ] && grep -q 'dd hit the file-size limit (--file-size 4096); raise it with --file-size BYTES' "$WS/err"; then
	ok "spawn: SIGXFSZ is reported as the file-size limit"
else
	not_ok "spawn: SIGXFSZ is reported as the file-size limit (rc=$rc: $(cat "$WS/err"))"
fi
out=$("$MONKEY" exec --json --sandbox spawn --no-fallback --cpu-time 1 -- sh -c 'while :; do :; done' 2>/dev/null)
case $out in
*'"limitHit":"cpu-time"'*) ok "spawn: --json names the CPU-time limit" ;;
*) not_ok "spawn: --json names the CPU-time limit: $out" ;;
esac
rm -f "$WS/big"

# ---- an image that is not there: an error, never the host ----

# A typo'd image whose pull fails (a registry on a closed loopback port:
# no traffic leaves the machine), without --no-fallback.
"$MONKEY" exec --sandbox docker --image 127.0.0.1:1/trial/hostrot:1 -- \
	touch "$WS/ran-on-host" >/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 125 ] && [ ! -e "$WS/ran-on-host" ] &&
	grep -q '127.0.0.1:1/trial/hostrot:1' "$WS/err" &&
	grep -q 'docker pull 127.0.0.1:1/trial/hostrot:1' "$WS/err" &&
	! grep -q 'falling back' "$WS/err"; then
	ok "a missing image that cannot be pulled exits 125, says how to get it, never runs on the host"
else
	not_ok "a missing image that cannot be pulled (rc=$rc host=$(ls "$WS/ran-on-host" 2>&1): $(cat "$WS/err"))"
fi
rm -f "$WS/ran-on-host"

MONKEY_DOCKER_PULL=never "$MONKEY" exec --sandbox docker --image trial/hostrot:1 -- \
	touch "$WS/ran-on-host" >/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 125 ] && [ ! -e "$WS/ran-on-host" ] &&
	grep -q 'trial/hostrot:1 is not present locally' "$WS/err" &&
	grep -q 'docker pull trial/hostrot:1' "$WS/err" && grep -q -- '--image' "$WS/err"; then
	ok "a missing image with pulling off exits 125 before anything runs"
else
	not_ok "a missing image with pulling off (rc=$rc: $(cat "$WS/err"))"
fi
rm -f "$WS/ran-on-host"

# ---- a stopped engine: fallback, or an error with --no-fallback ----

dead="$WS/dead.sock"
DOCKER_HOST="unix://$dead" "$MONKEY" exec --sandbox docker --image "$IMAGE" -- \
	touch "$WS/ran-on-host" >/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 125 ] && [ ! -e "$WS/ran-on-host" ] && grep -q "$dead" "$WS/err" &&
	grep -q -- '--image' "$WS/err" && ! grep -q 'falling back' "$WS/err"; then
	ok "a stopped engine with --image named is an error, not a fallback"
else
	not_ok "a stopped engine with --image named (rc=$rc: $(cat "$WS/err"))"
fi
rm -f "$WS/ran-on-host"

DOCKER_HOST="unix://$dead" MONKEY_DOCKER_IMAGE="$IMAGE" "$MONKEY" exec --sandbox docker -- \
	touch "$WS/ran-on-host" >/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 125 ] && [ ! -e "$WS/ran-on-host" ] && grep -q 'MONKEY_DOCKER_IMAGE' "$WS/err"; then
	ok "a stopped engine with MONKEY_DOCKER_IMAGE set is an error, not a fallback"
else
	not_ok "a stopped engine with MONKEY_DOCKER_IMAGE set (rc=$rc: $(cat "$WS/err"))"
fi
rm -f "$WS/ran-on-host"

out=$(DOCKER_HOST="unix://$dead" env -u MONKEY_DOCKER_IMAGE "$MONKEY" exec --sandbox docker -- echo via-spawn 2>"$WS/err")
rc=$?
if [ "$rc" = 0 ] && [ "$out" = via-spawn ] &&
	grep -q 'Docker not available, falling back to spawn mode' "$WS/err" &&
	grep -q "$dead" "$WS/err"; then
	ok "a stopped engine falls back to spawn with the reason"
else
	not_ok "a stopped engine falls back to spawn (rc=$rc: $(cat "$WS/err"))"
fi

DOCKER_HOST="unix://$dead" "$MONKEY" exec --sandbox docker --no-fallback --image "$IMAGE" -- true \
	>/dev/null 2>"$WS/err"
rc=$?
if [ "$rc" = 125 ] && grep -q "$dead" "$WS/err" && grep -q 'does not exist' "$WS/err"; then
	ok "a stopped engine with --no-fallback exits 125 with the reason"
else
	not_ok "a stopped engine with --no-fallback exits 125 (rc=$rc: $(cat "$WS/err"))"
fi

DOCKER_HOST="unix://$dead" "$MONKEY" sandbox list >"$WS/out" 2>&1
if grep -A3 '^docker' "$WS/out" | grep -q "$dead"; then
	ok "sandbox list shows why docker is unavailable"
else
	not_ok "sandbox list shows why docker is unavailable: $(cat "$WS/out")"
fi

# ---- looking changes nothing, and a missing image is a note ----

# A container whose owner is provably gone (a process of this PID
# namespace that exited), which a command's start-up sweep removes.
boot=$(cat /proc/sys/kernel/random/boot_id)
pidns=$(stat -L -c %i /proc/self/ns/pid)
sleep 30 &
gone=$!
gone_start=$(sed 's/.*) //' "/proc/$gone/stat" | cut -d' ' -f20)
kill "$gone"
wait "$gone" 2>/dev/null
orphan=$(curl -s --unix-socket "$SOCK" -H 'Content-Type: application/json' \
	-d "{\"Image\":\"$IMAGE\",\"Cmd\":[\"true\"],\"NetworkDisabled\":true,
	\"Labels\":{\"monkey.sandbox\":\"cli-orphan-$$\",\"monkey.owner.boot-id\":\"$boot\",
	\"monkey.owner.pidns\":\"$pidns\",\"monkey.owner.pid\":\"$gone\",
	\"monkey.owner.start-time\":\"$gone_start\"},
	\"HostConfig\":{\"NetworkMode\":\"none\",
	\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":1024}]}}" \
	http://engine/containers/create | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)
env -u MONKEY_DOCKER_IMAGE -u MONKEY_DOCKER_PULL "$MONKEY" sandbox list >"$WS/out" 2>&1
"$MONKEY" sandbox info docker --image 127.0.0.1:1/monkey/absent:v2 >"$WS/info" 2>&1
after_looking=$(containers_of "cli-orphan-$$")
default_present=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" \
	"http://engine/images/debian:bookworm-slim/json")
if [ -n "$orphan" ] && [ "$after_looking" = 1 ] &&
	grep -q '^docker .* yes ' "$WS/out" &&
	{ [ "$default_present" = 200 ] ||
		grep -A3 '^docker' "$WS/out" | grep -q 'note: image debian:bookworm-slim is not present locally'; } &&
	grep -q '^available: *yes (note: image 127.0.0.1:1/monkey/absent:v2 is not present locally' "$WS/info"; then
	ok "sandbox list and info: docker available, a missing image is a note, nothing removed"
else
	not_ok "sandbox list and info (orphan=$orphan left=$after_looking): $(cat "$WS/out" "$WS/info")"
fi
mexec -- true >/dev/null 2>&1
i=0
while [ "$(containers_of "cli-orphan-$$")" != 0 ] && [ "$i" -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ "$(containers_of "cli-orphan-$$")" = 0 ]; then
	ok "the first command's start-up sweep removes the orphaned container"
else
	not_ok "the first command's start-up sweep removes the orphaned container"
fi
remove_of "cli-orphan-$$"

# ---- signals mid-command ----

# Start a long command, wait for its container (and with --pool K for the
# K prestarted ones too), send $1, and check that monkey ends promptly and
# no container of it remains.
interrupt_test() {
	sig=$1
	pool=${2:-0}
	want=$((pool + 1))
	# Directly, not through a function: $! must be monkey itself (the
	# libtool wrapper execs it, keeping pid and start time).
	"$MONKEY" exec --sandbox docker --no-fallback --image "$IMAGE" --timeout 60000 \
		--pool "$pool" -- sh -c 'echo started; sleep 60' >"$WS/out" 2>"$WS/err" &
	pid=$!
	id=$(instance_of "$pid")
	i=0
	while [ "$(containers_of "$id")" -lt "$want" ] && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	seen=$(containers_of "$id")
	sleep 0.3
	t0=$(date +%s)
	kill "-$sig" "$pid"
	wait "$pid"
	rc=$?
	t1=$(date +%s)
	left=$(containers_of "$id")
	if [ "$seen" = "$want" ] && [ "$left" = 0 ] && [ $((t1 - t0)) -lt 10 ] && [ "$rc" != 0 ]; then
		ok "SIG$sig to monkey exec --pool $pool mid-command leaves no container (exit $rc)"
	else
		not_ok "SIG$sig to monkey exec --pool $pool mid-command (seen=$seen left=$left rc=$rc secs=$((t1 - t0)): $(cat "$WS/err"))"
	fi
}
interrupt_test INT
interrupt_test TERM
interrupt_test INT 2
interrupt_test TERM 2

# ---- monkey killed with SIGKILL: its containers go with it ----

# monkey exec --pool $1 runs a long command; kill -9 of monkey must stop
# every process of its containers within about 2 s and leave no
# container a few seconds later, with no monkey left to clean up.
kill9_test() {
	pool=$1
	want=$((pool + 1))
	tok="monkey-kill9-$$-$pool"
	"$MONKEY" exec --sandbox docker --no-fallback --image "$IMAGE" --timeout 60000 \
		--pool "$pool" -- sh -c "sleep 600; echo $tok" >"$WS/out" 2>"$WS/err" &
	pid=$!
	id=$(instance_of "$pid")
	i=0
	while { [ "$(containers_of "$id")" -lt "$want" ] || ! pgrep -f "$tok" >/dev/null; } &&
		[ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	seen=$(containers_of "$id")
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	i=0
	while pgrep -f "$tok" >/dev/null && [ "$i" -lt 20 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	procs=$(pgrep -f "$tok" | wc -l)
	i=0
	while [ "$(containers_of "$id")" != 0 ] && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	left=$(containers_of "$id")
	remove_of "$id"
	if [ "$seen" = "$want" ] && [ "$procs" = 0 ] && [ "$left" = 0 ]; then
		ok "kill -9 of monkey exec --pool $pool stops its command and removes its containers"
	else
		not_ok "kill -9 of monkey exec --pool $pool (seen=$seen processes=$procs left=$left: $(cat "$WS/err"))"
	fi
}
kill9_test 0
kill9_test 2

# ---- the pool from the command line ----

out=$(mexec --pool 1 -- printf '[%s]' 'a b' '$(x)' 2>"$WS/err")
rc=$?
if [ "$rc" = 0 ] && [ "$out" = '[a b][$(x)]' ] && ! grep -q 'not enforced' "$WS/err"; then
	ok "--pool is accepted by the docker backend"
else
	not_ok "--pool is accepted by the docker backend (rc=$rc out=$out: $(cat "$WS/err"))"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
