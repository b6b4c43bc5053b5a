// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: rekey one direction of an attached socket.
 *
 * TX (in a writer's call, tx.c, or on QKTLS_CMD_SOCK_REKEY): the QKD key
 * reference record (if QKD) and the KeyUpdate record go out under the old
 * key through kTLS's own sendmsg with a TLS_SET_RECORD_TYPE control
 * message, then the new key is installed with kTLS's own
 * setsockopt(SOL_TLS, TLS_TX), which on Linux 6.14 and later is a rekey.
 * Nothing is sent before the next secret and its key are derived, and the
 * key does not change unless both records went out; if kTLS then refuses
 * the key, TX is unusable (the peer expects the new key) and every write
 * fails.
 *
 * RX (in a reader's call, rx.c): the reader consumed the peer's KeyUpdate
 * (kTLS refuses reads with EKEYEXPIRED until the new key is set); the next
 * secret is derived, from the QKD key the peer named if it named one, and
 * installed with setsockopt(SOL_TLS, TLS_RX).  A key the RX pool does not
 * hold changes nothing, so no record is ever accepted under a key the peer
 * does not have.
 *
 * Keys reach kTLS through the installer (install.c): never through the
 * memory of a process.  Everything that held a key or a secret is wiped on
 * every path.
 */

#include <crypto/hash.h>
#include <linux/jiffies.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/uio.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "hook.h"
#include "install.h"
#include "kdf.h"
#include "netlink.h"
#include "pool.h"
#include "sock.h"

#define QKTLS_RECORD_HANDSHAKE	22
#define QKTLS_HS_KEY_UPDATE	24

/* kTLS's operations of the socket, under the module's hooks. */
static const struct proto *qktls_base(struct qktls_sock *qs)
{
	return qs->hook ? qs->hook->base_prot : READ_ONCE(qs->sk->sk_prot);
}

/*
 * Send @len bytes of @buf as one record of type @type through kTLS's own
 * sendmsg (the socket's, the module's hooks, would take tx_io again).
 */
static int qktls_send_record(struct qktls_sock *qs, u8 type, void *buf,
			     size_t len)
{
	union {
		struct cmsghdr hdr;
		u8 buf[CMSG_SPACE(sizeof(u8))];
	} cmsg = {};
	struct msghdr msg = {
		.msg_control = &cmsg,
		.msg_controllen = sizeof(cmsg),
		.msg_flags = MSG_NOSIGNAL,
	};
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	int ret;

	cmsg.hdr.cmsg_level = SOL_TLS;
	cmsg.hdr.cmsg_type = TLS_SET_RECORD_TYPE;
	cmsg.hdr.cmsg_len = CMSG_LEN(sizeof(u8));
	*(u8 *)CMSG_DATA(&cmsg.hdr) = type;

	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &vec, 1, len);
	ret = qktls_base(qs)->sendmsg(qs->sk, &msg, len);
	if (ret == -ERESTARTSYS)
		ret = -EINTR;
	if (ret >= 0 && ret != len)
		ret = -EIO;	/* kTLS takes a record whole or not at all */
	return ret < 0 ? ret : 0;
}

/* The QKD key reference record, then the KeyUpdate record. */
static int qktls_send_update(struct qktls_sock *qs, const u8 *ref,
			     bool update_requested)
{
	u8 msg[4 + QKTLS_KEY_ID_LEN];
	int err;

	if (ref) {
		msg[0] = QKTLS_HS_QKD_KEY_REF;
		msg[1] = 0;
		msg[2] = 0;
		msg[3] = QKTLS_KEY_ID_LEN;
		memcpy(msg + 4, ref, QKTLS_KEY_ID_LEN);
		err = qktls_send_record(qs, QKTLS_RECORD_HANDSHAKE, msg,
					sizeof(msg));
		if (err)
			return err;
	}
	msg[0] = QKTLS_HS_KEY_UPDATE;
	msg[1] = 0;
	msg[2] = 0;
	msg[3] = 1;
	msg[4] = update_requested;
	err = qktls_send_record(qs, QKTLS_RECORD_HANDSHAKE, msg, 5);
	/*
	 * The peer holds a pending reference whose KeyUpdate never came; a
	 * second reference would be a protocol error.  TX is over.
	 */
	if (err && ref)
		WRITE_ONCE(qs->tx_err, -EPROTO);
	return err;
}

static void qktls_rehook(void *qs)
{
	qktls_hook_rehook(qs);
}

/*
 * Hand kTLS the new key of @optname; the installer hooks the socket again
 * at once, since kTLS gave it back its own operations.
 */
static int qktls_install_key(struct qktls_sock *qs, int optname,
			     union qktls_crypto_info *ci, unsigned int len)
{
	return qktls_install(qs->sk, qktls_base(qs), optname, ci, len,
			     qktls_rehook, qs);
}

/* A QKD rekey a caller asked for: within the socket's and the pool's limit. */
static int qktls_rekey_charge(struct qktls_sock *qs,
			      struct netlink_ext_ack *extack)
{
	bool ok;

	spin_lock_bh(&qs->lock);
	ok = qktls_bucket_take(&qs->qkd_requests,
			       READ_ONCE(qktls_sock_qkd_rekeys_per_min),
			       READ_ONCE(qktls_sock_qkd_rekey_burst));
	spin_unlock_bh(&qs->lock);
	if (!ok) {
		NL_SET_ERR_MSG_FMT(extack,
				   "socket over sock_qkd_rekeys_per_min (%u), burst %u",
				   READ_ONCE(qktls_sock_qkd_rekeys_per_min),
				   READ_ONCE(qktls_sock_qkd_rekey_burst));
		return -EBUSY;
	}
	return qktls_pool_charge_request(qs->tx_pool, extack);
}

/* Take the QKD key of this rekey: the oldest of TX, the named one of RX. */
static int qktls_rekey_take(struct qktls_sock *qs, struct qktls_rekey_req *req,
			    struct qktls_key *key,
			    struct netlink_ext_ack *extack)
{
	bool tx = req->dir == QKTLS_SOCK_DIR_TX;
	struct qktls_pool *pool = tx ? qs->tx_pool : qs->rx_pool;

	if (!qs->qkd_update) {
		NL_SET_ERR_MSG(extack,
			       "the peer did not negotiate the QKD key update");
		return -EOPNOTSUPP;
	}
	if (!pool) {
		if (tx)
			NL_SET_ERR_MSG(extack, "the socket has no TX pool");
		else
			NL_SET_ERR_MSG(extack, "the socket has no RX pool");
		return -ENOKEY;
	}
	if (req->requested) {
		int err = qktls_rekey_charge(qs, extack);

		if (err)
			return err;
	}
	if (qktls_pool_take(pool, tx ? NULL : req->ref, key)) {
		if (tx)
			NL_SET_ERR_MSG(extack,
				       "the TX pool is empty (or was deleted)");
		else
			NL_SET_ERR_MSG(extack,
				       "the RX pool holds no key with this ID");
		return -ENOKEY;
	}
	memcpy(req->used_ref, key->id, QKTLS_KEY_ID_LEN);
	req->used_qkd = true;
	return 0;
}

static void qktls_rekey_count(struct qktls_sock *qs,
			      const struct qktls_rekey_req *req, int err)
{
	bool tx = req->dir == QKTLS_SOCK_DIR_TX;

	spin_lock_bh(&qs->lock);
	if (req->used_qkd)
		qs->stats.keys_used++;
	if (err) {
		qs->stats.rekey_errors++;
		qs->stats.last_error = -err;
	} else if (tx) {
		qs->stats.tx_rekeys++;
		qs->stats.tx_qkd_rekeys += req->used_qkd;
		qs->tx_bytes = 0;
		qs->tx_key_since = get_jiffies_64();
		qs->due_since = 0;
		qs->tx_update_requested = false;
	} else {
		qs->stats.rx_rekeys++;
		qs->stats.rx_qkd_rekeys += req->used_qkd;
	}
	spin_unlock_bh(&qs->lock);
}

static int __qktls_sock_rekey(struct qktls_sock *qs,
			      struct qktls_rekey_req *req, u8 *secret,
			      struct netlink_ext_ack *extack)
{
	const struct qktls_suite *suite = qs->suite;
	bool tx = req->dir == QKTLS_SOCK_DIR_TX;
	u8 next[QKTLS_SECRET_MAX_LEN];
	union qktls_crypto_info ci;
	struct qktls_key key;
	struct crypto_shash *tfm;
	bool qkd;
	int err;

	qkd = tx ? req->flags & QKTLS_REKEY_QKD : !!req->ref;
	memset(&key, 0, sizeof(key));
	/* A writer that does not wait gets -EAGAIN before a key is taken. */
	if (tx && req->nonblock && !sk_stream_memory_free(qs->sk)) {
		if (qs->sk->sk_socket)
			set_bit(SOCK_NOSPACE, &qs->sk->sk_socket->flags);
		return -EAGAIN;
	}
	if (qkd) {
		err = qktls_rekey_take(qs, req, &key, extack);
		if (err)
			return err;
	}
	tfm = qktls_kdf_alloc(suite);
	if (IS_ERR(tfm)) {
		err = PTR_ERR(tfm);
		NL_SET_ERR_MSG_FMT(extack, "no %s in the kernel", suite->hmac);
		goto out_key;
	}
	err = qkd ? qktls_next_secret_qkd(tfm, suite, secret, key.material,
					  key.len, next) :
		    qktls_next_secret(tfm, suite, secret, next);
	if (!err)
		err = qktls_crypto_info(tfm, suite, next, &ci);
	qktls_kdf_free(tfm);
	if (err) {
		NL_SET_ERR_MSG(extack, "key derivation failed");
		goto out_next;
	}

	if (tx) {
		err = qktls_send_update(qs, qkd ? key.id : NULL,
					req->flags & QKTLS_REKEY_REQUEST_UPDATE);
		if (err) {
			NL_SET_ERR_MSG(extack,
				       "sending the key update records failed; the TX key is unchanged");
			goto out_ci;
		}
	}
	err = qktls_install_key(qs, tx ? TLS_TX : TLS_RX, &ci, suite->info_len);
	if (err) {
		if (tx) {
			/* The peer switches keys: nothing may follow. */
			WRITE_ONCE(qs->tx_err, -EPROTO);
			NL_SET_ERR_MSG(extack,
				       "kTLS refused the new TX key (the KeyUpdate went out)");
		} else {
			NL_SET_ERR_MSG(extack, "kTLS refused the new RX key");
		}
		goto out_ci;
	}
	memcpy(secret, next, suite->hash_len);
out_ci:
	memzero_explicit(&ci, sizeof(ci));
out_next:
	memzero_explicit(next, sizeof(next));
out_key:
	qktls_key_wipe(&key);
	return err;
}

/**
 * qktls_sock_rekey_locked() - rekey one direction of an attached socket
 * @qs: the attachment, referenced
 * @req: the direction, flags and (RX) key reference; on return, the QKD
 *	key used
 * @extack: error messages, or NULL
 *
 * TX: the caller holds @qs->tx_io, so no other writer's data comes between
 * the key update records and the new key.  RX: the caller holds
 * @qs->rx.lock.  May sleep (sending the records can wait for send buffer
 * space, as a write would, unless @req->nonblock).  Counts the result and
 * sends QKTLS_CMD_SOCK_REKEY_NTF, success or not.
 *
 * Return: 0, -EOPNOTSUPP (no kTLS rekey in this kernel; QKD update not
 * negotiated), -ENOKEY (no pool, TX pool empty, RX pool without the key),
 * -ENOENT (detached meanwhile), -EAGAIN (@req->nonblock and no send buffer
 * space), -EBUSY (@req->requested: over a rate limit), or the error of
 * sending the records or of kTLS's setsockopt().
 */
int qktls_sock_rekey_locked(struct qktls_sock *qs, struct qktls_rekey_req *req,
			    struct netlink_ext_ack *extack)
{
	bool tx = req->dir == QKTLS_SOCK_DIR_TX;
	struct qktls_sock_key *key = tx ? &qs->tx : &qs->rx;
	int err;

	req->used_qkd = false;
	if (!qktls_have_ktls_rekey()) {
		NL_SET_ERR_MSG(extack,
			       "kernel has no kTLS rekey (needs Linux 6.14 or later)");
		err = -EOPNOTSUPP;
		goto out;
	}
	/* One lock per direction: a TX rekey waiting for send buffer space
	 * must not hold up the RX rekey whose reads would free the peer's.
	 */
	if (tx)
		mutex_lock(&key->lock);
	else
		lockdep_assert_held(&key->lock);
	if (key->detached) {
		NL_SET_ERR_MSG(extack, "the socket is not attached");
		err = -ENOENT;
	} else {
		err = __qktls_sock_rekey(qs, req, key->secret, extack);
	}
	if (tx)
		mutex_unlock(&key->lock);
out:
	if (err == -EAGAIN)
		return err;	/* nothing happened; the writer comes back */
	qktls_rekey_count(qs, req, err);
	qktls_nl_sock_event(qs, QKTLS_CMD_SOCK_REKEY_NTF, req, err);
	return err;
}

/**
 * qktls_sock_rekey() - rekey TX now, for QKTLS_CMD_SOCK_REKEY
 * @qs: the attachment, referenced; the caller holds the socket's file
 * @req: TX and flags; on return, the QKD key used
 * @extack: error messages
 *
 * Waits for the socket's writers, so the update is ordered with their
 * data.  RX follows the peer inside the reads (rx.c) and is refused here.
 *
 * Return: as qktls_sock_rekey_locked(), -EINVAL for RX, -EINTR if a
 * signal came while waiting for the writers.
 */
int qktls_sock_rekey(struct qktls_sock *qs, struct qktls_rekey_req *req,
		     struct netlink_ext_ack *extack)
{
	int err;

	if (req->dir != QKTLS_SOCK_DIR_TX) {
		NL_SET_ERR_MSG(extack,
			       "the module follows the peer's key updates inside the reads");
		return -EINVAL;
	}
	if (mutex_lock_interruptible(&qs->tx_io))
		return -EINTR;
	err = READ_ONCE(qs->tx_err);
	if (err)
		NL_SET_ERR_MSG(extack, "TX of the socket is unusable");
	else
		err = qktls_sock_rekey_locked(qs, req, extack);
	mutex_unlock(&qs->tx_io);
	return err;
}
