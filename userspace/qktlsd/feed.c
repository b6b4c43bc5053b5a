// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pool feeders: for every link with a kme group, keep its three key stores
 * (the handshake store of keys.c, the kernel pools POOL.c2s and POOL.s2c)
 * between their watermarks.  The stores wake their feeder when they run
 * low (a take in keys.c; the module's pool events, pool_nl.c); nothing
 * polls.  The master agent's feeder thread fetches the keys and agrees on
 * them with the slave agent (sync.c); the slave agent's sessions are
 * started by the sync listener.
 *
 * When qktls.ko is not loaded the kernel pools are left out (one warning)
 * and only the handshake store is fed; both agents then agree to feed
 * only the stores both keep.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <qktls/etsi004.h>

#include "feed.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct qd_feed *registry;
static bool pools_warned;

const char *qd_store_name(int store)
{
	static const char *const names[QD_STORE_N] = { "hs", "c2s", "s2c" };

	return store >= 0 && store < QD_STORE_N ? names[store] : "?";
}

bool qd_store_taker(const struct qd_feed *f, int store)
{
	/* The client takes handshake keys and c2s update keys; the server s2c. */
	return store == QD_STORE_S2C ? !f->client : f->client;
}

long qd_store_count(struct qd_feed *f, int store)
{
	if (!f->active[store])
		return -1;
	if (store == QD_STORE_HS)
		return (long)qd_keys_count(&f->kl);
	return qd_pool_count(f->pool[store]);
}

int qd_store_add(struct qd_feed *f, int store,
		 const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		 const uint8_t *const *keys, size_t n)
{
	int ret = 0;

	if (!n)
		return 0;
	if (store != QD_STORE_HS) {
		ret = qd_pool_add(f->pool[store], ids, keys, f->key_size, n);
		if (ret)
			qd_log(LOG_ERR, "link %s: cannot add %zu keys to kernel pool "
			       "%s: %s", f->name, n, f->pool[store], strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < n && !ret; i++)
		ret = qd_keys_add(&f->kl, ids[i], keys[i], f->key_size);
	if (ret)
		qd_log(LOG_ERR, "link %s: cannot add keys to the handshake store "
		       "(duplicate key ID or no memory)", f->name);
	return ret;
}

int qd_store_flush_hs(struct qd_feed *f)
{
	int ret = qd_keys_flush(&f->kl);

	if (ret)
		qd_log(LOG_ERR, "link %s: cannot wipe the handshake store: no memory",
		       f->name);
	return ret;
}

void qd_store_flush_taker(struct qd_feed *f)
{
	if (qd_store_taker(f, QD_STORE_HS))
		qd_store_flush_hs(f);
}

int qd_store_list(struct qd_feed *f, int store, struct qd_store_key **keys,
		  size_t *n)
{
	int r = store != QD_STORE_HS && f->active[store] ?
		qd_pool_list(f->pool[store], keys, n) : -EINVAL;

	if (r)
		qd_log(LOG_ERR, "link %s: cannot list kernel pool %s: %s", f->name,
		       f->pool[store], strerror(-r));
	return r ? -1 : 0;
}

int qd_store_del(struct qd_feed *f, int store,
		 const uint8_t (*ids)[QKTLS_KEY_ID_LEN], size_t n)
{
	int r = store != QD_STORE_HS && f->active[store] ?
		qd_pool_del_held(f->pool[store], ids, n) : -EINVAL;

	if (r)
		qd_log(LOG_ERR, "link %s: cannot delete keys of kernel pool %s: %s",
		       f->name, f->pool[store], strerror(-r));
	return r ? -1 : 0;
}

void qd_feed_count(struct qd_feed *f, uint64_t *ctr, uint64_t n)
{
	pthread_mutex_lock(&f->lock);
	*ctr += n;
	pthread_mutex_unlock(&f->lock);
}

static void kick(struct qd_feed *f)
{
	uint64_t one = 1;

	/* A full counter means a wake-up is pending anyway. */
	if (write(f->kick, &one, sizeof(one)) < 0 && errno != EAGAIN)
		qd_log(LOG_ERR, "link %s: cannot wake the feeder: %s", f->name,
		       strerror(errno));
}

static void kick_cb(void *arg)
{
	kick(arg);
}

bool qd_feed_wait(struct qd_feed *f, int fd, int ms)
{
	struct pollfd p[2] = {
		{ .fd = f->kick, .events = POLLIN },
		{ .fd = fd, .events = POLLIN },
	};
	uint64_t v;
	int n;

	do
		n = poll(p, fd >= 0 ? 2 : 1, ms);
	while (n < 0 && errno == EINTR);
	if (n > 0 && p[0].revents) {
		if (read(f->kick, &v, sizeof(v)) < 0 && errno != EAGAIN)
			qd_log(LOG_ERR, "link %s: eventfd: %s", f->name, strerror(errno));
		return true;
	}
	return false;
}

void qd_feed_pool_event(const char *pool)
{
	pthread_mutex_lock(&reg_lock);
	for (struct qd_feed *f = registry; f; f = f->next)
		for (int i = QD_STORE_C2S; i < QD_STORE_N; i++)
			if (f->active[i] && (!pool || !strcmp(pool, f->pool[i])))
				kick(f);
	pthread_mutex_unlock(&reg_lock);
}

struct qd_feed *qd_feed_find_slave(const char *sae, const char *peer)
{
	struct qd_feed *f;

	for (f = registry; f; f = f->next)
		if (!f->master && !f->stopping && !strcmp(f->sae_id, sae) &&
		    (!peer || !strcmp(f->peer_sae_id, peer)))
			break;
	return f;
}

static void feed_free(struct qd_feed *f)
{
	if (f->kick >= 0)
		close(f->kick);
	qk_key_source_free(f->src);
	SSL_CTX_free(f->ctx);
	free(f->name);
	free(f->peer_name);
	free(f->peer_agent);
	free(f->sae_id);
	free(f->peer_sae_id);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->idle);
	free(f);
}

/* Kernel pools of @f, created if missing; false if the module is absent. */
static bool setup_pools(struct qd_feed *f)
{
	if (!qd_pool_available()) {
		if (!__atomic_exchange_n(&pools_warned, true, __ATOMIC_RELAXED))
			qd_log(LOG_WARNING, "qktls.ko is not loaded: feeding only the "
			       "agents' handshake stores (no kernel pools for "
			       "QKD key updates)");
		return false;
	}
	for (int i = QD_STORE_C2S; i < QD_STORE_N; i++) {
		int ret = qd_pool_create(f->pool[i], f->peer_name, f->capacity,
					 f->low, f->key_size);

		if (ret) {
			qd_log(LOG_ERR, "link %s: cannot create kernel pool %s: %s; "
			       "feeding only the handshake store", f->name,
			       f->pool[i], strerror(-ret));
			return false;
		}
	}
	return true;
}

/*
 * An ETSI 004 key stream (the config checked the URL and the ID): this
 * agent's SAE is the source, the peer's the destination, the key size the
 * chunk size.
 */
static struct qk_key_source *source004(const struct qd_link *l,
				       struct qk_kme_error *err)
{
	static char host[256];
	struct qk_004_source_config sc = {
		.kme = { .host = host, .cert = l->kme.certificate,
			 .key = l->kme.private_key, .ca = l->kme.ca,
			 .timeout_ms = l->kme.timeout_ms },
		.source = l->kme.sae_id, .destination = l->kme.peer_sae_id,
		.qos = { .key_chunk_size = l->key_size, .max_bps = UINT32_MAX,
			 .metadata_mimetype = "application/json" },
	};

	if (qk_004_parse_url(l->kme.url, host, sizeof(host), &sc.kme.port) ||
	    qk_004_ksid_parse(l->kme.key_stream_id, sc.ksid)) {
		snprintf(err->message, sizeof(err->message),
			 "bad qkd004:// URL or key_stream_id");
		return NULL;
	}
	return qk_kme004_source_new(&sc, err);
}

int qd_feed_start(struct qd_config *cfg, struct qd_link *l)
{
	struct qk_kme_config kc = {
		.url = l->kme.url, .cert = l->kme.certificate,
		.key = l->kme.private_key, .ca = l->kme.ca, .crl = l->kme.crl,
		.timeout_ms = l->kme.timeout_ms,
	};
	struct qk_kme_error err;
	struct qd_feed *f;
	char tx[QKTLS_POOL_NAME_MAX], rx[QKTLS_POOL_NAME_MAX];
	bool client = l->role == QKTLS_ROLE_CLIENT;

	(void)cfg;
	if (!l->has_kme)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	pthread_mutex_init(&f->lock, NULL);
	qd_cond_init_monotonic(&f->idle);
	f->session_fd = -1;
	f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->name = strdup(l->name);
	f->peer_name = strdup(l->peer_name);
	f->sae_id = strdup(l->kme.sae_id);
	f->peer_sae_id = strdup(l->kme.peer_sae_id);
	f->peer_agent = l->kme.peer_agent ? strdup(l->kme.peer_agent) : NULL;
	f->master = l->kme.master;
	f->client = client;
	f->low = l->low_watermark;
	f->high = l->high_watermark;
	f->capacity = 2 * l->high_watermark;
	f->orphan_timeout = l->orphan_timeout;
	f->key_size = l->key_size;
	f->kme_timeout_ms = l->kme.timeout_ms;
	f->kl.name = f->name;
	f->kl.keys = l->keys;
	qd_link_pool_names(l, tx, rx);
	/* tx is this end's direction: c2s on a client, s2c on a server. */
	snprintf(f->pool[QD_STORE_C2S], QKTLS_POOL_NAME_MAX, "%s", client ? tx : rx);
	snprintf(f->pool[QD_STORE_S2C], QKTLS_POOL_NAME_MAX, "%s", client ? rx : tx);
	if (f->kick < 0 || !f->name || !f->peer_name || !f->sae_id ||
	    !f->peer_sae_id || (l->kme.peer_agent && !f->peer_agent))
		goto fail;
	f->src = !strncmp(l->kme.url, "qkd004://", 9) ? source004(l, &err) :
		 qk_kme014_source_new(&kc, &err);
	if (!f->src) {
		qd_log(LOG_ERR, "link %s: KME client for %s: %s", l->name, l->kme.url,
		       err.message);
		goto fail;
	}
	f->ctx = qd_sync_ctx(l, !f->master);
	if (!f->ctx)
		goto fail;
	f->active[QD_STORE_HS] = true;
	f->active[QD_STORE_C2S] = f->active[QD_STORE_S2C] = setup_pools(f);
	/*
	 * Kernel pools left from an earlier run are kept: a live connection
	 * may need them; the first session reconciles them with the peer's.
	 */
	qd_keys_set_low_cb(&f->kl, kick_cb, f);

	pthread_mutex_lock(&reg_lock);
	f->next = registry;
	registry = f;
	pthread_mutex_unlock(&reg_lock);
	l->feed = f;
	if (f->master) {
		if (pthread_create(&f->thread, NULL, qd_sync_master, f)) {
			qd_log(LOG_ERR, "link %s: cannot start the feeder", l->name);
			qd_feed_stop(l);
			return -1;
		}
		f->has_thread = true;
	}
	qd_log(LOG_INFO, "link %s: feeding the handshake store%s%s%s%s from %s "
	       "as KME %s (SAE %s, peer SAE %s)%s%s", l->name,
	       f->active[QD_STORE_C2S] ? ", kernel pools " : "",
	       f->active[QD_STORE_C2S] ? f->pool[QD_STORE_C2S] : "",
	       f->active[QD_STORE_C2S] ? " and " : "",
	       f->active[QD_STORE_C2S] ? f->pool[QD_STORE_S2C] : "", l->kme.url,
	       f->master ? "master" : "slave", f->sae_id, f->peer_sae_id,
	       f->master ? ", agreeing with the agent at " : "",
	       f->master ? f->peer_agent : "");
	return 0;
fail:
	qd_keys_set_low_cb(&f->kl, NULL, NULL);
	feed_free(f);
	return -1;
}

void qd_feed_stop(struct qd_link *l)
{
	struct qd_feed *f = l->feed, **pp;

	if (!f)
		return;
	l->feed = NULL;
	pthread_mutex_lock(&reg_lock);
	for (pp = &registry; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	qd_keys_set_low_cb(&f->kl, NULL, NULL);

	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	if (f->session_fd >= 0)
		shutdown(f->session_fd, SHUT_RDWR);
	pthread_mutex_unlock(&f->lock);
	kick(f);
	if (f->has_thread)
		pthread_join(f->thread, NULL);
	pthread_mutex_lock(&f->lock);
	while (f->sessions) {
		if (f->session_fd >= 0)
			shutdown(f->session_fd, SHUT_RDWR);
		pthread_cond_wait(&f->idle, &f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	qd_feed_log_stats_f(f);
	feed_free(f);
}

void qd_feed_log_stats(struct qd_link *l)
{
	if (l->feed)
		qd_feed_log_stats_f(l->feed);
}

void qd_feed_log_stats_f(struct qd_feed *f)
{
	pthread_mutex_lock(&f->lock);
	qd_log(LOG_NOTICE, "link %s: feeder: %llu sessions (%llu failed), %llu "
	       "batches (%llu failed), keys hs %llu c2s %llu s2c %llu, %llu KME "
	       "calls (%llu failed)", f->name,
	       (unsigned long long)f->sessions_ok,
	       (unsigned long long)f->session_errors,
	       (unsigned long long)f->batches,
	       (unsigned long long)f->batches_failed,
	       (unsigned long long)f->keys[QD_STORE_HS],
	       (unsigned long long)f->keys[QD_STORE_C2S],
	       (unsigned long long)f->keys[QD_STORE_S2C],
	       (unsigned long long)f->kme_calls,
	       (unsigned long long)f->kme_errors);
	pthread_mutex_unlock(&f->lock);
}

/* The registry lock, for sync.c's listener (find + count a session). */
void qd_feed_registry_lock(bool lock)
{
	if (lock)
		pthread_mutex_lock(&reg_lock);
	else
		pthread_mutex_unlock(&reg_lock);
}

int qd_feed_global_start(struct qd_config *cfg)
{
	int ret;

	for (int i = 0; i < cfg->n_links; i++)
		if (cfg->links[i].has_kme)
			break;
		else if (i == cfg->n_links - 1)
			return 0;
	if (qd_pool_available()) {
		ret = qd_pool_events_start();
		if (ret)
			qd_log(LOG_WARNING, "cannot listen to qktls pool events: %s",
			       strerror(-ret));
	}
	return qd_sync_listen_update(cfg);
}

void qd_feed_global_stop(void)
{
	struct qd_config none = { 0 };

	qd_sync_listen_update(&none);
	qd_pool_events_stop();
}
