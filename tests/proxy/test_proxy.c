/* The egress proxy on real sockets, loopback only: local servers on
 * 127.0.0.1, names pinned to them with --proxy-resolve, requests over the
 * proxy's unix socket.  Allowed names answer (plain HTTP and CONNECT with
 * binary bytes both ways), others get 403 naming the option, special
 * addresses are refused unless named, malformed requests get 400, the
 * bounds hold, the records say what happened, and nothing is left
 * listening after close. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <grp.h>

#include "proxy_harness.h"

static struct ph_server *srv;
static struct monkey_proxy *px;
static char allow_rule[64], pin[64];

static int teardown(void **state)
{
	(void)state;
	monkey_proxy_close(px);
	px = NULL;
	ph_server_stop(srv);
	srv = NULL;
	return 0;
}

/* A server of this mode, and a proxy allowing allowed.test on its port
 * with the name pinned to 127.0.0.1. */
static void start(enum ph_mode mode,
		  void (*tweak)(struct monkey_proxy_options *))
{
	srv = ph_server_start(mode);
	snprintf(allow_rule, sizeof(allow_rule), "allowed.test:%u",
		 ph_server_port(srv));
	snprintf(pin, sizeof(pin), "allowed.test:127.0.0.1");
	const char *allow[] = {allow_rule};
	const char *resolve[] = {pin};
	px = ph_proxy(allow, 1, resolve, 1, tweak);
}

static char *request(const char *fmt, ...)
{
	char text[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return ph_exchange(monkey_proxy_socket_path(px), text);
}

/* ---- allowed ---- */

static void test_plain_http_to_an_allowed_name_is_forwarded(void **state)
{
	(void)state;
	start(PH_HTTP, NULL);
	unsigned port = ph_server_port(srv);
	char *ans = request("GET http://allowed.test:%u/path?q=1 HTTP/1.1\r\n"
			    "Host: allowed.test:%u\r\nUser-Agent: t/1\r\n"
			    "Proxy-Connection: keep-alive\r\n"
			    "Proxy-Authorization: Basic eDp5\r\n"
			    "Connection: X-Drop\r\nX-Drop: 1\r\n\r\n",
			    port, port);
	assert_int_equal(ph_status(ans), 200);
	assert_non_null(strstr(ans, PH_BODY));
	char *got = ph_server_last_request(srv);
	char want_host[64];
	snprintf(want_host, sizeof(want_host), "\r\nHost: allowed.test:%u\r\n",
		 port);
	/* Origin form upstream, end-to-end headers kept, hop-by-hop ones
	 * (and those Connection names) dropped, Connection: close added. */
	assert_true(strncmp(got, "GET /path?q=1 HTTP/1.1\r\n", 24) == 0);
	assert_non_null(strstr(got, want_host));
	assert_non_null(strstr(got, "\r\nUser-Agent: t/1\r\n"));
	assert_non_null(strstr(got, "\r\nConnection: close\r\n\r\n"));
	assert_null(strstr(got, "Proxy-"));
	assert_null(strstr(got, "X-Drop"));
	assert_null(strstr(got, "keep-alive"));
	free(got);
	free(ans);
}

static void test_plain_http_without_host_gets_one(void **state)
{
	(void)state;
	start(PH_HTTP, NULL);
	char *ans = request("GET http://allowed.test:%u HTTP/1.0\r\n\r\n",
			    ph_server_port(srv));
	assert_int_equal(ph_status(ans), 200);
	char *got = ph_server_last_request(srv);
	assert_true(strncmp(got, "GET / HTTP/1.0\r\nHost: allowed.test:", 35) ==
		    0);
	free(got);
	free(ans);
}

static void test_plain_body_is_bounded_by_content_length(void **state)
{
	(void)state;
	start(PH_HTTP, NULL);
	unsigned port = ph_server_port(srv);
	/* A second request pipelined behind the body must not reach the
	 * upstream (it could name another host). */
	char *ans = request("POST http://allowed.test:%u/up HTTP/1.1\r\n"
			    "Host: allowed.test:%u\r\nContent-Length: 5\r\n"
			    "\r\nhelloGET http://other.test/ HTTP/1.1\r\n"
			    "Host: other.test\r\n\r\n",
			    port, port);
	assert_int_equal(ph_status(ans), 200);
	char *got = ph_server_last_request(srv);
	size_t len = strlen(got);
	assert_true(len > 5);
	assert_string_equal(got + len - 9, "\r\n\r\nhello");
	assert_null(strstr(got, "other.test"));
	free(got);
	free(ans);
}

static void echo_quits_soon(struct monkey_proxy_options *o)
{
	o->idle_timeout_ms = 500;
}

/* The same when the rest comes after the body, in another write: the
 * echo server shows everything the upstream was sent. */
static void test_bytes_after_the_body_are_not_forwarded(void **state)
{
	(void)state;
	start(PH_ECHO, echo_quits_soon);
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	char text[256], ans[4096];
	snprintf(text, sizeof(text),
		 "POST http://%s/ HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
		 "hello",
		 allow_rule);
	assert_int_equal(ph_send_all(fd, text, strlen(text)), 0);
	usleep(100 * 1000);
	const char *more = "GET http://other.test/ HTTP/1.1\r\n\r\n";
	ph_send_all(fd, more, strlen(more));
	size_t n = ph_read_all(fd, ans, sizeof(ans) - 1, 5000);
	close(fd);
	assert_true(n > 0);
	assert_non_null(strstr(ans, "\r\n\r\nhello"));
	assert_null(strstr(ans, "other.test"));
}

static void fill_pattern(unsigned char *b, size_t n)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (unsigned char)(x >> 16);
	}
	b[0] = 0;
	b[1] = 0xff;
	b[2] = '\r';
	b[3] = '\n';
}

struct sender {
	int fd;
	const unsigned char *buf;
	size_t n;
};

/* Sends while the main thread reads: an echo through buffers that fill
 * would stall a client that writes everything before reading. */
static void *send_then_shut(void *arg)
{
	struct sender *s = arg;
	ph_send_all(s->fd, s->buf, s->n);
	/* Half-close: the echo server sees end of file through the tunnel,
	 * finishes, and the proxy passes its end of file back. */
	shutdown(s->fd, SHUT_WR);
	return NULL;
}

/* CONNECT then n bytes both ways through the echo server. */
static void connect_and_echo(int fd, const char *target, size_t n)
{
	char head[512], line[256];
	snprintf(line, sizeof(line), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
		 target, target);
	assert_int_equal(ph_send_all(fd, line, strlen(line)), 0);
	assert_true(ph_read_header(fd, head, sizeof(head) - 1, 10000) > 0);
	assert_int_equal(ph_status(head), 200);
	unsigned char *out = malloc(n), *back = malloc(n + 1);
	fill_pattern(out, n);
	struct sender snd = {fd, out, n};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, send_then_shut, &snd), 0);
	size_t got = ph_read_all(fd, (char *)back, n, 20000);
	pthread_join(t, NULL);
	assert_int_equal(got, n);
	assert_memory_equal(out, back, n);
	assert_true(ph_closed_within(fd, 5000));
	free(out);
	free(back);
}

static void test_connect_relays_binary_bytes_both_ways(void **state)
{
	(void)state;
	start(PH_ECHO, NULL);
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	assert_true(fd >= 0);
	size_t n = 3 * 1024 * 1024 + 17;
	connect_and_echo(fd, allow_rule, n);
	close(fd);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.n_records, 1);
	const struct monkey_proxy_record *rec = &r.records[0];
	assert_int_equal(rec->decision, MONKEY_PROXY_ALLOWED);
	assert_int_equal(rec->status, 200);
	assert_string_equal(rec->method, "CONNECT");
	assert_string_equal(rec->host, "allowed.test");
	assert_int_equal(rec->port, ph_server_port(srv));
	assert_string_equal(rec->address, "127.0.0.1");
	assert_true(rec->bytes_up == n && rec->bytes_down == n);
	assert_string_equal(rec->reason, "");
	monkey_proxy_report_free(&r);
}

/* Bytes the client sends right behind the CONNECT header (a TLS hello
 * sent early) reach the upstream first. */
static void test_connect_forwards_bytes_sent_with_the_header(void **state)
{
	(void)state;
	start(PH_ECHO, NULL);
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	char text[256], buf[512];
	snprintf(text, sizeof(text), "CONNECT %s HTTP/1.1\r\n\r\nearly\x16\x03",
		 allow_rule);
	assert_int_equal(ph_send_all(fd, text, strlen(text)), 0);
	shutdown(fd, SHUT_WR);
	size_t n = ph_read_all(fd, buf, sizeof(buf) - 1, 10000);
	const char *want = "HTTP/1.1 200 Connection established\r\n\r\n"
			   "early\x16\x03";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	close(fd);
}

/* ---- denied ---- */

static void test_unlisted_name_gets_403_naming_the_option(void **state)
{
	(void)state;
	start(PH_HTTP, NULL);
	unsigned port = ph_server_port(srv);
	char *ans = request("CONNECT denied.test:%u HTTP/1.1\r\n\r\n", port);
	char want[128];
	snprintf(want, sizeof(want),
		 "\r\n\r\nmonkey proxy: denied.test port %u is not in the "
		 "allowlist; allow it with --allow-domain denied.test:%u\n",
		 port, port);
	assert_int_equal(ph_status(ans), 403);
	assert_non_null(strstr(ans, want));
	free(ans);
	ans = request("GET http://denied.test/ HTTP/1.1\r\nHost: denied.test"
		      "\r\n\r\n");
	assert_int_equal(ph_status(ans), 403);
	assert_non_null(strstr(ans, "--allow-domain denied.test\n"));
	free(ans);
	assert_int_equal(ph_server_accepted(srv), 0);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.n_records, 2);
	assert_int_equal(r.records[0].decision, MONKEY_PROXY_DENIED);
	assert_int_equal(r.records[0].status, 403);
	assert_string_equal(r.records[0].address, "");
	/* A connection's record is kept as it ends, after its client read
	 * the answer: on a loaded machine the second may end first. */
	assert_int_equal(r.n_denied, 2);
	snprintf(want, sizeof(want), "denied.test:%u", port);
	bool first = !strcmp(r.denied[0], want);
	assert_string_equal(r.denied[first ? 0 : 1], want);
	assert_string_equal(r.denied[first ? 1 : 0], "denied.test:80");
	monkey_proxy_report_free(&r);
}

static void test_allowed_name_on_another_port_is_denied(void **state)
{
	(void)state;
	start(PH_HTTP, NULL);
	char *ans =
	    request("CONNECT allowed.test:%u HTTP/1.1\r\n\r\n",
		    ph_server_port(srv) == 65535 ? 1 : ph_server_port(srv) + 1);
	assert_int_equal(ph_status(ans), 403);
	free(ans);
	assert_int_equal(ph_server_accepted(srv), 0);
}

static void test_ip_literal_needs_an_address_rule(void **state)
{
	(void)state;
	start(PH_ECHO, NULL);
	unsigned port = ph_server_port(srv);
	char *ans = request("CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n", port);
	char want[128];
	snprintf(want, sizeof(want), "--allow-domain 127.0.0.1:%u\n", port);
	assert_int_equal(ph_status(ans), 403);
	assert_non_null(strstr(ans, "needs an address rule"));
	assert_non_null(strstr(ans, want));
	free(ans);
	/* The IPv4-mapped form is the same address. */
	ans = request("CONNECT [::ffff:127.0.0.1]:%u HTTP/1.1\r\n\r\n", port);
	assert_int_equal(ph_status(ans), 403);
	assert_non_null(strstr(ans, want));
	free(ans);
	assert_int_equal(ph_server_accepted(srv), 0);

	/* With the address rule, the same request goes through. */
	monkey_proxy_close(px);
	char rule[64];
	snprintf(rule, sizeof(rule), "127.0.0.1:%u", port);
	const char *allow[] = {rule};
	px = ph_proxy(allow, 1, NULL, 0, NULL);
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	connect_and_echo(fd, rule, 1000);
	close(fd);
}

/* "localhost" resolves through /etc/hosts: no traffic leaves the
 * machine, and the answer is a loopback address. */
static void test_name_resolving_to_loopback_is_refused(void **state)
{
	(void)state;
	srv = ph_server_start(PH_ECHO);
	unsigned port = ph_server_port(srv);
	char rule[64];
	snprintf(rule, sizeof(rule), "localhost:%u", port);
	const char *allow[] = {rule};
	px = ph_proxy(allow, 1, NULL, 0, NULL);
	char *ans = request("CONNECT localhost:%u HTTP/1.1\r\n\r\n", port);
	assert_int_equal(ph_status(ans), 403);
	assert_non_null(strstr(ans, "localhost resolves to loopback address"));
	assert_non_null(strstr(ans, "--proxy-resolve localhost:"));
	free(ans);
	assert_int_equal(ph_server_accepted(srv), 0);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.records[0].decision, MONKEY_PROXY_DENIED);
	assert_true(strcmp(r.records[0].address, "127.0.0.1") == 0 ||
		    strcmp(r.records[0].address, "::1") == 0);
	monkey_proxy_report_free(&r);
}

/* An address rule names the address for a name that resolves to it. */
static void test_address_rule_names_a_resolved_address(void **state)
{
	(void)state;
	srv = ph_server_start(PH_ECHO);
	char rule[64];
	snprintf(rule, sizeof(rule), "localhost:%u", ph_server_port(srv));
	const char *allow[] = {rule, "127.0.0.1"};
	px = ph_proxy(allow, 2, NULL, 0, NULL);
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	connect_and_echo(fd, rule, 100);
	close(fd);
}

/* A pin names its addresses for its own name only. */
static void test_pin_names_its_address_for_its_name_only(void **state)
{
	(void)state;
	srv = ph_server_start(PH_ECHO);
	unsigned port = ph_server_port(srv);
	char a1[64], a2[64];
	snprintf(a1, sizeof(a1), "pinned.test:%u", port);
	snprintf(a2, sizeof(a2), "localhost:%u", port);
	const char *allow[] = {a1, a2};
	const char *resolve[] = {"pinned.test:127.0.0.1"};
	px = ph_proxy(allow, 2, resolve, 1, NULL);
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	connect_and_echo(fd, a1, 100);
	close(fd);
	char *ans = request("CONNECT %s HTTP/1.1\r\n\r\n", a2);
	assert_int_equal(ph_status(ans), 403);
	free(ans);
	assert_int_equal(ph_server_accepted(srv), 1);
}

static void test_unreachable_upstream_gets_502(void **state)
{
	(void)state;
	srv = ph_server_start(PH_ECHO);
	unsigned port = ph_server_port(srv);
	ph_server_stop(srv); /* nothing listens there now */
	srv = NULL;
	char rule[64];
	snprintf(rule, sizeof(rule), "gone.test:%u", port);
	const char *allow[] = {rule};
	const char *resolve[] = {"gone.test:127.0.0.1"};
	px = ph_proxy(allow, 1, resolve, 1, NULL);
	char *ans = request("CONNECT %s HTTP/1.1\r\n\r\n", rule);
	assert_int_equal(ph_status(ans), 502);
	assert_non_null(strstr(ans, "cannot connect to gone.test"));
	free(ans);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.records[0].decision, MONKEY_PROXY_FAILED);
	assert_int_equal(r.n_denied, 0);
	monkey_proxy_report_free(&r);
}

/* ---- malformed ---- */

struct bad {
	const char *text;
	int status;
};

static void test_malformed_requests_get_400(void **state)
{
	(void)state;
	start(PH_HTTP, NULL);
	static const struct bad bad[] = {
	    {"garbage\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n", 400},
	    {"GET https://allowed.test/ HTTP/1.1\r\n\r\n", 400},
	    {"GET http://allowed.test/ HTTP/1.1\nHost: x\n\n", 400},
	    {"GET http://allowed.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n",
	     400},
	    {"GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n"
	     "Host: allowed.test\r\n\r\n",
	     400},
	    {"GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test:81\r\n"
	     "\r\n",
	     400},
	    {"POST http://allowed.test/ HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
	     400},
	    {"POST http://allowed.test/ HTTP/1.1\r\nContent-Length: 1\r\n"
	     "Content-Length: 2\r\n\r\n",
	     400},
	    {"POST http://allowed.test/ HTTP/1.1\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n",
	     411},
	    {"GET http://allowed.test/ HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
	     400},
	    {"GET http://user:pw@allowed.test/ HTTP/1.1\r\n\r\n", 400},
	    {"GET http://allowed.test/ HTTP/2.0\r\n\r\n", 505},
	    {"GET http://allowed.test/\r\n\r\n", 400},
	    {"CONNECT allowed.test HTTP/1.1\r\n\r\n", 400},
	    {"CONNECT exa mple.test:443 HTTP/1.1\r\n\r\n", 400},
	    {"CONNECT 127.1:443 HTTP/1.1\r\n\r\n", 400},
	    {"CONNECT 0x7f000001:443 HTTP/1.1\r\n\r\n", 400},
	    {"CONNECT [fe80::1%eth0]:443 HTTP/1.1\r\n\r\n", 400},
	    {"CONNECT ::1:443 HTTP/1.1\r\n\r\n", 400},
	    {"CONNECT allowed.test:99999 HTTP/1.1\r\n\r\n", 400},
	    {"GET http://allowed.test/a b HTTP/1.1\r\n\r\n", 400},
	    {"GET http://allowed.test/#frag HTTP/1.1\r\n\r\n", 400},
	    {"GET http://allowed.test/ HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
	    {"GET http://allowed.test/ HTTP/1.1\r\nX: a\x01\r\n\r\n", 400},
	    {"\r\n\r\n", 400},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *ans = request("%s", bad[i].text);
		if (ph_status(ans) != bad[i].status)
			fail_msg("request %zu (%s): got %d, want %d", i,
				 bad[i].text, ph_status(ans), bad[i].status);
		assert_non_null(strstr(ans, "\r\n\r\nmonkey proxy: "));
		free(ans);
	}
	/* A NUL cannot go through request()'s format. */
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	char ans[1024];
	assert_int_equal(ph_send_all(fd, "GET \0 HTTP/1.1\r\n\r\n", 18), 0);
	ph_read_all(fd, ans, sizeof(ans) - 1, 5000);
	assert_int_equal(ph_status(ans), 400);
	close(fd);
	assert_int_equal(ph_server_accepted(srv), 0);
	/* And it still serves. */
	char *ok = request("GET http://%s/ HTTP/1.1\r\n\r\n", allow_rule);
	assert_int_equal(ph_status(ok), 200);
	free(ok);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.n_records, sizeof(bad) / sizeof(bad[0]) + 2);
	assert_int_equal(r.records[0].decision, MONKEY_PROXY_BAD_REQUEST);
	assert_int_equal(r.n_denied, 0);
	monkey_proxy_report_free(&r);
}

/* ---- bounds ---- */

static void test_header_over_16_kib_gets_431(void **state)
{
	(void)state;
	start(PH_HTTP, NULL);
	size_t n = 17 * 1024;
	char *text = malloc(n + 256);
	int len = snprintf(text, 256,
			   "GET http://%s/ HTTP/1.1\r\nX-Big: ", allow_rule);
	memset(text + len, 'a', n);
	strcpy(text + len + n, "\r\n\r\n");
	char *ans = ph_exchange(monkey_proxy_socket_path(px), text);
	assert_int_equal(ph_status(ans), 431);
	free(ans);
	/* Just under the bound still passes. */
	memset(text + len, 'a', 15 * 1024);
	strcpy(text + len + 15 * 1024, "\r\n\r\n");
	ans = ph_exchange(monkey_proxy_socket_path(px), text);
	assert_int_equal(ph_status(ans), 200);
	free(ans);
	free(text);
}

static void small_and_quick(struct monkey_proxy_options *o)
{
	o->max_connections = 2;
	o->max_pending = 1;
	o->queue_timeout_ms = 300;
}

/* Two tunnels held open fill both slots; a third waits in the queue and
 * gets 503 when its wait is over; a fourth, with the queue full, at
 * once.  When a slot frees, the next connection is served. */
static void test_connections_beyond_the_bound_wait_then_get_503(void **state)
{
	(void)state;
	start(PH_ECHO, small_and_quick);
	const char *sock = monkey_proxy_socket_path(px);
	char line[128], head[512];
	int t[2];
	snprintf(line, sizeof(line), "CONNECT %s HTTP/1.1\r\n\r\n", allow_rule);
	for (int i = 0; i < 2; i++) {
		t[i] = ph_connect_unix(sock);
		ph_send_all(t[i], line, strlen(line));
		assert_true(ph_read_header(t[i], head, 500, 5000) > 0);
		assert_int_equal(ph_status(head), 200);
	}
	int waiting = ph_connect_unix(sock);
	ph_send_all(waiting, line, strlen(line));
	usleep(100 * 1000);
	int refused = ph_connect_unix(sock);
	char ans[1024];
	ph_read_all(refused, ans, sizeof(ans) - 1, 5000);
	assert_int_equal(ph_status(ans), 503);
	close(refused);
	ph_read_all(waiting, ans, sizeof(ans) - 1, 5000);
	assert_int_equal(ph_status(ans), 503);
	close(waiting);
	/* A slot frees: the next one is served. */
	close(t[0]);
	assert_int_equal(monkey_proxy_wait_idle(px, 200), -ETIMEDOUT);
	int next = ph_connect_unix(sock);
	connect_and_echo(next, allow_rule, 100);
	close(next);
	close(t[1]);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	int busy = 0;
	for (size_t i = 0; i < r.n_records; i++)
		busy += r.records[i].decision == MONKEY_PROXY_BUSY;
	assert_int_equal(busy, 2);
	monkey_proxy_report_free(&r);
}

static void queue_long(struct monkey_proxy_options *o)
{
	o->max_connections = 1;
	o->queue_timeout_ms = 10000;
}

static void test_a_waiting_connection_is_served_when_a_slot_frees(void **state)
{
	(void)state;
	start(PH_ECHO, queue_long);
	const char *sock = monkey_proxy_socket_path(px);
	char line[128], head[512];
	snprintf(line, sizeof(line), "CONNECT %s HTTP/1.1\r\n\r\n", allow_rule);
	int first = ph_connect_unix(sock);
	ph_send_all(first, line, strlen(line));
	assert_true(ph_read_header(first, head, 500, 5000) > 0);
	int second = ph_connect_unix(sock);
	ph_send_all(second, line, strlen(line));
	/* Not served while the first holds the only slot. */
	assert_int_equal(ph_read_header(second, head, 500, 300), 0);
	close(first);
	assert_true(ph_read_header(second, head, 500, 5000) > 0);
	assert_int_equal(ph_status(head), 200);
	close(second);
}

static void quick_idle(struct monkey_proxy_options *o)
{
	o->idle_timeout_ms = 300;
}

static void test_idle_tunnel_is_closed(void **state)
{
	(void)state;
	start(PH_ECHO, quick_idle);
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	char line[128], head[512];
	snprintf(line, sizeof(line), "CONNECT %s HTTP/1.1\r\n\r\n", allow_rule);
	ph_send_all(fd, line, strlen(line));
	assert_true(ph_read_header(fd, head, 500, 5000) > 0);
	assert_true(ph_closed_within(fd, 5000));
	close(fd);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.records[0].decision, MONKEY_PROXY_ALLOWED);
	assert_string_equal(r.records[0].reason, "idle for 300 ms");
	monkey_proxy_report_free(&r);
}

static void test_silent_client_gets_408(void **state)
{
	(void)state;
	start(PH_ECHO, quick_idle);
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	ph_send_all(fd, "CONNECT allowed", 15);
	char ans[1024];
	ph_read_all(fd, ans, sizeof(ans) - 1, 5000);
	assert_int_equal(ph_status(ans), 408);
	close(fd);
}

static void quick_total(struct monkey_proxy_options *o)
{
	o->total_timeout_ms = 500;
}

static void test_busy_tunnel_ends_at_the_total_timeout(void **state)
{
	(void)state;
	start(PH_ECHO, quick_total);
	int fd = ph_connect_unix(monkey_proxy_socket_path(px));
	char line[128], head[512], buf[64];
	snprintf(line, sizeof(line), "CONNECT %s HTTP/1.1\r\n\r\n", allow_rule);
	ph_send_all(fd, line, strlen(line));
	assert_true(ph_read_header(fd, head, 500, 5000) > 0);
	/* Never idle, still cut. */
	bool closed = false;
	for (int i = 0; i < 100 && !closed; i++) {
		if (ph_send_all(fd, "ping", 4) < 0 ||
		    ph_read_all(fd, buf, 4, 1000) != 4)
			closed = true;
		usleep(20 * 1000);
	}
	assert_true(closed);
	close(fd);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_string_equal(r.records[0].reason, "open for 500 ms, the limit");
	monkey_proxy_report_free(&r);
}

/* ---- lifetime ---- */

static void test_nothing_listens_after_close(void **state)
{
	(void)state;
	int threads = ph_threads();
	start(PH_ECHO, NULL);
	char sock[4096], dir[4096];
	snprintf(sock, sizeof(sock), "%s", monkey_proxy_socket_path(px));
	snprintf(dir, sizeof(dir), "%s", monkey_proxy_dir(px));
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(ph_unix_listed(sock));
	assert_true(ph_threads_named("mk-proxy") >= 1);
	/* A tunnel open and a connection mid-header when it closes. */
	int fd = ph_connect_unix(sock);
	char line[128], head[512];
	snprintf(line, sizeof(line), "CONNECT %s HTTP/1.1\r\n\r\n", allow_rule);
	ph_send_all(fd, line, strlen(line));
	assert_true(ph_read_header(fd, head, 500, 5000) > 0);
	int half = ph_connect_unix(sock);
	ph_send_all(half, "GET http://", 11);
	monkey_proxy_close(px);
	px = NULL;
	/* Close has waited for its threads: they are gone, and so are the
	 * connections they served. */
	assert_int_equal(ph_threads_named("mk-proxy"), 0);
	assert_true(ph_closed_within(fd, 0));
	assert_true(ph_closed_within(half, 0));
	close(fd);
	close(half);
	assert_false(ph_unix_listed(sock));
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(ph_connect_unix(sock), -1);
	ph_server_stop(srv);
	srv = NULL;
	assert_int_equal(ph_threads(), threads);
}

/* 0 when user nobody can connect to sock, else the errno. */
static int connect_as_nobody(const char *sock)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(100);
		int fd = ph_connect_unix(sock);
		_exit(fd >= 0 ? 0 : errno);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 101;
}

/* /var/tmp: a parent every user may enter (here /tmp is root's). */
static void in_var_tmp(struct monkey_proxy_options *o)
{
	o->parent_dir = "/var/tmp";
}

static void for_nobody(struct monkey_proxy_options *o)
{
	in_var_tmp(o);
	o->owner_uid = o->owner_gid = 65534;
}

/* The directory is the host user's alone, unless given to the sandbox's
 * user. */
static void test_only_the_owner_may_connect(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	start(PH_HTTP, in_var_tmp);
	assert_int_equal(connect_as_nobody(monkey_proxy_socket_path(px)),
			 EACCES);
	monkey_proxy_close(px);
	const char *allow[] = {"allowed.test"};
	px = ph_proxy(allow, 1, NULL, 0, for_nobody);
	struct stat st;
	assert_int_equal(stat(monkey_proxy_dir(px), &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(connect_as_nobody(monkey_proxy_socket_path(px)), 0);
}

/* ---- records ---- */

static int seen_by_callback;

static void count_record(void *ctx, const struct monkey_proxy_record *rec)
{
	(void)ctx;
	if (rec->host[0])
		seen_by_callback++;
}

static void with_callback(struct monkey_proxy_options *o)
{
	o->on_record = count_record;
	o->max_records = 2;
}

static void test_records_go_to_the_callback_and_keep_the_newest(void **state)
{
	(void)state;
	seen_by_callback = 0;
	start(PH_HTTP, with_callback);
	for (int i = 0; i < 3; i++)
		free(request("GET http://%s/%d HTTP/1.1\r\n\r\n", allow_rule,
			     i));
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(seen_by_callback, 3);
	assert_int_equal(r.n_records, 2);
	assert_int_equal(r.dropped, 1);
	assert_int_equal(r.records[1].status, 200);
	assert_string_equal(r.records[1].method, "GET");
	assert_true(r.records[1].bytes_down > strlen(PH_BODY));
	assert_true(r.records[1].start_unix_ms > 1600000000000ll);
	monkey_proxy_report_free(&r);
	/* Drained: nothing twice. */
	ph_drain(px, &r);
	assert_int_equal(r.n_records, 0);
	monkey_proxy_report_free(&r);
}

static void test_record_json_and_line(void **state)
{
	(void)state;
	struct monkey_proxy_record rec = {.port = 443,
					  .decision = MONKEY_PROXY_DENIED,
					  .status = 403,
					  .bytes_up = 12,
					  .duration_ms = 3};
	strcpy(rec.method, "CONNECT");
	strcpy(rec.host, "evil.test");
	strcpy(rec.reason, "evil.test port 443 is not in the allowlist");
	char *text = monkey_proxy_record_json(&rec);
	struct json_object *o = json_tokener_parse(text);
	struct json_object *v;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "decision", &v));
	assert_string_equal(json_object_get_string(v), "denied");
	assert_true(json_object_object_get_ex(o, "bytesUp", &v));
	assert_int_equal(json_object_get_int64(v), 12);
	assert_true(json_object_object_get_ex(o, "host", &v));
	assert_string_equal(json_object_get_string(v), "evil.test");
	json_object_put(o);
	free(text);
	char line[512];
	monkey_proxy_record_line(&rec, line, sizeof(line));
	assert_string_equal(line, "CONNECT evil.test:443 denied 403, 12 B up, "
				  "0 B down, 3 ms: evil.test port 443 is not "
				  "in the allowlist");
	/* The address connected to, when it is not the host itself. */
	rec.decision = MONKEY_PROXY_ALLOWED;
	rec.status = 200;
	rec.reason[0] = '\0';
	strcpy(rec.address, "192.0.2.7");
	monkey_proxy_record_line(&rec, line, sizeof(line));
	assert_string_equal(line, "CONNECT evil.test:443 (192.0.2.7) allowed "
				  "200, 12 B up, 0 B down, 3 ms");
	strcpy(rec.host, "192.0.2.7");
	monkey_proxy_record_line(&rec, line, sizeof(line));
	assert_string_equal(line, "CONNECT 192.0.2.7:443 allowed 200, 12 B up, "
				  "0 B down, 3 ms");
}

static void test_env_points_at_the_forwarder(void **state)
{
	(void)state;
	char **env = monkey_proxy_env_new(3128);
	assert_non_null(env);
	assert_string_equal(env[0], "HTTP_PROXY=http://127.0.0.1:3128");
	assert_string_equal(env[3], "https_proxy=http://127.0.0.1:3128");
	assert_string_equal(env[4], "NO_PROXY=localhost,127.0.0.1");
	assert_string_equal(env[5], "no_proxy=localhost,127.0.0.1");
	assert_null(env[6]);
	monkey_proxy_env_free(env);
}

static void test_open_names_the_bad_rule(void **state)
{
	(void)state;
	struct monkey_proxy_options o;
	struct monkey_proxy *p = NULL;
	struct monkey_error err = {0};
	const char *allow[] = {"ok.test", "bad host"};
	monkey_proxy_options_init(&o);
	o.allow = allow;
	o.n_allow = 2;
	assert_int_equal(monkey_proxy_open(&o, &p, &err), -EINVAL);
	assert_null(p);
	assert_non_null(strstr(err.message, "--allow-domain 'bad host'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, teardown)
	    T(test_plain_http_to_an_allowed_name_is_forwarded),
	    T(test_plain_http_without_host_gets_one),
	    T(test_plain_body_is_bounded_by_content_length),
	    T(test_bytes_after_the_body_are_not_forwarded),
	    T(test_connect_relays_binary_bytes_both_ways),
	    T(test_connect_forwards_bytes_sent_with_the_header),
	    T(test_unlisted_name_gets_403_naming_the_option),
	    T(test_allowed_name_on_another_port_is_denied),
	    T(test_ip_literal_needs_an_address_rule),
	    T(test_name_resolving_to_loopback_is_refused),
	    T(test_address_rule_names_a_resolved_address),
	    T(test_pin_names_its_address_for_its_name_only),
	    T(test_unreachable_upstream_gets_502),
	    T(test_malformed_requests_get_400),
	    T(test_header_over_16_kib_gets_431),
	    T(test_connections_beyond_the_bound_wait_then_get_503),
	    T(test_a_waiting_connection_is_served_when_a_slot_frees),
	    T(test_idle_tunnel_is_closed),
	    T(test_silent_client_gets_408),
	    T(test_busy_tunnel_ends_at_the_total_timeout),
	    T(test_nothing_listens_after_close),
	    T(test_only_the_owner_may_connect),
	    T(test_records_go_to_the_callback_and_keep_the_newest),
	    T(test_record_json_and_line),
	    T(test_env_points_at_the_forwarder),
	    T(test_open_names_the_bad_rule),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
