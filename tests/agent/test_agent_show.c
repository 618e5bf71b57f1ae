/* What "monkey agent" shows and tells: the limits in force in its header
 * (and those the backend does not enforce), a model's timeout above the
 * user's lowered with a note to the model, file changes as short diffs,
 * MONKEY_SANDBOX named when it chose a missing backend, and a local
 * OpenAI-compatible server used without an API key. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_agent_harness.h"

struct fx {
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
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
	ta_ws_free(&f->ws);
	free(f);
	return 0;
}

static void has(const char *text, const char *fragment)
{
	if (!strstr(text, fragment))
		fail_msg("'%s' lacks '%s'", text, fragment);
}

static void lacks(const char *text, const char *fragment)
{
	if (strstr(text, fragment))
		fail_msg("'%s' has '%s'", text, fragment);
}

static void run(struct fx *f, const char *script, const char *const *args,
		const char *const *env)
{
	if (script)
		ta_server_start(&f->srv, script);
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", args, env), 0);
}

static void test_banner_lists_limits_in_force_and_not_enforced(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--timeout", "7000", "--memory", "512",
				     NULL};
	run(f, "final_answer", args, NULL);
	assert_int_equal(f->run.status, 0);
	/* spawn: the timeout holds; --memory only as an address-space
	 * limit; the rest is not enforced, and says so. */
	has(f->run.err, "monkey: limits: timeout 7000 ms, address space 512 "
			"MB (not a memory limit)\n");
	has(f->run.err, "monkey: not enforced by spawn: CPUs, processes, "
			"network isolation (commands can reach the network)\n");
	lacks(f->run.err, "image");
}

static const char *docker_image(void)
{
	const char *i = getenv("MONKEY_DOCKER_IMAGE");
	return i && *i ? i : "monkey-test:busybox";
}

static bool docker_required(void)
{
	const char *req = getenv("MONKEY_REQUIRE_DOCKER");
	return req && !strcmp(req, "1");
}

static bool have_docker(void)
{
	const char *argv[] = {"/usr/bin/docker", "image", "inspect",
			      docker_image(), NULL};
	struct tu_run r;
	if (access(argv[0], X_OK) != 0)
		return false;
	bool ok =
	    tu_run(&r, NULL, (char *const *)argv, NULL) == 0 && r.status == 0;
	tu_run_free(&r);
	return ok;
}

static void test_banner_names_the_image_and_container_limits(void **state)
{
	struct fx *f = *state;
#ifndef HAVE_BACKEND_DOCKER
	skip(); /* this build has no docker backend */
#endif
	if (!have_docker()) {
		if (docker_required())
			fail_msg("MONKEY_REQUIRE_DOCKER=1 but Docker or the "
				 "image %s is missing",
				 docker_image());
		skip();
	}
	const char *args[] = {"--docker", "--no-fallback",
			      "--image",  docker_image(),
			      "--pool",	  "0",
			      NULL};
	run(f, "final_answer", args, NULL);
	assert_int_equal(f->run.status, 0);
	char want[512];
	snprintf(want, sizeof(want), "monkey: sandbox docker, image %s, ",
		 docker_image());
	has(f->run.err, want);
	has(f->run.err, "monkey: limits: timeout 60000 ms, memory 256 MB, 0.5 "
			"CPUs, 50 processes, no network\n");
	lacks(f->run.err, "not enforced");
}

static void
test_model_timeout_above_the_users_is_lowered_with_a_note(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(
	    &f->srv,
	    "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"t1\", "
	    "\"name\": \"shell_execute\", \"input\": {\"command\": [\"true\"], "
	    "\"timeout_ms\": 600000}}, {\"id\": \"t2\", \"name\": "
	    "\"shell_execute\", \"input\": {\"command\": [\"true\"], "
	    "\"timeout_ms\": 4000}}]}}, {\"expect\": {\"tool_results\": ["
	    "{\"contains\": \"note: timeout_ms 600000 is above the user's "
	    "limit; the command ran with timeout_ms 5000\", \"is_error\": "
	    "false}, {\"not_contains\": \"note:\", \"is_error\": false}]}, "
	    "\"reply\": {\"text\": \"ok\"}}]}");
	static const char *args[] = {"--timeout", "5000", NULL};
	run(f, NULL, args, NULL);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 2);
}

static void test_file_changes_are_shown_as_a_short_diff(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "m.c"), "int a;\nint b = 1;\nint c;\n");
	run(f, "approval_files", NULL, NULL);
	assert_int_equal(f->run.status, 0);
	has(f->run.err, "[write_file] create newdir/notes.txt: +2 -0 lines\n"
			"  @@ line 1 @@\n"
			"  +one\n"
			"  +two\n");
	has(f->run.err, "[edit_file] edit m.c: +1 -1 lines\n"
			"  @@ line 1 @@\n"
			"   int a;\n"
			"  -int b = 1;\n"
			"  +int b = 2;\n");
	/* Not the model's JSON. */
	lacks(f->run.err, "old_string");
	lacks(f->run.err, "\"content\"");
}

static void test_sandbox_from_the_environment_is_named(void **state)
{
	struct fx *f = *state;
	static const char *env[] = {"MONKEY_SANDBOX=dcoker", NULL};
	run(f, "final_answer", NULL, env);
	assert_int_not_equal(f->run.status, 0);
	has(f->run.err, "monkey: MONKEY_SANDBOX=dcoker: backend 'dcoker' is "
			"not installed");
	assert_int_equal(ta_requests_ok(&f->srv), 0);
}

static const char keyless[] =
    "{\"provider\": \"openai\", \"api_key\": null, \"steps\": [{\"reply\": "
    "{\"text\": \"no key needed\"}}]}";

static void test_local_openai_server_needs_no_key(void **state)
{
	struct fx *f = *state;
	/* OPENAI_BASE_URL (set by the harness) names the server. */
	ta_server_start_json(&f->srv, keyless);
	static const char *args[] = {"--provider", "openai", NULL};
	static const char *env[] = {
	    "OPENAI_API_KEY=", "ANTHROPIC_API_KEY=", NULL};
	run(f, NULL, args, env);
	assert_int_equal(f->run.status, 0);
	/* The server refused any authorization header. */
	assert_int_equal(ta_requests_ok(&f->srv), 1);
	has(f->run.out, "no key needed");

	/* --base-url alone. */
	tu_run_free(&f->run);
	ta_server_stop(&f->srv);
	ta_server_start_json(&f->srv, keyless);
	const char *args2[] = {"--model", "llama3.1", "--base-url",
			       f->srv.url_v1, NULL};
	static const char *env2[] = {
	    "OPENAI_API_KEY=", "ANTHROPIC_API_KEY=", "OPENAI_BASE_URL=", NULL};
	run(f, NULL, args2, env2);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_anthropic_still_needs_its_key(void **state)
{
	struct fx *f = *state;
	ta_server_start(&f->srv, "final_answer");
	const char *args[] = {"--provider", "anthropic", "--base-url",
			      f->srv.url, NULL};
	static const char *env[] = {"ANTHROPIC_API_KEY=", NULL};
	run(f, NULL, args, env);
	assert_int_equal(f->run.status, 2);
	has(f->run.err, "ANTHROPIC_API_KEY is not set");
	assert_int_equal(ta_requests_ok(&f->srv), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_banner_lists_limits_in_force_and_not_enforced),
	    T(test_banner_names_the_image_and_container_limits),
	    T(test_model_timeout_above_the_users_is_lowered_with_a_note),
	    T(test_file_changes_are_shown_as_a_short_diff),
	    T(test_sandbox_from_the_environment_is_named),
	    T(test_local_openai_server_needs_no_key),
	    T(test_anthropic_still_needs_its_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
