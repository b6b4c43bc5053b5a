# SPDX-License-Identifier: GPL-2.0-only
# qktls: the admin tool (libnl-genl-3, jansson, OpenSSL for wiping, libqktls
# for the names of the cipher suites).

QKTLS_TOOL_SRCS := $(wildcard tools/qktls/*.c)
QKTLS_TOOL_OBJS := $(patsubst tools/qktls/%.c,$(BUILD)/obj/tools/qktls/%.o,$(QKTLS_TOOL_SRCS))
QKTLS_TOOL_PKGS := libnl-genl-3.0 jansson libcrypto

PROGRAMS += $(BUILD)/bin/qktls

$(BUILD)/obj/tools/qktls/%.o: tools/qktls/%.c tools/qktls/qktls.h uapi/linux/qktls.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(QKTLS_TOOL_PKGS)) -c -o $@ $<

$(BUILD)/bin/qktls: $(QKTLS_TOOL_OBJS) $(LIBQKTLS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(QKTLS_TOOL_PKGS))

# The same tool built with ASan/UBSan, for the tests (not installed).
QKTLS_SAN_OBJS := $(patsubst tools/qktls/%.c,$(BUILD)/obj/tools/qktls-san/%.o,$(QKTLS_TOOL_SRCS))
UNIT_TESTS += $(BUILD)/tools/qktls-san

$(BUILD)/obj/tools/qktls-san/%.o: tools/qktls/%.c tools/qktls/qktls.h uapi/linux/qktls.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(SAN_FLAGS) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(QKTLS_TOOL_PKGS)) -c -o $@ $<

$(BUILD)/tools/qktls-san: $(QKTLS_SAN_OBJS) $(LIBQKTLS_SAN)
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) $(CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(QKTLS_TOOL_PKGS))
