/* Private interfaces of the docker backend: the state shared by every entry
 * point and the pieces each source file provides (engine HTTP, attach
 * stream, container calls, images, stale-container sweep, one command). */
#ifndef MONKEY_DOCKER_H
#define MONKEY_DOCKER_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>

#include <monkey/backend.h>

#include "cleanup.h"

/* The API version this backend speaks (Docker 20.10).  The engine's is
 * used when it is lower, down to DK_API_MIN. */
#define DK_API_OURS_MAJOR 1
#define DK_API_OURS_MINOR 41
#define DK_API_MIN_MINOR 25 /* Mounts and NanoCpus appeared in 1.25 */

#define DK_DEFAULT_SOCKET "/var/run/docker.sock"
/* The documented default image when neither --image, the init
 * configuration nor MONKEY_DOCKER_IMAGE names one. */
#define DK_DEFAULT_IMAGE "debian:bookworm-slim"
#define DK_LABEL "monkey.sandbox"
/* The owner's identity, for the sweep (sweep.c). */
#define DK_OWNER_BOOT "monkey.owner.boot-id"
#define DK_OWNER_PIDNS "monkey.owner.pidns"
#define DK_OWNER_PID "monkey.owner.pid"
#define DK_OWNER_START "monkey.owner.start-time"
/* Set on pooled containers (made ahead of their command). */
#define DK_POOL_LABEL "monkey.pool"
/* Where pooled containers see the launcher (a read-only bind). */
#define DK_LAUNCHER_TARGET "/dev/.monkey-launch"

/* Per-call limits: no engine call may hang a command forever. */
#define DK_PING_TIMEOUT_MS 5000
#define DK_DEFAULT_API_TIMEOUT_MS 60000
/* Deleting a stopped container; bounds how long fini can wait on an
 * engine that stopped answering. */
#define DK_REMOVE_TIMEOUT_MS 15000
/* How long to wait for the stream to end once the container was killed. */
#define DK_KILL_DRAIN_MS 10000

/* Defaults for the explicitly set ulimits (podman refuses to start a
 * container without them; docker would inherit the daemon's). */
#define DK_NOFILE_SOFT 1024
#define DK_NOFILE_HARD 4096
/* RLIMIT_NPROC counts every process of the uid on the host, so it is only
 * a backstop; PidsLimit is the real per-container bound. */
#define DK_NPROC 4096

#define DK_ID_MAX 128
/* Most prestarted containers one state keeps. */
#define DK_POOL_MAX 64

/* This process as the owner of containers: boot id, PID namespace inode,
 * pid, start time (clock ticks since boot).  Empty when unknown. */
struct dk_owner {
	char boot_id[64];
	char pidns[24];
	char pid[24];
	char start[24];
};

struct dk_state {
	const struct monkey_host *host;
	char *socket_path; /* unix socket of the engine */
	char *image;	   /* default image */
	char
	    *config_error; /* set when DOCKER_HOST is unusable: probe says it */
	int pull_missing;  /* pull images that are not present locally */
	/* --writable-git: the workspace's .git is not mounted read-only. */
	int writable_git;
	/* The network --network attaches to (NULL: the engine's default). */
	char *network;
	const char *no_pull_why; /* when not: what turned pulling off */
	int64_t api_timeout_ms;
	uid_t uid;
	gid_t gid;
	struct dk_owner owner;

	pthread_mutex_t lock; /* guards everything below */
	CURL **idle;	      /* idle handles, each keeping its connection */
	size_t n_idle, cap_idle;
	char api_prefix[16];  /* "/v1.41", empty until negotiated */
	char engine_name[32]; /* "Docker engine" or "podman service" */
	int is_podman;
	int swept;
	char **live; /* ids of containers this process has not removed yet */
	size_t n_live, cap_live;
	/* The janitor thread: the start-up sweep, then removal after
	 * answering the caller. */
	int sweep_pending;
	char **doomed;
	size_t n_doomed, cap_doomed;
	pthread_cond_t doomed_cond;
	pthread_t remover;
	int remover_started;
	int stopping;

	/* The warm pool (pool.c), under pool_lock. */
	int pool_size;	/* K prestarted containers; 0: every command cold */
	char *launcher; /* host path of monkey-launch; NULL: no pool */
	/* The engine could not run the launcher: commands run directly. */
	int launcher_broken;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	char *pool_key;		   /* create body of the pooled containers */
	char *pool_image;	   /* their image */
	char *pool_git;		   /* the .git they mount read-only, or NULL */
	unsigned pool_gen;	   /* grows when the key changes */
	struct dk_sandbox **ready; /* started, waiting for a command */
	size_t n_ready;
	int pool_failures;     /* in a row, for the back-off */
	int64_t pool_retry_at; /* monotonic ms */
	pthread_t filler;
	int filler_started;
	int pool_stopping;
	int pool_cancel[2]; /* readable once fini began: engine calls stop */
};

/* A container created for one command, with its attach stream. */
struct dk_sandbox {
	struct dk_state *st;
	char id[DK_ID_MAX];
	struct dk_attach *att;
	int has_stdin;
	/* It runs the launcher and the engine removes it when it ends. */
	int auto_remove;
	/* The .git it mounted read-only (device, inode) when it started. */
	uint64_t git_dev, git_ino;
	/* Monotonic ms at each step, logged at DEBUG (see bench_docker). */
	int64_t t_begin, t_created, t_attached, t_started, t_ended, t_done;
	time_t wall_begin;
};

/* ---- engine.c: HTTP over the unix socket ---- */

/* A response body, grown as it arrives (capped), or handed line by line to
 * on_line for streamed answers (image pulls). */
struct dk_response {
	long status;
	char *body;
	size_t len, cap;
	char *linebuf; /* partial line when on_line is set */
	size_t line_len, line_cap;
	int (*on_line)(void *ctx, const char *line);
	void *line_ctx;
	/* Filled by the /_ping header callback. */
	char api_version[16];
	int is_podman;
};

void dk_response_free(struct dk_response *r);

/* Send one request: method and path (path is prefixed with the negotiated
 * API version unless it starts with "/_"), body (JSON or NULL).  Returns 0
 * when an HTTP answer arrived, whatever its status, or a negative errno
 * with err saying why the engine could not be reached.  cancel_fd (or -1)
 * aborts the call with -ECANCELED when it becomes readable. */
int dk_request(struct dk_state *st, const char *method, const char *path,
	       const char *body, int64_t timeout_ms, int cancel_fd,
	       struct dk_response *resp, struct monkey_error *err);

/* Fill err from an engine error answer ({"message"} from docker,
 * {"cause","message","response"} from podman): "<what>: <engine's message>".
 * Returns the negative errno that fits the HTTP status. */
int dk_engine_error(struct dk_state *st, const struct dk_response *resp,
		    struct monkey_error *err, const char *what_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Make sure the engine answers and the API version is negotiated
 * (GET /_ping once per state).  Explains in one line why not. */
int dk_engine_connect(struct dk_state *st, struct monkey_error *err);

/* A fresh handle for a hijacked connection (configured for the socket). */
CURL *dk_raw_handle(struct dk_state *st);

void dk_engine_fini(struct dk_state *st);

/* Percent-encode s for a query string; caller frees. */
char *dk_urlencode(const char *s);

/* ---- attach.c: the hijacked attach stream ---- */

struct dk_attach;

/* 0 while nothing arrived and the engine keeps the stream open (a
 * prestarted container still waits); 1 when it did or closed it. */
int dk_attach_stale(struct dk_attach *a);

int dk_attach_open(struct dk_state *st, const char *id, int with_stdin,
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
};

/* Move data until the stream ends, until_ms (monotonic ms; 0 = never)
 * passes, the cancel fd fires or the sink says stop.  Returns an
 * enum dk_pump_end, or a negative errno when the stream broke. */
int dk_attach_pump(struct dk_attach *a, struct dk_io *io, int64_t until_ms,
		   struct monkey_error *err);

/* ---- container.c: create body and container calls ---- */

/* The working directory inside the container for req's host workdir;
 * NULL when it is not inside the workspace.  Caller frees. */
char *dk_container_workdir(const struct monkey_exec_request *req);

/* The workspace's .git that containers get read-only (unless
 * --writable-git): a real directory, or a regular file as in a git
 * worktree, never a symlink (lstat: a .git pointing at /etc must not
 * become a mount of the host's /etc).  Fills path (caller frees) and the
 * identity the launcher checks inside the container; 0 when there is
 * none to protect. */
struct dk_git {
	char *path;
	uint64_t dev, ino;
};
int dk_git_protected(struct dk_state *st, const struct monkey_exec_request *req,
		     struct dk_git *g);

/* The create body for req (hardening included).  Caller frees.  With a
 * launcher (host path of monkey-launch) it is the body of a container
 * for req's settings that runs the launcher: stdin open, the workspace
 * root as working directory; argv, workdir and stdin of req play no part
 * in it, so two requests that may share a pooled container have equal
 * bodies.  pooled adds the pool's label. */
char *dk_create_body(struct dk_state *st, const struct monkey_exec_request *req,
		     const char *image, const char *launcher, int pooled,
		     struct monkey_error *err);

int dk_container_create(struct dk_state *st, const char *body,
			const char *image, char id[DK_ID_MAX],
			struct monkey_error *err);
/* The runtime's failure to run the program, from an engine error body:
 * -ENOENT (not found, 127), -EACCES (not executable, 126) or 0 when the
 * error is something else. */
int dk_exec_failure(const char *body);
/* Starting maps "executable file not found" to -ENOENT and "permission
 * denied" of the exec to -EACCES, with the engine's message. */
int dk_container_start(struct dk_state *st, const char *id,
		       struct monkey_error *err);
int dk_container_kill(struct dk_state *st, const char *id, const char *sig,
		      struct monkey_error *err);
/* Waits until the container is not running; *status is its exit status. */
int dk_container_wait(struct dk_state *st, const char *id, int64_t timeout_ms,
		      int cancel_fd, long *status, struct monkey_error *err);
/* State.OOMKilled as a monkey_tristate (podman: MONKEY_UNKNOWN). */
int dk_container_inspect(struct dk_state *st, const char *id, int *running,
			 long *exit_code, int *oom_killed,
			 struct monkey_error *err);
int dk_container_remove(struct dk_state *st, const char *id,
			struct monkey_error *err);
/* 1 when the engine recorded an "oom" event for the container since the
 * given wall-clock time, 0 when not, or a negative errno. */
int dk_container_oom_event(struct dk_state *st, const char *id, time_t since,
			   struct monkey_error *err);

/* ---- image.c ---- */

/* Checks image references before they go into a URL. */
int dk_image_valid(const char *image);
/* Checks a network name (letters, digits, '.', '_', '-'). */
int dk_network_valid(const char *name);
/* 0 when present, -ENXIO when not, another negative errno on failure. */
int dk_image_present(struct dk_state *st, const char *image,
		     struct monkey_error *err);
/* Pull image, reporting progress through host->log; cancel_fd (or -1)
 * stops it. */
int dk_image_pull(struct dk_state *st, const char *image, int cancel_fd,
		  struct monkey_error *err);
/* -ENXIO with a message that names the image, why it is missing
 * (why_fmt) and how to get it. */
int dk_image_missing(struct dk_state *st, const char *image,
		     struct monkey_error *err, const char *why_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Present, or pulled when allowed.  The error names the image, says it is
 * not present locally, gives the engine's reason and how to get it. */
int dk_image_ensure(struct dk_state *st, const char *image, int cancel_fd,
		    struct monkey_error *err);

/* ---- sweep.c ---- */

/* Who this process is, for the owner labels; -1 when something could not
 * be read (the labels then stay empty and no sweep removes by them). */
int dk_owner_init(struct dk_owner *o);
/* 1 when the owner the labels name is provably gone (another boot; or
 * our PID namespace and its pid free or started at another time), 0 when
 * it lives or cannot be judged (another PID namespace, unreadable,
 * labels missing). */
int dk_owner_gone(const struct dk_owner *self, const char *boot_id,
		  const char *pidns, const char *pid, const char *start);
/* Remove the containers labelled DK_LABEL whose owner is gone; failures
 * are only logged. */
void dk_sweep(struct dk_state *st);

/* ---- run.c: one command ---- */

int dk_run(struct dk_state *st, const struct monkey_exec_request *req,
	   struct monkey_exec_result *result, struct monkey_error *err);

/* pull_fd for dk_sandbox_prepare: a missing image is an error. */
#define DK_NO_PULL (-2)
/* Create a container from body and attach to it (not started).  A
 * missing image is pulled, cancellable through pull_fd, unless pull_fd is
 * DK_NO_PULL. */
int dk_sandbox_prepare(struct dk_state *st, const char *body, const char *image,
		       int has_stdin, int pull_fd, struct dk_sandbox **out,
		       struct monkey_error *err);
int dk_sandbox_start(struct dk_sandbox *sb, struct monkey_error *err);
/* Run a started sandbox's process to its end, feeding io (stdin, output
 * sink, cancel fd), and fill result.  The deadline counts from here.
 * Returns 0, a negative errno, or DK_RUN_REPORTED when the sink said it
 * has everything (DK_PUMP_DONE): then the stream may still be open, and
 * the exit status and OOM answer are left to the caller. */
#define DK_RUN_REPORTED 1
int dk_sandbox_run(struct dk_sandbox *sb, struct dk_io io, int64_t timeout_ms,
		   int64_t kill_grace_ms, struct monkey_exec_result *result,
		   struct monkey_error *err);
/* Remove the container (whatever state it is in) and free sb; later=1
 * leaves the removal to the janitor. */
void dk_sandbox_destroy(struct dk_sandbox *sb, int later);

/* ---- pool.c: prestarted containers ---- */

/* Run req in a prestarted container when one with req's settings is
 * ready (*handled = 1, the result of the run returned); otherwise keys
 * the pool to req's settings so that the next one is, and leaves the
 * command to the cold path (*handled = 0). */
int dk_pool_exec(struct dk_state *st, const struct monkey_exec_request *req,
		 const char *image, struct monkey_exec_result *result,
		 int *handled, struct monkey_error *err);
/* Find monkey-launch (MONKEY_DOCKER_LAUNCHER, next to the module, the
 * installed path); NULL when there is none usable.  Caller frees. */
char *dk_pool_find_launcher(const struct monkey_host *host);
/* Stop the filler and remove every prestarted container. */
void dk_pool_fini(struct dk_state *st);

/* ---- inband.c: a command through monkey-launch ---- */

/* Run req in the started sandbox sb, whose process is the launcher: send
 * the command, move output until the launcher's records (or the end of
 * the stream), fill result from them, and remove sb after the answer. */
int dk_launch_run(struct dk_state *st, struct dk_sandbox *sb,
		  const struct monkey_exec_request *req, const char *wd,
		  int pooled, struct monkey_exec_result *result,
		  struct monkey_error *err);
/* Read a started launcher's ready line (a prestarted container, before
 * it is pooled); -ENOEXEC when the container did not run the launcher. */
int dk_launch_await_ready(struct dk_state *st, struct dk_sandbox *sb,
			  struct monkey_error *err);
/* Run req in a container created for it that runs the launcher
 * (*handled = 1); without a launcher, or when the request is one the
 * direct path must refuse, *handled = 0. */
int dk_launch_cold(struct dk_state *st, const struct monkey_exec_request *req,
		   const char *image, struct monkey_exec_result *result,
		   int *handled, struct monkey_error *err);

/* ---- docker.c: bookkeeping of containers not yet removed, janitor ---- */

void dk_live_add(struct dk_state *st, const char *id);
void dk_live_remove(struct dk_state *st, const char *id);
/* Remove the (stopped) container in the background, so the caller gets
 * its answer first; fini waits for the queue to empty.  Falls back to
 * removing at once when no thread can be started. */
void dk_remove_later(struct dk_state *st, const char *id);
/* Sweep (dk_sweep) once per state, in the background; fini waits. */
void dk_sweep_once(struct dk_state *st);

#endif
