# SPDX-License-Identifier: GPL-2.0-only
# qktls-kme: the ETSI GS QKD 014 and 004 probe.

$(BUILD)/obj/qktls-kme/%.o: tools/qktls-kme/%.c tools/qktls-kme/qktls-kme.h \
		userspace/include/qktls/kme.h userspace/include/qktls/etsi004.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(shell $(PKG_CONFIG) --cflags jansson libcrypto) $(CFLAGS) -c -o $@ $<

$(BUILD)/bin/qktls-kme: $(BUILD)/obj/qktls-kme/qktls-kme.o $(BUILD)/obj/qktls-kme/etsi004.o \
		$(BUILD)/lib/libqktls-kme.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(KME_LIBS)

PROGRAMS   += $(BUILD)/bin/qktls-kme
UNIT_TESTS += $(BUILD)/bin/qktls-kme
