/* Bounded capture of one output stream: keeps the head and the tail, counts
 * everything.  Memory never exceeds the cap, however much is written. */
#ifndef MONKEY_CAPTURE_H
#define MONKEY_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include <monkey/exec.h>

struct monkey_capture_buf {
	size_t head_cap; /* bytes kept from the start */
	size_t ring_cap; /* bytes kept from the end */
	char *head;
	size_t head_len;
	size_t head_alloc;
	char *ring;
	size_t ring_start; /* index of the oldest byte */
	size_t ring_len;
	uint64_t total;
	int failed; /* an allocation failed; bytes were counted, not kept */
};

/* max is the total bytes kept (head + tail); 0 keeps nothing. */
void monkey_capture_buf_init(struct monkey_capture_buf *b, size_t max);
void monkey_capture_buf_append(struct monkey_capture_buf *b, const void *data,
			       size_t len);
/* Move the contents into cap (which the caller frees with
 * monkey_result_free or monkey_capture_clear) and reset b. */
int monkey_capture_buf_finish(struct monkey_capture_buf *b,
			      struct monkey_capture *cap);
void monkey_capture_buf_free(struct monkey_capture_buf *b);
void monkey_capture_clear(struct monkey_capture *cap);

/* Shorten text to at most about max bytes: head and tail joined by
 * "\n[... N bytes omitted ...]\n", each cut at a UTF-8 boundary.  Returns a
 * new NUL-terminated string (caller frees). */
char *monkey_shorten(const char *text, size_t len, size_t max, size_t *outlen);

#endif
