# Tests of "monkey sandbox verify": the shipped backends' claims hold, and
# two test backends that lie are caught exactly where they lie ("liar":
# network isolation and kill-tree; "flawed": every claim it makes).
VERIFY_TEST_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/tests/verify
check_LTLIBRARIES += tests/modules/liar.la tests/modules/flawed.la
tests_modules_liar_la_SOURCES = tests/modules/liar.c
tests_modules_liar_la_CFLAGS = $(TEST_MODULE_CFLAGS)
tests_modules_liar_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_flawed_la_SOURCES = tests/modules/liar.c
tests_modules_flawed_la_CFLAGS = $(TEST_MODULE_CFLAGS) -DLIAR_FLAWED
tests_modules_flawed_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)

# Both need spawn and none (and the CLI tests run them); the docker one
# the docker backend.
VERIFY_TESTS =
if BACKEND_SPAWN
if BACKEND_NONE
VERIFY_TESTS += tests/verify/test_verify
endif
endif
if BACKEND_DOCKER
VERIFY_TESTS += tests/verify/test_verify_docker
endif
check_PROGRAMS += $(VERIFY_TESTS)
TESTS += $(VERIFY_TESTS)
tests_verify_test_verify_SOURCES = tests/verify/test_verify.c
tests_verify_test_verify_CPPFLAGS = $(VERIFY_TEST_CPPFLAGS)
tests_verify_test_verify_CFLAGS = $(TEST_CFLAGS)
tests_verify_test_verify_LDADD = tests/libtestutil.la $(TEST_LIBS)
tests_verify_test_verify_docker_SOURCES = tests/verify/test_verify_docker.c
tests_verify_test_verify_docker_CPPFLAGS = $(VERIFY_TEST_CPPFLAGS)
tests_verify_test_verify_docker_CFLAGS = $(TEST_CFLAGS)
tests_verify_test_verify_docker_LDADD = tests/libtestutil.la $(TEST_LIBS)

# CI's report of every backend (tests/ci.sh runs it after "make check").
dist_noinst_SCRIPTS += tests/verify-backends.sh
