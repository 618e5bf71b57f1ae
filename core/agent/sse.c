/* Server-sent events parser following the WHATWG event-stream rules: lines
 * end in CR, LF or CRLF (possibly split across reads), "data:" lines join
 * with LF, ":" lines are comments, a blank line dispatches. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

#define SSE_DEFAULT_MAX (16u * 1024 * 1024)
/* Buffers larger than this are released after use: one large event must
 * not keep its memory for the rest of the stream. */
#define SSE_KEEP (64u * 1024)

void monkey_sse_init(struct monkey_sse *p, size_t max_event,
		     monkey_sse_event_fn cb, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->cb = cb;
	p->ctx = ctx;
	p->max_event = max_event ? max_event : SSE_DEFAULT_MAX;
}

void monkey_sse_reset(struct monkey_sse *p)
{
	p->line_len = 0;
	p->data_len = 0;
	p->has_data = false;
	p->event[0] = '\0';
	p->skip_lf = false;
	p->failed = false;
}

void monkey_sse_free(struct monkey_sse *p)
{
	free(p->line);
	free(p->data);
	p->line = p->data = NULL;
	p->line_cap = p->data_cap = 0;
	monkey_sse_reset(p);
}

bool monkey_sse_idle(const struct monkey_sse *p)
{
	return p->line_len == 0 && !p->has_data && p->event[0] == '\0';
}

static int grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 256;
	while (n < need)
		n *= 2;
	char *b = realloc(*buf, n);
	if (!b)
		return -ENOMEM;
	*buf = b;
	*cap = n;
	return 0;
}

static int dispatch(struct monkey_sse *p)
{
	int r = 0;
	if (p->has_data) {
		if (grow(&p->data, &p->data_cap, p->data_len + 1) < 0)
			return -ENOMEM;
		p->data[p->data_len] = '\0';
		p->events++;
		r = p->cb(p->ctx, p->event[0] ? p->event : "message", p->data,
			  p->data_len);
	}
	/* The event type and data reset after every blank line. */
	p->data_len = 0;
	p->has_data = false;
	p->event[0] = '\0';
	if (p->data_cap > SSE_KEEP) {
		free(p->data);
		p->data = NULL;
		p->data_cap = 0;
	}
	return r;
}

static int field(struct monkey_sse *p, const char *line, size_t len)
{
	if (len == 0)
		return dispatch(p);
	if (line[0] == ':')
		return 0; /* comment, used as keep-alive */
	const char *colon = memchr(line, ':', len);
	size_t nlen = colon ? (size_t)(colon - line) : len;
	const char *val = colon ? colon + 1 : line + len;
	size_t vlen = colon ? len - nlen - 1 : 0;
	if (vlen && *val == ' ') {
		val++;
		vlen--;
	}
	if (nlen == 4 && memcmp(line, "data", 4) == 0) {
		size_t need = p->data_len + vlen + 2;
		if (need > p->max_event)
			return -E2BIG;
		if (grow(&p->data, &p->data_cap, need) < 0)
			return -ENOMEM;
		if (p->has_data)
			p->data[p->data_len++] = '\n';
		memcpy(p->data + p->data_len, val, vlen);
		p->data_len += vlen;
		p->has_data = true;
	} else if (nlen == 5 && memcmp(line, "event", 5) == 0) {
		/* Event names are short identifiers; a longer one is cut,
		 * which makes it unknown to every consumer. */
		size_t n =
		    vlen < sizeof(p->event) - 1 ? vlen : sizeof(p->event) - 1;
		memcpy(p->event, val, n);
		p->event[n] = '\0';
		if (n == 0) /* "event:" with no value means the default */
			p->event[0] = '\0';
	}
	/* id and retry only matter to reconnecting browsers. */
	return 0;
}

int monkey_sse_feed(struct monkey_sse *p, const char *buf, size_t len)
{
	if (p->failed)
		return -EPROTO;
	for (size_t i = 0; i < len;) {
		if (p->skip_lf) {
			p->skip_lf = false;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		/* Copy up to the next line end in one go. */
		size_t j = i;
		while (j < len && buf[j] != '\n' && buf[j] != '\r')
			j++;
		size_t n = j - i;
		if (n) {
			if (p->line_len + n + p->data_len > p->max_event) {
				p->failed = true;
				return -E2BIG;
			}
			if (grow(&p->line, &p->line_cap, p->line_len + n) < 0) {
				p->failed = true;
				return -ENOMEM;
			}
			memcpy(p->line + p->line_len, buf + i, n);
			p->line_len += n;
		}
		if (j == len)
			break;
		if (buf[j] == '\r')
			p->skip_lf = true;
		size_t ll = p->line_len;
		p->line_len = 0;
		int r = field(p, p->line ? p->line : "", ll);
		if (p->line_cap > SSE_KEEP) {
			free(p->line);
			p->line = NULL;
			p->line_cap = 0;
		}
		if (r) {
			p->failed = true;
			return r;
		}
		i = j + 1;
	}
	return 0;
}
