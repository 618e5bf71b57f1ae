/* The egress proxy's request parser and the header it forwards: complete,
 * incomplete, refused with the right status, and a forwarded header that
 * carries the client's end-to-end fields and none of the hop-by-hop
 * ones. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy_request.h"

#define MAX (16 * 1024)

static int parse(const char *text, struct proxy_request *req)
{
	return proxy_request_parse(text, strlen(text), MAX, req);
}

static void test_connect_is_parsed(void **state)
{
	(void)state;
	struct proxy_request req;
	const char *t = "CONNECT Registry.NPMJS.org:443 HTTP/1.1\r\n"
			"Host: registry.npmjs.org:443\r\n\r\n\x16\x03\x01";
	assert_int_equal(parse(t, &req), 1);
	assert_int_equal(req.kind, PROXY_REQ_CONNECT);
	assert_string_equal(req.method, "CONNECT");
	assert_string_equal(req.host.name, "registry.npmjs.org");
	assert_false(req.host.is_addr);
	assert_int_equal(req.port, 443);
	assert_int_equal(req.header_len, strlen(t) - 3);
}

static void test_connect_to_ipv6_literal(void **state)
{
	(void)state;
	struct proxy_request req;
	assert_int_equal(
	    parse("CONNECT [2001:DB8::1]:8443 HTTP/1.1\r\n\r\n", &req), 1);
	assert_true(req.host.is_addr);
	assert_string_equal(req.host.name, "2001:db8::1");
	assert_int_equal(req.port, 8443);
}

static void test_absolute_form_is_parsed(void **state)
{
	(void)state;
	struct proxy_request req;
	const char *t =
	    "GET http://deb.debian.org/debian/dists?x=1 HTTP/1.1\r\n"
	    "Host: deb.debian.org\r\n\r\n";
	assert_int_equal(parse(t, &req), 1);
	assert_int_equal(req.kind, PROXY_REQ_HTTP);
	assert_string_equal(req.host.name, "deb.debian.org");
	assert_int_equal(req.port, 80);
	assert_true(req.has_host);
	assert_int_equal(req.path.len, strlen("/debian/dists?x=1"));
	assert_memory_equal(t + req.path.off, "/debian/dists?x=1",
			    req.path.len);
}

static void test_incomplete_header_needs_more(void **state)
{
	(void)state;
	struct proxy_request req;
	const char *full =
	    "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n";
	for (size_t n = 0; n < strlen(full); n++)
		if (proxy_request_parse(full, n, MAX, &req) != 0)
			fail_msg("%zu bytes: not 'more needed'", n);
	assert_int_equal(parse(full, &req), 1);
}

static void test_header_at_the_bound(void **state)
{
	(void)state;
	struct proxy_request req;
	char *t = malloc(MAX + 1);
	const char *start = "GET http://a.test/ HTTP/1.1\r\nX: ";
	size_t s = strlen(start);
	memcpy(t, start, s);
	memset(t + s, 'x', MAX - s - 4);
	memcpy(t + MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(proxy_request_parse(t, MAX, MAX, &req), 1);
	/* One byte more and the header does not end within the bound. */
	t = realloc(t, MAX + 2);
	memmove(t + s + 1, t + s, MAX - s);
	t[s] = 'x';
	assert_int_equal(proxy_request_parse(t, MAX + 1, MAX, &req), -1);
	assert_int_equal(req.status, 431);
	/* Without an end at all, refused once the bound is reached. */
	assert_int_equal(proxy_request_parse(t, MAX - 10, MAX, &req), 0);
	memset(t, 'a', MAX);
	assert_int_equal(proxy_request_parse(t, MAX, MAX, &req), -1);
	assert_int_equal(req.status, 431);
	free(t);
}

static void test_bare_lf_and_nul_are_refused_at_once(void **state)
{
	(void)state;
	struct proxy_request req;
	/* No need to wait for the end of a header that cannot be valid. */
	assert_int_equal(parse("GET http://a.test/ HTTP/1.1\n", &req), -1);
	assert_int_equal(req.status, 400);
	assert_int_equal(proxy_request_parse("GET \0", 5, MAX, &req), -1);
	assert_int_equal(parse("GET\rX", &req), -1);
}

static void test_forwarded_header_drops_hop_by_hop_fields(void **state)
{
	(void)state;
	struct proxy_request req;
	const char *t = "POST http://a.test:8080/p HTTP/1.1\r\n"
			"Host: a.test:8080\r\n"
			"Connection: keep-alive, X-Secret\r\n"
			"X-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
			"Upgrade: h2c\r\nProxy-Authorization: x\r\n"
			"Content-Length: 3\r\nAccept: */*\r\n\r\nabc";
	char out[1024];
	assert_int_equal(parse(t, &req), 1);
	assert_int_equal(req.content_length, 3);
	ssize_t n = proxy_request_forward(t, &req, out, sizeof(out) - 1);
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "POST /p HTTP/1.1\r\n"
				 "Host: a.test:8080\r\n"
				 "Content-Length: 3\r\nAccept: */*\r\n"
				 "Connection: close\r\n\r\n");
	/* Too small a buffer is a refusal, not an overflow. */
	assert_int_equal(proxy_request_forward(t, &req, out, 20), -1);
}

static void test_forwarded_header_adds_host(void **state)
{
	(void)state;
	struct proxy_request req;
	char out[256];
	const char *t = "GET http://[2001:db8::1]:8080?q HTTP/1.0\r\n\r\n";
	assert_int_equal(parse(t, &req), 1);
	ssize_t n = proxy_request_forward(t, &req, out, sizeof(out) - 1);
	out[n] = '\0';
	assert_string_equal(out, "GET /?q HTTP/1.0\r\n"
				 "Host: [2001:db8::1]:8080\r\n"
				 "Connection: close\r\n\r\n");
}

static void test_host_header_must_match_the_url(void **state)
{
	(void)state;
	struct proxy_request req;
	assert_int_equal(parse("GET http://a.test/ HTTP/1.1\r\n"
			       "Host: A.TEST:80\r\n\r\n",
			       &req),
			 1);
	assert_int_equal(parse("GET http://a.test/ HTTP/1.1\r\n"
			       "Host: b.test\r\n\r\n",
			       &req),
			 -1);
	assert_int_equal(req.status, 400);
	assert_int_equal(parse("GET http://a.test:8080/ HTTP/1.1\r\n"
			       "Host: a.test\r\n\r\n",
			       &req),
			 -1);
	/* CONNECT's Host is not checked against its authority. */
	assert_int_equal(parse("CONNECT a.test:443 HTTP/1.1\r\n"
			       "Host: whatever\r\n\r\n",
			       &req),
			 1);
}

static void test_unsupported_things_get_their_status(void **state)
{
	(void)state;
	struct proxy_request req;
	assert_int_equal(parse("GET http://a.test/ HTTP/1.2\r\n\r\n", &req),
			 -1);
	assert_int_equal(req.status, 505);
	assert_int_equal(parse("POST http://a.test/ HTTP/1.1\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n",
			       &req),
			 -1);
	assert_int_equal(req.status, 411);
	assert_int_equal(parse("CONNECT a.test:443 HTTP/1.1\r\n"
			       "Content-Length: 4\r\n\r\n",
			       &req),
			 -1);
	assert_int_equal(req.status, 400);
	assert_int_equal(parse("VERYLONGMETHODNAME http://a.test/ HTTP/1.1\r\n"
			       "\r\n",
			       &req),
			 -1);
	assert_int_equal(req.status, 400);
}

static void test_too_many_connection_options(void **state)
{
	(void)state;
	struct proxy_request req;
	char t[512];
	strcpy(t, "GET http://a.test/ HTTP/1.1\r\nConnection: a");
	for (int i = 0; i < 16; i++)
		strcat(t, ",b");
	strcat(t, "\r\n\r\n");
	assert_int_equal(parse(t, &req), -1);
	assert_int_equal(req.status, 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_is_parsed),
	    cmocka_unit_test(test_connect_to_ipv6_literal),
	    cmocka_unit_test(test_absolute_form_is_parsed),
	    cmocka_unit_test(test_incomplete_header_needs_more),
	    cmocka_unit_test(test_header_at_the_bound),
	    cmocka_unit_test(test_bare_lf_and_nul_are_refused_at_once),
	    cmocka_unit_test(test_forwarded_header_drops_hop_by_hop_fields),
	    cmocka_unit_test(test_forwarded_header_adds_host),
	    cmocka_unit_test(test_host_header_must_match_the_url),
	    cmocka_unit_test(test_unsupported_things_get_their_status),
	    cmocka_unit_test(test_too_many_connection_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
