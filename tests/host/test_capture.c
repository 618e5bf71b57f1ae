/* Bounded output capture and head+tail shortening. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"

static void test_small_output_is_kept_whole(void **s)
{
	(void)s;
	struct monkey_capture_buf b;
	struct monkey_capture c;
	monkey_capture_buf_init(&b, 100);
	monkey_capture_buf_append(&b, "hello ", 6);
	monkey_capture_buf_append(&b, "world", 5);
	assert_int_equal(monkey_capture_buf_finish(&b, &c), 0);
	size_t len;
	char *j = monkey_capture_join(&c, &len);
	assert_string_equal(j, "hello world");
	assert_int_equal(c.total, 11);
	assert_false(c.truncated);
	free(j);
	monkey_capture_clear(&c);
}

static void test_output_up_to_cap_is_kept_whole(void **s)
{
	(void)s;
	struct monkey_capture_buf b;
	struct monkey_capture c;
	monkey_capture_buf_init(&b, 10);
	monkey_capture_buf_append(&b, "0123456789", 10);
	monkey_capture_buf_finish(&b, &c);
	char *j = monkey_capture_join(&c, NULL);
	assert_string_equal(j, "0123456789");
	assert_false(c.truncated);
	free(j);
	monkey_capture_clear(&c);
}

static void test_long_output_keeps_head_and_tail_and_counts_all(void **s)
{
	(void)s;
	struct monkey_capture_buf b;
	struct monkey_capture c;
	monkey_capture_buf_init(&b, 8);
	/* Written in odd-sized pieces so the ring wraps. */
	const char *text = "ABCDefghijklmnopqrstuvwxyzWXYZ";
	for (size_t i = 0; i < strlen(text); i += 3) {
		size_t n = strlen(text) - i < 3 ? strlen(text) - i : 3;
		monkey_capture_buf_append(&b, text + i, n);
	}
	monkey_capture_buf_finish(&b, &c);
	assert_int_equal(c.total, 30);
	assert_true(c.truncated);
	assert_int_equal(c.head_len, 4);
	assert_memory_equal(c.head, "ABCD", 4);
	assert_int_equal(c.tail_len, 4);
	assert_memory_equal(c.tail, "WXYZ", 4);
	char *j = monkey_capture_join(&c, NULL);
	assert_string_equal(j, "ABCD\n[... 22 bytes omitted ...]\nWXYZ");
	free(j);
	monkey_capture_clear(&c);
}

static void test_one_huge_write_keeps_its_end(void **s)
{
	(void)s;
	struct monkey_capture_buf b;
	struct monkey_capture c;
	monkey_capture_buf_init(&b, 6);
	monkey_capture_buf_append(&b, "abcdefghijklmnop", 16);
	monkey_capture_buf_finish(&b, &c);
	assert_memory_equal(c.head, "abc", 3);
	assert_memory_equal(c.tail, "nop", 3);
	assert_int_equal(c.total, 16);
	monkey_capture_clear(&c);
}

static void test_zero_cap_counts_but_keeps_nothing(void **s)
{
	(void)s;
	struct monkey_capture_buf b;
	struct monkey_capture c;
	monkey_capture_buf_init(&b, 0);
	monkey_capture_buf_append(&b, "abc", 3);
	monkey_capture_buf_finish(&b, &c);
	assert_int_equal(c.total, 3);
	assert_int_equal(c.head_len + c.tail_len, 0);
	assert_true(c.truncated);
	monkey_capture_clear(&c);
}

static void test_shorten_leaves_short_text_alone(void **s)
{
	(void)s;
	size_t n;
	char *r = monkey_shorten("short", 5, 100, &n);
	assert_string_equal(r, "short");
	assert_int_equal(n, 5);
	free(r);
}

static void test_shorten_marks_omission_and_cuts_at_utf8_boundary(void **s)
{
	(void)s;
	/* "é" is 2 bytes; a cut at byte 5 would split the third one. */
	const char *text = "ééééééééééééééééééé"; /* 19 x 2 bytes */
	size_t n;
	char *r = monkey_shorten(text, strlen(text), 10, &n);
	assert_non_null(strstr(r, "bytes omitted ...]"));
	/* Head is whole characters: "éé" (4 bytes), tail likewise. */
	assert_memory_equal(r, "éé\n[...", 4 + 5);
	assert_memory_equal(r + n - 4, "éé", 4);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_output_is_kept_whole),
	    cmocka_unit_test(test_output_up_to_cap_is_kept_whole),
	    cmocka_unit_test(
		test_long_output_keeps_head_and_tail_and_counts_all),
	    cmocka_unit_test(test_one_huge_write_keeps_its_end),
	    cmocka_unit_test(test_zero_cap_counts_but_keeps_nothing),
	    cmocka_unit_test(test_shorten_leaves_short_text_alone),
	    cmocka_unit_test(
		test_shorten_marks_omission_and_cuts_at_utf8_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
