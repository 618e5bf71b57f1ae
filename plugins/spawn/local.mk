if BACKEND_SPAWN
backend_LTLIBRARIES += plugins/spawn/spawn.la
endif
plugins_spawn_spawn_la_SOURCES = plugins/spawn/spawn.c
plugins_spawn_spawn_la_CFLAGS = $(BACKEND_CFLAGS) -pthread
plugins_spawn_spawn_la_LDFLAGS = $(BACKEND_LDFLAGS)
plugins_spawn_spawn_la_LIBADD = $(PTHREAD_LIBS)
