/* The agent runner: opens a provider and a sandbox executor, then loops
 * model turn -> tool calls -> results until an end condition (final
 * answer, max iterations, max_tokens/refusal, cancel, error). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "agent_internal.h"
#include "error_wrap.h"

/* Tool outputs older than the last exchange are cut to this. */
#define OLD_OUTPUT_MAX 1024

MONKEY_EXPORT void monkey_agent_options_init(struct monkey_agent_options *o)
{
	memset(o, 0, sizeof(*o));
	o->max_iterations = MONKEY_AGENT_DEFAULT_MAX_ITERATIONS;
	o->max_retries = -1;
}

MONKEY_EXPORT void monkey_agent_report_free(struct monkey_agent_report *rep)
{
	free(rep->final_text);
	rep->final_text = NULL;
}

MONKEY_EXPORT int monkey_agent_exit_status(int end)
{
	switch (end) {
	case MONKEY_AGENT_END_ANSWER:
		return 0;
	case MONKEY_AGENT_END_CANCELLED:
		return 130;
	case MONKEY_AGENT_END_MAX_ITERATIONS:
	case MONKEY_AGENT_END_MAX_TOKENS:
	case MONKEY_AGENT_END_REFUSAL:
		return 3;
	}
	return 1;
}

static void on_text(void *ctx, const char *text, size_t len)
{
	struct monkey_agent *a = ctx;
	if (a->opts.cb.text)
		a->opts.cb.text(a->opts.cb.ctx, text, len);
}

/* The text blocks of a reply, joined as they streamed (NULL if none). */
static char *reply_text(const struct agent_message *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->blocks[i].type == AGENT_BLOCK_TEXT)
			n += strlen(m->blocks[i].text);
	char *s = n ? malloc(n + 1) : NULL;
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0, off = 0; i < m->n; i++) {
		if (m->blocks[i].type != AGENT_BLOCK_TEXT)
			continue;
		size_t k = strlen(m->blocks[i].text);
		memcpy(s + off, m->blocks[i].text, k + 1);
		off += k;
	}
	return s;
}

static void on_notice(void *ctx, int level, const char *msg)
{
	struct monkey_agent *a = ctx;
	if (a->opts.cb.notice)
		a->opts.cb.notice(a->opts.cb.ctx, level, msg);
}

static char *dup_opt(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* The executor, the workspace and default working directory, and what
 * depends on them: the system prompt (unless the caller gave one) and the
 * transcript's description of the sandbox. */
static int open_sandbox(struct monkey_agent *a,
			const struct monkey_exec_options *exec,
			struct monkey_error *err)
{
	int r = monkey_executor_open(exec, &a->ex, err);
	if (r < 0)
		return r;
	a->timeout_ms = exec->timeout_ms;
	if (!(a->root = strdup(monkey_executor_workspace(a->ex))))
		return monkey_set_error(err, -ENOMEM, "out of memory");
	if (exec->workdir) {
		r = tools_shell_workdir(a->root, exec->workdir,
					&a->default_workdir, err);
		if (r < 0)
			return monkey_error_wrap(err, r, "--workdir");
	} else if (!(a->default_workdir = strdup("."))) {
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	if (!a->system_prompt && !(a->system_prompt = agent_system_prompt(
				       monkey_executor_backend(a->ex), exec,
				       a->root, a->default_workdir)))
		return monkey_set_error(err, -ENOMEM, "out of memory");
	a->opts.system_prompt = a->system_prompt;
	a->prov.system = a->system_prompt;
	a->sandbox_info = agent_record_sandbox(exec, a->ex);
	return 0;
}

/* Resolve the model and provider and check the key, before anything
 * runs. */
static int open_provider(struct monkey_agent *a, struct monkey_error *err)
{
	struct monkey_agent_options *o = &a->opts;
	int kind = o->provider == MONKEY_PROVIDER_OPENAI ? PROVIDER_OPENAI
		   : o->provider == MONKEY_PROVIDER_ANTHROPIC
		       ? PROVIDER_ANTHROPIC
		       : agent_infer_provider(o->model);
	const char *model = o->model ? monkey_agent_resolve_model(o->model)
			    : kind == PROVIDER_OPENAI
				? MONKEY_AGENT_DEFAULT_OPENAI_MODEL
				: MONKEY_AGENT_DEFAULT_MODEL;
	const struct provider_ops *ops = kind == PROVIDER_OPENAI
					     ? &provider_openai_ops
					     : &provider_anthropic_ops;
	/* The key is checked before anything runs.  An OpenAI-compatible
	 * server of the user's own (a base URL is given) may need none:
	 * Ollama and llama.cpp's server do not. */
	const char *key = o->api_key ? o->api_key : getenv(ops->key_var);
	const char *url_env = getenv(ops->url_var);
	bool own_server =
	    (o->base_url && *o->base_url) || (url_env && *url_env);
	if ((!key || !*key) && !(kind == PROVIDER_OPENAI && own_server))
		return monkey_set_error(
		    err, -ENOKEY,
		    "%s is not set: export %s=<your key> to use the %s "
		    "provider (model %s)%s",
		    ops->key_var, ops->key_var, ops->name, model,
		    kind == PROVIDER_OPENAI
			? "; a local server without authentication (Ollama, "
			  "llama.cpp) needs no key: give its --base-url or "
			  "OPENAI_BASE_URL"
			: "; for an OpenAI-compatible server set "
			  "OPENAI_API_KEY and use --provider openai");
	if (kind == PROVIDER_ANTHROPIC && !o->max_tokens)
		o->max_tokens = MONKEY_AGENT_DEFAULT_MAX_TOKENS;
	int r = provider_init(&a->prov, kind, model, key, o->base_url, err);
	if (r < 0)
		return r;
	a->prov.max_tokens = o->max_tokens;
	a->prov.max_retries = o->max_retries;
	a->prov.reply_max = o->reply_max;
	a->prov.tools = monkey_tools;
	a->prov.n_tools = TOOL_COUNT;
	a->prov.cancel = &a->cancel;
	a->prov.cb.text = on_text;
	a->prov.cb.notice = on_notice;
	a->prov.cb.ctx = a;
	return 0;
}

MONKEY_EXPORT int monkey_agent_open(const struct monkey_agent_options *opts,
				    const struct monkey_exec_options *exec,
				    struct monkey_agent **out,
				    struct monkey_error *err)
{
	*out = NULL;
	struct monkey_agent *a = calloc(1, sizeof(*a));
	if (!a)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	a->tr.fd = -1;
	a->audit.fd = -1;
	a->opts = *opts;
	struct monkey_agent_options *o = &a->opts;
	if (o->max_iterations <= 0)
		o->max_iterations = MONKEY_AGENT_DEFAULT_MAX_ITERATIONS;
	if (o->max_retries < 0)
		o->max_retries = MONKEY_AGENT_DEFAULT_MAX_RETRIES;
	if (!o->output_max)
		o->output_max = MONKEY_AGENT_DEFAULT_OUTPUT_MAX;
	if (!o->history_max)
		o->history_max = MONKEY_AGENT_DEFAULT_HISTORY_MAX;
	if (!o->reply_max)
		o->reply_max = MONKEY_AGENT_DEFAULT_REPLY_MAX;
	int r = open_provider(a, err);
	if (r < 0) {
		free(a);
		return r;
	}
	struct monkey_exec_options defaults;
	if (!exec) {
		monkey_exec_options_init(&defaults);
		exec = &defaults;
	}
	bool oom = false;
	a->transcript_opt = dup_opt(o->transcript, &oom);
	o->transcript = a->transcript_opt;
	a->audit_log_opt = dup_opt(o->audit_log, &oom);
	o->audit_log = a->audit_log_opt;
	a->audit_key_opt = dup_opt(o->audit_key, &oom);
	o->audit_key = a->audit_key_opt;
	if (o->system_prompt)
		a->system_prompt = dup_opt(o->system_prompt, &oom);
	o->system_prompt = a->system_prompt;
	o->model = o->api_key = o->base_url = NULL; /* borrowed: gone */
	r = oom ? monkey_set_error(err, -ENOMEM, "out of memory")
		: open_sandbox(a, exec, err);
	if (r < 0) {
		monkey_agent_close(a);
		return r;
	}
	*out = a;
	return 0;
}

MONKEY_EXPORT void monkey_agent_cancel(struct monkey_agent *a)
{
	a->cancel = 1;
	if (a->ex)
		monkey_executor_cancel(a->ex);
}

MONKEY_EXPORT const char *monkey_agent_model(const struct monkey_agent *a)
{
	return a->prov.model;
}

MONKEY_EXPORT const char *
monkey_agent_provider_name(const struct monkey_agent *a)
{
	return a->prov.ops->name;
}

MONKEY_EXPORT const char *monkey_agent_base_url(const struct monkey_agent *a)
{
	return a->prov.shown_url;
}

MONKEY_EXPORT struct monkey_executor *
monkey_agent_executor(struct monkey_agent *a)
{
	return a->ex;
}

MONKEY_EXPORT const char *
monkey_agent_transcript_path(const struct monkey_agent *a)
{
	return a->transcript_path;
}

MONKEY_EXPORT void monkey_agent_close(struct monkey_agent *a)
{
	if (!a)
		return;
	transcript_close(&a->tr);
	if (a->ex)
		monkey_executor_close(a->ex);
	provider_free(&a->prov);
	json_object_put(a->sandbox_info);
	free(a->root);
	free(a->default_workdir);
	free(a->transcript_opt);
	audit_close(&a->audit);
	free(a->audit_log_opt);
	free(a->audit_key_opt);
	free(a->system_prompt);
	free(a->transcript_path);
	free(a);
}

static void end(struct monkey_agent_report *rep, int why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void end(struct monkey_agent_report *rep, int why, const char *fmt, ...)
{
	rep->end = why;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
	va_end(ap);
}

static bool has_tool_use(const struct agent_message *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->blocks[i].type == AGENT_BLOCK_TOOL_USE)
			return true;
	return false;
}

/* Run the tool calls of reply and push their results.  Returns 0, or
 * -ECANCELED when the run was cancelled meanwhile, or -ENOMEM. */
static int run_tools(struct monkey_agent *a, struct agent_history *h,
		     const struct agent_message *reply)
{
	struct agent_message results = {.role = AGENT_ROLE_USER};
	int r = 0;
	for (size_t i = 0; i < reply->n && r == 0; i++) {
		const struct agent_block *b = &reply->blocks[i];
		if (b->type != AGENT_BLOCK_TOOL_USE)
			continue;
		if (a->cancel) {
			r = -ECANCELED;
			break;
		}
		r = agent_run_tool(a, b, &results);
	}
	if (r == 0 && a->cancel)
		r = -ECANCELED;
	if (r == 0)
		r = agent_history_push(h, &results);
	agent_message_free(&results);
	return r;
}

static int loop(struct monkey_agent *a, struct agent_history *h,
		struct monkey_agent_report *rep, struct monkey_error *err)
{
	const int max = a->opts.max_iterations;
	for (int it = 1; it <= max; it++) {
		if (a->cancel) {
			end(rep, MONKEY_AGENT_END_CANCELLED, "interrupted");
			return 0;
		}
		struct provider_turn t;
		int r = provider_turn(&a->prov, h, &t, err);
		if (r == -ECANCELED || a->cancel) {
			if (r == 0)
				provider_turn_free(&t);
			end(rep, MONKEY_AGENT_END_CANCELLED,
			    "interrupted while waiting for the model");
			return 0;
		}
		if (r < 0) {
			end(rep, MONKEY_AGENT_END_ERROR, "%s", err->message);
			return r;
		}
		rep->iterations = it;
		agent_record_turn(a, it, &t);
		free(rep->final_text);
		rep->final_text = reply_text(&t.msg);
		bool tools = has_tool_use(&t.msg);
		int stop = t.stop;
		char stop_raw[sizeof(t.stop_raw)];
		memcpy(stop_raw, t.stop_raw, sizeof(stop_raw));
		if (t.msg.n && (r = agent_history_push(h, &t.msg)) < 0) {
			provider_turn_free(&t);
			return monkey_set_error(err, r, "out of memory");
		}
		provider_turn_free(&t);
		if (stop == PROVIDER_STOP_MAX_TOKENS) {
			end(rep, MONKEY_AGENT_END_MAX_TOKENS,
			    "the model's reply was cut off at the token limit "
			    "(%s); raise --max-tokens or split the task",
			    stop_raw);
			return 0;
		}
		if (stop == PROVIDER_STOP_REFUSAL) {
			end(rep, MONKEY_AGENT_END_REFUSAL,
			    "the model refused to continue (%s)", stop_raw);
			return 0;
		}
		if (!tools && stop != PROVIDER_STOP_PAUSE) {
			end(rep, MONKEY_AGENT_END_ANSWER, "done after %d %s",
			    it, it == 1 ? "iteration" : "iterations");
			return 0;
		}
		if (tools) {
			r = run_tools(a, h, &h->msgs[h->n - 1]);
			if (r == -ECANCELED) {
				end(rep, MONKEY_AGENT_END_CANCELLED,
				    "interrupted; the running command was "
				    "stopped");
				return 0;
			}
			if (r < 0)
				return monkey_set_error(err, r,
							"out of memory");
		}
		size_t dropped = agent_history_compact(h, OLD_OUTPUT_MAX,
						       a->opts.history_max);
		if (dropped)
			agent_notice(a, MONKEY_LOG_INFO,
				     "conversation compacted: %zu old messages "
				     "dropped to stay under %zu bytes",
				     dropped, a->opts.history_max);
	}
	end(rep, MONKEY_AGENT_END_MAX_ITERATIONS,
	    "stopped after %d iterations without a final answer (raise "
	    "--max-iterations to allow more)",
	    max);
	return 0;
}

MONKEY_EXPORT int monkey_agent_run(struct monkey_agent *a, const char *task,
				   struct monkey_agent_report *rep,
				   struct monkey_error *err)
{
	memset(rep, 0, sizeof(*rep));
	rep->end = MONKEY_AGENT_END_ERROR;
	if (!task || !*task) {
		snprintf(rep->message, sizeof(rep->message),
			 "the task is empty");
		return monkey_set_error(err, -EINVAL, "the task is empty");
	}
	if (a->running)
		return monkey_set_error(err, -EBUSY, "a run is in progress");
	a->running = true;
	a->tool_calls = 0;
	transcript_close(&a->tr);
	int r = 0;
	/* The run's commands share one sandbox; its container (docker)
	 * starts while the model thinks about the first reply. */
	if (!a->opts.fresh_sandbox &&
	    (r = monkey_session_open(a->ex, &a->session, err)) < 0) {
		snprintf(rep->message, sizeof(rep->message), "%s",
			 err->message);
		a->running = false;
		return r;
	}
	if (!a->opts.no_transcript) {
		r = transcript_open(&a->tr, a->opts.transcript, a->prov.api_key,
				    err);
		if (r < 0) {
			snprintf(rep->message, sizeof(rep->message), "%s",
				 err->message);
			monkey_session_close(a->session);
			a->session = NULL;
			a->running = false;
			return r;
		}
		free(a->transcript_path);
		a->transcript_path = strdup(a->tr.path);
		agent_record_header(a, task);
	}
	if (a->opts.audit_log) {
		audit_close(&a->audit);
		r = audit_open(&a->audit, a->opts.audit_log, a->opts.audit_key,
			       a->prov.api_key, err);
		if (r < 0) {
			snprintf(rep->message, sizeof(rep->message), "%s",
				 err->message);
			transcript_close(&a->tr);
			a->running = false;
			return r;
		}
		agent_audit_session(a);
	}
	struct agent_history h = {0};
	struct agent_message first = {.role = AGENT_ROLE_USER};
	if (agent_message_add_text(&first, task) < 0 ||
	    agent_history_push(&h, &first) < 0) {
		agent_message_free(&first);
		r = monkey_set_error(err, -ENOMEM, "out of memory");
		end(rep, MONKEY_AGENT_END_ERROR, "out of memory");
	} else {
		r = loop(a, &h, rep, err);
		if (r < 0 && rep->end != MONKEY_AGENT_END_ERROR)
			end(rep, MONKEY_AGENT_END_ERROR, "%s", err->message);
	}
	rep->tool_calls = a->tool_calls;
	agent_record_end(a, rep);
	agent_audit_end(a, rep);
	audit_close(&a->audit);
	transcript_close(&a->tr);
	agent_history_free(&h);
	/* Every job and process of the session dies, its container goes. */
	agent_jobs_close(&a->jobs);
	monkey_session_close(a->session);
	a->session = NULL;
	a->running = false;
	return r;
}
