/* "monkey replay FILE": run a transcript's shell commands again through the
 * sandbox this command's own options choose (the recording's is only shown
 * beside it) and report, per command, whether exit code and output match. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/replay.h>

#include "cli.h"
#include "escape.h"
#include "quote.h"

/* Lines of differing output shown per stream and side. */
#define DIFF_LINES 8
/* Bytes of one diff line shown. */
#define DIFF_WIDTH 160

static struct monkey_executor *volatile running;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
	if (running)
		monkey_executor_cancel(running);
}

static void help(void)
{
	printf("Usage: monkey replay FILE [OPTIONS]\n"
	       "\n"
	       "Runs the shell commands recorded in a monkey agent transcript "
	       "again, in\n"
	       "order, and reports for each whether its exit code, stdout and "
	       "stderr\n"
	       "match the recording.\n"
	       "\n"
	       "The sandbox comes from the options below, with the same "
	       "defaults as\n"
	       "'monkey exec' (MONKEY_SANDBOX or spawn, the current directory "
	       "as the\n"
	       "workspace, the default limits). The recording's backend, "
	       "workspace and\n"
	       "limits are shown beside them and never applied; a command's "
	       "own recorded\n"
	       "timeout applies only when it is shorter than --timeout. A "
	       "backend weaker\n"
	       "than the recorded one, or none, runs only when named with "
	       "--sandbox or\n"
	       "--docker (MONKEY_SANDBOX does not count). Each command is "
	       "printed as it\n"
	       "will run, with its working directory, before it runs. File "
	       "edits made by\n"
	       "the agent's file tools are not replayed.\n"
	       "\n"
	       "  -v, --verbose   also show the details of matching commands, "
	       "and a short\n"
	       "                  diff of the output that did not match\n"
	       "  -h, --help      show this help\n"
	       "\n%s\n"
	       "Exit status: 0 every command matched; 1 some did not, or the "
	       "sandbox\n"
	       "failed; 2 bad usage, a malformed transcript, or a weaker "
	       "backend not\n"
	       "named; 130 interrupted.\n",
	       monkey_cli_sandbox_help);
}

/* s made safe for a terminal (everything in a transcript is hostile):
 * the escaping every line monkey prints gets (escape.h).  Caller frees. */
static char *clean(const char *s, size_t len)
{
	return monkey_escape(s, len, 0, NULL);
}

static void put_clean(const char *fmt, const char *s)
{
	_cleanup_free_ char *c = s ? clean(s, strlen(s)) : NULL;
	printf(fmt, c ? c : "-");
}

static const char *safety_name(int s)
{
	static const char *const names[] = {"none", "low", "medium", "high"};
	return s >= 0 && s <= 3 ? names[s] : "unknown";
}

/* A backend weaker than the recording's, or one without a sandbox, runs
 * only when the user named it on this command line. */
static int check_backend(struct monkey_executor *ex, const char *named,
			 const struct monkey_replay_log *log)
{
	const struct monkey_backend *be = monkey_executor_backend(ex);
	const char *name = monkey_executor_backend_name(ex);
	if (named && !strcmp(named, name))
		return 0;
	bool none = be->safety <= MONKEY_SAFETY_NONE || !strcmp(name, "none");
	if (!none && be->safety >= log->rec.safety)
		return 0;
	_cleanup_free_ char *rec =
	    log->rec.backend ? clean(log->rec.backend, strlen(log->rec.backend))
			     : NULL;
	if (none)
		monkey_cli_error(
		    "replay: the %s backend runs commands on this "
		    "machine without a sandbox: it replays only "
		    "when named, --sandbox %s (MONKEY_SANDBOX does "
		    "not count)",
		    name, name);
	else
		monkey_cli_error(
		    "replay: the recording ran under %s (safety %s), and %s "
		    "(safety %s)%s is weaker: it replays only when named, "
		    "--sandbox %s; or choose a backend at least as strong "
		    "(MONKEY_SANDBOX does not count)",
		    rec ? rec : "an unnamed backend",
		    safety_name(log->rec.safety), name, safety_name(be->safety),
		    monkey_executor_fell_back(ex) ? ", taken after a fallback"
						  : "",
		    name);
	return -1;
}

static void row(const char *label, const char *now, const char *rec)
{
	_cleanup_free_ char *n = clean(now, strlen(now));
	_cleanup_free_ char *r = clean(rec, strlen(rec));
	printf("  %-10s %-30s %s\n", label, n ? n : "?", r ? r : "?");
}

/* "N unit", or "-" when the recording did not say. */
static const char *fmt_rec(char *buf, size_t len, int64_t v, const char *unit)
{
	if (v < 0)
		return "-";
	if (v == 0 && !strcmp(unit, "ms"))
		return "none";
	snprintf(buf, len, "%lld%s%s", (long long)v, *unit ? " " : "", unit);
	return buf;
}

static const char *fmt_flag(int v, const char *yes, const char *no)
{
	return v < 0 ? "-" : v ? yes : no;
}

static void show_limits(const struct monkey_exec_options *o, uint32_t caps,
			const struct monkey_replay_recorded *r)
{
	char now[64], rec[64];
	const char *ne = "not enforced";
	snprintf(now, sizeof(now), "%lld ms", (long long)o->timeout_ms);
	row("timeout",
	    !(caps & MONKEY_CAP_TIMEOUT) ? ne
	    : o->timeout_ms		 ? now
					 : "none",
	    fmt_rec(rec, sizeof(rec), r->timeout_ms, "ms"));
	snprintf(now, sizeof(now), "%llu MB%s",
		 (unsigned long long)o->memory_mb,
		 caps & MONKEY_CAP_MEMORY ? "" : " (address space)");
	snprintf(rec, sizeof(rec), "%lld MB%s", (long long)r->memory_mb,
		 r->memory_approx ? " (address space)" : "");
	row("memory",
	    caps & (MONKEY_CAP_MEMORY | MONKEY_CAP_MEMORY_APPROX) ? now : ne,
	    r->memory_mb < 0 ? "-" : rec);
	snprintf(now, sizeof(now), "%g", o->cpus);
	snprintf(rec, sizeof(rec), "%g", r->cpus);
	row("cpus", caps & MONKEY_CAP_CPU ? now : ne, r->cpus < 0 ? "-" : rec);
	snprintf(now, sizeof(now), "%lld", (long long)o->pids);
	row("pids", caps & MONKEY_CAP_PIDS ? now : ne,
	    fmt_rec(rec, sizeof(rec), r->pids, ""));
	row("network",
	    caps & MONKEY_CAP_NETWORK_ISOLATION ? (o->network ? "on" : "off")
						: "the host's (not isolated)",
	    fmt_flag(r->network, "on", "off"));
	row("read-only",
	    caps & MONKEY_CAP_READ_ONLY_ROOT ? (o->read_only ? "yes" : "no")
					     : ne,
	    fmt_flag(r->read_only, "yes", "no"));
	snprintf(now, sizeof(now), "%zu", o->n_mounts);
	row("mounts", caps & MONKEY_CAP_MOUNTS ? now : ne,
	    fmt_rec(rec, sizeof(rec), r->n_mounts, ""));
}

/* This replay's sandbox beside the recording's, which is not applied. */
static void show_setup(struct monkey_executor *ex,
		       const struct monkey_exec_options *o,
		       const struct monkey_replay_log *log, const char *file)
{
	const struct monkey_backend *be = monkey_executor_backend(ex);
	const struct monkey_replay_recorded *r = &log->rec;
	_cleanup_free_ char *f = clean(file, strlen(file));
	printf("replaying %zu command%s of %s\n", log->n,
	       log->n == 1 ? "" : "s", f ? f : "?");
	printf("  %-10s %-30s %s\n", "", "this replay", "the recording");
	char now[128], rec[128];
	snprintf(now, sizeof(now), "%s (safety %s)",
		 monkey_executor_backend_name(ex), safety_name(be->safety));
	snprintf(rec, sizeof(rec), "%.80s (safety %s)",
		 r->backend ? r->backend : "-", safety_name(r->safety));
	row("backend", now, rec);
	row("workspace", monkey_executor_workspace(ex),
	    r->workspace ? r->workspace : "-");
	if ((be->capabilities & MONKEY_CAP_IMAGE) || r->image)
		row("image",
		    !(be->capabilities & MONKEY_CAP_IMAGE) ? "not used"
		    : o->image				   ? o->image
							   : "the default",
		    r->image ? r->image : "-");
	show_limits(o, be->capabilities, r);
}

/* Prints the command as it will run (argv, working directory, timeout,
 * stdin); returns its working directory (caller frees), or NULL when it
 * will not run (said why). */
static char *show_command(size_t i, size_t n, struct monkey_executor *ex,
			  const struct monkey_replay_command *c, int64_t cap_ms)
{
	_cleanup_free_ char *cmd =
	    monkey_quote_argv((const char *const *)c->argv);
	printf("[%zu/%zu] $ %s\n", i, n, cmd ? cmd : "?");
	if (!c->ran || c->cancelled)
		return NULL; /* replay_run says why it is skipped */
	char *wd = NULL;
	struct monkey_error why = {0};
	if (monkey_replay_command_workdir(monkey_executor_workspace(ex), c, &wd,
					  &why) < 0) {
		put_clean("      -> skipped: %s\n", why.message);
		return NULL;
	}
	put_clean("      in %s", wd);
	/* The recorded limit only ever shortens the replay's. */
	int64_t t = c->timeout_ms > 0 && (!cap_ms || c->timeout_ms < cap_ms)
			? c->timeout_ms
			: cap_ms;
	if (t)
		printf(", timeout %lld ms", (long long)t);
	else
		printf(", no timeout");
	if (c->has_stdin)
		printf(", %zu bytes on stdin", c->stdin_len);
	putchar('\n');
	if (!strcmp(monkey_executor_backend_name(ex), "none"))
		printf("      the none backend hands these words to /bin/sh "
		       "-c on this machine\n");
	fflush(stdout);
	return wd;
}

struct lines {
	const char **at;
	size_t *len;
	size_t n;
};

static void split(const char *s, struct lines *l)
{
	memset(l, 0, sizeof(*l));
	for (const char *p = s; p && *p;) {
		size_t k = strcspn(p, "\n");
		const char **a = realloc(l->at, (l->n + 1) * sizeof(*a));
		size_t *b = realloc(l->len, (l->n + 1) * sizeof(*b));
		if (a)
			l->at = a;
		if (b)
			l->len = b;
		if (!a || !b)
			return;
		l->at[l->n] = p;
		l->len[l->n++] = k;
		p += k + (p[k] == '\n');
	}
}

static bool same(const struct lines *a, size_t i, const struct lines *b,
		 size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->at[i], b->at[j], a->len[i]);
}

static void diff_side(const struct lines *l, size_t from, size_t to, char sign)
{
	for (size_t i = from; i < to && i < from + DIFF_LINES; i++) {
		size_t k = l->len[i] < DIFF_WIDTH ? l->len[i] : DIFF_WIDTH;
		_cleanup_free_ char *c = clean(l->at[i], k);
		printf("           %c %s%s\n", sign, c ? c : "?",
		       k < l->len[i] ? "..." : "");
	}
	if (to - from > DIFF_LINES)
		printf("           %c ... %zu more lines\n", sign,
		       to - from - DIFF_LINES);
}

/* The lines where the recorded copy and this replay's part: common lines
 * at the start and the end are left out. */
static void diff(const char *stream, const char *rec, const char *now)
{
	if (!rec) {
		printf("         %s: the recording kept no copy of it (a "
		       "version 1 transcript)\n",
		       stream);
		return;
	}
	struct lines a, b;
	split(rec, &a);
	split(now, &b);
	size_t pre = 0, suf = 0;
	while (pre < a.n && pre < b.n && same(&a, pre, &b, pre))
		pre++;
	while (suf < a.n - pre && suf < b.n - pre &&
	       same(&a, a.n - 1 - suf, &b, b.n - 1 - suf))
		suf++;
	if (pre == a.n && pre == b.n)
		printf("         %s: the kept copies agree; the difference is "
		       "in the part they leave out\n",
		       stream);
	else
		printf("         %s from line %zu (- recorded, + now):\n",
		       stream, pre + 1);
	diff_side(&a, pre, a.n - suf, '-');
	diff_side(&b, pre, b.n - suf, '+');
	free(a.at);
	free(a.len);
	free(b.at);
	free(b.len);
}

static void report(const struct monkey_replay_command *c,
		   const struct monkey_replay_check *chk, bool verbose)
{
	if (chk->skipped) {
		put_clean("      -> skipped: %s\n", chk->reason);
		return;
	}
	bool ok = monkey_replay_matches(chk);
	printf("      -> %s\n", ok ? "match" : "MISMATCH");
	if (ok && !verbose)
		return;
	printf("         exit %d (recorded %d)%s\n", chk->exit_code,
	       c->exit_code, chk->exit_match ? "" : "  <- differs");
	printf("         stdout %llu bytes (recorded %llu)%s\n",
	       (unsigned long long)chk->stdout_bytes,
	       (unsigned long long)c->stdout_bytes,
	       chk->stdout_match ? "" : "  <- differs");
	printf("         stderr %llu bytes (recorded %llu)%s\n",
	       (unsigned long long)chk->stderr_bytes,
	       (unsigned long long)c->stderr_bytes,
	       chk->stderr_match ? "" : "  <- differs");
	if (chk->error[0])
		put_clean("         sandbox: %s\n", chk->error);
	if (verbose && !chk->stdout_match)
		diff("stdout", c->stdout_copy, chk->stdout_copy);
	if (verbose && !chk->stderr_match)
		diff("stderr", c->stderr_copy, chk->stderr_copy);
}

/* A job's event, done again (without a session there are no jobs);
 * never compared. */
static void replay_job(struct monkey_executor *ex, struct monkey_session *ses,
		       struct monkey_replay_jobs *jobs,
		       const struct monkey_replay_command *c, size_t i,
		       size_t n)
{
	static const char *const what[] = {"", "start", "input", "read",
					   "stop"};
	struct monkey_replay_check chk = {0};
	struct monkey_error err = {0};
	if (c->kind == MONKEY_REPLAY_JOB_START) {
		_cleanup_free_ char *cmd =
		    monkey_quote_argv((const char *const *)c->argv);
		printf("[%zu/%zu] job %d: ", i, n, c->job);
		put_clean("$ %s\n", cmd ? cmd : "?");
	} else {
		printf("[%zu/%zu] job %d: %s\n", i, n, c->job, what[c->kind]);
	}
	if (!ses || !jobs)
		snprintf(chk.reason, sizeof(chk.reason),
			 "no background jobs in this replay");
	else if (monkey_replay_run_job(ses, ex, jobs, c, &chk, &err) < 0)
		snprintf(chk.reason, sizeof(chk.reason), "%s", err.message);
	put_clean("      -> skipped: %s\n", chk.reason);
	fflush(stdout);
}

/* Runs every command (in session ses when not NULL); returns the exit
 * status. */
static int replay_all(struct monkey_executor *ex, struct monkey_session *ses,
		      const struct monkey_exec_options *o,
		      const struct monkey_replay_log *log, bool verbose)
{
	size_t matched = 0, differ = 0, skipped = 0;
	int status = 0;
	struct monkey_replay_jobs *jobs = monkey_replay_jobs_new();
	for (size_t i = 0; i < log->n && !interrupted; i++) {
		const struct monkey_replay_command *c = &log->cmds[i];
		if (c->kind != MONKEY_REPLAY_COMMAND) {
			replay_job(ex, ses, jobs, c, i + 1, log->n);
			skipped++;
			continue;
		}
		_cleanup_free_ char *wd =
		    show_command(i + 1, log->n, ex, c, o->timeout_ms);
		struct monkey_replay_check chk = {0};
		struct monkey_error err = {0};
		if (!c->ran || c->cancelled) {
			/* Not run: replay_run only says why. */
			monkey_replay_run(ex, c, 0, &chk, &err);
		} else if (!wd) {
			skipped++; /* show_command said why */
			continue;
		} else if ((ses ? monkey_replay_run_in(
				      ses, ex, c, o->timeout_ms, &chk, &err)
				: monkey_replay_run(ex, c, o->timeout_ms, &chk,
						    &err)) < 0) {
			monkey_cli_error("%s", err.message);
			status = 1;
			break;
		}
		if (interrupted) {
			monkey_replay_check_free(&chk);
			break;
		}
		report(c, &chk, verbose);
		fflush(stdout);
		if (chk.skipped)
			skipped++;
		else if (monkey_replay_matches(&chk))
			matched++;
		else
			differ++;
		monkey_replay_check_free(&chk);
	}
	monkey_replay_jobs_free(jobs);
	printf("replay: %zu matched, %zu mismatched, %zu skipped\n", matched,
	       differ, skipped);
	return status ? status : differ ? 1 : 0;
}

/* Parses the options; returns -1 to go on, or the exit status. */
static int parse(int argc, char **argv, struct monkey_cli_sandbox *s,
		 bool *verbose)
{
	static const struct option extra[] = {
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	_cleanup_free_ struct option *longopts = monkey_cli_longopts(extra);
	if (!longopts)
		return 2;
	struct monkey_error err = {0};
	opterr = 1;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		int r = monkey_cli_sandbox_option(s, c, optarg, &err);
		if (r < 0) {
			monkey_cli_error("%s", err.message);
			return 2;
		}
		if (r > 0)
			continue;
		if (c == 'v') {
			*verbose = true;
		} else if (c == 'h') {
			help();
			return 0;
		} else {
			monkey_cli_error("try 'monkey replay --help'");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		monkey_cli_error(optind >= argc
				     ? "replay: no transcript given; usage: "
				       "monkey replay FILE [OPTIONS]"
				     : "replay: give one transcript file");
		return 2;
	}
	return -1;
}

/* Open the sandbox, check it may replay this recording, and run every
 * command; the exit status. */
static int replay(struct monkey_cli_sandbox *s,
		  const struct monkey_replay_log *log, const char *file,
		  bool verbose)
{
	/* Only a backend named here may be weaker than the recording's;
	 * MONKEY_SANDBOX, applied by finish, does not count. */
	const char *named = s->opts.sandbox;
	monkey_cli_sandbox_finish(s);
	struct monkey_error err = {0};
	struct monkey_executor *ex = NULL;
	if (monkey_executor_open(&s->opts, &ex, &err) < 0) {
		monkey_cli_error("%s", err.message);
		return 1;
	}
	if (check_backend(ex, named, log) < 0) {
		monkey_executor_close(ex);
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	running = ex;
	show_setup(ex, &s->opts, log, file);
	/* Commands that shared a session in the recording share one now:
	 * what one left outside the workspace, the next may need. */
	struct monkey_session *ses = NULL;
	int status = 0;
	if (log->session && monkey_session_open(ex, &ses, &err) < 0) {
		monkey_cli_error("%s", err.message);
		status = 1;
	} else {
		status = replay_all(ex, ses, &s->opts, log, verbose);
	}
	monkey_session_close(ses);
	running = NULL;
	monkey_executor_close(ex);
	if (interrupted) {
		monkey_cli_error("replay interrupted");
		status = 130;
	}
	return status;
}

int monkey_cli_replay(int argc, char **argv)
{
	struct monkey_cli_sandbox s;
	monkey_cli_sandbox_init(&s);
	struct monkey_replay_log log = {0};
	bool verbose = false;
	int status = parse(argc, argv, &s, &verbose);
	if (status < 0) {
		const char *file = argv[optind];
		struct monkey_error err = {0};
		if (monkey_replay_load(file, &log, &err) < 0) {
			monkey_cli_error("%s", err.message);
			status = 2;
		} else {
			status = replay(&s, &log, file, verbose);
		}
	}
	monkey_replay_log_free(&log);
	monkey_cli_sandbox_free(&s);
	return status;
}
