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

/* End the session: every process it started is killed and its sandbox
 * removed.  NULL is allowed. */
void monkey_session_close(struct monkey_session *s);

#ifdef __cplusplus
}
#endif

#endif
