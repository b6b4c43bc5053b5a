// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Attached kTLS sockets over the qktls generic netlink family (libnl-genl-3):
 * attach, detach, get, TX rekey.
 *
 * Each request asks for an ack with extended-ack messages (NETLINK_EXT_ACK)
 * and capped acks (NETLINK_CAP_ACK: an error never echoes the request, and
 * an attach request holds traffic secrets).  Replies are read with nl_recv()
 * and walked here, so one request costs one sendmsg and one recvmsg.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/qktls.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <openssl/crypto.h>

#include <qktls/ktls.h>
#include <qktls/sock.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

_Static_assert(QKTLS_QKD_REF_LEN == QKTLS_KEY_ID_LEN, "key reference length");
_Static_assert(QKTLS_SOCK_NAME_MAX >= QKTLS_POOL_NAME_MAX, "pool name length");
_Static_assert(QKTLS_REKEY_QKD == (1U << 0) &&
	       QKTLS_REKEY_REQUEST_UPDATE == (1U << 1), "rekey flags");

struct qktls_nl {
	struct nl_sock *sk;
	int family;
	char err[256];
};

/* What the kernel's final NLMSG_ERROR / NLMSG_DONE said. */
struct nl_outcome {
	int err;			/* 0 or a negative errno */
	char msg[256];			/* extended ack message, or "" */
};

typedef int (*reply_fn)(struct nlattr **tb, void *arg);

int qktls_nl_open(struct qktls_nl **out)
{
	struct qktls_nl *nl;
	int one = 1, ret;

	if (!out)
		return -QKTLS_E_ARG;
	*out = NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		free(nl);
		return -ENOMEM;
	}
	ret = genl_connect(nl->sk);
	if (ret < 0) {
		ret = -EIO;
		goto fail;
	}
	/* Best effort: errors still work without them. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl->family = genl_ctrl_resolve(nl->sk, QKTLS_GENL_NAME);
	if (nl->family < 0) {
		ret = nl->family == -NLE_OBJ_NOTFOUND ? -QKTLS_E_NOMODULE : -EIO;
		goto fail;
	}
	*out = nl;
	return 0;
fail:
	nl_socket_free(nl->sk);
	free(nl);
	return ret;
}

void qktls_nl_close(struct qktls_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

const char *qktls_nl_error(const struct qktls_nl *nl)
{
	return nl ? nl->err : "";
}

static struct nl_msg *request(struct qktls_nl *nl, uint8_t cmd, int fd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 NLM_F_ACK, cmd, QKTLS_GENL_VERSION) ||
	    nla_put_s32(msg, QKTLS_A_SOCK_FD, fd)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Free a request that may hold secrets, wiping its whole buffer. */
static void request_free(struct nl_msg *msg)
{
	OPENSSL_cleanse(nlmsg_hdr(msg), nlmsg_get_max_size(msg));
	nlmsg_free(msg);
}

/* The extended ack message after an NLMSG_ERROR's payload. */
static void extack_msg(const struct nlmsghdr *nlh, struct nl_outcome *o)
{
	const struct nlmsgerr *e = nlmsg_data(nlh);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);
	const char *m;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_HDRLEN + NLMSG_ALIGN(off);
	if (nlh->nlmsg_len <= off ||
	    nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off),
		      nlh->nlmsg_len - off, NULL) < 0 || !tb[NLMSGERR_ATTR_MSG])
		return;
	m = nla_data(tb[NLMSGERR_ATTR_MSG]);
	snprintf(o->msg, sizeof(o->msg), "%.*s",
		 (int)strnlen(m, nla_len(tb[NLMSGERR_ATTR_MSG])), m);
}

/*
 * Send @msg (freed, wiped) and read until its ack or error.  Each reply of
 * the family goes to @fn.  Returns 0, the first error @fn returned, or the
 * kernel's negative errno with @o->msg its message.
 */
static int transact(struct qktls_nl *nl, struct nl_msg *msg, reply_fn fn,
		    void *arg, struct nl_outcome *o)
{
	uint32_t seq;
	int ret, fn_ret = 0;
	bool done = false;

	memset(o, 0, sizeof(*o));
	ret = nl_send_auto(nl->sk, msg);
	seq = nlmsg_hdr(msg)->nlmsg_seq;
	request_free(msg);
	if (ret < 0) {
		snprintf(o->msg, sizeof(o->msg), "cannot send to qktls.ko: %s",
			 nl_geterror(ret));
		return o->err = -EIO;
	}
	while (!done) {
		struct sockaddr_nl peer;
		unsigned char *buf = NULL;
		struct nlmsghdr *h;
		int n = nl_recv(nl->sk, &peer, &buf, NULL);

		if (n <= 0) {
			free(buf);
			if (n == -NLE_INTR || n == 0)
				continue;
			snprintf(o->msg, sizeof(o->msg),
				 "no reply from qktls.ko: %s", nl_geterror(n));
			return o->err = -EIO;
		}
		for (h = (struct nlmsghdr *)buf; nlmsg_ok(h, n) && !done;
		     h = nlmsg_next(h, &n)) {
			struct nlattr *tb[QKTLS_A_MAX + 1];

			if (h->nlmsg_seq != seq)
				continue;	/* late reply to an earlier request */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = nlmsg_data(h);

				o->err = e->error;
				if (e->error)
					extack_msg(h, o);
				done = true;
			} else if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
			} else if (h->nlmsg_type == nl->family && fn) {
				if (genlmsg_parse(h, 0, tb, QKTLS_A_MAX, NULL) < 0)
					ret = -EPROTO;
				else
					ret = fn(tb, arg);
				if (ret < 0 && !fn_ret)
					fn_ret = ret;
			}
		}
		free(buf);
	}
	return o->err ? o->err : fn_ret;
}

static uint64_t attr_uint(const struct nlattr *a)
{
	uint64_t v = 0;

	if (!a)
		return 0;
	switch (nla_len(a)) {
	case 8:
		return nla_get_u64((struct nlattr *)a);
	case 4:
		return nla_get_u32((struct nlattr *)a);
	case 2:
		return nla_get_u16((struct nlattr *)a);
	case 1:
		return nla_get_u8((struct nlattr *)a);
	}
	return v;
}

static void attr_str(const struct nlattr *a, char *out, size_t size)
{
	out[0] = '\0';
	if (a && nla_len(a) > 0)
		snprintf(out, size, "%.*s",
			 (int)strnlen(nla_data(a), nla_len(a)),
			 (const char *)nla_data(a));
}

static int sock_info_cb(struct nlattr **tb, void *arg)
{
	static const int stat_attr[] = {
		QKTLS_SOCK_STATS_A_TX_REKEYS, QKTLS_SOCK_STATS_A_RX_REKEYS,
		QKTLS_SOCK_STATS_A_TX_QKD_REKEYS,
		QKTLS_SOCK_STATS_A_RX_QKD_REKEYS, QKTLS_SOCK_STATS_A_KEYS_USED,
		QKTLS_SOCK_STATS_A_REKEY_ERRORS, QKTLS_SOCK_STATS_A_LAST_ERROR,
		QKTLS_SOCK_STATS_A_REKEYS_DUE,
		QKTLS_SOCK_STATS_A_REKEYS_OVERDUE, QKTLS_SOCK_STATS_A_TX_BYTES,
		QKTLS_SOCK_STATS_A_TX_KEY_AGE_MS, QKTLS_SOCK_STATS_A_TX_RECORDS,
		QKTLS_SOCK_STATS_A_TX_STD_FALLBACKS,
		QKTLS_SOCK_STATS_A_TX_REFUSED,
		QKTLS_SOCK_STATS_A_UPDATES_REQUESTED,
		QKTLS_SOCK_STATS_A_TICKETS_DROPPED, QKTLS_SOCK_STATS_A_ALERTS,
		QKTLS_SOCK_STATS_A_RX_ERRORS,
	};
	struct qktls_sock_info *info = arg;
	struct nlattr *st[QKTLS_SOCK_STATS_A_MAX + 1];
	uint64_t *dst = &info->stats.tx_rekeys;

	_Static_assert(sizeof(struct qktls_sock_stats) ==
		       sizeof(stat_attr) / sizeof(stat_attr[0]) * sizeof(uint64_t),
		       "one field per counter, in stat_attr order");
	if (!info)
		return 0;
	memset(info, 0, sizeof(*info));
	info->id = attr_uint(tb[QKTLS_A_SOCK_ID]);
	attr_str(tb[QKTLS_A_SOCK_LINK], info->link, sizeof(info->link));
	info->suite = attr_uint(tb[QKTLS_A_SOCK_CIPHER]);
	attr_str(tb[QKTLS_A_SOCK_TX_POOL], info->tx_pool, sizeof(info->tx_pool));
	attr_str(tb[QKTLS_A_SOCK_RX_POOL], info->rx_pool, sizeof(info->rx_pool));
	info->qkd_update = tb[QKTLS_A_SOCK_QKD_UPDATE] != NULL;
	info->rekey_due = tb[QKTLS_A_SOCK_REKEY_DUE] != NULL;
	info->rekey_bytes = attr_uint(tb[QKTLS_A_SOCK_REKEY_BYTES]);
	info->rekey_seconds = attr_uint(tb[QKTLS_A_SOCK_REKEY_SECONDS]);
	info->rekey_records = attr_uint(tb[QKTLS_A_SOCK_REKEY_RECORDS]);
	info->qkd_policy = tb[QKTLS_A_SOCK_QKD_POLICY] ?
			   attr_uint(tb[QKTLS_A_SOCK_QKD_POLICY]) :
			   QKTLS_QKD_PREFERRED;
	if (tb[QKTLS_A_SOCK_STATS] &&
	    !nla_parse_nested(st, QKTLS_SOCK_STATS_A_MAX, tb[QKTLS_A_SOCK_STATS],
			      NULL))
		for (size_t i = 0; i < sizeof(stat_attr) / sizeof(stat_attr[0]); i++)
			dst[i] = attr_uint(st[stat_attr[i]]);
	return 0;
}

/*
 * The kernel's errno as a libqktls error, and the message for
 * qktls_nl_error().  EOPNOTSUPP means either "no kTLS rekey" or "no QKD
 * key update negotiated"; the kernel's rekey counters tell which.
 */
static int outcome(struct qktls_nl *nl, int ret, uint8_t cmd,
		   unsigned int flags, const struct nl_outcome *o)
{
	nl->err[0] = '\0';
	if (ret >= 0)
		return ret;
	switch (ret) {
	case -ENOENT:
		if (cmd != QKTLS_CMD_SOCK_ATTACH)
			ret = -QKTLS_E_NOTATTACHED;
		break;
	case -EOPNOTSUPP:
		/* For GET and DETACH: a module without attached sockets. */
		if (cmd != QKTLS_CMD_SOCK_ATTACH && cmd != QKTLS_CMD_SOCK_REKEY)
			break;
		if (qktls_ktls_rekey_supported() != 1)
			ret = -QKTLS_E_NOREKEY;
		else if (cmd == QKTLS_CMD_SOCK_REKEY && (flags & QKTLS_REKEY_QKD))
			ret = -QKTLS_E_NOQKDUPDATE;
		break;
	}
	snprintf(nl->err, sizeof(nl->err), "%s",
		 o->msg[0] ? o->msg : qktls_strerror(ret));
	return ret;
}

static int simple(struct qktls_nl *nl, uint8_t cmd, int fd,
		  struct qktls_sock_info *info)
{
	struct nl_outcome o;
	struct nl_msg *msg;

	if (!nl || fd < 0)
		return -QKTLS_E_ARG;
	msg = request(nl, cmd, fd);
	if (!msg)
		return -ENOMEM;
	return outcome(nl, transact(nl, msg, info ? sock_info_cb : NULL, info,
				    &o), cmd, 0, &o);
}

int qktls_sock_attach(struct qktls_nl *nl, const struct qktls_sock_attach *a,
		      struct qktls_sock_info *info)
{
	struct nl_outcome o;
	struct nl_msg *msg;

	if (!nl || !a || a->fd < 0 || !a->tx_secret || !a->rx_secret ||
	    !a->secret_len || a->secret_len > QKTLS_SECRET_MAX_LEN ||
	    a->qkd_policy > QKTLS_QKD_REQUIRED ||
	    (a->qkd_policy && !a->qkd_policy_set))
		return -QKTLS_E_ARG;
	msg = request(nl, QKTLS_CMD_SOCK_ATTACH, a->fd);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u16(msg, QKTLS_A_SOCK_CIPHER, a->suite) ||
	    nla_put(msg, QKTLS_A_SOCK_TX_SECRET, a->secret_len, a->tx_secret) ||
	    nla_put(msg, QKTLS_A_SOCK_RX_SECRET, a->secret_len, a->rx_secret) ||
	    (a->link && nla_put_string(msg, QKTLS_A_SOCK_LINK, a->link)) ||
	    (a->tx_pool && nla_put_string(msg, QKTLS_A_SOCK_TX_POOL, a->tx_pool)) ||
	    (a->rx_pool && nla_put_string(msg, QKTLS_A_SOCK_RX_POOL, a->rx_pool)) ||
	    (a->qkd_update && nla_put_flag(msg, QKTLS_A_SOCK_QKD_UPDATE)) ||
	    (a->rekey_bytes &&
	     nla_put_u64(msg, QKTLS_A_SOCK_REKEY_BYTES, a->rekey_bytes)) ||
	    (a->rekey_seconds &&
	     nla_put_u32(msg, QKTLS_A_SOCK_REKEY_SECONDS, a->rekey_seconds)) ||
	    (a->rekey_records &&
	     nla_put_u64(msg, QKTLS_A_SOCK_REKEY_RECORDS, a->rekey_records)) ||
	    (a->rekey_required && nla_put_flag(msg, QKTLS_A_SOCK_REKEY_REQUIRED)) ||
	    (a->qkd_policy_set &&
	     nla_put_u8(msg, QKTLS_A_SOCK_QKD_POLICY, a->qkd_policy))) {
		request_free(msg);
		return -ENOMEM;
	}
	return outcome(nl, transact(nl, msg, info ? sock_info_cb : NULL, info,
				    &o), QKTLS_CMD_SOCK_ATTACH, 0, &o);
}

int qktls_sock_detach(struct qktls_nl *nl, int fd)
{
	return simple(nl, QKTLS_CMD_SOCK_DETACH, fd, NULL);
}

int qktls_sock_get(struct qktls_nl *nl, int fd, struct qktls_sock_info *info)
{
	if (!info)
		return -QKTLS_E_ARG;
	return simple(nl, QKTLS_CMD_SOCK_GET, fd, info);
}

struct ref_reply {
	uint8_t ref[QKTLS_KEY_ID_LEN];
	bool set;
};

static int ref_cb(struct nlattr **tb, void *arg)
{
	struct ref_reply *r = arg;
	struct nlattr *a = tb[QKTLS_A_SOCK_KEY_REF];

	if (a && nla_len(a) == QKTLS_KEY_ID_LEN) {
		memcpy(r->ref, nla_data(a), QKTLS_KEY_ID_LEN);
		r->set = true;
	}
	return 0;
}

int qktls_sock_rekey_tx(struct qktls_nl *nl, int fd, unsigned int flags,
			uint8_t ref[QKTLS_QKD_REF_LEN])
{
	struct ref_reply r = { .set = false };
	struct nl_outcome o;
	struct nl_msg *msg;
	int ret;

	if (!nl || fd < 0 || (flags & ~(QKTLS_REKEY_QKD | QKTLS_REKEY_REQUEST_UPDATE)))
		return -QKTLS_E_ARG;
	msg = request(nl, QKTLS_CMD_SOCK_REKEY, fd);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u8(msg, QKTLS_A_SOCK_DIRECTION, QKTLS_SOCK_DIR_TX) ||
	    nla_put_u32(msg, QKTLS_A_SOCK_REKEY_FLAGS, flags)) {
		request_free(msg);
		return -ENOMEM;
	}
	ret = outcome(nl, transact(nl, msg, ref_cb, &r, &o),
		      QKTLS_CMD_SOCK_REKEY, flags, &o);
	if (ret < 0)
		return ret;
	if (r.set && ref)
		memcpy(ref, r.ref, QKTLS_QKD_REF_LEN);
	return r.set ? 1 : 0;
}

/* The module follows the peer's key updates inside reads: nothing to ask. */
int qktls_sock_rekey_rx(struct qktls_nl *nl, int fd,
			const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	(void)ref;
	if (!nl || fd < 0)
		return -QKTLS_E_ARG;
	snprintf(nl->err, sizeof(nl->err), "qktls.ko installs the next RX key "
		 "itself when a read reaches the peer's KeyUpdate; it refuses "
		 "an RX rekey by request");
	return -EINVAL;
}
