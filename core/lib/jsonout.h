/* JSON for results: byte strings made valid UTF-8 so that any command
 * output can be embedded in a JSON document. */
#ifndef MONKEY_JSONOUT_H
#define MONKEY_JSONOUT_H

#include <stddef.h>

#include <json-c/json.h>
#include <monkey/exec.h>

/* Copy of s[0..len) with every byte that is not part of a valid UTF-8
 * sequence replaced by U+FFFD.  Caller frees; *outlen gets the length. */
char *monkey_utf8_sanitize(const char *s, size_t len, size_t *outlen);

/* A JSON string from arbitrary bytes (sanitised). */
struct json_object *monkey_json_bytes(const char *s, size_t len);

/* The result object of "monkey exec --json" (caller puts it). */
struct json_object *monkey_result_to_json(const struct monkey_result *res,
					  const char *sandbox,
					  const char *requested,
					  bool fell_back);

/* In proxy mode (res->proxied), add to o "network" (every connection
 * through the egress proxy, as monkey_proxy_record_json has it),
 * "networkDenied" (the distinct host:port refused) and "networkDropped"
 * (records that did not fit); nothing else. */
void monkey_network_to_json(struct json_object *o,
			    const struct monkey_result *res);

#endif
