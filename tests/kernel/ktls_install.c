// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libqktls kTLS install and rekey on a real kernel, for every cipher suite.
 *
 * Both ends of a loopback TCP pair install keys derived from the same
 * traffic secrets with qktls_ktls_install(); data passes both ways.  Then,
 * on kernels that rekey kTLS (>= 6.14), each sender sends a KeyUpdate record
 * and switches TX to the next secret (the RFC 8446 update, then the QKD
 * update) while it keeps writing; each receiver reads up to the KeyUpdate,
 * sees EKEYEXPIRED, switches RX and reads on; every byte is checked and the
 * /proc/net/tls_stat rekey counters must move by exactly the expected
 * amounts (each test runs in its own network namespace, so the counters are
 * its own).  A receiver given the wrong next secret gets EBADMSG and no
 * byte.  On older kernels (6.12) every rekey must fail with
 * -QKTLS_E_NOREKEY and leave the old keys working.
 *
 * Against OpenSSL's own record layer: a real TLS 1.3 handshake on the pair,
 * the client's traffic secrets taken from the keylog callback and installed
 * with libqktls, the server staying in userspace OpenSSL; data both ways,
 * then (>= 6.14) a KeyUpdate from each side, SSL_key_update() on the server
 * and qktls_ktls_send_key_update() + qktls_ktls_rekey() on the client.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "kselftest_harness.h"
#include "../lib/ktls.h"

#include <qktls/handshake.h>
#include <qktls/keysched.h>
#include <qktls/ktls.h>

#define CHUNK	100000	/* not a multiple of the 16 KiB record size */
#define PHASES	3	/* initial key, standard update, QKD update */

/* Does this kernel rekey kTLS?  Linux 6.14 added it. */
static bool kernel_has_rekey(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 14);
}

struct stats {
	long tx_ok, rx_ok, rx_received, tx_err, rx_err;
};

static void read_stats(struct stats *s)
{
	s->tx_ok = qk_tls_stat("TlsTxRekeyOk");
	s->rx_ok = qk_tls_stat("TlsRxRekeyOk");
	s->rx_received = qk_tls_stat("TlsRxRekeyReceived");
	s->tx_err = qk_tls_stat("TlsTxRekeyError");
	s->rx_err = qk_tls_stat("TlsRxRekeyError");
}

/* Bytes of phase @phase of direction @dir: a keyed pattern. */
static void pattern(uint8_t *buf, size_t len, int dir, int phase)
{
	uint32_t x = 0x9e3779b9u * (dir * 16 + phase + 1);

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = x;
	}
}

static const uint8_t k_qkd[32] = {
	0x51, 0x4b, 0x44, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x2d, 0x6b, 0x65, 0x79,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13,
};

/* Next secret of phase @phase: 1 = RFC 8446 update, 2 = QKD update. */
static int next_secret(uint16_t suite, uint8_t *s, size_t len, int phase)
{
	if (phase == 1)
		return qktls_next_secret(suite, s, len, s);
	return qktls_next_secret_qkd(suite, s, len, k_qkd, sizeof(k_qkd), s);
}

/* One sending direction, run in its own thread. */
struct sender {
	pthread_t thread;
	int fd, dir;
	uint16_t suite;
	uint8_t secret[QKTLS_MAX_HASH_LEN];
	size_t len;
	int phases;		/* PHASES with rekey, 1 without */
	int err;		/* 0 or the first failure */
	const char *where;
};

static void *send_all(void *arg)
{
	struct sender *w = arg;
	uint8_t *buf = malloc(CHUNK);
	ssize_t n;

	if (!buf) {
		w->err = -ENOMEM;
		w->where = "malloc";
		return NULL;
	}
	for (int p = 0; p < w->phases; p++) {
		if (p) {
			w->where = "send KeyUpdate";
			w->err = qktls_ktls_send_key_update(w->fd, false);
			if (w->err)
				break;
			w->where = "next secret";
			w->err = next_secret(w->suite, w->secret, w->len, p);
			if (w->err)
				break;
			w->where = "TX rekey";
			w->err = qktls_ktls_rekey(w->fd, QKTLS_DIR_TX, w->suite,
						  w->secret, w->len);
			if (w->err)
				break;
		}
		pattern(buf, CHUNK, w->dir, p);
		w->where = "write";
		n = write_full(w->fd, buf, CHUNK);
		if (n != CHUNK) {
			w->err = n < 0 ? (int)n : -EIO;
			break;
		}
	}
	if (!w->err)
		w->where = NULL;
	OPENSSL_cleanse(w->secret, sizeof(w->secret));
	free(buf);
	return NULL;
}

FIXTURE(ktls)
{
	int c, s;
	const struct qktls_suite_info *si;
	uint8_t c2s[QKTLS_MAX_HASH_LEN], s2c[QKTLS_MAX_HASH_LEN];
	bool rekey;
};

FIXTURE_VARIANT(ktls)
{
	uint16_t suite;
};

FIXTURE_VARIANT_ADD(ktls, aes_256_gcm_sha384)
{
	.suite = QKTLS_TLS_AES_256_GCM_SHA384,
};

FIXTURE_VARIANT_ADD(ktls, aes_128_gcm_sha256)
{
	.suite = QKTLS_TLS_AES_128_GCM_SHA256,
};

FIXTURE_VARIANT_ADD(ktls, chacha20_poly1305_sha256)
{
	.suite = QKTLS_TLS_CHACHA20_POLY1305_SHA256,
};

FIXTURE_SETUP(ktls)
{
	self->si = qktls_suite_info(variant->suite);
	ASSERT_NE(NULL, self->si);
	/* Stand-ins for the handshake's application traffic secrets. */
	for (size_t i = 0; i < sizeof(self->c2s); i++) {
		self->c2s[i] = 0x10 + i;
		self->s2c[i] = 0xc0 ^ (i * 7);
	}
	self->rekey = kernel_has_rekey();
	ASSERT_EQ(0, qk_private_netns());
	ASSERT_EQ(0, tcp_pair(&self->c, &self->s));
}

FIXTURE_TEARDOWN(ktls)
{
	OPENSSL_cleanse(self->c2s, sizeof(self->c2s));
	OPENSSL_cleanse(self->s2c, sizeof(self->s2c));
	close(self->c);
	close(self->s);
}

static int install_all(FIXTURE_DATA(ktls) *self, uint16_t suite)
{
	size_t len = self->si->hash_len;
	int ret;

	ret = qktls_ktls_install(self->c, QKTLS_DIR_TX, suite, self->c2s, len, 0);
	if (!ret)
		ret = qktls_ktls_install(self->s, QKTLS_DIR_RX, suite,
					 self->c2s, len, 0);
	if (!ret)
		ret = qktls_ktls_install(self->s, QKTLS_DIR_TX, suite,
					 self->s2c, len, 0);
	if (!ret)
		ret = qktls_ktls_install(self->c, QKTLS_DIR_RX, suite,
					 self->s2c, len, 0);
	return ret;
}

/* Write @len pattern bytes on @from and check them on @to (same thread). */
static int pass_data(int from, int to, int dir, int phase)
{
	static uint8_t out[CHUNK], in[CHUNK];

	pattern(out, sizeof(out), dir, phase);
	/* Fits in the loopback socket buffers, so no reader thread needed. */
	if (write_full(from, out, 16384) != 16384)
		return -1;
	memset(in, 0, sizeof(in));
	if (read_full(to, in, 16384) != 16384)
		return -2;
	return memcmp(in, out, 16384) ? -3 : 0;
}

TEST_F(ktls, rekey_supported_matches_kernel)
{
	/* uname says what to expect; the library asks the kernel itself. */
	EXPECT_EQ(self->rekey ? 1 : 0, qktls_ktls_rekey_supported());
}

TEST_F(ktls, install_both_directions)
{
	ASSERT_EQ(0, install_all(self, variant->suite));
	EXPECT_EQ(0, pass_data(self->c, self->s, 0, 0));
	EXPECT_EQ(0, pass_data(self->s, self->c, 1, 0));
	EXPECT_EQ(0, pass_data(self->c, self->s, 0, 1));
}

TEST_F(ktls, install_refuses_bad_input)
{
	size_t len = self->si->hash_len;
	int u = socket(AF_INET, SOCK_DGRAM, 0);

	EXPECT_EQ(-QKTLS_E_SUITE, qktls_ktls_install(self->c, QKTLS_DIR_TX,
						     0x1304, self->c2s, len, 0));
	EXPECT_EQ(-QKTLS_E_LENGTH, qktls_ktls_install(self->c, QKTLS_DIR_TX,
						      variant->suite, self->c2s,
						      len == 32 ? 48 : 32, 0));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_ktls_install(self->c, 3, variant->suite,
						   self->c2s, len, 0));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_ktls_install(-1, QKTLS_DIR_TX,
						   variant->suite, self->c2s,
						   len, 0));
	/* Not a TCP socket: the kernel refuses the ULP. */
	ASSERT_LE(0, u);
	EXPECT_GT(0, qktls_ktls_install(u, QKTLS_DIR_TX, variant->suite,
					self->c2s, len, 0));
	close(u);
	/* No key yet: nothing to rekey. */
	EXPECT_EQ(-QKTLS_E_NOTINSTALLED,
		  qktls_ktls_rekey(self->c, QKTLS_DIR_TX, variant->suite,
				   self->c2s, len));

	ASSERT_EQ(0, install_all(self, variant->suite));
	EXPECT_EQ(-QKTLS_E_INSTALLED,
		  qktls_ktls_install(self->c, QKTLS_DIR_TX, variant->suite,
				     self->c2s, len, 0));
	EXPECT_EQ(-QKTLS_E_INSTALLED,
		  qktls_ktls_install(self->s, QKTLS_DIR_RX, variant->suite,
				     self->c2s, len, 0));
	/* A rekey must keep the cipher. */
	for (uint16_t other = QKTLS_TLS_AES_128_GCM_SHA256;
	     other <= QKTLS_TLS_CHACHA20_POLY1305_SHA256; other++) {
		const struct qktls_suite_info *o = qktls_suite_info(other);

		if (other == variant->suite)
			continue;
		EXPECT_EQ(-QKTLS_E_MISMATCH,
			  qktls_ktls_rekey(self->c, QKTLS_DIR_TX, other,
					   self->c2s, o->hash_len));
	}
	/* None of that disturbed the keys in place. */
	EXPECT_EQ(0, pass_data(self->c, self->s, 0, 0));
	EXPECT_EQ(0, pass_data(self->s, self->c, 1, 0));
}

/*
 * Both directions at once, each through three keys: the installed one,
 * the RFC 8446 update and the QKD update.  Senders run in threads and write
 * on without waiting for the receiver's RX switch.
 */
TEST_F(ktls, rekey_standard_then_qkd_both_directions)
{
	struct sender w[2] = {
		{ .fd = self->c, .dir = 0 },
		{ .fd = self->s, .dir = 1 },
	};
	int rx_fd[2] = { self->s, self->c };
	uint8_t rx_secret[2][QKTLS_MAX_HASH_LEN];
	size_t len = self->si->hash_len;
	static uint8_t want[CHUNK], got[CHUNK];
	struct stats before, after;

	if (!self->rekey)
		SKIP(return, "kernel has no kTLS rekey (see rekey_unsupported)");
	ASSERT_EQ(0, install_all(self, variant->suite));
	read_stats(&before);
	ASSERT_LE(0, before.tx_ok);

	memcpy(w[0].secret, self->c2s, len);
	memcpy(w[1].secret, self->s2c, len);
	memcpy(rx_secret[0], self->c2s, len);
	memcpy(rx_secret[1], self->s2c, len);
	for (int d = 0; d < 2; d++) {
		w[d].suite = variant->suite;
		w[d].len = len;
		w[d].phases = PHASES;
		ASSERT_EQ(0, pthread_create(&w[d].thread, NULL, send_all, &w[d]));
	}

	for (int d = 0; d < 2; d++) {
		int fd = rx_fd[d];

		for (int p = 0; p < PHASES; p++) {
			if (p) {
				uint8_t type = 0;
				uint8_t ku[16];
				ssize_t n;

				struct pollfd pfd = { .fd = fd, .events = POLLIN };

				/*
				 * The KeyUpdate record is next: once it is
				 * there, a plain read cannot take it.
				 */
				ASSERT_EQ(1, poll(&pfd, 1, 30000));
				EXPECT_EQ(-1, recv(fd, got, 1, MSG_DONTWAIT));
				EXPECT_EQ(EIO, errno);
				n = qktls_recv_record(fd, ku, sizeof(ku), &type, 0);
				ASSERT_EQ(5, n);
				EXPECT_EQ(22, type);
				EXPECT_EQ(0, memcmp(ku, "\x18\x00\x00\x01\x00", 5));
				/*
				 * Old key expired until the new one is in:
				 * reads fail and poll shows nothing to read.
				 */
				EXPECT_EQ(-1, recv(fd, got, 1, MSG_DONTWAIT));
				EXPECT_EQ(EKEYEXPIRED, errno);
				EXPECT_EQ(0, poll(&pfd, 1, 0));
				ASSERT_EQ(0, next_secret(variant->suite,
							 rx_secret[d], len, p));
				ASSERT_EQ(0, qktls_ktls_rekey(fd, QKTLS_DIR_RX,
							      variant->suite,
							      rx_secret[d], len));
			}
			pattern(want, CHUNK, d, p);
			memset(got, 0, CHUNK);
			ASSERT_EQ(CHUNK, read_full(fd, got, CHUNK));
			ASSERT_EQ(0, memcmp(got, want, CHUNK)) {
				TH_LOG("direction %d phase %d: bytes differ", d, p);
			}
		}
	}
	for (int d = 0; d < 2; d++) {
		pthread_join(w[d].thread, NULL);
		EXPECT_EQ(0, w[d].err) {
			TH_LOG("sender %d: %s: %s", d, w[d].where,
			       qktls_strerror(w[d].err));
		}
	}
	OPENSSL_cleanse(rx_secret, sizeof(rx_secret));

	/* Nothing more in flight either way. */
	EXPECT_EQ(-1, recv(self->s, got, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, recv(self->c, got, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* Two updates each way: 4 TX and 4 RX rekeys, 4 KeyUpdates seen. */
	read_stats(&after);
	EXPECT_EQ(4, after.tx_ok - before.tx_ok);
	EXPECT_EQ(4, after.rx_ok - before.rx_ok);
	EXPECT_EQ(4, after.rx_received - before.rx_received);
	EXPECT_EQ(0, after.tx_err - before.tx_err);
	EXPECT_EQ(0, after.rx_err - before.rx_err);
}

TEST_F(ktls, wrong_next_secret_gets_ebadmsg)
{
	size_t len = self->si->hash_len;
	uint8_t next[QKTLS_MAX_HASH_LEN], wrong[QKTLS_MAX_HASH_LEN];
	uint8_t other_qkd[32], buf[64], ku[16];
	uint8_t type = 0;

	if (!self->rekey)
		SKIP(return, "kernel has no kTLS rekey (see rekey_unsupported)");
	ASSERT_EQ(0, install_all(self, variant->suite));

	/* Sender: QKD update with the right key. */
	memcpy(next, self->c2s, len);
	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, next, len,
					   k_qkd, sizeof(k_qkd), next));
	ASSERT_EQ(0, qktls_ktls_send_key_update(self->c, false));
	ASSERT_EQ(0, qktls_ktls_rekey(self->c, QKTLS_DIR_TX, variant->suite,
				      next, len));
	ASSERT_EQ(32, write(self->c, "after the update, never readable", 32));

	/* Receiver: the same update with a QKD key one bit off. */
	memcpy(other_qkd, k_qkd, sizeof(other_qkd));
	other_qkd[0] ^= 1;
	memcpy(wrong, self->c2s, len);
	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, wrong, len,
					   other_qkd, sizeof(other_qkd), wrong));
	ASSERT_EQ(5, qktls_recv_record(self->s, ku, sizeof(ku), &type, 0));
	ASSERT_EQ(22, type);
	ASSERT_EQ(0, qktls_ktls_rekey(self->s, QKTLS_DIR_RX, variant->suite,
				      wrong, len));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(-1, read(self->s, buf, sizeof(buf)));
	EXPECT_EQ(EBADMSG, errno);
	for (size_t i = 0; i < sizeof(buf); i++)
		ASSERT_EQ(0, buf[i]);
	OPENSSL_cleanse(next, sizeof(next));
	OPENSSL_cleanse(wrong, sizeof(wrong));
}

/* Before 6.14: every rekey fails with the distinct error, nothing breaks. */
TEST_F(ktls, rekey_unsupported)
{
	size_t len = self->si->hash_len;
	uint8_t next[QKTLS_MAX_HASH_LEN];
	struct stats st;

	if (self->rekey)
		SKIP(return, "kernel rekeys kTLS (see rekey_standard_then_qkd_both_directions)");
	ASSERT_EQ(0, install_all(self, variant->suite));
	EXPECT_EQ(0, pass_data(self->c, self->s, 0, 0));

	memcpy(next, self->c2s, len);
	ASSERT_EQ(0, qktls_next_secret(variant->suite, next, len, next));
	EXPECT_EQ(-QKTLS_E_NOREKEY, qktls_ktls_rekey(self->c, QKTLS_DIR_TX,
						     variant->suite, next, len));
	EXPECT_EQ(-QKTLS_E_NOREKEY, qktls_ktls_rekey(self->s, QKTLS_DIR_RX,
						     variant->suite, next, len));
	memcpy(next, self->s2c, len);
	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, next, len,
					   k_qkd, sizeof(k_qkd), next));
	EXPECT_EQ(-QKTLS_E_NOREKEY, qktls_ktls_rekey(self->s, QKTLS_DIR_TX,
						     variant->suite, next, len));
	EXPECT_EQ(-QKTLS_E_NOREKEY, qktls_ktls_rekey(self->c, QKTLS_DIR_RX,
						     variant->suite, next, len));
	EXPECT_NE(NULL, strstr(qktls_strerror(-QKTLS_E_NOREKEY),
			       "no kTLS rekey"));
	OPENSSL_cleanse(next, sizeof(next));

	/* The old keys still carry data both ways. */
	EXPECT_EQ(0, pass_data(self->c, self->s, 0, 1));
	EXPECT_EQ(0, pass_data(self->s, self->c, 1, 1));
	/* And this kernel has no rekey counters: the uname guess was right. */
	read_stats(&st);
	EXPECT_EQ(-1, st.tx_ok);
	EXPECT_EQ(-1, st.rx_ok);
}

/* ---- interoperation with OpenSSL's record layer ----------------------------- */

#define OSSL_CHUNK 40000	/* fits the loopback buffers: no reader thread */

struct keylog {
	uint8_t client[QKTLS_MAX_HASH_LEN], server[QKTLS_MAX_HASH_LEN];
	size_t client_len, server_len;
};

/* "CLIENT_TRAFFIC_SECRET_0 <client_random> <secret>" and the server's. */
static void keylog_cb(const SSL *ssl, const char *line)
{
	struct keylog *k = SSL_get_app_data(ssl);
	const char *hex = strrchr(line, ' ');
	uint8_t *dst;
	size_t *dlen;
	long n = 0;
	unsigned char *bin;

	if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24)) {
		dst = k->client;
		dlen = &k->client_len;
	} else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24)) {
		dst = k->server;
		dlen = &k->server_len;
	} else {
		return;
	}
	bin = OPENSSL_hexstr2buf(hex + 1, &n);
	if (bin && n > 0 && n <= QKTLS_MAX_HASH_LEN) {
		memcpy(dst, bin, n);
		*dlen = n;
	}
	OPENSSL_clear_free(bin, n > 0 ? n : 0);
}

struct server {
	pthread_t thread;
	SSL *ssl;
	int ret;
};

static void *server_accept(void *arg)
{
	struct server *sv = arg;

	sv->ret = SSL_accept(sv->ssl);
	return NULL;
}

FIXTURE(openssl)
{
	int c, s;
	SSL_CTX *cctx, *sctx;
	SSL *cssl, *sssl;
	struct keylog keys;
	const struct qktls_suite_info *si;
	bool rekey;
};

FIXTURE_VARIANT(openssl)
{
	const char *suite;
};

FIXTURE_VARIANT_ADD(openssl, aes_256_gcm_sha384)
{
	.suite = "TLS_AES_256_GCM_SHA384",
};

FIXTURE_VARIANT_ADD(openssl, aes_128_gcm_sha256)
{
	.suite = "TLS_AES_128_GCM_SHA256",
};

FIXTURE_VARIANT_ADD(openssl, chacha20_poly1305_sha256)
{
	.suite = "TLS_CHACHA20_POLY1305_SHA256",
};

/* A throwaway self-signed Ed25519 certificate for the server. */
static int server_cert(SSL_CTX *ctx)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = X509_new();
	X509_NAME *name;
	int ok = pkey && x;

	ok = ok && X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -60) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 3600) &&
	     X509_set_pubkey(x, pkey);
	name = ok ? X509_get_subject_name(x) : NULL;
	ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				(const unsigned char *)"qktls-test", -1, -1, 0) &&
	     X509_set_issuer_name(x, name) && X509_sign(x, pkey, NULL) &&
	     SSL_CTX_use_certificate(ctx, x) &&
	     SSL_CTX_use_PrivateKey(ctx, pkey);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ok ? 0 : -1;
}

FIXTURE_SETUP(openssl)
{
	struct server sv;

	self->rekey = kernel_has_rekey();
	ASSERT_EQ(0, tcp_pair(&self->c, &self->s));

	self->cctx = SSL_CTX_new(TLS_client_method());
	self->sctx = SSL_CTX_new(TLS_server_method());
	ASSERT_NE(NULL, self->cctx);
	ASSERT_NE(NULL, self->sctx);
	for (int i = 0; i < 2; i++) {
		SSL_CTX *ctx = i ? self->sctx : self->cctx;

		ASSERT_EQ(1, SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION));
		ASSERT_EQ(1, SSL_CTX_set_ciphersuites(ctx, variant->suite));
	}
	/* No tickets: nothing after Finished that kTLS would have to skip. */
	ASSERT_EQ(1, SSL_CTX_set_num_tickets(self->sctx, 0));
	ASSERT_EQ(0, server_cert(self->sctx));
	SSL_CTX_set_verify(self->cctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_keylog_callback(self->cctx, keylog_cb);

	self->cssl = SSL_new(self->cctx);
	self->sssl = SSL_new(self->sctx);
	ASSERT_NE(NULL, self->cssl);
	ASSERT_NE(NULL, self->sssl);
	SSL_set_app_data(self->cssl, &self->keys);
	ASSERT_EQ(1, SSL_set_fd(self->cssl, self->c));
	ASSERT_EQ(1, SSL_set_fd(self->sssl, self->s));

	sv.ssl = self->sssl;
	ASSERT_EQ(0, pthread_create(&sv.thread, NULL, server_accept, &sv));
	EXPECT_EQ(1, SSL_connect(self->cssl));
	pthread_join(sv.thread, NULL);
	ASSERT_EQ(1, sv.ret);

	self->si = qktls_suite_by_name(SSL_CIPHER_get_name(
					SSL_get_current_cipher(self->cssl)));
	ASSERT_NE(NULL, self->si);
	ASSERT_EQ(self->si, qktls_suite_info(SSL_CIPHER_get_protocol_id(
					SSL_get_current_cipher(self->cssl))));
	ASSERT_EQ(self->si->hash_len, self->keys.client_len);
	ASSERT_EQ(self->si->hash_len, self->keys.server_len);
}

FIXTURE_TEARDOWN(openssl)
{
	OPENSSL_cleanse(&self->keys, sizeof(self->keys));
	SSL_free(self->cssl);
	SSL_free(self->sssl);
	SSL_CTX_free(self->cctx);
	SSL_CTX_free(self->sctx);
	close(self->c);
	close(self->s);
}

/* kTLS client -> OpenSSL server, then back; every byte compared. */
static int exchange(FIXTURE_DATA(openssl) *self, int phase)
{
	static uint8_t out[OSSL_CHUNK], in[OSSL_CHUNK];
	size_t got = 0;

	pattern(out, sizeof(out), 0, phase);
	if (write_full(self->c, out, sizeof(out)) != sizeof(out))
		return -1;
	while (got < sizeof(in)) {
		int n = SSL_read(self->sssl, in + got, sizeof(in) - got);

		if (n <= 0)
			return -2;
		got += n;
	}
	if (memcmp(in, out, sizeof(in)))
		return -3;

	pattern(out, sizeof(out), 1, phase);
	if (SSL_write(self->sssl, out, sizeof(out)) != (int)sizeof(out))
		return -4;
	memset(in, 0, sizeof(in));
	if (read_full(self->c, in, sizeof(in)) != sizeof(in))
		return -5;
	return memcmp(in, out, sizeof(in)) ? -6 : 0;
}

TEST_F(openssl, ktls_client_openssl_server)
{
	uint16_t suite = self->si->suite;
	size_t len = self->si->hash_len;
	uint8_t ku[16];
	uint8_t type = 0;

	/* Nothing of the server's was read ahead by the client's OpenSSL. */
	ASSERT_EQ(0, SSL_pending(self->cssl));
	ASSERT_EQ(0, qktls_ktls_install(self->c, QKTLS_DIR_TX, suite,
					self->keys.client, len, 0));
	ASSERT_EQ(0, qktls_ktls_install(self->c, QKTLS_DIR_RX, suite,
					self->keys.server, len, 0));
	ASSERT_EQ(0, exchange(self, 0));

	if (!self->rekey) {
		ASSERT_EQ(0, qktls_next_secret(suite, self->keys.client, len,
					       self->keys.client));
		EXPECT_EQ(-QKTLS_E_NOREKEY,
			  qktls_ktls_rekey(self->c, QKTLS_DIR_TX, suite,
					   self->keys.client, len));
		return;
	}

	/* Two rounds, to N+1 and N+2 each way. */
	for (int round = 1; round <= 2; round++) {
		/* The server (OpenSSL) updates its sending key. */
		ASSERT_EQ(1, SSL_key_update(self->sssl,
					    SSL_KEY_UPDATE_NOT_REQUESTED));
		/* Sends the KeyUpdate. */
		ASSERT_EQ(1, SSL_do_handshake(self->sssl));
		ASSERT_EQ(5, qktls_recv_record(self->c, ku, sizeof(ku), &type, 0));
		ASSERT_EQ(22, type);
		ASSERT_EQ(0, memcmp(ku, "\x18\x00\x00\x01\x00", 5));
		ASSERT_EQ(0, qktls_next_secret(suite, self->keys.server, len,
					       self->keys.server));
		ASSERT_EQ(0, qktls_ktls_rekey(self->c, QKTLS_DIR_RX, suite,
					      self->keys.server, len));

		/* The client (kTLS) updates its sending key. */
		ASSERT_EQ(0, qktls_ktls_send_key_update(self->c, false));
		ASSERT_EQ(0, qktls_next_secret(suite, self->keys.client, len,
					       self->keys.client));
		ASSERT_EQ(0, qktls_ktls_rekey(self->c, QKTLS_DIR_TX, suite,
					      self->keys.client, len));

		/* OpenSSL reads the KeyUpdate inside SSL_read and follows it. */
		ASSERT_EQ(0, exchange(self, round));
	}
}

TEST_HARNESS_MAIN
