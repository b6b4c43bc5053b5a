// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Key management of the QKD groups.
 *
 * A key wraps an inner X25519MLKEM768 or ML-KEM-768 key of the default
 * provider (in the child library context) and carries the QKD key
 * reference, and, once known, the QKD key itself:
 *   client: keygen makes the inner key pair and takes a fresh QKD key from
 *           the key source; the encoded public key (the key_share) is the
 *           inner share followed by the reference.
 *   server: paramgen makes an empty key; setting the encoded public key
 *           (the client's key_share) checks its length, imports the inner
 *           share and consumes the referenced QKD key, so an unknown or used
 *           reference fails right there (libssl: illegal_parameter).
 * The QKD key is wiped when it has gone into a secret and when the key is
 * freed; a client key freed unused is counted and reported.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "internal.h"

struct qk_genctx {
	struct qk_prov *prov;
	const struct qk_group *grp;
	int selection;
};

static struct qk_key *key_new(struct qk_prov *prov, const struct qk_group *grp)
{
	struct qk_key *k = OPENSSL_zalloc(sizeof(*k));

	if (k == NULL)
		return NULL;
	k->prov = prov;
	k->grp = grp;
	return k;
}

static void *km_new_hybrid(void *provctx)
{
	return key_new(provctx, &qk_group_hybrid);
}

static void *km_new_mlkem(void *provctx)
{
	return key_new(provctx, &qk_group_mlkem);
}

static void km_free(void *keydata)
{
	struct qk_key *k = keydata;

	if (k == NULL)
		return;
	if (k->client && k->has_ref && !k->used && !k->deferred) {
		/* Not an error: the peer chose another group or asked for
		 * another share.  Count it and tell the key source. */
		qk_count(k->prov, QK_C_DISCARDED);
		if (k->prov->keys.discard_key != NULL)
			k->prov->keys.discard_key(k->prov->keys.arg, k->ref);
	}
	EVP_PKEY_free(k->inner);
	OPENSSL_clear_free(k, sizeof(*k));
}

static int km_has(const void *keydata, int selection)
{
	const struct qk_key *k = keydata;

	if (k == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0)
		return k->inner != NULL && k->has_ref;
	return 1;
}

/* --- generation ---------------------------------------------------------- */

static void *gen_init(void *provctx, const struct qk_group *grp, int selection,
		      const OSSL_PARAM params[])
{
	struct qk_genctx *g = OPENSSL_zalloc(sizeof(*g));

	(void)params;
	if (g == NULL)
		return NULL;
	g->prov = provctx;
	g->grp = grp;
	g->selection = selection;
	return g;
}

static void *km_gen_init_hybrid(void *provctx, int selection,
				const OSSL_PARAM params[])
{
	return gen_init(provctx, &qk_group_hybrid, selection, params);
}

static void *km_gen_init_mlkem(void *provctx, int selection,
			       const OSSL_PARAM params[])
{
	return gen_init(provctx, &qk_group_mlkem, selection, params);
}

static int km_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
	struct qk_genctx *g = genctx;
	const OSSL_PARAM *p;
	const char *name = NULL;

	/* libssl sets the group name; it must be ours. */
	p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
	if (p != NULL) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) ||
		    OPENSSL_strcasecmp(name, g->grp->name) != 0) {
			QK_ERR(QK_R_BAD_CONFIG, "group %s is not %s",
			       name ? name : "(bad)", g->grp->name);
			return 0;
		}
	}
	return 1;
}

static const OSSL_PARAM *km_gen_settable_params(void *genctx, void *provctx)
{
	static const OSSL_PARAM settable[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_END
	};

	(void)genctx;
	(void)provctx;
	return settable;
}

static EVP_PKEY *inner_keygen(struct qk_prov *prov, const char *alg, int pair)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	int ok;

	ctx = EVP_PKEY_CTX_new_from_name(prov->child, alg, NULL);
	if (ctx == NULL)
		return NULL;
	if (pair)
		ok = EVP_PKEY_keygen_init(ctx) > 0 &&
		     EVP_PKEY_keygen(ctx, &pkey) > 0;
	else
		ok = EVP_PKEY_paramgen_init(ctx) > 0 &&
		     EVP_PKEY_paramgen(ctx, &pkey) > 0;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

static int key_len_ok(const struct qk_group *grp, size_t len)
{
	if (grp->key_len != 0)
		return len == grp->key_len;
	return len >= QKTLS_QKD_KEY_MIN && len <= QKTLS_QKD_KEY_MAX;
}

int qk_server_initiated(const struct qk_prov *p, const struct qk_group *grp)
{
	return grp == &qk_group_mlkem &&
	       p->mlkem_flow == QKTLS_FLOW_SERVER_INITIATED;
}

static int ref_is_zero(const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	uint8_t acc = 0;

	for (int i = 0; i < QKTLS_QKD_REF_LEN; i++)
		acc |= ref[i];
	return acc == 0;
}

int qk_key_fetch(struct qk_key *k)
{
	struct qk_prov *prov = k->prov;
	const struct qk_group *grp = k->grp;
	int rc;

	if (prov->keys.get_key == NULL) {
		QK_ERR(QK_R_NO_KEY, "link %s: this key source cannot provide new QKD keys",
		       qk_link(prov));
		return 0;
	}
	k->qkd_len = sizeof(k->qkd);
	rc = prov->keys.get_key(prov->keys.arg, k->ref, k->qkd, &k->qkd_len);
	if (rc != QKTLS_QKD_OK) {
		OPENSSL_cleanse(k->qkd, sizeof(k->qkd));
		k->qkd_len = 0;
		qk_count(prov, QK_C_FETCH_FAILED);
		QK_ERR(QK_R_NO_KEY, "link %s: no QKD key for a %s key share (%s)",
		       qk_link(prov), grp->name,
		       rc == QKTLS_QKD_EMPTY ? "key pool empty" :
					       "key source error");
		return 0;
	}
	qk_count(prov, QK_C_FETCHED);
	if (!key_len_ok(grp, k->qkd_len)) {
		QK_ERR(QK_R_BAD_KEY, "link %s: QKD key of %zu bytes cannot be used with %s",
		       qk_link(prov), k->qkd_len, grp->name);
		OPENSSL_cleanse(k->qkd, sizeof(k->qkd));
		k->qkd_len = 0;
		return 0;
	}
	return 1;
}

int qk_key_take(struct qk_key *k)
{
	struct qk_prov *prov = k->prov;
	const struct qk_group *grp = k->grp;
	char hex[2 * QKTLS_QKD_REF_LEN + 1];
	int rc;

	qk_ref_hex(k->ref, hex);
	if (prov->keys.take_key == NULL) {
		QK_ERR(QK_R_NO_KEY, "link %s: this key source cannot look up QKD keys",
		       qk_link(prov));
		return 0;
	}
	k->qkd_len = sizeof(k->qkd);
	rc = prov->keys.take_key(prov->keys.arg, k->ref, k->qkd, &k->qkd_len);
	if (rc != QKTLS_QKD_OK) {
		OPENSSL_cleanse(k->qkd, sizeof(k->qkd));
		k->qkd_len = 0;
		if (rc == QKTLS_QKD_USED) {
			qk_count(prov, QK_C_REUSED);
			QK_ERR(QK_R_REUSED_REF,
			       "link %s: %s key share names QKD key %s, which was already used",
			       qk_link(prov), grp->name, hex);
		} else if (rc == QKTLS_QKD_NOT_FOUND) {
			qk_count(prov, QK_C_UNKNOWN);
			QK_ERR(QK_R_UNKNOWN_REF,
			       "link %s: %s key share names QKD key %s, which is unknown here",
			       qk_link(prov), grp->name, hex);
		} else {
			QK_ERR(QK_R_NO_KEY,
			       "link %s: looking up QKD key %s failed",
			       qk_link(prov), hex);
		}
		return 0;
	}
	if (!key_len_ok(grp, k->qkd_len)) {
		QK_ERR(QK_R_BAD_KEY,
		       "link %s: QKD key %s has %zu bytes, unusable with %s",
		       qk_link(prov), hex, k->qkd_len, grp->name);
		OPENSSL_cleanse(k->qkd, sizeof(k->qkd));
		k->qkd_len = 0;
		return 0;
	}
	qk_count(prov, QK_C_ACCEPTED);
	return 1;
}

static void *km_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
	struct qk_genctx *g = genctx;
	struct qk_prov *prov = g->prov;
	struct qk_key *k;

	(void)cb;
	(void)cbarg;
	k = key_new(prov, g->grp);
	if (k == NULL)
		return NULL;
	if ((g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
		return k;	/* paramgen: the server fills it from a share */

	k->inner = inner_keygen(prov, g->grp->inner, 1);
	if (k->inner == NULL) {
		QK_ERR(QK_R_INNER_FAILED, "%s key generation failed",
		       g->grp->inner);
		goto fail;
	}
	if (qk_server_initiated(prov, g->grp)) {
		/* The key ID is 16 zero bytes; the server names the key. */
		k->client = 1;
		k->has_ref = 1;
		k->deferred = 1;
		return k;
	}
	if (!qk_key_fetch(k))
		goto fail;
	k->client = 1;
	k->has_ref = 1;
	return k;
fail:
	km_free(k);
	return NULL;
}

static void km_gen_cleanup(void *genctx)
{
	OPENSSL_free(genctx);
}

/* --- parameters ---------------------------------------------------------- */

static const OSSL_PARAM km_params[] = {
	OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	OSSL_PARAM_octet_string(QK_PARAM_KEY_REF, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM *km_gettable_params(void *provctx)
{
	(void)provctx;
	return km_params;
}

static int get_encoded_pub(const struct qk_key *k, OSSL_PARAM *p)
{
	const struct qk_group *grp = k->grp;
	size_t total = grp->pub_len + QKTLS_QKD_REF_LEN, len = 0;
	unsigned char *buf;

	if (k->inner == NULL || !k->has_ref)
		return 0;
	if (p->data == NULL) {
		p->return_size = total;
		return 1;
	}
	if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data_size < total)
		return 0;
	buf = p->data;
	if (!EVP_PKEY_get_octet_string_param(k->inner,
					     OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					     buf, grp->pub_len, &len) ||
	    len != grp->pub_len) {
		QK_ERR(QK_R_INNER_FAILED, "cannot encode the %s share",
		       grp->inner);
		return 0;
	}
	memcpy(buf + grp->pub_len, k->ref, QKTLS_QKD_REF_LEN);
	p->return_size = total;
	return 1;
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
	struct qk_key *k = keydata;
	const struct qk_group *grp = k->grp;
	OSSL_PARAM *p;

	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS);
	if (p && !OSSL_PARAM_set_int(p, 8 * (int)(grp->pub_len + QKTLS_QKD_REF_LEN)))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS);
	if (p && !OSSL_PARAM_set_int(p, (int)grp->sec_bits))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE);
	if (p && !OSSL_PARAM_set_int(p, (int)(grp->ct_len +
				     (grp->echo_ref ? QKTLS_QKD_REF_LEN : 0))))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
	if (p && !get_encoded_pub(k, p))
		return 0;
	p = OSSL_PARAM_locate(params, QK_PARAM_KEY_REF);
	if (p && (!k->has_ref ||
		  !OSSL_PARAM_set_octet_string(p, k->ref, QKTLS_QKD_REF_LEN)))
		return 0;
	return 1;
}

static const OSSL_PARAM *km_settable_params(void *provctx)
{
	static const OSSL_PARAM settable[] = {
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					NULL, 0),
		OSSL_PARAM_END
	};

	(void)provctx;
	return settable;
}

/* Server: the client's key_share arrives. */
static int set_peer_share(struct qk_key *k, const unsigned char *share,
			  size_t len)
{
	struct qk_prov *prov = k->prov;
	const struct qk_group *grp = k->grp;
	char hex[2 * QKTLS_QKD_REF_LEN + 1];
	EVP_PKEY *inner;

	if (k->inner != NULL || k->has_ref) {
		QK_ERR(QK_R_KEY_STATE, "%s key already holds a share", grp->name);
		return 0;
	}
	if (len != grp->pub_len + QKTLS_QKD_REF_LEN) {
		qk_count(prov, QK_C_MALFORMED);
		QK_ERR(QK_R_MALFORMED_SHARE,
		       "link %s: malformed %s key share: %zu bytes, expected %zu",
		       qk_link(prov), grp->name, len,
		       grp->pub_len + QKTLS_QKD_REF_LEN);
		return 0;
	}
	inner = inner_keygen(prov, grp->inner, 0);
	if (inner == NULL ||
	    !EVP_PKEY_set1_encoded_public_key(inner, share, grp->pub_len)) {
		EVP_PKEY_free(inner);
		qk_count(prov, QK_C_MALFORMED);
		QK_ERR(QK_R_MALFORMED_SHARE,
		       "link %s: malformed %s key share: the %s part is invalid",
		       qk_link(prov), grp->name, grp->inner);
		return 0;
	}
	memcpy(k->ref, share + grp->pub_len, QKTLS_QKD_REF_LEN);
	qk_ref_hex(k->ref, hex);
	if (qk_server_initiated(prov, grp)) {
		if (!ref_is_zero(k->ref)) {
			EVP_PKEY_free(inner);
			qk_count(prov, QK_C_MALFORMED);
			QK_ERR(QK_R_WRONG_FLOW,
			       "link %s: %s key share names QKD key %s: the client runs the client-initiated flow, this side the server-initiated one (key ID must be 16 zero bytes)",
			       qk_link(prov), grp->name, hex);
			return 0;
		}
		/* The key is drawn at encapsulation. */
		k->inner = inner;
		k->has_ref = 1;
		k->deferred = 1;
		return 1;
	}
	if (grp->echo_ref && ref_is_zero(k->ref)) {
		EVP_PKEY_free(inner);
		qk_count(prov, QK_C_MALFORMED);
		QK_ERR(QK_R_WRONG_FLOW,
		       "link %s: %s key share has a zero key ID: the client runs the server-initiated flow, this side the client-initiated one",
		       qk_link(prov), grp->name);
		return 0;
	}
	if (!qk_key_take(k)) {
		EVP_PKEY_free(inner);
		return 0;
	}
	k->inner = inner;
	k->has_ref = 1;
	return 1;
}

static int km_set_params(void *keydata, const OSSL_PARAM params[])
{
	struct qk_key *k = keydata;
	const OSSL_PARAM *p;
	const void *share = NULL;
	size_t len = 0;

	p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
	if (p == NULL)
		return 1;
	if (!OSSL_PARAM_get_octet_string_ptr(p, &share, &len))
		return 0;
	return set_peer_share(k, share, len);
}

#define KM_COMMON							\
	{ OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free },		\
	{ OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has },		\
	{ OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS,				\
	  (void (*)(void))km_gen_set_params },				\
	{ OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS,			\
	  (void (*)(void))km_gen_settable_params },			\
	{ OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))km_gen },		\
	{ OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))km_gen_cleanup }, \
	{ OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params }, \
	{ OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,				\
	  (void (*)(void))km_gettable_params },				\
	{ OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))km_set_params }, \
	{ OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS,				\
	  (void (*)(void))km_settable_params }

const OSSL_DISPATCH qk_keymgmt_hybrid_functions[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new_hybrid },
	{ OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))km_gen_init_hybrid },
	KM_COMMON,
	OSSL_DISPATCH_END
};

const OSSL_DISPATCH qk_keymgmt_mlkem_functions[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new_mlkem },
	{ OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))km_gen_init_mlkem },
	KM_COMMON,
	OSSL_DISPATCH_END
};
