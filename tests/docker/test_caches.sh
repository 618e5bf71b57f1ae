#!/bin/sh
# Dependency caches (--cache): what one `monkey exec` writes to a cache the
# next, separate, `monkey exec` reads, on docker and podman (a labelled
# volume) and spawn and rootless (a directory under XDG_CACHE_HOME);
# `monkey cache list` shows them and `monkey cache prune` removes them.
set -u

builddir=$(cd "${MONKEY_BUILDDIR:-.}" && pwd)
: "${MONKEY_BACKEND_PATH:=$builddir/plugins/docker/.libs:$builddir/plugins/spawn/.libs:$builddir/plugins/rootless/.libs}"
MONKEY_BACKEND_PATH_ONLY=1
export MONKEY_BACKEND_PATH MONKEY_BACKEND_PATH_ONLY
MONKEY="$builddir/monkey"
IMAGE=${MONKEY_DOCKER_IMAGE:-monkey-test:busybox}
WS=$(mktemp -d /tmp/monkey-caches-XXXXXX)
XDG_CACHE_HOME=$(mktemp -d /tmp/monkey-xdg-XXXXXX)
export XDG_CACHE_HOME
NAME="t$$"
trap 'rm -rf "$WS" "$XDG_CACHE_HOME"' EXIT
cd "$WS" || exit 1

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi; }
required() { [ "${CI:-}" = true ] || [ "${MONKEY_REQUIRE_DOCKER:-}" = 1 ]; }

# Two separate runs: the first writes, the second reads.
persists() { # label, then monkey exec options
	label=$1
	shift
	"$MONKEY" exec "$@" --cache "$NAME:/deps" -- sh -c "echo kept-$NAME > /deps/f" >/dev/null 2>&1
	got=$("$MONKEY" exec "$@" --cache "$NAME:/deps" -- cat /deps/f 2>&1)
	check "$label: a cache persists across two monkey exec runs" "$got" "kept-$NAME"
	# A preset points its tool at the cache.
	got=$("$MONKEY" exec "$@" --cache @pip -- sh -c 'echo "$PIP_CACHE_DIR"' 2>&1)
	check "$label: @pip sets PIP_CACHE_DIR" "$got" "/monkey-cache/pip"
}

# spawn runs on the host: the directory itself, in MONKEY_CACHE_<NAME>.
var=MONKEY_CACHE_$(echo "$NAME" | tr a-z A-Z)
"$MONKEY" exec --sandbox spawn --cache "$NAME:/deps" -- sh -c "echo one > \"\$$var/f\"" 2>/dev/null
got=$("$MONKEY" exec --sandbox spawn --cache "$NAME:/deps" -- sh -c "cat \"\$$var/f\"" 2>/dev/null)
check "spawn: a cache directory persists across runs" "$got" one
check "spawn: it lives under XDG_CACHE_HOME, private" \
	"$(stat -c %a "$XDG_CACHE_HOME/monkey/caches/$NAME")" 700
got=$("$MONKEY" exec --sandbox spawn --cache @pip -- sh -c 'echo "$PIP_CACHE_DIR"' 2>/dev/null)
check "spawn: @pip points PIP_CACHE_DIR at the directory" "$got" "$XDG_CACHE_HOME/monkey/caches/pip"
msg=$("$MONKEY" exec --sandbox spawn --cache "x/../y:/deps" -- true 2>&1)
check "a name with / or .. is refused" "$?" 125
case $msg in *"no '/', no '..'"*) ok "and the message says why" ;;
*) not_ok "and the message says why: $msg" ;; esac
"$MONKEY" exec --sandbox spawn --cache "$NAME:$WS/sub" -- true 2>/dev/null
check "a DST in the workspace is refused" "$?" 125
XDG_CACHE_HOME="$WS/xdg" "$MONKEY" exec --sandbox spawn --cache "$NAME:/deps" -- true 2>/dev/null
check "a cache directory inside the workspace is refused" "$?" 125
[ ! -e "$WS/xdg/monkey/caches/$NAME" ] && ok "and no cache is made there" ||
	not_ok "and no cache is made there"
mv "$XDG_CACHE_HOME/monkey/caches/$NAME" "$XDG_CACHE_HOME/real"
ln -s "$XDG_CACHE_HOME/real" "$XDG_CACHE_HOME/monkey/caches/$NAME"
"$MONKEY" exec --sandbox spawn --cache "$NAME:/deps" -- true 2>/dev/null
check "a cache directory that is a symbolic link is refused" "$?" 125
rm "$XDG_CACHE_HOME/monkey/caches/$NAME"
mv "$XDG_CACHE_HOME/real" "$XDG_CACHE_HOME/monkey/caches/$NAME"

if "$MONKEY" exec --sandbox rootless --no-fallback -- true >/dev/null 2>&1; then
	persists rootless --sandbox rootless --no-fallback
else
	echo "# rootless cannot run here: its part is skipped"
fi

list=$("$MONKEY" cache list)
case $list in *directory*"$NAME"*) ok "cache list shows the directory" ;;
*) not_ok "cache list shows the directory: $list" ;; esac
"$MONKEY" cache prune "$NAME" --older-than 1 >/dev/null
[ -d "$XDG_CACHE_HOME/monkey/caches/$NAME" ] && ok "prune --older-than keeps a cache used today" ||
	not_ok "prune --older-than keeps a cache used today"
touch -d '3 days ago' "$XDG_CACHE_HOME/monkey/caches/$NAME"
"$MONKEY" cache prune --older-than 2 >/dev/null
[ ! -e "$XDG_CACHE_HOME/monkey/caches/$NAME" ] && ok "prune --older-than removes one unused for longer" ||
	not_ok "prune --older-than removes one unused for longer"
"$MONKEY" cache prune pip >/dev/null
[ ! -e "$XDG_CACHE_HOME/monkey/caches/pip" ] && ok "prune NAME removes it" || not_ok "prune NAME removes it"

for sock in /var/run/docker.sock /run/podman/podman.sock; do
	if [ "$(curl -sS --max-time 5 --unix-socket "$sock" http://engine/_ping 2>/dev/null)" != OK ]; then
		if required; then not_ok "no engine at $sock"; fi
		continue
	fi
	export DOCKER_HOST="unix://$sock"
	opts="--sandbox docker --no-fallback --image $IMAGE"
	# shellcheck disable=SC2086
	persists "$sock" $opts
	# A new cache is its command's user's, not root's.
	# shellcheck disable=SC2086
	got=$("$MONKEY" exec $opts --user 65534:65534 --cache "u$NAME:/deps" -- \
		sh -c 'echo w > /deps/f && stat -c %u:%g /deps' 2>&1)
	check "$sock: a new cache is writable by a user other than root" "$got" 65534:65534
	# shellcheck disable=SC2086
	"$MONKEY" cache prune "u$NAME" $opts >/dev/null
	# shellcheck disable=SC2086
	list=$("$MONKEY" cache list $opts)
	case $list in *docker*"$NAME"*) ok "$sock: cache list shows the volume" ;;
	*) not_ok "$sock: cache list shows the volume: $list" ;; esac
	# shellcheck disable=SC2086
	"$MONKEY" cache prune "$NAME" pip $opts >/dev/null
	code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" "http://engine/volumes/monkey-cache-$NAME")
	check "$sock: prune removes the volume" "$code" 404
	unset DOCKER_HOST
done

echo "1..$((pass + fail))"
[ "$fail" -eq 0 ]
