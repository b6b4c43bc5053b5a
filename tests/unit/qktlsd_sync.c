// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agents' key agreement protocol (sync_proto.c) on crafted messages,
 * without sockets or a KME (userspace/qktlsd/fake.c): an OFFER naming a
 * store that does not exist or was not agreed, or carrying a batch number
 * out of turn, ends the session with ERROR before any KME call; the
 * master numbers its OFFERs without gaps; a new session keeps the kernel
 * pools and reconciles them (HELD, MISSING), and a HELD or MISSING that
 * does not add up ends it.  Built with ASan and UBSan, so
 * an index from the wire used on a 3-element array fails here too.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"	/* harness vs enums */

#include <arpa/inet.h>
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "../../userspace/qktlsd/fake.h"
#include "kselftest_harness.h"

#define ALL	7	/* hs, c2s, s2c */

/* The harness ends each test with _exit(): look for leaks before. */
#define NO_LEAKS() EXPECT_EQ(0, __lsan_do_recoverable_leak_check())

/* The code of the ERROR the session sent last, or -1 if the last was no ERROR. */
static int last_error(const struct fake *fk)
{
	const uint8_t *b;
	size_t len;

	if (!fk->sent || fake_out(fk, fk->sent - 1, &b, &len) != SYNC_MSG_ERROR ||
	    len < 2)
		return -1;
	return b[0] << 8 | b[1];
}

/* The batch number of the @nth (from 0) message of @type the session sent. */
static long sent_seq(const struct fake *fk, int type, unsigned int nth)
{
	const uint8_t *b;
	size_t len;
	uint32_t seq;

	for (unsigned int i = 0; i < fk->sent; i++) {
		if (fake_out(fk, i, &b, &len) != type || nth--)
			continue;
		if (len < 4)
			return -1;
		memcpy(&seq, b, 4);
		return ntohl(seq);
	}
	return -1;
}

static int sent_type(const struct fake *fk, unsigned int i)
{
	const uint8_t *b;
	size_t len;

	return fake_out(fk, i, &b, &len);
}

static void start(struct fake *fk, bool master, uint8_t kept)
{
	fake_init(fk, master, false, kept);
	fk->keep_out = true;
	if (master)
		fake_in_welcome(fk, ALL);
	else
		fake_in_hello(fk, ALL);
	fake_in_reconcile(fk, ALL);
}

static int run(struct fake *fk)
{
	return fk->f.master ? qd_sync_run_master(&fk->f, &fk->io) :
			      qd_sync_run_slave(&fk->f, &fk->io);
}

FIXTURE(slave) {
	struct fake fk;
};

FIXTURE_SETUP(slave)
{
	start(&self->fk, false, ALL);
}

FIXTURE_TEARDOWN(slave)
{
	fake_free(&self->fk);
}

/* The UBSan finding: the last entry's store index 200 was used. */
TEST_F(slave, offer_last_store_unknown)
{
	static const uint8_t where[] = { QD_STORE_HS, 200 };

	fake_in_offer(&self->fk, 1, where, 2, 0);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(0, self->fk.kme_calls);
	EXPECT_EQ(0, self->fk.st[QD_STORE_HS].n);
	NO_LEAKS();
}

TEST_F(slave, offer_first_store_unknown)
{
	static const uint8_t where[] = { 3, QD_STORE_HS };

	fake_in_offer(&self->fk, 1, where, 2, 0);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(0, self->fk.kme_calls);
}

/* The slave keeps only hs (no qktls.ko): c2s and s2c were not agreed. */
TEST(offer_last_store_not_agreed)
{
	for (int store = QD_STORE_C2S; store < QD_STORE_N; store++) {
		const uint8_t where[] = { QD_STORE_HS, QD_STORE_HS, (uint8_t)store };
		struct fake fk;

		start(&fk, false, 1);
		fake_in_offer(&fk, 1, where, 3, 0);
		EXPECT_EQ(-1, run(&fk));
		EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&fk));
		EXPECT_EQ(0, fk.kme_calls);
		EXPECT_EQ(0, fk.st[QD_STORE_HS].n);
		fake_free(&fk);
	}
	NO_LEAKS();
}

/* Batch 0 would pass for "no batch open". */
TEST_F(slave, offer_batch_zero)
{
	static const uint8_t where[] = { QD_STORE_HS };

	fake_in_offer(&self->fk, 0, where, 1, 0);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(0, self->fk.kme_calls);
	NO_LEAKS();
}

/* Two OFFERs of batch 0: the first one's keys must not be left behind. */
TEST_F(slave, offer_batch_zero_twice)
{
	static const uint8_t where[] = { QD_STORE_HS, QD_STORE_C2S, QD_STORE_S2C };

	fake_in_offer(&self->fk, 0, where, 3, 0);
	fake_in_offer(&self->fk, 0, where, 3, 3);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(0, self->fk.kme_calls);
	EXPECT_EQ(0, self->fk.st[QD_STORE_C2S].n);
	NO_LEAKS();
}

TEST_F(slave, offer_batch_reused)
{
	static const uint8_t where[] = { QD_STORE_HS, QD_STORE_S2C };

	fake_in_offer(&self->fk, 1, where, 2, 0);
	fake_in_seq(&self->fk, SYNC_MSG_COMMIT, 1);
	fake_in_offer(&self->fk, 1, where, 2, 2);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(1, self->fk.kme_calls);
	EXPECT_EQ(1, sent_seq(&self->fk, SYNC_MSG_ACK, 0));
	EXPECT_EQ(1, self->fk.st[QD_STORE_HS].n);
	EXPECT_EQ(1, self->fk.st[QD_STORE_S2C].n);
	NO_LEAKS();
}

TEST_F(slave, offer_batch_skipped)
{
	static const uint8_t where[] = { QD_STORE_HS };

	fake_in_offer(&self->fk, 2, where, 1, 0);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(0, self->fk.kme_calls);
}

/* One batch open at a time: the open batch's keys go with the session. */
TEST_F(slave, offer_while_open)
{
	static const uint8_t where[] = { QD_STORE_HS, QD_STORE_C2S };

	fake_in_offer(&self->fk, 1, where, 2, 0);
	fake_in_offer(&self->fk, 2, where, 2, 2);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(1, self->fk.kme_calls);
	NO_LEAKS();
}

/* A NAKed batch uses its number up. */
TEST_F(slave, offer_after_nak)
{
	static const uint8_t where[] = { QD_STORE_HS };

	self->fk.kme_first = FAKE_KME_FAIL;
	fake_in_offer(&self->fk, 1, where, 1, 0);
	fake_in_offer(&self->fk, 1, where, 1, 1);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(1, sent_seq(&self->fk, SYNC_MSG_NAK, 0));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(1, self->fk.kme_calls);
}

/* HELLO, two batches: the keys in their stores, no ERROR. */
TEST_F(slave, two_batches)
{
	static const uint8_t where[] = { QD_STORE_HS, QD_STORE_HS, QD_STORE_C2S,
					 QD_STORE_S2C };

	self->fk.kme_first = FAKE_KME_FAIL;
	fake_in_offer(&self->fk, 1, where, 4, 0);
	fake_in_offer(&self->fk, 2, where, 4, 4);
	fake_in_seq(&self->fk, SYNC_MSG_COMMIT, 2);
	fake_in_offer(&self->fk, 3, where + 1, 3, 8);
	fake_in_seq(&self->fk, SYNC_MSG_COMMIT, 3);
	EXPECT_EQ(-1, run(&self->fk));	/* the input ended */
	EXPECT_EQ(SYNC_MSG_WELCOME, sent_type(&self->fk, 0));
	EXPECT_EQ(1, sent_seq(&self->fk, SYNC_MSG_NAK, 0));
	EXPECT_EQ(2, sent_seq(&self->fk, SYNC_MSG_ACK, 0));
	EXPECT_EQ(3, sent_seq(&self->fk, SYNC_MSG_ACK, 1));
	EXPECT_EQ(-1, last_error(&self->fk));
	EXPECT_EQ(3, self->fk.kme_calls);
	EXPECT_EQ(3, self->fk.st[QD_STORE_HS].n);
	EXPECT_EQ(2, self->fk.st[QD_STORE_C2S].n);
	EXPECT_EQ(2, self->fk.st[QD_STORE_S2C].n);
	NO_LEAKS();
}

TEST_F(slave, offer_trailing_byte)
{
	static const uint8_t where[] = { QD_STORE_HS };
	struct fake *fk = &self->fk;
	size_t at = fk->in_len, len;
	uint8_t body[64];

	fake_in_offer(fk, 1, where, 1, 0);
	len = fk->in_len - at - 4;
	memcpy(body, fk->in + at + 4, len);
	body[len++] = 0;
	fk->in_len = at;
	fake_in_msg(fk, SYNC_MSG_OFFER, body, len);
	EXPECT_EQ(-1, run(fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(fk));
	EXPECT_EQ(0, fk->kme_calls);
}

TEST_F(slave, header_reserved_byte)
{
	static const uint8_t where[] = { QD_STORE_HS };
	struct fake *fk = &self->fk;
	size_t at = fk->in_len;

	fake_in_offer(fk, 1, where, 1, 0);
	fk->in[at + 1] = 1;
	EXPECT_EQ(-1, run(fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(fk));
	EXPECT_EQ(0, fk->kme_calls);
}

/* No body is longer than SYNC_BODY_MAX: the session ends before reading it. */
TEST_F(slave, header_body_too_long)
{
	static uint8_t big[SYNC_BODY_MAX + 1];

	fake_in_msg(&self->fk, SYNC_MSG_ERROR, big, sizeof(big));
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
}

/* The peer's ERROR text is logged without control characters, bounded. */
TEST_F(slave, peer_error_text_cleaned)
{
	static const char evil[] = "evil\x1b[2J\nqktlsd: error: forged\x7f";
	uint8_t body[2 + 1000];
	char logged[4096] = "";
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	ASSERT_NE(NULL, tmp);
	memset(body, 'A', sizeof(body));
	body[0] = 0;
	body[1] = SYNC_ERR_STORE;
	memcpy(body + 2, evil, sizeof(evil) - 1);
	fake_in_msg(&self->fk, SYNC_MSG_ERROR, body, sizeof(body));
	ASSERT_LE(0, saved);
	ASSERT_LE(0, dup2(fileno(tmp), 2));
	EXPECT_EQ(-1, run(&self->fk));
	ASSERT_LE(0, dup2(saved, 2));
	close(saved);
	rewind(tmp);
	n = fread(logged, 1, sizeof(logged) - 1, tmp);
	fclose(tmp);
	logged[n] = '\0';
	EXPECT_NE(NULL, strstr(logged, "error 4: evil?[2J?qktlsd: error: forged?AAA"));
	/* One line per message; nothing but printable text in between. */
	for (size_t i = 0; i < n; i++)
		EXPECT_TRUE(logged[i] == '\n' || (logged[i] >= 0x20 && logged[i] < 0x7f));
	EXPECT_EQ(NULL, strstr(logged, "\nqktlsd: error: forged"));
	EXPECT_NE(NULL, strstr(logged, "AAA...\n"));
	NO_LEAKS();
}

TEST_F(slave, commit_of_no_batch)
{
	fake_in_seq(&self->fk, SYNC_MSG_COMMIT, 0);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
}

/* HELLO cut short in its key size: malformed, not "another key size". */
TEST(hello_truncated)
{
	struct fake fk;

	fake_init(&fk, false, false, ALL);
	fk.keep_out = true;
	fake_in_hello(&fk, ALL);
	fk.in[3]--;
	fk.in_len--;
	EXPECT_EQ(-1, run(&fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&fk));
	EXPECT_EQ(1, fk.sent);
	fake_free(&fk);
}

FIXTURE(master) {
	struct fake fk;
};

FIXTURE_SETUP(master)
{
	start(&self->fk, true, ALL);
}

FIXTURE_TEARDOWN(master)
{
	fake_free(&self->fk);
}

/* Keys the master cannot use take no batch number: the OFFER is batch 1. */
TEST_F(master, numbers_after_unusable_keys)
{
	self->fk.kme_first = FAKE_KME_LENGTH;
	fake_in_seq(&self->fk, SYNC_MSG_ACK, 1);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(2, self->fk.kme_calls);
	EXPECT_EQ(SYNC_MSG_HELLO, sent_type(&self->fk, 0));
	EXPECT_EQ(1, sent_seq(&self->fk, SYNC_MSG_OFFER, 0));
	EXPECT_EQ(1, sent_seq(&self->fk, SYNC_MSG_COMMIT, 0));
	EXPECT_EQ(4, self->fk.st[QD_STORE_HS].n);
	NO_LEAKS();
}

TEST_F(master, numbers_after_nak)
{
	static const uint8_t nak[] = { 0, 0, 0, 1, 0, QK_KME_E_UNAVAILABLE, 'n', 'o' };

	fake_in_msg(&self->fk, SYNC_MSG_NAK, nak, sizeof(nak));
	fake_in_seq(&self->fk, SYNC_MSG_ACK, 2);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(1, sent_seq(&self->fk, SYNC_MSG_OFFER, 0));
	EXPECT_EQ(2, sent_seq(&self->fk, SYNC_MSG_OFFER, 1));
	EXPECT_EQ(2, sent_seq(&self->fk, SYNC_MSG_COMMIT, 0));
	EXPECT_EQ(-1, last_error(&self->fk));
	NO_LEAKS();
}

TEST_F(master, ack_of_another_batch)
{
	fake_in_seq(&self->fk, SYNC_MSG_ACK, 2);
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(0, self->fk.st[QD_STORE_HS].n);
	NO_LEAKS();
}

TEST_F(master, ack_trailing_byte)
{
	static const uint8_t ack[] = { 0, 0, 0, 1, 0 };

	fake_in_msg(&self->fk, SYNC_MSG_ACK, ack, sizeof(ack));
	EXPECT_EQ(-1, run(&self->fk));
	EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&self->fk));
	EXPECT_EQ(0, self->fk.st[QD_STORE_HS].n);
}

/* --- reconciling the kernel pools -------------------------------------------- */

/* The peer's HELD (@more: not its last) or MISSING naming fake keys @ids. */
static void in_ids(struct fake *fk, uint8_t type, uint8_t store, bool more,
		   const unsigned int *ids, size_t n)
{
	uint8_t b[4 + 300 * QKTLS_KEY_ID_LEN], *p = b;

	*p++ = store;
	if (type == SYNC_MSG_HELD)
		*p++ = more;
	*p++ = (uint8_t)(n >> 8);
	*p++ = (uint8_t)n;
	for (size_t i = 0; i < n; i++, p += QKTLS_KEY_ID_LEN)
		fake_id(ids[i], p);
	fake_in_msg(fk, type, b, (size_t)(p - b));
}

/*
 * The fake keys named by the @nth message of @type the session sent (its
 * more flag in *@more), or -1.
 */
static long sent_ids(const struct fake *fk, int type, unsigned int nth,
		     unsigned int *ids, size_t max, int *more)
{
	size_t len, head = type == SYNC_MSG_HELD ? 4 : 3, n;
	const uint8_t *b;

	for (unsigned int i = 0; i < fk->sent; i++) {
		if (fake_out(fk, i, &b, &len) != type || nth--)
			continue;
		if (len < head)
			return -1;
		n = (size_t)(b[head - 2] << 8 | b[head - 1]);
		if (len != head + n * QKTLS_KEY_ID_LEN || n > max)
			return -1;
		if (more)
			*more = type == SYNC_MSG_HELD ? b[1] : -1;
		for (size_t j = 0; j < n; j++) {
			const uint8_t *id = b + head + j * QKTLS_KEY_ID_LEN;

			ids[j] = (unsigned int)id[0] << 24 | id[1] << 16 | id[2] << 8 | id[3];
		}
		return (long)n;
	}
	return -1;
}

/* The fake keys in @store, in order, as a string "1 2 3". */
static const char *store_ids(const struct fake *fk, int store)
{
	static char out[4096];
	size_t at = 0;

	out[0] = '\0';
	for (size_t i = 0; i < fk->st[store].n && at < sizeof(out) - 12; i++) {
		const uint8_t *id = fk->st[store].ids[i];

		at += (size_t)snprintf(out + at, sizeof(out) - at, "%s%u", i ? " " : "",
				       (unsigned int)id[0] << 24 | id[1] << 16 |
				       id[2] << 8 | id[3]);
	}
	return out;
}

/* The slave, the link's server: it looks c2s keys up and takes s2c keys. */
static void slave_server(struct fake *fk)
{
	fake_init(fk, false, false, ALL);
	fk->keep_out = true;
	fake_in_hello(fk, ALL);
}

/*
 * The looker keeps what the taker holds and what may be on its way (older
 * than the taker's oldest key, younger than qkd.orphan_timeout); it deletes
 * what the taker can never send and says which keys it lacks.
 */
TEST(reconcile_looker)
{
	static const unsigned int held[] = { 3, 5, 6, 8, 100 };
	unsigned int ids[8];
	struct fake fk;

	slave_server(&fk);
	fake_store_fill(&fk, QD_STORE_C2S, 0, 1, 2 * 3600 * 1000);	/* orphan */
	fake_store_fill(&fk, QD_STORE_C2S, 1, 9, 1000);
	fake_store_fill(&fk, QD_STORE_HS, 50, 3, 0);
	in_ids(&fk, SYNC_MSG_HELD, QD_STORE_C2S, false, held, 5);
	in_ids(&fk, SYNC_MSG_MISSING, QD_STORE_S2C, false, NULL, 0);
	EXPECT_EQ(-1, run(&fk));	/* the input ended */
	EXPECT_EQ(-1, last_error(&fk));
	EXPECT_EQ(1, sent_ids(&fk, SYNC_MSG_MISSING, 0, ids, 8, NULL));
	EXPECT_EQ(100, ids[0]);
	EXPECT_STREQ("1 2 3 5 6 8", store_ids(&fk, QD_STORE_C2S));
	EXPECT_EQ(4, fk.deleted[QD_STORE_C2S]);
	EXPECT_EQ(0, fk.st[QD_STORE_HS].n);	/* a new session: hs is wiped */
	EXPECT_EQ(SYNC_MSG_WELCOME, sent_type(&fk, 0));
	EXPECT_EQ(SYNC_MSG_MISSING, sent_type(&fk, 1));
	EXPECT_EQ(SYNC_MSG_HELD, sent_type(&fk, 2));
	EXPECT_EQ(SYNC_MSG_LEVELS, sent_type(&fk, 3));
	fake_free(&fk);
	NO_LEAKS();
}

/* The taker lists its keys and deletes those the looker lacks. */
TEST(reconcile_taker)
{
	static const unsigned int missing[] = { 21, 23 };
	unsigned int ids[8];
	struct fake fk;
	int more;

	slave_server(&fk);
	fake_store_fill(&fk, QD_STORE_S2C, 20, 5, 0);
	in_ids(&fk, SYNC_MSG_HELD, QD_STORE_C2S, false, NULL, 0);
	in_ids(&fk, SYNC_MSG_MISSING, QD_STORE_S2C, false, missing, 2);
	EXPECT_EQ(-1, run(&fk));
	EXPECT_EQ(-1, last_error(&fk));
	ASSERT_EQ(5, sent_ids(&fk, SYNC_MSG_HELD, 0, ids, 8, &more));
	EXPECT_EQ(0, more);
	EXPECT_EQ(20, ids[0]);
	EXPECT_EQ(24, ids[4]);
	EXPECT_STREQ("20 22 24", store_ids(&fk, QD_STORE_S2C));
	fake_free(&fk);
	NO_LEAKS();
}

/* The master as the client: 300 keys go in two HELDs, each answered. */
TEST(reconcile_taker_chunks)
{
	static const unsigned int gone1[] = { 7 }, gone2[] = { 250, 299 };
	unsigned int ids[SYNC_HELD_MAX];
	struct fake fk;
	int more;

	fake_init(&fk, true, true, ALL);
	fk.keep_out = true;
	fake_in_welcome(&fk, ALL);
	fake_store_fill(&fk, QD_STORE_C2S, 0, 300, 0);
	in_ids(&fk, SYNC_MSG_MISSING, QD_STORE_C2S, false, gone1, 1);
	in_ids(&fk, SYNC_MSG_MISSING, QD_STORE_C2S, false, gone2, 2);
	in_ids(&fk, SYNC_MSG_HELD, QD_STORE_S2C, false, NULL, 0);
	EXPECT_EQ(-1, run(&fk));
	EXPECT_EQ(-1, last_error(&fk));
	EXPECT_EQ(SYNC_HELD_MAX, sent_ids(&fk, SYNC_MSG_HELD, 0, ids, SYNC_HELD_MAX, &more));
	EXPECT_EQ(1, more);
	EXPECT_EQ(60, sent_ids(&fk, SYNC_MSG_HELD, 1, ids, SYNC_HELD_MAX, &more));
	EXPECT_EQ(0, more);
	EXPECT_EQ(240, ids[0]);
	EXPECT_EQ(297, fk.st[QD_STORE_C2S].n);
	EXPECT_EQ(3, fk.deleted[QD_STORE_C2S]);
	fake_free(&fk);
	NO_LEAKS();
}

/* MISSING may name only keys of the HELD it answers, in its order. */
TEST(reconcile_missing_not_held)
{
	static const unsigned int other[] = { 99 }, reversed[] = { 23, 21 };

	for (int t = 0; t < 2; t++) {
		struct fake fk;

		slave_server(&fk);
		fake_store_fill(&fk, QD_STORE_S2C, 20, 5, 0);
		in_ids(&fk, SYNC_MSG_HELD, QD_STORE_C2S, false, NULL, 0);
		in_ids(&fk, SYNC_MSG_MISSING, QD_STORE_S2C, false, t ? reversed : other,
		       t ? 2 : 1);
		EXPECT_EQ(-1, run(&fk));
		EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&fk));
		EXPECT_EQ(5, fk.st[QD_STORE_S2C].n);
		EXPECT_EQ(0, fk.deleted[QD_STORE_S2C]);
		fake_free(&fk);
	}
	NO_LEAKS();
}

/*
 * A HELD for another pool, of more than 240 keys, cut short, or saying
 * more follow without being full: ERROR.
 */
TEST(reconcile_held_malformed)
{
	static unsigned int many[SYNC_HELD_MAX + 1];

	for (int t = 0; t < 4; t++) {
		struct fake fk;

		slave_server(&fk);
		fake_store_fill(&fk, QD_STORE_C2S, 0, 5, 3 * 3600 * 1000);
		if (t == 0)
			in_ids(&fk, SYNC_MSG_HELD, QD_STORE_S2C, false, many, 1);
		else if (t == 3)
			in_ids(&fk, SYNC_MSG_HELD, QD_STORE_C2S, true, many, 0);
		else
			in_ids(&fk, SYNC_MSG_HELD, QD_STORE_C2S, false, many,
			       t == 1 ? SYNC_HELD_MAX + 1 : 2);
		if (t == 2) {
			fk.in[3]--;	/* one byte short */
			fk.in_len--;
		}
		EXPECT_EQ(-1, run(&fk));
		EXPECT_EQ(SYNC_ERR_MALFORMED, last_error(&fk));
		EXPECT_EQ(5, fk.st[QD_STORE_C2S].n);	/* nothing deleted */
		fake_free(&fk);
	}
	NO_LEAKS();
}

TEST_HARNESS_MAIN
