/* Benchmark of the agent's hot paths: parsing a streamed reply (SSE into
 * the Anthropic and OpenAI handlers), building a request from a long,
 * compacted conversation, the memory a 1000-call run keeps, and the diff
 * shown for a file change.  Prints figures; asserts nothing.  Run with
 * "make bench-agent". */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <monkey/agent.h>

#include "agent_history.h"
#include "provider.h"
#include "sse.h"
#include "tools.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct provider_stream *s = ctx;
	return s->p->ops->event(s, event, data, len);
}

/* A reply of n text deltas and one tool call of n argument fragments. */
static char *anthropic_stream(int n, size_t *len)
{
	char *buf = NULL;
	size_t blen = 0;
	FILE *m = open_memstream(&buf, &blen);
	fputs("event: message_start\ndata: {\"type\":\"message_start\","
	      "\"message\":{\"usage\":{\"input_tokens\":10}}}\n\n",
	      m);
	fputs("event: content_block_start\ndata: {\"type\":"
	      "\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
	      "\"text\",\"text\":\"\"}}\n\n",
	      m);
	for (int i = 0; i < n; i++)
		fprintf(
		    m,
		    "event: content_block_delta\ndata: {\"type\":"
		    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
		    "\"text_delta\",\"text\":\"word %d of a long answer \"}}"
		    "\n\n",
		    i);
	fputs("event: content_block_start\ndata: {\"type\":"
	      "\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
	      "\"tool_use\",\"id\":\"t\",\"name\":\"write_file\",\"input\":{}}}"
	      "\n\n",
	      m);
	fputs("event: content_block_delta\ndata: "
	      "{\"type\":\"content_block_delta\","
	      "\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
	      "\"partial_json\":\"{\\\"path\\\": \\\"a\\\", \\\"content\\\": "
	      "\\\"\"}}\n\n",
	      m);
	for (int i = 0; i < n; i++)
		fputs("event: content_block_delta\ndata: {\"type\":"
		      "\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
		      "\"input_json_delta\",\"partial_json\":\"line of "
		      "code\\\\n\"}}"
		      "\n\n",
		      m);
	fputs(
	    "event: content_block_delta\ndata: "
	    "{\"type\":\"content_block_delta\","
	    "\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
	    "\"partial_json\":\"\\\"}\"}}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
	    "{\"stop_reason\":\"tool_use\"}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	    m);
	fclose(m);
	*len = blen;
	return buf;
}

static void bench_stream(void)
{
	size_t len;
	char *stream = anthropic_stream(50000, &len);
	const int rounds = 5;
	double t0 = now();
	size_t events = 0;
	for (int r = 0; r < rounds; r++) {
		struct provider p = {.ops = &provider_anthropic_ops};
		struct provider_turn t = {0};
		struct provider_stream s = {.p = &p, .turn = &t};
		struct monkey_sse sse;
		monkey_sse_init(&sse, 0, on_event, &s);
		/* Network-sized reads. */
		for (size_t i = 0; i < len; i += 1448)
			monkey_sse_feed(&sse, stream + i,
					len - i < 1448 ? len - i : 1448);
		provider_stream_finish(&s);
		if (!s.done || t.msg.n != 2 || !t.msg.blocks[1].input_valid) {
			fprintf(stderr, "bench: the stream did not parse\n");
			exit(1);
		}
		events = sse.events;
		monkey_sse_free(&sse);
		provider_stream_reset(&s);
		provider_turn_free(&t);
	}
	double dt = (now() - t0) / rounds;
	printf("stream parse (anthropic, SSE + JSON per event): %.1f MB/s, "
	       "%.0f events/s (%zu events, %.1f MB per reply)\n",
	       (double)len / dt / 1e6, (double)events / dt, events,
	       (double)len / 1e6);
	free(stream);
}

static void exchange(struct agent_history *h, int i)
{
	static char out[10240];
	memset(out, 'o', sizeof(out) - 1);
	char id[32];
	snprintf(id, sizeof(id), "toolu_%d", i);
	struct agent_message a = {.role = AGENT_ROLE_ASSISTANT};
	agent_message_add_text(&a, "Let me look at the next file.");
	agent_message_add_tool_use(&a, id, "shell_execute",
				   "{\"command\":[\"cat\",\"src/file.c\"]}");
	agent_history_push(h, &a);
	struct agent_message u = {.role = AGENT_ROLE_USER};
	agent_message_add_tool_result(&u, id, out, false);
	agent_history_push(h, &u);
}

static void bench_requests(void)
{
	struct agent_history h = {0};
	struct agent_message task = {.role = AGENT_ROLE_USER};
	agent_message_add_text(&task, "refactor the parser");
	agent_history_push(&h, &task);
	struct provider p = {.ops = &provider_anthropic_ops,
			     .model = "claude-sonnet-4-5",
			     .max_tokens = 8192,
			     .system = "system prompt",
			     .tools = monkey_tools,
			     .n_tools = TOOL_COUNT};
	const int calls = 1000;
	double build = 0, compact = 0;
	size_t body_max = 0, body_last = 0;
	for (int i = 0; i < calls; i++) {
		exchange(&h, i);
		double t0 = now();
		agent_history_compact(&h, 1024,
				      MONKEY_AGENT_DEFAULT_HISTORY_MAX);
		double t1 = now();
		char *body = p.ops->build_body(&p, &h);
		double t2 = now();
		compact += t1 - t0;
		build += t2 - t1;
		body_last = strlen(body);
		if (body_last > body_max)
			body_max = body_last;
		free(body);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("conversation of %d tool calls (10 KiB output each): request "
	       "body at most %zu bytes, last %zu; per turn: compaction %.3f "
	       "ms, anthropic body build %.3f ms; %zu messages kept; peak RSS "
	       "%ld KiB\n",
	       calls, body_max, body_last, compact * 1e3 / calls,
	       build * 1e3 / calls, h.n, ru.ru_maxrss);
	agent_history_free(&h);
}

/* The diff an approval shows: a one-line edit of a large file, and a
 * rewrite where every line differs (the bounded worst case). */
static void bench_diff(void)
{
	char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	FILE *fa = open_memstream(&a, &al), *fb = open_memstream(&b, &bl);
	/* 13 MB: edit_file takes files up to 16 MiB. */
	for (int i = 0; i < 400000; i++)
		fprintf(fa, "line %d of a large source file\n", i);
	fclose(fa);
	char *edited = strdup(a);
	edited[al / 2] = '#';
	for (int i = 0; i < 199999; i++)
		fprintf(fb, "other %d\n", i);
	fclose(fb);
	struct tools_diff d;
	double t0 = now();
	tools_diff(a, al, edited, al, &d);
	double t1 = now();
	printf("file change diff: one line edited in %.1f MB: %.1f ms (+%zu "
	       "-%zu)\n",
	       (double)al / 1e6, (t1 - t0) * 1e3, d.added, d.removed);
	tools_diff_free(&d);
	/* The first 199999 lines of a against b: nothing in common. */
	size_t cut = 0;
	for (int n = 0; n < 199999; cut++)
		n += a[cut] == '\n';
	t0 = now();
	tools_diff(a, cut, b, bl, &d);
	t1 = now();
	printf("file change diff: 199999 lines all replaced: %.1f ms (%s)\n",
	       (t1 - t0) * 1e3,
	       d.approximate ? "work bound reached, counts approximate"
			     : "exact");
	tools_diff_free(&d);
	free(a);
	free(b);
	free(edited);
}

int main(void)
{
	bench_stream();
	bench_requests();
	bench_diff();
	return 0;
}
