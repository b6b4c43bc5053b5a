// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The qktls provider: registration, configuration, TLS-GROUP capabilities.
 *
 * qktls_provider_load() registers the provider as built in and loads it
 * into the caller's library context.  The configuration (key callbacks,
 * codepoint) reaches the provider's init function through a thread-local
 * "pending load" that names the library context it is meant for: the init
 * function runs synchronously inside OSSL_PROVIDER_load().  The provider
 * then creates a child library context, which mirrors the parent's
 * providers (so "default" gives X25519MLKEM768 and ML-KEM-768), and also a
 * child instance of this provider: that instance finds no pending load for
 * its library context and offers nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/prov_ssl.h>
#include <openssl/provider.h>

#include "internal.h"

/* --- the provider's error library -------------------------------------- */

static int err_lib;
static pthread_once_t err_once = PTHREAD_ONCE_INIT;

static ERR_STRING_DATA err_reasons[] = {
	{ ERR_PACK(0, 0, QK_R_UNKNOWN_REF), "unknown QKD key reference" },
	{ ERR_PACK(0, 0, QK_R_REUSED_REF), "QKD key reference already used" },
	{ ERR_PACK(0, 0, QK_R_MALFORMED_SHARE), "malformed QKD key share" },
	{ ERR_PACK(0, 0, QK_R_NO_KEY), "no QKD key available" },
	{ ERR_PACK(0, 0, QK_R_BAD_KEY), "bad QKD key" },
	{ ERR_PACK(0, 0, QK_R_KEY_ID_MISMATCH), "QKD key ID mismatch" },
	{ ERR_PACK(0, 0, QK_R_INNER_FAILED), "inner KEM operation failed" },
	{ ERR_PACK(0, 0, QK_R_KEY_STATE), "QKD key in wrong state" },
	{ ERR_PACK(0, 0, QK_R_BAD_CONFIG), "bad qktls provider configuration" },
	{ ERR_PACK(0, 0, QK_R_WRONG_FLOW), "peer runs the other qkd_mlkem768 flow" },
	{ ERR_PACK(0, 0, QK_R_KEY_SOURCE), "QKD key source failed" },
	{ 0, NULL }
};

static ERR_STRING_DATA err_libname[] = {
	{ 0, "qktls provider" },
	{ 0, NULL }
};

static void err_init(void)
{
	err_lib = ERR_get_next_error_library();
	ERR_load_strings(err_lib, err_reasons);
	err_libname[0].error = ERR_PACK(err_lib, 0, 0);
	ERR_load_strings(0, err_libname);
}

int qk_err_lib(void)
{
	pthread_once(&err_once, err_init);
	return err_lib;
}

void qk_ref_hex(const uint8_t ref[QKTLS_QKD_REF_LEN],
		char out[2 * QKTLS_QKD_REF_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < QKTLS_QKD_REF_LEN; i++) {
		out[2 * i] = hex[ref[i] >> 4];
		out[2 * i + 1] = hex[ref[i] & 15];
	}
	out[2 * QKTLS_QKD_REF_LEN] = '\0';
}

const char *qk_link(const struct qk_prov *p)
{
	return p->link ? p->link : "(unnamed)";
}

/* --- groups ------------------------------------------------------------- */

const struct qk_group qk_group_hybrid = {
	.name = QKTLS_GROUP_HYBRID,
	.inner = "X25519MLKEM768",
	.pub_len = 1184 + 32,
	.ct_len = 1088 + 32,
	.ss_len = 32 + 32,
	.echo_ref = 0,
	.key_len = 0,
	.sec_bits = 192,
};

const struct qk_group qk_group_mlkem = {
	.name = QKTLS_GROUP_QKD_MLKEM768,
	.inner = "ML-KEM-768",
	.pub_len = 1184,
	.ct_len = 1088,
	.ss_len = 32,
	.echo_ref = 1,
	.key_len = QKTLS_QKD_MLKEM768_KEY_LEN,
	.sec_bits = 192,
};

static const struct qk_group *const groups[2] = {
	&qk_group_hybrid, &qk_group_mlkem
};

static unsigned int cap_sec_bits = 192;
static int cap_min_tls = TLS1_3_VERSION;
static int cap_max_tls;			/* 0: no maximum */
static int cap_no_dtls = -1;		/* not for DTLS */
static unsigned int cap_is_kem = 1;

static void caps_init(struct qk_prov *p)
{
	for (int i = 0; i < 2; i++) {
		OSSL_PARAM *c = p->caps[i];
		char *name = (char *)groups[i]->name;
		size_t len = strlen(name);

		c[0] = OSSL_PARAM_construct_utf8_string(
			OSSL_CAPABILITY_TLS_GROUP_NAME, name, len);
		c[1] = OSSL_PARAM_construct_utf8_string(
			OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL, name, len);
		c[2] = OSSL_PARAM_construct_utf8_string(
			OSSL_CAPABILITY_TLS_GROUP_ALG, name, len);
		c[3] = OSSL_PARAM_construct_uint(
			OSSL_CAPABILITY_TLS_GROUP_ID, &p->group_id[i]);
		c[4] = OSSL_PARAM_construct_uint(
			OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &cap_sec_bits);
		c[5] = OSSL_PARAM_construct_int(
			OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &cap_min_tls);
		c[6] = OSSL_PARAM_construct_int(
			OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &cap_max_tls);
		c[7] = OSSL_PARAM_construct_int(
			OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &cap_no_dtls);
		c[8] = OSSL_PARAM_construct_int(
			OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &cap_no_dtls);
		c[9] = OSSL_PARAM_construct_uint(
			OSSL_CAPABILITY_TLS_GROUP_IS_KEM, &cap_is_kem);
		c[10] = OSSL_PARAM_construct_end();
	}
}

/* --- provider functions -------------------------------------------------- */

static const OSSL_ALGORITHM keymgmt_algs[] = {
	{ QKTLS_GROUP_HYBRID, "provider=qktls", qk_keymgmt_hybrid_functions,
	  "X25519MLKEM768 with a QKD key (qktls)" },
	{ QKTLS_GROUP_QKD_MLKEM768, "provider=qktls", qk_keymgmt_mlkem_functions,
	  "ML-KEM-768 with a QKD key (QKD-KEM provider format)" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM kem_algs[] = {
	{ QKTLS_GROUP_HYBRID, "provider=qktls", qk_kem_functions, NULL },
	{ QKTLS_GROUP_QKD_MLKEM768, "provider=qktls", qk_kem_functions, NULL },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *prov_query(void *provctx, int op, int *no_cache)
{
	struct qk_prov *p = provctx;

	*no_cache = 0;
	if (p->child == NULL)
		return NULL;
	switch (op) {
	case OSSL_OP_KEYMGMT:
		return keymgmt_algs;
	case OSSL_OP_KEM:
		return kem_algs;
	}
	return NULL;
}

static int prov_get_capabilities(void *provctx, const char *capability,
				 OSSL_CALLBACK *cb, void *arg)
{
	struct qk_prov *p = provctx;

	if (OPENSSL_strcasecmp(capability, "TLS-GROUP") != 0)
		return 0;
	if (p->child == NULL)
		return 1;
	for (int i = 0; i < 2; i++)
		if (!cb(p->caps[i], arg))
			return 0;
	return 1;
}

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
		OSSL_PARAM_END
	};

	(void)provctx;
	return params;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *q;

	(void)provctx;
	q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
	if (q && !OSSL_PARAM_set_utf8_ptr(q, "qktls QKD groups provider"))
		return 0;
	q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
	if (q && !OSSL_PARAM_set_int(q, 1))
		return 0;
	return 1;
}

void qk_prov_teardown(void *provctx)
{
	struct qk_prov *p = provctx;

	OSSL_LIB_CTX_free(p->child);
	if (p->keys_free != NULL)
		p->keys_free(p->keys.arg);
	free(p->link);
	p->magic = 0;
	free(p);
}

const OSSL_DISPATCH qk_prov_functions[] = {
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))qk_prov_teardown },
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query },
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES,
	  (void (*)(void))prov_get_capabilities },
	{ OSSL_FUNC_PROVIDER_GETTABLE_PARAMS,
	  (void (*)(void))prov_gettable_params },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params },
	OSSL_DISPATCH_END
};

/* --- loading ------------------------------------------------------------- */

struct pending_load {
	OSSL_LIB_CTX *ctx;		/* resolved: never NULL */
	const struct qktls_provider_config *cfg;
	OSSL_PROVIDER *default_prov;
	int claimed;
};

static __thread struct pending_load *pending;

/*
 * Apply a load's configuration to a provider instance: at its init, or when
 * it is loaded again into a library context it was unloaded from (OpenSSL
 * keeps an unloaded provider's instance in its store and reactivates it
 * without a second init; the old key source is not used after the unload).
 */
static int apply_config(struct qk_prov *p,
			const struct qktls_provider_config *cfg,
			OSSL_PROVIDER *default_prov)
{
	char *link = NULL;

	if (cfg->keys->link != NULL) {
		link = strdup(cfg->keys->link);
		if (link == NULL)
			return -1;
	}
	free(p->link);
	p->link = link;
	p->keys = *cfg->keys;
	p->keys.link = p->link;
	p->group_id[0] = cfg->hybrid_group_id ?
		cfg->hybrid_group_id : QKTLS_GROUP_HYBRID_ID_DEFAULT;
	p->group_id[1] = cfg->mlkem_group_id ?
		cfg->mlkem_group_id : QKTLS_GROUP_QKD_MLKEM768_ID;
	p->mlkem_flow = cfg->mlkem_flow;
	caps_init(p);
	p->default_prov = default_prov;
	for (int i = 0; i < QK_C_NUM; i++)
		__atomic_store_n(&p->counters[i], 0, __ATOMIC_RELAXED);
	return 0;
}

static int configure(struct qk_prov *p, struct pending_load *pl)
{
	return apply_config(p, pl->cfg, pl->default_prov);
}

/* The checks of a configuration that do not depend on how it is loaded. */
static int check_config(const struct qktls_provider_config *cfg)
{
	unsigned int id = cfg->hybrid_group_id;
	unsigned int mid = cfg->mlkem_group_id;

	if (id != 0 && (id < 0xFE00 || id > 0xFEFF)) {
		QK_ERR(QK_R_BAD_CONFIG,
		       "QKD hybrid group codepoint 0x%04X is outside the private-use range 0xFE00-0xFEFF",
		       id);
		return -1;
	}
	if (mid > 0xFFFF) {
		QK_ERR(QK_R_BAD_CONFIG,
		       "qkd_mlkem768 codepoint 0x%X is not a 16-bit value", mid);
		return -1;
	}
	if ((mid ? mid : QKTLS_GROUP_QKD_MLKEM768_ID) ==
	    (id ? id : QKTLS_GROUP_HYBRID_ID_DEFAULT)) {
		QK_ERR(QK_R_BAD_CONFIG,
		       "qkd_mlkem768 and the QKD hybrid cannot share codepoint 0x%04X",
		       mid);
		return -1;
	}
	if (cfg->mlkem_flow != QKTLS_FLOW_CLIENT_INITIATED &&
	    cfg->mlkem_flow != QKTLS_FLOW_SERVER_INITIATED) {
		QK_ERR(QK_R_BAD_CONFIG, "unknown qkd_mlkem768 flow %d",
		       (int)cfg->mlkem_flow);
		return -1;
	}
	return 0;
}

const char *qktls_qkd_flow_name(enum qktls_qkd_flow flow)
{
	return flow == QKTLS_FLOW_SERVER_INITIATED ? "server-initiated" :
						     "client-initiated";
}

int qktls_qkd_flow_parse(const char *name, enum qktls_qkd_flow *flow)
{
	if (name != NULL && strcmp(name, "client-initiated") == 0)
		*flow = QKTLS_FLOW_CLIENT_INITIATED;
	else if (name != NULL && strcmp(name, "server-initiated") == 0)
		*flow = QKTLS_FLOW_SERVER_INITIATED;
	else
		return -1;
	return 0;
}

int qk_prov_setup(struct qk_prov *p, const OSSL_DISPATCH *in,
		  const struct qktls_provider_config *cfg)
{
	if (check_config(cfg) != 0 || apply_config(p, cfg, NULL) != 0)
		return -1;
	p->child = OSSL_LIB_CTX_new_child(p->handle, in);
	if (p->child == NULL) {
		QK_ERR(QK_R_BAD_CONFIG, "cannot create the child library context");
		return -1;
	}
	return 0;
}

static int prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		     const OSSL_DISPATCH **out, void **provctx)
{
	OSSL_FUNC_core_get_libctx_fn *get_libctx = NULL;
	struct qk_prov *p;
	OSSL_LIB_CTX *libctx;

	for (const OSSL_DISPATCH *d = in; d->function_id != 0; d++)
		if (d->function_id == OSSL_FUNC_CORE_GET_LIBCTX)
			get_libctx = OSSL_FUNC_core_get_libctx(d);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return 0;
	p->magic = QK_PROV_MAGIC;
	p->handle = handle;
	*provctx = p;
	*out = qk_prov_functions;

	/* Built in, so the core context is our own library's OSSL_LIB_CTX. */
	libctx = get_libctx ? (OSSL_LIB_CTX *)get_libctx(handle) : NULL;
	if (libctx == NULL)	/* the default context may be passed as NULL */
		libctx = OSSL_LIB_CTX_get0_global_default();
	if (pending == NULL || pending->claimed || libctx != pending->ctx)
		return 1;	/* a child instance, or loaded by hand: no groups */

	if (configure(p, pending) != 0)
		goto fail;
	p->child = OSSL_LIB_CTX_new_child(handle, in);
	if (p->child == NULL) {
		QK_ERR(QK_R_BAD_CONFIG, "cannot create the child library context");
		goto fail;
	}
	pending->claimed = 1;
	return 1;
fail:
	qk_prov_teardown(p);
	*provctx = NULL;
	return 0;
}

OSSL_PROVIDER *qktls_provider_load_ex(OSSL_LIB_CTX *ctx,
				      const struct qktls_provider_config *cfg)
{
	struct pending_load pl = { 0 };
	OSSL_PROVIDER *prov = NULL;

	qk_err_lib();
	if (cfg == NULL || cfg->keys == NULL ||
	    (cfg->keys->get_key == NULL && cfg->keys->take_key == NULL)) {
		QK_ERR(QK_R_BAD_CONFIG,
		       "qktls_provider_load: no QKD key callbacks given");
		return NULL;
	}
	if (check_config(cfg) != 0)
		return NULL;
	if (pending != NULL) {
		QK_ERR(QK_R_BAD_CONFIG, "qktls_provider_load called recursively");
		return NULL;
	}
	pl.ctx = ctx ? ctx : OSSL_LIB_CTX_get0_global_default();
	pl.cfg = cfg;
	if (!OSSL_PROVIDER_available(ctx, "default")) {
		pl.default_prov = OSSL_PROVIDER_load(ctx, "default");
		if (pl.default_prov == NULL) {
			QK_ERR(QK_R_BAD_CONFIG,
			       "cannot load OpenSSL's default provider");
			return NULL;
		}
	}
	if (!OSSL_PROVIDER_available(ctx, QKTLS_PROVIDER_NAME)) {
		/* Registering twice in one context fails harmlessly. */
		ERR_set_mark();
		OSSL_PROVIDER_add_builtin(ctx, QKTLS_PROVIDER_NAME, prov_init);
		ERR_pop_to_mark();
		pending = &pl;
		prov = OSSL_PROVIDER_load(ctx, QKTLS_PROVIDER_NAME);
		pending = NULL;
	}
	if (prov != NULL && !pl.claimed) {
		/* Loaded before, unloaded, and reactivated without an init. */
		struct qk_prov *p = OSSL_PROVIDER_get0_provider_ctx(prov);

		if (p != NULL && p->magic == QK_PROV_MAGIC && p->child != NULL &&
		    configure(p, &pl) == 0)
			pl.claimed = 1;
	}
	if (prov == NULL || !pl.claimed) {
		QK_ERR(QK_R_BAD_CONFIG,
		       "cannot load the qktls provider (already loaded in this library context?)");
		if (prov != NULL)
			OSSL_PROVIDER_unload(prov);
		if (pl.default_prov != NULL)
			OSSL_PROVIDER_unload(pl.default_prov);
		return NULL;
	}
	return prov;
}

OSSL_PROVIDER *qktls_provider_load(OSSL_LIB_CTX *ctx,
				   const struct qktls_qkd_keys *keys)
{
	struct qktls_provider_config cfg = { .keys = keys };

	return qktls_provider_load_ex(ctx, &cfg);
}

static struct qk_prov *prov_of(OSSL_PROVIDER *prov)
{
	struct qk_prov *p;

	if (prov == NULL ||
	    strcmp(OSSL_PROVIDER_get0_name(prov), QKTLS_PROVIDER_NAME) != 0)
		return NULL;
	p = OSSL_PROVIDER_get0_provider_ctx(prov);
	if (p == NULL || p->magic != QK_PROV_MAGIC || p->child == NULL)
		return NULL;
	return p;
}

void qktls_provider_unload(OSSL_PROVIDER *prov)
{
	struct qk_prov *p = prov_of(prov);
	OSSL_PROVIDER *def = p ? p->default_prov : NULL;

	if (prov != NULL)
		OSSL_PROVIDER_unload(prov);
	if (def != NULL)
		OSSL_PROVIDER_unload(def);
}

int qktls_provider_stats(OSSL_PROVIDER *prov, struct qktls_provider_stats *out)
{
	struct qk_prov *p = prov_of(prov);
	uint64_t c[QK_C_NUM];

	if (p == NULL || out == NULL)
		return -1;
	for (int i = 0; i < QK_C_NUM; i++)
		c[i] = __atomic_load_n(&p->counters[i], __ATOMIC_RELAXED);
	out->keys_fetched = c[QK_C_FETCHED];
	out->keys_fetch_failed = c[QK_C_FETCH_FAILED];
	out->keys_used = c[QK_C_USED];
	out->keys_discarded = c[QK_C_DISCARDED];
	out->refs_accepted = c[QK_C_ACCEPTED];
	out->refs_unknown = c[QK_C_UNKNOWN];
	out->refs_reused = c[QK_C_REUSED];
	out->shares_malformed = c[QK_C_MALFORMED];
	out->secrets_derived = c[QK_C_SECRETS];
	return 0;
}

int qktls_provider_key_ref(const EVP_PKEY *pkey, uint8_t ref[QKTLS_QKD_REF_LEN])
{
	size_t len = 0;

	if (pkey == NULL)
		return -1;
	if (!EVP_PKEY_is_a(pkey, QKTLS_GROUP_HYBRID) &&
	    !EVP_PKEY_is_a(pkey, QKTLS_GROUP_QKD_MLKEM768))
		return -1;
	if (!EVP_PKEY_get_octet_string_param(pkey, QK_PARAM_KEY_REF, ref,
					     QKTLS_QKD_REF_LEN, &len) ||
	    len != QKTLS_QKD_REF_LEN)
		return -1;
	return 0;
}
