// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel pools of qktls.ko, over generic netlink (libnl-genl-3):
 * creating a link's pools, adding and deleting key batches, reading a
 * pool's key count, and one thread that listens to the module's event
 * group for all links (QKTLS_CMD_POOL_LOW_NTF, _EMPTY_NTF,
 * _KEYS_EXPIRED_NTF) and wakes the link's feeder.
 *
 * Requests go through one socket under a mutex (they are rare: a batch
 * every few hundred handshakes or rekeys).  Messages that carry key
 * material are wiped before they are freed.  When the module is not
 * loaded, every call fails with -ENOENT and the agent feeds only its
 * handshake stores (qd_pool_available() says which).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/qktls.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <openssl/crypto.h>

#include "qktlsd.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static pthread_mutex_t nl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nl_sock *req_sk;
static int family = -1;
static pthread_t ev_thread;
static struct nl_sock *ev_sk;
static int ev_stop = -1;	/* eventfd: stop the event thread */

static struct nla_policy pool_policy[QKTLS_A_MAX + 1] = {
	[QKTLS_A_POOL_NAME] = { .type = NLA_STRING },
	[QKTLS_A_POOL_KEY_COUNT] = { .type = NLA_U32 },
};

static struct nl_sock *open_sock(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int one = 1;

	if (!sk)
		return NULL;
	if (genl_connect(sk) < 0) {
		nl_socket_free(sk);
		return NULL;
	}
	/* Errors never echo a request (which may carry key material). */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one,
		   sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	return sk;
}

/* Resolve the family (again, if the module came or went); lock held. */
static int resolve(void)
{
	if (!req_sk)
		req_sk = open_sock();
	if (!req_sk)
		return -ENOMEM;
	family = genl_ctrl_resolve(req_sk, QKTLS_GENL_NAME);
	return family < 0 ? -ENOENT : 0;
}

bool qd_pool_available(void)
{
	bool ok;

	pthread_mutex_lock(&nl_lock);
	ok = family >= 0 || !resolve();
	pthread_mutex_unlock(&nl_lock);
	return ok;
}

static struct nl_msg *msg_new(uint8_t cmd, int flags, const char *pool)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd,
			 QKTLS_GENL_VERSION) ||
	    (pool && nla_put_string(msg, QKTLS_A_POOL_NAME, pool) < 0)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void msg_free_wiped(struct nl_msg *msg)
{
	OPENSSL_cleanse(nlmsg_hdr(msg), nlmsg_get_max_size(msg));
	nlmsg_free(msg);
}

/* libnl error to a negative errno (the kernel's, when it sent one). */
static int nl_errno(int err)
{
	switch (-err) {
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_PERM:
		return -EPERM;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_BUSY:
		return -EBUSY;
	default:
		return -EIO;
	}
}

struct req {
	long count;
	int err;
	bool done;
	struct qd_store_key *keys;	/* KEY_GET dump: the keys so far */
	size_t n, size;
};

static int req_valid(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[QKTLS_A_MAX + 1];
	struct req *r = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, QKTLS_A_MAX, pool_policy) >= 0 &&
	    tb[QKTLS_A_POOL_KEY_COUNT])
		r->count = nla_get_u32(tb[QKTLS_A_POOL_KEY_COUNT]);
	return NL_OK;
}

/* One message of a KEY_GET dump: append its keys' IDs and ages. */
static int list_valid(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct req *r = arg;
	struct nlattr *a;
	int rem;

	nla_for_each_attr(a, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), rem) {
		struct nlattr *kt[QKTLS_KEY_A_MAX + 1];

		/* On an error the rest of the dump is read, not kept. */
		if (nla_type(a) != QKTLS_A_KEY || r->err)
			continue;
		if (nla_parse_nested(kt, QKTLS_KEY_A_MAX, a, NULL) < 0 ||
		    !kt[QKTLS_KEY_A_ID] || nla_len(kt[QKTLS_KEY_A_ID]) != QKTLS_KEY_ID_LEN ||
		    !kt[QKTLS_KEY_A_AGE_MS]) {
			r->err = -EPROTO;
			continue;
		}
		if (r->n == r->size) {
			size_t size = r->size ? 2 * r->size : 256;
			struct qd_store_key *k = realloc(r->keys, size * sizeof(*k));

			if (!k) {
				r->err = -ENOMEM;
				continue;
			}
			r->keys = k;
			r->size = size;
		}
		memcpy(r->keys[r->n].id, nla_data(kt[QKTLS_KEY_A_ID]), QKTLS_KEY_ID_LEN);
		r->keys[r->n++].age_ms = nla_get_u64(kt[QKTLS_KEY_A_AGE_MS]);
	}
	return NL_OK;
}

static int req_ack(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	(void)msg;
	r->done = true;
	return NL_STOP;
}

static int req_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req *r = arg;

	(void)nla;
	r->err = e->error < 0 ? e->error : -e->error;
	r->done = true;
	return NL_STOP;
}

/*
 * Send @msg (then free it, wiped if @wipe) and read until its ack or error:
 * replies (POOL_NEW, POOL_GET) come before the ack, and libnl's
 * nl_wait_for_ack() would stop at the reply and leave the ack for the next
 * request.  Returns 0 or a negative errno; a reply's key count goes to
 * *@count.  Lock held.
 */
static int exec_req(struct nl_msg *msg, bool wipe, struct req *r,
		    nl_recvmsg_msg_cb_t valid)
{
	struct nl_cb *cb;
	int ret;

	if (!msg)
		return -ENOMEM;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		r->err = -ENOMEM;
	} else {
		nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid, r);
		nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, req_ack, r);
		nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, req_ack, r);	/* a dump's end */
		nl_cb_err(cb, NL_CB_CUSTOM, req_err, r);
		ret = nl_send_auto(req_sk, msg);
		while (ret >= 0 && !r->done)
			ret = nl_recvmsgs(req_sk, cb);
		if (ret < 0 && !r->err)
			r->err = nl_errno(ret);
		nl_cb_put(cb);
	}
	if (wipe)
		OPENSSL_cleanse(nlmsg_hdr(msg), nlmsg_get_max_size(msg));
	nlmsg_free(msg);
	return r->err;
}

static int exec_count(struct nl_msg *msg, bool wipe, long *count)
{
	struct req r = { .count = -ENOENT };
	int ret = exec_req(msg, wipe, &r, req_valid);

	if (count)
		*count = r.count;
	return ret;
}

static int exec(struct nl_msg *msg, bool wipe)
{
	return exec_count(msg, wipe, NULL);
}

int qd_pool_create(const char *pool, const char *peer, unsigned int capacity,
		   unsigned int low, unsigned int key_len)
{
	struct nl_msg *msg;
	int ret;

	pthread_mutex_lock(&nl_lock);
	ret = family >= 0 ? 0 : resolve();
	if (ret)
		goto out;
	msg = msg_new(QKTLS_CMD_POOL_NEW, 0, pool);
	if (msg && (nla_put_u32(msg, QKTLS_A_POOL_CAPACITY, capacity) < 0 ||
		    nla_put_u32(msg, QKTLS_A_POOL_LOW_WATERMARK, low) < 0 ||
		    nla_put_u32(msg, QKTLS_A_POOL_KEY_MIN_LEN, key_len) < 0 ||
		    nla_put_u32(msg, QKTLS_A_POOL_KEY_MAX_LEN, key_len) < 0 ||
		    (peer && nla_put_string(msg, QKTLS_A_POOL_PEER, peer) < 0))) {
		nlmsg_free(msg);
		msg = NULL;
	}
	ret = exec(msg, false);
	if (ret == -EEXIST) {
		/* Left by an earlier run: keep it, with this run's settings. */
		msg = msg_new(QKTLS_CMD_POOL_SET, 0, pool);
		if (msg && (nla_put_u32(msg, QKTLS_A_POOL_CAPACITY, capacity) < 0 ||
			    nla_put_u32(msg, QKTLS_A_POOL_LOW_WATERMARK, low) < 0)) {
			nlmsg_free(msg);
			msg = NULL;
		}
		ret = exec(msg, false);
	}
out:
	pthread_mutex_unlock(&nl_lock);
	return ret;
}

/* KEY_ADD or KEY_DEL of @n keys (@keys NULL for DEL). */
static int key_batch(uint8_t cmd, const char *pool,
		     const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		     const uint8_t *const *keys, size_t key_len, size_t n)
{
	struct nl_msg *msg;
	int ret;

	pthread_mutex_lock(&nl_lock);
	ret = family >= 0 ? 0 : resolve();
	if (ret)
		goto out;
	msg = nlmsg_alloc_size(NLMSG_HDRLEN + GENL_HDRLEN + 64 +
			       n * (3 * NLA_HDRLEN + QKTLS_KEY_ID_LEN +
				    NLA_ALIGN(key_len) + 8));
	if (!msg) {
		ret = -ENOMEM;
		goto out;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, cmd,
			 QKTLS_GENL_VERSION) ||
	    nla_put_string(msg, QKTLS_A_POOL_NAME, pool) < 0)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		struct nlattr *k = nla_nest_start(msg, QKTLS_A_KEY);

		if (!k || nla_put(msg, QKTLS_KEY_A_ID, QKTLS_KEY_ID_LEN, ids[i]) < 0 ||
		    (keys && nla_put(msg, QKTLS_KEY_A_MATERIAL, key_len, keys[i]) < 0))
			goto nomem;
		nla_nest_end(msg, k);
	}
	ret = exec(msg, keys != NULL);
out:
	pthread_mutex_unlock(&nl_lock);
	return ret;
nomem:
	msg_free_wiped(msg);
	ret = -ENOMEM;
	goto out;
}

int qd_pool_add(const char *pool, const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		const uint8_t *const *keys, size_t key_len, size_t n)
{
	return key_batch(QKTLS_CMD_KEY_ADD, pool, ids, keys, key_len, n);
}

int qd_pool_del(const char *pool, const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		size_t n)
{
	return key_batch(QKTLS_CMD_KEY_DEL, pool, ids, NULL, 0, n);
}

/*
 * Delete the keys @ids names that @pool still holds: one all-or-nothing
 * KEY_DEL, or, when some key went meanwhile (-ENOENT), one at a time.
 */
int qd_pool_del_held(const char *pool, const uint8_t (*ids)[QKTLS_KEY_ID_LEN],
		     size_t n)
{
	int ret = n ? qd_pool_del(pool, ids, n) : 0;

	if (ret != -ENOENT)
		return ret;
	for (size_t i = 0; i < n; i++) {
		ret = qd_pool_del(pool, ids + i, 1);
		if (ret && ret != -ENOENT)
			return ret;
	}
	return 0;
}

int qd_pool_list(const char *pool, struct qd_store_key **keys, size_t *n)
{
	struct req r = { 0 };
	int ret;

	*keys = NULL;
	*n = 0;
	pthread_mutex_lock(&nl_lock);
	ret = family >= 0 ? 0 : resolve();
	if (!ret)
		ret = exec_req(msg_new(QKTLS_CMD_KEY_GET, NLM_F_DUMP, pool), false,
			       &r, list_valid);
	pthread_mutex_unlock(&nl_lock);
	if (ret) {
		free(r.keys);
		return ret;
	}
	*keys = r.keys;
	*n = r.n;
	return 0;
}

int qd_pool_flush(const char *pool)
{
	int ret;

	pthread_mutex_lock(&nl_lock);
	ret = family >= 0 ? 0 : resolve();
	if (!ret)
		ret = exec(msg_new(QKTLS_CMD_KEY_FLUSH, 0, pool), false);
	pthread_mutex_unlock(&nl_lock);
	return ret;
}

long qd_pool_count(const char *pool)
{
	long count = -ENOENT;
	int ret;

	pthread_mutex_lock(&nl_lock);
	ret = family >= 0 ? 0 : resolve();
	if (!ret)
		ret = exec_count(msg_new(QKTLS_CMD_POOL_GET, 0, pool), false, &count);
	pthread_mutex_unlock(&nl_lock);
	return ret ? ret : count;
}

/* --- events ---------------------------------------------------------------- */

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[QKTLS_A_MAX + 1];

	(void)arg;
	if (gh->cmd != QKTLS_CMD_POOL_LOW_NTF && gh->cmd != QKTLS_CMD_POOL_EMPTY_NTF &&
	    gh->cmd != QKTLS_CMD_KEYS_EXPIRED_NTF)
		return NL_OK;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, QKTLS_A_MAX, pool_policy) < 0 ||
	    !tb[QKTLS_A_POOL_NAME])
		return NL_OK;
	qd_log(LOG_DEBUG, "pool %s: %s, %u keys", nla_get_string(tb[QKTLS_A_POOL_NAME]),
	       gh->cmd == QKTLS_CMD_POOL_EMPTY_NTF ? "empty" :
	       gh->cmd == QKTLS_CMD_POOL_LOW_NTF ? "low" : "keys expired",
	       tb[QKTLS_A_POOL_KEY_COUNT] ? nla_get_u32(tb[QKTLS_A_POOL_KEY_COUNT]) : 0);
	qd_feed_pool_event(nla_get_string(tb[QKTLS_A_POOL_NAME]));
	return NL_OK;
}

static void *event_loop(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = nl_socket_get_fd(ev_sk), .events = POLLIN },
			{ .fd = ev_stop, .events = POLLIN },
		};
		int ret;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		ret = nl_recvmsgs_default(ev_sk);
		if (ret < 0 && ret != -NLE_INTR && ret != -NLE_AGAIN) {
			/* Lost events (overrun): every feeder checks its pools. */
			qd_log(LOG_WARNING, "qktls events: %s; checking every pool",
			       nl_geterror(ret));
			qd_feed_pool_event(NULL);
		}
	}
	return NULL;
}

int qd_pool_events_start(void)
{
	int grp;

	if (ev_sk)
		return 0;
	ev_sk = open_sock();
	if (!ev_sk)
		return -ENOMEM;
	grp = genl_ctrl_resolve_grp(ev_sk, QKTLS_GENL_NAME, QKTLS_MCGRP_EVENTS);
	if (grp < 0 || nl_socket_add_membership(ev_sk, grp) < 0) {
		nl_socket_free(ev_sk);
		ev_sk = NULL;
		return -ENOENT;
	}
	nl_socket_disable_seq_check(ev_sk);
	nl_socket_set_nonblocking(ev_sk);
	nl_socket_modify_cb(ev_sk, NL_CB_VALID, NL_CB_CUSTOM, event_cb, NULL);
	ev_stop = eventfd(0, EFD_CLOEXEC);
	if (ev_stop < 0 || pthread_create(&ev_thread, NULL, event_loop, NULL)) {
		if (ev_stop >= 0)
			close(ev_stop);
		ev_stop = -1;
		nl_socket_free(ev_sk);
		ev_sk = NULL;
		return -ENOMEM;
	}
	return 0;
}

void qd_pool_events_stop(void)
{
	if (ev_sk) {
		uint64_t one = 1;

		if (write(ev_stop, &one, sizeof(one)) != sizeof(one))
			qd_log(LOG_ERR, "cannot stop the event thread: %s",
			       strerror(errno));
		pthread_join(ev_thread, NULL);
		close(ev_stop);
		ev_stop = -1;
		nl_socket_free(ev_sk);
		ev_sk = NULL;
	}
	pthread_mutex_lock(&nl_lock);
	if (req_sk)
		nl_socket_free(req_sk);
	req_sk = NULL;
	family = -1;
	pthread_mutex_unlock(&nl_lock);
}
