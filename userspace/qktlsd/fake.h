/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A link's feeder without the agent, for the fuzz targets (fuzz_sync.c)
 * and the unit tests (tests/unit/qktlsd_sync.c) that run sync_proto.c
 * alone: feed.c's stores, the KME and the session's transport, in memory.
 * The peer's messages are queued before the session runs; what the
 * session sends is kept.  Not part of qktlsd.
 *
 * The fakes check the protocol's promises as it runs and trap when one is
 * broken: store indices name a store the agent keeps, every KME request
 * asks for 1 to 64 keys by valid UUIDs, a key reaches the taker's store
 * only at the COMMIT of its batch (the looker's at the OFFER, the
 * master's at the ACK), counters are the feeder's own, and nothing is
 * sent after an ERROR.
 */
#ifndef QKTLSD_FAKE_H
#define QKTLSD_FAKE_H

#include "sync.h"

#define FAKE_STORE_MAX	1024	/* keys per fake store (then it is full) */
#define FAKE_KICK	0xff	/* fake_in_kick(): a header of this type */

/* How the fake KME answers. */
enum fake_kme {
	FAKE_KME_OK,
	FAKE_KME_FAIL,		/* QK_KME_E_UNAVAILABLE */
	FAKE_KME_COUNT,		/* one key fewer than asked */
	FAKE_KME_LENGTH,	/* keys one byte short */
};

struct fake_store {
	size_t n;
	uint8_t ids[FAKE_STORE_MAX][QKTLS_KEY_ID_LEN];
	uint64_t age_ms[FAKE_STORE_MAX];	/* kernel pools: as KEY_GET says */
};

struct fake {
	struct qd_feed f;		/* first: the fakes get &fake->f */
	struct qk_key_source src;
	struct qd_sync_io io;
	/* The peer's messages, and how far the session read them. */
	uint8_t *in;
	size_t in_len, in_size, in_pos, in_next;
	uint8_t in_type;		/* the message being read, or 0 */
	/* What the session sent (kept when keep_out). */
	bool keep_out, error_sent;
	uint8_t *out;
	size_t out_len, out_size;
	unsigned int sent;		/* messages */
	/* The KME and the stores. */
	enum fake_kme kme, kme_first;	/* kme_first: the first call (if not OK) */
	unsigned int kme_calls, keys_made;
	struct fake_store st[QD_STORE_N];
	size_t deleted[QD_STORE_N];	/* keys qd_store_del() removed */
};

/*
 * A master or slave feeder (@client: the link's TLS role) keeping the
 * stores in the bit mask @stores (bit 0 hs, 1 c2s, 2 s2c).  Stores hold
 * keys of 32 bytes; low and high watermarks 2 and 4.  The first KME retry
 * after a failure is due at once, any later one in an hour.
 */
void fake_init(struct fake *fk, bool master, bool client, uint8_t stores);
void fake_free(struct fake *fk);

/* Queue the peer's messages. */
void fake_in_msg(struct fake *fk, uint8_t type, const void *body, size_t len);
void fake_in_hello(struct fake *fk, uint8_t stores);
void fake_in_welcome(struct fake *fk, uint8_t stores);
/* OFFER @seq of @n keys, key i for store @where[i], key ID fake_uuid(@first + i). */
void fake_in_offer(struct fake *fk, uint32_t seq, const uint8_t *where, size_t n,
		   unsigned int first);
/* ACK, COMMIT and other messages that are only a batch number. */
void fake_in_seq(struct fake *fk, uint8_t type, uint32_t seq);
/* The feeder's kick (a store ran low) before the next message. */
void fake_in_kick(struct fake *fk);

/* The UUID text of fake key @i (36 characters and a NUL), and its 16 bytes. */
void fake_uuid(unsigned int i, char out[SYNC_UUID_LEN + 1]);
void fake_id(unsigned int i, uint8_t id[QKTLS_KEY_ID_LEN]);
/*
 * The peer's side of reconciling the kernel pools in @stores that this
 * side keeps, when this side's pools hold at most SYNC_HELD_MAX keys and
 * the peer misses none of ours and holds none we lack: an empty HELD
 * where we look keys up, an empty MISSING where we take them.
 */
void fake_in_reconcile(struct fake *fk, uint8_t stores);
/* Put fake keys @first .. @first + @n - 1, @age_ms old, in @store. */
void fake_store_fill(struct fake *fk, int store, unsigned int first, size_t n,
		     uint64_t age_ms);

/* Message @i the session sent: its type, or -1 if there is none. */
int fake_out(const struct fake *fk, unsigned int i, const uint8_t **body,
	     size_t *len);

#endif /* QKTLSD_FAKE_H */
