/* JSON encoding of command results. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "jsonout.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len;
	unsigned min;
	unsigned cp;
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2, min = 0x80, cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3, min = 0x800, cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

char *monkey_utf8_sanitize(const char *s, size_t len, size_t *outlen)
{
	/* Worst case every byte becomes the 3-byte U+FFFD. */
	char *out = malloc(len * 3 + 1);
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(p + i, len - i);
		if (k) {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

struct json_object *monkey_json_bytes(const char *s, size_t len)
{
	size_t n;
	char *clean = monkey_utf8_sanitize(s ? s : "", s ? len : 0, &n);
	if (!clean)
		return NULL;
	struct json_object *o = json_object_new_string_len(clean, (int)n);
	free(clean);
	return o;
}

static struct json_object *capture_json(const struct monkey_capture *c)
{
	size_t len;
	char *joined = monkey_capture_join(c, &len);
	if (!joined)
		return NULL;
	struct json_object *o = monkey_json_bytes(joined, len);
	free(joined);
	return o;
}

/* "limitHit": the limit that ended or broke the command (or null);
 * "limitsHit": every limit it ran into; "limitsUnknown": the limits the
 * backend could not watch (for those, absence from limitsHit is not a
 * "no"). */
static void add_limits(struct json_object *o, const struct monkey_result *res)
{
	const char *first = monkey_result_limit(res);
	struct json_object *hit = json_object_new_array();
	struct json_object *unknown = json_object_new_array();
	if (res->timed_out)
		json_object_array_add(hit, json_object_new_string("timeout"));
	if (res->oom_killed == MONKEY_YES)
		json_object_array_add(hit, json_object_new_string("memory"));
	for (uint32_t bit = 1; bit; bit <<= 1) {
		const char *n = monkey_limit_name(bit);
		if (n && (res->limits_hit & bit))
			json_object_array_add(hit, json_object_new_string(n));
		if (n && (res->limits_unknown & bit))
			json_object_array_add(unknown,
					      json_object_new_string(n));
	}
	json_object_object_add(o, "limitHit",
			       first ? json_object_new_string(first) : NULL);
	json_object_object_add(o, "limitsHit", hit);
	json_object_object_add(o, "limitsUnknown", unknown);
}

/* One connection through the egress proxy (the keys of
 * monkey_proxy_record_json). */
static struct json_object *
proxy_record_json(const struct monkey_proxy_record *r)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "host", json_object_new_string(r->host));
	json_object_object_add(o, "port", json_object_new_int(r->port));
	json_object_object_add(
	    o, "address",
	    r->address[0] ? json_object_new_string(r->address) : NULL);
	json_object_object_add(o, "method", json_object_new_string(r->method));
	json_object_object_add(
	    o, "decision",
	    json_object_new_string(monkey_proxy_decision_name(r->decision)));
	json_object_object_add(o, "status", json_object_new_int(r->status));
	json_object_object_add(o, "reason",
			       r->reason[0] ? json_object_new_string(r->reason)
					    : NULL);
	json_object_object_add(o, "bytesUp",
			       json_object_new_int64((int64_t)r->bytes_up));
	json_object_object_add(o, "bytesDown",
			       json_object_new_int64((int64_t)r->bytes_down));
	json_object_object_add(o, "startUnixMs",
			       json_object_new_int64(r->start_unix_ms));
	json_object_object_add(o, "durationMs",
			       json_object_new_int64(r->duration_ms));
	return o;
}

void monkey_network_to_json(struct json_object *o,
			    const struct monkey_result *res)
{
	if (!res->proxied)
		return;
	const struct monkey_proxy_report *n = &res->network;
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; arr && i < n->n_records; i++)
		json_object_array_add(arr, proxy_record_json(&n->records[i]));
	json_object_object_add(o, "network", arr);
	struct json_object *denied = json_object_new_array();
	for (size_t i = 0; denied && i < n->n_denied; i++)
		json_object_array_add(denied,
				      json_object_new_string(n->denied[i]));
	json_object_object_add(o, "networkDenied", denied);
	json_object_object_add(o, "networkDropped",
			       json_object_new_int64((int64_t)n->dropped));
}

static struct json_object *figure(int64_t v)
{
	return v >= 0 ? json_object_new_int64(v) : NULL;
}

/* Resource use: null where the backend cannot tell. */
static void add_usage(struct json_object *o, const struct monkey_result *res)
{
	json_object_object_add(o, "peakMemoryBytes",
			       figure(res->peak_memory_bytes));
	json_object_object_add(o, "cpuUserMs", figure(res->cpu_user_ms));
	json_object_object_add(o, "cpuSystemMs", figure(res->cpu_system_ms));
}

struct json_object *monkey_result_to_json(const struct monkey_result *res,
					  const char *sandbox,
					  const char *requested, bool fell_back)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "sandbox", json_object_new_string(sandbox));
	json_object_object_add(o, "requestedSandbox",
			       json_object_new_string(requested));
	json_object_object_add(o, "fellBack",
			       json_object_new_boolean(fell_back));
	json_object_object_add(o, "exitCode",
			       json_object_new_int(res->exit_code));
	json_object_object_add(
	    o, "signal", res->signal ? json_object_new_int(res->signal) : NULL);
	json_object_object_add(o, "timedOut",
			       json_object_new_boolean(res->timed_out));
	json_object_object_add(o, "cancelled",
			       json_object_new_boolean(res->cancelled));
	json_object_object_add(
	    o, "oomKilled",
	    res->oom_killed == MONKEY_UNKNOWN
		? NULL
		: json_object_new_boolean(res->oom_killed == MONKEY_YES));
	add_limits(o, res);
	json_object_object_add(o, "durationMs",
			       json_object_new_int64(res->duration_ms));
	add_usage(o, res);
	json_object_object_add(o, "stdout", capture_json(&res->out));
	json_object_object_add(o, "stderr", capture_json(&res->err));
	json_object_object_add(o, "stdoutBytes",
			       json_object_new_int64((int64_t)res->out.total));
	json_object_object_add(o, "stderrBytes",
			       json_object_new_int64((int64_t)res->err.total));
	json_object_object_add(o, "stdoutTruncated",
			       json_object_new_boolean(res->out.truncated));
	json_object_object_add(o, "stderrTruncated",
			       json_object_new_boolean(res->err.truncated));
	json_object_object_add(
	    o, "error",
	    res->error[0] ? json_object_new_string(res->error) : NULL);
	monkey_network_to_json(o, res);
	return o;
}
