# SPDX-License-Identifier: GPL-2.0-only
#
# make install / make uninstall: copy what `make` built, and remove it
# again.  Included by the top-level Makefile on every host, also one that
# builds in the build root: installing runs no compiler and builds nothing
# (`make` first; a file missing is an error that says so).
#
#   DESTDIR     staging root prepended to every path (packaging, tests)
#   PREFIX      /usr/local
#   BINDIR, SBINDIR, LIBDIR, INCLUDEDIR, DATAROOTDIR, MANDIR
#               $(PREFIX)/bin, /sbin, /lib, /include, /share, /share/man
#   OSSLMODDIR  $(LIBDIR)/ossl-modules: qktls.so, the provider as an OpenSSL
#               module (Debian's OpenSSL looks there with LIBDIR
#               /usr/lib/<multiarch>; elsewhere name it with `module =` in
#               openssl.cnf or OPENSSL_MODULES)
#   SYSCONFDIR  /etc when PREFIX is /usr, else $(PREFIX)/etc: the example
#               qktls/qktlsd.conf, installed only where there is none
#   SYSTEMDUNITDIR  systemd's systemdsystemunitdir for PREFIX (pkg-config
#               systemd) when known, else $(PREFIX)/lib/systemd/system
#   SYSUSERSDIR     the same for sysusersdir, else $(PREFIX)/lib/sysusers.d
#   BASHCOMPDIR $(DATAROOTDIR)/bash-completion/completions
#   DKMSSRCDIR  /usr/src/qktls-$(QKTLS_VERSION): make dkms-source
#
# make dkms-source installs qktls.ko's sources with dkms.conf where DKMS
# takes them (then: dkms install qktls/$(QKTLS_VERSION)); make
# uninstall-dkms-source removes them (after dkms remove).  They need no
# build: they are the tree's own files.
#
# Without DESTDIR, install and uninstall also run ldconfig, and install
# creates the user qktlsd with systemd-sysusers.  The build root is shared
# and cached, and a host that cannot build natively cannot run what the
# build root built: both need DESTDIR.

QKTLS_VERSION      := 0.1
# libqktls's ABI: the soname's number, and the file's.
LIBQKTLS_SOVERSION := 1
LIBQKTLS_SONAME    := libqktls.so.$(LIBQKTLS_SOVERSION)
LIBQKTLS_SOFILE    := libqktls.so.$(LIBQKTLS_SOVERSION).0.0

BUILD       ?= build
PKG_CONFIG  ?= pkg-config
INSTALL     ?= install
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
DATAROOTDIR ?= $(PREFIX)/share
MANDIR      ?= $(DATAROOTDIR)/man
SYSCONFDIR  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
OSSLMODDIR  ?= $(LIBDIR)/ossl-modules
BASHCOMPDIR ?= $(DATAROOTDIR)/bash-completion/completions
# systemd's directories for this prefix; evaluated only when installing.
systemd_dir  = $(or $(shell $(PKG_CONFIG) --define-variable=prefix=$(PREFIX) \
			--variable=$(1) systemd 2>/dev/null),$(PREFIX)/lib/$(2))
SYSTEMDUNITDIR ?= $(call systemd_dir,systemdsystemunitdir,systemd/system)
SYSUSERSDIR    ?= $(call systemd_dir,sysusersdir,sysusers.d)
DKMSSRCDIR  ?= /usr/src/qktls-$(QKTLS_VERSION)

# What the build made, and what comes from the tree.
INST_SBIN    := qktlsd qktls
INST_BIN     := qktls-kme qktls-kme-sim
INST_HEADERS := error handshake keysched ktls qkd sock stream
INST_MAN     := man1/qktls-kme.1 man1/qktls-kme-sim.1 man3/libqktls.3 man7/qktls-provider.7 \
		man5/qktlsd.conf.5 man8/qktlsd.8 man8/qktls.8
# One page per function of libqktls(3)'s NAME section: ".so man3/libqktls.3".
INST_MAN3    = $(shell sed -n '/^\.SH NAME/,/\\-/p' Documentation/man/libqktls.3 | \
		 tr ',' '\n' | sed -n 's/^ *\(qktls_[a-z0-9_]*\).*/\1/p')
INST_BUILT   := $(addprefix $(BUILD)/bin/,$(INST_SBIN) $(INST_BIN)) \
		$(BUILD)/lib/$(LIBQKTLS_SOFILE) $(BUILD)/lib/ossl-modules/qktls.so
INST_CONF    := $(DESTDIR)$(SYSCONFDIR)/qktls/qktlsd.conf

# The paths in the unit and the example configuration follow the layout.
INST_PATHS   = sed -e 's|/usr/sbin/qktlsd|$(SBINDIR)/qktlsd|g' \
		   -e 's|/etc/qktls/|$(SYSCONFDIR)/qktls/|g'

# Every file install makes but the configuration; uninstall removes them.
INST_FILES = $(addprefix $(DESTDIR)$(SBINDIR)/,$(INST_SBIN)) \
	     $(addprefix $(DESTDIR)$(BINDIR)/,$(INST_BIN)) \
	     $(addprefix $(DESTDIR)$(LIBDIR)/,$(LIBQKTLS_SOFILE) $(LIBQKTLS_SONAME) libqktls.so) \
	     $(DESTDIR)$(PKGCONFIGDIR)/libqktls.pc \
	     $(DESTDIR)$(OSSLMODDIR)/qktls.so \
	     $(patsubst %,$(DESTDIR)$(INCLUDEDIR)/qktls/%.h,$(INST_HEADERS)) \
	     $(DESTDIR)$(INCLUDEDIR)/linux/qktls.h \
	     $(addprefix $(DESTDIR)$(MANDIR)/,$(INST_MAN)) \
	     $(patsubst %,$(DESTDIR)$(MANDIR)/man3/%.3,$(INST_MAN3)) \
	     $(DESTDIR)$(SYSTEMDUNITDIR)/qktlsd.service \
	     $(DESTDIR)$(SYSUSERSDIR)/qktlsd.conf \
	     $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,qktls qktls-kme)

.PHONY: install uninstall dkms-source uninstall-dkms-source

# Refuses a DESTDIR-less run inside the build root or on a host that does
# not build natively (see above).
INST_WHERE = @if [ -z "$(DESTDIR)" ] && [ "$(QKTLS_IN_ROOT)" = 1 ]; then \
		echo "make $@: inside the build root, name a DESTDIR (the root is shared and cached)" >&2; \
		exit 1; \
	elif [ -z "$(DESTDIR)" ] && [ -z "$(QKTLS_IN_ROOT)$(QKTLS_NATIVE)" ]; then \
		echo "make $@: this host cannot run what the build root built (no OpenSSL >= 3.5" \
		     "or the libraries): install on a host that builds natively, or stage with DESTDIR=..." >&2; \
		exit 1; \
	fi

install:
	$(INST_WHERE)
	@missing=; for f in $(INST_BUILT); do [ -e "$$f" ] || missing="$$missing $$f"; done; \
	if [ -n "$$missing" ]; then echo "make install: not built:$$missing; run make first" >&2; exit 1; fi
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/qktls $(DESTDIR)$(INCLUDEDIR)/linux \
		$(addprefix $(DESTDIR)$(MANDIR)/,man1 man3 man5 man7 man8) \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(SYSCONFDIR)/qktls $(DESTDIR)$(OSSLMODDIR)
	$(INSTALL) -m 0755 $(addprefix $(BUILD)/bin/,$(INST_SBIN)) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0755 $(addprefix $(BUILD)/bin/,$(INST_BIN)) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(BUILD)/lib/$(LIBQKTLS_SOFILE) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIBQKTLS_SOFILE) $(DESTDIR)$(LIBDIR)/$(LIBQKTLS_SONAME)
	ln -sf $(LIBQKTLS_SONAME) $(DESTDIR)$(LIBDIR)/libqktls.so
	$(INSTALL) -m 0644 $(BUILD)/lib/ossl-modules/qktls.so $(DESTDIR)$(OSSLMODDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(QKTLS_VERSION)|' \
	    userspace/libqktls/libqktls.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/libqktls.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libqktls.pc
	$(INSTALL) -m 0644 $(patsubst %,userspace/include/qktls/%.h,$(INST_HEADERS)) \
		$(DESTDIR)$(INCLUDEDIR)/qktls/
	$(INSTALL) -m 0644 uapi/linux/qktls.h $(DESTDIR)$(INCLUDEDIR)/linux/
	for m in $(INST_MAN); do \
		$(INSTALL) -m 0644 Documentation/man/$${m#*/} $(DESTDIR)$(MANDIR)/$$m || exit; \
	done
	for f in $(INST_MAN3); do \
		echo '.so man3/libqktls.3' >$(DESTDIR)$(MANDIR)/man3/$$f.3 || exit; \
		chmod 0644 $(DESTDIR)$(MANDIR)/man3/$$f.3; \
	done
	$(INST_PATHS) tools/qktlsd/qktlsd.service >$(DESTDIR)$(SYSTEMDUNITDIR)/qktlsd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/qktlsd.service
	$(INSTALL) -m 0644 tools/qktlsd/qktlsd.sysusers $(DESTDIR)$(SYSUSERSDIR)/qktlsd.conf
	$(INSTALL) -m 0644 tools/qktls/qktls.bash $(DESTDIR)$(BASHCOMPDIR)/qktls
	$(INSTALL) -m 0644 tools/qktls-kme/qktls-kme.bash $(DESTDIR)$(BASHCOMPDIR)/qktls-kme
	@if [ -e $(INST_CONF) ]; then \
		echo "$(INST_CONF) exists: left as it is"; \
	else \
		echo "$(INST_CONF): the example configuration"; \
		$(INST_PATHS) tools/qktlsd/qktlsd.conf >$(INST_CONF) && chmod 0644 $(INST_CONF); \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
		ldconfig; \
		if command -v systemd-sysusers >/dev/null; then \
			systemd-sysusers $(SYSUSERSDIR)/qktlsd.conf; \
		fi; \
		echo "qktlsd: edit $(SYSCONFDIR)/qktls/qktlsd.conf, then" \
		     "systemctl daemon-reload && systemctl enable --now qktlsd"; \
	fi

# The configuration goes only if it is still the example, unchanged.
uninstall:
	$(INST_WHERE)
	rm -f $(INST_FILES)
	@if [ -e $(INST_CONF) ]; then \
		if $(INST_PATHS) tools/qktlsd/qktlsd.conf | cmp -s - $(INST_CONF); then \
			rm -f $(INST_CONF); \
		else \
			echo "$(INST_CONF) is not the example: left as it is"; \
		fi; \
	fi
	@for d in $(DESTDIR)$(INCLUDEDIR)/qktls $(DESTDIR)$(SYSCONFDIR)/qktls; do \
		[ ! -d $$d ] || rmdir $$d 2>/dev/null || echo "$$d: not empty, left"; \
	done
	@if [ -z "$(DESTDIR)" ]; then ldconfig; fi

# The module's sources as DKMS builds them (the layout of build/ko/KVER):
# the top-level Kbuild, kernel/, the uapi header and the key schedule's test
# vectors that qktls.ko checks itself against at load time.
DKMS_SOURCES := Kbuild kernel/Kbuild $(sort $(wildcard kernel/*.c kernel/*.h)) \
		uapi/linux/qktls.h tests/vectors/keysched.h

dkms-source:
	$(INST_WHERE)
	for f in $(DKMS_SOURCES); do \
		$(INSTALL) -D -m 0644 $$f $(DESTDIR)$(DKMSSRCDIR)/$$f || exit; \
	done
	sed 's|@VERSION@|$(QKTLS_VERSION)|' tools/dkms/dkms.conf.in \
		>$(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	chmod 0644 $(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	@if [ -z "$(DESTDIR)" ]; then \
		echo "qktls.ko: dkms install qktls/$(QKTLS_VERSION) builds and installs it for each kernel"; \
	fi

uninstall-dkms-source:
	$(INST_WHERE)
	rm -f $(addprefix $(DESTDIR)$(DKMSSRCDIR)/,$(DKMS_SOURCES) dkms.conf)
	@for d in kernel uapi/linux uapi tests/vectors tests ""; do \
		[ ! -d $(DESTDIR)$(DKMSSRCDIR)/$$d ] || rmdir $(DESTDIR)$(DKMSSRCDIR)/$$d 2>/dev/null || \
			echo "$(DESTDIR)$(DKMSSRCDIR)/$$d: not empty, left"; \
	done
