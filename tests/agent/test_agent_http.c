/* monkey agent against the local LLM server: provider errors end the run
 * with the provider's message, retries follow the SDK rules and say that
 * they wait, and broken streams are caught. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_agent_harness.h"

/* A one-step script: the reply everything ends with. */
#define FINAL "{\"reply\": {\"text\": \"All done.\"}}"

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

/* Start a script given as JSON text and run the agent. */
static void run_script(struct fx *f, const char *json, const char *const *args)
{
	ta_server_start_json(&f->srv, json);
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "do the thing", args, NULL), 0);
}

static double request_gap(const struct ta_server *s, int a, int b)
{
	json_object *r = ta_requests(s);
	double ta = json_object_get_double(
	    json_object_object_get(json_object_array_get_idx(r, a), "time"));
	double tb = json_object_get_double(
	    json_object_object_get(json_object_array_get_idx(r, b), "time"));
	json_object_put(r);
	return tb - ta;
}

static void test_unauthorized_ends_run_with_provider_message(void **state)
{
	struct fx *f = *state;
	run_script(
	    f,
	    "{\"steps\": [{\"status\": 401, \"error\": {\"type\": "
	    "\"authentication_error\", \"message\": \"invalid x-api-key\"}}]}",
	    NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "HTTP 401 authentication_error: "
					    "invalid x-api-key"));
	assert_true(tu_contains(f->run.err, "check ANTHROPIC_API_KEY"));
	assert_int_equal(ta_requests_ok(&f->srv), 1); /* not retried */
	json_object *t = ta_transcript(&f->ws);
	assert_string_equal(ta_str(ta_record(t, "end", 0), "reason"), "error");
	json_object_put(t);
}

static void test_bad_request_ends_run_with_provider_message(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"status\": 400, \"error\": {\"type\": "
		   "\"invalid_request_error\", \"message\": \"max_tokens: "
		   "8192 > 4096, which is the maximum\"}}]}",
		   NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err,
				"HTTP 400 invalid_request_error: max_tokens: "
				"8192 > 4096, which is the maximum"));
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_spend_limit_ends_run_with_provider_message(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"status\": 400, \"error\": {\"type\": "
		   "\"invalid_request_error\", \"message\": \"Your credit "
		   "balance is too low to access the Anthropic API.\"}}]}",
		   NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "Your credit balance is too low"));
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_openai_quota_exhausted_is_not_retried(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--model", "gpt-4.1", NULL};
	run_script(f,
		   "{\"provider\": \"openai\", \"steps\": [{\"status\": 429, "
		   "\"error\": {\"type\": \"insufficient_quota\", \"code\": "
		   "\"insufficient_quota\", \"message\": \"You exceeded your "
		   "current quota, please check your plan and billing "
		   "details.\"}}]}",
		   args);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "openai: HTTP 429 "
					    "insufficient_quota: You exceeded "
					    "your current quota"));
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_openai_unauthorized_names_openai_key(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--provider", "openai", "--model",
				     "llama3.1", NULL};
	run_script(f,
		   "{\"provider\": \"openai\", \"steps\": [{\"status\": 401, "
		   "\"error\": {\"type\": \"invalid_request_error\", \"code\": "
		   "\"invalid_api_key\", \"message\": \"Incorrect API key "
		   "provided\"}}]}",
		   args);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "Incorrect API key provided"));
	assert_true(tu_contains(f->run.err, "check OPENAI_API_KEY"));
}

static void test_rate_limit_waits_retry_after_then_succeeds(void **state)
{
	struct fx *f = *state;
	run_script(
	    f,
	    "{\"steps\": [{\"status\": 429, \"headers\": "
	    "{\"retry-after\": \"1\"}, \"error\": {\"type\": "
	    "\"rate_limit_error\", \"message\": \"Number of requests has "
	    "exceeded your rate limit\"}}, " FINAL "]}",
	    NULL);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "rate_limit_error"));
	assert_true(
	    tu_contains(f->run.err, "waiting 1.0 s before retry 1 of 2"));
	assert_true(tu_contains(f->run.out, "All done."));
	assert_int_equal(ta_requests_ok(&f->srv), 2);
	assert_true(request_gap(&f->srv, 0, 1) >= 0.95);
	json_object *t = ta_transcript(&f->ws);
	assert_int_equal(ta_int(ta_record(t, "model", 0), "attempts"), 2);
	json_object_put(t);
}

static void test_overloaded_529_retried_with_backoff(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"status\": 529, \"error\": {\"type\": "
		   "\"overloaded_error\", \"message\": \"Overloaded\"}}, "
		   "{\"status\": 529, \"error\": {\"type\": "
		   "\"overloaded_error\", \"message\": \"Overloaded\"}}, " FINAL
		   "]}",
		   NULL);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "HTTP 529 overloaded_error"));
	assert_true(tu_contains(f->run.err, "before retry 2 of 2"));
	assert_int_equal(ta_requests_ok(&f->srv), 3);
	/* 0.5 s then 1 s, each up to 25% shorter. */
	assert_true(request_gap(&f->srv, 0, 1) >= 0.37);
	assert_true(request_gap(&f->srv, 1, 2) >= 0.75);
	assert_true(request_gap(&f->srv, 1, 2) < 3.0);
}

static void test_retry_after_ms_is_obeyed(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"status\": 503, \"headers\": "
		   "{\"retry-after-ms\": \"150\"}, \"body\": \"upstream "
		   "unavailable\"}, " FINAL "]}",
		   NULL);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "waiting 0.1 s"));
	assert_true(request_gap(&f->srv, 0, 1) >= 0.14);
}

static void test_retry_after_beyond_60s_uses_backoff(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"status\": 429, \"headers\": "
		   "{\"retry-after\": \"3600\"}, \"error\": {\"type\": "
		   "\"rate_limit_error\", \"message\": \"slow down\"}}, " FINAL
		   "]}",
		   NULL);
	assert_int_equal(f->run.status, 0);
	assert_false(tu_contains(f->run.err, "waiting 3600"));
	assert_true(request_gap(&f->srv, 0, 1) < 2.0);
}

static void test_should_retry_false_is_obeyed(void **state)
{
	struct fx *f = *state;
	run_script(
	    f,
	    "{\"steps\": [{\"status\": 500, \"headers\": "
	    "{\"x-should-retry\": \"false\"}, \"error\": {\"type\": "
	    "\"api_error\", \"message\": \"Internal server error\"}}, " FINAL
	    "]}",
	    NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "HTTP 500 api_error: Internal "
					    "server error"));
	assert_false(tu_contains(f->run.err, "waiting"));
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_should_retry_true_retries_a_400(void **state)
{
	struct fx *f = *state;
	run_script(
	    f,
	    "{\"steps\": [{\"status\": 400, \"headers\": "
	    "{\"x-should-retry\": \"true\", \"retry-after-ms\": \"10\"}, "
	    "\"error\": {\"type\": \"invalid_request_error\", "
	    "\"message\": \"transient\"}}, " FINAL "]}",
	    NULL);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 2);
}

static void test_gives_up_after_max_retries(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"repeat_last\": true, \"steps\": [{\"status\": 503, "
		   "\"headers\": {\"retry-after-ms\": \"20\"}, \"error\": "
		   "{\"type\": \"api_error\", \"message\": \"try later\"}}]}",
		   NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "error: anthropic: HTTP 503 "
					    "api_error: try later (gave up "
					    "after 3 attempts)"));
	assert_int_equal(ta_requests_ok(&f->srv), 3);
}

static void test_max_retries_option_limits_attempts(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--max-retries", "0", NULL};
	run_script(f,
		   "{\"repeat_last\": true, \"steps\": [{\"status\": 529, "
		   "\"error\": {\"type\": \"overloaded_error\", \"message\": "
		   "\"Overloaded\"}}]}",
		   args);
	assert_int_equal(f->run.status, 1);
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_connection_refused_is_retried_then_reported(void **state)
{
	struct fx *f = *state;
	/* A port nobody listens on: start a server, note it, stop it. */
	ta_server_start_json(&f->srv, "{\"steps\": []}");
	char url[128];
	snprintf(url, sizeof(url), "ANTHROPIC_BASE_URL=%s", f->srv.url);
	ta_server_stop(&f->srv);
	static const char *args[] = {"--max-retries", "1", NULL};
	const char *env[] = {url, NULL};
	assert_int_equal(ta_agent(&f->run, NULL, &f->ws, "hi", args, env), 0);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "waiting"));
	assert_true(tu_contains(f->run.err, "cannot complete the request to "
					    "http://127.0.0.1:"));
	assert_true(tu_contains(f->run.err, "gave up after 2 attempts"));
}

static void test_malformed_json_event_ends_run(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"malformed_event\": true, \"reply\": "
		   "{\"text\": \"Hello\"}}]}",
		   NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err,
				"malformed JSON in the "
				"'content_block_delta' stream event"));
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_malformed_error_body_is_shown_raw(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"status\": 502, \"headers\": "
		   "{\"x-should-retry\": \"false\"}, \"body\": "
		   "\"<html>Bad Gateway</html>\"}]}",
		   NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "HTTP 502: <html>Bad "
					    "Gateway</html>"));
}

static void test_stream_cut_before_message_stop_is_retried(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"cut\": true, \"reply\": {\"text\": "
		   "\"Partial\"}}, " FINAL "]}",
		   NULL);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "the stream ended before "
					    "message_stop"));
	assert_true(tu_contains(f->run.out, "All done."));
	assert_int_equal(ta_requests_ok(&f->srv), 2);
	/* The answer is the complete reply, not the cut one. */
	json_object *t = ta_transcript(&f->ws);
	assert_string_equal(ta_str(ta_record(t, "model", 0), "content.0.text"),
			    "All done.");
	json_object_put(t);
}

static void test_connection_dropped_mid_stream_is_retried(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"cut\": \"abort\", \"reply\": {\"text\": "
		   "\"Partial\"}}, " FINAL "]}",
		   NULL);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "waiting"));
	assert_int_equal(ta_requests_ok(&f->srv), 2);
}

static void test_stream_cut_every_time_ends_run(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"repeat_last\": true, \"steps\": [{\"cut\": true, "
		   "\"reply\": {\"text\": \"Partial\"}}]}",
		   NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "error: anthropic: the stream "
					    "ended before message_stop"));
	assert_true(tu_contains(f->run.err, "gave up after 3 attempts"));
}

static void test_overloaded_error_event_mid_stream_is_retried(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"stream_error\": {\"type\": "
		   "\"overloaded_error\", \"message\": \"Overloaded\"}, "
		   "\"reply\": {\"text\": \"Hel\"}}, " FINAL "]}",
		   NULL);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "overloaded_error: Overloaded"));
	assert_int_equal(ta_requests_ok(&f->srv), 2);
}

static void test_invalid_request_error_event_ends_run(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"stream_error\": {\"type\": "
		   "\"invalid_request_error\", \"message\": \"prompt is too "
		   "long\"}, \"reply\": {\"text\": \"x\"}}]}",
		   NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "invalid_request_error: prompt is "
					    "too long"));
	assert_int_equal(ta_requests_ok(&f->srv), 1);
}

static void test_openai_stream_cut_before_finish_is_retried(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--model", "gpt-4.1", NULL};
	run_script(f,
		   "{\"provider\": \"openai\", \"steps\": [{\"cut\": true, "
		   "\"reply\": {\"text\": \"Partial\"}}, " FINAL "]}",
		   args);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "ended before data: [DONE]"));
	assert_int_equal(ta_requests_ok(&f->srv), 2);
}

static void test_non_stream_reply_is_an_error(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"status\": 200, \"body\": {\"id\": "
		   "\"msg_1\", \"content\": []}}]}",
		   NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "expected an event stream"));
}

/* Run monkey agent as ta_agent does, but as our own child, so that
 * wait4 tells its peak RSS (KiB).  Returns the exit status; stderr is
 * kept in f->run.err. */
static int agent_peak_rss(struct fx *f, const char *const *args, long *kb)
{
	char errfile[4300], anth[128], oai[128];
	snprintf(errfile, sizeof(errfile), "%s/stderr", f->srv.dir);
	snprintf(anth, sizeof(anth), "%s", f->srv.url);
	snprintf(oai, sizeof(oai), "%s", f->srv.url_v1);
	const char *argv[32] = {tu_monkey(), "agent",	     "--workspace",
				f->ws.dir,   "--transcript", f->ws.transcript,
				"--task",    "flood",	     NULL};
	size_t n = 8;
	for (size_t i = 0; args && args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ta_backend_path();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);
		int err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(out, 1);
		dup2(err, 2);
		setenv("ANTHROPIC_API_KEY", TA_KEY, 1);
		setenv("OPENAI_API_KEY", TA_KEY, 1);
		setenv("ANTHROPIC_BASE_URL", anth, 1);
		setenv("OPENAI_BASE_URL", oai, 1);
		unsetenv("http_proxy");
		unsetenv("HTTP_PROXY");
		unsetenv("ALL_PROXY");
		unsetenv("all_proxy");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	struct rusage ru;
	assert_int_equal(wait4(pid, &st, 0, &ru), pid);
	*kb = ru.ru_maxrss;
	free(f->run.err);
	f->run.err = ta_read(errfile);
	printf("--- monkey exited %d, peak RSS %ld KiB; stderr:\n%s---\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), *kb,
	       f->run.err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* 32 blocks of 15 MB each (480 MB), sent in pieces of piece bytes: the
 * run ends at the 32 MiB bound on one reply with an error naming it and
 * the option, and monkey's peak RSS stays under the bound plus 16 MiB. */
static void flood(struct fx *f, const char *provider, const char *as,
		  const char *kind, int piece)
{
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"provider\": \"%s\", \"steps\": [{\"flood\": {\"blocks\": "
		 "32, \"block_bytes\": 15000000, \"piece\": %d, \"as\": "
		 "\"%s\", \"kind\": \"%s\"}}]}",
		 provider, piece, as, kind);
	ta_server_start_json(&f->srv, json);
	const char *args[] = {
	    "--model",
	    strcmp(provider, "openai") ? "claude-sonnet-4-5" : "gpt-4.1", NULL};
	long kb = 0;
	assert_int_equal(agent_peak_rss(f, args, &kb), 1);
	assert_true(tu_contains(f->run.err, "went past 32 MiB, the bound on "
					    "one reply"));
	assert_true(tu_contains(f->run.err, "--reply-max BYTES"));
	assert_int_equal(ta_requests_ok(&f->srv), 1); /* not retried */
	printf("peak RSS %ld KiB; the bound plus 16 MiB is %d KiB\n", kb,
	       (32 + 16) * 1024);
#ifndef __SANITIZE_ADDRESS__
	/* (AddressSanitizer's own memory would not fit.) */
	assert_true(kb < (32 + 16) * 1024);
#endif
}

static void test_anthropic_stream_flood_is_cut_at_the_reply_bound(void **state)
{
	flood(*state, "anthropic", "sse", "tool", 65536);
}

static void test_anthropic_json_flood_is_cut_at_the_reply_bound(void **state)
{
	flood(*state, "anthropic", "json", "tool", 65536);
}

static void test_openai_stream_flood_is_cut_at_the_reply_bound(void **state)
{
	flood(*state, "openai", "sse", "tool", 65536);
}

static void test_openai_json_flood_is_cut_at_the_reply_bound(void **state)
{
	flood(*state, "openai", "json", "tool", 65536);
}

/* Text is held once, not again for the report. */
static void test_text_flood_is_cut_at_the_reply_bound(void **state)
{
	flood(*state, "anthropic", "sse", "text", 65536);
}

/* A hostile framing: each 15 MB block in one event, which parsing holds
 * several times over. */
static void test_huge_events_are_cut_at_the_reply_bound(void **state)
{
	flood(*state, "anthropic", "sse", "tool", 15000000);
	struct fx *f = *state;
	tu_run_free(&f->run);
	ta_server_stop(&f->srv);
	flood(f, "openai", "sse", "tool", 1048576);
}

static void test_reply_max_sets_the_bound(void **state)
{
	struct fx *f = *state;
	run_script(f,
		   "{\"steps\": [{\"flood\": {\"blocks\": 1, \"block_bytes\": "
		   "100000}}]}",
		   (const char *const[]){"--reply-max", "65536", NULL});
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.err, "went past 65536 bytes, the "
					    "bound on one reply"));
	tu_run_free(&f->run);
	ta_server_stop(&f->srv);
	run_script(f,
		   "{\"steps\": [{\"flood\": {\"blocks\": 1, \"block_bytes\": "
		   "100000}}, " FINAL "]}",
		   (const char *const[]){"--reply-max", "1048576", NULL});
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_unauthorized_ends_run_with_provider_message),
	    T(test_bad_request_ends_run_with_provider_message),
	    T(test_spend_limit_ends_run_with_provider_message),
	    T(test_openai_quota_exhausted_is_not_retried),
	    T(test_openai_unauthorized_names_openai_key),
	    T(test_rate_limit_waits_retry_after_then_succeeds),
	    T(test_overloaded_529_retried_with_backoff),
	    T(test_retry_after_ms_is_obeyed),
	    T(test_retry_after_beyond_60s_uses_backoff),
	    T(test_should_retry_false_is_obeyed),
	    T(test_should_retry_true_retries_a_400),
	    T(test_gives_up_after_max_retries),
	    T(test_max_retries_option_limits_attempts),
	    T(test_connection_refused_is_retried_then_reported),
	    T(test_malformed_json_event_ends_run),
	    T(test_malformed_error_body_is_shown_raw),
	    T(test_stream_cut_before_message_stop_is_retried),
	    T(test_connection_dropped_mid_stream_is_retried),
	    T(test_stream_cut_every_time_ends_run),
	    T(test_overloaded_error_event_mid_stream_is_retried),
	    T(test_invalid_request_error_event_ends_run),
	    T(test_openai_stream_cut_before_finish_is_retried),
	    T(test_non_stream_reply_is_an_error),
	    T(test_anthropic_stream_flood_is_cut_at_the_reply_bound),
	    T(test_anthropic_json_flood_is_cut_at_the_reply_bound),
	    T(test_openai_stream_flood_is_cut_at_the_reply_bound),
	    T(test_openai_json_flood_is_cut_at_the_reply_bound),
	    T(test_text_flood_is_cut_at_the_reply_bound),
	    T(test_huge_events_are_cut_at_the_reply_bound),
	    T(test_reply_max_sets_the_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
