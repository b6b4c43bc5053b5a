// SPDX-License-Identifier: GPL-2.0-only
/*
 * ETSI GS QKD 004 V2.1.1: the codec against the documented bytes
 * (Documentation/qktls/etsi004.rst) and every truncation, and the client
 * against qktls-kme-sim's 004 listeners over real TLS: one key stream
 * opened at both KMEs gives identical keys by index, each index once per
 * side, every status of the standard, every injected fault, TLS failures.
 */
/* The harness compares int literals with unsigned values and enums. */
#pragma GCC diagnostic ignored "-Wsign-compare"

#include <netinet/in.h>
#include <stdbool.h>

#include <openssl/crypto.h>

#include <qktls/etsi004.h>
#include <sanitizer/lsan_interface.h>

#include "kselftest_harness.h"
#include "kme_sim.h"

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

/* --- against the simulator ------------------------------------------------------ */

static struct qk_004_client *client4(unsigned int port, const char *sae,
				     const char *ca, long timeout_ms,
				     struct qk_kme_error *err)
{
	char cert[PATH_MAX], key[PATH_MAX], cafile[PATH_MAX];
	struct qk_004_config cfg = { .host = "localhost", .port = port,
				     .cert = cert, .key = key, .ca = cafile,
				     .timeout_ms = timeout_ms };

	if (snprintf(cert, sizeof(cert), "%s/pki/%s.pem", kt_pki, sae) >= PATH_MAX ||
	    snprintf(key, sizeof(key), "%s/pki/%s.key", kt_pki, sae) >= PATH_MAX ||
	    snprintf(cafile, sizeof(cafile), "%s/pki/%s", kt_pki,
		     ca ? ca : "ca.pem") >= PATH_MAX)
		return NULL;
	return qk_004_client_new(&cfg, err);
}

FIXTURE(e004) {
	struct kt_sim sim;
	struct qk_004_client *a, *b;
	struct qk_kme_error err;
	struct qk_004_qos qos;
	unsigned char ksid[16];
	uint32_t status;
};

FIXTURE_SETUP(e004)
{
	ASSERT_EQ(0, kt_sim_start(&self->sim, NULL, "--a-listen-004", "127.0.0.1:0",
				  "--b-listen-004", "127.0.0.1:0", NULL));
	ASSERT_NE(0, self->sim.port004_a);
	ASSERT_NE(0, self->sim.port004_b);
	self->a = client4(self->sim.port004_a, "sae-a", NULL, 15000, &self->err);
	ASSERT_NE(NULL, self->a) TH_LOG("%s", self->err.message);
	self->b = client4(self->sim.port004_b, "sae-b", NULL, 15000, &self->err);
	ASSERT_NE(NULL, self->b) TH_LOG("%s", self->err.message);
	self->qos = doc_qos;
	memset(self->ksid, 0, sizeof(self->ksid));
}

FIXTURE_TEARDOWN(e004)
{
	qk_004_client_free(self->a);
	qk_004_client_free(self->b);
	EXPECT_EQ(0, kt_sim_stop(&self->sim));
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
}

/* A opens (new stream, peer not yet there), B joins with the same ID. */
static void open_both(struct __test_metadata *_metadata, FIXTURE_DATA(e004) *self)
{
	struct qk_004_qos q = self->qos;

	ASSERT_EQ(QK_KME_OK, qk_004_open_connect(self->a, "qkd://SAE_A", "qkd://SAE_B",
						 &self->qos, self->ksid,
						 &self->status, &self->err))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(QK_004_PEER_NOT_CONNECTED, self->status);
	ASSERT_EQ(QK_KME_OK, qk_004_open_connect(self->b, "SAE_B", "SAE_A", &q,
						 self->ksid, &self->status,
						 &self->err))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(QK_004_SUCCESSFUL, self->status);
	EXPECT_EQ(32, q.key_chunk_size);
}

static unsigned long streams(struct __test_metadata *_metadata, struct kt_sim *s)
{
	char reply[512], *p;

	EXPECT_EQ(0, kt_ctl(s, reply, sizeof(reply), "stats"));
	p = strstr(reply, "\"key_streams\":");
	return p ? strtoul(p + 14, NULL, 10) : 999;
}

TEST_F(e004, same_keys_by_index_each_once)
{
	struct qk_004_key ka[5], kb[5];

	open_both(_metadata, self);
	/* Out of order and from both ends: the index names the key. */
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(QK_KME_OK, qk_004_get_key(self->a, self->ksid, i, 32, 0,
						    &ka[i], &self->status, &self->err))
			TH_LOG("%s", self->err.message);
	for (int i = 4; i >= 0; i--)
		ASSERT_EQ(QK_KME_OK, qk_004_get_key(self->b, self->ksid, i, 32, 0,
						    &kb[i], &self->status, &self->err))
			TH_LOG("%s", self->err.message);
	for (int i = 0; i < 5; i++) {
		EXPECT_EQ(32, ka[i].len);
		EXPECT_EQ(i, kb[i].index);
		EXPECT_EQ(0, memcmp(ka[i].key, kb[i].key, 32));
		if (i)
			EXPECT_NE(0, memcmp(ka[i].key, ka[i - 1].key, 32));
	}
	for (int i = 0; i < 5; i++) {
		qk_004_key_free(&ka[i]);
		qk_004_key_free(&kb[i]);
		EXPECT_EQ(NULL, ka[i].key);
	}
	/* An index is delivered once per side. */
	EXPECT_EQ(QK_KME_E_NO_KEY, qk_004_get_key(self->a, self->ksid, 3, 32, 0,
						  &ka[0], &self->status, &self->err));
	EXPECT_EQ(QK_004_GK_INSUFFICIENT_KEY_AVAILABLE, self->status);
	EXPECT_NE(NULL, strstr(self->err.message, "GK_INSUFFICIENT_KEY_AVAILABLE"))
		TH_LOG("%s", self->err.message);
	/* A gap is fine: index 100 before 5..99. */
	ASSERT_EQ(QK_KME_OK, qk_004_get_key(self->b, self->ksid, 100, 32, 0, &kb[0],
					    &self->status, &self->err));
	qk_004_key_free(&kb[0]);
	EXPECT_EQ(1, streams(_metadata, &self->sim));
	EXPECT_EQ(QK_KME_OK, qk_004_close(self->a, self->ksid, &self->status, &self->err));
	/* The peer closed: B's reads say so. */
	EXPECT_EQ(QK_KME_E_PEER_NOT_CONNECTED,
		  qk_004_get_key(self->b, self->ksid, 100, 32, 0, &kb[0],
				 &self->status, &self->err));
	EXPECT_EQ(QK_004_GK_PEER_NOT_CONNECTED, self->status);
	EXPECT_EQ(QK_KME_OK, qk_004_close(self->b, self->ksid, &self->status, &self->err));
	EXPECT_EQ(0, streams(_metadata, &self->sim));
	/* Closed is closed. */
	EXPECT_EQ(QK_KME_E_NO_CONNECTION, qk_004_close(self->b, self->ksid,
						       &self->status, &self->err));
	EXPECT_EQ(QK_004_NO_QKD_CONNECTION_AVAILABLE, self->status);
}

TEST_F(e004, peer_not_connected_and_ksid_in_use)
{
	struct qk_004_client *c;
	struct qk_004_qos q = doc_qos;
	struct qk_004_key k;

	ASSERT_EQ(QK_KME_OK, qk_004_open_connect(self->a, "SAE_A", "SAE_B", &self->qos,
						 self->ksid, &self->status, &self->err));
	EXPECT_EQ(QK_KME_E_PEER_NOT_CONNECTED,
		  qk_004_get_key(self->a, self->ksid, 0, 32, 0, &k, &self->status,
				 &self->err));
	EXPECT_EQ(3, self->status);
	EXPECT_NE(NULL, strstr(self->err.message, "GK_PEER_NOT_CONNECTED"));
	/* A second open of the same stream at the same KME. */
	EXPECT_EQ(QK_KME_E_KSID_IN_USE,
		  qk_004_open_connect(self->a, "SAE_A", "SAE_B", &q, self->ksid,
				      &self->status, &self->err));
	EXPECT_EQ(5, self->status);
	/* Another application at KME B may not take it over. */
	c = client4(self->sim.port004_b, "sae-c", NULL, 15000, &self->err);
	ASSERT_NE(NULL, c);
	q = doc_qos;
	EXPECT_EQ(QK_KME_E_KSID_IN_USE,
		  qk_004_open_connect(c, "SAE_C", "SAE_A", &q, self->ksid,
				      &self->status, &self->err))
		TH_LOG("%s", self->err.message);
	qk_004_client_free(c);
}

TEST_F(e004, qos_not_satisfiable_with_counter_proposal)
{
	struct qk_004_qos q = doc_qos;

	q.key_chunk_size = 4;		/* 32 bits, below --min-key-size 64 */
	EXPECT_EQ(QK_KME_E_QOS, qk_004_open_connect(self->a, "SAE_A", "SAE_B", &q,
						    self->ksid, &self->status,
						    &self->err));
	EXPECT_EQ(QK_004_OC_QOS_NOT_SATISFIABLE, self->status);
	EXPECT_EQ(32, q.key_chunk_size) TH_LOG("%s", self->err.message);
	EXPECT_NE(NULL, strstr(self->err.message, "proposes key_chunk_size 32"));
	/* The counter-proposal is accepted as it stands. */
	EXPECT_EQ(QK_KME_OK, qk_004_open_connect(self->a, "SAE_A", "SAE_B", &q,
						 self->ksid, &self->status, &self->err));
	/* A minimum rate the link (rate 0) cannot give. */
	q = doc_qos;
	q.min_bps = 1000;
	memset(self->ksid, 0, 16);
	EXPECT_EQ(QK_KME_E_QOS, qk_004_open_connect(self->a, "SAE_A", "SAE_B", &q,
						    self->ksid, &self->status,
						    &self->err));
	EXPECT_EQ(0, q.min_bps);
}

TEST_F(e004, no_qkd_connection)
{
	struct qk_004_qos q = doc_qos;
	struct qk_004_key k;
	unsigned char other[16];

	/* SAE_A is not attached to KME B. */
	EXPECT_EQ(QK_KME_E_NO_CONNECTION,
		  qk_004_open_connect(self->a, "SAE_A", "SAE_A", &q, self->ksid,
				      &self->status, &self->err));
	EXPECT_EQ(4, self->status);
	/* Not the caller's own identity as source. */
	EXPECT_EQ(QK_KME_E_NO_CONNECTION,
		  qk_004_open_connect(self->a, "SAE_C", "SAE_B", &q, self->ksid,
				      &self->status, &self->err));
	ASSERT_EQ(0, qk_004_ksid_parse("11223344-5566-4788-99aa-bbccddeeff00", other));
	EXPECT_EQ(QK_KME_E_NO_CONNECTION,
		  qk_004_get_key(self->a, other, 0, 32, 0, &k, &self->status, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "NO_QKD_CONNECTION_AVAILABLE"));
}

TEST_F(e004, insufficient_key_then_recovered)
{
	struct qk_004_key k;

	open_both(_metadata, self);
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "drain", NULL));
	EXPECT_EQ(QK_KME_E_NO_KEY, qk_004_get_key(self->a, self->ksid, 0, 32, 0, &k,
						  &self->status, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "index 0"));
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "advance %s", "1"));
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "rate %s", "256000"));
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "advance %s", "10"));
	EXPECT_EQ(QK_KME_OK, qk_004_get_key(self->a, self->ksid, 0, 32, 0, &k,
					    &self->status, &self->err))
		TH_LOG("%s", self->err.message);
	qk_004_key_free(&k);
}

TEST_F(e004, metadata)
{
	struct qk_004_key k;

	open_both(_metadata, self);
	EXPECT_EQ(QK_KME_E_METADATA_SIZE,
		  qk_004_get_key(self->a, self->ksid, 0, 32, 8, &k, &self->status,
				 &self->err));
	EXPECT_EQ(8, self->status);
	EXPECT_NE(NULL, strstr(self->err.message, "8 offered")) TH_LOG("%s", self->err.message);
	/* Index 0 was not used up by the refusal. */
	ASSERT_EQ(QK_KME_OK, qk_004_get_key(self->a, self->ksid, 0, 32, 256, &k,
					    &self->status, &self->err));
	ASSERT_NE(NULL, k.metadata);
	EXPECT_NE(NULL, strstr(k.metadata, "\"index\":0")) TH_LOG("%s", k.metadata);
	qk_004_key_free(&k);
	/* Asking another key length than the stream's is caught. */
	EXPECT_EQ(QK_KME_E_KEY_LENGTH,
		  qk_004_get_key(self->a, self->ksid, 1, 16, 0, &k, &self->status,
				 &self->err));
}

TEST_F(e004, faults)
{
	struct qk_004_key k;
	struct qk_004_client *slow;

	open_both(_metadata, self);
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault004 a %s", "timeout,count=1"));
	EXPECT_EQ(QK_KME_E_TIMEOUT, qk_004_get_key(self->a, self->ksid, 0, 32, 0, &k,
						   &self->status, &self->err));
	EXPECT_EQ(QK_004_TIMEOUT_ERROR, self->status);
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault004 a %s", "peer-not-connected,count=1"));
	EXPECT_EQ(QK_KME_E_PEER_NOT_CONNECTED,
		  qk_004_get_key(self->a, self->ksid, 0, 32, 0, &k, &self->status,
				 &self->err));
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault004 a %s", "insufficient-key,count=1"));
	EXPECT_EQ(QK_KME_E_NO_KEY, qk_004_get_key(self->a, self->ksid, 0, 32, 0, &k,
						  &self->status, &self->err));
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault004 a %s", "drop,count=1"));
	EXPECT_EQ(QK_KME_E_DROPPED, qk_004_get_key(self->a, self->ksid, 0, 32, 0, &k,
						   &self->status, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "closed the connection"))
		TH_LOG("%s", self->err.message);
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault004 a %s", "malformed,count=1"));
	EXPECT_EQ(QK_KME_E_MALFORMED, qk_004_get_key(self->a, self->ksid, 0, 32, 0, &k,
						     &self->status, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "status")) TH_LOG("%s", self->err.message);
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault004 a %s", "no-connection,count=1"));
	EXPECT_EQ(QK_KME_E_NO_CONNECTION, qk_004_close(self->a, self->ksid,
						       &self->status, &self->err));
	/* A slow KME: the deadline covers the whole call. */
	slow = client4(self->sim.port004_a, "sae-a", NULL, 300, &self->err);
	ASSERT_NE(NULL, slow);
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault004 a %s", "latency=3000,count=1"));
	EXPECT_EQ(QK_KME_E_TIMEOUT, qk_004_get_key(slow, self->ksid, 0, 32, 0, &k,
						   &self->status, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "did not answer within 300 ms"))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(UINT32_MAX, self->status);
	qk_004_client_free(slow);
	/* Every fault was one-shot: the key of index 0 is still there. */
	EXPECT_EQ(QK_KME_OK, qk_004_get_key(self->a, self->ksid, 0, 32, 0, &k,
					    &self->status, &self->err))
		TH_LOG("%s", self->err.message);
	qk_004_key_free(&k);
}

TEST_F(e004, tls_and_transport_failures)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct qk_004_client *c;
	struct qk_004_qos q = doc_qos;
	int fd;

	/* The KME's certificate from an untrusted CA. */
	c = client4(self->sim.port004_a, "sae-a", "rogue-ca.pem", 5000, &self->err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_TLS_VERIFY, qk_004_open_connect(c, "SAE_A", "SAE_B", &q,
							   self->ksid, NULL, &self->err));
	qk_004_client_free(c);
	/* A client certificate the KME does not trust. */
	c = client4(self->sim.port004_a, "rogue", NULL, 5000, &self->err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_TLS, qk_004_open_connect(c, "SAE_A", "SAE_B", &q,
						    self->ksid, NULL, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "rejected the client certificate"))
		TH_LOG("%s", self->err.message);
	qk_004_client_free(c);
	/* SAE_B's certificate at KME A: not attached there. */
	c = client4(self->sim.port004_a, "sae-b", NULL, 5000, &self->err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_DROPPED, qk_004_open_connect(c, "SAE_B", "SAE_A", &q,
							self->ksid, NULL, &self->err));
	qk_004_client_free(c);
	/* Nothing listening. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sa, &sl));
	c = client4(ntohs(sa.sin_port), "sae-a", NULL, 5000, &self->err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_CONNECT, qk_004_open_connect(c, "SAE_A", "SAE_B", &q,
							self->ksid, NULL, &self->err));
	qk_004_client_free(c);
	close(fd);
}

/* --- the key source over a stream -------------------------------------------- */

static struct qk_key_source *source4(struct kt_sim *sim, bool a,
				     const unsigned char *ksid,
				     struct qk_kme_error *err)
{
	static char cert[2][PATH_MAX], key[2][PATH_MAX], ca[PATH_MAX];
	struct qk_004_source_config cfg = {
		.kme = { .host = "localhost", .port = a ? sim->port004_a : sim->port004_b,
			 .cert = cert[a], .key = key[a], .ca = ca, .timeout_ms = 15000 },
		.source = a ? "SAE_A" : "SAE_B", .destination = a ? "SAE_B" : "SAE_A",
		.qos = doc_qos,
	};

	if (snprintf(cert[a], PATH_MAX, "%s/pki/sae-%c.pem", kt_pki, a ? 'a' : 'b') >= PATH_MAX ||
	    snprintf(key[a], PATH_MAX, "%s/pki/sae-%c.key", kt_pki, a ? 'a' : 'b') >= PATH_MAX ||
	    snprintf(ca, PATH_MAX, "%s/pki/ca.pem", kt_pki) >= PATH_MAX)
		return NULL;
	memcpy(cfg.ksid, ksid, 16);
	return qk_kme004_source_new(&cfg, err);
}

static uint64_t index_of(const unsigned char *ksid, const char *id)
{
	uint64_t i = UINT64_MAX;

	qk_004_id_index(ksid, id, &i);
	return i;
}

/*
 * Two agents' sources on one stream: the master's IDs name indices, the
 * peer reads exactly those; a restarted master skips used indices; a KME
 * that lost the stream is reopened at both ends.
 */
TEST_F(e004, key_source_over_a_stream)
{
	struct qk_key_source *m, *p;
	struct qk_kme_keys km, kp;
	struct qk_kme_status st;
	const char *ids[3];
	unsigned char other[16];
	char badid[37];

	ASSERT_EQ(0, qk_004_ksid_parse("5a5a5a5a-0000-4000-8000-00000000a004", self->ksid));
	m = source4(&self->sim, true, self->ksid, &self->err);
	ASSERT_NE(NULL, m) TH_LOG("%s", self->err.message);
	p = source4(&self->sim, false, self->ksid, &self->err);
	ASSERT_NE(NULL, p) TH_LOG("%s", self->err.message);

	ASSERT_EQ(QK_KME_OK, qk_key_source_get(m, "SAE_B", 3, 256, &km, &self->err))
		TH_LOG("%s", self->err.message);
	ASSERT_EQ(3, km.count);
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(i, index_of(self->ksid, km.keys[i].id));
	ids[0] = km.keys[2].id;
	ids[1] = km.keys[0].id;
	ids[2] = km.keys[1].id;
	ASSERT_EQ(QK_KME_OK, qk_key_source_get_by_id(p, "SAE_A", ids, 3, 256, &kp,
						     &self->err))
		TH_LOG("%s", self->err.message);
	EXPECT_STREQ(km.keys[2].id, kp.keys[0].id);
	EXPECT_EQ(0, memcmp(km.keys[2].key, kp.keys[0].key, 32));
	EXPECT_EQ(0, memcmp(km.keys[0].key, kp.keys[1].key, 32));
	EXPECT_EQ(0, memcmp(km.keys[1].key, kp.keys[2].key, 32));
	qk_kme_keys_free(&kp);
	/* The same IDs again: each index once. */
	EXPECT_EQ(QK_KME_E_NO_KEY, qk_key_source_get_by_id(p, "SAE_A", ids, 1, 256,
							   &kp, &self->err));
	EXPECT_EQ(0, kp.count);
	qk_kme_keys_free(&km);

	/* A restarted master starts at 0 and skips what it used. */
	qk_key_source_free(m);
	m = source4(&self->sim, true, self->ksid, &self->err);
	ASSERT_NE(NULL, m) TH_LOG("%s", self->err.message);
	ASSERT_EQ(QK_KME_OK, qk_key_source_get(m, "SAE_B", 1, 0, &km, &self->err))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(3, index_of(self->ksid, km.keys[0].id));
	ids[0] = km.keys[0].id;
	ASSERT_EQ(QK_KME_OK, qk_key_source_get_by_id(p, "SAE_A", ids, 1, 256, &kp,
						     &self->err));
	EXPECT_EQ(0, memcmp(km.keys[0].key, kp.keys[0].key, 32));
	qk_kme_keys_free(&km);
	qk_kme_keys_free(&kp);

	/* The KMEs lose the stream: reported, then reopened by both. */
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "drop-streams", NULL));
	EXPECT_EQ(QK_KME_E_NO_CONNECTION, qk_key_source_get(m, "SAE_B", 1, 256, &km,
							    &self->err));
	EXPECT_EQ(QK_KME_E_PEER_NOT_CONNECTED, qk_key_source_get(m, "SAE_B", 1, 256,
								 &km, &self->err))
		TH_LOG("%s", self->err.message);
	/* The peer learns it by status(), which reopens its side. */
	EXPECT_EQ(QK_KME_OK, qk_key_source_status(p, "SAE_A", &st, &self->err))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(256, st.key_size);
	ASSERT_EQ(QK_KME_OK, qk_key_source_get(m, "SAE_B", 2, 256, &km, &self->err))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(4, index_of(self->ksid, km.keys[0].id));
	ids[0] = km.keys[1].id;
	ASSERT_EQ(QK_KME_OK, qk_key_source_get_by_id(p, "SAE_A", ids, 1, 256, &kp,
						     &self->err));
	EXPECT_EQ(0, memcmp(km.keys[1].key, kp.keys[0].key, 32));
	qk_kme_keys_free(&km);
	qk_kme_keys_free(&kp);

	/* IDs of another stream, and sizes other than the chunk's. */
	ASSERT_EQ(0, qk_004_ksid_parse("11223344-5566-4788-99aa-bbccddeeff00", other));
	qk_004_index_id(other, 7, badid);
	ids[0] = badid;
	EXPECT_EQ(QK_KME_E_BAD_KEY_ID, qk_key_source_get_by_id(p, "SAE_A", ids, 1,
							       256, &kp, &self->err));
	EXPECT_EQ(QK_KME_E_INVAL, qk_key_source_get(m, "SAE_B", 1, 128, &km, &self->err));
	qk_key_source_free(m);
	qk_key_source_free(p);
	EXPECT_EQ(0, streams(_metadata, &self->sim));
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
