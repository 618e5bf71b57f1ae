/* Containers: the create body with the hardening monkey applies by default
 * (no capabilities, no-new-privileges, limits, no network, read-only root,
 * explicit ulimits, owner label) and the engine calls on one container. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "container.h"

static void add_str(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

static void add_i64(json_object *o, const char *key, int64_t val)
{
	json_object_object_add(o, key, json_object_new_int64(val));
}

static void add_bool(json_object *o, const char *key, int val)
{
	json_object_object_add(o, key, json_object_new_boolean(val));
}

static void add_ulimit(json_object *arr, const char *name, int64_t soft,
		       int64_t hard)
{
	json_object *u = json_object_new_object();
	add_str(u, "Name", name);
	add_i64(u, "Soft", soft);
	add_i64(u, "Hard", hard);
	json_object_array_add(arr, u);
}

static void add_bind(json_object *arr, const char *src, const char *dst, int ro)
{
	json_object *m = json_object_new_object();
	add_str(m, "Type", "bind");
	add_str(m, "Source", src);
	add_str(m, "Target", dst);
	add_bool(m, "ReadOnly", ro);
	json_object_array_add(arr, m);
}

/* ABI 1.2: a dependency cache, the named volume monkey-cache-NAME with
 * the label monkey.cache=NAME (the engine creates it, labelled, on first
 * use). */
static void add_cache(json_object *arr, const struct monkey_cache_mount *c)
{
	char vol[128];
	snprintf(vol, sizeof(vol), "%s%s", DK_CACHE_PREFIX, c->name);
	json_object *m = json_object_new_object();
	add_str(m, "Type", "volume");
	add_str(m, "Source", vol);
	add_str(m, "Target", c->target);
	add_bool(m, "ReadOnly", 0);
	json_object *labels = json_object_new_object();
	add_str(labels, DK_CACHE_LABEL, c->name);
	json_object *vo = json_object_new_object();
	json_object_object_add(vo, "Labels", labels);
	json_object_object_add(m, "VolumeOptions", vo);
	json_object_array_add(arr, m);
}

/* Host variables worth keeping inside a container: they describe the
 * terminal and language, not host paths (PATH and HOME come from the
 * image). */
static int basic_env(const char *kv)
{
	static const char *const names[] = {
	    "LANG=",	 "LANGUAGE=", "TERM=", "COLORTERM=",
	    "NO_COLOR=", "TZ=",	      NULL};
	for (const char *const *n = names; *n; n++)
		if (!strncmp(kv, *n, strlen(*n)))
			return 1;
	return !strncmp(kv, "LC_", 3) && strchr(kv, '=');
}

static int env_named(const char *const *envp, const char *kv)
{
	size_t l = strcspn(kv, "=");
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, kv, l) && (*envp)[l] == '=')
			return 1;
	return 0;
}

size_t dk_container_env(const struct monkey_exec_request *req, const char **out,
			size_t max)
{
	size_t n = 0;
	for (const char *const *e = req->envp; e && *e && n < max; e++)
		if (basic_env(*e) && !env_named(req->user_envp, *e))
			out[n++] = *e;
	for (const char *const *e = req->user_envp; e && *e && n < max; e++)
		if (strchr(*e, '='))
			out[n++] = *e;
	return n;
}

static json_object *build_env(const struct monkey_exec_request *req)
{
	const char *v[DK_ENV_MAX];
	size_t n = dk_container_env(req, v, DK_ENV_MAX);
	json_object *env = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(env, json_object_new_string(v[i]));
	return env;
}

/* The working directory inside the container.  The workspace appears at
 * its host path, so a host working directory inside it is the same path
 * in the container: compilers, test runners and build trees name the
 * files the host sees. */
char *dk_container_workdir(const struct monkey_exec_request *req)
{
	const char *ws = req->workspace, *wd = req->workdir;
	if (!ws)
		return NULL;
	if (!wd)
		return strdup(ws);
	size_t l = strlen(ws);
	while (l > 1 && ws[l - 1] == '/')
		l--;
	if (l == 1 && ws[0] == '/')
		l = 0; /* workspace "/": every path is inside */
	if (strncmp(wd, ws, l) || (wd[l] != '/' && wd[l] != '\0'))
		return NULL;
	char *out = strdup(wd);
	if (!out)
		return NULL;
	l = strlen(out);
	while (l > 1 && out[l - 1] == '/')
		out[--l] = '\0';
	return out;
}

/* 1 when path is a .git a container gets read-only: no --mount onto it
 * (that already decides what is there), a directory or a regular file
 * (lstat), whose identity fills g. */
static int git_to_protect(const struct monkey_exec_request *req,
			  const char *path, struct dk_git *g)
{
	struct stat sb;
	for (size_t i = 0; i < req->n_mounts; i++)
		if (!strcmp(req->mounts[i].target, path))
			return 0;
	if (lstat(path, &sb) < 0 ||
	    (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)))
		return 0;
	g->dev = (uint64_t)sb.st_dev;
	g->ino = (uint64_t)sb.st_ino;
	return 1;
}

int dk_git_protected(struct dk_state *st, const struct monkey_exec_request *req,
		     struct dk_git *g)
{
	memset(g, 0, sizeof(*g));
	if (st->writable_git || !req->workspace)
		return 0;
	size_t l = strlen(req->workspace);
	while (l > 1 && req->workspace[l - 1] == '/')
		l--;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%.*s/.git", (int)l, l == 1 ? "" : req->workspace) <
	    0) {
		path = NULL;
		return 0;
	}
	if (!git_to_protect(req, path, g))
		return 0;
	g->path = steal_pointer(&path);
	return 1;
}

/* Owner labels (sweep.c), and the pool's. */
static json_object *build_labels(struct dk_state *st, int pooled)
{
	const struct monkey_host *h = st->host;
	json_object *labels = json_object_new_object();
	add_str(labels, DK_LABEL, h->instance_id ? h->instance_id : "unknown");
	add_str(labels, DK_OWNER_BOOT, st->owner.boot_id);
	add_str(labels, DK_OWNER_PIDNS, st->owner.pidns);
	add_str(labels, DK_OWNER_PID, st->owner.pid);
	add_str(labels, DK_OWNER_START, st->owner.start);
	if (pooled)
		add_str(labels, DK_POOL_LABEL, "1");
	return labels;
}

/* The limits: cgroup ones and explicit ulimits (podman refuses to start
 * a container without nofile and nproc). */
static void add_limits(json_object *hc, const struct monkey_exec_request *req)
{
	if (req->memory_bytes) {
		add_i64(hc, "Memory", (int64_t)req->memory_bytes);
		/* Swap equal to memory: no swap on top of the limit. */
		add_i64(hc, "MemorySwap", (int64_t)req->memory_bytes);
	}
	if (req->cpus > 0)
		add_i64(hc, "NanoCpus", (int64_t)llround(req->cpus * 1e9));
	if (req->pids > 0)
		/* The container's limit, as asked; the launcher, when there
		 * is one, is one of its processes. */
		add_i64(hc, "PidsLimit", req->pids);
	json_object *ul = json_object_new_array();
	if (req->open_files)
		add_ulimit(ul, "nofile", (int64_t)req->open_files,
			   (int64_t)req->open_files);
	else
		add_ulimit(ul, "nofile", DK_NOFILE_SOFT, DK_NOFILE_HARD);
	add_ulimit(ul, "nproc", DK_NPROC, DK_NPROC);
	if (req->cpu_time_s)
		add_ulimit(ul, "cpu", (int64_t)req->cpu_time_s,
			   (int64_t)req->cpu_time_s);
	if (req->file_size_bytes)
		add_ulimit(ul, "fsize", (int64_t)req->file_size_bytes,
			   (int64_t)req->file_size_bytes);
	json_object_object_add(hc, "Ulimits", ul);
}

const char *dk_req_proxy(const struct monkey_exec_request *req)
{
	if (!MONKEY_STRUCT_HAS(req, proxy_port) || !req->proxy_dir ||
	    !req->proxy_forwarder)
		return NULL;
	return req->proxy_dir;
}

/* The workspace at its own path, the user's binds, the read-only .git,
 * the launcher and, in proxy mode, the proxy's socket and forwarder. */
static json_object *build_mounts(struct dk_state *st,
				 const struct monkey_exec_request *req,
				 const char *launcher)
{
	json_object *mounts = json_object_new_array();
	if (req->workspace)
		add_bind(mounts, req->workspace, req->workspace, 0);
	for (size_t i = 0; i < req->n_mounts; i++)
		add_bind(mounts, req->mounts[i].source, req->mounts[i].target,
			 req->mounts[i].read_only);
	if (MONKEY_STRUCT_HAS(req, n_caches))
		for (size_t i = 0; i < req->n_caches; i++)
			add_cache(mounts, &req->caches[i]);
	/* Git runs hooks and config from .git on the host (core.fsmonitor,
	 * hooks/): a command must not plant them.  The launcher checks at
	 * the command's start that the mount is this very .git, read-only
	 * (it could have been swapped for a symlink between the lstat and
	 * the engine's mount). */
	struct dk_git git;
	if (dk_git_protected(st, req, &git))
		add_bind(mounts, git.path, git.path, 1);
	free(git.path);
	if (launcher)
		add_bind(mounts, launcher, DK_LAUNCHER_TARGET, 1);
	if (dk_req_proxy(req)) {
		add_bind(mounts, req->proxy_dir, DK_PROXY_DIR_TARGET, 1);
		add_bind(mounts, req->proxy_forwarder,
			 DK_PROXY_FORWARDER_TARGET, 1);
	}
	return mounts;
}

/* HostConfig: the hardening, limits, network, mounts. */
static json_object *build_host_config(struct dk_state *st,
				      const struct monkey_exec_request *req,
				      const char *launcher)
{
	json_object *hc = json_object_new_object();
	json_object *caps = json_object_new_array();
	json_object_array_add(caps, json_object_new_string("ALL"));
	json_object_object_add(hc, "CapDrop", caps);
	json_object *sec = json_object_new_array();
	json_object_array_add(sec, json_object_new_string("no-new-privileges"));
	json_object_object_add(hc, "SecurityOpt", sec);
	add_str(hc, "NetworkMode",
		!req->network ? "none"
		: st->network ? st->network
			      : "default");
	add_limits(hc, req);
	if (req->read_only_root) {
		add_bool(hc, "ReadonlyRootfs", 1);
		/* exec: builds and test runs put binaries in /tmp.  No uid=:
		 * podman rejects it; mode 1777 lets any user write. */
		json_object *tmpfs = json_object_new_object();
		add_str(tmpfs, "/tmp", "rw,exec,nosuid,nodev,mode=1777");
		json_object_object_add(hc, "Tmpfs", tmpfs);
	}
	json_object_object_add(hc, "Mounts", build_mounts(st, req, launcher));
	/* The launcher reports the command's end in-band, so nothing needs
	 * the container afterwards: the engine removes it as soon as it
	 * ends, also when monkey died and cannot. */
	if (launcher)
		add_bool(hc, "AutoRemove", 1);
	/* Output reaches monkey through the attach stream; a log copy would
	 * only cost disk and time. */
	json_object *log = json_object_new_object();
	add_str(log, "Type", "none");
	json_object_object_add(hc, "LogConfig", log);
	return hc;
}

/* The container's working directory and user, checked. */
static int body_wd_user(struct dk_state *st,
			const struct monkey_exec_request *req,
			const char *launcher, int pooled, char **wd,
			char user[64], struct monkey_error *err)
{
	const struct monkey_host *h = st->host;
	*wd = NULL;
	/* A pooled container starts in the workspace root and the launcher
	 * changes to the command's directory; a fresh one starts in it, as
	 * the runtime enters it (creating it if need be) before dropping
	 * privileges. */
	if (launcher && pooled && req->workspace)
		*wd = strdup(req->workspace);
	else if (req->workdir && req->workspace &&
		 !(*wd = dk_container_workdir(req)))
		return h->set_error(err, -EINVAL,
				    "working directory %s is not inside the "
				    "workspace %s",
				    req->workdir, req->workspace);
	if (!req->user || !req->user[0]) {
		snprintf(user, 64, "%u:%u", (unsigned)st->uid,
			 (unsigned)st->gid);
		return 0;
	}
	if (!strchr(req->user, ':')) {
		free(*wd);
		*wd = NULL;
		return h->set_error(err, -EINVAL,
				    "user '%s' must be uid:gid (without a "
				    "group the engine runs the command with "
				    "gid 0)",
				    req->user);
	}
	snprintf(user, 64, "%s", req->user);
	return 0;
}

/* The launcher, told in proxy mode to start the forwarder first. */
static void add_launcher_cmd(json_object *cmd,
			     const struct monkey_exec_request *req)
{
	json_object_array_add(cmd, json_object_new_string(DK_LAUNCHER_TARGET));
	if (!dk_req_proxy(req))
		return;
	char port[16];
	snprintf(port, sizeof(port), "%u", req->proxy_port);
	const char *args[] = {"--proxy-forward", DK_PROXY_FORWARDER_TARGET,
			      port, DK_PROXY_DIR_TARGET "/proxy.sock"};
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		json_object_array_add(cmd, json_object_new_string(args[i]));
}

char *dk_create_body(struct dk_state *st, const struct monkey_exec_request *req,
		     const char *image, const char *launcher, int pooled,
		     struct monkey_error *err)
{
	char user[64];
	char *wd = NULL;

	if (!req->argv || !req->argv[0])
		return st->host->set_error(err, -EINVAL, "no command given"),
		       NULL;
	if (body_wd_user(st, req, launcher, pooled, &wd, user, err) < 0)
		return NULL;
	json_object *body = json_object_new_object();
	json_object *cmd = json_object_new_array();
	if (launcher)
		add_launcher_cmd(cmd, req);
	else
		for (const char *const *a = req->argv; *a; a++)
			json_object_array_add(cmd, json_object_new_string(*a));
	add_str(body, "Image", image);
	json_object_object_add(body, "Cmd", cmd);
	/* The command is the container's only process: no image entrypoint
	 * is wrapped around it. */
	json_object_object_add(body, "Entrypoint", json_object_new_array());
	json_object_object_add(body, "Env", build_env(req));
	add_str(body, "User", user);
	if (wd)
		add_str(body, "WorkingDir", wd);
	add_bool(body, "Tty", 0);
	add_bool(body, "AttachStdout", 1);
	add_bool(body, "AttachStderr", 1);
	/* The launcher reads its command on stdin, and its end is monkey's
	 * end, so its container always has one (it gives the command
	 * /dev/null when it has none). */
	int with_stdin = launcher || req->has_stdin;
	add_bool(body, "AttachStdin", with_stdin);
	add_bool(body, "OpenStdin", with_stdin);
	add_bool(body, "StdinOnce", with_stdin);
	/* Next to NetworkMode "none" this also skips the network setup,
	 * which halves the start time. */
	add_bool(body, "NetworkDisabled", !req->network);
	json_object_object_add(body, "Labels", build_labels(st, pooled));
	json_object_object_add(body, "HostConfig",
			       build_host_config(st, req, launcher));

	const char *s =
	    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	char *out = s ? strdup(s) : NULL;
	json_object_put(body);
	free(wd);
	if (!out)
		st->host->set_error(
		    err, -ENOMEM,
		    "out of memory building the container request");
	return out;
}

/* The body of the container that hands a new cache volume's root to
 * user (see dk_caches_prepare): root with CAP_CHOWN alone, no network,
 * no new privileges, small limits, and nothing mounted but the volume
 * and the launcher, which does the one chown. */
char *dk_own_body(struct dk_state *st, const char *image, const char *volume,
		  const char *user, struct monkey_error *err)
{
	char ids[64];
	snprintf(ids, sizeof(ids), "%s", user);
	char *colon = strchr(ids, ':');
	if (!colon || !st->launcher)
		return st->host->set_error(err, -EINVAL,
					   "cannot hand a cache to '%s'", user),
		       NULL;
	*colon = '\0';
	json_object *body = json_object_new_object();
	json_object *cmd = json_object_new_array();
	const char *args[] = {DK_LAUNCHER_TARGET, "--own", DK_OWN_TARGET, ids,
			      colon + 1};
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		json_object_array_add(cmd, json_object_new_string(args[i]));
	add_str(body, "Image", image);
	json_object_object_add(body, "Cmd", cmd);
	json_object_object_add(body, "Entrypoint", json_object_new_array());
	add_str(body, "User", "0:0");
	add_bool(body, "NetworkDisabled", 1);
	json_object_object_add(body, "Labels", build_labels(st, 0));
	json_object *hc = json_object_new_object();
	json_object *drop = json_object_new_array();
	json_object_array_add(drop, json_object_new_string("ALL"));
	json_object_object_add(hc, "CapDrop", drop);
	json_object *add = json_object_new_array();
	json_object_array_add(add, json_object_new_string("CHOWN"));
	json_object_object_add(hc, "CapAdd", add);
	json_object *sec = json_object_new_array();
	json_object_array_add(sec, json_object_new_string("no-new-privileges"));
	json_object_object_add(hc, "SecurityOpt", sec);
	add_str(hc, "NetworkMode", "none");
	add_i64(hc, "Memory", 64 << 20);
	add_i64(hc, "MemorySwap", 64 << 20);
	add_i64(hc, "PidsLimit", 8);
	/* Explicit, as for commands: podman will not raise its defaults
	 * without CAP_SYS_RESOURCE. */
	json_object *ul = json_object_new_array();
	add_ulimit(ul, "nofile", DK_NOFILE_SOFT, DK_NOFILE_HARD);
	add_ulimit(ul, "nproc", DK_NPROC, DK_NPROC);
	json_object_object_add(hc, "Ulimits", ul);
	json_object *mounts = json_object_new_array();
	json_object *m = json_object_new_object();
	add_str(m, "Type", "volume");
	add_str(m, "Source", volume);
	add_str(m, "Target", DK_OWN_TARGET);
	json_object_array_add(mounts, m);
	add_bind(mounts, st->launcher, DK_LAUNCHER_TARGET, 1);
	json_object_object_add(hc, "Mounts", mounts);
	json_object_object_add(body, "HostConfig", hc);
	const char *s =
	    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	char *out = s ? strdup(s) : NULL;
	json_object_put(body);
	if (!out)
		st->host->set_error(err, -ENOMEM, "out of memory");
	return out;
}

static int valid_id(const char *id)
{
	size_t n = strspn(id, "0123456789abcdef");
	return n >= 12 && n < DK_ID_MAX && id[n] == '\0';
}

int dk_container_create(struct dk_state *st, const char *body,
			const char *image, char id[DK_ID_MAX],
			struct monkey_error *err)
{
	struct dk_response r = {0};
	int rc = dk_request(st, "POST", "/containers/create", body,
			    st->api_timeout_ms, -1, &r, err);
	if (rc < 0)
		return rc;
	if (r.status != 201) {
		if (r.status == 404)
			rc = dk_engine_error(st, &r, err,
					     "image %s is not present locally",
					     image);
		else
			rc = dk_engine_error(
			    st, &r, err, "creating a container from %s failed",
			    image);
		dk_response_free(&r);
		return rc;
	}
	json_object *o = json_tokener_parse(r.body ? r.body : "");
	json_object *v = NULL;
	rc = -EPROTO;
	if (o && json_object_object_get_ex(o, "Id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    valid_id(json_object_get_string(v))) {
		snprintf(id, DK_ID_MAX, "%s", json_object_get_string(v));
		rc = 0;
	} else {
		st->host->set_error(
		    err, rc,
		    "the %s answered container create without an id: %.200s",
		    st->engine_name, r.body ? r.body : "");
	}
	json_object *w = NULL;
	if (o && json_object_object_get_ex(o, "Warnings", &w) &&
	    json_object_is_type(w, json_type_array))
		for (size_t i = 0; i < json_object_array_length(w); i++)
			st->host->log(st->host, MONKEY_LOG_DEBUG,
				      "docker: create: %s",
				      json_object_get_string(
					  json_object_array_get_idx(w, i)));
	json_object_put(o);
	dk_response_free(&r);
	return rc;
}

int dk_exec_failure(const char *body)
{
	/* runc's "exec: \"prog\": ..." is the command itself failing. */
	if (!body || !strstr(body, "exec: "))
		return 0;
	if (strstr(body, "executable file not found") ||
	    strstr(body, "no such file or directory"))
		return -ENOENT;
	if (strstr(body, "permission denied"))
		return -EACCES;
	return 0;
}

int dk_container_start(struct dk_state *st, const char *id,
		       struct monkey_error *err)
{
	char path[DK_ID_MAX + 32];
	struct dk_response r = {0};

	snprintf(path, sizeof(path), "/containers/%s/start", id);
	int rc =
	    dk_request(st, "POST", path, NULL, st->api_timeout_ms, -1, &r, err);
	if (rc < 0)
		return rc;
	if (r.status == 204 || r.status == 304) {
		dk_response_free(&r);
		return 0;
	}
	rc = dk_engine_error(st, &r, err, "starting the command failed");
	int code = dk_exec_failure(r.body);
	if (code) {
		rc = code;
		if (err)
			err->code = code;
	}
	dk_response_free(&r);
	return rc;
}

int dk_container_kill(struct dk_state *st, const char *id, const char *sig,
		      struct monkey_error *err)
{
	char path[DK_ID_MAX + 64];
	struct dk_response r = {0};

	snprintf(path, sizeof(path), "/containers/%s/kill?signal=%s", id, sig);
	int rc =
	    dk_request(st, "POST", path, NULL, st->api_timeout_ms, -1, &r, err);
	if (rc < 0)
		return rc;
	/* 409/500 "is not running": it already ended, which is the goal. */
	if (r.status != 204 && r.status != 409 &&
	    !(r.body && strstr(r.body, "not running")))
		rc = dk_engine_error(st, &r, err,
				     "killing container %.12s failed", id);
	dk_response_free(&r);
	return rc;
}

int dk_container_wait(struct dk_state *st, const char *id, int64_t timeout_ms,
		      int cancel_fd, long *status, struct monkey_error *err)
{
	char path[DK_ID_MAX + 32];
	struct dk_response r = {0};

	snprintf(path, sizeof(path), "/containers/%s/wait", id);
	int rc =
	    dk_request(st, "POST", path, NULL, timeout_ms, cancel_fd, &r, err);
	if (rc < 0)
		return rc;
	if (r.status != 200) {
		rc = dk_engine_error(st, &r, err,
				     "waiting for container %.12s failed", id);
		dk_response_free(&r);
		return rc;
	}
	json_object *o = json_tokener_parse(r.body ? r.body : "");
	json_object *v = NULL;
	if (o && json_object_object_get_ex(o, "StatusCode", &v))
		*status = (long)json_object_get_int64(v);
	else
		rc = st->host->set_error(
		    err, -EPROTO,
		    "the %s answered wait without a status: %.200s",
		    st->engine_name, r.body ? r.body : "");
	json_object_put(o);
	dk_response_free(&r);
	return rc;
}

int dk_container_inspect(struct dk_state *st, const char *id, int *running,
			 long *exit_code, int *oom_killed,
			 struct monkey_error *err)
{
	char path[DK_ID_MAX + 32];
	struct dk_response r = {0};

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	int rc =
	    dk_request(st, "GET", path, NULL, st->api_timeout_ms, -1, &r, err);
	if (rc < 0)
		return rc;
	if (r.status != 200) {
		rc = dk_engine_error(st, &r, err,
				     "inspecting container %.12s failed", id);
		dk_response_free(&r);
		return rc;
	}
	json_object *o = json_tokener_parse(r.body ? r.body : "");
	json_object *state = NULL, *v = NULL;
	if (!o || !json_object_object_get_ex(o, "State", &state)) {
		rc = st->host->set_error(
		    err, -EPROTO, "the %s answered inspect without a State",
		    st->engine_name);
		json_object_put(o);
		dk_response_free(&r);
		return rc;
	}
	if (running)
		*running = json_object_object_get_ex(state, "Running", &v) &&
			   json_object_get_boolean(v);
	if (exit_code && json_object_object_get_ex(state, "ExitCode", &v))
		*exit_code = (long)json_object_get_int64(v);
	/* Podman has the field but never sets it: say "unknown", not "no". */
	if (oom_killed) {
		if (st->is_podman ||
		    !json_object_object_get_ex(state, "OOMKilled", &v))
			*oom_killed = MONKEY_UNKNOWN;
		else
			*oom_killed =
			    json_object_get_boolean(v) ? MONKEY_YES : MONKEY_NO;
	}
	json_object_put(o);
	dk_response_free(&r);
	return 0;
}

int dk_container_remove(struct dk_state *st, const char *id,
			struct monkey_error *err)
{
	char path[DK_ID_MAX + 48];
	struct dk_response r = {0};

	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	int rc;
	/* A container whose process is just ending (the launcher exits
	 * right after its report) can make the engine refuse for a moment:
	 * podman answers 500 "could not be stopped ... state improper:
	 * stopped", docker 409 "removal already in progress".  Ask again a
	 * few times, about 1.5 s in all. */
	for (int attempt = 0;; attempt++) {
		rc = dk_request(st, "DELETE", path, NULL, DK_REMOVE_TIMEOUT_MS,
				-1, &r, err);
		if (rc < 0)
			return rc;
		if ((r.status != 409 && r.status != 500) || attempt == 6)
			break;
		dk_response_free(&r);
		memset(&r, 0, sizeof(r));
		int ms = 25 << attempt;
		struct timespec ts = {
		    .tv_sec = 0, .tv_nsec = (ms > 400 ? 400 : ms) * 1000000L};
		nanosleep(&ts, NULL);
	}
	/* 404: already gone, which is what we wanted. */
	if (r.status != 204 && r.status != 200 && r.status != 404)
		rc = dk_engine_error(st, &r, err,
				     "removing container %.12s failed", id);
	dk_response_free(&r);
	return rc;
}

int dk_container_oom_event(struct dk_state *st, const char *id, time_t since,
			   struct monkey_error *err)
{
	char filter[DK_ID_MAX + 64], path[512];
	struct dk_response r = {0};
	struct timespec now;

	/* A little into the future: the engine may still be handling the
	 * event; the answer ends at "until". */
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec += 250 * 1000000L;
	if (now.tv_nsec >= 1000000000L) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000L;
	}
	snprintf(filter, sizeof(filter),
		 "{\"container\":[\"%s\"],\"event\":[\"oom\"]}", id);
	char *enc = dk_urlencode(filter);
	if (!enc)
		return st->host->set_error(err, -ENOMEM, "out of memory");
	snprintf(path, sizeof(path),
		 "/events?since=%lld&until=%lld.%09ld&filters=%s",
		 (long long)since, (long long)now.tv_sec, now.tv_nsec, enc);
	free(enc);
	int rc =
	    dk_request(st, "GET", path, NULL, st->api_timeout_ms, -1, &r, err);
	if (rc < 0)
		return rc;
	if (r.status != 200)
		rc = dk_engine_error(st, &r, err,
				     "reading the events of %.12s failed", id);
	else
		rc = r.body && strstr(r.body, "\"oom\"") ? 1 : 0;
	dk_response_free(&r);
	return rc;
}
