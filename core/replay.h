/* Replay: read the shell commands a transcript recorded and run them again
 * through any backend, telling per command whether the exit code and the
 * output match the recording. */
#ifndef MONKEY_REPLAY_H
#define MONKEY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/exec.h>

#include "util.h"

struct replay_command {
	int line; /* in the transcript */
	char *id;
	struct monkey_strv argv;
	char *workdir; /* relative to the workspace */
	int64_t timeout_ms;
	char *stdin_data;
	size_t stdin_len;
	bool has_stdin;
	char *backend;
	bool ran; /* false: it was refused (bad workdir, ...) */
	bool cancelled;
	char *error; /* why it did not run */
	int exit_code;
	bool timed_out;
	uint64_t stdout_bytes, stderr_bytes;
	char stdout_sha256[65], stderr_sha256[65];
};

struct replay_log {
	char *workspace;
	char *backend; /* the backend of the recording */
	/* The recording's sandbox limits (has_limits: they were recorded). */
	bool has_limits;
	char *image;
	int64_t timeout_ms, memory_mb, pids;
	double cpus;
	bool network, read_only;
	char *model;
	char *task;
	struct replay_command *cmds;
	size_t n;
};

/* Parse a transcript.  Errors name the line. */
int replay_load(const char *path, struct replay_log *log,
		struct monkey_error *err);
void replay_log_free(struct replay_log *log);

struct replay_check {
	bool skipped; /* not replayable (see reason) */
	char reason[256];
	int exit_code;
	bool timed_out;
	uint64_t stdout_bytes, stderr_bytes;
	char stdout_sha256[65], stderr_sha256[65];
	bool exit_match, stdout_match, stderr_match;
	char error[MONKEY_ERROR_MESSAGE_MAX]; /* the sandbox's, if any */
};

/* Run c again and compare.  Returns 0 (chk filled) or a negative errno
 * when the executor refused the command. */
int replay_run(struct monkey_executor *ex, const struct replay_command *c,
	       struct replay_check *chk, struct monkey_error *err);

static inline bool replay_matches(const struct replay_check *chk)
{
	return chk->exit_match && chk->stdout_match && chk->stderr_match;
}

#endif
