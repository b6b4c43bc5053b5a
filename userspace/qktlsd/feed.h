/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktlsd: the state of one link's feeder, shared by feed.c (stores, KME,
 * threads) and sync.c (the agents' key agreement session).
 */
#ifndef QKTLSD_FEED_H
#define QKTLSD_FEED_H

#include <linux/qktls.h>
#include <openssl/ssl.h>

#include <qktls/kme.h>

#include "qktlsd.h"

#define QD_BATCH_MAX	64	/* keys per KME request and per OFFER */

struct qd_feed {
	/* A copy of the link's settings: a reload may free the link. */
	char *name, *peer_name, *peer_agent, *sae_id, *peer_sae_id;
	bool master, client;
	unsigned int low, high, capacity, key_size, kme_timeout_ms;
	unsigned int orphan_timeout;	/* s: qkd.orphan_timeout */
	char pool[QD_STORE_N][QKTLS_POOL_NAME_MAX];
	bool active[QD_STORE_N];	/* this agent keeps the store */
	struct qd_link kl;		/* .name and .keys: the handshake store */

	struct qk_key_source *src;	/* the link's KME */
	SSL_CTX *ctx;			/* the agents' session */

	pthread_mutex_t lock;
	pthread_cond_t idle;		/* sessions reached 0 */
	int kick;			/* eventfd: a store ran low, or stop */
	bool stopping;
	pthread_t thread;		/* master: the session loop */
	bool has_thread;
	int session_fd;			/* the session's socket, or -1 */
	int sessions;			/* slave: session threads running */

	/* Counters (lock). */
	uint64_t kme_calls, kme_errors, batches, batches_failed, sessions_ok,
		 session_errors, keys[QD_STORE_N];
	struct qd_feed *next;		/* the registry */
};

/* feed.c */
long qd_store_count(struct qd_feed *f, int store);
/* Add @n keys (IDs, material of key_size bytes) to @store, in order. */
int qd_store_add(struct qd_feed *f, int store,
		 const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		 const uint8_t *const *keys, size_t n);
/* Wipe the handshake store (a new session). */
int qd_store_flush_hs(struct qd_feed *f);
/*
 * The session ended: wipe the handshake store if this side takes from it
 * (the peer may restart and lose its own); the kernel pools stay.
 */
void qd_store_flush_taker(struct qd_feed *f);
/* The keys of kernel pool @store, oldest first (*@keys: malloc'd); 0 or -1. */
int qd_store_list(struct qd_feed *f, int store, struct qd_store_key **keys,
		  size_t *n);
/* Delete those of the @n keys @ids names that kernel pool @store holds. */
int qd_store_del(struct qd_feed *f, int store,
		 const uint8_t (*ids)[QKTLS_KEY_ID_LEN], size_t n);
/* This agent's side takes keys from @store in order (else: looks them up). */
bool qd_store_taker(const struct qd_feed *f, int store);
const char *qd_store_name(int store);
void qd_feed_count(struct qd_feed *f, uint64_t *ctr, uint64_t n);
/* Wait on the kick eventfd up to @ms (-1: forever); true if kicked. */
bool qd_feed_wait(struct qd_feed *f, int fd, int ms);

void qd_feed_log_stats_f(struct qd_feed *f);
void qd_feed_registry_lock(bool lock);

/* sync.c */
void *qd_sync_master(void *arg);
SSL_CTX *qd_sync_ctx(const struct qd_link *l, bool server);

#endif /* QKTLSD_FEED_H */
