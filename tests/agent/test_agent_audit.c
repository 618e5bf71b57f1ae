/* The audit log of a real "monkey agent" run against the scripted model:
 * one hash-chained record per security-relevant event, no secret in it,
 * and "monkey audit verify" passes on it and fails, naming the right
 * line, after each kind of tampering (edit, delete, reorder, insert); a
 * keyed log also catches a forged tail. */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "test_agent_harness.h"

/* Creates a file, rewrites it, runs a command, and tries to write outside
 * the workspace (refused). */
static const char script[] =
    "{\"steps\": ["
    "{\"reply\": {\"tool_calls\": [{\"id\": \"w1\", \"name\": "
    "\"write_file\", \"input\": {\"path\": \"a.txt\", \"content\": "
    "\"one\\n\"}}]}},"
    "{\"reply\": {\"tool_calls\": [{\"id\": \"w2\", \"name\": "
    "\"write_file\", \"input\": {\"path\": \"a.txt\", \"content\": "
    "\"two\\n\"}}]}},"
    "{\"reply\": {\"tool_calls\": [{\"id\": \"c1\", \"name\": "
    "\"shell_execute\", \"input\": {\"command\": [\"cat\", "
    "\"a.txt\"]}}]}},"
    "{\"reply\": {\"tool_calls\": [{\"id\": \"w3\", \"name\": "
    "\"write_file\", \"input\": {\"path\": \"../escape.txt\", "
    "\"content\": \"x\"}}]}},"
    "{\"reply\": {\"text\": \"done\"}}]}";

#define SECRET_VALUE "hunter2-env-secret-value"

struct fx {
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	char log[4300];
	char key[4300];
	char *lines[16];
	int n;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	ta_ws_new(&f->ws);
	snprintf(f->log, sizeof(f->log), "%s.audit", f->ws.transcript);
	snprintf(f->key, sizeof(f->key), "%s.key", f->ws.transcript);
	*state = f;
	return 0;
}

static void free_lines(struct fx *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->lines[i]);
	f->n = 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	ta_server_stop(&f->srv);
	tu_run_free(&f->run);
	free_lines(f);
	unlink(f->log);
	unlink(f->key);
	ta_ws_free(&f->ws);
	free(f);
	return 0;
}

/* Run the agent with the audit log (and key, when with_key). */
static void run_agent(struct fx *f, bool with_key)
{
	ta_server_start_json(&f->srv, script);
	const char *args[] = {
	    "--yes",	   "--env", "TOKEN_X=" SECRET_VALUE,
	    "--audit-log", f->log,  with_key ? "--audit-key" : NULL,
	    f->key,	   NULL};
	if (with_key)
		tu_write_file(f->key, "0123456789abcdef0123456789abcdef");
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "audit me", args, NULL), 0);
	assert_int_equal(f->run.status, 0);
}

static void read_lines(struct fx *f)
{
	free_lines(f);
	FILE *in = fopen(f->log, "r");
	assert_non_null(in);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while (f->n < 16 && (len = getline(&line, &cap, in)) > 0)
		f->lines[f->n++] = strndup(line, (size_t)len);
	free(line);
	fclose(in);
}

static void write_lines(struct fx *f, const int *order, int n)
{
	FILE *out = fopen(f->log, "w");
	assert_non_null(out);
	for (int i = 0; i < n; i++)
		fputs(f->lines[order[i]], out);
	fclose(out);
}

/* monkey audit verify LOG [--key KEY]: its exit status and output. */
static int verify(struct fx *f, bool with_key, struct tu_run *r)
{
	char *argv[] = {(char *)tu_monkey(),	   "audit", "verify", f->log,
			with_key ? "--key" : NULL, f->key,  NULL};
	assert_int_equal(tu_run(r, NULL, argv, NULL), 0);
	print_message("verify: %d %s%s", r->status, r->out, r->err);
	return r->status;
}

/* Verify must fail naming line n. */
static void fails_at(struct fx *f, int n)
{
	struct tu_run r = {0};
	assert_int_equal(verify(f, false, &r), 1);
	char want[64];
	snprintf(want, sizeof(want), ": line %d: ", n);
	assert_true(tu_contains(r.out, want));
	tu_run_free(&r);
}

static const char *event_of(const char *line)
{
	static char ev[32];
	const char *p = strstr(line, "\"event\":\"");
	assert_non_null(p);
	sscanf(p + 9, "%31[a-z_]", ev);
	return ev;
}

static void test_real_run_logs_each_event_and_verifies(void **state)
{
	struct fx *f = *state;
	run_agent(f, false);
	struct stat st;
	assert_int_equal(stat(f->log, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	read_lines(f);
	static const char *const want[] = {"session_start", "file_write",
					   "file_write",    "command",
					   "refusal",	    "session_end"};
	assert_int_equal(f->n, 6);
	for (int i = 0; i < 6; i++)
		assert_string_equal(event_of(f->lines[i]), want[i]);
	/* The first write made the file, the second replaced it. */
	assert_true(tu_contains(f->lines[1], "\"sha256Before\":null"));
	char one[65], two[65];
	audit_sha256_hex("one\n", 4, one);
	audit_sha256_hex("two\n", 4, two);
	assert_true(tu_contains(f->lines[1], one));
	assert_true(tu_contains(f->lines[2], one));
	assert_true(tu_contains(f->lines[2], two));
	assert_true(tu_contains(f->lines[3], "\"argv\":[\"cat\",\"a.txt\"]"));
	assert_true(tu_contains(f->lines[3], "\"how\":\"--yes\""));
	assert_true(tu_contains(f->lines[3], "\"exitCode\":0"));
	assert_true(tu_contains(f->lines[3], "\"cpuUserMs\":"));
	assert_true(tu_contains(f->lines[4], "../escape.txt"));
	/* The session names the caches its commands may write: none. */
	assert_true(tu_contains(f->lines[0], "\"caches\":[]"));
	/* No secret: neither the API key nor an --env value. */
	for (int i = 0; i < f->n; i++) {
		assert_false(tu_contains(f->lines[i], TA_KEY));
		assert_false(tu_contains(f->lines[i], SECRET_VALUE));
	}
	struct tu_run r = {0};
	assert_int_equal(verify(f, false, &r), 0);
	assert_true(tu_contains(r.out, "6 records, chain intact"));
	tu_run_free(&r);
}

static void test_edited_record_is_named(void **state)
{
	struct fx *f = *state;
	run_agent(f, false);
	read_lines(f);
	char *p = strstr(f->lines[3], "\"exitCode\":0");
	assert_non_null(p);
	p[11] = '1';
	int order[] = {0, 1, 2, 3, 4, 5};
	write_lines(f, order, 6);
	fails_at(f, 4);
}

static void test_removed_record_is_named(void **state)
{
	struct fx *f = *state;
	run_agent(f, false);
	read_lines(f);
	int order[] = {0, 1, 3, 4, 5};
	write_lines(f, order, 5);
	fails_at(f, 3);
}

static void test_reordered_records_are_named(void **state)
{
	struct fx *f = *state;
	run_agent(f, false);
	read_lines(f);
	int order[] = {0, 1, 2, 4, 3, 5};
	write_lines(f, order, 6);
	fails_at(f, 4);
}

static void test_inserted_record_is_named(void **state)
{
	struct fx *f = *state;
	run_agent(f, false);
	read_lines(f);
	int order[] = {0, 1, 2, 1, 3, 4, 5};
	write_lines(f, order, 7);
	fails_at(f, 4);
}

/* A second run appends to the same log and continues its chain. */
static void test_second_run_continues_the_chain(void **state)
{
	struct fx *f = *state;
	run_agent(f, false);
	ta_server_stop(&f->srv);
	tu_run_free(&f->run);
	run_agent(f, false);
	read_lines(f);
	assert_int_equal(f->n, 12);
	assert_true(tu_contains(f->lines[6], "\"seq\":7,"));
	struct tu_run r = {0};
	assert_int_equal(verify(f, false, &r), 0);
	tu_run_free(&r);
}

/* A record appended with a correct hash and number passes without the
 * key (as verify says), and fails with it. */
static void test_forged_tail_is_caught_only_with_the_key(void **state)
{
	struct fx *f = *state;
	run_agent(f, true);
	read_lines(f);
	struct tu_run r = {0};
	assert_int_equal(verify(f, true, &r), 0);
	assert_true(tu_contains(r.out, "every MAC matches"));
	tu_run_free(&r);
	char prev[65];
	size_t len = strlen(f->lines[f->n - 1]) - 1; /* without \n */
	audit_sha256_hex(f->lines[f->n - 1], len, prev);
	FILE *out = fopen(f->log, "a");
	fprintf(out, "{\"seq\":%d,\"event\":\"command\",\"prev\":\"%s\"}\n",
		f->n + 1, prev);
	fclose(out);
	assert_int_equal(verify(f, false, &r), 0);
	assert_true(tu_contains(r.out, "not detected"));
	tu_run_free(&r);
	assert_int_equal(verify(f, true, &r), 1);
	char want[64];
	snprintf(want, sizeof(want), ": line %d: its MAC", f->n + 1);
	assert_true(tu_contains(r.out, want));
	tu_run_free(&r);
}

/* Without a terminal to ask, approval is denied: each denial is a
 * record, with the reason. */
static void test_denials_are_logged(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(&f->srv, script);
	const char *args[] = {"--require-approval", "--audit-log", f->log,
			      NULL};
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "audit me", args, NULL), 0);
	read_lines(f);
	static const char *const want[] = {"session_start", "denial",
					   "denial",	    "denial",
					   "refusal",	    "session_end"};
	assert_int_equal(f->n, 6);
	for (int i = 0; i < 6; i++)
		assert_string_equal(event_of(f->lines[i]), want[i]);
	assert_true(tu_contains(f->lines[3], "\"argv\":[\"cat\",\"a.txt\"]"));
	assert_true(tu_contains(f->lines[3], "\"reason\":"));
	struct tu_run r = {0};
	assert_int_equal(verify(f, false, &r), 0);
	tu_run_free(&r);
}

/* Like the transcript: a symbolic link is not followed. */
static void test_symlinked_log_is_refused(void **state)
{
	struct fx *f = *state;
	char target[4400];
	snprintf(target, sizeof(target), "%s.target", f->log);
	tu_write_file(target, "");
	assert_int_equal(symlink(target, f->log), 0);
	ta_server_start_json(&f->srv, script);
	const char *env[] = {NULL, NULL};
	char var[4400];
	snprintf(var, sizeof(var), "MONKEY_AUDIT_LOG=%s", f->log);
	env[0] = var;
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", NULL, env), 0);
	assert_int_not_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.err, "symbolic link"));
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	unlink(target);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_real_run_logs_each_event_and_verifies),
	    T(test_edited_record_is_named),
	    T(test_removed_record_is_named),
	    T(test_reordered_records_are_named),
	    T(test_inserted_record_is_named),
	    T(test_second_run_continues_the_chain),
	    T(test_forged_tail_is_caught_only_with_the_key),
	    T(test_symlinked_log_is_refused),
	    T(test_denials_are_logged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
