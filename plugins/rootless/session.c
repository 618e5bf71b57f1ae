/* Sessions and background jobs of the rootless backend.  A session is the
 * set of namespaces its commands share: the user and mount namespaces of
 * its root view (with one /tmp, /dev/shm and /dev/pts for all its
 * commands), a network namespace (loopback only, unless --network), and
 * IPC and UTS namespaces.  monkey holds them by descriptor: no process of
 * the session's runs between commands, so nothing can be left behind or
 * killed from outside, and closing the descriptors frees it all.  Each
 * command and each job still gets a PID namespace of its own, whose init
 * takes every process of it along when it ends: the kill at a foreground
 * command's end is as certain as for a fresh sandbox, and a job's
 * processes die with the job.  Jobs run on bgjob threads (the thread is
 * the parent of the job's init, whose parent-death signal is its
 * guarantee against a lost monkey). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bgjob.h"
#include "fdpass.h"
#include "rootless.h"
#include "run.h"

static int dup_high(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

int rl_session_enter(const struct rl_session *s, struct rl_plan *p)
{
	p->userns_fd = dup_high(s->userns_fd);
	p->mntns_fd = dup_high(s->mntns_fd);
	p->ipc_fd = dup_high(s->ipcns_fd);
	p->uts_fd = dup_high(s->utsns_fd);
	p->net_fd = dup_high(s->netns_fd);
	if (p->userns_fd < 0 || p->mntns_fd < 0 || p->ipc_fd < 0 ||
	    p->uts_fd < 0 || (s->netns_fd >= 0 && p->net_fd < 0))
		return -1;
	return 0;
}

void rl_session_apply(const struct rl_session *s,
		      struct monkey_exec_request *req)
{
	/* What the session was opened with, whatever this request says:
	 * its view, network and limits are built already. */
	req->workspace = s->workspace;
	req->mounts = NULL;
	req->n_mounts = 0;
	req->image = NULL;
	req->memory_bytes = s->memory_bytes;
	req->pids = s->pids;
	req->cpus = s->cpus;
	req->network = s->network;
	if (MONKEY_STRUCT_HAS(req, proxy_port)) {
		req->proxy_dir = s->proxy_dir;
		req->proxy_forwarder = s->proxy_forwarder;
		req->proxy_port = s->proxy_port;
	}
}

/* The namespaces C handed over: user, mount, IPC, UTS and, unless the
 * session shares the host's network, its network namespace. */
static int receive_namespaces(struct rl_session *s, int sock)
{
	char byte;
	int fds[5];
	int want = s->network ? 4 : 5;
	int n = rl_fds_recv(sock, &byte, 1, fds, 5);
	if (n != want || byte != want) {
		for (int i = 0; i < n; i++)
			close(fds[i]);
		return -EPROTO;
	}
	s->userns_fd = rl_fd_high(fds[0]);
	s->mntns_fd = rl_fd_high(fds[1]);
	s->ipcns_fd = rl_fd_high(fds[2]);
	s->utsns_fd = rl_fd_high(fds[3]);
	if (want == 5)
		s->netns_fd = rl_fd_high(fds[4]);
	return 0;
}

/* The error a failed build reported on the status pipe. */
static int build_failed(struct rl_session *s, int status_fd,
			struct monkey_error *err)
{
	struct rl_msg m;
	if (read(status_fd, &m, sizeof(m)) == (ssize_t)sizeof(m) &&
	    m.kind == RL_MSG_FAIL)
		return rl_set_err(s->st->host, err, m.err ? -m.err : -EIO,
				  "rootless: cannot build the session's "
				  "sandbox (step %d%s%s): %s (monkey sandbox "
				  "info rootless says what it needs)",
				  m.stage, m.what[0] ? ", " : "",
				  m.what[0] ? m.what : "",
				  strerror(m.err ? m.err : EIO));
	return 0;
}

/* Build the session's view and namespaces in a helper that hands them
 * over and exits. */
static int build(struct rl_session *s, const struct monkey_exec_request *req,
		 struct monkey_error *err)
{
	struct rl_state *st = s->st;
	struct rl_request_view rv;
	struct rl_plan *p = calloc(1, sizeof(*p));
	int status[2] = {-1, -1}, sock[2] = {-1, -1};
	if (!p)
		return rl_set_err(st->host, err, -ENOMEM, "out of memory");
	int rc = rl_plan_view(st, req, &rv, err);
	if (rc == 0)
		rc = rl_plan_session(st, req, &rv, p, err);
	if (rc == 0 &&
	    (pipe2(status, O_CLOEXEC | O_NONBLOCK) < 0 ||
	     socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0))
		rc = rl_set_err(st->host, err, -errno,
				"rootless: cannot create a pipe: %s",
				strerror(errno));
	if (rc == 0) {
		status[1] = rl_fd_high(status[1]);
		sock[1] = rl_fd_high(sock[1]);
		p->start = RL_START_SESSION;
		p->status_fd = status[1];
		p->donate_fd = sock[1];
		p->userns_fd = p->mntns_fd = p->net_fd = -1;
		p->ipc_fd = p->uts_fd = -1;
		for (int c = 0; c < RL_CG_N; c++)
			p->cg_fd[c] = -1;
		int r = rl_sandbox_start(p);
		if (r < 0)
			rc = rl_set_err(st->host, err, r,
					"rootless: cannot create the session's "
					"namespaces: %s (monkey sandbox info "
					"rootless says what it needs)",
					strerror(-r));
		else if ((rc = build_failed(s, status[0], err)) == 0 &&
			 receive_namespaces(s, sock[0]) < 0)
			rc = rl_set_err(st->host, err, -EPROTO,
					"rootless: the session's helper exited "
					"without handing its namespaces over");
	}
	for (int i = 0; i < 2; i++) {
		rl_close_fd(&status[i]);
		rl_close_fd(&sock[i]);
	}
	rl_request_view_free(&rv);
	free(p);
	return rc;
}

static int copy_settings(struct rl_session *s,
			 const struct monkey_exec_request *req)
{
	s->memory_bytes = req->memory_bytes;
	s->pids = req->pids;
	s->cpus = req->cpus;
	s->network = req->network;
	if (req->workspace && !(s->workspace = strdup(req->workspace)))
		return -ENOMEM;
	if (rl_req_proxy(req)) {
		s->proxy_port = req->proxy_port;
		if (!(s->proxy_dir = strdup(req->proxy_dir)) ||
		    !(s->proxy_forwarder = strdup(req->proxy_forwarder)))
			return -ENOMEM;
	}
	return 0;
}

static void session_free(struct rl_session *s)
{
	rl_close_fd(&s->userns_fd);
	rl_close_fd(&s->mntns_fd);
	rl_close_fd(&s->netns_fd);
	rl_close_fd(&s->ipcns_fd);
	rl_close_fd(&s->utsns_fd);
	/* Inits of its commands that were still exiting: their groups lie
	 * in the session's. */
	rl_reap_pending(s->st, 1);
	rl_cgroup_destroy(&s->cg);
	free(s->workspace);
	free(s->proxy_dir);
	free(s->proxy_forwarder);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int rl_session_open(struct rl_state *st, const struct monkey_exec_request *in,
		    void **session, struct monkey_error *err)
{
	struct monkey_exec_request req;
	rl_normalize_request(in, &req);
	struct rl_session *s = calloc(1, sizeof(*s));
	if (!s)
		return rl_set_err(st->host, err, -ENOMEM, "out of memory");
	s->st = st;
	s->userns_fd = s->mntns_fd = s->netns_fd = s->ipcns_fd = s->utsns_fd =
	    -1;
	for (int c = 0; c < RL_CG_N; c++)
		s->cg.procs_fd[c] = -1;
	pthread_mutex_init(&s->lock, NULL);
	bgjob_set_init(&s->jobs);
	int rc = copy_settings(s, &req) < 0
		     ? rl_set_err(st->host, err, -ENOMEM, "out of memory")
		     : rl_cgroup_create_session(st, &req, &s->cg, err);
	if (rc == 0)
		rc = build(s, &req, err);
	if (rc < 0) {
		session_free(s);
		return rc;
	}
	*session = s;
	return 0;
}

int rl_session_exec(void *session, const struct monkey_exec_request *req,
		    struct monkey_exec_result *result, struct monkey_error *err)
{
	struct rl_session *s = session;
	pthread_mutex_lock(&s->lock);
	int rc = rl_exec_in(s->st, s, req, -1, result, err);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void rl_session_close(void *session)
{
	struct rl_session *s = session;
	if (!s)
		return;
	/* Every job dies with its session, even one the host forgot. */
	bgjob_set_close(&s->jobs);
	session_free(s);
}

/* ---- jobs ---- */

static int job_run(void *ctx, const struct monkey_exec_request *req,
		   int stdin_fd, struct monkey_exec_result *result,
		   struct monkey_error *err)
{
	struct rl_session *s = ctx;
	return rl_exec_in(s->st, s, req, stdin_fd, result, err);
}

int rl_job_start(void *session, const struct monkey_exec_request *req,
		 void **job, struct monkey_error *err)
{
	struct rl_session *s = session;
	struct bgjob *j = NULL;
	int rc = bgjob_start(&s->jobs, s->st->host, req, job_run, s, &j, err);
	if (rc == 0)
		*job = j;
	return rc;
}
