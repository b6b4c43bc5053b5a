/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qktls KME client, ETSI GS QKD 004 V2.1.1 (application interface):
 * OPEN_CONNECT, GET_KEY and CLOSE over TLS over TCP (mutual TLS, default
 * port 25575), in the binary encoding of ETSI's reference implementation
 * (forge.etsi.org/rep/qkd/gs004-app-int).  Documentation/qktls/etsi004.rst
 * gives the bytes.
 *
 * Like the reference client, every call is one TLS connection carrying
 * one request and one response.  Calls return an enum qk_kme_err and fill a
 * struct qk_kme_error; a status other than SUCCESSFUL (and, for
 * OPEN_CONNECT, PEER_NOT_CONNECTED) is an error with its own code.  Key
 * bytes live only in struct qk_004_key, which qk_004_key_free() wipes.
 *
 * The codec (qk004_encode_* / qk004_decode_*) is network-free and shared
 * with the simulator's server side.
 */
#ifndef QKTLS_ETSI004_H
#define QKTLS_ETSI004_H

#include <stddef.h>
#include <stdint.h>

#include <qktls/kme.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QK_004_PORT		25575
#define QK_004_KSID_LEN		16
/* A mimetype is at most 255 bytes plus its NUL, as in the reference. */
#define QK_004_MIMETYPE_MAX	255
/* Limits of this implementation (the standard sets none). */
#define QK_004_URI_MAX		1024
#define QK_004_CHUNK_MAX	65536u	/* key bytes per GET_KEY */
#define QK_004_METADATA_MAX	65536u	/* metadata bytes */
#define QK_004_HEADER_LEN	8
#define QK_004_PAYLOAD_MAX	(16u + 16u + QK_004_CHUNK_MAX + QK_004_METADATA_MAX)

/* Protocol version in every header (the reference sends 2.1.1). */
#define QK_004_VERSION_MAJOR	2
#define QK_004_VERSION_MINOR	1
#define QK_004_VERSION_MICRO	1

/**
 * enum qk_004_service - service type byte of the header
 */
enum qk_004_service {
	QK_004_OPEN_CONNECT_REQUEST = 0x02,
	QK_004_OPEN_CONNECT_RESPONSE = 0x03,
	QK_004_GET_KEY_REQUEST = 0x04,
	QK_004_GET_KEY_RESPONSE = 0x05,
	QK_004_CLOSE_REQUEST = 0x08,
	QK_004_CLOSE_RESPONSE = 0x09,
};

/**
 * enum qk_004_status - the status codes of ETSI GS QKD 004 V2.1.1 (the
 * complete list: 0 to 8)
 */
enum qk_004_status {
	QK_004_SUCCESSFUL = 0,
	QK_004_PEER_NOT_CONNECTED = 1,		/* OPEN_CONNECT succeeded */
	QK_004_GK_INSUFFICIENT_KEY_AVAILABLE = 2,
	QK_004_GK_PEER_NOT_CONNECTED = 3,
	QK_004_NO_QKD_CONNECTION_AVAILABLE = 4,
	QK_004_OC_KSID_ALREADY_IN_USE = 5,
	QK_004_TIMEOUT_ERROR = 6,
	QK_004_OC_QOS_NOT_SATISFIABLE = 7,
	QK_004_GK_METADATA_INSUFFICIENT_SIZE = 8,
	QK_004_STATUS_MAX_
};

/**
 * struct qk_004_qos - the QoS of OPEN_CONNECT (in the request: asked for;
 * in the response: granted, or the KME's counter-proposal)
 * @key_chunk_size: key bytes per GET_KEY
 * @max_bps, @min_bps: key bit rates
 * @jitter:   maximum deviation of delivery (ms)
 * @priority: priority of the request
 * @timeout:  ms after which a call is aborted with TIMEOUT_ERROR
 * @ttl:      seconds the key stream lives
 * @metadata_mimetype: format of GET_KEY metadata, e.g. "application/json"
 */
struct qk_004_qos {
	uint32_t key_chunk_size;
	uint32_t max_bps;
	uint32_t min_bps;
	uint32_t jitter;
	uint32_t priority;
	uint32_t timeout;
	uint32_t ttl;
	char metadata_mimetype[QK_004_MIMETYPE_MAX + 1];
};

/* The messages, decoded.  Strings point into the decoded buffer. */
struct qk_004_open_req {
	const char *source, *destination;
	struct qk_004_qos qos;
	unsigned char ksid[QK_004_KSID_LEN];
};

struct qk_004_open_resp {
	uint32_t status;
	struct qk_004_qos qos;
	unsigned char ksid[QK_004_KSID_LEN];
};

struct qk_004_get_req {
	unsigned char ksid[QK_004_KSID_LEN];
	uint32_t index;
	uint32_t metadata_size;		/* capacity for metadata */
};

struct qk_004_get_resp {
	uint32_t status;
	uint32_t index;
	const unsigned char *key;	/* into the decoded buffer */
	uint32_t key_len;
	const unsigned char *metadata;
	uint32_t metadata_len;
};

/**
 * struct qk_004_config - how to reach one KME's application interface
 * @host:       host name or address (the KME certificate must name it)
 * @port:       TCP port (0: 25575)
 * @cert, @key: the application's client certificate and key (PEM)
 * @ca:         CA(s) of the KME's certificate (PEM)
 * @timeout_ms: limit for a whole call, connect to response (0: 10000)
 */
struct qk_004_config {
	const char *host;
	unsigned int port;
	const char *cert;
	const char *key;
	const char *ca;
	long timeout_ms;
};

/**
 * struct qk_004_key - one GET_KEY answer
 * @index:    the key's index in the stream
 * @key:      @len bytes of key material (wiped by qk_004_key_free())
 * @metadata: @metadata_len bytes of metadata (NUL-terminated copy), or NULL
 */
struct qk_004_key {
	uint32_t index;
	unsigned char *key;
	size_t len;
	char *metadata;
	size_t metadata_len;
};

struct qk_004_client;

/* "SUCCESSFUL", "GK_INSUFFICIENT_KEY_AVAILABLE", ... or "unknown". */
const char *qk_004_status_name(uint32_t status);
/* The qk_kme_err an ETSI 004 status stands for (QK_KME_OK for 0 and 1). */
enum qk_kme_err qk_004_status_err(uint32_t status);
/* Key stream ID <-> 8-4-4-4-12 text; parse returns 0 or -1. */
void qk_004_ksid_str(const unsigned char ksid[QK_004_KSID_LEN], char out[37]);
int qk_004_ksid_parse(const char *s, unsigned char ksid[QK_004_KSID_LEN]);

/*
 * "qkd004://HOST[:PORT]" or "qkd004://[IPV6][:PORT]" (port 25575 by
 * default) into @host and @port; 0, or -1 if it is not one.
 */
int qk_004_parse_url(const char *url, char *host, size_t hostlen,
		     unsigned int *port);

struct qk_004_client *qk_004_client_new(const struct qk_004_config *cfg,
					struct qk_kme_error *err);
void qk_004_client_free(struct qk_004_client *c);

/*
 * OPEN_CONNECT.  @ksid in: all zero to have the KME make a key stream, or
 * the ID the peer application got; out: the stream's ID.  @qos in: asked
 * for; out: what the KME granted or proposed instead.  @status (may be
 * NULL) gets the ETSI status.  QK_KME_OK for SUCCESSFUL and
 * PEER_NOT_CONNECTED; QK_KME_E_QOS (with the counter-proposal in @qos) for
 * OC_QOS_NOT_SATISFIABLE.
 */
enum qk_kme_err qk_004_open_connect(struct qk_004_client *c,
				    const char *source, const char *destination,
				    struct qk_004_qos *qos,
				    unsigned char ksid[QK_004_KSID_LEN],
				    uint32_t *status, struct qk_kme_error *err);
/*
 * GET_KEY of @index.  @key_len: the chunk size the stream was opened with
 * (the answer must have exactly that many bytes).  @metadata_cap: how many
 * metadata bytes the application takes (0: none).
 */
enum qk_kme_err qk_004_get_key(struct qk_004_client *c,
			       const unsigned char ksid[QK_004_KSID_LEN],
			       uint32_t index, size_t key_len, size_t metadata_cap,
			       struct qk_004_key *out, uint32_t *status,
			       struct qk_kme_error *err);
enum qk_kme_err qk_004_close(struct qk_004_client *c,
			     const unsigned char ksid[QK_004_KSID_LEN],
			     uint32_t *status, struct qk_kme_error *err);
void qk_004_key_free(struct qk_004_key *k);

/*
 * A key source (struct qk_key_source of <qktls/kme.h>) over one key
 * stream.  Both agents configure the same @ksid and open it at their own
 * KME; a key's ID names its index (qk_004_index_id()): get_keys() reads
 * the next indices from @first_index on, get_keys_by_id() the indices
 * the IDs name.  The stream is opened when the source is made (a failure
 * is retried by the next call) and again after the KME lost it; status()
 * OPEN_CONNECTs again (closing and reopening a stream still open: its used
 * indices stay used), which is how a peer that is never asked for keys
 * rejoins, and reports only the key size.  Freeing the source CLOSEs the
 * stream.
 */
struct qk_004_source_config {
	struct qk_004_config kme;
	const char *source, *destination;
	unsigned char ksid[QK_004_KSID_LEN];
	struct qk_004_qos qos;
	uint64_t first_index;
};

struct qk_key_source *qk_kme004_source_new(const struct qk_004_source_config *cfg,
					   struct qk_kme_error *err);
/* The key ID of @index: ksid[0..7] then the index, 64-bit big-endian. */
void qk_004_index_id(const unsigned char ksid[QK_004_KSID_LEN], uint64_t index,
		     char out[37]);
/* The index @id names in stream @ksid; 0, or -1 if it names none. */
int qk_004_id_index(const unsigned char ksid[QK_004_KSID_LEN], const char *id,
		    uint64_t *index);

/*
 * The codec.  An encoder writes a whole message (header and payload) into
 * a new OPENSSL_malloc'd buffer (*out, *out_len; free with
 * OPENSSL_clear_free) and returns 0, or -1 with @why filled (bad input,
 * out of memory).  qk004_decode_header() checks the 8-byte header;
 * a payload decoder takes exactly the payload and returns 0, or -1 with
 * @why filled when it is not exactly one such message.
 */
int qk004_encode_open_req(const struct qk_004_open_req *m, unsigned char **out,
			  size_t *out_len, char *why, size_t whylen);
int qk004_encode_open_resp(const struct qk_004_open_resp *m, unsigned char **out,
			   size_t *out_len, char *why, size_t whylen);
int qk004_encode_get_req(const struct qk_004_get_req *m, unsigned char **out,
			 size_t *out_len, char *why, size_t whylen);
int qk004_encode_get_resp(const struct qk_004_get_resp *m, unsigned char **out,
			  size_t *out_len, char *why, size_t whylen);
int qk004_encode_close_req(const unsigned char ksid[QK_004_KSID_LEN],
			   unsigned char **out, size_t *out_len,
			   char *why, size_t whylen);
int qk004_encode_close_resp(uint32_t status, unsigned char **out,
			    size_t *out_len, char *why, size_t whylen);

int qk004_decode_header(const unsigned char hdr[QK_004_HEADER_LEN],
			uint8_t *service, uint32_t *payload_len,
			char *why, size_t whylen);
int qk004_decode_open_req(const unsigned char *p, size_t len,
			  struct qk_004_open_req *m, char *why, size_t whylen);
int qk004_decode_open_resp(const unsigned char *p, size_t len,
			   struct qk_004_open_resp *m, char *why, size_t whylen);
int qk004_decode_get_req(const unsigned char *p, size_t len,
			 struct qk_004_get_req *m, char *why, size_t whylen);
int qk004_decode_get_resp(const unsigned char *p, size_t len,
			  struct qk_004_get_resp *m, char *why, size_t whylen);
int qk004_decode_close_req(const unsigned char *p, size_t len,
			   unsigned char ksid[QK_004_KSID_LEN],
			   char *why, size_t whylen);
int qk004_decode_close_resp(const unsigned char *p, size_t len,
			    uint32_t *status, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif

#endif /* QKTLS_ETSI004_H */
