// SPDX-License-Identifier: GPL-2.0-only
/*
 * kTLS end to end with keys set from userspace, for every cipher suite the
 * project uses: data passes both ways, the record on the wire is exactly
 * TLS 1.3 under the key we set (decrypted here with OpenSSL), and a wrong
 * receive key is refused rather than yielding bytes.
 */
#include <openssl/evp.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "../lib/ktls.h"

FIXTURE(ktls)
{
	int c, s;
	struct ktls_dir c2s, s2c;
};

FIXTURE_VARIANT(ktls)
{
	uint16_t cipher;
	const char *(*evp_name)(void);
};

static const char *name_aes128(void) { return "AES-128-GCM"; }
static const char *name_aes256(void) { return "AES-256-GCM"; }
static const char *name_chacha(void) { return "ChaCha20-Poly1305"; }

FIXTURE_VARIANT_ADD(ktls, aes_gcm_256)
{
	.cipher = TLS_CIPHER_AES_GCM_256,
	.evp_name = name_aes256,
};

FIXTURE_VARIANT_ADD(ktls, aes_gcm_128)
{
	.cipher = TLS_CIPHER_AES_GCM_128,
	.evp_name = name_aes128,
};

FIXTURE_VARIANT_ADD(ktls, chacha20_poly1305)
{
	.cipher = TLS_CIPHER_CHACHA20_POLY1305,
	.evp_name = name_chacha,
};

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		buf[i] = seed >> 16;
	}
}

FIXTURE_SETUP(ktls)
{
	fill_pattern(self->c2s.key, sizeof(self->c2s.key), 1);
	fill_pattern(self->c2s.iv, sizeof(self->c2s.iv), 2);
	fill_pattern(self->s2c.key, sizeof(self->s2c.key), 3);
	fill_pattern(self->s2c.iv, sizeof(self->s2c.iv), 4);
	self->c2s.seq = 0;
	self->s2c.seq = 0;
	ASSERT_EQ(tcp_pair(&self->c, &self->s), 0);
}

FIXTURE_TEARDOWN(ktls)
{
	close(self->c);
	close(self->s);
}

TEST_F(ktls, both_directions)
{
	static uint8_t out[65536], in[65536];

	ASSERT_EQ(ktls_set(self->c, TLS_TX, variant->cipher, &self->c2s), 0);
	ASSERT_EQ(ktls_set(self->s, TLS_RX, variant->cipher, &self->c2s), 0);
	ASSERT_EQ(ktls_set(self->s, TLS_TX, variant->cipher, &self->s2c), 0);
	ASSERT_EQ(ktls_set(self->c, TLS_RX, variant->cipher, &self->s2c), 0);

	fill_pattern(out, sizeof(out), 42);
	ASSERT_EQ(write_full(self->c, out, sizeof(out)), (ssize_t)sizeof(out));
	ASSERT_EQ(read_full(self->s, in, sizeof(in)), (ssize_t)sizeof(in));
	ASSERT_EQ(memcmp(in, out, sizeof(out)), 0);

	fill_pattern(out, sizeof(out), 43);
	ASSERT_EQ(write_full(self->s, out, sizeof(out)), (ssize_t)sizeof(out));
	ASSERT_EQ(read_full(self->c, in, sizeof(in)), (ssize_t)sizeof(in));
	ASSERT_EQ(memcmp(in, out, sizeof(out)), 0);
}

/* Open one TLS 1.3 record with OpenSSL; returns plaintext length or -1. */
static int open_record(const char *cipher, const struct ktls_dir *d,
		       uint64_t seq, const uint8_t *rec, int rec_len,
		       uint8_t *pt)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, cipher, NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int body = rec_len - 5 - 16, n = -1, fin;
	uint8_t nonce[12];

	memcpy(nonce, d->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (seq >> (8 * i)) & 0xff;
	if (!c || !ctx || body < 0 ||
	    !EVP_DecryptInit_ex2(ctx, c, d->key, nonce, NULL) ||
	    !EVP_DecryptUpdate(ctx, NULL, &n, rec, 5) ||
	    !EVP_DecryptUpdate(ctx, pt, &n, rec + 5, body) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16,
				 (void *)(rec + 5 + body)) ||
	    !EVP_DecryptFinal_ex(ctx, pt + n, &fin))
		n = -1;
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return n;
}

TEST_F(ktls, record_on_wire_is_tls13_under_our_key)
{
	uint8_t msg[100], rec[5 + sizeof(msg) + 1 + 16], pt[sizeof(rec)];
	int n;

	/* Only the client is kTLS: the server reads the raw record. */
	self->c2s.seq = 7;
	ASSERT_EQ(ktls_set(self->c, TLS_TX, variant->cipher, &self->c2s), 0);
	fill_pattern(msg, sizeof(msg), 9);
	ASSERT_EQ(write_full(self->c, msg, sizeof(msg)), (ssize_t)sizeof(msg));
	ASSERT_EQ(read_full(self->s, rec, sizeof(rec)), (ssize_t)sizeof(rec));

	/* Outer header: application_data, legacy version 1.2, length. */
	EXPECT_EQ(rec[0], 23);
	EXPECT_EQ(rec[1], 3);
	EXPECT_EQ(rec[2], 3);
	EXPECT_EQ((rec[3] << 8) | rec[4], (int)(sizeof(rec) - 5));
	EXPECT_NE(memcmp(rec + 5, msg, sizeof(msg)), 0);

	n = open_record(variant->evp_name(), &self->c2s, 7, rec, sizeof(rec), pt);
	ASSERT_EQ(n, (int)sizeof(msg) + 1);
	EXPECT_EQ(memcmp(pt, msg, sizeof(msg)), 0);
	EXPECT_EQ(pt[sizeof(msg)], 23);	/* inner content type */

	/* The same record under the next sequence number must not open. */
	EXPECT_EQ(open_record(variant->evp_name(), &self->c2s, 8, rec,
			      sizeof(rec), pt), -1);
}

TEST_F(ktls, wrong_rx_key_yields_no_bytes)
{
	struct ktls_dir bad = self->c2s;
	uint8_t msg[512], in[512];

	bad.key[0] ^= 1;
	ASSERT_EQ(ktls_set(self->c, TLS_TX, variant->cipher, &self->c2s), 0);
	ASSERT_EQ(ktls_set(self->s, TLS_RX, variant->cipher, &bad), 0);
	fill_pattern(msg, sizeof(msg), 5);
	ASSERT_EQ(write_full(self->c, msg, sizeof(msg)), (ssize_t)sizeof(msg));
	EXPECT_EQ(read(self->s, in, sizeof(in)), -1);
	EXPECT_EQ(errno, EBADMSG);
}

TEST_HARNESS_MAIN
