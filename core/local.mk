# libmonkey: loader, executor and (later) the agent runner; monkey: the CLI.
lib_LTLIBRARIES += libmonkey.la
libmonkey_la_SOURCES = \
	core/loader.c core/loader.h \
	core/executor.c \
	core/sandbox.c \
	core/env.c core/env.h \
	core/capture.c core/capture.h \
	core/paths.c core/paths.h \
	core/util.c core/util.h \
	core/escape.c core/escape.h \
	core/jsonout.c core/jsonout.h
libmonkey_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CURL_CFLAGS) -pthread
libmonkey_la_LIBADD = $(LTDL_LIBS) $(JSONC_LIBS) $(CURL_LIBS) $(PTHREAD_LIBS)
libmonkey_la_LDFLAGS = -version-info 0:0:0 -no-undefined

pkginclude_HEADERS += include/monkey/backend.h include/monkey/error.h \
	include/monkey/exec.h include/monkey/sandbox.h

bin_PROGRAMS += monkey
monkey_SOURCES = \
	core/cli_main.c core/cli.h \
	core/cli_opts.c \
	core/cli_exec.c \
	core/cli_sandbox.c
monkey_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
monkey_LDADD = libmonkey.la $(JSONC_LIBS)
