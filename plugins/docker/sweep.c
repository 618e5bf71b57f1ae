/* The start-up sweep: containers labelled monkey.sandbox whose owning monkey
 * process is gone (it crashed or was killed before it could remove them)
 * are removed.  The label's value is the owner's "<pid>-<starttime>". */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "docker.h"

/* Field 22 of /proc/<pid>/stat, the start time in clock ticks; 0 when the
 * process does not exist. */
static unsigned long long start_time(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: count fields
	 * from the last ')', which ends field 2. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

int dk_instance_alive(const char *instance_id)
{
	long pid;
	unsigned long long st;
	int used = 0;
	if (!instance_id ||
	    sscanf(instance_id, "%ld-%llu%n", &pid, &st, &used) != 2 ||
	    (size_t)used != strlen(instance_id) || pid <= 0)
		return -1;
	unsigned long long now = start_time(pid);
	return now != 0 && now == st;
}

void dk_sweep(struct dk_state *st)
{
	const struct monkey_host *h = st->host;
	struct monkey_error err = {0};
	struct dk_response r = {0};
	char path[256];

	char *filter = dk_urlencode("{\"label\":[\"" DK_LABEL "\"]}");
	if (!filter)
		return;
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s",
		 filter);
	free(filter);
	if (dk_request(st, "GET", path, NULL, st->api_timeout_ms, -1, &r,
		       &err) < 0) {
		h->log(h, MONKEY_LOG_INFO,
		       "docker: could not list stale containers: %s",
		       err.message);
		return;
	}
	json_object *list =
	    r.status == 200 ? json_tokener_parse(r.body ? r.body : "") : NULL;
	if (!list || !json_object_is_type(list, json_type_array)) {
		h->log(h, MONKEY_LOG_INFO,
		       "docker: listing stale containers failed (HTTP %ld)",
		       r.status);
		json_object_put(list);
		dk_response_free(&r);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *c = json_object_array_get_idx(list, i);
		json_object *id = NULL, *labels = NULL, *owner = NULL;
		if (!json_object_object_get_ex(c, "Id", &id) ||
		    !json_object_object_get_ex(c, "Labels", &labels) ||
		    !json_object_object_get_ex(labels, DK_LABEL, &owner))
			continue;
		const char *cid = json_object_get_string(id);
		const char *who = json_object_get_string(owner);
		if (h->instance_id && !strcmp(who, h->instance_id))
			continue;
		/* Values not of our form belong to someone else: leave them. */
		if (dk_instance_alive(who) != 0)
			continue;
		if (strspn(cid, "0123456789abcdef") != strlen(cid) ||
		    strlen(cid) >= DK_ID_MAX)
			continue;
		if (dk_container_remove(st, cid, &err) < 0)
			h->log(h, MONKEY_LOG_INFO,
			       "docker: could not remove stale container "
			       "%.12s: %s",
			       cid, err.message);
		else
			h->log(h, MONKEY_LOG_INFO,
			       "docker: removed container %.12s left behind by "
			       "monkey process %s",
			       cid, who);
	}
	json_object_put(list);
	dk_response_free(&r);
}
