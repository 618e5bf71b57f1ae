# The egress proxy (in libmonkey, a convenience library like the agent's)
# and the forwarder that runs inside sandboxes (monkey-proxy-forward).
noinst_LTLIBRARIES += core/proxy/libproxy.la
core_proxy_libproxy_la_SOURCES = \
	core/proxy/proxy.c core/proxy/proxy_int.h \
	core/proxy/proxy_conn.c \
	core/proxy/proxy_dial.c \
	core/proxy/proxy_relay.c \
	core/proxy/proxy_record.c \
	core/proxy/proxy_request.c core/proxy/proxy_request.h \
	core/proxy/proxy_rules.c core/proxy/proxy_rules.h \
	core/proxy/proxy_addr.c core/proxy/proxy_addr.h
core_proxy_libproxy_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/core/lib -I$(top_srcdir)/core/proxy
core_proxy_libproxy_la_CFLAGS = $(LIB_CFLAGS)
libmonkey_internal_la_LIBADD += core/proxy/libproxy.la

pkginclude_HEADERS += include/monkey/proxy.h

# The forwarder goes into sandboxes whose image may hold no C library, so
# it is linked static, on its own flags (a sanitizer in CFLAGS cannot link
# static), as the docker backend's launcher is.  Without a static libc the
# file is left empty and proxy mode cannot be offered.
proxyforwarddir = $(pkglibexecdir)
proxyforward_SCRIPTS = core/proxy/monkey-proxy-forward
core/proxy/monkey-proxy-forward: $(srcdir)/core/proxy/proxy_forward.c
	@$(MKDIR_P) core/proxy
	$(AM_V_CCLD)if $(CC) -static -O2 -Wall -Wextra -o $@.tmp \
	    $(srcdir)/core/proxy/proxy_forward.c 2>$@.log; then \
	  mv -f $@.tmp $@; rm -f $@.log; \
	else \
	  echo "warning: $(CC) cannot link static programs (see $@.log):" \
	    "the egress proxy's forwarder is not built" >&2; \
	  rm -f $@.tmp; : > $@; \
	fi
CLEANFILES += core/proxy/monkey-proxy-forward core/proxy/monkey-proxy-forward.log
EXTRA_DIST += core/proxy/proxy_forward.c
