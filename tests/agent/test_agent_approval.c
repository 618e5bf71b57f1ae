/* --require-approval: commands are shown quoted, file changes as a short
 * diff, and asked about on the terminal (a pseudo-terminal here); y runs,
 * n denies with the reason going back to the model, a approves the rest of
 * the session; without a terminal everything is denied unless --yes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_agent_harness.h"

struct fx {
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	char *tty_out;
	int tty_status;
	json_object *tr;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	ta_ws_new(&f->ws);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	ta_server_stop(&f->srv);
	tu_run_free(&f->run);
	free(f->tty_out);
	json_object_put(f->tr);
	ta_ws_free(&f->ws);
	free(f);
	return 0;
}

/* Run monkey agent --require-approval on a pseudo-terminal that has
 * answers typed ahead; collect everything it printed. */
static void run_on_tty(struct fx *f, const char *script, const char *answers)
{
	ta_server_start(&f->srv, script);
	ta_backend_path();
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	char *name = ptsname(m);
	assert_non_null(name);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setsid();
		int s = open(name, O_RDWR); /* becomes the controlling tty */
		if (s < 0)
			_exit(126);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		close(m);
		setenv("ANTHROPIC_API_KEY", TA_KEY, 1);
		setenv("ANTHROPIC_BASE_URL", f->srv.url, 1);
		execl(tu_monkey(), "monkey", "agent", "--task", "mark it",
		      "--require-approval", "--workspace", f->ws.dir,
		      "--transcript", f->ws.transcript, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(write(m, answers, strlen(answers)),
			 (ssize_t)strlen(answers));
	size_t len = 0;
	f->tty_out = calloc(1, 1);
	for (;;) {
		char buf[4096];
		ssize_t n = read(m, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EIO once the child closed the terminal */
		f->tty_out = realloc(f->tty_out, len + (size_t)n + 1);
		memcpy(f->tty_out + len, buf, (size_t)n);
		len += (size_t)n;
		f->tty_out[len] = '\0';
	}
	close(m);
	/* The terminal turns each newline into CR LF: keep the newlines. */
	char *w = f->tty_out;
	for (char *r = f->tty_out; *r; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	f->tty_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("--- on the terminal (exit %d):\n%s\n---\n", f->tty_status,
	       f->tty_out);
	f->tr = ta_transcript(&f->ws);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_yes_runs_the_command_shown_quoted(void **state)
{
	struct fx *f = *state;
	run_on_tty(f, "approval", "y\ny\n");
	assert_int_equal(f->tty_status, 0);
	assert_true(tu_contains(f->tty_out, "sh -c 'echo '\\''a b'\\'' > "
					    "marker.txt'"));
	assert_int_equal(count(f->tty_out, "Allow? [y]es / [n]o / [a]lways"),
			 2);
	char *m = ta_read(ta_path(&f->ws, "marker.txt"));
	assert_non_null(m);
	assert_string_equal(m, "a b\n");
	free(m);
	assert_int_equal(access(ta_path(&f->ws, "second.txt"), F_OK), 0);
	assert_string_equal(ta_str(ta_record(f->tr, "approval", 0), "decision"),
			    "approved");
	ta_requests_ok(&f->srv);
}

static void test_no_denies_and_tells_the_model(void **state)
{
	struct fx *f = *state;
	run_on_tty(f, "approval", "n\ny\n");
	assert_int_equal(f->tty_status, 0);
	assert_int_equal(access(ta_path(&f->ws, "marker.txt"), F_OK), -1);
	assert_int_equal(access(ta_path(&f->ws, "second.txt"), F_OK), 0);
	json_object *r = ta_record(f->tr, "tool_result", 0);
	assert_true(ta_bool(r, "isError"));
	assert_string_equal(ta_str(r, "content"),
			    "the command was not run: approval denied (the "
			    "user denied it)");
	assert_string_equal(ta_str(ta_record(f->tr, "approval", 0), "decision"),
			    "denied");
	/* The model got the denial as an error result. */
	json_object *req = ta_requests(&f->srv);
	const char *body =
	    json_object_to_json_string(json_object_array_get_idx(req, 1));
	assert_true(tu_contains(body, "approval denied"));
	assert_true(tu_contains(body, "\"is_error\":true") ||
		    tu_contains(body, "\"is_error\": true"));
	json_object_put(req);
	ta_requests_ok(&f->srv);
}

static void test_always_approves_the_rest_of_the_session(void **state)
{
	struct fx *f = *state;
	run_on_tty(f, "approval", "what\na\n");
	assert_int_equal(f->tty_status, 0);
	assert_true(tu_contains(f->tty_out, "Please answer y, n or a."));
	/* Asked once for the first command, never for the second. */
	assert_int_equal(count(f->tty_out, "the agent wants to run"), 1);
	assert_int_equal(access(ta_path(&f->ws, "marker.txt"), F_OK), 0);
	assert_int_equal(access(ta_path(&f->ws, "second.txt"), F_OK), 0);
	assert_string_equal(ta_str(ta_record(f->tr, "approval", 0), "decision"),
			    "always");
}

static void test_without_a_terminal_commands_are_denied(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--require-approval", NULL};
	ta_server_start(&f->srv, "approval");
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "mark it", args, NULL), 0);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(access(ta_path(&f->ws, "marker.txt"), F_OK), -1);
	assert_int_equal(access(ta_path(&f->ws, "second.txt"), F_OK), -1);
	f->tr = ta_transcript(&f->ws);
	json_object *r = ta_record(f->tr, "tool_result", 0);
	assert_true(ta_bool(r, "isError"));
	assert_true(tu_contains(ta_str(r, "content"), "no terminal to ask"));
	assert_true(tu_contains(ta_str(r, "content"), "--yes"));
	assert_int_equal(ta_count_records(f->tr, "command"), 0);
}

static void test_yes_flag_approves_without_asking(void **state)
{
	struct fx *f = *state;
	static const char *args[] = {"--require-approval", "--yes", NULL};
	ta_server_start(&f->srv, "approval");
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "mark it", args, NULL), 0);
	assert_int_equal(f->run.status, 0);
	assert_false(tu_contains(f->run.err, "Allow?"));
	assert_int_equal(access(ta_path(&f->ws, "marker.txt"), F_OK), 0);
	assert_int_equal(access(ta_path(&f->ws, "second.txt"), F_OK), 0);
}

/* The prompt shows the command; the progress line does not repeat it. */
static void test_approved_command_is_printed_once(void **state)
{
	struct fx *f = *state;
	run_on_tty(f, "approval", "y\ny\n");
	assert_int_equal(f->tty_status, 0);
	assert_int_equal(
	    count(f->tty_out, "sh -c 'echo '\\''a b'\\'' > marker.txt'"), 1);
	assert_int_equal(count(f->tty_out, "touch second.txt"), 1);
	assert_int_equal(count(f->tty_out, "-> exit 0"), 2);
}

static const char m_c[] = "int a;\nint b = 1;\nint c;\n";

static void test_file_changes_are_asked_with_a_diff(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "m.c"), m_c);
	run_on_tty(f, "approval_files", "y\nn\n");
	assert_int_equal(f->tty_status, 0);
	assert_true(tu_contains(f->tty_out, "monkey: the agent wants to create "
					    "newdir/notes.txt (+2 -0 lines):\n"
					    "  @@ line 1 @@\n"
					    "  +one\n"
					    "  +two\n"
					    "Allow? "));
	assert_true(tu_contains(f->tty_out, "monkey: the agent wants to edit "
					    "m.c (+1 -1 lines):\n"
					    "  @@ line 1 @@\n"
					    "   int a;\n"
					    "  -int b = 1;\n"
					    "  +int b = 2;\n"
					    "Allow? "));
	/* y wrote the first, n kept the second as it was. */
	char *notes = ta_read(ta_path(&f->ws, "newdir/notes.txt"));
	assert_string_equal(notes, "one\ntwo\n");
	free(notes);
	char *m = ta_read(ta_path(&f->ws, "m.c"));
	assert_string_equal(m, m_c);
	free(m);
	json_object *r = ta_record(f->tr, "tool_result", 1);
	assert_true(ta_bool(r, "isError"));
	assert_string_equal(ta_str(r, "content"),
			    "the file was not changed: approval denied (the "
			    "user denied it)");
	json_object *a = ta_record(f->tr, "approval", 1);
	assert_string_equal(ta_str(a, "path"), "m.c");
	assert_string_equal(ta_str(a, "decision"), "denied");
	ta_requests_ok(&f->srv);
}

static void test_denied_write_creates_nothing(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "m.c"), m_c);
	run_on_tty(f, "approval_files", "n\nn\n");
	assert_int_equal(f->tty_status, 0);
	/* Not even the directory the file would have gone in. */
	assert_int_equal(access(ta_path(&f->ws, "newdir"), F_OK), -1);
}

static void test_always_covers_later_file_changes(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "m.c"), m_c);
	run_on_tty(f, "approval_files", "a\n");
	assert_int_equal(f->tty_status, 0);
	assert_int_equal(count(f->tty_out, "the agent wants to"), 1);
	char *m = ta_read(ta_path(&f->ws, "m.c"));
	assert_string_equal(m, "int a;\nint b = 2;\nint c;\n");
	free(m);
}

static void test_without_a_terminal_file_changes_are_denied(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "m.c"), m_c);
	static const char *args[] = {"--require-approval", NULL};
	ta_server_start(&f->srv, "approval_files");
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "note it", args, NULL), 0);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(access(ta_path(&f->ws, "newdir"), F_OK), -1);
	char *m = ta_read(ta_path(&f->ws, "m.c"));
	assert_string_equal(m, m_c);
	free(m);
	f->tr = ta_transcript(&f->ws);
	for (int i = 0; i < 2; i++) {
		json_object *r = ta_record(f->tr, "tool_result", i);
		assert_true(ta_bool(r, "isError"));
		assert_true(
		    tu_contains(ta_str(r, "content"), "no terminal to ask"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_yes_runs_the_command_shown_quoted),
	    T(test_no_denies_and_tells_the_model),
	    T(test_always_approves_the_rest_of_the_session),
	    T(test_without_a_terminal_commands_are_denied),
	    T(test_yes_flag_approves_without_asking),
	    T(test_approved_command_is_printed_once),
	    T(test_file_changes_are_asked_with_a_diff),
	    T(test_denied_write_creates_nothing),
	    T(test_always_covers_later_file_changes),
	    T(test_without_a_terminal_file_changes_are_denied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
