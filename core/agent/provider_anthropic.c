/* Anthropic Messages API: the request body, the headers, and the streamed
 * events (message_start, content_block_start/delta/stop, message_delta,
 * message_stop, ping, error). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "provider.h"
#include "util.h"

#define ANTHROPIC_VERSION "2023-06-01"

/* json_object_object_add that tolerates a NULL value (allocation failed)
 * by leaving a null behind; the caller checks the final serialisation. */
static void put(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static json_object *input_object(const struct agent_block *b)
{
	json_object *in = NULL;
	if (b->input_valid)
		in = json_tokener_parse(b->input);
	if (!in || !json_object_is_type(in, json_type_object)) {
		json_object_put(in);
		in = json_object_new_object();
	}
	return in;
}

static json_object *block_json(const struct agent_block *b)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	switch (b->type) {
	case AGENT_BLOCK_TEXT:
		put(o, "type", json_object_new_string("text"));
		put(o, "text", json_object_new_string(b->text));
		break;
	case AGENT_BLOCK_TOOL_USE:
		put(o, "type", json_object_new_string("tool_use"));
		put(o, "id", json_object_new_string(b->id));
		put(o, "name", json_object_new_string(b->name));
		put(o, "input", input_object(b));
		break;
	case AGENT_BLOCK_TOOL_RESULT:
		put(o, "type", json_object_new_string("tool_result"));
		put(o, "tool_use_id", json_object_new_string(b->id));
		put(o, "content", json_object_new_string(b->text));
		put(o, "is_error", json_object_new_boolean(b->is_error));
		break;
	}
	return o;
}

static json_object *tools_json(const struct provider *p)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; arr && i < p->n_tools; i++) {
		json_object *t = json_object_new_object();
		put(t, "name", json_object_new_string(p->tools[i].name));
		put(t, "description",
		    json_object_new_string(p->tools[i].description));
		put(t, "input_schema", json_tokener_parse(p->tools[i].schema));
		json_object_array_add(arr, t);
	}
	return arr;
}

static char *build_body(const struct provider *p, const struct agent_history *h)
{
	json_object *root = json_object_new_object();
	if (!root)
		return NULL;
	put(root, "model", json_object_new_string(p->model));
	put(root, "max_tokens",
	    json_object_new_int(p->max_tokens > 0 ? p->max_tokens : 8192));
	put(root, "stream", json_object_new_boolean(1));
	if (p->system)
		put(root, "system", json_object_new_string(p->system));
	if (p->n_tools)
		put(root, "tools", tools_json(p));
	json_object *msgs = json_object_new_array();
	for (size_t i = 0; msgs && i < h->n; i++) {
		const struct agent_message *m = &h->msgs[i];
		json_object *mo = json_object_new_object();
		json_object *content = json_object_new_array();
		put(mo, "role",
		    json_object_new_string(
			m->role == AGENT_ROLE_USER ? "user" : "assistant"));
		for (size_t j = 0; content && j < m->n; j++) {
			/* The API refuses empty text blocks. */
			if (m->blocks[j].type == AGENT_BLOCK_TEXT &&
			    !m->blocks[j].text[0])
				continue;
			json_object_array_add(content,
					      block_json(&m->blocks[j]));
		}
		put(mo, "content", content);
		json_object_array_add(msgs, mo);
	}
	put(root, "messages", msgs);
	const char *s = json_object_to_json_string_ext(
	    root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *body = s ? strdup(s) : NULL;
	json_object_put(root);
	return body;
}

static struct curl_slist *headers(const struct provider *p,
				  struct curl_slist *list)
{
	char *key = monkey_strdup_printf("x-api-key: %s", p->api_key);
	if (!key)
		return NULL;
	list = curl_slist_append(list, key);
	memset(key, 0, strlen(key));
	free(key);
	if (list)
		list = curl_slist_append(
		    list, "anthropic-version: " ANTHROPIC_VERSION);
	return list;
}

static const char *str_field(json_object *o, const char *k)
{
	json_object *v;
	if (o && json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static json_object *obj_field(json_object *o, const char *k)
{
	json_object *v;
	if (o && json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_object))
		return v;
	return NULL;
}

static int map_stop(const char *r)
{
	if (!r)
		return PROVIDER_STOP_NONE;
	if (!strcmp(r, "end_turn") || !strcmp(r, "stop_sequence"))
		return PROVIDER_STOP_END_TURN;
	if (!strcmp(r, "tool_use"))
		return PROVIDER_STOP_TOOL_USE;
	if (!strcmp(r, "max_tokens") ||
	    !strcmp(r, "model_context_window_exceeded"))
		return PROVIDER_STOP_MAX_TOKENS;
	if (!strcmp(r, "refusal"))
		return PROVIDER_STOP_REFUSAL;
	if (!strcmp(r, "pause_turn"))
		return PROVIDER_STOP_PAUSE;
	return PROVIDER_STOP_OTHER;
}

/* The block an event refers to by "index". */
static struct stream_block *indexed(struct provider_stream *s, json_object *o,
				    const char *event, bool must_exist)
{
	json_object *v;
	if (!json_object_object_get_ex(o, "index", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 ||
	    json_object_get_int64(v) >= PROVIDER_MAX_BLOCKS) {
		provider_stream_fail(s, false, NULL,
				     "'%s' event without a valid index", event);
		return NULL;
	}
	size_t i = (size_t)json_object_get_int64(v);
	if (must_exist && (i >= s->n_blocks || !s->blocks[i].used)) {
		provider_stream_fail(s, false, NULL,
				     "'%s' event for block %zu, which was "
				     "never started",
				     event, i);
		return NULL;
	}
	struct stream_block *b = provider_stream_block(s, i);
	if (!b)
		provider_stream_fail(s, false, NULL, "out of memory");
	return b;
}

static int block_start(struct provider_stream *s, json_object *o)
{
	struct stream_block *b = indexed(s, o, "content_block_start", false);
	if (!b)
		return -EPROTO;
	json_object *cb = obj_field(o, "content_block");
	const char *type = str_field(cb, "type");
	if (!type)
		return provider_stream_fail(s, false, NULL,
					    "content_block_start without a "
					    "content_block type");
	b->used = true;
	if (!strcmp(type, "text")) {
		b->type = AGENT_BLOCK_TEXT;
		const char *t = str_field(cb, "text");
		if (t && *t) {
			size_t n = strlen(t);
			if (provider_stream_append(&b->text, &b->text_len,
						   &b->text_cap, t, n) < 0)
				return provider_stream_fail(
				    s, false, NULL, "text block too large");
			provider_text(s, t, n);
		}
	} else if (!strcmp(type, "tool_use")) {
		b->type = AGENT_BLOCK_TOOL_USE;
		free(b->id);
		free(b->name);
		b->id = strdup(str_field(cb, "id") ? str_field(cb, "id") : "");
		b->name =
		    strdup(str_field(cb, "name") ? str_field(cb, "name") : "");
		if (!b->id || !b->name)
			return provider_stream_fail(s, false, NULL,
						    "out of memory");
	} else {
		/* thinking, server tools, ...: not ours to send back. */
		b->type = -1;
		b->used = false;
	}
	return 0;
}

static int block_delta(struct provider_stream *s, json_object *o)
{
	struct stream_block *b = indexed(s, o, "content_block_delta", true);
	if (!b)
		return -EPROTO;
	json_object *d = obj_field(o, "delta");
	const char *type = str_field(d, "type");
	if (!type)
		return provider_stream_fail(s, false, NULL,
					    "content_block_delta without a "
					    "delta type");
	json_object *v;
	if (!strcmp(type, "text_delta") && b->type == AGENT_BLOCK_TEXT &&
	    json_object_object_get_ex(d, "text", &v)) {
		const char *t = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);
		if (provider_stream_append(&b->text, &b->text_len, &b->text_cap,
					   t, n) < 0)
			return provider_stream_fail(s, false, NULL,
						    "text block too large");
		provider_text(s, t, n);
	} else if (!strcmp(type, "input_json_delta") &&
		   b->type == AGENT_BLOCK_TOOL_USE &&
		   json_object_object_get_ex(d, "partial_json", &v)) {
		/* Fragments split anywhere, even inside a string or an
		 * escape; an empty fragment is legal. */
		const char *t = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);
		if (n && provider_stream_append(&b->input, &b->input_len,
						&b->input_cap, t, n) < 0)
			return provider_stream_fail(s, false, NULL,
						    "tool arguments too large");
	}
	return 0;
}

static int event(struct provider_stream *s, const char *ev, const char *data,
		 size_t len)
{
	if (!strcmp(ev, "ping"))
		return 0;
	enum json_tokener_error jerr = json_tokener_success;
	json_object *o = json_tokener_parse_verbose(data, &jerr);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return provider_stream_fail(
		    s, false, NULL,
		    "malformed JSON in the '%s' stream event (%s): %.80s", ev,
		    o ? "not an object" : json_tokener_error_desc(jerr), data);
	}
	(void)len;
	/* The data's own type wins: some proxies drop "event:" lines. */
	const char *type = str_field(o, "type");
	if (!type)
		type = ev;
	int r = 0;
	if (!strcmp(type, "message_start")) {
		json_object *u = obj_field(obj_field(o, "message"), "usage");
		json_object *v;
		if (u && json_object_object_get_ex(u, "input_tokens", &v))
			s->turn->input_tokens =
			    (uint64_t)json_object_get_int64(v);
	} else if (!strcmp(type, "content_block_start")) {
		r = block_start(s, o);
	} else if (!strcmp(type, "content_block_delta")) {
		r = block_delta(s, o);
	} else if (!strcmp(type, "message_delta")) {
		const char *stop =
		    str_field(obj_field(o, "delta"), "stop_reason");
		if (stop) {
			s->turn->stop = map_stop(stop);
			snprintf(s->turn->stop_raw, sizeof(s->turn->stop_raw),
				 "%s", stop);
		}
		json_object *u = obj_field(o, "usage"), *v;
		if (u && json_object_object_get_ex(u, "output_tokens", &v))
			s->turn->output_tokens =
			    (uint64_t)json_object_get_int64(v);
	} else if (!strcmp(type, "message_stop")) {
		s->done = true;
	} else if (!strcmp(type, "error")) {
		json_object *e = obj_field(o, "error");
		const char *et = str_field(e, "type");
		const char *em = str_field(e, "message");
		/* Overload and server errors mid-stream are what a 529 or
		 * 500 would have been before it. */
		bool retry = et && (!strcmp(et, "overloaded_error") ||
				    !strcmp(et, "api_error") ||
				    !strcmp(et, "rate_limit_error"));
		r = provider_stream_fail(s, retry, et ? et : "error", "%s",
					 em ? em : "error event in the stream");
	}
	/* content_block_stop and unknown events need nothing. */
	json_object_put(o);
	return r;
}

static void parse_error(const char *body, size_t len,
			struct provider_api_error *pe)
{
	(void)len;
	json_object *o = json_tokener_parse(body);
	json_object *e = obj_field(o, "error");
	const char *t = str_field(e, "type"), *m = str_field(e, "message");
	if (t)
		snprintf(pe->type, sizeof(pe->type), "%s", t);
	if (m)
		snprintf(pe->message, sizeof(pe->message), "%s", m);
	json_object_put(o);
}

const struct provider_ops provider_anthropic_ops = {
    .name = "anthropic",
    .key_var = "ANTHROPIC_API_KEY",
    .url_var = "ANTHROPIC_BASE_URL",
    .default_url = "https://api.anthropic.com",
    .path = "/v1/messages",
    .done_event = "message_stop",
    .build_body = build_body,
    .headers = headers,
    .event = event,
    .parse_error = parse_error,
};
