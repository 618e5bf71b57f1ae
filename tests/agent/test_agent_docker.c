/* monkey agent --docker against a real Docker engine: commands run in the
 * container with the workspace mounted, and the first Ctrl-C stops the
 * running command, removes its container and exits 130.  Skips without an
 * engine, unless CI=true or MONKEY_REQUIRE_DOCKER=1 (then it fails). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_agent_harness.h"

static const char *image(void)
{
	const char *i = getenv("MONKEY_DOCKER_IMAGE");
	return i && *i ? i : "monkey-test:busybox";
}

static bool required(void)
{
	const char *ci = getenv("CI"), *req = getenv("MONKEY_REQUIRE_DOCKER");
	return (ci && !strcmp(ci, "true")) || (req && !strcmp(req, "1"));
}

/* Containers monkey process pid left behind (label monkey.sandbox is
 * "<pid>-<start time>" of the monkey that made them). */
static int containers_of(pid_t pid)
{
	const char *argv[] = {"/usr/bin/docker",
			      "ps",
			      "-a",
			      "--filter",
			      "label=monkey.sandbox",
			      "--format",
			      "{{.Label \"monkey.sandbox\"}}",
			      NULL};
	struct tu_run r;
	if (tu_run(&r, NULL, (char *const *)argv, NULL) < 0 || r.status) {
		tu_run_free(&r);
		return -1;
	}
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "%d-", (int)pid);
	int n = 0;
	for (char *l = r.out; l && *l;
	     l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, prefix, strlen(prefix)))
			n++;
	tu_run_free(&r);
	return n;
}

static bool have_engine(void)
{
	const char *argv[] = {"/usr/bin/docker", "image", "inspect", image(),
			      NULL};
	struct tu_run r;
	if (access(argv[0], X_OK) != 0)
		return false;
	bool ok =
	    tu_run(&r, NULL, (char *const *)argv, NULL) == 0 && r.status == 0;
	tu_run_free(&r);
	return ok;
}

/* Group setup: fails the whole group when Docker is required but absent. */
static int engine_ready(void **state)
{
	(void)state;
	if (have_engine())
		return 0;
	if (required()) {
		fprintf(stderr,
			"Docker with image %s is required here (CI=true "
			"or MONKEY_REQUIRE_DOCKER=1) but not available\n",
			image());
		return -1;
	}
	printf("no Docker engine with image %s: skipping\n", image());
	return 0;
}

static void test_commands_run_in_the_container(void **state)
{
	(void)state;
	if (!have_engine())
		skip();
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	ta_ws_new(&ws);
	ta_server_start_json(
	    &srv,
	    "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"d1\", "
	    "\"name\": \"write_file\", \"input\": {\"path\": \"in/x.txt\", "
	    "\"content\": \"from the host\\n\"}}, {\"id\": \"d2\", \"name\": "
	    "\"shell_execute\", \"input\": {\"command\": [\"sh\", \"-c\", "
	    "\"cat x.txt; hostname > /tmp/h; echo made > made.txt\"], "
	    "\"workdir\": \"in\"}}]}}, {\"expect\": {\"tool_results\": "
	    "[{\"is_error\": false}, {\"contains\": \"from the host\", "
	    "\"is_error\": false}]}, \"reply\": {\"text\": \"ok\"}}]}");
	const char *args[] = {"--docker", "--no-fallback", "--image", image(),
			      NULL};
	assert_int_equal(ta_agent(&run, &srv, &ws, "t", args, NULL), 0);
	assert_int_equal(run.status, 0);
	assert_true(tu_contains(run.err, "monkey: sandbox docker"));
	assert_int_equal(ta_requests_ok(&srv), 2);
	char *made = ta_read(ta_path(&ws, "in/made.txt"));
	assert_non_null(made);
	assert_string_equal(made, "made\n");
	free(made);
	json_object *tr = ta_transcript(&ws);
	assert_string_equal(ta_str(ta_record(tr, "command", 0), "backend"),
			    "docker");
	json_object_put(tr);
	tu_run_free(&run);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

/* The model hears what the container enforces: no network, the limits,
 * the workspace path. */
static void test_system_prompt_describes_the_container(void **state)
{
	(void)state;
	if (!have_engine())
		skip();
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	ta_ws_new(&ws);
	ta_server_start_json(&srv,
			     "{\"steps\": [{\"reply\": {\"text\": \"ok\"}}]}");
	const char *args[] = {"--docker", "--no-fallback", "--image", image(),
			      "--memory", "128",	   NULL};
	assert_int_equal(ta_agent(&run, &srv, &ws, "t", args, NULL), 0);
	assert_int_equal(run.status, 0);
	char *p = ta_request_system(&srv, 0);
	assert_non_null(p);
	assert_true(tu_contains(p, "'docker' sandbox"));
	assert_true(tu_contains(p, "Commands have no network access"));
	assert_true(tu_contains(p, "see only the workspace"));
	assert_true(tu_contains(p, "memory 128 MB"));
	assert_false(tu_contains(p, "Not enforced here"));
	free(p);
	tu_run_free(&run);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

/* A mistyped image is an error the model sees, never a reason to run its
 * commands on the host (the pull goes to a closed loopback port: no
 * traffic leaves the machine). */
static void
test_missing_image_never_runs_the_model_s_commands_on_host(void **state)
{
	(void)state;
	if (!have_engine())
		skip();
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	ta_ws_new(&ws);
	ta_server_start_json(
	    &srv, "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"d1\", "
		  "\"name\": \"shell_execute\", \"input\": {\"command\": "
		  "[\"touch\", \"ran-on-host\"]}}]}}, {\"expect\": "
		  "{\"tool_results\": [{\"contains\": "
		  "\"docker pull 127.0.0.1:1/trial/hostrot:1\"}]}, \"reply\": "
		  "{\"text\": \"ok\"}}]}");
	const char *args[] = {"--docker", "--image",
			      "127.0.0.1:1/trial/hostrot:1", NULL};
	assert_int_equal(ta_agent(&run, &srv, &ws, "t", args, NULL), 0);
	assert_false(tu_contains(run.err, "falling back"));
	assert_true(tu_contains(run.err, "monkey: sandbox docker"));
	assert_int_equal(ta_requests_ok(&srv), 2);
	char *host = ta_read(ta_path(&ws, "ran-on-host"));
	assert_null(host);
	tu_run_free(&run);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

/* A command that runs into --pids: the model's tool result and the
 * transcript both name the limit. */
static void test_a_limit_hit_is_told_to_the_model_and_recorded(void **state)
{
	(void)state;
	if (!have_engine())
		skip();
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	ta_ws_new(&ws);
	ta_server_start_json(
	    &srv,
	    "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"d1\", "
	    "\"name\": \"shell_execute\", \"input\": {\"command\": [\"sh\", "
	    "\"-c\", \"for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; "
	    "wait\"]}}]}}, {\"expect\": {\"tool_results\": [{\"contains\": "
	    "\"limit_hit: pids\"}]}, \"reply\": {\"text\": \"ok\"}}]}");
	const char *args[] = {"--docker", "--no-fallback", "--image",
			      image(),	  "--pids",	   "4",
			      NULL};
	assert_int_equal(ta_agent(&run, &srv, &ws, "t", args, NULL), 0);
	assert_int_equal(run.status, 0);
	assert_int_equal(ta_requests_ok(&srv), 2);
	json_object *tr = ta_transcript(&ws);
	assert_string_equal(ta_str(ta_record(tr, "command", 0), "limitHit"),
			    "pids");
	json_object_put(tr);
	tu_run_free(&run);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

/* Two commands whose second needs what the first left in /tmp. */
static const char session_script[] =
    "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"s1\", "
    "\"name\": \"shell_execute\", \"input\": {\"command\": [\"touch\", "
    "\"/tmp/x\"]}}, {\"id\": \"s2\", \"name\": \"shell_execute\", "
    "\"input\": {\"command\": [\"test\", \"-e\", \"/tmp/x\"]}}]}}, "
    "{\"expect\": {\"tool_results\": [{\"contains\": \"exit_code: 0\"}, "
    "{\"contains\": \"exit_code: %d\"}]}, \"reply\": {\"text\": "
    "\"ok\"}}]}";

static void run_session_script(struct ta_ws *ws, int want, bool fresh)
{
	struct ta_server srv;
	struct tu_run run;
	char script[1024];
	snprintf(script, sizeof(script), session_script, want);
	ta_server_start_json(&srv, script);
	const char *args[] = {"--docker",
			      "--no-fallback",
			      "--image",
			      image(),
			      fresh ? "--fresh-sandbox" : NULL,
			      NULL};
	assert_int_equal(ta_agent(&run, &srv, ws, "t", args, NULL), 0);
	if (run.status != 0)
		printf("--- stderr:\n%s", run.err);
	assert_int_equal(run.status, 0);
	assert_int_equal(ta_requests_ok(&srv), 2);
	tu_run_free(&run);
	ta_server_stop(&srv);
}

/* By default a run's commands share one container: /tmp persists.  The
 * transcript says so, and a replay runs them in one session again. */
static void test_files_outside_the_workspace_persist_in_a_run(void **state)
{
	(void)state;
	if (!have_engine())
		skip();
	struct ta_ws ws;
	ta_ws_new(&ws);
	run_session_script(&ws, 0, false);
	json_object *tr = ta_transcript(&ws);
	assert_true(ta_bool(ta_record(tr, "header", 0), "session"));
	assert_true(ta_bool(ta_record(tr, "header", 0), "sessionPersistent"));
	json_object_put(tr);
	const char *argv[] = {tu_monkey(),   "replay",	ws.transcript,
			      "--docker",    "--image", image(),
			      "--workspace", ws.dir,	NULL};
	const char *env[] = {"MONKEY_SANDBOX=", NULL};
	struct tu_run rp;
	ta_backend_path();
	assert_int_equal(
	    tu_run(&rp, NULL, (char *const *)argv, (char *const *)env), 0);
	if (!tu_contains(rp.out, "replay: 2 matched, 0 mismatched"))
		fail_msg("replay: %s%s", rp.out, rp.err);
	assert_int_equal(rp.status, 0);
	tu_run_free(&rp);
	ta_ws_free(&ws);
}

/* --fresh-sandbox: every command in a new container, as before. */
static void test_fresh_sandbox_runs_each_command_apart(void **state)
{
	(void)state;
	if (!have_engine())
		skip();
	struct ta_ws ws;
	ta_ws_new(&ws);
	run_session_script(&ws, 1, true);
	json_object *tr = ta_transcript(&ws);
	assert_false(ta_bool(ta_record(tr, "header", 0), "session"));
	json_object_put(tr);
	ta_ws_free(&ws);
}

/* A job in the container: busybox httpd serves a foreground wget, its
 * log comes through job_output; then monkey is killed with SIGKILL in
 * the middle of a command, and its container goes (its launcher sees
 * the stream end; the next monkey's start-up sweep would remove what
 * stays). */
static void test_a_job_in_the_container_and_sigkill_leave_nothing(void **state)
{
	(void)state;
	if (!have_engine())
		skip();
	struct ta_server srv;
	struct ta_ws ws;
	char script[4096];
	ta_ws_new(&ws);
	mkdir(ta_path(&ws, "www"), 0755);
	FILE *f = fopen(ta_path(&ws, "www/index.html"), "w");
	fputs("served from a job\n", f);
	fclose(f);
	chmod(ws.dir, 0777);
	snprintf(
	    script, sizeof(script),
	    "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"j1\", "
	    "\"name\": \"shell_execute\", \"input\": {\"command\": "
	    "[\"httpd\", \"-f\", \"-vv\", \"-p\", \"127.0.0.1:8080\", "
	    "\"-h\", \"%s/www\"], \"background\": true}}, {\"id\": \"w1\", "
	    "\"name\": \"shell_execute\", \"input\": {\"command\": [\"sh\", "
	    "\"-c\", \"for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - "
	    "http://127.0.0.1:8080/index.html && exit 0; sleep 0.2; done; "
	    "exit 1\"]}}, {\"id\": \"o1\", \"name\": \"job_output\", "
	    "\"input\": {\"job\": 1, \"wait_ms\": 500}}]}}, {\"expect\": "
	    "{\"tool_results\": [{\"contains\": \"job: 1\"}, {\"contains\": "
	    "\"served from a job\"}, {\"contains\": [\"running: true\", "
	    "\"index.html\"]}]}, \"reply\": {\"tool_calls\": [{\"id\": "
	    "\"f1\", \"name\": \"shell_execute\", \"input\": {\"command\": "
	    "[\"sh\", \"-c\", \"touch fg.started; sleep 100\"]}}]}}, "
	    "{\"reply\": {\"text\": \"done\"}}]}",
	    ws.dir);
	ta_server_start_json(&srv, script);
	ta_backend_path();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setenv("ANTHROPIC_API_KEY", TA_KEY, 1);
		setenv("ANTHROPIC_BASE_URL", srv.url, 1);
		execl(tu_monkey(), "monkey", "agent", "--task", "web",
		      "--docker", "--no-fallback", "--image", image(),
		      "--workspace", ws.dir, "--transcript", ws.transcript,
		      (char *)NULL);
		_exit(127);
	}
	char *started = NULL;
	for (int i = 0; i < 800 && !started; i++) {
		started = ta_read(ta_path(&ws, "fg.started"));
		struct timespec ts = {0, 25 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (!started)
		kill(pid, SIGKILL);
	assert_non_null(started);
	free(started);
	assert_int_equal(ta_requests_ok(&srv), 2);
	assert_int_equal(containers_of(pid), 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	int left = containers_of(pid);
	for (int i = 0; i < 100 && left > 0; i++) {
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
		left = containers_of(pid);
	}
	assert_int_equal(left, 0);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

static void test_ctrl_c_removes_the_running_container(void **state)
{
	(void)state;
	if (!have_engine())
		skip();
	struct ta_server srv;
	struct ta_ws ws;
	ta_ws_new(&ws);
	ta_server_start(&srv, "sleep");
	ta_backend_path();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setenv("ANTHROPIC_API_KEY", TA_KEY, 1);
		setenv("ANTHROPIC_BASE_URL", srv.url, 1);
		execl(tu_monkey(), "monkey", "agent", "--task", "sleep",
		      "--docker", "--no-fallback", "--image", image(),
		      "--workspace", ws.dir, "--transcript", ws.transcript,
		      (char *)NULL);
		_exit(127);
	}
	char *started = NULL;
	for (int i = 0; i < 600 && !started; i++) {
		started = ta_read(ta_path(&ws, "sleeper.pid"));
		if (started && !strchr(started, '\n')) {
			free(started);
			started = NULL;
		}
		struct timespec ts = {0, 25 * 1000000L};
		nanosleep(&ts, NULL);
	}
	assert_non_null(started);
	free(started);
	/* The command's container, and the agent's prestarted one (pool 1)
	 * once it is up: SIGINT must remove both. */
	assert_true(containers_of(pid) >= 1);
	time_t t0 = time(NULL);
	assert_int_equal(kill(pid, SIGINT), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 130);
	assert_true(time(NULL) - t0 < 15);
	assert_int_equal(containers_of(pid), 0);
	json_object *tr = ta_transcript(&ws);
	assert_true(ta_bool(ta_record(tr, "command", 0), "cancelled"));
	assert_string_equal(ta_str(ta_record(tr, "end", 0), "reason"),
			    "cancelled");
	json_object_put(tr);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

/* --allow-domain: the model hears which hosts it may reach, and a
 * refused one comes back in the tool result with the option that would
 * allow it; the transcript records the proxy's decision.  The refused
 * name is never resolved: no server is needed. */
/* The audit log of that run: the session's network rules, and the
 * refused connection as a network record after its command. */
static int same(const char *a, const char *b) { return a && !strcmp(a, b); }

static void audit_has_the_rules_and_the_denial(const char *path)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char line[16384];
	int rules = 0, denied = 0, command = 0;
	while (fgets(line, sizeof(line), f)) {
		json_object *o = json_tokener_parse(line);
		assert_non_null(o);
		const char *ev = ta_str(o, "event");
		if (same(ev, "session_start")) {
			json_object *r =
			    json_object_object_get(o, "networkRules");
			json_object *a =
			    json_object_object_get(r, "allowDomains");
			rules = json_object_array_length(a) == 1 &&
				same(json_object_get_string(
					 json_object_array_get_idx(a, 0)),
				     "allowed.test");
		} else if (same(ev, "command")) {
			command = 1;
		} else if (same(ev, "network")) {
			denied = command &&
				 same(ta_str(o, "host"), "denied.test") &&
				 same(ta_str(o, "decision"), "denied");
		}
		json_object_put(o);
	}
	fclose(f);
	assert_true(rules);
	assert_true(denied);
}

static void test_a_denied_host_is_told_to_the_model(void **state)
{
	(void)state;
	if (!have_engine())
		skip();
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	ta_ws_new(&ws);
	ta_server_start_json(
	    &srv,
	    "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"n1\", "
	    "\"name\": \"shell_execute\", \"input\": {\"command\": [\"sh\", "
	    "\"-c\", \"wget -q -O- http://denied.test/; echo done\"]}}]}}, "
	    "{\"expect\": {\"tool_results\": [{\"contains\": "
	    "\"denied.test:80 (the user may allow it with --allow-domain "
	    "denied.test)\"}]}, \"reply\": {\"text\": \"ok\"}}]}");
	/* The audit log lies beside the transcript, out of the workspace. */
	char audit[4300];
	snprintf(audit, sizeof(audit), "%s.audit", ws.transcript);
	const char *args[] = {"--docker",
			      "--no-fallback",
			      "--image",
			      image(),
			      "--allow-domain",
			      "allowed.test",
			      "--audit-log",
			      audit,
			      NULL};
	assert_int_equal(ta_agent(&run, &srv, &ws, "t", args, NULL), 0);
	assert_int_equal(run.status, 0);
	assert_int_equal(ta_requests_ok(&srv), 2);
	char *p = ta_request_system(&srv, 0);
	assert_non_null(p);
	assert_true(tu_contains(p, "Commands reach only these hosts"));
	assert_true(tu_contains(p, "allowed.test"));
	free(p);
	json_object *tr = ta_transcript(&ws);
	json_object *cmd = ta_record(tr, "command", 0);
	json_object *denied = json_object_object_get(cmd, "networkDenied");
	assert_int_equal(json_object_array_length(denied), 1);
	assert_string_equal(
	    json_object_get_string(json_object_array_get_idx(denied, 0)),
	    "denied.test:80");
	json_object *rec = json_object_array_get_idx(
	    json_object_object_get(cmd, "network"), 0);
	assert_string_equal(ta_str(rec, "decision"), "denied");
	json_object_put(tr);
	audit_has_the_rules_and_the_denial(audit);
	unlink(audit);
	tu_run_free(&run);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commands_run_in_the_container),
	    cmocka_unit_test(test_system_prompt_describes_the_container),
	    cmocka_unit_test(
		test_missing_image_never_runs_the_model_s_commands_on_host),
	    cmocka_unit_test(
		test_a_limit_hit_is_told_to_the_model_and_recorded),
	    cmocka_unit_test(test_ctrl_c_removes_the_running_container),
	    cmocka_unit_test(test_a_denied_host_is_told_to_the_model),
	    cmocka_unit_test(test_files_outside_the_workspace_persist_in_a_run),
	    cmocka_unit_test(test_fresh_sandbox_runs_each_command_apart),
	    cmocka_unit_test(
		test_a_job_in_the_container_and_sigkill_leave_nothing),
	};
	return cmocka_run_group_tests(tests, engine_ready, NULL);
}
