// SPDX-License-Identifier: GPL-2.0-only
/*
 * The negotiated traffic secrets into kTLS, through libqktls.  TLS 1.3
 * application traffic keys start with record sequence number 0 in both
 * directions, and no record is sent under them before kTLS takes over (no
 * session tickets), so both directions are installed with sequence 0.
 */
#include <qktls/ktls.h>

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

const char *qd_strerror(int err)
{
	return qktls_strerror(err);
}
