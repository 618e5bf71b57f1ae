/* Confinement of tool paths to the workspace: every component is resolved
 * with symlinks followed, so "../x", "/etc/passwd" and a symlink pointing
 * out of the workspace are all refused. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "tools.h"

static bool inside(const char *root, const char *p)
{
	size_t rl = strlen(root);
	if (rl == 1 && root[0] == '/')
		return p[0] == '/';
	return strncmp(p, root, rl) == 0 && (p[rl] == '\0' || p[rl] == '/');
}

const char *tools_path_rel(const char *root, const char *abs)
{
	size_t rl = strlen(root);
	if (!inside(root, abs))
		return abs;
	if (rl == 1)
		return abs[1] ? abs + 1 : ".";
	return abs[rl] ? abs + rl + 1 : ".";
}

static int no_memory(struct monkey_error *err)
{
	return monkey_set_error(err, -ENOMEM, "out of memory");
}

static char *join(const char *a, const char *b)
{
	size_t al = strlen(a);
	return monkey_strdup_printf("%s%s%s", a,
				    al && a[al - 1] == '/' ? "" : "/", b);
}

static int escape_error(const char *path, const char *resolved,
			struct monkey_error *err)
{
	return monkey_set_error(
	    err, -EPERM,
	    "path '%s' is outside the workspace (it resolves to "
	    "'%s'); only files inside the workspace can be used",
	    path, resolved);
}

const char *tools_path_protected(const char *rel, bool writable_git)
{
	static const char *const dirs[] = {".monkey", ".git"};
	size_t ndirs = writable_git ? 1 : 2;
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");
		for (size_t i = 0; i < ndirs; i++)
			if (n == strlen(dirs[i]) && !strncasecmp(p, dirs[i], n))
				return dirs[i];
		p += n;
		p += strspn(p, "/");
	}
	return NULL;
}

/* With TOOLS_PATH_WRITE, refuse abs inside a protected directory (and free
 * *owned, the resolved path, then). */
static int check_writable(const char *root, const char *path, const char *abs,
			  int mode, char **owned, struct monkey_error *err)
{
	if (!(mode & TOOLS_PATH_WRITE))
		return 0;
	const char *dir = tools_path_protected(tools_path_rel(root, abs),
					       mode & TOOLS_PATH_GIT_OK);
	if (!dir)
		return 0;
	int r;
	if (!strcmp(dir, ".git"))
		r = monkey_set_error(
		    err, -EPERM,
		    "'%s' is inside .git, which the file tools may not "
		    "change: git runs the hooks and configuration there "
		    "on the host. read_file and list_files still work; "
		    "only the user can allow changes (--writable-git)",
		    path);
	else
		r = monkey_set_error(
		    err, -EPERM,
		    "'%s' is inside .monkey, monkey's own directory, "
		    "which the file tools may not change",
		    path);
	free(*owned);
	*owned = NULL;
	return r;
}

/* The missing components of rest appended to *cur, all checked before
 * anything is created. */
static int append_missing(const char *path, const char *rest, int mode,
			  bool mkdirs, char **cur, struct monkey_error *err)
{
	_cleanup_free_ char *copy = strdup(rest);
	if (!copy)
		return no_memory(err);
	size_t parts = 0;
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, ".."))
			return monkey_set_error(
			    err, -EINVAL,
			    "path '%s' uses '..' below a directory "
			    "that does not exist",
			    path);
		char *next = join(*cur, c);
		if (!next)
			return no_memory(err);
		free(*cur);
		*cur = next;
		parts++;
	}
	if (parts > 1 && !mkdirs && !(mode & TOOLS_PATH_PARENTS))
		return monkey_set_error(
		    err, -ENOENT, "directory of '%s' does not exist", path);
	return 0;
}

/* Create the directories of abs below its first existing_len bytes. */
static int make_parents(const char *root, char *abs, size_t existing_len,
			struct monkey_error *err)
{
	for (char *s = abs + existing_len + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		int r = 0;
		if (mkdir(abs, 0777) < 0 && errno != EEXIST)
			r = monkey_set_error(
			    err, -errno, "cannot create directory '%s': %s",
			    tools_path_rel(root, abs), strerror(errno));
		*s = '/';
		if (r < 0)
			return r;
	}
	return 0;
}

int tools_path_resolve(const char *root, const char *path, int mode,
		       bool mkdirs, char **out, struct monkey_error *err)
{
	*out = NULL;
	if (!path || !*path)
		return monkey_set_error(err, -EINVAL, "path is empty");
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_free_ char *cur = strdup(path[0] == '/' ? "/" : root);
	if (!copy || !cur)
		return no_memory(err);
	char *save = NULL;
	char *missing = NULL; /* first component that does not exist */
	for (char *c = strtok_r(copy, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			/* cur has no symlinks, so its parent is lexical. */
			char *slash = strrchr(cur, '/');
			if (slash == cur)
				cur[1] = '\0';
			else if (slash)
				*slash = '\0';
			continue;
		}
		_cleanup_free_ char *cand = join(cur, c);
		if (!cand)
			return no_memory(err);
		struct stat st;
		if (lstat(cand, &st) < 0) {
			if (errno != ENOENT)
				return monkey_set_error(err, -errno,
							"cannot use '%s': %s",
							path, strerror(errno));
			missing = c;
			break;
		}
		char *real = realpath(cand, NULL);
		if (!real) {
			if (errno == ENOENT && S_ISLNK(st.st_mode))
				return monkey_set_error(
				    err, -ENOENT,
				    "'%s' is a symlink to a missing "
				    "target; refusing to follow it",
				    path);
			return monkey_set_error(err, -errno,
						"cannot resolve '%s': %s", path,
						strerror(errno));
		}
		free(cur);
		cur = real;
	}
	if (!missing) {
		if (!inside(root, cur))
			return escape_error(path, cur, err);
		*out = steal_pointer(&cur);
		return check_writable(root, path, *out, mode, out, err);
	}
	/* The existing part must be inside; what is missing is created
	 * below it, so it is inside too. */
	if (!inside(root, cur))
		return escape_error(path, cur, err);
	if (!(mode & TOOLS_PATH_CREATE))
		return monkey_set_error(err, -ENOENT, "'%s' does not exist",
					path);
	/* strtok_r cut copy at each '/': take the rest from path. */
	size_t existing_len = strlen(cur);
	int r = append_missing(path, path + (missing - copy), mode, mkdirs,
			       &cur, err);
	if (r < 0)
		return r;
	if ((r = check_writable(root, path, cur, mode, &cur, err)) < 0)
		return r;
	if (mkdirs && (r = make_parents(root, cur, existing_len, err)) < 0)
		return r;
	*out = steal_pointer(&cur);
	return 0;
}
