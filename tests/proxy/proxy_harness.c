/* Fixture of the egress proxy tests: upstream servers on 127.0.0.1 served
 * by threads, clients, and the checks that nothing is left listening. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy_harness.h"

#define MAX_CONN_THREADS 256

struct ph_server {
	enum ph_mode mode;
	int fd;
	uint16_t port;
	int stop[2];
	pthread_t acceptor;
	pthread_mutex_t lock;
	pthread_t threads[MAX_CONN_THREADS];
	unsigned n_threads, accepted;
	char *last;
	uint64_t source_bytes;
};

struct conn_arg {
	struct ph_server *s;
	int fd;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd or the server's stop; 1 ready, 0 stop or timeout. */
static int wait_in(struct ph_server *s, int fd, int timeout_ms)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
			      {.fd = s->stop[0], .events = POLLIN}};
	int n = poll(p, 2, timeout_ms);
	return n > 0 && !p[1].revents;
}

static size_t header_end(const char *b, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (memcmp(b + i - 3, "\r\n\r\n", 4) == 0)
			return i + 1;
	return 0;
}

/* The request header and its Content-Length body, read whole. */
static char *read_request(struct ph_server *s, int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0, end = 0, want = 0;
	char *b = malloc(cap + 1);
	while (n < cap && wait_in(s, fd, 10000)) {
		ssize_t r = recv(fd, b + n, cap - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (!end && (end = header_end(b, n))) {
			b[end - 1] = '\0';
			const char *cl = strcasestr(b, "\r\nContent-Length:");
			want = end + (cl ? strtoul(cl + 17, NULL, 10) : 0);
			b[end - 1] = '\n';
		}
		if (end && n >= want)
			break;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

static void serve_http(struct ph_server *s, int fd)
{
	size_t n;
	char *req = read_request(s, fd, &n);
	pthread_mutex_lock(&s->lock);
	free(s->last);
	s->last = req;
	pthread_mutex_unlock(&s->lock);
	char resp[256];
	int len = snprintf(resp, sizeof(resp),
			   "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
			   "Connection: close\r\n\r\n%s",
			   strlen(PH_BODY), PH_BODY);
	ph_send_all(fd, resp, (size_t)len);
}

static void serve_echo(struct ph_server *s, int fd)
{
	char buf[65536];
	while (wait_in(s, fd, 60000)) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0 || ph_send_all(fd, buf, (size_t)r) < 0)
			break;
	}
}

static void serve_source(struct ph_server *s, int fd)
{
	static char block[65536];
	size_t n;
	free(read_request(s, fd, &n));
	uint64_t left = s->source_bytes;
	char head[128];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n\r\n",
			  (unsigned long long)left);
	if (ph_send_all(fd, head, (size_t)hl) < 0)
		return;
	while (left) {
		size_t k = left < sizeof(block) ? (size_t)left : sizeof(block);
		if (ph_send_all(fd, block, k) < 0)
			return;
		left -= k;
	}
}

static void *conn_main(void *arg)
{
	struct conn_arg *a = arg;
	if (a->s->mode == PH_HTTP)
		serve_http(a->s, a->fd);
	else if (a->s->mode == PH_ECHO)
		serve_echo(a->s, a->fd);
	else
		serve_source(a->s, a->fd);
	close(a->fd);
	free(a);
	return NULL;
}

static void *acceptor_main(void *arg)
{
	struct ph_server *s = arg;
	while (wait_in(s, s->fd, -1)) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct conn_arg *a = malloc(sizeof(*a));
		a->s = s;
		a->fd = fd;
		pthread_mutex_lock(&s->lock);
		s->accepted++;
		if (s->n_threads == MAX_CONN_THREADS ||
		    pthread_create(&s->threads[s->n_threads], NULL, conn_main,
				   a)) {
			close(fd);
			free(a);
		} else {
			s->n_threads++;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

struct ph_server *ph_server_start(enum ph_mode mode)
{
	struct ph_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	s->mode = mode;
	s->source_bytes = 1 << 20;
	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 256), 0);
	getsockname(s->fd, (struct sockaddr *)&sa, &sl);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&s->acceptor, NULL, acceptor_main, s),
			 0);
	return s;
}

uint16_t ph_server_port(const struct ph_server *s) { return s->port; }

unsigned ph_server_accepted(struct ph_server *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->accepted;
	pthread_mutex_unlock(&s->lock);
	return n;
}

char *ph_server_last_request(struct ph_server *s)
{
	pthread_mutex_lock(&s->lock);
	char *r = strdup(s->last ? s->last : "");
	pthread_mutex_unlock(&s->lock);
	return r;
}

void ph_server_set_source(struct ph_server *s, uint64_t bytes)
{
	s->source_bytes = bytes;
}

void ph_server_stop(struct ph_server *s)
{
	if (!s)
		return;
	close(s->stop[1]);
	pthread_join(s->acceptor, NULL);
	for (unsigned i = 0; i < s->n_threads; i++)
		pthread_join(s->threads[i], NULL);
	close(s->stop[0]);
	close(s->fd);
	free(s->last);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int ph_connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int ph_connect_tcp(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int ph_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

size_t ph_read_all(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = 0;
	int64_t end = now_ms() + timeout_ms;
	while (n < cap) {
		int64_t left = end - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		/* read, not recv: pipes too. */
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

size_t ph_read_header(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = 0;
	int64_t end = now_ms() + timeout_ms;
	/* One byte at a time: what follows the header stays unread. */
	while (n < cap) {
		int64_t left = end - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
		if (recv(fd, buf + n, 1, 0) != 1)
			return 0;
		n++;
		buf[n] = '\0';
		if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
			return n;
	}
	return 0;
}

bool ph_closed_within(int fd, int timeout_ms)
{
	char b[4096];
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = end - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		/* Polled once at least: a timeout of 0 asks "already?". */
		if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0)
			return false;
		ssize_t r = recv(fd, b, sizeof(b), 0);
		if (r <= 0)
			return true;
	}
}

char *ph_exchange(const char *sock, const char *text)
{
	char *buf = malloc(65537);
	int fd = ph_connect_unix(sock);
	assert_true(fd >= 0);
	assert_int_equal(ph_send_all(fd, text, strlen(text)), 0);
	ph_read_all(fd, buf, 65536, 10000);
	close(fd);
	return buf;
}

int ph_status(const char *answer)
{
	int status;
	if (sscanf(answer, "HTTP/1.%*1d %3d", &status) != 1)
		return -1;
	return status;
}

struct monkey_proxy *ph_proxy(const char *const *allow, size_t n_allow,
			      const char *const *resolve, size_t n_resolve,
			      void (*tweak)(struct monkey_proxy_options *))
{
	struct monkey_proxy_options o;
	struct monkey_proxy *p = NULL;
	struct monkey_error err = {0};
	monkey_proxy_options_init(&o);
	o.allow = allow;
	o.n_allow = n_allow;
	o.resolve = resolve;
	o.n_resolve = n_resolve;
	if (tweak)
		tweak(&o);
	int rc = monkey_proxy_open(&o, &p, &err);
	if (rc < 0)
		fail_msg("monkey_proxy_open: %s", err.message);
	return p;
}

bool ph_unix_listed(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[1024];
	bool found = false;
	size_t n = strlen(path);
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		size_t l = strlen(line);
		found = l >= n + 1 && line[l - n - 1] == ' ' &&
			strcmp(line + l - n, path) == 0;
	}
	fclose(f);
	return found;
}

int ph_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

int ph_threads_named(const char *prefix)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], comm[64] = "";
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		FILE *f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f) &&
		    strncmp(comm, prefix, strlen(prefix)) == 0)
			n++;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

void ph_drain(struct monkey_proxy *p, struct monkey_proxy_report *r)
{
	struct monkey_error err = {0};
	assert_int_equal(monkey_proxy_wait_idle(p, 10000), 0);
	assert_int_equal(monkey_proxy_drain(p, r, &err), 0);
}
