/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Functions shared between libqktls's own files; not exported
 * (libqktls.map).
 */
#ifndef QKTLS_LIB_INTERNAL_H
#define QKTLS_LIB_INTERNAL_H

#include <linux/tls.h>

/*
 * ktls.c: whether kTLS has a key in direction @optname (TLS_TX or TLS_RX)
 * of @fd, with its version and cipher in @hdr (never the key): 1 if so, 0
 * if not, or a negative errno.
 */
int qk_ktls_installed(int fd, int optname, struct tls_crypto_info *hdr);

#endif /* QKTLS_LIB_INTERNAL_H */
