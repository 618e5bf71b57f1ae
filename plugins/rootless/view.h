/* Helpers shared by the builders of the sandbox's file system (view.c,
 * view_host.c, view_cmd.c).  All of it runs in sandbox processes that may
 * only make system calls (the host may be multithreaded): fixed buffers,
 * no allocation, nothing instrumented. */
#ifndef MONKEY_ROOTLESS_VIEW_H
#define MONKEY_ROOTLESS_VIEW_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

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

#define RL_MAX_OURS 64

/* One build of a view. */
struct rl_builder {
	const struct rl_plan *p;
	struct rl_fail *f;
	int root;		 /* the view's root directory (O_PATH) */
	dev_t ours[RL_MAX_OURS]; /* file systems we may create files in */
	int n_ours;
	int ro[RL_MAX_OURS]; /* our mounts, made read-only at the end */
	int n_ro;
	int n_hidden;
};

/* dst = a + b, cut to len. */
size_t rl_cat(char *dst, size_t len, const char *a, const char *b);
/* Fill f (stage VIEW, what = what + path) and return -e. */
int rl_vfail(struct rl_fail *f, int e, const char *what, const char *path);
/* A detached copy of the mount (tree, with AT_RECURSIVE) at dfd/path. */
int rl_clone_tree(int dfd, const char *path, unsigned flags);
/* mount_setattr: set attrs on dfd/path. */
int rl_set_attr(int dfd, const char *path, unsigned flags, uint64_t set);
/* mount_setattr: clear attrs on dfd/path. */
int rl_clear_attr(int dfd, const char *path, unsigned flags, uint64_t clr);
/* Attach the detached tree onto to_dfd/to ("" = to_dfd itself). */
int rl_attach(int tree, int to_dfd, const char *to);
/* path looked up inside the view: absolute symlinks and ".." stay in it. */
int rl_open_in_root(int root, const char *path, int flags);
/* Bind a copy of the mount tree at from onto to_dfd/to, attrs set on the
 * whole copy. */
int rl_bind(struct rl_builder *b, const char *from, int to_dfd, const char *to,
	    uint64_t attrs, unsigned recursive);
/* Create name in dirfd: a directory, or an empty file. */
int rl_make_node(int dirfd, const char *name, int is_dir, mode_t mode);
/* fd's file system is one we made (files may be created there). */
int rl_is_ours(struct rl_builder *b, int fd);
void rl_add_ours(struct rl_builder *b, int fd);
/* fd (O_PATH of a mount of ours) is made read-only at the end. */
void rl_keep_ro(struct rl_builder *b, int fd);
/* path is equal to or below one of the view's bind targets. */
int rl_under_a_bind(const struct rl_view *v, const char *path);
/* An O_PATH descriptor of path in the view, creating what is missing
 * (directories, and the last component as a file when !is_dir) inside
 * file systems we own.  The host's own directories are never written. */
int rl_ensure_target(struct rl_builder *b, const char *path, int is_dir);
/* Our mounts read-only, as rl_keep_ro asked. */
int rl_finish_ro(struct rl_builder *b);

/* view_host.c: the host's / itself, read-only in place. */
int rl_view_build_in_place(const struct rl_plan *p, struct rl_fail *f);

#endif
