/* Transcript records of an agent run: the header, each model turn and the
 * end.  Tool calls and command results are recorded by agent_tools.c. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent_internal.h"

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

json_object *agent_record_sandbox(const struct monkey_exec_options *eo,
				  struct monkey_executor *ex)
{
	json_object *o = json_object_new_object();
	json_object_object_add(
	    o, "requested",
	    json_object_new_string(monkey_executor_requested_name(ex)));
	json_object_object_add(
	    o, "backend",
	    json_object_new_string(monkey_executor_backend_name(ex)));
	json_object_object_add(
	    o, "fell_back",
	    json_object_new_boolean(monkey_executor_fell_back(ex)));
	if (monkey_executor_fell_back(ex))
		json_object_object_add(
		    o, "fallback_reason",
		    json_object_new_string(
			monkey_executor_fallback_reason(ex)));
	json_object *l = json_object_new_object();
	json_object_object_add(l, "timeout_ms",
			       json_object_new_int64(eo->timeout_ms));
	json_object_object_add(l, "memory_mb",
			       json_object_new_int64((int64_t)eo->memory_mb));
	json_object_object_add(l, "cpus", json_object_new_double(eo->cpus));
	json_object_object_add(l, "pids", json_object_new_int64(eo->pids));
	json_object_object_add(l, "network",
			       json_object_new_boolean(eo->network));
	json_object_object_add(l, "read_only",
			       json_object_new_boolean(eo->read_only));
	json_object_object_add(l, "max_output",
			       json_object_new_int64((int64_t)eo->max_output));
	if (eo->image)
		json_object_object_add(l, "image",
				       json_object_new_string(eo->image));
	json_object_object_add(l, "mounts", strs(eo->mounts, eo->n_mounts));
	/* --env values may be secrets: names only. */
	json_object *names = json_object_new_array();
	for (size_t i = 0; i < eo->n_env; i++) {
		const char *eq = strchr(eo->env[i], '=');
		size_t n = eq ? (size_t)(eq - eo->env[i]) : strlen(eo->env[i]);
		json_object_array_add(
		    names, json_object_new_string_len(eo->env[i], (int)n));
	}
	json_object_object_add(l, "env", names);
	json_object_object_add(l, "pass_env",
			       strs(eo->pass_env, eo->n_pass_env));
	json_object_object_add(o, "limits", l);
	return o;
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
	json_object_object_add(o, "base_url",
			       json_object_new_string(a->prov.shown_url));
	json_object_object_add(o, "workspace", json_object_new_string(a->root));
	json_object_object_add(o, "workdir",
			       json_object_new_string(a->default_workdir));
	json_object_object_add(o, "sandbox", json_object_get(a->sandbox_info));
	json_object_object_add(o, "max_iterations",
			       json_object_new_int(a->opts.max_iterations));
	json_object_object_add(o, "max_tokens",
			       json_object_new_int(a->opts.max_tokens));
	json_object_object_add(
	    o, "require_approval",
	    json_object_new_boolean(a->opts.require_approval));
	json_object_object_add(o, "auto_approve",
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
	json_object_object_add(o, "stop_reason",
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
				    c, "input_raw",
				    json_object_new_string(b->input));
		}
		json_object_array_add(content, c);
	}
	json_object_object_add(o, "content", content);
	json_object *u = json_object_new_object();
	json_object_object_add(u, "input_tokens",
			       json_object_new_int64((int64_t)t->input_tokens));
	json_object_object_add(
	    u, "output_tokens",
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
	json_object_object_add(o, "tool_calls",
			       json_object_new_int(rep->tool_calls));
	agent_record(a, "end", o);
}
