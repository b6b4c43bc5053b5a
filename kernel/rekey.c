// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: rekey one direction of an attached socket.
 *
 * TX: the QKD key reference record (if QKD) and the KeyUpdate record go out
 * under the old key through kTLS itself (kernel_sendmsg() with a
 * TLS_SET_RECORD_TYPE control message), then the new key is installed with
 * kTLS's own setsockopt(SOL_TLS, TLS_TX), which on Linux 6.14 and later is
 * a rekey.  Nothing is sent before the next secret and its key are
 * derived, and the key does not change unless both records went out.
 *
 * RX: the application read the peer's KeyUpdate (kTLS then refuses reads
 * with EKEYEXPIRED); the next secret is derived, from the QKD key the peer
 * named if it named one, and installed with setsockopt(SOL_TLS, TLS_RX).
 * A key the RX pool does not hold changes nothing, so no record is ever
 * accepted under a key the peer does not have.
 *
 * Everything that held a key or a secret is wiped on every path.
 */

#include <crypto/hash.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "kdf.h"
#include "netlink.h"
#include "pool.h"
#include "sock.h"

#define QKTLS_RECORD_HANDSHAKE	22
#define QKTLS_HS_KEY_UPDATE	24

/* Send @len bytes of @buf as one record of type @type through kTLS. */
static int qktls_send_record(struct sock *sk, u8 type, void *buf, size_t len)
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

	ret = kernel_sendmsg(sk->sk_socket, &msg, &vec, 1, len);
	if (ret == -ERESTARTSYS)
		ret = -EINTR;
	if (ret >= 0 && ret != len)
		ret = -EIO;	/* kTLS takes a record whole or not at all */
	return ret < 0 ? ret : 0;
}

/* The QKD key reference record, then the KeyUpdate record. */
static int qktls_send_update(struct sock *sk, const u8 *ref,
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
		err = qktls_send_record(sk, QKTLS_RECORD_HANDSHAKE, msg,
					sizeof(msg));
		if (err)
			return err;
	}
	msg[0] = QKTLS_HS_KEY_UPDATE;
	msg[1] = 0;
	msg[2] = 0;
	msg[3] = 1;
	msg[4] = update_requested;
	return qktls_send_record(sk, QKTLS_RECORD_HANDSHAKE, msg, 5);
}

/**
 * qktls_install() - install @ci as the key of @optname, a kTLS rekey
 * @sk: the socket
 * @optname: TLS_TX or TLS_RX
 * @ci: the crypto_info
 * @len: its size
 *
 * Through kTLS's own setsockopt(SOL_TLS), as userspace does it.  The
 * crypto_info goes through a user page of the calling process that lives
 * for this call only and is cleared before it is unmapped: kTLS copies a
 * rekey's crypto_info with copy_from_sockptr_offset() into a stack
 * variable, and with a kernel sockptr that memcpy() trips FORTIFY_SOURCE's
 * field-spanning write warning (Linux 6.14 to at least 7.3), where a user
 * sockptr takes copy_from_user().  The page holds the key and IV of the
 * new epoch of this one socket (never a traffic secret or a QKD key), in
 * the address space of the thread that asked for the rekey and already
 * reads or writes that socket's plaintext, for the length of the call.
 *
 * Return: 0 or a negative errno.
 */
static int qktls_install(struct sock *sk, int optname,
			 union qktls_crypto_info *ci, unsigned int len)
{
	struct proto *prot = READ_ONCE(sk->sk_prot);
	void __user *page;
	unsigned long addr;
	int err;

	if (!current->mm)
		return -EOPNOTSUPP;
	addr = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr))
		return (int)addr;
	page = (void __user *)addr;
	if (copy_to_user(page, ci, len))
		err = -EFAULT;
	else
		err = prot->setsockopt(sk, SOL_TLS, optname,
				       USER_SOCKPTR(page), len);
	if (clear_user(page, len) && !err)
		err = -EFAULT;
	vm_munmap(addr, PAGE_SIZE);
	return err;
}

/* Take the QKD key of this rekey: the oldest of TX, the named one of RX. */
static int qktls_rekey_take(struct qktls_sock *qs, struct qktls_rekey_req *req,
			    struct qktls_taken_key *key,
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
		qs->tx_bytes_base = READ_ONCE(tcp_sk(qs->sk)->bytes_sent);
		qs->tx_key_since = get_jiffies_64();
		qs->due_since = 0;
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
	struct qktls_taken_key key;
	struct crypto_shash *tfm;
	bool qkd;
	int err;

	qkd = tx ? req->flags & QKTLS_REKEY_QKD : !!req->ref;
	memset(&key, 0, sizeof(key));
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
		err = qktls_send_update(qs->sk, qkd ? key.id : NULL,
					req->flags & QKTLS_REKEY_REQUEST_UPDATE);
		if (err) {
			NL_SET_ERR_MSG(extack,
				       "sending the key update records failed; the TX key is unchanged");
			goto out_ci;
		}
	}
	err = qktls_install(qs->sk, tx ? TLS_TX : TLS_RX, &ci, suite->info_len);
	if (err) {
		if (tx)
			NL_SET_ERR_MSG(extack,
				       "kTLS refused the new TX key (the KeyUpdate went out)");
		else
			NL_SET_ERR_MSG(extack, "kTLS refused the new RX key");
		goto out_ci;
	}
	memcpy(secret, next, suite->hash_len);
out_ci:
	memzero_explicit(&ci, sizeof(ci));
out_next:
	memzero_explicit(next, sizeof(next));
out_key:
	qktls_taken_key_wipe(&key);
	return err;
}

/**
 * qktls_sock_rekey() - rekey one direction of an attached socket
 * @qs: the attachment, referenced; the caller holds the socket's file
 * @req: the direction, flags and (RX) key reference; on return, the QKD
 *	key used
 * @extack: error messages
 *
 * Runs in the caller's thread and may sleep (sending the records can wait
 * for send buffer space, as a write would).  Counts the result and sends
 * QKTLS_CMD_SOCK_REKEY_NTF, success or not.
 *
 * Return: 0, -EOPNOTSUPP (no kTLS rekey in this kernel; QKD update not
 * negotiated), -ENOKEY (no pool, TX pool empty, RX pool without the key),
 * -ENOENT (detached meanwhile), or the error of sending the records or of
 * kTLS's setsockopt().
 */
int qktls_sock_rekey(struct qktls_sock *qs, struct qktls_rekey_req *req,
		     struct netlink_ext_ack *extack)
{
	struct qktls_sock_key *key;
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
	key = req->dir == QKTLS_SOCK_DIR_TX ? &qs->tx : &qs->rx;
	mutex_lock(&key->lock);
	if (key->detached) {
		NL_SET_ERR_MSG(extack, "the socket is not attached");
		err = -ENOENT;
	} else {
		err = __qktls_sock_rekey(qs, req, key->secret, extack);
	}
	mutex_unlock(&key->lock);
out:
	qktls_rekey_count(qs, req, err);
	qktls_nl_sock_event(qs, QKTLS_CMD_SOCK_REKEY_NTF, req, err);
	return err;
}
