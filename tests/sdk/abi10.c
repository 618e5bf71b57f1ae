/* A test backend compiled against the frozen ABI 1.0 header in
 * tests/sdk/abi-1.0, as a third-party backend built before any later append
 * was: the host must keep loading and running it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <monkey/backend.h>

#if MONKEY_BACKEND_ABI_MAJOR != 1 || MONKEY_BACKEND_ABI_MINOR != 0
#error "abi10 must be built against tests/sdk/abi-1.0/monkey/backend.h"
#endif

static int a_init(const struct monkey_host *host, const char *config,
		  void **state, struct monkey_error *err)
{
	(void)config, (void)err;
	*state = (void *)host;
	return 0;
}

static int a_probe(void *state, struct monkey_error *err)
{
	(void)state, (void)err;
	return 0;
}

/* Echoes its argv to stdout and exits with the number of arguments, so
 * that the test sees the request crossed intact. */
static int a_exec(void *state, const struct monkey_exec_request *req,
		  struct monkey_exec_result *result, struct monkey_error *err)
{
	const struct monkey_host *host = state;
	char line[1024] = "abi10 ran:";
	int n = 0;
	for (const char *const *a = req->argv; *a; a++, n++) {
		if (strlen(line) + strlen(*a) + 3 > sizeof(line))
			return host->set_error(err, -E2BIG, "argv too long");
		strcat(line, " ");
		strcat(line, *a);
	}
	strcat(line, "\n");
	if (req->output(req->output_ctx, MONKEY_STREAM_STDOUT, line,
			strlen(line)) < 0)
		result->cancelled = 1;
	result->exit_code = n;
	return 0;
}

static void a_fini(void *state)
{
	(void)state;
}

static const struct monkey_backend desc = {
	MONKEY_BACKEND_HEADER,
	.name = "abi10",
	.description = "test backend built against the ABI 1.0 header",
	.safety = MONKEY_SAFETY_NONE,
	.capabilities = MONKEY_CAP_CLEAN_ENV,
	.init = a_init,
	.probe = a_probe,
	.exec = a_exec,
	.fini = a_fini,
	.details = "built against ABI 1.0",
};

MONKEY_BACKEND_EXPORT(&desc)
