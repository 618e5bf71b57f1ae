/* HTTP to the container engine over its unix socket with libcurl: handle
 * reuse across calls and threads, API version negotiation with /_ping, and
 * turning transport failures and engine error bodies into one-line errors. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "engine.h"

/* Bodies larger than this are refused (an inspect is a few KiB; a list of
 * every container on a busy host stays well below). */
#define DK_BODY_MAX (16u << 20)
/* Idle handles kept for reuse; each holds one keep-alive connection. */
#define DK_IDLE_MAX 8

void dk_response_free(struct dk_response *r)
{
	free(r->body);
	free(r->linebuf);
	r->body = r->linebuf = NULL;
	r->len = r->cap = r->line_len = r->line_cap = 0;
}

static int grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 256;
	while (n < need)
		n *= 2;
	char *p = realloc(*buf, n);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct dk_response *r = ud;
	size_t n = size * nmemb;

	if (!r->on_line) {
		if (r->len + n + 1 > DK_BODY_MAX ||
		    grow(&r->body, &r->cap, r->len + n + 1) < 0)
			return 0; /* aborts the transfer with a write error */
		memcpy(r->body + r->len, data, n);
		r->len += n;
		r->body[r->len] = '\0';
		return n;
	}
	/* Streamed answer: one JSON object per line. */
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			if (grow(&r->linebuf, &r->line_cap, r->line_len + 1) <
			    0)
				return 0;
			r->linebuf[r->line_len] = '\0';
			if (r->line_len &&
			    r->on_line(r->line_ctx, r->linebuf) < 0)
				return 0;
			r->line_len = 0;
			continue;
		}
		if (r->line_len + 2 > DK_BODY_MAX ||
		    grow(&r->linebuf, &r->line_cap, r->line_len + 2) < 0)
			return 0;
		r->linebuf[r->line_len++] = data[i];
	}
	return n;
}

/* Header values we need from /_ping. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct dk_response *r = ud;
	size_t n = size * nmemb;
	char line[256];
	size_t l = n < sizeof(line) - 1 ? n : sizeof(line) - 1;

	memcpy(line, data, l);
	line[l] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	char *colon = strchr(line, ':');
	if (!colon)
		return n;
	*colon = '\0';
	char *val = colon + 1;
	while (*val == ' ' || *val == '\t')
		val++;
	if (!strcasecmp(line, "Api-Version"))
		snprintf(r->api_version, sizeof(r->api_version), "%s", val);
	else if (!strcasecmp(line, "Libpod-Api-Version"))
		r->is_podman = 1;
	return n;
}

/* Aborts a call when the host asks the command to stop. */
static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	struct pollfd p = {.fd = *(int *)ud, .events = POLLIN};
	return poll(&p, 1, 0) > 0 ? 1 : 0;
}

static CURL *take_handle(struct dk_state *st)
{
	CURL *c = NULL;
	pthread_mutex_lock(&st->lock);
	if (st->n_idle)
		c = st->idle[--st->n_idle];
	pthread_mutex_unlock(&st->lock);
	if (c) {
		/* Keeps the live connection, forgets the options. */
		curl_easy_reset(c);
		return c;
	}
	return curl_easy_init();
}

static void give_handle(struct dk_state *st, CURL *c)
{
	pthread_mutex_lock(&st->lock);
	if (st->n_idle < DK_IDLE_MAX) {
		if (st->n_idle == st->cap_idle) {
			size_t n = st->cap_idle ? st->cap_idle * 2 : 4;
			CURL **p = realloc(st->idle, n * sizeof(*p));
			if (p) {
				st->idle = p;
				st->cap_idle = n;
			}
		}
		if (st->n_idle < st->cap_idle) {
			st->idle[st->n_idle++] = c;
			c = NULL;
		}
	}
	pthread_mutex_unlock(&st->lock);
	if (c)
		curl_easy_cleanup(c);
}

/* One line on why the socket could not be used, from the connect errno.
 * An engine that is not there (no socket, nobody listening) is -ENODEV:
 * the probe contract's "absent, the host may fall back"; an engine that
 * is there but refuses us is not absent. */
static int transport_error(struct dk_state *st, CURLcode rc, long oserr,
			   const char *detail, int64_t timeout_ms,
			   struct monkey_error *err)
{
	const struct monkey_host *h = st->host;
	const char *sock = st->socket_path;
	const char *eng =
	    st->engine_name[0] ? st->engine_name : "Docker engine";

	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return h->set_error(err, -ECANCELED,
				    "cancelled while waiting for the %s", eng);
	case CURLE_COULDNT_CONNECT:
		if (oserr == ENOENT)
			return h->set_error(
			    err, -ENODEV,
			    "Docker socket %s does not exist (is the daemon "
			    "running? DOCKER_HOST selects another socket)",
			    sock);
		if (oserr == EACCES || oserr == EPERM)
			return h->set_error(
			    err, -EPERM,
			    "permission denied connecting to %s (run as a user "
			    "who may use the engine, e.g. in the docker group)",
			    sock);
		if (oserr == ECONNREFUSED)
			return h->set_error(
			    err, -ENODEV,
			    "%s not reachable at %s: connection refused (the "
			    "daemon is not running)",
			    eng, sock);
		return h->set_error(err, -ENODEV, "%s not reachable at %s: %s",
				    eng, sock,
				    detail[0] ? detail : strerror((int)oserr));
	case CURLE_OPERATION_TIMEDOUT:
		return h->set_error(err, -ETIMEDOUT,
				    "%s at %s did not answer within %lld ms",
				    eng, sock, (long long)timeout_ms);
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return h->set_error(
		    err, -ECONNRESET,
		    "%s at %s closed the connection (did it stop?): %s", eng,
		    sock, detail[0] ? detail : curl_easy_strerror(rc));
	case CURLE_WRITE_ERROR:
		return h->set_error(
		    err, -EMSGSIZE,
		    "%s at %s sent an answer that could not be stored", eng,
		    sock);
	default:
		return h->set_error(
		    err, -EIO, "talking to the %s at %s failed: %s", eng, sock,
		    detail[0] ? detail : curl_easy_strerror(rc));
	}
}

int dk_request(struct dk_state *st, const char *method, const char *path,
	       const char *body, int64_t timeout_ms, int cancel_fd,
	       struct dk_response *resp, struct monkey_error *err)
{
	char url[2048];
	char prefix[sizeof(st->api_prefix)];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	int ret = 0;

	pthread_mutex_lock(&st->lock);
	memcpy(prefix, st->api_prefix, sizeof(prefix));
	pthread_mutex_unlock(&st->lock);
	if (path[0] == '/' && path[1] == '_')
		prefix[0] = '\0';
	if ((size_t)snprintf(url, sizeof(url), "http://docker%s%s", prefix,
			     path) >= sizeof(url))
		return st->host->set_error(
		    err, -ENAMETOOLONG,
		    "engine request path too long: %.80s...", path);

	CURL *c = take_handle(st);
	if (!c)
		return st->host->set_error(
		    err, -ENOMEM, "out of memory creating an HTTP handle");

	resp->status = 0;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, st->socket_path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	if (timeout_ms > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	if (cancel_fd >= 0) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &cancel_fd);
	}
	/* "Expect:" off: the engine never answers 100-continue and curl would
	 * stall a second on larger bodies. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body)
		hdrs =
		    curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				 (long)(body ? strlen(body) : 0));
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}

	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		long oserr = 0;
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
		ret = transport_error(st, rc, oserr, errbuf, timeout_ms, err);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	give_handle(st, c);
	return ret;
}

static int status_errno(long status)
{
	switch (status) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EPERM;
	case 404:
		return -ENXIO; /* not ENOENT: that means "program not found" */
	case 409:
		return -EBUSY;
	case 500:
		return -EIO;
	default:
		return -EPROTO;
	}
}

int dk_engine_error(struct dk_state *st, const struct dk_response *resp,
		    struct monkey_error *err, const char *what_fmt, ...)
{
	char what[512];
	char msg[768] = "";
	va_list ap;

	va_start(ap, what_fmt);
	vsnprintf(what, sizeof(what), what_fmt, ap);
	va_end(ap);

	json_object *o = resp->body ? json_tokener_parse(resp->body) : NULL;
	json_object *m = NULL;
	if (o && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "message", &m) &&
	    json_object_is_type(m, json_type_string))
		snprintf(msg, sizeof(msg), "%s", json_object_get_string(m));
	else if (resp->body)
		snprintf(msg, sizeof(msg), "%s", resp->body);
	json_object_put(o);
	/* One line: the engine's message may end in a newline. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	size_t l = strlen(msg);
	while (l && msg[l - 1] == ' ')
		msg[--l] = '\0';
	if (!msg[0])
		snprintf(msg, sizeof(msg), "HTTP status %ld with no message",
			 resp->status);
	return st->host->set_error(err, status_errno(resp->status),
				   "%s: %s (%s, HTTP %ld)", what, msg,
				   st->engine_name, resp->status);
}

/* "1.41" -> minor 41 when the major is 1; -1 otherwise. */
static int api_minor(const char *v)
{
	int major, minor;
	if (sscanf(v, "%d.%d", &major, &minor) != 2 || major != 1 || minor < 0)
		return -1;
	return minor;
}

int dk_engine_connect(struct dk_state *st, struct monkey_error *err)
{
	const struct monkey_host *h = st->host;
	struct stat sb;

	if (st->config_error)
		return h->set_error(err, -EINVAL, "%s", st->config_error);
	if (stat(st->socket_path, &sb) < 0) {
		if (errno == ENOENT)
			return h->set_error(
			    err, -ENODEV,
			    "Docker socket %s does not exist (is the daemon "
			    "running? DOCKER_HOST selects another socket)",
			    st->socket_path);
		if (errno == EACCES)
			return h->set_error(err, -EPERM,
					    "permission denied looking up %s",
					    st->socket_path);
		return h->set_error(err, -errno, "cannot use %s: %s",
				    st->socket_path, strerror(errno));
	}
	if (!S_ISSOCK(sb.st_mode))
		return h->set_error(err, -ENOTSOCK,
				    "%s is not a socket (check DOCKER_HOST)",
				    st->socket_path);

	struct dk_response r = {0};
	int rc = dk_request(st, "GET", "/_ping", NULL, DK_PING_TIMEOUT_MS, -1,
			    &r, err);
	if (rc < 0)
		return rc;
	if (r.status != 200) {
		rc = dk_engine_error(st, &r, err,
				     "engine at %s did not answer /_ping",
				     st->socket_path);
		dk_response_free(&r);
		return rc;
	}
	dk_response_free(&r);

	/* Engines before 1.25 send no Api-Version; they are too old anyway. */
	int theirs = api_minor(r.api_version);
	if (theirs < DK_API_MIN_MINOR)
		return h->set_error(err, -EPROTONOSUPPORT,
				    "engine at %s speaks API %s; the docker "
				    "backend needs 1.%d or newer",
				    st->socket_path,
				    r.api_version[0] ? r.api_version
						     : "(unknown)",
				    DK_API_MIN_MINOR);
	int use = theirs < DK_API_OURS_MINOR ? theirs : DK_API_OURS_MINOR;

	/* Written when it changes only (the first time, in practice): error
	 * paths of other threads read engine_name without the lock. */
	const char *name = r.is_podman ? "podman service" : "Docker engine";
	pthread_mutex_lock(&st->lock);
	snprintf(st->api_prefix, sizeof(st->api_prefix), "/v%d.%d",
		 DK_API_OURS_MAJOR, use);
	st->is_podman = r.is_podman;
	if (strcmp(st->engine_name, name))
		snprintf(st->engine_name, sizeof(st->engine_name), "%s", name);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

CURL *dk_raw_handle(struct dk_state *st)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, st->socket_path);
	curl_easy_setopt(c, CURLOPT_URL, "http://docker/");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)DK_PING_TIMEOUT_MS);
	return c;
}

void dk_engine_fini(struct dk_state *st)
{
	for (size_t i = 0; i < st->n_idle; i++)
		curl_easy_cleanup(st->idle[i]);
	free(st->idle);
	st->idle = NULL;
	st->n_idle = st->cap_idle = 0;
}

char *dk_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1);
	char *p = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	return out;
}
