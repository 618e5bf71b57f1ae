/* The docker backend's failures, against a real engine: each one reaches
 * the caller with the engine's own message and the errno the host maps to
 * 125/126/127; an unusable engine is explained in one line by probe; an
 * engine that goes away mid-command is an error, not a hang; containers of
 * dead monkey processes are swept.  No container of this process remains
 * after any test. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "docker_harness.h"

/* While set, copying a container id (64 hex digits) fails as if memory
 * ran out.  docker.so's strdup is this one: the program exports its
 * symbols (-rdynamic). */
static volatile int fail_id_copies;

char *strdup(const char *s)
{
	size_t n = strlen(s);
	if (fail_id_copies && n == 64 && strspn(s, "0123456789abcdef") == n) {
		errno = ENOMEM;
		return NULL;
	}
	char *d = malloc(n + 1);
	return d ? memcpy(d, s, n + 1) : NULL;
}

/* Init a state on docker_host (NULL: the environment's) and probe it. */
static int probe_with(const char *docker_host, const char *image,
		      struct monkey_error *err)
{
	char cfg[512];
	void *st = NULL;
	snprintf(
	    cfg, sizeof(cfg), "{\"image\":\"%s\",\"pull\":\"never\"%s%s%s}",
	    image ? image : dt_image, docker_host ? ",\"docker_host\":\"" : "",
	    docker_host ? docker_host : "", docker_host ? "\"" : "");
	int rc = dt_init(cfg, &st, err);
	assert_int_equal(rc, 0);
	rc = dt_backend->probe(st, err);
	dt_backend->fini(st);
	return rc;
}

static void test_descriptor_declares_what_docker_enforces(void **s)
{
	(void)s;
	uint32_t want = MONKEY_CAP_MEMORY | MONKEY_CAP_CPU | MONKEY_CAP_PIDS |
			MONKEY_CAP_NETWORK_ISOLATION | MONKEY_CAP_FS_ISOLATION |
			MONKEY_CAP_READ_ONLY_ROOT | MONKEY_CAP_MOUNTS |
			MONKEY_CAP_STDIN | MONKEY_CAP_TIMEOUT |
			MONKEY_CAP_KILL_TREE | MONKEY_CAP_CLEAN_ENV |
			MONKEY_CAP_USER | MONKEY_CAP_IMAGE |
			MONKEY_CAP_OOM_REPORT | MONKEY_CAP_CANCEL;
	assert_string_equal(dt_backend->name, "docker");
	assert_int_equal(dt_backend->abi_major, MONKEY_BACKEND_ABI_MAJOR);
	assert_int_equal(dt_backend->safety, MONKEY_SAFETY_HIGH);
	assert_int_equal(dt_backend->capabilities & want, want);
	assert_int_equal(dt_backend->capabilities & MONKEY_CAP_MEMORY_APPROX,
			 0);
	assert_non_null(dt_backend->details);
	assert_contains(dt_backend->details, "debian:bookworm-slim");
	/* The details say what the backend does now. */
	const char *d = dt_backend->details;
	assert_contains(d, "PID 1 of every container is monkey-launch");
	assert_contains(d, "bind-mounted at its own host path");
	assert_contains(d, "AutoRemove");
	assert_contains(d, ".git");
	assert_contains(d, "--writable-git");
	assert_contains(d, "forks refused at the pids limit");
	assert_contains(d, "provably gone");
	assert_contains(d, "Probing (monkey sandbox list and info) only looks");
	assert_null(strstr(d, "/workspace"));
	assert_null(strstr(d, "podman cannot tell"));
}

static void test_missing_program_is_enoent_with_engine_message(void **s)
{
	(void)s;
	const char *argv[] = {"no-such-program-xyz", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	assert_int_equal(r.rc, -ENOENT);
	assert_int_equal(r.err.code, -ENOENT);
	assert_contains(r.err.message, "no-such-program-xyz");
	assert_contains(r.err.message, "executable file not found");
	dt_run_free(&r);
}

static void test_missing_absolute_program_is_enoent(void **s)
{
	(void)s;
	const char *argv[] = {"/no/such/file", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	assert_int_equal(r.rc, -ENOENT);
	assert_contains(r.err.message, "/no/such/file");
	dt_run_free(&r);
}

static void test_directory_as_program_is_eacces(void **s)
{
	(void)s;
	const char *argv[] = {"/etc", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	assert_int_equal(r.rc, -EACCES);
	assert_contains(r.err.message, "permission denied");
	dt_run_free(&r);
}

static void test_bad_option_gives_the_engine_message(void **s)
{
	(void)s;
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.memory_bytes = 1u << 20; /* below what any engine accepts */
	dt_exec(NULL, &req, &r);
	assert_true(r.rc < 0);
	assert_true(r.rc != -ENOENT && r.rc != -EACCES && r.rc != -ENOEXEC);
	if (dt_podman)
		assert_contains(r.err.message, "memory limit");
	else
		assert_contains(r.err.message,
				"Minimum memory limit allowed is 6MB");
	dt_run_free(&r);
}

/* Pulls go to a registry on a closed loopback port: no traffic leaves the
 * machine, and the engine's reason is "connection refused". */
static void
test_missing_image_is_pulled_and_failure_names_image_and_reason(void **s)
{
	(void)s;
	const char *image = "127.0.0.1:1/monkey/absent:latest";
	void *st = NULL;
	struct monkey_error err = {0};
	assert_int_equal(dt_init("{\"pull\":\"missing\"}", &st, &err), 0);
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.image = image;
	dt_log_clear();
	dt_exec(st, &req, &r);
	dt_backend->fini(st);
	assert_true(r.rc < 0);
	assert_true(r.rc != -ENOENT && r.rc != -EACCES);
	assert_contains(r.err.message, image);
	assert_contains(r.err.message, "not present locally");
	assert_contains(r.err.message, "connection refused");
	assert_true(dt_log_contains("pulling it"));
	dt_run_free(&r);
}

static void test_missing_image_fails_probe_when_pulling_is_off(void **s)
{
	(void)s;
	struct monkey_error err = {0};
	/* The engine answered: an error, not "absent" (no fallback), that
	 * says how to get the image. */
	assert_int_equal(probe_with(NULL, "monkey-test:no-such-tag", &err),
			 -ENXIO);
	assert_contains(err.message, "monkey-test:no-such-tag");
	assert_contains(err.message, "not present locally");
	assert_contains(err.message, "docker pull monkey-test:no-such-tag");
	assert_contains(err.message, "--image");
}

static void test_invalid_image_name_is_refused(void **s)
{
	(void)s;
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.image = "bad image/../x?y";
	dt_exec(NULL, &req, &r);
	assert_int_equal(r.rc, -EINVAL);
	assert_contains(r.err.message, "not a valid image name");
	dt_run_free(&r);
}

static void test_probe_explains_missing_socket(void **s)
{
	(void)s;
	struct monkey_error err = {0};
	/* -ENODEV: no engine here, the host may fall back. */
	assert_int_equal(
	    probe_with("unix:///tmp/monkey-no-such-engine.sock", NULL, &err),
	    -ENODEV);
	assert_contains(err.message, "/tmp/monkey-no-such-engine.sock");
	assert_contains(err.message, "does not exist");
}

/* A socket file nobody listens on: a stopped engine leaves exactly that. */
static void test_probe_explains_stopped_engine(void **s)
{
	(void)s;
	char path[108], host[128];
	snprintf(path, sizeof(path), "/tmp/monkey-dt-dead-%d.sock",
		 (int)getpid());
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* bound, never listening: connect is refused */
	snprintf(host, sizeof(host), "unix://%s", path);
	struct monkey_error err = {0};
	assert_int_equal(probe_with(host, NULL, &err), -ENODEV);
	assert_contains(err.message, path);
	assert_contains(err.message, "connection refused");
	unlink(path);
}

static void test_probe_refuses_tcp_docker_host(void **s)
{
	(void)s;
	struct monkey_error err = {0};
	/* A setting monkey cannot use is not an absent engine. */
	int rc = probe_with("tcp://127.0.0.1:2375", NULL, &err);
	assert_true(rc < 0 && rc != -ENODEV);
	assert_contains(err.message, "tcp://127.0.0.1:2375");
	assert_contains(err.message, "unix socket");
}

/* As an unprivileged uid, a root-only socket gives "permission denied". */
static void test_probe_explains_permission_denied(void **s)
{
	(void)s;
	if (geteuid() != 0)
		skip();
	char dir[] = "/tmp/monkey-dt-perm-XXXXXX", path[80], host[160];
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/engine.sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	chmod(path, 0600);
	snprintf(host, sizeof(host), "unix://%s", path);

	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct monkey_error err = {0};
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		int rc = probe_with(host, NULL, &err);
		dprintf(p[1], "%d %s", rc, err.message);
		_exit(0);
	}
	close(p[1]);
	char msg[1200] = "";
	ssize_t n = read(p[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	close(fd);
	unlink(path);
	rmdir(dir);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_contains(msg, "permission denied");
	/* The engine is there but refuses us: not "absent", no fallback. */
	assert_int_equal(atoi(msg), -EPERM);
	assert_contains(msg, path);
}

static void test_invalid_configuration_is_refused(void **s)
{
	(void)s;
	void *st = NULL;
	struct monkey_error err = {0};
	assert_int_equal(dt_init("{\"image\": ", &st, &err), -EINVAL);
	assert_contains(err.message, "not a JSON object");
	assert_int_equal(dt_init("[1,2]", &st, &err), -EINVAL);
	assert_int_equal(dt_init("{\"pull\":\"sometimes\"}", &st, &err),
			 -EINVAL);
	assert_contains(err.message, "sometimes");
	/* Unknown keys are ignored. */
	assert_int_equal(dt_init("{\"pool\":3,\"whatever\":{}}", &st, &err), 0);
	dt_backend->fini(st);
}

/* A container this process could not keep track of (memory ran out) is
 * not left to chance: the command fails and the container is removed at
 * once; the teardown checks that none is left. */
static void test_untracked_container_is_removed_at_once(void **s)
{
	(void)s;
	void *st = NULL;
	struct monkey_error err = {0};
	assert_int_equal(dt_init("{\"pool\":0}", &st, &err), 0);
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	fail_id_copies = 1;
	dt_exec(st, &req, &r);
	fail_id_copies = 0;
	assert_int_equal(r.rc, -ENOMEM);
	assert_contains(r.err.message, "out of memory");
	dt_run_free(&r);
	dt_backend->fini(st);
}

static void test_workdir_outside_workspace_is_refused(void **s)
{
	(void)s;
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.workdir = "/etc";
	dt_exec(NULL, &req, &r);
	assert_int_equal(r.rc, -EINVAL);
	assert_contains(r.err.message, "not inside the workspace");
	dt_run_free(&r);
}

static void test_user_without_group_is_refused(void **s)
{
	(void)s;
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.user = "1000";
	dt_exec(NULL, &req, &r);
	assert_int_equal(r.rc, -EINVAL);
	assert_contains(r.err.message, "uid:gid");
	dt_run_free(&r);
}

static void test_exec_without_probe_connects_by_itself(void **s)
{
	(void)s;
	void *st = NULL;
	struct monkey_error err = {0};
	assert_int_equal(dt_init(NULL, &st, &err), 0);
	const char *argv[] = {"echo", "lazy", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(st, &req, &r);
	dt_backend->fini(st);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "lazy\n");
	dt_run_free(&r);
}

/* An engine that cannot run monkey-launch (here: a launcher whose
 * interpreter does not exist in the image) costs one warning, and the
 * commands run directly, the first one included. */
static void test_launcher_the_engine_cannot_run_falls_back_to_direct(void **s)
{
	(void)s;
	char dir[] = "/tmp/monkey-dt-XXXXXX";
	char path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/monkey-launch", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/nonexistent/interpreter\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	const char *old = getenv("MONKEY_DOCKER_LAUNCHER");
	char *saved = old ? strdup(old) : NULL;
	setenv("MONKEY_DOCKER_LAUNCHER", path, 1);
	void *st = NULL;
	struct monkey_error err = {0};
	int rc = dt_init(NULL, &st, &err);
	if (saved)
		setenv("MONKEY_DOCKER_LAUNCHER", saved, 1);
	else
		unsetenv("MONKEY_DOCKER_LAUNCHER");
	free(saved);
	assert_int_equal(rc, 0);
	const char *argv[] = {"sh", "-c", "echo $$", NULL};
	struct monkey_exec_request req;
	struct dt_run a = {0}, b = {0};
	dt_request(&req, argv);
	dt_exec(st, &req, &a);
	dt_exec(st, &req, &b);
	dt_backend->fini(st);
	unlink(path);
	rmdir(dir);
	assert_int_equal(a.rc, 0);
	assert_string_equal(a.out, "1\n"); /* the command is PID 1 */
	assert_int_equal(b.rc, 0);
	assert_string_equal(b.out, "1\n");
	assert_true(dt_log_contains("run monkey-launch"));
	dt_run_free(&a);
	dt_run_free(&b);
}

/* Copy file from to to (mode 0755). */
static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[65536];
	size_t n;
	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
	assert_int_equal(chmod(to, 0755), 0);
}

/* Lines in the file at path (0 when it does not exist). */
static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;
	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Stdout that reaches monkey before the launcher's ready line (a stdout
 * frame may overtake the stderr one, and here the container writes it
 * before the launcher even starts) is no reason to think the launcher
 * never ran: the command runs exactly once, and its output is its own. */
static void
test_stdout_before_the_ready_line_never_runs_a_command_twice(void **s)
{
	(void)s;
	const char *real = dt_built_launcher();
	if (!real)
		skip(); /* this build has no monkey-launch */
	static const size_t sizes[] = {8192, 1 << 20};
	char copy[512], script[512], count[512];
	snprintf(copy, sizeof(copy), "%s/.launch-real", dt_workspace);
	snprintf(count, sizeof(count), "%s/ran-count", dt_workspace);
	copy_file(real, copy);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(script, sizeof(script), "%s-launch.sh", dt_workspace);
		FILE *f = fopen(script, "w");
		assert_non_null(f);
		/* The working directory is the workspace root. */
		fprintf(f,
			"#!/bin/sh\nhead -c %zu /dev/zero\nexec "
			"./.launch-real\n",
			sizes[i]);
		fclose(f);
		assert_int_equal(chmod(script, 0755), 0);
		const char *old = getenv("MONKEY_DOCKER_LAUNCHER");
		char *saved = old ? strdup(old) : NULL;
		setenv("MONKEY_DOCKER_LAUNCHER", script, 1);
		void *st = NULL;
		struct monkey_error err = {0};
		char cfg[256];
		snprintf(cfg, sizeof(cfg),
			 "{\"image\":\"%s\",\"pull\":\"never\"}", dt_image);
		int rc = dt_init(cfg, &st, &err);
		if (saved)
			setenv("MONKEY_DOCKER_LAUNCHER", saved, 1);
		else
			unsetenv("MONKEY_DOCKER_LAUNCHER");
		free(saved);
		assert_int_equal(rc, 0);
		unlink(count);
		const char *argv[] = {"sh", "-c",
				      "echo ran >> ran-count; echo out; "
				      "echo err >&2",
				      NULL};
		struct monkey_exec_request req;
		struct dt_run r = {0};
		dt_request(&req, argv);
		dt_exec(st, &req, &r);
		dt_backend->fini(st);
		unlink(script);
		if (count_lines(count) != 1)
			fail_msg("with %zu bytes before the ready line the "
				 "command ran %d times (rc %d: %s)",
				 sizes[i], count_lines(count), r.rc,
				 r.err.message);
		assert_int_equal(r.rc, 0);
		assert_string_equal(r.out, "out\n");
		assert_string_equal(r.errout, "err\n");
		dt_run_free(&r);
	}
	unlink(count);
	unlink(copy);
}

static size_t put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return 4;
}

static size_t put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	return 4 + put_be32(p + 4, (uint32_t)v);
}

static size_t put_s(unsigned char *p, const char *s)
{
	size_t l = strlen(s);
	put_be32(p, (uint32_t)l);
	memcpy(p + 4, s, l);
	return 4 + l;
}

/* The launcher refuses to run the command when the path it is to guard
 * (the workspace's .git) is not a read-only mount of the inode monkey
 * looked at: an engine that mounted something swapped in meanwhile. */
static void test_launcher_refuses_a_git_that_is_not_the_guarded_mount(void **s)
{
	(void)s;
	const char *launcher = dt_built_launcher();
	if (!launcher)
		skip(); /* this build has no monkey-launch */
	char dir[] = "/tmp/monkey-dt-guard-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct stat sb;
	assert_int_equal(stat(dir, &sb), 0);
	unsigned char hdr[1024], *p = hdr;
	memcpy(p, "MKL3", 4);
	p += 4;
	p += put_be32(p, 0);
	p += put_s(p, "n0nce");
	p += put_s(p, "");
	p += put_be32(p, 1); /* a writable directory, though the right one */
	p += put_s(p, dir);
	p += put_be64(p, (uint64_t)sb.st_dev);
	p += put_be64(p, (uint64_t)sb.st_ino);
	p += put_be32(p, 2);
	p += put_s(p, "touch");
	char ran[300];
	snprintf(ran, sizeof(ran), "%s/ran", dir);
	p += put_s(p, ran);
	p += put_be64(p, 0);
	int in[2], err[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(err), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(err[1], 2);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		close(in[1]);
		close(err[0]);
		execl(launcher, "monkey-launch", (char *)NULL);
		_exit(99);
	}
	close(in[0]);
	close(err[1]);
	assert_int_equal(write(in[1], hdr, (size_t)(p - hdr)), p - hdr);
	char out[4096] = "";
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(out) - 1 &&
	       (r = read(err[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(in[1]);
	close(err[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	int touched = access(ran, F_OK) == 0;
	unlink(ran);
	rmdir(dir);
	assert_false(touched);
	assert_contains(out, "\036monkey-launch:n0nce:fail:");
	assert_contains(out, "is not the read-only mount monkey set up");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 125);
}

/* Deletion may trail the answer, but never the backend's fini. */
static void test_fini_returns_only_when_every_container_is_gone(void **s)
{
	(void)s;
	void *st = NULL;
	struct monkey_error err = {0};
	assert_int_equal(dt_init(NULL, &st, &err), 0);
	for (int i = 0; i < 3; i++) {
		const char *argv[] = {"true", NULL};
		struct monkey_exec_request req;
		struct dt_run r = {0};
		dt_request(&req, argv);
		dt_exec(st, &req, &r);
		assert_int_equal(r.rc, 0);
		dt_run_free(&r);
	}
	dt_backend->fini(st);
	assert_int_equal(dt_count_containers(dt_instance_id), 0);
}

/* ---- a unix-socket proxy in front of the real engine, to make the
 * engine "go away" in the middle of a command ---- */

struct proxy {
	char path[108];
	int lfd;
	_Atomic int dead;   /* set: every connection is cut */
	_Atomic int active; /* shuttle threads still running */
	pthread_t thread;
};

static int connect_engine(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", dt_socket());
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct pair {
	struct proxy *px;
	int a, b;
};

static void *shuttle(void *arg)
{
	struct pair *pr = arg;
	char buf[65536];
	int open_a = 1, open_b = 1;
	while (open_a || open_b) {
		struct pollfd p[2] = {{pr->a, open_a ? POLLIN : 0, 0},
				      {pr->b, open_b ? POLLIN : 0, 0}};
		if (poll(p, 2, 200) < 0 || pr->px->dead)
			break;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int from = i ? pr->b : pr->a, to = i ? pr->a : pr->b;
			ssize_t n = read(from, buf, sizeof(buf));
			if (n <= 0) {
				shutdown(to, SHUT_WR);
				if (i)
					open_b = 0;
				else
					open_a = 0;
			} else if (write(to, buf, (size_t)n) != n) {
				open_a = open_b = 0;
			}
		}
	}
	shutdown(pr->a, SHUT_RDWR);
	shutdown(pr->b, SHUT_RDWR);
	close(pr->a);
	close(pr->b);
	pr->px->active--;
	free(pr);
	return NULL;
}

static void *proxy_main(void *arg)
{
	struct proxy *px = arg;
	for (;;) {
		int c = accept(px->lfd, NULL, NULL);
		if (c < 0 || px->dead) {
			if (c >= 0)
				close(c);
			return NULL;
		}
		int e = connect_engine();
		if (e < 0) {
			close(c);
			continue;
		}
		struct pair *pr = malloc(sizeof(*pr));
		*pr = (struct pair){px, c, e};
		pthread_t t;
		px->active++;
		if (pthread_create(&t, NULL, shuttle, pr) == 0) {
			pthread_detach(t);
		} else {
			px->active--;
			close(c);
			close(e);
			free(pr);
		}
	}
}

static void proxy_start(struct proxy *px)
{
	memset(px, 0, sizeof(*px)); /* also dead = active = 0 */
	snprintf(px->path, sizeof(px->path), "/tmp/monkey-dt-proxy-%d.sock",
		 (int)getpid());
	unlink(px->path);
	px->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", px->path);
	assert_int_equal(bind(px->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(px->lfd, 16), 0);
	pthread_create(&px->thread, NULL, proxy_main, px);
}

/* The engine "stops": the socket goes away and open connections break. */
static void proxy_kill(struct proxy *px)
{
	px->dead = 1;
	unlink(px->path);
	shutdown(px->lfd, SHUT_RDWR);
	close(px->lfd);
	pthread_join(px->thread, NULL);
	/* Shuttles notice within their poll period. */
	for (int i = 0; px->active > 0 && i < 100; i++)
		usleep(50 * 1000);
}

static void *kill_later(void *arg)
{
	usleep(1500 * 1000);
	proxy_kill(arg);
	return NULL;
}

static void test_engine_going_away_mid_command_is_an_error_not_a_hang(void **s)
{
	(void)s;
	struct proxy px;
	char host[160], cfg[256];
	proxy_start(&px);
	snprintf(host, sizeof(host), "unix://%s", px.path);
	snprintf(cfg, sizeof(cfg),
		 "{\"docker_host\":\"%s\",\"api_timeout_ms\":5000}", host);
	void *st = NULL;
	struct monkey_error err = {0};
	assert_int_equal(dt_init(cfg, &st, &err), 0);

	pthread_t killer;
	pthread_create(&killer, NULL, kill_later, &px);
	const char *argv[] = {"sh", "-c", "echo started; sleep 60", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	req.timeout_ms = 60000;
	dt_exec(st, &req, &r);
	pthread_join(killer, NULL);
	dt_backend->fini(st);

	assert_true(r.rc < 0);
	assert_true(r.ms < 20000);
	assert_string_equal(r.out, "started\n");
	assert_contains(r.err.message, px.path);
	/* The launcher saw its connection end and took the container down
	 * with it; a command run directly outlives the connection (the
	 * test removes it). */
	int left = dt_count_containers(dt_instance_id);
	for (int i = 0; dt_launcher && left > 0 && i < 100; i++) {
		usleep(50 * 1000);
		left = dt_count_containers(dt_instance_id);
	}
	assert_int_equal(left, dt_launcher ? 0 : 1);
	dt_remove_labelled(dt_instance_id);
	dt_run_free(&r);
}

/* ---- the start-up sweep ---- */

/* This machine's boot id and our PID namespace's inode. */
static void own_boot_and_pidns(char *boot, size_t blen, char *ns, size_t nlen)
{
	struct stat sb;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	assert_non_null(f);
	assert_non_null(fgets(boot, (int)blen, f));
	fclose(f);
	boot[strcspn(boot, "\n")] = '\0';
	assert_int_equal(stat("/proc/self/ns/pid", &sb), 0);
	snprintf(ns, nlen, "%llu", (unsigned long long)sb.st_ino);
}

/* A process of ours that existed and is gone: its pid and start time. */
static void dead_process(long *pid_out, unsigned long long *start_out)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	char stat_path[64], buf[1024];
	snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(stat_path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	for (int i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	assert_non_null(p);
	*start_out = strtoull(p + 1, NULL, 10);
	*pid_out = pid;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A container labelled as owned by (boot, pidns, pid, start). */
static void create_owned(const char *boot, const char *ns, long pid,
			 unsigned long long start, char *id, size_t idlen)
{
	char labels[512];
	/* monkey.sandbox is not "<pid>-<start>": a sweep of an older
	 * monkey running on this engine at the same time leaves these. */
	snprintf(labels, sizeof(labels),
		 "{\"monkey.sandbox\":\"dt-sweep-%ld-%llu\","
		 "\"monkey.owner.boot-id\":\"%s\","
		 "\"monkey.owner.pidns\":\"%s\","
		 "\"monkey.owner.pid\":\"%ld\","
		 "\"monkey.owner.start-time\":\"%llu\"}",
		 pid, start, boot, ns, pid, start);
	assert_int_equal(dt_create_with_labels(labels, id, idlen), 0);
}

struct owned {
	char dead[128];	    /* owner gone, our PID namespace */
	char rebooted[128]; /* owner of another boot */
	char other_ns[128]; /* owner alive in another PID namespace */
	char unlabelled[128];
};

static void create_the_owned(struct owned *o)
{
	char boot[64], ns[32];
	long pid;
	unsigned long long start;
	own_boot_and_pidns(boot, sizeof(boot), ns, sizeof(ns));
	dead_process(&pid, &start);
	create_owned(boot, ns, pid, start, o->dead, sizeof(o->dead));
	create_owned("00000000-0000-4000-8000-000000000000", ns, pid, start,
		     o->rebooted, sizeof(o->rebooted));
	/* Our own pid and start time, but in another namespace: there the
	 * pid names another process, whose life we cannot see. */
	create_owned(boot, "4026531999", pid, start, o->other_ns,
		     sizeof(o->other_ns));
	assert_int_equal(dt_create_labelled("not-an-instance-id", o->unlabelled,
					    sizeof(o->unlabelled)),
			 0);
}

static void remove_the_owned(struct owned *o)
{
	dt_remove_container(o->dead);
	dt_remove_container(o->rebooted);
	dt_remove_container(o->other_ns);
	dt_remove_container(o->unlabelled);
}

/* The sweep runs before the first command and removes only containers
 * whose owner is provably gone. */
static void test_sweep_removes_only_provably_orphaned_containers(void **s)
{
	(void)s;
	struct owned o;
	create_the_owned(&o);
	void *st = NULL;
	struct monkey_error err = {0};
	char cfg[256];
	snprintf(cfg, sizeof(cfg), "{\"image\":\"%s\",\"pull\":\"never\"}",
		 dt_image);
	assert_int_equal(dt_init(cfg, &st, &err), 0);
	dt_log_clear();
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(st, &req, &r);
	dt_backend->fini(st); /* waits for the sweep */
	int dead = dt_container_exists(o.dead);
	int rebooted = dt_container_exists(o.rebooted);
	int other_ns = dt_container_exists(o.other_ns);
	int unlabelled = dt_container_exists(o.unlabelled);
	remove_the_owned(&o);
	assert_int_equal(r.rc, 0);
	assert_int_equal(dead, 0);
	assert_int_equal(rebooted, 0);
	assert_int_equal(other_ns, 1);
	assert_int_equal(unlabelled, 1);
	dt_run_free(&r);
}

/* One round of probing with the orphans in place; says whether they were
 * still there afterwards. */
static int probe_round(int probed[3], struct monkey_error *err)
{
	struct owned o;
	create_the_owned(&o);
	void *st = NULL;
	dt_log_clear();
	/* The backend's default image (maybe missing: a note). */
	if (dt_init(NULL, &st, err) == 0) {
		probed[0] = dt_backend->probe(st, err);
		probed[1] = dt_backend->probe(st, err);
		dt_backend->fini(st);
	}
	/* An image that is missing: a note, and nothing pulled. */
	char cfg[256];
	snprintf(cfg, sizeof(cfg), "{\"image\":\"%s\"}",
		 "127.0.0.1:1/monkey/absent:probe");
	if (dt_init(cfg, &st, err) == 0) {
		memset(err, 0, sizeof(*err));
		probed[2] = dt_backend->probe(st, err);
		dt_backend->fini(st);
	}
	int kept =
	    dt_container_exists(o.dead) && dt_container_exists(o.rebooted);
	remove_the_owned(&o);
	return kept;
}

/* Probing (what monkey sandbox list and info do) looks and changes
 * nothing: no sweep, no pull.  The orphans are provably orphaned, so any
 * other monkey starting on the same engine meanwhile (a parallel test)
 * may rightly sweep them: a round where they vanished and this probe
 * logged no removal says nothing, and is tried again. */
static void test_probe_removes_nothing_and_pulls_nothing(void **s)
{
	(void)s;
	int probed[3] = {-1, -1, -1};
	struct monkey_error err = {0};
	int kept = 0;
	for (int round = 0; round < 3 && !kept; round++) {
		memset(&err, 0, sizeof(err));
		kept = probe_round(probed, &err);
		if (dt_log_contains("left behind"))
			break;
	}
	assert_int_equal(probed[0], 0);
	assert_int_equal(probed[1], 0);
	assert_int_equal(probed[2], 0);
	assert_false(dt_log_contains("left behind"));
	assert_int_equal(kept, 1);
	assert_int_equal(err.code, 0);
	assert_contains(err.message, "127.0.0.1:1/monkey/absent:probe");
	assert_contains(err.message, "not present locally");
	assert_false(dt_log_contains("pulling"));
}

#define T(f) cmocka_unit_test_teardown(f, dt_assert_no_containers)

int main(void)
{
	dt_setup_or_exit("test_docker_errors");
	const struct CMUnitTest tests[] = {
	    T(test_descriptor_declares_what_docker_enforces),
	    T(test_missing_program_is_enoent_with_engine_message),
	    T(test_missing_absolute_program_is_enoent),
	    T(test_directory_as_program_is_eacces),
	    T(test_bad_option_gives_the_engine_message),
	    T(test_missing_image_is_pulled_and_failure_names_image_and_reason),
	    T(test_missing_image_fails_probe_when_pulling_is_off),
	    T(test_invalid_image_name_is_refused),
	    T(test_probe_explains_missing_socket),
	    T(test_probe_explains_stopped_engine),
	    T(test_probe_refuses_tcp_docker_host),
	    T(test_probe_explains_permission_denied),
	    T(test_invalid_configuration_is_refused),
	    T(test_workdir_outside_workspace_is_refused),
	    T(test_user_without_group_is_refused),
	    T(test_exec_without_probe_connects_by_itself),
	    T(test_launcher_the_engine_cannot_run_falls_back_to_direct),
	    T(test_stdout_before_the_ready_line_never_runs_a_command_twice),
	    T(test_launcher_refuses_a_git_that_is_not_the_guarded_mount),
	    T(test_fini_returns_only_when_every_container_is_gone),
	    T(test_engine_going_away_mid_command_is_an_error_not_a_hang),
	    T(test_sweep_removes_only_provably_orphaned_containers),
	    T(test_probe_removes_nothing_and_pulls_nothing),
	    T(test_untracked_container_is_removed_at_once),
	};
	return cmocka_run_group_tests_name("docker backend errors", tests, NULL,
					   NULL);
}
