# libmonkey: the backend loader and the sandbox executor (this folder), the
# backend verifier (core/verify) and the agent (core/agent), each folder a
# convenience library.  libmonkey-internal.la is all of them with every
# function visible: the tests link it.  libmonkey.la wraps it with hidden
# visibility and a version script, so that it exports exactly what
# include/monkey/ declares (tests/sdk/test_exports.sh checks).
LIB_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(JSONC_CFLAGS) -pthread

# Helpers the monkey program links too: errors, string vectors, escaping
# for terminals, argv quoting, JSON of results.
noinst_LTLIBRARIES += core/lib/libutil.la
core_lib_libutil_la_SOURCES = \
	core/lib/util.c core/lib/util.h \
	core/lib/escape.c core/lib/escape.h \
	core/lib/quote.c core/lib/quote.h \
	core/lib/jsonout.c core/lib/jsonout.h
core_lib_libutil_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core/lib
core_lib_libutil_la_CFLAGS = $(LIB_CFLAGS)

noinst_LTLIBRARIES += core/lib/libcore.la
core_lib_libcore_la_SOURCES = \
	core/lib/loader.c core/lib/loader.h \
	core/lib/executor.c core/lib/executor_int.h \
	core/lib/executor_proxy.c core/lib/executor_proxy.h \
	core/lib/session.c \
	core/lib/sandbox.c \
	core/lib/env.c core/lib/env.h \
	core/lib/capture.c core/lib/capture.h \
	core/lib/paths.c core/lib/paths.h \
	core/lib/caches.c core/lib/caches.h
core_lib_libcore_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core/lib \
	-DMONKEY_PROXY_FORWARD_PATH='"$(pkglibexecdir)/monkey-proxy-forward"'
core_lib_libcore_la_CFLAGS = $(LIB_CFLAGS)

noinst_LTLIBRARIES += libmonkey-internal.la
libmonkey_internal_la_SOURCES =
nodist_EXTRA_libmonkey_internal_la_SOURCES = dummy.c
libmonkey_internal_la_LIBADD = core/lib/libcore.la core/lib/libutil.la \
	$(LTDL_LIBS) $(JSONC_LIBS) $(CURL_LIBS) $(PTHREAD_LIBS)

lib_LTLIBRARIES += libmonkey.la
libmonkey_la_SOURCES =
nodist_EXTRA_libmonkey_la_SOURCES = dummy.c
libmonkey_la_LIBADD = libmonkey-internal.la
libmonkey_la_LDFLAGS = -version-info 0:0:0 -no-undefined \
	-Wl,--version-script=$(srcdir)/core/lib/libmonkey.map
EXTRA_libmonkey_la_DEPENDENCIES = core/lib/libmonkey.map
EXTRA_DIST += core/lib/libmonkey.map

pkginclude_HEADERS += include/monkey/backend.h include/monkey/error.h \
	include/monkey/exec.h include/monkey/sandbox.h \
	include/monkey/verify.h include/monkey/session.h
