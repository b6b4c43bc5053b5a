# SPDX-License-Identifier: GPL-2.0-only
# qktls-xfer: the demo's application (libqktls hand-off, then a checksummed
# bulk transfer with plain sendfile() and read() on the kTLS socket).

DEPS_XFER   := $(LIBQKTLS)
LDLIBS_XFER  = $(LIBQKTLS_LIBS) -lpthread

$(BUILD)/bin/qktls-xfer: tools/demo/xfer.c $(DEPS_XFER) userspace/include/qktls/handshake.h \
		userspace/include/qktls/sock.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(LIBQKTLS_CFLAGS) $(CFLAGS) -o $@ $< $(DEPS_XFER) $(LDLIBS_XFER)

PROGRAMS += $(BUILD)/bin/qktls-xfer
