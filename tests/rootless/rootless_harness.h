/* Shared fixture of the rootless backend tests: loads rootless.so from the
 * build tree with a hand-made host, runs requests in a scratch workspace,
 * and finds processes a sandbox left behind by a marker in their command
 * line (the host sees every process of every PID namespace). */
#ifndef MONKEY_TEST_ROOTLESS_HARNESS_H
#define MONKEY_TEST_ROOTLESS_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <monkey/backend.h>

#include "backend_asserts.h"

struct rt_backend {
	void *dl;
	const struct monkey_backend *be;
	void *state;
	struct monkey_host host;
};
extern struct rt_backend rt;

/* The module file: plugins/rootless/.libs/rootless.so in the build tree
 * ($MONKEY_BUILDDIR), or plugins/rootless/rootless.so where a build puts
 * modules there. */
const char *rt_module_path(void);
/* The directory holding it, for --backend-dir. */
const char *rt_module_dir(void);
/* The build tree ($MONKEY_BUILDDIR, resolved). */
const char *rt_builddir(void);
/* A build-tree program, tests/AREA/NAME ("rootless/rootless_helper"). */
const char *rt_program(const char *name);

/* Load the module, init and probe a state.  When the probe fails: exit 1
 * if MONKEY_REQUIRE_ROOTLESS=1 (CI), else print why and exit 77 (the
 * whole program shows as SKIP). */
void rt_setup_or_exit(const char *program);
void rt_teardown(void);

/* A fresh, empty scratch directory for this process (workspace of every
 * request), under $TMPDIR or /tmp; removed at exit. */
extern char rt_workspace[512];

/* A request as monkey makes it: PATH=/usr/bin:/bin, the scratch
 * workspace, 20 s timeout, 300 ms grace, 256 MiB (only where the backend
 * enforces memory, as the host does), 0.5 CPU, 50 pids; the build tree's
 * tests/ directory mounted read-only at its own path, so that the test
 * programs can be run from inside wherever the build tree lies. */
void rt_request(struct monkey_exec_request *req, const char *const *argv);

struct rt_run {
	int rc;
	struct monkey_exec_result res;
	struct monkey_error err;
	char *out;
	size_t out_len;
	char *errout;
	size_t err_len;
	int64_t ms;
	int stop_after; /* the sink refuses after this many calls */
	int calls;
};

/* Run req (state st, or the shared one when NULL).  In session mode
 * (MONKEY_TEST_SESSION=1, rt_in_session) through a session opened with
 * req's settings instead: a first harmless command, then req as its
 * second, then the session closed. */
void rt_exec_on(void *st, const struct monkey_exec_request *req,
		struct rt_run *r);
extern int rt_in_session;
void rt_exec(const struct monkey_exec_request *req, struct rt_run *r);
/* sh -c script with rt_request's defaults. */
void rt_sh(const char *script, struct rt_run *r);
void rt_run_free(struct rt_run *r);

/* ---- sessions (ABI 1.2) ---- */

/* Open a session of the shared state with settings' sandbox settings (a
 * request of rt_request's when NULL); fails the test when it cannot. */
void *rt_session_open(const struct monkey_exec_request *settings);
/* req as the session's next command, into r (as rt_exec). */
void rt_session_exec(void *s, const struct monkey_exec_request *req,
		     struct rt_run *r);
/* sh -c script as the session's next command. */
void rt_session_sh(void *s, const char *script, struct rt_run *r);

/* A string unique to this call, to put into the argv of processes a test
 * starts in a sandbox. */
const char *rt_marker(void);
/* Processes on the host whose command line contains marker, or whose name
 * (comm, 15 characters) is its start: a process that is dying or a zombie
 * has no command line left but keeps its name.  Prints each one found. */
int rt_count_marked(const char *marker);
/* Wait up to ms for rt_count_marked(marker) to be 0 (quietly); then
 * rt_count_marked's answer. */
int rt_wait_unmarked(const char *marker, int64_t ms);
/* Wait up to ms for at least n such processes (quietly); how many. */
int rt_wait_marked(const char *marker, int n, int64_t ms);

/* Messages of level WARNING and up the backend logged since the last
 * rt_log_clear. */
const char *rt_log(void);
void rt_log_clear(void);

int64_t rt_now_ms(void);
int rt_is_root(void);

#endif
