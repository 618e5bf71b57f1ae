# Tests of the rootless backend.  They load plugins/rootless/rootless.so
# from the build tree (tests/rootless/rootless_harness.c finds it) and run as
# whoever runs make check: CI runs them as root and as an unprivileged
# user (tests/ci.sh).  When the backend cannot run here they skip, unless
# MONKEY_REQUIRE_ROOTLESS=1 makes that a failure.
ROOTLESS_TEST_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/tests/rootless
check_PROGRAMS += tests/rootless/rootless_helper
tests_rootless_rootless_helper_SOURCES = tests/rootless/rootless_helper.c
tests_rootless_rootless_helper_CPPFLAGS = $(AM_CPPFLAGS)

ROOTLESS_HARNESS = tests/rootless/rootless_harness.c \
	tests/rootless/rootless_harness.h tests/backend_asserts.h
ROOTLESS_TEST_LIBS = $(CMOCKA_LIBS) $(PTHREAD_LIBS) -ldl

if BACKEND_ROOTLESS
if HAVE_CMOCKA
ROOTLESS_TESTS = tests/rootless/test_rootless \
	tests/rootless/test_rootless_limits \
	tests/rootless/test_rootless_tree tests/rootless/test_rootless_probe \
	tests/rootless/test_rootless_session
check_PROGRAMS += $(ROOTLESS_TESTS)
TESTS += $(ROOTLESS_TESTS) tests/rootless/test_rootless_cli.sh \
	tests/rootless/test_rootless_in_session.sh
endif
endif
EXTRA_DIST += tests/rootless/test_rootless_cli.sh \
	tests/rootless/test_rootless_in_session.sh

tests_rootless_test_rootless_SOURCES = tests/rootless/test_rootless.c \
	$(ROOTLESS_HARNESS)
tests_rootless_test_rootless_CPPFLAGS = $(ROOTLESS_TEST_CPPFLAGS)
tests_rootless_test_rootless_CFLAGS = $(TEST_CFLAGS)
tests_rootless_test_rootless_LDADD = $(ROOTLESS_TEST_LIBS)

tests_rootless_test_rootless_tree_SOURCES = tests/rootless/test_rootless_tree.c \
	$(ROOTLESS_HARNESS)
tests_rootless_test_rootless_tree_CPPFLAGS = $(ROOTLESS_TEST_CPPFLAGS)
tests_rootless_test_rootless_tree_CFLAGS = $(TEST_CFLAGS)
tests_rootless_test_rootless_tree_LDADD = $(ROOTLESS_TEST_LIBS)

# These two go through libmonkey's executor too (warnings, fallback).
tests_rootless_test_rootless_limits_SOURCES = tests/rootless/test_rootless_limits.c \
	$(ROOTLESS_HARNESS)
tests_rootless_test_rootless_limits_CPPFLAGS = $(ROOTLESS_TEST_CPPFLAGS)
tests_rootless_test_rootless_limits_CFLAGS = $(TEST_CFLAGS)
tests_rootless_test_rootless_limits_LDADD = $(ROOTLESS_TEST_LIBS) $(TEST_LIBS)

tests_rootless_test_rootless_probe_SOURCES = tests/rootless/test_rootless_probe.c \
	$(ROOTLESS_HARNESS)
tests_rootless_test_rootless_probe_CPPFLAGS = $(ROOTLESS_TEST_CPPFLAGS)
tests_rootless_test_rootless_probe_CFLAGS = $(TEST_CFLAGS)
tests_rootless_test_rootless_probe_LDADD = $(ROOTLESS_TEST_LIBS) $(TEST_LIBS)

tests_rootless_test_rootless_session_SOURCES = \
	tests/rootless/test_rootless_session.c $(ROOTLESS_HARNESS)
tests_rootless_test_rootless_session_CPPFLAGS = $(ROOTLESS_TEST_CPPFLAGS)
tests_rootless_test_rootless_session_CFLAGS = $(TEST_CFLAGS)
tests_rootless_test_rootless_session_LDADD = $(ROOTLESS_TEST_LIBS)
