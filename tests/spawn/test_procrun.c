/* The process runner linked in directly, for what a loaded module cannot be
 * made to do: find processes by scanning /proc/<pid>/stat (kernels without
 * /proc/<pid>/task/<tid>/children), kill the whole tree when its reaper is
 * killed or stopped from outside, and read only the parts of requests and
 * results that an older host's struct_size covers. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
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

#include "procrun.h"
#include "procrun_int.h"
#include "spawn_harness.h"

static int sink(void *ctx, int stream, const void *data, size_t len)
{
	(void)ctx;
	(void)stream;
	(void)data;
	(void)len;
	return 0;
}

static void request(struct monkey_exec_request *req, const char *const *argv,
		    const char *const *envp)
{
	sh_request(req, argv);
	if (envp)
		req->envp = envp;
	req->output = sink;
}

static void test_stat_scan_finds_setsid_and_daemon_processes(void **s)
{
	(void)s;
	procrun_tree_force_stat_scan = 1;
	const char *modes[] = {"setsid-grandchild", "daemon", "forker"};
	for (int i = 0; i < 3; i++) {
		char *pidfile = sh_pidfile();
		char envpid[4200];
		snprintf(envpid, sizeof(envpid), "PIDFILE=%s", pidfile);
		const char *envp[] = {"PATH=/usr/bin:/bin", envpid, NULL};
		const char *argv[] = {sh_helper(), modes[i], "wait", NULL};
		struct monkey_exec_request req;
		request(&req, argv, envp);
		req.timeout_ms = 200;
		struct monkey_exec_result res = {.struct_size = sizeof(res)};
		struct monkey_error err = {0};
		assert_int_equal(procrun_exec(NULL, &req, NULL, &res, &err), 0);
		assert_int_equal(res.timed_out, 1);
		int n;
		assert_int_equal(sh_pids_alive(pidfile, &n), 0);
		assert_true(n >= 2);
		sh_pidfile_free(pidfile);
	}
	procrun_tree_force_stat_scan = 0;
	assert_true(sh_no_children());
}

/* Sends sig to our one child (the reaper) after a while. */
static void *signal_reaper_later(void *arg)
{
	int sig = *(int *)arg;
	usleep(300 * 1000);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)getpid());
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char cpath[128];
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%d/children",
			 (int)getpid(), atoi(de->d_name));
		FILE *f = fopen(cpath, "r");
		int pid;
		while (f && fscanf(f, "%d", &pid) == 1)
			kill(pid, sig);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return NULL;
}

/* The reaper killed or stopped from outside while the command runs: the
 * host kills everything the command started (a setsid grandchild that
 * ignores SIGTERM included), reaps it, and reports the command as killed,
 * at once rather than at the timeout. */
static void reaper_attacked_from_outside(int sig)
{
	char *pidfile = sh_pidfile();
	char envpid[4200];
	snprintf(envpid, sizeof(envpid), "PIDFILE=%s", pidfile);
	const char *envp[] = {"PATH=/usr/bin:/bin", envpid, NULL};
	const char *argv[] = {sh_helper(), "setsid-grandchild", NULL};
	struct monkey_exec_request req;
	request(&req, argv, envp);
	req.timeout_ms = 20000;
	struct monkey_exec_result res = {.struct_size = sizeof(res)};
	struct monkey_error err = {0};
	pthread_t th;
	pthread_create(&th, NULL, signal_reaper_later, &sig);
	int64_t t = sh_now_ms();
	assert_int_equal(procrun_exec(NULL, &req, NULL, &res, &err), 0);
	pthread_join(th, NULL);
	assert_true(sh_now_ms() - t < 2000);
	assert_int_equal(res.signal, SIGKILL);
	assert_int_equal(res.timed_out, 0);
	int n;
	assert_int_equal(sh_pids_alive(pidfile, &n), 0);
	assert_int_equal(n, 2);
	sh_pidfile_free(pidfile);
	assert_true(sh_no_children());
}

static void test_killed_reaper_means_the_tree_is_killed(void **s)
{
	(void)s;
	reaper_attacked_from_outside(SIGKILL);
}

static void test_stopped_reaper_means_the_tree_is_killed(void **s)
{
	(void)s;
	reaper_attacked_from_outside(SIGSTOP);
}

static void test_orphans_of_a_killed_reaper_found_by_stat_scan(void **s)
{
	(void)s;
	procrun_tree_force_stat_scan = 1;
	reaper_attacked_from_outside(SIGKILL);
	procrun_tree_force_stat_scan = 0;
}

/* Forks a child of the host when the command first prints: a child the
 * host started while the command ran. */
static pid_t host_child = -1;
static int host_child_pipe[2];

static int fork_on_output(void *ctx, int stream, const void *data, size_t len)
{
	(void)ctx, (void)stream, (void)data, (void)len;
	if (host_child < 0) {
		host_child = fork();
		if (host_child == 0) {
			char c;
			close(host_child_pipe[1]);
			_exit(read(host_child_pipe[0], &c, 1) == 0 ? 6 : 7);
		}
	}
	return 0;
}

/* That child carries no mark: the sweep after the reaper was killed must
 * leave it alone, though it started after the command did. */
static void test_host_child_survives_the_sweep_of_a_killed_reaper(void **s)
{
	(void)s;
	assert_int_equal(pipe(host_child_pipe), 0);
	const char *argv[] = {"/bin/sh", "-c",
			      "echo go; sleep 0.3; kill -9 $PPID; sleep 10",
			      NULL};
	struct monkey_exec_request req;
	request(&req, argv, NULL);
	req.output = fork_on_output;
	struct monkey_exec_result res = {.struct_size = sizeof(res)};
	struct monkey_error err = {0};
	assert_int_equal(procrun_exec(NULL, &req, NULL, &res, &err), 0);
	assert_int_equal(res.signal, SIGKILL);
	assert_true(host_child > 0);
	close(host_child_pipe[0]);
	close(host_child_pipe[1]);
	int st;
	assert_int_equal(waitpid(host_child, &st, 0), host_child);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 6);
	assert_true(sh_no_children());
}

static void test_request_from_an_older_host_reads_no_further(void **s)
{
	(void)s;
	/* A host built before cancel_fd existed: the runner must treat it
	 * as -1, not read past the struct. */
	const char *argv[] = {sh_helper(), "exit", "4", NULL};
	struct monkey_exec_request req;
	request(&req, argv, NULL);
	req.cancel_fd = 0; /* would be "stdin readable = cancel" if read */
	req.struct_size = offsetof(struct monkey_exec_request, cancel_fd);
	struct monkey_exec_result res = {.struct_size = sizeof(res)};
	struct monkey_error err = {0};
	assert_int_equal(procrun_exec(NULL, &req, NULL, &res, &err), 0);
	assert_int_equal(res.exit_code, 4);
	assert_int_equal(res.cancelled, 0);
}

static void test_result_from_an_older_host_is_not_overrun(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "exit", "4", NULL};
	struct monkey_exec_request req;
	request(&req, argv, NULL);
	struct monkey_exec_result res = {
	    .struct_size = offsetof(struct monkey_exec_result, timed_out),
	    .timed_out = 77,
	    .cancelled = 77,
	    .oom_killed = 77,
	};
	struct monkey_error err = {0};
	assert_int_equal(procrun_exec(NULL, &req, NULL, &res, &err), 0);
	assert_int_equal(res.exit_code, 4);
	assert_int_equal(res.timed_out, 77);
	assert_int_equal(res.cancelled, 77);
	assert_int_equal(res.oom_killed, 77);
}

static void test_missing_output_sink_is_einval(void **s)
{
	(void)s;
	const char *argv[] = {"/bin/true", NULL};
	struct monkey_exec_request req;
	request(&req, argv, NULL);
	req.output = NULL;
	struct monkey_exec_result res = {.struct_size = sizeof(res)};
	struct monkey_error err = {0};
	assert_int_equal(procrun_exec(NULL, &req, NULL, &res, &err), -EINVAL);
	assert_true(err.message[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stat_scan_finds_setsid_and_daemon_processes),
	    cmocka_unit_test(test_killed_reaper_means_the_tree_is_killed),
	    cmocka_unit_test(test_stopped_reaper_means_the_tree_is_killed),
	    cmocka_unit_test(
		test_orphans_of_a_killed_reaper_found_by_stat_scan),
	    cmocka_unit_test(
		test_host_child_survives_the_sweep_of_a_killed_reaper),
	    cmocka_unit_test(test_request_from_an_older_host_reads_no_further),
	    cmocka_unit_test(test_result_from_an_older_host_is_not_overrun),
	    cmocka_unit_test(test_missing_output_sink_is_einval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
