# "monkey sandbox verify" (in libmonkey): every claim of a backend attacked
# by a probe, and the monkey-probe helper the probes run inside sandboxes.
noinst_LTLIBRARIES += core/verify/libverify.la
core_verify_libverify_la_SOURCES = \
	core/verify/verify.c core/verify/verify_int.h core/verify/verify_run.c \
	core/verify/verify_probes_limits.c \
	core/verify/verify_probes_isolation.c \
	core/verify/verify_probes_process.c
core_verify_libverify_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/core/lib -I$(top_srcdir)/core/verify \
	-DMONKEY_PROBE_PATH='"$(pkglibexecdir)/monkey-probe"'
core_verify_libverify_la_CFLAGS = $(LIB_CFLAGS)
libmonkey_internal_la_LIBADD += core/verify/libverify.la

# The helper "monkey sandbox verify" runs inside sandboxes for the attacks
# sh cannot make.  Linked static on its own flags, like the docker
# backend's launcher: images may hold no C library, and a sanitizer in
# CFLAGS cannot link static.  Without a static libc the file is left empty
# and the verifier falls back to sh or reports those probes as not probed.
probehelperdir = $(pkglibexecdir)
probehelper_SCRIPTS = core/verify/monkey-probe
core/verify/monkey-probe: $(srcdir)/core/verify/verify_helper.c
	@$(MKDIR_P) core/verify
	$(AM_V_CCLD)if $(CC) -static -Os -Wall -o $@.tmp \
	    $(srcdir)/core/verify/verify_helper.c 2>$@.log; then \
	  mv -f $@.tmp $@; rm -f $@.log; \
	else \
	  echo "warning: $(CC) cannot link static programs (see $@.log):" \
	    "monkey sandbox verify runs fewer probes" >&2; \
	  rm -f $@.tmp; : > $@; \
	fi
CLEANFILES += core/verify/monkey-probe core/verify/monkey-probe.log
EXTRA_DIST += core/verify/verify_helper.c
