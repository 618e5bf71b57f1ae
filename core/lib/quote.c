/* argv quoting for approval prompts and progress lines. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "quote.h"
#include "util.h"

struct buf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap * 2 : 64;
		while (c < b->len + n + 1)
			c *= 2;
		char *t = realloc(b->s, c);
		if (!t) {
			b->oom = true;
			return;
		}
		b->s = t;
		b->cap = c;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static bool safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("_@%+=:,./-", c);
}

/* Does w hold anything monkey_esc_scan would escape? */
static bool has_unsafe(const char *w, size_t n)
{
	for (size_t i = 0; i < n;) {
		bool unsafe;
		size_t k = monkey_esc_scan((const unsigned char *)w + i, n - i,
					   0, &unsafe);
		if (!k || unsafe)
			return true;
		i += k;
	}
	return false;
}

/* ANSI-C quoting: an escape sequence or a carriage return in an argument
 * must show, not act on the terminal. */
static void ansi_c_quote(struct buf *b, const char *w, size_t n)
{
	add(b, "$'", 2);
	for (size_t i = 0; i < n;) {
		bool unsafe;
		size_t k = monkey_esc_scan((const unsigned char *)w + i, n - i,
					   0, &unsafe);
		if (!k) /* cut short at the end: not UTF-8 */
			k = 1, unsafe = true;
		if (unsafe) {
			size_t elen;
			_cleanup_free_ char *e =
			    monkey_escape(w + i, k, 0, &elen);
			if (!e)
				b->oom = true;
			else
				add(b, e, elen);
		} else if (w[i] == '\\' || w[i] == '\'') {
			add(b, "\\", 1);
			add(b, w + i, 1);
		} else {
			add(b, w + i, k);
		}
		i += k;
	}
	add(b, "'", 1);
}

static void quote_word(struct buf *b, const char *w)
{
	size_t n = strlen(w);
	bool bare = n > 0;
	for (size_t i = 0; i < n && bare; i++)
		bare = safe_char((unsigned char)w[i]);
	if (bare) {
		add(b, w, n);
		return;
	}
	if (has_unsafe(w, n)) {
		ansi_c_quote(b, w, n);
		return;
	}
	add(b, "'", 1);
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '\'')
			add(b, "'\\''", 4);
		else
			add(b, w + i, 1);
	}
	add(b, "'", 1);
}

char *monkey_quote_argv(const char *const *argv)
{
	struct buf b = {0};
	add(&b, "", 0);
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i)
			add(&b, " ", 1);
		quote_word(&b, argv[i]);
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
