if BACKEND_DOCKER
backend_LTLIBRARIES += plugins/docker/docker.la
endif
plugins_docker_docker_la_SOURCES = \
	plugins/docker/docker.c plugins/docker/docker.h \
	plugins/docker/engine.c \
	plugins/docker/attach.c \
	plugins/docker/container.c \
	plugins/docker/image.c \
	plugins/docker/sweep.c \
	plugins/docker/run.c
plugins_docker_docker_la_CFLAGS = $(BACKEND_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) -pthread
plugins_docker_docker_la_LDFLAGS = $(BACKEND_LDFLAGS)
plugins_docker_docker_la_LIBADD = $(CURL_LIBS) $(JSONC_LIBS) $(PTHREAD_LIBS) -lm
