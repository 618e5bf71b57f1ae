/* libmonkey-demo - monkey used from C without the CLI: built against the
 * installed libmonkey (pkg-config monkey), it runs one command through the
 * sandbox executor and reads its result, or runs an agent task. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/agent.h>
#include <monkey/exec.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: libmonkey-demo exec [OPTIONS] CMD [ARG...]\n"
		"       libmonkey-demo agent [OPTIONS] [-p PROVIDER] [-u URL] "
		"[-m MODEL] TASK\n"
		"\n"
		"  -s NAME   sandbox backend (default spawn)\n"
		"  -d DIR    look for backends in DIR first\n"
		"  -w DIR    workspace (default: the current directory)\n"
		"  -p NAME   agent provider: anthropic or openai\n"
		"  -u URL    agent API base URL\n"
		"  -m NAME   agent model\n");
}

/* Notices (fallback, unenforced options, retries) come through here: the
 * library itself never prints. */
static void notice(void *ctx, int level, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "libmonkey-demo: %s%s\n",
		level >= MONKEY_LOG_WARNING ? "warning: " : "", msg);
}

static void print_stream(const char *label, const struct monkey_capture *c)
{
	size_t len = 0;
	char *s = monkey_capture_join(c, &len);
	printf("%s: %llu bytes%s\n", label, (unsigned long long)c->total,
	       c->truncated ? " (truncated)" : "");
	if (s && len) {
		fwrite(s, 1, len, stdout);
		if (s[len - 1] != '\n')
			putchar('\n');
	}
	free(s);
}

static int run_exec(struct monkey_exec_options *eo, char **argv)
{
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	if (monkey_executor_open(eo, &ex, &err) < 0) {
		fprintf(stderr, "libmonkey-demo: %s\n", err.message);
		return MONKEY_EXIT_FAILURE;
	}
	printf("sandbox: %s (requested %s%s)\n",
	       monkey_executor_backend_name(ex),
	       monkey_executor_requested_name(ex),
	       monkey_executor_fell_back(ex) ? ", fell back" : "");

	struct monkey_command cmd = {.argv = (const char *const *)argv};
	struct monkey_result res;
	if (monkey_executor_run(ex, &cmd, &res, &err) < 0) {
		fprintf(stderr, "libmonkey-demo: %s\n", err.message);
		monkey_executor_close(ex);
		return MONKEY_EXIT_FAILURE;
	}
	printf("exit: %d\n", res.exit_code);
	printf("timed out: %s\n", res.timed_out ? "yes" : "no");
	if (res.error[0])
		printf("error: %s\n", res.error);
	print_stream("stdout", &res.out);
	print_stream("stderr", &res.err);
	int status = res.exit_code;
	monkey_result_free(&res);
	monkey_executor_close(ex);
	return status;
}

static void on_text(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	fwrite(text, 1, len, stdout);
	fflush(stdout);
}

static void on_tool_start(void *ctx, const struct monkey_agent_tool_event *ev)
{
	(void)ctx;
	printf("\n[tool %s] %s\n", ev->name,
	       ev->display ? ev->display : ev->arguments);
}

static void on_tool_end(void *ctx, const struct monkey_agent_tool_event *ev)
{
	(void)ctx;
	if (ev->result)
		printf("[tool %s] exit %d\n", ev->name, ev->result->exit_code);
	else
		printf("[tool %s] %s\n", ev->name,
		       ev->is_error ? "error" : "done");
}

static const char *end_name(int end)
{
	switch (end) {
	case MONKEY_AGENT_END_ANSWER:
		return "answer";
	case MONKEY_AGENT_END_MAX_ITERATIONS:
		return "max-iterations";
	case MONKEY_AGENT_END_MAX_TOKENS:
		return "max-tokens";
	case MONKEY_AGENT_END_REFUSAL:
		return "refusal";
	case MONKEY_AGENT_END_CANCELLED:
		return "cancelled";
	default:
		return "error";
	}
}

static int run_agent(struct monkey_exec_options *eo,
		     struct monkey_agent_options *ao, const char *task)
{
	struct monkey_agent *agent = NULL;
	struct monkey_error err = {0};
	ao->cb.text = on_text;
	ao->cb.notice = notice;
	ao->cb.tool_start = on_tool_start;
	ao->cb.tool_end = on_tool_end;
	/* Nobody is at a terminal to approve commands: run them all. */
	ao->auto_approve = true;
	if (monkey_agent_open(ao, eo, &agent, &err) < 0) {
		fprintf(stderr, "libmonkey-demo: %s\n", err.message);
		return 2;
	}
	printf("model: %s via %s\n", monkey_agent_model(agent),
	       monkey_agent_provider_name(agent));
	printf("sandbox: %s\n", monkey_executor_backend_name(
					monkey_agent_executor(agent)));

	struct monkey_agent_report rep;
	int r = monkey_agent_run(agent, task, &rep, &err);
	printf("\nend: %s after %d iterations and %d tool calls\n",
	       end_name(rep.end), rep.iterations, rep.tool_calls);
	if (rep.final_text)
		printf("final: %s\n", rep.final_text);
	if (r < 0)
		fprintf(stderr, "libmonkey-demo: %s\n", err.message);
	if (monkey_agent_transcript_path(agent))
		printf("transcript: %s\n", monkey_agent_transcript_path(agent));
	int status = rep.end == MONKEY_AGENT_END_ANSWER && r == 0 ? 0 : 1;
	monkey_agent_report_free(&rep);
	monkey_agent_close(agent);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *mode = argv[1];
	struct monkey_exec_options eo;
	struct monkey_agent_options ao;
	monkey_exec_options_init(&eo);
	monkey_agent_options_init(&ao);
	eo.notify = notice;

	int c;
	optind = 2;
	/* "+": the command's own options are its own. */
	while ((c = getopt(argc, argv, "+s:d:w:p:u:m:h")) != -1) {
		switch (c) {
		case 's':
			eo.sandbox = optarg;
			break;
		case 'd':
			eo.backend_dir = optarg;
			break;
		case 'w':
			eo.workspace = optarg;
			break;
		case 'p':
			if (!strcmp(optarg, "anthropic"))
				ao.provider = MONKEY_PROVIDER_ANTHROPIC;
			else if (!strcmp(optarg, "openai"))
				ao.provider = MONKEY_PROVIDER_OPENAI;
			else {
				fprintf(stderr, "libmonkey-demo: -p %s: "
						"expected anthropic or openai\n",
					optarg);
				return 2;
			}
			break;
		case 'u':
			ao.base_url = optarg;
			break;
		case 'm':
			ao.model = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!strcmp(mode, "exec") && optind < argc)
		return run_exec(&eo, argv + optind);
	if (!strcmp(mode, "agent") && optind + 1 == argc)
		return run_agent(&eo, &ao, argv[optind]);
	usage(stderr);
	return 2;
}
