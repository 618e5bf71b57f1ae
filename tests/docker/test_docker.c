/* The docker backend against a real engine: what a command sees from inside
 * its container (hardening, limits, mounts, user, environment) and how one
 * command runs (status, streams, stdin, timeout, cancel, OOM, fork bomb).
 * Every test ends with no container of this process left. */
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
#include <json-c/json.h>

#include "docker_harness.h"

static void test_exit_status_and_streams_are_separate(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("echo out; echo err >&2; exit 3", &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 3);
	assert_int_equal(r.res.signal, 0);
	assert_int_equal(r.res.timed_out, 0);
	assert_out(&r, "out\n");
	assert_string_equal(r.errout, "err\n");
	dt_run_free(&r);
}

static void test_all_capabilities_are_dropped(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("grep -E '^Cap(Eff|Bnd|Prm|Inh|Amb):' /proc/self/status", &r);
	assert_ran_ok(&r);
	assert_non_null(strstr(r.out, "CapEff:\t0000000000000000"));
	assert_non_null(strstr(r.out, "CapBnd:\t0000000000000000"));
	assert_non_null(strstr(r.out, "CapPrm:\t0000000000000000"));
	dt_run_free(&r);
}

static void test_no_new_privileges_is_set(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("grep NoNewPrivs /proc/self/status", &r);
	assert_ran_ok(&r);
	assert_out(&r, "NoNewPrivs:\t1\n");
	dt_run_free(&r);
}

/* cgroup v1 paths first (this machine), then v2. */
static void test_pids_limit_is_applied(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat "
	      "/sys/fs/cgroup/pids.max",
	      &r);
	assert_ran_ok(&r);
	assert_out(&r, "50\n");
	dt_run_free(&r);
}

static void test_memory_limit_and_no_extra_swap(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
	      "cat /sys/fs/cgroup/memory.max; "
	      "cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes "
	      "2>/dev/null || "
	      "cat /sys/fs/cgroup/memory.swap.max 2>/dev/null || echo "
	      "no-swap-accounting",
	      &r);
	assert_ran_ok(&r);
	char first[64] = "", second[64] = "";
	sscanf(r.out, "%63s %63s", first, second);
	assert_string_equal(first, "268435456");
	/* v1 memsw counts memory+swap: equal means no swap on top.  v2's
	 * swap.max counts swap alone: 0. */
	if (strcmp(second, "no-swap-accounting"))
		assert_true(!strcmp(second, "268435456") ||
			    !strcmp(second, "0"));
	dt_run_free(&r);
}

static void test_cpu_quota_is_half_a_cpu(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then "
	      "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat "
	      "/sys/fs/cgroup/cpu/cpu.cfs_period_us); "
	      "else cat /sys/fs/cgroup/cpu.max; fi",
	      &r);
	assert_ran_ok(&r);
	long quota = 0, period = 0;
	assert_int_equal(sscanf(r.out, "%ld %ld", &quota, &period), 2);
	assert_true(period > 0);
	assert_int_equal(quota * 2, period);
	dt_run_free(&r);
}

static void test_ulimits_are_set_explicitly(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("grep -E 'Max (open files|processes)' /proc/self/limits", &r);
	assert_ran_ok(&r);
	char *files = strstr(r.out, "Max open files");
	char *procs = strstr(r.out, "Max processes");
	assert_non_null(files);
	assert_non_null(procs);
	long soft = 0, hard = 0;
	assert_int_equal(sscanf(files, "Max open files %ld %ld", &soft, &hard),
			 2);
	assert_int_equal(soft, 1024);
	assert_int_equal(hard, 4096);
	assert_int_equal(sscanf(procs, "Max processes %ld %ld", &soft, &hard),
			 2);
	assert_int_equal(soft, 4096);
	assert_int_equal(hard, 4096);
	dt_run_free(&r);
}

static void test_only_loopback_interface_exists(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("ls /sys/class/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr "
	      "-d ' '",
	      &r);
	assert_ran_ok(&r);
	assert_out(&r, "lo\nlo\n");
	dt_run_free(&r);
}

/* The peer's address on the test network, from its inspect answer. */
static void peer_address(const char *id, const char *net, char *ip, size_t n)
{
	char path[256], *body = NULL;
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	assert_int_equal(dt_api("GET", path, NULL, &body), 200);
	json_object *o = json_tokener_parse(body);
	free(body);
	json_object *ns = NULL, *nets = NULL, *ep = NULL, *addr = NULL;
	assert_true(json_object_object_get_ex(o, "NetworkSettings", &ns) &&
		    json_object_object_get_ex(ns, "Networks", &nets) &&
		    json_object_object_get_ex(nets, net, &ep) &&
		    json_object_object_get_ex(ep, "IPAddress", &addr));
	snprintf(ip, n, "%s", json_object_get_string(addr));
	json_object_put(o);
	assert_true(ip[0] != '\0');
}

/* Network isolation seen from inside, not from the engine's settings:
 * CI's engine has no bridge, so there a networked container would see
 * only lo too.  The test makes a network of its own with no route out
 * (Internal: nothing leaves the machine) and a peer on it that answers
 * "pong", and tells the backend to attach --network there.  A command
 * with the network reaches the peer (the positive control); one without
 * has only lo and cannot. */
static void test_network_isolation_is_seen_from_inside(void **s)
{
	(void)s;
	char net[64], json[1024], path[256], ip[64], script[512];
	char *body = NULL;
	snprintf(net, sizeof(net), "monkey-dt-net-%d", (int)getpid());
	snprintf(json, sizeof(json),
		 "{\"Name\":\"%s\",\"Internal\":true,\"CheckDuplicate\":true}",
		 net);
	assert_int_equal(dt_api("POST", "/networks/create", json, NULL), 201);
	snprintf(json, sizeof(json),
		 "{\"Image\":\"%s\",\"Cmd\":[\"sh\",\"-c\",\"while :; do "
		 "echo pong | nc -l -p 7; done\"],\"HostConfig\":{"
		 "\"NetworkMode\":\"%s\",\"Ulimits\":[{\"Name\":\"nofile\","
		 "\"Soft\":1024,\"Hard\":1024},{\"Name\":\"nproc\",\"Soft\":"
		 "4096,\"Hard\":4096}]},\"NetworkingConfig\":{"
		 "\"EndpointsConfig\":{\"%s\":{}}}}",
		 dt_image, net, net);
	assert_int_equal(dt_api("POST", "/containers/create", json, &body),
			 201);
	json_object *o = json_tokener_parse(body);
	free(body);
	json_object *idv = NULL;
	assert_true(json_object_object_get_ex(o, "Id", &idv));
	char peer[128];
	snprintf(peer, sizeof(peer), "%s", json_object_get_string(idv));
	json_object_put(o);
	snprintf(path, sizeof(path), "/containers/%s/start", peer);
	long started = dt_api("POST", path, NULL, NULL);
	if (started == 204)
		peer_address(peer, net, ip, sizeof(ip));

	void *st = NULL;
	struct monkey_error err = {0};
	snprintf(json, sizeof(json),
		 "{\"image\":\"%s\",\"pull\":\"never\",\"docker_network\":"
		 "\"%s\"}",
		 dt_image, net);
	assert_int_equal(dt_init(json, &st, &err), 0);
	snprintf(script, sizeof(script),
		 "ls /sys/class/net | grep -qvx lo && echo has-interface; "
		 "for i in 1 2 3 4 5 6; do nc -w 2 %s 7 </dev/null && exit 0; "
		 "sleep 0.5; done; echo unreachable",
		 started == 204 ? ip : "192.0.2.1");
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	struct dt_run on = {0}, off = {0};
	dt_request(&req, argv);
	req.network = 1;
	dt_exec(st, &req, &on);
	req.network = 0;
	dt_exec(st, &req, &off);
	dt_backend->fini(st);
	snprintf(path, sizeof(path), "/containers/%s?force=1", peer);
	dt_api("DELETE", path, NULL, NULL);
	snprintf(path, sizeof(path), "/networks/%s", net);
	dt_api("DELETE", path, NULL, NULL);

	assert_int_equal(started, 204);
	assert_ran_ok(&on);
	assert_out(&on, "has-interface\npong\n");
	assert_ran_ok(&off);
	assert_out(&off, "unreachable\n");
	dt_run_free(&on);
	dt_run_free(&off);
}

static void test_root_is_read_only_with_writable_exec_tmp(void **s)
{
	(void)s;
	const char *argv[] = {
	    "sh", "-c",
	    "touch /etc/rootfile 2>/dev/null && echo root-writable; "
	    "cp /bin/busybox /tmp/echo && /tmp/echo tmp-exec-ok",
	    NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.read_only_root = 1;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_out(&r, "tmp-exec-ok\n");
	dt_run_free(&r);
}

static void test_root_is_writable_without_read_only(void **s)
{
	(void)s;
	struct dt_run r;
	/* /etc: podman's API makes / itself mode 555. */
	dt_sh("touch /etc/rootfile && echo ok", &r);
	assert_ran_ok(&r);
	assert_out(&r, "ok\n");
	dt_run_free(&r);
}

/* The workspace has its host path inside the container (as with docker
 * run -v "$PWD:$PWD" -w "$PWD"): the working directory, files written
 * and absolute paths a tool prints are the host's. */
static void test_workspace_has_its_host_path_and_is_the_workdir(void **s)
{
	(void)s;
	char sub[512], file[600], want[2048];
	snprintf(sub, sizeof(sub), "%s/sub dir", dt_workspace);
	mkdir(sub, 0777);
	chmod(sub, 0777);
	/* A compiler names the file it complains about by the path it was
	 * given; find prints absolute paths the same way. */
	const char *argv[] = {"sh", "-c",
			      "pwd; mkdir -p src; echo 'int x' > src/x.c; "
			      "echo written > made-here; "
			      "find \"$PWD/src\" -name x.c; "
			      "readlink -f src/../made-here",
			      NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.workdir = sub;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	snprintf(want, sizeof(want), "%s\n%s/src/x.c\n%s/made-here\n", sub, sub,
		 sub);
	assert_out(&r, want);
	snprintf(file, sizeof(file), "%s/made-here", sub);
	FILE *f = fopen(file, "r");
	assert_non_null(f);
	char line[32] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "written\n");
	snprintf(file, sizeof(file), "%s/src/x.c", sub);
	assert_int_equal(access(file, F_OK), 0);
	dt_run_free(&r);
}

/* Write path with text (creating it). */
static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static void rm_tree(const char *path)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* Git on the host runs what .git/config and hooks say (core.fsmonitor):
 * a command in a container cannot change them unless --writable-git. */
static void test_git_is_read_only_unless_writable_git(void **s)
{
	(void)s;
	char git[300], config[320];
	snprintf(git, sizeof(git), "%s/.git", dt_workspace);
	snprintf(config, sizeof(config), "%s/config", git);
	assert_int_equal(mkdir(git, 0777), 0);
	chmod(git, 0777);
	put_file(config, "[core]\n");
	chmod(config, 0666);
	const char *argv[] = {
	    "sh", "-c",
	    "echo '\tfsmonitor = evil' >> .git/config 2>/dev/null && echo "
	    "wrote; mkdir .git/hooks 2>/dev/null && echo hooks; mv .git g2 "
	    "2>/dev/null && echo moved; echo done",
	    NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0}, w = {0};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	char after[4096];
	snprintf(after, sizeof(after), "%s", read_text(config));

	void *st = NULL;
	struct monkey_error err = {0};
	char cfg[256];
	snprintf(cfg, sizeof(cfg),
		 "{\"image\":\"%s\",\"pull\":\"never\",\"writableGit\":true}",
		 dt_image);
	assert_int_equal(dt_init(cfg, &st, &err), 0);
	dt_exec(st, &req, &w);
	dt_backend->fini(st);
	/* It wrote the config, then moved .git away. */
	char moved[320], moved_config[340], writable[4096];
	snprintf(moved, sizeof(moved), "%s/g2", dt_workspace);
	snprintf(moved_config, sizeof(moved_config), "%s/config", moved);
	snprintf(writable, sizeof(writable), "%s", read_text(moved_config));
	rm_tree(moved);
	rm_tree(git);

	assert_ran_ok(&r);
	assert_out(&r, "done\n");
	assert_string_equal(after, "[core]\n");
	assert_ran_ok(&w);
	assert_out(&w, "wrote\nhooks\nmoved\ndone\n");
	assert_string_equal(writable, "[core]\n\tfsmonitor = evil\n");
	dt_run_free(&r);
	dt_run_free(&w);
}

/* A git worktree's .git is a file: read-only too. */
static void test_git_file_of_a_worktree_is_read_only(void **s)
{
	(void)s;
	char git[300];
	snprintf(git, sizeof(git), "%s/.git", dt_workspace);
	put_file(git, "gitdir: /elsewhere/.git/worktrees/w\n");
	chmod(git, 0666);
	struct dt_run r;
	dt_sh("echo x >> .git 2>/dev/null && echo wrote; cat .git", &r);
	char after[4096];
	snprintf(after, sizeof(after), "%s", read_text(git));
	unlink(git);
	assert_ran_ok(&r);
	assert_out(&r, "gitdir: /elsewhere/.git/worktrees/w\n");
	assert_string_equal(after, "gitdir: /elsewhere/.git/worktrees/w\n");
	dt_run_free(&r);
}

/* A .git that is a symlink is left alone, never followed: pointing it at
 * a host directory must not mount that directory into the container. */
static void test_git_symlink_is_not_followed(void **s)
{
	(void)s;
	char git[300], secret[300], marker[330];
	snprintf(git, sizeof(git), "%s/.git", dt_workspace);
	snprintf(secret, sizeof(secret), "%s-secret", dt_workspace);
	snprintf(marker, sizeof(marker), "%s/host-only", secret);
	assert_int_equal(mkdir(secret, 0755), 0);
	put_file(marker, "host secret\n");
	assert_int_equal(symlink(secret, git), 0);
	struct dt_run r;
	dt_sh("cat .git/host-only 2>/dev/null; echo done", &r);
	unlink(git);
	unlink(marker);
	rmdir(secret);
	assert_ran_ok(&r);
	assert_out(&r, "done\n");
	dt_run_free(&r);
}

static void test_mounts_are_read_only_or_writable_as_asked(void **s)
{
	(void)s;
	char ro[300], rw[300], path[400];
	snprintf(ro, sizeof(ro), "%s-ro", dt_workspace);
	snprintf(rw, sizeof(rw), "%s-rw", dt_workspace);
	mkdir(ro, 0777);
	mkdir(rw, 0777);
	chmod(rw, 0777);
	snprintf(path, sizeof(path), "%s/given", ro);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("from host\n", f);
	fclose(f);

	struct monkey_mount mounts[] = {{ro, "/data/ro", 1},
					{rw, "/data/rw", 0}};
	const char *argv[] = {"sh", "-c",
			      "cat /data/ro/given; touch /data/ro/x "
			      "2>/dev/null && echo ro-writable; "
			      "echo hi > /data/rw/y && echo rw-ok",
			      NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.mounts = mounts;
	req.n_mounts = 2;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_out(&r, "from host\nrw-ok\n");
	snprintf(path, sizeof(path), "%s/y", rw);
	assert_int_equal(access(path, F_OK), 0);
	dt_run_free(&r);
	remove(path);
	snprintf(path, sizeof(path), "%s/given", ro);
	remove(path);
	rmdir(ro);
	rmdir(rw);
}

static void test_runs_as_invoking_user_by_default(void **s)
{
	(void)s;
	char want[64];
	struct dt_run r;
	dt_sh("echo $(id -u):$(id -g)", &r);
	assert_ran_ok(&r);
	snprintf(want, sizeof(want), "%u:%u\n", (unsigned)getuid(),
		 (unsigned)getgid());
	assert_out(&r, want);
	dt_run_free(&r);
}

static void test_runs_as_the_given_user(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c", "echo $(id -u):$(id -g)", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.user = "1234:5678";
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_out(&r, "1234:5678\n");
	dt_run_free(&r);
}

static void test_environment_has_only_named_variables_and_image_path(void **s)
{
	(void)s;
	const char *envp[] = {"PATH=/host/only/bin", "HOME=/host/home",
			      "LANG=C.UTF-8", "FOO=bar", NULL};
	const char *user_envp[] = {"FOO=bar", NULL};
	const char *argv[] = {"sh", "-c", "env | sort", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.envp = envp;
	req.user_envp = user_envp;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_non_null(strstr(r.out, "FOO=bar\n"));
	assert_non_null(strstr(r.out, "LANG=C.UTF-8\n"));
	assert_null(strstr(r.out, "/host/only/bin"));
	assert_null(strstr(r.out, "/host/home"));
	assert_non_null(strstr(r.out, "PATH=/bin\n"));
	dt_run_free(&r);
}

static void test_stdin_is_delivered_then_closed(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c", "cat; echo eof-seen", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.stdin_data = "line one\nline two\n";
	req.stdin_len = strlen(req.stdin_data);
	req.has_stdin = 1;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_out(&r, "line one\nline two\neof-seen\n");
	dt_run_free(&r);
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
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.stdin_data = data;
	req.stdin_len = n;
	req.has_stdin = 1;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.out_len, n);
	assert_memory_equal(r.out, data, n);
	free(data);
	dt_run_free(&r);
}

/* The engine drops the rest of stdin when the command exits early; that
 * is the command's end, not a broken stream. */
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
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.stdin_data = data;
	req.stdin_len = n;
	req.has_stdin = 1;
	dt_exec(NULL, &req, &r);
	free(data);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 0);
	/* podman may drop the last output when it tears such a stream down. */
	if (!dt_podman)
		assert_out(&r, "done\n");
	dt_run_free(&r);
}

static void test_without_stdin_the_command_reads_eof(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("cat; echo done", &r);
	assert_ran_ok(&r);
	assert_out(&r, "done\n");
	dt_run_free(&r);
}

static void test_megabytes_of_output_arrive_whole(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("head -c 3000000 /dev/zero; head -c 1000000 /dev/zero >&2", &r);
	assert_ran_ok(&r);
	assert_int_equal(r.out_len, 3000000);
	assert_int_equal(r.err_len, 1000000);
	dt_run_free(&r);
}

static void
test_timeout_kills_keeps_partial_output_and_removes_container(void **s)
{
	(void)s;
	const char *argv[] = {
	    "sh", "-c", "echo started; sleep 30 & sleep 30; echo never", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.timeout_ms = 1000;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.timed_out, 1);
	assert_int_equal(r.res.cancelled, 0);
	assert_out(&r, "started\n");
	assert_true(r.res.signal == 9 || r.res.signal == 15);
	assert_true(r.ms < 10000);
	dt_run_free(&r);
}

/* Closing its output does not let a command outlive its timeout. */
static void test_command_that_closes_its_output_still_times_out(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c",
			      "echo before; exec >&- 2>&-; sleep 30", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.timeout_ms = 1500;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.timed_out, 1);
	assert_out(&r, "before\n");
	assert_true(r.ms < 10000);
	dt_run_free(&r);
}

struct canceller {
	int fd;
	int delay_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	usleep((useconds_t)c->delay_ms * 1000);
	if (write(c->fd, "x", 1) != 1)
		abort();
	return NULL;
}

static void test_cancel_fd_stops_the_command(void **s)
{
	(void)s;
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct canceller c = {p[1], 800};
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, &c);
	const char *argv[] = {"sh", "-c", "echo started; sleep 30", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.cancel_fd = p[0];
	dt_exec(NULL, &req, &r);
	pthread_join(t, NULL);
	assert_ran_ok(&r);
	assert_int_equal(r.res.cancelled, 1);
	assert_int_equal(r.res.timed_out, 0);
	assert_out(&r, "started\n");
	assert_true(r.ms < 10000);
	close(p[0]);
	close(p[1]);
	dt_run_free(&r);
}

static void test_already_cancelled_request_starts_nothing(void **s)
{
	(void)s;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	const char *argv[] = {"sh", "-c", "echo ran", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.cancel_fd = p[0];
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.cancelled, 1);
	assert_out(&r, "");
	close(p[0]);
	close(p[1]);
	dt_run_free(&r);
}

static void test_output_sink_stop_ends_the_command(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c", "while :; do echo spam; done", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {.stop_after = 10000};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.cancelled, 1);
	assert_true(r.ms < 10000);
	dt_run_free(&r);
}

/* A command that floods output once told to stop, into a sink that has
 * had enough: the rest is dropped and SIGKILL still follows the grace. */
static void test_flood_after_sigterm_into_a_full_sink_still_ends(void **s)
{
	(void)s;
	const char *argv[] = {
	    "sh", "-c",
	    "trap 'while :; do echo bye; done' TERM; sleep 30 & wait", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {.stop_after = 100000};
	dt_request(&req, argv);
	req.timeout_ms = 1000;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.timed_out, 1);
	assert_true(r.ms < 10000);
	dt_run_free(&r);
}

static void test_memory_hog_reports_oom_killed(void **s)
{
	(void)s;
	/* dd's 64 MiB block buffer is filled from /dev/zero: far over 16 MiB,
	 * at once.  Without the launcher the answer is the engine's, and on
	 * a loaded machine docker was seen to miss a kill in the container's
	 * first milliseconds altogether (OOMKilled false, no oom event even a
	 * second later): it learns of OOM kills by watching the cgroup, which
	 * it may not do yet.  There the hog waits a little first; the
	 * launcher reads the kernel's own count and needs no wait. */
	const char *now[] = {"dd",     "if=/dev/zero", "of=/dev/null",
			     "bs=64M", "count=4",      NULL};
	const char *later[] = {
	    "sh", "-c",
	    "sleep 0.5; exec dd if=/dev/zero of=/dev/null bs=64M count=4",
	    NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, dt_launcher ? now : later);
	req.memory_bytes = 16u << 20;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	/* podman reports no OOM kill; the launcher reads the cgroup's. */
	if (dt_podman && !dt_launcher) {
		assert_int_equal(r.res.oom_killed, MONKEY_UNKNOWN);
	} else if (r.res.oom_killed != MONKEY_YES || r.res.signal != 9) {
		fail_msg("want an OOM kill (signal 9), got exit %d, signal %d, "
			 "oom %d, timed out %d, stderr: %s",
			 r.res.exit_code, r.res.signal, r.res.oom_killed,
			 r.res.timed_out, r.errout ? r.errout : "");
	}
	assert_int_equal(r.res.timed_out, 0);
	dt_run_free(&r);
}

/* Status 137 without an OOM kill: the engine's event log is asked and
 * says no. */
static void test_sigkill_status_without_oom_reports_no_oom(void **s)
{
	(void)s;
	struct dt_run r;
	/* Not PID 1 itself: its own SIGKILL would be ignored. */
	dt_sh("sh -c 'kill -9 $$'; exit $?", &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 137);
	assert_int_equal(r.res.oom_killed, dt_podman && !dt_launcher
					       ? MONKEY_UNKNOWN
					       : MONKEY_NO);
	dt_run_free(&r);
}

static void test_ordinary_exit_reports_no_oom(void **s)
{
	(void)s;
	struct dt_run r;
	dt_sh("true", &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 0);
	assert_int_equal(r.res.oom_killed, dt_podman && !dt_launcher
					       ? MONKEY_UNKNOWN
					       : MONKEY_NO);
	dt_run_free(&r);
}

/* The host must keep working while the bomb runs: it forks a process of
 * its own meanwhile. */
static void *fork_on_host(void *arg)
{
	int *ok = arg;
	usleep(1500 * 1000);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	int st = 0;
	*ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st);
	return NULL;
}

/* The bomb forks until the pids limit refuses (pids.events counts the
 * refusals); the script then holds the limit for 3 s with shell builtins
 * only, since no fork can succeed, and reports the count it saw. */
static void test_fork_bomb_is_contained(void **s)
{
	(void)s;
	const char *script =
	    "d=/sys/fs/cgroup/pids; [ -f $d/pids.events ] || d=/sys/fs/cgroup; "
	    "b() { b & b & wait; }; b & "
	    "e='max 0'; while [ \"$e\" = 'max 0' ]; do read e < "
	    "$d/pids.events; done; "
	    "read n < $d/pids.current; "
	    "read t0 rest < /proc/uptime; t=$t0; "
	    "while [ ${t%.*} -lt $((${t0%.*} + 3)) ]; do read t rest < "
	    "/proc/uptime; done; "
	    "echo \"$n $e\"";
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	int host_ok = 0;
	pthread_t t;
	pthread_create(&t, NULL, fork_on_host, &host_ok);
	dt_request(&req, argv);
	req.timeout_ms = 20000;
	dt_exec(NULL, &req, &r);
	pthread_join(t, NULL);
	assert_ran_ok(&r);
	assert_int_equal(host_ok, 1);
	assert_int_equal(r.res.timed_out, 0);
	long n = -1, refused = -1;
	if (sscanf(r.out, "%ld max %ld", &n, &refused) != 2)
		fail_msg("unexpected output \"%s\"; stderr: %.300s", r.out,
			 r.errout);
	assert_true(n > 0 && n <= 50);
	assert_true(refused > 0);
	/* The launcher reads the same count: the result says so. */
	if (dt_launcher)
		assert_true(r.res.limits_hit & MONKEY_LIMIT_PIDS);
	else
		assert_true(r.res.limits_unknown & MONKEY_LIMIT_PIDS);
	dt_run_free(&r);
}

/* A build that forks past --pids fails with an ordinary status; only the
 * result's limits_hit tells why. */
static void test_forks_refused_at_the_pids_limit_are_reported(void **s)
{
	(void)s;
	const char *argv[] = {
	    "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 3 & done; wait",
	    NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.pids = 4;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	if (dt_launcher) {
		assert_int_equal(r.res.limits_hit, MONKEY_LIMIT_PIDS);
		assert_int_equal(r.res.limits_unknown, 0);
	} else {
		assert_int_equal(r.res.limits_hit, 0);
		assert_true(r.res.limits_unknown & MONKEY_LIMIT_PIDS);
	}
	dt_run_free(&r);
}

/* The same limits, not reached: no false alarm, and no "unknown" where
 * the launcher can tell. */
static void test_a_command_within_its_limits_reports_none(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c", "sleep 0.1 & sleep 0.1 & wait", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.pids = 8; /* the launcher, sh and two sleeps, with room */
	req.cpu_time_s = 5;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.exit_code, 0);
	assert_int_equal(r.res.limits_hit, 0);
	if (dt_launcher)
		assert_int_equal(r.res.limits_unknown, 0);
	dt_run_free(&r);
}

/* At its CPU-time limit the kernel kills the command (SIGKILL: the
 * engine sets the soft and hard limit alike); the result names the
 * limit. */
static void test_cpu_time_limit_kill_is_reported(void **s)
{
	(void)s;
	const char *argv[] = {"sh", "-c", "while :; do :; done", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.cpu_time_s = 1;
	req.cpus = 1;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	assert_int_equal(r.res.timed_out, 0);
	if (dt_launcher) {
		assert_int_equal(r.res.signal, SIGKILL);
		assert_int_equal(r.res.limits_hit, MONKEY_LIMIT_CPU_TIME);
	} else {
		assert_true(r.res.limits_unknown & MONKEY_LIMIT_CPU_TIME);
	}
	dt_run_free(&r);
}

/* Resource use (ABI 1.2), from the container's cgroup: 64 MiB written to
 * the tmpfs /tmp are charged to its memory, and a shell that spins until
 * it used 300 ms of CPU (as its own /proc/self/stat counts it, read by a
 * builtin so no other process runs) is charged at least that. */
static void test_resource_use_of_known_commands(void **s)
{
	(void)s;
	if (!dt_launcher)
		skip();
	const char *mem[] = {"sh", "-c",
			     "dd if=/dev/zero of=/tmp/x bs=1048576 count=64 "
			     "2>/dev/null",
			     NULL};
	const char *cpu[] = {"sh", "-c",
			     "while :; do read -r l </proc/self/stat; "
			     "set -- $l; [ $((${14}+${15})) -ge 30 ] && break; "
			     "done",
			     NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, mem);
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	print_message("64 MiB in /tmp: peak %lld KiB\n",
		      (long long)r.res.peak_memory_bytes / 1024);
	assert_true(r.res.peak_memory_bytes >= 64 << 20);
	assert_true(r.res.peak_memory_bytes <= 100 << 20);
	dt_run_free(&r);

	memset(&r, 0, sizeof(r));
	dt_request(&req, cpu);
	req.cpus = 1;
	dt_exec(NULL, &req, &r);
	assert_ran_ok(&r);
	int64_t used = r.res.cpu_user_us + r.res.cpu_system_us;
	print_message("300 ms spin: user %lld us, system %lld us\n",
		      (long long)r.res.cpu_user_us,
		      (long long)r.res.cpu_system_us);
	assert_true(r.res.cpu_user_us >= 0 && r.res.cpu_system_us >= 0);
	assert_true(used >= 290 * 1000);
	assert_true(used <= 800 * 1000);
	dt_run_free(&r);
}

struct bg_run {
	struct monkey_exec_request req;
	struct dt_run r;
};

static void *run_in_background(void *arg)
{
	struct bg_run *b = arg;
	dt_exec(NULL, &b->req, &b->r);
	return NULL;
}

static json_object *jpath(json_object *o, const char *a, const char *b)
{
	json_object *x = NULL, *y = NULL;
	if (!json_object_object_get_ex(o, a, &x))
		return NULL;
	if (!b)
		return x;
	return json_object_object_get_ex(x, b, &y) ? y : NULL;
}

static int array_has(json_object *arr, const char *s)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
		if (strstr(json_object_get_string(
			       json_object_array_get_idx(arr, i)),
			   s))
			return 1;
	return 0;
}

/* The same settings seen from the engine's side, on the running container. */
static void test_engine_sees_the_hardening(void **s)
{
	(void)s;
	int p[2];
	assert_int_equal(pipe(p), 0);
	const char *argv[] = {"sleep", "30", NULL};
	struct bg_run b = {0};
	dt_request(&b.req, argv);
	b.req.read_only_root = 1;
	b.req.cancel_fd = p[0];
	pthread_t t;
	pthread_create(&t, NULL, run_in_background, &b);
	char *body = NULL;
	for (int i = 0; !body && i < 200; i++) {
		usleep(50 * 1000);
		body = dt_inspect_running("sleep 30");
	}
	assert_int_equal(write(p[1], "x", 1), 1);
	pthread_join(t, NULL);
	close(p[0]);
	close(p[1]);
	assert_non_null(body);
	json_object *o = json_tokener_parse(body);
	free(body);
	assert_non_null(o);
	json_object *hc = jpath(o, "HostConfig", NULL);
	json_object *drop = jpath(hc, "CapDrop", NULL);
	/* podman lists the default set it dropped instead of "ALL". */
	assert_true(array_has(drop, "ALL") ||
		    (dt_podman && array_has(drop, "SETUID") &&
		     array_has(drop, "DAC_OVERRIDE") &&
		     array_has(drop, "CHOWN")));
	assert_true(
	    array_has(jpath(hc, "SecurityOpt", NULL), "no-new-privileges"));
	assert_int_equal(json_object_get_int64(jpath(hc, "Memory", NULL)),
			 256ll << 20);
	assert_int_equal(json_object_get_int64(jpath(hc, "MemorySwap", NULL)),
			 256ll << 20);
	assert_int_equal(json_object_get_int64(jpath(hc, "PidsLimit", NULL)),
			 50);
	assert_true(json_object_get_boolean(jpath(hc, "ReadonlyRootfs", NULL)));
	assert_string_equal(
	    json_object_get_string(jpath(hc, "NetworkMode", NULL)), "none");
	char user[64];
	snprintf(user, sizeof(user), "%u:%u", (unsigned)getuid(),
		 (unsigned)getgid());
	assert_string_equal(json_object_get_string(jpath(o, "Config", "User")),
			    user);
	json_object *labels = jpath(o, "Config", "Labels");
	json_object *owner = NULL;
	assert_true(
	    json_object_object_get_ex(labels, "monkey.sandbox", &owner));
	assert_string_equal(json_object_get_string(owner), dt_instance_id);
	json_object_put(o);
	assert_int_equal(b.r.rc, 0);
	assert_int_equal(b.r.res.cancelled, 1);
	dt_run_free(&b.r);
}

static void *run_one(void *arg)
{
	struct dt_run *r = arg;
	char script[64];
	snprintf(script, sizeof(script), "echo thread-%d", r->stop_after);
	int id = r->stop_after;
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	dt_request(&req, argv);
	r->stop_after = 0;
	dt_exec(NULL, &req, r);
	r->stop_after = id;
	return NULL;
}

static void test_concurrent_commands_on_one_state(void **s)
{
	(void)s;
	/* More commands than prestarted containers: the rest run cold. */
	dt_pool_allow_cold = 1;
	enum { N = 4 };
	struct dt_run runs[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		memset(&runs[i], 0, sizeof(runs[i]));
		runs[i].stop_after = i + 1; /* carries the thread's number */
		pthread_create(&t[i], NULL, run_one, &runs[i]);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof(want), "thread-%d\n", i + 1);
		assert_ran_ok(&runs[i]);
		assert_out(&runs[i], want);
		dt_run_free(&runs[i]);
	}
	dt_pool_allow_cold = 0;
}

#define T(f) cmocka_unit_test_teardown(f, dt_assert_no_containers)

int main(void)
{
	dt_setup_or_exit("test_docker");
	const struct CMUnitTest tests[] = {
	    T(test_exit_status_and_streams_are_separate),
	    T(test_all_capabilities_are_dropped),
	    T(test_no_new_privileges_is_set),
	    T(test_pids_limit_is_applied),
	    T(test_memory_limit_and_no_extra_swap),
	    T(test_cpu_quota_is_half_a_cpu),
	    T(test_ulimits_are_set_explicitly),
	    T(test_only_loopback_interface_exists),
	    T(test_network_isolation_is_seen_from_inside),
	    T(test_root_is_read_only_with_writable_exec_tmp),
	    T(test_root_is_writable_without_read_only),
	    T(test_workspace_has_its_host_path_and_is_the_workdir),
	    T(test_git_is_read_only_unless_writable_git),
	    T(test_git_file_of_a_worktree_is_read_only),
	    T(test_git_symlink_is_not_followed),
	    T(test_mounts_are_read_only_or_writable_as_asked),
	    T(test_runs_as_invoking_user_by_default),
	    T(test_runs_as_the_given_user),
	    T(test_environment_has_only_named_variables_and_image_path),
	    T(test_stdin_is_delivered_then_closed),
	    T(test_large_stdin_and_output_flow_together),
	    T(test_command_that_leaves_stdin_unread_ends_cleanly),
	    T(test_without_stdin_the_command_reads_eof),
	    T(test_megabytes_of_output_arrive_whole),
	    T(test_timeout_kills_keeps_partial_output_and_removes_container),
	    T(test_command_that_closes_its_output_still_times_out),
	    T(test_cancel_fd_stops_the_command),
	    T(test_already_cancelled_request_starts_nothing),
	    T(test_output_sink_stop_ends_the_command),
	    T(test_flood_after_sigterm_into_a_full_sink_still_ends),
	    T(test_memory_hog_reports_oom_killed),
	    T(test_sigkill_status_without_oom_reports_no_oom),
	    T(test_ordinary_exit_reports_no_oom),
	    T(test_fork_bomb_is_contained),
	    T(test_forks_refused_at_the_pids_limit_are_reported),
	    T(test_a_command_within_its_limits_reports_none),
	    T(test_cpu_time_limit_kill_is_reported),
	    T(test_resource_use_of_known_commands),
	    T(test_concurrent_commands_on_one_state),
	    T(test_engine_sees_the_hardening),
	};
	return cmocka_run_group_tests_name("docker backend", tests, NULL, NULL);
}
