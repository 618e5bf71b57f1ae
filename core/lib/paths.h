/* Workspace confinement: every working directory and mount is resolved
 * (symlinks included) before use, and working directories must stay inside
 * the workspace root. */
#ifndef MONKEY_PATHS_H
#define MONKEY_PATHS_H

#include <stdbool.h>

#include <monkey/backend.h>
#include <monkey/error.h>

/* True when resolved path p is root or below it (both canonical). */
bool monkey_path_within(const char *root, const char *p);

/* Resolve path (relative to base when not absolute) with realpath(3) and
 * require the result to be a directory inside root.  *out: caller frees.
 * what names the option in messages ("--workdir"). */
int monkey_resolve_dir_inside(const char *root, const char *base,
			      const char *path, const char *what, char **out,
			      struct monkey_error *err);

/* Parse "SRC:DST[:ro|rw]" or "type=bind,src=SRC,dst=DST[,ro]" (for a
 * SRC that holds ':'); SRC is resolved against the current directory and
 * must exist; DST must be absolute and free of "..", and comes back
 * canonical.  Strings in *m are allocated (free source and target). */
int monkey_parse_mount(const char *spec, struct monkey_mount *m,
		       struct monkey_error *err);

/* Refuse mounts whose target lies inside the workspace (the workspace has
 * the same path in a sandbox as on the host) or repeats another mount's
 * target.  specs[i] is what the user wrote for m[i], for messages. */
int monkey_check_mounts(const char *workspace, const struct monkey_mount *m,
			size_t n, const char *const *specs,
			struct monkey_error *err);

#endif
