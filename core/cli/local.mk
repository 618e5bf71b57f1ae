# monkey: the command-line program, a thin layer over libmonkey.  Only
# this layer prints or exits.
bin_PROGRAMS += monkey
monkey_SOURCES = \
	core/cli/cli_main.c core/cli/cli.h \
	core/cli/cli_opts.c \
	core/cli/cli_exec.c \
	core/cli/cli_sandbox.c \
	core/cli/cli_agent.c \
	core/cli/cli_usage.c \
	core/cli/cli_audit.c \
	core/cli/cli_cache.c \
	core/cli/approval_tty.c \
	core/cli/cli_replay.c
monkey_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core/lib \
	-I$(top_srcdir)/core/cli
monkey_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
# The helpers of core/lib/libutil.la are linked in: libmonkey does not
# export them.
monkey_LDADD = libmonkey.la core/lib/libutil.la $(JSONC_LIBS)
