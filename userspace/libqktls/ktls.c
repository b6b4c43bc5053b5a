// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * TLS 1.3 traffic secrets into kTLS: crypto_info, TCP_ULP "tls", TLS_TX /
 * TLS_RX, and the TLS 1.3 rekey (a second TLS_TX / TLS_RX, Linux >= 6.14).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>

#include <qktls/handshake.h>
#include <qktls/ktls.h>

#include "internal.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define TLS_RECORD_TYPE_HANDSHAKE	22
#define TLS_HANDSHAKE_KEY_UPDATE	24

union crypto_info {
	struct tls_crypto_info base;
	struct tls12_crypto_info_aes_gcm_128 aes128;
	struct tls12_crypto_info_aes_gcm_256 aes256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

static void put_be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = v & 0xff;
}

/*
 * kTLS splits the 12-byte TLS 1.3 IV into a 4-byte salt and an 8-byte iv for
 * AES-GCM; ChaCha20-Poly1305 takes all 12 as iv.  Returns the size to pass
 * to setsockopt, or 0 for a cipher this file does not know.
 */
static socklen_t fill_crypto_info(union crypto_info *ci,
				  const struct qktls_suite_info *si,
				  const struct qktls_traffic_keys *k,
				  uint64_t seq)
{
	memset(ci, 0, sizeof(*ci));
	ci->base.version = TLS_1_3_VERSION;
	ci->base.cipher_type = si->ktls_cipher;
	switch (si->ktls_cipher) {
	case TLS_CIPHER_AES_GCM_128:
		memcpy(ci->aes128.key, k->key, TLS_CIPHER_AES_GCM_128_KEY_SIZE);
		memcpy(ci->aes128.salt, k->iv, TLS_CIPHER_AES_GCM_128_SALT_SIZE);
		memcpy(ci->aes128.iv, k->iv + TLS_CIPHER_AES_GCM_128_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_128_IV_SIZE);
		put_be64(ci->aes128.rec_seq, seq);
		return sizeof(ci->aes128);
	case TLS_CIPHER_AES_GCM_256:
		memcpy(ci->aes256.key, k->key, TLS_CIPHER_AES_GCM_256_KEY_SIZE);
		memcpy(ci->aes256.salt, k->iv, TLS_CIPHER_AES_GCM_256_SALT_SIZE);
		memcpy(ci->aes256.iv, k->iv + TLS_CIPHER_AES_GCM_256_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_256_IV_SIZE);
		put_be64(ci->aes256.rec_seq, seq);
		return sizeof(ci->aes256);
	case TLS_CIPHER_CHACHA20_POLY1305:
		memcpy(ci->chacha.key, k->key,
		       TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE);
		memcpy(ci->chacha.iv, k->iv, TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE);
		put_be64(ci->chacha.rec_seq, seq);
		return sizeof(ci->chacha);
	}
	return 0;
}

static int optname_of(enum qktls_dir dir)
{
	switch (dir) {
	case QKTLS_DIR_TX:
		return TLS_TX;
	case QKTLS_DIR_RX:
		return TLS_RX;
	}
	return -1;
}

/*
 * Version and cipher of the key installed in one direction, without the key
 * (a header-sized getsockopt returns only struct tls_crypto_info).
 * Returns 1 if a key is there, 0 if not, or a negative errno.
 */
int qk_ktls_installed(int fd, int optname, struct tls_crypto_info *hdr)
{
	socklen_t len = sizeof(*hdr);

	memset(hdr, 0, sizeof(*hdr));
	if (!getsockopt(fd, SOL_TLS, optname, hdr, &len))
		return 1;
	/*
	 * No tls ULP yet: SOL_TLS is unknown to TCP (EOPNOTSUPP, or
	 * ENOPROTOOPT on some kernels); EBUSY: ULP but no key that way.
	 */
	if (errno == EOPNOTSUPP || errno == ENOPROTOOPT || errno == EBUSY)
		return 0;
	return -errno;
}

static int enable_ulp(int fd)
{
	char name[16] = "";
	socklen_t len = sizeof(name);

	if (!setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return 0;
	switch (errno) {
	case ENOENT:	/* no "tls" ULP registered: CONFIG_TLS off or unloaded */
		return -QKTLS_E_NOKTLS;
	case EEXIST:	/* a ULP is there already: fine if it is tls */
		if (getsockopt(fd, IPPROTO_TCP, TCP_ULP, name, &len))
			return -errno;
		return strncmp(name, "tls", sizeof(name)) ? -EEXIST : 0;
	}
	return -errno;
}

/* Derive the keys of @secret and set them in direction @optname. */
static int set_key(int fd, int optname, const struct qktls_suite_info *si,
		   const uint8_t *secret, size_t secret_len, uint64_t seq,
		   bool rekey)
{
	struct qktls_traffic_keys keys;
	union crypto_info ci;
	socklen_t len;
	int ret;

	ret = qktls_traffic_keys(si->suite, secret, secret_len, &keys);
	if (ret)
		return ret;
	len = fill_crypto_info(&ci, si, &keys, seq);
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (!len) {
		ret = -QKTLS_E_SUITE;
	} else if (setsockopt(fd, SOL_TLS, optname, &ci, len)) {
		ret = -errno;
		/*
		 * Before 6.14 a second TLS_TX/TLS_RX is always EBUSY; from
		 * 6.14 only for TLS 1.2, which installed() ruled out.
		 */
		if (rekey && ret == -EBUSY)
			ret = -QKTLS_E_NOREKEY;
	}
	OPENSSL_cleanse(&ci, sizeof(ci));
	return ret;
}

int qktls_ktls_install(int fd, enum qktls_dir dir, uint16_t suite,
		       const uint8_t *secret, size_t secret_len, uint64_t seq)
{
	const struct qktls_suite_info *si = qktls_suite_info(suite);
	int optname = optname_of(dir);
	struct tls_crypto_info hdr;
	int ret;

	if (fd < 0 || optname < 0 || !secret)
		return -QKTLS_E_ARG;
	if (!si)
		return -QKTLS_E_SUITE;
	if (secret_len != si->hash_len)
		return -QKTLS_E_LENGTH;
	ret = enable_ulp(fd);
	if (ret)
		return ret;
	ret = qk_ktls_installed(fd, optname, &hdr);
	if (ret)
		return ret > 0 ? -QKTLS_E_INSTALLED : ret;
	return set_key(fd, optname, si, secret, secret_len, seq, false);
}

int qktls_ktls_rekey(int fd, enum qktls_dir dir, uint16_t suite,
		     const uint8_t *secret, size_t secret_len)
{
	const struct qktls_suite_info *si = qktls_suite_info(suite);
	int optname = optname_of(dir);
	struct tls_crypto_info hdr;
	int ret;

	if (fd < 0 || optname < 0 || !secret)
		return -QKTLS_E_ARG;
	if (!si)
		return -QKTLS_E_SUITE;
	if (secret_len != si->hash_len)
		return -QKTLS_E_LENGTH;
	ret = qk_ktls_installed(fd, optname, &hdr);
	if (ret <= 0)
		return ret ? ret : -QKTLS_E_NOTINSTALLED;
	if (hdr.version != TLS_1_3_VERSION || hdr.cipher_type != si->ktls_cipher)
		return -QKTLS_E_MISMATCH;
	/* TLS 1.3: the sequence number restarts at 0 with every new key. */
	return set_key(fd, optname, si, secret, secret_len, 0, true);
}

int qktls_ktls_send_key_update(int fd, bool update_requested)
{
	uint8_t msg[5] = { TLS_HANDSHAKE_KEY_UPDATE, 0, 0, 1,
			   update_requested ? 1 : 0 };

	if (fd < 0)
		return -QKTLS_E_ARG;
	return qktls_send_record(fd, TLS_RECORD_TYPE_HANDSHAKE, msg, sizeof(msg));
}

int qktls_ktls_rekey_supported(void)
{
	FILE *f = fopen("/proc/net/tls_stat", "re");
	char name[64];
	long val;
	int ret = 0;

	if (!f)
		return errno == ENOENT ? -QKTLS_E_NOKTLS : -errno;
	while (fscanf(f, "%63s %ld", name, &val) == 2)
		if (!strcmp(name, "TlsTxRekeyOk"))
			ret = 1;
	fclose(f);
	return ret;
}
