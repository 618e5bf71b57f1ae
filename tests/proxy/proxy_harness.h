/* Fixture of the egress proxy tests: upstream servers on 127.0.0.1 (an HTTP
 * responder that keeps what it was sent, an echo server, a byte source),
 * clients over the proxy's unix socket or a forwarder's TCP port, and
 * checks that nothing is left listening.  Loopback only. */
#ifndef MONKEY_TEST_PROXY_HARNESS_H
#define MONKEY_TEST_PROXY_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/proxy.h>

enum ph_mode {
	PH_HTTP,   /* read one request (header and Content-Length body),
		      answer 200 with body "hello from upstream\n", close */
	PH_ECHO,   /* send back every byte until end of file */
	PH_SOURCE, /* send source_bytes bytes after a request header */
};

#define PH_BODY "hello from upstream\n"

struct ph_server;

/* Start a server on 127.0.0.1, on a port of its own; its threads end in
 * ph_server_stop. */
struct ph_server *ph_server_start(enum ph_mode mode);
uint16_t ph_server_port(const struct ph_server *s);
/* Connections accepted so far. */
unsigned ph_server_accepted(struct ph_server *s);
/* The last request the HTTP server read (header and body), NUL-ended;
 * caller frees. */
char *ph_server_last_request(struct ph_server *s);
/* PH_SOURCE: how many bytes each connection gets. */
void ph_server_set_source(struct ph_server *s, uint64_t bytes);
void ph_server_stop(struct ph_server *s);

/* Connect to a unix socket / to 127.0.0.1:port; -1 on failure. */
int ph_connect_unix(const char *path);
int ph_connect_tcp(uint16_t port);
/* Write all of it; 0 or -1. */
int ph_send_all(int fd, const void *buf, size_t len);
/* Read until end of file, cap bytes or timeout_ms; the bytes read
 * (NUL-terminated in buf, which holds cap + 1). */
size_t ph_read_all(int fd, char *buf, size_t cap, int timeout_ms);
/* Read up to the end of a response header ("\r\n\r\n"); its length, or
 * 0 on end of file or timeout. */
size_t ph_read_header(int fd, char *buf, size_t cap, int timeout_ms);
/* Whether fd reads end of file (or a reset) within timeout_ms. */
bool ph_closed_within(int fd, int timeout_ms);

/* Connect to sock, send text, read the whole answer (up to 64 KiB;
 * caller frees). */
char *ph_exchange(const char *sock, const char *text);
/* The status code of an HTTP answer, or -1. */
int ph_status(const char *answer);

/* Open a proxy with these rules and default options tweaked by tweak
 * (may be NULL); fails the test when it cannot. */
struct monkey_proxy *ph_proxy(const char *const *allow, size_t n_allow,
			      const char *const *resolve, size_t n_resolve,
			      void (*tweak)(struct monkey_proxy_options *));

/* Whether a unix socket bound at path shows in /proc/net/unix. */
bool ph_unix_listed(const char *path);
/* This process's thread count, and of those whose name starts with
 * prefix. */
int ph_threads(void);
int ph_threads_named(const char *prefix);

/* Drain p and return its records (caller frees the report). */
void ph_drain(struct monkey_proxy *p, struct monkey_proxy_report *r);

#endif
