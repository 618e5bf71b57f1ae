/* Backend discovery for "monkey sandbox list/info": load, initialise and
 * probe each backend, and describe it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/sandbox.h>

#include "loader.h"
#include "util.h"

MONKEY_EXPORT const char *monkey_safety_name(int safety)
{
	switch (safety) {
	case MONKEY_SAFETY_NONE:
		return "none";
	case MONKEY_SAFETY_LOW:
		return "low";
	case MONKEY_SAFETY_MEDIUM:
		return "medium";
	case MONKEY_SAFETY_HIGH:
		return "high";
	}
	return "unknown";
}

MONKEY_EXPORT const char *monkey_capability_name(uint32_t bit)
{
	switch (bit) {
	case MONKEY_CAP_MEMORY:
		return "memory";
	case MONKEY_CAP_CPU:
		return "cpu";
	case MONKEY_CAP_PIDS:
		return "pids";
	case MONKEY_CAP_NETWORK_ISOLATION:
		return "network-isolation";
	case MONKEY_CAP_FS_ISOLATION:
		return "fs-isolation";
	case MONKEY_CAP_READ_ONLY_ROOT:
		return "read-only-root";
	case MONKEY_CAP_MOUNTS:
		return "mounts";
	case MONKEY_CAP_STDIN:
		return "stdin";
	case MONKEY_CAP_TIMEOUT:
		return "timeout";
	case MONKEY_CAP_KILL_TREE:
		return "kill-tree";
	case MONKEY_CAP_CLEAN_ENV:
		return "clean-env";
	case MONKEY_CAP_USER:
		return "user";
	case MONKEY_CAP_IMAGE:
		return "image";
	case MONKEY_CAP_MEMORY_APPROX:
		return "memory-rlimit";
	case MONKEY_CAP_CPU_TIME:
		return "cpu-time";
	case MONKEY_CAP_FILE_SIZE:
		return "file-size";
	case MONKEY_CAP_OPEN_FILES:
		return "open-files";
	case MONKEY_CAP_OOM_REPORT:
		return "oom-report";
	case MONKEY_CAP_POOL:
		return "pool";
	case MONKEY_CAP_CANCEL:
		return "cancel";
	case MONKEY_CAP_EGRESS_PROXY:
		return "egress-proxy";
	case MONKEY_CAP_CACHE_VOLUMES:
		return "cache-volumes";
	case MONKEY_CAP_SESSION:
		return "session";
	case MONKEY_CAP_JOBS:
		return "jobs";
	}
	return NULL;
}

/* Load, initialise and probe the backend at path (monkey_backend_open)
 * and describe what was found.  Its log goes nowhere: list and info
 * report the probe's verdict. */
static void describe(const char *name, const char *path,
		     const char *config_json, struct monkey_backend_status *st)
{
	memset(st, 0, sizeof(*st));
	st->name = strdup(name);
	st->path = strdup(path);
	struct monkey_error err = {0};
	struct monkey_backend_open_opts o = {.path = path,
					     .config_json = config_json};
	struct monkey_backend_instance *bi = NULL;
	int r = monkey_backend_open(name, &o, &bi, &err);
	/* A probe that succeeds may leave a note in err. */
	snprintf(st->reason, sizeof(st->reason), "%s", err.message);
	st->available = r == 0;
	if (bi) {
		const struct monkey_backend *d = &bi->lb->desc;
		st->loaded = true;
		st->abi_major = d->abi_major;
		st->abi_minor = d->abi_minor;
		st->description = strdup(d->description ? d->description : "");
		st->details = d->details ? strdup(d->details) : NULL;
		st->safety = d->safety;
		st->capabilities = d->capabilities;
	}
	monkey_backend_close(bi);
}

MONKEY_EXPORT int monkey_sandbox_list(const char *backend_dir,
				      struct monkey_backend_status **out,
				      size_t *n, char **dirs_out,
				      struct monkey_error *err)
{
	struct monkey_strv dirs = {0}, names = {0}, paths = {0};
	int r = monkey_backend_search_path(backend_dir, &dirs, err);
	if (r < 0) {
		monkey_strv_free(&dirs);
		return r;
	}
	if ((r = monkey_backend_scan(&dirs, &names, &paths)) < 0) {
		monkey_strv_free(&dirs);
		return monkey_set_error(err, r, "out of memory");
	}
	struct monkey_backend_status *st =
	    calloc(names.n ? names.n : 1, sizeof(*st));
	if (!st) {
		r = monkey_set_error(err, -ENOMEM, "out of memory");
	} else {
		for (size_t i = 0; i < names.n; i++)
			describe(names.v[i], paths.v[i], NULL, &st[i]);
		*out = st;
		*n = names.n;
		if (dirs_out)
			*dirs_out = monkey_strv_join(&dirs, ":");
	}
	monkey_strv_free(&dirs);
	monkey_strv_free(&names);
	monkey_strv_free(&paths);
	return r;
}

MONKEY_EXPORT int monkey_sandbox_info(const char *backend_dir, const char *name,
				      struct monkey_backend_status *out,
				      struct monkey_error *err)
{
	return monkey_sandbox_info_with(backend_dir, name, NULL, out, err);
}

MONKEY_EXPORT int monkey_sandbox_info_with(const char *backend_dir,
					   const char *name,
					   const char *config_json,
					   struct monkey_backend_status *out,
					   struct monkey_error *err)
{
	int r = monkey_backend_check_name(name, err);
	if (r < 0)
		return r;
	struct monkey_strv dirs = {0};
	if ((r = monkey_backend_search_path(backend_dir, &dirs, err)) < 0) {
		monkey_strv_free(&dirs);
		return r;
	}
	char *path = NULL;
	r = monkey_backend_find(name, &dirs, &path, err);
	if (r == -ENOENT) {
		/* Let the loader word the "not installed" message. */
		struct monkey_loaded_backend *lb = NULL;
		r = monkey_backend_load(name, &dirs, &lb, err);
		monkey_backend_unload(lb);
	} else if (r == 0) {
		describe(name, path, config_json, out);
		free(path);
	}
	monkey_strv_free(&dirs);
	return r;
}

MONKEY_EXPORT void monkey_backend_status_free(struct monkey_backend_status *st,
					      size_t n)
{
	for (size_t i = 0; st && i < n; i++) {
		free(st[i].name);
		free(st[i].path);
		free(st[i].description);
		free(st[i].details);
		memset(&st[i], 0, sizeof(st[i]));
	}
}

MONKEY_EXPORT void
monkey_backend_status_list_free(struct monkey_backend_status *st, size_t n)
{
	monkey_backend_status_free(st, n);
	free(st);
}
