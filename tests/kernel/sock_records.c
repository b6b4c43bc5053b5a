// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attached sockets with plain write() and read(), for every cipher suite,
 * the cases tests/kernel/sock_plain.c does not cover: a loopback kTLS pair
 * keyed by libqktls, both ends attached, each test in its own network
 * namespace so that /proc/net/tls_stat is its own.  Kernels with kTLS
 * rekey only (>= 6.14); elsewhere a policy cannot be attached
 * (sock_attach.c).
 *
 * - The record limit rekeys with no byte policy at all: rekey_records
 *   tightened to 100, 1000 writes of 1000 bytes (one record each) rekey
 *   before records 101, 201, ... 901: exactly 9 rekeys, followed in the
 *   reads, every byte checked.
 * - A QKD key reference the receiver's RX pool does not hold: the bytes
 *   before it arrive, then every read (read, recvmsg asking for the record
 *   type, splice, non-blocking or not) fails with ENOKEY and keeps
 *   failing, no byte after the reference is accepted, and no key is taken.
 */
#include <fcntl.h>

#include "kselftest_harness.h"
#include "../lib/ktls_secrets.h"
#include "../lib/qktls_nl.h"

#include <qktls/handshake.h>
#include <qktls/keysched.h>

#define TAG_C2S   0xc25c0001u
#define TAG_S2C   0x52cc0002u
#define TAG_OTHER 0x07e40003u	/* keys of no other pool */
#define KLEN 32
#define NKEYS 8

static bool kernel_has_rekey(void)
{
	return qktls_ktls_rekey_supported() == 1;
}

/* Byte @off of a stream. */
static uint8_t pattern(uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(x >> (8 * (off & 7)) ^ x >> 56);
}

static void fill(uint8_t *buf, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(off + i);
}

FIXTURE(rec) {
	struct qk q;
	struct qk_reply r;
	int c, s;
	size_t hlen;
	uint8_t c2s[48], s2c[48];
	long tx_ok, rx_ok;
};

FIXTURE_VARIANT(rec) {
	uint16_t suite;
};

FIXTURE_VARIANT_ADD(rec, aes_128_gcm_sha256) { .suite = 0x1301 };
FIXTURE_VARIANT_ADD(rec, aes_256_gcm_sha384) { .suite = 0x1302 };
FIXTURE_VARIANT_ADD(rec, chacha20_poly1305_sha256) { .suite = 0x1303 };

FIXTURE_SETUP(rec)
{
	static const struct { const char *name; uint32_t tag; } pools[] = {
		{ "cli-c2s", TAG_C2S }, { "srv-c2s", TAG_C2S },
		{ "cli-s2c", TAG_S2C }, { "srv-s2c", TAG_S2C },
		{ "srv-other", TAG_OTHER },
	};
	const struct qktls_suite_info *si = qktls_suite_info(variant->suite);

	ASSERT_NE(NULL, si);
	self->hlen = si->hash_len;
	ASSERT_EQ(0, qk_private_netns());
	ASSERT_EQ(0, qk_open(&self->q));
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		ASSERT_EQ(0, qk_pool_filled(&self->q, pools[i].name, 64,
					    pools[i].tag, NKEYS, KLEN));
	}
	qk_material(self->c2s, sizeof(self->c2s), TAG_C2S, 2000);
	qk_material(self->s2c, sizeof(self->s2c), TAG_S2C, 2000);
	ASSERT_EQ(0, qk_ktls_pair(variant->suite, self->c2s, self->s2c,
				  self->hlen, &self->c, &self->s));
	self->tx_ok = qk_tls_stat("TlsTxRekeyOk");
	self->rx_ok = qk_tls_stat("TlsRxRekeyOk");
}

FIXTURE_TEARDOWN(rec)
{
	close(self->c);
	close(self->s);
	qk_close(&self->q);
}

/*
 * Attach one end.  @qkd: the QKD key update with the end's pools (the
 * server's RX pool @srv_rx), else standard updates and no pools.
 */
static int attach(FIXTURE_DATA(rec) *self, uint16_t suite, bool client,
		  bool qkd, const char *srv_rx, uint64_t bytes,
		  uint64_t records)
{
	struct qk_attach a = {
		.fd = client ? self->c : self->s, .cipher = suite,
		.tx_secret = client ? self->c2s : self->s2c,
		.rx_secret = client ? self->s2c : self->c2s,
		.tx_len = self->hlen, .rx_len = self->hlen,
		.link = client ? "cli" : "srv",
		.qkd_update = qkd, .rekey_bytes = bytes,
		.rekey_records = records,
	};
	int err;

	if (qkd) {
		a.tx_pool = client ? "cli-c2s" : "srv-s2c";
		a.rx_pool = client ? "cli-s2c" : srv_rx;
	}
	err = qk_sock_attach(&self->q, &a, NULL, &self->r);
	qk_reply_free(&self->r);
	return err;
}

TEST_F(rec, record_limit_rekeys_without_byte_policy)
{
	uint8_t out[1000], in[1000];
	struct qk_sock_info c, s;

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, attach(self, variant->suite, true, false, NULL, 0, 100));
	ASSERT_EQ(0, attach(self, variant->suite, false, false, NULL, 0, 0));
	c = qk_sock_get_fd(&self->q, self->c);
	EXPECT_EQ(100ULL, (unsigned long long)c.rekey_records);
	EXPECT_EQ(0ULL, (unsigned long long)c.rekey_bytes);
	for (int i = 0; i < 1000; i++) {
		fill(out, sizeof(out), i * sizeof(out));
		ASSERT_EQ((ssize_t)sizeof(out), write(self->c, out, sizeof(out)))
			TH_LOG("write %d: %s", i, strerror(errno));
		ASSERT_EQ((ssize_t)sizeof(in), read_full(self->s, in, sizeof(in)))
			TH_LOG("read %d", i);
		ASSERT_EQ(0, memcmp(out, in, sizeof(in))) TH_LOG("record %d", i);
	}
	c = qk_sock_get_fd(&self->q, self->c);
	s = qk_sock_get_fd(&self->q, self->s);
	EXPECT_EQ(9, QK_STAT(c, TX_REKEYS));
	EXPECT_EQ(0, QK_STAT(c, TX_QKD_REKEYS));
	EXPECT_EQ(100, QK_STAT(c, TX_RECORDS));	/* records 901..1000 */
	EXPECT_TRUE(c.due);
	EXPECT_EQ(0, QK_STAT(c, REKEY_ERRORS));
	EXPECT_EQ(9, QK_STAT(s, RX_REKEYS));
	EXPECT_EQ(0, QK_STAT(s, RX_ERRORS));
	EXPECT_EQ(9, qk_tls_stat("TlsTxRekeyOk") - self->tx_ok);
	EXPECT_EQ(9, qk_tls_stat("TlsRxRekeyOk") - self->rx_ok);
}

/* A read on @fd fails with ENOKEY by way of each reading call. */
static void reads_fail_enokey(struct __test_metadata *_metadata, int fd)
{
	uint8_t buf[256], type;
	int pfd[2], queued = -1;

	errno = 0;
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENOKEY, errno);
	errno = 0;
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(ENOKEY, errno);
	EXPECT_EQ(-ENOKEY, qktls_recv_record(fd, buf, sizeof(buf), &type, 0));
	ASSERT_EQ(0, pipe(pfd));
	errno = 0;
	EXPECT_EQ(-1, splice(fd, NULL, pfd[1], NULL, sizeof(buf), 0));
	EXPECT_EQ(ENOKEY, errno);
	EXPECT_EQ(0, ioctl(pfd[0], FIONREAD, &queued));
	EXPECT_EQ(0, queued);	/* nothing reached the pipe */
	close(pfd[0]);
	close(pfd[1]);
}

TEST_F(rec, unknown_reference_refused)
{
	uint8_t out[1005], in[1000];
	struct qk_sock_info c, s;

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	/* The client rekeys after 1000 bytes; the server's RX pool holds
	 * other keys than the client's TX pool.
	 */
	ASSERT_EQ(0, attach(self, variant->suite, true, true, NULL, 1000, 0));
	ASSERT_EQ(0, attach(self, variant->suite, false, true, "srv-other",
			    0, 0));
	fill(out, sizeof(out), 0);
	ASSERT_EQ((ssize_t)sizeof(out), write_full(self->c, out, sizeof(out)));
	c = qk_sock_get_fd(&self->q, self->c);
	EXPECT_EQ(1, QK_STAT(c, TX_QKD_REKEYS));
	EXPECT_EQ(NKEYS - 1, qk_pool_count(&self->q, "cli-c2s"));

	/* What came before the reference arrives. */
	ASSERT_EQ((ssize_t)sizeof(in), read_full(self->s, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));
	reads_fail_enokey(_metadata, self->s);
	/* More data changes nothing: still no byte. */
	ASSERT_EQ(5, write_full(self->c, "more!", 5));
	reads_fail_enokey(_metadata, self->s);
	s = qk_sock_get_fd(&self->q, self->s);
	EXPECT_EQ(0, QK_STAT(s, RX_REKEYS));
	EXPECT_EQ(0, QK_STAT(s, KEYS_USED));
	EXPECT_EQ(1, QK_STAT(s, REKEY_ERRORS));
	EXPECT_EQ(1, QK_STAT(s, RX_ERRORS));
	EXPECT_EQ(ENOKEY, QK_STAT(s, LAST_ERROR));
	EXPECT_EQ(NKEYS, qk_pool_count(&self->q, "srv-other"));
	EXPECT_EQ(NKEYS, qk_pool_count(&self->q, "srv-c2s"));
	EXPECT_EQ(0, qk_tls_stat("TlsRxRekeyOk") - self->rx_ok);
}

TEST_HARNESS_MAIN
