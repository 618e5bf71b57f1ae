/* The executor's inside, for sessions (session.c): a command run through
 * another entry point than the backend's exec, and the settings a
 * session's sandbox is opened with. */
#ifndef MONKEY_EXECUTOR_INT_H
#define MONKEY_EXECUTOR_INT_H

#include <monkey/exec.h>

/* Where a command goes instead of the backend's exec. */
struct monkey_exec_via {
	int (*run)(void *ctx, const struct monkey_exec_request *req,
		   struct monkey_exec_result *result, struct monkey_error *err);
	void *ctx;
};

/* monkey_executor_run, through via (NULL: the backend's exec). */
int monkey_executor_run_via(struct monkey_executor *ex,
			    const struct monkey_command *cmd,
			    const struct monkey_exec_via *via,
			    struct monkey_result *res,
			    struct monkey_error *err);
/* Fill req with ex's resolved settings and no command (argv, output
 * NULL); its strings are borrowed from ex. */
void monkey_executor_settings(const struct monkey_executor *ex,
			      struct monkey_exec_request *req);
/* The backend request for cmd with ex's settings (as a command run by
 * the executor gets it), output and cancel left to the caller; strings
 * borrowed from ex and cmd, *workdir (caller frees) from the resolved
 * working directory.  Errors say what is wrong with cmd. */
int monkey_executor_request(const struct monkey_executor *ex,
			    const struct monkey_command *cmd, char **workdir,
			    struct monkey_exec_request *req,
			    struct monkey_error *err);
/* A backend's answer (r, berr, br) as monkey_executor_run reports it. */
void monkey_executor_result(const struct monkey_executor *ex, const char *prog,
			    int r, const struct monkey_error *berr,
			    const struct monkey_exec_result *br,
			    struct monkey_result *res);
/* Bytes of each stream a result keeps. */
size_t monkey_executor_max_output(const struct monkey_executor *ex);
/* The backend's state, as init returned it (borrowed). */
void *monkey_executor_backend_state(const struct monkey_executor *ex);
/* Pass msg to the user's notify callback. */
void monkey_executor_notify(struct monkey_executor *ex, int level,
			    const char *msg);

#endif
