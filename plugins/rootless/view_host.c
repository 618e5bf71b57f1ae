/* The root view in the common case: the host's own "/", made read-only in
 * place in the sandbox's mount namespace by one recursive mount_setattr,
 * instead of a bind per top-level directory on a new root (view.c, for
 * --image and for mount targets that exist nowhere).  Then, as there:
 * hidden paths covered by empty read-only tmpfs (files by /dev/null), a
 * minimal /dev, the workspace and the --mounts.  The host's /proc and
 * /sys stay where they are, writable in this namespace only, under each
 * command's own.  Sources are copied before anything is covered: a
 * workspace may lie in the home that gets hidden. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "view.h"

static const char *const dev_nodes[] = {"null",	  "zero",    "full",
					"random", "urandom", "tty"};
#define N_NODES (sizeof(dev_nodes) / sizeof(dev_nodes[0]))

struct sources {
	int bind[RL_MAX_BINDS]; /* copies of the bind sources */
	int node[N_NODES];	/* copies of the host's device nodes */
};

RL_CHILD static int copy_sources(struct rl_builder *b, struct sources *s)
{
	const struct rl_view *v = b->p->view;
	for (size_t i = 0; i < v->n_binds; i++) {
		const struct rl_bind *m = &v->binds[i];
		unsigned rec = m->is_dir ? AT_RECURSIVE : 0;
		uint64_t attrs = RL_ATTR_NOSUID | RL_ATTR_NODEV |
				 (m->read_only ? RL_ATTR_RDONLY : 0);
		s->bind[i] = rl_clone_tree(AT_FDCWD, m->source, rec);
		if (s->bind[i] < 0 ||
		    rl_set_attr(s->bind[i], "", AT_EMPTY_PATH | rec, attrs) < 0)
			return rl_vfail(b->f, errno, "bind ", m->source);
	}
	for (size_t i = 0; i < N_NODES; i++) {
		char path[32];
		rl_cat(path, sizeof(path), "/dev/", dev_nodes[i]);
		s->node[i] = rl_clone_tree(AT_FDCWD, path, 0);
		if (s->node[i] >= 0 &&
		    rl_set_attr(s->node[i], "", AT_EMPTY_PATH,
				RL_ATTR_NOSUID | RL_ATTR_NOEXEC) < 0)
			return rl_vfail(b->f, errno, "bind ", path);
	}
	return 0;
}

/* Everything read-only, nosuid, nodev, except /proc and /sys: the kernel
 * mounts a new proc or sysfs in a user namespace only beside a visible
 * one that is not locked read-only (and locks the read-only flag of what
 * a nested user namespace copies). */
RL_CHILD static int host_read_only(struct rl_builder *b)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return rl_vfail(b->f, errno, "make the mounts private", "");
	if (rl_set_attr(AT_FDCWD, "/", AT_RECURSIVE,
			RL_ATTR_RDONLY | RL_ATTR_NOSUID | RL_ATTR_NODEV) < 0)
		return rl_vfail(b->f, errno, "make / read-only", "");
	if (rl_clear_attr(AT_FDCWD, "/proc", 0, RL_ATTR_RDONLY) < 0 ||
	    rl_clear_attr(AT_FDCWD, "/sys", 0, RL_ATTR_RDONLY) < 0)
		return rl_vfail(b->f, errno, "keep /proc and /sys as they are",
				"");
	return 0;
}

RL_CHILD static int hide_in_place(struct rl_builder *b)
{
	const struct rl_view *v = b->p->view;
	for (char *const *h = v->hide; h && *h; h++) {
		struct stat sb;
		if (rl_under_a_bind(v, *h) || lstat(*h, &sb) < 0 ||
		    S_ISLNK(sb.st_mode))
			continue; /* shown, absent, or hidden as its target */
		if (!S_ISDIR(sb.st_mode)) {
			if (rl_bind(b, "/dev/null", AT_FDCWD, *h, 0, 0) < 0)
				return -b->f->err;
			continue;
		}
		/* Writable until the end: mount points may be made in it (a
		 * workspace inside the home). */
		if (mount("tmpfs", *h, "tmpfs",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=0755,size=64k") < 0)
			return rl_vfail(b->f, errno, "hide ", *h);
		int fd = open(*h, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return rl_vfail(b->f, errno, "hide ", *h);
		rl_add_ours(b, fd);
		rl_keep_ro(b, fd);
	}
	return 0;
}

RL_CHILD static int dev_in_place(struct rl_builder *b, struct sources *s)
{
	static const char *const links[][2] = {{"fd", "/proc/self/fd"},
					       {"stdin", "/proc/self/fd/0"},
					       {"stdout", "/proc/self/fd/1"},
					       {"stderr", "/proc/self/fd/2"},
					       {"ptmx", "pts/ptmx"}};
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
		  "mode=0755,size=64k") < 0)
		return rl_vfail(b->f, errno, "mount a tmpfs on /dev", "");
	int dev = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dev < 0)
		return rl_vfail(b->f, errno, "open /dev", "");
	rl_add_ours(b, dev);
	rl_keep_ro(b, dev);
	for (size_t i = 0; i < N_NODES; i++)
		if (s->node[i] >= 0 &&
		    (rl_make_node(dev, dev_nodes[i], 0, 0666) < 0 ||
		     rl_attach(s->node[i], dev, dev_nodes[i]) < 0))
			return rl_vfail(b->f, errno, "create /dev/",
					dev_nodes[i]);
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0)
		return rl_vfail(b->f, errno, "create /dev/pts and /dev/shm",
				"");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0)
			return rl_vfail(b->f, errno, "create /dev/",
					links[i][0]);
	return 0;
}

RL_CHILD static int attach_binds(struct rl_builder *b, struct sources *s)
{
	const struct rl_view *v = b->p->view;
	for (size_t i = 0; i < v->n_binds; i++) {
		const struct rl_bind *m = &v->binds[i];
		int to = rl_ensure_target(b, m->target, m->is_dir);
		if (to < 0)
			return to;
		int r = rl_attach(s->bind[i], to, "");
		close(to);
		if (r < 0)
			return rl_vfail(b->f, errno, "bind onto ", m->target);
	}
	return 0;
}

RL_CHILD int rl_view_build_in_place(const struct rl_plan *p, struct rl_fail *f)
{
	struct rl_builder b = {.p = p, .f = f, .root = -1};
	struct sources s;
	for (size_t i = 0; i < RL_MAX_BINDS; i++)
		s.bind[i] = -1;
	for (size_t i = 0; i < N_NODES; i++)
		s.node[i] = -1;
	int r = p->view->n_binds > RL_MAX_BINDS
		    ? rl_vfail(f, E2BIG, "too many mounts", "")
		    : copy_sources(&b, &s);
	if (r == 0 &&
	    (b.root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = rl_vfail(f, errno, "open /", "");
	if (r == 0)
		r = host_read_only(&b);
	if (r == 0)
		r = hide_in_place(&b);
	if (r == 0)
		r = dev_in_place(&b, &s);
	if (r == 0)
		r = attach_binds(&b, &s);
	if (r == 0)
		r = rl_finish_ro(&b);
	if (r == 0 && chdir("/") < 0)
		r = rl_vfail(f, errno, "enter /", "");
	for (size_t i = 0; i < RL_MAX_BINDS; i++)
		if (s.bind[i] >= 0)
			close(s.bind[i]);
	for (size_t i = 0; i < N_NODES; i++)
		if (s.node[i] >= 0)
			close(s.node[i]);
	for (int i = 0; i < b.n_ro; i++)
		close(b.ro[i]);
	if (b.root >= 0)
		close(b.root);
	return r;
}
