/* The short diff a person sees before and while a file changes: exact
 * line counts for scattered changes, the first change with its context,
 * long and hostile lines made short and harmless, binary and huge files
 * described without a line diff. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools.h"

static struct tools_diff diff(const char *old, const char *new)
{
	struct tools_diff d;
	assert_int_equal(tools_diff(old, strlen(old), new, strlen(new), &d), 0);
	assert_non_null(d.text);
	return d;
}

static void expect(const char *old, const char *new, size_t added,
		   size_t removed, const char *text)
{
	struct tools_diff d = diff(old, new);
	if (d.added != added || d.removed != removed ||
	    (text && strcmp(d.text, text)))
		fail_msg("+%zu -%zu (wanted +%zu -%zu):\n%s", d.added,
			 d.removed, added, removed, d.text);
	assert_false(d.approximate);
	tools_diff_free(&d);
}

static void test_one_line_replaced_with_context(void **state)
{
	(void)state;
	expect("a\nb\nc\nd\ne\n", "a\nb\nc\nD\ne\n", 1, 1,
	       "@@ line 2 @@\n b\n c\n-d\n+D");
}

static void test_new_file_and_emptied_file(void **state)
{
	(void)state;
	expect("", "one\ntwo\n", 2, 0, "@@ line 1 @@\n+one\n+two");
	expect("one\ntwo\n", "", 0, 2, "@@ line 1 @@\n-one\n-two");
	expect("same\n", "same\n", 0, 0, "no change");
}

static void test_last_line_without_newline(void **state)
{
	(void)state;
	expect("x\ny", "x\ny\n", 1, 1, "@@ line 1 @@\n x\n-y\n+y");
	expect("x\n", "x\ny", 1, 0, "@@ line 1 @@\n x\n+y");
}

static void test_scattered_changes_are_counted_exactly(void **state)
{
	(void)state;
	/* 200 lines, three changed far apart, one inserted, one removed:
	 * trimming the ends alone would count most of the file. */
	char *old = NULL, *new = NULL;
	size_t ol = 0, nl = 0;
	FILE *o = open_memstream(&old, &ol), *n = open_memstream(&new, &nl);
	for (int i = 0; i < 200; i++) {
		fprintf(o, "line %d\n", i);
		if (i == 10 || i == 100 || i == 190)
			fprintf(n, "LINE %d\n", i);
		else if (i == 50)
			fprintf(n, "line %d\ninserted\n", i);
		else if (i != 150)
			fprintf(n, "line %d\n", i);
	}
	fclose(o);
	fclose(n);
	struct tools_diff d = diff(old, new);
	assert_int_equal(d.added, 4);
	assert_int_equal(d.removed, 4);
	/* The first change, then how many more. */
	assert_string_equal(d.text, "@@ line 9 @@\n line 8\n line 9\n"
				    "-line 10\n+LINE 10\n"
				    "... 6 more changed lines");
	tools_diff_free(&d);
	free(old);
	free(new);
}

static void test_shown_lines_are_cut_and_escaped(void **state)
{
	(void)state;
	char old[] = "x\n", new[400];
	snprintf(new, sizeof(new), "\033[2J\rfake\n%0300d\n", 0);
	struct tools_diff d = diff(old, new);
	assert_non_null(strstr(d.text, "+\\x1b[2J\\rfake\n"));
	assert_null(strchr(d.text, '\033'));
	assert_null(strchr(d.text, '\r'));
	/* 100 bytes then "...", the last line shown. */
	char *cut = strstr(d.text, "+0000");
	assert_non_null(cut);
	assert_int_equal(strlen(cut), 1 + 100 + 3);
	assert_string_equal(cut + 101, "...");
	tools_diff_free(&d);
}

static void test_binary_contents_are_described(void **state)
{
	(void)state;
	struct tools_diff d;
	assert_int_equal(tools_diff("a\n", 2, "\0\1\2", 3, &d), 0);
	assert_true(d.binary);
	assert_string_equal(d.text, "binary contents: 3 bytes (were 2)");
	tools_diff_free(&d);
}

static void test_a_huge_rewrite_is_bounded(void **state)
{
	(void)state;
	/* 300,000 lines each side, all different: over the bound, the
	 * counts are the changed region's. */
	size_t n = 300000;
	char *a = malloc(n * 2 + 1), *b = malloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++) {
		memcpy(a + 2 * i, "a\n", 2);
		memcpy(b + 2 * i, "b\n", 2);
	}
	a[2 * n] = b[2 * n] = '\0';
	struct tools_diff d;
	assert_int_equal(tools_diff(a, 2 * n, b, 2 * n, &d), 0);
	assert_true(d.approximate);
	assert_int_equal(d.added, n);
	assert_int_equal(d.removed, n);
	tools_diff_free(&d);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_line_replaced_with_context),
	    cmocka_unit_test(test_new_file_and_emptied_file),
	    cmocka_unit_test(test_last_line_without_newline),
	    cmocka_unit_test(test_scattered_changes_are_counted_exactly),
	    cmocka_unit_test(test_shown_lines_are_cut_and_escaped),
	    cmocka_unit_test(test_binary_contents_are_described),
	    cmocka_unit_test(test_a_huge_rewrite_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
