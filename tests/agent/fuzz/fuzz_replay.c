/* libFuzzer target: bytes as a transcript for "monkey replay", which reads
 * files a sandboxed command may have written.  Nothing may crash, leak or
 * read out of bounds; whatever is accepted must be within the bounds. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	struct monkey_replay_log log;
	struct monkey_error err = {0};
	if (replay_load_file(f, "fuzz", &log, &err) == 0) {
		const struct monkey_replay_recorded *r = &log.rec;
		if (r->timeout_ms > REPLAY_MAX_TIMEOUT_MS ||
		    r->memory_mb > REPLAY_MAX_MEMORY_MB ||
		    r->pids > REPLAY_MAX_PIDS || r->cpus > REPLAY_MAX_CPUS)
			abort();
		for (size_t i = 0; i < log.n; i++)
			if (!log.cmds[i].argc ||
			    log.cmds[i].timeout_ms > REPLAY_MAX_TIMEOUT_MS ||
			    log.cmds[i].exit_code < -1 ||
			    log.cmds[i].exit_code > 255)
				abort();
		monkey_replay_log_free(&log);
	}
	fclose(f);
	return 0;
}
