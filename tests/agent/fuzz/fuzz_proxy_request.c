/* libFuzzer target: bytes as the egress proxy reads them from a sandboxed
 * client (a request header), or as --allow-domain and --proxy-resolve
 * values.  The first byte picks which.  Nothing may crash, leak or read
 * out of bounds, and what is accepted must hold what the proxy relies on:
 * a valid host and port, and a forwarded header that fits the buffer the
 * proxy gives it and is well formed. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_request.h"
#include "proxy_rules.h"

#define MAX_HEADER 4096

static void check_host(const struct proxy_host *h)
{
	size_t n = strlen(h->name);
	if (n == 0 || n > 253)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = h->name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '_' || c == '.' ||
			  (h->is_addr && c == ':');
		if (!ok)
			abort();
	}
}

static void check_forward(const char *buf, const struct proxy_request *req)
{
	/* The proxy's buffer is at least the header bound plus 1 KiB. */
	static char out[MAX_HEADER + 1024];
	ssize_t n = proxy_request_forward(buf, req, out, sizeof(out));
	if (n < 0)
		abort();
	size_t len = (size_t)n, m = strlen(req->method);
	if (len < 4 || memcmp(out + len - 4, "\r\n\r\n", 4) != 0 ||
	    memcmp(out, req->method, m) != 0 || out[m] != ' ' ||
	    out[m + 1] != '/' || memchr(out, '\0', len))
		abort();
	for (size_t i = 0; i < len; i++)
		if ((out[i] == '\n') != (i > 0 && out[i - 1] == '\r'))
			abort();
	if (!strstr(out, "\r\nConnection: close\r\n\r\n"))
		abort();
}

static void request(const char *buf, size_t size)
{
	struct proxy_request req;
	int r = proxy_request_parse(buf, size, MAX_HEADER, &req);
	if (r < 0) {
		if (!req.error || (req.status != 400 && req.status != 411 &&
				   req.status != 431 && req.status != 505))
			abort();
		return;
	}
	if (r == 0) {
		if (size >= MAX_HEADER)
			abort();
		return;
	}
	if (req.header_len > size || req.header_len > MAX_HEADER ||
	    req.port == 0 || !req.method[0])
		abort();
	check_host(&req.host);
	if (req.kind == PROXY_REQ_HTTP)
		check_forward(buf, &req);
}

static void rule(const char *text, bool resolve)
{
	struct proxy_rules r = {0};
	struct monkey_error err = {0};
	int rc = resolve ? proxy_rules_add_resolve(&r, text, &err)
			 : proxy_rules_add_allow(&r, text, &err);
	if (rc < 0 && !err.message[0])
		abort();
	for (size_t i = 0; rc == 0 && i < r.n_rules; i++) {
		struct proxy_host h = {.is_addr = r.rules[i].is_addr};
		memcpy(h.name, r.rules[i].name, sizeof(h.name));
		check_host(&h);
	}
	for (size_t i = 0; rc == 0 && i < r.n_pins; i++)
		if (r.pins[i].n == 0 || r.pins[i].n > PROXY_PIN_ADDRS)
			abort();
	proxy_rules_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] % 3;
	/* A copy of exactly the bytes, so that ASan sees any read past
	 * them; NUL-terminated for the option values only. */
	size_t n = size - 1;
	char *buf = malloc(n + (mode != 0));
	if (!buf)
		return 0;
	memcpy(buf, data + 1, n);
	if (mode == 0) {
		request(buf, n);
	} else {
		buf[n] = '\0';
		rule(buf, mode == 2);
	}
	free(buf);
	return 0;
}
