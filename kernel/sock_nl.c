// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: the socket commands of the "qktls" generic netlink family
 * (QKTLS_CMD_SOCK_*, documented in uapi/linux/qktls.h).
 *
 * A caller names a socket by a file descriptor of its own (no capability
 * needed: holding the socket is the authority) or by its cookie
 * (CAP_NET_ADMIN over the namespace).  Attaching needs CAP_NET_ADMIN, and
 * the socket must belong to the caller's network namespace, whose pools it
 * uses.  Traffic secrets are copied out of an attach request and then
 * wiped in the request itself, so not even an error acknowledgment that
 * echoes the request carries them back; no reply or event has them.
 */

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/net.h>
#include <linux/string.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "kdf.h"
#include "netlink.h"
#include "pool.h"
#include "sock.h"

/* --- policies -------------------------------------------------------------- */

const struct nla_policy qktls_sock_attach_nl_policy[QKTLS_A_SOCK_QKD_POLICY + 1] = {
	[QKTLS_A_SOCK_FD] = { .type = NLA_S32 },
	[QKTLS_A_SOCK_LINK] = { .type = NLA_NUL_STRING,
				.len = QKTLS_PEER_MAX - 1 },
	/*
	 * The suite and the secrets' exact length are checked by the handler,
	 * which wipes the secrets in the request on every path: a policy
	 * failure would echo them back in the error acknowledgment.
	 */
	[QKTLS_A_SOCK_CIPHER] = { .type = NLA_U16 },
	[QKTLS_A_SOCK_TX_SECRET] = { .type = NLA_BINARY,
				     .len = QKTLS_SECRET_MAX_LEN },
	[QKTLS_A_SOCK_RX_SECRET] = { .type = NLA_BINARY,
				     .len = QKTLS_SECRET_MAX_LEN },
	[QKTLS_A_SOCK_TX_POOL] = { .type = NLA_NUL_STRING,
				   .len = QKTLS_POOL_NAME_MAX - 1 },
	[QKTLS_A_SOCK_RX_POOL] = { .type = NLA_NUL_STRING,
				   .len = QKTLS_POOL_NAME_MAX - 1 },
	[QKTLS_A_SOCK_QKD_UPDATE] = { .type = NLA_FLAG },
	[QKTLS_A_SOCK_REKEY_BYTES] = { .type = NLA_U64 },
	[QKTLS_A_SOCK_REKEY_SECONDS] = { .type = NLA_U32 },
	[QKTLS_A_SOCK_REKEY_REQUIRED] = { .type = NLA_FLAG },
	[QKTLS_A_SOCK_REKEY_RECORDS] = { .type = NLA_U64 },
	[QKTLS_A_SOCK_QKD_POLICY] = NLA_POLICY_MAX(NLA_U8, QKTLS_QKD_REQUIRED),
};

const struct nla_policy qktls_sock_name_nl_policy[QKTLS_A_SOCK_ID + 1] = {
	[QKTLS_A_SOCK_FD] = { .type = NLA_S32 },
	[QKTLS_A_SOCK_ID] = { .type = NLA_U64 },
};

const struct nla_policy qktls_sock_rekey_nl_policy[QKTLS_A_SOCK_KEY_REF + 1] = {
	[QKTLS_A_SOCK_FD] = { .type = NLA_S32 },
	[QKTLS_A_SOCK_DIRECTION] = NLA_POLICY_RANGE(NLA_U8, QKTLS_SOCK_DIR_TX,
						    QKTLS_SOCK_DIR_RX),
	[QKTLS_A_SOCK_REKEY_FLAGS] =
		NLA_POLICY_MASK(NLA_U32, QKTLS_REKEY_QKD |
					 QKTLS_REKEY_REQUEST_UPDATE),
	[QKTLS_A_SOCK_KEY_REF] = NLA_POLICY_EXACT_LEN(QKTLS_KEY_ID_LEN),
};

/* --- messages -------------------------------------------------------------- */

static int qktls_nl_put_sock_stats(struct sk_buff *skb,
				   const struct qktls_sock_info *si)
{
	const struct qktls_sock_stats *s = &si->stats;
	const struct {
		int type;
		u64 val;
	} v[] = {
		{ QKTLS_SOCK_STATS_A_TX_REKEYS, s->tx_rekeys },
		{ QKTLS_SOCK_STATS_A_RX_REKEYS, s->rx_rekeys },
		{ QKTLS_SOCK_STATS_A_TX_QKD_REKEYS, s->tx_qkd_rekeys },
		{ QKTLS_SOCK_STATS_A_RX_QKD_REKEYS, s->rx_qkd_rekeys },
		{ QKTLS_SOCK_STATS_A_KEYS_USED, s->keys_used },
		{ QKTLS_SOCK_STATS_A_REKEY_ERRORS, s->rekey_errors },
		{ QKTLS_SOCK_STATS_A_LAST_ERROR, s->last_error },
		{ QKTLS_SOCK_STATS_A_REKEYS_DUE, s->rekeys_due },
		{ QKTLS_SOCK_STATS_A_REKEYS_OVERDUE, s->rekeys_overdue },
		{ QKTLS_SOCK_STATS_A_TX_BYTES, si->tx_bytes },
		{ QKTLS_SOCK_STATS_A_TX_KEY_AGE_MS, si->tx_key_age_ms },
		{ QKTLS_SOCK_STATS_A_TX_RECORDS, si->tx_records },
		{ QKTLS_SOCK_STATS_A_TX_STD_FALLBACKS, s->tx_std_fallbacks },
		{ QKTLS_SOCK_STATS_A_TX_REFUSED, s->tx_refused },
		{ QKTLS_SOCK_STATS_A_UPDATES_REQUESTED, s->updates_requested },
		{ QKTLS_SOCK_STATS_A_TICKETS_DROPPED, s->tickets_dropped },
		{ QKTLS_SOCK_STATS_A_ALERTS, s->alerts },
		{ QKTLS_SOCK_STATS_A_RX_ERRORS, s->rx_errors },
	};
	struct nlattr *nest = nla_nest_start(skb, QKTLS_A_SOCK_STATS);
	unsigned int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(v); i++)
		if (nla_put_u64_64bit(skb, v[i].type, v[i].val,
				      QKTLS_SOCK_STATS_A_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int qktls_nl_put_sock_id(struct sk_buff *skb, struct qktls_sock *qs)
{
	if (nla_put_u64_64bit(skb, QKTLS_A_SOCK_ID, qs->cookie, QKTLS_A_PAD) ||
	    (qs->link[0] && nla_put_string(skb, QKTLS_A_SOCK_LINK, qs->link)))
		return -EMSGSIZE;
	return 0;
}

/* An attached socket as QKTLS_CMD_SOCK_GET gives it. */
static int qktls_nl_fill_sock(struct sk_buff *skb, struct qktls_sock *qs,
			      u32 portid, u32 seq, int flags, u8 cmd)
{
	struct qktls_sock_info si;
	void *hdr;

	qktls_sock_snapshot(qs, &si);
	hdr = genlmsg_put(skb, portid, seq, &qktls_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (qktls_nl_put_sock_id(skb, qs) ||
	    nla_put_u16(skb, QKTLS_A_SOCK_CIPHER, qs->suite->iana) ||
	    (qs->tx_pool &&
	     nla_put_string(skb, QKTLS_A_SOCK_TX_POOL, qs->tx_pool->name)) ||
	    (qs->rx_pool &&
	     nla_put_string(skb, QKTLS_A_SOCK_RX_POOL, qs->rx_pool->name)) ||
	    (qs->qkd_update && nla_put_flag(skb, QKTLS_A_SOCK_QKD_UPDATE)) ||
	    nla_put_u64_64bit(skb, QKTLS_A_SOCK_REKEY_BYTES, qs->rekey_bytes,
			      QKTLS_A_PAD) ||
	    nla_put_u32(skb, QKTLS_A_SOCK_REKEY_SECONDS, qs->rekey_seconds) ||
	    nla_put_u64_64bit(skb, QKTLS_A_SOCK_REKEY_RECORDS, qs->rekey_records,
			      QKTLS_A_PAD) ||
	    nla_put_u8(skb, QKTLS_A_SOCK_QKD_POLICY, qs->qkd_policy) ||
	    (si.due && nla_put_flag(skb, QKTLS_A_SOCK_REKEY_DUE)) ||
	    qktls_nl_put_sock_stats(skb, &si)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int qktls_nl_reply_sock(struct genl_info *info, struct qktls_sock *qs)
{
	struct sk_buff *msg;
	int err;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	err = qktls_nl_fill_sock(msg, qs, info->snd_portid, info->snd_seq, 0,
				 info->genlhdr->cmd);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/**
 * qktls_nl_sock_event() - announce a socket event on the "events" group
 * @qs: the attachment
 * @cmd: QKTLS_CMD_SOCK_REKEY_NTF or QKTLS_CMD_SOCK_REKEY_DUE_NTF
 * @req: the rekey, for QKTLS_CMD_SOCK_REKEY_NTF
 * @err: its result, for QKTLS_CMD_SOCK_REKEY_NTF
 */
void qktls_nl_sock_event(struct qktls_sock *qs, u8 cmd,
			 const struct qktls_rekey_req *req, int err)
{
	struct net *net = qs->qn->net;
	struct qktls_sock_info si;
	struct sk_buff *skb;
	void *hdr;

	if (!qktls_nl_event_begin(net))
		return;
	skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!skb)
		goto out;
	hdr = genlmsg_put(skb, 0, 0, &qktls_nl_family, 0, cmd);
	if (!hdr || qktls_nl_put_sock_id(skb, qs))
		goto fail;
	if (cmd == QKTLS_CMD_SOCK_REKEY_NTF) {
		if (nla_put_u8(skb, QKTLS_A_SOCK_DIRECTION, req->dir) ||
		    (req->used_qkd &&
		     nla_put(skb, QKTLS_A_SOCK_KEY_REF, QKTLS_KEY_ID_LEN,
			     req->used_ref)) ||
		    nla_put_s32(skb, QKTLS_A_SOCK_ERROR, err))
			goto fail;
	} else {
		qktls_sock_snapshot(qs, &si);
		if (qktls_nl_put_sock_stats(skb, &si))
			goto fail;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast_netns(&qktls_nl_family, net, skb, 0,
				QKTLS_NLGRP_EVENTS, GFP_KERNEL);
	goto out;
fail:
	nlmsg_free(skb);
out:
	qktls_nl_event_end();
}

/* --- naming a socket ------------------------------------------------------- */

/*
 * The socket a request names: QKTLS_A_SOCK_FD (its attachment, and the
 * socket in @sockp, to sockfd_put()), or, if @by_id, QKTLS_A_SOCK_ID with
 * CAP_NET_ADMIN.  Closed sockets are reaped first.
 */
static struct qktls_sock *qktls_nl_sock(struct sk_buff *skb,
					struct genl_info *info, bool by_id,
					struct socket **sockp)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *fd = info->attrs[QKTLS_A_SOCK_FD];
	struct nlattr *id = by_id ? info->attrs[QKTLS_A_SOCK_ID] : NULL;
	struct net *net = genl_info_net(info);
	struct qktls_sock *qs;
	struct socket *sock;
	int err;

	*sockp = NULL;
	if (fd && id) {
		NL_SET_ERR_MSG_ATTR(extack, id,
				    "name the socket by fd or by ID, not both");
		return ERR_PTR(-EINVAL);
	}
	if (id) {
		if (!netlink_ns_capable(skb, net->user_ns, CAP_NET_ADMIN)) {
			NL_SET_ERR_MSG_ATTR(extack, id,
					    "naming a socket by ID needs CAP_NET_ADMIN");
			return ERR_PTR(-EPERM);
		}
		qktls_socks_reap(qktls_net(net));
		qs = qktls_sock_get(qktls_net(net), nla_get_u64(id));
		if (!qs) {
			NL_SET_ERR_MSG_ATTR(extack, id,
					    "no attached socket with this ID");
			return ERR_PTR(-ENOENT);
		}
		return qs;
	}
	if (!fd) {
		NL_SET_ERR_ATTR_MISS(extack, NULL, QKTLS_A_SOCK_FD);
		if (by_id)
			NL_SET_ERR_MSG(extack, "name the socket by fd or by ID");
		else
			NL_SET_ERR_MSG(extack, "name the socket by fd");
		return ERR_PTR(-EINVAL);
	}
	sock = sockfd_lookup(nla_get_s32(fd), &err);
	if (!sock) {
		NL_SET_ERR_MSG_ATTR(extack, fd, "not a socket of the caller");
		return ERR_PTR(err);
	}
	qktls_socks_reap(qktls_net(sock_net(sock->sk)));
	qs = qktls_sock_get_sk(sock->sk);
	if (!qs) {
		sockfd_put(sock);
		NL_SET_ERR_MSG_ATTR(extack, fd, "the socket is not attached");
		return ERR_PTR(-ENOENT);
	}
	*sockp = sock;
	return qs;
}

/* --- commands -------------------------------------------------------------- */

/* Wipe the secrets of an attach request, whatever happened. */
static void qktls_nl_wipe_secrets(struct genl_info *info)
{
	struct nlattr *a;

	a = info->attrs[QKTLS_A_SOCK_TX_SECRET];
	if (a)
		memzero_explicit(nla_data(a), nla_len(a));
	a = info->attrs[QKTLS_A_SOCK_RX_SECRET];
	if (a)
		memzero_explicit(nla_data(a), nla_len(a));
}

static const char *qktls_nl_str(struct genl_info *info, int type)
{
	return info->attrs[type] ? nla_data(info->attrs[type]) : NULL;
}

/* The pool attribute @type names, referenced, in @poolp; NULL if none. */
static int qktls_nl_sock_pool(struct genl_info *info, int type,
			      struct qktls_pool **poolp)
{
	struct nlattr *attr = info->attrs[type];

	*poolp = NULL;
	if (!attr)
		return 0;
	*poolp = qktls_pool_get(qktls_net(genl_info_net(info)),
				nla_data(attr));
	if (!*poolp) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such pool");
		return -ENOENT;
	}
	return 0;
}

int qktls_nl_sock_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct qktls_sock_attach_req req = {};
	struct nlattr **tb = info->attrs;
	struct net *net = genl_info_net(info);
	struct qktls_sock *qs;
	struct nlattr *attr;
	int err = -EINVAL;

	if (GENL_REQ_ATTR_CHECK(info, QKTLS_A_SOCK_FD) ||
	    GENL_REQ_ATTR_CHECK(info, QKTLS_A_SOCK_CIPHER) ||
	    GENL_REQ_ATTR_CHECK(info, QKTLS_A_SOCK_TX_SECRET) ||
	    GENL_REQ_ATTR_CHECK(info, QKTLS_A_SOCK_RX_SECRET))
		goto out;
	req.suite = qktls_suite_find(nla_get_u16(tb[QKTLS_A_SOCK_CIPHER]));
	if (!req.suite) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_SOCK_CIPHER],
				    "not a TLS 1.3 cipher suite kTLS has");
		goto out;
	}
	attr = tb[QKTLS_A_SOCK_TX_SECRET];
	if (nla_len(attr) != req.suite->hash_len)
		goto bad_len;
	attr = tb[QKTLS_A_SOCK_RX_SECRET];
	if (nla_len(attr) != req.suite->hash_len)
		goto bad_len;
	req.tx_secret = nla_data(tb[QKTLS_A_SOCK_TX_SECRET]);
	req.rx_secret = nla_data(tb[QKTLS_A_SOCK_RX_SECRET]);
	req.link = qktls_nl_str(info, QKTLS_A_SOCK_LINK);
	req.qkd_update = nla_get_flag(tb[QKTLS_A_SOCK_QKD_UPDATE]);
	req.rekey_required = nla_get_flag(tb[QKTLS_A_SOCK_REKEY_REQUIRED]);
	if (tb[QKTLS_A_SOCK_REKEY_BYTES])
		req.rekey_bytes = nla_get_u64(tb[QKTLS_A_SOCK_REKEY_BYTES]);
	if (tb[QKTLS_A_SOCK_REKEY_SECONDS])
		req.rekey_seconds = nla_get_u32(tb[QKTLS_A_SOCK_REKEY_SECONDS]);
	if (tb[QKTLS_A_SOCK_REKEY_RECORDS])
		req.rekey_records = nla_get_u64(tb[QKTLS_A_SOCK_REKEY_RECORDS]);
	req.qkd_policy = QKTLS_QKD_PREFERRED;
	if (tb[QKTLS_A_SOCK_QKD_POLICY])
		req.qkd_policy = nla_get_u8(tb[QKTLS_A_SOCK_QKD_POLICY]);

	attr = tb[QKTLS_A_SOCK_FD];
	req.sock = sockfd_lookup(nla_get_s32(attr), &err);
	if (!req.sock) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "not a socket of the caller");
		goto out;
	}
	if (!net_eq(sock_net(req.sock->sk), net)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "the socket belongs to another network namespace");
		err = -EINVAL;
		goto out_sock;
	}
	err = qktls_nl_sock_pool(info, QKTLS_A_SOCK_TX_POOL, &req.tx_pool);
	if (!err)
		err = qktls_nl_sock_pool(info, QKTLS_A_SOCK_RX_POOL,
					 &req.rx_pool);
	if (err) {
		qktls_pool_put(req.tx_pool);
		goto out_sock;
	}
	qktls_socks_reap(qktls_net(net));
	/* Takes over the pool references. */
	err = qktls_sock_attach(qktls_net(net), &req, &qs, extack);
	if (err) {
		if (extack && !extack->bad_attr)
			NL_SET_BAD_ATTR(extack, attr);
		goto out_sock;
	}
	err = qktls_nl_reply_sock(info, qs);
	qktls_sock_put(qs);
out_sock:
	sockfd_put(req.sock);
out:
	qktls_nl_wipe_secrets(info);
	return err;
bad_len:
	NL_SET_ERR_MSG_ATTR_FMT(extack, attr,
				"a traffic secret of %s is %u bytes",
				req.suite->name, req.suite->hash_len);
	goto out;
}

int qktls_nl_sock_detach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct qktls_sock *qs;
	struct socket *sock;
	int err;

	qs = qktls_nl_sock(skb, info, true, &sock);
	if (IS_ERR(qs))
		return PTR_ERR(qs);
	err = qktls_sock_detach(qs);
	if (err)
		NL_SET_ERR_MSG(info->extack, "the socket is not attached");
	qktls_sock_put(qs);
	if (sock)
		sockfd_put(sock);
	return err;
}

int qktls_nl_sock_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct qktls_sock *qs;
	struct socket *sock;
	int err;

	qs = qktls_nl_sock(skb, info, true, &sock);
	if (IS_ERR(qs))
		return PTR_ERR(qs);
	err = qktls_nl_reply_sock(info, qs);
	qktls_sock_put(qs);
	if (sock)
		sockfd_put(sock);
	return err;
}

int qktls_nl_sock_get_start(struct netlink_callback *cb)
{
	struct net *net = sock_net(cb->skb->sk);

	if (!netlink_ns_capable(cb->skb, net->user_ns, CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG(cb->extack,
			       "dumping attached sockets needs CAP_NET_ADMIN");
		return -EPERM;
	}
	return 0;
}

/* cb->args[0]: the lowest attach number not dumped yet. */
int qktls_nl_sock_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct qktls_net *qn = qktls_net(sock_net(skb->sk));
	struct qktls_sock *qs;

	qktls_socks_reap(qn);
	mutex_lock(&qn->sock_lock);
	list_for_each_entry(qs, &qn->socks, list) {
		if (qs->seq < cb->args[0])
			continue;
		if (qktls_nl_fill_sock(skb, qs, NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI,
				       QKTLS_CMD_SOCK_GET))
			break;
		cb->args[0] = qs->seq + 1;
	}
	mutex_unlock(&qn->sock_lock);
	return skb->len;
}

int qktls_nl_sock_rekey_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **tb = info->attrs;
	struct qktls_rekey_req req = { .requested = true };
	struct qktls_sock *qs;
	struct socket *sock;
	struct sk_buff *msg;
	void *hdr;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, QKTLS_A_SOCK_DIRECTION))
		return -EINVAL;
	req.dir = nla_get_u8(tb[QKTLS_A_SOCK_DIRECTION]);
	if (tb[QKTLS_A_SOCK_REKEY_FLAGS])
		req.flags = nla_get_u32(tb[QKTLS_A_SOCK_REKEY_FLAGS]);
	if (tb[QKTLS_A_SOCK_KEY_REF])
		req.ref = nla_data(tb[QKTLS_A_SOCK_KEY_REF]);
	if (req.dir == QKTLS_SOCK_DIR_TX && req.ref) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_SOCK_KEY_REF],
				    "a TX rekey takes the oldest key of the TX pool: no key reference");
		return -EINVAL;
	}
	if (req.dir == QKTLS_SOCK_DIR_RX) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_SOCK_DIRECTION],
				    "the module follows the peer's key updates inside the reads: no RX rekey");
		return -EINVAL;
	}
	qs = qktls_nl_sock(skb, info, false, &sock);
	if (IS_ERR(qs))
		return PTR_ERR(qs);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	err = qktls_sock_rekey(qs, &req, extack);
	if (err) {
		nlmsg_free(msg);
		goto out;
	}
	hdr = genlmsg_put_reply(msg, info, &qktls_nl_family, 0,
				info->genlhdr->cmd);
	if (!hdr ||
	    nla_put_u64_64bit(msg, QKTLS_A_SOCK_ID, qs->cookie, QKTLS_A_PAD) ||
	    nla_put_u8(msg, QKTLS_A_SOCK_DIRECTION, req.dir) ||
	    (req.used_qkd &&
	     nla_put(msg, QKTLS_A_SOCK_KEY_REF, QKTLS_KEY_ID_LEN,
		     req.used_ref))) {
		/* The rekey happened; only the reply is lost. */
		nlmsg_free(msg);
		err = -EMSGSIZE;
		goto out;
	}
	genlmsg_end(msg, hdr);
	err = genlmsg_reply(msg, info);
out:
	qktls_sock_put(qs);
	sockfd_put(sock);
	return err;
}
