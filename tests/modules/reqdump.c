/* Test-only backend "reqdump": runs nothing; writes the request it was given
 * as JSON-ish lines to stdout, so tests can see exactly what the host sends
 * a backend.  argv[0] "fail-enoent" makes exec return -ENOENT. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/backend.h>

static const struct monkey_host *host;

static int rd_init(const struct monkey_host *h, const char *config_json,
		   void **state, struct monkey_error *err)
{
	(void)err;
	host = h;
	*state = (void *)(config_json ? strdup(config_json) : NULL);
	return 0;
}

/* Unavailable unless the host said where the module is (ABI 1.1), so that
 * tests see every host fill host.module_path.  With "whoami" in its
 * configuration it leaves the instance id the host gave it as a note. */
static int rd_probe(void *state, struct monkey_error *err)
{
	const char *config = state;
	const char *m =
	    MONKEY_STRUCT_HAS(host, module_path) ? host->module_path : NULL;
	size_t n = m ? strlen(m) : 0;
	if (!m || m[0] != '/' || n < 11 || strcmp(m + n - 11, "/reqdump.so"))
		return host->set_error(err, -ENOENT,
				       "the host's module_path is %s, not the "
				       "absolute path of reqdump.so",
				       m ? m : "NULL");
	if (config && strstr(config, "\"whoami\""))
		return host->set_error(err, 0, "instance %s",
				       host->instance_id);
	return 0;
}

static void emit(const struct monkey_exec_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void emit(const struct monkey_exec_request *req, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	req->output(req->output_ctx, MONKEY_STREAM_STDOUT, buf, (size_t)n);
}

static int rd_exec(void *state, const struct monkey_exec_request *req,
		   struct monkey_exec_result *res, struct monkey_error *err)
{
	if (strcmp(req->argv[0], "fail-enoent") == 0)
		return host->set_error(err, -ENOENT, "%s: not found (test)",
				       req->argv[0]);
	for (size_t i = 0; req->argv[i]; i++)
		emit(req, "argv=%s\n", req->argv[i]);
	for (size_t i = 0; req->envp[i]; i++)
		emit(req, "env=%s\n", req->envp[i]);
	for (size_t i = 0; req->user_envp[i]; i++)
		emit(req, "userenv=%s\n", req->user_envp[i]);
	emit(req, "workspace=%s\nworkdir=%s\n", req->workspace, req->workdir);
	emit(req, "timeout=%lld\ngrace=%lld\n", (long long)req->timeout_ms,
	     (long long)req->kill_grace_ms);
	emit(req, "memory=%llu\ncpus=%.2f\npids=%lld\n",
	     (unsigned long long)req->memory_bytes, req->cpus,
	     (long long)req->pids);
	emit(req, "network=%d\nreadonly=%d\n", req->network,
	     req->read_only_root);
	for (size_t i = 0; i < req->n_mounts; i++)
		emit(req, "mount=%s:%s:%s\n", req->mounts[i].source,
		     req->mounts[i].target,
		     req->mounts[i].read_only ? "ro" : "rw");
	emit(req, "image=%s\nuser=%s\n", req->image ? req->image : "(null)",
	     req->user ? req->user : "(null)");
	if (req->has_stdin)
		emit(req, "stdin=%.*s\n", (int)req->stdin_len,
		     (const char *)req->stdin_data);
	emit(req, "config=%s\n", state ? (const char *)state : "(null)");
	emit(req, "module=%s\n", host->module_path);
	req->output(req->output_ctx, MONKEY_STREAM_STDERR, "err\n", 4);
	res->exit_code = req->argv[1] ? (int)strlen(req->argv[1]) : 0;
	return 0;
}

static void rd_fini(void *state) { free(state); }

static const struct monkey_backend desc = {
    MONKEY_BACKEND_HEADER,
    .name = "reqdump",
    .description = "test backend that reports its request",
    .safety = MONKEY_SAFETY_NONE,
    .capabilities = MONKEY_CAP_STDIN | MONKEY_CAP_MEMORY,
    .init = rd_init,
    .probe = rd_probe,
    .exec = rd_exec,
    .fini = rd_fini,
};

MONKEY_BACKEND_EXPORT(&desc)
