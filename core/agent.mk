# The agent: runner, LLM providers, tools, transcript and replay (in
# libmonkey), and the "monkey agent" / "monkey replay" subcommands.
libmonkey_la_SOURCES += \
	core/agent.c core/agent_internal.h \
	core/agent_config.c core/agent_config.h \
	core/agent_history.c core/agent_history.h \
	core/agent_record.c \
	core/agent_tools.c \
	core/approval.c core/approval.h \
	core/provider.c core/provider.h \
	core/provider_http.c \
	core/provider_anthropic.c \
	core/provider_openai.c \
	core/sse.c core/sse.h \
	core/tools.c core/tools.h \
	core/tools_path.c \
	core/tools_fs.c \
	core/tools_diff.c \
	core/tools_shell.c \
	core/transcript.c core/transcript.h \
	core/transcript_dir.c core/transcript_dir.h \
	core/transcript_hash.c core/transcript_hash.h \
	core/replay.c core/replay.h \
	core/replay_load.c
libmonkey_la_LIBADD += -lm

pkginclude_HEADERS += include/monkey/agent.h

monkey_SOURCES += \
	core/cli_agent.c \
	core/approval_tty.c \
	core/cli_replay.c
