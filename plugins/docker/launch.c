/* monkey-launch: the first process of every container the docker backend
 * starts when it is installed (prestarted pooled ones and fresh ones
 * alike).  It waits on stdin for one command, runs it as its only child
 * and tells the backend in-band how it ended, so the backend answers as
 * soon as the command is done instead of waiting for the engine to notice
 * the container stopped and asking it how (50-100 ms on the test machine).
 *
 * As PID 1 it also does what an init does: it passes SIGTERM and the like
 * on to every process of the container (PID 1 itself would ignore them, so
 * a timeout would always wait out the grace time) and reaps orphans.  And
 * it ties the container's life to monkey's: its stdin is monkey's attach
 * connection, so end of file there means monkey is gone (however it died),
 * and the launcher kills everything in the container and exits.
 *
 * In a session (flags bit 1 of the first header) it serves commands one
 * after another: PID 1 forks one worker per command, a child subreaper
 * that reads the rest of that command's header and runs it exactly as
 * below, then, at its end, kills every process of the container but
 * itself and PID 1 (which no signal from inside the container reaches),
 * so nothing a command started (a setsid daemon, a double fork) outlives
 * it; files remain.  The worker enforces the command's timeout itself
 * (SIGTERM to every process, SIGKILL after the grace time), and a "K"
 * byte after the command's stdin asks it to stop the same way (cancel).
 * PID 1 then reads the next header; "K" bytes before it are late cancels
 * and skipped.  A worker kills only its own subtree (every process whose
 * parents lead to it: as a subreaper it inherits what the command's
 * processes orphan), so that the session's jobs live on.
 *
 * A job ("monkey-launch job", started through the engine's exec into a
 * session's container, on a stream of its own) is such a worker on its
 * own stdin: the header as in a session, then frames: "D" len32 data for
 * the job's stdin, "E" to close it, "K" to stop the job (SIGTERM, grace,
 * SIGKILL).  It writes no ready lines; its records end its output as a
 * command's do.
 *
 * Built static (the image may hold nothing but the user's files) and
 * bind-mounted read-only into the containers by the docker backend.
 *
 * Header on stdin, integers as 32-bit big-endian (64-bit ones as two):
 *   "MKL3" flags nonce-len nonce workdir-len workdir
 *   nguard {path-len path dev64 ino64}*nguard argc {len arg}*argc
 *   [timeout-ms64 grace-ms64 nenv {len NAME=value}*nenv] stdin-len64
 * The bracketed part is there in a session only (flags bit 1); the
 * variables are set over the container's environment for the command.
 * Each guard is a path that must be a read-only mount of that very inode
 * (the workspace's .git, which monkey looked at without following
 * symlinks; the engine mounted whatever the path named later): otherwise
 * the command does not run.
 * flags bit 0: the command has stdin, the stdin-len bytes that follow the
 * header (else /dev/null); the launcher copies them to the command through
 * a pipe.  It reads its own stdin on: end of file there is the host gone.
 * Before it reads the header it writes "\036monkey-launch:ready\n" to
 * stdout and to stderr: until then neither carries anything of a
 * command's.
 * When the command has ended, one record goes to each stream:
 *   stdout: "\036monkey-launch:" nonce ":end\n"
 *   stderr: "\036monkey-launch:" nonce ":" how ":" N ":" oom ":" pids ":"
 *           cpu [":" why] ":" peak ":" user ":" sys "\n"
 * how is "exit" (N its status) or "signal" (N the signal); oom is 1 when
 * the kernel's OOM killer killed a process of the container, 0 when not,
 * ? when the cgroup does not say; pids is 1 when a fork failed at the
 * container's pids limit while the command ran, 0 when none did, ? when
 * the cgroup does not say; cpu is 1 when the command was killed at its
 * CPU-time limit (RLIMIT_CPU), else 0.  In a session the record has one
 * more field after cpu, ":t" when the worker stopped the command at its
 * timeout, ":c" when at a cancel, ":-" otherwise, and oom counts only
 * this command's OOM kills.  Then peak is the memory high-water mark in
 * bytes (the container's, or in a session the command's processes'),
 * user and sys the CPU time the command used in microseconds, each ?
 * when unknown.  Each record follows everything the
 * command wrote to that stream, so once both arrived the output is
 * complete.  When the command cannot be started the stderr record is
 *   "\036monkey-launch:" nonce ":fail:" errno ":" stage ":" message "\n"
 * and the launcher exits 127 (ENOENT), 126 (EACCES) or 125.  The nonce is
 * random per command and never reaches the command (the launcher is not
 * dumpable), so no program's own output can pass for a record. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TOTAL (8u << 20) /* more than any ARG_MAX */

extern char **environ;

static char nonce[65];
/* A session's worker (see above): not PID 1, yet it kills every process
 * of the container at the end of its command. */
static int session_worker;
/* A job (see above): stdin is framed, and stays open. */
static int job_mode;
/* A session's command: its timeout and grace (0: none), and why the
 * worker stopped it ('t' timeout, 'c' cancel, '-' it did not). */
static int64_t cmd_timeout_ms, cmd_grace_ms;
static char stop_why = '-';

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
	     b[3];
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
	int n = snprintf(line, sizeof(line), "\036monkey-launch:%s:%s\n", nonce,
			 text);
	if (n > (int)sizeof(line) - 1) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (n > 0)
		put_all(fd, line, (size_t)n);
}

/* Called before a failure record: the command's stdin still on the way
 * is read first (see drain_stdin). */
static void (*before_fail)(void);

static void fail(int err, const char *stage, const char *msg)
{
	char text[4300];
	if (before_fail)
		before_fail();
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

/* The first number of the line starting with key in the first of files
 * that has one, or -1. */
static long cgroup_count(const char *const *files, size_t n, const char *key)
{
	char fmt[64];
	snprintf(fmt, sizeof(fmt), "%s %%ld", key);
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(files[i], "re");
		char line[128];
		long v = -1;
		if (!f)
			continue;
		while (v < 0 && fgets(line, sizeof(line), f))
			if (sscanf(line, fmt, &v) != 1)
				v = -1;
		fclose(f);
		if (v >= 0)
			return v;
	}
	return -1;
}

/* The container's count of OOM kills (cgroup v2, then v1), or -1. */
static long oom_kills(void)
{
	static const char *const files[] = {
	    "/sys/fs/cgroup/memory.events",
	    "/sys/fs/cgroup/memory/memory.oom_control",
	};
	return cgroup_count(files, 2, "oom_kill");
}

/* How often a fork failed at the container's pids limit (cgroup v1, then
 * v2), or -1. */
static long pids_refusals(void)
{
	static const char *const files[] = {
	    "/sys/fs/cgroup/pids/pids.events",
	    "/sys/fs/cgroup/pids.events",
	};
	return cgroup_count(files, 2, "max");
}

/* The first number in the first of files that can be read (after key
 * and a space when key is given), or -1. */
static long long cgroup_value(const char *const *files, size_t n,
			      const char *key)
{
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(files[i], "re");
		char line[128];
		long long v = -1;
		size_t kl = key ? strlen(key) : 0;
		if (!f)
			continue;
		while (v < 0 && fgets(line, sizeof(line), f))
			if (!key ||
			    (!strncmp(line, key, kl) && line[kl] == ' '))
				if (sscanf(line + (key ? kl + 1 : 0), "%lld",
					   &v) != 1)
					v = -1;
		fclose(f);
		if (v >= 0)
			return v;
	}
	return -1;
}

/* Resource use of the container's cgroup (ABI 1.2): its memory
 * high-water mark in bytes and its CPU time in microseconds, -1 each when
 * the cgroup does not say. */
struct usage {
	long long peak, user_us, sys_us;
};

static void cgroup_usage(struct usage *u)
{
	static const char *const peak[] = {
	    "/sys/fs/cgroup/memory/memory.max_usage_in_bytes",
	    "/sys/fs/cgroup/memory.peak",
	};
	static const char *const user_v1[] = {
	    "/sys/fs/cgroup/cpuacct/cpuacct.usage_user",
	    "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage_user",
	};
	static const char *const sys_v1[] = {
	    "/sys/fs/cgroup/cpuacct/cpuacct.usage_sys",
	    "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage_sys",
	};
	static const char *const stat_v2[] = {"/sys/fs/cgroup/cpu.stat"};
	u->peak = cgroup_value(peak, 2, NULL);
	long long user_ns = cgroup_value(user_v1, 2, NULL);
	long long sys_ns = cgroup_value(sys_v1, 2, NULL);
	u->user_us = user_ns < 0 ? -1 : user_ns / 1000;
	u->sys_us = sys_ns < 0 ? -1 : sys_ns / 1000;
	if (u->user_us < 0 || u->sys_us < 0) {
		u->user_us = cgroup_value(stat_v2, 1, "user_usec");
		u->sys_us = cgroup_value(stat_v2, 1, "system_usec");
	}
}

/* What the processes the launcher reaped used: the figures when the
 * cgroup cannot be read (every process of the container ends up the
 * launcher's to reap). */
static void rusage_usage(struct usage *u)
{
	struct rusage ru;
	if (getrusage(RUSAGE_CHILDREN, &ru) < 0) {
		u->peak = u->user_us = u->sys_us = -1;
		return;
	}
	u->peak = (long long)ru.ru_maxrss * 1024;
	u->user_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
	u->sys_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
}

/* The container's counters before the command: CPU time is counted from
 * here.  The memory high-water mark cannot be reset (the cgroup is
 * mounted read-only), so it covers the container's life, which is one
 * command's. */
static void usage_begin(struct usage *cg, struct usage *ru)
{
	cgroup_usage(cg);
	rusage_usage(ru);
}

/* ":peak:user_us:sys_us" of the command into buf, each figure a number or
 * "?". */
static void usage_text(const struct usage *cg0, const struct usage *ru0,
		       char *buf, size_t len)
{
	struct usage cg, ru, d;
	cgroup_usage(&cg);
	rusage_usage(&ru);
	const struct usage *now = &cg, *then = cg0;
	/* A session's cgroup holds every command so far and the jobs: a
	 * worker counts the CPU of what it reaped, its command's tree, and
	 * the memory high-water mark when this command raised it (tmpfs
	 * files are charged there, not to a process), else its processes'
	 * largest. */
	if (session_worker || cg.user_us < 0 || cg0->user_us < 0)
		now = &ru, then = ru0;
	if (!session_worker)
		d.peak = cg.peak >= 0 ? cg.peak : ru.peak;
	else
		d.peak = cg.peak >= 0 && cg0->peak >= 0 && cg.peak > cg0->peak
			     ? cg.peak
			     : ru.peak;
	d.user_us = now->user_us >= 0 && then->user_us >= 0
			? now->user_us - then->user_us
			: -1;
	d.sys_us = now->sys_us >= 0 && then->sys_us >= 0
		       ? now->sys_us - then->sys_us
		       : -1;
	char f[3][24];
	long long v[3] = {d.peak, d.user_us, d.sys_us};
	for (int i = 0; i < 3; i++)
		if (v[i] < 0)
			snprintf(f[i], sizeof(f[i]), "?");
		else
			snprintf(f[i], sizeof(f[i]), "%lld", v[i]);
	snprintf(buf, len, ":%s:%s:%s", f[0], f[1], f[2]);
}

/* CPU time the process used itself (fields 14 and 15 of its stat, in
 * clock ticks); 0 when it cannot be read. */
static unsigned long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The name may hold spaces: count from the ')' that ends it. */
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 13; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* Whether the command died of its CPU-time limit: SIGXCPU at the soft
 * limit, or SIGKILL at the hard one with that much CPU used. */
static int cpu_limit_hit(int status, unsigned long long ticks)
{
	struct rlimit rl;
	if (!WIFSIGNALED(status) || getrlimit(RLIMIT_CPU, &rl) < 0 ||
	    rl.rlim_cur == RLIM_INFINITY)
		return 0;
	if (WTERMSIG(status) == SIGXCPU)
		return 1;
	long hz = sysconf(_SC_CLK_TCK);
	if (WTERMSIG(status) != SIGKILL || rl.rlim_max == RLIM_INFINITY ||
	    hz <= 0)
		return 0;
	/* /proc shows the time scaled to ticks, a little below what the
	 * kernel counted (0.97 s at a 1 s limit here). */
	return ticks + (unsigned long long)hz / 5 >=
	       (unsigned long long)rl.rlim_max * (unsigned long long)hz;
}

static pid_t child;
static int chld_pipe[2] = {-1, -1};

#define MAX_PROCS 8192

/* Send sig to every live process whose parents lead to root (root
 * excluded).  Returns how many got it. */
static int signal_subtree(pid_t root, int sig)
{
	static pid_t pid[MAX_PROCS], ppid[MAX_PROCS];
	static char mark[MAX_PROCS];
	int n = 0, hit = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && n < MAX_PROCS && (e = readdir(d))) {
		char path[300], buf[512], state;
		int pp;
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		char *p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %c %d", &state, &pp) != 2 ||
		    state == 'Z')
			continue;
		pid[n] = (pid_t)atoi(e->d_name);
		ppid[n] = pp;
		mark[n++] = 0;
	}
	if (d)
		closedir(d);
	/* Marked: a descendant of root.  Repeat until nothing changes. */
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < n; i++) {
			if (mark[i])
				continue;
			int up = ppid[i] == root;
			for (int k = 0; !up && k < n; k++)
				up = mark[k] && pid[k] == ppid[i];
			if (up)
				mark[i] = changed = 1;
		}
	}
	for (int i = 0; i < n; i++)
		if (mark[i] && pid[i] != getpid() && kill(pid[i], sig) == 0)
			hit++;
	return hit;
}

/* Signal what a command started: a session's worker signals its own
 * subtree (the session's jobs live on), PID 1 every process, else the
 * command's group. */
static int signal_command(int sig)
{
	if (session_worker)
		return signal_subtree(getpid(), sig);
	if (getpid() == 1)
		kill(-1, sig);
	else if (child > 0)
		kill(-child, sig);
	return 1;
}

/* Everything the command started dies, and is reaped by the caller. */
static void kill_all(void)
{
	/* A process forking while it was killed leaves a child: again,
	 * until none is left (bounded).  None left at all (the usual end)
	 * costs one look at /proc. */
	int hit = signal_command(SIGKILL);
	for (int i = 0; session_worker && hit && i < 100; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!signal_subtree(getpid(), SIGKILL))
			break;
	}
}

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

/* A child ended: the main loop learns it through the pipe. */
static void on_chld(int sig)
{
	int saved = errno;
	ssize_t n = write(chld_pipe[1], "c", 1);
	(void)sig, (void)n;
	errno = saved;
}

static const int forwarded[] = {SIGTERM, SIGINT,  SIGHUP,
				SIGQUIT, SIGUSR1, SIGUSR2};

/* The command's stdin: the next `left` bytes of ours, through a pipe. */
struct feed {
	uint64_t left; /* bytes of the command's stdin still to read */
	int cancel;    /* a session's "K" came after the stdin */
	int eof_after; /* a job's "E" came: close once the data is out */
	int out;       /* the pipe's write end; -1 once closed */
	size_t off, len;
	char buf[65536];
};

static void feed_close(struct feed *f)
{
	if (f->out >= 0)
		close(f->out);
	f->out = -1;
	f->off = f->len = 0;
}

/* Our stdin ended: monkey's connection is gone, so is the command. */
static void host_gone(void)
{
	kill_all();
	_exit(137);
}

static int read_u32(uint32_t *v);

/* A job's frame, its type byte read: data for its stdin (the next len
 * bytes go there as a command's stdin does), its end, or a stop. */
static void job_frame(struct feed *f, char type)
{
	uint32_t len;
	if (type == 'D' && read_u32(&len) == 0)
		f->left = len;
	else if (type == 'E' && !f->len)
		feed_close(f);
	else if (type == 'E')
		f->eof_after = 1;
	else if (type == 'K')
		f->cancel = 1;
	else
		host_gone(); /* not a frame: the stream is broken */
}

static void feed_read(struct feed *f)
{
	char scratch[4096];
	char *dst = f->left ? f->buf : scratch;
	size_t want = f->left ? sizeof(f->buf) : sizeof(scratch);
	if (!f->left && job_mode)
		want = 1; /* one frame type at a time */
	if (f->left && f->left < want)
		want = (size_t)f->left;
	ssize_t n = read(0, dst, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0)
		host_gone();
	if (!f->left && job_mode) {
		job_frame(f, dst[0]);
		return;
	}
	if (!f->left) {
		/* Past the command's stdin: nothing is sent there.  In a
		 * session a "K" asks for the command to stop. */
		if (session_worker && memchr(dst, 'K', (size_t)n))
			f->cancel = 1;
		return;
	}
	f->left -= (uint64_t)n;
	if (f->out >= 0) {
		f->off = 0;
		f->len = (size_t)n;
	}
	if (!f->left && f->out >= 0 && !f->len && !job_mode)
		feed_close(f);
}

static void feed_write(struct feed *f)
{
	ssize_t w = write(f->out, f->buf + f->off, f->len - f->off);
	if (w < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (w < 0) {
		/* The command closed its stdin: the rest is read and
		 * dropped. */
		feed_close(f);
		return;
	}
	f->off += (size_t)w;
	if (f->off == f->len) {
		f->off = f->len = 0;
		if (!f->left && (!job_mode || f->eof_after))
			feed_close(f);
	}
}

/* Reap whatever ended (orphans are ours as PID 1).  1 once the command
 * has, with its status and the CPU time it used. */
static int reap(int *status, unsigned long long *ticks)
{
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == 0)
			return 0;
		if (si.si_pid == child) {
			/* Its times, read while it is a zombie. */
			*ticks = cpu_ticks(child);
			while (waitpid(child, status, 0) < 0 && errno == EINTR)
				;
			return 1;
		}
		waitpid(si.si_pid, NULL, 0);
	}
}

/* A session's worker stops its command at the timeout or a cancel:
 * SIGTERM to every process, SIGKILL once the grace time passed.  Returns
 * how long poll may sleep before this must look again (-1: no limit). */
static int stopper(const struct feed *f, int64_t t0, int64_t *kill_at)
{
	int64_t now = mono_ms();
	if (!session_worker)
		return -1;
	if (stop_why == '-' &&
	    (f->cancel || (cmd_timeout_ms > 0 && now - t0 >= cmd_timeout_ms))) {
		stop_why = f->cancel ? 'c' : 't';
		signal_command(SIGTERM);
		*kill_at = now + cmd_grace_ms;
	}
	if (*kill_at >= 0 && now >= *kill_at) {
		signal_command(SIGKILL);
		*kill_at = -1;
	}
	int64_t wait = -1;
	if (*kill_at >= 0)
		wait = *kill_at - now;
	else if (stop_why == '-' && cmd_timeout_ms > 0)
		wait = t0 + cmd_timeout_ms - now;
	return wait < 0 ? -1 : wait > 60000 ? 60000 : (int)wait + 1;
}

/* Move the command's stdin and watch ours until the command ends. */
static void run(struct feed *f, int *status, unsigned long long *ticks)
{
	int64_t t0 = mono_ms(), kill_at = -1;
	for (;;) {
		int pending = f->len > f->off;
		struct pollfd p[3] = {
		    {.fd = 0, .events = pending ? 0 : POLLIN},
		    {.fd = pending ? f->out : -1, .events = POLLOUT},
		    {.fd = chld_pipe[0], .events = POLLIN},
		};
		int wait = stopper(f, t0, &kill_at);
		if (poll(p, 3, wait) <= 0)
			continue; /* EINTR: a signal was forwarded */
		if (p[2].revents) {
			char drain[64];
			while (read(chld_pipe[0], drain, sizeof(drain)) > 0)
				;
			if (reap(status, ticks))
				return;
		}
		if (p[1].revents)
			feed_write(f);
		if (p[0].revents)
			feed_read(f);
	}
}

/* The command is done; what monkey still sends of its stdin is read, so
 * that the engine has nothing pending when the container ends (podman
 * cuts the stream otherwise, records and all).  Bounded: monkey sends
 * it at once. */
static void drain_stdin(struct feed *f)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	feed_close(f);
	while (f->left) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 5)
			break;
		struct pollfd p = {.fd = 0, .events = POLLIN};
		if (poll(&p, 1, 100) > 0)
			feed_read(f);
	}
}

static struct feed *the_feed;

static void drain_on_fail(void) { drain_stdin(the_feed); }

static int read_u64(uint64_t *v)
{
	uint32_t hi, lo;
	if (read_u32(&hi) < 0 || read_u32(&lo) < 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* path must be a read-only mount of inode (dev, ino); exits with a
 * failure record when it is not. */
static void check_guard(const char *path, uint64_t dev, uint64_t ino)
{
	struct stat sb;
	struct statvfs vfs;
	char msg[4096];
	if (lstat(path, &sb) < 0 || (uint64_t)sb.st_dev != dev ||
	    (uint64_t)sb.st_ino != ino || statvfs(path, &vfs) < 0 ||
	    !(vfs.f_flag & ST_RDONLY)) {
		snprintf(msg, sizeof(msg),
			 "%s is not the read-only mount monkey set up (it was "
			 "replaced while the container started); the command "
			 "did not run",
			 path);
		fail(EIO, "guard", msg);
	}
}

/* The guards of the header, checked once the command's stdin can be
 * drained (a failure record must not be cut off by unread input). */
struct guard {
	char *path;
	uint64_t dev, ino;
};
static struct guard guards[16];
static uint32_t n_guards;

static void read_guards(size_t *total)
{
	if (read_u32(&n_guards) < 0 || n_guards > 16)
		fail(EPROTO, "header", "malformed command header");
	for (uint32_t i = 0; i < n_guards; i++) {
		guards[i].path = read_str(total);
		if (!guards[i].path || read_u64(&guards[i].dev) < 0 ||
		    read_u64(&guards[i].ino) < 0)
			fail(EPROTO, "header", "malformed command header");
	}
}

/* A session's part of the header: timeout, grace and the command's
 * variables, set here (the worker is the command's own process). */
static void read_session_part(size_t *total)
{
	uint64_t t, g;
	uint32_t nenv;
	if (read_u64(&t) < 0 || read_u64(&g) < 0 || read_u32(&nenv) < 0 ||
	    nenv > MAX_TOTAL / 4)
		fail(EPROTO, "header", "malformed command header");
	cmd_timeout_ms = (int64_t)(t > INT64_MAX ? INT64_MAX : t);
	cmd_grace_ms = (int64_t)(g > 3600000 ? 3600000 : g);
	for (uint32_t i = 0; i < nenv; i++) {
		char *kv = read_str(total);
		if (!kv || !strchr(kv, '=') || kv[0] == '=')
			fail(EPROTO, "header", "malformed command header");
		putenv(kv);
	}
}

/* The command header (after the magic and flags); exits on a malformed
 * one or a failed guard. */
static char **read_header(const uint32_t *flags, char **wd, uint64_t *stdin_len)
{
	size_t total = 0;
	uint32_t argc;
	char *n = read_str(&total);
	if (!n)
		exit(125);
	snprintf(nonce, sizeof(nonce), "%s", n);
	free(n);
	*wd = read_str(&total);
	if (!*wd)
		fail(EPROTO, "header", "malformed command header");
	read_guards(&total);
	if (read_u32(&argc) < 0 || argc == 0 || argc > MAX_TOTAL / 4)
		fail(EPROTO, "header", "malformed command header");
	char **argv = calloc((size_t)argc + 1, sizeof(*argv));
	if (!argv)
		fail(ENOMEM, "header", "out of memory");
	for (uint32_t i = 0; i < argc; i++)
		if (!(argv[i] = read_str(&total)))
			fail(EPROTO, "header", "malformed command header");
	if (*flags & 2)
		read_session_part(&total);
	if (read_u64(stdin_len) < 0 || (!(*flags & 1) && *stdin_len))
		fail(EPROTO, "header", "malformed command header");
	return argv;
}

/* Start the command: a child in its own process group with fd 0 on in
 * (a pipe or /dev/null).  Exits with a record when it cannot be. */
static void start(char **argv, const char *prog, int in, const sigset_t *mask)
{
	char msg[4096];
	/* execve's errno comes back through a close-on-exec pipe: nothing
	 * arrives when the exec worked. */
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		fail(errno, "exec", "cannot create a pipe");
	child = fork();
	if (child == 0) {
		sigprocmask(SIG_SETMASK, mask, NULL);
		setpgid(0, 0);
		if (dup2(in, 0) < 0)
			_exit(125);
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
	close(pfd[1]);
	close(in);
	int e = 0;
	ssize_t got;
	while ((got = read(pfd[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	if (got == (ssize_t)sizeof(e)) {
		int status;
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		snprintf(msg, sizeof(msg), "exec: \"%s\": %s", argv[0],
			 errtext(e));
		fail(e, "exec", msg);
	}
}

/* Proxy mode: "--proxy-forward FORWARDER PORT SOCKET" on the launcher's
 * command line.  The forwarder listens on 127.0.0.1:PORT in the
 * container (which has no other way out) before the command starts; it
 * dies with the launcher.  A forwarder that does not say it is ready is
 * the command's failure. */
static void start_forwarder(char **args, const sigset_t *mask)
{
	char *argv[] = {args[0],      "--port", args[1],
			"--ready-fd", "3",	"--die-with-parent",
			args[2],      NULL};
	char *envp[] = {NULL};
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		fail(errno, "proxy", "cannot create a pipe");
	pid_t pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, mask, NULL);
		if (pfd[1] == 3 ? fcntl(3, F_SETFD, 0) < 0
				: dup2(pfd[1], 3) < 0)
			_exit(125);
		execve(args[0], argv, envp);
		_exit(127);
	}
	if (pid < 0)
		fail(errno, "proxy", "cannot fork");
	close(pfd[1]);
	char buf[64] = "";
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(buf) - 1 &&
	       (n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	close(pfd[0]);
	if (strncmp(buf, "ready ", 6) != 0)
		fail(ECONNREFUSED, "proxy",
		     "the egress proxy's forwarder (monkey-proxy-forward) did "
		     "not start");
}

static void report(int status, unsigned long long ticks, long oom_before,
		   long pids_before, const struct usage *cg0,
		   const struct usage *ru0)
{
	long kills = oom_kills(), pids_after = pids_refusals();
	const char *oom = kills < 0 || oom_before < 0 ? "?"
			  : kills > oom_before	      ? "1"
						      : "0";
	const char *pids = pids_before < 0 || pids_after < 0 ? "?"
			   : pids_after > pids_before	     ? "1"
							     : "0";
	char use[80];
	usage_text(cg0, ru0, use, sizeof(use));
	char text[160];
	if (WIFSIGNALED(status))
		snprintf(text, sizeof(text), "signal:%d:%s:%s:%d",
			 WTERMSIG(status), oom, pids,
			 cpu_limit_hit(status, ticks));
	else
		snprintf(text, sizeof(text), "exit:%d:%s:%s:0",
			 WEXITSTATUS(status), oom, pids);
	if (session_worker)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 ":%c", stop_why);
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s", use);
	record(1, "end");
	record(2, text);
}

/* The command's working directory and program, as the runtime would
 * find them; exits with a failure record when there is none. */
static char *prepare(const char *wd, const char *argv0)
{
	char msg[4096];
	if (wd[0] && chdir(wd) < 0) {
		snprintf(msg, sizeof(msg), "chdir to cwd (\"%s\"): %s", wd,
			 errtext(errno));
		fail(errno, "chdir", msg);
	}
	char *prog = look_path(argv0);
	if (!prog) {
		snprintf(msg, sizeof(msg),
			 "exec: \"%s\": executable file not found in $PATH",
			 argv0);
		fail(ENOENT, "exec", msg);
	}
	return prog;
}

/* The command's fd 0: a pipe f feeds, or /dev/null. */
static int command_stdin(uint32_t flags, struct feed *f)
{
	int in[2] = {-1, -1};
	if (!(flags & 1)) {
		if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			fail(errno, "stdin", "cannot open /dev/null");
		return in[0];
	}
	if (pipe2(in, O_CLOEXEC) < 0)
		fail(errno, "stdin", "cannot create a pipe");
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	f->out = in[1];
	if (!f->left && !job_mode)
		feed_close(f);
	return in[0];
}

/* "--own DIR UID GID": hand a new cache volume's root to the command's
 * user.  Run once per new cache, as root with CAP_CHOWN alone, in a
 * container of its own (the docker backend's dk_caches_prepare). */
static int own(const char *dir, const char *uid_s, const char *gid_s)
{
	char *end1, *end2;
	errno = 0;
	unsigned long uid = strtoul(uid_s, &end1, 10);
	unsigned long gid = strtoul(gid_s, &end2, 10);
	if (errno || *end1 || *end2 || end1 == uid_s || end2 == gid_s ||
	    uid > 0xfffffffeUL || gid > 0xfffffffeUL)
		return 2;
	if (lchown(dir, (uid_t)uid, (gid_t)gid) < 0) {
		int e = errno;
		put_all(2, "monkey-launch: cannot hand the cache to its user: ",
			50);
		put_all(2, strerror(e), strlen(strerror(e)));
		put_all(2, "\n", 1);
		return 1;
	}
	return 0;
}

/* Proxy mode: "--proxy-forward FORWARDER PORT SOCKET" on the command
 * line; each command's forwarder is started before it. */
static char **proxy_args;

/* One command, its header read after the flags: run it, kill what it
 * left, report.  Returns the launcher's exit status. */
static int command(uint32_t flags, const sigset_t *old, const sigset_t *ours)
{
	uint64_t stdin_len;
	char *wd = NULL;
	char **argv = read_header(&flags, &wd, &stdin_len);
	struct feed *f = calloc(1, sizeof(*f));
	if (!f)
		fail(ENOMEM, "stdin", "out of memory");
	f->out = -1;
	f->left = stdin_len;
	the_feed = f;
	before_fail = drain_on_fail;
	for (uint32_t i = 0; i < n_guards; i++)
		check_guard(guards[i].path, guards[i].dev, guards[i].ino);
	char *prog = prepare(wd, argv[0]);
	int in = command_stdin(flags, f);
	if (pipe2(chld_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fail(errno, "exec", "cannot create a pipe");
	struct sigaction sa = {.sa_handler = on_chld, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	/* A session's forwarder is its PID 1's, for all its commands and
	 * jobs (serve_session). */
	if (proxy_args && !session_worker)
		start_forwarder(proxy_args, old);
	/* A session counts this command's OOM kills only. */
	long oom_before = session_worker ? oom_kills() : 0;
	long pids_before = pids_refusals();
	struct usage cg0, ru0;
	usage_begin(&cg0, &ru0);
	start(argv, prog, in, old);
	/* A worker gets no signal from outside: only PID 1 does. */
	sa.sa_handler = forward;
	for (size_t i = 0;
	     !session_worker && i < sizeof(forwarded) / sizeof(forwarded[0]);
	     i++)
		sigaction(forwarded[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, ours, NULL);

	int status = 0;
	unsigned long long ticks = 0;
	run(f, &status, &ticks);
	drain_stdin(f);
	/* Nothing the command started may outlive its answer: the backend
	 * returns as soon as the records arrive, so everything else in the
	 * container dies, and is reaped, before they are written. */
	kill_all();
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	report(status, ticks, oom_before, pids_before, &cg0, &ru0);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status)
				   : WEXITSTATUS(status);
}

/* The next header's magic and flags; late cancels ("K") before it are
 * skipped.  -1 at the end of the stream or on anything else. */
static int next_header(uint32_t *flags)
{
	char c, magic[3];
	do {
		if (read_full(&c, 1) < 0)
			return -1;
	} while (c == 'K');
	if (c != 'M' || read_full(magic, 3) < 0 || memcmp(magic, "KL3", 3) ||
	    read_u32(flags) < 0)
		return -1;
	return 0;
}

/* PID 1 of a session: one worker per command, each a subreaper that
 * kills every process of the container but PID 1 at its command's end.
 * Ends when monkey's stream does. */
static void serve_session(uint32_t flags, const sigset_t *old,
			  const sigset_t *ours)
{
	/* Proxy mode: one forwarder, outside every worker's subtree, so
	 * that a command's end does not take it from the jobs. */
	if (proxy_args)
		start_forwarder(proxy_args, old);
	for (;;) {
		pid_t w = fork();
		if (w == 0) {
			session_worker = 1;
			prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
			_exit(command(flags, old, ours));
		}
		if (w < 0)
			_exit(125);
		pid_t p;
		while ((p = waitpid(-1, NULL, 0)) != w)
			if (p < 0 && errno != EINTR)
				break;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (next_header(&flags) < 0 || !(flags & 2)) {
			/* monkey is gone: so is everything here (kill(-1)
			 * only as PID 1, where it cannot reach beyond the
			 * container). */
			if (getpid() == 1)
				kill(-1, SIGKILL);
			else
				signal_subtree(getpid(), SIGKILL);
			_exit(0);
		}
	}
}

int main(int argc, char **argv)
{
	uint32_t flags;
	if (argc == 5 && !strcmp(argv[1], "--own"))
		return own(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "--proxy-forward"))
		proxy_args = argv + 2;
	job_mode = argc > 1 && !strcmp(argv[1], "job");

	/* A signal for the container that comes before the command runs
	 * (a timeout while the header arrives) waits, blocked, for the
	 * handler: as PID 1 without one, the kernel would drop it.  SIGPIPE
	 * stays blocked here (a command that closes its stdin makes the
	 * copy fail with EPIPE); the command gets the mask it would have. */
	sigset_t block, old, ours;
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&block, forwarded[i]);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGPIPE);
	sigprocmask(SIG_BLOCK, &block, &old);
	ours = old;
	sigaddset(&ours, SIGPIPE);
	/* The nonce must stay secret from the command: not dumpable, its
	 * memory and /proc files are closed to processes of the same user. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* First words, on both streams: the backend knows the launcher runs
	 * and what came before on either is the runtime's, not a
	 * command's. */
	if (job_mode) {
		/* A worker of its own: its stdin always a pipe. */
		session_worker = 1;
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		if (next_header(&flags) < 0 || !(flags & 2))
			return 125;
		return command(flags | 1, &old, &ours);
	}
	put_all(1, "\036monkey-launch:ready\n", 21);
	put_all(2, "\036monkey-launch:ready\n", 21);
	/* Nothing came (the pool was emptied, monkey is gone): end quietly. */
	if (next_header(&flags) < 0)
		return 125;
	if (flags & 2)
		serve_session(flags, &old, &ours);
	return command(flags, &old, &ours);
}
