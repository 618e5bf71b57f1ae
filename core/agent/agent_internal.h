/* The agent runner's state, shared by agent.c (the loop), agent_tools.c
 * (running one tool call) and agent_record.c (transcript records). */
#ifndef MONKEY_AGENT_INTERNAL_H
#define MONKEY_AGENT_INTERNAL_H

#include <signal.h>
#include <stdbool.h>

#include <json-c/json.h>

#include <monkey/agent.h>
#include <monkey/proxy.h>
#include <monkey/session.h>

#include "agent_history.h"
#include "agent_jobs.h"
#include "audit.h"
#include "provider.h"
#include "tools.h"
#include "transcript.h"

struct monkey_agent {
	struct monkey_agent_options opts; /* strings below are our copies */
	char *transcript_opt;
	char *system_prompt;
	struct provider prov;
	struct monkey_executor *ex;
	/* The run's sandbox session; NULL between runs and with
	 * fresh_sandbox. */
	struct monkey_session *session;
	struct agent_jobs jobs;	   /* in the session */
	char *root;		   /* resolved workspace */
	char *default_workdir;	   /* relative to root */
	int64_t timeout_ms;	   /* the user's per-command limit */
	json_object *sandbox_info; /* for the transcript header */
	volatile sig_atomic_t cancel;
	bool always_approved;
	bool running;
	char *transcript_path;
	struct transcript tr;
	int tool_calls;
	char *audit_log_opt, *audit_key_opt;
	struct audit audit;	  /* fd -1 when there is no audit log */
	const char *approval;	  /* the last call's decision ... */
	const char *approval_how; /* ... and how it was given */
};

/* One tool call of the model: run it (approval, sandbox, transcript) and
 * add its result to results.  Returns 0 or -ENOMEM. */
int agent_run_tool(struct monkey_agent *a, const struct agent_block *call,
		   struct agent_message *results);

/* Transcript records (agent_record.c).  Failures to write are not fatal:
 * they are reported once as a notice. */
json_object *agent_record_sandbox(const struct monkey_exec_options *eo,
				  struct monkey_executor *ex);
void agent_record_header(struct monkey_agent *a, const char *task);
void agent_record_turn(struct monkey_agent *a, int iteration,
		       const struct provider_turn *t);
/* A shell command and, when it ran, its result: exit status, sizes and
 * SHA-256 of the whole output, and bounded copies of it. */
void agent_record_command(struct monkey_agent *a, const char *id,
			  const struct tool_args *args,
			  const struct tools_shell_outcome *so);
void agent_record_end(struct monkey_agent *a,
		      const struct monkey_agent_report *rep);
void agent_record(struct monkey_agent *a, const char *type, json_object *rec);

/* Audit records (agent_audit.c); like the transcript, a failure to write
 * is reported once and ends the log. */
void agent_audit(struct monkey_agent *a, const char *event, json_object *rec);
void agent_audit_session(struct monkey_agent *a);
void agent_audit_command(struct monkey_agent *a, const struct tool_args *args,
			 const struct tools_shell_outcome *so);
/* A file write: the SHA-256 of what the file held (NULL: it was new) and
 * of what was written. */
void agent_audit_write(struct monkey_agent *a, const char *path,
		       const char *before, const char *after);
/* A call that was not carried out: "denial" (approval denied) or
 * "refusal" (monkey refused it). */
void agent_audit_refused(struct monkey_agent *a, const char *event,
			 const char *tool, const struct tool_args *args,
			 const char *reason);
void agent_audit_end(struct monkey_agent *a,
		     const struct monkey_agent_report *rep);
/* A decision of the egress proxy ("allowed" / "denied", and the rule
 * that decided): the hook its records go through once it reports them;
 * nothing calls it yet. */
void agent_audit_network(struct monkey_agent *a,
			 const struct monkey_proxy_record *r);

void agent_notice(struct monkey_agent *a, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
