/* Small helpers shared by the host library and the CLI: error setting,
 * growable string vectors, time (the cleanup attributes are in
 * core/base/cleanup.h). */
#ifndef MONKEY_UTIL_H
#define MONKEY_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <monkey/error.h>

#include "cleanup.h"

/* libmonkey is built with hidden visibility: what it exports is marked,
 * at its definition, and declared in include/monkey/ (core/lib/libmonkey.map
 * lets through nothing without the monkey_ prefix). */
#define MONKEY_EXPORT __attribute__((visibility("default")))

/* Fill err (if not NULL) and return code (a negative errno value). */
int monkey_set_error(struct monkey_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int monkey_set_error_v(struct monkey_error *err, int code, const char *fmt,
		       va_list ap);

/* This process's id for backends (monkey_host.instance_id):
 * "<pid>-<start time in clock ticks since boot>". */
void monkey_instance_id(char *buf, size_t len);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t monkey_now_ms(void);

/* A NULL-terminated, growable array of owned strings. */
struct monkey_strv {
	char **v;
	size_t n;
	size_t cap;
};
int monkey_strv_push(struct monkey_strv *sv, const char *s); /* copies */
int monkey_strv_push_owned(struct monkey_strv *sv, char *s); /* takes s */
void monkey_strv_free(struct monkey_strv *sv);
/* The strings joined with sep between them (caller frees); NULL on
 * allocation failure. */
char *monkey_strv_join(const struct monkey_strv *sv, const char *sep);
/* A struct monkey_strv variable freed when it goes out of scope. */
#define _cleanup_monkey_strv_ __attribute__((cleanup(monkey_strv_free)))

/* printf into a new string; NULL on failure. */
char *monkey_strdup_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
