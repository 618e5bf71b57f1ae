/* What both wire formats share: provider set-up, the streamed-block
 * builder, and turning a request into a reply. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "util.h"

/* url with any user:password@ replaced by ***@. */
static char *without_credentials(const char *url)
{
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	size_t hlen = strcspn(host, "/?#");
	const char *at = memchr(host, '@', hlen);
	if (!at)
		return strdup(url);
	return monkey_strdup_printf("%.*s***%s", (int)(host - url), url, at);
}

int provider_init(struct provider *p, int kind, const char *model,
		  const char *api_key, const char *base_url,
		  struct monkey_error *err)
{
	memset(p, 0, sizeof(*p));
	p->ops = kind == PROVIDER_OPENAI ? &provider_openai_ops
					 : &provider_anthropic_ops;
	if (!base_url || !*base_url)
		base_url = getenv(p->ops->url_var);
	if (!base_url || !*base_url)
		base_url = p->ops->default_url;
	if (strncmp(base_url, "http://", 7) != 0 &&
	    strncmp(base_url, "https://", 8) != 0)
		return monkey_set_error(err, -EINVAL,
					"base URL '%s' must start with http:// "
					"or https://",
					base_url);
	p->model = strdup(model);
	p->api_key = strdup(api_key ? api_key : "");
	p->base_url = strdup(base_url);
	p->shown_url = without_credentials(base_url);
	if (!p->model || !p->api_key || !p->base_url || !p->shown_url) {
		provider_free(p);
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	/* "http://host/v1/" and "http://host/v1" mean the same. */
	size_t n = strlen(p->base_url);
	while (n > 0 && p->base_url[n - 1] == '/')
		p->base_url[--n] = '\0';
	n = strlen(p->shown_url);
	while (n > 0 && p->shown_url[n - 1] == '/')
		p->shown_url[--n] = '\0';
	p->curl = curl_easy_init();
	if (!p->curl) {
		provider_free(p);
		return monkey_set_error(err, -ENOMEM,
					"cannot initialise libcurl");
	}
	p->max_tokens = 8192;
	p->max_retries = 2;
	p->reply_max = MONKEY_PROVIDER_REPLY_MAX;
	p->backoff_initial_ms = 500;
	p->backoff_max_ms = 8000;
	return 0;
}

void provider_free(struct provider *p)
{
	if (p->curl)
		curl_easy_cleanup(p->curl);
	if (p->api_key) /* do not leave the key in freed memory */
		memset(p->api_key, 0, strlen(p->api_key));
	free(p->api_key);
	free(p->model);
	free(p->base_url);
	free(p->shown_url);
	memset(p, 0, sizeof(*p));
}

void provider_turn_free(struct provider_turn *t)
{
	agent_message_free(&t->msg);
	memset(t, 0, sizeof(*t));
}

static void block_clear(struct stream_block *b)
{
	free(b->text);
	free(b->id);
	free(b->name);
	free(b->input);
	memset(b, 0, sizeof(*b));
}

void provider_stream_reset(struct provider_stream *s)
{
	for (size_t i = 0; i < s->n_blocks; i++)
		block_clear(&s->blocks[i]);
	free(s->blocks);
	s->blocks = NULL;
	s->n_blocks = 0;
	s->done = s->failed = s->retryable = false;
	s->err_type[0] = s->err_msg[0] = '\0';
	if (s->turn) {
		int attempts = s->turn->attempts;
		provider_turn_free(s->turn);
		s->turn->attempts = attempts;
	}
}

struct stream_block *provider_stream_block(struct provider_stream *s,
					   size_t index)
{
	if (index >= PROVIDER_MAX_BLOCKS)
		return NULL;
	if (index >= s->n_blocks) {
		size_t n = index + 1;
		struct stream_block *v = realloc(s->blocks, n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + s->n_blocks, 0, (n - s->n_blocks) * sizeof(*v));
		s->blocks = v;
		s->n_blocks = n;
	}
	return &s->blocks[index];
}

int provider_stream_append(char **buf, size_t *len, size_t *cap,
			   const char *data, size_t n)
{
	if (*len + n + 1 > PROVIDER_MAX_BLOCK)
		return -E2BIG;
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 256;
		while (c < *len + n + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

int provider_stream_fail(struct provider_stream *s, bool retryable,
			 const char *type, const char *fmt, ...)
{
	if (s->failed)
		return -EPROTO; /* keep the first reason */
	s->failed = true;
	s->retryable = retryable;
	snprintf(s->err_type, sizeof(s->err_type), "%s", type ? type : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err_msg, sizeof(s->err_msg), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

void provider_text(struct provider_stream *s, const char *text, size_t n)
{
	if (n && s->p->cb.text)
		s->p->cb.text(s->p->cb.ctx, text, n);
}

int provider_stream_finish(struct provider_stream *s)
{
	struct agent_message *m = &s->turn->msg;
	m->role = AGENT_ROLE_ASSISTANT;
	int tools = 0;
	for (size_t i = 0; i < s->n_blocks; i++) {
		struct stream_block *b = &s->blocks[i];
		if (!b->used)
			continue;
		int r = 0;
		if (b->type == AGENT_BLOCK_TEXT && b->text_len) {
			r = agent_message_add_text(m, b->text);
		} else if (b->type == AGENT_BLOCK_TOOL_USE) {
			char idbuf[32];
			if (!b->id || !*b->id) {
				/* Some compatible servers send no id: the
				 * result still needs one to refer to. */
				snprintf(idbuf, sizeof(idbuf), "call_%zu", i);
			}
			r = agent_message_add_tool_use(
			    m, b->id && *b->id ? b->id : idbuf,
			    b->name ? b->name : "",
			    b->input_len ? b->input : "{}");
			tools++;
		}
		if (r < 0)
			return r;
	}
	/* A reply with tool calls wants them run, whatever its stop reason
	 * says (some compatible servers say "stop"). */
	if (tools && (s->turn->stop == PROVIDER_STOP_END_TURN ||
		      s->turn->stop == PROVIDER_STOP_NONE))
		s->turn->stop = PROVIDER_STOP_TOOL_USE;
	return 0;
}

int provider_turn(struct provider *p, const struct agent_history *h,
		  struct provider_turn *t, struct monkey_error *err)
{
	memset(t, 0, sizeof(*t));
	char *body = p->ops->build_body(p, h);
	if (!body)
		return monkey_set_error(err, -ENOMEM,
					"out of memory building the request");
	struct provider_stream s = {.p = p, .turn = t};
	int r = provider_http_run(p, body, &s, err);
	free(body);
	if (r == 0)
		r = provider_stream_finish(&s);
	if (r == -ENOMEM)
		monkey_set_error(err, r, "out of memory reading the reply");
	int attempts = t->attempts;
	if (r < 0)
		provider_turn_free(t);
	t->attempts = attempts;
	for (size_t i = 0; i < s.n_blocks; i++)
		block_clear(&s.blocks[i]);
	free(s.blocks);
	return r;
}
