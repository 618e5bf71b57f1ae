# monkey: the command-line program, a thin layer over libmonkey.  Only
# this layer prints or exits.
bin_PROGRAMS += monkey
monkey_SOURCES = \
	core/cli/cli_main.c core/cli/cli.h \
	core/cli/cli_opts.c \
	core/cli/cli_exec.c \
	core/cli/cli_sandbox.c \
	core/cli/cli_agent.c \
	core/cli/approval_tty.c \
	core/cli/cli_replay.c
monkey_CPPFLAGS = $(AM_CPPFLAGS) $(CORE_CPPFLAGS)
monkey_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
monkey_LDADD = libmonkey.la $(JSONC_LIBS)
