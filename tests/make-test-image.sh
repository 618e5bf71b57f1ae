#!/bin/sh
# Build the offline test image for the docker backend's tests: a rootfs with
# Debian's static busybox, imported into docker (and podman when its service
# answers) as a local image.  There is no registry to pull from here.
#
#   tests/make-test-image.sh [NAME:TAG]     (default monkey-test:busybox)
#
# Idempotent: an image that already exists is left alone (FORCE=1 rebuilds).
# Environment: DOCKER_SOCK, PODMAN_SOCK as in tests/engines.sh; BUSYBOX
# (default /bin/busybox from busybox-static).
set -eu

IMAGE=${1:-monkey-test:busybox}
DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
PODMAN_SOCK=${PODMAN_SOCK:-/run/podman/podman.sock}
BUSYBOX=${BUSYBOX:-/bin/busybox}
FORCE=${FORCE:-0}

say() { printf 'make-test-image: %s\n' "$*" >&2; }

answers() {
	[ -S "$1" ] || return 1
	[ "$(curl -sS --max-time 2 --unix-socket "$1" http://engine/_ping 2>/dev/null)" = OK ]
}

# True when the engine behind socket $1 has image $IMAGE.
has_image() {
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		--unix-socket "$1" "http://engine/images/$IMAGE/json") || return 1
	[ "$code" = 200 ]
}

if [ ! -x "$BUSYBOX" ] || ! ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic executable'; then
	say "$BUSYBOX is not a static busybox: apt-get install -y busybox-static"
	exit 1
fi

rootfs=$(mktemp -d)
tarball=$(mktemp)
trap 'rm -rf "$rootfs" "$tarball"' EXIT

mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/proc" \
	"$rootfs/sys" "$rootfs/dev" "$rootfs/workspace" "$rootfs/root"
chmod 1777 "$rootfs/tmp"
cp "$BUSYBOX" "$rootfs/bin/busybox"
# One link per applet, so argv ["ls"] resolves through PATH like on any
# distribution image.
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
tar -C "$rootfs" -cf "$tarball" .

# The image config sets PATH: an imported tarball has no environment.
import_docker() {
	if [ "$FORCE" != 1 ] && has_image "$DOCKER_SOCK"; then
		say "docker already has $IMAGE"
		return 0
	fi
	out=$(mktemp)
	code=$(curl -sS -o "$out" -w '%{http_code}' --max-time 120 \
		--unix-socket "$DOCKER_SOCK" -X POST -H 'Content-Type: application/x-tar' \
		--data-binary "@$tarball" \
		"http://engine/images/create?fromSrc=-&repo=${IMAGE%:*}&tag=${IMAGE##*:}&changes=ENV%20PATH%3D%2Fbin&changes=CMD%20%5B%22sh%22%5D")
	body=$(cat "$out")
	rm -f "$out"
	if [ "$code" != 200 ] || ! has_image "$DOCKER_SOCK"; then
		say "importing $IMAGE into docker failed (HTTP $code): $body"
		return 1
	fi
	say "imported $IMAGE into docker"
}

# Podman's compatible import endpoint drops the tag, so use its own CLI,
# which writes the same local storage its service reads.
import_podman() {
	if [ "$FORCE" != 1 ] && has_image "$PODMAN_SOCK"; then
		say "podman already has $IMAGE"
		return 0
	fi
	if ! podman import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' \
		"$tarball" "$IMAGE" >/dev/null; then
		say "importing $IMAGE into podman failed"
		return 1
	fi
	say "imported $IMAGE into podman"
}

rc=0
found=0
if answers "$DOCKER_SOCK"; then
	found=1
	import_docker || rc=1
fi
if answers "$PODMAN_SOCK"; then
	found=1
	import_podman || rc=1
fi
if [ "$found" = 0 ]; then
	say "no engine answers at $DOCKER_SOCK or $PODMAN_SOCK: run tests/engines.sh start"
	exit 1
fi
exit $rc
