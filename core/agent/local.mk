# The agent (in libmonkey): the loop, LLM providers, tools, transcripts and
# replay.  "monkey agent" and "monkey replay" are in core/cli.
noinst_LTLIBRARIES += core/agent/libagent.la
core_agent_libagent_la_SOURCES = \
	core/agent/agent.c core/agent/agent_internal.h \
	core/agent/agent_config.c core/agent/agent_config.h \
	core/agent/agent_history.c core/agent/agent_history.h \
	core/agent/agent_record.c \
	core/agent/agent_audit.c \
	core/agent/agent_tools.c core/agent/agent_jobs.c core/agent/agent_jobs.h \
	core/agent/provider.c core/agent/provider.h \
	core/agent/provider_http.c \
	core/agent/provider_anthropic.c \
	core/agent/provider_openai.c \
	core/agent/sse.c core/agent/sse.h \
	core/agent/tools.c core/agent/tools.h \
	core/agent/tools_path.c \
	core/agent/tools_fs.c \
	core/agent/tools_diff.c \
	core/agent/tools_shell.c \
	core/agent/transcript.c core/agent/transcript.h \
	core/agent/transcript_dir.c core/agent/transcript_dir.h \
	core/agent/transcript_hash.c core/agent/transcript_hash.h \
	core/agent/audit.c core/agent/audit.h \
	core/agent/audit_verify.c \
	core/agent/replay.c core/agent/replay.h \
	core/agent/replay_load.c
core_agent_libagent_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/core/lib -I$(top_srcdir)/core/agent
core_agent_libagent_la_CFLAGS = $(LIB_CFLAGS) $(CURL_CFLAGS)
libmonkey_internal_la_LIBADD += core/agent/libagent.la -lm

pkginclude_HEADERS += include/monkey/agent.h include/monkey/replay.h \
	include/monkey/audit.h
