/* monkey/exec.h - the sandbox executor: pick a backend (with fallback), run
 * commands through it with a scrubbed environment, a confined working
 * directory and bounded output.  This is libmonkey's programmatic API; the
 * monkey CLI is a thin layer over it. */
#ifndef MONKEY_EXEC_H
#define MONKEY_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/backend.h>
#include <monkey/error.h>
#include <monkey/proxy.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults (the seed's values). */
#define MONKEY_DEFAULT_SANDBOX "spawn"
#define MONKEY_DEFAULT_TIMEOUT_MS 60000
#define MONKEY_DEFAULT_KILL_GRACE_MS 2000
#define MONKEY_DEFAULT_MEMORY_MB 256
#define MONKEY_DEFAULT_CPUS 0.5
#define MONKEY_DEFAULT_PIDS 50
#define MONKEY_DEFAULT_MAX_OUTPUT (1024 * 1024)

/* Bits of monkey_exec_options.explicit_set: the options the user set.
 * Only these are reported when the backend cannot enforce them. */
enum monkey_option_bit {
	MONKEY_OPT_MEMORY = 1u << 0,
	MONKEY_OPT_CPUS = 1u << 1,
	MONKEY_OPT_PIDS = 1u << 2,
	MONKEY_OPT_NETWORK = 1u << 3,
	MONKEY_OPT_READ_ONLY = 1u << 4,
	MONKEY_OPT_MOUNTS = 1u << 5,
	MONKEY_OPT_IMAGE = 1u << 6,
	MONKEY_OPT_USER = 1u << 7,
	MONKEY_OPT_STDIN = 1u << 8,
	MONKEY_OPT_CPU_TIME = 1u << 9,
	MONKEY_OPT_FILE_SIZE = 1u << 10,
	MONKEY_OPT_OPEN_FILES = 1u << 11,
	MONKEY_OPT_POOL = 1u << 12,
	/* Set by the executor itself when allow_domains is not empty. */
	MONKEY_OPT_ALLOW_DOMAIN = 1u << 13,
};

/* Notice callback: the executor never prints.  level is a
 * enum monkey_log_level; msg is one line without newline. */
typedef void (*monkey_notify_fn)(void *ctx, int level, const char *msg);

/* Everything a user can say about how commands run.  Initialise with
 * monkey_exec_options_init(), then set fields.  Strings and arrays are
 * borrowed; they must outlive monkey_executor_open(). */
struct monkey_exec_options {
	const char *sandbox;     /* backend name; NULL = MONKEY_DEFAULT_SANDBOX */
	const char *backend_dir; /* searched first; may be NULL */
	bool no_fallback;        /* missing/unavailable backend is an error */
	int64_t timeout_ms;      /* per command; 0 = none */
	int64_t kill_grace_ms;
	uint64_t memory_mb;
	double cpus;
	int64_t pids;
	uint64_t cpu_time_s;      /* 0 = none */
	uint64_t file_size_bytes; /* 0 = none */
	uint64_t open_files;      /* 0 = none */
	bool network;
	bool read_only;
	/* Workspace root (default: the current directory) and the default
	 * working directory inside it (default: the root). */
	const char *workspace;
	const char *workdir;
	/* "SRC:DST[:ro|rw]" strings. */
	const char *const *mounts;
	size_t n_mounts;
	/* "KEY=VAL" strings set in the command's environment. */
	const char *const *env;
	size_t n_env;
	/* Host variable names passed through as they are. */
	const char *const *pass_env;
	size_t n_pass_env;
	const char *image; /* NULL: backend default (env MONKEY_DOCKER_IMAGE) */
	const char *user;  /* "uid:gid"; NULL: the invoking user */
	size_t max_output; /* per stream, bytes kept in memory */
	int pool;          /* prestarted sandboxes; -1 = backend default */
	uint32_t explicit_set; /* enum monkey_option_bit */
	monkey_notify_fn notify;
	void *notify_ctx;
	/* Refuse to open, instead of warning, when an option in explicit_set
	 * is not enforced by the backend; implies no_fallback. */
	bool strict;
	/* Leave the workspace's .git writable in containers (by default the
	 * container backends mount it read-only: git on the host runs what
	 * .git/config and hooks say). */
	bool writable_git;
	/* Egress proxy (monkey/proxy.h): --allow-domain patterns and
	 * --proxy-resolve pins.  Any allow rule puts commands in proxy mode:
	 * the executor opens the proxy with the executor and closes it with
	 * it, the backend (MONKEY_CAP_EGRESS_PROXY) gives commands no route
	 * but the proxy, and they get HTTP_PROXY and its kin.  Excludes
	 * network. */
	const char *const *allow_domains;
	size_t n_allow_domains;
	const char *const *proxy_resolve;
	size_t n_proxy_resolve;
	/* Dependency caches: "NAME:DST" or a preset ("@pip", "@npm",
	 * "@cargo", "@go"), each mounted read-write at DST for these
	 * commands only. */
	const char *const *caches;
	size_t n_caches;
};

void monkey_exec_options_init(struct monkey_exec_options *opts);

/* Captured output of one stream, bounded: the first head_len bytes and the
 * last tail_len bytes of everything written; total counts all of it. */
struct monkey_capture {
	char *head;
	size_t head_len;
	char *tail;
	size_t tail_len;
	uint64_t total;
	bool truncated; /* total > head_len + tail_len */
};

/* Join head and tail with a marker "[... N bytes omitted ...]" when
 * truncated.  Returns a NUL-terminated string (caller frees) and its length
 * in *len (may be NULL); NULL on allocation failure. */
char *monkey_capture_join(const struct monkey_capture *cap, size_t *len);

/* One command.  Fields left 0/NULL take the executor's settings. */
struct monkey_command {
	const char *const *argv; /* NULL-terminated, argv[0] required */
	const char *workdir; /* relative to the workspace root, or absolute
				inside it; NULL = the executor's workdir */
	int64_t timeout_ms;  /* 0 = the executor's timeout */
	const void *stdin_data;
	size_t stdin_len;
	bool has_stdin;
	/* Optional: also receives output as it arrives (e.g. to pass it
	 * through to a terminal).  Same contract as monkey_output_fn. */
	monkey_output_fn tee;
	void *tee_ctx;
	/* Optional: how the command is doing while it runs (elapsed time,
	 * memory in use), every half second or so, from the thread in
	 * monkey_executor_run; only from backends that can tell. */
	monkey_progress_fn progress;
	void *progress_ctx;
};

struct monkey_result {
	int exit_code;     /* the status "monkey exec" exits with: the
			      command's, 124, 125, 126, 127 or 128+N */
	int signal;        /* terminating signal, 0 if none */
	bool timed_out;
	bool cancelled;
	int oom_killed;    /* enum monkey_tristate */
	int64_t duration_ms;
	struct monkey_capture out;
	struct monkey_capture err;
	/* Non-empty when the sandbox or monkey failed (exit codes 125-127). */
	char error[MONKEY_ERROR_MESSAGE_MAX];
	/* enum monkey_limit bits of the limits the command ran into: the
	 * backend's report, plus file-size (SIGXFSZ) and CPU-time (SIGXCPU)
	 * inferred from the signal for every backend. */
	uint32_t limits_hit;
	/* enum monkey_limit bits the backend could not watch this time: for
	 * these a clear bit in limits_hit means "cannot tell", not "no". */
	uint32_t limits_unknown;
	/* Proxy mode only (proxied): every connection the command made
	 * through the egress proxy and the hosts it was refused, gathered
	 * once the proxy was idle after the command (commands run at once
	 * through one executor share the proxy: each result holds what
	 * ended during its run). */
	bool proxied;
	struct monkey_proxy_report network;
	/* Resource use, -1 when the backend cannot tell: peak memory in
	 * bytes and CPU time in milliseconds, of every process of the
	 * command as far as the backend saw them. */
	int64_t peak_memory_bytes;
	int64_t cpu_user_ms;
	int64_t cpu_system_ms;
	/* Only in a session (monkey/session.h): its sandbox was lost and a
	 * new one started, so files outside the workspace are gone. */
	bool session_reset;
};

/* The limit that ended or broke the command, the most decisive first:
 * "timeout", "memory", "cpu-time", "file-size", "pids", "open-files";
 * NULL when none did, as far as the backend can tell. */
const char *monkey_result_limit(const struct monkey_result *res);

/* Name of one enum monkey_limit bit ("pids", "file-size", "cpu-time",
 * "open-files"), NULL when unknown. */
const char *monkey_limit_name(uint32_t bit);

void monkey_result_free(struct monkey_result *res);

struct monkey_executor;

/* Load, initialise and probe the requested backend, falling back to spawn
 * as DESIGN §6 says unless opts->no_fallback.  Reports fallback and
 * unenforced options through opts->notify.  Validates the options (workdir
 * exists and is inside the workspace, mounts parse and exist, ...).
 * Changes the calling process for good: it becomes non-dumpable (so that
 * commands running as the same user cannot read its environment or memory
 * through /proc; no core dumps, no ptrace attach by that user), and with
 * the spawn or none backend a child subreaper as well (orphaned descendants
 * of processes it starts itself then come back to it, to be reaped). */
int monkey_executor_open(const struct monkey_exec_options *opts,
			 struct monkey_executor **out, struct monkey_error *err);

/* Run one command.  Returns 0 when the result is filled (including failures
 * that have an exit code: res->exit_code 125/126/127 with res->error set);
 * a negative errno only for invalid arguments.  Thread-safe. */
int monkey_executor_run(struct monkey_executor *ex,
			const struct monkey_command *cmd,
			struct monkey_result *res, struct monkey_error *err);

/* Ask running commands to stop.  Async-signal-safe (call it from a SIGINT
 * handler).  Every later run is cancelled at once too. */
void monkey_executor_cancel(struct monkey_executor *ex);

/* The backend in use ("spawn" after a fallback) and the one requested. */
const char *monkey_executor_backend_name(const struct monkey_executor *ex);
const char *monkey_executor_requested_name(const struct monkey_executor *ex);
bool monkey_executor_fell_back(const struct monkey_executor *ex);
/* Why it fell back ("" when it did not). */
const char *monkey_executor_fallback_reason(const struct monkey_executor *ex);
/* The loaded backend's descriptor (borrowed). */
const struct monkey_backend *
monkey_executor_backend(const struct monkey_executor *ex);
/* Resolved workspace root (borrowed). */
const char *monkey_executor_workspace(const struct monkey_executor *ex);

void monkey_executor_close(struct monkey_executor *ex);

/* Dependency caches (--cache).  where is "directory" for the host's
 * directories ($XDG_CACHE_HOME/monkey/caches/NAME), else the name of the
 * backend that keeps the cache as a volume.  size_bytes and last_use
 * (Unix seconds) are -1 when unknown. */
typedef void (*monkey_cache_list_fn)(void *ctx, const char *where,
				     const char *name, int64_t size_bytes,
				     int64_t last_use);
/* Every directory cache, then, when ex is not NULL and its backend keeps
 * caches as volumes, those. */
int monkey_caches_list(struct monkey_executor *ex, monkey_cache_list_fn each,
		       void *ctx, struct monkey_error *err);
/* Remove one cache: where "directory" (ex may be NULL), or ex's backend's
 * name.  -ENOENT when there is none of that name. */
int monkey_cache_remove(struct monkey_executor *ex, const char *where,
			const char *name, struct monkey_error *err);

/* Exit codes of "monkey exec" (docker run / timeout(1) conventions). */
#define MONKEY_EXIT_TIMEOUT 124
#define MONKEY_EXIT_FAILURE 125
#define MONKEY_EXIT_NOEXEC 126
#define MONKEY_EXIT_NOTFOUND 127

#ifdef __cplusplus
}
#endif

#endif
