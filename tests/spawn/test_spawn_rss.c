/* A command that writes 2 GB to stdout completes through libmonkey's
 * executor and the spawn backend while the host's peak memory stays
 * within a few MiB of the output cap.  Its own program, so the peak RSS
 * it measures is this run's alone. */
#include "config.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/exec.h>

#include "spawn_harness.h"

#define TWO_GB 2147483648ull
#define CAP (1024 * 1024)

/* A field of /proc/self/status in KiB. */
static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = atol(line + n + 1);
	if (f)
		fclose(f);
	return v;
}

/* Make VmHWM start again from the current RSS (Linux >= 4.0). */
static void reset_peak(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	assert_non_null(f);
	fputs("5", f);
	fclose(f);
}

static void run_spew(struct monkey_executor *ex, const char *bytes,
		     struct monkey_result *res)
{
	const char *argv[] = {sh_helper(), "spew", bytes, NULL};
	struct monkey_command cmd = {.argv = argv};
	struct monkey_error err = {0};
	if (monkey_executor_run(ex, &cmd, res, &err) < 0)
		fail_msg("run: %s", err.message);
}

static void test_two_gigabytes_of_output_keep_peak_memory_near_the_cap(void **s)
{
	(void)s;
	if (!getenv("MONKEY_BACKEND_PATH")) {
		char p[PATH_MAX];
		const char *b = getenv("MONKEY_BUILDDIR");
		snprintf(p, sizeof(p), "%s/plugins/spawn/.libs",
			 b ? b : MONKEY_BUILDDIR);
		setenv("MONKEY_BACKEND_PATH", p, 1);
	}
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = "spawn";
	o.no_fallback = true;
	o.max_output = CAP;
	o.timeout_ms = 600000;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	if (monkey_executor_open(&o, &ex, &err) < 0)
		fail_msg("executor: %s", err.message);

	/* Warm up: load everything a run touches. */
	struct monkey_result res;
	run_spew(ex, "4194304", &res);
	monkey_result_free(&res);

	long rss_before = status_kib("VmRSS");
	reset_peak();
	run_spew(ex, "2147483648", &res);
	long peak = status_kib("VmHWM");
	print_message("2 GB run: RSS before %ld KiB, peak %ld KiB, growth "
		      "%ld KiB (cap %d KiB), %lld ms\n",
		      rss_before, peak, peak - rss_before, CAP / 1024,
		      (long long)res.duration_ms);
	assert_int_equal(res.exit_code, 0);
	assert_true(res.out.total == TWO_GB);
	assert_true(res.out.truncated);
	assert_true(res.out.head_len + res.out.tail_len <= CAP);
	assert_true(peak - rss_before <= CAP / 1024 + 3 * 1024);
	monkey_result_free(&res);
	monkey_executor_close(ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_two_gigabytes_of_output_keep_peak_memory_near_the_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
