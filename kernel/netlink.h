/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls: the "qktls" generic netlink family.
 */
#ifndef _QKTLS_NETLINK_H
#define _QKTLS_NETLINK_H

#include <linux/types.h>
#include <net/genetlink.h>
#include <linux/qktls.h>

struct qktls_pool;
struct qktls_rekey_req;
struct qktls_sock;

enum qktls_nl_mcgrps {
	QKTLS_NLGRP_EVENTS,
};

extern struct genl_family qktls_nl_family;

int qktls_nl_init(void);
void qktls_nl_exit(void);
bool qktls_nl_event_begin(struct net *net);
void qktls_nl_event_end(void);
void qktls_nl_pool_event(struct qktls_pool *pool, u8 cmd, u32 expired);

/* Socket commands (sock_nl.c). */
extern const struct nla_policy
	qktls_sock_attach_nl_policy[QKTLS_A_SOCK_QKD_POLICY + 1];
extern const struct nla_policy qktls_sock_name_nl_policy[QKTLS_A_SOCK_ID + 1];
extern const struct nla_policy
	qktls_sock_rekey_nl_policy[QKTLS_A_SOCK_KEY_REF + 1];
int qktls_nl_sock_attach_doit(struct sk_buff *skb, struct genl_info *info);
int qktls_nl_sock_detach_doit(struct sk_buff *skb, struct genl_info *info);
int qktls_nl_sock_get_doit(struct sk_buff *skb, struct genl_info *info);
int qktls_nl_sock_get_start(struct netlink_callback *cb);
int qktls_nl_sock_get_dumpit(struct sk_buff *skb,
			     struct netlink_callback *cb);
int qktls_nl_sock_rekey_doit(struct sk_buff *skb, struct genl_info *info);
void qktls_nl_sock_event(struct qktls_sock *qs, u8 cmd,
			 const struct qktls_rekey_req *req, int err);

#endif /* _QKTLS_NETLINK_H */
