/* Background jobs on procrun (procrun_job.c): a command run to its end by
 * procrun_exec on a thread of its own, its output kept for reads, its
 * stdin a pipe, stopped through its cancel fd.  The spawn backend's jobs;
 * hidden like the rest of procrun. */
#ifndef MONKEY_PROCRUN_JOB_H
#define MONKEY_PROCRUN_JOB_H

#include "procrun.h"

struct procrun_job;

/* The backend ABI's job entry points (backend.h), with opts for
 * procrun_exec. */
PROCRUN_API int procrun_job_start(const struct monkey_host *host,
				  const struct monkey_exec_request *req,
				  const struct procrun_opts *opts,
				  struct procrun_job **out,
				  struct monkey_error *err);
PROCRUN_API int procrun_job_read(struct procrun_job *j, int64_t wait_ms,
				 monkey_output_fn out, void *out_ctx,
				 int *running,
				 struct monkey_exec_result *result,
				 struct monkey_error *err);
PROCRUN_API int procrun_job_write(struct procrun_job *j, const void *data,
				  size_t len, int close_stdin,
				  struct monkey_error *err);
PROCRUN_API int procrun_job_stop(struct procrun_job *j,
				 struct monkey_error *err);
PROCRUN_API void procrun_job_close(struct procrun_job *j);

#endif
