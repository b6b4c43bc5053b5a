// SPDX-License-Identifier: GPL-2.0-only
/*
 * TX rekeys asked for over netlink (QKTLS_CMD_SOCK_REKEY) and the kernel's
 * key schedule against libqktls's, for every cipher suite, on a loopback
 * pair with kTLS installed by libqktls.  The client is attached, with pools
 * of its own (cli-c2s, cli-s2c); the server is a plain kTLS peer that is
 * not attached and does its TLS with libqktls, its copies of the keys in
 * srv-c2s and srv-s2c.  Each test runs in its own network namespace, so
 * /proc/net/tls_stat is its own:
 *
 * - a TX QKD rekey puts the 0xe7 key reference record and the KeyUpdate on
 *   the wire (the peer reads them with recvmsg() and TLS_GET_RECORD_TYPE),
 *   the peer follows with qktls_next_secret_qkd() and the data decrypts;
 *   standard updates and update_requested likewise; replies, events and
 *   the kTLS rekey counters move by exactly as much;
 * - the other way, the peer's QKD and standard updates made with libqktls
 *   are followed inside the attached end's plain reads, which never see a
 *   control record, not even when they ask for the record type; the
 *   attached end answers update_requested with a QKD update of its own;
 * - an empty or deleted TX pool: -ENOKEY and nothing on the wire;
 * - QKTLS_CMD_SOCK_REKEY for RX is refused with -EINVAL and says why;
 * - QKD rekeys asked for are limited per socket and per TX pool (-EBUSY),
 *   sending nothing and taking no key;
 * - the rekey policy: past rekey_bytes the socket is due and an event says
 *   so, until a TX rekey;
 * - on kernels without kTLS rekey (6.12): -EOPNOTSUPP, data unharmed.
 */
#include "kselftest_harness.h"
#include "../lib/ktls_secrets.h"
#include "../lib/qktls_nl.h"

#include <qktls/handshake.h>
#include <qktls/keysched.h>

#define TAG_C2S 0xc25c0001u
#define TAG_S2C 0x52cc0002u
#define KLEN 32

static bool kernel_has_rekey(void)
{
	return qktls_ktls_rekey_supported() == 1;
}

/* A read that must fail right now, taking no byte: its errno. */
static int read_fails(int fd)
{
	char b[16];

	if (recv(fd, b, sizeof(b), MSG_DONTWAIT) >= 0)
		return 0;
	return errno;
}

FIXTURE(rk) {
	struct qk q, ev;
	struct qk_reply r;
	int c, s;
	size_t hlen;
	uint8_t c2s[48], s2c[48];	/* the current secrets */
	long tx_ok, rx_ok, rx_recv;
	long limits[4];
};

/* The module's limits of requested QKD rekeys, restored after each test. */
static const char *const limit_params[4] = {
	"sock_qkd_rekeys_per_min", "sock_qkd_rekey_burst",
	"pool_qkd_rekeys_per_min", "pool_qkd_rekey_burst",
};

FIXTURE_VARIANT(rk) {
	uint16_t suite;
};

FIXTURE_VARIANT_ADD(rk, aes_128_gcm_sha256) { .suite = 0x1301 };
FIXTURE_VARIANT_ADD(rk, aes_256_gcm_sha384) { .suite = 0x1302 };
FIXTURE_VARIANT_ADD(rk, chacha20_poly1305_sha256) { .suite = 0x1303 };

/* Attach one end with its pools, the QKD key update and @rekey_bytes. */
static int attach(FIXTURE_DATA(rk) *self, uint16_t suite, bool client,
		  uint64_t rekey_bytes)
{
	struct qk_attach a = {
		.fd = client ? self->c : self->s, .cipher = suite,
		.tx_secret = client ? self->c2s : self->s2c,
		.rx_secret = client ? self->s2c : self->c2s,
		.tx_len = self->hlen, .rx_len = self->hlen,
		.link = client ? "cli" : "srv",
		.tx_pool = client ? "cli-c2s" : "srv-s2c",
		.rx_pool = client ? "cli-s2c" : "srv-c2s",
		.qkd_update = true, .rekey_bytes = rekey_bytes,
	};
	int err = qk_sock_attach(&self->q, &a, NULL, &self->r);

	qk_reply_free(&self->r);
	return err;
}

FIXTURE_SETUP(rk)
{
	static const char *pools[] = { "cli-c2s", "srv-c2s", "cli-s2c",
				       "srv-s2c" };
	const struct qktls_suite_info *si = qktls_suite_info(variant->suite);

	ASSERT_NE(NULL, si);
	self->hlen = si->hash_len;
	for (int i = 0; i < 4; i++) {
		self->limits[i] = qk_param(limit_params[i]);
		ASSERT_LE(0, self->limits[i]);
	}
	ASSERT_EQ(0, qk_private_netns());
	ASSERT_EQ(0, qk_open(&self->q));
	ASSERT_EQ(0, qk_open(&self->ev));
	ASSERT_EQ(0, qk_subscribe(&self->ev));
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, qk_pool_filled(&self->q, pools[i], 64,
					    i < 2 ? TAG_C2S : TAG_S2C, 4, KLEN));
	}
	qk_material(self->c2s, sizeof(self->c2s), TAG_C2S, 1000);
	qk_material(self->s2c, sizeof(self->s2c), TAG_S2C, 1000);
	ASSERT_EQ(0, qk_ktls_pair(variant->suite, self->c2s, self->s2c,
				  self->hlen, &self->c, &self->s));
	ASSERT_EQ(0, attach(self, variant->suite, true, 0));
	self->tx_ok = qk_tls_stat("TlsTxRekeyOk");
	self->rx_ok = qk_tls_stat("TlsRxRekeyOk");
	self->rx_recv = qk_tls_stat("TlsRxRekeyReceived");
}

FIXTURE_TEARDOWN(rk)
{
	for (int i = 0; i < 4; i++)
		if (self->limits[i] >= 0)
			qk_set_param(limit_params[i], self->limits[i]);
	close(self->c);
	close(self->s);
	qk_close(&self->ev);
	qk_close(&self->q);
}

static void send_str(struct __test_metadata *_metadata, int fd,
		     const char *s)
{
	ASSERT_EQ((ssize_t)strlen(s), write_full(fd, s, strlen(s)));
}

/* The next record is application data @s (the record type asked for). */
static void expect_str(struct __test_metadata *_metadata, int fd,
		       const char *s)
{
	char buf[256] = { 0 };
	uint8_t type = 0;

	ASSERT_EQ((ssize_t)strlen(s),
		  qktls_recv_record(fd, buf, sizeof(buf), &type, 0));
	EXPECT_EQ(QKTLS_RECORD_APPLICATION_DATA, type);
	EXPECT_STREQ(s, buf);
}

/*
 * On the unattached server: the QKD key reference record with @id (if
 * any), then the KeyUpdate with update_requested @req, then nothing can
 * be read until RX is rekeyed.
 */
static void expect_update(struct __test_metadata *_metadata, int fd,
			  const uint8_t *id, int req)
{
	static const uint8_t ref_hdr[] = { 0xe7, 0, 0, 16 };
	uint8_t buf[64], type;

	if (id) {
		ASSERT_EQ(20, qktls_recv_record(fd, buf, sizeof(buf), &type, 0));
		EXPECT_EQ(QKTLS_RECORD_HANDSHAKE, type);
		EXPECT_EQ(0, memcmp(buf, ref_hdr, 4));
		EXPECT_EQ(0, memcmp(buf + 4, id, 16));
	}
	ASSERT_EQ(5, qktls_recv_record(fd, buf, sizeof(buf), &type, 0));
	EXPECT_EQ(QKTLS_RECORD_HANDSHAKE, type);
	EXPECT_EQ(0, memcmp(buf, "\x18\x00\x00\x01", 4));
	EXPECT_EQ(req, buf[4]);
	EXPECT_EQ(EKEYEXPIRED, read_fails(fd));
}

/* The next secret after @secret: QKD key @n of @tag, or standard (-1). */
static void next_secret(struct __test_metadata *_metadata,
			FIXTURE_DATA(rk) *self, uint16_t suite, uint8_t *secret,
			uint32_t tag, int n)
{
	uint8_t kq[KLEN], next[48];

	if (n >= 0) {
		qk_material(kq, KLEN, tag, n);
		ASSERT_EQ(0, qktls_next_secret_qkd(suite, secret, self->hlen,
						   kq, KLEN, next));
	} else {
		ASSERT_EQ(0, qktls_next_secret(suite, secret, self->hlen,
					       next));
	}
	memcpy(secret, next, self->hlen);
}

/* The server follows the client's update (QKD key @n of c2s, or -1). */
static void server_follows(struct __test_metadata *_metadata,
			   FIXTURE_DATA(rk) *self, uint16_t suite, int n)
{
	next_secret(_metadata, self, suite, self->c2s, TAG_C2S, n);
	ASSERT_EQ(0, qktls_ktls_rekey(self->s, QKTLS_DIR_RX, suite, self->c2s,
				      self->hlen));
}

/*
 * The server updates its TX with libqktls: QKD key @n of s2c, named in a
 * key reference record first, or standard (-1); @req: update_requested.
 */
static void server_updates(struct __test_metadata *_metadata,
			   FIXTURE_DATA(rk) *self, uint16_t suite, int n,
			   bool req)
{
	uint8_t ref[20] = { 0xe7, 0, 0, 16 };

	if (n >= 0) {
		qk_id(ref + 4, TAG_S2C, n);
		ASSERT_EQ(0, qktls_send_record(self->s, QKTLS_RECORD_HANDSHAKE,
					       ref, sizeof(ref)));
	}
	ASSERT_EQ(0, qktls_ktls_send_key_update(self->s, req));
	next_secret(_metadata, self, suite, self->s2c, TAG_S2C, n);
	ASSERT_EQ(0, qktls_ktls_rekey(self->s, QKTLS_DIR_TX, suite, self->s2c,
				      self->hlen));
}

/* A socket event, as the multicast group carried it. */
struct sock_ev {
	int cmd, err, dir;
	uint64_t id;
	bool has_ref;
	uint8_t ref[16];
};

/* The next socket event within @timeout_ms: its command, or -errno. */
static int next_sock_event(FIXTURE_DATA(rk) *self, int timeout_ms,
			   struct sock_ev *e)
{
	struct nlattr *tb[QKTLS_A_MAX + 1];

	memset(e, 0, sizeof(*e));
	do {
		e->cmd = qk_next_event(&self->ev, timeout_ms, NULL, tb);
	} while (e->cmd > 0 && e->cmd != QKTLS_CMD_SOCK_REKEY_NTF &&
		 e->cmd != QKTLS_CMD_SOCK_REKEY_DUE_NTF);
	if (e->cmd < 0)
		return e->cmd;
	e->id = tb[QKTLS_A_SOCK_ID] ? nla_get_u64(tb[QKTLS_A_SOCK_ID]) : 0;
	e->err = tb[QKTLS_A_SOCK_ERROR] ?
		 (int)nla_get_u32(tb[QKTLS_A_SOCK_ERROR]) : 1;
	e->dir = tb[QKTLS_A_SOCK_DIRECTION] ?
		 nla_get_u8(tb[QKTLS_A_SOCK_DIRECTION]) : 0;
	e->has_ref = tb[QKTLS_A_SOCK_KEY_REF];
	if (e->has_ref)
		memcpy(e->ref, nla_data(tb[QKTLS_A_SOCK_KEY_REF]), 16);
	return e->cmd;
}

/* The kernel rekeys TX on request; libqktls follows on the other end. */
TEST_F(rk, kernel_tx_rekeys_userspace_follows)
{
	uint8_t id0[16], id1[16];
	struct qk_rekey_reply used;
	struct qk_sock_info si;
	struct sock_ev e;
	char rd[8];

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey (see no_rekey_kernel)");
	qk_id(id0, TAG_C2S, 0);
	qk_id(id1, TAG_C2S, 1);
	send_str(_metadata, self->c, "before");
	expect_str(_metadata, self->s, "before");

	/* QKD: the oldest key of cli-c2s. */
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
				   QKTLS_REKEY_QKD, NULL, &used, &self->r));
	qk_reply_free(&self->r);
	ASSERT_TRUE(used.has_ref);
	EXPECT_EQ(0, memcmp(used.ref, id0, 16));
	EXPECT_EQ(3, qk_pool_count(&self->q, "cli-c2s"));
	ASSERT_EQ(QKTLS_CMD_SOCK_REKEY_NTF, next_sock_event(self, 5000, &e));
	EXPECT_EQ(qk_cookie(self->c), e.id);
	EXPECT_EQ(QKTLS_SOCK_DIR_TX, e.dir);
	EXPECT_EQ(0, e.err);
	EXPECT_TRUE(e.has_ref);
	EXPECT_EQ(0, memcmp(e.ref, id0, 16));
	send_str(_metadata, self->c, "after qkd");
	expect_update(_metadata, self->s, id0, 0);
	server_follows(_metadata, self, variant->suite, 0);
	expect_str(_metadata, self->s, "after qkd");

	/* Standard, asking the peer to update too. */
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
				   QKTLS_REKEY_REQUEST_UPDATE, NULL, &used,
				   &self->r));
	qk_reply_free(&self->r);
	EXPECT_FALSE(used.has_ref);
	ASSERT_EQ(QKTLS_CMD_SOCK_REKEY_NTF, next_sock_event(self, 5000, &e));
	EXPECT_FALSE(e.has_ref);
	send_str(_metadata, self->c, "after std");
	expect_update(_metadata, self->s, NULL, 1);
	server_follows(_metadata, self, variant->suite, -1);
	expect_str(_metadata, self->s, "after std");

	/* The peer answers; the kernel follows inside a plain read(). */
	server_updates(_metadata, self, variant->suite, -1, false);
	send_str(_metadata, self->s, "answer");
	ASSERT_EQ(6, read_full(self->c, rd, 6));
	EXPECT_EQ(0, memcmp(rd, "answer", 6));
	ASSERT_EQ(QKTLS_CMD_SOCK_REKEY_NTF, next_sock_event(self, 5000, &e));
	EXPECT_EQ(QKTLS_SOCK_DIR_RX, e.dir);
	EXPECT_EQ(0, e.err);
	EXPECT_FALSE(e.has_ref);

	/* A second QKD update takes the next key. */
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
				   QKTLS_REKEY_QKD, NULL, &used, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(0, memcmp(used.ref, id1, 16));
	send_str(_metadata, self->c, "c2s second");
	expect_update(_metadata, self->s, id1, 0);
	server_follows(_metadata, self, variant->suite, 1);
	expect_str(_metadata, self->s, "c2s second");

	/* Counters; no secret in the reply. */
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c, 0, &si,
				 &self->r));
	EXPECT_FALSE(qk_contains(self->r.raw, self->r.raw_len, self->c2s, 16));
	EXPECT_FALSE(qk_contains(self->r.raw, self->r.raw_len, self->s2c, 16));
	qk_reply_free(&self->r);
	EXPECT_EQ(3, QK_STAT(si, TX_REKEYS));
	EXPECT_EQ(2, QK_STAT(si, TX_QKD_REKEYS));
	EXPECT_EQ(1, QK_STAT(si, RX_REKEYS));
	EXPECT_EQ(0, QK_STAT(si, RX_QKD_REKEYS));
	EXPECT_EQ(2, QK_STAT(si, KEYS_USED));
	EXPECT_EQ(0, QK_STAT(si, REKEY_ERRORS));
	/* Three by the kernel and one by libqktls each way. */
	EXPECT_EQ(self->tx_ok + 4, qk_tls_stat("TlsTxRekeyOk"));
	EXPECT_EQ(self->rx_ok + 4, qk_tls_stat("TlsRxRekeyOk"));
	EXPECT_EQ(self->rx_recv + 4, qk_tls_stat("TlsRxRekeyReceived"));
	EXPECT_EQ(0, qk_tls_stat("TlsTxRekeyError"));
	EXPECT_EQ(0, qk_tls_stat("TlsRxRekeyError"));
}

/*
 * libqktls updates the server's TX (QKD and standard); the attached client
 * follows inside its reads, which ask for the record type and get data
 * only.  Then it answers update_requested with a QKD update that libqktls
 * follows: the same secrets on both sides, both ways.
 */
TEST_F(rk, userspace_updates_kernel_follows_in_read)
{
	uint8_t id0[16];
	struct qk_sock_info si;
	char rd[16];

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey (see no_rekey_kernel)");
	server_updates(_metadata, self, variant->suite, 0, false);
	send_str(_metadata, self->s, "userspace qkd");
	expect_str(_metadata, self->c, "userspace qkd");
	EXPECT_EQ(3, qk_pool_count(&self->q, "cli-s2c"));

	server_updates(_metadata, self, variant->suite, -1, false);
	send_str(_metadata, self->s, "userspace std");
	ASSERT_EQ(13, read_full(self->c, rd, 13));
	EXPECT_EQ(0, memcmp(rd, "userspace std", 13));

	server_updates(_metadata, self, variant->suite, 1, true);
	send_str(_metadata, self->s, "please update");
	expect_str(_metadata, self->c, "please update");
	EXPECT_EQ(2, qk_pool_count(&self->q, "cli-s2c"));
	si = qk_sock_get_fd(&self->q, self->c);
	EXPECT_EQ(3, QK_STAT(si, RX_REKEYS));
	EXPECT_EQ(2, QK_STAT(si, RX_QKD_REKEYS));
	EXPECT_EQ(1, QK_STAT(si, UPDATES_REQUESTED));
	EXPECT_EQ(0, QK_STAT(si, TX_REKEYS));	/* not before its next data */

	/* The answer goes before the client's next data. */
	qk_id(id0, TAG_C2S, 0);
	send_str(_metadata, self->c, "answered");
	expect_update(_metadata, self->s, id0, 0);
	server_follows(_metadata, self, variant->suite, 0);
	expect_str(_metadata, self->s, "answered");
	si = qk_sock_get_fd(&self->q, self->c);
	EXPECT_EQ(1, QK_STAT(si, TX_REKEYS));
	EXPECT_EQ(1, QK_STAT(si, TX_QKD_REKEYS));
	EXPECT_EQ(3, QK_STAT(si, KEYS_USED));
	EXPECT_EQ(0, QK_STAT(si, REKEY_ERRORS));
	EXPECT_EQ(0, QK_STAT(si, RX_ERRORS));
	EXPECT_EQ(self->tx_ok + 4, qk_tls_stat("TlsTxRekeyOk"));
	EXPECT_EQ(self->rx_ok + 4, qk_tls_stat("TlsRxRekeyOk"));
}

TEST_F(rk, empty_or_deleted_pool_sends_nothing)
{
	struct qk_sock_info si;

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey (see no_rekey_kernel)");
	ASSERT_EQ(0, qk_pool_simple(&self->q, QKTLS_CMD_KEY_FLUSH, "cli-c2s",
				    &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(-ENOKEY, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
					 QKTLS_REKEY_QKD, NULL, NULL,
					 &self->r));
	EXPECT_NE(NULL, strstr(self->r.extack, "the TX pool is empty"));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_simple(&self->q, QKTLS_CMD_POOL_DEL, "cli-c2s",
				    &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(-ENOKEY, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
					 QKTLS_REKEY_QKD, NULL, NULL,
					 &self->r));
	qk_reply_free(&self->r);
	/* The next record on the wire is data, under the old key. */
	send_str(_metadata, self->c, "still old key");
	expect_str(_metadata, self->s, "still old key");
	si = qk_sock_get_fd(&self->q, self->c);
	EXPECT_EQ(0, QK_STAT(si, TX_REKEYS));
	EXPECT_EQ(2, QK_STAT(si, REKEY_ERRORS));
	EXPECT_EQ(ENOKEY, QK_STAT(si, LAST_ERROR));
	EXPECT_EQ(self->tx_ok, qk_tls_stat("TlsTxRekeyOk"));

	/* Bad requests. */
	EXPECT_EQ(-EINVAL, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
					 0, (const uint8_t *)"0123456789abcdef",
					 NULL, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(-ERANGE, qk_sock_rekey(&self->q, self->c, 3, 0, NULL, NULL,
					 &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(-EINVAL, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
					 4, NULL, NULL, &self->r));
	qk_reply_free(&self->r);
}

/* The module follows the peer inside the reads; RX over netlink is refused. */
/* Set the limits of requested QKD rekeys (per minute and burst). */
static void set_limits(struct __test_metadata *_metadata, long sock_rate,
		       long sock_burst, long pool_rate, long pool_burst)
{
	const long v[4] = { sock_rate, sock_burst, pool_rate, pool_burst };

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, qk_set_param(limit_params[i], v[i]));
}

/* A requested TX rekey that the limits refuse with @err and @why. */
static void rekey_refused(struct __test_metadata *_metadata,
			  FIXTURE_DATA(rk) *self, int err, const char *why)
{
	EXPECT_EQ(err, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
				     QKTLS_REKEY_QKD, NULL, NULL, &self->r));
	EXPECT_NE(NULL, strstr(self->r.extack, why)) {
		TH_LOG("extack: %s", self->r.extack);
	}
	qk_reply_free(&self->r);
}

/* A requested QKD rekey that goes through: QKD key @n of c2s. */
static void rekey_qkd(struct __test_metadata *_metadata,
		      FIXTURE_DATA(rk) *self, uint16_t suite, int n)
{
	uint8_t id[16];

	qk_id(id, TAG_C2S, n);
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
				   QKTLS_REKEY_QKD, NULL, NULL, &self->r));
	qk_reply_free(&self->r);
	expect_update(_metadata, self->s, id, 0);
	server_follows(_metadata, self, suite, n);
}

/*
 * One application cannot drain the keys a link's sockets share: the QKD
 * rekeys callers ask for are limited per socket and per TX pool.  A
 * refusal sends nothing and takes no key; a standard update still goes
 * through.
 */
TEST_F(rk, requested_qkd_rekeys_limited)
{
	struct qk_sock_info si;

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey (see no_rekey_kernel)");
	/* The socket: two at once, then one a minute. */
	set_limits(_metadata, 1, 2, 0, 1024);
	rekey_qkd(_metadata, self, variant->suite, 0);
	rekey_qkd(_metadata, self, variant->suite, 1);
	rekey_refused(_metadata, self, -EBUSY, "sock_qkd_rekeys_per_min (1)");
	EXPECT_EQ(2, qk_pool_count(&self->q, "cli-c2s"));
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX, 0,
				   NULL, NULL, &self->r));
	qk_reply_free(&self->r);
	expect_update(_metadata, self->s, NULL, 0);
	server_follows(_metadata, self, variant->suite, -1);
	send_str(_metadata, self->c, "after std");
	expect_str(_metadata, self->s, "after std");

	/* The pool: one left of its burst (it was full, now capped at 1). */
	set_limits(_metadata, 0, 64, 1, 1);
	rekey_qkd(_metadata, self, variant->suite, 2);
	rekey_refused(_metadata, self, -EBUSY, "pool_qkd_rekeys_per_min (1)");
	EXPECT_EQ(1, qk_pool_count(&self->q, "cli-c2s"));

	/* No limit: the last key goes. */
	set_limits(_metadata, 0, 64, 0, 1);
	rekey_qkd(_metadata, self, variant->suite, 3);
	EXPECT_EQ(0, qk_pool_count(&self->q, "cli-c2s"));

	/* Nothing went out for the refusals: data under the current key. */
	send_str(_metadata, self->c, "still current");
	expect_str(_metadata, self->s, "still current");
	si = qk_sock_get_fd(&self->q, self->c);
	EXPECT_EQ(5, QK_STAT(si, TX_REKEYS));
	EXPECT_EQ(4, QK_STAT(si, TX_QKD_REKEYS));
	EXPECT_EQ(2, QK_STAT(si, REKEY_ERRORS));
	EXPECT_EQ(EBUSY, QK_STAT(si, LAST_ERROR));
}

TEST_F(rk, rx_rekey_refused)
{
	static const char why[] =
		"the module follows the peer's key updates inside the reads: no RX rekey";
	const uint32_t flags[] = { 0, 0, QKTLS_REKEY_QKD };
	uint8_t id0[16];
	struct qk_sock_info si;
	char rd[8];

	qk_id(id0, TAG_S2C, 0);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(-EINVAL, qk_sock_rekey(&self->q, self->c,
						 QKTLS_SOCK_DIR_RX, flags[i],
						 i == 1 ? id0 : NULL, NULL,
						 &self->r));
		EXPECT_STREQ(why, self->r.extack);
		qk_reply_free(&self->r);
	}
	/* Nothing was taken, counted or changed. */
	EXPECT_EQ(4, qk_pool_count(&self->q, "cli-s2c"));
	si = qk_sock_get_fd(&self->q, self->c);
	EXPECT_EQ(0, QK_STAT(si, RX_REKEYS));
	EXPECT_EQ(0, QK_STAT(si, REKEY_ERRORS));
	send_str(_metadata, self->s, "s2c");
	ASSERT_EQ(3, read_full(self->c, rd, 3));
	EXPECT_EQ(0, memcmp(rd, "s2c", 3));
}

TEST_F(rk, policy_due_event)
{
	uint8_t buf[16384] = { 0 };
	uint64_t cookie = qk_cookie(self->c);
	struct qk_sock_info si;
	struct sock_ev e;

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey: a rekey policy is refused at attach");
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, attach(self, variant->suite, true, 8192));
	ASSERT_EQ(0, attach(self, variant->suite, false, 0));	/* follows */
	si = qk_sock_get_fd(&self->q, self->c);
	EXPECT_FALSE(si.due);
	EXPECT_EQ(8192ULL, (unsigned long long)si.rekey_bytes);

	/* 16 KiB: a rekey inside the write after 8 KiB, due again after it. */
	ASSERT_EQ((ssize_t)sizeof(buf), write_full(self->c, buf, sizeof(buf)));
	ASSERT_EQ((ssize_t)sizeof(buf), read_full(self->s, buf, sizeof(buf)));
	si = qk_sock_get_fd(&self->q, self->c);
	EXPECT_TRUE(si.due);
	EXPECT_EQ(1, QK_STAT(si, TX_REKEYS));
	EXPECT_EQ(8192, QK_STAT(si, TX_BYTES));

	/* The periodic work tells within a scan period. */
	do {
		ASSERT_LT(0, next_sock_event(self, 10000, &e));
	} while (e.cmd != QKTLS_CMD_SOCK_REKEY_DUE_NTF || e.id != cookie);
	EXPECT_EQ(1, QK_STAT(qk_sock_get_fd(&self->q, self->c), REKEYS_DUE));

	/* A TX rekey makes it not due. */
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX, 0,
				   NULL, NULL, &self->r));
	qk_reply_free(&self->r);
	si = qk_sock_get_fd(&self->q, self->c);
	EXPECT_FALSE(si.due);
	EXPECT_EQ(2, QK_STAT(si, TX_REKEYS));
	EXPECT_EQ(0, QK_STAT(si, TX_BYTES));
	ASSERT_EQ(100, write_full(self->c, buf, 100));
	ASSERT_EQ(100, read_full(self->s, buf, 100));
	EXPECT_EQ(2, QK_STAT(qk_sock_get_fd(&self->q, self->s), RX_REKEYS));
}

TEST_F(rk, no_rekey_kernel)
{
	struct qk_sock_info si;
	char rd[8];

	if (kernel_has_rekey())
		SKIP(return, "this kernel rekeys kTLS");
	EXPECT_EQ(-EOPNOTSUPP, qk_sock_rekey(&self->q, self->c,
					     QKTLS_SOCK_DIR_TX, QKTLS_REKEY_QKD,
					     NULL, NULL, &self->r));
	EXPECT_NE(NULL, strstr(self->r.extack, "kernel has no kTLS rekey"));
	qk_reply_free(&self->r);
	EXPECT_EQ(-EOPNOTSUPP, qk_sock_rekey(&self->q, self->c,
					     QKTLS_SOCK_DIR_TX, 0, NULL, NULL,
					     &self->r));
	qk_reply_free(&self->r);
	/* Nothing was taken or sent; data flows under the old keys. */
	EXPECT_EQ(4, qk_pool_count(&self->q, "cli-c2s"));
	send_str(_metadata, self->c, "c2s");
	expect_str(_metadata, self->s, "c2s");
	send_str(_metadata, self->s, "s2c");
	ASSERT_EQ(3, read_full(self->c, rd, 3));
	EXPECT_EQ(0, memcmp(rd, "s2c", 3));
	si = qk_sock_get_fd(&self->q, self->c);
	EXPECT_EQ(2, QK_STAT(si, REKEY_ERRORS));
	EXPECT_EQ(EOPNOTSUPP, QK_STAT(si, LAST_ERROR));
	EXPECT_EQ(0, QK_STAT(si, TX_REKEYS));
}

TEST_HARNESS_MAIN
