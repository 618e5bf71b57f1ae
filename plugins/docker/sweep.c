/* Who owns a container, and the start-up sweep.  Every container carries
 * its owner's boot id, PID namespace, pid and start time as labels; the
 * sweep (run before the first command, never by a probe) removes only the
 * containers whose owner is provably gone: the machine rebooted since, or
 * the owner's pid in our own PID namespace is free or belongs to a
 * process that started at another time.  An owner in another PID
 * namespace (another container, another user's sandbox) or one whose
 * liveness cannot be read keeps its containers. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "container.h"

/* Field 22 of /proc/<pid>/stat, the start time in clock ticks since boot;
 * 0 when it cannot be read. */
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

int dk_owner_init(struct dk_owner *o)
{
	struct stat sb;
	memset(o, 0, sizeof(*o));
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (f) {
		if (!fgets(o->boot_id, sizeof(o->boot_id), f))
			o->boot_id[0] = '\0';
		fclose(f);
	}
	o->boot_id[strcspn(o->boot_id, "\n")] = '\0';
	if (stat("/proc/self/ns/pid", &sb) == 0)
		snprintf(o->pidns, sizeof(o->pidns), "%llu",
			 (unsigned long long)sb.st_ino);
	snprintf(o->pid, sizeof(o->pid), "%ld", (long)getpid());
	unsigned long long st = start_time(getpid());
	if (st)
		snprintf(o->start, sizeof(o->start), "%llu", st);
	/* Without all four a later sweep could not tell: label nothing it
	 * would remove (an empty value is never "gone"). */
	return o->boot_id[0] && o->pidns[0] && o->start[0] ? 0 : -1;
}

static const char *label(json_object *labels, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(labels, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* 1 when the labelled owner is provably gone, 0 when it lives or cannot
 * be judged. */
int dk_owner_gone(const struct dk_owner *self, const char *boot_id,
		  const char *pidns, const char *pid, const char *start)
{
	char *end = NULL;
	if (!boot_id || !pidns || !pid || !start || !boot_id[0] ||
	    !self->boot_id[0] || !self->pidns[0])
		return 0;
	/* Another boot: every process of the old one is gone. */
	if (strcmp(boot_id, self->boot_id))
		return 1;
	/* A pid of another namespace means nothing here. */
	if (strcmp(pidns, self->pidns))
		return 0;
	errno = 0;
	long p = strtol(pid, &end, 10);
	if (errno || *end || p <= 0)
		return 0;
	unsigned long long want = strtoull(start, &end, 10);
	if (*end || !want)
		return 0;
	if (kill((pid_t)p, 0) < 0 && errno == ESRCH)
		return 1;
	unsigned long long now = start_time(p);
	/* Unreadable (hidepid): alive as far as we can tell. */
	return now != 0 && now != want;
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
		json_object *id = NULL, *labels = NULL;
		if (!json_object_object_get_ex(c, "Id", &id) ||
		    !json_object_object_get_ex(c, "Labels", &labels))
			continue;
		const char *cid = json_object_get_string(id);
		if (!dk_owner_gone(&st->owner, label(labels, DK_OWNER_BOOT),
				   label(labels, DK_OWNER_PIDNS),
				   label(labels, DK_OWNER_PID),
				   label(labels, DK_OWNER_START)))
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
			       cid, label(labels, DK_OWNER_PID));
	}
	json_object_put(list);
	dk_response_free(&r);
}
