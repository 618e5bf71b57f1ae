# Private headers both sides of the backend ABI include (libmonkey, the CLI
# and the backends); header-only, never installed.
noinst_HEADERS += core/base/cleanup.h core/base/error_wrap.h \
	core/base/outkeep.h core/base/jobbox.h \
	core/base/deadline.h
