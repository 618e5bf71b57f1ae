/* The spawn backend neither leaks the host's state into a command (signal
 * dispositions, blocked signals, open descriptors) nor disturbs the host
 * (its own children, its signal mask, SIGPIPE, a host that ignores SIGCHLD
 * or has closed its standard descriptors). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spawn_harness.h"

static struct sh_backend spawn;

static void run(struct sh_result *r, const char *const *argv)
{
	struct monkey_exec_request req;
	sh_request(&req, argv);
	memset(r, 0, sizeof(*r));
	sh_exec(&spawn, &req, r);
}

static void on_usr1(int sig) { (void)sig; }

static void test_host_signal_state_does_not_reach_the_command(void **s)
{
	(void)s;
	struct sigaction sa = {.sa_handler = on_usr1}, old_usr1;
	sigaction(SIGUSR1, &sa, &old_usr1);
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	void (*old_int)(int) = signal(SIGINT, SIG_IGN);
	sigset_t block, old_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, &old_mask);

	const char *argv[] = {"cat", "/proc/self/status", NULL};
	struct sh_result r;
	run(&r, argv);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "SigBlk:\t0000000000000000\n"));
	assert_non_null(strstr(r.out.data, "SigIgn:\t0000000000000000\n"));
	assert_non_null(strstr(r.out.data, "SigCgt:\t0000000000000000\n"));
	sh_result_free(&r);

	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	signal(SIGINT, old_int);
	signal(SIGPIPE, old_pipe);
	sigaction(SIGUSR1, &old_usr1, NULL);
}

static void test_host_signal_mask_is_unchanged_after_exec(void **s)
{
	(void)s;
	sigset_t before, after;
	pthread_sigmask(SIG_SETMASK, NULL, &before);
	const char *argv[] = {"/bin/true", NULL};
	struct sh_result r;
	run(&r, argv);
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	for (int sig = 1; sig < 65; sig++)
		assert_int_equal(sigismember(&before, sig),
				 sigismember(&after, sig));
	sh_result_free(&r);
}

static void test_host_descriptors_do_not_reach_the_command(void **s)
{
	(void)s;
	/* Opened without O_CLOEXEC, as careless host code does. */
	int fd = open("/dev/null", O_RDONLY);
	int p[2];
	assert_int_equal(pipe(p), 0);
	const char *argv[] = {"ls", "/proc/self/fd", NULL};
	struct sh_result r;
	run(&r, argv);
	/* 3 is ls's own handle on the directory. */
	assert_string_equal(r.out.data, "0\n1\n2\n3\n");
	sh_result_free(&r);
	close(fd);
	close(p[0]);
	close(p[1]);
}

static void test_host_with_closed_stdio_still_wires_the_command(void **s)
{
	(void)s;
	/* With 0 and 2 closed, the runner's pipes land on them; the command
	 * must still get its stdin on 0 and stderr on 2. */
	int save0 = dup(0), save2 = dup(2);
	close(0);
	close(2);
	const char *argv[] = {"/bin/sh", "-c", "cat; echo err >&2", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.has_stdin = 1;
	req.stdin_data = "hello\n";
	req.stdin_len = 6;
	struct sh_result r = {0};
	int rc = sh_exec(&spawn, &req, &r);
	dup2(save0, 0);
	dup2(save2, 2);
	close(save0);
	close(save2);
	assert_int_equal(rc, 0);
	assert_string_equal(r.out.data, "hello\n");
	assert_string_equal(r.err_stream.data, "err\n");
	sh_result_free(&r);
}

static void test_host_ignoring_sigchld_still_gets_the_status(void **s)
{
	(void)s;
	void (*old)(int) = signal(SIGCHLD, SIG_IGN);
	const char *argv[] = {sh_helper(), "exit", "7", NULL};
	struct sh_result r;
	run(&r, argv);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.res.exit_code, 7);
	sh_result_free(&r);
	/* And leftovers are still found and killed. */
	const char *argv2[] = {sh_helper(), "leave-child", NULL};
	run(&r, argv2);
	assert_int_equal(r.res.exit_code, 0);
	assert_true(r.ms < 2000);
	sh_result_free(&r);
	signal(SIGCHLD, old);
}

static void test_host_children_are_left_to_the_host(void **s)
{
	(void)s;
	pid_t mine = fork();
	if (mine == 0) {
		usleep(300 * 1000);
		_exit(5);
	}
	/* Normal runs, runs with leftovers and with timeouts meanwhile. */
	const char *a1[] = {sh_helper(), "exit", "0", NULL};
	const char *a2[] = {sh_helper(), "leave-child", NULL};
	const char *a3[] = {sh_helper(), "sleep", NULL};
	for (int i = 0; i < 3; i++) {
		struct sh_result r;
		run(&r, a1);
		sh_result_free(&r);
		run(&r, a2);
		sh_result_free(&r);
		struct monkey_exec_request req;
		sh_request(&req, a3);
		req.timeout_ms = 50;
		memset(&r, 0, sizeof(r));
		sh_exec(&spawn, &req, &r);
		assert_int_equal(r.res.timed_out, 1);
		sh_result_free(&r);
	}
	int st;
	assert_int_equal(waitpid(mine, &st, 0), mine);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 5);
}

static void test_command_not_reading_stdin_raises_no_sigpipe_in_host(void **s)
{
	(void)s;
	/* SIGPIPE at its default would kill this test process. */
	void (*old)(int) = signal(SIGPIPE, SIG_DFL);
	size_t n = 8 << 20;
	char *data = calloc(1, n);
	/* Closes its stdin at once and lives on, so the host's writes are
	 * sure to meet a pipe without a reader. */
	const char *argv[] = {"/bin/sh", "-c", "exec 0<&-; sleep 0.2", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.has_stdin = 1;
	req.stdin_data = data;
	req.stdin_len = n;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_int_equal(r.res.exit_code, 0);
	sigset_t pending;
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	sh_result_free(&r);
	free(data);
	signal(SIGPIPE, old);
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
	    cmocka_unit_test(test_host_signal_state_does_not_reach_the_command),
	    cmocka_unit_test(test_host_signal_mask_is_unchanged_after_exec),
	    cmocka_unit_test(test_host_descriptors_do_not_reach_the_command),
	    cmocka_unit_test(
		test_host_with_closed_stdio_still_wires_the_command),
	    cmocka_unit_test(test_host_ignoring_sigchld_still_gets_the_status),
	    cmocka_unit_test(test_host_children_are_left_to_the_host),
	    cmocka_unit_test(
		test_command_not_reading_stdin_raises_no_sigpipe_in_host),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
