/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls: the key installer, a kernel thread that hands kTLS new keys
 * through a private address space (install.c).
 */
#ifndef _QKTLS_INSTALL_H
#define _QKTLS_INSTALL_H

struct proto;
struct sock;

void qktls_install_init(void);
void qktls_install_exit(void);
int qktls_install(struct sock *sk, const struct proto *prot, int optname,
		  const void *ci, unsigned int len, void (*then)(void *arg),
		  void *arg);

#endif /* _QKTLS_INSTALL_H */
