/* The agent's tools on a real workspace: each file tool's success and
 * error paths, confinement with symlinks, and shell_execute through the
 * sandbox executor (spawn backend). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_agent_harness.h"
#include "tools.h"

struct fx {
	char *ws;
	char *root; /* resolved */
	char *content;
	bool is_error;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->ws = tu_mkdtemp();
	f->root = realpath(f->ws, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tu_rmrf(f->ws);
	free(f->ws);
	free(f->root);
	free(f->content);
	free(f);
	return 0;
}

static const char *p(struct fx *f, const char *rel)
{
	static char buf[4][4200];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->root, rel);
	return buf[i];
}

/* Run tool with JSON arguments; the result lands in f->content. */
static void call(struct fx *f, const char *tool, const char *json)
{
	struct tool_args a;
	struct monkey_error err = {0};
	free(f->content);
	f->content = NULL;
	assert_int_equal(tools_parse(tool, json, &a, &err), 0);
	assert_int_equal(
	    tools_fs_run(f->root, &a, 10240, &f->content, &f->is_error), 0);
	tools_args_free(&a);
}

static void expect(struct fx *f, bool is_error, const char *fragment)
{
	if (f->is_error != is_error || !strstr(f->content, fragment))
		fail_msg("is_error %d, content: %s (wanted '%s')", f->is_error,
			 f->content, fragment);
}

static void test_read_file_returns_content(void **state)
{
	struct fx *f = *state;
	tu_write_file(p(f, "a.txt"), "one\ntwo\nthree\nfour\n");
	call(f, "read_file", "{\"path\": \"a.txt\"}");
	expect(f, false, "one\ntwo\nthree\nfour\n");
	call(f, "read_file",
	     "{\"path\": \"a.txt\", \"offset\": 2, \"limit\": 2}");
	assert_string_equal(f->content,
			    "two\nthree\n\n[showing lines 2-3 of 'a.txt' (19 "
			    "bytes); read on with offset=4]");
	call(f, "read_file", "{\"path\": \"./sub/../a.txt\"}");
	expect(f, true, "does not exist"); /* sub does not exist */
	mkdir(p(f, "sub"), 0755);
	call(f, "read_file", "{\"path\": \"./sub/../a.txt\"}");
	expect(f, false, "three");
	char abs[4300];
	snprintf(abs, sizeof(abs), "{\"path\": \"%s\"}", p(f, "a.txt"));
	call(f, "read_file", abs);
	expect(f, false, "four");
}

static void test_read_file_errors(void **state)
{
	struct fx *f = *state;
	call(f, "read_file", "{\"path\": \"missing.txt\"}");
	expect(f, true, "'missing.txt' does not exist");
	mkdir(p(f, "dir"), 0755);
	call(f, "read_file", "{\"path\": \"dir\"}");
	expect(f, true, "is a directory; use list_files");
	FILE *b = fopen(p(f, "blob.bin"), "w");
	fwrite("\x7f"
	       "ELF\0\0\1",
	       1, 7, b);
	fclose(b);
	call(f, "read_file", "{\"path\": \"blob.bin\"}");
	expect(f, true, "is a binary file (7 bytes)");
	tu_write_file(p(f, "short.txt"), "x\n");
	call(f, "read_file", "{\"path\": \"short.txt\", \"offset\": 5}");
	expect(f, true, "has only 1 lines; offset 5 is past its end");
}

static void test_read_file_shortens_long_files(void **state)
{
	struct fx *f = *state;
	FILE *w = fopen(p(f, "long.txt"), "w");
	for (int i = 1; i <= 20000; i++)
		fprintf(w, "line %d\n", i);
	fclose(w);
	call(f, "read_file", "{\"path\": \"long.txt\"}");
	expect(f, false, "line 1\n");
	expect(f, false, "read on with offset=");
	assert_true(strlen(f->content) < 4 * 10240 + 200);
}

static void test_read_file_cuts_a_huge_line(void **state)
{
	struct fx *f = *state;
	FILE *w = fopen(p(f, "one.min.js"), "w");
	for (int i = 0; i < 200000; i++)
		fputs("var x=1;", w);
	fclose(w);
	call(f, "read_file", "{\"path\": \"one.min.js\"}");
	expect(f, false, "[line 1 is cut here: 'one.min.js' has 1600000 bytes");
	assert_true(strlen(f->content) < 4 * 10240 + 300);
}

static void test_write_file_creates_and_replaces(void **state)
{
	struct fx *f = *state;
	call(f, "write_file",
	     "{\"path\": \"deep/er/new.txt\", \"content\": \"hello\\n\"}");
	expect(f, false, "created 'deep/er/new.txt' (6 bytes)");
	char *s = ta_read(p(f, "deep/er/new.txt"));
	assert_string_equal(s, "hello\n");
	free(s);
	chmod(p(f, "deep/er/new.txt"), 0750);
	call(f, "write_file",
	     "{\"path\": \"deep/er/new.txt\", \"content\": \"a\\u0000b\"}");
	expect(f, false, "replaced 'deep/er/new.txt' (3 bytes)");
	struct stat st;
	assert_int_equal(stat(p(f, "deep/er/new.txt"), &st), 0);
	assert_int_equal(st.st_size, 3); /* the NUL byte kept */
	assert_int_equal(st.st_mode & 0777, 0750);
}

static void test_write_file_errors(void **state)
{
	struct fx *f = *state;
	mkdir(p(f, "dir"), 0755);
	call(f, "write_file", "{\"path\": \"dir\", \"content\": \"x\"}");
	expect(f, true, "cannot write 'dir'");
	tu_write_file(p(f, "file"), "x");
	call(f, "write_file", "{\"path\": \"file/below\", \"content\": \"x\"}");
	expect(f, true, "file/below");
	call(f, "write_file",
	     "{\"path\": \"new/../../x\", \"content\": \"x\"}");
	expect(f, true, "'..' below a directory that does not exist");
	/* A FIFO is refused at once instead of blocking for a reader. */
	assert_int_equal(mkfifo(p(f, "pipe"), 0644), 0);
	call(f, "write_file", "{\"path\": \"pipe\", \"content\": \"x\"}");
	expect(f, true, "cannot write 'pipe': not a regular file");
	call(f, "read_file", "{\"path\": \"pipe\"}");
	expect(f, true, "is not a regular file");
}

/* Entries of dir whose name contains frag (temporaries left behind). */
static int count_named(const char *dir, const char *frag)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strstr(e->d_name, frag) != NULL;
	closedir(d);
	return n;
}

/* Run tool in a child whose files may not grow past limit bytes (SIGXFSZ
 * ignored, so writes fail with EFBIG).  Returns the child's verdict: 0
 * when the tool reported an error naming the limit. */
static int call_with_fsize_limit(struct fx *f, const char *tool,
				 const char *json, rlim_t limit)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = {limit, limit};
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(3);
		struct tool_args a;
		struct monkey_error err = {0};
		char *content = NULL;
		bool is_error = false;
		if (tools_parse(tool, json, &a, &err) < 0 ||
		    tools_fs_run(f->root, &a, 10240, &content, &is_error) < 0)
			_exit(4);
		printf("%s: %s\n", tool, content);
		fflush(stdout);
		_exit(is_error && strstr(content, strerror(EFBIG)) &&
			      strstr(content, "unchanged")
			  ? 0
			  : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *big_json(const char *head, size_t n, const char *tail)
{
	char *s = malloc(strlen(head) + n + strlen(tail) + 1);
	strcpy(s, head);
	memset(s + strlen(head), 'x', n);
	strcpy(s + strlen(head) + n, tail);
	return s;
}

static void test_write_file_leaves_the_original_on_a_failed_write(void **state)
{
	struct fx *f = *state;
	tu_write_file(p(f, "keep.txt"), "original\n");
	chmod(p(f, "keep.txt"), 0640);
	char *json =
	    big_json("{\"path\": \"keep.txt\", \"content\": \"", 65536, "\"}");
	int verdict = call_with_fsize_limit(f, "write_file", json, 4096);
	free(json);
	char *s = ta_read(p(f, "keep.txt"));
	assert_string_equal(s, "original\n");
	free(s);
	struct stat st;
	assert_int_equal(stat(p(f, "keep.txt"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_named(f->root, ".monkey-"), 0);
	assert_int_equal(verdict, 0); /* and the model was told */
}

static void test_edit_file_leaves_the_original_on_a_failed_write(void **state)
{
	struct fx *f = *state;
	tu_write_file(p(f, "m.c"), "int a;\nint b;\n");
	char *json = big_json("{\"path\": \"m.c\", \"old_string\": \"int b;\", "
			      "\"new_string\": \"",
			      65536, "\"}");
	int verdict = call_with_fsize_limit(f, "edit_file", json, 4096);
	free(json);
	char *s = ta_read(p(f, "m.c"));
	assert_string_equal(s, "int a;\nint b;\n");
	free(s);
	assert_int_equal(count_named(f->root, ".monkey-"), 0);
	assert_int_equal(verdict, 0);
}

static void
test_write_file_replaces_atomically_with_new_files_umasked(void **state)
{
	struct fx *f = *state;
	mode_t old = umask(027);
	call(f, "write_file", "{\"path\": \"n.txt\", \"content\": \"1\"}");
	umask(old);
	expect(f, false, "created 'n.txt'");
	struct stat st;
	assert_int_equal(stat(p(f, "n.txt"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* A replacement is a new inode renamed into place: a reader holding
	 * the old file never sees it half written. */
	ino_t before = st.st_ino;
	call(f, "write_file", "{\"path\": \"n.txt\", \"content\": \"22\"}");
	expect(f, false, "replaced 'n.txt' (2 bytes)");
	assert_int_equal(stat(p(f, "n.txt"), &st), 0);
	assert_true(st.st_ino != before);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_named(f->root, ".monkey-"), 0);
}

static void test_edit_file_replaces_exactly_one_match(void **state)
{
	struct fx *f = *state;
	tu_write_file(p(f, "m.c"), "int a;\nint b = 1;\nint c;\n");
	call(f, "edit_file",
	     "{\"path\": \"m.c\", \"old_string\": \"b = 1\", \"new_string\": "
	     "\"b = 2\"}");
	expect(f, false, "edited 'm.c': replaced 1 occurrence at line 2");
	char *s = ta_read(p(f, "m.c"));
	assert_string_equal(s, "int a;\nint b = 2;\nint c;\n");
	free(s);
}

static void test_edit_file_says_how_many_matched(void **state)
{
	struct fx *f = *state;
	tu_write_file(p(f, "m.c"), "int a;\nint a;\n");
	call(f, "edit_file",
	     "{\"path\": \"m.c\", \"old_string\": \"int a;\", \"new_string\": "
	     "\"x\"}");
	expect(f, true, "old_string matches 2 times in 'm.c'");
	call(f, "edit_file",
	     "{\"path\": \"m.c\", \"old_string\": \"float\", \"new_string\": "
	     "\"x\"}");
	expect(f, true, "was not found in 'm.c' (0 matches)");
	call(f, "edit_file",
	     "{\"path\": \"nope.c\", \"old_string\": \"a\", \"new_string\": "
	     "\"x\"}");
	expect(f, true, "'nope.c' does not exist");
	char *s = ta_read(p(f, "m.c"));
	assert_string_equal(s, "int a;\nint a;\n"); /* untouched */
	free(s);
}

static void test_list_files_lists_sorted_with_kinds(void **state)
{
	struct fx *f = *state;
	tu_write_file(p(f, "b.txt"), "");
	tu_write_file(p(f, "a.txt"), "");
	mkdir(p(f, "src"), 0755);
	tu_write_file(p(f, "src/main.c"), "");
	mkdir(p(f, ".git"), 0755);
	tu_write_file(p(f, ".git/HEAD"), "");
	assert_int_equal(symlink("a.txt", p(f, "ln")), 0);
	call(f, "list_files", "{}");
	assert_string_equal(f->content,
			    ".git/\na.txt\nb.txt\nln -> a.txt\nsrc/\n");
	call(f, "list_files", "{\"recursive\": true}");
	assert_string_equal(f->content, ".git/\na.txt\nb.txt\nln -> a.txt\n"
					"src/\nsrc/main.c\n");
	call(f, "list_files", "{\"path\": \"src\"}");
	assert_string_equal(f->content, "main.c\n");
}

static void test_list_files_errors(void **state)
{
	struct fx *f = *state;
	tu_write_file(p(f, "a.txt"), "");
	call(f, "list_files", "{\"path\": \"a.txt\"}");
	expect(f, true, "is not a directory");
	call(f, "list_files", "{\"path\": \"nowhere\"}");
	expect(f, true, "does not exist");
	mkdir(p(f, "empty"), 0755);
	call(f, "list_files", "{\"path\": \"empty\"}");
	expect(f, false, "(empty directory)");
}

static void test_symlinks_inside_the_workspace_are_followed(void **state)
{
	struct fx *f = *state;
	mkdir(p(f, "real"), 0755);
	tu_write_file(p(f, "real/x.txt"), "inside\n");
	assert_int_equal(symlink("real", p(f, "alias")), 0);
	call(f, "read_file", "{\"path\": \"alias/x.txt\"}");
	expect(f, false, "inside");
	call(f, "write_file",
	     "{\"path\": \"alias/y.txt\", \"content\": \"y\"}");
	expect(f, false, "created 'real/y.txt'");
}

static void test_paths_resolving_outside_are_refused(void **state)
{
	struct fx *f = *state;
	char *out = tu_mkdtemp();
	char target[4200];
	snprintf(target, sizeof(target), "%s/t.txt", out);
	tu_write_file(target, "outside\n");
	assert_int_equal(symlink(out, p(f, "door")), 0);
	call(f, "read_file", "{\"path\": \"door/t.txt\"}");
	expect(f, true, "outside the workspace");
	call(f, "write_file", "{\"path\": \"door/new/x\", \"content\": \"x\"}");
	expect(f, true, "outside the workspace");
	call(f, "read_file", "{\"path\": \"/etc/hostname\"}");
	expect(f, true, "outside the workspace");
	call(f, "list_files", "{\"path\": \"../..\"}");
	expect(f, true, "outside the workspace");
	/* A missing directory below the escape is not created either. */
	char made[4300];
	snprintf(made, sizeof(made), "%s/new", out);
	assert_int_equal(access(made, F_OK), -1);
	tu_rmrf(out);
	free(out);
}

/* ------------------------------------------------------ shell_execute */

struct sh {
	struct monkey_executor *ex;
	struct tools_shell_outcome o;
	char *text;
};

static void shell(struct fx *f, struct sh *s, int64_t cap, const char *json)
{
	struct tool_args a;
	struct monkey_error err = {0};
	assert_int_equal(tools_parse("shell_execute", json, &a, &err), 0);
	struct tools_shell_ctx c = {
	    .ex = s->ex,
	    .root = f->root,
	    .timeout_cap_ms = cap,
	};
	assert_int_equal(tools_shell_run(&c, &a, &s->o), 0);
	s->text = tools_shell_format(&s->o, 2048);
	assert_non_null(s->text);
	tools_args_free(&a);
}

static void sh_done(struct sh *s)
{
	tools_shell_outcome_free(&s->o);
	free(s->text);
	s->text = NULL;
}

static void open_executor(struct fx *f, struct sh *s)
{
	ta_backend_path();
	struct monkey_exec_options eo;
	monkey_exec_options_init(&eo);
	eo.workspace = f->ws;
	struct monkey_error err = {0};
	if (monkey_executor_open(&eo, &s->ex, &err) < 0)
		fail_msg("executor: %s", err.message);
}

static void has(const char *text, const char *fragment)
{
	if (!strstr(text, fragment))
		fail_msg("'%s' lacks '%s'", text, fragment);
}

static void test_shell_reports_status_and_output(void **state)
{
	struct fx *f = *state;
	struct sh s = {0};
	open_executor(f, &s);
	shell(f, &s, 0,
	      "{\"command\": [\"sh\", \"-c\", \"echo out; echo err >&2; "
	      "exit 4\"]}");
	assert_true(s.o.ran);
	assert_null(s.o.error);
	has(s.text, "exit_code: 4\nsignal: none\ntimed_out: false\n");
	has(s.text, "oom_killed: ");
	has(s.text, "stdout (4 bytes):\nout\nstderr (4 bytes):\nerr\n");
	assert_string_equal(s.o.workdir_rel, ".");
	/* sha256("out\n") */
	assert_string_equal(s.o.stdout_sha256,
			    "54034ac5c6e9ea95734ec2b729fd6d62abf64af34a9f9ce5"
			    "d466cb788191a73d");
	sh_done(&s);
	monkey_executor_close(s.ex);
}

static void test_shell_missing_program_is_an_error_result(void **state)
{
	struct fx *f = *state;
	struct sh s = {0};
	open_executor(f, &s);
	shell(f, &s, 0, "{\"command\": [\"no-such-program-xyz\"]}");
	has(s.text, "exit_code: 127");
	has(s.text, "error: ");
	assert_true(s.o.ran);
	assert_true(s.o.res.error[0] != '\0');
	sh_done(&s);
	monkey_executor_close(s.ex);
}

static void test_shell_timeout_kills_and_says_so(void **state)
{
	struct fx *f = *state;
	struct sh s = {0};
	open_executor(f, &s);
	shell(f, &s, 0,
	      "{\"command\": [\"sleep\", \"10\"], \"timeout_ms\": 200}");
	has(s.text, "timed_out: true (killed after 200 ms)");
	assert_true(s.o.res.duration_ms < 5000);
	sh_done(&s);
	monkey_executor_close(s.ex);
}

static void test_shell_model_cannot_raise_the_users_timeout(void **state)
{
	struct fx *f = *state;
	struct sh s = {0};
	open_executor(f, &s);
	shell(f, &s, 300,
	      "{\"command\": [\"sleep\", \"10\"], \"timeout_ms\": 100000}");
	assert_int_equal(s.o.timeout_ms, 300);
	assert_true(s.o.res.timed_out);
	sh_done(&s);
	monkey_executor_close(s.ex);
}

static void test_shell_stdin_and_workdir(void **state)
{
	struct fx *f = *state;
	struct sh s = {0};
	open_executor(f, &s);
	mkdir(p(f, "sub"), 0755);
	shell(f, &s, 0,
	      "{\"command\": [\"sh\", \"-c\", \"pwd; cat\"], \"workdir\": "
	      "\"sub\", \"stdin\": \"fed in\"}");
	has(s.text, "/sub\nfed in");
	assert_string_equal(s.o.workdir_rel, "sub");
	sh_done(&s);
	shell(f, &s, 0, "{\"command\": [\"pwd\"], \"workdir\": \"../..\"}");
	assert_false(s.o.ran);
	has(s.text, "outside the workspace");
	sh_done(&s);
	monkey_executor_close(s.ex);
}

static void test_shell_long_output_is_shortened_head_and_tail(void **state)
{
	struct fx *f = *state;
	struct sh s = {0};
	open_executor(f, &s);
	shell(f, &s, 0,
	      "{\"command\": [\"sh\", \"-c\", \"echo FIRST; seq 1 20000; echo "
	      "LAST; echo tiny >&2\"]}");
	has(s.text, "FIRST");
	has(s.text, "LAST");
	has(s.text, "bytes omitted ...]");
	/* stderr is short: it keeps all of it, stdout gets the rest. */
	has(s.text, "stderr (5 bytes):\ntiny\n");
	assert_true(strlen(s.text) < 2048 + 400);
	sh_done(&s);
	monkey_executor_close(s.ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_read_file_returns_content),
	    T(test_read_file_errors),
	    T(test_read_file_shortens_long_files),
	    T(test_read_file_cuts_a_huge_line),
	    T(test_write_file_creates_and_replaces),
	    T(test_write_file_errors),
	    T(test_write_file_leaves_the_original_on_a_failed_write),
	    T(test_edit_file_leaves_the_original_on_a_failed_write),
	    T(test_write_file_replaces_atomically_with_new_files_umasked),
	    T(test_edit_file_replaces_exactly_one_match),
	    T(test_edit_file_says_how_many_matched),
	    T(test_list_files_lists_sorted_with_kinds),
	    T(test_list_files_errors),
	    T(test_symlinks_inside_the_workspace_are_followed),
	    T(test_paths_resolving_outside_are_refused),
	    T(test_shell_reports_status_and_output),
	    T(test_shell_missing_program_is_an_error_result),
	    T(test_shell_timeout_kills_and_says_so),
	    T(test_shell_model_cannot_raise_the_users_timeout),
	    T(test_shell_stdin_and_workdir),
	    T(test_shell_long_output_is_shortened_head_and_tail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
