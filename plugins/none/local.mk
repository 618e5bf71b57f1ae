# The none backend: no sandbox, /bin/sh -c on this machine.
if BACKEND_NONE
backend_LTLIBRARIES += plugins/none/none.la
endif
plugins_none_none_la_SOURCES = plugins/none/none.c
plugins_none_none_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/common
plugins_none_none_la_CFLAGS = $(BACKEND_CFLAGS) -pthread
plugins_none_none_la_LDFLAGS = $(BACKEND_LDFLAGS)
plugins_none_none_la_LIBADD = plugins/common/libprocrun.la $(PTHREAD_LIBS)
