/* monkey/session.h - sandbox sessions: a sequence of commands in one
 * sandbox, so that what a command writes outside the workspace (installed
 * tools, /tmp, $HOME) is there for the next one.  Built on an executor
 * (monkey/exec.h): the same options, the same scrubbed environment,
 * confined working directory and bounded output per command. */
#ifndef MONKEY_SESSION_H
#define MONKEY_SESSION_H

#include <stdbool.h>

#include <monkey/error.h>
#include <monkey/exec.h>

#ifdef __cplusplus
extern "C" {
#endif

struct monkey_session;

/* Open a session in ex's backend with ex's settings.  A backend without
 * sessions (MONKEY_CAP_SESSION unset, or built against ABI 1.0) still
 * gives one: its commands then run one by one, each in a fresh sandbox,
 * and the executor's notify callback says once that state does not
 * persist (monkey_session_persistent() is false).  ex must outlive the
 * session. */
int monkey_session_open(struct monkey_executor *ex, struct monkey_session **out,
			struct monkey_error *err);

/* Run one command in the session, as monkey_executor_run does.  Calls
 * from several threads are serialised: one command at a time.  When the
 * sandbox was lost (killed from outside) res->session_reset is set:
 * before this command a new sandbox was started and only the workspace
 * remains of the old one, or, with exit code 125, the sandbox died while
 * the command ran and the next command gets a new one. */
int monkey_session_run(struct monkey_session *s,
		       const struct monkey_command *cmd,
		       struct monkey_result *res, struct monkey_error *err);

/* True when files written outside the workspace persist between the
 * session's commands (the backend has sessions). */
bool monkey_session_persistent(const struct monkey_session *s);

/* End the session: every job is closed, every process it started is
 * killed and its sandbox removed.  NULL is allowed. */
void monkey_session_close(struct monkey_session *s);

/* ---- background jobs ----
 * A job is a command of the session that runs on while later commands
 * do (a server, a REPL): it is exempt from the kill at a command's end,
 * and only from it.  It counts against the session's limits and dies
 * when the session closes. */

struct monkey_job;

/* True when the backend can run jobs in this session. */
bool monkey_session_has_jobs(const struct monkey_session *s);

/* Start cmd as a job of s and return at once.  cmd->stdin_data (when
 * has_stdin) are the first bytes of its stdin, which stays open for
 * monkey_job_write; cmd->tee is not used.  timeout_ms is the job's own
 * limit (0: none).  -EOPNOTSUPP, saying so, when the backend has no
 * jobs; -EINVAL for a bad command or working directory. */
int monkey_job_start(struct monkey_session *s, const struct monkey_command *cmd,
		     int64_t timeout_ms, struct monkey_job **out,
		     struct monkey_error *err);

/* The job's output since the last read, in res->out and res->err
 * (bounded as a command's output is), waiting up to wait_ms for some
 * when there is none yet.  *running says whether it still runs; once it
 * is false, res says how it ended, as monkey_session_run would.  Free
 * res with monkey_result_free. */
int monkey_job_read(struct monkey_job *j, int64_t wait_ms,
		    struct monkey_result *res, bool *running,
		    struct monkey_error *err);

/* Write to the job's stdin; close_stdin then closes it. */
int monkey_job_write(struct monkey_job *j, const void *data, size_t len,
		     bool close_stdin, struct monkey_error *err);

/* Stop the job and everything it started: SIGTERM, the grace time,
 * SIGKILL.  Its output stays readable. */
int monkey_job_stop(struct monkey_job *j, struct monkey_error *err);

/* Stop the job if it runs and free it.  NULL is allowed. */
void monkey_job_close(struct monkey_job *j);

#ifdef __cplusplus
}
#endif

#endif
