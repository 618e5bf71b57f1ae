# The SDK as third parties and packagers meet it.  test_abi_compat: backends
# built before fields were appended to the ABI keep working.  test_sdk.sh:
# a staged "make install" of this build, its layout, the example backend and
# a libmonkey program built against the stage alone.  test_exports.sh:
# libmonkey exports exactly what include/monkey/ declares.
# configure-matrix.sh (run by CI, not by "make check": it rebuilds the
# tree once per backend) builds, tests and installs with each backend
# disabled.
SDK_TEST_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/tests/sdk

# Test backends: one compiled against the frozen ABI 1.0 header, one whose
# descriptor ends at fini.
SDK_MODULE_LDFLAGS = -module -avoid-version -shared -rpath /nowhere \
	-export-symbols-regex '^monkey_backend_entry$$'
check_LTLIBRARIES += tests/sdk/abi10.la tests/sdk/minimal.la
tests_sdk_abi10_la_SOURCES = tests/sdk/abi10.c
# Only the frozen header directory: never include/monkey of this tree.
tests_sdk_abi10_la_CPPFLAGS = -I$(top_srcdir)/tests/sdk/abi-1.0
tests_sdk_abi10_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_sdk_abi10_la_LDFLAGS = $(SDK_MODULE_LDFLAGS)
tests_sdk_minimal_la_SOURCES = tests/sdk/minimal.c
tests_sdk_minimal_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_sdk_minimal_la_LDFLAGS = $(SDK_MODULE_LDFLAGS)
EXTRA_DIST += tests/sdk/abi-1.0/monkey/backend.h \
	tests/sdk/abi-1.0/monkey/error.h

check_PROGRAMS += tests/sdk/test_abi_compat
tests_sdk_test_abi_compat_SOURCES = tests/sdk/test_abi_compat.c
tests_sdk_test_abi_compat_CPPFLAGS = $(SDK_TEST_CPPFLAGS)
tests_sdk_test_abi_compat_CFLAGS = $(TEST_CFLAGS)
tests_sdk_test_abi_compat_LDADD = $(TEST_LIBS)

TESTS += tests/sdk/test_abi_compat tests/sdk/test_manpages.sh \
	tests/sdk/test_sdk.sh tests/sdk/test_exports.sh
dist_noinst_SCRIPTS += tests/sdk/test_sdk.sh tests/sdk/test_manpages.sh \
	tests/sdk/test_exports.sh tests/configure-matrix.sh

# test_sdk.sh asks the build tree for its settings: the compiler and flags
# the example programs are built with (so that a sanitizer build checks them
# too), the installation directories, and the backends this configuration
# builds.
sdk-print-config:
	@echo "SDK_CC='$(CC)'"; \
	echo "SDK_CFLAGS='$(CFLAGS)'"; \
	echo "SDK_LDFLAGS='$(LDFLAGS)'"; \
	echo "SDK_PREFIX='$(prefix)'"; \
	echo "SDK_BINDIR='$(bindir)'"; \
	echo "SDK_LIBDIR='$(libdir)'"; \
	echo "SDK_INCLUDEDIR='$(pkgincludedir)'"; \
	echo "SDK_MANDIR='$(mandir)'"; \
	echo "SDK_DOCDIR='$(docdir)'"; \
	echo "SDK_PKGCONFIGDIR='$(pkgconfigdir)'"; \
	echo "SDK_BACKENDDIR='$(backenddir)'"; \
	echo "SDK_PKGLIBEXECDIR='$(pkglibexecdir)'"; \
	echo "SDK_BACKENDS='$(backend_LTLIBRARIES)'"; \
	echo "SDK_BACKENDPKG='$(backend_package)'"; \
	echo "SDK_PKGINSTALL='$(package_install)'"
.PHONY: sdk-print-config
