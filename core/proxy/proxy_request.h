/* The egress proxy's request parser: one HTTP/1.x request header from a
 * sandboxed client (CONNECT host:port, or an absolute-form plain request),
 * validated strictly, and the header forwarded upstream for a plain one.
 * Pure functions over a buffer: the fuzz target drives them directly. */
#ifndef MONKEY_PROXY_REQUEST_H
#define MONKEY_PROXY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxy_rules.h"
#include "util.h"

enum proxy_req_kind {
	PROXY_REQ_CONNECT = 1,
	PROXY_REQ_HTTP,
};

#define PROXY_CONN_TOKENS 16

struct proxy_span {
	size_t off, len;
};

struct proxy_request {
	int kind;
	char method[16];
	struct proxy_host host;
	uint16_t port;
	char version;	   /* '0' or '1': HTTP/1.0 or HTTP/1.1 */
	size_t header_len; /* through the blank line */
	/* A plain request: the path and query after the authority ("" means
	 * "/"), whether a Host header came, and its body's length. */
	struct proxy_span path;
	bool has_host;
	uint64_t content_length;
	/* The options the Connection headers list (hop-by-hop names). */
	struct proxy_span conn[PROXY_CONN_TOKENS];
	size_t n_conn;
	/* When the request is refused: the status to answer and why. */
	int status;
	const char *error;
};

/* Look at the len bytes a client sent so far.  1: a complete, valid
 * header (req filled); 0: more bytes are needed; -1: refused, with
 * req->status (400, 411, 431, 505) and req->error (static, one line). */
int proxy_request_parse(const char *buf, size_t len, size_t max_header,
			struct proxy_request *req);

/* The header to send upstream for a plain request: the request line in
 * origin form, the client's headers without the hop-by-hop ones (and
 * those Connection names), Host when the client sent none, and
 * "Connection: close".  Its length, or -1 when it does not fit in cap. */
ssize_t proxy_request_forward(const char *buf, const struct proxy_request *req,
			      char *out, size_t cap);

#endif
