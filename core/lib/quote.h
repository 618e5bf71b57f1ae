/* Showing a command to a person: argv quoted so that it reads like a
 * shell line and cannot smuggle terminal control sequences. */
#ifndef MONKEY_QUOTE_H
#define MONKEY_QUOTE_H

/* Words made only of safe characters stay bare; others are single-quoted;
 * anything monkey_esc_scan (escape.h) would escape turns the word into
 * $'...' with escapes.  Caller frees; NULL on allocation failure. */
char *monkey_quote_argv(const char *const *argv);

#endif
