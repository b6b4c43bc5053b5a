// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: QKD key pools and kTLS rekey for Linux kernel TLS.
 *
 * Module entry points and parameters: everything else registers from here.
 */

#include <linux/module.h>

#include "install.h"
#include "kdf.h"
#include "netlink.h"
#include "pool.h"
#include "sock.h"

unsigned long qktls_max_mem_bytes = 64UL << 20;
module_param_named(max_mem_bytes, qktls_max_mem_bytes, ulong, 0644);
MODULE_PARM_DESC(max_mem_bytes,
		 "Kernel memory all pools of all namespaces may hold, bytes");

unsigned long qktls_pool_max_mem_bytes = 16UL << 20;
module_param_named(pool_max_mem_bytes, qktls_pool_max_mem_bytes, ulong, 0644);
MODULE_PARM_DESC(pool_max_mem_bytes,
		 "Kernel memory one pool may hold, bytes");

unsigned int qktls_max_pools = 4096;
module_param_named(max_pools, qktls_max_pools, uint, 0644);
MODULE_PARM_DESC(max_pools, "Pools one network namespace may hold");

unsigned int qktls_max_socks = 65536;
module_param_named(max_socks, qktls_max_socks, uint, 0644);
MODULE_PARM_DESC(max_socks, "Sockets all namespaces may attach");

unsigned int qktls_sock_scan_ms = 1000;
module_param_named(sock_scan_ms, qktls_sock_scan_ms, uint, 0644);
MODULE_PARM_DESC(sock_scan_ms,
		 "Period of the reaping of closed sockets and the rekey policy checks, ms");

/* Rekeys that callers ask for: the pools' keys are shared by the link. */
unsigned int qktls_sock_qkd_rekeys_per_min = 960;
module_param_named(sock_qkd_rekeys_per_min, qktls_sock_qkd_rekeys_per_min,
		   uint, 0644);
MODULE_PARM_DESC(sock_qkd_rekeys_per_min,
		 "QKD rekeys one socket may ask for per minute, 0 = no limit");

unsigned int qktls_sock_qkd_rekey_burst = 64;
module_param_named(sock_qkd_rekey_burst, qktls_sock_qkd_rekey_burst, uint,
		   0644);
MODULE_PARM_DESC(sock_qkd_rekey_burst,
		 "QKD rekeys one socket may ask for at once");

unsigned int qktls_pool_qkd_rekeys_per_min = 15360;
module_param_named(pool_qkd_rekeys_per_min, qktls_pool_qkd_rekeys_per_min,
		   uint, 0644);
MODULE_PARM_DESC(pool_qkd_rekeys_per_min,
		 "QKD rekeys the sockets of one TX pool may ask for per minute, 0 = no limit");

unsigned int qktls_pool_qkd_rekey_burst = 1024;
module_param_named(pool_qkd_rekey_burst, qktls_pool_qkd_rekey_burst, uint,
		   0644);
MODULE_PARM_DESC(pool_qkd_rekey_burst,
		 "QKD rekeys the sockets of one TX pool may ask for at once");

static int __init qktls_init(void)
{
	int err;

	err = qktls_kdf_selftest();
	if (err)
		return err;
	err = qktls_sock_init();
	if (err)
		return err;
	err = qktls_pool_init();
	if (err)
		goto fail_pool;
	/* Without it, rekeys fail with -EOPNOTSUPP (and it says why). */
	if (qktls_have_ktls_rekey())
		qktls_install_init();
	err = qktls_nl_init();
	if (err)
		goto fail_nl;
	return 0;

fail_nl:
	qktls_install_exit();
	qktls_pool_exit();
fail_pool:
	qktls_sock_exit();
	return err;
}

static void __exit qktls_exit(void)
{
	/*
	 * No request runs after this; then every namespace's sockets and
	 * pools go.
	 */
	qktls_nl_exit();
	qktls_install_exit();
	qktls_pool_exit();
	qktls_sock_exit();
}

module_init(qktls_init);
module_exit(qktls_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("QKD key pools and rekey for kernel TLS");
MODULE_SOFTDEP("pre: tls");
