# Tests: cmocka unit tests, integration tests and test-only modules.
# Each area keeps its own fragment.
TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests \
	-DMONKEY_BUILDDIR='"$(abs_top_builddir)"' \
	-DMONKEY_SRCDIR='"$(abs_top_srcdir)"'
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JSONC_CFLAGS) -pthread
TEST_LIBS = libmonkey.la $(CMOCKA_LIBS) $(JSONC_LIBS) $(PTHREAD_LIBS)

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
HEAVY_TESTS_RE = test_docker|test_rootless|test_verify_docker|test_agent_docker|test_verify$$|test_spawn_rss|test_spawn_tree|test_spawn_threads
print-tests:
	@echo $(TESTS)
print-light-tests:
	@for t in $(TESTS); do echo "$$t"; done | grep -Ev '$(HEAVY_TESTS_RE)' | tr '\n' ' '; echo
.PHONY: print-tests print-light-tests

include tests/core.mk
include tests/spawn.mk
include tests/docker.mk
include tests/rootless.mk
include tests/agent.mk
include tests/sdk.mk
include tests/verify.mk
include tests/bench.mk
