# The spawn backend: a process sandbox on this machine.
if BACKEND_SPAWN
backend_LTLIBRARIES += plugins/spawn/spawn.la
endif
plugins_spawn_spawn_la_SOURCES = plugins/spawn/spawn.c
plugins_spawn_spawn_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/common
plugins_spawn_spawn_la_CFLAGS = $(BACKEND_CFLAGS) -pthread
plugins_spawn_spawn_la_LDFLAGS = $(BACKEND_LDFLAGS)
plugins_spawn_spawn_la_LIBADD = plugins/common/libprocrun.la $(PTHREAD_LIBS)
