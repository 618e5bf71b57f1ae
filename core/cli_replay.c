/* "monkey replay FILE": run a transcript's shell commands again through any
 * backend and report, per command, whether exit code and output match. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "approval.h"
#include "cli.h"
#include "replay.h"

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
	       "match the recording. By default the commands run in the "
	       "recorded\n"
	       "workspace with the recorded backend; sandbox options change "
	       "that.\n"
	       "File edits made by the agent's file tools are not replayed.\n"
	       "\n"
	       "  -v, --verbose   show the details of every command\n"
	       "  -h, --help      show this help\n"
	       "\n%s\n"
	       "Exit status: 0 every command matched; 1 some did not; 2 bad "
	       "usage or\n"
	       "transcript; 130 interrupted.\n",
	       monkey_cli_sandbox_help);
}

static void report(size_t i, size_t n, const struct replay_command *c,
		   const struct replay_check *chk, bool verbose)
{
	_cleanup_free_ char *cmd =
	    monkey_quote_argv((const char *const *)c->argv.v);
	if (chk->skipped) {
		monkey_cli_line(stdout, "[%zu/%zu] skipped   $ %s", i, n,
				cmd ? cmd : "?");
		monkey_cli_line(stdout, "          %s", chk->reason);
		return;
	}
	bool ok = replay_matches(chk);
	monkey_cli_line(stdout, "[%zu/%zu] %s  $ %s", i, n,
			ok ? "match    " : "MISMATCH ", cmd ? cmd : "?");
	if (!ok || verbose) {
		printf("          exit %d (recorded %d)%s\n", chk->exit_code,
		       c->exit_code, chk->exit_match ? "" : "  <- differs");
		printf("          stdout %llu bytes (recorded %llu)%s\n",
		       (unsigned long long)chk->stdout_bytes,
		       (unsigned long long)c->stdout_bytes,
		       chk->stdout_match ? "" : "  <- differs");
		printf("          stderr %llu bytes (recorded %llu)%s\n",
		       (unsigned long long)chk->stderr_bytes,
		       (unsigned long long)c->stderr_bytes,
		       chk->stderr_match ? "" : "  <- differs");
		if (chk->error[0])
			monkey_cli_line(stdout, "          sandbox: %s",
					chk->error);
	}
}

int monkey_cli_replay(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct monkey_cli_sandbox s;
	monkey_cli_sandbox_init(&s);
	struct replay_log log = {0};
	_cleanup_free_ struct option *longopts = monkey_cli_longopts(extra);
	bool verbose = false;
	int status = 2, c;
	if (!longopts)
		goto out;
	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		int r = monkey_cli_sandbox_option(&s, c, optarg);
		if (r < 0)
			goto out;
		if (r > 0)
			continue;
		if (c == 'v') {
			verbose = true;
		} else if (c == 'h') {
			help();
			status = 0;
			goto out;
		} else {
			monkey_cli_error("try 'monkey replay --help'");
			goto out;
		}
	}
	if (optind + 1 != argc) {
		monkey_cli_error(optind >= argc
				     ? "replay: no transcript given; usage: "
				       "monkey replay FILE [OPTIONS]"
				     : "replay: give one transcript file");
		goto out;
	}
	struct monkey_error err = {0};
	if (replay_load(argv[optind], &log, &err) < 0) {
		monkey_cli_error("%s", err.message);
		goto out;
	}
	/* The recording's workspace and backend, unless told otherwise. */
	if (!s.opts.workspace) {
		struct stat st;
		if (!log.workspace || stat(log.workspace, &st) < 0) {
			monkey_cli_error("replay: the recorded workspace %s "
					 "does not exist; pass --workspace DIR",
					 log.workspace ? log.workspace
						       : "(none)");
			goto out;
		}
		s.opts.workspace = log.workspace;
	}
	if (!s.opts.sandbox && !getenv("MONKEY_SANDBOX") && log.backend)
		s.opts.sandbox = log.backend;
	/* ... and its limits and image, except those given on the command
	 * line: a replay should run each command as it ran. */
	if (log.has_limits) {
		uint32_t set = s.opts.explicit_set;
		if (!s.opts.image && log.image)
			s.opts.image = log.image;
		if (!(set & MONKEY_OPT_MEMORY) && log.memory_mb > 0)
			s.opts.memory_mb = (uint64_t)log.memory_mb;
		if (!(set & MONKEY_OPT_CPUS) && log.cpus > 0)
			s.opts.cpus = log.cpus;
		if (!(set & MONKEY_OPT_PIDS) && log.pids > 0)
			s.opts.pids = log.pids;
		if (!(set & MONKEY_OPT_NETWORK))
			s.opts.network = log.network;
		if (!(set & MONKEY_OPT_READ_ONLY))
			s.opts.read_only = log.read_only;
		if (!s.timeout_set && log.timeout_ms >= 0)
			s.opts.timeout_ms = log.timeout_ms;
	}
	monkey_cli_sandbox_finish(&s);
	struct monkey_executor *ex = NULL;
	if (monkey_executor_open(&s.opts, &ex, &err) < 0) {
		monkey_cli_open_error(&s, err.message);
		status = 1;
		goto out;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	running = ex;
	monkey_cli_line(
	    stdout, "replaying %zu command%s of %s in %s with the %s sandbox",
	    log.n, log.n == 1 ? "" : "s", argv[optind],
	    monkey_executor_workspace(ex), monkey_executor_backend_name(ex));
	size_t matched = 0, differ = 0, skipped = 0;
	status = 0;
	for (size_t i = 0; i < log.n && !interrupted; i++) {
		struct replay_check chk;
		if (replay_run(ex, &log.cmds[i], &chk, &err) < 0) {
			monkey_cli_error("%s", err.message);
			status = 1;
			break;
		}
		if (interrupted)
			break;
		report(i + 1, log.n, &log.cmds[i], &chk, verbose);
		fflush(stdout);
		if (chk.skipped)
			skipped++;
		else if (replay_matches(&chk))
			matched++;
		else
			differ++;
	}
	running = NULL;
	monkey_executor_close(ex);
	printf("replay: %zu matched, %zu mismatched, %zu skipped\n", matched,
	       differ, skipped);
	if (differ)
		status = 1;
	if (interrupted) {
		monkey_cli_error("replay interrupted");
		status = 130;
	}
out:
	replay_log_free(&log);
	monkey_cli_sandbox_free(&s);
	return status;
}
