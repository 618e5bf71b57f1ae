# Tests of the spawn and none backends and of their process runner
# (plugins/common/procrun): each numbered property of the hardening issue
# has a test that attacks it.  tests/spawn/spawn_helper is the misbehaving
# command they run.
SPAWN_TEST_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/tests/spawn
check_PROGRAMS += tests/spawn/spawn_helper
tests_spawn_spawn_helper_SOURCES = tests/spawn/spawn_helper.c
tests_spawn_spawn_helper_CPPFLAGS = $(AM_CPPFLAGS)

# Loads a backend module straight from the build tree with a hand-made
# host (no libmonkey), as a third-party host would.
check_LTLIBRARIES += tests/spawn/libspawnharness.la
tests_spawn_libspawnharness_la_SOURCES = tests/spawn/spawn_harness.c \
	tests/spawn/spawn_harness.h
tests_spawn_libspawnharness_la_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_spawn_libspawnharness_la_CFLAGS = $(TEST_CFLAGS)
tests_spawn_libspawnharness_la_LIBADD = $(CMOCKA_LIBS) -ldl

# Only the tests for the backends this build has (distributions may
# switch spawn or none off).
SPAWN_TESTS = tests/spawn/test_procrun
if BACKEND_SPAWN
SPAWN_TESTS += tests/spawn/test_spawn_tree tests/spawn/test_spawn_backend \
	tests/spawn/test_spawn_hygiene tests/spawn/test_spawn_threads \
	tests/spawn/test_spawn_rss
if BACKEND_NONE
SPAWN_TESTS += tests/spawn/test_none_backend tests/spawn/test_spawn_usage
endif
endif
check_PROGRAMS += $(SPAWN_TESTS)
TESTS += $(SPAWN_TESTS)
SPAWN_TEST_LIBS = tests/spawn/libspawnharness.la $(CMOCKA_LIBS) $(PTHREAD_LIBS)

tests_spawn_test_spawn_tree_SOURCES = tests/spawn/test_spawn_tree.c
tests_spawn_test_spawn_tree_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_spawn_test_spawn_tree_CFLAGS = $(TEST_CFLAGS)
tests_spawn_test_spawn_tree_LDADD = $(SPAWN_TEST_LIBS)

tests_spawn_test_spawn_backend_SOURCES = tests/spawn/test_spawn_backend.c
tests_spawn_test_spawn_backend_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_spawn_test_spawn_backend_CFLAGS = $(TEST_CFLAGS)
tests_spawn_test_spawn_backend_LDADD = $(SPAWN_TEST_LIBS)

tests_spawn_test_spawn_hygiene_SOURCES = tests/spawn/test_spawn_hygiene.c
tests_spawn_test_spawn_hygiene_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_spawn_test_spawn_hygiene_CFLAGS = $(TEST_CFLAGS)
tests_spawn_test_spawn_hygiene_LDADD = $(SPAWN_TEST_LIBS)

tests_spawn_test_spawn_threads_SOURCES = tests/spawn/test_spawn_threads.c
tests_spawn_test_spawn_threads_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_spawn_test_spawn_threads_CFLAGS = $(TEST_CFLAGS)
tests_spawn_test_spawn_threads_LDADD = $(SPAWN_TEST_LIBS)

tests_spawn_test_none_backend_SOURCES = tests/spawn/test_none_backend.c
tests_spawn_test_none_backend_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_spawn_test_none_backend_CFLAGS = $(TEST_CFLAGS)
tests_spawn_test_none_backend_LDADD = $(SPAWN_TEST_LIBS)

tests_spawn_test_spawn_usage_SOURCES = tests/spawn/test_spawn_usage.c
tests_spawn_test_spawn_usage_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_spawn_test_spawn_usage_CFLAGS = $(TEST_CFLAGS)
tests_spawn_test_spawn_usage_LDADD = $(SPAWN_TEST_LIBS)

# The runner itself, linked in directly: paths a module cannot be made to
# take (no /proc/<pid>/task/<tid>/children, a reaper killed from outside).
tests_spawn_test_procrun_SOURCES = tests/spawn/test_procrun.c
tests_spawn_test_procrun_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS) -I$(top_srcdir)/plugins/common
tests_spawn_test_procrun_CFLAGS = $(TEST_CFLAGS)
tests_spawn_test_procrun_LDADD = plugins/common/libprocrun.la $(SPAWN_TEST_LIBS)

# 2 GB of output through the executor; its own process so that its peak
# RSS measures only that.
tests_spawn_test_spawn_rss_SOURCES = tests/spawn/test_spawn_rss.c
tests_spawn_test_spawn_rss_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_spawn_test_spawn_rss_CFLAGS = $(TEST_CFLAGS)
tests_spawn_test_spawn_rss_LDADD = $(SPAWN_TEST_LIBS) $(TEST_LIBS)

# Benchmark: prints figures, never part of make check.
EXTRA_PROGRAMS += tests/spawn/bench_spawn
tests_spawn_bench_spawn_SOURCES = tests/spawn/bench_spawn.c
tests_spawn_bench_spawn_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_spawn_bench_spawn_LDADD = -ldl
CLEANFILES += tests/spawn/bench_spawn$(EXEEXT)

.PHONY: bench-spawn
bench-spawn: tests/spawn/bench_spawn$(EXEEXT) monkey$(EXEEXT) $(backend_LTLIBRARIES)
	MONKEY_BUILDDIR='$(abs_top_builddir)' \
	./tests/spawn/bench_spawn $(BENCH_SPAWN_ARGS)
