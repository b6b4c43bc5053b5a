/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qktls KME client: ETSI GS QKD 014 v1.1.1 over HTTPS with mutual TLS, and
 * the general key-source interface the agent's pool feeders use.
 *
 * Every call returns an enum qk_kme_err (QK_KME_OK is 0) and, on failure,
 * fills a struct qk_kme_error with the KME's own message and details (for
 * ETSI errors) or an explanation of what went wrong (transport, TLS,
 * validation).  Key bytes are only ever in struct qk_kme_keys, whose
 * qk_kme_keys_free() wipes them; nothing key-bearing is logged.
 *
 * A client owns one libcurl handle, so consecutive calls reuse the TLS
 * connection.  Calls on one client are serialised by a mutex; use one client
 * per thread for parallel requests.
 */
#ifndef QKTLS_KME_H
#define QKTLS_KME_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * enum qk_kme_err - outcome of a KME call; each failure has its own code
 * @QK_KME_OK:            success
 * @QK_KME_E_INVAL:       the caller's arguments are invalid
 * @QK_KME_E_NOMEM:       out of memory
 * @QK_KME_E_BAD_REQUEST: the KME answered 400 (bad request format)
 * @QK_KME_E_UNAUTHORIZED: the KME answered 401 (SAE not authorised)
 * @QK_KME_E_UNAVAILABLE: the KME answered 503 (error on the KME side,
 *                        e.g. not enough key material)
 * @QK_KME_E_HTTP:        the KME answered another HTTP status
 * @QK_KME_E_RESOLVE:     the KME's host name does not resolve
 * @QK_KME_E_CONNECT:     the TCP connection was refused or unreachable
 * @QK_KME_E_TIMEOUT:     the call did not complete within its timeout
 * @QK_KME_E_TLS:         the TLS handshake failed
 * @QK_KME_E_TLS_VERIFY:  the KME's certificate or host name did not verify
 * @QK_KME_E_TLS_CONFIG:  the local certificate, key or CA file is unusable
 * @QK_KME_E_DROPPED:     the KME closed the connection without a complete
 *                        response
 * @QK_KME_E_TRANSPORT:   another transport failure
 * @QK_KME_E_TOO_LARGE:   the response exceeds QK_KME_MAX_RESPONSE
 * @QK_KME_E_MALFORMED:   the response is not the JSON the standard defines
 * @QK_KME_E_KEY_ENCODING: a key is not valid base64
 * @QK_KME_E_KEY_LENGTH:  a key does not decode to exactly size/8 bytes
 * @QK_KME_E_BAD_KEY_ID:  a key ID is not a UUID, or is duplicated
 * @QK_KME_E_KEY_COUNT:   the KME returned another number of keys than asked
 * @QK_KME_E_KEY_ID_MISMATCH: dec_keys returned other key IDs than asked for
 * @QK_KME_E_UNSUPPORTED: the key source does not implement this operation
 * @QK_KME_E_PEER_NOT_CONNECTED: ETSI 004: the peer application has not
 *                        opened the key stream (GET_KEY status 3)
 * @QK_KME_E_NO_KEY:      ETSI 004: insufficient key available (status 2)
 * @QK_KME_E_NO_CONNECTION: ETSI 004: no QKD connection available (status 4)
 * @QK_KME_E_KSID_IN_USE: ETSI 004: the key stream ID is in use (status 5)
 * @QK_KME_E_QOS:         ETSI 004: the QoS cannot be met (status 7)
 * @QK_KME_E_METADATA_SIZE: ETSI 004: metadata larger than asked (status 8)
 * @QK_KME_E_STATUS:      ETSI 004: a status the standard does not define
 */
enum qk_kme_err {
	QK_KME_OK = 0,
	QK_KME_E_INVAL,
	QK_KME_E_NOMEM,
	QK_KME_E_BAD_REQUEST,
	QK_KME_E_UNAUTHORIZED,
	QK_KME_E_UNAVAILABLE,
	QK_KME_E_HTTP,
	QK_KME_E_RESOLVE,
	QK_KME_E_CONNECT,
	QK_KME_E_TIMEOUT,
	QK_KME_E_TLS,
	QK_KME_E_TLS_VERIFY,
	QK_KME_E_TLS_CONFIG,
	QK_KME_E_DROPPED,
	QK_KME_E_TRANSPORT,
	QK_KME_E_TOO_LARGE,
	QK_KME_E_MALFORMED,
	QK_KME_E_KEY_ENCODING,
	QK_KME_E_KEY_LENGTH,
	QK_KME_E_BAD_KEY_ID,
	QK_KME_E_KEY_COUNT,
	QK_KME_E_KEY_ID_MISMATCH,
	QK_KME_E_UNSUPPORTED,
	QK_KME_E_PEER_NOT_CONNECTED,
	QK_KME_E_NO_KEY,
	QK_KME_E_NO_CONNECTION,
	QK_KME_E_KSID_IN_USE,
	QK_KME_E_QOS,
	QK_KME_E_METADATA_SIZE,
	QK_KME_E_STATUS,
	QK_KME_E_MAX_
};

/* Largest response body accepted from a KME. */
#define QK_KME_MAX_RESPONSE	(4u << 20)
/* Length of a UUID in text form, without the NUL. */
#define QK_KME_UUID_LEN		36
/* Longest KME or SAE ID kept in struct qk_kme_status. */
#define QK_KME_ID_MAX		255

/**
 * struct qk_kme_error - why a call failed
 * @code:        the enum qk_kme_err the call returned
 * @http_status: HTTP status of the KME's answer, 0 if there was none
 * @message:     the KME's "message" for ETSI errors, else the library's
 *               explanation (always NUL-terminated, never key material)
 * @details:     the KME's "details" array as compact JSON; for a key
 *               container rejected after the KME used its keys up,
 *               {"rejected_key_IDs":[...]} (as many as fit, then
 *               "more_key_IDs": N) so an operator can reconcile; or ""
 * @answer:      the KME's answer that was rejected (a non-200 status or a
 *               200 that failed validation): control characters replaced,
 *               the value of every "key" member redacted, truncated; or ""
 */
struct qk_kme_error {
	enum qk_kme_err code;
	long http_status;
	char message[512];
	char details[1024];
	char answer[1024];
};

/**
 * struct qk_kme_config - how to reach one KME
 * @url:        base URL, "https://host:port" (a path prefix is allowed;
 *              "/api/v1/keys/..." is appended)
 * @cert:       PEM file with the SAE's client certificate
 * @key:        PEM file with its private key
 * @ca:         PEM file with the CA(s) that sign the KME's certificate
 * @crl:        PEM file with CRLs of those CAs (NULL: none); with one,
 *              every certificate of the KME's chain is checked against
 *              them (libcurl's CURLOPT_CRLFILE), a revoked one refused
 * @timeout_ms: default time limit for a whole call (0: 10000)
 * @connect_timeout_ms: limit for TCP + TLS set-up (0: the call's limit)
 *
 * TLS 1.2 is the minimum; the peer certificate and host name are always
 * verified.  There is deliberately no option to turn that off.
 */
struct qk_kme_config {
	const char *url;
	const char *cert;
	const char *key;
	const char *ca;
	long timeout_ms;
	long connect_timeout_ms;
	const char *crl;
};

/**
 * struct qk_kme_status - the ETSI "Status" data format
 * @status_extension: the "status_extension" object as compact JSON, or NULL
 *
 * Freed with qk_kme_status_free().
 */
struct qk_kme_status {
	char source_kme_id[QK_KME_ID_MAX + 1];
	char target_kme_id[QK_KME_ID_MAX + 1];
	char master_sae_id[QK_KME_ID_MAX + 1];
	char slave_sae_id[QK_KME_ID_MAX + 1];
	unsigned long key_size;
	unsigned long stored_key_count;
	unsigned long max_key_count;
	unsigned long max_key_per_request;
	unsigned long max_key_size;
	unsigned long min_key_size;
	unsigned long max_sae_id_count;
	char *status_extension;
};

/**
 * struct qk_kme_key - one key of a key container
 * @id:           the key ID (a UUID, NUL-terminated)
 * @key:          @len bytes of key material (inside the container's
 *                wiped-on-free buffer)
 * @len:          key length in bytes
 * @id_extension: "key_ID_extension" as compact JSON, or NULL
 * @key_extension: "key_extension" as compact JSON, or NULL
 */
struct qk_kme_key {
	char id[QK_KME_UUID_LEN + 1];
	unsigned char *key;
	size_t len;
	char *id_extension;
	char *key_extension;
};

/**
 * struct qk_kme_keys - a key container
 * @count:     number of keys
 * @keys:      the keys; for dec_keys in the order the IDs were asked for
 * @container_extension: "key_container_extension" as compact JSON, or NULL
 * @material:  one buffer holding every key's bytes (wiped on free)
 * @material_len: its size
 *
 * Freed, and every key byte wiped, with qk_kme_keys_free().
 */
struct qk_kme_keys {
	size_t count;
	struct qk_kme_key *keys;
	char *container_extension;
	unsigned char *material;
	size_t material_len;
};

/**
 * struct qk_kme_enc_req - parameters of "Get key" (enc_keys)
 * @number:   keys wanted (0: the KME's default, 1)
 * @size:     key size in bits, a multiple of 8 (0: the KME's default)
 * @additional_slave_sae_ids: further slave SAEs (POST only), or NULL
 * @n_additional: how many
 * @extension_mandatory: a JSON array of objects (POST only), or NULL
 * @extension_optional:  a JSON array of objects (POST only), or NULL
 * @use_get:  use the GET form (only number and size)
 * @timeout_ms: limit for this call (0: the client's default)
 */
struct qk_kme_enc_req {
	unsigned int number;
	unsigned int size;
	const char *const *additional_slave_sae_ids;
	size_t n_additional;
	const char *extension_mandatory;
	const char *extension_optional;
	bool use_get;
	long timeout_ms;
};

/**
 * struct qk_kme_dec_req - parameters of "Get key with key IDs" (dec_keys)
 * @key_ids:  the key IDs (UUIDs) to fetch
 * @n_ids:    how many (the GET form takes exactly one)
 * @key_ids_extension: "key_IDs_extension" as a JSON object (POST), or NULL
 * @size:     expected key size in bits (0: any, but all keys equal)
 * @use_get:  use the GET form (one key ID)
 * @timeout_ms: limit for this call (0: the client's default)
 */
struct qk_kme_dec_req {
	const char *const *key_ids;
	size_t n_ids;
	const char *key_ids_extension;
	unsigned int size;
	bool use_get;
	long timeout_ms;
};

/**
 * struct qk_kme_expect - what a key container must hold to be accepted
 * @number: exact number of keys (0: at least one)
 * @size:   exact key size in bits (0: any, but all keys the same)
 * @ids:    if not NULL, the exact set of key IDs (dec_keys); the result is
 *          put in this order
 * @n_ids:  how many
 */
struct qk_kme_expect {
	unsigned int number;
	unsigned int size;
	const char *const *ids;
	size_t n_ids;
};

/**
 * struct qk_kme_stats - counters of one client
 * @requests: HTTP requests made
 * @connects: new connections opened (lower than @requests means reuse)
 */
struct qk_kme_stats {
	unsigned long requests;
	unsigned long connects;
};

struct qk_kme_client;

/* Name of an error code, e.g. "timeout" (never NULL). */
const char *qk_kme_strerror(enum qk_kme_err code);

struct qk_kme_client *qk_kme_client_new(const struct qk_kme_config *cfg,
					struct qk_kme_error *err);
void qk_kme_client_free(struct qk_kme_client *c);
void qk_kme_client_stats(struct qk_kme_client *c, struct qk_kme_stats *st);

/* GET /api/v1/keys/{slave_SAE_ID}/status */
enum qk_kme_err qk_kme_status(struct qk_kme_client *c, const char *slave_sae_id,
			      long timeout_ms, struct qk_kme_status *out,
			      struct qk_kme_error *err);
/* GET or POST /api/v1/keys/{slave_SAE_ID}/enc_keys */
enum qk_kme_err qk_kme_enc_keys(struct qk_kme_client *c, const char *slave_sae_id,
				const struct qk_kme_enc_req *req,
				struct qk_kme_keys *out, struct qk_kme_error *err);
/* GET or POST /api/v1/keys/{master_SAE_ID}/dec_keys */
enum qk_kme_err qk_kme_dec_keys(struct qk_kme_client *c, const char *master_sae_id,
				const struct qk_kme_dec_req *req,
				struct qk_kme_keys *out, struct qk_kme_error *err);

void qk_kme_keys_free(struct qk_kme_keys *keys);
void qk_kme_status_free(struct qk_kme_status *st);

/*
 * The response parsers, network-free (used by the client and the fuzzer).
 * @body need not be NUL-terminated.  qk_kme_parse_error() fills @err from an
 * ETSI error answer and returns the code for @http_status.
 */
enum qk_kme_err qk_kme_parse_keys(const char *body, size_t len,
				  const struct qk_kme_expect *exp,
				  struct qk_kme_keys *out, struct qk_kme_error *err);
enum qk_kme_err qk_kme_parse_status(const char *body, size_t len,
				    struct qk_kme_status *out,
				    struct qk_kme_error *err);
enum qk_kme_err qk_kme_parse_error(long http_status, const char *body,
				   size_t len, struct qk_kme_error *err);
/* True if @s is a UUID in the 8-4-4-4-12 hex form. */
bool qk_kme_is_uuid(const char *s);
/*
 * A key ID's UUID text to its 16 bytes (the hex digits in text order) and
 * back (lower case).  to_bytes returns 0, or -1 if @uuid is not a UUID.
 */
int qk_kme_uuid_to_bytes(const char *uuid, unsigned char out[16]);
void qk_kme_uuid_from_bytes(const unsigned char in[16],
			    char out[QK_KME_UUID_LEN + 1]);
/*
 * Make jansson wipe every block it frees (keys pass through it as base64).
 * The library does this itself when it is loaded; programs that use
 * jansson for key-bearing JSON without the client (the simulator) call it
 * before their first JSON call.
 */
void qk_json_use_wiping_alloc(void);

/*
 * The general key source.  A source delivers keys shared with one peer:
 * get_keys() draws new keys and returns their IDs (ETSI 014 enc_keys; for a
 * stream source the IDs name stream positions), get_keys_by_id() returns
 * the keys the peer drew (ETSI 014 dec_keys), status() reports what the
 * source can deliver.  A stateful source (ETSI 004: OPEN_CONNECT, GET_KEY,
 * CLOSE; see <qktls/etsi004.h>) keeps its session in @priv; a source that
 * cannot fetch by ID may leave get_keys_by_id() NULL,
 * which callers see as QK_KME_E_UNSUPPORTED.
 */
struct qk_key_source;

struct qk_key_source_ops {
	const char *name;
	enum qk_kme_err (*get_keys)(struct qk_key_source *src, const char *peer,
				    unsigned int number, unsigned int size,
				    struct qk_kme_keys *out,
				    struct qk_kme_error *err);
	enum qk_kme_err (*get_keys_by_id)(struct qk_key_source *src,
					  const char *peer,
					  const char *const *ids, size_t n_ids,
					  unsigned int size,
					  struct qk_kme_keys *out,
					  struct qk_kme_error *err);
	enum qk_kme_err (*status)(struct qk_key_source *src, const char *peer,
				  struct qk_kme_status *out,
				  struct qk_kme_error *err);
	void (*destroy)(struct qk_key_source *src);
};

struct qk_key_source {
	const struct qk_key_source_ops *ops;
	void *priv;
	long timeout_ms;
};

/* An ETSI 014 source over a qk_kme_client made from @cfg. */
struct qk_key_source *qk_kme014_source_new(const struct qk_kme_config *cfg,
					   struct qk_kme_error *err);

enum qk_kme_err qk_key_source_get(struct qk_key_source *src, const char *peer,
				  unsigned int number, unsigned int size,
				  struct qk_kme_keys *out, struct qk_kme_error *err);
enum qk_kme_err qk_key_source_get_by_id(struct qk_key_source *src,
					const char *peer,
					const char *const *ids, size_t n_ids,
					unsigned int size, struct qk_kme_keys *out,
					struct qk_kme_error *err);
enum qk_kme_err qk_key_source_status(struct qk_key_source *src,
				     const char *peer, struct qk_kme_status *out,
				     struct qk_kme_error *err);
void qk_key_source_free(struct qk_key_source *src);

#ifdef __cplusplus
}
#endif

#endif /* QKTLS_KME_H */
