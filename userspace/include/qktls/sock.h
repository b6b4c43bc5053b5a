/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qktls/sock.h - kTLS sockets attached to qktls.ko: attach, rekey, info.
 *
 * After a TLS 1.3 handshake the agent (qktlsd) installs kTLS and attaches
 * the socket to the qktls kernel module with both traffic secrets, the
 * link's QKD pools, its QKD policy and its rekey policy.  From then on the
 * secrets live in the kernel only, and the module owns the socket's
 * post-handshake TLS inside the application's own calls: a write, sendfile
 * or splice first rekeys TX when the policy is due, and a read consumes the
 * peer's KeyUpdates, QKD key references, NewSessionTickets and alerts.  An
 * application needs none of the calls below; qktls_sock_rekey_tx() forces a
 * TX rekey now, qktls_sock_get() reads policy and counters.
 *
 * The calls talk generic netlink (family "qktls") through a handle,
 * struct qktls_nl.  A handle is not thread-safe: one per thread.
 *
 * Every call returns 0 (or a documented positive value) or a negative
 * libqktls error (qktls/error.h): -QKTLS_E_NOMODULE (qktls.ko not loaded),
 * -QKTLS_E_NOTATTACHED (the fd is no attached socket), -QKTLS_E_NOREKEY
 * (this kernel cannot rekey kTLS: Linux before 6.14), -QKTLS_E_NOQKDUPDATE
 * (QKD key update asked for but not negotiated with the peer), -ENOKEY (the
 * pool has no such key, or the TX pool is empty), or another -errno the
 * kernel returned.  qktls_nl_error() then gives the kernel's own message
 * (netlink extended ack) when it sent one, else qktls_strerror()'s.
 *
 * See libqktls(3) and uapi/linux/qktls.h.
 */
#ifndef QKTLS_SOCK_H
#define QKTLS_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qktls/error.h>
#include <qktls/qkd.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Flags of qktls_sock_rekey_tx(): QKTLS_REKEY_QKD and
 * QKTLS_REKEY_REQUEST_UPDATE of <linux/qktls.h>, defined here with the same
 * values where that header is not installed, spelt token for token as it
 * spells them, so that a copy of it included later is no redefinition
 * (tests/unit/headers_rekey_flags.sh).
 */
#if defined(__has_include)
#if __has_include(<linux/qktls.h>)
#include <linux/qktls.h>
#endif
#endif
#ifndef QKTLS_REKEY_QKD
#define QKTLS_REKEY_QKD			0x1U
#define QKTLS_REKEY_REQUEST_UPDATE	0x2U
#endif

#define QKTLS_SOCK_NAME_MAX	64	/* link and pool names, with the NUL */

/* A generic netlink socket to qktls.ko; one per thread. */
struct qktls_nl;

/**
 * qktls_nl_open() - open a handle on the qktls generic netlink family
 * @out: receives the handle
 *
 * Return: 0; -QKTLS_E_NOMODULE if qktls.ko is not loaded; another negative
 * error otherwise.
 */
int qktls_nl_open(struct qktls_nl **out);

/* Close a handle (NULL is fine). */
void qktls_nl_close(struct qktls_nl *nl);

/**
 * qktls_nl_error() - why the last call on @nl failed
 * @nl: a handle
 *
 * Return: the kernel's extended-ack message for the last failed call (e.g.
 * "kernel has no kTLS rekey"), or qktls_strerror() of its return value when
 * the kernel gave none; "" after a call that succeeded.  Valid until the
 * next call on @nl.
 */
const char *qktls_nl_error(const struct qktls_nl *nl);

/* Per-socket counters of the module (QKTLS_A_SOCK_STATS). */
struct qktls_sock_stats {
	uint64_t tx_rekeys;		/* TX rekeys done, QKD and standard */
	uint64_t rx_rekeys;		/* RX rekeys done, QKD and standard */
	uint64_t tx_qkd_rekeys;		/* TX rekeys that mixed in a QKD key */
	uint64_t rx_qkd_rekeys;		/* RX rekeys that mixed in a QKD key */
	uint64_t keys_used;		/* QKD keys taken from the pools */
	uint64_t rekey_errors;		/* rekey requests that failed */
	uint64_t last_error;		/* last failure, positive errno */
	uint64_t rekeys_due;		/* times the policy asked for a rekey */
	uint64_t rekeys_overdue;	/* times a due rekey was late */
	uint64_t tx_bytes;		/* bytes sent since the last TX rekey */
	uint64_t tx_key_age_ms;		/* ms since the last TX rekey */
	uint64_t tx_records;		/* records under the current TX key */
	uint64_t tx_std_fallbacks;	/* standard TX rekeys: TX pool empty
					 * (QKD policy preferred) */
	uint64_t tx_refused;		/* writes failed with ENOKEY: TX pool
					 * empty (QKD policy required) */
	uint64_t updates_requested;	/* peer KeyUpdates with update_requested */
	uint64_t tickets_dropped;	/* NewSessionTickets consumed */
	uint64_t alerts;		/* alerts received, close_notify too */
	uint64_t rx_errors;		/* malformed or unusable handshake records */
};

/* An attached socket as QKTLS_CMD_SOCK_GET reports it; never a secret. */
struct qktls_sock_info {
	uint64_t id;			/* socket cookie (SO_COOKIE) */
	char link[QKTLS_SOCK_NAME_MAX];	/* "" if none was given */
	uint16_t suite;			/* IANA cipher suite */
	char tx_pool[QKTLS_SOCK_NAME_MAX];	/* "" if none */
	char rx_pool[QKTLS_SOCK_NAME_MAX];	/* "" if none */
	bool qkd_update;		/* QKD key update negotiated */
	bool rekey_due;			/* the policy wants a TX rekey now */
	uint64_t rekey_bytes;		/* policy: rekey TX every N bytes, 0 = no */
	uint32_t rekey_seconds;		/* policy: every T seconds, 0 = no */
	uint64_t rekey_records;		/* policy: every N records, 0 = no */
	uint8_t qkd_policy;		/* enum qktls_qkd_policy (a module that
					 * does not say: QKTLS_QKD_PREFERRED) */
	struct qktls_sock_stats stats;
};

/* What qktls_sock_attach() gives the module (the agent's call). */
struct qktls_sock_attach {
	int fd;				/* TCP socket with TLS 1.3 kTLS both ways */
	uint16_t suite;			/* the installed cipher suite */
	const uint8_t *tx_secret;	/* current TX traffic secret */
	const uint8_t *rx_secret;	/* current RX traffic secret */
	size_t secret_len;		/* Hash.length of @suite */
	const char *link;		/* link name for display, or NULL */
	const char *tx_pool;		/* pool of this end's QKD update keys, or NULL */
	const char *rx_pool;		/* pool of the peer's QKD update keys, or NULL */
	bool qkd_update;		/* the peer negotiated the QKD key update */
	uint64_t rekey_bytes;		/* rekey TX every N bytes; 0 = never */
	uint32_t rekey_seconds;		/* rekey TX every T seconds; 0 = never */
	uint64_t rekey_records;		/* rekey TX every N records; 0 = never
					 * (AES-GCM: the module caps it at 2^24) */
	bool rekey_required;		/* refuse if this kernel cannot rekey */
	/*
	 * What TX rekeys do without a QKD key: @qkd_policy is an enum
	 * qktls_qkd_policy value (QKTLS_QKD_OFF, QKTLS_QKD_PREFERRED,
	 * QKTLS_QKD_REQUIRED), sent only with @qkd_policy_set; without it
	 * the module's default applies (QKTLS_QKD_PREFERRED).  A plain
	 * integer, so that this header works with a <linux/qktls.h> from
	 * before the policy.
	 */
	bool qkd_policy_set;
	uint8_t qkd_policy;
};

/**
 * qktls_sock_attach() - hand a kTLS socket and its secrets to qktls.ko
 * @nl:   a handle
 * @a:    the socket, secrets and policy
 * @info: receives the attached socket (may be NULL)
 *
 * Needs CAP_NET_ADMIN.  The secrets are copied into the netlink request,
 * whose buffer is wiped before this returns; the caller wipes its own.
 *
 * Return: 0; -QKTLS_E_NOREKEY if @a->rekey_required and this kernel cannot
 * rekey kTLS; -EEXIST if the socket is attached already; -QKTLS_E_ARG for a
 * @a->qkd_policy above QKTLS_QKD_REQUIRED, or a non-zero one without
 * @a->qkd_policy_set; -EINVAL from the module for QKTLS_QKD_REQUIRED with a
 * rekey policy but no QKD key update or no TX pool; another negative error
 * otherwise.
 */
int qktls_sock_attach(struct qktls_nl *nl, const struct qktls_sock_attach *a,
		      struct qktls_sock_info *info);

/**
 * qktls_sock_detach() - forget an attached socket, wipe its secrets
 * @nl: a handle
 * @fd: the socket
 *
 * Return: 0, -QKTLS_E_NOTATTACHED or another negative error.
 */
int qktls_sock_detach(struct qktls_nl *nl, int fd);

/**
 * qktls_sock_get() - policy and counters of an attached socket
 * @nl:   a handle
 * @fd:   the socket
 * @info: receives them
 *
 * Return: 0, -QKTLS_E_NOTATTACHED (plain kTLS, or not kTLS at all) or
 * another negative error.
 */
int qktls_sock_get(struct qktls_nl *nl, int fd, struct qktls_sock_info *info);

/**
 * qktls_sock_rekey_tx() - rekey what this end sends, now
 * @nl:    a handle
 * @fd:    an attached socket
 * @flags: QKTLS_REKEY_QKD (take a QKD key from the TX pool, announce its
 *         reference, mix it in) and/or QKTLS_REKEY_REQUEST_UPDATE (ask the
 *         peer to update its own TX too)
 * @ref:   receives the reference of the QKD key used (may be NULL)
 *
 * The module sends the key-reference record (QKD) and the KeyUpdate record
 * under the old key, then switches TX; the next byte written goes out under
 * the new key.  The module serialises this with the socket's writers.  On
 * failure the key is unchanged and nothing was sent.  Not needed for the
 * policy: the module rekeys by it inside the application's writes.
 *
 * Return: 1 if a QKD key was used (@ref set), 0 for a standard update, or a
 * negative error: -QKTLS_E_NOREKEY, -QKTLS_E_NOQKDUPDATE, -ENOKEY (TX pool
 * empty), -EBUSY (QKD rekeys asked for faster than the module's per-socket
 * or per-pool rate limit; qktls_nl_error() says which; a standard update
 * still works), -QKTLS_E_NOTATTACHED...
 */
int qktls_sock_rekey_tx(struct qktls_nl *nl, int fd, unsigned int flags,
			uint8_t ref[QKTLS_QKD_REF_LEN]);

/**
 * qktls_sock_rekey_rx() - kept for programs written before the module
 * followed the peer's key updates itself
 * @nl:  a handle
 * @fd:  a socket
 * @ref: ignored
 *
 * The module installs the next RX key inside the application's reads, when
 * they reach the peer's KeyUpdate, and refuses an RX rekey by request.
 * This sends nothing; qktls_nl_error() says why.
 *
 * Return: -EINVAL, or -QKTLS_E_ARG for a NULL @nl or a negative @fd.
 */
int qktls_sock_rekey_rx(struct qktls_nl *nl, int fd,
			const uint8_t ref[QKTLS_QKD_REF_LEN]);

#ifdef __cplusplus
}
#endif
#endif /* QKTLS_SOCK_H */
