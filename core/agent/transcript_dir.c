/* The default transcript directory, opened one component at a time with
 * openat() from the user's own state (or home) directory, so that a
 * symbolic link or someone else's directory planted anywhere below it is
 * refused instead of followed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transcript_dir.h"
#include "util.h"

#define HINT "; or name a file with --transcript FILE"

/* The user's home: $HOME when it is absolute, else the password file. */
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

/* A directory someone else owns or may write could be changed under us
 * (a file swapped for a link to somewhere else): refuse it.  The base may
 * be root's (HOME=/root); a sticky directory lets nobody else rename what
 * is ours; group write is fine for the user's own group (umask 002 with a
 * group per user).  monkey's own directories are first made 0700. */
static int check_dir(int fd, const char *path, bool base, bool ours,
		     struct monkey_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return monkey_set_error(err, -errno, "cannot inspect %s: %s",
					path, strerror(errno));
	uid_t me = geteuid();
	if (st.st_uid != me && !(base && st.st_uid == 0))
		return monkey_set_error(
		    err, -EPERM,
		    "%s belongs to uid %u, not to you (uid %u): monkey keeps "
		    "transcripts only in directories of yours" HINT,
		    path, (unsigned)st.st_uid, (unsigned)me);
	if (ours && (st.st_mode & 077)) {
		if (fchmod(fd, 0700) < 0)
			return monkey_set_error(err, -errno,
						"cannot make %s private: %s",
						path, strerror(errno));
		st.st_mode &= ~(mode_t)077;
	}
	mode_t loose = S_IWOTH | (st.st_gid == getegid() ? 0 : S_IWGRP);
	if ((st.st_mode & loose) && !(st.st_mode & S_ISVTX))
		return monkey_set_error(
		    err, -EPERM,
		    "%s is writable by other users (mode %04o): monkey keeps "
		    "transcripts only where nobody else can change them" HINT,
		    path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Why openat(parent, name) failed, in words naming path. */
static int open_error(int parent, const char *name, const char *path, int e,
		      struct monkey_error *err)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return monkey_set_error(
		    err, -ELOOP,
		    "%s is a symbolic link: monkey does not follow links where "
		    "it keeps transcripts; remove it" HINT,
		    path);
	if (e == ENOTDIR)
		return monkey_set_error(err, -ENOTDIR,
					"%s is not a directory" HINT, path);
	return monkey_set_error(err, -e, "cannot open %s: %s" HINT, path,
				strerror(e));
}

/* Open (creating it 0700 when missing) the directory name below parent,
 * never following a link. */
static int open_below(int parent, const char *path, const char *name, bool ours,
		      struct monkey_error *err)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(parent, name, flags);
	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
			return monkey_set_error(err, -errno,
						"cannot create %s: %s" HINT,
						path, strerror(errno));
		fd = openat(parent, name, flags);
	}
	if (fd < 0)
		return open_error(parent, name, path, errno, err);
	int r = check_dir(fd, path, false, ours, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* The base directory: the user's own setting, opened as it is. */
static int open_base(const char *base, bool create, struct monkey_error *err)
{
	int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* The XDG spec: create a missing state directory 0700. */
	if (fd < 0 && errno == ENOENT && create && mkdir(base, 0700) == 0)
		fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return monkey_set_error(err, -errno, "cannot open %s: %s" HINT,
					base, strerror(errno));
	int r = check_dir(fd, base, true, false, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int transcript_dir_open(char **path, struct monkey_error *err)
{
	static const char *const xdg_below[] = {"monkey", "sessions", NULL};
	static const char *const home_below[] = {".local", "state", "monkey",
						 "sessions", NULL};
	*path = NULL;
	char pwbuf[4096];
	/* A relative XDG_STATE_HOME is invalid and ignored (XDG spec). */
	const char *base = secure_getenv("XDG_STATE_HOME");
	bool xdg = base && base[0] == '/';
	const char *const *below = xdg ? xdg_below : home_below;
	if (!xdg && !(base = home_dir(pwbuf, sizeof(pwbuf))))
		return monkey_set_error(
		    err, -ENOENT,
		    "cannot tell where to keep transcripts: "
		    "neither XDG_STATE_HOME nor HOME is an "
		    "absolute path" HINT);
	_cleanup_free_ char *cur = strdup(base);
	if (!cur)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	size_t n = strlen(cur);
	while (n > 1 && cur[n - 1] == '/')
		cur[--n] = '\0';
	int fd = open_base(cur, xdg, err);
	size_t depth = 0;
	while (below[depth])
		depth++;
	for (size_t i = 0; fd >= 0 && below[i]; i++) {
		char *next = monkey_strdup_printf(
		    "%s%s%s", cur, strcmp(cur, "/") ? "/" : "", below[i]);
		if (!next) {
			close(fd);
			return monkey_set_error(err, -ENOMEM, "out of memory");
		}
		free(cur);
		cur = next;
		/* monkey/ and sessions/ are monkey's own. */
		int sub = open_below(fd, cur, below[i], i + 2 >= depth, err);
		close(fd);
		fd = sub;
	}
	if (fd >= 0)
		*path = steal_pointer(&cur);
	return fd;
}

int transcript_dir_create(int dfd, const char *dir, const char *stem,
			  char **final, struct monkey_error *err)
{
	*final = NULL;
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND |
			  O_CLOEXEC | O_NOCTTY;
	for (int i = 1; i <= 100; i++) {
		_cleanup_free_ char *name =
		    i == 1 ? monkey_strdup_printf("%s.jsonl", stem)
			   : monkey_strdup_printf("%s-%d.jsonl", stem, i);
		_cleanup_free_ char *path =
		    name ? monkey_strdup_printf("%s/%s", dir, name) : NULL;
		if (!path)
			return monkey_set_error(err, -ENOMEM, "out of memory");
		int fd = openat(dfd, name, flags, 0600);
		if (fd >= 0) {
			*final = steal_pointer(&path);
			return fd;
		}
		if (errno != EEXIST)
			return monkey_set_error(
			    err, -errno, "cannot create the transcript %s: %s",
			    path, strerror(errno));
		/* Another run of this process in the same second: take the
		 * next name.  A link is someone's trap: say so. */
		struct stat st;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			return monkey_set_error(
			    err, -ELOOP,
			    "%s is a symbolic link: monkey does not follow "
			    "links where it keeps transcripts; remove it" HINT,
			    path);
	}
	return monkey_set_error(err, -EEXIST,
				"cannot create a transcript in %s: every "
				"name for %s is taken" HINT,
				dir, stem);
}
