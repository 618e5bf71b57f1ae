#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test of monkey: installs
# the packages, starts the Docker engine and podman's service, builds the
# offline test image, then builds and runs "make check" plainly, under
# AddressSanitizer + UndefinedBehaviorSanitizer, the rootless backend's
# tests once more as an unprivileged user it creates, the fuzz targets for
# a bounded time, the configure matrix, "make distcheck", and the Debian
# packages built from the tarball, linted, installed, removed and purged.
# This is the test command README.md gives and .ci/run calls.  Run it as
# root, or as a user who may sudo, from anywhere in a clone.  "monkey sandbox
# verify" runs on every backend (tests/verify-backends.sh; the example
# backend through tests/sdk/test_sdk.sh).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# The engines' sockets, the test users, the packages the last step
# installs: CI is root's work.  Another user runs it as root through sudo,
# and gets the clone back (every file the run made in it) at the end.
if [ "$(id -u)" != 0 ]; then
	exec sudo --preserve-env=MONKEY_SKIP_INSTALL,MONKEY_FUZZ_SECONDS,CI \
		bash "$top/tests/ci.sh" "$@"
fi
if [ -n "${SUDO_UID:-}" ] && [ "$SUDO_UID" != 0 ]; then
	give_back() { chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$top"; }
else
	give_back() { :; }
fi
trap give_back EXIT

packages=(
	build-essential autoconf automake libtool libltdl-dev pkg-config
	libcurl4-openssl-dev libjson-c-dev libcmocka-dev libseccomp-dev
	docker.io podman busybox-static curl python3 clang procps groff-base
	dpkg-dev debhelper lintian
)
step() { printf '\n=== %s\n' "$*"; }

if [ "${MONKEY_SKIP_INSTALL:-0}" != 1 ]; then
	step "installing packages"
	apt-get update
	env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends "${packages[@]}"
fi

step "starting the container engines"
sh tests/engines.sh start
step "building the test image"
sh tests/make-test-image.sh monkey-test:busybox

# Tests that need Docker, or user namespaces, fail rather than skip from
# here on.
export MONKEY_REQUIRE_DOCKER=1
export MONKEY_DOCKER_IMAGE=monkey-test:busybox
export MONKEY_REQUIRE_ROOTLESS=1

step "autoreconf"
autoreconf -fi

log=$(mktemp)
trap 'rm -f "$log"; give_back' EXIT
trap 'exit 130' INT TERM
summary() {
	local pass fail skip
	pass=$(grep -cE '^PASS: ' "$log" || true)
	fail=$(grep -cE '^(FAIL|ERROR|XPASS): |^not ok ' "$log" || true)
	skip=$(grep -cE '^SKIP: ' "$log" || true)
	printf '%s passed, %s failed, %s skipped\n' "$pass" "$fail" "$skip"
	# A skip is never a pass: name each one.
	grep -E '^SKIP: ' "$log" || true
}

# The build is installed into its prefix before "make check", as a user
# who ran "make install" first has it: the tests must never see the
# installed backends (MONKEY_BACKEND_PATH_ONLY=1), or a backend this build
# lacks would be found there.
build_and_check() { # dir, configure args...
	local dir=$1
	shift
	rm -rf "$dir"
	mkdir -p "$dir"
	# pipefail: the pipeline fails when the build or a test does.
	# VERBOSE=1: the logs of failed tests are printed.
	(cd "$dir" && "$top/configure" "$@" && make -j2 &&
		make install >/dev/null && make check VERBOSE=1) 2>&1 |
		tee -a "$log"
}

status=0
step "build, install into the build's prefix, and test (-Werror)"
# A prefix inside the clone: nothing a previous install on this machine
# left behind, and nothing outside the clone written.
build_and_check "$top/build" --prefix="$top/build/_prefix" CFLAGS='-g -O2 -Wall -Wextra -Werror -Wno-format-truncation' || status=1

if [ "$status" = 0 ]; then
	# Every backend's claims attacked; the reports land in the CI log.
	step "monkey sandbox verify: spawn, none, rootless, docker, podman, the lying test backend"
	sh tests/verify-backends.sh "$top/build" 2>&1 | tee -a "$log" || status=1
fi

if [ "$status" = 0 ]; then
	step "build and test under AddressSanitizer and UndefinedBehaviorSanitizer"
	san='-fsanitize=address,undefined -fno-sanitize-recover=all'
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		build_and_check "$top/build-asan" --prefix="$top/build-asan/_prefix" \
		CFLAGS="-g -O1 -fno-omit-frame-pointer $san" \
		LDFLAGS="$san" || status=1
fi

# The rootless backend as an ordinary user: cgroups are root's alone here
# (v1), so the tests check that the descriptor and the warnings say so, and
# that RLIMIT_NPROC bounds the processes instead.  The user builds its own
# tree (ASan + UBSan) from the distribution tarball in a directory it owns:
# a checkout under /root is not one it may enter.
rootless_tests="tests/rootless/test_rootless tests/rootless/test_rootless_limits tests/rootless/test_rootless_tree tests/rootless/test_rootless_probe tests/rootless/test_rootless_session tests/rootless/test_rootless_in_session.sh tests/rootless/test_rootless_cli.sh"
check_as_user() {
	local user=monkeyci dir tarball
	id "$user" >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /bin/sh "$user" || return 1
	(cd "$top/build" && make dist) >/dev/null || return 1
	tarball=$(ls "$top"/build/monkey-*.tar.gz | head -n 1)
	dir=$(mktemp -d /var/tmp/monkey-user.XXXXXX) || return 1
	cp "$tarball" "$dir/" && chown -R "$user": "$dir" || return 1
	runuser -u "$user" -- env HOME="$dir" TMPDIR="$dir" \
		MONKEY_REQUIRE_ROOTLESS=1 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		sh -ec 'cd "$1" && tar xzf ./monkey-*.tar.gz && cd monkey-*/ &&
			san="-fsanitize=address,undefined -fno-sanitize-recover=all" &&
			./configure --prefix="$1/prefix" --enable-backend-rootless=yes \
				CFLAGS="-g -O1 -fno-omit-frame-pointer $san" \
				LDFLAGS="$san" >/dev/null &&
			make -j2 >/dev/null &&
			make check VERBOSE=1 TESTS="$2" &&
			echo "=== monkey sandbox verify rootless, as $(id -un)" &&
			MONKEY_BACKEND_PATH=$PWD/plugins/rootless/.libs \
				./monkey sandbox verify rootless' \
			sh "$dir" "$rootless_tests" \
		2>&1 | tee -a "$log"
	local rc=${PIPESTATUS[0]}
	rm -rf "$dir"
	return "$rc"
}

if [ "$status" = 0 ]; then
	step "the rootless backend's tests as an unprivileged user (ASan + UBSan)"
	check_as_user || status=1
fi

if [ "$status" = 0 ]; then
	# libFuzzer exits non-zero on a crash, a leak or a sanitizer report,
	# and the reproducer is left in the build tree.
	step "fuzz targets, ${MONKEY_FUZZ_SECONDS:-60} s each"
	fuzzlog=$top/build/fuzz.log
	if (cd "$top/build" && make fuzz FUZZ_SECONDS="${MONKEY_FUZZ_SECONDS:-60}") >"$fuzzlog" 2>&1; then
		grep -E '^Done [0-9]+ runs' "$fuzzlog" || true
	else
		tail -n 60 "$fuzzlog"
		echo "FAIL: a fuzz target crashed (the input is in $top/build)" | tee -a "$log"
		status=1
	fi
fi

if [ "$status" = 0 ]; then
	step "configure matrix: each backend disabled, and configure without libcurl"
	sh tests/configure-matrix.sh "$top/build-matrix" \
		CFLAGS='-g -O2 -Wall -Wextra -Werror -Wno-format-truncation' 2>&1 |
		tee -a "$log" || status=1
fi

if [ "$status" = 0 ]; then
	step "make distcheck"
	# The tarball must build and pass its tests; the suites that run
	# containers end to end ran twice above.
	light=$(make --no-print-directory -s -C "$top/build" print-light-tests)
	(cd "$top/build" && make distcheck TESTS="$light") 2>&1 | tee -a "$log" || status=1
fi

if [ "$status" = 0 ]; then
	# The packages a distribution would ship, from the tarball, with the
	# distribution's tools; make check ran above, so not again inside.
	step "Debian packages: build from the tarball, lintian, install, remove, purge"
	start=$(date +%s)
	(cd "$top/build" && rm -f monkey-*.tar.gz && make dist >/dev/null) &&
		DEB_BUILD_OPTIONS=nocheck sh packaging/build-deb.sh \
			"$(ls "$top"/build/monkey-*.tar.gz)" "$top/build-deb" 2>&1 |
		tee -a "$log" || status=1
	if [ "$status" = 0 ]; then
		sh packaging/check-deb.sh "$top/build-deb" 2>&1 |
			tee -a "$log" || status=1
	fi
	echo "Debian packages: $(($(date +%s) - start)) s"
fi

step "summary"
if [ "$status" = 0 ]; then
	echo "monkey: all builds and tests passed"
else
	echo "monkey: FAILED (see the output above)"
fi
summary
exit "$status"
