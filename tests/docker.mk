# Tests of the docker backend, run against a real engine (tests/engines.sh
# starts dockerd and podman's service; tests/make-test-image.sh builds the
# offline image).  Without an engine they skip, unless CI=true or
# MONKEY_REQUIRE_DOCKER=1 makes that a failure.
DOCKER_TEST_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
DOCKER_TEST_LIBS = $(CMOCKA_LIBS) $(JSONC_LIBS) $(CURL_LIBS) $(PTHREAD_LIBS) -ldl
DOCKER_HARNESS = tests/docker_harness.c tests/docker_harness.h

if BACKEND_DOCKER
if HAVE_CMOCKA
check_PROGRAMS += tests/test_docker tests/test_docker_errors \
	tests/test_docker_exec tests/test_docker_pool
TESTS += tests/test_docker tests/test_docker_errors tests/test_docker_exec \
	tests/test_docker_pool tests/test_docker_pooled.sh \
	tests/test_docker_direct.sh
# The CLI tests check the fallback to spawn too.
if BACKEND_SPAWN
TESTS += tests/test_docker_cli.sh tests/test_docker_podman.sh
endif
endif
endif

tests_test_docker_SOURCES = tests/test_docker.c $(DOCKER_HARNESS)
tests_test_docker_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_docker_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_test_docker_LDADD = $(DOCKER_TEST_LIBS)

tests_test_docker_errors_SOURCES = tests/test_docker_errors.c $(DOCKER_HARNESS)
tests_test_docker_errors_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_docker_errors_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_test_docker_errors_LDADD = $(DOCKER_TEST_LIBS)

tests_test_docker_exec_SOURCES = tests/test_docker_exec.c $(DOCKER_HARNESS)
tests_test_docker_exec_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_docker_exec_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_test_docker_exec_LDADD = $(DOCKER_TEST_LIBS)

tests_test_docker_pool_SOURCES = tests/test_docker_pool.c $(DOCKER_HARNESS)
tests_test_docker_pool_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_docker_pool_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_test_docker_pool_LDADD = $(DOCKER_TEST_LIBS)

EXTRA_DIST += tests/test_docker_pooled.sh tests/test_docker_direct.sh \
	tests/docker_suites.sh
EXTRA_DIST += tests/engines.sh tests/make-test-image.sh tests/test_docker_cli.sh \
	tests/test_docker_podman.sh

# Benchmark: prints figures, never part of make check.
EXTRA_PROGRAMS += tests/bench_docker
tests_bench_docker_SOURCES = tests/bench_docker.c $(DOCKER_HARNESS)
tests_bench_docker_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_docker_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_bench_docker_LDADD = $(DOCKER_TEST_LIBS)
CLEANFILES += tests/bench_docker$(EXEEXT)

.PHONY: bench-docker
bench-docker: tests/bench_docker$(EXEEXT) monkey$(EXEEXT) $(backend_LTLIBRARIES)
	MONKEY_BUILDDIR='$(abs_top_builddir)' \
	MONKEY_BACKEND_PATH='$(abs_top_builddir)/plugins/docker/.libs:$(abs_top_builddir)/plugins/spawn/.libs' \
	./tests/bench_docker $(BENCH_ARGS)
