#!/bin/sh
# The whole `monkey agent --docker` process running 20 commands back to
# back against a local scripted model (tests/agent/llm_server.py), in one
# session and with --fresh-sandbox, beside 20 `docker run --rm` with the
# same hardening.  Prints figures (medians of ROUNDS runs); asserts
# nothing.  Run by `make bench`; MONKEY_BUILDDIR and MONKEY_SRCDIR name
# the trees.
set -u
bd=${MONKEY_BUILDDIR:-.}
sd=${MONKEY_SRCDIR:-..}
image=${MONKEY_DOCKER_IMAGE:-monkey-test:busybox}
rounds=${ROUNDS:-3}
n=20
tmp=$(mktemp -d /tmp/monkey-bench-agent-XXXXXX)
server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi; rm -rf "$tmp"' EXIT
chmod 1777 "$tmp"
mkdir "$tmp/ws"
chmod 1777 "$tmp/ws"

# 20 replies of one shell_execute each, then the answer, each sent whole
# (the server's default cuts replies into pieces with pauses between, to
# test the SSE parser: that would be the model's time, not the sandbox's).
{
	printf '{"repeat_last": false, "steps": ['
	i=1
	while [ $i -le $n ]; do
		printf '{"chunking": "whole", "reply": {"tool_calls": [{"id": "c%d", "name": "shell_execute", "input": {"command": ["true"]}}]}},' $i
		i=$((i + 1))
	done
	printf '{"chunking": "whole", "reply": {"text": "done"}}]}\n'
} >"$tmp/script.json"

ms() { echo $(($(date +%s%N) / 1000000)); }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One agent run against a fresh server; prints its wall time in ms.
agent_run() {
	rm -f "$tmp/port"
	python3 "$sd/tests/agent/llm_server.py" --script "$tmp/script.json" \
		--port-file "$tmp/port" --log "$tmp/log" &
	server=$!
	while [ ! -s "$tmp/port" ]; do sleep 0.02; done
	port=$(cat "$tmp/port")
	t0=$(ms)
	ok=1
	ANTHROPIC_API_KEY=sk-test-monkey-0123456789 \
		ANTHROPIC_BASE_URL="http://127.0.0.1:$port" \
		"$bd/monkey" agent --docker --no-fallback --image "$image" \
		--workspace "$tmp/ws" --no-transcript --quiet \
		--max-iterations $((n + 5)) --task bench "$@" \
		>/dev/null 2>"$tmp/err" || ok=0
	t1=$(ms)
	kill "$server" 2>/dev/null
	wait "$server" 2>/dev/null
	server=
	if [ $ok = 1 ]; then echo $((t1 - t0)); else cat "$tmp/err" >&2; fi
}

docker_runs() {
	t0=$(ms)
	i=0
	while [ $i -lt $n ]; do
		docker run --rm --cap-drop ALL --security-opt no-new-privileges \
			--memory 256m --memory-swap 256m --cpus 0.5 \
			--pids-limit 50 --network none \
			--ulimit nofile=1024:4096 --ulimit nproc=4096 \
			--user "$(id -u):$(id -g)" --log-driver none \
			-v "$tmp/ws:$tmp/ws" -w "$tmp/ws" --entrypoint '' \
			"$image" true || return 1
		i=$((i + 1))
	done
	echo $(($(ms) - t0))
}

: >"$tmp/session"
: >"$tmp/fresh"
: >"$tmp/cli"
r=0
while [ $r -lt "$rounds" ]; do
	agent_run >>"$tmp/session"
	agent_run --fresh-sandbox >>"$tmp/fresh"
	docker_runs >>"$tmp/cli" || echo -1 >>"$tmp/cli"
	r=$((r + 1))
done
s=$(median <"$tmp/session")
f=$(median <"$tmp/fresh")
c=$(median <"$tmp/cli")
echo
echo "monkey agent --docker, $n commands back to back against a local" \
	"scripted model, median of $rounds runs"
printf '  %-40s %8s ms\n' "in one session (the default)" "$s"
printf '  %-40s %8s ms\n' "--fresh-sandbox" "$f"
printf '  %-40s %8s ms\n' "$n x docker run --rm (same hardening)" "$c"
if [ -n "$s" ] && [ -n "$c" ] && [ "$c" -gt 0 ]; then
	ratio=$(awk -v a="$s" -v b="$c" 'BEGIN {printf "%.3f", a / b}')
	fr=$(awk -v a="$f" -v b="$c" 'BEGIN {printf "%.3f", a / b}')
	met=$(awk -v r="$ratio" 'BEGIN {print (r <= 0.1) ? "met" : "NOT met"}')
	echo "  session: ${ratio}x of docker run, --fresh-sandbox: ${fr}x"
	echo "  target: agent in a session <= 0.1x docker run: $met"
fi
