/* Images: is the one a command needs present, and pulling it when it is
 * not, with progress reported through the host's log. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "container.h"

/* A pull may take minutes on a slow link, but not forever. */
#define DK_PULL_TIMEOUT_MS (30 * 60 * 1000)
/* At most one progress line per this many ms (status changes always). */
#define DK_PULL_LOG_EVERY_MS 1000

int dk_image_valid(const char *image)
{
	size_t n = strlen(image);
	if (n == 0 || n > 255 || image[0] == '-' || image[0] == '/' ||
	    image[0] == ':' || strstr(image, ".."))
		return 0;
	return strspn(image,
		      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._/:@-") == n;
}

int dk_network_valid(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && n < 128 && name[0] != '-' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
			    "XYZ0123456789._-") == n;
}

int dk_image_present(struct dk_state *st, const char *image,
		     struct monkey_error *err)
{
	char path[320];
	struct dk_response r = {0};

	snprintf(path, sizeof(path), "/images/%s/json", image);
	int rc =
	    dk_request(st, "GET", path, NULL, st->api_timeout_ms, -1, &r, err);
	if (rc < 0)
		return rc;
	if (r.status == 200)
		rc = 0;
	else if (r.status == 404)
		rc = st->host->set_error(
		    err, -ENXIO, "image %s is not present locally", image);
	else
		rc = dk_engine_error(st, &r, err, "looking up image %s failed",
				     image);
	dk_response_free(&r);
	return rc;
}

struct pull_ctx {
	struct dk_state *st;
	const char *image;
	char error[512];
	char last_status[128];
	struct timespec last_log;
};

static int64_t since_ms(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* One progress object of the pull stream. */
static int on_pull_line(void *ud, const char *line)
{
	struct pull_ctx *p = ud;
	json_object *o = json_tokener_parse(line);
	json_object *v = NULL;

	if (!o)
		return 0;
	/* Stream errors come as {"error"}; an error answer as {"message"}. */
	if (json_object_object_get_ex(o, "error", &v) ||
	    (!json_object_object_get_ex(o, "status", NULL) &&
	     json_object_object_get_ex(o, "message", &v))) {
		snprintf(p->error, sizeof(p->error), "%s",
			 json_object_get_string(v));
		json_object_put(o);
		return 0;
	}
	const char *status = json_object_object_get_ex(o, "status", &v)
				 ? json_object_get_string(v)
				 : "";
	const char *id = json_object_object_get_ex(o, "id", &v)
			     ? json_object_get_string(v)
			     : "";
	const char *progress = json_object_object_get_ex(o, "progress", &v)
				   ? json_object_get_string(v)
				   : "";
	int changed =
	    strncmp(p->last_status, status, sizeof(p->last_status) - 1) != 0;
	if (changed || since_ms(&p->last_log) >= DK_PULL_LOG_EVERY_MS) {
		p->st->host->log(p->st->host, MONKEY_LOG_INFO,
				 "pulling %s: %s%s%s%s%s", p->image, id,
				 id[0] ? ": " : "", status,
				 progress[0] ? " " : "", progress);
		snprintf(p->last_status, sizeof(p->last_status), "%s", status);
		clock_gettime(CLOCK_MONOTONIC, &p->last_log);
	}
	json_object_put(o);
	return 0;
}

int dk_image_pull(struct dk_state *st, const char *image, int cancel_fd,
		  struct monkey_error *err)
{
	char name[256], tag[160] = "";
	char path[1024];
	struct pull_ctx p = {.st = st, .image = image};
	struct dk_response r = {.on_line = on_pull_line, .line_ctx = &p};

	/* Without a tag the engine would pull every tag of the repository. */
	snprintf(name, sizeof(name), "%s", image);
	const char *slash = strrchr(name, '/');
	char *colon = strrchr(slash ? slash : name, ':');
	if (!strchr(name, '@')) {
		if (colon) {
			*colon = '\0';
			snprintf(tag, sizeof(tag), "%s", colon + 1);
		} else {
			strcpy(tag, "latest");
		}
	}
	char *ename = dk_urlencode(name), *etag = dk_urlencode(tag);
	if (!ename || !etag) {
		free(ename);
		free(etag);
		return st->host->set_error(err, -ENOMEM, "out of memory");
	}
	snprintf(path, sizeof(path), "/images/create?fromImage=%s%s%s", ename,
		 tag[0] ? "&tag=" : "", etag);
	free(ename);
	free(etag);

	clock_gettime(CLOCK_MONOTONIC, &p.last_log);
	st->host->log(st->host, MONKEY_LOG_INFO,
		      "image %s is not present locally; pulling it", image);
	int rc = dk_request(st, "POST", path, NULL, DK_PULL_TIMEOUT_MS,
			    cancel_fd, &r, err);
	if (rc < 0) {
		char why[MONKEY_ERROR_MESSAGE_MAX];
		snprintf(why, sizeof(why), "%s", err ? err->message : "");
		dk_response_free(&r);
		return st->host->set_error(
		    err, rc,
		    "image %s is not present locally and pulling it failed: %s",
		    image, why);
	}
	/* A line left without its newline still counts. */
	if (r.line_len) {
		r.linebuf[r.line_len] = '\0';
		on_pull_line(&p, r.linebuf);
	}
	if (r.status != 200) {
		struct dk_response e = {.status = r.status,
					.body =
					    p.error[0] ? p.error : r.linebuf};
		rc = dk_engine_error(
		    st, &e, err,
		    "image %s is not present locally and pulling it failed",
		    image);
		dk_response_free(&r);
		return rc;
	}
	dk_response_free(&r);
	if (p.error[0])
		return st->host->set_error(err, -ENXIO,
					   "image %s is not present locally "
					   "and pulling it failed: %s (%s)",
					   image, p.error, st->engine_name);
	rc = dk_image_present(st, image, err);
	if (rc == -ENXIO)
		return st->host->set_error(
		    err, rc,
		    "image %s is not present locally, and the %s reported a "
		    "pull without error but still has no such image",
		    image, st->engine_name);
	if (rc == 0)
		st->host->log(st->host, MONKEY_LOG_INFO, "pulled %s", image);
	return rc;
}

int dk_image_missing(struct dk_state *st, const char *image,
		     struct monkey_error *err, const char *why_fmt, ...)
{
	char why[MONKEY_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, why_fmt);
	vsnprintf(why, sizeof(why), why_fmt, ap);
	va_end(ap);
	return st->host->set_error(
	    err, -ENXIO,
	    "image %s is not present locally (%s): get it with 'docker pull "
	    "%s' (or 'podman pull'), load it with 'docker load', or name "
	    "another with --image",
	    image, why, image);
}

int dk_image_ensure(struct dk_state *st, const char *image, int cancel_fd,
		    struct monkey_error *err)
{
	int rc = dk_image_present(st, image, err);
	if (rc != -ENXIO)
		return rc;
	if (!st->pull_missing)
		return dk_image_missing(st, image, err, "%s", st->no_pull_why);
	rc = dk_image_pull(st, image, cancel_fd, err);
	/* Not the pull's transport error: the image is what is missing. */
	if (rc < 0 && rc != -ECANCELED) {
		char why[MONKEY_ERROR_MESSAGE_MAX];
		snprintf(why, sizeof(why), "%s", err ? err->message : "");
		const char *p = strstr(why, "pulling it failed: ");
		return dk_image_missing(st, image, err, "pulling it failed: %s",
					p ? p + 19 : why);
	}
	return rc;
}
