/* Unit tests of the agent's parts: the SSE parser, the providers' stream
 * handling, argument checking, argv quoting, SHA-256 and the history
 * compaction. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <monkey/backend.h>
#include <monkey/exec.h>

#include "agent_config.h"
#include "agent_history.h"
#include "jsonout.h"
#include "provider.h"
#include "quote.h"
#include "sse.h"
#include "tools.h"
#include "transcript.h"
#include "transcript_hash.h"

/* ---------------------------------------------------------------- SSE */

struct events {
	char log[4096];
	int n;
};

static int collect(void *ctx, const char *event, const char *data, size_t len)
{
	struct events *e = ctx;
	char buf[1024];
	snprintf(buf, sizeof(buf), "[%s|%.*s]", event, (int)len, data);
	strncat(e->log, buf, sizeof(e->log) - strlen(e->log) - 1);
	e->n++;
	return 0;
}

/* Feed text in pieces of step bytes. */
static void feed(struct monkey_sse *p, const char *text, size_t step)
{
	size_t len = strlen(text);
	for (size_t i = 0; i < len; i += step)
		assert_int_equal(
		    monkey_sse_feed(p, text + i,
				    len - i < step ? len - i : step),
		    0);
}

static void test_sse_events_survive_any_chunk_boundary(void **state)
{
	(void)state;
	const char *stream = "event: message_start\ndata: {\"a\":1}\n\n"
			     ": keep-alive\n\n"
			     "event: ping\r\ndata: {}\r\n\r\n"
			     "data: first\ndata: second\n\n"
			     "event: x\rdata: cr only\r\r";
	const char *want = "[message_start|{\"a\":1}][ping|{}]"
			   "[message|first\nsecond][x|cr only]";
	for (size_t step = 1; step <= strlen(stream); step++) {
		struct events e = {0};
		struct monkey_sse p;
		monkey_sse_init(&p, 0, collect, &e);
		feed(&p, stream, step);
		assert_string_equal(e.log, want);
		assert_true(monkey_sse_idle(&p));
		monkey_sse_free(&p);
	}
}

static void test_sse_crlf_split_between_reads_is_one_line_end(void **state)
{
	(void)state;
	struct events e = {0};
	struct monkey_sse p;
	monkey_sse_init(&p, 0, collect, &e);
	/* The LF that completes "a\r" arrives in the next read.  A parser
	 * that forgets the CR between reads takes it for a blank line and
	 * dispatches "a" and "b" as two events. */
	assert_int_equal(monkey_sse_feed(&p, "data: a\r", 8), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(monkey_sse_feed(&p, "\ndata: b\n\n", 10), 0);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.log, "[message|a\nb]");
	monkey_sse_free(&p);
}

static void test_sse_incomplete_event_is_not_dispatched(void **state)
{
	(void)state;
	struct events e = {0};
	struct monkey_sse p;
	monkey_sse_init(&p, 0, collect, &e);
	feed(&p, "event: message_stop\ndata: {}\n", 5);
	assert_int_equal(e.n, 0);
	assert_false(monkey_sse_idle(&p));
	monkey_sse_free(&p);
}

static void test_sse_field_without_space_and_unknown_fields(void **state)
{
	(void)state;
	struct events e = {0};
	struct monkey_sse p;
	monkey_sse_init(&p, 0, collect, &e);
	feed(&p, "id: 7\nretry: 10\nevent:e\ndata:x\nbogus\n\n", 3);
	assert_string_equal(e.log, "[e|x]");
	monkey_sse_free(&p);
}

static void test_sse_oversized_event_fails(void **state)
{
	(void)state;
	struct events e = {0};
	struct monkey_sse p;
	monkey_sse_init(&p, 64, collect, &e);
	char big[200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(monkey_sse_feed(&p, "data: ", 6), 0);
	assert_int_equal(monkey_sse_feed(&p, big, strlen(big)), -E2BIG);
	assert_int_equal(monkey_sse_feed(&p, "\n\n", 2), -EPROTO);
	monkey_sse_free(&p);
}

/* ---------------------------------------------------------- providers */

struct pfx {
	struct provider p;
	struct provider_turn t;
	struct provider_stream s;
	char text[1024];
};

static void on_text(void *ctx, const char *t, size_t n)
{
	struct pfx *f = ctx;
	strncat(f->text, t, n);
}

static struct pfx *pfx_new(const struct provider_ops *ops)
{
	struct pfx *f = calloc(1, sizeof(*f));
	f->p.ops = ops;
	f->p.cb.text = on_text;
	f->p.cb.ctx = f;
	f->s.p = &f->p;
	f->s.turn = &f->t;
	return f;
}

static void pfx_free(struct pfx *f)
{
	provider_stream_reset(&f->s);
	provider_turn_free(&f->t);
	free(f);
}

static int ev(struct pfx *f, const char *event, const char *data)
{
	return f->p.ops->event(&f->s, event, data, strlen(data));
}

static void test_anthropic_input_json_split_anywhere(void **state)
{
	(void)state;
	const char *json = "{\"command\": [\"echo\", \"a \\\"q\\\" \\u00e9\"]}";
	size_t len = strlen(json);
	/* Every two-way split, plus empty fragments around it. */
	for (size_t cut = 0; cut <= len; cut++) {
		struct pfx *f = pfx_new(&provider_anthropic_ops);
		assert_int_equal(
		    ev(f, "content_block_start",
		       "{\"type\":\"content_block_start\",\"index\":0,"
		       "\"content_block\":{\"type\":\"tool_use\","
		       "\"id\":\"toolu_1\",\"name\":\"shell_execute\","
		       "\"input\":{}}}"),
		    0);
		const char *parts[3] = {"", NULL, NULL};
		char a[256], b[256];
		snprintf(a, sizeof(a), "%.*s", (int)cut, json);
		snprintf(b, sizeof(b), "%s", json + cut);
		parts[1] = a;
		parts[2] = b;
		for (int i = 0; i < 3; i++) {
			json_object *d = json_object_new_object();
			json_object_object_add(
			    d, "type",
			    json_object_new_string("content_block_delta"));
			json_object_object_add(d, "index",
					       json_object_new_int(0));
			json_object *delta = json_object_new_object();
			json_object_object_add(
			    delta, "type",
			    json_object_new_string("input_json_delta"));
			json_object_object_add(
			    delta, "partial_json",
			    json_object_new_string(parts[i]));
			json_object_object_add(d, "delta", delta);
			assert_int_equal(ev(f, "content_block_delta",
					    json_object_to_json_string(d)),
					 0);
			json_object_put(d);
		}
		assert_int_equal(ev(f, "message_delta",
				    "{\"type\":\"message_delta\",\"delta\":"
				    "{\"stop_reason\":\"tool_use\"}}"),
				 0);
		assert_int_equal(
		    ev(f, "message_stop", "{\"type\":\"message_stop\"}"), 0);
		assert_true(f->s.done);
		assert_int_equal(provider_stream_finish(&f->s), 0);
		assert_int_equal(f->t.msg.n, 1);
		assert_string_equal(f->t.msg.blocks[0].input, json);
		assert_true(f->t.msg.blocks[0].input_valid);
		assert_int_equal(f->t.stop, PROVIDER_STOP_TOOL_USE);
		pfx_free(f);
	}
}

static void
test_anthropic_tool_use_without_deltas_means_empty_object(void **state)
{
	(void)state;
	struct pfx *f = pfx_new(&provider_anthropic_ops);
	ev(f, "content_block_start",
	   "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
	   "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"list_files\","
	   "\"input\":{}}}");
	ev(f, "content_block_delta",
	   "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	   "\"input_json_delta\",\"partial_json\":\"\"}}");
	ev(f, "message_stop", "{\"type\":\"message_stop\"}");
	assert_int_equal(provider_stream_finish(&f->s), 0);
	assert_string_equal(f->t.msg.blocks[0].input, "{}");
	pfx_free(f);
}

static void test_anthropic_text_streams_and_thinking_is_skipped(void **state)
{
	(void)state;
	struct pfx *f = pfx_new(&provider_anthropic_ops);
	ev(f, "content_block_start",
	   "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
	   "{\"type\":\"thinking\",\"thinking\":\"\"}}");
	ev(f, "content_block_delta",
	   "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	   "\"thinking_delta\",\"thinking\":\"hmm\"}}");
	ev(f, "content_block_start",
	   "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
	   "{\"type\":\"text\",\"text\":\"\"}}");
	ev(f, "content_block_delta",
	   "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
	   "\"text_delta\",\"text\":\"Hel\"}}");
	ev(f, "ping", "{\"type\":\"ping\"}");
	ev(f, "content_block_delta",
	   "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
	   "\"text_delta\",\"text\":\"lo\"}}");
	ev(f, "some_future_event", "{\"type\":\"some_future_event\"}");
	ev(f, "message_stop", "{\"type\":\"message_stop\"}");
	assert_string_equal(f->text, "Hello");
	assert_int_equal(provider_stream_finish(&f->s), 0);
	assert_int_equal(f->t.msg.n, 1);
	assert_string_equal(f->t.msg.blocks[0].text, "Hello");
	pfx_free(f);
}

static void test_anthropic_protocol_errors_are_reported(void **state)
{
	(void)state;
	struct pfx *f = pfx_new(&provider_anthropic_ops);
	assert_int_equal(ev(f, "content_block_delta", "{\"type\":\"content_"),
			 -EPROTO);
	assert_true(strstr(f->s.err_msg, "malformed JSON") != NULL);
	assert_false(f->s.retryable);
	pfx_free(f);
	f = pfx_new(&provider_anthropic_ops);
	assert_int_equal(
	    ev(f, "content_block_delta",
	       "{\"type\":\"content_block_delta\",\"index\":5,"
	       "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"),
	    -EPROTO);
	assert_true(strstr(f->s.err_msg, "never started") != NULL);
	pfx_free(f);
	f = pfx_new(&provider_anthropic_ops);
	assert_int_equal(
	    ev(f, "error",
	       "{\"type\":\"error\",\"error\":{\"type\":"
	       "\"overloaded_error\",\"message\":\"Overloaded\"}}"),
	    -EPROTO);
	assert_true(f->s.retryable);
	assert_string_equal(f->s.err_type, "overloaded_error");
	pfx_free(f);
}

static void test_openai_tool_call_deltas_accumulate_by_index(void **state)
{
	(void)state;
	struct pfx *f = pfx_new(&provider_openai_ops);
	const char *chunks[] = {
	    "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	    "\"content\":\"Run\"}}]}",
	    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ning\"}}]}",
	    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
	    "0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"shell_execute\",\"arguments\":\"\"}}]}}]}",
	    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
	    "1,\"id\":\"call_2\",\"function\":{\"name\":\"list_files\","
	    "\"arguments\":\"{}\"}}]}}]}",
	    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
	    "0,\"function\":{\"arguments\":\"{\\\"command\\\": [\\\"l\"}}]}}]}",
	    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
	    "0,\"function\":{\"arguments\":\"s\\\"]}\"}}]}}]}",
	    "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
	    "\"tool_calls\"}]}",
	};
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		assert_int_equal(ev(f, "message", chunks[i]), 0);
	assert_int_equal(ev(f, "message", "[DONE]"), 0);
	assert_true(f->s.done);
	assert_string_equal(f->text, "Running");
	assert_int_equal(provider_stream_finish(&f->s), 0);
	assert_int_equal(f->t.msg.n, 3);
	assert_string_equal(f->t.msg.blocks[1].id, "call_1");
	assert_string_equal(f->t.msg.blocks[1].input,
			    "{\"command\": [\"ls\"]}");
	assert_string_equal(f->t.msg.blocks[2].name, "list_files");
	assert_int_equal(f->t.stop, PROVIDER_STOP_TOOL_USE);
	pfx_free(f);
}

static void
test_openai_invalid_arguments_are_kept_for_an_error_result(void **state)
{
	(void)state;
	struct pfx *f = pfx_new(&provider_openai_ops);
	ev(f, "message",
	   "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
	   "\"id\":\"c\",\"function\":{\"name\":\"read_file\",\"arguments\":"
	   "\"{path: x\"}}]},\"finish_reason\":\"tool_calls\"}]}");
	assert_int_equal(provider_stream_finish(&f->s), 0);
	assert_false(f->t.msg.blocks[0].input_valid);
	assert_string_equal(f->t.msg.blocks[0].input, "{path: x");
	pfx_free(f);
}

static void test_openai_error_chunk_is_reported(void **state)
{
	(void)state;
	struct pfx *f = pfx_new(&provider_openai_ops);
	assert_int_equal(ev(f, "message",
			    "{\"error\":{\"message\":\"model overloaded\","
			    "\"type\":\"server_error\"}}"),
			 -EPROTO);
	assert_true(f->s.retryable);
	assert_string_equal(f->s.err_msg, "model overloaded");
	pfx_free(f);
}

/* --------------------------------------------------- argument checking */

static void expect_parse_error(const char *tool, const char *json,
			       const char *fragment)
{
	struct tool_args a;
	struct monkey_error err = {0};
	assert_int_equal(tools_parse(tool, json, &a, &err), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	if (!strstr(err.message, fragment))
		fail_msg("'%s' lacks '%s'", err.message, fragment);
	tools_args_free(&a);
}

static void test_tool_arguments_are_checked(void **state)
{
	(void)state;
	expect_parse_error("nope", "{}", "unknown tool 'nope'");
	expect_parse_error("read_file", "{\"path\": 1", "not valid JSON");
	expect_parse_error("read_file", "{} {}", "extra text");
	expect_parse_error("read_file", "\"x\"", "must be a JSON object");
	expect_parse_error("read_file", "{}", "missing required field 'path'");
	expect_parse_error("read_file", "{\"path\": \"a\", \"offset\": 0}",
			   "'offset' must be at least 1");
	expect_parse_error("read_file", "{\"path\": \"a\", \"limit\": \"9\"}",
			   "'limit' must be an integer");
	expect_parse_error("read_file", "{\"path\": \"a\\u0000b\"}",
			   "NUL character");
	expect_parse_error("write_file", "{\"path\": \"a\"}",
			   "missing required field 'content'");
	expect_parse_error("edit_file",
			   "{\"path\": \"a\", \"old_string\": \"\", "
			   "\"new_string\": \"b\"}",
			   "'old_string' must not be empty");
	expect_parse_error("shell_execute", "{}",
			   "missing required field 'command'");
	expect_parse_error("shell_execute", "{\"command\": \"ls -l\"}",
			   "must be an array of strings");
	expect_parse_error("shell_execute", "{\"command\": []}",
			   "must not be empty");
	expect_parse_error("shell_execute", "{\"command\": [\"ls\", 3]}",
			   "command[1] must be a string");
	expect_parse_error("shell_execute", "{\"command\": [\"\"]}",
			   "command[0] (the program) must not be empty");
	expect_parse_error("shell_execute",
			   "{\"command\": [\"ls\"], \"timeout_ms\": -5}",
			   "'timeout_ms' must be at least 1");
	expect_parse_error("list_files", "{\"recursive\": \"yes\"}",
			   "'recursive' must be true or false");
}

/* What the model is told about a bad call goes back in a JSON request: a
 * message cut to fit the error record ends at a character boundary. */
static void test_tool_errors_stay_utf8_when_cut(void **state)
{
	(void)state;
	char name[1300] = "";
	for (int i = 0; i < 600; i++)
		strcat(name, "\xc3\xa9"); /* e acute */
	struct tool_args a;
	struct monkey_error err = {0};
	assert_int_equal(tools_parse(name, "{}", &a, &err), -EINVAL);
	size_t len = strlen(err.message), clean_len = 0;
	assert_true(len > 900);
	char *clean = monkey_utf8_sanitize(err.message, len, &clean_len);
	assert_non_null(clean);
	if (clean_len != len || memcmp(clean, err.message, len))
		fail_msg("the message ends in a cut character: ...%s",
			 err.message + len - 8);
	free(clean);
	tools_args_free(&a);
}

static void test_tool_arguments_parse(void **state)
{
	(void)state;
	struct tool_args a;
	struct monkey_error err = {0};
	assert_int_equal(tools_parse("shell_execute",
				     "{\"command\": [\"sh\", \"-c\", \"x\"], "
				     "\"workdir\": \"sub\", \"timeout_ms\": "
				     "1500.0, \"stdin\": \"in\\u0000put\"} \n",
				     &a, &err),
			 0);
	assert_int_equal(a.kind, TOOL_SHELL);
	assert_int_equal(a.argv.n, 3);
	assert_string_equal(a.argv.v[2], "x");
	assert_string_equal(a.workdir, "sub");
	assert_int_equal(a.timeout_ms, 1500);
	assert_true(a.has_stdin);
	assert_int_equal(a.stdin_len, 6);
	assert_memory_equal(a.stdin_data, "in\0put", 6);
	tools_args_free(&a);
	/* An empty argument string (a tool called without input) is {}. */
	assert_int_equal(tools_parse("list_files", "", &a, &err), 0);
	assert_null(a.path);
	tools_args_free(&a);
}

/* ------------------------------------------------------------ quoting */

static void expect_quote(const char *const *argv, const char *want)
{
	char *q = monkey_quote_argv(argv);
	assert_non_null(q);
	assert_string_equal(q, want);
	free(q);
}

static void test_argv_is_quoted_readably(void **state)
{
	(void)state;
	expect_quote((const char *[]){"ls", "-l", "src/main.c", NULL},
		     "ls -l src/main.c");
	expect_quote((const char *[]){"sh", "-c", "echo 'a b' > out", NULL},
		     "sh -c 'echo '\\''a b'\\'' > out'");
	expect_quote((const char *[]){"echo", "", NULL}, "echo ''");
	/* Control characters cannot act on the terminal. */
	expect_quote((const char *[]){"printf", "\033[2J\rok\n", NULL},
		     "printf $'\\x1b[2J\\rok\\n'");
	expect_quote((const char *[]){"cat", "a\xe2\x80\xaez", NULL},
		     "cat $'a\\xe2\\x80\\xaez'");
}

/* ------------------------------------------------------------ SHA-256 */

static void expect_sha(const char *data, size_t len, size_t step,
		       const char *want)
{
	struct monkey_sha256 s;
	char hex[65];
	monkey_sha256_init(&s);
	for (size_t i = 0; i < len; i += step)
		monkey_sha256_update(&s, data + i,
				     len - i < step ? len - i : step);
	monkey_sha256_hex(&s, hex);
	assert_string_equal(hex, want);
}

static void test_sha256_known_vectors(void **state)
{
	(void)state;
	expect_sha(
	    "", 0, 1,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_sha(
	    "abc", 3, 1,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	for (size_t step = 1; step < 70; step += 7)
		expect_sha(two, strlen(two), step,
			   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6e"
			   "cedd419db06c1");
	char *million = malloc(1000000);
	memset(million, 'a', 1000000);
	expect_sha(
	    million, 1000000, 4096,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

/* ------------------------------------------------------ system prompt */

/* The shipped backends' safety levels and capability flags. */
static const struct monkey_backend spawn_be = {
    .name = "spawn",
    .safety = MONKEY_SAFETY_MEDIUM,
    .capabilities =
	MONKEY_CAP_TIMEOUT | MONKEY_CAP_KILL_TREE | MONKEY_CAP_CLEAN_ENV |
	MONKEY_CAP_STDIN | MONKEY_CAP_CANCEL | MONKEY_CAP_MEMORY_APPROX |
	MONKEY_CAP_CPU_TIME | MONKEY_CAP_FILE_SIZE | MONKEY_CAP_OPEN_FILES,
};
static const struct monkey_backend none_be = {
    .name = "none",
    .safety = MONKEY_SAFETY_NONE,
    .capabilities = MONKEY_CAP_TIMEOUT | MONKEY_CAP_KILL_TREE |
		    MONKEY_CAP_CLEAN_ENV | MONKEY_CAP_STDIN | MONKEY_CAP_CANCEL,
};
static const struct monkey_backend docker_be = {
    .name = "docker",
    .safety = MONKEY_SAFETY_HIGH,
    .capabilities =
	MONKEY_CAP_MEMORY | MONKEY_CAP_CPU | MONKEY_CAP_PIDS |
	MONKEY_CAP_NETWORK_ISOLATION | MONKEY_CAP_FS_ISOLATION |
	MONKEY_CAP_READ_ONLY_ROOT | MONKEY_CAP_MOUNTS | MONKEY_CAP_STDIN |
	MONKEY_CAP_TIMEOUT | MONKEY_CAP_KILL_TREE | MONKEY_CAP_CLEAN_ENV |
	MONKEY_CAP_USER | MONKEY_CAP_IMAGE | MONKEY_CAP_CPU_TIME |
	MONKEY_CAP_FILE_SIZE | MONKEY_CAP_OPEN_FILES | MONKEY_CAP_OOM_REPORT,
};

static void has(const char *text, const char *s, bool want)
{
	if ((strstr(text, s) != NULL) != want)
		fail_msg("the prompt %s '%s':\n%s", want ? "lacks" : "has", s,
			 text);
}

static void test_system_prompt_tells_the_truth_about_spawn(void **state)
{
	(void)state;
	struct monkey_exec_options eo;
	monkey_exec_options_init(&eo);
	eo.timeout_ms = 30000;
	eo.file_size_bytes = 1048576;
	char *p = agent_system_prompt(&spawn_be, &eo, "/home/u/proj", "src");
	printf("%s\n", p);
	has(p,
	    "The workspace is /home/u/proj; commands start in "
	    "/home/u/proj/src",
	    true);
	has(p, "without a shell", true);
	has(p, "'spawn' sandbox", true);
	has(p, "this machine's network: the sandbox does not isolate it", true);
	has(p, "not isolated from this machine's files", true);
	has(p, "killed after 30000 ms", true);
	has(p, "address space 256 MB", true);
	has(p, "files up to 1048576 bytes", true);
	has(p,
	    "Not enforced here: a memory limit, a CPU share, a process "
	    "count, network isolation, file-system isolation.",
	    true);
	has(p, "no network", false);
	has(p, "processes", false);
	free(p);
}

static void test_system_prompt_says_none_runs_a_host_shell(void **state)
{
	(void)state;
	struct monkey_exec_options eo;
	monkey_exec_options_init(&eo);
	eo.timeout_ms = 0;
	char *p = agent_system_prompt(&none_be, &eo, "/w", ".");
	printf("%s\n", p);
	has(p, "commands start in /w unless", true);
	has(p, "there is NO sandbox", true);
	has(p, "/bin/sh -c", true);
	has(p, "without a shell", false);
	has(p, "Commands have no time limit", true);
	has(p, "Limits per command: none.", true);
	has(p, "this machine's network", true);
	free(p);
}

static void test_system_prompt_lists_docker_limits(void **state)
{
	(void)state;
	struct monkey_exec_options eo;
	monkey_exec_options_init(&eo);
	char *p = agent_system_prompt(&docker_be, &eo, "/w", ".");
	printf("%s\n", p);
	has(p, "'docker' sandbox", true);
	has(p, "Commands have no network access", true);
	has(p, "see only the workspace", true);
	has(p, "memory 256 MB, 0.5 CPUs, 50 processes", true);
	has(p, "killed after 60000 ms", true);
	has(p, "Not enforced here", false);
	eo.network = true;
	eo.read_only = true;
	free(p);
	p = agent_system_prompt(&docker_be, &eo, "/w", ".");
	has(p, "Commands have network access.", true);
	has(p, "The root file system is read-only", true);
	free(p);
}

/* --------------------------------------------------------- transcript */

/* A private XDG_STATE_HOME with monkey/sessions made; returns it. */
static char *state_home(char *sessions, size_t len)
{
	char tmpl[] = "/tmp/monkey-units-XXXXXX";
	char *dir = strdup(mkdtemp(tmpl));
	snprintf(sessions, len, "%s/monkey", dir);
	assert_int_equal(mkdir(sessions, 0700), 0);
	snprintf(sessions, len, "%s/monkey/sessions", dir);
	assert_int_equal(mkdir(sessions, 0700), 0);
	setenv("XDG_STATE_HOME", dir, 1);
	return dir;
}

static void session_name(char *buf, size_t len, const char *dir, time_t when,
			 const char *suffix)
{
	struct tm tm;
	char stamp[32];
	gmtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(buf, len, "%s/%s-%ld%s.jsonl", dir, stamp, (long)getpid(),
		 suffix);
}

static void rm_state(char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
	unsetenv("XDG_STATE_HOME");
}

static void test_transcript_file_planted_as_symlink_is_refused(void **state)
{
	(void)state;
	char sessions[512], at[600];
	char *dir = state_home(sessions, sizeof(sessions));
	/* The name this second and the next take: both links. */
	time_t now = time(NULL);
	for (int i = 0; i < 2; i++) {
		session_name(at, sizeof(at), sessions, now + i, "");
		assert_int_equal(symlink("/tmp/monkey-units-target", at), 0);
	}
	struct transcript t;
	struct monkey_error err = {0};
	assert_int_equal(transcript_open(&t, NULL, NULL, &err), -ELOOP);
	assert_non_null(strstr(err.message, "is a symbolic link"));
	assert_non_null(strstr(err.message, sessions));
	assert_int_equal(access("/tmp/monkey-units-target", F_OK), -1);
	rm_state(dir);
}

static void test_transcript_name_taken_gets_a_suffix(void **state)
{
	(void)state;
	char sessions[512], at[600];
	char *dir = state_home(sessions, sizeof(sessions));
	time_t now = time(NULL);
	for (int i = 0; i < 2; i++) {
		session_name(at, sizeof(at), sessions, now + i, "");
		FILE *f = fopen(at, "w");
		fputs("someone else's\n", f);
		fclose(f);
	}
	struct transcript t;
	struct monkey_error err = {0};
	assert_int_equal(transcript_open(&t, NULL, NULL, &err), 0);
	assert_int_equal(strncmp(t.path, sessions, strlen(sessions)), 0);
	size_t n = strlen(t.path);
	assert_true(n > 8 && !strcmp(t.path + n - 8, "-2.jsonl"));
	struct stat st;
	assert_int_equal(fstat(t.fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	transcript_close(&t);
	rm_state(dir);
}

/* ------------------------------------------------------------ history */

static void exchange(struct agent_history *h, int i, size_t out_len)
{
	char id[32], *out = malloc(out_len + 1);
	memset(out, 'o', out_len);
	out[out_len] = '\0';
	snprintf(id, sizeof(id), "t%d", i);
	struct agent_message a = {.role = AGENT_ROLE_ASSISTANT};
	agent_message_add_tool_use(&a, id, "shell_execute",
				   "{\"command\":[\"x\"]}");
	agent_history_push(h, &a);
	struct agent_message u = {.role = AGENT_ROLE_USER};
	agent_message_add_tool_result(&u, id, out, false);
	agent_history_push(h, &u);
	free(out);
}

static void test_history_compaction_shortens_old_outputs(void **state)
{
	(void)state;
	struct agent_history h = {0};
	struct agent_message task = {.role = AGENT_ROLE_USER};
	agent_message_add_text(&task, "the task");
	agent_history_push(&h, &task);
	for (int i = 0; i < 5; i++)
		exchange(&h, i, 10000);
	assert_int_equal(agent_history_compact(&h, 1024, 1 << 20), 0);
	/* Old results shortened, the last one kept whole. */
	assert_true(strlen(h.msgs[2].blocks[0].text) < 1200);
	assert_true(strstr(h.msgs[2].blocks[0].text, "bytes omitted") != NULL);
	assert_int_equal(strlen(h.msgs[10].blocks[0].text), 10000);
	agent_history_free(&h);
}

static void test_history_compaction_drops_oldest_exchanges(void **state)
{
	(void)state;
	struct agent_history h = {0};
	struct agent_message task = {.role = AGENT_ROLE_USER};
	agent_message_add_text(&task, "the task");
	agent_history_push(&h, &task);
	for (int i = 0; i < 300; i++) {
		exchange(&h, i, 5000);
		agent_history_compact(&h, 1024, 64 * 1024);
		assert_true(agent_history_bytes(&h) <= 64 * 1024);
	}
	/* Roles alternate, every tool_use keeps its result, the task and a
	 * note about what was dropped stay first. */
	assert_int_equal(h.msgs[0].role, AGENT_ROLE_USER);
	assert_string_equal(h.msgs[0].blocks[0].text, "the task");
	assert_true(strstr(h.msgs[0].blocks[1].text, "earlier messages were "
						     "removed") != NULL);
	for (size_t i = 1; i < h.n; i++) {
		assert_int_not_equal(h.msgs[i].role, h.msgs[i - 1].role);
		if (h.msgs[i].role == AGENT_ROLE_USER)
			assert_string_equal(h.msgs[i].blocks[0].id,
					    h.msgs[i - 1].blocks[0].id);
	}
	assert_string_equal(h.msgs[h.n - 1].blocks[0].id, "t299");
	assert_true(h.dropped > 0);
	agent_history_free(&h);
}

static void test_history_merges_consecutive_messages_of_one_role(void **state)
{
	(void)state;
	struct agent_history h = {0};
	struct agent_message m = {.role = AGENT_ROLE_USER};
	agent_message_add_text(&m, "task");
	agent_history_push(&h, &m);
	m = (struct agent_message){.role = AGENT_ROLE_ASSISTANT};
	agent_message_add_text(&m, "part one");
	agent_history_push(&h, &m);
	m = (struct agent_message){.role = AGENT_ROLE_ASSISTANT};
	agent_message_add_tool_use(&m, "t1", "list_files", "");
	agent_history_push(&h, &m);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.msgs[1].n, 2);
	assert_string_equal(h.msgs[1].blocks[1].input, "{}");
	agent_history_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sse_events_survive_any_chunk_boundary),
	    cmocka_unit_test(test_sse_crlf_split_between_reads_is_one_line_end),
	    cmocka_unit_test(test_sse_incomplete_event_is_not_dispatched),
	    cmocka_unit_test(test_sse_field_without_space_and_unknown_fields),
	    cmocka_unit_test(test_sse_oversized_event_fails),
	    cmocka_unit_test(test_anthropic_input_json_split_anywhere),
	    cmocka_unit_test(
		test_anthropic_tool_use_without_deltas_means_empty_object),
	    cmocka_unit_test(
		test_anthropic_text_streams_and_thinking_is_skipped),
	    cmocka_unit_test(test_anthropic_protocol_errors_are_reported),
	    cmocka_unit_test(test_openai_tool_call_deltas_accumulate_by_index),
	    cmocka_unit_test(
		test_openai_invalid_arguments_are_kept_for_an_error_result),
	    cmocka_unit_test(test_openai_error_chunk_is_reported),
	    cmocka_unit_test(test_tool_arguments_are_checked),
	    cmocka_unit_test(test_tool_errors_stay_utf8_when_cut),
	    cmocka_unit_test(test_tool_arguments_parse),
	    cmocka_unit_test(test_argv_is_quoted_readably),
	    cmocka_unit_test(test_sha256_known_vectors),
	    cmocka_unit_test(test_system_prompt_tells_the_truth_about_spawn),
	    cmocka_unit_test(test_system_prompt_says_none_runs_a_host_shell),
	    cmocka_unit_test(test_system_prompt_lists_docker_limits),
	    cmocka_unit_test(
		test_transcript_file_planted_as_symlink_is_refused),
	    cmocka_unit_test(test_transcript_name_taken_gets_a_suffix),
	    cmocka_unit_test(
		test_history_merges_consecutive_messages_of_one_role),
	    cmocka_unit_test(test_history_compaction_shortens_old_outputs),
	    cmocka_unit_test(test_history_compaction_drops_oldest_exchanges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
