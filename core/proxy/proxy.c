/* The egress proxy's life: its private directory and socket, the acceptor
 * thread that hands connections to a bounded set of serving threads (or a
 * bounded queue, or 503), the records they leave, and a close that leaves
 * nothing behind. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "proxy_int.h"
#include "util.h"

#define SLOT_STACK (512 * 1024)

MONKEY_EXPORT void monkey_proxy_options_init(struct monkey_proxy_options *o)
{
	memset(o, 0, sizeof(*o));
	o->owner_uid = o->owner_gid = -1;
	o->max_connections = MONKEY_PROXY_DEFAULT_MAX_CONNECTIONS;
	o->max_pending = MONKEY_PROXY_DEFAULT_MAX_PENDING;
	o->max_header = MONKEY_PROXY_DEFAULT_MAX_HEADER;
	o->buffer_size = MONKEY_PROXY_DEFAULT_BUFFER;
	o->idle_timeout_ms = MONKEY_PROXY_DEFAULT_IDLE_MS;
	o->total_timeout_ms = MONKEY_PROXY_DEFAULT_TOTAL_MS;
	o->connect_timeout_ms = MONKEY_PROXY_DEFAULT_CONNECT_MS;
	o->queue_timeout_ms = MONKEY_PROXY_DEFAULT_QUEUE_MS;
	o->max_records = MONKEY_PROXY_DEFAULT_MAX_RECORDS;
}

/* ---- records ---- */

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void note_denied(struct monkey_proxy *p,
			const struct monkey_proxy_record *rec)
{
	char key[sizeof(p->denied[0])];
	bool v6 = strchr(rec->host, ':') != NULL;
	snprintf(key, sizeof(key), "%s%s%s:%u", v6 ? "[" : "", rec->host,
		 v6 ? "]" : "", (unsigned)rec->port);
	for (size_t i = 0; i < p->n_denied; i++)
		if (strcmp(p->denied[i], key) == 0)
			return;
	if (p->n_denied < MONKEY_PROXY_MAX_DENIED)
		memcpy(p->denied[p->n_denied++], key, sizeof(key));
}

void proxy_keep_record(struct monkey_proxy *p,
		       const struct monkey_proxy_record *rec)
{
	/* Outside the lock: the callback may drain. */
	if (p->o.on_record)
		p->o.on_record(p->o.record_ctx, rec);
	pthread_mutex_lock(&p->lock);
	if (rec->decision == MONKEY_PROXY_DENIED && rec->host[0])
		note_denied(p, rec);
	if (p->o.max_records) {
		size_t cap = p->o.max_records;
		if (p->n_ring == cap) {
			p->ring_head = (p->ring_head + 1) % cap;
			p->n_ring--;
			p->dropped++;
		}
		p->ring[(p->ring_head + p->n_ring++) % cap] = *rec;
	} else {
		p->dropped++;
	}
	pthread_mutex_unlock(&p->lock);
}

MONKEY_EXPORT int monkey_proxy_drain(struct monkey_proxy *p,
				     struct monkey_proxy_report *out,
				     struct monkey_error *err)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->lock);
	size_t n = p->n_ring, nd = p->n_denied;
	out->records = calloc(n ? n : 1, sizeof(*out->records));
	out->denied = calloc(nd + 1, sizeof(char *));
	bool ok = out->records && out->denied;
	for (size_t i = 0; ok && i < nd; i++)
		ok = (out->denied[i] = strdup(p->denied[i])) != NULL;
	if (ok) {
		for (size_t i = 0; i < n; i++)
			out->records[i] =
			    p->ring[(p->ring_head + i) % p->o.max_records];
		out->n_records = n;
		out->n_denied = nd;
		out->dropped = p->dropped;
		p->n_ring = p->ring_head = 0;
		p->n_denied = 0;
		p->dropped = 0;
	}
	pthread_mutex_unlock(&p->lock);
	if (!ok) {
		monkey_proxy_report_free(out);
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	return 0;
}

MONKEY_EXPORT void monkey_proxy_report_free(struct monkey_proxy_report *r)
{
	for (size_t i = 0; r->denied && r->denied[i]; i++)
		free(r->denied[i]);
	free(r->denied);
	free(r->records);
	memset(r, 0, sizeof(*r));
}

/* ---- accepting ---- */

/* Too many at once: answered by the acceptor, without a thread. */
static void refuse_busy(struct monkey_proxy *p, int fd, int64_t since_ms,
			const char *why)
{
	static const char body[] = "monkey proxy: too many connections at "
				   "once; try again\n";
	char resp[256];
	int n = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 503 Service Unavailable\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 sizeof(body) - 1, body);
	/* A fresh socket's buffer takes this whole: never blocks. */
	ssize_t w = send(fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	close(fd);
	struct monkey_proxy_record rec = {0};
	int64_t now = monkey_now_ms();
	rec.start_unix_ms = wall_ms() - (now - since_ms);
	rec.duration_ms = now - since_ms;
	rec.decision = MONKEY_PROXY_BUSY;
	rec.status = 503;
	snprintf(rec.reason, sizeof(rec.reason), "%s", why);
	proxy_keep_record(p, &rec);
}

/* A free slot (a finished thread is joined first), or NULL. */
static struct proxy_slot *free_slot(struct monkey_proxy *p)
{
	for (unsigned i = 0; i < p->o.max_connections; i++) {
		struct proxy_slot *s = &p->slots[i];
		if (s->state == SLOT_DONE) {
			pthread_join(s->thread, NULL);
			s->state = SLOT_FREE;
		}
		if (s->state == SLOT_FREE)
			return s;
	}
	return NULL;
}

static int start_slot(struct monkey_proxy *p, struct proxy_slot *s, int fd)
{
	if (!s->up)
		s->up = malloc(p->o.buffer_size);
	if (!s->down)
		s->down = malloc(p->o.buffer_size);
	if (!s->up || !s->down)
		return -ENOMEM;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SLOT_STACK);
	s->fd = fd;
	s->state = SLOT_BUSY;
	int rc = pthread_create(&s->thread, &attr, proxy_slot_main, s);
	pthread_attr_destroy(&attr);
	if (rc) {
		s->state = SLOT_FREE;
		return -rc;
	}
	p->n_busy++;
	return 0;
}

static void dispatch(struct monkey_proxy *p, int fd)
{
	const char *why = NULL;
	int64_t now = monkey_now_ms();
	pthread_mutex_lock(&p->lock);
	struct proxy_slot *s = free_slot(p);
	if (s) {
		if (start_slot(p, s, fd) < 0)
			why = "cannot start a thread for the connection";
	} else if (p->n_pending < p->o.max_pending) {
		unsigned i =
		    (p->pending_head + p->n_pending++) % p->o.max_pending;
		p->pending[i].fd = fd;
		p->pending[i].since_ms = now;
	} else {
		why = "too many connections at once: every slot is serving "
		      "and the queue is full";
	}
	pthread_mutex_unlock(&p->lock);
	if (why)
		refuse_busy(p, fd, now, why);
}

/* Connections that waited too long for a slot get 503; returns the ms
 * until the next one would, or -1 when none waits. */
static int expire_pending(struct monkey_proxy *p)
{
	for (;;) {
		int64_t now = monkey_now_ms(), since;
		int fd;
		pthread_mutex_lock(&p->lock);
		if (!p->n_pending) {
			pthread_mutex_unlock(&p->lock);
			return -1;
		}
		struct proxy_pending *q = &p->pending[p->pending_head];
		int64_t left = q->since_ms + p->o.queue_timeout_ms - now;
		if (left > 0) {
			pthread_mutex_unlock(&p->lock);
			return left > 1000 ? 1000 : (int)left;
		}
		fd = q->fd;
		since = q->since_ms;
		p->pending_head = (p->pending_head + 1) % p->o.max_pending;
		p->n_pending--;
		pthread_cond_broadcast(&p->idle);
		pthread_mutex_unlock(&p->lock);
		refuse_busy(p, fd, since,
			    "waited too long for a free connection slot");
	}
}

int proxy_next_pending(struct monkey_proxy *p, struct proxy_slot *slot)
{
	int fd = -1;
	pthread_mutex_lock(&p->lock);
	if (p->n_pending && p->stop_pipe[1] >= 0) {
		fd = p->pending[p->pending_head].fd;
		p->pending_head = (p->pending_head + 1) % p->o.max_pending;
		p->n_pending--;
	} else {
		slot->state = SLOT_DONE;
		p->n_busy--;
	}
	pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->lock);
	return fd;
}

/* Accept whatever is there.  -EMFILE and the like: the caller waits a
 * little before trying again (the socket stays readable meanwhile). */
static int accept_all(struct monkey_proxy *p)
{
	for (;;) {
		int fd = accept4(p->listen_fd, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ECONNABORTED)
				return 0;
			return -errno;
		}
		dispatch(p, fd);
	}
}

static void *acceptor_main(void *arg)
{
	struct monkey_proxy *p = arg;
	bool backoff = false;
	for (;;) {
		int timeout = expire_pending(p);
		if (backoff && (timeout < 0 || timeout > 100))
			timeout = 100;
		struct pollfd fds[2] = {
		    {.fd = backoff ? -1 : p->listen_fd, .events = POLLIN},
		    {.fd = p->stop_pipe[0], .events = POLLIN},
		};
		if (poll(fds, 2, timeout) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		backoff = false;
		if (fds[0].revents && accept_all(p) < 0)
			backoff = true;
	}
	return NULL;
}

/* ---- open and close ---- */

static int check_options(const struct monkey_proxy_options *o,
			 struct monkey_error *err)
{
	if (o->max_connections < 1 || o->max_connections > 4096)
		return monkey_set_error(err, -EINVAL,
					"proxy: max_connections must be 1 to "
					"4096");
	if (o->max_pending < 1 || o->max_pending > 65536)
		return monkey_set_error(
		    err, -EINVAL, "proxy: max_pending must be 1 to 65536");
	if (o->max_header < 256 || o->max_header > (1u << 20))
		return monkey_set_error(err, -EINVAL,
					"proxy: max_header must be 256 B to "
					"1 MiB");
	/* The forwarded header is built in a buffer: room for what the
	 * proxy adds to the client's. */
	if (o->buffer_size < o->max_header + 1024 ||
	    o->buffer_size > (64u << 20))
		return monkey_set_error(err, -EINVAL,
					"proxy: buffer_size must be at least "
					"max_header + 1 KiB, at most 64 MiB");
	if (o->idle_timeout_ms <= 0 || o->connect_timeout_ms <= 0 ||
	    o->queue_timeout_ms <= 0 || o->total_timeout_ms < 0)
		return monkey_set_error(err, -EINVAL,
					"proxy: the timeouts must be positive");
	return 0;
}

static int parse_rules(struct monkey_proxy *p,
		       const struct monkey_proxy_options *o,
		       struct monkey_error *err)
{
	for (size_t i = 0; i < o->n_allow; i++) {
		int rc = proxy_rules_add_allow(&p->rules, o->allow[i], err);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < o->n_resolve; i++) {
		int rc = proxy_rules_add_resolve(&p->rules, o->resolve[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int make_dir(struct monkey_proxy *p, const char *parent,
		    struct monkey_error *err)
{
	if (!parent) {
		parent = secure_getenv("TMPDIR");
		if (!parent || !*parent)
			parent = "/tmp";
	}
	int n =
	    snprintf(p->dir, sizeof(p->dir), "%s/monkey-proxy-XXXXXX", parent);
	if (n < 0 || (size_t)n >= sizeof(p->dir))
		return monkey_set_error(err, -ENAMETOOLONG,
					"proxy: directory name too long in %s",
					parent);
	if (!mkdtemp(p->dir)) {
		int e = errno;
		p->dir[0] = '\0';
		return monkey_set_error(err, -e,
					"proxy: cannot make a directory in "
					"%s: %s",
					parent, strerror(e));
	}
	snprintf(p->sock, sizeof(p->sock), "%s/%s", p->dir,
		 MONKEY_PROXY_SOCKET_NAME);
	return 0;
}

static int give_to_owner(struct monkey_proxy *p, struct monkey_error *err)
{
	if (p->o.owner_uid < 0 && p->o.owner_gid < 0)
		return 0;
	uid_t u = p->o.owner_uid < 0 ? (uid_t)-1 : (uid_t)p->o.owner_uid;
	gid_t g = p->o.owner_gid < 0 ? (gid_t)-1 : (gid_t)p->o.owner_gid;
	if (chown(p->sock, u, g) < 0 || chown(p->dir, u, g) < 0)
		return monkey_set_error(
		    err, -errno, "proxy: cannot give %s to %ld:%ld: %s", p->dir,
		    p->o.owner_uid, p->o.owner_gid, strerror(errno));
	return 0;
}

static int listen_socket(struct monkey_proxy *p, struct monkey_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(p->sock) >= sizeof(sa.sun_path))
		return monkey_set_error(err, -ENAMETOOLONG,
					"proxy: socket path %s is longer than "
					"a unix socket's %zu bytes; choose a "
					"shorter TMPDIR",
					p->sock, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, p->sock, strlen(p->sock) + 1);
	p->listen_fd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->listen_fd < 0 ||
	    bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(p->sock, 0600) < 0 || listen(p->listen_fd, 128) < 0)
		return monkey_set_error(err, -errno,
					"proxy: cannot listen on %s: %s",
					p->sock, strerror(errno));
	return give_to_owner(p, err);
}

static int alloc_state(struct monkey_proxy *p, struct monkey_error *err)
{
	p->slots = calloc(p->o.max_connections, sizeof(*p->slots));
	p->pending = calloc(p->o.max_pending, sizeof(*p->pending));
	p->ring =
	    calloc(p->o.max_records ? p->o.max_records : 1, sizeof(*p->ring));
	p->denied = calloc(MONKEY_PROXY_MAX_DENIED, sizeof(*p->denied));
	if (!p->slots || !p->pending || !p->ring || !p->denied)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < p->o.max_connections; i++)
		p->slots[i].p = p;
	if (pipe2(p->stop_pipe, O_CLOEXEC) < 0)
		return monkey_set_error(err, -errno, "proxy: pipe: %s",
					strerror(errno));
	return 0;
}

MONKEY_EXPORT int monkey_proxy_open(const struct monkey_proxy_options *o,
				    struct monkey_proxy **out,
				    struct monkey_error *err)
{
	*out = NULL;
	int rc = check_options(o, err);
	if (rc < 0)
		return rc;
	struct monkey_proxy *p = calloc(1, sizeof(*p));
	if (!p)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	p->o = *o;
	p->o.allow = p->o.resolve = NULL;
	p->o.n_allow = p->o.n_resolve = 0;
	p->o.parent_dir = NULL;
	p->listen_fd = p->stop_pipe[0] = p->stop_pipe[1] = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->idle, NULL);
	if ((rc = parse_rules(p, o, err)) < 0 ||
	    (rc = alloc_state(p, err)) < 0 ||
	    (rc = make_dir(p, o->parent_dir, err)) < 0 ||
	    (rc = listen_socket(p, err)) < 0)
		goto fail;
	if ((rc = -pthread_create(&p->acceptor, NULL, acceptor_main, p))) {
		monkey_set_error(err, rc, "proxy: cannot start a thread: %s",
				 strerror(-rc));
		goto fail;
	}
	p->acceptor_started = true;
	/* Named, so that a look at the process shows whose threads these
	 * are (and a test, that none is left after close). */
	pthread_setname_np(p->acceptor, "mk-proxy-accept");
	*out = p;
	return 0;
fail:
	monkey_proxy_close(p);
	return rc;
}

MONKEY_EXPORT const char *monkey_proxy_socket_path(const struct monkey_proxy *p)
{
	return p->sock;
}

MONKEY_EXPORT const char *monkey_proxy_dir(const struct monkey_proxy *p)
{
	return p->dir;
}

MONKEY_EXPORT int monkey_proxy_wait_idle(struct monkey_proxy *p,
					 int64_t timeout_ms)
{
	struct timespec until = monkey_deadline_after(timeout_ms);
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	while ((p->n_busy || p->n_pending) && rc == 0)
		rc = pthread_cond_timedwait(&p->idle, &p->lock, &until);
	bool idle = !p->n_busy && !p->n_pending;
	pthread_mutex_unlock(&p->lock);
	return idle ? 0 : -ETIMEDOUT;
}

/* Threads end by themselves once the stop pipe is closed: every wait of
 * theirs watches it. */
static void join_all(struct monkey_proxy *p)
{
	if (p->acceptor_started)
		pthread_join(p->acceptor, NULL);
	p->acceptor_started = false;
	for (unsigned i = 0; p->slots && i < p->o.max_connections; i++) {
		struct proxy_slot *s = &p->slots[i];
		pthread_mutex_lock(&p->lock);
		int state = s->state;
		pthread_mutex_unlock(&p->lock);
		if (state != SLOT_FREE)
			pthread_join(s->thread, NULL);
		free(s->up);
		free(s->down);
	}
}

MONKEY_EXPORT void monkey_proxy_close(struct monkey_proxy *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	int w = p->stop_pipe[1];
	p->stop_pipe[1] = -1;
	pthread_mutex_unlock(&p->lock);
	if (w >= 0)
		close(w);
	join_all(p);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	for (unsigned i = 0; i < p->n_pending; i++)
		close(p->pending[(p->pending_head + i) % p->o.max_pending].fd);
	if (p->sock[0])
		unlink(p->sock);
	if (p->dir[0])
		rmdir(p->dir);
	if (p->stop_pipe[0] >= 0)
		close(p->stop_pipe[0]);
	proxy_rules_free(&p->rules);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->idle);
	free(p->slots);
	free(p->pending);
	free(p->ring);
	free(p->denied);
	free(p);
}
