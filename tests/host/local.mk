# Tests of the host: loader refusals, executor, environment, capture, JSON,
# escaping and the CLI, with the test backends of tests/modules.
HOST_TEST_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/tests/host
CORE_TESTS = tests/host/test_loader tests/host/test_capture \
	tests/host/test_env \
	tests/host/test_jsonout tests/host/test_executor tests/host/test_escape
# The CLI tests run commands, which needs the default backend.
if BACKEND_SPAWN
CORE_TESTS += tests/host/test_cli
# End to end through the executor and the CLI with the spawn and none
# backends (it runs the spawn tests' misbehaving helper).
if BACKEND_NONE
CORE_TESTS += tests/host/test_exec_end_to_end
endif
endif
check_PROGRAMS += $(CORE_TESTS)
TESTS += $(CORE_TESTS)
CORE_TEST_LIBS = tests/libtestutil.la $(TEST_LIBS)
CORE_INTERNAL_TEST_LIBS = tests/libtestutil.la $(INTERNAL_TEST_LIBS)
tests_host_test_loader_SOURCES = tests/host/test_loader.c
tests_host_test_loader_CPPFLAGS = $(HOST_TEST_CPPFLAGS)
tests_host_test_loader_CFLAGS = $(TEST_CFLAGS)
tests_host_test_loader_LDADD = $(CORE_INTERNAL_TEST_LIBS)
tests_host_test_capture_SOURCES = tests/host/test_capture.c
tests_host_test_capture_CPPFLAGS = $(HOST_TEST_CPPFLAGS)
tests_host_test_capture_CFLAGS = $(TEST_CFLAGS)
tests_host_test_capture_LDADD = $(CORE_INTERNAL_TEST_LIBS)
tests_host_test_env_SOURCES = tests/host/test_env.c
tests_host_test_env_CPPFLAGS = $(HOST_TEST_CPPFLAGS)
tests_host_test_env_CFLAGS = $(TEST_CFLAGS)
tests_host_test_env_LDADD = $(CORE_INTERNAL_TEST_LIBS)
tests_host_test_jsonout_SOURCES = tests/host/test_jsonout.c
tests_host_test_jsonout_CPPFLAGS = $(HOST_TEST_CPPFLAGS)
tests_host_test_jsonout_CFLAGS = $(TEST_CFLAGS)
tests_host_test_jsonout_LDADD = $(CORE_INTERNAL_TEST_LIBS)
tests_host_test_executor_SOURCES = tests/host/test_executor.c
tests_host_test_executor_CPPFLAGS = $(HOST_TEST_CPPFLAGS)
tests_host_test_executor_CFLAGS = $(TEST_CFLAGS)
tests_host_test_executor_LDADD = $(CORE_TEST_LIBS)
tests_host_test_escape_SOURCES = tests/host/test_escape.c
tests_host_test_escape_CPPFLAGS = $(HOST_TEST_CPPFLAGS)
tests_host_test_escape_CFLAGS = $(TEST_CFLAGS)
tests_host_test_escape_LDADD = $(CORE_INTERNAL_TEST_LIBS)
tests_host_test_cli_SOURCES = tests/host/test_cli.c
tests_host_test_cli_CPPFLAGS = $(HOST_TEST_CPPFLAGS)
tests_host_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_host_test_cli_LDADD = $(CORE_TEST_LIBS)
tests_host_test_exec_end_to_end_SOURCES = tests/host/test_exec_end_to_end.c
tests_host_test_exec_end_to_end_CPPFLAGS = $(TEST_CPPFLAGS) \
	-I$(top_srcdir)/tests/spawn
tests_host_test_exec_end_to_end_CFLAGS = $(TEST_CFLAGS)
tests_host_test_exec_end_to_end_LDADD = tests/libtestutil.la \
	$(SPAWN_TEST_LIBS) \
	$(TEST_LIBS)

