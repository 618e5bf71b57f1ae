/* Internals of procrun shared by its files: preparing the host process and
 * marking commands (procrun_host.c), starting a command under its own
 * reaper process (procrun_spawn.c) and finding/signalling the reaper's
 * descendants, or a dead reaper's orphans (procrun_tree.c). */
#ifndef MONKEY_PROCRUN_INT_H
#define MONKEY_PROCRUN_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "cleanup.h"
#include "procrun.h"

/* Messages the reaper writes on the status pipe (each well below PIPE_BUF,
 * so a write is atomic). */
enum procrun_msg_kind {
	PROCRUN_MSG_START = 1, /* pid: main process or -errno of clone;
				  a: errno of a failed setup step, b: stage */
	PROCRUN_MSG_EXIT = 2,  /* pid: main process, a: its wait status,
				  b: 1 when no other process is left (the
				  reaper is exiting), 0 when some may be */
	PROCRUN_MSG_USAGE = 3, /* the reaper's last message, once every
				  process of the command is reaped: pid:
				  largest peak RSS in KiB, a: user CPU ms,
				  b: system CPU ms */
};

struct procrun_msg {
	int32_t kind;
	int32_t pid;
	int32_t a;
	int32_t b;
};

/* The setup step of the command process that failed. */
enum procrun_stage {
	PROCRUN_STAGE_NONE = 0,
	PROCRUN_STAGE_SESSION = 1, /* setsid / parent-death signal */
	PROCRUN_STAGE_STDIO = 2,   /* dup2 of stdin/stdout/stderr */
	PROCRUN_STAGE_CHDIR = 3,   /* fchdir into the working directory */
	PROCRUN_STAGE_RLIMIT = 4,  /* prlimit; the index follows in stage>>8 */
	PROCRUN_STAGE_FDS = 5,	   /* closing inherited descriptors */
	PROCRUN_STAGE_EXEC = 6,	   /* execve of every candidate failed */
	PROCRUN_STAGE_MARK = 7,	   /* setting the mark (procrun_host.c) */
};

struct procrun_rlimit {
	int resource;
	uint64_t cur;
	uint64_t max;
};

#define PROCRUN_MAX_RLIMITS 4

/* What the reaper and the command process need.  Filled by the host thread
 * before clone; read by them only until the START message is written, so the
 * host may free it once it has read START. */
struct procrun_spawn {
	char *const *paths; /* execve candidates, NULL-terminated */
	char *const *argv;
	char *const *envp;
	int in_fd, out_fd, err_fd; /* the command's stdio, all >= 3 */
	int wd_fd;		   /* O_PATH directory or -1 */
	int status_fd;		   /* write end of the status pipe */
	pid_t host_pid;
	struct procrun_rlimit rl[PROCRUN_MAX_RLIMITS];
	int n_rl;
	uint64_t mark_cur, mark_max; /* RLIMIT_RTTIME that marks the command */
	/* Written inside the reaper / command process. */
	pid_t reaper_pid;
	char *child_stack_top;
	int child_errno;
	int child_stage;
};

/* A started command. */
struct procrun_proc {
	pid_t reaper;  /* our direct child; its descendants are the command */
	pid_t main;    /* the command's main process (reaper's child) */
	int status_fd; /* read end of the status pipe; EOF = tree is gone */
	void *stacks;  /* mapping holding the reaper's and child's stacks */
	size_t stacks_len;
};

/* procrun_host.c */

/* Once per process: make the host a child subreaper and non-dumpable, and
 * read the limit the mark is derived from.  0, or an error naming the step
 * that failed. */
int procrun_host_setup(const struct monkey_host *host,
		       struct monkey_error *err);
/* Fill s->mark_cur/mark_max (after procrun_host_setup succeeded). */
void procrun_host_mark(struct procrun_spawn *s);
/* 1 when pid carries the mark of a command process, 0 when not, a negative
 * errno when that cannot be read (the process is gone). */
int procrun_is_marked(pid_t pid);

/* procrun_prep.c */

/* Format a message and fill err through host->set_error (directly when
 * host is NULL, as in tests); returns code. */
int procrun_set_err(const struct monkey_host *host, struct monkey_error *err,
		    int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The code for a failed setup step (never -ENOENT/-EACCES/-ENOEXEC, which
 * the host reports as 127/126 for the program itself). */
int procrun_setup_code(int e);
/* PATH from envp, or execvp's default when it has none. */
const char *procrun_env_path(const char *const *envp);
/* execve candidates for name, as execvp(3) tries them (caller frees). */
char **procrun_exec_candidates(const char *name, const char *path);
/* fd moved to a number >= 3 (the old one closed); -1 on failure. */
int procrun_fd_high(int fd);
/* O_PATH descriptor of req->workdir (>= 3) after checking it lies inside
 * req->workspace; -1 in *fd when there is no workdir. */
int procrun_open_workdir(const struct monkey_host *host,
			 const struct monkey_exec_request *req, int *fd,
			 struct monkey_error *err);
/* The rlimits req asks for, into s->rl. */
void procrun_plan_rlimits(struct procrun_spawn *s,
			  const struct monkey_exec_request *req);
/* pipe2 with both ends >= 3 and p[host_end] non-blocking; -errno. */
int procrun_make_pipe(int p[2], int host_end);
/* The error for a START message that reports a failed setup or exec. */
int procrun_exec_failure(const struct monkey_host *host, const char *name,
			 const struct procrun_spawn *s, const char *path,
			 const struct procrun_msg *m, struct monkey_error *err);

/* procrun_spawn.c */

/* Start s under a new reaper.  On success fills p and the START message (the
 * command may still have failed to exec: see msg->a/b) and returns 0; the
 * fds in s that belong to the command are closed in any case.  Returns
 * -ECHILD when the reaper was killed before it reported the start (p is
 * filled, the reaper reaped: the command may have run, and its processes
 * are the host's children now), another negative errno when no process
 * could be created. */
int procrun_spawn_start(struct procrun_spawn *s, struct procrun_proc *p,
			struct procrun_msg *start);

/* After EOF on the status pipe: wait for the reaper (it is exiting) and
 * release its stacks.  Returns 1 when it exited by itself, which it does
 * only once no process of the command remains; 0 when it was killed (its
 * processes were reparented to the host); -1 when its status was lost (a
 * host that ignores SIGCHLD). */
int procrun_spawn_reap(struct procrun_proc *p);

/* 1 when the reaper is stopped (SIGSTOP from the command): it then reaps
 * nothing and would never report. */
int procrun_spawn_stopped(const struct procrun_proc *p);

/* Close the status pipe and, when the reaper has not been reaped yet, reap
 * it (waiting when reaper_gone says it is exiting) and release its stacks.
 * When the reaper could not be shown to have exited, the stacks are left
 * mapped (it may still run on them). */
void procrun_spawn_finish(struct procrun_proc *p, int reaper_gone);

/* procrun_tree.c */

/* Send sig to every descendant of reaper (not to reaper itself).  Returns
 * the number of processes signalled, or a negative errno when /proc could
 * not be read. */
int procrun_tree_signal(pid_t reaper, int sig);

/* Memory in use now by the reaper's descendants (the sum of their
 * resident sets, shared pages counted once per process), or -1 when
 * /proc cannot tell. */
long long procrun_tree_rss(pid_t reaper);

/* For a command whose reaper is gone: SIGKILL every marked child of the
 * host (what the dead reaper had, reparented to us) and all its
 * descendants, and reap those marked children that have died.  Returns how
 * many children of the host were or may have been the command's (0: none is
 * left, since every process of the command descends from one of them) and
 * sets *found to how many carried the mark; a negative errno when /proc
 * could not be read. */
int procrun_orphans_sweep(int *found);

/* Tests use this to exercise the /proc/<pid>/stat scan that stands in for
 * /proc/<pid>/task/<tid>/children on kernels without CONFIG_PROC_CHILDREN. */
extern PROCRUN_API int procrun_tree_force_stat_scan;

#endif
