# SPDX-License-Identifier: GPL-2.0-only
# qktls-kme-sim: a pair of simulated ETSI GS QKD 014 (and 004) KMEs.

KMESIM_SRCS := tools/kme-sim/sim.c tools/kme-sim/link.c tools/kme-sim/http.c \
	       tools/kme-sim/control.c tools/kme-sim/etsi004.c
KMESIM_OBJS := $(patsubst tools/kme-sim/%.c,$(BUILD)/obj/kme-sim/%.o,$(KMESIM_SRCS))
KMESIM_PKGS := libmicrohttpd gnutls jansson libssl libcrypto

$(BUILD)/obj/kme-sim/%.o: tools/kme-sim/%.c tools/kme-sim/sim.h tools/kme-sim/link.h \
		userspace/include/qktls/etsi004.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(KMESIM_PKGS)) $(CFLAGS) -c -o $@ $<

# The library gives the simulator its wiping jansson allocator.
$(BUILD)/bin/qktls-kme-sim: $(KMESIM_OBJS) $(KME_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(KMESIM_PKGS)) -lpthread

PROGRAMS   += $(BUILD)/bin/qktls-kme-sim
# The unit tests run the simulator.
UNIT_TESTS += $(BUILD)/bin/qktls-kme-sim

# The same simulator with ASan/UBSan, which the unit tests run (so a leak
# or an overflow in it fails them).
KMESIM_SAN_OBJS := $(patsubst tools/kme-sim/%.c,$(BUILD)/obj/kme-sim-san/%.o,$(KMESIM_SRCS))
$(BUILD)/obj/kme-sim-san/%.o: tools/kme-sim/%.c tools/kme-sim/sim.h tools/kme-sim/link.h \
		userspace/include/qktls/etsi004.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(SAN_FLAGS) $(shell $(PKG_CONFIG) --cflags $(KMESIM_PKGS)) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/kme/qktls-kme-sim: $(KMESIM_SAN_OBJS) $(KME_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) $(CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(KMESIM_PKGS)) -lpthread

UNIT_TESTS += $(BUILD)/tests/kme/qktls-kme-sim
