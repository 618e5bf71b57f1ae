# Tests of the agent: unit tests of its parts, end-to-end runs of
# "monkey agent" against llm_server.py (a local server speaking the
# Anthropic and OpenAI wire formats on 127.0.0.1, playing the scripts in
# scripts/), and fuzz targets (fuzz/).
AGENT_TEST_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/tests/agent
check_LTLIBRARIES += tests/agent/libagentharness.la
tests_agent_libagentharness_la_SOURCES = tests/agent/test_agent_harness.c \
	tests/agent/test_agent_harness.h
tests_agent_libagentharness_la_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_libagentharness_la_CFLAGS = $(TEST_CFLAGS)

AGENT_TEST_LIBS = tests/agent/libagentharness.la tests/libtestutil.la \
	$(TEST_LIBS)
AGENT_INTERNAL_TEST_LIBS = tests/agent/libagentharness.la \
	tests/libtestutil.la $(INTERNAL_TEST_LIBS)

# The agent's commands run through the default backend, spawn; a build
# without it (a distribution's split) runs only the unit tests.
agent_tests = tests/agent/test_agent_units tests/agent/test_tools_diff \
	tests/agent/test_agent_fs_full
if BACKEND_SPAWN
agent_tests += tests/agent/test_agent_tools tests/agent/test_agent_http \
	tests/agent/test_agent_cli tests/agent/test_agent_replay \
	tests/agent/test_agent_approval \
	tests/agent/test_agent_api tests/agent/test_agent_tty \
	tests/agent/test_agent_protect \
	tests/agent/test_agent_show tests/agent/test_agent_audit \
	tests/agent/test_agent_jobs
if BACKEND_DOCKER
agent_tests += tests/agent/test_agent_docker
endif
endif
check_PROGRAMS += $(agent_tests)
TESTS += $(agent_tests)
# The job scenarios again in one rootless sandbox per run.
if BACKEND_SPAWN
if BACKEND_ROOTLESS
TESTS += tests/agent/test_agent_jobs_rootless.sh
endif
endif
EXTRA_DIST += tests/agent/test_agent_jobs_rootless.sh

tests_agent_test_agent_units_SOURCES = tests/agent/test_agent_units.c
tests_agent_test_agent_units_CPPFLAGS = $(AGENT_TEST_CPPFLAGS) $(CURL_CFLAGS)
tests_agent_test_agent_units_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_units_LDADD = $(INTERNAL_TEST_LIBS)

tests_agent_test_tools_diff_SOURCES = tests/agent/test_tools_diff.c
tests_agent_test_tools_diff_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_tools_diff_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_tools_diff_LDADD = $(INTERNAL_TEST_LIBS)
# write_file/edit_file on a full tmpfs (SKIP where mounting is refused).
tests_agent_test_agent_fs_full_SOURCES = tests/agent/test_agent_fs_full.c
tests_agent_test_agent_fs_full_CPPFLAGS = $(AGENT_TEST_CPPFLAGS) $(CURL_CFLAGS)
tests_agent_test_agent_fs_full_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_fs_full_LDADD = $(AGENT_INTERNAL_TEST_LIBS)

tests_agent_test_agent_tools_SOURCES = tests/agent/test_agent_tools.c
tests_agent_test_agent_tools_CPPFLAGS = $(AGENT_TEST_CPPFLAGS) $(CURL_CFLAGS)
tests_agent_test_agent_tools_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_tools_LDADD = $(AGENT_INTERNAL_TEST_LIBS)

tests_agent_test_agent_http_SOURCES = tests/agent/test_agent_http.c
tests_agent_test_agent_http_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_http_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_http_LDADD = $(AGENT_TEST_LIBS)

tests_agent_test_agent_audit_SOURCES = tests/agent/test_agent_audit.c
tests_agent_test_agent_audit_CPPFLAGS = $(AGENT_TEST_CPPFLAGS) \
	-I$(top_srcdir)/core/agent -I$(top_srcdir)/core/lib
tests_agent_test_agent_audit_CFLAGS = $(TEST_CFLAGS) $(JSONC_CFLAGS)
tests_agent_test_agent_audit_LDADD = $(AGENT_INTERNAL_TEST_LIBS)

tests_agent_test_agent_cli_SOURCES = tests/agent/test_agent_cli.c
tests_agent_test_agent_cli_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_cli_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_cli_LDADD = $(AGENT_TEST_LIBS)

tests_agent_test_agent_replay_SOURCES = tests/agent/test_agent_replay.c
tests_agent_test_agent_replay_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_replay_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_replay_LDADD = $(AGENT_TEST_LIBS)

tests_agent_test_agent_approval_SOURCES = tests/agent/test_agent_approval.c
tests_agent_test_agent_approval_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_approval_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_approval_LDADD = $(AGENT_TEST_LIBS)

tests_agent_test_agent_tty_SOURCES = tests/agent/test_agent_tty.c
tests_agent_test_agent_tty_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_tty_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_tty_LDADD = $(AGENT_TEST_LIBS)

tests_agent_test_agent_protect_SOURCES = tests/agent/test_agent_protect.c
tests_agent_test_agent_protect_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_protect_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_protect_LDADD = $(AGENT_TEST_LIBS)

tests_agent_test_agent_show_SOURCES = tests/agent/test_agent_show.c
tests_agent_test_agent_show_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_show_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_show_LDADD = $(AGENT_TEST_LIBS)

tests_agent_test_agent_api_SOURCES = tests/agent/test_agent_api.c
tests_agent_test_agent_api_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_api_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_api_LDADD = $(AGENT_TEST_LIBS)

tests_agent_test_agent_jobs_SOURCES = tests/agent/test_agent_jobs.c
tests_agent_test_agent_jobs_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_jobs_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_jobs_LDADD = $(AGENT_TEST_LIBS)

tests_agent_test_agent_docker_SOURCES = tests/agent/test_agent_docker.c
tests_agent_test_agent_docker_CPPFLAGS = $(AGENT_TEST_CPPFLAGS)
tests_agent_test_agent_docker_CFLAGS = $(TEST_CFLAGS)
tests_agent_test_agent_docker_LDADD = $(AGENT_TEST_LIBS)

EXTRA_DIST += tests/agent/llm_server.py tests/agent/scripts

# Figures for the agent's hot paths: make bench-agent
EXTRA_PROGRAMS += tests/agent/bench_agent
tests_agent_bench_agent_SOURCES = tests/agent/bench_agent.c
tests_agent_bench_agent_CPPFLAGS = $(AGENT_TEST_CPPFLAGS) $(CURL_CFLAGS)
tests_agent_bench_agent_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_agent_bench_agent_LDADD = libmonkey-internal.la $(JSONC_LIBS)
CLEANFILES += tests/agent/bench_agent$(EXEEXT)

.PHONY: bench-agent
bench-agent: tests/agent/bench_agent$(EXEEXT)
	./tests/agent/bench_agent

# Fuzz targets (libFuzzer, clang), not part of "make check":
#   make fuzz             every target, FUZZ_SECONDS (30) each
#   make fuzz-sse         SSE parser + provider stream handlers
#   make fuzz-tools       tool arguments, path confinement, quoting
#   make fuzz-replay      transcripts as replay reads them
# New inputs that grow coverage are kept in tests/agent/fuzz/work-* in the build
# tree; the seeds in tests/agent/fuzz/corpus are never written to.
FUZZ_CC = clang
FUZZ_SECONDS = 30
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_CPPFLAGS = -I$(top_builddir) -I$(top_srcdir)/include \
	-I$(top_srcdir)/core/base \
	-I$(top_srcdir)/core/lib -I$(top_srcdir)/core/agent \
	-I$(top_srcdir)/core/proxy \
	$(JSONC_CFLAGS) $(CURL_CFLAGS)
FUZZ_SSE_SRC = tests/agent/fuzz/fuzz_sse.c core/agent/sse.c \
	core/agent/provider.c \
	core/agent/provider_http.c core/agent/provider_anthropic.c \
	core/agent/provider_openai.c core/agent/agent_history.c core/lib/capture.c \
	core/lib/util.c
FUZZ_REPLAY_SRC = tests/agent/fuzz/fuzz_replay.c core/agent/replay_load.c \
	core/lib/util.c
# tools_shell.c (the shell tool's working directory) brings the executor
# it runs commands through, with its sessions, caches and egress proxy.
FUZZ_TOOLS_SRC = tests/agent/fuzz/fuzz_tools.c core/agent/tools.c \
	core/agent/tools_path.c core/agent/tools_fs.c core/agent/tools_diff.c \
	core/agent/tools_shell.c core/agent/transcript_hash.c \
	core/lib/executor.c core/lib/loader.c core/lib/env.c core/lib/paths.c \
	core/lib/quote.c core/lib/executor_proxy.c core/lib/caches.c \
	core/lib/session.c \
	core/lib/escape.c core/lib/capture.c core/lib/util.c \
	core/proxy/proxy.c core/proxy/proxy_conn.c core/proxy/proxy_dial.c \
	core/proxy/proxy_relay.c core/proxy/proxy_record.c \
	core/proxy/proxy_request.c core/proxy/proxy_rules.c \
	core/proxy/proxy_addr.c

tests/agent/fuzz/fuzz-sse: $(FUZZ_SSE_SRC:%=$(top_srcdir)/%) config.h
	@$(MKDIR_P) tests/agent/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CPPFLAGS) -o $@ \
		$(FUZZ_SSE_SRC:%=$(top_srcdir)/%) $(JSONC_LIBS) $(CURL_LIBS) -lm

tests/agent/fuzz/fuzz-tools: $(FUZZ_TOOLS_SRC:%=$(top_srcdir)/%) config.h
	@$(MKDIR_P) tests/agent/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CPPFLAGS) \
		-DMONKEY_BACKEND_DIR='"$(backenddir)"' -o $@ \
		$(FUZZ_TOOLS_SRC:%=$(top_srcdir)/%) $(JSONC_LIBS) $(CURL_LIBS) \
		$(LTDL_LIBS) -pthread

tests/agent/fuzz/fuzz-replay: $(FUZZ_REPLAY_SRC:%=$(top_srcdir)/%) config.h
	@$(MKDIR_P) tests/agent/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CPPFLAGS) -o $@ \
		$(FUZZ_REPLAY_SRC:%=$(top_srcdir)/%) $(JSONC_LIBS) -lm

fuzz-sse: tests/agent/fuzz/fuzz-sse
	@$(MKDIR_P) tests/agent/fuzz/work-sse
	tests/agent/fuzz/fuzz-sse -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		$(FUZZ_ARGS) tests/agent/fuzz/work-sse $(top_srcdir)/tests/agent/fuzz/corpus/sse

fuzz-tools: tests/agent/fuzz/fuzz-tools
	@$(MKDIR_P) tests/agent/fuzz/work-tools
	tests/agent/fuzz/fuzz-tools -max_total_time=$(FUZZ_SECONDS) -max_len=1024 \
		$(FUZZ_ARGS) tests/agent/fuzz/work-tools \
		$(top_srcdir)/tests/agent/fuzz/corpus/tools

fuzz-replay: tests/agent/fuzz/fuzz-replay
	@$(MKDIR_P) tests/agent/fuzz/work-replay
	tests/agent/fuzz/fuzz-replay -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		$(FUZZ_ARGS) tests/agent/fuzz/work-replay \
		$(top_srcdir)/tests/agent/fuzz/corpus/replay

fuzz: fuzz-sse fuzz-tools fuzz-replay

.PHONY: fuzz fuzz-sse fuzz-tools fuzz-replay
CLEANFILES += tests/agent/fuzz/fuzz-sse tests/agent/fuzz/fuzz-tools \
	tests/agent/fuzz/fuzz-replay
clean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/agent/fuzz/work-sse tests/agent/fuzz/work-tools tests/agent/fuzz/work-replay
EXTRA_DIST += tests/agent/fuzz/fuzz_sse.c tests/agent/fuzz/fuzz_tools.c \
	tests/agent/fuzz/fuzz_replay.c tests/agent/fuzz/corpus
