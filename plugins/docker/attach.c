/* The hijacked attach stream: libcurl opens the connection (CONNECT_ONLY),
 * we speak the upgrade request ourselves, then demultiplex the engine's
 * 8-byte framed stdout/stderr into the output sink while feeding stdin,
 * all under one poll() that also watches the deadline and the cancel fd. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <monkey/backend.h>

#include "attach.h"

#define DK_RECV_BUF (64 * 1024)
#define DK_HEADER_MAX (16 * 1024)

struct dk_attach {
	struct dk_state *st;
	CURL *curl;
	curl_socket_t fd;
	/* Bytes that arrived with the upgrade answer, not yet demultiplexed. */
	unsigned char *pending;
	size_t pending_len;
	/* Frame parser: header bytes seen so far, then payload left. */
	unsigned char hdr[8];
	size_t hdr_have;
	uint64_t payload_left;
	int stream;
	int stdin_closed;
	int with_stdin; /* stdin was attached */
	unsigned char buf[DK_RECV_BUF];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline (monotonic ms).
 * Returns 1 ready, 0 timed out. */
static int wait_fd(curl_socket_t fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 1; /* let the caller's send/recv report it */
	}
}

static int send_all(struct dk_attach *a, const char *data, size_t len,
		    int64_t deadline, struct monkey_error *err)
{
	while (len) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(a->curl, data, len, &n);
		if (rc == CURLE_AGAIN) {
			if (!wait_fd(a->fd, POLLOUT, deadline))
				return a->st->host->set_error(
				    err, -ETIMEDOUT,
				    "%s did not accept the attach request in "
				    "time",
				    a->st->engine_name);
			continue;
		}
		if (rc != CURLE_OK)
			return a->st->host->set_error(
			    err, -ECONNRESET,
			    "sending the attach request to the %s failed: %s",
			    a->st->engine_name, curl_easy_strerror(rc));
		data += n;
		len -= n;
	}
	return 0;
}

/* Receive the upgrade answer until its head is complete: *end points at
 * the blank line that ends it in head (DK_HEADER_MAX + 1 bytes), *have
 * counts what arrived (the stream's first bytes may follow the head). */
static int receive_head(struct dk_attach *a, const char *id, int64_t deadline,
			char *head, size_t *have, char **end,
			struct monkey_error *err)
{
	*end = NULL;
	while (!*end) {
		if (*have == DK_HEADER_MAX)
			return a->st->host->set_error(
			    err, -EPROTO,
			    "the %s sent an oversized attach answer",
			    a->st->engine_name);
		size_t n = 0;
		CURLcode rc = curl_easy_recv(a->curl, head + *have,
					     DK_HEADER_MAX - *have, &n);
		if (rc == CURLE_AGAIN) {
			if (!wait_fd(a->fd, POLLIN, deadline))
				return a->st->host->set_error(
				    err, -ETIMEDOUT,
				    "%s did not answer the attach request "
				    "within %lld ms",
				    a->st->engine_name,
				    (long long)a->st->api_timeout_ms);
			continue;
		}
		if (rc != CURLE_OK || n == 0)
			return a->st->host->set_error(
			    err, -ECONNRESET,
			    "%s closed the connection while attaching to "
			    "container %.12s",
			    a->st->engine_name, id);
		*have += n;
		head[*have] = '\0';
		*end = strstr(head, "\r\n\r\n");
	}
	return 0;
}

/* An answer other than the upgrade: its JSON body says why. */
static int refused(struct dk_attach *a, const char *id, int status,
		   const char *body, struct monkey_error *err)
{
	struct dk_response r = {.status = status, .body = (char *)body};
	int ret = dk_engine_error(a->st, &r, err,
				  "attaching to container %.12s failed", id);
	/* podman creates the process when attaching, so a missing program
	 * shows up here rather than at start. */
	int code = dk_exec_failure(r.body);
	if (!code)
		return ret;
	dk_engine_error(a->st, &r, err, "starting the command failed");
	if (err)
		err->code = code;
	return code;
}

/* Read the upgrade answer's head; keep what follows it for the pump. */
static int read_answer(struct dk_attach *a, const char *id, int64_t deadline,
		       struct monkey_error *err)
{
	_cleanup_free_ char *head = malloc(DK_HEADER_MAX + 1);
	size_t have = 0;
	char *end;
	if (!head)
		return a->st->host->set_error(err, -ENOMEM, "out of memory");
	int ret = receive_head(a, id, deadline, head, &have, &end, err);
	if (ret < 0)
		return ret;
	size_t head_len = (size_t)(end - head) + 4;
	int status = 0;
	if (sscanf(head, "HTTP/1.%*d %d", &status) != 1)
		return a->st->host->set_error(
		    err, -EPROTO,
		    "the %s answered the attach request with something that "
		    "is not HTTP",
		    a->st->engine_name);
	if (status != 101 && status != 200)
		return refused(a, id, status, head + head_len, err);
	a->pending_len = have - head_len;
	if (a->pending_len) {
		a->pending = malloc(a->pending_len);
		if (!a->pending)
			return a->st->host->set_error(err, -ENOMEM,
						      "out of memory");
		memcpy(a->pending, head + head_len, a->pending_len);
	}
	return 0;
}

/* Open the connection libcurl hijacks for us and find its socket. */
static int connect_raw(struct dk_attach *a, struct monkey_error *err)
{
	struct dk_state *st = a->st;
	CURLcode rc = curl_easy_perform(a->curl);
	if (rc != CURLE_OK) {
		long oserr = 0;
		curl_easy_getinfo(a->curl, CURLINFO_OS_ERRNO, &oserr);
		return st->host->set_error(
		    err, -ECONNREFUSED,
		    "cannot connect to the %s at %s to attach: %s",
		    st->engine_name, st->socket_path,
		    oserr ? strerror((int)oserr) : curl_easy_strerror(rc));
	}
	if (curl_easy_getinfo(a->curl, CURLINFO_ACTIVESOCKET, &a->fd) !=
		CURLE_OK ||
	    a->fd == CURL_SOCKET_BAD)
		return st->host->set_error(
		    err, -EIO, "libcurl gave no socket for the attach stream");
	return 0;
}

static void attach_closep(struct dk_attach **a) { dk_attach_close(*a); }

/* A hijacked stream: the request (POST path, JSON body or none) answered
 * with 101 or 200, then raw frames.  id names the container or exec in
 * messages. */
static int open_hijack(struct dk_state *st, const char *path, const char *body,
		       const char *id, int with_stdin, struct dk_attach **out,
		       struct monkey_error *err)
{
	char req[1024];
	char prefix[sizeof(st->api_prefix)];
	int64_t deadline = now_ms() + st->api_timeout_ms;

	_cleanup_(attach_closep) struct dk_attach *a = calloc(1, sizeof(*a));
	if (!a)
		return st->host->set_error(err, -ENOMEM, "out of memory");
	a->st = st;
	a->fd = CURL_SOCKET_BAD;
	a->curl = dk_raw_handle(st);
	if (!a->curl)
		return st->host->set_error(
		    err, -ENOMEM, "out of memory creating an HTTP handle");
	int ret = connect_raw(a, err);
	if (ret < 0)
		return ret;

	pthread_mutex_lock(&st->lock);
	memcpy(prefix, st->api_prefix, sizeof(prefix));
	pthread_mutex_unlock(&st->lock);
	snprintf(req, sizeof(req),
		 "POST %s%s HTTP/1.1\r\n"
		 "Host: docker\r\n"
		 "Connection: Upgrade\r\n"
		 "Upgrade: tcp\r\n"
		 "%s"
		 "Content-Length: %zu\r\n"
		 "\r\n%s",
		 prefix, path, body ? "Content-Type: application/json\r\n" : "",
		 body ? strlen(body) : 0, body ? body : "");
	if ((ret = send_all(a, req, strlen(req), deadline, err)) < 0 ||
	    (ret = read_answer(a, id, deadline, err)) < 0)
		return ret;
	a->stdin_closed = !with_stdin;
	a->with_stdin = with_stdin;
	*out = steal_pointer(&a);
	return 0;
}

int dk_attach_open(struct dk_state *st, const char *id, int with_stdin,
		   struct dk_attach **out, struct monkey_error *err)
{
	char path[256];
	snprintf(path, sizeof(path),
		 "/containers/%s/attach?stream=1&stdout=1&stderr=1%s", id,
		 with_stdin ? "&stdin=1" : "");
	return open_hijack(st, path, NULL, id, with_stdin, out, err);
}

int dk_attach_open_exec(struct dk_state *st, const char *exec_id,
			struct dk_attach **out, struct monkey_error *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/exec/%s/start", exec_id);
	return open_hijack(st, path, "{\"Detach\":false,\"Tty\":false}",
			   exec_id, 1, out, err);
}

int dk_attach_stale(struct dk_attach *a)
{
	struct pollfd p = {.fd = a->fd, .events = POLLIN};
	if (a->pending_len)
		return 1;
	return poll(&p, 1, 0) != 0;
}

void dk_attach_close(struct dk_attach *a)
{
	if (!a)
		return;
	if (a->curl)
		curl_easy_cleanup(a->curl);
	free(a->pending);
	free(a);
}

/* Hand the payload of data[0..len) to the sink, frame by frame.  Returns
 * DK_PUMP_STOP when the sink asked to stop, DK_PUMP_DONE when it has all
 * it needs, 0 otherwise. */
static int demux(struct dk_attach *a, struct dk_io *io,
		 const unsigned char *data, size_t len)
{
	while (len) {
		if (a->payload_left == 0) {
			size_t take = 8 - a->hdr_have;
			if (take > len)
				take = len;
			memcpy(a->hdr + a->hdr_have, data, take);
			a->hdr_have += take;
			data += take;
			len -= take;
			if (a->hdr_have < 8)
				return 0;
			a->hdr_have = 0;
			/* 0 stdin (echoed on some engines), 1 stdout, 2 stderr,
			 * 3 the engine's own error text. */
			a->stream = a->hdr[0] == 2 || a->hdr[0] == 3
					? MONKEY_STREAM_STDERR
					: MONKEY_STREAM_STDOUT;
			a->payload_left = (uint64_t)a->hdr[4] << 24 |
					  (uint64_t)a->hdr[5] << 16 |
					  (uint64_t)a->hdr[6] << 8 | a->hdr[7];
			continue;
		}
		size_t take =
		    a->payload_left < len ? (size_t)a->payload_left : len;
		int r = io->output(io->output_ctx, a->stream, data, take);
		a->payload_left -= take;
		data += take;
		len -= take;
		if (r < 0 || (r > 0 && io->sink_can_finish)) {
			/* Stopped, or done for now, maybe not for good (a
			 * launcher's ready line): what came after is kept for
			 * the next pump, so that its frames stay in step (a
			 * session's stopped command still sends its records
			 * after it). */
			if (len) {
				unsigned char *rest = malloc(len);
				if (rest)
					memcpy(rest, data, len);
				free(a->pending);
				a->pending = rest;
				a->pending_len = rest ? len : 0;
			}
			return r < 0 ? DK_PUMP_STOP : DK_PUMP_DONE;
		}
	}
	return 0;
}

/* Send what stdin data the socket takes now; after the last byte,
 * half-close so the command sees EOF, unless the stream stays open (the
 * launcher's: it watches it for monkey's end). */
static void feed_stdin(struct dk_attach *a, struct dk_io *io)
{
	while (io->stdin_sent < io->stdin_len) {
		size_t n = 0;
		CURLcode rc =
		    curl_easy_send(a->curl, io->stdin_data + io->stdin_sent,
				   io->stdin_len - io->stdin_sent, &n);
		if (rc == CURLE_AGAIN)
			return;
		if (rc != CURLE_OK) {
			/* The command exited without reading it all; its
			 * output still arrives on the read side. */
			io->stdin_sent = io->stdin_len;
			break;
		}
		io->stdin_sent += n;
	}
	if (io->keep_stdin_open)
		return;
	shutdown(a->fd, SHUT_WR);
	a->stdin_closed = 1;
}

/* Tell io->progress how long the command has run; the poll timeout that
 * wakes for the next call.  Memory in use stays unknown: the container's
 * cgroup is the launcher's to read, and the engine's stats cost a request
 * per call. */
static int progress_tick(struct dk_io *io, int timeout)
{
	if (!io->progress)
		return timeout;
	int64_t now = now_ms();
	if (!io->next_progress_ms)
		io->next_progress_ms = io->started_ms + DK_PROGRESS_MS;
	if (now >= io->next_progress_ms) {
		struct monkey_progress p = {
		    .struct_size = sizeof(p),
		    .elapsed_ms = now - io->started_ms,
		    .memory_bytes = -1,
		};
		io->progress(io->progress_ctx, &p);
		io->next_progress_ms = now + DK_PROGRESS_MS;
	}
	int64_t left = io->next_progress_ms - now;
	return timeout < 0 || left < timeout ? (int)left : timeout;
}

int dk_attach_pump(struct dk_attach *a, struct dk_io *io, int64_t until_ms,
		   struct monkey_error *err)
{
	if (a->pending_len) {
		size_t n = a->pending_len;
		a->pending_len = 0;
		int d = demux(a, io, a->pending, n);
		if (d)
			return d;
	}
	for (;;) {
		struct pollfd p[2] = {
		    {.fd = a->fd, .events = POLLIN},
		    {.fd = io->cancel_fd, .events = POLLIN},
		};
		int feeding =
		    !a->stdin_closed && !io->hold_stdin &&
		    (!io->keep_stdin_open || io->stdin_sent < io->stdin_len);
		if (feeding)
			p[0].events |= POLLOUT;
		int nfds = io->cancel_fd >= 0 ? 2 : 1;
		int timeout = -1;
		if (until_ms > 0) {
			int64_t left = until_ms - now_ms();
			if (left <= 0)
				return DK_PUMP_DEADLINE;
			timeout = left > 60000 ? 60000 : (int)left;
		}
		timeout = progress_tick(io, timeout);
		int n = poll(p, (nfds_t)nfds, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return a->st->host->set_error(
			    err, -errno, "poll on the attach stream: %s",
			    strerror(errno));
		}
		if (n == 0)
			continue; /* the deadline check above decides */
		if (nfds == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			return DK_PUMP_CANCEL;
		if (p[0].revents & POLLOUT && feeding)
			feed_stdin(a, io);
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		size_t got = 0;
		CURLcode rc =
		    curl_easy_recv(a->curl, a->buf, sizeof(a->buf), &got);
		if (rc == CURLE_AGAIN)
			continue;
		/* A command that exits without reading all its stdin leaves
		 * unread data on the engine's side, which then resets rather
		 * than closes the connection (podman): that is the end, and
		 * inspect says how the command ended (or that the engine is
		 * gone). */
		if (rc != CURLE_OK && a->with_stdin)
			return DK_PUMP_EOF;
		if (rc != CURLE_OK)
			return a->st->host->set_error(
			    err, -ECONNRESET,
			    "the %s broke the output stream: %s",
			    a->st->engine_name, curl_easy_strerror(rc));
		if (got == 0)
			return DK_PUMP_EOF;
		int d = demux(a, io, a->buf, got);
		if (d)
			return d;
	}
}
