/* When the rootless backend cannot run, its probe says why and what to do,
 * and the host falls back to spawn saying so.  Each case builds the
 * obstacle for real in a child process: user namespaces switched off by
 * user.max_user_namespaces (which each user namespace has its own copy
 * of), or forbidden by a seccomp filter as in a container. */
#include "config.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/exec.h>

#include "rootless_harness.h"

static int write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int r = fputs(data, f) < 0;
	return fclose(f) || r ? -1 : 0;
}

/* In a user namespace of its own (owning its copy of the user sysctls),
 * forbid any further user namespace. */
static int no_more_user_namespaces(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER) < 0)
		return -1;
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (write_file("/proc/self/gid_map", map) < 0)
		return -1;
	return write_file("/proc/sys/user/max_user_namespaces", "0");
}

/* What a container runtime's profile does: clone and unshare with
 * CLONE_NEWUSER fail with EPERM. */
static int seccomp_forbids_user_namespaces(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, args[0])),
	    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* In a child restricted by restrict_fn: the probe's message, or the
 * host's fallback warning when through_executor. */
static void probe_in_child(int (*restrict_fn)(void), int through_executor,
			   char *out, size_t len)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		char msg[2048] = "";
		struct monkey_error err = {0};
		void *st = NULL;
		if (restrict_fn() < 0)
			snprintf(msg, sizeof(msg), "restrict failed: %s",
				 strerror(errno));
		else if (!through_executor) {
			if (rt.be->init(&rt.host, NULL, &st, &err) == 0 &&
			    rt.be->probe(st, &err) == 0)
				snprintf(msg, sizeof(msg), "probe passed");
			else
				snprintf(msg, sizeof(msg), "%s", err.message);
		} else {
			/* spawn from the build tree, whatever the
			 * environment says. */
			char path[8192];
			const char *old = getenv("MONKEY_BACKEND_PATH");
			snprintf(path, sizeof(path),
				 "%s/plugins/spawn/.libs:%s/plugins/spawn:%s",
				 rt_builddir(), rt_builddir(), old ? old : "");
			setenv("MONKEY_BACKEND_PATH", path, 1);
			struct monkey_exec_options o;
			struct monkey_executor *ex = NULL;
			monkey_exec_options_init(&o);
			o.sandbox = "rootless";
			o.backend_dir = rt_module_dir();
			o.workspace = rt_workspace;
			if (monkey_executor_open(&o, &ex, &err) < 0)
				snprintf(msg, sizeof(msg), "open: %s",
					 err.message);
			else
				snprintf(msg, sizeof(msg), "%s %s",
					 monkey_executor_backend_name(ex),
					 monkey_executor_fallback_reason(ex));
			if (ex)
				monkey_executor_close(ex);
		}
		ssize_t n = write(p[1], msg, strlen(msg));
		_exit(n < 0);
	}
	close(p[1]);
	ssize_t n = read(p[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	print_message("probe said: %s\n", out);
}

static void test_probe_names_max_user_namespaces(void **s)
{
	(void)s;
	char msg[2048];
	probe_in_child(no_more_user_namespaces, 0, msg, sizeof(msg));
	assert_non_null(strstr(msg, "user.max_user_namespaces = 0"));
	assert_non_null(
	    strstr(msg, "sysctl -w user.max_user_namespaces=15000"));
}

static void test_probe_names_a_policy_that_refuses_user_namespaces(void **s)
{
	(void)s;
	char msg[2048];
	probe_in_child(seccomp_forbids_user_namespaces, 0, msg, sizeof(msg));
	/* (Which words depend on whether this looks like a container.) */
	assert_true(strstr(msg, "EPERM") ||
		    strstr(msg, "Operation not permitted"));
	assert_non_null(strstr(msg, "seccomp"));
}

static void test_host_falls_back_to_spawn_with_the_reason(void **s)
{
	(void)s;
#ifndef HAVE_BACKEND_SPAWN
	skip(); /* this build has no spawn backend to fall back to */
#endif
	char msg[2048];
	probe_in_child(no_more_user_namespaces, 1, msg, sizeof(msg));
	assert_int_equal(strncmp(msg, "spawn ", 6), 0);
	assert_non_null(strstr(msg, "user.max_user_namespaces = 0"));
}

static void test_probe_passes_here(void **s)
{
	(void)s;
	void *st = NULL;
	struct monkey_error err = {0};
	assert_int_equal(rt.be->init(&rt.host, NULL, &st, &err), 0);
	if (rt.be->probe(st, &err) < 0)
		fail_msg("%s", err.message);
	rt.be->fini(st);
}

int main(void)
{
	rt_setup_or_exit("test_rootless_probe");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_passes_here),
	    cmocka_unit_test(test_probe_names_max_user_namespaces),
	    cmocka_unit_test(
		test_probe_names_a_policy_that_refuses_user_namespaces),
	    cmocka_unit_test(test_host_falls_back_to_spawn_with_the_reason),
	};
	int rc =
	    cmocka_run_group_tests_name("rootless probe", tests, NULL, NULL);
	rt_teardown();
	return rc;
}
