/* Running one command, on the host's side: plan it, make its pipes and
 * cgroups, start its sandbox, run it (loop.c), give back what it held;
 * and the sandbox inits that are still exiting when exec returns, reaped
 * at the next command or at fini. */
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "run.h"

int64_t rl_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rl_now_ms(void) { return rl_now_us() / 1000; }

/* fd moved to a number >= 3 (the old one closed): the sandbox's init puts
 * the command's stdio onto 0-2 and must not overwrite another of them. */
int rl_fd_high(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	errno = e;
	return nfd;
}

void rl_close_fd(int *fd)
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
	p[0] = rl_fd_high(p[0]);
	p[1] = rl_fd_high(p[1]);
	if (p[0] < 0 || p[1] < 0 ||
	    (nonblock && fcntl(p[ours], F_SETFL, O_NONBLOCK) < 0))
		return -errno;
	return 0;
}

/* Normalised so that [0] is always our end. */
static int open_pipes(struct pipes *pp, const struct monkey_exec_request *req,
		      int fresh, int stdin_fd)
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
	if (stdin_fd >= 0) { /* a job's: fed by job_write, not by us */
		if ((pp->in[1] =
			 rl_fd_high(fcntl(stdin_fd, F_DUPFD_CLOEXEC, 0))) < 0)
			return -errno;
	} else if (req->has_stdin) {
		if ((r = make_pipe(pp->in, 1, 1)) < 0)
			return r;
		SWAP(pp->in);
	} else if ((pp->in[1] = rl_fd_high(
			open("/dev/null", O_RDONLY | O_CLOEXEC))) < 0) {
		return -errno;
	}
	if (fresh) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			       pp->donate) < 0)
			return -errno;
		pp->donate[0] = rl_fd_high(pp->donate[0]);
		pp->donate[1] = rl_fd_high(pp->donate[1]);
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
		rl_close_fd(&all[i]);
}

/* ---- inits that exit after exec returned ---- */

struct rl_pending {
	pid_t pid;
	struct rl_cgroup cg;
	void *stack;
	size_t stack_len;
};

void rl_add_pending_locked(struct rl_state *st, pid_t pid, struct rl_cgroup *cg,
			   void *stack, size_t stack_len)
{
	struct rl_cgroup none;
	if (!cg) {
		memset(&none, 0, sizeof(none));
		for (int c = 0; c < RL_CG_N; c++)
			none.procs_fd[c] = -1;
		cg = &none;
	}
	struct rl_pending *v =
	    realloc(st->pending, (st->n_pending + 1) * sizeof(*v));
	if (!v) { /* out of memory: wait here instead */
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		rl_cgroup_destroy(cg);
		if (stack)
			munmap(stack, stack_len);
		return;
	}
	st->pending = v;
	v[st->n_pending] = (struct rl_pending){pid, *cg, stack, stack_len};
	st->n_pending++;
	memset(cg->dir, 0, sizeof(cg->dir));
}

void rl_add_pending(struct rl_state *st, pid_t pid, struct rl_cgroup *cg)
{
	pthread_mutex_lock(&st->lock);
	rl_add_pending_locked(st, pid, cg, NULL, 0);
	pthread_mutex_unlock(&st->lock);
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
		if (e->stack)
			munmap(e->stack, e->stack_len);
		*e = st->pending[--st->n_pending];
	}
	if (!st->n_pending) {
		free(st->pending);
		st->pending = NULL;
	}
	pthread_mutex_unlock(&st->lock);
}

/* ---- exec ---- */

void rl_normalize_request(const struct monkey_exec_request *in,
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
	int fds[2];
	int n = rl_fds_recv(fd, &byte, 1, fds, 2);
	if (n == 2)
		rl_template_put(st, key, fds[0], fds[1]);
	else
		for (int i = 0; i < n; i++)
			close(fds[i]);
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
	unsigned gen;		 /* of the template */
	struct rl_session *sess; /* or NULL */
	int stdin_fd;		 /* a job's stdin, or -1 */
};

/* A session's command: its namespaces are the session's, entered; only
 * its PID namespace (and the mounts that shows, /proc) is its own. */
static int prepare_in_session(struct rl_state *st,
			      const struct monkey_exec_request *req,
			      struct exec_ctx *x, struct monkey_error *err)
{
	int rc = rl_plan_command(st, req, &x->rv, &x->p, err);
	if (rc < 0)
		return rc;
	x->p.session = 1;
	x->p.tmp.on = 0;
	x->p.start = RL_START_TEMPLATE;
	if (rl_session_enter(x->sess, &x->p) < 0)
		return rl_set_err(st->host, err, -errno,
				  "rootless: cannot enter the session's "
				  "namespaces: %s",
				  strerror(errno));
	return rl_cgroup_create_child(st, &x->sess->cg, &x->cg, err);
}

/* A command in a sandbox of its own: the root view from a template, or
 * built. */
static int prepare_sandbox(struct rl_state *st,
			   const struct monkey_exec_request *req,
			   struct exec_ctx *x, struct monkey_error *err)
{
	int rc = rl_plan_view(st, req, &x->rv, err);
	if (rc < 0)
		return rc;
	if ((rc = rl_plan_command(st, req, &x->rv, &x->p, err)) < 0)
		return rc;
	rl_template_get(st, x->rv.key, &x->p.userns_fd, &x->p.mntns_fd,
			&x->gen);
	x->fresh = x->p.userns_fd < 0;
	/* A template pays from the second command on: the first one
	 * builds its view for itself. */
	int ran = __atomic_exchange_n(&st->ran, 1, __ATOMIC_RELAXED);
	x->p.start = !x->fresh ? RL_START_TEMPLATE
		     : ran     ? RL_START_BUILD
			       : RL_START_DIRECT;
	x->fresh = x->p.start == RL_START_BUILD;
	if (x->p.start == RL_START_TEMPLATE && x->p.new_net && !x->p.own_userns)
		x->p.net_fd = rl_netns_take(st, x->gen);
	return rl_cgroup_create(st, req, &x->cg, err);
}

static int prepare(struct rl_state *st, const struct monkey_exec_request *req,
		   struct exec_ctx *x, struct monkey_error *err)
{
	int rc = x->sess ? prepare_in_session(st, req, x, err)
			 : prepare_sandbox(st, req, x, err);
	if (rc < 0)
		return rc;
	if ((rc = open_pipes(&x->pp, req, x->fresh, x->stdin_fd)) < 0 ||
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
	x->t.t_clone = rl_now_us();
	int rc = rl_sandbox_start(&x->p);
	x->t.t_cloned = rl_now_us();
	/* The sandbox holds its own copies now. */
	close_pipes(&x->pp, 1);
	for (int c = 0; c < RL_CG_N; c++)
		rl_close_fd(&x->cg.procs_fd[c]);
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
		rl_run_on_msg(r,
			      &(struct rl_msg){.kind = RL_MSG_INIT, .pid = rc},
			      rl_now_ms());
	rl_run_read_status(r, rl_now_ms());
	if (!r->have_init && r->failed)
		return rl_run_finish(st, r, NULL, err);
	if (!r->have_init)
		return rl_set_err(st->host, err, -ECHILD,
				  "rootless: the sandbox helper exited "
				  "without starting the sandbox");
	if (req->timeout_ms > 0)
		r->deadline = rl_now_ms() + req->timeout_ms;
	return 0;
}

static void release(struct rl_state *st, struct exec_ctx *x)
{
	for (int c = 0; c < RL_CG_N; c++)
		rl_close_fd(&x->cg.procs_fd[c]);
	/* init is exiting (or dead, unreaped): its cgroups go once it is
	 * reaped, at the next command or at fini. */
	if (x->r.have_init && !x->r.reaped)
		rl_add_pending(st, x->r.init_pid, &x->cg);
	else
		rl_cgroup_destroy(&x->cg);
	close_pipes(&x->pp, 0);
	close_pipes(&x->pp, 1);
	struct run *r = &x->r;
	rl_close_fd(&r->out_fd);
	rl_close_fd(&r->err_fd);
	rl_close_fd(&r->in_fd);
	rl_close_fd(&r->status_fd);
	rl_close_fd(&r->ctrl_fd);
	rl_close_fd(&r->pidfd);
	rl_close_fd(&x->p.userns_fd);
	rl_close_fd(&x->p.mntns_fd);
	rl_close_fd(&x->p.net_fd);
	rl_close_fd(&x->p.ipc_fd);
	rl_close_fd(&x->p.uts_fd);
	free((void *)x->p.paths);
	free((void *)x->p.argv);
	free((void *)x->p.envp);
	free(r->buf);
	rl_request_view_free(&x->rv);
}

static const char *const empty_env[] = {NULL};

/* The session's pids limit refused a fork while the command ran: the
 * kernel counts that in the group whose limit it is. */
static void session_pids_report(const struct exec_ctx *x, long long before,
				struct monkey_exec_result *result)
{
	long long after = rl_cgroup_pids_max_events(&x->sess->cg);
	if (before >= 0 && after > before &&
	    MONKEY_STRUCT_HAS(result, limits_hit))
		result->limits_hit |= MONKEY_LIMIT_PIDS;
}

static int exec_request(struct rl_state *st, struct rl_session *sess,
			const struct monkey_exec_request *req, int stdin_fd,
			struct monkey_exec_result *result,
			struct monkey_error *err)
{
	rl_reap_pending(st, 0);
	struct exec_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return rl_set_err(st->host, err, -ENOMEM, "out of memory");
	x->sess = sess;
	x->stdin_fd = stdin_fd;
	long long pids_before =
	    sess ? rl_cgroup_pids_max_events(&sess->cg) : -1;
	x->t.t0 = rl_now_us();
	memset(&x->pp, -1, sizeof(x->pp));
	x->p.userns_fd = x->p.mntns_fd = x->p.donate_fd = x->p.net_fd = -1;
	x->p.ipc_fd = x->p.uts_fd = -1;
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
	if (rc == 0 && (rc = rl_run_loop(r)) < 0)
		rl_set_err(st->host, err, rc, "%s: waiting for the command: %s",
			   req->argv[0], strerror(-rc));
	if (rc == 0) {
		rl_cgroup_report(&x->cg, result);
		if (sess)
			session_pids_report(x, pids_before, result);
		rc = rl_run_finish(st, r, result, err);
	}
	if (x->fresh && x->pp.donate[0] >= 0)
		receive_template(st, x->pp.donate[0], x->rv.key);
	/* The next command's network namespace, made while we go back to
	 * the host. */
	if (!sess && x->p.start == RL_START_TEMPLATE && x->p.new_net &&
	    !x->p.own_userns)
		rl_netns_prepare(st, x->p.userns_fd, x->gen);
	release(st, x);
	x->t.t_end = rl_now_us();
	if (x->t.t_cloned)
		log_timing(st, &x->t, r, x->p.start);
	free(x);
	return rc;
}

int rl_exec(struct rl_state *st, const struct monkey_exec_request *req_in,
	    struct monkey_exec_result *result, struct monkey_error *err)
{
	return rl_exec_in(st, NULL, req_in, -1, result, err);
}

int rl_exec_in(struct rl_state *st, struct rl_session *s,
	       const struct monkey_exec_request *req_in, int stdin_fd,
	       struct monkey_exec_result *result, struct monkey_error *err)
{
	struct monkey_exec_request req;
	if (!req_in || !result)
		return rl_set_err(st->host, err, -EINVAL,
				  "no request or result given");
	rl_normalize_request(req_in, &req);
	if (s)
		rl_session_apply(s, &req);
	if (stdin_fd >= 0) {
		req.has_stdin = 0;
		req.stdin_len = 0;
	}
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
	int rc = exec_request(st, s, &req, stdin_fd, result, err);
	pthread_setcancelstate(old_state, NULL);
	return rc;
}
