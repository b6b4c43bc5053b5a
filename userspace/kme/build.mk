# SPDX-License-Identifier: GPL-2.0-only
#
# libqktls-kme: the ETSI GS QKD 014 client and the key-source interface.
# Two flavours: the plain library for programs, and one built with the
# sanitizers for the unit tests.

KME_SRCS    := userspace/kme/parse.c userspace/kme/client.c userspace/kme/source.c \
	       userspace/kme/json-wipe.c userspace/kme/uuid.c userspace/kme/etsi004.c \
	       userspace/kme/etsi004-wire.c userspace/kme/etsi004-source.c
KME_CFLAGS   = $(QK_CFLAGS) -fPIC $(shell $(PKG_CONFIG) --cflags libcurl jansson libssl libcrypto)
KME_LIBS     = $(shell $(PKG_CONFIG) --libs libcurl jansson libssl libcrypto) -lpthread
KME_LIB     := $(BUILD)/lib/libqktls-kme.a
KME_LIB_SAN := $(BUILD)/lib/libqktls-kme-san.a

KME_OBJS     := $(patsubst userspace/kme/%.c,$(BUILD)/obj/kme/%.o,$(KME_SRCS))
KME_OBJS_SAN := $(patsubst userspace/kme/%.c,$(BUILD)/obj/kme-san/%.o,$(KME_SRCS))
KME_HDRS     := userspace/include/qktls/kme.h userspace/include/qktls/etsi004.h \
	       userspace/kme/kme-internal.h

$(BUILD)/obj/kme/%.o: userspace/kme/%.c $(KME_HDRS)
	@mkdir -p $(@D)
	$(CC) $(KME_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/kme-san/%.o: userspace/kme/%.c $(KME_HDRS)
	@mkdir -p $(@D)
	$(CC) $(KME_CFLAGS) $(SAN_FLAGS) $(CFLAGS) -c -o $@ $<

$(KME_LIB): $(KME_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(KME_LIB_SAN): $(KME_OBJS_SAN)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

PROGRAMS += $(KME_LIB)

# Unit tests linked with the library.
KME_TEST_LIBS = $(KME_LIB_SAN) $(KME_LIBS)
DEPS_kme_client   := $(KME_LIB_SAN)
LDLIBS_kme_client  = $(KME_LIBS)
DEPS_kme_parse    := $(KME_LIB_SAN)
LDLIBS_kme_parse   = $(KME_LIBS)

# libFuzzer target for the response parser (clang; the parser and its
# allocator alone, no network code).
KME_FUZZ := $(BUILD)/fuzz/kme_parse
$(KME_FUZZ): userspace/kme/fuzz_parse.c userspace/kme/parse.c userspace/kme/json-wipe.c $(KME_HDRS)
	@mkdir -p $(@D)
	clang $(QK_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all \
		$(shell $(PKG_CONFIG) --cflags jansson libcrypto) -o $@ \
		userspace/kme/fuzz_parse.c userspace/kme/parse.c userspace/kme/json-wipe.c \
		$(shell $(PKG_CONFIG) --libs jansson libcrypto)
UNIT_TESTS += $(KME_FUZZ)
$(BUILD)/tests/unit/kme_client: tests/unit/kme_sim.h userspace/include/qktls/kme.h
$(BUILD)/tests/unit/kme_parse: userspace/include/qktls/kme.h
DEPS_kme_etsi004    := $(KME_LIB_SAN)
LDLIBS_kme_etsi004   = $(KME_LIBS)
$(BUILD)/tests/unit/kme_etsi004: tests/unit/kme_sim.h userspace/include/qktls/etsi004.h

# libFuzzer target for the ETSI 004 codec (no network code).
KME_FUZZ004 := $(BUILD)/fuzz/kme_etsi004
$(KME_FUZZ004): userspace/kme/fuzz_etsi004.c userspace/kme/etsi004-wire.c \
		userspace/kme/parse.c userspace/kme/json-wipe.c $(KME_HDRS)
	@mkdir -p $(@D)
	clang $(QK_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all \
		$(shell $(PKG_CONFIG) --cflags jansson libcrypto) -o $@ \
		userspace/kme/fuzz_etsi004.c userspace/kme/etsi004-wire.c \
		userspace/kme/parse.c userspace/kme/json-wipe.c \
		$(shell $(PKG_CONFIG) --libs jansson libcrypto)
UNIT_TESTS += $(KME_FUZZ004)
