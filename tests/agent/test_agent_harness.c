/* Agent test harness: starts tests/llm_server.py on an ephemeral loopback
 * port, runs monkey against it, reads back its request log and the
 * transcript. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_agent_harness.h"

static const char *srcdir(void)
{
	const char *d = getenv("MONKEY_SRCDIR");
	return d && *d ? d : MONKEY_SRCDIR;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("harness: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static void start(struct ta_server *s, const char *script)
{
	char portfile[4200];
	snprintf(portfile, sizeof(portfile), "%s/port", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/requests.jsonl", s->dir);
	char server[4096];
	snprintf(server, sizeof(server), "%s/tests/agent/llm_server.py", srcdir());
	s->pid = fork();
	if (s->pid < 0)
		die("fork: %s", strerror(errno));
	if (s->pid == 0) {
		execlp("python3", "python3", server, "--script", script,
		       "--port-file", portfile, "--log", s->log, (char *)NULL);
		_exit(127);
	}
	/* Python starts in ~50 ms; allow a slow, loaded machine. */
	for (int i = 0; i < 400; i++) {
		char *p = ta_read(portfile);
		if (p) {
			s->port = atoi(p);
			free(p);
			break;
		}
		int st;
		if (waitpid(s->pid, &st, WNOHANG) == s->pid)
			die("llm_server.py exited early (status %d)", st);
		struct timespec ts = {0, 25 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (s->port <= 0)
		die("llm_server.py did not start");
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	snprintf(s->url_v1, sizeof(s->url_v1), "http://127.0.0.1:%d/v1",
		 s->port);
}

void ta_server_start(struct ta_server *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->dir = tu_mkdtemp();
	char script[4096];
	snprintf(script, sizeof(script), "%s/tests/agent/scripts/%s.json", srcdir(),
		 name);
	start(s, script);
}

void ta_server_start_json(struct ta_server *s, const char *json)
{
	memset(s, 0, sizeof(*s));
	s->dir = tu_mkdtemp();
	char script[4200];
	snprintf(script, sizeof(script), "%s/script.json", s->dir);
	tu_write_file(script, json);
	start(s, script);
}

void ta_server_stop(struct ta_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	if (s->dir) {
		tu_rmrf(s->dir);
		free(s->dir);
	}
	memset(s, 0, sizeof(*s));
}

char *ta_read(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static json_object *read_jsonl(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	json_object *arr = json_object_new_array();
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		json_object *o = json_tokener_parse(line);
		if (!o)
			die("%s: a line is not JSON: %.200s", path, line);
		json_object_array_add(arr, o);
	}
	free(line);
	fclose(f);
	return arr;
}

json_object *ta_requests(const struct ta_server *s)
{
	json_object *a = read_jsonl(s->log);
	return a ? a : json_object_new_array();
}

char *ta_request_system(const struct ta_server *s, int n)
{
	json_object *a = ta_requests(s);
	json_object *body = NULL;
	json_object_object_get_ex(json_object_array_get_idx(a, (size_t)n),
				  "body", &body);
	const char *sys = ta_str(body, "system");
	if (!sys && ta_str(body, "messages.0.role") &&
	    !strcmp(ta_str(body, "messages.0.role"), "system"))
		sys = ta_str(body, "messages.0.content");
	char *copy = sys ? strdup(sys) : NULL;
	json_object_put(a);
	return copy;
}

int ta_requests_ok(const struct ta_server *s)
{
	json_object *a = ta_requests(s);
	int n = (int)json_object_array_length(a);
	int bad = 0;
	for (int i = 0; i < n; i++) {
		json_object *v = NULL;
		json_object_object_get_ex(json_object_array_get_idx(a, i),
					  "violations", &v);
		if (v && json_object_array_length(v)) {
			fprintf(stderr, "request %d violated: %s\n", i,
				json_object_to_json_string(v));
			bad++;
		}
	}
	json_object_put(a);
	if (bad)
		die("%d requests broke the API rules or the script", bad);
	return n;
}

void ta_ws_new(struct ta_ws *w)
{
	memset(w, 0, sizeof(*w));
	w->dir = tu_mkdtemp();
	snprintf(w->transcript, sizeof(w->transcript), "%s/.t.jsonl", w->dir);
}

void ta_ws_free(struct ta_ws *w)
{
	if (w->dir) {
		tu_rmrf(w->dir);
		free(w->dir);
	}
	memset(w, 0, sizeof(*w));
}

const char *ta_path(const struct ta_ws *w, const char *rel)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf), "%s/%s", w->dir, rel);
	return buf;
}

void ta_backend_path(void)
{
	/* The serial test driver does not apply AM_TESTS_ENVIRONMENT: find
	 * the build tree's backends without it. */
	const char *p = getenv("MONKEY_BACKEND_PATH");
	if (p && *p)
		return;
	char buf[8192];
	const char *b = tu_builddir();
	snprintf(buf, sizeof(buf),
		 "%s/plugins/spawn/.libs:%s/plugins/none/.libs:"
		 "%s/plugins/docker/.libs:%s/plugins/rootless/.libs",
		 b, b, b, b);
	setenv("MONKEY_BACKEND_PATH", buf, 1);
}

int ta_agent(struct tu_run *r, const struct ta_server *s, const struct ta_ws *w,
	     const char *task, const char *const *args,
	     const char *const *env_extra)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = tu_monkey();
	argv[n++] = "agent";
	argv[n++] = "--workspace";
	argv[n++] = w->dir;
	argv[n++] = "--transcript";
	argv[n++] = w->transcript;
	argv[n++] = "--task";
	argv[n++] = task;
	for (size_t i = 0; args && args[i] && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char anth[128], oai[128];
	snprintf(anth, sizeof(anth), "ANTHROPIC_BASE_URL=%s", s ? s->url : "");
	snprintf(oai, sizeof(oai), "OPENAI_BASE_URL=%s", s ? s->url_v1 : "");
	const char *env[64] = {
	    "ANTHROPIC_API_KEY=" TA_KEY,
	    "OPENAI_API_KEY=" TA_KEY,
	    anth,
	    oai,
	    /* Only loopback traffic, never through a proxy. */
	    "http_proxy=",
	    "https_proxy=",
	    "HTTP_PROXY=",
	    "HTTPS_PROXY=",
	    "ALL_PROXY=",
	    "all_proxy=",
	    "MONKEY_SANDBOX=",
	};
	size_t e = 0;
	while (env[e])
		e++;
	ta_backend_path();
	for (size_t i = 0; env_extra && env_extra[i] && e < 63; i++)
		env[e++] = env_extra[i];
	env[e] = NULL;
	int ret = tu_run(r, NULL, (char *const *)argv, (char *const *)env);
	/* Shown by "make check" in the test's log: what monkey said. */
	printf("--- monkey exited %d; stderr:\n%s--- stdout:\n%s---\n",
	       r->status, r->err, r->out);
	return ret;
}

json_object *ta_transcript(const struct ta_ws *w)
{
	return read_jsonl(w->transcript);
}

json_object *ta_record(json_object *arr, const char *type, int nth)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		const char *t = ta_str(o, "type");
		if (t && !strcmp(t, type) && nth-- == 0)
			return o;
	}
	return NULL;
}

int ta_count_records(json_object *arr, const char *type)
{
	int n = 0;
	while (ta_record(arr, type, n))
		n++;
	return n;
}

static json_object *walk(json_object *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *k = strtok_r(buf, ".", &save); k && o;
	     k = strtok_r(NULL, ".", &save)) {
		json_object *v = NULL;
		if (json_object_is_type(o, json_type_array)) {
			v = json_object_array_get_idx(o, (size_t)atoi(k));
		} else if (!json_object_object_get_ex(o, k, &v)) {
			return NULL;
		}
		o = v;
	}
	return o;
}

const char *ta_str(json_object *o, const char *path)
{
	json_object *v = walk(o, path);
	return v && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : NULL;
}

int64_t ta_int(json_object *o, const char *path)
{
	json_object *v = walk(o, path);
	return v ? json_object_get_int64(v) : 0;
}

bool ta_bool(json_object *o, const char *path)
{
	json_object *v = walk(o, path);
	return v && json_object_get_boolean(v);
}
