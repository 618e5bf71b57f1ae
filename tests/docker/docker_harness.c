/* Shared fixture of the docker backend tests (see docker_harness.h): the
 * backend is loaded from the build tree and driven through its vtable with
 * a hand-made host, against the real engine on DOCKER_HOST. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "docker_harness.h"

const struct monkey_backend *dt_backend;
void *dt_state;
struct monkey_host dt_host;
const char *dt_image = DT_DEFAULT_IMAGE;
int dt_podman;
int dt_launcher = 1;
char dt_workspace[256];

char dt_instance_id[64];
int dt_pool;
int dt_pool_allow_cold;
int dt_session;
static __thread int ran_pooled;
static char config[512];
static void *dl;
static const char *const default_envp[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8",
					   NULL};

int64_t dt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void (*dt_log_hook)(int level, const char *line);
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[16384];
/* The backend's count of ready pooled containers, from its log. */
static int pool_ready;

static void host_log(const struct monkey_host *h, int level, const char *fmt,
		     ...)
{
	(void)h;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (level >= MONKEY_LOG_INFO) {
		pthread_mutex_lock(&log_lock);
		size_t l = strlen(log_text);
		snprintf(log_text + l, sizeof(log_text) - l, "%s\n", line);
		pthread_mutex_unlock(&log_lock);
	}
	if (!strncmp(line, "docker: pooled container", 24))
		ran_pooled = 1;
	int held;
	if (sscanf(line, "docker: pool holds %d prestarted", &held) == 1)
		__atomic_store_n(&pool_ready, held, __ATOMIC_SEQ_CST);
	if (dt_log_hook)
		dt_log_hook(level, line);
	if (level >= MONKEY_LOG_INFO || getenv("DT_VERBOSE"))
		fprintf(stderr, "[backend log %d] %s\n", level, line);
}

int dt_log_contains(const char *needle)
{
	pthread_mutex_lock(&log_lock);
	int found = strstr(log_text, needle) != NULL;
	pthread_mutex_unlock(&log_lock);
	return found;
}

void dt_log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_text[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static int host_set_error(struct monkey_error *err, int code, const char *fmt,
			  ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *dt_socket(void)
{
	const char *h = getenv("DOCKER_HOST");
	if (h && !strncmp(h, "unix://", 7))
		return h + 7;
	return "/var/run/docker.sock";
}

static void make_instance_id(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	for (int i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	snprintf(dt_instance_id, sizeof(dt_instance_id), "%ld-%llu",
		 (long)getpid(), p ? strtoull(p + 1, NULL, 10) : 0ULL);
}

const char *dt_built_launcher(void)
{
	static char path[1024];
	struct stat sb;
	const char *dir = getenv("MONKEY_BUILDDIR");
	snprintf(path, sizeof(path), "%s/plugins/docker/monkey-launch",
		 dir ? dir : MONKEY_BUILDDIR);
	if (stat(path, &sb) < 0 || sb.st_size == 0)
		return NULL;
	return path;
}

int dt_init(const char *config_json, void **state, struct monkey_error *err)
{
	return dt_backend->init(&dt_host, config_json, state, err);
}

static int sink(void *ctx, int stream, const void *data, size_t len)
{
	struct dt_run *r = ctx;
	char **buf = stream == MONKEY_STREAM_STDERR ? &r->errout : &r->out;
	size_t *l = stream == MONKEY_STREAM_STDERR ? &r->err_len : &r->out_len;
	char *p = realloc(*buf, *l + len + 1);
	if (!p)
		return -1;
	memcpy(p + *l, data, len);
	*l += len;
	p[*l] = '\0';
	*buf = p;
	if (r->stop_after && r->out_len + r->err_len >= (size_t)r->stop_after)
		return -1;
	return 0;
}

void dt_request(struct monkey_exec_request *req, const char *const *argv)
{
	memset(req, 0, sizeof(*req));
	req->struct_size = sizeof(*req);
	req->argv = argv;
	req->envp = default_envp;
	req->workspace = dt_workspace;
	req->workdir = dt_workspace;
	req->timeout_ms = 30000;
	req->kill_grace_ms = 500;
	req->memory_bytes = 256ull << 20;
	req->cpus = 0.5;
	req->pids = 50;
	req->image = dt_image;
	req->cancel_fd = -1;
}

static int discard(void *ctx, int stream, const void *data, size_t len)
{
	(void)ctx, (void)stream, (void)data, (void)len;
	return 0;
}

static int cancel_pending(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Pool mode: run "true" with req's settings (keying the pool to them),
 * then wait until a container for them is prestarted, so that the
 * command itself runs pooled.  Returns 0 when settings cannot make a
 * container at all (the request is to be refused either way). */
static int warm_pool_for(void *st, const struct monkey_exec_request *req)
{
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request w = *req;
	struct monkey_exec_result res = {.struct_size = sizeof(res)};
	struct monkey_error err = {0};
	w.argv = argv;
	w.has_stdin = 0;
	w.cancel_fd = -1;
	w.timeout_ms = 30000;
	w.output = discard;
	if (dt_backend->exec(st, &w, &res, &err) < 0)
		return 0;
	/* The engine listing a pooled container as running is not enough:
	 * the backend holds it only once the start call has answered.  Its
	 * own count says when it does (podman under load: seconds). */
	for (int i = 0;
	     i < 1200 && __atomic_load_n(&pool_ready, __ATOMIC_SEQ_CST) < 1;
	     i++)
		usleep(25 * 1000);
	return 1;
}

/* Session mode: req runs as the second command of a session opened with
 * its settings (the first is "true"), so that it runs in a container
 * that already served a command; the session is closed after it. */
static int session_exec(void *st, const struct monkey_exec_request *req,
			struct dt_run *run)
{
	void *s = NULL;
	int rc = dt_backend->session_open(st, req, &s, &run->err);
	if (rc < 0)
		return rc;
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request w = *req;
	struct monkey_exec_result res = {.struct_size = sizeof(res),
					 .exit_code = -1};
	struct monkey_error err = {0};
	w.argv = argv;
	w.has_stdin = 0;
	w.cancel_fd = -1;
	w.timeout_ms = 30000;
	w.output = discard;
	rc = dt_backend->session_exec(s, &w, &res, &err);
	if (rc < 0 || res.exit_code != 0) {
		fprintf(stderr,
			"session mode: the first command failed (%d, exit "
			"%d): %s\n",
			rc, res.exit_code, err.message);
		dt_backend->session_close(s);
		run->err = err;
		return rc < 0 ? rc : -EPROTO;
	}
	rc = dt_backend->session_exec(s, req, &run->res, &run->err);
	dt_backend->session_close(s);
	return rc;
}

void dt_exec(void *st, const struct monkey_exec_request *req,
	     struct dt_run *run)
{
	struct monkey_exec_request r = *req;
	int want_pooled = dt_pool && (!st || st == dt_state) &&
			  !cancel_pending(req->cancel_fd);
	if (want_pooled)
		want_pooled = warm_pool_for(st ? st : dt_state, req);
	ran_pooled = 0;
	int stop_after = run->stop_after;
	memset(run, 0, sizeof(*run));
	run->stop_after = stop_after;
	run->res.struct_size = sizeof(run->res);
	run->res.exit_code = -1;
	run->res.oom_killed = MONKEY_UNKNOWN;
	run->res.peak_memory_bytes = -1;
	run->res.cpu_user_us = -1;
	run->res.cpu_system_us = -1;
	r.output = sink;
	r.output_ctx = run;
	int64_t t0 = dt_now_ms();
	if (dt_session && (!st || st == dt_state) &&
	    !cancel_pending(req->cancel_fd))
		run->rc = session_exec(st ? st : dt_state, &r, run);
	else
		run->rc = dt_backend->exec(st ? st : dt_state, &r, &run->res,
					   &run->err);
	run->ms = dt_now_ms() - t0;
	run->pooled = ran_pooled;
	if (want_pooled && !ran_pooled && !dt_pool_allow_cold) {
		fprintf(stderr, "pool mode: the command did not run in a "
				"prestarted container\n");
		run->rc = -EPROTO;
	}
	if (!run->out)
		run->out = calloc(1, 1);
	if (!run->errout)
		run->errout = calloc(1, 1);
}

void dt_session_exec(void *session, const struct monkey_exec_request *req,
		     struct dt_run *run)
{
	struct monkey_exec_request r = *req;
	int stop_after = run->stop_after;
	memset(run, 0, sizeof(*run));
	run->stop_after = stop_after;
	run->res.struct_size = sizeof(run->res);
	run->res.exit_code = -1;
	run->res.oom_killed = MONKEY_UNKNOWN;
	r.output = sink;
	r.output_ctx = run;
	int64_t t0 = dt_now_ms();
	run->rc = dt_backend->session_exec(session, &r, &run->res, &run->err);
	run->ms = dt_now_ms() - t0;
	if (!run->out)
		run->out = calloc(1, 1);
	if (!run->errout)
		run->errout = calloc(1, 1);
}

void dt_run_free(struct dt_run *run)
{
	free(run->out);
	free(run->errout);
	run->out = run->errout = NULL;
}

void dt_sh(const char *script, struct dt_run *run)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_exec_request req;
	dt_request(&req, argv);
	memset(run, 0, sizeof(*run));
	dt_exec(NULL, &req, run);
}

/* ---- the engine, seen from the test ---- */

struct buf {
	char *p;
	size_t n;
};

static size_t collect(char *d, size_t s, size_t n, void *ud)
{
	struct buf *b = ud;
	char *p = realloc(b->p, b->n + s * n + 1);
	if (!p)
		return 0;
	memcpy(p + b->n, d, s * n);
	b->n += s * n;
	p[b->n] = '\0';
	b->p = p;
	return s * n;
}

/* One API call; returns the HTTP status (or -1) and the body in *body. */
static long api(const char *method, const char *path, const char *json,
		char **body)
{
	CURL *c = curl_easy_init();
	struct buf b = {0};
	struct curl_slist *h = NULL;
	char url[1024];
	long status = -1;

	snprintf(url, sizeof(url), "http://docker%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, dt_socket());
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (json) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (body)
		*body = b.p;
	else
		free(b.p);
	return status;
}

long dt_api(const char *method, const char *path, const char *json, char **body)
{
	return api(method, path, json, body);
}

/* Ids of the containers labelled monkey.sandbox=value (NULL: any);
 * a JSON array the caller puts, or NULL. */
static json_object *list_labelled(const char *value)
{
	char filter[256], path[512];
	char *body = NULL;
	if (value)
		snprintf(filter, sizeof(filter),
			 "{\"label\":[\"monkey.sandbox=%s\"]}", value);
	else
		snprintf(filter, sizeof(filter),
			 "{\"label\":[\"monkey.sandbox\"]}");
	char *enc = curl_easy_escape(NULL, filter, 0);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", enc);
	curl_free(enc);
	/* podman's listing can fail (500) while a container it lists is
	 * being removed: ask again. */
	long st = 0;
	for (int i = 0; i < 10; i++) {
		free(body);
		body = NULL;
		st = api("GET", path, NULL, &body);
		if (st == 200)
			break;
		usleep(50 * 1000);
	}
	json_object *o = st == 200 ? json_tokener_parse(body) : NULL;
	free(body);
	if (o && !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

void dt_remove_labelled(const char *value)
{
	json_object *o = list_labelled(value);
	for (size_t i = 0; o && i < json_object_array_length(o); i++) {
		json_object *id = NULL;
		if (json_object_object_get_ex(json_object_array_get_idx(o, i),
					      "Id", &id))
			dt_remove_container(json_object_get_string(id));
	}
	json_object_put(o);
}

int dt_pool_ready(void)
{
	return __atomic_load_n(&pool_ready, __ATOMIC_SEQ_CST);
}

int dt_count_pooled(int running_only)
{
	json_object *o = list_labelled(dt_instance_id);
	int n = o ? 0 : -1;
	for (size_t i = 0; o && i < json_object_array_length(o); i++) {
		json_object *c = json_object_array_get_idx(o, i);
		json_object *labels = NULL, *state = NULL;
		if (!json_object_object_get_ex(c, "Labels", &labels) ||
		    !json_object_object_get_ex(labels, "monkey.pool", NULL))
			continue;
		if (running_only &&
		    (!json_object_object_get_ex(c, "State", &state) ||
		     strcmp(json_object_get_string(state), "running")))
			continue;
		n++;
	}
	json_object_put(o);
	return n;
}

char *dt_inspect_running(const char *process)
{
	json_object *o = list_labelled(dt_instance_id);
	char *body = NULL;
	for (size_t i = 0; o && !body && i < json_object_array_length(o); i++) {
		json_object *id = NULL;
		char path[256], *top = NULL;
		if (!json_object_object_get_ex(json_object_array_get_idx(o, i),
					       "Id", &id))
			continue;
		snprintf(path, sizeof(path), "/containers/%s/top",
			 json_object_get_string(id));
		if (api("GET", path, NULL, &top) == 200 && top &&
		    strstr(top, process)) {
			snprintf(path, sizeof(path), "/containers/%s/json",
				 json_object_get_string(id));
			if (api("GET", path, NULL, &body) != 200) {
				free(body);
				body = NULL;
			}
		}
		free(top);
	}
	json_object_put(o);
	return body;
}

char *dt_inspect_labelled(const char *value)
{
	json_object *o = list_labelled(value);
	json_object *id = NULL;
	char *body = NULL;
	if (o && json_object_array_length(o) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(o, 0), "Id",
				      &id)) {
		char path[256];
		snprintf(path, sizeof(path), "/containers/%s/json",
			 json_object_get_string(id));
		if (api("GET", path, NULL, &body) != 200) {
			free(body);
			body = NULL;
		}
	}
	json_object_put(o);
	return body;
}

int dt_count_containers(const char *value)
{
	json_object *o = list_labelled(value);
	int n = o ? (int)json_object_array_length(o) : -1;
	json_object_put(o);
	return n;
}

int dt_create_with_labels(const char *labels, char *id, size_t idlen)
{
	char json[1024];
	char *body = NULL;
	snprintf(
	    json, sizeof(json),
	    "{\"Image\":\"%s\",\"Cmd\":[\"true\"],\"NetworkDisabled\":true,"
	    "\"Labels\":%s,\"HostConfig\":{"
	    "\"NetworkMode\":\"none\","
	    "\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":1024}]}}",
	    dt_image, labels);
	long st = api("POST", "/containers/create", json, &body);
	json_object *o = st == 201 ? json_tokener_parse(body) : NULL;
	json_object *v = NULL;
	int rc = -1;
	if (o && json_object_object_get_ex(o, "Id", &v)) {
		snprintf(id, idlen, "%s", json_object_get_string(v));
		rc = 0;
	} else {
		fprintf(stderr, "create failed (HTTP %ld): %s\n", st,
			body ? body : "");
	}
	json_object_put(o);
	free(body);
	return rc;
}

int dt_create_labelled(const char *value, char *id, size_t idlen)
{
	char labels[256];
	snprintf(labels, sizeof(labels), "{\"monkey.sandbox\":\"%s\"}", value);
	return dt_create_with_labels(labels, id, idlen);
}

int dt_container_exists(const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	return api("GET", path, NULL, NULL) == 200;
}

void dt_remove_container(const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s?force=1", id);
	api("DELETE", path, NULL, NULL);
}

int dt_assert_no_containers(void **unused)
{
	(void)unused;
	/* Pool mode: a new state per test, and the old one's prestarted
	 * containers must go with its fini. */
	if (dt_pool && dt_state) {
		struct monkey_error err = {0};
		dt_backend->fini(dt_state);
		dt_state = NULL;
		int n = dt_count_containers(dt_instance_id);
		if (n != 0) {
			fprintf(stderr,
				"%d container(s) remain after fini of a pooled "
				"state\n",
				n);
			return -1;
		}
		if (dt_init(config, &dt_state, &err) < 0 ||
		    dt_backend->probe(dt_state, &err) < 0) {
			fprintf(stderr, "re-init: %s\n", err.message);
			return -1;
		}
		return 0;
	}
	/* The backend deletes a finished command's stopped container right
	 * after answering: give that a moment. */
	int n = dt_count_containers(dt_instance_id);
	for (int i = 0; n > 0 && i < 50; i++) {
		usleep(100 * 1000);
		n = dt_count_containers(dt_instance_id);
	}
	if (n != 0) {
		fprintf(stderr,
			"%d container(s) labelled monkey.sandbox=%s remain\n",
			n, dt_instance_id);
		return -1; /* cmocka reports a failed teardown */
	}
	return 0;
}

/* ---- setup ---- */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

void dt_teardown_all(void)
{
	if (dt_state)
		dt_backend->fini(dt_state);
	dt_state = NULL;
	if (dt_workspace[0])
		nftw(dt_workspace, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	dt_workspace[0] = '\0';
	curl_global_cleanup();
}

static void unavailable(const char *program, const char *why)
{
	const char *ci = getenv("CI");
	const char *req = getenv("MONKEY_REQUIRE_DOCKER");
	if ((ci && !strcmp(ci, "true")) || (req && !strcmp(req, "1"))) {
		fprintf(stderr, "FAIL: %s needs a container engine: %s\n",
			program, why);
		exit(1);
	}
	fprintf(stderr,
		"SKIP: %s: %s (start one with tests/engines.sh start; "
		"set MONKEY_REQUIRE_DOCKER=1 to make this a failure)\n",
		program, why);
	exit(77);
}

void dt_setup_or_exit(const char *program)
{
	char path[1024];
	struct monkey_error err = {0};
	const char *dir = getenv("MONKEY_BUILDDIR");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (getenv("MONKEY_DOCKER_IMAGE") && getenv("MONKEY_DOCKER_IMAGE")[0])
		dt_image = getenv("MONKEY_DOCKER_IMAGE");
	snprintf(path, sizeof(path), "%s/plugins/docker/.libs/docker.so",
		 dir ? dir : MONKEY_BUILDDIR);
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "FAIL: cannot load %s: %s\n", path, dlerror());
		exit(1);
	}
	monkey_backend_entry_fn entry =
	    (monkey_backend_entry_fn)dlsym(dl, MONKEY_BACKEND_ENTRY_SYMBOL);
	if (!entry) {
		fprintf(stderr, "FAIL: %s has no %s\n", path,
			MONKEY_BACKEND_ENTRY_SYMBOL);
		exit(1);
	}
	dt_backend = entry();

	make_instance_id();
	dt_host = (struct monkey_host){
	    .struct_size = sizeof(dt_host),
	    .abi_major = MONKEY_BACKEND_ABI_MAJOR,
	    .abi_minor = MONKEY_BACKEND_ABI_MINOR,
	    .log = host_log,
	    .set_error = host_set_error,
	    .instance_id = dt_instance_id,
	};

	snprintf(dt_workspace, sizeof(dt_workspace), "/tmp/monkey-dt-XXXXXX");
	if (!mkdtemp(dt_workspace)) {
		fprintf(stderr, "FAIL: mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	/* Any uid the tests run commands as may write there. */
	chmod(dt_workspace, 01777);
	atexit(dt_teardown_all);

	const char *pool = getenv("MONKEY_TEST_POOL");
	dt_pool = pool && atoi(pool) > 0 ? atoi(pool) : 0;
	const char *session = getenv("MONKEY_TEST_SESSION");
	dt_session = session && atoi(session) > 0;
	snprintf(config, sizeof(config),
		 "{\"image\":\"%s\",\"pull\":\"never\",\"pool\":%d}", dt_image,
		 dt_pool);
	if (dt_init(config, &dt_state, &err) < 0) {
		fprintf(stderr, "FAIL: init: %s\n", err.message);
		exit(1);
	}
	if (dt_backend->probe(dt_state, &err) < 0) {
		char why[1200];
		snprintf(why, sizeof(why), "%s%s", err.message,
			 err.code == -ENXIO
			     ? " (build it with tests/make-test-image.sh)"
			     : "");
		unavailable(program, why);
	}
	const char *l = getenv("MONKEY_DOCKER_LAUNCHER");
	if (l && l[0] && access(l, X_OK) != 0)
		dt_launcher = 0;
	char *body = NULL;
	api("GET", "/_ping", NULL, NULL);
	if (api("GET", "/version", NULL, &body) == 200 && body &&
	    strstr(body, "odman"))
		dt_podman = 1;
	free(body);
	fprintf(stderr,
		"%s: engine at %s (%s), image %s, instance %s, %s, %s\n",
		program, dt_socket(), dt_podman ? "podman" : "docker", dt_image,
		dt_instance_id,
		dt_session ? "in sessions (MONKEY_TEST_SESSION)"
		: dt_pool  ? "pooled (MONKEY_TEST_POOL)"
			   : "cold",
		dt_launcher ? "through monkey-launch" : "commands as PID 1");
}
