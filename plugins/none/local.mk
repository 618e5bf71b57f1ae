if BACKEND_NONE
backend_LTLIBRARIES += plugins/none/none.la
endif
plugins_none_none_la_SOURCES = plugins/none/none.c
plugins_none_none_la_CFLAGS = $(BACKEND_CFLAGS)
plugins_none_none_la_LDFLAGS = $(BACKEND_LDFLAGS)
