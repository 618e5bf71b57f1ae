/* Making hostile text safe to show on a terminal: control characters,
 * escape sequences, C1 controls, bidirectional overrides and bytes that are
 * not UTF-8 are shown as \xNN instead of acting on the terminal. */
#ifndef MONKEY_ESCAPE_H
#define MONKEY_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* Flags of the functions below. */
enum monkey_esc_flags {
	/* Newline and tab pass through (multi-line text: the model's reply,
	 * command output).  Without it they show as \n and \t, so that a
	 * name or a path stays on one line. */
	MONKEY_ESC_MULTILINE = 1,
};

/* Look at the character starting at p (n > 0 bytes available).  Returns
 * its length and sets *unsafe when it must be escaped: a C0 control (but
 * newline and tab with MONKEY_ESC_MULTILINE), DEL, a C1 control in its
 * 8-bit or UTF-8 form, a Unicode bidirectional control, or a byte that does
 * not start valid UTF-8 (length 1).  Returns 0 when the n bytes are a
 * valid but incomplete UTF-8 sequence (more bytes are needed to tell). */
size_t monkey_esc_scan(const unsigned char *p, size_t n, int flags,
		       bool *unsafe);

/* The longest prefix of s (len bytes) of at most max bytes that does not
 * cut a UTF-8 character in two. */
size_t monkey_esc_cut(const char *s, size_t len, size_t max);

/* An escaped copy of len bytes of s (NUL-terminated, caller frees), its
 * length in *out_len when not NULL; NULL on allocation failure.  Escapes
 * are \n, \t, \r and \xNN; a backslash stays as it is. */
char *monkey_escape(const char *s, size_t len, int flags, size_t *out_len);

/* JSON text made safe the same way, and still the same JSON: what would
 * be escaped above (inside strings: JSON has nothing else) becomes \uXXXX,
 * a byte that is not UTF-8 \ufffd.  Newlines and tabs outside strings (a
 * pretty-printed layout) stay.  Caller frees; NULL on allocation
 * failure. */
char *monkey_escape_json(const char *json, size_t len, size_t *out_len);

/* Streamed text, cut anywhere: an incomplete UTF-8 sequence at the end of
 * a chunk is held back until the next chunk tells what it is. */
struct monkey_escaper {
	unsigned char held[4];
	size_t n_held;
	int flags;
};

/* Escape the next chunk (caller frees; NULL on allocation failure, with
 * the held bytes kept). */
char *monkey_escaper_feed(struct monkey_escaper *e, const char *s, size_t len,
			  size_t *out_len);
/* End of the stream: held bytes are escaped as the invalid UTF-8 they
 * are.  Caller frees; "" when nothing was held. */
char *monkey_escaper_flush(struct monkey_escaper *e, size_t *out_len);

#endif
