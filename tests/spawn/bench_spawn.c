/* Benchmark of the spawn backend: N runs of /bin/true through spawn.so in
 * this process against raw posix_spawn+waitpid of the same binary,
 * interleaved, then whole-process "monkey exec --sandbox spawn -- /bin/true"
 * against /bin/true.  Prints p50/p90/p99 and the ratios.  Run with
 * "make bench-spawn"; not part of make check (timings are figures, not
 * pass/fail). */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <monkey/backend.h>

extern char **environ;

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

static double pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

static void host_log(const struct monkey_host *h, int level, const char *fmt,
		     ...)
{
	(void)h;
	(void)level;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int host_set_error(struct monkey_error *err, int code, const char *fmt,
			  ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->code = code;
	return code;
}

static int discard(void *ctx, int stream, const void *data, size_t len)
{
	(void)ctx;
	(void)stream;
	(void)data;
	(void)len;
	return 0;
}

static double raw_spawn(char *const argv[], char *const envp[])
{
	double t = now_ms();
	pid_t pid;
	int st;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, envp) != 0) {
		perror("posix_spawn");
		exit(1);
	}
	waitpid(pid, &st, 0);
	return now_ms() - t;
}

static void row(const char *name, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("  %-44s %8.3f %8.3f %8.3f\n", name, pct(v, n, 0.5),
	       pct(v, n, 0.9), pct(v, n, 0.99));
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n RUNS] [-m PROCESS_RUNS] [-b BUILDDIR]\n"
		"  -n  in-process runs of /bin/true per method (default 2000)\n"
		"  -m  whole-process runs of monkey exec and /bin/true "
		"(default 200)\n"
		"  -b  build tree holding plugins/spawn and monkey "
		"(default $MONKEY_BUILDDIR or the configure-time one)\n",
		prog);
}

/* The spawn backend's exec against raw posix_spawn + waitpid, in this
 * process; 0, or 1 when a run failed. */
static int in_process(const struct monkey_backend *be, void *state, int n)
{
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	char *targv[] = {"/bin/true", NULL};
	char *tenv[] = {"PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
			NULL};
	struct monkey_exec_request req = {
	    .struct_size = sizeof(req),
	    .argv = (const char *const *)targv,
	    .envp = (const char *const *)tenv,
	    .user_envp = (const char *const *)(tenv + 3),
	    .workspace = cwd,
	    .workdir = cwd,
	    .timeout_ms = 60000,
	    .kill_grace_ms = 2000,
	    .output = discard,
	    .cancel_fd = -1,
	};
	struct monkey_error err = {0};
	double *raw = calloc((size_t)n, sizeof(double));
	double *sp = calloc((size_t)n, sizeof(double));
	/* Warm up caches (page cache, dynamic loader) for both. */
	for (int i = 0; i < 20; i++) {
		struct monkey_exec_result res = {.struct_size = sizeof(res)};
		raw_spawn(targv, tenv);
		be->exec(state, &req, &res, &err);
	}
	for (int i = 0; i < n; i++) {
		raw[i] = raw_spawn(targv, tenv);
		struct monkey_exec_result res = {.struct_size = sizeof(res),
						 .exit_code = -1};
		double t = now_ms();
		int r = be->exec(state, &req, &res, &err);
		sp[i] = now_ms() - t;
		if (r < 0 || res.exit_code != 0) {
			fprintf(stderr, "bench_spawn: run %d failed: %s\n", i,
				err.message);
			return 1;
		}
	}
	printf("In-process, %d runs of /bin/true each, interleaved (ms):\n", n);
	printf("  %-44s %8s %8s %8s\n", "", "p50", "p90", "p99");
	row("raw posix_spawn + waitpid", raw, n);
	row("spawn backend exec", sp, n);
	printf("  ratio spawn/raw at p50: %.3f (target <= 1.25)\n",
	       pct(sp, n, 0.5) / pct(raw, n, 0.5));
	free(raw);
	free(sp);
	return 0;
}

/* One "monkey exec" of /bin/true as a process; its time, or -1. */
static double one_monkey_exec(const char *monkey, char **margv, char **menv)
{
	double t = now_ms();
	pid_t pid;
	int st;
	if (posix_spawn(&pid, monkey, NULL, NULL, margv, menv) != 0) {
		fprintf(stderr, "bench_spawn: cannot run %s\n", monkey);
		return -1;
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench_spawn: monkey exec failed (status %d)\n",
			st);
		return -1;
	}
	return now_ms() - t;
}

/* "monkey exec" as a whole process against /bin/true; 0, or 1 when a run
 * failed.  In a build tree "monkey" is libtool's wrapper script, which
 * costs a shell and a few seds per run; the program behind it is timed,
 * as it runs once installed. */
static int whole_process(const char *builddir, int m)
{
	char monkey[4096], libpath[4200];
	char **menv = environ;
	snprintf(monkey, sizeof(monkey), "%s/.libs/monkey", builddir);
	if (access(monkey, X_OK) == 0) {
		size_t ne = 0;
		while (environ[ne])
			ne++;
		menv = calloc(ne + 2, sizeof(char *));
		memcpy(menv, environ, ne * sizeof(char *));
		snprintf(libpath, sizeof(libpath), "LD_LIBRARY_PATH=%s/.libs",
			 builddir);
		menv[ne] = libpath;
	} else {
		snprintf(monkey, sizeof(monkey), "%s/monkey", builddir);
	}
	char bdir[4096];
	snprintf(bdir, sizeof(bdir), "%s/plugins/spawn/.libs", builddir);
	char *margv[] = {monkey, "exec", "--sandbox", "spawn", "--backend-dir",
			 bdir,	 "--",	 "/bin/true", NULL};
	char *targv[] = {"/bin/true", NULL};
	double *pt = calloc((size_t)m, sizeof(double));
	double *pm = calloc((size_t)m, sizeof(double));
	for (int i = 0; i < m; i++) {
		pt[i] = raw_spawn(targv, environ);
		if ((pm[i] = one_monkey_exec(monkey, margv, menv)) < 0)
			return 1;
	}
	printf("\nWhole process, %d runs each, interleaved (ms), "
	       "monkey = %s:\n",
	       m, monkey);
	printf("  %-44s %8s %8s %8s\n", "", "p50", "p90", "p99");
	row("/bin/true", pt, m);
	row("monkey exec --sandbox spawn -- /bin/true", pm, m);
	printf("  ratio monkey exec / /bin/true at p50: %.3f\n",
	       pct(pm, m, 0.5) / pct(pt, m, 0.5));
	free(pt);
	free(pm);
	if (menv != environ)
		free(menv);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 2000, m = 200, c;
	const char *builddir = getenv("MONKEY_BUILDDIR");
	if (!builddir)
		builddir = MONKEY_BUILDDIR;
	while ((c = getopt(argc, argv, "n:m:b:h")) != -1) {
		switch (c) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'm':
			m = atoi(optarg);
			break;
		case 'b':
			builddir = optarg;
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (n < 1 || m < 0) {
		usage(argv[0]);
		return 2;
	}

	char so[4096];
	snprintf(so, sizeof(so), "%s/plugins/spawn/.libs/spawn.so", builddir);
	void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "bench_spawn: %s\n", dlerror());
		return 1;
	}
	monkey_backend_entry_fn entry =
	    (monkey_backend_entry_fn)dlsym(dl, MONKEY_BACKEND_ENTRY_SYMBOL);
	const struct monkey_backend *be = entry();
	struct monkey_host host = {
	    .struct_size = sizeof(host),
	    .abi_major = MONKEY_BACKEND_ABI_MAJOR,
	    .abi_minor = MONKEY_BACKEND_ABI_MINOR,
	    .log = host_log,
	    .set_error = host_set_error,
	    .instance_id = "bench",
	};
	void *state;
	struct monkey_error err = {0};
	if (be->init(&host, NULL, &state, &err) < 0 ||
	    be->probe(state, &err) < 0) {
		fprintf(stderr, "bench_spawn: %s\n", err.message);
		return 1;
	}
	if (in_process(be, state, n))
		return 1;
	be->fini(state);
	if (m > 0 && whole_process(builddir, m))
		return 1;
	dlclose(dl);
	return 0;
}
