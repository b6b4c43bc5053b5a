// SPDX-License-Identifier: GPL-2.0-only
/*
 * Key agreement between the two agents of a link (ETSI GS QKD 014): the
 * master agent fetches keys with enc_keys and offers their IDs, each with
 * the store it goes to; the slave agent fetches the same keys with
 * dec_keys and acknowledges; then both add them, in the order of the
 * offer, such that a key is in the store of the side that takes keys in
 * order (the taker) only once the side that looks keys up by ID holds it.
 *
 * The session is TLS 1.3 with X25519MLKEM768 only, both sides
 * authenticated with the link's certificates and checked against the
 * link's peer_name.  The master connects to the slave's sync_listen and
 * names the slave SAE ID in SNI, which selects the link on the slave.
 * Messages and the rules for failures:
 * Documentation/qktls/key-agreement.rst.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/err.h>

#include "feed.h"

#define SYNC_VERSION		1
#define SYNC_IO_TIMEOUT_S	10
#define SYNC_BACKOFF_MIN_MS	500
#define SYNC_BACKOFF_MAX_MS	30000
#define SYNC_UUID_LEN		36
#define SYNC_LEVEL_NONE		0xffffffffu

enum {
	MSG_HELLO = 1,
	MSG_WELCOME = 2,
	MSG_LEVELS = 3,
	MSG_OFFER = 4,
	MSG_ACK = 5,
	MSG_NAK = 6,
	MSG_COMMIT = 7,
	MSG_ERROR = 8,
};

enum {
	ERR_VERSION = 1,	/* unsupported protocol version */
	ERR_LINK = 2,		/* no link for this SAE pair */
	ERR_MALFORMED = 3,	/* a message does not parse, or is unexpected */
	ERR_STORE = 4,		/* a store refused the keys */
	ERR_KEY_SIZE = 5,	/* the agents disagree on the key size */
};

struct msg {
	uint8_t type;
	uint16_t len;
	uint8_t body[65535];
};

/* --- messages ------------------------------------------------------------- */

struct wbuf {
	uint8_t b[4 + 65535];
	size_t n;
	bool overflow;
};

static void put(struct wbuf *w, const void *p, size_t n)
{
	if (w->n + n > sizeof(w->b)) {
		w->overflow = true;
		return;
	}
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void put8(struct wbuf *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put16(struct wbuf *w, uint16_t v)
{
	v = htons(v);
	put(w, &v, 2);
}

static void put32(struct wbuf *w, uint32_t v)
{
	v = htonl(v);
	put(w, &v, 4);
}

static void put_str8(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);

	if (n > 255)
		n = 255;
	put8(w, (uint8_t)n);
	put(w, s, n);
}

static void begin(struct wbuf *w, uint8_t type)
{
	w->n = 0;
	w->overflow = false;
	put8(w, type);
	put8(w, 0);
	put16(w, 0);
}

static int send_msg(SSL *ssl, struct wbuf *w)
{
	size_t done;
	uint16_t len = htons((uint16_t)(w->n - 4));

	if (w->overflow)
		return -1;
	memcpy(w->b + 2, &len, 2);
	return SSL_write_ex(ssl, w->b, w->n, &done) == 1 && done == w->n ? 0 : -1;
}

static int read_full(SSL *ssl, void *p, size_t n)
{
	size_t got;

	while (n) {
		if (SSL_read_ex(ssl, p, n, &got) != 1)
			return -1;
		p = (uint8_t *)p + got;
		n -= got;
	}
	return 0;
}

/* Read one message; -1 when the session ended or broke. */
static int recv_msg(SSL *ssl, struct msg *m)
{
	uint8_t h[4];

	if (read_full(ssl, h, 4))
		return -1;
	m->type = h[0];
	m->len = (uint16_t)(h[2] << 8 | h[3]);
	return read_full(ssl, m->body, m->len);
}

struct rbuf {
	const uint8_t *p;
	size_t n;
	bool bad;
};

static const uint8_t *get(struct rbuf *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || r->n < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->n -= n;
	return p;
}

static uint8_t get8(struct rbuf *r)
{
	const uint8_t *p = get(r, 1);

	return p ? p[0] : 0;
}

static uint16_t get16(struct rbuf *r)
{
	const uint8_t *p = get(r, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static uint32_t get32(struct rbuf *r)
{
	const uint8_t *p = get(r, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		   (uint32_t)p[2] << 8 | p[3] : 0;
}

/* A length-prefixed string into @out (NUL-terminated). */
static void get_str8(struct rbuf *r, char *out, size_t size)
{
	uint8_t n = get8(r);
	const uint8_t *p = get(r, n);

	if (!p || n >= size) {
		r->bad = true;
		out[0] = '\0';
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

static int send_error(SSL *ssl, uint16_t code, const char *text)
{
	static __thread struct wbuf w;

	begin(&w, MSG_ERROR);
	put16(&w, code);
	put(&w, text, strnlen(text, 512));
	return send_msg(ssl, &w);
}

static void log_peer_error(struct qd_feed *f, const struct msg *m)
{
	struct rbuf r = { .p = m->body, .n = m->len };
	uint16_t code = get16(&r);

	qd_log(LOG_ERR, "link %s: the peer agent ended the session: error %u: %.*s",
	       f->name, code, (int)r.n, r.bad ? "" : (const char *)r.p);
}

/* The UUID text of a 16-byte key ID and back (lower case, 8-4-4-4-12). */
static int uuid_to_id(const char *u, uint8_t id[QKTLS_KEY_ID_LEN])
{
	char hex[33];
	size_t j = 0, len = 0;

	if (!qk_kme_is_uuid(u))
		return -1;
	for (size_t i = 0; u[i] && j < 32; i++)
		if (u[i] != '-')
			hex[j++] = u[i];
	hex[j] = '\0';
	return OPENSSL_hexstr2buf_ex(id, QKTLS_KEY_ID_LEN, &len, hex, '\0') &&
	       len == QKTLS_KEY_ID_LEN ? 0 : -1;
}

static uint8_t store_mask(const struct qd_feed *f)
{
	uint8_t m = 0;

	for (int i = 0; i < QD_STORE_N; i++)
		if (f->active[i])
			m |= 1u << i;
	return m;
}

/* --- TLS ------------------------------------------------------------------ */

static void log_ssl(int level, const char *name, const char *what)
{
	char buf[256] = "";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	qd_log(level, "link %s: %s%s%s", name, what, buf[0] ? ": " : "", buf);
}

SSL_CTX *qd_sync_ctx(const struct qd_link *l, bool server)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519MLKEM768") ||
	    SSL_CTX_use_certificate_chain_file(ctx, l->certificate) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, l->private_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_file(ctx, l->ca) != 1) {
		log_ssl(LOG_ERR, l->name, "the agents' key agreement session "
			"cannot use the link's certificate, key or CA");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = SYNC_IO_TIMEOUT_S };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* "HOST:PORT" / "[V6]:PORT" (validated by config.c) into host and port. */
static void split_addr(const char *a, char *host, size_t hsize, char *port,
		       size_t psize)
{
	const char *colon = strrchr(a, ':');
	size_t hl = (size_t)(colon - a);

	if (a[0] == '[') {
		a++;
		hl -= 2;
	}
	snprintf(host, hsize, "%.*s", (int)hl, a);
	snprintf(port, psize, "%s", colon + 1);
}

static int connect_to(struct qd_feed *f, char *why, size_t wsize)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[256], port[8];
	int fd = -1, ret;

	split_addr(f->peer_agent, host, sizeof(host), port, sizeof(port));
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(why, wsize, "%s: %s", host, gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd p = { .events = POLLOUT };
		socklen_t len = sizeof(ret);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		p.fd = fd;
		ret = connect(fd, ai->ai_addr, ai->ai_addrlen) ? errno : 0;
		if (ret == EINPROGRESS) {
			ret = poll(&p, 1, SYNC_IO_TIMEOUT_S * 1000) == 1 &&
			      !getsockopt(fd, SOL_SOCKET, SO_ERROR, &ret, &len) ?
			      ret : ETIMEDOUT;
		}
		if (!ret && fcntl(fd, F_SETFL, 0) == 0)
			break;
		snprintf(why, wsize, "%s: %s", f->peer_agent, strerror(ret ? ret : errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		set_timeouts(fd);
	return fd;
}

/* Data to read now: OpenSSL's buffer or the socket; waits for a kick too. */
static bool wait_input(struct qd_feed *f, SSL *ssl, int fd, int ms, bool *kicked)
{
	if (SSL_pending(ssl)) {
		*kicked = false;
		return true;
	}
	*kicked = qd_feed_wait(f, fd, ms);
	if (*kicked)
		return false;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static bool stopping(struct qd_feed *f)
{
	bool s;

	pthread_mutex_lock(&f->lock);
	s = f->stopping;
	pthread_mutex_unlock(&f->lock);
	return s;
}

static void set_session_fd(struct qd_feed *f, int old, int fd)
{
	pthread_mutex_lock(&f->lock);
	if (f->session_fd == old)
		f->session_fd = fd;
	pthread_mutex_unlock(&f->lock);
}

/* The stores after a batch (tests wait for these lines). */
static void log_levels(struct qd_feed *f, uint32_t seq, size_t n)
{
	qd_log(LOG_DEBUG, "link %s: batch %u committed, %zu keys; stores hs %ld "
	       "c2s %ld s2c %ld", f->name, seq, n, qd_store_count(f, QD_STORE_HS),
	       qd_store_count(f, QD_STORE_C2S), qd_store_count(f, QD_STORE_S2C));
}

/* --- master ----------------------------------------------------------------- */

struct master {
	struct qd_feed *f;
	SSL *ssl;
	int fd;
	uint32_t seq;
	uint8_t mask;			/* stores both agents keep */
	long peer[QD_STORE_N];		/* the slave's levels, as last known */
	bool fill[QD_STORE_N];		/* refilling up to high */
	unsigned int kme_backoff;	/* ms */
	struct timespec kme_retry;	/* no KME call before this */
	struct msg m;
	struct wbuf w;
};

static void parse_levels(struct master *s, struct rbuf *r)
{
	for (int i = 0; i < QD_STORE_N; i++) {
		uint32_t v = get32(r);

		s->peer[i] = v == SYNC_LEVEL_NONE ? -1 : (long)v;
	}
}

static long ms_until(const struct timespec *t)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

/* Keys each store needs now (refill below low, up to high). */
static size_t needs(struct master *s, size_t need[QD_STORE_N])
{
	struct qd_feed *f = s->f;
	size_t total = 0;

	for (int i = 0; i < QD_STORE_N; i++) {
		long own, lvl;

		need[i] = 0;
		if (!(s->mask & (1u << i)))
			continue;
		own = qd_store_count(f, i);
		if (own < 0)
			continue;
		lvl = s->peer[i] >= 0 && s->peer[i] < own ? s->peer[i] : own;
		if (lvl < (long)f->low)
			s->fill[i] = true;
		if (s->fill[i] && lvl < (long)f->high) {
			need[i] = f->high - (size_t)lvl;
			if (own + (long)need[i] > (long)f->capacity)
				need[i] = own < (long)f->capacity ? f->capacity - (size_t)own : 0;
		}
		if (!need[i])
			s->fill[i] = false;
		total += need[i];
	}
	return total;
}

/* Wait for the ACK or NAK of batch s->seq; LEVELS may come first. */
static int wait_answer(struct master *s)
{
	for (;;) {
		struct rbuf r;

		if (recv_msg(s->ssl, &s->m))
			return -1;
		r = (struct rbuf){ .p = s->m.body, .n = s->m.len };
		switch (s->m.type) {
		case MSG_LEVELS:
			parse_levels(s, &r);
			break;
		case MSG_ACK:
		case MSG_NAK:
			if (get32(&r) != s->seq || r.bad)
				goto bad;
			if (s->m.type == MSG_ACK)
				return 0;
			{
				uint16_t code = get16(&r);

				qd_log(LOG_WARNING, "link %s: the peer agent could not "
				       "fetch batch %u from its KME (%s): %.*s; the "
				       "batch is discarded on both sides", s->f->name,
				       s->seq, qk_kme_strerror(code), (int)r.n,
				       (const char *)r.p);
			}
			return 1;
		case MSG_ERROR:
			log_peer_error(s->f, &s->m);
			return -1;
		default:
			goto bad;
		}
		if (r.bad)
			goto bad;
	}
bad:
	qd_log(LOG_ERR, "link %s: malformed or unexpected message %u from the "
	       "peer agent", s->f->name, s->m.type);
	send_error(s->ssl, ERR_MALFORMED, "unexpected message");
	return -1;
}

static void kme_failed(struct master *s)
{
	s->kme_backoff = s->kme_backoff ? s->kme_backoff * 2 : SYNC_BACKOFF_MIN_MS;
	if (s->kme_backoff > SYNC_BACKOFF_MAX_MS)
		s->kme_backoff = SYNC_BACKOFF_MAX_MS;
	qd_deadline(&s->kme_retry, s->kme_backoff);
}

/* One batch: enc_keys, OFFER, ACK, add, COMMIT.  -1 ends the session. */
static int batch(struct master *s, size_t need[QD_STORE_N], size_t total)
{
	struct qd_feed *f = s->f;
	struct qk_kme_keys keys = { 0 };
	struct qk_kme_error err;
	uint8_t (*ids)[QKTLS_KEY_ID_LEN] = NULL;
	const uint8_t **mat = NULL;
	uint8_t where[QD_BATCH_MAX];
	size_t n = total < QD_BATCH_MAX ? total : QD_BATCH_MAX, k = 0;
	enum qk_kme_err e;
	int ret = -1;

	for (int i = 0; i < QD_STORE_N; i++)
		for (size_t j = 0; j < need[i] && k < n; j++)
			where[k++] = (uint8_t)i;
	qd_feed_count(f, &f->kme_calls, 1);
	e = qk_key_source_get(f->src, f->peer_sae_id, (unsigned int)n,
			      f->key_size * 8, &keys, &err);
	if (e) {
		qd_feed_count(f, &f->kme_errors, 1);
		qd_log(LOG_WARNING, "link %s: KME enc_keys for %zu keys failed (%s): "
		       "%s", f->name, n, qk_kme_strerror(e), err.message);
		kme_failed(s);
		return 0;
	}
	s->kme_backoff = 0;
	ids = calloc(n, sizeof(*ids));
	mat = calloc(n, sizeof(*mat));
	if (!ids || !mat || keys.count != n)
		goto out;
	begin(&s->w, MSG_OFFER);
	put32(&s->w, ++s->seq);
	put16(&s->w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		if (uuid_to_id(keys.keys[i].id, ids[i]) || keys.keys[i].len != f->key_size) {
			qd_log(LOG_ERR, "link %s: the KME returned a key with ID %s "
			       "of %zu bytes: not usable", f->name, keys.keys[i].id,
			       keys.keys[i].len);
			qd_feed_count(f, &f->kme_errors, 1);
			kme_failed(s);
			ret = 0;
			goto out;
		}
		mat[i] = keys.keys[i].key;
		put8(&s->w, where[i]);
		put(&s->w, keys.keys[i].id, SYNC_UUID_LEN);
	}
	if (send_msg(s->ssl, &s->w))
		goto out;
	ret = wait_answer(s);
	if (ret) {
		if (ret > 0) {
			qd_feed_count(f, &f->batches_failed, 1);
			kme_failed(s);	/* the slave's KME: retry later */
			ret = 0;
		}
		goto out;
	}
	/* ACK: the slave holds every key; add ours in the offer's order. */
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && where[j] == where[i])
			j++;
		if (qd_store_add(f, where[i], ids + i, mat + i, j - i)) {
			send_error(s->ssl, ERR_STORE, "the master could not store the batch");
			ret = -1;
			goto out;
		}
		qd_feed_count(f, &f->keys[where[i]], j - i);
		if (s->peer[where[i]] >= 0)
			s->peer[where[i]] += (long)(j - i);
		i = j;
	}
	begin(&s->w, MSG_COMMIT);
	put32(&s->w, s->seq);
	ret = send_msg(s->ssl, &s->w);
	if (!ret) {
		qd_feed_count(f, &f->batches, 1);
		log_levels(f, s->seq, n);
	}
out:
	if (ret < 0)
		qd_feed_count(f, &f->batches_failed, 1);
	if (ids)
		OPENSSL_cleanse(ids, n * sizeof(*ids));
	free(ids);
	free(mat);
	qk_kme_keys_free(&keys);
	return ret;
}

static int master_session(struct master *s)
{
	struct qd_feed *f = s->f;
	struct rbuf r;
	bool kicked;

	begin(&s->w, MSG_HELLO);
	put8(&s->w, SYNC_VERSION);
	put8(&s->w, store_mask(f));
	put_str8(&s->w, f->sae_id);
	put_str8(&s->w, f->peer_sae_id);
	put16(&s->w, (uint16_t)f->key_size);
	if (send_msg(s->ssl, &s->w) || recv_msg(s->ssl, &s->m))
		return -1;
	r = (struct rbuf){ .p = s->m.body, .n = s->m.len };
	if (s->m.type == MSG_ERROR) {
		log_peer_error(f, &s->m);
		return -1;
	}
	if (s->m.type != MSG_WELCOME || get8(&r) != SYNC_VERSION) {
		send_error(s->ssl, ERR_VERSION, "expected WELCOME of version 1");
		return -1;
	}
	s->mask = store_mask(f) & get8(&r);
	parse_levels(s, &r);
	if (r.bad || !(s->mask & 1)) {
		send_error(s->ssl, ERR_MALFORMED, "malformed WELCOME");
		return -1;
	}
	/* A new session starts from empty stores on both sides. */
	if (qd_store_flush_all(f)) {
		send_error(s->ssl, ERR_STORE, "the master could not flush its stores");
		return -1;
	}
	for (int i = 0; i < QD_STORE_N; i++)
		s->fill[i] = true;
	qd_feed_count(f, &f->sessions_ok, 1);
	qd_log(LOG_NOTICE, "link %s: key agreement session with the agent at %s "
	       "(stores:%s%s%s)", f->name, f->peer_agent, " hs",
	       s->mask & 2 ? " c2s" : "", s->mask & 4 ? " s2c" : "");
	for (;;) {
		size_t need[QD_STORE_N], total;
		long wait = -1;

		if (stopping(f))
			return 0;
		total = needs(s, need);
		if (total && s->kme_backoff && (wait = ms_until(&s->kme_retry)) == 0)
			wait = -1;
		if (total && wait < 0) {
			if (batch(s, need, total))
				return -1;
			continue;
		}
		if (!wait_input(f, s->ssl, s->fd, (int)wait, &kicked))
			continue;	/* kicked, or time to retry the KME */
		if (recv_msg(s->ssl, &s->m))
			return -1;
		r = (struct rbuf){ .p = s->m.body, .n = s->m.len };
		if (s->m.type == MSG_LEVELS) {
			parse_levels(s, &r);
		} else if (s->m.type == MSG_ERROR) {
			log_peer_error(f, &s->m);
			return -1;
		} else {
			r.bad = true;
		}
		if (r.bad) {
			send_error(s->ssl, ERR_MALFORMED, "unexpected message");
			return -1;
		}
	}
}

void *qd_sync_master(void *arg)
{
	struct qd_feed *f = arg;
	struct master *s = calloc(1, sizeof(*s));
	unsigned int backoff = SYNC_BACKOFF_MIN_MS;
	char why[300], last[300] = "";

	if (!s) {
		qd_log(LOG_ERR, "link %s: out of memory", f->name);
		return NULL;
	}
	s->f = f;
	while (!stopping(f)) {
		int fd = connect_to(f, why, sizeof(why)), ret = -1;
		SSL *ssl = NULL;

		if (fd >= 0) {
			set_session_fd(f, -1, fd);
			ssl = SSL_new(f->ctx);
			if (ssl && SSL_set_fd(ssl, fd) &&
			    SSL_set_tlsext_host_name(ssl, f->peer_sae_id) &&
			    SSL_set1_host(ssl, f->peer_name) && SSL_connect(ssl) == 1) {
				memset(s->peer, 0, sizeof(s->peer));
				s->ssl = ssl;
				s->fd = fd;
				s->seq = 0;
				s->kme_backoff = 0;
				last[0] = '\0';
				ret = master_session(s);
				/*
				 * The slave may have lost its stores (restart):
				 * keep no key we would take in order.
				 */
				qd_store_flush_taker(f);
				if (!stopping(f))
					qd_log(LOG_WARNING, "link %s: the key agreement "
					       "session with %s ended; keys of an "
					       "unacknowledged batch and the keys this "
					       "side takes are discarded; reconnecting",
					       f->name, f->peer_agent);
				backoff = SYNC_BACKOFF_MIN_MS;
				SSL_shutdown(ssl);
			} else if (!stopping(f)) {
				snprintf(why, sizeof(why), "TLS with the agent at %s "
					 "failed (verify: %s)", f->peer_agent,
					 ssl ? X509_verify_cert_error_string(
						 SSL_get_verify_result(ssl)) : "-");
				log_ssl(LOG_WARNING, f->name, why);
				snprintf(last, sizeof(last), "%s", why);
			}
			SSL_free(ssl);
			set_session_fd(f, fd, -1);
			close(fd);
		} else if (strcmp(why, last)) {
			/* Logged once per distinct reason while it lasts. */
			qd_log(LOG_WARNING, "link %s: cannot reach the peer agent: %s; "
			       "retrying", f->name, why);
			snprintf(last, sizeof(last), "%s", why);
		}
		if (stopping(f))
			break;
		if (ret < 0)
			qd_feed_count(f, &f->session_errors, 1);
		qd_feed_wait(f, -1, (int)backoff);
		backoff = backoff * 2 > SYNC_BACKOFF_MAX_MS ? SYNC_BACKOFF_MAX_MS : backoff * 2;
	}
	free(s);
	return NULL;
}

/* --- slave ------------------------------------------------------------------ */

struct slave {
	struct qd_feed *f;
	SSL *ssl;
	int fd;
	uint8_t mask;
	uint32_t pending_seq;		/* 0: none */
	struct qk_kme_keys keys;	/* the pending batch (wiped on free) */
	uint8_t where[QD_BATCH_MAX];
	uint8_t ids[QD_BATCH_MAX][QKTLS_KEY_ID_LEN];
	const uint8_t *mat[QD_BATCH_MAX];
	size_t n;
	long sent[QD_STORE_N];
	struct msg m;
	struct wbuf w;
};

/* Add the keys of the pending batch whose stores satisfy @taker. */
static int add_pending(struct slave *s, bool taker)
{
	struct qd_feed *f = s->f;

	for (size_t i = 0; i < s->n;) {
		size_t j = i;

		while (j < s->n && s->where[j] == s->where[i])
			j++;
		if (qd_store_taker(f, s->where[i]) == taker) {
			if (qd_store_add(f, s->where[i], s->ids + i, s->mat + i, j - i))
				return -1;
			qd_feed_count(f, &f->keys[s->where[i]], j - i);
		}
		i = j;
	}
	return 0;
}

static void drop_pending(struct slave *s)
{
	qk_kme_keys_free(&s->keys);
	memset(&s->keys, 0, sizeof(s->keys));
	OPENSSL_cleanse(s->ids, sizeof(s->ids));
	s->n = 0;
	s->pending_seq = 0;
}

static int put_levels(struct slave *s, bool force)
{
	long lv[QD_STORE_N];
	bool low = false, changed = false;

	for (int i = 0; i < QD_STORE_N; i++) {
		lv[i] = s->mask & (1u << i) ? qd_store_count(s->f, i) : -1;
		low |= lv[i] >= 0 && lv[i] < (long)s->f->low;
		changed |= lv[i] != s->sent[i];
	}
	if (!force && (!low || !changed))
		return 0;
	begin(&s->w, force ? MSG_WELCOME : MSG_LEVELS);
	if (force) {
		put8(&s->w, SYNC_VERSION);
		put8(&s->w, s->mask);
	}
	for (int i = 0; i < QD_STORE_N; i++) {
		put32(&s->w, lv[i] < 0 ? SYNC_LEVEL_NONE : (uint32_t)lv[i]);
		s->sent[i] = lv[i];
	}
	return send_msg(s->ssl, &s->w);
}

static int offer(struct slave *s, struct rbuf *r)
{
	struct qd_feed *f = s->f;
	char uuid[QD_BATCH_MAX][SYNC_UUID_LEN + 1];
	const char *idp[QD_BATCH_MAX];
	struct qk_kme_error err;
	uint32_t seq = get32(r);
	uint16_t n = get16(r);
	enum qk_kme_err e;

	if (s->pending_seq || !n || n > QD_BATCH_MAX)
		r->bad = true;
	for (size_t i = 0; i < n && !r->bad; i++) {
		const uint8_t *u;

		s->where[i] = get8(r);
		u = get(r, SYNC_UUID_LEN);
		if (!u || s->where[i] >= QD_STORE_N || !(s->mask & (1u << s->where[i])))
			break;
		memcpy(uuid[i], u, SYNC_UUID_LEN);
		uuid[i][SYNC_UUID_LEN] = '\0';
		idp[i] = uuid[i];
		if (uuid_to_id(uuid[i], s->ids[i]))
			r->bad = true;
	}
	if (r->bad || r->n) {
		send_error(s->ssl, ERR_MALFORMED, "malformed OFFER");
		return -1;
	}
	qd_feed_count(f, &f->kme_calls, 1);
	e = qk_key_source_get_by_id(f->src, f->peer_sae_id, idp, n, f->key_size * 8,
				    &s->keys, &err);
	if (e || s->keys.count != n) {
		qd_feed_count(f, &f->kme_errors, 1);
		qd_feed_count(f, &f->batches_failed, 1);
		qd_log(LOG_WARNING, "link %s: KME dec_keys for batch %u (%u keys) "
		       "failed (%s): %s; refusing the batch", f->name, seq, n,
		       qk_kme_strerror(e), e ? err.message : "wrong key count");
		qk_kme_keys_free(&s->keys);
		memset(&s->keys, 0, sizeof(s->keys));
		begin(&s->w, MSG_NAK);
		put32(&s->w, seq);
		put16(&s->w, (uint16_t)(e ? e : QK_KME_E_KEY_COUNT));
		put(&s->w, err.message, e ? strnlen(err.message, 400) : 0);
		return send_msg(s->ssl, &s->w);
	}
	s->n = n;
	s->pending_seq = seq;
	for (size_t i = 0; i < n; i++)
		s->mat[i] = s->keys.keys[i].key;
	/* The keys the master takes in order: ours to look up, stored now. */
	if (add_pending(s, false)) {
		send_error(s->ssl, ERR_STORE, "the slave could not store the batch");
		return -1;
	}
	begin(&s->w, MSG_ACK);
	put32(&s->w, seq);
	return send_msg(s->ssl, &s->w);
}

static int slave_session(struct slave *s)
{
	struct qd_feed *f = s->f;
	char sae[256], peer[256];
	struct rbuf r;
	bool kicked;
	int ret = -1;

	if (recv_msg(s->ssl, &s->m))
		return -1;
	r = (struct rbuf){ .p = s->m.body, .n = s->m.len };
	if (s->m.type != MSG_HELLO || get8(&r) != SYNC_VERSION) {
		send_error(s->ssl, ERR_VERSION, "expected HELLO of version 1");
		return -1;
	}
	s->mask = get8(&r) & store_mask(f);
	get_str8(&r, peer, sizeof(peer));
	get_str8(&r, sae, sizeof(sae));
	if (r.bad || !(s->mask & 1)) {
		send_error(s->ssl, ERR_MALFORMED, "malformed HELLO");
		return -1;
	}
	if (strcmp(sae, f->sae_id) || strcmp(peer, f->peer_sae_id)) {
		qd_log(LOG_WARNING, "link %s: the peer agent asked for SAE pair %s/%s, "
		       "this link is %s/%s", f->name, peer, sae, f->peer_sae_id, f->sae_id);
		send_error(s->ssl, ERR_LINK, "no link for this SAE pair");
		return -1;
	}
	if (get16(&r) != f->key_size) {
		qd_log(LOG_WARNING, "link %s: the peer agent uses another qkd.key_size",
		       f->name);
		send_error(s->ssl, ERR_KEY_SIZE, "the agents' qkd.key_size differ");
		return -1;
	}
	/* This session replaces any earlier one of the link. */
	pthread_mutex_lock(&f->lock);
	if (f->session_fd >= 0 && f->session_fd != s->fd)
		shutdown(f->session_fd, SHUT_RDWR);
	f->session_fd = s->fd;
	pthread_mutex_unlock(&f->lock);
	if (qd_store_flush_all(f)) {
		send_error(s->ssl, ERR_STORE, "the slave could not flush its stores");
		return -1;
	}
	if (put_levels(s, true))
		return -1;
	qd_feed_count(f, &f->sessions_ok, 1);
	qd_log(LOG_NOTICE, "link %s: key agreement session from the master agent "
	       "(stores:%s%s%s)", f->name, " hs", s->mask & 2 ? " c2s" : "",
	       s->mask & 4 ? " s2c" : "");
	for (;;) {
		if (stopping(f))
			return 0;
		if (!wait_input(f, s->ssl, s->fd, -1, &kicked)) {
			if (kicked && put_levels(s, false))
				return -1;
			continue;
		}
		if (recv_msg(s->ssl, &s->m))
			return -1;
		r = (struct rbuf){ .p = s->m.body, .n = s->m.len };
		switch (s->m.type) {
		case MSG_OFFER:
			if (offer(s, &r))
				return -1;
			break;
		case MSG_COMMIT:
			if (get32(&r) != s->pending_seq || !s->pending_seq || r.bad) {
				send_error(s->ssl, ERR_MALFORMED, "COMMIT of no pending batch");
				return -1;
			}
			ret = add_pending(s, true);
			if (!ret) {
				qd_feed_count(f, &f->batches, 1);
				log_levels(f, s->pending_seq, s->n);
			}
			drop_pending(s);
			if (ret) {
				send_error(s->ssl, ERR_STORE, "the slave could not store the batch");
				return -1;
			}
			if (put_levels(s, false))
				return -1;
			break;
		case MSG_ERROR:
			log_peer_error(f, &s->m);
			return -1;
		default:
			send_error(s->ssl, ERR_MALFORMED, "unexpected message");
			return -1;
		}
	}
}

/* --- the slave agents' listener -------------------------------------------- */

static pthread_mutex_t lst_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lst_idle = PTHREAD_COND_INITIALIZER;
static char *lst_addr;
static int lst_fd = -1, lst_stop = -1, lst_conns;
static pthread_t lst_thread;
static SSL_CTX *lst_ctx;

struct conn {
	int fd;
	struct qd_feed *f;
};

static int sni_cb(SSL *ssl, int *al, void *arg)
{
	const char *sn = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct conn *c = SSL_get_app_data(ssl);
	struct qd_feed *f = NULL;

	(void)arg;
	qd_feed_registry_lock(true);
	if (sn)
		f = qd_feed_find_slave(sn, NULL);
	if (f) {
		pthread_mutex_lock(&f->lock);
		f->sessions++;
		pthread_mutex_unlock(&f->lock);
	}
	qd_feed_registry_lock(false);
	if (!f) {
		qd_log(LOG_WARNING, "sync: a master agent asked for slave SAE '%s': "
		       "no such link", sn ? sn : "(no SNI)");
		*al = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	c->f = f;
	SSL_set_SSL_CTX(ssl, f->ctx);
	SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (!SSL_set1_host(ssl, f->peer_name))
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct slave *s = calloc(1, sizeof(*s));
	SSL *ssl = SSL_new(lst_ctx);

	set_timeouts(c->fd);
	if (s && ssl && SSL_set_fd(ssl, c->fd) && SSL_set_app_data(ssl, c) &&
	    SSL_accept(ssl) == 1) {
		s->f = c->f;
		s->ssl = ssl;
		s->fd = c->fd;
		for (int i = 0; i < QD_STORE_N; i++)
			s->sent[i] = -2;
		if (slave_session(s) < 0 && !stopping(c->f)) {
			qd_feed_count(c->f, &c->f->session_errors, 1);
			qd_log(LOG_WARNING, "link %s: the key agreement session "
			       "ended; %sthe keys this side takes are discarded",
			       c->f->name, s->pending_seq ? "the unacknowledged "
			       "batch and " : "");
		}
		drop_pending(s);
		SSL_shutdown(ssl);
	} else if (c->f) {
		char why[200];

		snprintf(why, sizeof(why), "TLS with a master agent failed (verify: %s)",
			 ssl ? X509_verify_cert_error_string(SSL_get_verify_result(ssl)) : "-");
		log_ssl(LOG_WARNING, c->f->name, why);
	} else {
		ERR_clear_error();
	}
	SSL_free(ssl);
	if (c->f) {
		pthread_mutex_lock(&c->f->lock);
		if (c->f->session_fd == c->fd) {
			/*
			 * Still the link's session (no newer one took over):
			 * the master may have lost its stores (restart), so
			 * keep no key we would take in order.
			 */
			qd_store_flush_taker(c->f);
			c->f->session_fd = -1;
		}
		c->f->sessions--;
		pthread_cond_broadcast(&c->f->idle);
		pthread_mutex_unlock(&c->f->lock);
	}
	close(c->fd);
	free(c);
	free(s);
	pthread_mutex_lock(&lst_lock);
	lst_conns--;
	pthread_cond_broadcast(&lst_idle);
	pthread_mutex_unlock(&lst_lock);
	return NULL;
}

static void *listen_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = lst_fd, .events = POLLIN },
			{ .fd = lst_stop, .events = POLLIN },
		};
		pthread_attr_t attr;
		pthread_t t;
		struct conn *c;
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		fd = accept4(lst_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		pthread_mutex_lock(&lst_lock);
		lst_conns++;
		pthread_mutex_unlock(&lst_lock);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, conn_thread, c)) {
			close(fd);
			free(c);
			pthread_mutex_lock(&lst_lock);
			lst_conns--;
			pthread_mutex_unlock(&lst_lock);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

static void listen_stop(void)
{
	uint64_t one = 1;

	if (lst_fd < 0)
		return;
	if (write(lst_stop, &one, sizeof(one)) != sizeof(one))
		qd_log(LOG_ERR, "sync: cannot stop the listener: %s", strerror(errno));
	pthread_join(lst_thread, NULL);
	close(lst_fd);
	close(lst_stop);
	lst_fd = lst_stop = -1;
	free(lst_addr);
	lst_addr = NULL;
}

static int listen_start(const char *addr)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE },
			*res;
	char host[256], port[8];
	int one = 1, ret;

	split_addr(addr, host, sizeof(host), port, sizeof(port));
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		qd_log(LOG_ERR, "sync_listen %s: %s", addr, gai_strerror(ret));
		return -1;
	}
	lst_fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lst_fd < 0 ||
	    setsockopt(lst_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lst_fd, res->ai_addr, res->ai_addrlen) || listen(lst_fd, 16)) {
		qd_log(LOG_ERR, "sync_listen %s: %s", addr, strerror(errno));
		freeaddrinfo(res);
		if (lst_fd >= 0)
			close(lst_fd);
		lst_fd = -1;
		return -1;
	}
	freeaddrinfo(res);
	lst_stop = eventfd(0, EFD_CLOEXEC);
	lst_addr = strdup(addr);
	if (lst_stop < 0 || !lst_addr ||
	    pthread_create(&lst_thread, NULL, listen_thread, NULL)) {
		qd_log(LOG_ERR, "sync_listen %s: cannot start the listener", addr);
		close(lst_fd);
		if (lst_stop >= 0)
			close(lst_stop);
		free(lst_addr);
		lst_addr = NULL;
		lst_fd = lst_stop = -1;
		return -1;
	}
	qd_log(LOG_INFO, "key agreement: listening on %s", addr);
	return 0;
}

int qd_sync_listen_update(struct qd_config *cfg)
{
	const char *want = cfg->sync_listen;
	int ret = 0;

	if (want && lst_addr && !strcmp(want, lst_addr))
		return 0;
	listen_stop();
	if (!want) {
		pthread_mutex_lock(&lst_lock);
		while (lst_conns)
			pthread_cond_wait(&lst_idle, &lst_lock);
		pthread_mutex_unlock(&lst_lock);
		SSL_CTX_free(lst_ctx);
		lst_ctx = NULL;
		return 0;
	}
	if (!lst_ctx) {
		lst_ctx = SSL_CTX_new(TLS_server_method());
		if (!lst_ctx || !SSL_CTX_set_min_proto_version(lst_ctx, TLS1_3_VERSION) ||
		    !SSL_CTX_set1_groups_list(lst_ctx, "X25519MLKEM768")) {
			log_ssl(LOG_ERR, "-", "sync: cannot make the listener's TLS context");
			SSL_CTX_free(lst_ctx);
			lst_ctx = NULL;
			return -1;
		}
		SSL_CTX_set_num_tickets(lst_ctx, 0);
		SSL_CTX_set_options(lst_ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(lst_ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_tlsext_servername_callback(lst_ctx, sni_cb);
	}
	ret = listen_start(want);
	return ret;
}
