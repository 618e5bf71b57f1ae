/* Backend loader on libltdl.  Resolves only the backend asked for, refuses
 * anything that could be a planted or incompatible module, loads exactly the
 * file it checked, and copies the descriptor so that fields a backend
 * predates read as NULL/0. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <ltdl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "error_wrap.h"
#include "loader.h"

static pthread_mutex_t ltdl_lock = PTHREAD_MUTEX_INITIALIZER;

void (*monkey_loader_checked_hook)(const char *path);

/* The working directory is usually the workspace, which commands can
 * write: a relative backend directory would load what they planted. */
static int check_absolute(const char *dir, const char *from,
			  struct monkey_error *err)
{
	if (dir[0] == '/')
		return 0;
	return monkey_set_error(
	    err, -EINVAL,
	    "backend directory '%s' (%s) is not an absolute path; give it "
	    "from the root (a relative one would resolve in the current "
	    "directory, usually the workspace, which commands can write)",
	    dir, from);
}

int monkey_backend_search_path(const char *backend_dir,
			       struct monkey_strv *dirs,
			       struct monkey_error *err)
{
	int r;
	if (backend_dir && *backend_dir) {
		if ((r = check_absolute(backend_dir, "--backend-dir", err)) < 0)
			return r;
		if ((r = monkey_strv_push(dirs, backend_dir)) < 0)
			return monkey_set_error(err, r, "out of memory");
	}
	const char *env = secure_getenv("MONKEY_BACKEND_PATH");
	if (env && *env) {
		_cleanup_free_ char *copy = strdup(env);
		if (!copy)
			return monkey_set_error(err, -ENOMEM, "out of memory");
		char *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d;
		     d = strtok_r(NULL, ":", &save)) {
			r = check_absolute(d, "an entry of MONKEY_BACKEND_PATH",
					   err);
			if (r < 0)
				return r;
			if ((r = monkey_strv_push(dirs, d)) < 0)
				return monkey_set_error(err, r,
							"out of memory");
		}
	}
	/* Test suites set it so that a monkey installed in the configured
	 * prefix cannot stand in for a backend the build left out. */
	const char *only = secure_getenv("MONKEY_BACKEND_PATH_ONLY");
	if (only && *only && strcmp(only, "0") && strcmp(only, "1"))
		return monkey_set_error(err, -EINVAL,
					"MONKEY_BACKEND_PATH_ONLY='%s' is "
					"neither 1 (search --backend-dir and "
					"MONKEY_BACKEND_PATH only) nor 0",
					only);
	if (only && !strcmp(only, "1"))
		return 0;
	if ((r = monkey_strv_push(dirs, MONKEY_BACKEND_DIR)) < 0)
		return monkey_set_error(err, r, "out of memory");
	return 0;
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

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int monkey_backend_find(const char *name, const struct monkey_strv *dirs,
			char **path, struct monkey_error *err)
{
	/* NAME.so only: a libtool .la names its object in another place
	 * (libdir=, dlname=), and that place was never checked. */
	for (size_t i = 0; i < dirs->n; i++) {
		char *p = monkey_strdup_printf("%s/%s.so", dirs->v[i], name);
		if (!p)
			return monkey_set_error(err, -ENOMEM, "out of memory");
		if (exists(p)) {
			*path = p;
			return 0;
		}
		free(p);
	}
	return -ENOENT;
}

static int not_regular(const char *path, struct monkey_error *err)
{
	return monkey_set_error(
	    err, -EPERM,
	    "%s is not a regular file (symlinks, directories and devices are "
	    "not loaded); install the module file itself",
	    path);
}

static const char *writers(mode_t mode)
{
	return (mode & S_IWOTH) ? "everyone" : "its group";
}

/* Whoever can write the directory can replace the module, unless it is
 * sticky and root's (like /tmp: only a file's owner may rename it). */
static int dir_refusal(const char *dir, const struct stat *st,
		       struct monkey_error *err)
{
	if (!(st->st_mode & (S_IWGRP | S_IWOTH)) ||
	    ((st->st_mode & S_ISVTX) && st->st_uid == 0))
		return 0;
	return monkey_set_error(err, -EPERM,
				"its directory %s is writable by %s, who could "
				"replace the module; run 'chmod go-w %s'",
				dir, writers(st->st_mode), dir);
}

/* A module file must be a regular file, owned by root or by us, that only
 * its owner can write: anything else is code someone else could replace. */
static int file_refusal(const char *path, const struct stat *st,
			struct monkey_error *err)
{
	if (!S_ISREG(st->st_mode))
		return not_regular(path, err);
	/* The effective user: a set-user-ID monkey must not run code that
	 * the invoking user owns. */
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return monkey_set_error(
		    err, -EPERM,
		    "%s belongs to uid %u, neither root nor you (uid %u); "
		    "install it as root or as yourself",
		    path, (unsigned)st->st_uid, (unsigned)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return monkey_set_error(err, -EPERM,
					"%s is writable by %s; run 'chmod go-w "
					"%s'",
					path, writers(st->st_mode), path);
	return 0;
}

/* A refusal (the module may not be loaded), said once for all of them. */
static int refuse(struct monkey_error *err, int r, const char *name)
{
	return monkey_error_wrap(err, r, "refusing backend '%s'", name);
}

/* Open base in the directory open on dfd and check the directory and the
 * file that was opened, not whatever the names lead to later. */
static int open_checked(const char *name, const char *path, const char *dir,
			int dfd, const char *base, int *fd,
			struct monkey_error *err)
{
	struct stat st;
	int r;
	if (fstat(dfd, &st) < 0)
		return monkey_set_error(err, -errno,
					"cannot inspect backend directory "
					"%s: %s",
					dir, strerror(errno));
	if ((r = dir_refusal(dir, &st, err)) < 0)
		return refuse(err, r, name);
	/* Not even opened when it is no regular file: opening a FIFO would
	 * block, a device may act on being opened. */
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISREG(st.st_mode))
		return refuse(err, not_regular(path, err), name);
	_cleanup_close_ int f =
	    openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (f < 0 && errno == ELOOP) /* swapped for a link */
		return refuse(err, not_regular(path, err), name);
	if (f < 0)
		return monkey_set_error(err, -errno,
					"cannot open backend '%s' at %s: %s",
					name, path, strerror(errno));
	if (fstat(f, &st) < 0)
		return monkey_set_error(err, -errno,
					"cannot inspect backend '%s' at %s: %s",
					name, path, strerror(errno));
	if ((r = file_refusal(path, &st, err)) < 0)
		return refuse(err, r, name);
	*fd = steal_fd(&f);
	return 0;
}

/* The absolute path of base in the directory open on dfd, with every
 * symlink of the directory resolved (caller frees). */
static int real_path(const char *dir, int dfd, const char *base, char **real,
		     struct monkey_error *err)
{
	char link[64], rdir[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	ssize_t n = readlink(link, rdir, sizeof(rdir) - 1);
	if (n <= 0)
		return monkey_set_error(err, -EIO,
					"cannot tell where backend directory "
					"%s is (is /proc mounted?): %s",
					dir, strerror(errno));
	rdir[n] = '\0';
	*real =
	    monkey_strdup_printf("%s/%s", strcmp(rdir, "/") ? rdir : "", base);
	if (!*real)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	return 0;
}

/* Open the module at path for loading, checked (open_checked).  On success
 * *fd is the open file and *real its real path (real_path). */
static int open_module(const char *name, const char *path, int *fd, char **real,
		       struct monkey_error *err)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return monkey_set_error(err, -EINVAL,
					"backend '%s': %s is not a file in a "
					"backend directory",
					name, path);
	*slash = '\0';
	const char *base = slash + 1;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return monkey_set_error(err, -errno,
					"cannot open backend directory %s: %s",
					dir, strerror(errno));
	_cleanup_close_ int f = -1;
	int r = open_checked(name, path, dir, dfd, base, &f, err);
	if (r < 0 || (r = real_path(dir, dfd, base, real, err)) < 0)
		return r;
	*fd = steal_fd(&f);
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

/* What the module's entry point returns, checked: a descriptor of this
 * ABI, large and complete enough, naming the backend it was asked for. */
static int check_descriptor(const char *name, const struct monkey_backend *d,
			    struct monkey_error *err)
{
	if (!d)
		return monkey_set_error(
		    err, -EINVAL, "its entry point returned no descriptor");
	if (d->abi_major != MONKEY_BACKEND_ABI_MAJOR)
		return monkey_set_error(
		    err, -EPROTO,
		    "it was built for backend ABI %u.%u but this monkey speaks "
		    "ABI %u.%u; rebuild the backend against this monkey's "
		    "<monkey/backend.h>",
		    d->abi_major, d->abi_minor, MONKEY_BACKEND_ABI_MAJOR,
		    MONKEY_BACKEND_ABI_MINOR);
	if (d->struct_size < REQUIRED_END)
		return monkey_set_error(
		    err, -EPROTO,
		    "its descriptor is %u bytes, smaller than the %zu bytes "
		    "ABI %u requires; rebuild it against <monkey/backend.h>",
		    d->struct_size, (size_t)REQUIRED_END,
		    MONKEY_BACKEND_ABI_MAJOR);
	const char *missing = !d->name	  ? "name"
			      : !d->init  ? "init"
			      : !d->probe ? "probe"
			      : !d->exec  ? "exec"
			      : !d->fini  ? "fini"
					  : NULL;
	if (missing)
		return monkey_set_error(
		    err, -EPROTO, "it is incomplete, its descriptor has no %s",
		    missing);
	if (strcmp(d->name, name) != 0)
		return monkey_set_error(
		    err, -EPROTO,
		    "the module calls itself '%s'; a backend file must be "
		    "named after its backend",
		    d->name);
	return 0;
}

/* The descriptor of the module loaded as h, checked. */
static int entry_descriptor(const char *name, lt_dlhandle h,
			    const struct monkey_backend **d,
			    struct monkey_error *err)
{
	monkey_backend_entry_fn entry =
	    (monkey_backend_entry_fn)lt_dlsym(h, MONKEY_BACKEND_ENTRY_SYMBOL);
	if (!entry)
		return monkey_set_error(
		    err, -EPROTO,
		    "it does not export the entry symbol %s, so it is not a "
		    "monkey backend",
		    MONKEY_BACKEND_ENTRY_SYMBOL);
	*d = entry();
	return check_descriptor(name, *d, err);
}

/* Most descriptor numbers tried for a name no loaded object has. */
#define FREE_NAME_TRIES 64
/* Where the search jumps to after the first taken name: low numbers are
 * the ones reused most, so taken names crowd there. */
#define FREE_NAME_START 100

/* True when the mapping that holds addr is of the file open on fd (same
 * device and inode in /proc/self/maps). */
static bool mapped_from(const void *addr, int fd)
{
	struct stat st;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f || fstat(fd, &st) < 0) {
		if (f)
			fclose(f);
		return false;
	}
	char line[512];
	bool same = false;
	uintptr_t a = (uintptr_t)addr;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, maj, min;
		unsigned long long ino;
		if (sscanf(line, "%lx-%lx %*s %*s %lx:%lx %llu", &lo, &hi, &maj,
			   &min, &ino) != 5 ||
		    a < lo || a >= hi)
			continue;
		same = maj == major(st.st_dev) && min == minor(st.st_dev) &&
		       ino == (unsigned long long)st.st_ino;
		break;
	}
	fclose(f);
	return same;
}

/* True when a loaded object answers to "/proc/self/fd/<fd>" and it is not
 * the file open on fd (an object of the same file is the right one). */
static bool fd_name_taken(int fd)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	void *h = dlopen(p, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return false;
	struct link_map *lm = NULL;
	bool other = dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm ||
		     !mapped_from(lm->l_ld, fd);
	dlclose(h);
	return other;
}

/* The dynamic loader hands back an already loaded object one of whose
 * names equals the one asked for.  A module loaded earlier through
 * "/proc/self/fd/N" keeps that name as long as it stays mapped (a module
 * that cannot be unloaded, or a file the program also loaded by its path,
 * which then gets the name as an alias), and a new module opened on the
 * same N would be taken for it.  Move *fd to a number whose name no loaded
 * object has. */
static int free_fd_name(int *fd, struct monkey_error *err)
{
	int cur = *fd, start = FREE_NAME_START;
	for (int i = 0; fd_name_taken(cur); i++) {
		int next = i < FREE_NAME_TRIES
			       ? fcntl(*fd, F_DUPFD_CLOEXEC,
				       start > *fd ? start : *fd + 1)
			       : -1;
		if (cur != *fd)
			close(cur);
		if (next < 0)
			return monkey_set_error(
			    err, -EMFILE,
			    "cannot find a descriptor whose name no loaded "
			    "module has (%d tried)",
			    i + 1);
		cur = next;
		start = next + 1;
	}
	if (cur != *fd) {
		close(*fd);
		*fd = cur;
	}
	return 0;
}

/* dlopen the file open on *fd through /proc/self/fd: the name cannot lead
 * anywhere else.  *fd must stay open while the module is loaded, so that no
 * other module gets that name (libltdl and the dynamic loader both return
 * an already loaded object of the same name); it may move to another
 * number first (free_fd_name). */
static int dl_load(const char *name, const char *path, int *fd, lt_dlhandle *h,
		   struct monkey_error *err)
{
	char fdpath[64];
	int r = free_fd_name(fd, err);
	if (r < 0)
		return r;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", *fd);
	r = ltdl_ref(err);
	if (r < 0)
		return r;
	lt_dladvise advise;
	*h = NULL;
	pthread_mutex_lock(&ltdl_lock);
	if (lt_dladvise_init(&advise) == 0) {
		lt_dladvise_local(&advise);
		/* An absolute name without extension: libltdl neither
		 * searches LTDL_LIBRARY_PATH or LD_LIBRARY_PATH for it nor
		 * tries NAME.la. */
		*h = lt_dlopenadvise(fdpath, advise);
		lt_dladvise_destroy(&advise);
	}
	const char *dlerr = *h ? NULL : lt_dlerror();
	pthread_mutex_unlock(&ltdl_lock);
	if (*h)
		return 0;
	r = monkey_set_error(err, -ENOEXEC,
			     "cannot load backend '%s' from %s: %s", name, path,
			     dlerr ? dlerr : "unknown error");
	ltdl_unref();
	return r;
}

static void dl_unload(lt_dlhandle h)
{
	pthread_mutex_lock(&ltdl_lock);
	lt_dlclose(h);
	pthread_mutex_unlock(&ltdl_lock);
	ltdl_unref();
}

int monkey_backend_load_path(const char *name, const char *path,
			     struct monkey_loaded_backend **out,
			     struct monkey_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *real = NULL;
	int r = open_module(name, path, &fd, &real, err);
	if (r < 0)
		return r;
	if (monkey_loader_checked_hook)
		monkey_loader_checked_hook(path);
	lt_dlhandle h;
	if ((r = dl_load(name, path, &fd, &h, err)) < 0)
		return r;
	const struct monkey_backend *d = NULL;
	if ((r = entry_descriptor(name, h, &d, err)) < 0) {
		dl_unload(h);
		return monkey_error_wrap(err, r, "refusing backend '%s' (%s)",
					 name, path);
	}
	struct monkey_loaded_backend *lb = calloc(1, sizeof(*lb));
	if (!lb || !(lb->path = strdup(path))) {
		free(lb);
		dl_unload(h);
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	size_t n = d->struct_size < sizeof(lb->desc) ? d->struct_size
						     : sizeof(lb->desc);
	memcpy(&lb->desc, d, n);
	lb->handle = h;
	lb->real_path = steal_pointer(&real);
	lb->fd = steal_fd(&fd);
	*out = lb;
	return 0;
}

/* -ENOENT with the message saying name is not installed, where monkey
 * looked and which backends there are. */
/* "; install it with: apt install monkey-backend-docker" for the shipped
 * backends a distribution packages on their own (configure
 * --with-backend-package and --with-package-install), else "". */
static void package_hint(const char *name, char *buf, size_t n)
{
	const char *fmt = MONKEY_BACKEND_PACKAGE;
	const char *at = strstr(fmt, "%s");
	buf[0] = '\0';
	if (!at || (strcmp(name, "docker") && strcmp(name, "rootless")))
		return;
	snprintf(buf, n, "; install it with: %s %.*s%s%s",
		 MONKEY_PACKAGE_INSTALL, (int)(at - fmt), fmt, name, at + 2);
}

/* -ENOENT with the message saying name is not installed, where monkey
 * looked, which backends there are and, for a backend a distribution
 * packages on its own, the package to install. */
static int not_installed(const char *name, const struct monkey_strv *dirs,
			 struct monkey_error *err)
{
	_cleanup_monkey_strv_ struct monkey_strv names = {0}, paths = {0};
	if (monkey_backend_scan(dirs, &names, &paths) < 0)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	_cleanup_free_ char *where = monkey_strv_join(dirs, ", ");
	_cleanup_free_ char *have = monkey_strv_join(&names, ", ");
	if (!where || !have)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	char hint[256];
	package_hint(name, hint, sizeof(hint));
	return monkey_set_error(
	    err, -ENOENT,
	    "backend '%s' is not installed (looked in %s); available "
	    "backends: %s%s",
	    name,
	    *where ? where
		   : "no directory: MONKEY_BACKEND_PATH_ONLY=1 and neither "
		     "--backend-dir nor MONKEY_BACKEND_PATH names one",
	    *have ? have : "none", hint);
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
	if (r == -ENOENT)
		return not_installed(name, dirs, err);
	if (r < 0)
		return r;
	return monkey_backend_load_path(name, path, out, err);
}

void monkey_backend_unload(struct monkey_loaded_backend *lb)
{
	if (!lb)
		return;
	dl_unload(lb->handle);
	/* Only now may the descriptor's number, and so the module's name,
	 * be used again. */
	if (lb->fd >= 0)
		close(lb->fd);
	free(lb->path);
	free(lb->real_path);
	free(lb);
}

/* The host table's upcalls. */
static void instance_log(const struct monkey_host *host, int level,
			 const char *fmt, ...)
{
	const struct monkey_backend_instance *bi = host->host_data;
	if (!bi->log)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bi->log(bi->log_ctx, level, msg);
}

static int instance_set_error(struct monkey_error *err, int code,
			      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	monkey_set_error_v(err, code, fmt, ap);
	va_end(ap);
	return code;
}

static struct monkey_backend_instance *
instance_new(const struct monkey_backend_open_opts *o)
{
	struct monkey_backend_instance *bi = calloc(1, sizeof(*bi));
	if (!bi)
		return NULL;
	bi->log = o->log;
	bi->log_ctx = o->log_ctx;
	monkey_instance_id(bi->instance_id, sizeof(bi->instance_id));
	bi->host = (struct monkey_host){
	    .struct_size = sizeof(struct monkey_host),
	    .abi_major = MONKEY_BACKEND_ABI_MAJOR,
	    .abi_minor = MONKEY_BACKEND_ABI_MINOR,
	    .log = instance_log,
	    .set_error = instance_set_error,
	    .instance_id = bi->instance_id,
	    .host_data = bi,
	};
	return bi;
}

/* init, then probe; a backend that fails without saying why gets a
 * generic message naming it. */
static int start(struct monkey_backend_instance *bi, const char *name,
		 const char *config_json, struct monkey_error *err)
{
	const struct monkey_backend *d = &bi->lb->desc;
	/* dladdr() inside the module names /proc/self/fd/N: tell it where
	 * it really lives. */
	bi->host.module_path = bi->lb->real_path;
	err->code = 0;
	err->message[0] = '\0';
	int r = d->init(&bi->host, config_json, &bi->state, err);
	if (r < 0) {
		bi->state = NULL; /* nothing to fini after a failed init */
		if ((bi->silent = !err->message[0]))
			monkey_set_error(err, r,
					 "backend '%s' failed to initialise "
					 "(error %d) without saying why",
					 name, r);
		return r;
	}
	bi->stage = MONKEY_BACKEND_INITIALISED;
	err->code = 0;
	err->message[0] = '\0';
	if ((r = d->probe(bi->state, err)) < 0) {
		if ((bi->silent = !err->message[0]))
			monkey_set_error(err, r,
					 "backend '%s' is not available (error "
					 "%d) and did not say why",
					 name, r);
		return r;
	}
	bi->stage = MONKEY_BACKEND_READY;
	return 0;
}

int monkey_backend_open(const char *name,
			const struct monkey_backend_open_opts *o,
			struct monkey_backend_instance **out,
			struct monkey_error *err)
{
	*out = NULL;
	struct monkey_backend_instance *bi = instance_new(o);
	if (!bi)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	int r = o->path ? monkey_backend_load_path(name, o->path, &bi->lb, err)
			: monkey_backend_load(name, o->dirs, &bi->lb, err);
	if (r < 0) {
		free(bi);
		return r;
	}
	bi->stage = MONKEY_BACKEND_LOADED;
	*out = bi;
	return start(bi, name, o->config_json, err);
}

void monkey_backend_close(struct monkey_backend_instance *bi)
{
	if (!bi)
		return;
	if (bi->state)
		bi->lb->desc.fini(bi->state);
	monkey_backend_unload(bi->lb);
	free(bi);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the backend whose module file is file in one of dirs, unless one
 * of that name was found before (the first directory wins).  names and
 * paths get an entry each or neither: they stay aligned. */
static int scan_entry(const struct monkey_strv *dirs, const char *file,
		      struct monkey_strv *names, struct monkey_strv *paths)
{
	size_t len = strlen(file);
	if (len < 4 || file[0] == '.' || strcmp(file + len - 3, ".so") != 0)
		return 0;
	_cleanup_free_ char *name = strndup(file, len - 3);
	if (!name)
		return -ENOMEM;
	for (size_t k = 0; k < names->n; k++)
		if (strcmp(names->v[k], name) == 0)
			return 0;
	char *path = NULL;
	int r = monkey_backend_find(name, dirs, &path, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || (r = monkey_strv_push_owned(paths, path)) < 0)
		return r;
	if ((r = monkey_strv_push_owned(names, steal_pointer(&name))) < 0) {
		free(paths->v[--paths->n]);
		paths->v[paths->n] = NULL;
	}
	return r;
}

int monkey_backend_scan(const struct monkey_strv *dirs,
			struct monkey_strv *names, struct monkey_strv *paths)
{
	for (size_t i = 0; i < dirs->n; i++) {
		_cleanup_closedir_ DIR *d = opendir(dirs->v[i]);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			int r = scan_entry(dirs, de->d_name, names, paths);
			if (r < 0)
				return r;
		}
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
