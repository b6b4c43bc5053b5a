# SPDX-License-Identifier: GPL-2.0-only
#
# make deb: the Debian packages of debian/ (qktls-dkms, qktlsd, libqktls1,
# libqktls-dev, qktls-tools), built with dpkg-buildpackage (debhelper) in
# the build root, then checked with lintian.  dpkg-buildpackage writes next
# to the tree it builds, so it builds a copy in $(DEB_DIR)/src: every
# result (the .deb files, the source package, .buildinfo, .changes and
# lintian's report, lintian.txt) ends in $(DEB_DIR), nothing outside
# $(BUILD).  Lintian errors fail the target; what it warns about is in
# lintian.txt (accepted warnings: Documentation/qktls/packaging.rst).

DEB_DIR := $(BUILD)/deb

.PHONY: deb
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src/qktls
	tar -cf - --exclude=./$(BUILD) --exclude=./.git . | tar -xf - -C $(DEB_DIR)/src/qktls
	cd $(DEB_DIR)/src/qktls && dpkg-buildpackage -us -uc -Jauto \
		>../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
	mv $(DEB_DIR)/src/*.* $(DEB_DIR)/ && rm -rf $(DEB_DIR)/src
	cd $(DEB_DIR) && lintian --fail-on error --info --display-info --pedantic \
		qktls_*.changes >lintian.txt 2>&1; rc=$$?; cat lintian.txt; \
		[ $$rc -eq 0 ] || { echo "make deb: lintian found errors (lintian.txt)" >&2; exit 1; }
	@ls -1 $(DEB_DIR)/*.deb
