/* The append rule of the backend ABI, through the public library API only:
 * backends built before fields were appended keep loading and running, and
 * the host never reads past the struct_size a backend declared. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <monkey/exec.h>
#include <monkey/sandbox.h>
#include <monkey/session.h>

/* The test modules of this file, built in tests/sdk/ (libtool puts the
 * .so files in its .libs). */
static const char *sdk_dir(void)
{
	static char dir[4096];
	const char *b = getenv("MONKEY_BUILDDIR");
	snprintf(dir, sizeof(dir), "%s/tests/sdk/.libs",
		 b && *b ? b : MONKEY_BUILDDIR);
	return dir;
}

static struct monkey_executor *open_backend(const char *name)
{
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = name;
	o.backend_dir = sdk_dir();
	o.no_fallback = true;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	if (monkey_executor_open(&o, &ex, &err) < 0)
		fail_msg("opening backend %s: %s", name, err.message);
	assert_string_equal(monkey_executor_backend_name(ex), name);
	return ex;
}

/* Every byte of the host's copy of the descriptor past what the backend
 * declared must read as zero: "not supported". */
static void assert_tail_zero(const struct monkey_backend *d)
{
	const unsigned char *p = (const unsigned char *)d;
	for (size_t i = d->struct_size; i < sizeof(*d); i++)
		if (p[i] != 0)
			fail_msg("descriptor byte %zu (past struct_size %u) is "
				 "0x%02x, not 0",
				 i, d->struct_size, p[i]);
}

static void run(struct monkey_executor *ex, const char *const *argv,
		int want_exit, const char *want_out)
{
	struct monkey_command cmd = {.argv = argv};
	struct monkey_result res;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_run(ex, &cmd, &res, &err), 0);
	char *out = monkey_capture_join(&res.out, NULL);
	assert_non_null(out);
	if (res.exit_code != want_exit || strcmp(out, want_out) != 0)
		fail_msg(
		    "got exit %d, stdout '%s', error '%s'; wanted exit %d, "
		    "stdout '%s'",
		    res.exit_code, out, res.error, want_exit, want_out);
	free(out);
	monkey_result_free(&res);
}

static void test_backend_built_against_abi_1_0_header_loads_and_runs(void **s)
{
	(void)s;
	struct monkey_executor *ex = open_backend("abi10");
	const struct monkey_backend *d = monkey_executor_backend(ex);
	assert_int_equal(d->abi_major, MONKEY_BACKEND_ABI_MAJOR);
	assert_int_equal(d->abi_minor, 0);
	assert_true(d->struct_size <= sizeof(struct monkey_backend));
	assert_string_equal(d->details, "built against ABI 1.0");
	assert_tail_zero(d);
	const char *const argv[] = {"one", "two", "three", NULL};
	run(ex, argv, 3, "abi10 ran: one two three\n");
	monkey_executor_close(ex);
}

/* ABI 1.2's resource figures: a 1.0 backend knows nothing of them, and
 * the result says "unknown" rather than 0. */
static void test_backend_built_against_abi_1_0_reports_no_resource_use(void **s)
{
	(void)s;
	struct monkey_executor *ex = open_backend("abi10");
	const char *const argv[] = {"one", NULL};
	struct monkey_command cmd = {.argv = argv};
	struct monkey_result res;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_run(ex, &cmd, &res, &err), 0);
	assert_int_equal(res.exit_code, 1);
	assert_true(res.peak_memory_bytes == -1);
	assert_true(res.cpu_user_ms == -1);
	assert_true(res.cpu_system_ms == -1);
	monkey_result_free(&res);
	monkey_executor_close(ex);
}

static int notices;
static char notice[2048];

static void count_notice(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level == MONKEY_LOG_WARNING && strstr(msg, "no sessions")) {
		notices++;
		snprintf(notice, sizeof(notice), "%s", msg);
	}
}

/* A 1.0 backend has no session entry points: a session still runs its
 * commands, one by one through exec, and says once that state does not
 * persist. */
static void test_session_on_an_abi_1_0_backend_runs_through_exec(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = "abi10";
	o.backend_dir = sdk_dir();
	o.no_fallback = true;
	o.notify = count_notice;
	notices = 0;
	struct monkey_executor *ex = NULL;
	struct monkey_session *ses = NULL;
	struct monkey_error err = {0};
	if (monkey_executor_open(&o, &ex, &err) < 0)
		fail_msg("opening abi10: %s", err.message);
	assert_int_equal(monkey_session_open(ex, &ses, &err), 0);
	assert_false(monkey_session_persistent(ses));
	assert_int_equal(notices, 1);
	assert_non_null(strstr(notice, "the abi10 backend has no sessions"));
	assert_non_null(strstr(notice, "do not persist"));
	for (int i = 0; i < 2; i++) {
		const char *const argv[] = {"one", "two", NULL};
		struct monkey_command cmd = {.argv = argv};
		struct monkey_result res;
		assert_int_equal(monkey_session_run(ses, &cmd, &res, &err), 0);
		assert_int_equal(res.exit_code, 2);
		assert_false(res.session_reset);
		char *out = monkey_capture_join(&res.out, NULL);
		assert_string_equal(out, "abi10 ran: one two\n");
		free(out);
		monkey_result_free(&res);
	}
	assert_int_equal(notices, 1);
	monkey_session_close(ses);
	monkey_executor_close(ex);
}

static void
test_descriptor_ending_at_fini_reads_optional_fields_as_null(void **s)
{
	(void)s;
	struct monkey_executor *ex = open_backend("minimal");
	const struct monkey_backend *d = monkey_executor_backend(ex);
	assert_int_equal(d->struct_size, offsetof(struct monkey_backend, fini) +
					     sizeof(d->fini));
	/* The module has 0xA5 bytes where a longer descriptor would hold
	 * details: the host must not have copied them. */
	assert_null(d->details);
	assert_tail_zero(d);
	const char *const argv[] = {"anything", NULL};
	run(ex, argv, 0, "minimal ran\n");
	monkey_executor_close(ex);
}

static void test_sandbox_info_of_minimal_descriptor_has_no_details(void **s)
{
	(void)s;
	struct monkey_backend_status st;
	struct monkey_error err = {0};
	memset(&st, 0, sizeof(st));
	if (monkey_sandbox_info(sdk_dir(), "minimal", &st, &err) < 0)
		fail_msg("sandbox info minimal: %s", err.message);
	assert_true(st.loaded);
	assert_true(st.available);
	assert_null(st.details);
	assert_string_equal(st.description,
			    "test backend with the smallest descriptor");
	monkey_backend_status_free(&st, 1);
}

static void test_sandbox_list_shows_old_backends_as_available(void **s)
{
	(void)s;
	struct monkey_backend_status *st = NULL;
	size_t n = 0;
	struct monkey_error err = {0};
	assert_int_equal(monkey_sandbox_list(sdk_dir(), &st, &n, NULL, &err),
			 0);
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(st[i].name, "abi10") &&
		    strcmp(st[i].name, "minimal"))
			continue;
		seen++;
		if (!st[i].loaded || !st[i].available)
			fail_msg("%s listed as %s: %s", st[i].name,
				 st[i].loaded ? "unavailable" : "refused",
				 st[i].reason);
		assert_int_equal(st[i].abi_major, 1);
		assert_int_equal(st[i].abi_minor, 0);
	}
	assert_int_equal(seen, 2);
	monkey_backend_status_list_free(st, n);
}

static void keep_notice(void *ctx, int level, const char *msg)
{
	if (level == MONKEY_LOG_WARNING)
		snprintf(ctx, 512, "%s", msg);
}

/* A backend built before ABI 1.2 cannot offer the egress proxy: a host
 * asked for --allow-domain warns that it is not enforced, opens no proxy
 * and runs the command as before; with --strict it refuses. */
static void test_abi_1_0_backend_gets_the_proxy_warning(void **s)
{
	(void)s;
	const char *const allow[] = {"example.com"};
	char notice[512] = "";
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = "abi10";
	o.backend_dir = sdk_dir();
	o.no_fallback = true;
	o.allow_domains = allow;
	o.n_allow_domains = 1;
	o.notify = keep_notice;
	o.notify_ctx = notice;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	if (monkey_executor_open(&o, &ex, &err) < 0)
		fail_msg("opening abi10: %s", err.message);
	assert_string_equal(notice,
			    "--allow-domain is not enforced by the abi10 "
			    "backend");
	const char *const argv[] = {"one", NULL};
	struct monkey_command cmd = {.argv = argv};
	struct monkey_result res;
	assert_int_equal(monkey_executor_run(ex, &cmd, &res, &err), 0);
	assert_int_equal(res.exit_code, 1);
	assert_false(res.proxied);
	monkey_result_free(&res);
	monkey_executor_close(ex);
	o.strict = true;
	assert_int_equal(monkey_executor_open(&o, &ex, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.message, "--allow-domain"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_backend_built_against_abi_1_0_header_loads_and_runs),
	    cmocka_unit_test(
		test_backend_built_against_abi_1_0_reports_no_resource_use),
	    cmocka_unit_test(
		test_session_on_an_abi_1_0_backend_runs_through_exec),
	    cmocka_unit_test(
		test_descriptor_ending_at_fini_reads_optional_fields_as_null),
	    cmocka_unit_test(
		test_sandbox_info_of_minimal_descriptor_has_no_details),
	    cmocka_unit_test(test_sandbox_list_shows_old_backends_as_available),
	    cmocka_unit_test(test_abi_1_0_backend_gets_the_proxy_warning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
