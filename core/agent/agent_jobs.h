/* The agent's background jobs (agent_jobs.c): shell_execute with
 * background true, job_output, job_input and job_stop, at most
 * AGENT_JOBS_MAX at once, each with its own timeout, all closed when the
 * run ends. */
#ifndef MONKEY_AGENT_JOBS_H
#define MONKEY_AGENT_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include <monkey/session.h>

#define AGENT_JOBS_MAX 8
/* What a job printed in its first moments comes back with the start. */
#define AGENT_JOB_FIRST_MS 1000

struct agent_job {
	int id; /* 0: free slot */
	struct monkey_job *j;
	char *display; /* its argv, quoted */
};

struct agent_jobs {
	struct agent_job slot[AGENT_JOBS_MAX];
	int next_id;
};

struct monkey_agent;
struct agent_block;
struct tool_args;

/* A tool call about jobs (shell_execute with background, job_output,
 * job_input, job_stop): *content for the model (caller frees),
 * *is_error.  Returns -ENOMEM only. */
int agent_job_tool(struct monkey_agent *a, const struct agent_block *call,
		   const struct tool_args *args, char **content,
		   bool *is_error);
/* Close every job (the run ends). */
void agent_jobs_close(struct agent_jobs *jobs);

#endif
