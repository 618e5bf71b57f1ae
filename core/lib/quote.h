/* Showing a command to a person before it runs: argv quoted so that it
 * reads like a shell line and cannot smuggle terminal control sequences. */
#ifndef MONKEY_QUOTE_H
#define MONKEY_QUOTE_H

/* Words made only of safe characters stay bare; others are single-quoted;
 * anything monkey_esc_scan (escape.h) would escape turns the word into
 * $'...' with escapes.  Caller frees; NULL on allocation failure. */
char *monkey_quote_argv(const char *const *argv);

/* The CLI's cb.approve (approval_tty.c, in the monkey program, not the
 * library): asks y / n / a on the terminal at standard input; denies when
 * standard input is not a terminal.  ctx, when not NULL, is a bool set to
 * true once the call was shown to the user. */
struct monkey_agent_tool_event;
int monkey_cli_approve(void *ctx, const struct monkey_agent_tool_event *ev,
		       const char **reason);
/* Print ev->diff of a file change to stderr, indented and escaped. */
void monkey_cli_show_diff(const char *diff);
/* "create", "edit" or "replace" for a file change. */
const char *monkey_cli_change_verb(const struct monkey_agent_tool_event *ev);

#endif
