/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls: the module's socket operations on attached kTLS sockets (hook.c).
 */
#ifndef _QKTLS_HOOK_H
#define _QKTLS_HOOK_H

#include <linux/list.h>
#include <linux/net.h>
#include <net/sock.h>

struct qktls_sock;

/**
 * struct qktls_hook - the module's operations over one kind of kTLS socket
 * @list: link in the list of hooks
 * @base_prot: kTLS's struct proto of the socket
 * @base_ops: kTLS's struct proto_ops of the socket
 * @prot: a copy of @base_prot with the module's sendmsg, recvmsg, close,
 *	setsockopt and getsockopt
 * @ops: a copy of @base_ops with the module's splice_read (allocated)
 */
struct qktls_hook {
	struct list_head list;
	const struct proto *base_prot;
	const struct proto_ops *base_ops;
	struct proto prot;
	const struct proto_ops *ops;
};

int qktls_hook_attach(struct qktls_sock *qs);
void qktls_hook_detach(struct qktls_sock *qs);
void qktls_hook_rehook(struct qktls_sock *qs);
void qktls_hook_exit(void);

#endif /* _QKTLS_HOOK_H */
