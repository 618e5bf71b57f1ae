/* Probes of how a command runs and ends: stdin byte for byte, timeout,
 * cancel, kill-tree (leftovers that ignore SIGTERM, setsid, double-fork),
 * and the exit-status mapping "monkey exec" reports through the executor. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <monkey/exec.h>
#include <monkey/session.h>

#include "verify_int.h"

static struct vf_exec *new_exec(void)
{
	return calloc(1, sizeof(struct vf_exec));
}

static bool write_script(struct vf_ctx *c, const char *dir, const char *name,
			 const char *text, int mode)
{
	_cleanup_free_ char *d = vf_probe_dir(c, dir);
	_cleanup_free_ char *rel = monkey_strdup_printf("%s/%s", dir, name);
	return d && rel && vf_write_file(c, rel, text, strlen(text), mode) == 0;
}

/* ---- stdin ---- */

#define STDIN_LEN (1536 * 1024 + 17)

/* Pseudo-random bytes with a NUL every seventh byte and every byte value
 * present: what a text-only or NUL-terminated path would mangle. */
static unsigned char *stdin_data(const char *token)
{
	unsigned char *d = malloc(STDIN_LEN);
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	for (const char *t = token; *t; t++)
		s = (s ^ (unsigned char)*t) * 0x100000001b3ULL;
	for (size_t i = 0; d && i < STDIN_LEN; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		d[i] = i % 7 == 0 ? 0
		       : i < 256  ? (unsigned char)i
				  : (unsigned char)(s >> 24);
	}
	return d;
}

void vf_probe_stdin(struct vf_ctx *c)
{
	static const char tried[] =
	    "pipe 1.5 MiB of binary data (NUL bytes included) through cat and "
	    "compare byte for byte; run cat without stdin_data";
	_cleanup_free_ unsigned char *data = stdin_data(c->token);
	_cleanup_free_ struct vf_exec *x = new_exec();
	_cleanup_free_ struct vf_exec *y = new_exec();
	if (!data || !x || !y)
		return;
	x->argv[0] = y->argv[0] = "cat";
	x->stdin_data = x->expect = data;
	x->stdin_len = x->expect_len = STDIN_LEN;
	x->has_stdin = true;
	y->timeout_ms = 5000;
	if (!vf_run(c, x, MONKEY_CAP_STDIN, tried) ||
	    !vf_run(c, y, MONKEY_CAP_STDIN, tried))
		return;
	char how[200];
	vf_describe(x, how, sizeof(how));
	if (x->rc < 0 || x->res.exit_code != 0)
		vf_report(c, MONKEY_CAP_STDIN, VF_BROKEN, tried, "cat: %s",
			  how);
	else if (x->mismatch_at != UINT64_MAX &&
		 x->mismatch_at < x->out_total && x->mismatch_at < STDIN_LEN)
		vf_report(c, MONKEY_CAP_STDIN, VF_BROKEN, tried,
			  "%llu of %d bytes came back, the first difference at "
			  "byte %llu",
			  (unsigned long long)x->out_total, STDIN_LEN,
			  (unsigned long long)x->mismatch_at);
	else if (x->out_total != STDIN_LEN)
		vf_report(c, MONKEY_CAP_STDIN, VF_BROKEN, tried,
			  "%llu of %d bytes came back",
			  (unsigned long long)x->out_total, STDIN_LEN);
	else if (y->res.timed_out || y->watchdog_fired || y->out_total)
		vf_report(c, MONKEY_CAP_STDIN, VF_BROKEN, tried,
			  "all bytes came back, but without stdin_data cat "
			  "%s (stdin is not /dev/null)",
			  y->out_total ? "read data" : "waited for input");
	else
		vf_report(c, MONKEY_CAP_STDIN, VF_HOLDS, tried,
			  "all %d bytes came back unchanged; without "
			  "stdin_data cat read end-of-file at once",
			  STDIN_LEN);
}

/* ---- timeout and cancel ---- */

/* Ignores SIGTERM, so that only SIGKILL after the grace time ends it. */
static const char hold_script[] = "trap '' TERM\n"
				  "echo ready\n"
				  "while :; do sleep 1; done\n";

/* What a backend may add on top of the grace time (a container engine's
 * round trips on a busy machine). */
#define STOP_SLACK_MS 5000

void vf_probe_timeout(struct vf_ctx *c)
{
	static const char tried[] =
	    "a SIGTERM-ignoring shell under a 1 s timeout, 0.5 s grace";
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x || !write_script(c, "timeout", "p.sh", hold_script, 0644)) {
		vf_report(c, MONKEY_CAP_TIMEOUT, VF_SETUP, tried,
			  "cannot write the probe's script");
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->dir = "timeout";
	x->timeout_ms = 1000;
	if (!vf_run(c, x, MONKEY_CAP_TIMEOUT, tried))
		return;
	char how[200];
	vf_describe(x, how, sizeof(how));
	const char *kept = strstr(x->out, "ready") ? "its output so far kept"
						   : "its output so far LOST";
	if (x->res.timed_out && x->ms <= 1000 + VF_GRACE_MS + STOP_SLACK_MS)
		vf_report(c, MONKEY_CAP_TIMEOUT, VF_HOLDS, tried,
			  "stopped, exec returned after %lld ms with "
			  "timed_out set, %s",
			  (long long)x->ms, kept);
	else if (x->res.timed_out)
		vf_report(c, MONKEY_CAP_TIMEOUT, VF_BROKEN, tried,
			  "timed_out set, but exec only returned after %lld ms",
			  (long long)x->ms);
	else if (x->watchdog_fired)
		vf_report(c, MONKEY_CAP_TIMEOUT, VF_BROKEN, tried,
			  "not stopped by the timeout: the verifier cancelled "
			  "it after %lld ms (%s)",
			  (long long)x->ms, how);
	else
		vf_report(c, MONKEY_CAP_TIMEOUT, VF_BROKEN, tried,
			  "exec returned after %lld ms without timed_out set: "
			  "%s",
			  (long long)x->ms, how);
}

void vf_probe_cancel(struct vf_ctx *c)
{
	static const char tried[] =
	    "a SIGTERM-ignoring shell; cancel_fd fires once it printed, 0.5 s "
	    "grace";
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x || !write_script(c, "cancel", "p.sh", hold_script, 0644)) {
		vf_report(c, MONKEY_CAP_CANCEL, VF_SETUP, tried,
			  "cannot write the probe's script");
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->dir = "cancel";
	x->cancel_on = "ready";
	x->cancel_after_ms = 5000;
	/* Long after the cancel, for a backend that ignores it. */
	x->timeout_ms = 8000;
	if (!vf_run(c, x, MONKEY_CAP_CANCEL, tried))
		return;
	char how[200];
	vf_describe(x, how, sizeof(how));
	int64_t after = x->ms - (x->cancelled_at >= 0 ? x->cancelled_at : 0);
	if (x->res.cancelled && after <= VF_GRACE_MS + STOP_SLACK_MS)
		vf_report(c, MONKEY_CAP_CANCEL, VF_HOLDS, tried,
			  "stopped, exec returned %lld ms after the cancel "
			  "with cancelled set",
			  (long long)after);
	else if (x->res.cancelled)
		vf_report(c, MONKEY_CAP_CANCEL, VF_BROKEN, tried,
			  "cancelled set, but exec only returned %lld ms after "
			  "the cancel",
			  (long long)after);
	else
		vf_report(c, MONKEY_CAP_CANCEL, VF_BROKEN, tried,
			  "%s: exec returned %lld ms after the cancel without "
			  "cancelled set: %s",
			  after > VF_GRACE_MS + STOP_SLACK_MS
			      ? "not stopped by the cancel"
			      : "stopped",
			  (long long)after, how);
}

/* ---- kill-tree ---- */

/* Three leftovers, each rewriting a file named after itself until ./stop
 * appears (300 times at most, so that none outlives the verifier for
 * long): one ignores SIGTERM, one calls setsid, one is a daemon (forked
 * by a subshell that exits, in its own session). */
static const char tree_script[] =
    "loop='n=0; while [ ! -e stop ] && [ $n -lt 300 ]; do n=$((n + 1)); "
    "echo $n >\"$0\" || exit 0; sleep 0.1 2>/dev/null || sleep 1; done'\n"
    "sh -c \"trap '' TERM; $loop\" leftover-ignterm </dev/null >/dev/null "
    "2>&1 &\n"
    "setsid sh -c \"$loop\" leftover-setsid </dev/null >/dev/null 2>&1 &\n"
    "(setsid sh -c \"$loop\" leftover-daemon </dev/null >/dev/null 2>&1 &) "
    "&\n"
    "n=0\n"
    "while [ $n -lt 50 ]; do\n"
    "\tif [ -s leftover-ignterm ] && [ -s leftover-setsid ] &&\n"
    "\t\t[ -s leftover-daemon ]; then break; fi\n"
    "\tn=$((n + 1))\n"
    "\tsleep 0.1 2>/dev/null || sleep 1\n"
    "done\n"
    "echo ready\n"
    "if [ \"$1\" = exit ]; then exit 0; fi\n"
    "while :; do sleep 1; done\n";

static const char *const leftover_names[] = {
    "leftover-ignterm", "leftover-setsid", "leftover-daemon"};
static const char *const leftover_what[] = {"the SIGTERM-ignoring child",
					    "the setsid grandchild",
					    "the double-forked daemon"};

/* Time a living leftover has to rewrite its file: twenty of its 0.1 s
 * sleeps (a loaded machine slows each round), or two of the 1 s ones a
 * sleep without fractions falls back to. */
#define WATCH_MS 2000

static void snapshot(const char *dir, char vals[3][24])
{
	for (int i = 0; i < 3; i++) {
		_cleanup_free_ char *p =
		    monkey_strdup_printf("%s/%s", dir, leftover_names[i]);
		int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
		ssize_t n = fd >= 0 ? read(fd, vals[i], 23) : -1;
		vals[i][n > 0 ? n : 0] = '\0';
		if (fd >= 0)
			close(fd);
	}
}

/* Tell the leftovers of a backend that let them live to stop, and wait
 * until they did, so that none outlives the verification. */
static void stop_leftovers(const char *dir, char last[3][24])
{
	_cleanup_free_ char *stop = monkey_strdup_printf("%s/stop", dir);
	int fd = stop ? open(stop, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 20; i++) {
		char now[3][24];
		vf_sleep_ms(300);
		snapshot(dir, now);
		if (!memcmp(now, last, sizeof(now)))
			return;
		memcpy(last, now, sizeof(now));
	}
}

/* Runs one variant; started and alive get a bit per leftover. */
static void tree_run(struct vf_ctx *c, const char *variant, int *started,
		     int *alive, char *how, size_t howlen)
{
	char dirname[32];
	snprintf(dirname, sizeof(dirname), "tree-%s", variant);
	struct vf_exec *x = new_exec();
	_cleanup_free_ char *dir =
	    monkey_strdup_printf("%s/%s", c->ws, dirname);
	*started = *alive = 0;
	if (!x || !dir ||
	    !write_script(c, dirname, "p.sh", tree_script, 0644)) {
		snprintf(how, howlen, "cannot write the probe's script");
		free(x);
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->argv[2] = variant;
	x->dir = dirname;
	x->timeout_ms = strcmp(variant, "exit") ? 4000 : VF_TIMEOUT_MS;
	int r = vf_exec(c, x);
	if (r < 0) {
		snprintf(how, howlen, "the verifier could not run it: %s",
			 strerror(-r));
		free(x);
		return;
	}
	vf_describe(x, how, howlen);
	char before[3][24], after[3][24];
	snapshot(dir, before);
	vf_sleep_ms(WATCH_MS);
	snapshot(dir, after);
	for (int i = 0; i < 3; i++) {
		*started |= before[i][0] ? 1 << i : 0;
		*alive |=
		    before[i][0] && strcmp(before[i], after[i]) ? 1 << i : 0;
	}
	stop_leftovers(dir, after);
	free(x);
}

static size_t list_leftovers(char *buf, size_t len, int bits)
{
	size_t n = 0;
	for (int i = 0; i < 3 && n < len; i++)
		if (bits & (1 << i))
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      n ? ", " : "", leftover_what[i]);
	return n;
}

void vf_probe_kill_tree(struct vf_ctx *c)
{
	bool with_timeout = c->caps & MONKEY_CAP_TIMEOUT;
	const char *tried =
	    with_timeout
		? "start a SIGTERM-ignoring child, a setsid grandchild and a "
		  "double-forked daemon, then exit; again, then time out"
		: "start a SIGTERM-ignoring child, a setsid grandchild and a "
		  "double-forked daemon, then exit";
	int s1, a1, s2 = 0, a2 = 0;
	char how[200], how2[200] = "";
	tree_run(c, "exit", &s1, &a1, how, sizeof(how));
	if (with_timeout)
		tree_run(c, "timeout", &s2, &a2, how2, sizeof(how2));
	char text[MONKEY_VERIFY_TEXT_MAX] = "", missing[120] = "";
	size_t n = 0;
	if (a1) {
		n += list_leftovers(text, sizeof(text), a1);
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      " kept running after the command exited");
	}
	if (a2 && n < sizeof(text)) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s",
				      n ? "; " : "");
		n += list_leftovers(text + n, sizeof(text) - n, a2);
		snprintf(text + n, sizeof(text) - n,
			 " kept running after the timeout");
	}
	if (!s1)
		vf_report(c, MONKEY_CAP_KILL_TREE, VF_UNPROBED, tried,
			  "no leftover started (%s)", how);
	else if (a1 || a2)
		vf_report(c, MONKEY_CAP_KILL_TREE, VF_BROKEN, tried, "%s",
			  text);
	else {
		if ((s1 | s2) != 7) {
			size_t m = (size_t)snprintf(missing, sizeof(missing),
						    " (not started: ");
			m +=
			    list_leftovers(missing + m, sizeof(missing) - m,
					   7 & ~(s1 & (with_timeout ? s2 : 7)));
			snprintf(missing + m, sizeof(missing) - m,
				 "; is setsid missing?)");
		}
		vf_report(c, MONKEY_CAP_KILL_TREE, VF_HOLDS, tried,
			  "every leftover stopped when exec returned%s",
			  missing);
	}
}

/* ---- exit status, through the executor as "monkey exec" runs ---- */

struct status_case {
	const char *argv[4];
	int64_t timeout_ms;
	int want;
	const char *what;
};

static void status_cases(struct vf_ctx *c, struct status_case *cs, size_t *n,
			 const char *absent)
{
	size_t i = 0;
	cs[i++] = (struct status_case){{"sh", "basic.sh"}, 0, 3, "exit 3"};
	cs[i++] = (struct status_case){{absent}, 0, 127, "a missing program"};
	cs[i++] =
	    (struct status_case){{"./noexec"}, 0, 126, "a non-executable file"};
	if (c->helper)
		cs[i++] = (struct status_case){
		    {c->helper, "crash"}, 0, 139, "a crash (SIGSEGV)"};
	else
		cs[i++] = (struct status_case){
		    {"sh", "kill.sh"}, 0, 137, "kill -KILL of itself"};
	if (c->caps & MONKEY_CAP_TIMEOUT)
		cs[i++] = (struct status_case){
		    {"sh", "hold.sh"}, 500, 124, "a timeout"};
	/* Last: cancelling the executor cancels every later command. */
	if (c->caps & MONKEY_CAP_CANCEL)
		cs[i++] = (struct status_case){
		    {"sh", "hold.sh"}, 8000, 130, "a cancel"};
	*n = i;
}

static int open_executor_in(struct vf_ctx *c, const char *workdir,
			    struct monkey_executor **ex,
			    struct monkey_error *err)
{
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = c->name;
	o.backend_dir = c->opts->backend_dir;
	o.no_fallback = true;
	o.workspace = c->ws;
	o.workdir = workdir;
	o.image = c->opts->image;
	o.pool = 0;
	o.timeout_ms = VF_TIMEOUT_MS;
	o.kill_grace_ms = VF_GRACE_MS;
	_cleanup_free_ char *mount =
	    c->helper_mounted
		? monkey_strdup_printf("type=bind,src=\"%s\",dst=%s,ro",
				       c->helper_host, VF_HELPER_TARGET)
		: NULL;
	const char *mounts[] = {mount};
	if (mount) {
		o.mounts = mounts;
		o.n_mounts = 1;
	}
	return monkey_executor_open(&o, ex, err);
}

static int open_executor(struct vf_ctx *c, struct monkey_executor **ex,
			 struct monkey_error *err)
{
	return open_executor_in(c, "exit", ex, err);
}

static bool write_status_scripts(struct vf_ctx *c)
{
	return write_script(c, "exit", "basic.sh",
			    "echo out\necho err >&2\nexit 3\n", 0644) &&
	       write_script(c, "exit", "noexec", "#!/bin/sh\nexit 0\n", 0644) &&
	       write_script(c, "exit", "kill.sh",
			    "if [ $$ = 1 ]; then echo pid1; exit 0; fi\n"
			    "kill -KILL $$\nexit 0\n",
			    0644) &&
	       write_script(c, "exit", "hold.sh", hold_script, 0644);
}

void vf_probe_exit_status(struct vf_ctx *c)
{
	static const char tried[] =
	    "through monkey's executor: exit 3, a missing program, a "
	    "non-executable file, a crash, a timeout, a cancel";
	struct monkey_error err = {0};
	struct monkey_executor *ex = NULL;
	_cleanup_free_ char *absent =
	    monkey_strdup_printf("monkey-verify-absent-%s", c->token);
	if (!absent || !write_status_scripts(c)) {
		vf_report(c, 0, VF_SETUP, tried, "cannot write the scripts");
		return;
	}
	if (open_executor(c, &ex, &err) < 0) {
		char msg[200];
		vf_escape(err.message, strlen(err.message), msg, sizeof(msg));
		vf_report(c, 0, VF_BROKEN, tried,
			  "monkey's executor could not open the backend: %s",
			  msg);
		return;
	}
	struct status_case cs[8];
	size_t n = 0, bad = 0;
	status_cases(c, cs, &n, absent);
	char text[MONKEY_VERIFY_TEXT_MAX] = "";
	size_t len = 0;
	for (size_t i = 0; i < n && len < sizeof(text); i++) {
		struct monkey_command cmd = {.argv = cs[i].argv,
					     .timeout_ms = cs[i].timeout_ms};
		struct monkey_result res;
		if (cs[i].want == 130)
			monkey_executor_cancel(ex);
		int got = monkey_executor_run(ex, &cmd, &res, &err) < 0
			      ? -1
			      : res.exit_code;
		bool ok = got == cs[i].want;
		/* The first process of a PID namespace ignores signals sent
		 * from inside it: nothing to map. */
		bool pid1 = cs[i].want == 137 && got == 0 && res.out.head &&
			    strstr(res.out.head, "pid1");
		if (cs[i].want == 3)
			ok = ok && res.out.head_len == 4 &&
			     !memcmp(res.out.head, "out\n", 4) &&
			     res.err.head_len == 4 &&
			     !memcmp(res.err.head, "err\n", 4);
		if (got >= 0)
			monkey_result_free(&res);
		bad += !ok && !pid1;
		len += (size_t)snprintf(
		    text + len, sizeof(text) - len, "%s%s gave %d%s",
		    i ? ", " : "", cs[i].what, got,
		    ok	   ? ""
		    : pid1 ? " (not probed: the command is PID 1)"
		    : cs[i].want == 3 && got == 3 ? " (output mangled)"
						  : " (WRONG)");
	}
	monkey_executor_close(ex);
	vf_report(c, 0, bad ? VF_BROKEN : VF_HOLDS, tried, "%s", text);
}

/* ---- sessions and jobs ---- */

/* stdout of "sh -c script" as the session's next command ("" when it
 * failed to run); caller frees. */
static char *session_sh(struct monkey_session *s, const char *script)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_command cmd = {.argv = argv};
	struct monkey_result res;
	struct monkey_error err = {0};
	if (monkey_session_run(s, &cmd, &res, &err) < 0)
		return strdup("");
	char *out = monkey_capture_join(&res.out, NULL);
	monkey_result_free(&res);
	return out;
}

/* A file written to /tmp by one command is there for the next, and a
 * process it left in the background is not. */
static void probe_session(struct vf_ctx *c, struct monkey_executor *ex)
{
	static const char tried[] =
	    "one command writes a file in /tmp and leaves a sleep in the "
	    "background; the next reads the file and looks for the sleep";
	struct monkey_session *s = NULL;
	struct monkey_error err = {0};
	if (monkey_session_open(ex, &s, &err) < 0) {
		vf_report(c, MONKEY_CAP_SESSION, VF_BROKEN, tried,
			  "opening a session failed");
		return;
	}
	_cleanup_free_ char *w = monkey_strdup_printf(
	    "echo %s > /tmp/monkey-verify-%s; sleep 600 & echo $! > "
	    "/tmp/monkey-verify-%s.pid",
	    c->token, c->token, c->token);
	_cleanup_free_ char *r = monkey_strdup_printf(
	    "cat /tmp/monkey-verify-%s; kill -0 $(cat "
	    "/tmp/monkey-verify-%s.pid) 2>/dev/null && echo alive; rm -f "
	    "/tmp/monkey-verify-%s /tmp/monkey-verify-%s.pid",
	    c->token, c->token, c->token, c->token);
	_cleanup_free_ char *o1 = w ? session_sh(s, w) : NULL;
	_cleanup_free_ char *o2 = r ? session_sh(s, r) : NULL;
	monkey_session_close(s);
	_cleanup_free_ char *want = monkey_strdup_printf("%s\n", c->token);
	bool kept = o2 && want && !strncmp(o2, want, strlen(want));
	bool alive = o2 && strstr(o2, "alive");
	vf_report(c, MONKEY_CAP_SESSION, kept && !alive ? VF_HOLDS : VF_BROKEN,
		  tried, "%s; %s",
		  kept ? "the file was there" : "the file was gone",
		  alive ? "the background sleep survived its command"
			: "the background sleep was killed at its command's "
			  "end");
}

/* A job reading its stdin echoes a line fed to it and stops on demand. */
static void probe_jobs(struct vf_ctx *c, struct monkey_executor *ex)
{
	static const char tried[] =
	    "a cat job gets a line on its stdin, is read, then stopped";
	struct monkey_session *s = NULL;
	struct monkey_job *j = NULL;
	struct monkey_error err = {0};
	const char *argv[] = {"cat", NULL};
	struct monkey_command cmd = {.argv = argv};
	if (monkey_session_open(ex, &s, &err) < 0 ||
	    monkey_job_start(s, &cmd, VF_TIMEOUT_MS, &j, &err) < 0) {
		char msg[200];
		vf_escape(err.message, strlen(err.message), msg, sizeof(msg));
		vf_report(c, MONKEY_CAP_JOBS, VF_BROKEN, tried,
			  "starting a job failed: %s", msg);
		monkey_session_close(s);
		return;
	}
	_cleanup_free_ char *line = monkey_strdup_printf("%s\n", c->token);
	bool echoed = false, running = true;
	if (line && monkey_job_write(j, line, strlen(line), false, &err) == 0)
		for (int i = 0; i < 10 && !echoed && running; i++) {
			struct monkey_result res;
			if (monkey_job_read(j, 500, &res, &running, &err) < 0)
				break;
			char *out = monkey_capture_join(&res.out, NULL);
			echoed = out && strstr(out, c->token);
			free(out);
			monkey_result_free(&res);
		}
	monkey_job_stop(j, &err);
	struct monkey_result res;
	if (monkey_job_read(j, 0, &res, &running, &err) == 0)
		monkey_result_free(&res);
	monkey_session_close(s);
	vf_report(c, MONKEY_CAP_JOBS, echoed && !running ? VF_HOLDS : VF_BROKEN,
		  tried, "%s; %s",
		  echoed ? "the line came back" : "the line did not come back",
		  running ? "the job still ran after job_stop"
			  : "job_stop ended it");
}

void vf_probe_session(struct vf_ctx *c)
{
	static const char tried[] = "nothing: the backend claims no sessions";
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	if (!(c->caps & MONKEY_CAP_SESSION)) {
		vf_report(c, MONKEY_CAP_SESSION, VF_UNPROBED, tried, "-");
		vf_report(c, MONKEY_CAP_JOBS, VF_UNPROBED, tried, "-");
		return;
	}
	if (open_executor_in(c, NULL, &ex, &err) < 0) {
		vf_report(c, MONKEY_CAP_SESSION, VF_SETUP, tried,
			  "monkey's executor could not open the backend");
		return;
	}
	probe_session(c, ex);
	if (c->caps & MONKEY_CAP_JOBS)
		probe_jobs(c, ex);
	else
		vf_report(c, MONKEY_CAP_JOBS, VF_UNPROBED, tried,
			  "the backend claims no jobs");
	monkey_executor_close(ex);
}

/* ---- what no attack can check ---- */

void vf_probe_unprobeable(struct vf_ctx *c)
{
	static const char tried[] = "nothing: no attack can check it";
	if (c->caps & MONKEY_CAP_IMAGE)
		vf_report(c, MONKEY_CAP_IMAGE, VF_UNPROBED, tried,
			  "the probes ran in %s%s; what an image holds is the "
			  "image's business, so there is nothing to compare",
			  c->opts->image ? "image "
					 : "the backend's default "
					   "image",
			  c->opts->image ? c->opts->image : "");
	else
		vf_report(c, MONKEY_CAP_IMAGE, VF_UNPROBED, tried,
			  "the backend takes no image");
	vf_report(c, MONKEY_CAP_POOL, VF_UNPROBED, tried,
		  "a pool only saves start time: there is nothing to attack "
		  "(the probes ran without one)");
	vf_report(c, MONKEY_CAP_CACHE_VOLUMES, VF_UNPROBED, tried,
		  "caches keep files between runs, the way a mount does; the "
		  "probes ran without one");
}
