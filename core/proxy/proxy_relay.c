/* The egress proxy's relay: bytes both ways between the sandbox's
 * connection and the upstream, through one fixed buffer per direction,
 * with half-closes passed on and the idle and total timeouts enforced.
 * Nothing here grows with the amount of data relayed. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy_int.h"
#include "util.h"

struct dir {
	int from, to;
	char *buf;
	size_t *off, *len;
	uint64_t *count;
	uint64_t budget; /* bytes still to read from `from`; UINT64_MAX: all */
	bool eof;	 /* nothing more comes from `from` */
	bool pass_eof;	 /* then shut `to` for writing */
	bool shut;
	bool sniff; /* the first bytes are a response's status line */
	const char *from_name, *to_name; /* for messages */
};

/* The status of a plain request's answer, from its first bytes. */
static void note_status(struct proxy_conn *c, const char *b, size_t n)
{
	if (n >= 12 && memcmp(b, "HTTP/1.", 7) == 0 && b[8] == ' ' &&
	    b[9] >= '1' && b[9] <= '5' && b[10] >= '0' && b[10] <= '9' &&
	    b[11] >= '0' && b[11] <= '9')
		c->rec.status =
		    (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
}

/* Move what can move without waiting.  1 on progress, 0 on none, -errno
 * when either socket failed (*who then names its side). */
static int pump(struct proxy_conn *c, struct dir *d, const char **who)
{
	int progress = 0;
	for (;;) {
		if (*d->len > *d->off) {
			ssize_t n =
			    send(d->to, d->buf + *d->off, *d->len - *d->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) {
				*who = d->to_name;
				return -errno;
			}
			*d->off += (size_t)n;
			*d->count += (uint64_t)n;
			progress = 1;
			if (*d->off < *d->len)
				continue;
			*d->off = *d->len = 0;
		}
		if (d->eof || !d->budget || *d->len)
			break;
		size_t want = c->p->o.buffer_size;
		if (d->budget < want)
			want = (size_t)d->budget;
		ssize_t n = recv(d->from, d->buf, want, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			*who = d->from_name;
			return -errno;
		}
		progress = 1;
		if (n == 0) {
			d->eof = true;
			break;
		}
		*d->len = (size_t)n;
		if (d->sniff) {
			d->sniff = false;
			note_status(c, d->buf, (size_t)n);
		}
		if (d->budget != UINT64_MAX)
			d->budget -= (uint64_t)n;
	}
	if (!d->budget)
		d->eof = true;
	if (d->eof && *d->len == 0 && d->pass_eof && !d->shut) {
		shutdown(d->to, SHUT_WR);
		d->shut = true;
	}
	return progress;
}

static bool drained(const struct dir *d) { return d->eof && *d->len == 0; }

static short want_events(const struct dir *d, int fd)
{
	short ev = 0;
	if (*d->len > *d->off && d->to == fd)
		ev |= POLLOUT;
	if (*d->len == 0 && !d->eof && d->from == fd)
		ev |= POLLIN;
	return ev;
}

/* Wait for either socket, as the directions need. */
static int wait_both(struct proxy_conn *c, struct dir *up, struct dir *down)
{
	short ce = want_events(up, c->cfd) | want_events(down, c->cfd);
	short ue = want_events(up, c->ufd) | want_events(down, c->ufd);
	if (!ce && !ue)
		return -EPIPE; /* nothing can move any more */
	return proxy_wait2(c, ce ? c->cfd : -1, ce, ue ? c->ufd : -1, ue);
}

void proxy_relay(struct proxy_conn *c)
{
	bool plain = c->req.kind == PROXY_REQ_HTTP;
	struct dir up = {.from = c->cfd,
			 .to = c->ufd,
			 .buf = c->up,
			 .off = &c->up_off,
			 .len = &c->up_len,
			 .count = &c->rec.bytes_up,
			 .budget = UINT64_MAX,
			 .pass_eof = !plain,
			 .from_name = "client",
			 .to_name = "upstream"};
	struct dir down = {.from = c->ufd,
			   .to = c->cfd,
			   .buf = c->down,
			   .off = &c->down_off,
			   .len = &c->down_len,
			   .count = &c->rec.bytes_down,
			   .budget = UINT64_MAX,
			   .pass_eof = true,
			   .sniff = plain,
			   .from_name = "upstream",
			   .to_name = "client"};
	if (plain) {
		/* The body's start may already be in the buffer. */
		size_t have = c->up_len - c->up_off;
		uint64_t body = c->req.content_length;
		if (have > body)
			c->up_len = c->up_off + (size_t)body;
		up.budget = body - (have < body ? have : body);
	}
	c->down_off = c->down_len = 0;
	if (c->up_off == c->up_len)
		c->up_off = c->up_len = 0;
	for (;;) {
		const char *who = "";
		int a = pump(c, &up, &who);
		int b = a < 0 ? 0 : pump(c, &down, &who);
		if (a < 0 || b < 0) {
			snprintf(c->rec.reason, sizeof(c->rec.reason),
				 "%s connection: %s", who,
				 strerror(-(a < 0 ? a : b)));
			return;
		}
		if (a || b)
			c->last_ms = monkey_now_ms();
		if (drained(&down) && (plain || drained(&up)))
			return;
		if (wait_both(c, &up, &down) < 0)
			return;
	}
}
