/* Probes of the resource limits: memory (and the OOM report), pids, CPU
 * share, CPU time, file size and open files.  Each goes past its limit
 * and looks at what stopped it. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "verify_int.h"

#define MEM_LIMIT_MIB 64
#define MEM_TOUCH_MIB "256"
#define PIDS_LIMIT 16
#define PIDS_TRY "64"
#define CPU_SHARE 0.5
#define OPEN_LIMIT 32
#define FSIZE_LIMIT (1024 * 1024)

static struct vf_exec *new_exec(void)
{
	return calloc(1, sizeof(struct vf_exec));
}

/* A run the kernel (or the sandbox) ended with a signal, whether the
 * backend reports it as the signal or as the shell's 128+N. */
static int killed_by(const struct vf_exec *x)
{
	if (x->rc < 0 || x->res.timed_out || x->res.cancelled)
		return 0;
	if (x->res.signal > 0)
		return x->res.signal;
	return x->res.exit_code > 128 && x->res.exit_code < 160
		   ? x->res.exit_code - 128
		   : 0;
}

static const char *tristate(int v)
{
	return v == MONKEY_YES ? "yes" : v == MONKEY_NO ? "no" : "unknown";
}

static void report_oom(struct vf_ctx *c, const struct vf_exec *x, int sig,
		       bool refused, long mib)
{
	static const char tried[] =
	    "the memory probe's OOM kill, as result.oom_killed reports it";
	int oom = x->res.oom_killed;
	if (sig == SIGKILL || oom == MONKEY_YES) {
		if (oom == MONKEY_YES)
			vf_report(c, MONKEY_CAP_OOM_REPORT, VF_HOLDS, tried,
				  "killed after %ld MiB, and oom_killed says "
				  "yes",
				  mib);
		else
			vf_report(c, MONKEY_CAP_OOM_REPORT, VF_BROKEN, tried,
				  "killed by SIGKILL after %ld MiB under the "
				  "limit, but oom_killed says %s",
				  mib, tristate(oom));
	} else if (refused) {
		vf_report(c, MONKEY_CAP_OOM_REPORT, VF_UNPROBED, tried,
			  "the limit refused the allocation (as an rlimit "
			  "does): nothing was OOM-killed to report");
	} else {
		vf_report(c, MONKEY_CAP_OOM_REPORT, VF_UNPROBED, tried,
			  "nothing was OOM-killed (the memory limit did not "
			  "stop the probe)");
	}
}

void vf_probe_memory(struct vf_ctx *c)
{
	static const char tried[] =
	    "touch " MEM_TOUCH_MIB " MiB, 1 MiB at a time, under a memory "
	    "limit of 64 MiB";
	if (!c->helper) {
		vf_no_helper(c, MONKEY_CAP_MEMORY, tried);
		vf_no_helper(c, MONKEY_CAP_MEMORY_APPROX, tried);
		vf_no_helper(c, MONKEY_CAP_OOM_REPORT,
			     "the memory probe's OOM kill");
		return;
	}
	_cleanup_free_ struct vf_exec *x = new_exec();
	_cleanup_free_ char *dir = vf_probe_dir(c, "memory");
	if (!x || !dir) {
		return;
	}
	x->argv[0] = c->helper;
	x->argv[1] = "alloc";
	x->argv[2] = MEM_TOUCH_MIB;
	x->dir = "memory";
	x->with_helper = true;
	x->memory_bytes = (uint64_t)MEM_LIMIT_MIB << 20;
	if (!vf_run(c, x, MONKEY_CAP_MEMORY, tried))
		return;
	long mib = 0, fail_at = -1, e = 0, done = -1;
	vf_line(x, "touched", &mib, NULL);
	bool refused = vf_line(x, "alloc-failed", &fail_at, &e);
	bool finished = vf_line(x, "done", &done, NULL);
	int sig = killed_by(x);
	char how[200];
	vf_describe(x, how, sizeof(how));
	enum vf_outcome o;
	char text[MONKEY_VERIFY_TEXT_MAX];
	if (finished) {
		o = VF_BROKEN;
		snprintf(text, sizeof(text),
			 "touched all %ld MiB: the limit did not hold", done);
	} else if (refused) {
		o = VF_HOLDS;
		snprintf(text, sizeof(text),
			 "the allocation was refused after %ld MiB (%s)",
			 fail_at, strerror((int)e));
	} else if (sig) {
		o = VF_HOLDS;
		snprintf(text, sizeof(text), "%s after %ld MiB", how, mib);
	} else {
		o = x->rc < 0 ? VF_BROKEN : VF_UNPROBED;
		snprintf(text, sizeof(text),
			 "neither stopped nor finished: %s after %ld MiB", how,
			 mib);
	}
	vf_report(c, MONKEY_CAP_MEMORY, o, tried, "%s", text);
	vf_report(c, MONKEY_CAP_MEMORY_APPROX, o, tried, "%s", text);
	report_oom(c, x, sig, refused, refused ? fail_at : mib);
}

static const char pids_script[] =
    "# Fork sleepers until a fork fails (the shell then gives up).\n"
    "i=0\n"
    "while [ $i -lt " PIDS_TRY " ]; do\n"
    "\tsleep 3 &\n"
    "\ti=$((i + 1))\n"
    "\techo \"forked $i 0\"\n"
    "done\n";

void vf_probe_pids(struct vf_ctx *c)
{
	char tried[160];
	snprintf(tried, sizeof(tried),
		 "fork %s processes under a limit of %d%s", PIDS_TRY,
		 PIDS_LIMIT, c->helper ? "" : " (sh: sleep in background)");
	_cleanup_free_ struct vf_exec *x = new_exec();
	_cleanup_free_ char *dir = vf_probe_dir(c, "pids");
	if (!x || !dir ||
	    vf_write_file(c, "pids/p.sh", pids_script, strlen(pids_script),
			  0644) < 0) {
		vf_report(c, MONKEY_CAP_PIDS, VF_SETUP, tried,
			  "cannot write the probe's script");
		return;
	}
	x->argv[0] = c->helper ? c->helper : "sh";
	x->argv[1] = c->helper ? "fork" : "p.sh";
	x->argv[2] = c->helper ? PIDS_TRY : NULL;
	x->dir = "pids";
	x->with_helper = true;
	x->pids = PIDS_LIMIT;
	if (!vf_run(c, x, MONKEY_CAP_PIDS, tried))
		return;
	long n = -1, e = 0;
	char how[200];
	vf_describe(x, how, sizeof(how));
	if (!vf_line(x, "forked", &n, &e))
		vf_report(c, MONKEY_CAP_PIDS,
			  x->rc < 0 ? VF_BROKEN : VF_UNPROBED, tried,
			  "no fork was reported: %s", how);
	else if (n >= atol(PIDS_TRY))
		vf_report(c, MONKEY_CAP_PIDS, VF_BROKEN, tried,
			  "all %ld forks succeeded", n);
	else
		vf_report(c, MONKEY_CAP_PIDS, VF_HOLDS, tried,
			  "fork %ld failed%s%s%s; limits_hit %s pids", n + 1,
			  e ? " (" : "", e ? strerror((int)e) : "",
			  e ? ")" : "",
			  (x->res.limits_hit & MONKEY_LIMIT_PIDS) ? "names"
								  : "does not "
								    "name");
}

void vf_probe_cpu(struct vf_ctx *c)
{
	static const char tried[] =
	    "two processes spin for 1.5 s under a limit of 0.5 CPUs";
	if (!c->helper) {
		vf_no_helper(c, MONKEY_CAP_CPU, tried);
		return;
	}
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x)
		return;
	x->argv[0] = c->helper;
	x->argv[1] = "spin";
	x->argv[2] = "1500";
	x->with_helper = true;
	x->cpus = CPU_SHARE;
	if (!vf_run(c, x, MONKEY_CAP_CPU, tried))
		return;
	long cpu = -1, wall = -1;
	char how[200];
	vf_describe(x, how, sizeof(how));
	if (!vf_line(x, "spun", &cpu, &wall) || wall <= 0) {
		vf_report(c, MONKEY_CAP_CPU,
			  x->rc < 0 ? VF_BROKEN : VF_UNPROBED, tried,
			  "the spinners reported nothing: %s", how);
	} else {
		double share = (double)cpu / (double)wall;
		/* A quota is exact over its periods; the margin is for the
		 * last period and the accounting's granularity. */
		vf_report(c, MONKEY_CAP_CPU,
			  share <= CPU_SHARE * 1.5 ? VF_HOLDS : VF_BROKEN,
			  tried, "they got %.2f CPUs (%ld ms of CPU in %ld ms)",
			  share, cpu, wall);
	}
}

void vf_probe_cpu_time(struct vf_ctx *c)
{
	static const char tried[] =
	    "a shell busy loop under a CPU-time limit of 1 s (10 s timeout)";
	static const char script[] = "while :; do :; done\n";
	_cleanup_free_ struct vf_exec *x = new_exec();
	_cleanup_free_ char *dir = vf_probe_dir(c, "cpu-time");
	if (!x || !dir ||
	    vf_write_file(c, "cpu-time/p.sh", script, strlen(script), 0644) <
		0) {
		vf_report(c, MONKEY_CAP_CPU_TIME, VF_SETUP, tried,
			  "cannot write the probe's script");
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->dir = "cpu-time";
	x->cpu_time_s = 1;
	/* Room for a loaded machine to give it 2 s of CPU (soft and hard
	 * limit) and for a backend that only kills at the hard one. */
	x->timeout_ms = 10000;
	if (!vf_run(c, x, MONKEY_CAP_CPU_TIME, tried))
		return;
	int sig = killed_by(x);
	char how[200];
	vf_describe(x, how, sizeof(how));
	if (x->res.timed_out || x->watchdog_fired)
		vf_report(c, MONKEY_CAP_CPU_TIME, VF_BROKEN, tried,
			  "still running at the timeout, after %lld ms",
			  (long long)x->ms);
	else if (sig == SIGXCPU || sig == SIGKILL ||
		 (x->res.limits_hit & MONKEY_LIMIT_CPU_TIME))
		vf_report(c, MONKEY_CAP_CPU_TIME, VF_HOLDS, tried,
			  "%s after %lld ms", how, (long long)x->ms);
	else
		vf_report(c, MONKEY_CAP_CPU_TIME,
			  x->rc < 0 ? VF_BROKEN : VF_UNPROBED, tried,
			  "the loop ended otherwise: %s", how);
}

static const char fsize_script[] =
    "if command -v dd >/dev/null 2>&1; then\n"
    "\tdd if=/dev/zero of=big bs=65536 count=64 2>/dev/null\n"
    "else\n"
    "\thead -c 4194304 /dev/zero >big\n"
    "fi\n"
    "echo \"wrote $?\"\n";

void vf_probe_file_size(struct vf_ctx *c)
{
	static const char tried[] =
	    "write 4 MiB to a file under a file-size limit of 1 MiB";
	_cleanup_free_ struct vf_exec *x = new_exec();
	_cleanup_free_ char *dir = vf_probe_dir(c, "file-size");
	_cleanup_free_ char *big =
	    dir ? monkey_strdup_printf("%s/big", dir) : NULL;
	if (!x || !big ||
	    vf_write_file(c, "file-size/p.sh", fsize_script,
			  strlen(fsize_script), 0644) < 0) {
		vf_report(c, MONKEY_CAP_FILE_SIZE, VF_SETUP, tried,
			  "cannot write the probe's script");
		return;
	}
	x->argv[0] = "sh";
	x->argv[1] = "p.sh";
	x->dir = "file-size";
	x->file_size_bytes = FSIZE_LIMIT;
	if (!vf_run(c, x, MONKEY_CAP_FILE_SIZE, tried))
		return;
	struct stat st;
	char how[200];
	vf_describe(x, how, sizeof(how));
	long status = -1;
	vf_line(x, "wrote", &status, NULL);
	if (stat(big, &st) < 0)
		vf_report(c, MONKEY_CAP_FILE_SIZE,
			  x->rc < 0 ? VF_BROKEN : VF_UNPROBED, tried,
			  "no file was written: %s", how);
	else if (st.st_size > FSIZE_LIMIT)
		vf_report(c, MONKEY_CAP_FILE_SIZE, VF_BROKEN, tried,
			  "the file grew to %lld bytes", (long long)st.st_size);
	else
		vf_report(c, MONKEY_CAP_FILE_SIZE, VF_HOLDS, tried,
			  "the file stopped at %lld bytes (the writer %s%ld)",
			  (long long)st.st_size,
			  status > 128 ? "was killed, status " : "exited ",
			  status);
}

void vf_probe_open_files(struct vf_ctx *c)
{
	static const char tried[] =
	    "open /dev/null 256 times under a limit of 32 open files";
	if (!c->helper) {
		vf_no_helper(c, MONKEY_CAP_OPEN_FILES, tried);
		return;
	}
	_cleanup_free_ struct vf_exec *x = new_exec();
	if (!x)
		return;
	x->argv[0] = c->helper;
	x->argv[1] = "open";
	x->argv[2] = "256";
	x->with_helper = true;
	x->open_files = OPEN_LIMIT;
	if (!vf_run(c, x, MONKEY_CAP_OPEN_FILES, tried))
		return;
	long n = -1, e = 0;
	char how[200];
	vf_describe(x, how, sizeof(how));
	if (!vf_line(x, "opened", &n, &e))
		vf_report(c, MONKEY_CAP_OPEN_FILES,
			  x->rc < 0 ? VF_BROKEN : VF_UNPROBED, tried,
			  "no open was reported: %s", how);
	else if (n >= OPEN_LIMIT)
		vf_report(c, MONKEY_CAP_OPEN_FILES, VF_BROKEN, tried,
			  "%ld opens succeeded", n);
	else
		vf_report(c, MONKEY_CAP_OPEN_FILES, VF_HOLDS, tried,
			  "open %ld failed (%s)", n + 1, strerror((int)e));
}
