/* The HTTP side of a model turn: POST the request, feed the event stream to
 * the wire format's parser as it arrives, and retry the way the official
 * SDKs do (408/409/429/5xx and connection errors; retry-after when it is
 * 0-60 s, else capped exponential backoff with jitter; x-should-retry
 * obeyed). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <monkey/backend.h>

#include "error_wrap.h"
#include "provider.h"
#include "sse.h"
#include "util.h"

/* Bytes of a non-stream (error) body kept for the message. */
#define ERROR_BODY_MAX (64 * 1024)

struct xfer {
	struct provider *p;
	struct provider_stream *s;
	struct monkey_sse sse;
	bool checked; /* status and content type looked at */
	bool is_sse;
	long status;
	char *body;
	size_t body_len, body_cap;
	char retry_after[64];
	char retry_after_ms[64];
	char should_retry[16];
	char content_type[128];
	bool parser_stopped; /* our parser asked to stop the transfer */
	size_t received;     /* body bytes so far */
	bool too_large;	     /* ... more than p->reply_max */
};

static void header_value(const char *line, size_t len, const char *name,
			 char *out, size_t out_len)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return;
	const char *v = line + n + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
			   end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vl = (size_t)(end - v);
	if (vl >= out_len)
		vl = out_len - 1;
	memcpy(out, v, vl);
	out[vl] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue): forget the last. */
		x->retry_after[0] = x->retry_after_ms[0] = '\0';
		x->should_retry[0] = x->content_type[0] = '\0';
		return len;
	}
	header_value(buf, len, "retry-after", x->retry_after,
		     sizeof(x->retry_after));
	header_value(buf, len, "retry-after-ms", x->retry_after_ms,
		     sizeof(x->retry_after_ms));
	header_value(buf, len, "x-should-retry", x->should_retry,
		     sizeof(x->should_retry));
	header_value(buf, len, "content-type", x->content_type,
		     sizeof(x->content_type));
	return len;
}

/* The largest next event the reply bound leaves room for.  Parsing one
 * event holds it up to five times at once (the line, the joined data,
 * json-c's buffer and string, the block it is appended to), on top of
 * what was received before it; so that the whole stays within reply_max,
 * the next event may take a fifth of what is left. */
static size_t event_max(const struct provider *p, size_t received)
{
	size_t left = p->reply_max > received ? p->reply_max - received : 0;
	return left / 5 < PROVIDER_MAX_EVENT ? left / 5 : PROVIDER_MAX_EVENT;
}

static int on_sse(void *ctx, const char *event, const char *data, size_t len)
{
	struct xfer *x = ctx;
	if (x->s->done || x->s->failed)
		return 0; /* the reply is complete; ignore trailing events */
	int r = x->p->ops->event(x->s, event, data, len);
	x->sse.max_event = event_max(x->p, x->received);
	return r;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	/* The whole reply is bounded, not only each block: a provider that
	 * sends block after block would otherwise fill memory. */
	x->received += len;
	if (x->received > x->p->reply_max) {
		x->too_large = true;
		return 0; /* curl stops the transfer */
	}
	if (!x->checked) {
		x->checked = true;
		curl_easy_getinfo(x->p->curl, CURLINFO_RESPONSE_CODE,
				  &x->status);
		x->is_sse =
		    x->status >= 200 && x->status < 300 &&
		    strncasecmp(x->content_type, "text/event-stream", 17) == 0;
	}
	if (x->is_sse) {
		int r = monkey_sse_feed(&x->sse, buf, len);
		if (r == -E2BIG && x->sse.max_event < PROVIDER_MAX_EVENT) {
			x->too_large = true; /* the reply bound, not the
						format's */
			return 0;
		}
		if (r != 0) {
			if (!x->s->failed)
				provider_stream_fail(
				    x->s, false, NULL,
				    "the event stream is malformed "
				    "(an event larger than %u bytes)",
				    PROVIDER_MAX_BLOCK);
			x->parser_stopped = true;
			return 0;
		}
		return len;
	}
	size_t keep = ERROR_BODY_MAX - x->body_len;
	if (keep > len)
		keep = len;
	if (keep) {
		if (x->body_len + keep + 1 > x->body_cap) {
			size_t cap = x->body_len + keep + 1;
			char *b = realloc(x->body, cap);
			if (!b)
				return 0;
			x->body = b;
			x->body_cap = cap;
		}
		memcpy(x->body + x->body_len, buf, keep);
		x->body_len += keep;
		x->body[x->body_len] = '\0';
	}
	return len;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		       curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	struct xfer *x = ctx;
	return x->p->cancel && *x->p->cancel ? 1 : 0;
}

/* Server-requested wait in ms, or -1 when absent or not within 0-60 s. */
static int64_t retry_after_ms(const struct xfer *x)
{
	char *end;
	if (x->retry_after_ms[0]) {
		double ms = strtod(x->retry_after_ms, &end);
		if (end != x->retry_after_ms && *end == '\0' && ms >= 0 &&
		    ms <= 60000)
			return (int64_t)ms;
	}
	if (x->retry_after[0]) {
		double sec = strtod(x->retry_after, &end);
		if (end == x->retry_after || *end) {
			time_t when = curl_getdate(x->retry_after, NULL);
			sec = when < 0 ? -1 : difftime(when, time(NULL));
		}
		if (sec >= 0 && sec <= 60)
			return (int64_t)(sec * 1000);
	}
	return -1;
}

static int64_t backoff_ms(const struct provider *p, int retry)
{
	double d = (double)p->backoff_initial_ms * pow(2.0, retry);
	if (d > (double)p->backoff_max_ms)
		d = (double)p->backoff_max_ms;
	/* Up to 25% less, so that many clients do not retry in step. */
	double jitter = 1.0 - 0.25 * ((double)rand() / RAND_MAX);
	return (int64_t)(d * jitter);
}

static bool status_retryable(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

/* Sleep ms, waking early when the run is cancelled. */
static bool sleep_cancellable(const struct provider *p, int64_t ms)
{
	int64_t end = monkey_now_ms() + ms;
	for (;;) {
		if (p->cancel && *p->cancel)
			return false;
		int64_t left = end - monkey_now_ms();
		if (left <= 0)
			return true;
		if (left > 50)
			left = 50;
		struct timespec ts = {0, (long)left * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static void notice(const struct provider *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void notice(const struct provider *p, int level, const char *fmt, ...)
{
	if (!p->cb.notice)
		return;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->cb.notice(p->cb.ctx, level, msg);
}

static void setup(struct provider *p, struct xfer *x, const char *url,
		  struct curl_slist *headers, const char *body, char *errbuf)
{
	CURL *c = p->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* Providers send pings while a long reply is prepared; a stream
	 * silent for 5 minutes is dead. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 300L);
}

/* Outcome of one attempt. */
enum attempt { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_FAIL, ATTEMPT_CANCELLED };

/* Why a reply past the bound was cut off, naming the bound and the
 * option that raises it. */
static int too_large(const struct provider *p, const char *url,
		     struct monkey_error *why)
{
	char size[32];
	if (p->reply_max % (1024 * 1024) == 0)
		snprintf(size, sizeof(size), "%zu MiB",
			 p->reply_max / (1024 * 1024));
	else
		snprintf(size, sizeof(size), "%zu bytes", p->reply_max);
	return monkey_set_error(
	    why, -EFBIG,
	    "the reply from %s went past %s, the bound on one reply (what is "
	    "received and what parsing it holds at once), and was cut off; "
	    "if a model really answers with more, raise it with --reply-max "
	    "BYTES",
	    url, size);
}

/* An answer other than 2xx: the provider's error, or what came. */
static enum attempt http_error(struct provider *p, struct xfer *x,
			       struct monkey_error *why)
{
	struct provider_api_error pe = {"", ""};
	p->ops->parse_error(x->body ? x->body : "", x->body_len, &pe);
	if (!pe.message[0]) {
		/* Not the provider's JSON: show what came. */
		size_t n = x->body_len < 300 ? x->body_len : 300;
		snprintf(pe.message, sizeof(pe.message), "%.*s", (int)n,
			 x->body ? x->body : "");
		if (!pe.message[0])
			snprintf(pe.message, sizeof(pe.message),
				 "(empty body)");
	}
	const char *hint = "";
	char hintbuf[96];
	if (x->status == 401 || x->status == 403) {
		snprintf(hintbuf, sizeof(hintbuf), " (check %s)",
			 p->ops->key_var);
		hint = hintbuf;
	}
	monkey_set_error(why, -EIO, "HTTP %ld%s%s: %s%s", x->status,
			 pe.type[0] ? " " : "", pe.type, pe.message, hint);
	if (strcasecmp(x->should_retry, "true") == 0)
		return ATTEMPT_RETRY;
	if (strcasecmp(x->should_retry, "false") == 0)
		return ATTEMPT_FAIL;
	/* An exhausted quota looks like a rate limit but waiting does not
	 * help. */
	if (strstr(pe.type, "insufficient_quota"))
		return ATTEMPT_FAIL;
	return status_retryable(x->status) ? ATTEMPT_RETRY : ATTEMPT_FAIL;
}

/* The outcome of one attempt, and why when it is not OK (without the
 * provider's name, which the caller puts in front). */
static enum attempt classify(struct provider *p, struct xfer *x, CURLcode rc,
			     const char *errbuf, const char *url,
			     struct monkey_error *why)
{
	if (p->cancel && *p->cancel)
		return ATTEMPT_CANCELLED;
	if (x->too_large) {
		too_large(p, url, why);
		return ATTEMPT_FAIL;
	}
	if (rc != CURLE_OK && !x->parser_stopped && !x->s->failed) {
		if (rc == CURLE_WRITE_ERROR && !x->is_sse && x->checked) {
			monkey_set_error(why, -ENOMEM, "out of memory");
			return ATTEMPT_FAIL;
		}
		monkey_set_error(why, -EIO,
				 "cannot complete the request to %s: %s", url,
				 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return ATTEMPT_RETRY; /* connection errors are retried */
	}
	if (!x->checked)
		curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status < 200 || x->status >= 300)
		return http_error(p, x, why);
	if (!x->is_sse) {
		size_t n = x->body_len < 200 ? x->body_len : 200;
		monkey_set_error(
		    why, -EPROTO,
		    "expected an event stream (text/event-stream) but got "
		    "'%s': %.*s",
		    x->content_type[0] ? x->content_type : "no type", (int)n,
		    x->body ? x->body : "");
		return ATTEMPT_FAIL;
	}
	if (x->s->failed) {
		monkey_set_error(why, -EIO, "%s%s%s", x->s->err_type,
				 x->s->err_type[0] ? ": " : "", x->s->err_msg);
		return x->s->retryable ? ATTEMPT_RETRY : ATTEMPT_FAIL;
	}
	if (!x->s->done) {
		monkey_set_error(why, -EIO,
				 "the stream ended before %s (connection cut "
				 "mid-reply)",
				 p->ops->done_event);
		return ATTEMPT_RETRY;
	}
	return ATTEMPT_OK;
}

int provider_http_run(struct provider *p, const char *body,
		      struct provider_stream *s, struct monkey_error *err)
{
	char *url = monkey_strdup_printf("%s%s", p->base_url, p->ops->path);
	char *shown = monkey_strdup_printf("%s%s", p->shown_url, p->ops->path);
	if (!url || !shown) {
		free(url);
		free(shown);
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "content-type: application/json");
	h = curl_slist_append(h, "accept: text/event-stream");
	h = curl_slist_append(h, "user-agent: monkey/" PACKAGE_VERSION);
	h = p->ops->headers(p, h);
	if (!h) {
		free(url);
		free(shown);
		return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	int ret = 0;
	int max_retries = p->max_retries < 0 ? 0 : p->max_retries;
	for (int attempt = 0;; attempt++) {
		struct xfer x = {.p = p, .s = s};
		char errbuf[CURL_ERROR_SIZE] = "";
		struct monkey_error why = {0};
		provider_stream_reset(s);
		s->turn->attempts = attempt + 1;
		monkey_sse_init(&x.sse, event_max(p, 0), on_sse, &x);
		setup(p, &x, url, h, body, errbuf);
		CURLcode rc = curl_easy_perform(p->curl);
		enum attempt a = classify(p, &x, rc, errbuf, shown, &why);
		if (a != ATTEMPT_OK && a != ATTEMPT_CANCELLED)
			monkey_error_wrap(&why, -EIO, "%s", p->ops->name);
		int64_t wait = retry_after_ms(&x);
		monkey_sse_free(&x.sse);
		free(x.body);
		if (a == ATTEMPT_OK)
			break;
		if (a == ATTEMPT_CANCELLED) {
			ret = monkey_set_error(err, -ECANCELED,
					       "%s: request cancelled",
					       p->ops->name);
			break;
		}
		if (a == ATTEMPT_FAIL || attempt >= max_retries) {
			if (a == ATTEMPT_RETRY && attempt > 0)
				ret = monkey_set_error(
				    err, -EIO, "%s (gave up after %d attempts)",
				    why.message, attempt + 1);
			else
				ret = monkey_set_error(err, -EIO, "%s",
						       why.message);
			break;
		}
		if (wait < 0)
			wait = backoff_ms(p, attempt);
		notice(p, MONKEY_LOG_WARNING,
		       "%s; waiting %.1f s before retry %d of %d", why.message,
		       (double)wait / 1000.0, attempt + 1, max_retries);
		if (!sleep_cancellable(p, wait)) {
			ret = monkey_set_error(err, -ECANCELED,
					       "%s: request cancelled",
					       p->ops->name);
			break;
		}
	}
	curl_slist_free_all(h);
	free(url);
	free(shown);
	/* The handle keeps pointers to our stack; forget them. */
	curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, NULL);
	return ret;
}
