/* procrun: run one command to completion on this machine.  This file holds
 * the host thread's side: one poll loop that streams output, feeds stdin
 * and enforces the timeout, cancellation, the drain guard and the
 * whole-tree kill, also when the command kills or stops its reaper.
 * procrun_host.c prepares the host process, procrun_prep.c the command,
 * procrun_spawn.c starts it under its own reaper, procrun_tree.c finds and
 * signals its processes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procrun_int.h"

/* Bytes read from a pipe at a time: the only output buffer we hold. */
#define READ_CHUNK (64 * 1024)
/* A pipe that fills a whole read is a heavy writer: give it this much
 * kernel buffer so a big output needs fewer wakeups. */
#define BIG_PIPE (1024 * 1024)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One running command, as seen from the host thread. */
struct run {
	const struct monkey_exec_request *req;
	struct procrun_proc proc;
	int out_fd, err_fd, in_fd; /* our ends; -1 once closed */
	int cancel_fd;		   /* -1 once it fired */
	size_t in_off;
	int pipe_grown[3];
	int main_exited, main_status;
	int main_was_last; /* the reaper had nothing else when main ended */
	int reaper_done;   /* the reaper has exited and been reaped */
	int reaper_lost;   /* ... killed (or stopped, then killed by us) */
	int tree_gone;	   /* no process of the command remains */
	int gave_up;	   /* processes survived SIGKILL for too long */
	int timed_out, cancelled, output_stopped;
	/* 0 running, 1 SIGTERM sent, 2 SIGKILL sweeps of the reaper's tree,
	 * 3 SIGKILL sweeps of a lost reaper's orphans */
	int stage;
	int64_t deadline, drain_deadline, term_deadline, kill_since, next_sweep,
	    sweep_interval, next_watch;
	int sigpipe_was_pending;
	char *buf;
	int have_usage;
	struct procrun_msg usage;	/* PROCRUN_MSG_USAGE */
	int64_t started, next_progress; /* req->progress calls */
	long long most_seen;		/* largest progress sample, bytes */
};

static void close_stdin(struct run *r)
{
	if (r->in_fd >= 0)
		close(r->in_fd);
	r->in_fd = -1;
}

/* Stop the command: SIGTERM (and SIGCONT, so a stopped process sees it) to
 * every process, then SIGKILL sweeps once the grace period is over. */
static void begin_stop(struct run *r, int64_t now)
{
	if (r->stage || r->tree_gone)
		return;
	close_stdin(r);
	procrun_tree_signal(r->proc.reaper, SIGTERM);
	procrun_tree_signal(r->proc.reaper, SIGCONT);
	r->stage = 1;
	r->term_deadline =
	    now + (r->req->kill_grace_ms > 0 ? r->req->kill_grace_ms : 0);
}

static void stop_asked(struct run *r)
{
	if (!r->main_exited)
		r->cancelled = 1;
	begin_stop(r, now_ms());
}

static void read_stream(struct run *r, int *fd, int stream)
{
	ssize_t n = read(*fd, r->buf, READ_CHUNK);
	if (n > 0) {
		if (n == READ_CHUNK && !r->pipe_grown[stream]) {
			r->pipe_grown[stream] = 1;
			fcntl(*fd, F_SETPIPE_SZ, BIG_PIPE); /* best effort */
		}
		if (!r->output_stopped &&
		    r->req->output(r->req->output_ctx, stream, r->buf,
				   (size_t)n) < 0) {
			/* Keep draining so writers do not block, but stop
			 * the command and pass nothing more on. */
			r->output_stopped = 1;
			stop_asked(r);
		}
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	close(*fd);
	*fd = -1;
}

static void write_stdin(struct run *r)
{
	size_t left = r->req->stdin_len - r->in_off;
	if (left > READ_CHUNK)
		left = READ_CHUNK;
	ssize_t n =
	    write(r->in_fd, (const char *)r->req->stdin_data + r->in_off, left);
	if (n > 0) {
		r->in_off += (size_t)n;
		if (r->in_off == r->req->stdin_len)
			close_stdin(r); /* EOF for the command */
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 && errno == EPIPE && !r->sigpipe_was_pending) {
		/* The command stopped reading.  The SIGPIPE this raised is
		 * blocked in this thread; take it so it never reaches the
		 * host. */
		sigset_t set;
		struct timespec zero = {0, 0};
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		sigtimedwait(&set, NULL, &zero);
	}
	close_stdin(r);
}

/* The reaper is gone without having seen its processes off: they are the
 * host's children now, found by their mark (procrun_host.c). */
static void begin_orphan_sweeps(struct run *r, int64_t now)
{
	close_stdin(r);
	r->stage = 3;
	r->kill_since = now;
	r->next_sweep = now;
	r->sweep_interval = 1;
}

/* Returns 1 when no orphan is left: a sweep that found none (killing and
 * reaping in one sweep is not enough, since what a dying orphan had comes to
 * us as it dies). */
static int sweep_orphans(struct run *r)
{
	int found;
	int seen = procrun_orphans_sweep(&found);
	if (found)
		r->reaper_lost = 1;
	return seen == 0;
}

/* A stopped reaper reaps nothing and never reports, and the command can
 * stop it as easily as kill it (kill -STOP $PPID): look every
 * PROCRUN_WATCH_MS, and kill a stopped one so its processes come to us. */
static void watch_reaper(struct run *r, int64_t now)
{
	if (r->reaper_done || now < r->next_watch)
		return;
	if (procrun_spawn_stopped(&r->proc)) {
		kill(r->proc.reaper, SIGKILL);
		r->reaper_lost = 1;
	}
	r->next_watch = now + PROCRUN_WATCH_MS;
}

static void read_status(struct run *r, int64_t now)
{
	struct procrun_msg m;
	ssize_t n = read(r->proc.status_fd, &m, sizeof(m));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == (ssize_t)sizeof(m)) {
		if (m.kind == PROCRUN_MSG_EXIT && !r->main_exited) {
			r->main_exited = 1;
			r->main_status = m.a;
			r->main_was_last = m.b == 1;
			r->drain_deadline = now + PROCRUN_DRAIN_MS;
			close_stdin(r);
		}
		if (m.kind == PROCRUN_MSG_USAGE) {
			r->have_usage = 1;
			r->usage = m;
		}
		return;
	}
	/* EOF: the reaper is exiting.  When it exits by itself, every process
	 * it had is gone, and what the pipes still hold is read until EOF,
	 * for a bounded time. */
	close_stdin(r);
	r->reaper_done = 1;
	int clean = procrun_spawn_reap(&r->proc);
	if (clean == 1) {
		r->tree_gone = 1;
		r->drain_deadline = now + PROCRUN_DRAIN_MS;
		return;
	}
	/* Killed, or its status is lost: its processes (if any) are ours
	 * now.  It never exits by itself before reporting the main process's
	 * end. */
	if (clean == 0 || !r->main_exited)
		r->reaper_lost = 1;
	begin_orphan_sweeps(r, now);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* The host's own memory high-water mark, in KiB.  The command is started
 * from the host's memory (CLONE_VM|CLONE_VFORK, as posix_spawn does), and
 * execve keeps that memory's high-water mark in the new process's
 * ru_maxrss: a ru_maxrss at or below it says nothing about the command.
 * Read when the command has ended: the mark only grows, so this is never
 * below what the command inherited. */
static long long host_peak_kib(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Tell req->progress how the command is doing, twice a second. */
static void progress_tick(struct run *r, int64_t now)
{
	if (!r->req->progress || r->reaper_done || now < r->next_progress)
		return;
	r->next_progress = now + PROCRUN_PROGRESS_MS;
	struct monkey_progress p = {
	    .struct_size = sizeof(p),
	    .elapsed_ms = now - r->started,
	    .memory_bytes = procrun_tree_rss(r->proc.reaper),
	};
	if (p.memory_bytes > r->most_seen)
		r->most_seen = p.memory_bytes;
	r->req->progress(r->req->progress_ctx, &p);
}

/* Advance the timers; returns 1 when the run is over. */
static int step_timers(struct run *r, int64_t now, int64_t *wake)
{
	*wake = INT64_MAX;
	if (r->tree_gone) {
		if ((r->out_fd < 0 && r->err_fd < 0) ||
		    now >= r->drain_deadline)
			return 1;
		*wake = r->drain_deadline;
		return 0;
	}
	watch_reaper(r, now);
	progress_tick(r, now);
	if (!r->stage) {
		if (!r->main_exited && r->deadline && now >= r->deadline) {
			r->timed_out = 1;
			begin_stop(r, now);
		} else if (r->main_exited && !r->main_was_last &&
			   ((r->out_fd < 0 && r->err_fd < 0) ||
			    now >= r->drain_deadline)) {
			/* The command is over; what it left behind goes.
			 * (When nothing was left the reaper is exiting and
			 * its EOF is all we wait for.) */
			begin_stop(r, now);
		}
	}
	if (r->stage == 1 && now >= r->term_deadline) {
		r->stage = 2;
		r->kill_since = now;
		r->next_sweep = now;
		r->sweep_interval = 1;
	}
	if (r->stage >= 2 && now >= r->next_sweep) {
		if (r->stage == 3 && sweep_orphans(r)) {
			r->tree_gone = 1;
			r->drain_deadline = now + PROCRUN_DRAIN_MS;
			*wake = now;
			return 0;
		}
		if (now - r->kill_since >= PROCRUN_KILL_GIVE_UP_MS) {
			r->gave_up = 1;
			return 1;
		}
		if (r->stage == 2)
			procrun_tree_signal(r->proc.reaper, SIGKILL);
		r->next_sweep = now + r->sweep_interval;
		if (r->sweep_interval < 100)
			r->sweep_interval *= 2;
	}
	if (!r->stage && !r->main_exited && r->deadline)
		*wake = r->deadline;
	if (!r->stage && r->main_exited && !r->main_was_last)
		*wake = min64(*wake, r->drain_deadline);
	if (r->stage == 1)
		*wake = min64(*wake, r->term_deadline);
	if (r->stage >= 2)
		*wake = min64(*wake, r->next_sweep);
	if (!r->reaper_done)
		*wake = min64(*wake, r->next_watch);
	if (r->req->progress && !r->reaper_done)
		*wake = min64(*wake, r->next_progress);
	return 0;
}

static int run_loop(struct run *r)
{
	for (;;) {
		int64_t now = now_ms(), wake;
		if (step_timers(r, now, &wake))
			return 0;
		struct pollfd pfd[5];
		int n = 0, i_status = -1, i_out = -1, i_err = -1, i_in = -1,
		    i_cancel = -1;
		if (!r->reaper_done) {
			i_status = n;
			pfd[n++] =
			    (struct pollfd){r->proc.status_fd, POLLIN, 0};
		}
		if (r->out_fd >= 0) {
			i_out = n;
			pfd[n++] = (struct pollfd){r->out_fd, POLLIN, 0};
		}
		if (r->err_fd >= 0) {
			i_err = n;
			pfd[n++] = (struct pollfd){r->err_fd, POLLIN, 0};
		}
		if (r->in_fd >= 0) {
			i_in = n;
			pfd[n++] = (struct pollfd){r->in_fd, POLLOUT, 0};
		}
		if (r->cancel_fd >= 0 && !r->tree_gone) {
			i_cancel = n;
			pfd[n++] = (struct pollfd){r->cancel_fd, POLLIN, 0};
		}
		int timeout = -1;
		if (wake != INT64_MAX)
			timeout = wake <= now		 ? 0
				  : wake - now > INT_MAX ? INT_MAX
							 : (int)(wake - now);
		int k = poll(pfd, (nfds_t)n, timeout);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			continue;
		now = now_ms();
		const short ready = POLLIN | POLLHUP | POLLERR | POLLNVAL;
		/* Output first, so that what was written before an exit is
		 * read before the exit is acted on. */
		if (i_out >= 0 && (pfd[i_out].revents & ready))
			read_stream(r, &r->out_fd, MONKEY_STREAM_STDOUT);
		if (i_err >= 0 && (pfd[i_err].revents & ready))
			read_stream(r, &r->err_fd, MONKEY_STREAM_STDERR);
		if (i_in >= 0 && r->in_fd >= 0 &&
		    (pfd[i_in].revents & (POLLOUT | POLLERR | POLLHUP)))
			write_stdin(r);
		if (i_cancel >= 0 && (pfd[i_cancel].revents & ready)) {
			r->cancel_fd = -1; /* stays readable; look once */
			stop_asked(r);
		}
		if (i_status >= 0 && (pfd[i_status].revents & ready))
			read_status(r, now);
	}
}

/* poll failed, which it cannot with five descriptors short of a kernel bug:
 * kill everything, the reaper included, wait for its EOF with blocking
 * reads, and sweep what it leaves to us. */
static void kill_after_poll_failed(struct run *r)
{
	if (!r->reaper_done) {
		procrun_tree_signal(r->proc.reaper, SIGKILL);
		kill(r->proc.reaper, SIGKILL);
		struct procrun_msg m;
		ssize_t n;
		while ((n = read(r->proc.status_fd, &m, sizeof(m))) > 0 ||
		       (n < 0 && errno == EINTR))
			;
		procrun_spawn_reap(&r->proc);
		r->reaper_done = 1;
	}
	int64_t since = now_ms();
	while (!sweep_orphans(r) && now_ms() - since < PROCRUN_KILL_GIVE_UP_MS)
		usleep(10 * 1000);
}

/* How the run ended, as exec's return value and result. */
static int report(const struct monkey_host *host, const char *name,
		  const struct run *r, int loop_rc,
		  struct monkey_exec_result *result, struct monkey_error *err)
{
	if (loop_rc < 0)
		return procrun_set_err(host, err, loop_rc,
				       "%s: waiting for the command: %s", name,
				       strerror(-loop_rc));
	if (r->gave_up)
		return procrun_set_err(
		    host, err, -EBUSY,
		    "%s: processes of the command survived SIGKILL for "
		    "%d s (stuck in the kernel?) and may still run",
		    name, PROCRUN_KILL_GIVE_UP_MS / 1000);
	int st = r->main_status;
	if (r->reaper_lost) {
		if (host && host->log)
			host->log(host, MONKEY_LOG_WARNING,
				  "%s: the command's reaper process was "
				  "killed or stopped (the command can do "
				  "that: it runs as your user); every process "
				  "the command started has been killed",
				  name);
		if (!r->main_exited)
			st = SIGKILL; /* a wait status: killed by SIGKILL */
	}
	if (MONKEY_STRUCT_HAS(result, signal)) {
		result->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		result->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	}
	if (MONKEY_STRUCT_HAS(result, cancelled)) {
		result->timed_out = r->timed_out;
		result->cancelled = r->cancelled;
	}
	if (r->have_usage && MONKEY_STRUCT_HAS(result, cpu_system_us)) {
		/* Under the host's mark, the most a progress sample saw
		 * is the best there is. */
		long long host_kib = host_peak_kib();
		if (host_kib >= 0 && r->usage.pid > host_kib)
			result->peak_memory_bytes =
			    (int64_t)r->usage.pid * 1024;
		else if (r->most_seen > 0)
			result->peak_memory_bytes = r->most_seen;
		result->cpu_user_us = (int64_t)r->usage.a * 1000;
		result->cpu_system_us = (int64_t)r->usage.b * 1000;
	}
	return 0;
}

/* The command could not be started (the START message says why): let the
 * reaper see its child off and exit, and word the error. */
static int not_started(const struct monkey_host *host, const char *name,
		       struct run *r, const struct procrun_spawn *s,
		       const char *path, const struct procrun_msg *start,
		       struct monkey_error *err)
{
	struct procrun_msg m;
	ssize_t n;
	while ((n = read(r->proc.status_fd, &m, sizeof(m))) > 0 ||
	       (n < 0 && errno == EINTR))
		;
	procrun_spawn_finish(&r->proc, 1);
	if (start->pid < 0)
		return procrun_set_err(host, err, start->pid,
				       "%s: cannot create a process: %s", name,
				       strerror(-start->pid));
	return procrun_exec_failure(host, name, s, path, start, err);
}

/* Run the started command to its end; the poll loop's result. */
static int supervise(struct run *r)
{
	const struct monkey_exec_request *req = r->req;
	r->next_watch = now_ms() + PROCRUN_WATCH_MS;
	r->started = now_ms();
	r->next_progress = r->started + PROCRUN_PROGRESS_MS;
	if (req->timeout_ms > 0)
		r->deadline = now_ms() + req->timeout_ms;
	sigset_t pipe_set, old_mask;
	int masked = 0;
	if (r->in_fd >= 0 && req->stdin_len == 0) {
		close_stdin(r);
	} else if (r->in_fd >= 0) {
		/* Writing to a command that stopped reading raises SIGPIPE;
		 * a plugin may not change the host's handlers, so block it
		 * in this thread only. */
		sigset_t pending;
		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
		sigpending(&pending);
		r->sigpipe_was_pending = sigismember(&pending, SIGPIPE);
		masked = 1;
	}
	int lrc = run_loop(r);
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	if (lrc < 0)
		kill_after_poll_failed(r);
	procrun_spawn_finish(&r->proc, r->reaper_done);
	return lrc;
}

static void normalize_request(const struct monkey_exec_request *in,
			      struct monkey_exec_request *out)
{
	size_t n =
	    in->struct_size < sizeof(*out) ? in->struct_size : sizeof(*out);
	memset(out, 0, sizeof(*out));
	memcpy(out, in, n);
	out->struct_size = sizeof(*out);
	/* A host built before a field existed did not set it. */
	if (n < offsetof(struct monkey_exec_request, cancel_fd) + sizeof(int))
		out->cancel_fd = -1;
}

static const char *const empty_env[] = {NULL};

/* The request as this runner reads it (normalize_request), with the argv
 * that runs and the name messages use. */
static int check_request(const struct monkey_host *host,
			 const struct monkey_exec_request *req_in,
			 const struct procrun_opts *opts,
			 struct monkey_exec_request *req,
			 const char *const **argv, const char **name,
			 struct monkey_error *err)
{
	if (!req_in)
		return procrun_set_err(host, err, -EINVAL,
				       "no request or result given");
	normalize_request(req_in, req);
	*argv = opts && opts->argv ? opts->argv : req->argv;
	if (!*argv || !(*argv)[0] || !req->output)
		return procrun_set_err(
		    host, err, -EINVAL,
		    "the request has no command or no output sink");
	*name = opts && opts->display_name ? opts->display_name : (*argv)[0];
	if (!(*argv)[0][0])
		return procrun_set_err(host, err, -ENOENT,
				       "an empty program name cannot be run");
	if (!req->envp)
		req->envp = empty_env;
	return 0;
}

/* The command's stdout, stderr and stdin: our ends and its ends, -1 when
 * closed or handed on. */
struct pipes {
	int out[2], err[2], in[2];
};

static void pipes_close(struct pipes *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->out[i] >= 0)
			close(p->out[i]);
		if (p->err[i] >= 0)
			close(p->err[i]);
		if (p->in[i] >= 0)
			close(p->in[i]);
	}
}

/* stdin is a pipe when the request has data for it, the job's pipe for
 * a job, else /dev/null. */
static int open_pipes(struct pipes *p, int has_stdin,
		      const struct procrun_opts *opts)
{
	*p = (struct pipes){{-1, -1}, {-1, -1}, {-1, -1}};
	int rc;
	if ((rc = procrun_make_pipe(p->out, 0)) < 0 ||
	    (rc = procrun_make_pipe(p->err, 0)) < 0)
		return rc;
	if (opts && opts->stdin_from_fd) {
		p->in[0] = fcntl(opts->stdin_fd, F_DUPFD_CLOEXEC, 3);
		return p->in[0] < 0 ? -errno : 0;
	}
	if (has_stdin)
		return procrun_make_pipe(p->in, 1);
	p->in[0] = procrun_fd_high(open("/dev/null", O_RDONLY | O_CLOEXEC));
	return p->in[0] < 0 ? -errno : 0;
}

/* Everything the command needs before it can start: the host prepared,
 * the candidate paths of its program, its working directory open, its
 * rlimits planned, its pipes and our read buffer. */
static int prepare(const struct monkey_host *host,
		   const struct monkey_exec_request *req,
		   const struct procrun_opts *opts, const char *const *argv,
		   const char *name, struct procrun_spawn *s, struct pipes *p,
		   char **buf, struct monkey_error *err)
{
	int rc = procrun_host_setup(host, err);
	if (rc < 0)
		return rc;
	procrun_host_mark(s);
	s->paths =
	    procrun_exec_candidates(argv[0], procrun_env_path(req->envp));
	if (!s->paths)
		return procrun_set_err(host, err, -ENOMEM, "out of memory");
	if ((rc = procrun_open_workdir(host, req, &s->wd_fd, err)) < 0)
		return rc;
	if (opts && opts->apply_rlimits)
		procrun_plan_rlimits(s, req);
	if ((rc = open_pipes(p, req->has_stdin, opts)) < 0 ||
	    (rc = (*buf = malloc(READ_CHUNK)) ? 0 : -ENOMEM) < 0)
		return procrun_set_err(
		    host, err, rc, "%s: cannot set up the command's pipes: %s",
		    name, strerror(-rc));
	s->argv = (char *const *)argv;
	s->envp = (char *const *)req->envp;
	s->in_fd = p->in[0];
	s->out_fd = p->out[1];
	s->err_fd = p->err[1];
	return 0;
}

/* Start the command under its reaper and run it to its end. */
static int run_command(const struct monkey_host *host, const char *name,
		       struct run *r, struct procrun_spawn *s, struct pipes *p,
		       struct monkey_exec_result *result,
		       struct monkey_error *err)
{
	struct procrun_msg start;
	/* Takes (and closes) the command's ends and the workdir fd. */
	int rc = procrun_spawn_start(s, &r->proc, &start);
	s->wd_fd = p->in[0] = p->out[1] = p->err[1] = -1;
	r->out_fd = steal_fd(&p->out[0]);
	r->err_fd = steal_fd(&p->err[0]);
	r->in_fd = steal_fd(&p->in[1]);
	if (rc == -ECHILD) {
		r->reaper_done = 1;
		r->reaper_lost = 1;
		begin_orphan_sweeps(r, now_ms());
	} else if (rc < 0) {
		return procrun_set_err(host, err, rc,
				       "%s: cannot create a process: %s", name,
				       strerror(-rc));
	}
	if (!r->reaper_done && (start.pid < 0 || start.a))
		return not_started(host, name, r, s,
				   procrun_env_path(r->req->envp), &start, err);
	int lrc = supervise(r);
	return report(host, name, r, lrc, result, err);
}

static int exec_request(const struct monkey_host *host,
			const struct monkey_exec_request *req_in,
			const struct procrun_opts *opts,
			struct monkey_exec_result *result,
			struct monkey_error *err)
{
	struct monkey_exec_request req;
	const char *const *argv = NULL;
	const char *name = NULL;
	if (!result)
		return procrun_set_err(host, err, -EINVAL,
				       "no request or result given");
	int rc = check_request(host, req_in, opts, &req, &argv, &name, err);
	if (rc < 0)
		return rc;
	struct procrun_spawn s = {.wd_fd = -1};
	struct pipes p = {{-1, -1}, {-1, -1}, {-1, -1}};
	struct run r = {.req = &req, .out_fd = -1, .err_fd = -1, .in_fd = -1};
	r.cancel_fd = req.cancel_fd;
	rc = prepare(host, &req, opts, argv, name, &s, &p, &r.buf, err);
	if (rc == 0)
		rc = run_command(host, name, &r, &s, &p, result, err);
	pipes_close(&p);
	if (s.wd_fd >= 0)
		close(s.wd_fd);
	if (r.out_fd >= 0)
		close(r.out_fd);
	if (r.err_fd >= 0)
		close(r.err_fd);
	close_stdin(&r);
	free((char **)s.paths);
	free(r.buf);
	return rc;
}

int procrun_exec(const struct monkey_host *host,
		 const struct monkey_exec_request *req_in,
		 const struct procrun_opts *opts,
		 struct monkey_exec_result *result, struct monkey_error *err)
{
	/* poll() is a cancellation point: a thread cancelled there would
	 * abandon the command's processes and our descriptors. */
	int old_state;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_state);
	int r = exec_request(host, req_in, opts, result, err);
	pthread_setcancelstate(old_state, NULL);
	return r;
}

int procrun_probe(const struct monkey_host *host, struct monkey_error *err)
{
	if (access("/proc/self/stat", R_OK) < 0)
		return procrun_set_err(
		    host, err, -ENOSYS,
		    "/proc is not mounted: it is needed to find and "
		    "stop every process a command starts");
	struct rlimit rt;
	if (getrlimit(RLIMIT_RTTIME, &rt) == 0 && rt.rlim_max == 0)
		return procrun_set_err(
		    host, err, -ERANGE,
		    "the RLIMIT_RTTIME hard limit is 0, so command processes "
		    "cannot be marked (monkey gives them one below the "
		    "host's, to find them should a command kill its reaper); "
		    "start monkey from a process whose limit is above 0");
	return 0;
}
