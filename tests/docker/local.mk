# Tests of the docker backend, run against a real engine (tests/engines.sh
# starts dockerd and podman's service; tests/make-test-image.sh builds the
# offline image).  Without an engine they skip, unless CI=true or
# MONKEY_REQUIRE_DOCKER=1 makes that a failure.
DOCKER_TEST_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/tests/docker
DOCKER_TEST_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
DOCKER_TEST_LIBS = $(CMOCKA_LIBS) $(JSONC_LIBS) $(CURL_LIBS) $(PTHREAD_LIBS) -ldl
DOCKER_HARNESS = tests/docker/docker_harness.c tests/docker/docker_harness.h \
	tests/backend_asserts.h

if BACKEND_DOCKER
if HAVE_CMOCKA
check_PROGRAMS += tests/docker/test_docker tests/docker/test_docker_errors \
	tests/docker/test_docker_exec tests/docker/test_docker_pool \
	tests/docker/test_docker_session
TESTS += tests/docker/test_docker tests/docker/test_docker_errors \
	tests/docker/test_docker_exec \
	tests/docker/test_docker_pool tests/docker/test_docker_pooled.sh \
	tests/docker/test_docker_direct.sh tests/docker/test_docker_session \
	tests/docker/test_docker_in_session.sh
# The CLI tests check the fallback to spawn too.
if BACKEND_SPAWN
TESTS += tests/docker/test_docker_cli.sh tests/docker/test_docker_podman.sh \
	tests/docker/test_caches.sh
endif
endif
endif

tests_docker_test_docker_SOURCES = tests/docker/test_docker.c $(DOCKER_HARNESS)
tests_docker_test_docker_CPPFLAGS = $(DOCKER_TEST_CPPFLAGS)
tests_docker_test_docker_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_docker_test_docker_LDADD = $(DOCKER_TEST_LIBS)

tests_docker_test_docker_errors_SOURCES = tests/docker/test_docker_errors.c \
	$(DOCKER_HARNESS)
tests_docker_test_docker_errors_CPPFLAGS = $(DOCKER_TEST_CPPFLAGS)
tests_docker_test_docker_errors_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_docker_test_docker_errors_LDADD = $(DOCKER_TEST_LIBS)
# Its strdup stands in for the C library's in docker.so too.
tests_docker_test_docker_errors_LDFLAGS = -rdynamic

tests_docker_test_docker_exec_SOURCES = tests/docker/test_docker_exec.c \
	$(DOCKER_HARNESS)
tests_docker_test_docker_exec_CPPFLAGS = $(DOCKER_TEST_CPPFLAGS)
tests_docker_test_docker_exec_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_docker_test_docker_exec_LDADD = $(DOCKER_TEST_LIBS)

tests_docker_test_docker_pool_SOURCES = tests/docker/test_docker_pool.c \
	$(DOCKER_HARNESS)
tests_docker_test_docker_pool_CPPFLAGS = $(DOCKER_TEST_CPPFLAGS)
tests_docker_test_docker_pool_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_docker_test_docker_pool_LDADD = $(DOCKER_TEST_LIBS)

tests_docker_test_docker_session_SOURCES = \
	tests/docker/test_docker_session.c $(DOCKER_HARNESS)
tests_docker_test_docker_session_CPPFLAGS = $(DOCKER_TEST_CPPFLAGS)
tests_docker_test_docker_session_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_docker_test_docker_session_LDADD = $(DOCKER_TEST_LIBS)

EXTRA_DIST += tests/docker/test_docker_pooled.sh \
	tests/docker/test_docker_in_session.sh \
	tests/docker/test_docker_direct.sh \
	tests/docker/docker_suites.sh
EXTRA_DIST += tests/engines.sh tests/make-test-image.sh \
	tests/docker/test_docker_cli.sh \
	tests/docker/test_docker_podman.sh tests/docker/test_caches.sh

# Benchmark: prints figures, never part of make check.
EXTRA_PROGRAMS += tests/docker/bench_docker
tests_docker_bench_docker_SOURCES = tests/docker/bench_docker.c \
	$(DOCKER_HARNESS)
tests_docker_bench_docker_CPPFLAGS = $(DOCKER_TEST_CPPFLAGS)
tests_docker_bench_docker_CFLAGS = $(DOCKER_TEST_CFLAGS)
tests_docker_bench_docker_LDADD = $(DOCKER_TEST_LIBS)
CLEANFILES += tests/docker/bench_docker$(EXEEXT)

.PHONY: bench-docker
bench-docker: tests/docker/bench_docker$(EXEEXT) monkey$(EXEEXT) $(backend_LTLIBRARIES)
	MONKEY_BUILDDIR='$(abs_top_builddir)' \
	MONKEY_BACKEND_PATH='$(abs_top_builddir)/plugins/docker/.libs:$(abs_top_builddir)/plugins/spawn/.libs' \
	./tests/docker/bench_docker $(BENCH_ARGS)
