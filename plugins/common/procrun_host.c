/* What procrun changes in the host process before its first command, and
 * the mark every command process carries: together they let the host find
 * and kill a command's processes even after the command killed or stopped
 * its reaper (see procrun_spawn.c for the reaper, procrun_tree.c for the
 * search). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "procrun_int.h"

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int setup_err;		  /* errno of the step that failed */
static const char *setup_what;	  /* what it was for */
static struct rlimit host_rttime; /* the host's RLIMIT_RTTIME */

static void setup(void)
{
	/* A command runs as the same user as its reaper and may kill it.
	 * Its processes are then reparented to the nearest subreaper: make
	 * that us, not init, so they can still be found and killed. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		setup_err = errno;
		setup_what = "become a child subreaper, to catch the "
			     "processes of a command that kills its reaper";
		return;
	}
	/* The reaper shares our memory (CLONE_VM), and a command can read
	 * /proc/PID/environ, mem and fd of any dumpable process of its user:
	 * ours hold the API keys.  Non-dumpable makes those files root's.
	 * execve makes the command itself dumpable again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		setup_err = errno;
		setup_what = "make its memory and environment unreadable to "
			     "commands (PR_SET_DUMPABLE)";
		return;
	}
	if (getrlimit(RLIMIT_RTTIME, &host_rttime) < 0) {
		setup_err = errno;
		setup_what =
		    "read RLIMIT_RTTIME, which marks command processes";
		return;
	}
	if (host_rttime.rlim_max == 0) {
		setup_err = ERANGE;
		setup_what = "mark command processes: the RLIMIT_RTTIME hard "
			     "limit is 0, there is no lower value to mark them "
			     "with";
	}
}

int procrun_host_setup(const struct monkey_host *host, struct monkey_error *err)
{
	pthread_once(&setup_once, setup);
	if (setup_err)
		return procrun_set_err(host, err, -setup_err,
				       "the host process cannot %s: %s",
				       setup_what, strerror(setup_err));
	return 0;
}

/* The mark: an RLIMIT_RTTIME hard limit one below the host's.  It is
 * inherited through fork and execve, and only a privileged process can
 * raise a hard limit again, so a command can neither shed it nor pass it on
 * to anything but its own descendants; the host's own children (which a
 * library must never touch) carry the host's value.  The limit only ever
 * applies to real-time scheduled threads, and at 2^64-2 microseconds it
 * changes nothing for them either. */
void procrun_host_mark(struct procrun_spawn *s)
{
	s->mark_max = host_rttime.rlim_max - 1;
	s->mark_cur = host_rttime.rlim_cur < s->mark_max ? host_rttime.rlim_cur
							 : s->mark_max;
}

/* The hard limit from a "Max realtime timeout  SOFT  HARD  us" line. */
static int parse_rttime_max(const char *text, uint64_t *max)
{
	static const char key[] = "Max realtime timeout";
	const char *l = strstr(text, key);
	if (!l)
		return -ENOENT;
	char soft[32], hard[32];
	if (sscanf(l + sizeof(key) - 1, " %31s %31s", soft, hard) != 2)
		return -EINVAL;
	if (strcmp(hard, "unlimited") == 0) {
		*max = RLIM_INFINITY;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(hard, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*max = v;
	return 0;
}

int procrun_is_marked(pid_t pid)
{
	/* /proc/PID/limits is readable by everyone, even for a process that
	 * became non-dumpable (a set-user-ID program the command ran). */
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	uint64_t max;
	int r = parse_rttime_max(buf, &max);
	if (r < 0)
		return r;
	return max < (uint64_t)host_rttime.rlim_max;
}
