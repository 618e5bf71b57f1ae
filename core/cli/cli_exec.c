/* "monkey exec": run one command through the sandbox executor and exit
 * with its status (docker run / timeout(1) conventions). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jsonout.h"

static struct monkey_executor *volatile running;
static volatile sig_atomic_t caught_signal;

static void on_signal(int sig)
{
	caught_signal = sig;
	monkey_executor_cancel(running);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed stdout must not kill monkey before it cleans up. */
	signal(SIGPIPE, SIG_IGN);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Plain mode passes output through as it arrives, raw: it is the user's
 * command, as with docker run (monkey's own lines are escaped).  A reader
 * that went away does not stop the command: output is still captured. */
static int passthrough(void *ctx, int stream, const void *data, size_t len)
{
	(void)ctx;
	write_all(stream == MONKEY_STREAM_STDERR ? 2 : 1, data, len);
	return 0;
}

static int read_stdin_file(const char *path, char **data, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		monkey_cli_error("--stdin %s: %s", path, strerror(errno));
		return -1;
	}
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			monkey_cli_error("--stdin %s: out of memory", path);
			break;
		}
		if (n == cap) {
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			monkey_cli_error("--stdin %s: %s", path,
					 strerror(errno));
			free(buf);
			buf = NULL;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd != 0)
		close(fd);
	if (!buf)
		return -1;
	*data = buf;
	*len = n;
	return 0;
}

/* One line for each rlimit or pids limit the command ran into, naming
 * the option that raises it (timeouts and OOM kills have their own). */
static void say_limits(const struct monkey_result *res,
		       const struct monkey_exec_options *o, const char *prog)
{
	if (res->limits_hit & MONKEY_LIMIT_PIDS)
		monkey_cli_error("%s hit the process limit (--pids %lld); "
				 "raise it with --pids N",
				 prog, (long long)o->pids);
	if (res->limits_hit & MONKEY_LIMIT_CPU_TIME)
		monkey_cli_error("%s hit the CPU-time limit (--cpu-time %llu) "
				 "and was killed; raise it with --cpu-time SEC",
				 prog, (unsigned long long)o->cpu_time_s);
	if (res->limits_hit & MONKEY_LIMIT_FILE_SIZE)
		monkey_cli_error("%s hit the file-size limit (--file-size "
				 "%llu); raise it with --file-size BYTES",
				 prog, (unsigned long long)o->file_size_bytes);
	if (res->limits_hit & MONKEY_LIMIT_OPEN_FILES)
		monkey_cli_error("%s hit the open-files limit (--open-files "
				 "%llu); raise it with --open-files N",
				 prog, (unsigned long long)o->open_files);
}

/* The egress proxy's connections: each one with -v, and the refused
 * hosts always, with the option that would let them through (host names
 * come from the sandbox: escaped). */
static void say_network(const struct monkey_result *res, bool verbose)
{
	if (!res->proxied)
		return;
	const struct monkey_proxy_report *n = &res->network;
	char line[1024];
	for (size_t i = 0; verbose && i < n->n_records; i++) {
		monkey_proxy_record_line(&n->records[i], line, sizeof(line));
		monkey_cli_error("proxy: %s", line);
	}
	if (verbose && n->dropped)
		monkey_cli_error("proxy: %llu more connections not recorded",
				 (unsigned long long)n->dropped);
	for (size_t i = 0; i < n->n_denied; i++)
		monkey_cli_error("the egress proxy refused %s; --allow-domain "
				 "lets a host through",
				 n->denied[i]);
}

static void help(void)
{
	printf(
	    "Usage: monkey exec [OPTIONS] [--] CMD [ARG...]\n"
	    "\n"
	    "Runs one command (an argv, never a shell string) through a "
	    "sandbox backend.\n"
	    "\n"
	    "  --json          print one JSON object with the result instead "
	    "of\n"
	    "                  passing output through\n"
	    "  --stdin FILE    feed FILE (or - for monkey's stdin) to the "
	    "command;\n"
	    "                  default /dev/null\n"
	    "  -v, --verbose   list every connection through the egress "
	    "proxy\n"
	    "  -h, --help      show this help\n"
	    "\n%s\n"
	    "Exit status: the command's; 124 timed out; 125 monkey or the "
	    "sandbox\n"
	    "failed; 126 not executable; 127 not found; 128+N killed by "
	    "signal N;\n"
	    "130 interrupted.\n"
	    "\n"
	    "Example: monkey exec --docker --memory 512 -- make test\n",
	    monkey_cli_sandbox_help);
}

enum { OPT_JSON = 1, OPT_STDIN, OPT_HELP };

static bool verbose;

/* Parses the options; returns -1 to go on (the command starts at
 * argv[optind]), or the exit status. */
static int parse(int argc, char **argv, struct monkey_cli_sandbox *s)
{
	static const struct option extra[] = {
	    {"json", no_argument, NULL, OPT_JSON},
	    {"stdin", required_argument, NULL, OPT_STDIN},
	    {"help", no_argument, NULL, 'h'},
	    {"verbose", no_argument, NULL, 'v'},
	    {0},
	};
	_cleanup_free_ struct option *longopts = monkey_cli_longopts(extra);
	if (!longopts)
		return MONKEY_EXIT_FAILURE;
	struct monkey_error err = {0};
	int c;
	opterr = 1;
	optind = 1;
	/* "+": options stop at the command, so its own flags are its own. */
	while ((c = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
		int r = monkey_cli_sandbox_option(s, c, optarg, &err);
		if (r < 0) {
			monkey_cli_error("%s", err.message);
			return MONKEY_EXIT_FAILURE;
		}
		if (r > 0)
			continue;
		switch (c) {
		case OPT_JSON:
			s->json = true;
			break;
		case OPT_STDIN:
			s->stdin_file = optarg;
			s->opts.explicit_set |= MONKEY_OPT_STDIN;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			monkey_cli_error("try 'monkey exec --help'");
			return MONKEY_EXIT_FAILURE;
		}
	}
	if (optind >= argc) {
		monkey_cli_error("exec: no command given; usage: monkey exec "
				 "[OPTIONS] -- CMD [ARG...]");
		return MONKEY_EXIT_FAILURE;
	}
	return -1;
}

/* With --json, a failure to open the executor is a result too. */
static void print_open_failure(const struct monkey_cli_sandbox *s,
			       const struct monkey_error *err)
{
	struct monkey_result res = {.exit_code = MONKEY_EXIT_FAILURE,
				    .oom_killed = MONKEY_UNKNOWN,
				    .peak_memory_bytes = -1,
				    .cpu_user_ms = -1,
				    .cpu_system_ms = -1};
	snprintf(res.error, sizeof(res.error), "%s", err->message);
	const char *req =
	    s->opts.sandbox ? s->opts.sandbox : MONKEY_DEFAULT_SANDBOX;
	_cleanup_json_ struct json_object *o =
	    monkey_result_to_json(&res, req, req, false);
	json_object_object_add(o, "sandbox", NULL);
	monkey_cli_print_json(
	    stdout, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/* What the command did, said the way the user asked for. */
static void report(struct monkey_executor *ex,
		   const struct monkey_cli_sandbox *s, const char *prog,
		   const struct monkey_result *res)
{
	if (s->json) {
		_cleanup_json_ struct json_object *o =
		    monkey_result_to_json(res, monkey_executor_backend_name(ex),
					  monkey_executor_requested_name(ex),
					  monkey_executor_fell_back(ex));
		monkey_cli_print_json(
		    stdout, json_object_to_json_string_ext(
				o, JSON_C_TO_STRING_PLAIN |
				       JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	}
	if (res->error[0])
		monkey_cli_error("%s", res->error);
	else if (res->timed_out)
		monkey_cli_error("%s timed out and was killed (--timeout "
				 "%lld ms); raise it with --timeout MS",
				 prog, (long long)s->opts.timeout_ms);
	else if (res->cancelled)
		monkey_cli_error("%s was interrupted and stopped", prog);
	if (res->oom_killed == MONKEY_YES)
		monkey_cli_error("%s ran out of memory and was killed "
				 "(--memory %llu MB); raise it with --memory "
				 "MB",
				 prog, (unsigned long long)s->opts.memory_mb);
	say_limits(res, &s->opts, prog);
	say_network(res, verbose);
}

/* Open the executor, run the command, report; the exit status. */
static int run(struct monkey_cli_sandbox *s, const char *const *argv,
	       const char *stdin_data, size_t stdin_len)
{
	struct monkey_error err = {0};
	struct monkey_executor *ex = NULL;
	install_signals();
	if (monkey_executor_open(&s->opts, &ex, &err) < 0) {
		if (s->json)
			print_open_failure(s, &err);
		monkey_cli_open_error(s, err.message);
		return MONKEY_EXIT_FAILURE;
	}
	running = ex;
	if (caught_signal)
		monkey_executor_cancel(ex);
	struct monkey_command cmd = {
	    .argv = argv,
	    .stdin_data = stdin_data,
	    .stdin_len = stdin_len,
	    .has_stdin = s->stdin_file != NULL,
	    .tee = s->json ? NULL : passthrough,
	};
	struct monkey_result res;
	int status = MONKEY_EXIT_FAILURE;
	if (monkey_executor_run(ex, &cmd, &res, &err) < 0) {
		monkey_cli_error("%s", err.message);
	} else {
		status = res.exit_code;
		if (res.cancelled && caught_signal)
			status = 128 + caught_signal;
		report(ex, s, argv[0], &res);
		monkey_result_free(&res);
	}
	running = NULL;
	monkey_executor_close(ex);
	fflush(stdout);
	return status;
}

int monkey_cli_exec(int argc, char **argv)
{
	struct monkey_cli_sandbox s;
	monkey_cli_sandbox_init(&s);
	_cleanup_free_ char *stdin_data = NULL;
	size_t stdin_len = 0;
	int status = parse(argc, argv, &s);
	if (status < 0 && s.stdin_file &&
	    read_stdin_file(s.stdin_file, &stdin_data, &stdin_len) < 0)
		status = MONKEY_EXIT_FAILURE;
	if (status < 0) {
		monkey_cli_sandbox_finish(&s);
		status = run(&s, (const char *const *)(argv + optind),
			     stdin_data, stdin_len);
	}
	monkey_cli_sandbox_free(&s);
	return status;
}
