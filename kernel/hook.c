// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: the module's operations on attached kTLS sockets.
 *
 * kTLS gives a socket its own struct proto and struct proto_ops.  Attaching
 * replaces them with copies whose sendmsg, recvmsg, splice_read, setsockopt,
 * getsockopt and close run the module's post-handshake TLS (tx.c, rx.c)
 * around kTLS's own, the way kTLS itself layers over TCP; everything else
 * stays kTLS's.  kTLS points the socket back at its own operations whenever
 * it installs a key (update_sk_prot()), so every rekey hooks it again.
 *
 * A call finds its attachment by the socket's address under RCU and holds
 * a reference for the length of the call.  A hooked socket holds a
 * reference to the module, dropped only after its attachment is freed (an
 * RCU callback, which qktls_exit() waits for), so no call runs module code
 * that is gone.
 */

#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/pipe_fs_i.h>
#include <linux/splice.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <net/sock.h>
#include <net/tls.h>

#include "hook.h"
#include "kdf.h"
#include "sock.h"

/* Linux 7.0 has it; before, the same allocation spelled out. */
#ifndef kzalloc_obj
#define kzalloc_obj(P, GFP) kzalloc(sizeof(P), GFP)
#endif

/* One hook per kind of kTLS socket (IPv4/IPv6, software/device): few. */
static LIST_HEAD(qktls_hooks);
static DEFINE_MUTEX(qktls_hooks_lock);

/* Hooked sockets by address. */
static DEFINE_HASHTABLE(qktls_hooked, 10);
static DEFINE_SPINLOCK(qktls_hooked_lock);

static struct qktls_sock *qktls_hooked_get(struct sock *sk)
{
	struct qktls_sock *qs;

	rcu_read_lock();
	hash_for_each_possible_rcu(qktls_hooked, qs, hook_node, (unsigned long)sk)
		if (qs->sk == sk && refcount_inc_not_zero(&qs->refcnt)) {
			rcu_read_unlock();
			return qs;
		}
	rcu_read_unlock();
	return NULL;
}

/* The hook whose operations @prot are, or NULL. */
static const struct qktls_hook *qktls_hook_of(const struct proto *prot)
{
	const struct qktls_hook *h, *found = NULL;

	rcu_read_lock();
	list_for_each_entry_rcu(h, &qktls_hooks, list)
		if (&h->prot == prot) {
			found = h;
			break;
		}
	rcu_read_unlock();
	return found;
}

/* kTLS's proto of a socket the module hooked and let go meanwhile. */
static const struct proto *qktls_base_prot(struct sock *sk)
{
	const struct proto *prot = READ_ONCE(sk->sk_prot);
	const struct qktls_hook *h = qktls_hook_of(prot);

	return h ? h->base_prot : prot;
}

/* kTLS's proto_ops of a socket the module hooked and let go meanwhile. */
static const struct proto_ops *qktls_base_ops(struct socket *sock)
{
	const struct proto_ops *ops = READ_ONCE(sock->ops);
	const struct qktls_hook *h, *found = NULL;

	rcu_read_lock();
	list_for_each_entry_rcu(h, &qktls_hooks, list)
		if (h->ops == ops) {
			found = h;
			break;
		}
	rcu_read_unlock();
	return found ? found->base_ops : ops;
}

/* --- the operations ------------------------------------------------------ */

static int qktls_hook_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct qktls_sock *qs = qktls_hooked_get(sk);
	int ret;

	if (!qs)
		return qktls_base_prot(sk)->sendmsg(sk, msg, size);
	ret = qktls_tx_sendmsg(qs, qs->hook->base_prot, msg, size);
	qktls_sock_put(qs);
	return ret;
}

#ifdef QKTLS_RECVMSG_ADDR_LEN
static int qktls_hook_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			      int flags, int *addr_len)
#else
static int qktls_hook_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			      int flags)
#endif
{
	struct qktls_sock *qs = qktls_hooked_get(sk);
	int ret;

	if (!qs)
		return qktls_base_recvmsg(qktls_base_prot(sk), sk, msg, len,
					  flags);
	ret = qktls_rx_recvmsg(qs, qs->hook->base_prot, msg, len, flags);
	qktls_sock_put(qs);
	return ret;
}

/*
 * kTLS's splice_read refuses a non-data record with -EINVAL and leaves it
 * queued: consume it and splice again.
 */
static ssize_t qktls_hook_splice_read(struct socket *sock, loff_t *ppos,
				      struct pipe_inode_info *pipe, size_t len,
				      unsigned int flags)
{
	struct qktls_sock *qs = qktls_hooked_get(sock->sk);
	ssize_t ret;
	int err;

	if (!qs)
		return qktls_base_ops(sock)->splice_read(sock, ppos, pipe, len,
							 flags);
	for (;;) {
		ret = qktls_rx_state(qs);
		if (ret <= 0)
			break;
		ret = qs->hook->base_ops->splice_read(sock, ppos, pipe, len,
						      flags);
		if (ret != -EINVAL)
			break;
		err = qktls_rx_consume(qs, qs->hook->base_prot,
				       flags & SPLICE_F_NONBLOCK);
		if (err <= 0) {
			ret = err ?: ret;
			break;
		}
	}
	qktls_sock_put(qs);
	return ret;
}

static int qktls_hook_setsockopt(struct sock *sk, int level, int optname,
				 sockptr_t optval, unsigned int optlen)
{
	if (level == SOL_TLS && (optname == TLS_TX || optname == TLS_RX))
		return -EBUSY;	/* the module owns the keys */
	return qktls_base_prot(sk)->setsockopt(sk, level, optname, optval,
					       optlen);
}

/*
 * TLS_TX and TLS_RX give the version and the cipher, as kTLS does, and
 * zeros where kTLS would put the key, salt, IV and record sequence.
 */
static int qktls_hook_get_conf(struct qktls_sock *qs, int optname,
			       char __user *optval, int __user *optlen)
{
	union qktls_crypto_info ci = {};
	const struct tls_crypto_info *src;
	struct sock *sk = qs->sk;
	struct tls_context *ctx;
	int len, n;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len == sizeof(ci.info))
		n = sizeof(ci.info);
	else if (len == qs->suite->info_len)
		n = qs->suite->info_len;
	else
		return -EINVAL;
	lock_sock(sk);
	ctx = tls_get_ctx(sk);
	src = optname == TLS_TX ? &ctx->crypto_send.info :
				  &ctx->crypto_recv.info;
	ci.info.version = src->version;
	ci.info.cipher_type = src->cipher_type;
	release_sock(sk);
	if (copy_to_user(optval, &ci, n) || put_user(n, optlen))
		return -EFAULT;
	return 0;
}

static int qktls_hook_getsockopt(struct sock *sk, int level, int optname,
				 char __user *optval, int __user *optlen)
{
	struct qktls_sock *qs;
	int ret;

	if (level != SOL_TLS || (optname != TLS_TX && optname != TLS_RX))
		return qktls_base_prot(sk)->getsockopt(sk, level, optname,
						       optval, optlen);
	qs = qktls_hooked_get(sk);
	if (!qs)
		return qktls_base_prot(sk)->getsockopt(sk, level, optname,
						       optval, optlen);
	ret = qktls_hook_get_conf(qs, optname, optval, optlen);
	qktls_sock_put(qs);
	return ret;
}

/*
 * The proto_ops: every socket call comes through them first, and kTLS's
 * key installs leave them alone (install.c), so these never miss a call.
 */
static int qktls_ops_sendmsg(struct socket *sock, struct msghdr *msg,
			     size_t size)
{
	struct qktls_sock *qs = qktls_hooked_get(sock->sk);
	int ret;

	if (!qs)
		return qktls_base_ops(sock)->sendmsg(sock, msg, size);
	ret = qktls_tx_sendmsg(qs, qs->hook->base_prot, msg, size);
	qktls_sock_put(qs);
	return ret;
}

static int qktls_ops_recvmsg(struct socket *sock, struct msghdr *msg,
			     size_t size, int flags)
{
	struct qktls_sock *qs = qktls_hooked_get(sock->sk);
	int ret;

	if (!qs)
		return qktls_base_ops(sock)->recvmsg(sock, msg, size, flags);
	ret = qktls_rx_recvmsg(qs, qs->hook->base_prot, msg, size, flags);
	qktls_sock_put(qs);
	return ret;
}

static int qktls_ops_setsockopt(struct socket *sock, int level, int optname,
				sockptr_t optval, unsigned int optlen)
{
	struct qktls_sock *qs;

	if (level == SOL_TLS && (optname == TLS_TX || optname == TLS_RX)) {
		qs = qktls_hooked_get(sock->sk);
		if (qs) {
			qktls_sock_put(qs);
			return -EBUSY;	/* the module owns the keys */
		}
	}
	return qktls_base_ops(sock)->setsockopt(sock, level, optname, optval,
						optlen);
}

static int qktls_ops_getsockopt(struct socket *sock, int level, int optname,
				char __user *optval, int __user *optlen)
{
	struct qktls_sock *qs;
	int ret;

	if (level != SOL_TLS || (optname != TLS_TX && optname != TLS_RX))
		return qktls_base_ops(sock)->getsockopt(sock, level, optname,
							optval, optlen);
	qs = qktls_hooked_get(sock->sk);
	if (!qs)
		return qktls_base_ops(sock)->getsockopt(sock, level, optname,
							optval, optlen);
	ret = qktls_hook_get_conf(qs, optname, optval, optlen);
	qktls_sock_put(qs);
	return ret;
}

/* The last file of the socket is gone: let it go, then close it. */
static void qktls_hook_close(struct sock *sk, long timeout)
{
	struct qktls_sock *qs = qktls_hooked_get(sk);
	const struct proto *base;

	if (!qs) {
		qktls_base_prot(sk)->close(sk, timeout);
		return;
	}
	base = qs->hook->base_prot;
	qktls_sock_detach(qs);
	base->close(sk, timeout);
	/* Last: this reference may be what holds the module. */
	qktls_sock_put(qs);
}

/* --- hooking ------------------------------------------------------------- */

static const struct qktls_hook *qktls_hook_find(const struct proto *prot,
						const struct proto_ops *ops)
{
	struct proto_ops *hops;
	struct qktls_hook *h;

	mutex_lock(&qktls_hooks_lock);
	list_for_each_entry(h, &qktls_hooks, list)
		if (h->base_prot == prot && h->base_ops == ops)
			goto out;
	h = kzalloc_obj(*h, GFP_KERNEL);
	hops = kmemdup(ops, sizeof(*ops), GFP_KERNEL);
	if (!h || !hops) {
		kfree(hops);
		kfree(h);
		h = NULL;
		goto out;
	}
	h->base_prot = prot;
	h->base_ops = ops;
	h->prot = *prot;
	h->prot.sendmsg = qktls_hook_sendmsg;
	h->prot.recvmsg = qktls_hook_recvmsg;
	h->prot.setsockopt = qktls_hook_setsockopt;
	h->prot.getsockopt = qktls_hook_getsockopt;
	h->prot.close = qktls_hook_close;
	hops->sendmsg = qktls_ops_sendmsg;
	hops->recvmsg = qktls_ops_recvmsg;
	hops->setsockopt = qktls_ops_setsockopt;
	hops->getsockopt = qktls_ops_getsockopt;
	if (ops->splice_read)
		hops->splice_read = qktls_hook_splice_read;
	h->ops = hops;
	list_add_tail_rcu(&h->list, &qktls_hooks);
out:
	mutex_unlock(&qktls_hooks_lock);
	return h;
}

/*
 * Leave no key, salt, IV or record sequence in kTLS's copy of the
 * crypto_info of a software direction: kTLS uses it only to set the key,
 * which it has done, and to answer getsockopt().  A device (TLS_HW)
 * direction keeps it, for the device's resync and fallback.
 */
static void qktls_hook_scrub(struct sock *sk)
{
	const size_t hdr = sizeof(struct tls_crypto_info);
	struct tls_context *ctx = tls_get_ctx(sk);

	if (ctx->tx_conf == TLS_SW)
		memzero_explicit((u8 *)&ctx->crypto_send + hdr,
				 sizeof(ctx->crypto_send) - hdr);
	if (ctx->rx_conf == TLS_SW)
		memzero_explicit((u8 *)&ctx->crypto_recv + hdr,
				 sizeof(ctx->crypto_recv) - hdr);
}

/*
 * Point @qs's socket at the module's operations, if it still has kTLS's;
 * qktls_hooked_lock held, so that a detach cannot come in between.
 */
static void qktls_hook_set(struct qktls_sock *qs)
{
	struct sock *sk = qs->sk;

	lockdep_assert_held(&qktls_hooked_lock);
	if (READ_ONCE(sk->sk_prot) == qs->hook->base_prot)
		WRITE_ONCE(sk->sk_prot, (struct proto *)&qs->hook->prot);
	if (sk->sk_socket && READ_ONCE(sk->sk_socket->ops) == qs->hook->base_ops)
		WRITE_ONCE(sk->sk_socket->ops, qs->hook->ops);
}

/**
 * qktls_hook_attach() - give an attached socket the module's operations
 * @qs: the attachment, linked in its namespace
 *
 * Return: 0, -EBUSY (the socket does not have kTLS's operations: another
 * layer took it over), -ENOMEM.
 */
int qktls_hook_attach(struct qktls_sock *qs)
{
	struct sock *sk = qs->sk;
	const struct qktls_hook *h;
	int err = 0;

	lock_sock(sk);
	if (!sk->sk_socket || qktls_hook_of(READ_ONCE(sk->sk_prot))) {
		err = -EBUSY;
		goto out;
	}
	h = qktls_hook_find(READ_ONCE(sk->sk_prot), READ_ONCE(sk->sk_socket->ops));
	if (!h) {
		err = -ENOMEM;
		goto out;
	}
	qs->hook = h;
	__module_get(THIS_MODULE);
	qs->hooked = true;
	qktls_hook_scrub(sk);
	spin_lock_bh(&qktls_hooked_lock);
	hash_add_rcu(qktls_hooked, &qs->hook_node, (unsigned long)sk);
	qktls_hook_set(qs);
	spin_unlock_bh(&qktls_hooked_lock);
out:
	release_sock(sk);
	return err;
}

/**
 * qktls_hook_rehook() - hook the socket again after kTLS installed a key
 * @qs: the attachment
 */
void qktls_hook_rehook(struct qktls_sock *qs)
{
	struct sock *sk = qs->sk;

	/*
	 * At once, without waiting for the socket lock (a writer that found
	 * kTLS's operations may hold it for a long write): every call that
	 * starts before this store runs kTLS's own code.
	 */
	spin_lock_bh(&qktls_hooked_lock);
	if (!hlist_unhashed(&qs->hook_node))
		qktls_hook_set(qs);
	spin_unlock_bh(&qktls_hooked_lock);
	lock_sock(sk);
	qktls_hook_scrub(sk);
	/* A writer may have waited on the installer's stand-in socket. */
	sk->sk_write_space(sk);
	release_sock(sk);
}

/**
 * qktls_hook_detach() - give the socket kTLS's operations back
 * @qs: the attachment
 *
 * Calls that run already finish with the module's operations; new ones
 * are kTLS's.
 */
void qktls_hook_detach(struct qktls_sock *qs)
{
	struct sock *sk = qs->sk;
	bool hooked;

	spin_lock_bh(&qktls_hooked_lock);
	hooked = !hlist_unhashed(&qs->hook_node);
	if (hooked) {
		hlist_del_init_rcu(&qs->hook_node);
		if (READ_ONCE(sk->sk_prot) == &qs->hook->prot)
			WRITE_ONCE(sk->sk_prot,
				   (struct proto *)qs->hook->base_prot);
		if (sk->sk_socket &&
		    READ_ONCE(sk->sk_socket->ops) == qs->hook->ops)
			WRITE_ONCE(sk->sk_socket->ops, qs->hook->base_ops);
	}
	spin_unlock_bh(&qktls_hooked_lock);
}

/**
 * qktls_hook_exit() - free the hooks; no socket is hooked any more
 */
void qktls_hook_exit(void)
{
	struct qktls_hook *h, *tmp;

	list_for_each_entry_safe(h, tmp, &qktls_hooks, list) {
		list_del(&h->list);
		kfree(h->ops);
		kfree(h);
	}
}
