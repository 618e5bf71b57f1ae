/* Dialing for the egress proxy: the host's addresses (a pin, the IP literal
 * itself, or the resolver), the check of each address after resolution,
 * and a connect bounded by the connect timeout and the proxy's close. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_int.h"
#include "util.h"

#define MAX_ADDRS 16

struct addrs {
	struct proxy_addr a[MAX_ADDRS];
	size_t n;
	const struct proxy_pin *pin;
};

static void add_addr(struct addrs *as, const struct proxy_addr *a)
{
	for (size_t i = 0; i < as->n; i++)
		if (proxy_addr_equal(&as->a[i], a))
			return;
	if (as->n < MAX_ADDRS)
		as->a[as->n++] = *a;
}

/* 0, or 502 with the reason set. */
static int lookup(struct proxy_conn *c, struct addrs *as)
{
	const struct proxy_host *h = &c->req.host;
	if (h->is_addr) {
		add_addr(as, &h->addr);
		return 0;
	}
	as->pin = proxy_rules_pin(&c->p->rules, h->name, c->req.port);
	if (as->pin) {
		for (size_t i = 0; i < as->pin->n; i++)
			add_addr(as, &as->pin->addr[i]);
		return 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(h->name, NULL, &hints, &res);
	if (rc) {
		snprintf(c->rec.reason, sizeof(c->rec.reason),
			 "cannot resolve %s: %s", h->name,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return 502;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct proxy_addr a;
		if (proxy_addr_from_sockaddr(ai->ai_addr, &a) == 0)
			add_addr(as, &a);
	}
	freeaddrinfo(res);
	if (!as->n) {
		snprintf(c->rec.reason, sizeof(c->rec.reason),
			 "%s has no IPv4 or IPv6 address", h->name);
		return 502;
	}
	return 0;
}

/* A non-blocking connect, waited for.  0 with c->ufd, or -errno. */
static int connect_to(struct proxy_conn *c, const struct proxy_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = proxy_addr_to_sockaddr(a, c->req.port, &ss);
	int fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		c->ufd = fd;
		return 0;
	}
	if (errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	int64_t deadline = monkey_now_ms() + c->p->o.connect_timeout_ms;
	for (;;) {
		int64_t left = deadline - monkey_now_ms();
		struct pollfd fds[2] = {
		    {.fd = fd, .events = POLLOUT},
		    {.fd = c->p->stop_pipe[0], .events = POLLIN}};
		int n = left > 0 ? poll(fds, 2, (int)left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && fds[1].revents) {
			close(fd);
			return -ECANCELED;
		}
		if (n <= 0) {
			close(fd);
			return -ETIMEDOUT;
		}
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			close(fd);
			return -err;
		}
		c->ufd = fd;
		return 0;
	}
}

static void refusal(struct proxy_conn *c, const struct proxy_addr *a,
		    const char *what)
{
	char text[PROXY_ADDR_TEXT], opt[PROXY_ADDR_TEXT + 2];
	const char *name = c->req.host.name;
	proxy_addr_format(a, text, sizeof(text));
	snprintf(opt, sizeof(opt), proxy_addr_is_v4(a) ? "%s" : "[%s]", text);
	snprintf(c->rec.address, sizeof(c->rec.address), "%s", text);
	snprintf(c->rec.reason, sizeof(c->rec.reason),
		 "%s resolves to %s address %s; name that address with "
		 "--proxy-resolve %s:%s or --allow-domain %s",
		 name, what, text, name, opt, opt);
}

/* 0 with c->ufd connected; 403 or 502 with the reason set; -ECANCELED.
 * Special addresses that are not named are skipped; when every address
 * is, the first one's refusal is the answer. */
int proxy_dial(struct proxy_conn *c)
{
	struct addrs as = {.n = 0};
	int rc = lookup(c, &as);
	if (rc)
		return rc;
	const struct proxy_addr *refused = NULL;
	const char *refused_what = NULL;
	size_t tried = 0;
	int last = 0;
	for (size_t i = 0; i < as.n; i++) {
		const char *what = proxy_addr_special(&as.a[i]);
		if (what &&
		    !proxy_rules_names(&c->p->rules, as.pin, &as.a[i])) {
			if (!refused) {
				refused = &as.a[i];
				refused_what = what;
			}
			continue;
		}
		tried++;
		proxy_addr_format(&as.a[i], c->rec.address,
				  sizeof(c->rec.address));
		last = connect_to(c, &as.a[i]);
		if (last == 0 || last == -ECANCELED)
			return last;
	}
	if (!tried) {
		refusal(c, refused, refused_what);
		return 403;
	}
	snprintf(c->rec.reason, sizeof(c->rec.reason),
		 "cannot connect to %s port %u (%s): %s", c->req.host.name,
		 (unsigned)c->req.port, c->rec.address, strerror(-last));
	return 502;
}
