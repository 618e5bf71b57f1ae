/* monkey-launch: the process a prestarted (pooled) container runs.  It
 * waits on stdin for one command, then becomes that command with execve,
 * so the command ends up exactly as in a fresh container: PID 1, the
 * container's environment untouched, argv passed literally, stdin the rest
 * of the attach stream (or /dev/null).
 *
 * Built static (the image may hold nothing but the user's files) and
 * bind-mounted read-only into pooled containers by the docker backend.
 *
 * Header on stdin, integers as 32-bit big-endian:
 *   "MKL1" flags nonce-len nonce workdir-len workdir argc {len arg}*argc
 * flags bit 0: the command has stdin (else fd 0 becomes /dev/null).
 * When the command cannot be started, one record goes to stderr:
 *   "\036monkey-launch:" nonce ":" errno ":" stage ":" message "\n"
 * and the launcher exits 127 (ENOENT), 126 (EACCES) or 125.  The nonce is
 * random per command, so no program's own output can pass for it. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static void fail(int err, const char *stage, const char *msg)
{
	char line[4200];
	int n = snprintf(line, sizeof(line), "\036monkey-launch:%s:%d:%s:%s\n",
			 nonce, err, stage, msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (n > 0 && write(2, line, (size_t)n) < 0)
		n = 0;
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

int main(void)
{
	char magic[4];
	uint32_t flags, argc;
	size_t total = 0;
	char msg[4096];

	/* Nothing came (the pool was emptied): end quietly. */
	if (read_full(magic, 4) < 0 || memcmp(magic, "MKL1", 4))
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
	execve(prog, argv, environ);
	int e = errno;
	snprintf(msg, sizeof(msg), "exec: \"%s\": %s", argv[0], errtext(e));
	fail(e, "exec", msg);
	return 125;
}
