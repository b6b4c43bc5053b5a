// SPDX-License-Identifier: LGPL-2.1-or-later
/* Error strings for libqktls return values. */
#include <string.h>

#include <qktls/error.h>

static const char *const messages[QKTLS_E_MAX - QKTLS_E_BASE] = {
	[QKTLS_E_SUITE - QKTLS_E_BASE] =
		"unsupported cipher suite (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256 are)",
	[QKTLS_E_HASH - QKTLS_E_BASE] =
		"unsupported hash (SHA-256 and SHA-384 are)",
	[QKTLS_E_LENGTH - QKTLS_E_BASE] =
		"wrong length: a secret must be Hash.length of its cipher suite, a QKD key 16 to 512 bytes, an HKDF context at most 255 bytes",
	[QKTLS_E_LABEL - QKTLS_E_BASE] =
		"bad HKDF label: must be 1 to 249 bytes (255 with the \"tls13 \" prefix)",
	[QKTLS_E_CRYPTO - QKTLS_E_BASE] =
		"OpenSSL key derivation failed",
	[QKTLS_E_NOKTLS - QKTLS_E_BASE] =
		"kernel has no kTLS (CONFIG_TLS off or the tls module not loaded)",
	[QKTLS_E_NOREKEY - QKTLS_E_BASE] =
		"kernel has no kTLS rekey (TLS 1.3 key update needs Linux 6.14 or later)",
	[QKTLS_E_INSTALLED - QKTLS_E_BASE] =
		"kTLS key already installed in this direction (use rekey)",
	[QKTLS_E_NOTINSTALLED - QKTLS_E_BASE] =
		"no kTLS key installed in this direction to rekey",
	[QKTLS_E_MISMATCH - QKTLS_E_BASE] =
		"installed kTLS key is of another TLS version or cipher",
	[QKTLS_E_ARG - QKTLS_E_BASE] =
		"invalid argument",
	[QKTLS_E_NOMODULE - QKTLS_E_BASE] =
		"qktls.ko is not loaded (no generic netlink family \"qktls\")",
	[QKTLS_E_NOTATTACHED - QKTLS_E_BASE] =
		"socket not attached to qktls.ko (plain kTLS: the module cannot rekey it)",
	[QKTLS_E_NOQKDUPDATE - QKTLS_E_BASE] =
		"QKD key update not negotiated with the peer",
	[QKTLS_E_RECORD - QKTLS_E_BASE] =
		"unexpected TLS record from the peer",
};

const char *qktls_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err == 0)
		return "success";
	if (err >= QKTLS_E_BASE && err < QKTLS_E_MAX)
		return messages[err - QKTLS_E_BASE] ?: "unknown libqktls error";
	return strerror(err);
}
