/* monkey/replay.h - run the shell commands an agent transcript recorded
 * again ("monkey replay FILE") and tell, per command, whether its exit code
 * and its output match the recording.
 *
 * A transcript is untrusted input: every field is validated, and the
 * recorded sandbox (backend, workspace, limits, image) is only reported,
 * never applied.  Commands run through an executor the caller opened from
 * its own options (monkey/exec.h).
 *
 *	struct monkey_replay_log log;
 *	if (monkey_replay_load("session.jsonl", &log, &err) == 0) {
 *		for (size_t i = 0; i < log.n; i++) {
 *			struct monkey_replay_check chk;
 *			if (monkey_replay_run(ex, &log.cmds[i], 0, &chk,
 *					      &err) == 0) {
 *				... monkey_replay_matches(&chk) ...
 *				monkey_replay_check_free(&chk);
 *			}
 *		}
 *		monkey_replay_log_free(&log);
 *	}
 */
#ifndef MONKEY_REPLAY_H
#define MONKEY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/error.h>
#include <monkey/exec.h>
#include <monkey/session.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One shell command of the transcript, as it was recorded. */
struct monkey_replay_command {
	int line; /* in the transcript */
	char *id;
	char **argv; /* NULL-terminated, argc words */
	size_t argc;
	char *workdir; /* relative to the workspace; NULL = its root */
	/* The limit it ran with (0: none).  A replay applies it only when it
	 * is shorter than the replay's own limit. */
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
	/* Bounded copies of the output (head and tail), NULL in version 1
	 * transcripts. */
	char *stdout_copy, *stderr_copy;
	/* enum monkey_replay_kind: a command, or an event of background job
	 * number job (its start: argv, workdir, stdin_data; input:
	 * stdin_data, eof). */
	int kind;
	int job;
	bool eof;
};

enum monkey_replay_kind {
	MONKEY_REPLAY_COMMAND = 0,
	MONKEY_REPLAY_JOB_START,
	MONKEY_REPLAY_JOB_INPUT,
	MONKEY_REPLAY_JOB_READ,
	MONKEY_REPLAY_JOB_STOP,
};

/* The recording's sandbox, for comparison only.  Numbers are -1 (cpus
 * < 0, flags -1) when the transcript does not say. */
struct monkey_replay_recorded {
	char *backend;
	int safety; /* enum monkey_safety: recorded, or known for the name */
	char *workspace;
	char *image;
	int64_t timeout_ms, memory_mb, pids;
	bool memory_approx; /* an address-space limit, not a memory limit */
	double cpus;
	int network, read_only;
	int64_t n_mounts;
};

struct monkey_replay_log {
	int version;
	struct monkey_replay_recorded rec;
	char *model;
	char *task;
	struct monkey_replay_command *cmds;
	size_t n;
	/* The commands ran in one sandbox session (monkey/session.h): a
	 * replay runs them in one too (monkey_replay_run_in). */
	bool session;
};

/* Parse and validate a transcript (versions 1 and 2).  Errors name the
 * line and the field.  Free *log with monkey_replay_log_free. */
int monkey_replay_load(const char *path, struct monkey_replay_log *log,
		       struct monkey_error *err);
void monkey_replay_log_free(struct monkey_replay_log *log);

/* Where c will run: its working directory resolved inside root (a
 * resolved absolute workspace), as an absolute path in *workdir (caller
 * frees).  A negative errno with err saying why when it cannot run
 * there. */
int monkey_replay_command_workdir(const char *root,
				  const struct monkey_replay_command *c,
				  char **workdir, struct monkey_error *err);

/* How a command ran again, beside the recording. */
struct monkey_replay_check {
	bool skipped; /* not replayable (see reason) */
	char reason[256];
	int exit_code;
	bool timed_out;
	uint64_t stdout_bytes, stderr_bytes;
	char stdout_sha256[65], stderr_sha256[65];
	char *stdout_copy, *stderr_copy; /* as the transcript keeps them */
	bool exit_match, stdout_match, stderr_match;
	char error[MONKEY_ERROR_MESSAGE_MAX]; /* the sandbox's, if any */
};

/* Run c again through ex and compare.  timeout_cap_ms is the replay's
 * limit (0: none); the recorded one applies when shorter.  Returns 0 with
 * chk filled (free it with monkey_replay_check_free) or -ENOMEM. */
int monkey_replay_run(struct monkey_executor *ex,
		      const struct monkey_replay_command *c,
		      int64_t timeout_cap_ms, struct monkey_replay_check *chk,
		      struct monkey_error *err);
/* The same, as the next command of session s (opened on ex's executor),
 * so that what earlier commands left outside the workspace is there. */
int monkey_replay_run_in(struct monkey_session *s, struct monkey_executor *ex,
			 const struct monkey_replay_command *c,
			 int64_t timeout_cap_ms,
			 struct monkey_replay_check *chk,
			 struct monkey_error *err);
void monkey_replay_check_free(struct monkey_replay_check *chk);

/* The background jobs of a replay, by their recorded numbers. */
struct monkey_replay_jobs;
struct monkey_replay_jobs *monkey_replay_jobs_new(void);
/* Close every job still open (stopping it).  NULL is allowed. */
void monkey_replay_jobs_free(struct monkey_replay_jobs *t);
/* Replay a job event c (kind other than MONKEY_REPLAY_COMMAND) in
 * session s, opened on ex: start, feed, read (waiting briefly) or stop the job.
 * A job's output depends on timing and is not compared: chk is marked skipped
 * with what was done, or why not. */
int monkey_replay_run_job(struct monkey_session *s, struct monkey_executor *ex,
			  struct monkey_replay_jobs *t,
			  const struct monkey_replay_command *c,
			  struct monkey_replay_check *chk,
			  struct monkey_error *err);

/* Exit code, stdout and stderr all match the recording. */
static inline bool monkey_replay_matches(const struct monkey_replay_check *chk)
{
	return chk->exit_match && chk->stdout_match && chk->stderr_match;
}

#ifdef __cplusplus
}
#endif

#endif
