# Tests of the agent: unit tests of its parts, end-to-end runs of
# "monkey agent" against tests/llm_server.py (a local server speaking the
# Anthropic and OpenAI wire formats on 127.0.0.1), and fuzz targets.
check_LTLIBRARIES += tests/libagentharness.la
tests_libagentharness_la_SOURCES = tests/test_agent_harness.c \
	tests/test_agent_harness.h
tests_libagentharness_la_CPPFLAGS = $(TEST_CPPFLAGS)
tests_libagentharness_la_CFLAGS = $(TEST_CFLAGS)

AGENT_TEST_LIBS = tests/libagentharness.la tests/libtestutil.la $(TEST_LIBS)

# The agent's commands run through the default backend, spawn; a build
# without it (a distribution's split) runs only the unit tests.
agent_tests = tests/test_agent_units tests/test_tools_diff tests/test_agent_fs_full
if BACKEND_SPAWN
agent_tests += tests/test_agent_tools tests/test_agent_http \
	tests/test_agent_cli tests/test_agent_replay tests/test_agent_approval \
	tests/test_agent_api tests/test_agent_tty tests/test_agent_protect \
	tests/test_agent_show
if BACKEND_DOCKER
agent_tests += tests/test_agent_docker
endif
endif
check_PROGRAMS += $(agent_tests)
TESTS += $(agent_tests)

tests_test_agent_units_SOURCES = tests/test_agent_units.c
tests_test_agent_units_CPPFLAGS = $(TEST_CPPFLAGS) $(CURL_CFLAGS)
tests_test_agent_units_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_units_LDADD = $(TEST_LIBS)

tests_test_tools_diff_SOURCES = tests/test_tools_diff.c
tests_test_tools_diff_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_tools_diff_CFLAGS = $(TEST_CFLAGS)
tests_test_tools_diff_LDADD = $(TEST_LIBS)
# write_file/edit_file on a full tmpfs (SKIP where mounting is refused).
tests_test_agent_fs_full_SOURCES = tests/test_agent_fs_full.c
tests_test_agent_fs_full_CPPFLAGS = $(TEST_CPPFLAGS) $(CURL_CFLAGS)
tests_test_agent_fs_full_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_fs_full_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_tools_SOURCES = tests/test_agent_tools.c
tests_test_agent_tools_CPPFLAGS = $(TEST_CPPFLAGS) $(CURL_CFLAGS)
tests_test_agent_tools_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_tools_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_http_SOURCES = tests/test_agent_http.c
tests_test_agent_http_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_http_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_http_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_cli_SOURCES = tests/test_agent_cli.c
tests_test_agent_cli_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_cli_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_cli_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_replay_SOURCES = tests/test_agent_replay.c
tests_test_agent_replay_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_replay_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_replay_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_approval_SOURCES = tests/test_agent_approval.c
tests_test_agent_approval_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_approval_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_approval_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_tty_SOURCES = tests/test_agent_tty.c
tests_test_agent_tty_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_tty_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_tty_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_protect_SOURCES = tests/test_agent_protect.c
tests_test_agent_protect_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_protect_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_protect_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_show_SOURCES = tests/test_agent_show.c
tests_test_agent_show_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_show_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_show_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_api_SOURCES = tests/test_agent_api.c
tests_test_agent_api_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_api_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_api_LDADD = $(AGENT_TEST_LIBS)

tests_test_agent_docker_SOURCES = tests/test_agent_docker.c
tests_test_agent_docker_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_agent_docker_CFLAGS = $(TEST_CFLAGS)
tests_test_agent_docker_LDADD = $(AGENT_TEST_LIBS)

EXTRA_DIST += tests/llm_server.py tests/agent

# Figures for the agent's hot paths: make bench-agent
EXTRA_PROGRAMS += tests/bench_agent
tests_bench_agent_SOURCES = tests/bench_agent.c
tests_bench_agent_CPPFLAGS = $(TEST_CPPFLAGS) $(CURL_CFLAGS)
tests_bench_agent_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_bench_agent_LDADD = libmonkey.la $(JSONC_LIBS)
CLEANFILES += tests/bench_agent$(EXEEXT)

.PHONY: bench-agent
bench-agent: tests/bench_agent$(EXEEXT)
	./tests/bench_agent

# Fuzz targets (libFuzzer, clang), not part of "make check":
#   make fuzz             every target, FUZZ_SECONDS (30) each
#   make fuzz-sse         SSE parser + provider stream handlers
#   make fuzz-tools       tool arguments, path confinement, quoting
#   make fuzz-replay      transcripts as replay reads them
# New inputs that grow coverage are kept in tests/fuzz/work-* in the build
# tree; the seeds in tests/fuzz/corpus are never written to.
FUZZ_CC = clang
FUZZ_SECONDS = 30
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_CPPFLAGS = -I$(top_builddir) -I$(top_srcdir)/include \
	-I$(top_srcdir)/core/lib -I$(top_srcdir)/core/agent \
	$(JSONC_CFLAGS) $(CURL_CFLAGS)
FUZZ_SSE_SRC = tests/fuzz/fuzz_sse.c core/agent/sse.c core/agent/provider.c \
	core/agent/provider_http.c core/agent/provider_anthropic.c \
	core/agent/provider_openai.c core/agent/agent_history.c core/lib/capture.c \
	core/lib/util.c
FUZZ_REPLAY_SRC = tests/fuzz/fuzz_replay.c core/agent/replay_load.c core/lib/util.c
FUZZ_TOOLS_SRC = tests/fuzz/fuzz_tools.c core/agent/tools.c \
	core/agent/tools_path.c core/agent/tools_fs.c core/agent/tools_diff.c core/lib/quote.c \
	core/lib/escape.c core/lib/capture.c core/lib/util.c

tests/fuzz/fuzz-sse: $(FUZZ_SSE_SRC:%=$(top_srcdir)/%) config.h
	@$(MKDIR_P) tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CPPFLAGS) -o $@ \
		$(FUZZ_SSE_SRC:%=$(top_srcdir)/%) $(JSONC_LIBS) $(CURL_LIBS) -lm

tests/fuzz/fuzz-tools: $(FUZZ_TOOLS_SRC:%=$(top_srcdir)/%) config.h
	@$(MKDIR_P) tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CPPFLAGS) -o $@ \
		$(FUZZ_TOOLS_SRC:%=$(top_srcdir)/%) $(JSONC_LIBS) $(CURL_LIBS)

tests/fuzz/fuzz-replay: $(FUZZ_REPLAY_SRC:%=$(top_srcdir)/%) config.h
	@$(MKDIR_P) tests/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CPPFLAGS) -o $@ \
		$(FUZZ_REPLAY_SRC:%=$(top_srcdir)/%) $(JSONC_LIBS) -lm

fuzz-sse: tests/fuzz/fuzz-sse
	@$(MKDIR_P) tests/fuzz/work-sse
	tests/fuzz/fuzz-sse -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		$(FUZZ_ARGS) tests/fuzz/work-sse $(top_srcdir)/tests/fuzz/corpus/sse

fuzz-tools: tests/fuzz/fuzz-tools
	@$(MKDIR_P) tests/fuzz/work-tools
	tests/fuzz/fuzz-tools -max_total_time=$(FUZZ_SECONDS) -max_len=1024 \
		$(FUZZ_ARGS) tests/fuzz/work-tools \
		$(top_srcdir)/tests/fuzz/corpus/tools

fuzz-replay: tests/fuzz/fuzz-replay
	@$(MKDIR_P) tests/fuzz/work-replay
	tests/fuzz/fuzz-replay -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		$(FUZZ_ARGS) tests/fuzz/work-replay \
		$(top_srcdir)/tests/fuzz/corpus/replay

fuzz: fuzz-sse fuzz-tools fuzz-replay

.PHONY: fuzz fuzz-sse fuzz-tools fuzz-replay
CLEANFILES += tests/fuzz/fuzz-sse tests/fuzz/fuzz-tools tests/fuzz/fuzz-replay
clean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/fuzz/work-sse tests/fuzz/work-tools tests/fuzz/work-replay
EXTRA_DIST += tests/fuzz/fuzz_sse.c tests/fuzz/fuzz_tools.c \
	tests/fuzz/fuzz_replay.c tests/fuzz/corpus
