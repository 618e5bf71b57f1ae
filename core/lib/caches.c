/* Dependency caches (caches.h): a name is one path component, and the
 * directories are reached from the user's cache base without following a
 * symbolic link, as the transcripts' are, so that nothing a sandbox can
 * write redirects them. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caches.h"
#include "util.h"

static const struct monkey_cache_preset presets[] = {
    {"pip", "/monkey-cache/pip", {"PIP_CACHE_DIR", NULL}, {"", NULL}},
    {"npm", "/monkey-cache/npm", {"npm_config_cache", NULL}, {"", NULL}},
    {"cargo", "/monkey-cache/cargo", {"CARGO_HOME", NULL}, {"", NULL}},
    {"go", "/monkey-cache/go", {"GOMODCACHE", "GOCACHE"}, {"mod", "build"}},
};

bool monkey_cache_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > MONKEY_CACHE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return !strstr(name, "..");
}

int monkey_cache_parse(const char *spec, struct monkey_cache_spec *out,
		       struct monkey_error *err)
{
	memset(out, 0, sizeof(*out));
	if (spec[0] == '@') {
		for (size_t i = 0; i < sizeof(presets) / sizeof(*presets); i++)
			if (!strcmp(spec + 1, presets[i].name)) {
				out->preset = &presets[i];
				snprintf(out->name, sizeof(out->name), "%s",
					 presets[i].name);
				out->target = strdup(presets[i].target);
				return out->target
					   ? 0
					   : monkey_set_error(err, -ENOMEM,
							      "out of memory");
			}
		return monkey_set_error(err, -EINVAL,
					"--cache %s: no such preset; the "
					"presets are @pip, @npm, @cargo, @go",
					spec);
	}
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : 0;
	if (!colon || n > MONKEY_CACHE_NAME_MAX || colon[1] != '/')
		return monkey_set_error(err, -EINVAL,
					"--cache %s: expected NAME:DST with "
					"an absolute DST, or a preset (@pip, "
					"@npm, @cargo, @go)",
					spec);
	memcpy(out->name, spec, n);
	out->name[n] = '\0';
	if (!monkey_cache_name_ok(out->name))
		return monkey_set_error(
		    err, -EINVAL,
		    "--cache %s: the name must be letters, digits, '_', '.' "
		    "and '-' (no '/', no '..'), starting with a letter or "
		    "digit",
		    spec);
	if (strstr(colon + 1, "/../") || !strcmp(colon + 1, "/..") ||
	    (strlen(colon + 1) > 3 &&
	     !strcmp(colon + 1 + strlen(colon + 1) - 3, "/..")))
		return monkey_set_error(err, -EINVAL,
					"--cache %s: DST must not contain '..'",
					spec);
	out->target = strdup(colon + 1);
	return out->target ? 0
			   : monkey_set_error(err, -ENOMEM, "out of memory");
}

/* Below the base: ours, 0700, never a link. */
static int open_below(int parent, const char *path, const char *name,
		      bool create, struct monkey_error *err)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(parent, name, flags);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
			return monkey_set_error(err, -errno,
						"cannot create %s: %s", path,
						strerror(errno));
		fd = openat(parent, name, flags);
	}
	if (fd < 0)
		return monkey_set_error(
		    err, -errno, "cannot open %s: %s%s", path, strerror(errno),
		    errno == ELOOP || errno == ENOTDIR
			? " (monkey follows no symbolic link where it keeps "
			  "caches: remove it)"
			: "");
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		close(fd);
		return monkey_set_error(err, -EPERM,
					"%s must be yours and writable by "
					"nobody else",
					path);
	}
	return fd;
}

static const char *home_dir(char *buf, size_t len)
{
	const char *h = secure_getenv("HOME");
	if (h && h[0] == '/')
		return h;
	struct passwd pw, *res = NULL;
	if (getpwuid_r(geteuid(), &pw, buf, len, &res) == 0 && res &&
	    res->pw_dir && res->pw_dir[0] == '/')
		return res->pw_dir;
	return NULL;
}

int monkey_cache_root(bool create, char **path, struct monkey_error *err)
{
	char pwbuf[4096];
	const char *xdg = secure_getenv("XDG_CACHE_HOME");
	const char *home = home_dir(pwbuf, sizeof(pwbuf));
	bool use_xdg = xdg && xdg[0] == '/';
	if (!use_xdg && !home)
		return monkey_set_error(err, -ENOENT,
					"neither XDG_CACHE_HOME nor HOME is "
					"an absolute path: nowhere to keep "
					"caches");
	const char *base = use_xdg ? xdg : home;
	static const char *const xdg_below[] = {"monkey", "caches", NULL};
	static const char *const home_below[] = {".cache", "monkey", "caches",
						 NULL};
	int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create && mkdir(base, 0700) == 0)
		fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return monkey_set_error(err, -errno, "cannot open %s: %s", base,
					strerror(errno));
	char *p = strdup(base);
	for (const char *const *c = use_xdg ? xdg_below : home_below;
	     fd >= 0 && p && *c; c++) {
		char *np = monkey_strdup_printf("%s/%s", p, *c);
		free(p);
		p = np;
		int sub = p ? open_below(fd, p, *c, create, err) : -ENOMEM;
		close(fd);
		fd = sub;
	}
	if (fd >= 0 && !p) {
		close(fd);
		fd = monkey_set_error(err, -ENOMEM, "out of memory");
	}
	if (fd < 0) {
		free(p);
		return fd;
	}
	*path = p;
	return fd;
}

int monkey_cache_dir(int root, const char *root_path, const char *name,
		     char **path, struct monkey_error *err)
{
	if (!monkey_cache_name_ok(name))
		return monkey_set_error(err, -EINVAL, "bad cache name '%s'",
					name);
	char *p = monkey_strdup_printf("%s/%s", root_path, name);
	if (!p)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	int fd = open_below(root, p, name, true, err);
	if (fd < 0) {
		free(p);
		return fd;
	}
	*path = p;
	return fd;
}

/* a is b or lies below it. */
static bool below_or_same(const char *a, const char *b)
{
	size_t n = strlen(b);
	while (n > 1 && b[n - 1] == '/')
		n--;
	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

/* A cache is never the workspace: not at it, in it, or around it. */
static int check_not_workspace(const char *what, const char *path,
			       const char *ws, struct monkey_error *err)
{
	if (below_or_same(path, ws) || below_or_same(ws, path))
		return monkey_set_error(
		    err, -EINVAL,
		    "--cache: %s %s overlaps the workspace %s; a cache is "
		    "never the workspace (pick another DST, or "
		    "XDG_CACHE_HOME outside it)",
		    what, path, ws);
	return 0;
}

/* The variables of a preset, with their values below base. */
static int add_env(struct monkey_cache_plan *p,
		   const struct monkey_cache_spec *s, const char *base,
		   bool on_host)
{
	for (int i = 0; s->preset && i < 2 && s->preset->var[i]; i++) {
		const char *sub = s->preset->sub[i];
		char *e = monkey_strdup_printf("%s=%s%s%s", s->preset->var[i],
					       base, *sub ? "/" : "", sub);
		if (!e || monkey_strv_push_owned(&p->env, e) < 0)
			return -ENOMEM;
	}
	if (s->preset || !on_host)
		return 0;
	/* A named cache on the host: its directory in MONKEY_CACHE_<NAME>. */
	char var[MONKEY_CACHE_NAME_MAX + 16] = "MONKEY_CACHE_";
	size_t k = strlen(var);
	for (const char *c = s->name; *c; c++)
		var[k++] = (*c >= 'a' && *c <= 'z')   ? (char)(*c - 32)
			   : (*c == '.' || *c == '-') ? '_'
						      : *c;
	var[k] = '\0';
	char *e = monkey_strdup_printf("%s=%s", var, base);
	if (!e || monkey_strv_push_owned(&p->env, e) < 0)
		return -ENOMEM;
	size_t used = strlen(p->note);
	snprintf(p->note + used, sizeof(p->note) - used,
		 "%scache %s is not at %s (this backend runs commands on the "
		 "host): its directory is in $%s",
		 used ? "; " : "", s->name, s->target, var);
	return 0;
}

/* One cache backed by a host directory. */
static int plan_dir(struct monkey_cache_plan *p,
		    const struct monkey_cache_spec *s, uint32_t caps, int root,
		    const char *root_path, struct monkey_error *err)
{
	char *dir = NULL;
	int fd = monkey_cache_dir(root, root_path, s->name, &dir, err);
	if (fd < 0)
		return fd;
	futimens(fd, NULL); /* its last use */
	for (int i = 0; s->preset && i < 2 && s->preset->var[i]; i++)
		if (*s->preset->sub[i])
			mkdirat(fd, s->preset->sub[i], 0700);
	close(fd);
	int r = 0;
	if (caps & MONKEY_CAP_MOUNTS) {
		struct monkey_mount *m = &p->mounts[p->n_mounts++];
		m->source = dir;
		m->target = strdup(s->target);
		m->read_only = 0;
		dir = NULL;
		r = m->target && add_env(p, s, s->target, false) == 0 ? 0
								      : -ENOMEM;
	} else if (r == 0) {
		r = add_env(p, s, dir, true) == 0 ? 0 : -ENOMEM;
	}
	free(dir);
	if (r == -ENOMEM)
		monkey_set_error(err, r, "out of memory");
	return r;
}

/* The caches' directory, which must not overlap the workspace (as it
 * resolves: XDG_CACHE_HOME may be a link), before any cache is made in
 * it. */
static int open_root(const char *ws, char **path, struct monkey_error *err)
{
	int root = monkey_cache_root(true, path, err);
	if (root < 0)
		return root;
	char *real = realpath(*path, NULL);
	int r = check_not_workspace("directory", real ? real : *path, ws, err);
	free(real);
	if (r < 0) {
		close(root);
		free(*path);
		*path = NULL;
		return r;
	}
	return root;
}

int monkey_cache_plan_make(const char *const *specs, size_t n, uint32_t caps,
			   const char *workspace, struct monkey_cache_plan *p,
			   struct monkey_error *err)
{
	memset(p, 0, sizeof(*p));
	if (!n)
		return 0;
	p->volumes = calloc(n, sizeof(*p->volumes));
	p->mounts = calloc(n, sizeof(*p->mounts));
	if (!p->volumes || !p->mounts)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	_cleanup_free_ char *root_path = NULL;
	_cleanup_close_ int root = -1;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct monkey_cache_spec s;
		r = monkey_cache_parse(specs[i], &s, err);
		if (r == 0)
			r = check_not_workspace("DST", s.target, workspace,
						err);
		if (r == 0 && (caps & MONKEY_CAP_CACHE_VOLUMES)) {
			struct monkey_cache_mount *v =
			    &p->volumes[p->n_volumes++];
			v->name = strdup(s.name);
			v->target = s.target;
			s.target = NULL;
			r = v->name && add_env(p, &s, v->target, false) == 0
				? 0
				: monkey_set_error(err, -ENOMEM,
						   "out of memory");
		} else if (r == 0) {
			if (root < 0)
				root = open_root(workspace, &root_path, err);
			r = root < 0
				? root
				: plan_dir(p, &s, caps, root, root_path, err);
		}
		free(s.target);
	}
	return r;
}

void monkey_cache_plan_free(struct monkey_cache_plan *p)
{
	for (size_t i = 0; i < p->n_volumes; i++) {
		free((char *)p->volumes[i].name);
		free((char *)p->volumes[i].target);
	}
	for (size_t i = 0; i < p->n_mounts; i++) {
		free((char *)p->mounts[i].source);
		free((char *)p->mounts[i].target);
	}
	free(p->volumes);
	free(p->mounts);
	monkey_strv_free(&p->env);
	memset(p, 0, sizeof(*p));
}

/* Bytes below dir (a descriptor it takes), links not followed. */
static int64_t tree_size(int dir)
{
	DIR *d = fdopendir(dir);
	if (!d) {
		close(dir);
		return 0;
	}
	int64_t total = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		total += (int64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
			if (sub >= 0)
				total += tree_size(sub);
		}
	}
	closedir(d);
	return total;
}

int monkey_cache_dirs_list(monkey_cache_list_fn each, void *ctx,
			   struct monkey_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct monkey_error e = {0};
	int root = monkey_cache_root(false, &path, &e);
	if (root == -ENOENT)
		return 0; /* no cache yet */
	if (root < 0) {
		if (err)
			*err = e;
		return root;
	}
	DIR *d = fdopendir(root);
	if (!d) {
		close(root);
		return monkey_set_error(err, -errno, "cannot read %s: %s", path,
					strerror(errno));
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!monkey_cache_name_ok(de->d_name))
			continue;
		int fd =
		    openat(dirfd(d), de->d_name,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		each(ctx, "directory", de->d_name, tree_size(fd),
		     (int64_t)st.st_mtime);
	}
	closedir(d);
	return 0;
}

/* Remove everything below dir (a descriptor it keeps), links not
 * followed. */
static int remove_below(int dir)
{
	int dup_fd = dup(dir);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	int r = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			continue;
		int sub =
		    openat(dirfd(d), e->d_name,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			r = -errno;
			continue;
		}
		/* A directory the cache's tool left read-only. */
		fchmod(sub, 0700);
		int s = remove_below(sub);
		close(sub);
		if (s < 0 || unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
			r = s < 0 ? s : -errno;
	}
	closedir(d);
	return r;
}

int monkey_cache_dir_remove(const char *name, struct monkey_error *err)
{
	if (!monkey_cache_name_ok(name))
		return monkey_set_error(err, -EINVAL,
					"'%s' is not a cache name", name);
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int root = monkey_cache_root(false, &path, err);
	if (root < 0)
		return root;
	_cleanup_close_ int fd =
	    openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return monkey_set_error(err, errno == ENOENT ? -ENOENT : -errno,
					"no cache directory %s/%s", path, name);
	int r = remove_below(fd);
	if (r == 0 && unlinkat(root, name, AT_REMOVEDIR) < 0)
		r = -errno;
	if (r < 0)
		return monkey_set_error(err, r, "cannot remove %s/%s: %s", path,
					name, strerror(-r));
	return 0;
}
