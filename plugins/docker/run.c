/* One command in a fresh container: create, attach, start, move output
 * until the stream ends (or kill at the deadline / on cancel), wait,
 * inspect, delete.  The container is removed on every path.
 *
 * The steps are split around struct dk_sandbox so that the launcher's
 * path (run_launch.c) and the warm pool (pool.c) reuse them:
 * dk_sandbox_prepare() and dk_sandbox_start() ahead of time for a
 * container whose process is the launcher reading its command on stdin,
 * then at exec time dk_sandbox_run() with a dk_io whose stdin carries the
 * command first, and dk_sandbox_destroy(sb, 1) after the answer. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int discard(void *ctx, int stream, const void *data, size_t len)
{
	(void)ctx, (void)stream, (void)data, (void)len;
	return 0;
}

/* Remove the container (whatever state it is in) and free sb.  A failure
 * is logged and the id stays on the live list, so fini tries again.  When
 * the command has finished (later=1) removal happens after the caller has
 * its answer. */
void dk_sandbox_destroy(struct dk_sandbox *sb, int later)
{
	struct monkey_error e = {0};
	if (!sb)
		return;
	dk_attach_close(sb->att);
	if (sb->id[0] && later)
		dk_remove_later(sb->st, sb->id);
	else if (sb->id[0] && dk_remove_now(sb->st, sb->id, &e) < 0)
		sb->st->host->log(
		    sb->st->host, MONKEY_LOG_WARNING,
		    "docker: container %.12s could not be removed: %s", sb->id,
		    e.message);
	if (sb->t_done) {
		int64_t t_removed = now_ms();
		sb->st->host->log(sb->st->host, MONKEY_LOG_DEBUG,
				  "docker: timings ms: create=%lld attach=%lld "
				  "start=%lld run=%lld "
				  "finish=%lld remove=%lld",
				  (long long)(sb->t_created - sb->t_begin),
				  (long long)(sb->t_attached - sb->t_created),
				  (long long)(sb->t_started - sb->t_attached),
				  (long long)(sb->t_ended - sb->t_started),
				  (long long)(sb->t_done - sb->t_ended),
				  (long long)(t_removed - sb->t_done));
	}
	free(sb);
}

/* podman now and then answers an attach to a container it has just
 * created with HTTP 500 "failed to connect to container's attach socket"
 * (conmon has not made the socket yet).  Nothing has started and nothing
 * was sent, so asking again is safe; any other failure is final. */
static int attach_new(struct dk_state *st, struct dk_sandbox *sb,
		      struct monkey_error *err)
{
	struct monkey_error e = {0};
	int rc = 0;
	for (int attempt = 0; attempt < 4; attempt++) {
		if (attempt)
			usleep(20000 * attempt);
		e = (struct monkey_error){0};
		rc = dk_attach_open(st, sb->id, sb->has_stdin, &sb->att, &e);
		if (rc == 0 || !st->is_podman ||
		    !strstr(e.message, "attach socket"))
			break;
	}
	if (rc < 0 && err)
		*err = e;
	return rc;
}

int dk_sandbox_prepare(struct dk_state *st, const char *body, const char *image,
		       int has_stdin, int pull_fd, struct dk_sandbox **out,
		       struct monkey_error *err)
{
	struct dk_sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return st->host->set_error(err, -ENOMEM, "out of memory");
	sb->st = st;
	sb->has_stdin = has_stdin;
	sb->t_begin = now_ms();
	sb->wall_begin = time(NULL);
	int rc = dk_container_create(st, body, image, sb->id, err);
	if (rc == -ENXIO && pull_fd != DK_NO_PULL) {
		/* No such image: pull it once, then try again. */
		rc = dk_image_ensure(st, image, pull_fd, err);
		if (rc == 0)
			rc = dk_container_create(st, body, image, sb->id, err);
	}
	if (rc < 0) {
		free(sb);
		return rc;
	}
	if (dk_live_add(st, sb->id) < 0) {
		/* fini would not know of it: it goes now. */
		dk_sandbox_destroy(sb, 0);
		return st->host->set_error(err, -ENOMEM, "out of memory");
	}
	sb->t_created = now_ms();
	/* Attach before start, so no early output is lost. */
	rc = attach_new(st, sb, err);
	if (rc < 0) {
		dk_sandbox_destroy(sb, 0);
		return rc;
	}
	sb->t_attached = now_ms();
	*out = sb;
	return 0;
}

struct killer {
	struct dk_state *st;
	const char *id;
	const char *sig;
	int rc;
	struct monkey_error err;
};

static void *kill_thread(void *arg)
{
	struct killer *k = arg;
	k->rc = dk_container_kill(k->st, k->id, k->sig, &k->err);
	return NULL;
}

/* Kill the container with sig while moving output until the stream ends
 * or ms pass.  The stream must keep flowing during the kill call: podman's
 * conmon, blocked writing output nobody reads, would never record the
 * exit the kill call waits for.  Returns the pump's end or a negative
 * errno. */
static int kill_and_drain(struct dk_sandbox *sb, struct dk_io *io,
			  const char *sig, int64_t ms, struct monkey_error *err)
{
	struct killer k = {.st = sb->st, .id = sb->id, .sig = sig};
	pthread_t t;
	int threaded = pthread_create(&t, NULL, kill_thread, &k) == 0;
	if (!threaded)
		kill_thread(&k);
	int64_t until = now_ms() + ms;
	int end;
	do {
		end = dk_attach_pump(sb->att, io, until, err);
		/* The sink may say stop now too; the rest is dropped. */
		if (end == DK_PUMP_STOP)
			io->output = discard;
	} while (end == DK_PUMP_STOP);
	if (end == DK_PUMP_DONE && threaded) {
		/* The launcher reported; keep the stream moving until the
		 * kill call answers (see above), dropping what comes. */
		struct dk_io rest = *io;
		struct monkey_error ignored = {0};
		rest.output = discard;
		rest.cancel_fd = -1;
		dk_attach_pump(sb->att, &rest, until, &ignored);
	}
	if (threaded)
		pthread_join(t, NULL);
	/* Once the stream ended (or the launcher reported) the kill worked,
	 * whatever the call said. */
	if (end != DK_PUMP_EOF && end != DK_PUMP_DONE && k.rc < 0) {
		if (err)
			*err = k.err;
		return k.rc;
	}
	return end;
}

/* Stop the command: SIGTERM, then SIGKILL after the grace time.  The
 * container's PID 1 going takes every process in it along. */
static int stop_command(struct dk_sandbox *sb, struct dk_io *io,
			int64_t grace_ms, int *last_sig,
			struct monkey_error *err)
{
	int end = DK_PUMP_DEADLINE;
	io->cancel_fd = -1; /* it stays readable; we act on it once */
	if (grace_ms > 0) {
		*last_sig = SIGTERM;
		end = kill_and_drain(sb, io, "TERM", grace_ms, err);
		if (end < 0 || end == DK_PUMP_EOF || end == DK_PUMP_DONE)
			return end;
	}
	*last_sig = SIGKILL;
	end = kill_and_drain(sb, io, "KILL", DK_KILL_DRAIN_MS, err);
	if (end < 0 || end == DK_PUMP_EOF || end == DK_PUMP_DONE)
		return end;
	return sb->st->host->set_error(
	    err, -ETIMEDOUT,
	    "container %.12s still runs %d ms after SIGKILL (is the %s stuck?)",
	    sb->id, DK_KILL_DRAIN_MS, sb->st->engine_name);
}

int dk_sandbox_start(struct dk_sandbox *sb, struct monkey_error *err)
{
	int rc = dk_container_start(sb->st, sb->id, err);
	if (rc == 0)
		sb->t_started = now_ms();
	return rc;
}

/* The engine removed a container that runs the launcher (AutoRemove)
 * before monkey asked how it ended, and the launcher sent no record: its
 * end is known only when monkey killed it. */
static int ended_unseen(struct dk_sandbox *sb, int last_sig,
			struct monkey_exec_result *result,
			struct monkey_error *err)
{
	sb->t_done = now_ms();
	if (last_sig) {
		result->signal = last_sig;
		result->exit_code = -1;
		return 0;
	}
	return sb->st->host->set_error(
	    err, -EIO,
	    "container %.12s ended before monkey-launch reported how the "
	    "command ended (was it stopped from outside?)",
	    sb->id);
}

int dk_sandbox_run(struct dk_sandbox *sb, struct dk_io io, int64_t timeout_ms,
		   int64_t kill_grace_ms, struct monkey_exec_result *result,
		   struct monkey_error *err)
{
	struct dk_state *st = sb->st;
	int cancel_fd = io.cancel_fd;
	int last_sig = 0;
	int rc;
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;

	int end = dk_attach_pump(sb->att, &io, deadline, err);
	if (end == DK_PUMP_STOP)
		io.output = discard;
	if (end == DK_PUMP_DEADLINE)
		result->timed_out = 1;
	else if (end == DK_PUMP_CANCEL || end == DK_PUMP_STOP)
		result->cancelled = 1;
	if (end > DK_PUMP_EOF && end != DK_PUMP_DONE)
		end = stop_command(sb, &io, kill_grace_ms, &last_sig, err);
	if (end < 0)
		return end;
	sb->t_ended = now_ms();
	if (end == DK_PUMP_DONE) {
		sb->t_done = sb->t_ended;
		return DK_RUN_REPORTED;
	}

	/* The stream ended; normally the command has too.  A command that
	 * closed its output and runs on is still bound by the deadline. */
	int running = 0, oom = MONKEY_UNKNOWN;
	long status = -1;
	rc = dk_container_inspect(st, sb->id, &running, &status, &oom, err);
	if (rc == -ENXIO && sb->auto_remove)
		return ended_unseen(sb, last_sig, result, err);
	if (rc < 0)
		return rc;
	if (running) {
		/* No deadline: wait as long as the command runs (the cancel
		 * fd still stops it).  Already killed: the engine's time. */
		int64_t left = 0;
		if (last_sig)
			left = st->api_timeout_ms;
		else if (deadline)
			left =
			    deadline - now_ms() > 0 ? deadline - now_ms() : 1;
		rc = dk_container_wait(st, sb->id, left,
				       last_sig ? -1 : cancel_fd, &status, err);
		if (!last_sig && (rc == -ETIMEDOUT || rc == -ECANCELED)) {
			if (rc == -ETIMEDOUT)
				result->timed_out = 1;
			else
				result->cancelled = 1;
			last_sig = SIGKILL;
			rc = dk_container_kill(st, sb->id, "KILL", err);
			if (rc == 0)
				rc = dk_container_wait(st, sb->id,
						       st->api_timeout_ms, -1,
						       &status, err);
		}
		if (rc == 0)
			rc = dk_container_inspect(st, sb->id, &running, &status,
						  &oom, err);
		if (rc == -ENXIO && sb->auto_remove)
			return ended_unseen(sb, last_sig, result, err);
		if (rc < 0)
			return rc;
	}

	/* Docker sets OOMKilled only when its OOM event beat the exit event;
	 * when the kernel killed PID 1 itself the two race.  A SIGKILL we did
	 * not send is worth asking the event log about. */
	if (oom == MONKEY_NO && status == 128 + SIGKILL && !last_sig) {
		struct monkey_error e = {0};
		if (dk_container_oom_event(st, sb->id, sb->wall_begin - 1,
					   &e) == 1)
			oom = MONKEY_YES;
	}
	sb->t_done = now_ms();
	result->oom_killed = oom;
	/* 128+N from the runtime means signal N when we sent one or the
	 * kernel's OOM killer did; otherwise it is the command's own
	 * status, as docker run reports it. */
	if (status > 128 && status <= 128 + 64 &&
	    (last_sig || oom == MONKEY_YES)) {
		result->signal = (int)(status - 128);
		result->exit_code = -1;
	} else {
		result->exit_code = (int)(status & 0xff);
		result->signal = 0;
	}
	return 0;
}

int dk_run_direct(struct dk_state *st, const struct monkey_exec_request *req,
		  const char *image, struct monkey_exec_result *result,
		  struct monkey_error *err)
{
	struct dk_sandbox *sb = NULL;
	char *body = dk_create_body(st, req, image, NULL, 0, err);
	if (!body)
		return err && err->code ? err->code : -ENOMEM;
	int rc = dk_sandbox_prepare(st, body, image, req->has_stdin,
				    req->cancel_fd, &sb, err);
	free(body);
	if (rc == -ECANCELED) {
		/* Stopped while pulling the image: nothing ran. */
		result->cancelled = 1;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = dk_sandbox_start(sb, err);
	if (rc == 0) {
		struct dk_io io = {
		    .stdin_data = req->stdin_data,
		    .stdin_len = req->has_stdin ? req->stdin_len : 0,
		    .output = req->output,
		    .output_ctx = req->output_ctx,
		    .cancel_fd = req->cancel_fd,
		};
		if (MONKEY_STRUCT_HAS(req, progress_ctx) && req->progress) {
			io.progress = req->progress;
			io.progress_ctx = req->progress_ctx;
			io.started_ms = now_ms();
		}
		rc = dk_sandbox_run(sb, io, req->timeout_ms, req->kill_grace_ms,
				    result, err);
	}
	/* Without the launcher nobody reads the cgroup or the rlimit: the
	 * limits that do not end in a signal of their own are unknown. */
	if (MONKEY_STRUCT_HAS(result, limits_unknown)) {
		if (req->pids > 0)
			result->limits_unknown |= MONKEY_LIMIT_PIDS;
		if (req->cpu_time_s)
			result->limits_unknown |= MONKEY_LIMIT_CPU_TIME;
	}
	/* A container whose command ended is stopped: only its record is
	 * left, and deleting it need not delay the answer. */
	dk_sandbox_destroy(sb, rc == 0);
	return rc;
}
