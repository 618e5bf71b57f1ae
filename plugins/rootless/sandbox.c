/* Creating one command's sandbox: the helper C, the sandbox's init I and
 * the command X (roles in rootless.h).
 *
 * Why these processes:
 *  - Namespaces are entered or created by a process of its own: a
 *    multithreaded host may not change its user namespace, and must not
 *    change its mounts.  C is cloned with CLONE_VFORK, so the host thread
 *    simply waits for it; with a template C shares the host's memory
 *    (CLONE_VM, no page tables copied) and uses direct system calls only.
 *  - The command's PID namespace needs an init: the kernel kills every
 *    process of the namespace when its init exits, which is what makes
 *    "nothing the command started remains" cheap and certain.  I is that
 *    init, cloned by C with CLONE_PARENT so that it is the host's child.
 *    The command cannot signal it (an init only gets signals it handles,
 *    and I handles none), trace it or read its memory (I keeps its
 *    capabilities in the command's user namespace and is not dumpable).
 *  - Where RLIMIT_NPROC stands in for a pids cgroup, the command gets a
 *    user namespace of its own, nested in the template's: the limit is
 *    counted per user and namespace, so it then counts this command's
 *    processes only.
 *  - X is cloned by I with CLONE_VM|CLONE_VFORK (I waits), drops every
 *    capability, sets no_new_privs, loads the seccomp filter and execs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"
#include "rlsys.h"
#include "rootless.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT (1 << 0)
#define SECBIT_NOROOT_LOCKED (1 << 1)
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_NO_SETUID_FIXUP_LOCKED (1 << 3)
#define SECBIT_KEEP_CAPS_LOCKED (1 << 5)
#define SECBIT_NO_CAP_AMBIENT_RAISE (1 << 6)
#define SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED (1 << 7)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define C_STACK (256 * 1024)
#define X_STACK (64 * 1024)

/* ---- C: direct system calls only (it may share the host's memory) ---- */

RL_CHILD static void c_exit(int code)
{
	for (;;)
		RL_SYS1(SYS_exit, code);
}

RL_CHILD static void c_send(int fd, const struct rl_msg *m)
{
	while (RL_SYS3(SYS_write, fd, m, sizeof(*m)) == -EINTR)
		;
}

RL_CHILD static void c_fail(const struct rl_plan *p, int stage, long err,
			    const char *what)
{
	struct rl_msg m;
	char *d = (char *)&m;
	for (size_t i = 0; i < sizeof(m); i++)
		d[i] = 0;
	m.kind = RL_MSG_FAIL;
	m.err = (int)-err;
	m.stage = stage;
	for (size_t i = 0; what && what[i] && i + 1 < sizeof(m.what); i++)
		m.what[i] = what[i];
	c_send(p->status_fd, &m);
	c_exit(1);
}

/* The dumpable flag is the memory's, not the thread's: helpers that share
 * the host's memory and make it dumpable for their uid_map opens (see
 * c_map_user) would undo each other's window.  They take turns. */
pthread_mutex_t rl_dumpable_lock = PTHREAD_MUTEX_INITIALIZER;

/* Read under rl_dumpable_lock: a helper that shares our memory may have
 * made it dumpable for a moment. */
int rl_undumpable(void)
{
	if (geteuid() == 0)
		return 0;
	pthread_mutex_lock(&rl_dumpable_lock);
	int r = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
	pthread_mutex_unlock(&rl_dumpable_lock);
	return r;
}

/* Map the invoking user onto itself in the user namespace just created:
 * one line each, which an unprivileged process may write for itself once
 * setgroups(2) is given up.  Through the host's /proc: this process's own
 * mounts may not show a writable one.  monkey's host is not dumpable (so
 * that commands running as the same user cannot read its memory), and
 * this process shares the host's memory, which makes its /proc files
 * root's: it becomes dumpable for the three opens only, while no command
 * of this sandbox exists yet. */
RL_CHILD static void c_map_user(const struct rl_plan *p)
{
	static const char *const file[3] = {"self/setgroups", "self/uid_map",
					    "self/gid_map"};
	static const char *const shown[3] = {
	    "/proc/self/setgroups", "/proc/self/uid_map", "/proc/self/gid_map"};
	const char *data[3] = {"deny", p->uid_map, p->gid_map};
	long fd[3];

	if (p->undumpable)
		RL_SYS2(SYS_prctl, PR_SET_DUMPABLE, 1);
	for (int i = 0; i < 3; i++)
		fd[i] = RL_SYS4(SYS_openat, p->proc_fd, file[i],
				O_WRONLY | O_CLOEXEC, 0);
	if (p->undumpable)
		RL_SYS2(SYS_prctl, PR_SET_DUMPABLE, 0);
	for (int i = 0; i < 3; i++) {
		/* Kernels before 3.19 have no setgroups file. */
		if (i == 0 && fd[i] == -ENOENT)
			continue;
		if (fd[i] < 0)
			c_fail(p, RL_STAGE_MAP, fd[i], shown[i]);
		size_t len = 0;
		while (data[i][len])
			len++;
		long r = RL_SYS3(SYS_write, fd[i], data[i], len);
		RL_SYS1(SYS_close, fd[i]);
		if (r < 0)
			c_fail(p, RL_STAGE_MAP, r, shown[i]);
	}
}

/* Hand the new template's namespaces to the host, which keeps them for
 * the next command with the same view. */
RL_CHILD static void c_donate(const struct rl_plan *p)
{
	int fds[2];
	fds[0] = openat(p->proc_fd, "self/ns/user", O_RDONLY | O_CLOEXEC);
	fds[1] = openat(p->proc_fd, "self/ns/mnt", O_RDONLY | O_CLOEXEC);
	char byte = 'T';
	/* Best effort: without it the next command builds again. */
	if (fds[0] >= 0 && fds[1] >= 0)
		(void)rl_fds_send(p->donate_fd, &byte, 1, fds, 2, MSG_DONTWAIT);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void init_main(struct rl_plan *p) __attribute__((noreturn));
RL_CHILD static int direct_main(void *arg);
RL_CHILD static int loopback_up(void);

/* RL_START_SESSION: the session's view, with its /tmp, /dev/shm and
 * /dev/pts, and its network (loopback up), IPC and UTS namespaces, all
 * handed to the host, which holds them by descriptor for the session's
 * life: no process of the session's own exists between commands. */
RL_CHILD static void c_session(const struct rl_plan *p)
{
	struct rl_fail f = {0};
	c_map_user(p);
	if (rl_view_build(p, &f) < 0 || rl_view_session(p, &f) < 0)
		c_fail(p, f.stage ? f.stage : RL_STAGE_VIEW, -f.err, f.what);
	long r;
	if (p->new_net && ((r = RL_SYS1(SYS_unshare, CLONE_NEWNET)) < 0 ||
			   (r = loopback_up() < 0 ? -errno : 0) < 0))
		c_fail(p, RL_STAGE_NET, r, "");
	if ((r = RL_SYS1(SYS_unshare, CLONE_NEWIPC | CLONE_NEWUTS)) < 0)
		c_fail(p, RL_STAGE_CLONE, r, "IPC and UTS namespaces");
	if (rl_view_sysfs(p, &f) < 0)
		c_fail(p, RL_STAGE_MOUNT, -f.err, f.what);
	static const char *const ns[5] = {"self/ns/user", "self/ns/mnt",
					  "self/ns/ipc", "self/ns/uts",
					  "self/ns/net"};
	int fds[5], n = p->new_net ? 5 : 4;
	for (int i = 0; i < n; i++)
		if ((fds[i] = openat(p->proc_fd, ns[i], O_RDONLY | O_CLOEXEC)) <
		    0)
			c_fail(p, RL_STAGE_INIT, -errno, ns[i]);
	char byte = (char)n;
	if ((r = rl_fds_send(p->donate_fd, &byte, 1, fds, n, 0)) != 1)
		c_fail(p, RL_STAGE_INIT, r < 0 ? r : -EPROTO,
		       "hand the session over");
	c_exit(0);
}

RL_CHILD static int c_main(void *arg)
{
	struct rl_plan *p = arg;
	long r;
	if (p->start == RL_START_SESSION)
		c_session(p);
	if (p->start == RL_START_BUILD) {
		/* No template: cloned into new user and mount namespaces,
		 * with memory of our own. */
		struct rl_fail f = {0};
		c_map_user(p);
		if (rl_view_build(p, &f) < 0)
			c_fail(p, f.stage, -f.err, f.what);
		c_donate(p);
	} else {
		if ((r = RL_SYS2(SYS_setns, p->userns_fd, CLONE_NEWUSER)) < 0)
			c_fail(p, RL_STAGE_SETNS, r, "user namespace");
		if (p->net_fd >= 0 &&
		    (r = RL_SYS2(SYS_setns, p->net_fd, CLONE_NEWNET)) < 0)
			c_fail(p, RL_STAGE_SETNS, r, "network namespace");
		if (p->ipc_fd >= 0 &&
		    (r = RL_SYS2(SYS_setns, p->ipc_fd, CLONE_NEWIPC)) < 0)
			c_fail(p, RL_STAGE_SETNS, r, "IPC namespace");
		if (p->uts_fd >= 0 &&
		    (r = RL_SYS2(SYS_setns, p->uts_fd, CLONE_NEWUTS)) < 0)
			c_fail(p, RL_STAGE_SETNS, r, "UTS namespace");
		if ((r = RL_SYS2(SYS_setns, p->mntns_fd, CLONE_NEWNS)) < 0)
			c_fail(p, RL_STAGE_SETNS, r, "mount namespace");
	}
	if (p->own_userns) {
		if ((r = RL_SYS1(SYS_unshare, CLONE_NEWUSER)) < 0)
			c_fail(p, RL_STAGE_USERNS, r, "");
		c_map_user(p);
	}
	/* In a session: its IPC and UTS namespaces, entered above. */
	long flags = CLONE_PARENT | CLONE_NEWNS | CLONE_NEWPID | SIGCHLD |
		     (p->ipc_fd < 0 ? CLONE_NEWIPC : 0) |
		     (p->uts_fd < 0 ? CLONE_NEWUTS : 0);
	if (p->new_net && p->net_fd < 0)
		flags |= CLONE_NEWNET;
	/* Like fork(2): the child continues here on a copy of this stack,
	 * in memory of its own. */
	r = rl_sys6(SYS_clone, flags, 0, 0, 0, 0, 0);
	if (r == 0)
		init_main(p);
	if (r < 0)
		c_fail(p, RL_STAGE_CLONE, r, "");
	struct rl_msg m;
	char *d = (char *)&m;
	for (size_t i = 0; i < sizeof(m); i++)
		d[i] = 0;
	m.kind = RL_MSG_INIT;
	m.pid = (int)r;
	c_send(p->status_fd, &m);
	c_exit(0);
	return 0;
}

/* RL_START_DIRECT: the host cloned us into every namespace at once; the
 * view is built here, in the command's own mount namespace, and kept by
 * nobody.  The first command of a backend state is made this way: one
 * process fewer, no copy of the mounts, and a one-command run (monkey
 * exec) never pays for a template it does not use. */
RL_CHILD static int direct_main(void *arg)
{
	struct rl_plan *p = arg;
	struct rl_fail f = {0};
	c_map_user(p);
	if (rl_view_build(p, &f) < 0)
		c_fail(p, f.stage, -f.err, f.what);
	init_main(p);
	return 0;
}

/* ---- X: the command (shares I's memory until execve) ---- */

RL_CHILD static void x_fail(struct rl_plan *p, int stage, int e)
{
	p->x_stage = stage;
	p->x_errno = e;
	_exit(127);
}

RL_CHILD static void drop_privileges(struct rl_plan *p)
{
	/* Even uid 0 gains nothing from execve, and it cannot be undone. */
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		      SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
		      SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
		      SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0)
		x_fail(p, RL_STAGE_CAPS, errno);
	for (int cap = 0; cap <= p->last_cap; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			x_fail(p, RL_STAGE_CAPS, errno);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		x_fail(p, RL_STAGE_CAPS, errno);
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		x_fail(p, RL_STAGE_CAPS, errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		x_fail(p, RL_STAGE_CAPS, errno);
	if (!p->filter ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, p->filter) < 0)
		x_fail(p, RL_STAGE_SECCOMP, p->filter ? errno : ENOSYS);
}

/* PATH search as execvp(3) does it, without its /bin/sh fallback for
 * files that have no #! line. */
RL_CHILD static void x_exec(struct rl_plan *p)
{
	int saw_eacces = 0, e = ENOENT;
	for (char *const *c = p->paths; *c; c++) {
		execve(*c, p->argv, p->envp);
		e = errno;
		switch (e) {
		case EACCES:
			saw_eacces = 1;
			/* fall through */
		case ENOENT:
		case ENOTDIR:
		case ESTALE:
		case ENODEV:
		case ETIMEDOUT:
			continue;
		default:
			x_fail(p, RL_STAGE_EXEC, e);
		}
	}
	if (saw_eacces)
		x_fail(p, RL_STAGE_EXEC, EACCES);
	/* A file that exists but fails with ENOENT names a missing #!
	 * interpreter: look from inside, where the file really is. */
	struct stat sb;
	for (char *const *c = p->paths; e == ENOENT && *c; c++)
		if (stat(*c, &sb) == 0 && S_ISREG(sb.st_mode))
			p->x_interp = 1;
	x_fail(p, RL_STAGE_EXEC, e);
}

RL_CHILD static int x_main(void *arg)
{
	struct rl_plan *p = arg;
	/* Its own session and process group, as under spawn. */
	setsid();
	if (dup2(p->in_fd, 0) < 0 || dup2(p->out_fd, 1) < 0 ||
	    dup2(p->err_fd, 2) < 0)
		x_fail(p, RL_STAGE_STDIO, errno);
	if (chdir(p->workdir) < 0)
		x_fail(p, RL_STAGE_CHDIR, errno);
	for (int i = 0; i < p->n_rl; i++) {
		struct rlimit rl = {p->rl[i].cur, p->rl[i].max};
		if (setrlimit(p->rl[i].resource, &rl) < 0)
			x_fail(p, RL_STAGE_RLIMIT | (i << 8), errno);
	}
	drop_privileges(p);
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		x_fail(p, RL_STAGE_FDS, errno);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	x_exec(p);
	return 127;
}

/* ---- I: the sandbox's init (memory of its own, a copy of the host's) --- */

RL_CHILD static void i_send(const struct rl_plan *p, int kind, int pid, int err,
			    int stage, int status)
{
	struct rl_msg m;
	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.pid = pid;
	m.err = err;
	m.stage = stage;
	m.status = status;
	c_send(p->status_fd, &m);
}

/* EXIT, with what every process of the command used (init reaped them
 * all, or their parents did and init reaped those) in what: the figures
 * for when there is no cgroup. */
RL_CHILD static void i_send_exit(const struct rl_plan *p, pid_t x, int status)
{
	struct rl_msg m;
	memset(&m, 0, sizeof(m));
	m.kind = RL_MSG_EXIT;
	m.pid = x;
	m.status = status;
	struct rusage ru;
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
		struct rl_usage u = {
		    .peak_kib = ru.ru_maxrss,
		    .user_us =
			ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
		    .sys_us =
			ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec,
		};
		m.stage = 1;
		memcpy(m.what, &u, sizeof(u));
	}
	c_send(p->status_fd, &m);
}

RL_CHILD static void i_fail(const struct rl_plan *p, const struct rl_fail *f)
{
	struct rl_msg m;
	memset(&m, 0, sizeof(m));
	m.kind = RL_MSG_FAIL;
	m.err = f->err;
	m.stage = f->stage;
	memcpy(m.what, f->what, sizeof(m.what));
	c_send(p->status_fd, &m);
	_exit(1);
}

/* Keep only what init and the command need: copies of other commands'
 * pipes held here would delay their end of file. */
RL_CHILD static void i_close_fds(const struct rl_plan *p)
{
	int keep[5 + RL_CG_N] = {p->status_fd, p->ctrl_fd, p->in_fd, p->out_fd,
				 p->err_fd};
	int n = 5;
	for (int c = 0; c < RL_CG_N; c++)
		if (p->cg_fd[c] >= 0)
			keep[n++] = p->cg_fd[c];
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned lo = 3;
	for (int i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)keep[i] : ~0U;
		if (hi > lo)
			syscall(SYS_close_range, lo, hi - 1, 0);
		if (i < n)
			lo = (unsigned)keep[i] + 1;
	}
}

/* A new network namespace has only "lo", and it is down. */
RL_CHILD static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(s);
	errno = e;
	return r;
}

RL_CHILD static void i_setup(struct rl_plan *p)
{
	struct rl_fail f = {0};
	for (int c = 0; c < RL_CG_N; c++) {
		if (p->cg_fd[c] < 0)
			continue;
		if (write(p->cg_fd[c], "0", 1) < 0) {
			f.err = errno;
			f.stage = RL_STAGE_CGROUP;
			i_fail(p, &f);
		}
		close(p->cg_fd[c]);
	}
	/* After joining: the command's cgroup is the root it sees. */
	if (unshare(CLONE_NEWCGROUP) < 0) {
		f.err = errno;
		f.stage = RL_STAGE_CGROUP;
		i_fail(p, &f);
	}
	if (rl_view_per_command(p, &f) < 0) {
		f.stage = RL_STAGE_MOUNT;
		i_fail(p, &f);
	}
	/* (One made ahead has its loopback up.) */
	if (p->new_net && p->net_fd < 0 && loopback_up() < 0) {
		f.err = errno;
		f.stage = RL_STAGE_NET;
		i_fail(p, &f);
	}
}

/* Proxy mode: the forwarder F, I's child in the command's namespaces,
 * unprivileged as the command is, listening on 127.0.0.1 before the
 * command starts (it says "ready PORT" on fd 3).  It dies with I, and
 * i_finish kills it with the rest. */
RL_CHILD static void f_main(struct rl_plan *p, int ready_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(p->err_fd, 2) < 0)
		_exit(125);
	if (ready_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(ready_fd, 3) < 0)
		_exit(125);
	drop_privileges(p);
	if (syscall(SYS_close_range, 4, ~0U, 0) < 0)
		_exit(125);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(p->proxy_argv[0], p->proxy_argv, (char *const[]){NULL});
	_exit(127);
}

RL_CHILD static void i_start_forwarder(struct rl_plan *p)
{
	struct rl_fail f = {.err = ECONNREFUSED, .stage = RL_STAGE_PROXY};
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		f.err = errno;
		i_fail(p, &f);
	}
	pid_t pid = fork();
	if (pid == 0)
		f_main(p, pfd[1]);
	if (pid < 0) {
		f.err = errno;
		i_fail(p, &f);
	}
	close(pfd[1]);
	char buf[32];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(buf) - 1 &&
	       (n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(pfd[0]);
	if (strncmp(buf, "ready ", 6) != 0)
		i_fail(p, &f);
}

/* The command has ended: kill what it left and reap it all, then report.
 * The host may return as soon as it reads this: not one process of the
 * command remains (all of them are init's children by now, and a PID
 * namespace gets no new members from outside).  Tearing the namespaces
 * down, which init's exit does, is no longer the command's time. */
__attribute__((noreturn)) RL_CHILD static void i_finish(const struct rl_plan *p,
							pid_t x, int status)
{
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
	i_send_exit(p, x, status);
	_exit(0);
}

/* Reap everything until the command itself ends.  A byte on the control
 * pipe asks for SIGTERM to every process; its end of file (the host is
 * gone) ends the sandbox. */
__attribute__((noreturn)) RL_CHILD static void i_loop(const struct rl_plan *p,
						      int sfd, pid_t x)
{
	for (;;) {
		struct pollfd pf[2] = {{sfd, POLLIN, 0},
				       {p->ctrl_fd, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (pf[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			int st;
			pid_t w;
			while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
				if (w == x)
					i_finish(p, x, st);
		}
		if (pf[1].revents) {
			char c;
			ssize_t n = read(p->ctrl_fd, &c, 1);
			if (n == 0 || (n < 0 && errno != EINTR))
				_exit(0);
			if (n == 1) {
				kill(-1, SIGTERM);
				kill(-1, SIGCONT);
			}
		}
	}
}

/* /proc/1/cmdline is readable by every process of the namespace, and
 * init's memory is a copy of the host's: blank the host's command line
 * and environment strings in that copy (fields 48-51 of /proc/self/stat
 * say where they are), so that neither the host's arguments nor its
 * secrets can be read there. */
RL_CHILD static void blank_host_strings(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	unsigned long v[4];
	for (int field = 3, k = 0; s && k < 4; field++) {
		s = strchr(s + 1, ' ');
		if (s && field >= 48)
			v[k++] = strtoul(s + 1, NULL, 10);
	}
	if (!s || v[1] <= v[0] || v[3] <= v[2])
		return;
	memset((void *)v[0], 0, v[1] - v[0]);
	memset((void *)v[2], 0, v[3] - v[2]);
	static const char name[] = "monkey-init";
	if (v[1] - v[0] > sizeof(name))
		memcpy((void *)v[0], name, sizeof(name));
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

RL_CHILD static void init_main(struct rl_plan *p)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* The host's handlers must never run here, and what the host
	 * ignores the command must not inherit.  Signals stay blocked. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	i_close_fds(p);
	i_setup(p);
	if (p->proxy_argv[0])
		i_start_forwarder(p);
	blank_host_strings();
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	char *stack_top = p->x_stack_top;
	pid_t x = sfd < 0 ? -1
			  : clone(x_main, stack_top,
				  CLONE_VM | CLONE_VFORK | SIGCHLD, p);
	if (x < 0) {
		struct rl_fail f = {.err = errno, .stage = RL_STAGE_INIT};
		i_fail(p, &f);
	}
	if (p->x_stage) {
		/* CLONE_VFORK: X has exited by now, reporting why. */
		waitpid(x, NULL, __WALL);
		i_send(p, RL_MSG_START, -1, p->x_errno, p->x_stage,
		       p->x_interp);
		_exit(1);
	}
	i_send(p, RL_MSG_START, x, 0, 0, 0);
	close(p->in_fd);
	close(p->out_fd);
	close(p->err_fd);
	i_loop(p, sfd, x);
	_exit(1);
}

/* ---- the host side ---- */

/* Stacks of finished helpers, kept for the next command: mapping fresh
 * memory costs page faults and TLB shootdowns on every command. */
#define STACK_CACHE 4
static void *stack_cache[STACK_CACHE];
static const size_t stack_len = C_STACK + X_STACK + 2 * 4096;

static char *stack_get(void)
{
	for (int i = 0; i < STACK_CACHE; i++) {
		void *m = __atomic_exchange_n(&stack_cache[i], NULL,
					      __ATOMIC_ACQUIRE);
		if (m)
			return m;
	}
	/* [guard][X stack][guard][C stack] */
	char *base = mmap(NULL, stack_len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base, 4096, PROT_NONE) < 0 ||
	    mprotect(base + 4096 + X_STACK, 4096, PROT_NONE) < 0) {
		munmap(base, stack_len);
		return NULL;
	}
	return base;
}

static void stack_put(char *base)
{
	for (int i = 0; i < STACK_CACHE; i++) {
		void *expected = NULL;
		if (__atomic_compare_exchange_n(&stack_cache[i], &expected,
						base, 0, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			return;
	}
	munmap(base, stack_len);
}

__attribute__((destructor)) static void stacks_drop(void)
{
	for (int i = 0; i < STACK_CACHE; i++) {
		void *m = __atomic_exchange_n(&stack_cache[i], NULL,
					      __ATOMIC_ACQUIRE);
		if (m)
			munmap(m, stack_len);
	}
}

int rl_sandbox_start(struct rl_plan *p)
{
	char *base = stack_get();
	if (!base)
		return -errno;
	p->x_stack_top = base + 4096 + X_STACK;
	int flags = CLONE_VFORK | SIGCHLD;
	int (*fn)(void *) = c_main;
	if (p->start == RL_START_TEMPLATE)
		flags |= RL_SHARED_VM ? CLONE_VM : 0;
	else if (p->start == RL_START_BUILD || p->start == RL_START_SESSION)
		flags |= CLONE_NEWUSER | CLONE_NEWNS;
	else {
		/* init itself, running alongside us on its own copy. */
		flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
			CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD |
			(p->new_net ? CLONE_NEWNET : 0);
		fn = direct_main;
	}
	/* No host signal handler may run in C (it may share our memory);
	 * I and X inherit the full mask and open it themselves. */
	sigset_t all, old;
	sigfillset(&all);
	int turns = p->undumpable && (flags & CLONE_VM);
	if (turns)
		pthread_mutex_lock(&rl_dumpable_lock);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = clone(fn, base + stack_len, flags, p);
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (turns)
		pthread_mutex_unlock(&rl_dumpable_lock);
	if (pid < 0) {
		stack_put(base);
		return -e;
	}
	if (p->start == RL_START_DIRECT) {
		stack_put(base); /* init has a copy */
		return pid;
	}
	/* CLONE_VFORK: C has exited; I runs on its own copy. */
	int st;
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	stack_put(base);
	return 0;
}
