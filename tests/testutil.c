/* Test helpers: run a program with captured output, temporary dirs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	char *b = realloc(*buf, *len + n + 1);
	if (!b)
		abort();
	memcpy(b + *len, data, n);
	*len += n;
	b[*len] = '\0';
	*buf = b;
}

int tu_run(struct tu_run *r, const char *stdin_data, char *const argv[],
	   char *const env_extra[])
{
	memset(r, 0, sizeof(*r));
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	int po[2], pe[2], pi[2];
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) ||
	    pipe2(pi, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pi[0], 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		for (size_t i = 0; env_extra && env_extra[i]; i++) {
			char *e = strdup(env_extra[i]);
			char *eq = strchr(e, '=');
			*eq = '\0';
			if (eq[1])
				setenv(e, eq + 1, 1);
			else
				unsetenv(e);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	close(pi[0]);
	signal(SIGPIPE, SIG_IGN);
	size_t in_len = stdin_data ? strlen(stdin_data) : 0, in_off = 0;
	if (in_len == 0) {
		close(pi[1]);
		pi[1] = -1;
	}
	int open_fds = 2;
	struct pollfd fds[3];
	while (open_fds > 0 || pi[1] >= 0) {
		fds[0] = (struct pollfd){.fd = po[0], .events = POLLIN};
		fds[1] = (struct pollfd){.fd = pe[0], .events = POLLIN};
		fds[2] = (struct pollfd){.fd = pi[1], .events = POLLOUT};
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		char buf[65536];
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));
			if (n > 0) {
				if (i == 0)
					append(&r->out, &r->out_len, buf,
					       (size_t)n);
				else
					append(&r->err, &r->err_len, buf,
					       (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(fds[i].fd);
				if (i == 0)
					po[0] = -1;
				else
					pe[0] = -1;
				open_fds--;
			}
		}
		if (pi[1] >= 0 && fds[2].revents) {
			ssize_t n =
			    write(pi[1], stdin_data + in_off, in_len - in_off);
			if (n > 0)
				in_off += (size_t)n;
			if (n < 0 || in_off == in_len) {
				close(pi[1]);
				pi[1] = -1;
			}
		}
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

void tu_run_free(struct tu_run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

const char *tu_builddir(void)
{
	const char *d = getenv("MONKEY_BUILDDIR");
	return d && *d ? d : MONKEY_BUILDDIR;
}

const char *tu_monkey(void)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/monkey", tu_builddir());
	return path;
}

const char *tu_modules_dir(void)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/tests/modules/.libs", tu_builddir());
	return path;
}

char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *p = NULL;
	if (asprintf(&p, "%s/monkey-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") <
	    0)
		abort();
	if (!mkdtemp(p))
		abort();
	return p;
}

/* chmod follows symlinks: a workspace's link to /etc or to its parent
 * (/tmp) would leave that mode 0700 for everyone but root. */
static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb, (void)ftw;
	if (flag != FTW_SL && flag != FTW_SLN)
		chmod(path, 0700);
	remove(path);
	return 0;
}

void tu_rmrf(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

void tu_write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fputs(content, f);
	fclose(f);
}

bool tu_contains(const char *haystack, const char *needle)
{
	return haystack && strstr(haystack, needle) != NULL;
}

const char *tu_instance_id(void)
{
	static char id[64];
	char stat[1024] = "";
	FILE *f = fopen("/proc/self/stat", "re");
	if (f) {
		size_t n = fread(stat, 1, sizeof(stat) - 1, f);
		stat[n] = '\0';
		fclose(f);
	}
	/* Field 22, the start time, is the 20th after the ")" of field 2. */
	char *p = strrchr(stat, ')');
	for (int i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	snprintf(id, sizeof(id), "%ld-%llu", (long)getpid(),
		 p ? strtoull(p + 1, NULL, 10) : 0ULL);
	return id;
}
