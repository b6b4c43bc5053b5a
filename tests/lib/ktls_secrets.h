/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A loopback kTLS pair keyed as qktlsd leaves a connection: TLS 1.3 kTLS
 * installed by libqktls from the two traffic secrets, record sequence 0
 * both ways.  Needs libqktls (DEPS_NAME/LDLIBS_NAME in tools/build/rules.mk).
 */
#ifndef QKTLS_TESTS_KTLS_SECRETS_H
#define QKTLS_TESTS_KTLS_SECRETS_H

#include "ktls.h"

#include <qktls/ktls.h>

/*
 * kTLS of @suite both ways on a connected pair (@c the client, @s the
 * accepted side): @c2s keys client TX and server RX, @s2c server TX and
 * client RX, each @len bytes (the suite's hash length).  Returns 0, a
 * negative errno or -QKTLS_E_*.
 */
static inline int qk_ktls_key_pair(uint16_t suite, const uint8_t *c2s,
				   const uint8_t *s2c, size_t len, int c, int s)
{
	int err = qktls_ktls_install(c, QKTLS_DIR_TX, suite, c2s, len, 0);

	if (!err)
		err = qktls_ktls_install(s, QKTLS_DIR_RX, suite, c2s, len, 0);
	if (!err)
		err = qktls_ktls_install(s, QKTLS_DIR_TX, suite, s2c, len, 0);
	if (!err)
		err = qktls_ktls_install(c, QKTLS_DIR_RX, suite, s2c, len, 0);
	return err;
}

/* A loopback TCP pair keyed by qk_ktls_key_pair(). */
static inline int qk_ktls_pair(uint16_t suite, const uint8_t *c2s,
			       const uint8_t *s2c, size_t len, int *c, int *s)
{
	int err = tcp_pair(c, s);

	return err ? err : qk_ktls_key_pair(suite, c2s, s2c, len, *c, *s);
}

#endif
