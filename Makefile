# SPDX-License-Identifier: GPL-2.0-only
#
# qktls top-level build.  Plain make + pkg-config.
#
#   make            module (for every kernel with headers) and userspace
#   make check      everything, then every test: userspace, VM 7.3, VM 6.12
#   make demo       the end-to-end demonstration
#   make bench      benchmark figures from VM boots (pool, rekey, handshake,
#                   bulk, scale), CSV and SVG in build/bench
#   make fuzz       every libFuzzer target, FUZZ_RUNS (10000000) executions each
#   make fuzz-kernel  the netlink fuzzer in the VM, 1000000 messages (one boot)
#   make soak-kernel  200 attached connections rekeying for 10 minutes in the VM
#   make shell      a shell in the Debian 13 build root
#   make install    what make built, into DESTDIR/PREFIX (tools/build/install.mk);
#                   make uninstall removes it
#   make dkms-source  qktls.ko's sources and dkms.conf into /usr/src/qktls-VERSION
#   make deb        the Debian packages (debian/), into build/deb/, with lintian
#
# On a host without kernel headers >= 6.12 and OpenSSL >= 3.5 (Debian 12),
# build targets run inside the build root (tools/buildroot/); check, demo,
# bench, fuzz-kernel, soak-kernel, shell and install (there only into a
# DESTDIR) always start from the host.

BUILD     ?= build
TOP       := $(CURDIR)
ENTER     := tools/buildroot/enter

BUILD_TARGETS := all modules userspace tests lint-kernel fuzz deb

# make fuzz FUZZ_RUNS=N: N reaches the build root (enter keeps QKTLS_*).
ifdef FUZZ_RUNS
export QKTLS_FUZZ_RUNS := $(FUZZ_RUNS)
endif

# Decide once whether this host can build natively.
ifeq ($(QKTLS_IN_ROOT)$(QKTLS_NATIVE),)
QKTLS_NATIVE := $(shell tools/buildroot/native-ok >/dev/null 2>&1 && echo 1)
export QKTLS_NATIVE
endif

.PHONY: $(BUILD_TARGETS) check demo bench fuzz-kernel soak-kernel shell clean help
.DEFAULT_GOAL := all

# install and uninstall run here, also where the build runs in the root.
include tools/build/install.mk

ifeq ($(QKTLS_IN_ROOT)$(QKTLS_NATIVE),)
# Not buildable here: run the same target inside the build root.
$(BUILD_TARGETS):
	$(ENTER) $(MAKE) --no-print-directory $@
.DEFAULT:
	$(ENTER) $(MAKE) --no-print-directory $@
else
include tools/build/rules.mk
include tools/build/deb.mk
endif

check:
	tests/run-all

demo:
	tools/demo/run

# One KVM probe for all the benchmark boots (tools/vm/boot).
bench:
	export QKTLS_VM_ACCEL_CACHE=$(TOP)/$(BUILD)/vm-accel.bench.$$$$; \
	trap 'rm -f "$$QKTLS_VM_ACCEL_CACHE"' EXIT; \
	tools/bench/run-pool && tools/bench/run-rekey && tools/bench/run-handshake && \
	tools/bench/run-bulk && tools/bench/run-scale

# The kernel's long runs (tests/kernel/long, Documentation/testing.rst):
# QKTLS_NL_FUZZ_MSGS, QKTLS_NL_FUZZ_SEED, QKTLS_SOAK_SECONDS change them.
fuzz-kernel:
	tests/kernel/long fuzz

soak-kernel:
	tests/kernel/long soak

shell:
	$(ENTER)

clean:
	rm -rf $(BUILD)

help:
	@sed -n '3,/^$$/{/^$$/d;s/^# \{0,1\}//;p}' Makefile
