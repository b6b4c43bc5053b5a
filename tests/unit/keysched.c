// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libqktls key schedule: known answers from RFC 8448 section 3 (simple
 * 1-RTT handshake, TLS_AES_128_GCM_SHA256) and, for SHA-384, from the
 * TLS_AES_256_GCM_SHA384 trace of "The Illustrated TLS 1.3 Connection"
 * (tls13.xargs.org); the key updates checked against a second, independent
 * construction (HkdfLabel bytes built here, OpenSSL's plain "HKDF" KDF);
 * properties of the QKD update; and every kind of bad input.
 */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "kselftest_harness.h"

#include <qktls/keysched.h>
#include <qktls/ktls.h>

#include "../vectors/keysched.h"

/* Hex string to bytes; returns the byte count (asserts on malformed input). */
static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;

	while (hex[0] && hex[1] && n < cap) {
		unsigned int b;

		if (sscanf(hex, "%2x", &b) != 1)
			abort();
		out[n++] = b;
		hex += 2;
	}
	if (*hex)
		abort();	/* odd length or longer than @cap */
	return n;
}

#define EXPECT_HEX(buf, len, hex) do {					\
	uint8_t _want[256];						\
	size_t _n = unhex(_want, sizeof(_want), hex);			\
	EXPECT_EQ(_n, (size_t)(len));					\
	EXPECT_EQ(0, memcmp((buf), _want, _n));				\
} while (0)

/* ---- the published traces, shared with qktls.ko's self-test ------------- */
#define RFC8448_EARLY	QKTLS_V_RFC8448_EARLY
#define RFC8448_EARLY_DERIVED	QKTLS_V_RFC8448_EARLY_DERIVED
#define RFC8448_HS	QKTLS_V_RFC8448_HS
#define RFC8448_HS_DERIVED	QKTLS_V_RFC8448_HS_DERIVED
#define RFC8448_S_HS	QKTLS_V_RFC8448_S_HS
#define RFC8448_S_HS_KEY	QKTLS_V_RFC8448_S_HS_KEY
#define RFC8448_S_HS_IV	QKTLS_V_RFC8448_S_HS_IV
#define RFC8448_S_FINISHED	QKTLS_V_RFC8448_S_FINISHED
#define RFC8448_MASTER	QKTLS_V_RFC8448_MASTER
#define RFC8448_TH_SF	QKTLS_V_RFC8448_TH_SF
#define RFC8448_C_AP	QKTLS_V_RFC8448_C_AP
#define RFC8448_S_AP	QKTLS_V_RFC8448_S_AP
#define RFC8448_C_AP_KEY	QKTLS_V_RFC8448_C_AP_KEY
#define RFC8448_C_AP_IV	QKTLS_V_RFC8448_C_AP_IV
#define RFC8448_S_AP_KEY	QKTLS_V_RFC8448_S_AP_KEY
#define RFC8448_S_AP_IV	QKTLS_V_RFC8448_S_AP_IV
#define XARGS_EARLY	QKTLS_V_XARGS_EARLY
#define XARGS_EARLY_DERIVED	QKTLS_V_XARGS_EARLY_DERIVED
#define XARGS_HS	QKTLS_V_XARGS_HS
#define XARGS_HS_DERIVED	QKTLS_V_XARGS_HS_DERIVED
#define XARGS_C_HS	QKTLS_V_XARGS_C_HS
#define XARGS_C_HS_KEY	QKTLS_V_XARGS_C_HS_KEY
#define XARGS_C_HS_IV	QKTLS_V_XARGS_C_HS_IV
#define XARGS_S_HS	QKTLS_V_XARGS_S_HS
#define XARGS_S_HS_KEY	QKTLS_V_XARGS_S_HS_KEY
#define XARGS_S_HS_IV	QKTLS_V_XARGS_S_HS_IV
#define XARGS_C_AP	QKTLS_V_XARGS_C_AP
#define XARGS_C_AP_KEY	QKTLS_V_XARGS_C_AP_KEY
#define XARGS_C_AP_IV	QKTLS_V_XARGS_C_AP_IV
#define XARGS_S_AP	QKTLS_V_XARGS_S_AP
#define XARGS_S_AP_KEY	QKTLS_V_XARGS_S_AP_KEY
#define XARGS_S_AP_IV	QKTLS_V_XARGS_S_AP_IV

/*
 * An independent HKDF-Expand-Label: the HkdfLabel structure of RFC 8446 7.1
 * assembled byte by byte here, expanded with OpenSSL's plain "HKDF" KDF
 * (not the "TLS13-KDF" libqktls uses).
 */
static int ref_expand_label(const char *md, const uint8_t *secret, size_t slen,
			    const char *label, uint8_t *out, size_t olen)
{
	uint8_t info[2 + 1 + 255 + 1];
	size_t llen = strlen("tls13 ") + strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM p[5];
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	int ok;

	info[n++] = olen >> 8;
	info[n++] = olen & 0xff;
	info[n++] = llen;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, llen - 6);
	n += llen;
	info[n++] = 0;		/* empty context */

	p[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)md, 0);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)secret, slen);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	p[4] = OSSL_PARAM_construct_end();
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = EVP_KDF_CTX_new(kdf);
	ok = kctx && EVP_KDF_derive(kctx, out, olen, p) > 0;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

/* HKDF-Extract(salt, ikm) through OpenSSL's "HKDF" in EXTRACT_ONLY mode. */
static int ref_extract(const char *md, const uint8_t *salt, size_t salt_len,
		       const uint8_t *ikm, size_t ikm_len, uint8_t *out,
		       size_t olen)
{
	int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
	OSSL_PARAM p[5];
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	int ok;

	p[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)md, 0);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						 (void *)salt, salt_len);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)ikm, ikm_len);
	p[4] = OSSL_PARAM_construct_end();
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = EVP_KDF_CTX_new(kdf);
	ok = kctx && EVP_KDF_derive(kctx, out, olen, p) > 0;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

/* ---- known answers: RFC 8448 ----------------------------------------------- */

TEST(rfc8448_derive_secret_empty_transcript)
{
	uint8_t s[32], out[32];

	/* Derive-Secret(early_secret, "derived", "") */
	unhex(s, sizeof(s), RFC8448_EARLY);
	ASSERT_EQ(0, qktls_derive_secret(QKTLS_SHA256, s, 32, "derived",
					 NULL, 0, out, 32));
	EXPECT_HEX(out, 32, RFC8448_EARLY_DERIVED);

	/* Derive-Secret(handshake_secret, "derived", "") */
	unhex(s, sizeof(s), RFC8448_HS);
	ASSERT_EQ(0, qktls_derive_secret(QKTLS_SHA256, s, 32, "derived",
					 NULL, 0, out, 32));
	EXPECT_HEX(out, 32, RFC8448_HS_DERIVED);
}

TEST(rfc8448_application_traffic_secrets)
{
	uint8_t master[32], th[32], out[32];

	unhex(master, sizeof(master), RFC8448_MASTER);
	unhex(th, sizeof(th), RFC8448_TH_SF);
	ASSERT_EQ(0, qktls_hkdf_expand_label(QKTLS_SHA256, master, 32,
					     "c ap traffic", th, 32, out, 32));
	EXPECT_HEX(out, 32, RFC8448_C_AP);
	ASSERT_EQ(0, qktls_hkdf_expand_label(QKTLS_SHA256, master, 32,
					     "s ap traffic", th, 32, out, 32));
	EXPECT_HEX(out, 32, RFC8448_S_AP);
}

TEST(rfc8448_expand_label_finished_key)
{
	uint8_t s[32], out[32];

	unhex(s, sizeof(s), RFC8448_S_HS);
	ASSERT_EQ(0, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32, "finished",
					     NULL, 0, out, 32));
	EXPECT_HEX(out, 32, RFC8448_S_FINISHED);
}

TEST(rfc8448_traffic_keys_aes_128_gcm)
{
	struct qktls_traffic_keys k;
	uint8_t s[32];

	unhex(s, sizeof(s), RFC8448_C_AP);
	ASSERT_EQ(0, qktls_traffic_keys(QKTLS_TLS_AES_128_GCM_SHA256, s, 32, &k));
	EXPECT_EQ(16U, k.key_len);
	EXPECT_HEX(k.key, k.key_len, RFC8448_C_AP_KEY);
	EXPECT_HEX(k.iv, QKTLS_IV_LEN, RFC8448_C_AP_IV);

	unhex(s, sizeof(s), RFC8448_S_AP);
	ASSERT_EQ(0, qktls_traffic_keys(QKTLS_TLS_AES_128_GCM_SHA256, s, 32, &k));
	EXPECT_HEX(k.key, k.key_len, RFC8448_S_AP_KEY);
	EXPECT_HEX(k.iv, QKTLS_IV_LEN, RFC8448_S_AP_IV);

	unhex(s, sizeof(s), RFC8448_S_HS);
	ASSERT_EQ(0, qktls_traffic_keys(QKTLS_TLS_AES_128_GCM_SHA256, s, 32, &k));
	EXPECT_HEX(k.key, k.key_len, RFC8448_S_HS_KEY);
	EXPECT_HEX(k.iv, QKTLS_IV_LEN, RFC8448_S_HS_IV);
	OPENSSL_cleanse(&k, sizeof(k));
}

/* ---- known answers: SHA-384 (tls13.xargs.org) ------------------------------ */

TEST(sha384_derive_secret_empty_transcript)
{
	uint8_t s[48], out[48];

	unhex(s, sizeof(s), XARGS_EARLY);
	ASSERT_EQ(0, qktls_derive_secret(QKTLS_SHA384, s, 48, "derived",
					 NULL, 0, out, 48));
	EXPECT_HEX(out, 48, XARGS_EARLY_DERIVED);
	unhex(s, sizeof(s), XARGS_HS);
	ASSERT_EQ(0, qktls_derive_secret(QKTLS_SHA384, s, 48, "derived",
					 NULL, 0, out, 48));
	EXPECT_HEX(out, 48, XARGS_HS_DERIVED);
}

TEST(sha384_traffic_keys_aes_256_gcm)
{
	static const struct { const char *secret, *key, *iv; } v[] = {
		{ XARGS_C_HS, XARGS_C_HS_KEY, XARGS_C_HS_IV },
		{ XARGS_S_HS, XARGS_S_HS_KEY, XARGS_S_HS_IV },
		{ XARGS_C_AP, XARGS_C_AP_KEY, XARGS_C_AP_IV },
		{ XARGS_S_AP, XARGS_S_AP_KEY, XARGS_S_AP_IV },
	};
	struct qktls_traffic_keys k;
	uint8_t s[48];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unhex(s, sizeof(s), v[i].secret);
		ASSERT_EQ(0, qktls_traffic_keys(QKTLS_TLS_AES_256_GCM_SHA384,
						s, 48, &k));
		EXPECT_EQ(32U, k.key_len);
		EXPECT_HEX(k.key, k.key_len, v[i].key);
		EXPECT_HEX(k.iv, QKTLS_IV_LEN, v[i].iv);
	}
	OPENSSL_cleanse(&k, sizeof(k));
}

/* ---- every suite: updates against the independent construction ------------- */

FIXTURE(suite)
{
	const struct qktls_suite_info *si;
	uint8_t secret[QKTLS_MAX_HASH_LEN];
	const char *md;
};

FIXTURE_VARIANT(suite)
{
	uint16_t suite;
	const char *secret;	/* a published traffic secret of that hash */
};

FIXTURE_VARIANT_ADD(suite, aes_128_gcm_sha256)
{
	.suite = QKTLS_TLS_AES_128_GCM_SHA256,
	.secret = RFC8448_C_AP,
};

FIXTURE_VARIANT_ADD(suite, aes_256_gcm_sha384)
{
	.suite = QKTLS_TLS_AES_256_GCM_SHA384,
	.secret = XARGS_C_AP,
};

FIXTURE_VARIANT_ADD(suite, chacha20_poly1305_sha256)
{
	.suite = QKTLS_TLS_CHACHA20_POLY1305_SHA256,
	.secret = RFC8448_S_AP,
};

FIXTURE_SETUP(suite)
{
	self->si = qktls_suite_info(variant->suite);
	ASSERT_NE(NULL, self->si);
	ASSERT_EQ(self->si->hash_len,
		  unhex(self->secret, sizeof(self->secret), variant->secret));
	self->md = self->si->hash == QKTLS_SHA384 ? "SHA384" : "SHA256";
}

FIXTURE_TEARDOWN(suite)
{
	OPENSSL_cleanse(self->secret, sizeof(self->secret));
}

TEST_F(suite, describes_itself)
{
	const struct qktls_suite_info *si = self->si;

	EXPECT_EQ(si, qktls_suite_by_name(si->name));
	EXPECT_EQ(qktls_hash_len(si->hash), si->hash_len);
	EXPECT_EQ((size_t)QKTLS_IV_LEN, si->iv_len);
	EXPECT_EQ(variant->suite == QKTLS_TLS_AES_128_GCM_SHA256 ? 16U : 32U,
		  si->key_len);
}

TEST_F(suite, traffic_keys_match_reference)
{
	uint8_t key[32], iv[12];
	struct qktls_traffic_keys k;

	ASSERT_EQ(0, qktls_traffic_keys(variant->suite, self->secret,
					self->si->hash_len, &k));
	ASSERT_EQ(0, ref_expand_label(self->md, self->secret,
				      self->si->hash_len, "key", key,
				      self->si->key_len));
	ASSERT_EQ(0, ref_expand_label(self->md, self->secret,
				      self->si->hash_len, "iv", iv, 12));
	EXPECT_EQ(self->si->key_len, k.key_len);
	EXPECT_EQ(0, memcmp(k.key, key, k.key_len));
	EXPECT_EQ(0, memcmp(k.iv, iv, 12));
}

TEST_F(suite, standard_update_matches_reference)
{
	size_t len = self->si->hash_len;
	uint8_t next[48], ref[48], again[48];

	ASSERT_EQ(0, qktls_next_secret(variant->suite, self->secret, len, next));
	ASSERT_EQ(0, ref_expand_label(self->md, self->secret, len,
				      "traffic upd", ref, len));
	EXPECT_EQ(0, memcmp(next, ref, len));
	EXPECT_NE(0, memcmp(next, self->secret, len));

	/* N+2 from N+1, and in place gives the same. */
	ASSERT_EQ(0, ref_expand_label(self->md, ref, len, "traffic upd",
				      again, len));
	ASSERT_EQ(0, qktls_next_secret(variant->suite, next, len, next));
	EXPECT_EQ(0, memcmp(next, again, len));
}

TEST_F(suite, qkd_update_is_extract_over_expand_label)
{
	size_t len = self->si->hash_len;
	uint8_t k_qkd[32], next[48], salt[48], ref[48];

	for (size_t i = 0; i < sizeof(k_qkd); i++)
		k_qkd[i] = 0xa0 + i;
	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, self->secret, len,
					   k_qkd, sizeof(k_qkd), next));
	ASSERT_EQ(0, ref_expand_label(self->md, self->secret, len,
				      "qktls qkd upd", salt, len));
	ASSERT_EQ(0, ref_extract(self->md, salt, len, k_qkd, sizeof(k_qkd),
				 ref, len));
	EXPECT_EQ(0, memcmp(next, ref, len));
	EXPECT_STREQ("qktls qkd upd", QKTLS_QKD_UPDATE_LABEL);
}

TEST_F(suite, qkd_update_properties)
{
	size_t len = self->si->hash_len;
	uint8_t k1[32], k2[32], a[48], b[48], c[48], std[48], other[48];

	memset(k1, 0x11, sizeof(k1));
	memcpy(k2, k1, sizeof(k2));
	k2[31] ^= 1;	/* one bit apart */

	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, self->secret, len,
					   k1, sizeof(k1), a));
	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, self->secret, len,
					   k1, sizeof(k1), b));
	EXPECT_EQ(0, memcmp(a, b, len));	/* deterministic */

	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, self->secret, len,
					   k2, sizeof(k2), c));
	EXPECT_NE(0, memcmp(a, c, len));	/* depends on K_qkd */

	ASSERT_EQ(0, qktls_next_secret(variant->suite, self->secret, len, std));
	EXPECT_NE(0, memcmp(a, std, len));	/* not the standard update */
	EXPECT_NE(0, memcmp(a, self->secret, len));

	memcpy(other, self->secret, len);
	other[0] ^= 0x80;			/* depends on S */
	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, other, len,
					   k1, sizeof(k1), c));
	EXPECT_NE(0, memcmp(a, c, len));

	/* In place equals out of place. */
	memcpy(c, self->secret, len);
	ASSERT_EQ(0, qktls_next_secret_qkd(variant->suite, c, len,
					   k1, sizeof(k1), c));
	EXPECT_EQ(0, memcmp(a, c, len));

	/* Key length limits are inclusive. */
	uint8_t big[QKTLS_QKD_KEY_MAX] = { 0 };

	EXPECT_EQ(0, qktls_next_secret_qkd(variant->suite, self->secret, len,
					   big, QKTLS_QKD_KEY_MIN, c));
	EXPECT_EQ(0, qktls_next_secret_qkd(variant->suite, self->secret, len,
					   big, QKTLS_QKD_KEY_MAX, c));
}

/*
 * Pinned vectors for the two updates (tests/vectors/keysched.h, shared with
 * qktls.ko's self-test and Documentation/qktls/key-schedule.rst).  There is
 * no published trace of a TLS 1.3 key update, and the QKD update is the
 * project's own; the update tests above check the same derivations against
 * OpenSSL's plain HKDF.  Start: the RFC 8448 / xargs client application
 * traffic secrets; K_qkd = 00 01 02 .. 1f.
 */
#define UPD_SHA256_1	QKTLS_V_UPD_SHA256_1
#define UPD_SHA256_2	QKTLS_V_UPD_SHA256_2
#define QKD_SHA256	QKTLS_V_QKD_SHA256
#define UPD_SHA384_1	QKTLS_V_UPD_SHA384_1
#define UPD_SHA384_2	QKTLS_V_UPD_SHA384_2
#define QKD_SHA384	QKTLS_V_QKD_SHA384

TEST(pinned_update_vectors)
{
	static const struct {
		uint16_t suite;
		const char *start, *upd1, *upd2, *qkd;
	} v[] = {
		{ QKTLS_TLS_AES_128_GCM_SHA256, RFC8448_C_AP,
		  UPD_SHA256_1, UPD_SHA256_2, QKD_SHA256 },
		{ QKTLS_TLS_CHACHA20_POLY1305_SHA256, RFC8448_C_AP,
		  UPD_SHA256_1, UPD_SHA256_2, QKD_SHA256 },
		{ QKTLS_TLS_AES_256_GCM_SHA384, XARGS_C_AP,
		  UPD_SHA384_1, UPD_SHA384_2, QKD_SHA384 },
	};
	uint8_t s[48], out[48], kq[32];

	ASSERT_EQ(sizeof(kq), unhex(kq, sizeof(kq), QKTLS_V_K_QKD));
	for (size_t i = 0; i < sizeof(kq); i++)
		ASSERT_EQ(i, kq[i]);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = unhex(s, sizeof(s), v[i].start);

		ASSERT_EQ(0, qktls_next_secret_qkd(v[i].suite, s, len, kq,
						   sizeof(kq), out));
		EXPECT_HEX(out, len, v[i].qkd);
		ASSERT_EQ(0, qktls_next_secret(v[i].suite, s, len, s));
		EXPECT_HEX(s, len, v[i].upd1);
		ASSERT_EQ(0, qktls_next_secret(v[i].suite, s, len, s));
		EXPECT_HEX(s, len, v[i].upd2);
	}
}

/* ---- bad input -------------------------------------------------------------- */

TEST(unknown_suite)
{
	static const uint16_t bad[] = { 0, 0x1304 /* AES_128_CCM */,
					0x1305, 0xc02f /* TLS 1.2 */ };
	struct qktls_traffic_keys k;
	uint8_t s[48] = { 1 }, out[48], kq[32] = { 2 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(NULL, qktls_suite_info(bad[i]));
		memset(&k, 0x55, sizeof(k));
		EXPECT_EQ(-QKTLS_E_SUITE, qktls_traffic_keys(bad[i], s, 32, &k));
		EXPECT_EQ(0U, k.key_len);	/* zeroed, not left stale */
		EXPECT_EQ(0, k.key[0]);
		EXPECT_EQ(-QKTLS_E_SUITE, qktls_next_secret(bad[i], s, 32, out));
		EXPECT_EQ(-QKTLS_E_SUITE,
			  qktls_next_secret_qkd(bad[i], s, 32, kq, 32, out));
	}
	EXPECT_EQ(NULL, qktls_suite_by_name("TLS_AES_128_CCM_SHA256"));
	EXPECT_EQ(NULL, qktls_suite_by_name(NULL));
	EXPECT_NE(NULL, strstr(qktls_strerror(-QKTLS_E_SUITE), "cipher suite"));
}

TEST(wrong_secret_lengths)
{
	struct qktls_traffic_keys k;
	uint8_t s[49] = { 1 }, out[48], kq[32] = { 2 };

	/* SHA-256 suites want 32 bytes, the SHA-384 one 48. */
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_traffic_keys(QKTLS_TLS_AES_128_GCM_SHA256, s, 31, &k));
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_traffic_keys(QKTLS_TLS_AES_128_GCM_SHA256, s, 48, &k));
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_traffic_keys(QKTLS_TLS_AES_256_GCM_SHA384, s, 32, &k));
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_traffic_keys(QKTLS_TLS_AES_256_GCM_SHA384, s, 49, &k));
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_next_secret(QKTLS_TLS_CHACHA20_POLY1305_SHA256, s, 0, out));
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_next_secret_qkd(QKTLS_TLS_AES_256_GCM_SHA384, s, 32,
					kq, 32, out));
	EXPECT_NE(NULL, strstr(qktls_strerror(-QKTLS_E_LENGTH), "length"));
}

TEST(wrong_qkd_key_lengths)
{
	uint8_t s[32] = { 1 }, out[32], kq[QKTLS_QKD_KEY_MAX + 1] = { 2 };

	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_next_secret_qkd(QKTLS_TLS_AES_128_GCM_SHA256, s, 32,
					kq, 0, out));
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_next_secret_qkd(QKTLS_TLS_AES_128_GCM_SHA256, s, 32,
					kq, QKTLS_QKD_KEY_MIN - 1, out));
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_next_secret_qkd(QKTLS_TLS_AES_128_GCM_SHA256, s, 32,
					kq, QKTLS_QKD_KEY_MAX + 1, out));
	EXPECT_EQ(-QKTLS_E_ARG,
		  qktls_next_secret_qkd(QKTLS_TLS_AES_128_GCM_SHA256, s, 32,
					NULL, 32, out));
}

TEST(expand_label_limits)
{
	uint8_t s[32] = { 1 }, ctx[256] = { 0 }, out[255 * 32 + 1];
	char label[251];

	/* 249 bytes + "tls13 " = 255: the longest label HkdfLabel holds. */
	memset(label, 'a', sizeof(label));
	label[249] = '\0';
	EXPECT_EQ(0, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32, label,
					     NULL, 0, out, 32));
	label[249] = 'a';
	label[250] = '\0';
	EXPECT_EQ(-QKTLS_E_LABEL, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32,
							  label, NULL, 0,
							  out, 32));
	EXPECT_EQ(-QKTLS_E_LABEL, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32,
							  "", NULL, 0,
							  out, 32));
	EXPECT_NE(NULL, strstr(qktls_strerror(-QKTLS_E_LABEL), "label"));

	EXPECT_EQ(0, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32, "x", ctx,
					     255, out, 32));
	EXPECT_EQ(-QKTLS_E_LENGTH, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32,
							   "x", ctx, 256,
							   out, 32));
	EXPECT_EQ(-QKTLS_E_LENGTH, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32,
							   "x", NULL, 0,
							   out, 0));
	EXPECT_EQ(0, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32, "x", NULL, 0,
					     out, 255 * 32));
	EXPECT_EQ(-QKTLS_E_LENGTH, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32,
							   "x", NULL, 0, out,
							   255 * 32 + 1));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32,
							"x", NULL, 5, out, 32));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_hkdf_expand_label(QKTLS_SHA256, NULL, 32,
							"x", NULL, 0, out, 32));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_hkdf_expand_label(QKTLS_SHA256, s, 32,
							NULL, NULL, 0, out, 32));
	EXPECT_EQ(-QKTLS_E_HASH, qktls_hkdf_expand_label(0, s, 32, "x", NULL, 0,
							 out, 32));
	EXPECT_EQ(-QKTLS_E_HASH, qktls_hkdf_expand_label(7, s, 32, "x", NULL, 0,
							 out, 32));
	EXPECT_EQ(0U, qktls_hash_len(7));
	EXPECT_EQ(-QKTLS_E_LENGTH, qktls_derive_secret(QKTLS_SHA384, s, 32,
						       "derived", NULL, 0,
						       out, 48));
	EXPECT_EQ(-QKTLS_E_LENGTH, qktls_derive_secret(QKTLS_SHA256, s, 32,
						       "derived", NULL, 0,
						       out, 48));
}

/* kTLS calls check their arguments before touching the socket. */
TEST(ktls_argument_checks)
{
	uint8_t s[48] = { 1 };

	EXPECT_EQ(-QKTLS_E_ARG, qktls_ktls_install(-1, QKTLS_DIR_TX,
						   QKTLS_TLS_AES_128_GCM_SHA256,
						   s, 32, 0));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_ktls_install(0, 0,
						   QKTLS_TLS_AES_128_GCM_SHA256,
						   s, 32, 0));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_ktls_install(0, QKTLS_DIR_RX,
						   QKTLS_TLS_AES_128_GCM_SHA256,
						   NULL, 32, 0));
	EXPECT_EQ(-QKTLS_E_SUITE, qktls_ktls_install(0, QKTLS_DIR_RX, 0x1304,
						     s, 32, 0));
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_ktls_install(0, QKTLS_DIR_RX,
				     QKTLS_TLS_AES_256_GCM_SHA384, s, 32, 0));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_ktls_rekey(-1, QKTLS_DIR_TX,
						 QKTLS_TLS_AES_128_GCM_SHA256,
						 s, 32));
	EXPECT_EQ(-QKTLS_E_SUITE, qktls_ktls_rekey(0, QKTLS_DIR_TX, 0,
						   s, 32));
	EXPECT_EQ(-QKTLS_E_LENGTH,
		  qktls_ktls_rekey(0, QKTLS_DIR_TX,
				   QKTLS_TLS_CHACHA20_POLY1305_SHA256, s, 48));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_ktls_send_key_update(-1, false));
}

TEST(strerror_covers_everything)
{
	for (int e = QKTLS_E_BASE; e < QKTLS_E_MAX; e++) {
		const char *m = qktls_strerror(-e);

		ASSERT_NE(NULL, m);
		EXPECT_NE(NULL, m[0] ? m : NULL);
		EXPECT_EQ(NULL, strstr(m, "unknown libqktls error"));
	}
	EXPECT_STREQ(strerror(EBADMSG), qktls_strerror(-EBADMSG));
	EXPECT_STREQ("success", qktls_strerror(0));
	EXPECT_NE(NULL, strstr(qktls_strerror(-QKTLS_E_NOREKEY), "rekey"));
}

TEST_HARNESS_MAIN
