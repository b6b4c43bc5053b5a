/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls: the "qktls" generic netlink family.
 */
#ifndef _QKTLS_NETLINK_H
#define _QKTLS_NETLINK_H

#include <linux/types.h>

struct qktls_pool;

int qktls_nl_init(void);
void qktls_nl_exit(void);
void qktls_nl_pool_event(struct qktls_pool *pool, u8 cmd, u32 expired);

#endif /* _QKTLS_NETLINK_H */
