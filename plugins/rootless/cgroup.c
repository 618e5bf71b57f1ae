/* Memory, pids and CPU limits through cgroups, where monkey may use them:
 * cgroup v1 as root (one directory per controller, under "monkey/"), or a
 * cgroup v2 subtree delegated to the user (the parent of monkey's own
 * cgroup, when it is writable and has the controllers enabled).  Each
 * command gets cgroups of its own, named after the host's instance id, so
 * that a later monkey can remove what a crashed one left behind.  The
 * sandbox's init joins them itself through cgroup.procs descriptors opened
 * here. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rootless.h"

static long long keyed_value(const char *dir, const char *file,
			     const char *key);

static const char *const v1_names[RL_CG_N] = {"memory", "pids", "cpu"};
static const char *const v2_names[RL_CG_N] = {"memory", "pids", "cpu"};

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	return 0;
}

static int write_file(const char *dir, const char *name, const char *value)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	int e = n < 0 ? errno : 0;
	close(fd);
	return n < 0 ? -e : 0;
}

/* Does the word list (a cgroup.controllers line) contain word? */
static int has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ' ') &&
		    (p[wl] == ' ' || p[wl] == '\n' || p[wl] == '\0'))
			return 1;
	return 0;
}

static void detect_v1(void)
{
	for (int c = 0; c < RL_CG_N; c++) {
		char dir[128];
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s", v1_names[c]);
		/* The hierarchy's root: only root may create groups there,
		 * and v1 knows no delegation worth relying on. */
		if (geteuid() != 0 || access(dir, W_OK) < 0)
			continue;
		snprintf(rl_g.cg_base[c], sizeof(rl_g.cg_base[c]), "%s/monkey",
			 dir);
		rl_g.cg_have[c] = 1;
		rl_g.cg_version = 1;
	}
}

/* The v2 directory new groups go to: for root a "monkey" group under the
 * root; for a user the parent of its own group, when that is delegated
 * (writable, controllers enabled for children).  The parent and not the
 * own group: a group holding processes cannot give controllers to
 * children. */
static void detect_v2(void)
{
	char buf[4096], base[256], ctl[1024];
	if (read_file("/proc/self/cgroup", buf, sizeof(buf)) < 0)
		return;
	char *own = strstr(buf, "0::");
	if (!own)
		return;
	own += 3;
	own[strcspn(own, "\n")] = '\0';
	if (geteuid() == 0) {
		snprintf(base, sizeof(base), "/sys/fs/cgroup/monkey");
		if (read_file("/sys/fs/cgroup/cgroup.subtree_control", ctl,
			      sizeof(ctl)) < 0)
			return;
	} else {
		char *slash = strrchr(own, '/');
		if (!slash || slash == own)
			return; /* the root group is never delegated */
		*slash = '\0';
		snprintf(base, sizeof(base), "/sys/fs/cgroup%s", own);
		char path[320];
		snprintf(path, sizeof(path), "%s/cgroup.procs", base);
		if (access(base, W_OK) < 0 || access(path, W_OK) < 0)
			return;
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", base);
		if (read_file(path, ctl, sizeof(ctl)) < 0)
			return;
	}
	for (int c = 0; c < RL_CG_N; c++)
		if (has_word(ctl, v2_names[c]))
			rl_g.cg_have[c] = 1;
	if (rl_g.cg_have[0] || rl_g.cg_have[1] || rl_g.cg_have[2]) {
		snprintf(rl_g.cg_base[0], sizeof(rl_g.cg_base[0]), "%s", base);
		rl_g.cg_version = 2;
	}
}

void rl_cgroup_detect(void)
{
	struct stat sb;
	if (stat("/sys/fs/cgroup/cgroup.controllers", &sb) == 0)
		detect_v2();
	else
		detect_v1();
}

/* A session's group holds one group per command ("c<n>"): they go
 * first. */
static void remove_children(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	char path[PATH_MAX];
	while ((de = readdir(d)))
		if (de->d_name[0] == 'c' && de->d_type == DT_DIR) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			rmdir(path);
		}
	closedir(d);
}

/* Remove groups of monkey processes that are gone: "<pid>-<start>-<n>"
 * whose pid no longer runs with that start time.  Best effort. */
static void sweep(const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		long pid;
		unsigned long long start, n;
		if (sscanf(de->d_name, "%ld-%llu-%llu", &pid, &start, &n) != 3)
			continue;
		char stat_path[64], buf[1024], path[PATH_MAX];
		snprintf(stat_path, sizeof(stat_path), "/proc/%ld/stat", pid);
		if (read_file(stat_path, buf, sizeof(buf)) == 0) {
			char *p = strrchr(buf, ')');
			for (int i = 0; p && i < 20; i++)
				p = strchr(p + 1, ' ');
			if (p && strtoull(p + 1, NULL, 10) == start)
				continue; /* its monkey still runs */
		}
		snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		remove_children(path);
		rmdir(path);
	}
	closedir(d);
}

/* The base directories exist (created once) and leftovers are swept. */
static int prepare_base(struct monkey_error *err)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	static int done;
	int r = 0;
	pthread_mutex_lock(&once);
	for (int c = 0; !done && c < RL_CG_N; c++) {
		if (!rl_g.cg_have[c] || (rl_g.cg_version == 2 && c > 0))
			continue;
		const char *base = rl_g.cg_base[c];
		if (mkdir(base, 0755) < 0 && errno != EEXIST) {
			r = rl_set_err(NULL, err, -errno,
				       "rootless: cannot create the cgroup "
				       "%s: %s",
				       base, strerror(errno));
			break;
		}
		if (rl_g.cg_version == 2 && geteuid() == 0)
			write_file(base, "cgroup.subtree_control",
				   "+memory +pids +cpu");
		sweep(base);
	}
	if (r == 0)
		done = 1;
	pthread_mutex_unlock(&once);
	return r;
}

static int set_limits_v1(struct rl_cgroup *cg,
			 const struct monkey_exec_request *req)
{
	char v[64];
	int r = 0;
	if (cg->dir[RL_CG_MEMORY][0] && req->memory_bytes) {
		snprintf(v, sizeof(v), "%llu",
			 (unsigned long long)req->memory_bytes);
		r = write_file(cg->dir[RL_CG_MEMORY], "memory.limit_in_bytes",
			       v);
		/* memory+swap at the same value: no swap on top, as docker
		 * --memory-swap equal to --memory.  Absent without swap
		 * accounting. */
		if (r == 0)
			write_file(cg->dir[RL_CG_MEMORY],
				   "memory.memsw.limit_in_bytes", v);
	}
	if (r == 0 && cg->dir[RL_CG_PIDS][0] && req->pids > 0) {
		snprintf(v, sizeof(v), "%lld", (long long)req->pids);
		r = write_file(cg->dir[RL_CG_PIDS], "pids.max", v);
	}
	if (r == 0 && cg->dir[RL_CG_CPU][0] && req->cpus > 0) {
		long quota = (long)(req->cpus * 100000 + 0.5);
		snprintf(v, sizeof(v), "%ld", quota < 1000 ? 1000 : quota);
		r = write_file(cg->dir[RL_CG_CPU], "cpu.cfs_period_us",
			       "100000");
		if (r == 0)
			r = write_file(cg->dir[RL_CG_CPU], "cpu.cfs_quota_us",
				       v);
	}
	return r;
}

static int set_limits_v2(struct rl_cgroup *cg,
			 const struct monkey_exec_request *req)
{
	char v[64];
	int r = 0;
	const char *dir = cg->dir[0];
	if (rl_g.cg_have[RL_CG_MEMORY] && req->memory_bytes) {
		snprintf(v, sizeof(v), "%llu",
			 (unsigned long long)req->memory_bytes);
		r = write_file(dir, "memory.max", v);
		if (r == 0)
			write_file(dir, "memory.swap.max", "0");
	}
	if (r == 0 && rl_g.cg_have[RL_CG_PIDS] && req->pids > 0) {
		snprintf(v, sizeof(v), "%lld", (long long)req->pids);
		r = write_file(dir, "pids.max", v);
	}
	if (r == 0 && rl_g.cg_have[RL_CG_CPU] && req->cpus > 0) {
		long quota = (long)(req->cpus * 100000 + 0.5);
		snprintf(v, sizeof(v), "%ld 100000",
			 quota < 1000 ? 1000 : quota);
		r = write_file(dir, "cpu.max", v);
	}
	return r;
}

/* Where init writes "0" to join: under v1 the "tasks" file, which moves
 * the writing thread only (init has one) and so skips the global lock
 * that moving a whole process takes, whose RCU grace period cost 10 ms
 * and more per command here. */
static int open_procs(struct rl_cgroup *cg, int c)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", cg->dir[c],
		 rl_g.cg_version == 1 ? "tasks" : "cgroup.procs");
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fd < 3) { /* the sandbox's init moves its stdio onto 0-2 */
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		close(fd);
		if (nfd < 0)
			return -errno;
		fd = nfd;
	}
	cg->procs_fd[c] = fd;
	return 0;
}

/* One directory per controller (v1) or one (v2), named after this host
 * and a sequence number, with its procs file open. */
static int make_dirs(struct rl_state *st, struct rl_cgroup *cg)
{
	/* One counter for the process: the name carries the host's instance
	 * id, which every state of this process shares. */
	static unsigned seq;
	unsigned n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	int groups = rl_g.cg_version == 2 ? 1 : RL_CG_N;
	for (int c = 0; c < groups; c++) {
		if (!rl_g.cg_have[c] && rl_g.cg_version == 1)
			continue;
		snprintf(cg->dir[c], sizeof(cg->dir[c]), "%s/%s-%u",
			 rl_g.cg_base[c], st->host->instance_id, n);
		if (mkdir(cg->dir[c], 0755) < 0) {
			cg->dir[c][0] = '\0';
			return -errno;
		}
		int r = open_procs(cg, c);
		if (r < 0)
			return r;
	}
	return 0;
}

int rl_cgroup_create(struct rl_state *st, const struct monkey_exec_request *req,
		     struct rl_cgroup *cg, struct monkey_error *err)
{
	memset(cg, 0, sizeof(*cg));
	for (int c = 0; c < RL_CG_N; c++)
		cg->procs_fd[c] = -1;
	if (!rl_g.cg_version)
		return 0;
	int r = prepare_base(err);
	if (r < 0)
		return r;
	r = make_dirs(st, cg);
	if (r == 0)
		r = rl_g.cg_version == 2 ? set_limits_v2(cg, req)
					 : set_limits_v1(cg, req);
	if (r == 0)
		return 0;
	rl_set_err(st->host, err, r,
		   "rootless: cannot set up the command's cgroup under %s: %s",
		   rl_g.cg_base[0][0] ? rl_g.cg_base[0] : rl_g.cg_base[1],
		   strerror(-r));
	rl_cgroup_destroy(cg);
	return r;
}

int rl_cgroup_create_session(struct rl_state *st,
			     const struct monkey_exec_request *req,
			     struct rl_cgroup *cg, struct monkey_error *err)
{
	int r = rl_cgroup_create(st, req, cg, err);
	if (r < 0)
		return r;
	/* Nobody joins the session's group itself: its commands' groups
	 * do, and under v2 only a group without processes may hand its
	 * controllers down. */
	for (int c = 0; c < RL_CG_N; c++)
		if (cg->procs_fd[c] >= 0) {
			close(cg->procs_fd[c]);
			cg->procs_fd[c] = -1;
		}
	if (rl_g.cg_version == 2 && cg->dir[0][0]) {
		char v[64] = "";
		static const char *const add[RL_CG_N] = {"+memory ", "+pids ",
							 "+cpu "};
		for (int c = 0; c < RL_CG_N; c++)
			if (rl_g.cg_have[c])
				strcat(v, add[c]);
		if (v[0] && (r = write_file(cg->dir[0],
					    "cgroup.subtree_control", v)) < 0) {
			rl_set_err(st->host, err, r,
				   "rootless: cannot hand the session's cgroup "
				   "controllers to its commands under %s: %s",
				   cg->dir[0], strerror(-r));
			rl_cgroup_destroy(cg);
			return r;
		}
	}
	return 0;
}

int rl_cgroup_create_child(struct rl_state *st, const struct rl_cgroup *parent,
			   struct rl_cgroup *cg, struct monkey_error *err)
{
	static unsigned seq;
	memset(cg, 0, sizeof(*cg));
	for (int c = 0; c < RL_CG_N; c++)
		cg->procs_fd[c] = -1;
	unsigned n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	int r = 0;
	for (int c = 0; c < RL_CG_N && r == 0; c++) {
		if (!parent->dir[c][0])
			continue;
		snprintf(cg->dir[c], sizeof(cg->dir[c]), "%s/c%u",
			 parent->dir[c], n);
		if (mkdir(cg->dir[c], 0755) < 0) {
			r = -errno;
			cg->dir[c][0] = '\0';
		} else {
			r = open_procs(cg, c);
		}
	}
	if (r == 0)
		return 0;
	rl_set_err(st->host, err, r,
		   "rootless: cannot set up the command's cgroup in its "
		   "session's: %s",
		   strerror(-r));
	rl_cgroup_destroy(cg);
	return r;
}

long long rl_cgroup_pids_max_events(const struct rl_cgroup *cg)
{
	const char *pids =
	    rl_g.cg_version == 2 ? cg->dir[0] : cg->dir[RL_CG_PIDS];
	if (!pids[0] || !rl_g.cg_have[RL_CG_PIDS])
		return -1;
	return keyed_value(pids, "pids.events", "max");
}

/* The number after key in a "key value" file. */
static long long keyed_value(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX], buf[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	size_t kl = strlen(key);
	for (char *line = buf; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			return atoll(line + kl + 1);
	}
	return -1;
}

/* The number a one-number file holds, or -1. */
static long long number_file(const char *dir, const char *file)
{
	char path[PATH_MAX], buf[64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!dir[0] || read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	char *end;
	long long v = strtoll(buf, &end, 10);
	return end == buf ? -1 : v;
}

/* Resource use from the command's own cgroup, made for it alone: its
 * memory high-water mark and CPU time (ABI 1.2). */
static void report_usage(const struct rl_cgroup *cg,
			 struct monkey_exec_result *result)
{
	if (!MONKEY_STRUCT_HAS(result, cpu_system_us))
		return;
	long long peak = -1, user = -1, sys = -1;
	if (rl_g.cg_version == 2) {
		if (rl_g.cg_have[RL_CG_MEMORY])
			peak = number_file(cg->dir[0], "memory.peak");
		user = keyed_value(cg->dir[0], "cpu.stat", "user_usec");
		sys = keyed_value(cg->dir[0], "cpu.stat", "system_usec");
	} else {
		if (rl_g.cg_have[RL_CG_MEMORY])
			peak = number_file(cg->dir[RL_CG_MEMORY],
					   "memory.max_usage_in_bytes");
		/* cpuacct is mounted with cpu on most systems. */
		long long u =
		    number_file(cg->dir[RL_CG_CPU], "cpuacct.usage_user");
		long long s =
		    number_file(cg->dir[RL_CG_CPU], "cpuacct.usage_sys");
		user = u < 0 ? -1 : u / 1000;
		sys = s < 0 ? -1 : s / 1000;
	}
	if (peak >= 0)
		result->peak_memory_bytes = peak;
	if (user >= 0 && sys >= 0) {
		result->cpu_user_us = user;
		result->cpu_system_us = sys;
	}
}

void rl_cgroup_report(const struct rl_cgroup *cg,
		      struct monkey_exec_result *result)
{
	report_usage(cg, result);
	const char *mem =
	    rl_g.cg_version == 2 ? cg->dir[0] : cg->dir[RL_CG_MEMORY];
	const char *pids =
	    rl_g.cg_version == 2 ? cg->dir[0] : cg->dir[RL_CG_PIDS];
	if (mem[0] && rl_g.cg_have[RL_CG_MEMORY]) {
		long long kills =
		    rl_g.cg_version == 2
			? keyed_value(mem, "memory.events", "oom_kill")
			: keyed_value(mem, "memory.oom_control", "oom_kill");
		if (kills >= 0 && MONKEY_STRUCT_HAS(result, oom_killed))
			result->oom_killed = kills > 0 ? MONKEY_YES : MONKEY_NO;
	}
	if (pids[0] && rl_g.cg_have[RL_CG_PIDS] &&
	    keyed_value(pids, "pids.events", "max") > 0 &&
	    MONKEY_STRUCT_HAS(result, limits_hit))
		result->limits_hit |= MONKEY_LIMIT_PIDS;
}

void rl_cgroup_destroy(struct rl_cgroup *cg)
{
	for (int c = 0; c < RL_CG_N; c++) {
		if (cg->procs_fd[c] >= 0)
			close(cg->procs_fd[c]);
		cg->procs_fd[c] = -1;
		if (!cg->dir[c][0])
			continue;
		/* Every process has been reaped, but the kernel may take a
		 * moment to let go of the group. */
		for (int i = 0;
		     rmdir(cg->dir[c]) < 0 && errno == EBUSY && i < 100; i++) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
		cg->dir[c][0] = '\0';
	}
}
