/* argv quoting for approval prompts and progress lines. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approval.h"

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

/* Length of a character at p that can deceive a reader on a terminal:
 * ASCII and C1 controls, Unicode bidirectional overrides.  0 if none. */
static size_t deceptive(const unsigned char *p)
{
	if (p[0] < 0x20 || p[0] == 0x7f)
		return 1;
	if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
		return 3;
	return 0;
}

static void quote_word(struct buf *b, const char *w)
{
	size_t n = strlen(w);
	bool bare = n > 0, control = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		if (!safe_char(c))
			bare = false;
		if (deceptive((const unsigned char *)w + i))
			control = true;
	}
	if (bare) {
		add(b, w, n);
		return;
	}
	if (!control) {
		add(b, "'", 1);
		for (size_t i = 0; i < n; i++) {
			if (w[i] == '\'')
				add(b, "'\\''", 4);
			else
				add(b, w + i, 1);
		}
		add(b, "'", 1);
		return;
	}
	/* ANSI-C quoting: an escape sequence or a carriage return in an
	 * argument must show, not act on the terminal. */
	add(b, "$'", 2);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		char esc[8];
		switch (c) {
		case '\n':
			add(b, "\\n", 2);
			break;
		case '\t':
			add(b, "\\t", 2);
			break;
		case '\r':
			add(b, "\\r", 2);
			break;
		case '\\':
			add(b, "\\\\", 2);
			break;
		case '\'':
			add(b, "\\'", 2);
			break;
		default: {
			size_t d = deceptive((const unsigned char *)w + i);
			if (!d) {
				add(b, w + i, 1);
				break;
			}
			for (size_t k = 0; k < d; k++) {
				snprintf(esc, sizeof(esc), "\\x%02x",
					 (unsigned char)w[i + k]);
				add(b, esc, 4);
			}
			i += d - 1;
		}
		}
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
