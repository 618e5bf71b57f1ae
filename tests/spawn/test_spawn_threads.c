/* Several threads of one host run commands through the same spawn backend
 * state at once: no output reaches the wrong caller, every caller gets its
 * own command's status, and the kills and reaping of one command (timeouts,
 * daemons left behind, a reaper the command killed or stopped) touch no
 * other command and no child of the host. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spawn_harness.h"

#define TAG_THREADS 6
#define TAG_RUNS 12
#define TAG_LINES 20

static struct sh_backend spawn;

struct worker {
	int index;
	int failures;
	char why[256];
};

/* Every line must be "<id> parent|child <n>"; count them. */
static int count_own_lines(const char *text, int id, int *foreign)
{
	int n = 0;
	char want[32];
	snprintf(want, sizeof(want), "%d ", id);
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		if (strncmp(l, want, strlen(want)) == 0)
			n++;
		else
			(*foreign)++;
		if (!nl)
			break;
		l = nl + 1;
	}
	return n;
}

static void *tag_worker(void *arg)
{
	struct worker *w = arg;
	for (int run = 0; run < TAG_RUNS; run++) {
		int id = (w->index + 1) * 100 + run;
		char ids[16], lines[16];
		snprintf(ids, sizeof(ids), "%d", id);
		snprintf(lines, sizeof(lines), "%d", TAG_LINES);
		const char *argv[] = {sh_helper(), "tag", ids, lines, NULL};
		struct monkey_exec_request req;
		sh_request(&req, argv);
		struct sh_result r = {0};
		int rc = sh_exec(&spawn, &req, &r);
		int foreign = 0;
		int out = count_own_lines(r.out.data, id, &foreign);
		int err = count_own_lines(r.err_stream.data, id, &foreign);
		if (rc != 0 || r.res.exit_code != run || out != 2 * TAG_LINES ||
		    err != 2 * TAG_LINES || foreign) {
			w->failures++;
			snprintf(
			    w->why, sizeof(w->why),
			    "id %d: rc %d exit %d out %d err %d foreign %d", id,
			    rc, r.res.exit_code, out, err, foreign);
		}
		sh_result_free(&r);
	}
	return NULL;
}

/* Commands that leave processes behind or time out, with their pids
 * recorded, next to the tag workers. */
static void *messy_worker(void *arg)
{
	struct worker *w = arg;
	const char *modes[] = {
	    "daemon",	 "trap-term",	  "setsid-grandchild",
	    "hold-pipe", "attack-reaper", "attack-reaper"};
	for (int i = 0; i < 6; i++) {
		char *pidfile = sh_pidfile();
		char envpid[4200];
		snprintf(envpid, sizeof(envpid), "PIDFILE=%s", pidfile);
		const char *envp[] = {"PATH=/usr/bin:/bin", envpid, NULL};
		const char *argv[] = {sh_helper(), modes[i],
				      i == 4 ? "KILL" : "STOP", NULL};
		struct monkey_exec_request req;
		sh_request(&req, argv);
		req.envp = envp;
		req.timeout_ms = 150;
		req.kill_grace_ms = 100;
		struct sh_result r = {0};
		int rc = sh_exec(&spawn, &req, &r);
		int n, alive = sh_pids_alive(pidfile, &n);
		if (rc != 0 || alive || n < 1) {
			w->failures++;
			snprintf(w->why, sizeof(w->why),
				 "%s: rc %d, %d of %d processes alive",
				 modes[i], rc, alive, n);
		}
		sh_result_free(&r);
		sh_pidfile_free(pidfile);
	}
	return NULL;
}

static void test_parallel_commands_keep_output_and_status_apart(void **s)
{
	(void)s;
	/* A child of the host itself, which no command's reaping may take. */
	pid_t mine = fork();
	if (mine == 0) {
		usleep(500 * 1000);
		_exit(9);
	}
	pthread_t th[TAG_THREADS + 2];
	struct worker w[TAG_THREADS + 2];
	memset(w, 0, sizeof(w));
	for (int i = 0; i < TAG_THREADS + 2; i++) {
		w[i].index = i;
		pthread_create(&th[i], NULL,
			       i < TAG_THREADS ? tag_worker : messy_worker,
			       &w[i]);
	}
	for (int i = 0; i < TAG_THREADS + 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < TAG_THREADS + 2; i++)
		if (w[i].failures)
			fail_msg("worker %d: %d failures, last: %s", i,
				 w[i].failures, w[i].why);
	int st;
	assert_int_equal(waitpid(mine, &st, 0), mine);
	assert_int_equal(WEXITSTATUS(st), 9);
	assert_true(sh_no_children());
}

static int setup(void **s)
{
	(void)s;
	sh_load(&spawn, "spawn");
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	sh_unload(&spawn);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_parallel_commands_keep_output_and_status_apart),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
