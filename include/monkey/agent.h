/* monkey/agent.h - run an LLM coding agent whose every shell command goes
 * through the sandbox executor (monkey/exec.h).  The monkey CLI's
 * "monkey agent" is a thin layer over this API: a C program can run an
 * agent task the same way without it.
 *
 *	struct monkey_agent_options ao;
 *	struct monkey_exec_options eo;
 *	monkey_agent_options_init(&ao);
 *	monkey_exec_options_init(&eo);
 *	eo.sandbox = "docker";
 *	ao.cb.text = print_text;               // streamed model text
 *	if (monkey_agent_open(&ao, &eo, &agent, &err) == 0) {
 *		monkey_agent_run(agent, "fix the failing test", &rep, &err);
 *		...
 *		monkey_agent_report_free(&rep);
 *		monkey_agent_close(agent);
 *	}
 *
 * The library never prints and never reads the terminal: everything the
 * user should see goes through the callbacks, and approvals are asked
 * through cb.approve. */
#ifndef MONKEY_AGENT_H
#define MONKEY_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/error.h>
#include <monkey/exec.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MONKEY_AGENT_DEFAULT_MODEL "claude-sonnet-4-5"
#define MONKEY_AGENT_DEFAULT_OPENAI_MODEL "gpt-4.1"
#define MONKEY_AGENT_DEFAULT_MAX_ITERATIONS 20
#define MONKEY_AGENT_DEFAULT_MAX_TOKENS 8192
/* Retries after the first attempt, as the official SDKs do. */
#define MONKEY_AGENT_DEFAULT_MAX_RETRIES 2
/* Bytes of one tool result the model sees (head + tail). */
#define MONKEY_AGENT_DEFAULT_OUTPUT_MAX 10240
/* Bytes of conversation kept; older turns are shortened, then dropped. */
#define MONKEY_AGENT_DEFAULT_HISTORY_MAX (256 * 1024)
/* Bytes of one model reply, as received: a provider that sends more is
 * cut off with an error instead of filling memory. */
#define MONKEY_AGENT_DEFAULT_REPLY_MAX (32 * 1024 * 1024)

enum monkey_agent_provider {
	MONKEY_PROVIDER_AUTO = 0, /* from the model name, then the keys set */
	MONKEY_PROVIDER_ANTHROPIC = 1,
	MONKEY_PROVIDER_OPENAI = 2, /* and OpenAI-compatible servers */
};

/* Answers of cb.approve. */
enum monkey_approval {
	MONKEY_APPROVAL_DENY = 0,
	MONKEY_APPROVAL_ONCE = 1,
	/* this and every later command and file change of the run */
	MONKEY_APPROVAL_ALWAYS = 2,
};

/* Why a run ended. */
enum monkey_agent_end {
	MONKEY_AGENT_END_ANSWER = 0,	 /* the model gave a final answer */
	MONKEY_AGENT_END_MAX_ITERATIONS, /* max_iterations model turns */
	MONKEY_AGENT_END_MAX_TOKENS,	 /* the reply hit max_tokens */
	MONKEY_AGENT_END_REFUSAL,	 /* the model refused */
	MONKEY_AGENT_END_CANCELLED,	 /* monkey_agent_cancel() */
	MONKEY_AGENT_END_ERROR,		 /* provider or sandbox error */
};

/* One tool call, as the callbacks see it.  Everything is borrowed for the
 * duration of the callback. */
struct monkey_agent_tool_event {
	const char *id;	       /* the provider's tool call id */
	const char *name;      /* "shell_execute", "read_file", ... */
	const char *arguments; /* JSON text as the model sent it */
	/* shell_execute only (NULL otherwise): the command, its working
	 * directory relative to the workspace, and the argv quoted so that a
	 * person can read it (control characters escaped). */
	const char *const *argv;
	const char *workdir;
	const char *display;
	/* tool_end only: what the model is told. */
	bool is_error;
	const char *content;
	/* tool_end of a shell command that ran: its result. */
	const struct monkey_result *result;
	/* write_file and edit_file (approve, tool_start, tool_end; NULL and
	 * 0 for other calls): the file, relative to the workspace with
	 * symlinks resolved (as the model gave it, with diff NULL, when the
	 * call was refused before the change could be computed), raw; the
	 * lines the change adds and removes (an upper bound when the file is
	 * too large to compare); whether it creates the file; and a short
	 * diff for a person: "@@ line N @@", up to two lines of context
	 * (" "), the first removed ("-") and added ("+") lines, "... N more
	 * changed lines", each cut at 100 bytes with control characters
	 * escaped, lines separated by newlines. */
	const char *path;
	const char *diff;
	size_t lines_added;
	size_t lines_removed;
	bool creates;
};

struct monkey_agent_callbacks {
	/* Model text, as it streams in. */
	void (*text)(void *ctx, const char *text, size_t len);
	/* One line for the user (retry waits, history compaction, ...).
	 * level is an enum monkey_log_level. */
	void (*notice)(void *ctx, int level, const char *msg);
	/* Before and after each tool call. */
	void (*tool_start)(void *ctx, const struct monkey_agent_tool_event *ev);
	void (*tool_end)(void *ctx, const struct monkey_agent_tool_event *ev);
	/* Live output of shell commands (optional). */
	monkey_output_fn command_output;
	/* Asked before each shell command, write_file and edit_file when
	 * require_approval is set and auto_approve is not (ev->display, or
	 * ev->path and ev->diff, say what); returns an enum monkey_approval.
	 * *reason may be pointed at a static string saying why it denied (it
	 * reaches the model).  NULL: every such call is denied. */
	int (*approve)(void *ctx, const struct monkey_agent_tool_event *ev,
		       const char **reason);
	void *ctx;
	/* How a running shell command is doing (optional; see
	 * monkey_command.progress), with ctx above. */
	monkey_progress_fn command_progress;
};

/* Initialise with monkey_agent_options_init(), then set fields.  Strings
 * are borrowed until monkey_agent_open() returns. */
struct monkey_agent_options {
	/* Model name or alias ("claude-sonnet-4", "sonnet", "gpt-4.1",
	 * "llama3.1" for a local server); NULL = the provider's default. */
	const char *model;
	int provider; /* enum monkey_agent_provider */
	/* NULL: ANTHROPIC_API_KEY / OPENAI_API_KEY from the environment. */
	const char *api_key;
	/* NULL: ANTHROPIC_BASE_URL / OPENAI_BASE_URL, then the public API. */
	const char *base_url;
	int max_iterations; /* model turns; 0 = the default */
	int max_tokens;	    /* per reply; 0 = the default */
	int max_retries;    /* -1 = the default */
	bool require_approval;
	bool auto_approve; /* --yes: approve everything without asking */
	/* Transcript path (appended to, links followed); NULL = a new
	 * <time>-<pid>.jsonl in $XDG_STATE_HOME/monkey/sessions/ (when
	 * XDG_STATE_HOME is absolute), else in
	 * ~/.local/state/monkey/sessions/: never in the workspace, directories
	 * 0700, file 0600, no symbolic link followed below the base. */
	const char *transcript;
	bool no_transcript;
	size_t output_max;	   /* 0 = MONKEY_AGENT_DEFAULT_OUTPUT_MAX */
	size_t history_max;	   /* 0 = MONKEY_AGENT_DEFAULT_HISTORY_MAX */
	const char *system_prompt; /* NULL = the built-in one */
	struct monkey_agent_callbacks cb;
	/* write_file and edit_file may change the workspace's .git (never
	 * .monkey).  Off: git runs hooks and configuration found there on
	 * the host, so a model that may write them may run code outside the
	 * sandbox. */
	bool writable_git;
	/* Bytes of one reply (the whole response body, however it is
	 * framed); past it the request fails.  0 =
	 * MONKEY_AGENT_DEFAULT_REPLY_MAX. */
	size_t reply_max;
	/* Audit log (monkey/audit.h): one record per security-relevant event
	 * appended to this file (created 0600; a symbolic link is refused),
	 * hash-chained, and with an HMAC of each record when audit_key names
	 * a key file.  NULL: none. */
	const char *audit_log;
	const char *audit_key;
	/* Run every command in a fresh sandbox, as monkey exec does, instead
	 * of all of a run's commands in one session (monkey/session.h), where
	 * files written outside the workspace persist. */
	bool fresh_sandbox;
	/* Each background job's own time limit; 0 =
	 * MONKEY_AGENT_DEFAULT_JOB_TIMEOUT_MS. */
	int64_t job_timeout_ms;
};

/* A background job's default time limit: 30 minutes. */
#define MONKEY_AGENT_DEFAULT_JOB_TIMEOUT_MS (30 * 60 * 1000)

void monkey_agent_options_init(struct monkey_agent_options *opts);

struct monkey_agent_report {
	int end;	/* enum monkey_agent_end */
	int iterations; /* model turns taken */
	int tool_calls;
	char *final_text; /* the last reply's text (NULL if none) */
	/* Why it ended, one line ("stopped after 20 iterations ..."). */
	char message[MONKEY_ERROR_MESSAGE_MAX];
};

void monkey_agent_report_free(struct monkey_agent_report *rep);

struct monkey_agent;

/* Resolve the model and provider, check the API key (a missing key fails
 * with -ENOKEY and a message naming the variable, before anything else
 * happens), then open the executor with exec (NULL = defaults). */
int monkey_agent_open(const struct monkey_agent_options *opts,
		      const struct monkey_exec_options *exec,
		      struct monkey_agent **out, struct monkey_error *err);

/* Run one task to its end.  Returns 0 when the run ended for any reason in
 * enum monkey_agent_end except ERROR; a negative errno with err filled (and
 * rep->end = MONKEY_AGENT_END_ERROR) when it could not go on.  rep is
 * always filled; free it with monkey_agent_report_free.  One run at a time
 * per agent. */
int monkey_agent_run(struct monkey_agent *agent, const char *task,
		     struct monkey_agent_report *rep, struct monkey_error *err);

/* Stop the run: the running command is killed, a model request aborted.
 * Async-signal-safe (call it from a SIGINT handler). */
void monkey_agent_cancel(struct monkey_agent *agent);

/* The model id sent to the provider (aliases resolved). */
const char *monkey_agent_model(const struct monkey_agent *agent);
/* "anthropic" or "openai". */
const char *monkey_agent_provider_name(const struct monkey_agent *agent);
/* The API base URL, with any user:password@ in it masked. */
const char *monkey_agent_base_url(const struct monkey_agent *agent);
/* The executor commands run through (borrowed). */
struct monkey_executor *monkey_agent_executor(struct monkey_agent *agent);
/* The transcript of the current or last run; NULL before the first. */
const char *monkey_agent_transcript_path(const struct monkey_agent *agent);

void monkey_agent_close(struct monkey_agent *agent);

/* The model id an alias stands for ("claude-sonnet-4" ->
 * "claude-sonnet-4-0"); other names come back unchanged.  Borrowed. */
const char *monkey_agent_resolve_model(const char *name);

/* Exit status of "monkey agent" for a report's end reason. */
int monkey_agent_exit_status(int end);

#ifdef __cplusplus
}
#endif

#endif
