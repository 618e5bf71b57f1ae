/* Sessions: one container per session, its PID 1 monkey-launch in
 * session mode (launch.c), which runs the commands it is sent one after
 * another and kills every process but itself after each.  Files persist;
 * the container's limits apply to the session as a whole.  A container
 * that died (killed from outside) is replaced at the next command, which
 * is told so. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"

/* Past the command's timeout and grace, how long the launcher may take
 * to report before the session's container counts as lost. */
#define DK_SESSION_SLACK_MS 10000

struct dk_session {
	struct dk_state *st;
	pthread_mutex_t lock;  /* one command at a time */
	char *body, *image;    /* of the session's containers */
	struct dk_sandbox *sb; /* NULL: none yet, or lost */
	int lost;	       /* sb died between two commands */
	/* The first container starts in the background. */
	pthread_t starter;
	int starting;
	int start_rc;
	struct monkey_error start_err;
	pthread_mutex_t jobs_lock;
	struct dk_session_job *jobs; /* closed before the container goes */
};

struct dk_session_job {
	struct dk_session *s;
	struct dk_job *j;
	struct dk_session_job *next;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fd_ready(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return fd >= 0 && poll(&p, 1, 0) > 0;
}

/* A container for the session, its launcher ready: a prestarted one with
 * these settings, else one started now. */
static int start_sandbox(struct dk_session *s, struct monkey_error *err)
{
	struct dk_state *st = s->st;
	struct dk_sandbox *sb = dk_pool_take(st, s->body, s->image);
	if (sb) {
		s->sb = sb;
		return 0;
	}
	int rc = dk_sandbox_prepare(st, s->body, s->image, 1, -1, &sb, err);
	if (rc < 0)
		return rc;
	sb->auto_remove = 1;
	if ((rc = dk_sandbox_start(sb, err)) < 0 ||
	    (rc = dk_launch_await_ready(st, sb, err)) < 0) {
		dk_sandbox_destroy(sb, 0);
		return rc;
	}
	s->sb = sb;
	return 0;
}

static void *starter_main(void *arg)
{
	struct dk_session *s = arg;
	s->start_rc = start_sandbox(s, &s->start_err);
	return NULL;
}

/* The background start is over; its failure is the caller's. */
static int join_starter(struct dk_session *s, struct monkey_error *err)
{
	if (!s->starting)
		return 0;
	pthread_join(s->starter, NULL);
	s->starting = 0;
	if (s->start_rc < 0 && err)
		*err = s->start_err;
	return s->start_rc;
}

int dk_session_open(struct dk_state *st, const struct monkey_exec_request *req,
		    struct dk_session **out, struct monkey_error *err)
{
	const char *image =
	    req->image && req->image[0] ? req->image : st->image;
	if (!st->launcher ||
	    __atomic_load_n(&st->launcher_broken, __ATOMIC_RELAXED))
		return st->host->set_error(
		    err, -EOPNOTSUPP,
		    "docker: sessions need monkey-launch, which is not usable "
		    "here");
	struct dk_session *s = calloc(1, sizeof(*s));
	if (!s)
		return st->host->set_error(err, -ENOMEM, "out of memory");
	s->st = st;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->jobs_lock, NULL);
	s->image = strdup(image);
	/* Pooled: the same body as the pool's, so that a prestarted
	 * container with these settings may serve.  A launcher's body does
	 * not depend on the command, which the settings do not have. */
	static const char *const none[] = {"true", NULL};
	struct monkey_exec_request settings = *req;
	settings.argv = none;
	s->body = dk_create_body(st, &settings, image, st->launcher, 1, err);
	if (!s->image || !s->body) {
		int rc =
		    s->body ? st->host->set_error(err, -ENOMEM, "out of memory")
			    : (err && err->code ? err->code : -EINVAL);
		dk_session_close(s);
		return rc;
	}
	s->starting = pthread_create(&s->starter, NULL, starter_main, s) == 0;
	*out = s;
	return 0;
}

static int discard(void *ctx, int stream, const void *data, size_t len)
{
	(void)ctx, (void)stream, (void)data, (void)len;
	return 0;
}

/* The container died or stopped answering while the command ran. */
static int lost_during(struct dk_session *s, int end,
		       const struct monkey_error *why, struct monkey_error *err)
{
	char id[13];
	snprintf(id, sizeof(id), "%.12s", s->sb->id);
	dk_sandbox_destroy(s->sb, 0);
	s->sb = NULL;
	return s->st->host->set_error(
	    err, -ECONNRESET,
	    "the session's container %s %s while the command ran%s%s; the "
	    "next command runs in a new container, where files written "
	    "outside the workspace are gone",
	    id,
	    end == DK_PUMP_DEADLINE ? "stopped answering"
				    : "ended (killed from outside, or its "
				      "launcher died)",
	    why && why->message[0] ? ": " : "", why ? why->message : "");
}

/* Send the command, pass its output on until the launcher's records,
 * stop it in-band on a cancel. */
static int run_one(struct dk_session *s, const struct monkey_exec_request *req,
		   struct monkey_exec_result *result, struct monkey_error *err)
{
	struct dk_state *st = s->st;
	char nonce[33];
	size_t len = 0;
	struct dk_git git;
	_cleanup_free_ char *wd = dk_container_workdir(req);
	if (!wd && req->workspace && req->workdir)
		return st->host->set_error(err, -EINVAL,
					   "working directory %s is not inside "
					   "the workspace %s",
					   req->workdir, req->workspace);
	dk_git_protected(st, req, &git);
	_cleanup_free_ char *gitpath = git.path;
	_cleanup_free_ unsigned char *input = NULL;
	if (dk_launch_nonce(nonce) < 0 ||
	    !(input = dk_launch_input(req, nonce, wd ? wd : "", &git, 1, &len)))
		return st->host->set_error(err, -ENOMEM,
					   "preparing the command failed");
	struct dk_launch_filter f;
	dk_launch_filter_init(&f, req->output, req->output_ctx, nonce);
	struct dk_io io = {
	    .stdin_data = input,
	    .stdin_len = len,
	    .keep_stdin_open = 1,
	    .output = dk_launch_filter_sink,
	    .output_ctx = &f,
	    .cancel_fd = req->cancel_fd,
	    .sink_can_finish = 1,
	};
	int64_t grace = req->kill_grace_ms > 0 ? req->kill_grace_ms : 0;
	int64_t deadline = req->timeout_ms > 0 ? now_ms() + req->timeout_ms +
						     grace + DK_SESSION_SLACK_MS
					       : 0;
	time_t since = time(NULL) - 1;
	struct monkey_error e = {0};
	int end = dk_attach_pump(s->sb->att, &io, deadline, &e);
	if (end == DK_PUMP_CANCEL || end == DK_PUMP_STOP) {
		/* The launcher stops it as at a timeout, and reports. */
		if (end == DK_PUMP_STOP)
			f.out = discard;
		input[len] = 'K';
		io.stdin_len = len + 1;
		io.cancel_fd = -1;
		result->cancelled = 1;
		end =
		    dk_attach_pump(s->sb->att, &io,
				   now_ms() + grace + DK_SESSION_SLACK_MS, &e);
	}
	if (end != DK_PUMP_DONE) {
		dk_launch_filter_flush(&f);
		return lost_during(s, end, &e, err);
	}
	return dk_launch_answer(st, &f, s->sb->id, since, result, err);
}

/* The session's container ready for a command (lock held): the first
 * one joined, a dead one replaced (*lost then says so). */
static int ready_sandbox(struct dk_session *s, int *lost,
			 struct monkey_error *err)
{
	int rc = join_starter(s, err);
	if (rc == 0 && s->sb && dk_attach_stale(s->sb->att)) {
		/* Nothing may arrive between two commands: it ended. */
		dk_sandbox_destroy(s->sb, 0);
		s->sb = NULL;
		s->lost = 1;
	}
	if (rc == 0 && !s->sb)
		rc = start_sandbox(s, err);
	*lost = s->lost;
	if (rc == 0)
		s->lost = 0;
	return rc;
}

int dk_session_job_start(struct dk_session *s,
			 const struct monkey_exec_request *req,
			 struct dk_session_job **out, struct monkey_error *err)
{
	struct dk_session_job *sj = calloc(1, sizeof(*sj));
	if (!sj)
		return s->st->host->set_error(err, -ENOMEM, "out of memory");
	char id[DK_ID_MAX];
	int lost = 0;
	pthread_mutex_lock(&s->lock);
	int rc = ready_sandbox(s, &lost, err);
	if (rc == 0)
		snprintf(id, sizeof(id), "%s", s->sb->id);
	pthread_mutex_unlock(&s->lock);
	if (rc == 0)
		rc = dk_job_start(s->st, id, req, &sj->j, err);
	if (rc < 0) {
		free(sj);
		return rc;
	}
	sj->s = s;
	pthread_mutex_lock(&s->jobs_lock);
	sj->next = s->jobs;
	s->jobs = sj;
	pthread_mutex_unlock(&s->jobs_lock);
	*out = sj;
	return 0;
}

struct dk_job *dk_session_job(struct dk_session_job *sj) { return sj->j; }

void dk_session_job_close(struct dk_session_job *sj)
{
	if (!sj)
		return;
	struct dk_session *s = sj->s;
	pthread_mutex_lock(&s->jobs_lock);
	for (struct dk_session_job **p = &s->jobs; *p; p = &(*p)->next)
		if (*p == sj) {
			*p = sj->next;
			break;
		}
	pthread_mutex_unlock(&s->jobs_lock);
	dk_job_close(sj->j);
	free(sj);
}

int dk_session_exec(struct dk_session *s, const struct monkey_exec_request *req,
		    struct monkey_exec_result *result, struct monkey_error *err)
{
	struct dk_state *st = s->st;
	if (!req->output)
		return st->host->set_error(err, -EINVAL,
					   "no output sink in the request");
	if (fd_ready(req->cancel_fd)) {
		result->cancelled = 1;
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	int was_lost = 0;
	int rc = ready_sandbox(s, &was_lost, err);
	if (rc == 0)
		rc = run_one(s, req, result, err);
	if (rc == 0 && was_lost)
		st->host->set_error(
		    err, 0,
		    "the session's container had ended (killed from outside, "
		    "or its launcher died): the command ran in a new one, "
		    "where files written outside the workspace are gone");
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void dk_session_close(struct dk_session *s)
{
	if (!s)
		return;
	/* Every job dies with its session, even one the host forgot. */
	while (s->jobs)
		dk_session_job_close(s->jobs);
	pthread_mutex_destroy(&s->jobs_lock);
	join_starter(s, NULL);
	dk_sandbox_destroy(s->sb, 0);
	free(s->body);
	free(s->image);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
