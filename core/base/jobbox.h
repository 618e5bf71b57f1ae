/* What a background job's own thread shares with its readers: the output
 * kept between reads (outkeep.h), whether it still runs and how it ended,
 * under one lock and condition.  Header-only, for the backends that run
 * jobs (bgjob.c for spawn and rootless, the docker backend's job.c), so
 * that job_read means the same everywhere. */
#ifndef MONKEY_JOBBOX_H
#define MONKEY_JOBBOX_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "outkeep.h"

struct monkey_jobbox {
	pthread_mutex_t lock; /* for the rest, and for the owner's fields */
	pthread_cond_t cond;  /* output arrived, or the job ended */
	struct monkey_outkeep out, err;
	int running;
	int rc; /* once it ended: what its run returned */
	struct monkey_exec_result result;
	struct monkey_error run_err;
};

/* Initialise b (zeroed by the caller), with the job running. */
static inline void monkey_jobbox_init(struct monkey_jobbox *b)
{
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->running = 1;
}

static inline void monkey_jobbox_destroy(struct monkey_jobbox *b)
{
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
}

/* Output of the job, from whichever thread reads it. */
static inline void monkey_jobbox_add(struct monkey_jobbox *b, int stream,
				     const void *data, size_t len)
{
	pthread_mutex_lock(&b->lock);
	monkey_outkeep_add(stream == MONKEY_STREAM_STDERR ? &b->err : &b->out,
			   data, len);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* The job ended: once, from the thread that ran it. */
static inline void monkey_jobbox_finish(struct monkey_jobbox *b, int rc,
					const struct monkey_exec_result *res,
					const struct monkey_error *err)
{
	pthread_mutex_lock(&b->lock);
	b->rc = rc;
	b->result = *res;
	b->run_err = *err;
	b->running = 0;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* job_read (backend.h): wait up to wait_ms for output while the job runs
 * and has none, take what is kept, and pass it to out outside the lock;
 * once the job ended, its result (up to the caller's struct_size) and
 * what its run returned. */
static inline int monkey_jobbox_read(struct monkey_jobbox *b,
				     const struct monkey_host *host,
				     int64_t wait_ms, monkey_output_fn out,
				     void *out_ctx, int *running,
				     struct monkey_exec_result *result,
				     struct monkey_error *err)
{
	struct timespec until = monkey_deadline_after(wait_ms);
	struct monkey_outkeep *copy = malloc(2 * sizeof(*copy));
	if (!copy)
		return host->set_error(err, -ENOMEM, "out of memory");
	pthread_mutex_lock(&b->lock);
	while (wait_ms > 0 && b->running && monkey_outkeep_empty(&b->out) &&
	       monkey_outkeep_empty(&b->err) &&
	       pthread_cond_timedwait(&b->cond, &b->lock, &until) == 0)
		;
	copy[0] = b->out;
	copy[1] = b->err;
	memset(&b->out, 0, sizeof(b->out));
	memset(&b->err, 0, sizeof(b->err));
	*running = b->running;
	int rc = 0;
	if (!b->running) {
		rc = b->rc;
		if (result && MONKEY_STRUCT_HAS(result, cancelled)) {
			uint32_t size = result->struct_size;
			memcpy(result, &b->result,
			       size < sizeof(b->result) ? size
							: sizeof(b->result));
			result->struct_size = size;
		}
		if (rc < 0 && err)
			*err = b->run_err;
	}
	pthread_mutex_unlock(&b->lock);
	if (out) {
		monkey_outkeep_emit(&copy[0], MONKEY_STREAM_STDOUT, out,
				    out_ctx);
		monkey_outkeep_emit(&copy[1], MONKEY_STREAM_STDERR, out,
				    out_ctx);
	}
	free(copy);
	return rc;
}

#endif
