/* The host's side of one command, shared by run.c (setting it up and
 * tearing it down) and loop.c (running it to its end). */
#ifndef MONKEY_ROOTLESS_RUN_H
#define MONKEY_ROOTLESS_RUN_H

#include <stdint.h>
#include <sys/types.h>

#include "rootless.h"

#define READ_CHUNK (64 * 1024)

/* One running command, as the host thread sees it. */
struct run {
	const struct monkey_exec_request *req;
	int out_fd, err_fd, in_fd, status_fd, ctrl_fd, pidfd, cancel_fd;
	size_t in_off;
	pid_t init_pid;
	int have_init, started, exited, exit_status, reaped;
	int failed; /* a FAIL message, or a START naming an error */
	struct rl_msg fail;
	int init_gone, gave_up, timed_out, cancelled, output_stopped;
	int stage; /* 0 running, 1 SIGTERM asked, 2 init killed */
	int64_t deadline, term_deadline, kill_since, drain_deadline;
	int sigpipe_was_pending;
	int64_t t_started, t_exited;
	char *buf;
	int have_usage;
	struct rl_usage usage; /* from the EXIT message */
};

/* run.c */
int64_t rl_now_us(void);
int64_t rl_now_ms(void);
/* fd moved to a number >= 3 (the old one closed). */
int rl_fd_high(int fd);
void rl_close_fd(int *fd);

/* loop.c */
/* A message from the sandbox (on the status pipe, or made up for init's
 * pid when the host cloned init itself). */
void rl_run_on_msg(struct run *r, const struct rl_msg *m, int64_t now);
/* Read every message there is. */
void rl_run_read_status(struct run *r, int64_t now);
/* Until the sandbox is gone and its output read; 0 or -errno. */
int rl_run_loop(struct run *r);
/* The result (result may be NULL when a failure was reported), or the
 * error that says what went wrong. */
int rl_run_finish(struct rl_state *st, struct run *r,
		  struct monkey_exec_result *result, struct monkey_error *err);

#endif
