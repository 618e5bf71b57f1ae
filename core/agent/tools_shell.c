/* shell_execute: run the model's argv through the sandbox executor,
 * fingerprint the full output for replay, and shape what the model sees. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "tools.h"
#include "transcript_hash.h"

struct tee {
	struct monkey_sha256 out, err;
	monkey_output_fn next;
	void *next_ctx;
};

static int on_output(void *ctx, int stream, const void *data, size_t len)
{
	struct tee *t = ctx;
	monkey_sha256_update(stream == MONKEY_STREAM_STDERR ? &t->err : &t->out,
			     data, len);
	if (t->next)
		t->next(t->next_ctx, stream, data, len);
	return 0;
}

/* A working directory the model gave: inside the workspace, a directory,
 * returned relative to root. */
int tools_shell_workdir(const char *root, const char *workdir, char **rel,
			struct monkey_error *err)
{
	*rel = NULL;
	_cleanup_free_ char *abs = NULL;
	int r = tools_path_resolve(root, workdir, TOOLS_PATH_EXISTING, false,
				   &abs, err);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode))
		return monkey_set_error(
		    err, -ENOTDIR, "workdir '%s' is not a directory", workdir);
	*rel = strdup(tools_path_rel(root, abs));
	return *rel ? 0 : monkey_set_error(err, -ENOMEM, "out of memory");
}

int tools_shell_run(const struct tools_shell_ctx *c, const struct tool_args *a,
		    struct tools_shell_outcome *o)
{
	memset(o, 0, sizeof(*o));
	if (a->workdir) {
		struct monkey_error e = {0};
		int r = tools_shell_workdir(c->root, a->workdir,
					    &o->workdir_rel, &e);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			/* Not run: the model is told why. */
			o->error = strdup(e.message);
			return o->error ? 0 : -ENOMEM;
		}
	} else {
		o->workdir_rel =
		    strdup(c->default_workdir ? c->default_workdir : ".");
		if (!o->workdir_rel)
			return -ENOMEM;
	}
	/* The user's limit is a ceiling the model cannot raise; a command
	 * that asks for more runs with the limit, and the model is told
	 * (tools_shell_format), rather than refused: it can still do its
	 * work, and learns the bound. */
	o->timeout_ms = c->timeout_cap_ms;
	if (a->timeout_ms > 0 &&
	    (c->timeout_cap_ms == 0 || a->timeout_ms <= c->timeout_cap_ms))
		o->timeout_ms = a->timeout_ms;
	else if (a->timeout_ms > 0)
		o->timeout_lowered_from = a->timeout_ms;
	struct tee t = {.next = c->tee, .next_ctx = c->tee_ctx};
	monkey_sha256_init(&t.out);
	monkey_sha256_init(&t.err);
	struct monkey_command cmd = {
	    .argv = (const char *const *)a->argv.v,
	    .workdir = o->workdir_rel,
	    .timeout_ms = o->timeout_ms,
	    .stdin_data = a->stdin_data,
	    .stdin_len = a->stdin_len,
	    .has_stdin = a->has_stdin,
	    .tee = on_output,
	    .tee_ctx = &t,
	    .progress = c->progress,
	    .progress_ctx = c->tee_ctx,
	};
	struct monkey_error err = {0};
	int r = c->session ? monkey_session_run(c->session, &cmd, &o->res, &err)
			   : monkey_executor_run(c->ex, &cmd, &o->res, &err);
	if (r < 0) {
		o->error = monkey_strdup_printf("the command was not run: %s",
						err.message[0] ? err.message
							       : strerror(-r));
		return o->error ? 0 : -ENOMEM;
	}
	o->ran = true;
	monkey_sha256_hex(&t.out, o->stdout_sha256);
	monkey_sha256_hex(&t.err, o->stderr_sha256);
	return 0;
}

void tools_shell_outcome_free(struct tools_shell_outcome *o)
{
	if (o->ran)
		monkey_result_free(&o->res);
	free(o->error);
	free(o->workdir_rel);
	memset(o, 0, sizeof(*o));
}

static const char *tristate(int v)
{
	return v == MONKEY_YES ? "true" : v == MONKEY_NO ? "false" : "unknown";
}

/* In proxy mode, the hosts the egress proxy refused and the option that
 * would let each through, so that the model knows why a download failed
 * (and does not retry it); "" else.  Caller frees. */
static char *network_denied(const struct monkey_result *r)
{
	struct monkey_strv lines = {0};
	for (size_t i = 0; i < r->network.n_denied; i++) {
		const char *hp = r->network.denied[i];
		const char *colon = strrchr(hp, ':');
		bool default_port =
		    colon && (!strcmp(colon, ":80") || !strcmp(colon, ":443"));
		int len = default_port ? (int)(colon - hp) : (int)strlen(hp);
		if (monkey_strv_push_owned(
			&lines,
			monkey_strdup_printf("  %s (the user may allow it with "
					     "--allow-domain %.*s)\n",
					     hp, len, hp)) < 0) {
			monkey_strv_free(&lines);
			return NULL;
		}
	}
	if (!lines.n)
		return strdup("");
	_cleanup_free_ char *body = monkey_strv_join(&lines, "");
	monkey_strv_free(&lines);
	return body ? monkey_strdup_printf(
			  "network_denied (the sandbox reaches only the "
			  "allowed hosts, through a proxy):\n%s",
			  body)
		    : NULL;
}

char *tools_shell_format(const struct tools_shell_outcome *o, size_t output_max)
{
	if (!o->ran)
		return strdup(o->error ? o->error : "the command was not run");
	const struct monkey_result *r = &o->res;
	size_t olen = 0, elen = 0;
	_cleanup_free_ char *out = monkey_capture_join(&r->out, &olen);
	_cleanup_free_ char *err = monkey_capture_join(&r->err, &elen);
	if (!out || !err)
		return NULL;
	/* Split the budget; a short stream leaves its share to the other. */
	size_t half = output_max / 2;
	size_t omax = olen, emax = elen;
	if (olen + elen > output_max) {
		if (olen <= half)
			emax = output_max - olen;
		else if (elen <= half)
			omax = output_max - elen;
		else
			omax = half, emax = output_max - half;
	}
	_cleanup_free_ char *os = monkey_shorten(out, olen, omax, NULL);
	_cleanup_free_ char *es = monkey_shorten(err, elen, emax, NULL);
	_cleanup_free_ char *denied = network_denied(r);
	if (!os || !es || !denied)
		return NULL;
	char sig[48] = "none";
	if (r->signal)
		snprintf(sig, sizeof(sig), "%d (%s)", r->signal,
			 sigabbrev_np(r->signal) ? sigabbrev_np(r->signal)
						 : "?");
	char timeout_note[80] = "";
	if (r->timed_out)
		snprintf(timeout_note, sizeof(timeout_note),
			 " (killed after %lld ms)", (long long)o->timeout_ms);
	char lowered[200] = "";
	if (o->timeout_lowered_from)
		snprintf(
		    lowered, sizeof(lowered),
		    "note: timeout_ms %lld is above the user's limit; the "
		    "command ran with timeout_ms %lld (the most allowed)\n",
		    (long long)o->timeout_lowered_from,
		    (long long)o->timeout_ms);
	const char *reset =
	    !r->session_reset ? ""
	    : r->error[0]
		? "note: the sandbox ended while this command ran; the next "
		  "command starts a new one, and files written outside the "
		  "workspace are gone\n"
		: "note: the sandbox had ended and was started again before "
		  "this command; files written outside the workspace are "
		  "gone\n";
	return monkey_strdup_printf(
	    "%s%s%s%s%s"
	    "exit_code: %d\nsignal: %s\ntimed_out: %s%s\n"
	    "oom_killed: %s\nlimit_hit: %s\n%s"
	    "duration_ms: %lld\n"
	    "stdout (%llu bytes):\n%s%s"
	    "stderr (%llu bytes):\n%s%s%s",
	    reset, lowered, r->error[0] ? "error: " : "", r->error,
	    r->error[0] ? "\n" : "", r->exit_code, sig,
	    r->timed_out ? "true" : "false", timeout_note,
	    tristate(r->oom_killed),
	    monkey_result_limit(r) ? monkey_result_limit(r)
	    : r->limits_unknown ? "none seen (not every limit is watched here)"
				: "none",
	    r->cancelled ? "cancelled: true (stopped by the user)\n" : "",
	    (long long)r->duration_ms, (unsigned long long)r->out.total, os,
	    olen && os[strlen(os) - 1] != '\n' ? "\n" : "",
	    (unsigned long long)r->err.total, es,
	    elen && es[strlen(es) - 1] != '\n' ? "\n" : "", denied);
}
