/* Backend loader on libltdl.  Resolves only the backend asked for, refuses
 * anything that could be a planted or incompatible module, and copies the
 * descriptor so that fields a backend predates read as NULL/0. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <ltdl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loader.h"

static pthread_mutex_t ltdl_lock = PTHREAD_MUTEX_INITIALIZER;

char *monkey_strv_join(const struct monkey_strv *sv, const char *sep)
{
	size_t len = 1;
	for (size_t i = 0; i < sv->n; i++)
		len += strlen(sv->v[i]) + strlen(sep);
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			strcat(s, sep);
		strcat(s, sv->v[i]);
	}
	return s;
}

int monkey_backend_search_path(const char *backend_dir,
			       struct monkey_strv *dirs)
{
	int r;
	if (backend_dir && *backend_dir &&
	    (r = monkey_strv_push(dirs, backend_dir)) < 0)
		return r;
	const char *env = secure_getenv("MONKEY_BACKEND_PATH");
	if (env && *env) {
		_cleanup_free_ char *copy = strdup(env);
		if (!copy)
			return -ENOMEM;
		char *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d;
		     d = strtok_r(NULL, ":", &save))
			if (*d && (r = monkey_strv_push(dirs, d)) < 0)
				return r;
	}
	return monkey_strv_push(dirs, MONKEY_BACKEND_DIR);
}

int monkey_backend_check_name(const char *name, struct monkey_error *err)
{
	if (!name || !*name)
		return monkey_set_error(err, -EINVAL,
					"empty backend name: give one such as "
					"spawn, docker or none");
	if (strchr(name, '/') || strstr(name, ".."))
		return monkey_set_error(
		    err, -EINVAL,
		    "invalid backend name '%s': a name may not contain '/' "
		    "or '..'; put the module in a backend directory "
		    "(--backend-dir) and give its plain name",
		    name);
	if (name[0] == '.' || name[0] == '-')
		return monkey_set_error(err, -EINVAL,
					"invalid backend name '%s': a name may "
					"not start with '.' or '-'",
					name);
	return 0;
}

static bool is_file(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int monkey_backend_find(const char *name, const struct monkey_strv *dirs,
			char **path, struct monkey_error *err)
{
	static const char *const exts[] = {".so", ".la"};
	for (size_t i = 0; i < dirs->n; i++) {
		for (size_t e = 0; e < 2; e++) {
			char *p = monkey_strdup_printf("%s/%s%s", dirs->v[i],
						       name, exts[e]);
			if (!p)
				return monkey_set_error(err, -ENOMEM,
							"out of memory");
			if (is_file(p)) {
				*path = p;
				return 0;
			}
			free(p);
		}
	}
	return -ENOENT;
}

/* A module file must be a regular file that only its owner can write: a
 * group- or world-writable module is code anyone could replace. */
static int check_file(const char *name, const char *path,
		      struct monkey_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return monkey_set_error(err, -errno,
					"cannot inspect backend '%s' at %s: %s",
					name, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return monkey_set_error(
		    err, -EPERM,
		    "refusing backend '%s': %s is not a regular file "
		    "(symlinks, directories and devices are not loaded); "
		    "install the module file itself",
		    name, path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return monkey_set_error(
		    err, -EPERM,
		    "refusing backend '%s': %s is writable by %s; "
		    "run 'chmod go-w %s'",
		    name, path,
		    (st.st_mode & S_IWOTH) ? "everyone" : "its group", path);
	return 0;
}

/* For an uninstalled libtool module, the object that really gets mapped is
 * named by dlname= in the .la and lives in .libs/. */
static int check_la_object(const char *name, const char *la_path,
			   struct monkey_error *err)
{
	FILE *f = fopen(la_path, "re");
	if (!f)
		return 0; /* ltdl will report it */
	char line[512], dlname[256] = "";
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "dlname='%255[^']'", dlname) == 1)
			break;
	fclose(f);
	if (!dlname[0] || strchr(dlname, '/'))
		return 0;
	_cleanup_free_ char *dir = strdup(la_path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	_cleanup_free_ char *p1 =
	    monkey_strdup_printf("%s/.libs/%s", dir, dlname);
	_cleanup_free_ char *p2 = monkey_strdup_printf("%s/%s", dir, dlname);
	if (!p1 || !p2)
		return -ENOMEM;
	if (is_file(p1))
		return check_file(name, p1, err);
	if (is_file(p2))
		return check_file(name, p2, err);
	return 0;
}

static int ltdl_ref(struct monkey_error *err)
{
	pthread_mutex_lock(&ltdl_lock);
	int r = lt_dlinit();
	pthread_mutex_unlock(&ltdl_lock);
	if (r != 0)
		return monkey_set_error(
		    err, -EIO, "cannot initialise libltdl: %s", lt_dlerror());
	return 0;
}

static void ltdl_unref(void)
{
	pthread_mutex_lock(&ltdl_lock);
	lt_dlexit();
	pthread_mutex_unlock(&ltdl_lock);
}

#define REQUIRED_END                                                           \
	(offsetof(struct monkey_backend, fini) +                               \
	 sizeof(((struct monkey_backend *)0)->fini))

static int check_descriptor(const char *name, const char *path,
			    const struct monkey_backend *d,
			    struct monkey_error *err)
{
	if (!d)
		return monkey_set_error(err, -EINVAL,
					"refusing backend '%s' (%s): its entry "
					"point returned no descriptor",
					name, path);
	if (d->abi_major != MONKEY_BACKEND_ABI_MAJOR)
		return monkey_set_error(
		    err, -EPROTO,
		    "refusing backend '%s' (%s): it was built for backend "
		    "ABI %u.%u but this monkey speaks ABI %u.%u; rebuild "
		    "the backend against this monkey's <monkey/backend.h>",
		    name, path, d->abi_major, d->abi_minor,
		    MONKEY_BACKEND_ABI_MAJOR, MONKEY_BACKEND_ABI_MINOR);
	if (d->struct_size < REQUIRED_END)
		return monkey_set_error(
		    err, -EPROTO,
		    "refusing backend '%s' (%s): its descriptor is %u bytes, "
		    "smaller than the %zu bytes ABI %u requires; rebuild "
		    "it against <monkey/backend.h>",
		    name, path, d->struct_size, (size_t)REQUIRED_END,
		    MONKEY_BACKEND_ABI_MAJOR);
	const char *missing = !d->name	  ? "name"
			      : !d->init  ? "init"
			      : !d->probe ? "probe"
			      : !d->exec  ? "exec"
			      : !d->fini  ? "fini"
					  : NULL;
	if (missing)
		return monkey_set_error(err, -EPROTO,
					"refusing backend '%s' (%s): it is "
					"incomplete, its descriptor has no %s",
					name, path, missing);
	if (strcmp(d->name, name) != 0)
		return monkey_set_error(
		    err, -EPROTO,
		    "refusing backend '%s' (%s): the module calls itself "
		    "'%s'; a backend file must be named after its backend",
		    name, path, d->name);
	return 0;
}

int monkey_backend_load_path(const char *name, const char *path,
			     struct monkey_loaded_backend **out,
			     struct monkey_error *err)
{
	int r = check_file(name, path, err);
	if (r < 0)
		return r;
	size_t plen = strlen(path);
	if (plen > 3 && strcmp(path + plen - 3, ".la") == 0 &&
	    (r = check_la_object(name, path, err)) < 0)
		return r;
	if ((r = ltdl_ref(err)) < 0)
		return r;

	lt_dladvise advise;
	lt_dlhandle h = NULL;
	pthread_mutex_lock(&ltdl_lock);
	if (lt_dladvise_init(&advise) == 0) {
		lt_dladvise_local(&advise);
		/* path is absolute and carries its extension: libltdl does
		 * not search LTDL_LIBRARY_PATH or LD_LIBRARY_PATH for it. */
		h = lt_dlopenadvise(path, advise);
		lt_dladvise_destroy(&advise);
	}
	const char *dlerr = h ? NULL : lt_dlerror();
	pthread_mutex_unlock(&ltdl_lock);
	if (!h) {
		r = monkey_set_error(
		    err, -ENOEXEC, "cannot load backend '%s' from %s: %s", name,
		    path, dlerr ? dlerr : "unknown error");
		ltdl_unref();
		return r;
	}

	monkey_backend_entry_fn entry =
	    (monkey_backend_entry_fn)lt_dlsym(h, MONKEY_BACKEND_ENTRY_SYMBOL);
	if (!entry) {
		r = monkey_set_error(err, -EPROTO,
				     "refusing backend '%s' (%s): it does not "
				     "export the entry symbol %s, so it is not "
				     "a monkey backend",
				     name, path, MONKEY_BACKEND_ENTRY_SYMBOL);
		goto fail;
	}
	const struct monkey_backend *d = entry();
	if ((r = check_descriptor(name, path, d, err)) < 0)
		goto fail;

	struct monkey_loaded_backend *lb = calloc(1, sizeof(*lb));
	if (!lb || !(lb->path = strdup(path))) {
		free(lb);
		r = monkey_set_error(err, -ENOMEM, "out of memory");
		goto fail;
	}
	size_t n = d->struct_size < sizeof(lb->desc) ? d->struct_size
						     : sizeof(lb->desc);
	memcpy(&lb->desc, d, n);
	lb->handle = h;
	*out = lb;
	return 0;
fail:
	lt_dlclose(h);
	ltdl_unref();
	return r;
}

int monkey_backend_load(const char *name, const struct monkey_strv *dirs,
			struct monkey_loaded_backend **out,
			struct monkey_error *err)
{
	int r = monkey_backend_check_name(name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = NULL;
	r = monkey_backend_find(name, dirs, &path, err);
	if (r == -ENOENT) {
		struct monkey_strv names = {0}, paths = {0};
		monkey_backend_scan(dirs, &names, &paths);
		_cleanup_free_ char *where = monkey_strv_join(dirs, ", ");
		_cleanup_free_ char *have = monkey_strv_join(&names, ", ");
		monkey_set_error(
		    err, -ENOENT,
		    "backend '%s' is not installed (looked in %s); "
		    "available backends: %s",
		    name, where ? where : "?", have && *have ? have : "none");
		monkey_strv_free(&names);
		monkey_strv_free(&paths);
		return -ENOENT;
	}
	if (r < 0)
		return r;
	return monkey_backend_load_path(name, path, out, err);
}

void monkey_backend_unload(struct monkey_loaded_backend *lb)
{
	if (!lb)
		return;
	pthread_mutex_lock(&ltdl_lock);
	lt_dlclose(lb->handle);
	pthread_mutex_unlock(&ltdl_lock);
	ltdl_unref();
	free(lb->path);
	free(lb);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int monkey_backend_scan(const struct monkey_strv *dirs,
			struct monkey_strv *names, struct monkey_strv *paths)
{
	for (size_t i = 0; i < dirs->n; i++) {
		DIR *d = opendir(dirs->v[i]);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			size_t len = strlen(de->d_name);
			if (len < 4 || de->d_name[0] == '.')
				continue;
			const char *ext = de->d_name + len - 3;
			if (strcmp(ext, ".so") != 0 && strcmp(ext, ".la") != 0)
				continue;
			_cleanup_free_ char *name =
			    strndup(de->d_name, len - 3);
			if (!name)
				break;
			bool seen = false;
			for (size_t k = 0; k < names->n && !seen; k++)
				seen = strcmp(names->v[k], name) == 0;
			if (seen)
				continue;
			char *path = NULL;
			if (monkey_backend_find(name, dirs, &path, NULL) < 0)
				continue;
			monkey_strv_push(names, name);
			monkey_strv_push_owned(paths, path);
		}
		closedir(d);
	}
	/* Sort names and keep paths aligned. */
	for (size_t i = 1; i < names->n; i++)
		for (size_t j = i;
		     j > 0 && cmp_str(&names->v[j - 1], &names->v[j]) > 0;
		     j--) {
			char *t = names->v[j];
			names->v[j] = names->v[j - 1];
			names->v[j - 1] = t;
			t = paths->v[j];
			paths->v[j] = paths->v[j - 1];
			paths->v[j - 1] = t;
		}
	return 0;
}
