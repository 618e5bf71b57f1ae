/* One tool call of the model: check the arguments, ask for approval (shell
 * commands and file changes), run it (shell commands through the sandbox),
 * record it, and answer the model with a result, an error result at
 * worst. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_internal.h"
#include "quote.h"
#include "transcript_hash.h"

static void record_call(struct monkey_agent *a, const struct agent_block *b)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(b->id));
	json_object_object_add(o, "name", json_object_new_string(b->name));
	json_object *in = b->input_valid ? json_tokener_parse(b->input) : NULL;
	if (in)
		json_object_object_add(o, "arguments", in);
	else
		json_object_object_add(o, "argumentsRaw",
				       json_object_new_string(b->input));
	agent_record(a, "tool_call", o);
}

static void record_result(struct monkey_agent *a, const char *id,
			  const char *name, const char *content, bool is_error)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "isError", json_object_new_boolean(is_error));
	json_object_object_add(o, "content", json_object_new_string(content));
	agent_record(a, "tool_result", o);
}

static void record_approval(struct monkey_agent *a, const char *id,
			    const struct tool_args *args, const char *decision,
			    const char *reason)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	if (args->kind == TOOL_SHELL)
		json_object_object_add(
		    o, "argv",
		    transcript_strv((const char *const *)args->argv.v));
	else
		json_object_object_add(o, "path",
				       json_object_new_string(args->path));
	json_object_object_add(o, "decision", json_object_new_string(decision));
	if (reason)
		json_object_object_add(o, "reason",
				       json_object_new_string(reason));
	agent_record(a, "approval", o);
}

/* Approval before a shell command or a file change.  Returns true to go
 * on; otherwise *why says why not (static or from the callback). */
static bool approved(struct monkey_agent *a, const char *id,
		     const struct tool_args *args,
		     const struct monkey_agent_tool_event *ev, const char **why)
{
	a->approval = "approved";
	a->approval_how = a->opts.auto_approve	      ? "--yes"
			  : !a->opts.require_approval ? "not required"
			  : a->always_approved ? "always, answered earlier"
					       : "asked";
	if (!a->opts.require_approval || a->opts.auto_approve ||
	    a->always_approved)
		return true;
	const char *reason = NULL;
	int d = MONKEY_APPROVAL_DENY;
	if (a->opts.cb.approve)
		d = a->opts.cb.approve(a->opts.cb.ctx, ev, &reason);
	else
		reason = "approval is required and nobody can be asked";
	if (!a->opts.cb.approve)
		a->approval_how = "nobody to ask";
	if (a->cancel) {
		d = MONKEY_APPROVAL_DENY;
		reason = "the run was interrupted";
	}
	a->approval = d == MONKEY_APPROVAL_DENY	    ? "denied"
		      : d == MONKEY_APPROVAL_ALWAYS ? "always"
						    : "approved";
	if (d == MONKEY_APPROVAL_ALWAYS)
		a->always_approved = true;
	record_approval(a, id, args,
			d == MONKEY_APPROVAL_DENY     ? "denied"
			: d == MONKEY_APPROVAL_ALWAYS ? "always"
						      : "approved",
			reason);
	if (d != MONKEY_APPROVAL_DENY)
		return true;
	*why = reason ? reason : "the user denied it";
	agent_audit_refused(a, "denial", ev->name, args, *why);
	return false;
}

/* Runs one shell_execute call and reports tool_start/tool_end itself, with
 * the command's argv and result in the event. */
static int run_shell(struct monkey_agent *a, const struct agent_block *call,
		     const struct tool_args *args,
		     struct monkey_agent_tool_event *ev, char **content,
		     bool *is_error)
{
	_cleanup_free_ char *display =
	    monkey_quote_argv((const char *const *)args->argv.v);
	if (!display)
		return -ENOMEM;
	ev->argv = (const char *const *)args->argv.v;
	ev->display = display;
	ev->workdir = args->workdir ? args->workdir : a->default_workdir;
	const char *why = NULL;
	struct tools_shell_outcome so = {0};
	if (!approved(a, call->id, args, ev, &why)) {
		if (a->opts.cb.tool_start)
			a->opts.cb.tool_start(a->opts.cb.ctx, ev);
		*is_error = true;
		*content = monkey_strdup_printf(
		    "the command was not run: approval denied (%s)", why);
	} else {
		if (a->opts.cb.tool_start)
			a->opts.cb.tool_start(a->opts.cb.ctx, ev);
		struct tools_shell_ctx sc = {
		    .ex = a->ex,
		    .session = a->session,
		    .root = a->root,
		    .default_workdir = a->default_workdir,
		    .timeout_cap_ms = a->timeout_ms,
		    .tee = a->opts.cb.command_output,
		    .tee_ctx = a->opts.cb.ctx,
		    .progress = a->opts.cb.command_progress,
		};
		if (args->background) {
			int r =
			    agent_job_tool(a, call, args, content, is_error);
			if (r < 0)
				return r;
		} else {
			int r = tools_shell_run(&sc, args, &so);
			if (r < 0)
				return r;
			agent_record_command(a, call->id, args, &so);
			agent_audit_command(a, args, &so);
			*content = tools_shell_format(&so, a->opts.output_max);
			*is_error = !so.ran || so.res.error[0];
		}
	}
	if (*content && a->opts.cb.tool_end) {
		ev->result = so.ran ? &so.res : NULL;
		ev->content = *content;
		ev->is_error = *is_error;
		a->opts.cb.tool_end(a->opts.cb.ctx, ev);
	}
	tools_shell_outcome_free(&so);
	ev->argv = NULL;
	ev->display = NULL;
	ev->workdir = NULL;
	ev->result = NULL;
	return *content ? 0 : -ENOMEM;
}

/* SHA-256 of the file at path as it is now (not following a final
 * symbolic link), into out; false when it cannot be read. */
static bool file_sha256(const char *path, char out[65])
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct monkey_sha256 s;
	monkey_sha256_init(&s);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0)
			monkey_sha256_update(&s, buf, (size_t)n);
	if (n < 0)
		return false;
	monkey_sha256_hex(&s, out);
	return true;
}

/* tools_fs_commit, with the write in the audit log. */
static int commit_audited(struct monkey_agent *a, const struct tool_args *args,
			  const struct tools_fs_change *ch, char **content,
			  bool *is_error)
{
	char before[65], after[65];
	bool had =
	    a->audit.fd >= 0 && ch->exists && file_sha256(ch->abs, before);
	int r = tools_fs_commit(a->root, args, a->opts.writable_git, ch,
				content, is_error);
	if (r < 0 || a->audit.fd < 0)
		return r;
	if (*is_error) {
		agent_audit_refused(a, "refusal",
				    args->kind == TOOL_EDIT_FILE ? "edit_file"
								 : "write_file",
				    args, *content);
		return r;
	}
	audit_sha256_hex(ch->data, ch->len, after);
	agent_audit_write(a, tools_path_rel(a->root, ch->abs),
			  had ? before : NULL, after);
	return r;
}

/* Runs one write_file or edit_file call.  The change is computed first,
 * so that an approval shows what will be written; then exactly that is
 * written. */
static int run_file_change(struct monkey_agent *a,
			   const struct agent_block *call,
			   const struct tool_args *args,
			   struct monkey_agent_tool_event *ev, char **content,
			   bool *is_error)
{
	struct tools_fs_change ch;
	int r = tools_fs_prepare(a->root, args, a->opts.writable_git, &ch,
				 content, is_error);
	if (r < 0)
		return r;
	bool go = !*content;
	ev->path = args->path;
	if (!go)
		agent_audit_refused(a, "refusal", call->name, args, *content);
	if (go) {
		ev->path = tools_path_rel(a->root, ch.abs);
		ev->diff = ch.diff.text;
		ev->lines_added = ch.diff.added;
		ev->lines_removed = ch.diff.removed;
		ev->creates = !ch.exists;
		const char *why = NULL;
		if (!approved(a, call->id, args, ev, &why)) {
			go = false;
			*is_error = true;
			*content = monkey_strdup_printf(
			    "the file was not changed: approval denied (%s)",
			    why);
		}
	}
	if (a->opts.cb.tool_start)
		a->opts.cb.tool_start(a->opts.cb.ctx, ev);
	if (go)
		r = commit_audited(a, args, &ch, content, is_error);
	if (r == 0 && *content && a->opts.cb.tool_end) {
		ev->content = *content;
		ev->is_error = *is_error;
		a->opts.cb.tool_end(a->opts.cb.ctx, ev);
	}
	ev->path = ev->diff = NULL;
	ev->lines_added = ev->lines_removed = 0;
	ev->creates = false;
	tools_fs_change_free(&ch);
	return r < 0 ? r : *content ? 0 : -ENOMEM;
}

int agent_run_tool(struct monkey_agent *a, const struct agent_block *call,
		   struct agent_message *results)
{
	a->tool_calls++;
	record_call(a, call);
	struct monkey_agent_tool_event ev = {
	    .id = call->id,
	    .name = call->name,
	    .arguments = call->input,
	};
	struct tool_args args;
	char *content = NULL;
	bool is_error = false;
	struct monkey_error bad = {0};
	int r = tools_parse(call->name, call->input, &args, &bad);
	if (r == -ENOMEM)
		return r;
	if (r == 0 && args.kind == TOOL_SHELL) {
		r = run_shell(a, call, &args, &ev, &content, &is_error);
	} else if (r == 0 && (args.kind == TOOL_JOB_OUTPUT ||
			      args.kind == TOOL_JOB_INPUT ||
			      args.kind == TOOL_JOB_STOP)) {
		if (a->opts.cb.tool_start)
			a->opts.cb.tool_start(a->opts.cb.ctx, &ev);
		r = agent_job_tool(a, call, &args, &content, &is_error);
		if (r == 0 && a->opts.cb.tool_end) {
			ev.content = content;
			ev.is_error = is_error;
			a->opts.cb.tool_end(a->opts.cb.ctx, &ev);
		}
	} else if (r == 0 && (args.kind == TOOL_WRITE_FILE ||
			      args.kind == TOOL_EDIT_FILE)) {
		r = run_file_change(a, call, &args, &ev, &content, &is_error);
	} else {
		if (a->opts.cb.tool_start)
			a->opts.cb.tool_start(a->opts.cb.ctx, &ev);
		if (r < 0) {
			/* The model sees what was wrong and can try again. */
			content = strdup(bad.message);
			is_error = true;
			r = content ? 0 : -ENOMEM;
		} else {
			r = tools_fs_run(a->root, &args, a->opts.output_max,
					 &content, &is_error);
		}
		if (r == 0 && a->opts.cb.tool_end) {
			ev.content = content;
			ev.is_error = is_error;
			a->opts.cb.tool_end(a->opts.cb.ctx, &ev);
		}
	}
	tools_args_free(&args);
	if (r < 0) {
		free(content);
		return r;
	}
	record_result(a, call->id, call->name, content, is_error);
	r = agent_message_add_tool_result(results, call->id, content, is_error);
	free(content);
	return r;
}
