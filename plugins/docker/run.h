/* The docker backend's run layer, on the attach stream and the launcher's
 * protocol: one container's life for one command (run.c: create, attach,
 * start, move output, wait, remove), the command run directly or through
 * monkey-launch (run_launch.c). */
#ifndef MONKEY_DOCKER_RUN_H
#define MONKEY_DOCKER_RUN_H

#include <stdint.h>
#include <time.h>

#include "attach.h"
#include "inband.h"

/* A container created for one command, with its attach stream. */
struct dk_sandbox {
	struct dk_state *st;
	char id[DK_ID_MAX];
	struct dk_attach *att;
	int has_stdin;
	/* It runs the launcher and the engine removes it when it ends. */
	int auto_remove;
	/* The .git it mounted read-only (device, inode) when it started. */
	uint64_t git_dev, git_ino;
	/* Monotonic ms at each step, logged at DEBUG (see bench_docker). */
	int64_t t_begin, t_created, t_attached, t_started, t_ended, t_done;
	time_t wall_begin;
};

/* pull_fd for dk_sandbox_prepare: a missing image is an error. */
#define DK_NO_PULL (-2)
/* Create a container from body and attach to it (not started).  A
 * missing image is pulled, cancellable through pull_fd, unless pull_fd is
 * DK_NO_PULL. */
int dk_sandbox_prepare(struct dk_state *st, const char *body, const char *image,
		       int has_stdin, int pull_fd, struct dk_sandbox **out,
		       struct monkey_error *err);
int dk_sandbox_start(struct dk_sandbox *sb, struct monkey_error *err);
/* Run a started sandbox's process to its end, feeding io (stdin, output
 * sink, cancel fd), and fill result.  The deadline counts from here.
 * Returns 0, a negative errno, or DK_RUN_REPORTED when the sink said it
 * has everything (DK_PUMP_DONE): then the stream may still be open, and
 * the exit status and OOM answer are left to the caller. */
#define DK_RUN_REPORTED 1
int dk_sandbox_run(struct dk_sandbox *sb, struct dk_io io, int64_t timeout_ms,
		   int64_t kill_grace_ms, struct monkey_exec_result *result,
		   struct monkey_error *err);
/* Remove the container (whatever state it is in) and free sb; later=1
 * leaves the removal to the janitor. */
void dk_sandbox_destroy(struct dk_sandbox *sb, int later);

/* One command in a container created for it that runs the command itself
 * as PID 1: the path without the launcher. */
int dk_run_direct(struct dk_state *st, const struct monkey_exec_request *req,
		  const char *image, struct monkey_exec_result *result,
		  struct monkey_error *err);

/* ---- run_launch.c: a command through monkey-launch ---- */

/* Run req in the started sandbox sb, whose process is the launcher: send
 * the command, move output until the launcher's records (or the end of
 * the stream), fill result from them, and remove sb after the answer. */
int dk_launch_run(struct dk_state *st, struct dk_sandbox *sb,
		  const struct monkey_exec_request *req, const char *wd,
		  int pooled, struct monkey_exec_result *result,
		  struct monkey_error *err);
/* Read a started launcher's ready line (a prestarted container, before
 * it is pooled); -ENOEXEC when the container did not run the launcher. */
int dk_launch_await_ready(struct dk_state *st, struct dk_sandbox *sb,
			  struct monkey_error *err);
/* Run req in a container created for it that runs the launcher
 * (*handled = 1); without a launcher, or when the request is one the
 * direct path must refuse, *handled = 0. */
int dk_launch_cold(struct dk_state *st, const struct monkey_exec_request *req,
		   const char *image, struct monkey_exec_result *result,
		   int *handled, struct monkey_error *err);

#endif
