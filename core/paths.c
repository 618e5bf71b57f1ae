/* Path resolution for workspaces, working directories and mounts. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "paths.h"
#include "util.h"

bool monkey_path_within(const char *root, const char *p)
{
	size_t rl = strlen(root);
	if (rl == 1 && root[0] == '/')
		return p[0] == '/';
	return strncmp(root, p, rl) == 0 && (p[rl] == '\0' || p[rl] == '/');
}

int monkey_resolve_dir_inside(const char *root, const char *base,
			      const char *path, const char *what, char **out,
			      struct monkey_error *err)
{
	_cleanup_free_ char *joined = NULL;
	if (path[0] != '/' && base) {
		joined = monkey_strdup_printf("%s/%s", base, path);
		if (!joined)
			return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	const char *p = joined ? joined : path;
	_cleanup_free_ char *real = realpath(p, NULL);
	if (!real)
		return monkey_set_error(err, -errno,
					"%s %s: %s; give an existing directory "
					"inside the workspace %s",
					what, path, strerror(errno), root);
	struct stat st;
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return monkey_set_error(err, -ENOTDIR, "%s %s: not a directory",
					what, path);
	if (!monkey_path_within(root, real))
		return monkey_set_error(
		    err, -EPERM,
		    "%s %s resolves to %s, outside the workspace %s; "
		    "commands may only run inside the workspace (choose "
		    "another directory or another --workspace)",
		    what, path, real, root);
	*out = steal_pointer(&real);
	return 0;
}

int monkey_parse_mount(const char *spec, struct monkey_mount *m,
		       struct monkey_error *err)
{
	memset(m, 0, sizeof(*m));
	_cleanup_free_ char *copy = strdup(spec);
	if (!copy)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	char *src = copy, *dst = strchr(copy, ':');
	if (!dst || dst == src || !dst[1])
		return monkey_set_error(
		    err, -EINVAL,
		    "--mount '%s': expected SRC:DST[:ro|rw], "
		    "e.g. --mount ./data:/data:ro",
		    spec);
	*dst++ = '\0';
	char *mode = strchr(dst, ':');
	int ro = 0;
	if (mode) {
		*mode++ = '\0';
		if (strcmp(mode, "ro") == 0)
			ro = 1;
		else if (strcmp(mode, "rw") != 0)
			return monkey_set_error(
			    err, -EINVAL,
			    "--mount '%s': mode '%s' is neither ro nor rw",
			    spec, mode);
	}
	if (dst[0] != '/' || strstr(dst, "/..") || strcmp(dst, "/") == 0)
		return monkey_set_error(
		    err, -EINVAL,
		    "--mount '%s': target '%s' must be an "
		    "absolute path other than / without '..'",
		    spec, dst);
	char *real = realpath(src, NULL);
	if (!real)
		return monkey_set_error(err, -errno,
					"--mount '%s': source %s: %s", spec,
					src, strerror(errno));
	m->source = real;
	m->target = strdup(dst);
	m->read_only = ro;
	if (!m->target) {
		free(real);
		m->source = NULL;
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	return 0;
}
