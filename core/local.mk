# libmonkey: loader, executor and (later) the agent runner; monkey: the CLI.
lib_LTLIBRARIES += libmonkey.la
libmonkey_la_SOURCES = \
	core/loader.c core/loader.h \
	core/executor.c \
	core/sandbox.c \
	core/env.c core/env.h \
	core/capture.c core/capture.h \
	core/paths.c core/paths.h \
	core/util.c core/util.h \
	core/escape.c core/escape.h \
	core/jsonout.c core/jsonout.h \
	core/verify.c core/verify_int.h core/verify_run.c \
	core/verify_probes_limits.c core/verify_probes_isolation.c \
	core/verify_probes_process.c
libmonkey_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DMONKEY_PROBE_PATH='"$(pkglibexecdir)/monkey-probe"'
libmonkey_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CURL_CFLAGS) -pthread
libmonkey_la_LIBADD = $(LTDL_LIBS) $(JSONC_LIBS) $(CURL_LIBS) $(PTHREAD_LIBS)
libmonkey_la_LDFLAGS = -version-info 0:0:0 -no-undefined

pkginclude_HEADERS += include/monkey/backend.h include/monkey/error.h \
	include/monkey/exec.h include/monkey/sandbox.h \
	include/monkey/verify.h

bin_PROGRAMS += monkey
monkey_SOURCES = \
	core/cli_main.c core/cli.h \
	core/cli_opts.c \
	core/cli_exec.c \
	core/cli_sandbox.c
monkey_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
monkey_LDADD = libmonkey.la $(JSONC_LIBS)

# The helper "monkey sandbox verify" runs inside sandboxes for the attacks
# sh cannot make.  Linked static on its own flags, like the docker
# backend's launcher: images may hold no C library, and a sanitizer in
# CFLAGS cannot link static.  Without a static libc the file is left empty
# and the verifier falls back to sh or reports those probes as not probed.
probehelperdir = $(pkglibexecdir)
probehelper_SCRIPTS = core/monkey-probe
core/monkey-probe: $(srcdir)/core/verify_helper.c
	@$(MKDIR_P) core
	$(AM_V_CCLD)if $(CC) -static -Os -Wall -o $@.tmp \
	    $(srcdir)/core/verify_helper.c 2>$@.log; then \
	  mv -f $@.tmp $@; rm -f $@.log; \
	else \
	  echo "warning: $(CC) cannot link static programs (see $@.log):" \
	    "monkey sandbox verify runs fewer probes" >&2; \
	  rm -f $@.tmp; : > $@; \
	fi
CLEANFILES += core/monkey-probe core/monkey-probe.log
EXTRA_DIST += core/verify_helper.c
