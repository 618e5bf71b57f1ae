/* "monkey agent": run the agent on a task from the command line.  Model
 * text streams to stdout; progress, notices and prompts go to stderr. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <monkey/agent.h>

#include "cli.h"
#include "escape.h"

static struct monkey_agent *volatile running;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
	if (running)
		monkey_agent_cancel(running);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* The first Ctrl-C stops the run cleanly; a second one, if cleanup
	 * hangs, kills monkey the default way.  No SA_RESTART: an approval
	 * prompt must wake up. */
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

struct ui {
	bool quiet;
	bool verbose;
	bool mid_line; /* stdout's last byte was not a newline */
	/* The approval prompt showed the call about to start: it is not
	 * printed again. */
	bool prompted;
	/* The model's text and, with -v, command output: streams that may
	 * cut a UTF-8 character between two chunks. */
	struct monkey_escaper text;
	struct monkey_escaper output[2];
	struct monkey_cli_live live;
};

/* Write an escaped chunk (NULL after an allocation failure: nothing). */
static void put(FILE *f, char *escaped, size_t len, bool *mid_line)
{
	if (!escaped)
		return;
	fwrite(escaped, 1, len, f);
	if (len && mid_line)
		*mid_line = escaped[len - 1] != '\n';
	free(escaped);
}

static void end_line(struct ui *ui)
{
	size_t len = 0;
	char *e = monkey_escaper_flush(&ui->text, &len);
	put(stdout, e, len, &ui->mid_line);
	if (ui->mid_line) {
		fputc('\n', stdout);
		ui->mid_line = false;
	}
	fflush(stdout);
}

static void on_text(void *ctx, const char *text, size_t len)
{
	struct ui *ui = ctx;
	if (ui->quiet || !len)
		return;
	size_t n = 0;
	char *e = monkey_escaper_feed(&ui->text, text, len, &n);
	put(stdout, e, n, &ui->mid_line);
	fflush(stdout);
}

static void on_notice(void *ctx, int level, const char *msg)
{
	struct ui *ui = ctx;
	if (level < MONKEY_LOG_WARNING && !ui->verbose)
		return;
	monkey_cli_live_clear(&ui->live);
	end_line(ui);
	if (level >= MONKEY_LOG_WARNING)
		monkey_cli_error(
		    "%s: %s", level >= MONKEY_LOG_ERROR ? "error" : "warning",
		    msg);
	else
		monkey_cli_error("%s", msg);
}

static int on_approve(void *ctx, const struct monkey_agent_tool_event *ev,
		      const char **reason)
{
	struct ui *ui = ctx;
	end_line(ui);
	return monkey_cli_approve(&ui->prompted, ev, reason);
}

/* One line for a tool call: the command, the file change as a short diff,
 * or the arguments of another tool (the model's JSON, cut to a line). */
static void print_call(const struct monkey_agent_tool_event *ev)
{
	if (ev->display) {
		bool in = ev->workdir && strcmp(ev->workdir, ".");
		monkey_cli_line(stderr, "[%s] $ %s%s%s%s", ev->name,
				ev->display, in ? "   (in " : "",
				in ? ev->workdir : "", in ? ")" : "");
		return;
	}
	if (ev->path && ev->diff) {
		monkey_cli_line(stderr, "[%s] %s %s: +%zu -%zu lines", ev->name,
				monkey_cli_change_verb(ev), ev->path,
				ev->lines_added, ev->lines_removed);
		monkey_cli_show_diff(ev->diff);
		return;
	}
	if (ev->path) {
		monkey_cli_line(stderr, "[%s] %s", ev->name, ev->path);
		return;
	}
	const char *args = ev->arguments ? ev->arguments : "";
	size_t len = strlen(args), cut = monkey_esc_cut(args, len, 120);
	monkey_cli_line(stderr, "[%s] %.*s%s", ev->name, (int)cut, args,
			cut < len ? "..." : "");
}

static void on_tool_start(void *ctx, const struct monkey_agent_tool_event *ev)
{
	struct ui *ui = ctx;
	bool prompted = ui->prompted;
	ui->prompted = false;
	if (ui->quiet || prompted)
		return;
	end_line(ui);
	print_call(ev);
}

static void on_tool_end(void *ctx, const struct monkey_agent_tool_event *ev)
{
	struct ui *ui = ctx;
	if (ui->quiet)
		return;
	for (int i = 0; i < 2; i++) {
		size_t n = 0;
		char *e = monkey_escaper_flush(&ui->output[i], &n);
		put(stderr, e, n, NULL);
	}
	monkey_cli_live_clear(&ui->live);
	const struct monkey_result *r = ev->result;
	if (r) {
		char use[96];
		monkey_cli_usage_text(r, use, sizeof(use));
		fprintf(stderr, "  -> exit %d in %lld ms%s%s%s%s\n",
			r->exit_code, (long long)r->duration_ms, use,
			r->timed_out ? ", timed out" : "",
			r->oom_killed == MONKEY_YES ? ", out of memory" : "",
			r->cancelled ? ", interrupted" : "");
		if (r->error[0])
			monkey_cli_line(stderr, "  -> %s", r->error);
	} else if (ev->is_error) {
		/* Error results are short sentences; show the first line. */
		const char *c = ev->content ? ev->content : "";
		monkey_cli_line(stderr, "  -> error: %.*s",
				(int)strcspn(c, "\n"), c);
	}
	if (ui->verbose && ev->content && !ev->is_error && !r) {
		size_t n = 0;
		char *e = monkey_escape(ev->content, strlen(ev->content),
					MONKEY_ESC_MULTILINE, &n);
		put(stderr, e, n, NULL);
		fputc('\n', stderr);
	}
}

static void on_progress(void *ctx, const struct monkey_progress *p)
{
	struct ui *ui = ctx;
	if (!ui->quiet)
		monkey_cli_live_update(&ui->live, p);
}

static int on_output(void *ctx, int stream, const void *data, size_t len)
{
	struct ui *ui = ctx;
	if (ui->verbose) {
		monkey_cli_live_clear(&ui->live);
		size_t n = 0;
		char *e = monkey_escaper_feed(
		    &ui->output[stream == MONKEY_STREAM_STDERR], data, len, &n);
		put(stderr, e, n, NULL);
	}
	return 0;
}

static char *read_task_file(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f) {
		monkey_cli_error("--task-file %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	char chunk[65536];
	size_t n;
	while (mem && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	bool bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (mem)
		fclose(mem);
	if (bad || !buf) {
		monkey_cli_error("--task-file %s: cannot read it", path);
		free(buf);
		return NULL;
	}
	return buf;
}

static void help(void)
{
	printf(
	    "Usage: monkey agent --task TEXT [OPTIONS]\n"
	    "\n"
	    "Runs an LLM coding agent on a task. Every shell command it "
	    "runs goes\n"
	    "through the sandbox; file tools are confined to the "
	    "workspace.\n"
	    "\n"
	    "  --task TEXT           the task\n"
	    "  --task-file FILE      read the task from FILE (- = stdin)\n"
	    "  --model NAME          model or alias (default %s;\n"
	    "                        claude-sonnet-4, sonnet, opus, haiku, "
	    "gpt-4.1,\n"
	    "                        or a local server's model name)\n"
	    "  --provider NAME       anthropic or openai (OpenAI-compatible: "
	    "Ollama,\n"
	    "                        llama.cpp, vLLM); default from the model "
	    "name,\n"
	    "                        then from the API keys set\n"
	    "  --base-url URL        API base URL (env ANTHROPIC_BASE_URL, "
	    "OPENAI_BASE_URL)\n"
	    "  --max-iterations N    model turns before giving up (%d)\n"
	    "  --max-tokens N        tokens per reply (%d for anthropic)\n"
	    "  --max-retries N       retries of a failed request (%d)\n"
	    "  --model-output BYTES  command output the model sees, head + "
	    "tail (%d)\n"
	    "  --history-max BYTES   conversation kept for the model (%d); "
	    "older tool\n"
	    "                        outputs are shortened, then the oldest "
	    "steps dropped\n"
	    "  --reply-max BYTES     largest reply accepted from the model's "
	    "API (%d);\n"
	    "                        past it the run ends with an error\n"
	    "  --require-approval    ask before every shell command and file "
	    "change\n"
	    "                        (y / n / a = always)\n"
	    "  -y, --yes             approve every command and change without "
	    "asking\n"
	    "  --transcript FILE     write the JSONL transcript to FILE "
	    "(default: a new\n"
	    "                        TIME-PID.jsonl in "
	    "$XDG_STATE_HOME/monkey/sessions/,\n"
	    "                        else in "
	    "~/.local/state/monkey/sessions/)\n"
	    "  --no-transcript       write no transcript\n"
	    "  --audit-log FILE      append a hash-chained JSON record of "
	    "every\n"
	    "                        security-relevant event to FILE (also "
	    "MONKEY_AUDIT_LOG);\n"
	    "                        check it with 'monkey audit verify "
	    "FILE'\n"
	    "  --audit-key FILE      also sign each record with HMAC-SHA256 "
	    "under the key\n"
	    "                        in FILE\n"
	    "  --job-timeout MS      time limit of each background job "
	    "(default 1800000:\n"
	    "                        30 minutes)\n"
	    "  --fresh-sandbox       run every command in a fresh sandbox "
	    "(default: all\n"
	    "                        of a run's commands share one session, "
	    "where files\n"
	    "                        written outside the workspace persist)\n"
	    "  -q, --quiet           print only the final answer\n"
	    "  -v, --verbose         also show command output and details\n"
	    "  -h, --help            show this help\n"
	    "\n%s\n"
	    "Keys: ANTHROPIC_API_KEY or OPENAI_API_KEY. They never reach "
	    "sandboxed\n"
	    "commands nor the transcript.\n"
	    "\n"
	    "Exit status: 0 the task ended with an answer; 1 error; 2 bad "
	    "usage or\n"
	    "missing key; 3 stopped early (max iterations, max tokens, "
	    "refusal);\n"
	    "130 interrupted.\n"
	    "\n"
	    "Example: monkey agent --docker --task \"make the tests pass\"\n",
	    MONKEY_AGENT_DEFAULT_MODEL, MONKEY_AGENT_DEFAULT_MAX_ITERATIONS,
	    MONKEY_AGENT_DEFAULT_MAX_TOKENS, MONKEY_AGENT_DEFAULT_MAX_RETRIES,
	    MONKEY_AGENT_DEFAULT_OUTPUT_MAX, MONKEY_AGENT_DEFAULT_HISTORY_MAX,
	    MONKEY_AGENT_DEFAULT_REPLY_MAX, monkey_cli_sandbox_help);
}

enum {
	OPT_TASK = 1,
	OPT_TASK_FILE,
	OPT_MODEL,
	OPT_PROVIDER,
	OPT_BASE_URL,
	OPT_MAX_ITERATIONS,
	OPT_MAX_TOKENS,
	OPT_MAX_RETRIES,
	OPT_MODEL_OUTPUT,
	OPT_HISTORY_MAX,
	OPT_REPLY_MAX,
	OPT_REQUIRE_APPROVAL,
	OPT_TRANSCRIPT,
	OPT_NO_TRANSCRIPT,
	OPT_AUDIT_LOG,
	OPT_AUDIT_KEY,
	OPT_FRESH_SANDBOX,
	OPT_JOB_TIMEOUT,
};

static int parse_int(const char *flag, const char *arg, long min, long max,
		     long *out, struct monkey_error *err)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || !*arg || *end || v < min || v > max)
		return monkey_set_error(err, -EINVAL,
					"%s '%s': expected a whole number from "
					"%ld to %ld",
					flag, arg, min, max);
	*out = v;
	return 0;
}

struct args {
	const char *task;
	const char *task_file;
	struct monkey_agent_options ao;
	struct ui ui;
};

/* The bounds of a run: turns, reply size, retries, what the model sees. */
static int bound_option(struct monkey_agent_options *ao, int opt,
			const char *arg, struct monkey_error *err)
{
	static const struct {
		int opt;
		const char *flag;
		long min, max;
	} bounds[] = {
	    {OPT_MAX_ITERATIONS, "--max-iterations", 1, 100000},
	    {OPT_MAX_TOKENS, "--max-tokens", 1, 1000000},
	    {OPT_MAX_RETRIES, "--max-retries", 0, 10},
	    {OPT_MODEL_OUTPUT, "--model-output", 256, 16 << 20},
	    {OPT_HISTORY_MAX, "--history-max", 16384, 1 << 30},
	    {OPT_REPLY_MAX, "--reply-max", 65536, 1L << 30},
	    {OPT_JOB_TIMEOUT, "--job-timeout", 1, 7L * 24 * 3600 * 1000},
	};
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		if (bounds[i].opt != opt)
			continue;
		long v = 0;
		int r = parse_int(bounds[i].flag, arg, bounds[i].min,
				  bounds[i].max, &v, err);
		if (r < 0)
			return r;
		if (opt == OPT_MAX_ITERATIONS)
			ao->max_iterations = (int)v;
		else if (opt == OPT_MAX_TOKENS)
			ao->max_tokens = (int)v;
		else if (opt == OPT_MAX_RETRIES)
			ao->max_retries = (int)v;
		else if (opt == OPT_MODEL_OUTPUT)
			ao->output_max = (size_t)v;
		else if (opt == OPT_HISTORY_MAX)
			ao->history_max = (size_t)v;
		else if (opt == OPT_JOB_TIMEOUT)
			ao->job_timeout_ms = v;
		else
			ao->reply_max = (size_t)v;
		return 1;
	}
	return 0;
}

/* One option of monkey agent's own: 1 handled, 0 not one of them, a
 * negative errno with err saying what is wrong. */
static int agent_option(struct args *a, int opt, const char *arg,
			struct monkey_error *err)
{
	struct monkey_agent_options *ao = &a->ao;
	switch (opt) {
	case OPT_TASK:
		a->task = arg;
		return 1;
	case OPT_TASK_FILE:
		a->task_file = arg;
		return 1;
	case OPT_MODEL:
		ao->model = arg;
		return 1;
	case OPT_PROVIDER:
		if (!strcmp(arg, "anthropic"))
			ao->provider = MONKEY_PROVIDER_ANTHROPIC;
		else if (!strcmp(arg, "openai"))
			ao->provider = MONKEY_PROVIDER_OPENAI;
		else
			return monkey_set_error(err, -EINVAL,
						"--provider '%s': expected "
						"anthropic or openai",
						arg);
		return 1;
	case OPT_BASE_URL:
		ao->base_url = arg;
		return 1;
	case OPT_REQUIRE_APPROVAL:
		ao->require_approval = true;
		return 1;
	case 'y':
		ao->auto_approve = true;
		return 1;
	case OPT_TRANSCRIPT:
		ao->transcript = arg;
		return 1;
	case OPT_NO_TRANSCRIPT:
		ao->no_transcript = true;
		return 1;
	case OPT_AUDIT_LOG:
		ao->audit_log = arg;
		return 1;
	case OPT_AUDIT_KEY:
		ao->audit_key = arg;
		return 1;
	case OPT_FRESH_SANDBOX:
		ao->fresh_sandbox = true;
		return 1;
	case 'q':
		a->ui.quiet = true;
		return 1;
	case 'v':
		a->ui.verbose = true;
		return 1;
	}
	return bound_option(ao, opt, arg, err);
}

/* After the options: a task, from one place. */
static int check_task(int argc, char **argv, const struct args *a)
{
	if (optind < argc) {
		monkey_cli_error("agent: unexpected argument '%s'; quote the "
				 "task: --task \"...\"",
				 argv[optind]);
		return 2;
	}
	if (!a->task == !a->task_file) {
		monkey_cli_error(a->task ? "agent: give --task or --task-file, "
					   "not both"
					 : "agent: no task; give --task TEXT "
					   "or --task-file FILE");
		return 2;
	}
	return -1;
}

/* Returns -1 to go on, or the exit status. */
static int parse(int argc, char **argv, struct monkey_cli_sandbox *s,
		 struct args *a)
{
	static const struct option extra[] = {
	    {"task", required_argument, NULL, OPT_TASK},
	    {"task-file", required_argument, NULL, OPT_TASK_FILE},
	    {"model", required_argument, NULL, OPT_MODEL},
	    {"provider", required_argument, NULL, OPT_PROVIDER},
	    {"base-url", required_argument, NULL, OPT_BASE_URL},
	    {"max-iterations", required_argument, NULL, OPT_MAX_ITERATIONS},
	    {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
	    {"max-retries", required_argument, NULL, OPT_MAX_RETRIES},
	    {"model-output", required_argument, NULL, OPT_MODEL_OUTPUT},
	    {"history-max", required_argument, NULL, OPT_HISTORY_MAX},
	    {"reply-max", required_argument, NULL, OPT_REPLY_MAX},
	    {"require-approval", no_argument, NULL, OPT_REQUIRE_APPROVAL},
	    {"yes", no_argument, NULL, 'y'},
	    {"transcript", required_argument, NULL, OPT_TRANSCRIPT},
	    {"no-transcript", no_argument, NULL, OPT_NO_TRANSCRIPT},
	    {"audit-log", required_argument, NULL, OPT_AUDIT_LOG},
	    {"audit-key", required_argument, NULL, OPT_AUDIT_KEY},
	    {"fresh-sandbox", no_argument, NULL, OPT_FRESH_SANDBOX},
	    {"job-timeout", required_argument, NULL, OPT_JOB_TIMEOUT},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	_cleanup_free_ struct option *longopts = monkey_cli_longopts(extra);
	if (!longopts) {
		monkey_cli_error("out of memory");
		return 1;
	}
	struct monkey_error err = {0};
	int c;
	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "yqvh", longopts, NULL)) != -1) {
		int r = monkey_cli_sandbox_option(s, c, optarg, &err);
		if (r == 0)
			r = agent_option(a, c, optarg, &err);
		if (r < 0) {
			monkey_cli_error("%s", err.message);
			return 2;
		}
		if (r > 0)
			continue;
		if (c == 'h') {
			help();
			return 0;
		}
		monkey_cli_error("try 'monkey agent --help'");
		return 2;
	}
	if (!a->ao.audit_log) {
		const char *env = getenv("MONKEY_AUDIT_LOG");
		a->ao.audit_log = env && *env ? env : NULL;
	}
	if (a->ao.audit_key && !a->ao.audit_log) {
		monkey_cli_error("agent: --audit-key needs an audit log: give "
				 "--audit-log FILE (or MONKEY_AUDIT_LOG)");
		return 2;
	}
	return check_task(argc, argv, a);
}

/* Append ", text" (or "text") to a line being built. */
static void item(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void item(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used && used + 2 < size) {
		strcat(buf, ", ");
		used += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

/* The limits in force, and those the user would expect that the backend
 * does not enforce: a banner that lists only what holds. */
static void limits(struct monkey_executor *ex,
		   const struct monkey_exec_options *o, char *on, char *off,
		   size_t size)
{
	uint32_t caps = monkey_executor_backend(ex)->capabilities;
	uint32_t set = o->explicit_set;
	on[0] = off[0] = '\0';
	if ((caps & MONKEY_CAP_TIMEOUT) && o->timeout_ms > 0)
		item(on, size, "timeout %lld ms", (long long)o->timeout_ms);
	else if (o->timeout_ms > 0)
		item(off, size, "timeout");
	if (caps & MONKEY_CAP_MEMORY)
		item(on, size, "memory %llu MB",
		     (unsigned long long)o->memory_mb);
	else if ((caps & MONKEY_CAP_MEMORY_APPROX) && (set & MONKEY_OPT_MEMORY))
		item(on, size, "address space %llu MB (not a memory limit)",
		     (unsigned long long)o->memory_mb);
	else
		item(off, size, "memory");
	if (caps & MONKEY_CAP_CPU)
		item(on, size, "%g CPUs", o->cpus);
	else
		item(off, size, "CPUs");
	if (caps & MONKEY_CAP_PIDS)
		item(on, size, "%lld processes", (long long)o->pids);
	else
		item(off, size, "processes");
	if (o->network)
		item(on, size, "network on");
	else if (caps & MONKEY_CAP_NETWORK_ISOLATION)
		item(on, size, "no network");
	else
		item(off, size,
		     "network isolation (commands can reach the "
		     "network)");
	if (set & MONKEY_OPT_CPU_TIME)
		item((caps & MONKEY_CAP_CPU_TIME) ? on : off, size,
		     "CPU time %llu s", (unsigned long long)o->cpu_time_s);
	if (set & MONKEY_OPT_FILE_SIZE)
		item((caps & MONKEY_CAP_FILE_SIZE) ? on : off, size,
		     "file size %llu bytes",
		     (unsigned long long)o->file_size_bytes);
	if (set & MONKEY_OPT_READ_ONLY)
		item((caps & MONKEY_CAP_READ_ONLY_ROOT) ? on : off, size,
		     "read-only root");
}

static void banner(struct monkey_agent *agent, const struct ui *ui,
		   const struct monkey_cli_sandbox *s)
{
	if (ui->quiet)
		return;
	struct monkey_executor *ex = monkey_agent_executor(agent);
	const char *backend = monkey_executor_backend_name(ex);
	monkey_cli_line(
	    stderr, "monkey: model %s (%s, %s)", monkey_agent_model(agent),
	    monkey_agent_provider_name(agent), monkey_agent_base_url(agent));
	char image[600] = "";
	if (monkey_executor_backend(ex)->capabilities & MONKEY_CAP_IMAGE)
		snprintf(image, sizeof(image), ", image %s",
			 s->opts.image ? s->opts.image : "(the default)");
	/* The executor has already warned about a fallback and why. */
	if (monkey_executor_fell_back(ex))
		monkey_cli_line(stderr,
				"monkey: sandbox %s (%s%s was requested but is "
				"not available)%s, workspace %s",
				backend, monkey_executor_requested_name(ex),
				s->sandbox_from_env ? ", from MONKEY_SANDBOX,"
						    : "",
				image, monkey_executor_workspace(ex));
	else
		monkey_cli_line(stderr, "monkey: sandbox %s%s, workspace %s",
				backend, image, monkey_executor_workspace(ex));
	char on[512], off[512];
	limits(ex, &s->opts, on, off, sizeof(on));
	monkey_cli_line(stderr, "monkey: limits: %s", on[0] ? on : "none");
	if (off[0])
		monkey_cli_line(stderr, "monkey: not enforced by %s: %s",
				backend, off);
}

/* The task: --task's text or --task-file's contents (*buf, caller
 * frees); NULL when it cannot be read or is empty (said why). */
static const char *get_task(const struct args *a, char **buf)
{
	if (a->task_file && !(*buf = read_task_file(a->task_file)))
		return NULL;
	const char *task = a->task ? a->task : *buf;
	if (!task[strspn(task, " \t\r\n")]) {
		monkey_cli_error("agent: the task is empty");
		return NULL;
	}
	return task;
}

/* The sandbox and the agent report through this UI. */
static void connect_ui(struct monkey_cli_sandbox *s, struct args *a)
{
	monkey_cli_sandbox_finish(s);
	/* An agent runs many commands: keep one sandbox warm (--pool 0
	 * turns it off). */
	if (!(s->opts.explicit_set & MONKEY_OPT_POOL))
		s->opts.pool = 1;
	/* Executor notices go through the same printer as the agent's, so
	 * --verbose shows them and lines do not break streamed text. */
	s->opts.notify = on_notice;
	s->opts.notify_ctx = &a->ui;
	a->ao.cb = (struct monkey_agent_callbacks){
	    .text = on_text,
	    .notice = on_notice,
	    .tool_start = on_tool_start,
	    .tool_end = on_tool_end,
	    .command_output = on_output,
	    .approve = on_approve,
	    .ctx = &a->ui,
	    .command_progress = on_progress,
	};
	monkey_cli_live_init(&a->ui.live, stderr);
}

/* How the run ended, for the user; the exit status. */
static int finish(struct monkey_agent *agent, struct ui *ui,
		  struct monkey_agent_report *rep)
{
	end_line(ui);
	if (ui->quiet && rep->final_text &&
	    rep->end == MONKEY_AGENT_END_ANSWER) {
		size_t n = 0;
		char *e =
		    monkey_escape(rep->final_text, strlen(rep->final_text),
				  MONKEY_ESC_MULTILINE, &n);
		bool mid = false;
		put(stdout, e, n, &mid);
		if (mid)
			fputc('\n', stdout);
	}
	if (rep->end == MONKEY_AGENT_END_ERROR)
		monkey_cli_error("error: %s", rep->message);
	else if (rep->end != MONKEY_AGENT_END_ANSWER)
		monkey_cli_error("%s", rep->message);
	if (!ui->quiet && monkey_agent_transcript_path(agent))
		monkey_cli_line(stderr, "monkey: transcript %s",
				monkey_agent_transcript_path(agent));
	return monkey_agent_exit_status(rep->end);
}

/* Open the agent and run the task to its end; the exit status. */
static int run(struct monkey_cli_sandbox *s, struct args *a, const char *task)
{
	connect_ui(s, a);
	install_signals();
	struct monkey_error err = {0};
	struct monkey_agent *agent = NULL;
	int r = monkey_agent_open(&a->ao, &s->opts, &agent, &err);
	if (r < 0) {
		monkey_cli_open_error(s, err.message);
		return r == -ENOKEY || r == -EINVAL ? 2 : 1;
	}
	banner(agent, &a->ui, s);
	running = agent;
	if (interrupted)
		monkey_agent_cancel(agent);
	struct monkey_agent_report rep;
	monkey_agent_run(agent, task, &rep, &err);
	running = NULL;
	int status = finish(agent, &a->ui, &rep);
	monkey_agent_report_free(&rep);
	monkey_agent_close(agent);
	fflush(stdout);
	return status;
}

int monkey_cli_agent(int argc, char **argv)
{
	struct monkey_cli_sandbox s;
	monkey_cli_sandbox_init(&s);
	struct args a = {0};
	a.ui.text.flags = MONKEY_ESC_MULTILINE;
	a.ui.output[0].flags = a.ui.output[1].flags = MONKEY_ESC_MULTILINE;
	monkey_agent_options_init(&a.ao);
	_cleanup_free_ char *task_buf = NULL;
	int status = parse(argc, argv, &s, &a);
	if (status < 0) {
		const char *task = get_task(&a, &task_buf);
		status = task ? run(&s, &a, task) : 2;
	}
	monkey_cli_sandbox_free(&s);
	return status;
}
