/* The sandbox executor: chooses the backend (with fallback to spawn),
 * validates and resolves options once, and turns each command into a
 * backend request with a scrubbed environment, a confined working directory
 * and bounded capture of its output. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "caches.h"
#include "capture.h"
#include "env.h"
#include "executor_proxy.h"
#include "executor_int.h"
#include "loader.h"
#include "paths.h"
#include "util.h"

extern char **environ;

struct monkey_executor {
	monkey_notify_fn notify;
	void *notify_ctx;

	struct monkey_backend_instance *bi;
	const struct monkey_backend *desc; /* bi's, borrowed */
	char requested[128];
	bool fell_back;
	char fallback_reason[MONKEY_ERROR_MESSAGE_MAX];

	/* Resolved settings. */
	char *workspace;
	char *workdir;
	struct monkey_mount *mounts;
	size_t n_mounts;
	struct monkey_cache_mount *caches; /* for MONKEY_CAP_CACHE_VOLUMES */
	size_t n_caches;
	struct monkey_strv env;
	struct monkey_strv user_env;
	char *image;
	char *user;
	int64_t timeout_ms;
	int64_t kill_grace_ms;
	uint64_t memory_bytes;
	double cpus;
	int64_t pids;
	uint64_t cpu_time_s, file_size_bytes, open_files;
	bool network, read_only;
	size_t max_output;
	int pool;
	bool writable_git;
	struct exec_proxy *proxy; /* NULL unless in proxy mode */

	/* Self-pipe for monkey_executor_cancel(). */
	int cancel_pipe[2];
};

MONKEY_EXPORT void monkey_exec_options_init(struct monkey_exec_options *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = MONKEY_DEFAULT_TIMEOUT_MS;
	o->kill_grace_ms = MONKEY_DEFAULT_KILL_GRACE_MS;
	o->memory_mb = MONKEY_DEFAULT_MEMORY_MB;
	o->cpus = MONKEY_DEFAULT_CPUS;
	o->pids = MONKEY_DEFAULT_PIDS;
	o->max_output = MONKEY_DEFAULT_MAX_OUTPUT;
	o->pool = -1;
}

static void notify(struct monkey_executor *ex, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void notify(struct monkey_executor *ex, int level, const char *fmt, ...)
{
	if (!ex->notify)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ex->notify(ex->notify_ctx, level, msg);
}

static struct json_object *config_json(struct monkey_executor *ex)
{
	struct json_object *o = json_object_new_object();
	if (ex->image)
		json_object_object_add(o, "image",
				       json_object_new_string(ex->image));
	json_object_object_add(o, "pool", json_object_new_int(ex->pool));
	json_object_object_add(o, "workspace",
			       json_object_new_string(ex->workspace));
	json_object_object_add(o, "workdir",
			       json_object_new_string(ex->workdir));
	json_object_object_add(o, "timeoutMs",
			       json_object_new_int64(ex->timeout_ms));
	json_object_object_add(
	    o, "memoryBytes", json_object_new_int64((int64_t)ex->memory_bytes));
	json_object_object_add(o, "cpus", json_object_new_double(ex->cpus));
	json_object_object_add(o, "pids", json_object_new_int64(ex->pids));
	json_object_object_add(o, "network",
			       json_object_new_boolean(ex->network));
	json_object_object_add(o, "readOnly",
			       json_object_new_boolean(ex->read_only));
	json_object_object_add(o, "writableGit",
			       json_object_new_boolean(ex->writable_git));
	if (ex->user)
		json_object_object_add(o, "user",
				       json_object_new_string(ex->user));
	struct json_object *m = json_object_new_array();
	for (size_t i = 0; i < ex->n_mounts; i++) {
		struct json_object *e = json_object_new_object();
		json_object_object_add(
		    e, "source", json_object_new_string(ex->mounts[i].source));
		json_object_object_add(
		    e, "target", json_object_new_string(ex->mounts[i].target));
		json_object_object_add(
		    e, "readOnly",
		    json_object_new_boolean(ex->mounts[i].read_only));
		json_object_array_add(m, e);
	}
	json_object_object_add(o, "mounts", m);
	return o;
}

/* Load, initialise and probe one backend (monkey_backend_open).  *stage
 * says how far it got (enum monkey_backend_stage); *caps are the
 * capabilities of a backend that loaded.  A probe that succeeds with a
 * message left a note (a missing image that will be pulled), which is
 * passed on. */
static int try_backend(struct monkey_executor *ex, const char *name,
		       const struct monkey_strv *dirs, int *stage,
		       uint32_t *caps, struct monkey_error *err)
{
	_cleanup_json_ struct json_object *cfg = config_json(ex);
	struct monkey_backend_open_opts o = {
	    .dirs = dirs,
	    .config_json =
		json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN),
	    .log = ex->notify,
	    .log_ctx = ex->notify_ctx,
	};
	struct monkey_backend_instance *bi = NULL;
	int r = monkey_backend_open(name, &o, &bi, err);
	*stage = bi		? bi->stage
		 : r == -ENOENT ? MONKEY_BACKEND_MISSING
				: MONKEY_BACKEND_REFUSED;
	*caps = bi ? bi->lb->desc.capabilities : 0;
	if (r < 0) {
		monkey_backend_close(bi);
		return r;
	}
	if (err->message[0])
		notify(ex, MONKEY_LOG_INFO, "%s: %s", name, err->message);
	ex->bi = bi;
	ex->desc = &bi->lb->desc;
	return 0;
}

static bool is_shipped(const char *name)
{
	return strcmp(name, "spawn") == 0 || strcmp(name, "docker") == 0 ||
	       strcmp(name, "rootless") == 0 || strcmp(name, "none") == 0;
}

static const char *display_name(const char *name)
{
	return strcmp(name, "docker") == 0 ? "Docker" : name;
}

/* The user named an image: they want a container, never the host.
 * MONKEY_DOCKER_IMAGE names one for docker only. */
static bool image_named(const struct monkey_exec_options *opts,
			const char *name)
{
	const char *env = secure_getenv("MONKEY_DOCKER_IMAGE");
	return (opts->image && opts->image[0]) ||
	       (!strcmp(name, "docker") && env && env[0]);
}

/* Why a backend that cannot run commands does not fall back to spawn, or
 * NULL when it may.  Only an absent backend may: not installed, or its
 * probe said -ENODEV (see monkey_backend_probe_fn).  An engine that
 * answered and refused (a missing image, a bad setting) is an error. */
static const char *no_fallback_why(const struct monkey_exec_options *opts,
				   const char *name, int stage, int r,
				   uint32_t caps)
{
	bool absent = stage == MONKEY_BACKEND_MISSING
			  ? is_shipped(name)
			  : stage == MONKEY_BACKEND_INITIALISED && r == -ENODEV;
	if (!absent)
		return "";
	bool takes_image = stage == MONKEY_BACKEND_MISSING
			       ? strcmp(name, "docker") == 0
			       : (caps & MONKEY_CAP_IMAGE) != 0;
	if (takes_image && image_named(opts, name))
		return "an image was named (--image or MONKEY_DOCKER_IMAGE), "
		       "so monkey does not fall back to spawn";
	if (opts->strict)
		return "--strict was given, so monkey does not fall back to "
		       "spawn";
	if (opts->no_fallback)
		return "--no-fallback was given, so monkey does not fall back "
		       "to spawn";
	return NULL;
}

static int choose_backend(struct monkey_executor *ex,
			  const struct monkey_exec_options *opts,
			  struct monkey_error *err)
{
	const char *name =
	    opts->sandbox ? opts->sandbox : MONKEY_DEFAULT_SANDBOX;
	snprintf(ex->requested, sizeof(ex->requested), "%s", name);
	int r = monkey_backend_check_name(name, err);
	if (r < 0)
		return r;
	struct monkey_strv dirs = {0};
	if ((r = monkey_backend_search_path(opts->backend_dir, &dirs, err)) <
	    0) {
		monkey_strv_free(&dirs);
		return r;
	}
	int stage = 0;
	uint32_t caps = 0;
	r = try_backend(ex, name, &dirs, &stage, &caps, err);
	const char *why =
	    r < 0 ? no_fallback_why(opts, name, stage, r, caps) : "";
	if (r == 0 || strcmp(name, MONKEY_DEFAULT_SANDBOX) == 0 ||
	    (why && !why[0])) {
		/* Success, spawn itself failing, or a failure that is not an
		 * absence: a refusal, a name that is probably a typo, an
		 * engine that answered but cannot run commands as asked.
		 * Never papered over. */
		monkey_strv_free(&dirs);
		return r;
	}
	snprintf(ex->fallback_reason, sizeof(ex->fallback_reason), "%s",
		 err->message);
	if (why) {
		r = monkey_set_error(err, r, "%s not available: %s (%s)",
				     display_name(name), ex->fallback_reason,
				     why);
		monkey_strv_free(&dirs);
		return r;
	}
	notify(ex, MONKEY_LOG_WARNING,
	       "%s not available, falling back to spawn mode: %s",
	       display_name(name), ex->fallback_reason);
	ex->fell_back = true;
	r = try_backend(ex, MONKEY_DEFAULT_SANDBOX, &dirs, &stage, &caps, err);
	monkey_strv_free(&dirs);
	if (r < 0) {
		char reason[MONKEY_ERROR_MESSAGE_MAX];
		snprintf(reason, sizeof(reason), "%s", err->message);
		return monkey_set_error(err, r,
					"%s not available (%s), and the spawn "
					"fallback failed too: %s",
					display_name(name), ex->fallback_reason,
					reason);
	}
	return 0;
}

struct option_cap {
	uint32_t bit;
	uint32_t cap;
	const char *flag;
};

static const struct option_cap option_caps[] = {
    {MONKEY_OPT_MEMORY, MONKEY_CAP_MEMORY, "--memory"},
    {MONKEY_OPT_CPUS, MONKEY_CAP_CPU, "--cpus"},
    {MONKEY_OPT_PIDS, MONKEY_CAP_PIDS, "--pids"},
    {MONKEY_OPT_READ_ONLY, MONKEY_CAP_READ_ONLY_ROOT, "--read-only"},
    {MONKEY_OPT_MOUNTS, MONKEY_CAP_MOUNTS, "--mount"},
    {MONKEY_OPT_IMAGE, MONKEY_CAP_IMAGE, "--image"},
    {MONKEY_OPT_USER, MONKEY_CAP_USER, "--user"},
    {MONKEY_OPT_STDIN, MONKEY_CAP_STDIN, "--stdin"},
    {MONKEY_OPT_CPU_TIME, MONKEY_CAP_CPU_TIME, "--cpu-time"},
    {MONKEY_OPT_FILE_SIZE, MONKEY_CAP_FILE_SIZE, "--file-size"},
    {MONKEY_OPT_OPEN_FILES, MONKEY_CAP_OPEN_FILES, "--open-files"},
    {MONKEY_OPT_POOL, MONKEY_CAP_POOL, "--pool"},
    {MONKEY_OPT_ALLOW_DOMAIN, MONKEY_CAP_EGRESS_PROXY, "--allow-domain"},
};

/* The options the user set that the backend does not enforce, as
 * "--memory, --read-only" (empty when none); a warning each, or with
 * --strict one error naming them all. */
static int report_unenforced(struct monkey_executor *ex, uint32_t set,
			     bool strict, struct monkey_error *err)
{
	const struct monkey_backend *d = ex->desc;
	char names[512] = "";
	size_t len = 0;
	for (size_t i = 0; i < sizeof(option_caps) / sizeof(option_caps[0]);
	     i++) {
		const struct option_cap *oc = &option_caps[i];
		if (!(set & oc->bit) || (d->capabilities & oc->cap))
			continue;
		len += (size_t)snprintf(names + len, sizeof(names) - len,
					"%s%s", len ? ", " : "", oc->flag);
		if (len >= sizeof(names))
			len = sizeof(names) - 1;
		if (strict)
			continue;
		if (oc->bit == MONKEY_OPT_MEMORY &&
		    (d->capabilities & MONKEY_CAP_MEMORY_APPROX))
			notify(ex, MONKEY_LOG_WARNING,
			       "--memory is applied by the %s backend as an "
			       "address-space limit (RLIMIT_AS), not as a "
			       "memory limit; use --sandbox docker for a real "
			       "one",
			       d->name);
		else
			notify(ex, MONKEY_LOG_WARNING,
			       "%s is not enforced by the %s backend", oc->flag,
			       d->name);
	}
	if (strict && names[0])
		return monkey_set_error(
		    err, -EOPNOTSUPP,
		    "--strict: the %s backend does not enforce %s; choose a "
		    "backend that does (monkey sandbox list shows what each "
		    "enforces) or drop %s",
		    d->name, names, strchr(names, ',') ? "them" : "it");
	/* Network isolation is the default; saying nothing would let a user
	 * believe a backend without it keeps commands offline. */
	if (!(set & MONKEY_OPT_NETWORK) &&
	    !(d->capabilities & MONKEY_CAP_NETWORK_ISOLATION))
		notify(ex, MONKEY_LOG_DEBUG,
		       "the %s backend does not isolate the network", d->name);
	return 0;
}

static int resolve_options(struct monkey_executor *ex,
			   const struct monkey_exec_options *o,
			   struct monkey_error *err)
{
	int r;
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return monkey_set_error(err, -errno,
					"cannot read the current directory: %s",
					strerror(errno));
	const char *ws = o->workspace ? o->workspace : cwd;
	ex->workspace = realpath(ws, NULL);
	if (!ex->workspace)
		return monkey_set_error(err, -errno,
					"--workspace %s: %s; give an existing "
					"directory",
					ws, strerror(errno));
	/* The workspace itself defines the boundary. */
	if ((r = monkey_resolve_dir_inside(ex->workspace, cwd, ex->workspace,
					   "--workspace", &ex->workdir, err)) <
	    0)
		return r;
	if (o->workdir) {
		/* Relative to the workspace, as the agent's workdir is: the
		 * current directory may be anywhere. */
		free(ex->workdir);
		ex->workdir = NULL;
		if ((r = monkey_resolve_dir_inside(ex->workspace, ex->workspace,
						   o->workdir, "--workdir",
						   &ex->workdir, err)) < 0)
			return r;
	}
	if (o->n_mounts) {
		ex->mounts = calloc(o->n_mounts, sizeof(*ex->mounts));
		if (!ex->mounts)
			return monkey_set_error(err, -ENOMEM, "out of memory");
		for (size_t i = 0; i < o->n_mounts; i++) {
			if ((r = monkey_parse_mount(o->mounts[i],
						    &ex->mounts[i], err)) < 0)
				return r;
			ex->n_mounts = i + 1;
		}
		if ((r = monkey_check_mounts(ex->workspace, ex->mounts,
					     ex->n_mounts, o->mounts, err)) < 0)
			return r;
	}
	if ((r = exec_proxy_check(o, err)) < 0)
		return r;
	if ((r = monkey_env_build(o, environ, &ex->env, &ex->user_env, err)) <
	    0)
		return r;
	for (size_t i = 0; i < o->n_pass_env; i++)
		if (!getenv(o->pass_env[i]))
			notify(ex, MONKEY_LOG_WARNING,
			       "--pass-env %s: %s is not set, so the command "
			       "will not see it",
			       o->pass_env[i], o->pass_env[i]);
	if (o->timeout_ms < 0 || o->kill_grace_ms < 0 || o->cpus < 0 ||
	    o->pids < 0)
		return monkey_set_error(err, -EINVAL,
					"negative limits are not allowed");
	if ((o->image && !(ex->image = strdup(o->image))) ||
	    (o->user && !(ex->user = strdup(o->user))))
		return monkey_set_error(err, -ENOMEM, "out of memory");
	ex->timeout_ms = o->timeout_ms;
	ex->kill_grace_ms = o->kill_grace_ms;
	ex->memory_bytes = o->memory_mb * 1024 * 1024;
	ex->cpus = o->cpus;
	ex->pids = o->pids;
	ex->cpu_time_s = o->cpu_time_s;
	ex->file_size_bytes = o->file_size_bytes;
	ex->open_files = o->open_files;
	ex->network = o->network;
	ex->read_only = o->read_only;
	ex->max_output = o->max_output;
	ex->pool = o->pool;
	ex->writable_git = o->writable_git;
	return 0;
}

/* Does the environment already set the variable of "VAR=value"? */
static bool env_has(const struct monkey_strv *env, const char *entry)
{
	size_t n = strcspn(entry, "=") + 1;
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], entry, n))
			return true;
	return false;
}

/* The caches the options name, as this backend takes them: its volumes,
 * bind mounts of host directories, and the variables pointing the tools
 * at them (a variable the user set wins). */
static int apply_caches(struct monkey_executor *ex,
			const struct monkey_exec_options *o,
			struct monkey_error *err)
{
	struct monkey_cache_plan p;
	int r = monkey_cache_plan_make(o->caches, o->n_caches,
				       ex->desc->capabilities, ex->workspace,
				       &p, err);
	struct monkey_mount *m =
	    r == 0 && p.n_mounts
		? realloc(ex->mounts, (ex->n_mounts + p.n_mounts) * sizeof(*m))
		: ex->mounts;
	if (r == 0 && p.n_mounts && !m)
		r = monkey_set_error(err, -ENOMEM, "out of memory");
	if (r == 0) {
		ex->mounts = m;
		for (size_t i = 0; i < p.n_mounts; i++)
			ex->mounts[ex->n_mounts++] = p.mounts[i];
		p.n_mounts = 0;
		ex->caches = p.volumes;
		ex->n_caches = p.n_volumes;
		p.volumes = NULL;
		p.n_volumes = 0;
		for (size_t i = 0; r == 0 && i < p.env.n; i++)
			if (!env_has(&ex->env, p.env.v[i]) &&
			    (monkey_strv_push(&ex->env, p.env.v[i]) < 0 ||
			     monkey_strv_push(&ex->user_env, p.env.v[i]) < 0))
				r = monkey_set_error(err, -ENOMEM,
						     "out of memory");
		if (p.note[0])
			notify(ex, MONKEY_LOG_WARNING, "%s", p.note);
	}
	monkey_cache_plan_free(&p);
	return r;
}

MONKEY_EXPORT int monkey_executor_open(const struct monkey_exec_options *opts,
				       struct monkey_executor **out,
				       struct monkey_error *err)
{
	/* Before any backend is loaded or command run: a command runs as our
	 * user (spawn, none) and could otherwise read /proc/PID/environ, mem,
	 * fd and cwd of this process and of every helper process it forks or
	 * clones (they inherit this), and our environment holds the API keys.
	 * A command's own execve makes it dumpable again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return monkey_set_error(err, -errno,
					"cannot make monkey's memory and "
					"environment unreadable to commands "
					"(PR_SET_DUMPABLE): %s",
					strerror(errno));
	struct monkey_executor *ex = calloc(1, sizeof(*ex));
	if (!ex)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	ex->cancel_pipe[0] = ex->cancel_pipe[1] = -1;
	ex->notify = opts->notify;
	ex->notify_ctx = opts->notify_ctx;
	int r = resolve_options(ex, opts, err);
	if (r == 0 && pipe2(ex->cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		r = monkey_set_error(err, -errno, "cannot create a pipe: %s",
				     strerror(errno));
	if (r == 0)
		r = choose_backend(ex, opts, err);
	if (r == 0)
		r = apply_caches(ex, opts, err);
	if (r < 0) {
		monkey_executor_close(ex);
		return r;
	}
	/* Defaults (memory, cpus, pids) only go to backends that enforce
	 * them for real; explicit settings go to every backend. */
	uint32_t caps = ex->desc->capabilities;
	if (!(opts->explicit_set & MONKEY_OPT_MEMORY) &&
	    !(caps & MONKEY_CAP_MEMORY))
		ex->memory_bytes = 0;
	uint32_t set = opts->explicit_set;
	if (opts->n_allow_domains)
		set |= MONKEY_OPT_ALLOW_DOMAIN;
	if ((r = report_unenforced(ex, set, opts->strict, err)) == 0 &&
	    opts->n_allow_domains && (caps & MONKEY_CAP_EGRESS_PROXY))
		r = exec_proxy_open(opts, ex->user, &ex->env, &ex->user_env,
				    &ex->proxy, err);
	if (r < 0) {
		monkey_executor_close(ex);
		return r;
	}
	*out = ex;
	return 0;
}

struct sink {
	struct monkey_capture_buf out, err;
	monkey_output_fn tee;
	void *tee_ctx;
};

static int sink_output(void *ctx, int stream, const void *data, size_t len)
{
	struct sink *s = ctx;
	monkey_capture_buf_append(
	    stream == MONKEY_STREAM_STDERR ? &s->err : &s->out, data, len);
	if (s->tee)
		return s->tee(s->tee_ctx, stream, data, len);
	return 0;
}

static void set_result_error(struct monkey_result *res, int exit_code,
			     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_result_error(struct monkey_result *res, int exit_code,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	res->exit_code = exit_code;
}

/* The limits the command ran into: what the backend saw, and what the
 * signal says whatever the backend (only the kernel's rlimits send
 * SIGXFSZ and SIGXCPU to a command). */
static void set_limits(struct monkey_result *res,
		       const struct monkey_exec_result *br)
{
	res->limits_hit = br->limits_hit;
	if (br->signal == SIGXFSZ)
		res->limits_hit |= MONKEY_LIMIT_FILE_SIZE;
	if (br->signal == SIGXCPU)
		res->limits_hit |= MONKEY_LIMIT_CPU_TIME;
	res->limits_unknown = br->limits_unknown & ~res->limits_hit;
}

/* Resource use as the backend measured it; a backend built for ABI 1.0 or
 * 1.1 never touches the fields, which keep the -1 run_command put there. */
static void set_usage(struct monkey_result *res,
		      const struct monkey_exec_result *br)
{
	res->peak_memory_bytes =
	    br->peak_memory_bytes >= 0 ? br->peak_memory_bytes : -1;
	res->cpu_user_ms = br->cpu_user_us >= 0 ? br->cpu_user_us / 1000 : -1;
	res->cpu_system_ms =
	    br->cpu_system_us >= 0 ? br->cpu_system_us / 1000 : -1;
}

MONKEY_EXPORT const char *monkey_limit_name(uint32_t bit)
{
	switch (bit) {
	case MONKEY_LIMIT_PIDS:
		return "pids";
	case MONKEY_LIMIT_FILE_SIZE:
		return "file-size";
	case MONKEY_LIMIT_CPU_TIME:
		return "cpu-time";
	case MONKEY_LIMIT_OPEN_FILES:
		return "open-files";
	}
	return NULL;
}

MONKEY_EXPORT const char *monkey_result_limit(const struct monkey_result *res)
{
	/* A kill by a limit ends the command; a refused fork or open only
	 * breaks it. */
	static const uint32_t order[] = {
	    MONKEY_LIMIT_CPU_TIME, MONKEY_LIMIT_FILE_SIZE, MONKEY_LIMIT_PIDS,
	    MONKEY_LIMIT_OPEN_FILES};
	if (res->timed_out)
		return "timeout";
	if (res->oom_killed == MONKEY_YES)
		return "memory";
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (res->limits_hit & order[i])
			return monkey_limit_name(order[i]);
	return NULL;
}

/* The backend request for cmd: the executor's resolved settings, what the
 * command sets itself, and the sink that captures its output. */
static void make_request(const struct monkey_executor *ex,
			 const struct monkey_command *cmd, const char *workdir,
			 struct sink *sink, struct monkey_exec_request *req)
{
	*req = (struct monkey_exec_request){
	    .struct_size = sizeof(*req),
	    .argv = cmd->argv,
	    .envp = (const char *const *)ex->env.v,
	    .user_envp = (const char *const *)ex->user_env.v,
	    .workspace = ex->workspace,
	    .workdir = workdir ? workdir : ex->workdir,
	    .timeout_ms =
		cmd->timeout_ms > 0 ? cmd->timeout_ms : ex->timeout_ms,
	    .kill_grace_ms = ex->kill_grace_ms,
	    .memory_bytes = ex->memory_bytes,
	    .cpus = ex->cpus,
	    .pids = ex->pids,
	    .cpu_time_s = ex->cpu_time_s,
	    .file_size_bytes = ex->file_size_bytes,
	    .open_files = ex->open_files,
	    .network = ex->network,
	    .read_only_root = ex->read_only,
	    .mounts = ex->mounts,
	    .n_mounts = ex->n_mounts,
	    .image = ex->image,
	    .user = ex->user,
	    .stdin_data = cmd->stdin_data,
	    .stdin_len = cmd->stdin_len,
	    .has_stdin = cmd->has_stdin,
	    .output = sink_output,
	    .output_ctx = sink,
	    .cancel_fd = ex->cancel_pipe[0],
	    .progress = cmd->progress,
	    .progress_ctx = cmd->progress_ctx,
	    .caches = ex->caches,
	    .n_caches = ex->n_caches,
	};
	exec_proxy_fill(ex->proxy, req);
}

/* The backend's answer as "monkey exec" reports it: the exit status of
 * docker run and timeout(1), or 125-127 with the reason. */
static void map_result(const struct monkey_executor *ex, const char *prog,
		       int r, const struct monkey_error *berr,
		       const struct monkey_exec_result *br,
		       struct monkey_result *res)
{
	if (r < 0) {
		int code = (r == -ENOENT) ? MONKEY_EXIT_NOTFOUND
			   : (r == -EACCES || r == -ENOEXEC)
			       ? MONKEY_EXIT_NOEXEC
			       : MONKEY_EXIT_FAILURE;
		if (berr->message[0])
			set_result_error(res, code, "%s", berr->message);
		else
			set_result_error(res, code,
					 "%s: the %s backend failed (%s)", prog,
					 ex->desc->name, strerror(-r));
		return;
	}
	res->signal = br->signal;
	res->timed_out = br->timed_out != 0;
	res->cancelled = br->cancelled != 0;
	res->oom_killed = br->oom_killed;
	set_limits(res, br);
	set_usage(res, br);
	if (res->timed_out)
		res->exit_code = MONKEY_EXIT_TIMEOUT;
	else if (res->cancelled)
		res->exit_code = 130;
	else if (br->signal > 0)
		res->exit_code = 128 + br->signal;
	else if (br->exit_code >= 0)
		res->exit_code = br->exit_code;
	else
		set_result_error(res, MONKEY_EXIT_FAILURE,
				 "the %s backend reported neither an exit "
				 "status nor a signal for %s",
				 ex->desc->name, prog);
}

/* Run cmd through the backend (or via, a session) into res and sink. */
static void run_command(struct monkey_executor *ex,
			const struct monkey_command *cmd,
			const struct monkey_exec_via *via, struct sink *sink,
			struct monkey_result *res)
{
	_cleanup_free_ char *workdir = NULL;
	struct monkey_error werr = {0};
	if (cmd->workdir && monkey_resolve_dir_inside(
				ex->workspace, ex->workspace, cmd->workdir,
				"workdir", &workdir, &werr) < 0) {
		set_result_error(res, MONKEY_EXIT_FAILURE, "%s", werr.message);
		return;
	}
	struct monkey_exec_request req;
	make_request(ex, cmd, workdir, sink, &req);
	struct monkey_exec_result br = {
	    .struct_size = sizeof(br),
	    .exit_code = -1,
	    .oom_killed = MONKEY_UNKNOWN,
	    .peak_memory_bytes = -1,
	    .cpu_user_us = -1,
	    .cpu_system_us = -1,
	};
	struct monkey_error berr = {0};
	int r = via ? via->run(via->ctx, &req, &br, &berr)
		    : ex->desc->exec(ex->bi->state, &req, &br, &berr);
	if (via && (r == -ECONNRESET || (r == 0 && berr.message[0]))) {
		/* The session's sandbox was lost: before the command (a
		 * note, the command ran in a new one) or during it. */
		res->session_reset = true;
		if (r == 0)
			notify(ex, MONKEY_LOG_WARNING, "%s", berr.message);
	}
	map_result(ex, cmd->argv[0], r, &berr, &br, res);
	exec_proxy_collect(ex->proxy, res);
}

int monkey_executor_run_via(struct monkey_executor *ex,
			    const struct monkey_command *cmd,
			    const struct monkey_exec_via *via,
			    struct monkey_result *res, struct monkey_error *err)
{
	memset(res, 0, sizeof(*res));
	res->oom_killed = MONKEY_UNKNOWN;
	res->peak_memory_bytes = res->cpu_user_ms = res->cpu_system_ms = -1;
	if (!cmd || !cmd->argv || !cmd->argv[0] || !cmd->argv[0][0])
		return monkey_set_error(
		    err, -EINVAL,
		    "no command given: pass the program and "
		    "its arguments, e.g. -- ls -l");
	int64_t start = monkey_now_ms();
	struct sink sink = {.tee = cmd->tee, .tee_ctx = cmd->tee_ctx};
	monkey_capture_buf_init(&sink.out, ex->max_output);
	monkey_capture_buf_init(&sink.err, ex->max_output);
	run_command(ex, cmd, via, &sink, res);
	res->duration_ms = monkey_now_ms() - start;
	if (monkey_capture_buf_finish(&sink.out, &res->out) < 0 ||
	    monkey_capture_buf_finish(&sink.err, &res->err) < 0) {
		monkey_result_free(res);
		return monkey_set_error(err, -ENOMEM,
					"out of memory while capturing output");
	}
	return 0;
}

MONKEY_EXPORT int monkey_executor_run(struct monkey_executor *ex,
				      const struct monkey_command *cmd,
				      struct monkey_result *res,
				      struct monkey_error *err)
{
	return monkey_executor_run_via(ex, cmd, NULL, res, err);
}

/* The session's settings: a request without a command. */
void monkey_executor_settings(const struct monkey_executor *ex,
			      struct monkey_exec_request *req)
{
	static const char *const none[] = {NULL};
	struct monkey_command cmd = {.argv = none};
	make_request(ex, &cmd, NULL, NULL, req);
	req->argv = NULL;
	req->output = NULL;
	req->output_ctx = NULL;
}

int monkey_executor_request(const struct monkey_executor *ex,
			    const struct monkey_command *cmd, char **workdir,
			    struct monkey_exec_request *req,
			    struct monkey_error *err)
{
	*workdir = NULL;
	if (!cmd || !cmd->argv || !cmd->argv[0] || !cmd->argv[0][0])
		return monkey_set_error(err, -EINVAL, "no command given");
	if (cmd->workdir) {
		int r = monkey_resolve_dir_inside(ex->workspace, ex->workspace,
						  cmd->workdir, "workdir",
						  workdir, err);
		if (r < 0)
			return r;
	}
	make_request(ex, cmd, *workdir, NULL, req);
	return 0;
}

void monkey_executor_result(const struct monkey_executor *ex, const char *prog,
			    int r, const struct monkey_error *berr,
			    const struct monkey_exec_result *br,
			    struct monkey_result *res)
{
	map_result(ex, prog, r, berr, br, res);
}

size_t monkey_executor_max_output(const struct monkey_executor *ex)
{
	return ex->max_output;
}

void *monkey_executor_backend_state(const struct monkey_executor *ex)
{
	return ex->bi->state;
}

void monkey_executor_notify(struct monkey_executor *ex, int level,
			    const char *msg)
{
	notify(ex, level, "%s", msg);
}

MONKEY_EXPORT void monkey_result_free(struct monkey_result *res)
{
	monkey_capture_clear(&res->out);
	monkey_capture_clear(&res->err);
	monkey_proxy_report_free(&res->network);
}

MONKEY_EXPORT void monkey_executor_cancel(struct monkey_executor *ex)
{
	/* A byte that is never read keeps the fd readable for good. */
	if (ex && ex->cancel_pipe[1] >= 0) {
		ssize_t n = write(ex->cancel_pipe[1], "x", 1);
		(void)n;
	}
}

struct volume_ctx {
	monkey_cache_list_fn each;
	void *ctx;
	const char *where;
};

static void volume_seen(void *ctx, const char *name, int64_t size,
			int64_t last_use)
{
	struct volume_ctx *v = ctx;
	v->each(v->ctx, v->where, name, size, last_use);
}

MONKEY_EXPORT int monkey_caches_list(struct monkey_executor *ex,
				     monkey_cache_list_fn each, void *ctx,
				     struct monkey_error *err)
{
	int r = monkey_cache_dirs_list(each, ctx, err);
	if (r < 0 || !ex ||
	    !(ex->desc->capabilities & MONKEY_CAP_CACHE_VOLUMES) ||
	    !ex->desc->caches_list)
		return r;
	struct volume_ctx v = {each, ctx, ex->desc->name};
	return ex->desc->caches_list(ex->bi->state, volume_seen, &v, err);
}

MONKEY_EXPORT int monkey_cache_remove(struct monkey_executor *ex,
				      const char *where, const char *name,
				      struct monkey_error *err)
{
	if (!strcmp(where, "directory"))
		return monkey_cache_dir_remove(name, err);
	if (!monkey_cache_name_ok(name))
		return monkey_set_error(err, -EINVAL,
					"'%s' is not a cache name", name);
	if (!ex || strcmp(where, ex->desc->name) || !ex->desc->cache_remove)
		return monkey_set_error(err, -ENOTSUP,
					"no backend to remove %s cache %s "
					"with",
					where, name);
	return ex->desc->cache_remove(ex->bi->state, name, err);
}

MONKEY_EXPORT const char *
monkey_executor_backend_name(const struct monkey_executor *ex)
{
	return ex->desc->name;
}

MONKEY_EXPORT const char *
monkey_executor_requested_name(const struct monkey_executor *ex)
{
	return ex->requested;
}

MONKEY_EXPORT bool monkey_executor_fell_back(const struct monkey_executor *ex)
{
	return ex->fell_back;
}

MONKEY_EXPORT const char *
monkey_executor_fallback_reason(const struct monkey_executor *ex)
{
	return ex->fallback_reason;
}

MONKEY_EXPORT const struct monkey_backend *
monkey_executor_backend(const struct monkey_executor *ex)
{
	return ex->desc;
}

MONKEY_EXPORT const char *
monkey_executor_workspace(const struct monkey_executor *ex)
{
	return ex->workspace;
}

MONKEY_EXPORT void monkey_executor_close(struct monkey_executor *ex)
{
	if (!ex)
		return;
	monkey_backend_close(ex->bi);
	exec_proxy_close(ex->proxy);
	for (size_t i = 0; i < ex->n_mounts; i++) {
		free((char *)ex->mounts[i].source);
		free((char *)ex->mounts[i].target);
	}
	free(ex->mounts);
	for (size_t i = 0; i < ex->n_caches; i++) {
		free((char *)ex->caches[i].name);
		free((char *)ex->caches[i].target);
	}
	free(ex->caches);
	monkey_strv_free(&ex->env);
	monkey_strv_free(&ex->user_env);
	free(ex->workspace);
	free(ex->workdir);
	free(ex->image);
	free(ex->user);
	if (ex->cancel_pipe[0] >= 0)
		close(ex->cancel_pipe[0]);
	if (ex->cancel_pipe[1] >= 0)
		close(ex->cancel_pipe[1]);
	free(ex);
}
