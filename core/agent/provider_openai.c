/* OpenAI-compatible chat completions (OpenAI, Ollama, llama.cpp's server,
 * vLLM): the request body, the bearer header, and the streamed chunks whose
 * tool_calls deltas accumulate by index until "data: [DONE]". */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "provider.h"
#include "util.h"

static void put(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

/* Text blocks of a message joined with blank lines ("" when none). */
static char *joined_text(const struct agent_message *m)
{
	size_t n = 1;
	for (size_t i = 0; i < m->n; i++)
		if (m->blocks[i].type == AGENT_BLOCK_TEXT)
			n += strlen(m->blocks[i].text) + 2;
	char *s = calloc(1, n);
	if (!s)
		return NULL;
	for (size_t i = 0; i < m->n; i++) {
		if (m->blocks[i].type != AGENT_BLOCK_TEXT ||
		    !m->blocks[i].text[0])
			continue;
		if (*s)
			strcat(s, "\n\n");
		strcat(s, m->blocks[i].text);
	}
	return s;
}

static void add_user(json_object *msgs, const struct agent_message *m)
{
	/* Tool results become one "tool" message each, in order. */
	for (size_t i = 0; i < m->n; i++) {
		const struct agent_block *b = &m->blocks[i];
		if (b->type != AGENT_BLOCK_TOOL_RESULT)
			continue;
		json_object *t = json_object_new_object();
		put(t, "role", json_object_new_string("tool"));
		put(t, "tool_call_id", json_object_new_string(b->id));
		/* No is_error field in this format: say it in the text. */
		char *c = b->is_error
			      ? monkey_strdup_printf("ERROR: %s", b->text)
			      : NULL;
		put(t, "content", json_object_new_string(c ? c : b->text));
		free(c);
		json_object_array_add(msgs, t);
	}
	char *text = joined_text(m);
	if (text && *text) {
		json_object *u = json_object_new_object();
		put(u, "role", json_object_new_string("user"));
		put(u, "content", json_object_new_string(text));
		json_object_array_add(msgs, u);
	}
	free(text);
}

static void add_assistant(json_object *msgs, const struct agent_message *m)
{
	json_object *a = json_object_new_object();
	put(a, "role", json_object_new_string("assistant"));
	char *text = joined_text(m);
	put(a, "content", text && *text ? json_object_new_string(text) : NULL);
	free(text);
	json_object *calls = NULL;
	for (size_t i = 0; i < m->n; i++) {
		const struct agent_block *b = &m->blocks[i];
		if (b->type != AGENT_BLOCK_TOOL_USE)
			continue;
		if (!calls)
			calls = json_object_new_array();
		json_object *c = json_object_new_object();
		json_object *f = json_object_new_object();
		put(c, "id", json_object_new_string(b->id));
		put(c, "type", json_object_new_string("function"));
		put(f, "name", json_object_new_string(b->name));
		/* Invalid arguments go back as {}: servers that render
		 * them through a chat template would choke on them. */
		put(f, "arguments",
		    json_object_new_string(b->input_valid ? b->input : "{}"));
		put(c, "function", f);
		json_object_array_add(calls, c);
	}
	if (calls)
		put(a, "tool_calls", calls);
	json_object_array_add(msgs, a);
}

static char *build_body(const struct provider *p, const struct agent_history *h)
{
	json_object *root = json_object_new_object();
	if (!root)
		return NULL;
	put(root, "model", json_object_new_string(p->model));
	put(root, "stream", json_object_new_boolean(1));
	if (p->max_tokens > 0)
		put(root, "max_tokens", json_object_new_int(p->max_tokens));
	if (p->n_tools) {
		json_object *tools = json_object_new_array();
		for (size_t i = 0; i < p->n_tools; i++) {
			json_object *t = json_object_new_object();
			json_object *f = json_object_new_object();
			put(t, "type", json_object_new_string("function"));
			put(f, "name",
			    json_object_new_string(p->tools[i].name));
			put(f, "description",
			    json_object_new_string(p->tools[i].description));
			put(f, "parameters",
			    json_tokener_parse(p->tools[i].schema));
			put(t, "function", f);
			json_object_array_add(tools, t);
		}
		put(root, "tools", tools);
	}
	json_object *msgs = json_object_new_array();
	if (p->system) {
		json_object *s = json_object_new_object();
		put(s, "role", json_object_new_string("system"));
		put(s, "content", json_object_new_string(p->system));
		json_object_array_add(msgs, s);
	}
	for (size_t i = 0; i < h->n; i++) {
		if (h->msgs[i].role == AGENT_ROLE_USER)
			add_user(msgs, &h->msgs[i]);
		else
			add_assistant(msgs, &h->msgs[i]);
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
	/* A local server that needs no key (Ollama, llama.cpp) gets no
	 * authorization header rather than a made-up one. */
	if (!p->api_key[0])
		return list;
	char *auth =
	    monkey_strdup_printf("authorization: Bearer %s", p->api_key);
	if (!auth)
		return NULL;
	list = curl_slist_append(list, auth);
	memset(auth, 0, strlen(auth));
	free(auth);
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

static int map_finish(const char *r)
{
	if (!strcmp(r, "stop"))
		return PROVIDER_STOP_END_TURN;
	if (!strcmp(r, "tool_calls") || !strcmp(r, "function_call"))
		return PROVIDER_STOP_TOOL_USE;
	if (!strcmp(r, "length"))
		return PROVIDER_STOP_MAX_TOKENS;
	if (!strcmp(r, "content_filter"))
		return PROVIDER_STOP_REFUSAL;
	return PROVIDER_STOP_OTHER;
}

static int append_str(struct provider_stream *s, char **buf, size_t *len,
		      size_t *cap, json_object *v)
{
	if (provider_stream_append(buf, len, cap, json_object_get_string(v),
				   (size_t)json_object_get_string_len(v)) < 0)
		return provider_stream_fail(s, false, NULL,
					    "streamed reply too large");
	return 0;
}

static int tool_delta(struct provider_stream *s, json_object *tc, size_t pos)
{
	json_object *v;
	size_t idx = pos;
	if (json_object_object_get_ex(tc, "index", &v)) {
		int64_t i = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || i < 0 ||
		    i >= PROVIDER_MAX_BLOCKS - 1)
			return provider_stream_fail(
			    s, false, NULL, "tool_calls delta with index %s",
			    json_object_get_string(v));
		idx = (size_t)i;
	}
	/* Slot 0 holds the text; tool call i lives at 1 + i. */
	struct stream_block *b = provider_stream_block(s, idx + 1);
	if (!b)
		return provider_stream_fail(s, false, NULL, "out of memory");
	b->used = true;
	b->type = AGENT_BLOCK_TOOL_USE;
	const char *id = str_field(tc, "id");
	if (id && *id && !b->id && !(b->id = strdup(id)))
		return provider_stream_fail(s, false, NULL, "out of memory");
	json_object *f;
	if (!json_object_object_get_ex(tc, "function", &f))
		return 0;
	const char *name = str_field(f, "name");
	if (name && *name && !b->name && !(b->name = strdup(name)))
		return provider_stream_fail(s, false, NULL, "out of memory");
	if (json_object_object_get_ex(f, "arguments", &v)) {
		if (json_object_is_type(v, json_type_string))
			return append_str(s, &b->input, &b->input_len,
					  &b->input_cap, v);
		/* Some servers send the arguments as an object. */
		if (json_object_is_type(v, json_type_object)) {
			const char *t = json_object_to_json_string_ext(
			    v, JSON_C_TO_STRING_PLAIN);
			if (provider_stream_append(&b->input, &b->input_len,
						   &b->input_cap, t,
						   strlen(t)) < 0)
				return provider_stream_fail(
				    s, false, NULL, "arguments too large");
		}
	}
	return 0;
}

static int choice(struct provider_stream *s, json_object *c)
{
	json_object *d, *v;
	if (json_object_object_get_ex(c, "delta", &d) &&
	    json_object_is_type(d, json_type_object)) {
		const char *keys[] = {"content", "refusal"};
		for (int k = 0; k < 2; k++) {
			if (!json_object_object_get_ex(d, keys[k], &v) ||
			    !json_object_is_type(v, json_type_string))
				continue;
			struct stream_block *b = provider_stream_block(s, 0);
			if (!b)
				return provider_stream_fail(s, false, NULL,
							    "out of memory");
			b->used = true;
			b->type = AGENT_BLOCK_TEXT;
			if (append_str(s, &b->text, &b->text_len, &b->text_cap,
				       v) < 0)
				return -EPROTO;
			provider_text(s, json_object_get_string(v),
				      (size_t)json_object_get_string_len(v));
			if (k == 1 && json_object_get_string_len(v))
				s->turn->stop = PROVIDER_STOP_REFUSAL;
		}
		if (json_object_object_get_ex(d, "tool_calls", &v) &&
		    json_object_is_type(v, json_type_array)) {
			size_t n = json_object_array_length(v);
			for (size_t i = 0; i < n; i++) {
				json_object *tc =
				    json_object_array_get_idx(v, i);
				if (!json_object_is_type(tc, json_type_object))
					continue;
				int r = tool_delta(s, tc, i);
				if (r < 0)
					return r;
			}
		}
	}
	const char *fin = str_field(c, "finish_reason");
	if (fin) {
		if (s->turn->stop != PROVIDER_STOP_REFUSAL)
			s->turn->stop = map_finish(fin);
		snprintf(s->turn->stop_raw, sizeof(s->turn->stop_raw), "%s",
			 fin);
		/* Some servers close right after this chunk, without
		 * [DONE]; the reply is complete all the same. */
		s->done = true;
	}
	return 0;
}

static int event(struct provider_stream *s, const char *ev, const char *data,
		 size_t len)
{
	(void)ev;
	(void)len;
	if (!strcmp(data, "[DONE]")) {
		s->done = true;
		return 0;
	}
	enum json_tokener_error jerr = json_tokener_success;
	json_object *o = json_tokener_parse_verbose(data, &jerr);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return provider_stream_fail(
		    s, false, NULL,
		    "malformed JSON in a stream chunk (%s): %.80s",
		    o ? "not an object" : json_tokener_error_desc(jerr), data);
	}
	int r = 0;
	json_object *v;
	if (json_object_object_get_ex(o, "error", &v)) {
		const char *m = json_object_is_type(v, json_type_string)
				    ? json_object_get_string(v)
				    : str_field(v, "message");
		const char *t = str_field(v, "type");
		bool retry = t && (!strcmp(t, "server_error") ||
				   !strcmp(t, "overloaded_error"));
		r = provider_stream_fail(s, retry, t ? t : "error", "%s",
					 m ? m : "error in the stream");
	} else if (json_object_object_get_ex(o, "choices", &v) &&
		   json_object_is_type(v, json_type_array) &&
		   json_object_array_length(v) > 0) {
		r = choice(s, json_object_array_get_idx(v, 0));
	}
	json_object *u;
	if (json_object_object_get_ex(o, "usage", &u) &&
	    json_object_is_type(u, json_type_object)) {
		if (json_object_object_get_ex(u, "prompt_tokens", &v))
			s->turn->input_tokens =
			    (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(u, "completion_tokens", &v))
			s->turn->output_tokens =
			    (uint64_t)json_object_get_int64(v);
	}
	json_object_put(o);
	return r;
}

static void parse_error(const char *body, size_t len,
			struct provider_api_error *pe)
{
	(void)len;
	json_object *o = json_tokener_parse(body), *e;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return;
	}
	if (json_object_object_get_ex(o, "error", &e)) {
		if (json_object_is_type(e, json_type_string)) {
			/* Ollama: {"error": "model 'x' not found"} */
			snprintf(pe->message, sizeof(pe->message), "%s",
				 json_object_get_string(e));
		} else {
			const char *t = str_field(e, "type");
			const char *c = str_field(e, "code");
			const char *m = str_field(e, "message");
			/* "code" carries insufficient_quota and friends when
			 * "type" is generic. */
			if (c && t && strcmp(c, t))
				snprintf(pe->type, sizeof(pe->type), "%s/%s", t,
					 c);
			else if (t || c)
				snprintf(pe->type, sizeof(pe->type), "%s",
					 t ? t : c);
			if (m)
				snprintf(pe->message, sizeof(pe->message), "%s",
					 m);
		}
	} else {
		const char *m = str_field(o, "detail");
		if (!m)
			m = str_field(o, "message");
		if (m)
			snprintf(pe->message, sizeof(pe->message), "%s", m);
	}
	json_object_put(o);
}

/* A stream is complete at its finish_reason chunk or at [DONE]. */
const struct provider_ops provider_openai_ops = {
    .name = "openai",
    .key_var = "OPENAI_API_KEY",
    .url_var = "OPENAI_BASE_URL",
    .default_url = "https://api.openai.com/v1",
    .path = "/chat/completions",
    .done_event = "data: [DONE]",
    .build_body = build_body,
    .headers = headers,
    .event = event,
    .parse_error = parse_error,
};
