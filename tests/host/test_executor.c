/* The executor: backend choice and fallback, what reaches the backend, and
 * how results are mapped.  Uses the test backends in tests/modules and the
 * spawn backend from the build tree. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/exec.h>
#include <monkey/sandbox.h>

#include "testutil.h"

static void free_cwd(char **p) { free(*p); }
#define _cleanup_cwd_ __attribute__((cleanup(free_cwd)))

static char notices[8192];

static void collect(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level < MONKEY_LOG_WARNING)
		return;
	strncat(notices, msg, sizeof(notices) - strlen(notices) - 2);
	strcat(notices, "\n");
}

static char spawn_dir[4096];

static int setup(void **s)
{
	(void)s;
	snprintf(spawn_dir, sizeof(spawn_dir), "%s/plugins/spawn/.libs",
		 tu_builddir());
	/* Only the build tree: nothing installed may leak into the tests. */
	setenv("MONKEY_BACKEND_PATH", spawn_dir, 1);
	setenv("MONKEY_BACKEND_PATH_ONLY", "1", 1);
	setenv("ANTHROPIC_API_KEY", "sk-ant-must-not-leak", 1);
	setenv("GITHUB_TOKEN", "ghp-must-not-leak", 1);
	return 0;
}

static void opts_init(struct monkey_exec_options *o, const char *sandbox)
{
	monkey_exec_options_init(o);
	o->sandbox = sandbox;
	o->backend_dir = tu_modules_dir();
	o->notify = collect;
	notices[0] = '\0';
}

static char *run_capture(struct monkey_executor *ex, const char *const *argv,
			 struct monkey_result *res)
{
	struct monkey_command cmd = {.argv = argv};
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_run(ex, &cmd, res, &err), 0);
	return monkey_capture_join(&res->out, NULL);
}

static void test_request_carries_resolved_options(void **s)
{
	(void)s;
	char *ws = tu_mkdtemp();
	char sub[4096], real[4096];
	snprintf(sub, sizeof(sub), "%s/sub", ws);
	mkdir(sub, 0755);
	const char *mounts[] = {"/tmp:/data:ro"};
	const char *env[] = {"FOO=bar"};
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	o.workspace = ws;
	o.workdir = sub;
	o.timeout_ms = 1234;
	o.mounts = mounts;
	o.n_mounts = 1;
	o.env = env;
	o.n_env = 1;
	o.image = "img:1";
	struct monkey_executor *ex;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	const char *argv[] = {"prog", "a b", "$(id)", NULL};
	struct monkey_result res;
	char *out = run_capture(ex, argv, &res);
	assert_true(realpath(ws, real) != NULL);
	char want[2 * 4096 + 64];
	snprintf(want, sizeof(want), "workspace=%s\nworkdir=%s/sub\n", real,
		 real);
	assert_true(tu_contains(out, want));
	assert_true(tu_contains(out, "argv=prog\nargv=a b\nargv=$(id)\n"));
	assert_true(tu_contains(out, "timeout=1234\n"));
	assert_true(tu_contains(out, "mount=/tmp:/data:ro\n"));
	assert_true(tu_contains(out, "image=img:1\n"));
	assert_true(tu_contains(out, "env=FOO=bar\n"));
	assert_true(tu_contains(out, "userenv=FOO=bar\n"));
	assert_false(tu_contains(out, "must-not-leak"));
	/* Memory is enforced by reqdump, so the default reaches it. */
	assert_true(tu_contains(out, "memory=268435456\n"));
	assert_true(tu_contains(out, "\"image\":\"img:1\""));
	/* Exit status is the backend's. */
	assert_int_equal(res.exit_code, 3);
	char *err_text = monkey_capture_join(&res.err, NULL);
	assert_string_equal(err_text, "err\n");
	free(err_text);
	free(out);
	monkey_result_free(&res);
	monkey_executor_close(ex);
	tu_rmrf(ws);
	free(ws);
}

static void
test_explicit_options_a_backend_cannot_enforce_are_reported(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	o.cpus = 2;
	o.pids = 10;
	o.explicit_set = MONKEY_OPT_CPUS | MONKEY_OPT_PIDS | MONKEY_OPT_MEMORY;
	struct monkey_executor *ex;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	assert_true(tu_contains(
	    notices, "--cpus is not enforced by the reqdump backend"));
	assert_true(tu_contains(
	    notices, "--pids is not enforced by the reqdump backend"));
	assert_false(tu_contains(notices, "--memory"));
	monkey_executor_close(ex);
}

static void test_defaults_are_applied_quietly(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	struct monkey_executor *ex;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	assert_string_equal(notices, "");
	monkey_executor_close(ex);
}

static void test_unavailable_backend_falls_back_to_spawn_with_reason(void **s)
{
	(void)s;
#ifndef HAVE_BACKEND_SPAWN
	skip(); /* this build has no spawn backend to fall back to */
#endif
	struct monkey_exec_options o;
	opts_init(&o, "unavail");
	struct monkey_executor *ex;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	assert_string_equal(monkey_executor_backend_name(ex), "spawn");
	assert_string_equal(monkey_executor_requested_name(ex), "unavail");
	assert_true(monkey_executor_fell_back(ex));
	assert_true(tu_contains(notices,
				"unavail not available, falling back "
				"to spawn mode: test engine not reachable at "
				"/nonexistent.sock"));
	const char *argv[] = {"echo", "hi", NULL};
	struct monkey_result res;
	char *out = run_capture(ex, argv, &res);
	assert_string_equal(out, "hi\n");
	assert_int_equal(res.exit_code, 0);
	free(out);
	monkey_result_free(&res);
	monkey_executor_close(ex);
}

static void test_missing_docker_says_docker_not_available(void **s)
{
	(void)s;
#ifndef HAVE_BACKEND_SPAWN
	skip(); /* this build has no spawn backend to fall back to */
#endif
	/* A named image forbids the fallback (next test). */
	unsetenv("MONKEY_DOCKER_IMAGE");
	struct monkey_exec_options o;
	opts_init(&o, "docker");
	struct monkey_executor *ex;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	assert_string_equal(monkey_executor_backend_name(ex), "spawn");
	assert_true(tu_contains(
	    notices, "Docker not available, falling back to spawn mode: "
		     "backend 'docker' is not installed (looked in "));
	/* The package to install, as configure --with-backend-package
	 * names it (the default: monkey-backend-docker). */
	if (strstr(MONKEY_BACKEND_PACKAGE, "%s"))
		assert_true(tu_contains(
		    notices, "; install it with: " MONKEY_PACKAGE_INSTALL " "));
	if (!strcmp(MONKEY_BACKEND_PACKAGE, "monkey-backend-%s"))
		assert_true(tu_contains(
		    notices, "install it with: " MONKEY_PACKAGE_INSTALL
			     " monkey-backend-docker\n"));
	monkey_executor_close(ex);
}

/* A probe that fails with anything but -ENODEV saw the engine answer:
 * what it refuses (a missing image) is reported, never run on the host. */
static void test_probe_failure_other_than_absence_never_falls_back(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "unavail");
	setenv("MONKEY_TEST_PROBE_ERRNO", "6", 1); /* ENXIO */
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	int r = monkey_executor_open(&o, &ex, &err);
	unsetenv("MONKEY_TEST_PROBE_ERRNO");
	assert_int_equal(r, -ENXIO);
	assert_null(ex);
	assert_true(tu_contains(err.message, "no such image"));
	assert_false(tu_contains(notices, "falling back"));
}

/* Whoever names an image wants a container: no fallback, not even when
 * the container backend is absent. */
static void test_named_image_never_falls_back(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "docker");
	o.image = "example/image:1";
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	assert_true(monkey_executor_open(&o, &ex, &err) < 0);
	assert_null(ex);
	assert_true(tu_contains(err.message, "is not installed"));
	assert_true(tu_contains(err.message, "--image"));
	assert_false(tu_contains(notices, "falling back"));
}

/* Run argv under spawn with opts adjusted by the caller; fills res. */
static void run_spawn(struct monkey_exec_options *o, const char *const *argv,
		      struct monkey_result *res)
{
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	o->sandbox = "spawn";
	o->no_fallback = true;
	if (monkey_executor_open(o, &ex, &err) < 0)
		fail_msg("open: %s", err.message);
	free(run_capture(ex, argv, res));
	monkey_executor_close(ex);
}

/* Whatever the backend reports, SIGXFSZ and SIGXCPU name their limit. */
static void test_file_size_and_cpu_time_limits_are_named(void **s)
{
	(void)s;
#ifndef HAVE_BACKEND_SPAWN
	skip(); /* this build has no spawn backend */
#endif
	char ws[] = "/tmp/monkey-limits-XXXXXX";
	assert_non_null(mkdtemp(ws));
	struct monkey_exec_options o;
	struct monkey_result big_res, spin_res, fine_res;
	const char *big[] = {"dd",	"if=/dev/zero", "of=big",
			     "bs=1000", "count=100",	NULL};
	opts_init(&o, NULL);
	o.workspace = ws;
	o.file_size_bytes = 4096;
	run_spawn(&o, big, &big_res);
	const char *spin[] = {"sh", "-c", "while :; do :; done", NULL};
	opts_init(&o, NULL);
	o.workspace = ws;
	o.cpu_time_s = 1;
	run_spawn(&o, spin, &spin_res);
	const char *fine[] = {"true", NULL};
	opts_init(&o, NULL);
	o.workspace = ws;
	o.cpu_time_s = 5;
	o.file_size_bytes = 4096;
	run_spawn(&o, fine, &fine_res);
	char big_path[64];
	snprintf(big_path, sizeof(big_path), "%s/big", ws);
	unlink(big_path);
	rmdir(ws);

	assert_int_equal(big_res.signal, SIGXFSZ);
	assert_true(big_res.limits_hit & MONKEY_LIMIT_FILE_SIZE);
	assert_string_equal(monkey_result_limit(&big_res), "file-size");
	assert_true(spin_res.signal == SIGXCPU || spin_res.signal == SIGKILL);
	assert_true(spin_res.limits_hit & MONKEY_LIMIT_CPU_TIME);
	assert_string_equal(monkey_result_limit(&spin_res), "cpu-time");
	assert_false(spin_res.timed_out);
	assert_int_equal(fine_res.limits_hit, 0);
	assert_null(monkey_result_limit(&fine_res));
	monkey_result_free(&big_res);
	monkey_result_free(&spin_res);
	monkey_result_free(&fine_res);
}

static void test_no_fallback_turns_unavailability_into_an_error(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "unavail");
	o.no_fallback = true;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), -ENODEV);
	assert_null(ex);
	assert_true(tu_contains(err.message, "test engine not reachable"));
	assert_true(tu_contains(err.message, "--no-fallback"));
	assert_false(tu_contains(notices, "falling back"));
}

static void test_unknown_backend_is_an_error_not_a_fallback(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "dokcer");
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), -ENOENT);
	assert_true(
	    tu_contains(err.message, "backend 'dokcer' is not installed"));
	assert_true(tu_contains(err.message, "reqdump"));
}

static void test_refused_backend_is_never_papered_over(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "badabi");
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), -EPROTO);
	assert_true(tu_contains(err.message, "refusing backend 'badabi'"));
}

/* The tests' own cleanup, which removes workspaces holding links to /etc
 * and to "..": what a link points to keeps its mode. */
static void test_removing_a_workspace_leaves_link_targets_alone(void **s)
{
	(void)s;
	char *target = tu_mkdtemp();
	assert_int_equal(chmod(target, 0755), 0);
	char *ws = tu_mkdtemp();
	char link[4096];
	snprintf(link, sizeof(link), "%s/out", ws);
	assert_int_equal(symlink(target, link), 0);
	tu_rmrf(ws);
	struct stat st;
	assert_int_equal(lstat(ws, &st), -1);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	tu_rmrf(target);
	free(target);
	free(ws);
}

static void test_workdir_outside_workspace_is_refused(void **s)
{
	(void)s;
	char *ws = tu_mkdtemp();
	char link[4096];
	snprintf(link, sizeof(link), "%s/escape", ws);
	assert_int_equal(symlink("/etc", link), 0);
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	o.workspace = ws;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	char dotdot[4096];
	snprintf(dotdot, sizeof(dotdot), "%s/..", ws);
	o.workdir = dotdot;
	assert_int_equal(monkey_executor_open(&o, &ex, &err), -EPERM);
	assert_true(tu_contains(err.message, "outside the workspace"));
	o.workdir = link;
	assert_int_equal(monkey_executor_open(&o, &ex, &err), -EPERM);
	assert_true(tu_contains(err.message,
				"resolves to /etc, outside the workspace"));
	tu_rmrf(ws);
	free(ws);
}

static void test_command_workdir_escape_fails_with_125(void **s)
{
	(void)s;
	char *ws = tu_mkdtemp();
	char link[4096];
	snprintf(link, sizeof(link), "%s/up", ws);
	assert_int_equal(symlink("..", link), 0);
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	o.workspace = ws;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	const char *argv[] = {"x", NULL};
	const char *bad[] = {"../", "up", "up/tmp", "/etc"};
	for (size_t i = 0; i < 4; i++) {
		struct monkey_command cmd = {.argv = argv, .workdir = bad[i]};
		struct monkey_result res;
		assert_int_equal(monkey_executor_run(ex, &cmd, &res, &err), 0);
		assert_int_equal(res.exit_code, 125);
		assert_true(res.error[0] != '\0');
		assert_int_equal(res.out.total, 0);
		monkey_result_free(&res);
	}
	monkey_executor_close(ex);
	tu_rmrf(ws);
	free(ws);
}

static void test_not_found_from_backend_maps_to_127(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	const char *argv[] = {"fail-enoent", NULL};
	struct monkey_result res;
	free(run_capture(ex, argv, &res));
	assert_int_equal(res.exit_code, 127);
	assert_string_equal(res.error, "fail-enoent: not found (test)");
	monkey_result_free(&res);
	monkey_executor_close(ex);
}

static void test_bad_mount_is_an_error_naming_it(void **s)
{
	(void)s;
	const char *bad[] = {"nocolon", "/tmp:relative", "/tmp:/x:rx",
			     "/does/not/exist:/x"};
	for (size_t i = 0; i < 4; i++) {
		struct monkey_exec_options o;
		opts_init(&o, "reqdump");
		o.mounts = &bad[i];
		o.n_mounts = 1;
		struct monkey_executor *ex = NULL;
		struct monkey_error err = {0};
		assert_true(monkey_executor_open(&o, &ex, &err) < 0);
		assert_true(tu_contains(err.message, "--mount"));
	}
}

/* A relative --workdir is relative to the workspace, wherever monkey was
 * started. */
static void test_relative_workdir_is_relative_to_the_workspace(void **s)
{
	(void)s;
	char *ws = tu_mkdtemp();
	char sub[4096], real[4096], want[8300];
	snprintf(sub, sizeof(sub), "%s/sub", ws);
	assert_int_equal(mkdir(sub, 0755), 0);
	_cleanup_cwd_ char *cwd = getcwd(NULL, 0);
	assert_int_equal(chdir("/"), 0);
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	o.workspace = ws;
	o.workdir = "sub";
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	int r = monkey_executor_open(&o, &ex, &err);
	assert_int_equal(chdir(cwd), 0);
	if (r < 0)
		fail_msg("open: %s", err.message);
	const char *argv[] = {"x", NULL};
	struct monkey_result res;
	char *out = run_capture(ex, argv, &res);
	assert_non_null(realpath(ws, real));
	snprintf(want, sizeof(want), "workdir=%s/sub\n", real);
	assert_true(tu_contains(out, want));
	free(out);
	monkey_result_free(&res);
	monkey_executor_close(ex);
	tu_rmrf(ws);
	free(ws);
}

static int open_with_mounts(const char *ws, const char *const *mounts, size_t n,
			    struct monkey_error *err)
{
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	o.workspace = ws;
	o.mounts = mounts;
	o.n_mounts = n;
	struct monkey_executor *ex = NULL;
	int r = monkey_executor_open(&o, &ex, err);
	monkey_executor_close(ex);
	return r;
}

/* The workspace has the same path in a container: a mount inside it would
 * hide part of it; two mounts on one target are a mistake too.  Both are
 * refused before any backend sees them. */
static void test_mount_inside_workspace_or_twice_is_refused(void **s)
{
	(void)s;
	char *ws = tu_mkdtemp();
	char real[4096], inside[4200], spec[4300];
	assert_non_null(realpath(ws, real));
	snprintf(inside, sizeof(inside), "%s/build/", real);
	snprintf(spec, sizeof(spec), "/tmp:%s", inside);
	const char *one[] = {spec};
	struct monkey_error err = {0};
	assert_int_equal(open_with_mounts(ws, one, 1, &err), -EINVAL);
	assert_true(tu_contains(err.message, "inside the workspace"));
	snprintf(spec, sizeof(spec), "/tmp:%s", real);
	assert_int_equal(open_with_mounts(ws, one, 1, &err), -EINVAL);
	const char *twice[] = {"/tmp:/data", "/usr:/data/./:ro"};
	assert_int_equal(open_with_mounts(ws, twice, 2, &err), -EINVAL);
	assert_true(tu_contains(err.message, "already the target"));
	assert_true(tu_contains(err.message, "/tmp:/data"));
	tu_rmrf(ws);
	free(ws);
}

/* type=bind,src=,dst= takes a source whose name holds ':' (and ',' in
 * double quotes, as docker's --mount does). */
static void test_keyed_mount_takes_sources_with_colons(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp();
	char src[4096], spec[4300], real[4096], want[8300];
	snprintf(src, sizeof(src), "%s/a:b,c", dir);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_non_null(realpath(src, real));
	snprintf(spec, sizeof(spec), "type=bind,\"src=%s\",dst=/data,ro", src);
	const char *mounts[] = {spec};
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	o.mounts = mounts;
	o.n_mounts = 1;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	if (monkey_executor_open(&o, &ex, &err) < 0)
		fail_msg("open: %s", err.message);
	const char *argv[] = {"x", NULL};
	struct monkey_result res;
	char *out = run_capture(ex, argv, &res);
	snprintf(want, sizeof(want), "mount=%s:/data:ro\n", real);
	assert_true(tu_contains(out, want));
	free(out);
	monkey_result_free(&res);
	monkey_executor_close(ex);
	const char *bad[] = {"type=volume,src=/tmp,dst=/x", "src=/tmp",
			     "type=bind,src=/tmp,dst=/x,frob=1",
			     "src=/tmp,dst=/x,ro=maybe"};
	for (size_t i = 0; i < 4; i++) {
		assert_true(open_with_mounts(NULL, &bad[i], 1, &err) < 0);
		assert_true(tu_contains(err.message, bad[i]));
	}
	tu_rmrf(dir);
	free(dir);
}

/* --strict: an option the backend does not enforce stops monkey instead
 * of a warning, naming every such option. */
static void test_strict_refuses_unenforced_options(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	o.strict = true;
	o.read_only = true;
	o.pids = 10;
	o.memory_mb = 64;
	o.explicit_set =
	    MONKEY_OPT_READ_ONLY | MONKEY_OPT_PIDS | MONKEY_OPT_MEMORY;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), -EOPNOTSUPP);
	assert_null(ex);
	assert_true(tu_contains(err.message, "--strict"));
	assert_true(tu_contains(err.message, "--pids, --read-only"));
	/* reqdump enforces memory: not named. */
	assert_false(tu_contains(err.message, "--memory"));
	assert_string_equal(notices, "");
	/* Without --strict the same options only warn. */
	o.strict = false;
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	assert_true(tu_contains(notices, "--read-only is not enforced"));
	monkey_executor_close(ex);
	/* What the backend enforces passes under --strict. */
	o.strict = true;
	o.explicit_set = MONKEY_OPT_MEMORY;
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	monkey_executor_close(ex);
}

/* --strict never falls back: a missing backend is an error. */
static void test_strict_does_not_fall_back(void **s)
{
	(void)s;
	/* Not an image named: --strict is the reason. */
	unsetenv("MONKEY_DOCKER_IMAGE");
	struct monkey_exec_options o;
	opts_init(&o, "docker");
	o.backend_dir = "/nonexistent";
	setenv("MONKEY_BACKEND_PATH", spawn_dir, 1);
	o.strict = true;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	assert_true(monkey_executor_open(&o, &ex, &err) < 0);
	assert_null(ex);
	assert_true(tu_contains(err.message, "--strict was given"));
	assert_string_equal(notices, "");
}

static void test_empty_command_is_rejected(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	opts_init(&o, "reqdump");
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	assert_int_equal(monkey_executor_open(&o, &ex, &err), 0);
	const char *argv[] = {NULL};
	struct monkey_command cmd = {.argv = argv};
	struct monkey_result res;
	assert_int_equal(monkey_executor_run(ex, &cmd, &res, &err), -EINVAL);
	monkey_executor_close(ex);
}

/* Listing and describing backends hands them this process's instance id,
 * as running commands does: the docker backend labels what it creates with
 * it, and its sweep removes what belongs to an owner that is gone. */
static void test_sandbox_info_gives_the_backend_this_process_id(void **s)
{
	(void)s;
	struct monkey_backend_status st;
	struct monkey_error err = {0};
	assert_int_equal(monkey_sandbox_info_with(tu_modules_dir(), "reqdump",
						  "{\"whoami\":true}", &st,
						  &err),
			 0);
	char want[128];
	snprintf(want, sizeof(want), "instance %s", tu_instance_id());
	assert_true(st.available);
	assert_string_equal(st.reason, want);
	monkey_backend_status_free(&st, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_carries_resolved_options),
	    cmocka_unit_test(
		test_explicit_options_a_backend_cannot_enforce_are_reported),
	    cmocka_unit_test(test_defaults_are_applied_quietly),
	    cmocka_unit_test(
		test_unavailable_backend_falls_back_to_spawn_with_reason),
	    cmocka_unit_test(test_missing_docker_says_docker_not_available),
	    cmocka_unit_test(
		test_no_fallback_turns_unavailability_into_an_error),
	    cmocka_unit_test(
		test_probe_failure_other_than_absence_never_falls_back),
	    cmocka_unit_test(test_named_image_never_falls_back),
	    cmocka_unit_test(test_file_size_and_cpu_time_limits_are_named),
	    cmocka_unit_test(test_unknown_backend_is_an_error_not_a_fallback),
	    cmocka_unit_test(test_refused_backend_is_never_papered_over),
	    cmocka_unit_test(
		test_removing_a_workspace_leaves_link_targets_alone),
	    cmocka_unit_test(test_workdir_outside_workspace_is_refused),
	    cmocka_unit_test(test_command_workdir_escape_fails_with_125),
	    cmocka_unit_test(test_not_found_from_backend_maps_to_127),
	    cmocka_unit_test(test_bad_mount_is_an_error_naming_it),
	    cmocka_unit_test(
		test_relative_workdir_is_relative_to_the_workspace),
	    cmocka_unit_test(test_mount_inside_workspace_or_twice_is_refused),
	    cmocka_unit_test(test_keyed_mount_takes_sources_with_colons),
	    cmocka_unit_test(test_strict_refuses_unenforced_options),
	    cmocka_unit_test(test_strict_does_not_fall_back),
	    cmocka_unit_test(test_empty_command_is_rejected),
	    cmocka_unit_test(
		test_sandbox_info_gives_the_backend_this_process_id),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
