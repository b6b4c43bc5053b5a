// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ETSI GS QKD 004 V2.1.1: the binary encoding of ETSI's reference
 * implementation of the application interface (gs004-app-int), network-free.
 * The client (etsi004.c) and the simulator's server use it; the unit tests
 * and Documentation/qktls/etsi004.rst give the bytes.
 *
 * Every message: version (3 bytes: major, minor, micro), service type
 * (1 byte), payload length (u32, network order), payload.  Integers are
 * u32 in network order, UUIDs 16 raw bytes, URIs and the mimetype
 * NUL-terminated strings, byte buffers a u32 length and the bytes.
 * There is no general-purpose format here to hand to a library: this is
 * the protocol's own fixed layout, read with bounds checks on every field.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include <qktls/etsi004.h>

#include "kme-internal.h"

static const char *const status_names[QK_004_STATUS_MAX_] = {
	[QK_004_SUCCESSFUL] = "SUCCESSFUL",
	[QK_004_PEER_NOT_CONNECTED] = "PEER_NOT_CONNECTED",
	[QK_004_GK_INSUFFICIENT_KEY_AVAILABLE] = "GK_INSUFFICIENT_KEY_AVAILABLE",
	[QK_004_GK_PEER_NOT_CONNECTED] = "GK_PEER_NOT_CONNECTED",
	[QK_004_NO_QKD_CONNECTION_AVAILABLE] = "NO_QKD_CONNECTION_AVAILABLE",
	[QK_004_OC_KSID_ALREADY_IN_USE] = "OC_KSID_ALREADY_IN_USE",
	[QK_004_TIMEOUT_ERROR] = "TIMEOUT_ERROR",
	[QK_004_OC_QOS_NOT_SATISFIABLE] = "OC_QOS_NOT_SATISFIABLE",
	[QK_004_GK_METADATA_INSUFFICIENT_SIZE] = "GK_METADATA_INSUFFICIENT_SIZE",
};

const char *qk_004_status_name(uint32_t status)
{
	return status < QK_004_STATUS_MAX_ ? status_names[status] : "unknown";
}

enum qk_kme_err qk_004_status_err(uint32_t status)
{
	switch (status) {
	case QK_004_SUCCESSFUL:
	case QK_004_PEER_NOT_CONNECTED:
		return QK_KME_OK;
	case QK_004_GK_INSUFFICIENT_KEY_AVAILABLE:
		return QK_KME_E_NO_KEY;
	case QK_004_GK_PEER_NOT_CONNECTED:
		return QK_KME_E_PEER_NOT_CONNECTED;
	case QK_004_NO_QKD_CONNECTION_AVAILABLE:
		return QK_KME_E_NO_CONNECTION;
	case QK_004_OC_KSID_ALREADY_IN_USE:
		return QK_KME_E_KSID_IN_USE;
	case QK_004_TIMEOUT_ERROR:
		return QK_KME_E_TIMEOUT;
	case QK_004_OC_QOS_NOT_SATISFIABLE:
		return QK_KME_E_QOS;
	case QK_004_GK_METADATA_INSUFFICIENT_SIZE:
		return QK_KME_E_METADATA_SIZE;
	default:
		return QK_KME_E_STATUS;
	}
}

void qk_004_ksid_str(const unsigned char k[QK_004_KSID_LEN], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9],
		 k[10], k[11], k[12], k[13], k[14], k[15]);
}

int qk_004_ksid_parse(const char *s, unsigned char k[QK_004_KSID_LEN])
{
	size_t n = 0;

	if (!s || !qk_kme_is_uuid(s))
		return -1;
	for (; *s; s++) {
		if (*s == '-')
			continue;
		if (!(n & 1))
			k[n / 2] = (unsigned char)(OPENSSL_hexchar2int((unsigned char)*s) << 4);
		else
			k[n / 2] |= (unsigned char)OPENSSL_hexchar2int((unsigned char)*s);
		n++;
	}
	return n == 2 * QK_004_KSID_LEN ? 0 : -1;
}

int qk_004_parse_url(const char *url, char *host, size_t hostlen,
		     unsigned int *port)
{
	const char *h, *end, *colon;
	unsigned long p = QK_004_PORT;
	char *e;

	if (!url || strncmp(url, "qkd004://", 9))
		return -1;
	h = url + 9;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end || end == h + 1)
			return -1;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return -1;
		h++;
	} else {
		colon = strchr(h, ':');
		end = colon ? colon : h + strlen(h);
	}
	if (end == h || (size_t)(end - h) >= hostlen || memchr(h, '/', end - h) ||
	    memchr(h, ' ', end - h) || memchr(h, '@', end - h))
		return -1;
	if (colon) {
		errno = 0;
		p = strtoul(colon + 1, &e, 10);
		if (errno || e == colon + 1 || *e || colon[1] == '-' || !p || p > 65535)
			return -1;
	}
	memcpy(host, h, end - h);
	host[end - h] = '\0';
	*port = (unsigned int)p;
	return 0;
}

/* --- writing ------------------------------------------------------------------- */

struct wr {
	unsigned char *buf, *p;
	size_t len;
};

static int wr_start(struct wr *w, uint8_t service, size_t payload_len,
		    char *why, size_t whylen)
{
	if (payload_len > QK_004_PAYLOAD_MAX) {
		snprintf(why, whylen, "message too large (%zu bytes)", payload_len);
		return -1;
	}
	w->len = QK_004_HEADER_LEN + payload_len;
	w->buf = w->p = OPENSSL_malloc(w->len);
	if (!w->buf) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	*w->p++ = QK_004_VERSION_MAJOR;
	*w->p++ = QK_004_VERSION_MINOR;
	*w->p++ = QK_004_VERSION_MICRO;
	*w->p++ = service;
	*w->p++ = (unsigned char)(payload_len >> 24);
	*w->p++ = (unsigned char)(payload_len >> 16);
	*w->p++ = (unsigned char)(payload_len >> 8);
	*w->p++ = (unsigned char)payload_len;
	return 0;
}

static void wr_u32(struct wr *w, uint32_t v)
{
	v = htonl(v);
	memcpy(w->p, &v, 4);
	w->p += 4;
}

static void wr_mem(struct wr *w, const void *p, size_t n)
{
	if (n)
		memcpy(w->p, p, n);
	w->p += n;
}

static void wr_str(struct wr *w, const char *s)
{
	wr_mem(w, s, strlen(s) + 1);
}

static void wr_bytes(struct wr *w, const void *p, uint32_t n)
{
	wr_u32(w, n);
	if (p) {
		wr_mem(w, p, n);
	} else {
		memset(w->p, 0, n);
		w->p += n;
	}
}

static int wr_done(struct wr *w, unsigned char **out, size_t *out_len)
{
	*out = w->buf;
	*out_len = w->len;
	return 0;
}

static int check_str(const char *what, const char *s, size_t max,
		     char *why, size_t whylen)
{
	if (!s || strnlen(s, max + 1) > max) {
		snprintf(why, whylen, "%s %s", what, s ? "too long" : "missing");
		return -1;
	}
	return 0;
}

static size_t qos_size(const struct qk_004_qos *q)
{
	return 7 * 4 + strlen(q->metadata_mimetype) + 1;
}

static void wr_qos(struct wr *w, const struct qk_004_qos *q)
{
	wr_u32(w, q->key_chunk_size);
	wr_u32(w, q->max_bps);
	wr_u32(w, q->min_bps);
	wr_u32(w, q->jitter);
	wr_u32(w, q->priority);
	wr_u32(w, q->timeout);
	wr_u32(w, q->ttl);
	wr_str(w, q->metadata_mimetype);
}

static int check_qos(const struct qk_004_qos *q, char *why, size_t whylen)
{
	return check_str("metadata mimetype", q->metadata_mimetype,
			 QK_004_MIMETYPE_MAX, why, whylen);
}

int qk004_encode_open_req(const struct qk_004_open_req *m, unsigned char **out,
			  size_t *out_len, char *why, size_t whylen)
{
	struct wr w;

	if (check_str("source URI", m->source, QK_004_URI_MAX, why, whylen) ||
	    check_str("destination URI", m->destination, QK_004_URI_MAX, why, whylen) ||
	    check_qos(&m->qos, why, whylen) ||
	    wr_start(&w, QK_004_OPEN_CONNECT_REQUEST,
		     strlen(m->source) + 1 + strlen(m->destination) + 1 +
		     qos_size(&m->qos) + QK_004_KSID_LEN, why, whylen))
		return -1;
	wr_str(&w, m->source);
	wr_str(&w, m->destination);
	wr_qos(&w, &m->qos);
	wr_mem(&w, m->ksid, QK_004_KSID_LEN);
	return wr_done(&w, out, out_len);
}

int qk004_encode_open_resp(const struct qk_004_open_resp *m, unsigned char **out,
			   size_t *out_len, char *why, size_t whylen)
{
	struct wr w;

	if (check_qos(&m->qos, why, whylen) ||
	    wr_start(&w, QK_004_OPEN_CONNECT_RESPONSE,
		     4 + qos_size(&m->qos) + QK_004_KSID_LEN, why, whylen))
		return -1;
	wr_u32(&w, m->status);
	wr_qos(&w, &m->qos);
	wr_mem(&w, m->ksid, QK_004_KSID_LEN);
	return wr_done(&w, out, out_len);
}

int qk004_encode_get_req(const struct qk_004_get_req *m, unsigned char **out,
			 size_t *out_len, char *why, size_t whylen)
{
	struct wr w;

	if (m->metadata_size > QK_004_METADATA_MAX) {
		snprintf(why, whylen, "metadata size %u above %u", m->metadata_size,
			 QK_004_METADATA_MAX);
		return -1;
	}
	if (wr_start(&w, QK_004_GET_KEY_REQUEST,
		     QK_004_KSID_LEN + 4 + 4 + m->metadata_size, why, whylen))
		return -1;
	wr_mem(&w, m->ksid, QK_004_KSID_LEN);
	wr_u32(&w, m->index);
	/* The metadata buffer the application offers: its size, zeroed. */
	wr_bytes(&w, NULL, m->metadata_size);
	return wr_done(&w, out, out_len);
}

int qk004_encode_get_resp(const struct qk_004_get_resp *m, unsigned char **out,
			  size_t *out_len, char *why, size_t whylen)
{
	struct wr w;

	if (m->key_len > QK_004_CHUNK_MAX || m->metadata_len > QK_004_METADATA_MAX) {
		snprintf(why, whylen, "key or metadata too large");
		return -1;
	}
	if (wr_start(&w, QK_004_GET_KEY_RESPONSE,
		     4 + 4 + 4 + (size_t)m->key_len + 4 + m->metadata_len,
		     why, whylen))
		return -1;
	wr_u32(&w, m->status);
	wr_u32(&w, m->index);
	wr_bytes(&w, m->key, m->key_len);
	wr_bytes(&w, m->metadata, m->metadata_len);
	return wr_done(&w, out, out_len);
}

int qk004_encode_close_req(const unsigned char ksid[QK_004_KSID_LEN],
			   unsigned char **out, size_t *out_len,
			   char *why, size_t whylen)
{
	struct wr w;

	if (wr_start(&w, QK_004_CLOSE_REQUEST, QK_004_KSID_LEN, why, whylen))
		return -1;
	wr_mem(&w, ksid, QK_004_KSID_LEN);
	return wr_done(&w, out, out_len);
}

int qk004_encode_close_resp(uint32_t status, unsigned char **out,
			    size_t *out_len, char *why, size_t whylen)
{
	struct wr w;

	if (wr_start(&w, QK_004_CLOSE_RESPONSE, 4, why, whylen))
		return -1;
	wr_u32(&w, status);
	return wr_done(&w, out, out_len);
}

/* --- reading ------------------------------------------------------------------- */

struct rd {
	const unsigned char *p;
	size_t left;
	const char *field;	/* the first field that did not fit */
};

static bool rd_u32(struct rd *r, const char *field, uint32_t *v)
{
	uint32_t n;

	if (r->field || r->left < 4) {
		if (!r->field)
			r->field = field;
		return false;
	}
	memcpy(&n, r->p, 4);
	*v = ntohl(n);
	r->p += 4;
	r->left -= 4;
	return true;
}

static bool rd_mem(struct rd *r, const char *field, size_t n,
		   const unsigned char **p)
{
	if (r->field || r->left < n) {
		if (!r->field)
			r->field = field;
		return false;
	}
	*p = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static bool rd_ksid(struct rd *r, const char *field, unsigned char *k)
{
	const unsigned char *p;

	if (!rd_mem(r, field, QK_004_KSID_LEN, &p))
		return false;
	memcpy(k, p, QK_004_KSID_LEN);
	return true;
}

/* A NUL-terminated string of at most @max bytes before the NUL. */
static bool rd_str(struct rd *r, const char *field, size_t max, const char **s)
{
	const unsigned char *nul;

	if (r->field)
		return false;
	nul = memchr(r->p, 0, r->left < max + 1 ? r->left : max + 1);
	if (!nul) {
		r->field = field;
		return false;
	}
	*s = (const char *)r->p;
	r->left -= nul + 1 - r->p;
	r->p = nul + 1;
	return true;
}

static bool rd_bytes(struct rd *r, const char *field, uint32_t max,
		     const unsigned char **p, uint32_t *n)
{
	if (!rd_u32(r, field, n))
		return false;
	if (*n > max) {
		r->field = field;
		return false;
	}
	return rd_mem(r, field, *n, p);
}

static bool rd_qos(struct rd *r, struct qk_004_qos *q)
{
	const char *mime = NULL;

	rd_u32(r, "QoS key_chunk_size", &q->key_chunk_size);
	rd_u32(r, "QoS max_bps", &q->max_bps);
	rd_u32(r, "QoS min_bps", &q->min_bps);
	rd_u32(r, "QoS jitter", &q->jitter);
	rd_u32(r, "QoS priority", &q->priority);
	rd_u32(r, "QoS timeout", &q->timeout);
	rd_u32(r, "QoS TTL", &q->ttl);
	if (!rd_str(r, "QoS metadata mimetype (NUL-terminated, at most 255 bytes)",
		    QK_004_MIMETYPE_MAX, &mime))
		return false;
	memcpy(q->metadata_mimetype, mime, strlen(mime) + 1);
	return true;
}

static int rd_end(struct rd *r, const char *msg, char *why, size_t whylen)
{
	if (r->field) {
		snprintf(why, whylen, "%s: field \"%s\" is truncated or too long",
			 msg, r->field);
		return -1;
	}
	if (r->left) {
		snprintf(why, whylen, "%s: %zu bytes after the last field", msg,
			 r->left);
		return -1;
	}
	return 0;
}

int qk004_decode_header(const unsigned char h[QK_004_HEADER_LEN],
			uint8_t *service, uint32_t *payload_len,
			char *why, size_t whylen)
{
	uint32_t n;

	if (h[0] != QK_004_VERSION_MAJOR) {
		snprintf(why, whylen,
			 "protocol version %u.%u.%u, not %u.x.x (ETSI GS QKD 004 V2)",
			 h[0], h[1], h[2], QK_004_VERSION_MAJOR);
		return -1;
	}
	*service = h[3];
	memcpy(&n, h + 4, 4);
	*payload_len = ntohl(n);
	if (*payload_len > QK_004_PAYLOAD_MAX) {
		snprintf(why, whylen, "payload of %u bytes announced (limit %u)",
			 *payload_len, QK_004_PAYLOAD_MAX);
		return -1;
	}
	return 0;
}

int qk004_decode_open_req(const unsigned char *p, size_t len,
			  struct qk_004_open_req *m, char *why, size_t whylen)
{
	struct rd r = { p, len, NULL };

	memset(m, 0, sizeof(*m));
	rd_str(&r, "source URI", QK_004_URI_MAX, &m->source);
	rd_str(&r, "destination URI", QK_004_URI_MAX, &m->destination);
	if (!r.field)
		rd_qos(&r, &m->qos);
	rd_ksid(&r, "key stream ID", m->ksid);
	return rd_end(&r, "OPEN_CONNECT request", why, whylen);
}

/*
 * A failure answer may carry the status alone (4 bytes); the reference
 * sends the whole structure, which is read in full.
 */
int qk004_decode_open_resp(const unsigned char *p, size_t len,
			   struct qk_004_open_resp *m, char *why, size_t whylen)
{
	struct rd r = { p, len, NULL };

	memset(m, 0, sizeof(*m));
	rd_u32(&r, "status", &m->status);
	if (!r.field && !r.left && m->status != QK_004_SUCCESSFUL &&
	    m->status != QK_004_PEER_NOT_CONNECTED &&
	    m->status != QK_004_OC_QOS_NOT_SATISFIABLE)
		return 0;
	if (!r.field)
		rd_qos(&r, &m->qos);
	rd_ksid(&r, "key stream ID", m->ksid);
	return rd_end(&r, "OPEN_CONNECT response", why, whylen);
}

int qk004_decode_get_req(const unsigned char *p, size_t len,
			 struct qk_004_get_req *m, char *why, size_t whylen)
{
	struct rd r = { p, len, NULL };
	const unsigned char *md;

	memset(m, 0, sizeof(*m));
	rd_ksid(&r, "key stream ID", m->ksid);
	rd_u32(&r, "index", &m->index);
	rd_bytes(&r, "metadata", QK_004_METADATA_MAX, &md, &m->metadata_size);
	return rd_end(&r, "GET_KEY request", why, whylen);
}

int qk004_decode_get_resp(const unsigned char *p, size_t len,
			  struct qk_004_get_resp *m, char *why, size_t whylen)
{
	struct rd r = { p, len, NULL };

	memset(m, 0, sizeof(*m));
	rd_u32(&r, "status", &m->status);
	if (!r.field && !r.left && m->status != QK_004_SUCCESSFUL)
		return 0;
	rd_u32(&r, "index", &m->index);
	rd_bytes(&r, "key buffer", QK_004_CHUNK_MAX, &m->key, &m->key_len);
	rd_bytes(&r, "metadata", QK_004_METADATA_MAX, &m->metadata,
		 &m->metadata_len);
	return rd_end(&r, "GET_KEY response", why, whylen);
}

int qk004_decode_close_req(const unsigned char *p, size_t len,
			   unsigned char ksid[QK_004_KSID_LEN],
			   char *why, size_t whylen)
{
	struct rd r = { p, len, NULL };

	rd_ksid(&r, "key stream ID", ksid);
	return rd_end(&r, "CLOSE request", why, whylen);
}

int qk004_decode_close_resp(const unsigned char *p, size_t len,
			    uint32_t *status, char *why, size_t whylen)
{
	struct rd r = { p, len, NULL };

	rd_u32(&r, "status", status);
	return rd_end(&r, "CLOSE response", why, whylen);
}
