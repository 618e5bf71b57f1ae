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

static int failf(char **msg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int failf(char **msg, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(msg, fmt, ap) < 0)
		*msg = NULL;
	va_end(ap);
	return *msg ? code : -ENOMEM;
}

static char *join(const char *a, const char *b)
{
	size_t al = strlen(a);
	return monkey_strdup_printf("%s%s%s", a,
				    al && a[al - 1] == '/' ? "" : "/", b);
}

static int escape_error(const char *path, const char *resolved, char **msg)
{
	return failf(msg, -EPERM,
		     "path '%s' is outside the workspace (it resolves to "
		     "'%s'); only files inside the workspace can be used",
		     path, resolved);
}

int tools_path_resolve(const char *root, const char *path, int mode,
		       bool mkdirs, char **out, char **msg)
{
	*out = NULL;
	*msg = NULL;
	if (!path || !*path)
		return failf(msg, -EINVAL, "path is empty");
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_free_ char *cur = strdup(path[0] == '/' ? "/" : root);
	if (!copy || !cur)
		return -ENOMEM;
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
			return -ENOMEM;
		struct stat st;
		if (lstat(cand, &st) < 0) {
			if (errno != ENOENT)
				return failf(msg, -errno, "cannot use '%s': %s",
					     path, strerror(errno));
			missing = c;
			break;
		}
		char *real = realpath(cand, NULL);
		if (!real) {
			if (errno == ENOENT && S_ISLNK(st.st_mode))
				return failf(msg, -ENOENT,
					     "'%s' is a symlink to a missing "
					     "target; refusing to follow it",
					     path);
			return failf(msg, -errno, "cannot resolve '%s': %s",
				     path, strerror(errno));
		}
		free(cur);
		cur = real;
	}
	if (!missing) {
		if (!inside(root, cur))
			return escape_error(path, cur, msg);
		*out = steal_pointer(&cur);
		return 0;
	}
	/* The existing part must be inside; what is missing is created
	 * below it, so it is inside too. */
	if (!inside(root, cur))
		return escape_error(path, cur, msg);
	if (mode != TOOLS_PATH_CREATE)
		return failf(msg, -ENOENT, "'%s' does not exist", path);
	/* Rebuild the rest: strtok_r cut copy at each '/'. */
	size_t rest_len = strlen(path) - (size_t)(missing - copy);
	_cleanup_free_ char *rest = strndup(path + (missing - copy), rest_len);
	if (!rest)
		return -ENOMEM;
	char *s2 = NULL;
	for (char *c = strtok_r(rest, "/", &s2); c;
	     c = strtok_r(NULL, "/", &s2)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, ".."))
			return failf(msg, -EINVAL,
				     "path '%s' uses '..' below a directory "
				     "that does not exist",
				     path);
		char *next = join(cur, c);
		if (!next)
			return -ENOMEM;
		free(cur);
		cur = next;
		/* Intermediate directories only; the last component is the
		 * file itself. */
		char *peek = s2 ? s2 + strspn(s2, "/") : NULL;
		bool last = !peek || !*peek;
		if (!last) {
			if (!mkdirs)
				return failf(msg, -ENOENT,
					     "directory of '%s' does not exist",
					     path);
			if (mkdir(cur, 0777) < 0 && errno != EEXIST)
				return failf(msg, -errno,
					     "cannot create directory '%s': %s",
					     tools_path_rel(root, cur),
					     strerror(errno));
		}
	}
	*out = steal_pointer(&cur);
	return 0;
}

int tools_shell_workdir(const char *root, const char *workdir, char **rel,
			char **msg)
{
	*rel = NULL;
	*msg = NULL;
	_cleanup_free_ char *abs = NULL;
	int r = tools_path_resolve(root, workdir, TOOLS_PATH_EXISTING, false,
				   &abs, msg);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*msg = monkey_strdup_printf("workdir '%s' is not a directory",
					    workdir);
		return *msg ? -ENOTDIR : -ENOMEM;
	}
	*rel = strdup(tools_path_rel(root, abs));
	return *rel ? 0 : -ENOMEM;
}
