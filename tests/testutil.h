/* Test helpers: run a program and capture its output and status; temporary
 * directories; build-tree paths. */
#ifndef MONKEY_TESTUTIL_H
#define MONKEY_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tu_run {
	int status; /* exit code, or 128+N when killed by signal N */
	char *out;  /* NUL-terminated */
	size_t out_len;
	char *err;
	size_t err_len;
};

/* Run argv (argv[0] a path) with extra "NAME=value" environment entries
 * (NULL-terminated, may be NULL; "NAME=" with nothing after unsets NAME),
 * feeding stdin_data (NULL: /dev/null).  Returns 0 or -1. */
int tu_run(struct tu_run *r, const char *stdin_data, char *const argv[],
	   char *const env_extra[]);
void tu_run_free(struct tu_run *r);

/* $MONKEY_BUILDDIR (or the configure-time build dir). */
const char *tu_builddir(void);
/* Path of the monkey binary in the build tree (static buffer). */
const char *tu_monkey(void);
/* Path of the test modules directory in the build tree: the .libs where
 * libtool puts the .so files (static buffer). */
const char *tu_modules_dir(void);

/* A new empty directory under $TMPDIR (caller frees); removed with
 * tu_rmrf. */
char *tu_mkdtemp(void);
void tu_rmrf(const char *path);

/* Write a file (mode 0644). */
void tu_write_file(const char *path, const char *content);

bool tu_contains(const char *haystack, const char *needle);

/* This process's "<pid>-<start time>", the form of monkey_host.instance_id
 * (static buffer). */
const char *tu_instance_id(void);

#endif
