/* Replay: read the shell commands a transcript recorded and run them again
 * through the sandbox the replay's own options choose, telling per command
 * whether the exit code and the output match the recording.  A transcript
 * is untrusted input: every field is validated, and the recorded sandbox
 * (backend, workspace, limits, image) is only shown, never applied. */
#ifndef MONKEY_REPLAY_H
#define MONKEY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <monkey/exec.h>

#include "util.h"

/* Largest values a transcript may hold; anything above is refused as
 * malformed rather than taken as "no limit". */
#define REPLAY_MAX_TIMEOUT_MS (366LL * 24 * 3600 * 1000) /* a year */
#define REPLAY_MAX_MEMORY_MB (1LL << 24)		 /* 16 TiB */
#define REPLAY_MAX_PIDS (1LL << 22) /* the kernel's PID_MAX_LIMIT */
#define REPLAY_MAX_CPUS 4096.0
#define REPLAY_MAX_BYTES (1LL << 53) /* exact in any JSON reader */
#define REPLAY_MAX_LINE (64u * 1024 * 1024)
#define REPLAY_MAX_ARGS 65536

struct replay_command {
	int line; /* in the transcript */
	char *id;
	struct monkey_strv argv;
	char *workdir; /* relative to the workspace; NULL = its root */
	/* The limit it ran with (0: none).  A replay applies it only when it
	 * is shorter than the replay's own --timeout. */
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
};

/* The recording's sandbox, for comparison only.  Numbers are -1 (cpus
 * < 0, flags -1) when the transcript does not say. */
struct replay_recorded {
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

struct replay_log {
	int version;
	struct replay_recorded rec;
	char *model;
	char *task;
	struct replay_command *cmds;
	size_t n;
};

/* Parse and validate a transcript (versions 1 and 2).  Errors name the
 * line and the field. */
int replay_load(const char *path, struct replay_log *log,
		struct monkey_error *err);
/* The same from an open stream; name is used in messages. */
int replay_load_file(FILE *f, const char *name, struct replay_log *log,
		     struct monkey_error *err);
void replay_log_free(struct replay_log *log);

/* Safety level of a backend a transcript names: the shipped ones are
 * known; for another, the recorded level (recorded < 0: none), else the
 * highest, so that anything weaker must be asked for by name. */
int replay_backend_safety(const char *name, int recorded);

/* Where c will run: its working directory resolved inside root, as an
 * absolute path (caller frees).  NULL with *why (caller frees) when it
 * cannot run there. */
char *replay_command_workdir(const char *root, const struct replay_command *c,
			     char **why);

struct replay_check {
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

/* Run c again and compare.  timeout_cap_ms is the replay's --timeout (0:
 * none); the recorded limit applies when shorter.  Returns 0 (chk filled;
 * free it with replay_check_free) or -ENOMEM. */
int replay_run(struct monkey_executor *ex, const struct replay_command *c,
	       int64_t timeout_cap_ms, struct replay_check *chk,
	       struct monkey_error *err);
void replay_check_free(struct replay_check *chk);

static inline bool replay_matches(const struct replay_check *chk)
{
	return chk->exit_match && chk->stdout_match && chk->stderr_match;
}

#endif
