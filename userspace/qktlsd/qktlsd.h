/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktlsd: the qktls handshake agent.  Internal interfaces between its files:
 *
 *   log.c      levels, stderr or syslog
 *   config.c   qktlsd.conf (libconfig) into struct qd_config, validated
 *   keys.c     a link's QKD key source (key file into an in-memory store)
 *   strangers.c  budgets of keys for clients not yet authenticated
 *   clock.c    monotonic waits
 *   tls.c      per-link OpenSSL library context + provider + SSL_CTX, and
 *              the handshake on a handed-over socket
 *   install.c  traffic secrets into kTLS (libqktls)
 *   agent.c    main, the Unix socket, one thread per hand-off
 */
#ifndef QKTLSD_H
#define QKTLSD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <linux/qktls.h>

#include <qktls/handshake.h>

#define QKTLSD_CONF_DEFAULT	"/etc/qktls/qktlsd.conf"

/* --- log.c ---------------------------------------------------------------- */
/* Levels are syslog's: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG. */
void qd_log_setup(int level, bool use_syslog);
void qd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int qd_log_level_parse(const char *name);	/* -1 if unknown */
/*
 * Log lines anyone can cause (unauthenticated peers, local callers): at
 * most QD_RL_BURST per QD_RL_INTERVAL_S per limiter; the next line that
 * passes says how many were dropped.  QD_RATELIMIT_INIT for a static one.
 */
#define QD_RL_BURST		10
#define QD_RL_INTERVAL_S	30
struct qd_ratelimit {
	pthread_mutex_t lock;
	time_t start;
	unsigned int n, suppressed;
};
#define QD_RATELIMIT_INIT	{ .lock = PTHREAD_MUTEX_INITIALIZER }
void qd_log_rl(struct qd_ratelimit *rl, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Text from a peer or an unauthenticated source, fit to log: at most @len
 * bytes of @src (up to a NUL), every byte outside printable ASCII as '?',
 * cut with "..." to fit @size.  Returns @dst.
 */
const char *qd_clean(char *dst, size_t size, const char *src, size_t len);
/* The IP address of @a as text ("?" if not IP), for logs.  Returns @dst. */
#define QD_ADDR_STR	46	/* INET6_ADDRSTRLEN */
const char *qd_addr_str(const struct sockaddr_storage *a, char *dst,
			size_t size);

/* --- agent.c ------------------------------------------------------------- */
/* @peer (from accept or getpeername) is address @a (IPv4-mapped too). */
bool qd_addr_equal(const struct sockaddr_storage *a,
		   const struct sockaddr_storage *peer);

/* --- harden.c ------------------------------------------------------------- */
/* Clean the environment, make the process not dumpable, lock its memory. */
void qd_harden(bool lock_memory);

/* --- config.c ------------------------------------------------------------- */
enum qd_policy {
	QD_POLICY_OFF = 0,
	QD_POLICY_PREFERRED,
	QD_POLICY_REQUIRED,
};

enum qd_key_update {
	QD_KEY_UPDATE_OFF = 0,
	QD_KEY_UPDATE_STANDARD,
	QD_KEY_UPDATE_QKD,
};

#define QD_MAX_IDS	32
#define QD_MAX_ADDRS	16

struct qd_kme {
	char *url;
	char *sae_id;
	char *peer_sae_id;
	bool master;		/* role "master" (fetches enc_keys) or "slave" */
	char *certificate;
	char *private_key;
	char *ca;
	char *crl;		/* CRLs of the KME's CA (libcurl), or NULL */
	unsigned int timeout_ms;	/* per KME call */
	char *peer_agent;	/* master: "HOST:PORT" of the slave agent */
	char *key_stream_id;	/* qkd004:// KMEs: the stream both agents open */
};

/* Longest qkd.pool: room for ".c2s" within QKTLS_POOL_NAME_MAX. */
#define QD_POOL_BASE_MAX	(QKTLS_POOL_NAME_MAX - 1 - 4)

struct qd_link {
	char *name;
	enum qktls_role role;
	char *peer_name;		/* expected peer identity (DNS name) */
	struct sockaddr_storage addrs[QD_MAX_ADDRS];	/* allowed peer addresses */
	int n_addrs;
	char *certificate, *private_key, *ca;
	char *crl;			/* CRLs of the peer's CA(s), or NULL */
	bool mutual;			/* server: require a client certificate */
	char *ciphersuites;		/* OpenSSL list, validated */
	bool x25519;			/* also offer/accept plain X25519 */
	uid_t uids[QD_MAX_IDS];
	int n_uids;
	gid_t gids[QD_MAX_IDS];
	int n_gids;
	enum qd_policy policy;
	char *key_file;			/* QKD keys: "REFHEX KEYHEX" lines */
	char *pool;			/* kernel pools POOL.c2s, POOL.s2c */
	unsigned int low_watermark, high_watermark;
	unsigned int key_size;		/* QKD key bytes asked from the KME */
	unsigned int qkd_wait_ms;	/* client: wait for a key when empty */
	unsigned int orphan_timeout;	/* s: a looked-up key the peer lost */
	bool qkd_mlkem768;		/* server: accept qkd_mlkem768 */
	/*
	 * Rekey (issue 6), parsed by config.c, used by install.c/tls.c:
	 * key_update "qkd" negotiates the QKD key update extension,
	 * "standard" only RFC 8446 updates, "off" none; rekey_bytes and
	 * rekey_seconds (0 = never) become the attached socket's policy,
	 * and @policy its QKD policy (what a rekey does without a QKD key).
	 */
	enum qd_key_update key_update;
	uint64_t rekey_bytes;
	unsigned int rekey_seconds;
	struct qd_kme kme;
	bool has_kme;
	int line;			/* where the link starts in the file */
	/*
	 * SHA-256 of what the certificate, private key, CA and CRL files of
	 * the link and its kme group held when the file was loaded: a reload
	 * rebuilds the link's TLS contexts when it changed (renewed in place).
	 */
	unsigned char files_digest[32];
	bool files_digest_ok;

	/* Runtime (tls.c, keys.c, feed.c). */
	struct qd_keys *keys;
	struct qd_tls *tls;
	struct qd_feed *feed;
	bool runtime_moved;		/* reload: the new config owns keys/tls/feed */
	bool keys_moved;		/* reload: the new config owns keys */
	pthread_mutex_t lock;
	uint64_t n_ok, n_failed, n_qkd, n_fallback, n_refused;
	bool ku_pools_missing;		/* keyupdate.c, under lock: told */
	unsigned int unauth_keys_per_peer;	/* s: strangers.c, keys a minute */
	unsigned int unauth_keys_per_link;
};

struct qd_config {
	char *path;
	char *socket_path;
	unsigned int socket_mode;
	int log_level;
	bool log_syslog;
	unsigned int handshake_timeout;	/* seconds, per handshake */
	unsigned int max_handshakes;	/* running at once */
	unsigned int max_handshakes_per_user;	/* ... for one caller uid */
	unsigned int qkd_group_id;	/* codepoint of the QKD hybrid */
	char *sync_listen;		/* "HOST:PORT" for master agents */
	/* Connections to sync_listen not authenticated yet (sync.c). */
	unsigned int sync_max_connections;	/* at once, in all */
	unsigned int sync_max_per_address;	/* ... from one address */
	unsigned int sync_accept_timeout;	/* seconds for the whole TLS accept */
	struct qd_link *links;
	int n_links;
	int refs;			/* agent.c: hand-offs using this config */
};

/*
 * Parse and validate @path.  Errors are printed as "PATH:LINE: message" to
 * the log (every error found, not just the first).  Returns the config, or
 * NULL if there was any error.
 */
struct qd_config *qd_config_load(const char *path);
void qd_config_free(struct qd_config *cfg);
struct qd_link *qd_config_link(struct qd_config *cfg, const char *name);
const char *qd_policy_name(enum qd_policy p);

/*
 * The kernel pools of a link: keys for QKD updates of the client-to-server
 * direction live in "<pool>.c2s", of the server-to-client one in
 * "<pool>.s2c", so the two ends never pick the same key.  This end's TX
 * pool is the one of the direction it sends (client: c2s), its RX pool the
 * other.  Buffers of QKTLS_POOL_NAME_MAX bytes.
 */
void qd_link_pool_names(const struct qd_link *l, char *tx, char *rx);
/* Every setting of @a equals @b's (a reload keeps the link's runtime). */
bool qd_link_same(const struct qd_link *a, const struct qd_link *b);
/* The link's certificate, key, CA and CRL files held the same when loaded. */
bool qd_link_files_same(const struct qd_link *a, const struct qd_link *b);
/*
 * The CRLs of the PEM file @path (*@out, when not NULL: the caller frees
 * them with sk_X509_CRL_pop_free): the number read, or -1 with @why set
 * when the file cannot be read, a CRL in it cannot be parsed, there is
 * none, or one is expired (nextUpdate passed) or not valid yet.
 */
struct stack_st_X509_CRL;
int qd_crl_read(const char *path, struct stack_st_X509_CRL **out, char *why,
		size_t size);

/* --- keys.c --------------------------------------------------------------- */
struct qd_hs;
struct qktls_qkd_keys;

/* Load the link's key file (if any) into a new key store.  -1 on error. */
int qd_keys_open(struct qd_link *l);
void qd_keys_close(struct qd_link *l);
/* The link has a QKD key source (a key file or a KME feeder). */
bool qd_keys_source(const struct qd_link *l);
/*
 * Keys the client side could still take.  When the store is empty and a
 * feeder fills it, waits up to qkd.wait_ms for keys (counted, logged).
 */
size_t qd_keys_available(struct qd_link *l);
/* Keys in the store now (never waits). */
size_t qd_keys_count(struct qd_link *l);
/* Feeders: add one key (in order), or wipe every key.  0 or -1. */
int qd_keys_add(struct qd_link *l, const uint8_t ref[16], const uint8_t *key,
		size_t len);
int qd_keys_flush(struct qd_link *l);
/* @fn(@arg) runs (store lock held) when a take leaves fewer than low_watermark. */
void qd_keys_set_low_cb(struct qd_link *l, void (*fn)(void *), void *arg);
/* Handshakes that found the store empty and waited; waits that timed out. */
void qd_keys_stats(struct qd_link *l, uint64_t *waits, uint64_t *timeouts);
/* Server: keys spent by clients that did not authenticate, takes refused. */
void qd_keys_unauth_stats(struct qd_link *l, uint64_t *taken,
			  uint64_t *refused);
/* The callbacks to give the provider. */
const struct qktls_qkd_keys *qd_keys_callbacks(struct qd_link *l);
/* The handshake the calling thread runs (for the callbacks), or NULL. */
void qd_keys_set_current(struct qd_hs *hs);
/*
 * Server: the handshake of @hs ended, its client @authenticated or not: a
 * key it took for a client that did not authenticate spends the budgets.
 */
void qd_keys_handshake_end(struct qd_hs *hs, bool authenticated);

/* --- feed.c, sync.c: keeping a link's key stores filled ------------------- */
/*
 * Every link with a kme group has three stores: the agent's handshake store
 * (keys.c) and the kernel pools POOL.c2s and POOL.s2c.  The master agent
 * fetches keys from its KME and offers their IDs to the slave agent over
 * the agents' own TLS session (sync.c, Documentation/qktls/key-agreement.rst).
 */
enum qd_store {
	QD_STORE_HS = 0,	/* handshake store: the client takes in order */
	QD_STORE_C2S,		/* kernel pool POOL.c2s: the client's updates */
	QD_STORE_S2C,		/* kernel pool POOL.s2c: the server's updates */
	QD_STORE_N
};

struct qd_feed;

/* Once per process: the pool event thread and the sync listener. */
int qd_feed_global_start(struct qd_config *cfg);
void qd_feed_global_stop(void);
/* The sync listener for a (re)loaded config (sync_listen changed). */
int qd_sync_listen_update(struct qd_config *cfg);
/* Start the feeder of @l (links with a kme group); -1 on error. */
int qd_feed_start(struct qd_config *cfg, struct qd_link *l);
/* Stop it (the stores stay as they are). */
void qd_feed_stop(struct qd_link *l);
/* Wake the feeder of the link owning kernel pool @pool (NULL: every one). */
void qd_feed_pool_event(const char *pool);
/* Log the feeder's counters. */
void qd_feed_log_stats(struct qd_link *l);
/* The feeder serving the slave SAE @sae for master SAE @peer, or NULL. */
struct qd_feed *qd_feed_find_slave(const char *sae, const char *peer);

/* clock.c: helpers shared by the agent's threads (monotonic waits). */
void qd_cond_init_monotonic(pthread_cond_t *c);
void qd_deadline(struct timespec *ts, unsigned int ms);

/* --- pool_nl.c: qktls.ko pools over generic netlink ----------------------- */
/* The module is loaded (its family resolves). */
bool qd_pool_available(void);
/* Create @pool, or update capacity and watermark if it exists. */
int qd_pool_create(const char *pool, const char *peer, unsigned int capacity,
		   unsigned int low, unsigned int key_len);
int qd_pool_add(const char *pool, const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		const uint8_t *const *keys, size_t key_len, size_t n);
int qd_pool_del(const char *pool, const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		size_t n);
int qd_pool_flush(const char *pool);
/* A key of a kernel pool, as KEY_GET lists it (never its material). */
struct qd_store_key {
	uint8_t id[QKTLS_KEY_ID_LEN];
	uint64_t age_ms;
};
/* The keys @pool holds, oldest first (*@keys: malloc'd); 0 or -errno. */
int qd_pool_list(const char *pool, struct qd_store_key **keys, size_t *n);
/* Delete those of the @n keys @ids names that @pool still holds. */
int qd_pool_del_held(const char *pool, const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		     size_t n);
/* Keys held now, or a negative errno. */
long qd_pool_count(const char *pool);
int qd_pool_events_start(void);
void qd_pool_events_stop(void);

/* --- tls.c ---------------------------------------------------------------- */
#define QD_SECRET_MAX	48

/* One handshake in progress. */
struct qd_hs {
	struct qd_link *link;
	int fd;
	/* Set by the key callbacks. */
	uint8_t qkd_ref[16];
	bool qkd_ref_set, qkd_discarded;
	/* Traffic secrets from the keylog callback; wiped after install. */
	uint8_t cts[QD_SECRET_MAX], sts[QD_SECRET_MAX];
	size_t cts_len, sts_len;
	/* The QKD key update extension (keyupdate.c). */
	bool ku_wanted;			/* this end offers or accepts it */
	bool ku_peer_offered;		/* server: the ClientHello offered it */
	bool ku_negotiated;		/* both hellos carried it */
	/* Server: the client's address, and a key taken before it authenticated. */
	struct sockaddr_storage peer;
	bool unauth_key;
};

struct ssl_st;
struct ssl_ctx_st;

int qd_tls_global_init(void);
/*
 * Check peer certificates of @ctx against the CRLs of file @crl (see
 * qd_crl_read): X509_V_FLAG_CRL_CHECK, and CRL_CHECK_ALL (every CA of the
 * chain) when the file holds more than one CRL.  0, or -1 with @why set.
 */
int qd_tls_ctx_crl(struct ssl_ctx_st *ctx, const char *crl, char *why, size_t size);
/* Library context, provider and SSL_CTX for @l.  -1 with a log line on error. */
int qd_tls_link_init(struct qd_config *cfg, struct qd_link *l);
void qd_tls_link_free(struct qd_link *l);
/* Handshake on @fd (connected TCP), install kTLS; fills @r. */
void qd_tls_handshake(struct qd_config *cfg, struct qd_link *l, int fd,
		      struct qktls_result *r);
/* The handshake an SSL object runs (for OpenSSL callbacks), or NULL. */
struct qd_hs *qd_tls_hs(const struct ssl_st *ssl);

/* --- strangers.c: keys taken for clients not yet authenticated ------------ */
struct qd_strangers;
/* Budgets of keys a minute per client address and per link (0: none). */
struct qd_strangers *qd_strangers_new(unsigned int per_peer,
				      unsigned int per_link);
void qd_strangers_free(struct qd_strangers *s);
/* May a handshake from @peer take a key?  Logs (and counts) a refusal. */
bool qd_strangers_allowed(struct qd_strangers *s, const char *link,
			  const struct sockaddr_storage *peer);
/* A handshake from @peer took a key and ended unauthenticated. */
void qd_strangers_spend(struct qd_strangers *s,
			const struct sockaddr_storage *peer);
/* Keys spent by clients that did not authenticate, takes refused. */
void qd_strangers_stats(struct qd_strangers *s, uint64_t *taken,
			uint64_t *refused);

/* --- keyupdate.c: the QKD key update extension (key-update.rst) ----------- */
/* This end wants the QKD key update on @l (key_update "qkd" and a pool). */
bool qd_keyupdate_wanted(const struct qd_link *l);
/*
 * Before a handshake on @hs: whether it negotiates the QKD key update,
 * which it does only if the link wants it and qktls.ko holds its pools.
 */
void qd_keyupdate_begin(struct qd_hs *hs);
/* Register the extension on the link's SSL_CTX; -1 on error. */
int qd_keyupdate_init(struct qd_link *l, struct ssl_ctx_st *ctx);

/* --- install.c ------------------------------------------------------------ */
/* Install both directions; 0 or a negative libqktls error. */
int qd_ktls_install(int fd, enum qktls_role role, uint16_t suite,
		    const uint8_t *cts, const uint8_t *sts, size_t len);
/*
 * Attach the kTLS socket of @hs to qktls.ko with both traffic secrets, the
 * link's pools, QKD policy and rekey policy.  Without qktls.ko the socket
 * stays unattached (logged once) unless the link's rekey policy needs the
 * module.  0 (@attached says which) or a negative error with @r->error
 * set: -EPROTO when policy "required" rekeys and the peer did not
 * negotiate the QKD key update.
 */
int qd_sock_attach(struct qd_link *l, struct qd_hs *hs, uint16_t suite,
		   struct qktls_result *r, bool *attached);
const char *qd_strerror(int err);

#endif /* QKTLSD_H */
