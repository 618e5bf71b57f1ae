/* The agent runner's state, shared by agent.c (the loop), agent_tools.c
 * (running one tool call) and agent_record.c (transcript records). */
#ifndef MONKEY_AGENT_INTERNAL_H
#define MONKEY_AGENT_INTERNAL_H

#include <signal.h>
#include <stdbool.h>

#include <json-c/json.h>

#include <monkey/agent.h>
#include <monkey/session.h>

#include "agent_history.h"
#include "agent_jobs.h"
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

void agent_notice(struct monkey_agent *a, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
