/* The approval prompt of "monkey agent --require-approval": the command
 * (quoted) or the file change (a short diff) is shown escaped, and the
 * person answers y, n or a on the terminal. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <monkey/agent.h>

#include "cli.h"

/* One line from fd 0, without stdio buffering (the rest of the input
 * stays for the next prompt).  Returns its length, -1 on EOF, -2 when
 * interrupted. */
static int read_answer(char *buf, size_t size)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			return -2;
		if (r <= 0)
			return n ? (int)n : -1;
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return (int)n;
}

void monkey_cli_show_diff(const char *diff)
{
	for (const char *p = diff; p && *p;) {
		size_t n = strcspn(p, "\n");
		monkey_cli_line(stderr, "  %.*s", (int)n, p);
		p += n;
		p += *p == '\n';
	}
}

const char *monkey_cli_change_verb(const struct monkey_agent_tool_event *ev)
{
	return ev->creates			    ? "create"
	       : strcmp(ev->name, "edit_file") == 0 ? "edit"
						    : "replace";
}

/* What the agent asks to do, escaped: the working directory comes from the
 * model and is not checked yet. */
static void show(const struct monkey_agent_tool_event *ev)
{
	fputc('\n', stderr);
	if (ev->display) {
		bool in = ev->workdir && strcmp(ev->workdir, ".");
		monkey_cli_line(stderr, "monkey: the agent wants to run%s%s:",
				in ? " in " : "", in ? ev->workdir : "");
		monkey_cli_line(stderr, "  %s", ev->display);
		return;
	}
	monkey_cli_line(stderr,
			"monkey: the agent wants to %s %s (+%zu -%zu "
			"lines):",
			monkey_cli_change_verb(ev), ev->path, ev->lines_added,
			ev->lines_removed);
	monkey_cli_show_diff(ev->diff);
}

int monkey_cli_approve(void *ctx, const struct monkey_agent_tool_event *ev,
		       const char **reason)
{
	bool *shown = ctx;
	if (!isatty(STDIN_FILENO)) {
		*reason = "approval is required but there is no terminal to "
			  "ask (monkey's standard input is not a terminal; "
			  "run with --yes to approve every command and file "
			  "change)";
		return MONKEY_APPROVAL_DENY;
	}
	show(ev);
	if (shown)
		*shown = true;
	for (;;) {
		fprintf(stderr,
			"Allow? [y]es / [n]o / [a]lways this session: ");
		fflush(stderr);
		char line[64];
		int n = read_answer(line, sizeof(line));
		if (n == -2) {
			fputc('\n', stderr);
			*reason = "interrupted at the approval prompt";
			return MONKEY_APPROVAL_DENY;
		}
		if (n == -1) {
			fputc('\n', stderr);
			*reason = "no answer (end of input at the approval "
				  "prompt)";
			return MONKEY_APPROVAL_DENY;
		}
		char *a = line + strspn(line, " \t");
		a[strcspn(a, " \t\r")] = '\0';
		if (!strcasecmp(a, "y") || !strcasecmp(a, "yes"))
			return MONKEY_APPROVAL_ONCE;
		if (!strcasecmp(a, "a") || !strcasecmp(a, "always"))
			return MONKEY_APPROVAL_ALWAYS;
		if (!strcasecmp(a, "n") || !strcasecmp(a, "no")) {
			*reason = "the user denied it";
			return MONKEY_APPROVAL_DENY;
		}
		fprintf(stderr, "Please answer y, n or a.\n");
	}
}
