# The rootless backend: user, mount, PID, network, IPC, UTS and cgroup
# namespaces without a daemon; needs libseccomp.  Built against the public
# header and the header-only core/base alone.
if BACKEND_ROOTLESS
backend_LTLIBRARIES += plugins/rootless/rootless.la
endif
plugins_rootless_rootless_la_SOURCES = \
	plugins/rootless/rootless.c plugins/rootless/rootless.h \
	plugins/rootless/plan.c plugins/rootless/template.c \
	plugins/rootless/run.c plugins/rootless/run.h \
	plugins/rootless/loop.c plugins/rootless/sandbox.c \
	plugins/rootless/view.c plugins/rootless/view.h \
	plugins/rootless/view_host.c plugins/rootless/view_cmd.c \
	plugins/rootless/view_util.c plugins/rootless/cgroup.c \
	plugins/rootless/probe.c \
	plugins/rootless/netns.c plugins/rootless/session.c \
	plugins/rootless/rlsys.h plugins/rootless/fdpass.h \
	plugins/common/bgjob.c plugins/common/bgjob.h
plugins_rootless_rootless_la_CPPFLAGS = -I$(top_srcdir)/include \
	-I$(top_srcdir)/core/base -I$(top_srcdir)/plugins/common
plugins_rootless_rootless_la_CFLAGS = $(BACKEND_CFLAGS) $(SECCOMP_CFLAGS) -pthread
plugins_rootless_rootless_la_LDFLAGS = $(BACKEND_LDFLAGS)
plugins_rootless_rootless_la_LIBADD = $(PTHREAD_LIBS)

# The seccomp filter is built with libseccomp when monkey is built, by
# filter-gen, and compiled into rootless.so as data; a cross build, which
# cannot run filter-gen, builds it at run time.
if ROOTLESS_FILTER_PREBUILT
if BACKEND_ROOTLESS
noinst_PROGRAMS += plugins/rootless/filter-gen
BUILT_SOURCES = plugins/rootless/filter_bpf.h
endif
plugins_rootless_filter_gen_SOURCES = plugins/rootless/filter_gen.c \
	plugins/rootless/filter.c
plugins_rootless_filter_gen_CPPFLAGS = $(plugins_rootless_rootless_la_CPPFLAGS)
plugins_rootless_filter_gen_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS) -pthread
plugins_rootless_filter_gen_LDADD = $(SECCOMP_LIBS)
nodist_plugins_rootless_rootless_la_SOURCES = plugins/rootless/filter_bpf.h
plugins_rootless_rootless_la_CPPFLAGS += -DRL_FILTER_PREBUILT \
	-I$(top_builddir)/plugins/rootless
CLEANFILES += plugins/rootless/filter_bpf.h
plugins/rootless/filter_bpf.h: plugins/rootless/filter-gen$(EXEEXT)
	$(AM_V_GEN)plugins/rootless/filter-gen$(EXEEXT) >$@.tmp && mv $@.tmp $@
else
plugins_rootless_rootless_la_SOURCES += plugins/rootless/filter.c
plugins_rootless_rootless_la_LIBADD += $(SECCOMP_LIBS)
endif
EXTRA_DIST += plugins/rootless/filter_gen.c
