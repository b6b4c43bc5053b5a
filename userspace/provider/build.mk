# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The qktls OpenSSL provider (part of libqktls): libqktls-provider.a for
# programs, and a sanitizer build of the same objects for the unit tests;
# and qktls.so, the same provider as a module stock OpenSSL loads, with the
# on-demand KME key source (kmekeys.c, module.c; they need libqktls-kme).

PROV_MOD_SRCS := userspace/provider/module.c userspace/provider/kmekeys.c
PROV_SRCS := $(filter-out userspace/provider/fuzz_%.c $(PROV_MOD_SRCS),\
		$(wildcard userspace/provider/*.c))
PROV_HDRS := $(wildcard userspace/provider/*.h) userspace/include/qktls/provider.h
PROV_OBJS := $(patsubst userspace/provider/%.c,$(BUILD)/obj/provider/%.o,$(PROV_SRCS))
PROV_SAN_OBJS := $(patsubst userspace/provider/%.c,$(BUILD)/obj/provider-san/%.o,$(PROV_SRCS))
PROV_LIB := $(BUILD)/lib/libqktls-provider.a
PROV_SAN_LIB := $(BUILD)/lib/libqktls-provider-san.a
PROV_LDLIBS := $(shell $(PKG_CONFIG) --libs libssl libcrypto) -lpthread

$(BUILD)/obj/provider/%.o: userspace/provider/%.c $(PROV_HDRS)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) -fPIC $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/provider-san/%.o: userspace/provider/%.c $(PROV_HDRS)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(SAN_FLAGS) $(CFLAGS) -c -o $@ $<

$(PROV_LIB): $(PROV_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(PROV_SAN_LIB): $(PROV_SAN_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

PROGRAMS += $(PROV_LIB)

# The loadable module: exports OSSL_provider_init only (qktls-module.map).
PROV_MODULE := $(BUILD)/lib/ossl-modules/qktls.so
PROV_MOD_OBJS := $(patsubst userspace/provider/%.c,$(BUILD)/obj/provider/%.o,$(PROV_MOD_SRCS))
PROV_MOD_MAP := userspace/provider/qktls-module.map
# The agent links the KME key source from here.
PROV_KMEKEYS_OBJ := $(BUILD)/obj/provider/kmekeys.o
PROV_KMEKEYS_SAN_OBJ := $(BUILD)/obj/provider-san/kmekeys.o

$(PROV_MODULE): $(PROV_OBJS) $(PROV_MOD_OBJS) $(KME_LIB) $(PROV_MOD_MAP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,--version-script=$(PROV_MOD_MAP) \
		-Wl,-z,defs -Wl,-z,relro -Wl,-z,now -o $@ \
		$(PROV_OBJS) $(PROV_MOD_OBJS) $(KME_LIB) $(KME_LIBS) $(PROV_LDLIBS)

PROGRAMS += $(PROV_MODULE)

# Unit tests link the sanitizer build.
DEPS_provider_handshake := $(PROV_SAN_LIB)
LDLIBS_provider_handshake := $(PROV_LDLIBS)
# The TLS peer the interop shell test drives against stock openssl.
PROV_PEER := $(BUILD)/tests/helpers/provider_peer
$(PROV_PEER): tests/helpers/provider_peer.c $(PROV_SAN_LIB)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(SAN_FLAGS) $(CFLAGS) -o $@ $< $(PROV_SAN_LIB) $(PROV_LDLIBS)
UNIT_TESTS += $(PROV_PEER)

# libFuzzer target for the key share parsing (clang; the provider's sources).
PROV_FUZZ := $(BUILD)/fuzz/provider_share
$(PROV_FUZZ): userspace/provider/fuzz_share.c $(PROV_SRCS) $(PROV_HDRS)
	@mkdir -p $(@D)
	clang $(QK_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ \
		userspace/provider/fuzz_share.c $(PROV_SRCS) \
		$(shell $(PKG_CONFIG) --libs libcrypto) -lpthread
UNIT_TESTS += $(PROV_FUZZ)
