/* monkey agent against the local LLM server: provider errors end the run
 * with the provider's message, retries follow the SDK rules and say that
 * they wait, and broken streams are caught. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
