// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ETSI GS QKD 004 V2.1.1 client: OPEN_CONNECT, GET_KEY and CLOSE, one TLS
 * connection (OpenSSL, mutual TLS, TLS 1.2 minimum, the KME's certificate
 * and name verified) per call as in ETSI's reference client, under one
 * deadline from connect to the last response byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <qktls/etsi004.h>

#include "kme-internal.h"

#define DEFAULT_TIMEOUT_MS 10000L

struct qk_004_client {
	SSL_CTX *ctx;
	char *host;
	unsigned int port;
	long timeout_ms;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown TLS error";
}

struct qk_004_client *qk_004_client_new(const struct qk_004_config *cfg,
					struct qk_kme_error *err)
{
	struct qk_004_client *c;
	const char *what = NULL, *path = NULL;

	if (!cfg || !cfg->host || !*cfg->host || strlen(cfg->host) > 253 ||
	    strpbrk(cfg->host, " \t\r\n/") || cfg->port > 65535 ||
	    !cfg->cert || !cfg->key || !cfg->ca || cfg->timeout_ms < 0) {
		qk_kme_fail(err, QK_KME_E_INVAL, 0,
			    "ETSI 004 KME: need a host name (no spaces or '/'), "
			    "a port up to 65535, a client certificate, key and CA");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->host = strdup(cfg->host))) {
		free(c);
		qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	c->port = cfg->port ? cfg->port : QK_004_PORT;
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	ERR_clear_error();
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx || !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION)) {
		what = "TLS context";
		path = "";
	} else if (SSL_CTX_use_certificate_chain_file(c->ctx, cfg->cert) != 1) {
		what = "client certificate";
		path = cfg->cert;
	} else if (SSL_CTX_use_PrivateKey_file(c->ctx, cfg->key, SSL_FILETYPE_PEM) != 1 ||
		   SSL_CTX_check_private_key(c->ctx) != 1) {
		what = "client key";
		path = cfg->key;
	} else if (SSL_CTX_load_verify_file(c->ctx, cfg->ca) != 1) {
		what = "CA file";
		path = cfg->ca;
	}
	if (what) {
		qk_kme_fail(err, QK_KME_E_TLS_CONFIG, 0, "%s %s: %s", what, path,
			    ssl_reason());
		qk_004_client_free(c);
		return NULL;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	return c;
}

void qk_004_client_free(struct qk_004_client *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ctx);
	free(c->host);
	free(c);
}

void qk_004_key_free(struct qk_004_key *k)
{
	if (!k)
		return;
	if (k->key)
		OPENSSL_clear_free(k->key, k->len);
	if (k->metadata)
		OPENSSL_clear_free(k->metadata, k->metadata_len + 1);
	memset(k, 0, sizeof(*k));
}

/* --- one exchange --------------------------------------------------------------- */

struct conn {
	struct qk_004_client *c;
	int fd;
	SSL *ssl;
	long deadline;
	const char *op;
};

static int wait_fd(struct conn *k, short events)
{
	struct pollfd p = { .fd = k->fd, .events = events };
	long left = k->deadline - now_ms();
	int rc;

	if (left <= 0)
		return 0;
	do {
		rc = poll(&p, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	return rc;
}

static enum qk_kme_err timeout(struct conn *k, struct qk_kme_error *err,
			       const char *stage)
{
	return qk_kme_fail(err, QK_KME_E_TIMEOUT, 0,
			   "%s: KME %s:%u did not answer within %ld ms (%s)",
			   k->op, k->c->host, k->c->port, k->c->timeout_ms, stage);
}

static enum qk_kme_err tcp_connect(struct conn *k, struct qk_kme_error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char port[8];
	int rc, soerr = ECONNREFUSED;

	snprintf(port, sizeof(port), "%u", k->c->port);
	rc = getaddrinfo(k->c->host, port, &hints, &res);
	if (rc)
		return qk_kme_fail(err, QK_KME_E_RESOLVE, 0,
				   "%s: KME host %s does not resolve: %s", k->op,
				   k->c->host, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		socklen_t sl = sizeof(soerr);

		k->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
			       SOCK_CLOEXEC, ai->ai_protocol);
		if (k->fd < 0) {
			soerr = errno;
			continue;
		}
		if (!connect(k->fd, ai->ai_addr, ai->ai_addrlen))
			break;
		soerr = errno;
		if (errno == EINPROGRESS) {
			rc = wait_fd(k, POLLOUT);
			if (rc == 0) {
				freeaddrinfo(res);
				return timeout(k, err, "TCP connect");
			}
			if (rc > 0 && !getsockopt(k->fd, SOL_SOCKET, SO_ERROR,
						  &soerr, &sl) && !soerr)
				break;
		}
		close(k->fd);
		k->fd = -1;
	}
	freeaddrinfo(res);
	if (k->fd < 0)
		return qk_kme_fail(err, QK_KME_E_CONNECT, 0,
				   "%s: cannot connect to KME %s:%u: %s", k->op,
				   k->c->host, k->c->port, strerror(soerr));
	return QK_KME_OK;
}

/*
 * Run an SSL call until it completes; 1 on success, 0 on EOF, -1 on error
 * (@err filled).
 */
static int ssl_io(struct conn *k, int (*fn)(SSL *, void *, size_t, size_t *),
		  void *buf, size_t len, size_t *done, const char *stage,
		  struct qk_kme_error *err)
{
	for (;;) {
		int rc, e;

		ERR_clear_error();
		errno = 0;
		rc = fn(k->ssl, buf, len, done);
		if (rc == 1)
			return 1;
		e = SSL_get_error(k->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(k, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) <= 0) {
				timeout(k, err, stage);
				return -1;
			}
			continue;
		}
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !errno))
			return 0;
		if (e == SSL_ERROR_SYSCALL) {
			qk_kme_fail(err, QK_KME_E_DROPPED, 0,
				    "%s: KME %s:%u dropped the connection (%s): %s",
				    k->op, k->c->host, k->c->port, stage,
				    strerror(errno));
			return -1;
		}
		{
			unsigned long l = ERR_peek_last_error();
			int reason = ERR_GET_REASON(l);

			/* A TLS 1.3 server refuses the client certificate after
			 * the client's handshake has finished: the alert comes
			 * with the first read. */
			if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
			    reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
			    reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
			    reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN ||
			    reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED ||
			    reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED)
				qk_kme_fail(err, QK_KME_E_TLS, 0,
					    "%s: KME %s:%u rejected the client certificate: %s",
					    k->op, k->c->host, k->c->port,
					    ssl_reason());
			else
				qk_kme_fail(err, QK_KME_E_TLS, 0,
					    "%s: TLS with KME %s:%u failed (%s): %s",
					    k->op, k->c->host, k->c->port, stage,
					    ssl_reason());
		}
		return -1;
	}
}

static int do_connect(SSL *s, void *b, size_t l, size_t *d)
{
	(void)b; (void)l; (void)d;
	return SSL_connect(s);
}

static int do_write(SSL *s, void *b, size_t l, size_t *d)
{
	return SSL_write_ex(s, b, l, d);
}

static int do_read(SSL *s, void *b, size_t l, size_t *d)
{
	return SSL_read_ex(s, b, l, d);
}

static enum qk_kme_err tls_start(struct conn *k, struct qk_kme_error *err)
{
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, k->c->host, ip) == 1 ||
		     inet_pton(AF_INET6, k->c->host, ip) == 1;
	size_t done;
	int rc;

	k->ssl = SSL_new(k->c->ctx);
	if (!k->ssl || SSL_set_fd(k->ssl, k->fd) != 1 ||
	    (!is_ip && (SSL_set_tlsext_host_name(k->ssl, k->c->host) != 1 ||
			SSL_set1_host(k->ssl, k->c->host) != 1)) ||
	    (is_ip && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl),
						     k->c->host) != 1))
		return qk_kme_fail(err, QK_KME_E_NOMEM, 0, "%s: cannot set up TLS",
				   k->op);
	rc = ssl_io(k, do_connect, NULL, 0, &done, "TLS handshake", err);
	if (rc == 1)
		return QK_KME_OK;
	if (SSL_get_verify_result(k->ssl) != X509_V_OK)
		return qk_kme_fail(err, QK_KME_E_TLS_VERIFY, 0,
				   "%s: KME %s:%u certificate did not verify: %s",
				   k->op, k->c->host, k->c->port,
				   X509_verify_cert_error_string(
					   SSL_get_verify_result(k->ssl)));
	if (rc == 0)
		return qk_kme_fail(err, QK_KME_E_DROPPED, 0,
				   "%s: KME %s:%u closed the connection during the TLS handshake",
				   k->op, k->c->host, k->c->port);
	return err ? err->code : QK_KME_E_TLS;
}

/* Read exactly @len bytes. */
static enum qk_kme_err read_full(struct conn *k, unsigned char *buf, size_t len,
				 const char *what, struct qk_kme_error *err)
{
	size_t got = 0;

	while (got < len) {
		size_t n = 0;
		int rc = ssl_io(k, do_read, buf + got, len - got, &n, what, err);

		if (rc < 0)
			return err ? err->code : QK_KME_E_TRANSPORT;
		if (rc == 0)
			return qk_kme_fail(err, QK_KME_E_DROPPED, 0,
					   "%s: KME %s:%u closed the connection after "
					   "%zu of %zu bytes of the %s", k->op,
					   k->c->host, k->c->port, got, len, what);
		got += n;
	}
	return QK_KME_OK;
}

/*
 * Send @req, read the answer of service @want: its payload in *@payload
 * (OPENSSL_malloc'd, wiped by the caller), length *@plen.
 */
static enum qk_kme_err exchange(struct qk_004_client *c, const char *op,
				const unsigned char *req, size_t req_len,
				uint8_t want, unsigned char **payload,
				size_t *plen, struct qk_kme_error *err)
{
	struct conn k = { .c = c, .fd = -1, .op = op,
			  .deadline = now_ms() + c->timeout_ms };
	unsigned char hdr[QK_004_HEADER_LEN];
	char why[256];
	uint8_t service;
	uint32_t n;
	size_t done = 0;
	enum qk_kme_err rc;

	*payload = NULL;
	*plen = 0;
	rc = tcp_connect(&k, err);
	if (rc == QK_KME_OK)
		rc = tls_start(&k, err);
	if (rc == QK_KME_OK) {
		int w = ssl_io(&k, do_write, (void *)req, req_len, &done,
			       "sending the request", err);

		if (w <= 0) {
			unsigned char b;
			size_t n;
			struct qk_kme_error e2;

			/*
			 * A TLS 1.3 server that refuses the client certificate
			 * sends its alert and closes; the write may meet the
			 * reset first.  The alert, when it arrived, says why.
			 */
			if (ssl_io(&k, do_read, &b, 1, &n, "after the request",
				   &e2) < 0 && e2.code == QK_KME_E_TLS &&
			    strstr(e2.message, "rejected the client certificate")) {
				if (err)
					*err = e2;
				rc = QK_KME_E_TLS;
			} else if (w == 0) {
				rc = qk_kme_fail(err, QK_KME_E_DROPPED, 0,
						 "%s: KME %s:%u closed the connection before the request was sent",
						 op, c->host, c->port);
			} else {
				rc = err ? err->code : QK_KME_E_TRANSPORT;
			}
		}
	}
	if (rc == QK_KME_OK)
		rc = read_full(&k, hdr, sizeof(hdr), "response header", err);
	if (rc == QK_KME_OK && qk004_decode_header(hdr, &service, &n, why, sizeof(why)))
		rc = qk_kme_fail(err, n > QK_004_PAYLOAD_MAX ? QK_KME_E_TOO_LARGE :
				 QK_KME_E_MALFORMED, 0, "%s: KME %s:%u: %s", op,
				 c->host, c->port, why);
	if (rc == QK_KME_OK && service != want)
		rc = qk_kme_fail(err, QK_KME_E_MALFORMED, 0,
				 "%s: KME %s:%u answered service type 0x%02x, not 0x%02x",
				 op, c->host, c->port, service, want);
	if (rc == QK_KME_OK) {
		*payload = OPENSSL_malloc(n ? n : 1);
		if (!*payload)
			rc = qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
		else
			rc = read_full(&k, *payload, n, "response payload", err);
		if (rc == QK_KME_OK) {
			*plen = n;
		} else if (*payload) {
			OPENSSL_clear_free(*payload, n ? n : 1);
			*payload = NULL;
		}
	}
	if (k.ssl) {
		if (rc == QK_KME_OK)
			SSL_shutdown(k.ssl);	/* best effort, non-blocking */
		SSL_free(k.ssl);
	}
	if (k.fd >= 0)
		close(k.fd);
	return rc;
}

static enum qk_kme_err bad_status(struct qk_004_client *c, const char *op,
				  uint32_t status, const char *extra,
				  struct qk_kme_error *err)
{
	return qk_kme_fail(err, qk_004_status_err(status), 0,
			   "%s: KME %s:%u answered status %u %s%s", op, c->host,
			   c->port, status, qk_004_status_name(status),
			   extra ? extra : "");
}

/* --- the three calls -------------------------------------------------------------- */

static bool ksid_zero(const unsigned char k[QK_004_KSID_LEN])
{
	for (int i = 0; i < QK_004_KSID_LEN; i++)
		if (k[i])
			return false;
	return true;
}

enum qk_kme_err qk_004_open_connect(struct qk_004_client *c,
				    const char *source, const char *destination,
				    struct qk_004_qos *qos,
				    unsigned char ksid[QK_004_KSID_LEN],
				    uint32_t *status, struct qk_kme_error *err)
{
	struct qk_004_open_req req;
	struct qk_004_open_resp resp;
	unsigned char *msg, *payload;
	size_t len, plen;
	char why[256];
	enum qk_kme_err rc;

	if (status)
		*status = UINT32_MAX;
	if (!c || !qos || !ksid || !source || !*source || !destination ||
	    !*destination)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "OPEN_CONNECT: source and destination URIs, QoS and a key stream ID buffer are required");
	if (!qos->key_chunk_size || qos->key_chunk_size > QK_004_CHUNK_MAX ||
	    qos->min_bps > qos->max_bps)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "OPEN_CONNECT: key chunk size must be 1 to %u bytes and min_bps <= max_bps",
				   QK_004_CHUNK_MAX);
	req.source = source;
	req.destination = destination;
	req.qos = *qos;
	memcpy(req.ksid, ksid, QK_004_KSID_LEN);
	if (qk004_encode_open_req(&req, &msg, &len, why, sizeof(why)))
		return qk_kme_fail(err, QK_KME_E_INVAL, 0, "OPEN_CONNECT: %s", why);
	rc = exchange(c, "OPEN_CONNECT", msg, len, QK_004_OPEN_CONNECT_RESPONSE,
		      &payload, &plen, err);
	OPENSSL_clear_free(msg, len);
	if (rc)
		return rc;
	if (qk004_decode_open_resp(payload, plen, &resp, why, sizeof(why))) {
		OPENSSL_clear_free(payload, plen ? plen : 1);
		return qk_kme_fail(err, QK_KME_E_MALFORMED, 0, "KME %s:%u: %s",
				   c->host, c->port, why);
	}
	OPENSSL_clear_free(payload, plen ? plen : 1);
	if (status)
		*status = resp.status;
	if (resp.status == QK_004_OC_QOS_NOT_SATISFIABLE) {
		*qos = resp.qos;
		return qk_kme_fail(err, QK_KME_E_QOS, 0,
				   "OPEN_CONNECT: KME %s:%u answered status 7 "
				   "OC_QOS_NOT_SATISFIABLE; it proposes key_chunk_size %u, "
				   "min_bps %u, max_bps %u, mimetype \"%s\"", c->host,
				   c->port, resp.qos.key_chunk_size, resp.qos.min_bps,
				   resp.qos.max_bps, resp.qos.metadata_mimetype);
	}
	if (qk_004_status_err(resp.status) != QK_KME_OK)
		return bad_status(c, "OPEN_CONNECT", resp.status, NULL, err);
	if (ksid_zero(resp.ksid) ||
	    (!ksid_zero(ksid) && memcmp(ksid, resp.ksid, QK_004_KSID_LEN)))
		return qk_kme_fail(err, QK_KME_E_MALFORMED, 0,
				   "OPEN_CONNECT: KME %s:%u answered %s key stream ID",
				   c->host, c->port, ksid_zero(resp.ksid) ?
				   "an all-zero" : "another");
	if (resp.qos.key_chunk_size != qos->key_chunk_size)
		return qk_kme_fail(err, QK_KME_E_MALFORMED, 0,
				   "OPEN_CONNECT: KME %s:%u granted key_chunk_size %u without status 7 (asked %u)",
				   c->host, c->port, resp.qos.key_chunk_size,
				   qos->key_chunk_size);
	*qos = resp.qos;
	memcpy(ksid, resp.ksid, QK_004_KSID_LEN);
	return QK_KME_OK;
}

enum qk_kme_err qk_004_get_key(struct qk_004_client *c,
			       const unsigned char ksid[QK_004_KSID_LEN],
			       uint32_t index, size_t key_len, size_t metadata_cap,
			       struct qk_004_key *out, uint32_t *status,
			       struct qk_kme_error *err)
{
	struct qk_004_get_req req = { .index = index };
	struct qk_004_get_resp resp;
	unsigned char *msg, *payload;
	size_t len, plen;
	char why[256], extra[96];
	enum qk_kme_err rc;

	if (status)
		*status = UINT32_MAX;
	if (out)
		memset(out, 0, sizeof(*out));
	if (!c || !ksid || !out || ksid_zero(ksid) || !key_len ||
	    key_len > QK_004_CHUNK_MAX || metadata_cap > QK_004_METADATA_MAX)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "GET_KEY: need an open key stream ID, a key length of 1 to %u bytes and a metadata size up to %u",
				   QK_004_CHUNK_MAX, QK_004_METADATA_MAX);
	memcpy(req.ksid, ksid, QK_004_KSID_LEN);
	req.metadata_size = (uint32_t)metadata_cap;
	if (qk004_encode_get_req(&req, &msg, &len, why, sizeof(why)))
		return qk_kme_fail(err, QK_KME_E_INVAL, 0, "GET_KEY: %s", why);
	rc = exchange(c, "GET_KEY", msg, len, QK_004_GET_KEY_RESPONSE, &payload,
		      &plen, err);
	OPENSSL_clear_free(msg, len);
	if (rc)
		return rc;
	if (qk004_decode_get_resp(payload, plen, &resp, why, sizeof(why))) {
		rc = qk_kme_fail(err, QK_KME_E_MALFORMED, 0, "KME %s:%u: %s",
				 c->host, c->port, why);
		goto out;
	}
	if (status)
		*status = resp.status;
	if (resp.status != QK_004_SUCCESSFUL) {
		extra[0] = '\0';
		if (resp.status == QK_004_GK_METADATA_INSUFFICIENT_SIZE)
			snprintf(extra, sizeof(extra),
				 " (metadata needs %u bytes, %zu offered)",
				 resp.metadata_len, metadata_cap);
		else
			snprintf(extra, sizeof(extra), " for index %u", index);
		rc = bad_status(c, "GET_KEY", resp.status, extra, err);
		goto out;
	}
	if (resp.index != index || resp.key_len != key_len ||
	    resp.metadata_len > metadata_cap) {
		rc = qk_kme_fail(err, resp.index != index ? QK_KME_E_MALFORMED :
				 resp.key_len != key_len ? QK_KME_E_KEY_LENGTH :
				 QK_KME_E_MALFORMED, 0,
				 "GET_KEY: KME %s:%u answered index %u with %u key bytes and %u metadata bytes; asked index %u, %zu key bytes, at most %zu metadata bytes",
				 c->host, c->port, resp.index, resp.key_len,
				 resp.metadata_len, index, key_len, metadata_cap);
		goto out;
	}
	out->key = OPENSSL_malloc(key_len);
	out->metadata = resp.metadata_len ? OPENSSL_malloc(resp.metadata_len + 1) : NULL;
	if (!out->key || (resp.metadata_len && !out->metadata)) {
		OPENSSL_free(out->key);
		OPENSSL_free(out->metadata);
		memset(out, 0, sizeof(*out));
		rc = qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
		goto out;
	}
	memcpy(out->key, resp.key, key_len);
	out->len = key_len;
	out->index = index;
	if (out->metadata) {
		memcpy(out->metadata, resp.metadata, resp.metadata_len);
		out->metadata[resp.metadata_len] = '\0';
		out->metadata_len = resp.metadata_len;
	}
out:
	OPENSSL_clear_free(payload, plen ? plen : 1);
	return rc;
}

enum qk_kme_err qk_004_close(struct qk_004_client *c,
			     const unsigned char ksid[QK_004_KSID_LEN],
			     uint32_t *status, struct qk_kme_error *err)
{
	unsigned char *msg, *payload;
	size_t len, plen;
	uint32_t st;
	char why[256];
	enum qk_kme_err rc;

	if (status)
		*status = UINT32_MAX;
	if (!c || !ksid || ksid_zero(ksid))
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "CLOSE: need a key stream ID (not all zero)");
	if (qk004_encode_close_req(ksid, &msg, &len, why, sizeof(why)))
		return qk_kme_fail(err, QK_KME_E_NOMEM, 0, "CLOSE: %s", why);
	rc = exchange(c, "CLOSE", msg, len, QK_004_CLOSE_RESPONSE, &payload,
		      &plen, err);
	OPENSSL_free(msg);
	if (rc)
		return rc;
	if (qk004_decode_close_resp(payload, plen, &st, why, sizeof(why))) {
		OPENSSL_clear_free(payload, plen ? plen : 1);
		return qk_kme_fail(err, QK_KME_E_MALFORMED, 0, "KME %s:%u: %s",
				   c->host, c->port, why);
	}
	OPENSSL_clear_free(payload, plen ? plen : 1);
	if (status)
		*status = st;
	if (st != QK_004_SUCCESSFUL)
		return bad_status(c, "CLOSE", st, NULL, err);
	return QK_KME_OK;
}
