/* The monkey CLI as a user meets it: help, version, exec's exit codes and
 * JSON, option errors, backend refusals and sandbox listing. */
#include "config.h"

#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/backend.h>

#include "testutil.h"

static char env_path[4096];
static char *env_extra[] = {env_path, "MONKEY_SANDBOX=", NULL};

static int setup(void **s)
{
	(void)s;
	snprintf(env_path, sizeof(env_path),
		 "MONKEY_BACKEND_PATH=%s/plugins/spawn/.libs:"
		 "%s/plugins/none/.libs",
		 tu_builddir(), tu_builddir());
	return 0;
}

/* Run monkey with the given arguments (NULL-terminated). */
static void monkey(struct tu_run *r, const char *stdin_data, ...)
{
	char *argv[64];
	int n = 0;
	argv[n++] = (char *)tu_monkey();
	va_list ap;
	va_start(ap, stdin_data);
	char *a;
	while ((a = va_arg(ap, char *)) && n < 63)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(tu_run(r, stdin_data, argv, env_extra), 0);
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	if (!o)
		fail_msg("not JSON: %s", text);
	return o;
}

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(o, k, &v))
		fail_msg("no field %s", k);
	return v;
}

static void test_every_subcommand_has_help(void **s)
{
	(void)s;
	static const char *cmds[] = {"exec", "sandbox", "agent", "replay"};
	for (size_t i = 0; i < 4; i++) {
		struct tu_run r;
		monkey(&r, NULL, cmds[i], "--help", NULL);
		if (r.status != 0 || !tu_contains(r.out, "Usage: monkey"))
			fail_msg("monkey %s --help: status %d, out '%s'",
				 cmds[i], r.status, r.out);
		tu_run_free(&r);
	}
	struct tu_run r;
	monkey(&r, NULL, "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.out, "exec"));
	tu_run_free(&r);
}

static void test_version(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "--version", NULL);
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.out, "monkey " PACKAGE_VERSION));
	/* Where backends are looked for, and which this build installs. */
	assert_true(tu_contains(r.out, "backend directory: " MONKEY_BACKEND_DIR
				       "\n"));
	assert_true(tu_contains(r.out, "backends built with it: "));
#ifdef HAVE_BACKEND_SPAWN
	assert_true(tu_contains(r.out, "spawn"));
#endif
	tu_run_free(&r);
}

static void test_exec_json_echo_hi(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "exec", "--json", "--", "echo", "hi", NULL);
	assert_int_equal(r.status, 0);
	struct json_object *o = parse(r.out);
	assert_int_equal(json_object_get_int(get(o, "exitCode")), 0);
	assert_string_equal(json_object_get_string(get(o, "stdout")), "hi\n");
	assert_string_equal(json_object_get_string(get(o, "sandbox")), "spawn");
	assert_string_equal(json_object_get_string(get(o, "requestedSandbox")),
			    "spawn");
	assert_false(json_object_get_boolean(get(o, "fellBack")));
	assert_false(json_object_get_boolean(get(o, "timedOut")));
	assert_null(get(o, "signal"));
	assert_null(get(o, "error"));
	assert_int_equal(json_object_get_int(get(o, "stdoutBytes")), 3);
	json_object_put(o);
	tu_run_free(&r);
}

static void test_plain_mode_passes_streams_through_separately(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "exec", "--", "sh", "-c",
	       "echo out; echo err >&2; exit 3", NULL);
	assert_int_equal(r.status, 3);
	assert_string_equal(r.out, "out\n");
	assert_string_equal(r.err, "err\n");
	tu_run_free(&r);
}

static void test_exit_codes_follow_docker_run(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "exec", "--", "no-such-program-xyz", NULL);
	assert_int_equal(r.status, 127);
	assert_true(tu_contains(r.err, "no-such-program-xyz"));
	tu_run_free(&r);

	char *dir = tu_mkdtemp();
	char path[4096];
	snprintf(path, sizeof(path), "%s/script", dir);
	tu_write_file(path, "#!/bin/sh\necho x\n");
	chmod(path, 0644);
	monkey(&r, NULL, "exec", "--", path, NULL);
	assert_int_equal(r.status, 126);
	assert_true(tu_contains(r.err, "script"));
	tu_run_free(&r);
	tu_rmrf(dir);
	free(dir);

	monkey(&r, NULL, "exec", "--timeout", "200", "--", "sleep", "10", NULL);
	assert_int_equal(r.status, 124);
	assert_true(tu_contains(r.err, "timed out"));
	tu_run_free(&r);

	monkey(&r, NULL, "exec", "--", "sh", "-c", "kill -9 $$", NULL);
	assert_int_equal(r.status, 137);
	tu_run_free(&r);
}

static void test_json_reports_signal_and_timeout(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "exec", "--json", "--", "sh", "-c", "kill -TERM $$",
	       NULL);
	assert_int_equal(r.status, 143);
	struct json_object *o = parse(r.out);
	assert_int_equal(json_object_get_int(get(o, "signal")), 15);
	assert_int_equal(json_object_get_int(get(o, "exitCode")), 143);
	json_object_put(o);
	tu_run_free(&r);

	monkey(&r, NULL, "exec", "--json", "--timeout", "300", "--", "sh", "-c",
	       "echo partial; sleep 10", NULL);
	assert_int_equal(r.status, 124);
	o = parse(r.out);
	assert_true(json_object_get_boolean(get(o, "timedOut")));
	assert_string_equal(json_object_get_string(get(o, "stdout")),
			    "partial\n");
	json_object_put(o);
	tu_run_free(&r);
}

static void test_json_output_is_valid_for_binary_output(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "exec", "--json", "--", "printf", "a\\377\\300b\\000c",
	       NULL);
	assert_int_equal(r.status, 0);
	struct json_object *o = parse(r.out);
	assert_int_equal(json_object_get_int(get(o, "stdoutBytes")), 6);
	const char *out = json_object_get_string(get(o, "stdout"));
	assert_memory_equal(out,
			    "a\xEF\xBF\xBD\xEF\xBF\xBD"
			    "b",
			    8);
	json_object_put(o);
	tu_run_free(&r);
}

static void test_bad_option_values_name_the_option(void **s)
{
	(void)s;
	static const char *cases[][3] = {
	    {"--memory", "lots", "--memory 'lots'"},
	    {"--timeout", "-5", "--timeout '-5'"},
	    {"--cpus", "zero", "--cpus 'zero'"},
	    {"--pids", "0", "--pids 0"},
	    {"--env", "NOEQUALS", "--env 'NOEQUALS'"},
	    {"--mount", "bad", "--mount 'bad'"},
	    {"--workdir", "/nonexistent-dir", "--workdir /nonexistent-dir"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct tu_run r;
		monkey(&r, NULL, "exec", cases[i][0], cases[i][1], "--", "true",
		       NULL);
		if (r.status != 125 || !tu_contains(r.err, cases[i][2]))
			fail_msg("%s %s: status %d, stderr '%s'", cases[i][0],
				 cases[i][1], r.status, r.err);
		tu_run_free(&r);
	}
}

/* --memory takes docker's units as well as plain megabytes. */
static void test_memory_takes_docker_units(void **s)
{
	(void)s;
	static const char *cases[][2] = {
	    {"512", "memory=536870912\n"},   {"512m", "memory=536870912\n"},
	    {"1.5g", "memory=1610612736\n"}, {"2GiB", "memory=2147483648\n"},
	    {"64MB", "memory=67108864\n"},   {"6291456b", "memory=6291456\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct tu_run r;
		monkey(&r, NULL, "exec", "--backend-dir", tu_modules_dir(),
		       "--sandbox", "reqdump", "--memory", cases[i][0], "--",
		       "x", NULL);
		if (r.status != 0 || !tu_contains(r.out, cases[i][1]))
			fail_msg("--memory %s: status %d, out '%s', err '%s'",
				 cases[i][0], r.status, r.out, r.err);
		tu_run_free(&r);
	}
	static const char *bad[] = {"5m", "1.5", "1g5", "g", "-1g", "12q"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct tu_run r;
		monkey(&r, NULL, "exec", "--memory", bad[i], "--", "true",
		       NULL);
		if (r.status != 125 || !tu_contains(r.err, "--memory"))
			fail_msg("--memory %s: status %d, err '%s'", bad[i],
				 r.status, r.err);
		tu_run_free(&r);
	}
}

/* --strict under spawn: --read-only is refused before anything runs
 * (without it, monkey warns and the file is written). */
static void test_strict_refuses_before_running(void **s)
{
	(void)s;
	char *ws = tu_mkdtemp();
	char file[4200];
	snprintf(file, sizeof(file), "%s/f", ws);
	struct tu_run r;
	monkey(&r, NULL, "exec", "--strict", "--read-only", "--workspace", ws,
	       "--", "touch", "f", NULL);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "--strict: the spawn backend does not "
				       "enforce --read-only"));
	assert_int_equal(access(file, F_OK), -1);
	tu_run_free(&r);
	monkey(&r, NULL, "exec", "--read-only", "--workspace", ws, "--",
	       "touch", "f", NULL);
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.err, "--read-only is not enforced"));
	assert_int_equal(access(file, F_OK), 0);
	tu_run_free(&r);
	tu_rmrf(ws);
	free(ws);
}

static void test_missing_command_is_an_error(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "exec", "--json", NULL);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "no command given"));
	tu_run_free(&r);
}

static void test_each_loader_refusal_exits_125_with_its_message(void **s)
{
	(void)s;
	static const char *cases[][2] = {
	    {"../evil", "may not contain '/'"},
	    {"a..b", "'..'"},
	    {"badabi", "but this monkey speaks ABI"},
	    {"small", "smaller than the"},
	    {"incomplete", "incomplete"},
	    {"noentry", "does not export the entry symbol"},
	    {"nosuchbackend", "is not installed (looked in"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct tu_run r;
		monkey(&r, NULL, "exec", "--backend-dir",
		       (char *)tu_modules_dir(), "--sandbox", cases[i][0], "--",
		       "true", NULL);
		if (r.status != 125 || !tu_contains(r.err, cases[i][1]))
			fail_msg("--sandbox %s: status %d, stderr '%s'",
				 cases[i][0], r.status, r.err);
		tu_run_free(&r);
	}
}

static void test_fallback_is_announced_and_reported_in_json(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "exec", "--json", "--backend-dir",
	       (char *)tu_modules_dir(), "--sandbox", "unavail", "--", "echo",
	       "ok", NULL);
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.err,
				"unavail not available, falling back to spawn "
				"mode: test engine not reachable"));
	struct json_object *o = parse(r.out);
	assert_string_equal(json_object_get_string(get(o, "sandbox")), "spawn");
	assert_string_equal(json_object_get_string(get(o, "requestedSandbox")),
			    "unavail");
	assert_true(json_object_get_boolean(get(o, "fellBack")));
	json_object_put(o);
	tu_run_free(&r);

	monkey(&r, NULL, "exec", "--no-fallback", "--backend-dir",
	       (char *)tu_modules_dir(), "--sandbox", "unavail", "--", "echo",
	       "ok", NULL);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "test engine not reachable"));
	assert_false(tu_contains(r.out, "ok"));
	tu_run_free(&r);
}

static void test_monkey_sandbox_env_selects_the_backend(void **s)
{
	(void)s;
#ifndef HAVE_BACKEND_NONE
	skip(); /* this build has no none backend */
#endif
	char *extra[] = {env_path, "MONKEY_SANDBOX=none", NULL};
	char *argv[] = {
	    (char *)tu_monkey(), "exec", "--json", "--", "echo", "x", NULL};
	struct tu_run r;
	assert_int_equal(tu_run(&r, NULL, argv, extra), 0);
	struct json_object *o = parse(r.out);
	assert_string_equal(json_object_get_string(get(o, "sandbox")), "none");
	json_object_put(o);
	tu_run_free(&r);
}

static void test_none_backend_warns_loudly(void **s)
{
	(void)s;
#ifndef HAVE_BACKEND_NONE
	skip(); /* this build has no none backend */
#endif
	struct tu_run r;
	monkey(&r, NULL, "exec", "--sandbox", "none", "--", "echo", "x", NULL);
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.err, "warning"));
	assert_true(tu_contains(r.err, "no sandbox"));
	tu_run_free(&r);
}

static void test_spawn_reports_unenforced_limits(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "exec", "--cpus", "1", "--pids", "10", "--read-only",
	       "--", "true", NULL);
	assert_int_equal(r.status, 0);
	assert_true(
	    tu_contains(r.err, "--cpus is not enforced by the spawn backend"));
	assert_true(
	    tu_contains(r.err, "--pids is not enforced by the spawn backend"));
	assert_true(tu_contains(
	    r.err, "--read-only is not enforced by the spawn backend"));
	tu_run_free(&r);
}

static void test_secrets_do_not_reach_the_command(void **s)
{
	(void)s;
	char *extra[] = {env_path,
			 "ANTHROPIC_API_KEY=sk-ant-xyz",
			 "GITHUB_TOKEN=ghp_xyz",
			 "AWS_SECRET_ACCESS_KEY=aws_xyz",
			 "MONKEY_SANDBOX=",
			 NULL};
	char *argv[] = {(char *)tu_monkey(), "exec", "--", "env", NULL};
	struct tu_run r;
	assert_int_equal(tu_run(&r, NULL, argv, extra), 0);
	assert_int_equal(r.status, 0);
	assert_false(tu_contains(r.out, "_xyz"));
	assert_true(tu_contains(r.out, "PATH="));
	tu_run_free(&r);
	char *argv2[] = {(char *)tu_monkey(),
			 "exec",
			 "--pass-env",
			 "GITHUB_TOKEN",
			 "--env",
			 "X=1",
			 "--",
			 "env",
			 NULL};
	assert_int_equal(tu_run(&r, NULL, argv2, extra), 0);
	assert_true(tu_contains(r.out, "GITHUB_TOKEN=ghp_xyz"));
	assert_true(tu_contains(r.out, "X=1"));
	assert_false(tu_contains(r.out, "sk-ant-xyz"));
	tu_run_free(&r);
}

static void test_sandbox_list_shows_spawn_and_none(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "sandbox", "list", NULL);
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.out, "NAME"));
	assert_true(tu_contains(r.out, "\nspawn "));
#ifdef HAVE_BACKEND_NONE
	assert_true(tu_contains(r.out, "\nnone "));
#endif
	tu_run_free(&r);

	monkey(&r, NULL, "sandbox", "list", "--json", NULL);
	assert_int_equal(r.status, 0);
	struct json_object *a = parse(r.out);
	bool spawn = false;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		if (strcmp(json_object_get_string(get(e, "name")), "spawn") ==
		    0) {
			spawn = true;
			assert_true(
			    json_object_get_boolean(get(e, "available")));
			assert_string_equal(
			    json_object_get_string(get(e, "safety")), "medium");
			char abi[32];
			snprintf(abi, sizeof(abi), "%d.%d",
				 MONKEY_BACKEND_ABI_MAJOR,
				 MONKEY_BACKEND_ABI_MINOR);
			assert_string_equal(
			    json_object_get_string(get(e, "abi")), abi);
		}
	}
	assert_true(spawn);
	json_object_put(a);
	tu_run_free(&r);
}

static void test_sandbox_list_shows_refused_modules_with_reason(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "sandbox", "list", "--backend-dir",
	       (char *)tu_modules_dir(), NULL);
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.out, "refused: refusing backend 'badabi'"));
	assert_true(
	    tu_contains(r.out, "unavailable: test engine not reachable"));
	tu_run_free(&r);
}

static void test_sandbox_info(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "sandbox", "info", "spawn", NULL);
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.out, "name:         spawn"));
	assert_true(tu_contains(r.out, "safety:       medium"));
	assert_true(tu_contains(r.out, "available:    yes"));
	tu_run_free(&r);

	monkey(&r, NULL, "sandbox", "info", "nosuch", NULL);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "backend 'nosuch' is not installed"));
	tu_run_free(&r);

#ifdef HAVE_BACKEND_NONE
	monkey(&r, NULL, "sandbox", "info", "none", "--json", NULL);
	assert_int_equal(r.status, 0);
	struct json_object *o = parse(r.out);
	assert_string_equal(json_object_get_string(get(o, "safety")), "none");
	json_object_put(o);
	tu_run_free(&r);
#endif
}

static bool has_byte(const char *s, size_t len, unsigned char c)
{
	return memchr(s, c, len) != NULL;
}

/* monkey's own lines never carry a raw control character from a command
 * name, a path or a backend; the command's own output in plain mode is
 * the user's and passes through as it is (as with docker run). */
static void test_own_lines_are_escaped_command_output_is_not(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, NULL, "exec", "--", "./\033[31mnope", NULL);
	assert_int_equal(r.status, 127);
	assert_false(has_byte(r.err, r.err_len, 0x1b));
	assert_true(tu_contains(r.err, "./\\x1b[31mnope"));
	tu_run_free(&r);

	monkey(&r, NULL, "exec", "--", "printf", "\\033[31mX\\r", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "\033[31mX\r");
	tu_run_free(&r);

	/* --json: still JSON, with DEL, C1 and bidi controls as \uXXXX. */
	monkey(&r, NULL, "exec", "--json", "--", "printf",
	       "\\177\\302\\233\\342\\200\\256", NULL);
	assert_int_equal(r.status, 0);
	assert_false(has_byte(r.out, r.out_len, 0x7f));
	assert_false(has_byte(r.out, r.out_len, 0x9b));
	assert_true(tu_contains(r.out, "\\u007f\\u009b\\u202e"));
	struct json_object *o = parse(r.out);
	assert_string_equal(json_object_get_string(get(o, "stdout")),
			    "\177\302\233\342\200\256");
	json_object_put(o);
	tu_run_free(&r);

	monkey(&r, NULL, "sandbox", "info", "ev\033[2Jil", NULL);
	assert_int_equal(r.status, 125);
	assert_false(has_byte(r.err, r.err_len, 0x1b));
	assert_true(tu_contains(r.err, "ev\\x1b[2Jil"));
	tu_run_free(&r);

	/* A backend directory and a module named to clear the screen. */
	char *top = tu_mkdtemp(), dir[4200], mod[4300];
	snprintf(dir, sizeof(dir), "%s/d\033[2J", top);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(mod, sizeof(mod), "%s/ev\033[2Jil.so", dir);
	tu_write_file(mod, "");
	monkey(&r, NULL, "sandbox", "list", "--backend-dir", dir, NULL);
	assert_false(has_byte(r.out, r.out_len, 0x1b));
	assert_false(has_byte(r.err, r.err_len, 0x1b));
	assert_true(tu_contains(r.out, "\\x1b[2J"));
	tu_run_free(&r);
	tu_rmrf(top);
	free(top);
}

/* A backend named by MONKEY_SANDBOX, not on the command line, is reported
 * as coming from there. */
static void test_sandbox_from_the_environment_is_named_in_errors(void **s)
{
	(void)s;
	char *extra[] = {env_path, "MONKEY_SANDBOX=dcoker", NULL};
	char *argv[] = {(char *)tu_monkey(), "exec", "--", "true", NULL};
	struct tu_run r;
	assert_int_equal(tu_run(&r, NULL, argv, extra), 0);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "monkey: MONKEY_SANDBOX=dcoker: backend "
				       "'dcoker' is not installed"));
	tu_run_free(&r);
	/* Typed on the command line: nothing to point at. */
	monkey(&r, NULL, "exec", "--sandbox", "dcoker", "--", "true", NULL);
	assert_int_equal(r.status, 125);
	assert_true(
	    tu_contains(r.err, "monkey: backend 'dcoker' is not installed"));
	tu_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_subcommand_has_help),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_exec_json_echo_hi),
	    cmocka_unit_test(test_plain_mode_passes_streams_through_separately),
	    cmocka_unit_test(test_exit_codes_follow_docker_run),
	    cmocka_unit_test(test_json_reports_signal_and_timeout),
	    cmocka_unit_test(test_json_output_is_valid_for_binary_output),
	    cmocka_unit_test(test_bad_option_values_name_the_option),
	    cmocka_unit_test(test_memory_takes_docker_units),
	    cmocka_unit_test(test_strict_refuses_before_running),
	    cmocka_unit_test(test_missing_command_is_an_error),
	    cmocka_unit_test(
		test_each_loader_refusal_exits_125_with_its_message),
	    cmocka_unit_test(test_fallback_is_announced_and_reported_in_json),
	    cmocka_unit_test(test_monkey_sandbox_env_selects_the_backend),
	    cmocka_unit_test(test_none_backend_warns_loudly),
	    cmocka_unit_test(test_spawn_reports_unenforced_limits),
	    cmocka_unit_test(test_secrets_do_not_reach_the_command),
	    cmocka_unit_test(test_sandbox_list_shows_spawn_and_none),
	    cmocka_unit_test(
		test_sandbox_list_shows_refused_modules_with_reason),
	    cmocka_unit_test(test_sandbox_info),
	    cmocka_unit_test(test_own_lines_are_escaped_command_output_is_not),
	    cmocka_unit_test(
		test_sandbox_from_the_environment_is_named_in_errors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
