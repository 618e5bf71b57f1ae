/* The docker backend's descriptor and entry points, its top layer (on the
 * pool, the run layer and everything below): configuration, probe, the
 * choice of how one command runs, teardown. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "session.h"

/* Settings from the host's JSON object; unknown keys are ignored. */
static int parse_config(struct dk_state *st, const char *config_json,
			const char **image, const char **docker_host,
			const char **network, int *pull, json_object **root,
			struct monkey_error *err)
{
	const struct monkey_host *h = st->host;
	json_object *v = NULL;

	*root = NULL;
	if (!config_json)
		return 0;
	enum json_tokener_error jerr = json_tokener_success;
	json_object *o = json_tokener_parse_verbose(config_json, &jerr);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return h->set_error(
		    err, -EINVAL,
		    "docker backend configuration is not a JSON object%s%s",
		    jerr != json_tokener_success ? ": " : "",
		    jerr != json_tokener_success ? json_tokener_error_desc(jerr)
						 : "");
	}
	*root = o;
	if (json_object_object_get_ex(o, "image", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string(v)[0])
		*image = json_object_get_string(v);
	if (json_object_object_get_ex(o, "docker_host", &v) &&
	    json_object_is_type(v, json_type_string))
		*docker_host = json_object_get_string(v);
	if (json_object_object_get_ex(o, "docker_network", &v) &&
	    json_object_is_type(v, json_type_string))
		*network = json_object_get_string(v);
	if (json_object_object_get_ex(o, "pull", &v) &&
	    json_object_is_type(v, json_type_string)) {
		const char *p = json_object_get_string(v);
		if (!strcmp(p, "never"))
			*pull = 0;
		else if (!strcmp(p, "missing"))
			*pull = 1;
		else
			return h->set_error(
			    err, -EINVAL,
			    "docker backend option pull must be \"missing\" or "
			    "\"never\", not \"%s\"",
			    p);
	}
	/* -1 is the host's "backend default": no pool (a one-shot command
	 * would only pay for a container it never uses). */
	if (json_object_object_get_ex(o, "pool", &v) &&
	    json_object_is_type(v, json_type_int)) {
		int64_t k = json_object_get_int64(v);
		if (k > DK_POOL_MAX)
			return h->set_error(
			    err, -EINVAL,
			    "docker backend option pool must be at most %d, "
			    "not %lld",
			    DK_POOL_MAX, (long long)k);
		st->pool_size = k > 0 ? (int)k : 0;
	}
	if (json_object_object_get_ex(o, "writableGit", &v) &&
	    json_object_is_type(v, json_type_boolean))
		st->writable_git = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "api_timeout_ms", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) > 0)
		st->api_timeout_ms = json_object_get_int64(v);
	return 0;
}

static void state_free(struct dk_state *st)
{
	if (!st)
		return;
	dk_engine_fini(st);
	free(st->ready);
	free(st->pool_key);
	free(st->pool_image);
	free(st->pool_git);
	free(st->launcher);
	pthread_cond_destroy(&st->pool_cond);
	pthread_mutex_destroy(&st->pool_lock);
	for (size_t i = 0; i < st->n_doomed; i++)
		free(st->doomed[i]);
	free(st->doomed);
	pthread_cond_destroy(&st->doomed_cond);
	for (size_t i = 0; i < st->n_live; i++)
		free(st->live[i]);
	free(st->live);
	free(st->socket_path);
	free(st->image);
	free(st->network);
	free(st->config_error);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* A zeroed state with its locks and who this process is. */
static struct dk_state *state_new(const struct monkey_host *host)
{
	struct dk_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->doomed_cond, NULL);
	pthread_mutex_init(&st->pool_lock, NULL);
	pthread_cond_init(&st->pool_cond, NULL);
	st->host = host;
	st->api_timeout_ms = DK_DEFAULT_API_TIMEOUT_MS;
	st->uid = getuid();
	st->gid = getgid();
	if (dk_owner_init(&st->owner) < 0)
		host->log(host, MONKEY_LOG_DEBUG,
			  "docker: this process's boot id, PID namespace or "
			  "start time cannot be read: a later sweep will not "
			  "remove containers it leaves");
	snprintf(st->engine_name, sizeof(st->engine_name), "Docker engine");
	return st;
}

/* --network's network: the configuration's, else MONKEY_DOCKER_NETWORK. */
static int set_network(struct dk_state *st, const char *network,
		       struct monkey_error *err)
{
	if (!network)
		network = secure_getenv("MONKEY_DOCKER_NETWORK");
	if (!network || !network[0])
		return 0;
	if (!dk_network_valid(network))
		return st->host->set_error(
		    err, -EINVAL,
		    "'%s' is not a valid network name "
		    "(MONKEY_DOCKER_NETWORK or docker_network)",
		    network);
	if (!(st->network = strdup(network)))
		return st->host->set_error(err, -ENOMEM, "out of memory");
	return 0;
}

/* Only a command pulls (the probe never does). */
static void set_pull(struct dk_state *st, int pull)
{
	if (pull < 0) {
		const char *p = secure_getenv("MONKEY_DOCKER_PULL");
		pull = !p || strcmp(p, "never") != 0;
		st->no_pull_why =
		    "pulling is turned off by MONKEY_DOCKER_PULL=never";
	} else {
		st->no_pull_why =
		    "pulling is turned off by the configuration (pull: never)";
	}
	st->pull_missing = pull;
}

/* The engine's socket from DOCKER_HOST.  Another kind of DOCKER_HOST is
 * not an init failure: probe reports it as the reason. */
static void set_socket(struct dk_state *st, const char *docker_host)
{
	if (!docker_host)
		docker_host = secure_getenv("DOCKER_HOST");
	if (!docker_host || !docker_host[0]) {
		st->socket_path = strdup(DK_DEFAULT_SOCKET);
		return;
	}
	if (!strncmp(docker_host, "unix://", 7) && docker_host[7] == '/') {
		st->socket_path = strdup(docker_host + 7);
		return;
	}
	st->socket_path = strdup(DK_DEFAULT_SOCKET);
	if (asprintf(
		&st->config_error,
		"DOCKER_HOST=%s is not supported: the docker backend talks "
		"to a local unix socket (unix:///path/to/docker.sock)",
		docker_host) < 0)
		st->config_error = NULL;
}

/* The settings: the host's configuration first, then the environment,
 * then the defaults. */
static int configure(struct dk_state *st, const char *config_json,
		     struct monkey_error *err)
{
	const char *image = NULL, *docker_host = NULL, *network = NULL;
	int pull = -1;
	_cleanup_json_ json_object *root = NULL;
	int rc = parse_config(st, config_json, &image, &docker_host, &network,
			      &pull, &root, err);
	if (rc < 0 || (rc = set_network(st, network, err)) < 0)
		return rc;
	if (!image)
		image = secure_getenv("MONKEY_DOCKER_IMAGE");
	if (!image || !image[0])
		image = DK_DEFAULT_IMAGE;
	set_pull(st, pull);
	st->image = strdup(image);
	set_socket(st, docker_host);
	if (!st->image || !st->socket_path)
		return st->host->set_error(err, -ENOMEM, "out of memory");
	return 0;
}

/* Fresh containers run the launcher too when there is one: it reports the
 * command's end sooner than the engine does. */
static int set_launcher(struct dk_state *st, struct monkey_error *err)
{
	const struct monkey_host *host = st->host;
	st->launcher = dk_pool_find_launcher(host);
	if (st->pool_size <= 0)
		return 0;
	st->ready = calloc((size_t)st->pool_size, sizeof(*st->ready));
	if (!st->ready)
		return host->set_error(err, -ENOMEM, "out of memory");
	if (!st->launcher)
		host->log(host, MONKEY_LOG_WARNING,
			  "docker: no usable monkey-launch (set "
			  "MONKEY_DOCKER_LAUNCHER or reinstall): every command "
			  "runs in a container started for it");
	return 0;
}

static int docker_p_init(const struct monkey_host *host,
			 const char *config_json, void **state,
			 struct monkey_error *err)
{
	if (!host || !host->set_error || !host->log)
		return -EINVAL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return host->set_error(err, -EIO,
				       "libcurl failed to initialise");
	struct dk_state *st = state_new(host);
	int rc = st ? 0 : host->set_error(err, -ENOMEM, "out of memory");
	if (rc == 0)
		rc = configure(st, config_json, err);
	if (rc == 0)
		rc = set_launcher(st, err);
	if (rc < 0) {
		state_free(st);
		curl_global_cleanup();
		return rc;
	}
	*state = st;
	return 0;
}

/* Looks only: it neither sweeps nor pulls (monkey sandbox list and info
 * probe too).  -ENODEV when no engine answers (the host may fall back);
 * any other error when the engine answered but commands cannot run as
 * configured.  A default image that is missing but will be pulled is a
 * note, not an error. */
static int docker_p_probe(void *state, struct monkey_error *err)
{
	struct dk_state *st = state;
	int rc = dk_engine_connect(st, err);
	if (rc < 0)
		return rc;
	if (!dk_image_valid(st->image))
		return st->host->set_error(
		    err, -EINVAL, "'%s' is not a valid image name", st->image);
	rc = dk_image_present(st, st->image, err);
	if (rc != -ENXIO)
		return rc;
	if (!st->pull_missing)
		return dk_image_missing(st, st->image, err, "%s",
					st->no_pull_why);
	st->host->set_error(err, 0,
			    "image %s is not present locally; it is pulled "
			    "when a command first needs it",
			    st->image);
	return 0;
}

static int fd_ready(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return fd >= 0 && poll(&p, 1, 0) > 0;
}

static int dk_exec_proxied(struct dk_state *st,
			   const struct monkey_exec_request *req,
			   const char *image, struct monkey_exec_result *result,
			   struct monkey_error *err)
{
	int handled = 0;
	int rc = dk_launch_cold(st, req, image, result, &handled, err);
	if (handled)
		return rc;
	return st->host->set_error(
	    err, -EOPNOTSUPP,
	    "docker: --allow-domain needs monkey-launch in the container, "
	    "which %s; reinstall monkey (or set MONKEY_DOCKER_LAUNCHER to a "
	    "usable one)",
	    st->launcher ? "the engine cannot run" : "is not installed");
}

/* The engine reached and the sweep started, once. */
static int engine_ready(struct dk_state *st, struct monkey_error *err)
{
	pthread_mutex_lock(&st->lock);
	int connected = st->api_prefix[0] != '\0';
	pthread_mutex_unlock(&st->lock);
	int rc = connected ? 0 : dk_engine_connect(st, err);
	if (rc == 0)
		dk_sweep_once(st);
	return rc;
}

/* An image name a request may use. */
static int check_image(struct dk_state *st, const char *image,
		       struct monkey_error *err)
{
	if (dk_image_valid(image))
		return 0;
	return st->host->set_error(err, -EINVAL,
				   "'%s' is not a valid image name (expected "
				   "e.g. debian:bookworm-slim)",
				   image);
}

/* One command: the engine reached and the sweep started once, then a
 * prestarted container when one with its settings is ready, else one
 * created for it that runs the launcher, else (no launcher, or one the
 * engine cannot run) the command directly. */
static int dk_exec(struct dk_state *st, const struct monkey_exec_request *req,
		   struct monkey_exec_result *result, struct monkey_error *err)
{
	const char *image =
	    req->image && req->image[0] ? req->image : st->image;
	int rc;

	if (!req->output)
		return st->host->set_error(err, -EINVAL,
					   "no output sink in the request");
	if ((rc = check_image(st, image, err)) < 0)
		return rc;
	if (fd_ready(req->cancel_fd)) {
		result->cancelled = 1;
		return 0;
	}
	if ((rc = engine_ready(st, err)) < 0 ||
	    (rc = dk_caches_prepare(st, req, image, err)) < 0)
		return rc;

	/* Proxy mode: only a fresh container's launcher starts the
	 * forwarder (pooled ones were made without the proxy's binds).
	 */
	if (dk_req_proxy(req))
		return dk_exec_proxied(st, req, image, result, err);
	int handled = 0;
	if (st->pool_size > 0) {
		rc = dk_pool_exec(st, req, image, result, &handled, err);
		if (handled)
			return rc;
	}
	if (st->launcher) {
		rc = dk_launch_cold(st, req, image, result, &handled, err);
		if (handled)
			return rc;
	}
	return dk_run_direct(st, req, image, result, err);
}

static int docker_p_exec(void *state, const struct monkey_exec_request *req,
			 struct monkey_exec_result *result,
			 struct monkey_error *err)
{
	struct dk_state *st = state;
	if (!req || !result || !MONKEY_STRUCT_HAS(req, cancel_fd) ||
	    !MONKEY_STRUCT_HAS(result, oom_killed))
		return st->host->set_error(
		    err, -EINVAL,
		    "exec request or result is older than this docker "
		    "backend "
		    "understands");
	return dk_exec(st, req, result, err);
}

static int docker_p_caches_list(void *state, monkey_cache_fn each, void *ctx,
				struct monkey_error *err)
{
	struct dk_state *st = state;
	int rc = dk_engine_connect(st, err);
	return rc < 0 ? rc : dk_caches_list(st, each, ctx, err);
}

static int docker_p_cache_remove(void *state, const char *name,
				 struct monkey_error *err)
{
	struct dk_state *st = state;
	int rc = dk_engine_connect(st, err);
	return rc < 0 ? rc : dk_cache_remove(st, name, err);
}

static int docker_p_session_open(void *state,
				 const struct monkey_exec_request *req,
				 void **session, struct monkey_error *err)
{
	struct dk_state *st = state;
	const char *image =
	    req && req->image && req->image[0] ? req->image : st->image;
	int rc;
	if (!req || !MONKEY_STRUCT_HAS(req, cancel_fd))
		return st->host->set_error(err, -EINVAL,
					   "session settings are older "
					   "than this docker backend "
					   "understands");
	if ((rc = check_image(st, image, err)) < 0 ||
	    (rc = engine_ready(st, err)) < 0 ||
	    (rc = dk_caches_prepare(st, req, image, err)) < 0)
		return rc;
	return dk_session_open(st, req, (struct dk_session **)session, err);
}

static int docker_p_session_exec(void *session,
				 const struct monkey_exec_request *req,
				 struct monkey_exec_result *result,
				 struct monkey_error *err)
{
	if (!req || !result || !MONKEY_STRUCT_HAS(req, cancel_fd) ||
	    !MONKEY_STRUCT_HAS(result, oom_killed))
		return -EINVAL;
	return dk_session_exec(session, req, result, err);
}

static void docker_p_session_close(void *session) { dk_session_close(session); }

static int docker_p_job_start(void *session,
			      const struct monkey_exec_request *req, void **job,
			      struct monkey_error *err)
{
	if (!req || !MONKEY_STRUCT_HAS(req, cancel_fd))
		return -EINVAL;
	return dk_session_job_start(session, req, (struct dk_session_job **)job,
				    err);
}

static int docker_p_job_read(void *job, int64_t wait_ms, monkey_output_fn out,
			     void *out_ctx, int *running,
			     struct monkey_exec_result *result,
			     struct monkey_error *err)
{
	return dk_job_read(dk_session_job(job), wait_ms, out, out_ctx, running,
			   result, err);
}

static int docker_p_job_write(void *job, const void *data, size_t len,
			      int close_stdin, struct monkey_error *err)
{
	return dk_job_write(dk_session_job(job), data, len, close_stdin, err);
}

static int docker_p_job_stop(void *job, struct monkey_error *err)
{
	return dk_job_stop(dk_session_job(job), err);
}

static void docker_p_job_close(void *job) { dk_session_job_close(job); }

static void docker_p_fini(void *state)
{
	struct dk_state *st = state;
	if (!st)
		return;
	/* Prestarted containers first: their removal may go through the
	 * janitor. */
	dk_pool_fini(st);
	dk_live_stop(st);
	state_free(st);
	curl_global_cleanup();
}

static const struct monkey_backend docker_backend = {
    MONKEY_BACKEND_HEADER,
    .name = "docker",
    .description = "a fresh hardened container per command (Docker "
		   "Engine API or podman)",
    .safety = MONKEY_SAFETY_HIGH,
    .capabilities =
	MONKEY_CAP_MEMORY | MONKEY_CAP_CPU | MONKEY_CAP_PIDS |
	MONKEY_CAP_NETWORK_ISOLATION | MONKEY_CAP_FS_ISOLATION |
	MONKEY_CAP_READ_ONLY_ROOT | MONKEY_CAP_MOUNTS | MONKEY_CAP_STDIN |
	MONKEY_CAP_TIMEOUT | MONKEY_CAP_KILL_TREE | MONKEY_CAP_CLEAN_ENV |
	MONKEY_CAP_USER | MONKEY_CAP_IMAGE | MONKEY_CAP_CPU_TIME |
	MONKEY_CAP_FILE_SIZE | MONKEY_CAP_OPEN_FILES | MONKEY_CAP_OOM_REPORT |
	MONKEY_CAP_CANCEL | MONKEY_CAP_POOL | MONKEY_CAP_EGRESS_PROXY |
	MONKEY_CAP_CACHE_VOLUMES | MONKEY_CAP_SESSION | MONKEY_CAP_JOBS,
    .init = docker_p_init,
    .probe = docker_p_probe,
    .exec = docker_p_exec,
    .fini = docker_p_fini,
    .caches_list = docker_p_caches_list,
    .cache_remove = docker_p_cache_remove,
    .details =
	"Runs each command in a new container through the Docker "
	"Engine API "
	"on DOCKER_HOST=unix://PATH (default /var/run/docker.sock); "
	"podman's "
	"compatible service works too. Hardened by default: all "
	"capabilities "
	"dropped, no-new-privileges, memory limit with no extra swap, "
	"CPU "
	"quota, pids limit, no network (--network attaches to the "
	"engine's "
	"default network, or to MONKEY_DOCKER_NETWORK; with "
	"--allow-domain "
	"a fresh container, never a pooled one, reaches only the "
	"allowed "
	"hosts through monkey's egress proxy, whose socket directory "
	"and "
	"forwarder are bound read-only at " DK_PROXY_DIR_TARGET
	" and " DK_PROXY_FORWARDER_TARGET "), explicit nofile "
	"(1024/4096) and nproc (4096) ulimits, read-only root with an "
	"exec-able tmpfs /tmp on --read-only, runs as the invoking "
	"uid:gid "
	"unless --user. The workspace is bind-mounted at its own host "
	"path "
	"and the working directory is the same path inside, so paths "
	"tools "
	"print are the host's; --mount adds binds. The workspace's "
	".git (a "
	"directory, or a worktree's .git file; never a symlink) is "
	"mounted "
	"read-only unless --writable-git, and checked to be that very "
	".git "
	"before the command runs. The image's entrypoint is not used; "
	"the "
	"command gets LANG/LC_*/TERM/TZ and the variables named with "
	"--env/--pass-env (PATH and HOME come from the image). Image: "
	"--image, else MONKEY_DOCKER_IMAGE, else " DK_DEFAULT_IMAGE
	"; a missing image is pulled by the first command that needs "
	"it "
	"(MONKEY_DOCKER_PULL=never turns that off). Probing (monkey "
	"sandbox "
	"list and info) only looks: it pulls nothing and removes "
	"nothing. An "
	"engine that is not there lets monkey fall back to spawn; a "
	"missing "
	"image or any other refusal is an error, and with --image or "
	"MONKEY_DOCKER_IMAGE given monkey never falls back.\n\n"
	"PID 1 of every container is monkey-launch, a static helper "
	"bind-mounted read-only at " DK_LAUNCHER_TARGET ": it says it is "
	"ready before the command is sent (so a command never runs "
	"twice), "
	"runs the command as its child, passes SIGTERM and the like on "
	"to "
	"every process, reaps orphans, and reports in-band after the "
	"last "
	"byte of output how the command ended, OOM kills from the "
	"cgroup "
	"(podman included), forks refused at the pids limit and a kill "
	"at "
	"the CPU-time limit. It reads the attach stream until it ends: "
	"when "
	"monkey is gone, however it died, it kills everything in the "
	"container and exits, and the engine removes the container "
	"(AutoRemove), prestarted ones too. Timeout and Ctrl-C send "
	"SIGTERM, then SIGKILL after the grace time. --pool K keeps K "
	"containers with the same settings started ahead (default 1 "
	"for "
	"monkey agent, 0 for monkey exec); each is still used once. "
	"Without "
	"monkey-launch (MONKEY_DOCKER_LAUNCHER naming no usable file) "
	"the "
	"command is PID 1, the engine reports its end and OOM kills "
	"(podman "
	"cannot: unknown), limits are unknown and a container outlives "
	"a "
	"monkey killed with SIGKILL until the next sweep.\n\n"
	"Every container is labelled monkey.sandbox with its monkey "
	"process and with that process's boot id, PID namespace, pid "
	"and "
	"start time. Before its first command a monkey removes the "
	"containers whose owner is provably gone: another boot, or a "
	"pid of "
	"its own PID namespace that is free or now another process's. "
	"Owners in other PID namespaces, or whose liveness cannot be "
	"read, "
	"keep theirs.\n\n"
	"Sessions (monkey agent runs in one unless --fresh-sandbox): "
	"one "
	"container with the same hardening serves all of a session's "
	"commands, so files written anywhere writable persist; memory, "
	"CPU "
	"and pids limits apply to the session as a whole. Its "
	"monkey-launch "
	"runs each command in its own process group under a "
	"per-command "
	"subreaper, with the command's own environment, working "
	"directory, "
	"stdin and timeout, and when the command ends kills every "
	"process "
	"in the container but itself, setsid daemons included. The "
	"container starts in the background when the session opens (or "
	"is "
	"taken from the pool). If it dies, the next command runs in a "
	"new "
	"one and says that files outside the workspace are gone; a "
	"command running when it died fails with that message. It is "
	"removed when the session closes, and when monkey dies its "
	"launcher sees the stream end and the engine removes it. "
	"Background "
	"jobs are monkey-launch exec'd into the session's container, "
	"each a "
	"subreaper on a stream of its own: a foreground command's end "
	"does "
	"not touch them, and they die with the session.",
    .session_open = docker_p_session_open,
    .session_exec = docker_p_session_exec,
    .session_close = docker_p_session_close,
    .job_start = docker_p_job_start,
    .job_read = docker_p_job_read,
    .job_write = docker_p_job_write,
    .job_stop = docker_p_job_stop,
    .job_close = docker_p_job_close,
};

MONKEY_BACKEND_EXPORT(&docker_backend)
