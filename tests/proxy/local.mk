# Tests of the egress proxy: its rules, addresses and request parser (unit
# tests of libmonkey's hidden functions, through libmonkey-internal.la),
# the proxy itself on real loopback sockets, the in-sandbox forwarder, and
# the whole path through a container.
PROXY_TEST_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/core/proxy \
	-I$(top_srcdir)/tests/proxy
PROXY_HARNESS = tests/proxy/proxy_harness.c tests/proxy/proxy_harness.h

if HAVE_CMOCKA
PROXY_TESTS = tests/proxy/test_proxy_rules tests/proxy/test_proxy_request \
	tests/proxy/test_proxy tests/proxy/test_proxy_forward
check_PROGRAMS += $(PROXY_TESTS)
TESTS += $(PROXY_TESTS)
endif

tests_proxy_test_proxy_rules_SOURCES = tests/proxy/test_proxy_rules.c
tests_proxy_test_proxy_rules_CPPFLAGS = $(PROXY_TEST_CPPFLAGS)
tests_proxy_test_proxy_rules_CFLAGS = $(TEST_CFLAGS)
tests_proxy_test_proxy_rules_LDADD = $(INTERNAL_TEST_LIBS)

tests_proxy_test_proxy_request_SOURCES = tests/proxy/test_proxy_request.c
tests_proxy_test_proxy_request_CPPFLAGS = $(PROXY_TEST_CPPFLAGS)
tests_proxy_test_proxy_request_CFLAGS = $(TEST_CFLAGS)
tests_proxy_test_proxy_request_LDADD = $(INTERNAL_TEST_LIBS)

tests_proxy_test_proxy_SOURCES = tests/proxy/test_proxy.c $(PROXY_HARNESS)
tests_proxy_test_proxy_CPPFLAGS = $(PROXY_TEST_CPPFLAGS)
tests_proxy_test_proxy_CFLAGS = $(TEST_CFLAGS)
tests_proxy_test_proxy_LDADD = $(TEST_LIBS)

tests_proxy_test_proxy_forward_SOURCES = tests/proxy/test_proxy_forward.c \
	$(PROXY_HARNESS)
tests_proxy_test_proxy_forward_CPPFLAGS = $(PROXY_TEST_CPPFLAGS)
tests_proxy_test_proxy_forward_CFLAGS = $(TEST_CFLAGS)
tests_proxy_test_proxy_forward_LDADD = tests/libtestutil.la $(TEST_LIBS)
EXTRA_tests_proxy_test_proxy_forward_DEPENDENCIES = \
	core/proxy/monkey-proxy-forward

# The whole path through real containers; needs the docker backend and the
# static forwarder.
if BACKEND_DOCKER
if HAVE_CMOCKA
check_PROGRAMS += tests/proxy/test_proxy_docker
TESTS += tests/proxy/test_proxy_docker
endif
endif
tests_proxy_test_proxy_docker_SOURCES = tests/proxy/test_proxy_docker.c \
	$(PROXY_HARNESS)
tests_proxy_test_proxy_docker_CPPFLAGS = $(PROXY_TEST_CPPFLAGS)
tests_proxy_test_proxy_docker_CFLAGS = $(TEST_CFLAGS)
tests_proxy_test_proxy_docker_LDADD = tests/libtestutil.la $(TEST_LIBS)
EXTRA_tests_proxy_test_proxy_docker_DEPENDENCIES = \
	core/proxy/monkey-proxy-forward

# Proxy mode through the monkey program: docker and podman, and the
# spawn backend's warning.
if BACKEND_DOCKER
if BACKEND_SPAWN
if HAVE_CMOCKA
check_PROGRAMS += tests/proxy/test_proxy_cli
TESTS += tests/proxy/test_proxy_cli
endif
endif
endif
tests_proxy_test_proxy_cli_SOURCES = tests/proxy/test_proxy_cli.c \
	$(PROXY_HARNESS)
tests_proxy_test_proxy_cli_CPPFLAGS = $(PROXY_TEST_CPPFLAGS)
tests_proxy_test_proxy_cli_CFLAGS = $(TEST_CFLAGS)
tests_proxy_test_proxy_cli_LDADD = tests/libtestutil.la $(TEST_LIBS)
EXTRA_tests_proxy_test_proxy_cli_DEPENDENCIES = \
	core/proxy/monkey-proxy-forward

# The request parser (and the option values) under libFuzzer, run by
# `make fuzz` with the other targets (see tests/agent/local.mk).
FUZZ_PROXY_SRC = tests/agent/fuzz/fuzz_proxy_request.c \
	core/proxy/proxy_request.c core/proxy/proxy_rules.c \
	core/proxy/proxy_addr.c core/lib/util.c
tests/agent/fuzz/fuzz-proxy: $(FUZZ_PROXY_SRC:%=$(top_srcdir)/%) config.h
	@$(MKDIR_P) tests/agent/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CPPFLAGS) -I$(top_srcdir)/core/proxy \
		-o $@ $(FUZZ_PROXY_SRC:%=$(top_srcdir)/%)

fuzz-proxy: tests/agent/fuzz/fuzz-proxy
	@$(MKDIR_P) tests/agent/fuzz/work-proxy
	tests/agent/fuzz/fuzz-proxy -max_total_time=$(FUZZ_SECONDS) \
		-max_len=8192 $(FUZZ_ARGS) tests/agent/fuzz/work-proxy \
		$(top_srcdir)/tests/agent/fuzz/corpus/proxy

fuzz: fuzz-proxy
clean-fuzz: clean-fuzz-proxy
clean-fuzz-proxy:
	-rm -rf tests/agent/fuzz/work-proxy
.PHONY: fuzz-proxy clean-fuzz-proxy
CLEANFILES += tests/agent/fuzz/fuzz-proxy
EXTRA_DIST += tests/agent/fuzz/fuzz_proxy_request.c
