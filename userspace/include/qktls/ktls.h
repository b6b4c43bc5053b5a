/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Installing TLS 1.3 traffic secrets into Linux kernel TLS (kTLS).
 *
 * qktls_ktls_install() turns a traffic secret into the write key and IV of
 * its cipher suite, fills the kernel's struct tls12_crypto_info_* for
 * TLS_1_3_VERSION, enables the "tls" TCP ULP and sets TLS_TX or TLS_RX.
 * qktls_ktls_rekey() replaces the key of a direction that already has one,
 * which Linux accepts from 6.14 on (a second setsockopt with the same version
 * and cipher); on older kernels it fails with -QKTLS_E_NOREKEY.  Every copy
 * of key, IV and crypto_info is wiped before these functions return.
 *
 * TLS 1.3 ordering (RFC 8446 4.6.3), which the caller owns:
 *  - TX: send the KeyUpdate handshake record (qktls_ktls_send_key_update())
 *    under the old key, then qktls_ktls_rekey(QKTLS_DIR_TX, next secret).
 *  - RX: after a KeyUpdate record has been read, reads fail with
 *    EKEYEXPIRED until qktls_ktls_rekey(QKTLS_DIR_RX, next secret).
 * See Documentation/qktls/key-schedule.rst.
 */
#ifndef QKTLS_KTLS_H
#define QKTLS_KTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qktls/error.h>
#include <qktls/keysched.h>

#ifdef __cplusplus
extern "C" {
#endif

enum qktls_dir {
	QKTLS_DIR_TX = 1,	/* TLS_TX: what this end sends */
	QKTLS_DIR_RX = 2,	/* TLS_RX: what this end receives */
};

/**
 * qktls_ktls_install() - first kTLS key of one direction of a TCP socket
 * @fd:         a connected TCP socket, with no kTLS key in direction @dir yet
 * @dir:        QKTLS_DIR_TX or QKTLS_DIR_RX
 * @suite:      IANA cipher suite value
 * @secret:     the traffic secret of that direction
 * @secret_len: Hash.length of @suite
 * @seq:        record sequence number of the next record in that direction
 *
 * Return: 0; -QKTLS_E_NOKTLS if the kernel has no kTLS; -QKTLS_E_INSTALLED
 * if that direction already has a key; another negative error otherwise.
 */
int qktls_ktls_install(int fd, enum qktls_dir dir, uint16_t suite,
		       const uint8_t *secret, size_t secret_len, uint64_t seq);

/**
 * qktls_ktls_rekey() - replace the kTLS key of one direction (TLS 1.3 update)
 * @fd:         a kTLS socket whose direction @dir has a TLS 1.3 key of @suite
 * @dir:        QKTLS_DIR_TX or QKTLS_DIR_RX
 * @suite:      IANA cipher suite value; must be the installed one
 * @secret:     the next traffic secret (qktls_next_secret() or
 *              qktls_next_secret_qkd())
 * @secret_len: Hash.length of @suite
 *
 * The record sequence number restarts at 0, as TLS 1.3 requires.
 *
 * Return: 0; -QKTLS_E_NOREKEY if the kernel cannot rekey kTLS (before
 * 6.14); -QKTLS_E_NOTINSTALLED if @dir has no key; -QKTLS_E_MISMATCH if the
 * installed key is of another cipher or TLS version; another negative error
 * otherwise.  On failure the old key stays in place.
 */
int qktls_ktls_rekey(int fd, enum qktls_dir dir, uint16_t suite,
		     const uint8_t *secret, size_t secret_len);

/**
 * qktls_ktls_rekey_supported() - can this kernel rekey kTLS?
 *
 * Asks the kernel rather than its version: kTLS lists its rekey counters
 * (TlsTxRekeyOk ...) in /proc/net/tls_stat exactly when it has rekey
 * (Linux 6.14 and later).  Use it before sending a KeyUpdate, or to refuse a
 * rekey policy up front.
 *
 * Return: 1 if it can, 0 if not, -QKTLS_E_NOKTLS if kTLS is not loaded,
 * another negative error otherwise.
 */
int qktls_ktls_rekey_supported(void);

/**
 * qktls_ktls_send_key_update() - send a KeyUpdate handshake record
 * @fd:               a kTLS socket with a TX key
 * @update_requested: ask the peer to update its own sending key too
 *
 * Sends the 5-byte KeyUpdate message (RFC 8446 4.6.3) as one handshake
 * record (TLS_SET_RECORD_TYPE 22) under the current TX key.  Switch the TX
 * key with qktls_ktls_rekey() right after it, before any other record.
 *
 * Return: 0 or a negative error.
 */
int qktls_ktls_send_key_update(int fd, bool update_requested);

#ifdef __cplusplus
}
#endif
#endif /* QKTLS_KTLS_H */
