# The benchmark suite: `make bench` (arguments in BENCH_ARGS, e.g.
# BENCH_ARGS='-n 50 --json').  Prints figures; never part of make check.
# Same as: MONKEY_BACKEND_PATH=$PWD/plugins/spawn/.libs:$PWD/plugins/none/.libs:$PWD/plugins/docker/.libs:$PWD/plugins/rootless/.libs
#          tests/bench/bench [-n N] [-l N] [-m N] [-t N] [--image IMG] [--json]
BENCH_TEST_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/tests/bench
EXTRA_PROGRAMS += tests/bench/bench
tests_bench_bench_SOURCES = tests/bench/bench.c
tests_bench_bench_CPPFLAGS = $(BENCH_TEST_CPPFLAGS)
tests_bench_bench_CFLAGS = $(AM_CFLAGS) -pthread
tests_bench_bench_LDADD = libmonkey.la $(PTHREAD_LIBS)
CLEANFILES += tests/bench/bench$(EXEEXT)

.PHONY: bench
bench: tests/bench/bench$(EXEEXT) monkey$(EXEEXT) $(backend_LTLIBRARIES) $(pkglibexec_SCRIPTS)
	MONKEY_BACKEND_PATH='$(abs_top_builddir)/plugins/spawn/.libs:$(abs_top_builddir)/plugins/none/.libs:$(abs_top_builddir)/plugins/docker/.libs:$(abs_top_builddir)/plugins/rootless/.libs' \
	MONKEY_DOCKER_IMAGE=$${MONKEY_DOCKER_IMAGE:-monkey-test:busybox} \
	MONKEY_BUILDDIR='$(abs_top_builddir)' \
	./tests/bench/bench $(BENCH_ARGS)
	if test -e plugins/docker/docker.la; then \
	  MONKEY_BACKEND_PATH='$(abs_top_builddir)/plugins/docker/.libs' \
	  MONKEY_DOCKER_IMAGE=$${MONKEY_DOCKER_IMAGE:-monkey-test:busybox} \
	  MONKEY_BUILDDIR='$(abs_top_builddir)' \
	  MONKEY_SRCDIR='$(abs_top_srcdir)' \
	  sh $(srcdir)/tests/bench/bench_agent_session.sh; \
	fi
EXTRA_DIST += tests/bench/bench_agent_session.sh

# The egress proxy's benchmark: `make bench-proxy` (BENCH_ARGS='-n 1000
# --bytes N --no-container').  Its client is static so that it runs inside
# containers of the test image too.
EXTRA_PROGRAMS += tests/bench/bench_proxy
tests_bench_bench_proxy_SOURCES = tests/bench/bench_proxy.c
tests_bench_bench_proxy_CPPFLAGS = $(BENCH_TEST_CPPFLAGS)
tests_bench_bench_proxy_CFLAGS = $(AM_CFLAGS) -pthread
tests_bench_bench_proxy_LDADD = libmonkey.la $(PTHREAD_LIBS)
CLEANFILES += tests/bench/bench_proxy$(EXEEXT) tests/bench/bench-proxy-client
EXTRA_DIST += tests/bench/bench_proxy_client.c

tests/bench/bench-proxy-client: $(srcdir)/tests/bench/bench_proxy_client.c
	@$(MKDIR_P) tests/bench
	$(AM_V_CCLD)$(CC) -static -O2 -Wall -o $@ \
	    $(srcdir)/tests/bench/bench_proxy_client.c 2>/dev/null || \
	  $(CC) -O2 -Wall -o $@ $(srcdir)/tests/bench/bench_proxy_client.c

.PHONY: bench-proxy
bench-proxy: tests/bench/bench_proxy$(EXEEXT) tests/bench/bench-proxy-client \
		core/proxy/monkey-proxy-forward $(backend_LTLIBRARIES)
	MONKEY_BACKEND_PATH='$(abs_top_builddir)/plugins/docker/.libs:$(abs_top_builddir)/plugins/spawn/.libs' \
	MONKEY_DOCKER_IMAGE=$${MONKEY_DOCKER_IMAGE:-monkey-test:busybox} \
	MONKEY_BUILDDIR='$(abs_top_builddir)' \
	./tests/bench/bench_proxy $(BENCH_ARGS)
