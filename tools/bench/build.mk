# SPDX-License-Identifier: GPL-2.0-only
# Pool and rekey benchmarks, and the libnl flags of the kernel pool tests
# (tests/kernel/pool_*.c), which share tests/lib/qktls_nl.h with it.

QKTLS_NL_FLAGS := $(shell $(PKG_CONFIG) --cflags --libs libnl-genl-3.0 2>/dev/null)

PROGRAMS += $(BUILD)/bin/qktls-bench-pool

$(BUILD)/bin/qktls-bench-pool: tools/bench/pool.c tests/lib/qktls_nl.h uapi/linux/qktls.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(CFLAGS) -o $@ $< $(QKTLS_NL_FLAGS)

$(foreach t,$(patsubst tests/kernel/%.c,%,$(wildcard tests/kernel/pool_*.c)),\
	$(eval LDLIBS_$(t) := $(QKTLS_NL_FLAGS)))

# Rekey benchmark: a kTLS pair attached to qktls.ko through libqktls, the
# pools through tests/lib/qktls_nl.h.
PROGRAMS += $(BUILD)/bin/qktls-bench-rekey

$(BUILD)/bin/qktls-bench-rekey: tools/bench/rekey.c tests/lib/qktls_nl.h tests/lib/ktls.h uapi/linux/qktls.h $(LIBQKTLS)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(LIBQKTLS_CFLAGS) $(CFLAGS) -o $@ $< $(LIBQKTLS) -lssl $(LIBQKTLS_LIBS) -lpthread
