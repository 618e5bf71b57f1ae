/* Context added to an error on its way up, once per layer (crun's
 * crun_error_wrap): the layer that failed says what went wrong, each layer
 * that passes the failure on says what it was doing, in front.  Shared by
 * libmonkey, the CLI and the backends (header-only, never installed). */
#ifndef MONKEY_ERROR_WRAP_H
#define MONKEY_ERROR_WRAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <monkey/error.h>

/* err->message becomes "<context>: <message>", context formatted from fmt
 * (one line: newlines become spaces), the whole cut to fit; err->code
 * becomes code when it was unset.  Returns code, so that a layer passes a
 * failure on with
 *	return monkey_error_wrap(err, r, "loading backend '%s'", name);
 * err may be NULL. */
static inline int monkey_error_wrap(struct monkey_error *err, int code,
				    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int monkey_error_wrap(struct monkey_error *err, int code,
				    const char *fmt, ...)
{
	if (!err)
		return code;
	char ctx[MONKEY_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	for (char *p = ctx; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	const size_t max = sizeof(err->message) - 1;
	size_t cl = strlen(ctx);
	size_t ml = strnlen(err->message, max);
	if (cl > max)
		cl = max;
	/* The message moves right to make room for "context: ". */
	size_t room = max - cl;
	size_t keep = room >= 2 ? (ml < room - 2 ? ml : room - 2) : 0;
	memmove(err->message + cl + (room >= 2 ? 2 : 0), err->message, keep);
	err->message[cl + (room >= 2 ? 2 : 0) + keep] = '\0';
	if (room >= 2)
		memcpy(err->message + cl, ": ", 2);
	memcpy(err->message, ctx, cl);
	if (!err->code)
		err->code = code;
	return code;
}

#endif
