/* Bounded head+tail capture of command output, and head+tail shortening of
 * text for the model. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "util.h"

void monkey_capture_buf_init(struct monkey_capture_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->head_cap = max / 2;
	b->ring_cap = max - b->head_cap;
}

static void head_append(struct monkey_capture_buf *b, const char *p, size_t n)
{
	if (b->head_len + n > b->head_alloc) {
		size_t want = b->head_alloc ? b->head_alloc : 4096;
		while (want < b->head_len + n)
			want *= 2;
		if (want > b->head_cap)
			want = b->head_cap;
		char *h = realloc(b->head, want);
		if (!h) {
			b->failed = 1;
			return;
		}
		b->head = h;
		b->head_alloc = want;
	}
	memcpy(b->head + b->head_len, p, n);
	b->head_len += n;
}

static void ring_append(struct monkey_capture_buf *b, const char *p, size_t n)
{
	if (b->ring_cap == 0)
		return;
	if (!b->ring) {
		b->ring = malloc(b->ring_cap);
		if (!b->ring) {
			b->failed = 1;
			return;
		}
	}
	if (n >= b->ring_cap) {
		/* Only the last ring_cap bytes matter. */
		memcpy(b->ring, p + n - b->ring_cap, b->ring_cap);
		b->ring_start = 0;
		b->ring_len = b->ring_cap;
		return;
	}
	size_t end = (b->ring_start + b->ring_len) % b->ring_cap;
	size_t first = b->ring_cap - end < n ? b->ring_cap - end : n;
	memcpy(b->ring + end, p, first);
	memcpy(b->ring, p + first, n - first);
	size_t len = b->ring_len + n;
	if (len > b->ring_cap) {
		b->ring_start =
		    (b->ring_start + (len - b->ring_cap)) % b->ring_cap;
		len = b->ring_cap;
	}
	b->ring_len = len;
}

void monkey_capture_buf_append(struct monkey_capture_buf *b, const void *data,
			       size_t len)
{
	const char *p = data;
	if (!len)
		return; /* nothing to keep, and maybe no buffer yet */
	b->total += len;
	if (b->head_len < b->head_cap && !b->failed) {
		size_t n = b->head_cap - b->head_len;
		if (n > len)
			n = len;
		head_append(b, p, n);
		p += n;
		len -= n;
	}
	if (len)
		ring_append(b, p, len);
}

int monkey_capture_buf_finish(struct monkey_capture_buf *b,
			      struct monkey_capture *cap)
{
	memset(cap, 0, sizeof(*cap));
	cap->total = b->total;
	cap->head = b->head ? b->head : calloc(1, 1);
	cap->head_len = b->head_len;
	b->head = NULL;
	cap->tail = malloc(b->ring_len + 1);
	if (!cap->head || !cap->tail) {
		monkey_capture_clear(cap);
		monkey_capture_buf_free(b);
		return -ENOMEM;
	}
	size_t first = b->ring_cap - b->ring_start;
	if (first > b->ring_len)
		first = b->ring_len;
	if (b->ring_len) {
		memcpy(cap->tail, b->ring + b->ring_start, first);
		memcpy(cap->tail + first, b->ring, b->ring_len - first);
	}
	cap->tail[b->ring_len] = '\0';
	cap->tail_len = b->ring_len;
	cap->truncated = cap->total > cap->head_len + cap->tail_len;
	monkey_capture_buf_free(b);
	return 0;
}

void monkey_capture_buf_free(struct monkey_capture_buf *b)
{
	free(b->head);
	free(b->ring);
	size_t h = b->head_cap, r = b->ring_cap;
	memset(b, 0, sizeof(*b));
	b->head_cap = h;
	b->ring_cap = r;
}

void monkey_capture_clear(struct monkey_capture *cap)
{
	free(cap->head);
	free(cap->tail);
	memset(cap, 0, sizeof(*cap));
}

static char *join(const char *a, size_t alen, const char *b, size_t blen,
		  uint64_t omitted, size_t *outlen)
{
	char marker[96];
	int m = 0;
	if (omitted)
		m = snprintf(marker, sizeof(marker),
			     "\n[... %llu bytes omitted ...]\n",
			     (unsigned long long)omitted);
	size_t n = alen + (size_t)m + blen;
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, a, alen);
	memcpy(s + alen, marker, (size_t)m);
	memcpy(s + alen + (size_t)m, b, blen);
	s[n] = '\0';
	if (outlen)
		*outlen = n;
	return s;
}

MONKEY_EXPORT char *monkey_capture_join(const struct monkey_capture *cap,
					size_t *len)
{
	uint64_t omitted = cap->total - cap->head_len - cap->tail_len;
	return join(cap->head ? cap->head : "", cap->head_len,
		    cap->tail ? cap->tail : "", cap->tail_len,
		    cap->truncated ? omitted : 0, len);
}

/* Move a cut point back so that it does not split a UTF-8 sequence. */
static size_t utf8_floor(const char *s, size_t len, size_t at)
{
	if (at >= len)
		return len;
	size_t i = at;
	/* Step back over continuation bytes (at most 3). */
	while (i > 0 && at - i < 3 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	if (((unsigned char)s[i] & 0xC0) == 0x80)
		return at; /* not UTF-8 at all: cut where asked */
	return i;
}

char *monkey_shorten(const char *text, size_t len, size_t max, size_t *outlen)
{
	if (len <= max)
		return join(text, len, "", 0, 0, outlen);
	size_t head = utf8_floor(text, len, max / 2);
	size_t tail_from = len - (max - max / 2);
	/* Move the tail's start forward to a character boundary. */
	size_t t = tail_from;
	while (t < len && t - tail_from < 3 &&
	       ((unsigned char)text[t] & 0xC0) == 0x80)
		t++;
	if (t < len && ((unsigned char)text[t] & 0xC0) == 0x80)
		t = tail_from;
	return join(text, head, text + t, len - t, (uint64_t)(t - head),
		    outlen);
}
