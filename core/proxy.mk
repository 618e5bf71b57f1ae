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
