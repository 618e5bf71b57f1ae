/* Helpers for the spawn tests: a hand-made host that loads a backend module
 * straight from the build tree, runs requests and checks for survivors. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "spawn_harness.h"

static void host_log(const struct monkey_host *h, int level, const char *fmt,
		     ...)
{
	struct sh_backend *b = h->host_data;
	if (level < MONKEY_LOG_WARNING)
		return;
	size_t used = strlen(b->log);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->log + used, sizeof(b->log) - used, fmt, ap);
	va_end(ap);
	used = strlen(b->log);
	if (used + 1 < sizeof(b->log))
		strcat(b->log, "\n");
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

static const char *builddir(void)
{
	const char *d = getenv("MONKEY_BUILDDIR");
	return d ? d : MONKEY_BUILDDIR;
}

void sh_load(struct sh_backend *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/plugins/%s/.libs/%s.so", builddir(),
		 name, name);
	b->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!b->dl)
		fail_msg("dlopen %s: %s", path, dlerror());
	monkey_backend_entry_fn entry =
	    (monkey_backend_entry_fn)dlsym(b->dl, MONKEY_BACKEND_ENTRY_SYMBOL);
	assert_non_null(entry);
	b->be = entry();
	assert_int_equal(b->be->abi_major, MONKEY_BACKEND_ABI_MAJOR);
	b->host = (struct monkey_host){
	    .struct_size = sizeof(b->host),
	    .abi_major = MONKEY_BACKEND_ABI_MAJOR,
	    .abi_minor = MONKEY_BACKEND_ABI_MINOR,
	    .log = host_log,
	    .set_error = host_set_error,
	    .instance_id = "test",
	    .host_data = b,
	};
	struct monkey_error err = {0};
	if (b->be->init(&b->host, NULL, &b->state, &err) < 0 ||
	    b->be->probe(b->state, &err) < 0)
		fail_msg("%s: %s", name, err.message);
}

void sh_unload(struct sh_backend *b)
{
	if (b->be)
		b->be->fini(b->state);
	if (b->dl)
		dlclose(b->dl);
	memset(b, 0, sizeof(*b));
}

static const char *const default_env[] = {"PATH=/usr/bin:/bin", NULL};

/* Filled once: worker threads share them. */
static char cwd[PATH_MAX];
static char helper_path[PATH_MAX];
static pthread_once_t paths_once = PTHREAD_ONCE_INIT;

static void init_paths(void)
{
	if (!getcwd(cwd, sizeof(cwd)))
		abort();
	snprintf(helper_path, sizeof(helper_path), "%s/tests/spawn/spawn_helper",
		 builddir());
}

void sh_request(struct monkey_exec_request *req, const char *const *argv)
{
	pthread_once(&paths_once, init_paths);
	memset(req, 0, sizeof(*req));
	req->struct_size = sizeof(*req);
	req->argv = argv;
	req->envp = default_env;
	req->user_envp = default_env + 1;
	req->workspace = "/";
	req->workdir = cwd;
	req->timeout_ms = 20000;
	req->kill_grace_ms = 300;
	req->cancel_fd = -1;
}

static void stream_add(struct sh_stream *s, const void *data, size_t len)
{
	s->total += len;
	size_t limit = s->limit ? s->limit : 16 << 20;
	size_t keep = s->len + len > limit ? limit - s->len : len;
	if (!keep)
		return;
	char *d = realloc(s->data, s->len + keep + 1);
	assert_non_null(d);
	memcpy(d + s->len, data, keep);
	s->len += keep;
	d[s->len] = '\0';
	s->data = d;
}

static int collect(void *ctx, int stream, const void *data, size_t len)
{
	struct sh_result *r = ctx;
	if (stream == MONKEY_STREAM_STDOUT)
		stream_add(&r->out, data, len);
	else if (stream == MONKEY_STREAM_STDERR)
		stream_add(&r->err_stream, data, len);
	else
		fail_msg("output on unknown stream %d", stream);
	r->calls++;
	if (len > r->max_chunk)
		r->max_chunk = len;
	if (r->stop_after > 0 && r->calls >= r->stop_after)
		return -1;
	return 0;
}

int64_t sh_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sh_exec(struct sh_backend *b, struct monkey_exec_request *req,
	    struct sh_result *r)
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
	req->output = collect;
	req->output_ctx = r;
	int64_t t = sh_now_ms();
	r->rc = b->be->exec(b->state, req, &r->res, &r->err);
	r->ms = sh_now_ms() - t;
	if (!r->out.data)
		r->out.data = calloc(1, 1);
	if (!r->err_stream.data)
		r->err_stream.data = calloc(1, 1);
	return r->rc;
}

void sh_result_free(struct sh_result *r)
{
	free(r->out.data);
	free(r->err_stream.data);
	memset(r, 0, sizeof(*r));
}

const char *sh_helper(void)
{
	pthread_once(&paths_once, init_paths);
	return helper_path;
}

char *sh_pidfile(void)
{
	const char *tmp = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/monkey-spawn-XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		fail_msg("mkdtemp: %s", strerror(errno));
	char *p = malloc(strlen(tmpl) + 16);
	sprintf(p, "%s/pids", tmpl);
	return p;
}

void sh_pidfile_free(char *pidfile)
{
	unlink(pidfile);
	char *slash = strrchr(pidfile, '/');
	*slash = '\0';
	rmdir(pidfile);
	free(pidfile);
}

int sh_pids_alive(const char *pidfile, int *n_recorded)
{
	FILE *f = fopen(pidfile, "r");
	int pid, alive = 0, n = 0;
	while (f && fscanf(f, "%d", &pid) == 1) {
		n++;
		if (kill(pid, 0) == 0 || errno != ESRCH) {
			print_message("process %d is still there\n", pid);
			alive++;
		}
	}
	if (f)
		fclose(f);
	*n_recorded = n;
	return alive;
}

bool sh_no_children(void)
{
	int st;
	return waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD;
}
