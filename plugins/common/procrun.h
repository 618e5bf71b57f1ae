/* procrun - run one command as a process tree on this machine, shared by the
 * spawn and none backends: argv exec with PATH lookup, own session, whole-tree
 * kill on timeout/cancel/exit, bounded streaming of output, stdin, rlimits.
 * Everything here has hidden visibility: only each module's entry symbol is
 * exported. */
#ifndef MONKEY_PROCRUN_H
#define MONKEY_PROCRUN_H

#include <monkey/backend.h>

#define PROCRUN_API __attribute__((visibility("hidden")))

/* How long output is still read after the command's main process exited
 * while a process it left behind keeps stdout/stderr open (the drain guard).
 * Then the leftovers are stopped and exec returns. */
#define PROCRUN_DRAIN_MS 500

/* How often a running command's reaper is checked for having been stopped
 * (by the command: kill -STOP $PPID).  A stopped reaper is killed, and the
 * command's processes with it. */
#define PROCRUN_WATCH_MS 100
/* How often req->progress hears from a running command. */
#define PROCRUN_PROGRESS_MS 500

/* Longest time spent sending SIGKILL to processes that will not die (a
 * process in uninterruptible sleep cannot be killed) before exec gives up
 * with an error. */
#define PROCRUN_KILL_GIVE_UP_MS 10000

struct procrun_opts {
	/* Apply the rlimit fields of the request (memory_bytes as RLIMIT_AS,
	 * cpu_time_s, file_size_bytes, open_files).  0 ignores them. */
	int apply_rlimits;
	/* Run this argv instead of req->argv (the none backend's sh -c).
	 * NULL: req->argv. */
	const char *const *argv;
	/* The name used in messages ("frob: command not found"); NULL:
	 * argv[0]. */
	const char *display_name;
	/* A job's stdin: fd 0 of the command is a duplicate of stdin_fd
	 * (a pipe the job feeds) instead of the request's data. */
	int stdin_from_fd;
	int stdin_fd;
};

/* Run req to completion as the backend ABI's exec entry point describes:
 * 0 when the command ran (result filled), -ENOENT when the program was not
 * found, -EACCES/-ENOEXEC when it cannot be executed, another negative
 * errno when the runner failed; err is filled through host->set_error.
 * Thread-safe: several threads may run commands at once. */
PROCRUN_API int procrun_exec(const struct monkey_host *host,
			     const struct monkey_exec_request *req,
			     const struct procrun_opts *opts,
			     struct monkey_exec_result *result,
			     struct monkey_error *err);

/* 0 when commands can run here (/proc is mounted, RLIMIT_RTTIME can mark
 * command processes); otherwise an error saying what is missing.  Changes
 * nothing in the host: procrun_exec makes it a child subreaper and
 * non-dumpable before its first command. */
PROCRUN_API int procrun_probe(const struct monkey_host *host,
			      struct monkey_error *err);

#endif
