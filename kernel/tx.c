// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: TX of an attached socket, inside the writer's own call.
 *
 * Every write, send, sendmsg, sendfile and splice to an attached socket
 * reaches kTLS's sendmsg through here (sendfile and splice as
 * MSG_SPLICE_PAGES).  Writers are serialised.  Each first rekeys TX if the
 * policy is due, then hands kTLS at most what the current key may still
 * carry, so the byte count of a key is exact and a large write is split at
 * the limit with the rekey in between: the key update records are ordered
 * with the data around them, and no record goes out under a key the peer
 * does not expect.
 */

#include <linux/uio.h>
#include <net/sock.h>

#include "kdf.h"
#include "netlink.h"
#include "sock.h"

/*
 * Rekey TX by the socket's QKD policy: a QKD update if the peer negotiated
 * it and the policy allows, else a standard one; with the TX pool empty,
 * "preferred" falls back to a standard update and "required" refuses.
 */
static int qktls_tx_rekey(struct qktls_sock *qs, bool nonblock)
{
	struct qktls_rekey_req req = {
		.dir = QKTLS_SOCK_DIR_TX,
		.nonblock = nonblock,
	};
	bool required = qs->qkd_policy == QKTLS_QKD_REQUIRED;
	bool qkd = qs->qkd_update && qs->qkd_policy != QKTLS_QKD_OFF;
	int err;

	if (qkd)
		req.flags |= QKTLS_REKEY_QKD;
	/* "required": never an update without a QKD key. */
	if (required && !qkd) {
		err = -ENOKEY;
		qktls_nl_sock_event(qs, QKTLS_CMD_SOCK_REKEY_NTF, &req, err);
	} else {
		err = qktls_sock_rekey_locked(qs, &req, NULL);
	}
	if (err != -ENOKEY || (!qkd && !required))
		return err;
	spin_lock_bh(&qs->lock);
	if (qs->qkd_policy == QKTLS_QKD_REQUIRED)
		qs->stats.tx_refused++;
	else
		qs->stats.tx_std_fallbacks++;
	spin_unlock_bh(&qs->lock);
	if (qs->qkd_policy == QKTLS_QKD_REQUIRED)
		return err;
	req.flags &= ~QKTLS_REKEY_QKD;
	return qktls_sock_rekey_locked(qs, &req, NULL);
}

/**
 * qktls_tx_sendmsg() - a write to an attached socket
 * @qs: the attachment, referenced
 * @base: kTLS's operations of the socket
 * @msg: the data
 * @size: its length
 *
 * Return: bytes sent, or a negative errno if none were: -ENOKEY if a QKD
 * rekey was due under policy "required" and the TX pool is empty, the
 * error of the rekey, or kTLS's.
 */
int qktls_tx_sendmsg(struct qktls_sock *qs, const struct proto *base,
		     struct msghdr *msg, size_t size)
{
	bool nonblock = msg->msg_flags & MSG_DONTWAIT;
	size_t sent = 0;
	int ret = 0;

	if (mutex_lock_interruptible(&qs->tx_io))
		return -ERESTARTSYS;
	for (;;) {
		size_t left = msg_data_left(msg), chunk = left, consumed;
		u64 budget;

		ret = READ_ONCE(qs->tx_err);
		if (ret)
			break;
		/* Detached meanwhile: plain kTLS from here on, no rekey. */
		if (left && !READ_ONCE(qs->tx.detached) &&
		    qktls_sock_tx_due(qs)) {
			ret = qktls_tx_rekey(qs, nonblock);
			if (ret)
				break;
		}
		budget = qktls_sock_tx_budget(qs);
		if (chunk > budget)
			chunk = budget;
		iov_iter_truncate(&msg->msg_iter, chunk);
		ret = base->sendmsg(qs->sk, msg, chunk);
		consumed = chunk - msg_data_left(msg);
		iov_iter_reexpand(&msg->msg_iter, left - consumed);
		if (ret > 0) {
			sent += ret;
			qktls_sock_tx_sent(qs, ret);
		}
		if (ret < 0 || (size_t)ret < chunk || chunk == left)
			break;
	}
	mutex_unlock(&qs->tx_io);
	return sent ?: ret;	/* at most MAX_RW_COUNT */
}
