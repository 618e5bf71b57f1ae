/* monkey: command-line entry point; dispatches to the subcommands. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: monkey COMMAND [OPTIONS]\n"
	    "\n"
	    "Runs an LLM coding agent whose every shell command goes through "
	    "a\n"
	    "sandbox backend (spawn, docker, none, or a third-party module).\n"
	    "\n"
	    "Commands:\n"
	    "  agent   --task TEXT [OPTIONS]      run the agent on a task\n"
	    "  exec    [OPTIONS] -- CMD [ARG...]  run one command in the "
	    "sandbox\n"
	    "  replay  FILE [OPTIONS]             re-run a transcript's "
	    "commands\n"
	    "  sandbox list | info NAME           show the installed backends\n"
	    "  sandbox verify NAME                check a backend's claims by "
	    "attack\n"
	    "  cache   list | prune [NAME...]     the dependency caches of "
	    "--cache\n"
	    "  audit   verify FILE [--key KEY]    check an audit log's hash "
	    "chain\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help     show this help (\"monkey COMMAND --help\" for a "
	    "command)\n"
	    "  -V, --version  show the version\n"
	    "\n"
	    "Exit status of exec: the command's; 124 timed out; 125 monkey or "
	    "the\n"
	    "sandbox failed; 126 not executable; 127 not found; 128+N killed "
	    "by\n"
	    "signal N.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("monkey %s (backend ABI %d.%d)\n"
		       "backend directory: %s\n"
		       "backends built with it: %s\n",
		       PACKAGE_VERSION, MONKEY_BACKEND_ABI_MAJOR,
		       MONKEY_BACKEND_ABI_MINOR, MONKEY_BACKEND_DIR,
		       MONKEY_BUILT_BACKENDS[0] ? MONKEY_BUILT_BACKENDS
						: "(none)");
		return 0;
	}
	if (!strcmp(cmd, "exec"))
		return monkey_cli_exec(argc - 1, argv + 1);
	if (!strcmp(cmd, "sandbox"))
		return monkey_cli_sandbox(argc - 1, argv + 1);
	if (!strcmp(cmd, "agent"))
		return monkey_cli_agent(argc - 1, argv + 1);
	if (!strcmp(cmd, "replay"))
		return monkey_cli_replay(argc - 1, argv + 1);
	if (!strcmp(cmd, "cache"))
		return monkey_cli_cache(argc - 1, argv + 1);
	if (!strcmp(cmd, "audit"))
		return monkey_cli_audit(argc - 1, argv + 1);
	monkey_cli_error("unknown command '%s'; try 'monkey --help'", cmd);
	return 2;
}
