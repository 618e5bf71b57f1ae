/* The rootless backend seen from inside its sandbox: no capabilities,
 * no_new_privs, the seccomp filter, only loopback, a read-only root with a
 * writable workspace and fresh /tmp, the hidden home (a planted key stays
 * unreadable), /run and the engines' sockets, other processes and the
 * host's secrets out of sight, the --image root.  Run as root and as an
 * ordinary user (CI does both). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rootless_harness.h"

static char fake_home[600];

static void test_exit_status_and_streams_are_separate(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("echo out; echo err >&2; exit 3", &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 3);
	assert_int_equal(r.res.signal, 0);
	assert_out(&r, "out\n");
	assert_string_equal(r.errout, "err\n");
	rt_run_free(&r);
}

static void test_every_capability_set_is_empty(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status", &r);
	assert_ran_ok(&r);
	assert_out(&r, "CapInh:\t0000000000000000\n"
		       "CapPrm:\t0000000000000000\n"
		       "CapEff:\t0000000000000000\n"
		       "CapBnd:\t0000000000000000\n"
		       "CapAmb:\t0000000000000000\n");
	rt_run_free(&r);
}

static void test_no_new_privs_and_a_seccomp_filter(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status", &r);
	assert_ran_ok(&r);
	assert_out(&r, "NoNewPrivs:\t1\nSeccomp:\t2\n");
	rt_run_free(&r);
}

/* Each call Docker's default profile refuses fails with EPERM (the helper
 * tells the filter's refusal from any other failure; see its comment);
 * clone3 answers ENOSYS so that the C library falls back to clone. */
static void test_seccomp_refuses_what_docker_refuses(void **s)
{
	(void)s;
	const char *argv[] = {rt_program("rootless/rootless_helper"), "seccomp",
			      NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 0);
	int lines = 0;
	for (char *line = strtok(r.out, "\n"); line;
	     line = strtok(NULL, "\n"), lines++) {
		const char *want = strstr(line, "getpid")   ? "=ENOSYS"
				   : strstr(line, "clone3") ? "=ENOSYS"
							    : "=EPERM";
		if (!strstr(line, want))
			fail_msg("%s (wanted %s)", line, want);
	}
	assert_true(lines >= 30);
	rt_run_free(&r);
}

static void test_only_an_up_loopback_interface(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("ls /sys/class/net; tail -n +3 /proc/net/dev | cut -d: -f1 | "
	      "tr -d ' '; echo $(( $(cat /sys/class/net/lo/flags) & 1 ))",
	      &r);
	assert_ran_ok(&r);
	assert_out(&r, "lo\nlo\n1\n");
	rt_run_free(&r);
	const char *argv[] = {rt_program("rootless/rootless_helper"),
			      "loopback", NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	memset(&r, 0, sizeof(r));
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_out(&r, "loopback-ok\n");
	rt_run_free(&r);
}

/* With a pause between commands, as between an agent's, the backend has
 * the next network namespace ready before the command comes: it is set
 * up as one made for the command is. */
static void test_network_namespace_made_ahead_has_loopback_up(void **s)
{
	(void)s;
	for (int i = 0; i < 3; i++) {
		usleep(200 * 1000);
		struct rt_run r;
		rt_sh("ls /sys/class/net; echo $(( $(cat "
		      "/sys/class/net/lo/flags) & 1 ))",
		      &r);
		assert_ran_ok(&r);
		assert_out(&r, "lo\n1\n");
		rt_run_free(&r);
		const char *argv[] = {rt_program("rootless/rootless_helper"),
				      "loopback", NULL};
		struct monkey_exec_request req;
		rt_request(&req, argv);
		memset(&r, 0, sizeof(r));
		rt_exec(&req, &r);
		assert_ran_ok(&r);
		assert_out(&r, "loopback-ok\n");
		rt_run_free(&r);
	}
}

static void test_network_flag_shares_the_hosts_interfaces(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c",
			      "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d "
			      "' ' | sort",
			      NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.network = 1;
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	FILE *f = popen("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | "
			"sort",
			"r");
	char host[4096] = "";
	size_t n = fread(host, 1, sizeof(host) - 1, f);
	host[n] = '\0';
	pclose(f);
	assert_out(&r, host);
	rt_run_free(&r);
}

static void test_root_is_read_only_and_tmp_is_writable_and_exec(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh(
	    "for d in /etc /usr /bin /var /; do touch $d/rootfile 2>/dev/null "
	    "&& echo $d-writable; done; "
	    "cp /bin/true /tmp/t && /tmp/t && echo tmp-exec-ok; "
	    "echo x > /dev/shm/x && echo shm-ok",
	    &r);
	assert_ran_ok(&r);
	assert_out(&r, "tmp-exec-ok\nshm-ok\n");
	rt_run_free(&r);
}

/* Nothing a command leaves in /tmp or /dev/shm reaches the next.  In
 * session mode (test_rootless_in_session.sh) each rt_sh is a session of
 * its own, so this checks that a new session starts with both empty. */
static void test_tmp_and_dev_shm_are_fresh_for_each_command(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("echo left > /tmp/left && echo left > /dev/shm/left && cat "
	      "/tmp/left /dev/shm/left",
	      &r);
	assert_ran_ok(&r);
	assert_out(&r, "left\nleft\n");
	rt_run_free(&r);
	/* (A workspace in /tmp is there too: it is kept on the new one.) */
	rt_sh("ls -A /tmp /dev/shm | grep -x left; echo done", &r);
	assert_ran_ok(&r);
	assert_out(&r, "done\n");
	rt_run_free(&r);
}

static void test_workspace_is_writable_at_its_own_path(void **s)
{
	(void)s;
	char sub[700], file[800], want[800];
	snprintf(sub, sizeof(sub), "%s/sub dir", rt_workspace);
	mkdir(sub, 0755);
	const char *argv[] = {"sh", "-c", "pwd; echo written > made-here",
			      NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.workdir = sub;
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	snprintf(want, sizeof(want), "%s\n", sub);
	assert_out(&r, want);
	/* Written as the invoking user. */
	snprintf(file, sizeof(file), "%s/made-here", sub);
	struct stat sb;
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_uid, geteuid());
	assert_int_equal(sb.st_gid, getegid());
	rt_run_free(&r);
	unlink(file);
	rmdir(sub);
}

static void test_mounts_are_read_only_or_writable_and_may_be_new(void **s)
{
	(void)s;
	char ro[700], rw[700], path[800];
	/* (Sources in the workspace: gone with it whatever happens.) */
	snprintf(ro, sizeof(ro), "%s/src-ro", rt_workspace);
	snprintf(rw, sizeof(rw), "%s/src-rw", rt_workspace);
	mkdir(ro, 0755);
	mkdir(rw, 0755);
	snprintf(path, sizeof(path), "%s/given", ro);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("from host\n", f);
	fclose(f);
	/* Targets that do not exist on the host: made in the sandbox's own
	 * root, never on the host. */
	/* A single file may go into the sandbox's own /dev, where helpers
	 * such as monkey-probe are mounted. */
	struct monkey_mount mounts[] = {{ro, "/monkey-test/ro", 1},
					{rw, "/monkey-test/rw", 0},
					{path, "/dev/.monkey-test", 1}};
	const char *argv[] = {
	    "sh", "-c",
	    "cat /monkey-test/ro/given; touch "
	    "/monkey-test/ro/x 2>/dev/null && echo "
	    "ro-writable; echo hi > /monkey-test/rw/y && echo "
	    "rw-ok; cat /dev/.monkey-test",
	    NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.mounts = mounts;
	req.n_mounts = 3;
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_out(&r, "from host\nrw-ok\nfrom host\n");
	assert_int_equal(access("/monkey-test", F_OK), -1);
	rt_run_free(&r);
	snprintf(path, sizeof(path), "rm -rf '%s' '%s'", ro, rw);
	assert_int_equal(system(path), 0);
}

/* HOME names a home with a key in it (set before the backend loaded), in
 * /var/tmp, which the sandbox shows: a directory next to it is seen. */
static void test_home_is_hidden_and_a_planted_key_unreadable(void **s)
{
	(void)s;
	char cmd[2000];
	snprintf(cmd, sizeof(cmd),
		 "cat '%s/.ssh/id_ed25519' 2>/dev/null && echo key-read; "
		 "ls -A '%s'; ls -A '%s-next'; echo listed",
		 fake_home, fake_home, fake_home);
	struct rt_run r;
	rt_sh(cmd, &r);
	assert_ran_ok(&r);
	assert_out(&r, "visible\nlisted\n");
	rt_run_free(&r);
	/* Whoever runs monkey. */
	rt_sh("ls -A /root; echo listed", &r);
	assert_ran_ok(&r);
	assert_out(&r, "listed\n");
	rt_run_free(&r);
}

/* The engines' sockets (and the rest of /run) are not there. */
static void test_run_and_engine_sockets_are_hidden(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("for p in /var/run/docker.sock /run/docker.sock "
	      "/run/podman/podman.sock /run/containerd/containerd.sock "
	      "/run/dbus/system_bus_socket; do [ -e $p ] && echo $p; done; "
	      "ls -A /run /var/lib/docker /var/lib/containers 2>/dev/null; "
	      "echo done",
	      &r);
	assert_ran_ok(&r);
	assert_null(strstr(r.out, "sock"));
	assert_non_null(strstr(r.out, "done\n"));
	rt_run_free(&r);
}

static void test_host_processes_are_out_of_sight(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("ls /proc | grep -c '^[0-9]'", &r);
	assert_ran_ok(&r);
	/* init, sh, grep and ls */
	assert_true(atoi(r.out) <= 4);
	rt_run_free(&r);
}

#define SECRET "monkey-secret-d41d8cd98f00"

/* A secret in the host's environment (main put it there before this
 * program started) is in no environment the command can read: not its
 * own, not init's (a copy of the host's memory). */
static void test_secrets_are_absent_from_every_readable_environ(void **s)
{
	(void)s;
	assert_non_null(getenv("MONKEY_TEST_API_KEY"));
	const char *argv[] = {rt_program("rootless/rootless_helper"), "environ",
			      SECRET, NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	assert_null(strstr(r.out, "found in"));
	assert_non_null(strstr(r.out, " found 0\n"));
	assert_true(atoi(r.out + strlen("readable ")) >= 1);
	rt_run_free(&r);
}

/* The sandbox's init is a copy of the host process: its memory,
 * descriptors and command line are closed to the command, and it ignores
 * the command's signals. */
static void test_init_is_closed_to_the_command(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("cat /proc/1/environ >/dev/null 2>&1 && echo environ; "
	      "cat /proc/1/mem >/dev/null 2>&1 && echo mem; "
	      "readlink /proc/1/fd/* >/dev/null 2>&1 && echo fds; "
	      "readlink /proc/1/exe /proc/1/root >/dev/null 2>&1 && echo "
	      "links; "
	      "tr '\\0' '\\n' < /proc/1/cmdline | grep .; "
	      "kill -9 1; kill -TERM 1; sleep 0.2; echo alive",
	      &r);
	assert_ran_ok(&r);
	assert_out(&r, "monkey-init\nalive\n");
	rt_run_free(&r);
}

/* monkey's host makes itself impossible to dump (its memory holds the API
 * key), which makes its /proc files root's: an unprivileged host must
 * still probe and map its user into a new sandbox (the sandbox's first
 * process shares its memory), and be as undumpable as before afterwards.
 * As root the question does not arise; CI runs this as an ordinary
 * user too. */
static void test_an_undumpable_host_still_maps_its_user(void **s)
{
	(void)s;
	int was = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	assert_int_equal(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 0);
	void *st = NULL;
	struct monkey_error err = {0};
	assert_int_equal(rt.be->init(&rt.host, NULL, &st, &err), 0);
	if (rt.be->probe(st, &err) < 0)
		fail_msg("probe: %s", err.message);
	/* A state of its own: no user namespace made before to reuse. */
	const char *argv[] = {"id", "-u", NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	rt_exec_on(st, &req, &r);
	assert_ran_ok(&r);
	char want[32];
	snprintf(want, sizeof(want), "%u\n", (unsigned)geteuid());
	assert_out(&r, want);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	rt_run_free(&r);
	rt.be->fini(st);
	prctl(PR_SET_DUMPABLE, was, 0, 0, 0);
}

/* Run as root, the command is uid 0 without capabilities: sysctls that
 * check only the file's owner would be writable, as Docker knows; /proc/sys
 * is read-only (the hostname sysctl is the sandbox's own: harmless to
 * try). */
static void test_sysctls_are_read_only(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("echo changed > /proc/sys/kernel/hostname 2>/dev/null && echo "
	      "written; grep -c ' /proc/sys ro,' /proc/self/mountinfo",
	      &r);
	assert_ran_ok(&r);
	assert_null(strstr(r.out, "written"));
	if (rt_is_root())
		assert_out(&r, "1\n");
	rt_run_free(&r);
}

static void test_dev_is_minimal(void **s)
{
	(void)s;
	struct rt_run r;
	rt_sh("ls /dev | tr '\\n' ' '; echo; echo x > /dev/null && echo "
	      "null-ok; head -c 4 /dev/zero | wc -c; touch /dev/new "
	      "2>/dev/null && echo dev-writable",
	      &r);
	assert_ran_ok(&r);
	assert_out(&r, "fd full null ptmx pts random shm stderr stdin "
		       "stdout tty urandom zero \nnull-ok\n4\n");
	rt_run_free(&r);
}

/* A directory as the root file system (an exported image). */
static void test_image_directory_is_the_root(void **s)
{
	(void)s;
	if (access("/bin/busybox", X_OK) < 0)
		skip(); /* CI installs busybox-static */
	char rootfs[700], cmd[2000];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", rt_workspace);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/bin' '%s/etc' && cp /bin/busybox '%s/bin/' && "
		 "for t in sh cat ls echo touch pwd; do ln -s busybox "
		 "'%s'/bin/$t; done && echo from-image > '%s/etc/marker'",
		 rootfs, rootfs, rootfs, rootfs, rootfs);
	assert_int_equal(system(cmd), 0);
	const char *argv[] = {"sh", "-c",
			      "cat /etc/marker; ls /; touch /etc/x 2>/dev/null "
			      "&& echo writable; pwd",
			      NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.image = rootfs;
	req.envp = (const char *const[]){"PATH=/bin", NULL};
	rt_exec(&req, &r);
	assert_ran_ok(&r);
	char want[1200];
	/* The workspace and the tests' mount lie in the image at their own
	 * paths (under /tmp or wherever they are). */
	snprintf(want, sizeof(want), "from-image\n");
	assert_memory_equal(r.out, want, strlen(want));
	/* Lines of `ls /`: the image's own entries, whatever else the
	 * workspace and mount paths add (/tmp, /home, /check...). */
	assert_non_null(strstr(r.out, "\nbin\n"));
	assert_non_null(strstr(r.out, "\ndev\n"));
	assert_non_null(strstr(r.out, "\netc\n"));
	assert_null(strstr(r.out, "writable"));
	snprintf(want, sizeof(want), "%s\n", rt_workspace);
	assert_non_null(strstr(r.out, want));
	rt_run_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rootfs);
	assert_int_equal(system(cmd), 0);
}

static void test_image_that_is_not_a_directory_is_a_clear_error(void **s)
{
	(void)s;
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.image = "monkey-test:busybox";
	rt_exec(&req, &r);
	assert_int_equal(r.rc, -EINVAL);
	assert_non_null(strstr(r.err.message, "monkey-test:busybox is not a "
					      "directory"));
	rt_run_free(&r);
}

static void test_workspace_that_is_the_root_is_refused(void **s)
{
	(void)s;
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct rt_run r = {0};
	rt_request(&req, argv);
	req.workspace = "/";
	req.workdir = "/";
	rt_exec(&req, &r);
	assert_int_equal(r.rc, -EINVAL);
	assert_non_null(strstr(r.err.message, "the workspace is /"));
	rt_run_free(&r);
}

int main(int argc, char **argv)
{
	(void)argc;
	/* The secret goes into the environment this program starts with,
	 * where a process's environ shows it. */
	if (!getenv("MONKEY_TEST_API_KEY")) {
		setenv("MONKEY_TEST_API_KEY", SECRET, 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	/* A home with a key in it: the backend hides $HOME as well as the
	 * user's home from the password database. */
	snprintf(fake_home, sizeof(fake_home), "/var/tmp/monkey-home-XXXXXX");
	if (!mkdtemp(fake_home))
		return 1;
	char key[700];
	snprintf(key, sizeof(key), "%s-next", fake_home);
	mkdir(key, 0755);
	snprintf(key, sizeof(key), "%s-next/visible", fake_home);
	FILE *v = fopen(key, "w");
	if (!v)
		return 1;
	fclose(v);
	snprintf(key, sizeof(key), "%s/.ssh", fake_home);
	mkdir(key, 0700);
	snprintf(key, sizeof(key), "%s/.ssh/id_ed25519", fake_home);
	FILE *f = fopen(key, "w");
	if (!f)
		return 1;
	fputs("-----BEGIN OPENSSH PRIVATE KEY-----\n", f);
	fclose(f);
	setenv("HOME", fake_home, 1);
	rt_setup_or_exit("test_rootless");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exit_status_and_streams_are_separate),
	    cmocka_unit_test(test_an_undumpable_host_still_maps_its_user),
	    cmocka_unit_test(test_every_capability_set_is_empty),
	    cmocka_unit_test(test_no_new_privs_and_a_seccomp_filter),
	    cmocka_unit_test(test_seccomp_refuses_what_docker_refuses),
	    cmocka_unit_test(test_only_an_up_loopback_interface),
	    cmocka_unit_test(test_network_namespace_made_ahead_has_loopback_up),
	    cmocka_unit_test(test_network_flag_shares_the_hosts_interfaces),
	    cmocka_unit_test(
		test_root_is_read_only_and_tmp_is_writable_and_exec),
	    cmocka_unit_test(test_tmp_and_dev_shm_are_fresh_for_each_command),
	    cmocka_unit_test(test_workspace_is_writable_at_its_own_path),
	    cmocka_unit_test(
		test_mounts_are_read_only_or_writable_and_may_be_new),
	    cmocka_unit_test(test_home_is_hidden_and_a_planted_key_unreadable),
	    cmocka_unit_test(test_run_and_engine_sockets_are_hidden),
	    cmocka_unit_test(test_host_processes_are_out_of_sight),
	    cmocka_unit_test(
		test_secrets_are_absent_from_every_readable_environ),
	    cmocka_unit_test(test_init_is_closed_to_the_command),
	    cmocka_unit_test(test_sysctls_are_read_only),
	    cmocka_unit_test(test_dev_is_minimal),
	    cmocka_unit_test(test_image_directory_is_the_root),
	    cmocka_unit_test(
		test_image_that_is_not_a_directory_is_a_clear_error),
	    cmocka_unit_test(test_workspace_that_is_the_root_is_refused),
	};
	int rc =
	    cmocka_run_group_tests_name("rootless sandbox", tests, NULL, NULL);
	rt_teardown();
	char cmd[1500];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s-next'", fake_home,
		 fake_home);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
