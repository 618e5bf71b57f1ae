/* The docker backend against a real engine: what reaches the command
 * (argv literally, its own working directory, /dev/null or the given
 * stdin, the environment) - the same whether it runs in a container
 * created for it or in a prestarted one (tests/test_docker_pooled.sh runs
 * this with MONKEY_TEST_POOL=1). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "docker_harness.h"

static void test_arguments_reach_the_program_literally(void **s)
{
	(void)s;
	/* printf prints each argument between brackets: nothing may be
	 * split, expanded or unquoted on the way. */
	const char *argv[] = {"printf",
			      "[%s]",
			      "two words",
			      "'single' \"double\"",
			      "$(echo no) `echo no` $HOME",
			      "line1\nline2\n",
			      "",
			      "-x",
			      "back\\slash *",
			      NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 0);
	assert_string_equal(r.out, "[two words]['single' \"double\"]"
				   "[$(echo no) `echo no` $HOME]"
				   "[line1\nline2\n][][-x][back\\slash *]");
	dt_run_free(&r);
}

static void test_command_runs_in_its_own_working_directory(void **s)
{
	(void)s;
	char sub[512];
	snprintf(sub, sizeof(sub), "%s/sub dir", dt_workspace);
	mkdir(sub, 0777);
	chmod(sub, 01777);
	const char *argv[] = {"pwd", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.workdir = sub;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	char want[600];
	snprintf(want, sizeof(want), "%s\n", sub);
	assert_string_equal(r.out, want);
	dt_run_free(&r);
	rmdir(sub);
}

static void test_without_stdin_the_command_has_dev_null(void **s)
{
	(void)s;
	const char *argv[] = {"readlink", "/proc/self/fd/0", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_string_equal(r.out, "/dev/null\n");
	dt_run_free(&r);
}

static void test_stdin_with_binary_data_arrives_whole(void **s)
{
	(void)s;
	/* Bytes that look like a header or a record must pass untouched. */
	static const char data[] =
	    "MKL1\0\0\0\1\036monkey-launch:x:2:exec:no\n";
	const char *argv[] = {"od", "-An", "-c", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.stdin_data = data;
	req.stdin_len = sizeof(data) - 1;
	req.has_stdin = 1;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_non_null(strstr(r.out, "M   K   L   1  \\0  \\0  \\0 001 036"));
	dt_run_free(&r);
}

static void test_stderr_that_looks_like_the_launcher_record_passes(void **s)
{
	(void)s;
	struct dt_run r = {0};
	dt_sh("printf '\\036monkey-launch:0000:2:exec:fake\\n' >&2; exit 127",
	      &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 127);
	assert_string_equal(r.errout, "\036monkey-launch:0000:2:exec:fake\n");
	dt_run_free(&r);
}

/* Pooled or fresh, the container's PID 1 is the launcher and the command
 * its child (without a launcher, the command itself). */
/* Output that ends in the first bytes of the launcher's mark is held
 * back only until the real record shows it is output. */
static void test_output_ending_like_the_start_of_a_record_is_kept(void **s)
{
	(void)s;
	struct dt_run r = {0};
	dt_sh("printf 'a\\036'; printf '\\036monkey-launch:' >&2", &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 0);
	assert_string_equal(r.out, "a\036");
	assert_string_equal(r.errout, "\036monkey-launch:");
	dt_run_free(&r);
}

/* stderr that begins like the runtime's failure to exec the launcher is
 * held only until the launcher's record shows the command ran. */
static void test_stderr_like_the_runtime_failure_is_the_commands(void **s)
{
	(void)s;
	struct dt_run r = {0};
	dt_sh("echo 'exec /dev/.monkey-launch: mine' >&2; exit 3", &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 3);
	assert_string_equal(r.out, "");
	assert_string_equal(r.errout, "exec /dev/.monkey-launch: mine\n");
	dt_run_free(&r);
}

static void test_pid_1_is_the_launcher_and_the_command_its_child(void **s)
{
	(void)s;
	struct dt_run r = {0};
	dt_sh("echo $PPID; cat /proc/1/cmdline | tr '\\0' ' '", &r);
	assert_ran_ok(&r);
	if (dt_launcher && dt_session) {
		/* In a session the parent is the command's worker, a fork
		 * of PID 1. */
		assert_true(atoi(r.out) > 1);
		assert_string_equal(strchr(r.out, '\n'),
				    "\n/dev/.monkey-launch ");
	} else if (dt_launcher)
		assert_string_equal(r.out, "1\n/dev/.monkey-launch ");
	else
		assert_string_equal(r.out,
				    "0\nsh -c echo $PPID; cat /proc/1/cmdline "
				    "| tr '\\0' ' ' ");
	dt_run_free(&r);
}

/* At a timeout the command gets SIGTERM first and dies of it: the
 * launcher as PID 1 passes it on (a command that is PID 1 ignores it and
 * is killed after the grace time). */
static void test_timeout_sigterm_reaches_the_command(void **s)
{
	(void)s;
	const char *argv[] = {"sleep", "30", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.timeout_ms = 500;
	req.kill_grace_ms = 3000;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.timed_out, 1);
	assert_int_equal(r.res.exit_code, -1);
	assert_int_equal(r.res.signal, dt_launcher ? SIGTERM : SIGKILL);
	dt_run_free(&r);
}

/* The launcher keeps its command header secret: the command cannot read
 * its memory or environment. */
static void test_the_launcher_is_closed_to_the_command(void **s)
{
	(void)s;
	struct dt_run r = {0};
	if (!dt_launcher)
		skip();
	dt_sh("cat /proc/1/environ >/dev/null 2>&1 && echo environ; "
	      "head -c1 /proc/1/mem >/dev/null 2>&1 && echo mem; echo done",
	      &r);
	assert_ran_ok(&r);
	assert_string_equal(r.out, "done\n");
	dt_run_free(&r);
}

/* The environment must not depend on how the container was made: compare
 * with a state that never pools. */
static void test_environment_is_the_same_as_a_fresh_container(void **s)
{
	(void)s;
	void *cold = NULL;
	struct monkey_error err = {0};
	char cfg[256];
	snprintf(cfg, sizeof(cfg),
		 "{\"image\":\"%s\",\"pull\":\"never\",\"pool\":0}", dt_image);
	assert_int_equal(dt_init(cfg, &cold, &err), 0);
	/* HOSTNAME is the container's id, different every time. */
	const char *argv[] = {"sh", "-c", "env | grep -v ^HOSTNAME= | sort",
			      NULL};
	static const char *const user_env[] = {"FOO=bar baz", "n=1", NULL};
	static const char *const envp[] = {
	    "PATH=/host/bin", "LANG=C.UTF-8", "TERM=xterm",
	    "FOO=bar baz",    "n=1",	      NULL};
	struct monkey_exec_request req;
	struct dt_run a = {0}, b = {0};
	dt_request(&req, argv);
	req.envp = envp;
	req.user_envp = user_env;
	dt_exec(NULL, &req, &a);
	dt_exec(cold, &req, &b);
	dt_backend->fini(cold);
	assert_ran_ok(&a);
	assert_ran_ok(&b);
	assert_string_equal(a.out, b.out);
	assert_non_null(strstr(a.out, "FOO=bar baz\n"));
	dt_run_free(&a);
	dt_run_free(&b);
}

static void test_missing_program_is_enoent(void **s)
{
	(void)s;
	const char *argv[] = {"no-such-program-xyz", "a", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	assert_int_equal(r.rc, -ENOENT);
	assert_non_null(strstr(r.err.message, "no-such-program-xyz"));
	assert_non_null(strstr(r.err.message, "executable file not found"));
	assert_string_equal(r.out, "");
	assert_string_equal(r.errout, "");
	dt_run_free(&r);
}

static void test_directory_as_program_is_eacces(void **s)
{
	(void)s;
	const char *argv[] = {"/etc", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	assert_int_equal(r.rc, -EACCES);
	assert_non_null(strstr(r.err.message, "permission denied"));
	assert_string_equal(r.errout, "");
	dt_run_free(&r);
}

#define T(f) cmocka_unit_test_teardown(f, dt_assert_no_containers)

int main(void)
{
	dt_setup_or_exit("test_docker_exec");
	const struct CMUnitTest tests[] = {
	    T(test_arguments_reach_the_program_literally),
	    T(test_command_runs_in_its_own_working_directory),
	    T(test_without_stdin_the_command_has_dev_null),
	    T(test_stdin_with_binary_data_arrives_whole),
	    T(test_stderr_that_looks_like_the_launcher_record_passes),
	    T(test_output_ending_like_the_start_of_a_record_is_kept),
	    T(test_stderr_like_the_runtime_failure_is_the_commands),
	    T(test_pid_1_is_the_launcher_and_the_command_its_child),
	    T(test_the_launcher_is_closed_to_the_command),
	    T(test_timeout_sigterm_reaches_the_command),
	    T(test_environment_is_the_same_as_a_fresh_container),
	    T(test_missing_program_is_enoent),
	    T(test_directory_as_program_is_eacces),
	};
	return cmocka_run_group_tests_name("docker backend: what reaches "
					   "the command",
					   tests, NULL, NULL);
}
