// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: the TLS 1.3 key schedule of a key update.
 *
 * HKDF (RFC 5869) over the kernel crypto API's HMAC: Extract is one HMAC
 * keyed with the salt, Expand the RFC 5869 chain of HMACs keyed with the
 * PRK.  HKDF-Expand-Label and the traffic keys follow RFC 8446 7.1 and
 * 7.3, the QKD update Documentation/qktls/key-schedule.rst.  The module
 * checks all of it at load time against the vectors the userspace unit
 * test checks libqktls against (tests/vectors/keysched.h), so that the
 * kernel and libqktls derive the same secrets bit for bit.
 */

#include <crypto/hash.h>
#include <linux/errno.h>
#include <linux/hex.h>
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/string.h>

#include "kdf.h"
#include "../tests/vectors/keysched.h"

#define TLS13_LABEL_PREFIX	"tls13 "
#define QKTLS_QKD_UPDATE_LABEL	"qktls qkd upd"
#define QKTLS_HASH_MAX		48

static const struct qktls_suite qktls_suites[] = {
	{
		.iana = 0x1301, .ktls_cipher = TLS_CIPHER_AES_GCM_128,
		.hmac = "hmac(sha256)", .name = "TLS_AES_128_GCM_SHA256",
		.hash_len = 32, .key_len = TLS_CIPHER_AES_GCM_128_KEY_SIZE,
		.info_len = sizeof(struct tls12_crypto_info_aes_gcm_128),
	},
	{
		.iana = 0x1302, .ktls_cipher = TLS_CIPHER_AES_GCM_256,
		.hmac = "hmac(sha384)", .name = "TLS_AES_256_GCM_SHA384",
		.hash_len = 48, .key_len = TLS_CIPHER_AES_GCM_256_KEY_SIZE,
		.info_len = sizeof(struct tls12_crypto_info_aes_gcm_256),
	},
	{
		.iana = 0x1303, .ktls_cipher = TLS_CIPHER_CHACHA20_POLY1305,
		.hmac = "hmac(sha256)", .name = "TLS_CHACHA20_POLY1305_SHA256",
		.hash_len = 32, .key_len = TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE,
		.info_len = sizeof(struct tls12_crypto_info_chacha20_poly1305),
	},
};

/**
 * qktls_suite_find() - a TLS 1.3 cipher suite by its IANA value
 * @iana: 0x1301, 0x1302 or 0x1303
 *
 * Return: the suite, or NULL if kTLS has no such TLS 1.3 suite.
 */
const struct qktls_suite *qktls_suite_find(u16 iana)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(qktls_suites); i++)
		if (qktls_suites[i].iana == iana)
			return &qktls_suites[i];
	return NULL;
}

/**
 * qktls_kdf_alloc() - an HMAC transform for the hash of a suite
 * @suite: the suite
 *
 * One transform per caller: its key changes with every step.
 *
 * Return: the transform (free it with qktls_kdf_free()) or an ERR_PTR.
 */
struct crypto_shash *qktls_kdf_alloc(const struct qktls_suite *suite)
{
	return crypto_alloc_shash(suite->hmac, 0, 0);
}

/**
 * qktls_kdf_free() - free a transform of qktls_kdf_alloc()
 * @tfm: the transform, or an ERR_PTR or NULL
 *
 * The crypto API wipes the key it holds.
 */
void qktls_kdf_free(struct crypto_shash *tfm)
{
	if (!IS_ERR_OR_NULL(tfm))
		crypto_free_shash(tfm);
}

/**
 * qktls_hkdf_extract() - HKDF-Extract(salt, IKM) of RFC 5869
 * @tfm: HMAC transform of the suite's hash
 * @salt: the salt
 * @salt_len: its length
 * @ikm: the input keying material
 * @ikm_len: its length
 * @out: the PRK, the hash's length
 *
 * Return: 0 or a negative errno.
 */
int qktls_hkdf_extract(struct crypto_shash *tfm, const u8 *salt,
		       unsigned int salt_len, const u8 *ikm,
		       unsigned int ikm_len, u8 *out)
{
	int err = crypto_shash_setkey(tfm, salt, salt_len);

	if (!err)
		err = crypto_shash_tfm_digest(tfm, ikm, ikm_len, out);
	return err;
}

/* HKDF-Expand(PRK = @secret, info = @info, L = @out_len) of RFC 5869. */
static int qktls_hkdf_expand(struct crypto_shash *tfm, const u8 *secret,
			     unsigned int secret_len, const u8 *info,
			     unsigned int info_len, u8 *out,
			     unsigned int out_len)
{
	unsigned int hlen = crypto_shash_digestsize(tfm), done = 0, n;
	u8 t[QKTLS_HASH_MAX];
	u8 counter = 1;
	int err;

	if (hlen > sizeof(t) || out_len > 255 * hlen)
		return -EINVAL;
	err = crypto_shash_setkey(tfm, secret, secret_len);
	if (err)
		return err;
	while (done < out_len) {
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		err = crypto_shash_init(desc);
		if (!err && done)
			err = crypto_shash_update(desc, t, hlen);
		if (!err)
			err = crypto_shash_update(desc, info, info_len);
		if (!err)
			err = crypto_shash_finup(desc, &counter, 1, t);
		shash_desc_zero(desc);
		if (err)
			break;
		n = min(hlen, out_len - done);
		memcpy(out + done, t, n);
		done += n;
		counter++;
	}
	memzero_explicit(t, sizeof(t));
	if (err)
		memzero_explicit(out, out_len);
	return err;
}

/**
 * qktls_hkdf_expand_label() - HKDF-Expand-Label of RFC 8446 7.1
 * @tfm: HMAC transform of the suite's hash
 * @secret: the secret
 * @secret_len: its length, Hash.length
 * @label: the label, without "tls13 "
 * @context: the context, or NULL
 * @context_len: its length
 * @out: the output
 * @out_len: its length
 *
 * Return: 0 or a negative errno.
 */
int qktls_hkdf_expand_label(struct crypto_shash *tfm, const u8 *secret,
			    unsigned int secret_len, const char *label,
			    const u8 *context, unsigned int context_len,
			    u8 *out, unsigned int out_len)
{
	size_t plen = strlen(TLS13_LABEL_PREFIX), llen = strlen(label);
	u8 info[2 + 1 + 255 + 1 + 255];
	unsigned int n = 0;

	if (!llen || plen + llen > 255 || context_len > 255 ||
	    out_len > U16_MAX)
		return -EINVAL;
	info[n++] = out_len >> 8;
	info[n++] = out_len & 0xff;
	info[n++] = plen + llen;
	memcpy(info + n, TLS13_LABEL_PREFIX, plen);
	n += plen;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = context_len;
	if (context_len)
		memcpy(info + n, context, context_len);
	n += context_len;
	return qktls_hkdf_expand(tfm, secret, secret_len, info, n, out,
				 out_len);
}

/**
 * qktls_next_secret() - the RFC 8446 7.2 key update
 * @tfm: HMAC transform of the suite's hash
 * @suite: the suite
 * @secret: application_traffic_secret_N, Hash.length bytes
 * @next: application_traffic_secret_N+1, Hash.length bytes; may be @secret
 *
 * Return: 0 or a negative errno.
 */
int qktls_next_secret(struct crypto_shash *tfm,
		      const struct qktls_suite *suite, const u8 *secret,
		      u8 *next)
{
	u8 tmp[QKTLS_HASH_MAX];
	int err;

	err = qktls_hkdf_expand_label(tfm, secret, suite->hash_len,
				      "traffic upd", NULL, 0, tmp,
				      suite->hash_len);
	if (!err)
		memcpy(next, tmp, suite->hash_len);
	memzero_explicit(tmp, sizeof(tmp));
	return err;
}

/**
 * qktls_next_secret_qkd() - the QKD key update
 * @tfm: HMAC transform of the suite's hash
 * @suite: the suite
 * @secret: the current traffic secret S, Hash.length bytes
 * @k_qkd: the QKD key
 * @k_qkd_len: its length, QKTLS_KEY_MIN_LEN to QKTLS_KEY_MAX_LEN
 * @next: S' = HKDF-Extract(HKDF-Expand-Label(S, "qktls qkd upd", "",
 *	Hash.length), K_qkd); may be @secret
 *
 * Return: 0 or a negative errno.
 */
int qktls_next_secret_qkd(struct crypto_shash *tfm,
			  const struct qktls_suite *suite, const u8 *secret,
			  const u8 *k_qkd, unsigned int k_qkd_len, u8 *next)
{
	u8 salt[QKTLS_HASH_MAX], tmp[QKTLS_HASH_MAX];
	int err;

	if (k_qkd_len < QKTLS_KEY_MIN_LEN || k_qkd_len > QKTLS_KEY_MAX_LEN)
		return -EINVAL;
	err = qktls_hkdf_expand_label(tfm, secret, suite->hash_len,
				      QKTLS_QKD_UPDATE_LABEL, NULL, 0, salt,
				      suite->hash_len);
	if (!err)
		err = qktls_hkdf_extract(tfm, salt, suite->hash_len, k_qkd,
					 k_qkd_len, tmp);
	if (!err)
		memcpy(next, tmp, suite->hash_len);
	memzero_explicit(salt, sizeof(salt));
	memzero_explicit(tmp, sizeof(tmp));
	return err;
}

/**
 * qktls_crypto_info() - the kTLS crypto_info of a traffic secret
 * @tfm: HMAC transform of the suite's hash
 * @suite: the suite
 * @secret: the traffic secret, Hash.length bytes
 * @ci: TLS 1.3, the suite's cipher, write key and IV (RFC 8446 7.3; for
 *	AES-GCM the first 4 IV bytes are the salt), record sequence 0.  The
 *	caller wipes it.
 *
 * Return: 0 or a negative errno (@ci is wiped then).
 */
int qktls_crypto_info(struct crypto_shash *tfm,
		      const struct qktls_suite *suite, const u8 *secret,
		      union qktls_crypto_info *ci)
{
	u8 key[QKTLS_TRAFFIC_KEY_MAX], iv[QKTLS_IV_LEN];
	int err;

	memset(ci, 0, sizeof(*ci));
	err = qktls_hkdf_expand_label(tfm, secret, suite->hash_len, "key",
				      NULL, 0, key, suite->key_len);
	if (!err)
		err = qktls_hkdf_expand_label(tfm, secret, suite->hash_len,
					      "iv", NULL, 0, iv, sizeof(iv));
	if (err)
		goto out;
	ci->info.version = TLS_1_3_VERSION;
	ci->info.cipher_type = suite->ktls_cipher;
	switch (suite->ktls_cipher) {
	case TLS_CIPHER_AES_GCM_128:
		memcpy(ci->aes128.key, key, sizeof(ci->aes128.key));
		memcpy(ci->aes128.salt, iv, sizeof(ci->aes128.salt));
		memcpy(ci->aes128.iv, iv + 4, sizeof(ci->aes128.iv));
		break;
	case TLS_CIPHER_AES_GCM_256:
		memcpy(ci->aes256.key, key, sizeof(ci->aes256.key));
		memcpy(ci->aes256.salt, iv, sizeof(ci->aes256.salt));
		memcpy(ci->aes256.iv, iv + 4, sizeof(ci->aes256.iv));
		break;
	default:
		memcpy(ci->chacha.key, key, sizeof(ci->chacha.key));
		memcpy(ci->chacha.iv, iv, sizeof(ci->chacha.iv));
		break;
	}
out:
	memzero_explicit(key, sizeof(key));
	memzero_explicit(iv, sizeof(iv));
	if (err)
		memzero_explicit(ci, sizeof(*ci));
	return err;
}

/* --- self-test -------------------------------------------------------------- */

/**
 * struct qktls_kat - one known answer of the self-test
 * @suite: IANA value of the suite
 * @what: what is derived: "label" (HKDF-Expand-Label of @label over
 *	@context, Hash.length bytes), "keys" (key and IV), "update" (two
 *	standard updates), "qkd" (the QKD update with QKTLS_V_K_QKD)
 * @secret: the input secret, hex
 * @label: the label, for "label"
 * @context: the context, hex, for "label"
 * @want: the answer, hex (the key for "keys", the first update)
 * @want2: the IV for "keys", the second update for "update"
 */
struct qktls_kat {
	u16 suite;
	const char *what, *secret, *label, *context, *want, *want2;
};

static const struct qktls_kat qktls_kats[] = {
	{ 0x1301, "label", QKTLS_V_RFC8448_MASTER, "c ap traffic",
	  QKTLS_V_RFC8448_TH_SF, QKTLS_V_RFC8448_C_AP },
	{ 0x1301, "label", QKTLS_V_RFC8448_MASTER, "s ap traffic",
	  QKTLS_V_RFC8448_TH_SF, QKTLS_V_RFC8448_S_AP },
	{ 0x1301, "label", QKTLS_V_RFC8448_S_HS, "finished", "",
	  QKTLS_V_RFC8448_S_FINISHED },
	{ 0x1301, "keys", QKTLS_V_RFC8448_C_AP, NULL, NULL,
	  QKTLS_V_RFC8448_C_AP_KEY, QKTLS_V_RFC8448_C_AP_IV },
	{ 0x1301, "keys", QKTLS_V_RFC8448_S_AP, NULL, NULL,
	  QKTLS_V_RFC8448_S_AP_KEY, QKTLS_V_RFC8448_S_AP_IV },
	{ 0x1301, "keys", QKTLS_V_RFC8448_S_HS, NULL, NULL,
	  QKTLS_V_RFC8448_S_HS_KEY, QKTLS_V_RFC8448_S_HS_IV },
	{ 0x1302, "keys", QKTLS_V_XARGS_C_HS, NULL, NULL,
	  QKTLS_V_XARGS_C_HS_KEY, QKTLS_V_XARGS_C_HS_IV },
	{ 0x1302, "keys", QKTLS_V_XARGS_C_AP, NULL, NULL,
	  QKTLS_V_XARGS_C_AP_KEY, QKTLS_V_XARGS_C_AP_IV },
	{ 0x1302, "keys", QKTLS_V_XARGS_S_AP, NULL, NULL,
	  QKTLS_V_XARGS_S_AP_KEY, QKTLS_V_XARGS_S_AP_IV },
	{ 0x1301, "update", QKTLS_V_RFC8448_C_AP, NULL, NULL,
	  QKTLS_V_UPD_SHA256_1, QKTLS_V_UPD_SHA256_2 },
	{ 0x1303, "update", QKTLS_V_RFC8448_C_AP, NULL, NULL,
	  QKTLS_V_UPD_SHA256_1, QKTLS_V_UPD_SHA256_2 },
	{ 0x1302, "update", QKTLS_V_XARGS_C_AP, NULL, NULL,
	  QKTLS_V_UPD_SHA384_1, QKTLS_V_UPD_SHA384_2 },
	{ 0x1301, "qkd", QKTLS_V_RFC8448_C_AP, NULL, NULL,
	  QKTLS_V_QKD_SHA256 },
	{ 0x1303, "qkd", QKTLS_V_RFC8448_C_AP, NULL, NULL,
	  QKTLS_V_QKD_SHA256 },
	{ 0x1302, "qkd", QKTLS_V_XARGS_C_AP, NULL, NULL,
	  QKTLS_V_QKD_SHA384 },
};

/**
 * struct qktls_kat_buf - the buffers of one known answer
 * @in: the input secret
 * @ctx: the context
 * @want: the first answer
 * @want2: the second answer
 * @out: what was derived
 * @k_qkd: QKTLS_V_K_QKD
 * @ci: crypto_info, for "keys"
 */
struct qktls_kat_buf {
	u8 in[QKTLS_HASH_MAX], ctx[QKTLS_HASH_MAX];
	u8 want[QKTLS_HASH_MAX], want2[QKTLS_HASH_MAX];
	u8 out[QKTLS_HASH_MAX], k_qkd[32];
	union qktls_crypto_info ci;
};

static int qktls_unhex(u8 *dst, const char *hex, size_t cap)
{
	size_t n = strlen(hex) / 2;

	if (n > cap || hex2bin(dst, hex, n))
		return -EINVAL;
	return n;
}

static int qktls_kat_run(const struct qktls_kat *k, struct qktls_kat_buf *b)
{
	const struct qktls_suite *s = qktls_suite_find(k->suite);
	const u8 *key = NULL, *iv = NULL;
	struct crypto_shash *tfm;
	int n, ctx_len = 0, err;

	if (!s || qktls_unhex(b->in, k->secret, sizeof(b->in)) != s->hash_len ||
	    qktls_unhex(b->want, k->want, sizeof(b->want)) < 0 ||
	    (k->want2 && qktls_unhex(b->want2, k->want2, sizeof(b->want2)) < 0) ||
	    qktls_unhex(b->k_qkd, QKTLS_V_K_QKD, sizeof(b->k_qkd)) != 32)
		return -EINVAL;
	if (k->context) {
		ctx_len = qktls_unhex(b->ctx, k->context, sizeof(b->ctx));
		if (ctx_len < 0)
			return -EINVAL;
	}
	tfm = qktls_kdf_alloc(s);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	n = s->hash_len;
	if (!strcmp(k->what, "label")) {
		err = qktls_hkdf_expand_label(tfm, b->in, n, k->label, b->ctx,
					      ctx_len, b->out, n);
		if (!err && memcmp(b->out, b->want, n))
			err = -EBADMSG;
	} else if (!strcmp(k->what, "keys")) {
		err = qktls_crypto_info(tfm, s, b->in, &b->ci);
		if (!err && s->ktls_cipher == TLS_CIPHER_AES_GCM_128) {
			key = b->ci.aes128.key;
			iv = b->ci.aes128.salt;
			if (memcmp(b->ci.aes128.iv, b->want2 + 4, 8))
				err = -EBADMSG;
		} else if (!err) {
			key = b->ci.aes256.key;
			iv = b->ci.aes256.salt;
			if (memcmp(b->ci.aes256.iv, b->want2 + 4, 8))
				err = -EBADMSG;
		}
		if (!err && (memcmp(key, b->want, s->key_len) ||
			     memcmp(iv, b->want2, 4)))
			err = -EBADMSG;
	} else if (!strcmp(k->what, "update")) {
		err = qktls_next_secret(tfm, s, b->in, b->out);
		if (!err && memcmp(b->out, b->want, n))
			err = -EBADMSG;
		if (!err)
			err = qktls_next_secret(tfm, s, b->out, b->out);
		if (!err && memcmp(b->out, b->want2, n))
			err = -EBADMSG;
	} else {
		err = qktls_next_secret_qkd(tfm, s, b->in, b->k_qkd,
					    sizeof(b->k_qkd), b->out);
		if (!err && memcmp(b->out, b->want, n))
			err = -EBADMSG;
	}
	qktls_kdf_free(tfm);
	return err;
}

/**
 * qktls_kdf_selftest() - check the key schedule against known answers
 *
 * RFC 8448's and tls13.xargs.org's traces and the pinned key update
 * vectors of tests/vectors/keysched.h, for every suite.
 *
 * Return: 0, or a negative errno if an answer is wrong (-EBADMSG) or a
 * hash is missing.
 */
int qktls_kdf_selftest(void)
{
	struct qktls_kat_buf b = {};
	unsigned int i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(qktls_kats) && !err; i++) {
		err = qktls_kat_run(&qktls_kats[i], &b);
		if (err)
			pr_err("qktls: key schedule self-test %u (%s, 0x%04x) failed: %d\n",
			       i, qktls_kats[i].what, qktls_kats[i].suite, err);
	}
	memzero_explicit(&b, sizeof(b));
	return err;
}
