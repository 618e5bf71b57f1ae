/* Can sandboxes be made here?  The probe creates the namespaces a command
 * gets and mounts in them what a command's sandbox mounts, in a throwaway
 * child, and when a step fails says why in the terms of this machine:
 * which sysctl switched user namespaces off, AppArmor's restriction, a
 * container whose policy forbids them, a /proc that cannot be mounted
 * again, a kernel too old. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rootless.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

enum trial_step {
	T_CLONE = 1,
	T_MAP,
	T_PRIVATE,
	T_TMPFS,
	T_PROC,
	T_MOUNT_API,
};

struct trial {
	int step; /* the failed step, 0 when all went well */
	int err;
	int sysfs_ok;
};

struct trial_args {
	int proc_fd;
	int out_fd;
	char uid_map[32], gid_map[32];
};

RL_CHILD static int write_at(int dirfd, const char *path, const char *data)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, data, strlen(data));
	int e = errno;
	close(fd);
	errno = e;
	return n < 0 ? -1 : 0;
}

RL_CHILD static int trial_report(const struct trial_args *a, int step, int e,
				 int sysfs_ok)
{
	struct trial t = {step, e, sysfs_ok};
	ssize_t n = write(a->out_fd, &t, sizeof(t));
	_exit(n == (ssize_t)sizeof(t) ? 0 : 1);
}

/* In new user, mount, PID and network namespaces, as a command's init. */
RL_CHILD static int trial_main(void *arg)
{
	const struct trial_args *a = arg;
	if ((write_at(a->proc_fd, "self/setgroups", "deny") < 0 &&
	     errno != ENOENT) ||
	    write_at(a->proc_fd, "self/uid_map", a->uid_map) < 0 ||
	    write_at(a->proc_fd, "self/gid_map", a->gid_map) < 0)
		trial_report(a, T_MAP, errno, 0);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		trial_report(a, T_PRIVATE, errno, 0);
	const char *at = access("/tmp", F_OK) == 0 ? "/tmp" : "/mnt";
	if (chdir("/") < 0 ||
	    mount("tmpfs", at, "tmpfs", 0, "mode=0700,size=64k") < 0 ||
	    chdir(at) < 0 || mkdir("p", 0700) < 0 || mkdir("s", 0700) < 0 ||
	    mkdir("a", 0700) < 0 || mkdir("b", 0700) < 0)
		trial_report(a, T_TMPFS, errno, 0);
	if (mount("proc", "p", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
	    0)
		trial_report(a, T_PROC, errno, 0);
	int sysfs_ok =
	    mount("sysfs", "s", "sysfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0;
	/* The calls the root view is built with (Linux 5.12). */
	unsigned long long attr[4] = {1 /* read-only */, 0, 0, 0};
	int t = (int)syscall(SYS_open_tree, AT_FDCWD, "a",
			     OPEN_TREE_CLONE | O_CLOEXEC);
	if (t < 0 ||
	    syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, attr,
		    sizeof(attr)) < 0 ||
	    syscall(SYS_move_mount, t, "", AT_FDCWD, "b",
		    MOVE_MOUNT_F_EMPTY_PATH) < 0)
		trial_report(a, T_MOUNT_API, errno, 0);
	return trial_report(a, 0, 0, sysfs_ok);
}

static int run_trial(struct rl_state *st, struct trial *out)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	struct trial_args a = {.proc_fd = st->proc_fd, .out_fd = p[1]};
	snprintf(a.uid_map, sizeof(a.uid_map), "%u %u 1\n", (unsigned)st->uid,
		 (unsigned)st->uid);
	snprintf(a.gid_map, sizeof(a.gid_map), "%u %u 1\n", (unsigned)st->gid,
		 (unsigned)st->gid);
	size_t len = 64 * 1024;
	char *stack = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid =
	    clone(trial_main, stack + len,
		  CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
		      CLONE_NEWIPC | CLONE_NEWUTS | CLONE_VFORK | SIGCHLD,
		  &a);
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	memset(out, 0, sizeof(*out));
	if (pid < 0) {
		out->step = T_CLONE;
		out->err = e;
	} else {
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		if (read(p[0], out, sizeof(*out)) != (ssize_t)sizeof(*out)) {
			out->step = T_MAP;
			out->err = EIO;
		}
	}
	close(p[0]);
	munmap(stack, len);
	return 0;
}

/* A sysctl's value, or -1 when it does not exist here. */
static long sysctl_value(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int in_container(void)
{
	char buf[4096];
	if (access("/.dockerenv", F_OK) == 0 ||
	    access("/run/.containerenv", F_OK) == 0)
		return 1;
	int fd = open("/proc/1/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, "docker") || strstr(buf, "kubepods") ||
	       strstr(buf, "containerd") || strstr(buf, "lxc") ||
	       strstr(buf, "libpod");
}

static int explain_clone(const struct monkey_host *host, int e,
			 struct monkey_error *err)
{
	long clone_sysctl =
	    sysctl_value("/proc/sys/kernel/unprivileged_userns_clone");
	long max = sysctl_value("/proc/sys/user/max_user_namespaces");
	if (e == EPERM && clone_sysctl == 0)
		return rl_set_err(
		    host, err, -EPERM,
		    "unprivileged user namespaces are disabled "
		    "(kernel.unprivileged_userns_clone = 0): enable them with "
		    "'sysctl -w kernel.unprivileged_userns_clone=1' as root, "
		    "or use another sandbox");
	if ((e == ENOSPC || e == EUSERS) && max == 0)
		return rl_set_err(host, err, -e,
				  "user namespaces are disabled "
				  "(user.max_user_namespaces = 0): enable "
				  "them with 'sysctl -w "
				  "user.max_user_namespaces=15000' as root, "
				  "or use another sandbox");
	if (e == ENOSPC || e == EUSERS)
		return rl_set_err(host, err, -e,
				  "no more user namespaces may be created "
				  "(user.max_user_namespaces = %ld is reached, "
				  "or they nest too deep): raise it with "
				  "'sysctl -w user.max_user_namespaces=N' as "
				  "root",
				  max);
	if (e == EPERM && in_container())
		return rl_set_err(
		    host, err, -EPERM,
		    "creating a user namespace is not permitted (EPERM): "
		    "monkey runs inside a container whose seccomp profile or "
		    "security policy forbids it (Docker's default profile "
		    "does); run that container with --security-opt "
		    "seccomp=unconfined (or a profile that allows clone and "
		    "unshare with CLONE_NEWUSER), or use --sandbox spawn");
	if (e == EINVAL)
		return rl_set_err(host, err, -EINVAL,
				  "this kernel has no user namespaces "
				  "(CONFIG_USER_NS is off)");
	return rl_set_err(host, err, -e,
			  "creating a user namespace failed: %s (a seccomp "
			  "filter, SELinux or AppArmor policy, or a kernel "
			  "setting forbids it for this process)",
			  strerror(e));
}

static int explain(const struct monkey_host *host, const struct trial *t,
		   struct monkey_error *err)
{
	static const char *const steps[] = {
	    [T_MAP] = "map the user (uid_map, gid_map)",
	    [T_PRIVATE] = "make the mounts private",
	    [T_TMPFS] = "mount a tmpfs",
	    [T_PROC] = "mount a new /proc",
	    [T_MOUNT_API] = "use open_tree, move_mount and mount_setattr",
	};
	int e = t->err;
	if (t->step == T_CLONE)
		return explain_clone(host, e, err);
	if (e == EPERM &&
	    sysctl_value("/proc/sys/kernel/apparmor_restrict_unprivileged_"
			 "userns") == 1)
		return rl_set_err(
		    host, err, -EPERM,
		    "AppArmor restricts unprivileged user namespaces "
		    "(kernel.apparmor_restrict_unprivileged_userns = 1): the "
		    "sandbox gets no privileges in its own namespaces.  Give "
		    "monkey an AppArmor profile that allows 'userns,', or "
		    "set 'sysctl -w kernel.apparmor_restrict_unprivileged_"
		    "userns=0' as root");
	if (t->step == T_PROC && e == EPERM)
		return rl_set_err(
		    host, err, -EPERM,
		    "cannot mount a new /proc in a user namespace (EPERM): "
		    "the /proc monkey sees is partly covered, as inside "
		    "containers that mask /proc paths (Docker does); run the "
		    "container with --security-opt systempaths=unconfined, "
		    "or use --sandbox spawn");
	if (t->step == T_MOUNT_API && e == ENOSYS)
		return rl_set_err(host, err, -ENOSYS,
				  "the kernel lacks open_tree, move_mount "
				  "and mount_setattr: Linux 5.12 or later is "
				  "needed");
	return rl_set_err(
	    host, err, e ? -e : -EIO, "in a new user namespace, cannot %s: %s",
	    t->step > 0 && t->step <= T_MOUNT_API ? steps[t->step] : "set up",
	    strerror(e ? e : EIO));
}

int rl_probe(struct rl_state *st, struct monkey_error *err)
{
	if (st->proc_fd < 0)
		return rl_set_err(st->host, err, -ENOSYS,
				  "/proc is not mounted: the rootless backend "
				  "needs it to set up user namespaces");
	if (!rl_g.filter)
		return rl_set_err(st->host, err, -ENOSYS, "%s",
				  rl_g.filter_error);
	struct trial t;
	int r = run_trial(st, &t);
	if (r < 0)
		return rl_set_err(st->host, err, r,
				  "cannot start a trial sandbox: %s",
				  strerror(-r));
	if (t.step)
		return explain(st->host, &t, err);
	st->sysfs_ok = t.sysfs_ok;
	return 0;
}
