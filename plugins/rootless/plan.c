/* Turning a request into a plan (rootless.h): the root view and its
 * template key, the command's execve candidates, rlimits and user
 * mapping, and what each command mounts fresh.  Host-side code: it may
 * allocate and fail with messages. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootless.h"

static int path_within(const char *path, const char *dir)
{
	size_t l = strlen(dir);
	while (l > 1 && dir[l - 1] == '/')
		l--;
	if (l == 1 && dir[0] == '/')
		return 1;
	return !strncmp(path, dir, l) && (path[l] == '/' || !path[l]);
}

static int depth(const char *p)
{
	int d = 0;
	for (; *p; p++)
		d += *p == '/';
	return d;
}

/* Targets the sandbox builds itself cannot take a bind. */
static int check_target(const struct monkey_host *host, const char *target,
			struct monkey_error *err)
{
	/* /dev is a tmpfs of the sandbox's own, but binds may go in it
	 * (helpers such as monkey-probe are mounted at /dev/.NAME). */
	static const char *const ours[] = {"/proc", "/sys"};
	if (target[0] != '/' || !strcmp(target, "/"))
		return rl_set_err(host, err, -EINVAL,
				  "rootless: cannot mount over %s: the root "
				  "of the sandbox is the host's / (or the "
				  "--image directory), read-only",
				  target);
	for (size_t i = 0; i < 2; i++)
		if (path_within(target, ours[i]))
			return rl_set_err(
			    host, err, -EINVAL,
			    "rootless: cannot mount over %s: the sandbox "
			    "makes its own %s; choose a target elsewhere "
			    "(e.g. under /mnt)",
			    target, ours[i]);
	return 0;
}

static int add_bind(struct rl_request_view *rv, const char *source,
		    const char *target, int read_only)
{
	struct stat sb;
	if (stat(source, &sb) < 0)
		return -errno;
	struct rl_bind *b = &rv->binds[rv->view.n_binds++];
	b->source = source;
	b->target = target;
	b->read_only = read_only;
	b->is_dir = S_ISDIR(sb.st_mode);
	return 0;
}

static int image_root(struct rl_state *st, const char *image,
		      struct rl_request_view *rv, struct monkey_error *err)
{
	struct stat sb;
	if (stat(image, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    (rv->image = realpath(image, NULL)))
		return 0;
	const char *env = secure_getenv("MONKEY_DOCKER_IMAGE");
	int from_env = env && !strcmp(env, image);
	return rl_set_err(
	    st->host, err, -EINVAL,
	    "rootless: --image %s is not a directory: the rootless backend "
	    "uses a directory as the root file system (an exported image, "
	    "e.g. mkdir rootfs && docker export $(docker create IMAGE) | tar "
	    "-C rootfs -x); image names are for --sandbox docker%s",
	    image,
	    from_env ? " (this one came from MONKEY_DOCKER_IMAGE: unset it "
		       "or give --image DIR)"
		     : "");
}

/* Can the view be the host's own / made read-only in place?  Only when
 * every mount target already exists there, or lies in a hidden directory
 * (which becomes a tmpfs of the sandbox's, where it can be made). */
static int in_place(const struct rl_view *v)
{
	if (!v->host_root || v->n_binds > RL_MAX_BINDS)
		return 0;
	for (size_t i = 0; i < v->n_binds; i++) {
		struct stat sb;
		if (stat(v->binds[i].target, &sb) == 0 &&
		    !S_ISDIR(sb.st_mode) == !v->binds[i].is_dir)
			continue;
		int hidden = 0;
		for (char *const *h = v->hide; h && *h; h++)
			if (path_within(v->binds[i].target, *h) &&
			    strcmp(v->binds[i].target, *h) &&
			    stat(*h, &sb) == 0 && S_ISDIR(sb.st_mode))
				hidden = 1;
		if (!hidden)
			return 0;
	}
	return 1;
}

const char *rl_req_proxy(const struct monkey_exec_request *req)
{
	if (!MONKEY_STRUCT_HAS(req, proxy_port) || !req->proxy_dir ||
	    !req->proxy_forwarder)
		return NULL;
	return req->proxy_dir;
}

int rl_plan_view(struct rl_state *st, const struct monkey_exec_request *req,
		 struct rl_request_view *rv, struct monkey_error *err)
{
	memset(rv, 0, sizeof(*rv));
	const struct monkey_host *host = st->host;
	if (req->workspace && !strcmp(req->workspace, "/"))
		return rl_set_err(host, err, -EINVAL,
				  "rootless: the workspace is /: the whole "
				  "host would be writable; give a project "
				  "directory as the workspace");
	int r;
	if (req->image && req->image[0] &&
	    (r = image_root(st, req->image, rv, err)) < 0)
		return r;
	rv->view.root = rv->image ? rv->image : "/";
	rv->view.host_root = !rv->image;
	rv->view.hide = rv->image ? NULL : st->hide;
	rv->binds = calloc(req->n_mounts + 4, sizeof(*rv->binds));
	if (!rv->binds)
		return rl_set_err(host, err, -ENOMEM, "out of memory");
	rv->view.binds = rv->binds;
	if (req->workspace &&
	    (r = add_bind(rv, req->workspace, req->workspace, 0)) < 0)
		return rl_set_err(host, err, r, "rootless: workspace %s: %s",
				  req->workspace, strerror(-r));
	for (size_t i = 0; i < req->n_mounts; i++) {
		const struct monkey_mount *m = &req->mounts[i];
		if ((r = check_target(host, m->target, err)) < 0)
			return r;
		if ((r = add_bind(rv, m->source, m->target, m->read_only)) < 0)
			return rl_set_err(host, err, r,
					  "rootless: --mount source %s: %s",
					  m->source, strerror(-r));
	}
	if (rl_req_proxy(req) &&
	    ((r = add_bind(rv, req->proxy_dir, RL_PROXY_DIR_TARGET, 1)) < 0 ||
	     (r = add_bind(rv, req->proxy_forwarder, RL_PROXY_FORWARDER_TARGET,
			   1)) < 0))
		return rl_set_err(
		    host, err, r, "rootless: the egress proxy's %s: %s",
		    "socket directory or forwarder", strerror(-r));
	/* A resolv.conf that lives in the hidden /run stays readable. */
	if (!rv->image && st->reveal)
		(void)add_bind(rv, st->reveal, st->reveal, 1); /* or gone */
	/* Parents before children; insertion sort keeps the given order
	 * among equals. */
	for (size_t i = 1; i < rv->view.n_binds; i++)
		for (size_t j = i; j > 0 && depth(rv->binds[j - 1].target) >
						depth(rv->binds[j].target);
		     j--) {
			struct rl_bind t = rv->binds[j];
			rv->binds[j] = rv->binds[j - 1];
			rv->binds[j - 1] = t;
		}
	rv->view.in_place = in_place(&rv->view);
	if (!(rv->key = rl_template_key(&rv->view)))
		return rl_set_err(host, err, -ENOMEM, "out of memory");
	return 0;
}

void rl_request_view_free(struct rl_request_view *rv)
{
	free(rv->binds);
	free(rv->image);
	free(rv->key);
	memset(rv, 0, sizeof(*rv));
}

/* Binds a fresh tmpfs on dir would cover: those whose target lies in dir
 * and not in another such target (a recursive copy of that one brings
 * them).  None at all when a bind is dir or holds it. */
static int plan_fresh(struct rl_fresh *fr, const struct rl_view *v,
		      const char *dir)
{
	fr->dir = dir;
	fr->on = 1;
	fr->n_rebind = 0;
	for (size_t i = 0; i < v->n_binds; i++)
		if (path_within(dir, v->binds[i].target))
			fr->on = 0;
	for (size_t i = 0; fr->on && i < v->n_binds; i++) {
		const char *t = v->binds[i].target;
		if (!path_within(t, dir))
			continue;
		int nested = 0;
		for (size_t j = 0; j < i; j++)
			if (path_within(t, v->binds[j].target) &&
			    path_within(v->binds[j].target, dir))
				nested = 1;
		if (nested)
			continue;
		if (fr->n_rebind == RL_MAX_REBINDS)
			return -E2BIG;
		fr->rebind[fr->n_rebind++] = t;
	}
	return 0;
}

/* execve candidates for name, as execvp(3) tries them: name itself when it
 * holds a '/', else each PATH entry joined with it (an empty entry is the
 * working directory).  One allocation, NULL-terminated. */
static char **exec_candidates(const char *name, const char *path)
{
	size_t nlen = strlen(name), n = 1, plen = strlen(path);
	if (strchr(name, '/')) {
		char **v = malloc(2 * sizeof(char *) + nlen + 1);
		if (!v)
			return NULL;
		v[0] = memcpy((char *)(v + 2), name, nlen + 1);
		v[1] = NULL;
		return v;
	}
	for (const char *c = path; *c; c++)
		n += *c == ':';
	char **v = malloc((n + 1) * sizeof(char *) + plen + n * (nlen + 2));
	if (!v)
		return NULL;
	char *buf = (char *)(v + n + 1);
	size_t k = 0;
	for (const char *seg = path;;) {
		const char *colon = strchr(seg, ':');
		size_t sl = colon ? (size_t)(colon - seg) : strlen(seg);
		v[k++] = buf;
		if (sl) {
			memcpy(buf, seg, sl);
			buf += sl;
			*buf++ = '/';
		}
		memcpy(buf, name, nlen + 1);
		buf += nlen + 1;
		if (!colon)
			break;
		seg = colon + 1;
	}
	v[k] = NULL;
	return v;
}

/* One allocation holding the vector and its strings, after extra (copied
 * too, reachable at v[n + 1]).  The sandbox's init blanks the host's
 * command line and environment strings in its copy of our memory before
 * it starts the command: what the command gets must not point there. */
static char **copy_strv(const char *const *v, const char *extra)
{
	size_t n = 0, bytes = strlen(extra) + 1;
	for (; v[n]; n++)
		bytes += strlen(v[n]) + 1;
	char **out = malloc((n + 2) * sizeof(char *) + bytes);
	if (!out)
		return NULL;
	char *s = (char *)(out + n + 2);
	for (size_t i = 0; i < n; i++) {
		out[i] = s;
		s = stpcpy(s, v[i]) + 1;
	}
	out[n] = NULL;
	out[n + 1] = s;
	strcpy(s, extra);
	return out;
}

const char *rl_env_path(const char *const *envp)
{
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, "PATH=", 5))
			return *envp + 5;
	return "/bin:/usr/bin"; /* what execvp uses without PATH */
}

static void add_rlimit(struct rl_plan *p, int resource, uint64_t want,
		       uint64_t hard_extra)
{
	struct rlimit cur;
	if (getrlimit(resource, &cur) < 0 || p->n_rl == RL_MAX_RLIMITS)
		return;
	/* The hard limit comes down too, or the command could lift the
	 * soft one again; never above what the host has. */
	uint64_t hard = want + hard_extra;
	if (cur.rlim_max != RLIM_INFINITY && hard > cur.rlim_max)
		hard = cur.rlim_max;
	p->rl[p->n_rl].resource = resource;
	p->rl[p->n_rl].cur = want < hard ? want : hard;
	p->rl[p->n_rl].max = hard;
	p->n_rl++;
}

static void plan_rlimits(struct rl_plan *p,
			 const struct monkey_exec_request *req)
{
	if (req->memory_bytes && !rl_g.cg_have[RL_CG_MEMORY])
		add_rlimit(p, RLIMIT_AS, req->memory_bytes, 0);
	/* One second between SIGXCPU and SIGKILL, so the command may see it. */
	if (req->cpu_time_s)
		add_rlimit(p, RLIMIT_CPU, req->cpu_time_s, 1);
	if (req->file_size_bytes)
		add_rlimit(p, RLIMIT_FSIZE, req->file_size_bytes, 0);
	if (req->open_files)
		add_rlimit(p, RLIMIT_NOFILE, req->open_files, 0);
	/* Counted per user and user namespace: with a namespace of its
	 * own, a limit on this command's processes. */
	if (req->pids > 0 && rl_g.nproc_pids && !rl_g.cg_have[RL_CG_PIDS]) {
		add_rlimit(p, RLIMIT_NPROC, (uint64_t)req->pids, 0);
		p->own_userns = 1;
	}
}

/* The forwarder I starts: it listens on 127.0.0.1:PORT in the command's
 * network namespace, says so on fd 3, and dies with I. */
static void plan_proxy(struct rl_plan *p, const struct monkey_exec_request *req)
{
	if (!rl_req_proxy(req))
		return;
	snprintf(p->proxy_port, sizeof(p->proxy_port), "%u", req->proxy_port);
	char *const argv[] = {RL_PROXY_FORWARDER_TARGET,
			      "--port",
			      p->proxy_port,
			      "--ready-fd",
			      "3",
			      "--die-with-parent",
			      RL_PROXY_DIR_TARGET "/proxy.sock",
			      NULL};
	memcpy(p->proxy_argv, argv, sizeof(argv));
}

/* What the root view is built from, and the mounts made on top of it. */
static int plan_base(struct rl_state *st, const struct monkey_exec_request *req,
		     const struct rl_request_view *rv, struct rl_plan *p,
		     struct monkey_error *err)
{
	p->view = &rv->view;
	p->proc_fd = st->proc_fd;
	snprintf(p->uid_map, sizeof(p->uid_map), "%u %u 1\n", (unsigned)st->uid,
		 (unsigned)st->uid);
	snprintf(p->gid_map, sizeof(p->gid_map), "%u %u 1\n", (unsigned)st->gid,
		 (unsigned)st->gid);
	p->undumpable = rl_undumpable();
	p->new_net = !req->network;
	p->uid0 = st->uid == 0;
	p->mount_sysfs = p->new_net;
	if (req->memory_bytes)
		snprintf(p->tmp_opts, sizeof(p->tmp_opts),
			 "mode=1777,size=%llu",
			 (unsigned long long)req->memory_bytes);
	else
		snprintf(p->tmp_opts, sizeof(p->tmp_opts), "mode=1777");
	if (plan_fresh(&p->tmp, &rv->view, "/tmp") < 0)
		return rl_set_err(st->host, err, -E2BIG,
				  "rootless: more than %d mounts under /tmp",
				  RL_MAX_REBINDS);
	return 0;
}

int rl_plan_session(struct rl_state *st, const struct monkey_exec_request *req,
		    const struct rl_request_view *rv, struct rl_plan *p,
		    struct monkey_error *err)
{
	int rc = plan_base(st, req, rv, p, err);
	if (rc < 0)
		return rc;
	/* The home the view hides is the session's, empty and writable, as
	 * a container's is: what a command installs for the user (pip
	 * --user, caches, tool configuration) is there for the next. */
	struct stat sb;
	if (st->home && rv->view.host_root && stat(st->home, &sb) == 0 &&
	    S_ISDIR(sb.st_mode) &&
	    plan_fresh(&p->home, &rv->view, st->home) < 0)
		return rl_set_err(st->host, err, -E2BIG,
				  "rootless: more than %d mounts under %s",
				  RL_MAX_REBINDS, st->home);
	return 0;
}

int rl_plan_command(struct rl_state *st, const struct monkey_exec_request *req,
		    const struct rl_request_view *rv, struct rl_plan *p,
		    struct monkey_error *err)
{
	int rc = plan_base(st, req, rv, p, err);
	if (rc < 0)
		return rc;
	const char *wd = req->workdir	  ? req->workdir
			 : req->workspace ? req->workspace
					  : "/";
	char **argv = copy_strv(req->argv, wd);
	char **envp = copy_strv(req->envp, "");
	if (!argv || !envp) {
		free(argv);
		free(envp);
		return rl_set_err(st->host, err, -ENOMEM, "out of memory");
	}
	size_t argc = 0;
	while (argv[argc])
		argc++;
	p->argv = argv;
	p->envp = envp;
	p->workdir = argv[argc + 1];
	if (req->workdir && req->workspace &&
	    !path_within(req->workdir, req->workspace))
		return rl_set_err(st->host, err, -EPERM,
				  "working directory %s is not inside the "
				  "workspace %s; refusing to run there",
				  req->workdir, req->workspace);
	char **paths = exec_candidates(req->argv[0], rl_env_path(req->envp));
	if (!paths)
		return rl_set_err(st->host, err, -ENOMEM, "out of memory");
	p->paths = paths;
	plan_rlimits(p, req);
	plan_proxy(p, req);
	p->filter = rl_g.filter;
	p->last_cap = rl_g.last_cap;
	return 0;
}
