/* Reading a transcript's command records and running them again. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "replay.h"
#include "tools.h"
#include "transcript.h"

static const char *str_field(json_object *o, const char *k)
{
	json_object *v;
	if (json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static int64_t int_field(json_object *o, const char *k, int64_t def)
{
	json_object *v;
	if (json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return def;
}

static bool bool_field(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) &&
	       json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static char *dup_field(json_object *o, const char *k)
{
	const char *s = str_field(o, k);
	return s ? strdup(s) : NULL;
}

static void command_free(struct replay_command *c)
{
	free(c->id);
	monkey_strv_free(&c->argv);
	free(c->workdir);
	free(c->stdin_data);
	free(c->backend);
	free(c->error);
}

void replay_log_free(struct replay_log *log)
{
	for (size_t i = 0; i < log->n; i++)
		command_free(&log->cmds[i]);
	free(log->cmds);
	free(log->workspace);
	free(log->backend);
	free(log->image);
	free(log->model);
	free(log->task);
	memset(log, 0, sizeof(*log));
}

static int parse_command(json_object *o, int line, struct replay_command *c,
			 const char *path, struct monkey_error *err)
{
	memset(c, 0, sizeof(*c));
	c->line = line;
	json_object *argv;
	if (!json_object_object_get_ex(o, "argv", &argv) ||
	    !json_object_is_type(argv, json_type_array) ||
	    json_object_array_length(argv) == 0)
		return monkey_set_error(err, -EINVAL,
					"%s:%d: command record without argv",
					path, line);
	for (size_t i = 0; i < json_object_array_length(argv); i++) {
		json_object *s = json_object_array_get_idx(argv, i);
		if (!json_object_is_type(s, json_type_string))
			return monkey_set_error(
			    err, -EINVAL, "%s:%d: argv[%zu] is not a string",
			    path, line, i);
		if (monkey_strv_push(&c->argv, json_object_get_string(s)) < 0)
			return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	c->id = dup_field(o, "id");
	c->workdir = dup_field(o, "workdir");
	c->backend = dup_field(o, "backend");
	c->error = dup_field(o, "error");
	c->timeout_ms = int_field(o, "timeout_ms", 0);
	json_object *in;
	if (json_object_object_get_ex(o, "stdin", &in) &&
	    json_object_is_type(in, json_type_string)) {
		c->stdin_len = (size_t)json_object_get_string_len(in);
		c->stdin_data = malloc(c->stdin_len + 1);
		if (!c->stdin_data)
			return monkey_set_error(err, -ENOMEM, "out of memory");
		memcpy(c->stdin_data, json_object_get_string(in),
		       c->stdin_len + 1);
		c->has_stdin = true;
	}
	c->ran = bool_field(o, "ran");
	c->cancelled = bool_field(o, "cancelled");
	c->timed_out = bool_field(o, "timedOut");
	c->exit_code = (int)int_field(o, "exit_code", -1);
	c->stdout_bytes = (uint64_t)int_field(o, "stdout_bytes", 0);
	c->stderr_bytes = (uint64_t)int_field(o, "stderr_bytes", 0);
	const char *h = str_field(o, "stdout_sha256");
	snprintf(c->stdout_sha256, sizeof(c->stdout_sha256), "%s", h ? h : "");
	h = str_field(o, "stderr_sha256");
	snprintf(c->stderr_sha256, sizeof(c->stderr_sha256), "%s", h ? h : "");
	if (c->ran && (!c->stdout_sha256[0] || !c->stderr_sha256[0]))
		return monkey_set_error(err, -EINVAL,
					"%s:%d: command record without output "
					"hashes",
					path, line);
	return 0;
}

/* The recording's limits, so a replay runs commands as they ran. */
static void read_limits(json_object *sb, struct replay_log *log)
{
	json_object *l, *v;
	if (!json_object_object_get_ex(sb, "limits", &l) ||
	    !json_object_is_type(l, json_type_object))
		return;
	log->has_limits = true;
	log->image = dup_field(l, "image");
	log->timeout_ms = int_field(l, "timeout_ms", 0);
	log->memory_mb = int_field(l, "memory_mb", 0);
	log->pids = int_field(l, "pids", 0);
	if (json_object_object_get_ex(l, "cpus", &v))
		log->cpus = json_object_get_double(v);
	log->network = bool_field(l, "network");
	log->read_only = bool_field(l, "read_only");
}

static int load_lines(FILE *f, const char *path, struct replay_log *log,
		      struct monkey_error *err)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	int line = 0, r = 0;
	bool header = false;
	while (r == 0 && (len = getline(&buf, &cap, f)) >= 0) {
		line++;
		if (len <= 1)
			continue;
		json_object *o = json_tokener_parse(buf);
		if (!o || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			r = monkey_set_error(
			    err, -EINVAL,
			    "%s:%d: not a JSON record; is this "
			    "a monkey transcript?",
			    path, line);
			break;
		}
		const char *type = str_field(o, "type");
		if (type && !strcmp(type, "header")) {
			int64_t v = int_field(o, "version", 0);
			if (v < 1 || v > MONKEY_TRANSCRIPT_VERSION) {
				r = monkey_set_error(
				    err, -EINVAL,
				    "%s:%d: transcript version %lld is not "
				    "one this monkey reads (%d)",
				    path, line, (long long)v,
				    MONKEY_TRANSCRIPT_VERSION);
			} else if (!header) {
				/* A transcript appended to by several runs
				 * replays from the first workspace. */
				header = true;
				log->workspace = dup_field(o, "workspace");
				log->model = dup_field(o, "model");
				log->task = dup_field(o, "task");
				json_object *sb;
				if (json_object_object_get_ex(o, "sandbox",
							      &sb)) {
					log->backend = dup_field(sb, "backend");
					read_limits(sb, log);
				}
			}
		} else if (type && !strcmp(type, "command")) {
			if (!header) {
				r = monkey_set_error(
				    err, -EINVAL,
				    "%s:%d: command before the "
				    "header record",
				    path, line);
			} else {
				struct replay_command *v = realloc(
				    log->cmds, (log->n + 1) * sizeof(*v));
				if (!v) {
					r = monkey_set_error(err, -ENOMEM,
							     "out of memory");
				} else {
					log->cmds = v;
					r = parse_command(o, line, &v[log->n],
							  path, err);
					log->n++;
				}
			}
		}
		json_object_put(o);
	}
	free(buf);
	if (r == 0 && !header)
		r = monkey_set_error(err, -EINVAL,
				     "%s: no header record; is this a monkey "
				     "transcript?",
				     path);
	return r;
}

int replay_load(const char *path, struct replay_log *log,
		struct monkey_error *err)
{
	memset(log, 0, sizeof(*log));
	FILE *f = fopen(path, "re");
	if (!f)
		return monkey_set_error(err, -errno, "cannot open %s: %s", path,
					strerror(errno));
	int r = load_lines(f, path, log, err);
	fclose(f);
	if (r < 0)
		replay_log_free(log);
	return r;
}

int replay_run(struct monkey_executor *ex, const struct replay_command *c,
	       struct replay_check *chk, struct monkey_error *err)
{
	memset(chk, 0, sizeof(*chk));
	if (!c->ran) {
		chk->skipped = true;
		snprintf(chk->reason, sizeof(chk->reason),
			 "not run in the recording: %s",
			 c->error ? c->error : "refused");
		return 0;
	}
	if (c->cancelled) {
		chk->skipped = true;
		snprintf(chk->reason, sizeof(chk->reason),
			 "interrupted in the recording");
		return 0;
	}
	/* Borrow the record's fields; tool_args is not freed. */
	struct tool_args a = {
	    .kind = TOOL_SHELL,
	    .argv = c->argv,
	    .workdir = c->workdir,
	    .stdin_data = c->stdin_data,
	    .stdin_len = c->stdin_len,
	    .has_stdin = c->has_stdin,
	};
	struct tools_shell_ctx sc = {
	    .ex = ex,
	    .root = monkey_executor_workspace(ex),
	    .timeout_cap_ms = c->timeout_ms,
	};
	struct tools_shell_outcome so;
	int r = tools_shell_run(&sc, &a, &so);
	if (r < 0)
		return monkey_set_error(err, r, "out of memory");
	if (!so.ran) {
		chk->skipped = true;
		snprintf(chk->reason, sizeof(chk->reason), "%s",
			 so.error ? so.error : "not run");
		tools_shell_outcome_free(&so);
		return 0;
	}
	chk->exit_code = so.res.exit_code;
	chk->timed_out = so.res.timed_out;
	chk->stdout_bytes = so.res.out.total;
	chk->stderr_bytes = so.res.err.total;
	memcpy(chk->stdout_sha256, so.stdout_sha256, 65);
	memcpy(chk->stderr_sha256, so.stderr_sha256, 65);
	snprintf(chk->error, sizeof(chk->error), "%s", so.res.error);
	chk->exit_match = chk->exit_code == c->exit_code;
	chk->stdout_match = !strcmp(chk->stdout_sha256, c->stdout_sha256);
	chk->stderr_match = !strcmp(chk->stderr_sha256, c->stderr_sha256);
	tools_shell_outcome_free(&so);
	return 0;
}
