# SPDX-License-Identifier: GPL-2.0-only
#
# qktlsd: the handshake agent (libconfig, OpenSSL, libnl-genl-3, the qktls
# provider, libqktls and the KME client libqktls-kme).

# fake.c and fuzz_*.c are the fuzz targets' and unit tests' (below).
QKTLSD_SRCS := $(filter-out userspace/qktlsd/fake.c userspace/qktlsd/fuzz_%.c,\
		 $(wildcard userspace/qktlsd/*.c))
QKTLSD_OBJS := $(patsubst userspace/qktlsd/%.c,$(BUILD)/obj/qktlsd/%.o,$(QKTLSD_SRCS))
QKTLSD_PKGS := libconfig libssl libcrypto libnl-genl-3.0
# Every header an object includes is a dependency (-MMD); the list below
# also covers objects built before the .d files existed.
QKTLSD_HDRS := userspace/qktlsd/qktlsd.h $(wildcard userspace/include/qktls/*.h)

$(BUILD)/obj/qktlsd/%.o: userspace/qktlsd/%.c $(QKTLSD_HDRS)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) -MMD -MP $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(QKTLSD_PKGS)) -c -o $@ $<

$(BUILD)/bin/qktlsd: $(QKTLSD_OBJS) $(PROV_LIB) $(LIBQKTLS) $(KME_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(QKTLSD_OBJS) $(PROV_LIB) $(LIBQKTLS) $(KME_LIB) \
		$(shell $(PKG_CONFIG) --libs $(QKTLSD_PKGS)) $(KME_LIBS) -lpthread

PROGRAMS += $(BUILD)/bin/qktlsd

# The application the agent's VM tests hand sockets over with (libqktls).
QKTLSD_APP := $(BUILD)/tests/helpers/qktlsd_app
$(QKTLSD_APP): tests/helpers/qktlsd_app.c $(LIBQKTLS) userspace/include/qktls/handshake.h \
	       userspace/include/qktls/stream.h userspace/include/qktls/sock.h
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(CFLAGS) -o $@ $< $(LIBQKTLS) $(LIBQKTLS_LIBS) -lpthread
KERNEL_TESTS += $(QKTLSD_APP)

# Unit test of the hand-off (library side and the real agent's refusals;
# it runs the sanitizer build of the agent below).
DEPS_qktls_handoff   := $(LIBQKTLS_SAN)
LDLIBS_qktls_handoff := $(LIBQKTLS_LIBS)
# Unauthenticated connections against the real agent (issue 14 item 2).
DEPS_qktlsd_flood    := $(LIBQKTLS_SAN)
LDLIBS_qktlsd_flood  := $(LIBQKTLS_LIBS)

# The agent built with ASan/UBSan, which the unit tests run instead of the
# plain one (leaks and undefined behaviour on every path they drive).
QKTLSD_SAN      := $(BUILD)/tests/helpers/qktlsd-san
QKTLSD_SAN_OBJS := $(patsubst userspace/qktlsd/%.c,$(BUILD)/obj/qktlsd-san/%.o,$(QKTLSD_SRCS))

$(BUILD)/obj/qktlsd-san/%.o: userspace/qktlsd/%.c $(QKTLSD_HDRS)
	@mkdir -p $(@D)
	$(CC) $(QK_CFLAGS) $(SAN_FLAGS) -MMD -MP $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(QKTLSD_PKGS)) -c -o $@ $<

$(QKTLSD_SAN): $(QKTLSD_SAN_OBJS) $(PROV_SAN_LIB) $(LIBQKTLS_SAN) $(KME_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) $(CFLAGS) -o $@ $(QKTLSD_SAN_OBJS) $(PROV_SAN_LIB) \
		$(LIBQKTLS_SAN) $(KME_LIB_SAN) \
		$(shell $(PKG_CONFIG) --libs $(QKTLSD_PKGS)) $(KME_LIBS) -lpthread
UNIT_TESTS += $(QKTLSD_SAN)

# Unit test of a link's key store and the budgets for unauthenticated
# clients: keys.c, strangers.c, clock.c and log.c, with the sanitizers.
DEPS_qktlsd_keys   := $(patsubst %,$(BUILD)/obj/qktlsd-san/%.o,keys strangers clock log) \
		      $(PROV_SAN_LIB)
LDLIBS_qktlsd_keys := -lcrypto

# Unit test of the key agreement protocol: sync_proto.c alone, its
# surroundings faked (fake.c), with the sanitizers.
QKTLSD_SYNC_SAN := $(patsubst %,$(BUILD)/obj/qktlsd-san/%.o,sync_proto fake log)
DEPS_qktlsd_sync   := $(QKTLSD_SYNC_SAN) $(KME_LIB_SAN)
LDLIBS_qktlsd_sync  = $(KME_LIBS)

# libFuzzer targets (clang): the key agreement, one per message
# (fuzz_sync.c over sync_proto.c and fake.c), and the configuration parser
# (fuzz_config.c over config.c).  tests/unit/qktlsd_fuzz.sh runs them.
QKTLSD_FUZZ_CFLAGS = $(QK_CFLAGS) -g -O1 -fno-sanitize-recover=all \
		     $(shell $(PKG_CONFIG) --cflags $(QKTLSD_PKGS) jansson)
QKTLSD_FUZZ_LIBS   = $(shell $(PKG_CONFIG) --libs libconfig jansson libcrypto) -lpthread
QKTLSD_FUZZ_OBJ   := $(BUILD)/obj/qktlsd-fuzz
SYNC_FUZZ_OBJS    := $(patsubst %,$(QKTLSD_FUZZ_OBJ)/%.o,sync_proto fake log kme-parse kme-uuid \
		     kme-json-wipe)
CONFIG_FUZZ_OBJS  := $(patsubst %,$(QKTLSD_FUZZ_OBJ)/%.o,config log kme-etsi004-wire \
		     kme-parse kme-json-wipe)
SYNC_FUZZ         := $(patsubst %,$(BUILD)/fuzz/sync_%,hello welcome offer commit error \
		     reconcile)
CONFIG_FUZZ       := $(BUILD)/fuzz/qktlsd_config

$(QKTLSD_FUZZ_OBJ)/%.o: userspace/qktlsd/%.c $(QKTLSD_HDRS)
	@mkdir -p $(@D)
	clang $(QKTLSD_FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
		-MMD -MP -c -o $@ $<

$(QKTLSD_FUZZ_OBJ)/kme-%.o: userspace/kme/%.c $(KME_HDRS)
	@mkdir -p $(@D)
	clang $(QKTLSD_FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
		-MMD -MP -c -o $@ $<

$(BUILD)/fuzz/sync_%: userspace/qktlsd/fuzz_sync.c $(SYNC_FUZZ_OBJS)
	@mkdir -p $(@D)
	clang $(QKTLSD_FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-DFUZZ_SYNC=FUZZ_$* -o $@ $< $(SYNC_FUZZ_OBJS) $(QKTLSD_FUZZ_LIBS)

$(CONFIG_FUZZ): userspace/qktlsd/fuzz_config.c $(CONFIG_FUZZ_OBJS)
	@mkdir -p $(@D)
	clang $(QKTLSD_FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(CONFIG_FUZZ_OBJS) $(QKTLSD_FUZZ_LIBS)

UNIT_TESTS += $(SYNC_FUZZ) $(CONFIG_FUZZ)

-include $(QKTLSD_OBJS:.o=.d) $(QKTLSD_SAN_OBJS:.o=.d) $(wildcard $(QKTLSD_FUZZ_OBJ)/*.d)
