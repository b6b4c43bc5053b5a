// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: QKD key pools and kTLS rekey for Linux kernel TLS.
 *
 * Module entry points: everything else registers from here.
 */

#include <linux/module.h>

static int __init qktls_init(void)
{
	return 0;
}

static void __exit qktls_exit(void)
{
}

module_init(qktls_init);
module_exit(qktls_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("QKD key pools and rekey for kernel TLS");
MODULE_SOFTDEP("pre: tls");
