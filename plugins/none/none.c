/* The none backend: no sandbox at all.  Joins the arguments into one string
 * and runs it with /bin/sh -c on this machine, as the user asked for; it
 * still kills the whole process tree on timeout (plugins/common/procrun.c). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/backend.h>

#include "procrun.h"

struct none_state {
	const struct monkey_host *host;
};

static int none_p_init(const struct monkey_host *host, const char *config_json,
		       void **state, struct monkey_error *err)
{
	(void)config_json;
	struct none_state *st = calloc(1, sizeof(*st));
	if (!st)
		return host->set_error(err, -ENOMEM, "none: out of memory");
	st->host = host;
	*state = st;
	host->log(host, MONKEY_LOG_WARNING,
		  "the none backend runs commands directly on this machine "
		  "with no sandbox: through /bin/sh, as your user, with full "
		  "access to your files and the network");
	return 0;
}

static int none_p_probe(void *state, struct monkey_error *err)
{
	struct none_state *st = state;
	return procrun_probe(st->host, err);
}

/* argv joined with single spaces, no quoting: what "none" promises. */
static char *join_args(const char *const *argv)
{
	size_t len = 1;
	for (const char *const *a = argv; *a; a++)
		len += strlen(*a) + 1;
	char *s = malloc(len), *p = s;
	if (!s)
		return NULL;
	for (const char *const *a = argv; *a; a++) {
		size_t n = strlen(*a);
		if (a != argv)
			*p++ = ' ';
		memcpy(p, *a, n);
		p += n;
	}
	*p = '\0';
	return s;
}

static int none_p_exec(void *state, const struct monkey_exec_request *req,
		       struct monkey_exec_result *result,
		       struct monkey_error *err)
{
	struct none_state *st = state;
	if (!req || !req->argv || !req->argv[0])
		return st->host->set_error(err, -EINVAL, "none: no command");
	char *script = join_args(req->argv);
	if (!script)
		return st->host->set_error(err, -ENOMEM, "none: out of memory");
	const char *const argv[] = {"/bin/sh", "-c", script, NULL};
	const struct procrun_opts opts = {
	    .apply_rlimits = 0,
	    .argv = argv,
	    .display_name = "/bin/sh",
	};
	int r = procrun_exec(st->host, req, &opts, result, err);
	free(script);
	return r;
}

static void none_p_fini(void *state) { free(state); }

static const struct monkey_backend none_backend = {
    MONKEY_BACKEND_HEADER,
    .name = "none",
    .description = "NO sandbox: runs the joined arguments with /bin/sh -c "
		   "directly on this machine",
    .safety = MONKEY_SAFETY_NONE,
    .capabilities = MONKEY_CAP_TIMEOUT | MONKEY_CAP_KILL_TREE |
		    MONKEY_CAP_CLEAN_ENV | MONKEY_CAP_STDIN | MONKEY_CAP_CANCEL,
    .init = none_p_init,
    .probe = none_p_probe,
    .exec = none_p_exec,
    .fini = none_p_fini,
    .details = "No isolation whatsoever. The arguments are joined with "
	       "spaces, without quoting, and run as one /bin/sh -c script, "
	       "so shell syntax in them is interpreted. The command runs as "
	       "your user with full access to your files and the network. "
	       "It still gets only the environment the host built, stdin "
	       "from --stdin or /dev/null, and on timeout or cancel every "
	       "process it started is stopped (SIGTERM, then SIGKILL after "
	       "--kill-grace). No limits are applied: --memory, --cpus, "
	       "--pids, --cpu-time, --file-size, --open-files, --read-only, "
	       "--mount, --user and --image are not enforced.",
};

MONKEY_BACKEND_EXPORT(&none_backend)
