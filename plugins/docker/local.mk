if BACKEND_DOCKER
backend_LTLIBRARIES += plugins/docker/docker.la
pkglibexec_SCRIPTS = plugins/docker/monkey-launch
endif
# Layers, each on those above it in this list, one header each: the
# state they share; HTTP to the engine; containers, images, the sweep and
# the containers not yet removed; the attach stream and the launcher's
# protocol; one command in one container; the warm pool; sessions;
# entry points.
plugins_docker_docker_la_SOURCES = \
	plugins/docker/state.h \
	plugins/docker/engine.c plugins/docker/engine.h \
	plugins/docker/container.c plugins/docker/image.c \
	plugins/docker/sweep.c plugins/docker/live.c plugins/docker/volumes.c \
	plugins/docker/container.h \
	plugins/docker/attach.c plugins/docker/attach.h \
	plugins/docker/inband.c plugins/docker/inband.h \
	plugins/docker/run.c plugins/docker/run_launch.c plugins/docker/run.h \
	plugins/docker/pool.c plugins/docker/pool.h \
	plugins/docker/job.c plugins/docker/job.h \
	plugins/docker/session.c plugins/docker/session.h \
	plugins/docker/docker.c
plugins_docker_docker_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DDK_LAUNCHER_PATH='"$(pkglibexecdir)/monkey-launch"'
plugins_docker_docker_la_CFLAGS = $(BACKEND_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) -pthread
plugins_docker_docker_la_LDFLAGS = $(BACKEND_LDFLAGS)
plugins_docker_docker_la_LIBADD = $(CURL_LIBS) $(JSONC_LIBS) $(PTHREAD_LIBS) -lm

# The launcher pooled containers run.  It goes into images that may have
# no C library, so it is linked static, on its own flags (a sanitizer in
# CFLAGS cannot link static).  Without a static libc the file is left
# empty and the backend runs every command cold.
plugins/docker/monkey-launch: $(srcdir)/plugins/docker/launch.c
	@$(MKDIR_P) plugins/docker
	$(AM_V_CCLD)if $(CC) -static -Os -Wall -o $@.tmp \
	    $(srcdir)/plugins/docker/launch.c 2>$@.log; then \
	  mv -f $@.tmp $@; rm -f $@.log; \
	else \
	  echo "warning: $(CC) cannot link static programs (see $@.log):" \
	    "the docker backend's pool is off" >&2; \
	  rm -f $@.tmp; : > $@; \
	fi
CLEANFILES += plugins/docker/monkey-launch plugins/docker/monkey-launch.log
EXTRA_DIST += plugins/docker/launch.c
