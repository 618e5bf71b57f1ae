/* Writing the audit log (audit.h): records are serialised once, hashed
 * exactly as written, and appended under an exclusive lock so that two
 * runs sharing a log keep one chain. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "transcript.h"
#include "transcript_hash.h"
#include "util.h"

void audit_sha256_hex(const void *data, size_t len, char out[65])
{
	struct monkey_sha256 s;
	monkey_sha256_init(&s);
	monkey_sha256_update(&s, data, len);
	monkey_sha256_hex(&s, out);
}

static void sha256_raw(const void *a, size_t alen, const void *b, size_t blen,
		       unsigned char out[32])
{
	struct monkey_sha256 s;
	char hex[65];
	monkey_sha256_init(&s);
	monkey_sha256_update(&s, a, alen);
	monkey_sha256_update(&s, b, blen);
	monkey_sha256_hex(&s, hex);
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

/* RFC 2104 with SHA-256 (64-byte blocks). */
void audit_hmac_hex(const unsigned char *key, size_t key_len, const void *data,
		    size_t len, char out[65])
{
	unsigned char k[64] = {0}, ipad[64], opad[64], inner[32];
	if (key_len > 64)
		sha256_raw(key, key_len, "", 0, k);
	else
		memcpy(k, key, key_len);
	for (int i = 0; i < 64; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	sha256_raw(ipad, 64, data, len, inner);
	struct monkey_sha256 s;
	monkey_sha256_init(&s);
	monkey_sha256_update(&s, opad, 64);
	monkey_sha256_update(&s, inner, 32);
	monkey_sha256_hex(&s, out);
}

int audit_read_key(const char *path, unsigned char **key, size_t *len,
		   struct monkey_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return monkey_set_error(err, -errno,
					"cannot open the audit key %s: %s",
					path, strerror(errno));
	unsigned char *buf = malloc(4097);
	if (!buf)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	ssize_t n = read(fd, buf, 4097);
	if (n <= 0 || n > 4096) {
		free(buf);
		return monkey_set_error(
		    err, -EINVAL,
		    "the audit key %s must hold 1 to 4096 bytes (make one "
		    "with: head -c 32 /dev/urandom > %s)",
		    path, path);
	}
	*key = buf;
	*len = (size_t)n;
	return 0;
}

/* The last line of the file on fd (without its newline), or NULL when
 * the file is empty; caller frees.  Reads backwards in blocks. */
static char *last_line(int fd, off_t size)
{
	if (size <= 0)
		return NULL;
	size_t cap = 0, len = 0;
	char *buf = NULL;
	off_t end = size;
	char c;
	if (pread(fd, &c, 1, size - 1) == 1 && c == '\n')
		end--;
	for (off_t pos = end; pos > 0;) {
		size_t chunk = pos > 4096 ? 4096 : (size_t)pos;
		pos -= (off_t)chunk;
		char *nb = realloc(buf, cap + chunk + 1);
		if (!nb)
			break;
		buf = nb;
		memmove(buf + chunk, buf, len);
		if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
			break;
		len += chunk;
		cap += chunk;
		buf[len] = '\0';
		char *nl = memrchr(buf, '\n', len);
		if (nl) {
			memmove(buf, nl + 1, len - (size_t)(nl + 1 - buf) + 1);
			return buf;
		}
		if (pos == 0)
			return buf;
	}
	free(buf);
	return NULL;
}

/* Pick up the chain from the file's last record (another run, or this
 * one, may have appended since: called under the lock). */
static int resume_chain(struct audit *a)
{
	struct stat st;
	if (fstat(a->fd, &st) < 0)
		return -errno;
	_cleanup_free_ char *line = last_line(a->fd, st.st_size);
	snprintf(a->prev, sizeof(a->prev), "%s", MONKEY_AUDIT_GENESIS);
	a->seq = 0;
	if (!line)
		return 0;
	audit_sha256_hex(line, strlen(line), a->prev);
	_cleanup_json_ json_object *o = json_tokener_parse(line);
	json_object *seq;
	if (o && json_object_object_get_ex(o, "seq", &seq))
		a->seq = json_object_get_int64(seq);
	return 0;
}

int audit_open(struct audit *a, const char *path, const char *key_path,
	       const char *secret, struct monkey_error *err)
{
	memset(a, 0, sizeof(*a));
	a->fd = open(path,
		     O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY |
			 O_NOFOLLOW,
		     0600);
	if (a->fd < 0)
		return monkey_set_error(
		    err, -errno, "cannot open the audit log %s: %s%s", path,
		    strerror(errno),
		    errno == ELOOP ? " (it is a symbolic link: name the file "
				     "itself)"
				   : "");
	struct stat st;
	int r = 0;
	if (fstat(a->fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = monkey_set_error(err, -EINVAL,
				     "the audit log %s is not a regular file",
				     path);
	if (r == 0 && !(a->path = strdup(path)))
		r = monkey_set_error(err, -ENOMEM, "out of memory");
	if (r == 0 && key_path)
		r = audit_read_key(key_path, &a->key, &a->key_len, err);
	if (r == 0 && secret && strlen(secret) >= 8 &&
	    !(a->secret = strdup(secret)))
		r = monkey_set_error(err, -ENOMEM, "out of memory");
	if (r < 0)
		audit_close(a);
	return r;
}

static void add_time(json_object *o)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char stamp[40], full[64];
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(full, sizeof(full), "%s.%03ldZ", stamp,
		 (long)(tv.tv_usec / 1000));
	json_object_object_add(o, "time", json_object_new_string(full));
}

/* The record's bytes: seq, time and event first, rec's fields, then prev
 * and, with a key, mac over everything before it. */
static char *serialise(struct audit *a, const char *event, json_object *rec)
{
	_cleanup_json_ json_object *line = json_object_new_object();
	json_object_object_add(line, "seq", json_object_new_int64(a->seq + 1));
	add_time(line);
	json_object_object_add(line, "event", json_object_new_string(event));
	json_object_object_foreach(rec, k, v)
	{
		json_object_object_add(line, k, json_object_get(v));
	}
	json_object_object_add(line, "prev", json_object_new_string(a->prev));
	const char *s = json_object_to_json_string_ext(
	    line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *clean = s ? transcript_redact(s, a->secret) : NULL;
	if (!clean || !a->key)
		return clean;
	/* ...,"prev":"..."} becomes ...,"prev":"...","mac":"..."} */
	size_t n = strlen(clean);
	char mac[65];
	audit_hmac_hex(a->key, a->key_len, clean, n - 1, mac);
	char *out = monkey_strdup_printf("%.*s,\"mac\":\"%s\"}", (int)(n - 1),
					 clean, mac);
	free(clean);
	return out;
}

int audit_write(struct audit *a, const char *event, json_object *rec)
{
	if (!rec)
		return -ENOMEM;
	if (a->fd < 0) {
		json_object_put(rec);
		return -EBADF;
	}
	while (flock(a->fd, LOCK_EX) < 0 && errno == EINTR)
		;
	int r = resume_chain(a);
	_cleanup_free_ char *s = r == 0 ? serialise(a, event, rec) : NULL;
	json_object_put(rec);
	if (r == 0 && !s)
		r = -ENOMEM;
	if (r == 0) {
		size_t len = strlen(s);
		s[len] = '\n'; /* the NUL becomes the line end */
		for (size_t off = 0; r == 0 && off < len + 1;) {
			ssize_t w = write(a->fd, s + off, len + 1 - off);
			if (w < 0 && errno != EINTR)
				r = -errno;
			else if (w > 0)
				off += (size_t)w;
		}
		s[len] = '\0';
		audit_sha256_hex(s, len, a->prev);
		a->seq++;
	}
	flock(a->fd, LOCK_UN);
	return r;
}

void audit_close(struct audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	free(a->path);
	a->path = NULL;
	free(a->secret);
	a->secret = NULL;
	if (a->key) {
		memset(a->key, 0, a->key_len);
		free(a->key);
	}
	a->key = NULL;
}
