/* Finding and signalling every process of a command: the descendants of its
 * reaper (see procrun_spawn.c for why those are exactly the command's
 * processes), or, once the command has killed its reaper, the marked
 * children of the host and their descendants (procrun_host.c).  Only used
 * on the slow paths (timeout, cancel, leftovers), so it favours simplicity
 * over speed.
 *
 * A listed pid could in theory exit, be reaped and be reused by an unrelated
 * process before we signal it.  Pids are handed out cyclically, so that
 * needs pid_max process creations within the few microseconds between
 * reading the list and kill(); we accept that, like every pid-based kill. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procrun_int.h"

int procrun_tree_force_stat_scan;

struct pidv {
	pid_t *v;
	size_t n, cap;
};

static int pidv_push(struct pidv *pv, pid_t pid)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 64;
		pid_t *v = realloc(pv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pv->v = v;
		pv->cap = cap;
	}
	pv->v[pv->n++] = pid;
	return 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Append the children of every thread of pid (from
 * /proc/<pid>/task/<tid>/children).  A process that is gone has none. */
static int children_of(pid_t pid, struct pidv *out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (!all_digits(de->d_name))
			continue;
		char cpath[96];
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%d/children",
			 (int)pid, atoi(de->d_name));
		FILE *f = fopen(cpath, "re");
		if (!f)
			continue;
		int c;
		while (r == 0 && fscanf(f, "%d", &c) == 1)
			r = pidv_push(out, c);
		fclose(f);
	}
	closedir(d);
	return r;
}

/* Breadth-first over children files, signalling each process before its
 * children are listed: after SIGKILL it cannot fork again, so repeated
 * sweeps converge. */
static int signal_by_children_files(pid_t reaper, int sig)
{
	struct pidv q = {0};
	int count = 0, r = pidv_push(&q, reaper);
	for (size_t i = 0; r == 0 && i < q.n; i++) {
		if (q.v[i] != reaper && kill(q.v[i], sig) == 0)
			count++;
		r = children_of(q.v[i], &q);
	}
	free(q.v);
	return r < 0 ? r : count;
}

/* Resident pages of pid (statm's second field), 0 when it is gone. */
static long long resident_pages(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	FILE *f = fopen(path, "re");
	long long size = 0, rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%lld %lld", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss;
}

long long procrun_tree_rss(pid_t reaper)
{
	if (procrun_tree_force_stat_scan)
		return -1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)reaper,
		 (int)reaper);
	if (access(path, R_OK) < 0)
		return -1;
	struct pidv q = {0};
	long long pages = 0;
	int r = pidv_push(&q, reaper);
	for (size_t i = 0; r == 0 && i < q.n; i++) {
		/* The reaper shares the host's memory: not the command's. */
		if (q.v[i] != reaper)
			pages += resident_pages(q.v[i]);
		r = children_of(q.v[i], &q);
	}
	free(q.v);
	return r < 0 ? -1 : pages * sysconf(_SC_PAGESIZE);
}

/* Parent pid from /proc/<pid>/stat: the field after "(comm) S". */
static pid_t stat_ppid(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	int ppid;
	char state;
	if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
		return -1;
	return ppid;
}

/* For kernels without CONFIG_PROC_CHILDREN: read every process's parent,
 * then take the closure of reaper's children. */
static int signal_by_stat_scan(pid_t reaper, int sig)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct pidv pids = {0}, ppids = {0}, tree = {0};
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (!all_digits(de->d_name))
			continue;
		pid_t pp = stat_ppid(atoi(de->d_name));
		if (pp < 0)
			continue;
		if ((r = pidv_push(&pids, atoi(de->d_name))) == 0)
			r = pidv_push(&ppids, pp);
	}
	closedir(d);
	if (r == 0)
		r = pidv_push(&tree, reaper);
	for (size_t i = 0; r == 0 && i < tree.n; i++)
		for (size_t j = 0; r == 0 && j < pids.n; j++)
			if (ppids.v[j] == tree.v[i])
				r = pidv_push(&tree, pids.v[j]);
	int count = 0;
	for (size_t i = 1; r == 0 && i < tree.n; i++)
		if (kill(tree.v[i], sig) == 0)
			count++;
	free(pids.v);
	free(ppids.v);
	free(tree.v);
	return r < 0 ? r : count;
}

static int have_children_files(void)
{
	/* Several threads may race to fill this in; they all store the same
	 * value. */
	static int have = -1;
	int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
	if (h < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
			 (int)getpid(), (int)getpid());
		h = access(path, R_OK) == 0;
		__atomic_store_n(&have, h, __ATOMIC_RELAXED);
	}
	return h && !procrun_tree_force_stat_scan;
}

int procrun_tree_signal(pid_t reaper, int sig)
{
	if (have_children_files())
		return signal_by_children_files(reaper, sig);
	return signal_by_stat_scan(reaper, sig);
}

/* The children of every thread of the host. */
static int host_children(struct pidv *out)
{
	pid_t self = getpid();
	if (have_children_files())
		return children_of(self, out);
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)))
		if (all_digits(de->d_name) &&
		    stat_ppid(atoi(de->d_name)) == self)
			r = pidv_push(out, atoi(de->d_name));
	closedir(d);
	return r;
}

int procrun_orphans_sweep(int *found)
{
	struct pidv kids = {0};
	int r = host_children(&kids), seen = 0;
	*found = 0;
	for (size_t i = 0; r == 0 && i < kids.n; i++) {
		pid_t c = kids.v[i];
		int m = procrun_is_marked(c);
		if (m < 0) {
			/* Gone since it was listed; if it was ours, what it
			 * had may have come to us since: look again. */
			seen++;
			continue;
		}
		/* Live reapers (ours and other threads'), and whatever the
		 * host started itself, carry no mark and are left alone. */
		if (m == 0)
			continue;
		seen++;
		(*found)++;
		/* Its descendants first, while they are still below it: once
		 * it dies they come to us and the next sweep finds them. */
		procrun_tree_signal(c, SIGKILL);
		kill(c, SIGKILL);
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		/* Reaped now if it is dead already, else by a later sweep;
		 * ECHILD: another thread's sweep took it, or a host that
		 * ignores SIGCHLD had it reaped. */
		waitid(P_PID, (id_t)c, &si, WEXITED | WNOHANG | __WALL);
	}
	free(kids.v);
	return r < 0 ? r : seen;
}
