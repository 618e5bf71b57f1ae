/* The executor's side of the egress proxy: the proxy lives as long as the
 * executor (one "monkey exec", or one agent run), every request points
 * the backend at it, and each result gets what the proxy saw. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error_wrap.h"
#include "executor_proxy.h"

#ifndef MONKEY_PROXY_FORWARD_PATH
#define MONKEY_PROXY_FORWARD_PATH                                              \
	"/usr/local/libexec/monkey/monkey-proxy-forward"
#endif

/* How long a result waits for the proxy to finish the connections of a
 * command that has ended (their sandbox is gone, so they are closing). */
#define COLLECT_WAIT_MS 2000

struct exec_proxy {
	struct monkey_proxy *proxy;
	char *forwarder;
	unsigned port;
};

int exec_proxy_check(const struct monkey_exec_options *o,
		     struct monkey_error *err)
{
	int r;
	for (size_t i = 0; i < o->n_allow_domains; i++)
		if ((r = monkey_proxy_check_allow(o->allow_domains[i], err)) <
		    0)
			return r;
	for (size_t i = 0; i < o->n_proxy_resolve; i++)
		if ((r = monkey_proxy_check_resolve(o->proxy_resolve[i], err)) <
		    0)
			return r;
	if (o->n_proxy_resolve && !o->n_allow_domains)
		return monkey_set_error(
		    err, -EINVAL,
		    "--proxy-resolve pins a name for the egress proxy, which "
		    "only runs with an --allow-domain rule: add one for %s",
		    o->proxy_resolve[0]);
	if (o->n_allow_domains && o->network)
		return monkey_set_error(
		    err, -EINVAL,
		    "--network gives the command the whole network and "
		    "--allow-domain only the hosts it names: drop one of "
		    "them");
	return 0;
}

/* A regular, non-empty executable nobody else may write (an empty file
 * is what a build without a static C library leaves). */
static char *usable(const char *path)
{
	struct stat st;
	char *real = realpath(path, NULL);
	if (!real || stat(real, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size == 0 || !(st.st_mode & S_IXUSR) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		free(real);
		return NULL;
	}
	return real;
}

/* MONKEY_PROXY_FORWARDER, else the build tree's (libmonkey is
 * .libs/libmonkey.so there), else the installed one. */
char *monkey_proxy_forwarder_find(const char **tried)
{
	const char *env = secure_getenv("MONKEY_PROXY_FORWARDER");
	if (env && *env)
		return usable(*tried = env);
	Dl_info info;
	if (dladdr((void *)exec_proxy_open, &info) && info.dli_fname) {
		_cleanup_free_ char *dir = strdup(info.dli_fname);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		if (slash) {
			*slash = '\0';
			_cleanup_free_ char *cand = monkey_strdup_printf(
			    "%s/../core/proxy/monkey-proxy-forward", dir);
			char *p = cand ? usable(cand) : NULL;
			if (p)
				return p;
		}
	}
	return usable(*tried = MONKEY_PROXY_FORWARD_PATH);
}

/* Remove NAME=... entries of the proxy variables from sv. */
static void drop_proxy_vars(struct monkey_strv *sv, char *const *vars)
{
	size_t k = 0;
	for (size_t i = 0; i < sv->n; i++) {
		bool drop = false;
		for (char *const *v = vars; *v && !drop; v++) {
			size_t len = strcspn(*v, "=") + 1;
			drop = strncmp(sv->v[i], *v, len) == 0;
		}
		if (drop)
			free(sv->v[i]);
		else
			sv->v[k++] = sv->v[i];
	}
	sv->n = k;
	if (sv->v)
		sv->v[k] = NULL;
}

static int set_env(struct monkey_strv *env, struct monkey_strv *user_env,
		   unsigned port, struct monkey_error *err)
{
	_cleanup_strv_ char **vars = monkey_proxy_env_new(port);
	if (!vars)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	drop_proxy_vars(env, vars);
	drop_proxy_vars(user_env, vars);
	for (char **v = vars; *v; v++)
		if (monkey_strv_push(env, *v) < 0 ||
		    monkey_strv_push(user_env, *v) < 0)
			return monkey_set_error(err, -ENOMEM, "out of memory");
	return 0;
}

/* The socket goes to the sandbox's user when it is not ours (root only
 * may give it away). */
static void set_owner(struct monkey_proxy_options *po, const char *user)
{
	unsigned long uid, gid;
	if (user && geteuid() == 0 &&
	    sscanf(user, "%lu:%lu", &uid, &gid) == 2) {
		po->owner_uid = (long)uid;
		po->owner_gid = (long)gid;
	}
}

int exec_proxy_open(const struct monkey_exec_options *o, const char *user,
		    struct monkey_strv *env, struct monkey_strv *user_env,
		    struct exec_proxy **out, struct monkey_error *err)
{
	const char *tried = NULL;
	_cleanup_free_ char *fwd = monkey_proxy_forwarder_find(&tried);
	if (!fwd)
		return monkey_set_error(
		    err, -ENOENT,
		    "--allow-domain: no usable monkey-proxy-forward at %s "
		    "(a static, non-empty executable; set "
		    "MONKEY_PROXY_FORWARDER or reinstall monkey)",
		    tried);
	struct monkey_proxy_options po;
	monkey_proxy_options_init(&po);
	po.allow = o->allow_domains;
	po.n_allow = o->n_allow_domains;
	po.resolve = o->proxy_resolve;
	po.n_resolve = o->n_proxy_resolve;
	set_owner(&po, user);
	struct exec_proxy *xp = calloc(1, sizeof(*xp));
	if (!xp)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	xp->port = MONKEY_PROXY_FORWARD_PORT;
	int r = monkey_proxy_open(&po, &xp->proxy, err);
	if (r == 0)
		r = set_env(env, user_env, xp->port, err);
	if (r < 0) {
		exec_proxy_close(xp);
		return monkey_error_wrap(err, r, "opening the egress proxy");
	}
	xp->forwarder = steal_pointer(&fwd);
	*out = xp;
	return 0;
}

void exec_proxy_fill(const struct exec_proxy *xp,
		     struct monkey_exec_request *req)
{
	if (!xp)
		return;
	req->network = 0;
	req->proxy_dir = monkey_proxy_dir(xp->proxy);
	req->proxy_forwarder = xp->forwarder;
	req->proxy_port = xp->port;
}

void exec_proxy_collect(struct exec_proxy *xp, struct monkey_result *res)
{
	if (!xp)
		return;
	res->proxied = true;
	(void)monkey_proxy_wait_idle(xp->proxy, COLLECT_WAIT_MS);
	struct monkey_error e = {0};
	(void)monkey_proxy_drain(xp->proxy, &res->network, &e);
}

void exec_proxy_close(struct exec_proxy *xp)
{
	if (!xp)
		return;
	monkey_proxy_close(xp->proxy);
	free(xp->forwarder);
	free(xp);
}
