/* monkey-launch: the first process of every container the docker backend
 * starts when it is installed (prestarted pooled ones and fresh ones
 * alike).  It waits on stdin for one command, runs it as its only child
 * and tells the backend in-band how it ended, so the backend answers as
 * soon as the command is done instead of waiting for the engine to notice
 * the container stopped and asking it how (50-100 ms on the test machine).
 *
 * As PID 1 it also does what an init does: it passes SIGTERM and the like
 * on to every process of the container (PID 1 itself would ignore them, so
 * a timeout would always wait out the grace time) and reaps orphans.
 *
 * Built static (the image may hold nothing but the user's files) and
 * bind-mounted read-only into the containers by the docker backend.
 *
 * Header on stdin, integers as 32-bit big-endian:
 *   "MKL2" flags nonce-len nonce workdir-len workdir argc {len arg}*argc
 * flags bit 0: the command has stdin (the rest of stdin; else /dev/null).
 * Before it reads the header it writes "\036monkey-launch:ready\n" to
 * stderr: until then the stream carries nothing of a command's.
 * When the command has ended, one record goes to each stream:
 *   stdout: "\036monkey-launch:" nonce ":end\n"
 *   stderr: "\036monkey-launch:" nonce ":" how ":" N ":" oom "\n"
 * how is "exit" (N its status) or "signal" (N the signal); oom is 1 when
 * the kernel's OOM killer killed a process of the container, 0 when not,
 * ? when the cgroup does not say.  Each record follows everything the
 * command wrote to that stream, so once both arrived the output is
 * complete.  When the command cannot be started the stderr record is
 *   "\036monkey-launch:" nonce ":fail:" errno ":" stage ":" message "\n"
 * and the launcher exits 127 (ENOENT), 126 (EACCES) or 125.  The nonce is
 * random per command and never reaches the command (the launcher is not
 * dumpable), so no program's own output can pass for a record. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TOTAL (8u << 20) /* more than any ARG_MAX */

extern char **environ;

static char nonce[65];

static int read_full(void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(0, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_u32(uint32_t *v)
{
	unsigned char b[4];
	if (read_full(b, 4) < 0)
		return -1;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	     (uint32_t)b[2] << 8 | b[3];
	return 0;
}

/* A length-prefixed string, NUL-terminated; total bounds all of them. */
static char *read_str(size_t *total)
{
	uint32_t len;
	if (read_u32(&len) < 0 || len > MAX_TOTAL - *total)
		return NULL;
	*total += len;
	char *s = malloc((size_t)len + 1);
	if (!s || read_full(s, len) < 0)
		return NULL;
	s[len] = '\0';
	return s;
}

/* strerror in the runtime's (Go's) lower case, so messages read the same
 * as a fresh container's. */
static const char *errtext(int e)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

static void put_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* One record on fd: the marker, this command's nonce, then text.  The
 * command may have left the shared pipe non-blocking; a record must not
 * be dropped on a full pipe, so writes block again. */
static void record(int fd, const char *text)
{
	char line[4400];
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	int n = snprintf(line, sizeof(line), "\036monkey-launch:%s:%s\n",
			 nonce, text);
	if (n > (int)sizeof(line) - 1) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (n > 0)
		put_all(fd, line, (size_t)n);
}

static void fail(int err, const char *stage, const char *msg)
{
	char text[4300];
	snprintf(text, sizeof(text), "fail:%d:%s:%s", err, stage, msg);
	record(1, "end");
	record(2, text);
	_exit(err == ENOENT ? 127 : err == EACCES ? 126 : 125);
}

/* What the container runtime does with argv[0] (Go's exec.LookPath): a
 * name with a slash is used as it is; otherwise the first regular file
 * with an execute bit in $PATH. */
static char *look_path(const char *file)
{
	struct stat sb;
	if (strchr(file, '/'))
		return strdup(file);
	const char *path = getenv("PATH");
	if (!path)
		path = "";
	size_t fl = strlen(file);
	for (const char *p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t dl = end ? (size_t)(end - p) : strlen(p);
		char *cand = malloc(dl + fl + 3);
		if (!cand)
			return NULL;
		if (dl == 0)
			sprintf(cand, "./%s", file);
		else
			sprintf(cand, "%.*s/%s", (int)dl, p, file);
		if (stat(cand, &sb) == 0 && !S_ISDIR(sb.st_mode) &&
		    (sb.st_mode & 0111))
			return cand;
		free(cand);
		if (!end)
			break;
		p = end;
	}
	return NULL;
}

/* The container's count of OOM kills (cgroup v2, then v1), or -1. */
static long oom_kills(void)
{
	static const char *const files[] = {
	    "/sys/fs/cgroup/memory.events",
	    "/sys/fs/cgroup/memory/memory.oom_control",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = fopen(files[i], "r");
		char line[128];
		long n = -1;
		if (!f)
			continue;
		while (n < 0 && fgets(line, sizeof(line), f))
			if (sscanf(line, "oom_kill %ld", &n) != 1)
				n = -1;
		fclose(f);
		if (n >= 0)
			return n;
	}
	return -1;
}

static pid_t child;

/* A signal for the container (the engine's kill at a timeout, Ctrl-C):
 * every process in it gets it, as they would without an init. */
static void forward(int sig)
{
	int saved = errno;
	if (getpid() == 1)
		kill(-1, sig);
	else if (child > 0)
		kill(-child, sig);
	errno = saved;
}

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT,
				SIGUSR1, SIGUSR2};

int main(void)
{
	char magic[4];
	uint32_t flags, argc;
	size_t total = 0;
	char msg[4096];

	/* A signal for the container that comes before the command runs
	 * (a timeout while the header arrives) waits, blocked, for the
	 * handler: as PID 1 without one, the kernel would drop it. */
	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	/* The nonce must stay secret from the command: not dumpable, its
	 * memory and /proc files are closed to processes of the same user. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* First words: the backend knows the launcher runs (until then,
	 * whatever the stream carries is the runtime's, not a command's). */
	put_all(2, "\036monkey-launch:ready\n", 21);
	/* Nothing came (the pool was emptied): end quietly. */
	if (read_full(magic, 4) < 0 || memcmp(magic, "MKL2", 4))
		return 125;
	if (read_u32(&flags) < 0)
		return 125;
	char *n = read_str(&total);
	if (!n)
		return 125;
	snprintf(nonce, sizeof(nonce), "%s", n);
	char *wd = read_str(&total);
	if (!wd || read_u32(&argc) < 0 || argc == 0 || argc > MAX_TOTAL / 4)
		fail(EPROTO, "header", "malformed command header");
	char **argv = calloc((size_t)argc + 1, sizeof(*argv));
	if (!argv)
		fail(ENOMEM, "header", "out of memory");
	for (uint32_t i = 0; i < argc; i++)
		if (!(argv[i] = read_str(&total)))
			fail(EPROTO, "header", "malformed command header");

	if (!(flags & 1)) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			fail(errno, "stdin", "cannot open /dev/null");
		if (fd != 0)
			close(fd);
	}
	if (wd[0] && chdir(wd) < 0) {
		snprintf(msg, sizeof(msg), "chdir to cwd (\"%s\"): %s", wd,
			 errtext(errno));
		fail(errno, "chdir", msg);
	}
	char *prog = look_path(argv[0]);
	if (!prog) {
		snprintf(msg, sizeof(msg),
			 "exec: \"%s\": executable file not found in $PATH",
			 argv[0]);
		fail(ENOENT, "exec", msg);
	}

	/* execve's errno comes back through a close-on-exec pipe: nothing
	 * arrives when the exec worked. */
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		fail(errno, "exec", "cannot create a pipe");
	struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	child = fork();
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		setpgid(0, 0);
		close(pfd[0]);
		execve(prog, argv, environ);
		int e = errno;
		put_all(pfd[1], (const char *)&e, sizeof(e));
		_exit(127);
	}
	if (child < 0)
		fail(errno, "exec", "cannot fork");
	/* Both sides set the group, so a signal forwarded with kill(-child)
	 * finds it whichever runs first (when the launcher is not PID 1). */
	setpgid(child, child);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pfd[1]);
	int e = 0;
	ssize_t got;
	while ((got = read(pfd[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	int status = 0;
	if (got == (ssize_t)sizeof(e)) {
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		snprintf(msg, sizeof(msg), "exec: \"%s\": %s", argv[0],
			 errtext(e));
		fail(e, "exec", msg);
	}

	/* Reap whatever ends (orphans are ours as PID 1) until the command
	 * does; what it left running dies with this process. */
	for (;;) {
		pid_t p = waitpid(-1, &status, 0);
		if (p == child)
			break;
		if (p < 0 && errno != EINTR) {
			status = 0x7f00; /* no child: cannot happen */
			break;
		}
	}
	long kills = oom_kills();
	const char *oom = kills < 0 ? "?" : kills > 0 ? "1" : "0";
	char text[64];
	int code;
	if (WIFSIGNALED(status)) {
		snprintf(text, sizeof(text), "signal:%d:%s", WTERMSIG(status),
			 oom);
		code = 128 + WTERMSIG(status);
	} else {
		snprintf(text, sizeof(text), "exit:%d:%s", WEXITSTATUS(status),
			 oom);
		code = WEXITSTATUS(status);
	}
	record(1, "end");
	record(2, text);
	return code;
}
