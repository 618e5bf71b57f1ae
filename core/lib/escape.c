/* One escaping rule for everything monkey shows on a terminal that came
 * from the model, a command, a file name or a path. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* Invisible controls that reorder the text around them, so that what is
 * shown is not what is there: the overrides, embeddings and isolates
 * (U+202A-202E, U+2066-2069) and the marks (U+061C, U+200E, U+200F). */
static bool bidi_control(uint32_t cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t monkey_esc_scan(const unsigned char *p, size_t n, int flags,
		       bool *unsafe)
{
	unsigned char c = p[0];
	*unsafe = true;
	if (c < 0x80) {
		bool keep =
		    (flags & MONKEY_ESC_MULTILINE) && (c == '\n' || c == '\t');
		*unsafe = (c < 0x20 && !keep) || c == 0x7f;
		return 1;
	}
	/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
	 * above U+10FFFF; a lenient decoder could read those as controls. */
	size_t len;
	uint32_t cp;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 1; /* a C1 byte, a stray continuation, 0xc0/0xc1, 0xf5+
			   */
	}
	for (size_t i = 1; i < len; i++) {
		if (i >= n)
			return 0;
		unsigned char b = p[i];
		if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
			return 1;
		cp = cp << 6 | (b & 0x3f);
	}
	*unsafe = (cp >= 0x80 && cp <= 0x9f) || bidi_control(cp);
	return len;
}

size_t monkey_esc_cut(const char *s, size_t len, size_t max)
{
	size_t cut = 0;
	while (cut < len) {
		bool unsafe;
		size_t k = monkey_esc_scan((const unsigned char *)s + cut,
					   len - cut, 0, &unsafe);
		if (!k)
			k = 1;
		if (cut + k > max)
			break;
		cut += k;
	}
	return cut;
}

static size_t put_escaped(char *out, const unsigned char *p, size_t k)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < k; i++) {
		const char *named = p[i] == '\n'   ? "\\n"
				    : p[i] == '\t' ? "\\t"
				    : p[i] == '\r' ? "\\r"
						   : NULL;
		if (named) {
			memcpy(out + o, named, 2);
			o += 2;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	return o;
}

/* Escape p[0..n) into out (room for 4n + 1 bytes).  Unless final, an
 * incomplete sequence at the end is left: *used says how far it got. */
static size_t run(const unsigned char *p, size_t n, int flags, bool final,
		  char *out, size_t *used)
{
	size_t i = 0, o = 0;
	while (i < n) {
		bool unsafe;
		size_t k = monkey_esc_scan(p + i, n - i, flags, &unsafe);
		if (k == 0) {
			if (!final)
				break;
			k = 1;
			unsafe = true;
		}
		if (unsafe) {
			o += put_escaped(out + o, p + i, k);
		} else {
			memcpy(out + o, p + i, k);
			o += k;
		}
		i += k;
	}
	*used = i;
	out[o] = '\0';
	return o;
}

static char *alloc_for(size_t n)
{
	if (n > (SIZE_MAX - 1) / 4)
		return NULL;
	return malloc(4 * n + 1);
}

char *monkey_escape(const char *s, size_t len, int flags, size_t *out_len)
{
	char *out = alloc_for(len);
	if (!out)
		return NULL;
	size_t used,
	    o = run((const unsigned char *)s, len, flags, true, out, &used);
	if (out_len)
		*out_len = o;
	return out;
}

char *monkey_escape_json(const char *json, size_t len, size_t *out_len)
{
	/* \uXXXX: 6 bytes for each byte at worst. */
	if (len > (SIZE_MAX - 1) / 6)
		return NULL;
	char *out = malloc(6 * len + 1);
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)json;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		bool unsafe;
		size_t k = monkey_esc_scan(p + i, len - i, MONKEY_ESC_MULTILINE,
					   &unsafe);
		if (!k)
			k = 1, unsafe = true;
		if (!unsafe) {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
			continue;
		}
		/* A control in ASCII or a whole UTF-8 character (k > 1): its
		 * code point; a lone byte above ASCII is not UTF-8. */
		uint32_t cp = p[i] < 0x80 ? p[i] : 0xfffd;
		if (k == 2)
			cp = (uint32_t)(p[i] & 0x1f) << 6 | (p[i + 1] & 0x3f);
		else if (k == 3)
			cp = (uint32_t)(p[i] & 0x0f) << 12 |
			     (uint32_t)(p[i + 1] & 0x3f) << 6 |
			     (p[i + 2] & 0x3f);
		o += (size_t)snprintf(out + o, 7, "\\u%04x", (unsigned)cp);
		i += k;
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return out;
}

char *monkey_escaper_feed(struct monkey_escaper *e, const char *s, size_t len,
			  size_t *out_len)
{
	size_t n = e->n_held + len;
	if (n < len)
		return NULL;
	unsigned char *in = malloc(n ? n : 1);
	char *out = alloc_for(n);
	if (!in || !out) {
		free(in);
		free(out);
		return NULL;
	}
	memcpy(in, e->held, e->n_held);
	if (len)
		memcpy(in + e->n_held, s, len);
	size_t used, o = run(in, n, e->flags, false, out, &used);
	/* At most 3 bytes of a sequence that needs 4 are left. */
	e->n_held = n - used;
	memcpy(e->held, in + used, e->n_held);
	free(in);
	if (out_len)
		*out_len = o;
	return out;
}

char *monkey_escaper_flush(struct monkey_escaper *e, size_t *out_len)
{
	char *out = alloc_for(e->n_held);
	if (!out)
		return NULL;
	size_t used, o = run(e->held, e->n_held, e->flags, true, out, &used);
	e->n_held = 0;
	if (out_len)
		*out_len = o;
	return out;
}
