/* Sandbox sessions (monkey/session.h): a backend session when the backend
 * has them, otherwise its commands one by one through exec, said once. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <monkey/session.h>

#include "error_wrap.h"
#include "executor_int.h"
#include "util.h"

struct monkey_session {
	struct monkey_executor *ex;
	const struct monkey_backend *desc; /* ex's, borrowed */
	void *bs; /* the backend's session; NULL: commands go to exec */
	pthread_mutex_t lock; /* one command at a time */
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
	if (s->bs)
		s->desc->session_close(s->bs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
