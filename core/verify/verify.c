/* "monkey sandbox verify": loads one backend, prepares what the probes
 * attack (a workspace, a file planted outside it, mount sources, a secret
 * in monkey's environment, a decoy host process, the probe helper), runs
 * the probes and turns what they found into one verdict per capability. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <monkey/sandbox.h>
#include <monkey/verify.h>

#include "error_wrap.h"
#include "loader.h"
#include "verify_int.h"

#define SECRET_VAR "MONKEY_VERIFY_SECRET"
#define DEFAULT_JOBS 4

MONKEY_EXPORT void monkey_verify_options_init(struct monkey_verify_options *o)
{
	memset(o, 0, sizeof(*o));
}

MONKEY_EXPORT const char *monkey_verdict_name(int verdict)
{
	switch (verdict) {
	case MONKEY_VERDICT_VERIFIED:
		return "verified";
	case MONKEY_VERDICT_FAILED:
		return "FAILED";
	case MONKEY_VERDICT_HOLDS:
		return "not claimed, holds";
	case MONKEY_VERDICT_NOT_HOLDS:
		return "not claimed, does not hold";
	case MONKEY_VERDICT_NOT_PROBED:
		return "not probed";
	case MONKEY_VERDICT_SETUP_FAILED:
		return "probe setup failed";
	}
	return "unknown";
}

MONKEY_EXPORT void monkey_verify_report_free(struct monkey_verify_report *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->path);
	free(r->items);
	free(r);
}

static int random_hex(char *buf, size_t len)
{
	unsigned char raw[VF_TOKEN_LEN / 2];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -errno;
	for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* ---- files ---- */

static int make_dir(char **out, const char *parent, const char *name,
		    mode_t mode)
{
	*out = monkey_strdup_printf("%s/%s", parent, name);
	if (!*out)
		return -ENOMEM;
	if (mkdir(*out, mode) < 0 || chmod(*out, mode) < 0)
		return -errno;
	return 0;
}

static int write_host_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t len = strlen(data);
	int r = write(fd, data, len) == (ssize_t)len ? 0 : -EIO;
	close(fd);
	return r;
}

/* root/ws is the workspace; root/outside/planted-TOKEN is what the
 * file-system probe tries to read; root/mnt-ro and root/mnt-rw are
 * mounted by the mounts probe.  Readable by everyone, so that a sandbox
 * user that differs from ours does not hide a leak. */
static int make_files(struct vf_ctx *c, struct monkey_error *err)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *tmpl = monkey_strdup_printf(
	    "%s/monkey-verify.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!tmpl || !mkdtemp(tmpl))
		return monkey_set_error(err, tmpl ? -errno : -ENOMEM,
					"cannot create a directory for the "
					"probes under %s: %s",
					tmp && *tmp ? tmp : "/tmp",
					strerror(errno));
	c->root = steal_pointer(&tmpl);
	chmod(c->root, 0755);
	int r = make_dir(&c->ws, c->root, "ws", 0755);
	if (r == 0)
		r = make_dir(&c->outside, c->root, "outside", 0755);
	if (r == 0)
		r = make_dir(&c->mnt_ro, c->root, "mnt-ro", 0755);
	if (r == 0)
		r = make_dir(&c->mnt_rw, c->root, "mnt-rw", 0777);
	_cleanup_free_ char *content =
	    monkey_strdup_printf("monkey-verify-planted-%s\n", c->token);
	_cleanup_free_ char *ro_data =
	    monkey_strdup_printf("%s/data", c->mnt_ro ? c->mnt_ro : "");
	_cleanup_free_ char *ro_content =
	    monkey_strdup_printf("monkey-verify-ro-%s\n", c->token);
	if (r == 0 && !(c->planted = monkey_strdup_printf(
			    "%s/planted-%s", c->outside, c->token)))
		r = -ENOMEM;
	if (r == 0 && (!content || !ro_data || !ro_content))
		r = -ENOMEM;
	if (r == 0)
		r = write_host_file(c->planted, content);
	if (r == 0)
		r = write_host_file(ro_data, ro_content);
	if (r < 0)
		return monkey_set_error(err, r,
					"cannot prepare the probes' files in "
					"%s: %s",
					c->root, strerror(-r));
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* ---- the environment ---- */

/* The command's whole environment, as a host would build it; the mark
 * must arrive, the secret (in monkey's environment only) must not. */
static int make_env(struct vf_ctx *c)
{
	c->env_store[0] = strdup("PATH=/usr/local/sbin:/usr/local/bin:"
				 "/usr/sbin:/usr/bin:/sbin:/bin");
	c->env_store[1] = strdup("HOME=/tmp");
	c->env_store[2] = strdup("LANG=C");
	c->env_store[3] =
	    monkey_strdup_printf("MONKEY_VERIFY_ENVP=%s", c->envp_mark);
	for (size_t i = 0; i < 4; i++) {
		if (!c->env_store[i])
			return -ENOMEM;
		c->envp[i] = c->env_store[i];
	}
	c->user_envp[0] = c->env_store[3];
	return setenv(SECRET_VAR, c->secret, 1) < 0 ? -errno : 0;
}

/* The decoy: /bin/sh waiting on a pipe, its environment holding
 * host_secret from the start (setenv would not show in
 * /proc/PID/environ).  It ends when the pipe closes, with monkey. */
static void start_decoy(struct vf_ctx *c)
{
	int p[2];
	c->decoy = -1;
	c->decoy_fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	_cleanup_free_ char *var = monkey_strdup_printf(
	    "MONKEY_VERIFY_HOST_SECRET=%s", c->host_secret);
	char *const argv[] = {"monkey-verify-decoy", "-c", "read x", NULL};
	char *const envp[] = {var, "PATH=/usr/bin:/bin", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	pid_t pid;
	if (var && posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, envp) == 0) {
		c->decoy = pid;
		c->decoy_fd = p[1];
	} else {
		close(p[1]);
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
}

static void stop_decoy(struct vf_ctx *c)
{
	if (c->decoy_fd >= 0)
		close(c->decoy_fd);
	if (c->decoy > 0) {
		kill(c->decoy, SIGKILL);
		while (waitpid(c->decoy, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

/* ---- the helper ---- */

/* An absolute, regular, executable, non-empty file only its owner may
 * write (it runs inside sandboxes; an empty one is a build without a
 * static C library).  Returns the resolved path or NULL. */
static char *usable_helper(const char *path)
{
	char *real = realpath(path, NULL);
	struct stat st;
	if (!real || stat(real, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size == 0 || !(st.st_mode & S_IXUSR) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		free(real);
		return NULL;
	}
	return real;
}

static char *find_helper_file(const struct monkey_verify_options *o,
			      const char **tried)
{
	const char *env = secure_getenv("MONKEY_PROBE_HELPER");
	*tried = o->helper ? o->helper : env && *env ? env : NULL;
	if (*tried)
		return usable_helper(*tried);
	/* In a build tree libmonkey is .libs/libmonkey.so.N and the helper
	 * core/verify/monkey-probe. */
	Dl_info info;
	if (dladdr((void *)monkey_sandbox_verify, &info) && info.dli_fname) {
		_cleanup_free_ char *dir = strdup(info.dli_fname);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		if (slash) {
			*slash = '\0';
			_cleanup_free_ char *cand = monkey_strdup_printf(
			    "%s/../core/verify/monkey-probe", dir);
			char *p = cand ? usable_helper(cand) : NULL;
			if (p)
				return p;
		}
	}
	*tried = MONKEY_PROBE_PATH;
	return usable_helper(MONKEY_PROBE_PATH);
}

static bool helper_runs(struct vf_ctx *c, const char *argv0, bool mounted,
			char *why, size_t len)
{
	struct vf_exec *x = calloc(1, sizeof(*x));
	if (!x)
		return false;
	c->helper_mounted = mounted;
	x->argv[0] = argv0;
	x->argv[1] = "version";
	x->with_helper = true;
	x->timeout_ms = 10000;
	bool ok = vf_exec(c, x) == 0 && x->rc == 0 &&
		  vf_has_line(x, VF_HELPER_VERSION);
	if (!ok)
		vf_describe(x, why, len);
	free(x);
	c->helper_mounted = false;
	return ok;
}

static void find_helper(struct vf_ctx *c)
{
	const char *tried = NULL;
	c->helper_host = find_helper_file(c->opts, &tried);
	if (!c->helper_host) {
		snprintf(c->helper_note, sizeof(c->helper_note),
			 "no usable monkey-probe at %s (an executable, "
			 "non-empty file only its owner may write; set "
			 "MONKEY_PROBE_HELPER or reinstall monkey)",
			 tried);
		return;
	}
	char why_mount[160] = "mounts are not claimed", why_host[160] = "";
	if ((c->caps & MONKEY_CAP_MOUNTS) &&
	    helper_runs(c, VF_HELPER_TARGET, true, why_mount,
			sizeof(why_mount))) {
		c->helper = VF_HELPER_TARGET;
		c->helper_mounted = true;
		snprintf(c->helper_note, sizeof(c->helper_note),
			 "%s, bind-mounted read-only at %s", c->helper_host,
			 VF_HELPER_TARGET);
		return;
	}
	if (helper_runs(c, c->helper_host, false, why_host, sizeof(why_host))) {
		c->helper = c->helper_host;
		snprintf(c->helper_note, sizeof(c->helper_note),
			 "%s, run at its host path (the sandbox shares the "
			 "host's files)",
			 c->helper_host);
		return;
	}
	snprintf(c->helper_note, sizeof(c->helper_note),
		 "%s cannot run inside (mounted at %s: %s; at its host path: "
		 "%s)",
		 c->helper_host, VF_HELPER_TARGET, why_mount, why_host);
}

/* ---- the backend ---- */

/* Open the backend under test (monkey_backend_open), without a pool:
 * every probe's settings differ, and a pool only saves start time.  Its
 * log goes nowhere. */
static int open_backend(struct vf_ctx *c, struct monkey_error *err)
{
	struct monkey_strv dirs = {0};
	int r = monkey_backend_search_path(c->opts->backend_dir, &dirs, err);
	if (r < 0) {
		monkey_strv_free(&dirs);
		return r;
	}
	_cleanup_json_ struct json_object *cfg = json_object_new_object();
	if (c->opts->image)
		json_object_object_add(cfg, "image",
				       json_object_new_string(c->opts->image));
	json_object_object_add(cfg, "pool", json_object_new_int(0));
	json_object_object_add(cfg, "workspace", json_object_new_string(c->ws));
	struct monkey_backend_open_opts o = {
	    .dirs = &dirs,
	    .config_json =
		json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN),
	};
	r = monkey_backend_open(c->name, &o, &c->bi, err);
	monkey_strv_free(&dirs);
	if (r < 0 && c->bi && !c->bi->silent)
		monkey_error_wrap(err, r,
				  c->bi->stage == MONKEY_BACKEND_LOADED
				      ? "backend '%s' failed to initialise"
				      : "backend '%s' is not available, "
					"nothing to verify",
				  c->name);
	if (r < 0)
		return r;
	c->desc = &c->bi->lb->desc;
	c->state = c->bi->state;
	c->caps = c->desc->capabilities;
	return 0;
}

/* Every probe runs sh; without it there is nothing to verify. */
static int check_sh(struct vf_ctx *c, struct monkey_error *err)
{
	static const char script[] = "echo out\necho err >&2\nexit 3\n";
	int r = vf_write_file(c, "p-basic.sh", script, strlen(script), 0644);
	if (r < 0)
		return monkey_set_error(err, r,
					"cannot write %s/p-basic.sh: %s", c->ws,
					strerror(-r));
	struct vf_exec *x = calloc(1, sizeof(*x));
	if (!x)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	x->argv[0] = "sh";
	x->argv[1] = "p-basic.sh";
	r = vf_exec(c, x);
	if (r < 0) {
		r = monkey_set_error(err, r, "cannot run the first probe: %s",
				     strerror(-r));
	} else if (x->rc < 0) {
		char how[400];
		vf_describe(x, how, sizeof(how));
		r = monkey_set_error(
		    err, -ENOEXEC,
		    "cannot verify backend '%s': it did not "
		    "run 'sh p-basic.sh' in the workspace: %s; "
		    "every probe needs a POSIX sh in the "
		    "sandbox",
		    c->name, how);
	}
	free(x);
	return r;
}

/* ---- probes ---- */

struct vf_sched {
	struct vf_ctx *c;
	pthread_mutex_t lock;
	size_t next;
};

/* Longest first, so that the workers finish together.  The CPU share is
 * measured alone: other probes would take CPU from it. */
static void (*const parallel_probes[])(struct vf_ctx *) = {
    vf_probe_kill_tree,	 vf_probe_exit_status, vf_probe_timeout,
    vf_probe_cancel,	 vf_probe_cpu_time,    vf_probe_stdin,
    vf_probe_memory,	 vf_probe_pids,	       vf_probe_network,
    vf_probe_fs,	 vf_probe_rootfs,      vf_probe_mounts,
    vf_probe_user,	 vf_probe_env,	       vf_probe_file_size,
    vf_probe_open_files, vf_probe_unprobeable, vf_probe_egress_proxy,
    vf_probe_session,
};
#define N_PARALLEL (sizeof(parallel_probes) / sizeof(parallel_probes[0]))

static void *worker_main(void *arg)
{
	struct vf_sched *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		size_t i = s->next++;
		pthread_mutex_unlock(&s->lock);
		if (i >= N_PARALLEL)
			return NULL;
		parallel_probes[i](s->c);
	}
}

static void run_probes(struct vf_ctx *c)
{
	struct vf_sched s = {.c = c, .next = 0};
	pthread_mutex_init(&s.lock, NULL);
	int jobs = c->opts->jobs > 0 ? c->opts->jobs : DEFAULT_JOBS;
	pthread_t tids[16];
	int started = 0;
	for (int i = 0; i < jobs && i < 16; i++)
		if (pthread_create(&tids[started], NULL, worker_main, &s) == 0)
			started++;
	if (!started)
		worker_main(&s);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&s.lock);
	vf_probe_cpu(c);
}

static int make_items(struct vf_ctx *c)
{
	/* One per capability bit there can be, and exit-status. */
	c->items = calloc(33, sizeof(*c->items));
	if (!c->items)
		return -ENOMEM;
	for (uint32_t bit = 1; bit; bit <<= 1) {
		const char *n = monkey_capability_name(bit);
		if (!n)
			continue;
		struct monkey_verify_item *it = &c->items[c->n_items++];
		it->name = n;
		it->capability = bit;
		it->claimed = (c->caps & bit) != 0;
		it->verdict = MONKEY_VERDICT_NOT_PROBED;
		snprintf(it->happened, sizeof(it->happened),
			 "no probe ran (an earlier failure)");
	}
	struct monkey_verify_item *it = &c->items[c->n_items++];
	it->name = "exit-status";
	it->claimed = true;
	it->verdict = MONKEY_VERDICT_NOT_PROBED;
	return 0;
}

static int fill_report(struct vf_ctx *c, struct monkey_verify_report **out)
{
	struct monkey_verify_report *r = calloc(1, sizeof(*r));
	if (!r || !(r->name = strdup(c->name)) ||
	    !(r->path = strdup(c->bi->lb->path))) {
		monkey_verify_report_free(r);
		return -ENOMEM;
	}
	r->abi_major = c->desc->abi_major;
	r->abi_minor = c->desc->abi_minor;
	r->capabilities = c->caps;
	snprintf(r->helper, sizeof(r->helper), "%s", c->helper_note);
	r->items = steal_pointer(&c->items);
	r->n_items = c->n_items;
	for (size_t i = 0; i < r->n_items; i++) {
		int v = r->items[i].verdict;
		r->n_verified += v == MONKEY_VERDICT_VERIFIED;
		r->n_failed += v == MONKEY_VERDICT_FAILED;
		r->n_not_probed +=
		    r->items[i].claimed && (v == MONKEY_VERDICT_NOT_PROBED ||
					    v == MONKEY_VERDICT_SETUP_FAILED);
	}
	*out = r;
	return 0;
}

static int prepare(struct vf_ctx *c, struct monkey_error *err)
{
	if (random_hex(c->token, sizeof(c->token)) < 0 ||
	    random_hex(c->secret, sizeof(c->secret)) < 0 ||
	    random_hex(c->host_secret, sizeof(c->host_secret)) < 0 ||
	    random_hex(c->envp_mark, sizeof(c->envp_mark)) < 0)
		return monkey_set_error(
		    err, -EIO, "cannot read random bytes: %s", strerror(errno));
	int r = make_files(c, err);
	if (r < 0)
		return r;
	if ((r = make_env(c)) < 0)
		return monkey_set_error(
		    err, r, "cannot prepare the environment: %s", strerror(-r));
	start_decoy(c);
	return 0;
}

static void cleanup(struct vf_ctx *c)
{
	stop_decoy(c);
	unsetenv(SECRET_VAR);
	if (c->root)
		nftw(c->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(c->root);
	free(c->ws);
	free(c->outside);
	free(c->planted);
	free(c->mnt_ro);
	free(c->mnt_rw);
	free(c->helper_host);
	free(c->items);
	for (size_t i = 0; i < 5; i++)
		free(c->env_store[i]);
	pthread_mutex_destroy(&c->lock);
}

MONKEY_EXPORT int monkey_sandbox_verify(
    const char *name, const struct monkey_verify_options *opts,
    struct monkey_verify_report **out, struct monkey_error *err)
{
	struct monkey_verify_options defaults;
	if (!opts) {
		monkey_verify_options_init(&defaults);
		opts = &defaults;
	}
	int r = monkey_backend_check_name(name, err);
	if (r < 0)
		return r;
	int64_t start = monkey_now_ms();
	struct vf_ctx c = {
	    .opts = opts, .name = name, .decoy = -1, .decoy_fd = -1};
	pthread_mutex_init(&c.lock, NULL);
	r = prepare(&c, err);
	if (r == 0)
		r = open_backend(&c, err);
	if (r == 0 && (r = make_items(&c)) < 0)
		monkey_set_error(err, r, "out of memory");
	if (r == 0)
		r = check_sh(&c, err);
	if (r == 0) {
		find_helper(&c);
		run_probes(&c);
	}
	if (r == 0 && fill_report(&c, out) < 0)
		r = monkey_set_error(err, -ENOMEM, "out of memory");
	monkey_backend_close(c.bi);
	/* The backend's fini counts too (a container engine's removals). */
	if (r == 0)
		(*out)->duration_ms = monkey_now_ms() - start;
	cleanup(&c);
	return r;
}
