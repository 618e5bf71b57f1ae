/* Running one probe command through the backend under test: the request
 * (the verifier's own environment, workspace and limits, straight through
 * the backend ABI), output capture and comparison, cancel marks and a
 * watchdog for backends that enforce no timeout; and the small parsers
 * and reporters the probes share. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "verify_int.h"

void vf_sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The exec's cancel pipe and the watchdog that writes to it. */
struct vf_watch {
	struct vf_exec *x;
	int cancel[2]; /* the backend polls [0]; [1] cancels */
	int done[2];   /* [1] closed when exec returned */
	int64_t start;
	pthread_mutex_t lock;
};

/* Write the cancel byte once; returns nothing, records when. */
static void fire(struct vf_watch *w)
{
	pthread_mutex_lock(&w->lock);
	if (w->x->cancelled_at < 0) {
		w->x->cancelled_at = monkey_now_ms() - w->start;
		ssize_t n = write(w->cancel[1], "x", 1);
		(void)n;
	}
	pthread_mutex_unlock(&w->lock);
}

static void *watchdog_main(void *arg)
{
	struct vf_watch *w = arg;
	struct vf_exec *x = w->x;
	int64_t hard = x->timeout_ms + x->grace_ms + VF_WATCHDOG_MS;
	int64_t soft = x->cancel_after_ms > 0 ? x->cancel_after_ms : hard;
	for (;;) {
		int64_t now = monkey_now_ms() - w->start;
		int64_t next = soft < hard ? soft : hard;
		struct pollfd p = {w->done[0], POLLIN, 0};
		int r = poll(&p, 1, (int)(next > now ? next - now : 0));
		if (r > 0)
			return NULL; /* exec returned */
		if (r < 0 && errno == EINTR)
			continue;
		now = monkey_now_ms() - w->start;
		if (now >= hard) {
			/* Nothing else can stop a backend that keeps a
			 * command past its own timeout; say so. */
			x->watchdog_fired = true;
			fire(w);
			hard = INT64_MAX / 2;
		}
		if (now >= soft) {
			fire(w);
			soft = INT64_MAX / 2;
		}
	}
}

static int sink(void *ctx, int stream, const void *data, size_t len)
{
	struct vf_watch *w = ctx;
	struct vf_exec *x = w->x;
	if (stream == MONKEY_STREAM_STDERR) {
		size_t room = VF_ERR_MAX - x->err_len;
		size_t n = len < room ? len : room;
		memcpy(x->errout + x->err_len, data, n);
		x->err_len += n;
		x->errout[x->err_len] = '\0';
		return 0;
	}
	if (x->expect && x->mismatch_at == UINT64_MAX) {
		const unsigned char *d = data;
		for (size_t i = 0; i < len; i++) {
			uint64_t at = x->out_total + i;
			if (at >= x->expect_len || d[i] != x->expect[at]) {
				x->mismatch_at = at;
				break;
			}
		}
	}
	size_t room = VF_OUT_MAX - x->out_len;
	size_t n = len < room ? len : room;
	memcpy(x->out + x->out_len, data, n);
	x->out_len += n;
	x->out[x->out_len] = '\0';
	x->out_total += len;
	if (x->cancel_on && strstr(x->out, x->cancel_on))
		fire(w);
	return 0;
}

static void build_request(struct vf_ctx *c, struct vf_exec *x,
			  const char *workdir, struct monkey_mount *mounts,
			  struct monkey_exec_request *req)
{
	size_t n = 0;
	for (size_t i = 0; i < x->n_mounts; i++)
		mounts[n++] = x->mounts[i];
	if (x->with_helper && c->helper_mounted)
		mounts[n++] =
		    (struct monkey_mount){c->helper_host, VF_HELPER_TARGET, 1};
	*req = (struct monkey_exec_request){
	    .struct_size = sizeof(*req),
	    .argv = x->argv,
	    .envp = c->envp,
	    .user_envp = c->user_envp,
	    .workspace = c->ws,
	    .workdir = workdir,
	    .timeout_ms = x->timeout_ms,
	    .kill_grace_ms = x->grace_ms,
	    .memory_bytes = x->memory_bytes,
	    .cpus = x->cpus,
	    .pids = x->pids,
	    .cpu_time_s = x->cpu_time_s,
	    .file_size_bytes = x->file_size_bytes,
	    .open_files = x->open_files,
	    .network = 0,
	    .read_only_root = x->read_only_root,
	    .mounts = n ? mounts : NULL,
	    .n_mounts = n,
	    .image = c->opts->image,
	    .user = x->user,
	    .stdin_data = x->stdin_data,
	    .stdin_len = x->stdin_len,
	    .has_stdin = x->has_stdin,
	    .proxy_dir = x->proxy_dir,
	    .proxy_forwarder = x->proxy_forwarder,
	    .proxy_port = x->proxy_port,
	};
}

int vf_exec(struct vf_ctx *c, struct vf_exec *x)
{
	if (!x->timeout_ms)
		x->timeout_ms = VF_TIMEOUT_MS;
	if (!x->grace_ms)
		x->grace_ms = VF_GRACE_MS;
	x->cancelled_at = -1;
	x->mismatch_at = UINT64_MAX;
	_cleanup_free_ char *workdir =
	    x->dir ? monkey_strdup_printf("%s/%s", c->ws, x->dir)
		   : strdup(c->ws);
	if (!workdir)
		return -ENOMEM;
	struct vf_watch w = {.x = x, .cancel = {-1, -1}, .done = {-1, -1}};
	if (pipe2(w.cancel, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(w.done, O_CLOEXEC) < 0) {
		int e = -errno;
		close(w.cancel[0]);
		close(w.cancel[1]);
		return e;
	}
	pthread_mutex_init(&w.lock, NULL);
	struct monkey_mount mounts[4];
	struct monkey_exec_request req;
	build_request(c, x, workdir, mounts, &req);
	req.output = sink;
	req.output_ctx = &w;
	req.cancel_fd = w.cancel[0];
	x->res = (struct monkey_exec_result){
	    .struct_size = sizeof(x->res),
	    .exit_code = -1,
	    .oom_killed = MONKEY_UNKNOWN,
	};
	w.start = monkey_now_ms();
	pthread_t tid;
	bool watching = pthread_create(&tid, NULL, watchdog_main, &w) == 0;
	x->rc = c->desc->exec(c->state, &req, &x->res, &x->err);
	x->ms = monkey_now_ms() - w.start;
	close(w.done[1]);
	if (watching)
		pthread_join(tid, NULL);
	close(w.done[0]);
	close(w.cancel[0]);
	close(w.cancel[1]);
	pthread_mutex_destroy(&w.lock);
	return 0;
}

bool vf_run(struct vf_ctx *c, struct vf_exec *x, uint32_t cap,
	    const char *tried)
{
	int r = vf_exec(c, x);
	if (r < 0)
		vf_report(c, cap, VF_SETUP, tried,
			  "the verifier could not run its command: %s",
			  strerror(-r));
	return r == 0;
}

char *vf_probe_dir(struct vf_ctx *c, const char *dir)
{
	char *p = monkey_strdup_printf("%s/%s", c->ws, dir);
	if (p && mkdir(p, 0755) < 0 && errno != EEXIST) {
		free(p);
		return NULL;
	}
	/* Whatever user the sandbox runs the command as may write here. */
	if (p)
		chmod(p, 0777);
	return p;
}

int vf_write_file(struct vf_ctx *c, const char *rel, const char *data,
		  size_t len, int mode)
{
	_cleanup_free_ char *p = monkey_strdup_printf("%s/%s", c->ws, rel);
	if (!p)
		return -ENOMEM;
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, data, len);
	int e = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	/* The umask must not make a script unreadable to another user. */
	if (e == 0 && chmod(p, (mode_t)mode) < 0)
		e = -errno;
	return e;
}

void vf_report(struct vf_ctx *c, uint32_t cap, enum vf_outcome o,
	       const char *tried, const char *fmt, ...)
{
	struct monkey_verify_item *it = NULL;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_items; i++)
		if (c->items[i].capability == cap)
			it = &c->items[i];
	if (it) {
		bool claimed = it->claimed;
		it->verdict = o == VF_HOLDS ? claimed ? MONKEY_VERDICT_VERIFIED
						      : MONKEY_VERDICT_HOLDS
			      : o == VF_BROKEN ? claimed
						     ? MONKEY_VERDICT_FAILED
						     : MONKEY_VERDICT_NOT_HOLDS
			      : o == VF_SETUP  ? MONKEY_VERDICT_SETUP_FAILED
					       : MONKEY_VERDICT_NOT_PROBED;
		snprintf(it->tried, sizeof(it->tried), "%s", tried);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(it->happened, sizeof(it->happened), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&c->lock);
}

void vf_no_helper(struct vf_ctx *c, uint32_t cap, const char *tried)
{
	vf_report(c, cap, VF_UNPROBED, tried,
		  "needs the monkey-probe helper, which this sandbox cannot "
		  "run: %s",
		  c->helper_note);
}

bool vf_line(const struct vf_exec *x, const char *word, long *a, long *b)
{
	size_t wl = strlen(word);
	bool found = false;
	for (const char *p = x->out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len >= wl && !strncmp(p, word, wl) &&
		    (len == wl || p[wl] == ' ')) {
			long va = -1, vb = -1;
			char line[128];
			snprintf(line, sizeof(line), "%.*s", (int)len, p);
			sscanf(line + wl, "%ld %ld", &va, &vb);
			if (a)
				*a = va;
			if (b)
				*b = vb;
			found = true;
		}
		p += len + (nl ? 1 : 0);
	}
	return found;
}

bool vf_has_line(const struct vf_exec *x, const char *line)
{
	size_t ll = strlen(line);
	for (const char *p = x->out; (p = strstr(p, line)); p++)
		if ((p == x->out || p[-1] == '\n') &&
		    (p[ll] == '\n' || p[ll] == '\0'))
			return true;
	return false;
}

void vf_escape(const char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < len && in[i] && o + 5 < outlen; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch >= 0x20 && ch < 0x7f)
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x",
					      ch);
	}
	if (outlen)
		out[o < outlen ? o : outlen - 1] = '\0';
}

void vf_describe(const struct vf_exec *x, char *buf, size_t len)
{
	if (x->rc < 0) {
		char msg[200];
		vf_escape(x->err.message, strlen(x->err.message), msg,
			  sizeof(msg));
		snprintf(buf, len, "exec failed (%s)",
			 msg[0] ? msg : strerror(-x->rc));
	} else if (x->res.timed_out) {
		snprintf(buf, len, "timed out after %lld ms", (long long)x->ms);
	} else if (x->res.cancelled) {
		snprintf(buf, len, "cancelled");
	} else if (x->res.signal > 0) {
		snprintf(buf, len, "killed by signal %d (%s)", x->res.signal,
			 strsignal(x->res.signal));
	} else {
		snprintf(buf, len, "exit %d", x->res.exit_code);
	}
}
