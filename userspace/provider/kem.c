// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KEM operations of the QKD groups: the inner encapsulation or
 * decapsulation of the default provider, then the QKD key appended to its
 * shared secret.  In TLS 1.3 the server encapsulates to the client's
 * key_share and the client decapsulates the server's.
 *
 *   encapsulate (server): ct = inner ct [|| reference], ss = inner ss || K
 *   decapsulate (client): checks the length [and the echoed reference],
 *                         ss = inner ss || K
 * In the server-initiated flow of qkd_mlkem768 the server takes the QKD
 * key (get_key) as it encapsulates and sends its reference in place of
 * the echo; the client takes that key (take_key) as it decapsulates.
 * Each QKD key goes into one secret only, and is wiped right after.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

struct qk_kemctx {
	struct qk_prov *prov;
	struct qk_key *key;
};

static void *kem_newctx(void *provctx)
{
	struct qk_kemctx *c = OPENSSL_zalloc(sizeof(*c));

	if (c != NULL)
		c->prov = provctx;
	return c;
}

static void kem_freectx(void *vctx)
{
	OPENSSL_free(vctx);
}

static int kem_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
	struct qk_kemctx *c = vctx;
	struct qk_key *k = keydata;

	(void)params;
	if (k == NULL || k->inner == NULL || !k->has_ref) {
		QK_ERR(QK_R_KEY_STATE, "KEM operation on an incomplete QKD key");
		return 0;
	}
	c->key = k;
	return 1;
}

static size_t ct_total(const struct qk_key *k)
{
	return k->grp->ct_len + (k->grp->echo_ref ? QKTLS_QKD_REF_LEN : 0);
}

/* Length of the QKD key the secret will hold. */
static size_t qkd_total(const struct qk_key *k)
{
	return k->grp->key_len ? k->grp->key_len : k->qkd_len;
}

/* The QKD key may go into one secret only; then it is wiped. */
static int key_usable(const struct qk_key *k)
{
	if (k->used || (k->qkd_len == 0 && !k->deferred)) {
		QK_ERR(QK_R_KEY_STATE, "QKD key %s already went into a secret",
		       k->grp->name);
		return 0;
	}
	return 1;
}

static void key_wipe(struct qk_key *k)
{
	OPENSSL_cleanse(k->qkd, sizeof(k->qkd));
	k->qkd_len = 0;
	k->used = 1;
}

static void key_done(struct qk_key *k)
{
	key_wipe(k);
	qk_count(k->prov, QK_C_SECRETS);
}

/* Append the QKD key to the inner secret, into @out of room *@outlen. */
static int combine(struct qk_key *k, const unsigned char *inner_ss,
		   size_t inner_len, unsigned char *out, size_t *outlen)
{
	if (*outlen < inner_len + k->qkd_len) {
		QK_ERR(QK_R_KEY_STATE, "secret buffer too small");
		return 0;
	}
	memcpy(out, inner_ss, inner_len);
	memcpy(out + inner_len, k->qkd, k->qkd_len);
	*outlen = inner_len + k->qkd_len;
	return 1;
}

static int kem_encapsulate(void *vctx, unsigned char *out, size_t *outlen,
			   unsigned char *secret, size_t *secretlen)
{
	struct qk_kemctx *c = vctx;
	struct qk_key *k = c->key;
	const struct qk_group *grp = k->grp;
	unsigned char ss[64];
	size_t ctlen, sslen = sizeof(ss);
	EVP_PKEY_CTX *ictx = NULL;
	int ok = 0;

	if (out == NULL) {
		if (outlen != NULL)
			*outlen = ct_total(k);
		if (secretlen != NULL)
			*secretlen = grp->ss_len + qkd_total(k);
		return 1;
	}
	if (!key_usable(k))
		return 0;
	if (outlen == NULL || *outlen < ct_total(k) || secret == NULL ||
	    secretlen == NULL) {
		QK_ERR(QK_R_KEY_STATE, "ciphertext buffer too small");
		return 0;
	}
	ctlen = grp->ct_len;
	/* Server-initiated: the server names the key now. */
	if (k->deferred && !qk_key_fetch(k))
		return 0;
	ictx = EVP_PKEY_CTX_new_from_pkey(k->prov->child, k->inner, NULL);
	if (ictx == NULL || EVP_PKEY_encapsulate_init(ictx, NULL) <= 0 ||
	    EVP_PKEY_encapsulate(ictx, out, &ctlen, ss, &sslen) <= 0 ||
	    ctlen != grp->ct_len || sslen != grp->ss_len) {
		QK_ERR(QK_R_INNER_FAILED, "%s encapsulation failed", grp->inner);
		goto out;
	}
	if (grp->echo_ref)
		memcpy(out + ctlen, k->ref, QKTLS_QKD_REF_LEN);
	if (!combine(k, ss, sslen, secret, secretlen))
		goto out;
	*outlen = ct_total(k);
	key_done(k);
	ok = 1;
out:
	if (!ok && k->deferred)
		key_wipe(k);	/* a key drawn for this share serves nothing else */
	OPENSSL_cleanse(ss, sizeof(ss));
	EVP_PKEY_CTX_free(ictx);
	return ok;
}

static int kem_decapsulate(void *vctx, unsigned char *out, size_t *outlen,
			   const unsigned char *in, size_t inlen)
{
	struct qk_kemctx *c = vctx;
	struct qk_key *k = c->key;
	struct qk_prov *prov = k->prov;
	const struct qk_group *grp = k->grp;
	unsigned char ss[64];
	size_t sslen = sizeof(ss);
	EVP_PKEY_CTX *ictx = NULL;
	int ok = 0;

	if (out == NULL) {
		if (outlen == NULL)
			return 0;
		*outlen = grp->ss_len + qkd_total(k);
		return 1;
	}
	if (!k->client || !key_usable(k))
		return 0;
	if (inlen != ct_total(k)) {
		qk_count(prov, QK_C_MALFORMED);
		QK_ERR(QK_R_MALFORMED_SHARE,
		       "link %s: malformed %s server key share: %zu bytes, expected %zu",
		       qk_link(prov), grp->name, inlen, ct_total(k));
		return 0;
	}
	if (k->deferred) {
		/* Server-initiated: the server's share names the key. */
		static const uint8_t zero[QKTLS_QKD_REF_LEN];

		memcpy(k->ref, in + grp->ct_len, QKTLS_QKD_REF_LEN);
		if (CRYPTO_memcmp(k->ref, zero, QKTLS_QKD_REF_LEN) == 0) {
			qk_count(prov, QK_C_MALFORMED);
			QK_ERR(QK_R_WRONG_FLOW,
			       "link %s: %s server key share has a zero key ID: the server runs the client-initiated flow, this side the server-initiated one",
			       qk_link(prov), grp->name);
			return 0;
		}
		if (!qk_key_take(k))
			return 0;
	} else if (grp->echo_ref &&
	    CRYPTO_memcmp(in + grp->ct_len, k->ref, QKTLS_QKD_REF_LEN) != 0) {
		char hex[2 * QKTLS_QKD_REF_LEN + 1];

		qk_count(prov, QK_C_MALFORMED);
		qk_ref_hex(k->ref, hex);
		QK_ERR(QK_R_KEY_ID_MISMATCH,
		       "link %s: %s server key share does not echo key ID %s",
		       qk_link(prov), grp->name, hex);
		return 0;
	}
	ictx = EVP_PKEY_CTX_new_from_pkey(prov->child, k->inner, NULL);
	if (ictx == NULL || EVP_PKEY_decapsulate_init(ictx, NULL) <= 0 ||
	    EVP_PKEY_decapsulate(ictx, ss, &sslen, in, grp->ct_len) <= 0 ||
	    sslen != grp->ss_len) {
		QK_ERR(QK_R_INNER_FAILED, "%s decapsulation failed", grp->inner);
		goto out;
	}
	if (!combine(k, ss, sslen, out, outlen))
		goto out;
	qk_count(prov, QK_C_USED);
	key_done(k);
	ok = 1;
out:
	if (!ok && k->deferred)
		key_wipe(k);	/* a key drawn for this share serves nothing else */
	OPENSSL_cleanse(ss, sizeof(ss));
	EVP_PKEY_CTX_free(ictx);
	return ok;
}

const OSSL_DISPATCH qk_kem_functions[] = {
	{ OSSL_FUNC_KEM_NEWCTX, (void (*)(void))kem_newctx },
	{ OSSL_FUNC_KEM_FREECTX, (void (*)(void))kem_freectx },
	{ OSSL_FUNC_KEM_ENCAPSULATE_INIT, (void (*)(void))kem_init },
	{ OSSL_FUNC_KEM_ENCAPSULATE, (void (*)(void))kem_encapsulate },
	{ OSSL_FUNC_KEM_DECAPSULATE_INIT, (void (*)(void))kem_init },
	{ OSSL_FUNC_KEM_DECAPSULATE, (void (*)(void))kem_decapsulate },
	OSSL_DISPATCH_END
};
