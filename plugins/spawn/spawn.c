/* The spawn backend: runs each command as a process tree on this machine,
 * argv executed directly, with whole-tree kill, a clean environment, stdin
 * and setrlimit-based limits (the runner is plugins/common/procrun.c). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <monkey/backend.h>

#include "bgjob.h"
#include "procrun.h"

struct spawn_state {
	const struct monkey_host *host;
};

static int spawn_p_init(const struct monkey_host *host, const char *config_json,
			void **state, struct monkey_error *err)
{
	(void)config_json; /* spawn has no settings of its own */
	struct spawn_state *st = calloc(1, sizeof(*st));
	if (!st)
		return host->set_error(err, -ENOMEM, "spawn: out of memory");
	st->host = host;
	*state = st;
	return 0;
}

static int spawn_p_probe(void *state, struct monkey_error *err)
{
	struct spawn_state *st = state;
	return procrun_probe(st->host, err);
}

static int spawn_p_exec(void *state, const struct monkey_exec_request *req,
			struct monkey_exec_result *result,
			struct monkey_error *err)
{
	struct spawn_state *st = state;
	const struct procrun_opts opts = {.apply_rlimits = 1};
	return procrun_exec(st->host, req, &opts, result, err);
}

static void spawn_p_fini(void *state) { free(state); }

/* A session here is the machine itself: files persist anyway, and every
 * command is still killed whole at its end.  What the session holds is
 * the order of its commands, and its jobs. */
struct spawn_session {
	struct spawn_state *st;
	pthread_mutex_t lock;
	struct bgjob_set jobs;
};

static int spawn_p_session_open(void *state,
				const struct monkey_exec_request *req,
				void **session, struct monkey_error *err)
{
	struct spawn_state *st = state;
	(void)req;
	struct spawn_session *s = calloc(1, sizeof(*s));
	if (!s)
		return st->host->set_error(err, -ENOMEM,
					   "spawn: out of memory");
	s->st = st;
	pthread_mutex_init(&s->lock, NULL);
	bgjob_set_init(&s->jobs);
	*session = s;
	return 0;
}

static int spawn_p_session_exec(void *session,
				const struct monkey_exec_request *req,
				struct monkey_exec_result *result,
				struct monkey_error *err)
{
	struct spawn_session *s = session;
	pthread_mutex_lock(&s->lock);
	int r = spawn_p_exec(s->st, req, result, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void spawn_p_session_close(void *session)
{
	struct spawn_session *s = session;
	if (!s)
		return;
	bgjob_set_close(&s->jobs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Jobs run under procrun like any command, on a thread of their own:
 * their reaper kills everything they started when they end, and no
 * foreground command's end touches them. */
static int spawn_job_run(void *ctx, const struct monkey_exec_request *req,
			 int stdin_fd, struct monkey_exec_result *result,
			 struct monkey_error *err)
{
	struct spawn_session *s = ctx;
	const struct procrun_opts opts = {
	    .apply_rlimits = 1, .stdin_from_fd = 1, .stdin_fd = stdin_fd};
	return procrun_exec(s->st->host, req, &opts, result, err);
}

static int spawn_p_job_start(void *session,
			     const struct monkey_exec_request *req, void **job,
			     struct monkey_error *err)
{
	struct spawn_session *s = session;
	struct bgjob *j = NULL;
	int rc =
	    bgjob_start(&s->jobs, s->st->host, req, spawn_job_run, s, &j, err);
	if (rc == 0)
		*job = j;
	return rc;
}

static const struct monkey_backend spawn_backend = {
    MONKEY_BACKEND_HEADER,
    .name = "spawn",
    .description = "process sandbox on this machine: argv exec, own "
		   "session, whole-tree kill, clean environment, rlimits",
    .safety = MONKEY_SAFETY_MEDIUM,
    .capabilities =
	MONKEY_CAP_TIMEOUT | MONKEY_CAP_KILL_TREE | MONKEY_CAP_CLEAN_ENV |
	MONKEY_CAP_STDIN | MONKEY_CAP_CANCEL | MONKEY_CAP_MEMORY_APPROX |
	MONKEY_CAP_CPU_TIME | MONKEY_CAP_FILE_SIZE | MONKEY_CAP_OPEN_FILES |
	MONKEY_CAP_SESSION | MONKEY_CAP_JOBS,
    .init = spawn_p_init,
    .probe = spawn_p_probe,
    .exec = spawn_p_exec,
    .fini = spawn_p_fini,
    .details =
	"Runs each command as an ordinary process of the invoking user on "
	"this machine. The argv is executed directly, never through a "
	"shell; PATH is looked up in the command's own environment, which "
	"holds only what the host allows. The command gets a new session "
	"and process group, a parent-death signal, and a private "
	"child-subreaper process, so processes that call setsid() or "
	"double-fork are still found. On timeout, on cancel, and when the "
	"command exits leaving processes behind, every one of them gets "
	"SIGTERM, then SIGKILL after the grace period (--kill-grace); a "
	"process that keeps stdout or stderr open after the command exits is "
	"waited for at most 0.5 s. stdin is /dev/null unless --stdin is "
	"given. Limits applied with setrlimit when asked for: --memory as "
	"RLIMIT_AS (an address-space limit, not a memory limit: programs "
	"that reserve large address ranges, such as node or a JVM, may fail "
	"to start under it), --cpu-time as RLIMIT_CPU (SIGXCPU, then SIGKILL "
	"a second later), --file-size as RLIMIT_FSIZE and --open-files as "
	"RLIMIT_NOFILE. Not enforced: --cpus, --pids, network isolation "
	"(commands can reach the network), filesystem isolation and "
	"--read-only, --mount, --user and --image; use --sandbox docker for "
	"those.\n"
	"What a command can still do, since it runs as your user: read and "
	"write every file you can, your other projects, your shell and "
	"editor configuration and credentials included; change the "
	"workspace's .git directory (hooks and config that git runs later), "
	"which spawn cannot protect (the docker backend mounts it "
	"read-only); signal, stop or trace your other processes, monkey "
	"itself included, so it can kill or freeze monkey. What it cannot "
	"do: read monkey's environment (API keys) or memory, which monkey "
	"makes non-dumpable before any command runs (a command running as "
	"root can read every process regardless); and escape the tree kill "
	"by killing or stopping its reaper: monkey is a child subreaper, "
	"notices a reaper that was killed or stopped within 0.1 s, and kills "
	"everything the command started, which carries a mark (an "
	"RLIMIT_RTTIME hard limit one below monkey's) that only a "
	"privileged process can remove. The docker backend closes all of "
	"this: the command sees no process of yours and no file but the "
	"workspace and what you mount, with .git read-only; a rootless "
	"backend on user namespaces would too.\n\n"
	"Sessions (monkey agent runs in one): the commands run one after "
	"another on this machine, so every file they write persists, inside "
	"the workspace or not; each command is still killed whole at its "
	"end. Background jobs run under their own reaper, are not killed "
	"when a foreground command ends, and die with the session.",
    .session_open = spawn_p_session_open,
    .session_exec = spawn_p_session_exec,
    .session_close = spawn_p_session_close,
    .job_start = spawn_p_job_start,
    .job_read = bgjob_abi_read,
    .job_write = bgjob_abi_write,
    .job_stop = bgjob_abi_stop,
    .job_close = bgjob_abi_close,
};

MONKEY_BACKEND_EXPORT(&spawn_backend)
