/* Nothing hostile reaches the terminal raw: "monkey agent" runs on a real
 * pseudo-terminal against a scripted model that sends escape sequences,
 * carriage returns, C1 controls and bidi overrides in its text, a working
 * directory that fakes an approval prompt, a file name and a path with
 * escapes, and a command whose output cuts a C1 control between two
 * writes.  What the terminal receives must hold none of them raw, and the
 * real command must be visible. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_agent_harness.h"

struct fx {
	struct ta_server srv;
	struct ta_ws ws;
	char *out;
	size_t len;
	int status;
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
	free(f->out);
	ta_ws_free(&f->ws);
	free(f);
	return 0;
}

/* Run monkey agent ARGS on a pseudo-terminal with answers typed ahead;
 * collect every byte the terminal received.  Output processing is off, so
 * a carriage return seen is one monkey wrote. */
static void run_on_tty(struct fx *f, const char *answers, const char *extra)
{
	ta_backend_path();
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	char *name = ptsname(m);
	assert_non_null(name);
	/* Set before anything is typed: no echo, no output processing. */
	int s = open(name, O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	struct termios t;
	assert_int_equal(tcgetattr(s, &t), 0);
	t.c_oflag &= ~(tcflag_t)OPOST;
	t.c_lflag &= ~(tcflag_t)ECHO;
	assert_int_equal(tcsetattr(s, TCSANOW, &t), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setsid();
		int c = open(name, O_RDWR); /* becomes the controlling tty */
		if (c < 0)
			_exit(126);
		close(s);
		s = c;
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		close(m);
		setenv("ANTHROPIC_API_KEY", TA_KEY, 1);
		setenv("ANTHROPIC_BASE_URL", f->srv.url, 1);
		unsetenv("MONKEY_SANDBOX");
		execl(tu_monkey(), "monkey", "agent", "--task", "look around",
		      "--require-approval", "--workspace", f->ws.dir,
		      "--transcript", f->ws.transcript, extra, (char *)NULL);
		_exit(127);
	}
	close(s);
	assert_int_equal(write(m, answers, strlen(answers)),
			 (ssize_t)strlen(answers));
	f->out = calloc(1, 1);
	for (;;) {
		char buf[4096];
		ssize_t n = read(m, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EIO once the child closed the terminal */
		f->out = realloc(f->out, f->len + (size_t)n + 1);
		memcpy(f->out + f->len, buf, (size_t)n);
		f->len += (size_t)n;
		f->out[f->len] = '\0';
	}
	close(m);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	f->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("--- on the terminal (exit %d, %zu bytes):\n%s\n---\n",
	       f->status, f->len, f->out);
}

/* Every byte that can act on a terminal, raw: ESC, CR, BEL, the 8-bit
 * CSI, U+009B and the right-to-left override. */
static void no_raw_controls(const struct fx *f)
{
	for (size_t i = 0; i < f->len; i++) {
		unsigned char c = (unsigned char)f->out[i];
		if (c == 0x1b || c == '\r' || c == 0x07 || c == 0x9b ||
		    c == 0x85 || c == 0x7f)
			fail_msg("raw byte 0x%02x at offset %zu: ...%.40s", c,
				 i, f->out + (i > 20 ? i - 20 : 0));
	}
	assert_null(memmem(f->out, f->len, "\xe2\x80\xae", 3));
}

/* Lines of the terminal output that start with prefix. */
static int lines_starting(const struct fx *f, const char *prefix)
{
	int n = 0;
	for (const char *l = f->out; l; l = strchr(l, '\n')) {
		if (*l == '\n')
			l++;
		if (!strncmp(l, prefix, strlen(prefix)))
			n++;
	}
	return n;
}

static void test_hostile_model_output_is_shown_escaped(void **state)
{
	struct fx *f = *state;
	ta_server_start(&f->srv, "hostile");
	run_on_tty(f, "n\ny\ny\n", "--verbose");
	assert_int_equal(f->status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 4);
	no_raw_controls(f);
	/* The real command shows, with the fake prompt its working
	 * directory carried escaped on the same line. */
	assert_non_null(strstr(f->out, "  sh -c 'echo REAL-COMMAND-MARKER'"));
	assert_non_null(strstr(f->out, "in sub\\nmonkey: the agent wants to "
				       "run:\\n  ls\\nAllow? [y]es / [n]o / "
				       "[a]lways this session: \\x1b[30;40m:"));
	/* Three real prompts; nothing else starts a line like one. */
	assert_int_equal(lines_starting(f, "monkey: the agent wants to"), 3);
	assert_int_equal(lines_starting(f, "Allow?"), 3);
	/* The model's text, a file name, a diff line, an error, command
	 * output with a C1 control cut between two writes. */
	assert_non_null(strstr(f->out,
			       "Looking.\\x1b[2J\\x1b]0;pwned\\x07"
			       "\\rFAKE\\xc2\\x9b1m\\xe2\\x80\\xaeevil"));
	assert_non_null(strstr(f->out, "create evil\\x1b[31mname\\r.txt"));
	assert_non_null(strstr(f->out, "+hello\\x1b[2Jworld"));
	assert_non_null(strstr(f->out, "missing\\x1b[5m.txt"));
	assert_non_null(strstr(f->out, "a\\xc2\\x9b1m\\x1b[2J\\r"));
	assert_non_null(strstr(f->out, "Done \\x1b[0m\\xc2\\x9b\\r"));
}

static void test_quiet_answer_is_escaped(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(&f->srv, "{\"steps\": [{\"reply\": {\"text\": "
				      "\"All \\u001b[8mhidden\\u001b[0m "
				      "done.\\r\\n\"}}]}");
	run_on_tty(f, "", "--quiet");
	assert_int_equal(f->status, 0);
	no_raw_controls(f);
	assert_non_null(
	    strstr(f->out, "All \\x1b[8mhidden\\x1b[0m done.\\r\n"));
}

/* A command that runs for more than a second shows a live line with its
 * elapsed time and memory, rewritten in place, and cleared before the
 * result line. */
static void test_long_command_shows_a_live_line_then_clears_it(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(
	    &f->srv, "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": "
		     "\"l1\", \"name\": \"shell_execute\", \"input\": "
		     "{\"command\": [\"sleep\", \"1.8\"]}}]}}, "
		     "{\"reply\": {\"text\": \"slept\"}}]}");
	run_on_tty(f, "y\n", "--yes");
	assert_int_equal(f->status, 0);
	const char *live = strstr(f->out, "\r  ... running 1.");
	assert_non_null(live);
	assert_non_null(strstr(live, " KiB\x1b[K") ? strstr(live, " KiB")
						   : strstr(live, " MiB"));
	const char *clear = strstr(live, "\r\x1b[K  -> exit 0 in ");
	assert_non_null(clear);
	/* Only the one command's line, and nothing after its clearing. */
	assert_null(strstr(clear + 1, "... running"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_hostile_model_output_is_shown_escaped),
	    T(test_quiet_answer_is_escaped),
	    T(test_long_command_shows_a_live_line_then_clears_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
