/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libqktls error codes.
 *
 * Every libqktls call that can fail returns 0 (or a documented positive
 * value) on success and a negative number on failure: either -errno from a
 * system call, or -QKTLS_E_* below for failures that errno cannot name.  The
 * QKTLS_E_* values start above every errno value, so the two never collide.
 * qktls_strerror() turns either kind into a sentence for a log line or an
 * error reply.
 */
#ifndef QKTLS_ERROR_H
#define QKTLS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define QKTLS_E_BASE 0x1000

enum qktls_error {
	/* Not one of TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
	 * TLS_CHACHA20_POLY1305_SHA256. */
	QKTLS_E_SUITE = QKTLS_E_BASE,
	/* Not SHA-256 or SHA-384. */
	QKTLS_E_HASH,
	/* A secret, key, context or output buffer has the wrong length. */
	QKTLS_E_LENGTH,
	/* An HKDF label that is empty or longer than TLS 1.3 allows. */
	QKTLS_E_LABEL,
	/* OpenSSL failed; its error queue says why. */
	QKTLS_E_CRYPTO,
	/* The kernel has no kTLS (CONFIG_TLS off or the tls module not loaded). */
	QKTLS_E_NOKTLS,
	/* The kernel has kTLS but cannot rekey it (Linux before 6.14). */
	QKTLS_E_NOREKEY,
	/* That direction of the socket already has a kTLS key: rekey instead. */
	QKTLS_E_INSTALLED,
	/* Rekey of a direction that has no kTLS key yet: install first. */
	QKTLS_E_NOTINSTALLED,
	/* Rekey with another TLS version or cipher than the one installed. */
	QKTLS_E_MISMATCH,
	/* A NULL pointer, bad direction or other invalid argument. */
	QKTLS_E_ARG,
	/* qktls.ko is not loaded (no generic netlink family "qktls"). */
	QKTLS_E_NOMODULE,
	/* The socket is not attached to qktls.ko (plain kTLS). */
	QKTLS_E_NOTATTACHED,
	/* A QKD key update without the peer having negotiated it. */
	QKTLS_E_NOQKDUPDATE,
	/* The peer sent a record the protocol does not allow there. */
	QKTLS_E_RECORD,

	QKTLS_E_MAX
};

/**
 * qktls_strerror() - describe a libqktls return value
 * @err: a return value, negative or positive (-EBADMSG and EBADMSG both work)
 *
 * Return: a static string; never NULL.
 */
const char *qktls_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* QKTLS_ERROR_H */
