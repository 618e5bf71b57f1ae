/* The spawn backend, loaded directly: argv reaches the program literally,
 * PATH lookup, not-found and not-executable errors, exact exit status and
 * signal, separate and binary-safe output, stdin without deadlock, the
 * environment, the working directory and rlimits. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spawn_harness.h"

static struct sh_backend spawn;
static char tmpdir[PATH_MAX];

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *content, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* Runs argv with the default request; the caller frees r. */
static void run(struct sh_result *r, const char *const *argv)
{
	struct monkey_exec_request req;
	sh_request(&req, argv);
	memset(r, 0, sizeof(*r));
	sh_exec(&spawn, &req, r);
}

static void test_shell_metacharacters_reach_the_program_literally(void **s)
{
	(void)s;
	const char *args[] = {"; rm -rf /", "$(id)", "`id`", "&&",    "|", ">",
			      "a\nb",	    "*",     "'\"",  "$HOME", "\\"};
	const char *argv[2 + 11 + 1] = {sh_helper(), "args"};
	size_t expect_len = 0;
	char expect[256];
	for (size_t i = 0; i < 11; i++) {
		argv[2 + i] = args[i];
		memcpy(expect + expect_len, args[i], strlen(args[i]) + 1);
		expect_len += strlen(args[i]) + 1;
	}
	struct sh_result r;
	run(&r, argv);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.res.exit_code, 0);
	assert_int_equal(r.out.len, expect_len);
	assert_memory_equal(r.out.data, expect, expect_len);
	sh_result_free(&r);
}

static void test_path_lookup_uses_the_commands_path(void **s)
{
	(void)s;
	char tool[PATH_MAX];
	tmp_path(tool, sizeof(tool), "monkey-test-tool");
	write_file(tool, "#!/bin/sh\necho found me\n", 0755);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "PATH=/nonexistent::%s", tmpdir);
	const char *envp[] = {path, NULL};
	const char *argv[] = {"monkey-test-tool", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.envp = envp;
	req.workdir = "/";
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_string_equal(r.out.data, "found me\n");
	sh_result_free(&r);
	/* And not the host's PATH: "env" is in /usr/bin, which the host's
	 * PATH has and the command's does not. */
	const char *argv2[] = {"env", NULL};
	req.argv = argv2;
	memset(&r, 0, sizeof(r));
	assert_int_equal(sh_exec(&spawn, &req, &r), -ENOENT);
	sh_result_free(&r);
}

static void test_program_not_found_is_enoent_naming_it(void **s)
{
	(void)s;
	const char *argv[] = {"monkey-no-such-program", "arg", NULL};
	struct sh_result r;
	run(&r, argv);
	assert_int_equal(r.rc, -ENOENT);
	assert_non_null(strstr(r.err.message, "monkey-no-such-program"));
	assert_non_null(strstr(r.err.message, "not found"));
	assert_true(sh_no_children());
	sh_result_free(&r);
}

static void test_missing_absolute_path_is_enoent_naming_it(void **s)
{
	(void)s;
	const char *argv[] = {"/nonexistent/dir/prog", NULL};
	struct sh_result r;
	run(&r, argv);
	assert_int_equal(r.rc, -ENOENT);
	assert_non_null(strstr(r.err.message, "/nonexistent/dir/prog"));
	sh_result_free(&r);
}

static void test_missing_interpreter_is_enoent_naming_the_script(void **s)
{
	(void)s;
	char f[PATH_MAX];
	tmp_path(f, sizeof(f), "bad-interpreter");
	write_file(f, "#!/nonexistent/interpreter\n", 0755);
	const char *argv[] = {f, NULL};
	struct sh_result r;
	run(&r, argv);
	assert_int_equal(r.rc, -ENOENT);
	assert_non_null(strstr(r.err.message, f));
	assert_non_null(strstr(r.err.message, "interpreter"));
	sh_result_free(&r);
}

static void test_file_without_exec_permission_is_eacces_naming_it(void **s)
{
	(void)s;
	char f[PATH_MAX];
	tmp_path(f, sizeof(f), "not-executable");
	write_file(f, "#!/bin/sh\necho no\n", 0644);
	const char *argv[] = {f, NULL};
	struct sh_result r;
	run(&r, argv);
	/* root may execute files without x bits set for it only when some x
	 * bit is set; none is here. */
	assert_int_equal(r.rc, -EACCES);
	assert_non_null(strstr(r.err.message, f));
	assert_string_equal(r.out.data, "");
	sh_result_free(&r);
}

static void test_file_that_is_no_program_is_enoexec(void **s)
{
	(void)s;
	char f[PATH_MAX];
	tmp_path(f, sizeof(f), "garbage");
	/* No #! line: execvp would hand it to /bin/sh; we do not. */
	write_file(f, "echo this would run under a shell\n", 0755);
	const char *argv[] = {f, NULL};
	struct sh_result r;
	run(&r, argv);
	assert_int_equal(r.rc, -ENOEXEC);
	assert_non_null(strstr(r.err.message, f));
	assert_string_equal(r.out.data, "");
	sh_result_free(&r);
}

static void test_directory_is_not_executable(void **s)
{
	(void)s;
	const char *argv[] = {tmpdir, NULL};
	struct sh_result r;
	run(&r, argv);
	assert_int_equal(r.rc, -EACCES);
	sh_result_free(&r);
}

static void test_exit_code_is_reported_exactly(void **s)
{
	(void)s;
	const char *codes[] = {"0", "1", "42", "126", "127", "255"};
	for (size_t i = 0; i < 6; i++) {
		const char *argv[] = {sh_helper(), "exit", codes[i], NULL};
		struct sh_result r;
		run(&r, argv);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.res.exit_code, atoi(codes[i]));
		assert_int_equal(r.res.signal, 0);
		sh_result_free(&r);
	}
}

static void test_terminating_signal_is_reported_exactly(void **s)
{
	(void)s;
	const int sigs[] = {SIGSEGV, SIGKILL, SIGABRT, SIGUSR1, SIGPIPE};
	for (size_t i = 0; i < 5; i++) {
		char num[16];
		snprintf(num, sizeof(num), "%d", sigs[i]);
		const char *argv[] = {sh_helper(), "raise", num, NULL};
		struct sh_result r;
		run(&r, argv);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.res.signal, sigs[i]);
		assert_int_equal(r.res.exit_code, -1);
		assert_int_equal(r.res.timed_out, 0);
		sh_result_free(&r);
	}
}

static void test_stdout_and_stderr_arrive_separately(void **s)
{
	(void)s;
	const char *argv[] = {"/bin/sh", "-c",
			      "echo out; echo err >&2; echo out2", NULL};
	struct sh_result r;
	run(&r, argv);
	assert_string_equal(r.out.data, "out\nout2\n");
	assert_string_equal(r.err_stream.data, "err\n");
	sh_result_free(&r);
}

static void test_binary_and_invalid_utf8_arrive_unchanged(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "binary", NULL};
	struct sh_result r;
	run(&r, argv);
	unsigned char expect[262];
	for (int i = 0; i < 256; i++)
		expect[i] = (unsigned char)i;
	memcpy(expect + 256, "\xc3\x28\xff\xfe\xed\xa0", 6);
	assert_int_equal(r.out.len, sizeof(expect));
	assert_memory_equal(r.out.data, expect, sizeof(expect));
	assert_int_equal(r.err_stream.len, sizeof(expect));
	assert_memory_equal(r.err_stream.data, expect, sizeof(expect));
	sh_result_free(&r);
}

static void test_large_output_is_streamed_in_bounded_chunks(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "spew", "67108864", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	struct sh_result r = {0};
	r.out.limit = 4096; /* the test keeps little; the backend must too */
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_int_equal(r.res.exit_code, 0);
	assert_int_equal(r.out.total, 67108864);
	/* Passed on as read, never gathered. */
	assert_true(r.max_chunk <= 64 * 1024);
	sh_result_free(&r);
}

static void test_stdin_is_dev_null_by_default(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "write-then-read", "0", NULL};
	struct sh_result r;
	run(&r, argv);
	assert_string_equal(r.err_stream.data, "read 0 sum 0\n");
	sh_result_free(&r);
}

static void test_stdin_larger_than_pipe_with_output_first_no_deadlock(void **s)
{
	(void)s;
	size_t n = 4 << 20;
	unsigned char *data = malloc(n);
	unsigned long long sum = 0;
	for (size_t i = 0; i < n; i++) {
		data[i] = (unsigned char)(i * 7);
		sum += data[i];
	}
	/* 1 MiB of output before the command reads a byte of its 4 MiB of
	 * input: both pipes fill unless the host serves them together. */
	const char *argv[] = {sh_helper(), "write-then-read", "1048576", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.stdin_data = data;
	req.stdin_len = n;
	req.has_stdin = 1;
	req.timeout_ms = 20000;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_int_equal(r.res.timed_out, 0);
	assert_int_equal(r.out.total, 1048576);
	char expect[128];
	snprintf(expect, sizeof(expect), "read %zu sum %llu\n", n, sum);
	assert_string_equal(r.err_stream.data, expect);
	sh_result_free(&r);
	free(data);
}

static void test_empty_stdin_is_immediate_eof(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "write-then-read", "0", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.has_stdin = 1;
	req.stdin_data = "";
	req.stdin_len = 0;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_string_equal(r.err_stream.data, "read 0 sum 0\n");
	sh_result_free(&r);
}

static void test_environment_is_exactly_envp(void **s)
{
	(void)s;
	setenv("ANTHROPIC_API_KEY", "sk-ant-secret", 1);
	setenv("GITHUB_TOKEN", "ghp_secret", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "aws-secret", 1);
	const char *envp[] = {"PATH=/usr/bin:/bin", "FOO=bar baz",
			      "EMPTY=", NULL};
	const char *argv[] = {"env", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.envp = envp;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_string_equal(r.out.data,
			    "PATH=/usr/bin:/bin\nFOO=bar baz\nEMPTY=\n");
	sh_result_free(&r);
	unsetenv("ANTHROPIC_API_KEY");
	unsetenv("GITHUB_TOKEN");
	unsetenv("AWS_SECRET_ACCESS_KEY");
}

static void test_runs_in_the_requested_workdir(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "pwd", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.workspace = tmpdir;
	req.workdir = tmpdir;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	char expect[PATH_MAX + 2];
	snprintf(expect, sizeof(expect), "%s\n", tmpdir);
	assert_string_equal(r.out.data, expect);
	sh_result_free(&r);
}

static void test_workdir_outside_workspace_is_refused(void **s)
{
	(void)s;
	char ws[PATH_MAX];
	tmp_path(ws, sizeof(ws), "ws");
	mkdir(ws, 0755);
	const char *argv[] = {sh_helper(), "pwd", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.workspace = ws;
	req.workdir = tmpdir; /* the workspace's parent */
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), -EPERM);
	assert_non_null(strstr(r.err.message, "workspace"));
	assert_string_equal(r.out.data, "");
	sh_result_free(&r);
}

static void test_workdir_symlink_leaving_workspace_is_refused(void **s)
{
	(void)s;
	char ws[PATH_MAX], link[PATH_MAX + 16];
	tmp_path(ws, sizeof(ws), "ws2");
	mkdir(ws, 0755);
	snprintf(link, sizeof(link), "%s/escape", ws);
	assert_int_equal(symlink("/etc", link), 0);
	const char *argv[] = {sh_helper(), "pwd", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.workspace = ws;
	req.workdir = link;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), -EPERM);
	assert_string_equal(r.out.data, "");
	sh_result_free(&r);
	unlink(link);
}

/* "soft hard" of one limit as /proc/self/limits of cat (a program built
 * without sanitizers, which would need a large address space) shows it. */
static void limit_of(const char *limits, const char *name, char *out,
		     size_t len)
{
	const char *line = strstr(limits, name);
	assert_non_null(line);
	char soft[32], hard[32];
	assert_int_equal(sscanf(line + strlen(name), "%31s %31s", soft, hard),
			 2);
	snprintf(out, len, "%s %s", soft, hard);
}

static void host_limit(int resource, char *out, size_t len)
{
	struct rlimit rl;
	getrlimit(resource, &rl);
	char soft[32], hard[32];
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(soft, sizeof(soft), "unlimited");
	else
		snprintf(soft, sizeof(soft), "%llu",
			 (unsigned long long)rl.rlim_cur);
	if (rl.rlim_max == RLIM_INFINITY)
		snprintf(hard, sizeof(hard), "unlimited");
	else
		snprintf(hard, sizeof(hard), "%llu",
			 (unsigned long long)rl.rlim_max);
	snprintf(out, len, "%s %s", soft, hard);
}

static const struct {
	const char *name;
	int resource;
} limits[] = {
    {"Max address space", RLIMIT_AS},
    {"Max cpu time", RLIMIT_CPU},
    {"Max file size", RLIMIT_FSIZE},
    {"Max open files", RLIMIT_NOFILE},
};

static void test_requested_rlimits_are_applied(void **s)
{
	(void)s;
	const char *argv[] = {"cat", "/proc/self/limits", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.memory_bytes = 512ull << 20;
	req.cpu_time_s = 30;
	req.file_size_bytes = 1 << 20;
	req.open_files = 64;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	const char *expect[] = {"536870912 536870912", "30 31",
				"1048576 1048576", "64 64"};
	for (size_t i = 0; i < 4; i++) {
		char got[80];
		limit_of(r.out.data, limits[i].name, got, sizeof(got));
		assert_string_equal(got, expect[i]);
	}
	sh_result_free(&r);
}

static void test_no_rlimits_unless_requested(void **s)
{
	(void)s;
	const char *argv[] = {"cat", "/proc/self/limits", NULL};
	struct sh_result r;
	run(&r, argv);
	for (size_t i = 0; i < 4; i++) {
		char got[80], want[80];
		limit_of(r.out.data, limits[i].name, got, sizeof(got));
		host_limit(limits[i].resource, want, sizeof(want));
		assert_string_equal(got, want);
	}
	sh_result_free(&r);
}

static void test_file_size_limit_stops_the_writer(void **s)
{
	(void)s;
	char f[PATH_MAX];
	tmp_path(f, sizeof(f), "big");
	const char *argv[] = {sh_helper(), "write-file", f, "100000", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.file_size_bytes = 4096;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_int_equal(r.res.signal, SIGXFSZ);
	struct stat st;
	assert_int_equal(stat(f, &st), 0);
	assert_true(st.st_size <= 4096);
	unlink(f);
	sh_result_free(&r);
}

static void test_cpu_time_limit_stops_a_busy_loop(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "burn", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.cpu_time_s = 1;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_int_equal(r.res.timed_out, 0);
	assert_int_equal(r.res.signal, SIGXCPU);
	assert_true(r.ms < 10000);
	sh_result_free(&r);
}

static void test_memory_limit_makes_a_large_allocation_fail(void **s)
{
	(void)s;
	/* dd allocates its whole block at once. */
	const char *argv[] = {"dd",	 "if=/dev/zero", "of=/dev/null",
			      "bs=256M", "count=1",	 NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.memory_bytes = 64ull << 20;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_int_equal(r.res.exit_code, 1);
	assert_non_null(strstr(r.err_stream.data, "memory exhausted"));
	sh_result_free(&r);
	/* The same allocation without the limit succeeds. */
	req.memory_bytes = 0;
	memset(&r, 0, sizeof(r));
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	assert_int_equal(r.res.exit_code, 0);
	sh_result_free(&r);
}

static void test_open_files_limit_caps_descriptors(void **s)
{
	(void)s;
	/* perl (essential on Debian), not the helper: a sanitizer runtime
	 * in the helper would want descriptors of its own.  Opens until it
	 * fails; prints how many it got and why it stopped. */
	const char *argv[] = {
	    "perl", "-e",
	    "my @f; while (open(my $fh, '<', '/dev/null')) { push @f, $fh }"
	    " print scalar(@f), ' ', $!",
	    NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	req.open_files = 20;
	req.timeout_ms = 10000;
	struct sh_result r = {0};
	assert_int_equal(sh_exec(&spawn, &req, &r), 0);
	int n = -1;
	assert_int_equal(sscanf(r.out.data, "%d", &n), 1);
	assert_true(n > 0 && n <= 20 - 3);
	assert_non_null(strstr(r.out.data, "Too many open files"));
	sh_result_free(&r);
}

static int setup(void **s)
{
	(void)s;
	sh_load(&spawn, "spawn");
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/monkey-spawn-XXXXXX",
		 t ? t : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	/* The workspace check compares resolved paths. */
	char *real = realpath(tmpdir, NULL);
	snprintf(tmpdir, sizeof(tmpdir), "%s", real);
	free(real);
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	sh_unload(&spawn);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_shell_metacharacters_reach_the_program_literally),
	    cmocka_unit_test(test_path_lookup_uses_the_commands_path),
	    cmocka_unit_test(test_program_not_found_is_enoent_naming_it),
	    cmocka_unit_test(test_missing_absolute_path_is_enoent_naming_it),
	    cmocka_unit_test(
		test_missing_interpreter_is_enoent_naming_the_script),
	    cmocka_unit_test(
		test_file_without_exec_permission_is_eacces_naming_it),
	    cmocka_unit_test(test_file_that_is_no_program_is_enoexec),
	    cmocka_unit_test(test_directory_is_not_executable),
	    cmocka_unit_test(test_exit_code_is_reported_exactly),
	    cmocka_unit_test(test_terminating_signal_is_reported_exactly),
	    cmocka_unit_test(test_stdout_and_stderr_arrive_separately),
	    cmocka_unit_test(test_binary_and_invalid_utf8_arrive_unchanged),
	    cmocka_unit_test(test_large_output_is_streamed_in_bounded_chunks),
	    cmocka_unit_test(test_stdin_is_dev_null_by_default),
	    cmocka_unit_test(
		test_stdin_larger_than_pipe_with_output_first_no_deadlock),
	    cmocka_unit_test(test_empty_stdin_is_immediate_eof),
	    cmocka_unit_test(test_environment_is_exactly_envp),
	    cmocka_unit_test(test_runs_in_the_requested_workdir),
	    cmocka_unit_test(test_workdir_outside_workspace_is_refused),
	    cmocka_unit_test(test_workdir_symlink_leaving_workspace_is_refused),
	    cmocka_unit_test(test_requested_rlimits_are_applied),
	    cmocka_unit_test(test_no_rlimits_unless_requested),
	    cmocka_unit_test(test_file_size_limit_stops_the_writer),
	    cmocka_unit_test(test_cpu_time_limit_stops_a_busy_loop),
	    cmocka_unit_test(test_memory_limit_makes_a_large_allocation_fail),
	    cmocka_unit_test(test_open_files_limit_caps_descriptors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
