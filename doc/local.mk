# What "make install" gives users and packagers beyond the programs: the
# manuals (with this build's paths filled in), the SDK examples as
# documentation, and a backend directory holding exactly one file per
# backend.

man_MANS += doc/monkey.1 doc/monkey-backend.7
EXTRA_DIST += doc/monkey.1.in doc/monkey-backend.7.in
CLEANFILES += doc/monkey.1 doc/monkey-backend.7

# Paths are expanded at make time (they contain ${libdir} and friends).
doc_subst = $(SED) -e 's|@backenddir[@]|$(backenddir)|g' \
	-e 's|@docdir[@]|$(docdir)|g' \
	-e 's|@pkglibexecdir[@]|$(pkglibexecdir)|g' \
	-e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	-e 's|@docker_package_hint[@]|$(subst -,\\-,$(docker_package_hint))|g'
# What a missing docker backend's message says to run (configure
# --with-backend-package, --with-package-install).
docker_package_hint = $(if $(backend_package),$(package_install) \
	$(subst %s,docker,$(backend_package)),nothing: this build names no package)

doc/monkey.1: $(srcdir)/doc/monkey.1.in Makefile
	$(AM_V_GEN)$(MKDIR_P) doc && \
	$(doc_subst) $(srcdir)/doc/monkey.1.in >$@.tmp && mv $@.tmp $@
doc/monkey-backend.7: $(srcdir)/doc/monkey-backend.7.in Makefile
	$(AM_V_GEN)$(MKDIR_P) doc && \
	$(doc_subst) $(srcdir)/doc/monkey-backend.7.in >$@.tmp && mv $@.tmp $@

# The example backend and the libmonkey program are the starting points
# monkey-backend(7) points third parties to; both build with a plain
# Makefile against the installed SDK.
examples_unsharedir = $(docdir)/examples/backend-unshare
dist_examples_unshare_DATA = examples/backend-unshare/unshare.c \
	examples/backend-unshare/Makefile
examples_demodir = $(docdir)/examples/libmonkey-demo
dist_examples_demo_DATA = examples/libmonkey-demo/demo.c \
	examples/libmonkey-demo/Makefile
# README's first command; it needs the source tree, so it is only shipped.
EXTRA_DIST += examples/quickstart.sh

# Packagers split backends into packages by path, so each backend must be
# exactly one file, $(backenddir)/NAME.so.  The loader opens the .so itself;
# libtool's .la archives of dlopened modules serve no one, so they are not
# installed.  libtool's uninstall goes through the .la, so remove the .so
# by name (only ours: third-party backends in the same directory stay).
install-data-hook:
	@for la in $(backend_LTLIBRARIES); do \
	  f=`basename "$$la"`; \
	  echo " rm -f '$(DESTDIR)$(backenddir)/$$f'"; \
	  rm -f "$(DESTDIR)$(backenddir)/$$f"; \
	done
uninstall-hook:
	@for la in $(backend_LTLIBRARIES); do \
	  f=`basename "$$la" .la`.so; \
	  echo " rm -f '$(DESTDIR)$(backenddir)/$$f'"; \
	  rm -f "$(DESTDIR)$(backenddir)/$$f"; \
	done
