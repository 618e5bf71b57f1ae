/* The monkey CLI: subcommand entry points and the sandbox options shared by
 * "monkey exec" and "monkey agent".  Only this layer prints or exits. */
#ifndef MONKEY_CLI_H
#define MONKEY_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <monkey/exec.h>

#include "util.h"

/* Subcommands: each returns the process exit status. */
int monkey_cli_exec(int argc, char **argv);
int monkey_cli_sandbox(int argc, char **argv);
int monkey_cli_agent(int argc, char **argv);
int monkey_cli_replay(int argc, char **argv);
int monkey_cli_audit(int argc, char **argv);
int monkey_cli_cache(int argc, char **argv);

/* Sandbox options shared by exec, agent and replay. */
struct monkey_cli_sandbox {
	struct monkey_exec_options opts;
	struct monkey_strv mounts;
	struct monkey_strv caches;
	struct monkey_strv env;
	struct monkey_strv pass_env;
	struct monkey_strv allow_domains; /* --allow-domain */
	struct monkey_strv proxy_resolve; /* --proxy-resolve */
	bool json;
	bool timeout_set;	/* --timeout was given */
	bool sandbox_from_env;	/* the backend came from MONKEY_SANDBOX */
	const char *stdin_file; /* --stdin FILE or "-" */
};

void monkey_cli_sandbox_init(struct monkey_cli_sandbox *s);
void monkey_cli_sandbox_free(struct monkey_cli_sandbox *s);

/* getopt_long table: the shared options followed by extra (terminated by a
 * zero entry).  Caller frees the result. */
struct option *monkey_cli_longopts(const struct option *extra);

/* Option ids of the shared options start here; subcommands use ids below
 * it (or short-option characters). */
#define MONKEY_CLI_OPT_BASE 0x1000

/* Handle one getopt_long result.  Returns 1 when opt was a shared option
 * (handled), 0 when it was not, a negative errno when its argument is
 * invalid (err names the option and says what it takes) or memory ran
 * out. */
int monkey_cli_sandbox_option(struct monkey_cli_sandbox *s, int opt,
			      const char *arg, struct monkey_error *err);

/* After parsing: apply MONKEY_SANDBOX and friends, point opts at the
 * vectors, install the notice printer. */
void monkey_cli_sandbox_finish(struct monkey_cli_sandbox *s);

/* Help text for the shared options (for --help of each subcommand). */
extern const char monkey_cli_sandbox_help[];

/* Prints executor notices to stderr ("monkey: warning: ..."). */
void monkey_cli_notify(void *ctx, int level, const char *msg);

/* Print "monkey: <msg>" to stderr, escaped as monkey_cli_line does. */
void monkey_cli_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* A failure to open the executor: the message, prefixed with
 * "MONKEY_SANDBOX=NAME: " when that variable chose the backend it names,
 * so that a user who did not type the name learns where it came from. */
void monkey_cli_open_error(const struct monkey_cli_sandbox *s, const char *msg);

/* Print what fmt makes, with everything in it escaped (escape.h), as one
 * line and a newline: nothing from a model, a command, a file name or a
 * path can act on the terminal or start a line of its own. */
void monkey_cli_line(FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print JSON text and a newline, control characters and the like inside
 * its strings as \uXXXX (monkey_escape_json). */
void monkey_cli_print_json(FILE *f, const char *json);

/* The agent's cb.approve (approval_tty.c): asks y / n / a on the
 * terminal at standard input; denies when standard input is not a
 * terminal.  ctx, when not NULL, is a bool set to
 * true once the call was shown to the user. */
struct monkey_agent_tool_event;
int monkey_cli_approve(void *ctx, const struct monkey_agent_tool_event *ev,
		       const char **reason);
/* Print ev->diff of a file change to stderr, indented and escaped. */
void monkey_cli_show_diff(const char *diff);
/* "create", "edit" or "replace" for a file change. */
const char *monkey_cli_change_verb(const struct monkey_agent_tool_event *ev);

/* Resource use (cli_usage.c): ", 12 MiB, 30 ms CPU" for what r knows,
 * "" when it knows nothing. */
void monkey_cli_usage_text(const struct monkey_result *r, char *buf,
			   size_t len);
/* The live line of a running command on a terminal: elapsed time and
 * memory in use, rewritten in place, cleared before anything else is
 * printed. */
struct monkey_cli_live {
	FILE *f;
	bool tty;
	bool shown;
};
void monkey_cli_live_init(struct monkey_cli_live *l, FILE *f);
void monkey_cli_live_update(struct monkey_cli_live *l,
			    const struct monkey_progress *p);
void monkey_cli_live_clear(struct monkey_cli_live *l);

#endif
