# libmonkey: the backend loader and the sandbox executor (this folder), the
# backend verifier (core/verify) and the agent (core/agent).  The monkey
# program (core/cli) is built on it.
lib_LTLIBRARIES += libmonkey.la
libmonkey_la_SOURCES = \
	core/lib/loader.c core/lib/loader.h \
	core/lib/executor.c \
	core/lib/sandbox.c \
	core/lib/env.c core/lib/env.h \
	core/lib/capture.c core/lib/capture.h \
	core/lib/paths.c core/lib/paths.h \
	core/lib/util.c core/lib/util.h \
	core/lib/escape.c core/lib/escape.h \
	core/lib/quote.c core/lib/quote.h \
	core/lib/jsonout.c core/lib/jsonout.h
libmonkey_la_CPPFLAGS = $(AM_CPPFLAGS) $(CORE_CPPFLAGS) \
	-DMONKEY_PROBE_PATH='"$(pkglibexecdir)/monkey-probe"'
libmonkey_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CURL_CFLAGS) -pthread
libmonkey_la_LIBADD = $(LTDL_LIBS) $(JSONC_LIBS) $(CURL_LIBS) $(PTHREAD_LIBS)
libmonkey_la_LDFLAGS = -version-info 0:0:0 -no-undefined

pkginclude_HEADERS += include/monkey/backend.h include/monkey/error.h \
	include/monkey/exec.h include/monkey/sandbox.h \
	include/monkey/verify.h
