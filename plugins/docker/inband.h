/* The docker backend's in-band protocol with monkey-launch (inband.c), on
 * the container layer: what carries a command to the launcher, and what
 * its ready lines and its records at the end of the output say. */
#ifndef MONKEY_DOCKER_INBAND_H
#define MONKEY_DOCKER_INBAND_H

#include <stdint.h>
#include <time.h>

#include "container.h"

/* One stream's record as it arrives. */
struct dk_rec_stream {
	size_t matched; /* bytes of the mark held back */
	int in_record;	/* past the mark, before the newline */
	int done;	/* the record arrived; what follows is dropped */
	char rec[1024];
	size_t rec_len;
};

/* The output of one command run by the launcher, passed on to out while
 * the records are taken out: bytes that could begin this command's record
 * (the marker and its nonce) are held back, everything else passes at
 * once. */
struct dk_launch_filter {
	monkey_output_fn out;
	void *ctx;
	char mark[96];
	size_t mark_len;
	struct dk_rec_stream s[2]; /* stdout, stderr */
};

void dk_launch_filter_init(struct dk_launch_filter *f, monkey_output_fn out,
			   void *ctx, const char *nonce);
/* A monkey_output_fn whose ctx is the filter: what out returned when it
 * failed, 1 once both records arrived, else 0. */
int dk_launch_filter_sink(void *ctx, int stream, const void *data, size_t len);
/* Both records arrived: the output is complete, the answer known. */
int dk_launch_filter_done(const struct dk_launch_filter *f);
/* At the end of the stream: bytes held back were output after all. */
void dk_launch_filter_flush(struct dk_launch_filter *f);

/* The ready lines, one on each stream, before the command is sent. */
struct dk_launch_ready {
	size_t matched[2]; /* stdout, stderr */
	uint64_t dropped;  /* bytes on stdout before its ready line */
};
/* A monkey_output_fn whose ctx is a zeroed struct dk_launch_ready: 1 once
 * both lines came whole, a negative errno when stderr carries anything
 * else or something follows a ready line. */
int dk_launch_ready_sink(void *ctx, int stream, const void *data, size_t len);

/* A random nonce for one command's records (32 hex digits). */
int dk_launch_nonce(char out[33]);
/* The launcher's header for req followed by the command's stdin data,
 * whose length the header carries (caller frees, *len its size; the
 * buffer has one byte more, for a session's cancel).  git, when it has a
 * path, is the read-only .git the launcher checks first.  session: a
 * command of a session (the launcher stays for the next one; the header
 * carries the timeout, grace and environment, which the launcher
 * enforces and sets itself). */
unsigned char *dk_launch_input(const struct monkey_exec_request *req,
			       const char *nonce, const char *wd,
			       const struct dk_git *git, int session,
			       size_t *len);
/* Fill result from the records f took out, once the run is over: 0 when
 * the stderr record was not seen (the engine's answer stands) or was
 * applied; the launcher's failure to start the command as the runtime's
 * would be (-ENOENT, -EACCES, -EIO); -EPROTO for an unknown record.  OOM
 * the launcher could not read comes from the engine's events for
 * container id since the given wall-clock time. */
int dk_launch_answer(struct dk_state *st, const struct dk_launch_filter *f,
		     const char *id, time_t since,
		     struct monkey_exec_result *result,
		     struct monkey_error *err);

#endif
