/* monkey replay: commands recorded by a real agent run replayed and
 * compared; the sandbox taken from the command line, never from the file
 * (a transcript is hostile: its backend, workspace and limits are shown,
 * not applied; weaker backends only when named); every number validated;
 * each command printed as it will run; version 1 transcripts still read. */
#include "config.h"

#include <errno.h>
#include <limits.h>
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

#include "test_agent_harness.h"

/* SHA-256 of "" and of what the repro's echo prints. */
#define SHA_EMPTY                                                              \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_REPRO                                                              \
	"cd6dbb886de9ef36731bae5851e23e96910244c4e8ec0b7ee2a145119ed0a4f8"

/* The repro: a transcript (version 1, as monkey wrote them then) that
 * says "none", with a command whose words make a shell write a file. */
#define REPRO_COMMAND                                                          \
	"{\"type\":\"command\",\"argv\":[\"echo\",\"$(id -un)\",\">\","        \
	"\"PWNED;\"],\"workdir\":\".\",\"ran\":true,\"exit_code\":0,"          \
	"\"stdout_bytes\":19,\"stderr_bytes\":0,\"stdout_sha256\":"            \
	"\"" SHA_REPRO "\",\"stderr_sha256\":\"" SHA_EMPTY "\"}\n"

struct fx {
	struct ta_server srv;
	struct ta_ws ws;
	struct tu_run run;
	char file[4300]; /* a transcript written by the test */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	ta_ws_new(&f->ws);
	snprintf(f->file, sizeof(f->file), "%s/crafted.jsonl", f->ws.dir);
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

/* monkey replay FILE [args] in the test's workspace, MONKEY_SANDBOX unset
 * unless env sets it. */
static void replay(struct fx *f, const char *file, const char *const *args,
		   const char *const *env)
{
	tu_run_free(&f->run);
	const char *argv[32] = {tu_monkey(), "replay", file};
	size_t n = 3;
	for (size_t i = 0; args && args[i] && n < 31; i++)
		argv[n++] = args[i];
	const char *e[16] = {"MONKEY_SANDBOX=", "MONKEY_DOCKER_IMAGE="};
	for (size_t i = 0; env && env[i] && i < 13; i++)
		e[2 + i] = env[i];
	ta_backend_path();
	assert_int_equal(
	    tu_run(&f->run, NULL, (char *const *)argv, (char *const *)e), 0);
	printf("--- monkey replay exited %d; stderr:\n%s--- stdout:\n%s---\n",
	       f->run.status, f->run.err, f->run.out);
}

static void replay_ws(struct fx *f, const char *file, const char *extra,
		      const char *const *env)
{
	const char *args[] = {"--workspace", f->ws.dir, extra, NULL};
	replay(f, file, args, env);
}

static void record(struct fx *f)
{
	tu_write_file(ta_path(&f->ws, "data.txt"), "original\n");
	mkdir(ta_path(&f->ws, "sub"), 0755);
	ta_server_start(&f->srv, "replay");
	assert_int_equal(
	    ta_agent(&f->run, &f->srv, &f->ws, "do the task", NULL, NULL), 0);
	assert_int_equal(f->run.status, 0);
	assert_int_equal(ta_requests_ok(&f->srv), 2);
}

static int count(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_replay_matches_the_recording(void **state)
{
	struct fx *f = *state;
	record(f);
	replay_ws(f, f->ws.transcript, NULL, NULL);
	assert_int_equal(f->run.status, 0);
	char want[4400];
	snprintf(want, sizeof(want),
		 "[1/4] $ cat data.txt\n      in %s, timeout 60000 ms\n",
		 f->ws.dir);
	assert_true(tu_contains(f->run.out, want));
	assert_true(tu_contains(f->run.out, "[2/4] $ sh -c"));
	/* Each command is shown as it will run: argv, directory, stdin. */
	snprintf(want, sizeof(want),
		 "[3/4] $ tr a-z A-Z\n      in %s/sub, timeout 60000 ms, 6 "
		 "bytes on stdin\n",
		 f->ws.dir);
	assert_true(tu_contains(f->run.out, want));
	assert_true(tu_contains(f->run.out, "[4/4] $ pwd\n      -> skipped: "
					    "not run in the recording"));
	assert_int_equal(count(f->run.out, "-> match"), 3);
	assert_true(tu_contains(f->run.out, "3 matched, 0 mismatched, 1 "
					    "skipped"));
}

/* -v: a short diff of the output that did not match. */
static void test_replay_shows_a_diff_of_a_mismatch(void **state)
{
	struct fx *f = *state;
	record(f);
	tu_write_file(ta_path(&f->ws, "data.txt"), "changed since\n");
	replay_ws(f, f->ws.transcript, "-v", NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.out, "[1/4] $ cat data.txt"));
	assert_true(tu_contains(f->run.out, "      -> MISMATCH\n"));
	assert_true(tu_contains(f->run.out, "stdout 14 bytes (recorded 9)  <- "
					    "differs"));
	assert_true(tu_contains(f->run.out, "stdout from line 1 (- recorded, "
					    "+ now):\n"
					    "           - original\n"
					    "           + changed since\n"));
	/* -v details matching commands too, without a diff. */
	assert_true(tu_contains(f->run.out, "exit 3 (recorded 3)\n"));
	assert_true(tu_contains(f->run.out, "2 matched, 1 mismatched, 1 "
					    "skipped"));
}

/* The repro: the file said "none"; the replay runs under the backend of
 * its own options (spawn by default), where argv stays argv. */
static void test_replay_does_not_take_the_backend_from_the_file(void **state)
{
	struct fx *f = *state;
	tu_write_file(f->file,
		      "{\"type\":\"header\",\"version\":1,"
		      "\"workspace\":\"/somewhere/else\","
		      "\"sandbox\":{\"backend\":\"none\","
		      "\"limits\":{\"timeout_ms\":5000}}}\n" REPRO_COMMAND);
	replay_ws(f, f->file, NULL, NULL);
	assert_int_equal(access(ta_path(&f->ws, "PWNED"), F_OK), -1);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.out, "$ echo '$(id -un)' '>' 'PWNED;'"));
	assert_true(tu_contains(f->run.out, "-> match"));
	/* The recorded values are shown beside the replay's own. */
	assert_true(tu_contains(f->run.out, "spawn (safety medium)"));
	assert_true(tu_contains(f->run.out, "none (safety none)"));
	assert_true(tu_contains(f->run.out, "/somewhere/else"));
	assert_true(tu_contains(f->run.out, "60000 ms"));
	assert_false(tu_contains(f->run.out, "hands these words"));
}

/* none runs only when named on the command line; MONKEY_SANDBOX does not
 * count. */
static void test_replay_runs_none_only_when_named(void **state)
{
	struct fx *f = *state;
#ifndef HAVE_BACKEND_NONE
	skip(); /* this build has no none backend */
#endif
	tu_write_file(f->file,
		      "{\"type\":\"header\",\"version\":1,"
		      "\"sandbox\":{\"backend\":\"none\"}}\n" REPRO_COMMAND);
	const char *env[] = {"MONKEY_SANDBOX=none", NULL};
	replay_ws(f, f->file, NULL, env);
	assert_int_equal(access(ta_path(&f->ws, "PWNED"), F_OK), -1);
	assert_int_equal(f->run.status, 2);
	assert_true(tu_contains(f->run.err, "--sandbox none (MONKEY_SANDBOX "
					    "does not count)"));
	assert_false(tu_contains(f->run.out, "[1/1]"));

	replay_ws(f, f->file, "--sandbox=none", NULL);
	assert_true(tu_contains(f->run.out, "the none backend hands these "
					    "words to /bin/sh -c on this "
					    "machine"));
	assert_true(tu_contains(f->run.out, "[1/1] $ echo"));
}

/* A recording made in a container does not silently replay on the
 * host. */
static void test_replay_runs_a_weaker_backend_only_when_named(void **state)
{
	struct fx *f = *state;
	/* Version 1 records no safety level: known by the name. */
	tu_write_file(f->file,
		      "{\"type\":\"header\",\"version\":1,"
		      "\"sandbox\":{\"backend\":\"docker\"}}\n" REPRO_COMMAND);
	replay_ws(f, f->file, NULL, NULL);
	assert_int_equal(f->run.status, 2);
	assert_true(tu_contains(f->run.err, "the recording ran under docker "
					    "(safety high), and spawn (safety "
					    "medium) is weaker"));
	assert_true(tu_contains(f->run.err, "--sandbox spawn"));
	assert_false(tu_contains(f->run.out, "[1/1]"));
	replay_ws(f, f->file, "--sandbox=spawn", NULL);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.out, "-> match"));
}

/* Recorded limits are shown, not applied: a header timeout of 300 ms
 * does not kill a one-second command, and the workspace is the current
 * directory when none is given, as with monkey exec. */
static void
test_replay_takes_limits_and_workspace_from_its_options(void **state)
{
	struct fx *f = *state;
	tu_write_file(
	    f->file,
	    "{\"type\":\"header\",\"version\":1,\"workspace\":\"/recorded\","
	    "\"sandbox\":{\"backend\":\"spawn\",\"limits\":{\"timeout_ms\":"
	    "300,\"memory_mb\":64}}}\n"
	    "{\"type\":\"command\",\"argv\":[\"sleep\",\"1\"],\"ran\":true,"
	    "\"exit_code\":0,\"stdout_sha256\":\"" SHA_EMPTY
	    "\",\"stderr_sha256\":\"" SHA_EMPTY "\"}\n");
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->ws.dir), 0);
	replay(f, f->file, NULL, NULL);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(f->run.status, 0);
	assert_true(tu_contains(f->run.out, "-> match"));
	char *real = realpath(f->ws.dir, NULL), want[4400];
	snprintf(want, sizeof(want), "workspace  %s", real);
	free(real);
	assert_true(tu_contains(f->run.out, want));
	assert_true(tu_contains(f->run.out, "/recorded"));
	assert_true(tu_contains(f->run.out, "64 MB\n"));
	assert_true(tu_contains(f->run.out, "300 ms"));
}

/* A command's own recorded timeout is kept when it is shorter: a command
 * that timed out at 300 ms times out again. */
static void test_replay_keeps_a_shorter_command_timeout(void **state)
{
	struct fx *f = *state;
	ta_server_start_json(
	    &f->srv,
	    "{\"steps\": [{\"reply\": {\"tool_calls\": [{\"id\": "
	    "\"t1\", \"name\": \"shell_execute\", \"input\": "
	    "{\"command\": [\"sleep\", \"5\"], \"timeout_ms\": 300}}]}}, "
	    "{\"reply\": {\"text\": \"slept\"}}]}");
	assert_int_equal(ta_agent(&f->run, &f->srv, &f->ws, "t", NULL, NULL),
			 0);
	assert_int_equal(f->run.status, 0);
	replay_ws(f, f->ws.transcript, NULL, NULL);
	assert_true(tu_contains(f->run.out, "[1/1] $ sleep 5\n      in "));
	assert_true(tu_contains(f->run.out, ", timeout 300 ms\n"));
	assert_true(tu_contains(f->run.out, "-> match"));
	assert_int_equal(f->run.status, 0);
}

/* Malformed numbers and fields are errors naming the line and field,
 * never "no limit". */
static void test_replay_validates_every_field(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"{\"type\":\"header\",\"version\":2,\"sandbox\":{\"limits\":"
	     "{\"memoryMb\":17592186044416}}}",
	     ":1: 'memoryMb' must be a whole number from 0 to 16777216"},
	    {"{\"type\":\"header\",\"version\":1,\"sandbox\":{\"limits\":"
	     "{\"memory_mb\":17592186044416}}}",
	     ":1: 'memory_mb' must be a whole number"},
	    {"{\"type\":\"header\",\"version\":2,\"sandbox\":{\"limits\":"
	     "{\"pids\":-1}}}",
	     ":1: 'pids' must be a whole number from 0"},
	    {"{\"type\":\"header\",\"version\":2,\"sandbox\":{\"limits\":"
	     "{\"timeoutMs\":1.5}}}",
	     ":1: 'timeoutMs' must be a whole number"},
	    {"{\"type\":\"header\",\"version\":2,\"sandbox\":{\"limits\":"
	     "{\"cpus\":1e9}}}",
	     ":1: 'cpus' must be a number from 0 to 4096"},
	    {"{\"type\":\"header\",\"version\":2,\"sandbox\":{\"backend\":7}}",
	     ":1: 'backend' must be a string"},
	    {"{\"type\":\"header\",\"version\":99}",
	     ":1: a header of a transcript version"},
	    {"{\"type\":\"header\",\"version\":2} trailing",
	     ":1: not a JSON record"},
	    {"{\"type\":\"header\",\"version\":2}\n{\"type\":\"command\","
	     "\"argv\":[]}",
	     ":2: 'argv' must be a non-empty array"},
	    {"{\"type\":\"header\",\"version\":2}\n{\"type\":\"command\","
	     "\"argv\":[\"x\",1]}",
	     ":2: 'argv' must be an array of strings"},
	    {"{\"type\":\"header\",\"version\":2}\n{\"type\":\"command\","
	     "\"argv\":[\"x\"],\"ran\":true,\"exitCode\":\"0\"}",
	     ":2: 'exitCode' must be a whole number from -1 to 255"},
	    {"{\"type\":\"header\",\"version\":2}\n{\"type\":\"command\","
	     "\"argv\":[\"x\"],\"ran\":true,\"exitCode\":256}",
	     ":2: 'exitCode' must be a whole number from -1 to 255"},
	    {"{\"type\":\"header\",\"version\":2}\n{\"type\":\"command\","
	     "\"argv\":[\"x\"],\"ran\":true,\"exitCode\":0,"
	     "\"stdoutBytes\":-5}",
	     ":2: 'stdoutBytes' must be a whole number"},
	    {"{\"type\":\"header\",\"version\":2}\n{\"type\":\"command\","
	     "\"argv\":[\"x\"],\"ran\":true,\"exitCode\":0,"
	     "\"stdoutSha256\":\"xyz\"}",
	     ":2: 'stdoutSha256' must be 64 lowercase hexadecimal digits"},
	    {"{\"type\":\"header\",\"version\":2}\n{\"type\":\"command\","
	     "\"argv\":[\"x\"],\"ran\":true,\"exitCode\":0}",
	     ":2: 'stdoutSha256' must be a SHA-256 in a command that ran"},
	    {"{\"type\":\"header\",\"version\":2}\n{\"type\":\"command\","
	     "\"argv\":[\"x\"],\"timeoutMs\":99999999999999}",
	     ":2: 'timeoutMs' must be a whole number"},
	    {"{\"type\":\"header\",\"version\":2}\n{\"type\":\"command\","
	     "\"argv\":[\"x\"],\"ran\":\"yes\"}",
	     ":2: 'ran' must be true or false"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		tu_write_file(f->file, cases[i].text);
		replay_ws(f, f->file, NULL, NULL);
		assert_int_equal(f->run.status, 2);
		char want[4800];
		snprintf(want, sizeof(want), "%s%s", f->file, cases[i].want);
		if (!tu_contains(f->run.err, want))
			fail_msg("case %zu: wanted '%s'", i, want);
		assert_false(tu_contains(f->run.out, "[1/"));
	}
}

static void test_replay_reads_version_1_transcripts(void **state)
{
	struct fx *f = *state;
	char v1[4200];
	const char *src = getenv("MONKEY_SRCDIR");
	snprintf(v1, sizeof(v1), "%s/tests/agent/scripts/transcript-v1.jsonl",
		 src && *src ? src : MONKEY_SRCDIR);
	tu_write_file(ta_path(&f->ws, "greeting.txt"), "hello\n");
	replay_ws(f, v1, "-v", NULL);
	assert_int_equal(f->run.status, 1);
	assert_true(tu_contains(f->run.out, "[1/3] $ echo hello"));
	assert_true(tu_contains(f->run.out, "/home/someone/project"));
	assert_true(tu_contains(f->run.out, "2 matched, 1 mismatched"));
	assert_true(tu_contains(f->run.out, "stdout: the recording kept no "
					    "copy of it (a version 1 "
					    "transcript)"));
}

static void test_replay_shows_hostile_text_escaped(void **state)
{
	struct fx *f = *state;
	tu_write_file(
	    f->file,
	    "{\"type\":\"header\",\"version\":2,\"workspace\":"
	    "\"/x\\u001b[2J\",\"sandbox\":{\"backend\":\"spawn\"}}\n"
	    "{\"type\":\"command\",\"argv\":[\"printf\",\"\\u001b[31m\"],"
	    "\"ran\":true,\"exitCode\":0,\"stdoutSha256\":\"" SHA_EMPTY
	    "\",\"stderrSha256\":\"" SHA_EMPTY
	    "\",\"stdout\":\"a\\u001b]0;title\\u0007\"}\n");
	replay_ws(f, f->file, "-v", NULL);
	assert_int_equal(f->run.status, 1);
	assert_false(tu_contains(f->run.out, "\x1b"));
	assert_false(tu_contains(f->run.out, "\x07"));
	assert_true(tu_contains(f->run.out, "/x\\x1b[2J"));
	assert_true(tu_contains(f->run.out, "$ printf $'\\x1b[31m'"));
	assert_true(tu_contains(f->run.out, "- a\\x1b]0;title\\x07"));
}

static void test_replay_rejects_a_file_that_is_not_a_transcript(void **state)
{
	struct fx *f = *state;
	tu_write_file(ta_path(&f->ws, "junk.jsonl"), "not json at all\n");
	replay(f, ta_path(&f->ws, "junk.jsonl"), NULL, NULL);
	assert_int_equal(f->run.status, 2);
	assert_true(tu_contains(f->run.err, "junk.jsonl:1: not a JSON record"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_replay_matches_the_recording),
	    T(test_replay_shows_a_diff_of_a_mismatch),
	    T(test_replay_does_not_take_the_backend_from_the_file),
	    T(test_replay_runs_none_only_when_named),
	    T(test_replay_runs_a_weaker_backend_only_when_named),
	    T(test_replay_takes_limits_and_workspace_from_its_options),
	    T(test_replay_keeps_a_shorter_command_timeout),
	    T(test_replay_validates_every_field),
	    T(test_replay_reads_version_1_transcripts),
	    T(test_replay_shows_hostile_text_escaped),
	    T(test_replay_rejects_a_file_that_is_not_a_transcript),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
