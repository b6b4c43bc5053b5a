// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: kTLS sockets attached to the module.
 *
 * An attachment holds a reference to its socket, the socket's traffic
 * secrets and references to its pools.  It ends on QKTLS_CMD_SOCK_DETACH,
 * when the socket is closed (found SOCK_DEAD by the next request that
 * looks at the namespace's attachments, or by the periodic work within
 * qktls.sock_scan_ms), when the namespace goes or the module unloads.  The
 * secrets are wiped then, and the socket reference dropped, so that neither
 * the socket's memory nor its network namespace outlives the socket's last
 * file by more than a scan period.
 *
 * While attached, the socket runs the module's operations (hook.c): the
 * writers' calls rekey TX when the policy is due (tx.c) and the readers'
 * calls follow the peer's key updates (rx.c).  The periodic work watches
 * the policy of idle sockets: one whose TX key has carried rekey_bytes or
 * lived rekey_seconds is due, rekeys before its next byte, and an event
 * says so (QKTLS_CMD_SOCK_REKEY_DUE_NTF) once per rekey period until then.
 */

#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/sock_diag.h>
#include <linux/string.h>
#include <linux/unaligned.h>
#include <net/genetlink.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "hook.h"
#include "kdf.h"
#include "netlink.h"
#include "pool.h"
#include "sock.h"

static struct kmem_cache *qktls_sock_cache;

static bool qktls_sock_due(struct qktls_sock *qs, u64 tx_bytes,
			   u64 tx_records, u64 now);
static atomic_t qktls_n_socks = ATOMIC_INIT(0);

/* Repeat of QKTLS_CMD_SOCK_REKEY_DUE_NTF when only rekey_bytes is set. */
#define QKTLS_DUE_REPEAT	(60 * HZ)

/**
 * qktls_have_ktls_rekey() - can kTLS on this kernel rekey a socket?
 *
 * Linux 6.14 made a second setsockopt(SOL_TLS, TLS_TX/TLS_RX) on a TLS 1.3
 * socket a rekey (before, it fails with -EBUSY), and defined
 * TLS_HANDSHAKE_KEYUPDATE in <net/tls.h> for it.
 *
 * Return: true if QKTLS_CMD_SOCK_REKEY can work.
 */
bool qktls_have_ktls_rekey(void)
{
#ifdef TLS_HANDSHAKE_KEYUPDATE
	return true;
#else
	return false;
#endif
}

/**
 * qktls_sk_cookie() - the socket's cookie, as SO_COOKIE gives it
 * @sk: the socket
 *
 * Return: the cookie, allocated on first use.
 */
u64 qktls_sk_cookie(struct sock *sk)
{
	u32 c[2];

	sock_diag_save_cookie(sk, c);
	return (u64)c[1] << 32 | c[0];
}

/*
 * Records sent under the current TX key: kTLS's TX record sequence number,
 * which a TLS 1.3 rekey restarts at 0.  Read without the socket lock (a
 * torn read only moves the policy check by a record); the context goes
 * away after an RCU grace period when the socket closes.
 */
static u64 qktls_sk_tx_records(struct sock *sk)
{
	struct tls_context *ctx;
	u64 seq = 0;

	rcu_read_lock();
	ctx = rcu_dereference(inet_csk(sk)->icsk_ulp_data);
	if (ctx)
		seq = get_unaligned_be64(ctx->tx.rec_seq);
	rcu_read_unlock();
	return seq;
}

/* RFC 8446 section 5.5: AES-GCM, 2^24.5 full records per key; kept below. */
static u64 qktls_aead_records(const struct qktls_suite *suite)
{
	return suite->ktls_cipher == TLS_CIPHER_CHACHA20_POLY1305 ? 0 : 1ULL << 24;
}

/* One direction of a kTLS context: TLS 1.3 with @suite's cipher. */
static bool qktls_ktls_dir_ok(const struct tls_crypto_info *ci, u8 conf,
			      const struct qktls_suite *suite)
{
	return conf != TLS_BASE && TLS_CRYPTO_INFO_READY(ci) &&
	       ci->version == TLS_1_3_VERSION &&
	       ci->cipher_type == suite->ktls_cipher;
}

/* Is @sk a TCP socket with TLS 1.3 kTLS of @suite in both directions? */
static int qktls_sock_check(struct sock *sk, const struct qktls_suite *suite,
			    struct netlink_ext_ack *extack)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	struct tls_context *ctx;
	int err = 0;

	lock_sock(sk);
	if (sock_flag(sk, SOCK_DEAD)) {
		NL_SET_ERR_MSG(extack, "the socket is closed");
		err = -EINVAL;
		goto out;
	}
	if (!icsk->icsk_ulp_ops || strcmp(icsk->icsk_ulp_ops->name, "tls")) {
		NL_SET_ERR_MSG(extack, "the socket has no kTLS (tls ULP)");
		err = -EINVAL;
		goto out;
	}
	ctx = tls_get_ctx(sk);
	if (!ctx || !qktls_ktls_dir_ok(&ctx->crypto_send.info, ctx->tx_conf,
				       suite)) {
		NL_SET_ERR_MSG_FMT(extack,
				   "the socket has no TLS 1.3 %s kTLS key for TX",
				   suite->name);
		err = -EINVAL;
		goto out;
	}
	if (!qktls_ktls_dir_ok(&ctx->crypto_recv.info, ctx->rx_conf, suite)) {
		NL_SET_ERR_MSG_FMT(extack,
				   "the socket has no TLS 1.3 %s kTLS key for RX",
				   suite->name);
		err = -EINVAL;
	}
out:
	release_sock(sk);
	return err;
}

static struct qktls_sock *qktls_sock_find(struct qktls_net *qn, u64 cookie)
{
	struct qktls_sock *qs;

	lockdep_assert_held(&qn->sock_lock);
	hash_for_each_possible(qn->sock_ids, qs, hnode, cookie)
		if (qs->cookie == cookie)
			return qs;
	return NULL;
}

/* After the grace period of the hooks' lookups; qktls_exit() waits. */
static void qktls_sock_free_rcu(struct rcu_head *rcu)
{
	struct qktls_sock *qs = container_of(rcu, struct qktls_sock, rcu);

	kmem_cache_free(qktls_sock_cache, qs);
}

static void qktls_sock_free(struct qktls_sock *qs)
{
	bool hooked;

	memzero_explicit(qs->tx.secret, sizeof(qs->tx.secret));
	memzero_explicit(qs->rx.secret, sizeof(qs->rx.secret));
	memzero_explicit(qs->rx_ref, sizeof(qs->rx_ref));
	qktls_pool_put(qs->tx_pool);
	qktls_pool_put(qs->rx_pool);
	if (qs->sk)
		sock_put(qs->sk);
	mutex_destroy(&qs->tx_io);
	mutex_destroy(&qs->tx.lock);
	mutex_destroy(&qs->rx.lock);
	hooked = qs->hooked;
	/* Room for the next attach now, not after the grace period. */
	atomic_dec(&qktls_n_socks);
	call_rcu(&qs->rcu, qktls_sock_free_rcu);
	/*
	 * The last hooked call has returned into its caller's epilogue: the
	 * module may go now (its exit waits for the RCU callback above).
	 */
	if (hooked)
		module_put(THIS_MODULE);
}

/**
 * qktls_sock_put() - release a reference to an attachment
 * @qs: the attachment, or NULL
 */
void qktls_sock_put(struct qktls_sock *qs)
{
	if (qs && refcount_dec_and_test(&qs->refcnt))
		qktls_sock_free(qs);
}

static void qktls_sock_arm(struct qktls_net *qn)
{
	queue_delayed_work(system_dfl_wq, &qn->sock_work,
			   msecs_to_jiffies(max(READ_ONCE(qktls_sock_scan_ms),
						10U)));
}

/* Take @qs out of its namespace's table onto @gone; sock_lock held. */
static void qktls_sock_unlink(struct qktls_sock *qs, struct list_head *gone)
{
	lockdep_assert_held(&qs->qn->sock_lock);
	hash_del(&qs->hnode);
	list_move_tail(&qs->list, gone);
	qs->qn->n_socks--;
}

/* Refuse further rekeys of one direction and wipe its secret. */
static void qktls_sock_key_wipe(struct qktls_sock_key *key)
{
	mutex_lock(&key->lock);
	key->detached = true;
	memzero_explicit(key->secret, sizeof(key->secret));
	mutex_unlock(&key->lock);
}

/* Wipe and release the attachments on @gone, unlinked; no lock held. */
static void qktls_sock_release_list(struct list_head *gone)
{
	struct qktls_sock *qs, *tmp;

	list_for_each_entry_safe(qs, tmp, gone, list) {
		list_del_init(&qs->list);
		qktls_hook_detach(qs);
		qktls_sock_key_wipe(&qs->tx);
		qktls_sock_key_wipe(&qs->rx);
		qktls_sock_put(qs);
	}
}

/* The tighter of two limits where 0 means none. */
static u64 qktls_tighter(u64 a, u64 b)
{
	if (!a || !b)
		return a ?: b;
	return min(a, b);
}

/**
 * qktls_sock_attach() - attach a kTLS socket and its secrets
 * @qn: the namespace's state; the socket's namespace
 * @req: the request, checked for form by the caller
 * @qsp: the attachment, referenced (release with qktls_sock_put())
 * @extack: error messages
 *
 * Return: 0, -EINVAL (not TLS 1.3 kTLS of the suite in both directions),
 * -EOPNOTSUPP (rekey required and impossible), -EEXIST (attached
 * already), -ENOSPC (qktls.max_socks attachments), -ENOMEM.
 */
int qktls_sock_attach(struct qktls_net *qn,
		      const struct qktls_sock_attach_req *req,
		      struct qktls_sock **qsp, struct netlink_ext_ack *extack)
{
	const struct qktls_suite *suite = req->suite;
	struct sock *sk = req->sock->sk;
	struct qktls_sock *qs;
	int err;

	qs = kmem_cache_zalloc(qktls_sock_cache, GFP_KERNEL_ACCOUNT);
	if (!qs) {
		qktls_pool_put(req->tx_pool);
		qktls_pool_put(req->rx_pool);
		return -ENOMEM;
	}
	atomic_inc(&qktls_n_socks);
	refcount_set(&qs->refcnt, 1);
	qs->qn = qn;
	INIT_LIST_HEAD(&qs->list);
	INIT_HLIST_NODE(&qs->hook_node);
	mutex_init(&qs->tx_io);
	mutex_init(&qs->tx.lock);
	mutex_init(&qs->rx.lock);
	spin_lock_init(&qs->lock);
	qs->suite = suite;
	qs->tx_pool = req->tx_pool;
	qs->rx_pool = req->rx_pool;
	if (req->link)
		strscpy(qs->link, req->link, sizeof(qs->link));
	qs->qkd_update = req->qkd_update;
	qs->qkd_policy = req->qkd_policy;
	qs->rekey_bytes = req->rekey_bytes;
	qs->rekey_seconds = req->rekey_seconds;
	qs->rekey_records = qktls_tighter(req->rekey_records,
					  qktls_aead_records(suite));
	if (qs->tx_pool) {
		/* The operator's pool policy bounds the socket's. */
		mutex_lock(&qs->tx_pool->lock);
		qs->rekey_bytes = qktls_tighter(qs->rekey_bytes,
						qs->tx_pool->rekey_bytes);
		qs->rekey_seconds = qktls_tighter(qs->rekey_seconds,
						  qs->tx_pool->rekey_seconds);
		mutex_unlock(&qs->tx_pool->lock);
	}
	memcpy(qs->tx.secret, req->tx_secret, suite->hash_len);
	memcpy(qs->rx.secret, req->rx_secret, suite->hash_len);

	if ((req->rekey_required || req->rekey_bytes || req->rekey_seconds ||
	     req->rekey_records) && !qktls_have_ktls_rekey()) {
		NL_SET_ERR_MSG(extack,
			       "kernel has no kTLS rekey (needs Linux 6.14 or later): no rekey policy");
		err = -EOPNOTSUPP;
		goto fail;
	}
	if (req->qkd_policy == QKTLS_QKD_REQUIRED &&
	    (qs->rekey_bytes || qs->rekey_seconds || req->rekey_records) &&
	    (!req->qkd_update || !qs->tx_pool)) {
		NL_SET_ERR_MSG(extack,
			       "QKD policy required with a rekey policy needs the QKD key update and a TX pool");
		err = -EINVAL;
		goto fail;
	}
	if (sk->sk_protocol != IPPROTO_TCP || sk->sk_type != SOCK_STREAM ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)) {
		NL_SET_ERR_MSG(extack, "not a TCP socket");
		err = -EINVAL;
		goto fail;
	}
	if (atomic_read(&qktls_n_socks) > READ_ONCE(qktls_max_socks)) {
		NL_SET_ERR_MSG_FMT(extack, "max_socks (%u) sockets are attached",
				   READ_ONCE(qktls_max_socks));
		err = -ENOSPC;
		goto fail;
	}
	err = qktls_sock_check(sk, suite, extack);
	if (err)
		goto fail;

	qs->cookie = qktls_sk_cookie(sk);
	qs->tx_key_since = get_jiffies_64();
	qktls_bucket_init(&qs->qkd_requests,
			  READ_ONCE(qktls_sock_qkd_rekey_burst));

	mutex_lock(&qn->sock_lock);
	if (qktls_sock_find(qn, qs->cookie)) {
		mutex_unlock(&qn->sock_lock);
		NL_SET_ERR_MSG(extack, "the socket is attached already");
		err = -EEXIST;
		goto fail;
	}
	sock_hold(sk);
	qs->sk = sk;
	qs->seq = qn->sock_next_seq++;
	hash_add(qn->sock_ids, &qs->hnode, qs->cookie);
	list_add_tail(&qs->list, &qn->socks);
	qn->n_socks++;
	refcount_inc(&qs->refcnt);
	qktls_sock_arm(qn);
	mutex_unlock(&qn->sock_lock);
	err = qktls_hook_attach(qs);
	if (err) {
		NL_SET_ERR_MSG(extack,
			       "the socket's operations are not kTLS's (another layer took it over)");
		qktls_sock_detach(qs);
		qktls_sock_put(qs);
		return err;
	}
	*qsp = qs;
	return 0;

fail:
	qktls_sock_free(qs);
	return err;
}

/**
 * qktls_sock_get() - find an attachment by socket cookie and reference it
 * @qn: the namespace's state
 * @cookie: the socket's cookie
 *
 * Return: the attachment (release it with qktls_sock_put()), or NULL.
 */
struct qktls_sock *qktls_sock_get(struct qktls_net *qn, u64 cookie)
{
	struct qktls_sock *qs;

	mutex_lock(&qn->sock_lock);
	qs = qktls_sock_find(qn, cookie);
	if (qs)
		refcount_inc(&qs->refcnt);
	mutex_unlock(&qn->sock_lock);
	return qs;
}

/**
 * qktls_sock_get_sk() - the attachment of a socket the caller holds
 * @sk: the socket
 *
 * Return: the attachment (release it with qktls_sock_put()), or NULL.
 */
struct qktls_sock *qktls_sock_get_sk(struct sock *sk)
{
	struct qktls_sock *qs;

	qs = qktls_sock_get(qktls_net(sock_net(sk)), qktls_sk_cookie(sk));
	if (qs && qs->sk != sk) {
		qktls_sock_put(qs);
		qs = NULL;
	}
	return qs;
}

/**
 * qktls_sock_detach() - forget an attachment and wipe its secrets
 * @qs: the attachment, referenced by the caller
 *
 * A rekey in progress finishes first.
 *
 * Return: 0, or -ENOENT if it was detached meanwhile.
 */
int qktls_sock_detach(struct qktls_sock *qs)
{
	struct qktls_net *qn = qs->qn;
	LIST_HEAD(gone);
	int err = -ENOENT;

	mutex_lock(&qn->sock_lock);
	if (!hlist_unhashed(&qs->hnode)) {
		qktls_sock_unlink(qs, &gone);
		err = 0;
	}
	mutex_unlock(&qn->sock_lock);
	qktls_sock_release_list(&gone);
	return err;
}

/**
 * qktls_socks_reap() - release the attachments of closed sockets
 * @qn: the namespace's state
 */
void qktls_socks_reap(struct qktls_net *qn)
{
	struct qktls_sock *qs, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&qn->sock_lock);
	list_for_each_entry_safe(qs, tmp, &qn->socks, list)
		if (sock_flag(qs->sk, SOCK_DEAD))
			qktls_sock_unlink(qs, &gone);
	mutex_unlock(&qn->sock_lock);
	qktls_sock_release_list(&gone);
}

/**
 * qktls_sock_tx_due() - must TX be rekeyed before the next byte?
 * @qs: the attachment; the caller holds @qs->tx_io
 *
 * Return: true if the policy (bytes, records, seconds, the AEAD's record
 * limit) is due or the peer asked for an update.
 */
bool qktls_sock_tx_due(struct qktls_sock *qs)
{
	u64 records, now = get_jiffies_64();
	bool due;

	if (!qktls_have_ktls_rekey())
		return false;
	records = qktls_sk_tx_records(qs->sk);
	spin_lock_bh(&qs->lock);
	due = READ_ONCE(qs->tx_update_requested) ||
	      qktls_sock_due(qs, qs->tx_bytes, records, now);
	spin_unlock_bh(&qs->lock);
	return due;
}

/**
 * qktls_sock_tx_budget() - bytes the current TX key may still carry
 * @qs: the attachment; the caller holds @qs->tx_io
 *
 * A key may carry rekey_bytes, and rekey_records records of at most 2^14
 * bytes each; kTLS may cut smaller records, so the record limit is checked
 * again before every chunk.
 *
 * Return: the budget, U64_MAX for none.
 */
u64 qktls_sock_tx_budget(struct qktls_sock *qs)
{
	u64 budget = U64_MAX, records;

	if (!qktls_have_ktls_rekey())
		return budget;
	if (qs->rekey_bytes)
		budget = qs->rekey_bytes > qs->tx_bytes ?
			 qs->rekey_bytes - qs->tx_bytes : 1;
	if (qs->rekey_records) {
		records = qktls_sk_tx_records(qs->sk);
		records = qs->rekey_records > records ?
			  qs->rekey_records - records : 1;
		if (records < budget >> 14)
			budget = records << 14;
	}
	return budget;
}

/**
 * qktls_sock_tx_sent() - count bytes a writer sent
 * @qs: the attachment
 * @bytes: plaintext bytes kTLS took
 */
void qktls_sock_tx_sent(struct qktls_sock *qs, size_t bytes)
{
	spin_lock_bh(&qs->lock);
	qs->tx_bytes += bytes;
	spin_unlock_bh(&qs->lock);
}

/* Is TX due by the policy?  qs->lock held. */
static bool qktls_sock_due(struct qktls_sock *qs, u64 tx_bytes,
			   u64 tx_records, u64 now)
{
	return (qs->rekey_bytes && tx_bytes >= qs->rekey_bytes) ||
	       (qs->rekey_records && tx_records >= qs->rekey_records) ||
	       (qs->rekey_seconds &&
		now - qs->tx_key_since >= (u64)qs->rekey_seconds * HZ);
}

/**
 * qktls_sock_snapshot() - counters and policy state of an attachment
 * @qs: the attachment
 * @si: the snapshot
 */
void qktls_sock_snapshot(struct qktls_sock *qs, struct qktls_sock_info *si)
{
	u64 now = get_jiffies_64();

	si->tx_records = qktls_sk_tx_records(qs->sk);
	spin_lock_bh(&qs->lock);
	si->stats = qs->stats;
	si->tx_bytes = qs->tx_bytes;
	si->tx_key_age_ms = jiffies64_to_msecs(now - qs->tx_key_since);
	si->due = qktls_sock_due(qs, si->tx_bytes, si->tx_records, now);
	spin_unlock_bh(&qs->lock);
}

/* The policy check of one attachment: does it get a DUE event now? */
static bool qktls_sock_policy(struct qktls_sock *qs, u64 now)
{
	u64 tx_records = qktls_sk_tx_records(qs->sk);
	u64 period = qs->rekey_seconds ? (u64)qs->rekey_seconds * HZ :
			QKTLS_DUE_REPEAT;
	bool ntf = false;

	spin_lock_bh(&qs->lock);
	if (!qktls_sock_due(qs, qs->tx_bytes, tx_records, now)) {
		qs->due_since = 0;
	} else if (!qs->due_since) {
		qs->due_since = now;
		qs->due_last_ntf = now;
		qs->stats.rekeys_due++;
		ntf = true;
	} else if (now - qs->due_last_ntf >= period) {
		qs->due_last_ntf = now;
		qs->stats.rekeys_overdue++;
		ntf = true;
	}
	spin_unlock_bh(&qs->lock);
	return ntf;
}

static void qktls_socks_work(struct work_struct *work)
{
	struct qktls_net *qn = container_of(to_delayed_work(work),
					    struct qktls_net, sock_work);
	u64 now = get_jiffies_64();
	struct qktls_sock *qs;

	qktls_socks_reap(qn);
	mutex_lock(&qn->sock_lock);
	list_for_each_entry(qs, &qn->socks, list)
		if (qktls_sock_policy(qs, now))
			qktls_nl_sock_event(qs, QKTLS_CMD_SOCK_REKEY_DUE_NTF,
					    NULL, 0);
	if (qn->n_socks)
		qktls_sock_arm(qn);
	mutex_unlock(&qn->sock_lock);
}

/**
 * qktls_socks_net_init() - set up the attachments of a namespace
 * @qn: the namespace's state
 */
void qktls_socks_net_init(struct qktls_net *qn)
{
	mutex_init(&qn->sock_lock);
	INIT_LIST_HEAD(&qn->socks);
	hash_init(qn->sock_ids);
	INIT_DELAYED_WORK(&qn->sock_work, qktls_socks_work);
}

/**
 * qktls_socks_net_exit() - wipe and release every attachment of a namespace
 * @qn: the namespace's state
 */
void qktls_socks_net_exit(struct qktls_net *qn)
{
	struct qktls_sock *qs, *tmp;
	LIST_HEAD(gone);

	cancel_delayed_work_sync(&qn->sock_work);
	mutex_lock(&qn->sock_lock);
	list_for_each_entry_safe(qs, tmp, &qn->socks, list)
		qktls_sock_unlink(qs, &gone);
	mutex_unlock(&qn->sock_lock);
	qktls_sock_release_list(&gone);
	mutex_destroy(&qn->sock_lock);
}

/**
 * qktls_sock_init() - the cache of attachments
 *
 * Return: 0 or -ENOMEM.
 */
int qktls_sock_init(void)
{
	qktls_sock_cache = kmem_cache_create("qktls_sock",
					     sizeof(struct qktls_sock), 0,
					     SLAB_NO_MERGE, NULL);
	return qktls_sock_cache ? 0 : -ENOMEM;
}

/**
 * qktls_sock_exit() - free the cache; every attachment is gone by now
 */
void qktls_sock_exit(void)
{
	WARN_ON(atomic_read(&qktls_n_socks));
	rcu_barrier();	/* qktls_sock_free_rcu() */
	qktls_hook_exit();
	kmem_cache_destroy(qktls_sock_cache);
}
