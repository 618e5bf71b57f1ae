/* Checking an audit log (monkey/audit.h): every record's number follows
 * the one before, its "prev" is the SHA-256 of the line before, and with
 * a key its MAC matches. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/audit.h>

#include "agent_internal.h"
#include "audit.h"
#include "util.h"

struct verify {
	struct monkey_audit_check *c;
	unsigned char *key;
	size_t key_len;
	int64_t seq;   /* of the line before */
	char prev[65]; /* SHA-256 of the line before */
};

static bool bad(struct verify *v, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool bad(struct verify *v, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->c->reason, sizeof(v->c->reason), fmt, ap);
	va_end(ap);
	v->c->bad_line = line;
	return false;
}

/* The MAC covers the line up to ',"mac":"'. */
static bool mac_ok(const struct verify *v, const char *line, size_t len)
{
	static const char tag[] = ",\"mac\":\"";
	const char *m = NULL;
	for (const char *p = line; (p = strstr(p, tag)); p++)
		m = p;
	if (!m || len < 2 ||
	    (size_t)(m - line) + sizeof(tag) - 1 + 64 + 2 != len)
		return false;
	char want[65];
	audit_hmac_hex(v->key, v->key_len, line, (size_t)(m - line), want);
	return !memcmp(m + sizeof(tag) - 1, want, 64);
}

/* One line (n from 1); false once it shows the log was tampered with. */
static bool check_line(struct verify *v, long n, const char *line, size_t len)
{
	_cleanup_json_ json_object *o = json_tokener_parse(line);
	json_object *seq, *prev;
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "seq", &seq) ||
	    !json_object_object_get_ex(o, "prev", &prev) ||
	    !json_object_is_type(prev, json_type_string))
		return bad(v, n, "not an audit record");
	if (v->key && !mac_ok(v, line, len))
		return bad(v, n,
			   "its MAC does not match: the record was changed, "
			   "or written without this key");
	int64_t s = json_object_get_int64(seq);
	if (s != v->seq + 1)
		return bad(v, n,
			   "record number %lld where %lld was expected: a "
			   "record was removed, inserted or moved here",
			   (long long)s, (long long)v->seq + 1);
	if (strcmp(json_object_get_string(prev), v->prev))
		return n == 1 ? bad(v, n,
				    "the first record does not start "
				    "the chain")
			      : bad(v, n - 1,
				    "the record was changed after it was "
				    "written (the next one holds another "
				    "hash of it)");
	v->seq = s;
	audit_sha256_hex(line, len, v->prev);
	return true;
}

MONKEY_EXPORT int monkey_audit_verify(const char *path, const char *key_path,
				      struct monkey_audit_check *check,
				      struct monkey_error *err)
{
	memset(check, 0, sizeof(*check));
	struct verify v = {.c = check};
	snprintf(v.prev, sizeof(v.prev), "%s", MONKEY_AUDIT_GENESIS);
	int r =
	    key_path ? audit_read_key(key_path, &v.key, &v.key_len, err) : 0;
	if (r < 0)
		return r;
	check->keyed = key_path != NULL;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		free(v.key);
		return monkey_set_error(err, -errno,
					"cannot open the audit log %s: %s",
					path, strerror(errno));
	}
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		n++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!check_line(&v, n, line, (size_t)len))
			break;
		check->records++;
	}
	free(v.key);
	return 0;
}
