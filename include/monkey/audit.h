/* monkey/audit.h - checking an audit log written by "monkey agent
 * --audit-log": one JSON record per line, each holding the SHA-256 of the
 * line before it ("prev") and its number ("seq"), and, when the log was
 * written with a key, an HMAC-SHA256 of itself ("mac"). */
#ifndef MONKEY_AUDIT_H_PUBLIC
#define MONKEY_AUDIT_H_PUBLIC

#include <stdbool.h>

#include <monkey/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct monkey_audit_check {
	long records;	  /* records read */
	long bad_line;	  /* the first bad line (from 1); 0: none */
	char reason[256]; /* why it is bad */
	bool keyed;	  /* every record's MAC was checked */
};

/* Check the log at path.  Without a key the chain detects an edited,
 * removed, inserted or reordered record, but not records appended at the
 * end or a whole file rewritten; with key_path (the file the log was
 * written with) every record's MAC is checked too.  Returns 0 when the
 * file could be read (check->bad_line says whether it is intact), or a
 * negative errno. */
int monkey_audit_verify(const char *path, const char *key_path,
			struct monkey_audit_check *check,
			struct monkey_error *err);

#ifdef __cplusplus
}
#endif

#endif
