/* Helpers shared by the builders of the sandbox's file system (see
 * view.h): mount calls by descriptor, lookups that stay inside the view,
 * mount points made only where we own the file system. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "view.h"

/* The kernel's struct mount_attr (first version). */
struct rl_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

RL_CHILD size_t rl_cat(char *dst, size_t len, const char *a, const char *b)
{
	size_t n = 0;
	for (; a && *a && n + 1 < len; a++)
		dst[n++] = *a;
	for (; b && *b && n + 1 < len; b++)
		dst[n++] = *b;
	dst[n] = '\0';
	return n;
}

RL_CHILD int rl_vfail(struct rl_fail *f, int e, const char *what,
		      const char *path)
{
	f->err = e;
	f->stage = RL_STAGE_VIEW;
	rl_cat(f->what, sizeof(f->what), what, path);
	return -e;
}

RL_CHILD int rl_clone_tree(int dfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dfd, path,
			    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags);
}

RL_CHILD int rl_set_attr(int dfd, const char *path, unsigned flags,
			 uint64_t set)
{
	struct rl_mount_attr a = {.attr_set = set};
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, &a, sizeof(a));
}

RL_CHILD int rl_clear_attr(int dfd, const char *path, unsigned flags,
			   uint64_t clr)
{
	struct rl_mount_attr a = {.attr_clr = clr};
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, &a, sizeof(a));
}

RL_CHILD int rl_attach(int tree, int to_dfd, const char *to)
{
	unsigned flags = MOVE_MOUNT_F_EMPTY_PATH;
	if (!*to)
		flags |= MOVE_MOUNT_T_EMPTY_PATH;
	return (int)syscall(SYS_move_mount, tree, "", to_dfd, to, flags);
}

/* path looked up inside the view: absolute symlinks and ".." stay in it. */
RL_CHILD int rl_open_in_root(int root, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* Bind a copy of the mount tree at from (a path in the current root) onto
 * to_dfd/to with attrs set on the whole copy. */
RL_CHILD int rl_bind(struct rl_builder *b, const char *from, int to_dfd,
		     const char *to, uint64_t attrs, unsigned recursive)
{
	int t = rl_clone_tree(AT_FDCWD, from, recursive);
	if (t < 0)
		return rl_vfail(b->f, errno, "bind ", from);
	if ((attrs &&
	     rl_set_attr(t, "", AT_EMPTY_PATH | recursive, attrs) < 0) ||
	    rl_attach(t, to_dfd, to) < 0) {
		int e = errno;
		close(t);
		return rl_vfail(b->f, e, "bind ", from);
	}
	close(t);
	return 0;
}

/* Create name in dirfd: a directory, or an empty file. */
RL_CHILD int rl_make_node(int dirfd, const char *name, int is_dir, mode_t mode)
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

RL_CHILD int rl_is_ours(struct rl_builder *b, int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return 0;
	for (int i = 0; i < b->n_ours; i++)
		if (sb.st_dev == b->ours[i])
			return 1;
	return 0;
}

RL_CHILD void rl_add_ours(struct rl_builder *b, int fd)
{
	struct stat sb;
	if (b->n_ours < RL_MAX_OURS && fstat(fd, &sb) == 0)
		b->ours[b->n_ours++] = sb.st_dev;
}

RL_CHILD void rl_keep_ro(struct rl_builder *b, int fd)
{
	if (b->n_ro < RL_MAX_OURS)
		b->ro[b->n_ro++] = fd;
	else
		close(fd);
}

/* Is path equal to or below one of the view's bind targets?  Those show
 * what the user asked for; hiding underneath would be wasted. */
RL_CHILD int rl_under_a_bind(const struct rl_view *v, const char *path)
{
	for (size_t i = 0; i < v->n_binds; i++) {
		const char *t = v->binds[i].target;
		size_t l = strlen(t);
		if (!strncmp(path, t, l) && (path[l] == '/' || !path[l]))
			return 1;
	}
	return 0;
}

/* An open O_PATH descriptor of path in the view, creating what is missing
 * (directories, and the last component as a file when !is_dir) inside
 * file systems we own.  The host's own directories are never written. */
RL_CHILD int rl_ensure_target(struct rl_builder *b, const char *path,
			      int is_dir)
{
	char prefix[PATH_MAX];
	size_t len = rl_cat(prefix, sizeof(prefix), path, "");
	int parent = dup(b->root);
	for (size_t i = 1; parent >= 0 && i <= len; i++) {
		if (prefix[i] != '/' && prefix[i] != '\0')
			continue;
		char c = prefix[i];
		prefix[i] = '\0';
		int fd = rl_open_in_root(b->root, prefix, O_PATH);
		if (fd < 0 && errno == ENOENT) {
			const char *name = strrchr(prefix, '/') + 1;
			if (!rl_is_ours(b, parent)) {
				close(parent);
				return rl_vfail(
				    b->f, ENOENT,
				    "a mount target is missing from "
				    "the read-only root: ",
				    prefix);
			}
			int dir = c != '\0' || is_dir;
			fd = rl_make_node(parent, name, dir,
					  dir ? 0755 : 0644) < 0
				 ? -1
				 : rl_open_in_root(b->root, prefix, O_PATH);
		}
		close(parent);
		if (fd < 0)
			return rl_vfail(b->f, errno, "create the mount point ",
					prefix);
		parent = fd;
		prefix[i] = c;
	}
	return parent;
}

RL_CHILD int rl_finish_ro(struct rl_builder *b)
{
	for (int i = 0; i < b->n_ro; i++)
		if (rl_set_attr(b->ro[i], "", AT_EMPTY_PATH,
				RL_ATTR_RDONLY | RL_ATTR_NOSUID |
				    RL_ATTR_NODEV) < 0)
			return rl_vfail(b->f, errno, "make a mount read-only",
					"");
	return 0;
}
