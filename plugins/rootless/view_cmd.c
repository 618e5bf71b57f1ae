/* What each command mounts fresh in its own copy of the root view, in the
 * sandbox's init: /tmp (keeping binds that lie in it), /dev/shm, /dev/pts,
 * /proc (masked as Docker does for a command that is uid 0) and /sys. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "view.h"

RL_CHILD static int mkdir_parents(char *path, int is_dir)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		int r = mkdir(path, 0755);
		*s = '/';
		if (r < 0 && errno != EEXIST)
			return -1;
	}
	return rl_make_node(AT_FDCWD, path, is_dir, 0755) < 0 && errno != EEXIST
		   ? -1
		   : 0;
}

/* Docker's masked and read-only /proc paths: a command running as uid 0
 * (without capabilities) could otherwise write sysctls that only check
 * the owner, or the machine-wide /proc/sysrq-trigger. */
RL_CHILD static int mask_proc(struct rl_fail *f)
{
	static const char *const ro[] = {"/proc/sys", "/proc/sysrq-trigger",
					 "/proc/irq", "/proc/bus", "/proc/fs"};
	static const char *const files[] = {
	    "/proc/kcore",	 "/proc/keys",		"/proc/timer_list",
	    "/proc/sched_debug", "/proc/latency_stats", "/proc/timer_stats"};
	static const char *const dirs[] = {"/proc/acpi", "/proc/scsi",
					   "/proc/asound", "/sys/firmware"};
	/* mount(2) and not the descriptor calls: two system calls a path
	 * instead of five, on every command; a path that is not there fails
	 * with ENOENT and is skipped. */
	const unsigned long locked = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if ((mount(ro[i], ro[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
		     mount(NULL, ro[i], NULL,
			   MS_REMOUNT | MS_BIND | MS_RDONLY | locked,
			   NULL) < 0) &&
		    errno != ENOENT)
			return rl_vfail(f, errno, "make read-only ", ro[i]);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (mount("/dev/null", files[i], NULL, MS_BIND, NULL) < 0 &&
		    errno != ENOENT)
			return rl_vfail(f, errno, "mask ", files[i]);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mount("tmpfs", dirs[i], "tmpfs", MS_RDONLY | locked,
			  "size=4k,mode=0555") < 0 &&
		    errno != ENOENT)
			return rl_vfail(f, errno, "mask ", dirs[i]);
	return 0;
}

/* A fresh tmpfs on fr->dir: binds below it (a workspace in /tmp or in
 * the home) are kept by moving copies of them onto the new tmpfs. */
RL_CHILD static int fresh_dir(const struct rl_fresh *fr, const char *opts,
			      struct rl_fail *f)
{
	int keep[RL_MAX_REBINDS];
	for (int i = 0; i < fr->n_rebind; i++)
		if ((keep[i] = open(fr->rebind[i], O_PATH | O_CLOEXEC)) < 0)
			return rl_vfail(f, errno, "open ", fr->rebind[i]);
	if (mount("tmpfs", fr->dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return rl_vfail(f, errno, "mount a tmpfs on ", fr->dir);
	for (int i = 0; i < fr->n_rebind; i++) {
		char path[PATH_MAX];
		struct stat sb;
		rl_cat(path, sizeof(path), fr->rebind[i], "");
		int t = -1;
		if (fstat(keep[i], &sb) < 0 ||
		    mkdir_parents(path, S_ISDIR(sb.st_mode)) < 0 ||
		    (t = rl_clone_tree(keep[i], "",
				       AT_EMPTY_PATH | AT_RECURSIVE)) < 0 ||
		    rl_attach(t, AT_FDCWD, path) < 0)
			return rl_vfail(f, errno, "keep the bind at ", path);
		close(t);
		close(keep[i]);
	}
	return 0;
}

/* /tmp, /dev/shm and /dev/pts: each command's own, or, in a session,
 * mounted once in the session's view and seen by all its commands (their
 * mount namespaces are copies of it: the same file systems). */
RL_CHILD static int fresh_scratch(const struct rl_plan *p, struct rl_fail *f)
{
	if (p->tmp.on && fresh_dir(&p->tmp, p->tmp_opts, f) < 0)
		return -f->err;
	if (mount("tmpfs", "/dev/shm", "tmpfs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, p->tmp_opts) < 0)
		return rl_vfail(f, errno, "mount a tmpfs on /dev/shm", "");
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") < 0)
		return rl_vfail(f, errno, "mount devpts on /dev/pts", "");
	return 0;
}

RL_CHILD int rl_view_session(const struct rl_plan *p, struct rl_fail *f)
{
	if (fresh_scratch(p, f) < 0)
		return -f->err;
	/* 0755 and the size of /tmp; its owner is the user (the mapped
	 * uid that mounts it). */
	char opts[sizeof(p->tmp_opts)];
	memcpy(opts, p->tmp_opts, sizeof(opts));
	for (char *m = opts; (m = strstr(m, "mode=1777")); m += 9)
		memcpy(m, "mode=0755", 9);
	if (p->home.on && fresh_dir(&p->home, opts, f) < 0)
		return -f->err;
	return 0;
}

/* A sysfs of the new network namespace shows its interfaces only.  Where
 * the kernel refuses one (a /sys that is partly covered, as in some
 * containers), the host's stays, read-only.  A session mounts its own
 * once, in its network namespace: a command with a user namespace of its
 * own may not mount one for a network namespace it does not own. */
RL_CHILD int rl_view_sysfs(const struct rl_plan *p, struct rl_fail *f)
{
	if ((!p->mount_sysfs ||
	     mount("sysfs", "/sys", "sysfs",
		   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) &&
	    rl_set_attr(AT_FDCWD, "/sys", AT_RECURSIVE,
			RL_ATTR_RDONLY | RL_ATTR_NOSUID | RL_ATTR_NODEV) < 0)
		return rl_vfail(f, errno, "make /sys read-only", "");
	return 0;
}

RL_CHILD int rl_view_per_command(const struct rl_plan *p, struct rl_fail *f)
{
	if (!p->session && fresh_scratch(p, f) < 0)
		return -f->err;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return rl_vfail(f, errno, "mount proc on /proc", "");
	if (!p->session && rl_view_sysfs(p, f) < 0)
		return -f->err;
	if (p->uid0 && mask_proc(f) < 0)
		return -f->err;
	return 0;
}
