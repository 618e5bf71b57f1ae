/* monkey-proxy-forward, the in-sandbox end of the egress proxy, run here in
 * the host's own network namespace: it says "ready PORT" once listening,
 * relays plain HTTP and CONNECT tunnels (binary, several at once) to the
 * proxy's unix socket, closes a client's connection when the proxy is
 * gone, and exits when its lifeline ends or its parent dies. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy_harness.h"
#include "testutil.h"

static char forwarder[4096];
static struct ph_server *srv;
static struct monkey_proxy *px;
static char target[64];

struct fwd {
	pid_t pid;
	uint16_t port;
	int lifeline; /* our end: closing it ends the forwarder */
};
static struct fwd fw = {.pid = -1, .lifeline = -1};

static int64_t ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The status of pid when it ends within timeout_ms, else -1. */
static int wait_exit(pid_t pid, int timeout_ms)
{
	int64_t end = ms() + timeout_ms;
	int status;
	while (ms() < end) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		usleep(10 * 1000);
	}
	return -1;
}

/* Start the forwarder on a free port with a ready pipe (fd 3) and, when
 * asked, a lifeline (fd 4); extra (may be NULL) goes before the socket. */
static struct fwd start_forwarder(const char *sock, const char *extra,
				  bool lifeline)
{
	int ready[2], life[2];
	struct fwd f = {.pid = -1, .lifeline = -1};
	/* Close-on-exec: the forwarder holds fds 3 and 4 only, so that the
	 * ends kept here decide when they read end of file. */
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(life, O_CLOEXEC), 0);
	f.pid = fork();
	assert_true(f.pid >= 0);
	if (f.pid == 0) {
		const char *argv[12];
		int n = 0;
		/* Out of the way first: either pipe may sit on fd 3 or 4. */
		int r = fcntl(ready[1], F_DUPFD_CLOEXEC, 10);
		int l = fcntl(life[0], F_DUPFD_CLOEXEC, 10);
		dup2(r, 3);
		argv[n++] = forwarder;
		argv[n++] = "--port";
		argv[n++] = "0";
		argv[n++] = "--ready-fd";
		argv[n++] = "3";
		if (lifeline) {
			dup2(l, 4);
			argv[n++] = "--lifeline-fd";
			argv[n++] = "4";
		}
		if (extra)
			argv[n++] = extra;
		argv[n++] = sock;
		argv[n] = NULL;
		execv(forwarder, (char **)argv);
		_exit(127);
	}
	close(ready[1]);
	close(life[0]);
	if (lifeline)
		f.lifeline = life[1];
	else
		close(life[1]);
	char line[64];
	size_t n = ph_read_all(ready[0], line, sizeof(line) - 1, 5000);
	close(ready[0]);
	unsigned port = 0;
	if (n == 0 || sscanf(line, "ready %u\n", &port) != 1 || !port)
		fail_msg("no ready line from the forwarder: '%s'", line);
	f.port = (uint16_t)port;
	return f;
}

static void stop_forwarder(struct fwd *f)
{
	if (f->lifeline >= 0)
		close(f->lifeline);
	if (f->pid > 0 && wait_exit(f->pid, 5000) < 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
	}
	f->pid = -1;
	f->lifeline = -1;
}

static int setup(void **state)
{
	(void)state;
	struct stat st;
	if (stat(forwarder, &st) < 0 || st.st_size == 0)
		skip(); /* no static C library: nothing was built */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stop_forwarder(&fw);
	monkey_proxy_close(px);
	px = NULL;
	ph_server_stop(srv);
	srv = NULL;
	return 0;
}

static void start_all(enum ph_mode mode)
{
	srv = ph_server_start(mode);
	snprintf(target, sizeof(target), "allowed.test:%u",
		 ph_server_port(srv));
	const char *allow[] = {target};
	const char *resolve[] = {"allowed.test:127.0.0.1"};
	px = ph_proxy(allow, 1, resolve, 1, NULL);
	fw = start_forwarder(monkey_proxy_socket_path(px), NULL, true);
}

static void test_ready_line_names_the_listening_port(void **state)
{
	(void)state;
	start_all(PH_HTTP);
	int fd = ph_connect_tcp(fw.port);
	assert_true(fd >= 0);
	close(fd);
}

static void test_plain_http_goes_through(void **state)
{
	(void)state;
	start_all(PH_HTTP);
	int fd = ph_connect_tcp(fw.port);
	char req[256], ans[4096];
	snprintf(req, sizeof(req),
		 "GET http://%s/x HTTP/1.1\r\nHost: %s\r\n\r\n", target,
		 target);
	assert_int_equal(ph_send_all(fd, req, strlen(req)), 0);
	ph_read_all(fd, ans, sizeof(ans) - 1, 10000);
	close(fd);
	assert_int_equal(ph_status(ans), 200);
	assert_non_null(strstr(ans, PH_BODY));
	/* The proxy decided: a name it does not allow gets its 403. */
	fd = ph_connect_tcp(fw.port);
	const char *deny = "CONNECT other.test:443 HTTP/1.1\r\n\r\n";
	ph_send_all(fd, deny, strlen(deny));
	ph_read_all(fd, ans, sizeof(ans) - 1, 10000);
	close(fd);
	assert_int_equal(ph_status(ans), 403);
	assert_non_null(strstr(ans, "--allow-domain other.test"));
}

struct tunnel {
	int fd;
	size_t n;
	int ok;
};

static void *run_tunnel(void *arg)
{
	struct tunnel *t = arg;
	char head[512];
	unsigned char *out = malloc(t->n), *back = malloc(t->n + 1);
	for (size_t i = 0; i < t->n; i++)
		out[i] = (unsigned char)(i * 7 + (size_t)t->fd);
	char line[128];
	snprintf(line, sizeof(line), "CONNECT %s HTTP/1.1\r\n\r\n", target);
	if (ph_send_all(t->fd, line, strlen(line)) == 0 &&
	    ph_read_header(t->fd, head, sizeof(head) - 1, 10000) &&
	    ph_status(head) == 200) {
		/* Chunks small enough for the echo to keep up. */
		size_t got = 0;
		t->ok = 1;
		for (size_t off = 0; off < t->n && t->ok; off += 4096) {
			size_t k = t->n - off < 4096 ? t->n - off : 4096;
			if (ph_send_all(t->fd, out + off, k) < 0)
				t->ok = 0;
			while (t->ok && got < off + k) {
				size_t r =
				    ph_read_all(t->fd, (char *)back + got,
						off + k - got, 10000);
				if (!r)
					t->ok = 0;
				got += r;
			}
		}
		t->ok = t->ok && memcmp(out, back, t->n) == 0;
	}
	free(out);
	free(back);
	return NULL;
}

static void test_tunnels_relay_binary_several_at_once(void **state)
{
	(void)state;
	start_all(PH_ECHO);
	enum { N = 8 };
	struct tunnel t[N];
	pthread_t th[N];
	for (int i = 0; i < N; i++) {
		t[i] = (struct tunnel){.fd = ph_connect_tcp(fw.port),
				       .n = 256 * 1024 + (size_t)i};
		assert_true(t[i].fd >= 0);
		pthread_create(&th[i], NULL, run_tunnel, &t[i]);
	}
	/* All joined before any assertion: they use this frame. */
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		close(t[i].fd);
	}
	for (int i = 0; i < N; i++)
		if (!t[i].ok)
			fail_msg("tunnel %d did not echo its bytes", i);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.n_records, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(r.records[i].bytes_up,
				 r.records[i].bytes_down);
	monkey_proxy_report_free(&r);
}

static void test_client_is_closed_when_the_proxy_is_gone(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char sock[4096];
	snprintf(sock, sizeof(sock), "%s/absent.sock", dir);
	fw = start_forwarder(sock, NULL, true);
	int fd = ph_connect_tcp(fw.port);
	assert_true(fd >= 0);
	assert_true(ph_closed_within(fd, 2000));
	close(fd);
	tu_rmrf(dir);
	free(dir);
}

static void test_exits_when_the_lifeline_ends(void **state)
{
	(void)state;
	start_all(PH_HTTP);
	close(fw.lifeline);
	fw.lifeline = -1;
	assert_int_equal(wait_exit(fw.pid, 5000), 0);
	fw.pid = -1;
	assert_int_equal(ph_connect_tcp(fw.port), -1);
}

static void test_dies_with_its_parent(void **state)
{
	(void)state;
	srv = ph_server_start(PH_HTTP);
	const char *allow[] = {"allowed.test"};
	px = ph_proxy(allow, 1, NULL, 0, NULL);
	int portpipe[2];
	assert_int_equal(pipe(portpipe), 0);
	pid_t mid = fork();
	if (mid == 0) {
		/* The parent: starts the forwarder, says its port and pid,
		 * waits.  No cmocka here: a failure must not run tests. */
		close(portpipe[0]);
		int ready[2];
		if (pipe2(ready, O_CLOEXEC) < 0)
			_exit(1);
		pid_t f = fork();
		if (f == 0) {
			dup2(fcntl(ready[1], F_DUPFD_CLOEXEC, 10), 3);
			execl(forwarder, forwarder, "--port", "0", "--ready-fd",
			      "3", "--die-with-parent",
			      monkey_proxy_socket_path(px), (char *)NULL);
			_exit(127);
		}
		close(ready[1]);
		char line[64];
		ssize_t n = read(ready[0], line, sizeof(line) - 1);
		if (n <= 0)
			_exit(1);
		line[n] = '\0';
		dprintf(portpipe[1], "%d %s", (int)f, line + 6);
		pause();
		_exit(0);
	}
	close(portpipe[1]);
	char line[64];
	unsigned port = 0;
	ph_read_all(portpipe[0], line, sizeof(line) - 1, 5000);
	close(portpipe[0]);
	int pid = 0;
	assert_int_equal(sscanf(line, "%d %u", &pid, &port), 2);
	int fd = ph_connect_tcp((uint16_t)port);
	assert_true(fd >= 0);
	close(fd);
	kill(mid, SIGKILL);
	waitpid(mid, NULL, 0);
	/* Orphaned and killed: its port closes. */
	int64_t end = ms() + 5000;
	while ((fd = ph_connect_tcp((uint16_t)port)) >= 0 && ms() < end) {
		close(fd);
		usleep(20 * 1000);
	}
	if (fd >= 0) {
		/* Still there: it would outlive the test. */
		close(fd);
		kill(pid, SIGKILL);
		fail_msg("the forwarder outlived its parent");
	}
}

static void test_usage_errors_exit_2(void **state)
{
	(void)state;
	const char *bad[][4] = {
	    {forwarder, NULL},
	    {forwarder, "--port", "http", "/s"},
	    {forwarder, "--bogus", "1", "/s"},
	    {forwarder, "--ready-fd", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tu_run r;
		assert_int_equal(tu_run(&r, NULL, (char **)bad[i], NULL), 0);
		assert_int_equal(r.status, 2);
		assert_non_null(strstr(r.err, "monkey-proxy-forward: "));
		tu_run_free(&r);
	}
}

int main(void)
{
	snprintf(forwarder, sizeof(forwarder), "%s/core/proxy/monkey-proxy-forward",
		 tu_builddir());
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_ready_line_names_the_listening_port),
	    T(test_plain_http_goes_through),
	    T(test_tunnels_relay_binary_several_at_once),
	    T(test_client_is_closed_when_the_proxy_is_gone),
	    T(test_exits_when_the_lifeline_ends),
	    T(test_dies_with_its_parent),
	    T(test_usage_errors_exit_2),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
