/* monkey agent end to end against the local LLM server: the task loop,
 * tools and their confinement, the transcript, keys kept out of
 * commands and transcripts, the end conditions, bounded history. */
#include "config.h"

#include <dirent.h>
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

#include <monkey/backend.h>

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
	/* Resource use follows the time: "in 3 ms, 1 ms CPU" (the peak
	 * memory of so small a command is more than spawn can tell). */
	const char *sum = strstr(f->run.err, "-> exit 0 in ");
	long long ms, cpu;
	assert_int_equal(
	    sscanf(sum, "-> exit 0 in %lld ms, %lld ms CPU", &ms, &cpu), 2);
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
	assert_true(ta_bool(ta_record(f->tr, "header", 0), "sandbox.fellBack"));
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

	/* The OpenAI provider without a server of the user's own. */
	tu_run_free(&f->run);
	static const char *args[] = {"--provider", "openai", NULL};
	const char *env2[] = {"OPENAI_API_KEY=", "OPENAI_BASE_URL=", NULL};
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
	assert_int_equal(ta_int(h, "version"), 2);
	assert_string_equal(ta_str(h, "model"), "claude-sonnet-4-5");
	assert_string_equal(ta_str(h, "provider"), "anthropic");
	assert_string_equal(ta_str(h, "task"), "do the task");
	assert_string_equal(ta_str(h, "sandbox.backend"), "spawn");
	assert_int_equal(ta_int(h, "sandbox.limits.timeoutMs"), 60000);
	assert_int_equal(ta_int(h, "sandbox.safety"), MONKEY_SAFETY_MEDIUM);
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
	assert_int_equal(ta_int(c, "exitCode"), 0);
	assert_false(ta_bool(c, "timedOut"));
	assert_true(json_object_object_get_ex(c, "durationMs", NULL));
	/* null: spawn cannot tell. */
	assert_true(json_object_object_get_ex(c, "oomKilled", NULL));
	assert_true(json_object_object_get_ex(c, "peakMemoryBytes", NULL));
	assert_true(ta_int(c, "cpuUserMs") >= 0);
	assert_true(json_object_object_get_ex(c, "cpuSystemMs", NULL));
	assert_int_equal(ta_int(c, "stdoutBytes"),
			 strlen("hi from the sandbox\n"));
	assert_int_equal(ta_int(c, "stderrBytes"), 0);
	assert_int_equal(strlen(ta_str(c, "stdoutSha256")), 64);
	json_object *e = ta_record(f->tr, "end", 0);
	assert_string_equal(ta_str(e, "reason"), "answer");
	assert_int_equal(ta_int(e, "iterations"), 3);
	assert_int_equal(ta_int(e, "toolCalls"), 2);
}

/* Every key the transcript itself names is camelCase, as in "monkey exec
 * --json"; the model's tool arguments are its own and kept as sent. */
static void assert_camel_keys(json_object *o, const char *where)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			assert_camel_keys(json_object_array_get_idx(o, i),
					  where);
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, k, v)
	{
		if (strchr(k, '_') || (k[0] >= 'A' && k[0] <= 'Z'))
			fail_msg("key '%s' in a %s record is not camelCase", k,
				 where);
		if (strcmp(k, "input") && strcmp(k, "arguments"))
			assert_camel_keys(v, where);
	}
}

static void test_transcript_speaks_the_json_output_vocabulary(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "data.txt"), "original\n");
	mkdir(ta_path(&f->ws, "sub"), 0755);
	agent(f, "replay", NULL);
	assert_int_equal(f->run.status, 0);
	for (size_t i = 0; i < json_object_array_length(f->tr); i++) {
		json_object *r = json_object_array_get_idx(f->tr, i);
		assert_camel_keys(r, ta_str(r, "type"));
	}
	json_object *c = ta_record(f->tr, "command", 1);
	assert_int_equal(ta_int(c, "exitCode"), 3);
	assert_string_equal(ta_str(c, "stderr"), "to-stderr\n");
	assert_string_equal(ta_str(ta_record(f->tr, "command", 0), "stdout"),
			    "original\n");
	/* spawn enforces no memory limit (an address-space rlimit only), no
	 * CPU share, no process count, no network isolation, no read-only
	 * root: the header does not claim them. */
	json_object *l = NULL;
	json_object_object_get_ex(ta_record(f->tr, "header", 0), "sandbox", &l);
	json_object_object_get_ex(l, "limits", &l);
	assert_non_null(l);
	const char *absent[] = {"memoryMb", "cpus",	"pids",
				"network",  "readOnly", "image"};
	for (size_t i = 0; i < sizeof(absent) / sizeof(*absent); i++)
		if (json_object_object_get_ex(l, absent[i], NULL))
			fail_msg("spawn's header lists %s", absent[i]);
	assert_int_equal(ta_int(l, "timeoutMs"), 60000);
	assert_int_equal(ta_int(l, "addressSpaceMb"), 256);
}

/* The copy of the output a command record keeps is bounded: head and
 * tail, MONKEY_TRANSCRIPT_OUTPUT_COPY (4 KiB) in all. */
static void test_transcript_keeps_a_bounded_copy_of_output(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(
	    &f->srv,
	    "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"t1\", "
	    "\"name\": \"shell_execute\", \"input\": {\"command\": [\"sh\", "
	    "\"-c\", \"echo HEAD; seq 100000; echo TAIL\"]}}]}}, {\"reply\": "
	    "{\"text\": \"ok\"}}]}");
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", NULL, NULL),
			 0);
	assert_int_equal(f->run.status, 0);
	f->tr = ta_transcript(&f->ws);
	json_object *c = ta_record(f->tr, "command", 0);
	const char *out = ta_str(c, "stdout");
	assert_non_null(out);
	assert_true(strlen(out) <= 4096 + 64);
	assert_true(!strncmp(out, "HEAD\n1\n2\n", 9));
	assert_true(tu_contains(out, "bytes omitted"));
	assert_true(tu_contains(out, "99999\n100000\nTAIL\n"));
	assert_true(ta_int(c, "stdoutBytes") > 500000);
}

/* monkey agent without --transcript, with env_extra; returns the path of
 * the transcript it reports (static), or NULL when it reported none. */
static const char *agent_default_transcript(struct fx *f,
					    const char *const *env_extra)
{
	if (!f->srv.pid)
		ta_server_start_json(&f->srv,
				     "{\"repeat_last\": true, \"steps\": "
				     "[{\"reply\": {\"text\": \"ok\"}}]}");
	ta_backend_path();
	tu_run_free(&f->run);
	char base[128];
	snprintf(base, sizeof(base), "ANTHROPIC_BASE_URL=%s", f->srv.url);
	const char *argv[] = {tu_monkey(),   "agent",	"--task", "t",
			      "--workspace", f->ws.dir, NULL};
	const char *env[16] = {"ANTHROPIC_API_KEY=" TA_KEY, base};
	for (size_t i = 0; env_extra && env_extra[i] && i < 13; i++)
		env[2 + i] = env_extra[i];
	assert_int_equal(
	    tu_run(&f->run, NULL, (char *const *)argv, (char *const *)env), 0);
	printf("--- monkey exited %d; stderr:\n%s---\n", f->run.status,
	       f->run.err);
	static char path[4300];
	char *p = strstr(f->run.err, "monkey: transcript ");
	if (!p)
		return NULL;
	p += strlen("monkey: transcript ");
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(p, "\n"), p);
	return path;
}

static int mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return (int)(st.st_mode & 07777);
}

/* Nothing monkey keeps may live where a sandbox writes. */
static void assert_workspace_untouched(struct fx *f)
{
	assert_int_equal(access(ta_path(&f->ws, ".monkey"), F_OK), -1);
	DIR *d = opendir(f->ws.dir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	assert_int_equal(n, 0);
}

static void test_default_transcript_goes_to_xdg_state_home(void **state)
{
	struct fx *f = *state;
	char *tmp = tu_mkdtemp(), xdg[4200], env[4300], want[4300];
	snprintf(xdg, sizeof(xdg), "%s/state", tmp); /* created 0700 */
	snprintf(env, sizeof(env), "XDG_STATE_HOME=%s", xdg);
	const char *extra[] = {env, "HOME=/nonexistent", NULL};
	const char *path = agent_default_transcript(f, extra);
	assert_int_equal(f->run.status, 0);
	assert_non_null(path);
	snprintf(want, sizeof(want), "%s/monkey/sessions/", xdg);
	assert_int_equal(strncmp(path, want, strlen(want)), 0);
	assert_true(tu_contains(path + strlen(want), ".jsonl"));
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(mode_of(xdg), 0700);
	snprintf(want, sizeof(want), "%s/monkey", xdg);
	assert_int_equal(mode_of(want), 0700);
	snprintf(want, sizeof(want), "%s/monkey/sessions", xdg);
	assert_int_equal(mode_of(want), 0700);
	f->tr = ta_transcript(&f->ws); /* none at --transcript's place */
	assert_null(f->tr);
	assert_workspace_untouched(f);
	tu_rmrf(tmp);
	free(tmp);
}

static void test_default_transcript_falls_back_to_home(void **state)
{
	struct fx *f = *state;
	char *home = tu_mkdtemp(), env[4300], want[4300];
	snprintf(env, sizeof(env), "HOME=%s", home);
	/* Unset, then relative: both mean "not set" (XDG spec). */
	const char *unset[] = {env, "XDG_STATE_HOME=", NULL};
	const char *relative[] = {env, "XDG_STATE_HOME=rel/state", NULL};
	const char *const *cases[] = {unset, relative};
	for (int i = 0; i < 2; i++) {
		const char *path = agent_default_transcript(f, cases[i]);
		assert_int_equal(f->run.status, 0);
		assert_non_null(path);
		snprintf(want, sizeof(want), "%s/.local/state/monkey/sessions/",
			 home);
		assert_int_equal(strncmp(path, want, strlen(want)), 0);
		assert_int_equal(mode_of(path), 0600);
	}
	assert_int_equal(access("rel", F_OK), -1);
	const char *dirs[] = {".local", ".local/state", ".local/state/monkey",
			      ".local/state/monkey/sessions"};
	for (int i = 0; i < 4; i++) {
		snprintf(want, sizeof(want), "%s/%s", home, dirs[i]);
		assert_int_equal(mode_of(want), 0700);
	}
	assert_workspace_untouched(f);
	tu_rmrf(home);
	free(home);
}

/* A link planted at any directory below the base, or at the file, would
 * let whoever planted it choose where monkey writes. */
static void test_symlink_at_any_transcript_component_is_refused(void **state)
{
	struct fx *f = *state;
	const char *comps[] = {".local", ".local/state", ".local/state/monkey",
			       ".local/state/monkey/sessions"};
	for (int i = 0; i < 4; i++) {
		char *home = tu_mkdtemp(), *elsewhere = tu_mkdtemp();
		char env[4300], at[4300];
		for (int k = 0; k < i; k++) {
			snprintf(at, sizeof(at), "%s/%s", home, comps[k]);
			assert_int_equal(mkdir(at, 0700), 0);
		}
		snprintf(at, sizeof(at), "%s/%s", home, comps[i]);
		assert_int_equal(symlink(elsewhere, at), 0);
		snprintf(env, sizeof(env), "HOME=%s", home);
		const char *extra[] = {env, "XDG_STATE_HOME=", NULL};
		assert_null(agent_default_transcript(f, extra));
		assert_int_equal(f->run.status, 1);
		char want[4400];
		snprintf(want, sizeof(want), "%s is a symbolic link", at);
		assert_true(tu_contains(f->run.err, want));
		/* Nothing was written through it. */
		DIR *d = opendir(elsewhere);
		int n = 0;
		struct dirent *e;
		while ((e = readdir(d)))
			n += e->d_name[0] != '.';
		closedir(d);
		assert_int_equal(n, 0);
		tu_rmrf(home);
		tu_rmrf(elsewhere);
		free(home);
		free(elsewhere);
	}
	assert_int_equal(ta_requests_ok(&f->srv), 0);
	assert_workspace_untouched(f);
}

static void test_transcript_dir_not_ours_is_refused(void **state)
{
	struct fx *f = *state;
	char *xdg = tu_mkdtemp(), env[4300], at[4300];
	snprintf(env, sizeof(env), "XDG_STATE_HOME=%s", xdg);
	const char *extra[] = {env, NULL};
	snprintf(at, sizeof(at), "%s/monkey", xdg);
	assert_int_equal(mkdir(at, 0700), 0);
	/* Someone else's directory (the tests run as root). */
	if (geteuid() == 0) {
		assert_int_equal(chown(at, 65534, 65534), 0);
		assert_null(agent_default_transcript(f, extra));
		assert_int_equal(f->run.status, 1);
		char want[4400];
		snprintf(want, sizeof(want), "%s belongs to uid 65534", at);
		assert_true(tu_contains(f->run.err, want));
		assert_int_equal(chown(at, 0, 0), 0);
	}
	/* One of ours that anybody may write. */
	snprintf(at, sizeof(at), "%s/monkey/sessions", xdg);
	assert_int_equal(mkdir(at, 0700), 0);
	snprintf(at, sizeof(at), "%s/monkey", xdg);
	chmod(xdg, 0777);
	assert_null(agent_default_transcript(f, extra));
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "is writable by other users"));
	chmod(xdg, 0700);
	/* monkey's own directories are made private again. */
	chmod(at, 0755);
	assert_non_null(agent_default_transcript(f, extra));
	assert_int_equal(f->run.status, 0);
	assert_int_equal(mode_of(at), 0700);
	tu_rmrf(xdg);
	free(xdg);
}

/* The model is told the truth about its sandbox: the backend in use, its
 * network, what it enforces and not, the absolute workspace. */
static void test_system_prompt_describes_the_sandbox_in_use(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(&f->srv, "{\"repeat_last\": true, \"steps\": "
				      "[{\"reply\": {\"text\": \"ok\"}}]}");
	static const char *spawn[] = {"--timeout", "12345", NULL};
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", spawn, NULL),
			 0);
	assert_int_equal(f->run.status, 0);
	char *p = ta_request_system(&f->srv, 0);
	assert_non_null(p);
	char *root = realpath(f->ws.dir, NULL), want[4400];
	snprintf(want, sizeof(want), "The workspace is %s;", root);
	free(root);
	assert_true(tu_contains(p, want));
	assert_true(tu_contains(p, "'spawn' sandbox"));
	assert_true(tu_contains(p, "this machine's network"));
	assert_true(tu_contains(p, "killed after 12345 ms"));
	assert_false(tu_contains(p, "no network unless"));
	free(p);
#ifdef HAVE_BACKEND_NONE
	static const char *none[] = {"--sandbox", "none", NULL};
	tu_run_free(&f->run);
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", none, NULL),
			 0);
	assert_int_equal(f->run.status, 0);
	p = ta_request_system(&f->srv, 1);
	assert_non_null(p);
	assert_true(tu_contains(p, "there is NO sandbox"));
	assert_true(tu_contains(p, "/bin/sh -c"));
	assert_false(tu_contains(p, "without a shell"));
	free(p);
#endif
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
	    T(test_transcript_speaks_the_json_output_vocabulary),
	    T(test_transcript_keeps_a_bounded_copy_of_output),
	    T(test_default_transcript_goes_to_xdg_state_home),
	    T(test_default_transcript_falls_back_to_home),
	    T(test_symlink_at_any_transcript_component_is_refused),
	    T(test_transcript_dir_not_ours_is_refused),
	    T(test_system_prompt_describes_the_sandbox_in_use),
	    T(test_max_iterations_stops_and_says_so),
	    T(test_max_tokens_stop_reason_says_so),
	    T(test_refusal_stop_reason_says_so),
	    T(test_pause_turn_is_continued),
	    T(test_quiet_prints_only_the_answer),
	    T(test_history_stays_bounded_over_many_tool_calls),
	    T(test_ctrl_c_stops_command_and_exits_130),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
