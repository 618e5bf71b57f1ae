/* The executor's side of the egress proxy: checks the rules, opens the
 * proxy for the executor's life, fills requests and gathers records. */
#ifndef MONKEY_EXECUTOR_PROXY_H
#define MONKEY_EXECUTOR_PROXY_H

#include <monkey/exec.h>

#include "util.h"

struct exec_proxy;

/* The monkey-proxy-forward to run in sandboxes (MONKEY_PROXY_FORWARDER,
 * else the build tree's, else the installed one), resolved, or NULL when
 * *tried names no usable file.  Caller frees. */
char *monkey_proxy_forwarder_find(const char **tried);

/* Check --allow-domain and --proxy-resolve values, and that they go with
 * the rest of the options; 0 or -EINVAL naming what is wrong. */
int exec_proxy_check(const struct monkey_exec_options *o,
		     struct monkey_error *err);

/* Open the proxy, find the forwarder and put HTTP_PROXY and its kin into
 * both environments (replacing what the user set of them).  user is the
 * sandbox's "uid:gid" or NULL. */
int exec_proxy_open(const struct monkey_exec_options *o, const char *user,
		    struct monkey_strv *env, struct monkey_strv *user_env,
		    struct exec_proxy **out, struct monkey_error *err);

/* The ABI 1.2 block of a request. */
void exec_proxy_fill(const struct exec_proxy *xp,
		     struct monkey_exec_request *req);

/* After a command: wait (bounded) until the proxy is idle and move what
 * it recorded into res. */
void exec_proxy_collect(struct exec_proxy *xp, struct monkey_result *res);

void exec_proxy_close(struct exec_proxy *xp);

#endif
