/* The verifier's private interface: one verification's state, running one
 * command through the backend under test, and reporting what a probe
 * found.  verify.c drives the probes, verify_run.c runs commands, the
 * verify_probes_*.c files hold the attacks. */
#ifndef MONKEY_VERIFY_INT_H
#define MONKEY_VERIFY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <monkey/backend.h>
#include <monkey/verify.h>

#include "loader.h"

#include "util.h"

/* Where the helper appears in backends that honour mounts: next to the
 * docker backend's launcher, a place every container runtime creates. */
#define VF_HELPER_TARGET "/dev/.monkey-probe"
#define VF_HELPER_VERSION "monkey-probe 2"
#define VF_TOKEN_LEN 24
#define VF_OUT_MAX 65536
#define VF_ERR_MAX 4096
/* Default wall-clock limit of a probe's command: a backend that enforces
 * no timeout still gets its commands stopped (through cancel_fd) after
 * this plus VF_WATCHDOG_MS. */
#define VF_TIMEOUT_MS 20000
#define VF_GRACE_MS 500
#define VF_WATCHDOG_MS 10000

/* What a probe found; verify.c turns it into a verdict with the claim. */
enum vf_outcome {
	VF_HOLDS,
	VF_BROKEN,
	VF_UNPROBED,
	VF_SETUP,
};

struct vf_ctx {
	const struct monkey_verify_options *opts;
	const char *name;
	/* The backend under test, opened once for all probes. */
	struct monkey_backend_instance *bi;
	const struct monkey_backend *desc; /* bi's */
	void *state;			   /* bi's */
	uint32_t caps;

	/* Files: root (0755) holds ws (the workspace), outside (a planted
	 * file that is never mounted) and the two mount sources. */
	char *root, *ws, *outside, *planted, *mnt_ro, *mnt_rw;
	/* Random, in every name and mark the probes use. */
	char token[VF_TOKEN_LEN + 1];
	char secret[VF_TOKEN_LEN + 1];	    /* in monkey's environment */
	char host_secret[VF_TOKEN_LEN + 1]; /* in the decoy's */
	char envp_mark[VF_TOKEN_LEN + 1];   /* in envp: must arrive */
	/* A host process outside every sandbox whose environment holds
	 * host_secret, standing for the user's other processes. */
	pid_t decoy;
	int decoy_fd;

	char *env_store[5];
	const char *envp[5];
	const char *user_envp[2];

	/* The probe helper: its host file, and the argv[0] that runs it
	 * inside the sandbox (NULL: not available there). */
	char *helper_host;
	const char *helper;
	bool helper_mounted;
	char helper_note[MONKEY_VERIFY_TEXT_MAX];

	pthread_mutex_t lock;
	struct monkey_verify_item *items;
	size_t n_items;
};

/* One command through the backend.  Zero it, set argv and what differs
 * from the defaults (no limits, VF_TIMEOUT_MS, VF_GRACE_MS, the workspace
 * root), call vf_exec. */
struct vf_exec {
	const char *argv[8];
	const char *dir; /* the probe's directory in the workspace */
	int64_t timeout_ms;
	int64_t grace_ms;
	uint64_t memory_bytes;
	double cpus;
	int64_t pids;
	uint64_t cpu_time_s, file_size_bytes, open_files;
	int read_only_root;
	const char *user;
	struct monkey_mount mounts[3];
	size_t n_mounts;
	bool with_helper; /* add the helper's mount, when it is mounted */
	/* Proxy mode (the egress-proxy probe): the request's ABI 1.2 block. */
	const char *proxy_dir, *proxy_forwarder;
	unsigned proxy_port;
	const void *stdin_data;
	size_t stdin_len;
	bool has_stdin;
	/* Write to cancel_fd once stdout shows this mark, or cancel_after_ms
	 * after the start (0: never), whichever comes first. */
	const char *cancel_on;
	int64_t cancel_after_ms;
	/* Compare stdout with this, byte for byte. */
	const unsigned char *expect;
	size_t expect_len;

	/* What happened. */
	int rc;
	struct monkey_error err;
	struct monkey_exec_result res;
	char out[VF_OUT_MAX + 1]; /* the first VF_OUT_MAX bytes, NUL-ended */
	size_t out_len;
	uint64_t out_total;
	char errout[VF_ERR_MAX + 1];
	size_t err_len;
	int64_t ms;
	int64_t cancelled_at; /* ms after the start; -1: not cancelled */
	uint64_t mismatch_at; /* first differing byte; UINT64_MAX: none */
	bool watchdog_fired;
};

/* Run x through the backend (x->rc is exec's return).  Returns 0, or a
 * negative errno when the verifier could not set the run up. */
int vf_exec(struct vf_ctx *c, struct vf_exec *x);

/* vf_exec, reporting a failure to set the run up as the setup failure of
 * cap's probe; true when the command ran (whatever its end). */
bool vf_run(struct vf_ctx *c, struct vf_exec *x, uint32_t cap,
	    const char *tried);

/* Path of a new directory for one probe, dir under the workspace (caller
 * frees); NULL when it cannot be made. */
char *vf_probe_dir(struct vf_ctx *c, const char *dir);
/* A file under the workspace, relative path. */
int vf_write_file(struct vf_ctx *c, const char *rel, const char *data,
		  size_t len, int mode);

/* Record what the probe of capability cap (0: exit-status) found.  tried
 * and the formatted text are one line each. */
void vf_report(struct vf_ctx *c, uint32_t cap, enum vf_outcome o,
	       const char *tried, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The last stdout line that starts with word, its up to two numbers after
 * it in *a and *b (may be NULL).  False when no such line. */
bool vf_line(const struct vf_exec *x, const char *word, long *a, long *b);
/* True when stdout holds a line equal to line. */
bool vf_has_line(const struct vf_exec *x, const char *line);
/* How the run ended, for a message: "exit 3", "signal 9 (Killed)",
 * "timed out", "exec failed: ..." (escaped). */
void vf_describe(const struct vf_exec *x, char *buf, size_t len);
/* Copy text from the sandbox for a message: printable ASCII only. */
void vf_escape(const char *in, size_t len, char *out, size_t outlen);
/* Sleep ms milliseconds. */
void vf_sleep_ms(int64_t ms);

/* The probe for an unavailable helper. */
void vf_no_helper(struct vf_ctx *c, uint32_t cap, const char *tried);

/* The attacks; each reports one or more capabilities. */
void vf_probe_memory(struct vf_ctx *c);
void vf_probe_pids(struct vf_ctx *c);
void vf_probe_cpu(struct vf_ctx *c);
void vf_probe_cpu_time(struct vf_ctx *c);
void vf_probe_file_size(struct vf_ctx *c);
void vf_probe_open_files(struct vf_ctx *c);
void vf_probe_network(struct vf_ctx *c);
void vf_probe_fs(struct vf_ctx *c);
void vf_probe_rootfs(struct vf_ctx *c);
void vf_probe_mounts(struct vf_ctx *c);
void vf_probe_user(struct vf_ctx *c);
void vf_probe_env(struct vf_ctx *c);
void vf_probe_stdin(struct vf_ctx *c);
void vf_probe_timeout(struct vf_ctx *c);
void vf_probe_kill_tree(struct vf_ctx *c);
void vf_probe_cancel(struct vf_ctx *c);
void vf_probe_exit_status(struct vf_ctx *c);
void vf_probe_unprobeable(struct vf_ctx *c);
void vf_probe_egress_proxy(struct vf_ctx *c);
/* Sessions keep files and kill what a command left; jobs echo and stop. */
void vf_probe_session(struct vf_ctx *c);

#endif
