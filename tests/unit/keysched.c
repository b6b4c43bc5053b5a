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

/* ---- RFC 8448 section 3, typed in from the RFC ---------------------------- */
#define RFC8448_EARLY	"33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"
#define RFC8448_EARLY_DERIVED \
			"6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"
#define RFC8448_HS	"1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac"
#define RFC8448_HS_DERIVED \
			"43de77e0c77713859a944db9db2590b53190a65b3ee2e4f12dd7a0bb7ce254b4"
#define RFC8448_S_HS	"b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
#define RFC8448_S_HS_KEY "3fce516009c21727d0f2e4e86ee403bc"
#define RFC8448_S_HS_IV	"5d313eb2671276ee13000b30"
#define RFC8448_S_FINISHED \
			"008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8"
#define RFC8448_MASTER	"18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919"
/* Transcript-Hash(ClientHello .. server Finished) */
#define RFC8448_TH_SF	"9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13"
#define RFC8448_C_AP	"9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"
#define RFC8448_S_AP	"a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"
#define RFC8448_C_AP_KEY "17422dda596ed5d9acd890e3c63f5051"
#define RFC8448_C_AP_IV	"5b78923dee08579033e523d9"
#define RFC8448_S_AP_KEY "9f02283b6c9c07efc26bb9f2ac92e356"
#define RFC8448_S_AP_IV	"cf782b88dd83549aadf1e984"

/* ---- tls13.xargs.org, TLS_AES_256_GCM_SHA384 -------------------------------- */
#define XARGS_EARLY	"7ee8206f5570023e6dc7519eb1073bc4e791ad37b5c382aa10ba18e2357e716971f9362f2c2fe2a76bfd78dfec4ea9b5"
#define XARGS_EARLY_DERIVED \
			"1591dac5cbbf0330a4a84de9c753330e92d01f0a88214b4464972fd668049e93e52f2b16fad922fdc0584478428f282b"
#define XARGS_HS	"bdbbe8757494bef20de932598294ea65b5e6bf6dc5c02a960a2de2eaa9b07c929078d2caa0936231c38d1725f179d299"
#define XARGS_HS_DERIVED \
			"be3a8cdfcd10e46d3fe5d2902568518993ae43f2fb7c5438cde4776d1bc220242041a83f388266fd07b0177bf29e9486"
#define XARGS_C_HS	"db89d2d6df0e84fed74a2288f8fd4d0959f790ff23946cdf4c26d85e51bebd42ae184501972f8d30c4a3e4a3693d0ef0"
#define XARGS_C_HS_KEY	"1135b4826a9a70257e5a391ad93093dfd7c4214812f493b3e3daae1eb2b1ac69"
#define XARGS_C_HS_IV	"4256d2e0e88babdd05eb2f27"
#define XARGS_S_HS	"23323da031634b241dd37d61032b62a4f450584d1f7f47983ba2f7cc0cdcc39a68f481f2b019f9403a3051908a5d1622"
#define XARGS_S_HS_KEY	"9f13575ce3f8cfc1df64a77ceaffe89700b492ad31b4fab01c4792be1b266b7f"
#define XARGS_S_HS_IV	"9563bc8b590f671f488d2da3"
#define XARGS_C_AP	"9e47af27cb60d818a9ea7d233cb5ed4cc525fcd74614fb24b0ee59acb8e5aa7ff8d88b89792114208fec291a6fa96bad"
#define XARGS_C_AP_KEY	"de2f4c7672723a692319873e5c227606691a32d1c59d8b9f51dbb9352e9ca9cc"
#define XARGS_C_AP_IV	"bb007956f474b25de902432f"
#define XARGS_S_AP	"86c967fd7747a36a0685b4ed8d0e6b4c02b4ddaf3cd294aa44e9f6b0183bf911e89a189ba5dfd71fccffb5cc164901f8"
#define XARGS_S_AP_KEY	"01f78623f17e3edcc09e944027ba3218d57c8e0db93cd3ac419309274700ac27"
#define XARGS_S_AP_IV	"196a750b0c5049c0cc51a541"

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
 * Pinned vectors for the two updates, shared with the kernel's tests and
 * Documentation/qktls/key-schedule.rst.  There is no published trace of a
 * TLS 1.3 key update, and the QKD update is the project's own; these were
 * computed by a third implementation (HKDF written over Python's hmac
 * module), and the update tests above check the same derivations against
 * OpenSSL's plain HKDF.  Start: the RFC 8448 / xargs client application
 * traffic secrets; K_qkd = 00 01 02 .. 1f.
 */
#define UPD_SHA256_1	"fcdfcc72725aaee48bf64e4fd8b749cdbdbab39d90da0b26e2245ca6ea167207"
#define UPD_SHA256_2	"68474fe58c172143d0a009a76edd231b0d934f3058588ea0852662279e54a573"
#define QKD_SHA256	"47fc910aea148422731ff3d251bfe2ea1423e06215114d093c2ffcf1fa34a4c0"
#define UPD_SHA384_1	"1606d26db23e1df02b54b3b8161990e992036aafaeb92f2af8ba8a22aea2b5ba81c462f4a2600ff281e6eed808b90b58"
#define UPD_SHA384_2	"78a9d11501f149e853064e71818cce9374a72edefe314c3f1c1a4234ef84d943f6ed5a7b74fedd1b68328e0ee96dab7d"
#define QKD_SHA384	"5470caceac18451830eaadb5a70444c4ecc5d53f46a9b6b571736fc86df44568b0952ceee3525397ca034ec3d9e253bb"

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

	for (size_t i = 0; i < sizeof(kq); i++)
		kq[i] = i;
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
