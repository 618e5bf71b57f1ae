/* The spawn and none backends through libmonkey's executor and the monkey
 * CLI: secrets in the host's environment never reach a command, workdir
 * escapes are refused, exit codes follow docker run / timeout(1), binary
 * output stays valid JSON, --stdin and --kill-grace work end to end. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <monkey/exec.h>

#include "spawn_harness.h"
#include "testutil.h"

static char *ws; /* a workspace: a fresh directory */
static char notices[4096];

static void collect_notice(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	size_t used = strlen(notices);
	snprintf(notices + used, sizeof(notices) - used, "%s\n", msg);
}

static struct monkey_executor *open_executor(const char *sandbox,
					     struct monkey_exec_options *o)
{
	struct monkey_exec_options defaults;
	if (!o) {
		monkey_exec_options_init(&defaults);
		o = &defaults;
	}
	o->sandbox = sandbox;
	o->workspace = ws;
	o->no_fallback = true;
	o->notify = collect_notice;
	notices[0] = '\0';
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	if (monkey_executor_open(o, &ex, &err) < 0)
		fail_msg("executor: %s", err.message);
	return ex;
}

static void run_cmd(struct monkey_executor *ex, const char *const *argv,
		    const char *workdir, struct monkey_result *res)
{
	struct monkey_command cmd = {.argv = argv, .workdir = workdir};
	struct monkey_error err = {0};
	if (monkey_executor_run(ex, &cmd, res, &err) < 0)
		fail_msg("run: %s", err.message);
}

static char *joined(const struct monkey_result *res, int err)
{
	char *s = monkey_capture_join(err ? &res->err : &res->out, NULL);
	assert_non_null(s);
	return s;
}

static void test_host_secrets_never_reach_the_command(void **s)
{
	(void)s;
	setenv("ANTHROPIC_API_KEY", "sk-ant-api03-secret", 1);
	setenv("GITHUB_TOKEN", "ghp_secret_token", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "aws/secret/key", 1);
	setenv("LC_API_TOKEN", "lc-secret-token", 1);
	setenv("LC_SECRET", "lc-secret", 1);
	const char *backends[] = {"spawn", "none"};
	for (int b = 0; b < 2; b++) {
		struct monkey_executor *ex = open_executor(backends[b], NULL);
		const char *argv[] = {"env", NULL};
		struct monkey_result res;
		run_cmd(ex, argv, NULL, &res);
		assert_int_equal(res.exit_code, 0);
		char *out = joined(&res, 0);
		assert_non_null(strstr(out, "PATH="));
		assert_null(strstr(out, "ANTHROPIC_API_KEY"));
		assert_null(strstr(out, "GITHUB_TOKEN"));
		assert_null(strstr(out, "AWS_SECRET_ACCESS_KEY"));
		assert_null(strstr(out, "LC_API_TOKEN"));
		assert_null(strstr(out, "LC_SECRET"));
		assert_null(strstr(out, "secret"));
		free(out);
		monkey_result_free(&res);
		monkey_executor_close(ex);
	}
}

static void test_secret_named_with_pass_env_does_reach_the_command(void **s)
{
	(void)s;
	setenv("GITHUB_TOKEN", "ghp_secret_token", 1);
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	const char *pass[] = {"GITHUB_TOKEN"};
	o.pass_env = pass;
	o.n_pass_env = 1;
	struct monkey_executor *ex = open_executor("spawn", &o);
	const char *argv[] = {"env", NULL};
	struct monkey_result res;
	run_cmd(ex, argv, NULL, &res);
	char *out = joined(&res, 0);
	assert_non_null(strstr(out, "GITHUB_TOKEN=ghp_secret_token\n"));
	free(out);
	monkey_result_free(&res);
	monkey_executor_close(ex);
}

static void test_workdir_escape_through_dotdot_is_refused(void **s)
{
	(void)s;
	struct monkey_executor *ex = open_executor("spawn", NULL);
	const char *argv[] = {sh_helper(), "pwd", NULL};
	struct monkey_result res;
	run_cmd(ex, argv, "sub/../..", &res);
	assert_int_equal(res.exit_code, MONKEY_EXIT_FAILURE);
	assert_true(res.error[0] != '\0');
	assert_int_equal(res.out.total, 0);
	monkey_result_free(&res);
	monkey_executor_close(ex);

	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = "spawn";
	o.workspace = ws;
	o.workdir = "..";
	struct monkey_error err = {0};
	assert_true(monkey_executor_open(&o, &ex, &err) < 0);
	assert_true(err.message[0] != '\0');
}

static void test_workdir_escape_through_symlink_is_refused(void **s)
{
	(void)s;
	char link[PATH_MAX];
	snprintf(link, sizeof(link), "%s/to-etc", ws);
	symlink("/etc", link);
	struct monkey_executor *ex = open_executor("spawn", NULL);
	const char *argv[] = {sh_helper(), "pwd", NULL};
	struct monkey_result res;
	run_cmd(ex, argv, "to-etc", &res);
	assert_int_equal(res.exit_code, MONKEY_EXIT_FAILURE);
	assert_int_equal(res.out.total, 0);
	monkey_result_free(&res);
	/* A directory inside is fine. */
	run_cmd(ex, argv, "sub", &res);
	assert_int_equal(res.exit_code, 0);
	char *out = joined(&res, 0);
	assert_non_null(strstr(out, "/sub\n"));
	free(out);
	monkey_result_free(&res);
	monkey_executor_close(ex);
}

static void test_exit_codes_follow_docker_run(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.timeout_ms = 300;
	o.kill_grace_ms = 100;
	struct monkey_executor *ex = open_executor("spawn", &o);
	struct {
		const char *argv[4];
		int code;
	} cases[] = {
	    {{sh_helper(), "exit", "3"}, 3},
	    {{"monkey-no-such-program"}, MONKEY_EXIT_NOTFOUND},
	    {{"/etc/passwd"}, MONKEY_EXIT_NOEXEC},
	    {{sh_helper(), "sleep"}, MONKEY_EXIT_TIMEOUT},
	    {{sh_helper(), "raise", "9"}, 128 + 9},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct monkey_result res;
		run_cmd(ex, cases[i].argv, NULL, &res);
		assert_int_equal(res.exit_code, cases[i].code);
		if (cases[i].code == MONKEY_EXIT_NOTFOUND)
			assert_non_null(
			    strstr(res.error, "monkey-no-such-program"));
		if (cases[i].code == MONKEY_EXIT_TIMEOUT) {
			assert_true(res.timed_out);
			char *out = joined(&res, 0);
			assert_string_equal(out, "partial output\n");
			free(out);
		}
		monkey_result_free(&res);
	}
	monkey_executor_close(ex);
}

static void test_none_is_announced_loudly(void **s)
{
	(void)s;
	struct monkey_executor *ex = open_executor("none", NULL);
	assert_non_null(strstr(notices, "no sandbox"));
	monkey_executor_close(ex);
}

static void test_cli_plain_mode_exit_codes(void **s)
{
	(void)s;
	struct {
		const char *args[6];
		int status;
		const char *stderr_has;
	} cases[] = {
	    {{"monkey-no-such-program"}, 127, "monkey-no-such-program"},
	    {{"/etc/passwd"}, 126, "/etc/passwd"},
	    {{sh_helper(), "raise", "15"}, 128 + 15, NULL},
	    {{sh_helper(), "exit", "42"}, 42, NULL},
	    {{sh_helper(), "sleep"}, 124, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[16] = {(char *)tu_monkey(),
				  "exec",
				  "--sandbox",
				  "spawn",
				  "--timeout",
				  "300",
				  "--kill-grace",
				  "100",
				  "--workspace",
				  ws,
				  "--"};
		int n = 11;
		for (int j = 0; cases[i].args[j]; j++)
			argv[n++] = (char *)cases[i].args[j];
		struct tu_run r;
		assert_int_equal(tu_run(&r, NULL, argv, NULL), 0);
		assert_int_equal(r.status, cases[i].status);
		if (cases[i].stderr_has)
			assert_non_null(strstr(r.err, cases[i].stderr_has));
		tu_run_free(&r);
	}
}

static void test_cli_json_keeps_binary_output_valid(void **s)
{
	(void)s;
	char *argv[] = {(char *)tu_monkey(), "exec",   "--json",
			"--workspace",	     ws,       "--",
			(char *)sh_helper(), "binary", NULL};
	struct tu_run r;
	assert_int_equal(tu_run(&r, NULL, argv, NULL), 0);
	assert_int_equal(r.status, 0);
	json_object *j = json_tokener_parse(r.out);
	assert_non_null(j);
	json_object *v;
	assert_true(json_object_object_get_ex(j, "stdout", &v));
	assert_true(json_object_is_type(v, json_type_string));
	assert_true(json_object_object_get_ex(j, "stdoutBytes", &v));
	assert_int_equal(json_object_get_int(v), 262);
	assert_true(json_object_object_get_ex(j, "stderrBytes", &v));
	assert_int_equal(json_object_get_int(v), 262);
	json_object_put(j);
	tu_run_free(&r);
}

static void test_cli_json_reports_the_signal(void **s)
{
	(void)s;
	char *argv[] = {
	    (char *)tu_monkey(), "exec",  "--json", "--workspace", ws, "--",
	    (char *)sh_helper(), "raise", "11",	    NULL};
	struct tu_run r;
	assert_int_equal(tu_run(&r, NULL, argv, NULL), 0);
	json_object *j = json_tokener_parse(r.out), *v;
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "signal", &v));
	assert_int_equal(json_object_get_int(v), 11);
	assert_true(json_object_object_get_ex(j, "timedOut", &v));
	assert_false(json_object_get_boolean(v));
	json_object_put(j);
	tu_run_free(&r);
}

static void test_cli_env_scrubbing_end_to_end(void **s)
{
	(void)s;
	/* LC_* is allowlisted: credential-like names under it must still go
	 * (LC_ALL shows the prefix itself passes). */
	char *env[] = {"ANTHROPIC_API_KEY=sk-ant-secret",
		       "GITHUB_TOKEN=ghp_secret",
		       "AWS_SECRET_ACCESS_KEY=aws_secret",
		       "LC_API_TOKEN=leaked",
		       "LC_SECRET=leaked",
		       "LC_ALL=C",
		       NULL};
	const char *backends[] = {"spawn", "none"};
	for (int b = 0; b < 2; b++) {
		char *argv[] = {(char *)tu_monkey(),
				"exec",
				"--sandbox",
				(char *)backends[b],
				"--workspace",
				ws,
				"--",
				"env",
				NULL};
		struct tu_run r;
		assert_int_equal(tu_run(&r, NULL, argv, env), 0);
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.out, "PATH="));
		assert_non_null(strstr(r.out, "LC_ALL=C\n"));
		assert_null(strstr(r.out, "secret"));
		assert_null(strstr(r.out, "leaked"));
		assert_null(strstr(r.out, "ANTHROPIC_API_KEY"));
		assert_null(strstr(r.out, "LC_API_TOKEN"));
		assert_null(strstr(r.out, "LC_SECRET"));
		tu_run_free(&r);
	}
}

static void test_cli_none_keeps_argv_semantics(void **s)
{
	(void)s;
	char *argv[] = {(char *)tu_monkey(),
			"exec",
			"--sandbox",
			"none",
			"--workspace",
			ws,
			"--",
			"printf",
			"%s|",
			"a b",
			"c;echo INJECTED",
			NULL};
	struct tu_run r;
	assert_int_equal(tu_run(&r, NULL, argv, NULL), 0);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "a b|c;echo INJECTED|");
	tu_run_free(&r);
	/* Shell syntax still works when asked for. */
	char *sh[] = {(char *)tu_monkey(),
		      "exec",
		      "--sandbox",
		      "none",
		      "--workspace",
		      ws,
		      "--",
		      "sh",
		      "-c",
		      "echo a; echo b | tr b c",
		      NULL};
	assert_int_equal(tu_run(&r, NULL, sh, NULL), 0);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "a\nc\n");
	tu_run_free(&r);
}

/* The pid a command wrote into the workspace file name, or -1. */
static int read_pid(const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", ws, name);
	FILE *f = fopen(path, "r");
	int pid = -1;
	if (f && fscanf(f, "%d", &pid) != 1)
		pid = -1;
	if (f)
		fclose(f);
	unlink(path);
	return pid;
}

/* Exists (alive, stopped or a zombie). */
static bool exists(int pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

/* A command that kills its reaper (its parent, monkey's helper process)
 * after leaving a setsid process behind: monkey kills that process at once
 * and says the command was killed. */
static void test_cli_command_killing_its_reaper_leaves_nothing(void **s)
{
	(void)s;
	char *argv[] = {
	    (char *)tu_monkey(),
	    "exec",
	    "--workspace",
	    ws,
	    "--timeout",
	    "3000",
	    "--",
	    "sh",
	    "-c",
	    "setsid sh -c 'echo $$ >escaper; sleep 1; echo escaped >F; "
	    "sleep 100' & sleep .3; kill -9 $PPID; sleep 50",
	    NULL};
	struct tu_run r;
	int64_t t = sh_now_ms();
	assert_int_equal(tu_run(&r, NULL, argv, NULL), 0);
	int64_t ms = sh_now_ms() - t;
	assert_int_equal(r.status, 128 + SIGKILL);
	assert_non_null(strstr(r.err, "reaper process was killed or stopped"));
	assert_true(ms < 2500);
	int pid = read_pid("escaper");
	assert_true(pid > 0);
	assert_false(exists(pid));
	usleep(1200 * 1000);
	char f[PATH_MAX];
	snprintf(f, sizeof(f), "%s/F", ws);
	assert_int_equal(access(f, F_OK), -1);
	tu_run_free(&r);
}

/* The same with SIGSTOP: monkey neither hangs nor blames the kernel, and
 * leaves no stopped process behind, its reaper included. */
static void test_cli_command_stopping_its_reaper_leaves_nothing(void **s)
{
	(void)s;
	char *argv[] = {(char *)tu_monkey(),
			"exec",
			"--workspace",
			ws,
			"--timeout",
			"10000",
			"--",
			"sh",
			"-c",
			"echo $PPID >reaper; setsid sh -c 'echo $$ >escaper; "
			"sleep 100' & sleep .3; kill -STOP $PPID; sleep 50",
			NULL};
	struct tu_run r;
	int64_t t = sh_now_ms();
	assert_int_equal(tu_run(&r, NULL, argv, NULL), 0);
	int64_t ms = sh_now_ms() - t;
	assert_int_equal(r.status, 128 + SIGKILL);
	assert_null(strstr(r.err, "stuck"));
	/* Within the kill grace (2 s by default) of the attack. */
	assert_true(ms < 2300);
	int reaper = read_pid("reaper"), escaper = read_pid("escaper");
	assert_true(reaper > 0 && escaper > 0);
	assert_false(exists(reaper));
	assert_false(exists(escaper));
	tu_run_free(&r);
}

/* The workspace made for nobody, removed by teardown (a failed test
 * leaves before its own cleanup). */
static char nobody_ws[PATH_MAX];

/* 1 when user nobody can run the monkey of this build tree. */
static int nobody_can_run_monkey(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(2);
		_exit(access(tu_monkey(), X_OK) == 0 ? 0 : 1);
	}
	int st;
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0;
}

/* A process running as root reads every process whatever monkey does, so
 * monkey runs unprivileged here: as nobody, in a workspace nobody owns;
 * when nobody cannot reach this build tree, as root without any capability
 * (to other root processes what nobody is to nobody's: their /proc files
 * are readable unless they are non-dumpable); when we are not root, as
 * ourselves.  Returns the argv prefix to run monkey with. */
static const char *const *unprivileged(char *wsdir, size_t len)
{
	static const char *const as_nobody[] = {
	    "/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
	    "--clear-groups", NULL};
	static const char *const capless[] = {
	    "/usr/bin/setpriv", "--inh-caps=-all", "--ambient-caps=-all",
	    "--bounding-set=-all", NULL};
	static const char *const as_is[] = {NULL};
	snprintf(wsdir, len, "%s", ws);
	if (geteuid() != 0)
		return as_is;
	if (access(as_nobody[0], X_OK) < 0)
		fail_msg("%s is needed to run monkey unprivileged",
			 as_nobody[0]);
	if (!nobody_can_run_monkey()) {
		print_message("nobody cannot reach %s: running it as root "
			      "without capabilities\n",
			      tu_monkey());
		return capless;
	}
	snprintf(wsdir, len, "%s/tests/unpriv-XXXXXX", tu_builddir());
	if (!mkdtemp(wsdir) || chown(wsdir, 65534, 65534) < 0)
		fail_msg("workspace %s for nobody: %s", wsdir, strerror(errno));
	snprintf(nobody_ws, sizeof(nobody_ws), "%s", wsdir);
	return as_nobody;
}

/* Every /proc/PID/environ the command can read, scanned for a secret in
 * monkey's environment: the reaper shares monkey's memory, so it must be
 * unreadable like monkey itself; the command's own children stay
 * readable to it (the command is not made non-dumpable). */
static void test_cli_command_cannot_read_monkeys_environment(void **s)
{
	(void)s;
	char secret[64], script[1024], wsdir[PATH_MAX];
	snprintf(secret, sizeof(secret), "sk-ant-leak-%d-%lld", (int)getpid(),
		 (long long)sh_now_ms());
	char env_secret[128];
	snprintf(env_secret, sizeof(env_secret), "ANTHROPIC_API_KEY=%s",
		 secret);
	char *env[] = {env_secret, NULL};
	/* Under none the command's parent is the /bin/sh that none runs,
	 * and the reaper is its parent. */
	snprintf(
	    script, sizeof(script),
	    "n=0; for f in /proc/[0-9]*/environ; do "
	    "{ tr '\\0' '\\n' <$f >e; } 2>/dev/null || continue; "
	    "n=$((n+1)); grep -q '%s' e && echo \"LEAK $f\"; done; "
	    "rm -f e; echo \"readable $n\"; r=$PPID; "
	    "[ \"$(cat /proc/$r/comm)\" = monkey-reaper ] || "
	    "r=$(cut -d' ' -f4 /proc/$r/stat); "
	    "[ \"$(cat /proc/$r/comm)\" = monkey-reaper ] && "
	    "! cat /proc/$r/environ >/dev/null 2>&1 && echo reaper-closed; "
	    "sleep 5 & cat /proc/$!/environ >/dev/null && echo "
	    "child-open; kill $!",
	    secret);
	const char *const *prefix = unprivileged(wsdir, sizeof(wsdir));
	const char *backends[] = {"spawn", "none"};
	for (int b = 0; b < 2; b++) {
		char *argv[32];
		int n = 0;
		for (const char *const *p = prefix; *p; p++)
			argv[n++] = (char *)*p;
		const char *rest[] = {tu_monkey(), "exec",	  "--sandbox",
				      backends[b], "--workspace", wsdir,
				      "--",	   "sh",	  "-c",
				      script,	   NULL};
		for (const char *const *p = rest; *p; p++)
			argv[n++] = (char *)*p;
		argv[n] = NULL;
		struct tu_run r;
		assert_int_equal(tu_run(&r, NULL, argv, env), 0);
		if (r.status != 0 || strstr(r.out, "LEAK") ||
		    !strstr(r.out, "reaper-closed") ||
		    !strstr(r.out, "child-open"))
			fail_msg("%s: status %d, stdout:\n%s\nstderr:\n%s",
				 backends[b], r.status, r.out, r.err);
		/* The scan saw something: at least the command itself. */
		assert_null(strstr(r.out, "readable 0\n"));
		tu_run_free(&r);
	}
}

/* Programs that use libmonkey get the same protection, from the executor
 * alone. */
static void test_executor_makes_the_host_non_dumpable(void **s)
{
	(void)s;
	struct monkey_executor *ex = open_executor("spawn", NULL);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	monkey_executor_close(ex);
}

static void test_cli_stdin_feeds_a_command_that_writes_first(void **s)
{
	(void)s;
	char *argv[] = {
	    (char *)tu_monkey(), "exec",   "--stdin", "-",
	    "--workspace",	 ws,	   "--",      (char *)sh_helper(),
	    "write-then-read",	 "200000", NULL};
	/* 300 kB of input, 200 kB of output before the first read. */
	size_t n = 300000;
	char *in = malloc(n + 1);
	memset(in, 'a', n);
	in[n] = '\0';
	struct tu_run r;
	assert_int_equal(tu_run(&r, in, argv, NULL), 0);
	assert_int_equal(r.status, 0);
	char expect[64];
	snprintf(expect, sizeof(expect), "read %zu sum %zu\n", n, n * 'a');
	assert_non_null(strstr(r.err, expect));
	tu_run_free(&r);
	free(in);
}

static int setup(void **s)
{
	(void)s;
	if (!getenv("MONKEY_BACKEND_PATH")) {
		char p[3 * PATH_MAX];
		snprintf(p, sizeof(p),
			 "%s/plugins/spawn/.libs:%s/plugins/none/.libs",
			 tu_builddir(), tu_builddir());
		setenv("MONKEY_BACKEND_PATH", p, 1);
	}
	char *d = tu_mkdtemp();
	ws = realpath(d, NULL);
	free(d);
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/sub", ws);
	return mkdir(sub, 0755);
}

static int teardown(void **s)
{
	(void)s;
	if (nobody_ws[0])
		tu_rmrf(nobody_ws);
	tu_rmrf(ws);
	free(ws);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_secrets_never_reach_the_command),
	    cmocka_unit_test(
		test_secret_named_with_pass_env_does_reach_the_command),
	    cmocka_unit_test(test_workdir_escape_through_dotdot_is_refused),
	    cmocka_unit_test(test_workdir_escape_through_symlink_is_refused),
	    cmocka_unit_test(test_exit_codes_follow_docker_run),
	    cmocka_unit_test(test_none_is_announced_loudly),
	    cmocka_unit_test(test_cli_plain_mode_exit_codes),
	    cmocka_unit_test(test_cli_json_keeps_binary_output_valid),
	    cmocka_unit_test(test_cli_json_reports_the_signal),
	    cmocka_unit_test(test_cli_env_scrubbing_end_to_end),
	    cmocka_unit_test(test_cli_stdin_feeds_a_command_that_writes_first),
	    cmocka_unit_test(test_cli_none_keeps_argv_semantics),
	    cmocka_unit_test(test_cli_command_cannot_read_monkeys_environment),
	    cmocka_unit_test(test_executor_makes_the_host_non_dumpable),
	    cmocka_unit_test(
		test_cli_command_killing_its_reaper_leaves_nothing),
	    cmocka_unit_test(
		test_cli_command_stopping_its_reaper_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
