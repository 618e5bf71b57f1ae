/* libmonkey's agent API used from C, without the CLI: callbacks see the
 * streamed text and each tool call, approvals go through a callback, and
 * monkey_agent_cancel() stops a run from another thread. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/agent.h>

#include "test_agent_harness.h"

struct seen {
	int text_calls;
	char text[4096];
	int starts, ends;
	int shell_exit;
	char last_error[1024];
	const char *deny_reason;
};

static void on_text(void *ctx, const char *t, size_t n)
{
	struct seen *s = ctx;
	s->text_calls++;
	strncat(s->text, t, n);
}

static void on_start(void *ctx, const struct monkey_agent_tool_event *ev)
{
	struct seen *s = ctx;
	(void)ev;
	s->starts++;
}

static void on_end(void *ctx, const struct monkey_agent_tool_event *ev)
{
	struct seen *s = ctx;
	s->ends++;
	if (ev->result)
		s->shell_exit = ev->result->exit_code;
	if (ev->is_error)
		snprintf(s->last_error, sizeof(s->last_error), "%s",
			 ev->content);
}

static int deny(void *ctx, const struct monkey_agent_tool_event *ev,
		const char **reason)
{
	struct seen *s = ctx;
	assert_non_null(ev->display);
	*reason = s->deny_reason;
	return MONKEY_APPROVAL_DENY;
}

struct fx {
	struct ta_server srv;
	char *ws;
	char *state; /* XDG_STATE_HOME: default transcripts land here */
	struct seen seen;
	struct monkey_agent_options ao;
	struct monkey_exec_options eo;
	struct monkey_agent *agent;
	struct monkey_agent_report rep;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->ws = tu_mkdtemp();
	f->state = tu_mkdtemp();
	setenv("XDG_STATE_HOME", f->state, 1);
	ta_backend_path();
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("ALL_PROXY");
	monkey_agent_options_init(&f->ao);
	monkey_exec_options_init(&f->eo);
	f->eo.workspace = f->ws;
	f->ao.api_key = TA_KEY;
	f->ao.cb = (struct monkey_agent_callbacks){
	    .text = on_text,
	    .tool_start = on_start,
	    .tool_end = on_end,
	    .approve = deny,
	    .ctx = &f->seen,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	monkey_agent_report_free(&f->rep);
	monkey_agent_close(f->agent);
	ta_server_stop(&f->srv);
	tu_rmrf(f->ws);
	free(f->ws);
	tu_rmrf(f->state);
	free(f->state);
	free(f);
	return 0;
}

static void open_agent(struct fx *f, const char *script)
{
	ta_server_start(&f->srv, script);
	f->ao.base_url = f->srv.url;
	struct monkey_error err = {0};
	if (monkey_agent_open(&f->ao, &f->eo, &f->agent, &err) < 0)
		fail_msg("open: %s", err.message);
}

static void test_runs_a_task_and_reports_through_callbacks(void **state)
{
	struct fx *f = *state;
	f->ao.no_transcript = true;
	open_agent(f, "multistep");
	assert_string_equal(monkey_agent_model(f->agent), "claude-sonnet-4-5");
	assert_string_equal(monkey_agent_provider_name(f->agent), "anthropic");
	struct monkey_error err = {0};
	assert_int_equal(monkey_agent_run(f->agent, "go", &f->rep, &err), 0);
	assert_int_equal(f->rep.end, MONKEY_AGENT_END_ANSWER);
	assert_int_equal(f->rep.iterations, 3);
	assert_int_equal(f->rep.tool_calls, 2);
	assert_string_equal(f->rep.final_text,
			    "Done: src/hello.sh prints a greeting.");
	/* Text arrived in pieces, as it streamed. */
	assert_true(f->seen.text_calls > 3);
	assert_string_equal(f->seen.text,
			    "I will write the script first.Now I run it."
			    "Done: src/hello.sh prints a greeting.");
	assert_int_equal(f->seen.starts, 2);
	assert_int_equal(f->seen.ends, 2);
	assert_int_equal(f->seen.shell_exit, 0);
	assert_null(monkey_agent_transcript_path(f->agent));
	assert_int_equal(monkey_agent_exit_status(f->rep.end), 0);
}

static void test_approval_callback_denial_reaches_the_model(void **state)
{
	struct fx *f = *state;
	f->ao.require_approval = true;
	f->seen.deny_reason = "policy forbids shell commands";
	open_agent(f, "approval");
	struct monkey_error err = {0};
	assert_int_equal(monkey_agent_run(f->agent, "go", &f->rep, &err), 0);
	assert_string_equal(f->seen.last_error,
			    "the command was not run: approval denied (policy "
			    "forbids shell commands)");
	const char *path = monkey_agent_transcript_path(f->agent);
	assert_non_null(path);
	assert_int_equal(strncmp(path, f->state, strlen(f->state)), 0);
	ta_requests_ok(&f->srv);
}

struct canceller {
	struct monkey_agent *agent;
	int delay_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	struct timespec ts = {0, c->delay_ms * 1000000L};
	nanosleep(&ts, NULL);
	monkey_agent_cancel(c->agent);
	return NULL;
}

static void test_cancel_stops_a_hanging_request(void **state)
{
	struct fx *f = *state;
	f->ao.no_transcript = true;
	ta_server_start_json(&f->srv, "{\"steps\": [{\"hang\": true}]}");
	f->ao.base_url = f->srv.url;
	struct monkey_error err = {0};
	assert_int_equal(monkey_agent_open(&f->ao, &f->eo, &f->agent, &err), 0);
	struct canceller c = {f->agent, 300};
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, &c);
	int64_t start = time(NULL);
	assert_int_equal(monkey_agent_run(f->agent, "go", &f->rep, &err), 0);
	pthread_join(t, NULL);
	assert_int_equal(f->rep.end, MONKEY_AGENT_END_CANCELLED);
	assert_true(time(NULL) - start < 5);
	assert_int_equal(monkey_agent_exit_status(f->rep.end), 130);
}

static void test_cancel_stops_a_running_command(void **state)
{
	struct fx *f = *state;
	open_agent(f, "sleep");
	struct monkey_error err = {0};
	struct canceller c = {f->agent, 500};
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, &c);
	assert_int_equal(monkey_agent_run(f->agent, "go", &f->rep, &err), 0);
	pthread_join(t, NULL);
	assert_int_equal(f->rep.end, MONKEY_AGENT_END_CANCELLED);
	assert_int_equal(f->rep.tool_calls, 1);
	/* One request only: the run did not go on after the cancel. */
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_missing_key_fails_before_anything_runs(void **state)
{
	struct fx *f = *state;
	f->ao.api_key = NULL;
	unsetenv("ANTHROPIC_API_KEY");
	unsetenv("OPENAI_API_KEY");
	struct monkey_error err = {0};
	assert_int_equal(monkey_agent_open(&f->ao, &f->eo, &f->agent, &err),
			 -ENOKEY);
	assert_null(f->agent);
	assert_true(tu_contains(err.message, "ANTHROPIC_API_KEY is not set"));
}

static void test_bad_base_url_is_refused(void **state)
{
	struct fx *f = *state;
	f->ao.base_url = "ftp://example.invalid";
	struct monkey_error err = {0};
	assert_int_equal(monkey_agent_open(&f->ao, &f->eo, &f->agent, &err),
			 -EINVAL);
	assert_true(tu_contains(err.message, "must start with http://"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_runs_a_task_and_reports_through_callbacks),
	    T(test_approval_callback_denial_reaches_the_model),
	    T(test_cancel_stops_a_hanging_request),
	    T(test_cancel_stops_a_running_command),
	    T(test_missing_key_fails_before_anything_runs),
	    T(test_bad_base_url_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
