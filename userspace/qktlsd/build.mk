# SPDX-License-Identifier: GPL-2.0-only
#
# qktlsd: the handshake agent (libconfig, OpenSSL, the qktls provider and
# libqktls).

QKTLSD_SRCS := $(wildcard userspace/qktlsd/*.c)
QKTLSD_OBJS := $(patsubst userspace/qktlsd/%.c,$(BUILD)/obj/qktlsd/%.o,$(QKTLSD_SRCS))
QKTLSD_PKGS := libconfig libssl libcrypto
QKTLSD_HDRS := userspace/qktlsd/qktlsd.h userspace/include/qktls/handshake.h \
	       userspace/include/qktls/provider.h userspace/include/qktls/ktls.h

$(BUILD)/obj/qktlsd/%.o: userspace/qktlsd/%.c $(QKTLSD_HDRS)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(QKTLSD_PKGS)) -c -o $@ $<

$(BUILD)/bin/qktlsd: $(QKTLSD_OBJS) $(PROV_LIB) $(LIBQKTLS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(QKTLSD_OBJS) $(PROV_LIB) $(LIBQKTLS) \
		$(shell $(PKG_CONFIG) --libs $(QKTLSD_PKGS)) -lpthread

PROGRAMS += $(BUILD)/bin/qktlsd

# The application the agent's VM tests hand sockets over with (libqktls).
QKTLSD_APP := $(BUILD)/tests/helpers/qktlsd_app
$(QKTLSD_APP): tests/helpers/qktlsd_app.c $(LIBQKTLS) userspace/include/qktls/handshake.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(CFLAGS) -o $@ $< $(LIBQKTLS) -lpthread
KERNEL_TESTS += $(QKTLSD_APP)
