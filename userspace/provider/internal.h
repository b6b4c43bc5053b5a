/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the qktls OpenSSL provider; see qktls/provider.h. */
#ifndef QKTLS_PROVIDER_INTERNAL_H
#define QKTLS_PROVIDER_INTERNAL_H

#include <stdint.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/err.h>
#include <qktls/provider.h>

/* Key parameter carrying the QKD key reference (not secret). */
#define QK_PARAM_KEY_REF "qktls-key-ref"

/* One of the provider's groups and the default provider's algorithm it
 * wraps.  Lengths are those of the inner algorithm. */
struct qk_group {
	const char *name;	/* group name = algorithm name */
	const char *inner;	/* inner algorithm, from the default provider */
	size_t pub_len;		/* inner encoded public key */
	size_t ct_len;		/* inner ciphertext */
	size_t ss_len;		/* inner shared secret */
	int echo_ref;		/* ciphertext = inner ct || reference */
	size_t key_len;		/* exact QKD key length, 0: MIN..MAX */
	unsigned int sec_bits;
};

extern const struct qk_group qk_group_hybrid;
extern const struct qk_group qk_group_mlkem;

enum {
	QK_C_FETCHED,
	QK_C_FETCH_FAILED,
	QK_C_USED,
	QK_C_DISCARDED,
	QK_C_ACCEPTED,
	QK_C_UNKNOWN,
	QK_C_REUSED,
	QK_C_MALFORMED,
	QK_C_SECRETS,
	QK_C_NUM
};

#define QK_PROV_MAGIC 0x716b746cu	/* "qktl" */
#define QK_CAP_PARAMS 11

struct qk_prov {
	unsigned int magic;
	const OSSL_CORE_HANDLE *handle;
	OSSL_LIB_CTX *child;		/* NULL: an unconfigured instance */
	OSSL_PROVIDER *default_prov;	/* "default" if we loaded it */
	struct qktls_qkd_keys keys;
	void (*keys_free)(void *arg);	/* module: frees keys.arg at teardown */
	char *link;
	enum qktls_qkd_flow mlkem_flow;
	unsigned int group_id[2];
	OSSL_PARAM caps[2][QK_CAP_PARAMS];
	uint64_t counters[QK_C_NUM];
};

/* A key of one of the groups.  The client's comes from keygen and holds
 * the QKD key it took; the server's is built from the client's share and
 * holds the QKD key the reference named. */
struct qk_key {
	struct qk_prov *prov;
	const struct qk_group *grp;
	EVP_PKEY *inner;
	int client;		/* made by keygen */
	int has_ref;
	int deferred;		/* server-initiated: the server names the key,
				 * at encapsulation; the client takes it at
				 * decapsulation */
	int used;		/* the QKD key went into a secret */
	uint8_t ref[QKTLS_QKD_REF_LEN];
	size_t qkd_len;		/* 0 once wiped */
	uint8_t qkd[QKTLS_QKD_KEY_MAX];
};

/* Error reasons of the provider's error library. */
enum {
	QK_R_UNKNOWN_REF = 100,
	QK_R_REUSED_REF,
	QK_R_MALFORMED_SHARE,
	QK_R_NO_KEY,
	QK_R_BAD_KEY,
	QK_R_KEY_ID_MISMATCH,
	QK_R_INNER_FAILED,
	QK_R_KEY_STATE,
	QK_R_BAD_CONFIG,
	QK_R_WRONG_FLOW,
	QK_R_KEY_SOURCE,
};

int qk_err_lib(void);
#define QK_ERR(reason, ...) \
	ERR_raise_data(qk_err_lib(), (reason), __VA_ARGS__)

static inline void qk_count(struct qk_prov *p, int c)
{
	__atomic_fetch_add(&p->counters[c], 1, __ATOMIC_RELAXED);
}

/* Hex of a reference for messages (references are public). */
void qk_ref_hex(const uint8_t ref[QKTLS_QKD_REF_LEN],
		char out[2 * QKTLS_QKD_REF_LEN + 1]);
const char *qk_link(const struct qk_prov *p);

/* True if @grp runs the server-initiated flow in @p. */
int qk_server_initiated(const struct qk_prov *p, const struct qk_group *grp);
/* The key's QKD key from get_key (fills ref, qkd) / take_key (by k->ref).
 * Both count, check the length and raise the error; 1 on success. */
int qk_key_fetch(struct qk_key *k);
int qk_key_take(struct qk_key *k);

/*
 * Set up @p (already zeroed, magic and handle set) for the core that
 * called an init with @in: apply @cfg, create the child library context.
 * Returns 0, or -1 with the reason raised.
 */
int qk_prov_setup(struct qk_prov *p, const OSSL_DISPATCH *in,
		  const struct qktls_provider_config *cfg);
void qk_prov_teardown(void *provctx);
extern const OSSL_DISPATCH qk_prov_functions[];

extern const OSSL_DISPATCH qk_keymgmt_hybrid_functions[];
extern const OSSL_DISPATCH qk_keymgmt_mlkem_functions[];
extern const OSSL_DISPATCH qk_kem_functions[];

#endif
