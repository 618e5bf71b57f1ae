/* LLM providers: one request per model turn, streamed, with the retry rules
 * of the official SDKs.  provider.c holds what both wire formats share;
 * provider_anthropic.c and provider_openai.c the formats themselves;
 * provider_http.c the transfer and retries. */
#ifndef MONKEY_PROVIDER_H
#define MONKEY_PROVIDER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include <monkey/error.h>

#include "agent_history.h"

enum provider_kind {
	PROVIDER_ANTHROPIC = 1,
	PROVIDER_OPENAI = 2,
};

/* Normalised stop reasons. */
enum provider_stop {
	PROVIDER_STOP_NONE = 0,
	PROVIDER_STOP_END_TURN,
	PROVIDER_STOP_TOOL_USE,
	PROVIDER_STOP_MAX_TOKENS,
	PROVIDER_STOP_REFUSAL,
	PROVIDER_STOP_PAUSE, /* the provider wants the turn continued */
	PROVIDER_STOP_OTHER,
};

struct provider_tool {
	const char *name;
	const char *description;
	const char *schema; /* JSON Schema text of the arguments */
};

struct provider_callbacks {
	void (*text)(void *ctx, const char *text, size_t len);
	void (*notice)(void *ctx, int level, const char *msg);
	void *ctx;
};

struct provider;
struct provider_stream;

/* What an error answer of the API says. */
struct provider_api_error {
	char type[128];	   /* "rate_limit_error", "insufficient_quota" */
	char message[512]; /* the provider's words */
};

/* What differs between wire formats. */
struct provider_ops {
	const char *name;	 /* "anthropic" */
	const char *key_var;	 /* "ANTHROPIC_API_KEY" */
	const char *url_var;	 /* "ANTHROPIC_BASE_URL" */
	const char *default_url; /* "https://api.anthropic.com" */
	const char *path;	 /* appended to the base URL */
	const char *done_event;	 /* named in "stream ended before ..." */
	/* The request body (caller frees); NULL on allocation failure. */
	char *(*build_body)(const struct provider *p,
			    const struct agent_history *h);
	/* Authentication and version headers (appended to list). */
	struct curl_slist *(*headers)(const struct provider *p,
				      struct curl_slist *list);
	/* One SSE event.  Returns 0, or -EPROTO after
	 * provider_stream_fail(). */
	int (*event)(struct provider_stream *s, const char *event,
		     const char *data, size_t len);
	/* Pull the error type and message out of an error body (fields it
	 * does not find stay empty). */
	void (*parse_error)(const char *body, size_t len,
			    struct provider_api_error *e);
};

extern const struct provider_ops provider_anthropic_ops;
extern const struct provider_ops provider_openai_ops;

struct provider {
	const struct provider_ops *ops;
	char *model;
	char *api_key;
	char *base_url;
	char *shown_url; /* base_url without user:password@, for messages */
	int max_tokens;
	int max_retries;
	size_t reply_max;		   /* bytes of one response body */
	const char *system;		   /* borrowed */
	const struct provider_tool *tools; /* borrowed */
	size_t n_tools;
	struct provider_callbacks cb;
	volatile sig_atomic_t *cancel; /* borrowed; non-zero aborts */
	CURL *curl; /* kept across turns for connection reuse */
	/* Backoff when the server says nothing (the SDKs' 0.5 s .. 8 s). */
	int64_t backoff_initial_ms;
	int64_t backoff_max_ms;
};

/* One reply. */
struct provider_turn {
	struct agent_message msg; /* role assistant: text and tool uses */
	int stop;		  /* enum provider_stop */
	char stop_raw[64];	  /* the provider's own word for it */
	uint64_t input_tokens;
	uint64_t output_tokens;
	int attempts; /* requests it took (1 + retries) */
};

/* A block being streamed, addressed by index. */
struct stream_block {
	int type; /* enum agent_block_type, -1 = not a block we keep */
	bool used;
	char *text;
	size_t text_len, text_cap;
	char *id;
	char *name;
	char *input;
	size_t input_len, input_cap;
};

/* Per-request parse state the wire formats fill from SSE events. */
struct provider_stream {
	struct provider *p;
	struct provider_turn *turn;
	struct stream_block *blocks;
	size_t n_blocks;
	bool done;	/* the terminal event arrived */
	bool failed;	/* an error event or a protocol error */
	bool retryable; /* ... that a new request may cure */
	char err_type[64];
	char err_msg[512];
};

/* kind: enum provider_kind.  model, api_key, base_url are copied;
 * base_url NULL takes the provider's variable or default. */
int provider_init(struct provider *p, int kind, const char *model,
		  const char *api_key, const char *base_url,
		  struct monkey_error *err);
void provider_free(struct provider *p);

/* Ask for the next reply to h.  Text is passed to cb.text as it arrives.
 * Returns 0 with t filled, -ECANCELED when *cancel was set, or another
 * negative errno with err saying what the provider answered. */
int provider_turn(struct provider *p, const struct agent_history *h,
		  struct provider_turn *t, struct monkey_error *err);
void provider_turn_free(struct provider_turn *t);

/* Helpers for the wire formats. */
struct stream_block *provider_stream_block(struct provider_stream *s,
					   size_t index);
int provider_stream_append(char **buf, size_t *len, size_t *cap,
			   const char *data, size_t n);
int provider_stream_fail(struct provider_stream *s, bool retryable,
			 const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void provider_stream_reset(struct provider_stream *s);
/* Turn the streamed blocks into s->turn->msg. */
int provider_stream_finish(struct provider_stream *s);
void provider_text(struct provider_stream *s, const char *text, size_t n);

/* The HTTP transfer with retries (provider_http.c). */
int provider_http_run(struct provider *p, const char *body,
		      struct provider_stream *s, struct monkey_error *err);

/* Default bound of one response body (MONKEY_AGENT_DEFAULT_REPLY_MAX). */
#define MONKEY_PROVIDER_REPLY_MAX (32u * 1024 * 1024)
/* Largest streamed block kept (text or arguments). */
#define PROVIDER_MAX_BLOCK (16u * 1024 * 1024)
/* Largest event of a stream (a whole block and its framing). */
#define PROVIDER_MAX_EVENT (PROVIDER_MAX_BLOCK + 4096)
/* Highest block index accepted from a stream. */
#define PROVIDER_MAX_BLOCKS 1024

#endif
