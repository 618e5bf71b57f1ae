/* JSON results stay valid JSON whatever bytes a command printed. */
#include "config.h"

#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonout.h"

static void test_valid_utf8_is_unchanged(void **s)
{
	(void)s;
	const char *t = "plain, é, 中文, 😀";
	size_t n;
	char *r = monkey_utf8_sanitize(t, strlen(t), &n);
	assert_string_equal(r, t);
	free(r);
}

static void test_invalid_bytes_become_replacement_chars(void **s)
{
	(void)s;
	const char t[] = "a\xff"
			 "b\xc3"
			 "c\xed\xa0\x80"
			 "d\xc0\xaf";
	size_t n;
	char *r = monkey_utf8_sanitize(t, sizeof(t) - 1, &n);
	assert_string_equal(r, "a\xEF\xBF\xBD"
			       "b\xEF\xBF\xBD"
			       "c"
			       "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
			       "d\xEF\xBF\xBD\xEF\xBF\xBD");
	free(r);
}

static void test_binary_output_round_trips_as_valid_json(void **s)
{
	(void)s;
	char bin[256];
	for (int i = 0; i < 256; i++)
		bin[i] = (char)i;
	struct json_object *o = monkey_json_bytes(bin, sizeof(bin));
	const char *text = json_object_to_json_string(o);
	struct json_tokener *tok = json_tokener_new();
	struct json_object *back =
	    json_tokener_parse_ex(tok, text, (int)strlen(text));
	assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
	assert_non_null(back);
	/* NUL and control characters survive as escapes. */
	assert_int_equal(json_object_get_string_len(back) >= 128, 1);
	assert_int_equal(json_object_get_string(back)[0], '\0');
	json_object_put(back);
	json_tokener_free(tok);
	json_object_put(o);
}

static void test_result_object_has_every_field(void **s)
{
	(void)s;
	struct monkey_result r;
	memset(&r, 0, sizeof(r));
	r.exit_code = 137;
	r.signal = 9;
	r.oom_killed = MONKEY_UNKNOWN;
	r.out.head = strdup("hi\n");
	r.out.head_len = 3;
	r.out.tail = strdup("");
	r.out.total = 3;
	r.err.head = strdup("");
	r.err.tail = strdup("");
	struct json_object *o =
	    monkey_result_to_json(&r, "spawn", "docker", true);
	static const char *fields[] = {
	    "sandbox",	       "requestedSandbox", "fellBack",	  "exitCode",
	    "signal",	       "timedOut",	   "oomKilled",	  "durationMs",
	    "stdout",	       "stderr",	   "stdoutBytes", "stderrBytes",
	    "stdoutTruncated", "stderrTruncated",  "error",	  "limitHit",
	    "limitsHit",       "limitsUnknown"};
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		if (!json_object_object_get_ex(o, fields[i], NULL))
			fail_msg("missing field %s", fields[i]);
	struct json_object *v;
	json_object_object_get_ex(o, "signal", &v);
	assert_int_equal(json_object_get_int(v), 9);
	json_object_object_get_ex(o, "oomKilled", &v);
	assert_null(v);
	json_object_object_get_ex(o, "error", &v);
	assert_null(v);
	json_object_object_get_ex(o, "stdout", &v);
	assert_string_equal(json_object_get_string(v), "hi\n");
	json_object_object_get_ex(o, "fellBack", &v);
	assert_true(json_object_get_boolean(v));
	json_object_object_get_ex(o, "limitHit", &v);
	assert_null(v);
	json_object_put(o);
	monkey_result_free(&r);
}

/* Resource use: figures in bytes and milliseconds, null where the
 * backend cannot tell (-1), and 0 stays a figure. */
static void test_result_reports_resource_use_or_null(void **s)
{
	(void)s;
	struct monkey_result r;
	memset(&r, 0, sizeof(r));
	r.oom_killed = MONKEY_UNKNOWN;
	r.peak_memory_bytes = 12582912;
	r.cpu_user_ms = 30;
	r.cpu_system_ms = 0;
	struct json_object *o =
	    monkey_result_to_json(&r, "spawn", "spawn", false);
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, "peakMemoryBytes", &v));
	assert_int_equal(json_object_get_int64(v), 12582912);
	assert_true(json_object_object_get_ex(o, "cpuUserMs", &v));
	assert_int_equal(json_object_get_int64(v), 30);
	assert_true(json_object_object_get_ex(o, "cpuSystemMs", &v));
	assert_non_null(v);
	assert_int_equal(json_object_get_int64(v), 0);
	json_object_put(o);

	r.peak_memory_bytes = r.cpu_user_ms = r.cpu_system_ms = -1;
	o = monkey_result_to_json(&r, "spawn", "spawn", false);
	static const char *fields[] = {"peakMemoryBytes", "cpuUserMs",
				       "cpuSystemMs"};
	for (size_t i = 0; i < 3; i++) {
		assert_true(json_object_object_get_ex(o, fields[i], &v));
		assert_null(v);
	}
	json_object_put(o);
}

/* Which limit ended the command, every one it ran into, and the ones the
 * backend could not watch (so that their absence is not read as "no"). */
static void test_result_names_the_limits_hit(void **s)
{
	(void)s;
	struct monkey_result r;
	memset(&r, 0, sizeof(r));
	r.exit_code = 2;
	r.oom_killed = MONKEY_NO;
	r.limits_hit = MONKEY_LIMIT_PIDS;
	struct json_object *o =
	    monkey_result_to_json(&r, "docker", "docker", false);
	struct json_object *v;
	json_object_object_get_ex(o, "limitHit", &v);
	assert_string_equal(json_object_get_string(v), "pids");
	json_object_object_get_ex(o, "limitsHit", &v);
	assert_string_equal(json_object_to_json_string(v), "[ \"pids\" ]");
	json_object_put(o);

	r.limits_hit = MONKEY_LIMIT_CPU_TIME;
	r.timed_out = true;
	r.limits_unknown = MONKEY_LIMIT_PIDS;
	o = monkey_result_to_json(&r, "docker", "docker", false);
	json_object_object_get_ex(o, "limitHit", &v);
	assert_string_equal(json_object_get_string(v), "timeout");
	json_object_object_get_ex(o, "limitsHit", &v);
	assert_string_equal(json_object_to_json_string(v),
			    "[ \"timeout\", \"cpu-time\" ]");
	json_object_object_get_ex(o, "limitsUnknown", &v);
	assert_string_equal(json_object_to_json_string(v), "[ \"pids\" ]");
	json_object_put(o);
	monkey_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_utf8_is_unchanged),
	    cmocka_unit_test(test_invalid_bytes_become_replacement_chars),
	    cmocka_unit_test(test_binary_output_round_trips_as_valid_json),
	    cmocka_unit_test(test_result_object_has_every_field),
	    cmocka_unit_test(test_result_names_the_limits_hit),
	    cmocka_unit_test(test_result_reports_resource_use_or_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
