# Tests of the egress proxy: its rules, addresses and request parser (unit
# tests built from the sources, since those functions are internal to
# libmonkey), the proxy itself on real loopback sockets, the in-sandbox
# forwarder, and the whole path through a container.
PROXY_HARNESS = tests/proxy_harness.c tests/proxy_harness.h
PROXY_UNIT_SRC = core/proxy_rules.c core/proxy_addr.c core/proxy_request.c \
	core/util.c

if HAVE_CMOCKA
PROXY_TESTS = tests/test_proxy_rules tests/test_proxy_request \
	tests/test_proxy tests/test_proxy_forward
check_PROGRAMS += $(PROXY_TESTS)
TESTS += $(PROXY_TESTS)
endif

tests_test_proxy_rules_SOURCES = tests/test_proxy_rules.c $(PROXY_UNIT_SRC)
tests_test_proxy_rules_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_proxy_rules_CFLAGS = $(TEST_CFLAGS)
tests_test_proxy_rules_LDADD = $(CMOCKA_LIBS)

tests_test_proxy_request_SOURCES = tests/test_proxy_request.c $(PROXY_UNIT_SRC)
tests_test_proxy_request_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_proxy_request_CFLAGS = $(TEST_CFLAGS)
tests_test_proxy_request_LDADD = $(CMOCKA_LIBS)

tests_test_proxy_SOURCES = tests/test_proxy.c $(PROXY_HARNESS)
tests_test_proxy_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_proxy_CFLAGS = $(TEST_CFLAGS)
tests_test_proxy_LDADD = $(TEST_LIBS)

tests_test_proxy_forward_SOURCES = tests/test_proxy_forward.c $(PROXY_HARNESS)
tests_test_proxy_forward_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_proxy_forward_CFLAGS = $(TEST_CFLAGS)
tests_test_proxy_forward_LDADD = tests/libtestutil.la $(TEST_LIBS)

# The whole path through real containers; needs the docker backend and the
# static forwarder.
if BACKEND_DOCKER
if HAVE_CMOCKA
check_PROGRAMS += tests/test_proxy_docker
TESTS += tests/test_proxy_docker
endif
endif
tests_test_proxy_docker_SOURCES = tests/test_proxy_docker.c $(PROXY_HARNESS)
tests_test_proxy_docker_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_proxy_docker_CFLAGS = $(TEST_CFLAGS)
tests_test_proxy_docker_LDADD = tests/libtestutil.la $(TEST_LIBS)

# The request parser (and the option values) under libFuzzer, run by
# `make fuzz` with the other targets (see tests/agent.mk).
FUZZ_PROXY_SRC = tests/fuzz/fuzz_proxy_request.c core/proxy_request.c \
	core/proxy_rules.c core/proxy_addr.c core/util.c
tests/fuzz/fuzz-proxy: $(FUZZ_PROXY_SRC:%=$(top_srcdir)/%) config.h
	@$(MKDIR_P) tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CPPFLAGS) -o $@ \
		$(FUZZ_PROXY_SRC:%=$(top_srcdir)/%)

fuzz-proxy: tests/fuzz/fuzz-proxy
	@$(MKDIR_P) tests/fuzz/work-proxy
	tests/fuzz/fuzz-proxy -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		$(FUZZ_ARGS) tests/fuzz/work-proxy \
		$(top_srcdir)/tests/fuzz/corpus/proxy

fuzz: fuzz-proxy
clean-fuzz: clean-fuzz-proxy
clean-fuzz-proxy:
	-rm -rf tests/fuzz/work-proxy
.PHONY: fuzz-proxy clean-fuzz-proxy
CLEANFILES += tests/fuzz/fuzz-proxy
EXTRA_DIST += tests/fuzz/fuzz_proxy_request.c

# The benchmark: `make bench-proxy` (BENCH_ARGS='-n 1000 --bytes N
# --no-container').  Prints figures; never part of make check.  Its client
# is static so that it runs inside containers of the test image too.
EXTRA_PROGRAMS += tests/bench_proxy
tests_bench_proxy_SOURCES = tests/bench_proxy.c
tests_bench_proxy_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_proxy_CFLAGS = $(AM_CFLAGS) -pthread
tests_bench_proxy_LDADD = libmonkey.la $(PTHREAD_LIBS)
CLEANFILES += tests/bench_proxy$(EXEEXT) tests/bench-proxy-client
EXTRA_DIST += tests/bench_proxy_client.c

tests/bench-proxy-client: $(srcdir)/tests/bench_proxy_client.c
	@$(MKDIR_P) tests
	$(AM_V_CCLD)$(CC) -static -O2 -Wall -o $@ \
	    $(srcdir)/tests/bench_proxy_client.c 2>/dev/null || \
	  $(CC) -O2 -Wall -o $@ $(srcdir)/tests/bench_proxy_client.c

.PHONY: bench-proxy
bench-proxy: tests/bench_proxy$(EXEEXT) tests/bench-proxy-client \
		core/monkey-proxy-forward $(backend_LTLIBRARIES)
	MONKEY_BACKEND_PATH='$(abs_top_builddir)/plugins/docker/.libs:$(abs_top_builddir)/plugins/spawn/.libs' \
	MONKEY_DOCKER_IMAGE=$${MONKEY_DOCKER_IMAGE:-monkey-test:busybox} \
	MONKEY_BUILDDIR='$(abs_top_builddir)' \
	./tests/bench_proxy $(BENCH_ARGS)
