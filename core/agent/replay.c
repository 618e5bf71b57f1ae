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
