/* Running a transcript's commands again, through the executor the caller
 * opened from its own options, and comparing with the recording. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "jsonout.h"
#include "replay.h"
#include "tools.h"
#include "transcript.h"

MONKEY_EXPORT int
monkey_replay_command_workdir(const char *root,
			      const struct monkey_replay_command *c,
			      char **workdir, struct monkey_error *err)
{
	*workdir = NULL;
	_cleanup_free_ char *rel = NULL;
	int r =
	    tools_shell_workdir(root, c->workdir ? c->workdir : ".", &rel, err);
	if (r < 0)
		return r;
	*workdir = strcmp(rel, ".") ? monkey_strdup_printf("%s/%s", root, rel)
				    : strdup(root);
	return *workdir ? 0 : monkey_set_error(err, -ENOMEM, "out of memory");
}

/* The transcript's copy of one stream, made the same way. */
static char *output_copy(const struct monkey_capture *cap)
{
	size_t len = 0, n = 0;
	_cleanup_free_ char *all = monkey_capture_join(cap, &len);
	_cleanup_free_ char *cut =
	    all ? monkey_shorten(all, len, MONKEY_TRANSCRIPT_OUTPUT_COPY, &n)
		: NULL;
	return cut ? monkey_utf8_sanitize(cut, n, NULL) : NULL;
}

static bool skipped(const struct monkey_replay_command *c,
		    struct monkey_replay_check *chk)
{
	if (!c->ran)
		snprintf(chk->reason, sizeof(chk->reason),
			 "not run in the recording: %s",
			 c->error ? c->error : "refused");
	else if (c->cancelled)
		snprintf(chk->reason, sizeof(chk->reason),
			 "interrupted in the recording");
	else
		return false;
	chk->skipped = true;
	return true;
}

/* c through ex, or through session s when it is not NULL. */
static int replay_one(struct monkey_session *s, struct monkey_executor *ex,
		      const struct monkey_replay_command *c,
		      int64_t timeout_cap_ms, struct monkey_replay_check *chk,
		      struct monkey_error *err)
{
	memset(chk, 0, sizeof(*chk));
	if (skipped(c, chk))
		return 0;
	/* Borrow the record's fields; tool_args is not freed.  The
	 * recorded timeout can only shorten the replay's. */
	struct tool_args a = {
	    .kind = TOOL_SHELL,
	    .argv = {.v = c->argv, .n = c->argc},
	    .workdir = c->workdir,
	    .timeout_ms = c->timeout_ms,
	    .stdin_data = c->stdin_data,
	    .stdin_len = c->stdin_len,
	    .has_stdin = c->has_stdin,
	};
	struct tools_shell_ctx sc = {
	    .ex = ex,
	    .session = s,
	    .root = monkey_executor_workspace(ex),
	    .timeout_cap_ms = timeout_cap_ms,
	};
	struct tools_shell_outcome so;
	int r = tools_shell_run(&sc, &a, &so);
	if (r < 0)
		return monkey_set_error(err, r, "out of memory");
	if (!so.ran) {
		chk->skipped = true;
		snprintf(chk->reason, sizeof(chk->reason), "%s",
			 so.error ? so.error : "not run");
		tools_shell_outcome_free(&so);
		return 0;
	}
	chk->exit_code = so.res.exit_code;
	chk->timed_out = so.res.timed_out;
	chk->stdout_bytes = so.res.out.total;
	chk->stderr_bytes = so.res.err.total;
	memcpy(chk->stdout_sha256, so.stdout_sha256, 65);
	memcpy(chk->stderr_sha256, so.stderr_sha256, 65);
	chk->stdout_copy = output_copy(&so.res.out);
	chk->stderr_copy = output_copy(&so.res.err);
	snprintf(chk->error, sizeof(chk->error), "%s", so.res.error);
	chk->exit_match = chk->exit_code == c->exit_code;
	chk->stdout_match = !strcmp(chk->stdout_sha256, c->stdout_sha256);
	chk->stderr_match = !strcmp(chk->stderr_sha256, c->stderr_sha256);
	tools_shell_outcome_free(&so);
	if (!chk->stdout_copy || !chk->stderr_copy) {
		monkey_replay_check_free(chk);
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	return 0;
}

MONKEY_EXPORT int monkey_replay_run(struct monkey_executor *ex,
				    const struct monkey_replay_command *c,
				    int64_t timeout_cap_ms,
				    struct monkey_replay_check *chk,
				    struct monkey_error *err)
{
	return replay_one(NULL, ex, c, timeout_cap_ms, chk, err);
}

MONKEY_EXPORT int monkey_replay_run_in(struct monkey_session *s,
				       struct monkey_executor *ex,
				       const struct monkey_replay_command *c,
				       int64_t timeout_cap_ms,
				       struct monkey_replay_check *chk,
				       struct monkey_error *err)
{
	if (!s)
		return monkey_set_error(err, -EINVAL, "no session given");
	return replay_one(s, ex, c, timeout_cap_ms, chk, err);
}

MONKEY_EXPORT void monkey_replay_check_free(struct monkey_replay_check *chk)
{
	free(chk->stdout_copy);
	free(chk->stderr_copy);
	chk->stdout_copy = chk->stderr_copy = NULL;
}

/* ---- background jobs ---- */

#define REPLAY_JOBS_MAX 64
/* A replayed read waits this long for the job's output. */
#define REPLAY_JOB_READ_MS 1000

struct monkey_replay_jobs {
	int num[REPLAY_JOBS_MAX];
	struct monkey_job *job[REPLAY_JOBS_MAX];
};

MONKEY_EXPORT struct monkey_replay_jobs *monkey_replay_jobs_new(void)
{
	return calloc(1, sizeof(struct monkey_replay_jobs));
}

MONKEY_EXPORT void monkey_replay_jobs_free(struct monkey_replay_jobs *t)
{
	if (!t)
		return;
	for (int i = 0; i < REPLAY_JOBS_MAX; i++)
		monkey_job_close(t->job[i]);
	free(t);
}

static int slot_of(struct monkey_replay_jobs *t, int num)
{
	for (int i = 0; i < REPLAY_JOBS_MAX; i++)
		if (t->job[i] && t->num[i] == num)
			return i;
	return -1;
}

static int job_start(struct monkey_session *s, struct monkey_executor *ex,
		     struct monkey_replay_jobs *t,
		     const struct monkey_replay_command *c,
		     struct monkey_replay_check *chk, struct monkey_error *err)
{
	int free_slot = -1;
	for (int i = REPLAY_JOBS_MAX - 1; i >= 0; i--)
		if (!t->job[i])
			free_slot = i;
	if (free_slot < 0 || slot_of(t, c->job) >= 0) {
		snprintf(chk->reason, sizeof(chk->reason),
			 "job %d not started: %s", c->job,
			 free_slot < 0 ? "too many jobs" : "it runs already");
		return 0;
	}
	_cleanup_free_ char *rel = NULL;
	struct monkey_error e = {0};
	int r = tools_shell_workdir(monkey_executor_workspace(ex),
				    c->workdir ? c->workdir : ".", &rel, &e);
	if (r == -ENOMEM)
		return monkey_set_error(err, r, "out of memory");
	struct monkey_command cmd = {
	    .argv = (const char *const *)c->argv,
	    .workdir = rel,
	    .stdin_data = c->stdin_data,
	    .stdin_len = c->stdin_len,
	    .has_stdin = c->has_stdin,
	};
	if (r == 0)
		r = monkey_job_start(s, &cmd, 0, &t->job[free_slot], &e);
	if (r < 0) {
		snprintf(chk->reason, sizeof(chk->reason),
			 "job %d not started: %s", c->job, e.message);
		return 0;
	}
	t->num[free_slot] = c->job;
	snprintf(chk->reason, sizeof(chk->reason),
		 "job %d started (a job's output is not compared)", c->job);
	return 0;
}

MONKEY_EXPORT int monkey_replay_run_job(struct monkey_session *s,
					struct monkey_executor *ex,
					struct monkey_replay_jobs *t,
					const struct monkey_replay_command *c,
					struct monkey_replay_check *chk,
					struct monkey_error *err)
{
	memset(chk, 0, sizeof(*chk));
	chk->skipped = true;
	if (c->kind == MONKEY_REPLAY_JOB_START)
		return job_start(s, ex, t, c, chk, err);
	int i = slot_of(t, c->job);
	struct monkey_error e = {0};
	if (i < 0) {
		snprintf(chk->reason, sizeof(chk->reason),
			 "job %d is not running here", c->job);
		return 0;
	}
	if (c->kind == MONKEY_REPLAY_JOB_INPUT) {
		int r = monkey_job_write(t->job[i], c->stdin_data, c->stdin_len,
					 c->eof, &e);
		snprintf(chk->reason, sizeof(chk->reason), "job %d: %s", c->job,
			 r < 0 ? e.message : "input written");
		return 0;
	}
	if (c->kind == MONKEY_REPLAY_JOB_STOP)
		monkey_job_stop(t->job[i], &e);
	struct monkey_result res;
	bool running = true;
	int r = monkey_job_read(
	    t->job[i],
	    c->kind == MONKEY_REPLAY_JOB_READ ? REPLAY_JOB_READ_MS : 0, &res,
	    &running, err);
	if (r < 0)
		return r;
	snprintf(chk->reason, sizeof(chk->reason),
		 "job %d %s: %llu bytes of output, %s", c->job,
		 c->kind == MONKEY_REPLAY_JOB_STOP ? "stopped" : "read",
		 (unsigned long long)(res.out.total + res.err.total),
		 running ? "running" : "ended");
	monkey_result_free(&res);
	if (!running) {
		monkey_job_close(t->job[i]);
		t->job[i] = NULL;
	}
	return 0;
}
