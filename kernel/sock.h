/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls: kTLS sockets attached to the module, their traffic secrets, rekey
 * policy and counters.
 *
 * Locking: qktls_net.sock_lock (a mutex) guards a namespace's table of
 * attachments.  qktls_sock.tx_io (a mutex) serialises the writers of the
 * socket that go through the module's hooks, so that the policy check, a
 * rekey and the data it precedes are one ordered step.  Each direction's
 * qktls_sock_key.lock (a mutex) serialises that direction's rekeys and
 * guards its secret, so a TX rekey blocked on a full send buffer never
 * holds up the RX rekey that frees the peer's; the two are never held
 * together.  qktls_sock.lock (a spinlock) guards the counters and policy
 * state, so that a rekey blocked on a full send buffer never blocks a GET,
 * a dump or the periodic work.  Order: tx_io, sock_lock, a key's lock,
 * the socket lock (lock_sock), lock.
 */
#ifndef _QKTLS_SOCK_H
#define _QKTLS_SOCK_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/qktls.h>

#include "bucket.h"

struct genl_info;
struct netlink_ext_ack;
struct qktls_net;
struct msghdr;
struct proto;
struct qktls_hook;
struct qktls_pool;
struct qktls_suite;
struct sock;
struct socket;

/* Module parameters (main.c). */
extern unsigned int qktls_max_socks;
extern unsigned int qktls_sock_scan_ms;
extern unsigned int qktls_sock_qkd_rekeys_per_min;
extern unsigned int qktls_sock_qkd_rekey_burst;

/**
 * struct qktls_sock_stats - counters of an attached socket, see enum
 *	qktls_sock_stats_attrs
 * @tx_rekeys: TX rekeys done
 * @rx_rekeys: RX rekeys done
 * @tx_qkd_rekeys: TX rekeys that mixed in a QKD key
 * @rx_qkd_rekeys: RX rekeys that mixed in a QKD key
 * @keys_used: QKD keys taken from the pools
 * @rekey_errors: rekey requests that failed
 * @last_error: last failure, positive errno
 * @rekeys_due: times the policy asked for a TX rekey
 * @rekeys_overdue: times a due rekey was still not done a period later
 * @tx_std_fallbacks: standard TX rekeys for want of a QKD key (preferred)
 * @tx_refused: writes refused for want of a QKD key (required)
 * @updates_requested: peer KeyUpdates with update_requested
 * @tickets_dropped: NewSessionTickets consumed
 * @alerts: alerts received
 * @rx_errors: handshake records that could not be used
 */
struct qktls_sock_stats {
	u64 tx_rekeys;
	u64 rx_rekeys;
	u64 tx_qkd_rekeys;
	u64 rx_qkd_rekeys;
	u64 keys_used;
	u64 rekey_errors;
	u64 last_error;
	u64 rekeys_due;
	u64 rekeys_overdue;
	u64 tx_std_fallbacks;
	u64 tx_refused;
	u64 updates_requested;
	u64 tickets_dropped;
	u64 alerts;
	u64 rx_errors;
};

/**
 * struct qktls_sock_key - the traffic secret of one direction
 * @lock: serialises this direction's rekeys; guards the fields below
 * @detached: detached or reaped; @secret wiped, rekeys refused
 * @secret: current traffic secret, the suite's Hash.length
 */
struct qktls_sock_key {
	struct mutex lock; /* rekeys of this direction, @secret */
	bool detached;
	u8 secret[QKTLS_SECRET_MAX_LEN];
};

/**
 * struct qktls_sock - an attached kTLS socket
 * @refcnt: references (the namespace's table holds one while linked, a
 *	hooked socket call one while it runs)
 * @rcu: the attachment is freed after a grace period (hook lookups)
 * @qn: the namespace's state
 * @list: link in qktls_net.socks, in attach order
 * @hnode: link in qktls_net.sock_ids, by @cookie
 * @sk: the socket, referenced (sock_hold)
 * @hook_node: link in the table of hooked sockets, by @sk (hook.c)
 * @hook: the protocol operations the socket had before the module hooked
 *	it, and the module's; NULL until hooked
 * @hooked: the socket is hooked: the module holds a reference to itself
 * @cookie: the socket's cookie, QKTLS_A_SOCK_ID
 * @seq: attach number in the namespace (dumps resume by it)
 * @suite: the TLS 1.3 cipher suite
 * @link: the link's name, may be empty
 * @tx_pool: pool of this end's QKD update keys, referenced, or NULL
 * @rx_pool: pool of the peer's QKD update keys, referenced, or NULL
 * @qkd_update: the peer negotiated the QKD key update
 * @rekey_bytes: policy, rekey TX after this many bytes; 0 = never
 * @rekey_seconds: policy, rekey TX after this long; 0 = never
 * @rekey_records: policy, rekey TX after this many records; 0 = never
 * @qkd_policy: enum qktls_qkd_policy
 * @tx_io: serialises the writers that go through the hooks
 * @tx: the TX traffic secret
 * @rx: the RX traffic secret
 * @lock: guards everything below
 * @stats: counters
 * @tx_bytes: plaintext bytes sent under the current TX key, counted by
 *	the hooks (exact for every write, send, sendfile and splice)
 * @tx_update_requested: the peer asked for a TX KeyUpdate
 * @tx_err: TX is unusable (a KeyUpdate went out, the key did not change):
 *	every write fails with it
 * @rx_err: RX is unusable: every read fails with it
 * @rx_eof: the peer sent close_notify: reads return 0
 * @rx_ref: key ID of the peer's pending QKD key reference (under rx.lock)
 * @rx_ref_set: @rx_ref is set
 * @tx_key_since: jiffies of the last TX rekey (or of the attach)
 * @due_since: jiffies when the policy first found TX due, 0 = not due
 * @due_last_ntf: jiffies of the last QKTLS_CMD_SOCK_REKEY_DUE_NTF
 * @qkd_requests: rate limit of the QKD rekeys callers ask for
 */
struct qktls_sock {
	refcount_t refcnt;
	struct rcu_head rcu;
	struct qktls_net *qn;
	struct list_head list;
	struct hlist_node hnode;
	struct sock *sk;
	struct hlist_node hook_node;
	const struct qktls_hook *hook;
	bool hooked;
	u64 cookie;
	u64 seq;
	const struct qktls_suite *suite;
	char link[QKTLS_PEER_MAX];
	struct qktls_pool *tx_pool;
	struct qktls_pool *rx_pool;
	bool qkd_update;
	u64 rekey_bytes;
	u32 rekey_seconds;
	u64 rekey_records;
	u8 qkd_policy;

	struct mutex tx_io; /* writers through the hooks */
	struct qktls_sock_key tx;
	struct qktls_sock_key rx;

	spinlock_t lock; /* counters, policy state */
	struct qktls_sock_stats stats;
	u64 tx_bytes;
	u64 tx_key_since;
	bool tx_update_requested;
	int tx_err;
	int rx_err;
	bool rx_eof;
	u8 rx_ref[QKTLS_KEY_ID_LEN];
	bool rx_ref_set;
	u64 due_since;
	u64 due_last_ntf;
	struct qktls_bucket qkd_requests;
};

/**
 * struct qktls_sock_attach_req - what QKTLS_CMD_SOCK_ATTACH asks for
 * @sock: the socket, from the caller's file table
 * @suite: the cipher suite the caller says is installed
 * @tx_secret: current TX traffic secret, @suite's Hash.length
 * @rx_secret: current RX traffic secret
 * @link: the link's name, or NULL
 * @tx_pool: TX pool, referenced, or NULL; qktls_sock_attach() takes over
 *	the reference, whatever the outcome
 * @rx_pool: RX pool, likewise
 * @qkd_update: the peer negotiated the QKD key update
 * @rekey_bytes: policy, bytes
 * @rekey_seconds: policy, seconds
 * @rekey_records: policy, records
 * @rekey_required: refuse if this kernel cannot rekey
 * @qkd_policy: enum qktls_qkd_policy
 */
struct qktls_sock_attach_req {
	struct socket *sock;
	const struct qktls_suite *suite;
	const u8 *tx_secret;
	const u8 *rx_secret;
	const char *link;
	struct qktls_pool *tx_pool;
	struct qktls_pool *rx_pool;
	bool qkd_update;
	u64 rekey_bytes;
	u32 rekey_seconds;
	u64 rekey_records;
	bool rekey_required;
	u8 qkd_policy;
};

/**
 * struct qktls_sock_info - a snapshot of an attachment for a reply
 * @stats: counters
 * @tx_bytes: bytes sent since the last TX rekey
 * @tx_key_age_ms: milliseconds since the last TX rekey
 * @tx_records: records sent under the current TX key
 * @due: the policy wants a TX rekey now
 */
struct qktls_sock_info {
	struct qktls_sock_stats stats;
	u64 tx_bytes;
	u64 tx_key_age_ms;
	u64 tx_records;
	bool due;
};

/**
 * struct qktls_rekey_req - what QKTLS_CMD_SOCK_REKEY asks for
 * @dir: QKTLS_SOCK_DIR_TX or QKTLS_SOCK_DIR_RX
 * @flags: QKTLS_REKEY_* bits
 * @ref: RX: the ID of the key the peer announced, or NULL
 * @used_ref: the ID of the QKD key used, if @used_qkd
 * @used_qkd: a QKD key was mixed in
 * @nonblock: TX: the writer does not wait for send buffer space
 * @requested: a caller asked for it (QKTLS_CMD_SOCK_REKEY), rather than
 *	the policy or the peer: its QKD key is rate-limited
 */
struct qktls_rekey_req {
	u8 dir;
	u32 flags;
	const u8 *ref;
	u8 used_ref[QKTLS_KEY_ID_LEN];
	bool used_qkd;
	bool nonblock;
	bool requested;
};

/* QKTLS_CMD_SOCK_REKEY works on this kernel. */
bool qktls_have_ktls_rekey(void);

void qktls_socks_net_init(struct qktls_net *qn);
void qktls_socks_net_exit(struct qktls_net *qn);
int qktls_sock_init(void);
void qktls_sock_exit(void);

int qktls_sock_attach(struct qktls_net *qn,
		      const struct qktls_sock_attach_req *req,
		      struct qktls_sock **qsp, struct netlink_ext_ack *extack);
struct qktls_sock *qktls_sock_get(struct qktls_net *qn, u64 cookie);
struct qktls_sock *qktls_sock_get_sk(struct sock *sk);
void qktls_sock_put(struct qktls_sock *qs);
int qktls_sock_detach(struct qktls_sock *qs);
void qktls_socks_reap(struct qktls_net *qn);
u64 qktls_sk_cookie(struct sock *sk);
void qktls_sock_snapshot(struct qktls_sock *qs, struct qktls_sock_info *si);

int qktls_sock_rekey(struct qktls_sock *qs, struct qktls_rekey_req *req,
		     struct netlink_ext_ack *extack);
int qktls_sock_rekey_locked(struct qktls_sock *qs, struct qktls_rekey_req *req,
			    struct netlink_ext_ack *extack);
bool qktls_sock_tx_due(struct qktls_sock *qs);
u64 qktls_sock_tx_budget(struct qktls_sock *qs);
void qktls_sock_tx_sent(struct qktls_sock *qs, size_t bytes);

/* kTLS's recvmsg, whatever this kernel's struct proto takes. */
#ifdef QKTLS_RECVMSG_ADDR_LEN
#define qktls_base_recvmsg(prot, sk, msg, len, flags) ({		\
	int __addr_len = 0;						\
	(prot)->recvmsg(sk, msg, len, flags, &__addr_len);		\
})
#else
#define qktls_base_recvmsg(prot, sk, msg, len, flags)			\
	((prot)->recvmsg(sk, msg, len, flags))
#endif

/* The data path inside the application's calls (tx.c, rx.c). */
int qktls_tx_sendmsg(struct qktls_sock *qs, const struct proto *base,
		     struct msghdr *msg, size_t size);
int qktls_rx_recvmsg(struct qktls_sock *qs, const struct proto *base,
		     struct msghdr *msg, size_t len, int flags);
int qktls_rx_consume(struct qktls_sock *qs, const struct proto *base,
		     bool nonblock);
int qktls_rx_state(struct qktls_sock *qs);

#endif /* _QKTLS_SOCK_H */
