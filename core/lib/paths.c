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

/* dst collapsed into t ("//" and "/./" dropped, no trailing "/"); false
 * when it holds "..". */
static bool collapse(const char *dst, char *t)
{
	char *o = t;
	for (const char *p = dst; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.')) {
			p += n;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		*o++ = '/';
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return true;
}

/* A container path made canonical without the file system: "//" and "/./"
 * collapsed, no trailing "/".  Refuses "..", relative paths and "/". */
static int clean_target(const char *spec, const char *dst, char **out,
			struct monkey_error *err)
{
	_cleanup_free_ char *t = NULL;
	if (dst[0] == '/') {
		if (!(t = malloc(strlen(dst) + 1)))
			return monkey_set_error(err, -ENOMEM, "out of memory");
		if (collapse(dst, t) && t[0]) {
			*out = steal_pointer(&t);
			return 0;
		}
	}
	return monkey_set_error(err, -EINVAL,
				"--mount '%s': target '%s' must be an "
				"absolute path other than / without '..'",
				spec, dst);
}

/* One field of "type=bind,src=...,dst=...,ro": a "key=value" or a bare
 * flag; double quotes (as in docker's --mount) let a value hold commas.
 * Advances *p past the field and its comma; returns the field (in place). */
static char *next_field(char **p)
{
	char *start = *p, *w = *p, *r = *p;
	bool quoted = false;
	for (; *r && (quoted || *r != ','); r++) {
		if (*r == '"')
			quoted = !quoted;
		else
			*w++ = *r;
	}
	*p = *r ? r + 1 : r;
	*w = '\0';
	return start;
}

static bool key_is(const char *k, size_t kl, const char *a, const char *b)
{
	return (strlen(a) == kl && !strncmp(k, a, kl)) ||
	       (b && strlen(b) == kl && !strncmp(k, b, kl));
}

/* "type=bind,src=S,dst=D[,ro|readonly|rw]" (source/target/destination are
 * accepted too). */
static int parse_keyed(const char *spec, char *copy, char **src, char **dst,
		       int *ro, struct monkey_error *err)
{
	for (char *p = copy; *p;) {
		char *f = next_field(&p);
		char *eq = strchr(f, '=');
		size_t kl = eq ? (size_t)(eq - f) : strlen(f);
		const char *v = eq ? eq + 1 : NULL;
		if (key_is(f, kl, "type", NULL) && v) {
			if (strcmp(v, "bind"))
				return monkey_set_error(
				    err, -EINVAL,
				    "--mount '%s': type '%s' is not supported "
				    "(only bind mounts are)",
				    spec, v);
		} else if (key_is(f, kl, "src", "source") && v) {
			*src = (char *)v;
		} else if ((key_is(f, kl, "dst", "target") ||
			    key_is(f, kl, "destination", NULL)) &&
			   v) {
			*dst = (char *)v;
		} else if (key_is(f, kl, "ro", "readonly")) {
			if (v && strcmp(v, "true") && strcmp(v, "1") &&
			    strcmp(v, "false") && strcmp(v, "0"))
				return monkey_set_error(
				    err, -EINVAL,
				    "--mount '%s': %.*s=%s: expected true or "
				    "false",
				    spec, (int)kl, f, v);
			*ro = !v || !strcmp(v, "true") || !strcmp(v, "1");
		} else if (key_is(f, kl, "rw", NULL) && !v) {
			*ro = 0;
		} else {
			return monkey_set_error(
			    err, -EINVAL,
			    "--mount '%s': unknown field '%s'; expected "
			    "type=bind,src=PATH,dst=PATH[,ro]",
			    spec, f);
		}
	}
	if (!*src || !**src || !*dst || !**dst)
		return monkey_set_error(
		    err, -EINVAL,
		    "--mount '%s': give both src= and dst=, "
		    "e.g. --mount type=bind,src=./data,"
		    "dst=/data,ro",
		    spec);
	return 0;
}

/* "SRC:DST[:ro|rw]". */
static int parse_colon(const char *spec, char *copy, char **src, char **dst,
		       int *ro, struct monkey_error *err)
{
	*src = copy;
	*dst = strchr(copy, ':');
	if (!*dst || *dst == *src || !(*dst)[1])
		return monkey_set_error(
		    err, -EINVAL,
		    "--mount '%s': expected SRC:DST[:ro|rw] or "
		    "type=bind,src=SRC,dst=DST[,ro] (for a source that holds "
		    "':'), e.g. --mount ./data:/data:ro",
		    spec);
	*(*dst)++ = '\0';
	char *mode = strchr(*dst, ':');
	if (mode) {
		*mode++ = '\0';
		if (strcmp(mode, "ro") == 0)
			*ro = 1;
		else if (strcmp(mode, "rw") != 0)
			return monkey_set_error(
			    err, -EINVAL,
			    "--mount '%s': mode '%s' is neither ro nor rw",
			    spec, mode);
	}
	return 0;
}

/* The key=value form starts with one of its keys. */
static bool is_keyed(const char *spec)
{
	static const char *const keys[] = {
	    "type=",	    "src=",    "source=", "dst=",
	    "destination=", "target=", NULL};
	for (size_t i = 0; keys[i]; i++)
		if (!strncmp(spec, keys[i], strlen(keys[i])))
			return true;
	return false;
}

int monkey_parse_mount(const char *spec, struct monkey_mount *m,
		       struct monkey_error *err)
{
	memset(m, 0, sizeof(*m));
	_cleanup_free_ char *copy = strdup(spec);
	if (!copy)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	char *src = NULL, *dst = NULL;
	int ro = 0;
	int r = is_keyed(spec) ? parse_keyed(spec, copy, &src, &dst, &ro, err)
			       : parse_colon(spec, copy, &src, &dst, &ro, err);
	if (r < 0)
		return r;
	char *target = NULL;
	if ((r = clean_target(spec, dst, &target, err)) < 0)
		return r;
	char *real = realpath(src, NULL);
	if (!real) {
		r = monkey_set_error(err, -errno, "--mount '%s': source %s: %s",
				     spec, src, strerror(errno));
		free(target);
		return r;
	}
	m->source = real;
	m->target = target;
	m->read_only = ro;
	return 0;
}

int monkey_check_mounts(const char *workspace, const struct monkey_mount *m,
			size_t n, const char *const *specs,
			struct monkey_error *err)
{
	for (size_t i = 0; i < n; i++) {
		/* The workspace has the same path inside a sandbox as on the
		 * host: a mount there would hide part of it (and an engine
		 * creates its mount point in the host's workspace). */
		if (monkey_path_within(workspace, m[i].target))
			return monkey_set_error(
			    err, -EINVAL,
			    "--mount '%s': target %s is inside the workspace "
			    "%s and would hide part of it; mount it elsewhere "
			    "(e.g. under /mnt) or put the files in the "
			    "workspace",
			    specs[i], m[i].target, workspace);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m[i].target, m[j].target))
				return monkey_set_error(
				    err, -EINVAL,
				    "--mount '%s': target %s is already the "
				    "target of --mount '%s'; give each mount "
				    "its own target",
				    specs[i], m[i].target, specs[j]);
	}
	return 0;
}
