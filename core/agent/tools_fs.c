/* The file tools: read_file, write_file, edit_file and list_files, each on
 * a path confined to the workspace.  Failures come back as text for the
 * model, never as a crash. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "tools.h"

/* Files edit_file loads whole. */
#define EDIT_MAX (16u * 1024 * 1024)
/* Entries list_files shows. */
#define LIST_MAX 1000

struct out {
	char *s;
	size_t len, cap;
	bool oom;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t c = o->cap ? o->cap : 1024;
		while (c < o->len + n + 1)
			c *= 2;
		char *b = realloc(o->s, c);
		if (!b) {
			o->oom = true;
			return;
		}
		o->s = b;
		o->cap = c;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->oom = true;
		return;
	}
	out_add(o, s, (size_t)n);
	free(s);
}

static int result(struct out *o, char **content, bool *is_error, bool err)
{
	if (!o->s)
		out_add(o, "", 0);
	if (o->oom) {
		free(o->s);
		return -ENOMEM;
	}
	*content = o->s;
	*is_error = err;
	return 0;
}

static int error_text(char **content, bool *is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int error_text(char **content, bool *is_error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(content, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	*is_error = true;
	return 0;
}

/* A path the model gave that cannot be used: the model is told why (a
 * lack of memory is not its to hear). */
static int path_refused(int r, const struct monkey_error *e, char **content,
			bool *is_error)
{
	if (r == -ENOMEM)
		return r;
	return error_text(content, is_error, "%s", e->message);
}

/* Where read_file is in the file, and what it has taken. */
struct reading {
	int64_t first; /* the first line to show */
	int64_t line;  /* the line being read */
	int64_t last_shown;
	struct out o;
	bool cut, binary, mid_line, ends_nl;
};

/* The lines of one block that fall in the range asked for, up to the
 * budget. */
static void take_lines(struct reading *rd, const struct tool_args *a,
		       size_t budget, const char *buf, size_t n)
{
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - buf) + 1 : n;
		if (rd->line >= rd->first) {
			if (a->limit && rd->line >= rd->first + a->limit) {
				rd->cut = true;
				return;
			}
			size_t take = end - i;
			if (rd->o.len + take > budget) {
				take = budget - rd->o.len;
				rd->cut = rd->mid_line = true;
			}
			out_add(&rd->o, buf + i, take);
			rd->last_shown = rd->line;
			if (rd->cut)
				return;
		}
		i = end;
		if (nl)
			rd->line++;
	}
}

/* Read in blocks, never a whole line at once: a file may be one
 * gigabyte-long line.  0, or -errno when reading failed. */
static int read_lines(int fd, const struct tool_args *a, size_t budget,
		      struct reading *rd)
{
	char buf[65536];
	ssize_t n;
	while (!rd->cut && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (memchr(buf, '\0', (size_t)n)) {
			rd->binary = true;
			return 0;
		}
		rd->ends_nl = buf[n - 1] == '\n';
		take_lines(rd, a, budget, buf, (size_t)n);
	}
	return 0;
}

/* What was read, and where the model can read on. */
static int reading_result(struct reading *rd, const struct tool_args *a,
			  const struct stat *st, char **content, bool *is_error)
{
	int64_t lines = rd->ends_nl ? rd->line - 1 : rd->line;
	if (!rd->last_shown && rd->first > 1 && rd->first > lines) {
		free(rd->o.s);
		return error_text(
		    content, is_error,
		    "'%s' has only %lld lines; offset %lld is past its end",
		    a->path, (long long)lines, (long long)rd->first);
	}
	if (st->st_size == 0)
		out_printf(&rd->o, "(empty file)");
	if (rd->mid_line)
		out_printf(
		    &rd->o,
		    "\n[line %lld is cut here: '%s' has %lld bytes; read "
		    "on with offset=%lld, or use shell_execute (cut, "
		    "head -c) for long lines]",
		    (long long)rd->last_shown, a->path, (long long)st->st_size,
		    (long long)(rd->last_shown + 1));
	else if (rd->cut)
		out_printf(&rd->o,
			   "\n[showing lines %lld-%lld of '%s' (%lld bytes); "
			   "read on with offset=%lld]",
			   (long long)rd->first, (long long)rd->last_shown,
			   a->path, (long long)st->st_size,
			   (long long)(rd->last_shown + 1));
	return result(&rd->o, content, is_error, false);
}

static int read_file(const char *root, const struct tool_args *a, size_t budget,
		     char **content, bool *is_error)
{
	_cleanup_free_ char *abs = NULL;
	struct monkey_error e = {0};
	int r = tools_path_resolve(root, a->path, TOOLS_PATH_EXISTING, false,
				   &abs, &e);
	if (r < 0)
		return path_refused(r, &e, content, is_error);
	_cleanup_close_ int fd =
	    open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return error_text(content, is_error, "cannot open '%s': %s",
				  a->path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return error_text(content, is_error,
				  "'%s' is a directory; use list_files",
				  a->path);
	if (!S_ISREG(st.st_mode))
		return error_text(content, is_error,
				  "'%s' is not a regular file", a->path);
	struct reading rd = {
	    .first = a->offset > 0 ? a->offset : 1, .line = 1, .ends_nl = true};
	if ((r = read_lines(fd, a, budget, &rd)) < 0) {
		free(rd.o.s);
		return error_text(content, is_error, "cannot read '%s': %s",
				  a->path, strerror(-r));
	}
	if (rd.binary) {
		free(rd.o.s);
		return error_text(content, is_error,
				  "'%s' is a binary file (%lld bytes); inspect "
				  "it with shell_execute (od, file, ...)",
				  a->path, (long long)st.st_size);
	}
	return reading_result(&rd, a, &st, content, is_error);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A name for a temporary file next to base: hidden, recognisable, random,
 * and short enough for any file system whatever base's length. */
static int temp_name(char *buf, size_t size, const char *base)
{
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return errno ? -errno : -EIO;
	int n = snprintf(buf, size, ".%.180s.monkey-", base);
	for (size_t i = 0; i < sizeof(rnd) && n + 3 < (int)size; i++)
		n += snprintf(buf + n, size - (size_t)n, "%02x", rnd[i]);
	return 0;
}

/* A new file in the directory dfd, created with O_EXCL so that nothing
 * planted there (a symlink, another file) is ever written through. */
static int temp_create(int dfd, const char *base, mode_t mode, char *name,
		       size_t size)
{
	for (int tries = 0; tries < 64; tries++) {
		int r = temp_name(name, size, base);
		if (r < 0)
			return r;
		int fd = openat(
		    dfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

/* Fill the temporary file and make it durable; mode and owner first, so
 * that the contents are never readable by more people than the
 * original's. */
static int temp_fill(int fd, const struct stat *orig, const char *data,
		     size_t len)
{
	if (orig) {
		/* Best effort: only root may give a file away. */
		if (fchown(fd, orig->st_uid, orig->st_gid) < 0 &&
		    errno != EPERM)
			return -errno;
		if (fchmod(fd, orig->st_mode & 07777) < 0)
			return -errno;
	}
	int r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	return r;
}

/* Replace (or create) the file at abs with data.  The data goes to a
 * temporary file in the same directory, which is then renamed over the
 * original: a full disk, a quota or a file-size limit at any point leaves
 * the original as it was and no temporary behind.  A replaced file keeps
 * its mode (and owner, where permitted); a new one gets 0666 less the
 * umask.  Hard links to the original keep the old contents. */
static int store(const char *abs, const char *data, size_t len, bool *created)
{
	struct stat st;
	*created = false;
	if (lstat(abs, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		*created = true;
	} else if (S_ISDIR(st.st_mode)) {
		return -EISDIR;
	} else if (!S_ISREG(st.st_mode)) {
		/* A FIFO or device would block or do something else. */
		return -EINVAL;
	}
	_cleanup_free_ char *dir = strdup(abs);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	const char *base = abs + (slash - dir) + 1;
	*slash = '\0';
	_cleanup_close_ int dfd = open(
	    *dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return -errno;
	char tmp[256];
	int fd =
	    temp_create(dfd, base, *created ? 0666 : 0600, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	int r = temp_fill(fd, *created ? NULL : &st, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return r;
	}
	/* The rename itself survives a crash only once the directory is
	 * on disk; the file is in place either way. */
	(void)fsync(dfd);
	return 0;
}

/* The file's contents, when it is a regular file small enough to show
 * what a change does to it.  Returns 0 (with *data NULL when it does not
 * exist), or -errno / -EFBIG / -EINVAL (not a regular file). */
static int load(const char *abs, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	_cleanup_close_ int fd =
	    open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if ((uint64_t)st.st_size > EDIT_MAX)
		return -EFBIG;
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*data = steal_pointer(&buf);
	*len = n;
	return 0;
}

static int path_mode(int base, bool writable_git)
{
	return base | TOOLS_PATH_WRITE | (writable_git ? TOOLS_PATH_GIT_OK : 0);
}

static int write_prepare(const char *root, const struct tool_args *a,
			 bool writable_git, struct tools_fs_change *c,
			 char **content, bool *is_error)
{
	struct monkey_error e = {0};
	int r = tools_path_resolve(
	    root, a->path,
	    path_mode(TOOLS_PATH_CREATE | TOOLS_PATH_PARENTS, writable_git),
	    false, &c->abs, &e);
	if (r < 0)
		return path_refused(r, &e, content, is_error);
	_cleanup_free_ char *old = NULL;
	size_t olen = 0;
	struct stat st = {0};
	c->exists = lstat(c->abs, &st) == 0;
	r = load(c->abs, &old, &olen);
	if (r == -ENOMEM)
		return r;
	/* A file too large to compare, or one that can be written but not
	 * read, is described instead. */
	bool opaque = r == -EFBIG || r == -EACCES;
	if (r < 0 && !opaque)
		return error_text(
		    content, is_error, "cannot write '%s': %s", a->path,
		    r == -EINVAL ? "not a regular file" : strerror(-r));
	if (!(c->data = malloc(a->content_len + 1)))
		return -ENOMEM;
	memcpy(c->data, a->content, a->content_len);
	c->data[a->content_len] = '\0';
	c->len = a->content_len;
	if (opaque) {
		c->diff.text =
		    monkey_strdup_printf("replaces %lld bytes with %zu bytes",
					 (long long)st.st_size, c->len);
		c->diff.approximate = true;
		return c->diff.text ? 0 : -ENOMEM;
	}
	return tools_diff(old ? old : "", olen, c->data, c->len, &c->diff);
}

/* old_string's one match in data, or an error for the model. */
static int find_once(const struct tool_args *a, const char *data, size_t len,
		     const char **at, char **content, bool *is_error)
{
	size_t olen = strlen(a->old_string);
	size_t count = 0;
	for (const char *p = data; (size_t)(p - data) + olen <= len;) {
		const char *m =
		    memmem(p, len - (size_t)(p - data), a->old_string, olen);
		if (!m)
			break;
		if (!count)
			*at = m;
		count++;
		p = m + olen;
	}
	if (count == 0)
		return error_text(content, is_error,
				  "old_string was not found in '%s' (0 "
				  "matches); read the file and copy the text "
				  "exactly, whitespace included",
				  a->path);
	if (count > 1)
		return error_text(content, is_error,
				  "old_string matches %zu times in '%s'; it "
				  "must match exactly once: include more "
				  "surrounding lines",
				  count, a->path);
	return 0;
}

static int edit_prepare(const char *root, const struct tool_args *a,
			bool writable_git, struct tools_fs_change *c,
			char **content, bool *is_error)
{
	struct monkey_error e = {0};
	int r = tools_path_resolve(root, a->path,
				   path_mode(TOOLS_PATH_EXISTING, writable_git),
				   false, &c->abs, &e);
	if (r < 0)
		return path_refused(r, &e, content, is_error);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	r = load(c->abs, &data, &len);
	if (r == -ENOMEM)
		return r;
	if (r == -EFBIG)
		return error_text(content, is_error,
				  "'%s' is too large to edit (more than %u "
				  "bytes)",
				  a->path, EDIT_MAX);
	if (r == -EINVAL || r == -EISDIR)
		return error_text(content, is_error,
				  "'%s' is not a regular file", a->path);
	if (r < 0 || !data)
		return error_text(content, is_error, "cannot open '%s': %s",
				  a->path, strerror(r < 0 ? -r : ENOENT));
	const char *at = NULL;
	if ((r = find_once(a, data, len, &at, content, is_error)) < 0 ||
	    *content)
		return r;
	size_t olen = strlen(a->old_string), nlen = strlen(a->new_string);
	c->len = len - olen + nlen;
	if (!(c->data = malloc(c->len + 1)))
		return -ENOMEM;
	size_t pre = (size_t)(at - data);
	memcpy(c->data, data, pre);
	memcpy(c->data + pre, a->new_string, nlen);
	memcpy(c->data + pre + nlen, at + olen, len - pre - olen);
	c->data[c->len] = '\0';
	c->line = 1;
	for (size_t i = 0; i < pre; i++)
		c->line += data[i] == '\n';
	c->exists = true;
	return tools_diff(data, len, c->data, c->len, &c->diff);
}

void tools_fs_change_free(struct tools_fs_change *c)
{
	free(c->abs);
	free(c->data);
	tools_diff_free(&c->diff);
	memset(c, 0, sizeof(*c));
}

int tools_fs_prepare(const char *root, const struct tool_args *a,
		     bool writable_git, struct tools_fs_change *c,
		     char **content, bool *is_error)
{
	memset(c, 0, sizeof(*c));
	*content = NULL;
	*is_error = false;
	int r =
	    a->kind == TOOL_EDIT_FILE
		? edit_prepare(root, a, writable_git, c, content, is_error)
		: write_prepare(root, a, writable_git, c, content, is_error);
	if (r < 0 || *content)
		tools_fs_change_free(c);
	return r;
}

int tools_fs_commit(const char *root, const struct tool_args *a,
		    bool writable_git, const struct tools_fs_change *c,
		    char **content, bool *is_error)
{
	bool edit = a->kind == TOOL_EDIT_FILE;
	/* Checked again: the workspace may have changed while a person
	 * looked at the change (a command left running, for one). */
	_cleanup_free_ char *abs = NULL;
	struct monkey_error e = {0};
	int mode = edit ? TOOLS_PATH_EXISTING : TOOLS_PATH_CREATE;
	int r = tools_path_resolve(root, a->path, path_mode(mode, writable_git),
				   !edit, &abs, &e);
	if (r < 0)
		return path_refused(r, &e, content, is_error);
	if (strcmp(abs, c->abs))
		return error_text(content, is_error,
				  "'%s' now resolves to another file than "
				  "before; nothing was written",
				  a->path);
	bool created;
	r = store(abs, c->data, c->len, &created);
	if (r < 0)
		return error_text(
		    content, is_error, "cannot write '%s': %s%s", a->path,
		    r == -EINVAL ? "not a regular file" : strerror(-r),
		    r == -EINVAL || r == -EISDIR ? ""
		    : created			 ? "; nothing was written"
						 : "; the file is unchanged");
	*is_error = false;
	if (edit)
		*content = monkey_strdup_printf(
		    "edited '%s': replaced 1 occurrence at line %ld",
		    tools_path_rel(root, abs), c->line);
	else
		*content = monkey_strdup_printf(
		    "%s '%s' (%zu bytes)", created ? "created" : "replaced",
		    tools_path_rel(root, abs), c->len);
	return *content ? 0 : -ENOMEM;
}

/* write_file and edit_file without anyone to ask. */
static int change_file(const char *root, const struct tool_args *a,
		       char **content, bool *is_error)
{
	struct tools_fs_change c;
	int r = tools_fs_prepare(root, a, false, &c, content, is_error);
	if (r < 0 || *content)
		return r;
	r = tools_fs_commit(root, a, false, &c, content, is_error);
	tools_fs_change_free(&c);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One directory level into o; recurses when asked.  prefix is the path
 * of dir relative to the listed directory. */
static void list_dir(const char *dir, const char *prefix, bool recursive,
		     struct out *o, size_t *count, size_t budget)
{
	DIR *d = opendir(dir);
	if (!d) {
		out_printf(o, "%s (cannot open: %s)\n", prefix,
			   strerror(errno));
		return;
	}
	struct monkey_strv names = {0};
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			monkey_strv_push(&names, e->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		if (*count >= LIST_MAX || o->len > budget) {
			*count = LIST_MAX + 1;
			break;
		}
		(*count)++;
		_cleanup_free_ char *full =
		    monkey_strdup_printf("%s/%s", dir, names.v[i]);
		_cleanup_free_ char *rel =
		    monkey_strdup_printf("%s%s", prefix, names.v[i]);
		struct stat st;
		if (!full || !rel || lstat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			/* Version control and monkey's own state are noise. */
			bool skip = !strcmp(names.v[i], ".git") ||
				    !strcmp(names.v[i], ".monkey");
			out_printf(o, "%s/\n", rel);
			if (recursive && !skip) {
				_cleanup_free_ char *sub =
				    monkey_strdup_printf("%s/", rel);
				if (sub)
					list_dir(full, sub, true, o, count,
						 budget);
			}
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(full, target, sizeof(target) - 1);
			target[n < 0 ? 0 : n] = '\0';
			out_printf(o, "%s -> %s\n", rel, target);
		} else {
			out_printf(o, "%s\n", rel);
		}
	}
	monkey_strv_free(&names);
}

static int list_files(const char *root, const struct tool_args *a,
		      size_t budget, char **content, bool *is_error)
{
	const char *path = a->path && *a->path ? a->path : ".";
	_cleanup_free_ char *abs = NULL;
	struct monkey_error e = {0};
	int r = tools_path_resolve(root, path, TOOLS_PATH_EXISTING, false, &abs,
				   &e);
	if (r < 0)
		return path_refused(r, &e, content, is_error);
	struct stat st;
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode))
		return error_text(content, is_error,
				  "'%s' is not a directory; use read_file",
				  path);
	struct out o = {0};
	size_t count = 0;
	list_dir(abs, "", a->recursive, &o, &count, budget);
	if (count > LIST_MAX)
		out_printf(&o, "[... listing cut after %zu entries]\n",
			   (size_t)LIST_MAX);
	if (!o.len)
		out_printf(&o, "(empty directory)");
	return result(&o, content, is_error, false);
}

int tools_fs_run(const char *root, const struct tool_args *a, size_t output_max,
		 char **content, bool *is_error)
{
	/* Files are read whole more often than command output: allow more. */
	size_t budget = output_max * 4;
	switch (a->kind) {
	case TOOL_READ_FILE:
		return read_file(root, a, budget, content, is_error);
	case TOOL_WRITE_FILE:
	case TOOL_EDIT_FILE:
		return change_file(root, a, content, is_error);
	case TOOL_LIST_FILES:
		return list_files(root, a, budget, content, is_error);
	}
	return error_text(content, is_error, "not a file tool");
}
