/* Transcript records of an agent run: the header, each model turn and the
 * end.  Tool calls and command results are recorded by agent_tools.c. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent_internal.h"
#include "capture.h"
#include "jsonout.h"

void agent_notice(struct monkey_agent *a, int level, const char *fmt, ...)
{
	if (!a->opts.cb.notice)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->opts.cb.notice(a->opts.cb.ctx, level, msg);
}

void agent_record(struct monkey_agent *a, const char *type, json_object *rec)
{
	if (a->tr.fd < 0) {
		json_object_put(rec);
		return;
	}
	int r = transcript_write(&a->tr, type, rec);
	if (r < 0) {
		agent_notice(a, MONKEY_LOG_WARNING,
			     "cannot write the transcript %s: %s; it stops "
			     "here",
			     a->tr.path, strerror(-r));
		/* Keep the path for the report; stop writing. */
		close(a->tr.fd);
		a->tr.fd = -1;
	}
}

static json_object *strs(const char *const *v, size_t n)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; arr && i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* A resource figure, null when the backend could not tell (-1). */
static void add_figure(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, v >= 0 ? json_object_new_int64(v) : NULL);
}

/* The limits in force: only those the backend enforces (its capability
 * flags), so that the header never claims a limit that was not there. */
static json_object *enforced_limits(const struct monkey_exec_options *eo,
				    uint32_t caps)
{
	json_object *l = json_object_new_object();
	if (caps & MONKEY_CAP_TIMEOUT)
		add_int(l, "timeoutMs", eo->timeout_ms);
	if (caps & MONKEY_CAP_MEMORY)
		add_int(l, "memoryMb", (int64_t)eo->memory_mb);
	else if (caps & MONKEY_CAP_MEMORY_APPROX)
		add_int(l, "addressSpaceMb", (int64_t)eo->memory_mb);
	if (caps & MONKEY_CAP_CPU)
		json_object_object_add(l, "cpus",
				       json_object_new_double(eo->cpus));
	if (caps & MONKEY_CAP_PIDS)
		add_int(l, "pids", eo->pids);
	if ((caps & MONKEY_CAP_CPU_TIME) && eo->cpu_time_s)
		add_int(l, "cpuTimeS", (int64_t)eo->cpu_time_s);
	if ((caps & MONKEY_CAP_FILE_SIZE) && eo->file_size_bytes)
		add_int(l, "fileSizeBytes", (int64_t)eo->file_size_bytes);
	if ((caps & MONKEY_CAP_OPEN_FILES) && eo->open_files)
		add_int(l, "openFiles", (int64_t)eo->open_files);
	if (caps & MONKEY_CAP_NETWORK_ISOLATION)
		json_object_object_add(l, "network",
				       json_object_new_boolean(eo->network));
	if (caps & MONKEY_CAP_READ_ONLY_ROOT)
		json_object_object_add(l, "readOnly",
				       json_object_new_boolean(eo->read_only));
	if ((caps & MONKEY_CAP_IMAGE) && eo->image)
		json_object_object_add(l, "image",
				       json_object_new_string(eo->image));
	if ((caps & MONKEY_CAP_USER) && eo->user)
		json_object_object_add(l, "user",
				       json_object_new_string(eo->user));
	if (caps & MONKEY_CAP_MOUNTS)
		json_object_object_add(l, "mounts",
				       strs(eo->mounts, eo->n_mounts));
	/* Enforced by the host whatever the backend. */
	add_int(l, "maxOutput", (int64_t)eo->max_output);
	return l;
}

json_object *agent_record_sandbox(const struct monkey_exec_options *eo,
				  struct monkey_executor *ex)
{
	const struct monkey_backend *be = monkey_executor_backend(ex);
	json_object *o = json_object_new_object();
	json_object_object_add(
	    o, "requested",
	    json_object_new_string(monkey_executor_requested_name(ex)));
	json_object_object_add(
	    o, "backend",
	    json_object_new_string(monkey_executor_backend_name(ex)));
	json_object_object_add(o, "safety", json_object_new_int(be->safety));
	json_object_object_add(
	    o, "fellBack",
	    json_object_new_boolean(monkey_executor_fell_back(ex)));
	if (monkey_executor_fell_back(ex))
		json_object_object_add(
		    o, "fallbackReason",
		    json_object_new_string(
			monkey_executor_fallback_reason(ex)));
	json_object_object_add(o, "limits",
			       enforced_limits(eo, be->capabilities));
	/* --env values may be secrets: names only. */
	json_object *names = json_object_new_array();
	for (size_t i = 0; i < eo->n_env; i++) {
		const char *eq = strchr(eo->env[i], '=');
		size_t n = eq ? (size_t)(eq - eo->env[i]) : strlen(eo->env[i]);
		json_object_array_add(
		    names, json_object_new_string_len(eo->env[i], (int)n));
	}
	json_object_object_add(o, "env", names);
	json_object_object_add(o, "passEnv",
			       strs(eo->pass_env, eo->n_pass_env));
	/* The dependency caches the commands may write (--cache). */
	json_object_object_add(o, "caches", strs(eo->caches, eo->n_caches));
	/* Proxy mode's rules (--allow-domain, --proxy-resolve). */
	json_object_object_add(o, "allowDomains",
			       strs(eo->allow_domains, eo->n_allow_domains));
	json_object_object_add(o, "proxyResolve",
			       strs(eo->proxy_resolve, eo->n_proxy_resolve));
	return o;
}

/* A bounded copy of one stream (head and tail), for replay's diff. */
static json_object *output_copy(const struct monkey_capture *c)
{
	size_t len = 0;
	_cleanup_free_ char *all = monkey_capture_join(c, &len);
	if (!all)
		return NULL;
	size_t n = 0;
	_cleanup_free_ char *cut =
	    monkey_shorten(all, len, MONKEY_TRANSCRIPT_OUTPUT_COPY, &n);
	return cut ? monkey_json_bytes(cut, n) : NULL;
}

static void add_result(json_object *o, const struct tools_shell_outcome *so)
{
	const struct monkey_result *r = &so->res;
	json_object_object_add(o, "exitCode",
			       json_object_new_int(r->exit_code));
	json_object_object_add(o, "signal", json_object_new_int(r->signal));
	add_int(o, "durationMs", r->duration_ms);
	add_figure(o, "peakMemoryBytes", r->peak_memory_bytes);
	add_figure(o, "cpuUserMs", r->cpu_user_ms);
	add_figure(o, "cpuSystemMs", r->cpu_system_ms);
	json_object_object_add(o, "timedOut",
			       json_object_new_boolean(r->timed_out));
	json_object_object_add(
	    o, "oomKilled",
	    r->oom_killed == MONKEY_UNKNOWN
		? NULL
		: json_object_new_boolean(r->oom_killed == MONKEY_YES));
	json_object_object_add(o, "cancelled",
			       json_object_new_boolean(r->cancelled));
	const char *limit = monkey_result_limit(r);
	json_object_object_add(o, "limitHit",
			       limit ? json_object_new_string(limit) : NULL);
	add_int(o, "stdoutBytes", (int64_t)r->out.total);
	add_int(o, "stderrBytes", (int64_t)r->err.total);
	json_object_object_add(o, "stdoutSha256",
			       json_object_new_string(so->stdout_sha256));
	json_object_object_add(o, "stderrSha256",
			       json_object_new_string(so->stderr_sha256));
	json_object_object_add(o, "stdout", output_copy(&r->out));
	json_object_object_add(o, "stderr", output_copy(&r->err));
	if (r->error[0])
		json_object_object_add(o, "error",
				       json_object_new_string(r->error));
	monkey_network_to_json(o, r);
}

void agent_record_command(struct monkey_agent *a, const char *id,
			  const struct tool_args *args,
			  const struct tools_shell_outcome *so)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(
	    o, "backend",
	    json_object_new_string(monkey_executor_backend_name(a->ex)));
	json_object_object_add(
	    o, "argv", transcript_strv((const char *const *)args->argv.v));
	json_object_object_add(
	    o, "workdir",
	    json_object_new_string(so->workdir_rel ? so->workdir_rel : "."));
	add_int(o, "timeoutMs", so->timeout_ms);
	if (args->has_stdin)
		json_object_object_add(
		    o, "stdin",
		    json_object_new_string_len(args->stdin_data,
					       (int)args->stdin_len));
	json_object_object_add(o, "ran", json_object_new_boolean(so->ran));
	if (so->ran)
		add_result(o, so);
	else
		json_object_object_add(
		    o, "error",
		    json_object_new_string(so->error ? so->error : ""));
	agent_record(a, "command", o);
}

void agent_record_header(struct monkey_agent *a, const char *task)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "version",
			       json_object_new_int(MONKEY_TRANSCRIPT_VERSION));
	json_object_object_add(o, "monkey",
			       json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "model",
			       json_object_new_string(a->prov.model));
	json_object_object_add(o, "provider",
			       json_object_new_string(a->prov.ops->name));
	json_object_object_add(o, "baseUrl",
			       json_object_new_string(a->prov.shown_url));
	json_object_object_add(o, "workspace", json_object_new_string(a->root));
	json_object_object_add(o, "workdir",
			       json_object_new_string(a->default_workdir));
	json_object_object_add(o, "sandbox", json_object_get(a->sandbox_info));
	/* One session: replay runs the commands in one too. */
	json_object_object_add(o, "session",
			       json_object_new_boolean(a->session != NULL));
	if (a->session)
		json_object_object_add(
		    o, "sessionPersistent",
		    json_object_new_boolean(
			monkey_session_persistent(a->session)));
	json_object_object_add(o, "maxIterations",
			       json_object_new_int(a->opts.max_iterations));
	json_object_object_add(o, "maxTokens",
			       json_object_new_int(a->opts.max_tokens));
	json_object_object_add(
	    o, "requireApproval",
	    json_object_new_boolean(a->opts.require_approval));
	json_object_object_add(o, "autoApprove",
			       json_object_new_boolean(a->opts.auto_approve));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "task", json_object_new_string(task));
	agent_record(a, "header", o);
}

void agent_record_turn(struct monkey_agent *a, int iteration,
		       const struct provider_turn *t)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "iteration", json_object_new_int(iteration));
	json_object_object_add(o, "stopReason",
			       json_object_new_string(t->stop_raw));
	json_object *content = json_object_new_array();
	for (size_t i = 0; i < t->msg.n; i++) {
		const struct agent_block *b = &t->msg.blocks[i];
		json_object *c = json_object_new_object();
		if (b->type == AGENT_BLOCK_TEXT) {
			json_object_object_add(c, "type",
					       json_object_new_string("text"));
			json_object_object_add(c, "text",
					       json_object_new_string(b->text));
		} else {
			json_object_object_add(
			    c, "type", json_object_new_string("tool_use"));
			json_object_object_add(c, "id",
					       json_object_new_string(b->id));
			json_object_object_add(c, "name",
					       json_object_new_string(b->name));
			json_object *in = b->input_valid
					      ? json_tokener_parse(b->input)
					      : NULL;
			if (in)
				json_object_object_add(c, "input", in);
			else
				json_object_object_add(
				    c, "inputRaw",
				    json_object_new_string(b->input));
		}
		json_object_array_add(content, c);
	}
	json_object_object_add(o, "content", content);
	json_object *u = json_object_new_object();
	json_object_object_add(u, "inputTokens",
			       json_object_new_int64((int64_t)t->input_tokens));
	json_object_object_add(
	    u, "outputTokens",
	    json_object_new_int64((int64_t)t->output_tokens));
	json_object_object_add(o, "usage", u);
	json_object_object_add(o, "attempts", json_object_new_int(t->attempts));
	agent_record(a, "model", o);
}

static const char *end_name(int end)
{
	switch (end) {
	case MONKEY_AGENT_END_ANSWER:
		return "answer";
	case MONKEY_AGENT_END_MAX_ITERATIONS:
		return "max_iterations";
	case MONKEY_AGENT_END_MAX_TOKENS:
		return "max_tokens";
	case MONKEY_AGENT_END_REFUSAL:
		return "refusal";
	case MONKEY_AGENT_END_CANCELLED:
		return "cancelled";
	}
	return "error";
}

void agent_record_end(struct monkey_agent *a,
		      const struct monkey_agent_report *rep)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "reason",
			       json_object_new_string(end_name(rep->end)));
	json_object_object_add(o, "message",
			       json_object_new_string(rep->message));
	json_object_object_add(o, "iterations",
			       json_object_new_int(rep->iterations));
	json_object_object_add(o, "toolCalls",
			       json_object_new_int(rep->tool_calls));
	agent_record(a, "end", o);
}
