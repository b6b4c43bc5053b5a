// SPDX-License-Identifier: GPL-2.0-only
/*
 * Plain socket calls on attached sockets: the module owns post-handshake
 * TLS (Documentation/qktls/key-update.rst), for every cipher suite, on a
 * loopback kTLS pair whose ends have pools holding the same keys, each test
 * in its own network namespace so that /proc/net/tls_stat is its own:
 *
 * - write()/read() both ways at once, and sendfile()/splice(): the module
 *   rekeys by the byte policy inside the writes and follows inside the
 *   reads; the rekeys are counted exactly (module and kTLS), every byte is
 *   checked, no read fails;
 * - two threads writing one socket while rekeys come every 64 KiB;
 * - the TX pool running dry: "required" fails the write with ENOKEY and
 *   sends nothing, "preferred" makes a standard update;
 * - a peer that is not attached: NewSessionTickets are dropped, standard
 *   KeyUpdates followed, update_requested answered before the next data,
 *   close_notify reads as end of file, other alerts and malformed records
 *   give clear errors;
 * - getsockopt(SOL_TLS) gives no key, salt, IV or record sequence;
 *   setsockopt(SOL_TLS) is refused; no mapping appears in the process while
 *   its sockets rekey.
 */
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/sendfile.h>

#include "kselftest_harness.h"
#include "../lib/ktls_secrets.h"
#include "../lib/qktls_nl.h"

#include <qktls/handshake.h>
#include <qktls/keysched.h>
#include <qktls/ktls.h>

#define TAG_C2S 0xc25c0001u
#define TAG_S2C 0x52cc0002u
#define KLEN 32
#define NKEYS 128
#define POLICY (256 << 10)
#define POLICY_BYTES (16 * POLICY + 1000)	/* 16 rekeys, 1000 bytes after */

static bool kernel_has_rekey(void)
{
	return qktls_ktls_rekey_supported() == 1;
}

/* Byte @off of the stream tagged @tag. */
static uint8_t pattern(uint32_t tag, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ull ^ tag;

	return (uint8_t)(x >> (8 * (off & 7)) ^ x >> 56);
}

static void fill(uint8_t *buf, size_t len, uint32_t tag, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(tag, off + i);
}

/* First offset in @buf that is not the stream's, or -1. */
static long long mismatch(const uint8_t *buf, size_t len, uint32_t tag,
			  uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(tag, off + i))
			return off + i;
	return -1;
}

FIXTURE(pl) {
	struct qk q;
	struct qk_reply r;
	int c, s;
	size_t hlen;
	uint8_t c2s[48], s2c[48];
	long tx_ok, rx_ok;
};

FIXTURE_VARIANT(pl) {
	uint16_t suite;
};

FIXTURE_VARIANT_ADD(pl, aes_128_gcm_sha256) { .suite = 0x1301 };
FIXTURE_VARIANT_ADD(pl, aes_256_gcm_sha384) { .suite = 0x1302 };
FIXTURE_VARIANT_ADD(pl, chacha20_poly1305_sha256) { .suite = 0x1303 };

FIXTURE_SETUP(pl)
{
	static const struct { const char *name; uint32_t tag; int keys; } pools[] = {
		{ "cli-c2s", TAG_C2S, NKEYS }, { "srv-c2s", TAG_C2S, NKEYS },
		{ "cli-s2c", TAG_S2C, NKEYS }, { "srv-s2c", TAG_S2C, NKEYS },
		{ "one-c2s", TAG_C2S, 1 },	/* runs dry */
	};
	const struct qktls_suite_info *si = qktls_suite_info(variant->suite);

	ASSERT_NE(NULL, si);
	self->hlen = si->hash_len;
	ASSERT_EQ(0, qk_private_netns());
	ASSERT_EQ(0, qk_open(&self->q));
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		ASSERT_EQ(0, qk_pool_filled(&self->q, pools[i].name, 2 * NKEYS,
					    pools[i].tag, pools[i].keys, KLEN));
	qk_material(self->c2s, sizeof(self->c2s), TAG_C2S, 1000);
	qk_material(self->s2c, sizeof(self->s2c), TAG_S2C, 1000);
	ASSERT_EQ(0, qk_ktls_pair(variant->suite, self->c2s, self->s2c,
				  self->hlen, &self->c, &self->s));
	self->tx_ok = qk_tls_stat("TlsTxRekeyOk");
	self->rx_ok = qk_tls_stat("TlsRxRekeyOk");
}

FIXTURE_TEARDOWN(pl)
{
	close(self->c);
	close(self->s);
	qk_close(&self->q);
}

/* Attach one end: its pools, QKD key update, @bytes policy, @policy. */
static int attach(FIXTURE_DATA(pl) *self, uint16_t suite, bool client,
		  uint64_t bytes, int policy, const char *tx_pool)
{
	struct qk_attach a = {
		.fd = client ? self->c : self->s, .cipher = suite,
		.tx_secret = client ? self->c2s : self->s2c,
		.rx_secret = client ? self->s2c : self->c2s,
		.tx_len = self->hlen, .rx_len = self->hlen,
		.link = client ? "cli" : "srv",
		.tx_pool = tx_pool ?: (client ? "cli-c2s" : "srv-s2c"),
		.rx_pool = client ? "cli-s2c" : "srv-c2s",
		.qkd_update = true, .rekey_bytes = bytes,
		.qkd_policy = policy + 1,
	};
	int err = qk_sock_attach(&self->q, &a, NULL, &self->r);

	qk_reply_free(&self->r);
	return err;
}

/* One direction of a transfer, for a thread. */
struct xfer {
	int fd;
	uint32_t tag;
	size_t len, chunk;
	int how;		/* writers: 0 write(), 1 sendfile(); readers: 0 read(), 1 splice() */
	int err;		/* errno of the failure, -1 data wrong, 0 ok */
	long long bad;
};

static void *writer(void *arg)
{
	struct xfer *x = arg;
	uint8_t *buf = malloc(x->len);
	size_t off = 0;
	int mfd = -1;

	if (!buf) {
		x->err = ENOMEM;
		return NULL;
	}
	fill(buf, x->len, x->tag, 0);
	if (x->how) {
		mfd = memfd_create("qktls-sendfile", 0);
		if (mfd < 0 || write(mfd, buf, x->len) != (ssize_t)x->len) {
			x->err = errno ?: EIO;
			goto out;
		}
	}
	while (off < x->len) {
		size_t n = x->len - off < x->chunk ? x->len - off : x->chunk;
		ssize_t w;

		if (x->how) {
			off_t o = off;

			w = sendfile(x->fd, mfd, &o, n);
		} else {
			w = write(x->fd, buf + off, n);
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->err = w < 0 ? errno : EIO;
			goto out;
		}
		off += w;
	}
out:
	if (mfd >= 0)
		close(mfd);
	free(buf);
	return NULL;
}

static void *reader(void *arg)
{
	struct xfer *x = arg;
	uint8_t buf[65536];
	int pfd[2] = { -1, -1 };
	size_t off = 0;

	if (x->how && pipe(pfd)) {
		x->err = errno;
		return NULL;
	}
	while (off < x->len) {
		size_t want = x->len - off < sizeof(buf) ? x->len - off :
							   sizeof(buf);
		ssize_t n;

		if (x->how) {
			n = splice(x->fd, NULL, pfd[1], NULL, want, 0);
			if (n > 0)
				n = read_full(pfd[0], buf, n);
		} else {
			n = read(x->fd, buf, want);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			x->err = n < 0 ? errno : EPIPE;
			break;
		}
		x->bad = mismatch(buf, n, x->tag, off);
		if (x->bad >= 0) {
			x->err = -1;
			break;
		}
		off += n;
	}
	if (pfd[0] >= 0) {
		close(pfd[0]);
		close(pfd[1]);
	}
	return NULL;
}

/* Both directions at once: client -> server and server -> client. */
static void both_ways(struct __test_metadata *_metadata,
		      FIXTURE_DATA(pl) *self, size_t len, int how)
{
	struct xfer x[4] = {
		{ .fd = self->c, .tag = TAG_C2S, .len = len, .chunk = 100000, .how = how },
		{ .fd = self->s, .tag = TAG_C2S, .len = len, .how = how },
		{ .fd = self->s, .tag = TAG_S2C, .len = len, .chunk = 70001, .how = how },
		{ .fd = self->c, .tag = TAG_S2C, .len = len, .how = how },
	};
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, i & 1 ? reader : writer,
					    &x[i]));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(0, x[i].err) {
			TH_LOG("%s %d: %s (first bad byte %lld)",
			       i & 1 ? "reader" : "writer", i,
			       x[i].err > 0 ? strerror(x[i].err) : "data differ",
			       x[i].bad);
		}
	}
}

/* What both ends counted after POLICY_BYTES each way with QKD rekeys. */
static void expect_rekeys(struct __test_metadata *_metadata,
			  FIXTURE_DATA(pl) *self, long n)
{
	struct qk_sock_info c = qk_sock_get_fd(&self->q, self->c), s = qk_sock_get_fd(&self->q, self->s);

	EXPECT_EQ(n, QK_STAT(c, TX_REKEYS));
	EXPECT_EQ(n, QK_STAT(c, TX_QKD_REKEYS));
	EXPECT_EQ(n, QK_STAT(s, RX_QKD_REKEYS));
	EXPECT_EQ(n, QK_STAT(s, TX_QKD_REKEYS));
	EXPECT_EQ(n, QK_STAT(c, RX_QKD_REKEYS));
	EXPECT_EQ(2 * n, QK_STAT(c, KEYS_USED));
	EXPECT_EQ(0, QK_STAT(c, REKEY_ERRORS));
	EXPECT_EQ(0, QK_STAT(s, REKEY_ERRORS));
	EXPECT_EQ(1000, QK_STAT(c, TX_BYTES));	/* exact, after the last rekey */
	EXPECT_EQ(2 * n, qk_tls_stat("TlsTxRekeyOk") - self->tx_ok);
	EXPECT_EQ(2 * n, qk_tls_stat("TlsRxRekeyOk") - self->rx_ok);
}

TEST_F(pl, write_read_both_ways)
{
	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, attach(self, variant->suite, true, POLICY, QKTLS_QKD_PREFERRED, NULL));
	ASSERT_EQ(0, attach(self, variant->suite, false, POLICY, QKTLS_QKD_PREFERRED, NULL));
	both_ways(_metadata, self, POLICY_BYTES, 0);
	expect_rekeys(_metadata, self, 16);
}

TEST_F(pl, sendfile_splice_both_ways)
{
	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, attach(self, variant->suite, true, POLICY, QKTLS_QKD_REQUIRED, NULL));
	ASSERT_EQ(0, attach(self, variant->suite, false, POLICY, QKTLS_QKD_REQUIRED, NULL));
	both_ways(_metadata, self, POLICY_BYTES, 1);
	expect_rekeys(_metadata, self, 16);
}

/* Plain I/O without any policy works on every kernel (6.12 too). */
TEST_F(pl, no_policy_plain_io)
{
	ASSERT_EQ(0, attach(self, variant->suite, true, 0, QKTLS_QKD_PREFERRED, NULL));
	ASSERT_EQ(0, attach(self, variant->suite, false, 0, QKTLS_QKD_PREFERRED, NULL));
	both_ways(_metadata, self, 3 << 20, 0);
	EXPECT_EQ(0, QK_STAT(qk_sock_get_fd(&self->q, self->c), TX_REKEYS));
}

#define BLOCK 4096
#define BLOCKS 512

struct blk_writer {
	int fd, id, err;
};

static void *block_writer(void *arg)
{
	struct blk_writer *w = arg;
	uint8_t b[BLOCK];

	for (uint32_t seq = 0; seq < BLOCKS; seq++) {
		memcpy(b, &w->id, 4);
		memcpy(b + 4, &seq, 4);
		fill(b + 8, BLOCK - 8, w->id << 16 | seq, 0);
		if (write(w->fd, b, BLOCK) != BLOCK) {	/* one call: one run */
			w->err = errno ?: EIO;
			return NULL;
		}
	}
	return NULL;
}

TEST_F(pl, two_writers_rekey_every_64k)
{
	struct blk_writer w[2] = { { .fd = self->c, .id = 1 },
				   { .fd = self->c, .id = 2 } };
	uint32_t next[3] = { 0 };
	uint8_t b[BLOCK];
	pthread_t t[2];

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, attach(self, variant->suite, true, 64 << 10, QKTLS_QKD_REQUIRED, NULL));
	ASSERT_EQ(0, attach(self, variant->suite, false, 64 << 10, QKTLS_QKD_REQUIRED, NULL));
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, block_writer, &w[i]));
	for (int i = 0; i < 2 * BLOCKS; i++) {
		uint32_t id, seq;

		ASSERT_EQ(BLOCK, read_full(self->s, b, BLOCK)) {
			TH_LOG("block %d: %s", i, strerror(errno));
		}
		memcpy(&id, b, 4);
		memcpy(&seq, b + 4, 4);
		ASSERT_TRUE(id == 1 || id == 2);
		ASSERT_EQ(next[id], seq);
		ASSERT_EQ(-1, mismatch(b + 8, BLOCK - 8, id << 16 | seq, 0));
		next[id]++;
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].err);
	}
	/* 4 MiB, a rekey before every 64 KiB but the first. */
	EXPECT_EQ(2 * BLOCKS * BLOCK / (64 << 10) - 1,
		  QK_STAT(qk_sock_get_fd(&self->q, self->c), TX_QKD_REKEYS));
	EXPECT_EQ(2 * BLOCKS * BLOCK / (64 << 10) - 1,
		  QK_STAT(qk_sock_get_fd(&self->q, self->s), RX_QKD_REKEYS));
}

/* Nothing readable now. */
static bool quiet(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static void pool_dry(struct __test_metadata *_metadata, FIXTURE_DATA(pl) *self,
		     uint16_t suite, int policy)
{
	uint8_t buf[64 << 10], in[64 << 10];
	struct qk_sock_info c, s;

	ASSERT_EQ(0, attach(self, suite, true, sizeof(buf), policy, "one-c2s"));
	ASSERT_EQ(0, attach(self, suite, false, 0, policy, NULL));
	fill(buf, sizeof(buf), TAG_C2S, 0);
	/* The first 64 KiB, then the one key of the pool, then 64 KiB. */
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ((ssize_t)sizeof(buf), write_full(self->c, buf, sizeof(buf)));
		ASSERT_EQ((ssize_t)sizeof(in), read_full(self->s, in, sizeof(in)));
		ASSERT_EQ(0, memcmp(buf, in, sizeof(in)));
	}
	errno = 0;
	if (policy == QKTLS_QKD_REQUIRED) {
		EXPECT_EQ(-1, write(self->c, buf, 100));
		EXPECT_EQ(ENOKEY, errno);
		EXPECT_TRUE(quiet(self->s));
		c = qk_sock_get_fd(&self->q, self->c);
		EXPECT_EQ(1, QK_STAT(c, TX_REFUSED));
		EXPECT_EQ(1, QK_STAT(c, TX_REKEYS));
		/* A key arrives (the same at both ends): writes go on. */
		ASSERT_EQ(0, qk_add_keys(&self->q, "one-c2s", TAG_C2S, 1, 1,
					 KLEN, &self->r));
		qk_reply_free(&self->r);
	}
	ASSERT_EQ(100, write(self->c, buf, 100));
	ASSERT_EQ(100, read_full(self->s, in, 100));
	EXPECT_EQ(0, memcmp(buf, in, 100));
	c = qk_sock_get_fd(&self->q, self->c);
	s = qk_sock_get_fd(&self->q, self->s);
	EXPECT_EQ(2, QK_STAT(c, TX_REKEYS));
	EXPECT_EQ(2, QK_STAT(s, RX_REKEYS));
	if (policy == QKTLS_QKD_REQUIRED) {
		EXPECT_EQ(2, QK_STAT(c, TX_QKD_REKEYS));
		EXPECT_EQ(0, QK_STAT(c, TX_STD_FALLBACKS));
	} else {
		EXPECT_EQ(1, QK_STAT(c, TX_QKD_REKEYS));
		EXPECT_EQ(1, QK_STAT(c, TX_STD_FALLBACKS));
		EXPECT_EQ(1, QK_STAT(s, RX_QKD_REKEYS));
	}
}

TEST_F(pl, pool_dry_required_fails_the_write)
{
	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	pool_dry(_metadata, self, variant->suite, QKTLS_QKD_REQUIRED);
}

TEST_F(pl, pool_dry_preferred_standard_update)
{
	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	pool_dry(_metadata, self, variant->suite, QKTLS_QKD_PREFERRED);
}

static uint16_t ktls_cipher(uint16_t suite)
{
	return suite == 0x1301 ? TLS_CIPHER_AES_GCM_128 :
	       suite == 0x1302 ? TLS_CIPHER_AES_GCM_256 :
	       TLS_CIPHER_CHACHA20_POLY1305;
}

/* The key bytes of @ci: none of them may be set. */
static bool key_zero(const union ktls_info *ci, uint16_t cipher)
{
	const uint8_t *k = cipher == TLS_CIPHER_AES_GCM_128 ? ci->aes128.key :
			   cipher == TLS_CIPHER_AES_GCM_256 ? ci->aes256.key :
			   ci->chacha.key;

	for (size_t i = 0; i < ktls_key_len(cipher); i++)
		if (k[i])
			return false;
	return true;
}

/* getsockopt(SOL_TLS, @opt) of @fd, filled with 0xa5 first. */
static socklen_t get_conf(struct __test_metadata *_metadata, int fd, int opt,
			  uint16_t cipher, union ktls_info *ci)
{
	static const struct ktls_dir zero;
	socklen_t want = ktls_fill(ci, cipher, &zero), len = want;

	memset(ci, 0xa5, sizeof(*ci));
	EXPECT_EQ(0, getsockopt(fd, SOL_TLS, opt, ci, &len));
	EXPECT_EQ(want, len);
	EXPECT_EQ(TLS_1_3_VERSION, ci->base.version);
	EXPECT_EQ(cipher, ci->base.cipher_type);
	return len;
}

/* A whole getsockopt(SOL_TLS) answer: version and cipher, nothing else. */
static void expect_no_key(struct __test_metadata *_metadata, int fd, int opt,
			  uint16_t cipher)
{
	union ktls_info ci;
	const uint8_t *p = (const uint8_t *)&ci;
	socklen_t len = get_conf(_metadata, fd, opt, cipher, &ci);
	long set = -1;

	for (size_t i = sizeof(ci.base); i < len && set < 0; i++)
		if (p[i])
			set = i;
	EXPECT_EQ(-1, set) {
		TH_LOG("byte %ld of the crypto_info is %#x", set, p[set]);
	}
}

TEST_F(pl, getsockopt_gives_no_key)
{
	static const struct ktls_dir zero;
	uint16_t cipher = ktls_cipher(variant->suite);
	union ktls_info ci;
	socklen_t len;

	/* A rekey policy where the kernel can rekey (6.12 refuses one). */
	ASSERT_EQ(0, attach(self, variant->suite, true,
			    kernel_has_rekey() ? 64 << 10 : 0,
			    QKTLS_QKD_PREFERRED, NULL));
	ASSERT_EQ(0, attach(self, variant->suite, false, 0, QKTLS_QKD_PREFERRED, NULL));
	expect_no_key(_metadata, self->c, TLS_TX, cipher);
	expect_no_key(_metadata, self->c, TLS_RX, cipher);
	if (kernel_has_rekey())
		both_ways(_metadata, self, 1 << 20, 0);
	expect_no_key(_metadata, self->c, TLS_TX, cipher);
	expect_no_key(_metadata, self->s, TLS_RX, cipher);
	len = ktls_fill(&ci, cipher, &zero);
	EXPECT_EQ(-1, setsockopt(self->c, SOL_TLS, TLS_TX, &ci, len));
	EXPECT_EQ(EBUSY, errno);
	/* Detached, kTLS answers again; its copy of the key was wiped. */
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);
	get_conf(_metadata, self->c, TLS_TX, cipher, &ci);
	EXPECT_TRUE(key_zero(&ci, cipher));
	get_conf(_metadata, self->c, TLS_RX, cipher, &ci);
	EXPECT_TRUE(key_zero(&ci, cipher));
}

/* /proc/self/maps, read without allocating. */
static char maps0[1 << 16];

static ssize_t read_maps(char *buf, size_t len)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read_full(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	return n;
}

struct sampler {
	volatile bool go, stop;
	long samples, changed;
};

static void *sample_maps(void *arg)
{
	static char now[1 << 16];
	struct sampler *sm = arg;

	while (!sm->go)		/* until the baseline is there */
		sched_yield();
	while (!sm->stop) {
		ssize_t n = read_maps(now, sizeof(now));

		sm->samples++;
		if (n < 0 || strncmp(now, maps0, n) || maps0[n])
			sm->changed++;
	}
	return NULL;
}

TEST_F(pl, no_mapping_while_rekeying)
{
	struct sampler sm = {};
	uint8_t buf[16 << 10];
	pthread_t t;

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, attach(self, variant->suite, true, sizeof(buf), QKTLS_QKD_REQUIRED, NULL));
	ASSERT_EQ(0, attach(self, variant->suite, false, sizeof(buf), QKTLS_QKD_REQUIRED, NULL));
	fill(buf, sizeof(buf), 1, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, sample_maps, &sm));
	/* The sampler's stack exists now: the baseline, then it compares. */
	ASSERT_LT(0, read_maps(maps0, sizeof(maps0)));
	sm.go = true;
	for (int i = 0; i < 64; i++) {
		ASSERT_EQ((ssize_t)sizeof(buf), write_full(self->c, buf, sizeof(buf)));
		ASSERT_EQ((ssize_t)sizeof(buf), read_full(self->s, buf, sizeof(buf)));
		ASSERT_EQ((ssize_t)sizeof(buf), write_full(self->s, buf, sizeof(buf)));
		ASSERT_EQ((ssize_t)sizeof(buf), read_full(self->c, buf, sizeof(buf)));
	}
	sm.stop = true;
	pthread_join(t, NULL);
	EXPECT_EQ(63, QK_STAT(qk_sock_get_fd(&self->q, self->c), TX_QKD_REKEYS));
	EXPECT_EQ(63, QK_STAT(qk_sock_get_fd(&self->q, self->s), TX_QKD_REKEYS));
	EXPECT_LT(0, sm.samples);
	EXPECT_EQ(0, sm.changed);
}

/*
 * The server is a plain kTLS peer (not attached) that sends the records a
 * TLS stack sends; the client, attached, reads with plain read().
 */
static void peer_send(struct __test_metadata *_metadata, int fd, uint8_t type,
		      const void *buf, size_t len)
{
	ASSERT_EQ(0, qktls_send_record(fd, type, buf, len));
}

TEST_F(pl, peer_tickets_updates_close_notify)
{
	static const uint8_t nst[] = { 4, 0, 0, 9, 0, 0, 0x1c, 0x20, 0, 0, 0, 0, 0 };
	static const uint8_t ku[2][5] = { { 24, 0, 0, 1, 0 }, { 24, 0, 0, 1, 1 } };
	static const uint8_t close_notify[] = { 1, 0 };
	uint8_t next[48], buf[64], type;
	struct qk_sock_info c;
	char rd[16];

	/* QKD off: the client answers update_requested with a standard one. */
	ASSERT_EQ(0, attach(self, variant->suite, true, 0, QKTLS_QKD_OFF, NULL));
	/* Two tickets, as a stock OpenSSL server sends, then data. */
	peer_send(_metadata, self->s, 22, nst, sizeof(nst));
	peer_send(_metadata, self->s, 22, nst, sizeof(nst));
	ASSERT_EQ(5, write(self->s, "hello", 5));
	ASSERT_EQ(5, read(self->c, rd, sizeof(rd)));
	EXPECT_EQ(0, memcmp(rd, "hello", 5));
	EXPECT_EQ(2, QK_STAT(qk_sock_get_fd(&self->q, self->c), TICKETS_DROPPED));

	if (kernel_has_rekey()) {
		/* A standard KeyUpdate: the client follows inside read(). */
		peer_send(_metadata, self->s, 22, ku[0], 5);
		ASSERT_EQ(0, qktls_next_secret(variant->suite, self->s2c,
					       self->hlen, next));
		ASSERT_EQ(0, qktls_ktls_rekey(self->s, QKTLS_DIR_TX,
					      variant->suite, next, self->hlen));
		memcpy(self->s2c, next, self->hlen);
		ASSERT_EQ(3, write(self->s, "abc", 3));
		ASSERT_EQ(3, read(self->c, rd, sizeof(rd)));
		EXPECT_EQ(0, memcmp(rd, "abc", 3));

		/* update_requested: the client's KeyUpdate precedes its data. */
		peer_send(_metadata, self->s, 22, ku[1], 5);
		ASSERT_EQ(0, qktls_next_secret(variant->suite, self->s2c,
					       self->hlen, next));
		ASSERT_EQ(0, qktls_ktls_rekey(self->s, QKTLS_DIR_TX,
					      variant->suite, next, self->hlen));
		ASSERT_EQ(2, write(self->s, "de", 2));
		ASSERT_EQ(2, read(self->c, rd, sizeof(rd)));
		ASSERT_EQ(1, write(self->c, "x", 1));
		ASSERT_EQ(5, qktls_recv_record(self->s, buf, sizeof(buf), &type, 0));
		EXPECT_EQ(22, type);
		EXPECT_EQ(0, memcmp(buf, ku[0], 5));
		ASSERT_EQ(0, qktls_next_secret(variant->suite, self->c2s,
					       self->hlen, next));
		ASSERT_EQ(0, qktls_ktls_rekey(self->s, QKTLS_DIR_RX,
					      variant->suite, next, self->hlen));
		ASSERT_EQ(1, qktls_recv_record(self->s, buf, sizeof(buf), &type, 0));
		EXPECT_EQ(23, type);
		EXPECT_EQ('x', buf[0]);
		c = qk_sock_get_fd(&self->q, self->c);
		EXPECT_EQ(2, QK_STAT(c, RX_REKEYS));
		EXPECT_EQ(0, QK_STAT(c, RX_QKD_REKEYS));
		EXPECT_EQ(1, QK_STAT(c, UPDATES_REQUESTED));
		EXPECT_EQ(1, QK_STAT(c, TX_REKEYS));
	}

	/* close_notify: end of file, and it stays so. */
	peer_send(_metadata, self->s, 21, close_notify, 2);
	EXPECT_EQ(0, read(self->c, rd, sizeof(rd)));
	EXPECT_EQ(0, read(self->c, rd, sizeof(rd)));
	EXPECT_EQ(1, QK_STAT(qk_sock_get_fd(&self->q, self->c), ALERTS));
}

/* Policy required: a peer's update without a QKD key ends RX. */
TEST_F(pl, required_refuses_standard_update)
{
	static const uint8_t ku[] = { 24, 0, 0, 1, 0 };
	char rd[16];

	if (!kernel_has_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, attach(self, variant->suite, true, 0, QKTLS_QKD_REQUIRED, NULL));
	ASSERT_EQ(0, qktls_send_record(self->s, 22, ku, sizeof(ku)));
	EXPECT_EQ(-1, read(self->c, rd, sizeof(rd)));
	EXPECT_EQ(EPROTO, errno);
	EXPECT_EQ(0, QK_STAT(qk_sock_get_fd(&self->q, self->c), RX_REKEYS));
	EXPECT_EQ(1, QK_STAT(qk_sock_get_fd(&self->q, self->c), RX_ERRORS));
}

TEST_F(pl, peer_fatal_alert)
{
	static const uint8_t bad_record_mac[] = { 2, 20 };
	char rd[16];

	ASSERT_EQ(0, attach(self, variant->suite, true, 0, QKTLS_QKD_PREFERRED, NULL));
	peer_send(_metadata, self->s, 21, bad_record_mac, 2);
	EXPECT_EQ(-1, read(self->c, rd, sizeof(rd)));
	EXPECT_EQ(ECONNRESET, errno);
	ASSERT_EQ(2, write(self->s, "ok", 2));
	EXPECT_EQ(-1, read(self->c, rd, sizeof(rd)));	/* it stays */
	EXPECT_EQ(ECONNRESET, errno);
	EXPECT_EQ(1, QK_STAT(qk_sock_get_fd(&self->q, self->c), ALERTS));
}

TEST_F(pl, peer_malformed_handshake)
{
	static const uint8_t unknown_hs[] = { 99, 0, 0, 0 };
	static const uint8_t short_ref[] = { 0xe7, 0, 0, 2, 1, 2 };
	char rd[16];

	ASSERT_EQ(0, attach(self, variant->suite, true, 0, QKTLS_QKD_PREFERRED, NULL));
	peer_send(_metadata, self->s, 22, short_ref, sizeof(short_ref));
	EXPECT_EQ(-1, read(self->c, rd, sizeof(rd)));
	EXPECT_EQ(EPROTO, errno);
	peer_send(_metadata, self->s, 22, unknown_hs, sizeof(unknown_hs));
	EXPECT_EQ(-1, read(self->c, rd, sizeof(rd)));
	EXPECT_EQ(EPROTO, errno);
	EXPECT_EQ(1, QK_STAT(qk_sock_get_fd(&self->q, self->c), RX_ERRORS));
}

TEST_HARNESS_MAIN
