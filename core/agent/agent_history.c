/* Conversation history: messages of text, tool calls and tool results, and
 * the compaction that keeps a run of hundreds of tool calls bounded. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent_history.h"
#include "capture.h"

#define DROPPED_NOTE_PREFIX "[monkey: "

bool agent_json_is_object(const char *s)
{
	if (!s)
		return false;
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return false;
	json_object *o = json_tokener_parse_ex(tok, s, (int)strlen(s));
	bool ok = o && json_object_is_type(o, json_type_object) &&
		  json_tokener_get_error(tok) == json_tokener_success &&
		  tok->char_offset == (int)strlen(s);
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

static struct agent_block *add_block(struct agent_message *m)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 4;
		struct agent_block *b = realloc(m->blocks, cap * sizeof(*b));
		if (!b)
			return NULL;
		m->blocks = b;
		m->cap = cap;
	}
	struct agent_block *b = &m->blocks[m->n];
	memset(b, 0, sizeof(*b));
	return b;
}

static void block_free(struct agent_block *b)
{
	free(b->text);
	free(b->id);
	free(b->name);
	free(b->input);
	memset(b, 0, sizeof(*b));
}

int agent_message_add_text(struct agent_message *m, const char *text)
{
	struct agent_block *b = add_block(m);
	if (!b || !(b->text = strdup(text)))
		return -ENOMEM;
	b->type = AGENT_BLOCK_TEXT;
	m->n++;
	return 0;
}

int agent_message_add_tool_use(struct agent_message *m, const char *id,
			       const char *name, const char *input)
{
	struct agent_block *b = add_block(m);
	if (!b)
		return -ENOMEM;
	b->type = AGENT_BLOCK_TOOL_USE;
	b->id = strdup(id);
	b->name = strdup(name);
	b->input = strdup(input && *input ? input : "{}");
	if (!b->id || !b->name || !b->input) {
		block_free(b);
		return -ENOMEM;
	}
	b->input_valid = agent_json_is_object(b->input);
	m->n++;
	return 0;
}

int agent_message_add_tool_result(struct agent_message *m, const char *id,
				  const char *content, bool is_error)
{
	struct agent_block *b = add_block(m);
	if (!b)
		return -ENOMEM;
	b->type = AGENT_BLOCK_TOOL_RESULT;
	b->id = strdup(id);
	b->text = strdup(content);
	b->is_error = is_error;
	if (!b->id || !b->text) {
		block_free(b);
		return -ENOMEM;
	}
	m->n++;
	return 0;
}

void agent_message_free(struct agent_message *m)
{
	for (size_t i = 0; i < m->n; i++)
		block_free(&m->blocks[i]);
	free(m->blocks);
	m->blocks = NULL;
	m->n = m->cap = 0;
}

int agent_history_push(struct agent_history *h, struct agent_message *m)
{
	/* Two messages of one role in a row are one turn (a reply that
	 * continues after pause_turn): merge them, so roles alternate. */
	if (h->n && h->msgs[h->n - 1].role == m->role) {
		struct agent_message *last = &h->msgs[h->n - 1];
		for (size_t i = 0; i < m->n; i++) {
			struct agent_block *b = add_block(last);
			if (!b)
				return -ENOMEM;
			*b = m->blocks[i];
			last->n++;
			memset(&m->blocks[i], 0, sizeof(m->blocks[i]));
		}
		agent_message_free(m);
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct agent_message *v = realloc(h->msgs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->msgs = v;
		h->cap = cap;
	}
	h->msgs[h->n++] = *m;
	memset(m, 0, sizeof(*m));
	return 0;
}

void agent_history_free(struct agent_history *h)
{
	for (size_t i = 0; i < h->n; i++)
		agent_message_free(&h->msgs[i]);
	free(h->msgs);
	memset(h, 0, sizeof(*h));
}

static size_t block_bytes(const struct agent_block *b)
{
	size_t n = 32; /* the block's own framing */
	if (b->text)
		n += strlen(b->text);
	if (b->id)
		n += strlen(b->id);
	if (b->name)
		n += strlen(b->name);
	if (b->input)
		n += strlen(b->input);
	return n;
}

static size_t message_bytes(const struct agent_message *m)
{
	size_t n = 16;
	for (size_t i = 0; i < m->n; i++)
		n += block_bytes(&m->blocks[i]);
	return n;
}

size_t agent_history_bytes(const struct agent_history *h)
{
	size_t n = 0;
	for (size_t i = 0; i < h->n; i++)
		n += message_bytes(&h->msgs[i]);
	return n;
}

/* Replace *s by its head+tail shortening when longer than max. */
static void shorten_in_place(char **s, size_t max)
{
	size_t len = strlen(*s);
	/* The omission marker makes a shortened text a little longer than
	 * max: leave room so that shortening is done once. */
	if (len <= max + 64)
		return;
	char *t = monkey_shorten(*s, len, max, NULL);
	if (t) {
		free(*s);
		*s = t;
	}
}

static void shorten_message(struct agent_message *m, size_t old_max)
{
	for (size_t i = 0; i < m->n; i++) {
		struct agent_block *b = &m->blocks[i];
		if (b->type == AGENT_BLOCK_TOOL_RESULT ||
		    b->type == AGENT_BLOCK_TEXT) {
			shorten_in_place(&b->text, old_max);
		} else if (b->type == AGENT_BLOCK_TOOL_USE && b->input &&
			   strlen(b->input) > old_max) {
			/* Arguments must stay a JSON object: say what was
			 * there instead of cutting JSON text in half. */
			char *stub = NULL;
			if (asprintf(&stub,
				     "{\"omitted\":\"%zu bytes of arguments "
				     "of this earlier call\"}",
				     strlen(b->input)) >= 0) {
				free(b->input);
				b->input = stub;
				b->input_valid = true;
			}
		}
	}
}

/* The task message carries one note saying how much was dropped. */
static void update_drop_note(struct agent_history *h)
{
	struct agent_message *m = &h->msgs[0];
	char *note = NULL;
	if (asprintf(&note,
		     DROPPED_NOTE_PREFIX
		     "%zu earlier messages were removed from this "
		     "conversation to keep it short; their effects on the "
		     "workspace remain]",
		     h->dropped) < 0)
		return;
	for (size_t i = 1; i < m->n; i++) {
		struct agent_block *b = &m->blocks[i];
		if (b->type == AGENT_BLOCK_TEXT &&
		    strncmp(b->text, DROPPED_NOTE_PREFIX,
			    strlen(DROPPED_NOTE_PREFIX)) == 0) {
			free(b->text);
			b->text = note;
			return;
		}
	}
	if (agent_message_add_text(m, note) < 0) {
		free(note);
		return;
	}
	free(note);
}

size_t agent_history_compact(struct agent_history *h, size_t old_max,
			     size_t budget)
{
	if (h->n < 2)
		return 0;
	/* The last two messages are the exchange the model acts on next. */
	for (size_t i = 1; i + 2 < h->n; i++)
		shorten_message(&h->msgs[i], old_max);
	size_t dropped = 0;
	/* Drop whole exchanges (assistant + the user message answering it),
	 * so roles keep alternating and every tool_use keeps its result. */
	while (agent_history_bytes(h) > budget && h->n >= 5 &&
	       h->msgs[1].role == AGENT_ROLE_ASSISTANT &&
	       h->msgs[2].role == AGENT_ROLE_USER) {
		agent_message_free(&h->msgs[1]);
		agent_message_free(&h->msgs[2]);
		memmove(&h->msgs[1], &h->msgs[3],
			(h->n - 3) * sizeof(h->msgs[0]));
		h->n -= 2;
		dropped += 2;
	}
	if (dropped) {
		h->dropped += dropped;
		update_drop_note(h);
	}
	return dropped;
}
