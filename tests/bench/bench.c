/* The benchmark suite (make bench): one run, one table.  For /bin/true and
 * for a command printing 1 MiB: p50/p90/p99 latency of raw posix_spawn,
 * the spawn, none and rootless backends (rootless also as the next command
 * of a session), bubblewrap (when installed) with
 * all namespaces unshared, docker cold, docker pooled and `docker run
 * --rm` with the same flags (docker rows also as a ratio to docker run);
 * whole-process `monkey exec -- true` with spawn and with rootless;
 * throughput of 4 concurrent command streams; the host's peak RSS while a
 * command prints 1 GiB.  Backends run through libmonkey's executor, as
 * monkey does.  Figures, not pass/fail; --json for scripts. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <monkey/exec.h>
#include <monkey/session.h>

extern char **environ;

#define MIB (1024 * 1024)
#define STREAMS 4

static const char *image = "monkey-test:busybox";
/* Pause before each docker command of the latency rows. */
#define THINK_MS 300
static char workspace[256];
static const char *const argv_true[] = {"true", NULL};
static const char *const argv_mib[] = {"head", "-c", "1048576", "/dev/zero",
				       NULL};
static const char *const argv_gib[] = {"head", "-c", "1073741824", "/dev/zero",
				       NULL};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* ---- one row of figures ---- */

struct row {
	const char *name;
	int docker; /* gets a ratio to docker run */
	double *ms;
	int n, failed;
	int pooled_hits; /* docker pooled: commands that found a container */
	double p50, p90, p99;
};

static void row_init(struct row *r, const char *name, int docker, int cap)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->docker = docker;
	r->ms = calloc((size_t)cap, sizeof(double));
}

static void row_add(struct row *r, double ms)
{
	if (ms < 0)
		r->failed++;
	else
		r->ms[r->n++] = ms;
}

static double pct(const struct row *r, double p)
{
	if (!r->n)
		return 0;
	int i = (int)(p * r->n + 0.999999) - 1;
	return r->ms[i < 0 ? 0 : i >= r->n ? r->n - 1 : i];
}

static void row_done(struct row *r)
{
	qsort(r->ms, (size_t)r->n, sizeof(double), cmp_double);
	r->p50 = pct(r, 0.5);
	r->p90 = pct(r, 0.9);
	r->p99 = pct(r, 0.99);
}

/* ---- raw posix_spawn and processes ---- */

/* Spawn argv with stdout into a pipe read to the end (or /dev/null when
 * quiet), wait; elapsed ms or -1 when it did not exit 0. */
static double spawn_and_wait(const char *const argv[], int read_output)
{
	double t = now_ms();
	posix_spawn_file_actions_t fa;
	int p[2] = {-1, -1};
	pid_t pid;
	int st = 0;
	posix_spawn_file_actions_init(&fa);
	if (read_output) {
		if (pipe(p) < 0)
			return -1;
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_addclose(&fa, p[0]);
		posix_spawn_file_actions_addclose(&fa, p[1]);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
						 0);
	}
	if (!getenv("BENCH_VERBOSE"))
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv,
			      environ);
	posix_spawn_file_actions_destroy(&fa);
	if (read_output) {
		close(p[1]);
		static char buf[65536];
		while (rc == 0 && read(p[0], buf, sizeof(buf)) > 0)
			;
		close(p[0]);
	}
	if (rc != 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? now_ms() - t : -1;
}

/* ---- the executor ---- */

struct counter {
	pthread_mutex_t lock;
	int pooled;
	double phase[6];
	int phases;
	double pool_phase[2]; /* to the end of output, wait/inspect */
	int pool_phases;
	/* rootless: the root view [0] prepared before, [1] built and kept
	 * for the next commands, [2] built by the command for itself */
	double *rl_phase[3][5]; /* every command's figure */
	int rl_phases[3], rl_cap[3];
};
static struct counter count = {.lock = PTHREAD_MUTEX_INITIALIZER};
static int count_phases; /* only cold docker rows feed the breakdown */

static void on_notice(void *ctx, int level, const char *msg)
{
	long v[6];
	char view[16];
	(void)ctx;
	pthread_mutex_lock(&count.lock);
	long a, b, d;
	if (!strncmp(msg, "docker: pooled container", 24)) {
		count.pooled++;
		if (sscanf(msg + 24,
			   " %*s ran the command in %ld ms (output done %ld, "
			   "wait/inspect %ld",
			   &a, &b, &d) == 3) {
			count.pool_phase[0] += (double)b;
			count.pool_phase[1] += (double)d;
			count.pool_phases++;
		}
	} else if (sscanf(msg,
			  "rootless: timings us: prepare=%ld sandbox=%ld "
			  "start=%ld run=%ld end=%ld view=%15s",
			  &v[0], &v[1], &v[2], &v[3], &v[4], view) == 6) {
		int how = !strcmp(view, "built")    ? 1
			  : !strcmp(view, "direct") ? 2
						    : 0;
		if (count.rl_phases[how] == count.rl_cap[how]) {
			int cap =
			    count.rl_cap[how] ? 2 * count.rl_cap[how] : 256;
			for (int i = 0; i < 5; i++)
				count.rl_phase[how][i] =
				    realloc(count.rl_phase[how][i],
					    (size_t)cap * sizeof(double));
			count.rl_cap[how] = cap;
		}
		for (int i = 0; i < 5; i++)
			count.rl_phase[how][i][count.rl_phases[how]] =
			    (double)v[i];
		count.rl_phases[how]++;
	} else if (count_phases &&
		   sscanf(msg,
			  "docker: timings ms: create=%ld attach=%ld start=%ld "
			  "run=%ld finish=%ld remove=%ld",
			  &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6) {
		for (int i = 0; i < 6; i++)
			count.phase[i] += (double)v[i];
		count.phases++;
	}
	pthread_mutex_unlock(&count.lock);
	if (level >= MONKEY_LOG_WARNING || getenv("BENCH_VERBOSE"))
		fprintf(stderr, "bench: %s\n", msg);
}

static struct monkey_executor *open_executor(const char *sandbox, int pool)
{
	struct monkey_exec_options o;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	monkey_exec_options_init(&o);
	o.sandbox = sandbox;
	o.no_fallback = true;
	o.workspace = workspace;
	/* An image name is for docker; rootless takes a directory. */
	o.image = strcmp(sandbox, "docker") ? NULL : image;
	o.pool = pool;
	o.notify = on_notice;
	if (monkey_executor_open(&o, &ex, &err) < 0) {
		fprintf(stderr, "bench: %s backend unavailable: %s\n", sandbox,
			err.message);
		return NULL;
	}
	return ex;
}

static double ex_run(struct monkey_executor *ex, const char *const argv[])
{
	struct monkey_command c = {.argv = argv};
	struct monkey_result res;
	struct monkey_error err = {0};
	double t = now_ms();
	int rc = monkey_executor_run(ex, &c, &res, &err);
	double ms = now_ms() - t;
	int ok = rc == 0 && res.exit_code == 0;
	if (!ok)
		fprintf(stderr, "bench: command failed (exit %d): %s\n",
			rc == 0 ? res.exit_code : -1,
			rc == 0 ? res.error : err.message);
	if (rc == 0)
		monkey_result_free(&res);
	return ok ? ms : -1;
}

/* One command as the next of session s. */
static double ses_run(struct monkey_session *s, const char *const argv[])
{
	struct monkey_command c = {.argv = argv};
	struct monkey_result res;
	struct monkey_error err = {0};
	double t = now_ms();
	int rc = monkey_session_run(s, &c, &res, &err);
	double ms = now_ms() - t;
	int ok = rc == 0 && res.exit_code == 0;
	if (!ok)
		fprintf(stderr, "bench: session command failed (exit %d): %s\n",
			rc == 0 ? res.exit_code : -1,
			rc == 0 ? res.error : err.message);
	if (rc == 0)
		monkey_result_free(&res);
	return ok ? ms : -1;
}

/* ---- docker run --rm with the backend's flags ---- */

static char user[64], vol[512];

static double docker_cli(const char *const argv[], int quiet_probe)
{
	const char *a[64] = {"docker",
			     "run",
			     "--rm",
			     "--cap-drop",
			     "ALL",
			     "--security-opt",
			     "no-new-privileges",
			     "--memory",
			     "256m",
			     "--memory-swap",
			     "256m",
			     "--cpus",
			     "0.5",
			     "--pids-limit",
			     "50",
			     "--network",
			     "none",
			     "--ulimit",
			     "nofile=1024:4096",
			     "--ulimit",
			     "nproc=4096",
			     "--user",
			     user,
			     "--log-driver",
			     "none",
			     "-v",
			     vol,
			     "-w",
			     "/workspace",
			     "--entrypoint",
			     "",
			     image,
			     NULL};
	int n = 0;
	while (a[n])
		n++;
	for (int i = 0; argv && argv[i] && n < 62; i++)
		a[n++] = argv[i];
	a[n] = NULL;
	if (quiet_probe)
		return spawn_and_wait(
		    (const char *const[]){"docker", "version", NULL}, 0);
	return spawn_and_wait(a, 1);
}

/* ---- throughput ---- */

struct stream {
	struct monkey_executor *ex; /* NULL: docker run */
	int n, failed;
};

static void *stream_main(void *arg)
{
	struct stream *s = arg;
	for (int i = 0; i < s->n; i++) {
		double ms =
		    s->ex ? ex_run(s->ex, argv_true) : docker_cli(argv_true, 0);
		if (ms < 0)
			s->failed++;
	}
	return NULL;
}

/* Commands per second over STREAMS threads running per commands each. */
static double throughput(struct monkey_executor *ex, int per)
{
	struct stream s[STREAMS];
	pthread_t t[STREAMS];
	double t0 = now_ms();
	for (int i = 0; i < STREAMS; i++) {
		s[i] = (struct stream){.ex = ex, .n = per};
		pthread_create(&t[i], NULL, stream_main, &s[i]);
	}
	int failed = 0;
	for (int i = 0; i < STREAMS; i++) {
		pthread_join(t[i], NULL);
		failed += s[i].failed;
	}
	double secs = (now_ms() - t0) / 1e3;
	return failed ? -1 : STREAMS * per / secs;
}

/* ---- peak RSS while a command prints 1 GiB ---- */

struct rss {
	long before_kib, peak_kib;
	double secs;
	int ok;
};

static long maxrss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* In a child, so that nothing else this run did counts. */
static struct rss rss_of_gib(const char *sandbox)
{
	struct rss r = {0};
	int p[2];
	if (pipe(p) < 0)
		return r;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		struct monkey_executor *ex = open_executor(sandbox, 0);
		if (ex && ex_run(ex, argv_true) >= 0) {
			r.before_kib = maxrss_kib();
			double t = now_ms();
			r.ok = ex_run(ex, argv_gib) >= 0;
			r.secs = (now_ms() - t) / 1e3;
			r.peak_kib = maxrss_kib();
		}
		if (ex)
			monkey_executor_close(ex);
		ssize_t w = write(p[1], &r, sizeof(r));
		_exit(w == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	if (pid > 0) {
		if (read(p[0], &r, sizeof(r)) != (ssize_t)sizeof(r))
			memset(&r, 0, sizeof(r));
		waitpid(pid, NULL, 0);
	}
	close(p[0]);
	return r;
}

/* ---- bubblewrap and whole processes ---- */

/* bwrap with every namespace unshared, the host's / read-only and a fresh
 * /tmp, running argv; NULL when bwrap is not installed.  bwrap's binds
 * are nodev: a command that reads /dev/zero needs its --dev as well. */
static const char **bwrap_argv(const char *const *argv, int dev)
{
	static const char *a[32];
	const char *pre[] = {
	    "bwrap",   "--unshare-all", "--ro-bind",	     "/",     "/",
	    "--tmpfs", "/tmp",		"--die-with-parent", "--dev", "/dev"};
	if (spawn_and_wait((const char *const[]){"bwrap", "--version", NULL},
			   0) < 0)
		return NULL;
	int n = 0;
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]) - (dev ? 0 : 2);
	     i++)
		a[n++] = pre[i];
	for (int i = 0; argv[i] && n < 31; i++)
		a[n++] = argv[i];
	a[n] = NULL;
	return a;
}

enum { W_SPAWN, W_ROOTLESS, N_WHOLE };
static struct row whole[N_WHOLE];
static const char *const whole_names[N_WHOLE] = {
    "monkey exec --sandbox spawn -- true",
    "monkey exec --sandbox rootless -- true"};

/* The installed program, not libtool's wrapper script (which costs a
 * shell and a few seds per run); its environment without the docker
 * image (meant for docker only) and with the build tree's libmonkey. */
static int whole_process_setup(char *monkey, size_t len, char ***envp)
{
	const char *bd = getenv("MONKEY_BUILDDIR");
	if (!bd)
		bd = MONKEY_BUILDDIR;
	snprintf(monkey, len, "%s/.libs/monkey", bd);
	size_t ne = 0;
	while (environ[ne])
		ne++;
	char **env = calloc(ne + 2, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "MONKEY_DOCKER_IMAGE=", 20) &&
		    strncmp(environ[i], "MONKEY_SANDBOX=", 15) &&
		    strncmp(environ[i], "LD_LIBRARY_PATH=", 16))
			env[k++] = environ[i];
	static char libpath[4200];
	snprintf(libpath, sizeof(libpath), "LD_LIBRARY_PATH=%s/.libs", bd);
	if (access(monkey, X_OK) == 0)
		env[k++] = libpath;
	else
		snprintf(monkey, len, "%s/monkey", bd);
	env[k] = NULL;
	*envp = env;
	return access(monkey, X_OK);
}

static double whole_process(const char *monkey, char **envp,
			    const char *sandbox)
{
	const char *argv[] = {
	    monkey,    "exec",		"--sandbox", sandbox, "--workspace",
	    workspace, "--no-fallback", "--",	     "true",  NULL};
	double t = now_ms();
	pid_t pid;
	int st;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (!getenv("BENCH_VERBOSE"))
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
	int rc =
	    posix_spawn(&pid, monkey, &fa, NULL, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? now_ms() - t : -1;
}

/* m interleaved runs of each; rows left empty when monkey is missing. */
static void whole_processes(struct row *w, int m, int have_rootless)
{
	char monkey[4200];
	char **envp = NULL;
	for (int i = 0; i < N_WHOLE; i++)
		row_init(&w[i], whole_names[i], 0, m);
	if (whole_process_setup(monkey, sizeof(monkey), &envp) < 0) {
		fprintf(stderr, "bench: no monkey program in the build tree; "
				"no whole-process rows\n");
		free(envp);
		return;
	}
	/* Warm the page cache for both. */
	whole_process(monkey, envp, "spawn");
	if (have_rootless)
		whole_process(monkey, envp, "rootless");
	for (int i = 0; i < m; i++) {
		row_add(&w[W_SPAWN], whole_process(monkey, envp, "spawn"));
		if (have_rootless)
			row_add(&w[W_ROOTLESS],
				whole_process(monkey, envp, "rootless"));
	}
	for (int i = 0; i < N_WHOLE; i++)
		row_done(&w[i]);
	free(envp);
}

/* ---- output ---- */

/* The median of phase i of the rootless commands of kind b. */
static double phase_p50(int b, int i)
{
	int n = count.rl_phases[b];
	double *v = malloc((size_t)n * sizeof(double));
	if (!n || !v) {
		free(v);
		return 0;
	}
	memcpy(v, count.rl_phase[b][i], (size_t)n * sizeof(double));
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	double m = v[n / 2];
	free(v);
	return m;
}

enum {
	R_RAW,
	R_SPAWN,
	R_NONE,
	R_ROOTLESS,
	R_RL_SESSION,
	R_BWRAP,
	R_COLD,
	R_POOLED,
	R_SESSION,
	R_CLI,
	N_ROWS
};
static const char *const row_names[N_ROWS] = {
    "raw posix_spawn",	    "spawn backend",	"none backend",
    "rootless backend",	    "rootless session", "bubblewrap",
    "docker cold",	    "docker pooled",	"docker session",
    "docker run --rm (CLI)"};

struct workload {
	const char *name;
	const char *const *argv;
	struct row rows[N_ROWS];
};

/* Latency per workload and row, against docker run. */
static void print_latencies(struct workload *w, int nw)
{
	for (int k = 0; k < nw; k++) {
		double base = w[k].rows[R_CLI].p50;
		printf("\n%s\n", w[k].name);
		printf("  %-24s %9s %9s %9s %6s %12s\n", "", "p50 ms", "p90 ms",
		       "p99 ms", "runs", "p50/docker");
		for (int i = 0; i < N_ROWS; i++) {
			struct row *r = &w[k].rows[i];
			if (!r->n && !r->failed)
				continue;
			printf("  %-24s %9.2f %9.2f %9.2f %6d", r->name, r->p50,
			       r->p90, r->p99, r->n);
			if (r->docker && base > 0)
				printf(" %11.2fx", r->p50 / base);
			if (i == R_POOLED)
				printf("  (%d/%d pooled)", r->pooled_hits,
				       r->n + r->failed);
			if (r->failed)
				printf("  (%d failed)", r->failed);
			printf("\n");
		}
	}
}

/* monkey exec as a whole process, per backend. */
static void print_whole(void)
{
	if (!whole[W_SPAWN].n)
		return;
	printf("\nwhole process, %d interleaved runs each\n",
	       whole[W_SPAWN].n + whole[W_SPAWN].failed);
	printf("  %-40s %9s %9s %9s %12s\n", "", "p50 ms", "p90 ms", "p99 ms",
	       "p50/spawn");
	for (int i = 0; i < N_WHOLE; i++)
		if (whole[i].n || whole[i].failed)
			printf("  %-40s %9.2f %9.2f %9.2f %11.2fx%s\n",
			       whole[i].name, whole[i].p50, whole[i].p90,
			       whole[i].p99, whole[i].p50 / whole[W_SPAWN].p50,
			       whole[i].failed ? "  (failures)" : "");
}

static void print_rootless_phases(void)
{
	double p[5];
	static const char *const rl_names[] = {
	    "root view prepared before (the third command on)",
	    "root view built and kept (the second command)",
	    "root view built by the command (the first one)"};
	for (int b = 0; b < 3; b++)
		if (count.rl_phases[b]) {
			int c = count.rl_phases[b];
			for (int i = 0; i < 5; i++)
				p[i] = phase_p50(b, i);
			printf("%srootless, p50 us per phase, %s, %d commands: "
			       "prepare %.0f (plan, cgroups, pipes), sandbox "
			       "%.0f (namespaces and init%s), start %.0f (the "
			       "command's /tmp, /proc..., exec), run %.0f, end "
			       "%.0f\n",
			       b ? "" : "\n", rl_names[b], c, p[0], p[1],
			       b ? ", building the root view" : "", p[2], p[3],
			       p[4]);
		}
}

/* Throughput and the host's memory while a command floods output. */
static void print_throughput_and_rss(const double *tput, const struct rss *rss,
				     const char **rss_names, int nrss)
{
	printf("\nthroughput, %d concurrent streams of `true` (commands/s)\n",
	       STREAMS);
	for (int i = 1; i < N_ROWS; i++)
		if (tput[i] != 0)
			printf("  %-24s %9.1f%s\n", row_names[i],
			       tput[i] < 0 ? 0 : tput[i],
			       tput[i] < 0 ? "  (failures)" : "");
	printf("\nhost peak RSS while a command prints 1 GiB (output cap %d "
	       "MiB per stream)\n",
	       MONKEY_DEFAULT_MAX_OUTPUT / MIB);
	for (int i = 0; i < nrss; i++)
		if (rss[i].ok)
			printf("  %-24s peak %6.1f MiB, +%5.1f MiB over idle, "
			       "%.1f s\n",
			       rss_names[i], rss[i].peak_kib / 1024.0,
			       (rss[i].peak_kib - rss[i].before_kib) / 1024.0,
			       rss[i].secs);
}

static void print_docker_phases(const double *phase, int phases)
{
	if (phases)
		printf(
		    "\ndocker cold, mean ms per phase over %d commands: "
		    "create %.1f, attach %.1f, start %.1f, run to the end of "
		    "output %.1f, wait/inspect %.1f, delete (after the "
		    "answer) %.1f\n",
		    phases, phase[0], phase[1], phase[2], phase[3], phase[4],
		    phase[5]);
	if (count.pool_phases)
		printf("docker pooled, mean ms over %d commands: command sent "
		       "to the end of output %.1f, wait/inspect %.1f (create, "
		       "attach and start happened ahead; delete after the "
		       "answer)\n",
		       count.pool_phases,
		       count.pool_phase[0] / count.pool_phases,
		       count.pool_phase[1] / count.pool_phases);
}

/* Whether the figures meet the targets the design sets. */
static void print_targets(struct workload *w, const struct rss *rss,
			  const char **rss_names, int nrss)
{
	printf("\ntargets\n");
	struct row *t = w[0].rows;
	double base = t[R_CLI].p50;
	if (base > 0 && t[R_POOLED].n)
		printf("  docker pooled p50 <= 0.2x docker run: %s (%.2fx)\n",
		       t[R_POOLED].p50 <= 0.2 * base ? "met" : "NOT met",
		       t[R_POOLED].p50 / base);
	if (t[R_SESSION].n)
		printf("  docker session `true` p50 <= 3 ms:    %s (%.2f ms)\n",
		       t[R_SESSION].p50 <= 3 ? "met" : "NOT met",
		       t[R_SESSION].p50);
	if (w[1].rows[R_SESSION].n)
		printf("  docker session 1 MiB p50 <= 15 ms:    %s (%.2f ms)\n",
		       w[1].rows[R_SESSION].p50 <= 15 ? "met" : "NOT met",
		       w[1].rows[R_SESSION].p50);
	if (base > 0 && t[R_COLD].n)
		printf("  docker cold p50 <= 0.5x docker run:   %s (%.2fx)\n",
		       t[R_COLD].p50 <= 0.5 * base ? "met" : "NOT met",
		       t[R_COLD].p50 / base);
	if (t[R_ROOTLESS].n) {
		printf("  rootless p50 <= 3 ms:                 %s (%.2f ms",
		       t[R_ROOTLESS].p50 <= 3 ? "met" : "NOT met",
		       t[R_ROOTLESS].p50);
		if (t[R_BWRAP].n)
			printf("; bubblewrap %.2f ms, %.2fx of it",
			       t[R_BWRAP].p50,
			       t[R_ROOTLESS].p50 / t[R_BWRAP].p50);
		printf(")\n");
	}
	if (whole[W_ROOTLESS].n && whole[W_SPAWN].n)
		printf("  monkey exec rootless <= 1.5x spawn:   %s (%.2fx)\n",
		       whole[W_ROOTLESS].p50 <= 1.5 * whole[W_SPAWN].p50
			   ? "met"
			   : "NOT met",
		       whole[W_ROOTLESS].p50 / whole[W_SPAWN].p50);
	if (t[R_RAW].n && t[R_SPAWN].n)
		printf("  spawn p50 <= 1.25x posix_spawn:       %s (%.2fx)\n",
		       t[R_SPAWN].p50 <= 1.25 * t[R_RAW].p50 ? "met"
							     : "NOT met",
		       t[R_SPAWN].p50 / t[R_RAW].p50);
	for (int i = 0; i < nrss; i++)
		if (rss[i].ok) {
			double over =
			    (rss[i].peak_kib - rss[i].before_kib) / 1024.0 -
			    MONKEY_DEFAULT_MAX_OUTPUT / (double)MIB;
			printf("  %s RSS within 8 MiB of the cap:%*s%s "
			       "(%.1f MiB over the cap)\n",
			       rss_names[i], (int)(16 - strlen(rss_names[i])),
			       "", over <= 8 ? "met" : "NOT met", over);
		}
}

static void print_table(struct workload *w, int nw, double *tput,
			struct rss *rss, const char **rss_names, int nrss,
			const double *phase, int phases)
{
	print_latencies(w, nw);
	print_whole();
	print_rootless_phases();
	if (w[0].rows[R_BWRAP].n)
		printf(
		    "\nbubblewrap: bwrap --unshare-all --ro-bind / / --tmpfs "
		    "/tmp --die-with-parent CMD (and --dev /dev for the 1 "
		    "MiB row, which reads /dev/zero)\n");
	print_throughput_and_rss(tput, rss, rss_names, nrss);
	print_docker_phases(phase, phases);
	print_targets(w, rss, rss_names, nrss);
}

static void json_row(const struct row *r, double base, int last)
{
	printf("      {\"name\":\"%s\",\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
	       "\"p99_ms\":%.3f,\"runs\":%d,\"failed\":%d",
	       r->name, r->p50, r->p90, r->p99, r->n, r->failed);
	if (r->docker && base > 0)
		printf(",\"ratio_to_docker_run\":%.4f", r->p50 / base);
	if (r->pooled_hits)
		printf(",\"pooled\":%d", r->pooled_hits);
	printf("}%s\n", last ? "" : ",");
}

static void print_json(struct workload *w, int nw, double *tput,
		       struct rss *rss, const char **rss_names, int nrss,
		       const double *phase, int phases)
{
	printf("{\n  \"workloads\": [\n");
	for (int k = 0; k < nw; k++) {
		printf("    {\"name\":\"%s\",\"rows\":[\n", w[k].name);
		int last = -1;
		for (int i = 0; i < N_ROWS; i++)
			if (w[k].rows[i].n || w[k].rows[i].failed)
				last = i;
		for (int i = 0; i < N_ROWS; i++)
			if (w[k].rows[i].n || w[k].rows[i].failed)
				json_row(&w[k].rows[i], w[k].rows[R_CLI].p50,
					 i == last);
		printf("    ]}%s\n", k < nw - 1 ? "," : "");
	}
	printf("  ],\n  \"throughput_streams\": %d,\n  \"throughput\": {",
	       STREAMS);
	int first = 1;
	for (int i = 1; i < N_ROWS; i++)
		if (tput[i] != 0) {
			printf("%s\"%s\":%.2f", first ? "" : ",", row_names[i],
			       tput[i]);
			first = 0;
		}
	printf("},\n  \"whole_process\": [\n");
	for (int i = 0; i < N_WHOLE; i++)
		json_row(&whole[i], 0, i == N_WHOLE - 1);
	printf("  ],\n  \"rootless_phases_us\": {");
	static const char *const rl_json[] = {"prepared", "built", "direct"};
	static const char *const rl_phase_names[] = {"prepare", "sandbox",
						     "start", "run", "end"};
	for (int b = 0; b < 3; b++) {
		int c = count.rl_phases[b];
		printf("%s\"%s\":{\"commands\":%d", b ? "," : "", rl_json[b],
		       c);
		for (int i = 0; i < 5 && c; i++)
			printf(",\"%s_p50\":%.0f", rl_phase_names[i],
			       phase_p50(b, i));
		printf("}");
	}
	printf("},\n  \"rss_1gib\": {");
	first = 1;
	for (int i = 0; i < nrss; i++)
		if (rss[i].ok) {
			printf("%s\"%s\":{\"idle_kib\":%ld,\"peak_kib\":%ld,"
			       "\"seconds\":%.2f}",
			       first ? "" : ",", rss_names[i],
			       rss[i].before_kib, rss[i].peak_kib, rss[i].secs);
			first = 0;
		}
	printf("},\n  \"output_cap_bytes\": %d,\n", MONKEY_DEFAULT_MAX_OUTPUT);
	printf("  \"host_peak_rss_kib\": %ld,\n", maxrss_kib());
	printf("  \"docker_cold_phases_ms\": {\"commands\":%d", phases);
	static const char *names[] = {"create", "attach", "start",
				      "run",	"finish", "remove"};
	for (int i = 0; i < 6 && phases; i++)
		printf(",\"%s\":%.2f", names[i], phase[i]);
	printf("}\n}\n");
}

static void usage(const char *prog)
{
	fprintf(
	    stderr,
	    "usage: %s [-n DOCKER_RUNS] [-l LOCAL_RUNS] [-m PROCESS_RUNS] "
	    "[-t PER_STREAM] [--image IMG] [--no-docker] [--no-rss] "
	    "[--json]\n"
	    "  -n  runs per docker row and workload (default 20)\n"
	    "  -l  runs per local row (posix_spawn, spawn, none, rootless, "
	    "bubblewrap; default 200)\n"
	    "  -m  whole-process runs of monkey exec per backend (default "
	    "50; 0: none)\n"
	    "  -t  commands per stream in the throughput test (default "
	    "5 for docker, 10x that locally)\n"
	    "  --image      image for the docker rows (default "
	    "$MONKEY_DOCKER_IMAGE or monkey-test:busybox)\n"
	    "  --no-docker  local rows only\n"
	    "  --no-rss     skip the 1 GiB output run\n"
	    "  --json       one JSON object on stdout instead of the table\n",
	    prog);
}

struct bench_args {
	int n, l, m, per, no_docker, no_rss, json;
};

/* The command line; -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct bench_args *a)
{
	static const struct option opts[] = {
	    {"image", required_argument, NULL, 'i'},
	    {"no-docker", no_argument, NULL, 'D'},
	    {"no-rss", no_argument, NULL, 'R'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*a = (struct bench_args){.n = 20, .l = 200, .m = 50, .per = 5};
	if (getenv("MONKEY_DOCKER_IMAGE") && getenv("MONKEY_DOCKER_IMAGE")[0])
		image = getenv("MONKEY_DOCKER_IMAGE");
	int c;
	while ((c = getopt_long(argc, argv, "n:l:m:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			a->n = atoi(optarg);
			break;
		case 'l':
			a->l = atoi(optarg);
			break;
		case 'm':
			a->m = atoi(optarg);
			break;
		case 't':
			a->per = atoi(optarg);
			break;
		case 'i':
			image = optarg;
			break;
		case 'D':
			a->no_docker = 1;
			break;
		case 'R':
			a->no_rss = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (a->n < 1 || a->l < 1 || a->m < 0 || a->per < 1) {
		usage(argv[0]);
		return 2;
	}
	return -1;
}

/* The executors of the rows, NULL where a backend is missing. */
struct executors {
	struct monkey_executor *sp, *no, *rl, *cold, *pooled, *ses_ex;
	struct monkey_session *ses;    /* on ses_ex */
	struct monkey_session *rl_ses; /* on rl */
	int cli;		       /* the docker CLI works here */
};

static void open_executors(const struct bench_args *a, struct executors *x)
{
	*x = (struct executors){.sp = open_executor("spawn", 0),
				.no = open_executor("none", 0),
				.rl = open_executor("rootless", 0)};
	struct monkey_error err = {0};
	if (x->rl && monkey_session_open(x->rl, &x->rl_ses, &err) < 0)
		fprintf(stderr, "bench: no rootless session: %s\n",
			err.message);
	if (a->no_docker)
		return;
	x->cold = open_executor("docker", 0);
	x->pooled = open_executor("docker", 1);
	x->ses_ex = open_executor("docker", 0);
	if (x->ses_ex && monkey_session_open(x->ses_ex, &x->ses, &err) < 0)
		fprintf(stderr, "bench: no docker session: %s\n", err.message);
	x->cli = docker_cli(NULL, 1) >= 0;
	if (!x->cli)
		fprintf(stderr, "bench: the docker CLI does not work here; no "
				"docker run row\n");
}

static void close_executors(struct executors *x)
{
	monkey_session_close(x->ses);
	monkey_session_close(x->rl_ses);
	struct monkey_executor *all[] = {x->sp,	  x->no,     x->rl,
					 x->cold, x->pooled, x->ses_ex};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i])
			monkey_executor_close(all[i]);
}

/* The rows on this machine, interleaved, so drift in machine load hits
 * all alike. */
static void local_rows(struct workload *w, int k, int l,
		       const struct executors *x)
{
	struct row *r = w->rows;
	const char *const *a = w->argv;
	fprintf(stderr, "bench: %s, local rows...\n", w->name);
	const char **bw = bwrap_argv(a, k > 0);
	for (int i = 0; i < l; i++) {
		row_add(&r[R_RAW], spawn_and_wait(a, 1));
		if (x->sp)
			row_add(&r[R_SPAWN], ex_run(x->sp, a));
		if (x->no)
			row_add(&r[R_NONE], ex_run(x->no, a));
		if (x->rl)
			row_add(&r[R_ROOTLESS], ex_run(x->rl, a));
		if (x->rl_ses)
			row_add(&r[R_RL_SESSION], ses_run(x->rl_ses, a));
		if (bw)
			row_add(&r[R_BWRAP], spawn_and_wait(bw, 1));
	}
}

/* One pooled command, counting whether it took a prestarted container. */
static void pooled_run(struct row *r, struct monkey_executor *pooled,
		       const char *const *a)
{
	pthread_mutex_lock(&count.lock);
	int before = count.pooled;
	pthread_mutex_unlock(&count.lock);
	row_add(r, ex_run(pooled, a));
	pthread_mutex_lock(&count.lock);
	r->pooled_hits += count.pooled - before;
	pthread_mutex_unlock(&count.lock);
}

/* An agent thinks between commands (a model turn takes seconds): each
 * docker command starts on an engine done with the one before, so a
 * path's background work (the delete after the answer, the pool's refill)
 * does not slow the next row.  The pause is not timed; back-to-back load
 * is what the throughput rows measure. */
static void docker_rows(struct workload *w, int n, const struct executors *x)
{
	struct row *r = w->rows;
	const char *const *a = w->argv;
	if (x->cold || x->pooled || x->cli)
		fprintf(stderr, "bench: %s, docker rows...\n", w->name);
	/* Warm each path once (image cache, pool keyed). */
	if (x->cold)
		ex_run(x->cold, a);
	if (x->pooled)
		ex_run(x->pooled, a);
	if (x->cli)
		docker_cli(a, 0);
	if (x->ses)
		ses_run(x->ses, a);
	for (int i = 0; i < n; i++) {
		if (x->ses) {
			usleep(THINK_MS * 1000);
			row_add(&r[R_SESSION], ses_run(x->ses, a));
		}
		if (x->cold) {
			usleep(THINK_MS * 1000);
			count_phases = 1;
			row_add(&r[R_COLD], ex_run(x->cold, a));
			count_phases = 0;
		}
		if (x->cli) {
			usleep(THINK_MS * 1000);
			row_add(&r[R_CLI], docker_cli(a, 0));
		}
		if (x->pooled) {
			usleep(THINK_MS * 1000);
			pooled_run(&r[R_POOLED], x->pooled, a);
		}
	}
}

static void throughputs(const struct bench_args *a, const struct executors *x,
			double *tput)
{
	fprintf(stderr, "bench: throughput...\n");
	if (x->sp)
		tput[R_SPAWN] = throughput(x->sp, a->per * 10);
	if (x->no)
		tput[R_NONE] = throughput(x->no, a->per * 10);
	if (x->rl)
		tput[R_ROOTLESS] = throughput(x->rl, a->per * 10);
	if (x->cold)
		tput[R_COLD] = throughput(x->cold, a->per);
	if (x->cli)
		tput[R_CLI] = throughput(NULL, a->per);
	if (a->no_docker)
		return;
	/* One prestarted container per stream. */
	struct monkey_executor *p4 = open_executor("docker", STREAMS);
	if (p4) {
		ex_run(p4, argv_true);
		sleep(1);
		tput[R_POOLED] = throughput(p4, a->per);
		monkey_executor_close(p4);
	}
}

static void print_header(const struct bench_args *a)
{
	double load[3] = {0};
	FILE *lf = fopen("/proc/loadavg", "r");
	if (lf && fscanf(lf, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
		load[0] = -1;
	if (lf)
		fclose(lf);
	printf("monkey benchmark: %d local runs and %d docker runs per row, "
	       "image %s, host peak RSS %.1f MiB, load average %.2f on %ld "
	       "CPUs\n",
	       a->l, a->n, image, maxrss_kib() / 1024.0, load[0],
	       sysconf(_SC_NPROCESSORS_ONLN));
}

static void free_rows(struct workload *w, int nw)
{
	for (int k = 0; k < nw; k++)
		for (int i = 0; i < N_ROWS; i++)
			free(w[k].rows[i].ms);
	for (int i = 0; i < N_WHOLE; i++)
		free(whole[i].ms);
	for (int b = 0; b < 3; b++)
		for (int i = 0; i < 5; i++)
			free(count.rl_phase[b][i]);
}

int main(int argc, char **argv)
{
	struct bench_args a;
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	snprintf(workspace, sizeof(workspace), "/tmp/monkey-bench-XXXXXX");
	if (!mkdtemp(workspace)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(workspace, 01777);
	snprintf(user, sizeof(user), "%u:%u", (unsigned)getuid(),
		 (unsigned)getgid());
	snprintf(vol, sizeof(vol), "%s:/workspace", workspace);

	/* First, before any thread exists: the 1 GiB runs fork. */
	const char *rss_names[2] = {"spawn", "docker"};
	struct rss rss[2] = {{0}};
	if (!a.no_rss) {
		fprintf(stderr, "bench: 1 GiB of output through spawn...\n");
		rss[0] = rss_of_gib("spawn");
		if (!a.no_docker) {
			fprintf(stderr,
				"bench: 1 GiB of output through docker...\n");
			rss[1] = rss_of_gib("docker");
		}
	}

	struct executors x;
	open_executors(&a, &x);
	struct workload w[2] = {{.name = "`true`", .argv = argv_true},
				{.name = "1 MiB to stdout (`head -c 1048576 "
					 "/dev/zero`)",
				 .argv = argv_mib}};
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < N_ROWS; i++)
			row_init(&w[k].rows[i], row_names[i], i >= R_COLD,
				 i < R_COLD ? a.l : a.n);
		local_rows(&w[k], k, a.l, &x);
		docker_rows(&w[k], a.n, &x);
		for (int i = 0; i < N_ROWS; i++)
			row_done(&w[k].rows[i]);
	}
	/* The deletes of the last commands run after their answers. */
	double phase[6] = {0};
	for (int i = 0; i < 6 && count.phases; i++)
		phase[i] = count.phase[i] / count.phases;

	if (a.m > 0) {
		fprintf(stderr, "bench: whole processes...\n");
		whole_processes(whole, a.m, x.rl != NULL);
	}
	double tput[N_ROWS] = {0};
	throughputs(&a, &x, tput);

	if (a.json) {
		print_json(w, 2, tput, rss, rss_names, a.no_docker ? 1 : 2,
			   phase, count.phases);
	} else {
		print_header(&a);
		print_table(w, 2, tput, rss, rss_names, a.no_docker ? 1 : 2,
			    phase, count.phases);
	}
	close_executors(&x);
	free_rows(w, 2);
	rmdir(workspace);
	return 0;
}
