/* Background jobs: the backend's run function takes the command to its
 * end on a thread of the job's own (with the backend's whole-tree kill
 * and limits as for any command), its output kept here between reads (a
 * bounded head and tail per stream), its stdin a pipe and its cancel fd
 * the way to stop it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bgjob.h"
#include "jobbox.h"

struct bgjob {
	struct bgjob_set *set;
	struct bgjob *next; /* in set, under its lock */
	const struct monkey_host *host;
	pthread_t thread;
	struct monkey_jobbox box;
	int stdin_w; /* our end of its stdin; -1 once closed */
	int stdin_r; /* its end, duplicated at the start */
	int stop_pipe[2];
	bgjob_run_fn run;
	void *run_ctx;
	/* What run gets, owned. */
	struct monkey_exec_request req;
	char **argv, **envp, **user_envp;
	char *workspace, *workdir;
	/* The first bytes of stdin, written by the start. */
	char *stdin_data;
	size_t stdin_len;
};

static int sink(void *ctx, int stream, const void *data, size_t len)
{
	struct bgjob *j = ctx;
	monkey_jobbox_add(&j->box, stream, data, len);
	return 0;
}

static void *job_main(void *arg)
{
	struct bgjob *j = arg;
	struct monkey_exec_result res = {
	    .struct_size = sizeof(res),
	    .exit_code = -1,
	    .oom_killed = MONKEY_UNKNOWN,
	};
	struct monkey_error e = {0};
	int rc = j->run(j->run_ctx, &j->req, j->stdin_r, &res, &e);
	monkey_jobbox_finish(&j->box, rc, &res, &e);
	return NULL;
}

static char **strv_dup(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **c = calloc(n + 1, sizeof(*c));
	for (size_t i = 0; c && i < n; i++)
		if (!(c[i] = strdup(v[i]))) {
			for (size_t k = 0; k < i; k++)
				free(c[k]);
			free(c);
			return NULL;
		}
	return c;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void job_free(struct bgjob *j)
{
	strv_free(j->argv);
	strv_free(j->envp);
	strv_free(j->user_envp);
	free(j->workspace);
	free(j->workdir);
	free(j->stdin_data);
	for (int i = 0; i < 2; i++)
		if (j->stop_pipe[i] >= 0)
			close(j->stop_pipe[i]);
	if (j->stdin_w >= 0)
		close(j->stdin_w);
	if (j->stdin_r >= 0)
		close(j->stdin_r);
	monkey_jobbox_destroy(&j->box);
	free(j);
}

/* Our copy of what the job needs of req. */
static int copy_request(struct bgjob *j, const struct monkey_exec_request *req)
{
	j->argv = strv_dup(req->argv);
	j->envp = strv_dup(req->envp);
	j->user_envp = strv_dup(req->user_envp);
	j->workspace = req->workspace ? strdup(req->workspace) : NULL;
	j->workdir = req->workdir ? strdup(req->workdir) : NULL;
	if (!j->argv || !j->envp || !j->user_envp ||
	    (req->workspace && !j->workspace) || (req->workdir && !j->workdir))
		return -ENOMEM;
	j->req = *req;
	j->req.argv = (const char *const *)j->argv;
	j->req.envp = (const char *const *)j->envp;
	j->req.user_envp = (const char *const *)j->user_envp;
	j->req.workspace = j->workspace;
	j->req.workdir = j->workdir;
	j->req.mounts = NULL;
	j->req.n_mounts = 0;
	j->req.image = NULL;
	j->req.user = NULL;
	/* Borrowed for the start only: the session holds its own. */
	j->req.proxy_dir = NULL;
	j->req.proxy_forwarder = NULL;
	j->req.progress = NULL;
	j->req.progress_ctx = NULL;
	j->req.caches = NULL;
	j->req.n_caches = 0;
	j->req.has_stdin = 1;
	j->req.stdin_data = NULL;
	j->req.stdin_len = 0;
	j->req.output = sink;
	j->req.output_ctx = j;
	j->req.cancel_fd = j->stop_pipe[0];
	return 0;
}

void bgjob_set_init(struct bgjob_set *set)
{
	pthread_mutex_init(&set->lock, NULL);
	set->head = NULL;
}

void bgjob_set_close(struct bgjob_set *set)
{
	for (;;) {
		pthread_mutex_lock(&set->lock);
		struct bgjob *j = set->head;
		pthread_mutex_unlock(&set->lock);
		if (!j)
			break;
		bgjob_close(j);
	}
	pthread_mutex_destroy(&set->lock);
}

int bgjob_start(struct bgjob_set *set, const struct monkey_host *host,
		const struct monkey_exec_request *req, bgjob_run_fn run,
		void *ctx, struct bgjob **out, struct monkey_error *err)
{
	struct bgjob *j = calloc(1, sizeof(*j));
	if (!j)
		return host->set_error(err, -ENOMEM, "out of memory");
	j->host = host;
	j->run = run;
	j->run_ctx = ctx;
	j->stdin_w = j->stdin_r = j->stop_pipe[0] = j->stop_pipe[1] = -1;
	monkey_jobbox_init(&j->box);
	int in[2];
	if (pipe2(j->stop_pipe, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0) {
		int e = errno;
		job_free(j);
		return host->set_error(err, -e, "cannot create a pipe: %s",
				       strerror(e));
	}
	j->stdin_r = in[0];
	j->stdin_w = in[1];
	if (copy_request(j, req) < 0) {
		job_free(j);
		return host->set_error(err, -ENOMEM, "out of memory");
	}
	if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
		job_free(j);
		return host->set_error(err, -EAGAIN, "cannot start a thread");
	}
	if (req->has_stdin && req->stdin_len)
		bgjob_write(j, req->stdin_data, req->stdin_len, 0, NULL);
	j->set = set;
	pthread_mutex_lock(&set->lock);
	j->next = set->head;
	set->head = j;
	pthread_mutex_unlock(&set->lock);
	*out = j;
	return 0;
}

int bgjob_read(struct bgjob *j, int64_t wait_ms, monkey_output_fn out,
	       void *out_ctx, int *running, struct monkey_exec_result *result,
	       struct monkey_error *err)
{
	return monkey_jobbox_read(&j->box, j->host, wait_ms, out, out_ctx,
				  running, result, err);
}

int bgjob_write(struct bgjob *j, const void *data, size_t len, int close_stdin,
		struct monkey_error *err)
{
	const char *p = data;
	if (j->stdin_w < 0)
		return j->host->set_error(err, -EPIPE,
					  "the job's stdin is closed");
	/* A job that stopped reading must not block its caller for ever:
	 * what does not fit within a second is an error. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	int rc = 0;
	while (len) {
		struct pollfd pf = {.fd = j->stdin_w, .events = POLLOUT};
		if (poll(&pf, 1, 1000) <= 0) {
			rc = j->host->set_error(
			    err, -EAGAIN,
			    "the job does not read its stdin (its pipe is "
			    "full); %zu bytes were not written",
			    len);
			break;
		}
		ssize_t w = write(j->stdin_w, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = j->host->set_error(
			    err, -errno, "writing to the job's stdin: %s",
			    strerror(errno));
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	struct timespec zero = {0, 0};
	sigtimedwait(&set, NULL, &zero); /* a SIGPIPE of ours, dropped */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (close_stdin || rc == -EPIPE) {
		close(j->stdin_w);
		j->stdin_w = -1;
	}
	return rc;
}

int bgjob_stop(struct bgjob *j, struct monkey_error *err)
{
	(void)err;
	ssize_t n = write(j->stop_pipe[1], "x", 1);
	(void)n;
	pthread_mutex_lock(&j->box.lock);
	while (j->box.running)
		pthread_cond_wait(&j->box.cond, &j->box.lock);
	pthread_mutex_unlock(&j->box.lock);
	return 0;
}

void bgjob_close(struct bgjob *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->set->lock);
	for (struct bgjob **p = &j->set->head; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	pthread_mutex_unlock(&j->set->lock);
	bgjob_stop(j, NULL);
	pthread_join(j->thread, NULL);
	job_free(j);
}

int bgjob_abi_read(void *job, int64_t wait_ms, monkey_output_fn out,
		   void *out_ctx, int *running,
		   struct monkey_exec_result *result, struct monkey_error *err)
{
	return bgjob_read(job, wait_ms, out, out_ctx, running, result, err);
}

int bgjob_abi_write(void *job, const void *data, size_t len, int close_stdin,
		    struct monkey_error *err)
{
	return bgjob_write(job, data, len, close_stdin, err);
}

int bgjob_abi_stop(void *job, struct monkey_error *err)
{
	return bgjob_stop(job, err);
}

void bgjob_abi_close(void *job) { bgjob_close(job); }
