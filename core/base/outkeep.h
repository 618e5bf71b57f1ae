/* A job's unread output, per stream: a bounded head and a ring of the
 * latest bytes, with a count of what fell out between them.  Header-only,
 * for the backends that run background jobs (through jobbox.h). */
#ifndef MONKEY_OUTKEEP_H
#define MONKEY_OUTKEEP_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <monkey/backend.h>

/* Unread output kept per stream: the first and the last half of it. */
#define MONKEY_OUTKEEP_MAX (1024 * 1024)

struct monkey_outkeep {
	char head[MONKEY_OUTKEEP_MAX / 2];
	size_t head_len;
	char tail[MONKEY_OUTKEEP_MAX / 2];
	size_t tail_start, tail_len;
	uint64_t dropped;
};

static inline void monkey_outkeep_add(struct monkey_outkeep *k, const char *p,
				      size_t n)
{
	size_t room = sizeof(k->head) - k->head_len;
	size_t h = n < room ? n : room;
	if (h)
		memcpy(k->head + k->head_len, p, h);
	k->head_len += h;
	p += h;
	n -= h;
	for (; n; p++, n--) {
		size_t cap = sizeof(k->tail);
		if (k->tail_len == cap) {
			k->tail_start = (k->tail_start + 1) % cap;
			k->tail_len--;
			k->dropped++;
		}
		k->tail[(k->tail_start + k->tail_len) % cap] = *p;
		k->tail_len++;
	}
}

static inline int monkey_outkeep_empty(const struct monkey_outkeep *k)
{
	return !k->head_len && !k->tail_len && !k->dropped;
}

/* Hand what k holds to out, in order, with a line saying how much was
 * dropped between head and tail. */
static inline int monkey_outkeep_emit(const struct monkey_outkeep *k,
				      int stream, monkey_output_fn out,
				      void *ctx)
{
	char mark[96];
	int rc = 0;
	if (k->head_len)
		rc = out(ctx, stream, k->head, k->head_len);
	if (rc >= 0 && k->dropped) {
		int n = snprintf(mark, sizeof(mark),
				 "\n[... %llu bytes dropped: not read in "
				 "time ...]\n",
				 (unsigned long long)k->dropped);
		rc = out(ctx, stream, mark, (size_t)n);
	}
	size_t first = k->tail_len;
	if (k->tail_start + first > sizeof(k->tail))
		first = sizeof(k->tail) - k->tail_start;
	if (rc >= 0 && first)
		rc = out(ctx, stream, k->tail + k->tail_start, first);
	if (rc >= 0 && k->tail_len > first)
		rc = out(ctx, stream, k->tail, k->tail_len - first);
	return rc;
}

#endif
