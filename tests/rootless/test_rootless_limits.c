/* Limits of the rootless backend: memory, pids and CPU through cgroups
 * where this user may use them (cgroup v1 as root), OOM kills reported, a
 * fork bomb contained; where it may not, the descriptor says so and the
 * host warns about what is not enforced, and RLIMIT_NPROC in the
 * command's own user namespace still bounds its processes.  Rlimits. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/exec.h>

#include "rootless_harness.h"

static int cgroup_v1(void)
{
	struct stat sb;
	return stat("/sys/fs/cgroup/cgroup.controllers", &sb) < 0 &&
	       stat("/sys/fs/cgroup/memory", &sb) == 0;
}

/* Groups a killed monkey left behind ("<pid>-<start>-<n>" of a process
 * that is gone) are removed when a later one first makes its own; those
 * of a monkey that still runs stay.  First in this program: the sweep
 * runs once a process. */
static void test_cgroups_of_dead_monkeys_are_swept(void **s)
{
	(void)s;
	/* Only where this user has v1 cgroups (the descriptor test checks
	 * what is claimed elsewhere). */
	if (!(rt.be->capabilities & MONKEY_CAP_OOM_REPORT) || !cgroup_v1())
		return;
	char dead[300], alive[300];
	/* pid_max is below 2^22: no process has this pid. */
	snprintf(dead, sizeof(dead), "/sys/fs/cgroup/pids/monkey/%d-1-1",
		 (1 << 22) + 1);
	snprintf(alive, sizeof(alive), "/sys/fs/cgroup/pids/monkey/%s-999",
		 rt.host.instance_id);
	assert_int_equal(mkdir(dead, 0755), 0);
	assert_int_equal(mkdir(alive, 0755), 0);
	struct rt_run r;
	rt_sh("true", &r);
	assert_ran_ok(&r);
	rt_run_free(&r);
	assert_int_equal(access(dead, F_OK), -1);
	assert_int_equal(access(alive, F_OK), 0);
	rmdir(alive);
}

static void test_descriptor_says_what_is_enforced_here(void **s)
{
	(void)s;
	uint32_t caps = rt.be->capabilities;
	assert_int_equal(rt.be->safety, MONKEY_SAFETY_HIGH);
	/* One or the other, never both and never neither. */
	assert_true(!(caps & MONKEY_CAP_MEMORY) !=
		    !(caps & MONKEY_CAP_MEMORY_APPROX));
	assert_true(caps & MONKEY_CAP_PIDS);
	assert_true(caps & MONKEY_CAP_KILL_TREE);
	assert_true(caps & MONKEY_CAP_NETWORK_ISOLATION);
	assert_true(caps & MONKEY_CAP_READ_ONLY_ROOT);
	assert_true(caps & MONKEY_CAP_IMAGE);
	assert_false(caps & MONKEY_CAP_USER);
	/* The host's / is visible (read-only): not workspace-only. */
	assert_false(caps & MONKEY_CAP_FS_ISOLATION);
	if (!cgroup_v1())
		return;
	if (rt_is_root()) {
		assert_true(caps & MONKEY_CAP_MEMORY);
		assert_true(caps & MONKEY_CAP_CPU);
		assert_true(caps & MONKEY_CAP_OOM_REPORT);
	} else {
		/* cgroup v1 is root's alone. */
		assert_false(caps & MONKEY_CAP_MEMORY);
		assert_false(caps & MONKEY_CAP_CPU);
		assert_false(caps & MONKEY_CAP_OOM_REPORT);
		assert_true(caps & MONKEY_CAP_MEMORY_APPROX);
	}
}

/* ---- the host's warnings, through libmonkey's executor ---- */

static char notices[8192];

static void on_notice(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level < MONKEY_LOG_WARNING)
		return;
	size_t used = strlen(notices);
	snprintf(notices + used, sizeof(notices) - used, "%s\n", msg);
}

static void test_host_warns_about_what_is_not_enforced(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = "rootless";
	o.backend_dir = rt_module_dir();
	o.no_fallback = true;
	o.workspace = rt_workspace;
	o.memory_mb = 100;
	o.cpus = 1;
	o.pids = 20;
	o.user = "1234:1234";
	o.explicit_set = MONKEY_OPT_MEMORY | MONKEY_OPT_CPUS | MONKEY_OPT_PIDS |
			 MONKEY_OPT_USER;
	o.notify = on_notice;
	notices[0] = '\0';
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	if (monkey_executor_open(&o, &ex, &err) < 0)
		fail_msg("%s", err.message);
	monkey_executor_close(ex);
	uint32_t caps = rt.be->capabilities;
	assert_non_null(
	    strstr(notices, "--user is not enforced by the rootless backend"));
	assert_null(strstr(notices, "--pids is not enforced"));
	if (caps & MONKEY_CAP_MEMORY)
		assert_null(strstr(notices, "--memory"));
	else
		assert_non_null(strstr(notices, "--memory is applied by the "
						"rootless backend as an "
						"address-space limit"));
	if (caps & MONKEY_CAP_CPU)
		assert_null(strstr(notices, "--cpus"));
	else
		assert_non_null(strstr(
		    notices, "--cpus is not enforced by the rootless backend"));
}

/* ---- cgroups, seen from the host while a command runs ---- */

struct bg {
	struct monkey_exec_request req;
	struct rt_run r;
};

static void *run_bg(void *arg)
{
	struct bg *b = arg;
	rt_exec(&b->req, &b->r);
	return NULL;
}

/* file in the running command's group of controller, or "" */
static void cgroup_value(const char *controller, const char *file, char *out,
			 size_t len)
{
	char base[300];
	snprintf(base, sizeof(base), "/sys/fs/cgroup/%s/monkey", controller);
	out[0] = '\0';
	DIR *d = opendir(base);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, rt.host.instance_id,
			    strlen(rt.host.instance_id)) ||
		    de->d_name[strlen(rt.host.instance_id)] != '-')
			continue;
		char path[700];
		snprintf(path, sizeof(path), "%s/%s/%s", base, de->d_name,
			 file);
		FILE *f = fopen(path, "r");
		if (f && fgets(out, (int)len, f))
			out[strcspn(out, "\n")] = '\0';
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
}

static void test_cgroup_limits_as_the_host_sees_them(void **s)
{
	(void)s;
	if (!(rt.be->capabilities & MONKEY_CAP_MEMORY) || !cgroup_v1()) {
		/* Nothing to see: the descriptor must not claim it. */
		assert_false(rt.be->capabilities & MONKEY_CAP_OOM_REPORT);
		return;
	}
	int p[2];
	assert_int_equal(pipe(p), 0);
	const char *argv[] = {"sleep", "30", NULL};
	struct bg b = {0};
	rt_request(&b.req, argv);
	b.req.cancel_fd = p[0];
	pthread_t t;
	pthread_create(&t, NULL, run_bg, &b);
	char mem[64] = "", memsw[64], pids[64], quota[64], period[64];
	for (int i = 0; i < 400 && !mem[0]; i++) {
		usleep(10 * 1000);
		cgroup_value("memory", "memory.limit_in_bytes", mem,
			     sizeof(mem));
	}
	cgroup_value("memory", "memory.memsw.limit_in_bytes", memsw,
		     sizeof(memsw));
	cgroup_value("pids", "pids.max", pids, sizeof(pids));
	cgroup_value("cpu", "cpu.cfs_quota_us", quota, sizeof(quota));
	cgroup_value("cpu", "cpu.cfs_period_us", period, sizeof(period));
	assert_int_equal(write(p[1], "x", 1), 1);
	pthread_join(t, NULL);
	close(p[0]);
	close(p[1]);
	assert_string_equal(mem, "268435456");
	if (memsw[0]) /* without swap accounting there is none */
		assert_string_equal(memsw, "268435456");
	assert_string_equal(pids, "50");
	assert_string_equal(quota, "50000");
	assert_string_equal(period, "100000");
	assert_int_equal(b.r.res.cancelled, 1);
	rt_run_free(&b.r);
	/* The groups go once the sandbox's init is reaped. */
	rt_sh("true", &b.r);
	rt_run_free(&b.r);
}

struct bg_on {
	void *st;
	struct monkey_exec_request req;
	struct rt_run r;
};

static void *run_bg_on(void *arg)
{
	struct bg_on *b = arg;
	rt_exec_on(b->st, &b->req, &b->r);
	return NULL;
}

/* Two states of one process (two executors of a program, or monkey
 * sandbox verify's probes) run commands at the same time: each gets a
 * cgroup of its own. */
static void test_two_states_run_commands_at_once(void **s)
{
	(void)s;
	struct bg_on b[2];
	pthread_t t[2];
	const char *argv[] = {"sh", "-c", "sleep 0.3; echo ok", NULL};
	memset(b, 0, sizeof(b));
	for (int i = 0; i < 2; i++) {
		struct monkey_error err = {0};
		assert_int_equal(rt.be->init(&rt.host, NULL, &b[i].st, &err),
				 0);
		rt_request(&b[i].req, argv);
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, run_bg_on, &b[i]);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		if (b[i].r.rc != 0)
			fail_msg("state %d: %s", i, b[i].r.err.message);
		assert_int_equal(b[i].r.res.exit_code, 0);
		assert_string_equal(b[i].r.out, "ok\n");
		rt_run_free(&b[i].r);
		rt.be->fini(b[i].st);
	}
}

/* Without cgroups the pids limit is RLIMIT_NPROC, counted in a user
 * namespace of the command's own. */
static void test_pids_limit_without_cgroups_is_nproc(void **s)
{
	(void)s;
	if (rt.be->capabilities & MONKEY_CAP_MEMORY)
		return; /* cgroups: pids.max, see the test above */
	struct rt_run r;
	rt_sh("grep 'Max processes' /proc/self/limits | tr -s ' '", &r);
	assert_ran_ok(&r);
	assert_out(&r, "Max processes 50 50 processes \n");
	rt_run_free(&r);
}

/* The host must keep working while the bomb runs: it forks meanwhile. */
static void *fork_on_host(void *arg)
{
	int *ok = arg;
	usleep(300 * 1000);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	int st = 0;
	*ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st);
	return NULL;
}

static void test_fork_bomb_is_contained(void **s)
{
	(void)s;
	const char *marker = rt_marker();
	const char *argv[] = {rt_program("rootless/rootless_helper"), "forks", "5000",
			      marker, NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	int host_ok = 0;
	pthread_t t;
	pthread_create(&t, NULL, fork_on_host, &host_ok);
	rt_request(&req, argv);
	rt_exec(&req, &r);
	pthread_join(t, NULL);
	assert_ran_ok(&r);
	assert_int_equal(host_ok, 1);
	int forked = -1;
	char why[128] = "";
	if (sscanf(r.out, "forked %d %127[^\n]", &forked, why) != 2)
		fail_msg("unexpected output \"%s\" (%s)", r.out, r.errout);
	/* init and the helper itself count too */
	assert_true(forked > 0 && forked <= 48);
	assert_string_equal(why, strerror(EAGAIN));
	if (rt.be->capabilities & MONKEY_CAP_OOM_REPORT)
		assert_true(r.res.limits_hit & MONKEY_LIMIT_PIDS);
	assert_int_equal(rt_count_marked(marker), 0);
	rt_run_free(&r);
}

static void test_memory_hog_reports_oom_killed(void **s)
{
	(void)s;
	/* dd's 64 MiB block buffer is filled: far over 16 MiB. */
	const char *argv[] = {"dd",	"if=/dev/zero", "of=/dev/null",
			      "bs=64M", "count=4",	NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.memory_bytes = 16u << 20;
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	if (rt.be->capabilities & MONKEY_CAP_OOM_REPORT) {
		assert_int_equal(r.res.oom_killed, MONKEY_YES);
		assert_int_equal(r.res.signal, 9);
	} else {
		/* An address-space limit: the allocation fails, nothing
		 * is killed, and nothing is claimed about OOM. */
		assert_int_equal(r.res.oom_killed, MONKEY_UNKNOWN);
		assert_int_not_equal(r.res.exit_code, 0);
	}
	rt_run_free(&r);
}

static void run_helper(const char *mode, const char *arg, struct rt_run *r)
{
	const char *argv[] = {rt_program("spawn/spawn_helper"), mode, arg,
			      NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	req.memory_bytes = 0; /* the figures, not the limit */
	req.cpus = 0;
	memset(r, 0, sizeof(*r));
	rt_exec(&req, r);
	assert_ran_ok(r);
	assert_int_equal(r->res.exit_code, 0);
}

/* Resource use (ABI 1.2), from the command's cgroup where it has one,
 * else from init's rusage: 64 MiB touched, and 300 ms of CPU. */
static void test_resource_use_of_known_commands(void **s)
{
	(void)s;
	struct rt_run r;
	run_helper("alloc", "67108864", &r);
	print_message("64 MiB touched: peak %lld KiB\n",
		      (long long)r.res.peak_memory_bytes / 1024);
	assert_true(r.res.peak_memory_bytes >= 64 << 20);
	assert_true(r.res.peak_memory_bytes <= 112 << 20);
	rt_run_free(&r);
	run_helper("spin", "300", &r);
	int64_t used = r.res.cpu_user_us + r.res.cpu_system_us;
	print_message("300 ms spin: user %lld us, system %lld us\n",
		      (long long)r.res.cpu_user_us,
		      (long long)r.res.cpu_system_us);
	assert_true(r.res.cpu_user_us >= 0 && r.res.cpu_system_us >= 0);
	assert_true(used >= 290 * 1000);
	assert_true(used <= 600 * 1000);
	rt_run_free(&r);
}

static void test_ordinary_exit_reports_no_oom(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("sh -c 'kill -9 $$'; exit $?", &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 137);
	assert_int_equal(r.res.oom_killed,
			 rt.be->capabilities & MONKEY_CAP_OOM_REPORT
			     ? MONKEY_NO
			     : MONKEY_UNKNOWN);
	rt_run_free(&r);
}

static void test_requested_rlimits_are_applied(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c",
			      "grep -E 'Max (cpu time|file size|open files)' "
			      "/proc/self/limits | tr -s ' ' | sed 's/ $//'",
			      NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.cpu_time_s = 7;
	req.file_size_bytes = 12345;
	req.open_files = 77;
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_out(&r, "Max cpu time 7 8 seconds\n"
			  "Max file size 12345 12345 bytes\n"
			  "Max open files 77 77 files\n");
	rt_run_free(&r);
}

static void test_file_size_limit_stops_the_writer(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c", "head -c 100000 /dev/zero > big",
			      NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.file_size_bytes = 1000;
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_int_not_equal(r.res.exit_code, 0);
	char path[700];
	snprintf(path, sizeof(path), "%s/big", rt_workspace);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= 1000);
	unlink(path);
	rt_run_free(&r);
}

int main(void)
{
	rt_setup_or_exit("test_rootless_limits");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroups_of_dead_monkeys_are_swept),
	    cmocka_unit_test(test_descriptor_says_what_is_enforced_here),
	    cmocka_unit_test(test_host_warns_about_what_is_not_enforced),
	    cmocka_unit_test(test_cgroup_limits_as_the_host_sees_them),
	    cmocka_unit_test(test_two_states_run_commands_at_once),
	    cmocka_unit_test(test_pids_limit_without_cgroups_is_nproc),
	    cmocka_unit_test(test_fork_bomb_is_contained),
	    cmocka_unit_test(test_memory_hog_reports_oom_killed),
	    cmocka_unit_test(test_ordinary_exit_reports_no_oom),
	    cmocka_unit_test(test_requested_rlimits_are_applied),
	    cmocka_unit_test(test_file_size_limit_stops_the_writer),
	    /* Last: a command that touches 64 MiB leaves its cgroup
	     * busy for a while after it ends. */
	    cmocka_unit_test(test_resource_use_of_known_commands),
	};
	int rc =
	    cmocka_run_group_tests_name("rootless limits", tests, NULL, NULL);
	rt_teardown();
	return rc;
}
