/* The host's side of one running command: one poll loop that streams
 * output, feeds stdin, and enforces the timeout, cancellation and the end
 * of the sandbox; then what the command ended with, in words.
 *
 * Ending: on timeout or cancel the sandbox's init is asked (control pipe)
 * to send SIGTERM to every process; after the grace period init gets
 * SIGKILL, and the kernel kills the whole PID namespace with it.  When the
 * command exits by itself init kills and reaps what it left, then reports
 * its status: exec returns as soon as that report, or init's death, says
 * that not one process of the command remains. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

static void close_stdin(struct run *r) { rl_close_fd(&r->in_fd); }

static void kill_init(struct run *r, int64_t now)
{
	if (r->stage == 2)
		return;
	close_stdin(r);
	if (r->have_init)
		kill(r->init_pid, SIGKILL);
	r->stage = 2;
	r->kill_since = now;
}

static void begin_stop(struct run *r, int64_t now)
{
	if (r->stage || r->init_gone)
		return;
	close_stdin(r);
	ssize_t n = write(r->ctrl_fd, "T", 1);
	(void)n; /* init gone already: nothing to stop */
	r->stage = 1;
	r->term_deadline =
	    now + (r->req->kill_grace_ms > 0 ? r->req->kill_grace_ms : 0);
}

static void stop_asked(struct run *r)
{
	if (!r->exited)
		r->cancelled = 1;
	begin_stop(r, rl_now_ms());
}

static void read_stream(struct run *r, int *fd, int stream)
{
	ssize_t n = read(*fd, r->buf, READ_CHUNK);
	if (n > 0) {
		if (!r->output_stopped &&
		    r->req->output(r->req->output_ctx, stream, r->buf,
				   (size_t)n) < 0) {
			/* Keep draining so writers do not block, but stop
			 * the command and pass nothing more on. */
			r->output_stopped = 1;
			stop_asked(r);
		}
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	rl_close_fd(fd);
}

static void write_stdin(struct run *r)
{
	size_t left = r->req->stdin_len - r->in_off;
	if (left > READ_CHUNK)
		left = READ_CHUNK;
	ssize_t n =
	    write(r->in_fd, (const char *)r->req->stdin_data + r->in_off, left);
	if (n > 0) {
		r->in_off += (size_t)n;
		if (r->in_off == r->req->stdin_len)
			close_stdin(r); /* end of file for the command */
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 && errno == EPIPE && !r->sigpipe_was_pending) {
		/* The SIGPIPE this raised is blocked in this thread: take it
		 * so that it never reaches the host. */
		sigset_t set;
		struct timespec zero = {0, 0};
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		sigtimedwait(&set, NULL, &zero);
	}
	close_stdin(r);
}

void rl_run_on_msg(struct run *r, const struct rl_msg *m, int64_t now)
{
	switch (m->kind) {
	case RL_MSG_INIT:
		r->init_pid = m->pid;
		r->have_init = 1;
		r->pidfd = (int)syscall(SYS_pidfd_open, m->pid, 0);
		if (r->pidfd >= 0)
			r->pidfd = rl_fd_high(r->pidfd);
		break;
	case RL_MSG_FAIL:
	case RL_MSG_START:
		if (m->kind == RL_MSG_START && !m->err) {
			r->started = 1;
			r->t_started = rl_now_us();
			break;
		}
		if (!r->failed)
			r->fail = *m;
		r->failed = 1;
		break;
	case RL_MSG_EXIT:
		/* Every process of the command is gone; init is exiting. */
		r->exited = 1;
		r->exit_status = m->status;
		r->t_exited = rl_now_us();
		if (m->stage == 1) {
			memcpy(&r->usage, m->what, sizeof(r->usage));
			r->have_usage = 1;
		}
		r->init_gone = 1;
		r->drain_deadline = now + RL_DRAIN_MS;
		close_stdin(r);
		break;
	}
}

/* The sandbox's init has exited (killed): every process of the command
 * with it. */
static void init_ended(struct run *r, int64_t now)
{
	r->init_gone = 1;
	r->drain_deadline = now + RL_DRAIN_MS;
	close_stdin(r);
}

void rl_run_read_status(struct run *r, int64_t now)
{
	struct rl_msg m;
	ssize_t n;
	while ((n = read(r->status_fd, &m, sizeof(m))) == (ssize_t)sizeof(m))
		rl_run_on_msg(r, &m, now);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* End of file: init closed its end; it is exiting.  Without a pidfd
	 * a blocking wait is what tells that its namespace is empty. */
	rl_close_fd(&r->status_fd);
	if (r->pidfd < 0 && !r->init_gone && r->have_init) {
		while (waitpid(r->init_pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		r->reaped = 1;
		init_ended(r, now);
	}
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Advance the timers; returns 1 when the run is over. */
static int step_timers(struct run *r, int64_t now, int64_t *wake)
{
	*wake = INT64_MAX;
	if (r->init_gone) {
		if ((r->out_fd < 0 && r->err_fd < 0) ||
		    now >= r->drain_deadline)
			return 1;
		*wake = r->drain_deadline;
		return 0;
	}
	if (!r->stage && !r->exited && r->deadline && now >= r->deadline) {
		r->timed_out = 1;
		begin_stop(r, now);
	}
	if (r->stage == 1 && now >= r->term_deadline)
		kill_init(r, now);
	/* SIGKILL ends init and its namespace at once, but a process stuck
	 * in the kernel can hold that up for good. */
	int64_t since = r->stage == 2 ? r->kill_since : -1;
	if (since >= 0 && now - since >= RL_KILL_GIVE_UP_MS) {
		r->gave_up = 1;
		return 1;
	}
	if (!r->stage && !r->exited && r->deadline)
		*wake = r->deadline;
	if (r->stage == 1)
		*wake = min64(*wake, r->term_deadline);
	if (since >= 0)
		*wake = min64(*wake, since + RL_KILL_GIVE_UP_MS);
	return 0;
}

static int poll_once(struct run *r)
{
	int64_t now = rl_now_ms(), wake;
	if (step_timers(r, now, &wake))
		return 1;
	struct pollfd pfd[6];
	int n = 0, i_st = -1, i_out = -1, i_err = -1, i_in = -1, i_c = -1,
	    i_pid = -1;
	if (r->status_fd >= 0)
		pfd[i_st = n++] = (struct pollfd){r->status_fd, POLLIN, 0};
	if (r->out_fd >= 0)
		pfd[i_out = n++] = (struct pollfd){r->out_fd, POLLIN, 0};
	if (r->err_fd >= 0)
		pfd[i_err = n++] = (struct pollfd){r->err_fd, POLLIN, 0};
	if (r->in_fd >= 0)
		pfd[i_in = n++] = (struct pollfd){r->in_fd, POLLOUT, 0};
	if (r->cancel_fd >= 0 && !r->init_gone)
		pfd[i_c = n++] = (struct pollfd){r->cancel_fd, POLLIN, 0};
	if (r->pidfd >= 0 && !r->init_gone)
		pfd[i_pid = n++] = (struct pollfd){r->pidfd, POLLIN, 0};
	int timeout = wake == INT64_MAX	     ? -1
		      : wake <= now	     ? 0
		      : wake - now > INT_MAX ? INT_MAX
					     : (int)(wake - now);
	int k = poll(pfd, (nfds_t)n, timeout);
	if (k < 0)
		return errno == EINTR ? 0 : -errno;
	now = rl_now_ms();
	const short ready = POLLIN | POLLHUP | POLLERR | POLLNVAL;
	/* Output first: what was written before an exit is read before the
	 * exit is acted on. */
	if (i_out >= 0 && (pfd[i_out].revents & ready))
		read_stream(r, &r->out_fd, MONKEY_STREAM_STDOUT);
	if (i_err >= 0 && (pfd[i_err].revents & ready))
		read_stream(r, &r->err_fd, MONKEY_STREAM_STDERR);
	if (i_in >= 0 && r->in_fd >= 0 &&
	    (pfd[i_in].revents & (POLLOUT | POLLERR | POLLHUP)))
		write_stdin(r);
	if (i_c >= 0 && (pfd[i_c].revents & ready)) {
		r->cancel_fd = -1; /* stays readable: look once */
		stop_asked(r);
	}
	if (i_st >= 0 && r->status_fd >= 0 && (pfd[i_st].revents & ready))
		rl_run_read_status(r, now);
	if (i_pid >= 0 && !r->init_gone && (pfd[i_pid].revents & ready))
		init_ended(r, now);
	return 0;
}

int rl_run_loop(struct run *r)
{
	sigset_t pipe_set, old_mask;
	int masked = 0;
	if (r->in_fd >= 0 && r->req->stdin_len == 0)
		close_stdin(r);
	if (r->in_fd >= 0) {
		/* Writing to a command that stopped reading raises SIGPIPE;
		 * a plugin may not change the host's handlers, so it is
		 * blocked in this thread only. */
		sigset_t pending;
		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
		sigpending(&pending);
		r->sigpipe_was_pending = sigismember(&pending, SIGPIPE);
		masked = 1;
	}
	int rc;
	while ((rc = poll_once(r)) == 0)
		;
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	if (rc < 0 && r->have_init && !r->init_gone) {
		/* poll itself failed: end the sandbox the blunt way. */
		kill(r->init_pid, SIGKILL);
		init_ended(r, rl_now_ms());
	}
	return rc < 0 ? rc : 0;
}

/* ---- results ---- */

static const char *stage_name(int stage)
{
	static const char *const names[] = {
	    [RL_STAGE_SETNS] = "enter the prepared namespaces",
	    [RL_STAGE_USERNS] = "create the command's user namespace",
	    [RL_STAGE_MAP] = "map the user into the sandbox",
	    [RL_STAGE_CLONE] = "create the sandbox's namespaces",
	    [RL_STAGE_VIEW] = "build the root file system",
	    [RL_STAGE_CGROUP] = "join the command's cgroup",
	    [RL_STAGE_MOUNT] = "mount the command's file systems",
	    [RL_STAGE_NET] = "bring up the loopback interface",
	    [RL_STAGE_INIT] = "start the command process",
	    [RL_STAGE_PROXY] = "start the egress proxy's forwarder "
			       "(monkey-proxy-forward)",
	    [RL_STAGE_STDIO] = "set up standard input and output",
	    [RL_STAGE_CHDIR] = "enter the working directory",
	    [RL_STAGE_RLIMIT] = "apply a resource limit",
	    [RL_STAGE_CAPS] = "drop privileges",
	    [RL_STAGE_SECCOMP] = "load the seccomp filter",
	    [RL_STAGE_FDS] = "close inherited descriptors",
	    [RL_STAGE_EXEC] = "execute",
	};
	stage &= 0xff;
	return stage > 0 && stage <= RL_STAGE_EXEC && names[stage]
		   ? names[stage]
		   : "set up the sandbox";
}

/* A setup step's failure must not read as "not found" (127) or "not
 * executable" (126): those are for the program itself. */
static int setup_code(int e)
{
	return (e == ENOENT || e == EACCES || e == ENOEXEC || !e) ? -EIO : -e;
}

static int exec_failure(const struct monkey_host *host, const char *name,
			const char *path, const struct rl_msg *m,
			struct monkey_error *err)
{
	int e = m->err;
	if ((m->stage & 0xff) != RL_STAGE_EXEC) {
		if ((m->stage & 0xff) == RL_STAGE_CHDIR)
			return rl_set_err(host, err, setup_code(e),
					  "%s: cannot enter the working "
					  "directory: %s",
					  name, strerror(e));
		return rl_set_err(host, err, setup_code(e), "%s: cannot %s: %s",
				  name, stage_name(m->stage), strerror(e));
	}
	if (e == ENOENT && m->status)
		return rl_set_err(host, err, -ENOENT,
				  "%s: its interpreter (the #! line) was not "
				  "found in the sandbox",
				  name);
	if (e == ENOENT && strchr(name, '/'))
		return rl_set_err(host, err, -ENOENT,
				  "%s: no such file or directory in the "
				  "sandbox",
				  name);
	if (e == ENOENT)
		return rl_set_err(host, err, -ENOENT,
				  "%s: command not found (searched PATH=%s "
				  "in the sandbox)",
				  name, path);
	if (e == EACCES)
		return rl_set_err(host, err, -EACCES,
				  "%s: permission denied: not an executable "
				  "file",
				  name);
	if (e == ENOEXEC)
		return rl_set_err(host, err, -ENOEXEC,
				  "%s: cannot execute: neither a binary nor a "
				  "script with a #! line",
				  name);
	return rl_set_err(host, err, -e, "%s: cannot execute: %s", name,
			  strerror(e));
}

/* The rusage figures, for those the cgroup did not give (no cgroup, or
 * a controller it lacks). */
static void report_usage(const struct run *r, struct monkey_exec_result *result)
{
	if (!r->have_usage || !MONKEY_STRUCT_HAS(result, cpu_system_us))
		return;
	if (result->peak_memory_bytes < 0)
		result->peak_memory_bytes = r->usage.peak_kib * 1024;
	if (result->cpu_user_us < 0 || result->cpu_system_us < 0) {
		result->cpu_user_us = r->usage.user_us;
		result->cpu_system_us = r->usage.sys_us;
	}
}

int rl_run_finish(struct rl_state *st, struct run *r,
		  struct monkey_exec_result *result, struct monkey_error *err)
{
	const struct monkey_host *host = st->host;
	const char *name = r->req->argv[0];
	if (r->gave_up)
		return rl_set_err(host, err, -EBUSY,
				  "%s: processes of the command survived "
				  "SIGKILL for %d s (stuck in the kernel?) and "
				  "may still run",
				  name, RL_KILL_GIVE_UP_MS / 1000);
	if (r->failed && r->fail.kind == RL_MSG_START)
		return exec_failure(host, name, rl_env_path(r->req->envp),
				    &r->fail, err);
	if (r->failed)
		return rl_set_err(
		    host, err, setup_code(r->fail.err),
		    "rootless: cannot %s%s%s: %s%s", stage_name(r->fail.stage),
		    r->fail.what[0] ? ": " : "", r->fail.what,
		    strerror(r->fail.err),
		    r->fail.err == EPERM && strstr(r->fail.what, "proc")
			? " (the kernel mounts a new /proc in a user namespace "
			  "only where nothing covers part of the /proc monkey "
			  "sees: inside a container, run it with "
			  "--security-opt systempaths=unconfined)"
			: "");
	/* (result is NULL only when a failure was reported above.) */
	if (!r->exited && !r->timed_out && !r->cancelled &&
	    result->oom_killed != MONKEY_YES)
		return rl_set_err(host, err, -ECHILD,
				  "rootless: the sandbox of %s ended before "
				  "the command reported its status",
				  name);
	int s = r->exit_status;
	if (MONKEY_STRUCT_HAS(result, signal)) {
		/* Not exited: killed with its sandbox. */
		result->exit_code =
		    r->exited && WIFEXITED(s) ? WEXITSTATUS(s) : -1;
		result->signal = !r->exited	  ? SIGKILL
				 : WIFSIGNALED(s) ? WTERMSIG(s)
						  : 0;
	}
	if (MONKEY_STRUCT_HAS(result, cancelled)) {
		result->timed_out = r->timed_out;
		result->cancelled = r->cancelled;
	}
	report_usage(r, result);
	return 0;
}
