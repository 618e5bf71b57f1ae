/* Sandbox sessions (monkey/session.h): a backend session when the backend
 * has them, otherwise its commands one by one through exec, said once. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/session.h>

#include "capture.h"
#include "error_wrap.h"
#include "executor_int.h"
#include "util.h"

struct monkey_session {
	struct monkey_executor *ex;
	const struct monkey_backend *desc; /* ex's, borrowed */
	void *bs; /* the backend's session; NULL: commands go to exec */
	pthread_mutex_t lock; /* one command at a time */
	pthread_mutex_t jobs_lock;
	struct monkey_job *jobs; /* closed with the session */
};

struct monkey_job {
	struct monkey_session *s;
	void *bj; /* the backend's job */
	char *prog;
	struct monkey_job *next;
};

static bool has_sessions(const struct monkey_backend *d)
{
	return (d->capabilities & MONKEY_CAP_SESSION) && d->session_open &&
	       d->session_exec && d->session_close;
}

static void say_not_persistent(struct monkey_session *s, const char *why)
{
	char msg[MONKEY_ERROR_MESSAGE_MAX + 256];
	snprintf(msg, sizeof(msg),
		 "the %s backend has no sessions%s%s: each command runs in a "
		 "fresh sandbox, so files written outside the workspace do "
		 "not persist",
		 s->desc->name, why && why[0] ? " here: " : "", why ? why : "");
	monkey_executor_notify(s->ex, MONKEY_LOG_WARNING, msg);
}

MONKEY_EXPORT int monkey_session_open(struct monkey_executor *ex,
				      struct monkey_session **out,
				      struct monkey_error *err)
{
	*out = NULL;
	if (!ex)
		return monkey_set_error(err, -EINVAL, "no executor given");
	struct monkey_session *s = calloc(1, sizeof(*s));
	if (!s)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	s->ex = ex;
	s->desc = monkey_executor_backend(ex);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->jobs_lock, NULL);
	struct monkey_error oerr = {0};
	int r = -EOPNOTSUPP;
	if (has_sessions(s->desc)) {
		struct monkey_exec_request req;
		monkey_executor_settings(ex, &req);
		r = s->desc->session_open(monkey_executor_backend_state(ex),
					  &req, &s->bs, &oerr);
	}
	if (r == -EOPNOTSUPP) {
		/* No sessions here (or not as configured): one fresh
		 * sandbox per command, said once. */
		s->bs = NULL;
		say_not_persistent(s, oerr.message);
		*out = s;
		return 0;
	}
	if (r < 0 || !s->bs) {
		pthread_mutex_destroy(&s->jobs_lock);
		pthread_mutex_destroy(&s->lock);
		free(s);
		if (err)
			*err = oerr;
		if (r < 0 && err && !err->message[0])
			monkey_set_error(err, r,
					 "the %s backend could not open a "
					 "session",
					 monkey_executor_backend_name(ex));
		return monkey_error_wrap(err, r < 0 ? r : -EIO,
					 "opening a sandbox session");
	}
	*out = s;
	return 0;
}

static int run_in_backend(void *ctx, const struct monkey_exec_request *req,
			  struct monkey_exec_result *result,
			  struct monkey_error *err)
{
	struct monkey_session *s = ctx;
	return s->desc->session_exec(s->bs, req, result, err);
}

MONKEY_EXPORT int monkey_session_run(struct monkey_session *s,
				     const struct monkey_command *cmd,
				     struct monkey_result *res,
				     struct monkey_error *err)
{
	if (!s)
		return monkey_set_error(err, -EINVAL, "no session given");
	struct monkey_exec_via via = {.run = run_in_backend, .ctx = s};
	pthread_mutex_lock(&s->lock);
	int r =
	    monkey_executor_run_via(s->ex, cmd, s->bs ? &via : NULL, res, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

MONKEY_EXPORT bool monkey_session_persistent(const struct monkey_session *s)
{
	return s && s->bs;
}

MONKEY_EXPORT void monkey_session_close(struct monkey_session *s)
{
	if (!s)
		return;
	while (s->jobs)
		monkey_job_close(s->jobs);
	pthread_mutex_destroy(&s->jobs_lock);
	if (s->bs)
		s->desc->session_close(s->bs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

MONKEY_EXPORT bool monkey_session_has_jobs(const struct monkey_session *s)
{
	const struct monkey_backend *d = s ? s->desc : NULL;
	return s && s->bs && (d->capabilities & MONKEY_CAP_JOBS) &&
	       d->job_start && d->job_read && d->job_write && d->job_stop &&
	       d->job_close;
}

MONKEY_EXPORT int monkey_job_start(struct monkey_session *s,
				   const struct monkey_command *cmd,
				   int64_t timeout_ms, struct monkey_job **out,
				   struct monkey_error *err)
{
	*out = NULL;
	if (!monkey_session_has_jobs(s))
		return monkey_set_error(
		    err, -EOPNOTSUPP,
		    "the %s backend cannot run background jobs%s",
		    s ? s->desc->name : "?",
		    s && !s->bs ? " (it has no sessions)" : "");
	_cleanup_free_ char *workdir = NULL;
	struct monkey_exec_request req;
	int r = monkey_executor_request(s->ex, cmd, &workdir, &req, err);
	if (r < 0)
		return r;
	req.timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
	struct monkey_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->prog = strdup(cmd->argv[0]))) {
		free(j);
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	j->s = s;
	r = s->desc->job_start(s->bs, &req, &j->bj, err);
	if (r < 0 || !j->bj) {
		free(j->prog);
		free(j);
		if (err && !err->message[0])
			monkey_set_error(err, r < 0 ? r : -EIO,
					 "%s: the %s backend could not start "
					 "the job",
					 cmd->argv[0], s->desc->name);
		return r < 0 ? r : -EIO;
	}
	pthread_mutex_lock(&s->jobs_lock);
	j->next = s->jobs;
	s->jobs = j;
	pthread_mutex_unlock(&s->jobs_lock);
	*out = j;
	return 0;
}

struct job_sink {
	struct monkey_capture_buf out, err;
};

static int job_output(void *ctx, int stream, const void *data, size_t len)
{
	struct job_sink *k = ctx;
	monkey_capture_buf_append(
	    stream == MONKEY_STREAM_STDERR ? &k->err : &k->out, data, len);
	return 0;
}

MONKEY_EXPORT int monkey_job_read(struct monkey_job *j, int64_t wait_ms,
				  struct monkey_result *res, bool *running,
				  struct monkey_error *err)
{
	struct monkey_session *s = j->s;
	memset(res, 0, sizeof(*res));
	res->oom_killed = MONKEY_UNKNOWN;
	size_t max = monkey_executor_max_output(s->ex);
	struct job_sink k;
	monkey_capture_buf_init(&k.out, max);
	monkey_capture_buf_init(&k.err, max);
	struct monkey_exec_result br = {
	    .struct_size = sizeof(br),
	    .exit_code = -1,
	    .oom_killed = MONKEY_UNKNOWN,
	};
	struct monkey_error berr = {0};
	int run = 1;
	int r = s->desc->job_read(j->bj, wait_ms > 0 ? wait_ms : 0, job_output,
				  &k, &run, &br, &berr);
	*running = run != 0;
	if (!run)
		monkey_executor_result(s->ex, j->prog, r, &berr, &br, res);
	if (monkey_capture_buf_finish(&k.out, &res->out) < 0 ||
	    monkey_capture_buf_finish(&k.err, &res->err) < 0) {
		monkey_result_free(res);
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	return 0;
}

MONKEY_EXPORT int monkey_job_write(struct monkey_job *j, const void *data,
				   size_t len, bool close_stdin,
				   struct monkey_error *err)
{
	return j->s->desc->job_write(j->bj, data, len, close_stdin, err);
}

MONKEY_EXPORT int monkey_job_stop(struct monkey_job *j,
				  struct monkey_error *err)
{
	return j->s->desc->job_stop(j->bj, err);
}

MONKEY_EXPORT void monkey_job_close(struct monkey_job *j)
{
	if (!j)
		return;
	struct monkey_session *s = j->s;
	pthread_mutex_lock(&s->jobs_lock);
	for (struct monkey_job **p = &s->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	pthread_mutex_unlock(&s->jobs_lock);
	s->desc->job_close(j->bj);
	free(j->prog);
	free(j);
}
