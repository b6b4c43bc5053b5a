/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls-kme-sim: a pair of ETSI GS QKD 014 KMEs sharing one simulated QKD
 * link.  sim.c holds the options and process, link.c the link and the
 * reserved keys, http.c the HTTPS endpoints, control.c the run-time control.
 */
#ifndef QKTLS_KME_SIM_H
#define QKTLS_KME_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <sys/socket.h>

#define SIM_MAX_SAES	8	/* SAEs attached to one KME */
#define SIM_ID_MAX	255

enum fault_kind {
	FAULT_NONE,
	FAULT_503,		/* answer 503 with an ETSI error */
	FAULT_MALFORMED,	/* answer 200 with a truncated JSON body */
	FAULT_KEY_LENGTH,	/* keys one byte short of size/8 */
	FAULT_MISMATCH,		/* dec_keys: other IDs; enc_keys: duplicate IDs */
	FAULT_BAD_KEY_ID,	/* key IDs that are not UUIDs */
	FAULT_BAD_BASE64,	/* keys that are not base64 */
	FAULT_WRONG_COUNT,	/* one key fewer (or one more) than asked */
	FAULT_DROP,		/* close the connection without an answer */
	FAULT_HTML,		/* answer 500 with an HTML page, not ETSI JSON */
	FAULT_PROBLEM,		/* answer 401 with an RFC 7807 problem object */
	FAULT_EMPTY,		/* answer 200 with an empty body */
	FAULT_LOSE,		/* use the keys up, then close without answering */
	FAULT_KIND_MAX_,
	/* ETSI 004 only (qk004 answers with that status) */
	FAULT004_PEER_NOT_CONNECTED,	/* GET_KEY: GK_PEER_NOT_CONNECTED */
	FAULT004_INSUFFICIENT_KEY,	/* GET_KEY: GK_INSUFFICIENT_KEY_AVAILABLE */
	FAULT004_TIMEOUT,		/* any call: TIMEOUT_ERROR */
	FAULT004_NO_CONNECTION,		/* any call: NO_QKD_CONNECTION_AVAILABLE */
};

/* Faults of one KME; a count < 0 means "until cleared". */
struct fault {
	enum fault_kind kind;
	long count;
	unsigned long latency_ms;
	long latency_count;
};

struct sim;
struct ssl_ctx_st;

struct kme {
	char name;			/* 'a' or 'b' */
	char *id;			/* KME ID */
	const char *listen;		/* ADDR:PORT */
	const char *cert_file, *key_file;
	char *cert_pem, *key_pem;
	char *saes[SIM_MAX_SAES];	/* SAE IDs attached to this KME */
	size_t n_saes;
	struct fault fault;		/* under sim->lock */
	unsigned long requests;		/* under sim->lock */
	unsigned int port;
	struct MHD_Daemon *daemon;
	/* ETSI 004 (etsi004.c), when listen004 is set */
	const char *listen004;
	unsigned int port004;
	int fd004;
	pthread_t thr004;
	bool thr004_started;
	struct ssl_ctx_st *ctx004;
	struct fault fault004;		/* under sim->lock */
	struct kme *peer;
	struct sim *sim;
};

struct cn_map {
	char *cn;
	char *sae;
};

/* A key handed out by enc_keys and waiting for its slave SAEs' dec_keys. */
struct rkey {
	char id[37];
	unsigned char *bytes;
	size_t len;
	char *master;
	char *slaves[SIM_MAX_SAES];
	bool delivered[SIM_MAX_SAES];
	size_t n_slaves;
	struct rkey *next;
};

struct sim {
	pthread_mutex_t lock;
	pthread_cond_t request_taken;	/* a KME took a request (requests++) */
	struct kme kme[2];
	const char *ca_file;
	char *ca_pem;
	struct cn_map *map;
	size_t n_map;
	bool verbose;

	/* The link (under lock). */
	double rate;			/* bits per second */
	double avail_bits;
	double last_s;			/* when avail_bits was last brought up to date */
	unsigned long key_size, max_key_count, max_key_per_request;
	unsigned long min_key_size, max_key_size, max_sae_id_count;
	unsigned long max_reserved;
	struct rkey *reserved;
	unsigned long n_reserved;
	unsigned long keys_out, keys_delivered;
	struct stream *streams;		/* ETSI 004 key streams */
	unsigned long n_streams;
};

/* link.c */
void link_init(struct sim *s, unsigned long initial_keys);
void link_update(struct sim *s);
unsigned long link_stored(struct sim *s);
void link_advance(struct sim *s, double ms);
void link_drain(struct sim *s);
void link_free(struct sim *s);
void make_uuid(char out[37]);
bool kme_has_sae(const struct kme *k, const char *sae);

/* http.c */
int http_start(struct kme *k);
void http_stop(struct kme *k);
int sim_parse_listen(const char *spec, struct sockaddr_storage *ss,
		     socklen_t *len);
/* The SAE ID of a client certificate's CN (--map), strdup'd, or NULL. */
char *sim_sae_for_cn(struct sim *s, const char *cn, char *why, size_t whylen);

/* etsi004.c */
int e004_start(struct kme *k);
void e004_stop(struct kme *k);
void e004_free_streams(struct sim *s);

/* control.c */
int fault_parse(const char *spec, struct fault *f, char *why, size_t whylen);
int fault004_parse(const char *spec, struct fault *f, char *why, size_t whylen);
const char *fault_name(enum fault_kind k);
void fault_take(struct kme *k, struct fault *f, bool any_kind, int *kind,
		unsigned long *latency);
int control_start(struct sim *s, const char *path);
void control_stop(void);
int control_command(struct sim *s, char *line, char *reply, size_t size);

/* sim.c */
void sim_log(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
