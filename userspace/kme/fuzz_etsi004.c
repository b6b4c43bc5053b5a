// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the ETSI GS QKD 004 codec (etsi004-wire.c, linked
 * without the network code).  The input is one message, header and
 * payload, as a KME or an application would send it.  The decoder of its
 * service type runs on it, and what decodes in full must encode back to
 * the same bytes (one message has one encoding); the version bytes are
 * the encoder's own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <qktls/etsi004.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* @out must be @data but for the version bytes; frees @out. */
static void check_same(const uint8_t *data, size_t size, int rc,
		       unsigned char *out, size_t len)
{
	if (rc || len != size || memcmp(out + 3, data + 3, len - 3))
		abort();
	OPENSSL_free(out);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *p = data + QK_004_HEADER_LEN;
	unsigned char *out = NULL, ksid[QK_004_KSID_LEN];
	struct qk_004_open_req oq;
	struct qk_004_open_resp os;
	struct qk_004_get_req gq;
	struct qk_004_get_resp gs;
	size_t len = 0;
	uint32_t n, st;
	uint8_t service;
	char why[256];
	int rc;

	if (size < QK_004_HEADER_LEN ||
	    qk004_decode_header(data, &service, &n, why, sizeof(why)) ||
	    n != size - QK_004_HEADER_LEN)
		return 0;
	switch (service) {
	case QK_004_OPEN_CONNECT_REQUEST:
		if (qk004_decode_open_req(p, n, &oq, why, sizeof(why)))
			break;
		rc = qk004_encode_open_req(&oq, &out, &len, why, sizeof(why));
		check_same(data, size, rc, out, len);
		break;
	case QK_004_OPEN_CONNECT_RESPONSE:
		/* A status alone is read, and written as the whole structure. */
		if (qk004_decode_open_resp(p, n, &os, why, sizeof(why)) || n == 4)
			break;
		rc = qk004_encode_open_resp(&os, &out, &len, why, sizeof(why));
		check_same(data, size, rc, out, len);
		break;
	case QK_004_GET_KEY_REQUEST:
		/* The offered metadata buffer is written zeroed. */
		if (qk004_decode_get_req(p, n, &gq, why, sizeof(why)) ||
		    !all_zero(p + 24, n - 24))
			break;
		rc = qk004_encode_get_req(&gq, &out, &len, why, sizeof(why));
		check_same(data, size, rc, out, len);
		break;
	case QK_004_GET_KEY_RESPONSE:
		if (qk004_decode_get_resp(p, n, &gs, why, sizeof(why)) || n == 4)
			break;
		rc = qk004_encode_get_resp(&gs, &out, &len, why, sizeof(why));
		check_same(data, size, rc, out, len);
		break;
	case QK_004_CLOSE_REQUEST:
		if (qk004_decode_close_req(p, n, ksid, why, sizeof(why)))
			break;
		rc = qk004_encode_close_req(ksid, &out, &len, why, sizeof(why));
		check_same(data, size, rc, out, len);
		break;
	case QK_004_CLOSE_RESPONSE:
		if (qk004_decode_close_resp(p, n, &st, why, sizeof(why)))
			break;
		rc = qk004_encode_close_resp(st, &out, &len, why, sizeof(why));
		check_same(data, size, rc, out, len);
		break;
	}
	return 0;
}
