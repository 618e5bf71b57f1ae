/* Backend loader: finds a backend module by name in the backend search
 * path, checks the file it opens and the descriptor, loads that very file,
 * and hands out a normalised copy of the descriptor.  monkey_backend_open
 * owns a backend's whole life: load, init, probe, and fini at the end. */
#ifndef MONKEY_LOADER_H
#define MONKEY_LOADER_H

#include <monkey/backend.h>
#include <monkey/error.h>
#include <monkey/exec.h>

#include "util.h"

struct monkey_loaded_backend {
	void *handle; /* lt_dlhandle */
	/* The descriptor with fields past the backend's struct_size zeroed,
	 * so the host may read every field it knows. */
	struct monkey_backend desc;
	char *path;	 /* the module file as found in its directory */
	char *real_path; /* the same, every symlink of the directory resolved
			    (for monkey_host.module_path) */
	int fd;		 /* the file that was checked and loaded, open while
			    it is loaded: its /proc/self/fd name is the
			    module's name for the dynamic loader */
};

/* The directories searched, in order: backend_dir (may be NULL),
 * MONKEY_BACKEND_PATH (colon list, secure_getenv), MONKEY_BACKEND_DIR
 * unless MONKEY_BACKEND_PATH_ONLY is 1.  -EINVAL, naming it, for a
 * directory that is not absolute or another MONKEY_BACKEND_PATH_ONLY. */
int monkey_backend_search_path(const char *backend_dir,
			       struct monkey_strv *dirs,
			       struct monkey_error *err);

/* Returns -EINVAL for a name that is not a plain name. */
int monkey_backend_check_name(const char *name, struct monkey_error *err);

/* Find the module file for name in dirs: the first "<dir>/<name>.so" (of
 * any type: loading refuses what is not a regular file).  -ENOENT when
 * absent. */
int monkey_backend_find(const char *name, const struct monkey_strv *dirs,
			char **path, struct monkey_error *err);

/* Load name from dirs.  On -ENOENT the message says the backend is not
 * installed, where monkey looked and which backends exist; other errors
 * are refusals (a symlink or no regular file, owned by someone but root or
 * us, writable by others or in a directory others can write, no entry
 * symbol, other ABI major, incomplete descriptor). */
int monkey_backend_load(const char *name, const struct monkey_strv *dirs,
			struct monkey_loaded_backend **out,
			struct monkey_error *err);

/* Load the module at path (already found) as backend name: open it without
 * following a symlink, check what was opened, and load it through
 * /proc/self/fd, so that what is loaded is what was checked. */
int monkey_backend_load_path(const char *name, const char *path,
			     struct monkey_loaded_backend **out,
			     struct monkey_error *err);

void monkey_backend_unload(struct monkey_loaded_backend *lb);

/* Tests only: called with the module's path after its file was opened and
 * checked, just before it is loaded (a test swaps the file there). */
extern void (*monkey_loader_checked_hook)(const char *path);

/* Names of the backend modules present in dirs, first occurrence wins,
 * sorted; paths[i] is where names[i] was found.  -ENOMEM when memory ran
 * out: names and paths then hold what was found until then, still
 * aligned, for the caller to free. */
int monkey_backend_scan(const struct monkey_strv *dirs,
			struct monkey_strv *names, struct monkey_strv *paths);

/* How far monkey_backend_open got with a backend. */
enum monkey_backend_stage {
	MONKEY_BACKEND_MISSING = 0,	/* not installed */
	MONKEY_BACKEND_REFUSED = 1,	/* found, refused or not loadable */
	MONKEY_BACKEND_LOADED = 2,	/* loaded; its init failed */
	MONKEY_BACKEND_INITIALISED = 3, /* initialised; its probe failed */
	MONKEY_BACKEND_READY = 4,	/* it can run commands */
};

/* One backend's life, as Slurm's plugin_load_from_file owns a plugin's:
 * the module loaded, the host table it was given (with this process's
 * instance id), its state. */
struct monkey_backend_instance {
	struct monkey_loaded_backend *lb;
	void *state; /* the backend's; NULL until its init succeeded */
	int stage;   /* enum monkey_backend_stage */
	/* It failed without a message: err holds a generic one, which
	 * names the backend. */
	bool silent;
	struct monkey_host host; /* host_data points at this instance */
	char instance_id[64];
	monkey_notify_fn log; /* where the backend's log lines go */
	void *log_ctx;
};

struct monkey_backend_open_opts {
	const struct monkey_strv *dirs; /* name is looked up in these, */
	const char *path;		/* or its module is this file */
	const char *config_json;	/* for init; NULL: none */
	monkey_notify_fn log;		/* NULL: the backend's log is dropped */
	void *log_ctx;
};

/* Load backend name, initialise it with o->config_json and probe it: 0
 * when it can run commands (stage READY).  Otherwise a negative errno and
 * err saying why (-ENOENT: not installed, with where monkey looked).
 * *out is set once the module loaded, whatever happened after, so that a
 * caller can describe what it found; close it in any case.  A probe that
 * succeeds may leave a note in err (code 0). */
int monkey_backend_open(const char *name,
			const struct monkey_backend_open_opts *o,
			struct monkey_backend_instance **out,
			struct monkey_error *err);

/* fini (once init succeeded), then unload.  NULL is fine. */
void monkey_backend_close(struct monkey_backend_instance *bi);

#endif
