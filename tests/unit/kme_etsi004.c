// SPDX-License-Identifier: GPL-2.0-only
/*
 * ETSI GS QKD 004 V2.1.1: the codec against the documented bytes
 * (Documentation/qktls/etsi004.rst) and every truncation; the client's
 * argument checks.
 */
/* The harness compares int literals with unsigned values and enums. */
#pragma GCC diagnostic ignored "-Wsign-compare"

#include <stdbool.h>

#include <openssl/crypto.h>

#include <qktls/etsi004.h>
#include <sanitizer/lsan_interface.h>

#include "kselftest_harness.h"

static unsigned char *unhex(const char *hex, size_t *len)
{
	size_t n = 0;
	unsigned char *b = malloc(strlen(hex) / 2 + 1);

	for (const char *p = hex; b && *p; p++) {
		unsigned int v;

		if (*p == ' ' || *p == '\n')
			continue;
		if (sscanf(p, "%2x", &v) != 1)
			break;
		b[n++] = (unsigned char)v;
		p++;
	}
	*len = n;
	return b;
}

static const struct qk_004_qos doc_qos = {
	.key_chunk_size = 32, .max_bps = 1000000, .min_bps = 0, .jitter = 10,
	.priority = 0, .timeout = 5000, .ttl = 3600,
	.metadata_mimetype = "application/json",
};

/* The OPEN_CONNECT request of the documentation, byte for byte. */
TEST(codec_open_request_bytes)
{
	static const char doc[] =
		"02 01 01 02 00 00 00 49"		/* header: 2.1.1, 0x02, 73 */
		"53 41 45 5f 41 00"			/* "SAE_A" */
		"53 41 45 5f 42 00"			/* "SAE_B" */
		"00 00 00 20 00 0f 42 40 00 00 00 00 00 00 00 0a"
		"00 00 00 00 00 00 13 88 00 00 0e 10"	/* 7 x u32 */
		"61 70 70 6c 69 63 61 74 69 6f 6e 2f 6a 73 6f 6e 00"
		"00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";
	struct qk_004_open_req m = { .source = "SAE_A", .destination = "SAE_B",
				     .qos = doc_qos }, d;
	unsigned char *out, *want;
	size_t len, wlen;
	char why[200];
	uint8_t service;
	uint32_t plen;

	want = unhex(doc, &wlen);
	ASSERT_EQ(0, qk004_encode_open_req(&m, &out, &len, why, sizeof(why)));
	ASSERT_EQ(wlen, len);
	EXPECT_EQ(0, memcmp(want, out, len));
	ASSERT_EQ(0, qk004_decode_header(out, &service, &plen, why, sizeof(why)));
	EXPECT_EQ(QK_004_OPEN_CONNECT_REQUEST, service);
	EXPECT_EQ(len - 8, plen);
	ASSERT_EQ(0, qk004_decode_open_req(out + 8, plen, &d, why, sizeof(why)));
	EXPECT_STREQ("SAE_A", d.source);
	EXPECT_STREQ("SAE_B", d.destination);
	EXPECT_EQ(0, memcmp(&doc_qos, &d.qos, sizeof(d.qos) - sizeof(d.qos.metadata_mimetype)));
	EXPECT_STREQ("application/json", d.qos.metadata_mimetype);
	/* Every truncation, and one byte too many, is refused by name. */
	for (size_t l = 0; l < plen; l++)
		EXPECT_EQ(-1, qk004_decode_open_req(out + 8, l, &d, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "truncated")) TH_LOG("%s", why);
	OPENSSL_free(out);
	free(want);
}

/* GET_KEY request and response, and CLOSE, byte for byte. */
TEST(codec_get_key_and_close_bytes)
{
	static const char req_doc[] =
		"02 01 01 04 00 00 00 18"
		"11 22 33 44 55 66 47 88 99 aa bb cc dd ee ff 00"
		"00 00 00 07 00 00 00 00";
	static const char resp_doc[] =
		"02 01 01 05 00 00 00 17"
		"00 00 00 00 00 00 00 07 00 00 00 04 de ad be ef"
		"00 00 00 03 7b 7d 0a";
	static const char close_doc[] =
		"02 01 01 08 00 00 00 10 11 22 33 44 55 66 47 88 99 aa bb cc dd ee ff 00";
	struct qk_004_get_req rq = { .index = 7 }, drq;
	struct qk_004_get_resp rs = { .index = 7, .key = (const unsigned char *)"\xde\xad\xbe\xef",
				      .key_len = 4, .metadata = (const unsigned char *)"{}\n",
				      .metadata_len = 3 }, drs;
	unsigned char *out, *want, ksid[16];
	size_t len, wlen;
	char why[200], text[37];

	ASSERT_EQ(0, qk_004_ksid_parse("11223344-5566-4788-99aa-bbccddeeff00", rq.ksid));
	qk_004_ksid_str(rq.ksid, text);
	EXPECT_STREQ("11223344-5566-4788-99aa-bbccddeeff00", text);
	EXPECT_EQ(-1, qk_004_ksid_parse("11223344-5566-4788-99aa-bbccddeeff0", ksid));
	EXPECT_EQ(-1, qk_004_ksid_parse("not a uuid", ksid));

	want = unhex(req_doc, &wlen);
	ASSERT_EQ(0, qk004_encode_get_req(&rq, &out, &len, why, sizeof(why)));
	ASSERT_EQ(wlen, len);
	EXPECT_EQ(0, memcmp(want, out, len));
	ASSERT_EQ(0, qk004_decode_get_req(out + 8, len - 8, &drq, why, sizeof(why)));
	EXPECT_EQ(7, drq.index);
	EXPECT_EQ(0, memcmp(rq.ksid, drq.ksid, 16));
	OPENSSL_free(out);
	free(want);

	want = unhex(resp_doc, &wlen);
	ASSERT_EQ(0, qk004_encode_get_resp(&rs, &out, &len, why, sizeof(why)));
	ASSERT_EQ(wlen, len);
	EXPECT_EQ(0, memcmp(want, out, len));
	ASSERT_EQ(0, qk004_decode_get_resp(out + 8, len - 8, &drs, why, sizeof(why)));
	EXPECT_EQ(4, drs.key_len);
	EXPECT_EQ(0, memcmp("\xde\xad\xbe\xef", drs.key, 4));
	EXPECT_EQ(3, drs.metadata_len);
	for (size_t l = 5; l < len - 8; l++)
		EXPECT_EQ(-1, qk004_decode_get_resp(out + 8, l, &drs, why, sizeof(why)));
	/* A status alone is a valid failure answer, not a valid success. */
	EXPECT_EQ(-1, qk004_decode_get_resp((const unsigned char *)"\0\0\0\0", 4,
					    &drs, why, sizeof(why)));
	EXPECT_EQ(0, qk004_decode_get_resp((const unsigned char *)"\0\0\0\2", 4,
					   &drs, why, sizeof(why)));
	EXPECT_EQ(2, drs.status);
	OPENSSL_free(out);
	free(want);

	want = unhex(close_doc, &wlen);
	ASSERT_EQ(0, qk004_encode_close_req(rq.ksid, &out, &len, why, sizeof(why)));
	ASSERT_EQ(wlen, len);
	EXPECT_EQ(0, memcmp(want, out, len));
	OPENSSL_free(out);
	free(want);
}

TEST(codec_rejects)
{
	unsigned char hdr[8] = { 1, 0, 1, 3, 0, 0, 0, 4 }, big[300];
	struct qk_004_open_req m = { .source = "SAE_A", .destination = "SAE_B",
				     .qos = doc_qos }, d;
	struct qk_004_get_resp r;
	uint8_t service;
	uint32_t plen;
	char why[200];

	/* The QUBIP Python server's version 1.0.1 is another encoding. */
	EXPECT_EQ(-1, qk004_decode_header(hdr, &service, &plen, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "version 1.0.1")) TH_LOG("%s", why);
	hdr[0] = 2;
	hdr[4] = 0x7f;
	EXPECT_EQ(-1, qk004_decode_header(hdr, &service, &plen, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "limit")) TH_LOG("%s", why);
	/* A mimetype without its NUL within 256 bytes. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "S\0D\0", 4);
	EXPECT_EQ(-1, qk004_decode_open_req(big, sizeof(big), &d, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "mimetype")) TH_LOG("%s", why);
	/* A key buffer longer than the payload. */
	memcpy(big, "\0\0\0\0\0\0\0\0\0\0\1\0", 12);
	EXPECT_EQ(-1, qk004_decode_get_resp(big, 40, &r, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "key buffer")) TH_LOG("%s", why);
	/* Encoders refuse what the decoders would. */
	memset(m.qos.metadata_mimetype, 'x', sizeof(m.qos.metadata_mimetype));
	m.qos.metadata_mimetype[QK_004_MIMETYPE_MAX] = '\0';
	{
		unsigned char *out;
		size_t len;

		ASSERT_EQ(0, qk004_encode_open_req(&m, &out, &len, why, sizeof(why)));
		OPENSSL_free(out);
	}
	/* Status codes: names and errors, the unknown included. */
	EXPECT_STREQ("GK_INSUFFICIENT_KEY_AVAILABLE", qk_004_status_name(2));
	EXPECT_STREQ("unknown", qk_004_status_name(9));
	EXPECT_EQ(QK_KME_OK, qk_004_status_err(1));
	EXPECT_EQ(QK_KME_E_NO_KEY, qk_004_status_err(2));
	EXPECT_EQ(QK_KME_E_PEER_NOT_CONNECTED, qk_004_status_err(3));
	EXPECT_EQ(QK_KME_E_NO_CONNECTION, qk_004_status_err(4));
	EXPECT_EQ(QK_KME_E_KSID_IN_USE, qk_004_status_err(5));
	EXPECT_EQ(QK_KME_E_TIMEOUT, qk_004_status_err(6));
	EXPECT_EQ(QK_KME_E_QOS, qk_004_status_err(7));
	EXPECT_EQ(QK_KME_E_METADATA_SIZE, qk_004_status_err(8));
	EXPECT_EQ(QK_KME_E_STATUS, qk_004_status_err(9));
	EXPECT_STREQ("KME: insufficient key available", qk_kme_strerror(QK_KME_E_NO_KEY));
}

TEST(invalid_arguments)
{
	struct qk_004_config cfg = { .host = "localhost", .cert = "/nonexistent.pem",
				     .key = "k", .ca = "c" };
	struct qk_kme_error err;
	struct qk_004_qos q = doc_qos;
	struct qk_004_key k;
	unsigned char ksid[16] = { 0 };

	EXPECT_EQ(NULL, qk_004_client_new(&cfg, &err));
	EXPECT_EQ(QK_KME_E_TLS_CONFIG, err.code);
	EXPECT_NE(NULL, strstr(err.message, "/nonexistent.pem"));
	cfg.host = "bad host";
	EXPECT_EQ(NULL, qk_004_client_new(&cfg, &err));
	EXPECT_EQ(QK_KME_E_INVAL, err.code);
	cfg.host = "localhost";
	cfg.port = 70000;
	EXPECT_EQ(NULL, qk_004_client_new(&cfg, &err));
	EXPECT_EQ(QK_KME_E_INVAL, err.code);
	/* Calls check their arguments before any connection. */
	EXPECT_EQ(QK_KME_E_INVAL, qk_004_open_connect(NULL, "a", "b", &q, ksid, NULL, &err));
	q.key_chunk_size = 0;
	EXPECT_EQ(QK_KME_E_INVAL, qk_004_open_connect(NULL, "a", "b", &q, ksid, NULL, &err));
	EXPECT_EQ(QK_KME_E_INVAL, qk_004_get_key(NULL, ksid, 0, 32, 0, &k, NULL, &err));
	EXPECT_EQ(QK_KME_E_INVAL, qk_004_close(NULL, ksid, NULL, &err));
}

TEST_HARNESS_MAIN
