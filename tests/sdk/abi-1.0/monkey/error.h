/* Frozen copy of <monkey/error.h> as it was at backend ABI 1.0, so that a test
 * module can be built the way a backend built before later appends was.  Never edit. */
/* monkey/error.h - the error record shared by the host library, the CLI and
 * sandbox backends.  Fallible functions return 0 or a negative errno value
 * and fill a caller-owned struct monkey_error at the point of failure. */
#ifndef MONKEY_ERROR_H
#define MONKEY_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Room for one message: what failed, why, and what to try. */
#define MONKEY_ERROR_MESSAGE_MAX 1024

struct monkey_error {
	/* Negative errno value of the failure (e.g. -ENOENT), 0 when unset. */
	int code;
	/* NUL-terminated, one line, no trailing newline.  Empty when unset. */
	char message[MONKEY_ERROR_MESSAGE_MAX];
};

#ifdef __cplusplus
}
#endif

#endif
