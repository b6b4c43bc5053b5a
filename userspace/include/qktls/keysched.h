/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TLS 1.3 key schedule pieces libqktls needs after a handshake: traffic
 * key and IV derivation (RFC 8446 section 7.3), the standard key update
 * (section 7.2) and the project's QKD key update, which mixes a QKD key into
 * the next traffic secret:
 *
 *   S' = HKDF-Extract(salt = HKDF-Expand-Label(S, "qktls qkd upd", "",
 *                                              Hash.length),
 *                     IKM  = K_qkd)
 *
 * so the HkdfLabel carries "tls13 qktls qkd upd" (the RFC's "tls13 " prefix
 * followed by QKTLS_QKD_UPDATE_LABEL).  See
 * Documentation/qktls/key-schedule.rst.
 *
 * All HKDF work is done by OpenSSL's EVP_KDF ("TLS13-KDF" and "HKDF"); the
 * functions work from raw secrets and need no SSL object.  Outputs are only
 * written on success; callers own the buffers and must wipe them
 * (OPENSSL_cleanse) when done.  Every function returns 0 or a negative
 * error (see qktls/error.h).
 */
#ifndef QKTLS_KEYSCHED_H
#define QKTLS_KEYSCHED_H

#include <stddef.h>
#include <stdint.h>

#include <qktls/error.h>
#include <qktls/qkd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* IANA cipher suite values (RFC 8446 appendix B.4). */
#define QKTLS_TLS_AES_128_GCM_SHA256		0x1301
#define QKTLS_TLS_AES_256_GCM_SHA384		0x1302
#define QKTLS_TLS_CHACHA20_POLY1305_SHA256	0x1303

#define QKTLS_MAX_HASH_LEN	48	/* SHA-384 */
#define QKTLS_MAX_KEY_LEN	32
#define QKTLS_IV_LEN		12	/* all three suites */


/*
 * The QKD update label, without the "tls13 " prefix HKDF-Expand-Label adds.
 * It names the project, so it can never equal a label of TLS 1.3 or of a
 * future IETF extension, and ends like RFC 8446's "traffic upd".
 */
#define QKTLS_QKD_UPDATE_LABEL	"qktls qkd upd"

enum qktls_hash {
	QKTLS_SHA256 = 1,
	QKTLS_SHA384 = 2,
};

/* What a cipher suite means for the key schedule and for kTLS. */
struct qktls_suite_info {
	uint16_t suite;		/* IANA value, e.g. 0x1302 */
	const char *name;	/* IANA/OpenSSL name, e.g. "TLS_AES_256_GCM_SHA384" */
	enum qktls_hash hash;
	size_t hash_len;	/* Hash.length: length of every traffic secret */
	size_t key_len;		/* AEAD key length */
	size_t iv_len;		/* always QKTLS_IV_LEN */
	uint16_t ktls_cipher;	/* TLS_CIPHER_* of <linux/tls.h> */
};

/* The write key and IV of one direction. */
struct qktls_traffic_keys {
	uint8_t key[QKTLS_MAX_KEY_LEN];
	size_t key_len;
	uint8_t iv[QKTLS_IV_LEN];
};

/**
 * qktls_suite_info() - look a cipher suite up by its IANA value
 * @suite: e.g. QKTLS_TLS_AES_256_GCM_SHA384
 *
 * Return: the suite's description, or NULL if libqktls does not support it.
 */
const struct qktls_suite_info *qktls_suite_info(uint16_t suite);

/**
 * qktls_suite_by_name() - look a cipher suite up by its IANA/OpenSSL name
 * @name: e.g. "TLS_AES_256_GCM_SHA384" (what SSL_CIPHER_get_name() returns)
 *
 * Return: the suite's description, or NULL if unknown or unsupported.
 */
const struct qktls_suite_info *qktls_suite_by_name(const char *name);

/**
 * qktls_hash_len() - output length of a hash
 * @hash: QKTLS_SHA256 or QKTLS_SHA384
 *
 * Return: 32 or 48, or 0 for an unknown hash.
 */
size_t qktls_hash_len(enum qktls_hash hash);

/**
 * qktls_hkdf_expand_label() - HKDF-Expand-Label of RFC 8446 section 7.1
 * @hash:       QKTLS_SHA256 or QKTLS_SHA384
 * @secret:     the PRK; must be exactly Hash.length bytes
 * @secret_len: its length
 * @label:      label without the "tls13 " prefix, NUL-terminated, 1 to 249
 *              bytes (the HkdfLabel label field holds at most 255)
 * @context:    context bytes (may be NULL when @context_len is 0)
 * @context_len: at most 255
 * @out:        output buffer
 * @out_len:    bytes wanted, 1 to min(255 * Hash.length, 65535)
 *
 * Return: 0 or a negative error.
 */
int qktls_hkdf_expand_label(enum qktls_hash hash,
			    const uint8_t *secret, size_t secret_len,
			    const char *label,
			    const uint8_t *context, size_t context_len,
			    uint8_t *out, size_t out_len);

/**
 * qktls_derive_secret() - Derive-Secret of RFC 8446 section 7.1
 * @hash:       QKTLS_SHA256 or QKTLS_SHA384
 * @secret:     Hash.length bytes
 * @secret_len: its length
 * @label:      as for qktls_hkdf_expand_label()
 * @messages:   the handshake messages whose Transcript-Hash is the context
 *              (may be NULL when @messages_len is 0)
 * @messages_len: their length
 * @out:        receives Hash.length bytes
 * @out_len:    must be Hash.length
 *
 * Return: 0 or a negative error.
 */
int qktls_derive_secret(enum qktls_hash hash,
			const uint8_t *secret, size_t secret_len,
			const char *label,
			const uint8_t *messages, size_t messages_len,
			uint8_t *out, size_t out_len);

/**
 * qktls_traffic_keys() - write key and IV from a traffic secret (RFC 8446 7.3)
 * @suite:      IANA cipher suite value
 * @secret:     the traffic secret, Hash.length of @suite
 * @secret_len: its length
 * @keys:       receives key (key_len bytes) and 12-byte IV
 *
 * Return: 0 or a negative error; on error @keys is zeroed.
 */
int qktls_traffic_keys(uint16_t suite, const uint8_t *secret, size_t secret_len,
		       struct qktls_traffic_keys *keys);

/**
 * qktls_next_secret() - the RFC 8446 7.2 key update
 * @suite:   IANA cipher suite value
 * @secret:  application_traffic_secret_N, Hash.length bytes
 * @len:     Hash.length of @suite (for @secret and @next)
 * @next:    receives application_traffic_secret_N+1 =
 *           HKDF-Expand-Label(secret, "traffic upd", "", Hash.length);
 *           may be the same buffer as @secret
 *
 * Return: 0 or a negative error.
 */
int qktls_next_secret(uint16_t suite, const uint8_t *secret, size_t len,
		      uint8_t *next);

/**
 * qktls_next_secret_qkd() - the project's QKD key update
 * @suite:     IANA cipher suite value
 * @secret:    the current traffic secret S, Hash.length bytes
 * @len:       Hash.length of @suite (for @secret and @next)
 * @k_qkd:     the QKD key
 * @k_qkd_len: QKTLS_QKD_KEY_MIN to QKTLS_QKD_KEY_MAX bytes
 * @next:      receives S' = HKDF-Extract(salt = HKDF-Expand-Label(S,
 *             QKTLS_QKD_UPDATE_LABEL, "", Hash.length), IKM = K_qkd);
 *             may be the same buffer as @secret
 *
 * Return: 0 or a negative error.
 */
int qktls_next_secret_qkd(uint16_t suite, const uint8_t *secret, size_t len,
			  const uint8_t *k_qkd, size_t k_qkd_len,
			  uint8_t *next);

#ifdef __cplusplus
}
#endif
#endif /* QKTLS_KEYSCHED_H */
