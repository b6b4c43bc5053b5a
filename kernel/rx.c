// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: RX of an attached socket, inside the reader's own call.
 *
 * kTLS hands a record that is not application data only to a reader that
 * asked for its type in a control message; any other read fails with -EIO
 * (splice with -EINVAL) and leaves the record queued, its bytes never
 * copied to the reader.  So reads go to kTLS without a control buffer, and
 * when one stops at such a record the module reads it into its own memory
 * and acts on it: a QKD key reference is kept for the KeyUpdate that must
 * follow, a KeyUpdate installs the next RX key (kTLS refuses reads with
 * -EKEYEXPIRED until then), a NewSessionTicket is dropped, close_notify
 * ends the stream, any other alert or a malformed record ends reads with
 * an error.  Then the read goes on.  Readers that find kTLS waiting for a
 * key another reader is installing wait for that reader.
 */

#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tls.h>
#include <net/tls_prot.h>

#include "sock.h"

#define QKTLS_HS_NEW_SESSION_TICKET	4
#define QKTLS_HS_KEY_UPDATE		24
#define QKTLS_ALERT_CLOSE_NOTIFY	0
#define QKTLS_ALERT_USER_CANCELED	90
#define QKTLS_RECORD_MAX		16384	/* 2^14, TLSPlaintext */

/* Make RX unusable: every read fails with @err from now on. */
static int qktls_rx_fail(struct qktls_sock *qs, int err)
{
	spin_lock_bh(&qs->lock);
	qs->stats.rx_errors++;
	qs->stats.last_error = -err;
	spin_unlock_bh(&qs->lock);
	WRITE_ONCE(qs->rx_err, err);
	return err;
}

/**
 * qktls_rx_state() - may the socket be read?
 * @qs: the attachment
 *
 * Return: 1 if so, 0 after the peer's close_notify, or the error that made
 * RX unusable.
 */
int qktls_rx_state(struct qktls_sock *qs)
{
	int err = READ_ONCE(qs->rx_err);

	if (err)
		return err;
	return READ_ONCE(qs->rx_eof) ? 0 : 1;
}

/* The peer's KeyUpdate: the next RX key, from the QKD key it named. */
static int qktls_rx_key_update(struct qktls_sock *qs, bool requested)
{
	struct qktls_rekey_req req = { .dir = QKTLS_SOCK_DIR_RX };
	int err;

	if (qs->rx_ref_set)
		req.ref = qs->rx_ref;
	/* "required": the peer's updates mix in a QKD key too. */
	if (!req.ref && qs->qkd_policy == QKTLS_QKD_REQUIRED)
		return qktls_rx_fail(qs, -EPROTO);
	err = qktls_sock_rekey_locked(qs, &req, NULL);
	qs->rx_ref_set = false;
	memzero_explicit(qs->rx_ref, sizeof(qs->rx_ref));
	if (err)
		return qktls_rx_fail(qs, err);
	if (requested) {
		spin_lock_bh(&qs->lock);
		qs->stats.updates_requested++;
		spin_unlock_bh(&qs->lock);
		/* RFC 8446 4.6.3: ours goes before our next data. */
		WRITE_ONCE(qs->tx_update_requested, true);
	}
	return 0;
}

/* The handshake messages of one record, each whole in it. */
static int qktls_rx_handshake(struct qktls_sock *qs, const u8 *buf, size_t n)
{
	size_t off = 0;
	int err = 0;

	if (!n)
		return qktls_rx_fail(qs, -EPROTO);
	while (!err && off < n) {
		size_t len;
		u8 type;

		if (n - off < 4)
			return qktls_rx_fail(qs, -EPROTO);
		type = buf[off];
		len = buf[off + 1] << 16 | buf[off + 2] << 8 | buf[off + 3];
		if (len > n - off - 4)
			return qktls_rx_fail(qs, -EPROTO);
		switch (type) {
		case QKTLS_HS_NEW_SESSION_TICKET:
			/* No resumption: a ticket is of no use. */
			spin_lock_bh(&qs->lock);
			qs->stats.tickets_dropped++;
			spin_unlock_bh(&qs->lock);
			break;
		case QKTLS_HS_QKD_KEY_REF:
			/* One reference, then its KeyUpdate. */
			if (len != QKTLS_KEY_ID_LEN || !qs->qkd_update ||
			    qs->rx_ref_set)
				return qktls_rx_fail(qs, -EPROTO);
			memcpy(qs->rx_ref, buf + off + 4, QKTLS_KEY_ID_LEN);
			qs->rx_ref_set = true;
			break;
		case QKTLS_HS_KEY_UPDATE:
			/*
			 * kTLS stops at a record that starts with a
			 * KeyUpdate, so it must be the record's only message
			 * (RFC 8446 5.1: it ends its record).
			 */
			if (off || len != 1 || n != 5 || buf[4] > 1)
				return qktls_rx_fail(qs, -EPROTO);
			err = qktls_rx_key_update(qs, buf[4]);
			break;
		default:
			return qktls_rx_fail(qs, -EPROTO);
		}
		off += 4 + len;
	}
	return err;
}

static int qktls_rx_alert(struct qktls_sock *qs, const u8 *buf, size_t n)
{
	if (n != 2)
		return qktls_rx_fail(qs, -EPROTO);
	spin_lock_bh(&qs->lock);
	qs->stats.alerts++;
	spin_unlock_bh(&qs->lock);
	switch (buf[1]) {
	case QKTLS_ALERT_CLOSE_NOTIFY:
		WRITE_ONCE(qs->rx_eof, true);
		return 0;
	case QKTLS_ALERT_USER_CANCELED:	/* close_notify follows */
		return 0;
	default:
		return qktls_rx_fail(qs, -ECONNRESET);
	}
}

/*
 * Read the record at the head of kTLS's queue into @buf: its type in
 * @type, its length (or an error) returned.  @peek reads one byte, leaving
 * the record queued.
 */
static int qktls_rx_read(struct qktls_sock *qs, const struct proto *base,
			 u8 *buf, size_t len, bool peek, u8 *type)
{
	union {
		struct cmsghdr hdr;
		u8 buf[CMSG_SPACE(sizeof(u8))];
	} cmsg = {};
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_control = &cmsg,
		.msg_controllen = sizeof(cmsg),
	};
	int ret;

	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &vec, 1, len);
	ret = qktls_base_recvmsg(base, qs->sk, &msg, len,
				 MSG_DONTWAIT | (peek ? MSG_PEEK : 0));
	if (ret <= 0)
		return ret;
	if (cmsg.hdr.cmsg_level != SOL_TLS ||
	    cmsg.hdr.cmsg_type != TLS_GET_RECORD_TYPE)
		return -EPROTO;
	*type = *(u8 *)CMSG_DATA(&cmsg.hdr);
	return ret;
}

/**
 * qktls_rx_consume() - act on the non-data record kTLS stopped a read at
 * @qs: the attachment
 * @base: kTLS's operations of the socket
 * @nonblock: the reader does not wait
 *
 * Return: 1 if the read should be tried again (a record was consumed, or
 * another reader consumed it first), 0 if there is no such record (the
 * read's error stands), or a negative errno.
 */
int qktls_rx_consume(struct qktls_sock *qs, const struct proto *base,
		     bool nonblock)
{
	u8 first, type = 0, type2 = 0;
	u8 *buf;
	int ret;

	mutex_lock(&qs->rx.lock);
	if (qs->rx.detached) {
		ret = 1;	/* plain kTLS from now on */
		goto out;
	}
	ret = qktls_rx_read(qs, base, &first, 1, true, &type);
	if (ret == -EAGAIN || !ret) {
		ret = 0;
		goto out;
	}
	if (ret < 0)
		goto out;
	if (type == TLS_RECORD_TYPE_DATA) {
		ret = 1;
		goto out;
	}
	buf = kmalloc(QKTLS_RECORD_MAX, GFP_KERNEL);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	ret = qktls_rx_read(qs, base, buf, QKTLS_RECORD_MAX, false, &type2);
	if (ret >= 0 && type2 != type)
		ret = -EPROTO;
	if (ret > 0) {
		switch (type) {
		case TLS_RECORD_TYPE_HANDSHAKE:
			ret = qktls_rx_handshake(qs, buf, ret);
			break;
		case TLS_RECORD_TYPE_ALERT:
			ret = qktls_rx_alert(qs, buf, ret);
			break;
		default:
			ret = qktls_rx_fail(qs, -EPROTO);
		}
		ret = ret ?: 1;
	} else if (!ret) {
		ret = qktls_rx_fail(qs, -EPROTO);
	}
	kfree_sensitive(buf);
out:
	mutex_unlock(&qs->rx.lock);
	return ret;
}

/**
 * qktls_rx_recvmsg() - a read of an attached socket
 * @qs: the attachment, referenced
 * @base: kTLS's operations of the socket
 * @msg: where the data goes
 * @len: its room
 * @flags: MSG_* flags
 *
 * A reader's control buffer gets TLS_GET_RECORD_TYPE, always application
 * data, as kTLS would give it.
 *
 * Return: bytes read, 0 at the end of the stream (close_notify or TCP's
 * end), or a negative errno: -ENOKEY (the peer named a QKD key the RX pool
 * does not hold), -ECONNRESET (the peer sent a fatal alert), -EPROTO (a
 * malformed handshake record), or kTLS's.
 */
int qktls_rx_recvmsg(struct qktls_sock *qs, const struct proto *base,
		     struct msghdr *msg, size_t len, int flags)
{
	void *control = msg->msg_control;
	size_t controllen = msg->msg_controllen;
	bool ctrunc = msg->msg_flags & MSG_CTRUNC;
	u8 type = TLS_RECORD_TYPE_DATA;
	bool waited = false;
	int ret, err;

	if (flags & MSG_ERRQUEUE)
		return qktls_base_recvmsg(base, qs->sk, msg, len, flags);
	for (;;) {
		ret = qktls_rx_state(qs);
		if (ret <= 0)
			return ret;
		msg->msg_control = NULL;
		msg->msg_controllen = 0;
		ret = qktls_base_recvmsg(base, qs->sk, msg, len, flags);
		msg->msg_control = control;
		msg->msg_controllen = controllen;
		if (!ctrunc)
			msg->msg_flags &= ~MSG_CTRUNC;
		if (ret == -EIO) {
			err = qktls_rx_consume(qs, base, flags & MSG_DONTWAIT);
			if (err > 0)
				continue;
			return err ?: ret;
		}
		if (ret == -EKEYEXPIRED && !waited) {
			/* Another reader holds rx.lock while it installs. */
			mutex_lock(&qs->rx.lock);
			mutex_unlock(&qs->rx.lock);
			waited = true;
			continue;
		}
		break;
	}
	if (ret > 0 && control)
		put_cmsg(msg, SOL_TLS, TLS_GET_RECORD_TYPE, sizeof(type), &type);
	return ret;
}
