/* Background jobs of a docker session: each is "monkey-launch job" exec'd
 * into the session's container on a stream of its own (so its output
 * needs no framing beside the foreground command's), a subreaper that
 * survives the foreground commands' ends.  A reader thread moves its
 * output into a bounded keep and its framed stdin (data, end, stop) out;
 * the launcher's records say how it ended. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "job.h"
#include "jobbox.h"

struct dk_job {
	struct dk_state *st;
	char container[DK_ID_MAX];
	char exec_id[DK_ID_MAX];
	struct dk_attach *att;
	pthread_t reader;
	int reader_started;
	/* Output, end and result for job_read; its lock also guards the
	 * fields below. */
	struct monkey_jobbox box;
	int closing;
	/* Bytes for its stdin not yet handed to the reader. */
	unsigned char *queue;
	size_t queue_len;
	int stdin_closed;
	int wake[2]; /* the reader's cancel fd: the queue grew */
	int64_t grace_ms;
	char nonce[33];
	struct dk_launch_filter filter;
	time_t since;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int keep_sink(void *ctx, int stream, const void *data, size_t len)
{
	struct dk_job *j = ctx;
	monkey_jobbox_add(&j->box, stream, data, len);
	return 0;
}

/* Append to the queue (lock held). */
static int enqueue(struct dk_job *j, const void *p, size_t n)
{
	unsigned char *q = realloc(j->queue, j->queue_len + n + 1);
	if (!q)
		return -ENOMEM;
	if (n)
		memcpy(q + j->queue_len, p, n);
	j->queue = q;
	j->queue_len += n;
	ssize_t w = write(j->wake[1], "w", 1);
	(void)w;
	return 0;
}

/* Move the queue behind what the reader still has to send. */
static int take_queue(struct dk_job *j, unsigned char **buf, size_t *len,
		      size_t sent)
{
	if (sent)
		memmove(*buf, *buf + sent, *len - sent);
	*len -= sent;
	pthread_mutex_lock(&j->box.lock);
	unsigned char *b = realloc(*buf, *len + j->queue_len + 1);
	if (b) {
		*buf = b;
		if (j->queue_len)
			memcpy(b + *len, j->queue, j->queue_len);
		*len += j->queue_len;
		j->queue_len = 0;
	}
	int closing = j->closing;
	pthread_mutex_unlock(&j->box.lock);
	char drain[64];
	while (read(j->wake[0], drain, sizeof(drain)) > 0)
		;
	return b ? closing : -ENOMEM;
}

static void *reader_main(void *arg)
{
	struct dk_job *j = arg;
	struct dk_state *st = j->st;
	unsigned char *buf = NULL;
	size_t len = 0, sent = 0;
	struct monkey_error e = {0};
	int end;
	for (;;) {
		int closing = take_queue(j, &buf, &len, sent);
		sent = 0;
		struct dk_io io = {
		    .stdin_data = buf,
		    .stdin_len = len,
		    .keep_stdin_open = 1,
		    .output = dk_launch_filter_sink,
		    .output_ctx = &j->filter,
		    .cancel_fd = j->wake[0],
		    .sink_can_finish = 1,
		};
		end = closing < 0
			  ? closing
			  : dk_attach_pump(j->att, &io, now_ms() + 1000, &e);
		sent = io.stdin_sent;
		if (end == DK_PUMP_CANCEL ||
		    (end == DK_PUMP_DEADLINE && !closing))
			continue;
		break;
	}
	free(buf);
	struct monkey_exec_result res = {
	    .struct_size = sizeof(res),
	    .exit_code = -1,
	    .oom_killed = MONKEY_UNKNOWN,
	};
	int rc;
	if (end == DK_PUMP_DONE) {
		rc = dk_launch_answer(st, &j->filter, j->container, j->since,
				      &res, &e);
	} else {
		dk_launch_filter_flush(&j->filter);
		rc = st->host->set_error(
		    &e, end < 0 ? end : -ECONNRESET,
		    "the job's launcher in container %.12s ended without "
		    "saying how the job did (the container was removed or "
		    "stopped)%s%s",
		    j->container, e.message[0] ? ": " : "", e.message);
	}
	monkey_jobbox_finish(&j->box, rc, &res, &e);
	return NULL;
}

/* POST /containers/{id}/exec for "monkey-launch job"; its id. */
static int create_exec(struct dk_job *j, struct monkey_error *err)
{
	struct dk_state *st = j->st;
	char path[256];
	struct dk_response r = {0};
	snprintf(path, sizeof(path), "/containers/%s/exec", j->container);
	int rc = dk_request(
	    st, "POST", path,
	    "{\"AttachStdin\":true,\"AttachStdout\":true,"
	    "\"AttachStderr\":true,\"Tty\":false,\"Cmd\":[\"" DK_LAUNCHER_TARGET
	    "\",\"job\"]}",
	    st->api_timeout_ms, -1, &r, err);
	if (rc < 0)
		return rc;
	if (r.status != 201) {
		rc = dk_engine_error(st, &r, err,
				     "starting a job in container %.12s failed",
				     j->container);
		dk_response_free(&r);
		return rc;
	}
	json_object *o = json_tokener_parse(r.body ? r.body : "");
	json_object *v = NULL;
	rc = st->host->set_error(err, -EPROTO,
				 "the %s answered exec create without an id",
				 st->engine_name);
	if (o && json_object_object_get_ex(o, "Id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strlen(json_object_get_string(v)) < sizeof(j->exec_id) &&
	    strspn(json_object_get_string(v), "0123456789abcdef") ==
		strlen(json_object_get_string(v))) {
		snprintf(j->exec_id, sizeof(j->exec_id), "%s",
			 json_object_get_string(v));
		rc = 0;
		if (err)
			err->code = 0, err->message[0] = '\0';
	}
	json_object_put(o);
	dk_response_free(&r);
	return rc;
}

static void job_free(struct dk_job *j)
{
	dk_attach_close(j->att);
	free(j->queue);
	for (int i = 0; i < 2; i++)
		if (j->wake[i] >= 0)
			close(j->wake[i]);
	monkey_jobbox_destroy(&j->box);
	free(j);
}

int dk_job_start(struct dk_state *st, const char *container,
		 const struct monkey_exec_request *req, struct dk_job **out,
		 struct monkey_error *err)
{
	struct dk_job *j = calloc(1, sizeof(*j));
	if (!j)
		return st->host->set_error(err, -ENOMEM, "out of memory");
	j->st = st;
	j->wake[0] = j->wake[1] = -1;
	monkey_jobbox_init(&j->box);
	snprintf(j->container, sizeof(j->container), "%s", container);
	j->grace_ms = req->kill_grace_ms > 0 ? req->kill_grace_ms : 0;
	j->since = time(NULL) - 1;
	_cleanup_free_ char *wd = dk_container_workdir(req);
	struct dk_git git;
	dk_git_protected(st, req, &git);
	_cleanup_free_ char *gitpath = git.path;
	size_t len = 0;
	_cleanup_free_ unsigned char *input = NULL;
	int rc = 0;
	if (pipe2(j->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		rc = st->host->set_error(err, -errno, "cannot create a pipe");
	else if (dk_launch_nonce(j->nonce) < 0 ||
		 !(input = dk_launch_input(req, j->nonce, wd ? wd : "", &git, 1,
					   &len)))
		rc = st->host->set_error(err, -ENOMEM,
					 "preparing the job failed");
	if (rc == 0 && (rc = create_exec(j, err)) == 0)
		rc = dk_attach_open_exec(st, j->exec_id, &j->att, err);
	if (rc == 0)
		rc = enqueue(j, input, len);
	dk_launch_filter_init(&j->filter, keep_sink, j, j->nonce);
	if (rc == 0 && pthread_create(&j->reader, NULL, reader_main, j) != 0)
		rc = st->host->set_error(err, -EAGAIN, "cannot start a thread");
	if (rc < 0) {
		job_free(j);
		return rc;
	}
	j->reader_started = 1;
	*out = j;
	return 0;
}

int dk_job_read(struct dk_job *j, int64_t wait_ms, monkey_output_fn out,
		void *out_ctx, int *running, struct monkey_exec_result *result,
		struct monkey_error *err)
{
	return monkey_jobbox_read(&j->box, j->st->host, wait_ms, out, out_ctx,
				  running, result, err);
}

int dk_job_write(struct dk_job *j, const void *data, size_t len,
		 int close_stdin, struct monkey_error *err)
{
	int rc = 0;
	pthread_mutex_lock(&j->box.lock);
	if (!j->box.running || j->stdin_closed) {
		rc = j->st->host->set_error(err, -EPIPE,
					    j->box.running
						? "the job's stdin is closed"
						: "the job has ended");
	} else {
		/* Frames of at most 1 MiB: the launcher reads a length. */
		const unsigned char *p = data;
		while (rc == 0 && len) {
			uint32_t n =
			    len > (1u << 20) ? (1u << 20) : (uint32_t)len;
			unsigned char h[5] = {'D', (unsigned char)(n >> 24),
					      (unsigned char)(n >> 16),
					      (unsigned char)(n >> 8),
					      (unsigned char)n};
			rc = enqueue(j, h, 5);
			if (rc == 0)
				rc = enqueue(j, p, n);
			p += n;
			len -= n;
		}
		if (rc == 0 && close_stdin) {
			rc = enqueue(j, "E", 1);
			j->stdin_closed = 1;
		}
		if (rc < 0)
			j->st->host->set_error(err, rc, "out of memory");
	}
	pthread_mutex_unlock(&j->box.lock);
	return rc;
}

int dk_job_stop(struct dk_job *j, struct monkey_error *err)
{
	pthread_mutex_lock(&j->box.lock);
	if (j->box.running)
		enqueue(j, "K", 1);
	/* The launcher needs the grace time; more means it is lost. */
	struct timespec until = monkey_deadline_after(j->grace_ms + 10000);
	int rc = 0;
	while (j->box.running && rc == 0)
		rc = pthread_cond_timedwait(&j->box.cond, &j->box.lock, &until);
	int still = j->box.running;
	pthread_mutex_unlock(&j->box.lock);
	if (still)
		return j->st->host->set_error(
		    err, -ETIMEDOUT,
		    "the job in container %.12s did not stop; it goes with "
		    "the session's container",
		    j->container);
	return 0;
}

void dk_job_close(struct dk_job *j)
{
	if (!j)
		return;
	dk_job_stop(j, NULL);
	pthread_mutex_lock(&j->box.lock);
	j->closing = 1;
	ssize_t w = write(j->wake[1], "w", 1);
	(void)w;
	pthread_mutex_unlock(&j->box.lock);
	if (j->reader_started)
		pthread_join(j->reader, NULL);
	job_free(j);
}
