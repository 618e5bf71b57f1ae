/* Writing the JSONL transcript: one write(2) per record on an O_APPEND
 * descriptor, with the API key scrubbed from whatever would be written. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "transcript.h"
#include "transcript_dir.h"
#include "util.h"

/* <UTC time>-<pid>: sorts by time, tells runs of one second apart. */
static void session_stem(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(buf, len, "%s-%ld", stamp, (long)getpid());
}

static int open_default(struct transcript *t, struct monkey_error *err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = transcript_dir_open(&dir, err);
	if (dfd < 0)
		return dfd;
	char stem[64];
	session_stem(stem, sizeof(stem));
	t->fd = transcript_dir_create(dfd, dir, stem, &t->path, err);
	return t->fd < 0 ? t->fd : 0;
}

int transcript_open(struct transcript *t, const char *path, const char *secret,
		    struct monkey_error *err)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	int r = 0;
	if (!path) {
		r = open_default(t, err);
	} else if (!(t->path = strdup(path))) {
		r = monkey_set_error(err, -ENOMEM, "out of memory");
	} else {
		/* Where the user says, links included: it is their path. */
		t->fd = open(
		    path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
		    0600);
		if (t->fd < 0)
			r = monkey_set_error(
			    err, -errno, "cannot open the transcript %s: %s",
			    path, strerror(errno));
	}
	/* Short strings could match innocent text; real keys are long. */
	if (r == 0 && secret && strlen(secret) >= 8 &&
	    !(t->secret = strdup(secret)))
		r = monkey_set_error(err, -ENOMEM, "out of memory");
	if (r < 0)
		transcript_close(t);
	return r;
}

char *transcript_redact(const char *s, const char *secret)
{
	if (!secret || !strstr(s, secret))
		return strdup(s);
	static const char mark[] = "[REDACTED]";
	size_t sl = strlen(secret), n = 0;
	for (const char *p = s; (p = strstr(p, secret)); p += sl)
		n++;
	char *out = malloc(strlen(s) + n * sizeof(mark) + 1);
	if (!out)
		return NULL;
	char *o = out;
	for (const char *p = s;;) {
		const char *m = strstr(p, secret);
		size_t k = m ? (size_t)(m - p) : strlen(p);
		memcpy(o, p, k);
		o += k;
		if (!m)
			break;
		memcpy(o, mark, sizeof(mark) - 1);
		o += sizeof(mark) - 1;
		p = m + sl;
	}
	*o = '\0';
	return out;
}

int transcript_write(struct transcript *t, const char *type, json_object *rec)
{
	if (!rec)
		return -ENOMEM;
	if (t->fd < 0) {
		json_object_put(rec);
		return -EBADF;
	}
	/* type and time first, so that a person reading the file sees
	 * them; json-c keeps insertion order. */
	json_object *line = json_object_new_object();
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char stamp[40], full[64];
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(full, sizeof(full), "%s.%03ldZ", stamp,
		 (long)(tv.tv_usec / 1000));
	json_object_object_add(line, "type", json_object_new_string(type));
	json_object_object_add(line, "time", json_object_new_string(full));
	json_object_object_foreach(rec, k, v)
	{
		json_object_object_add(line, k, json_object_get(v));
	}
	json_object_put(rec);
	const char *s = json_object_to_json_string_ext(
	    line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *clean = s ? transcript_redact(s, t->secret) : NULL;
	json_object_put(line);
	if (!clean)
		return -ENOMEM;
	size_t len = strlen(clean);
	clean[len] = '\n'; /* the NUL becomes the line end */
	int r = 0;
	for (size_t off = 0; off < len + 1;) {
		ssize_t w = write(t->fd, clean + off, len + 1 - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)w;
	}
	free(clean);
	return r;
}

void transcript_close(struct transcript *t)
{
	if (t->fd >= 0) {
		fsync(t->fd);
		close(t->fd);
	}
	if (t->secret)
		memset(t->secret, 0, strlen(t->secret));
	free(t->secret);
	free(t->path);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

json_object *transcript_strv(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; a && v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}
