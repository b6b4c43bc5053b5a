// SPDX-License-Identifier: GPL-2.0-only
/*
 * The qkd_key_update TLS extension (QKTLS_EXT_QKD_KEY_UPDATE), which
 * negotiates the QKD key update: ClientHello and EncryptedExtensions, body
 * one byte, QKTLS_QKD_KEY_UPDATE_VERSION.  Documentation/qktls/key-update.rst
 * is the specification; the alerts below are its.  OpenSSL itself refuses
 * the extension in any other message (illegal_parameter) and unsolicited in
 * EncryptedExtensions (unsupported_extension).
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include <openssl/ssl.h>

#include "qktlsd.h"

static const unsigned char body[1] = { QKTLS_QKD_KEY_UPDATE_VERSION };

bool qd_keyupdate_wanted(const struct qd_link *l)
{
	/* QKD updates draw their keys from the link's kernel pools. */
	return l->key_update == QD_KEY_UPDATE_QKD && l->pool;
}

/*
 * A QKD key update with pools that are not there (qktls.ko not loaded, or
 * the link's pools deleted) would fail at the first rekey of either end,
 * killing the connection: negotiate it only when both pools exist.  Said
 * once each time the pools go missing.
 */
void qd_keyupdate_begin(struct qd_hs *hs)
{
	struct qd_link *l = hs->link;
	char tx[QKTLS_POOL_NAME_MAX], rx[QKTLS_POOL_NAME_MAX];
	long ntx, nrx = 0;
	bool told;

	hs->ku_peer_offered = hs->ku_negotiated = false;
	hs->ku_wanted = qd_keyupdate_wanted(l);
	if (!hs->ku_wanted)
		return;
	qd_link_pool_names(l, tx, rx);
	ntx = qd_pool_count(tx);
	if (ntx >= 0)
		nrx = qd_pool_count(rx);
	hs->ku_wanted = ntx >= 0 && nrx >= 0;
	pthread_mutex_lock(&l->lock);
	told = l->ku_pools_missing;
	l->ku_pools_missing = !hs->ku_wanted;
	pthread_mutex_unlock(&l->lock);
	if (!hs->ku_wanted && !told)
		qd_log(LOG_WARNING, "link %s: not negotiating the QKD key update: "
		       "%s; connections get standard updates only, or are "
		       "refused if policy required rekeys", l->name,
		       qd_pool_available() ? "the kernel pools are missing" :
		       "qktls.ko is not loaded");
	else if (hs->ku_wanted && told)
		qd_log(LOG_INFO, "link %s: the kernel pools are back: the QKD "
		       "key update is negotiated again", l->name);
}

/* Client: offer it.  Server: answer an offer if this end wants it too. */
static int ext_add(SSL *ssl, unsigned int type, unsigned int context,
		   const unsigned char **out, size_t *outlen, X509 *x,
		   size_t chainidx, int *al, void *arg)
{
	struct qd_hs *hs = qd_tls_hs(ssl);

	(void)type, (void)x, (void)chainidx, (void)al, (void)arg;
	if (!hs || !hs->ku_wanted)
		return 0;
	if (context & SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS) {
		if (!hs->ku_peer_offered)
			return 0;
		hs->ku_negotiated = true;
	}
	*out = body;
	*outlen = sizeof(body);
	return 1;
}

static int ext_parse(SSL *ssl, unsigned int type, unsigned int context,
		     const unsigned char *in, size_t inlen, X509 *x,
		     size_t chainidx, int *al, void *arg)
{
	struct qd_hs *hs = qd_tls_hs(ssl);

	(void)type, (void)x, (void)chainidx, (void)arg;
	if (!hs)
		return 1;
	if (inlen != sizeof(body)) {
		*al = SSL_AD_DECODE_ERROR;
		qd_log(LOG_WARNING, "link %s: malformed qkd_key_update extension "
		       "(%zu bytes, expected 1)", hs->link->name, inlen);
		return 0;
	}
	if (context & SSL_EXT_CLIENT_HELLO) {
		/* Another version: not negotiated (a later one may differ). */
		hs->ku_peer_offered = in[0] == QKTLS_QKD_KEY_UPDATE_VERSION;
		return 1;
	}
	/* Client, EncryptedExtensions: the server must echo our version. */
	if (in[0] != QKTLS_QKD_KEY_UPDATE_VERSION) {
		*al = SSL_AD_ILLEGAL_PARAMETER;
		qd_log(LOG_WARNING, "link %s: the server answered qkd_key_update "
		       "version %u, we offered %u", hs->link->name, in[0],
		       QKTLS_QKD_KEY_UPDATE_VERSION);
		return 0;
	}
	hs->ku_negotiated = true;
	return 1;
}

int qd_keyupdate_init(struct qd_link *l, struct ssl_ctx_st *ctx)
{
	if (l->key_update == QD_KEY_UPDATE_QKD && !l->pool)
		qd_log(LOG_WARNING, "link %s: key_update \"qkd\" but no qkd pool: "
		       "QKD key updates need the link's kernel pools; only "
		       "standard updates will run", l->name);
	if (!SSL_CTX_add_custom_ext(ctx, QKTLS_EXT_QKD_KEY_UPDATE,
				    SSL_EXT_TLS1_3_ONLY | SSL_EXT_CLIENT_HELLO |
				    SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS,
				    ext_add, NULL, NULL, ext_parse, NULL))
		return -1;
	return 0;
}
