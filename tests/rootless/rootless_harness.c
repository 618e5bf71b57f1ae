/* Shared fixture of the rootless backend tests (see rootless_harness.h). */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rootless_harness.h"

struct rt_backend rt;
char rt_workspace[512];

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[16384];

static void host_log(const struct monkey_host *h, int level, const char *fmt,
		     ...)
{
	(void)h;
	if (level < MONKEY_LOG_WARNING && !getenv("RT_VERBOSE"))
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (getenv("RT_VERBOSE"))
		fprintf(stderr, "log: %s\n", line);
	if (level < MONKEY_LOG_WARNING)
		return;
	pthread_mutex_lock(&log_lock);
	size_t used = strlen(log_buf);
	snprintf(log_buf + used, sizeof(log_buf) - used, "%s\n", line);
	pthread_mutex_unlock(&log_lock);
}

static int host_set_error(struct monkey_error *err, int code, const char *fmt,
			  ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->code = code;
	return code;
}

const char *rt_log(void) { return log_buf; }

void rt_log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_buf[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

const char *rt_builddir(void)
{
	static char dir[PATH_MAX];
	if (!dir[0]) {
		const char *d = getenv("MONKEY_BUILDDIR");
		if (!realpath(d ? d : MONKEY_BUILDDIR, dir))
			snprintf(dir, sizeof(dir), "%s",
				 d ? d : MONKEY_BUILDDIR);
	}
	return dir;
}

const char *rt_module_path(void)
{
	static char path[PATH_MAX + 64];
	const char *const where[] = {"plugins/rootless/.libs/rootless.so",
				     "plugins/rootless/rootless.so"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", rt_builddir(), where[i]);
		if (access(path, R_OK) == 0)
			break;
	}
	return path;
}

const char *rt_module_dir(void)
{
	static char dir[PATH_MAX + 64];
	snprintf(dir, sizeof(dir), "%s", rt_module_path());
	*strrchr(dir, '/') = '\0';
	return dir;
}

const char *rt_program(const char *name)
{
	static __thread char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/tests/%s", rt_builddir(), name);
	return path;
}

int rt_is_root(void) { return geteuid() == 0; }

static char tests_dir[PATH_MAX + 16];

static void remove_workspace(void)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rt_workspace);
	if (rt_workspace[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", rt_workspace);
}

static void skip_or_fail(const char *program, const char *why)
{
	const char *req = getenv("MONKEY_REQUIRE_ROOTLESS");
	int required = req && !strcmp(req, "1");
	fprintf(stderr, "%s: the rootless backend cannot run here: %s%s\n",
		program, why,
		required ? " (MONKEY_REQUIRE_ROOTLESS=1: failing)"
			 : " (skipped; MONKEY_REQUIRE_ROOTLESS=1 makes this a "
			   "failure)");
	exit(required ? 1 : 77);
}

void rt_setup_or_exit(const char *program)
{
	char why[1200];
	const char *path = rt_module_path();
	rt.dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!rt.dl) {
		snprintf(why, sizeof(why), "%s", dlerror());
		skip_or_fail(program, why);
	}
	monkey_backend_entry_fn entry =
	    (monkey_backend_entry_fn)dlsym(rt.dl, MONKEY_BACKEND_ENTRY_SYMBOL);
	if (!entry)
		skip_or_fail(program, "no entry symbol in rootless.so");
	rt.be = entry();
	rt.host = (struct monkey_host){
	    .struct_size = sizeof(rt.host),
	    .abi_major = MONKEY_BACKEND_ABI_MAJOR,
	    .abi_minor = MONKEY_BACKEND_ABI_MINOR,
	    .log = host_log,
	    .set_error = host_set_error,
	    .instance_id = "rt-0",
	    .module_path = path,
	};
	/* As monkey makes it ("<pid>-<start time>"), so that the backend
	 * sweeps what a test killed midway left behind. */
	static char instance[64];
	unsigned long long start = 0;
	FILE *sf = fopen("/proc/self/stat", "r");
	char statline[1024] = "";
	if (sf && fgets(statline, sizeof(statline), sf)) {
		char *p = strrchr(statline, ')');
		for (int i = 0; p && i < 20; i++)
			p = strchr(p + 1, ' ');
		if (p)
			start = strtoull(p + 1, NULL, 10);
	}
	if (sf)
		fclose(sf);
	snprintf(instance, sizeof(instance), "%ld-%llu", (long)getpid(), start);
	rt.host.instance_id = instance;
	struct monkey_error err = {0};
	if (rt.be->init(&rt.host, NULL, &rt.state, &err) < 0 ||
	    rt.be->probe(rt.state, &err) < 0)
		skip_or_fail(program, err.message);
	const char *tmp = getenv("TMPDIR");
	snprintf(rt_workspace, sizeof(rt_workspace), "%s/monkey-rt-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(rt_workspace))
		skip_or_fail(program, "cannot create a scratch directory");
	chmod(rt_workspace, 0755);
	atexit(remove_workspace);
	snprintf(tests_dir, sizeof(tests_dir), "%s/tests", rt_builddir());
	const char *session = getenv("MONKEY_TEST_SESSION");
	rt_in_session = session && atoi(session) > 0;
	if (rt_in_session)
		fprintf(stderr,
			"%s: each command runs as the second of a session "
			"(MONKEY_TEST_SESSION)\n",
			program);
}

void rt_teardown(void)
{
	if (rt.be && rt.state)
		rt.be->fini(rt.state);
	rt.state = NULL;
}

static const char *const default_env[] = {"PATH=/usr/bin:/bin", NULL};
static struct monkey_mount tests_mount;

void rt_request(struct monkey_exec_request *req, const char *const *argv)
{
	memset(req, 0, sizeof(*req));
	req->struct_size = sizeof(*req);
	req->argv = argv;
	req->envp = default_env;
	req->user_envp = default_env + 1;
	req->workspace = rt_workspace;
	req->workdir = rt_workspace;
	req->timeout_ms = 20000;
	req->kill_grace_ms = 300;
	if (rt.be->capabilities & MONKEY_CAP_MEMORY)
		req->memory_bytes = 256u << 20;
	req->cpus = 0.5;
	req->pids = 50;
	tests_mount = (struct monkey_mount){tests_dir, tests_dir, 1};
	req->mounts = &tests_mount;
	req->n_mounts = 1;
	req->cancel_fd = -1;
}

static void add(char **buf, size_t *len, const void *data, size_t n)
{
	char *b = realloc(*buf, *len + n + 1);
	assert_non_null(b);
	memcpy(b + *len, data, n);
	*len += n;
	b[*len] = '\0';
	*buf = b;
}

static int collect(void *ctx, int stream, const void *data, size_t len)
{
	struct rt_run *r = ctx;
	if (stream == MONKEY_STREAM_STDOUT)
		add(&r->out, &r->out_len, data, len);
	else
		add(&r->errout, &r->err_len, data, len);
	r->calls++;
	return r->stop_after > 0 && r->calls >= r->stop_after ? -1 : 0;
}

int64_t rt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rt_in_session;

static void result_init(struct rt_run *r)
{
	r->res = (struct monkey_exec_result){
	    .struct_size = sizeof(r->res),
	    .exit_code = -1,
	    .oom_killed = MONKEY_UNKNOWN,
	    .peak_memory_bytes = -1,
	    .cpu_user_us = -1,
	    .cpu_system_us = -1,
	};
	memset(&r->err, 0, sizeof(r->err));
}

static int discard(void *ctx, int stream, const void *data, size_t len)
{
	(void)ctx;
	(void)stream;
	(void)data;
	(void)len;
	return 0;
}

/* One harmless command of session mode, script run by sh; 0 when it
 * exited 0, else says why on stderr. */
static int session_aside(void *s, const struct monkey_exec_request *req,
			 const char *script, struct monkey_error *err)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request w = *req;
	struct monkey_exec_result res = {.struct_size = sizeof(res),
					 .exit_code = -1};
	w.argv = argv;
	w.has_stdin = 0;
	w.stdin_len = 0;
	w.cancel_fd = -1;
	w.timeout_ms = 30000;
	w.output = discard;
	int rc = rt.be->session_exec(s, &w, &res, err);
	if (rc == 0 && res.exit_code == 0)
		return 0;
	fprintf(stderr,
		"session mode: \"%s\" failed (%d, exit %d, signal %d): %s\n",
		script, rc, res.exit_code, res.signal, err->message);
	return rc < 0 ? rc : -EPROTO;
}

/* Session mode: req runs as the second command of a session opened with
 * its settings, in a sandbox that already served one; a third command
 * then checks that the session goes on, with the first one's file still
 * in its /tmp (so that these runs cannot pass on fresh sandboxes).  The
 * session is closed after it. */
static int session_run(void *st, const struct monkey_exec_request *req,
		       struct rt_run *r)
{
	if (!rt.be->session_open || !rt.be->session_exec ||
	    !rt.be->session_close)
		return rt.host.set_error(&r->err, -ENOSYS,
					 "session mode: the backend has no "
					 "session entry points");
	void *s = NULL;
	int rc = rt.be->session_open(st, req, &s, &r->err);
	if (rc < 0)
		return rc;
	struct monkey_error err = {0};
	rc = session_aside(s, req, ": > /tmp/.monkey-rt-first", &err);
	if (rc == 0) {
		rc = rt.be->session_exec(s, req, &r->res, &r->err);
		int after =
		    session_aside(s, req, "[ -e /tmp/.monkey-rt-first ]", &err);
		if (rc == 0)
			rc = after;
	}
	if (rc == -EPROTO || (rc < 0 && !r->err.message[0]))
		r->err = err;
	rt.be->session_close(s);
	return rc;
}

void rt_exec_on(void *st, const struct monkey_exec_request *req_in,
		struct rt_run *r)
{
	struct monkey_exec_request req = *req_in;
	req.output = collect;
	req.output_ctx = r;
	result_init(r);
	int64_t t = rt_now_ms();
	if (rt_in_session)
		r->rc = session_run(st ? st : rt.state, &req, r);
	else
		r->rc = rt.be->exec(st ? st : rt.state, &req, &r->res, &r->err);
	r->ms = rt_now_ms() - t;
	if (!r->out)
		r->out = calloc(1, 1);
	if (!r->errout)
		r->errout = calloc(1, 1);
}

void *rt_session_open(const struct monkey_exec_request *settings)
{
	struct monkey_exec_request req;
	struct monkey_error err = {0};
	void *s = NULL;
	if (!rt.be->session_open)
		fail_msg("the rootless backend has no session_open");
	if (!settings) {
		rt_request(&req, NULL); /* settings carry no command */
		settings = &req;
	}
	int rc = rt.be->session_open(rt.state, settings, &s, &err);
	if (rc < 0)
		fail_msg("session_open: %d: %s", rc, err.message);
	assert_non_null(s);
	return s;
}

void rt_session_exec(void *s, const struct monkey_exec_request *req_in,
		     struct rt_run *r)
{
	struct monkey_exec_request req = *req_in;
	req.output = collect;
	req.output_ctx = r;
	result_init(r);
	int64_t t = rt_now_ms();
	r->rc = rt.be->session_exec(s, &req, &r->res, &r->err);
	r->ms = rt_now_ms() - t;
	if (!r->out)
		r->out = calloc(1, 1);
	if (!r->errout)
		r->errout = calloc(1, 1);
}

void rt_session_sh(void *s, const char *script, struct rt_run *r)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	memset(r, 0, sizeof(*r));
	rt_session_exec(s, &req, r);
}

void rt_exec(const struct monkey_exec_request *req, struct rt_run *r)
{
	rt_exec_on(NULL, req, r);
}

void rt_sh(const char *script, struct rt_run *r)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	rt_request(&req, argv);
	memset(r, 0, sizeof(*r));
	rt_exec(&req, r);
}

void rt_run_free(struct rt_run *r)
{
	free(r->out);
	free(r->errout);
	memset(r, 0, sizeof(*r));
}

const char *rt_marker(void)
{
	static __thread char m[64];
	static int n;
	snprintf(m, sizeof(m), "rtmark%ldx%dx%lld", (long)getpid(),
		 __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED),
		 (long long)rt_now_ms());
	return m;
}

/* The command name of pid (what prctl(PR_SET_NAME) set), "" if gone. */
static void comm_of(const char *pid, char *out, size_t len)
{
	char path[300];
	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, len - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static int count_marked(const char *marker, int say)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int found = 0;
	while (d && (de = readdir(d))) {
		char path[300], buf[8192];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		char comm[64];
		comm_of(de->d_name, comm, sizeof(comm));
		/* A process that is dying or a zombie has no command line
		 * left, but keeps its name. */
		if (comm[0] && !strncmp(marker, comm, strlen(comm)) &&
		    strlen(comm) >= 15) {
			if (say)
				print_message("left behind: pid %s, named "
					      "%s\n",
					      de->d_name, comm);
			found++;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[n] = '\0';
		if (strstr(buf, marker)) {
			if (say)
				print_message("left behind: pid %s: %s\n",
					      de->d_name, buf);
			found++;
		}
	}
	if (d)
		closedir(d);
	return found;
}

int rt_count_marked(const char *marker) { return count_marked(marker, 1); }

int rt_wait_unmarked(const char *marker, int64_t ms)
{
	int64_t end = rt_now_ms() + ms;
	while (count_marked(marker, 0) > 0 && rt_now_ms() < end)
		usleep(20 * 1000);
	return count_marked(marker, 1);
}

int rt_wait_marked(const char *marker, int n, int64_t ms)
{
	int64_t end = rt_now_ms() + ms;
	int found;
	while ((found = count_marked(marker, 0)) < n && rt_now_ms() < end)
		usleep(10 * 1000);
	return found;
}
