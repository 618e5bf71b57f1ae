# The process runner shared by the spawn and none backends: a convenience
# library of PIC objects linked into each module, all of it hidden.
noinst_LTLIBRARIES += plugins/common/libprocrun.la
plugins_common_libprocrun_la_SOURCES = \
	plugins/common/procrun.c plugins/common/procrun.h \
	plugins/common/procrun_host.c plugins/common/procrun_prep.c \
	plugins/common/procrun_spawn.c plugins/common/procrun_tree.c \
	plugins/common/procrun_int.h plugins/common/rawsys.h \
	plugins/common/bgjob.c plugins/common/bgjob.h
plugins_common_libprocrun_la_CFLAGS = $(BACKEND_CFLAGS) -pthread
