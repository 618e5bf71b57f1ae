/* The workspace's .git and .monkey are read-only to the file tools, by any
 * spelling or symlink: git runs hooks and configuration found in .git on
 * the host (core.fsmonitor runs at the next "git status"), so a model that
 * could write there could run code outside the sandbox.  read_file and
 * list_files still work there; monkey_agent_options.writable_git opens
 * .git (never .monkey). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/agent.h>

#include "test_agent_harness.h"

struct fx {
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	char *config; /* .git/config as git init wrote it */
};

static void git(struct fx *f, const char *a, const char *b)
{
	const char *argv[] = {"/usr/bin/git", "-C", f->ws.dir, a, b, NULL};
	const char *env[] = {"GIT_CONFIG_NOSYSTEM=1", "HOME=/nonexistent",
			     NULL};
	struct tu_run r;
	assert_int_equal(
	    tu_run(&r, NULL, (char *const *)argv, (char *const *)env), 0);
	if (r.status)
		fail_msg("git %s %s: %s", a, b, r.err);
	tu_run_free(&r);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	ta_ws_new(&f->ws);
	git(f, "init", "-q");
	f->config = ta_read(ta_path(&f->ws, ".git/config"));
	assert_non_null(f->config);
	/* Other ways to reach it: a link to the directory, one to the
	 * file, a path through a sibling. */
	assert_int_equal(symlink(".git", ta_path(&f->ws, "gitlink")), 0);
	assert_int_equal(symlink(".git/config", ta_path(&f->ws, "cfglink")), 0);
	assert_int_equal(mkdir(ta_path(&f->ws, "sub"), 0755), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	ta_server_stop(&f->srv);
	tu_run_free(&f->run);
	ta_ws_free(&f->ws);
	free(f->config);
	free(f);
	return 0;
}

static bool exists(struct fx *f, const char *rel)
{
	struct stat st;
	return lstat(ta_path(&f->ws, rel), &st) == 0;
}

static void test_git_and_monkey_are_read_only_to_file_tools(void **state)
{
	struct fx *f = *state;
	ta_server_start(&f->srv, "protect");
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "configure git", NULL, NULL), 0);
	assert_int_equal(f->run.status, 0);
	/* The server checked each refusal (tests/agent/protect.json). */
	assert_int_equal(ta_requests_ok(&f->srv), 2);
	char *config = ta_read(ta_path(&f->ws, ".git/config"));
	assert_string_equal(config, f->config);
	free(config);
	assert_false(exists(f, ".git/hooks/post-checkout"));
	assert_false(exists(f, ".git/hooks/pre-commit"));
	assert_false(exists(f, ".GIT"));
	assert_false(exists(f, "vendor")); /* no directory made on the way */
	assert_false(exists(f, ".monkey/state"));
	assert_true(exists(f, "ok.txt"));
	/* The repro: the next git status runs nothing planted. */
	git(f, "status", "--short");
	assert_false(exists(f, "PWNED"));
}

static void test_writable_git_opens_git_not_monkey(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(
	    &f->srv,
	    "{\"steps\": [{\"reply\": {\"tool_calls\": ["
	    "{\"id\": \"w1\", \"name\": \"write_file\", \"input\": {\"path\": "
	    "\".git/info/exclude\", \"content\": \"*.o\\n\"}},"
	    "{\"id\": \"w2\", \"name\": \"write_file\", \"input\": {\"path\": "
	    "\".monkey/state\", \"content\": \"x\"}}]}},"
	    "{\"expect\": {\"tool_results\": ["
	    "{\"contains\": \"'.git/info/exclude'\", \"is_error\": false},"
	    "{\"contains\": \"inside .monkey\", \"is_error\": true}]},"
	    "\"reply\": {\"text\": \"ok\"}}]}");
	ta_backend_path();
	struct monkey_agent_options ao;
	struct monkey_exec_options eo;
	monkey_agent_options_init(&ao);
	monkey_exec_options_init(&eo);
	eo.workspace = f->ws.dir;
	ao.api_key = TA_KEY;
	ao.base_url = f->srv.url;
	ao.no_transcript = true;
	ao.writable_git = true;
	struct monkey_agent *agent = NULL;
	struct monkey_error err = {0};
	if (monkey_agent_open(&ao, &eo, &agent, &err) < 0)
		fail_msg("open: %s", err.message);
	struct monkey_agent_report rep;
	assert_int_equal(monkey_agent_run(agent, "t", &rep, &err), 0);
	assert_int_equal(rep.end, MONKEY_AGENT_END_ANSWER);
	monkey_agent_report_free(&rep);
	monkey_agent_close(agent);
	assert_int_equal(ta_requests_ok(&f->srv), 2);
	char *ex = ta_read(ta_path(&f->ws, ".git/info/exclude"));
	assert_string_equal(ex, "*.o\n");
	free(ex);
	assert_false(exists(f, ".monkey/state"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_git_and_monkey_are_read_only_to_file_tools),
	    T(test_writable_git_opens_git_not_monkey),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
