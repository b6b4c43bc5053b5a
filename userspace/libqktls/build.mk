# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libqktls: the application library.  Every userspace/libqktls/*.c goes into
# $(BUILD)/lib/libqktls.a; the unit tests link $(BUILD)/lib/san/libqktls.a,
# the same objects built with ASan/UBSan.  Users link $(LIBQKTLS_LIBS) too
# (OpenSSL's libcrypto, and libnl-genl-3 for the calls to qktls.ko).

LIBQKTLS_SRCS   := $(wildcard userspace/libqktls/*.c)
LIBQKTLS_OBJS   := $(patsubst userspace/libqktls/%.c,$(BUILD)/obj/libqktls/%.o,$(LIBQKTLS_SRCS))
LIBQKTLS_SOBJS  := $(patsubst userspace/libqktls/%.c,$(BUILD)/obj/libqktls-san/%.o,$(LIBQKTLS_SRCS))
LIBQKTLS_PKGS   := libcrypto libnl-genl-3.0
LIBQKTLS_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBQKTLS_PKGS) 2>/dev/null)
LIBQKTLS_LIBS   := $(or $(shell $(PKG_CONFIG) --libs $(LIBQKTLS_PKGS) 2>/dev/null),-lcrypto -lnl-genl-3 -lnl-3)
LIBQKTLS        := $(BUILD)/lib/libqktls.a
LIBQKTLS_SAN    := $(BUILD)/lib/san/libqktls.a

$(BUILD)/obj/libqktls/%.o: userspace/libqktls/%.c
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) -fPIC -MMD -MP $(LIBQKTLS_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/libqktls-san/%.o: userspace/libqktls/%.c
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(SAN_FLAGS) -MMD -MP $(LIBQKTLS_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBQKTLS): $(LIBQKTLS_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBQKTLS_SAN): $(LIBQKTLS_SOBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

# The shared library applications link (make install): the same objects,
# soname libqktls.so.$(LIBQKTLS_SOVERSION) (tools/build/install.mk), exporting
# only the documented API (libqktls.map).  The programs and tests of this
# tree keep linking the static archive.
LIBQKTLS_MAP := userspace/libqktls/libqktls.map
LIBQKTLS_SO  := $(BUILD)/lib/$(LIBQKTLS_SOFILE)

$(LIBQKTLS_SO): $(LIBQKTLS_OBJS) $(LIBQKTLS_MAP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(LIBQKTLS_SONAME) \
		-Wl,--version-script=$(LIBQKTLS_MAP) -Wl,-z,defs -Wl,-z,relro -Wl,-z,now \
		-o $@ $(LIBQKTLS_OBJS) $(LIBQKTLS_LIBS)

-include $(LIBQKTLS_OBJS:.o=.d) $(LIBQKTLS_SOBJS:.o=.d)

PROGRAMS += $(LIBQKTLS) $(LIBQKTLS_SO)

# Tests of the key schedule and kTLS install.
DEPS_keysched     := $(LIBQKTLS_SAN)
LDLIBS_keysched   := $(LIBQKTLS_LIBS)
DEPS_ktls_install := $(LIBQKTLS)
LDLIBS_ktls_install := -lssl $(LIBQKTLS_LIBS)

DEPS_stream_plain   = $(LIBQKTLS_SAN)
LDLIBS_stream_plain = $(LIBQKTLS_LIBS)
