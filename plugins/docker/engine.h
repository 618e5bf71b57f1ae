/* The docker backend's bottom layer: HTTP to the engine over its unix
 * socket (engine.c). */
#ifndef MONKEY_DOCKER_ENGINE_H
#define MONKEY_DOCKER_ENGINE_H

#include <curl/curl.h>

#include "state.h"

/* A response body, grown as it arrives (capped), or handed line by line to
 * on_line for streamed answers (image pulls). */
struct dk_response {
	long status;
	char *body;
	size_t len, cap;
	char *linebuf; /* partial line when on_line is set */
	size_t line_len, line_cap;
	int (*on_line)(void *ctx, const char *line);
	void *line_ctx;
	/* Filled by the /_ping header callback. */
	char api_version[16];
	int is_podman;
};

void dk_response_free(struct dk_response *r);

/* Send one request: method and path (path is prefixed with the negotiated
 * API version unless it starts with "/_"), body (JSON or NULL).  Returns 0
 * when an HTTP answer arrived, whatever its status, or a negative errno
 * with err saying why the engine could not be reached.  cancel_fd (or -1)
 * aborts the call with -ECANCELED when it becomes readable. */
int dk_request(struct dk_state *st, const char *method, const char *path,
	       const char *body, int64_t timeout_ms, int cancel_fd,
	       struct dk_response *resp, struct monkey_error *err);

/* Fill err from an engine error answer ({"message"} from docker,
 * {"cause","message","response"} from podman): "<what>: <engine's message>".
 * Returns the negative errno that fits the HTTP status. */
int dk_engine_error(struct dk_state *st, const struct dk_response *resp,
		    struct monkey_error *err, const char *what_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Make sure the engine answers and the API version is negotiated
 * (GET /_ping once per state).  Explains in one line why not. */
int dk_engine_connect(struct dk_state *st, struct monkey_error *err);

/* A fresh handle for a hijacked connection (configured for the socket). */
CURL *dk_raw_handle(struct dk_state *st);

void dk_engine_fini(struct dk_state *st);

/* Percent-encode s for a query string; caller frees. */
char *dk_urlencode(const char *s);

#endif
