#!/bin/sh
# monkey as a third party and a packager see it: "make install DESTDIR=" of
# this build tree, the staged layout (one file per backend, nothing of the
# host depending on any backend), the example backend and a libmonkey
# program built against the staged headers, .pc files and library alone,
# then run through the staged monkey.  Run by "make check" (tests/sdk.mk).
set -u

# make check runs tests in the build directory and exports srcdir and
# MONKEY_BUILDDIR; by hand, run it from the build directory.
builddir=$(cd "${MONKEY_BUILDDIR:-.}" && pwd) || exit 99
srcdir=$(cd "${MONKEY_SRCDIR:-${srcdir:-.}}" && pwd) || exit 99
[ -d "$srcdir/examples/backend-unshare" ] || {
	echo "# $srcdir is not monkey's source tree: set MONKEY_SRCDIR" >&2
	exit 99
}
MAKE=${MAKE:-make}

failures=0
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	failures=$((failures + 1))
}
# check NAME COMMAND...: one behaviour, reported by name.
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
contains() { # FILE TEXT
	grep -qF -- "$2" "$1" || {
		echo "# $1 lacks: $2"
		sed 's/^/#   /' "$1" | head -20
		return 1
	}
}
lacks() { # FILE TEXT
	if grep -qF -- "$2" "$1"; then
		echo "# $1 should not contain: $2"
		sed 's/^/#   /' "$1" | head -20
		return 1
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/monkey-sdk.XXXXXX") || exit 99
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	[ -n "$server_pid" ] && wait "$server_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The build's settings: SDK_CC, SDK_CFLAGS, SDK_LIBDIR, SDK_BACKENDS, ...
# (A Makefile being regenerated first prints to stdout too: keep only ours.)
cfg=$("$MAKE" --no-print-directory -s -C "$builddir" sdk-print-config |
	grep "^SDK_[A-Z]*='") || {
	echo "# cannot ask $builddir for its settings"
	exit 1
}
eval "$cfg"
backends=
for la in $SDK_BACKENDS; do
	b=${la##*/}
	backends="$backends ${b%.la}"
done
echo "# backends of this build:$backends"

# --- 1. A staged install -------------------------------------------------
stage=$tmp/stage
if "$MAKE" -C "$builddir" install DESTDIR="$stage" >"$tmp/install.log" 2>&1; then
	ok "make install DESTDIR= of the build tree succeeds"
else
	not_ok "make install DESTDIR= of the build tree succeeds"
	tail -30 "$tmp/install.log" | sed 's/^/#   /'
	exit 1
fi
S() { printf '%s%s' "$stage" "$1"; }
bdir=$(S "$SDK_BACKENDDIR")
monkey_bin=$(S "$SDK_BINDIR")/monkey

for f in "$SDK_BINDIR/monkey" "$SDK_LIBDIR/libmonkey.so" \
	"$SDK_INCLUDEDIR/backend.h" "$SDK_INCLUDEDIR/error.h" \
	"$SDK_INCLUDEDIR/exec.h" "$SDK_INCLUDEDIR/sandbox.h" \
	"$SDK_INCLUDEDIR/agent.h" "$SDK_INCLUDEDIR/verify.h" \
	"$SDK_INCLUDEDIR/replay.h" \
	"$SDK_PKGLIBEXECDIR/monkey-probe" \
	"$SDK_PKGCONFIGDIR/monkey.pc" "$SDK_PKGCONFIGDIR/monkey-backend.pc" \
	"$SDK_MANDIR/man1/monkey.1" "$SDK_MANDIR/man7/monkey-backend.7" \
	"$SDK_DOCDIR/examples/backend-unshare/unshare.c" \
	"$SDK_DOCDIR/examples/backend-unshare/Makefile" \
	"$SDK_DOCDIR/examples/libmonkey-demo/demo.c" \
	"$SDK_DOCDIR/examples/libmonkey-demo/Makefile"; do
	check "installs $f" test -f "$(S "$f")"
done

# --- 2. The backend directory a packager splits --------------------------
expected=
for b in $backends; do expected="$expected $b.so"; done
expected=$(echo $expected | tr ' ' '\n' | sort | tr '\n' ' ')
actual=$(ls -A "$bdir" 2>/dev/null | sort | tr '\n' ' ')
check "the backend directory holds exactly one .so per backend ($expected)" \
	test "$actual" = "$expected"
[ "$actual" = "$expected" ] || echo "# found: $actual"
for b in $backends; do
	f=$bdir/$b.so
	check "$b.so is a regular file, not a link" \
		sh -c "test -f '$f' && test ! -L '$f'"
	check "$b.so is not writable by group or others" \
		sh -c "test -z \"\$(find '$f' -perm /022)\""
	nm -D --defined-only "$f" 2>/dev/null | awk '{print $NF}' |
		grep -v '^_' >"$tmp/syms"
	check "$b.so exports only monkey_backend_entry" \
		test "$(cat "$tmp/syms")" = monkey_backend_entry
done
for f in "$monkey_bin" "$(S "$SDK_LIBDIR")/libmonkey.so"; do
	readelf -d "$f" | grep NEEDED >"$tmp/needed"
	for b in $backends; do
		check "${f##*/} does not link $b.so" lacks "$tmp/needed" "$b.so"
	done
done

# The staged monkey runs with the staged library and backends only: the
# built-in directory is not staged, and MONKEY_BACKEND_PATH_ONLY=1 keeps
# what a "make install" put there out of sight (CI installs this build
# into its prefix before "make check" to prove it).
run_monkey() { # OUT ERR ARGS...
	o=$1 e=$2
	shift 2
	env -u MONKEY_SANDBOX -u MONKEY_DOCKER_IMAGE \
		LD_LIBRARY_PATH="$(S "$SDK_LIBDIR")" MONKEY_BACKEND_PATH="$bdir" \
		MONKEY_BACKEND_PATH_ONLY=1 "$monkey_bin" "$@" >"$o" 2>"$e"
}
installed=$(ls "$SDK_BACKENDDIR" 2>/dev/null | tr '\n' ' ')
[ -z "$installed" ] ||
	echo "# the built-in directory $SDK_BACKENDDIR holds $installed(never seen here)"
LD_LIBRARY_PATH=$(S "$SDK_LIBDIR") ldd "$monkey_bin" >"$tmp/ldd" 2>&1
check "the staged monkey loads the staged libmonkey" \
	contains "$tmp/ldd" "$(S "$SDK_LIBDIR")/libmonkey.so"

run_monkey "$tmp/out" "$tmp/err" sandbox list
check "staged monkey sandbox list succeeds" test $? = 0
for b in $backends; do
	check "sandbox list lists $b" contains "$tmp/out" "$bdir/$b.so"
done

# --- 3. Each backend is optional -----------------------------------------
# A backend this build has (moved aside for the checks) or one configure
# left out: either way monkey says it is not installed and where it looked.
mkdir "$tmp/aside"
built() { case " $backends " in *" $1 "*) true ;; *) false ;; esac; }
first_other() { # BACKEND: another backend that runs commands without Docker
	for x in spawn none; do
		built "$x" && [ "$x" != "$1" ] && echo "$x" && return
	done
}
for b in docker spawn none; do
	built "$b" && mv "$bdir/$b.so" "$tmp/aside/"
	run_monkey "$tmp/out" "$tmp/err" sandbox list
	check "without $b.so: sandbox list succeeds" test $? = 0
	check "without $b.so: sandbox list does not list it" \
		lacks "$tmp/out" "/$b.so"
	run_monkey "$tmp/out" "$tmp/err" exec --sandbox "$b" --no-fallback -- true
	check "without $b.so: --no-fallback --sandbox $b exits 125" test $? = 125
	check "without $b.so: the error says it is not installed" \
		contains "$tmp/err" "backend '$b' is not installed"
	check "without $b.so: the error names where monkey looked" \
		contains "$tmp/err" "$bdir"
	if [ "$b" != spawn ] && built spawn; then
		run_monkey "$tmp/out" "$tmp/err" exec --sandbox "$b" -- echo fell back
		check "without $b.so: --sandbox $b falls back to spawn and runs" \
			test $? = 0
		check "without $b.so: the command ran" contains "$tmp/out" "fell back"
		check "without $b.so: the warning says it falls back" \
			contains "$tmp/err" "falling back to spawn mode"
		check "without $b.so: the warning says it is not installed" \
			contains "$tmp/err" "backend '$b' is not installed"
	fi
	if [ "$b" = docker ] && [ "$SDK_BACKENDPKG" = "monkey-backend-%s" ]; then
		check "without docker.so: the message names the package to install" \
			contains "$tmp/err" "install it with: $SDK_PKGINSTALL monkey-backend-docker"
	fi
	other=$(first_other "$b")
	if [ -n "$other" ]; then
		run_monkey "$tmp/out" "$tmp/err" exec --sandbox "$other" \
			--no-fallback -- echo still here
		check "without $b.so: the $other backend still runs commands" \
			contains "$tmp/out" "still here"
	fi
	built "$b" && mv "$tmp/aside/$b.so" "$bdir/"
done

# --- 4. A third-party backend built against the stage --------------------
PKG_CONFIG_PATH=$(S "$SDK_PKGCONFIGDIR")
PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
check "pkg-config --cflags monkey-backend points into the stage" \
	test "$(pkg-config --cflags monkey-backend | tr -d ' ')" = "-I$(S "$SDK_PREFIX")/include"
check "monkey-backend.pc carries backenddir" \
	sh -c "pkg-config --variable=backenddir monkey-backend | grep -q 'monkey/backends\$'"

ex=$tmp/backend-unshare
cp -R "$srcdir/examples/backend-unshare" "$ex" && chmod -R u+w "$ex"
if "$MAKE" -C "$ex" CC="$SDK_CC" CFLAGS="$SDK_CFLAGS" LDFLAGS="$SDK_LDFLAGS" \
	>"$tmp/ex.log" 2>&1; then
	ok "the unshare example builds against the staged SDK with its Makefile"
else
	not_ok "the unshare example builds against the staged SDK with its Makefile"
	sed 's/^/#   /' "$tmp/ex.log"
fi
check "the example used the staged header" contains "$tmp/ex.log" "-I$stage"
nm -D --defined-only "$ex/unshare.so" | awk '{print $NF}' | grep -v '^_' >"$tmp/syms"
check "unshare.so exports only monkey_backend_entry" \
	test "$(cat "$tmp/syms")" = monkey_backend_entry
# A packager's install: DESTDIR, with backenddir as monkey-backend.pc says.
env -u PKG_CONFIG_SYSROOT_DIR "$MAKE" -C "$ex" install DESTDIR="$stage" \
	>"$tmp/exinst.log" 2>&1
check "make install DESTDIR= puts unshare.so in the backend directory" \
	test -f "$bdir/unshare.so"

run_monkey "$tmp/out" "$tmp/err" sandbox list
check "sandbox list lists the third-party backend" \
	contains "$tmp/out" "$bdir/unshare.so"
grep "^unshare " "$tmp/out" >"$tmp/row"
check "sandbox list says unshare is available (ABI 1.x)" \
	sh -c "grep -Eq '^unshare +1\\.[0-9]+ +low +yes ' '$tmp/row'"
run_monkey "$tmp/out" "$tmp/err" sandbox info unshare
check "sandbox info unshare shows its description" \
	contains "$tmp/out" "new user, network and PID namespaces"

ux() { run_monkey "$tmp/out" "$tmp/err" exec --sandbox unshare --no-fallback "$@"; }
ux -- sh -c 'echo out; echo err >&2; exit 3'
check "exec --sandbox unshare returns the command's status" test $? = 3
check "exec --sandbox unshare passes stdout" contains "$tmp/out" out
check "exec --sandbox unshare passes stderr" contains "$tmp/err" err
ux --json -- readlink /proc/self/ns/net
check "the unshare JSON result names the backend, without fallback" \
	contains "$tmp/out" '"sandbox":"unshare","requestedSandbox":"unshare","fellBack":false'
host_ns=$(readlink /proc/self/ns/net)
check "a command under unshare has its own network namespace" \
	lacks "$tmp/out" "$host_ns"
ux --network -- readlink /proc/self/ns/net
check "with --network it keeps the host's network" contains "$tmp/out" "$host_ns"
ux -- no-such-program-monkey
check "a missing program under unshare exits 127" test $? = 127
check "and says command not found" contains "$tmp/err" "command not found"
printf 'from stdin\n' >"$tmp/in"
ux --stdin "$tmp/in" -- cat
check "stdin reaches a command under unshare" contains "$tmp/out" "from stdin"
ux --timeout 300 --kill-grace 100 -- sh -c 'setsid sleep 7171 & sleep 7272'
check "a command under unshare that outlives --timeout exits 124" test $? = 124
sleep 0.2
check "nothing it started survives (setsid grandchild included)" \
	sh -c "! pgrep -f 'sleep 7[12]7[12]' >/dev/null"
ux --memory 64 -- true
check "an unenforced --memory is reported for the unshare backend" \
	contains "$tmp/err" "--memory is not enforced by the unshare backend"

# What monkey-backend(7) tells authors to run before they ship: every
# claim of the example attacked, with the staged probe helper.
MONKEY_PROBE_HELPER=$(S "$SDK_PKGLIBEXECDIR")/monkey-probe
export MONKEY_PROBE_HELPER
run_monkey "$tmp/out" "$tmp/err" sandbox verify unshare
status=$?
unset MONKEY_PROBE_HELPER
sed 's/^/#   /' "$tmp/out" "$tmp/err"
check "monkey sandbox verify unshare: every claim holds (status 0)" \
	test $status = 0
check "the verifier used the staged probe helper" \
	contains "$tmp/out" "probe helper: $(S "$SDK_PKGLIBEXECDIR")/monkey-probe"
check "the verifier found the example's network isolation" \
	sh -c "grep -q '^network-isolation  verified ' '$tmp/out'"

# --- 5. A program using libmonkey, built against the stage ---------------
demo=$tmp/libmonkey-demo
cp -R "$srcdir/examples/libmonkey-demo" "$demo" && chmod -R u+w "$demo"
if "$MAKE" -C "$demo" CC="$SDK_CC" CFLAGS="$SDK_CFLAGS" LDFLAGS="$SDK_LDFLAGS" \
	>"$tmp/demo.log" 2>&1; then
	ok "libmonkey-demo builds against the staged library with pkg-config monkey"
else
	not_ok "libmonkey-demo builds against the staged library with pkg-config monkey"
	sed 's/^/#   /' "$tmp/demo.log"
fi
run_demo() { # OUT ERR ARGS...
	o=$1 e=$2
	shift 2
	env -u MONKEY_SANDBOX LD_LIBRARY_PATH="$(S "$SDK_LIBDIR")" \
		MONKEY_BACKEND_PATH="$bdir" MONKEY_BACKEND_PATH_ONLY=1 \
		"$demo/libmonkey-demo" "$@" >"$o" 2>"$e"
}
LD_LIBRARY_PATH=$(S "$SDK_LIBDIR") ldd "$demo/libmonkey-demo" >"$tmp/ldd" 2>&1
check "libmonkey-demo loads the staged libmonkey" \
	contains "$tmp/ldd" "$(S "$SDK_LIBDIR")/libmonkey.so"
run_demo "$tmp/out" "$tmp/err" exec -s unshare -- sh -c 'echo out; echo err >&2; exit 4'
check "libmonkey-demo exec returns the command's status" test $? = 4
check "libmonkey-demo reads the backend in use" \
	contains "$tmp/out" "sandbox: unshare (requested unshare)"
check "libmonkey-demo reads the exit code" contains "$tmp/out" "exit: 4"
check "libmonkey-demo reads stdout" contains "$tmp/out" "stdout: 4 bytes"
check "libmonkey-demo reads stderr" contains "$tmp/out" "stderr: 4 bytes"
case " $backends " in *" spawn "*)
	run_demo "$tmp/out" "$tmp/err" exec -- echo default
	check "libmonkey-demo uses spawn by default" \
		contains "$tmp/out" "sandbox: spawn (requested spawn)"
	;;
esac

# The agent runner through libmonkey, against the local test server.
ws=$tmp/ws
mkdir "$ws"
key=sk-test-sdk-0123456789
cat >"$tmp/script.json" <<EOF
{"provider": "anthropic", "api_key": "$key", "steps": [
 {"reply": {"text": "I will write the file.",
   "tool_calls": [{"id": "toolu_1", "name": "write_file",
     "input": {"path": "hello.txt", "content": "hello from the agent\\n"}}]}},
 {"expect": {"tool_results": [{"is_error": false}]},
  "reply": {"tool_calls": [{"id": "toolu_2", "name": "shell_execute",
     "input": {"command": ["sh", "-c", "cat hello.txt; readlink /proc/self/ns/net"]}}]}},
 {"expect": {"tool_results": [{"contains": "hello from the agent",
     "not_contains": "$host_ns", "is_error": false}]},
  "reply": {"text": "Done: hello.txt says hello."}}
]}
EOF
python3 "$srcdir/tests/agent/llm_server.py" --script "$tmp/script.json" \
	--port-file "$tmp/port" --log "$tmp/server.log" &
server_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
port=$(cat "$tmp/port" 2>/dev/null)
check "the local LLM test server started" test -n "$port"
ANTHROPIC_API_KEY=$key run_demo "$tmp/out" "$tmp/err" agent -s unshare \
	-w "$ws" -p anthropic -u "http://127.0.0.1:$port" \
	-m claude-sonnet-4-5 "write hello.txt and show it"
status=$?
check "libmonkey-demo agent ends with an answer (status 0)" test $status = 0
[ $status = 0 ] || sed 's/^/#   /' "$tmp/out" "$tmp/err"
check "the agent's file tool wrote into the workspace" \
	sh -c "test \"\$(cat '$ws/hello.txt')\" = 'hello from the agent'"
check "the agent reports its end and counts" \
	contains "$tmp/out" "end: answer after 3 iterations and 2 tool calls"
check "the model's text streamed through the callback" \
	contains "$tmp/out" "Done: hello.txt says hello."
check "the agent ran its command in the unshare sandbox" \
	contains "$tmp/out" "sandbox: unshare"
check "the server saw three valid requests" \
	sh -c "test \$(grep -c '\"violations\": \[\]' '$tmp/server.log') = 3"

echo "# $failures failed"
[ "$failures" = 0 ]
