/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test helpers for the qktls generic netlink family (libnl-genl-3).
 *
 * Messages are built with libnl; replies are read raw, so that a test can
 * both parse them and search their bytes (for key material that must never
 * come back).  Every function returns 0 or a negative errno.
 */
#ifndef QKTLS_TESTS_NL_H
#define QKTLS_TESTS_NL_H

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/qktls.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct qk {
	struct nl_sock *sk;
	int family;
	int events_grp;
};

/* Everything one request brought back. */
struct qk_reply {
	int err;		/* from the final NLMSG_ERROR / NLMSG_DONE */
	char extack[256];	/* NLMSGERR_ATTR_MSG, or "" */
	int miss_type;		/* NLMSGERR_ATTR_MISS_TYPE, or 0 */
	int n_msgs;		/* data messages */
	int n_recvs;		/* recvmsg() calls that returned data */
	unsigned char *raw;	/* every byte received */
	long raw_len;
};

typedef int (*qk_msg_cb)(struct nlmsghdr *nlh, void *arg);

static inline void qk_reply_free(struct qk_reply *r)
{
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

static inline void qk_close(struct qk *q)
{
	if (q->sk)
		nl_socket_free(q->sk);
	q->sk = NULL;
}

static inline int qk_open(struct qk *q)
{
	int one = 1, err;

	memset(q, 0, sizeof(*q));
	q->sk = nl_socket_alloc();
	if (!q->sk)
		return -ENOMEM;
	err = genl_connect(q->sk);
	if (err)
		goto fail;
	nl_socket_disable_seq_check(q->sk);
	nl_socket_disable_auto_ack(q->sk);
	nl_socket_set_msg_buf_size(q->sk, 1 << 20);
	nl_socket_set_buffer_size(q->sk, 4 << 20, 4 << 20);
	setsockopt(nl_socket_get_fd(q->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	q->family = genl_ctrl_resolve(q->sk, QKTLS_GENL_NAME);
	if (q->family < 0) {
		err = -ENOENT;
		goto fail;
	}
	q->events_grp = genl_ctrl_resolve_grp(q->sk, QKTLS_GENL_NAME,
					      QKTLS_MCGRP_EVENTS);
	return 0;
fail:
	qk_close(q);
	return err < 0 ? err : -EIO;
}

/* Join the events group; -EPERM without CAP_NET_ADMIN. */
static inline int qk_subscribe(struct qk *q)
{
	int grp = q->events_grp;

	if (grp < 0)
		return -ENOENT;
	if (setsockopt(nl_socket_get_fd(q->sk), SOL_NETLINK,
		       NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)))
		return -errno;
	return 0;
}

static inline struct nl_msg *qk_msg_size(struct qk *q, uint8_t cmd, bool dump,
					 size_t size)
{
	struct nl_msg *msg = nlmsg_alloc_size(size);

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, q->family, 0,
			 dump ? NLM_F_DUMP : NLM_F_ACK, cmd, QKTLS_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static inline struct nl_msg *qk_msg(struct qk *q, uint8_t cmd, bool dump)
{
	return qk_msg_size(q, cmd, dump, 16384);
}

static inline void qk_append(struct qk_reply *r, const void *buf, size_t len)
{
	unsigned char *p = realloc(r->raw, r->raw_len + len);

	if (!p)
		abort();
	memcpy(p + r->raw_len, buf, len);
	r->raw = p;
	r->raw_len += len;
}

static inline void qk_parse_err(struct nlmsghdr *nlh, struct qk_reply *r)
{
	struct nlmsgerr *e = nlmsg_data(nlh);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);

	r->err = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)e + NLMSG_ALIGN(off)),
		      nlmsg_datalen(nlh) - NLMSG_ALIGN(off), NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(r->extack, sizeof(r->extack), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_MISS_TYPE])
		r->miss_type = nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
}

static inline void qk_parse_done(struct nlmsghdr *nlh, struct qk_reply *r)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int *e = nlmsg_data(nlh);

	if (nlmsg_datalen(nlh) < (int)sizeof(*e))
		return;
	r->err = *e;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS &&
	    !nla_parse(tb, NLMSGERR_ATTR_MAX,
		       (struct nlattr *)((char *)e + NLMSG_ALIGN(sizeof(*e))),
		       nlmsg_datalen(nlh) - NLMSG_ALIGN(sizeof(*e)), NULL) &&
	    tb[NLMSGERR_ATTR_MSG])
		snprintf(r->extack, sizeof(r->extack), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
}

/*
 * Send @msg (freed) and read until its ACK, error or end of dump, calling
 * @cb for every data message.  Returns the request's error (also r->err).
 */
static inline int qk_xfer(struct qk *q, struct nl_msg *msg,
			  struct qk_reply *r, qk_msg_cb cb, void *arg)
{
	uint32_t seq;
	bool done = false;
	int n;

	memset(r, 0, sizeof(*r));
	n = nl_send_auto(q->sk, msg);
	seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	if (n < 0)
		return r->err = -EIO;
	while (!done) {
		struct sockaddr_nl who;
		unsigned char *buf = NULL;
		struct nlmsghdr *nlh;

		n = nl_recv(q->sk, &who, &buf, NULL);
		if (n <= 0) {
			free(buf);
			return r->err = -EIO;
		}
		qk_append(r, buf, n);
		r->n_recvs++;
		for (nlh = (struct nlmsghdr *)buf; nlmsg_ok(nlh, n);
		     nlh = nlmsg_next(nlh, &n)) {
			if (nlh->nlmsg_seq != seq)
				continue;	/* not ours (an event) */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				qk_parse_err(nlh, r);
				done = true;
			} else if (nlh->nlmsg_type == NLMSG_DONE) {
				qk_parse_done(nlh, r);
				done = true;
			} else {
				r->n_msgs++;
				if (cb)
					cb(nlh, arg);
			}
		}
		free(buf);
	}
	return r->err;
}

/* Read one multicast event into @buf within @timeout_ms; its command. */
static inline int qk_next_event(struct qk *q, int timeout_ms,
				struct qk_reply *events, struct nlattr **tb)
{
	static unsigned char buf[65536];
	static int have, pos;
	struct pollfd pfd = { .fd = nl_socket_get_fd(q->sk), .events = POLLIN };
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	if (pos >= have) {
		if (poll(&pfd, 1, timeout_ms) != 1)
			return -ETIMEDOUT;
		have = recv(pfd.fd, buf, sizeof(buf), 0);
		if (have <= 0)
			return have ? -errno : -EIO;
		pos = 0;
		if (events)
			qk_append(events, buf, have);
	}
	nlh = (struct nlmsghdr *)(buf + pos);
	if (!NLMSG_OK(nlh, (unsigned int)(have - pos))) {
		have = 0;
		return -EIO;
	}
	pos += NLMSG_ALIGN(nlh->nlmsg_len);
	if (nlh->nlmsg_type == NLMSG_ERROR)
		return -EIO;
	g = nlmsg_data(nlh);
	if (tb && genlmsg_parse(nlh, 0, tb, QKTLS_A_MAX, NULL))
		return -EIO;
	return g->cmd;
}

/* A 16-byte key ID made of a tag and a number. */
static inline void qk_id(uint8_t id[QKTLS_KEY_ID_LEN], uint32_t tag,
			 uint64_t n)
{
	memset(id, 0, QKTLS_KEY_ID_LEN);
	memcpy(id, &tag, sizeof(tag));
	memcpy(id + 8, &n, sizeof(n));
}

/* Key material that no reply could contain by chance. */
static inline void qk_material(uint8_t *m, size_t len, uint32_t tag,
			       uint64_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)tag << 32) ^ n;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		m[i] = (uint8_t)x;
	}
}

/* Put one QKTLS_A_KEY nest; material may be NULL (ID only). */
static inline int qk_put_key(struct nl_msg *msg, const uint8_t *id,
			     const uint8_t *material, size_t len,
			     const uint64_t *index)
{
	struct nlattr *nest = nla_nest_start(msg, QKTLS_A_KEY);

	if (!nest)
		return -EMSGSIZE;
	if (id && nla_put(msg, QKTLS_KEY_A_ID, QKTLS_KEY_ID_LEN, id))
		return -EMSGSIZE;
	if (index && nla_put_u64(msg, QKTLS_KEY_A_INDEX, *index))
		return -EMSGSIZE;
	if (material && nla_put(msg, QKTLS_KEY_A_MATERIAL, len, material))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

/* Create pool @name with @capacity (0: default) and key length @len. */
static inline int qk_pool_new(struct qk *q, const char *name,
			      uint32_t capacity, uint32_t len,
			      struct qk_reply *r)
{
	struct nl_msg *msg = qk_msg(q, QKTLS_CMD_POOL_NEW, false);

	nla_put_string(msg, QKTLS_A_POOL_NAME, name);
	if (capacity)
		nla_put_u32(msg, QKTLS_A_POOL_CAPACITY, capacity);
	if (len) {
		nla_put_u32(msg, QKTLS_A_POOL_KEY_MIN_LEN, len);
		nla_put_u32(msg, QKTLS_A_POOL_KEY_MAX_LEN, len);
	}
	return qk_xfer(q, msg, r, NULL, NULL);
}

static inline int qk_pool_simple(struct qk *q, uint8_t cmd, const char *name,
				 struct qk_reply *r)
{
	struct nl_msg *msg = qk_msg(q, cmd, false);

	nla_put_string(msg, QKTLS_A_POOL_NAME, name);
	return qk_xfer(q, msg, r, NULL, NULL);
}

/* Delete the pool @name if there is one (set-up and clean-up). */
static inline void qk_pool_drop(struct qk *q, const char *name)
{
	struct qk_reply r;

	qk_pool_simple(q, QKTLS_CMD_POOL_DEL, name, &r);
	qk_reply_free(&r);
}

/*
 * Add keys tag/first .. tag/first+n-1 of length @len in one batch, each
 * with its number as ETSI 004 index if @with_index.
 */
static inline int qk_add_keys_opt(struct qk *q, const char *name,
				  uint32_t tag, uint64_t first, unsigned int n,
				  size_t len, bool with_index,
				  struct qk_reply *r)
{
	struct nl_msg *msg = qk_msg_size(q, QKTLS_CMD_KEY_ADD, false,
					 1024 + (size_t)n * (len + 64));
	uint8_t id[QKTLS_KEY_ID_LEN], m[QKTLS_KEY_MAX_LEN];
	unsigned int i;

	nla_put_string(msg, QKTLS_A_POOL_NAME, name);
	for (i = 0; i < n; i++) {
		uint64_t index = first + i;

		qk_id(id, tag, first + i);
		qk_material(m, len, tag, first + i);
		if (qk_put_key(msg, id, m, len, with_index ? &index : NULL)) {
			nlmsg_free(msg);
			return -EMSGSIZE;
		}
	}
	return qk_xfer(q, msg, r, NULL, NULL);
}

/* Add keys tag/first .. tag/first+n-1 of length @len, indexed, in one batch. */
static inline int qk_add_keys(struct qk *q, const char *name, uint32_t tag,
			      uint64_t first, unsigned int n, size_t len,
			      struct qk_reply *r)
{
	return qk_add_keys_opt(q, name, tag, first, n, len, true, r);
}

/* A new pool @name of @capacity with @n keys of qk_add_keys(@tag) in it. */
static inline int qk_pool_filled(struct qk *q, const char *name,
				 uint32_t capacity, uint32_t tag, int n,
				 int klen)
{
	struct qk_reply r;
	int err = qk_pool_new(q, name, capacity, klen, &r);

	qk_reply_free(&r);
	if (!err && n) {
		err = qk_add_keys(q, name, tag, 0, n, klen, &r);
		qk_reply_free(&r);
	}
	return err;
}

/* Take the key @id (NULL: the oldest); its ID in @got if non-NULL. */
struct qk_taken {
	uint8_t id[QKTLS_KEY_ID_LEN];
	long long len;
	bool has_index;
	long long index;
	bool seen;
};

static inline int qk_taken_cb(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[QKTLS_A_MAX + 1], *k[QKTLS_KEY_A_MAX + 1];
	struct qk_taken *t = arg;

	if (genlmsg_parse(nlh, 0, tb, QKTLS_A_MAX, NULL) || !tb[QKTLS_A_KEY] ||
	    nla_parse_nested(k, QKTLS_KEY_A_MAX, tb[QKTLS_A_KEY], NULL) ||
	    !k[QKTLS_KEY_A_ID] || !k[QKTLS_KEY_A_LEN])
		return 0;
	memcpy(t->id, nla_data(k[QKTLS_KEY_A_ID]), QKTLS_KEY_ID_LEN);
	t->len = nla_get_u32(k[QKTLS_KEY_A_LEN]);
	t->has_index = k[QKTLS_KEY_A_INDEX];
	if (t->has_index)
		t->index = nla_get_u64(k[QKTLS_KEY_A_INDEX]);
	t->seen = true;
	return 0;
}

static inline int qk_take(struct qk *q, const char *name, const uint8_t *id,
			  struct qk_taken *got, struct qk_reply *r)
{
	struct nl_msg *msg = qk_msg(q, QKTLS_CMD_KEY_TAKE, false);

	nla_put_string(msg, QKTLS_A_POOL_NAME, name);
	if (id)
		qk_put_key(msg, id, NULL, 0, NULL);
	memset(got, 0, sizeof(*got));
	return qk_xfer(q, msg, r, qk_taken_cb, got);
}

/* A pool's attributes, from POOL_GET. */
struct qk_pool_info {
	bool seen;
	long long id, capacity, low, lifetime, count, min_len, max_len;
	long long key_bytes, mem_bytes, rekey_bytes, rekey_seconds;
	long long stats[QKTLS_STATS_A_MAX + 1];
	char name[QKTLS_POOL_NAME_MAX];
	char peer[QKTLS_PEER_MAX];
};

static inline int qk_pool_info_cb(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[QKTLS_A_MAX + 1], *s[QKTLS_STATS_A_MAX + 1];
	struct qk_pool_info *p = arg;
	int i;

	memset(p, 0, sizeof(*p));
	if (genlmsg_parse(nlh, 0, tb, QKTLS_A_MAX, NULL))
		return 0;
#define QK_U32(f, a) do { if (tb[a]) p->f = nla_get_u32(tb[a]); } while (0)
	QK_U32(id, QKTLS_A_POOL_ID);
	QK_U32(capacity, QKTLS_A_POOL_CAPACITY);
	QK_U32(low, QKTLS_A_POOL_LOW_WATERMARK);
	QK_U32(lifetime, QKTLS_A_POOL_KEY_LIFETIME);
	QK_U32(count, QKTLS_A_POOL_KEY_COUNT);
	QK_U32(min_len, QKTLS_A_POOL_KEY_MIN_LEN);
	QK_U32(max_len, QKTLS_A_POOL_KEY_MAX_LEN);
	QK_U32(rekey_seconds, QKTLS_A_POOL_REKEY_SECONDS);
#undef QK_U32
	if (tb[QKTLS_A_POOL_REKEY_BYTES])
		p->rekey_bytes = nla_get_u64(tb[QKTLS_A_POOL_REKEY_BYTES]);
	if (tb[QKTLS_A_POOL_KEY_BYTES])
		p->key_bytes = nla_get_u64(tb[QKTLS_A_POOL_KEY_BYTES]);
	if (tb[QKTLS_A_POOL_MEM_BYTES])
		p->mem_bytes = nla_get_u64(tb[QKTLS_A_POOL_MEM_BYTES]);
	if (tb[QKTLS_A_POOL_NAME])
		snprintf(p->name, sizeof(p->name), "%s",
			 nla_get_string(tb[QKTLS_A_POOL_NAME]));
	if (tb[QKTLS_A_POOL_PEER])
		snprintf(p->peer, sizeof(p->peer), "%s",
			 nla_get_string(tb[QKTLS_A_POOL_PEER]));
	if (tb[QKTLS_A_POOL_STATS] &&
	    !nla_parse_nested(s, QKTLS_STATS_A_MAX, tb[QKTLS_A_POOL_STATS],
			      NULL))
		for (i = 0; i <= QKTLS_STATS_A_MAX; i++)
			if (s[i] && i != QKTLS_STATS_A_PAD)
				p->stats[i] = nla_get_u64(s[i]);
	p->seen = true;
	return 0;
}

static inline int qk_pool_get(struct qk *q, const char *name,
			      struct qk_pool_info *p, struct qk_reply *r)
{
	struct nl_msg *msg = qk_msg(q, QKTLS_CMD_POOL_GET, false);

	nla_put_string(msg, QKTLS_A_POOL_NAME, name);
	memset(p, 0, sizeof(*p));
	return qk_xfer(q, msg, r, qk_pool_info_cb, p);
}

/* Keys pool @name holds, or -1. */
static inline long long qk_pool_count(struct qk *q, const char *name)
{
	struct qk_pool_info p = {};
	struct qk_reply r;
	int err = qk_pool_get(q, name, &p, &r);

	qk_reply_free(&r);
	return err ? -1 : (long long)p.count;
}

/* Does @hay contain @needle? */
static inline bool qk_contains(const unsigned char *hay, size_t hay_len,
			       const uint8_t *needle, size_t len)
{
	size_t i;

	for (i = 0; i + len <= hay_len; i++)
		if (!memcmp(hay + i, needle, len))
			return true;
	return false;
}

/* ---- attached sockets --------------------------------------------------- */

/* What QKTLS_CMD_SOCK_ATTACH sends; zero fields are left out. */
struct qk_attach {
	int fd;
	uint16_t cipher;
	const uint8_t *tx_secret, *rx_secret;
	size_t tx_len, rx_len;
	const char *link, *tx_pool, *rx_pool;
	bool qkd_update, rekey_required;
	uint64_t rekey_bytes;
	uint32_t rekey_seconds;
	uint64_t rekey_records;
	int qkd_policy;	/* enum qktls_qkd_policy + 1; 0 = not sent */
};

/* An attached socket, from SOCK_ATTACH, SOCK_GET or a dump. */
struct qk_sock_info {
	bool seen, qkd_update, due;
	int qkd_policy;
	uint64_t id, rekey_bytes, rekey_records;
	uint32_t rekey_seconds;
	int cipher;
	char link[QKTLS_PEER_MAX];
	char tx_pool[QKTLS_POOL_NAME_MAX], rx_pool[QKTLS_POOL_NAME_MAX];
	long long stats[QKTLS_SOCK_STATS_A_MAX + 1];
};

static inline int qk_sock_info_parse(struct nlattr **tb, struct qk_sock_info *s)
{
	struct nlattr *st[QKTLS_SOCK_STATS_A_MAX + 1];
	int i;

	memset(s, 0, sizeof(*s));
	if (!tb[QKTLS_A_SOCK_ID])
		return -EINVAL;
	s->id = nla_get_u64(tb[QKTLS_A_SOCK_ID]);
	if (tb[QKTLS_A_SOCK_CIPHER])
		s->cipher = nla_get_u16(tb[QKTLS_A_SOCK_CIPHER]);
	if (tb[QKTLS_A_SOCK_LINK])
		snprintf(s->link, sizeof(s->link), "%s",
			 nla_get_string(tb[QKTLS_A_SOCK_LINK]));
	if (tb[QKTLS_A_SOCK_TX_POOL])
		snprintf(s->tx_pool, sizeof(s->tx_pool), "%s",
			 nla_get_string(tb[QKTLS_A_SOCK_TX_POOL]));
	if (tb[QKTLS_A_SOCK_RX_POOL])
		snprintf(s->rx_pool, sizeof(s->rx_pool), "%s",
			 nla_get_string(tb[QKTLS_A_SOCK_RX_POOL]));
	s->qkd_update = tb[QKTLS_A_SOCK_QKD_UPDATE];
	s->qkd_policy = tb[QKTLS_A_SOCK_QKD_POLICY] ?
			nla_get_u8(tb[QKTLS_A_SOCK_QKD_POLICY]) : -1;
	s->due = tb[QKTLS_A_SOCK_REKEY_DUE];
	if (tb[QKTLS_A_SOCK_REKEY_BYTES])
		s->rekey_bytes = nla_get_u64(tb[QKTLS_A_SOCK_REKEY_BYTES]);
	if (tb[QKTLS_A_SOCK_REKEY_SECONDS])
		s->rekey_seconds = nla_get_u32(tb[QKTLS_A_SOCK_REKEY_SECONDS]);
	if (tb[QKTLS_A_SOCK_REKEY_RECORDS])
		s->rekey_records = nla_get_u64(tb[QKTLS_A_SOCK_REKEY_RECORDS]);
	if (tb[QKTLS_A_SOCK_STATS] &&
	    !nla_parse_nested(st, QKTLS_SOCK_STATS_A_MAX,
			      tb[QKTLS_A_SOCK_STATS], NULL))
		for (i = 0; i <= QKTLS_SOCK_STATS_A_MAX; i++)
			if (st[i] && i != QKTLS_SOCK_STATS_A_PAD)
				s->stats[i] = nla_get_u64(st[i]);
	s->seen = true;
	return 0;
}

static inline int qk_sock_info_cb(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[QKTLS_A_MAX + 1];

	if (genlmsg_parse(nlh, 0, tb, QKTLS_A_MAX, NULL))
		return 0;
	qk_sock_info_parse(tb, arg);
	return 0;
}

static inline int qk_sock_attach(struct qk *q, const struct qk_attach *a,
				 struct qk_sock_info *info, struct qk_reply *r)
{
	struct nl_msg *msg = qk_msg(q, QKTLS_CMD_SOCK_ATTACH, false);
	struct qk_sock_info dummy;

	nla_put_s32(msg, QKTLS_A_SOCK_FD, a->fd);
	if (a->cipher)
		nla_put_u16(msg, QKTLS_A_SOCK_CIPHER, a->cipher);
	if (a->tx_secret)
		nla_put(msg, QKTLS_A_SOCK_TX_SECRET, a->tx_len, a->tx_secret);
	if (a->rx_secret)
		nla_put(msg, QKTLS_A_SOCK_RX_SECRET, a->rx_len, a->rx_secret);
	if (a->link)
		nla_put_string(msg, QKTLS_A_SOCK_LINK, a->link);
	if (a->tx_pool)
		nla_put_string(msg, QKTLS_A_SOCK_TX_POOL, a->tx_pool);
	if (a->rx_pool)
		nla_put_string(msg, QKTLS_A_SOCK_RX_POOL, a->rx_pool);
	if (a->qkd_update)
		nla_put_flag(msg, QKTLS_A_SOCK_QKD_UPDATE);
	if (a->rekey_required)
		nla_put_flag(msg, QKTLS_A_SOCK_REKEY_REQUIRED);
	if (a->rekey_bytes)
		nla_put_u64(msg, QKTLS_A_SOCK_REKEY_BYTES, a->rekey_bytes);
	if (a->rekey_seconds)
		nla_put_u32(msg, QKTLS_A_SOCK_REKEY_SECONDS, a->rekey_seconds);
	if (a->rekey_records)
		nla_put_u64(msg, QKTLS_A_SOCK_REKEY_RECORDS, a->rekey_records);
	if (a->qkd_policy)
		nla_put_u8(msg, QKTLS_A_SOCK_QKD_POLICY, a->qkd_policy - 1);
	return qk_xfer(q, msg, r, qk_sock_info_cb, info ? info : &dummy);
}

/* SOCK_GET (@dump false) or SOCK_DETACH of the socket @fd (>= 0) or @id. */
static inline int qk_sock_cmd(struct qk *q, uint8_t cmd, int fd, uint64_t id,
			      struct qk_sock_info *info, struct qk_reply *r)
{
	struct nl_msg *msg = qk_msg(q, cmd, false);
	struct qk_sock_info dummy;

	if (fd >= 0)
		nla_put_s32(msg, QKTLS_A_SOCK_FD, fd);
	else
		nla_put_u64(msg, QKTLS_A_SOCK_ID, id);
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	return qk_xfer(q, msg, r, qk_sock_info_cb, info);
}

/* SOCK_GET of the socket @fd: the module's view of it (unseen if none). */
static inline struct qk_sock_info qk_sock_get_fd(struct qk *q, int fd)
{
	struct qk_sock_info si;
	struct qk_reply r;

	qk_sock_cmd(q, QKTLS_CMD_SOCK_GET, fd, 0, &si, &r);
	qk_reply_free(&r);
	return si;
}

/* A counter of a struct qk_sock_info: QK_STAT(si, TX_REKEYS). */
#define QK_STAT(si, name) ((si).stats[QKTLS_SOCK_STATS_A_##name])

/* Dump the attached sockets; finds @want (if non-zero) into @found. */
struct qk_sock_dump {
	uint64_t want;
	int n;
	struct qk_sock_info found;
};

static inline int qk_sock_dump_cb(struct nlmsghdr *nlh, void *arg)
{
	struct qk_sock_dump *d = arg;
	struct qk_sock_info s;

	qk_sock_info_cb(nlh, &s);
	if (!s.seen)
		return 0;
	d->n++;
	if (d->want && s.id == d->want)
		d->found = s;
	return 0;
}

static inline int qk_sock_dump(struct qk *q, uint64_t want,
			       struct qk_sock_dump *d, struct qk_reply *r)
{
	memset(d, 0, sizeof(*d));
	d->want = want;
	return qk_xfer(q, qk_msg(q, QKTLS_CMD_SOCK_GET, true), r,
		       qk_sock_dump_cb, d);
}

/* SOCK_REKEY; the reply's key reference in @used (if non-NULL). */
struct qk_rekey_reply {
	bool has_ref;
	uint8_t ref[QKTLS_KEY_ID_LEN];
};

static inline int qk_rekey_cb(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[QKTLS_A_MAX + 1];
	struct qk_rekey_reply *rr = arg;

	if (genlmsg_parse(nlh, 0, tb, QKTLS_A_MAX, NULL))
		return 0;
	if (tb[QKTLS_A_SOCK_KEY_REF]) {
		rr->has_ref = true;
		memcpy(rr->ref, nla_data(tb[QKTLS_A_SOCK_KEY_REF]),
		       QKTLS_KEY_ID_LEN);
	}
	return 0;
}

static inline int qk_sock_rekey(struct qk *q, int fd, uint8_t dir,
				uint32_t flags, const uint8_t *ref,
				struct qk_rekey_reply *used,
				struct qk_reply *r)
{
	struct nl_msg *msg = qk_msg(q, QKTLS_CMD_SOCK_REKEY, false);
	struct qk_rekey_reply dummy;

	nla_put_s32(msg, QKTLS_A_SOCK_FD, fd);
	nla_put_u8(msg, QKTLS_A_SOCK_DIRECTION, dir);
	if (flags)
		nla_put_u32(msg, QKTLS_A_SOCK_REKEY_FLAGS, flags);
	if (ref)
		nla_put(msg, QKTLS_A_SOCK_KEY_REF, QKTLS_KEY_ID_LEN, ref);
	if (!used)
		used = &dummy;
	memset(used, 0, sizeof(*used));
	return qk_xfer(q, msg, r, qk_rekey_cb, used);
}

/* The socket cookie of @fd (SO_COOKIE), 0 on error. */
static inline uint64_t qk_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len))
		return 0;
	return c;
}

/* ---- the test's environment ---------------------------------------------- */

/*
 * qk_private_netns() and qk_tls_stat() are in ktls.h (no libnl needed);
 * qktls_nl.h's helpers for the rest of the test's environment follow.
 */

/*
 * SLUB counts the free objects of the per-CPU slabs as in use: shrinking
 * every cache first (/sys/kernel/slab/NAME/shrink, root only) makes
 * /proc/slabinfo's figures those of the objects really in use.
 */
static inline void qk_slab_shrink(void)
{
	glob_t g;
	size_t i;

	if (glob("/sys/kernel/slab/*/shrink", 0, NULL, &g))
		return;
	for (i = 0; i < g.gl_pathc; i++) {
		int fd = open(g.gl_pathv[i], O_WRONLY | O_CLOEXEC);

		/* A cache that cannot shrink counts as it is. */
		if (fd >= 0) {
			ssize_t n = write(fd, "1", 1);

			(void)n;
			close(fd);
		}
	}
	globfree(&g);
}

/* Active objects of a slab cache, -1 if there is no such cache. */
static inline long qk_slab_active(const char *cache)
{
	char line[512], name[64];
	long active = -1, n;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", name, &n) == 2 &&
		    !strcmp(name, cache))
			active = n;
	fclose(f);
	return active;
}

/*
 * Kernel memory in slab caches and vmalloc areas, from /proc/meminfo
 * ("Slab" + "VmallocUsed"), bytes; -1 if unreadable.  The difference over
 * loading many keys is what they cost.  Every slab cache is shrunk first
 * (/sys/kernel/slab/NAME/shrink, as root), so that empty slabs SLUB kept
 * from earlier frees neither hide a load's growth nor count after a flush.
 */
static inline long long qk_kernel_mem(void)
{
	long long slab = -1, vmalloc = -1, v;
	char line[256];
	glob_t g;
	FILE *f;
	size_t i;

	if (!glob("/sys/kernel/slab/*/shrink", 0, NULL, &g)) {
		for (i = 0; i < g.gl_pathc; i++) {
			f = fopen(g.gl_pathv[i], "w");
			if (f) {
				fputs("1", f);
				fclose(f);
			}
		}
		globfree(&g);
	}
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Slab: %lld kB", &v) == 1)
			slab = v;
		else if (sscanf(line, "VmallocUsed: %lld kB", &v) == 1)
			vmalloc = v;
	}
	fclose(f);
	return slab < 0 || vmalloc < 0 ? -1 : (slab + vmalloc) * 1024;
}

/* A parameter of qktls.ko (/sys/module/qktls/parameters), -1 if unreadable. */
static inline long qk_param(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/qktls/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Set a parameter of qktls.ko; 0 or -1. */
static inline int qk_set_param(const char *name, long v)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/sys/module/qktls/parameters/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ret = fprintf(f, "%ld\n", v) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

/* The number in environment variable @name, or @def if unset or not one. */
static inline unsigned long qk_env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoul(s, &end, 0);
	return errno || *end ? def : v;
}

/* Run a shell command; its exit status, -1 if it did not exit. */
static inline int qk_run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Wait for the child @pid; its exit status, -1 if it did not exit. */
static inline int qk_wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Drop CAP_NET_ADMIN from every set of this process. */
static inline int qk_drop_net_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	unsigned int bit = 1u << (CAP_NET_ADMIN % 32);

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_NET_ADMIN / 32].effective &= ~bit;
	d[CAP_NET_ADMIN / 32].permitted &= ~bit;
	d[CAP_NET_ADMIN / 32].inheritable &= ~bit;
	return syscall(SYS_capset, &h, d);
}

#endif /* QKTLS_TESTS_NL_H */
