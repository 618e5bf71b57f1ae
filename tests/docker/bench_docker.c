/* Benchmark of the docker backend's cold path (make bench-docker): in one
 * run, interleaved, the latency of `true` through the backend in-process,
 * through `monkey exec --sandbox docker` as a whole process, and through
 * `docker run --rm` with the same hardening flags; prints median and p90
 * of each, the ratio to `docker run`, and where the in-process time goes.
 *
 *   bench_docker [-n N] [--image IMG] [--no-cli] [--no-monkey]
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker_harness.h"

struct series {
	const char *name;
	double *ms;
	int n;
	int failed;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted series. */
static double pct(struct series *s, double p)
{
	if (!s->n)
		return 0;
	int i = (int)(p / 100.0 * s->n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= s->n)
		i = s->n - 1;
	return s->ms[i];
}

/* Run argv with output discarded; returns elapsed ms, or -1 when it did
 * not exit 0. */
static double run_process(char *const argv[])
{
	int64_t t0 = dt_now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		if (!getenv("BENCH_VERBOSE"))
			dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	double ms = (double)(dt_now_ms() - t0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ms : -1;
}

static double run_inprocess(void)
{
	const char *argv[] = {"true", NULL};
	struct monkey_exec_request req;
	struct dt_run r = {0};
	dt_request(&req, argv);
	dt_exec(NULL, &req, &r);
	int ok = r.rc == 0 && r.res.exit_code == 0;
	if (!ok)
		fprintf(stderr, "in-process run failed: %s\n", r.err.message);
	dt_run_free(&r);
	return ok ? (double)r.ms : -1;
}

/* Phase timings the backend logs at DEBUG after each command. */
static double phase_sum[6];
static int phase_n;

static void on_log(int level, const char *line)
{
	long v[6];
	(void)level;
	if (sscanf(
		line,
		"docker: timings ms: create=%ld attach=%ld start=%ld run=%ld "
		"finish=%ld remove=%ld",
		&v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6) {
		for (int i = 0; i < 6; i++)
			phase_sum[i] += (double)v[i];
		phase_n++;
	}
}

static void add(struct series *s, double ms)
{
	if (ms < 0)
		s->failed++;
	else
		s->ms[s->n++] = ms;
}

/* The command line; -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, int *n, int *no_cli,
		      int *no_monkey)
{
	static const struct option opts[] = {
	    {"image", required_argument, NULL, 'i'},
	    {"no-cli", no_argument, NULL, 'c'},
	    {"no-monkey", no_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			*n = atoi(optarg);
			break;
		case 'i':
			setenv("MONKEY_DOCKER_IMAGE", optarg, 1);
			break;
		case 'c':
			*no_cli = 1;
			break;
		case 'm':
			*no_monkey = 1;
			break;
		default:
			printf("usage: %s [-n N] [--image IMG] [--no-cli] "
			       "[--no-monkey]\n",
			       argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (*n < 1)
		*n = 1;
	return -1;
}

/* The monkey program to time (size PATH_MAX): in the build tree ./monkey
 * is libtool's shell wrapper, which costs a shell start per run, so the
 * real program in .libs, as installed, with its library found there. */
static void find_monkey(char *monkey, size_t size)
{
	const char *bd = getenv("MONKEY_BUILDDIR");
	char libs[900];
	snprintf(libs, sizeof(libs), "%s/.libs", bd ? bd : MONKEY_BUILDDIR);
	snprintf(monkey, size, "%s/monkey", libs);
	if (access(monkey, X_OK) == 0) {
		const char *old = getenv("LD_LIBRARY_PATH");
		char *path = malloc(strlen(libs) + (old ? strlen(old) : 0) + 2);
		sprintf(path, "%s%s%s", libs, old ? ":" : "", old ? old : "");
		setenv("LD_LIBRARY_PATH", path, 1);
		free(path);
	} else {
		snprintf(monkey, size, "%s/monkey", bd ? bd : MONKEY_BUILDDIR);
	}
}

/* Rotate the order so load drift hits every row alike.  An untimed pause
 * first, as between an agent's commands: each run starts on an engine
 * done with the one before (its delete after the answer). */
static void measure(struct series *rows, int n, char **monkey_exec,
		    char **docker_run)
{
	fprintf(stderr, "running %d rounds...\n", n);
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 3; k++) {
			int which = (i + k) % 3;
			usleep(300 * 1000);
			if (which == 0)
				add(&rows[0], run_inprocess());
			else if (which == 1 && monkey_exec)
				add(&rows[1], run_process(monkey_exec));
			else if (which == 2 && docker_run)
				add(&rows[2], run_process(docker_run));
		}
	}
	for (int k = 0; k < 3; k++)
		qsort(rows[k].ms, (size_t)rows[k].n, sizeof(double),
		      cmp_double);
}

static void print_rows(struct series *rows, int n)
{
	double base = rows[2].n ? pct(&rows[2], 50) : 0;
	printf("\n`true` in a fresh hardened container, %d rounds, engine at "
	       "%s, image %s\n",
	       n, dt_socket(), dt_image);
	printf("%-42s %8s %8s %8s %10s\n", "", "p50 ms", "p90 ms", "runs",
	       "p50/CLI");
	for (int k = 0; k < 3; k++) {
		struct series *s = &rows[k];
		if (!s->n && !s->failed)
			continue;
		printf("%-42s %8.1f %8.1f %8d", s->name, pct(s, 50), pct(s, 90),
		       s->n);
		if (base > 0)
			printf(" %9.2fx", pct(s, 50) / base);
		if (s->failed)
			printf("  (%d failed)", s->failed);
		printf("\n");
	}
	if (phase_n) {
		static const char *names[] = {"create",	      "attach",
					      "start",	      "run to end",
					      "inspect/wait", "delete"};
		printf("\nin-process phases, mean ms over %d commands:",
		       phase_n);
		for (int i = 0; i < 6; i++)
			printf(" %s %.1f%s", names[i], phase_sum[i] / phase_n,
			       i < 5 ? "," : "\n");
	}
	if (base > 0 && rows[0].n)
		printf("target in-process p50 <= 0.5x docker run: %s (%.2fx)\n",
		       pct(&rows[0], 50) <= 0.5 * base ? "met" : "NOT met",
		       pct(&rows[0], 50) / base);
}

int main(int argc, char **argv)
{
	int n = 30, no_cli = 0, no_monkey = 0;
	int status = parse_args(argc, argv, &n, &no_cli, &no_monkey);
	if (status >= 0)
		return status;
	dt_setup_or_exit("bench_docker");
	dt_log_hook = on_log;

	char monkey[1024], user[64], vol[512];
	find_monkey(monkey, sizeof(monkey));
	if (!no_monkey && access(monkey, X_OK) != 0) {
		fprintf(stderr,
			"note: %s not built; skipping the whole-process row\n",
			monkey);
		no_monkey = 1;
	}
	if (!no_cli && run_process((char *[]){"docker", "version", NULL}) < 0) {
		fprintf(stderr, "note: the docker CLI does not work here; "
				"skipping the docker run row\n");
		no_cli = 1;
	}
	snprintf(user, sizeof(user), "%u:%u", (unsigned)getuid(),
		 (unsigned)getgid());
	snprintf(vol, sizeof(vol), "%s:/workspace", dt_workspace);
	char *docker_run[] = {"docker",
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
			      (char *)dt_image,
			      "true",
			      NULL};
	char *monkey_exec[] = {
	    monkey,	     "exec",	"--sandbox",	  "docker",
	    "--no-fallback", "--image", (char *)dt_image, "--workspace",
	    dt_workspace,    "--",	"true",		  NULL};

	struct series rows[3] = {
	    {"docker backend in-process (cold)",
	     calloc((size_t)n, sizeof(double)), 0, 0},
	    {"monkey exec --sandbox docker (process)",
	     calloc((size_t)n, sizeof(double)), 0, 0},
	    {"docker run --rm, same flags (CLI)",
	     calloc((size_t)n, sizeof(double)), 0, 0},
	};
	/* Warm the engine's caches for every path once. */
	run_inprocess();
	if (!no_monkey)
		run_process(monkey_exec);
	if (!no_cli)
		run_process(docker_run);
	phase_n = 0;
	memset(phase_sum, 0, sizeof(phase_sum));
	measure(rows, n, no_monkey ? NULL : monkey_exec,
		no_cli ? NULL : docker_run);
	print_rows(rows, n);
	for (int k = 0; k < 3; k++)
		free(rows[k].ms);
	return 0;
}
