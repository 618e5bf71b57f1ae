/* Resource use per command (ABI 1.2) from the spawn and none backends:
 * peak memory and CPU time measured against commands whose use is known,
 * through the backend's entry point as any host sees it. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spawn_harness.h"

#define MIB (1024 * 1024)

static struct sh_backend backends[2];
static const char *const names[2] = {"spawn", "none"};

static void run_helper(struct sh_backend *b, const char *mode,
		       const char *arg, struct sh_result *r)
{
	const char *argv[] = {sh_helper(), mode, arg, NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	memset(r, 0, sizeof(*r));
	assert_int_equal(sh_exec(b, &req, r), 0);
	assert_int_equal(r->res.exit_code, 0);
}

/* 64 MiB touched: the peak is at least that, and not far above (the
 * helper's own pages, and the resident size of the host that spawned
 * it, which Linux carries across execve into ru_maxrss). */
static void test_peak_memory_of_64_mib_touched(void **s)
{
	(void)s;
	for (int i = 0; i < 2; i++) {
		struct sh_result r;
		run_helper(&backends[i], "alloc", "67108864", &r);
		int64_t peak = r.res.peak_memory_bytes;
		print_message("%s: 64 MiB touched: peak %lld KiB\n", names[i],
			      (long long)(peak / 1024));
		assert_true(peak >= 64 * MIB);
		assert_true(peak <= 64 * MIB + 48 * MIB);
		sh_result_free(&r);
	}
}

/* 300 ms of CPU: user plus system time near 300 ms, whatever the wall
 * time on a busy machine. */
static void test_cpu_time_of_300_ms_spin(void **s)
{
	(void)s;
	for (int i = 0; i < 2; i++) {
		struct sh_result r;
		run_helper(&backends[i], "spin", "300", &r);
		int64_t cpu = r.res.cpu_user_us + r.res.cpu_system_us;
		print_message("%s: 300 ms spin: user %lld us, system %lld us, "
			      "wall %lld ms\n",
			      names[i], (long long)r.res.cpu_user_us,
			      (long long)r.res.cpu_system_us, (long long)r.ms);
		assert_true(r.res.cpu_user_us >= 0 &&
			    r.res.cpu_system_us >= 0);
		assert_true(cpu >= 290 * 1000);
		assert_true(cpu <= 600 * 1000);
		sh_result_free(&r);
	}
}

/* A command that uses next to nothing is not charged the spin before
 * it: the figures are per command. */
static void test_figures_are_per_command(void **s)
{
	(void)s;
	struct sh_result r;
	run_helper(&backends[0], "spin", "200", &r);
	sh_result_free(&r);
	run_helper(&backends[0], "exit", "0", &r);
	assert_true(r.res.cpu_user_us >= 0);
	assert_true(r.res.cpu_user_us + r.res.cpu_system_us < 100 * 1000);
	sh_result_free(&r);
}

/* A host built before ABI 1.2 passes a shorter result: the backend
 * writes nothing past it. */
static void test_short_result_is_not_written_past(void **s)
{
	(void)s;
	const char *argv[] = {sh_helper(), "exit", "0", NULL};
	struct monkey_exec_request req;
	sh_request(&req, argv);
	struct sh_result r = {0};
	sh_exec(&backends[0], &req, &r);
	sh_result_free(&r);
	struct monkey_exec_result res;
	memset(&res, 0x5a, sizeof(res));
	res.struct_size = offsetof(struct monkey_exec_result,
				   peak_memory_bytes);
	struct monkey_error err = {0};
	struct sh_result sink = {0};
	req.output_ctx = &sink;
	assert_int_equal(
	    backends[0].be->exec(backends[0].state, &req, &res, &err), 0);
	assert_int_equal(res.exit_code, 0);
	int64_t untouched;
	memset(&untouched, 0x5a, sizeof(untouched));
	assert_true(res.peak_memory_bytes == untouched);
	assert_true(res.cpu_user_us == untouched);
	assert_true(res.cpu_system_us == untouched);
	sh_result_free(&sink);
}

static int setup(void **s)
{
	(void)s;
	for (int i = 0; i < 2; i++)
		sh_load(&backends[i], names[i]);
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	for (int i = 0; i < 2; i++)
		sh_unload(&backends[i]);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peak_memory_of_64_mib_touched),
	    cmocka_unit_test(test_cpu_time_of_300_ms_spin),
	    cmocka_unit_test(test_figures_are_per_command),
	    cmocka_unit_test(test_short_result_is_not_written_past),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
