/* Can sandboxes be made here?  The probe creates a user namespace in a
 * throwaway child and maps the user in it, as every sandbox starts, and
 * looks for what the kernel checks before it mounts a new /proc; when
 * something is in the way it says why in the terms of this machine:
 * which sysctl switched user namespaces off, AppArmor's restriction, a
 * container whose policy forbids them, a /proc that cannot be mounted
 * again, a kernel too old.  It is cheap (a fraction of a sandbox), since
 * "monkey exec" runs it before its one command. */
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
#include <sys/prctl.h>
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
	T_PROC,
	T_MOUNT_API,
};

/* What the trial needs, and where it writes how it went: it shares our
 * memory (CLONE_VM, we wait meanwhile). */
struct trial {
	int proc_fd;
	char uid_map[32], gid_map[32];
	int undumpable; /* see rl_undumpable() */
	int step;	/* the failed step, 0 when all went well */
	int err;
	int done;	/* reached the end */
	char what[256]; /* T_PROC: the mount that covers part of /proc */
};

/* Open with the shared memory dumpable when it is not (see
 * rl_undumpable()), and put that back at once. */
RL_CHILD static int open_map(const struct trial *t, const char *path)
{
	if (t->undumpable)
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	int fd = openat(t->proc_fd, path, O_WRONLY | O_CLOEXEC);
	int e = errno;
	if (t->undumpable)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	errno = e;
	return fd;
}

RL_CHILD static int write_at(const struct trial *t, const char *path,
			     const char *data)
{
	int fd = open_map(t, path);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, data, strlen(data));
	int e = errno;
	close(fd);
	errno = e;
	return n < 0 ? -1 : 0;
}

RL_CHILD static int trial_fail(struct trial *t, int step)
{
	t->step = step;
	t->err = errno;
	_exit(1);
}

/* In a new user namespace: map the user, as every sandbox does first.
 * This is where user namespaces that are switched off, forbidden by a
 * seccomp filter, an LSM (AppArmor's restriction) or a sysctl fail. */
RL_CHILD static int trial_main(void *arg)
{
	struct trial *t = arg;
	if ((write_at(t, "self/setgroups", "deny") < 0 && errno != ENOENT) ||
	    write_at(t, "self/uid_map", t->uid_map) < 0 ||
	    write_at(t, "self/gid_map", t->gid_map) < 0)
		trial_fail(t, T_MAP);
	t->done = 1;
	_exit(0);
}

/* The kernel lets a user namespace mount proc only where a proc mount
 * with nothing mounted over its contents is in sight (so that a new one
 * cannot reveal what was hidden).  Containers that mask /proc paths
 * (/proc/kcore, /proc/sys...) fail that test: look for such mounts
 * instead of paying for a mount namespace to try.  binfmt_misc sits on an
 * empty directory made for it, which the kernel accepts. */
static int proc_is_covered(char *what, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	char line[4096], mnt[4096];
	int covered = 0;
	while (!covered && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
		    !strncmp(mnt, "/proc/", 6) &&
		    strcmp(mnt, "/proc/sys/fs/binfmt_misc")) {
			snprintf(what, len, "%s", mnt);
			covered = 1;
		}
	fclose(f);
	return covered;
}

static int run_trial(struct rl_state *st, struct trial *t)
{
	memset(t, 0, sizeof(*t));
	t->proc_fd = st->proc_fd;
	snprintf(t->uid_map, sizeof(t->uid_map), "%u %u 1\n", (unsigned)st->uid,
		 (unsigned)st->uid);
	snprintf(t->gid_map, sizeof(t->gid_map), "%u %u 1\n", (unsigned)st->gid,
		 (unsigned)st->gid);
	t->undumpable = rl_undumpable();
	/* Present since Linux 5.2 and 5.12: fail on the bad descriptor. */
	if (syscall(SYS_open_tree, -1, "", 0) < 0 && errno == ENOSYS)
		return t->step = T_MOUNT_API, t->err = ENOSYS, 0;
	if (syscall(SYS_mount_setattr, -1, "", 0, NULL, 0) < 0 &&
	    errno == ENOSYS)
		return t->step = T_MOUNT_API, t->err = ENOSYS, 0;
	if (proc_is_covered(t->what, sizeof(t->what)))
		return t->step = T_PROC, t->err = EPERM, 0;
	size_t len = 64 * 1024;
	char *stack = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	sigset_t all, old;
	sigfillset(&all);
	if (t->undumpable)
		pthread_mutex_lock(&rl_dumpable_lock);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = clone(trial_main, stack + len,
			  CLONE_NEWUSER | CLONE_VM | CLONE_VFORK | SIGCHLD, t);
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (t->undumpable)
		pthread_mutex_unlock(&rl_dumpable_lock);
	if (pid < 0) {
		t->step = T_CLONE;
		t->err = e;
	} else {
		/* CLONE_VFORK: it is done with our memory; reaped later. */
		rl_add_pending(st, pid, NULL);
		if (!t->step && !t->done) {
			t->step = T_MAP;
			t->err = EIO;
		}
	}
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
	if (t->step == T_PROC)
		return rl_set_err(
		    host, err, -EPERM,
		    "the kernel will not mount a new /proc in a user "
		    "namespace here: the /proc monkey sees is partly covered "
		    "(%s is mounted over), as inside containers that mask "
		    "/proc paths (Docker does); run that container with "
		    "--security-opt systempaths=unconfined, or use --sandbox "
		    "spawn",
		    t->what);
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

/* Namespaces this machine will not give are an absence (-ENODEV, the
 * probe contract of monkey/backend.h): the host may fall back to spawn,
 * and says why in the words explain() chose. */
static int absent(int r, struct monkey_error *err)
{
	if (r < 0 && err)
		err->code = -ENODEV;
	return r < 0 ? -ENODEV : r;
}

int rl_probe(struct rl_state *st, struct monkey_error *err)
{
	if (st->proc_fd < 0)
		return absent(
		    rl_set_err(st->host, err, -ENOSYS,
			       "/proc is not mounted: the rootless backend "
			       "needs it to set up user namespaces"),
		    err);
	if (!rl_g.filter)
		return absent(rl_set_err(st->host, err, -ENOSYS, "%s",
					 rl_g.filter_error.message),
			      err);
	struct trial t;
	int r = run_trial(st, &t);
	if (r < 0)
		return rl_set_err(st->host, err, r,
				  "cannot start a trial sandbox: %s",
				  strerror(-r));
	if (t.step)
		return absent(explain(st->host, &t, err), err);
	return 0;
}
