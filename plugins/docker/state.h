/* The docker backend's state: one per init, shared by every layer of the
 * backend (the headers of the layers say what each provides, bottom up:
 * engine.h, container.h, attach.h and inband.h, run.h, pool.h; docker.c
 * holds the entry points).  Data only. */
#ifndef MONKEY_DOCKER_STATE_H
#define MONKEY_DOCKER_STATE_H

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
/* Proxy mode (ABI 1.2): where a container sees the egress proxy's socket
 * directory and its forwarder (read-only binds); the launcher starts the
 * forwarder before the command. */
#define DK_PROXY_DIR_TARGET "/dev/.monkey-proxy"
#define DK_PROXY_FORWARDER_TARGET "/dev/.monkey-proxy-forward"

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

#endif
