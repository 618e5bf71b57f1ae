/* monkey agent end to end against the local LLM server: the task loop,
 * tools and their confinement, transcript and replay, keys kept out of
 * commands and transcripts, the end conditions, bounded history. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_agent_harness.h"

struct fx {
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	json_object *tr;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	ta_ws_new(&f->ws);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	ta_server_stop(&f->srv);
	tu_run_free(&f->run);
	json_object_put(f->tr);
	ta_ws_free(&f->ws);
	free(f);
	return 0;
}

static void agent(struct fx *f, const char *script, const char *const *args)
{
	ta_server_start(&f->srv, script);
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "do the task", args, NULL), 0);
	f->tr = ta_transcript(&f->ws);
}

static void test_multi_step_task_writes_file_and_runs_command(void **state)
{
	struct fx *f = *state;
	agent(f, "multistep", NULL);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 3);
	char *sh = ta_read(ta_path(&f->ws, "src/hello.sh"));
	assert_non_null(sh);
	assert_string_equal(sh, "echo \"hi from $1\"\n");
	free(sh);
	/* Text streamed to stdout, progress on stderr. */
	assert_true(tu_contains(f->run.out, "I will write the script first."));
	assert_true(tu_contains(f->run.out, "Done: src/hello.sh prints a "
					    "greeting."));
	assert_true(tu_contains(f->run.err, "[shell_execute] $ sh src/hello.sh "
					    "'the sandbox'"));
	assert_true(tu_contains(f->run.err, "-> exit 0"));
}

static void test_start_banner_names_model_and_sandbox(void **state)
{
	struct fx *f = *state;
	agent(f, "final_answer", NULL);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "monkey: model claude-sonnet-4-5 "
					    "(anthropic, http://127.0.0.1:"));
	assert_true(tu_contains(f->run.err, "monkey: sandbox spawn"));
}

static void test_banner_reports_sandbox_fallback(void **state)
{
	struct fx *f = *state;
	/* Docker whose daemon cannot be reached. */
	ta_server_start(&f->srv, "final_answer");
	static const char *args[] = {"--docker", NULL};
	/* No image named: that would forbid the fallback. */
	const char *env[] = {"DOCKER_HOST=unix:///nonexistent/docker.sock",
			     "MONKEY_DOCKER_IMAGE=", NULL};
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", args, env), 0);
	f->tr = ta_transcript(&f->ws);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "monkey: sandbox spawn "
					    "(docker was requested"));
	assert_string_equal(
	    ta_str(ta_record(f->tr, "header", 0), "sandbox.backend"), "spawn");
	assert_true(
	    ta_bool(ta_record(f->tr, "header", 0), "sandbox.fell_back"));
}

static void test_no_fallback_makes_missing_sandbox_an_error(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--sandbox", "nosuchbackend",
				     "--no-fallback", NULL};
	agent(f, "final_answer", args);
	assert_int_not_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "nosuchbackend"));
	assert_int_equal(ta_requests_ok(&f->srv), 0);
}

static void test_openai_provider_runs_parallel_tool_calls(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--model", "gpt-4.1", NULL};
	agent(f, "openai_multistep", args);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 2);
	assert_true(tu_contains(f->run.out, "The list has 12 bytes."));
	assert_string_equal(ta_str(ta_record(f->tr, "header", 0), "provider"),
			    "openai");
}

static void test_provider_follows_the_key_that_is_set(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(
	    &f->srv, "{\"provider\": \"openai\", \"steps\": [{\"expect\": "
		     "{\"model\": \"gpt-4.1\"}, \"reply\": {\"text\": "
		     "\"ok\"}}]}");
	const char *env[] = {"ANTHROPIC_API_KEY=", NULL};
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", NULL, env), 0);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_model_alias_is_resolved(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(&f->srv,
			     "{\"steps\": [{\"expect\": {\"model\": "
			     "\"claude-sonnet-4-0\"}, \"reply\": {\"text\": "
			     "\"ok\"}}]}");
	static const char *args[] = {"--model", "claude-sonnet-4", NULL};
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", args, NULL),
			 0);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_missing_api_key_is_an_error_naming_it(void **state)
{
	struct fx *f = *state;
	ta_server_start(&f->srv, "final_answer");
	const char *env[] = {"ANTHROPIC_API_KEY=", "OPENAI_API_KEY=", NULL};
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", NULL, env), 0);
	assert_int_equal(f->run.status, 2);
	assert_true(tu_contains(f->run.err, "ANTHROPIC_API_KEY is not set"));
	/* Nothing ran: no request, no transcript. */
	assert_int_equal(ta_requests_ok(&f->srv), 0);
	assert_null(ta_transcript(&f->ws));

	tu_run_free(&f->run);
	static const char *args[] = {"--provider", "openai", NULL};
	const char *env2[] = {"OPENAI_API_KEY=", NULL};
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", args, env2),
			 0);
	assert_int_equal(f->run.status, 2);
	assert_true(tu_contains(f->run.err, "OPENAI_API_KEY is not set"));
}

static void test_task_is_required(void **state)
{
	struct fx *f = *state;
	const char *argv[] = {tu_monkey(), "agent", NULL};
	assert_int_equal(tu_run(&f->run, NULL, (char *const *)argv, NULL), 0);
	assert_int_equal(f->run.status, 2);
	assert_true(tu_contains(f->run.err, "--task"));
}

static void test_task_file_is_read(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(&f->srv,
			     "{\"steps\": [{\"expect\": {\"body_contains\": "
			     "\"refactor the parser\"}, \"reply\": {\"text\": "
			     "\"ok\"}}]}");
	char path[4300];
	snprintf(path, sizeof(path), "%s/task.txt", f->srv.dir);
	tu_write_file(path, "refactor the parser\n");
	ta_backend_path();
	char base[128];
	snprintf(base, sizeof(base), "ANTHROPIC_BASE_URL=%s", f->srv.url);
	const char *argv[] = {
	    tu_monkey(),   "agent",   "--task-file",	 path,
	    "--workspace", f->ws.dir, "--no-transcript", NULL};
	const char *env[] = {"ANTHROPIC_API_KEY=" TA_KEY, base, NULL};
	assert_int_equal(
	    tu_run(&f->run, NULL, (char *const *)argv, (char *const *)env), 0);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_tool_argument_errors_go_back_to_the_model(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "a.txt"), "alpha\n");
	agent(f, "tools_errors", NULL);
	assert_int_equal(f->run.status, 0);
	/* The server checked each error result (tests/agent/tools_errors). */
	assert_int_equal(ta_requests_ok(&f->srv), 2);
	assert_int_equal(ta_count_records(f->tr, "tool_result"), 7);
	assert_null(ta_read(ta_path(&f->ws, "b.txt")));
}

static void test_path_escapes_are_error_results(void **state)
{
	struct fx *f = *state;
	/* ws/link -> a directory outside; ws/filelink -> a file outside. */
	char *outside = tu_mkdtemp();
	char secret[4200], target[4200];
	snprintf(secret, sizeof(secret), "%s/secret.txt", outside);
	tu_write_file(secret, "top secret\n");
	assert_int_equal(symlink(outside, ta_path(&f->ws, "link")), 0);
	assert_int_equal(symlink(secret, ta_path(&f->ws, "filelink")), 0);
	snprintf(target, sizeof(target), "%s/missing/x", outside);
	assert_int_equal(symlink(target, ta_path(&f->ws, "dangling")), 0);
	/* ../outside relative to the workspace. */
	char up[4200];
	snprintf(up, sizeof(up), "%s/../outside", f->ws.dir);
	assert_int_equal(symlink(outside, up) == 0 || errno == EEXIST, 1);
	agent(f, "escapes", NULL);
	unlink(up);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 2);
	/* Nothing was written or changed outside. */
	char planted[4300];
	snprintf(planted, sizeof(planted), "%s/planted.txt", outside);
	assert_int_equal(access(planted, F_OK), -1);
	char *s = ta_read(secret);
	assert_string_equal(s, "top secret\n");
	free(s);
	assert_false(tu_contains(f->run.out, "top secret"));
	tu_rmrf(outside);
	free(outside);
}

static void test_api_key_never_reaches_commands(void **state)
{
	struct fx *f = *state;
	ta_server_start(&f->srv, "secrets");
	const char *env[] = {"MY_SECRET_TOKEN=hunter2", NULL};
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "show env", NULL, env), 0);
	assert_int_equal(f->run.status, 0);
	/* The server checked the env output (tests/agent/secrets.json). */
	assert_int_equal(ta_requests_ok(&f->srv), 2);
}

static void test_api_key_never_appears_in_transcript(void **state)
{
	struct fx *f = *state;
	ta_server_start(&f->srv, "secrets");
	/* Even a task that quotes the key does not leak it. */
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws,
				  "why does " TA_KEY " fail?", NULL, NULL),
			 0);
	assert_int_equal(f->run.status, 0);
	char *t = ta_read(f->ws.transcript);
	assert_non_null(t);
	assert_false(tu_contains(t, TA_KEY));
	assert_true(tu_contains(t, "why does [REDACTED] fail?"));
	free(t);
	struct stat st;
	assert_int_equal(stat(f->ws.transcript, &st), 0);
	assert_int_equal(st.st_mode & 077, 0); /* private to the user */
}

static void test_credentials_in_base_url_are_masked(void **state)
{
	struct fx *f = *state;
	ta_server_start(&f->srv, "final_answer");
	char url[128];
	snprintf(url, sizeof(url),
		 "ANTHROPIC_BASE_URL=http://me:pa55word@"
		 "127.0.0.1:%d",
		 f->srv.port);
	const char *env[] = {url, NULL};
	assert_int_equal(ta_agent(&f->run, NULL, &f->ws, "t", NULL, env), 0);
	assert_int_equal(f->run.status, 0);
	assert_true(
	    tu_contains(f->run.err, "(anthropic, http://***@127.0.0.1:"));
	assert_false(tu_contains(f->run.err, "pa55word"));
	char *t = ta_read(f->ws.transcript);
	assert_false(tu_contains(t, "pa55word"));
	free(t);
}

static void test_transcript_records_the_run(void **state)
{
	struct fx *f = *state;
	agent(f, "multistep", NULL);
	assert_int_equal(f->run.status, 0);
	json_object *h = ta_record(f->tr, "header", 0);
	assert_non_null(h);
	assert_int_equal(ta_int(h, "version"), 1);
	assert_string_equal(ta_str(h, "model"), "claude-sonnet-4-5");
	assert_string_equal(ta_str(h, "provider"), "anthropic");
	assert_string_equal(ta_str(h, "task"), "do the task");
	assert_string_equal(ta_str(h, "sandbox.backend"), "spawn");
	assert_int_equal(ta_int(h, "sandbox.limits.timeout_ms"), 60000);
	assert_int_equal(ta_count_records(f->tr, "model"), 3);
	assert_string_equal(
	    ta_str(ta_record(f->tr, "model", 0), "content.1.input.path"),
	    "src/hello.sh");
	json_object *call = ta_record(f->tr, "tool_call", 1);
	assert_string_equal(ta_str(call, "name"), "shell_execute");
	assert_string_equal(ta_str(call, "arguments.command.2"), "the sandbox");
	json_object *c = ta_record(f->tr, "command", 0);
	assert_non_null(c);
	assert_string_equal(ta_str(c, "backend"), "spawn");
	assert_string_equal(ta_str(c, "argv.0"), "sh");
	assert_string_equal(ta_str(c, "workdir"), ".");
	assert_int_equal(ta_int(c, "exit_code"), 0);
	assert_false(ta_bool(c, "timedOut"));
	assert_true(json_object_object_get_ex(c, "duration_ms", NULL));
	/* null: spawn cannot tell. */
	assert_true(json_object_object_get_ex(c, "oomKilled", NULL));
	assert_int_equal(ta_int(c, "stdout_bytes"),
			 strlen("hi from the sandbox\n"));
	assert_int_equal(ta_int(c, "stderr_bytes"), 0);
	assert_int_equal(strlen(ta_str(c, "stdout_sha256")), 64);
	json_object *e = ta_record(f->tr, "end", 0);
	assert_string_equal(ta_str(e, "reason"), "answer");
	assert_int_equal(ta_int(e, "iterations"), 3);
	assert_int_equal(ta_int(e, "tool_calls"), 2);
}

static void test_default_transcript_goes_under_monkey_sessions(void **state)
{
	struct fx *f = *state;
	ta_server_start(&f->srv, "final_answer");
	ta_backend_path();
	char base[128];
	snprintf(base, sizeof(base), "ANTHROPIC_BASE_URL=%s", f->srv.url);
	const char *argv[] = {tu_monkey(),   "agent",	"--task", "t",
			      "--workspace", f->ws.dir, NULL};
	const char *env[] = {"ANTHROPIC_API_KEY=" TA_KEY, base, NULL};
	assert_int_equal(
	    tu_run(&f->run, NULL, (char *const *)argv, (char *const *)env), 0);
	assert_int_equal(f->run.status, 0);
	char *p = strstr(f->run.err, "monkey: transcript ");
	assert_non_null(p);
	p += strlen("monkey: transcript ");
	p[strcspn(p, "\n")] = '\0';
	char want[4300];
	snprintf(want, sizeof(want), "%s/.monkey/sessions/", f->ws.dir);
	assert_int_equal(strncmp(p, want, strlen(want)), 0);
	assert_true(tu_contains(p, ".jsonl"));
	assert_int_equal(access(p, R_OK), 0);
	/* Sessions stay out of the project's git commits. */
	char *ign = ta_read(ta_path(&f->ws, ".monkey/.gitignore"));
	assert_non_null(ign);
	assert_string_equal(ign, "*\n");
	free(ign);
}

static void test_max_iterations_stops_and_says_so(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--max-iterations", "3", NULL};
	agent(f, "max_iterations", args);
	assert_int_equal(f->run.status, 3);
	assert_true(tu_contains(f->run.err, "stopped after 3 iterations "
					    "without a final answer"));
	assert_int_equal(ta_requests_ok(&f->srv), 3);
	assert_string_equal(ta_str(ta_record(f->tr, "end", 0), "reason"),
			    "max_iterations");
}

static void test_max_tokens_stop_reason_says_so(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(&f->srv,
			     "{\"steps\": [{\"reply\": {\"text\": \"The answer "
			     "is\", \"stop_reason\": \"max_tokens\"}}]}");
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", NULL, NULL),
			 0);
	assert_int_equal(f->run.status, 3);
	assert_true(tu_contains(f->run.err, "cut off at the token limit "
					    "(max_tokens)"));
}

static void test_refusal_stop_reason_says_so(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(&f->srv,
			     "{\"steps\": [{\"reply\": {\"text\": \"No.\", "
			     "\"stop_reason\": \"refusal\"}}]}");
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", NULL, NULL),
			 0);
	assert_int_equal(f->run.status, 3);
	assert_true(tu_contains(f->run.err, "the model refused to continue "
					    "(refusal)"));
}

static void test_pause_turn_is_continued(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(&f->srv,
			     "{\"steps\": [{\"reply\": {\"text\": \"Searching"
			     "...\", \"stop_reason\": \"pause_turn\"}}, "
			     "{\"expect\": {\"body_contains\": \"Searching\"}, "
			     "\"reply\": {\"text\": \" found it.\"}}]}");
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", NULL, NULL),
			 0);
	assert_int_equal(f->run.status, 0);
	/* The server checked that roles still alternate. */
	assert_int_equal(ta_requests_ok(&f->srv), 2);
	assert_true(tu_contains(f->run.out, "Searching... found it."));
}

static void test_quiet_prints_only_the_answer(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--quiet", NULL};
	agent(f, "multistep", args);
	assert_int_equal(f->run.status, 0);
	assert_string_equal(f->run.out,
			    "Done: src/hello.sh prints a greeting.\n");
	assert_false(tu_contains(f->run.err, "[shell_execute]"));
}

static void test_replay_matches_the_recording(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "data.txt"), "original\n");
	mkdir(ta_path(&f->ws, "sub"), 0755);
	agent(f, "replay", NULL);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 2);
	tu_run_free(&f->run);
	const char *argv[] = {tu_monkey(), "replay", f->ws.transcript, NULL};
	ta_backend_path();
	assert_int_equal(tu_run(&f->run, NULL, (char *const *)argv, NULL), 0);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.out, "[1/4] match      $ cat data.txt"));
	assert_true(tu_contains(f->run.out, "[2/4] match      $ sh -c"));
	assert_true(tu_contains(f->run.out, "[3/4] match      $ tr a-z A-Z"));
	assert_true(tu_contains(f->run.out, "[4/4] skipped"));
	assert_true(tu_contains(f->run.out, "3 matched, 0 mismatched, 1 "
					    "skipped"));
}

static void test_replay_reports_a_mismatch(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "data.txt"), "original\n");
	mkdir(ta_path(&f->ws, "sub"), 0755);
	agent(f, "replay", NULL);
	assert_int_equal(f->run.status, 0);
	tu_write_file(ta_path(&f->ws, "data.txt"), "changed since\n");
	tu_run_free(&f->run);
	const char *argv[] = {tu_monkey(), "replay", f->ws.transcript, NULL};
	ta_backend_path();
	assert_int_equal(tu_run(&f->run, NULL, (char *const *)argv, NULL), 0);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.out, "[1/4] MISMATCH   $ cat data.txt"));
	assert_true(tu_contains(f->run.out, "stdout 14 bytes (recorded 9)  <- "
					    "differs"));
	assert_true(tu_contains(f->run.out, "[2/4] match"));
	assert_true(tu_contains(f->run.out, "2 matched, 1 mismatched, 1 "
					    "skipped"));
}

static void test_replay_runs_through_another_backend(void **state)
{
	struct fx *f = *state;
#ifndef HAVE_BACKEND_NONE
	skip(); /* this build has no none backend to replay through */
#endif
	tu_write_file(ta_path(&f->ws, "data.txt"), "original\n");
	mkdir(ta_path(&f->ws, "sub"), 0755);
	agent(f, "replay", NULL);
	assert_int_equal(f->run.status, 0);
	tu_run_free(&f->run);
	const char *argv[] = {tu_monkey(), "replay", f->ws.transcript,
			      "--sandbox", "none",   NULL};
	ta_backend_path();
	assert_int_equal(tu_run(&f->run, NULL, (char *const *)argv, NULL), 0);
	assert_true(tu_contains(f->run.out, "with the none sandbox"));
	assert_true(tu_contains(f->run.out, "[1/4] match      $ cat data.txt"));
}

/* A replay runs commands under the recorded limits: a command that timed
 * out at --timeout 300 times out again, not at the 60 s default. */
static void test_replay_uses_the_recorded_limits(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(
	    &f->srv, "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": "
		     "\"t1\", \"name\": \"shell_execute\", \"input\": "
		     "{\"command\": [\"sleep\", \"5\"]}}]}}, {\"reply\": "
		     "{\"text\": \"slept\"}}]}");
	static const char *args[] = {"--timeout", "300", NULL};
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", args, NULL),
			 0);
	assert_int_equal(f->run.status, 0);
	tu_run_free(&f->run);
	const char *argv[] = {tu_monkey(), "replay", f->ws.transcript, NULL};
	ta_backend_path();
	assert_int_equal(tu_run(&f->run, NULL, (char *const *)argv, NULL), 0);
	assert_true(tu_contains(f->run.out, "[1/1] match      $ sleep 5"));
	assert_int_equal(f->run.status, 0);
}

static void test_replay_rejects_a_file_that_is_not_a_transcript(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "junk.jsonl"), "not json at all\n");
	const char *argv[] = {tu_monkey(), "replay",
			      ta_path(&f->ws, "junk.jsonl"), NULL};
	assert_int_equal(tu_run(&f->run, NULL, (char *const *)argv, NULL), 0);
	assert_int_equal(f->run.status, 2);
	assert_true(tu_contains(f->run.err, "junk.jsonl:1: not a JSON record"));
}

static void test_history_stays_bounded_over_many_tool_calls(void **state)
{
	struct fx *f = *state;
	/* 120 commands each printing 30 KB with a 64 KiB history budget:
	 * the request body must level off instead of growing with every
	 * call. */
	ta_server_start_json(
	    &f->srv,
	    "{\"repeat_last\": true, \"steps\": [{\"chunking\": \"whole\", "
	    "\"ping\": false, \"expect\": {\"max_body_bytes\": 100000}, "
	    "\"reply\": {\"text\": \"more\", \"tool_calls\": [{\"id\": "
	    "\"big\", \"name\": \"shell_execute\", \"input\": {\"command\": "
	    "[\"sh\", \"-c\", \"head -c 30000 /dev/zero | tr '\\\\0' "
	    "x\"]}}]}}]}");
	static const char *args[] = {"--max-iterations", "120",	  "--quiet",
				     "--history-max",	 "65536", NULL};
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", args, NULL),
			 0);
	assert_int_equal(f->run.status, 3);
	assert_int_equal(ta_requests_ok(&f->srv), 120);
	json_object *r = ta_requests(&f->srv);
	int64_t at60 = ta_int(json_object_array_get_idx(r, 59), "body_bytes");
	int64_t last = ta_int(json_object_array_get_idx(r, 119), "body_bytes");
	json_object_put(r);
	assert_true(last < 100000);
	/* Levelled off: the second half did not double it. */
	assert_true(last < at60 * 3 / 2);
}

static void test_ctrl_c_stops_command_and_exits_130(void **state)
{
	struct fx *f = *state;
	ta_server_start(&f->srv, "sleep");
	ta_backend_path();
	char base[128];
	snprintf(base, sizeof(base), "%s", f->srv.url);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setenv("ANTHROPIC_API_KEY", TA_KEY, 1);
		setenv("ANTHROPIC_BASE_URL", base, 1);
		execl(tu_monkey(), "monkey", "agent", "--task", "sleep",
		      "--workspace", f->ws.dir, "--transcript",
		      f->ws.transcript, (char *)NULL);
		_exit(127);
	}
	/* Wait for the command to start, then press Ctrl-C. */
	char *pidtext = NULL;
	for (int i = 0; i < 400 && !pidtext; i++) {
		pidtext = ta_read(ta_path(&f->ws, "sleeper.pid"));
		if (pidtext && !strchr(pidtext, '\n')) {
			free(pidtext);
			pidtext = NULL;
		}
		struct timespec ts = {0, 25 * 1000000L};
		nanosleep(&ts, NULL);
	}
	assert_non_null(pidtext);
	pid_t sleeper = atoi(pidtext);
	free(pidtext);
	assert_int_equal(kill(pid, SIGINT), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 130);
	/* The command is gone, the transcript says why it ended. */
	assert_int_equal(kill(sleeper, 0), -1);
	f->tr = ta_transcript(&f->ws);
	json_object *c = ta_record(f->tr, "command", 0);
	assert_non_null(c);
	assert_true(ta_bool(c, "cancelled"));
	assert_string_equal(ta_str(ta_record(f->tr, "end", 0), "reason"),
			    "cancelled");
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_multi_step_task_writes_file_and_runs_command),
	    T(test_start_banner_names_model_and_sandbox),
	    T(test_banner_reports_sandbox_fallback),
	    T(test_no_fallback_makes_missing_sandbox_an_error),
	    T(test_openai_provider_runs_parallel_tool_calls),
	    T(test_provider_follows_the_key_that_is_set),
	    T(test_model_alias_is_resolved),
	    T(test_missing_api_key_is_an_error_naming_it),
	    T(test_task_is_required),
	    T(test_task_file_is_read),
	    T(test_tool_argument_errors_go_back_to_the_model),
	    T(test_path_escapes_are_error_results),
	    T(test_api_key_never_reaches_commands),
	    T(test_api_key_never_appears_in_transcript),
	    T(test_credentials_in_base_url_are_masked),
	    T(test_transcript_records_the_run),
	    T(test_default_transcript_goes_under_monkey_sessions),
	    T(test_max_iterations_stops_and_says_so),
	    T(test_max_tokens_stop_reason_says_so),
	    T(test_refusal_stop_reason_says_so),
	    T(test_pause_turn_is_continued),
	    T(test_quiet_prints_only_the_answer),
	    T(test_replay_matches_the_recording),
	    T(test_replay_reports_a_mismatch),
	    T(test_replay_runs_through_another_backend),
	    T(test_replay_uses_the_recorded_limits),
	    T(test_replay_rejects_a_file_that_is_not_a_transcript),
	    T(test_history_stays_bounded_over_many_tool_calls),
	    T(test_ctrl_c_stops_command_and_exits_130),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
