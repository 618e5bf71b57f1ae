/* The audit log: one JSON record per security-relevant event, appended to
 * a file the user names, each record carrying the SHA-256 of the one
 * before it (a hash chain) and, with a key, an HMAC-SHA256 of itself. */
#ifndef MONKEY_AUDIT_H
#define MONKEY_AUDIT_H

#include <stdint.h>

#include <json-c/json.h>

#include <monkey/error.h>

/* The "prev" of a log's first record. */
#define MONKEY_AUDIT_GENESIS                                                   \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct audit {
	int fd;
	char *path;
	char *secret;	    /* never written: replaced by [REDACTED] */
	unsigned char *key; /* HMAC key, or NULL */
	size_t key_len;
	int64_t seq;   /* of the last record written */
	char prev[65]; /* SHA-256 of the last record's bytes */
};

/* Open path for appending: created 0600, the last component never a
 * symbolic link, only a regular file, and the chain picked up from its
 * last record.  key_path, when not NULL, names a file whose bytes key an
 * HMAC of every record.  secret (the API key) is scrubbed from every
 * record. */
int audit_open(struct audit *a, const char *path, const char *key_path,
	       const char *secret, struct monkey_error *err);
/* Append rec as an "event" record: "seq", "time" and "event" first,
 * "prev" (and "mac") last.  Takes rec (puts it). */
int audit_write(struct audit *a, const char *event, json_object *rec);
void audit_close(struct audit *a);

/* Read a key file (at most 4 KiB, not empty); caller frees *key. */
int audit_read_key(const char *path, unsigned char **key, size_t *len,
		   struct monkey_error *err);
/* HMAC-SHA256 of data under key, as 64 hex digits. */
void audit_hmac_hex(const unsigned char *key, size_t key_len, const void *data,
		    size_t len, char out[65]);
/* SHA-256 of data, as 64 hex digits. */
void audit_sha256_hex(const void *data, size_t len, char out[65]);

#endif
