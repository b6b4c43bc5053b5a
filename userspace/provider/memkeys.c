// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An in-memory QKD key source for the provider (tests, keys handed over
 * directly).  Keys are handed out (get_key) in the order they were added,
 * or consumed by reference (take_key); either way each key leaves once and
 * its bytes are wiped at that moment; the reference stays, so a second
 * take is told "already used", not "unknown".
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <qktls/provider.h>

struct mk_entry {
	uint8_t ref[QKTLS_QKD_REF_LEN];
	uint8_t key[QKTLS_QKD_KEY_MAX];
	size_t len;
	int gone;
};

struct qktls_memkeys {
	pthread_mutex_t lock;
	char *link;
	struct mk_entry *v;
	size_t n, cap, next, available, discarded;
};

struct qktls_memkeys *qktls_memkeys_new(const char *link)
{
	struct qktls_memkeys *mk = calloc(1, sizeof(*mk));

	if (mk == NULL)
		return NULL;
	pthread_mutex_init(&mk->lock, NULL);
	if (link != NULL && (mk->link = strdup(link)) == NULL) {
		free(mk);
		return NULL;
	}
	return mk;
}

void qktls_memkeys_free(struct qktls_memkeys *mk)
{
	if (mk == NULL)
		return;
	if (mk->v != NULL)
		OPENSSL_cleanse(mk->v, mk->cap * sizeof(*mk->v));
	free(mk->v);
	free(mk->link);
	pthread_mutex_destroy(&mk->lock);
	free(mk);
}

static struct mk_entry *find(struct qktls_memkeys *mk,
			     const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	for (size_t i = 0; i < mk->n; i++)
		if (memcmp(mk->v[i].ref, ref, QKTLS_QKD_REF_LEN) == 0)
			return &mk->v[i];
	return NULL;
}

int qktls_memkeys_add(struct qktls_memkeys *mk,
		      const uint8_t ref[QKTLS_QKD_REF_LEN],
		      const uint8_t *key, size_t key_len)
{
	int rc = -1;

	if (key_len < QKTLS_QKD_KEY_MIN || key_len > QKTLS_QKD_KEY_MAX)
		return -1;
	pthread_mutex_lock(&mk->lock);
	if (find(mk, ref) != NULL)
		goto out;
	if (mk->n == mk->cap) {
		size_t cap = mk->cap ? 2 * mk->cap : 16;
		struct mk_entry *v = calloc(cap, sizeof(*v));

		if (v == NULL)
			goto out;
		if (mk->v != NULL) {
			memcpy(v, mk->v, mk->n * sizeof(*v));
			OPENSSL_cleanse(mk->v, mk->cap * sizeof(*v));
			free(mk->v);
		}
		mk->v = v;
		mk->cap = cap;
	}
	memcpy(mk->v[mk->n].ref, ref, QKTLS_QKD_REF_LEN);
	memcpy(mk->v[mk->n].key, key, key_len);
	mk->v[mk->n].len = key_len;
	mk->v[mk->n].gone = 0;
	mk->n++;
	mk->available++;
	rc = 0;
out:
	pthread_mutex_unlock(&mk->lock);
	return rc;
}

/* Hand out @e: copy its key, wipe it, mark it gone.  Lock held. */
static int hand_out(struct qktls_memkeys *mk, struct mk_entry *e,
		    uint8_t *key, size_t *key_len)
{
	if (*key_len < e->len)
		return QKTLS_QKD_ERROR;
	memcpy(key, e->key, e->len);
	*key_len = e->len;
	OPENSSL_cleanse(e->key, sizeof(e->key));
	e->gone = 1;
	mk->available--;
	return QKTLS_QKD_OK;
}

static int mk_get_key(void *arg, uint8_t ref[QKTLS_QKD_REF_LEN],
		      uint8_t *key, size_t *key_len)
{
	struct qktls_memkeys *mk = arg;
	int rc = QKTLS_QKD_EMPTY;

	pthread_mutex_lock(&mk->lock);
	while (mk->next < mk->n && mk->v[mk->next].gone)
		mk->next++;
	if (mk->next < mk->n) {
		struct mk_entry *e = &mk->v[mk->next];

		memcpy(ref, e->ref, QKTLS_QKD_REF_LEN);
		rc = hand_out(mk, e, key, key_len);
	}
	pthread_mutex_unlock(&mk->lock);
	return rc;
}

static int mk_take_key(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN],
		       uint8_t *key, size_t *key_len)
{
	struct qktls_memkeys *mk = arg;
	struct mk_entry *e;
	int rc;

	pthread_mutex_lock(&mk->lock);
	e = find(mk, ref);
	if (e == NULL)
		rc = QKTLS_QKD_NOT_FOUND;
	else if (e->gone)
		rc = QKTLS_QKD_USED;
	else
		rc = hand_out(mk, e, key, key_len);
	pthread_mutex_unlock(&mk->lock);
	return rc;
}

static void mk_discard_key(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	struct qktls_memkeys *mk = arg;

	(void)ref;
	pthread_mutex_lock(&mk->lock);
	mk->discarded++;
	pthread_mutex_unlock(&mk->lock);
}

size_t qktls_memkeys_available(const struct qktls_memkeys *mk)
{
	struct qktls_memkeys *m = (struct qktls_memkeys *)mk;
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->available;
	pthread_mutex_unlock(&m->lock);
	return n;
}

size_t qktls_memkeys_discarded(const struct qktls_memkeys *mk)
{
	struct qktls_memkeys *m = (struct qktls_memkeys *)mk;
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->discarded;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void qktls_memkeys_bind(struct qktls_memkeys *mk, struct qktls_qkd_keys *keys)
{
	memset(keys, 0, sizeof(*keys));
	keys->arg = mk;
	keys->link = mk->link;
	keys->get_key = mk_get_key;
	keys->take_key = mk_take_key;
	keys->discard_key = mk_discard_key;
}
