/* Tool definitions sent to the model and the checking of the arguments it
 * sends back: every mistake becomes a message the model can act on. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tools.h"

const struct provider_tool monkey_tools[TOOL_COUNT] = {
    [TOOL_SHELL] =
	{
	    .name = "shell_execute",
	    .description =
		"Run one command in the sandbox and get its exit code, "
		"stdout and stderr (long output is shortened to its "
		"head and tail). command is an argv array run without "
		"a shell: use [\"sh\", \"-c\", \"...\"] for pipes, "
		"redirection or globbing. Commands start in the "
		"workspace root unless workdir is given. With "
		"background true the command starts as a job and the "
		"call returns at once with its job id and what it "
		"printed in its first second (for servers, watchers, "
		"REPLs); use job_output, job_input and job_stop on it.",
	    .schema = "{\"type\":\"object\",\"properties\":{"
		      "\"command\":{\"type\":\"array\",\"items\":{\"type\":"
		      "\"string\"},\"minItems\":1,\"description\":\"program "
		      "and arguments, e.g. [\\\"make\\\", \\\"test\\\"]\"},"
		      "\"workdir\":{\"type\":\"string\",\"description\":"
		      "\"working directory relative to the workspace root\"},"
		      "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,"
		      "\"description\":\"time limit in milliseconds (at most "
		      "the sandbox's limit)\"},"
		      "\"stdin\":{\"type\":\"string\",\"description\":"
		      "\"data for the command's standard input\"},"
		      "\"background\":{\"type\":\"boolean\",\"description\":"
		      "\"start it as a background job\"}},"
		      "\"required\":[\"command\"]}",
	},
    [TOOL_READ_FILE] =
	{
	    .name = "read_file",
	    .description =
		"Read a text file in the workspace. offset is the first "
		"line (1-based) and limit the number of lines; long "
		"files are shortened, so read them in parts.",
	    .schema = "{\"type\":\"object\",\"properties\":{"
		      "\"path\":{\"type\":\"string\",\"description\":\"path "
		      "relative to the workspace root\"},"
		      "\"offset\":{\"type\":\"integer\",\"minimum\":1},"
		      "\"limit\":{\"type\":\"integer\",\"minimum\":1}},"
		      "\"required\":[\"path\"]}",
	},
    [TOOL_WRITE_FILE] =
	{
	    .name = "write_file",
	    .description =
		"Create or replace a file in the workspace with content "
		"(missing parent directories are created).",
	    .schema = "{\"type\":\"object\",\"properties\":{"
		      "\"path\":{\"type\":\"string\"},"
		      "\"content\":{\"type\":\"string\"}},"
		      "\"required\":[\"path\",\"content\"]}",
	},
    [TOOL_EDIT_FILE] =
	{
	    .name = "edit_file",
	    .description =
		"Replace old_string by new_string in a file. old_string "
		"must occur exactly once: include enough surrounding "
		"text to make it unique.",
	    .schema = "{\"type\":\"object\",\"properties\":{"
		      "\"path\":{\"type\":\"string\"},"
		      "\"old_string\":{\"type\":\"string\"},"
		      "\"new_string\":{\"type\":\"string\"}},"
		      "\"required\":[\"path\",\"old_string\",\"new_string\"]}",
	},
    [TOOL_LIST_FILES] =
	{
	    .name = "list_files",
	    .description =
		"List a directory of the workspace (default: the root). "
		"Directories end in /, symlinks show their target.",
	    .schema = "{\"type\":\"object\",\"properties\":{"
		      "\"path\":{\"type\":\"string\"},"
		      "\"recursive\":{\"type\":\"boolean\"}}}",
	},
    [TOOL_JOB_OUTPUT] =
	{
	    .name = "job_output",
	    .description =
		"Output of a background job since the last read (long "
		"output is shortened to its head and tail), waiting up "
		"to wait_ms (default 1000) for some, and whether it "
		"still runs, with its exit code once it ended.",
	    .schema = "{\"type\":\"object\",\"properties\":{"
		      "\"job\":{\"type\":\"integer\",\"minimum\":1},"
		      "\"wait_ms\":{\"type\":\"integer\",\"minimum\":0,"
		      "\"maximum\":60000}},\"required\":[\"job\"]}",
	},
    [TOOL_JOB_INPUT] =
	{
	    .name = "job_input",
	    .description = "Write data to a background job's standard "
			   "input; eof true closes it afterwards.",
	    .schema = "{\"type\":\"object\",\"properties\":{"
		      "\"job\":{\"type\":\"integer\",\"minimum\":1},"
		      "\"data\":{\"type\":\"string\"},"
		      "\"eof\":{\"type\":\"boolean\"}},"
		      "\"required\":[\"job\",\"data\"]}",
	},
    [TOOL_JOB_STOP] =
	{
	    .name = "job_stop",
	    .description = "Stop a background job and everything it "
			   "started (SIGTERM, then SIGKILL after the grace "
			   "time) and get its last output.",
	    .schema = "{\"type\":\"object\",\"properties\":{"
		      "\"job\":{\"type\":\"integer\",\"minimum\":1}},"
		      "\"required\":[\"job\"]}",
	},
};

/* A call the model got wrong: -EINVAL with what to do about it. */
static int fail(struct monkey_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(struct monkey_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	monkey_set_error_v(err, -EINVAL, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int no_memory(struct monkey_error *err)
{
	return monkey_set_error(err, -ENOMEM, "out of memory");
}

/* A string field: 0 found, 1 absent, <0 error (message set). */
static int get_string(json_object *o, const char *key, bool required,
		      char **out, size_t *len, struct monkey_error *err)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v) {
		if (required)
			return fail(
			    err, "missing required field '%s' (a string)", key);
		return 1;
	}
	if (!json_object_is_type(v, json_type_string))
		return fail(err, "field '%s' must be a string, not %s", key,
			    json_type_to_name(json_object_get_type(v)));
	size_t n = (size_t)json_object_get_string_len(v);
	*out = malloc(n + 1);
	if (!*out)
		return no_memory(err);
	memcpy(*out, json_object_get_string(v), n);
	(*out)[n] = '\0';
	if (len)
		*len = n;
	else if (strlen(*out) != n)
		return fail(err, "field '%s' contains a NUL character", key);
	return 0;
}

static int get_int(json_object *o, const char *key, int64_t min, int64_t *out,
		   struct monkey_error *err)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 1;
	double d = json_object_get_double(v);
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_double) && d >= -9e18 &&
		   d <= 9e18 && d == (double)(int64_t)d) {
		*out = (int64_t)d;
	} else {
		return fail(err, "field '%s' must be an integer", key);
	}
	if (*out < min)
		return fail(err, "field '%s' must be at least %lld", key,
			    (long long)min);
	return 0;
}

static int get_bool(json_object *o, const char *key, bool *out,
		    struct monkey_error *err)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(err, "field '%s' must be true or false", key);
	*out = json_object_get_boolean(v);
	return 0;
}

static int parse_shell(json_object *o, struct tool_args *a,
		       struct monkey_error *err)
{
	json_object *cmd;
	if (!json_object_object_get_ex(o, "command", &cmd) || !cmd)
		return fail(err, "missing required field 'command' (an array "
				 "of strings, e.g. [\"ls\", \"-l\"])");
	if (!json_object_is_type(cmd, json_type_array))
		return fail(
		    err,
		    "field 'command' must be an array of strings (argv), "
		    "e.g. [\"sh\", \"-c\", \"echo hi\"], not %s",
		    json_type_to_name(json_object_get_type(cmd)));
	size_t n = json_object_array_length(cmd);
	if (n == 0)
		return fail(err, "field 'command' must not be empty");
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(cmd, i);
		if (!s || !json_object_is_type(s, json_type_string))
			return fail(err,
				    "command[%zu] must be a string, not %s", i,
				    json_type_to_name(json_object_get_type(s)));
		const char *str = json_object_get_string(s);
		if (strlen(str) != (size_t)json_object_get_string_len(s))
			return fail(err,
				    "command[%zu] contains a NUL character", i);
		if (monkey_strv_push(&a->argv, str) < 0)
			return no_memory(err);
	}
	if (!a->argv.v[0][0])
		return fail(err, "command[0] (the program) must not be empty");
	int r;
	if ((r = get_string(o, "workdir", false, &a->workdir, NULL, err)) < 0)
		return r;
	if ((r = get_int(o, "timeout_ms", 1, &a->timeout_ms, err)) < 0)
		return r;
	r = get_string(o, "stdin", false, &a->stdin_data, &a->stdin_len, err);
	if (r < 0)
		return r;
	a->has_stdin = r == 0;
	return get_bool(o, "background", &a->background, err);
}

/* job_output, job_input, job_stop. */
static int parse_job(int kind, json_object *o, struct tool_args *a,
		     struct monkey_error *err)
{
	int r = get_int(o, "job", 1, &a->job, err);
	if (r < 0)
		return r;
	if (r > 0)
		return fail(err, "missing required field 'job' (the job id "
				 "shell_execute returned)");
	a->wait_ms = -1;
	if (kind == TOOL_JOB_OUTPUT) {
		if ((r = get_int(o, "wait_ms", 0, &a->wait_ms, err)) < 0)
			return r;
		if (a->wait_ms > 60000)
			return fail(err,
				    "field 'wait_ms' must be at most 60000");
		return 0;
	}
	if (kind != TOOL_JOB_INPUT)
		return 0;
	if ((r = get_string(o, "data", true, &a->data, &a->data_len, err)) < 0)
		return r;
	return get_bool(o, "eof", &a->eof, err);
}

static int parse_kind(int kind, json_object *o, struct tool_args *a,
		      struct monkey_error *err)
{
	int r = 0;
	switch (kind) {
	case TOOL_SHELL:
		return parse_shell(o, a, err);
	case TOOL_JOB_OUTPUT:
	case TOOL_JOB_INPUT:
	case TOOL_JOB_STOP:
		return parse_job(kind, o, a, err);
	case TOOL_READ_FILE:
		if ((r = get_string(o, "path", true, &a->path, NULL, err)) < 0)
			return r;
		if ((r = get_int(o, "offset", 1, &a->offset, err)) < 0)
			return r;
		if ((r = get_int(o, "limit", 1, &a->limit, err)) < 0)
			return r;
		return 0;
	case TOOL_WRITE_FILE:
		if ((r = get_string(o, "path", true, &a->path, NULL, err)) < 0)
			return r;
		/* Content may hold NUL bytes: files are bytes. */
		size_t len;
		if ((r = get_string(o, "content", true, &a->content, &len,
				    err)) < 0)
			return r;
		a->content_len = len;
		return 0;
	case TOOL_EDIT_FILE:
		if ((r = get_string(o, "path", true, &a->path, NULL, err)) <
			0 ||
		    (r = get_string(o, "old_string", true, &a->old_string, NULL,
				    err)) < 0 ||
		    (r = get_string(o, "new_string", true, &a->new_string, NULL,
				    err)) < 0)
			return r;
		if (!a->old_string[0])
			return fail(err, "field 'old_string' must not be empty "
					 "(use write_file to create a file)");
		return 0;
	case TOOL_LIST_FILES: {
		if ((r = get_string(o, "path", false, &a->path, NULL, err)) < 0)
			return r;
		json_object *v;
		if (json_object_object_get_ex(o, "recursive", &v) && v) {
			if (!json_object_is_type(v, json_type_boolean))
				return fail(err, "field 'recursive' must be "
						 "true or false");
			a->recursive = json_object_get_boolean(v);
		}
		return 0;
	}
	}
	return -EINVAL;
}

int tools_parse(const char *name, const char *json, struct tool_args *a,
		struct monkey_error *err)
{
	memset(a, 0, sizeof(*a));
	int kind = -1;
	for (int i = 0; i < TOOL_COUNT; i++)
		if (name && !strcmp(name, monkey_tools[i].name))
			kind = i;
	if (kind < 0)
		return fail(err,
			    "unknown tool '%s'; the tools are shell_execute, "
			    "read_file, write_file, edit_file, list_files, "
			    "job_output, job_input and job_stop",
			    name ? name : "");
	a->kind = kind;
	if (!json || !*json)
		json = "{}";
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return no_memory(err);
	size_t len = strlen(json);
	json_object *o = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t used = (size_t)tok->char_offset;
	json_tokener_free(tok);
	int r;
	if (!o || je != json_tokener_success) {
		r = fail(err,
			 "the arguments are not valid JSON (%s at byte %zu); "
			 "send one JSON object that matches the tool's schema",
			 je == json_tokener_continue
			     ? "unexpected end"
			     : json_tokener_error_desc(je),
			 used);
	} else if (json[used + strspn(json + used, " \t\r\n")]) {
		r = fail(err,
			 "the arguments have extra text after the JSON "
			 "object (at byte %zu)",
			 used);
	} else if (!json_object_is_type(o, json_type_object)) {
		r = fail(err, "the arguments must be a JSON object, not %s",
			 json_type_to_name(json_object_get_type(o)));
	} else {
		r = parse_kind(kind, o, a, err);
	}
	json_object_put(o);
	if (r < 0) {
		int k = a->kind;
		tools_args_free(a);
		a->kind = k;
	}
	return r;
}

void tools_args_free(struct tool_args *a)
{
	monkey_strv_free(&a->argv);
	free(a->workdir);
	free(a->stdin_data);
	free(a->path);
	free(a->content);
	free(a->old_string);
	free(a->new_string);
	free(a->data);
	memset(a, 0, sizeof(*a));
}
