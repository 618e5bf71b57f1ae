/* The session transcript: an append-only JSONL file, one record per line
 * (header, model turns, tool calls, command results, end), written as
 * things happen so that a crash leaves everything up to it. */
#ifndef MONKEY_TRANSCRIPT_H
#define MONKEY_TRANSCRIPT_H

#include <json-c/json.h>

#include <monkey/error.h>

/* 2: keys in camelCase as in "monkey exec --json"; the header lists only
 * the limits the backend enforced; commands keep copies of their output.
 * Replay reads 1 and 2. */
#define MONKEY_TRANSCRIPT_VERSION 2
/* Bytes of each output stream a command record keeps (head and tail, with
 * an omission marker between), for replay's diff.  The SHA-256 covers
 * the whole stream. */
#define MONKEY_TRANSCRIPT_OUTPUT_COPY 4096

struct transcript {
	int fd;
	char *path;
	char *secret; /* never written: replaced by [REDACTED] */
};

/* Open path for appending (created 0600), or, when path is NULL, a new
 * file <UTC time>-<pid>.jsonl in the sessions directory of the user's
 * state directory (transcript_dir.h), never in the workspace.  secret (the
 * API key) is copied and scrubbed from every record. */
int transcript_open(struct transcript *t, const char *path, const char *secret,
		    struct monkey_error *err);
/* Append rec with "type" and "time" fields added in front.  Takes a
 * reference to rec (puts it). */
int transcript_write(struct transcript *t, const char *type, json_object *rec);
/* Copy s with every occurrence of secret (may be NULL) replaced by
 * [REDACTED]; caller frees; NULL on allocation failure. */
char *transcript_redact(const char *s, const char *secret);
void transcript_close(struct transcript *t);

/* json-c helpers the record builders share. */
json_object *transcript_strv(const char *const *v);

#endif
