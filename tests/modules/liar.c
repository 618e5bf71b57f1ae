/* Test-only backend "liar": claims network isolation and kill-tree and
 * enforces neither, so that tests can show "monkey sandbox verify" names
 * exactly those two lies.  What else it claims it does: the command runs
 * with the request's environment, stdin and working directory, and a
 * timeout or cancel kills it.  But only the command's own process: on any
 * end, exec returns as soon as that process is gone, and whatever it
 * started keeps running, on the host's network.
 *
 * Built with LIAR_FLAWED it is "flawed", which breaks every other claim
 * too, each the way a real backend might: the host's environment instead
 * of envp, stdin cut at the first NUL byte, a timeout that kills without
 * saying so, cancel_fd ignored, and a missing program reported as a
 * sandbox failure; and it claims the egress proxy and ignores it, so
 * that commands keep the host's network. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <monkey/backend.h>

#ifdef LIAR_FLAWED
#define LIAR_NAME "flawed"
#define FLAWED 1
#else
#define LIAR_NAME "liar"
#define FLAWED 0
#endif

extern char **environ;

struct liar_state {
	const struct monkey_host *host;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A write to a pipe whose reader is gone must fail, not kill the host. */
static ssize_t write_nosigpipe(int fd, const void *data, size_t len)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ssize_t n = write(fd, data, len);
	int e = errno;
	struct timespec zero = {0, 0};
	if (n < 0 && e == EPIPE)
		sigtimedwait(&set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return n;
}

static void drain(const struct monkey_exec_request *req, int *fd, int stream)
{
	char buf[65536];
	ssize_t n;
	while (*fd >= 0 && (n = read(*fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				close(*fd);
				*fd = -1;
			}
			return;
		}
		req->output(req->output_ctx, stream, buf, (size_t)n);
	}
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

struct run {
	pid_t pid;
	int pidfd, out, err, in;
	size_t in_off;
};

/* Output, stdin, the deadline and cancel_fd until the command's process
 * exits; then only what its pipes already hold. */
static void supervise(const struct monkey_exec_request *req, struct run *r,
		      struct monkey_exec_result *res)
{
	int64_t deadline =
	    req->timeout_ms > 0 ? now_ms() + req->timeout_ms : -1;
	int64_t kill_at = -1;
	for (;;) {
		struct pollfd p[5] = {
		    {r->pidfd, POLLIN, 0},
		    {r->out, POLLIN, 0},
		    {r->err, POLLIN, 0},
		    {r->in, POLLOUT, 0},
		    {kill_at < 0 && !FLAWED ? req->cancel_fd : -1, POLLIN, 0}};
		int64_t now = now_ms(), wait = -1;
		if (kill_at >= 0)
			wait = kill_at > now ? kill_at - now : 0;
		else if (deadline >= 0)
			wait = deadline > now ? deadline - now : 0;
		if (poll(p, 5, (int)wait) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents)
			drain(req, &r->out, MONKEY_STREAM_STDOUT);
		if (p[2].revents)
			drain(req, &r->err, MONKEY_STREAM_STDERR);
		if (p[3].revents) {
			size_t len =
			    FLAWED ? strnlen(req->stdin_data, req->stdin_len)
				   : req->stdin_len;
			ssize_t n = write_nosigpipe(
			    r->in, (const char *)req->stdin_data + r->in_off,
			    len - r->in_off);
			if (n > 0)
				r->in_off += (size_t)n;
			if ((n < 0 && errno != EAGAIN) || r->in_off == len) {
				close(r->in);
				r->in = -1;
			}
		}
		now = now_ms();
		int stop = 0;
		if (p[4].revents)
			stop = res->cancelled = 1;
		else if (kill_at < 0 && deadline >= 0 && now >= deadline)
			stop = res->timed_out = !FLAWED;
		if (FLAWED && kill_at < 0 && deadline >= 0 && now >= deadline)
			stop = 1;
		if (stop) {
			kill(r->pid, SIGTERM);
			kill_at = now + req->kill_grace_ms;
		} else if (kill_at >= 0 && now >= kill_at) {
			kill(r->pid, SIGKILL);
			kill_at = now + 1000;
		}
	}
	drain(req, &r->out, MONKEY_STREAM_STDOUT);
	drain(req, &r->err, MONKEY_STREAM_STDERR);
}

static int start(const struct monkey_host *host,
		 const struct monkey_exec_request *req, struct run *r,
		 int fds[6], struct monkey_error *err)
{
	if (pipe2(fds, O_CLOEXEC) < 0 || pipe2(fds + 2, O_CLOEXEC) < 0 ||
	    (req->has_stdin
		 ? pipe2(fds + 4, O_CLOEXEC)
		 : (fds[4] = open("/dev/null", O_RDONLY | O_CLOEXEC))) < 0)
		return host->set_error(err, -errno, "liar: pipe: %s",
				       strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[4], 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[3], 2);
	posix_spawn_file_actions_addchdir_np(&fa, req->workdir);
	int e = posix_spawnp(&r->pid, req->argv[0], &fa, NULL,
			     (char *const *)req->argv,
			     FLAWED ? environ : (char *const *)req->envp);
	posix_spawn_file_actions_destroy(&fa);
	if (e)
		return host->set_error(err,
				       FLAWED	     ? -EIO
				       : e == ENOENT ? -ENOENT
				       : e == EACCES ? -EACCES
						     : -e,
				       LIAR_NAME ": %s: %s", req->argv[0],
				       strerror(e));
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	if (r->pidfd < 0) {
		e = errno;
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		return host->set_error(err, -e, "liar: pidfd_open: %s",
				       strerror(e));
	}
	r->out = fds[0];
	r->err = fds[2];
	r->in = req->has_stdin && req->stdin_len ? fds[5] : -1;
	fds[0] = fds[2] = -1;
	if (r->in >= 0)
		fds[5] = -1;
	fcntl(r->out, F_SETFL, O_NONBLOCK);
	fcntl(r->err, F_SETFL, O_NONBLOCK);
	if (r->in >= 0)
		fcntl(r->in, F_SETFL, O_NONBLOCK);
	return 0;
}

static int liar_exec(void *state, const struct monkey_exec_request *req,
		     struct monkey_exec_result *res, struct monkey_error *err)
{
	const struct monkey_host *host = ((struct liar_state *)state)->host;
	int fds[6] = {-1, -1, -1, -1, -1, -1};
	struct run r = {.pid = -1, .pidfd = -1, .out = -1, .err = -1, .in = -1};
	int rc = start(host, req, &r, fds, err);
	for (int i = 0; i < 6; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (rc == 0) {
		supervise(req, &r, res);
		int status = 0;
		while (waitpid(r.pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(status))
			res->signal = WTERMSIG(status);
		else
			res->exit_code = WEXITSTATUS(status);
	}
	int close_fds[4] = {r.pidfd, r.out, r.err, r.in};
	for (int i = 0; i < 4; i++)
		if (close_fds[i] >= 0)
			close(close_fds[i]);
	return rc;
}

static int liar_init(const struct monkey_host *host, const char *config_json,
		     void **state, struct monkey_error *err)
{
	(void)config_json;
	struct liar_state *st = calloc(1, sizeof(*st));
	if (!st)
		return host->set_error(err, -ENOMEM, "liar: out of memory");
	st->host = host;
	*state = st;
	return 0;
}

static int liar_probe(void *state, struct monkey_error *err)
{
	(void)state, (void)err;
	return 0;
}

static void liar_fini(void *state) { free(state); }

static const struct monkey_backend desc = {
    MONKEY_BACKEND_HEADER,
    .name = LIAR_NAME,
    .description = FLAWED ? "test backend that breaks every claim it makes"
			  : "test backend that claims network isolation and "
			    "kill-tree without enforcing either",
    .safety = MONKEY_SAFETY_LOW,
    .capabilities = MONKEY_CAP_NETWORK_ISOLATION | MONKEY_CAP_KILL_TREE |
		    MONKEY_CAP_TIMEOUT | MONKEY_CAP_CANCEL | MONKEY_CAP_STDIN |
		    MONKEY_CAP_CLEAN_ENV |
		    (FLAWED ? MONKEY_CAP_EGRESS_PROXY : 0),
    .init = liar_init,
    .probe = liar_probe,
    .exec = liar_exec,
    .fini = liar_fini,
};

MONKEY_BACKEND_EXPORT(&desc)
