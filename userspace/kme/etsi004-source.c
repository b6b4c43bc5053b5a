// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The key-source interface over an ETSI GS QKD 004 key stream.
 *
 * Both agents open the same key stream ID (configured on both ends) at
 * their own KMEs.  A key's ID names its index in the stream: the first 8
 * bytes of the key stream ID, then the index as a 64-bit big-endian
 * number, as a UUID.  get_keys() (the master) reads the next indices and
 * returns their IDs; get_keys_by_id() (the peer) reads exactly the indices
 * those IDs name, so the existing ID agreement between the agents works
 * unchanged and each store gets the keys the master assigned to it.
 *
 * The stream is opened on first use and again after the KME lost it (NO
 * QKD connection); CLOSE when the source is freed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <qktls/etsi004.h>

#include "kme-internal.h"

/* Indices skipped in one call when the KME says an index is used up. */
#define MAX_SKIPS 64

struct k004 {
	pthread_mutex_t lock;
	struct qk_004_client *c;
	char *source, *destination;
	unsigned char ksid[QK_004_KSID_LEN];
	struct qk_004_qos qos;
	bool open;
	uint64_t next;		/* the master's next index */
};

void qk_004_index_id(const unsigned char ksid[QK_004_KSID_LEN], uint64_t index,
		     char out[37])
{
	unsigned char b[QK_004_KSID_LEN];

	memcpy(b, ksid, 8);
	for (int i = 0; i < 8; i++)
		b[8 + i] = (unsigned char)(index >> (56 - 8 * i));
	qk_004_ksid_str(b, out);
}

int qk_004_id_index(const unsigned char ksid[QK_004_KSID_LEN], const char *id,
		    uint64_t *index)
{
	unsigned char b[QK_004_KSID_LEN];

	if (qk_004_ksid_parse(id, b) || memcmp(b, ksid, 8))
		return -1;
	*index = 0;
	for (int i = 0; i < 8; i++)
		*index = *index << 8 | b[8 + i];
	return *index > UINT32_MAX ? -1 : 0;
}

static enum qk_kme_err ensure_open(struct k004 *s, struct qk_kme_error *err)
{
	struct qk_004_qos q = s->qos;
	unsigned char id[QK_004_KSID_LEN];
	enum qk_kme_err rc;

	if (s->open)
		return QK_KME_OK;
	memcpy(id, s->ksid, sizeof(id));
	rc = qk_004_open_connect(s->c, s->source, s->destination, &q, id, NULL, err);
	/* Still open at the KME from before (this process lost track). */
	if (rc == QK_KME_E_KSID_IN_USE) {
		uint32_t st;

		if (qk_004_close(s->c, s->ksid, &st, err) == QK_KME_OK) {
			q = s->qos;
			rc = qk_004_open_connect(s->c, s->source, s->destination,
						 &q, id, NULL, err);
		}
	}
	if (rc == QK_KME_OK)
		s->open = true;
	return rc;
}

/* Collect @n keys into @out; the IDs are their indices' IDs. */
static enum qk_kme_err make_keys(struct k004 *s, size_t n, struct qk_kme_keys *out,
				 struct qk_kme_error *err)
{
	size_t chunk = s->qos.key_chunk_size;

	memset(out, 0, sizeof(*out));
	out->keys = calloc(n, sizeof(*out->keys));
	out->material = OPENSSL_zalloc(n * chunk);
	if (!out->keys || !out->material) {
		free(out->keys);
		OPENSSL_free(out->material);
		memset(out, 0, sizeof(*out));
		return qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
	}
	out->material_len = n * chunk;
	return QK_KME_OK;
}

/* GET_KEY @index into key @i of @out. */
static enum qk_kme_err read_index(struct k004 *s, uint64_t index,
				  struct qk_kme_keys *out, size_t i,
				  struct qk_kme_error *err)
{
	size_t chunk = s->qos.key_chunk_size;
	struct qk_004_key k;
	enum qk_kme_err rc;

	rc = qk_004_get_key(s->c, s->ksid, (uint32_t)index, chunk, 0, &k, NULL, err);
	if (rc == QK_KME_E_NO_CONNECTION)
		s->open = false;	/* the KME lost the stream: reopen next time */
	if (rc)
		return rc;
	memcpy(out->material + i * chunk, k.key, chunk);
	qk_004_key_free(&k);
	out->keys[i].key = out->material + i * chunk;
	out->keys[i].len = chunk;
	qk_004_index_id(s->ksid, index, out->keys[i].id);
	out->count = i + 1;
	return QK_KME_OK;
}

static enum qk_kme_err check_size(struct k004 *s, unsigned int size, size_t n,
				  struct qk_kme_error *err)
{
	if ((size && size != s->qos.key_chunk_size * 8u) || !n || n > QK_KME_MAX_KEYS)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "ETSI 004 key stream: keys are %u bits (asked %u), "
				   "1 to %d at a time", s->qos.key_chunk_size * 8u,
				   size, QK_KME_MAX_KEYS);
	return QK_KME_OK;
}

static enum qk_kme_err k004_get(struct qk_key_source *src, const char *peer,
				unsigned int number, unsigned int size,
				struct qk_kme_keys *out, struct qk_kme_error *err)
{
	struct k004 *s = src->priv;
	unsigned int skips = 0;
	enum qk_kme_err rc;

	(void)peer;
	memset(out, 0, sizeof(*out));
	rc = check_size(s, size, number, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->lock);
	rc = ensure_open(s, err);
	if (!rc)
		rc = make_keys(s, number, out, err);
	for (size_t i = 0; !rc && i < number; i++) {
		if (s->next > UINT32_MAX) {
			rc = qk_kme_fail(err, QK_KME_E_NO_KEY, 0,
					 "ETSI 004 key stream: every index is used");
			break;
		}
		rc = read_index(s, s->next, out, i, err);
		/*
		 * Used up (by an earlier run of this agent) or no key: the index
		 * is left behind, a gap the peer never hears of.  Others (peer
		 * not connected, timeout, transport) leave it for the next try.
		 */
		if (rc == QK_KME_E_NO_KEY && ++skips <= MAX_SKIPS) {
			s->next++;
			rc = QK_KME_OK;
			i--;
			continue;
		}
		if (!rc)
			s->next++;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc)
		qk_kme_keys_free(out);	/* keys read before the failure: a gap */
	return rc;
}

static enum qk_kme_err k004_get_by_id(struct qk_key_source *src,
				      const char *peer, const char *const *ids,
				      size_t n_ids, unsigned int size,
				      struct qk_kme_keys *out,
				      struct qk_kme_error *err)
{
	struct k004 *s = src->priv;
	enum qk_kme_err rc;
	uint64_t index;

	(void)peer;
	memset(out, 0, sizeof(*out));
	rc = check_size(s, size, n_ids, err);
	for (size_t i = 0; !rc && i < n_ids; i++)
		if (!ids[i] || qk_004_id_index(s->ksid, ids[i], &index))
			rc = qk_kme_fail(err, QK_KME_E_BAD_KEY_ID, 0,
					 "key ID %.40s does not name an index of key stream",
					 ids[i] ? ids[i] : "(null)");
	if (rc)
		return rc;
	pthread_mutex_lock(&s->lock);
	rc = ensure_open(s, err);
	if (!rc)
		rc = make_keys(s, n_ids, out, err);
	for (size_t i = 0; !rc && i < n_ids; i++) {
		qk_004_id_index(s->ksid, ids[i], &index);
		rc = read_index(s, index, out, i, err);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc)
		qk_kme_keys_free(out);
	return rc;
}

/*
 * Make sure this side has the stream open: OPEN_CONNECT again (a stream
 * still open is closed and reopened; its used indices stay used).  004
 * has no status call; only the key size is reported.
 */
static enum qk_kme_err k004_status(struct qk_key_source *src, const char *peer,
				   struct qk_kme_status *out,
				   struct qk_kme_error *err)
{
	struct k004 *s = src->priv;
	enum qk_kme_err rc;

	(void)peer;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	s->open = false;
	rc = ensure_open(s, err);
	pthread_mutex_unlock(&s->lock);
	if (!rc)
		out->key_size = s->qos.key_chunk_size * 8ul;
	return rc;
}

static void k004_destroy(struct qk_key_source *src)
{
	struct k004 *s = src->priv;

	if (s->open) {
		struct qk_kme_error err;
		uint32_t st;

		qk_004_close(s->c, s->ksid, &st, &err);
	}
	qk_004_client_free(s->c);
	free(s->source);
	free(s->destination);
	pthread_mutex_destroy(&s->lock);
	free(s);
	free(src);
}

static const struct qk_key_source_ops k004_ops = {
	.name = "etsi004",
	.get_keys = k004_get,
	.get_keys_by_id = k004_get_by_id,
	.status = k004_status,
	.destroy = k004_destroy,
};

struct qk_key_source *qk_kme004_source_new(const struct qk_004_source_config *cfg,
					   struct qk_kme_error *err)
{
	struct qk_key_source *src;
	struct k004 *s;
	bool zero = true;

	for (int i = 0; cfg && i < QK_004_KSID_LEN; i++)
		zero &= !cfg->ksid[i];
	if (!cfg || !cfg->source || !*cfg->source || !cfg->destination ||
	    !*cfg->destination || zero || !cfg->qos.key_chunk_size ||
	    cfg->qos.key_chunk_size > QK_004_CHUNK_MAX) {
		qk_kme_fail(err, QK_KME_E_INVAL, 0,
			    "ETSI 004 key source: need source and destination URIs, "
			    "a key stream ID (not all zero) and a chunk size of 1 to %u bytes",
			    QK_004_CHUNK_MAX);
		return NULL;
	}
	src = calloc(1, sizeof(*src));
	s = calloc(1, sizeof(*s));
	if (!src || !s || !(s->source = strdup(cfg->source)) ||
	    !(s->destination = strdup(cfg->destination))) {
		if (s) {
			free(s->source);
			free(s);
		}
		free(src);
		qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	s->c = qk_004_client_new(&cfg->kme, err);
	if (!s->c) {
		free(s->source);
		free(s->destination);
		free(s);
		free(src);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	memcpy(s->ksid, cfg->ksid, QK_004_KSID_LEN);
	s->qos = cfg->qos;
	s->next = cfg->first_index;
	src->ops = &k004_ops;
	src->priv = s;
	src->timeout_ms = cfg->kme.timeout_ms;
	{
		struct qk_kme_error e2;

		/* The peer's GET_KEYs fail until this side has opened. */
		pthread_mutex_lock(&s->lock);
		ensure_open(s, &e2);
		pthread_mutex_unlock(&s->lock);
	}
	return src;
}
