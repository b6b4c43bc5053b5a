// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: the "qktls" generic netlink family (uapi/linux/qktls.h documents
 * every command; Documentation/netlink/specs/qktls.yaml is its YNL spec).
 *
 * Every pool operation needs CAP_NET_ADMIN over the caller's network
 * namespace (the socket commands, kernel/sock_nl.c, check their own), and
 * every operation validates its attributes against its own strict policy.  Key
 * material only ever travels from userspace into the kernel: it is copied
 * out of the request, then wiped in the request itself, so that not even
 * an error acknowledgment that echoes the request carries it back.
 */

#include <linux/kernel.h>
#include <linux/string.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "netlink.h"
#include "pool.h"
#include "sock.h"

/*
 * Events may come from work items (expiry) while the module unloads:
 * qktls_nl_exit() waits for senders in flight and stops new ones before
 * the family, and with it its multicast group, goes away.
 */
static DECLARE_RWSEM(qktls_nl_events_lock);
static bool qktls_nl_events_on;

/* --- policies -------------------------------------------------------------- */

static const struct nla_policy qktls_key_add_nl_policy[QKTLS_KEY_A_MATERIAL + 1] = {
	[QKTLS_KEY_A_ID] = NLA_POLICY_EXACT_LEN(QKTLS_KEY_ID_LEN),
	[QKTLS_KEY_A_INDEX] = { .type = NLA_U64 },
	[QKTLS_KEY_A_MATERIAL] = NLA_POLICY_RANGE(NLA_BINARY, QKTLS_KEY_MIN_LEN,
						  QKTLS_KEY_MAX_LEN),
};

static const struct nla_policy qktls_key_id_nl_policy[QKTLS_KEY_A_ID + 1] = {
	[QKTLS_KEY_A_ID] = NLA_POLICY_EXACT_LEN(QKTLS_KEY_ID_LEN),
};

#define QKTLS_NAME_POLICY \
	[QKTLS_A_POOL_NAME] = { .type = NLA_NUL_STRING, \
				.len = QKTLS_POOL_NAME_MAX - 1 }
#define QKTLS_PEER_POLICY \
	[QKTLS_A_POOL_PEER] = { .type = NLA_NUL_STRING, \
				.len = QKTLS_PEER_MAX - 1 }
#define QKTLS_KEY_LEN_POLICY(a) \
	[a] = NLA_POLICY_RANGE(NLA_U32, QKTLS_KEY_MIN_LEN, QKTLS_KEY_MAX_LEN)

static const struct nla_policy qktls_pool_new_nl_policy[QKTLS_A_POOL_REKEY_SECONDS + 1] = {
	QKTLS_NAME_POLICY,
	QKTLS_PEER_POLICY,
	QKTLS_KEY_LEN_POLICY(QKTLS_A_POOL_KEY_MIN_LEN),
	QKTLS_KEY_LEN_POLICY(QKTLS_A_POOL_KEY_MAX_LEN),
	[QKTLS_A_POOL_CAPACITY] = NLA_POLICY_MIN(NLA_U32, 1),
	[QKTLS_A_POOL_LOW_WATERMARK] = { .type = NLA_U32 },
	[QKTLS_A_POOL_KEY_LIFETIME] = { .type = NLA_U32 },
	[QKTLS_A_POOL_REKEY_BYTES] = { .type = NLA_U64 },
	[QKTLS_A_POOL_REKEY_SECONDS] = { .type = NLA_U32 },
};

static const struct nla_policy qktls_pool_name_nl_policy[QKTLS_A_POOL_NAME + 1] = {
	QKTLS_NAME_POLICY,
};

static const struct nla_policy qktls_key_add_req_nl_policy[QKTLS_A_KEY + 1] = {
	QKTLS_NAME_POLICY,
	[QKTLS_A_KEY] = NLA_POLICY_NESTED(qktls_key_add_nl_policy),
};

static const struct nla_policy qktls_key_id_req_nl_policy[QKTLS_A_KEY + 1] = {
	QKTLS_NAME_POLICY,
	[QKTLS_A_KEY] = NLA_POLICY_NESTED(qktls_key_id_nl_policy),
};

/* --- messages -------------------------------------------------------------- */

/**
 * qktls_nl_event_begin() - may an event be sent to @net now?
 * @net: the namespace of the event
 *
 * On true, the family stays registered until qktls_nl_event_end().
 *
 * Return: true if the family is up and the group has listeners in @net.
 */
bool qktls_nl_event_begin(struct net *net)
{
	down_read(&qktls_nl_events_lock);
	if (qktls_nl_events_on &&
	    genl_has_listeners(&qktls_nl_family, net, QKTLS_NLGRP_EVENTS))
		return true;
	up_read(&qktls_nl_events_lock);
	return false;
}

/**
 * qktls_nl_event_end() - the end of an event begun by qktls_nl_event_begin()
 */
void qktls_nl_event_end(void)
{
	up_read(&qktls_nl_events_lock);
}

static int qktls_nl_put_stats(struct sk_buff *skb,
			      const struct qktls_pool_stats *s)
{
	struct nlattr *nest = nla_nest_start(skb, QKTLS_A_POOL_STATS);

	if (!nest ||
	    nla_put_u64_64bit(skb, QKTLS_STATS_A_KEYS_ADDED, s->keys_added,
			      QKTLS_STATS_A_PAD) ||
	    nla_put_u64_64bit(skb, QKTLS_STATS_A_KEYS_CONSUMED,
			      s->keys_consumed, QKTLS_STATS_A_PAD) ||
	    nla_put_u64_64bit(skb, QKTLS_STATS_A_KEYS_EXPIRED, s->keys_expired,
			      QKTLS_STATS_A_PAD) ||
	    nla_put_u64_64bit(skb, QKTLS_STATS_A_KEYS_DROPPED, s->keys_dropped,
			      QKTLS_STATS_A_PAD) ||
	    nla_put_u64_64bit(skb, QKTLS_STATS_A_BYTES_ADDED, s->bytes_added,
			      QKTLS_STATS_A_PAD) ||
	    nla_put_u64_64bit(skb, QKTLS_STATS_A_BYTES_CONSUMED,
			      s->bytes_consumed, QKTLS_STATS_A_PAD) ||
	    nla_put_u64_64bit(skb, QKTLS_STATS_A_ADD_REJECTED, s->add_rejected,
			      QKTLS_STATS_A_PAD) ||
	    nla_put_u64_64bit(skb, QKTLS_STATS_A_LOW_EVENTS, s->low_events,
			      QKTLS_STATS_A_PAD) ||
	    nla_put_u64_64bit(skb, QKTLS_STATS_A_EMPTY_EVENTS, s->empty_events,
			      QKTLS_STATS_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* A pool as QKTLS_CMD_POOL_GET gives it; pool->lock held. */
static int qktls_nl_fill_pool(struct sk_buff *skb, struct qktls_pool *pool,
			      u32 portid, u32 seq, int flags, u8 cmd)
{
	void *hdr;

	lockdep_assert_held(&pool->lock);
	hdr = genlmsg_put(skb, portid, seq, &qktls_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, QKTLS_A_POOL_ID, pool->id) ||
	    nla_put_string(skb, QKTLS_A_POOL_NAME, pool->name) ||
	    (pool->peer[0] &&
	     nla_put_string(skb, QKTLS_A_POOL_PEER, pool->peer)) ||
	    nla_put_u32(skb, QKTLS_A_POOL_KEY_MIN_LEN, pool->key_min_len) ||
	    nla_put_u32(skb, QKTLS_A_POOL_KEY_MAX_LEN, pool->key_max_len) ||
	    nla_put_u32(skb, QKTLS_A_POOL_CAPACITY, pool->capacity) ||
	    nla_put_u32(skb, QKTLS_A_POOL_LOW_WATERMARK, pool->low_watermark) ||
	    nla_put_u32(skb, QKTLS_A_POOL_KEY_LIFETIME, pool->key_lifetime) ||
	    nla_put_u64_64bit(skb, QKTLS_A_POOL_REKEY_BYTES, pool->rekey_bytes,
			      QKTLS_A_PAD) ||
	    nla_put_u32(skb, QKTLS_A_POOL_REKEY_SECONDS, pool->rekey_seconds) ||
	    nla_put_u32(skb, QKTLS_A_POOL_KEY_COUNT, pool->key_count) ||
	    nla_put_u64_64bit(skb, QKTLS_A_POOL_KEY_BYTES, pool->key_bytes,
			      QKTLS_A_PAD) ||
	    nla_put_u64_64bit(skb, QKTLS_A_POOL_MEM_BYTES, pool->mem_bytes,
			      QKTLS_A_PAD) ||
	    qktls_nl_put_stats(skb, &pool->stats)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int qktls_nl_reply_pool(struct genl_info *info, struct qktls_pool *pool)
{
	struct sk_buff *msg;
	int err;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&pool->lock);
	err = qktls_nl_fill_pool(msg, pool, info->snd_portid, info->snd_seq, 0,
				 info->genlhdr->cmd);
	mutex_unlock(&pool->lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/**
 * qktls_nl_pool_event() - announce a pool event on the "events" group
 * @pool: the pool; its lock held for LOW, EMPTY and EXPIRED events, its
 *	namespace's lock for CREATED and DELETED
 * @cmd: QKTLS_CMD_*_NTF
 * @expired: keys expired, for QKTLS_CMD_KEYS_EXPIRED_NTF
 */
void qktls_nl_pool_event(struct qktls_pool *pool, u8 cmd, u32 expired)
{
	struct net *net = pool->qn->net;
	struct sk_buff *skb;
	void *hdr;

	if (!qktls_nl_event_begin(net))
		return;
	skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!skb)
		goto out;
	hdr = genlmsg_put(skb, 0, 0, &qktls_nl_family, 0, cmd);
	if (!hdr)
		goto fail;
	if (nla_put_u32(skb, QKTLS_A_POOL_ID, pool->id) ||
	    nla_put_string(skb, QKTLS_A_POOL_NAME, pool->name))
		goto fail;
	if (cmd == QKTLS_CMD_POOL_CREATED_NTF ||
	    cmd == QKTLS_CMD_POOL_DELETED_NTF) {
		if (pool->peer[0] &&
		    nla_put_string(skb, QKTLS_A_POOL_PEER, pool->peer))
			goto fail;
	} else {
		if (nla_put_u32(skb, QKTLS_A_POOL_KEY_COUNT, pool->key_count) ||
		    nla_put_u32(skb, QKTLS_A_POOL_LOW_WATERMARK,
				pool->low_watermark) ||
		    nla_put_u32(skb, QKTLS_A_POOL_CAPACITY, pool->capacity))
			goto fail;
		if (cmd == QKTLS_CMD_KEYS_EXPIRED_NTF &&
		    nla_put_u32(skb, QKTLS_A_EXPIRED_COUNT, expired))
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

/* --- helpers --------------------------------------------------------------- */

static bool qktls_nl_name_ok(const struct nlattr *attr,
			     struct netlink_ext_ack *extack)
{
	const char *name = nla_data(attr);
	size_t i, len = strlen(name);

	if (!len) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "pool name is empty");
		return false;
	}
	for (i = 0; i < len; i++) {
		if (!isalnum(name[i]) && !strchr("._-", name[i])) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "pool name may only hold A-Z a-z 0-9 . _ -");
			return false;
		}
	}
	return true;
}

/* The pool QKTLS_A_POOL_NAME names, referenced, or an ERR_PTR. */
static struct qktls_pool *qktls_nl_pool(struct genl_info *info)
{
	struct qktls_pool *pool;
	struct nlattr *attr;

	if (GENL_REQ_ATTR_CHECK(info, QKTLS_A_POOL_NAME))
		return ERR_PTR(-EINVAL);
	attr = info->attrs[QKTLS_A_POOL_NAME];
	pool = qktls_pool_get(qktls_net(genl_info_net(info)), nla_data(attr));
	if (!pool) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such pool");
		return ERR_PTR(-ENOENT);
	}
	return pool;
}

static unsigned int qktls_nl_count_keys(const struct genl_info *info)
{
	const struct nlattr *attr;
	unsigned int n = 0;
	int rem;

	nla_for_each_attr_type(attr, QKTLS_A_KEY, genlmsg_data(info->genlhdr),
			       genlmsg_len(info->genlhdr), rem)
		n++;
	return n;
}

static u32 qktls_nl_u32(const struct genl_info *info, int type, u32 def)
{
	return info->attrs[type] ? nla_get_u32(info->attrs[type]) : def;
}

/*
 * The rekey policy of a new or changed pool.  Only a kernel whose kTLS can
 * rekey takes one: an operator's policy must not be silently ignored.
 */
static int qktls_nl_pool_rekey(struct genl_info *info,
			       struct qktls_pool_params *p)
{
	struct nlattr *bytes = info->attrs[QKTLS_A_POOL_REKEY_BYTES];
	struct nlattr *secs = info->attrs[QKTLS_A_POOL_REKEY_SECONDS];

	p->set_rekey_bytes = !!bytes;
	p->rekey_bytes = bytes ? nla_get_u64(bytes) : 0;
	p->set_rekey_seconds = !!secs;
	p->rekey_seconds = qktls_nl_u32(info, QKTLS_A_POOL_REKEY_SECONDS, 0);
	if ((p->rekey_bytes || p->rekey_seconds) && !qktls_have_ktls_rekey()) {
		NL_SET_ERR_MSG_ATTR(info->extack, p->rekey_bytes ? bytes : secs,
				    "kernel has no kTLS rekey (needs Linux 6.14 or later)");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* --- pools ----------------------------------------------------------------- */

static int qktls_nl_pool_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct qktls_pool_params p = {};
	struct nlattr **tb = info->attrs;
	struct qktls_pool *pool;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, QKTLS_A_POOL_NAME))
		return -EINVAL;
	if (!qktls_nl_name_ok(tb[QKTLS_A_POOL_NAME], extack))
		return -EINVAL;
	if (tb[QKTLS_A_POOL_PEER])
		p.peer = nla_data(tb[QKTLS_A_POOL_PEER]);
	p.key_min_len = qktls_nl_u32(info, QKTLS_A_POOL_KEY_MIN_LEN, 32);
	p.key_max_len = qktls_nl_u32(info, QKTLS_A_POOL_KEY_MAX_LEN, 32);
	/* With one end of the range given, the default other end follows. */
	if (!tb[QKTLS_A_POOL_KEY_MAX_LEN])
		p.key_max_len = max(p.key_max_len, p.key_min_len);
	if (!tb[QKTLS_A_POOL_KEY_MIN_LEN])
		p.key_min_len = min(p.key_min_len, p.key_max_len);
	if (p.key_min_len > p.key_max_len) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_POOL_KEY_MAX_LEN],
				    "key_max_len is below key_min_len");
		return -EINVAL;
	}
	p.capacity = qktls_nl_u32(info, QKTLS_A_POOL_CAPACITY, 1024);
	p.low_watermark = qktls_nl_u32(info, QKTLS_A_POOL_LOW_WATERMARK,
				       p.capacity / 4);
	if (p.low_watermark >= p.capacity) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_POOL_LOW_WATERMARK],
				    "low watermark must be below the capacity");
		return -EINVAL;
	}
	p.key_lifetime = qktls_nl_u32(info, QKTLS_A_POOL_KEY_LIFETIME, 0);
	err = qktls_nl_pool_rekey(info, &p);
	if (err)
		return err;

	err = qktls_pool_create(qktls_net(genl_info_net(info)),
				nla_data(tb[QKTLS_A_POOL_NAME]), &p, &pool);
	if (err == -EEXIST) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_POOL_NAME],
				    "a pool of this name exists");
		return err;
	}
	if (err == -ENOSPC) {
		NL_SET_ERR_MSG_FMT(extack,
				   "the namespace has max_pools (%u) pools",
				   READ_ONCE(qktls_max_pools));
		return err;
	}
	if (err)
		return err;
	err = qktls_nl_reply_pool(info, pool);
	qktls_pool_put(pool);
	return err;
}

static int qktls_nl_pool_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, QKTLS_A_POOL_NAME))
		return -EINVAL;
	attr = info->attrs[QKTLS_A_POOL_NAME];
	err = qktls_pool_delete(qktls_net(genl_info_net(info)),
				nla_data(attr));
	if (err == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such pool");
	return err;
}

static int qktls_nl_pool_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct qktls_pool_params p = {};
	struct nlattr **tb = info->attrs;
	enum qktls_pool_err why;
	struct qktls_pool *pool;
	int err;

	pool = qktls_nl_pool(info);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	err = -EINVAL;
	if (tb[QKTLS_A_POOL_KEY_MIN_LEN] &&
	    nla_get_u32(tb[QKTLS_A_POOL_KEY_MIN_LEN]) != pool->key_min_len) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_POOL_KEY_MIN_LEN],
				    "the key length range of a pool cannot change");
		goto out;
	}
	if (tb[QKTLS_A_POOL_KEY_MAX_LEN] &&
	    nla_get_u32(tb[QKTLS_A_POOL_KEY_MAX_LEN]) != pool->key_max_len) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_POOL_KEY_MAX_LEN],
				    "the key length range of a pool cannot change");
		goto out;
	}
	if (tb[QKTLS_A_POOL_PEER])
		p.peer = nla_data(tb[QKTLS_A_POOL_PEER]);
	p.set_capacity = !!tb[QKTLS_A_POOL_CAPACITY];
	p.capacity = qktls_nl_u32(info, QKTLS_A_POOL_CAPACITY, 0);
	p.set_low_watermark = !!tb[QKTLS_A_POOL_LOW_WATERMARK];
	p.low_watermark = qktls_nl_u32(info, QKTLS_A_POOL_LOW_WATERMARK, 0);
	p.set_key_lifetime = !!tb[QKTLS_A_POOL_KEY_LIFETIME];
	p.key_lifetime = qktls_nl_u32(info, QKTLS_A_POOL_KEY_LIFETIME, 0);
	err = qktls_nl_pool_rekey(info, &p);
	if (err)
		goto out;

	err = qktls_pool_set(pool, &p, &why);
	switch (why) {
	case QKTLS_ERR_DEAD:
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_POOL_NAME],
				    "no such pool");
		break;
	case QKTLS_ERR_BUSY:
		NL_SET_ERR_MSG_ATTR(extack, tb[QKTLS_A_POOL_CAPACITY],
				    "capacity is below the keys the pool holds");
		break;
	case QKTLS_ERR_WATERMARK:
		NL_SET_ERR_MSG_ATTR(extack,
				    tb[QKTLS_A_POOL_LOW_WATERMARK] ?:
				    tb[QKTLS_A_POOL_CAPACITY],
				    "low watermark must be below the capacity");
		break;
	default:
		break;
	}
	if (!err)
		err = qktls_nl_reply_pool(info, pool);
out:
	qktls_pool_put(pool);
	return err;
}

static int qktls_nl_pool_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct qktls_pool *pool;
	int err;

	pool = qktls_nl_pool(info);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	err = qktls_nl_reply_pool(info, pool);
	qktls_pool_put(pool);
	return err;
}

/* cb->args[0]: the lowest pool ID not dumped yet. */
static int qktls_nl_pool_get_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	struct qktls_net *qn = qktls_net(sock_net(skb->sk));
	struct qktls_pool *pool;
	unsigned long id;
	int err;

	mutex_lock(&qn->lock);
	xa_for_each_start(&qn->pools, id, pool, cb->args[0]) {
		mutex_lock(&pool->lock);
		err = qktls_nl_fill_pool(skb, pool,
					 NETLINK_CB(cb->skb).portid,
					 cb->nlh->nlmsg_seq, NLM_F_MULTI,
					 QKTLS_CMD_POOL_GET);
		mutex_unlock(&pool->lock);
		if (err)
			break;
		cb->args[0] = id + 1;
	}
	mutex_unlock(&qn->lock);
	return skb->len;
}

/* --- keys ------------------------------------------------------------------ */

/* Wipe every QKTLS_KEY_A_MATERIAL of the request, whatever happened. */
static void qktls_nl_wipe_request(const struct genl_info *info)
{
	struct nlattr *attr, *m;
	int rem;

	nla_for_each_attr_type(attr, QKTLS_A_KEY, genlmsg_data(info->genlhdr),
			       genlmsg_len(info->genlhdr), rem) {
		m = nla_find_nested(attr, QKTLS_KEY_A_MATERIAL);
		if (m)
			memzero_explicit(nla_data(m), nla_len(m));
	}
}

static void qktls_nl_add_error(struct netlink_ext_ack *extack,
			       const struct nlattr *key, int err,
			       enum qktls_pool_err why,
			       const struct qktls_pool *pool)
{
	switch (why) {
	case QKTLS_ERR_DEAD:
		NL_SET_ERR_MSG(extack, "no such pool");
		break;
	case QKTLS_ERR_LEN:
		NL_SET_ERR_MSG_ATTR_FMT(extack, key,
					"key length outside the pool's range %u..%u",
					pool->key_min_len, pool->key_max_len);
		break;
	case QKTLS_ERR_DUP:
		NL_SET_ERR_MSG_ATTR(extack, key,
				    "duplicate key ID (in the pool or the batch)");
		break;
	case QKTLS_ERR_CAPACITY:
		NL_SET_ERR_MSG_ATTR_FMT(extack, key,
					"pool is full (capacity %u)",
					pool->capacity);
		break;
	case QKTLS_ERR_POOL_MEM:
		NL_SET_ERR_MSG_ATTR_FMT(extack, key,
					"pool memory limit reached (pool_max_mem_bytes %lu)",
					READ_ONCE(qktls_pool_max_mem_bytes));
		break;
	case QKTLS_ERR_SPAN:
		NL_SET_ERR_MSG(extack,
			       "the pool's oldest key is 2^32 keys older than the newest: take or delete it first");
		break;
	case QKTLS_ERR_GLOBAL_MEM:
		NL_SET_ERR_MSG_FMT(extack,
				   "global memory limit reached (max_mem_bytes %lu)",
				   READ_ONCE(qktls_max_mem_bytes));
		break;
	default:
		NL_SET_ERR_MSG(extack, "out of memory for the batch");
		break;
	}
}

static int qktls_nl_key_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[QKTLS_KEY_A_MATERIAL + 1];
	const struct nlattr **where = NULL;
	struct qktls_key *keys = NULL;
	unsigned int i = 0, n, bad;
	enum qktls_pool_err why;
	struct qktls_pool *pool;
	struct nlattr *attr;
	int err, rem;

	pool = qktls_nl_pool(info);
	if (IS_ERR(pool)) {
		err = PTR_ERR(pool);
		pool = NULL;
		goto out;
	}
	n = qktls_nl_count_keys(info);
	if (!n) {
		NL_SET_ERR_ATTR_MISS(extack, NULL, QKTLS_A_KEY);
		NL_SET_ERR_MSG(extack, "no key in the batch");
		err = -EINVAL;
		goto out;
	}
	/* Refuse a batch that cannot fit before allocating for it. */
	err = qktls_pool_batch_fits(pool, n, &why);
	if (err) {
		qktls_nl_add_error(extack, NULL, err, why, pool);
		goto out;
	}
	err = -ENOMEM;
	keys = kvcalloc(n, sizeof(*keys), GFP_KERNEL);
	where = kvcalloc(n, sizeof(*where), GFP_KERNEL);
	if (!keys || !where)
		goto out;

	nla_for_each_attr_type(attr, QKTLS_A_KEY, genlmsg_data(info->genlhdr),
			       genlmsg_len(info->genlhdr), rem) {
		struct qktls_key *key = &keys[i];

		/* Already validated against the policy: this cannot fail. */
		err = nla_parse_nested(tb, QKTLS_KEY_A_MATERIAL, attr,
				       qktls_key_add_nl_policy, extack);
		if (err)
			goto out;
		err = -EINVAL;
		if (!tb[QKTLS_KEY_A_ID]) {
			NL_SET_ERR_ATTR_MISS(extack, attr, QKTLS_KEY_A_ID);
			NL_SET_ERR_MSG(extack, "key without an ID");
			goto out;
		}
		if (!tb[QKTLS_KEY_A_MATERIAL]) {
			NL_SET_ERR_ATTR_MISS(extack, attr, QKTLS_KEY_A_MATERIAL);
			NL_SET_ERR_MSG(extack, "key without material");
			goto out;
		}
		where[i++] = attr;
		nla_memcpy(key->id, tb[QKTLS_KEY_A_ID], sizeof(key->id));
		key->len = nla_len(tb[QKTLS_KEY_A_MATERIAL]);
		nla_memcpy(key->material, tb[QKTLS_KEY_A_MATERIAL],
			   sizeof(key->material));
		if (tb[QKTLS_KEY_A_INDEX]) {
			key->index = nla_get_u64(tb[QKTLS_KEY_A_INDEX]);
			key->has_index = true;
		}
	}

	err = qktls_pool_add(pool, keys, n, &bad, &why);
	if (err)
		qktls_nl_add_error(extack, where[min(bad, n - 1)], err, why,
				   pool);
out:
	qktls_nl_wipe_request(info);
	if (keys)
		kvfree_sensitive(keys, n * sizeof(*keys));
	kvfree(where);
	qktls_pool_put(pool);
	return err;
}

/* The IDs of the QKTLS_A_KEY entries of a request, in @ids (kvfree it). */
static int qktls_nl_key_ids(struct genl_info *info,
			    u8 (**ids)[QKTLS_KEY_ID_LEN],
			    const struct nlattr ***where, unsigned int *n)
{
	struct nlattr *tb[QKTLS_KEY_A_ID + 1];
	struct nlattr *attr;
	unsigned int i = 0;
	int err, rem;

	*n = qktls_nl_count_keys(info);
	*ids = kvcalloc(*n, QKTLS_KEY_ID_LEN, GFP_KERNEL);
	*where = kvcalloc(*n, sizeof(**where), GFP_KERNEL);
	if (*n && (!*ids || !*where))
		return -ENOMEM;
	nla_for_each_attr_type(attr, QKTLS_A_KEY, genlmsg_data(info->genlhdr),
			       genlmsg_len(info->genlhdr), rem) {
		err = nla_parse_nested(tb, QKTLS_KEY_A_ID, attr,
				       qktls_key_id_nl_policy, info->extack);
		if (err)
			return err;
		if (!tb[QKTLS_KEY_A_ID]) {
			NL_SET_ERR_ATTR_MISS(info->extack, attr, QKTLS_KEY_A_ID);
			NL_SET_ERR_MSG(info->extack, "key without an ID");
			return -EINVAL;
		}
		nla_memcpy((*ids)[i], tb[QKTLS_KEY_A_ID], QKTLS_KEY_ID_LEN);
		(*where)[i++] = attr;
	}
	return 0;
}

static int qktls_nl_key_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	u8 (*ids)[QKTLS_KEY_ID_LEN] = NULL;
	const struct nlattr **where = NULL;
	struct qktls_pool *pool;
	unsigned int n, bad;
	int err;

	pool = qktls_nl_pool(info);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	err = qktls_nl_key_ids(info, &ids, &where, &n);
	if (err)
		goto out;
	if (!n) {
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, QKTLS_A_KEY);
		NL_SET_ERR_MSG(info->extack, "no key named");
		err = -EINVAL;
		goto out;
	}
	err = qktls_pool_del_keys(pool, ids[0], n, &bad);
	if (err && bad >= n)
		NL_SET_ERR_MSG(info->extack, "no such pool");
	else if (err == -EINVAL)
		NL_SET_ERR_MSG_ATTR(info->extack, where[bad],
				    "key ID named twice");
	else if (err)
		NL_SET_ERR_MSG_ATTR(info->extack, where[bad],
				    "no key with this ID in the pool");
out:
	kvfree(ids);
	kvfree(where);
	qktls_pool_put(pool);
	return err;
}

static int qktls_nl_key_flush_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct qktls_pool *pool;
	int err;

	pool = qktls_nl_pool(info);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	err = qktls_pool_flush(pool);
	if (err)
		NL_SET_ERR_MSG(info->extack, "no such pool");
	qktls_pool_put(pool);
	return err;
}

static int qktls_nl_key_take_doit(struct sk_buff *skb, struct genl_info *info)
{
	u8 (*ids)[QKTLS_KEY_ID_LEN] = NULL;
	const struct nlattr **where = NULL;
	struct qktls_key taken;
	struct qktls_pool *pool;
	struct sk_buff *msg;
	struct nlattr *nest;
	unsigned int n;
	void *hdr;
	int err;

	pool = qktls_nl_pool(info);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	err = qktls_nl_key_ids(info, &ids, &where, &n);
	if (err)
		goto out;
	if (n > 1) {
		NL_SET_ERR_MSG_ATTR(info->extack, where[1],
				    "KEY_TAKE takes one key at most");
		err = -EINVAL;
		goto out;
	}
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	err = qktls_pool_take(pool, n ? ids[0] : NULL, &taken);
	if (err) {
		nlmsg_free(msg);
		if (n)
			NL_SET_ERR_MSG_ATTR(info->extack, where[0],
					    "no key with this ID in the pool");
		else
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[QKTLS_A_POOL_NAME],
					    "the pool is empty");
		goto out;
	}
	err = -EMSGSIZE;
	hdr = genlmsg_put_reply(msg, info, &qktls_nl_family, 0,
				info->genlhdr->cmd);
	if (!hdr)
		goto fail;
	if (nla_put_string(msg, QKTLS_A_POOL_NAME, pool->name))
		goto fail;
	nest = nla_nest_start(msg, QKTLS_A_KEY);
	if (!nest ||
	    nla_put(msg, QKTLS_KEY_A_ID, QKTLS_KEY_ID_LEN, taken.id) ||
	    (taken.has_index &&
	     nla_put_u64_64bit(msg, QKTLS_KEY_A_INDEX, taken.index,
			       QKTLS_KEY_A_PAD)) ||
	    nla_put_u32(msg, QKTLS_KEY_A_LEN, taken.len))
		goto fail;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	qktls_key_wipe(&taken);
	err = genlmsg_reply(msg, info);
	goto out;
fail:
	qktls_key_wipe(&taken);
	nlmsg_free(msg);
out:
	kvfree(ids);
	kvfree(where);
	qktls_pool_put(pool);
	return err;
}

static int qktls_nl_key_get_start(struct netlink_callback *cb)
{
	struct genl_info *info = (struct genl_info *)genl_info_dump(cb);
	struct qktls_pool *pool;

	pool = qktls_nl_pool(info);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	qktls_pool_put(pool);
	return 0;
}

/* cb->args[0]: the lowest key arrival number not dumped yet. */
static int qktls_nl_key_get_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	const struct genl_info *info = genl_info_dump(cb);
	struct qktls_key_meta key;
	struct qktls_pool *pool;
	struct nlattr *nest;
	unsigned int n = 0;
	u64 now, seq;
	void *hdr;

	pool = qktls_pool_get(qktls_net(sock_net(skb->sk)),
			      nla_data(info->attrs[QKTLS_A_POOL_NAME]));
	if (!pool)
		return 0;	/* deleted during the dump: the dump ends */
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &qktls_nl_family, NLM_F_MULTI, QKTLS_CMD_KEY_GET);
	if (!hdr || nla_put_string(skb, QKTLS_A_POOL_NAME, pool->name))
		goto out;
	now = get_jiffies_64();
	mutex_lock(&pool->lock);
	for (seq = cb->args[0]; qktls_pool_next_key(pool, &seq, &key); seq++) {
		nest = nla_nest_start(skb, QKTLS_A_KEY);
		if (!nest)
			break;
		if (nla_put(skb, QKTLS_KEY_A_ID, QKTLS_KEY_ID_LEN, key.id) ||
		    (key.has_index &&
		     nla_put_u64_64bit(skb, QKTLS_KEY_A_INDEX, key.index,
				       QKTLS_KEY_A_PAD)) ||
		    nla_put_u32(skb, QKTLS_KEY_A_LEN, key.len) ||
		    nla_put_u64_64bit(skb, QKTLS_KEY_A_AGE_MS,
				      jiffies64_to_msecs(now - key.added),
				      QKTLS_KEY_A_PAD)) {
			nla_nest_cancel(skb, nest);
			break;
		}
		nla_nest_end(skb, nest);
		cb->args[0] = seq + 1;
		n++;
	}
	mutex_unlock(&pool->lock);
out:
	if (hdr && n)
		genlmsg_end(skb, hdr);
	else if (hdr)
		genlmsg_cancel(skb, hdr);
	qktls_pool_put(pool);
	return skb->len;
}

/* --- namespace ------------------------------------------------------------- */

static int qktls_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct qktls_net_totals t;
	struct sk_buff *msg;
	void *hdr;

	qktls_net_totals(qktls_net(genl_info_net(info)), &t);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &qktls_nl_family, 0,
				info->genlhdr->cmd);
	if (!hdr ||
	    nla_put_u32(msg, QKTLS_A_NS_POOLS, t.pools) ||
	    nla_put_u32(msg, QKTLS_A_NS_KEYS, t.keys) ||
	    nla_put_u64_64bit(msg, QKTLS_A_NS_KEY_BYTES, t.key_bytes,
			      QKTLS_A_PAD) ||
	    nla_put_u64_64bit(msg, QKTLS_A_NS_MEM_BYTES, t.mem_bytes,
			      QKTLS_A_PAD) ||
	    nla_put_u64_64bit(msg, QKTLS_A_NS_MEM_LIMIT,
			      READ_ONCE(qktls_max_mem_bytes), QKTLS_A_PAD) ||
	    qktls_nl_put_stats(msg, &t.stats)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* --- family ---------------------------------------------------------------- */

#define QKTLS_DO	(GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO)
#define QKTLS_DUMP	(GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DUMP)

static const struct genl_split_ops qktls_nl_ops[] = {
	{
		.cmd		= QKTLS_CMD_POOL_NEW,
		.doit		= qktls_nl_pool_new_doit,
		.policy		= qktls_pool_new_nl_policy,
		.maxattr	= QKTLS_A_POOL_REKEY_SECONDS,
		.flags		= QKTLS_DO,
	},
	{
		.cmd		= QKTLS_CMD_POOL_DEL,
		.doit		= qktls_nl_pool_del_doit,
		.policy		= qktls_pool_name_nl_policy,
		.maxattr	= QKTLS_A_POOL_NAME,
		.flags		= QKTLS_DO,
	},
	{
		.cmd		= QKTLS_CMD_POOL_SET,
		.doit		= qktls_nl_pool_set_doit,
		.policy		= qktls_pool_new_nl_policy,
		.maxattr	= QKTLS_A_POOL_REKEY_SECONDS,
		.flags		= QKTLS_DO,
	},
	{
		.cmd		= QKTLS_CMD_POOL_GET,
		.doit		= qktls_nl_pool_get_doit,
		.policy		= qktls_pool_name_nl_policy,
		.maxattr	= QKTLS_A_POOL_NAME,
		.flags		= QKTLS_DO,
	},
	{
		.cmd		= QKTLS_CMD_POOL_GET,
		.dumpit		= qktls_nl_pool_get_dumpit,
		.flags		= QKTLS_DUMP,
	},
	{
		.cmd		= QKTLS_CMD_KEY_ADD,
		.doit		= qktls_nl_key_add_doit,
		.policy		= qktls_key_add_req_nl_policy,
		.maxattr	= QKTLS_A_KEY,
		.flags		= QKTLS_DO,
	},
	{
		.cmd		= QKTLS_CMD_KEY_DEL,
		.doit		= qktls_nl_key_del_doit,
		.policy		= qktls_key_id_req_nl_policy,
		.maxattr	= QKTLS_A_KEY,
		.flags		= QKTLS_DO,
	},
	{
		.cmd		= QKTLS_CMD_KEY_FLUSH,
		.doit		= qktls_nl_key_flush_doit,
		.policy		= qktls_pool_name_nl_policy,
		.maxattr	= QKTLS_A_POOL_NAME,
		.flags		= QKTLS_DO,
	},
	{
		.cmd		= QKTLS_CMD_KEY_GET,
		.start		= qktls_nl_key_get_start,
		.dumpit		= qktls_nl_key_get_dumpit,
		.policy		= qktls_pool_name_nl_policy,
		.maxattr	= QKTLS_A_POOL_NAME,
		.flags		= QKTLS_DUMP,
	},
	{
		.cmd		= QKTLS_CMD_KEY_TAKE,
		.doit		= qktls_nl_key_take_doit,
		.policy		= qktls_key_id_req_nl_policy,
		.maxattr	= QKTLS_A_KEY,
		.flags		= QKTLS_DO,
	},
	{
		.cmd		= QKTLS_CMD_STATS_GET,
		.doit		= qktls_nl_stats_get_doit,
		.flags		= QKTLS_DO,
	},
	{
		.cmd		= QKTLS_CMD_SOCK_ATTACH,
		.doit		= qktls_nl_sock_attach_doit,
		.policy		= qktls_sock_attach_nl_policy,
		.maxattr	= QKTLS_A_SOCK_QKD_POLICY,
		.flags		= QKTLS_DO,
	},
	/* By fd: no capability; by ID: the handler checks CAP_NET_ADMIN. */
	{
		.cmd		= QKTLS_CMD_SOCK_DETACH,
		.doit		= qktls_nl_sock_detach_doit,
		.policy		= qktls_sock_name_nl_policy,
		.maxattr	= QKTLS_A_SOCK_ID,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= QKTLS_CMD_SOCK_GET,
		.doit		= qktls_nl_sock_get_doit,
		.policy		= qktls_sock_name_nl_policy,
		.maxattr	= QKTLS_A_SOCK_ID,
		.flags		= GENL_CMD_CAP_DO,
	},
	/* Do and dump share flags: the dump checks CAP_NET_ADMIN at start. */
	{
		.cmd		= QKTLS_CMD_SOCK_GET,
		.start		= qktls_nl_sock_get_start,
		.dumpit		= qktls_nl_sock_get_dumpit,
		.flags		= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= QKTLS_CMD_SOCK_REKEY,
		.doit		= qktls_nl_sock_rekey_doit,
		.policy		= qktls_sock_rekey_nl_policy,
		.maxattr	= QKTLS_A_SOCK_KEY_REF,
		.flags		= GENL_CMD_CAP_DO,
	},
};

static const struct genl_multicast_group qktls_nl_mcgrps[] = {
	[QKTLS_NLGRP_EVENTS] = {
		.name	= QKTLS_MCGRP_EVENTS,
		.flags	= GENL_MCAST_CAP_NET_ADMIN,
	},
};

struct genl_family qktls_nl_family __ro_after_init = {
	.name		= QKTLS_GENL_NAME,
	.version	= QKTLS_GENL_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.split_ops	= qktls_nl_ops,
	.n_split_ops	= ARRAY_SIZE(qktls_nl_ops),
	.mcgrps		= qktls_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(qktls_nl_mcgrps),
};

/**
 * qktls_nl_init() - register the "qktls" generic netlink family
 *
 * Return: 0 or a negative errno.
 */
int qktls_nl_init(void)
{
	int err = genl_register_family(&qktls_nl_family);

	if (!err) {
		down_write(&qktls_nl_events_lock);
		qktls_nl_events_on = true;
		up_write(&qktls_nl_events_lock);
	}
	return err;
}

/**
 * qktls_nl_exit() - unregister the family; no request runs afterwards
 */
void qktls_nl_exit(void)
{
	down_write(&qktls_nl_events_lock);
	qktls_nl_events_on = false;
	up_write(&qktls_nl_events_lock);
	genl_unregister_family(&qktls_nl_family);
}
