/* Parsing of the one request header a client sends the egress proxy, and
 * the origin-form header it forwards.  Everything here reads hostile
 * bytes: every index is checked against the header's length, nothing is
 * allocated, and what is kept (host, method) is validated text. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy_request.h"

static int refuse(struct proxy_request *req, int status, const char *why)
{
	req->status = status;
	req->error = why;
	return -1;
}

static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A byte a field value may hold: visible ASCII, space, tab, obs-text. */
static bool vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The header's end: 1 and *end past the blank line; 0 when not there yet;
 * -1 on a bare CR or LF or a NUL, which no valid request holds (refused
 * at once, not after waiting for more). */
static int find_end(const char *buf, size_t len, size_t *end)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\0')
			return -1;
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
			return -1;
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] != '\n')
			return -1;
		if (buf[i] == '\n' && i >= 3 && buf[i - 2] == '\n') {
			*end = i + 1;
			return 1;
		}
	}
	return 0;
}

static bool span_is(const char *buf, struct proxy_span s, const char *word)
{
	return s.len == strlen(word) &&
	       strncasecmp(buf + s.off, word, s.len) == 0;
}

/* ---- the request line ---- */

static int parse_authority(const char *buf, struct proxy_span a,
			   struct proxy_request *req)
{
	if (memchr(buf + a.off, '@', a.len))
		return refuse(req, 400,
			      "user information in the URL is not "
			      "supported");
	if (proxy_parse_hostport(buf + a.off, a.len, &req->host, &req->port))
		return refuse(req, 400, "the request names no valid host");
	return 0;
}

static int parse_absolute(const char *buf, struct proxy_span t,
			  struct proxy_request *req)
{
	const char *s = buf + t.off;
	if (t.len >= 8 && strncasecmp(s, "https://", 8) == 0)
		return refuse(req, 400, "https URLs go through CONNECT");
	if (t.len < 7 || strncasecmp(s, "http://", 7) != 0)
		return refuse(req, 400,
			      "a proxy request names its URL in absolute "
			      "form (GET http://host/path HTTP/1.1) or is "
			      "CONNECT host:port");
	struct proxy_span a = {t.off + 7, 0};
	while (a.len < t.len - 7 && buf[a.off + a.len] != '/' &&
	       buf[a.off + a.len] != '?')
		a.len++;
	if (parse_authority(buf, a, req) < 0)
		return -1;
	if (!req->port)
		req->port = 80;
	req->path.off = a.off + a.len;
	req->path.len = t.len - 7 - a.len;
	return 0;
}

static int parse_target(const char *buf, struct proxy_span t,
			struct proxy_request *req)
{
	for (size_t i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)buf[t.off + i];
		if (c <= 0x20 || c >= 0x7f || c == '#')
			return refuse(req, 400,
				      "the request target holds a "
				      "byte a URL may not");
	}
	if (req->kind == PROXY_REQ_HTTP)
		return parse_absolute(buf, t, req);
	if (parse_authority(buf, t, req) < 0)
		return -1;
	if (!req->port)
		return refuse(req, 400, "CONNECT names host:port");
	return 0;
}

/* METHOD SP TARGET SP HTTP/1.x, ending at eol. */
static int parse_line(const char *buf, size_t eol, struct proxy_request *req)
{
	size_t m = 0;
	while (m < eol && tchar((unsigned char)buf[m]))
		m++;
	if (m == 0 || m >= sizeof(req->method) || m >= eol || buf[m] != ' ')
		return refuse(req, 400, "malformed request line");
	memcpy(req->method, buf, m);
	req->method[m] = '\0';
	req->kind = strcmp(req->method, "CONNECT") == 0 ? PROXY_REQ_CONNECT
							: PROXY_REQ_HTTP;
	struct proxy_span t = {m + 1, 0};
	while (t.off + t.len < eol && buf[t.off + t.len] != ' ')
		t.len++;
	size_t v = t.off + t.len + 1;
	if (t.len == 0 || v >= eol || eol - v != 8 ||
	    strncmp(buf + v, "HTTP/", 5) != 0)
		return refuse(req, 400, "malformed request line");
	if (strncmp(buf + v + 5, "1.", 2) != 0 ||
	    (buf[v + 7] != '0' && buf[v + 7] != '1'))
		return refuse(req, 505,
			      "only HTTP/1.0 and HTTP/1.1 are "
			      "spoken here");
	req->version = buf[v + 7];
	return parse_target(buf, t, req);
}

/* ---- header fields ---- */

static int add_conn_tokens(const char *buf, struct proxy_span v,
			   struct proxy_request *req)
{
	size_t i = v.off, end = v.off + v.len;
	while (i < end) {
		while (i < end &&
		       (buf[i] == ' ' || buf[i] == '\t' || buf[i] == ','))
			i++;
		struct proxy_span tok = {i, 0};
		while (i < end && tchar((unsigned char)buf[i])) {
			i++;
			tok.len++;
		}
		if (!tok.len) {
			if (i < end)
				return refuse(req, 400,
					      "malformed Connection "
					      "header");
			break;
		}
		if (req->n_conn == PROXY_CONN_TOKENS)
			return refuse(req, 400, "too many Connection options");
		req->conn[req->n_conn++] = tok;
	}
	return 0;
}

static int parse_length(const char *buf, struct proxy_span v,
			struct proxy_request *req, bool *seen)
{
	uint64_t n = 0;
	if (v.len == 0 || v.len > 18)
		return refuse(req, 400, "malformed Content-Length");
	for (size_t i = 0; i < v.len; i++) {
		char c = buf[v.off + i];
		if (c < '0' || c > '9')
			return refuse(req, 400, "malformed Content-Length");
		n = n * 10 + (uint64_t)(c - '0');
	}
	if (*seen && n != req->content_length)
		return refuse(req, 400, "conflicting Content-Length headers");
	*seen = true;
	req->content_length = n;
	return 0;
}

/* The Host header of a plain request must name the URL's host and port. */
static int check_host(const char *buf, struct proxy_span v,
		      struct proxy_request *req)
{
	struct proxy_host h;
	uint16_t port;
	if (req->has_host)
		return refuse(req, 400, "more than one Host header");
	req->has_host = true;
	if (req->kind != PROXY_REQ_HTTP)
		return 0;
	if (proxy_parse_hostport(buf + v.off, v.len, &h, &port))
		return refuse(req, 400, "malformed Host header");
	if (strcmp(h.name, req->host.name) != 0 ||
	    (port ? port : 80) != req->port)
		return refuse(req, 400,
			      "the Host header does not match the "
			      "URL's host and port");
	return 0;
}

struct field_state {
	bool length_seen;
};

static int parse_field(const char *buf, size_t off, size_t eol,
		       struct proxy_request *req, struct field_state *st)
{
	struct proxy_span name = {off, 0};
	while (name.off + name.len < eol &&
	       tchar((unsigned char)buf[name.off + name.len]))
		name.len++;
	size_t i = name.off + name.len;
	if (!name.len || i >= eol || buf[i] != ':')
		return refuse(req, 400, "malformed header field");
	struct proxy_span v = {i + 1, 0};
	for (size_t k = v.off; k < eol; k++)
		if (!vchar((unsigned char)buf[k]))
			return refuse(req, 400,
				      "a header field holds a "
				      "control character");
	while (v.off < eol && (buf[v.off] == ' ' || buf[v.off] == '\t'))
		v.off++;
	v.len = eol - v.off;
	while (v.len && (buf[v.off + v.len - 1] == ' ' ||
			 buf[v.off + v.len - 1] == '\t'))
		v.len--;
	if (span_is(buf, name, "host"))
		return check_host(buf, v, req);
	if (span_is(buf, name, "content-length"))
		return parse_length(buf, v, req, &st->length_seen);
	if (span_is(buf, name, "transfer-encoding"))
		return refuse(req, 411,
			      "request bodies need a Content-Length "
			      "(Transfer-Encoding is not "
			      "supported)");
	if (span_is(buf, name, "connection") ||
	    span_is(buf, name, "proxy-connection"))
		return add_conn_tokens(buf, v, req);
	return 0;
}

int proxy_request_parse(const char *buf, size_t len, size_t max_header,
			struct proxy_request *req)
{
	size_t end = 0;
	memset(req, 0, sizeof(*req));
	int found = find_end(buf, len < max_header ? len : max_header, &end);
	if (found < 0)
		return refuse(req, 400,
			      "malformed request: a NUL, or a line "
			      "not ended by CRLF");
	if (!found)
		return len >= max_header
			   ? refuse(req, 431, "the request header is too large")
			   : 0;
	req->header_len = end;
	size_t eol = (size_t)((const char *)memchr(buf, '\r', end) - buf);
	if (parse_line(buf, eol, req) < 0)
		return -1;
	struct field_state st = {false};
	for (size_t off = eol + 2; off < end - 2;) {
		size_t e =
		    (size_t)((const char *)memchr(buf + off, '\r', end - off) -
			     buf);
		if (buf[off] == ' ' || buf[off] == '\t')
			return refuse(req, 400,
				      "folded header lines are not "
				      "supported");
		if (parse_field(buf, off, e, req, &st) < 0)
			return -1;
		off = e + 2;
	}
	if (req->kind == PROXY_REQ_CONNECT && req->content_length)
		return refuse(req, 400, "CONNECT carries no body");
	return 1;
}

/* ---- forwarding ---- */

static bool hop_by_hop(const char *buf, struct proxy_span name,
		       const struct proxy_request *req)
{
	static const char *const names[] = {"connection",
					    "proxy-connection",
					    "keep-alive",
					    "te",
					    "trailer",
					    "upgrade",
					    "proxy-authorization",
					    "proxy-authenticate",
					    "transfer-encoding"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (span_is(buf, name, names[i]))
			return true;
	for (size_t i = 0; i < req->n_conn; i++)
		if (req->conn[i].len == name.len &&
		    strncasecmp(buf + req->conn[i].off, buf + name.off,
				name.len) == 0)
			return true;
	return false;
}

struct out {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->overflow || n > o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_str(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void put_host(struct out *o, const struct proxy_request *req)
{
	char port[16];
	bool v6 = req->host.is_addr && !proxy_addr_is_v4(&req->host.addr);
	put_str(o, "Host: ");
	put_str(o, v6 ? "[" : "");
	put_str(o, req->host.name);
	put_str(o, v6 ? "]" : "");
	if (req->port != 80) {
		snprintf(port, sizeof(port), ":%u", (unsigned)req->port);
		put_str(o, port);
	}
	put_str(o, "\r\n");
}

ssize_t proxy_request_forward(const char *buf, const struct proxy_request *req,
			      char *out, size_t cap)
{
	struct out o = {out, 0, cap, false};
	const char *line_end = memchr(buf, '\r', req->header_len);
	put_str(&o, req->method);
	put_str(&o, " ");
	if (!req->path.len || buf[req->path.off] != '/')
		put_str(&o, "/");
	put(&o, buf + req->path.off, req->path.len);
	put_str(&o, req->version == '0' ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
	if (!req->has_host)
		put_host(&o, req);
	size_t off = (size_t)(line_end - buf) + 2;
	while (off < req->header_len - 2) {
		const char *e = memchr(buf + off, '\r', req->header_len - off);
		struct proxy_span name = {off, 0};
		while (buf[name.off + name.len] != ':')
			name.len++;
		if (!hop_by_hop(buf, name, req))
			put(&o, buf + off, (size_t)(e - buf) - off + 2);
		off = (size_t)(e - buf) + 2;
	}
	put_str(&o, "Connection: close\r\n\r\n");
	return o.overflow ? -1 : (ssize_t)o.len;
}
