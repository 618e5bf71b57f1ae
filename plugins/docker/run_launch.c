/* One command through monkey-launch (inband.h speaks its protocol), in a
 * prestarted pooled container or in one created for it: once the
 * launcher's ready lines arrived the command goes to it on stdin, and its
 * records at the end of the output say how it ended; the engine removes
 * the container by itself. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inband.h"
#include "run.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dk_launch_await_ready(struct dk_state *st, struct dk_sandbox *sb,
			  struct monkey_error *err)
{
	struct dk_launch_ready r = {0};
	struct dk_io io = {
	    .output = dk_launch_ready_sink,
	    .output_ctx = &r,
	    .cancel_fd = -1,
	    .sink_can_finish = 1,
	    .hold_stdin = 1, /* the command comes later */
	};
	int end =
	    dk_attach_pump(sb->att, &io, now_ms() + st->api_timeout_ms, err);
	if (r.dropped)
		st->host->log(st->host, MONKEY_LOG_DEBUG,
			      "docker: container %.12s wrote %llu bytes to "
			      "stdout before monkey-launch was ready (dropped)",
			      sb->id, (unsigned long long)r.dropped);
	if (end == DK_PUMP_DONE)
		return 0;
	if (end < 0)
		return end;
	return st->host->set_error(
	    err, -ENOEXEC, "container %.12s did not run monkey-launch (%s): %s",
	    sb->id, DK_LAUNCHER_TARGET,
	    end == DK_PUMP_DEADLINE ? "it said nothing"
	    : end == DK_PUMP_EOF    ? "the container ended"
				    : "it wrote something else");
}

int dk_launch_run(struct dk_state *st, struct dk_sandbox *sb,
		  const struct monkey_exec_request *req, const char *wd,
		  int pooled, struct monkey_exec_result *result,
		  struct monkey_error *err)
{
	char nonce[33];
	size_t len = 0;
	unsigned char *input = NULL;
	struct dk_git git;
	dk_git_protected(st, req, &git);
	if (dk_launch_nonce(nonce) < 0 ||
	    !(input =
		  dk_launch_input(req, nonce, wd ? wd : "", &git, 0, &len))) {
		free(git.path);
		dk_sandbox_destroy(sb, 0);
		return st->host->set_error(err, -ENOMEM,
					   "preparing the command failed");
	}
	/* From here on the command may run: whatever goes wrong is
	 * reported, never retried elsewhere. */
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
	int64_t t0 = now_ms();
	if (MONKEY_STRUCT_HAS(req, progress_ctx) && req->progress) {
		io.progress = req->progress;
		io.progress_ctx = req->progress_ctx;
		io.started_ms = t0;
	}
	int rc = dk_sandbox_run(sb, io, req->timeout_ms, req->kill_grace_ms,
				result, err);
	free(input);
	free(git.path);
	dk_launch_filter_flush(&f);
	if (rc >= 0)
		rc = dk_launch_answer(st, &f, sb->id, sb->wall_begin - 1,
				      result, err);
	/* Create, attach and start times are in the sandbox's own log line
	 * (for a pooled one, the filler's). */
	st->host->log(st->host, MONKEY_LOG_DEBUG,
		      "docker: %s container %.12s ran the command in "
		      "%lld ms (output done %lld; %s)",
		      pooled ? "pooled" : "fresh", sb->id,
		      (long long)(now_ms() - t0),
		      (long long)(sb->t_ended ? sb->t_ended - t0 : -1),
		      dk_launch_filter_done(&f) ? "the launcher reported"
						: "the engine reported");
	dk_sandbox_destroy(sb, 1);
	return rc;
}

/* The engine's refusal names the launcher (its bind mount or its exec):
 * the engine cannot run it here (a confined daemon that cannot see the
 * file, a mount without exec), and commands must run without it. */
static int launcher_refused(const struct monkey_error *e)
{
	return strstr(e->message, DK_LAUNCHER_TARGET) ||
	       strstr(e->message, "monkey-launch");
}

/* The command runs directly from now on: the engine cannot run the
 * launcher. */
static void launcher_off(struct dk_state *st, const struct monkey_error *e)
{
	__atomic_store_n(&st->launcher_broken, 1, __ATOMIC_RELAXED);
	st->host->log(st->host, MONKEY_LOG_WARNING,
		      "docker: the engine cannot run monkey-launch (%s): "
		      "commands run directly as PID 1, slower to report their "
		      "end and not stopped when monkey dies; the pool is off",
		      e->message);
}

int dk_launch_cold(struct dk_state *st, const struct monkey_exec_request *req,
		   const char *image, struct monkey_exec_result *result,
		   int *handled, struct monkey_error *err)
{
	struct monkey_error e = {0};
	struct dk_sandbox *sb = NULL;

	*handled = 0;
	if (!st->launcher ||
	    __atomic_load_n(&st->launcher_broken, __ATOMIC_RELAXED))
		return 0;
	/* Anything wrong with the request is the direct path's to report. */
	char *body = dk_create_body(st, req, image, st->launcher, 0, &e);
	if (!body)
		return 0;
	int rc =
	    dk_sandbox_prepare(st, body, image, 1, req->cancel_fd, &sb, &e);
	free(body);
	if (rc == 0)
		sb->auto_remove = 1;
	/* Until the ready line came, nothing of the command was sent: only
	 * then may it run elsewhere. */
	if (rc == 0 && ((rc = dk_sandbox_start(sb, &e)) < 0 ||
			(rc = dk_launch_await_ready(st, sb, &e)) < 0))
		dk_sandbox_destroy(sb, 0);
	if (rc == -ENOEXEC ||
	    (rc < 0 && rc != -ECANCELED && launcher_refused(&e))) {
		launcher_off(st, &e);
		return 0;
	}
	*handled = 1;
	if (rc == -ECANCELED) {
		/* Stopped while pulling the image: nothing ran. */
		result->cancelled = 1;
		return 0;
	}
	if (rc == 0)
		/* The runtime entered the working directory (WorkingDir). */
		rc = dk_launch_run(st, sb, req, NULL, 0, result, &e);
	if (rc < 0 && err)
		*err = e;
	return rc;
}
