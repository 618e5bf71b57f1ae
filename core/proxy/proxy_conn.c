/* One connection to the egress proxy, from its request header to its
 * record: read and parse the header, apply the rules, dial, answer, and
 * hand over to the relay. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy_int.h"
#include "util.h"

void *proxy_slot_main(void *arg)
{
	struct proxy_slot *slot = arg;
	int fd = slot->fd;
	pthread_setname_np(pthread_self(), "mk-proxy-conn");
	while (fd >= 0) {
		proxy_conn_serve(slot->p, slot, fd);
		fd = proxy_next_pending(slot->p, slot);
	}
	return NULL;
}

static int timed_out(struct proxy_conn *c, int64_t idle_left)
{
	const struct monkey_proxy_options *o = &c->p->o;
	if (idle_left <= 0)
		snprintf(c->rec.reason, sizeof(c->rec.reason),
			 "idle for %lld ms", (long long)o->idle_timeout_ms);
	else
		snprintf(c->rec.reason, sizeof(c->rec.reason),
			 "open for %lld ms, the limit",
			 (long long)o->total_timeout_ms);
	return -ETIMEDOUT;
}

int proxy_wait2(struct proxy_conn *c, int fd1, short ev1, int fd2, short ev2)
{
	const struct monkey_proxy_options *o = &c->p->o;
	for (;;) {
		int64_t now = monkey_now_ms();
		int64_t idle_left = c->last_ms + o->idle_timeout_ms - now;
		int64_t total_left =
		    o->total_timeout_ms
			? c->start_ms + o->total_timeout_ms - now
			: INT64_MAX;
		int64_t left = idle_left < total_left ? idle_left : total_left;
		if (left <= 0)
			return timed_out(c, idle_left);
		struct pollfd fds[3] = {
		    {.fd = c->p->stop_pipe[0], .events = POLLIN},
		    {.fd = fd1, .events = ev1},
		    {.fd = fd2, .events = ev2}};
		int n = poll(fds, 3, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && fds[0].revents) {
			snprintf(c->rec.reason, sizeof(c->rec.reason),
				 "proxy closed");
			return -ECANCELED;
		}
		if (n > 0)
			return 0;
	}
}

int proxy_wait(struct proxy_conn *c, int fd, short events)
{
	return proxy_wait2(c, fd, events, -1, 0);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "Connection established";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

/* All of len bytes to fd, waiting as the timeouts allow.  0 or < 0. */
static int send_all(struct proxy_conn *c, int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			c->last_ms = monkey_now_ms();
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -errno;
		int rc = proxy_wait(c, fd, POLLOUT);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void proxy_answer(struct proxy_conn *c, int status, const char *body)
{
	char resp[1024];
	int n;
	c->rec.status = status;
	if (status == 200)
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 200 Connection established\r\n\r\n");
	else
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 %d %s\r\n"
			     "Content-Type: text/plain; charset=utf-8\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n"
			     "\r\nmonkey proxy: %s\n",
			     status, status_text(status),
			     strlen(body) + strlen("monkey proxy: \n"), body);
	if (n >= (int)sizeof(resp))
		n = (int)sizeof(resp) - 1;
	send_all(c, c->cfd, resp, (size_t)n);
}

static void refuse(struct proxy_conn *c, int decision, int status,
		   const char *why)
{
	c->rec.decision = decision;
	if (why != c->rec.reason)
		snprintf(c->rec.reason, sizeof(c->rec.reason), "%s", why);
	proxy_answer(c, status, c->rec.reason);
}

/* Read until the header is complete.  1 when it is; 0 when the
 * connection is over (answered or gone, the record says which). */
static int read_request(struct proxy_conn *c)
{
	const struct monkey_proxy_options *o = &c->p->o;
	for (;;) {
		int r = proxy_request_parse(c->up, c->up_len, o->max_header,
					    &c->req);
		if (r > 0)
			return 1;
		if (r < 0) {
			refuse(c, MONKEY_PROXY_BAD_REQUEST, c->req.status,
			       c->req.error);
			return 0;
		}
		ssize_t n = recv(c->cfd, c->up + c->up_len,
				 o->buffer_size - c->up_len, MSG_DONTWAIT);
		if (n > 0) {
			c->up_len += (size_t)n;
			c->last_ms = monkey_now_ms();
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR)) {
			int rc = proxy_wait(c, c->cfd, POLLIN);
			if (rc == -ETIMEDOUT) {
				refuse(c, MONKEY_PROXY_BAD_REQUEST, 408,
				       "no complete request header came in "
				       "time");
				return 0;
			}
			if (rc < 0)
				return 0;
			continue;
		}
		c->rec.decision = MONKEY_PROXY_BAD_REQUEST;
		snprintf(c->rec.reason, sizeof(c->rec.reason),
			 "the client left before a complete request header");
		return 0;
	}
}

/* host:port as an option value: [v6] in brackets, the port unless it is
 * one of the defaults. */
static void option_value(const struct proxy_request *req, char *buf, size_t len)
{
	bool v6 = req->host.is_addr && !proxy_addr_is_v4(&req->host.addr);
	char port[8] = "";
	if (req->port != 80 && req->port != 443)
		snprintf(port, sizeof(port), ":%u", (unsigned)req->port);
	snprintf(buf, len, "%s%s%s%s", v6 ? "[" : "", req->host.name,
		 v6 ? "]" : "", port);
}

static void deny_unlisted(struct proxy_conn *c)
{
	char opt[PROXY_HOST_MAX + 16];
	option_value(&c->req, opt, sizeof(opt));
	if (c->req.host.is_addr)
		snprintf(c->rec.reason, sizeof(c->rec.reason),
			 "%s port %u: an IP address needs an address rule; "
			 "allow it with --allow-domain %s",
			 c->req.host.name, (unsigned)c->req.port, opt);
	else
		snprintf(c->rec.reason, sizeof(c->rec.reason),
			 "%s port %u is not in the allowlist; allow it with "
			 "--allow-domain %s",
			 c->req.host.name, (unsigned)c->req.port, opt);
	refuse(c, MONKEY_PROXY_DENIED, 403, c->rec.reason);
}

/* The plain request's header, rewritten, goes first; the body follows
 * from the client's buffer, bounded by its Content-Length. */
static int forward_header(struct proxy_conn *c)
{
	ssize_t n =
	    proxy_request_forward(c->up, &c->req, c->down, c->p->o.buffer_size);
	if (n < 0) {
		refuse(c, MONKEY_PROXY_BAD_REQUEST, 431,
		       "the request header is too large");
		return -1;
	}
	int rc = send_all(c, c->ufd, c->down, (size_t)n);
	if (rc < 0) {
		c->rec.decision = MONKEY_PROXY_FAILED;
		if (rc != -ETIMEDOUT && rc != -ECANCELED)
			snprintf(c->rec.reason, sizeof(c->rec.reason),
				 "sending the request upstream: %s",
				 strerror(-rc));
		return -1;
	}
	c->rec.bytes_up += (uint64_t)n;
	return 0;
}

static void handle(struct proxy_conn *c)
{
	struct monkey_proxy_record *rec = &c->rec;
	snprintf(rec->method, sizeof(rec->method), "%s", c->req.method);
	snprintf(rec->host, sizeof(rec->host), "%s", c->req.host.name);
	rec->port = c->req.port;
	if (!proxy_rules_allow(&c->p->rules, &c->req.host, c->req.port)) {
		deny_unlisted(c);
		return;
	}
	int status = proxy_dial(c);
	if (status == -ECANCELED) {
		rec->decision = MONKEY_PROXY_FAILED;
		snprintf(rec->reason, sizeof(rec->reason), "proxy closed");
		return;
	}
	if (status) {
		refuse(c,
		       status == 403 ? MONKEY_PROXY_DENIED
				     : MONKEY_PROXY_FAILED,
		       status, rec->reason);
		return;
	}
	rec->decision = MONKEY_PROXY_ALLOWED;
	/* What came after the header (a body's start, a TLS hello sent
	 * early) is the first thing relayed upstream. */
	c->up_off = c->req.header_len;
	if (c->req.kind == PROXY_REQ_CONNECT) {
		proxy_answer(c, 200, "");
	} else {
		rec->status = 0;
		if (forward_header(c) < 0)
			return;
	}
	proxy_relay(c);
}

void proxy_conn_serve(struct monkey_proxy *p, struct proxy_slot *slot, int fd)
{
	struct proxy_conn c = {
	    .p = p, .cfd = fd, .ufd = -1, .up = slot->up, .down = slot->down};
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c.start_ms = c.last_ms = monkey_now_ms();
	/* Until a complete request says otherwise. */
	c.rec.decision = MONKEY_PROXY_BAD_REQUEST;
	c.rec.start_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (read_request(&c))
		handle(&c);
	if (c.ufd >= 0)
		close(c.ufd);
	close(c.cfd);
	c.rec.duration_ms = monkey_now_ms() - c.start_ms;
	proxy_keep_record(p, &c.rec);
}
