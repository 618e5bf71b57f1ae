/* Probes of isolation: the network (listeners monkey opens on this host;
 * in proxy mode, the egress proxy's allowlist),
 * the file system (a file planted outside the workspace, other processes'
 * environments), the read-only root, mounts, the user and the clean
 * environment. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <monkey/proxy.h>

#include "executor_proxy.h"
#include "verify_int.h"

static struct vf_exec *new_exec(void)
{
	return calloc(1, sizeof(struct vf_exec));
}

/* Write the probe's script to dir/p.sh; false (reported as a setup
 * failure of cap) when that fails. */
static bool setup(struct vf_ctx *c, uint32_t cap, const char *tried,
		  const char *dir, const char *script)
{
	_cleanup_free_ char *d = vf_probe_dir(c, dir);
	_cleanup_free_ char *rel = monkey_strdup_printf("%s/p.sh", dir);
	int r = d && rel ? vf_write_file(c, rel, script, strlen(script), 0644)
			 : -ENOMEM;
	if (r < 0)
		vf_report(c, cap, VF_SETUP, tried,
			  "cannot write the probe's script in %s/%s: %s", c->ws,
			  dir, strerror(-r));
	return r == 0;
}

/* ---- network ---- */

struct listener {
	int fd;
	char addr[INET6_ADDRSTRLEN];
	char port[8];
	const char *what;
};

static int listen_on(const struct sockaddr *sa, socklen_t len,
		     struct listener *l)
{
	l->fd = socket(sa->sa_family,
		       SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return -errno;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (bind(l->fd, sa, len) < 0 || listen(l->fd, 8) < 0 ||
	    getsockname(l->fd, (struct sockaddr *)&ss, &sl) < 0) {
		int e = -errno;
		close(l->fd);
		l->fd = -1;
		return e;
	}
	const void *a =
	    sa->sa_family == AF_INET
		? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
		: (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	int port = ntohs(sa->sa_family == AF_INET
			     ? ((struct sockaddr_in *)&ss)->sin_port
			     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	inet_ntop(sa->sa_family, a, l->addr, sizeof(l->addr));
	snprintf(l->port, sizeof(l->port), "%d", port);
	return 0;
}

/* A non-loopback address of this host: IPv4 first, then a global IPv6
 * one.  Connections to it never leave the machine. */
static bool host_address(struct sockaddr_storage *out, socklen_t *len)
{
	struct ifaddrs *ifs = NULL, *best = NULL;
	if (getifaddrs(&ifs) < 0)
		return false;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			best = i;
			break;
		}
		const struct in6_addr *a6 =
		    &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (i->ifa_addr->sa_family == AF_INET6 && !best &&
		    !IN6_IS_ADDR_LINKLOCAL(a6) && !IN6_IS_ADDR_LOOPBACK(a6))
			best = i;
	}
	if (best) {
		*len = best->ifa_addr->sa_family == AF_INET
			   ? sizeof(struct sockaddr_in)
			   : sizeof(struct sockaddr_in6);
		memset(out, 0, sizeof(*out));
		memcpy(out, best->ifa_addr, *len);
		/* Port 0: the kernel picks one. */
		((struct sockaddr_in *)out)->sin_port = 0;
	}
	freeifaddrs(ifs);
	return best != NULL;
}

/* Connections that reached l since it opened (they wait in its queue). */
static int reached(struct listener *l)
{
	int n = 0;
	struct pollfd p = {l->fd, POLLIN, 0};
	while (poll(&p, 1, 0) == 1) {
		int s = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0)
			break;
		close(s);
		n++;
	}
	return n;
}

static const char net_script[] =
    "h=$1\n"
    "shift\n"
    "while [ $# -ge 2 ]; do\n"
    "\tif [ \"$h\" != - ]; then\n"
    "\t\t\"$h\" connect \"$1\" \"$2\"\n"
    "\telif command -v nc >/dev/null 2>&1; then\n"
    "\t\tif echo monkey-verify | nc -w 2 \"$1\" \"$2\" >/dev/null 2>&1; "
    "then\n"
    "\t\t\techo \"connected $1\"\n"
    "\t\telse\n"
    "\t\t\techo \"connect-failed $1\"\n"
    "\t\tfi\n"
    "\telse\n"
    "\t\techo \"notool $1\"\n"
    "\tfi\n"
    "\tshift 2\n"
    "done\n";

static void net_verdict(struct vf_ctx *c, const char *tried,
			struct listener *ls, size_t n, const struct vf_exec *x)
{
	char text[MONKEY_VERIFY_TEXT_MAX] = "";
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		if (reached(&ls[i]))
			len += (size_t)snprintf(
			    text + len, sizeof(text) - len,
			    "%sconnected to monkey's listener on %s port %s "
			    "(%s)",
			    len ? "; " : "", ls[i].addr, ls[i].port,
			    ls[i].what);
	char how[200];
	vf_describe(x, how, sizeof(how));
	if (len)
		vf_report(c, MONKEY_CAP_NETWORK_ISOLATION, VF_BROKEN, tried,
			  "%s", text);
	else if (x->rc < 0)
		vf_report(c, MONKEY_CAP_NETWORK_ISOLATION, VF_BROKEN, tried,
			  "%s", how);
	else if (vf_line(x, "notool", NULL, NULL))
		vf_report(c, MONKEY_CAP_NETWORK_ISOLATION, VF_UNPROBED, tried,
			  "neither monkey-probe nor nc is available inside");
	else if (!vf_line(x, "connect-failed", NULL, NULL) &&
		 !vf_line(x, "connected", NULL, NULL))
		vf_report(c, MONKEY_CAP_NETWORK_ISOLATION, VF_UNPROBED, tried,
			  "the probe reported nothing: %s", how);
	else {
		long e = 0;
		for (const char *p = x->out; (p = strstr(p, "connect-failed "));
		     p++)
			sscanf(p, "connect-failed %*s %ld", &e);
		vf_report(c, MONKEY_CAP_NETWORK_ISOLATION, VF_HOLDS, tried,
			  "no connection reached monkey's listeners%s%s%s",
			  e > 0 ? " (" : "", e > 0 ? strerror((int)e) : "",
			  e > 0 ? ")" : "");
	}
}

static void close_listeners(struct listener (*ls)[2])
{
	for (size_t i = 0; i < 2; i++)
		if ((*ls)[i].fd >= 0)
			close((*ls)[i].fd);
}

void vf_probe_network(struct vf_ctx *c)
{
	_cleanup_(close_listeners) struct listener ls[2] = {
	    {.fd = -1, .what = "host loopback"},
	    {.fd = -1, .what = "this host's address"}};
	struct sockaddr_in lo = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_storage ha;
	socklen_t hl = 0;
	char tried[MONKEY_VERIFY_TEXT_MAX];
	int r = listen_on((struct sockaddr *)&lo, sizeof(lo), &ls[0]);
	bool have_host = host_address(&ha, &hl);
	if (r == 0 && have_host)
		r = listen_on((struct sockaddr *)&ha, hl, &ls[1]);
	size_t n = have_host ? 2 : 1;
	if (r < 0) {
		vf_report(c, MONKEY_CAP_NETWORK_ISOLATION, VF_SETUP,
			  "listen on 127.0.0.1 and this host's address",
			  "cannot open a listener: %s", strerror(-r));
		return;
	}
	snprintf(tried, sizeof(tried),
		 "connect (%s, no network asked for) to listeners monkey "
		 "opened on %s port %s%s%s%s%s",
		 c->helper ? "monkey-probe" : "nc", ls[0].addr, ls[0].port,
		 have_host ? " and " : " (this host has no other address)",
		 have_host ? ls[1].addr : "", have_host ? " port " : "",
		 have_host ? ls[1].port : "");
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x || !setup(c, MONKEY_CAP_NETWORK_ISOLATION, tried, "network",
			 net_script))
		return;
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->argv[2] = c->helper ? c->helper : "-";
	for (size_t i = 0; i < n; i++) {
		x->argv[3 + 2 * i] = ls[i].addr;
		x->argv[4 + 2 * i] = ls[i].port;
	}
	x->dir = "network";
	x->with_helper = true;
	if (vf_run(c, x, MONKEY_CAP_NETWORK_ISOLATION, tried))
		net_verdict(c, tried, ls, n, x);
}

/* ---- file system ---- */

void vf_probe_fs(struct vf_ctx *c)
{
	char tried[MONKEY_VERIFY_TEXT_MAX];
	snprintf(tried, sizeof(tried),
		 "read %s (planted outside the workspace, not mounted) by "
		 "its path and from the workspace through ..; search "
		 "/proc/*/environ for a host process's environment",
		 c->planted);
	_cleanup_free_ char *script = monkey_strdup_printf(
	    "for f in \"$1\" \"$2\"; do\n"
	    "\tif [ -r \"$f\" ]; then cat \"$f\"; fi\n"
	    "done\n"
	    "if command -v grep >/dev/null 2>&1; then\n"
	    "\tgrep -l -F %s /proc/[0-9]*/environ 2>/dev/null |\n"
	    "\t\twhile read -r f; do echo \"host-environ $f\"; done\n"
	    "\techo grep-ok\n"
	    "fi\n",
	    c->host_secret);
	_cleanup_free_ char *rel = monkey_strdup_printf(
	    "../../outside/%s", strrchr(c->planted, '/') + 1);
	_cleanup_free_ char *content =
	    monkey_strdup_printf("monkey-verify-planted-%s", c->token);
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x || !script || !rel || !content ||
	    !setup(c, MONKEY_CAP_FS_ISOLATION, tried, "fs", script)) {
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->argv[2] = c->planted;
	x->argv[3] = rel;
	x->dir = "fs";
	if (!vf_run(c, x, MONKEY_CAP_FS_ISOLATION, tried))
		return;
	char text[MONKEY_VERIFY_TEXT_MAX] = "";
	size_t len = 0;
	if (strstr(x->out, content))
		len +=
		    (size_t)snprintf(text, sizeof(text), "read %s", c->planted);
	for (const char *p = x->out; (p = strstr(p, "host-environ ")); p++) {
		char path[64];
		const char *nl = strchr(p, '\n');
		size_t pl = nl ? (size_t)(nl - p) - 13 : strlen(p + 13);
		vf_escape(p + 13, pl, path, sizeof(path));
		if (len < sizeof(text))
			len += (size_t)snprintf(
			    text + len, sizeof(text) - len,
			    "%sread a host process's environment in %s",
			    len ? "; " : "", path);
	}
	char how[200];
	vf_describe(x, how, sizeof(how));
	if (len)
		vf_report(c, MONKEY_CAP_FS_ISOLATION, VF_BROKEN, tried, "%s",
			  text);
	else if (x->rc < 0)
		vf_report(c, MONKEY_CAP_FS_ISOLATION, VF_BROKEN, tried, "%s",
			  how);
	else
		vf_report(c, MONKEY_CAP_FS_ISOLATION, VF_HOLDS, tried,
			  "the planted file was not readable%s%s",
			  vf_has_line(x, "grep-ok")
			      ? ", no /proc/*/environ showed the host "
				"process's environment"
			      : " (no grep inside: /proc was not searched)",
			  c->decoy > 0 ? "" : " (no decoy process ran)");
}

/* ---- read-only root ---- */

/* Tries the root file system (/var/tmp when it is on it, else /), then
 * /tmp; %s is the token in the file's name. */
static const char rootfs_script[] =
    "t=.monkey-verify-%s\n"
    "root=$(stat -c %%d / 2>/dev/null)\n"
    "try() {\n"
    "\t# Only the root file system: a sandbox may mount a tmpfs on\n"
    "\t# /var/tmp as it does on /tmp.\n"
    "\tif [ \"$1\" != / ] && { [ -z \"$root\" ] ||\n"
    "\t\t[ \"$(stat -c %%d \"$1\" 2>/dev/null)\" != \"$root\" ]; }; "
    "then\n"
    "\t\techo \"elsewhere $1\"\n"
    "\t\treturn 1\n"
    "\tfi\n"
    "\tif msg=$( (echo x >\"${1%%/}/$t\") 2>&1); then\n"
    "\t\techo \"wrote $1\"\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\tcase \"$msg\" in\n"
    "\t*Read-only*) echo \"rofs $1\" ;;\n"
    "\t*ermission*) echo \"denied $1\" ;;\n"
    "\t*) echo \"other $1\" ;;\n"
    "\tesac\n"
    "\treturn 1\n"
    "}\n"
    "try /var/tmp || try /\n"
    "if (echo x >\"/tmp/$t\") 2>/dev/null; then\n"
    "\techo tmp-ok\n"
    "\trm -f \"/tmp/$t\"\n"
    "fi\n";

void vf_probe_rootfs(struct vf_ctx *c)
{
	static const char tried[] =
	    "with read_only_root, create a file on the root file system (in "
	    "/var/tmp, else /) and in /tmp, which must stay writable";
	_cleanup_free_ char *script =
	    monkey_strdup_printf(rootfs_script, c->token);
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x || !script ||
	    !setup(c, MONKEY_CAP_READ_ONLY_ROOT, tried, "rootfs", script)) {
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->dir = "rootfs";
	x->read_only_root = 1;
	if (!vf_run(c, x, MONKEY_CAP_READ_ONLY_ROOT, tried))
		return;
	/* What a sandbox that shares the host's root wrote is removed; the
	 * name holds this run's random token. */
	static const char *const dirs[] = {"/var/tmp", "", "/tmp"};
	for (size_t i = 0; i < 3; i++) {
		_cleanup_free_ char *p = monkey_strdup_printf(
		    "%s/.monkey-verify-%s", dirs[i], c->token);
		if (p)
			unlink(p);
	}
	char how[200];
	vf_describe(x, how, sizeof(how));
	bool tmp_ok = vf_has_line(x, "tmp-ok");
	if (vf_line(x, "wrote", NULL, NULL))
		vf_report(c, MONKEY_CAP_READ_ONLY_ROOT, VF_BROKEN, tried,
			  "created %s on the root file system",
			  vf_has_line(x, "wrote /var/tmp")
			      ? "a file in /var/tmp"
			      : "a file in /");
	else if (vf_line(x, "rofs", NULL, NULL))
		vf_report(c, MONKEY_CAP_READ_ONLY_ROOT,
			  tmp_ok ? VF_HOLDS : VF_BROKEN, tried,
			  "refused: read-only file system; %s",
			  tmp_ok ? "/tmp stayed writable"
				 : "but /tmp was not writable either");
	else if (x->rc < 0)
		vf_report(c, MONKEY_CAP_READ_ONLY_ROOT, VF_BROKEN, tried, "%s",
			  how);
	else
		vf_report(c, MONKEY_CAP_READ_ONLY_ROOT, VF_UNPROBED, tried,
			  "refused for another reason than a read-only file "
			  "system (%s): run verify as root to probe it",
			  vf_line(x, "denied", NULL, NULL)
			      ? "permission denied"
			      : "no such directory");
}

/* ---- mounts ---- */

static bool host_file_is(const char *path, const char *content)
{
	char buf[128] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 0 && (buf[n] = '\0', strcmp(buf, content) == 0);
}

void vf_probe_mounts(struct vf_ctx *c)
{
	static const char tried[] =
	    "mount a directory read-only and one read-write: read and write "
	    "each";
	_cleanup_free_ char *ro_t =
	    monkey_strdup_printf("/monkey-verify-%s/ro", c->token);
	_cleanup_free_ char *rw_t =
	    monkey_strdup_printf("/monkey-verify-%s/rw", c->token);
	_cleanup_free_ char *ro_new = monkey_strdup_printf("%s/new", c->mnt_ro);
	_cleanup_free_ char *rw_out = monkey_strdup_printf("%s/out", c->mnt_rw);
	_cleanup_free_ char *ro_content =
	    monkey_strdup_printf("monkey-verify-ro-%s", c->token);
	_cleanup_free_ char *rw_content =
	    monkey_strdup_printf("monkey-verify-rw-%s\n", c->token);
	_cleanup_free_ char *script = monkey_strdup_printf(
	    "cat \"$1/data\" 2>/dev/null\n"
	    "if (echo x >\"$1/new\") 2>/dev/null; then echo ro-written; fi\n"
	    "if (echo monkey-verify-rw-%s >\"$2/out\") 2>/dev/null; then\n"
	    "\techo rw-written\n"
	    "fi\n",
	    c->token);
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x || !ro_t || !rw_t || !ro_new || !rw_out || !ro_content ||
	    !rw_content || !script ||
	    !setup(c, MONKEY_CAP_MOUNTS, tried, "mounts", script)) {
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->argv[2] = ro_t;
	x->argv[3] = rw_t;
	x->dir = "mounts";
	x->mounts[0] = (struct monkey_mount){c->mnt_ro, ro_t, 1};
	x->mounts[1] = (struct monkey_mount){c->mnt_rw, rw_t, 0};
	x->n_mounts = 2;
	if (!vf_run(c, x, MONKEY_CAP_MOUNTS, tried))
		return;
	bool seen = strstr(x->out, ro_content) != NULL;
	bool ro_written = access(ro_new, F_OK) == 0;
	bool rw_ok = host_file_is(rw_out, rw_content);
	char how[200];
	vf_describe(x, how, sizeof(how));
	if (x->rc < 0)
		vf_report(c, MONKEY_CAP_MOUNTS, VF_BROKEN, tried, "%s", how);
	else if (seen && !ro_written && rw_ok)
		vf_report(c, MONKEY_CAP_MOUNTS, VF_HOLDS, tried,
			  "the read-only mount's file was read and not "
			  "written; the read-write mount was written");
	else
		vf_report(c, MONKEY_CAP_MOUNTS, VF_BROKEN, tried,
			  "the read-only mount's file was %s%s; the read-write "
			  "mount was %s",
			  seen ? "read" : "not visible",
			  ro_written ? " and WRITTEN through it" : "",
			  rw_ok ? "written" : "not written");
}

/* ---- user ---- */

static const char user_script[] =
    "if [ -r /proc/self/status ]; then\n"
    "\twhile read -r k a b rest; do\n"
    "\t\tcase \"$k\" in Uid: | Gid:) echo \"$k $a $b\" ;; esac\n"
    "\tdone </proc/self/status\n"
    "else\n"
    "\techo \"Uid: $(id -u) $(id -u)\"\n"
    "\techo \"Gid: $(id -g) $(id -g)\"\n"
    "fi\n";

void vf_probe_user(struct vf_ctx *c)
{
	/* Nobody, or its neighbour when that is who runs monkey. */
	long want = getuid() == 65534 ? 65533 : 65534;
	char user[32], tried[96];
	snprintf(user, sizeof(user), "%ld:%ld", want, want);
	snprintf(tried, sizeof(tried), "run as user %s, read its ids", user);
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x || !setup(c, MONKEY_CAP_USER, tried, "user", user_script)) {
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->dir = "user";
	x->user = user;
	if (!vf_run(c, x, MONKEY_CAP_USER, tried))
		return;
	long ru = -1, eu = -1, rg = -1, eg = -1;
	char how[200];
	vf_describe(x, how, sizeof(how));
	bool got = vf_line(x, "Uid:", &ru, &eu) && vf_line(x, "Gid:", &rg, &eg);
	if (x->rc < 0 || !got)
		vf_report(c, MONKEY_CAP_USER, VF_BROKEN, tried,
			  "no ids were reported: %s", how);
	else
		vf_report(c, MONKEY_CAP_USER,
			  ru == want && eu == want && rg == want && eg == want
			      ? VF_HOLDS
			      : VF_BROKEN,
			  tried,
			  "it ran as uid %ld (effective %ld), gid %ld "
			  "(effective %ld)",
			  ru, eu, rg, eg);
}

/* ---- clean environment ---- */

void vf_probe_env(struct vf_ctx *c)
{
	static const char tried[] =
	    "look for MONKEY_VERIFY_SECRET (set in monkey's environment, not "
	    "in envp) in the command's environment and every readable "
	    "/proc/*/environ";
	_cleanup_free_ char *script = monkey_strdup_printf(
	    "if ! command -v grep >/dev/null 2>&1; then echo notool; exit 0; "
	    "fi\n"
	    "if env | grep -q -F %s; then echo env-leak; fi\n"
	    "grep -l -F %s /proc/[0-9]*/environ 2>/dev/null |\n"
	    "\twhile read -r f; do echo \"proc-leak $f\"; done\n"
	    "if env | grep -q -F %s; then echo mark-ok; fi\n",
	    c->secret, c->secret, c->envp_mark);
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x || !script ||
	    !setup(c, MONKEY_CAP_CLEAN_ENV, tried, "env", script)) {
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->dir = "env";
	if (!vf_run(c, x, MONKEY_CAP_CLEAN_ENV, tried))
		return;
	char how[200], where[200] = "";
	vf_describe(x, how, sizeof(how));
	const char *p = strstr(x->out, "proc-leak ");
	if (p) {
		const char *nl = strchr(p, '\n');
		vf_escape(p + 10, nl ? (size_t)(nl - p) - 10 : strlen(p + 10),
			  where, sizeof(where));
	}
	if (x->rc < 0)
		vf_report(c, MONKEY_CAP_CLEAN_ENV, VF_BROKEN, tried, "%s", how);
	else if (vf_has_line(x, "notool"))
		vf_report(c, MONKEY_CAP_CLEAN_ENV, VF_UNPROBED, tried,
			  "grep is not available inside");
	else if (vf_has_line(x, "env-leak") || p)
		vf_report(
		    c, MONKEY_CAP_CLEAN_ENV, VF_BROKEN, tried,
		    "the secret reached %s%s",
		    vf_has_line(x, "env-leak") ? "the command's environment"
					       : where,
		    vf_has_line(x, "env-leak") && p ? " (and /proc)" : "");
	else
		vf_report(c, MONKEY_CAP_CLEAN_ENV, VF_HOLDS, tried,
			  "absent everywhere%s",
			  vf_has_line(x, "mark-ok")
			      ? "; the variable given in envp arrived"
			      : "; the variable given in envp did not arrive "
				"either");
}

/* ---- egress proxy ---- */

#define PROXY_ALLOWED "allowed.verify.test"
#define PROXY_DENIED "refused.verify.test"

/* $1 monkey-probe or "-", $2 the forwarder's port, $3 the upstream's port
 * (both names are pinned to 127.0.0.1, where monkey listens), $4 $5 this
 * host's listener, to be reached directly. */
static const char proxy_script[] =
    "for h in " PROXY_ALLOWED " " PROXY_DENIED "; do\n"
    "\tif [ \"$1\" != - ]; then\n"
    "\t\t\"$1\" tunnel \"$2\" \"$h\" \"$3\"\n"
    "\telif command -v nc >/dev/null 2>&1; then\n"
    "\t\tprintf 'CONNECT %s:%s HTTP/1.1\\r\\nHost: %s:%s\\r\\n\\r\\n' "
    "\"$h\" \"$3\" \"$h\" \"$3\" |\n"
    "\t\t\tnc -w 3 127.0.0.1 \"$2\" 2>/dev/null | head -n 1 |\n"
    "\t\t\ttr -d '\\r' | sed \"s/^/answer $h /\"\n"
    "\telse\n"
    "\t\techo notool\n"
    "\t\texit 0\n"
    "\tfi\n"
    "done\n"
    "if [ \"$1\" != - ]; then\n"
    "\t\"$1\" connect \"$4\" \"$5\"\n"
    "elif echo x | nc -w 2 \"$4\" \"$5\" >/dev/null 2>&1; then\n"
    "\techo \"connected $4\"\n"
    "else\n"
    "\techo \"connect-failed $4\"\n"
    "fi\n";

/* The answer line the script printed for host ("" when none). */
static const char *proxy_answer(const struct vf_exec *x, const char *host,
				char *buf, size_t len)
{
	char key[64];
	snprintf(key, sizeof(key), "answer %s ", host);
	const char *p = strstr(x->out, key);
	buf[0] = '\0';
	if (p)
		snprintf(buf, len, "%.*s", (int)strcspn(p + strlen(key), "\n"),
			 p + strlen(key));
	return buf;
}

static void proxy_verdict(struct vf_ctx *c, const char *tried,
			  struct listener *ls, const struct vf_exec *x)
{
	char ok[96], no[96], how[200];
	proxy_answer(x, PROXY_ALLOWED, ok, sizeof(ok));
	proxy_answer(x, PROXY_DENIED, no, sizeof(no));
	int upstream = reached(&ls[0]), direct = reached(&ls[1]);
	vf_describe(x, how, sizeof(how));
	enum vf_outcome o = VF_BROKEN;
	if (x->rc < 0)
		;
	else if (vf_line(x, "notool", NULL, NULL))
		o = VF_UNPROBED;
	else if (direct || vf_line(x, "connected", NULL, NULL))
		snprintf(how, sizeof(how),
			 "a direct connection reached monkey's listener on "
			 "%s port %s",
			 ls[1].addr, ls[1].port);
	else if (upstream > 1 || strstr(no, " 200"))
		snprintf(how, sizeof(how),
			 "%s, not in the allowlist, got "
			 "through ('%s')",
			 PROXY_DENIED, no);
	else if (!strstr(ok, " 200") || upstream != 1)
		snprintf(how, sizeof(how),
			 "the allowed name did not get through ('%s'): the "
			 "proxy is not reachable inside",
			 ok);
	else if (!strstr(no, " 403"))
		snprintf(how, sizeof(how), "%s was not refused ('%s')",
			 PROXY_DENIED, no);
	else {
		o = VF_HOLDS;
		snprintf(how, sizeof(how),
			 "%s got through (%s), %s was refused (%s), the "
			 "direct connection failed",
			 PROXY_ALLOWED, ok, PROXY_DENIED, no);
	}
	vf_report(c, MONKEY_CAP_EGRESS_PROXY, o, tried, "%s",
		  o == VF_UNPROBED
		      ? "neither monkey-probe nor nc is available inside"
		      : how);
}

/* Listeners for the proxy probe: the upstream on 127.0.0.1, and this
 * host's address (or loopback, on a host without one) for the direct
 * attempt. */
static int proxy_listeners(struct listener ls[2])
{
	struct sockaddr_in lo = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_storage ha;
	socklen_t hl = 0;
	int r = listen_on((struct sockaddr *)&lo, sizeof(lo), &ls[0]);
	if (r == 0 && host_address(&ha, &hl))
		r = listen_on((struct sockaddr *)&ha, hl, &ls[1]);
	else if (r == 0)
		r = listen_on((struct sockaddr *)&lo, sizeof(lo), &ls[1]);
	return r;
}

static struct monkey_proxy *proxy_open(struct vf_ctx *c, const char *tried,
				       const struct listener *up)
{
	char allow[96];
	snprintf(allow, sizeof(allow), PROXY_ALLOWED ":%s", up->port);
	const char *const allows[] = {allow};
	const char *const pins[] = {PROXY_ALLOWED ":127.0.0.1",
				    PROXY_DENIED ":127.0.0.1"};
	struct monkey_proxy_options po;
	monkey_proxy_options_init(&po);
	po.allow = allows;
	po.n_allow = 1;
	po.resolve = pins;
	po.n_resolve = 2;
	po.idle_timeout_ms = 5000;
	struct monkey_proxy *p = NULL;
	struct monkey_error e = {0};
	if (monkey_proxy_open(&po, &p, &e) < 0)
		vf_report(c, MONKEY_CAP_EGRESS_PROXY, VF_SETUP, tried,
			  "cannot open the egress proxy: %s", e.message);
	return p;
}

static void proxy_closep(struct monkey_proxy **p) { monkey_proxy_close(*p); }

void vf_probe_egress_proxy(struct vf_ctx *c)
{
	static const char tried[] =
	    "in proxy mode, CONNECT (monkey-probe or nc) through the "
	    "forwarder on 127.0.0.1:3128 "
	    "to an allowed name and to one the allowlist lacks (both pinned "
	    "to a listener monkey opened on 127.0.0.1), then connect "
	    "directly to a listener on this host's address";
	if (!(c->caps & MONKEY_CAP_EGRESS_PROXY)) {
		vf_report(c, MONKEY_CAP_EGRESS_PROXY, VF_UNPROBED, tried,
			  "the backend takes no egress proxy (--allow-domain "
			  "is not enforced there)");
		return;
	}
	const char *where = NULL;
	_cleanup_free_ char *fwd = monkey_proxy_forwarder_find(&where);
	if (!fwd) {
		vf_report(c, MONKEY_CAP_EGRESS_PROXY, VF_SETUP, tried,
			  "no usable monkey-proxy-forward at %s", where);
		return;
	}
	_cleanup_(close_listeners) struct listener ls[2] = {
	    {.fd = -1, .what = "upstream"}, {.fd = -1, .what = "direct"}};
	int r = proxy_listeners(ls);
	if (r < 0) {
		vf_report(c, MONKEY_CAP_EGRESS_PROXY, VF_SETUP, tried,
			  "cannot open a listener: %s", strerror(-r));
		return;
	}
	_cleanup_(proxy_closep) struct monkey_proxy *p =
	    proxy_open(c, tried, ls);
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!p || !x ||
	    !setup(c, MONKEY_CAP_EGRESS_PROXY, tried, "proxy", proxy_script))
		return;
	const char *argv[] = {
	    "sh",      "p.sh",	   c->helper ? c->helper : "-",
	    "3128",    ls[0].port, ls[1].addr,
	    ls[1].port};
	memcpy(x->argv, argv, sizeof(argv));
	x->dir = "proxy";
	x->with_helper = true;
	x->proxy_dir = monkey_proxy_dir(p);
	x->proxy_forwarder = fwd;
	x->proxy_port = 3128;
	if (vf_run(c, x, MONKEY_CAP_EGRESS_PROXY, tried))
		proxy_verdict(c, tried, ls, x);
}
