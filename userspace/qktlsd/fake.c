// SPDX-License-Identifier: GPL-2.0-only
/*
 * A link's feeder without the agent: what feed.c and the KME client give
 * sync_proto.c, and its transport, in memory (fake.h).  Linked only into
 * the fuzz targets and unit tests, never into qktlsd.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sanitizer/common_interface_defs.h>

#include "fake.h"

#define FAKE_KEY_SIZE	32

/* A promise of the protocol or of the callers' contract was broken. */
#define CHECK(cond) do { if (!(cond)) broken(__LINE__, #cond); } while (0)

/* Said through the sanitizers' report, which libFuzzer keeps (-close_fd_mask). */
static void broken(int line, const char *what)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "fake.c:%d: broken: %s", line, what);
	__sanitizer_report_error_summary(msg);
	__builtin_trap();
}

static struct fake *of(struct qd_feed *f)
{
	return (struct fake *)f;
}

static void grow(uint8_t **buf, size_t *size, size_t need)
{
	if (need <= *size)
		return;
	*size = need > 2 * *size ? need : 2 * *size;
	*buf = realloc(*buf, *size);
	CHECK(*buf);
}

/* --- transport ---------------------------------------------------------------- */

static bool at_kick(const struct fake *fk)
{
	return fk->in_pos == fk->in_next && fk->in_len - fk->in_pos >= 4 &&
	       fk->in[fk->in_pos] == FAKE_KICK && fk->in[fk->in_pos + 1] == FAKE_KICK;
}

/* At a message's start: skip kicks (a blocked read sees none), read its header. */
static void next_msg(struct fake *fk)
{
	const uint8_t *h;

	while (at_kick(fk))
		fk->in_next = fk->in_pos += 4;
	if (fk->in_pos != fk->in_next || fk->in_len - fk->in_pos < 4)
		return;
	h = fk->in + fk->in_pos;
	fk->in_type = h[1] ? 0 : h[0];
	fk->in_next = fk->in_pos + 4 + (size_t)(h[2] << 8 | h[3]);
}

static int fake_read(void *ctx, void *buf, size_t n)
{
	struct fake *fk = ctx;

	if (!n)
		return 0;
	next_msg(fk);
	if (fk->in_len - fk->in_pos < n)
		return -1;
	memcpy(buf, fk->in + fk->in_pos, n);
	fk->in_pos += n;
	return 0;
}

/* Whole messages, framed right; nothing after an ERROR. */
static int fake_write(void *ctx, const void *buf, size_t n)
{
	struct fake *fk = ctx;
	const uint8_t *m = buf;

	CHECK(!fk->error_sent);
	CHECK(n >= 4 && m[1] == 0 && (size_t)(m[2] << 8 | m[3]) == n - 4);
	fk->error_sent = m[0] == SYNC_MSG_ERROR;
	fk->sent++;
	if (fk->keep_out) {
		grow(&fk->out, &fk->out_size, fk->out_len + n);
		memcpy(fk->out + fk->out_len, m, n);
		fk->out_len += n;
	}
	return 0;
}

/* Input, or the end of it, is always there at once; a kick comes first. */
static bool fake_wait(void *ctx, int ms, bool *kicked)
{
	struct fake *fk = ctx;

	(void)ms;
	*kicked = at_kick(fk);
	if (*kicked)
		fk->in_next = fk->in_pos += 4;
	return !*kicked;
}

int fake_out(const struct fake *fk, unsigned int i, const uint8_t **body,
	     size_t *len)
{
	size_t pos = 0;

	for (;;) {
		const uint8_t *m = fk->out + pos;

		if (fk->out_len - pos < 4)
			return -1;
		*len = (size_t)(m[2] << 8 | m[3]);
		*body = m + 4;
		if (!i--)
			return m[0];
		pos += 4 + *len;
	}
}

/* --- the peer's messages ------------------------------------------------------- */

void fake_in_msg(struct fake *fk, uint8_t type, const void *body, size_t len)
{
	uint8_t h[4] = { type, 0, (uint8_t)(len >> 8), (uint8_t)len };

	CHECK(len <= 0xffff);
	grow(&fk->in, &fk->in_size, fk->in_len + 4 + len);
	memcpy(fk->in + fk->in_len, h, 4);
	if (len)
		memcpy(fk->in + fk->in_len + 4, body, len);
	fk->in_len += 4 + len;
}

void fake_in_kick(struct fake *fk)
{
	static const uint8_t kick[4] = { FAKE_KICK, FAKE_KICK, 0, 0 };

	grow(&fk->in, &fk->in_size, fk->in_len + 4);
	memcpy(fk->in + fk->in_len, kick, 4);
	fk->in_len += 4;
}

static size_t put_str8(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	p[0] = (uint8_t)n;
	memcpy(p + 1, s, n);
	return 1 + n;
}

void fake_in_hello(struct fake *fk, uint8_t stores)
{
	uint8_t b[2 + 2 * 256 + 2] = { SYNC_VERSION, stores };
	size_t n = 2;

	n += put_str8(b + n, fk->f.peer_sae_id);
	n += put_str8(b + n, fk->f.sae_id);
	b[n++] = 0;
	b[n++] = (uint8_t)fk->f.key_size;
	fake_in_msg(fk, SYNC_MSG_HELLO, b, n);
}

void fake_in_welcome(struct fake *fk, uint8_t stores)
{
	uint8_t b[2 + 12] = { SYNC_VERSION, stores };

	for (int i = 0; i < QD_STORE_N; i++)
		if (!(stores & (1u << i)))
			memset(b + 2 + 4 * i, 0xff, 4);
	fake_in_msg(fk, SYNC_MSG_WELCOME, b, sizeof(b));
}

void fake_in_offer(struct fake *fk, uint32_t seq, const uint8_t *where, size_t n,
		   unsigned int first)
{
	uint8_t b[6 + QD_BATCH_MAX * (1 + SYNC_UUID_LEN)];
	uint32_t be = htonl(seq);
	size_t len = 6;

	CHECK(n <= QD_BATCH_MAX);
	memcpy(b, &be, 4);
	b[4] = (uint8_t)(n >> 8);
	b[5] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		char u[SYNC_UUID_LEN + 1];

		fake_uuid(first + (unsigned int)i, u);
		b[len++] = where[i];
		memcpy(b + len, u, SYNC_UUID_LEN);
		len += SYNC_UUID_LEN;
	}
	fake_in_msg(fk, SYNC_MSG_OFFER, b, len);
}

void fake_in_seq(struct fake *fk, uint8_t type, uint32_t seq)
{
	uint32_t be = htonl(seq);

	fake_in_msg(fk, type, &be, 4);
}

void fake_uuid(unsigned int i, char out[SYNC_UUID_LEN + 1])
{
	snprintf(out, SYNC_UUID_LEN + 1, "%08x-0000-4000-8000-%012x", i, i);
}

void fake_id(unsigned int i, uint8_t id[QKTLS_KEY_ID_LEN])
{
	static const uint8_t mid[] = { 0, 0, 0x40, 0, 0x80, 0, 0, 0 };
	uint32_t be = htonl(i);

	memcpy(id, &be, 4);
	memcpy(id + 4, mid, sizeof(mid));
	memcpy(id + 12, &be, 4);
}

void fake_in_reconcile(struct fake *fk, uint8_t stores)
{
	for (int i = QD_STORE_C2S; i < QD_STORE_N; i++) {
		uint8_t b[4] = { (uint8_t)i };

		if (!(stores & (1u << i)) || !fk->f.active[i])
			continue;
		/* Our store's keys fit one HELD: the looker misses none. */
		if (qd_store_taker(&fk->f, i))
			fake_in_msg(fk, SYNC_MSG_MISSING, b, 3);
		else
			fake_in_msg(fk, SYNC_MSG_HELD, b, 4);
	}
}

/* --- the KME ------------------------------------------------------------------- */

/* A key container with these IDs, each key's bytes made from its ID. */
static enum qk_kme_err make_keys(struct fake *fk, const char *const *ids, size_t n,
				 struct qk_kme_keys *out, struct qk_kme_error *err)
{
	enum fake_kme how = fk->kme_calls == 1 && fk->kme_first ? fk->kme_first : fk->kme;
	size_t len = how == FAKE_KME_LENGTH ? FAKE_KEY_SIZE - 1 : FAKE_KEY_SIZE;

	memset(out, 0, sizeof(*out));
	if (how == FAKE_KME_FAIL) {
		snprintf(err->message, sizeof(err->message), "the fake KME fails");
		return QK_KME_E_UNAVAILABLE;
	}
	if (how == FAKE_KME_COUNT)
		n--;
	out->count = n;
	out->keys = calloc(n + 1, sizeof(*out->keys));
	out->material_len = n * len + 1;
	out->material = OPENSSL_malloc(out->material_len);
	CHECK(out->keys && out->material);
	for (size_t i = 0; i < n; i++) {
		struct qk_kme_key *k = &out->keys[i];

		snprintf(k->id, sizeof(k->id), "%s", ids[i]);
		k->key = out->material + i * len;
		k->len = len;
		for (size_t j = 0; j < len; j++)
			k->key[j] = (uint8_t)ids[i][j % SYNC_UUID_LEN];
	}
	return QK_KME_OK;
}

/* Callers ask for 1 to 64 keys of the link's key size. */
static void check_request(struct fake *fk, struct qk_key_source *src,
			  const char *peer, size_t n, unsigned int size)
{
	CHECK(src == &fk->src && peer == fk->f.peer_sae_id);
	CHECK(n >= 1 && n <= QD_BATCH_MAX && size == fk->f.key_size * 8);
	fk->kme_calls++;
}

enum qk_kme_err qk_key_source_get(struct qk_key_source *src, const char *peer,
				  unsigned int number, unsigned int size,
				  struct qk_kme_keys *out, struct qk_kme_error *err)
{
	struct fake *fk = src->priv;
	char uuid[QD_BATCH_MAX][SYNC_UUID_LEN + 1];
	const char *ids[QD_BATCH_MAX];

	check_request(fk, src, peer, number, size);
	CHECK(fk->f.master);
	for (unsigned int i = 0; i < number; i++) {
		fake_uuid(fk->keys_made++, uuid[i]);
		ids[i] = uuid[i];
	}
	return make_keys(fk, ids, number, out, err);
}

enum qk_kme_err qk_key_source_get_by_id(struct qk_key_source *src,
					const char *peer,
					const char *const *ids, size_t n_ids,
					unsigned int size, struct qk_kme_keys *out,
					struct qk_kme_error *err)
{
	struct fake *fk = src->priv;

	check_request(fk, src, peer, n_ids, size);
	CHECK(!fk->f.master);
	for (size_t i = 0; i < n_ids; i++)
		CHECK(qk_kme_is_uuid(ids[i]));
	return make_keys(fk, ids, n_ids, out, err);
}

/* --- feed.c ------------------------------------------------------------------- */

bool qd_store_taker(const struct qd_feed *f, int store)
{
	CHECK(store >= 0 && store < QD_STORE_N);
	return store == QD_STORE_S2C ? !f->client : f->client;
}

long qd_store_count(struct qd_feed *f, int store)
{
	CHECK(store >= 0 && store < QD_STORE_N);
	return f->active[store] ? (long)of(f)->st[store].n : -1;
}

/* The message being handled when keys reach @store of this agent. */
static uint8_t adds_at(const struct qd_feed *f, int store)
{
	if (f->master)
		return SYNC_MSG_ACK;
	return qd_store_taker(f, store) ? SYNC_MSG_COMMIT : SYNC_MSG_OFFER;
}

static bool held(const struct fake_store *st, const uint8_t *id)
{
	for (size_t i = 0; i < st->n; i++)
		if (!memcmp(st->ids[i], id, QKTLS_KEY_ID_LEN))
			return true;
	return false;
}

int qd_store_add(struct qd_feed *f, int store,
		 const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		 const uint8_t *const *keys, size_t n)
{
	static volatile uint8_t sink;
	struct fake *fk = of(f);
	struct fake_store *st;

	CHECK(store >= 0 && store < QD_STORE_N && f->active[store] && n);
	CHECK(fk->in_type == adds_at(f, store));
	st = &fk->st[store];
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < f->key_size; j++)
			sink ^= keys[i][j];	/* every byte must be readable */
		if (held(st, ids[i]) || st->n == FAKE_STORE_MAX)
			return -1;		/* as the real stores refuse */
		memcpy(st->ids[st->n++], ids[i], QKTLS_KEY_ID_LEN);
	}
	return 0;
}

int qd_store_flush_hs(struct qd_feed *f)
{
	of(f)->st[QD_STORE_HS].n = 0;
	return 0;
}

/* Only the kernel pools are listed and deleted from, only at a session's start. */
static struct fake_store *kernel_store(struct qd_feed *f, int store)
{
	struct fake *fk = of(f);

	CHECK(store > QD_STORE_HS && store < QD_STORE_N && f->active[store]);
	CHECK(fk->in_type == SYNC_MSG_HELD || fk->in_type == SYNC_MSG_MISSING ||
	      fk->in_type == (f->master ? SYNC_MSG_WELCOME : SYNC_MSG_HELLO));
	return &fk->st[store];
}

int qd_store_list(struct qd_feed *f, int store, struct qd_store_key **keys,
		  size_t *n)
{
	struct fake_store *st = kernel_store(f, store);

	*n = st->n;
	*keys = calloc(st->n ? st->n : 1, sizeof(**keys));
	CHECK(*keys);
	for (size_t i = 0; i < st->n; i++) {
		memcpy((*keys)[i].id, st->ids[i], QKTLS_KEY_ID_LEN);
		(*keys)[i].age_ms = st->age_ms[i];
	}
	return 0;
}

int qd_store_del(struct qd_feed *f, int store,
		 const uint8_t (*ids)[QKTLS_KEY_ID_LEN], size_t n)
{
	struct fake_store *st = kernel_store(f, store);
	struct fake *fk = of(f);
	size_t k = 0;

	for (size_t i = 0; i < st->n; i++) {
		bool del = false;

		for (size_t j = 0; j < n && !del; j++)
			del = !memcmp(st->ids[i], ids[j], QKTLS_KEY_ID_LEN);
		if (del)
			continue;
		memmove(st->ids[k], st->ids[i], QKTLS_KEY_ID_LEN);
		st->age_ms[k++] = st->age_ms[i];
	}
	fk->deleted[store] += st->n - k;
	st->n = k;
	return 0;
}

void fake_store_fill(struct fake *fk, int store, unsigned int first, size_t n,
		     uint64_t age_ms)
{
	struct fake_store *st = &fk->st[store];

	CHECK(st->n + n <= FAKE_STORE_MAX);
	for (size_t i = 0; i < n; i++) {
		fake_id(first + (unsigned int)i, st->ids[st->n]);
		st->age_ms[st->n++] = age_ms;
	}
}

/* Counters are members of the feeder. */
void qd_feed_count(struct qd_feed *f, uint64_t *ctr, uint64_t n)
{
	CHECK((char *)ctr >= (char *)f && (char *)(ctr + 1) <= (char *)(f + 1));
	*ctr += n;
}

static unsigned int deadlines;

/* The first KME retry of a session is due at once, later ones an hour on. */
void qd_deadline(struct timespec *ts, unsigned int ms)
{
	(void)ms;
	clock_gettime(CLOCK_MONOTONIC, ts);
	if (deadlines++)
		ts->tv_sec += 3600;
}

/* --- set-up ---------------------------------------------------------------------- */

void fake_init(struct fake *fk, bool master, bool client, uint8_t stores)
{
	struct qd_feed *f = &fk->f;

	memset(fk, 0, sizeof(*fk));
	deadlines = 0;
	pthread_mutex_init(&f->lock, NULL);
	f->name = "fake";
	f->peer_name = "peer.test";
	f->peer_agent = "127.0.0.1:1";
	f->master = master;
	f->client = client;
	f->sae_id = master ? "SAE_A" : "SAE_B";
	f->peer_sae_id = master ? "SAE_B" : "SAE_A";
	f->low = 2;
	f->high = 4;
	f->capacity = 8;
	f->orphan_timeout = 3600;
	snprintf(f->pool[QD_STORE_C2S], QKTLS_POOL_NAME_MAX, "fake.c2s");
	snprintf(f->pool[QD_STORE_S2C], QKTLS_POOL_NAME_MAX, "fake.s2c");
	f->key_size = FAKE_KEY_SIZE;
	f->session_fd = -1;
	f->kick = -1;
	for (int i = 0; i < QD_STORE_N; i++)
		f->active[i] = i == QD_STORE_HS || (stores & (1u << i));
	fk->src.priv = fk;
	f->src = &fk->src;
	fk->io = (struct qd_sync_io){
		.ctx = fk, .read = fake_read, .write = fake_write, .wait = fake_wait,
		.fd = -1,
	};
}

void fake_free(struct fake *fk)
{
	pthread_mutex_destroy(&fk->f.lock);
	free(fk->in);
	free(fk->out);
	fk->in = fk->out = NULL;
}
