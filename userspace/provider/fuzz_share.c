// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the provider's key share parsing: what the server
 * does with a client's key_share (import, reference lookup, encapsulation)
 * and what the client does with a server's (length and key ID checks,
 * decapsulation), for both groups.
 *
 * Input: one mode byte, then the share.  Mode bit 0 picks the group
 * (qktls-X25519MLKEM768 / qkd_mlkem768), bit 1 the side (server imports a
 * client share / client decapsulates a server share).  The key source
 * answers by the reference's first byte: known, unknown or already used.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <qktls/provider.h>

static OSSL_LIB_CTX *lib;
static const uint8_t fixed_ref[QKTLS_QKD_REF_LEN] = { 0x42 };

static int fz_get_key(void *arg, uint8_t ref[QKTLS_QKD_REF_LEN],
		      uint8_t *key, size_t *key_len)
{
	(void)arg;
	memcpy(ref, fixed_ref, QKTLS_QKD_REF_LEN);
	memset(key, 0x11, 32);
	*key_len = 32;
	return QKTLS_QKD_OK;
}

static int fz_take_key(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN],
		       uint8_t *key, size_t *key_len)
{
	(void)arg;
	switch (ref[0] % 4) {
	case 1:
		return QKTLS_QKD_NOT_FOUND;
	case 2:
		return QKTLS_QKD_USED;
	case 3:		/* a key of an odd length */
		memset(key, 0x22, 17);
		*key_len = 17;
		return QKTLS_QKD_OK;
	}
	memset(key, 0x22, 32);
	*key_len = 32;
	return QKTLS_QKD_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct qktls_qkd_keys keys = {
		.link = "fuzz", .get_key = fz_get_key, .take_key = fz_take_key,
	};

	(void)argc;
	(void)argv;
	lib = OSSL_LIB_CTX_new();
	if (lib == NULL || qktls_provider_load(lib, &keys) == NULL)
		abort();
	return 0;
}

static void server_side(int mlkem, const uint8_t *in, size_t len)
{
	const char *group = mlkem ? QKTLS_GROUP_QKD_MLKEM768 : QKTLS_GROUP_HYBRID;
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(lib, group, NULL);
	EVP_PKEY_CTX *kctx = NULL;
	EVP_PKEY *peer = NULL;
	unsigned char *ct = NULL, *ss = NULL;
	size_t ctlen = 0, sslen = 0;

	if (pctx == NULL || EVP_PKEY_paramgen_init(pctx) <= 0 ||
	    EVP_PKEY_paramgen(pctx, &peer) <= 0)
		abort();
	if (EVP_PKEY_set1_encoded_public_key(peer, in, len) <= 0)
		goto out;
	/* Accepted: it must be exactly a share of this group. */
	if (len != (mlkem ? 1200u : 1232u))
		abort();
	kctx = EVP_PKEY_CTX_new_from_pkey(lib, peer, NULL);
	if (kctx == NULL || EVP_PKEY_encapsulate_init(kctx, NULL) <= 0 ||
	    EVP_PKEY_encapsulate(kctx, NULL, &ctlen, NULL, &sslen) <= 0)
		abort();
	ct = malloc(ctlen);
	ss = malloc(sslen);
	if (ct == NULL || ss == NULL)
		abort();
	/* May fail on a hostile inner share (e.g. a low-order X25519 point). */
	if (EVP_PKEY_encapsulate(kctx, ct, &ctlen, ss, &sslen) <= 0)
		goto out;
	/* A second use of the same QKD key must fail. */
	if (EVP_PKEY_encapsulate(kctx, ct, &ctlen, ss, &sslen) > 0)
		abort();
out:
	free(ct);
	if (ss != NULL)
		OPENSSL_clear_free(ss, sslen);
	EVP_PKEY_CTX_free(kctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_CTX_free(pctx);
}

static void client_side(int mlkem, const uint8_t *in, size_t len)
{
	const char *group = mlkem ? QKTLS_GROUP_QKD_MLKEM768 : QKTLS_GROUP_HYBRID;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(lib, NULL, group);
	EVP_PKEY_CTX *kctx;
	unsigned char ss[128];
	size_t sslen = sizeof(ss);

	if (key == NULL)
		abort();
	kctx = EVP_PKEY_CTX_new_from_pkey(lib, key, NULL);
	if (kctx == NULL || EVP_PKEY_decapsulate_init(kctx, NULL) <= 0)
		abort();
	if (EVP_PKEY_decapsulate(kctx, ss, &sslen, in, len) > 0) {
		/* ML-KEM decapsulates any ciphertext of the right length
		 * (implicit rejection); the length must be right. */
		if (len != (mlkem ? 1104u : 1120u))
			abort();
		if (EVP_PKEY_decapsulate(kctx, ss, &sslen, in, len) > 0)
			abort();
	}
	OPENSSL_cleanse(ss, sizeof(ss));
	EVP_PKEY_CTX_free(kctx);
	EVP_PKEY_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 2)
		client_side(data[0] & 1, data + 1, size - 1);
	else
		server_side(data[0] & 1, data + 1, size - 1);
	ERR_clear_error();
	return 0;
}
