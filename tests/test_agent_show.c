/* What "monkey agent" shows of the calls it makes: file changes as short
 * diffs, not the model's JSON. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_agent_harness.h"

struct fx {
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
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
	ta_ws_free(&f->ws);
	free(f);
	return 0;
}

static void has(const char *text, const char *fragment)
{
	if (!strstr(text, fragment))
		fail_msg("'%s' lacks '%s'", text, fragment);
}

static void lacks(const char *text, const char *fragment)
{
	if (strstr(text, fragment))
		fail_msg("'%s' has '%s'", text, fragment);
}

static void run(struct fx *f, const char *script, const char *const *args,
		const char *const *env)
{
	if (script)
		ta_server_start(&f->srv, script);
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", args, env), 0);
}

static void test_file_changes_are_shown_as_a_short_diff(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "m.c"), "int a;\nint b = 1;\nint c;\n");
	run(f, "approval_files", NULL, NULL);
	assert_int_equal(f->run.status, 0);
	has(f->run.err, "[write_file] create newdir/notes.txt: +2 -0 lines\n"
			"  @@ line 1 @@\n"
			"  +one\n"
			"  +two\n");
	has(f->run.err, "[edit_file] edit m.c: +1 -1 lines\n"
			"  @@ line 1 @@\n"
			"   int a;\n"
			"  -int b = 1;\n"
			"  +int b = 2;\n");
	/* Not the model's JSON. */
	lacks(f->run.err, "old_string");
	lacks(f->run.err, "\"content\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_file_changes_are_shown_as_a_short_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
