# Tests of the agent: unit tests of its parts, end-to-end runs of
# "monkey agent" against tests/llm_server.py (a local server speaking the
# Anthropic and OpenAI wire formats on 127.0.0.1), and fuzz targets.
check_LTLIBRARIES += tests/libagentharness.la
tests_libagentharness_la_SOURCES = tests/test_agent_harness.c \
	tests/test_agent_harness.h
tests_libagentharness_la_CPPFLAGS = $(TEST_CPPFLAGS)
tests_libagentharness_la_CFLAGS = $(TEST_CFLAGS)

AGENT_TEST_LIBS = tests/libagentharness.la tests/libtestutil.la $(TEST_LIBS)

agent_tests = tests/test_agent_http tests/test_agent_cli
check_PROGRAMS += $(agent_tests)
TESTS += $(agent_tests)

tests_test_agent_http_SOURCES = tests/test_agent_http.c
tests_test_agent_http_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_http_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_http_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_cli_SOURCES = tests/test_agent_cli.c
tests_test_agent_cli_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_cli_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_cli_LDADD = $(AGENT_TEST_LIBS)

EXTRA_DIST += tests/llm_server.py tests/agent
