/* The sandbox's file system.  rl_view_build makes the root view (for a
 * template that later commands copy, or for the first command alone).
 * Where the view is the host's "/" and every mount target exists,
 * view_host.c makes the host's tree read-only in place; otherwise (an
 * --image, or targets to create) this file builds it on a new root:
 *
 *   - a small tmpfs root holding one read-only, nosuid, nodev bind of each
 *     top-level entry of the host's "/" (or of the --image directory), so
 *     that new top-level mount points can be made without touching the
 *     host; /proc, /sys, /dev and /tmp are left empty, /root is not bound;
 *   - hidden paths (the user's home, /run, engine state...) covered by
 *     empty read-only directories or files;
 *   - the workspace (read-write) and the --mounts at their targets;
 *   - a minimal /dev (null, zero, full, random, urandom, tty, pts, shm);
 *   - the host's /proc and /sys, covered by each command's own: the kernel
 *     lets a user namespace mount proc or sysfs only where a full view of
 *     one is already mounted.
 *
 * view_cmd.c adds what each command gets fresh.  All of it runs in child
 * processes that may only make system calls (view.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "view.h"

/* Where the old root stays reachable while the view is built. */
#define OLD "/oldroot"
#define NEW "/newroot"

/* ---- 1: a private staging root, the old root at /oldroot ---- */

RL_CHILD static int enter_staging(struct rl_builder *b)
{
	struct rl_fail *f = b->f;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return rl_vfail(f, errno, "make the mounts private", "");
	/* Any existing directory will do: it is hidden in this namespace
	 * only, and sources are reached through /oldroot. */
	const char *at = access("/tmp", F_OK) == 0 ? "/tmp" : "/mnt";
	if (mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755,size=4m") < 0)
		return rl_vfail(f, errno, "mount the staging tmpfs on ", at);
	if (chdir(at) < 0 || mkdir("oldroot", 0700) < 0 ||
	    syscall(SYS_pivot_root, ".", "oldroot") < 0 || chdir("/") < 0)
		return rl_vfail(f, errno, "pivot into the staging tmpfs", "");
	if (mkdir(NEW, 0755) < 0 || mkdir("/hide", 0700) < 0 ||
	    mount(NEW, NEW, NULL, MS_BIND, NULL) < 0)
		return rl_vfail(f, errno, "create the new root", "");
	b->root = open(NEW, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b->root < 0)
		return rl_vfail(f, errno, "open the new root", "");
	rl_add_ours(b, b->root);
	return 0;
}

/* ---- 2: the top-level entries of the root source ---- */

struct rl_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

RL_CHILD static int is_special(const char *n)
{
	return !strcmp(n, "proc") || !strcmp(n, "sys") || !strcmp(n, "dev") ||
	       !strcmp(n, "tmp");
}

RL_CHILD static int add_entry(struct rl_builder *b, int src,
			      const char *srcpath, const char *name,
			      unsigned char type)
{
	char from[PATH_MAX];
	rl_cat(from, sizeof(from), srcpath, name);
	if (type == DT_UNKNOWN) {
		struct stat sb;
		if (fstatat(src, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			return 0; /* gone meanwhile */
		type = S_ISDIR(sb.st_mode)   ? DT_DIR
		       : S_ISLNK(sb.st_mode) ? DT_LNK
					     : DT_REG;
	}
	if (is_special(name) ||
	    (b->p->view->host_root && !strcmp(name, "root")))
		type = 0; /* an empty directory */
	if (type == DT_LNK) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
		if (n < 0)
			return rl_vfail(b->f, errno, "read the symlink ", from);
		target[n] = '\0';
		if (symlinkat(target, b->root, name) < 0)
			return rl_vfail(b->f, errno, "copy the symlink ", from);
		return 0;
	}
	int is_dir = type == DT_DIR || type == 0;
	if (rl_make_node(b->root, name, is_dir, is_dir ? 0755 : 0644) < 0)
		return rl_vfail(b->f, errno, "create a mount point for ", from);
	if (type == 0)
		return 0;
	return rl_bind(b, from, b->root, name,
		       RL_ATTR_RDONLY | RL_ATTR_NOSUID | RL_ATTR_NODEV,
		       type == DT_DIR ? AT_RECURSIVE : 0);
}

RL_CHILD static int add_entries(struct rl_builder *b)
{
	char srcpath[PATH_MAX];
	size_t n = rl_cat(srcpath, sizeof(srcpath), OLD, b->p->view->root);
	if (srcpath[n - 1] != '/')
		rl_cat(srcpath + n, sizeof(srcpath) - n, "/", "");
	int src = open(srcpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		return rl_vfail(b->f, errno, "open the root ",
				b->p->view->root);
	char buf[8192];
	long got;
	int r = 0;
	while (r == 0 &&
	       (got = syscall(SYS_getdents64, src, buf, sizeof(buf))) > 0) {
		for (long off = 0; r == 0 && off < got;) {
			struct rl_dirent64 *d = (void *)(buf + off);
			off += d->d_reclen;
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				r = add_entry(b, src, srcpath, d->d_name,
					      d->d_type);
		}
	}
	close(src);
	if (r < 0)
		return r;
	const char *need[] = {"proc", "sys", "dev", "tmp"};
	for (int i = 0; i < 4; i++)
		if (mkdirat(b->root, need[i], 0755) < 0 && errno != EEXIST)
			return rl_vfail(b->f, errno, "create /", need[i]);
	return 0;
}

/* ---- 3: /dev ---- */

RL_CHILD static int make_dev(struct rl_builder *b)
{
	static const char *const nodes[] = {"null",   "zero",	 "full",
					    "random", "urandom", "tty"};
	static const char *const links[][2] = {{"fd", "/proc/self/fd"},
					       {"stdin", "/proc/self/fd/0"},
					       {"stdout", "/proc/self/fd/1"},
					       {"stderr", "/proc/self/fd/2"},
					       {"ptmx", "pts/ptmx"}};
	if (mount("tmpfs", NEW "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
		  "mode=0755,size=64k") < 0)
		return rl_vfail(b->f, errno, "mount a tmpfs on /dev", "");
	int dev = open(NEW "/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dev < 0)
		return rl_vfail(b->f, errno, "open /dev", "");
	rl_add_ours(b, dev);
	rl_keep_ro(b, dev);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char from[64];
		rl_cat(from, sizeof(from), OLD "/dev/", nodes[i]);
		if (access(from, F_OK) < 0)
			continue;
		int fd =
		    openat(dev, nodes[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			return rl_vfail(b->f, errno, "create /dev/", nodes[i]);
		close(fd);
		int r = rl_bind(b, from, dev, nodes[i],
				RL_ATTR_NOSUID | RL_ATTR_NOEXEC, 0);
		if (r < 0)
			return r;
	}
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0)
		return rl_vfail(b->f, errno, "create /dev/pts and /dev/shm",
				"");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0)
			return rl_vfail(b->f, errno, "create /dev/",
					links[i][0]);
	return 0;
}

RL_CHILD static int hide_one(struct rl_builder *b, const char *path)
{
	int fd = rl_open_in_root(b->root, path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return 0; /* nothing there (or a symlink: its target is
			     hidden on its own or is harmless) */
	struct stat sb;
	int r = fstat(fd, &sb);
	if (r < 0 || S_ISLNK(sb.st_mode)) {
		close(fd);
		return 0;
	}
	char empty[32] = "/hide/", num[12];
	int n = ++b->n_hidden, k = 0;
	do
		num[k++] = (char)('0' + n % 10);
	while ((n /= 10));
	for (size_t i = 6; k > 0;)
		empty[i++] = num[--k], empty[i] = '\0';
	if (rl_make_node(AT_FDCWD, empty, S_ISDIR(sb.st_mode), 0755) < 0) {
		close(fd);
		return rl_vfail(b->f, errno, "hide ", path);
	}
	/* Read-only only at the end: mount points may still be made in a
	 * hidden directory (a workspace inside the home). */
	int t = rl_clone_tree(AT_FDCWD, empty, 0);
	if (t < 0 || rl_attach(t, fd, "") < 0) {
		int e = errno;
		close(fd);
		if (t >= 0)
			close(t);
		return rl_vfail(b->f, e, "hide ", path);
	}
	close(t);
	close(fd);
	fd = rl_open_in_root(b->root, path, O_PATH);
	if (fd >= 0)
		rl_keep_ro(b, fd);
	return 0;
}

RL_CHILD static int hide_paths(struct rl_builder *b)
{
	const struct rl_view *v = b->p->view;
	for (char *const *h = v->hide; h && *h; h++) {
		/* (/root is left empty by add_entry already.) */
		if (rl_under_a_bind(v, *h) ||
		    (v->host_root && !strcmp(*h, "/root")))
			continue;
		int r = hide_one(b, *h);
		if (r < 0)
			return r;
	}
	return 0;
}

RL_CHILD static int make_binds(struct rl_builder *b)
{
	const struct rl_view *v = b->p->view;
	for (size_t i = 0; i < v->n_binds; i++) {
		const struct rl_bind *m = &v->binds[i];
		char from[PATH_MAX];
		rl_cat(from, sizeof(from), OLD, m->source);
		int to = rl_ensure_target(b, m->target, m->is_dir);
		if (to < 0)
			return to;
		uint64_t attrs = RL_ATTR_NOSUID | RL_ATTR_NODEV;
		if (m->read_only)
			attrs |= RL_ATTR_RDONLY;
		int r = rl_bind(b, from, to, "", attrs,
				m->is_dir ? AT_RECURSIVE : 0);
		close(to);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- 6: the host's /proc and /sys under the commands' own ---- */

RL_CHILD static int proc_and_sys(struct rl_builder *b)
{
	int r = rl_bind(b, OLD "/proc", b->root, "proc", 0, AT_RECURSIVE);
	if (r == 0)
		r = rl_bind(b, OLD "/sys", b->root, "sys", 0, AT_RECURSIVE);
	return r;
}

/* ---- 7: read-only, and pivot ---- */

RL_CHILD static int finish(struct rl_builder *b)
{
	if (rl_set_attr(b->root, "", AT_EMPTY_PATH,
			RL_ATTR_RDONLY | RL_ATTR_NOSUID | RL_ATTR_NODEV) < 0)
		return rl_vfail(b->f, errno, "make the root read-only", "");
	if (rl_finish_ro(b) < 0)
		return -b->f->err;
	/* The old root goes on top of the new one and is detached from
	 * there: nothing of the staging tmpfs or the host's tree stays
	 * reachable. */
	if (fchdir(b->root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return rl_vfail(b->f, errno, "pivot into the new root", "");
	return 0;
}

RL_CHILD int rl_view_build(const struct rl_plan *p, struct rl_fail *f)
{
	if (p->view->in_place)
		return rl_view_build_in_place(p, f);
	struct rl_builder b = {.p = p, .f = f, .root = -1};
	int r = enter_staging(&b);
	if (r == 0)
		r = add_entries(&b);
	if (r == 0)
		r = make_dev(&b);
	if (r == 0)
		r = hide_paths(&b);
	if (r == 0)
		r = make_binds(&b);
	if (r == 0)
		r = proc_and_sys(&b);
	if (r == 0)
		r = finish(&b);
	for (int i = 0; i < b.n_ro; i++)
		close(b.ro[i]);
	if (b.root >= 0)
		close(b.root);
	return r;
}
