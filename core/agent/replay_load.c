/* Reading a transcript (versions 1 and 2) with every field checked: its
 * type, its range, the line it is on.  A transcript is untrusted input. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <monkey/backend.h>

#include "replay.h"
#include "transcript.h"

/* Where a record comes from, for messages, and which key names apply. */
struct src {
	const char *path;
	int line;
	int version; /* of the last header */
	struct monkey_error *err;
};

/* Version 2 names fields in camelCase (as "monkey exec --json"); version 1
 * mixed snake_case in. */
static const char *key(const struct src *s, const char *v2, const char *v1)
{
	return s->version >= 2 ? v2 : v1;
}

static int bad(const struct src *s, const char *k, const char *what,
	       json_object *v)
{
	const char *got =
	    v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
	      : "missing";
	return monkey_set_error(
	    s->err, -EINVAL, "%s:%d: '%s' must be %s, not %.60s%s", s->path,
	    s->line, k, what, got, strlen(got) > 60 ? "..." : "");
}

/* The value of k; a JSON null counts as absent. */
static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, k, &v);
	return v;
}

/* The getters return 1 when k is present and valid (*out set), 0 when it
 * is absent (*out untouched), or a negative errno with the error set. */
static int get_int(const struct src *s, json_object *o, const char *k,
		   int64_t min, int64_t max, int64_t *out)
{
	json_object *v = get(o, k);
	if (!v)
		return 0;
	char what[96];
	snprintf(what, sizeof(what), "a whole number from %lld to %lld",
		 (long long)min, (long long)max);
	/* A double (1.5, 1e30) or an integer past int64 is malformed. */
	if (!json_object_is_type(v, json_type_int))
		return bad(s, k, what, v);
	int64_t n = json_object_get_int64(v);
	if (n < min || n > max || (n == INT64_MAX && max < INT64_MAX))
		return bad(s, k, what, v);
	*out = n;
	return 1;
}

static int get_num(const struct src *s, json_object *o, const char *k,
		   double min, double max, double *out)
{
	json_object *v = get(o, k);
	if (!v)
		return 0;
	char what[96];
	snprintf(what, sizeof(what), "a number from %g to %g", min, max);
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return bad(s, k, what, v);
	double d = json_object_get_double(v);
	if (!isfinite(d) || d < min || d > max)
		return bad(s, k, what, v);
	*out = d;
	return 1;
}

static int get_bool(const struct src *s, json_object *o, const char *k,
		    bool *out)
{
	json_object *v = get(o, k);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(s, k, "true or false", v);
	*out = json_object_get_boolean(v);
	return 1;
}

static int get_str(const struct src *s, json_object *o, const char *k,
		   const char **out, size_t *len)
{
	json_object *v = get(o, k);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return bad(s, k, "a string", v);
	*out = json_object_get_string(v);
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return 1;
}

/* A copy of string field k into *out (left NULL when absent). */
static int dup_str(const struct src *s, json_object *o, const char *k,
		   char **out, size_t *len)
{
	const char *v;
	size_t n = 0;
	int r = get_str(s, o, k, &v, &n);
	if (r <= 0)
		return r;
	if (!(*out = malloc(n + 1)))
		return monkey_set_error(s->err, -ENOMEM, "out of memory");
	memcpy(*out, v, n + 1);
	if (len)
		*len = n;
	return 1;
}

static int get_hash(const struct src *s, json_object *o, const char *k,
		    char out[65])
{
	const char *v;
	size_t n = 0;
	int r = get_str(s, o, k, &v, &n);
	if (r <= 0)
		return r;
	if (n != 64 || strspn(v, "0123456789abcdef") != 64)
		return bad(s, k, "64 lowercase hexadecimal digits", get(o, k));
	memcpy(out, v, 65);
	return 1;
}

static int get_flag(const struct src *s, json_object *o, const char *k,
		    int *out)
{
	bool b;
	int r = get_bool(s, o, k, &b);
	if (r > 0)
		*out = b;
	return r;
}

static void recorded_free(struct monkey_replay_recorded *r)
{
	free(r->backend);
	free(r->workspace);
	free(r->image);
}

static void command_free(struct monkey_replay_command *c)
{
	free(c->id);
	struct monkey_strv argv = {.v = c->argv, .n = c->argc};
	monkey_strv_free(&argv);
	free(c->workdir);
	free(c->stdin_data);
	free(c->backend);
	free(c->error);
	free(c->stdout_copy);
	free(c->stderr_copy);
}

MONKEY_EXPORT void monkey_replay_log_free(struct monkey_replay_log *log)
{
	for (size_t i = 0; i < log->n; i++)
		command_free(&log->cmds[i]);
	free(log->cmds);
	recorded_free(&log->rec);
	free(log->model);
	free(log->task);
	memset(log, 0, sizeof(*log));
}

int replay_backend_safety(const char *name, int recorded)
{
	if (name && !strcmp(name, "none"))
		return MONKEY_SAFETY_NONE;
	if (name && !strcmp(name, "spawn"))
		return MONKEY_SAFETY_MEDIUM;
	if (name && !strcmp(name, "docker"))
		return MONKEY_SAFETY_HIGH;
	if (recorded >= MONKEY_SAFETY_NONE && recorded <= MONKEY_SAFETY_HIGH)
		return recorded;
	return MONKEY_SAFETY_HIGH;
}

static int read_mounts(const struct src *s, json_object *l,
		       struct monkey_replay_recorded *r)
{
	json_object *m = get(l, "mounts");
	if (!m)
		return 0;
	if (!json_object_is_type(m, json_type_array))
		return bad(s, "mounts", "an array of strings", m);
	for (size_t i = 0; i < json_object_array_length(m); i++)
		if (!json_object_is_type(json_object_array_get_idx(m, i),
					 json_type_string))
			return bad(s, "mounts", "an array of strings", m);
	r->n_mounts = (int64_t)json_object_array_length(m);
	return 1;
}

static int read_limits(const struct src *s, json_object *l,
		       struct monkey_replay_recorded *r)
{
	if (!json_object_is_type(l, json_type_object))
		return bad(s, "limits", "an object", l);
	int64_t scratch;
	int rc;
	if ((rc = get_int(s, l, key(s, "timeoutMs", "timeout_ms"), 0,
			  REPLAY_MAX_TIMEOUT_MS, &r->timeout_ms)) < 0 ||
	    (rc = get_int(s, l, key(s, "memoryMb", "memory_mb"), 0,
			  REPLAY_MAX_MEMORY_MB, &r->memory_mb)) < 0 ||
	    (rc = get_int(s, l, "pids", 0, REPLAY_MAX_PIDS, &r->pids)) < 0 ||
	    (rc = get_num(s, l, "cpus", 0, REPLAY_MAX_CPUS, &r->cpus)) < 0 ||
	    (rc = get_flag(s, l, "network", &r->network)) < 0 ||
	    (rc = get_flag(s, l, key(s, "readOnly", "read_only"),
			   &r->read_only)) < 0 ||
	    (rc = get_int(s, l, key(s, "maxOutput", "max_output"), 0,
			  REPLAY_MAX_BYTES, &scratch)) < 0 ||
	    (rc = dup_str(s, l, "image", &r->image, NULL)) < 0 ||
	    (rc = read_mounts(s, l, r)) < 0)
		return rc;
	if (s->version >= 2 && r->memory_mb < 0) {
		rc = get_int(s, l, "addressSpaceMb", 0, REPLAY_MAX_MEMORY_MB,
			     &r->memory_mb);
		if (rc < 0)
			return rc;
		r->memory_approx = rc > 0;
	}
	return 0;
}

static int read_sandbox(const struct src *s, json_object *sb,
			struct monkey_replay_recorded *r)
{
	if (!json_object_is_type(sb, json_type_object))
		return bad(s, "sandbox", "an object", sb);
	int64_t safety = -1;
	int rc;
	if ((rc = dup_str(s, sb, "backend", &r->backend, NULL)) < 0 ||
	    (rc = get_int(s, sb, "safety", MONKEY_SAFETY_NONE,
			  MONKEY_SAFETY_HIGH, &safety)) < 0)
		return rc;
	r->safety = replay_backend_safety(r->backend, (int)safety);
	json_object *l = get(sb, "limits");
	return l ? read_limits(s, l, r) : 0;
}

/* A header; the first one describes the recording (several runs may
 * have appended to one file), later ones are checked all the same. */
static int read_header(const struct src *s, json_object *o,
		       struct monkey_replay_log *log, bool first)
{
	struct monkey_replay_recorded r = {
	    .safety = replay_backend_safety(NULL, -1),
	    .timeout_ms = -1,
	    .memory_mb = -1,
	    .pids = -1,
	    .cpus = -1,
	    .network = -1,
	    .read_only = -1,
	    .n_mounts = -1,
	};
	char *model = NULL, *task = NULL;
	json_object *sb = get(o, "sandbox"), *ses = get(o, "session");
	int rc = 0;
	if (ses && !json_object_is_type(ses, json_type_boolean))
		rc = bad(s, "session", "true or false", ses);
	if (rc < 0 ||
	    (rc = dup_str(s, o, "workspace", &r.workspace, NULL)) < 0 ||
	    (rc = dup_str(s, o, "model", &model, NULL)) < 0 ||
	    (rc = dup_str(s, o, "task", &task, NULL)) < 0 ||
	    (sb && (rc = read_sandbox(s, sb, &r)) < 0) || !first) {
		recorded_free(&r);
		free(model);
		free(task);
		return rc < 0 ? rc : 0;
	}
	log->rec = r;
	log->model = model;
	log->task = task;
	log->session = ses && json_object_get_boolean(ses);
	return 0;
}

static int read_argv(const struct src *s, json_object *o,
		     struct monkey_replay_command *c)
{
	json_object *a = get(o, "argv");
	if (!a || !json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) == 0 ||
	    json_object_array_length(a) > REPLAY_MAX_ARGS)
		return bad(s, "argv", "a non-empty array of strings", a);
	struct monkey_strv argv = {0};
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *w = json_object_array_get_idx(a, i);
		int r = 0;
		if (!json_object_is_type(w, json_type_string) ||
		    (i == 0 && !json_object_get_string_len(w)))
			r = bad(s, "argv",
				"an array of strings starting with a program",
				a);
		else if (monkey_strv_push(&argv, json_object_get_string(w)) < 0)
			r = monkey_set_error(s->err, -ENOMEM, "out of memory");
		if (r < 0) {
			monkey_strv_free(&argv);
			return r;
		}
	}
	c->argv = argv.v;
	c->argc = argv.n;
	return 0;
}

/* What a command that ran recorded about its result. */
static int read_result(const struct src *s, json_object *o,
		       struct monkey_replay_command *c)
{
	const char *k_exit = key(s, "exitCode", "exit_code");
	const char *k_out = key(s, "stdoutSha256", "stdout_sha256");
	const char *k_err = key(s, "stderrSha256", "stderr_sha256");
	int64_t code = -1, out = 0, err = 0, scratch;
	int rc;
	if ((rc = get_int(s, o, k_exit, -1, 255, &code)) <= 0)
		return rc < 0
			   ? rc
			   : bad(s, k_exit,
				 "a whole number in a command that ran", NULL);
	if ((rc = get_int(s, o, "signal", 0, 128, &scratch)) < 0 ||
	    (rc = get_int(s, o, key(s, "durationMs", "duration_ms"), 0,
			  REPLAY_MAX_BYTES, &scratch)) < 0 ||
	    (rc = get_int(s, o, key(s, "stdoutBytes", "stdout_bytes"), 0,
			  REPLAY_MAX_BYTES, &out)) < 0 ||
	    (rc = get_int(s, o, key(s, "stderrBytes", "stderr_bytes"), 0,
			  REPLAY_MAX_BYTES, &err)) < 0 ||
	    (rc = get_bool(s, o, "timedOut", &c->timed_out)) < 0 ||
	    (rc = get_bool(s, o, "cancelled", &c->cancelled)) < 0)
		return rc;
	if ((rc = get_hash(s, o, k_out, c->stdout_sha256)) <= 0 ||
	    (rc = get_hash(s, o, k_err, c->stderr_sha256)) <= 0)
		return rc < 0 ? rc
			      : bad(s, c->stdout_sha256[0] ? k_err : k_out,
				    "a SHA-256 in a command that ran", NULL);
	if (s->version >= 2 &&
	    ((rc = dup_str(s, o, "stdout", &c->stdout_copy, NULL)) < 0 ||
	     (rc = dup_str(s, o, "stderr", &c->stderr_copy, NULL)) < 0))
		return rc;
	c->exit_code = (int)code;
	c->stdout_bytes = (uint64_t)out;
	c->stderr_bytes = (uint64_t)err;
	return 0;
}

static int read_command(const struct src *s, json_object *o,
			struct monkey_replay_command *c)
{
	memset(c, 0, sizeof(*c));
	c->line = s->line;
	c->exit_code = -1;
	int rc = read_argv(s, o, c);
	if (rc < 0)
		return rc;
	if ((rc = dup_str(s, o, "id", &c->id, NULL)) < 0 ||
	    (rc = dup_str(s, o, "workdir", &c->workdir, NULL)) < 0 ||
	    (rc = dup_str(s, o, "backend", &c->backend, NULL)) < 0 ||
	    (rc = dup_str(s, o, "error", &c->error, NULL)) < 0 ||
	    (rc = dup_str(s, o, "stdin", &c->stdin_data, &c->stdin_len)) < 0 ||
	    (rc = get_int(s, o, key(s, "timeoutMs", "timeout_ms"), 0,
			  REPLAY_MAX_TIMEOUT_MS, &c->timeout_ms)) < 0 ||
	    (rc = get_bool(s, o, "ran", &c->ran)) < 0)
		return rc;
	c->has_stdin = c->stdin_data != NULL;
	return c->ran ? read_result(s, o, c) : 0;
}

/* A background job's event; 1 when it is one this monkey does not know
 * (skipped, as unknown records are). */
static int read_job(const struct src *s, json_object *o,
		    struct monkey_replay_command *c)
{
	static const char *const events[] = {NULL, "start", "input", "read",
					     "stop"};
	const char *ev = NULL;
	int64_t job = 0;
	int rc;
	memset(c, 0, sizeof(*c));
	c->line = s->line;
	c->exit_code = -1;
	c->ran = true;
	if ((rc = get_str(s, o, "event", &ev, NULL)) < 0 ||
	    (rc = get_int(s, o, "job", 1, 1000000, &job)) < 0)
		return rc;
	if (!rc)
		return bad(s, "job", "a job number", get(o, "job"));
	c->job = (int)job;
	for (int k = MONKEY_REPLAY_JOB_START; k <= MONKEY_REPLAY_JOB_STOP; k++)
		if (ev && !strcmp(ev, events[k]))
			c->kind = k;
	if (!c->kind)
		return 1;
	if ((rc = dup_str(s, o, "id", &c->id, NULL)) < 0)
		return rc;
	if (c->kind == MONKEY_REPLAY_JOB_INPUT) {
		if ((rc = dup_str(s, o, "data", &c->stdin_data,
				  &c->stdin_len)) < 0 ||
		    (rc = get_bool(s, o, "eof", &c->eof)) < 0)
			return rc;
		c->has_stdin = c->stdin_data != NULL;
		return 0;
	}
	if (c->kind != MONKEY_REPLAY_JOB_START)
		return 0;
	if ((rc = read_argv(s, o, c)) < 0 ||
	    (rc = dup_str(s, o, "workdir", &c->workdir, NULL)) < 0 ||
	    (rc = dup_str(s, o, "stdin", &c->stdin_data, &c->stdin_len)) < 0)
		return rc;
	c->has_stdin = c->stdin_data != NULL;
	return 0;
}

/* One record.  Unknown record types are skipped: a newer monkey may add
 * some. */
static int read_record(struct src *s, json_object *o,
		       struct monkey_replay_log *log)
{
	const char *type = NULL;
	int rc = get_str(s, o, "type", &type, NULL);
	if (rc < 0)
		return rc;
	if (type && !strcmp(type, "header")) {
		int64_t v = 0;
		if ((rc = get_int(s, o, "version", 1, MONKEY_TRANSCRIPT_VERSION,
				  &v)) <= 0)
			return monkey_set_error(
			    s->err, -EINVAL,
			    "%s:%d: a header of a transcript version this "
			    "monkey does not read (it reads 1 to %d)",
			    s->path, s->line, MONKEY_TRANSCRIPT_VERSION);
		bool first = !log->version;
		s->version = (int)v;
		if (first)
			log->version = (int)v;
		return read_header(s, o, log, first);
	}
	bool job = type && !strcmp(type, "job");
	if (!type || (strcmp(type, "command") && !job))
		return 0;
	if (!log->version)
		return monkey_set_error(s->err, -EINVAL,
					"%s:%d: a command before the header "
					"record",
					s->path, s->line);
	struct monkey_replay_command *v =
	    realloc(log->cmds, (log->n + 1) * sizeof(*v));
	if (!v)
		return monkey_set_error(s->err, -ENOMEM, "out of memory");
	log->cmds = v;
	rc = job ? read_job(s, o, &v[log->n]) : read_command(s, o, &v[log->n]);
	log->n++;      /* freed with the log even when half read */
	if (rc == 1) { /* an event of a newer monkey: not replayed */
		command_free(&v[--log->n]);
		rc = 0;
	}
	return rc;
}

/* One line, at most REPLAY_MAX_LINE bytes: a transcript is untrusted, and
 * one endless line must not take all memory.  NUL bytes are kept (and
 * make the line malformed).  Returns its length, 0 at the end, -E2BIG,
 * -ENOMEM or -EIO. */
static ssize_t read_line(FILE *f, char **buf, size_t *cap)
{
	size_t len = 0;
	int ch;
	while ((ch = getc(f)) != EOF) {
		if (len >= REPLAY_MAX_LINE)
			return -E2BIG;
		if (len + 2 > *cap) {
			size_t c = *cap ? *cap * 2 : 4096;
			char *b = realloc(*buf, c);
			if (!b)
				return -ENOMEM;
			*buf = b;
			*cap = c;
		}
		(*buf)[len++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (ferror(f))
		return -EIO;
	if (len)
		(*buf)[len] = '\0';
	return (ssize_t)len;
}

static json_object *parse_line(const char *buf, size_t len)
{
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return NULL;
	json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
	size_t used = json_tokener_get_parse_end(tok);
	bool ok = json_tokener_get_error(tok) == json_tokener_success &&
		  strspn(buf + used, " \t\r\n") == len - used;
	json_tokener_free(tok);
	if (!ok || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int load_lines(FILE *f, struct src *s, struct monkey_replay_log *log)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = 0;
	while (r == 0 && (len = read_line(f, &buf, &cap)) != 0) {
		s->line++;
		if (len < 0)
			return monkey_set_error(
			    s->err, (int)len, "%s:%d: %s", s->path, s->line,
			    len == -E2BIG ? "the line is longer than 64 MiB"
					  : strerror((int)-len));
		if (strspn(buf, " \t\r\n") == (size_t)len)
			continue; /* blank */
		json_object *o = parse_line(buf, (size_t)len);
		if (!o)
			return monkey_set_error(
			    s->err, -EINVAL,
			    "%s:%d: not a JSON record; is this a monkey "
			    "transcript?",
			    s->path, s->line);
		r = read_record(s, o, log);
		json_object_put(o);
	}
	if (r == 0 && !log->version)
		r = monkey_set_error(s->err, -EINVAL,
				     "%s: no header record; is this a monkey "
				     "transcript?",
				     s->path);
	return r;
}

int replay_load_file(FILE *f, const char *name, struct monkey_replay_log *log,
		     struct monkey_error *err)
{
	memset(log, 0, sizeof(*log));
	struct src s = {.path = name, .err = err};
	int r = load_lines(f, &s, log);
	if (r < 0)
		monkey_replay_log_free(log);
	return r;
}

MONKEY_EXPORT int monkey_replay_load(const char *path,
				     struct monkey_replay_log *log,
				     struct monkey_error *err)
{
	memset(log, 0, sizeof(*log));
	FILE *f = fopen(path, "re");
	if (!f)
		return monkey_set_error(err, -errno, "cannot open %s: %s", path,
					strerror(errno));
	int r = replay_load_file(f, path, log, err);
	fclose(f);
	return r;
}
