/* The docker backend's stream layer: the hijacked attach stream of one
 * container, its stdin fed and its output demultiplexed (attach.c). */
#ifndef MONKEY_DOCKER_ATTACH_H
#define MONKEY_DOCKER_ATTACH_H

#include "container.h"

struct dk_attach;

/* 0 while nothing arrived and the engine keeps the stream open (a
 * prestarted container still waits); 1 when it did or closed it. */
int dk_attach_stale(struct dk_attach *a);

int dk_attach_open(struct dk_state *st, const char *id, int with_stdin,
		   struct dk_attach **out, struct monkey_error *err);
/* The stream of an exec instance the engine created (POST
 * /containers/{id}/exec): started with stdin, stdout and stderr. */
int dk_attach_open_exec(struct dk_state *st, const char *exec_id,
			struct dk_attach **out, struct monkey_error *err);
void dk_attach_close(struct dk_attach *a);

enum dk_pump_end {
	DK_PUMP_EOF = 0,      /* the engine closed the stream */
	DK_PUMP_DEADLINE = 1, /* until_ms passed */
	DK_PUMP_CANCEL = 2,   /* cancel_fd became readable */
	DK_PUMP_STOP = 3,     /* the output sink asked to stop */
	DK_PUMP_DONE = 4,     /* the sink has all it needs (returned > 0) */
};

/* Where stdin comes from and output goes while pumping. */
#define DK_PROGRESS_MS 500

struct dk_io {
	const unsigned char *stdin_data;
	size_t stdin_len;
	size_t stdin_sent;
	/* After the data, leave stdin open instead of half-closing it: the
	 * launcher reads it to the end, which is monkey's end. */
	int keep_stdin_open;
	monkey_output_fn output;
	void *output_ctx;
	int cancel_fd; /* -1: none, or not to be watched any more */
	/* The sink is the launcher's record filter: its return > 0 means
	 * it has everything (DK_PUMP_DONE).  Other sinks' > 0 is success. */
	int sink_can_finish;
	/* Leave stdin open and unwritten (waiting for a launcher's first
	 * line before its command is sent). */
	int hold_stdin;
	/* ABI 1.2: the request's progress sink (may be NULL), told the
	 * elapsed time since started_ms twice a second. */
	monkey_progress_fn progress;
	void *progress_ctx;
	int64_t started_ms, next_progress_ms;
};

/* Move data until the stream ends, until_ms (monotonic ms; 0 = never)
 * passes, the cancel fd fires or the sink says stop.  Returns an
 * enum dk_pump_end, or a negative errno when the stream broke. */
int dk_attach_pump(struct dk_attach *a, struct dk_io *io, int64_t until_ms,
		   struct monkey_error *err);

#endif
