/* The agent's tools: their definitions for the model, argument checking,
 * and running them.  File tools are confined to the workspace
 * (tools_path.c, tools_fs.c); shell_execute runs through the sandbox
 * executor (tools_shell.c). */
#ifndef MONKEY_TOOLS_H
#define MONKEY_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/exec.h>
#include <monkey/session.h>

#include "provider.h"
#include "util.h"

enum tool_kind {
	TOOL_SHELL = 0,
	TOOL_READ_FILE,
	TOOL_WRITE_FILE,
	TOOL_EDIT_FILE,
	TOOL_LIST_FILES,
	TOOL_JOB_OUTPUT, /* background jobs (agent_jobs.c) */
	TOOL_JOB_INPUT,
	TOOL_JOB_STOP,
	TOOL_COUNT,
};

/* Definitions handed to the provider (static). */
extern const struct provider_tool monkey_tools[TOOL_COUNT];

/* Checked arguments of one call. */
struct tool_args {
	int kind; /* enum tool_kind */
	/* shell_execute */
	struct monkey_strv argv;
	char *workdir;	    /* NULL: the workspace root */
	int64_t timeout_ms; /* 0: the sandbox's */
	char *stdin_data;
	size_t stdin_len;
	bool has_stdin;
	bool background; /* start it as a job */
	/* job_output, job_input, job_stop */
	int64_t job;
	int64_t wait_ms; /* job_output: -1 = the default */
	char *data;	 /* job_input */
	size_t data_len;
	bool eof; /* job_input: close its stdin after data */
	/* file tools */
	char *path;
	char *content; /* write_file; may hold NUL bytes */
	size_t content_len;
	char *old_string;
	char *new_string;
	int64_t offset; /* read_file: first line, 1-based; 0 = 1 */
	int64_t limit;	/* read_file: lines; 0 = all that fit */
	bool recursive; /* list_files */
};

/* Parse and check the arguments of tool name.  On success returns 0; on a
 * bad call returns -EINVAL with err saying what is wrong in words the model
 * can act on ("unknown tool", "invalid JSON", "missing field 'path'").
 * -ENOMEM when memory ran out: the run cannot go on. */
int tools_parse(const char *name, const char *json, struct tool_args *a,
		struct monkey_error *err);
void tools_args_free(struct tool_args *a);

/* Resolve path (relative to root, or absolute) so that it lies inside
 * root with every symlink followed.  root must be a resolved absolute
 * path.  mode is a set of enum tools_path_mode bits.  With
 * TOOLS_PATH_CREATE the last component need not exist, nor (with
 * TOOLS_PATH_PARENTS or mkdirs) the directories above it; mkdirs creates
 * them, after every check.  TOOLS_PATH_WRITE refuses a path inside a
 * directory the file tools may not change (tools_path_protected).
 * Returns 0 with *out (caller frees), or a negative errno with err saying
 * why in words for the model (-ENOMEM: memory ran out). */
enum tools_path_mode {
	TOOLS_PATH_EXISTING = 0,
	TOOLS_PATH_CREATE = 1,
	TOOLS_PATH_WRITE = 2,
	TOOLS_PATH_PARENTS = 4,
	/* With TOOLS_PATH_WRITE: .git may be changed (--writable-git). */
	TOOLS_PATH_GIT_OK = 8,
};
int tools_path_resolve(const char *root, const char *path, int mode,
		       bool mkdirs, char **out, struct monkey_error *err);
/* The protected directory (".git" or ".monkey") that rel, a path relative
 * to the workspace, lies in or names, at any depth and in any letter case
 * (a case-insensitive filesystem finds .GIT too); NULL when none.  .git
 * holds configuration and hooks that git runs on the host; .monkey is
 * monkey's own. */
const char *tools_path_protected(const char *rel, bool writable_git);
/* path relative to root for display ("." for root itself). */
const char *tools_path_rel(const char *root, const char *abs);

/* Run a file tool.  Always yields content (caller frees) for the model;
 * *is_error tells whether it reports a failure.  Returns -ENOMEM only.
 * write_file and edit_file run as tools_fs_prepare + tools_fs_commit,
 * with .git protected. */
int tools_fs_run(const char *root, const struct tool_args *a, size_t output_max,
		 char **content, bool *is_error);

/* What a change to a file does, for a person (tools_diff.c). */
struct tools_diff {
	size_t added, removed; /* lines */
	bool approximate;      /* too large to compare: the changed region */
	bool binary;	       /* no lines to show */
	/* "@@ line N @@", a few lines of context (" "), removed ("-") and
	 * added ("+") lines of the first change, "... N more changed lines";
	 * lines cut at 100 bytes and escaped (escape.h); no final newline.
	 * Caller frees. */
	char *text;
};
int tools_diff(const char *old, size_t olen, const char *new, size_t nlen,
	       struct tools_diff *d);
void tools_diff_free(struct tools_diff *d);

/* A write_file or edit_file call, checked and computed but not done yet:
 * what an approval shows, and then exactly what is written. */
struct tools_fs_change {
	char *abs;  /* the file, resolved */
	char *data; /* its new contents (may hold NUL bytes) */
	size_t len;
	bool exists; /* it replaces a file */
	long line;   /* edit_file: the line of the replacement */
	struct tools_diff diff;
};

/* Check the call and compute the change.  Returns 0 with either *c filled
 * and *content NULL, or *content (caller frees) saying why the call is
 * refused (*is_error set) and nothing to free in *c; -ENOMEM.  Nothing on
 * disk changes. */
int tools_fs_prepare(const char *root, const struct tool_args *a,
		     bool writable_git, struct tools_fs_change *c,
		     char **content, bool *is_error);
/* Write the prepared change (the path is checked again: it must still
 * resolve to c->abs).  Content as tools_fs_run. */
int tools_fs_commit(const char *root, const struct tool_args *a,
		    bool writable_git, const struct tools_fs_change *c,
		    char **content, bool *is_error);
void tools_fs_change_free(struct tools_fs_change *c);

/* shell_execute. */
struct tools_shell_outcome {
	struct monkey_result res;
	bool ran;	    /* res is filled */
	char *error;	    /* why it did not run (caller frees) */
	char *workdir_rel;  /* working directory relative to the workspace */
	int64_t timeout_ms; /* the limit it ran with (0: none) */
	/* The model's timeout_ms when it was above the user's limit, which
	 * the command ran with instead; 0 otherwise. */
	int64_t timeout_lowered_from;
	char stdout_sha256[65];
	char stderr_sha256[65];
};

struct tools_shell_ctx {
	struct monkey_executor *ex;
	struct monkey_session *session; /* runs there when not NULL */
	const char *root;
	const char *default_workdir; /* relative to root; NULL = "." */
	int64_t timeout_cap_ms;	     /* the user's limit; 0 = none */
	monkey_output_fn tee;	     /* live output, may be NULL */
	void *tee_ctx;
	monkey_progress_fn progress; /* may be NULL; with tee_ctx */
};

int tools_shell_run(const struct tools_shell_ctx *c, const struct tool_args *a,
		    struct tools_shell_outcome *o);
/* What the model sees: status fields and output shortened to output_max
 * bytes in total.  Caller frees; NULL on allocation failure. */
char *tools_shell_format(const struct tools_shell_outcome *o,
			 size_t output_max);
void tools_shell_outcome_free(struct tools_shell_outcome *o);

/* Resolve a working directory argument to a path relative to root (*rel,
 * caller frees); errors as tools_path_resolve. */
int tools_shell_workdir(const char *root, const char *workdir, char **rel,
			struct monkey_error *err);

#endif
