/* The rootless backend's sessions and background jobs: /tmp and /dev/shm
 * persist between a session's commands (and only within it), nothing a
 * command started outlives it, each command keeps its own environment and
 * timeout, the network is the session's loopback alone, concurrent calls
 * are serialised, sessions opened and closed in a loop leave no process,
 * cgroup or descriptor; jobs serve a foreground command over the
 * session's loopback, take input, stop, time out, die with their session
 * and with monkey; session-wide limits count jobs and foreground commands
 * together.  Run as root and as an ordinary user. */
#include "config.h"

#include <dirent.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rootless_harness.h"

static void assert_exit(struct rt_run *r, int code)
{
	if (r->rc != 0)
		fail_msg("rc %d: %s", r->rc, r->err.message);
	if (r->res.exit_code != code)
		fail_msg("exit %d (want %d), signal %d, stdout '%s', stderr "
			 "'%s'",
			 r->res.exit_code, code, r->res.signal, r->out,
			 r->errout);
}

static int cgroup_v1(void)
{
	struct stat sb;
	return stat("/sys/fs/cgroup/cgroup.controllers", &sb) < 0 &&
	       stat("/sys/fs/cgroup/memory", &sb) == 0;
}

/* Directories of instance under /sys/fs/cgroup/ANY/monkey/ (each one's
 * path printed).  Compared with a count taken before: a test that failed
 * earlier may have left a session open. */
static int cgroups_of(const char *instance)
{
	DIR *top = opendir("/sys/fs/cgroup");
	struct dirent *c;
	int n = 0;
	size_t len = strlen(instance);
	while (top && (c = readdir(top))) {
		char base[600];
		if (c->d_name[0] == '.')
			continue;
		snprintf(base, sizeof(base), "/sys/fs/cgroup/%s/monkey",
			 c->d_name);
		DIR *d = opendir(base);
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (!strncmp(e->d_name, instance, len) &&
			    e->d_name[len] == '-') {
				print_message("cgroup left: %s/%s\n", base,
					      e->d_name);
				n++;
			}
		if (d)
			closedir(d);
	}
	if (top)
		closedir(top);
	return n;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* The capabilities and their entry points, all or nothing. */
static void test_descriptor_offers_sessions_and_jobs(void **st)
{
	(void)st;
	const struct monkey_backend *be = rt.be;
	assert_true(be->capabilities & MONKEY_CAP_SESSION);
	assert_true(be->capabilities & MONKEY_CAP_JOBS);
	assert_non_null(be->session_open);
	assert_non_null(be->session_exec);
	assert_non_null(be->session_close);
	assert_non_null(be->job_start);
	assert_non_null(be->job_read);
	assert_non_null(be->job_write);
	assert_non_null(be->job_stop);
	assert_non_null(be->job_close);
}

/* ---- files, processes, environment, timeout, threads ---- */

static void test_tmp_and_shm_persist_within_the_session_only(void **st)
{
	(void)st;
	struct rt_run r;
	char script[1200], path[700];
	const char *m = rt_marker();
	void *s = rt_session_open(NULL);
	snprintf(script, sizeof(script),
		 "echo in-tmp > /tmp/%s && echo in-shm > /dev/shm/%s && "
		 "echo in-ws > '%s/%s'",
		 m, m, rt_workspace, m);
	rt_session_sh(s, script, &r);
	assert_exit(&r, 0);
	rt_run_free(&r);
	snprintf(script, sizeof(script), "cat /tmp/%s /dev/shm/%s", m, m);
	rt_session_sh(s, script, &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "in-tmp\nin-shm\n");
	rt_run_free(&r);
	/* The session's own tmpfs, not the host's; the workspace is the
	 * host's. */
	snprintf(path, sizeof(path), "/tmp/%s", m);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "/dev/shm/%s", m);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/%s", rt_workspace, m);
	FILE *f = fopen(path, "r");
	char line[64] = "";
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
	assert_string_equal(line, "in-ws\n");
	rt.be->session_close(s);
	/* A new session starts empty. */
	s = rt_session_open(NULL);
	snprintf(script, sizeof(script),
		 "ls -A /tmp /dev/shm | grep -c %s; true", m);
	rt_session_sh(s, script, &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "0\n");
	rt_run_free(&r);
	rt.be->session_close(s);
}

/* The session's own network namespace, loopback alone and up, as the
 * kernel (/proc/net/dev) and sysfs (/sys/class/net, whose view is that of
 * the namespace it was mounted in) both show it. */
static void test_the_session_network_is_loopback_only(void **st)
{
	(void)st;
	struct rt_run r;
	void *s = rt_session_open(NULL);
	for (int i = 0; i < 2; i++) {
		rt_session_sh(s,
			      "ls /sys/class/net; tail -n +3 /proc/net/dev | "
			      "cut -d: -f1 | tr -d ' '; echo $(( $(cat "
			      "/sys/class/net/lo/flags) & 1 ))",
			      &r);
		assert_exit(&r, 0);
		assert_string_equal(r.out, "lo\nlo\n1\n");
		rt_run_free(&r);
	}
	rt.be->session_close(s);
}

/* What a command leaves (a plain child, a setsid child and a double-forked
 * daemon, one of them ignoring SIGTERM) is gone from the host when
 * session_exec returns; the session goes on. */
static void test_daemons_die_at_their_command_end(void **st)
{
	(void)st;
	struct rt_run r;
	void *s = rt_session_open(NULL);
	const char *m = rt_marker();
	const char *argv[] = {rt_program("rootless/rootless_helper"), "leave",
			      m, NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	memset(&r, 0, sizeof(r));
	rt_session_exec(s, &req, &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "left 3\n");
	assert_int_equal(rt_count_marked(m), 0);
	rt_run_free(&r);
	char script[1200];
	m = rt_marker();
	snprintf(script, sizeof(script),
		 "setsid sh -c 'trap \"\" TERM; sleep 1000; : %s' </dev/null "
		 ">/dev/null 2>&1 & (sh -c 'sleep 1000; : %s' & ) ; "
		 "echo started > /tmp/started",
		 m, m);
	rt_session_sh(s, script, &r);
	assert_exit(&r, 0);
	assert_int_equal(rt_count_marked(m), 0);
	rt_run_free(&r);
	rt_session_sh(s, "cat /tmp/started; ls /proc | grep -c '^[0-9]'", &r);
	assert_exit(&r, 0);
	/* init, sh, ls, grep: a PID namespace of its own again */
	assert_string_equal(r.out, "started\n4\n");
	rt_run_free(&r);
	rt.be->session_close(s);
}

static void test_each_command_has_its_own_environment(void **st)
{
	(void)st;
	struct rt_run r = {0};
	void *s = rt_session_open(NULL);
	const char *argv[] = {"sh", "-c", "echo ${FOO-unset} ${BAR-unset}",
			      NULL};
	const char *env1[] = {"PATH=/usr/bin:/bin", "FOO=one", NULL};
	const char *env2[] = {"PATH=/usr/bin:/bin", "BAR=two", NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	req.envp = env1;
	req.user_envp = env1 + 1;
	rt_session_exec(s, &req, &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "one unset\n");
	rt_run_free(&r);
	req.envp = env2;
	req.user_envp = env2 + 1;
	rt_session_exec(s, &req, &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "unset two\n");
	rt_run_free(&r);
	rt.be->session_close(s);
}

/* A timeout ends the command (and what it started), not the session. */
static void test_timeout_ends_the_command_and_the_session_goes_on(void **st)
{
	(void)st;
	struct rt_run r = {0};
	void *s = rt_session_open(NULL);
	char script[300];
	const char *m = rt_marker();
	snprintf(script, sizeof(script), "touch /tmp/t; echo x; sleep 30; : %s",
		 m);
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	req.timeout_ms = 400;
	rt_session_exec(s, &req, &r);
	if (r.rc != 0)
		fail_msg("rc %d: %s", r.rc, r.err.message);
	assert_int_equal(r.res.timed_out, 1);
	assert_int_equal(r.res.exit_code, -1);
	assert_int_equal(r.res.signal, SIGTERM);
	assert_string_equal(r.out, "x\n");
	assert_true(r.ms >= 400 && r.ms < 5000);
	assert_int_equal(rt_count_marked(m), 0);
	rt_run_free(&r);
	rt_session_sh(s, "test -e /tmp/t && echo still-here", &r);
	assert_exit(&r, 0);
	assert_int_equal(r.res.timed_out, 0);
	assert_string_equal(r.out, "still-here\n");
	rt_run_free(&r);
	rt.be->session_close(s);
}

struct racer {
	void *s;
	int id;
	struct rt_run r;
};

/* Both hold /tmp/lock while they run: two at once would fail mkdir. */
static void *race(void *arg)
{
	struct racer *x = arg;
	char script[300];
	snprintf(script, sizeof(script),
		 "mkdir /tmp/lock && seq 1 20000 && sleep 0.3 && rmdir "
		 "/tmp/lock && echo racer-%d",
		 x->id);
	rt_session_sh(x->s, script, &x->r);
	return NULL;
}

static void test_concurrent_calls_run_one_after_the_other(void **st)
{
	(void)st;
	struct racer a = {.id = 1}, b = {.id = 2};
	a.s = b.s = rt_session_open(NULL);
	pthread_t ta, tb;
	pthread_create(&ta, NULL, race, &a);
	pthread_create(&tb, NULL, race, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	FILE *f = popen("seq 1 20000", "r");
	static char want[200000];
	size_t n = fread(want, 1, sizeof(want) - 64, f);
	pclose(f);
	struct racer *x[] = {&a, &b};
	for (int i = 0; i < 2; i++) {
		assert_exit(&x[i]->r, 0);
		snprintf(want + n, 64, "racer-%d\n", x[i]->id);
		assert_int_equal(x[i]->r.out_len, strlen(want));
		assert_string_equal(x[i]->r.out, want);
		rt_run_free(&x[i]->r);
	}
	rt.be->session_close(a.s);
}

/* ---- jobs ---- */

struct jout {
	char buf[65536];
	size_t len;
};

static int jsink(void *ctx, int stream, const void *data, size_t len)
{
	struct jout *o = ctx;
	(void)stream;
	if (len > sizeof(o->buf) - 1 - o->len)
		len = sizeof(o->buf) - 1 - o->len;
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	o->buf[o->len] = '\0';
	return 0;
}

/* Read j until its output holds want (or ~10 s passed); whether it runs. */
static int read_until(void *j, struct jout *o, const char *want,
		      struct monkey_exec_result *res)
{
	int running = 1;
	struct monkey_error err = {0};
	for (int i = 0; i < 20 && !(want && strstr(o->buf, want)); i++) {
		*res = (struct monkey_exec_result){.struct_size = sizeof(*res),
						   .exit_code = -1};
		int rc = rt.be->job_read(j, 500, jsink, o, &running, res, &err);
		if (rc < 0)
			fail_msg("job_read: %d: %s", rc, err.message);
		if (!running)
			break;
	}
	return running;
}

static void *start_job(void *s, const char *const *argv, int64_t timeout_ms)
{
	struct monkey_exec_request req;
	struct monkey_error err = {0};
	void *j = NULL;
	if (!rt.be->job_start)
		fail_msg("the rootless backend has no job_start");
	rt_request(&req, argv);
	req.timeout_ms = timeout_ms;
	int rc = rt.be->job_start(s, &req, &j, &err);
	if (rc < 0)
		fail_msg("job_start: %d: %s", rc, err.message);
	return j;
}

static int port(void) { return 20000 + getpid() % 20000; }

/* busybox httpd as a job answers a foreground wget over the session's
 * loopback and logs the request; a cat job echoes a line written to its
 * stdin; job_stop ends both, and job_read then says how. */
static void test_jobs_serve_log_take_input_and_stop(void **st)
{
	(void)st;
	struct rt_run r;
	struct monkey_error err = {0};
	char www[700], addr[64], script[1600];
	snprintf(www, sizeof(www), "%s/www", rt_workspace);
	mkdir(www, 0755);
	snprintf(script, sizeof(script), "%s/index.html", www);
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fputs("hello from a job\n", f);
	fclose(f);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port());
	void *s = rt_session_open(NULL);
	const char *httpd[] = {"busybox", "httpd", "-f", "-vv", "-p",
			       addr,	  "-h",	   www,	 NULL};
	void *web = start_job(s, httpd, 60000);
	snprintf(script, sizeof(script),
		 "for i in $(seq 50); do busybox wget -q -O - "
		 "http://%s/index.html && exit 0; sleep 0.1; done; exit 1",
		 addr);
	rt_session_sh(s, script, &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "hello from a job\n");
	rt_run_free(&r);
	struct jout log = {0};
	struct monkey_exec_result res;
	assert_int_equal(read_until(web, &log, "index.html", &res), 1);
	assert_non_null(strstr(log.buf, "index.html"));
	/* The job outlived that command: still on the host. */
	assert_int_equal(rt_wait_marked(addr, 1, 0), 1);

	const char *cat[] = {"cat", NULL};
	void *echo = start_job(s, cat, 60000);
	assert_int_equal(
	    rt.be->job_write(echo, "a line for cat\n", 15, 0, &err), 0);
	struct jout got = {0};
	assert_int_equal(read_until(echo, &got, "a line for cat", &res), 1);
	assert_string_equal(got.buf, "a line for cat\n");

	assert_int_equal(rt.be->job_stop(web, &err), 0);
	assert_int_equal(rt.be->job_stop(echo, &err), 0);
	assert_int_equal(rt_count_marked(addr), 0);
	assert_int_equal(read_until(web, &log, NULL, &res), 0);
	assert_true(res.signal != 0 || res.exit_code >= 0);
	assert_int_equal(read_until(echo, &got, NULL, &res), 0);
	assert_true(res.signal != 0 || res.exit_code >= 0);
	rt.be->job_close(web);
	rt.be->job_close(echo);
	/* The session goes on. */
	rt_session_sh(s, "echo after", &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "after\n");
	rt_run_free(&r);
	rt.be->session_close(s);
	snprintf(script, sizeof(script), "rm -rf '%s'", www);
	assert_int_equal(system(script), 0);
}

/* End of input ends a cat job by itself, with status 0. */
static void test_job_ends_at_end_of_input(void **st)
{
	(void)st;
	struct monkey_error err = {0};
	void *s = rt_session_open(NULL);
	const char *argv[] = {"sh", "-c", "cat; echo eof", NULL};
	struct monkey_exec_request req;
	void *j = NULL;
	rt_request(&req, argv);
	req.stdin_data = "first\n";
	req.stdin_len = 6;
	req.has_stdin = 1;
	if (rt.be->job_start(s, &req, &j, &err) < 0)
		fail_msg("job_start: %s", err.message);
	assert_int_equal(rt.be->job_write(j, "second\n", 7, 1, &err), 0);
	struct jout o = {0};
	struct monkey_exec_result res;
	assert_int_equal(read_until(j, &o, "never", &res), 0);
	assert_string_equal(o.buf, "first\nsecond\neof\n");
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(res.signal, 0);
	rt.be->job_close(j);
	rt.be->session_close(s);
}

static void test_a_jobs_own_timeout_ends_it(void **st)
{
	(void)st;
	struct rt_run r;
	void *s = rt_session_open(NULL);
	char script[300];
	const char *m = rt_marker();
	snprintf(script, sizeof(script),
		 "echo begun; setsid sleep 30 & sleep 30; : %s", m);
	const char *argv[] = {"sh", "-c", script, NULL};
	int64_t t0 = rt_now_ms();
	void *j = start_job(s, argv, 400);
	struct jout o = {0};
	struct monkey_exec_result res;
	assert_int_equal(read_until(j, &o, "never", &res), 0);
	int64_t ms = rt_now_ms() - t0;
	assert_true(ms >= 400 && ms < 5000);
	assert_int_equal(res.timed_out, 1);
	assert_string_equal(o.buf, "begun\n");
	assert_int_equal(rt_count_marked(m), 0);
	rt.be->job_close(j);
	rt_session_sh(s, "echo next", &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "next\n");
	rt_run_free(&r);
	rt.be->session_close(s);
}

/* A job and its setsid child, nobody stopped: session_close kills them
 * and returns promptly. */
static void test_closing_the_session_kills_its_jobs(void **st)
{
	(void)st;
	int groups = cgroups_of(rt.host.instance_id);
	void *s = rt_session_open(NULL);
	char script[300];
	const char *m = rt_marker();
	snprintf(script, sizeof(script),
		 "setsid sh -c 'trap \"\" TERM; sleep 1000; : %s' & "
		 "trap '' TERM; sleep 1000; : %s",
		 m, m);
	const char *argv[] = {"sh", "-c", script, NULL};
	void *j = start_job(s, argv, 0);
	(void)j;
	assert_true(rt_wait_marked(m, 2, 2000) >= 2);
	int64_t t0 = rt_now_ms();
	rt.be->session_close(s);
	assert_true(rt_now_ms() - t0 < 5000);
	assert_int_equal(rt_count_marked(m), 0);
	assert_int_equal(cgroups_of(rt.host.instance_id), groups);
}

/* ---- what is left ---- */

static void test_sessions_in_a_loop_leave_nothing(void **st)
{
	(void)st;
	struct rt_run r;
	int fds0 = 0, groups = cgroups_of(rt.host.instance_id);
	const char *m = rt_marker();
	char script[300];
	snprintf(script, sizeof(script),
		 "echo hi > /tmp/f && cat /tmp/f; setsid sh -c 'sleep "
		 "1000; : %s' >/dev/null 2>&1 &",
		 m);
	const char *sleeper[] = {"sh", "-c", script, NULL};
	for (int i = 0; i < 33; i++) {
		if (i == 3) /* after what is made once (caches) */
			fds0 = count_fds();
		void *s = rt_session_open(NULL);
		rt_session_sh(s, script, &r);
		assert_exit(&r, 0);
		assert_string_equal(r.out, "hi\n");
		rt_run_free(&r);
		void *j = start_job(s, sleeper, 60000);
		rt.be->job_close(j);
		rt.be->session_close(s);
	}
	assert_int_equal(rt_count_marked(m), 0);
	assert_int_equal(cgroups_of(rt.host.instance_id), groups);
	assert_int_equal(count_fds(), fds0);
}

/* monkey killed outright (SIGKILL, no cleanup of its own): its jobs die
 * with it.  A copy of this program holds a session with a job. */
static void hold_a_job(const char *marker)
{
	rt_setup_or_exit("test_rootless_session (holder)");
	void *s = rt_session_open(NULL);
	char script[300];
	snprintf(script, sizeof(script),
		 "setsid sh -c 'sleep 1000; : %s' & trap '' TERM; sleep "
		 "1000; : %s",
		 marker, marker);
	const char *argv[] = {"sh", "-c", script, NULL};
	start_job(s, argv, 0);
	printf("%s %s\n", rt.host.instance_id, rt_workspace);
	fflush(stdout);
	for (;;)
		pause();
}

static void test_jobs_die_with_a_killed_monkey(void **st)
{
	(void)st;
	const char *m = rt_marker();
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/proc/self/exe", "test_rootless_session", "--hold-job",
		      m, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[1200] = "";
	FILE *f = fdopen(p[0], "r");
	char *got = fgets(line, sizeof(line), f);
	fclose(f);
	if (!got) {
		waitpid(pid, NULL, 0);
		fail_msg("the holder did not start its job");
	}
	int before = rt_wait_marked(m, 2, 2000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	int after = rt_wait_unmarked(m, 3000);
	/* What the killed holder could not clean: its workspace, and its
	 * (empty) cgroups, which the next monkey would sweep. */
	char instance[128], ws[1000], cmd[1400];
	if (sscanf(line, "%127s %999[^\n]", instance, ws) == 2) {
		snprintf(cmd, sizeof(cmd),
			 "rm -rf '%s'; for d in /sys/fs/cgroup/*/monkey/%s-*; "
			 "do [ -d \"$d\" ] && find \"$d\" -depth -type d "
			 "-exec rmdir {} +; done; true",
			 ws, instance);
		assert_int_equal(system(cmd), 0);
	}
	assert_true(before >= 2);
	assert_int_equal(after, 0);
}

/* ---- session-wide limits (cgroups), or per command (without) ---- */

/* Whether this user's commands get cgroups; else the limits are per
 * command (RLIMIT_NPROC in the command's own user namespace, an
 * address-space rlimit), which the tests below check instead. */
static int cgroups_enforced(void)
{
	if ((rt.be->capabilities & MONKEY_CAP_OOM_REPORT) && cgroup_v1())
		return 1;
	print_message("no cgroup for this user's commands: checking the "
		      "per-command limits instead\n");
	return 0;
}

/* Without cgroups --pids is RLIMIT_NPROC in each command's own user
 * namespace: a job's processes leave a foreground command its whole
 * limit, and the limit still stops the command's own fork loop. */
static void pids_per_command(void *s, void *j)
{
	const char *forks[] = {rt_program("rootless/rootless_helper"), "forks",
			       "12", NULL};
	struct monkey_exec_request req;
	rt_request(&req, forks);
	struct rt_run r = {0};
	rt_session_exec(s, &req, &r);
	if (r.rc != 0)
		fail_msg("rc %d: %s", r.rc, r.err.message);
	assert_string_equal(r.out, "forked 12 no-failure\n");
	rt_run_free(&r);
	forks[2] = "40";
	memset(&r, 0, sizeof(r));
	rt_session_exec(s, &req, &r);
	if (r.rc != 0)
		fail_msg("rc %d: %s", r.rc, r.err.message);
	int forked = -1;
	char why[128] = "";
	if (sscanf(r.out, "forked %d %127[^\n]", &forked, why) != 2)
		fail_msg("unexpected output \"%s\" (%s)", r.out, r.errout);
	print_message("per command: forked %d of 40 (%s)\n", forked, why);
	assert_true(forked >= 12 && forked < 20);
	assert_string_equal(why, strerror(EAGAIN));
	rt_run_free(&r);
	struct monkey_error err = {0};
	assert_int_equal(rt.be->job_stop(j, &err), 0);
	rt.be->job_close(j);
	rt.be->session_close(s);
}

/* pids 20 for the session: a job holding 12 sleeps (14 with its sh and
 * init) leaves a foreground command room for 4 more processes of its
 * own; once the job is stopped, for all 12. */
static void test_session_pids_limit_counts_jobs_and_commands(void **st)
{
	(void)st;
	struct monkey_exec_request settings;
	rt_request(&settings, NULL);
	settings.pids = 20;
	void *s = rt_session_open(&settings);
	const char *hold[] = {"sh", "-c",
			      "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep "
			      "1000 & done; echo holding; wait",
			      NULL};
	void *j = start_job(s, hold, 60000);
	struct jout o = {0};
	struct monkey_exec_result res;
	assert_int_equal(read_until(j, &o, "holding", &res), 1);
	if (!cgroups_enforced()) {
		pids_per_command(s, j);
		return;
	}
	const char *forks[] = {rt_program("rootless/rootless_helper"), "forks",
			       "12", NULL};
	struct monkey_exec_request req;
	rt_request(&req, forks);
	struct rt_run r = {0};
	rt_session_exec(s, &req, &r);
	/* (Not its exit status: a sanitizer's leak check at exit cannot
	 * start its thread at the limit either.) */
	if (r.rc != 0)
		fail_msg("rc %d: %s", r.rc, r.err.message);
	int forked = -1;
	char why[128] = "";
	if (sscanf(r.out, "forked %d %127[^\n]", &forked, why) != 2)
		fail_msg("unexpected output \"%s\" (%s)", r.out, r.errout);
	print_message("with the job: forked %d (%s)\n", forked, why);
	assert_true(forked >= 0 && forked <= 6);
	assert_string_equal(why, strerror(EAGAIN));
	assert_true(r.res.limits_hit & MONKEY_LIMIT_PIDS);
	rt_run_free(&r);
	struct monkey_error err = {0};
	assert_int_equal(rt.be->job_stop(j, &err), 0);
	rt.be->job_close(j);
	rt_session_exec(s, &req, &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "forked 12 no-failure\n");
	rt_run_free(&r);
	rt.be->session_close(s);
}

static void test_memory_hog_is_oom_killed_and_the_session_goes_on(void **st)
{
	(void)st;
	int cg = cgroups_enforced();
	struct monkey_exec_request settings;
	rt_request(&settings, NULL);
	settings.memory_bytes = 32u << 20;
	void *s = rt_session_open(&settings);
	struct rt_run r;
	rt_session_sh(s, "echo before > /tmp/f", &r);
	assert_exit(&r, 0);
	rt_run_free(&r);
	/* dd's 64 MiB block buffer is filled: far over 32 MiB. */
	const char *argv[] = {"dd",	"if=/dev/zero", "of=/dev/null",
			      "bs=64M", "count=4",	NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	memset(&r, 0, sizeof(r));
	rt_session_exec(s, &req, &r);
	if (r.rc != 0)
		fail_msg("rc %d: %s", r.rc, r.err.message);
	if (cg) {
		assert_int_equal(r.res.oom_killed, MONKEY_YES);
		assert_int_equal(r.res.signal, SIGKILL);
	} else {
		/* An address-space limit: the allocation fails, and nothing
		 * claims to know about OOM kills. */
		assert_int_equal(r.res.signal, 0);
		assert_int_not_equal(r.res.exit_code, 0);
		assert_int_equal(r.res.oom_killed, MONKEY_UNKNOWN);
		assert_non_null(strstr(r.errout, "memory"));
	}
	rt_run_free(&r);
	rt_session_sh(s, "cat /tmp/f", &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "before\n");
	assert_int_equal(r.res.oom_killed, cg ? MONKEY_NO : MONKEY_UNKNOWN);
	rt_run_free(&r);
	rt.be->session_close(s);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--hold-job"))
		hold_a_job(argv[2]);
	rt_setup_or_exit("test_rootless_session");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_descriptor_offers_sessions_and_jobs),
	    cmocka_unit_test(test_tmp_and_shm_persist_within_the_session_only),
	    cmocka_unit_test(test_the_session_network_is_loopback_only),
	    cmocka_unit_test(test_daemons_die_at_their_command_end),
	    cmocka_unit_test(test_each_command_has_its_own_environment),
	    cmocka_unit_test(
		test_timeout_ends_the_command_and_the_session_goes_on),
	    cmocka_unit_test(test_concurrent_calls_run_one_after_the_other),
	    cmocka_unit_test(test_jobs_serve_log_take_input_and_stop),
	    cmocka_unit_test(test_job_ends_at_end_of_input),
	    cmocka_unit_test(test_a_jobs_own_timeout_ends_it),
	    cmocka_unit_test(test_closing_the_session_kills_its_jobs),
	    cmocka_unit_test(test_sessions_in_a_loop_leave_nothing),
	    cmocka_unit_test(test_jobs_die_with_a_killed_monkey),
	    cmocka_unit_test(test_session_pids_limit_counts_jobs_and_commands),
	    cmocka_unit_test(
		test_memory_hog_is_oom_killed_and_the_session_goes_on),
	};
	int rc = cmocka_run_group_tests_name("rootless sessions and jobs",
					     tests, NULL, NULL);
	rt_teardown();
	return rc;
}
