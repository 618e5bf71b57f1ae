/* The escaping rule for everything monkey shows on a terminal: which
 * characters are escaped and how, text streamed in chunks cut anywhere,
 * JSON kept valid, and argv quoting built on it. */
#include "config.h"

#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"
#include "quote.h"

static void expect(const char *in, size_t len, int flags, const char *want)
{
	size_t n;
	char *e = monkey_escape(in, len, flags, &n);
	assert_non_null(e);
	assert_int_equal(n, strlen(e));
	assert_string_equal(e, want);
	free(e);
}

#define EXPECT(in, flags, want) expect(in, sizeof(in) - 1, flags, want)

static void test_c0_del_and_esc_are_escaped(void **state)
{
	(void)state;
	EXPECT("a\033[2Jb", 0, "a\\x1b[2Jb");
	EXPECT("bell\a del\x7f nul", 0, "bell\\x07 del\\x7f nul");
	EXPECT("x\0y", 0, "x\\x00y");
	EXPECT("cr\rlf\ntab\t", 0, "cr\\rlf\\ntab\\t");
	/* A backslash stays: escaping is for the terminal, not a parser. */
	EXPECT("C:\\dir\\x1b", 0, "C:\\dir\\x1b");
}

static void test_multiline_keeps_newline_and_tab_only(void **state)
{
	(void)state;
	EXPECT("line 1\n\tline 2\r\n", MONKEY_ESC_MULTILINE,
	       "line 1\n\tline 2\\r\n");
	EXPECT("\033]0;title\007", MONKEY_ESC_MULTILINE, "\\x1b]0;title\\x07");
}

static void test_c1_in_both_forms_is_escaped(void **state)
{
	(void)state;
	/* 8-bit CSI, and U+009B in UTF-8. */
	EXPECT("\x9b"
	       "31m",
	       0, "\\x9b31m");
	EXPECT("\xc2\x9b"
	       "31m",
	       0, "\\xc2\\x9b31m");
	EXPECT("\xc2\x85", 0, "\\xc2\\x85"); /* NEL */
	/* U+00A0 and above are text. */
	EXPECT("\xc2\xa0\xc3\xa9", 0, "\xc2\xa0\xc3\xa9");
}

static void test_bidi_controls_are_escaped(void **state)
{
	(void)state;
	EXPECT("a\xe2\x80\xae"
	       "b",
	       0, "a\\xe2\\x80\\xaeb"); /* RLO */
	EXPECT("\xe2\x81\xa6\xe2\x81\xa9", 0,
	       "\\xe2\\x81\\xa6\\xe2\\x81\\xa9");     /* LRI, PDI */
	EXPECT("\xe2\x80\x8f", 0, "\\xe2\\x80\\x8f"); /* RLM */
	EXPECT("\xe2\x80\x94", 0, "\xe2\x80\x94");    /* an em dash */
}

static void test_invalid_utf8_is_escaped_valid_text_is_not(void **state)
{
	(void)state;
	/* Overlong ESC, a lone continuation, bytes that never start UTF-8,
	 * a surrogate, a cut sequence. */
	EXPECT("\xc0\x9b", 0, "\\xc0\\x9b");
	EXPECT("\x80x", 0, "\\x80x");
	EXPECT("\xf5\xff", 0, "\\xf5\\xff");
	EXPECT("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");
	EXPECT("ab\xe2\x80", 0, "ab\\xe2\\x80");
	EXPECT("\xe4\xb8\xad\xf0\x9f\x90\x92", 0,
	       "\xe4\xb8\xad\xf0\x9f\x90\x92");
}

/* Whatever the cut, a stream comes out as the whole text would. */
static void test_stream_cut_anywhere_matches_the_whole(void **state)
{
	(void)state;
	static const char text[] = "ok \xc2\x9b"
				   "1m \xe2\x80\xae \xf0\x9f\x90\x92 \033[0m "
				   "\xe4\xb8\xad\n\xc2";
	size_t len = sizeof(text) - 1;
	char *whole = monkey_escape(text, len, MONKEY_ESC_MULTILINE, NULL);
	for (size_t a = 0; a <= len; a++)
		for (size_t b = a; b <= len; b++) {
			struct monkey_escaper e = {.flags =
						       MONKEY_ESC_MULTILINE};
			char buf[512] = "";
			size_t cuts[] = {0, a, b, len};
			for (int i = 0; i < 3; i++) {
				char *part = monkey_escaper_feed(
				    &e, text + cuts[i], cuts[i + 1] - cuts[i],
				    NULL);
				strcat(buf, part);
				free(part);
			}
			char *rest = monkey_escaper_flush(&e, NULL);
			strcat(buf, rest);
			free(rest);
			if (strcmp(buf, whole))
				fail_msg("cut at %zu, %zu: '%s' != '%s'", a, b,
					 buf, whole);
		}
	free(whole);
}

static void test_json_stays_json(void **state)
{
	(void)state;
	json_object *o = json_object_new_object();
	json_object_object_add(
	    o, "out",
	    json_object_new_string("del\x7f csi\xc2\x9b rlo\xe2\x80\xae "
				   "esc\033 ok\xc3\xa9"));
	const char *raw =
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char *safe = monkey_escape_json(raw, strlen(raw), NULL);
	assert_non_null(safe);
	assert_non_null(strstr(safe, "del\\u007f csi\\u009b rlo\\u202e "));
	assert_null(strchr(safe, 0x7f));
	assert_null(strchr(safe, 0x1b));
	json_object *back = json_tokener_parse(safe);
	assert_non_null(back);
	json_object *v;
	assert_true(json_object_object_get_ex(back, "out", &v));
	assert_string_equal(json_object_get_string(v),
			    "del\x7f csi\xc2\x9b rlo\xe2\x80\xae "
			    "esc\033 ok\xc3\xa9");
	json_object_put(back);
	json_object_put(o);
	free(safe);
}

static void test_cut_keeps_characters_whole(void **state)
{
	(void)state;
	assert_int_equal(monkey_esc_cut("ab\xc3\xa9", 4, 3), 2);
	assert_int_equal(monkey_esc_cut("ab\xc3\xa9", 4, 4), 4);
	assert_int_equal(monkey_esc_cut("abc", 3, 10), 3);
}

static void test_argv_quoting_uses_the_same_rule(void **state)
{
	(void)state;
	char *q = monkey_quote_argv((const char *[]){
	    "cat",
	    "a\x9b"
	    "b",
	    "\xc2\x9b", "x\xe2\x80\x8fy", "\xc3\xa9t\xc3\xa9", NULL});
	assert_string_equal(q, "cat $'a\\x9bb' $'\\xc2\\x9b' "
			       "$'x\\xe2\\x80\\x8fy' '\xc3\xa9t\xc3\xa9'");
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_c0_del_and_esc_are_escaped),
	    cmocka_unit_test(test_multiline_keeps_newline_and_tab_only),
	    cmocka_unit_test(test_c1_in_both_forms_is_escaped),
	    cmocka_unit_test(test_bidi_controls_are_escaped),
	    cmocka_unit_test(test_invalid_utf8_is_escaped_valid_text_is_not),
	    cmocka_unit_test(test_stream_cut_anywhere_matches_the_whole),
	    cmocka_unit_test(test_json_stays_json),
	    cmocka_unit_test(test_cut_keeps_characters_whole),
	    cmocka_unit_test(test_argv_quoting_uses_the_same_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
