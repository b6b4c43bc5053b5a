// SPDX-License-Identifier: GPL-2.0-only
/*
 * The negotiated traffic secrets into kTLS, then into qktls.ko, through
 * libqktls.  TLS 1.3 application traffic keys start with record sequence
 * number 0 in both directions, and no record is sent under them before kTLS
 * takes over (no session tickets), so both directions are installed with
 * sequence 0.
 *
 * The attach gives the module both secrets (it rekeys the socket from then
 * on, inside the application's writes and reads, so they never need to come
 * back to userspace), the link's per-direction pools (qd_link_pool_names()),
 * whether the QKD key update was negotiated, the link's QKD policy (what a
 * TX rekey does when the pool is empty: "required" fails the write) and its
 * rekey policy.  The caller wipes its copies right after; libqktls wipes
 * the netlink request.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <syslog.h>

#include <qktls/ktls.h>
#include <qktls/sock.h>

#include "qktlsd.h"

int qd_ktls_install(int fd, enum qktls_role role, uint16_t suite,
		    const uint8_t *cts, const uint8_t *sts, size_t len)
{
	bool client = role == QKTLS_ROLE_CLIENT;
	int ret;

	ret = qktls_ktls_install(fd, QKTLS_DIR_TX, suite, client ? cts : sts,
				 len, 0);
	if (!ret)
		ret = qktls_ktls_install(fd, QKTLS_DIR_RX, suite,
					 client ? sts : cts, len, 0);
	return ret;
}

/* The link's settings ask for TX rekeys the module must drive. */
static bool rekey_policy(const struct qd_link *l)
{
	return l->key_update != QD_KEY_UPDATE_OFF &&
	       (l->rekey_bytes || l->rekey_seconds);
}

/* The link's qkd policy, as the module names it. */
static uint8_t module_qkd_policy(enum qd_policy p)
{
	switch (p) {
	case QD_POLICY_REQUIRED:
		return QKTLS_QKD_REQUIRED;
	case QD_POLICY_PREFERRED:
		return QKTLS_QKD_PREFERRED;
	case QD_POLICY_OFF:
		break;
	}
	return QKTLS_QKD_OFF;
}

/*
 * Policy "required" with a rekey policy: every rekey mixes in a QKD key,
 * which needs the QKD key update negotiated with this peer (config.c made
 * sure the link has pools).  Fail closed at the hand-off rather than at
 * the first rekey.
 */
static int check_required(const struct qd_link *l, const struct qd_hs *hs,
			  struct qktls_result *r)
{
	if (l->policy != QD_POLICY_REQUIRED || !rekey_policy(l) ||
	    hs->ku_negotiated)
		return 0;
	snprintf(r->error, sizeof(r->error), "QKD policy required: the link "
		 "rekeys (rekey_bytes/rekey_seconds) with QKD keys only, and "
		 "the peer did not negotiate the QKD key update; refusing the "
		 "connection");
	qd_log(LOG_ERR, "link %s: %s", l->name, r->error);
	return -EPROTO;
}

int qd_sock_attach(struct qd_link *l, struct qd_hs *hs, uint16_t suite,
		   struct qktls_result *r, bool *attached)
{
	static atomic_bool told;
	bool client = l->role == QKTLS_ROLE_CLIENT;
	char tx_pool[QKTLS_POOL_NAME_MAX], rx_pool[QKTLS_POOL_NAME_MAX];
	struct qktls_sock_attach a = {
		.fd = hs->fd,
		.suite = suite,
		.tx_secret = client ? hs->cts : hs->sts,
		.rx_secret = client ? hs->sts : hs->cts,
		.secret_len = hs->cts_len,
		.link = l->name,
		.qkd_update = hs->ku_negotiated,
		.rekey_required = rekey_policy(l),
		.qkd_policy_set = true,
		.qkd_policy = module_qkd_policy(l->policy),
	};
	struct qktls_nl *nl;
	int ret;

	*attached = false;
	ret = check_required(l, hs, r);
	if (ret)
		return ret;
	if (l->key_update != QD_KEY_UPDATE_OFF) {
		a.rekey_bytes = l->rekey_bytes;
		a.rekey_seconds = l->rekey_seconds;
	}
	/* Pools that were missing at the handshake stay out of the attach. */
	if (l->pool && hs->ku_wanted) {
		qd_link_pool_names(l, tx_pool, rx_pool);
		a.tx_pool = tx_pool;
		a.rx_pool = rx_pool;
	}
	ret = qktls_nl_open(&nl);
	if (ret == -QKTLS_E_NOMODULE && !a.rekey_required) {
		if (!atomic_exchange(&told, true))
			qd_log(LOG_WARNING, "qktls.ko is not loaded: kTLS sockets "
			       "are handed back unattached (no rekey from the "
			       "pools; a peer's KeyUpdate, QKD or standard, "
			       "cannot be followed)");
		return 0;
	}
	if (ret) {
		snprintf(r->error, sizeof(r->error), "cannot attach the socket to "
			 "qktls.ko%s: %s", a.rekey_required ? " (the link's "
			 "rekey_bytes/rekey_seconds need it)" : "",
			 qktls_strerror(ret));
		qd_log(LOG_ERR, "link %s: %s", l->name, r->error);
		return ret;
	}
	ret = qktls_sock_attach(nl, &a, NULL);
	if (ret == -EOPNOTSUPP && !a.rekey_required) {
		/* A qktls.ko from before attached sockets. */
		if (!atomic_exchange(&told, true))
			qd_log(LOG_WARNING, "qktls.ko cannot attach sockets (%s): "
			       "kTLS sockets are handed back unattached",
			       qktls_nl_error(nl));
		ret = 0;
	} else if (ret) {
		if (ret == -QKTLS_E_NOREKEY)
			snprintf(r->error, sizeof(r->error), "the link's "
				 "rekey_bytes/rekey_seconds cannot be honoured: "
				 "%s (qktls.ko: %s)", qktls_strerror(ret),
				 qktls_nl_error(nl));
		else
			snprintf(r->error, sizeof(r->error), "cannot attach the "
				 "socket to qktls.ko: %s", qktls_nl_error(nl));
		qd_log(LOG_ERR, "link %s: %s", l->name, r->error);
	} else {
		*attached = true;
	}
	qktls_nl_close(nl);
	return ret;
}

const char *qd_strerror(int err)
{
	return qktls_strerror(err);
}
