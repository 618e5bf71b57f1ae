/* The docker backend's background jobs (job.c), on the run layer: one
 * job is "monkey-launch job" exec'd into a session's container, with a
 * stream and a reader thread of its own.  The session layer (session.c)
 * starts them in its container and closes them with it. */
#ifndef MONKEY_DOCKER_JOB_H
#define MONKEY_DOCKER_JOB_H

#include "run.h"

struct dk_job;

/* backend.h's job entry points; start runs req in container. */
int dk_job_start(struct dk_state *st, const char *container,
		 const struct monkey_exec_request *req, struct dk_job **out,
		 struct monkey_error *err);
int dk_job_read(struct dk_job *j, int64_t wait_ms, monkey_output_fn out,
		void *out_ctx, int *running, struct monkey_exec_result *result,
		struct monkey_error *err);
int dk_job_write(struct dk_job *j, const void *data, size_t len,
		 int close_stdin, struct monkey_error *err);
int dk_job_stop(struct dk_job *j, struct monkey_error *err);
void dk_job_close(struct dk_job *j);

#endif
