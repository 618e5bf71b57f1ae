/* The docker backend's warm pool against a real engine: prestarted
 * containers are used once and only for commands with their settings, are
 * replaced when they die or fail to start, and never outlive their state:
 * fini removes them, and when monkey is killed they end by themselves. */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "docker_harness.h"

static void *pool_state(int k)
{
	char cfg[256];
	void *st = NULL;
	struct monkey_error err = {0};
	snprintf(cfg, sizeof(cfg),
		 "{\"image\":\"%s\",\"pull\":\"never\",\"pool\":%d}", dt_image,
		 k);
	if (dt_init(cfg, &st, &err) < 0)
		fail_msg("init: %s", err.message);
	return st;
}

/* Wait until n prestarted containers of this process run and the
 * backend holds them (it does once their start call answered). */
static int wait_pooled(int n)
{
	for (int i = 0; i < 1200; i++) {
		if (dt_count_pooled(1) >= n && dt_pool_ready() >= n)
			return 1;
		usleep(25 * 1000);
	}
	return 0;
}

static void run_sh(void *st, const char *script, struct dt_run *r)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	dt_request(&req, argv);
	dt_exec(st, &req, r);
}

static void test_first_command_runs_cold_and_the_next_one_pooled(void **s)
{
	(void)s;
	void *st = pool_state(1);
	struct dt_run a = {0}, b = {0};
	run_sh(st, "echo one", &a);
	assert_int_equal(a.rc, 0);
	assert_false(a.pooled);
	assert_true(wait_pooled(1));
	run_sh(st, "echo two", &b);
	assert_int_equal(b.rc, 0);
	assert_true(b.pooled);
	assert_string_equal(b.out, "two\n");
	dt_backend->fini(st);
	dt_run_free(&a);
	dt_run_free(&b);
}

static void test_fini_removes_every_prestarted_container(void **s)
{
	(void)s;
	void *st = pool_state(3);
	struct dt_run a = {0};
	run_sh(st, "true", &a);
	assert_true(wait_pooled(3));
	dt_backend->fini(st);
	assert_int_equal(dt_count_containers(dt_instance_id), 0);
	dt_run_free(&a);
}

static void test_command_with_other_limits_never_takes_a_pooled_one(void **s)
{
	(void)s;
	void *st = pool_state(1);
	struct dt_run a = {0}, b = {0};
	run_sh(st, "true", &a);
	assert_true(wait_pooled(1));
	const char *argv[] = {"cat", "/sys/fs/cgroup/pids/pids.max", NULL};
	struct monkey_exec_request req;
	dt_request(&req, argv);
	req.pids = 23;
	dt_exec(st, &req, &b);
	assert_int_equal(b.rc, 0);
	assert_false(b.pooled);
	if (!dt_podman)
		assert_string_equal(b.out, "23\n");
	dt_backend->fini(st);
	dt_run_free(&a);
	dt_run_free(&b);
}

static void test_container_killed_while_waiting_is_replaced(void **s)
{
	(void)s;
	void *st = pool_state(1);
	struct dt_run a = {0}, b = {0}, c = {0};
	run_sh(st, "true", &a);
	assert_true(wait_pooled(1));
	/* Only the prestarted one exists now: remove it behind the
	 * backend's back. */
	dt_remove_labelled(dt_instance_id);
	run_sh(st, "echo still", &b);
	assert_int_equal(b.rc, 0);
	assert_string_equal(b.out, "still\n");
	assert_true(wait_pooled(1));
	run_sh(st, "echo again", &c);
	assert_int_equal(c.rc, 0);
	assert_true(c.pooled);
	assert_string_equal(c.out, "again\n");
	dt_backend->fini(st);
	dt_run_free(&a);
	dt_run_free(&b);
	dt_run_free(&c);
}

/* A container that cannot start (its mount's source went away) gives
 * commands the fresh container's error at once, and the pool recovers
 * when the cause is gone. */
static void test_failing_prestart_gives_the_cold_error_then_recovers(void **s)
{
	(void)s;
	/* Podman creates a missing bind source instead of failing. */
	if (dt_podman)
		skip();
	char src[512];
	snprintf(src, sizeof(src), "%s-pool-mnt", dt_workspace);
	assert_int_equal(mkdir(src, 0777), 0);
	struct monkey_mount m = {
	    .source = src, .target = "/data", .read_only = 1};
	void *st = pool_state(1);
	const char *argv[] = {"ls", "/data", NULL};
	struct monkey_exec_request req;
	struct dt_run a = {0}, b = {0}, c = {0};
	dt_request(&req, argv);
	req.mounts = &m;
	req.n_mounts = 1;
	dt_exec(st, &req, &a);
	assert_int_equal(a.rc, 0);
	assert_true(wait_pooled(1));
	/* Take the prestarted one; its replacement cannot start. */
	rmdir(src);
	dt_exec(st, &req, &b);
	assert_true(b.pooled);
	dt_exec(st, &req, &c);
	assert_true(c.rc < 0);
	assert_true(c.ms < 10000);
	assert_non_null(strstr(c.err.message, "pool-mnt"));
	dt_run_free(&c);
	assert_int_equal(mkdir(src, 0777), 0);
	assert_true(wait_pooled(1));
	dt_exec(st, &req, &c);
	assert_int_equal(c.rc, 0);
	assert_true(c.pooled);
	dt_backend->fini(st);
	rmdir(src);
	dt_run_free(&a);
	dt_run_free(&b);
	dt_run_free(&c);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A prestarted container mounted the .git there was when it started; when
 * the workspace's .git has been replaced since, the command runs in a
 * fresh container that mounts the one there now. */
static void test_pooled_container_of_a_replaced_git_is_not_used(void **s)
{
	(void)s;
	char git[300], old[300], cfg[330], cmd[700];
	snprintf(git, sizeof(git), "%s/.git", dt_workspace);
	snprintf(old, sizeof(old), "%s/.git-old", dt_workspace);
	snprintf(cfg, sizeof(cfg), "%s/config", git);
	assert_int_equal(mkdir(git, 0755), 0);
	write_text(cfg, "old\n");
	void *st = pool_state(1);
	struct dt_run a = {0}, b = {0};
	run_sh(st, "true", &a);
	assert_true(wait_pooled(1));
	assert_int_equal(rename(git, old), 0);
	assert_int_equal(mkdir(git, 0755), 0);
	write_text(cfg, "new\n");
	run_sh(st, "cat .git/config", &b);
	dt_backend->fini(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", git, old);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(b.rc, 0);
	assert_string_equal(b.out, "new\n");
	assert_false(b.pooled);
	dt_run_free(&a);
	dt_run_free(&b);
}

/* A monkey that dies without fini (kill -9) cannot remove its prestarted
 * containers: their launchers see the attach connection end and exit,
 * and the engine removes them, with no other monkey needed. */
static void test_a_killed_owners_pool_goes_away_by_itself(void **s)
{
	(void)s;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child is another monkey: its own instance id. */
		static char id[64];
		char buf[1024];
		FILE *f = fopen("/proc/self/stat", "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		buf[n] = '\0';
		char *q = strrchr(buf, ')');
		for (int i = 0; q && i < 20; i++)
			q = strchr(q + 1, ' ');
		snprintf(id, sizeof(id), "%ld-%llu", (long)getpid(),
			 q ? strtoull(q + 1, NULL, 10) : 0ULL);
		dt_host.instance_id = id;
		void *st = pool_state(2);
		struct dt_run a = {0};
		run_sh(st, "true", &a);
		/* Full, so no create is in flight when the parent kills us:
		 * a container the engine made after the sweep would stay. */
		for (int i = 0; i < 1200 && dt_pool_ready() < 2; i++)
			usleep(25 * 1000);
		ssize_t w = write(p[1], id, strlen(id) + 1);
		(void)w;
		sleep(30); /* killed by the parent once the pool is up */
		_exit(0);
	}
	close(p[1]);
	char id[64] = "";
	assert_true(read(p[0], id, sizeof(id)) > 0);
	close(p[0]);
	int up = 0;
	for (int i = 0; i < 400 && !up; i++) {
		usleep(25 * 1000);
		up = dt_count_containers(id) >= 2;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(up);
	int left = dt_count_containers(id);
	for (int i = 0; i < 200 && left > 0; i++) {
		usleep(50 * 1000);
		left = dt_count_containers(id);
	}
	dt_remove_labelled(id);
	assert_int_equal(left, 0);
}

#define T(f) cmocka_unit_test_teardown(f, dt_assert_no_containers)

int main(void)
{
	dt_setup_or_exit("test_docker_pool");
	const struct CMUnitTest tests[] = {
	    T(test_first_command_runs_cold_and_the_next_one_pooled),
	    T(test_fini_removes_every_prestarted_container),
	    T(test_command_with_other_limits_never_takes_a_pooled_one),
	    T(test_container_killed_while_waiting_is_replaced),
	    T(test_failing_prestart_gives_the_cold_error_then_recovers),
	    T(test_pooled_container_of_a_replaced_git_is_not_used),
	    T(test_a_killed_owners_pool_goes_away_by_itself),
	};
	return cmocka_run_group_tests_name("docker backend: warm pool", tests,
					   NULL, NULL);
}
