/* Replay's private side (the API is monkey/replay.h): the bounds a
 * transcript's values must keep, and reading one from a stream. */
#ifndef MONKEY_REPLAY_PRIVATE_H
#define MONKEY_REPLAY_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <monkey/exec.h>
#include <monkey/replay.h>

#include "util.h"

/* Largest values a transcript may hold; anything above is refused as
 * malformed rather than taken as "no limit". */
#define REPLAY_MAX_TIMEOUT_MS (366LL * 24 * 3600 * 1000) /* a year */
#define REPLAY_MAX_MEMORY_MB (1LL << 24)		 /* 16 TiB */
#define REPLAY_MAX_PIDS (1LL << 22) /* the kernel's PID_MAX_LIMIT */
#define REPLAY_MAX_CPUS 4096.0
#define REPLAY_MAX_BYTES (1LL << 53) /* exact in any JSON reader */
#define REPLAY_MAX_LINE (64u * 1024 * 1024)
#define REPLAY_MAX_ARGS 65536

/* Parse a transcript from an open stream; name is used in messages.  As
 * monkey_replay_load. */
int replay_load_file(FILE *f, const char *name, struct monkey_replay_log *log,
		     struct monkey_error *err);

/* Safety level of a backend a transcript names: the shipped ones are
 * known; for another, the recorded level (recorded < 0: none), else the
 * highest, so that anything weaker must be asked for by name. */
int replay_backend_safety(const char *name, int recorded);

#endif
