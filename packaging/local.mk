# Debian packaging, shipped in the tarball: packaging/build-deb.sh copies
# packaging/debian into an unpacked "make dist" tarball (upstream trees
# carry no live debian/) and builds the packages; packaging/check-deb.sh
# installs, exercises, removes and purges them (tests/ci.sh runs both).
EXTRA_DIST += packaging/build-deb.sh packaging/check-deb.sh \
	packaging/debian/changelog packaging/debian/control \
	packaging/debian/copyright packaging/debian/rules \
	packaging/debian/source/format packaging/debian/not-installed \
	packaging/debian/libmonkey0.symbols \
	packaging/debian/libmonkey0.install \
	packaging/debian/libmonkey-dev.install \
	packaging/debian/monkey.install packaging/debian/monkey.docs \
	packaging/debian/monkey.lintian-overrides \
	packaging/debian/monkey-backend-docker.install \
	packaging/debian/monkey-backend-docker.lintian-overrides \
	packaging/debian/monkey-backend-rootless.install
