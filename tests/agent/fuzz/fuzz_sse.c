/* libFuzzer target: bytes from the network through the SSE parser into the
 * Anthropic or OpenAI stream handlers, in chunks of varying size, as a
 * provider reply arrives.  Nothing may crash, leak or read out of bounds. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "sse.h"

static int on_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct provider_stream *s = ctx;
	if (s->done || s->failed)
		return 0;
	return s->p->ops->event(s, event, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	/* Byte 0 picks the wire format, byte 1 the chunk sizes. */
	struct provider p = {
	    .ops = data[0] & 1 ? &provider_openai_ops : &provider_anthropic_ops,
	};
	size_t stride = (size_t)(data[1] % 13) + 1;
	data += 2;
	size -= 2;
	struct provider_turn t = {0};
	struct provider_stream s = {.p = &p, .turn = &t};
	struct monkey_sse sse;
	monkey_sse_init(&sse, 1 << 20, on_event, &s);
	for (size_t i = 0; i < size; i += stride) {
		size_t n = size - i < stride ? size - i : stride;
		if (monkey_sse_feed(&sse, (const char *)data + i, n) != 0)
			break;
		stride = stride % 7 + 1; /* vary the boundaries */
	}
	if (s.done && !s.failed)
		provider_stream_finish(&s);
	monkey_sse_free(&sse);
	provider_stream_reset(&s);
	provider_turn_free(&t);
	return 0;
}
