/* unshare.so - a monkey sandbox backend kept as the example a third party
 * starts from.  It is built outside monkey's tree against the installed
 * <monkey/backend.h> only, and runs each command in fresh user, network and
 * PID namespaces: no network but its own loopback, and nothing it starts
 * survives it (the kernel kills a PID namespace when its first process
 * exits).  The file system is the host's: this is not a container. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <monkey/backend.h>

#define CHILD_STACK_SIZE (64 * 1024)
#define READ_CHUNK 65536

/* Per-backend state handed back by init: borrowed host table, and the
 * identity the user namespace maps onto itself. */
struct unshare_state {
	const struct monkey_host *host;
	uid_t uid;
	gid_t gid;
};

/* Steps of the child's setup, reported back when one fails. */
enum child_step {
	STEP_SETGROUPS = 1,
	STEP_UID_MAP,
	STEP_GID_MAP,
	STEP_LOOPBACK,
	STEP_RLIMIT,
	STEP_NO_NEW_PRIVS,
	STEP_FDS,
	STEP_CHDIR,
	STEP_EXEC,
};

static const char *const step_names[] = {
	[STEP_SETGROUPS] = "write /proc/self/setgroups",
	[STEP_UID_MAP] = "write /proc/self/uid_map",
	[STEP_GID_MAP] = "write /proc/self/gid_map",
	[STEP_LOOPBACK] = "bring up the loopback interface",
	[STEP_RLIMIT] = "set a resource limit",
	[STEP_NO_NEW_PRIVS] = "set no_new_privs",
	[STEP_FDS] = "set up standard input and output",
	[STEP_CHDIR] = "enter the working directory",
	[STEP_EXEC] = "execute",
};

struct child_report {
	int step;
	int error;
};

/* Everything the child needs, prepared by the parent: between clone and
 * execve the child only makes system calls (the host may be
 * multithreaded, so no malloc, no stdio, no locks). */
struct child_args {
	const struct monkey_exec_request *req;
	const char *path; /* the resolved program */
	char uid_map[64];
	char gid_map[64];
	int stdin_fd, out_fd, err_fd, report_fd;
	int network;
	int probe_only;
};

static void report(int fd, int step, int error)
{
	struct child_report r = {step, error};
	ssize_t n = write(fd, &r, sizeof(r));
	(void)n;
}

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = (ssize_t)strlen(data);
	ssize_t n = write(fd, data, (size_t)len);
	int saved = errno;
	close(fd);
	errno = saved;
	return n == len ? 0 : -1;
}

/* A new network namespace has only "lo", and it is down: bring it up so
 * that a test suite can still talk to itself over 127.0.0.1. */
static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int saved = errno;
	close(s);
	errno = saved;
	return r;
}

static int set_limit(int resource, uint64_t soft, uint64_t hard)
{
	struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
	return setrlimit(resource, &rl);
}

/* Runs in the new namespaces as their PID 1. */
static int child_main(void *arg)
{
	const struct child_args *a = arg;
	const struct monkey_exec_request *req = a->req;
	int rfd = a->report_fd;

	/* Die with the host: a crashed monkey leaves no command behind (and
	 * the namespace takes everything else with it). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Its own session: the terminal's Ctrl-C goes to monkey, which
	 * cancels the command through cancel_fd. */
	setsid();

	/* An unprivileged process may map only its own uid and gid, and only
	 * after giving up setgroups(2). */
	if (write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		return report(rfd, STEP_SETGROUPS, errno), 1;
	if (write_file("/proc/self/uid_map", a->uid_map) < 0)
		return report(rfd, STEP_UID_MAP, errno), 1;
	if (write_file("/proc/self/gid_map", a->gid_map) < 0)
		return report(rfd, STEP_GID_MAP, errno), 1;
	if (!a->network && loopback_up() < 0)
		return report(rfd, STEP_LOOPBACK, errno), 1;
	if (a->probe_only)
		return 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return report(rfd, STEP_NO_NEW_PRIVS, errno), 1;

	/* Lift the three descriptors above 2 first so that dup2 always makes
	 * a new descriptor (and so clears close-on-exec); then mark
	 * everything else close-on-exec, including whatever the host left
	 * inheritable, and the report pipe, which closes on a successful
	 * execve. */
	int in = fcntl(a->stdin_fd, F_DUPFD_CLOEXEC, 3);
	int out = fcntl(a->out_fd, F_DUPFD_CLOEXEC, 3);
	int err = fcntl(a->err_fd, F_DUPFD_CLOEXEC, 3);
	if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 ||
	    dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
	    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return report(rfd, STEP_FDS, errno), 1;
	if (chdir(req->workdir) < 0)
		return report(rfd, STEP_CHDIR, errno), 1;
	/* Limits last: the descriptors above were made under the host's
	 * limit (a host with many open files would otherwise have none
	 * left below a small --open-files for the three above). */
	if ((req->cpu_time_s &&
	     set_limit(RLIMIT_CPU, req->cpu_time_s, req->cpu_time_s + 1) < 0) ||
	    (req->file_size_bytes &&
	     set_limit(RLIMIT_FSIZE, req->file_size_bytes,
		       req->file_size_bytes) < 0) ||
	    (req->open_files &&
	     set_limit(RLIMIT_NOFILE, req->open_files, req->open_files) < 0))
		return report(rfd, STEP_RLIMIT, errno), 1;

	execve(a->path, (char *const *)req->argv, (char *const *)req->envp);
	report(rfd, STEP_EXEC, errno);
	return 127;
}

/* PATH of the command's own environment (execvp's default otherwise). */
static const char *env_path(const char *const *envp)
{
	for (; envp && *envp; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return "/bin:/usr/bin";
}

static char *join(const char *dir, size_t dlen, const char *name)
{
	size_t nlen = strlen(name);
	char *p = malloc(dlen + nlen + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, dlen);
	p[dlen] = '/';
	memcpy(p + dlen + 1, name, nlen + 1);
	return p;
}

/* Find the program the way execvp(3) would from the working directory,
 * before cloning, so that the child has nothing left to look up.  *path is
 * the caller's to free. */
static int resolve(const struct monkey_host *host,
		   const struct monkey_exec_request *req, char **path,
		   struct monkey_error *err)
{
	const char *name = req->argv[0];
	struct stat st;
	if (strchr(name, '/')) {
		*path = name[0] == '/' ? strdup(name)
				       : join(req->workdir,
					      strlen(req->workdir), name);
		if (!*path)
			return host->set_error(err, -ENOMEM, "out of memory");
		if (stat(*path, &st) < 0) {
			int e = errno;
			free(*path);
			*path = NULL;
			return host->set_error(err, e == ENOENT ? -ENOENT : -e,
					       "%s: %s", name, strerror(e));
		}
		return 0;
	}
	int denied = 0;
	const char *p = env_path(req->envp);
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		/* An empty entry, like ".", means the working directory. */
		char *dir = len ? strndup(p, len) : strdup(".");
		char *cand = NULL;
		if (dir && dir[0] != '/') {
			cand = join(req->workdir, strlen(req->workdir), dir);
			free(dir);
			dir = cand;
		}
		cand = dir ? join(dir, strlen(dir), name) : NULL;
		free(dir);
		if (!cand)
			return host->set_error(err, -ENOMEM, "out of memory");
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(cand, X_OK) == 0) {
				*path = cand;
				return 0;
			}
			denied = 1;
		}
		free(cand);
		if (!colon)
			break;
		p = colon + 1;
	}
	if (denied)
		return host->set_error(err, -EACCES, "%s: permission denied",
				       name);
	return host->set_error(err, -ENOENT, "%s: command not found", name);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes to a pipe whose reader exited must fail with EPIPE, not kill the
 * host: block SIGPIPE around the write and swallow one it raised. */
static ssize_t write_nosigpipe(int fd, const void *data, size_t len)
{
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigset_t pending;
	sigpending(&pending);
	int was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	ssize_t n = write(fd, data, len);
	int saved = errno;
	if (n < 0 && saved == EPIPE && !was_pending) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

/* clone(2) the child into new namespaces.  Returns its pid or -errno. */
static pid_t start_child(struct child_args *a, void **stack)
{
	*stack = malloc(CHILD_STACK_SIZE);
	if (!*stack)
		return -ENOMEM;
	int flags = CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD;
	if (!a->network)
		flags |= CLONE_NEWNET;
	pid_t pid = clone(child_main, (char *)*stack + CHILD_STACK_SIZE, flags,
			  a);
	return pid < 0 ? -errno : pid;
}

/* Reads the child's setup report: 0 when it reached execve (the pipe
 * closed without a word), else the failure. */
static int read_report(int fd, struct child_report *r)
{
	ssize_t n;
	do
		n = read(fd, r, sizeof(*r));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*r) ? -1 : 0;
}

static int setup_error(const struct monkey_host *host, const char *name,
		       const struct child_report *r, struct monkey_error *err)
{
	int e = r->error ? r->error : EIO;
	const char *what = r->step > 0 && r->step <= STEP_EXEC
				   ? step_names[r->step]
				   : "set up the sandbox";
	if (r->step == STEP_EXEC) {
		int code = e == ENOENT	 ? -ENOENT
			   : e == ENOEXEC ? -ENOEXEC
			   : e == EACCES  ? -EACCES
					  : -e;
		return host->set_error(err, code, "cannot execute %s: %s",
				       name, strerror(e));
	}
	return host->set_error(err, -e,
			       "unshare backend: cannot %s for %s: %s", what,
			       name, strerror(e));
}

static void fill_maps(const struct unshare_state *st, struct child_args *a)
{
	snprintf(a->uid_map, sizeof(a->uid_map), "%u %u 1\n",
		 (unsigned)st->uid, (unsigned)st->uid);
	snprintf(a->gid_map, sizeof(a->gid_map), "%u %u 1\n",
		 (unsigned)st->gid, (unsigned)st->gid);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* One command under supervise: its streams and where the loop is. */
struct supervision {
	const struct monkey_exec_request *req;
	struct monkey_exec_result *result;
	pid_t pid;
	int pidfd;
	int fds[2]; /* stdout, stderr; -1 once closed */
	int stdin_fd;
	size_t stdin_off;
	int64_t deadline;    /* -1: none */
	int64_t kill_at;     /* when SIGKILL follows SIGTERM */
	int64_t drain_until; /* see supervise */
	int exited, stopping;
	char *buf;
};

/* What the streams hold, to the output sink.  A sink that says stop is
 * treated as a cancel. */
static void pass_output(struct supervision *sv, const struct pollfd *p,
			const int idx[2])
{
	static const int streams[2] = {MONKEY_STREAM_STDOUT,
				       MONKEY_STREAM_STDERR};
	for (int s = 0; s < 2; s++) {
		if (idx[s] < 0 || !p[idx[s]].revents)
			continue;
		ssize_t r = sv->buf ? read(sv->fds[s], sv->buf, READ_CHUNK) : 0;
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			close_fd(&sv->fds[s]);
			continue;
		}
		if (sv->req->output(sv->req->output_ctx, streams[s], sv->buf,
				    (size_t)r) < 0 &&
		    !sv->stopping) {
			sv->result->cancelled = 1;
			sv->stopping = 1;
		}
	}
}

static void feed_stdin(struct supervision *sv)
{
	const struct monkey_exec_request *req = sv->req;
	ssize_t w = write_nosigpipe(sv->stdin_fd,
				    (const char *)req->stdin_data + sv->stdin_off,
				    req->stdin_len - sv->stdin_off);
	if (w > 0)
		sv->stdin_off += (size_t)w;
	if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
	    sv->stdin_off == req->stdin_len)
		close_fd(&sv->stdin_fd); /* EOF for the command */
}

/* The deadline, the grace time and the drain at now: 1 when the loop is
 * over. */
static int step(struct supervision *sv, int64_t now)
{
	if (sv->drain_until >= 0 && now >= sv->drain_until)
		return 1;
	if (!sv->stopping && sv->deadline >= 0 && now >= sv->deadline) {
		sv->result->timed_out = 1;
		sv->stopping = 1;
	}
	if (sv->stopping && sv->kill_at < 0 && !sv->exited) {
		/* PID 1 of a namespace gets SIGTERM only if it handles it;
		 * SIGKILL always ends it, and with it every process in the
		 * namespace. */
		kill(sv->pid, SIGTERM);
		sv->kill_at = now + (sv->req->kill_grace_ms > 0
					 ? sv->req->kill_grace_ms
					 : 0);
	}
	if (sv->kill_at >= 0 && now >= sv->kill_at && !sv->exited) {
		kill(sv->pid, SIGKILL);
		sv->kill_at = now + 1000;
	}
	if (sv->exited && sv->kill_at >= 0)
		sv->kill_at = -1;
	return 0;
}

/* How long poll may sleep: until the next timer is due. */
static int64_t wait_ms(const struct supervision *sv, int64_t now)
{
	int64_t wait = -1;
	if (!sv->stopping && sv->deadline >= 0)
		wait = sv->deadline > now ? sv->deadline - now : 0;
	if (sv->kill_at >= 0)
		wait = sv->kill_at > now ? sv->kill_at - now : 0;
	if (sv->drain_until >= 0)
		wait = sv->drain_until > now ? sv->drain_until - now : 0;
	return wait > 60000 ? 60000 : wait;
}

/* The poll loop: stream output, feed stdin, watch the deadline and the
 * cancel descriptor, and stop the command when asked.  Returns when the
 * command has exited and its output is drained.  Once the command is gone
 * the kernel kills the rest of its namespace, so the pipes close at once;
 * only a process stuck in the kernel could keep them open, and it is not
 * waited for. */
static void supervise(const struct monkey_exec_request *req, pid_t pid,
		      int pidfd, int out_fd, int err_fd, int stdin_fd,
		      struct monkey_exec_result *result)
{
	struct supervision sv = {
	    .req = req,
	    .result = result,
	    .pid = pid,
	    .pidfd = pidfd,
	    .fds = {out_fd, err_fd},
	    .stdin_fd = stdin_fd,
	    .deadline = req->timeout_ms > 0 ? now_ms() + req->timeout_ms : -1,
	    .kill_at = -1,
	    .drain_until = -1,
	    .buf = malloc(READ_CHUNK),
	};
	if (sv.stdin_fd >= 0 && req->stdin_len == 0)
		close_fd(&sv.stdin_fd);
	while (!sv.exited || sv.fds[0] >= 0 || sv.fds[1] >= 0) {
		struct pollfd p[5];
		int n = 0, idx[2] = {-1, -1}, i_in = -1, i_cancel = -1,
		    i_pid = -1;
		if (sv.fds[0] >= 0)
			p[idx[0] = n++] = (struct pollfd){sv.fds[0], POLLIN, 0};
		if (sv.fds[1] >= 0)
			p[idx[1] = n++] = (struct pollfd){sv.fds[1], POLLIN, 0};
		if (sv.stdin_fd >= 0)
			p[i_in = n++] =
			    (struct pollfd){sv.stdin_fd, POLLOUT, 0};
		if (req->cancel_fd >= 0 && !sv.stopping)
			p[i_cancel = n++] =
			    (struct pollfd){req->cancel_fd, POLLIN, 0};
		if (!sv.exited)
			p[i_pid = n++] = (struct pollfd){pidfd, POLLIN, 0};
		if (poll(p, (nfds_t)n, (int)wait_ms(&sv, now_ms())) < 0 &&
		    errno != EINTR)
			break;
		int64_t now = now_ms();
		pass_output(&sv, p, idx);
		if (i_in >= 0 && p[i_in].revents)
			feed_stdin(&sv);
		if (i_cancel >= 0 && p[i_cancel].revents) {
			result->cancelled = 1;
			sv.stopping = 1;
		}
		if (i_pid >= 0 && p[i_pid].revents) {
			sv.exited = 1;
			sv.drain_until = now + 2000;
		}
		if (step(&sv, now))
			break;
	}
	close_fd(&sv.fds[0]);
	close_fd(&sv.fds[1]);
	close_fd(&sv.stdin_fd);
	free(sv.buf);
}

static int unshare_exec(void *state, const struct monkey_exec_request *req,
			struct monkey_exec_result *result,
			struct monkey_error *err)
{
	const struct unshare_state *st = state;
	const struct monkey_host *host = st->host;
	int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, in_p[2] = {-1, -1},
	    rep_p[2] = {-1, -1};
	int pidfd = -1, r;
	void *stack = NULL;
	char *path = NULL;

	if ((r = resolve(host, req, &path, err)) < 0)
		return r;
	if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 ||
	    pipe2(rep_p, O_CLOEXEC) < 0 ||
	    (req->has_stdin ? pipe2(in_p, O_CLOEXEC)
			    : (in_p[0] = open("/dev/null",
					      O_RDONLY | O_CLOEXEC))) < 0) {
		r = host->set_error(err, -errno,
				    "unshare backend: cannot create pipes: %s",
				    strerror(errno));
		goto out;
	}
	struct child_args a = {
		.req = req,
		.path = path,
		.stdin_fd = in_p[0],
		.out_fd = out_p[1],
		.err_fd = err_p[1],
		.report_fd = rep_p[1],
		.network = req->network,
	};
	fill_maps(st, &a);
	pid_t pid = start_child(&a, &stack);
	if (pid < 0) {
		r = host->set_error(err, pid,
				    "unshare backend: cannot create namespaces: "
				    "%s",
				    strerror(-pid));
		goto out;
	}
	close_fd(&out_p[1]);
	close_fd(&err_p[1]);
	close_fd(&rep_p[1]);
	close_fd(&in_p[0]);

	struct child_report rep;
	if (read_report(rep_p[0], &rep) < 0) {
		waitpid(pid, NULL, 0);
		r = setup_error(host, req->argv[0], &rep, err);
		goto out;
	}
	pidfd = (int)pidfd_open(pid, 0);
	if (pidfd < 0) {
		r = host->set_error(err, -errno,
				    "unshare backend: pidfd_open: %s",
				    strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	fcntl(out_p[0], F_SETFL, O_NONBLOCK);
	fcntl(err_p[0], F_SETFL, O_NONBLOCK);
	if (in_p[1] >= 0)
		fcntl(in_p[1], F_SETFL, O_NONBLOCK);
	/* supervise closes these three. */
	supervise(req, pid, pidfd, out_p[0], err_p[0], in_p[1], result);
	out_p[0] = err_p[0] = in_p[1] = -1;

	int status = 0;
	pid_t w;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0) {
		/* A host that set SIGCHLD to SIG_IGN has the kernel reap
		 * its children: the status is gone. */
		r = host->set_error(err, -errno,
				    "unshare backend: cannot collect the status "
				    "of %s: %s",
				    req->argv[0], strerror(errno));
		goto out;
	}
	if (WIFEXITED(status)) {
		result->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		result->signal = WTERMSIG(status);
	}
	r = 0;
out:
	close_fd(&out_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[0]);
	close_fd(&err_p[1]);
	close_fd(&in_p[0]);
	close_fd(&in_p[1]);
	close_fd(&rep_p[0]);
	close_fd(&rep_p[1]);
	close_fd(&pidfd);
	free(stack);
	free(path);
	return r;
}

/* Create the namespaces once, as a command would, and report why that is
 * impossible here (user namespaces are often switched off). */
static int unshare_probe(void *state, struct monkey_error *err)
{
	const struct unshare_state *st = state;
	const struct monkey_host *host = st->host;
	int rep_p[2];
	void *stack = NULL;
	if (pipe2(rep_p, O_CLOEXEC) < 0)
		return host->set_error(err, -errno, "pipe: %s",
				       strerror(errno));
	struct child_args a = {.report_fd = rep_p[1], .probe_only = 1};
	fill_maps(st, &a);
	pid_t pid = start_child(&a, &stack);
	close(rep_p[1]);
	int r = 0;
	if (pid < 0) {
		r = host->set_error(
			err, pid,
			"cannot create user, network and PID namespaces: %s "
			"(unprivileged user namespaces may be disabled: see "
			"/proc/sys/user/max_user_namespaces and "
			"kernel.unprivileged_userns_clone)",
			strerror(-pid));
	} else {
		struct child_report rep;
		if (read_report(rep_p[0], &rep) < 0)
			r = host->set_error(err, -rep.error,
					    "in a new user namespace, cannot "
					    "%s: %s",
					    step_names[rep.step],
					    strerror(rep.error));
		waitpid(pid, NULL, 0);
	}
	close(rep_p[0]);
	free(stack);
	return r;
}

static int unshare_init(const struct monkey_host *host,
			const char *config_json, void **state,
			struct monkey_error *err)
{
	(void)config_json; /* no settings */
	struct unshare_state *st = calloc(1, sizeof(*st));
	if (!st)
		return host->set_error(err, -ENOMEM, "out of memory");
	st->host = host;
	st->uid = geteuid();
	st->gid = getegid();
	*state = st;
	return 0;
}

static void unshare_fini(void *state)
{
	free(state);
}

static const struct monkey_backend unshare_backend = {
	MONKEY_BACKEND_HEADER,
	.name = "unshare",
	.description = "host processes in new user, network and PID "
		       "namespaces: no network, no leftovers",
	.safety = MONKEY_SAFETY_LOW,
	.capabilities = MONKEY_CAP_NETWORK_ISOLATION | MONKEY_CAP_STDIN |
			MONKEY_CAP_TIMEOUT | MONKEY_CAP_KILL_TREE |
			MONKEY_CAP_CLEAN_ENV | MONKEY_CAP_CPU_TIME |
			MONKEY_CAP_FILE_SIZE | MONKEY_CAP_OPEN_FILES |
			MONKEY_CAP_CANCEL,
	.init = unshare_init,
	.probe = unshare_probe,
	.exec = unshare_exec,
	.fini = unshare_fini,
	.details =
		"Each command runs as the invoking user in a new user "
		"namespace that maps only that user, a new network namespace "
		"(only an up loopback interface; --network keeps the host's "
		"network) and a new PID namespace whose first process is the "
		"command: when it exits or is killed, the kernel kills "
		"everything it started.  A command that does not handle "
		"SIGTERM is ended with SIGKILL after --kill-grace.  "
		"no_new_privs is set.  --cpu-time, --file-size and "
		"--open-files are rlimits.  The file system, memory, CPU and "
		"process count are not limited.",
};

MONKEY_BACKEND_EXPORT(&unshare_backend)
