/* What the egress proxy hands the host: its records as a line of text or
 * a JSON object, and the environment that points a command at it. */
#include "config.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/proxy.h>

#include "util.h"

MONKEY_EXPORT const char *monkey_proxy_decision_name(int decision)
{
	switch (decision) {
	case MONKEY_PROXY_ALLOWED:
		return "allowed";
	case MONKEY_PROXY_DENIED:
		return "denied";
	case MONKEY_PROXY_BAD_REQUEST:
		return "bad-request";
	case MONKEY_PROXY_FAILED:
		return "failed";
	case MONKEY_PROXY_BUSY:
		return "busy";
	default:
		return "?";
	}
}

/* 1234 B, 12.3 kB, 4.5 MB, 1.2 GB. */
static void human(uint64_t n, char *buf, size_t len)
{
	if (n < 10000)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else if (n < 10000000)
		snprintf(buf, len, "%.1f kB", (double)n / 1e3);
	else if (n < 10000000000ull)
		snprintf(buf, len, "%.1f MB", (double)n / 1e6);
	else
		snprintf(buf, len, "%.1f GB", (double)n / 1e9);
}

MONKEY_EXPORT int
monkey_proxy_record_line(const struct monkey_proxy_record *rec, char *buf,
			 size_t len)
{
	char up[32], down[32], target[300], addr[64] = "", status[16] = "";
	bool v6 = strchr(rec->host, ':') != NULL;
	human(rec->bytes_up, up, sizeof(up));
	human(rec->bytes_down, down, sizeof(down));
	if (rec->host[0])
		snprintf(target, sizeof(target), "%s%s%s:%u", v6 ? "[" : "",
			 rec->host, v6 ? "]" : "", (unsigned)rec->port);
	else
		snprintf(target, sizeof(target), "(no request)");
	if (rec->address[0] && strcmp(rec->address, rec->host) != 0)
		snprintf(addr, sizeof(addr), " (%s)", rec->address);
	if (rec->status)
		snprintf(status, sizeof(status), " %d", rec->status);
	return snprintf(buf, len, "%s%s%s%s %s%s, %s up, %s down, %lld ms%s%s",
			rec->method, rec->method[0] ? " " : "", target, addr,
			monkey_proxy_decision_name(rec->decision), status, up,
			down, (long long)rec->duration_ms,
			rec->reason[0] ? ": " : "", rec->reason);
}

MONKEY_EXPORT char *
monkey_proxy_record_json(const struct monkey_proxy_record *rec)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "host", json_object_new_string(rec->host));
	json_object_object_add(o, "port", json_object_new_int(rec->port));
	json_object_object_add(o, "address",
			       json_object_new_string(rec->address));
	json_object_object_add(o, "method",
			       json_object_new_string(rec->method));
	json_object_object_add(
	    o, "decision",
	    json_object_new_string(monkey_proxy_decision_name(rec->decision)));
	json_object_object_add(o, "status", json_object_new_int(rec->status));
	json_object_object_add(o, "reason",
			       json_object_new_string(rec->reason));
	json_object_object_add(o, "bytesUp",
			       json_object_new_int64((int64_t)rec->bytes_up));
	json_object_object_add(o, "bytesDown",
			       json_object_new_int64((int64_t)rec->bytes_down));
	json_object_object_add(o, "startUnixMs",
			       json_object_new_int64(rec->start_unix_ms));
	json_object_object_add(o, "durationMs",
			       json_object_new_int64(rec->duration_ms));
	const char *text =
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char *copy = text ? strdup(text) : NULL;
	json_object_put(o);
	return copy;
}

MONKEY_EXPORT char **monkey_proxy_env_new(unsigned port)
{
	static const char *const names[] = {"HTTP_PROXY", "HTTPS_PROXY",
					    "http_proxy", "https_proxy",
					    "NO_PROXY",	  "no_proxy"};
	char **env = calloc(7, sizeof(char *));
	for (size_t i = 0; env && i < 6; i++) {
		env[i] = i < 4 ? monkey_strdup_printf("%s=http://127.0.0.1:%u",
						      names[i], port)
			       : monkey_strdup_printf("%s=localhost,127.0.0.1",
						      names[i]);
		if (!env[i]) {
			monkey_proxy_env_free(env);
			return NULL;
		}
	}
	return env;
}

MONKEY_EXPORT void monkey_proxy_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}
