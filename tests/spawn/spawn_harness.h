/* Helpers for the spawn tests: load a backend module from the build tree
 * with a hand-made host (no libmonkey), run one request collecting its
 * output, and check that every pid a command recorded is gone. */
#ifndef MONKEY_SPAWN_HARNESS_H
#define MONKEY_SPAWN_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <monkey/backend.h>

struct sh_backend {
	void *dl;
	const struct monkey_backend *be;
	void *state;
	struct monkey_host host;
	char log[4096]; /* warnings and errors the backend logged */
};

/* Load plugins/<name>/.libs/<name>.so from $MONKEY_BUILDDIR, init and probe
 * it; fails the test on error. */
void sh_load(struct sh_backend *b, const char *name);
void sh_unload(struct sh_backend *b);

/* One stream's output, kept whole up to limit bytes (the tests' own cap);
 * total counts everything. */
struct sh_stream {
	char *data;
	size_t len;
	size_t limit;
	uint64_t total;
};

struct sh_result {
	int rc; /* exec's return value */
	struct monkey_exec_result res;
	struct monkey_error err;
	struct sh_stream out, err_stream;
	int64_t ms;	/* wall time of exec */
	int stop_after; /* >0: the output sink returns -1 after this many
			   calls */
	int calls;
	size_t max_chunk; /* largest single chunk handed to the sink */
};

/* A request with the tests' defaults: envp PATH=/usr/bin:/bin, workspace
 * "/", workdir the current directory, timeout 20 s, grace 300 ms, output
 * into an sh_result, no stdin, no cancel fd. */
void sh_request(struct monkey_exec_request *req, const char *const *argv);

/* Run req through b; output goes to r (req->output/output_ctx are set
 * here).  Returns r->rc. */
int sh_exec(struct sh_backend *b, struct monkey_exec_request *req,
	    struct sh_result *r);
void sh_result_free(struct sh_result *r);

/* Path of the helper program (tests/spawn_helper in the build tree). */
const char *sh_helper(void);

/* A fresh pid file path in a new temporary directory (caller frees with
 * sh_pidfile_free).  Commands learn it from PIDFILE=... in envp. */
char *sh_pidfile(void);
/* Remove the pid file and its directory, and free the path. */
void sh_pidfile_free(char *pidfile);

/* Number of pids in the file, and how many of them still exist
 * (kill(pid, 0) succeeds).  A process that exists as a zombie counts as
 * alive: nobody reaped it. */
int sh_pids_alive(const char *pidfile, int *n_recorded);

/* True when the calling process has no child left (waitpid says ECHILD):
 * the backend reaped its helper processes. */
bool sh_no_children(void);

int64_t sh_now_ms(void);

#endif
