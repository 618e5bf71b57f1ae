/* The spawn backend kills the whole process tree: on timeout (a child that
 * traps SIGTERM, a setsid grandchild, a double-forking daemon, a process
 * that keeps forking), on cancel, when the command exits leaving processes
 * behind, and when it kills or stops its reaper; a grandchild holding the
 * output pipe cannot hang it.  After every run not one recorded process may
 * remain. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spawn_harness.h"

static struct sh_backend spawn;

/* Runs the helper in mode (plus one optional argument) with PIDFILE set,
 * then asserts that every process it recorded is gone and that no helper
 * process of the backend is left for us to reap. */
struct tree_run {
	struct sh_result r;
	int recorded;
};

static int64_t grace_ms = 300;

static void run_tree(struct tree_run *t, const char *mode, const char *arg,
		     int64_t timeout_ms, int min_recorded)
{
	char *pidfile = sh_pidfile();
	char envpid[4200];
	snprintf(envpid, sizeof(envpid), "PIDFILE=%s", pidfile);
	const char *envp[] = {"PATH=/usr/bin:/bin", envpid, NULL};
	const char *argv[] = {sh_helper(), mode, arg, NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.envp = envp;
	req.timeout_ms = timeout_ms;
	req.kill_grace_ms = grace_ms;
	memset(t, 0, sizeof(*t));
	sh_exec(&spawn, &req, &t->r);
	assert_int_equal(sh_pids_alive(pidfile, &t->recorded), 0);
	assert_true(t->recorded >= min_recorded);
	assert_true(sh_no_children());
	sh_pidfile_free(pidfile);
}

static void test_timeout_keeps_partial_output_and_says_timed_out(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "sleep", NULL, 300, 1);
	assert_int_equal(t.r.rc, 0);
	assert_int_equal(t.r.res.timed_out, 1);
	assert_int_equal(t.r.res.cancelled, 0);
	assert_int_equal(t.r.res.signal, SIGTERM);
	assert_int_equal(t.r.res.exit_code, -1);
	assert_string_equal(t.r.out.data, "partial output\n");
	assert_true(t.r.ms >= 300 && t.r.ms < 3000);
	sh_result_free(&t.r);
}

static void test_timeout_kills_child_that_traps_sigterm(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "trap-term", NULL, 300, 1);
	assert_int_equal(t.r.res.timed_out, 1);
	/* SIGTERM was ignored, so SIGKILL came after the grace period. */
	assert_int_equal(t.r.res.signal, SIGKILL);
	assert_true(t.r.ms >= 300 + 300);
	assert_true(t.r.ms < 5000);
	assert_string_equal(t.r.out.data, "partial output\n");
	sh_result_free(&t.r);
}

static void test_timeout_kills_setsid_grandchild(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "setsid-grandchild", NULL, 300, 2);
	assert_int_equal(t.r.res.timed_out, 1);
	assert_string_equal(t.r.out.data, "started\n");
	sh_result_free(&t.r);
}

static void test_timeout_kills_double_forked_daemon(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "daemon", "wait", 300, 2);
	assert_int_equal(t.r.res.timed_out, 1);
	assert_string_equal(t.r.out.data, "daemonized\n");
	sh_result_free(&t.r);
}

static void test_timeout_kills_process_that_keeps_forking(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "forker", NULL, 200, 5);
	assert_int_equal(t.r.res.timed_out, 1);
	sh_result_free(&t.r);
}

static void test_normal_exit_kills_daemon_left_behind(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "daemon", NULL, 20000, 2);
	assert_int_equal(t.r.rc, 0);
	assert_int_equal(t.r.res.exit_code, 0);
	assert_int_equal(t.r.res.timed_out, 0);
	/* The daemon ignores SIGTERM: one grace period, no timeout. */
	assert_true(t.r.ms < 5000);
	sh_result_free(&t.r);
}

static void test_normal_exit_kills_child_left_behind(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "leave-child", NULL, 20000, 2);
	assert_int_equal(t.r.res.exit_code, 0);
	assert_int_equal(t.r.res.timed_out, 0);
	assert_string_equal(t.r.out.data, "left a child\n");
	/* Found right away, not after the 20 s timeout. */
	assert_true(t.r.ms < 2000);
	sh_result_free(&t.r);
}

static void test_grandchild_holding_output_pipe_does_not_hang(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "hold-pipe", NULL, 20000, 2);
	assert_int_equal(t.r.rc, 0);
	assert_int_equal(t.r.res.exit_code, 0);
	assert_int_equal(t.r.res.timed_out, 0);
	assert_string_equal(t.r.out.data, "parent done\n");
	/* Drain guard (0.5 s) plus one grace period (0.3 s), not the 20 s
	 * timeout. */
	assert_true(t.r.ms >= 500);
	assert_true(t.r.ms < 3000);
	sh_result_free(&t.r);
}

static void test_command_that_kills_its_reaper_is_killed_with_its_tree(void **s)
{
	(void)s;
	struct tree_run t;
	spawn.log[0] = '\0';
	run_tree(&t, "attack-reaper", "KILL", 20000, 2);
	assert_int_equal(t.r.rc, 0);
	assert_int_equal(t.r.res.signal, SIGKILL);
	assert_int_equal(t.r.res.timed_out, 0);
	assert_string_equal(t.r.out.data, "attacking\n");
	assert_true(t.r.ms < 2000);
	assert_non_null(strstr(spawn.log, "reaper process was killed"));
	sh_result_free(&t.r);
}

static void
test_command_that_stops_its_reaper_is_killed_within_the_grace(void **s)
{
	(void)s;
	struct tree_run t;
	/* run_tree also finds no stopped reaper left: it would still be
	 * our child. */
	run_tree(&t, "attack-reaper", "STOP", 20000, 2);
	assert_int_equal(t.r.rc, 0);
	assert_int_equal(t.r.res.signal, SIGKILL);
	assert_int_equal(t.r.res.timed_out, 0);
	/* The watch (0.1 s) and the grace (0.3 s), with room for a loaded
	 * machine. */
	assert_true(t.r.ms < 1000);
	sh_result_free(&t.r);
}

/* An agent session's worth of commands, a quarter of them attacking their
 * reaper: each leaves nothing alive, and the host ends with no child. */
static void test_a_thousand_commands_leave_no_process_or_zombie(void **s)
{
	(void)s;
	grace_ms = 0; /* leftovers get SIGKILL at once */
	for (int i = 0; i < 1000; i++) {
		const char *mode = "exit", *arg = "0";
		int want = 0;
		if (i % 50 == 0)
			mode = "attack-reaper", arg = "STOP", want = 2;
		else if (i % 4 == 1)
			mode = "attack-reaper", arg = "KILL", want = 2;
		else if (i % 4 == 2)
			mode = "leave-child", arg = NULL, want = 2;
		else if (i % 4 == 3)
			mode = "daemon", arg = NULL, want = 2;
		struct tree_run t;
		run_tree(&t, mode, arg, 20000, want);
		assert_int_equal(t.r.rc, 0);
		sh_result_free(&t.r);
	}
	grace_ms = 300;
}

static void test_command_leads_its_own_session_and_group(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "session", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_string_equal(r.out.data, "leader\n");
	sh_result_free(&r);
}

static void *cancel_later(void *arg)
{
	int fd = *(int *)arg;
	usleep(200 * 1000);
	if (write(fd, "x", 1) != 1)
		abort();
	return NULL;
}

static void test_cancel_fd_kills_the_tree_and_says_cancelled(void **s)
{
	(void)s;
	char *pidfile = sh_pidfile();
	char envpid[4200];
	snprintf(envpid, sizeof(envpid), "PIDFILE=%s", pidfile);
	const char *envp[] = {"PATH=/usr/bin:/bin", envpid, NULL};
	const char *argv[] = {sh_helper(), "setsid-grandchild", NULL};
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.envp = envp;
	req.cancel_fd = p[0];
	pthread_t th;
	pthread_create(&th, NULL, cancel_later, &p[1]);
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	pthread_join(th, NULL);
	assert_int_equal(r.res.cancelled, 1);
	assert_int_equal(r.res.timed_out, 0);
	assert_true(r.ms < 3000);
	int n;
	assert_int_equal(sh_pids_alive(pidfile, &n), 0);
	assert_int_equal(n, 2);
	/* The backend neither read nor closed the cancel descriptor. */
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	close(p[1]);
	sh_pidfile_free(pidfile);
	sh_result_free(&r);
}

static void test_output_sink_refusal_stops_the_command(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "spew", "1000000000000", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	struct sh_result r = {0};
	r.stop_after = 3;
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_int_equal(r.res.cancelled, 1);
	assert_int_equal(r.calls, 3); /* nothing after the refusal */
	assert_true(r.ms < 5000);
	assert_true(sh_no_children());
	sh_result_free(&r);
}

static int setup(void **s)
{
	(void)s;
	sh_load(&spawn, "spawn");
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	sh_unload(&spawn);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_timeout_keeps_partial_output_and_says_timed_out),
	    cmocka_unit_test(test_timeout_kills_child_that_traps_sigterm),
	    cmocka_unit_test(test_timeout_kills_setsid_grandchild),
	    cmocka_unit_test(test_timeout_kills_double_forked_daemon),
	    cmocka_unit_test(test_timeout_kills_process_that_keeps_forking),
	    cmocka_unit_test(test_normal_exit_kills_daemon_left_behind),
	    cmocka_unit_test(test_normal_exit_kills_child_left_behind),
	    cmocka_unit_test(test_grandchild_holding_output_pipe_does_not_hang),
	    cmocka_unit_test(
		test_command_that_kills_its_reaper_is_killed_with_its_tree),
	    cmocka_unit_test(
		test_command_that_stops_its_reaper_is_killed_within_the_grace),
	    cmocka_unit_test(
		test_a_thousand_commands_leave_no_process_or_zombie),
	    cmocka_unit_test(test_command_leads_its_own_session_and_group),
	    cmocka_unit_test(test_cancel_fd_kills_the_tree_and_says_cancelled),
	    cmocka_unit_test(test_output_sink_refusal_stops_the_command),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
