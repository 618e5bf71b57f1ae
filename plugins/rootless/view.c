/* The sandbox's file system.  rl_view_build makes the root view once per
 * workspace and set of mounts, in the helper C, inside the new user and
 * mount namespaces that later commands enter again (the template):
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
 * rl_view_per_command adds what each command gets fresh, in its own copy
 * of that mount namespace: /tmp, /dev/shm, /dev/pts, /proc and /sys.
 *
 * All of it runs in child processes that may only use async-signal-safe
 * calls (the host may be multithreaded): fixed buffers, no allocation. */
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

#include "rootless.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define RL_ATTR_RDONLY 0x1
#define RL_ATTR_NOSUID 0x2
#define RL_ATTR_NODEV 0x4
#define RL_ATTR_NOEXEC 0x8

/* The kernel's struct mount_attr (first version). */
struct rl_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* Where the old root stays reachable while the view is built. */
#define OLD "/oldroot"
#define NEW "/newroot"
#define MAX_OURS 64

struct builder {
	const struct rl_plan *p;
	struct rl_fail *f;
	int root;      /* the new root directory (O_PATH) */
	dev_t ours[2]; /* file systems we may create files in */
	int n_ours;
	int ro[MAX_OURS]; /* our mounts, made read-only at the end */
	int n_ro;
	int n_hidden;
};

/* ---- helpers ---- */

RL_CHILD static size_t cat(char *dst, size_t len, const char *a, const char *b)
{
	size_t n = 0;
	for (; a && *a && n + 1 < len; a++)
		dst[n++] = *a;
	for (; b && *b && n + 1 < len; b++)
		dst[n++] = *b;
	dst[n] = '\0';
	return n;
}

RL_CHILD static int fail(struct rl_fail *f, int e, const char *what,
			 const char *path)
{
	f->err = e;
	f->stage = RL_STAGE_VIEW;
	cat(f->what, sizeof(f->what), what, path);
	return -e;
}

RL_CHILD static int clone_tree(int dfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dfd, path,
			    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags);
}

RL_CHILD static int set_attr(int dfd, const char *path, unsigned flags,
			     uint64_t set)
{
	struct rl_mount_attr a = {.attr_set = set};
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, &a, sizeof(a));
}

/* Attach the detached tree onto to_dfd/to ("" = to_dfd itself). */
RL_CHILD static int attach(int tree, int to_dfd, const char *to)
{
	unsigned flags = MOVE_MOUNT_F_EMPTY_PATH;
	if (!*to)
		flags |= MOVE_MOUNT_T_EMPTY_PATH;
	return (int)syscall(SYS_move_mount, tree, "", to_dfd, to, flags);
}

/* path looked up inside the view: absolute symlinks and ".." stay in it. */
RL_CHILD static int open_in_root(int root, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* Bind a copy of the mount tree at from (a path in the current root) onto
 * to_dfd/to with attrs set on the whole copy. */
RL_CHILD static int bind(struct builder *b, const char *from, int to_dfd,
			 const char *to, uint64_t attrs, unsigned recursive)
{
	int t = clone_tree(AT_FDCWD, from, recursive);
	if (t < 0)
		return fail(b->f, errno, "bind ", from);
	if ((attrs && set_attr(t, "", AT_EMPTY_PATH | recursive, attrs) < 0) ||
	    attach(t, to_dfd, to) < 0) {
		int e = errno;
		close(t);
		return fail(b->f, e, "bind ", from);
	}
	close(t);
	return 0;
}

/* Create name in dirfd: a directory, or an empty file. */
RL_CHILD static int make_node(int dirfd, const char *name, int is_dir,
			      mode_t mode)
{
	if (is_dir)
		return mkdirat(dirfd, name, mode);
	int fd =
	    openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

RL_CHILD static int is_ours(struct builder *b, int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return 0;
	for (int i = 0; i < b->n_ours; i++)
		if (sb.st_dev == b->ours[i])
			return 1;
	return 0;
}

RL_CHILD static void add_ours(struct builder *b, int fd)
{
	struct stat sb;
	if (b->n_ours < 2 && fstat(fd, &sb) == 0)
		b->ours[b->n_ours++] = sb.st_dev;
}

RL_CHILD static void keep_ro(struct builder *b, int fd)
{
	if (b->n_ro < MAX_OURS)
		b->ro[b->n_ro++] = fd;
	else
		close(fd);
}

/* ---- 1: a private staging root, the old root at /oldroot ---- */

RL_CHILD static int enter_staging(struct builder *b)
{
	struct rl_fail *f = b->f;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(f, errno, "make the mounts private", "");
	/* Any existing directory will do: it is hidden in this namespace
	 * only, and sources are reached through /oldroot. */
	const char *at = access("/tmp", F_OK) == 0 ? "/tmp" : "/mnt";
	if (mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755,size=4m") < 0)
		return fail(f, errno, "mount the staging tmpfs on ", at);
	if (chdir(at) < 0 || mkdir("oldroot", 0700) < 0 ||
	    syscall(SYS_pivot_root, ".", "oldroot") < 0 || chdir("/") < 0)
		return fail(f, errno, "pivot into the staging tmpfs", "");
	if (mkdir(NEW, 0755) < 0 || mkdir("/hide", 0700) < 0 ||
	    mount(NEW, NEW, NULL, MS_BIND, NULL) < 0)
		return fail(f, errno, "create the new root", "");
	b->root = open(NEW, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b->root < 0)
		return fail(f, errno, "open the new root", "");
	add_ours(b, b->root);
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

RL_CHILD static int add_entry(struct builder *b, int src, const char *srcpath,
			      const char *name, unsigned char type)
{
	char from[PATH_MAX];
	cat(from, sizeof(from), srcpath, name);
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
			return fail(b->f, errno, "read the symlink ", from);
		target[n] = '\0';
		if (symlinkat(target, b->root, name) < 0)
			return fail(b->f, errno, "copy the symlink ", from);
		return 0;
	}
	int is_dir = type == DT_DIR || type == 0;
	if (make_node(b->root, name, is_dir, is_dir ? 0755 : 0644) < 0)
		return fail(b->f, errno, "create a mount point for ", from);
	if (type == 0)
		return 0;
	return bind(b, from, b->root, name,
		    RL_ATTR_RDONLY | RL_ATTR_NOSUID | RL_ATTR_NODEV,
		    type == DT_DIR ? AT_RECURSIVE : 0);
}

RL_CHILD static int add_entries(struct builder *b)
{
	char srcpath[PATH_MAX];
	size_t n = cat(srcpath, sizeof(srcpath), OLD, b->p->view->root);
	if (srcpath[n - 1] != '/')
		cat(srcpath + n, sizeof(srcpath) - n, "/", "");
	int src = open(srcpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		return fail(b->f, errno, "open the root ", b->p->view->root);
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
			return fail(b->f, errno, "create /", need[i]);
	return 0;
}

/* ---- 3: /dev ---- */

RL_CHILD static int make_dev(struct builder *b)
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
		return fail(b->f, errno, "mount a tmpfs on /dev", "");
	int dev = open(NEW "/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dev < 0)
		return fail(b->f, errno, "open /dev", "");
	add_ours(b, dev);
	keep_ro(b, dev);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char from[64];
		cat(from, sizeof(from), OLD "/dev/", nodes[i]);
		if (access(from, F_OK) < 0)
			continue;
		int fd =
		    openat(dev, nodes[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			return fail(b->f, errno, "create /dev/", nodes[i]);
		close(fd);
		int r = bind(b, from, dev, nodes[i],
			     RL_ATTR_NOSUID | RL_ATTR_NOEXEC, 0);
		if (r < 0)
			return r;
	}
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0)
		return fail(b->f, errno, "create /dev/pts and /dev/shm", "");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0)
			return fail(b->f, errno, "create /dev/", links[i][0]);
	return 0;
}

/* ---- 4: hidden paths ---- */

/* Is path equal to or below one of the view's bind targets?  Those show
 * what the user asked for; hiding underneath would be wasted. */
RL_CHILD static int under_a_bind(const struct rl_view *v, const char *path)
{
	for (size_t i = 0; i < v->n_binds; i++) {
		const char *t = v->binds[i].target;
		size_t l = strlen(t);
		if (!strncmp(path, t, l) && (path[l] == '/' || !path[l]))
			return 1;
	}
	return 0;
}

RL_CHILD static int hide_one(struct builder *b, const char *path)
{
	int fd = open_in_root(b->root, path, O_PATH | O_NOFOLLOW);
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
	if (make_node(AT_FDCWD, empty, S_ISDIR(sb.st_mode), 0755) < 0) {
		close(fd);
		return fail(b->f, errno, "hide ", path);
	}
	/* Read-only only at the end: mount points may still be made in a
	 * hidden directory (a workspace inside the home). */
	int t = clone_tree(AT_FDCWD, empty, 0);
	if (t < 0 || attach(t, fd, "") < 0) {
		int e = errno;
		close(fd);
		if (t >= 0)
			close(t);
		return fail(b->f, e, "hide ", path);
	}
	close(t);
	close(fd);
	fd = open_in_root(b->root, path, O_PATH);
	if (fd >= 0)
		keep_ro(b, fd);
	return 0;
}

RL_CHILD static int hide_paths(struct builder *b)
{
	const struct rl_view *v = b->p->view;
	for (char *const *h = v->hide; h && *h; h++) {
		/* (/root is left empty by add_entry already.) */
		if (under_a_bind(v, *h) ||
		    (v->host_root && !strcmp(*h, "/root")))
			continue;
		int r = hide_one(b, *h);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- 5: the workspace and the mounts ---- */

/* An open O_PATH descriptor of path in the view, creating what is missing
 * (directories, and the last component as a file when !is_dir) inside
 * file systems we own.  The host's own directories are never written. */
RL_CHILD static int ensure_target(struct builder *b, const char *path,
				  int is_dir)
{
	char prefix[PATH_MAX];
	size_t len = cat(prefix, sizeof(prefix), path, "");
	int parent = dup(b->root);
	for (size_t i = 1; parent >= 0 && i <= len; i++) {
		if (prefix[i] != '/' && prefix[i] != '\0')
			continue;
		char c = prefix[i];
		prefix[i] = '\0';
		int fd = open_in_root(b->root, prefix, O_PATH);
		if (fd < 0 && errno == ENOENT) {
			const char *name = strrchr(prefix, '/') + 1;
			if (!is_ours(b, parent)) {
				close(parent);
				return fail(b->f, ENOENT,
					    "a mount target is missing from "
					    "the read-only root: ",
					    prefix);
			}
			int dir = c != '\0' || is_dir;
			fd = make_node(parent, name, dir, dir ? 0755 : 0644) < 0
				 ? -1
				 : open_in_root(b->root, prefix, O_PATH);
		}
		close(parent);
		if (fd < 0)
			return fail(b->f, errno, "create the mount point ",
				    prefix);
		parent = fd;
		prefix[i] = c;
	}
	return parent;
}

RL_CHILD static int make_binds(struct builder *b)
{
	const struct rl_view *v = b->p->view;
	for (size_t i = 0; i < v->n_binds; i++) {
		const struct rl_bind *m = &v->binds[i];
		char from[PATH_MAX];
		cat(from, sizeof(from), OLD, m->source);
		int to = ensure_target(b, m->target, m->is_dir);
		if (to < 0)
			return to;
		uint64_t attrs = RL_ATTR_NOSUID | RL_ATTR_NODEV;
		if (m->read_only)
			attrs |= RL_ATTR_RDONLY;
		int r =
		    bind(b, from, to, "", attrs, m->is_dir ? AT_RECURSIVE : 0);
		close(to);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- 6: the host's /proc and /sys under the commands' own ---- */

RL_CHILD static int proc_and_sys(struct builder *b)
{
	int r = bind(b, OLD "/proc", b->root, "proc", 0, AT_RECURSIVE);
	if (r == 0)
		r = bind(b, OLD "/sys", b->root, "sys", 0, AT_RECURSIVE);
	return r;
}

/* ---- 7: read-only, and pivot ---- */

RL_CHILD static int finish(struct builder *b)
{
	if (set_attr(b->root, "", AT_EMPTY_PATH,
		     RL_ATTR_RDONLY | RL_ATTR_NOSUID | RL_ATTR_NODEV) < 0)
		return fail(b->f, errno, "make the root read-only", "");
	for (int i = 0; i < b->n_ro; i++)
		if (set_attr(b->ro[i], "", AT_EMPTY_PATH,
			     RL_ATTR_RDONLY | RL_ATTR_NOSUID | RL_ATTR_NODEV) <
		    0)
			return fail(b->f, errno, "make a hidden path read-only",
				    "");
	/* The old root goes on top of the new one and is detached from
	 * there: nothing of the staging tmpfs or the host's tree stays
	 * reachable. */
	if (fchdir(b->root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return fail(b->f, errno, "pivot into the new root", "");
	return 0;
}

RL_CHILD int rl_view_build(const struct rl_plan *p, struct rl_fail *f)
{
	struct builder b = {.p = p, .f = f, .root = -1};
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

/* ---- per command ---- */

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
	return make_node(AT_FDCWD, path, is_dir, 0755) < 0 && errno != EEXIST
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
	struct builder b = {.f = f};
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (access(ro[i], F_OK) == 0 &&
		    bind(&b, ro[i], AT_FDCWD, ro[i],
			 RL_ATTR_RDONLY | RL_ATTR_NOSUID | RL_ATTR_NODEV |
			     RL_ATTR_NOEXEC,
			 AT_RECURSIVE) < 0)
			return -f->err;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (access(files[i], F_OK) == 0 &&
		    bind(&b, "/dev/null", AT_FDCWD, files[i], 0, 0) < 0)
			return -f->err;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (access(dirs[i], F_OK) == 0 &&
		    mount("tmpfs", dirs[i], "tmpfs",
			  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=4k,mode=0555") < 0)
			return fail(f, errno, "mask ", dirs[i]);
	return 0;
}

/* Fresh /tmp: binds below it (a workspace in /tmp) are kept by moving
 * copies of them onto the new tmpfs. */
RL_CHILD static int fresh_tmp(const struct rl_plan *p, struct rl_fail *f)
{
	int keep[RL_MAX_REBINDS];
	for (int i = 0; i < p->n_rebind; i++)
		if ((keep[i] = open(p->rebind[i], O_PATH | O_CLOEXEC)) < 0)
			return fail(f, errno, "open ", p->rebind[i]);
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, p->tmp_opts) <
	    0)
		return fail(f, errno, "mount a tmpfs on /tmp", "");
	for (int i = 0; i < p->n_rebind; i++) {
		char path[PATH_MAX];
		struct stat sb;
		cat(path, sizeof(path), p->rebind[i], "");
		int t = -1;
		if (fstat(keep[i], &sb) < 0 ||
		    mkdir_parents(path, S_ISDIR(sb.st_mode)) < 0 ||
		    (t = clone_tree(keep[i], "",
				    AT_EMPTY_PATH | AT_RECURSIVE)) < 0 ||
		    attach(t, AT_FDCWD, path) < 0)
			return fail(f, errno, "keep the bind at ", path);
		close(t);
		close(keep[i]);
	}
	return 0;
}

RL_CHILD int rl_view_per_command(const struct rl_plan *p, struct rl_fail *f)
{
	if (p->fresh_tmp && fresh_tmp(p, f) < 0)
		return -f->err;
	if (mount("tmpfs", "/dev/shm", "tmpfs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, p->tmp_opts) < 0)
		return fail(f, errno, "mount a tmpfs on /dev/shm", "");
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") < 0)
		return fail(f, errno, "mount devpts on /dev/pts", "");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return fail(f, errno, "mount proc on /proc", "");
	/* A sysfs of the new network namespace shows its interfaces only.
	 * Where the kernel refuses one (a /sys that is partly covered, as in
	 * some containers), the host's stays, read-only. */
	if ((!p->mount_sysfs ||
	     mount("sysfs", "/sys", "sysfs",
		   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) &&
	    set_attr(AT_FDCWD, "/sys", AT_RECURSIVE,
		     RL_ATTR_RDONLY | RL_ATTR_NOSUID | RL_ATTR_NODEV) < 0)
		return fail(f, errno, "make /sys read-only", "");
	if (p->uid0 && mask_proc(f) < 0)
		return -f->err;
	return 0;
}
