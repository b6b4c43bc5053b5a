/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls: the TLS 1.3 key schedule of a key update (RFC 8446 7.1-7.3 and the
 * QKD key update of Documentation/qktls/key-schedule.rst), over the kernel
 * crypto API's hmac(sha256) and hmac(sha384).
 */
#ifndef _QKTLS_KDF_H
#define _QKTLS_KDF_H

#include <linux/types.h>
#include <linux/tls.h>
#include <linux/qktls.h>

struct crypto_shash;

#define QKTLS_IV_LEN		12
#define QKTLS_TRAFFIC_KEY_MAX	32

/**
 * struct qktls_suite - a TLS 1.3 cipher suite kTLS has
 * @iana: IANA value (0x1301, 0x1302, 0x1303)
 * @ktls_cipher: TLS_CIPHER_* of the kTLS crypto_info
 * @hmac: the kernel crypto API name of its HMAC
 * @name: the suite's name
 * @hash_len: Hash.length, the length of every traffic secret
 * @key_len: write key length
 * @info_len: size of the kTLS crypto_info
 */
struct qktls_suite {
	u16 iana;
	u16 ktls_cipher;
	const char *hmac;
	const char *name;
	u8 hash_len;
	u8 key_len;
	u16 info_len;
};

/**
 * union qktls_crypto_info - a kTLS crypto_info of any TLS 1.3 suite
 * @info: version and cipher
 * @aes128: TLS_AES_128_GCM_SHA256
 * @aes256: TLS_AES_256_GCM_SHA384
 * @chacha: TLS_CHACHA20_POLY1305_SHA256
 */
union qktls_crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 aes128;
	struct tls12_crypto_info_aes_gcm_256 aes256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

const struct qktls_suite *qktls_suite_find(u16 iana);
struct crypto_shash *qktls_kdf_alloc(const struct qktls_suite *suite);
void qktls_kdf_free(struct crypto_shash *tfm);
int qktls_hkdf_expand_label(struct crypto_shash *tfm, const u8 *secret,
			    unsigned int secret_len, const char *label,
			    const u8 *context, unsigned int context_len,
			    u8 *out, unsigned int out_len);
int qktls_hkdf_extract(struct crypto_shash *tfm, const u8 *salt,
		       unsigned int salt_len, const u8 *ikm,
		       unsigned int ikm_len, u8 *out);
int qktls_next_secret(struct crypto_shash *tfm,
		      const struct qktls_suite *suite, const u8 *secret,
		      u8 *next);
int qktls_next_secret_qkd(struct crypto_shash *tfm,
			  const struct qktls_suite *suite, const u8 *secret,
			  const u8 *k_qkd, unsigned int k_qkd_len, u8 *next);
int qktls_crypto_info(struct crypto_shash *tfm,
		      const struct qktls_suite *suite, const u8 *secret,
		      union qktls_crypto_info *ci);
int qktls_kdf_selftest(void);

#endif /* _QKTLS_KDF_H */
