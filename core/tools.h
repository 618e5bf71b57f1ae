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

#include "provider.h"
#include "util.h"

enum tool_kind {
	TOOL_SHELL = 0,
	TOOL_READ_FILE,
	TOOL_WRITE_FILE,
	TOOL_EDIT_FILE,
	TOOL_LIST_FILES,
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
 * bad call returns -EINVAL with *msg (caller frees) saying what is wrong in
 * words the model can act on ("unknown tool", "invalid JSON", "missing
 * field 'path'").  -ENOMEM with *msg NULL on allocation failure. */
int tools_parse(const char *name, const char *json, struct tool_args *a,
		char **msg);
void tools_args_free(struct tool_args *a);

/* Resolve path (relative to root, or absolute) so that it lies inside
 * root with every symlink followed.  root must be a resolved absolute
 * path.  For TOOLS_PATH_CREATE the last components need not exist
 * (missing parent directories are created when mkdirs).  Returns 0 with
 * *out (caller frees) or -errno with *msg (caller frees). */
enum tools_path_mode {
	TOOLS_PATH_EXISTING = 0,
	TOOLS_PATH_CREATE = 1,
};
int tools_path_resolve(const char *root, const char *path, int mode,
		       bool mkdirs, char **out, char **msg);
/* path relative to root for display ("." for root itself). */
const char *tools_path_rel(const char *root, const char *abs);

/* Run a file tool.  Always yields content (caller frees) for the model;
 * *is_error tells whether it reports a failure.  Returns -ENOMEM only. */
int tools_fs_run(const char *root, const struct tool_args *a, size_t output_max,
		 char **content, bool *is_error);

/* shell_execute. */
struct tools_shell_outcome {
	struct monkey_result res;
	bool ran;	    /* res is filled */
	char *error;	    /* why it did not run (caller frees) */
	char *workdir_rel;  /* working directory relative to the workspace */
	int64_t timeout_ms; /* the limit it ran with (0: none) */
	char stdout_sha256[65];
	char stderr_sha256[65];
};

struct tools_shell_ctx {
	struct monkey_executor *ex;
	const char *root;
	const char *default_workdir; /* relative to root; NULL = "." */
	int64_t timeout_cap_ms;	     /* the user's limit; 0 = none */
	monkey_output_fn tee;	     /* live output, may be NULL */
	void *tee_ctx;
};

int tools_shell_run(const struct tools_shell_ctx *c, const struct tool_args *a,
		    struct tools_shell_outcome *o);
/* What the model sees: status fields and output shortened to output_max
 * bytes in total.  Caller frees; NULL on allocation failure. */
char *tools_shell_format(const struct tools_shell_outcome *o,
			 size_t output_max);
void tools_shell_outcome_free(struct tools_shell_outcome *o);

/* Resolve a working directory argument to a path relative to root. */
int tools_shell_workdir(const char *root, const char *workdir, char **rel,
			char **msg);

#endif
