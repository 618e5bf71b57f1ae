# Tests of the host: loader refusals, executor, environment, capture, JSON
# and the CLI.  Test-only backend modules live in tests/modules/.
TEST_MODULE_LDFLAGS = -module -avoid-version -shared -rpath /nowhere \
	-export-symbols-regex '^monkey_backend_entry$$'
TEST_MODULE_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
check_LTLIBRARIES += tests/modules/reqdump.la tests/modules/badabi.la \
	tests/modules/small.la tests/modules/incomplete.la \
	tests/modules/noentry.la tests/modules/future.la \
	tests/modules/unavail.la tests/modules/misnamed.la
tests_modules_reqdump_la_SOURCES = tests/modules/reqdump.c
tests_modules_reqdump_la_CFLAGS = $(TEST_MODULE_CFLAGS)
tests_modules_reqdump_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_badabi_la_SOURCES = tests/modules/broken.c
tests_modules_badabi_la_CFLAGS = $(TEST_MODULE_CFLAGS) -DBROKEN_KIND=1
tests_modules_badabi_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_small_la_SOURCES = tests/modules/broken.c
tests_modules_small_la_CFLAGS = $(TEST_MODULE_CFLAGS) -DBROKEN_KIND=2
tests_modules_small_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_incomplete_la_SOURCES = tests/modules/broken.c
tests_modules_incomplete_la_CFLAGS = $(TEST_MODULE_CFLAGS) -DBROKEN_KIND=3
tests_modules_incomplete_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_noentry_la_SOURCES = tests/modules/broken.c
tests_modules_noentry_la_CFLAGS = $(TEST_MODULE_CFLAGS) -DBROKEN_KIND=4
tests_modules_noentry_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_modules_future_la_SOURCES = tests/modules/broken.c
tests_modules_future_la_CFLAGS = $(TEST_MODULE_CFLAGS) -DBROKEN_KIND=5
tests_modules_future_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_unavail_la_SOURCES = tests/modules/broken.c
tests_modules_unavail_la_CFLAGS = $(TEST_MODULE_CFLAGS) -DBROKEN_KIND=6
tests_modules_unavail_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_misnamed_la_SOURCES = tests/modules/broken.c
tests_modules_misnamed_la_CFLAGS = $(TEST_MODULE_CFLAGS) -DBROKEN_KIND=7
tests_modules_misnamed_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)

# Helpers any test may link: run a program and capture its output.
check_LTLIBRARIES += tests/libtestutil.la
tests_libtestutil_la_SOURCES = tests/testutil.c tests/testutil.h
tests_libtestutil_la_CPPFLAGS = $(TEST_CPPFLAGS)
tests_libtestutil_la_CFLAGS = $(TEST_CFLAGS)

CORE_TESTS = tests/test_loader tests/test_capture tests/test_env \
	tests/test_jsonout tests/test_executor tests/test_escape
# The CLI tests run commands, which needs the default backend.
if BACKEND_SPAWN
CORE_TESTS += tests/test_cli
endif
check_PROGRAMS += $(CORE_TESTS)
TESTS += $(CORE_TESTS)
CORE_TEST_LIBS = tests/libtestutil.la $(TEST_LIBS)
tests_test_loader_SOURCES = tests/test_loader.c
tests_test_loader_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_loader_CFLAGS = $(TEST_CFLAGS)
tests_test_loader_LDADD = $(CORE_TEST_LIBS)
tests_test_capture_SOURCES = tests/test_capture.c
tests_test_capture_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_capture_CFLAGS = $(TEST_CFLAGS)
tests_test_capture_LDADD = $(CORE_TEST_LIBS)
tests_test_env_SOURCES = tests/test_env.c
tests_test_env_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_env_CFLAGS = $(TEST_CFLAGS)
tests_test_env_LDADD = $(CORE_TEST_LIBS)
tests_test_jsonout_SOURCES = tests/test_jsonout.c
tests_test_jsonout_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_jsonout_CFLAGS = $(TEST_CFLAGS)
tests_test_jsonout_LDADD = $(CORE_TEST_LIBS)
tests_test_executor_SOURCES = tests/test_executor.c
tests_test_executor_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_executor_CFLAGS = $(TEST_CFLAGS)
tests_test_executor_LDADD = $(CORE_TEST_LIBS)
tests_test_escape_SOURCES = tests/test_escape.c
tests_test_escape_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_escape_CFLAGS = $(TEST_CFLAGS)
tests_test_escape_LDADD = $(CORE_TEST_LIBS)
tests_test_cli_SOURCES = tests/test_cli.c
tests_test_cli_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_test_cli_LDADD = $(CORE_TEST_LIBS)
