/* The docker backend's container layer, on the engine's API: one
 * container's create body and calls (container.c), images (image.c), the
 * owner labels and the sweep of what dead owners left (sweep.c), and the
 * containers this process has not removed yet, with the janitor that
 * removes them (live.c). */
#ifndef MONKEY_DOCKER_CONTAINER_H
#define MONKEY_DOCKER_CONTAINER_H

#include <time.h>

#include "engine.h"

/* ---- container.c ---- */

/* The working directory inside the container for req's host workdir;
 * NULL when it is not inside the workspace.  Caller frees. */
char *dk_container_workdir(const struct monkey_exec_request *req);

/* Most variables a container is given. */
#define DK_ENV_MAX 512
/* The variables a command of req gets in its container (the host's
 * terminal and language ones, then what the user named), at most max,
 * borrowed from req.  Returns how many. */
size_t dk_container_env(const struct monkey_exec_request *req, const char **out,
			size_t max);

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
/* The request's egress proxy directory (ABI 1.2), NULL when it is not
 * in proxy mode or comes from an older host. */
const char *dk_req_proxy(const struct monkey_exec_request *req);

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

/* ---- live.c ---- */

/* Containers this process created: every one is added once created and
 * removed from the list once the engine removed it, so that fini knows
 * what an interrupted command left.  -ENOMEM when it cannot be added: a
 * container not on the list must not be kept. */
int dk_live_add(struct dk_state *st, const char *id);
void dk_live_remove(struct dk_state *st, const char *id);
/* Remove a container of this process now (dk_container_remove) and
 * forget it. */
int dk_remove_now(struct dk_state *st, const char *id,
		  struct monkey_error *err);
/* Remove the (stopped) container in the background, so the caller gets
 * its answer first; fini waits for the queue to empty.  Falls back to
 * removing at once when no thread can be started. */
void dk_remove_later(struct dk_state *st, const char *id);
/* Sweep (dk_sweep) once per state, in the background; fini waits. */
void dk_sweep_once(struct dk_state *st);
/* At fini: wait for the janitor to finish its sweep and queue, then try
 * once more to remove what is left, logging what stays behind. */
void dk_live_stop(struct dk_state *st);

/* ABI 1.2: dependency caches are volumes named DK_CACHE_PREFIX NAME and
 * labelled DK_CACHE_LABEL=NAME. */
#define DK_CACHE_PREFIX "monkey-cache-"
#define DK_CACHE_LABEL "monkey.cache"
/* A cache volume the engine makes on first mount is root's: a command
 * that runs as another user could not write its own cache.  Before such a
 * command, each cache volume that does not exist yet is created, labelled,
 * and its root handed to the user by monkey-launch --own in a short
 * container of its own.  Volumes that exist are left as they are. */
int dk_caches_prepare(struct dk_state *st,
		      const struct monkey_exec_request *req, const char *image,
		      struct monkey_error *err);
/* Where the container that hands a new cache to its user mounts it. */
#define DK_OWN_TARGET "/dev/.monkey-cache"
/* That container's create body (user is "UID:GID").  Caller frees. */
char *dk_own_body(struct dk_state *st, const char *image, const char *volume,
		  const char *user, struct monkey_error *err);

/* volumes.c: the caches_list and cache_remove entry points. */
int dk_caches_list(struct dk_state *st, monkey_cache_fn each, void *ctx,
		   struct monkey_error *err);
int dk_cache_remove(struct dk_state *st, const char *name,
		    struct monkey_error *err);

#endif
