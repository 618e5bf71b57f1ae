/* monkey/backend.h - the sandbox backend ABI.
 *
 * A backend is a shared object in a backend directory (for example
 * $(libdir)/monkey/backends/docker.so).  It exports exactly one symbol,
 * MONKEY_BACKEND_ENTRY_SYMBOL, a function returning a pointer to a constant
 * struct monkey_backend that describes the backend and holds its entry
 * points.  The host (monkey, or any program using libmonkey) loads only the
 * backend it was asked for.
 *
 * Compatibility rules (see monkey-backend(7)):
 *  - Every versioned struct starts with its size as the side that filled it
 *    was compiled with.  Fields are only ever appended; a reader uses a field
 *    only when the struct_size it was given covers it
 *    (MONKEY_STRUCT_HAS(ptr, field)).
 *  - MONKEY_BACKEND_ABI_MAJOR changes only when a field is removed, retyped
 *    or changes meaning.  The host refuses a backend with another major.
 *  - MONKEY_BACKEND_ABI_MINOR grows when fields are appended.  A backend
 *    built against an older minor keeps working: the host treats the
 *    missing trailing fields as NULL/0 ("not supported").
 *  - A NULL entry point means "not supported"; only init, probe, exec and
 *    fini are required.
 *  - Nothing in this ABI is a json-c or libcurl object: configuration crosses
 *    as plain C data or a JSON string, so a backend may link its own
 *    libraries in its own versions.
 */
#ifndef MONKEY_BACKEND_H
#define MONKEY_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <monkey/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MONKEY_BACKEND_ABI_MAJOR 1
#define MONKEY_BACKEND_ABI_MINOR 2

/* The one symbol a backend exports: a function of type
 * monkey_backend_entry_fn. */
#define MONKEY_BACKEND_ENTRY_SYMBOL "monkey_backend_entry"

/* True when the struct at ptr, whose first member is uint32_t struct_size,
 * is large enough to contain field. */
#define MONKEY_STRUCT_HAS(ptr, field)                                          \
	((ptr)->struct_size >=                                                 \
	 offsetof(__typeof__(*(ptr)), field) + sizeof((ptr)->field))

/* Safety level, shown to users by "monkey sandbox list". */
enum monkey_safety {
	MONKEY_SAFETY_NONE = 0,   /* runs commands directly on the host */
	MONKEY_SAFETY_LOW = 1,    /* some hygiene, little isolation */
	MONKEY_SAFETY_MEDIUM = 2, /* process-level sandbox (spawn) */
	MONKEY_SAFETY_HIGH = 3,   /* kernel-level isolation (containers, VMs) */
};

/* Capability flags: what a backend can enforce.  The host reports every
 * option the user set explicitly whose flag the backend lacks
 * ("--memory is not enforced by the spawn backend"). */
enum monkey_capability {
	MONKEY_CAP_MEMORY = 1u << 0,        /* memory_bytes is a hard limit */
	MONKEY_CAP_CPU = 1u << 1,           /* cpus is enforced */
	MONKEY_CAP_PIDS = 1u << 2,          /* pids is enforced */
	MONKEY_CAP_NETWORK_ISOLATION = 1u << 3, /* no network unless network=1 */
	MONKEY_CAP_FS_ISOLATION = 1u << 4,  /* only the workspace and mounts are
					       visible */
	MONKEY_CAP_READ_ONLY_ROOT = 1u << 5, /* read_only_root is enforced */
	MONKEY_CAP_MOUNTS = 1u << 6,        /* mounts[] are honoured */
	MONKEY_CAP_STDIN = 1u << 7,         /* stdin_data is delivered */
	MONKEY_CAP_TIMEOUT = 1u << 8,       /* timeout_ms kills the command */
	MONKEY_CAP_KILL_TREE = 1u << 9,     /* no process outlives the command */
	MONKEY_CAP_CLEAN_ENV = 1u << 10,    /* only envp reaches the command */
	MONKEY_CAP_USER = 1u << 11,         /* user ("uid:gid") is honoured */
	MONKEY_CAP_IMAGE = 1u << 12,        /* image selects a root filesystem */
	MONKEY_CAP_MEMORY_APPROX = 1u << 13, /* memory_bytes is applied as an
						address-space rlimit, which is
						not a memory limit */
	MONKEY_CAP_CPU_TIME = 1u << 14,     /* cpu_time_s is enforced */
	MONKEY_CAP_FILE_SIZE = 1u << 15,    /* file_size_bytes is enforced */
	MONKEY_CAP_OPEN_FILES = 1u << 16,   /* open_files is enforced */
	MONKEY_CAP_OOM_REPORT = 1u << 17,   /* oom_killed is reported */
	MONKEY_CAP_POOL = 1u << 18,         /* prestarted sandboxes (pool) */
	MONKEY_CAP_CANCEL = 1u << 19,       /* cancel_fd stops the command */
	/* ABI 1.2: proxy_dir is honoured: the command has no route out but
	 * the forwarder to the host's egress proxy (see proxy_dir). */
	MONKEY_CAP_EGRESS_PROXY = 1u << 20,
	/* ABI 1.2: dependency caches. */
	MONKEY_CAP_CACHE_VOLUMES = 1u << 21, /* caches[] are mounted from the
						backend's own named volumes,
						listed and removed through
						caches_list and cache_remove */
	/* ABI 1.2: session_open, session_exec and session_close are set:
	 * what a command writes outside the workspace persists to the
	 * session's next command. */
	MONKEY_CAP_SESSION = 1u << 22,
	/* ABI 1.2: the job entry points are set (background jobs in a
	 * session). */
	MONKEY_CAP_JOBS = 1u << 23,
};

/* Log levels for monkey_host.log. */
enum monkey_log_level {
	MONKEY_LOG_DEBUG = 0,
	MONKEY_LOG_INFO = 1,
	MONKEY_LOG_WARNING = 2, /* shown to the user by the CLI */
	MONKEY_LOG_ERROR = 3,
};

/* Output stream identifiers for monkey_exec_request.output. */
enum monkey_stream {
	MONKEY_STREAM_STDOUT = 1,
	MONKEY_STREAM_STDERR = 2,
};

/* Bits of monkey_exec_result.limits_hit (ABI 1.1): limits the command ran
 * into.  Timeouts and OOM kills have fields of their own. */
enum monkey_limit {
	MONKEY_LIMIT_PIDS = 1u << 0,	  /* a fork failed at the pids limit */
	MONKEY_LIMIT_FILE_SIZE = 1u << 1, /* a write passed the file-size
					     limit (SIGXFSZ or EFBIG) */
	MONKEY_LIMIT_CPU_TIME = 1u << 2,  /* killed at the CPU-time limit */
	MONKEY_LIMIT_OPEN_FILES = 1u << 3, /* an open failed at the open-files
					      limit */
};

/* oom_killed values: some engines (podman) cannot tell. */
enum monkey_tristate {
	MONKEY_UNKNOWN = -1,
	MONKEY_NO = 0,
	MONKEY_YES = 1,
};

/* Services the host offers the backend.  Passed to init; valid until fini
 * returns.  Backends never print or exit: they log through this table and
 * report failures through struct monkey_error. */
struct monkey_host {
	uint32_t struct_size;
	uint32_t abi_major; /* the host's MONKEY_BACKEND_ABI_MAJOR */
	uint32_t abi_minor; /* the host's MONKEY_BACKEND_ABI_MINOR */
	/* Emit a message at level.  Thread-safe.  printf-style. */
	void (*log)(const struct monkey_host *host, int level, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
	/* Fill err (may be NULL: then nothing happens) with code (a negative
	 * errno value) and a formatted message; returns code, so backends can
	 * write "return host->set_error(err, -EIO, ...)". */
	int (*set_error)(struct monkey_error *err, int code, const char *fmt,
			 ...) __attribute__((format(printf, 3, 4)));
	/* An id of this host process, unique on the machine and stable for its
	 * life ("<pid>-<start time>").  Backends label what they create with it
	 * so that a later host can remove what a crashed one left behind. */
	const char *instance_id;
	/* Host private data; backends must not touch it. */
	void *host_data;
	/* ABI 1.1: absolute path of the module file the backend was loaded
	 * from (the host may map it through /proc/self/fd, so dladdr does
	 * not tell).  Backends find files installed next to them with it.
	 * NULL when the host does not know. */
	const char *module_path;
	/* New fields go here, at the end. */
};

/* ABI 1.2: dependency caches.  A persistent cache the command names,
 * mounted read-write at target. */
struct monkey_cache_mount {
	const char *name;   /* [A-Za-z0-9][A-Za-z0-9_.-]*, validated */
	const char *target; /* absolute path inside the sandbox */
};

/* What caches_list reports for each cache.  size_bytes and last_use (Unix
 * seconds) are -1 when unknown. */
typedef void (*monkey_cache_fn)(void *ctx, const char *name,
				int64_t size_bytes, int64_t last_use);

/* One bind mount. */
struct monkey_mount {
	const char *source; /* absolute host path, already resolved */
	const char *target; /* absolute path inside the sandbox */
	int read_only;      /* 1: read-only, 0: read-write */
};

/* Output sink: called by the backend, from the thread that called exec,
 * with consecutive chunks of one stream.  data is borrowed for the call.
 * Returns 0; a negative value asks the backend to stop the command (it is
 * then reported like a cancellation). */
typedef int (*monkey_output_fn)(void *ctx, int stream, const void *data,
				size_t len);

/* ABI 1.2: resource use.  How a running command is doing, for a live
 * display. */
struct monkey_progress {
	uint32_t struct_size;
	int64_t elapsed_ms;   /* since the command started */
	int64_t memory_bytes; /* memory in use now; -1 when unknown */
};

/* Progress sink: called by the backend from the thread that called exec,
 * while the command runs.  p is borrowed for the call. */
typedef void (*monkey_progress_fn)(void *ctx, const struct monkey_progress *p);

/* One command to run.  Everything is borrowed from the host for the
 * duration of exec.  The host has already validated and resolved it:
 * workdir lies inside workspace (symlinks resolved), mounts exist, envp is
 * the complete scrubbed environment. */
struct monkey_exec_request {
	uint32_t struct_size;
	/* argv[0] is the program, looked up in PATH as execvp(3) does when it
	 * has no '/'.  NULL-terminated.  Never joined into a shell string
	 * (except by the "none" backend, which says so loudly). */
	const char *const *argv;
	/* The whole environment of the command, "NAME=value", NULL-terminated.
	 * Built by the host from an allowlist plus what the user named. */
	const char *const *envp;
	/* The subset of envp the user named explicitly (--env/--pass-env).
	 * Container backends pass these and may keep the image's own PATH and
	 * HOME instead of the host's.  NULL-terminated. */
	const char *const *user_envp;
	/* Absolute, resolved workspace root on the host. */
	const char *workspace;
	/* Absolute, resolved working directory on the host, inside workspace. */
	const char *workdir;
	/* Wall-clock limit in milliseconds; 0 means none. */
	int64_t timeout_ms;
	/* Time between SIGTERM and SIGKILL on timeout or cancel. */
	int64_t kill_grace_ms;
	/* Limits; 0 means "no limit requested". */
	uint64_t memory_bytes;
	double cpus;     /* CPUs, e.g. 0.5 */
	int64_t pids;    /* process/thread count */
	uint64_t cpu_time_s;
	uint64_t file_size_bytes;
	uint64_t open_files;
	/* 1 to give the command a network, 0 for none. */
	int network;
	/* 1 for a read-only root filesystem (with a writable /tmp). */
	int read_only_root;
	const struct monkey_mount *mounts;
	size_t n_mounts;
	/* Image for container backends; NULL means the backend's default. */
	const char *image;
	/* "uid:gid" to run as; NULL means the invoking user's uid:gid. */
	const char *user;
	/* Data for the command's standard input.  has_stdin == 0 means
	 * /dev/null. */
	const void *stdin_data;
	size_t stdin_len;
	int has_stdin;
	/* Where output goes.  Required. */
	monkey_output_fn output;
	void *output_ctx;
	/* A file descriptor that becomes readable when the host wants the
	 * command stopped (Ctrl-C).  -1 when there is none.  The backend must
	 * not read from it or close it.  It treats it like a timeout: the whole
	 * command is killed and everything it created is removed, then exec
	 * returns with result->cancelled = 1. */
	int cancel_fd;
	/* ABI 1.2: egress proxy.  When proxy_dir is not NULL the command runs
	 * in proxy mode: network is 0, and a backend with
	 * MONKEY_CAP_EGRESS_PROXY gives it no route out, makes proxy_dir (the
	 * directory of the proxy's unix socket, MONKEY_PROXY_SOCKET_NAME)
	 * reachable inside the sandbox, and starts proxy_forwarder (the
	 * host path of monkey-proxy-forward, a static program: "[--port
	 * PORT] [--ready-fd N] [--die-with-parent] SOCKET") there before the
	 * command, listening on 127.0.0.1:proxy_port in the sandbox's own
	 * network namespace.  envp already holds HTTP_PROXY and
	 * its kin for that port.  A backend without the capability ignores
	 * these fields (the host warns, or refuses with --strict). */
	const char *proxy_dir;
	const char *proxy_forwarder;
	unsigned proxy_port;
	/* ABI 1.2: resource use.  Optional (NULL: none): the backend calls
	 * progress every half second or so while the command runs, from
	 * its own wait loop, never after exec returns.  A callback rather
	 * than an entry point to ask with: exec blocks its thread, and the
	 * backend alone knows which processes or container are the
	 * command's while it runs. */
	monkey_progress_fn progress;
	void *progress_ctx;
	/* ABI 1.2: dependency caches.  Given only to backends with
	 * MONKEY_CAP_CACHE_VOLUMES (the host turns caches into mounts or
	 * environment variables for the others). */
	const struct monkey_cache_mount *caches;
	size_t n_caches;
};

/* What happened.  Filled by the backend; the host zeroes it and sets
 * struct_size, exit_code = -1 and oom_killed = MONKEY_UNKNOWN first.
 * Output is not here: it went through request->output. */
struct monkey_exec_result {
	uint32_t struct_size;
	int exit_code;  /* 0..255 when the command exited, -1 otherwise */
	int signal;     /* terminating signal number, 0 if it exited */
	int timed_out;  /* 1 when killed because timeout_ms passed */
	int cancelled;  /* 1 when killed because cancel_fd fired */
	int oom_killed; /* enum monkey_tristate */
	/* ABI 1.1: enum monkey_limit bits of the limits the command ran
	 * into, as far as the backend can tell; 0 when none or unknown.
	 * The host also infers file-size and CPU-time limits from the
	 * signal (SIGXFSZ, SIGXCPU). */
	uint32_t limits_hit;
	/* ABI 1.1: enum monkey_limit bits of the limits the backend could
	 * not watch this time (podman without pids.events): for these, a
	 * clear bit in limits_hit means "cannot tell", not "no". */
	uint32_t limits_unknown;
	/* ABI 1.2: resource use.  The host sets each figure to -1
	 * ("unknown") before exec; a backend overwrites those it can
	 * measure, for this command alone.  Wall time is the host's to
	 * measure. */
	int64_t peak_memory_bytes; /* the cgroup's memory high-water mark, or
				      the largest ru_maxrss of the command's
				      processes */
	int64_t cpu_user_us;	   /* CPU time of every process of the
				      command, as far as they were reaped */
	int64_t cpu_system_us;
	/* New fields go here, at the end. */
};

/* Entry points.  All return 0 on success or a negative errno value after
 * filling err (through host->set_error).  When a backend returns an error
 * without a message the host writes a generic one naming the backend. */

/* Initialise.  config_json is a JSON object string with backend settings the
 * host knows of ({"image":"...","pool":1,...}) or NULL; unknown keys are
 * ignored.  Must not fail because the backend is unavailable (that is
 * probe's job).  *state is handed back to every other entry point. */
typedef int (*monkey_backend_init_fn)(const struct monkey_host *host,
				      const char *config_json, void **state,
				      struct monkey_error *err);

/* Can commands run now?  0 when yes; otherwise an error whose message says
 * why in one line ("Docker daemon not reachable at /var/run/docker.sock:
 * connection refused").  May be called several times, and only looks:
 * no side effects (nothing pulled, created or removed), since listing
 * backends probes them.
 *
 * The error code is a contract with the host:
 *  -ENODEV  the backend is absent here (its engine or service is not
 *           installed, not running, nobody listens): the host may fall
 *           back to another backend, saying why.
 *  any other negative errno: the backend is there but cannot run commands
 *           as configured (a missing image, a refused setting, permission
 *           denied): the host reports it and never falls back.
 * On success the backend may leave a one-line note in err (code 0), e.g.
 * that the image is missing but will be pulled; hosts show it. */
typedef int (*monkey_backend_probe_fn)(void *state, struct monkey_error *err);

/* Run one command to completion.  Returns 0 when the command ran (whatever
 * its exit status, timeout or OOM); -ENOENT when the program does not exist
 * (reported as 127), -EACCES or -ENOEXEC when it cannot be executed (126),
 * any other negative errno when the sandbox failed (125).  Safe to call from
 * several threads at once with the same state.  Nothing the command started
 * may remain when it returns. */
typedef int (*monkey_backend_exec_fn)(void *state,
				      const struct monkey_exec_request *req,
				      struct monkey_exec_result *result,
				      struct monkey_error *err);

/* Release everything; state is invalid afterwards. */
typedef void (*monkey_backend_fini_fn)(void *state);

/* ---- ABI 1.2: sessions ----
 * A session is one sandbox that runs a sequence of commands: what a
 * command writes anywhere writable in the sandbox is there for the next
 * one.  Nothing else remains after a command: every process it started
 * is killed before session_exec returns (at exit, timeout, cancel or OOM
 * alike).  Limits that are sandbox-wide (memory, pids, CPU) apply to the
 * session as a whole.  See monkey-backend(7), "SESSIONS". */

/* Open a session whose sandbox has the settings of req (image, user,
 * mounts, limits, network, read-only root, workspace, environment);
 * argv, workdir, stdin, timeout, output and cancel_fd of req play no
 * part (argv and output are NULL).  May prepare the sandbox ahead (start
 * a container in the background) so that the first command does not
 * wait.  *session is handed to session_exec and session_close.
 * -EOPNOTSUPP: no sessions as configured (the host then runs the
 * commands through exec). */
typedef int (*monkey_backend_session_open_fn)(
    void *state, const struct monkey_exec_request *req, void **session,
    struct monkey_error *err);

/* Run one command in the session, with exec's contract for req, result
 * and the return value; the settings that open took are the session's
 * (the request's own limits, image, user, mounts and network are
 * ignored).  One command at a time: concurrent calls on one session are
 * serialised by the backend.  When the sandbox turned out to be gone
 * before the command was sent (killed from outside) the backend starts a
 * new one, runs the command there and leaves a note in err with code 0
 * saying that files outside the workspace are gone; when it died while
 * the command ran it returns -ECONNRESET, saying so, and the next call
 * starts a new one. */
typedef int (*monkey_backend_session_exec_fn)(
    void *session, const struct monkey_exec_request *req,
    struct monkey_exec_result *result, struct monkey_error *err);

/* End the session: everything it started is killed and its sandbox
 * removed before it returns.  session is invalid afterwards.  Called
 * before fini. */
typedef void (*monkey_backend_session_close_fn)(void *session);

/* ---- ABI 1.2: background jobs in a session (MONKEY_CAP_JOBS) ----
 * A job is a command of a session that runs on while later commands do:
 * it is exempt from the kill at a foreground command's end, and only
 * from it.  It counts against the session's limits, and every job dies
 * when its session closes.  See monkey-backend(7), "JOBS". */

/* Start req in the session without waiting for it.  req is as for
 * session_exec, except: output and cancel_fd play no part (output is
 * kept for job_read), stdin is a pipe job_write feeds (has_stdin and
 * stdin_data are its first bytes), and timeout_ms is the job's own
 * limit.  Borrowed for the call only.  Errors as exec's. */
typedef int (*monkey_backend_job_start_fn)(
    void *session, const struct monkey_exec_request *req, void **job,
    struct monkey_error *err);

/* Pass the job's output since the last read to out (from the calling
 * thread), waiting up to wait_ms for some when there is none and the job
 * runs.  The backend keeps at most a bounded head and tail of unread
 * output per stream and says how much it dropped in the output.  Sets
 * *running; once it is 0, result says how the job ended (as exec's). */
typedef int (*monkey_backend_job_read_fn)(
    void *job, int64_t wait_ms, monkey_output_fn out, void *out_ctx,
    int *running, struct monkey_exec_result *result,
    struct monkey_error *err);

/* Write len bytes to the job's stdin; close_stdin then ends it (EOF). */
typedef int (*monkey_backend_job_write_fn)(void *job, const void *data,
					   size_t len, int close_stdin,
					   struct monkey_error *err);

/* Stop the job and everything it started (SIGTERM, the request's grace,
 * SIGKILL) and return once they are gone; output still unread stays for
 * job_read.  Does nothing when it already ended. */
typedef int (*monkey_backend_job_stop_fn)(void *job, struct monkey_error *err);

/* Stop the job if it runs and free it; job is invalid afterwards.  Every
 * job is closed before its session. */
typedef void (*monkey_backend_job_close_fn)(void *job);

/* The descriptor.  Constant, owned by the backend, alive while it is
 * loaded. */
struct monkey_backend {
	/* Fill with MONKEY_BACKEND_ABI_MAJOR, MONKEY_BACKEND_ABI_MINOR and
	 * sizeof(struct monkey_backend) (MONKEY_BACKEND_HEADER does). */
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t struct_size;
	/* Short name, equal to the file name without extension ("spawn"). */
	const char *name;
	/* One line for "monkey sandbox list". */
	const char *description;
	/* enum monkey_safety. */
	int safety;
	/* enum monkey_capability flags. */
	uint32_t capabilities;
	/* Required. */
	monkey_backend_init_fn init;
	monkey_backend_probe_fn probe;
	monkey_backend_exec_fn exec;
	monkey_backend_fini_fn fini;
	/* Optional: a one-paragraph text for "monkey sandbox info" (limits it
	 * applies, defaults, caveats).  May be NULL. */
	const char *details;
	/* ABI 1.2: dependency caches (with MONKEY_CAP_CACHE_VOLUMES).
	 * caches_list calls each once per cache this backend keeps;
	 * cache_remove removes one (-ENOENT when there is none of that
	 * name, -EBUSY when a sandbox uses it). */
	int (*caches_list)(void *state, monkey_cache_fn each, void *ctx,
			   struct monkey_error *err);
	int (*cache_remove)(void *state, const char *name,
			    struct monkey_error *err);
	/* ABI 1.2, sessions (MONKEY_CAP_SESSION): all three or none.  A
	 * backend without them still serves sessions: the host runs their
	 * commands one by one through exec and tells the user that state
	 * does not persist. */
	monkey_backend_session_open_fn session_open;
	monkey_backend_session_exec_fn session_exec;
	monkey_backend_session_close_fn session_close;
	/* ABI 1.2, jobs (MONKEY_CAP_JOBS): all five or none; they need the
	 * session entry points.  Without them a host refuses to start a job
	 * rather than run it in the foreground. */
	monkey_backend_job_start_fn job_start;
	monkey_backend_job_read_fn job_read;
	monkey_backend_job_write_fn job_write;
	monkey_backend_job_stop_fn job_stop;
	monkey_backend_job_close_fn job_close;
	/* New fields go here, at the end. */
};

/* Initialiser for the first three fields. */
#define MONKEY_BACKEND_HEADER                                                  \
	.abi_major = MONKEY_BACKEND_ABI_MAJOR,                                 \
	.abi_minor = MONKEY_BACKEND_ABI_MINOR,                                 \
	.struct_size = sizeof(struct monkey_backend)

typedef const struct monkey_backend *(*monkey_backend_entry_fn)(void);

/* Declares and exports the entry symbol; use once per backend:
 *   MONKEY_BACKEND_EXPORT(&my_descriptor)                                  */
#define MONKEY_BACKEND_EXPORT(desc_ptr)                                        \
	__attribute__((visibility("default"))) const struct monkey_backend *   \
	monkey_backend_entry(void);                                            \
	const struct monkey_backend *monkey_backend_entry(void)                \
	{                                                                      \
		return (desc_ptr);                                             \
	}

#ifdef __cplusplus
}
#endif

#endif
