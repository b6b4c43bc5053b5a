# SPDX-License-Identifier: GPL-2.0-only
# Benchmarks (tools/bench/run-*; Documentation/benchmarks.rst), and the
# libnl flags of the kernel pool tests (tests/kernel/pool_*.c), which share
# tests/lib/qktls_nl.h with them.

QKTLS_NL_FLAGS := $(shell $(PKG_CONFIG) --cflags --libs libnl-genl-3.0 2>/dev/null)

PROGRAMS += $(BUILD)/bin/qktls-bench-pool

$(BUILD)/bin/qktls-bench-pool: tools/bench/pool.c tests/lib/qktls_nl.h uapi/linux/qktls.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(CFLAGS) -o $@ $< $(QKTLS_NL_FLAGS)

$(foreach t,$(patsubst tests/kernel/%.c,%,$(wildcard tests/kernel/pool_*.c)),\
	$(eval LDLIBS_$(t) := $(QKTLS_NL_FLAGS)))

# What the other benchmarks share (tools/bench/bench.h): messages, clocks,
# samples, and attached kTLS pairs through libqktls and tests/lib.
BENCH_O   := $(BUILD)/obj/bench/bench.o
BENCH_HDR := tools/bench/bench.h tests/lib/qktls_nl.h tests/lib/ktls.h \
	     tests/lib/ktls_secrets.h uapi/linux/qktls.h
$(BENCH_O): tools/bench/bench.c $(BENCH_HDR)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(LIBQKTLS_CFLAGS) $(CFLAGS) -c -o $@ $<

# qktls-bench-rekey: a kTLS pair attached to qktls.ko, rekeyed by policy;
# qktls-bench-bulk: plain TCP, kTLS and userspace OpenSSL over veth;
# qktls-bench-handshake: qktls_handshake() through qktlsd against OpenSSL;
# qktls-bench-scale: a thousand attached sockets.
BENCHES := rekey bulk handshake scale
PROGRAMS += $(patsubst %,$(BUILD)/bin/qktls-bench-%,$(BENCHES))

$(BUILD)/bin/qktls-bench-%: tools/bench/%.c $(BENCH_O) $(BENCH_HDR) $(LIBQKTLS)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(LIBQKTLS_CFLAGS) $(CFLAGS) -o $@ $< $(BENCH_O) \
		$(LIBQKTLS) -lssl $(LIBQKTLS_LIBS) $(QKTLS_NL_FLAGS) -lpthread
