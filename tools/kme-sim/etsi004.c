// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ETSI GS QKD 004 V2.1.1 application interface of each simulated KME:
 * TLS over TCP (OpenSSL, client certificates required and mapped to SAE
 * IDs as for 014), the binary encoding of ETSI's reference implementation
 * (the codec of libqktls-kme), key streams drawn from the same simulated
 * link as the 014 keys.
 *
 * A key stream is opened at both KMEs with the same key stream ID (the
 * first OPEN_CONNECT, with an all-zero ID, makes one; the peer application
 * opens it with that ID).  The key of an index is made the first time
 * either side asks for it, consuming key_chunk_size * 8 bits of the link,
 * and is the same at both ends; each side gets each index once, and a key
 * is wiped once both sides have it.  Documentation/qktls/etsi004.rst.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <qktls/etsi004.h>

#include "sim.h"

#define MAX_CONNS	64
#define MAX_STREAMS	1024

struct skey {
	uint32_t index;
	unsigned char *bytes;	/* NULL once both sides have it */
	bool got[2];		/* delivered at KME A / B */
	double born;
	struct skey *next;
};

struct stream {
	unsigned char ksid[QK_004_KSID_LEN];
	char *sae[2];		/* the application at KME A / B */
	bool open[2];
	bool ever[2];
	struct qk_004_qos qos;
	struct skey *keys;	/* made, and delivered ones above floor */
	unsigned long n_keys;
	uint64_t floor;		/* every index below was delivered to both */
	struct stream *next;
};

/* --- streams (under sim->lock) --------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void skey_free(struct skey *k, size_t len)
{
	if (k->bytes)
		OPENSSL_clear_free(k->bytes, len);
	free(k);
}

/* Drop the records of indices delivered to both sides from floor up. */
static void raise_floor(struct stream *st)
{
	struct skey **kp;
	bool moved = true;

	while (moved) {
		moved = false;
		for (kp = &st->keys; *kp; kp = &(*kp)->next) {
			struct skey *k = *kp;

			if (k->index == st->floor && !k->bytes) {
				*kp = k->next;
				free(k);
				st->floor++;
				moved = true;
				break;
			}
		}
	}
}

static void stream_free(struct stream *st)
{
	while (st->keys) {
		struct skey *k = st->keys;

		st->keys = k->next;
		skey_free(k, st->qos.key_chunk_size);
	}
	free(st->sae[0]);
	free(st->sae[1]);
	free(st);
}

void e004_free_streams(struct sim *s)
{
	while (s->streams) {
		struct stream *st = s->streams;

		s->streams = st->next;
		stream_free(st);
	}
	s->n_streams = 0;
}

static struct stream **find_stream(struct sim *s, const unsigned char *ksid)
{
	struct stream **pp;

	for (pp = &s->streams; *pp; pp = &(*pp)->next)
		if (!memcmp((*pp)->ksid, ksid, QK_004_KSID_LEN))
			return pp;
	return NULL;
}

static bool is_zero(const unsigned char *k)
{
	for (int i = 0; i < QK_004_KSID_LEN; i++)
		if (k[i])
			return false;
	return true;
}

/* The SAE ID a URI names: "SAE" or "scheme://SAE[/...|?...]". */
static void uri_sae(const char *uri, char *out, size_t size)
{
	const char *p = strstr(uri, "://");
	size_t n;

	p = p ? p + 3 : uri;
	n = strcspn(p, "/?#");
	snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

static uint32_t open_connect(struct kme *k, const char *sae,
			     const struct qk_004_open_req *rq,
			     struct qk_004_open_resp *rs, char *why, size_t whylen)
{
	struct sim *s = k->sim;
	int me = k->name == 'b';
	char src[SIM_ID_MAX + 1], dst[SIM_ID_MAX + 1];
	struct stream **pp, *st;
	uint32_t chunk = rq->qos.key_chunk_size;
	bool qos_ok;

	rs->qos = rq->qos;
	uri_sae(rq->source, src, sizeof(src));
	uri_sae(rq->destination, dst, sizeof(dst));
	if (strcmp(src, sae)) {
		snprintf(why, whylen, "source %.100s is not the caller %.100s",
			 src, sae);
		return QK_004_NO_QKD_CONNECTION_AVAILABLE;
	}
	if (!kme_has_sae(k->peer, dst)) {
		snprintf(why, whylen, "destination %.100s is not attached to KME %s",
			 dst, k->peer->id);
		return QK_004_NO_QKD_CONNECTION_AVAILABLE;
	}
	pp = is_zero(rq->ksid) ? NULL : find_stream(s, rq->ksid);
	st = pp ? *pp : NULL;
	/* QoS: chunk within the link's key sizes, a rate it can give. */
	qos_ok = chunk && chunk * 8ul >= s->min_key_size &&
		 chunk * 8ul <= s->max_key_size && rq->qos.min_bps <= s->rate &&
		 (!rq->qos.metadata_mimetype[0] ||
		  !strcmp(rq->qos.metadata_mimetype, "application/json"));
	if (st && chunk != st->qos.key_chunk_size)
		qos_ok = false;
	if (!qos_ok) {
		rs->qos.key_chunk_size = st ? st->qos.key_chunk_size :
					 (uint32_t)(s->key_size / 8);
		if (rs->qos.min_bps > s->rate)
			rs->qos.min_bps = (uint32_t)s->rate;
		if (rs->qos.max_bps < rs->qos.min_bps)
			rs->qos.max_bps = rs->qos.min_bps;
		strcpy(rs->qos.metadata_mimetype, "application/json");
		snprintf(why, whylen, "QoS cannot be met (chunk %u bytes, min_bps %u)",
			 chunk, rq->qos.min_bps);
		return QK_004_OC_QOS_NOT_SATISFIABLE;
	}
	if (st) {
		/* Reopening after CLOSE is allowed; indices stay used. */
		if (st->open[me] || strcmp(st->sae[me], src) ||
		    strcmp(st->sae[!me], dst)) {
			snprintf(why, whylen, "key stream open here already, or of other applications");
			return QK_004_OC_KSID_ALREADY_IN_USE;
		}
		st->open[me] = st->ever[me] = true;
		memcpy(rs->ksid, st->ksid, QK_004_KSID_LEN);
		return st->open[!me] ? QK_004_SUCCESSFUL : QK_004_PEER_NOT_CONNECTED;
	}
	if (s->n_streams >= MAX_STREAMS) {
		snprintf(why, whylen, "%d key streams open", MAX_STREAMS);
		return QK_004_NO_QKD_CONNECTION_AVAILABLE;
	}
	st = calloc(1, sizeof(*st));
	if (!st || !(st->sae[me] = strdup(src)) || !(st->sae[!me] = strdup(dst))) {
		if (st)
			stream_free(st);
		snprintf(why, whylen, "out of memory");
		return QK_004_NO_QKD_CONNECTION_AVAILABLE;
	}
	if (is_zero(rq->ksid)) {
		if (RAND_bytes(st->ksid, QK_004_KSID_LEN) != 1)
			abort();
		st->ksid[6] = (st->ksid[6] & 0x0f) | 0x40;
		st->ksid[8] = (st->ksid[8] & 0x3f) | 0x80;
	} else {
		memcpy(st->ksid, rq->ksid, QK_004_KSID_LEN);
	}
	st->qos = rq->qos;
	st->open[me] = st->ever[me] = true;
	st->next = s->streams;
	s->streams = st;
	s->n_streams++;
	memcpy(rs->ksid, st->ksid, QK_004_KSID_LEN);
	return QK_004_PEER_NOT_CONNECTED;
}

/* The stream @ksid if @sae has it open at @k, else NULL. */
static struct stream *my_stream(struct kme *k, const char *sae,
				const unsigned char *ksid)
{
	struct stream **pp = find_stream(k->sim, ksid);
	int me = k->name == 'b';

	if (!pp || !(*pp)->open[me] || strcmp((*pp)->sae[me], sae))
		return NULL;
	return *pp;
}

/*
 * GET_KEY: fills @rs (key and metadata point into *@hold, which the caller
 * wipes with @hold_len).
 */
static uint32_t get_key(struct kme *k, const char *sae, int fault,
			const struct qk_004_get_req *rq,
			struct qk_004_get_resp *rs, unsigned char **hold,
			size_t *hold_len, char *why, size_t whylen)
{
	struct sim *s = k->sim;
	int me = k->name == 'b';
	struct stream *st = my_stream(k, sae, rq->ksid);
	struct skey **kp, *key;
	size_t chunk;
	char md[512];
	size_t mdlen = 0;

	rs->index = rq->index;
	if (!st) {
		snprintf(why, whylen, "no such key stream open here for %.100s", sae);
		return QK_004_NO_QKD_CONNECTION_AVAILABLE;
	}
	if (fault == FAULT004_PEER_NOT_CONNECTED || !st->open[!me]) {
		snprintf(why, whylen, "%s", fault ? "(fault)" : st->ever[!me] ?
			 "the peer application closed the stream" :
			 "the peer application has not opened the stream");
		return QK_004_GK_PEER_NOT_CONNECTED;
	}
	chunk = st->qos.key_chunk_size;
	for (kp = &st->keys; *kp; kp = &(*kp)->next)
		if ((*kp)->index == rq->index)
			break;
	key = *kp;
	if ((key && key->got[me]) || rq->index < st->floor) {
		snprintf(why, whylen, "index %u was already delivered here", rq->index);
		return QK_004_GK_INSUFFICIENT_KEY_AVAILABLE;
	}
	if (fault == FAULT004_INSUFFICIENT_KEY) {
		snprintf(why, whylen, "(fault)");
		return QK_004_GK_INSUFFICIENT_KEY_AVAILABLE;
	}
	if (!key) {
		link_update(s);
		if (s->avail_bits < chunk * 8.0 || st->n_keys >= s->max_key_count) {
			snprintf(why, whylen, "not enough key material: %zu bits asked, %.0f stored",
				 chunk * 8, s->avail_bits);
			return QK_004_GK_INSUFFICIENT_KEY_AVAILABLE;
		}
		key = calloc(1, sizeof(*key));
		if (key)
			key->bytes = OPENSSL_malloc(chunk);
		if (!key || !key->bytes || RAND_bytes(key->bytes, (int)chunk) != 1) {
			if (key)
				OPENSSL_free(key->bytes);
			free(key);
			snprintf(why, whylen, "out of memory");
			return QK_004_GK_INSUFFICIENT_KEY_AVAILABLE;
		}
		key->index = rq->index;
		key->born = now_s();
		s->avail_bits -= chunk * 8.0;
		key->next = st->keys;
		st->keys = key;
		st->n_keys++;
		s->keys_out++;
		for (kp = &st->keys; *kp != key; kp = &(*kp)->next)
			;
	}
	if (rq->metadata_size) {
		json_t *j = json_pack("{ss sI sI}", "kme", k->id,
				      "index", (json_int_t)rq->index, "age_ms",
				      (json_int_t)((now_s() - key->born) * 1000));

		mdlen = j ? json_dumpb(j, md, sizeof(md), JSON_COMPACT) : 0;
		json_decref(j);
		if (mdlen >= sizeof(md))
			mdlen = 0;
		if (mdlen > rq->metadata_size) {
			/* The length tells the minimum; the bytes are zero. */
			rs->metadata_len = (uint32_t)mdlen;
			snprintf(why, whylen, "metadata needs %zu bytes, %u offered",
				 mdlen, rq->metadata_size);
			return QK_004_GK_METADATA_INSUFFICIENT_SIZE;
		}
	}
	*hold_len = chunk + mdlen;
	*hold = OPENSSL_malloc(*hold_len ? *hold_len : 1);
	if (!*hold) {
		snprintf(why, whylen, "out of memory");
		return QK_004_GK_INSUFFICIENT_KEY_AVAILABLE;
	}
	memcpy(*hold, key->bytes, chunk);
	if (mdlen)
		memcpy(*hold + chunk, md, mdlen);
	rs->key = *hold;
	rs->key_len = (uint32_t)chunk;
	rs->metadata = mdlen ? *hold + chunk : NULL;
	rs->metadata_len = (uint32_t)mdlen;
	key->got[me] = true;
	s->keys_delivered++;
	if (key->got[!me]) {
		/* Both have it: wipe it, keep that the index is used. */
		OPENSSL_clear_free(key->bytes, chunk);
		key->bytes = NULL;
		st->n_keys--;
		raise_floor(st);
	}
	return QK_004_SUCCESSFUL;
}

static uint32_t close_stream(struct kme *k, const char *sae,
			     const unsigned char *ksid, char *why, size_t whylen)
{
	struct stream **pp = find_stream(k->sim, ksid), *st;
	int me = k->name == 'b';

	if (!my_stream(k, sae, ksid)) {
		snprintf(why, whylen, "no such key stream open here for %.100s", sae);
		return QK_004_NO_QKD_CONNECTION_AVAILABLE;
	}
	st = *pp;
	st->open[me] = false;
	if (!st->open[!me]) {
		*pp = st->next;
		stream_free(st);
		k->sim->n_streams--;
	}
	return QK_004_SUCCESSFUL;
}

/* --- connections ------------------------------------------------------------- */

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conn_gone = PTHREAD_COND_INITIALIZER;
static int conn_fds[MAX_CONNS] = { [0 ... MAX_CONNS - 1] = -1 };
static int n_conns;

struct conn {
	struct kme *k;
	int fd;
	int slot;
};

static bool read_full(SSL *ssl, unsigned char *buf, size_t len)
{
	size_t got = 0, n;

	while (got < len) {
		if (SSL_read_ex(ssl, buf + got, len - got, &n) != 1)
			return false;
		got += n;
	}
	return true;
}

static char *peer_sae(struct kme *k, SSL *ssl, char *why, size_t whylen)
{
	X509 *crt = SSL_get0_peer_certificate(ssl);
	char cn[SIM_ID_MAX + 1];

	if (!crt || X509_NAME_get_text_by_NID(X509_get_subject_name(crt),
					      NID_commonName, cn, sizeof(cn)) <= 0) {
		snprintf(why, whylen, "client certificate has no usable CN");
		return NULL;
	}
	return sim_sae_for_cn(k->sim, cn, why, whylen);
}

/* Answer one request; false when the connection is to be closed. */
static bool serve_one(struct kme *k, SSL *ssl, const char *sae)
{
	unsigned char hdr[QK_004_HEADER_LEN], *payload = NULL, *out = NULL,
		      *hold = NULL;
	size_t out_len = 0, hold_len = 0;
	char why[300] = "", ksid[37] = "";
	uint8_t service;
	uint32_t plen, status = 0;
	unsigned long latency;
	int fault;
	bool ok = false;

	if (!read_full(ssl, hdr, sizeof(hdr)))
		return false;
	if (qk004_decode_header(hdr, &service, &plen, why, sizeof(why))) {
		sim_log(k->sim, "kme-%c: 004: %s: %s -> closed", k->name, sae, why);
		return false;
	}
	payload = OPENSSL_malloc(plen ? plen : 1);
	if (!payload || !read_full(ssl, payload, plen))
		goto out;
	fault_take(k, &k->fault004, true, &fault, &latency);
	if (latency) {
		struct timespec ts = { latency / 1000, (latency % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	if (fault == FAULT_DROP) {
		sim_log(k->sim, "kme-%c: 004: %s: service 0x%02x -> dropped (fault)",
			k->name, sae, service);
		goto out;
	}
	if (fault == FAULT_MALFORMED) {
		/* A whole frame whose 3-byte payload cannot hold a status. */
		unsigned char bad[QK_004_HEADER_LEN + 3] = {
			QK_004_VERSION_MAJOR, QK_004_VERSION_MINOR,
			QK_004_VERSION_MICRO, service | 1, 0, 0, 0, 3,
		};
		size_t n;

		SSL_write_ex(ssl, bad, sizeof(bad), &n);
		sim_log(k->sim, "kme-%c: 004: %s: service 0x%02x -> malformed answer (fault)",
			k->name, sae, service);
		goto out;
	}
	if (fault == FAULT004_TIMEOUT || fault == FAULT004_NO_CONNECTION) {
		status = fault == FAULT004_TIMEOUT ? QK_004_TIMEOUT_ERROR :
			 QK_004_NO_QKD_CONNECTION_AVAILABLE;
		snprintf(why, sizeof(why), "(fault)");
	}
	if (service == QK_004_OPEN_CONNECT_REQUEST) {
		struct qk_004_open_req rq;
		struct qk_004_open_resp rs = { 0 };

		if (qk004_decode_open_req(payload, plen, &rq, why, sizeof(why)))
			goto bad;
		rs.qos = rq.qos;
		if (!status) {
			pthread_mutex_lock(&k->sim->lock);
			status = open_connect(k, sae, &rq, &rs, why, sizeof(why));
			pthread_mutex_unlock(&k->sim->lock);
		}
		rs.status = status;
		qk_004_ksid_str(rs.ksid, ksid);
		if (qk004_encode_open_resp(&rs, &out, &out_len, why, sizeof(why)))
			goto bad;
		sim_log(k->sim, "kme-%c: 004: %s: OPEN_CONNECT %s -> %s, chunk %u, %u %s%s%s",
			k->name, sae, rq.destination, ksid, rs.qos.key_chunk_size,
			status, qk_004_status_name(status), why[0] ? ": " : "", why);
	} else if (service == QK_004_GET_KEY_REQUEST) {
		struct qk_004_get_req rq;
		struct qk_004_get_resp rs = { 0 };

		if (qk004_decode_get_req(payload, plen, &rq, why, sizeof(why)))
			goto bad;
		rs.index = rq.index;
		if (!status) {
			pthread_mutex_lock(&k->sim->lock);
			status = get_key(k, sae, fault, &rq, &rs, &hold, &hold_len,
					 why, sizeof(why));
			pthread_mutex_unlock(&k->sim->lock);
		}
		rs.status = status;
		qk_004_ksid_str(rq.ksid, ksid);
		if (qk004_encode_get_resp(&rs, &out, &out_len, why, sizeof(why)))
			goto bad;
		sim_log(k->sim, "kme-%c: 004: %s: GET_KEY %s index %u -> %u %s%s%s",
			k->name, sae, ksid, rq.index, status,
			qk_004_status_name(status), why[0] ? ": " : "", why);
	} else if (service == QK_004_CLOSE_REQUEST) {
		unsigned char id[QK_004_KSID_LEN];

		if (qk004_decode_close_req(payload, plen, id, why, sizeof(why)))
			goto bad;
		if (!status) {
			pthread_mutex_lock(&k->sim->lock);
			status = close_stream(k, sae, id, why, sizeof(why));
			pthread_mutex_unlock(&k->sim->lock);
		}
		qk_004_ksid_str(id, ksid);
		if (qk004_encode_close_resp(status, &out, &out_len, why, sizeof(why)))
			goto bad;
		sim_log(k->sim, "kme-%c: 004: %s: CLOSE %s -> %u %s%s%s", k->name,
			sae, ksid, status, qk_004_status_name(status),
			why[0] ? ": " : "", why);
	} else {
		snprintf(why, sizeof(why), "unknown service type 0x%02x", service);
		goto bad;
	}
	ok = SSL_write_ex(ssl, out, out_len, &out_len) == 1;
	goto out;
bad:
	sim_log(k->sim, "kme-%c: 004: %s: %s -> closed", k->name, sae, why);
out:
	if (payload)
		OPENSSL_clear_free(payload, plen ? plen : 1);
	if (out)
		OPENSSL_clear_free(out, out_len);
	if (hold)
		OPENSSL_clear_free(hold, hold_len ? hold_len : 1);
	return ok;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct kme *k = c->k;
	SSL *ssl = SSL_new(k->ctx004);
	char why[300], *sae = NULL;

	if (ssl && SSL_set_fd(ssl, c->fd) == 1 && SSL_accept(ssl) == 1) {
		sae = peer_sae(k, ssl, why, sizeof(why));
		if (!sae)
			sim_log(k->sim, "kme-%c: 004: %s -> closed", k->name, why);
		else if (!kme_has_sae(k, sae))
			sim_log(k->sim, "kme-%c: 004: SAE %s is not attached to KME %s -> closed",
				k->name, sae, k->id);
		else
			while (serve_one(k, ssl, sae))
				;
	} else {
		unsigned long e = ERR_peek_last_error();

		sim_log(k->sim, "kme-%c: 004: TLS handshake failed: %s", k->name,
			e ? ERR_reason_error_string(e) : "connection closed");
	}
	free(sae);
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	ERR_clear_error();
	pthread_mutex_lock(&conn_lock);
	conn_fds[c->slot] = -1;
	n_conns--;
	pthread_cond_broadcast(&conn_gone);
	pthread_mutex_unlock(&conn_lock);
	close(c->fd);
	free(c);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct kme *k = arg;

	for (;;) {
		int fd = accept4(k->fd004, NULL, NULL, SOCK_CLOEXEC);
		struct timeval tv = { 60, 0 };
		struct conn *c;
		pthread_t t;
		int slot;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		pthread_mutex_lock(&conn_lock);
		for (slot = 0; slot < MAX_CONNS && conn_fds[slot] >= 0; slot++)
			;
		c = slot < MAX_CONNS ? malloc(sizeof(*c)) : NULL;
		if (c) {
			*c = (struct conn){ k, fd, slot };
			conn_fds[slot] = fd;
			n_conns++;
			if (pthread_create(&t, NULL, conn_main, c)) {
				conn_fds[slot] = -1;
				n_conns--;
				free(c);
				c = NULL;
			} else {
				pthread_detach(t);
			}
		}
		pthread_mutex_unlock(&conn_lock);
		if (!c)
			close(fd);
	}
}

int e004_start(struct kme *k)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	k->fd004 = -1;
	if (sim_parse_listen(k->listen004, &ss, &sl)) {
		fprintf(stderr, "qktls-kme-sim: KME %c: bad ETSI 004 listen address \"%s\" "
			"(want ADDR:PORT or [ADDR6]:PORT)\n", k->name, k->listen004);
		return -1;
	}
	k->ctx004 = SSL_CTX_new(TLS_server_method());
	if (!k->ctx004 || !SSL_CTX_set_min_proto_version(k->ctx004, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(k->ctx004, k->cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(k->ctx004, k->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_file(k->ctx004, k->sim->ca_file) != 1 ||
	    SSL_CTX_set_purpose(k->ctx004, X509_PURPOSE_SSL_CLIENT) != 1) {
		unsigned long e = ERR_peek_last_error();

		fprintf(stderr, "qktls-kme-sim: KME %c: ETSI 004 TLS set-up: %s\n",
			k->name, e ? ERR_reason_error_string(e) : "failed");
		return -1;
	}
	SSL_CTX_set_verify(k->ctx004, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   NULL);
	SSL_CTX_set_client_CA_list(k->ctx004, SSL_load_client_CA_file(k->sim->ca_file));
	k->fd004 = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k->fd004 < 0 ||
	    setsockopt(k->fd004, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(k->fd004, (struct sockaddr *)&ss, sl) || listen(k->fd004, 16) ||
	    getsockname(k->fd004, (struct sockaddr *)&ss, &sl)) {
		fprintf(stderr, "qktls-kme-sim: KME %c: cannot serve ETSI 004 on %s: %s\n",
			k->name, k->listen004, strerror(errno));
		return -1;
	}
	k->port004 = ntohs(ss.ss_family == AF_INET6 ?
			   ((struct sockaddr_in6 *)&ss)->sin6_port :
			   ((struct sockaddr_in *)&ss)->sin_port);
	if (pthread_create(&k->thr004, NULL, accept_main, k)) {
		fprintf(stderr, "qktls-kme-sim: cannot start a thread\n");
		return -1;
	}
	k->thr004_started = true;
	return 0;
}

void e004_stop(struct kme *k)
{
	if (k->fd004 >= 0) {
		shutdown(k->fd004, SHUT_RDWR);
		if (k->thr004_started)
			pthread_join(k->thr004, NULL);
		close(k->fd004);
		k->fd004 = -1;
	}
	k->thr004_started = false;
	/* End the connections (of both KMEs: called for each) and wait. */
	pthread_mutex_lock(&conn_lock);
	for (int i = 0; i < MAX_CONNS; i++)
		if (n_conns && conn_fds[i] >= 0)
			shutdown(conn_fds[i], SHUT_RDWR);
	while (n_conns)
		pthread_cond_wait(&conn_gone, &conn_lock);
	pthread_mutex_unlock(&conn_lock);
	SSL_CTX_free(k->ctx004);
	k->ctx004 = NULL;
}
