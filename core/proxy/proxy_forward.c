/* monkey-proxy-forward: runs inside a sandbox whose network namespace has
 * no route out, listens on 127.0.0.1:PORT there and relays each connection
 * to monkey's egress proxy, whose unix socket is bind-mounted into the
 * sandbox.  Commands reach it through HTTP_PROXY=http://127.0.0.1:PORT.
 *
 *   monkey-proxy-forward [--port PORT] [--ready-fd N] [--lifeline-fd N]
 *                        [--die-with-parent] [--max-connections N] SOCKET
 *
 * --port        the port on 127.0.0.1 (default 3128; 0: any free one)
 * --ready-fd    once listening, write "ready PORT\n" to fd N and close it,
 *               so that whoever started it runs the command only then
 * --lifeline-fd exit when fd N reads end of file (the starter keeps the
 *               other end of a pipe open for as long as the sandbox runs)
 * --die-with-parent  exit (SIGKILL) when the parent process dies
 * --max-connections  relayed at once (default 64); more wait in the
 *               kernel's backlog
 * Exits 0 at the lifeline's end or SIGTERM; 2 on a usage error; 1 when it
 * cannot listen.  Messages go to stderr, prefixed with its name.
 *
 * Built static (the sandbox's image may hold no C library) on its own
 * flags, without libmonkey.  It only moves bytes: the proxy decides. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)
#define MAX_CONNS 1024

struct half {
	char *buf;
	size_t off, len;
	bool eof, shut;
};

struct conn {
	int tcp, unix_fd;
	struct half up;	  /* tcp -> unix */
	struct half down; /* unix -> tcp */
};

static struct conn *conns;
static int n_conns, max_conns = 64;

static void die(int code, const char *fmt, const char *arg)
{
	fprintf(stderr, "monkey-proxy-forward: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(code);
}

static int parse_int(const char *s, int min, int max, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < min || v > max)
		die(2, "%s: not a valid number", what);
	return (int)v;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int listen_on(int port, int *bound)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(1, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* In a rootless session every command and job has a forwarder of
	 * its own on the same port of the session's network namespace:
	 * each one serves while its command runs. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 128) < 0)
		die(1, "cannot listen on 127.0.0.1: %s", strerror(errno));
	socklen_t len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*bound = ntohs(sa.sin_port);
	set_nonblock(fd);
	return fd;
}

static int dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	set_nonblock(fd);
	return fd;
}

static void drop(int i)
{
	close(conns[i].tcp);
	close(conns[i].unix_fd);
	free(conns[i].up.buf);
	free(conns[i].down.buf);
	conns[i] = conns[--n_conns];
}

static void take(int lfd, const char *path)
{
	while (n_conns < max_conns) {
		int t = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (t < 0)
			return;
		int one = 1;
		setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		int u = dial(path);
		struct conn c = {.tcp = t, .unix_fd = u};
		c.up.buf = malloc(BUF_SIZE);
		c.down.buf = malloc(BUF_SIZE);
		if (u < 0 || !c.up.buf || !c.down.buf) {
			/* The proxy is gone: the client sees the connection
			 * close. */
			close(t);
			if (u >= 0)
				close(u);
			free(c.up.buf);
			free(c.down.buf);
			continue;
		}
		conns[n_conns++] = c;
	}
}

/* Move what moves without waiting from `from` to `to`; -1 on an error. */
static int pump(struct half *h, int from, int to)
{
	for (;;) {
		if (h->len > h->off) {
			ssize_t n = send(to, h->buf + h->off, h->len - h->off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0
									 : -1;
			h->off += (size_t)n;
			if (h->off < h->len)
				continue;
			h->off = h->len = 0;
		}
		if (h->eof)
			break;
		ssize_t n = recv(from, h->buf, BUF_SIZE, MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0) {
			h->eof = true;
			break;
		}
		h->len = (size_t)n;
	}
	if (h->eof && !h->shut) {
		shutdown(to, SHUT_WR);
		h->shut = true;
	}
	return 0;
}

static short events_for(const struct conn *c, bool tcp_side)
{
	const struct half *in = tcp_side ? &c->up : &c->down;
	const struct half *out = tcp_side ? &c->down : &c->up;
	short ev = 0;
	if (!in->eof && in->len == 0)
		ev |= POLLIN;
	if (out->len > out->off)
		ev |= POLLOUT;
	return ev;
}

/* One pass over every connection; drops the finished ones. */
static void serve_all(void)
{
	for (int i = 0; i < n_conns;) {
		struct conn *c = &conns[i];
		if (pump(&c->up, c->tcp, c->unix_fd) < 0 ||
		    pump(&c->down, c->unix_fd, c->tcp) < 0 ||
		    (c->up.shut && c->down.shut)) {
			drop(i);
			continue;
		}
		i++;
	}
}

static void signal_ready(int fd, int port)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "ready %d\n", port);
	ssize_t w = write(fd, line, (size_t)n);
	(void)w;
	close(fd);
}

static void loop(int lfd, int lifeline, const char *path)
{
	struct pollfd *fds = calloc((size_t)(2 + 2 * max_conns), sizeof(*fds));
	if (!fds)
		die(1, "%s", "out of memory");
	for (;;) {
		int n = 0;
		fds[n++] = (struct pollfd){.fd = n_conns < max_conns ? lfd : -1,
					   .events = POLLIN};
		fds[n++] = (struct pollfd){.fd = lifeline, .events = POLLIN};
		/* A socket nothing is wanted of is not watched: poll would
		 * report its hang-up again and again. */
		for (int i = 0; i < n_conns; i++) {
			short te = events_for(&conns[i], true);
			short ue = events_for(&conns[i], false);
			fds[n++] = (struct pollfd){.fd = te ? conns[i].tcp : -1,
						   .events = te};
			fds[n++] = (struct pollfd){
			    .fd = ue ? conns[i].unix_fd : -1, .events = ue};
		}
		if (poll(fds, (nfds_t)n, -1) < 0 && errno != EINTR)
			die(1, "poll: %s", strerror(errno));
		if (fds[1].revents) {
			char b;
			if (read(lifeline, &b, 1) <= 0)
				exit(0);
		}
		if (fds[0].revents)
			take(lfd, path);
		serve_all();
	}
}

int main(int argc, char **argv)
{
	int port = 3128, ready = -1, lifeline = -1, i;
	bool die_with_parent = false;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--die-with-parent") == 0) {
			die_with_parent = true;
			continue;
		}
		if (!v)
			die(2, "%s needs a value", a);
		i++;
		if (strcmp(a, "--port") == 0)
			port = parse_int(v, 0, 65535, a);
		else if (strcmp(a, "--ready-fd") == 0)
			ready = parse_int(v, 0, 1 << 20, a);
		else if (strcmp(a, "--lifeline-fd") == 0)
			lifeline = parse_int(v, 0, 1 << 20, a);
		else if (strcmp(a, "--max-connections") == 0)
			max_conns = parse_int(v, 1, MAX_CONNS, a);
		else
			die(2, "unknown option %s", a);
	}
	if (i != argc - 1)
		die(2, "%s",
		    "usage: monkey-proxy-forward [--port PORT] "
		    "[--ready-fd N] [--lifeline-fd N] "
		    "[--die-with-parent] [--max-connections N] SOCKET");
	if (strlen(argv[i]) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		die(2, "socket path too long: %s", argv[i]);
	pid_t parent = getppid();
	if (die_with_parent &&
	    (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
		exit(0);
	signal(SIGPIPE, SIG_IGN);
	conns = calloc((size_t)max_conns, sizeof(*conns));
	if (!conns)
		die(1, "%s", "out of memory");
	int bound, lfd = listen_on(port, &bound);
	if (ready >= 0)
		signal_ready(ready, bound);
	loop(lfd, lifeline, argv[i]);
	return 0;
}
