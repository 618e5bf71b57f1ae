/* Process control under the rootless backend: the spawn backend's
 * adversarial commands (a child that traps SIGTERM, a setsid grandchild, a
 * double-forking daemon, a process that keeps forking, a grandchild
 * holding the output pipe) and more (killing every visible process from
 * inside): on timeout, cancel or normal exit the whole PID namespace goes,
 * and not one process carrying the run's marker is left on the host.
 * Also exit statuses, exec failures, stdin, the output sink, threads. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rootless_harness.h"

/* Runs tests/spawn_helper MODE [ARG] with a marker as its last argument
 * (the helper ignores it; its children keep it) and a pid file in the
 * workspace; then not one marked process may be left. */
struct tree_run {
	struct rt_run r;
	int recorded;
};

static void run_tree(struct tree_run *t, const char *mode, const char *arg,
		     int64_t timeout_ms, int min_recorded)
{
	char pidfile[700], envpid[800];
	snprintf(pidfile, sizeof(pidfile), "%s/pids", rt_workspace);
	unlink(pidfile);
	snprintf(envpid, sizeof(envpid), "PIDFILE=%s", pidfile);
	const char *marker = rt_marker();
	const char *envp[] = {"PATH=/usr/bin:/bin", envpid, NULL};
	const char *argv[] = {rt_program("spawn/spawn_helper"), mode,
			      arg ? arg : marker, marker, NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	req.envp = envp;
	req.timeout_ms = timeout_ms;
	req.pids = 1000; /* "forker" must not stop at the limit first */
	memset(t, 0, sizeof(*t));
	rt_exec(&req, &t->r);
	assert_int_equal(rt_count_marked(marker), 0);
	FILE *f = fopen(pidfile, "r");
	int pid;
	while (f && fscanf(f, "%d", &pid) == 1)
		t->recorded++;
	if (f)
		fclose(f);
	unlink(pidfile);
	assert_true(t->recorded >= min_recorded);
}

static void test_timeout_keeps_partial_output_and_says_timed_out(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "sleep", NULL, 300, 1);
	assert_ran_ok(&t.r);
	assert_int_equal(t.r.res.timed_out, 1);
	assert_int_equal(t.r.res.cancelled, 0);
	assert_int_equal(t.r.res.signal, SIGTERM);
	assert_int_equal(t.r.res.exit_code, -1);
	assert_string_equal(t.r.out, "partial output\n");
	assert_true(t.r.ms >= 300 && t.r.ms < 3000);
	rt_run_free(&t.r);
}

static void test_timeout_kills_child_that_traps_sigterm(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "trap-term", NULL, 300, 1);
	assert_int_equal(t.r.res.timed_out, 1);
	/* SIGTERM was ignored: SIGKILL came after the grace period. */
	assert_int_equal(t.r.res.signal, SIGKILL);
	assert_true(t.r.ms >= 300 + 300 && t.r.ms < 5000);
	assert_string_equal(t.r.out, "partial output\n");
	rt_run_free(&t.r);
}

static void test_timeout_kills_setsid_grandchild(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "setsid-grandchild", NULL, 300, 2);
	assert_int_equal(t.r.res.timed_out, 1);
	assert_string_equal(t.r.out, "started\n");
	rt_run_free(&t.r);
}

static void test_timeout_kills_double_forked_daemon(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "daemon", "wait", 300, 2);
	assert_int_equal(t.r.res.timed_out, 1);
	assert_string_equal(t.r.out, "daemonized\n");
	rt_run_free(&t.r);
}

static void test_timeout_kills_process_that_keeps_forking(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "forker", NULL, 200, 5);
	assert_int_equal(t.r.res.timed_out, 1);
	rt_run_free(&t.r);
}

/* What the command leaves behind dies with it, at once: no grace period
 * and no timeout to wait for. */
static void test_normal_exit_kills_daemon_left_behind(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "daemon", NULL, 20000, 2);
	assert_ran_ok(&t.r);
	assert_int_equal(t.r.res.exit_code, 0);
	assert_int_equal(t.r.res.timed_out, 0);
	assert_true(t.r.ms < 2000);
	rt_run_free(&t.r);
}

/* When exec returns, what the command left is not only killed but gone:
 * not even dying (each holds memory that takes a moment to give back). */
static void test_processes_left_behind_are_gone_when_exec_returns(void **s)
{
	(void)s;
	for (int i = 0; i < 5; i++) {
		const char *marker = rt_marker();
		const char *argv[] = {rt_program("rootless/rootless_helper"), "leave",
				      marker, NULL};
		struct monkey_exec_request req;
		struct rt_run r = {0};
		rt_request(&req, argv);
		rt_exec(&req, &r);
		assert_ran_ok(&r);
		assert_out(&r, "left 3\n");
		assert_int_equal(rt_count_marked(marker), 0);
		rt_run_free(&r);
	}
}

static void test_grandchild_holding_output_pipe_does_not_hang(void **s)
{
	(void)s;
	struct tree_run t;
	run_tree(&t, "hold-pipe", NULL, 20000, 2);
	assert_ran_ok(&t.r);
	assert_int_equal(t.r.res.exit_code, 0);
	assert_string_equal(t.r.out, "parent done\n");
	assert_true(t.r.ms < 2000);
	rt_run_free(&t.r);
}

static void test_command_leads_its_own_session_and_group(void **s)
{
	(void)s;
	const char *argv[] = {rt_program("spawn/spawn_helper"), "session", NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_out(&r, "leader\n");
	rt_run_free(&r);
}

/* kill -9 -1 reaches every process the command may signal in its
 * namespace: all but itself and init.  The sandbox carries on. */
static void test_killing_every_visible_process_from_inside(void **s)
{
	(void)s;
	char script[600];
	const char *marker = rt_marker();
	snprintf(script, sizeof(script),
		 "sleep 300 %s & sleep 300 %s & sleep 0.1; kill -9 -1; "
		 "sleep 0.1; ls /proc | grep -c '^[0-9]'; echo survived",
		 marker, marker);
	struct rt_run r;
	rt_sh(script, &r);
	assert_ran_ok(&r);
	/* init, sh, ls and grep */
	assert_out(&r, "4\nsurvived\n");
	assert_int_equal(r.res.exit_code, 0);
	assert_int_equal(rt_count_marked(marker), 0);
	rt_run_free(&r);
	rt_sh("echo next", &r);
	assert_ran_ok(&r);
	assert_out(&r, "next\n");
	rt_run_free(&r);
}

static void *cancel_later(void *arg)
{
	int fd = *(int *)arg;
	usleep(300 * 1000);
	if (write(fd, "x", 1) != 1)
		abort();
	return NULL;
}

static void test_cancel_fd_kills_the_tree_and_says_cancelled(void **s)
{
	(void)s;
	const char *marker = rt_marker();
	const char *argv[] = {rt_program("spawn/spawn_helper"), "setsid-grandchild",
			      marker, NULL};
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.cancel_fd = p[0];
	pthread_t th;
	pthread_create(&th, NULL, cancel_later, &p[1]);
	rt_exec(&req, &r);
	pthread_join(th, NULL);
	assert_ran_ok(&r);
	assert_int_equal(r.res.cancelled, 1);
	assert_int_equal(r.res.timed_out, 0);
	assert_true(r.ms < 3000);
	assert_int_equal(rt_count_marked(marker), 0);
	/* The backend neither read nor closed the cancel descriptor. */
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	close(p[1]);
	rt_run_free(&r);
}

static void test_already_cancelled_request_starts_nothing(void **s)
{
	(void)s;
	char file[700];
	snprintf(file, sizeof(file), "%s/ran", rt_workspace);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	const char *argv[] = {"touch", file, NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.cancel_fd = p[0];
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.cancelled, 1);
	assert_int_equal(access(file, F_OK), -1);
	close(p[0]);
	close(p[1]);
	rt_run_free(&r);
}

static void test_output_sink_refusal_stops_the_command(void **s)
{
	(void)s;
	const char *argv[] = {rt_program("spawn/spawn_helper"), "spew",
			      "1000000000000", NULL};
	struct monkey_exec_request req;
	struct rt_run r = {.stop_after = 3};
	rt_request(&req, argv);
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.cancelled, 1);
	assert_true(r.ms < 5000);
	rt_run_free(&r);
}

static void test_stdin_is_delivered_then_closed(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c", "cat; echo eof-seen", NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.stdin_data = "line one\nline two\n";
	req.stdin_len = strlen(req.stdin_data);
	req.has_stdin = 1;
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_out(&r, "line one\nline two\neof-seen\n");
	rt_run_free(&r);
}

static void test_large_stdin_and_output_flow_together(void **s)
{
	(void)s;
	size_t n = 4u << 20;
	char *data = malloc(n);
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	const char *argv[] = {"cat", NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.stdin_data = data;
	req.stdin_len = n;
	req.has_stdin = 1;
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.out_len, n);
	assert_memory_equal(r.out, data, n);
	free(data);
	rt_run_free(&r);
}

static void test_command_that_leaves_stdin_unread_ends_cleanly(void **s)
{
	(void)s;
	size_t n = 20u << 20;
	char *data = malloc(n);
	assert_non_null(data);
	memset(data, 'x', n);
	const char *argv[] = {"sh", "-c", "head -c 10 >/dev/null; echo done",
			      NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.stdin_data = data;
	req.stdin_len = n;
	req.has_stdin = 1;
	rt_exec(&req, &r);
	free(data);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 0);
	assert_out(&r, "done\n");
	rt_run_free(&r);
}

static void test_without_stdin_the_command_reads_eof(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("cat; echo done", &r);
	assert_ran_ok(&r);
	assert_out(&r, "done\n");
	rt_run_free(&r);
}

static void test_terminating_signal_is_reported(void **s)
{
	(void)s;
	const char *argv[] = {rt_program("spawn/spawn_helper"), "raise", "11", NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.signal, 11);
	assert_int_equal(r.res.exit_code, -1);
	rt_run_free(&r);
}

static void test_missing_program_is_enoent_naming_it(void **s)
{
	(void)s;
	const char *argv[] = {"no-such-program-here", NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	rt_exec(&req, &r);
	assert_int_equal(r.rc, -ENOENT);
	assert_non_null(strstr(r.err.message, "no-such-program-here: command "
					      "not found"));
	rt_run_free(&r);
}

static void test_missing_interpreter_is_enoent_naming_it(void **s)
{
	(void)s;
	char script[700];
	snprintf(script, sizeof(script), "%s/script", rt_workspace);
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fputs("#!/no/such/interpreter\n", f);
	fclose(f);
	chmod(script, 0755);
	const char *argv[] = {script, NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	rt_exec(&req, &r);
	assert_int_equal(r.rc, -ENOENT);
	assert_non_null(strstr(r.err.message, "interpreter"));
	unlink(script);
	rt_run_free(&r);
}

static void test_directory_or_plain_file_is_not_executable(void **s)
{
	(void)s;
	char file[700];
	snprintf(file, sizeof(file), "%s/data", rt_workspace);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	const char *argv[] = {file, NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	rt_exec(&req, &r);
	assert_int_equal(r.rc, -EACCES);
	rt_run_free(&r);
	const char *dir_argv[] = {"/usr", NULL};
	rt_request(&req, dir_argv);
	rt_exec(&req, &r);
	assert_int_equal(r.rc, -EACCES);
	unlink(file);
	rt_run_free(&r);
}

static void *run_one(void *arg)
{
	struct rt_run *r = arg;
	char script[64];
	int id = r->stop_after;
	snprintf(script, sizeof(script), "echo thread-%d; cat /proc/1/comm",
		 id);
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	r->stop_after = 0;
	rt_exec(&req, r);
	r->stop_after = id;
	return NULL;
}

static void test_concurrent_commands_on_one_state(void **s)
{
	(void)s;
	enum { N = 4 };
	struct rt_run runs[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		memset(&runs[i], 0, sizeof(runs[i]));
		runs[i].stop_after = i + 1;
		pthread_create(&t[i], NULL, run_one, &runs[i]);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++) {
		char want[64];
		snprintf(want, sizeof(want), "thread-%d\nmonkey-init\n", i + 1);
		assert_ran_ok(&runs[i]);
		assert_out(&runs[i], want);
		rt_run_free(&runs[i]);
	}
}

/* Once the state is gone, not one helper process of the backend is left
 * for the host to reap. */
static void test_fini_leaves_no_child_behind(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("true", &r);
	rt_run_free(&r);
	rt_teardown();
	int st;
	assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

int main(void)
{
	rt_setup_or_exit("test_rootless_tree");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_timeout_keeps_partial_output_and_says_timed_out),
	    cmocka_unit_test(test_timeout_kills_child_that_traps_sigterm),
	    cmocka_unit_test(test_timeout_kills_setsid_grandchild),
	    cmocka_unit_test(test_timeout_kills_double_forked_daemon),
	    cmocka_unit_test(test_timeout_kills_process_that_keeps_forking),
	    cmocka_unit_test(test_normal_exit_kills_daemon_left_behind),
	    cmocka_unit_test(
		test_processes_left_behind_are_gone_when_exec_returns),
	    cmocka_unit_test(test_grandchild_holding_output_pipe_does_not_hang),
	    cmocka_unit_test(test_command_leads_its_own_session_and_group),
	    cmocka_unit_test(test_killing_every_visible_process_from_inside),
	    cmocka_unit_test(test_cancel_fd_kills_the_tree_and_says_cancelled),
	    cmocka_unit_test(test_already_cancelled_request_starts_nothing),
	    cmocka_unit_test(test_output_sink_refusal_stops_the_command),
	    cmocka_unit_test(test_stdin_is_delivered_then_closed),
	    cmocka_unit_test(test_large_stdin_and_output_flow_together),
	    cmocka_unit_test(
		test_command_that_leaves_stdin_unread_ends_cleanly),
	    cmocka_unit_test(test_without_stdin_the_command_reads_eof),
	    cmocka_unit_test(test_terminating_signal_is_reported),
	    cmocka_unit_test(test_missing_program_is_enoent_naming_it),
	    cmocka_unit_test(test_missing_interpreter_is_enoent_naming_it),
	    cmocka_unit_test(test_directory_or_plain_file_is_not_executable),
	    cmocka_unit_test(test_concurrent_commands_on_one_state),
	    cmocka_unit_test(test_fini_leaves_no_child_behind),
	};
	return cmocka_run_group_tests_name("rootless process control", tests,
					   NULL, NULL);
}
