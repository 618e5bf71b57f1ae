/* Dependency caches (--cache NAME:DST, @pip, @npm, @cargo, @go): parsing,
 * presets, and the host directories that back them for backends without
 * volumes of their own. */
#ifndef MONKEY_CACHES_H
#define MONKEY_CACHES_H

#include <stdbool.h>

#include <monkey/error.h>

#define MONKEY_CACHE_NAME_MAX 64

/* A preset: where the tool is pointed, by which variables. */
struct monkey_cache_preset {
	const char *name;   /* "pip" */
	const char *target; /* where it is mounted in a sandbox */
	const char *var[2]; /* variables pointing the tool at it */
	const char *sub[2]; /* each variable's subdirectory ("" none) */
};

struct monkey_cache_spec {
	char name[MONKEY_CACHE_NAME_MAX + 1];
	char *target;				  /* caller frees */
	const struct monkey_cache_preset *preset; /* NULL for NAME:DST */
};

/* True for [A-Za-z0-9][A-Za-z0-9_.-]* of at most MONKEY_CACHE_NAME_MAX
 * bytes (no '/', no "..": a name is one path component and a volume
 * name). */
bool monkey_cache_name_ok(const char *name);

/* "NAME:DST" (DST absolute) or "@preset". */
int monkey_cache_parse(const char *spec, struct monkey_cache_spec *out,
		       struct monkey_error *err);

/* Open the directory that holds the directory caches,
 * $XDG_CACHE_HOME/monkey/caches (when absolute) else
 * $HOME/.cache/monkey/caches, creating what is missing 0700 when create,
 * without following a symbolic link below the base.  Returns the
 * descriptor (caller closes) and *path (caller frees). */
int monkey_cache_root(bool create, char **path, struct monkey_error *err);

/* Open (creating it 0700) cache name below root; *path is its path. */
int monkey_cache_dir(int root, const char *root_path, const char *name,
		     char **path, struct monkey_error *err);

#include <stddef.h>
#include <stdint.h>

#include <monkey/backend.h>
#include <monkey/exec.h>

#include "util.h"

/* What the caches a run names become for one backend: its own volumes
 * (MONKEY_CAP_CACHE_VOLUMES), else bind mounts of host directories
 * (MONKEY_CAP_MOUNTS), else, for backends that run on the host itself,
 * only the variables pointing the tools at the host directories. */
struct monkey_cache_plan {
	struct monkey_cache_mount *volumes;
	size_t n_volumes;
	struct monkey_mount *mounts;
	size_t n_mounts;
	struct monkey_strv env; /* "VAR=value" */
	/* Caches named NAME:DST that a host-run backend cannot put at DST:
	 * their directories are in MONKEY_CACHE_<NAME>, said here. */
	char note[512];
};

int monkey_cache_plan_make(const char *const *specs, size_t n, uint32_t caps,
			   const char *workspace, struct monkey_cache_plan *p,
			   struct monkey_error *err);
void monkey_cache_plan_free(struct monkey_cache_plan *p);

/* The directory caches, each with its size and last use (the directory's
 * time, which each use sets); none when there is no cache directory. */
int monkey_cache_dirs_list(monkey_cache_list_fn each, void *ctx,
			   struct monkey_error *err);
/* Remove directory cache name and everything in it. */
int monkey_cache_dir_remove(const char *name, struct monkey_error *err);
#endif
