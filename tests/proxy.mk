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
