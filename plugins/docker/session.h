/* The docker backend's sessions, on the pool and run layers: one
 * container running monkey-launch in session mode serves a sequence of
 * commands (session.c). */
#ifndef MONKEY_DOCKER_SESSION_H
#define MONKEY_DOCKER_SESSION_H

#include "job.h"
#include "pool.h"

struct dk_session;

/* Prepare a session for req's settings: its container starts in the
 * background (or comes from the pool), so that the first command does
 * not wait for it.  -EOPNOTSUPP without a usable launcher. */
int dk_session_open(struct dk_state *st, const struct monkey_exec_request *req,
		    struct dk_session **out, struct monkey_error *err);
/* One command in the session (backend.h's session_exec contract). */
int dk_session_exec(struct dk_session *s, const struct monkey_exec_request *req,
		    struct monkey_exec_result *result,
		    struct monkey_error *err);
/* Remove the session's container now and free s (its jobs first). */
void dk_session_close(struct dk_session *s);

/* A job of the session (backend.h's job entry points). */
struct dk_session_job;
int dk_session_job_start(struct dk_session *s,
			 const struct monkey_exec_request *req,
			 struct dk_session_job **out, struct monkey_error *err);
struct dk_job *dk_session_job(struct dk_session_job *sj);
void dk_session_job_close(struct dk_session_job *sj);

#endif
