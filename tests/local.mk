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
# puts in .libs (monkey loads NAME.so only, never a .la).
AM_TESTS_ENVIRONMENT = \
	MONKEY_BACKEND_PATH='$(abs_top_builddir)/plugins/spawn/.libs:$(abs_top_builddir)/plugins/none/.libs:$(abs_top_builddir)/plugins/docker/.libs:$(abs_top_builddir)/plugins/rootless/.libs'; \
	MONKEY_BUILDDIR='$(abs_top_builddir)'; MONKEY_SRCDIR='$(abs_top_srcdir)'; \
	MONKEY_DOCKER_IMAGE=$${MONKEY_DOCKER_IMAGE:-monkey-test:busybox}; \
	export MONKEY_BACKEND_PATH MONKEY_BUILDDIR MONKEY_SRCDIR MONKEY_DOCKER_IMAGE;

include tests/core.mk
include tests/spawn.mk
include tests/docker.mk
include tests/rootless.mk
include tests/agent.mk
include tests/sdk.mk
include tests/verify.mk
include tests/proxy.mk
include tests/bench.mk
