/* Audit records of an agent run (--audit-log): the session, each command
 * with how it was approved and what it used, each file write with the
 * file's SHA-256 before and after, each denial, refusal and fallback.
 * Never a secret: --env values and the API key stay out (the key is
 * scrubbed from every record besides). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "agent_internal.h"
#include "jsonout.h"

void agent_audit(struct monkey_agent *a, const char *event, json_object *rec)
{
	if (a->audit.fd < 0) {
		json_object_put(rec);
		return;
	}
	int r = audit_write(&a->audit, event, rec);
	if (r < 0) {
		agent_notice(a, MONKEY_LOG_WARNING,
			     "cannot write the audit log %s: %s; it stops here",
			     a->audit.path, strerror(-r));
		audit_close(&a->audit);
	}
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *figure(int64_t v)
{
	return v >= 0 ? json_object_new_int64(v) : NULL;
}

/* Proxy mode's rules, from the sandbox record; NULL without them (no
 * network, or all of it: the sandbox record's limits say which). */
static json_object *network_rules(struct monkey_agent *a)
{
	json_object *allow = NULL, *pins = NULL;
	if (!json_object_object_get_ex(a->sandbox_info, "allowDomains",
				       &allow) ||
	    !json_object_array_length(allow))
		return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "allowDomains", json_object_get(allow));
	if (json_object_object_get_ex(a->sandbox_info, "proxyResolve", &pins))
		json_object_object_add(o, "proxyResolve",
				       json_object_get(pins));
	return o;
}

/* The session: who runs what model in which sandbox, with which limits.
 * The sandbox object is the transcript header's (limits the backend
 * enforces, --env names without values). */
void agent_audit_session(struct monkey_agent *a)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "monkey", json_object_new_string(VERSION));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "uid", json_object_new_int((int)getuid()));
	json_object_object_add(o, "provider",
			       json_object_new_string(a->prov.ops->name));
	json_object_object_add(o, "model",
			       json_object_new_string(a->prov.model));
	json_object_object_add(o, "workspace", json_object_new_string(a->root));
	json_object_object_add(o, "sandbox", json_object_get(a->sandbox_info));
	/* Hook: the backends cannot tell an image's digest yet. */
	json_object_object_add(o, "imageDigest", NULL);
	json_object_object_add(o, "networkRules", network_rules(a));
	json_object_object_add(
	    o, "approval",
	    json_object_new_string(a->opts.auto_approve	       ? "--yes"
				   : !a->opts.require_approval ? "not required"
							       : "asked"));
	json_object_object_add(o, "transcript",
			       str_or_null(a->transcript_path));
	agent_audit(a, "session_start", o);
	if (monkey_executor_fell_back(a->ex)) {
		json_object *f = json_object_new_object();
		json_object_object_add(
		    f, "requested",
		    json_object_new_string(
			monkey_executor_requested_name(a->ex)));
		json_object_object_add(
		    f, "backend",
		    json_object_new_string(
			monkey_executor_backend_name(a->ex)));
		json_object_object_add(
		    f, "reason",
		    json_object_new_string(
			monkey_executor_fallback_reason(a->ex)));
		agent_audit(a, "fallback", f);
	}
}

static void add_approval(struct monkey_agent *a, json_object *o)
{
	json_object *ap = json_object_new_object();
	json_object_object_add(
	    ap, "decision",
	    str_or_null(a->approval ? a->approval : "approved"));
	json_object_object_add(ap, "how", str_or_null(a->approval_how));
	json_object_object_add(o, "approval", ap);
}

void agent_audit_command(struct monkey_agent *a, const struct tool_args *args,
			 const struct tools_shell_outcome *so)
{
	json_object *o = json_object_new_object();
	json_object_object_add(
	    o, "argv", transcript_strv((const char *const *)args->argv.v));
	json_object_object_add(
	    o, "workdir",
	    json_object_new_string(so->workdir_rel ? so->workdir_rel : "."));
	json_object_object_add(
	    o, "backend",
	    json_object_new_string(monkey_executor_backend_name(a->ex)));
	add_approval(a, o);
	json_object_object_add(o, "ran", json_object_new_boolean(so->ran));
	const struct monkey_result *r = &so->res;
	if (so->ran) {
		json_object_object_add(o, "exitCode",
				       json_object_new_int(r->exit_code));
		json_object_object_add(o, "durationMs",
				       json_object_new_int64(r->duration_ms));
		const char *limit = monkey_result_limit(r);
		json_object_object_add(o, "limitHit", str_or_null(limit));
		json_object_object_add(o, "peakMemoryBytes",
				       figure(r->peak_memory_bytes));
		json_object_object_add(o, "cpuUserMs", figure(r->cpu_user_ms));
		json_object_object_add(o, "cpuSystemMs",
				       figure(r->cpu_system_ms));
		json_object_object_add(
		    o, "error", str_or_null(r->error[0] ? r->error : NULL));
	} else {
		json_object_object_add(o, "error", str_or_null(so->error));
	}
	agent_audit(a, "command", o);
	/* Each connection the command made through the egress proxy. */
	for (size_t i = 0; so->ran && r->proxied && i < r->network.n_records;
	     i++)
		agent_audit_network(a, &r->network.records[i]);
}

void agent_audit_write(struct monkey_agent *a, const char *path,
		       const char *before, const char *after)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	add_approval(a, o);
	json_object_object_add(o, "sha256Before", str_or_null(before));
	json_object_object_add(o, "sha256After", str_or_null(after));
	agent_audit(a, "file_write", o);
}

void agent_audit_refused(struct monkey_agent *a, const char *event,
			 const char *tool, const struct tool_args *args,
			 const char *reason)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "tool", json_object_new_string(tool));
	if (args->kind == TOOL_SHELL)
		json_object_object_add(
		    o, "argv",
		    transcript_strv((const char *const *)args->argv.v));
	else
		json_object_object_add(o, "path", str_or_null(args->path));
	json_object_object_add(o, "how", str_or_null(a->approval_how));
	json_object_object_add(o, "reason", str_or_null(reason));
	agent_audit(a, event, o);
}

void agent_audit_end(struct monkey_agent *a,
		     const struct monkey_agent_report *rep)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "iterations",
			       json_object_new_int(rep->iterations));
	json_object_object_add(o, "toolCalls",
			       json_object_new_int(rep->tool_calls));
	json_object_object_add(o, "message",
			       json_object_new_string(rep->message));
	agent_audit(a, "session_end", o);
}

void agent_audit_network(struct monkey_agent *a,
			 const struct monkey_proxy_record *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "host", json_object_new_string(r->host));
	json_object_object_add(o, "port", json_object_new_int(r->port));
	json_object_object_add(o, "address",
			       str_or_null(r->address[0] ? r->address : NULL));
	json_object_object_add(o, "method",
			       str_or_null(r->method[0] ? r->method : NULL));
	json_object_object_add(
	    o, "decision",
	    json_object_new_string(monkey_proxy_decision_name(r->decision)));
	json_object_object_add(o, "reason",
			       str_or_null(r->reason[0] ? r->reason : NULL));
	json_object_object_add(o, "status", json_object_new_int(r->status));
	json_object_object_add(o, "bytesUp",
			       json_object_new_int64((int64_t)r->bytes_up));
	json_object_object_add(o, "bytesDown",
			       json_object_new_int64((int64_t)r->bytes_down));
	json_object_object_add(o, "durationMs",
			       json_object_new_int64(r->duration_ms));
	agent_audit(a, "network", o);
}
