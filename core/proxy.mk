# The egress proxy (in libmonkey) and the forwarder that runs inside
# sandboxes (monkey-proxy-forward).
libmonkey_la_SOURCES += \
	core/proxy.c core/proxy_int.h \
	core/proxy_conn.c \
	core/proxy_dial.c \
	core/proxy_relay.c \
	core/proxy_record.c \
	core/proxy_request.c core/proxy_request.h \
	core/proxy_rules.c core/proxy_rules.h \
	core/proxy_addr.c core/proxy_addr.h

pkginclude_HEADERS += include/monkey/proxy.h

# The forwarder goes into sandboxes whose image may hold no C library, so
# it is linked static, on its own flags (a sanitizer in CFLAGS cannot link
# static), as the docker backend's launcher is.  Without a static libc the
# file is left empty and proxy mode cannot be offered.
proxyforwarddir = $(pkglibexecdir)
proxyforward_SCRIPTS = core/monkey-proxy-forward
core/monkey-proxy-forward: $(srcdir)/core/proxy_forward.c
	@$(MKDIR_P) core
	$(AM_V_CCLD)if $(CC) -static -O2 -Wall -Wextra -o $@.tmp \
	    $(srcdir)/core/proxy_forward.c 2>$@.log; then \
	  mv -f $@.tmp $@; rm -f $@.log; \
	else \
	  echo "warning: $(CC) cannot link static programs (see $@.log):" \
	    "the egress proxy's forwarder is not built" >&2; \
	  rm -f $@.tmp; : > $@; \
	fi
CLEANFILES += core/monkey-proxy-forward core/monkey-proxy-forward.log
EXTRA_DIST += core/proxy_forward.c
