/* Incremental parser for text/event-stream (server-sent events) as the LLM
 * providers stream them: bytes go in as they arrive, whole events come out. */
#ifndef MONKEY_SSE_H
#define MONKEY_SSE_H

#include <stdbool.h>
#include <stddef.h>

/* Called once per dispatched event.  event is the "event:" field ("message"
 * when absent), data the joined "data:" lines (NUL-terminated, may contain
 * NULs, data_len bytes).  Both are borrowed for the call.  A non-zero
 * return stops the parser; monkey_sse_feed returns it. */
typedef int (*monkey_sse_event_fn)(void *ctx, const char *event,
				   const char *data, size_t data_len);

struct monkey_sse {
	monkey_sse_event_fn cb;
	void *ctx;
	/* Bytes of one event (fields included).  The caller may lower or
	 * raise it between events (from the callback). */
	size_t max_event;
	char *line; /* the line being read */
	size_t line_len, line_cap;
	char *data; /* data of the event being built */
	size_t data_len, data_cap;
	bool has_data;
	char event[64];
	bool skip_lf; /* last byte was CR: a following LF ends nothing */
	bool failed;
	size_t events; /* dispatched so far */
};

/* max_event 0 means 16 MiB. */
void monkey_sse_init(struct monkey_sse *p, size_t max_event,
		     monkey_sse_event_fn cb, void *ctx);
/* Feed len bytes.  Returns 0, the callback's non-zero value, or -E2BIG
 * when one event grows past max_event, -ENOMEM.  After a failure every
 * later call returns -EPROTO. */
int monkey_sse_feed(struct monkey_sse *p, const char *buf, size_t len);
/* True when nothing is buffered (the stream stopped between events). */
bool monkey_sse_idle(const struct monkey_sse *p);
/* Forget any partial event and line (before a retried request). */
void monkey_sse_reset(struct monkey_sse *p);
void monkey_sse_free(struct monkey_sse *p);

#endif
