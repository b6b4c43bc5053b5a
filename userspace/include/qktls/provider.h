/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qktls/provider.h - the OpenSSL 3.5 provider that adds qktls's QKD TLS 1.3
 * groups to a library context.
 *
 * The provider is built into the program (OSSL_PROVIDER_add_builtin) and
 * loaded into one OSSL_LIB_CTX with a set of QKD key callbacks; SSL_CTXs
 * created afterwards in that library context can use its groups:
 *
 *   "qktls-X25519MLKEM768"  (default codepoint 0xFE37, configurable)
 *       client key_share = X25519MLKEM768 share || 16-byte QKD key reference
 *       server key_share = X25519MLKEM768 ciphertext
 *       shared secret    = X25519MLKEM768 secret || QKD key
 *   "qkd_mlkem768"          (codepoint 0x3768 by default, configurable; the
 *                            format of the published QKD-KEM provider 0.2.0)
 *       client key_share = ML-KEM-768 public key || 16-byte key ID
 *       server key_share = ML-KEM-768 ciphertext || 16-byte key ID
 *       shared secret    = ML-KEM-768 secret || 32-byte QKD key
 *     in one of two flows (enum qktls_qkd_flow): client-initiated (the
 *     client names the key, the server echoes its ID) or server-initiated
 *     (the client sends 16 zero bytes, the server names the key).
 *
 * X25519MLKEM768 and ML-KEM-768 come from OpenSSL's default provider through
 * a child library context; the provider adds only the QKD part.  Byte
 * layouts and error behaviour: Documentation/qktls/protocol.rst.
 *
 * One library context carries one key source, so a program that serves
 * several links with different key pools uses one library context per link
 * (or a key source that can tell them apart by reference).
 */
#ifndef QKTLS_PROVIDER_H
#define QKTLS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>
#include <qktls/qkd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QKTLS_PROVIDER_NAME		"qktls"

#define QKTLS_QKD_MLKEM768_KEY_LEN	32	/* qkd_mlkem768 needs exactly this */

#define QKTLS_GROUP_HYBRID		"qktls-X25519MLKEM768"
#define QKTLS_GROUP_HYBRID_ID_DEFAULT	0xFE37
#define QKTLS_GROUP_QKD_MLKEM768	"qkd_mlkem768"
#define QKTLS_GROUP_QKD_MLKEM768_ID	0x3768

/*
 * A client groups list for SSL_CTX_set1_groups_list() that offers the QKD
 * hybrid first and sends key shares for it and for plain X25519MLKEM768,
 * so that neither a qktls peer nor a stock TLS 1.3 peer needs a
 * HelloRetryRequest (a HelloRetryRequest would discard the QKD key share).
 */
#define QKTLS_GROUPS_CLIENT_DEFAULT \
	"*" QKTLS_GROUP_HYBRID ":*X25519MLKEM768:X25519"
/* A server groups list: the QKD hybrid preferred, then the plain groups. */
#define QKTLS_GROUPS_SERVER_DEFAULT \
	QKTLS_GROUP_HYBRID ":X25519MLKEM768:X25519"

/*
 * Who names the QKD key of a qkd_mlkem768 handshake (the two builds of the
 * QKD-KEM provider 0.2.0: QKD_KEY_ID_CH=ON is client-initiated, the default
 * OFF server-initiated).  Client-initiated: the client takes a key with
 * get_key as it builds its ClientHello and sends its ID; the server takes
 * it with take_key and echoes the ID.  Server-initiated: the client sends
 * 16 zero bytes; the server takes a key with get_key as it encapsulates and
 * sends its ID in the ServerHello; the client takes it with take_key.
 * The qktls-X25519MLKEM768 group is always client-initiated.
 */
enum qktls_qkd_flow {
	QKTLS_FLOW_CLIENT_INITIATED = 0,
	QKTLS_FLOW_SERVER_INITIATED = 1,
};

/* Results of the key callbacks. */
enum qktls_qkd_status {
	QKTLS_QKD_OK		= 0,
	QKTLS_QKD_NOT_FOUND	= -1,	/* no key with this reference */
	QKTLS_QKD_USED		= -2,	/* the key was already consumed */
	QKTLS_QKD_EMPTY		= -3,	/* no key available right now */
	QKTLS_QKD_ERROR		= -4,	/* anything else */
};

/**
 * struct qktls_qkd_keys - where the provider takes QKD keys from
 * @arg: passed to every callback
 * @link: name of the link these keys belong to (for messages), or NULL
 * @get_key: the side that names the key (the client; for a server-initiated
 *	qkd_mlkem768 the server): take a fresh key for the link; writes its
 *	reference (QKTLS_QKD_REF_LEN bytes) to @ref, the key to @key (room for
 *	QKTLS_QKD_KEY_MAX bytes) and its length to *@key_len; the key must not
 *	be handed out again.  Returns a qktls_qkd_status.
 * @take_key: the other side: look up the key with reference @ref and consume
 *	it (a second call with the same reference must return
 *	QKTLS_QKD_USED or QKTLS_QKD_NOT_FOUND); same output as @get_key.
 * @discard_key: optional: a key from @get_key was not used after all (the
 *	server chose another group or sent a HelloRetryRequest, or the
 *	handshake failed before the key was mixed in).  The provider also
 *	counts it.  The key was announced in a ClientHello, so it should not
 *	be handed out again.
 *
 * The callbacks may be called from any thread that runs a handshake.
 * Key bytes written by them are wiped by the provider after use; the
 * callbacks must wipe their own copies.
 */
struct qktls_qkd_keys {
	void *arg;
	const char *link;
	int (*get_key)(void *arg, uint8_t ref[QKTLS_QKD_REF_LEN],
		       uint8_t *key, size_t *key_len);
	int (*take_key)(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN],
			uint8_t *key, size_t *key_len);
	void (*discard_key)(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN]);
};

/**
 * struct qktls_provider_config - how to load the provider
 * @keys: the key source (copied; @keys->arg must outlive the provider)
 * @hybrid_group_id: codepoint of the QKD hybrid, 0xFE00..0xFEFF, or 0 for
 *	QKTLS_GROUP_HYBRID_ID_DEFAULT
 * @mlkem_group_id: codepoint of qkd_mlkem768, 0x0001..0xFFFF and not the
 *	hybrid's, or 0 for QKTLS_GROUP_QKD_MLKEM768_ID
 * @mlkem_flow: the flow of qkd_mlkem768
 */
struct qktls_provider_config {
	const struct qktls_qkd_keys *keys;
	unsigned int hybrid_group_id;
	unsigned int mlkem_group_id;
	enum qktls_qkd_flow mlkem_flow;
};

/* "client-initiated" / "server-initiated"; parse returns -1 on another. */
const char *qktls_qkd_flow_name(enum qktls_qkd_flow flow);
int qktls_qkd_flow_parse(const char *name, enum qktls_qkd_flow *flow);

/* Counters of one loaded provider; all only ever grow. */
struct qktls_provider_stats {
	uint64_t keys_fetched;		/* namer: keys taken with get_key */
	uint64_t keys_fetch_failed;	/* namer: no key could be had */
	uint64_t keys_used;		/* client: mixed into a shared secret */
	uint64_t keys_discarded;	/* client: share dropped unused (HRR...) */
	uint64_t refs_accepted;		/* taker: reference found and consumed */
	uint64_t refs_unknown;		/* taker: no key with that reference */
	uint64_t refs_reused;		/* taker: key already consumed */
	uint64_t shares_malformed;	/* either side: bad key_share length/ID */
	uint64_t secrets_derived;	/* either side: hybrid secrets produced */
};

/*
 * Load the provider into @ctx (NULL: the default library context), loading
 * OpenSSL's "default" provider there first if it is not available.  Call
 * before creating SSL_CTXs in @ctx.  Returns the provider, or NULL with the
 * reason on the OpenSSL error queue.
 */
OSSL_PROVIDER *qktls_provider_load(OSSL_LIB_CTX *ctx,
				   const struct qktls_qkd_keys *keys);
OSSL_PROVIDER *qktls_provider_load_ex(OSSL_LIB_CTX *ctx,
				      const struct qktls_provider_config *cfg);
/*
 * Unload a provider returned by qktls_provider_load{,_ex}, after every
 * SSL_CTX, SSL and key of its library context is freed (their keys call
 * back into the key source).  OpenSSL keeps the instance in the library
 * context; a later qktls_provider_load there configures it afresh.
 */
void qktls_provider_unload(OSSL_PROVIDER *prov);
/* Copy the counters of @prov into @out; returns 0, or -1 if @prov is not
 * a configured qktls provider. */
int qktls_provider_stats(OSSL_PROVIDER *prov, struct qktls_provider_stats *out);
/*
 * The QKD key reference carried by a key of one of the provider's groups
 * (e.g. SSL_get_peer_tmp_key() on a server after the handshake).  Returns 0
 * and fills @ref, or -1 if @pkey is not such a key or has no reference.
 */
int qktls_provider_key_ref(const EVP_PKEY *pkey, uint8_t ref[QKTLS_QKD_REF_LEN]);

/*
 * An in-memory key store implementing struct qktls_qkd_keys, for tests and
 * for programs that are handed keys directly.  Thread-safe.  Keys are handed
 * out by get_key in the order they were added; each key can be taken once.
 */
struct qktls_memkeys;

struct qktls_memkeys *qktls_memkeys_new(const char *link);
/* Wipes every key it still holds. */
void qktls_memkeys_free(struct qktls_memkeys *mk);
/* Add a key; returns 0, or -1 on a bad length, duplicate ref or no memory. */
int qktls_memkeys_add(struct qktls_memkeys *mk,
		      const uint8_t ref[QKTLS_QKD_REF_LEN],
		      const uint8_t *key, size_t key_len);
/* Keys neither handed out nor consumed. */
size_t qktls_memkeys_available(const struct qktls_memkeys *mk);
/* Keys reported through discard_key. */
size_t qktls_memkeys_discarded(const struct qktls_memkeys *mk);
/* Fill @keys with callbacks on @mk. */
void qktls_memkeys_bind(struct qktls_memkeys *mk, struct qktls_qkd_keys *keys);

/*
 * A key source that asks an ETSI GS QKD 014 KME during the handshake, as
 * the QKD-KEM provider does: get_key draws one 32-byte key with enc_keys
 * for @peer_sae_id (this side is the master SAE), take_key fetches the key
 * the peer named with dec_keys (this side is the slave SAE).  Every key ID
 * drawn or taken is remembered for the source's life; a second take of one
 * is "already used" without a KME call.  Failures put a message naming the
 * KME URL, the call and the KME client's reason on the OpenSSL error queue.
 * Not in libqktls-provider.a (it needs libqktls-kme, libcurl and jansson):
 * built into the loadable module and linked by the agent.
 */
struct qk_kme_config;
struct qktls_kmekeys;

struct qktls_kmekeys_stats {
	unsigned long enc_calls;	/* enc_keys requests */
	unsigned long dec_calls;	/* dec_keys requests */
	unsigned long failed;		/* requests that failed */
	unsigned long keys;		/* keys handed to the provider */
	unsigned long refused;		/* takes of an ID seen before */
};

/* NULL with the reason in @why on a bad configuration or KME client. */
struct qktls_kmekeys *qktls_kmekeys_new(const struct qk_kme_config *kme,
					const char *peer_sae_id,
					const char *link,
					char *why, size_t why_len);
void qktls_kmekeys_free(struct qktls_kmekeys *kk);
void qktls_kmekeys_stats(struct qktls_kmekeys *kk,
			 struct qktls_kmekeys_stats *st);
void qktls_kmekeys_bind(struct qktls_kmekeys *kk, struct qktls_qkd_keys *keys);

#ifdef __cplusplus
}
#endif

#endif /* QKTLS_PROVIDER_H */
