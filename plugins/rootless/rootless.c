/* The rootless backend: each command in new user, mount, PID, network,
 * IPC, UTS and cgroup namespaces, as the invoking user, with no
 * capabilities, no_new_privs and a seccomp filter, on a read-only view of
 * the host (or of an --image directory); no daemon, no setuid helper.
 * This file holds the descriptor (its capabilities are found once, when
 * the module is first asked for it) and the entry points; run.c runs a
 * command, sandbox.c makes its processes, view.c its file system. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <monkey/backend.h>

#include "rootless.h"

struct rl_global rl_g;

int rl_set_err(const struct monkey_host *host, struct monkey_error *err,
	       int code, const char *fmt, ...)
{
	char msg[MONKEY_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (host && host->set_error)
		return host->set_error(err, code, "%s", msg);
	if (err) {
		err->code = code;
		snprintf(err->message, sizeof(err->message), "%s", msg);
	}
	return code;
}

/* ---- entry points ---- */

static void add_hidden(char ***v, size_t *n, const char *path)
{
	if (!path || path[0] != '/' || !path[1])
		return;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], path))
			return;
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return;
	*v = nv;
	if ((nv[*n] = strdup(path)))
		(*n)++;
	nv[*n] = NULL;
}

/* What the view hides.  /run holds the engines' sockets (docker, podman,
 * containerd), the system D-Bus and systemd's private socket, and
 * /run/user the user's own; a network namespace does not separate
 * sockets that live in the file system. */
static char **hidden_paths(uid_t uid)
{
	static const char *const always[] = {"/root",
					     "/run",
					     "/var/run",
					     "/var/lib/docker",
					     "/var/lib/containers",
					     "/var/lib/containerd",
					     "/var/lib/lxd",
					     "/var/snap/lxd",
					     "/var/lib/kubelet"};
	/* Readable by uid 0 even without capabilities. */
	static const char *const for_root[] = {"/etc/shadow",
					       "/etc/shadow-",
					       "/etc/gshadow",
					       "/etc/gshadow-",
					       "/etc/ssh/ssh_host_rsa_key",
					       "/etc/ssh/ssh_host_ecdsa_key",
					       "/etc/ssh/ssh_host_ed25519_key",
					       "/etc/ssh/ssh_host_dsa_key",
					       "/etc/ssl/private"};
	char **v = NULL;
	size_t n = 0;
	char buf[4096];
	struct passwd pw, *res = NULL;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		add_hidden(&v, &n, res->pw_dir);
	add_hidden(&v, &n, secure_getenv("HOME"));
	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		add_hidden(&v, &n, always[i]);
	for (size_t i = 0;
	     uid == 0 && i < sizeof(for_root) / sizeof(for_root[0]); i++)
		add_hidden(&v, &n, for_root[i]);
	if (!v)
		v = calloc(1, sizeof(char *));
	return v;
}

/* The home a session makes writable: the one commands see as $HOME (the
 * host's, passed through), else the user's, when the view hides it; not
 * one in /tmp, which is fresh anyway. */
static char *session_home(uid_t uid)
{
	const char *h = secure_getenv("HOME");
	char buf[4096];
	struct passwd pw, *res = NULL;
	if ((!h || h[0] != '/') &&
	    getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		h = res->pw_dir;
	if (!h || h[0] != '/' || !h[1] || !strcmp(h, "/tmp") ||
	    !strncmp(h, "/tmp/", 5) || !strncmp(h, "/dev/", 5))
		return NULL;
	return strdup(h);
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int rl_p_init(const struct monkey_host *host, const char *config_json,
		     void **state, struct monkey_error *err)
{
	(void)config_json; /* settings come with each request */
	struct rl_state *st = calloc(1, sizeof(*st));
	if (!st)
		return rl_set_err(host, err, -ENOMEM,
				  "rootless: out of memory");
	st->host = host;
	st->uid = geteuid();
	st->gid = getegid();
	/* Missing /proc is reported by probe. */
	st->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st->proc_fd >= 0 && st->proc_fd < 3) {
		int fd = fcntl(st->proc_fd, F_DUPFD_CLOEXEC, 3);
		close(st->proc_fd);
		st->proc_fd = fd;
	}
	pthread_mutex_init(&st->lock, NULL);
	st->net = (struct rl_spare_net){-1, {-1, -1}, -1, 0, 0};
	st->hide = hidden_paths(st->uid);
	/* Where resolv.conf points into /run (systemd-resolved, Network
	 * Manager), that one file stays visible in the hidden /run. */
	st->home = session_home(st->uid);
	char *rc = realpath("/etc/resolv.conf", NULL);
	if (rc && !strncmp(rc, "/run/", 5))
		st->reveal = rc;
	else
		free(rc);
	if (!st->hide) {
		free(st);
		return rl_set_err(host, err, -ENOMEM,
				  "rootless: out of memory");
	}
	*state = st;
	return 0;
}

static int rl_p_probe(void *state, struct monkey_error *err)
{
	struct rl_state *st = state;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
		return rl_set_err(st->host, err, -ENOSYS,
				  "this kernel has no seccomp filters "
				  "(CONFIG_SECCOMP_FILTER): the rootless "
				  "backend does not run commands without one");
	return rl_probe(st, err);
}

static int rl_p_exec(void *state, const struct monkey_exec_request *req,
		     struct monkey_exec_result *result,
		     struct monkey_error *err)
{
	return rl_exec(state, req, result, err);
}

static int rl_p_session_open(void *state, const struct monkey_exec_request *req,
			     void **session, struct monkey_error *err)
{
	return rl_session_open(state, req, session, err);
}

static void rl_p_fini(void *state)
{
	struct rl_state *st = state;
	if (!st)
		return;
	rl_reap_pending(st, 1);
	rl_netns_clear(st);
	rl_template_clear(st);
	if (st->proc_fd >= 0)
		close(st->proc_fd);
	free_strv(st->hide);
	free(st->reveal);
	free(st->home);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* ---- the descriptor ---- */

static char details[4096];

static const char *limits_text(void)
{
	static char buf[1024];
	const char *where = rl_g.cg_version == 1 ? "cgroup v1 as root, under "
						 : "the delegated cgroup v2 "
						   "subtree ";
	const char *base = rl_g.cg_base[rl_g.cg_have[0]	  ? 0
					: rl_g.cg_have[1] ? 1
							  : 2];
	if (rl_g.cg_version)
		snprintf(buf, sizeof(buf),
			 "Limits through %s%s: %s%s%s(a sandbox's init counts "
			 "towards --pids)%s.",
			 where, base,
			 rl_g.cg_have[RL_CG_MEMORY]
			     ? "--memory (no swap on top; OOM kills are "
			       "reported), "
			     : "",
			 rl_g.cg_have[RL_CG_CPU] ? "--cpus, " : "",
			 rl_g.cg_have[RL_CG_PIDS] ? "--pids " : "",
			 rl_g.cg_have[RL_CG_MEMORY] &&
				 rl_g.cg_have[RL_CG_CPU] &&
				 rl_g.cg_have[RL_CG_PIDS]
			     ? ""
			     : "; the other limits are not enforced");
	else
		snprintf(buf, sizeof(buf),
			 "No cgroup is available to this user (cgroup v1 "
			 "needs root; v2 needs a delegated subtree), so "
			 "--memory is applied as an address-space rlimit "
			 "(not a memory limit), --cpus is not enforced, OOM "
			 "kills are not reported%s.",
			 rl_g.nproc_pids ? ", and --pids is RLIMIT_NPROC in "
					   "the command's own user namespace "
					   "(its init included)"
					 : " and --pids is not enforced");
	return buf;
}

static void compose_details(void)
{
	snprintf(
	    details, sizeof(details),
	    "Runs each command in new user, mount, PID, network, IPC, UTS "
	    "and cgroup namespaces as the invoking user, without a daemon "
	    "or a setuid helper (unprivileged user namespaces must be "
	    "allowed). The root is the host's / read-only (--image DIR: that "
	    "directory instead, also read-only), with the workspace "
	    "read-write at its own path, the --mounts, a fresh tmpfs /tmp "
	    "and /dev/shm, a minimal /dev, and a new /proc and /sys. The "
	    "invoking user's home, /root, /run (which holds /run/user, the "
	    "D-Bus and the container engines' sockets) and the engines' "
	    "state in /var/lib are hidden (empty), except for the workspace "
	    "and --mounts. The command has every capability set empty, "
	    "no_new_privs, and a seccomp filter under which mount, "
	    "namespace, keyring, bpf, perf, userfaultfd, module, kexec, "
	    "reboot, swap, clock, accounting and io_uring calls fail with "
	    "EPERM (clone3 with ENOSYS, so that the C library uses clone, "
	    "whose flags are checked). Only an up loopback interface "
	    "exists unless --network, which shares the host's network (and "
	    "its abstract unix sockets); with --allow-domain the sandbox's "
	    "init first starts monkey's egress proxy forwarder on "
	    "127.0.0.1:3128 there, the only way out. The sandbox's PID 1 "
	    "reports the "
	    "command's end and takes every other process with it: nothing "
	    "the command started survives it, after a normal exit, a "
	    "timeout (SIGTERM to every process, SIGKILL after --kill-grace) "
	    "or a cancel. %s --cpu-time, --file-size and --open-files are "
	    "rlimits. Not enforced: --user. The root view is prepared once "
	    "per workspace and set of mounts and copied for each command, "
	    "and the next command's network namespace is made ahead; each "
	    "is used once, and nothing but the workspace and read-write "
	    "--mounts is shared between commands. Sessions (monkey agent runs "
	    "in one): the session's namespaces are made once and held by "
	    "monkey, with no process of their own between commands; its "
	    "commands and background jobs share /tmp, /dev/shm, the hidden "
	    "home (empty at first, then writable), IPC and the network "
	    "namespace, so files and tools persist and a job's server answers "
	    "on 127.0.0.1, while each command and each job has a PID "
	    "namespace of its own that dies whole at its end; %s Caveat: "
	    "invoked as root, the "
	    "command runs as "
	    "uid 0 without capabilities and can read root-owned files the "
	    "view shows (/etc/shadow, SSH host keys and /etc/ssl/private "
	    "are hidden); run monkey as an ordinary user where you can.",
	    limits_text(),
	    rl_g.cg_version ? "memory, CPU and pids limits apply to the "
			      "session as a whole."
			    : "--pids counts each command's processes.");
}

static struct monkey_backend descriptor = {
    MONKEY_BACKEND_HEADER,
    .name = "rootless",
    .description = "unprivileged namespace sandbox: read-only host root, "
		   "no capabilities, seccomp, no network, whole-namespace "
		   "kill; no daemon",
    .safety = MONKEY_SAFETY_HIGH,
    .init = rl_p_init,
    .probe = rl_p_probe,
    .exec = rl_p_exec,
    .fini = rl_p_fini,
    .details = details,
    .session_open = rl_p_session_open,
    .session_exec = rl_session_exec,
    .session_close = rl_session_close,
    .job_start = rl_job_start,
    .job_read = bgjob_abi_read,
    .job_write = bgjob_abi_write,
    .job_stop = bgjob_abi_stop,
    .job_close = bgjob_abi_close,
};

static long read_long(const char *path, long fallback)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fallback;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return fallback;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

#ifdef RL_FILTER_PREBUILT
#include "filter_bpf.h"
static const struct sock_fprog prebuilt_filter = {
    sizeof(rl_prebuilt_filter) / sizeof(rl_prebuilt_filter[0]),
    (struct sock_filter *)rl_prebuilt_filter};
#endif

/* No MONKEY_CAP_FS_ISOLATION: the host's / stays visible (read-only), so
 * not only the workspace and the mounts are. */
static void find_capabilities(void)
{
	rl_cgroup_detect();
	/* RLIMIT_NPROC does not bind uid 0. */
	rl_g.nproc_pids = geteuid() != 0;
	/* Unknown: drop up to 63; the kernel refuses the ones it lacks. */
	rl_g.last_cap = (int)read_long("/proc/sys/kernel/cap_last_cap", 63);
#ifdef RL_FILTER_PREBUILT
	rl_g.filter = &prebuilt_filter;
#else
	rl_filter_build(&rl_g.filter, &rl_g.filter_error);
#endif
	uint32_t caps =
	    MONKEY_CAP_NETWORK_ISOLATION | MONKEY_CAP_READ_ONLY_ROOT |
	    MONKEY_CAP_MOUNTS | MONKEY_CAP_STDIN | MONKEY_CAP_TIMEOUT |
	    MONKEY_CAP_KILL_TREE | MONKEY_CAP_CLEAN_ENV | MONKEY_CAP_IMAGE |
	    MONKEY_CAP_CPU_TIME | MONKEY_CAP_FILE_SIZE | MONKEY_CAP_OPEN_FILES |
	    MONKEY_CAP_CANCEL | MONKEY_CAP_EGRESS_PROXY | MONKEY_CAP_SESSION |
	    MONKEY_CAP_JOBS;
	if (rl_g.cg_have[RL_CG_MEMORY])
		caps |= MONKEY_CAP_MEMORY | MONKEY_CAP_OOM_REPORT;
	else
		caps |= MONKEY_CAP_MEMORY_APPROX;
	if (rl_g.cg_have[RL_CG_CPU])
		caps |= MONKEY_CAP_CPU;
	if (rl_g.cg_have[RL_CG_PIDS] || rl_g.nproc_pids)
		caps |= MONKEY_CAP_PIDS;
	descriptor.capabilities = caps;
	compose_details();
}

static const struct monkey_backend *rl_descriptor(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, find_capabilities);
	return &descriptor;
}

__attribute__((destructor)) static void rl_unload(void)
{
#ifndef RL_FILTER_PREBUILT
	free((void *)rl_g.filter);
#endif
	rl_g.filter = NULL;
}

MONKEY_BACKEND_EXPORT(rl_descriptor())
