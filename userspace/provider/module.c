// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The provider as a loadable OpenSSL module (qktls.so, OSSL_provider_init),
 * for stock programs: `openssl s_client -provider qktls -provider default
 * -groups qkd_mlkem768 ...`.  Its key source is an ETSI GS QKD 014 KME asked
 * during each handshake (kmekeys.c), configured by the parameters of the
 * provider's section of openssl.cnf:
 *
 *   [qktls_sect]
 *   module      = /usr/lib/x86_64-linux-gnu/ossl-modules/qktls.so
 *   kme_url     = https://kme-a.example:443     (required)
 *   kme_cert    = /etc/qktls/sae-a.pem          (required: the SAE's cert)
 *   kme_key     = /etc/qktls/sae-a.key          (required)
 *   kme_ca      = /etc/qktls/kme-ca.pem         (required)
 *   peer_sae_id = SAE_B                         (required)
 *   sae_id      = SAE_A                         (optional, for messages)
 *   kme_timeout_ms = 10000                      (optional)
 *   flow        = client-initiated | server-initiated  (qkd_mlkem768)
 *   codepoint   = 0x3768                        (qkd_mlkem768)
 *   hybrid_codepoint = 0xFE37                   (qktls-X25519MLKEM768)
 *   link        = NAME                          (optional, for messages)
 *
 * Documentation/qktls/protocol.rst, "The loadable module".
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/params.h>

#include <qktls/kme.h>

#include "internal.h"

enum {
	P_URL, P_CERT, P_KEY, P_CA, P_PEER, P_SAE, P_TIMEOUT, P_FLOW,
	P_CODEPOINT, P_HYBRID, P_LINK, P_NUM
};

static const char *const param_names[P_NUM] = {
	"kme_url", "kme_cert", "kme_key", "kme_ca", "peer_sae_id", "sae_id",
	"kme_timeout_ms", "flow", "codepoint", "hybrid_codepoint", "link",
};

/*
 * Stay loaded once loaded: the error library's strings (provider.c) are
 * this module's static data, and OpenSSL prints an error queue after it
 * unloads a provider whose init failed, and at exit.
 */
static void stay_loaded(void)
{
	Dl_info info;

	if (dladdr((void *)stay_loaded, &info) && info.dli_fname != NULL)
		(void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE);
}

/* The module's instance in a child library context of its own one. */
static __thread int in_init;

static int number(const char *name, const char *s, unsigned long max,
		  unsigned long *out)
{
	char *end;

	errno = 0;
	*out = s ? strtoul(s, &end, 0) : 0;
	if (s == NULL || *s == '\0' || *s == '-' || *end != '\0' || errno ||
	    *out > max) {
		QK_ERR(QK_R_BAD_CONFIG,
		       "qktls provider: %s = \"%s\" is not a number from 0 to %lu",
		       name, s ? s : "", max);
		return -1;
	}
	return 0;
}

/* Read the section's parameters; unset ones stay NULL. */
static int read_params(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const char *v[P_NUM])
{
	OSSL_FUNC_core_get_params_fn *get_params = NULL;
	OSSL_PARAM params[P_NUM + 1];

	for (const OSSL_DISPATCH *d = in; d->function_id != 0; d++)
		if (d->function_id == OSSL_FUNC_CORE_GET_PARAMS)
			get_params = OSSL_FUNC_core_get_params(d);
	if (get_params == NULL) {
		QK_ERR(QK_R_BAD_CONFIG, "qktls provider: the core gives no parameters");
		return -1;
	}
	for (int i = 0; i < P_NUM; i++) {
		v[i] = NULL;
		params[i] = OSSL_PARAM_construct_utf8_ptr(param_names[i],
							  (char **)&v[i], 0);
	}
	params[P_NUM] = OSSL_PARAM_construct_end();
	if (!get_params(handle, params)) {
		QK_ERR(QK_R_BAD_CONFIG, "qktls provider: cannot read its parameters");
		return -1;
	}
	return 0;
}

static int build(struct qk_prov *p, const OSSL_DISPATCH *in)
{
	const char *v[P_NUM];
	struct qktls_provider_config cfg = { 0 };
	struct qk_kme_config kme = { 0 };
	struct qktls_qkd_keys keys;
	struct qktls_kmekeys *kk;
	unsigned long n;
	char link[300], why[600];

	if (read_params(p->handle, in, v) != 0)
		return -1;
	for (int i = P_URL; i <= P_PEER; i++)
		if (v[i] == NULL || *v[i] == '\0') {
			QK_ERR(QK_R_BAD_CONFIG,
			       "qktls provider: %s is not set in its section of the OpenSSL configuration",
			       param_names[i]);
			return -1;
		}
	kme.url = v[P_URL];
	kme.cert = v[P_CERT];
	kme.key = v[P_KEY];
	kme.ca = v[P_CA];
	if (v[P_TIMEOUT] != NULL) {
		if (number(param_names[P_TIMEOUT], v[P_TIMEOUT], 3600000, &n))
			return -1;
		kme.timeout_ms = (long)n;
	}
	if (v[P_FLOW] != NULL &&
	    qktls_qkd_flow_parse(v[P_FLOW], &cfg.mlkem_flow) != 0) {
		QK_ERR(QK_R_BAD_CONFIG,
		       "qktls provider: flow = \"%s\": use client-initiated or server-initiated",
		       v[P_FLOW]);
		return -1;
	}
	if (v[P_CODEPOINT] != NULL) {
		if (number(param_names[P_CODEPOINT], v[P_CODEPOINT], 0xFFFF, &n))
			return -1;
		if (n == 0) {
			QK_ERR(QK_R_BAD_CONFIG, "qktls provider: codepoint 0 is not a group");
			return -1;
		}
		cfg.mlkem_group_id = (unsigned int)n;
	}
	if (v[P_HYBRID] != NULL) {
		if (number(param_names[P_HYBRID], v[P_HYBRID], 0xFFFF, &n))
			return -1;
		cfg.hybrid_group_id = (unsigned int)n;
	}
	if (v[P_LINK] != NULL)
		snprintf(link, sizeof(link), "%s", v[P_LINK]);
	else
		snprintf(link, sizeof(link), "%s-%s", v[P_SAE] ? v[P_SAE] : "openssl",
			 v[P_PEER]);

	kk = qktls_kmekeys_new(&kme, v[P_PEER], link, why, sizeof(why));
	if (kk == NULL) {
		QK_ERR(QK_R_BAD_CONFIG, "qktls provider: %s", why);
		return -1;
	}
	qktls_kmekeys_bind(kk, &keys);
	cfg.keys = &keys;
	p->keys_free = (void (*)(void *))qktls_kmekeys_free;
	p->keys.arg = kk;	/* freed by the teardown, also on failure */
	return qk_prov_setup(p, in, &cfg);
}

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx);

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx)
{
	struct qk_prov *p;
	int rc;

	stay_loaded();
	qk_err_lib();
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return 0;
	p->magic = QK_PROV_MAGIC;
	p->handle = handle;
	*provctx = p;
	*out = qk_prov_functions;
	if (in_init)
		return 1;	/* the child context's instance: offers nothing */
	in_init = 1;
	rc = build(p, in);
	in_init = 0;
	if (rc != 0) {
		qk_prov_teardown(p);
		*provctx = NULL;
		return 0;
	}
	return 1;
}
