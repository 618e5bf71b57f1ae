/* Background jobs through the whole agent (spawn backend, a scripted
 * model on loopback): busybox httpd started as a job answers a
 * foreground wget and logs it for job_output, a job reading stdin gets a
 * line from job_input, job_stop ends them, and the end of the run
 * (normal, or SIGINT) leaves no process behind.  A run without a session
 * refuses background with a clear tool error.  MONKEY_TEST_AGENT_SANDBOX
 * names another backend to run the job scenarios with (--sandbox NAME
 * --no-fallback): test_agent_jobs_rootless.sh sets it to rootless. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_agent_harness.h"

/* Processes whose command line holds marker (this test's own port or
 * file name), other than the test itself. */
static int processes_with(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		char path[300], buf[4096];
		if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
		    atoi(e->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY);
		ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, marker))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static int port(void) { return 20000 + getpid() % 20000; }

/* --sandbox NAME --no-fallback when MONKEY_TEST_AGENT_SANDBOX names one,
 * else nothing (spawn, the default); NULL-terminated. */
static const char *const *sandbox_args(void)
{
	static const char *args[4];
	const char *name = getenv("MONKEY_TEST_AGENT_SANDBOX");
	if (name && *name) {
		args[0] = "--sandbox";
		args[1] = name;
		args[2] = "--no-fallback";
	}
	return args;
}

static void test_httpd_job_serves_logs_takes_input_and_stops(void **state)
{
	(void)state;
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	char addr[64], script[8192];
	ta_ws_new(&ws);
	mkdir(ta_path(&ws, "www"), 0755);
	FILE *f = fopen(ta_path(&ws, "www/index.html"), "w");
	fputs("hello from httpd\n", f);
	fclose(f);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port());
	snprintf(
	    script, sizeof(script),
	    "{\"steps\": ["
	    "{\"reply\": {\"tool_calls\": [{\"id\": \"j1\", \"name\": "
	    "\"shell_execute\", \"input\": {\"command\": [\"busybox\", "
	    "\"httpd\", \"-f\", \"-vv\", \"-p\", \"%s\", \"-h\", \"www\"], "
	    "\"background\": true}}]}},"
	    "{\"expect\": {\"tool_results\": [{\"contains\": [\"started in "
	    "the background\", \"job: 1\", \"running: true\"], \"is_error\": "
	    "false}]}, \"reply\": {\"tool_calls\": [{\"id\": \"w1\", "
	    "\"name\": \"shell_execute\", \"input\": {\"command\": "
	    "[\"busybox\", \"wget\", \"-q\", \"-O\", \"-\", "
	    "\"http://%s/index.html\"]}}]}},"
	    "{\"expect\": {\"tool_results\": [{\"contains\": [\"exit_code: "
	    "0\", \"hello from httpd\"]}]}, \"reply\": {\"tool_calls\": "
	    "[{\"id\": \"o1\", \"name\": \"job_output\", \"input\": {\"job\": "
	    "1, \"wait_ms\": 300}}]}},"
	    "{\"expect\": {\"tool_results\": [{\"contains\": [\"running: "
	    "true\", \"index.html\"]}]}, \"reply\": {\"tool_calls\": [{\"id\": "
	    "\"c1\", \"name\": \"shell_execute\", \"input\": {\"command\": "
	    "[\"cat\"], \"background\": true}}, {\"id\": \"i1\", \"name\": "
	    "\"job_input\", \"input\": {\"job\": 2, \"data\": \"a line for "
	    "cat\\n\"}}, {\"id\": \"o2\", \"name\": \"job_output\", \"input\": "
	    "{\"job\": 2, \"wait_ms\": 2000}}]}},"
	    "{\"expect\": {\"tool_results\": [{\"contains\": \"job: 2\"}, "
	    "{\"contains\": \"written\"}, {\"contains\": \"a line for "
	    "cat\"}]}, \"reply\": {\"tool_calls\": [{\"id\": \"s1\", \"name\": "
	    "\"job_stop\", \"input\": {\"job\": 1}}, {\"id\": \"s2\", "
	    "\"name\": \"job_stop\", \"input\": {\"job\": 2}}, {\"id\": "
	    "\"o3\", \"name\": \"job_output\", \"input\": {\"job\": 1}}]}},"
	    "{\"expect\": {\"tool_results\": [{\"contains\": [\"stopped\", "
	    "\"running: false\"]}, {\"contains\": [\"running: false\", "
	    "\"jobs: none\"]}, {\"contains\": \"there is no job 1\", "
	    "\"is_error\": true}]}, \"reply\": {\"text\": \"done\"}}]}",
	    addr, addr);
	ta_server_start_json(&srv, script);
	assert_int_equal(ta_agent(&run, &srv, &ws, "t", sandbox_args(), NULL),
			 0);
	if (run.status != 0)
		printf("--- stderr:\n%s", run.err);
	assert_int_equal(run.status, 0);
	assert_int_equal(ta_requests_ok(&srv), 6);
	assert_int_equal(processes_with(addr), 0);
	json_object *tr = ta_transcript(&ws);
	assert_string_equal(ta_str(ta_record(tr, "job", 0), "event"), "start");
	assert_string_equal(ta_str(ta_record(tr, "job", 3), "event"), "start");
	assert_string_equal(ta_str(ta_record(tr, "job", 5), "event"), "input");
	json_object_put(tr);
	tu_run_free(&run);
	/* The replay starts the jobs again: the wget that needs httpd
	 * matches, and nothing of them is left afterwards. */
	const char *argv[9] = {tu_monkey(), "replay", ws.transcript,
			       "--workspace", ws.dir};
	for (int i = 0; sandbox_args()[i]; i++)
		argv[5 + i] = sandbox_args()[i];
	const char *env[] = {"MONKEY_SANDBOX=", NULL};
	assert_int_equal(
	    tu_run(&run, NULL, (char *const *)argv, (char *const *)env), 0);
	if (!tu_contains(run.out, "replay: 1 matched, 0 mismatched"))
		fail_msg("replay:\n%s%s", run.out, run.err);
	assert_true(tu_contains(run.out, "job 1: $ busybox httpd"));
	assert_true(tu_contains(run.out, "job 2: input"));
	assert_int_equal(processes_with(addr), 0);
	tu_run_free(&run);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

/* A job the model never stops dies with the run. */
static void test_the_end_of_the_run_kills_its_jobs(void **state)
{
	(void)state;
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	char marker[64], script[2048];
	ta_ws_new(&ws);
	/* A sleep of its own length is the mark of its processes. */
	snprintf(marker, sizeof(marker), "sleep 1%d", getpid());
	snprintf(script, sizeof(script),
		 "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"j1\", "
		 "\"name\": \"shell_execute\", \"input\": {\"command\": "
		 "[\"sh\", \"-c\", \"setsid %s & %s\"], \"background\": "
		 "true}}]}}, {\"expect\": {\"tool_results\": [{\"contains\": "
		 "\"running: true\"}]}, \"reply\": {\"text\": \"done\"}}]}",
		 marker, marker);
	ta_server_start_json(&srv, script);
	assert_int_equal(ta_agent(&run, &srv, &ws, "t", sandbox_args(), NULL),
			 0);
	assert_int_equal(run.status, 0);
	assert_int_equal(ta_requests_ok(&srv), 2);
	assert_int_equal(processes_with(marker), 0);
	tu_run_free(&run);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

static void wait_for_file(const char *path)
{
	struct stat st;
	for (int i = 0; i < 400 && stat(path, &st) != 0; i++) {
		struct timespec ts = {0, 25 * 1000000L};
		nanosleep(&ts, NULL);
	}
	assert_int_equal(stat(path, &st), 0);
}

/* Ctrl-C (SIGINT) while a foreground command runs: the job dies too. */
static void test_sigint_kills_the_jobs(void **state)
{
	(void)state;
	struct ta_server srv;
	struct ta_ws ws;
	char marker[64], script[2048];
	ta_ws_new(&ws);
	snprintf(marker, sizeof(marker), "sleep 2%d", getpid());
	snprintf(script, sizeof(script),
		 "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"j1\", "
		 "\"name\": \"shell_execute\", \"input\": {\"command\": "
		 "[\"sh\", \"-c\", \"setsid %s & %s\"], \"background\": "
		 "true}}, {\"id\": \"f1\", \"name\": \"shell_execute\", "
		 "\"input\": {\"command\": [\"sh\", \"-c\", \"touch "
		 "fg.started; exec sleep 997\"]}}]}}, {\"reply\": {\"text\": "
		 "\"done\"}}]}",
		 marker, marker);
	ta_server_start_json(&srv, script);
	ta_backend_path();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setenv("ANTHROPIC_API_KEY", TA_KEY, 1);
		setenv("ANTHROPIC_BASE_URL", srv.url, 1);
		unsetenv("MONKEY_SANDBOX");
		const char *argv[12] = {
		    "monkey",	   "agent", "--task",	    "t",
		    "--workspace", ws.dir,  "--transcript", ws.transcript};
		for (int i = 0; sandbox_args()[i]; i++)
			argv[8 + i] = sandbox_args()[i];
		execv(tu_monkey(), (char *const *)argv);
		_exit(127);
	}
	wait_for_file(ta_path(&ws, "fg.started"));
	assert_true(processes_with(marker) >= 2);
	assert_int_equal(kill(pid, SIGINT), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 130);
	assert_int_equal(processes_with(marker), 0);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

/* Without a session (--fresh-sandbox) there are no jobs: background is
 * refused, clearly, instead of blocking. */
static void test_background_without_jobs_is_a_clear_tool_error(void **state)
{
	(void)state;
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	ta_ws_new(&ws);
	ta_server_start_json(
	    &srv,
	    "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": \"j1\", "
	    "\"name\": \"shell_execute\", \"input\": {\"command\": "
	    "[\"sleep\", \"100\"], \"background\": true}}]}}, {\"expect\": "
	    "{\"tool_results\": [{\"contains\": \"background jobs are not "
	    "available here\", \"is_error\": true}]}, \"reply\": {\"text\": "
	    "\"ok\"}}]}");
	const char *args[] = {"--fresh-sandbox", NULL};
	time_t t0 = time(NULL);
	assert_int_equal(ta_agent(&run, &srv, &ws, "t", args, NULL), 0);
	assert_int_equal(run.status, 0);
	assert_true(time(NULL) - t0 < 20);
	assert_int_equal(ta_requests_ok(&srv), 2);
	tu_run_free(&run);
	ta_server_stop(&srv);
	ta_ws_free(&ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_httpd_job_serves_logs_takes_input_and_stops),
	    cmocka_unit_test(test_the_end_of_the_run_kills_its_jobs),
	    cmocka_unit_test(test_sigint_kills_the_jobs),
	    cmocka_unit_test(
		test_background_without_jobs_is_a_clear_tool_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
