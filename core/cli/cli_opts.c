/* Sandbox options shared by "monkey exec", "monkey agent" and "monkey
 * replay": parsing, validation with messages that name the option, and the
 * help text. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"

enum {
	OPT_SANDBOX = MONKEY_CLI_OPT_BASE,
	OPT_DOCKER,
	OPT_TIMEOUT,
	OPT_KILL_GRACE,
	OPT_MEMORY,
	OPT_CPUS,
	OPT_PIDS,
	OPT_CPU_TIME,
	OPT_FILE_SIZE,
	OPT_OPEN_FILES,
	OPT_NETWORK,
	OPT_READ_ONLY,
	OPT_WORKSPACE,
	OPT_WORKDIR,
	OPT_MOUNT,
	OPT_CACHE,
	OPT_ENV,
	OPT_PASS_ENV,
	OPT_IMAGE,
	OPT_USER,
	OPT_NO_FALLBACK,
	OPT_BACKEND_DIR,
	OPT_MAX_OUTPUT,
	OPT_POOL,
	OPT_STRICT,
	OPT_WRITABLE_GIT,
	OPT_ALLOW_DOMAIN,
	OPT_PROXY_RESOLVE,
};

static const struct option shared[] = {
    {"sandbox", required_argument, NULL, OPT_SANDBOX},
    {"docker", no_argument, NULL, OPT_DOCKER},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"kill-grace", required_argument, NULL, OPT_KILL_GRACE},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"pids", required_argument, NULL, OPT_PIDS},
    {"cpu-time", required_argument, NULL, OPT_CPU_TIME},
    {"file-size", required_argument, NULL, OPT_FILE_SIZE},
    {"open-files", required_argument, NULL, OPT_OPEN_FILES},
    {"network", no_argument, NULL, OPT_NETWORK},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"workspace", required_argument, NULL, OPT_WORKSPACE},
    {"workdir", required_argument, NULL, OPT_WORKDIR},
    {"mount", required_argument, NULL, OPT_MOUNT},
    {"cache", required_argument, NULL, OPT_CACHE},
    {"env", required_argument, NULL, OPT_ENV},
    {"pass-env", required_argument, NULL, OPT_PASS_ENV},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"user", required_argument, NULL, OPT_USER},
    {"no-fallback", no_argument, NULL, OPT_NO_FALLBACK},
    {"backend-dir", required_argument, NULL, OPT_BACKEND_DIR},
    {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
    {"pool", required_argument, NULL, OPT_POOL},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"writable-git", no_argument, NULL, OPT_WRITABLE_GIT},
    {"allow-domain", required_argument, NULL, OPT_ALLOW_DOMAIN},
    {"proxy-resolve", required_argument, NULL, OPT_PROXY_RESOLVE},
};

const char monkey_cli_sandbox_help[] =
    "Sandbox options:\n"
    "  --sandbox NAME      backend: spawn (default), docker, none, or a\n"
    "                      module in the backend path (env MONKEY_SANDBOX)\n"
    "  --docker            same as --sandbox docker\n"
    "  --no-fallback       fail instead of falling back to spawn when the\n"
    "                      backend is missing or unavailable\n"
    "  --backend-dir DIR   look for backends in DIR first (then\n"
    "                      MONKEY_BACKEND_PATH, then " MONKEY_BACKEND_DIR ")\n"
    "  --timeout MS        kill the command after MS milliseconds (60000;\n"
    "                      0 = no limit)\n"
    "  --kill-grace MS     time between SIGTERM and SIGKILL (2000)\n"
    "  --memory SIZE       memory limit: MB, or with a unit as docker takes\n"
    "                      it (512m, 1.5g, 2GiB) (256)\n"
    "  --cpus N            CPU limit, e.g. 0.5 (0.5)\n"
    "  --pids N            process limit (50)\n"
    "  --cpu-time SEC      CPU time limit (none)\n"
    "  --file-size BYTES   largest file the command may write (none)\n"
    "  --open-files N      open file limit (none)\n"
    "  --network           give the command a network (default: none)\n"
    "  --allow-domain PATTERN  let the command reach these hosts, and only\n"
    "                      these, through monkey's egress proxy\n"
    "                      (repeatable): example.com, *.example.com, an\n"
    "                      address, or a preset (@npm, @pypi, @crates, @go,\n"
    "                      @debian, @github); :PORT for another port than\n"
    "                      80 and 443\n"
    "  --proxy-resolve HOST[:PORT]:ADDR  the proxy connects to ADDR for HOST\n"
    "                      (as curl's --resolve; repeatable)\n"
    "  --read-only         read-only root filesystem, writable /tmp\n"
    "  --workspace DIR     workspace root (default: current directory)\n"
    "  --workdir DIR       working directory inside the workspace; a\n"
    "                      relative DIR is relative to the workspace\n"
    "                      (default: the workspace root)\n"
    "  --mount SRC:DST[:ro|rw]  bind mount (repeatable); for a SRC that holds\n"
    "                      ':' use type=bind,src=SRC,dst=DST[,ro]; DST may\n"
    "                      not lie inside the workspace\n"
    "  --cache NAME:DST    a persistent dependency cache at DST, read-write\n"
    "                      (repeatable); presets @pip @npm @cargo @go also\n"
    "                      point the tool at it; see 'monkey cache list'\n"
    "  --env NAME=VALUE    set a variable for the command (repeatable)\n"
    "  --pass-env NAME     pass a host variable through (repeatable)\n"
    "  --image NAME        container image (env MONKEY_DOCKER_IMAGE)\n"
    "  --user UID:GID      user to run as (container backends)\n"
    "  --max-output BYTES  output kept in memory per stream (1048576)\n"
    "  --pool K            prestarted sandboxes (backends that pool)\n"
    "  --strict            refuse to run (instead of warning) when the\n"
    "                      backend does not enforce an option you set, or\n"
    "                      is not available (no fallback)\n"
    "  --writable-git      let commands in containers write the\n"
    "                      workspace's .git (read-only by default)\n"
    "\n"
    "Only PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TERM, TZ,\n"
    "TMPDIR and colour settings reach the command from monkey's environment;\n"
    "names containing KEY, TOKEN, SECRET or PASSWORD never do unless named\n"
    "with --env or --pass-env.\n";

static void print_escaped(FILE *f, const char *prefix, const char *fmt,
			  va_list ap)
{
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	if (n < 0)
		return;
	char *e = monkey_escape(s, (size_t)n, 0, NULL);
	free(s);
	if (!e)
		return;
	fprintf(f, "%s%s\n", prefix, e);
	free(e);
}

void monkey_cli_line(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_escaped(f, "", fmt, ap);
	va_end(ap);
}

void monkey_cli_print_json(FILE *f, const char *json)
{
	size_t len;
	char *e = monkey_escape_json(json, strlen(json), &len);
	if (e) {
		fwrite(e, 1, len, f);
		fputc('\n', f);
	}
	free(e);
}

void monkey_cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_escaped(stderr, "monkey: ", fmt, ap);
	va_end(ap);
}

void monkey_cli_open_error(const struct monkey_cli_sandbox *s, const char *msg)
{
	const char *name = s->opts.sandbox;
	if (s->sandbox_from_env && name && strcasestr(msg, name))
		monkey_cli_error("MONKEY_SANDBOX=%s: %s", name, msg);
	else
		monkey_cli_error("%s", msg);
}

void monkey_cli_notify(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level < MONKEY_LOG_WARNING) {
		/* Progress (an image pull, a sweep) is for a person watching;
		 * debug chatter only when asked for. */
		bool show = getenv("MONKEY_VERBOSE") ||
			    (level == MONKEY_LOG_INFO && isatty(2));
		if (show)
			monkey_cli_error("%s", msg);
		return;
	}
	monkey_cli_error("%s: %s",
			 level >= MONKEY_LOG_ERROR ? "error" : "warning", msg);
}

void monkey_cli_sandbox_init(struct monkey_cli_sandbox *s)
{
	memset(s, 0, sizeof(*s));
	monkey_exec_options_init(&s->opts);
}

void monkey_cli_sandbox_free(struct monkey_cli_sandbox *s)
{
	monkey_strv_free(&s->mounts);
	monkey_strv_free(&s->caches);
	monkey_strv_free(&s->env);
	monkey_strv_free(&s->pass_env);
	monkey_strv_free(&s->allow_domains);
	monkey_strv_free(&s->proxy_resolve);
}

struct option *monkey_cli_longopts(const struct option *extra)
{
	size_t ne = 0;
	while (extra && extra[ne].name)
		ne++;
	size_t ns = sizeof(shared) / sizeof(shared[0]);
	struct option *o = calloc(ns + ne + 1, sizeof(*o));
	if (!o)
		return NULL;
	memcpy(o, shared, sizeof(shared));
	if (ne)
		memcpy(o + ns, extra, ne * sizeof(*o));
	return o;
}

/* Strict number parsing: the whole argument, in range. */
static int parse_u64(const char *flag, const char *arg, const char *unit,
		     const char *example, uint64_t max, uint64_t *out,
		     struct monkey_error *err)
{
	char *end = NULL;
	errno = 0;
	if (!arg[0] || arg[0] == '-' ||
	    (*out = strtoull(arg, &end, 10), errno) || *end || *out > max)
		return monkey_set_error(err, -EINVAL,
					"%s '%s': expected a whole number of "
					"%s, e.g. %s %s",
					flag, arg, unit, flag, example);
	return 0;
}

/* --memory: plain megabytes (monkey's unit since the start), or a number
 * with docker's units: b, k, m, g, t (binary multiples), each optionally
 * followed by "b" or "ib" ("512m", "1.5g", "2GiB").  Rounded up to whole
 * megabytes. */
static int parse_memory(const char *arg, uint64_t *mb, struct monkey_error *err)
{
	static const char units[] = "bkmgt";
	char *end = NULL;
	errno = 0;
	double v = arg[0] >= '0' && arg[0] <= '9' ? strtod(arg, &end) : -1;
	const char *u = end ? end : arg;
	int shift = -1; /* power of 1024 of the unit; -1: plain MB */
	if (*u) {
		const char *k = strchr(units, u[0] | 0x20);
		if (k) {
			shift = (int)(k - units);
			u++;
			if ((u[0] | 0x20) == 'i' && (u[1] | 0x20) == 'b')
				u += 2;
			else if ((u[0] | 0x20) == 'b' && shift)
				u++;
		}
	}
	double bytes =
	    shift < 0 ? v * 1048576.0 : v * (double)(1ull << (10 * shift));
	if (errno || v < 0 || *u || !isfinite(v) || bytes > 1e18 ||
	    (shift < 0 && v != floor(v)))
		return monkey_set_error(err, -EINVAL,
					"--memory '%s': expected megabytes "
					"(e.g. --memory 512) or a size with a "
					"unit (512m, 1.5g, 2GiB)",
					arg);
	if (bytes < 6.0 * 1048576.0)
		return monkey_set_error(err, -EINVAL,
					"--memory %s: the smallest limit is 6 "
					"MB, e.g. --memory 64 or --memory 64m",
					arg);
	*mb = (uint64_t)ceil(bytes / 1048576.0);
	return 0;
}

static int parse_cpus(const char *arg, double *out, struct monkey_error *err)
{
	char *end = NULL;
	errno = 0;
	double d = strtod(arg, &end);
	if (errno || !*arg || *end || !isfinite(d) || d <= 0 || d > 4096)
		return monkey_set_error(err, -EINVAL,
					"--cpus '%s': expected a positive "
					"number of CPUs, e.g. --cpus 1.5",
					arg);
	*out = d;
	return 0;
}

/* Which backend, from where, and how hard to insist on it. */
static int backend_option(struct monkey_exec_options *o, int opt,
			  const char *arg)
{
	switch (opt) {
	case OPT_SANDBOX:
		o->sandbox = arg;
		return 1;
	case OPT_DOCKER:
		o->sandbox = "docker";
		return 1;
	case OPT_NO_FALLBACK:
		o->no_fallback = true;
		return 1;
	case OPT_BACKEND_DIR:
		o->backend_dir = arg;
		return 1;
	case OPT_STRICT:
		o->strict = true;
		return 1;
	}
	return 0;
}

/* The limits a backend enforces (or is asked to). */
static int rlimit_option(struct monkey_exec_options *o, int opt,
			 const char *arg, struct monkey_error *err)
{
	uint64_t v = 0;
	int r;
	switch (opt) {
	case OPT_CPU_TIME:
		if ((r = parse_u64("--cpu-time", arg, "seconds", "60",
				   UINT32_MAX, &v, err)) < 0)
			return r;
		o->cpu_time_s = v;
		o->explicit_set |= MONKEY_OPT_CPU_TIME;
		return 1;
	case OPT_FILE_SIZE:
		if ((r = parse_u64("--file-size", arg, "bytes", "1048576",
				   UINT64_MAX, &v, err)) < 0)
			return r;
		o->file_size_bytes = v;
		o->explicit_set |= MONKEY_OPT_FILE_SIZE;
		return 1;
	case OPT_OPEN_FILES:
		if ((r = parse_u64("--open-files", arg, "files", "256", 1 << 20,
				   &v, err)) < 0)
			return r;
		o->open_files = v;
		o->explicit_set |= MONKEY_OPT_OPEN_FILES;
		return 1;
	}
	return 0;
}

static int limit_option(struct monkey_cli_sandbox *s, int opt, const char *arg,
			struct monkey_error *err)
{
	struct monkey_exec_options *o = &s->opts;
	uint64_t v = 0;
	int r;
	switch (opt) {
	case OPT_TIMEOUT:
		if ((r = parse_u64("--timeout", arg, "milliseconds", "30000",
				   INT64_MAX / 2, &v, err)) < 0)
			return r;
		o->timeout_ms = (int64_t)v;
		s->timeout_set = true;
		return 1;
	case OPT_KILL_GRACE:
		if ((r = parse_u64("--kill-grace", arg, "milliseconds", "2000",
				   INT64_MAX / 2, &v, err)) < 0)
			return r;
		o->kill_grace_ms = (int64_t)v;
		return 1;
	case OPT_MEMORY:
		if ((r = parse_memory(arg, &v, err)) < 0)
			return r;
		o->memory_mb = v;
		o->explicit_set |= MONKEY_OPT_MEMORY;
		return 1;
	case OPT_CPUS:
		if ((r = parse_cpus(arg, &o->cpus, err)) < 0)
			return r;
		o->explicit_set |= MONKEY_OPT_CPUS;
		return 1;
	case OPT_PIDS:
		if ((r = parse_u64("--pids", arg, "processes", "100", INT64_MAX,
				   &v, err)) < 0)
			return r;
		if (v == 0)
			return monkey_set_error(err, -EINVAL,
						"--pids 0: a command needs at "
						"least one process, e.g. "
						"--pids 100");
		o->pids = (int64_t)v;
		o->explicit_set |= MONKEY_OPT_PIDS;
		return 1;
	case OPT_MAX_OUTPUT:
		if ((r = parse_u64("--max-output", arg, "bytes", "1048576",
				   (uint64_t)1 << 32, &v, err)) < 0)
			return r;
		o->max_output = (size_t)v;
		return 1;
	case OPT_POOL:
		if ((r = parse_u64("--pool", arg, "containers", "2", 64, &v,
				   err)) < 0)
			return r;
		o->pool = (int)v;
		o->explicit_set |= MONKEY_OPT_POOL;
		return 1;
	}
	return rlimit_option(o, opt, arg, err);
}

/* What the command sees: network, files, user, image. */
static int isolation_option(struct monkey_cli_sandbox *s, int opt,
			    const char *arg, struct monkey_error *err)
{
	struct monkey_exec_options *o = &s->opts;
	switch (opt) {
	case OPT_NETWORK:
		o->network = true;
		o->explicit_set |= MONKEY_OPT_NETWORK;
		return 1;
	case OPT_READ_ONLY:
		o->read_only = true;
		o->explicit_set |= MONKEY_OPT_READ_ONLY;
		return 1;
	case OPT_WORKSPACE:
		o->workspace = arg;
		return 1;
	case OPT_WORKDIR:
		o->workdir = arg;
		return 1;
	case OPT_MOUNT:
		o->explicit_set |= MONKEY_OPT_MOUNTS;
		if (monkey_strv_push(&s->mounts, arg) < 0)
			return monkey_set_error(err, -ENOMEM, "out of memory");
		return 1;
	case OPT_CACHE:
		if (monkey_strv_push(&s->caches, arg) < 0)
			return monkey_set_error(err, -ENOMEM, "out of memory");
		return 1;
	case OPT_IMAGE:
		o->image = arg;
		o->explicit_set |= MONKEY_OPT_IMAGE;
		return 1;
	case OPT_USER:
		o->user = arg;
		o->explicit_set |= MONKEY_OPT_USER;
		return 1;
	case OPT_WRITABLE_GIT:
		o->writable_git = true;
		return 1;
	}
	return 0;
}

/* The command's environment. */
static int env_option(struct monkey_cli_sandbox *s, int opt, const char *arg,
		      struct monkey_error *err)
{
	struct monkey_strv *to;
	switch (opt) {
	case OPT_ENV:
		if (!strchr(arg, '='))
			return monkey_set_error(
			    err, -EINVAL,
			    "--env '%s': expected NAME=VALUE, e.g. --env "
			    "DEBUG=1 (use --pass-env %s to pass the host's "
			    "value)",
			    arg, arg);
		to = &s->env;
		break;
	case OPT_PASS_ENV:
		to = &s->pass_env;
		break;
	case OPT_ALLOW_DOMAIN:
		if (monkey_proxy_check_allow(arg, err) < 0)
			return -EINVAL;
		to = &s->allow_domains;
		break;
	case OPT_PROXY_RESOLVE:
		if (monkey_proxy_check_resolve(arg, err) < 0)
			return -EINVAL;
		to = &s->proxy_resolve;
		break;
	default:
		return 0;
	}
	if (monkey_strv_push(to, arg) < 0)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	return 1;
}

int monkey_cli_sandbox_option(struct monkey_cli_sandbox *s, int opt,
			      const char *arg, struct monkey_error *err)
{
	int r = backend_option(&s->opts, opt, arg);
	if (!r)
		r = limit_option(s, opt, arg, err);
	if (!r)
		r = isolation_option(s, opt, arg, err);
	if (!r)
		r = env_option(s, opt, arg, err);
	return r;
}

void monkey_cli_sandbox_finish(struct monkey_cli_sandbox *s)
{
	struct monkey_exec_options *o = &s->opts;
	if (!o->sandbox) {
		const char *env = getenv("MONKEY_SANDBOX");
		if (env && *env) {
			o->sandbox = env;
			s->sandbox_from_env = true;
		}
	}
	/* The docker backend's image variable names no image for other
	 * backends (rootless takes a directory). */
	if (!o->image && o->sandbox && !strcmp(o->sandbox, "docker")) {
		const char *env = getenv("MONKEY_DOCKER_IMAGE");
		if (env && *env)
			o->image = env;
	}
	o->mounts = (const char *const *)s->mounts.v;
	o->n_mounts = s->mounts.n;
	o->caches = (const char *const *)s->caches.v;
	o->n_caches = s->caches.n;
	o->env = (const char *const *)s->env.v;
	o->n_env = s->env.n;
	o->pass_env = (const char *const *)s->pass_env.v;
	o->n_pass_env = s->pass_env.n;
	o->allow_domains = (const char *const *)s->allow_domains.v;
	o->n_allow_domains = s->allow_domains.n;
	o->proxy_resolve = (const char *const *)s->proxy_resolve.v;
	o->n_proxy_resolve = s->proxy_resolve.n;
	o->notify = monkey_cli_notify;
	o->notify_ctx = NULL;
}
