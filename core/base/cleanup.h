/* Cleanup attributes for both sides of the backend ABI: libmonkey, the CLI
 * and every backend include this header (it is never installed, and needs
 * nothing linked).  A variable declared with one is released when it goes
 * out of scope, so each return path frees what it holds without a cleanup
 * label; steal_pointer() and steal_fd() hand a value on and leave nothing
 * to release (bubblewrap's utils.h). */
#ifndef MONKEY_CLEANUP_H
#define MONKEY_CLEANUP_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* json-c objects, declared here so that a file using none needs no json-c
 * header (an unused static inline function references nothing). */
struct json_object;
int json_object_put(struct json_object *obj);

static inline void monkey_freep(void *p) { free(*(void **)p); }

static inline void monkey_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void monkey_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void monkey_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* A NULL-terminated array of strings, each freed, then the array. */
static inline void monkey_strv_freep(char ***v)
{
	if (!*v)
		return;
	for (char **p = *v; *p; p++)
		free(*p);
	free(*v);
}

static inline void monkey_json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

/* A variable released by f(&variable) when it goes out of scope. */
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ __attribute__((cleanup(monkey_freep)))
#define _cleanup_close_ __attribute__((cleanup(monkey_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(monkey_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(monkey_closedirp)))
#define _cleanup_strv_ __attribute__((cleanup(monkey_strv_freep)))
#define _cleanup_json_ __attribute__((cleanup(monkey_json_putp)))

/* *pp's value, of *pp's type, with *pp set to NULL: what a cleanup
 * variable hands to its caller is then not freed on the way out. */
#define steal_pointer(pp)                                                      \
	__extension__({                                                        \
		__typeof__(*(pp)) steal_tmp_ = *(pp);                          \
		*(pp) = NULL;                                                  \
		steal_tmp_;                                                    \
	})

/* The same for a file descriptor: *fd becomes -1. */
static inline int steal_fd(int *fd)
{
	int f = *fd;
	*fd = -1;
	return f;
}

#endif
