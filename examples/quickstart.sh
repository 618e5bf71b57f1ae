#!/usr/bin/env bash
# Quickstart for a fresh Debian 12 machine: installs what monkey needs,
# builds and installs it, starts a local Docker engine with an offline
# image, then runs monkey's main job - an agent task whose every shell
# command runs in a hardened container - plus a look at the backends.
#
#   bash examples/quickstart.sh     (as root, or as a user who may sudo)
#
# With ANTHROPIC_API_KEY (or OPENAI_API_KEY) set, the agent talks to the
# real provider.  Without one (this machine may have no internet), it talks
# to monkey's local scripted model server on 127.0.0.1, which speaks the
# Anthropic wire format, so the whole loop still runs for real: streaming
# replies, tool calls, the sandbox, the transcript.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
step() { printf '\n=== %s\n' "$*"; }

step "installing packages"
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	--no-install-recommends build-essential autoconf automake libtool \
	libltdl-dev pkg-config libcurl4-openssl-dev libjson-c-dev \
	libcmocka-dev docker.io busybox-static curl python3

step "building and installing monkey"
autoreconf -fi
mkdir -p build-quickstart
(cd build-quickstart && ../configure --prefix=/usr/local && make -j2 &&
	$SUDO make install && $SUDO ldconfig)
monkey=/usr/local/bin/monkey

step "starting Docker and building a local image (no registry here)"
$SUDO sh tests/engines.sh start docker
$SUDO sh tests/make-test-image.sh monkey-test:busybox
export MONKEY_DOCKER_IMAGE=monkey-test:busybox
# The engine's socket belongs to root and the docker group.  Another user
# joins the group, as Docker's own post-install steps have it, and runs the
# docker steps with it (sg: no new login needed).
if [ -w /var/run/docker.sock ]; then
	with_docker() { "$@"; }
else
	echo "adding $(id -un) to the docker group (its members control the" \
		"Docker engine, which is as good as root on this machine)"
	$SUDO usermod -aG docker "$(id -un)"
	with_docker() { sg docker -c "$(printf '%q ' "$@")"; }
fi

step "monkey sandbox list"
with_docker "$monkey" sandbox list

step "one command through each backend"
"$monkey" exec --json -- echo "hello from spawn"
with_docker "$monkey" exec --docker -- sh -c \
	'echo "inside the container:"; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; ls /sys/class/net'

ws=$(mktemp -d)
# Transcripts go to ~/.local/state/monkey/sessions/ by default; this one is
# named so the replay below can find it (never inside the workspace, which
# sandboxed commands can write).
transcript=$(mktemp -u "${TMPDIR:-/tmp}/monkey-quickstart.XXXXXX").jsonl
step "monkey agent in workspace $ws (every command in a container)"
if [ -n "${ANTHROPIC_API_KEY:-}" ] || [ -n "${OPENAI_API_KEY:-}" ]; then
	with_docker "$monkey" agent --docker --workspace "$ws" --max-iterations 10 \
		--transcript "$transcript" \
		--task "Write src/hello.sh that prints 'hi from' followed by its first argument, then run it with the argument 'the sandbox'."
else
	echo "(no ANTHROPIC_API_KEY: using the local scripted model server)"
	portfile=$(mktemp)
	rm -f "$portfile"
	python3 tests/agent/llm_server.py --script tests/agent/scripts/multistep.json \
		--port-file "$portfile" --log /dev/null &
	server=$!
	trap 'kill $server 2>/dev/null || true; rm -f "$portfile"' EXIT
	for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.1; done
	ANTHROPIC_API_KEY=sk-test-monkey-0123456789
	ANTHROPIC_BASE_URL="http://127.0.0.1:$(cat "$portfile")"
	export ANTHROPIC_API_KEY ANTHROPIC_BASE_URL
	with_docker "$monkey" agent --docker --workspace "$ws" --max-iterations 10 \
		--transcript "$transcript" \
		--task "Write src/hello.sh that greets its argument and run it."
fi

step "what the agent left in the workspace"
find "$ws" -type f | sort
echo
echo "Transcript: $transcript"
echo "Replay its commands (name the sandbox: replay never takes it from the file):"
echo "  $monkey replay --docker --workspace $ws $transcript"
