/* The none backend: no sandbox at all.  Runs the argv through /bin/sh -c on
 * this machine, every argument quoted so that it reaches the program as
 * given; it still kills the whole process tree on timeout
 * (plugins/common/procrun.c). */
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

/* argv as one shell command line in which every argument is a single-quoted
 * word ('\'' for a quote inside), so the shell hands the program exactly
 * the argv it was given: "a b" stays one argument and "c;echo x" is no
 * second command.  A command that wants shell syntax asks for
 * ["sh", "-c", "..."] itself. */
static char *quote_args(const char *const *argv)
{
	size_t len = 1;
	for (const char *const *a = argv; *a; a++) {
		len += 3; /* two quotes and a space */
		for (const char *c = *a; *c; c++)
			len += *c == '\'' ? 4 : 1;
	}
	char *s = malloc(len), *p = s;
	if (!s)
		return NULL;
	for (const char *const *a = argv; *a; a++) {
		if (a != argv)
			*p++ = ' ';
		*p++ = '\'';
		for (const char *c = *a; *c; c++) {
			if (*c == '\'') {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				*p++ = *c;
			}
		}
		*p++ = '\'';
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
	char *script = quote_args(req->argv);
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
    .description = "NO sandbox: runs the command through /bin/sh -c, each "
		   "argument quoted, directly on this machine",
    .safety = MONKEY_SAFETY_NONE,
    .capabilities = MONKEY_CAP_TIMEOUT | MONKEY_CAP_KILL_TREE |
		    MONKEY_CAP_CLEAN_ENV | MONKEY_CAP_STDIN | MONKEY_CAP_CANCEL,
    .init = none_p_init,
    .probe = none_p_probe,
    .exec = none_p_exec,
    .fini = none_p_fini,
    .details = "No isolation whatsoever. The command runs as one "
	       "/bin/sh -c script in which every argument is single-quoted, "
	       "so each reaches the program exactly as given and shell "
	       "syntax in an argument is not interpreted (ask for "
	       "sh -c '...' to get a shell). The command runs as "
	       "your user with full access to your files and the network. "
	       "It still gets only the environment the host built, stdin "
	       "from --stdin or /dev/null, and on timeout or cancel every "
	       "process it started is stopped (SIGTERM, then SIGKILL after "
	       "--kill-grace), also when it kills or stops its reaper "
	       "process (its processes carry a mark, an RLIMIT_RTTIME hard "
	       "limit one below monkey's, by which monkey finds them). No "
	       "limits are applied: --memory, --cpus, --pids, --cpu-time, "
	       "--file-size, --open-files, --read-only, --mount, --user and "
	       "--image are not enforced.",
};

MONKEY_BACKEND_EXPORT(&none_backend)
