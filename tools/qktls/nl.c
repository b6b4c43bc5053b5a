// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: generic netlink plumbing over libnl-genl-3.
 *
 * One socket per run.  Requests ask for an ack and extended acks
 * (NETLINK_EXT_ACK), so every error comes back with the kernel's message,
 * and for capped acks (NETLINK_CAP_ACK), so an error never echoes a
 * request back to us: a KEY_ADD request carries key material.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <openssl/crypto.h>

#include "qktls.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Integers are read by length, so both fixed and variable width work. */
struct nla_policy qk_policy[QKTLS_A_MAX + 1] = {
	[QKTLS_A_POOL_NAME] = { .type = NLA_STRING },
	[QKTLS_A_POOL_PEER] = { .type = NLA_STRING },
	[QKTLS_A_POOL_STATS] = { .type = NLA_NESTED },
	[QKTLS_A_KEY] = { .type = NLA_NESTED },
	[QKTLS_A_SOCK_LINK] = { .type = NLA_STRING },
	[QKTLS_A_SOCK_TX_POOL] = { .type = NLA_STRING },
	[QKTLS_A_SOCK_RX_POOL] = { .type = NLA_STRING },
	[QKTLS_A_SOCK_KEY_REF] = { .minlen = QKTLS_KEY_ID_LEN,
				   .maxlen = QKTLS_KEY_ID_LEN },
	[QKTLS_A_SOCK_STATS] = { .type = NLA_NESTED },
};

struct nla_policy qk_key_policy[QKTLS_KEY_A_MAX + 1] = {
	[QKTLS_KEY_A_ID] = { .minlen = QKTLS_KEY_ID_LEN,
			     .maxlen = QKTLS_KEY_ID_LEN },
};

uint64_t qk_attr_uint(const struct nlattr *a)
{
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	if (!a)
		return 0;
	switch (nla_len(a)) {
	case 8:
		memcpy(&v64, nla_data(a), 8);
		return v64;
	case 4:
		memcpy(&v32, nla_data(a), 4);
		return v32;
	case 2:
		memcpy(&v16, nla_data(a), 2);
		return v16;
	case 1:
		return *(const uint8_t *)nla_data(a);
	}
	return 0;
}

int qk_nl_open(struct qk_nl *nl)
{
	int one = 1, err;

	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		qk_err("cannot allocate a netlink socket");
		return -1;
	}
	err = genl_connect(nl->sk);
	if (err < 0) {
		qk_err("cannot open a generic netlink socket: %s",
		       nl_geterror(err));
		goto fail;
	}
	/* Best effort: old kernels lack them, errors still work. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	/* We set NLM_F_ACK ourselves on "do" requests, never on dumps. */
	nl_socket_disable_auto_ack(nl->sk);

	nl->family = genl_ctrl_resolve(nl->sk, QKTLS_GENL_NAME);
	if (nl->family < 0) {
		if (nl->family == -NLE_OBJ_NOTFOUND)
			qk_err("generic netlink family \"%s\" not found: is the qktls module loaded?",
			       QKTLS_GENL_NAME);
		else
			qk_err("cannot resolve generic netlink family \"%s\": %s",
			       QKTLS_GENL_NAME, nl_geterror(nl->family));
		goto fail;
	}
	return 0;
fail:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return -1;
}

void qk_nl_close(struct qk_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

struct nl_msg *qk_msg_new(struct qk_nl *nl, uint8_t cmd, int flags,
			  size_t size)
{
	struct nl_msg *msg;

	msg = size ? nlmsg_alloc_size(size) : nlmsg_alloc();
	if (!msg) {
		qk_err("out of memory");
		return NULL;
	}
	if (!(flags & NLM_F_DUMP))
		flags |= NLM_F_ACK;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, QKTLS_GENL_VERSION)) {
		qk_err("cannot build a netlink message");
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Free a message that may have held key material, wiping its buffer. */
void qk_msg_free_wiped(struct nl_msg *msg)
{
	if (!msg)
		return;
	OPENSSL_cleanse(nlmsg_hdr(msg), nlmsg_get_max_size(msg));
	nlmsg_free(msg);
}

int qk_parse_reply(struct nl_msg *msg, struct nlattr **tb)
{
	return genlmsg_parse(nlmsg_hdr(msg), 0, tb, QKTLS_A_MAX, qk_policy);
}

/* The extended ack attributes that follow an error or done payload. */
static void parse_extack(const struct nlmsghdr *nlh, size_t payload,
			 struct qk_nlerr *e)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(payload);
	const char *m;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || nlh->nlmsg_len <= start)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)nlh + start),
		      nlh->nlmsg_len - start, NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
		m = nla_data(tb[NLMSGERR_ATTR_MSG]);
		snprintf(e->msg, sizeof(e->msg), "%.*s",
			 (int)strnlen(m, nla_len(tb[NLMSGERR_ATTR_MSG])), m);
	}
	if (tb[NLMSGERR_ATTR_OFFS] && nla_len(tb[NLMSGERR_ATTR_OFFS]) == 4) {
		e->has_offs = true;
		e->offs = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	}
	if (tb[NLMSGERR_ATTR_MISS_TYPE] &&
	    nla_len(tb[NLMSGERR_ATTR_MISS_TYPE]) == 4) {
		e->has_miss = true;
		e->miss_type = nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
	}
}

struct req_state {
	bool done;
	int cb_ret;		/* first error a reply callback returned */
	qk_reply_fn fn;
	void *arg;
	struct qk_nlerr *e;
};

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;
	struct nlattr *tb[QKTLS_A_MAX + 1];
	int ret;

	if (!st->fn)
		return NL_OK;
	if (qk_parse_reply(msg, tb) < 0) {
		qk_err("malformed reply from the kernel");
		st->cb_ret = -EPROTO;
		return NL_SKIP;
	}
	ret = st->fn(tb, nlmsg_hdr(msg), st->arg);
	if (ret < 0 && !st->cb_ret)
		st->cb_ret = ret;
	return NL_OK;
}

static int err_cb(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	/* libnl hands us the payload; the header sits right before it. */
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)
		((const char *)err - NLMSG_HDRLEN);
	struct req_state *st = arg;
	size_t payload = sizeof(*err);

	(void)nla;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		payload += err->msg.nlmsg_len - NLMSG_HDRLEN;
	st->e->err = err->error;
	parse_extack(nlh, payload, st->e);
	st->done = true;
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	const struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct req_state *st = arg;
	struct qk_nlerr warn = { 0 };

	/* An ack may carry a warning. */
	parse_extack(nlh, sizeof(struct nlmsgerr), &warn);
	if (warn.msg[0])
		fprintf(stderr, "qktls: warning: %s\n", warn.msg);
	st->done = true;
	return NL_STOP;
}

static int finish_cb(struct nl_msg *msg, void *arg)
{
	const struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct req_state *st = arg;
	int err;

	/* A dump that fails part way says so in its done message. */
	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		memcpy(&err, NLMSG_DATA(nlh), sizeof(err));
		if (err < 0) {
			st->e->err = err;
			parse_extack(nlh, sizeof(int), st->e);
		}
	}
	st->done = true;
	return NL_STOP;
}

/*
 * Send @msg and read replies until the ack, error or end of dump.  Each
 * reply goes to @fn.  Returns 0, or a negative errno with @e filled in when
 * the kernel refused the request.
 */
int qk_nl_exec(struct qk_nl *nl, struct nl_msg *msg, qk_reply_fn fn,
	       void *arg, struct qk_nlerr *e)
{
	struct req_state st = { .fn = fn, .arg = arg, .e = e };
	struct nl_cb *cb;
	int ret;

	memset(e, 0, sizeof(*e));
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		e->err = -ENOMEM;
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &st);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &st);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, &st);
	nl_cb_err(cb, NL_CB_CUSTOM, err_cb, &st);

	ret = nl_send_auto(nl->sk, msg);
	if (ret < 0) {
		e->err = -EIO;
		snprintf(e->msg, sizeof(e->msg), "cannot send: %s",
			 nl_geterror(ret));
		goto out;
	}
	while (!st.done) {
		ret = nl_recvmsgs(nl->sk, cb);
		if (ret < 0 && !st.done) {
			if (ret == -NLE_INTR)
				continue;
			e->err = -EIO;
			snprintf(e->msg, sizeof(e->msg),
				 "cannot receive the reply: %s",
				 nl_geterror(ret));
			break;
		}
	}
out:
	nl_cb_put(cb);
	if (e->err)
		return e->err < 0 ? e->err : -e->err;
	return st.cb_ret;
}

void qk_nlerr_print(const struct qk_nlerr *e, const char *what,
		    const char *detail)
{
	int err = e->err < 0 ? -e->err : e->err;
	char miss[64] = "";

	if (e->has_miss)
		snprintf(miss, sizeof(miss), " (missing attribute %u)",
			 e->miss_type);
	if (e->msg[0])
		fprintf(stderr, "qktls: %s: %s%s%s (%s)\n", what, e->msg,
			miss, detail ? detail : "", strerror(err));
	else
		fprintf(stderr, "qktls: %s: %s%s%s\n", what, strerror(err),
			miss, detail ? detail : "");
}

/* qk_nl_exec that reports a failure on stderr with @what as context. */
int qk_nl_run(struct qk_nl *nl, struct nl_msg *msg, qk_reply_fn fn,
	      void *arg, const char *what)
{
	struct qk_nlerr e;
	int ret;

	ret = qk_nl_exec(nl, msg, fn, arg, &e);
	if (ret < 0 && e.err)
		qk_nlerr_print(&e, what, NULL);
	return ret;
}
