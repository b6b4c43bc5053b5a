# SPDX-License-Identifier: GPL-2.0-only
#
# Build rules shared by every component; included by the top-level Makefile
# when this host (or the build root) can build.  Each component adds itself
# through its own build.mk, included at the end.

# Kernels to build qktls.ko for: every kernel with headers installed.
KVERS ?= $(patsubst /lib/modules/%/build,%,$(wildcard /lib/modules/*/build))
# Source of the kselftest harness, the YNL client and checkpatch.
LINUX_SRC_TAR ?= $(lastword $(sort $(wildcard /usr/src/linux-source-7.*.tar.xz)))

PKG_CONFIG ?= pkg-config
CFLAGS     ?= -O2 -g
QK_CFLAGS  := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	      -I$(TOP)/uapi -I$(TOP)/userspace/include
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all \
	      -fno-omit-frame-pointer

LINUX_SRC  := $(BUILD)/linux-src
KSFT_DIR   := $(LINUX_SRC)/tools/testing/selftests
KSFT_STAMP := $(LINUX_SRC)/.extracted

# Programs the tests run: unit tests run in the build root, kernel tests in
# the VM.  Components append to these.
UNIT_TESTS   :=
KERNEL_TESTS :=
PROGRAMS     :=

all: modules userspace tests

# --- kernel module, one build directory per kernel ---------------------------
# Kbuild of 6.12 cannot put objects outside M=, so each kernel gets a copy of
# the sources (timestamps kept, so kbuild rebuilds only what changed).
KO := $(foreach v,$(KVERS),$(BUILD)/ko/$(v)/kernel/qktls.ko)
modules: $(KO)

$(BUILD)/ko/%/kernel/qktls.ko: FORCE
	@mkdir -p $(BUILD)/ko/$*/tests
	@cp -a Kbuild kernel uapi $(BUILD)/ko/$*/
	@cp -a tests/vectors $(BUILD)/ko/$*/tests/
	$(MAKE) -C /lib/modules/$*/build M=$(abspath $(BUILD)/ko/$*) W=1 modules

# checkpatch --strict on everything that is kernel code.
lint-kernel: $(KSFT_STAMP)
	tools/build/checkpatch $(wildcard kernel/*.c kernel/*.h uapi/linux/*.h)

# --- pieces of linux-source used at build time, never copied into the tree ---
$(KSFT_STAMP): $(LINUX_SRC_TAR)
	@test -n "$(LINUX_SRC_TAR)" || { echo "no /usr/src/linux-source-7.*.tar.xz" >&2; exit 1; }
	rm -rf $(LINUX_SRC) && mkdir -p $(LINUX_SRC)
	tar -xJf $(LINUX_SRC_TAR) -C $(LINUX_SRC) --strip-components=1 \
		--wildcards '*/tools/testing/selftests/kselftest*.h' \
		'*/tools/net/ynl' '*/Documentation/netlink' \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	touch $@

# --- C tests (kselftest harness) ---------------------------------------------
# tests/unit/NAME.c -> $(BUILD)/tests/unit/NAME, with sanitizers;
# tests/kernel/NAME.c -> $(BUILD)/tests/kernel/NAME.  LDLIBS_NAME and
# DEPS_NAME (set by components) add libraries and prerequisites.
UNIT_TESTS   += $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/*.c))
KERNEL_TESTS += $(patsubst tests/kernel/%.c,$(BUILD)/tests/kernel/%,$(wildcard tests/kernel/*.c))

.SECONDEXPANSION:
$(BUILD)/tests/unit/%: tests/unit/%.c $(KSFT_STAMP) $$(DEPS_$$*)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(SAN_FLAGS) -I$(KSFT_DIR) $(CFLAGS) -o $@ $< \
		$(DEPS_$*) $(LDLIBS_$*) -lpthread

$(BUILD)/tests/kernel/%: tests/kernel/%.c $(KSFT_STAMP) $$(DEPS_$$*)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) -I$(KSFT_DIR) $(CFLAGS) -o $@ $< \
		$(DEPS_$*) $(LDLIBS_$*) -lpthread

userspace: $$(PROGRAMS)
tests: $$(UNIT_TESTS) $$(KERNEL_TESTS)

# --- fuzzing ---------------------------------------------------------------------
# make fuzz [FUZZ_RUNS=N]: build every libFuzzer target (the programs of
# $(BUILD)/fuzz that components add to UNIT_TESTS) and run each for N
# executions through the tests/unit/*_fuzz.sh scripts that hold their
# seeds; `make check` runs the same scripts for seconds only.
FUZZ_RUNS ?= $(or $(QKTLS_FUZZ_RUNS),10000000)
fuzz: $$(filter $(BUILD)/fuzz/%,$$(UNIT_TESTS))
	@status=0; for t in tests/unit/*_fuzz.sh; do \
		QKTLS_FUZZ_RUNS=$(FUZZ_RUNS) $$t || status=1; \
	done; exit $$status

.PHONY: FORCE
FORCE:

# --- components ---------------------------------------------------------------
-include $(wildcard userspace/*/build.mk tools/*/build.mk)

# --- tests of the foundation ---------------------------------------------------
LDLIBS_ktls_basic := -lcrypto

# Attached-socket tests (tests/kernel/sock_*.c): libnl through
# tests/lib/qktls_nl.h; those that key their pair with libqktls
# (tests/lib/ktls_secrets.h) link it too.
$(foreach t,$(patsubst tests/kernel/%.c,%,$(wildcard tests/kernel/sock_*.c)),\
	$(eval LDLIBS_$(t) = $$(QKTLS_NL_FLAGS)))
$(foreach t,sock_rekey sock_plain sock_records,\
	$(eval DEPS_$(t) = $$(LIBQKTLS))\
	$(eval LDLIBS_$(t) = $$(QKTLS_NL_FLAGS) -lssl $$(LIBQKTLS_LIBS)))

# The netlink fuzzer (tests/kernel/nl_fuzz.c): libnl for the family's ID
# and the known-good sequence.  The rekey soak (tests/kernel/sock_soak.c)
# reuses the benchmarks' attached pairs, pools and slab figures.
LDLIBS_nl_fuzz = $(QKTLS_NL_FLAGS)
DEPS_sock_soak = $(BENCH_O) $(LIBQKTLS)
LDLIBS_sock_soak = $(QKTLS_NL_FLAGS) -lssl $(LIBQKTLS_LIBS)
