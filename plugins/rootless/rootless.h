/* Internals of the rootless backend shared by its files: the backend's
 * state, the plan one command is run from, and the messages the sandbox's
 * processes send back to the host.
 *
 * Processes of one command (see sandbox.c for why each exists):
 *   H  the host thread that called exec
 *   C  a short-lived helper that enters (or creates and hands over) the
 *      prepared user and mount namespaces of the root view, where needed
 *      gives the command a user namespace of its own, and clones I into
 *      fresh mount, PID, network, IPC and UTS namespaces, then exits; H
 *      is suspended while C runs (CLONE_VFORK).  The first command of a
 *      state has no C: H clones I into every namespace at once.
 *   I  PID 1 of the command's PID namespace, a child of H (CLONE_PARENT):
 *      mounts the command's /tmp, /dev/shm, /proc..., starts X, reaps
 *      orphans; when X ends it kills and reaps what X left, reports, and
 *      exits
 *   X  the command: no capabilities, no_new_privs, seccomp, then execve */
#ifndef MONKEY_ROOTLESS_H
#define MONKEY_ROOTLESS_H

#include <linux/filter.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <monkey/backend.h>

#include "bgjob.h"

/* Code that runs outside the host process (in C, I or X): never
 * instrumented by a sanitizer (C and X share memory with the process that
 * cloned them, and their stacks are not ones a sanitizer knows) and never
 * inlined into host code. */
#define RL_CHILD __attribute__((no_sanitize("address", "undefined"), noinline))

/* How long H waits for the sandbox to die after SIGKILL before it gives up
 * with an error (a process stuck in the kernel keeps a PID namespace's
 * init from exiting). */
#define RL_KILL_GIVE_UP_MS 10000
/* Output still read after the sandbox is gone, for writers that passed
 * the pipe to a process outside it. */
#define RL_DRAIN_MS 500

enum rl_cg_controller { RL_CG_MEMORY, RL_CG_PIDS, RL_CG_CPU, RL_CG_N };

/* What this machine lets the backend use, found once (rootless.c). */
struct rl_global {
	uint32_t caps;		    /* the descriptor's capability flags */
	int cg_version;		    /* 0: no cgroups, 1 or 2 */
	int cg_have[RL_CG_N];	    /* controller usable */
	char cg_base[RL_CG_N][256]; /* v1: one directory per controller; v2:
				       cg_base[0] for all */
	int nproc_pids;		    /* pids enforced with RLIMIT_NPROC */
	int last_cap;		    /* /proc/sys/kernel/cap_last_cap */
	const struct sock_fprog *filter; /* NULL when it could not be built */
	struct monkey_error filter_error;
};
extern struct rl_global rl_g;

/* A prepared user + mount namespace pair (the root view of one workspace
 * and set of mounts), entered by every later command with the same view. */
struct rl_template {
	char *key;
	int userns_fd, mntns_fd;
	unsigned gen; /* tells templates apart (netns.c) */
};

/* A network namespace made ahead for the next command (netns.c). */
struct rl_spare_net {
	int fd;	     /* ready, for template generation gen; or -1 */
	int sock[2]; /* N sends it on [1], we read [0] */
	int pidfd;   /* N, while one is being made */
	int pending; /* N is at work */
	unsigned gen;
};

/* The cgroups of a command whose init was still exiting when exec
 * returned: removed once init is reaped. */
struct rl_pending;

struct rl_state {
	const struct monkey_host *host;
	int proc_fd; /* the host's /proc, O_PATH */
	uid_t uid;
	gid_t gid;
	char **hide; /* paths hidden in every view, NULL-terminated */
	pthread_mutex_t lock;
	struct rl_template tmpl;    /* under lock */
	unsigned tmpl_gen;	    /* under lock */
	struct rl_spare_net net;    /* under lock */
	int ran;		    /* a command has run: build templates */
	struct rl_pending *pending; /* under lock */
	size_t n_pending;
	char *reveal; /* the host's resolv.conf when it lives in /run */
	char *home;   /* the hidden home a session makes writable, or NULL */
};

/* One bind mount of the view: the workspace or a --mount. */
struct rl_bind {
	const char *source; /* host path */
	const char *target; /* path inside the sandbox */
	int read_only;
	int is_dir;
};

/* The root view a template holds. */
struct rl_view {
	const char *root; /* "/" or the --image directory */
	int host_root;	  /* root is the host's "/" */
	int in_place;	  /* the host's "/" read-only in place (view_host.c) */
	const struct rl_bind *binds; /* parents before children */
	size_t n_binds;
	char *const *hide; /* NULL-terminated */
};

struct rl_rlimit {
	int resource;
	uint64_t cur, max;
};

#define RL_MAX_RLIMITS 6
#define RL_MAX_REBINDS 32
#define RL_MAX_BINDS 32 /* for a view built in place */

/* Everything C, I and X need, filled by H before cloning C.  C shares H's
 * memory; I and X get copies, so pointers into H's memory stay valid. */
/* How a command's sandbox is made (sandbox.c). */
enum rl_start {
	RL_START_DIRECT,   /* no template: init is cloned into every
			      namespace at once and builds the view itself */
	RL_START_BUILD,	   /* C builds the view, hands it over as the
			      template, then makes init */
	RL_START_TEMPLATE, /* C enters the template and makes init */
	RL_START_SESSION,  /* C builds a session's view and namespaces,
			      hands them over and exits: no init */
};

/* Whether this process cannot be dumped and is not root: then its /proc
 * files belong to root and it may not open even its own uid_map, so the
 * child that maps the user makes the shared memory dumpable for those
 * opens alone (sandbox.c, probe.c). */
int rl_undumpable(void);
/* Held while such a helper shares the host's memory (sandbox.c). */
extern pthread_mutex_t rl_dumpable_lock;

/* A fresh tmpfs over a directory of the view, with the binds that lie
 * in it kept (moved onto it as copies). */
struct rl_fresh {
	const char *dir;
	int on;
	const char *rebind[RL_MAX_REBINDS];
	int n_rebind;
};

struct rl_plan {
	int start;		    /* enum rl_start */
	const struct rl_view *view; /* to build, when there is no template */
	int userns_fd, mntns_fd;    /* the template, or -1 */
	int ipc_fd, uts_fd;	    /* a session's, entered; or -1 (new) */
	int session;		    /* a session's command: /tmp, /dev/shm
				       and /dev/pts are the session's */
	int donate_fd;		    /* socket that receives a new template */
	int proc_fd;
	char uid_map[32], gid_map[32];
	int undumpable; /* see rl_undumpable() */
	int new_net;
	int net_fd;	 /* a network namespace made ahead, or -1 */
	int own_userns;	 /* a user namespace for this command alone */
	int uid0;	 /* the command is uid 0: mask /proc as Docker does */
	int mount_sysfs; /* a fresh read-only /sys in the new network ns */
	struct rl_fresh tmp; /* a fresh /tmp (off when a bind covers it) */
	char tmp_opts[64];
	struct rl_fresh home; /* a session's writable home, or off */
	int cg_fd[RL_CG_N];   /* cgroup.procs to join, or -1 */
	/* The command. */
	char *const *paths; /* execve candidates */
	char *const *argv;
	char *const *envp;
	const char *workdir;
	struct rl_rlimit rl[RL_MAX_RLIMITS];
	int n_rl;
	int in_fd, out_fd, err_fd; /* the command's stdio, all >= 3 */
	int status_fd;		   /* write end of the status pipe */
	int ctrl_fd;		   /* read end of H's control pipe */
	const struct sock_fprog *filter;
	int last_cap;
	char *x_stack_top; /* X's stack, in I's copy of the memory */
	/* Written by X in I's memory when it cannot start. */
	int x_errno, x_stage, x_interp;
	/* Proxy mode (ABI 1.2): the forwarder's argv, which I runs, in the
	 * new network namespace, before the command; argv[0] NULL else. */
	char *proxy_argv[8];
	char proxy_port[16];
};

/* Steps that can fail, reported in rl_msg.stage. */
enum rl_stage {
	RL_STAGE_SETNS = 1, /* entering the template */
	RL_STAGE_USERNS,    /* the command's user namespace */
	RL_STAGE_MAP,	    /* uid_map, gid_map, setgroups */
	RL_STAGE_CLONE,	    /* creating the namespaces and init */
	RL_STAGE_VIEW,	    /* building the root view (what: the step) */
	RL_STAGE_CGROUP,    /* joining the cgroups */
	RL_STAGE_MOUNT,	    /* the command's own mounts (what: which) */
	RL_STAGE_NET,	    /* the loopback interface */
	RL_STAGE_INIT,	    /* init's own setup */
	RL_STAGE_PROXY,	    /* the egress proxy's forwarder */
	/* The command process, before execve. */
	RL_STAGE_STDIO,
	RL_STAGE_CHDIR,
	RL_STAGE_RLIMIT,
	RL_STAGE_CAPS,
	RL_STAGE_SECCOMP,
	RL_STAGE_FDS,
	RL_STAGE_EXEC,
};

enum rl_msg_kind {
	RL_MSG_INIT = 1, /* C: pid = init's pid in H's namespace */
	RL_MSG_FAIL,	 /* C or I: setup failed (err, stage, what) */
	RL_MSG_START,	 /* I: pid = the command's pid, or err/stage set */
	RL_MSG_EXIT,	 /* I: status = the command's wait status */
};

/* One message on the status pipe; below PIPE_BUF, so writes are atomic. */
struct rl_msg {
	int32_t kind;
	int32_t pid;
	int32_t err;
	int32_t stage;
	int32_t status; /* EXIT: wait status; START: 1 when the program
			   exists but its #! interpreter does not */
	char what[236];
};

/* In an EXIT message's what when its stage is 1: what the command's
 * processes used, from init's RUSAGE_CHILDREN. */
struct rl_usage {
	int64_t peak_kib;
	int64_t user_us;
	int64_t sys_us;
};

/* A failed step inside the sandbox. */
struct rl_fail {
	int err;
	int stage;
	char what[236];
};

/* The view of one request. */
struct rl_request_view {
	struct rl_view view;
	struct rl_bind *binds;
	char *image; /* --image, resolved */
	char *key;   /* rl_template_key(&view) */
};

/* plan.c */
/* Where a sandbox sees the egress proxy's socket directory and its
 * forwarder in proxy mode (read-only binds). */
#define RL_PROXY_DIR_TARGET "/dev/.monkey-proxy"
#define RL_PROXY_FORWARDER_TARGET "/dev/.monkey-proxy-forward"
/* The request's proxy directory (ABI 1.2), NULL when it is not in proxy
 * mode or comes from an older host. */
const char *rl_req_proxy(const struct monkey_exec_request *req);

int rl_plan_view(struct rl_state *st, const struct monkey_exec_request *req,
		 struct rl_request_view *rv, struct monkey_error *err);
void rl_request_view_free(struct rl_request_view *rv);
/* Fill p for req (p->paths is the caller's to free). */
int rl_plan_command(struct rl_state *st, const struct monkey_exec_request *req,
		    const struct rl_request_view *rv, struct rl_plan *p,
		    struct monkey_error *err);
/* PATH of envp, or execvp's default. */
const char *rl_env_path(const char *const *envp);

/* rootless.c */
int rl_set_err(const struct monkey_host *host, struct monkey_error *err,
	       int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* filter.c: builds the seccomp filter once into *out; a negative errno
 * and err saying why when libseccomp fails (*out NULL). */
int rl_filter_build(const struct sock_fprog **out, struct monkey_error *err);

/* cgroup.c */
struct rl_cgroup {
	char dir[RL_CG_N][320]; /* "" when not created */
	int procs_fd[RL_CG_N];
};
/* Detect what the machine offers into rl_g (cg_*). */
void rl_cgroup_detect(void);
/* Create the command's cgroups with req's limits and open their
 * cgroup.procs; nothing when rl_g.cg_version is 0. */
int rl_cgroup_create(struct rl_state *st, const struct monkey_exec_request *req,
		     struct rl_cgroup *cg, struct monkey_error *err);
/* After the command: OOM kill and pids limit, into result. */
void rl_cgroup_report(const struct rl_cgroup *cg,
		      struct monkey_exec_result *result);
void rl_cgroup_destroy(struct rl_cgroup *cg);
/* A session's group, with req's limits; its commands' groups are made
 * in it (nobody joins it directly). */
int rl_cgroup_create_session(struct rl_state *st,
			     const struct monkey_exec_request *req,
			     struct rl_cgroup *cg, struct monkey_error *err);
/* One command's group inside a session's, without limits of its own:
 * for its usage and OOM figures. */
int rl_cgroup_create_child(struct rl_state *st, const struct rl_cgroup *parent,
			   struct rl_cgroup *cg, struct monkey_error *err);
/* How often the group's pids limit refused a fork, or -1. */
long long rl_cgroup_pids_max_events(const struct rl_cgroup *cg);

/* view.c: build the root view described by p->view in the current (new)
 * mount namespace and pivot into it.  Runs in C. */
int rl_view_build(const struct rl_plan *p, struct rl_fail *f);
/* The command's own mounts, in I's mount namespace. */
int rl_view_per_command(const struct rl_plan *p, struct rl_fail *f);
/* /sys: a sysfs of the current network namespace, else the view's,
 * read-only. */
int rl_view_sysfs(const struct rl_plan *p, struct rl_fail *f);
/* A session's /tmp, /dev/shm and /dev/pts, mounted once in its view (C). */
int rl_view_session(const struct rl_plan *p, struct rl_fail *f);

/* sandbox.c: make the command's sandbox for plan p.  Returns 0 when C ran
 * (exited and reaped by now: init's pid comes on the status pipe), init's
 * pid for RL_START_DIRECT, or -errno. */
int rl_sandbox_start(struct rl_plan *p);

/* run.c: exec entry point. */
int rl_exec(struct rl_state *st, const struct monkey_exec_request *req,
	    struct monkey_exec_result *result, struct monkey_error *err);
/* One command in session s (NULL: a sandbox of its own, as rl_exec),
 * its stdin a duplicate of stdin_fd when that is >= 0 (a job's). */
struct rl_session;
int rl_exec_in(struct rl_state *st, struct rl_session *s,
	       const struct monkey_exec_request *req, int stdin_fd,
	       struct monkey_exec_result *result, struct monkey_error *err);
/* req copied into *out, with the fields an older host did not send
 * zeroed (cancel_fd -1). */
void rl_normalize_request(const struct monkey_exec_request *in,
			  struct monkey_exec_request *out);
/* A child of ours that is exiting: reap it later and then remove cg's
 * groups (NULL: none; cg's descriptors are closed, its directories
 * taken). */
void rl_add_pending(struct rl_state *st, pid_t pid, struct rl_cgroup *cg);
/* The same, under st->lock; stack (stack_len bytes, or NULL) is unmapped
 * once pid is reaped. */
void rl_add_pending_locked(struct rl_state *st, pid_t pid, struct rl_cgroup *cg,
			   void *stack, size_t stack_len);
/* Reap inits that have exited and remove their cgroups; wait for every
 * one when block (fini). */
void rl_reap_pending(struct rl_state *st, int block);

/* session.c: a session's namespaces, held by descriptors (no process
 * keeps them), and what its commands get from it. */
struct rl_session {
	struct rl_state *st;
	pthread_mutex_t lock; /* one foreground command at a time */
	int userns_fd, mntns_fd, netns_fd, ipcns_fd, utsns_fd;
	struct rl_cgroup cg; /* the session's, with its limits */
	/* The session's settings, which every command of it gets. */
	char *workspace;
	uint64_t memory_bytes;
	int64_t pids;
	double cpus;
	int network;
	char *proxy_dir, *proxy_forwarder;
	unsigned proxy_port;
	struct bgjob_set jobs;
};
/* The ABI's session and job entry points (backend.h). */
int rl_session_open(struct rl_state *st, const struct monkey_exec_request *req,
		    void **session, struct monkey_error *err);
int rl_session_exec(void *session, const struct monkey_exec_request *req,
		    struct monkey_exec_result *result,
		    struct monkey_error *err);
void rl_session_close(void *session);
/* A job of the session (bgjob.c: its other entry points are bgjob's). */
int rl_job_start(void *session, const struct monkey_exec_request *req,
		 void **job, struct monkey_error *err);
/* The session's settings over the command's request (req is changed). */
void rl_session_apply(const struct rl_session *s,
		      struct monkey_exec_request *req);
/* Duplicates of the session's namespaces into p (-1s when absent). */
int rl_session_enter(const struct rl_session *s, struct rl_plan *p);

/* plan.c: the parts of a plan a session's view is built from. */
int rl_plan_session(struct rl_state *st, const struct monkey_exec_request *req,
		    const struct rl_request_view *rv, struct rl_plan *p,
		    struct monkey_error *err);

/* probe.c */
int rl_probe(struct rl_state *st, struct monkey_error *err);

/* template.c */
/* The cache key of a view. Caller frees. */
char *rl_template_key(const struct rl_view *v);
/* Duplicates of the template's fds when its key is key, else -1s; its
 * generation in *gen. */
void rl_template_get(struct rl_state *st, const char *key, int *userns_fd,
		     int *mntns_fd, unsigned *gen);
/* Keep a new template (takes the fds). */
void rl_template_put(struct rl_state *st, const char *key, int userns_fd,
		     int mntns_fd);
void rl_template_clear(struct rl_state *st);

/* netns.c: a network namespace made ahead in the template's user
 * namespace (of generation gen), or -1; the caller owns it. */
int rl_netns_take(struct rl_state *st, unsigned gen);
/* Start making one for the next command, unless one is there or coming. */
void rl_netns_prepare(struct rl_state *st, int userns_fd, unsigned gen);
void rl_netns_clear(struct rl_state *st);

#endif
