/* The none backend: warns loudly, runs the argv through /bin/sh -c with
 * every argument quoted (so each reaches the program as given, and shell
 * syntax only runs when asked for with sh -c), applies no limits, and still
 * kills the whole tree on timeout and when the command attacks its
 * reaper. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "spawn_harness.h"

static struct sh_backend none;

static void test_none_warns_at_init_that_nothing_is_sandboxed(void **s)
{
	(void)s;
	assert_non_null(strstr(none.log, "no sandbox"));
	assert_int_equal(none.be->safety, MONKEY_SAFETY_NONE);
}

static void test_none_keeps_each_argument_whole(void **s)
{
	(void)s;
	const char *argv[] = {"printf", "%s|",
			      "a b",	"c;echo INJECTED",
			      "it's",	"$((6*7)) `id` $HOME",
			      "",	"\\n\nx",
			      "'",	NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&none, &req, &r), 0);
	assert_int_equal(r.res.exit_code, 0);
	assert_string_equal(r.out.data, "a b|c;echo INJECTED|it's|"
					"$((6*7)) `id` $HOME||\\n\nx|'|");
	sh_result_free(&r);
}

static void test_none_runs_shell_syntax_asked_for_with_sh_c(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c", "echo a && echo $((6*7))", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&none, &req, &r), 0);
	assert_int_equal(r.res.exit_code, 0);
	assert_string_equal(r.out.data, "a\n42\n");
	sh_result_free(&r);
}

static void test_none_reports_the_shells_status(void **s)
{
	(void)s;
	const char *argv[] = {"monkey-no-such-program", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&none, &req, &r), 0);
	assert_int_equal(r.res.exit_code, 127);
	assert_non_null(strstr(r.err_stream.data, "monkey-no-such-program"));
	sh_result_free(&r);
}

static void test_none_timeout_kills_the_whole_tree(void **s)
{
	(void)s;
	char *pidfile = sh_pidfile();
	char envpid[4200];
	snprintf(envpid, sizeof(envpid), "PIDFILE=%s", pidfile);
	const char *envp[] = {"PATH=/usr/bin:/bin", envpid, NULL};
	const char *argv[] = {sh_helper(), "setsid-grandchild", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.envp = envp;
	req.timeout_ms = 300;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&none, &req, &r), 0);
	assert_int_equal(r.res.timed_out, 1);
	int n;
	assert_int_equal(sh_pids_alive(pidfile, &n), 0);
	assert_int_equal(n, 2);
	assert_true(sh_no_children());
	sh_pidfile_free(pidfile);
	sh_result_free(&r);
}

/* Under none the command's reaper is its shell's parent; killing or
 * stopping it leaves nothing behind either. */
static void test_none_command_attacking_its_reaper_leaves_nothing(void **s)
{
	(void)s;
	const char *sigs[] = {"KILL", "STOP"};
	for (int i = 0; i < 2; i++) {
		char *pidfile = sh_pidfile();
		char envpid[4200], script[512];
		snprintf(envpid, sizeof(envpid), "PIDFILE=%s", pidfile);
		snprintf(
		    script, sizeof(script),
		    "setsid sh -c 'echo $$ >>\"$PIDFILE\"; sleep 100' & "
		    "r=$PPID; [ \"$(cat /proc/$r/comm)\" = monkey-reaper ] "
		    "|| r=$(cut -d' ' -f4 /proc/$r/stat); sleep 0.2; "
		    "kill -%s $r; sleep 50",
		    sigs[i]);
		const char *envp[] = {"PATH=/usr/bin:/bin", envpid, NULL};
		const char *argv[] = {"sh", "-c", script, NULL};
		struct monkey_exec_request req;
		sh_request(&req, argv);
		req.envp = envp;
		struct sh_result r = {0};
		assert_int_equal(sh_exec(&none, &req, &r), 0);
		assert_int_equal(r.res.signal, SIGKILL);
		assert_true(r.ms < 2000);
		int n;
		assert_int_equal(sh_pids_alive(pidfile, &n), 0);
		assert_int_equal(n, 1);
		assert_true(sh_no_children());
		sh_pidfile_free(pidfile);
		sh_result_free(&r);
	}
}

static void test_none_applies_no_limits(void **s)
{
	(void)s;
	const char *argv[] = {"grep", "Max address space", "/proc/self/limits",
			      NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.memory_bytes = 64ull << 20;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&none, &req, &r), 0);
	struct rlimit as;
	getrlimit(RLIMIT_AS, &as);
	if (as.rlim_cur == RLIM_INFINITY)
		assert_non_null(strstr(r.out.data, "unlimited"));
	assert_null(strstr(r.out.data, "67108864"));
	sh_result_free(&r);
}

static void test_none_passes_only_the_given_environment(void **s)
{
	(void)s;
	setenv("GITHUB_TOKEN", "ghp_secret", 1);
	const char *envp[] = {"PATH=/usr/bin:/bin", "ONLY=this", NULL};
	const char *argv[] = {"env", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.envp = envp;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&none, &req, &r), 0);
	assert_non_null(strstr(r.out.data, "ONLY=this\n"));
	assert_null(strstr(r.out.data, "GITHUB_TOKEN"));
	sh_result_free(&r);
	unsetenv("GITHUB_TOKEN");
}

static int setup(void **s)
{
	(void)s;
	sh_load(&none, "none");
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	sh_unload(&none);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_none_warns_at_init_that_nothing_is_sandboxed),
	    cmocka_unit_test(test_none_keeps_each_argument_whole),
	    cmocka_unit_test(test_none_runs_shell_syntax_asked_for_with_sh_c),
	    cmocka_unit_test(test_none_reports_the_shells_status),
	    cmocka_unit_test(test_none_timeout_kills_the_whole_tree),
	    cmocka_unit_test(
		test_none_command_attacking_its_reaper_leaves_nothing),
	    cmocka_unit_test(test_none_applies_no_limits),
	    cmocka_unit_test(test_none_passes_only_the_given_environment),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
