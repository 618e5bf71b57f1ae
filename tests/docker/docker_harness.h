/* Shared fixture of the docker backend tests: loads docker.so from the
 * build tree with dlopen, gives it a hand-made host, runs commands against
 * the real engine and asks the engine what containers remain. */
#ifndef MONKEY_TEST_DOCKER_HARNESS_H
#define MONKEY_TEST_DOCKER_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <monkey/backend.h>

#include "backend_asserts.h"

#define DT_DEFAULT_IMAGE "monkey-test:busybox"

/* The loaded backend and one initialised state for most tests. */
extern const struct monkey_backend *dt_backend;
extern void *dt_state;
extern struct monkey_host dt_host;
/* Image the tests use (MONKEY_DOCKER_IMAGE or DT_DEFAULT_IMAGE). */
extern const char *dt_image;
/* True when DOCKER_HOST points at podman's service (it reports no OOM). */
extern int dt_podman;
/* Containers run monkey-launch as PID 1 (0 when MONKEY_DOCKER_LAUNCHER
 * names no usable file: the backend then runs commands directly). */
extern int dt_launcher;
/* The build's monkey-launch (whatever MONKEY_DOCKER_LAUNCHER says), or
 * NULL when the build has none (no static C library). */
const char *dt_built_launcher(void);
/* A scratch workspace directory for this process (removed at exit). */
extern char dt_workspace[256];

/* Everything a test wants to know about one exec call. */
struct dt_run {
	int rc;
	struct monkey_exec_result res;
	struct monkey_error err;
	char *out;
	size_t out_len;
	char *errout;
	size_t err_len;
	int64_t ms;
	int stop_after; /* sink returns -1 once this many bytes came (0: never)
			 */
	int pooled;	/* it ran in a prestarted container */
};

/* A request with monkey's defaults: 256 MB, 0.5 CPU, 50 pids, 30 s
 * timeout, the test image, the scratch workspace.  argv is borrowed. */
void dt_request(struct monkey_exec_request *req, const char *const *argv);

/* Pool mode (MONKEY_TEST_POOL=K): dt_state keeps K prestarted containers;
 * dt_exec on it first warms the pool for the request's settings and makes
 * the run fail (rc -EPROTO) when the command did not run pooled, unless
 * dt_pool_allow_cold.  Each test's teardown then finis the state (which
 * must leave nothing) and makes a new one. */
extern int dt_pool;
extern int dt_pool_allow_cold;
/* Session mode (MONKEY_TEST_SESSION=1): dt_exec on dt_state runs the
 * command as the second of a session opened with its settings. */
extern int dt_session;
/* Containers of this process labelled as pooled (running ones only). */
int dt_count_pooled(int running_only);
/* How many prestarted containers the backend holds now, from its log. */
int dt_pool_ready(void);

/* Run req through the backend (state st, or dt_state when NULL). */
void dt_exec(void *st, const struct monkey_exec_request *req,
	     struct dt_run *run);
/* Run req as the next command of a session the backend opened. */
void dt_session_exec(void *session, const struct monkey_exec_request *req,
		     struct dt_run *run);
void dt_run_free(struct dt_run *run);

/* Shorthand: run "sh -c script" with defaults; caller frees run. */
void dt_sh(const char *script, struct dt_run *run);

/* Load the backend, init a state with config_json and the given
 * DOCKER_HOST (NULL: the environment's); returns the init result. */
int dt_init(const char *config_json, void **state, struct monkey_error *err);

/* Engine API from the test side (libcurl on the same socket). */
/* Number of containers labelled monkey.sandbox=<value> (-1 on error);
 * value NULL counts every monkey container. */
int dt_count_containers(const char *value);
/* The engine's inspect JSON of a container labelled monkey.sandbox=value,
 * or NULL when there is none; caller frees. */
char *dt_inspect_labelled(const char *value);
/* The inspect JSON of a container of this process in which a process
 * whose command line contains process runs, or NULL; caller frees. */
char *dt_inspect_running(const char *process);
/* Create (not start) a container labelled monkey.sandbox=value; returns
 * 0 and its id. */
int dt_create_labelled(const char *value, char *id, size_t idlen);
/* The same with the labels given as a JSON object's text. */
int dt_create_with_labels(const char *labels, char *id, size_t idlen);
/* 1 when a container with that id exists. */
int dt_container_exists(const char *id);
void dt_remove_container(const char *id);
/* Remove every container labelled monkey.sandbox=value. */
void dt_remove_labelled(const char *value);
/* One engine API call from the test side: the HTTP status (-1 when no
 * answer) and the body in *body (caller frees; may be NULL). */
long dt_api(const char *method, const char *path, const char *json,
	    char **body);
/* The socket path the tests talk to. */
const char *dt_socket(void);

/* Decide whether the engine is there: returns 0 when it is; otherwise
 * prints why and exits 77 (skip), or 1 when CI=true or
 * MONKEY_REQUIRE_DOCKER=1. Also loads the backend and dt_state. */
void dt_setup_or_exit(const char *program);
void dt_teardown_all(void);

/* cmocka per-test teardown: fails the test when a container of this
 * process is left. */
int dt_assert_no_containers(void **unused);

/* Messages of level INFO and up the backend logged (kept for asserts). */
int dt_log_contains(const char *needle);
void dt_log_clear(void);
/* Also called with every message the backend logs, when set. */
extern void (*dt_log_hook)(int level, const char *line);
/* This process's "<pid>-<starttime>", the host's instance id. */
extern char dt_instance_id[64];

/* Monotonic milliseconds. */
int64_t dt_now_ms(void);

#endif
