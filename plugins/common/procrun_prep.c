/* Preparing a command for procrun: execvp-style PATH candidates, the
 * working directory (opened once and checked against the workspace), the
 * rlimits to apply, pipes whose descriptors cannot collide with stdio, and
 * the words for a command that could not start. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procrun_int.h"

int procrun_set_err(const struct monkey_host *host, struct monkey_error *err,
		    int code, const char *fmt, ...)
{
	char msg[MONKEY_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (host && host->set_error)
		return host->set_error(err, code, "%s", msg);
	if (err) {
		err->code = code;
		snprintf(err->message, sizeof(err->message), "%s", msg);
	}
	return code;
}

/* A failed setup step must not look like "not found" (127) or "not
 * executable" (126) to the host: those codes are for the program itself. */
int procrun_setup_code(int e)
{
	return (e == ENOENT || e == EACCES || e == ENOEXEC) ? -EIO : -e;
}

const char *procrun_env_path(const char *const *envp)
{
	for (; envp && *envp; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	/* What glibc's execvp uses when PATH is unset. */
	return "/bin:/usr/bin";
}

/* execve candidates for name, as execvp(3) tries them: name itself when it
 * contains '/', else each PATH entry (from the command's environment, not
 * the host's) joined with it; an empty entry means the working directory.
 * One allocation, NULL-terminated (caller frees). */
char **procrun_exec_candidates(const char *name, const char *path)
{
	size_t nlen = strlen(name);
	if (strchr(name, '/')) {
		char **v = malloc(2 * sizeof(char *) + nlen + 1);
		if (!v)
			return NULL;
		v[0] = (char *)(v + 2);
		memcpy(v[0], name, nlen + 1);
		v[1] = NULL;
		return v;
	}
	size_t n = 1, plen = strlen(path);
	for (const char *c = path; *c; c++)
		n += *c == ':';
	char **v = malloc((n + 1) * sizeof(char *) + plen + n * (nlen + 2));
	if (!v)
		return NULL;
	char *buf = (char *)(v + n + 1);
	size_t k = 0;
	for (const char *seg = path;;) {
		const char *colon = strchr(seg, ':');
		size_t sl = colon ? (size_t)(colon - seg) : strlen(seg);
		v[k++] = buf;
		if (sl) {
			memcpy(buf, seg, sl);
			buf += sl;
			*buf++ = '/';
		}
		memcpy(buf, name, nlen + 1);
		buf += nlen + 1;
		if (!colon)
			break;
		seg = colon + 1;
	}
	v[k] = NULL;
	return v;
}

static int path_inside(const char *path, const char *root)
{
	size_t len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (len == 1 && root[0] == '/')
		return 1;
	return strncmp(path, root, len) == 0 &&
	       (path[len] == '\0' || path[len] == '/');
}

/* Make fd >= 3 so that dup'ing the command's stdio onto 0, 1, 2 can never
 * overwrite another of its descriptors (a host may have closed its own). */
int procrun_fd_high(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	errno = e;
	return nfd;
}

/* Open the working directory once and hand the command that very directory
 * (fchdir), after checking where it really is: a symlink swapped in after
 * the host's check cannot move the command elsewhere. */
int procrun_open_workdir(const struct monkey_host *host,
			 const struct monkey_exec_request *req, int *fd_out,
			 struct monkey_error *err)
{
	*fd_out = -1;
	if (!req->workdir)
		return 0;
	int fd = procrun_fd_high(
	    open(req->workdir, O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (fd < 0)
		return procrun_set_err(host, err, procrun_setup_code(errno),
				       "working directory %s: %s", req->workdir,
				       strerror(errno));
	if (req->workspace) {
		char link[64], real[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, real, sizeof(real) - 1);
		int ok = 0;
		if (n > 0) {
			real[n] = '\0';
			ok = path_inside(real, req->workspace);
			if (!ok) {
				char *ws = realpath(req->workspace, NULL);
				ok = ws && path_inside(real, ws);
				free(ws);
			}
		}
		if (!ok) {
			int e = n > 0 ? -EPERM : -EIO;
			close(fd);
			return procrun_set_err(
			    host, err, e,
			    "working directory %s is not inside "
			    "the workspace %s; refusing to run there",
			    req->workdir, req->workspace);
		}
	}
	*fd_out = fd;
	return 0;
}

static void add_rlimit(struct procrun_spawn *s, int resource, uint64_t want,
		       uint64_t hard_extra)
{
	struct rlimit cur;
	if (getrlimit(resource, &cur) < 0)
		return;
	/* The hard limit comes down too, or the command could lift the soft
	 * one again; it can never go above what the host has. */
	uint64_t hard = want + hard_extra;
	if (cur.rlim_max != RLIM_INFINITY && hard > cur.rlim_max)
		hard = cur.rlim_max;
	s->rl[s->n_rl].resource = resource;
	s->rl[s->n_rl].cur = want < hard ? want : hard;
	s->rl[s->n_rl].max = hard;
	s->n_rl++;
}

void procrun_plan_rlimits(struct procrun_spawn *s,
			  const struct monkey_exec_request *req)
{
	if (req->memory_bytes)
		add_rlimit(s, RLIMIT_AS, req->memory_bytes, 0);
	/* One second between SIGXCPU and SIGKILL, so the command may notice. */
	if (req->cpu_time_s)
		add_rlimit(s, RLIMIT_CPU, req->cpu_time_s, 1);
	if (req->file_size_bytes)
		add_rlimit(s, RLIMIT_FSIZE, req->file_size_bytes, 0);
	if (req->open_files)
		add_rlimit(s, RLIMIT_NOFILE, req->open_files, 0);
}

static const char *rlimit_name(int resource)
{
	switch (resource) {
	case RLIMIT_AS:
		return "address-space (memory) limit";
	case RLIMIT_CPU:
		return "CPU time limit";
	case RLIMIT_FSIZE:
		return "file size limit";
	case RLIMIT_NOFILE:
		return "open files limit";
	}
	return "limit";
}

/* pipe2 with both ends >= 3 and the host's end non-blocking. */
int procrun_make_pipe(int p[2], int host_end)
{
	if (pipe2(p, O_CLOEXEC) < 0) {
		p[0] = p[1] = -1;
		return -errno;
	}
	p[0] = procrun_fd_high(p[0]);
	p[1] = procrun_fd_high(p[1]);
	if (p[0] < 0 || p[1] < 0 ||
	    fcntl(p[host_end], F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		p[0] = p[1] = -1;
		return -e;
	}
	return 0;
}

/* Why the command could not start, in words naming the program. */
int procrun_exec_failure(const struct monkey_host *host, const char *name,
			 const struct procrun_spawn *s, const char *path,
			 const struct procrun_msg *m, struct monkey_error *err)
{
	char *const *paths = s->paths;
	int e = m->a, stage = m->b & 0xff;
	struct stat st;
	switch (stage) {
	case PROCRUN_STAGE_EXEC:
		if (e == ENOENT && strchr(name, '/')) {
			if (stat(paths[0], &st) == 0)
				return procrun_set_err(
				    host, err, -ENOENT,
				    "%s: its interpreter (the #! "
				    "line) was not found",
				    name);
			return procrun_set_err(host, err, -ENOENT,
					       "%s: no such file or directory",
					       name);
		}
		if (e == ENOENT) {
			/* A script found in PATH whose #! interpreter is
			 * missing fails with ENOENT too. */
			for (char *const *c = paths; *c; c++)
				if (stat(*c, &st) == 0 && S_ISREG(st.st_mode))
					return procrun_set_err(
					    host, err, -ENOENT,
					    "%s: its interpreter (the #! line "
					    "of %s) was not found",
					    name, *c);
			return procrun_set_err(
			    host, err, -ENOENT,
			    "%s: command not found (searched "
			    "PATH=%s)",
			    name, path);
		}
		if (e == EACCES)
			return procrun_set_err(host, err, -EACCES,
					       "%s: permission denied: not an "
					       "executable file",
					       name);
		if (e == ENOEXEC)
			return procrun_set_err(
			    host, err, -ENOEXEC,
			    "%s: cannot execute: neither a binary "
			    "nor a script with a #! line",
			    name);
		return procrun_set_err(host, err, -e, "%s: cannot execute: %s",
				       name, strerror(e));
	case PROCRUN_STAGE_CHDIR:
		return procrun_set_err(
		    host, err, procrun_setup_code(e),
		    "%s: cannot enter the working directory: %s", name,
		    strerror(e));
	case PROCRUN_STAGE_MARK:
		return procrun_set_err(
		    host, err, procrun_setup_code(e),
		    "%s: cannot mark the process (RLIMIT_RTTIME): %s", name,
		    strerror(e));
	case PROCRUN_STAGE_RLIMIT: {
		int i = (m->b >> 8) & 0xff;
		return procrun_set_err(
		    host, err, procrun_setup_code(e),
		    "%s: cannot apply the %s: %s", name,
		    i < s->n_rl ? rlimit_name(s->rl[i].resource) : "limit",
		    strerror(e));
	}
	default:
		return procrun_set_err(
		    host, err, procrun_setup_code(e),
		    "%s: cannot set up the process (step %d): %s", name, stage,
		    strerror(e));
	}
}
