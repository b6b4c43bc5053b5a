// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A QKD key source for the provider that asks an ETSI GS QKD 014 KME during
 * the handshake (the QKD-KEM provider's model): get_key draws one key with
 * enc_keys for the peer SAE, take_key fetches the key the peer named with
 * dec_keys.  Every key ID this source drew or took is remembered for the
 * life of the source, and a second take of it is refused without asking
 * the KME ("already used"), whatever the KME would say.
 *
 * Failures raise a message naming the KME URL, the call and the KME
 * client's explanation on the OpenSSL error queue, next to the provider's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <qktls/kme.h>
#include <qktls/provider.h>

#include "internal.h"

#define KK_KEY_BITS	(8 * QKTLS_QKD_MLKEM768_KEY_LEN)

struct qktls_kmekeys {
	pthread_mutex_t lock;
	struct qk_key_source *src;
	char *url, *peer, *link;
	uint8_t (*seen)[QKTLS_QKD_REF_LEN];	/* sorted */
	size_t n_seen, cap_seen;
	struct qktls_kmekeys_stats st;
};

static int ref_cmp(const void *a, const void *b)
{
	return memcmp(a, b, QKTLS_QKD_REF_LEN);
}

/* Remember @ref; returns 0, 1 if it was there already, -1 without memory.
 * Lock held. */
static int seen_add(struct qktls_kmekeys *kk, const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	size_t lo = 0, hi = kk->n_seen;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(kk->seen[mid], ref, QKTLS_QKD_REF_LEN);

		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (kk->n_seen == kk->cap_seen) {
		size_t cap = kk->cap_seen ? 2 * kk->cap_seen : 64;
		void *v = realloc(kk->seen, cap * QKTLS_QKD_REF_LEN);

		if (v == NULL)
			return -1;
		kk->seen = v;
		kk->cap_seen = cap;
	}
	memmove(kk->seen[lo + 1], kk->seen[lo],
		(kk->n_seen - lo) * QKTLS_QKD_REF_LEN);
	memcpy(kk->seen[lo], ref, QKTLS_QKD_REF_LEN);
	kk->n_seen++;
	return 0;
}

static int seen_has(struct qktls_kmekeys *kk, const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	return kk->n_seen &&
	       bsearch(ref, kk->seen, kk->n_seen, QKTLS_QKD_REF_LEN, ref_cmp);
}

static void count(struct qktls_kmekeys *kk, unsigned long *c)
{
	pthread_mutex_lock(&kk->lock);
	(*c)++;
	pthread_mutex_unlock(&kk->lock);
}

static void kme_failed(struct qktls_kmekeys *kk, const char *call,
		       const char *id, enum qk_kme_err rc,
		       const struct qk_kme_error *err)
{
	count(kk, &kk->st.failed);
	QK_ERR(QK_R_KEY_SOURCE,
	       "link %s: KME %s: %s%s%s for SAE %s failed (%s): %s",
	       kk->link, kk->url, call, id ? " of key " : "", id ? id : "",
	       kk->peer, qk_kme_strerror(rc), err->message);
}

/* The one key of @keys into @key / @key_len.  Returns a qktls_qkd_status. */
static int one_key(struct qktls_kmekeys *kk, const struct qk_kme_keys *keys,
		   uint8_t *key, size_t *key_len)
{
	if (keys->count != 1 || keys->keys[0].len != QKTLS_QKD_MLKEM768_KEY_LEN ||
	    *key_len < keys->keys[0].len) {
		QK_ERR(QK_R_KEY_SOURCE,
		       "link %s: KME %s returned %zu keys of %zu bytes, expected one of %d",
		       kk->link, kk->url, keys->count,
		       keys->count ? keys->keys[0].len : 0,
		       QKTLS_QKD_MLKEM768_KEY_LEN);
		return QKTLS_QKD_ERROR;
	}
	memcpy(key, keys->keys[0].key, keys->keys[0].len);
	*key_len = keys->keys[0].len;
	return QKTLS_QKD_OK;
}

static int kk_get_key(void *arg, uint8_t ref[QKTLS_QKD_REF_LEN],
		      uint8_t *key, size_t *key_len)
{
	struct qktls_kmekeys *kk = arg;
	struct qk_kme_keys keys = { 0 };
	struct qk_kme_error err = { 0 };
	enum qk_kme_err rc;
	int ret, dup;

	count(kk, &kk->st.enc_calls);
	rc = qk_key_source_get(kk->src, kk->peer, 1, KK_KEY_BITS, &keys, &err);
	if (rc != QK_KME_OK) {
		kme_failed(kk, "enc_keys", NULL, rc, &err);
		return rc == QK_KME_E_UNAVAILABLE ? QKTLS_QKD_EMPTY :
						    QKTLS_QKD_ERROR;
	}
	ret = one_key(kk, &keys, key, key_len);
	if (ret == QKTLS_QKD_OK &&
	    qk_kme_uuid_to_bytes(keys.keys[0].id, ref) != 0) {
		QK_ERR(QK_R_KEY_SOURCE, "link %s: KME %s: key ID %s is not a UUID",
		       kk->link, kk->url, keys.keys[0].id);
		ret = QKTLS_QKD_ERROR;
	}
	if (ret == QKTLS_QKD_OK) {
		pthread_mutex_lock(&kk->lock);
		dup = seen_add(kk, ref);
		pthread_mutex_unlock(&kk->lock);
		if (dup != 0) {
			QK_ERR(QK_R_KEY_SOURCE,
			       "link %s: KME %s handed out key %s %s",
			       kk->link, kk->url, keys.keys[0].id,
			       dup > 0 ? "a second time: refused" :
					 "but there is no memory to note it");
			ret = QKTLS_QKD_ERROR;
		}
	}
	if (ret != QKTLS_QKD_OK)
		OPENSSL_cleanse(key, *key_len);
	else
		count(kk, &kk->st.keys);
	qk_kme_keys_free(&keys);
	return ret;
}

static int kk_take_key(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN],
		       uint8_t *key, size_t *key_len)
{
	struct qktls_kmekeys *kk = arg;
	struct qk_kme_keys keys = { 0 };
	struct qk_kme_error err = { 0 };
	char id[QK_KME_UUID_LEN + 1];
	const char *ids[1] = { id };
	enum qk_kme_err rc;
	int ret, dup;

	qk_kme_uuid_from_bytes(ref, id);
	pthread_mutex_lock(&kk->lock);
	dup = seen_has(kk, ref);
	if (dup)
		kk->st.refused++;
	pthread_mutex_unlock(&kk->lock);
	if (dup)
		return QKTLS_QKD_USED;

	count(kk, &kk->st.dec_calls);
	rc = qk_key_source_get_by_id(kk->src, kk->peer, ids, 1, KK_KEY_BITS,
				     &keys, &err);
	if (rc != QK_KME_OK) {
		kme_failed(kk, "dec_keys", id, rc, &err);
		/* ETSI 014: 400 for a key the KME does not hold (unknown, or
		 * already delivered). */
		return rc == QK_KME_E_BAD_REQUEST ? QKTLS_QKD_NOT_FOUND :
						    QKTLS_QKD_ERROR;
	}
	ret = one_key(kk, &keys, key, key_len);
	if (ret == QKTLS_QKD_OK) {
		pthread_mutex_lock(&kk->lock);
		dup = seen_add(kk, ref);
		pthread_mutex_unlock(&kk->lock);
		if (dup != 0) {	/* a concurrent take of the same ID won */
			OPENSSL_cleanse(key, *key_len);
			ret = dup > 0 ? QKTLS_QKD_USED : QKTLS_QKD_ERROR;
		}
	}
	if (ret == QKTLS_QKD_OK)
		count(kk, &kk->st.keys);
	qk_kme_keys_free(&keys);
	return ret;
}

struct qktls_kmekeys *qktls_kmekeys_new(const struct qk_kme_config *kme,
					const char *peer_sae_id,
					const char *link,
					char *why, size_t why_len)
{
	struct qktls_kmekeys *kk;
	struct qk_kme_error err = { 0 };

	if (kme == NULL || kme->url == NULL || peer_sae_id == NULL ||
	    *peer_sae_id == '\0') {
		snprintf(why, why_len, "a KME URL and the peer's SAE ID are needed");
		return NULL;
	}
	kk = calloc(1, sizeof(*kk));
	if (kk == NULL)
		goto nomem;
	pthread_mutex_init(&kk->lock, NULL);
	kk->url = strdup(kme->url);
	kk->peer = strdup(peer_sae_id);
	kk->link = strdup(link ? link : "(unnamed)");
	if (kk->url == NULL || kk->peer == NULL || kk->link == NULL)
		goto nomem;
	kk->src = qk_kme014_source_new(kme, &err);
	if (kk->src == NULL) {
		snprintf(why, why_len, "KME %s: %s", kme->url, err.message);
		qktls_kmekeys_free(kk);
		return NULL;
	}
	kk->src->timeout_ms = kme->timeout_ms;
	return kk;
nomem:
	snprintf(why, why_len, "out of memory");
	qktls_kmekeys_free(kk);
	return NULL;
}

void qktls_kmekeys_free(struct qktls_kmekeys *kk)
{
	if (kk == NULL)
		return;
	qk_key_source_free(kk->src);
	free(kk->seen);
	free(kk->url);
	free(kk->peer);
	free(kk->link);
	pthread_mutex_destroy(&kk->lock);
	free(kk);
}

void qktls_kmekeys_stats(struct qktls_kmekeys *kk, struct qktls_kmekeys_stats *st)
{
	pthread_mutex_lock(&kk->lock);
	*st = kk->st;
	pthread_mutex_unlock(&kk->lock);
}

void qktls_kmekeys_bind(struct qktls_kmekeys *kk, struct qktls_qkd_keys *keys)
{
	memset(keys, 0, sizeof(*keys));
	keys->arg = kk;
	keys->link = kk->link;
	keys->get_key = kk_get_key;
	keys->take_key = kk_take_key;
}
