// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agents' key agreement protocol (Documentation/qktls/key-agreement.rst),
 * both sides, over any transport (struct qd_sync_io: sync.c's TLS session,
 * or memory for the fuzz targets and unit tests).  The master agent fetches
 * keys with enc_keys and offers their IDs, each with the store it goes to;
 * the slave agent fetches the same keys with dec_keys and acknowledges;
 * then both add them, in the order of the offer, such that a key is in the
 * store of the side that takes keys in order (the taker) only once the
 * side that looks keys up by ID holds it.
 *
 * Every message from the peer is checked whole before anything acts on it:
 * a malformed body, a store not agreed, a batch number out of turn or a
 * message out of order ends the session with ERROR.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/crypto.h>

#include "sync.h"

#define SYNC_VERSION_TEXT	"2"
#define SYNC_BACKOFF_MIN_MS	500
#define SYNC_BACKOFF_MAX_MS	30000

struct msg {
	uint8_t type;		/* 0: a malformed header (body not read) */
	uint16_t len;
	uint8_t body[SYNC_BODY_MAX];
};

/* --- messages ------------------------------------------------------------- */

struct wbuf {
	uint8_t b[4 + SYNC_BODY_MAX];
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

static int send_msg(const struct qd_sync_io *io, struct wbuf *w)
{
	uint16_t len = htons((uint16_t)(w->n - 4));

	if (w->overflow)
		return -1;
	memcpy(w->b + 2, &len, 2);
	return io->write(io->ctx, w->b, w->n);
}

/* Read one message; -1 when the session ended or broke. */
static int recv_msg(const struct qd_sync_io *io, struct msg *m)
{
	uint8_t h[4];

	if (io->read(io->ctx, h, 4))
		return -1;
	m->type = h[0];
	m->len = (uint16_t)(h[2] << 8 | h[3]);
	if (!h[1] && m->len <= SYNC_BODY_MAX)
		return io->read(io->ctx, m->body, m->len);
	m->type = 0;		/* refused by every side, which ends the session */
	m->len = 0;
	return 0;
}

struct rbuf {
	const uint8_t *p;
	size_t n;
	bool bad;
};

static struct rbuf body(const struct msg *m)
{
	return (struct rbuf){ .p = m->body, .n = m->len };
}

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

/* The whole body was read, and nothing was missing. */
static bool done(const struct rbuf *r)
{
	return !r->bad && !r->n;
}

static int send_error(const struct qd_sync_io *io, uint16_t code, const char *text)
{
	static __thread struct wbuf w;

	begin(&w, SYNC_MSG_ERROR);
	put16(&w, code);
	put(&w, text, strnlen(text, 512));
	return send_msg(io, &w);
}

static int refuse(const struct qd_sync_io *io, struct qd_feed *f,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A malformed or unexpected message from the peer: logged, then ERROR. */
static int refuse(const struct qd_sync_io *io, struct qd_feed *f,
		  const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	qd_log(LOG_ERR, "link %s: the peer agent sent %s; ending the key "
	       "agreement session", f->name, what);
	send_error(io, SYNC_ERR_MALFORMED, what);
	return -1;
}

static void log_peer_error(struct qd_feed *f, const struct msg *m)
{
	struct rbuf r = body(m);
	uint16_t code = get16(&r);
	char text[200];

	/* The peer's text: printable ASCII only, and bounded. */
	qd_log(LOG_ERR, "link %s: the peer agent ended the session: error %u: %s",
	       f->name, code, qd_clean(text, sizeof(text), r.bad ? "" :
				       (const char *)r.p, r.bad ? 0 : r.n));
}

/* The 16-byte key ID of a UUID text. */
static int uuid_to_id(const char *u, uint8_t id[QKTLS_KEY_ID_LEN])
{
	return qk_kme_uuid_to_bytes(u, id);
}

static uint8_t store_mask(const struct qd_feed *f)
{
	uint8_t m = 0;

	for (int i = 0; i < QD_STORE_N; i++)
		if (f->active[i])
			m |= 1u << i;
	return m;
}

/* @store names a store, and one both agents keep (@mask). */
static bool store_agreed(uint8_t mask, unsigned int store)
{
	return store < QD_STORE_N && (mask & (1u << store));
}

/*
 * Add the keys of a batch whose stores @want names to those stores, in
 * the offer's order (one call per run of keys for the same store), and
 * count them in @added.  Every store index is checked again here.
 */
static int add_batch(struct qd_feed *f, uint8_t mask, const bool want[QD_STORE_N],
		     const uint8_t *where, const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		     const uint8_t *const *mat, size_t n, size_t added[QD_STORE_N])
{
	memset(added, 0, QD_STORE_N * sizeof(*added));
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && where[j] == where[i])
			j++;
		if (!store_agreed(mask, where[i]))
			return -1;
		if (want[where[i]]) {
			if (qd_store_add(f, where[i], ids + i, mat + i, j - i))
				return -1;
			qd_feed_count(f, &f->keys[where[i]], j - i);
			added[where[i]] += j - i;
		}
		i = j;
	}
	return 0;
}

bool qd_sync_stopping(struct qd_feed *f)
{
	bool s;

	pthread_mutex_lock(&f->lock);
	s = f->stopping;
	pthread_mutex_unlock(&f->lock);
	return s;
}

/* A session's state, zeroed; NULL (logged) when out of memory. */
static void *new_session(struct qd_feed *f, size_t size)
{
	void *s = calloc(1, size);

	if (!s)
		qd_log(LOG_ERR, "link %s: out of memory", f->name);
	return s;
}

/* The stores after a batch (tests wait for these lines). */
static void log_levels(struct qd_feed *f, uint32_t seq, size_t n)
{
	qd_log(LOG_DEBUG, "link %s: batch %u committed, %zu keys; stores hs %ld "
	       "c2s %ld s2c %ld", f->name, seq, n, qd_store_count(f, QD_STORE_HS),
	       qd_store_count(f, QD_STORE_C2S), qd_store_count(f, QD_STORE_S2C));
}

/* --- reconciling the kernel pools at a session's start -------------------- */
/*
 * A new session keeps the kernel pools (a live connection's key update may
 * still be on its way): for each pool both agents keep, the taker lists
 * the IDs it holds (HELD) and the looker answers with those it lacks
 * (MISSING), which the taker deletes; the looker then deletes the keys the
 * taker can never send: those added after the taker's oldest key that the
 * taker does not hold (their batch never reached it) and those older than
 * qkd.orphan_timeout that it does not hold (taken by a connection that
 * never delivered them).
 */

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, QKTLS_KEY_ID_LEN);
}

/* Wait for a message of @type (ERROR from the peer: logged, -1). */
static int expect(const struct qd_sync_io *io, struct qd_feed *f, struct msg *m,
		  uint8_t type, const char *what)
{
	if (recv_msg(io, m))
		return -1;
	if (m->type == SYNC_MSG_ERROR) {
		log_peer_error(f, m);
		return -1;
	}
	if (m->type != type)
		return refuse(io, f, "an unexpected message (type %u) instead of %s",
			      m->type, what);
	return 0;
}

/* The taker's side: HELD in chunks, delete what MISSING names. */
static int reconcile_taker(struct qd_feed *f, const struct qd_sync_io *io,
			   int store, struct msg *m, struct wbuf *w)
{
	uint8_t (*gone)[QKTLS_KEY_ID_LEN] = NULL;
	struct qd_store_key *keys;
	size_t n, i = 0, n_gone = 0;
	int ret = -1;

	if (qd_store_list(f, store, &keys, &n)) {
		send_error(io, SYNC_ERR_STORE, "the taker could not list its pool");
		return -1;
	}
	gone = malloc((n ? n : 1) * sizeof(*gone));
	if (!gone)
		goto out;
	do {
		size_t c = n - i < SYNC_HELD_MAX ? n - i : SYNC_HELD_MAX, at = 0;
		struct rbuf r;
		uint16_t k;

		begin(w, SYNC_MSG_HELD);
		put8(w, (uint8_t)store);
		put8(w, i + c < n);
		put16(w, (uint16_t)c);
		for (size_t j = 0; j < c; j++)
			put(w, keys[i + j].id, QKTLS_KEY_ID_LEN);
		if (send_msg(io, w) || expect(io, f, m, SYNC_MSG_MISSING, "MISSING"))
			goto out;
		r = body(m);
		if (get8(&r) != store || (k = get16(&r)) > c) {
			refuse(io, f, "a MISSING that does not answer HELD");
			goto out;
		}
		/* Each ID named is one of the chunk's, in the chunk's order. */
		for (uint16_t j = 0; j < k; j++) {
			const uint8_t *id = get(&r, QKTLS_KEY_ID_LEN);

			while (id && at < c && memcmp(keys[i + at].id, id, QKTLS_KEY_ID_LEN))
				at++;
			if (!id || at == c) {
				refuse(io, f, "a MISSING naming a key not held");
				goto out;
			}
			memcpy(gone[n_gone++], id, QKTLS_KEY_ID_LEN);
			at++;
		}
		if (!done(&r)) {
			refuse(io, f, "a malformed MISSING");
			goto out;
		}
		i += c;
	} while (i < n);
	if (qd_store_del(f, store, (const uint8_t (*)[QKTLS_KEY_ID_LEN])gone, n_gone)) {
		send_error(io, SYNC_ERR_STORE, "the taker could not delete keys");
		goto out;
	}
	qd_log(n_gone ? LOG_WARNING : LOG_INFO, "link %s: pool %s reconciled: "
	       "%zu keys kept, %zu the peer agent no longer holds deleted",
	       f->name, f->pool[store], n - n_gone, n_gone);
	ret = 0;
out:
	free(gone);
	free(keys);
	return ret;
}

/* A looker's key by ID: where it stands in the pool's order. */
struct key_at {
	uint8_t id[QKTLS_KEY_ID_LEN];	/* first: sorted with cmp_id() */
	size_t at;
};

/* The looker's side: answer every HELD, then delete what the taker cannot use. */
static int reconcile_looker(struct qd_feed *f, const struct qd_sync_io *io,
			    int store, struct msg *m, struct wbuf *w)
{
	uint8_t (*drop)[QKTLS_KEY_ID_LEN] = NULL;
	struct qd_store_key *keys;
	struct key_at *by_id = NULL;
	size_t n, heard = 0, n_drop = 0, first = SIZE_MAX;
	bool *held = NULL, more = true;
	int ret = -1;

	if (qd_store_list(f, store, &keys, &n)) {
		send_error(io, SYNC_ERR_STORE, "the looker could not list its pool");
		return -1;
	}
	by_id = malloc((n ? n : 1) * sizeof(*by_id));
	held = calloc(n ? n : 1, sizeof(*held));
	drop = malloc((n ? n : 1) * sizeof(*drop));
	if (!by_id || !held || !drop)
		goto out;
	for (size_t i = 0; i < n; i++) {
		memcpy(by_id[i].id, keys[i].id, QKTLS_KEY_ID_LEN);
		by_id[i].at = i;
	}
	qsort(by_id, n, sizeof(*by_id), cmp_id);
	while (more) {
		const uint8_t *miss[SYNC_HELD_MAX];
		uint16_t c, k = 0;
		uint8_t m8;
		struct rbuf r;

		if (expect(io, f, m, SYNC_MSG_HELD, "HELD"))
			goto out;
		r = body(m);
		if (get8(&r) != store) {
			refuse(io, f, "a HELD for another pool");
			goto out;
		}
		m8 = get8(&r);
		more = m8;
		c = get16(&r);
		heard += c;
		/*
		 * The taker holds only keys we held: never much more than a
		 * pool; and only a full HELD says more follow (else it could
		 * keep the session here with empty ones).
		 */
		if (r.bad || m8 > 1 || (more && c != SYNC_HELD_MAX) ||
		    c > SYNC_HELD_MAX || r.n != (size_t)c * QKTLS_KEY_ID_LEN ||
		    heard > n + f->capacity + SYNC_HELD_MAX) {
			refuse(io, f, "a malformed HELD, or more keys than a pool holds");
			goto out;
		}
		for (uint16_t j = 0; j < c; j++) {
			const uint8_t *id = get(&r, QKTLS_KEY_ID_LEN);
			const struct key_at *e = bsearch(id, by_id, n, sizeof(*by_id),
							 cmp_id);

			if (!e) {
				miss[k++] = id;
				continue;
			}
			held[e->at] = true;
			if (e->at < first)
				first = e->at;
		}
		begin(w, SYNC_MSG_MISSING);
		put8(w, (uint8_t)store);
		put16(w, k);
		for (uint16_t j = 0; j < k; j++)
			put(w, miss[j], QKTLS_KEY_ID_LEN);
		if (send_msg(io, w))
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!held[i] && ((first != SIZE_MAX && i > first) ||
				 keys[i].age_ms > (uint64_t)f->orphan_timeout * 1000))
			memcpy(drop[n_drop++], keys[i].id, QKTLS_KEY_ID_LEN);
	if (qd_store_del(f, store, (const uint8_t (*)[QKTLS_KEY_ID_LEN])drop, n_drop)) {
		send_error(io, SYNC_ERR_STORE, "the looker could not delete keys");
		goto out;
	}
	qd_log(LOG_INFO, "link %s: pool %s reconciled: %zu keys kept, %zu the "
	       "peer agent can never use deleted", f->name, f->pool[store],
	       n - n_drop, n_drop);
	ret = 0;
out:
	free(by_id);
	free(held);
	free(drop);
	free(keys);
	return ret;
}

/* Both sides, after HELLO and WELCOME: every kernel pool in @mask. */
static int reconcile(struct qd_feed *f, const struct qd_sync_io *io, uint8_t mask,
		     struct msg *m, struct wbuf *w)
{
	for (int i = QD_STORE_C2S; i < QD_STORE_N; i++) {
		int ret;

		if (!store_agreed(mask, (unsigned int)i))
			continue;
		ret = qd_store_taker(f, i) ? reconcile_taker(f, io, i, m, w) :
					     reconcile_looker(f, io, i, m, w);
		if (ret)
			return -1;
	}
	return 0;
}

/* --- master ----------------------------------------------------------------- */

struct master {
	struct qd_feed *f;
	const struct qd_sync_io *io;
	uint32_t seq;			/* the last batch offered */
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

/* The slave's NAK of the open batch (its batch number already read). */
static void log_nak(struct master *s, struct rbuf *r)
{
	uint16_t code = get16(r);

	qd_log(LOG_WARNING, "link %s: the peer agent could not fetch batch %u "
	       "from its KME (%s): %.*s; the batch is discarded on both sides",
	       s->f->name, s->seq, qk_kme_strerror(code), (int)r->n,
	       r->bad ? "" : (const char *)r->p);
}

/* Wait for the ACK (0) or NAK (1) of batch s->seq; LEVELS may come first. */
static int wait_answer(struct master *s)
{
	for (;;) {
		struct rbuf r;

		if (recv_msg(s->io, &s->m))
			return -1;
		r = body(&s->m);
		switch (s->m.type) {
		case SYNC_MSG_LEVELS:
			parse_levels(s, &r);
			if (!done(&r))
				return refuse(s->io, s->f, "a malformed LEVELS");
			break;
		case SYNC_MSG_ACK:
			if (get32(&r) != s->seq || !done(&r))
				return refuse(s->io, s->f, "an ACK of no open batch");
			return 0;
		case SYNC_MSG_NAK:
			if (get32(&r) != s->seq || r.bad || r.n < 2)
				return refuse(s->io, s->f, "a NAK of no open batch");
			log_nak(s, &r);
			return 1;
		case SYNC_MSG_ERROR:
			log_peer_error(s->f, &s->m);
			return -1;
		default:
			return refuse(s->io, s->f, "an unexpected message (type %u)",
				      s->m.type);
		}
	}
}

static void kme_failed(struct master *s)
{
	s->kme_backoff = s->kme_backoff ? s->kme_backoff * 2 : SYNC_BACKOFF_MIN_MS;
	if (s->kme_backoff > SYNC_BACKOFF_MAX_MS)
		s->kme_backoff = SYNC_BACKOFF_MAX_MS;
	qd_deadline(&s->kme_retry, s->kme_backoff);
}

/* The keys of a batch, the master's side. */
struct mbatch {
	struct qk_kme_keys keys;
	uint8_t where[QD_BATCH_MAX];
	uint8_t ids[QD_BATCH_MAX][QKTLS_KEY_ID_LEN];
	const uint8_t *mat[QD_BATCH_MAX];
	size_t n;
};

/* enc_keys for the batch: 0, or 1 when the KME failed (retry later). */
static int fetch_batch(struct master *s, struct mbatch *b)
{
	struct qd_feed *f = s->f;
	struct qk_kme_error err;
	enum qk_kme_err e;

	qd_feed_count(f, &f->kme_calls, 1);
	e = qk_key_source_get(f->src, f->peer_sae_id, (unsigned int)b->n,
			      f->key_size * 8, &b->keys, &err);
	if (!e && b->keys.count != b->n)
		e = QK_KME_E_KEY_COUNT;
	for (size_t i = 0; !e && i < b->n; i++) {
		if (uuid_to_id(b->keys.keys[i].id, b->ids[i]) ||
		    b->keys.keys[i].len != f->key_size) {
			snprintf(err.message, sizeof(err.message), "key ID %s of "
				 "%zu bytes: not usable", b->keys.keys[i].id,
				 b->keys.keys[i].len);
			e = QK_KME_E_MALFORMED;
		}
		b->mat[i] = b->keys.keys[i].key;
	}
	if (!e) {
		s->kme_backoff = 0;
		return 0;
	}
	qd_feed_count(f, &f->kme_errors, 1);
	qd_log(LOG_WARNING, "link %s: KME enc_keys for %zu keys failed (%s): %s",
	       f->name, b->n, qk_kme_strerror(e),
	       e == QK_KME_E_KEY_COUNT ? "wrong key count" : err.message);
	kme_failed(s);
	return 1;
}

/* OFFER the batch as the next batch number. */
static int send_offer(struct master *s, const struct mbatch *b)
{
	begin(&s->w, SYNC_MSG_OFFER);
	put32(&s->w, s->seq + 1);
	put16(&s->w, (uint16_t)b->n);
	for (size_t i = 0; i < b->n; i++) {
		put8(&s->w, b->where[i]);
		put(&s->w, b->keys.keys[i].id, SYNC_UUID_LEN);
	}
	s->seq++;
	return send_msg(s->io, &s->w);
}

/* ACK: the slave holds every key; add ours in the offer's order, COMMIT. */
static int commit_batch(struct master *s, const struct mbatch *b)
{
	static const bool all[QD_STORE_N] = { true, true, true };
	struct qd_feed *f = s->f;
	size_t added[QD_STORE_N];

	if (add_batch(f, s->mask, all, b->where, b->ids, b->mat, b->n, added)) {
		send_error(s->io, SYNC_ERR_STORE, "the master could not store the batch");
		return -1;
	}
	for (int i = 0; i < QD_STORE_N; i++)
		if (s->peer[i] >= 0)
			s->peer[i] += (long)added[i];
	begin(&s->w, SYNC_MSG_COMMIT);
	put32(&s->w, s->seq);
	if (send_msg(s->io, &s->w))
		return -1;
	qd_feed_count(f, &f->batches, 1);
	log_levels(f, s->seq, b->n);
	return 0;
}

/* One batch: enc_keys, OFFER, ACK, add, COMMIT.  -1 ends the session. */
static int batch(struct master *s, const size_t need[QD_STORE_N], size_t total)
{
	struct qd_feed *f = s->f;
	struct mbatch *b = calloc(1, sizeof(*b));
	int ret = -1;

	if (!b)
		return -1;
	b->n = total < QD_BATCH_MAX ? total : QD_BATCH_MAX;
	for (size_t i = 0, k = 0; i < QD_STORE_N; i++)
		for (size_t j = 0; j < need[i] && k < b->n; j++)
			b->where[k++] = (uint8_t)i;
	if (fetch_batch(s, b)) {
		ret = 0;
		goto out;
	}
	if (send_offer(s, b))
		goto out;
	ret = wait_answer(s);
	if (ret > 0) {
		qd_feed_count(f, &f->batches_failed, 1);
		kme_failed(s);	/* the slave's KME: retry later */
		ret = 0;
	} else if (!ret) {
		ret = commit_batch(s, b);
	}
out:
	if (ret < 0)
		qd_feed_count(f, &f->batches_failed, 1);
	qk_kme_keys_free(&b->keys);
	OPENSSL_clear_free(b, sizeof(*b));
	return ret;
}

/* HELLO, then the slave's WELCOME: the stores both keep, its levels. */
static int master_start(struct master *s)
{
	struct qd_feed *f = s->f;
	struct rbuf r;

	begin(&s->w, SYNC_MSG_HELLO);
	put8(&s->w, SYNC_VERSION);
	put8(&s->w, store_mask(f));
	put_str8(&s->w, f->sae_id);
	put_str8(&s->w, f->peer_sae_id);
	put16(&s->w, (uint16_t)f->key_size);
	if (send_msg(s->io, &s->w) || recv_msg(s->io, &s->m))
		return -1;
	r = body(&s->m);
	if (s->m.type == SYNC_MSG_ERROR) {
		log_peer_error(f, &s->m);
		return -1;
	}
	if (s->m.type != SYNC_MSG_WELCOME || get8(&r) != SYNC_VERSION) {
		send_error(s->io, SYNC_ERR_VERSION, "expected WELCOME of version " SYNC_VERSION_TEXT);
		return -1;
	}
	s->mask = store_mask(f) & get8(&r);
	parse_levels(s, &r);
	if (!done(&r) || !(s->mask & 1))
		return refuse(s->io, f, "a malformed WELCOME");
	/* A new session: empty handshake stores, the kernel pools reconciled. */
	if (qd_store_flush_hs(f)) {
		send_error(s->io, SYNC_ERR_STORE, "the master could not flush its stores");
		return -1;
	}
	if (reconcile(f, s->io, s->mask, &s->m, &s->w))
		return -1;
	for (int i = 0; i < QD_STORE_N; i++)
		s->fill[i] = true;
	qd_feed_count(f, &f->sessions_ok, 1);
	qd_log(LOG_NOTICE, "link %s: key agreement session with the agent at %s "
	       "(stores:%s%s%s)", f->name, f->peer_agent, " hs",
	       s->mask & 2 ? " c2s" : "", s->mask & 4 ? " s2c" : "");
	return 0;
}

/* Between batches only LEVELS (or ERROR) may come from the slave. */
static int master_input(struct master *s)
{
	struct rbuf r;

	if (recv_msg(s->io, &s->m))
		return -1;
	r = body(&s->m);
	if (s->m.type == SYNC_MSG_ERROR) {
		log_peer_error(s->f, &s->m);
		return -1;
	}
	if (s->m.type != SYNC_MSG_LEVELS)
		return refuse(s->io, s->f, "an unexpected message (type %u)", s->m.type);
	parse_levels(s, &r);
	return done(&r) ? 0 : refuse(s->io, s->f, "a malformed LEVELS");
}

static int master_session(struct master *s)
{
	struct qd_feed *f = s->f;
	bool kicked;

	if (master_start(s))
		return -1;
	for (;;) {
		size_t need[QD_STORE_N], total;
		long wait = -1;

		if (qd_sync_stopping(f))
			return 0;
		total = needs(s, need);
		if (total && s->kme_backoff && (wait = ms_until(&s->kme_retry)) == 0)
			wait = -1;
		if (total && wait < 0) {
			if (batch(s, need, total))
				return -1;
			continue;
		}
		if (!s->io->wait(s->io->ctx, (int)wait, &kicked))
			continue;	/* kicked, or time to retry the KME */
		if (master_input(s))
			return -1;
	}
}

int qd_sync_run_master(struct qd_feed *f, const struct qd_sync_io *io)
{
	struct master *s = new_session(f, sizeof(*s));
	int ret;

	if (!s)
		return -1;
	s->f = f;
	s->io = io;
	ret = master_session(s);
	free(s);
	return ret;
}

/* --- slave ------------------------------------------------------------------ */

struct slave {
	struct qd_feed *f;
	const struct qd_sync_io *io;
	uint8_t mask;
	uint32_t last_seq;		/* the last batch offered (0: none yet) */
	uint32_t pending_seq;		/* acknowledged, no COMMIT yet (0: none) */
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
	bool want[QD_STORE_N];
	size_t added[QD_STORE_N];

	for (int i = 0; i < QD_STORE_N; i++)
		want[i] = qd_store_taker(s->f, i) == taker;
	return add_batch(s->f, s->mask, want, s->where, s->ids, s->mat, s->n, added);
}

static void drop_pending(struct slave *s)
{
	qk_kme_keys_free(&s->keys);
	memset(&s->keys, 0, sizeof(s->keys));
	OPENSSL_cleanse(s->ids, sizeof(s->ids));
	memset(s->mat, 0, sizeof(s->mat));
	s->n = 0;
	s->pending_seq = 0;
}

/*
 * Our levels: as WELCOME or LEVELS (@type), or 0 (only when a store is low
 * and its level changed since we last said it).
 */
static int put_levels(struct slave *s, uint8_t type)
{
	long lv[QD_STORE_N];
	bool low = false, changed = false;

	for (int i = 0; i < QD_STORE_N; i++) {
		lv[i] = s->mask & (1u << i) ? qd_store_count(s->f, i) : -1;
		low |= lv[i] >= 0 && lv[i] < (long)s->f->low;
		changed |= lv[i] != s->sent[i];
	}
	if (!type && (!low || !changed))
		return 0;
	begin(&s->w, type ? type : SYNC_MSG_LEVELS);
	if (type == SYNC_MSG_WELCOME) {
		put8(&s->w, SYNC_VERSION);
		put8(&s->w, s->mask);
	}
	for (int i = 0; i < QD_STORE_N; i++) {
		put32(&s->w, lv[i] < 0 ? SYNC_LEVEL_NONE : (uint32_t)lv[i]);
		s->sent[i] = lv[i];
	}
	return send_msg(s->io, &s->w);
}

/* One entry of an OFFER: a store both agents keep and a key ID. */
static bool offer_entry(struct slave *s, struct rbuf *r, size_t i,
			char uuid[SYNC_UUID_LEN + 1])
{
	uint8_t store = get8(r);
	const uint8_t *u = get(r, SYNC_UUID_LEN);

	if (!u || !store_agreed(s->mask, store))
		return false;
	s->where[i] = store;
	memcpy(uuid, u, SYNC_UUID_LEN);
	uuid[SYNC_UUID_LEN] = '\0';
	return !uuid_to_id(uuid, s->ids[i]);
}

/* The keys the master takes in order: ours to look up, stored now; ACK. */
static int accept_batch(struct slave *s, uint32_t seq)
{
	s->pending_seq = seq;
	for (size_t i = 0; i < s->n; i++)
		s->mat[i] = s->keys.keys[i].key;
	if (add_pending(s, false)) {
		send_error(s->io, SYNC_ERR_STORE, "the slave could not store the batch");
		return -1;
	}
	begin(&s->w, SYNC_MSG_ACK);
	put32(&s->w, seq);
	return send_msg(s->io, &s->w);
}

/* dec_keys failed, or gave other keys than offered: NAK, nothing kept. */
static int refuse_batch(struct slave *s, uint32_t seq, size_t n, enum qk_kme_err e,
			const char *why)
{
	struct qd_feed *f = s->f;

	qd_feed_count(f, &f->kme_errors, 1);
	qd_feed_count(f, &f->batches_failed, 1);
	qd_log(LOG_WARNING, "link %s: KME dec_keys for batch %u (%zu keys) failed "
	       "(%s): %s; refusing the batch", f->name, seq, n, qk_kme_strerror(e),
	       why);
	qk_kme_keys_free(&s->keys);
	memset(&s->keys, 0, sizeof(s->keys));
	s->n = 0;
	begin(&s->w, SYNC_MSG_NAK);
	put32(&s->w, seq);
	put16(&s->w, (uint16_t)e);
	put(&s->w, why, strnlen(why, 400));
	return send_msg(s->io, &s->w);
}

/* Fetch the offered keys from our KME: ACK or NAK. */
static int fetch_offer(struct slave *s, uint32_t seq, const char *const *idp,
		       size_t n)
{
	struct qd_feed *f = s->f;
	struct qk_kme_error err;
	enum qk_kme_err e;

	qd_feed_count(f, &f->kme_calls, 1);
	e = qk_key_source_get_by_id(f->src, f->peer_sae_id, idp, n, f->key_size * 8,
				    &s->keys, &err);
	if (e)
		return refuse_batch(s, seq, n, e, err.message);
	if (s->keys.count != n)
		return refuse_batch(s, seq, n, QK_KME_E_KEY_COUNT, "wrong key count");
	for (size_t i = 0; i < n; i++)
		if (s->keys.keys[i].len != f->key_size || !s->keys.keys[i].key)
			return refuse_batch(s, seq, n, QK_KME_E_KEY_LENGTH,
					    "a key of the wrong length");
	s->n = n;
	return accept_batch(s, seq);
}

static int offer(struct slave *s, struct rbuf *r)
{
	char uuid[QD_BATCH_MAX][SYNC_UUID_LEN + 1];
	const char *idp[QD_BATCH_MAX];
	uint32_t seq = get32(r);
	uint16_t n = get16(r);
	bool ok = !r->bad && n && n <= QD_BATCH_MAX;

	if (s->pending_seq || seq != s->last_seq + 1 || !seq)
		return refuse(s->io, s->f, "an OFFER of batch %u out of turn (batch "
			      "%u %s)", seq, s->last_seq, s->pending_seq ?
			      "is open" : "was the last");
	for (size_t i = 0; ok && i < n; i++) {
		ok = offer_entry(s, r, i, uuid[i]);
		idp[i] = uuid[i];
	}
	if (!ok || !done(r))
		return refuse(s->io, s->f, "a malformed OFFER, or one naming a "
			      "store not agreed");
	s->last_seq = seq;
	return fetch_offer(s, seq, idp, n);
}

static int commit(struct slave *s, struct rbuf *r)
{
	struct qd_feed *f = s->f;
	int ret;

	if (get32(r) != s->pending_seq || !s->pending_seq || !done(r))
		return refuse(s->io, f, "a COMMIT of no open batch");
	ret = add_pending(s, true);
	if (!ret) {
		qd_feed_count(f, &f->batches, 1);
		log_levels(f, s->pending_seq, s->n);
	}
	drop_pending(s);
	if (ret) {
		send_error(s->io, SYNC_ERR_STORE, "the slave could not store the batch");
		return -1;
	}
	return put_levels(s, 0);
}

/* HELLO: the SAE pair names this link, the key sizes agree.  WELCOME. */
static int hello(struct slave *s)
{
	struct qd_feed *f = s->f;
	char sae[256], peer[256];
	uint16_t key_size;
	struct rbuf r;

	if (recv_msg(s->io, &s->m))
		return -1;
	r = body(&s->m);
	if (s->m.type != SYNC_MSG_HELLO || get8(&r) != SYNC_VERSION) {
		send_error(s->io, SYNC_ERR_VERSION, "expected HELLO of version " SYNC_VERSION_TEXT);
		return -1;
	}
	s->mask = get8(&r) & store_mask(f);
	get_str8(&r, peer, sizeof(peer));
	get_str8(&r, sae, sizeof(sae));
	key_size = get16(&r);
	if (!done(&r) || !(s->mask & 1))
		return refuse(s->io, f, "a malformed HELLO");
	if (strcmp(sae, f->sae_id) || strcmp(peer, f->peer_sae_id)) {
		char cpeer[80], csae[80];

		qd_log(LOG_WARNING, "link %s: the peer agent asked for SAE pair %s/%s, "
		       "this link is %s/%s", f->name,
		       qd_clean(cpeer, sizeof(cpeer), peer, sizeof(peer)),
		       qd_clean(csae, sizeof(csae), sae, sizeof(sae)),
		       f->peer_sae_id, f->sae_id);
		send_error(s->io, SYNC_ERR_LINK, "no link for this SAE pair");
		return -1;
	}
	if (key_size != f->key_size) {
		qd_log(LOG_WARNING, "link %s: the peer agent uses another qkd.key_size",
		       f->name);
		send_error(s->io, SYNC_ERR_KEY_SIZE, "the agents' qkd.key_size differ");
		return -1;
	}
	return 0;
}

/* This session replaces any earlier one of the link. */
static int slave_start(struct slave *s)
{
	struct qd_feed *f = s->f;

	if (hello(s))
		return -1;
	pthread_mutex_lock(&f->lock);
	if (f->session_fd >= 0 && f->session_fd != s->io->fd)
		shutdown(f->session_fd, SHUT_RDWR);
	f->session_fd = s->io->fd;
	pthread_mutex_unlock(&f->lock);
	if (qd_store_flush_hs(f)) {
		send_error(s->io, SYNC_ERR_STORE, "the slave could not flush its stores");
		return -1;
	}
	/* The levels after reconciling are the ones the master fills to. */
	if (put_levels(s, SYNC_MSG_WELCOME) ||
	    reconcile(f, s->io, s->mask, &s->m, &s->w) ||
	    put_levels(s, SYNC_MSG_LEVELS))
		return -1;
	qd_feed_count(f, &f->sessions_ok, 1);
	qd_log(LOG_NOTICE, "link %s: key agreement session from the master agent "
	       "(stores:%s%s%s)", f->name, " hs", s->mask & 2 ? " c2s" : "",
	       s->mask & 4 ? " s2c" : "");
	return 0;
}

static int slave_session(struct slave *s)
{
	struct qd_feed *f = s->f;
	struct rbuf r;
	bool kicked;

	if (slave_start(s))
		return -1;
	for (;;) {
		int ret;

		if (qd_sync_stopping(f))
			return 0;
		if (!s->io->wait(s->io->ctx, -1, &kicked)) {
			if (kicked && put_levels(s, 0))
				return -1;
			continue;
		}
		if (recv_msg(s->io, &s->m))
			return -1;
		r = body(&s->m);
		switch (s->m.type) {
		case SYNC_MSG_OFFER:
			ret = offer(s, &r);
			break;
		case SYNC_MSG_COMMIT:
			ret = commit(s, &r);
			break;
		case SYNC_MSG_ERROR:
			log_peer_error(f, &s->m);
			return -1;
		default:
			return refuse(s->io, f, "an unexpected message (type %u)",
				      s->m.type);
		}
		if (ret)
			return -1;
	}
}

int qd_sync_run_slave(struct qd_feed *f, const struct qd_sync_io *io)
{
	struct slave *s = new_session(f, sizeof(*s));
	int ret;

	if (!s)
		return -1;
	s->f = f;
	s->io = io;
	for (int i = 0; i < QD_STORE_N; i++)
		s->sent[i] = -2;
	ret = slave_session(s);
	if (ret < 0 && !qd_sync_stopping(f)) {
		qd_feed_count(f, &f->session_errors, 1);
		qd_log(LOG_WARNING, "link %s: the key agreement session ended; "
		       "%sthe handshake keys this side takes are discarded", f->name,
		       s->pending_seq ? "the unacknowledged batch and " : "");
	}
	drop_pending(s);
	free(s);
	return ret;
}
