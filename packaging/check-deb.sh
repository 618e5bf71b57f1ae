#!/bin/sh
# Installs monkey's Debian packages on this machine and checks what a user
# of them sees: monkey alone (spawn and none, the packaged backend
# directory, --docker falling back with the package to install), the docker
# backend added and removed with apt alone, the rootless backend, the
# examples built against the installed libmonkey-dev, and a purge that
# leaves no file behind.  Run as root by tests/ci.sh after
# packaging/build-deb.sh; it changes the system, so it refuses to run where
# any of the packages is already installed, and purges them on any exit.
#
#   packaging/check-deb.sh DEBDIR
#
# Prints PASS:/FAIL: lines and "N passed, N failed"; exits 1 on a failure.
# With MONKEY_REQUIRE_DOCKER=1 a command must run in a container
# (MONKEY_DOCKER_IMAGE, default monkey-test:busybox); with
# MONKEY_REQUIRE_ROOTLESS=1 one must run under the rootless backend.
set -u

debdir=$(cd "${1:?usage: $0 DEBDIR}" && pwd) || exit 2
[ "$(id -u)" = 0 ] || {
	echo "$0: installs packages: run it as root" >&2
	exit 2
}
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
bdir=/usr/lib/$ma/monkey/backends
image=${MONKEY_DOCKER_IMAGE:-monkey-test:busybox}
all="monkey libmonkey0 libmonkey-dev monkey-backend-docker monkey-backend-rootless"

deb() { # PACKAGE: its .deb in DEBDIR
	set -- "$debdir/$1"_*_*.deb
	[ -f "$1" ] && echo "$1"
}
for p in monkey libmonkey0 libmonkey-dev monkey-backend-docker; do
	deb "$p" >/dev/null || {
		echo "$0: no $p .deb in $debdir: run packaging/build-deb.sh" >&2
		exit 2
	}
done
installed() { # PACKAGE: installed, or removed with its configuration kept
	dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^[ic]'
}
for p in $all; do
	installed "$p" && {
		echo "$0: $p is already installed; purge it first" >&2
		exit 2
	}
done

passed=0 failed=0 skipped=0
pass() {
	echo "PASS: packaging: $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL: packaging: $*"
	failed=$((failed + 1))
}
check() { # NAME COMMAND...: one behaviour, by name
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
has() { # FILE TEXT
	grep -qF -- "$2" "$1" || {
		echo "# $1 lacks: $2"
		sed 's/^/#   /' "$1" | head -20
		return 1
	}
}
lacks() { # FILE TEXT
	! grep -qF -- "$2" "$1" || {
		echo "# $1 should not contain: $2"
		sed 's/^/#   /' "$1" | head -20
		return 1
	}
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/monkey-deb.XXXXXX") || exit 2
cleanup() {
	# Whatever happened, the machine is left as it was.
	rm -f "$bdir/unshare.so"
	pkgs=
	for p in $all; do installed "$p" && pkgs="$pkgs $p"; done
	[ -z "$pkgs" ] || DEBIAN_FRONTEND=noninteractive \
		apt-get purge -y -q $pkgs >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

apt_do() { # VERB ARGS...: apt-get as a user runs it, logged
	DEBIAN_FRONTEND=noninteractive apt-get "$@" -y -q \
		--no-install-recommends >"$tmp/apt.log" 2>&1 || {
		sed 's/^/#   /' "$tmp/apt.log"
		return 1
	}
}
state() { # the installed monkey packages and their versions
	dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' \
		$all 2>/dev/null | awk '$3 ~ /^ii/ { print $1, $2 }'
}
run() { # OUT ERR ARGS...: the installed monkey, as a user runs it
	o=$1 e=$2
	shift 2
	(cd "$tmp" && env -u MONKEY_BACKEND_PATH -u MONKEY_BACKEND_PATH_ONLY \
		-u MONKEY_SANDBOX -u MONKEY_DOCKER_IMAGE monkey "$@") >"$o" 2>"$e"
}

# --- 1. monkey alone ------------------------------------------------------
check "apt installs monkey (and libmonkey0) from the .deb files" \
	apt_do install "$(deb monkey)" "$(deb libmonkey0)"
check "only monkey and libmonkey0 are installed" \
	test "$(state | cut -d' ' -f1 | tr '\n' ' ')" = "libmonkey0 monkey "
check "the monkey on PATH is the packaged one" \
	test "$(command -v monkey)" = /usr/bin/monkey
run "$tmp/out" "$tmp/err" --version
check "monkey --version succeeds" test $? = 0
check "monkey --version prints the version" \
	has "$tmp/out" "monkey $(dpkg-query -W -f '${Version}' monkey | sed 's/-[^-]*$//') "
check "monkey --version prints the packaged backend directory" \
	has "$tmp/out" "backend directory: $bdir"
check "monkey --version prints the backends built with it" \
	has "$tmp/out" "backends built with it: spawn none docker"
run "$tmp/out" "$tmp/err" sandbox list
check "monkey sandbox list succeeds" test $? = 0
check "sandbox list shows spawn from the packaged directory" \
	has "$tmp/out" "$bdir/spawn.so"
check "sandbox list shows none from the packaged directory" \
	has "$tmp/out" "$bdir/none.so"
check "sandbox list shows no docker" lacks "$tmp/out" docker
check "sandbox list shows no rootless" lacks "$tmp/out" rootless
run "$tmp/out" "$tmp/err" exec -- echo hello from spawn
check "monkey exec runs a command under spawn" has "$tmp/out" "hello from spawn"
run "$tmp/out" "$tmp/err" exec --docker -- echo fell back
check "--docker without the docker package falls back and runs" test $? = 0
check "the command ran under spawn" has "$tmp/out" "fell back"
check "the warning says Docker is not available" \
	has "$tmp/err" "Docker not available, falling back to spawn mode"
check "the warning says the docker backend is not installed" \
	has "$tmp/err" "backend 'docker' is not installed (looked in $bdir)"
check "the warning names the package to install" \
	has "$tmp/err" "install it with: apt install monkey-backend-docker"
run "$tmp/out" "$tmp/err" exec --sandbox rootless --no-fallback -- true
check "--sandbox rootless --no-fallback without its package exits 125" \
	test $? = 125
check "the error names the rootless package" \
	has "$tmp/err" "install it with: apt install monkey-backend-rootless"
run "$tmp/out" "$tmp/err" sandbox verify none
check "monkey sandbox verify none uses the packaged probe helper" \
	has "$tmp/out" "probe helper: /usr/libexec/monkey/monkey-probe"
check "the manual monkey(1) is installed" \
	test -f /usr/share/man/man1/monkey.1.gz
gzip -dc /usr/share/man/man1/monkey.1.gz >"$tmp/monkey.1"
check "monkey(1) names the packaged backend directory" has "$tmp/monkey.1" "$bdir"

# --- 2. the docker backend, added and removed ----------------------------
state >"$tmp/before"
check "apt installs monkey-backend-docker" \
	apt_do install "$(deb monkey-backend-docker)"
state >"$tmp/after"
check "installing it adds that package and changes no other" \
	test "$(diff "$tmp/before" "$tmp/after" | grep '^[<>]')" = \
	"> monkey-backend-docker $(dpkg-query -W -f '${Version}' monkey-backend-docker)"
check "no file of monkey or libmonkey0 changed" \
	test -z "$(dpkg --verify monkey libmonkey0)"
run "$tmp/out" "$tmp/err" sandbox list
check "sandbox list shows docker from the packaged directory" \
	has "$tmp/out" "$bdir/docker.so"
check "the launcher is installed" test -s /usr/libexec/monkey/monkey-launch
run "$tmp/out" "$tmp/err" exec --docker --no-fallback --image "$image" --json \
	-- sh -c 'echo in a container; cat /proc/1/cmdline | tr "\0" " "'
status=$?
if [ $status = 0 ]; then
	check "--docker runs the command in a container" \
		has "$tmp/out" '"sandbox":"docker","requestedSandbox":"docker","fellBack":false'
	check "the container's output came back" has "$tmp/out" "in a container"
elif [ "${MONKEY_REQUIRE_DOCKER:-0}" = 1 ]; then
	fail "--docker runs the command in a container (status $status)"
	sed 's/^/#   /' "$tmp/out" "$tmp/err"
else
	echo "SKIP: packaging: no Docker engine with image $image here"
	skipped=$((skipped + 1))
fi
check "apt removes monkey-backend-docker" apt_do remove monkey-backend-docker
check "removing it leaves monkey and libmonkey0 as they were" \
	test "$(state)" = "$(cat "$tmp/before")"
check "docker.so is gone" test ! -e "$bdir/docker.so"
check "the launcher is gone" test ! -e /usr/libexec/monkey/monkey-launch
run "$tmp/out" "$tmp/err" exec --docker -- echo fell back again
check "--docker falls back again once it is removed" \
	has "$tmp/err" "install it with: apt install monkey-backend-docker"

# --- 3. the rootless backend ---------------------------------------------
if deb monkey-backend-rootless >/dev/null; then
	check "apt installs monkey-backend-rootless" \
		apt_do install "$(deb monkey-backend-rootless)"
	run "$tmp/out" "$tmp/err" sandbox list
	check "sandbox list shows rootless from the packaged directory" \
		has "$tmp/out" "$bdir/rootless.so"
	ws=$tmp/ws
	mkdir "$ws"
	run "$tmp/out" "$tmp/err" exec --sandbox rootless --no-fallback \
		--workspace "$ws" -- sh -c 'echo under rootless'
	status=$?
	if [ $status = 0 ]; then
		check "a command runs under the rootless backend" \
			has "$tmp/out" "under rootless"
	elif [ "${MONKEY_REQUIRE_ROOTLESS:-0}" = 1 ]; then
		fail "a command runs under the rootless backend (status $status)"
		sed 's/^/#   /' "$tmp/out" "$tmp/err"
	else
		echo "SKIP: packaging: no user namespaces for the rootless backend here"
		skipped=$((skipped + 1))
	fi
else
	echo "# no monkey-backend-rootless .deb (built with pkg.monkey.norootless)"
fi

# --- 4. third-party code against libmonkey-dev ---------------------------
check "apt installs libmonkey-dev" apt_do install "$(deb libmonkey-dev)"
examples=/usr/share/doc/libmonkey-dev/examples
cp -R "$examples/backend-unshare" "$examples/libmonkey-demo" "$tmp/"
check "pkg-config names the packaged backend directory" \
	test "$(pkg-config --variable=backenddir monkey-backend)" = "$bdir"
ex=$tmp/backend-unshare
(cd "$ex" && env -u PKG_CONFIG_PATH -u PKG_CONFIG_SYSROOT_DIR make) \
	>"$tmp/ex.log" 2>&1
check "the unshare example builds against the installed libmonkey-dev" test $? = 0
check "and only the installed headers (no source tree on its command line)" \
	lacks "$tmp/ex.log" "-I/"
(cd "$ex" && make install) >"$tmp/exinst.log" 2>&1
check "its make install puts unshare.so in the packaged directory" \
	test -f "$bdir/unshare.so"
run "$tmp/out" "$tmp/err" sandbox list
check "sandbox list shows unshare from the packaged directory" \
	has "$tmp/out" "$bdir/unshare.so"
run "$tmp/out" "$tmp/err" exec --sandbox unshare --no-fallback -- \
	sh -c 'echo from unshare; readlink /proc/self/ns/net'
check "a command runs under the unshare example" has "$tmp/out" "from unshare"
check "in its own network namespace" lacks "$tmp/out" "$(readlink /proc/self/ns/net)"
(cd "$ex" && make uninstall) >/dev/null 2>&1
check "its make uninstall removes it" test ! -e "$bdir/unshare.so"
demo=$tmp/libmonkey-demo
(cd "$demo" && env -u PKG_CONFIG_PATH make) >"$tmp/demo.log" 2>&1
check "libmonkey-demo builds against the installed libmonkey-dev" test $? = 0
(cd "$tmp" && env -u MONKEY_BACKEND_PATH -u MONKEY_BACKEND_PATH_ONLY \
	-u MONKEY_SANDBOX "$demo/libmonkey-demo" exec -- echo hi) >"$tmp/out" 2>&1
check "libmonkey-demo runs a command with the packaged spawn backend" \
	has "$tmp/out" "sandbox: spawn (requested spawn)"
lib=$(ldd "$demo/libmonkey-demo" | awk '$1 == "libmonkey.so.0" { print $3 }')
check "libmonkey-demo loads libmonkey.so.0 from libmonkey0 ($lib)" \
	sh -c "dpkg -S '$(readlink -f "$lib")' | grep -q '^libmonkey0:'"

# --- 5. purge: nothing remains -------------------------------------------
check "apt installs monkey-backend-docker again" \
	apt_do install "$(deb monkey-backend-docker)"
: >"$tmp/files"
for p in $all; do
	installed "$p" && dpkg -L "$p" >>"$tmp/files"
done
check "dpkg -L lists the installed files" test -s "$tmp/files"
check "apt purges every monkey package" apt_do purge $all
check "dpkg knows none of them any more" test -z "$(state)"
: >"$tmp/left"
while read -r f; do
	[ "$f" = /. ] && continue
	[ -e "$f" ] || [ -L "$f" ] || continue
	# A directory other packages share (/usr/lib/<multiarch>, ...) stays.
	[ -d "$f" ] && [ ! -L "$f" ] && dpkg -S "$f" >/dev/null 2>&1 && continue
	echo "$f" >>"$tmp/left"
done <"$tmp/files"
find /usr/lib/"$ma"/monkey /usr/libexec/monkey /usr/include/monkey \
	/usr/share/doc/monkey /usr/share/doc/libmonkey0 \
	/usr/share/doc/libmonkey-dev /usr/share/doc/monkey-backend-docker \
	/usr/share/doc/monkey-backend-rootless /etc/monkey /var/lib/monkey \
	/usr/bin/monkey /usr/lib/"$ma"/libmonkey.so* \
	/usr/lib/"$ma"/pkgconfig/monkey.pc \
	/usr/lib/"$ma"/pkgconfig/monkey-backend.pc \
	/usr/share/man/man1/monkey.1.gz /usr/share/man/man7/monkey-backend.7.gz \
	>>"$tmp/left" 2>/dev/null
sort -u "$tmp/left" -o "$tmp/left"
check "nothing of the packages remains after the purge ($(wc -l <"$tmp/files") paths checked)" \
	test ! -s "$tmp/left"
sed 's/^/#   left: /' "$tmp/left"

echo "packaging: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
