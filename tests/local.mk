# Tests: cmocka unit tests, integration tests and test-only modules, one
# folder per area (host, spawn, docker, rootless, agent, sdk, verify,
# bench), each with its harness and its local.mk.  What every area may use
# stays here: tests/testutil.[ch] (run a program, capture its output) and
# the TAP wrapper of cmocka programs.
TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core/lib \
	-I$(top_srcdir)/core/agent -I$(top_srcdir)/tests \
	-DMONKEY_BUILDDIR='"$(abs_top_builddir)"' \
	-DMONKEY_SRCDIR='"$(abs_top_srcdir)"'
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JSONC_CFLAGS) -pthread
# Tests of the API link the library as it is installed; tests of what is
# inside (the loader's steps, the agent's tools, the escaping) link
# libmonkey-internal.la, which sees everything.
TEST_LIBS = libmonkey.la $(CMOCKA_LIBS) $(JSONC_LIBS) $(PTHREAD_LIBS)
INTERNAL_TEST_LIBS = libmonkey-internal.la $(CMOCKA_LIBS) $(JSONC_LIBS) \
	$(PTHREAD_LIBS)

# Test programs without an extension are cmocka programs: each of their
# tests is reported on its own (PASS, FAIL or SKIP) through the TAP
# driver.  Scripts (.sh) report through their exit status (77: SKIP).
TEST_EXTENSIONS = .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/tap-cmocka.sh
SH_LOG_DRIVER = $(SHELL) $(top_srcdir)/build-aux/test-driver
SH_LOG_COMPILER = $(SHELL)
EXTRA_DIST += tests/tap-cmocka.sh

# Loads uninstalled backends from the build tree: the .so files that libtool
# puts in .libs (monkey loads NAME.so only, never a .la), and never from the
# built-in directory (MONKEY_BACKEND_PATH_ONLY=1): a monkey installed in the
# configured prefix must not stand in for a backend this build left out.
AM_TESTS_ENVIRONMENT = \
	MONKEY_BACKEND_PATH='$(abs_top_builddir)/plugins/spawn/.libs:$(abs_top_builddir)/plugins/none/.libs:$(abs_top_builddir)/plugins/docker/.libs:$(abs_top_builddir)/plugins/rootless/.libs'; \
	MONKEY_BACKEND_PATH_ONLY=1; \
	MONKEY_BUILDDIR='$(abs_top_builddir)'; MONKEY_SRCDIR='$(abs_top_srcdir)'; \
	MONKEY_DOCKER_IMAGE=$${MONKEY_DOCKER_IMAGE:-monkey-test:busybox}; \
	export MONKEY_BACKEND_PATH MONKEY_BACKEND_PATH_ONLY MONKEY_BUILDDIR \
		MONKEY_SRCDIR MONKEY_DOCKER_IMAGE;

# The test list, for scripts that run a part of it: print-light-tests
# leaves out the suites that run containers and sandboxes end to end, which
# do not change with the backends a build leaves out
# (tests/configure-matrix.sh and make distcheck in tests/ci.sh run the
# light ones; CI's full builds run everything).
HEAVY_TESTS_RE = test_docker|test_caches|test_rootless|test_agent_jobs_rootless|test_verify_docker|test_agent_docker|test_verify$$|test_spawn_rss|test_spawn_tree|test_spawn_threads|test_proxy_docker|test_proxy_cli
print-tests:
	@echo $(TESTS)
print-light-tests:
	@for t in $(TESTS); do echo "$$t"; done | grep -Ev '$(HEAVY_TESTS_RE)' | tr '\n' ' '; echo
.PHONY: print-tests print-light-tests

# Test backends (tests/modules): broken descriptors the loader refuses,
# one that records the requests it gets, and two that lie about their
# capabilities for the verifier to catch (tests/verify).
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

include tests/host/local.mk
include tests/spawn/local.mk
include tests/docker/local.mk
include tests/rootless/local.mk
include tests/agent/local.mk
include tests/sdk/local.mk
include tests/verify/local.mk
include tests/bench/local.mk
include tests/proxy/local.mk
