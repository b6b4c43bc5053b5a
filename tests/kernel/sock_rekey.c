// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-kernel rekey of attached sockets (QKTLS_CMD_SOCK_REKEY), for every
 * cipher suite, on a loopback pair with kTLS installed by libqktls and
 * both ends attached with pools of their own holding the same keys
 * (cli-c2s / srv-c2s, cli-s2c / srv-s2c), each test in its own network
 * namespace so that /proc/net/tls_stat is its own:
 *
 * - a TX QKD rekey puts the 0xe7 key reference record and the KeyUpdate on
 *   the wire (read back with recvmsg() and TLS_GET_RECORD_TYPE), the peer's
 *   reads then fail with EKEYEXPIRED, a wrong reference changes nothing, the
 *   right one lets the data through; standard updates and update_requested;
 *   counters, events and the kTLS rekey counters move by exactly as much;
 * - a peer that is NOT attached follows the kernel's QKD update with
 *   libqktls (qktls_next_secret_qkd() + qktls_ktls_rekey()), and the kernel
 *   follows a libqktls standard update: the kernel and userspace derive the
 *   same secrets;
 * - an empty or deleted TX pool: -ENOKEY and nothing on the wire;
 * - the rekey policy: past rekey_bytes the socket is due, and an event
 *   says so;
 * - on kernels without kTLS rekey (6.12): -EOPNOTSUPP, data unharmed;
 * - libqktls's stream helpers on the receiving end: a QKD key reference
 *   record of any length but 20 bytes fails the read before any RX rekey
 *   is asked for, and a real QKD update is followed with reads of one byte.
 */
#include <poll.h>

#include "kselftest_harness.h"
#include "../lib/ktls.h"
#include "../lib/qktls_nl.h"

#include <qktls/handshake.h>
#include <qktls/keysched.h>
#include <qktls/ktls.h>
#include <qktls/stream.h>

#define TAG_C2S 0xc25c0001u
#define TAG_S2C 0x52cc0002u
#define KLEN 32

static bool kernel_has_rekey(void)
{
	return qktls_ktls_rekey_supported() == 1;
}

/* A read that must fail with @err right now, taking no byte. */
static int read_fails(int fd)
{
	char b[16];
	struct pollfd p = { .fd = fd, .events = POLLIN };

	(void)poll(&p, 1, 0);
	if (recv(fd, b, sizeof(b), MSG_DONTWAIT) >= 0)
		return 0;
	return errno;
}

FIXTURE(rk) {
	struct qk q, ev;
	struct qk_reply r;
	int c, s;
	size_t hlen;
	uint8_t c2s[48], s2c[48];
	struct stats0 { long tx_ok, rx_ok, rx_recv; } st;
};

FIXTURE_VARIANT(rk) {
	uint16_t suite;
};

FIXTURE_VARIANT_ADD(rk, aes_128_gcm_sha256) { .suite = 0x1301 };
FIXTURE_VARIANT_ADD(rk, aes_256_gcm_sha384) { .suite = 0x1302 };
FIXTURE_VARIANT_ADD(rk, chacha20_poly1305_sha256) { .suite = 0x1303 };

static int attach(FIXTURE_DATA(rk) *self, uint16_t suite, bool client,
		  uint64_t rekey_bytes, struct qk_reply *r)
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

	return qk_sock_attach(&self->q, &a, NULL, r);
}

FIXTURE_SETUP(rk)
{
	static const char *pools[] = { "cli-c2s", "srv-c2s", "cli-s2c",
				       "srv-s2c" };
	const struct qktls_suite_info *si = qktls_suite_info(variant->suite);

	ASSERT_NE(NULL, si);
	self->hlen = si->hash_len;
	ASSERT_EQ(0, qk_private_netns());
	ASSERT_EQ(0, qk_open(&self->q));
	ASSERT_EQ(0, qk_open(&self->ev));
	ASSERT_EQ(0, qk_subscribe(&self->ev));
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, qk_pool_new(&self->q, pools[i], 64, KLEN,
					 &self->r));
		qk_reply_free(&self->r);
		ASSERT_EQ(0, qk_add_keys(&self->q, pools[i],
					 i < 2 ? TAG_C2S : TAG_S2C, 0, 4, KLEN,
					 &self->r));
		qk_reply_free(&self->r);
	}
	qk_material(self->c2s, sizeof(self->c2s), TAG_C2S, 1000);
	qk_material(self->s2c, sizeof(self->s2c), TAG_S2C, 1000);
	ASSERT_EQ(0, tcp_pair(&self->c, &self->s));
	ASSERT_EQ(0, qktls_ktls_install(self->c, QKTLS_DIR_TX, variant->suite,
					self->c2s, self->hlen, 0));
	ASSERT_EQ(0, qktls_ktls_install(self->s, QKTLS_DIR_RX, variant->suite,
					self->c2s, self->hlen, 0));
	ASSERT_EQ(0, qktls_ktls_install(self->s, QKTLS_DIR_TX, variant->suite,
					self->s2c, self->hlen, 0));
	ASSERT_EQ(0, qktls_ktls_install(self->c, QKTLS_DIR_RX, variant->suite,
					self->s2c, self->hlen, 0));
	ASSERT_EQ(0, attach(self, variant->suite, true, 0, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, attach(self, variant->suite, false, 0, &self->r));
	qk_reply_free(&self->r);
	self->st.tx_ok = qk_tls_stat("TlsTxRekeyOk");
	self->st.rx_ok = qk_tls_stat("TlsRxRekeyOk");
	self->st.rx_recv = qk_tls_stat("TlsRxRekeyReceived");
}

FIXTURE_TEARDOWN(rk)
{
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

static void expect_str(struct __test_metadata *_metadata, int fd,
		       const char *s)
{
	char buf[256] = { 0 };
	uint8_t type;

	ASSERT_EQ((ssize_t)strlen(s),
		  qktls_recv_record(fd, buf, sizeof(buf), &type, 0));
	EXPECT_EQ(23, type);
	EXPECT_STREQ(s, buf);
}

/* The QKD key reference record with @id, then the KeyUpdate with @req. */
static void expect_update(struct __test_metadata *_metadata, int fd,
			  const uint8_t *id, int req)
{
	uint8_t buf[64], type;
	ssize_t n;

	if (id) {
		n = qktls_recv_record(fd, buf, sizeof(buf), &type, 0);
		ASSERT_EQ(20, n);
		EXPECT_EQ(22, type);
		EXPECT_EQ(0xe7, buf[0]);
		EXPECT_EQ(0, buf[1]);
		EXPECT_EQ(0, buf[2]);
		EXPECT_EQ(16, buf[3]);
		EXPECT_EQ(0, memcmp(buf + 4, id, 16));
	}
	n = qktls_recv_record(fd, buf, sizeof(buf), &type, 0);
	ASSERT_EQ(5, n);
	EXPECT_EQ(22, type);
	EXPECT_EQ(24, buf[0]);
	EXPECT_EQ(0, buf[1]);
	EXPECT_EQ(0, buf[2]);
	EXPECT_EQ(1, buf[3]);
	EXPECT_EQ(req, buf[4]);
	EXPECT_EQ(EKEYEXPIRED, read_fails(fd));
}

static long long pool_count(FIXTURE_DATA(rk) *self, const char *name)
{
	struct qk_pool_info p;

	qk_pool_get(&self->q, name, &p, &self->r);
	qk_reply_free(&self->r);
	return p.count;
}

/* The next socket event: its command, with @ref / @err filled. */
static int next_sock_event(FIXTURE_DATA(rk) *self, int timeout_ms,
			   uint64_t *id, int *err, bool *has_ref,
			   uint8_t *ref)
{
	struct nlattr *tb[QKTLS_A_MAX + 1];
	int cmd;

	do {
		cmd = qk_next_event(&self->ev, timeout_ms, NULL, tb);
	} while (cmd > 0 && cmd != QKTLS_CMD_SOCK_REKEY_NTF &&
		 cmd != QKTLS_CMD_SOCK_REKEY_DUE_NTF);
	if (cmd < 0)
		return cmd;
	*id = tb[QKTLS_A_SOCK_ID] ? nla_get_u64(tb[QKTLS_A_SOCK_ID]) : 0;
	*err = tb[QKTLS_A_SOCK_ERROR] ? (int)nla_get_u32(tb[QKTLS_A_SOCK_ERROR]) : 1;
	*has_ref = tb[QKTLS_A_SOCK_KEY_REF];
	if (*has_ref)
		memcpy(ref, nla_data(tb[QKTLS_A_SOCK_KEY_REF]), 16);
	return cmd;
}

TEST_F(rk, qkd_and_standard_updates)
{
	uint8_t id0[16], id1[16], bogus[16], ref[16];
	struct qk_rekey_reply used;
	struct qk_sock_info si;
	uint64_t evid;
	bool has_ref;
	int err;

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey (see no_rekey_kernel)");
	qk_id(id0, TAG_C2S, 0);
	qk_id(id1, TAG_C2S, 1);
	qk_id(bogus, TAG_C2S, 77);

	send_str(_metadata, self->c, "before");
	expect_str(_metadata, self->s, "before");

	/* Client TX, QKD: the oldest key of cli-c2s. */
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
				   QKTLS_REKEY_QKD, NULL, &used, &self->r));
	qk_reply_free(&self->r);
	ASSERT_TRUE(used.has_ref);
	EXPECT_EQ(0, memcmp(used.ref, id0, 16));
	EXPECT_EQ(3, pool_count(self, "cli-c2s"));
	ASSERT_EQ(QKTLS_CMD_SOCK_REKEY_NTF,
		  next_sock_event(self, 5000, &evid, &err, &has_ref, ref));
	EXPECT_EQ(qk_cookie(self->c), evid);
	EXPECT_EQ(0, err);
	EXPECT_TRUE(has_ref);
	EXPECT_EQ(0, memcmp(ref, id0, 16));
	send_str(_metadata, self->c, "after qkd");

	expect_update(_metadata, self->s, id0, 0);
	/* A reference the RX pool does not hold: nothing changes. */
	EXPECT_EQ(-ENOKEY, qk_sock_rekey(&self->q, self->s, QKTLS_SOCK_DIR_RX,
					 0, bogus, NULL, &self->r));
	EXPECT_STREQ("the RX pool holds no key with this ID", self->r.extack);
	qk_reply_free(&self->r);
	EXPECT_EQ(EKEYEXPIRED, read_fails(self->s));
	EXPECT_EQ(4, pool_count(self, "srv-c2s"));
	ASSERT_EQ(QKTLS_CMD_SOCK_REKEY_NTF,
		  next_sock_event(self, 5000, &evid, &err, &has_ref, ref));
	EXPECT_EQ(-ENOKEY, err);
	/* The right one. */
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->s, QKTLS_SOCK_DIR_RX, 0,
				   id0, &used, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(3, pool_count(self, "srv-c2s"));
	expect_str(_metadata, self->s, "after qkd");

	/* Server TX, standard update with update_requested. */
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->s, QKTLS_SOCK_DIR_TX,
				   QKTLS_REKEY_REQUEST_UPDATE, NULL, &used,
				   &self->r));
	qk_reply_free(&self->r);
	EXPECT_FALSE(used.has_ref);
	send_str(_metadata, self->s, "s2c after std");
	expect_update(_metadata, self->c, NULL, 1);
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_RX, 0,
				   NULL, NULL, &self->r));
	qk_reply_free(&self->r);
	expect_str(_metadata, self->c, "s2c after std");

	/* Client answers the request with a second QKD update. */
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
				   QKTLS_REKEY_QKD, NULL, &used, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(0, memcmp(used.ref, id1, 16));
	send_str(_metadata, self->c, "c2s second");
	expect_update(_metadata, self->s, id1, 0);
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->s, QKTLS_SOCK_DIR_RX, 0,
				   id1, NULL, &self->r));
	qk_reply_free(&self->r);
	expect_str(_metadata, self->s, "c2s second");
	send_str(_metadata, self->s, "s2c still");
	expect_str(_metadata, self->c, "s2c still");

	/* Counters. */
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c, 0, &si,
				 &self->r));
	EXPECT_FALSE(qk_contains(self->r.raw, self->r.raw_len, self->c2s, 16));
	qk_reply_free(&self->r);
	EXPECT_EQ(2, si.stats[QKTLS_SOCK_STATS_A_TX_REKEYS]);
	EXPECT_EQ(2, si.stats[QKTLS_SOCK_STATS_A_TX_QKD_REKEYS]);
	EXPECT_EQ(1, si.stats[QKTLS_SOCK_STATS_A_RX_REKEYS]);
	EXPECT_EQ(0, si.stats[QKTLS_SOCK_STATS_A_RX_QKD_REKEYS]);
	EXPECT_EQ(2, si.stats[QKTLS_SOCK_STATS_A_KEYS_USED]);
	EXPECT_EQ(0, si.stats[QKTLS_SOCK_STATS_A_REKEY_ERRORS]);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->s, 0, &si,
				 &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(1, si.stats[QKTLS_SOCK_STATS_A_TX_REKEYS]);
	EXPECT_EQ(2, si.stats[QKTLS_SOCK_STATS_A_RX_REKEYS]);
	EXPECT_EQ(2, si.stats[QKTLS_SOCK_STATS_A_RX_QKD_REKEYS]);
	EXPECT_EQ(2, si.stats[QKTLS_SOCK_STATS_A_KEYS_USED]);
	EXPECT_EQ(1, si.stats[QKTLS_SOCK_STATS_A_REKEY_ERRORS]);
	EXPECT_EQ(ENOKEY, si.stats[QKTLS_SOCK_STATS_A_LAST_ERROR]);
	EXPECT_EQ(self->st.tx_ok + 3, qk_tls_stat("TlsTxRekeyOk"));
	EXPECT_EQ(self->st.rx_ok + 3, qk_tls_stat("TlsRxRekeyOk"));
	EXPECT_EQ(self->st.rx_recv + 3, qk_tls_stat("TlsRxRekeyReceived"));
	EXPECT_EQ(0, qk_tls_stat("TlsTxRekeyError"));
	EXPECT_EQ(0, qk_tls_stat("TlsRxRekeyError"));
}

/* libqktls follows the kernel, and the kernel follows libqktls. */
TEST_F(rk, userspace_peer_follows_the_kernel)
{
	uint8_t id0[16], kq[KLEN], next[48];
	struct qk_rekey_reply used;

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey (see no_rekey_kernel)");
	/* The server is a plain libqktls peer, not attached. */
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->s, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);
	qk_id(id0, TAG_C2S, 0);
	qk_material(kq, KLEN, TAG_C2S, 0);

	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
				   QKTLS_REKEY_QKD, NULL, &used, &self->r));
	qk_reply_free(&self->r);
	send_str(_metadata, self->c, "kernel derived");
	expect_update(_metadata, self->s, id0, 0);
	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, self->c2s,
					   self->hlen, kq, KLEN, next));
	ASSERT_EQ(0, qktls_ktls_rekey(self->s, QKTLS_DIR_RX, variant->suite,
				      next, self->hlen));
	expect_str(_metadata, self->s, "kernel derived");

	/* And back: a libqktls standard update, the kernel's RX follows. */
	ASSERT_EQ(0, qktls_ktls_send_key_update(self->s, false));
	ASSERT_EQ(0, qktls_next_secret(variant->suite, self->s2c, self->hlen,
				       next));
	ASSERT_EQ(0, qktls_ktls_rekey(self->s, QKTLS_DIR_TX, variant->suite,
				      next, self->hlen));
	send_str(_metadata, self->s, "userspace derived");
	expect_update(_metadata, self->c, NULL, 0);
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_RX, 0,
				   NULL, NULL, &self->r));
	qk_reply_free(&self->r);
	expect_str(_metadata, self->c, "userspace derived");
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
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c, 0, &si,
				 &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(0, si.stats[QKTLS_SOCK_STATS_A_TX_REKEYS]);
	EXPECT_EQ(2, si.stats[QKTLS_SOCK_STATS_A_REKEY_ERRORS]);
	EXPECT_EQ(ENOKEY, si.stats[QKTLS_SOCK_STATS_A_LAST_ERROR]);
	EXPECT_EQ(self->st.tx_ok, qk_tls_stat("TlsTxRekeyOk"));

	/* Bad requests. */
	EXPECT_EQ(-EINVAL, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
					 0, (const uint8_t *)"0123456789abcdef",
					 NULL, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(-EINVAL, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_RX,
					 QKTLS_REKEY_QKD, NULL, NULL,
					 &self->r));
	EXPECT_EQ(QKTLS_A_SOCK_KEY_REF, self->r.miss_type);
	qk_reply_free(&self->r);
	EXPECT_EQ(-ERANGE, qk_sock_rekey(&self->q, self->c, 3, 0, NULL, NULL,
					 &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(-EINVAL, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
					 4, NULL, NULL, &self->r));
	qk_reply_free(&self->r);
}

TEST_F(rk, policy_due_event)
{
	uint8_t buf[16384] = { 0 }, ref[16];
	struct qk_sock_info si;
	uint64_t evid = 0, cookie = qk_cookie(self->c);
	bool has_ref;
	int err, cmd;

	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, attach(self, variant->suite, true, 8192, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c, 0, &si,
				 &self->r));
	qk_reply_free(&self->r);
	EXPECT_FALSE(si.due);
	EXPECT_EQ(8192ULL, (unsigned long long)si.rekey_bytes);

	ASSERT_EQ((ssize_t)sizeof(buf), write_full(self->c, buf, sizeof(buf)));
	ASSERT_EQ((ssize_t)sizeof(buf), read_full(self->s, buf, sizeof(buf)));
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c, 0, &si,
				 &self->r));
	qk_reply_free(&self->r);
	EXPECT_TRUE(si.due);
	EXPECT_LE(16384, si.stats[QKTLS_SOCK_STATS_A_TX_BYTES]);

	/* The periodic work tells within a scan period. */
	do {
		cmd = next_sock_event(self, 10000, &evid, &err, &has_ref, ref);
	} while (cmd == QKTLS_CMD_SOCK_REKEY_DUE_NTF && evid != cookie);
	ASSERT_EQ(QKTLS_CMD_SOCK_REKEY_DUE_NTF, cmd);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c, 0, &si,
				 &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(1, si.stats[QKTLS_SOCK_STATS_A_REKEYS_DUE]);

	if (!kernel_has_rekey())
		return;
	/* A TX rekey makes it not due. */
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX, 0,
				   NULL, NULL, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c, 0, &si,
				 &self->r));
	qk_reply_free(&self->r);
	EXPECT_FALSE(si.due);
	EXPECT_GT(4096, si.stats[QKTLS_SOCK_STATS_A_TX_BYTES]);
}

TEST_F(rk, no_rekey_kernel)
{
	struct qk_sock_info si;

	if (kernel_has_rekey())
		SKIP(return, "this kernel rekeys kTLS");
	EXPECT_EQ(-EOPNOTSUPP, qk_sock_rekey(&self->q, self->c,
					     QKTLS_SOCK_DIR_TX, QKTLS_REKEY_QKD,
					     NULL, NULL, &self->r));
	EXPECT_NE(NULL, strstr(self->r.extack, "kernel has no kTLS rekey"));
	qk_reply_free(&self->r);
	EXPECT_EQ(-EOPNOTSUPP, qk_sock_rekey(&self->q, self->s,
					     QKTLS_SOCK_DIR_RX, 0, NULL, NULL,
					     &self->r));
	qk_reply_free(&self->r);
	/* Nothing was taken or sent; data flows under the old keys. */
	EXPECT_EQ(4, pool_count(self, "cli-c2s"));
	send_str(_metadata, self->c, "c2s");
	expect_str(_metadata, self->s, "c2s");
	send_str(_metadata, self->s, "s2c");
	expect_str(_metadata, self->c, "s2c");
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c, 0, &si,
				 &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(1, si.stats[QKTLS_SOCK_STATS_A_REKEY_ERRORS]);
	EXPECT_EQ(EOPNOTSUPP, si.stats[QKTLS_SOCK_STATS_A_LAST_ERROR]);
}

/*
 * A QKD key reference record of @len bytes (20: the right one; 25: with the
 * KeyUpdate in the same record) from @from; the stream on @to reads with a
 * buffer of @room bytes.
 */
static void stream_reads_reference(struct __test_metadata *_metadata,
				   FIXTURE_DATA(rk) *self, int from, int to,
				   size_t len, size_t room, const char *why)
{
	uint8_t rec[25] = { 0xe7, 0, 0, 16 }, buf[4096];
	struct qktls_stream *st;
	struct qk_sock_info si;

	qk_id(rec + 4, TAG_C2S, 0);
	memcpy(rec + 20, "\x18\x00\x00\x01\x00", 5);
	ASSERT_EQ(0, qktls_send_record(from, QKTLS_RECORD_HANDSHAKE, rec, len));
	ASSERT_EQ(0, qktls_stream_open(to, QKTLS_STREAM_NO_POLICY, &st));
	EXPECT_TRUE(qktls_stream_attached(st, NULL));
	EXPECT_EQ(-QKTLS_E_RECORD, qktls_stream_read(st, buf, room));
	EXPECT_NE(NULL, strstr(qktls_stream_error(st, QKTLS_DIR_RX), why))
		TH_LOG("%s", qktls_stream_error(st, QKTLS_DIR_RX));
	qktls_stream_close(st);
	/* No RX rekey was asked for: none counted, no key taken. */
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, to, 0, &si,
				 &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(0, si.stats[QKTLS_SOCK_STATS_A_RX_REKEYS]);
	EXPECT_EQ(0, si.stats[QKTLS_SOCK_STATS_A_REKEY_ERRORS]);
	EXPECT_EQ(0, si.stats[QKTLS_SOCK_STATS_A_KEYS_USED]);
	EXPECT_EQ(4, pool_count(self, to == self->s ? "srv-c2s" : "cli-s2c"));
}

/* Client to server with a large buffer, server to client with one byte. */
TEST_F(rk, stream_refuses_short_reference)
{
	stream_reads_reference(_metadata, self, self->c, self->s, 12, 4096,
			       "QKD key reference record of 12 bytes");
	stream_reads_reference(_metadata, self, self->s, self->c, 12, 1,
			       "QKD key reference record of 12 bytes");
}

TEST_F(rk, stream_refuses_long_reference)
{
	stream_reads_reference(_metadata, self, self->c, self->s, 25, 4096,
			       "QKD key reference record of 25 bytes");
	stream_reads_reference(_metadata, self, self->s, self->c, 25, 1,
			       "QKD key reference record of at least 21 bytes");
}

/* The kernel's QKD update, followed by a stream reading a byte at a time. */
TEST_F(rk, stream_follows_qkd_update_with_one_byte_reads)
{
	struct qktls_stream_stats ss;
	struct qktls_stream *st;
	struct qk_sock_info si;
	char got[6] = { 0 };

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey (see no_rekey_kernel)");
	ASSERT_EQ(0, qk_sock_rekey(&self->q, self->c, QKTLS_SOCK_DIR_TX,
				   QKTLS_REKEY_QKD, NULL, NULL, &self->r));
	qk_reply_free(&self->r);
	send_str(_metadata, self->c, "after");
	ASSERT_EQ(0, qktls_stream_open(self->s, QKTLS_STREAM_NO_POLICY, &st));
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(1, qktls_stream_read(st, got + i, 1))
			TH_LOG("%s", qktls_stream_error(st, QKTLS_DIR_RX));
	}
	EXPECT_STREQ("after", got);
	qktls_stream_stats(st, &ss);
	EXPECT_EQ(1ULL, ss.rx_rekeys);
	EXPECT_EQ(1ULL, ss.rx_qkd_rekeys);
	qktls_stream_close(st);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->s, 0, &si,
				 &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(1, si.stats[QKTLS_SOCK_STATS_A_RX_QKD_REKEYS]);
	EXPECT_EQ(3, pool_count(self, "srv-c2s"));
}

TEST_HARNESS_MAIN
