// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * TLS 1.3 key schedule for kTLS: HKDF-Expand-Label, Derive-Secret, traffic
 * keys, the RFC 8446 key update and the QKD key update.  OpenSSL's EVP_KDF
 * does the HKDF; this file only chooses parameters and checks lengths.
 */
#include <string.h>

#include <linux/tls.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <qktls/keysched.h>
#include <linux/qktls.h>

/* The QKD key limits of libqktls are the kernel pools' limits. */
_Static_assert(QKTLS_QKD_KEY_MIN == QKTLS_KEY_MIN_LEN, "QKD key minimum");
_Static_assert(QKTLS_QKD_KEY_MAX == QKTLS_KEY_MAX_LEN, "QKD key maximum");
_Static_assert(QKTLS_QKD_REF_LEN == QKTLS_KEY_ID_LEN, "QKD key ID length");

#define TLS13_LABEL_PREFIX	"tls13 "
#define TLS13_LABEL_MAX		255	/* opaque label<7..255> */
#define TLS13_CONTEXT_MAX	255	/* opaque context<0..255> */

static const struct qktls_suite_info suites[] = {
	{
		.suite = QKTLS_TLS_AES_128_GCM_SHA256,
		.name = "TLS_AES_128_GCM_SHA256",
		.hash = QKTLS_SHA256, .hash_len = 32,
		.key_len = 16, .iv_len = QKTLS_IV_LEN,
		.ktls_cipher = TLS_CIPHER_AES_GCM_128,
	},
	{
		.suite = QKTLS_TLS_AES_256_GCM_SHA384,
		.name = "TLS_AES_256_GCM_SHA384",
		.hash = QKTLS_SHA384, .hash_len = 48,
		.key_len = 32, .iv_len = QKTLS_IV_LEN,
		.ktls_cipher = TLS_CIPHER_AES_GCM_256,
	},
	{
		.suite = QKTLS_TLS_CHACHA20_POLY1305_SHA256,
		.name = "TLS_CHACHA20_POLY1305_SHA256",
		.hash = QKTLS_SHA256, .hash_len = 32,
		.key_len = 32, .iv_len = QKTLS_IV_LEN,
		.ktls_cipher = TLS_CIPHER_CHACHA20_POLY1305,
	},
};

const struct qktls_suite_info *qktls_suite_info(uint16_t suite)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].suite == suite)
			return &suites[i];
	return NULL;
}

const struct qktls_suite_info *qktls_suite_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (!strcmp(suites[i].name, name))
			return &suites[i];
	return NULL;
}

static const char *hash_name(enum qktls_hash hash)
{
	switch (hash) {
	case QKTLS_SHA256:
		return "SHA256";
	case QKTLS_SHA384:
		return "SHA384";
	}
	return NULL;
}

size_t qktls_hash_len(enum qktls_hash hash)
{
	switch (hash) {
	case QKTLS_SHA256:
		return 32;
	case QKTLS_SHA384:
		return 48;
	}
	return 0;
}

/*
 * OSSL_PARAM_get_octet_string() refuses a NULL buffer even with length 0,
 * so empty strings point here.
 */
static const uint8_t empty[1];

/* Run the KDF @name with @params into @out; 0 or -QKTLS_E_CRYPTO. */
static int kdf_derive(const char *name, const OSSL_PARAM params[],
		      uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int ret = -QKTLS_E_CRYPTO;

	if (kctx && EVP_KDF_derive(kctx, out, out_len, params) > 0)
		ret = 0;
	EVP_KDF_CTX_free(kctx);	/* clears the key it copied */
	EVP_KDF_free(kdf);
	return ret;
}

int qktls_hkdf_expand_label(enum qktls_hash hash,
			    const uint8_t *secret, size_t secret_len,
			    const char *label,
			    const uint8_t *context, size_t context_len,
			    uint8_t *out, size_t out_len)
{
	const char *md = hash_name(hash);
	size_t hlen = qktls_hash_len(hash);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[7];
	size_t label_len;
	int ret;

	if (!md)
		return -QKTLS_E_HASH;
	if (!secret || !label || !out || (context_len && !context))
		return -QKTLS_E_ARG;
	if (secret_len != hlen)
		return -QKTLS_E_LENGTH;
	label_len = strlen(label);
	if (!label_len ||
	    label_len > TLS13_LABEL_MAX - (sizeof(TLS13_LABEL_PREFIX) - 1))
		return -QKTLS_E_LABEL;
	if (context_len > TLS13_CONTEXT_MAX || !out_len ||
	    out_len > 255 * hlen || out_len > UINT16_MAX)
		return -QKTLS_E_LENGTH;

	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)md, 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)secret, secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX,
			(void *)TLS13_LABEL_PREFIX, sizeof(TLS13_LABEL_PREFIX) - 1);
	params[4] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL,
						      (void *)label, label_len);
	params[5] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA,
			context_len ? (void *)context : (void *)empty,
			context_len);
	params[6] = OSSL_PARAM_construct_end();

	ret = kdf_derive(OSSL_KDF_NAME_TLS1_3_KDF, params, out, out_len);
	if (ret)
		OPENSSL_cleanse(out, out_len);
	return ret;
}

int qktls_derive_secret(enum qktls_hash hash,
			const uint8_t *secret, size_t secret_len,
			const char *label,
			const uint8_t *messages, size_t messages_len,
			uint8_t *out, size_t out_len)
{
	const char *name = hash_name(hash);
	uint8_t th[EVP_MAX_MD_SIZE];
	unsigned int th_len = 0;
	EVP_MD *md;
	int ok;

	if (!name)
		return -QKTLS_E_HASH;
	if (messages_len && !messages)
		return -QKTLS_E_ARG;
	if (out_len != qktls_hash_len(hash))
		return -QKTLS_E_LENGTH;
	md = EVP_MD_fetch(NULL, name, NULL);
	ok = md && EVP_Digest(messages_len ? messages : empty, messages_len,
			      th, &th_len, md, NULL);
	EVP_MD_free(md);
	if (!ok)
		return -QKTLS_E_CRYPTO;
	/* The transcript hash is public; nothing to wipe. */
	return qktls_hkdf_expand_label(hash, secret, secret_len, label,
				       th, th_len, out, out_len);
}

int qktls_traffic_keys(uint16_t suite, const uint8_t *secret, size_t secret_len,
		       struct qktls_traffic_keys *keys)
{
	const struct qktls_suite_info *si = qktls_suite_info(suite);
	int ret;

	if (!keys)
		return -QKTLS_E_ARG;
	memset(keys, 0, sizeof(*keys));
	if (!si)
		return -QKTLS_E_SUITE;
	ret = qktls_hkdf_expand_label(si->hash, secret, secret_len, "key",
				      NULL, 0, keys->key, si->key_len);
	if (!ret)
		ret = qktls_hkdf_expand_label(si->hash, secret, secret_len,
					      "iv", NULL, 0, keys->iv,
					      si->iv_len);
	if (ret) {
		OPENSSL_cleanse(keys, sizeof(*keys));
		return ret;
	}
	keys->key_len = si->key_len;
	return 0;
}

int qktls_next_secret(uint16_t suite, const uint8_t *secret, size_t len,
		      uint8_t *next)
{
	const struct qktls_suite_info *si = qktls_suite_info(suite);
	uint8_t tmp[QKTLS_MAX_HASH_LEN];
	int ret;

	if (!si)
		return -QKTLS_E_SUITE;
	if (!next)
		return -QKTLS_E_ARG;
	ret = qktls_hkdf_expand_label(si->hash, secret, len, "traffic upd",
				      NULL, 0, tmp, si->hash_len);
	if (!ret)
		memcpy(next, tmp, si->hash_len);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return ret;
}

int qktls_next_secret_qkd(uint16_t suite, const uint8_t *secret, size_t len,
			  const uint8_t *k_qkd, size_t k_qkd_len,
			  uint8_t *next)
{
	const struct qktls_suite_info *si = qktls_suite_info(suite);
	uint8_t salt[QKTLS_MAX_HASH_LEN], tmp[QKTLS_MAX_HASH_LEN];
	int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
	OSSL_PARAM params[5];
	int ret;

	if (!si)
		return -QKTLS_E_SUITE;
	if (!next || !k_qkd)
		return -QKTLS_E_ARG;
	if (k_qkd_len < QKTLS_QKD_KEY_MIN || k_qkd_len > QKTLS_QKD_KEY_MAX)
		return -QKTLS_E_LENGTH;
	ret = qktls_hkdf_expand_label(si->hash, secret, len,
				      QKTLS_QKD_UPDATE_LABEL, NULL, 0,
				      salt, si->hash_len);
	if (ret)
		goto out;

	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
			(char *)hash_name(si->hash), 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						      salt, si->hash_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)k_qkd, k_qkd_len);
	params[4] = OSSL_PARAM_construct_end();
	ret = kdf_derive(OSSL_KDF_NAME_HKDF, params, tmp, si->hash_len);
	if (!ret)
		memcpy(next, tmp, si->hash_len);
out:
	OPENSSL_cleanse(salt, sizeof(salt));
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return ret;
}
