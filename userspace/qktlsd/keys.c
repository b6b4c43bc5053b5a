// SPDX-License-Identifier: GPL-2.0-only
/*
 * A link's handshake key store: the provider's in-memory store
 * (qktls_memkeys), filled either once from the link's key_file
 * ("REFHEX KEYHEX" per line, the same file on both peers; tests) or by the
 * link's feeder (feed.c, sync.c) with the keys both agents agreed on.
 * Nothing here ever invents a key.
 *
 * The callbacks given to the provider wrap the store's and note, for the
 * handshake running in the calling thread, which reference was used.  A
 * take that leaves fewer than the low watermark wakes the feeder; a client
 * handshake that finds the store empty, before it starts or when it draws
 * its key, waits up to qkd.wait_ms for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include <openssl/crypto.h>

#include <qktls/provider.h>

#include "qktlsd.h"

struct qd_keys {
	pthread_mutex_t lock;		/* mk and inner may be replaced */
	pthread_cond_t added;		/* signalled when keys arrive */
	struct qktls_memkeys *mk;
	struct qktls_qkd_keys inner;	/* the store's callbacks */
	struct qktls_qkd_keys outer;	/* ours, given to the provider */
	char *name;
	bool fed;			/* a feeder refills it */
	unsigned int low, wait_ms;
	size_t spent;			/* entries of mk no longer available */
	void (*on_low)(void *arg);
	void *on_low_arg;
	uint64_t n_waits, n_wait_timeouts;
	struct qd_strangers *strangers;	/* server: unauthenticated takes */
};

/* Lock held: wake the feeder if the store is below its low watermark. */
static void check_low(struct qd_keys *k)
{
	if (k->on_low && qktls_memkeys_available(k->mk) < k->low)
		k->on_low(k->on_low_arg);
}

static __thread struct qd_hs *current;

void qd_keys_set_current(struct qd_hs *hs)
{
	current = hs;
}

static void note(const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	if (current) {
		memcpy(current->qkd_ref, ref, QKTLS_QKD_REF_LEN);
		current->qkd_ref_set = true;
		current->qkd_discarded = false;
	}
}

/*
 * Lock held: the keys available; if there are none and a feeder refills
 * the store, after waking it and waiting up to qkd.wait_ms for it.
 */
static size_t wait_locked(struct qd_keys *k)
{
	size_t n = qktls_memkeys_available(k->mk);
	struct timespec until;
	int ret = 0;

	if (n || !k->fed || !k->wait_ms)
		return n;
	k->n_waits++;
	if (k->on_low)
		k->on_low(k->on_low_arg);
	qd_deadline(&until, k->wait_ms);
	while (!(n = qktls_memkeys_available(k->mk)) && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&k->added, &k->lock, &until);
	if (!n) {
		k->n_wait_timeouts++;
		qd_log(LOG_WARNING, "link %s: the QKD key store stayed empty "
		       "for %u ms (qkd.wait_ms)", k->name, k->wait_ms);
	}
	return n;
}

/*
 * A server's handshake takes its key before the client authenticates: only
 * while the budgets for clients that did not (strangers.c) allow it.
 */
static bool stranger_take(struct qd_keys *k)
{
	struct qd_hs *hs = current;

	if (!hs || hs->link->role != QKTLS_ROLE_SERVER)
		return true;
	return qd_strangers_allowed(k->strangers, k->name, &hs->peer);
}

/* A take by the server handshake of this thread: @ok, remembered. */
static void stranger_took(struct qd_keys *k, bool ok)
{
	(void)k;
	if (ok && current && current->link->role == QKTLS_ROLE_SERVER)
		current->unauth_key = true;
}

void qd_keys_handshake_end(struct qd_hs *hs, bool authenticated)
{
	struct qd_keys *k = hs->link->keys;

	if (hs->unauth_key && !authenticated && k)
		qd_strangers_spend(k->strangers, &hs->peer);
	hs->unauth_key = false;
}

static int get_key(void *arg, uint8_t ref[QKTLS_QKD_REF_LEN], uint8_t *key,
		   size_t *key_len)
{
	struct qd_keys *k = arg;
	int ret;

	if (!stranger_take(k))
		return QKTLS_QKD_ERROR;
	pthread_mutex_lock(&k->lock);
	/* Handshakes that all saw a key may race for the last one. */
	wait_locked(k);
	ret = k->inner.get_key(k->inner.arg, ref, key, key_len);
	if (ret == QKTLS_QKD_OK) {
		k->spent++;
		check_low(k);
	}
	pthread_mutex_unlock(&k->lock);
	stranger_took(k, ret == QKTLS_QKD_OK);
	if (ret == QKTLS_QKD_OK)
		note(ref);
	return ret;
}

static int take_key(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN],
		    uint8_t *key, size_t *key_len)
{
	struct qd_keys *k = arg;
	int ret;

	if (!stranger_take(k))
		return QKTLS_QKD_ERROR;
	pthread_mutex_lock(&k->lock);
	ret = k->inner.take_key(k->inner.arg, ref, key, key_len);
	if (ret == QKTLS_QKD_OK) {
		k->spent++;
		check_low(k);
	}
	pthread_mutex_unlock(&k->lock);
	stranger_took(k, ret == QKTLS_QKD_OK);
	if (ret == QKTLS_QKD_OK)
		note(ref);
	return ret;
}

static void discard_key(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	struct qd_keys *k = arg;

	pthread_mutex_lock(&k->lock);
	if (k->inner.discard_key)
		k->inner.discard_key(k->inner.arg, ref);
	pthread_mutex_unlock(&k->lock);
	if (current && current->qkd_ref_set &&
	    !memcmp(current->qkd_ref, ref, QKTLS_QKD_REF_LEN))
		current->qkd_discarded = true;
}

static int load_file(struct qd_link *l, struct qd_keys *k)
{
	char line[QKTLS_QKD_REF_LEN * 2 + QKTLS_QKD_KEY_MAX * 2 + 8];
	char iobuf[4096];	/* stdio's buffer holds key bytes: ours, wiped */
	struct stat st;
	int n = 0, ret = 0;
	FILE *f;

	f = fopen(l->key_file, "re");
	if (!f) {
		qd_log(LOG_ERR, "link %s: cannot open key file %s: %s", l->name,
		       l->key_file, strerror(errno));
		return -1;
	}
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	if (!fstat(fileno(f), &st) && (st.st_mode & 077)) {
		qd_log(LOG_ERR, "link %s: key file %s is accessible to group or "
		       "others (mode %04o): it holds QKD keys; chmod 600 it",
		       l->name, l->key_file, (unsigned int)(st.st_mode & 07777));
		fclose(f);	/* nothing was read yet */
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned char ref[QKTLS_QKD_REF_LEN], key[QKTLS_QKD_KEY_MAX];
		size_t rlen = 0, klen = 0;
		char *sp;

		n++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		sp = strchr(line, ' ');
		if (sp)
			*sp = '\0';
		if (!sp ||
		    !OPENSSL_hexstr2buf_ex(ref, sizeof(ref), &rlen, line, '\0') ||
		    rlen != QKTLS_QKD_REF_LEN ||
		    !OPENSSL_hexstr2buf_ex(key, sizeof(key), &klen, sp + 1, '\0') ||
		    qktls_memkeys_add(k->mk, ref, key, klen)) {
			qd_log(LOG_ERR, "%s:%d: expected a 32-hex-digit reference, "
			       "a space and a key of %d to %d bytes in hex, "
			       "not already listed", l->key_file, n,
			       QKTLS_QKD_KEY_MIN, QKTLS_QKD_KEY_MAX);
			ret = -1;
		}
		OPENSSL_cleanse(key, sizeof(key));
		OPENSSL_cleanse(line, sizeof(line));
		if (ret)
			break;
	}
	fclose(f);
	OPENSSL_cleanse(iobuf, sizeof(iobuf));
	OPENSSL_cleanse(line, sizeof(line));
	if (!ret)
		qd_log(LOG_INFO, "link %s: %zu QKD keys from %s", l->name,
		       qktls_memkeys_available(k->mk), l->key_file);
	return ret;
}

int qd_keys_open(struct qd_link *l)
{
	struct qd_keys *k = calloc(1, sizeof(*k));

	if (!k)
		return -1;
	k->name = strdup(l->name);
	k->mk = qktls_memkeys_new(l->name);
	if (!k->name || !k->mk) {
		qktls_memkeys_free(k->mk);
		free(k->name);
		free(k);
		return -1;
	}
	if (l->role == QKTLS_ROLE_SERVER) {
		k->strangers = qd_strangers_new(l->unauth_keys_per_peer,
						l->unauth_keys_per_link);
		if (!k->strangers) {
			qktls_memkeys_free(k->mk);
			free(k->name);
			free(k);
			return -1;
		}
	}
	pthread_mutex_init(&k->lock, NULL);
	qd_cond_init_monotonic(&k->added);
	k->fed = l->has_kme;
	k->low = l->low_watermark;
	k->wait_ms = l->qkd_wait_ms;
	qktls_memkeys_bind(k->mk, &k->inner);
	k->outer = (struct qktls_qkd_keys){
		.arg = k, .link = k->name, .get_key = get_key,
		.take_key = take_key, .discard_key = discard_key,
	};
	l->keys = k;
	if (l->key_file && load_file(l, k)) {
		qd_keys_close(l);
		return -1;
	}
	return 0;
}

void qd_keys_close(struct qd_link *l)
{
	struct qd_keys *k = l->keys;

	if (!k)
		return;
	qktls_memkeys_free(k->mk);
	qd_strangers_free(k->strangers);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->added);
	free(k->name);
	free(k);
	l->keys = NULL;
}

bool qd_keys_source(const struct qd_link *l)
{
	return l->key_file || l->has_kme;
}

size_t qd_keys_count(struct qd_link *l)
{
	struct qd_keys *k = l->keys;
	size_t n;

	if (!k)
		return 0;
	pthread_mutex_lock(&k->lock);
	n = qktls_memkeys_available(k->mk);
	pthread_mutex_unlock(&k->lock);
	return n;
}

size_t qd_keys_available(struct qd_link *l)
{
	struct qd_keys *k = l->keys;
	size_t n;

	if (!k)
		return 0;
	pthread_mutex_lock(&k->lock);
	n = wait_locked(k);
	pthread_mutex_unlock(&k->lock);
	return n;
}

/*
 * Lock held: move the keys still available into a fresh store, in order,
 * so the references of spent keys do not pile up in a long-running agent.
 * A reference consumed before the move is then "unknown" rather than
 * "used": both abort the handshake alike.
 */
static int compact(struct qd_keys *k)
{
	struct qktls_memkeys *n = qktls_memkeys_new(k->name);
	uint8_t ref[QKTLS_QKD_REF_LEN], key[QKTLS_QKD_KEY_MAX];
	int ret = 0;

	if (!n)
		return -1;
	for (;;) {
		size_t len = sizeof(key);

		if (k->inner.get_key(k->inner.arg, ref, key, &len) != QKTLS_QKD_OK)
			break;
		if (qktls_memkeys_add(n, ref, key, len))
			ret = -1;	/* cannot happen: refs are unique */
	}
	OPENSSL_cleanse(key, sizeof(key));
	qktls_memkeys_free(k->mk);
	k->mk = n;
	k->spent = 0;
	qktls_memkeys_bind(k->mk, &k->inner);
	return ret;
}

int qd_keys_add(struct qd_link *l, const uint8_t ref[QKTLS_QKD_REF_LEN],
		const uint8_t *key, size_t len)
{
	struct qd_keys *k = l->keys;
	int ret;

	pthread_mutex_lock(&k->lock);
	if (k->spent > 1024 && k->spent > 4 * qktls_memkeys_available(k->mk))
		compact(k);
	ret = qktls_memkeys_add(k->mk, ref, key, len);
	pthread_cond_broadcast(&k->added);
	pthread_mutex_unlock(&k->lock);
	return ret;
}

int qd_keys_flush(struct qd_link *l)
{
	struct qd_keys *k = l->keys;
	struct qktls_memkeys *n = qktls_memkeys_new(l->name);

	if (!n)
		return -1;
	pthread_mutex_lock(&k->lock);
	qktls_memkeys_free(k->mk);	/* wipes every key */
	k->mk = n;
	k->spent = 0;
	qktls_memkeys_bind(k->mk, &k->inner);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

void qd_keys_set_low_cb(struct qd_link *l, void (*fn)(void *), void *arg)
{
	struct qd_keys *k = l->keys;

	pthread_mutex_lock(&k->lock);
	k->on_low = fn;
	k->on_low_arg = arg;
	pthread_mutex_unlock(&k->lock);
}

void qd_keys_stats(struct qd_link *l, uint64_t *waits, uint64_t *timeouts)
{
	struct qd_keys *k = l->keys;

	pthread_mutex_lock(&k->lock);
	*waits = k->n_waits;
	*timeouts = k->n_wait_timeouts;
	pthread_mutex_unlock(&k->lock);
}

void qd_keys_unauth_stats(struct qd_link *l, uint64_t *taken,
			  uint64_t *refused)
{
	qd_strangers_stats(l->keys->strangers, taken, refused);
}

const struct qktls_qkd_keys *qd_keys_callbacks(struct qd_link *l)
{
	return &l->keys->outer;
}
