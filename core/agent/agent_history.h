/* The conversation as the agent keeps it, independent of any provider's
 * wire format, and the compaction that keeps it bounded. */
#ifndef MONKEY_AGENT_HISTORY_H
#define MONKEY_AGENT_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

enum agent_role {
	AGENT_ROLE_USER = 0,
	AGENT_ROLE_ASSISTANT = 1,
};

enum agent_block_type {
	AGENT_BLOCK_TEXT = 0,
	AGENT_BLOCK_TOOL_USE = 1,
	AGENT_BLOCK_TOOL_RESULT = 2,
};

struct agent_block {
	int type;
	char *text;  /* TEXT: the text; TOOL_RESULT: the content */
	char *id;    /* TOOL_USE: call id; TOOL_RESULT: the call it answers */
	char *name;  /* TOOL_USE: tool name */
	char *input; /* TOOL_USE: arguments, JSON text as received */
	bool input_valid; /* input is a JSON object (else sent back as {}) */
	bool is_error;	  /* TOOL_RESULT */
};

struct agent_message {
	int role;
	struct agent_block *blocks;
	size_t n, cap;
};

struct agent_history {
	struct agent_message *msgs;
	size_t n, cap;
	size_t dropped; /* messages removed by compaction */
};

/* All return 0 or -ENOMEM.  Strings are copied. */
int agent_message_add_text(struct agent_message *m, const char *text);
int agent_message_add_tool_use(struct agent_message *m, const char *id,
			       const char *name, const char *input);
int agent_message_add_tool_result(struct agent_message *m, const char *id,
				  const char *content, bool is_error);
void agent_message_free(struct agent_message *m);

/* Append m, taking over its blocks (m is left empty).  A message of the
 * same role as the last one is merged into it. */
int agent_history_push(struct agent_history *h, struct agent_message *m);
void agent_history_free(struct agent_history *h);
/* Bytes of text held (what a request body roughly grows with). */
size_t agent_history_bytes(const struct agent_history *h);

/* Keep the history bounded: tool results and arguments older than the
 * last exchange are shortened to old_max bytes; while the whole is larger
 * than budget, the oldest exchanges after the task are dropped and the
 * task message says so.  Returns how many messages were dropped now. */
size_t agent_history_compact(struct agent_history *h, size_t old_max,
			     size_t budget);

/* True when s parses as a JSON object. */
bool agent_json_is_object(const char *s);

#endif
