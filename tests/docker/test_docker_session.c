/* The docker backend's sessions against a real engine: files persist
 * between a session's commands while nothing a command started outlives
 * it (a setsid daemon, a double fork), each command keeps its own
 * environment and timeout, a container killed from outside is replaced
 * and the command says so, and sessions opened and closed in a loop
 * leave no container, descriptor or memory behind. */
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
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "docker_harness.h"

static void *open_session(void)
{
	struct monkey_exec_request req;
	struct monkey_error err = {0};
	void *s = NULL;
	dt_request(&req, NULL); /* settings carry no command */
	if (dt_backend->session_open(dt_state, &req, &s, &err) < 0)
		fail_msg("session_open: %s", err.message);
	return s;
}

/* "sh -c script" as the session's next command. */
static void sh_in(void *s, const char *script, struct dt_run *r)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	dt_request(&req, argv);
	memset(r, 0, sizeof(*r));
	dt_session_exec(s, &req, r);
}

static void assert_exit(struct dt_run *r, int code)
{
	if (r->rc != 0)
		fail_msg("rc %d: %s", r->rc, r->err.message);
	if (r->res.exit_code != code)
		fail_msg("exit %d (want %d), stdout '%s', stderr '%s'",
			 r->res.exit_code, code, r->out, r->errout);
}

static void test_files_outside_the_workspace_persist(void **st)
{
	(void)st;
	struct dt_run r = {0};
	void *s = open_session();
	sh_in(s, "touch /tmp/x && mkdir -p $HOME/.cache 2>/dev/null; true", &r);
	assert_exit(&r, 0);
	dt_run_free(&r);
	sh_in(s, "test -e /tmp/x", &r);
	assert_exit(&r, 0);
	dt_run_free(&r);
	dt_backend->session_close(s);
	/* A fresh container does not have it. */
	dt_sh("test -e /tmp/x", &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.res.exit_code, 1);
	dt_run_free(&r);
}

/* Processes a command leaves (setsid, double fork, ignoring SIGTERM) are
 * killed before its result comes back; its files stay. */
static void test_setsid_daemon_is_killed_at_the_command_end(void **st)
{
	(void)st;
	struct dt_run r = {0};
	void *s = open_session();
	sh_in(s,
	      "setsid sh -c 'trap \"\" TERM; echo $$ > /tmp/d1; sleep 1000' "
	      "</dev/null >/dev/null 2>&1 & "
	      "(sh -c 'sleep 1000 & echo $! > /tmp/d2' &); "
	      "while [ ! -s /tmp/d1 ] || [ ! -s /tmp/d2 ]; do sleep 0.05; "
	      "done; echo started",
	      &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "started\n");
	dt_run_free(&r);
	sh_in(s,
	      "for f in /tmp/d1 /tmp/d2; do p=$(cat $f); "
	      "if kill -0 $p 2>/dev/null; then echo alive $f; fi; done; "
	      "ps -o args | grep -q '^sleep 1000' || echo none",
	      &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "none\n");
	dt_run_free(&r);
	dt_backend->session_close(s);
}

static void test_each_command_has_its_own_environment(void **st)
{
	(void)st;
	struct dt_run r = {0};
	void *s = open_session();
	const char *argv[] = {"sh", "-c", "echo ${FOO-unset} ${BAR-unset}",
			      NULL};
	const char *env1[] = {"FOO=one", NULL}, *env2[] = {"BAR=two", NULL};
	struct monkey_exec_request req;
	dt_request(&req, argv);
	req.user_envp = env1;
	dt_session_exec(s, &req, &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "one unset\n");
	dt_run_free(&r);
	req.user_envp = env2;
	dt_session_exec(s, &req, &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "unset two\n");
	dt_run_free(&r);
	dt_backend->session_close(s);
}

/* A timeout kills the command, not the session. */
static void test_timeout_ends_the_command_and_the_session_goes_on(void **st)
{
	(void)st;
	struct dt_run r = {0};
	void *s = open_session();
	const char *argv[] = {"sh", "-c", "touch /tmp/t; echo x; sleep 30",
			      NULL};
	struct monkey_exec_request req;
	dt_request(&req, argv);
	req.timeout_ms = 400;
	dt_session_exec(s, &req, &r);
	assert_int_equal(r.rc, 0);
	assert_true(r.res.timed_out);
	assert_string_equal(r.out, "x\n");
	assert_true(r.ms < 5000);
	dt_run_free(&r);
	sh_in(s, "test -e /tmp/t && ! ps -o args | grep -q '^sleep 30'", &r);
	assert_exit(&r, 0);
	assert_false(r.res.timed_out);
	dt_run_free(&r);
	dt_backend->session_close(s);
}

/* The id of this process's one container. */
static char *session_container(void)
{
	char *body = dt_inspect_labelled(dt_instance_id);
	assert_non_null(body);
	json_object *o = json_tokener_parse(body), *id = NULL;
	free(body);
	assert_true(json_object_object_get_ex(o, "Id", &id));
	char *s = strdup(json_object_get_string(id));
	json_object_put(o);
	return s;
}

static void kill_container(const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/kill", id);
	assert_int_equal(dt_api("POST", path, NULL, NULL), 204);
}

static void test_container_killed_between_commands_is_replaced(void **st)
{
	(void)st;
	struct dt_run r = {0};
	void *s = open_session();
	sh_in(s, "touch /tmp/x", &r);
	assert_exit(&r, 0);
	dt_run_free(&r);
	char *id = session_container();
	kill_container(id);
	for (int i = 0; i < 100 && dt_container_exists(id); i++)
		usleep(50 * 1000);
	free(id);
	sh_in(s, "test -e /tmp/x", &r);
	assert_exit(&r, 1); /* a new container: the file is gone */
	assert_int_equal(r.err.code, 0);
	assert_non_null(strstr(r.err.message, "outside the workspace are "
					      "gone"));
	dt_run_free(&r);
	/* And it is said once. */
	sh_in(s, "true", &r);
	assert_exit(&r, 0);
	assert_string_equal(r.err.message, "");
	dt_run_free(&r);
	dt_backend->session_close(s);
}

static void *kill_later(void *arg)
{
	usleep(700 * 1000);
	kill_container(arg);
	return NULL;
}

static void test_container_killed_mid_command_fails_it_clearly(void **st)
{
	(void)st;
	struct dt_run r = {0};
	void *s = open_session();
	sh_in(s, "true", &r);
	assert_exit(&r, 0);
	dt_run_free(&r);
	char *id = session_container();
	pthread_t t;
	pthread_create(&t, NULL, kill_later, id);
	sh_in(s, "echo begun; sleep 20", &r);
	pthread_join(t, NULL);
	free(id);
	assert_int_equal(r.rc, -ECONNRESET);
	assert_true(r.ms < 10000);
	assert_non_null(strstr(r.err.message, "while the command ran"));
	assert_non_null(strstr(r.err.message, "outside the workspace are "
					      "gone"));
	dt_run_free(&r);
	sh_in(s, "echo again", &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "again\n");
	dt_run_free(&r);
	dt_backend->session_close(s);
}

struct racer {
	void *s;
	struct dt_run r;
};

static void *race(void *arg)
{
	struct racer *x = arg;
	sh_in(x->s, "mkdir /tmp/lock && sleep 0.3 && rmdir /tmp/lock", &x->r);
	return NULL;
}

static void test_concurrent_calls_run_one_after_the_other(void **st)
{
	(void)st;
	struct racer a = {0}, b = {0};
	a.s = b.s = open_session();
	pthread_t ta, tb;
	pthread_create(&ta, NULL, race, &a);
	pthread_create(&tb, NULL, race, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_exit(&a.r, 0);
	assert_exit(&b.r, 0);
	dt_run_free(&a.r);
	dt_run_free(&b.r);
	dt_backend->session_close(a.s);
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

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void test_100_sessions_leave_nothing(void **st)
{
	(void)st;
	struct dt_run r = {0};
	long rss0 = 0;
	int fds0 = 0;
	for (int i = 0; i < 110; i++) {
		if (i == 10) { /* after the caches warmed up */
			fds0 = count_fds();
			rss0 = rss_kb();
		}
		void *s = open_session();
		sh_in(s, "echo hi > /tmp/f", &r);
		assert_exit(&r, 0);
		dt_run_free(&r);
		dt_backend->session_close(s);
	}
	assert_int_equal(count_fds(), fds0);
	long grown = rss_kb() - rss0;
#ifndef __SANITIZE_ADDRESS__
	/* (AddressSanitizer keeps freed memory in quarantine; its leak
	 * check at exit stands in for this there.) */
	if (grown > 2048)
		fail_msg("RSS grew by %ld kB over 100 sessions", grown);
#else
	(void)grown;
#endif
	assert_int_equal(dt_count_containers(dt_instance_id), 0);
}

/* A job's output since the last read, appended to a string. */
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

/* Read j until its output holds want (or 10 s passed); its state. */
static int read_until(void *j, struct jout *o, const char *want,
		      struct monkey_exec_result *res)
{
	int running = 1;
	struct monkey_error err = {0};
	for (int i = 0; i < 20 && !(want && strstr(o->buf, want)); i++) {
		res->struct_size = sizeof(*res);
		assert_int_equal(
		    dt_backend->job_read(j, 500, jsink, o, &running, res, &err),
		    0);
		if (!running)
			break;
	}
	return running;
}

static void *start_job(void *s, const char *const *argv)
{
	struct monkey_exec_request req;
	struct monkey_error err = {0};
	void *j = NULL;
	dt_request(&req, argv);
	req.timeout_ms = 60000;
	if (dt_backend->job_start(s, &req, &j, &err) < 0)
		fail_msg("job_start: %s", err.message);
	return j;
}

/* busybox httpd as a job: a foreground wget fetches a page, the job's
 * log has it, the job outlives the command; a cat job echoes a line fed
 * to its stdin; job_stop ends both. */
static void test_jobs_serve_log_take_input_and_stop(void **st)
{
	(void)st;
	struct dt_run r = {0};
	struct monkey_error err = {0};
	void *s = open_session();
	sh_in(s,
	      "mkdir -p /tmp/www && echo hello from a job > "
	      "/tmp/www/index.html",
	      &r);
	assert_exit(&r, 0);
	dt_run_free(&r);
	const char *httpd[] = {"httpd",		 "-f", "-vv",	   "-p",
			       "127.0.0.1:8080", "-h", "/tmp/www", NULL};
	void *web = start_job(s, httpd);
	sh_in(s,
	      "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - "
	      "http://127.0.0.1:8080/index.html && exit 0; sleep 0.2; done; "
	      "exit 1",
	      &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "hello from a job\n");
	dt_run_free(&r);
	struct jout log = {0};
	struct monkey_exec_result res = {0};
	assert_int_equal(read_until(web, &log, "index.html", &res), 1);
	assert_non_null(strstr(log.buf, "index.html"));

	const char *cat[] = {"cat", NULL};
	void *echo = start_job(s, cat);
	assert_int_equal(
	    dt_backend->job_write(echo, "a line for cat\n", 15, 0, &err), 0);
	struct jout got = {0};
	assert_int_equal(read_until(echo, &got, "a line for cat", &res), 1);
	assert_string_equal(got.buf, "a line for cat\n");

	assert_int_equal(dt_backend->job_stop(web, &err), 0);
	assert_int_equal(read_until(web, &log, NULL, &res), 0);
	assert_true(res.signal == SIGTERM || res.exit_code >= 0);
	/* End of input ends cat by itself. */
	assert_int_equal(dt_backend->job_write(echo, "", 0, 1, &err), 0);
	assert_int_equal(read_until(echo, &got, "never", &res), 0);
	assert_int_equal(res.exit_code, 0);
	dt_backend->job_close(web);
	dt_backend->job_close(echo);
	/* Nothing of the jobs is left in the container. */
	sh_in(s, "ps -o args | grep -q '^httpd' && echo left; true", &r);
	assert_exit(&r, 0);
	assert_string_equal(r.out, "");
	dt_run_free(&r);
	dt_backend->session_close(s);
}

/* Closing the session ends a job nobody stopped, container and all. */
static void test_closing_the_session_ends_its_jobs(void **st)
{
	(void)st;
	void *s = open_session();
	const char *sleeper[] = {"sleep", "1000", NULL};
	void *j = start_job(s, sleeper);
	struct jout o = {0};
	struct monkey_exec_result res = {0};
	int running = 0;
	struct monkey_error err = {0};
	res.struct_size = sizeof(res);
	assert_int_equal(
	    dt_backend->job_read(j, 200, jsink, &o, &running, &res, &err), 0);
	assert_int_equal(running, 1);
	int64_t t0 = dt_now_ms();
	dt_backend->session_close(s);
	assert_true(dt_now_ms() - t0 < 5000);
	assert_int_equal(dt_count_containers(dt_instance_id), 0);
}

#define T(f) cmocka_unit_test_teardown(f, dt_assert_no_containers)

int main(void)
{
	dt_setup_or_exit("test_docker_session");
	if (!dt_launcher) {
		fprintf(stderr, "no monkey-launch: sessions are not offered\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    T(test_files_outside_the_workspace_persist),
	    T(test_setsid_daemon_is_killed_at_the_command_end),
	    T(test_each_command_has_its_own_environment),
	    T(test_timeout_ends_the_command_and_the_session_goes_on),
	    T(test_container_killed_between_commands_is_replaced),
	    T(test_container_killed_mid_command_fails_it_clearly),
	    T(test_concurrent_calls_run_one_after_the_other),
	    T(test_100_sessions_leave_nothing),
	    T(test_jobs_serve_log_take_input_and_stop),
	    T(test_closing_the_session_ends_its_jobs),
	};
	return cmocka_run_group_tests_name("docker backend: sessions", tests,
					   NULL, NULL);
}
