/* Running one command, on the host's side: plan it, start its sandbox,
 * then one poll loop that streams output, feeds stdin, and enforces the
 * timeout, cancellation and the end of the sandbox; then the result.
 *
 * Ending: on timeout or cancel the sandbox's init is asked (control pipe)
 * to send SIGTERM to every process; after the grace period init gets
 * SIGKILL, and the kernel kills the whole PID namespace with it.  When the
 * command exits by itself init reports its status and exits, with the same
 * effect.  exec returns only once init has exited, which the kernel allows
 * only after every other process of the namespace is gone. */
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rootless.h"

#define READ_CHUNK (64 * 1024)

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void) { return now_us() / 1000; }

/* fd moved to a number >= 3 (the old one closed): the sandbox's init puts
 * the command's stdio onto 0-2 and must not overwrite another of them. */
static int fd_high(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	errno = e;
	return nfd;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Descriptors of one run: [0] ours, [1] the sandbox's. */
struct pipes {
	int out[2], err[2], in[2], status[2], ctrl[2], donate[2];
};

static int make_pipe(int p[2], int ours, int nonblock)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	p[0] = fd_high(p[0]);
	p[1] = fd_high(p[1]);
	if (p[0] < 0 || p[1] < 0 ||
	    (nonblock && fcntl(p[ours], F_SETFL, O_NONBLOCK) < 0))
		return -errno;
	return 0;
}

/* Normalised so that [0] is always our end. */
static int open_pipes(struct pipes *pp, const struct monkey_exec_request *req,
		      int fresh)
{
	int r, t;
	memset(pp, -1, sizeof(*pp));
#define SWAP(a)                                                                \
	do {                                                                   \
		t = (a)[0];                                                    \
		(a)[0] = (a)[1];                                               \
		(a)[1] = t;                                                    \
	} while (0)
	if ((r = make_pipe(pp->out, 0, 1)) < 0 ||
	    (r = make_pipe(pp->err, 0, 1)) < 0 ||
	    (r = make_pipe(pp->status, 0, 1)) < 0)
		return r;
	if ((r = make_pipe(pp->ctrl, 1, 1)) < 0)
		return r;
	SWAP(pp->ctrl);
	if (req->has_stdin) {
		if ((r = make_pipe(pp->in, 1, 1)) < 0)
			return r;
		SWAP(pp->in);
	} else if ((pp->in[1] =
			fd_high(open("/dev/null", O_RDONLY | O_CLOEXEC))) < 0) {
		return -errno;
	}
	if (fresh) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			       pp->donate) < 0)
			return -errno;
		pp->donate[0] = fd_high(pp->donate[0]);
		pp->donate[1] = fd_high(pp->donate[1]);
		if (pp->donate[0] < 0 || pp->donate[1] < 0)
			return -errno;
	}
#undef SWAP
	return 0;
}

static void close_pipes(struct pipes *pp, int which)
{
	int *all = (int *)pp;
	for (size_t i = (size_t)which; i < sizeof(*pp) / sizeof(int); i += 2)
		close_fd(&all[i]);
}

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
};

static void close_stdin(struct run *r) { close_fd(&r->in_fd); }

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
	begin_stop(r, now_ms());
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
	close_fd(fd);
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

static void on_msg(struct run *r, const struct rl_msg *m, int64_t now)
{
	switch (m->kind) {
	case RL_MSG_INIT:
		r->init_pid = m->pid;
		r->have_init = 1;
		r->pidfd = (int)syscall(SYS_pidfd_open, m->pid, 0);
		if (r->pidfd >= 0)
			r->pidfd = fd_high(r->pidfd);
		break;
	case RL_MSG_FAIL:
	case RL_MSG_START:
		if (m->kind == RL_MSG_START && !m->err) {
			r->started = 1;
			r->t_started = now_us();
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
		r->t_exited = now_us();
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

static void read_status(struct run *r, int64_t now)
{
	struct rl_msg m;
	ssize_t n;
	while ((n = read(r->status_fd, &m, sizeof(m))) == (ssize_t)sizeof(m))
		on_msg(r, &m, now);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* End of file: init closed its end; it is exiting.  Without a pidfd
	 * a blocking wait is what tells that its namespace is empty. */
	close_fd(&r->status_fd);
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
	int64_t now = now_ms(), wake;
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
	now = now_ms();
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
		read_status(r, now);
	if (i_pid >= 0 && !r->init_gone && (pfd[i_pid].revents & ready))
		init_ended(r, now);
	return 0;
}

static int run_loop(struct run *r)
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
		init_ended(r, now_ms());
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

static int finish(struct rl_state *st, struct run *r,
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
		return rl_set_err(host, err, setup_code(r->fail.err),
				  "rootless: cannot %s%s%s: %s",
				  stage_name(r->fail.stage),
				  r->fail.what[0] ? ": " : "", r->fail.what,
				  strerror(r->fail.err));
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
	return 0;
}

/* ---- inits that exit after exec returned ---- */

struct rl_pending {
	pid_t pid;
	struct rl_cgroup cg;
};

void rl_add_pending(struct rl_state *st, pid_t pid, struct rl_cgroup *cg)
{
	struct rl_cgroup none;
	if (!cg) {
		memset(&none, 0, sizeof(none));
		for (int c = 0; c < RL_CG_N; c++)
			none.procs_fd[c] = -1;
		cg = &none;
	}
	pthread_mutex_lock(&st->lock);
	struct rl_pending *v =
	    realloc(st->pending, (st->n_pending + 1) * sizeof(*v));
	if (v) {
		st->pending = v;
		v[st->n_pending].pid = pid;
		v[st->n_pending].cg = *cg;
		st->n_pending++;
		memset(cg->dir, 0, sizeof(cg->dir));
	}
	pthread_mutex_unlock(&st->lock);
	if (!v) { /* out of memory: wait here instead */
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	}
}

void rl_reap_pending(struct rl_state *st, int block)
{
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->n_pending;) {
		struct rl_pending *e = &st->pending[i];
		pid_t w;
		while ((w = waitpid(e->pid, NULL,
				    __WALL | (block ? 0 : WNOHANG))) < 0 &&
		       errno == EINTR)
			;
		if (w == 0) {
			i++;
			continue;
		}
		/* Reaped (or by someone else: ECHILD). */
		rl_cgroup_destroy(&e->cg);
		*e = st->pending[--st->n_pending];
	}
	if (!st->n_pending) {
		free(st->pending);
		st->pending = NULL;
	}
	pthread_mutex_unlock(&st->lock);
}

/* ---- exec ---- */

static void normalize_request(const struct monkey_exec_request *in,
			      struct monkey_exec_request *out)
{
	size_t n =
	    in->struct_size < sizeof(*out) ? in->struct_size : sizeof(*out);
	memset(out, 0, sizeof(*out));
	memcpy(out, in, n);
	out->struct_size = sizeof(*out);
	if (n < offsetof(struct monkey_exec_request, cancel_fd) + sizeof(int))
		out->cancel_fd = -1;
}

static int already_cancelled(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* A template handed over by a command that built one. */
static void receive_template(struct rl_state *st, int fd, const char *key)
{
	char byte;
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	if (recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(2 * sizeof(int)))
		return;
	int fds[2];
	memcpy(fds, CMSG_DATA(c), sizeof(fds));
	rl_template_put(st, key, fds[0], fds[1]);
}

struct timing {
	int64_t t0, t_clone, t_cloned, t_end;
};

/* For the bench: where one command's time went.  "sandbox" is the
 * namespaces and init (and the root view when it is built); "start" the
 * command's own mounts and its exec; "end" until exec returns. */
static void log_timing(struct rl_state *st, const struct timing *t,
		       const struct run *r, int start)
{
	static const char *const how[] = {
	    [RL_START_DIRECT] = "direct",
	    [RL_START_BUILD] = "built",
	    [RL_START_TEMPLATE] = "prepared",
	};
	if (!st->host->log)
		return;
	int64_t started = r->t_started ? r->t_started : t->t_cloned;
	int64_t exited = r->t_exited ? r->t_exited : started;
	st->host->log(st->host, MONKEY_LOG_DEBUG,
		      "rootless: timings us: prepare=%lld sandbox=%lld "
		      "start=%lld run=%lld end=%lld view=%s",
		      (long long)(t->t_clone - t->t0),
		      (long long)(t->t_cloned - t->t_clone),
		      (long long)(started - t->t_cloned),
		      (long long)(exited - started),
		      (long long)(t->t_end - exited), how[start]);
}

/* Everything a run holds on the host, released in one place. */
struct exec_ctx {
	struct rl_request_view rv;
	struct rl_plan p;
	struct rl_cgroup cg;
	struct pipes pp;
	struct run r;
	struct timing t;
	int fresh;
};

static int prepare(struct rl_state *st, const struct monkey_exec_request *req,
		   struct exec_ctx *x, struct monkey_error *err)
{
	int rc = rl_plan_view(st, req, &x->rv, err);
	if (rc < 0)
		return rc;
	if ((rc = rl_plan_command(st, req, &x->rv, &x->p, err)) < 0)
		return rc;
	rl_template_get(st, x->rv.key, &x->p.userns_fd, &x->p.mntns_fd);
	x->fresh = x->p.userns_fd < 0;
	/* A template pays from the second command on: the first one
	 * builds its view for itself. */
	int ran = __atomic_exchange_n(&st->ran, 1, __ATOMIC_RELAXED);
	x->p.start = !x->fresh ? RL_START_TEMPLATE
		     : ran     ? RL_START_BUILD
			       : RL_START_DIRECT;
	x->fresh = x->p.start == RL_START_BUILD;
	if ((rc = rl_cgroup_create(st, req, &x->cg, err)) < 0)
		return rc;
	if ((rc = open_pipes(&x->pp, req, x->fresh)) < 0 ||
	    !(x->r.buf = malloc(READ_CHUNK)))
		return rl_set_err(st->host, err, rc < 0 ? rc : -ENOMEM,
				  "rootless: cannot create the command's "
				  "pipes: %s",
				  strerror(rc < 0 ? -rc : ENOMEM));
	struct rl_plan *p = &x->p;
	p->in_fd = x->pp.in[1];
	p->out_fd = x->pp.out[1];
	p->err_fd = x->pp.err[1];
	p->status_fd = x->pp.status[1];
	p->ctrl_fd = x->pp.ctrl[1];
	p->donate_fd = x->pp.donate[1];
	for (int c = 0; c < RL_CG_N; c++)
		p->cg_fd[c] = x->cg.procs_fd[c];
	return 0;
}

static int start(struct rl_state *st, const struct monkey_exec_request *req,
		 struct exec_ctx *x, struct monkey_error *err)
{
	struct run *r = &x->r;
	x->t.t_clone = now_us();
	int rc = rl_sandbox_start(&x->p);
	x->t.t_cloned = now_us();
	/* The sandbox holds its own copies now. */
	close_pipes(&x->pp, 1);
	for (int c = 0; c < RL_CG_N; c++)
		close_fd(&x->cg.procs_fd[c]);
	r->out_fd = x->pp.out[0];
	r->err_fd = x->pp.err[0];
	r->in_fd = x->pp.in[0];
	r->status_fd = x->pp.status[0];
	r->ctrl_fd = x->pp.ctrl[0];
	x->pp.out[0] = x->pp.err[0] = x->pp.in[0] = x->pp.status[0] =
	    x->pp.ctrl[0] = -1;
	if (rc < 0)
		return rl_set_err(
		    st->host, err, rc,
		    "rootless: cannot create the sandbox's "
		    "namespaces: %s (monkey sandbox info rootless "
		    "says what it needs)",
		    strerror(-rc));
	if (rc > 0) /* RL_START_DIRECT: init is our child already */
		on_msg(r, &(struct rl_msg){.kind = RL_MSG_INIT, .pid = rc},
		       now_ms());
	read_status(r, now_ms());
	if (!r->have_init && r->failed)
		return finish(st, r, NULL, err);
	if (!r->have_init)
		return rl_set_err(st->host, err, -ECHILD,
				  "rootless: the sandbox helper exited "
				  "without starting the sandbox");
	if (req->timeout_ms > 0)
		r->deadline = now_ms() + req->timeout_ms;
	return 0;
}

static void release(struct rl_state *st, struct exec_ctx *x)
{
	for (int c = 0; c < RL_CG_N; c++)
		close_fd(&x->cg.procs_fd[c]);
	/* init is exiting (or dead, unreaped): its cgroups go once it is
	 * reaped, at the next command or at fini. */
	if (x->r.have_init && !x->r.reaped)
		rl_add_pending(st, x->r.init_pid, &x->cg);
	else
		rl_cgroup_destroy(&x->cg);
	close_pipes(&x->pp, 0);
	close_pipes(&x->pp, 1);
	struct run *r = &x->r;
	close_fd(&r->out_fd);
	close_fd(&r->err_fd);
	close_fd(&r->in_fd);
	close_fd(&r->status_fd);
	close_fd(&r->ctrl_fd);
	close_fd(&r->pidfd);
	close_fd(&x->p.userns_fd);
	close_fd(&x->p.mntns_fd);
	free((void *)x->p.paths);
	free((void *)x->p.argv);
	free((void *)x->p.envp);
	free(r->buf);
	rl_request_view_free(&x->rv);
}

static const char *const empty_env[] = {NULL};

static int exec_request(struct rl_state *st,
			const struct monkey_exec_request *req,
			struct monkey_exec_result *result,
			struct monkey_error *err)
{
	rl_reap_pending(st, 0);
	struct exec_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return rl_set_err(st->host, err, -ENOMEM, "out of memory");
	x->t.t0 = now_us();
	memset(&x->pp, -1, sizeof(x->pp));
	x->p.userns_fd = x->p.mntns_fd = x->p.donate_fd = -1;
	for (int c = 0; c < RL_CG_N; c++)
		x->cg.procs_fd[c] = -1;
	struct run *r = &x->r;
	r->req = req;
	r->out_fd = r->err_fd = r->in_fd = r->status_fd = r->ctrl_fd =
	    r->pidfd = -1;
	r->cancel_fd = req->cancel_fd;
	int rc = prepare(st, req, x, err);
	if (rc == 0)
		rc = start(st, req, x, err);
	if (rc == 0 && (rc = run_loop(r)) < 0)
		rl_set_err(st->host, err, rc, "%s: waiting for the command: %s",
			   req->argv[0], strerror(-rc));
	if (rc == 0) {
		rl_cgroup_report(&x->cg, result);
		rc = finish(st, r, result, err);
	}
	if (x->fresh && x->pp.donate[0] >= 0)
		receive_template(st, x->pp.donate[0], x->rv.key);
	release(st, x);
	x->t.t_end = now_us();
	if (x->t.t_cloned)
		log_timing(st, &x->t, r, x->p.start);
	free(x);
	return rc;
}

int rl_exec(struct rl_state *st, const struct monkey_exec_request *req_in,
	    struct monkey_exec_result *result, struct monkey_error *err)
{
	struct monkey_exec_request req;
	if (!req_in || !result)
		return rl_set_err(st->host, err, -EINVAL,
				  "no request or result given");
	normalize_request(req_in, &req);
	if (!req.argv || !req.argv[0] || !req.output)
		return rl_set_err(st->host, err, -EINVAL,
				  "the request has no command or no output "
				  "sink");
	if (!req.argv[0][0])
		return rl_set_err(st->host, err, -ENOENT,
				  "an empty program name cannot be run");
	if (!req.envp)
		req.envp = empty_env;
	if (already_cancelled(req.cancel_fd)) {
		if (MONKEY_STRUCT_HAS(result, cancelled))
			result->cancelled = 1;
		return 0;
	}
	/* poll() is a cancellation point: a thread cancelled there would
	 * abandon the sandbox and our descriptors. */
	int old_state;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_state);
	int rc = exec_request(st, &req, result, err);
	pthread_setcancelstate(old_state, NULL);
	return rc;
}
