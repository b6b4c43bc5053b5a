// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ETSI GS QKD 014 client library against qktls-kme-sim over real
 * HTTPS with mutual TLS: every endpoint in both forms, key agreement
 * between the two KMEs, every injected fault, a slow KME, a KME out of
 * keys, wrong SAEs and CAs, concurrent callers, the key-source interface.
 */
/* The harness compares int literals with unsigned values and enums. */
#pragma GCC diagnostic ignored "-Wsign-compare"

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>

#include <qktls/kme.h>
#include <sanitizer/lsan_interface.h>

#include "kselftest_harness.h"
#include "kme_sim.h"

/* A client for the SAE whose certificate is <pki>/<sae>.pem (thread-safe). */
static struct qk_kme_client *client(const char *url, const char *sae,
				    const char *ca, struct qk_kme_error *err)
{
	char cert[PATH_MAX], key[PATH_MAX], cafile[PATH_MAX];
	struct qk_kme_config cfg = { .url = url, .timeout_ms = 15000,
				     .cert = cert, .key = key, .ca = cafile };

	if (snprintf(cert, sizeof(cert), "%s/pki/%s.pem", kt_pki, sae) >= PATH_MAX ||
	    snprintf(key, sizeof(key), "%s/pki/%s.key", kt_pki, sae) >= PATH_MAX ||
	    snprintf(cafile, sizeof(cafile), "%s/pki/%s", kt_pki,
		     ca ? ca : "ca.pem") >= PATH_MAX)
		return NULL;
	return qk_kme_client_new(&cfg, err);
}

FIXTURE(kme) {
	struct kt_sim sim;
	struct qk_kme_client *a;	/* SAE_A at KME A: the master */
	struct qk_kme_client *b;	/* SAE_B at KME B: the slave */
	struct qk_kme_error err;
};

FIXTURE_SETUP(kme)
{
	ASSERT_EQ(0, kt_sim_start(&self->sim, NULL, NULL));
	self->a = client(self->sim.url_a, "sae-a", NULL, &self->err);
	ASSERT_NE(NULL, self->a) TH_LOG("%s", self->err.message);
	self->b = client(self->sim.url_b, "sae-b", NULL, &self->err);
	ASSERT_NE(NULL, self->b) TH_LOG("%s", self->err.message);
}

FIXTURE_TEARDOWN(kme)
{
	qk_kme_client_free(self->a);
	qk_kme_client_free(self->b);
	EXPECT_EQ(0, kt_sim_stop(&self->sim));
	/* The harness ends each test with _exit(): look for leaks here. */
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
}

static unsigned long stored(struct __test_metadata *_metadata,
			    struct qk_kme_client *c, const char *slave)
{
	struct qk_kme_status st;
	struct qk_kme_error err;
	unsigned long n;

	EXPECT_EQ(QK_KME_OK, qk_kme_status(c, slave, 0, &st, &err))
		TH_LOG("status: %s", err.message);
	n = st.stored_key_count;
	qk_kme_status_free(&st);
	return n;
}

/* Every field of the ETSI status, truthfully. */
TEST_F(kme, status_fields)
{
	struct qk_kme_status st;

	ASSERT_EQ(QK_KME_OK, qk_kme_status(self->a, "SAE_B", 0, &st, &self->err))
		TH_LOG("%s", self->err.message);
	EXPECT_STREQ("KME_A", st.source_kme_id);
	EXPECT_STREQ("KME_B", st.target_kme_id);
	EXPECT_STREQ("SAE_A", st.master_sae_id);
	EXPECT_STREQ("SAE_B", st.slave_sae_id);
	EXPECT_EQ(256, st.key_size);
	EXPECT_EQ(100, st.stored_key_count);
	EXPECT_EQ(100, st.max_key_count);
	EXPECT_EQ(128, st.max_key_per_request);
	EXPECT_EQ(8192, st.max_key_size);
	EXPECT_EQ(64, st.min_key_size);
	EXPECT_EQ(1, st.max_sae_id_count);
	ASSERT_NE(NULL, st.status_extension);
	EXPECT_NE(NULL, strstr(st.status_extension, "\"qktls_keys_waiting\":0"));
	qk_kme_status_free(&st);

	/* The slave's view names the other KME as the source. */
	ASSERT_EQ(QK_KME_OK, qk_kme_status(self->b, "SAE_A", 0, &st, &self->err));
	EXPECT_STREQ("KME_B", st.source_kme_id);
	EXPECT_STREQ("KME_A", st.target_kme_id);
	EXPECT_STREQ("SAE_B", st.master_sae_id);
	qk_kme_status_free(&st);

	/* An SAE that is not on the peer KME is a bad request. */
	EXPECT_EQ(QK_KME_E_BAD_REQUEST,
		  qk_kme_status(self->a, "SAE_NOBODY", 0, &st, &self->err));
	EXPECT_EQ(400, self->err.http_status);
	EXPECT_NE(NULL, strstr(self->err.message, "SAE_NOBODY"));
	EXPECT_NE(NULL, strstr(self->err.details, "KME_A"));
}

/* enc_keys at A and dec_keys at B give the same bytes, exactly once. */
static void agree(struct __test_metadata *_metadata, FIXTURE_DATA(kme) *self,
		  bool use_get, unsigned int number, unsigned int size)
{
	struct qk_kme_enc_req er = { .number = number, .size = size, .use_get = use_get };
	struct qk_kme_dec_req dr = { .size = size, .use_get = use_get };
	struct qk_kme_keys ek, dk, again;
	const char *ids[8];
	unsigned long before = stored(_metadata, self->a, "SAE_B");
	size_t i;

	ASSERT_GE(8, number);
	ASSERT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", &er, &ek, &self->err))
		TH_LOG("enc_keys: %s", self->err.message);
	ASSERT_EQ(number, ek.count);
	/* The link's store shrank by exactly the material handed out. */
	EXPECT_EQ(before - (number * size + 255) / 256,
		  stored(_metadata, self->a, "SAE_B"));
	for (i = 0; i < ek.count; i++) {
		EXPECT_EQ(size / 8, ek.keys[i].len);
		EXPECT_TRUE(qk_kme_is_uuid(ek.keys[i].id));
		/* Ask in reverse order: the result follows the request. */
		ids[ek.count - 1 - i] = ek.keys[i].id;
	}
	if (use_get) {
		/* The GET form takes one key ID: fetch one at a time. */
		for (i = 0; i < number; i++) {
			dr.key_ids = &ids[i];
			dr.n_ids = 1;
			ASSERT_EQ(QK_KME_OK, qk_kme_dec_keys(self->b, "SAE_A", &dr,
							     &dk, &self->err))
				TH_LOG("dec_keys: %s", self->err.message);
			ASSERT_EQ(1, dk.count);
			EXPECT_STREQ(ids[i], dk.keys[0].id);
			EXPECT_EQ(0, memcmp(ek.keys[number - 1 - i].key,
					    dk.keys[0].key, size / 8));
			qk_kme_keys_free(&dk);
		}
		dr.key_ids = &ids[0];
	} else {
		dr.key_ids = ids;
		dr.n_ids = number;
		ASSERT_EQ(QK_KME_OK, qk_kme_dec_keys(self->b, "SAE_A", &dr, &dk,
						     &self->err))
			TH_LOG("dec_keys: %s", self->err.message);
		ASSERT_EQ(number, dk.count);
		for (i = 0; i < number; i++) {
			const struct qk_kme_key *e = &ek.keys[number - 1 - i];

			EXPECT_STREQ(e->id, dk.keys[i].id);
			ASSERT_EQ(e->len, dk.keys[i].len);
			EXPECT_EQ(0, memcmp(e->key, dk.keys[i].key, e->len));
		}
		qk_kme_keys_free(&dk);
	}
	/* A second fetch is refused, and the KME's reason is kept. */
	EXPECT_EQ(QK_KME_E_BAD_REQUEST,
		  qk_kme_dec_keys(self->b, "SAE_A", &dr, &again, &self->err));
	EXPECT_EQ(400, self->err.http_status);
	EXPECT_NE(NULL, strstr(self->err.message, "already delivered"))
		TH_LOG("message: %s", self->err.message);
	EXPECT_EQ(0, again.count);
	qk_kme_keys_free(&ek);
	EXPECT_EQ(NULL, ek.keys);
	EXPECT_EQ(NULL, ek.material);
}

TEST_F(kme, post_one_key)	{ agree(_metadata, self, false, 1, 256); }
TEST_F(kme, post_many_keys)	{ agree(_metadata, self, false, 5, 512); }
TEST_F(kme, get_one_key)	{ agree(_metadata, self, true, 1, 256); }
TEST_F(kme, get_many_keys)	{ agree(_metadata, self, true, 3, 128); }
TEST_F(kme, default_size)	{ agree(_metadata, self, false, 2, 256); }

/* number and size left to the KME: one key of key_size bits. */
TEST_F(kme, kme_defaults)
{
	struct qk_kme_keys k;

	ASSERT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", NULL, &k, &self->err))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(1, k.count);
	EXPECT_EQ(32, k.keys[0].len);
	qk_kme_keys_free(&k);
}

/* Requests the KME refuses come back as 400 with its message. */
TEST_F(kme, bad_requests)
{
	struct qk_kme_enc_req r = { .number = 129 };
	struct qk_kme_keys k;

	EXPECT_EQ(QK_KME_E_BAD_REQUEST, qk_kme_enc_keys(self->a, "SAE_B", &r, &k,
							&self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "max_key_per_request"));
	r.number = 1;
	r.size = 16;
	EXPECT_EQ(QK_KME_E_BAD_REQUEST, qk_kme_enc_keys(self->a, "SAE_B", &r, &k,
							&self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "size"));
	r.size = 0;
	r.extension_mandatory = "[{\"no_such_extension\": 1}]";
	EXPECT_EQ(QK_KME_E_BAD_REQUEST, qk_kme_enc_keys(self->a, "SAE_B", &r, &k,
							&self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "no_such_extension"));
	EXPECT_EQ(0, k.count);
}

/* Extensions and additional slave SAEs go through the POST form. */
TEST_F(kme, extensions_and_additional_slaves)
{
	static const char *const extra[] = { "SAE_C" };
	struct qk_kme_enc_req r = {
		.number = 2, .additional_slave_sae_ids = extra, .n_additional = 1,
		.extension_mandatory = "[{\"qktls_echo\": {\"x\": 1}}]",
		.extension_optional = "[{\"something_unknown\": true}]",
	};
	struct qk_kme_keys ek, kb, kc;
	struct qk_kme_client *c;
	const char *ids[2];

	ASSERT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", &r, &ek, &self->err))
		TH_LOG("%s", self->err.message);
	ASSERT_NE(NULL, ek.container_extension);
	EXPECT_STREQ("{\"qktls_echo\":{\"x\":1}}", ek.container_extension);
	ids[0] = ek.keys[0].id;
	ids[1] = ek.keys[1].id;

	struct qk_kme_dec_req d = { .key_ids = ids, .n_ids = 2,
				    .key_ids_extension = "{\"any\": 1}" };

	/* Both slaves get the same keys, once each. */
	ASSERT_EQ(QK_KME_OK, qk_kme_dec_keys(self->b, "SAE_A", &d, &kb, &self->err))
		TH_LOG("%s", self->err.message);
	c = client(self->sim.url_b, "sae-c", NULL, &self->err);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(QK_KME_OK, qk_kme_dec_keys(c, "SAE_A", &d, &kc, &self->err))
		TH_LOG("%s", self->err.message);
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(0, memcmp(ek.keys[i].key, kb.keys[i].key, 32));
		EXPECT_EQ(0, memcmp(ek.keys[i].key, kc.keys[i].key, 32));
	}
	qk_kme_keys_free(&kb);
	qk_kme_keys_free(&kc);
	EXPECT_EQ(QK_KME_E_BAD_REQUEST,
		  qk_kme_dec_keys(c, "SAE_A", &d, &kc, &self->err));
	qk_kme_client_free(c);

	/* More additional slaves than max_SAE_ID_count: refused. */
	static const char *const two[] = { "SAE_C", "SAE_B" };

	r.additional_slave_sae_ids = two;
	r.n_additional = 2;
	EXPECT_EQ(QK_KME_E_BAD_REQUEST, qk_kme_enc_keys(self->a, "SAE_B", &r, &kb,
							&self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "max_SAE_ID_count"));
	qk_kme_keys_free(&ek);
}

/* Consecutive calls share one TLS connection. */
TEST_F(kme, connection_reuse)
{
	struct qk_kme_stats st;

	for (int i = 0; i < 4; i++)
		EXPECT_LT(0, stored(_metadata, self->a, "SAE_B"));
	qk_kme_client_stats(self->a, &st);
	EXPECT_EQ(4, st.requests);
	EXPECT_EQ(1, st.connects);
}

/* The simulator's counter @name, from its "stats" reply. */
static long sim_stat(struct __test_metadata *_metadata, struct kt_sim *sim,
		     const char *name)
{
	char reply[512], *at;

	EXPECT_EQ(0, kt_ctl(sim, reply, sizeof(reply), "%s", "stats"));
	at = strstr(reply, name);
	EXPECT_NE(NULL, at) TH_LOG("%s", reply);
	return at ? strtol(at + strlen(name) + 1, NULL, 10) : -1;
}

/*
 * The KME uses the keys up and then closes the (reused) connection without
 * an answer.  libcurl would send the request again on a new connection and
 * the KME would use keys up twice; the client refuses to re-send.
 */
TEST_F(kme, key_request_not_resent)
{
	struct qk_kme_enc_req r = { .number = 2, .size = 256 };
	struct qk_kme_keys k = { 0 };
	struct qk_kme_stats st;
	const char *id;

	/* A first request leaves a connection to reuse. */
	EXPECT_LT(0, stored(_metadata, self->a, "SAE_B"));
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault a %s", "lose-answer,count=1"));
	EXPECT_EQ(QK_KME_E_DROPPED, qk_kme_enc_keys(self->a, "SAE_B", &r, &k, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "the key request was not sent again"))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(0, k.count);
	/* The KME saw one enc_keys and used two keys up, not four. */
	EXPECT_EQ(2, sim_stat(_metadata, &self->sim, "\"requests\""));
	EXPECT_EQ(2, sim_stat(_metadata, &self->sim, "\"keys_waiting\""));
	/*
	 * The next request works.  (The refused retry had opened a connection
	 * already: libcurl calls back once it is connected.)
	 */
	ASSERT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", &r, &k, &self->err))
		TH_LOG("%s", self->err.message);
	qk_kme_client_stats(self->a, &st);
	EXPECT_EQ(3, st.requests);

	/* dec_keys the same: the KME delivered the key once, and only once. */
	id = k.keys[0].id;
	struct qk_kme_dec_req d = { .key_ids = &id, .n_ids = 1, .size = 256 };
	struct qk_kme_keys kb = { 0 };

	EXPECT_LT(0, stored(_metadata, self->b, "SAE_A"));
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault b %s", "lose-answer,count=1"));
	EXPECT_EQ(QK_KME_E_DROPPED, qk_kme_dec_keys(self->b, "SAE_A", &d, &kb, &self->err));
	EXPECT_EQ(5, sim_stat(_metadata, &self->sim, "\"requests\""));
	EXPECT_EQ(1, sim_stat(_metadata, &self->sim, "\"keys_delivered\""));
	qk_kme_keys_free(&k);

	/* Status requests are not key requests: libcurl may retry those. */
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault a %s", "drop,count=1"));
	EXPECT_LT(0, stored(_metadata, self->a, "SAE_B"));
}

/* A request whose answer could not fit the response limit is never sent. */
TEST_F(kme, oversized_answer_refused_before_sending)
{
	struct qk_kme_enc_req r = { .number = 4096, .size = 8192 };
	static const char *const ids[] = { "0b5e6f04-41e1-4c5b-9a1e-1f6f2b1e6a01" };
	struct qk_kme_dec_req d = { .key_ids = ids, .n_ids = 1, .size = 1u << 25 };
	struct qk_kme_keys k = { 0 };

	EXPECT_EQ(QK_KME_E_INVAL, qk_kme_enc_keys(self->a, "SAE_B", &r, &k, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "over the 4194304-byte limit"))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(QK_KME_E_INVAL, qk_kme_dec_keys(self->b, "SAE_A", &d, &k, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "over the 4194304-byte limit"))
		TH_LOG("%s", self->err.message);
	EXPECT_EQ(0, sim_stat(_metadata, &self->sim, "\"requests\""));
	/* The largest that fits is asked (and refused by the KME's own limit). */
	r.number = 2048;
	EXPECT_EQ(QK_KME_E_BAD_REQUEST, qk_kme_enc_keys(self->a, "SAE_B", &r, &k,
							&self->err));
	EXPECT_EQ(1, sim_stat(_metadata, &self->sim, "\"requests\""));
}

/* Error answers that are not ETSI JSON are shown, with the URL and status. */
TEST_F(kme, non_etsi_errors_shown)
{
	struct qk_kme_enc_req r = { .number = 1 };
	struct qk_kme_status st;
	struct qk_kme_keys k;
	char url[300];

	snprintf(url, sizeof(url), "KME %s/api/v1/keys/SAE_B/", self->sim.url_a);
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault a %s", "html-error,count=1"));
	EXPECT_EQ(QK_KME_E_HTTP, qk_kme_status(self->a, "SAE_B", 0, &st, &self->err));
	EXPECT_EQ(500, self->err.http_status);
	EXPECT_NE(NULL, strstr(self->err.message, url)) TH_LOG("%s", self->err.message);
	EXPECT_NE(NULL, strstr(self->err.message, "status answered HTTP 500, not with an "
			       "ETSI error message: <!DOCTYPE html> <html><head><title>500"))
		TH_LOG("%s", self->err.message);
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault a %s", "problem-json,count=1"));
	EXPECT_EQ(QK_KME_E_UNAUTHORIZED, qk_kme_enc_keys(self->a, "SAE_B", &r, &k,
							 &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, url)) TH_LOG("%s", self->err.message);
	EXPECT_NE(NULL, strstr(self->err.message, "enc_keys answered HTTP 401, not with an "
			       "ETSI error message: {\"type\":\"about:blank\",\"title\":"
			       "\"Unauthorized\""))
		TH_LOG("%s", self->err.message);
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault a %s", "empty,count=1"));
	EXPECT_EQ(QK_KME_E_MALFORMED, qk_kme_enc_keys(self->a, "SAE_B", &r, &k,
						      &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "200 with an empty body"))
		TH_LOG("%s", self->err.message);
}

/* A key meant for SAE_B is refused to SAE_C; SAE_B on KME A is refused. */
TEST_F(kme, wrong_sae)
{
	struct qk_kme_enc_req r = { .number = 1 };
	struct qk_kme_keys ek, k;
	struct qk_kme_status st;
	struct qk_kme_client *c;
	const char *id;

	ASSERT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", &r, &ek, &self->err));
	id = ek.keys[0].id;
	struct qk_kme_dec_req d = { .key_ids = &id, .n_ids = 1 };

	c = client(self->sim.url_b, "sae-c", NULL, &self->err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_UNAUTHORIZED, qk_kme_dec_keys(c, "SAE_A", &d, &k, &self->err));
	EXPECT_EQ(401, self->err.http_status);
	EXPECT_NE(NULL, strstr(self->err.message, "SAE_C")) TH_LOG("%s", self->err.message);
	qk_kme_client_free(c);
	/* Still there for the right SAE. */
	EXPECT_EQ(QK_KME_OK, qk_kme_dec_keys(self->b, "SAE_A", &d, &k, &self->err));
	qk_kme_keys_free(&k);
	qk_kme_keys_free(&ek);

	/* SAE_B's certificate at KME A. */
	c = client(self->sim.url_a, "sae-b", NULL, &self->err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_UNAUTHORIZED, qk_kme_status(c, "SAE_B", 0, &st, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "not attached")) TH_LOG("%s", self->err.message);
	qk_kme_client_free(c);
}

/* A client certificate from another CA is refused (with SAE_A's CN). */
TEST_F(kme, rogue_client_cert)
{
	struct qk_kme_client *c = client(self->sim.url_a, "rogue", NULL, &self->err);
	struct qk_kme_status st;

	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_UNAUTHORIZED, qk_kme_status(c, "SAE_B", 0, &st, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "NOT trusted")) TH_LOG("%s", self->err.message);
	qk_kme_client_free(c);
}

/* A KME whose certificate is not from the CA the client trusts. */
TEST_F(kme, wrong_ca)
{
	struct qk_kme_client *c = client(self->sim.url_a, "sae-a", "rogue-ca.pem",
					 &self->err);
	struct qk_kme_status st;

	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_TLS_VERIFY, qk_kme_status(c, "SAE_B", 0, &st, &self->err));
	EXPECT_EQ(0, self->err.http_status);
	TH_LOG("%s", self->err.message);
	qk_kme_client_free(c);
}

/*
 * CRLs of the KME's CA (CURLOPT_CRLFILE): one listing KME A's certificate
 * refuses it, naming the revocation; one listing nothing lets it through.
 */
TEST_F(kme, revoked_kme_cert)
{
	struct qk_kme_config cfg = { .url = self->sim.url_a, .timeout_ms = 15000,
				     .cert = kt_file("sae-a.pem"),
				     .key = kt_file("sae-a.key"), .ca = kt_file("ca.pem"),
				     .crl = kt_file("crl-kme-a.pem") };
	struct qk_kme_client *c;
	struct qk_kme_status st;
	enum qk_kme_err ret;

	c = qk_kme_client_new(&cfg, &self->err);
	ASSERT_NE(NULL, c) TH_LOG("%s", self->err.message);
	EXPECT_EQ(QK_KME_E_TLS_VERIFY, qk_kme_status(c, "SAE_B", 0, &st, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "revoked")) TH_LOG("%s", self->err.message);
	qk_kme_client_free(c);

	cfg.crl = kt_file("crl.pem");
	c = qk_kme_client_new(&cfg, &self->err);
	ASSERT_NE(NULL, c) TH_LOG("%s", self->err.message);
	ret = qk_kme_status(c, "SAE_B", 0, &st, &self->err);
	EXPECT_EQ(QK_KME_OK, ret) TH_LOG("%s", self->err.message);
	if (ret == QK_KME_OK)
		qk_kme_status_free(&st);
	qk_kme_client_free(c);
}

/* Nothing listening: connection refused. */
TEST_F(kme, connect_refused)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct qk_kme_client *c;
	struct qk_kme_status st;
	char url[64];

	/* A bound socket that never listens: its port refuses connections. */
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sa, &sl));
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", ntohs(sa.sin_port));
	c = client(url, "sae-a", NULL, &self->err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_CONNECT, qk_kme_status(c, "SAE_B", 0, &st, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "cannot connect"));
	qk_kme_client_free(c);
	close(fd);
}

/* A server that does not speak TLS: the handshake fails, and says so. */
static void *plaintext_server(void *arg)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
	int fd = accept(*(int *)arg, NULL, NULL);

	if (fd >= 0) {
		if (write(fd, answer, sizeof(answer) - 1) < 0)
			perror("write");
		close(fd);
	}
	return NULL;
}

TEST_F(kme, tls_failure)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct qk_kme_client *c;
	struct qk_kme_status st;
	char url[64];
	pthread_t t;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(fd, 1));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sa, &sl));
	ASSERT_EQ(0, pthread_create(&t, NULL, plaintext_server, &fd));
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", ntohs(sa.sin_port));
	c = client(url, "sae-a", NULL, &self->err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_TLS, qk_kme_status(c, "SAE_B", 5000, &st, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "TLS handshake")) TH_LOG("%s", self->err.message);
	qk_kme_client_free(c);
	pthread_join(t, NULL);
	close(fd);
}

/* A slow KME: within the limit it works, past it the error says so. */
TEST_F(kme, slow_kme)
{
	struct qk_kme_enc_req r = { .number = 1, .timeout_ms = 300 };
	struct qk_kme_keys k;

	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault a %s", "latency=100,count=1"));
	EXPECT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", NULL, &k, &self->err))
		TH_LOG("%s", self->err.message);
	qk_kme_keys_free(&k);

	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault a %s", "latency=3000,count=1"));
	EXPECT_EQ(QK_KME_E_TIMEOUT, qk_kme_enc_keys(self->a, "SAE_B", &r, &k, &self->err));
	EXPECT_NE(NULL, strstr(self->err.message, "did not answer within 300 ms"))
		TH_LOG("%s", self->err.message);
	EXPECT_STREQ("KME timed out", qk_kme_strerror(QK_KME_E_TIMEOUT));
	/* The latency was for one request: the next one works. */
	r.timeout_ms = 0;
	EXPECT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", &r, &k, &self->err))
		TH_LOG("%s", self->err.message);
	qk_kme_keys_free(&k);
}

/* Injected latency stalls only the connection it hits. */
struct slow_call {
	const char *url;
	enum qk_kme_err rc;
	char why[600];
};

static void *slow_status(void *arg)
{
	struct slow_call *sc = arg;
	struct qk_kme_error err = { 0 };
	struct qk_kme_client *c = client(sc->url, "sae-a", NULL, &err);
	struct qk_kme_status st;

	sc->rc = c ? qk_kme_status(c, "SAE_B", 20000, &st, &err) : err.code;
	if (sc->rc == QK_KME_OK)
		qk_kme_status_free(&st);
	snprintf(sc->why, sizeof(sc->why), "%s", err.message);
	qk_kme_client_free(c);
	return NULL;
}

TEST_F(kme, latency_stalls_one_connection)
{
	struct slow_call sc = { .url = self->sim.url_a };
	struct qk_kme_status st;
	char reply[128];
	pthread_t t;

	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "fault a %s", "latency=4000,count=1"));
	ASSERT_EQ(0, pthread_create(&t, NULL, slow_status, &sc));
	/* Once KME A has taken that request (it is now waiting)... */
	EXPECT_EQ(0, kt_ctl(&self->sim, reply, sizeof(reply), "wait-requests a 1"))
		TH_LOG("%s", reply);
	/* ...another connection to the same KME is answered meanwhile. */
	EXPECT_EQ(QK_KME_OK, qk_kme_status(self->a, "SAE_B", 2000, &st, &self->err))
		TH_LOG("%s", self->err.message);
	qk_kme_status_free(&st);
	pthread_join(t, NULL);
	EXPECT_EQ(QK_KME_OK, sc.rc) TH_LOG("%s", sc.why);
}

/* Out of keys: 503 with the KME's reason, then recovery as keys accrue. */
TEST_F(kme, out_of_keys)
{
	struct qk_kme_enc_req r = { .number = 2 };
	struct qk_kme_keys k;
	unsigned long n;

	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "%s", "drain"));
	EXPECT_EQ(0, stored(_metadata, self->a, "SAE_B"));
	EXPECT_EQ(QK_KME_E_UNAVAILABLE, qk_kme_enc_keys(self->a, "SAE_B", &r, &k,
							&self->err));
	EXPECT_EQ(503, self->err.http_status);
	EXPECT_NE(NULL, strstr(self->err.message, "not enough key material"))
		TH_LOG("%s", self->err.message);

	/* 1 bit/s for 512 s of link time: two 256-bit keys. */
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "rate %s", "1"));
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "advance %s", "512000"));
	n = stored(_metadata, self->a, "SAE_B");
	EXPECT_EQ(2, n);
	EXPECT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", &r, &k, &self->err))
		TH_LOG("%s", self->err.message);
	qk_kme_keys_free(&k);
	EXPECT_EQ(QK_KME_E_UNAVAILABLE, qk_kme_enc_keys(self->a, "SAE_B", &r, &k,
							&self->err));

	/* Real-time generation: at 10 Gbit/s the link refills in microseconds. */
	ASSERT_EQ(0, kt_ctl_ok(&self->sim, "rate %s", "10000000000"));
	EXPECT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", &r, &k, &self->err))
		TH_LOG("%s", self->err.message);
	qk_kme_keys_free(&k);
	/* Never more than max_key_count. */
	EXPECT_EQ(100, stored(_metadata, self->a, "SAE_B"));
}

/* Many threads, each with its own client, then one client shared by threads. */
#define THREADS 6
#define ROUNDS 5

struct worker {
	const char *url;
	struct qk_kme_client *shared;
	struct qk_kme_keys keys[ROUNDS];
	const char *const *ids;
	int failures;
	char why[600];
};

static void *enc_worker(void *arg)
{
	struct worker *w = arg;
	struct qk_kme_enc_req r = { .number = 2 };
	struct qk_kme_error err;
	struct qk_kme_client *c = client(w->url, "sae-a", NULL, &err);

	if (!c) {
		w->failures++;
		snprintf(w->why, sizeof(w->why), "%s", err.message);
		return NULL;
	}
	for (int i = 0; i < ROUNDS; i++)
		if (qk_kme_enc_keys(c, "SAE_B", &r, &w->keys[i], &err)) {
			w->failures++;
			snprintf(w->why, sizeof(w->why), "%s", err.message);
		}
	qk_kme_client_free(c);
	return NULL;
}

static void *dec_worker(void *arg)
{
	struct worker *w = arg;
	struct qk_kme_error err;

	for (int i = 0; i < ROUNDS && w->keys[i].count == 2; i++) {
		const char *ids[2] = { w->keys[i].keys[0].id, w->keys[i].keys[1].id };
		struct qk_kme_dec_req d = { .key_ids = ids, .n_ids = 2, .size = 256 };
		struct qk_kme_keys k;

		if (qk_kme_dec_keys(w->shared, "SAE_A", &d, &k, &err)) {
			w->failures++;
			snprintf(w->why, sizeof(w->why), "%s", err.message);
			continue;
		}
		for (int j = 0; j < 2; j++)
			if (memcmp(k.keys[j].key, w->keys[i].keys[j].key, 32))
				w->failures++;
		qk_kme_keys_free(&k);
	}
	return NULL;
}

TEST_F(kme, concurrent_callers)
{
	struct worker *w = calloc(THREADS, sizeof(*w));
	pthread_t t[THREADS];
	struct qk_kme_stats st;
	int i, j, r, x;

	ASSERT_NE(NULL, w);
	for (i = 0; i < THREADS; i++) {
		w[i].url = self->sim.url_a;
		w[i].shared = self->b;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, enc_worker, &w[i]));
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].failures) TH_LOG("%s", w[i].why);
	}
	/* Every key ID handed out is unique. */
	for (i = 0; i < THREADS; i++)
		for (r = 0; r < ROUNDS; r++)
			ASSERT_EQ(2, w[i].keys[r].count);
	for (i = 0; i < THREADS * ROUNDS * 2; i++)
		for (j = 0; j < i; j++)
			EXPECT_STRNE(w[i / (ROUNDS * 2)].keys[i / 2 % ROUNDS].keys[i % 2].id,
				     w[j / (ROUNDS * 2)].keys[j / 2 % ROUNDS].keys[j % 2].id);
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, dec_worker, &w[i]));
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].failures) TH_LOG("%s", w[i].why);
	}
	qk_kme_client_stats(self->b, &st);
	EXPECT_EQ(THREADS * ROUNDS, st.requests);
	for (x = 0, i = 0; i < THREADS; i++)
		for (r = 0; r < ROUNDS; r++, x++)
			qk_kme_keys_free(&w[i].keys[r]);
	EXPECT_EQ(THREADS * ROUNDS, x);
	free(w);
}

/* The general key-source interface over ETSI 014. */
TEST_F(kme, key_source)
{
	struct qk_kme_config ca = { .url = self->sim.url_a, .cert = kt_file("sae-a.pem"),
				    .key = kt_file("sae-a.key"), .ca = kt_file("ca.pem") };
	struct qk_kme_config cb = { .url = self->sim.url_b, .cert = kt_file("sae-b.pem"),
				    .key = kt_file("sae-b.key"), .ca = kt_file("ca.pem") };
	struct qk_key_source *sa = qk_kme014_source_new(&ca, &self->err);
	struct qk_key_source *sb = qk_kme014_source_new(&cb, &self->err);
	struct qk_kme_keys ka, kb;
	struct qk_kme_status st;
	const char *ids[3];

	ASSERT_NE(NULL, sa);
	ASSERT_NE(NULL, sb);
	EXPECT_STREQ("etsi014", sa->ops->name);
	ASSERT_EQ(QK_KME_OK, qk_key_source_status(sa, "SAE_B", &st, &self->err));
	EXPECT_EQ(100, st.stored_key_count);
	qk_kme_status_free(&st);
	ASSERT_EQ(QK_KME_OK, qk_key_source_get(sa, "SAE_B", 3, 256, &ka, &self->err));
	for (int i = 0; i < 3; i++)
		ids[i] = ka.keys[i].id;
	ASSERT_EQ(QK_KME_OK, qk_key_source_get_by_id(sb, "SAE_A", ids, 3, 256, &kb,
						     &self->err));
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(0, memcmp(ka.keys[i].key, kb.keys[i].key, 32));
	/* Asking for a size other than the KME delivered is a length error. */
	qk_kme_keys_free(&kb);
	qk_kme_keys_free(&ka);
	qk_key_source_free(sa);
	qk_key_source_free(sb);
}

/* Arguments the library refuses before any request. */
TEST_F(kme, invalid_arguments)
{
	struct qk_kme_config cfg = { .url = "http://127.0.0.1:1", .cert = kt_file("sae-a.pem"),
				     .key = kt_file("sae-a.key"), .ca = kt_file("ca.pem") };
	const char *two[] = { "00000000-0000-4000-8000-000000000000",
			      "00000000-0000-4000-8000-000000000001" };
	const char *bad[] = { "not-a-uuid" };
	struct qk_kme_dec_req d = { .key_ids = two, .n_ids = 2, .use_get = true };
	struct qk_kme_enc_req e = { .size = 12 };
	struct qk_kme_keys k;
	struct qk_kme_stats st;

	EXPECT_EQ(NULL, qk_kme_client_new(&cfg, &self->err));
	EXPECT_EQ(QK_KME_E_INVAL, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.message, "https://"));
	cfg.url = self->sim.url_a;
	cfg.cert = "/nonexistent/cert.pem";
	EXPECT_EQ(NULL, qk_kme_client_new(&cfg, &self->err));
	EXPECT_EQ(QK_KME_E_TLS_CONFIG, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.message, "/nonexistent/cert.pem"));

	EXPECT_EQ(QK_KME_E_INVAL, qk_kme_dec_keys(self->a, "SAE_B", &d, &k, &self->err));
	d.use_get = false;
	d.key_ids = bad;
	d.n_ids = 1;
	EXPECT_EQ(QK_KME_E_INVAL, qk_kme_dec_keys(self->a, "SAE_B", &d, &k, &self->err));
	EXPECT_EQ(QK_KME_E_INVAL, qk_kme_enc_keys(self->a, "SAE_B", &e, &k, &self->err));
	e.size = 0;
	e.use_get = true;
	e.extension_optional = "[]";
	EXPECT_EQ(QK_KME_E_INVAL, qk_kme_enc_keys(self->a, "SAE_B", &e, &k, &self->err));
	e.use_get = false;
	e.extension_optional = "{not json";
	EXPECT_EQ(QK_KME_E_INVAL, qk_kme_enc_keys(self->a, "SAE_B", &e, &k, &self->err));
	EXPECT_EQ(QK_KME_E_INVAL, qk_kme_enc_keys(self->a, "", NULL, &k, &self->err));
	/* None of these reached the KME. */
	qk_kme_client_stats(self->a, &st);
	EXPECT_EQ(0, st.requests);
}

/* A KME on an address its certificate does not name. */
TEST(host_mismatch)
{
	struct qk_kme_error err;
	struct qk_kme_client *c;
	struct qk_kme_status st;
	struct kt_sim s;

	ASSERT_EQ(0, kt_sim_start(&s, "127.0.0.2:0", NULL));
	c = client(s.url_a, "sae-a", NULL, &err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_TLS_VERIFY, qk_kme_status(c, "SAE_B", 0, &st, &err));
	TH_LOG("%s", err.message);
	qk_kme_client_free(c);
	EXPECT_EQ(0, kt_sim_stop(&s));
}

/* --- every injected fault, then recovery ------------------------------------ */

enum op { OP_STATUS, OP_ENC, OP_DEC };

FIXTURE(fault) {
	struct kt_sim sim;
	struct qk_kme_client *a, *b;
	struct qk_kme_error err;
};

FIXTURE_VARIANT(fault) {
	const char *spec;
	enum op op;
	unsigned int number;
	enum qk_kme_err expect;
	const char *says;	/* in the error message */
};

#define FAULT_CASE(name, s, o, n, e, m) \
	FIXTURE_VARIANT_ADD(fault, name) { \
		.spec = s, .op = o, .number = n, .expect = e, .says = m, \
	}

FAULT_CASE(unavailable_status, "503", OP_STATUS, 1, QK_KME_E_UNAVAILABLE, "fault injected");
FAULT_CASE(unavailable_enc, "503", OP_ENC, 1, QK_KME_E_UNAVAILABLE, "fault injected");
FAULT_CASE(unavailable_dec, "503", OP_DEC, 1, QK_KME_E_UNAVAILABLE, "fault injected");
FAULT_CASE(malformed_status, "malformed-json", OP_STATUS, 1, QK_KME_E_MALFORMED, "not valid JSON");
FAULT_CASE(malformed_enc, "malformed-json", OP_ENC, 1, QK_KME_E_MALFORMED, "not valid JSON");
FAULT_CASE(malformed_dec, "malformed-json", OP_DEC, 1, QK_KME_E_MALFORMED, "not valid JSON");
FAULT_CASE(key_length_enc, "wrong-key-length", OP_ENC, 2, QK_KME_E_KEY_LENGTH, "expected 32");
FAULT_CASE(key_length_dec, "wrong-key-length", OP_DEC, 1, QK_KME_E_KEY_LENGTH, "expected 32");
FAULT_CASE(mismatched_ids_dec, "mismatched-ids", OP_DEC, 2, QK_KME_E_KEY_ID_MISMATCH, "not asked for");
FAULT_CASE(mismatched_ids_enc, "mismatched-ids", OP_ENC, 2, QK_KME_E_BAD_KEY_ID, "appears twice");
FAULT_CASE(bad_key_id_enc, "bad-key-id", OP_ENC, 1, QK_KME_E_BAD_KEY_ID, "not a UUID");
FAULT_CASE(bad_key_id_dec, "bad-key-id", OP_DEC, 1, QK_KME_E_BAD_KEY_ID, "not a UUID");
FAULT_CASE(bad_base64_enc, "bad-base64", OP_ENC, 1, QK_KME_E_KEY_ENCODING, "base64");
FAULT_CASE(bad_base64_dec, "bad-base64", OP_DEC, 3, QK_KME_E_KEY_ENCODING, "base64");
FAULT_CASE(wrong_count_enc, "wrong-count", OP_ENC, 3, QK_KME_E_KEY_COUNT, "asked for 3 keys, KME returned 2");
FAULT_CASE(wrong_count_dec, "wrong-count", OP_DEC, 1, QK_KME_E_KEY_COUNT, "asked for 1 keys, KME returned 2");
FAULT_CASE(drop_status, "drop", OP_STATUS, 1, QK_KME_E_DROPPED, "closed the connection");
FAULT_CASE(drop_enc, "drop", OP_ENC, 1, QK_KME_E_DROPPED, "closed the connection");
FAULT_CASE(drop_dec, "drop", OP_DEC, 1, QK_KME_E_DROPPED, "closed the connection");
FAULT_CASE(html_status, "html-error", OP_STATUS, 1, QK_KME_E_HTTP, "HTTP 500, not with an ETSI");
FAULT_CASE(html_dec, "html-error", OP_DEC, 1, QK_KME_E_HTTP, "<title>500 Internal Server Error");
FAULT_CASE(problem_enc, "problem-json", OP_ENC, 1, QK_KME_E_UNAUTHORIZED, "\"title\":\"Unauthorized\"");
FAULT_CASE(empty_status, "empty", OP_STATUS, 1, QK_KME_E_MALFORMED, "empty body where a status");
FAULT_CASE(empty_enc, "empty", OP_ENC, 1, QK_KME_E_MALFORMED, "empty body where a key container");
FAULT_CASE(lose_enc, "lose-answer", OP_ENC, 2, QK_KME_E_DROPPED, "closed the connection");
FAULT_CASE(lose_dec, "lose-answer", OP_DEC, 1, QK_KME_E_DROPPED, "closed the connection");

FIXTURE_SETUP(fault)
{
	ASSERT_EQ(0, kt_sim_start(&self->sim, NULL, NULL));
	self->a = client(self->sim.url_a, "sae-a", NULL, &self->err);
	self->b = client(self->sim.url_b, "sae-b", NULL, &self->err);
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
}

FIXTURE_TEARDOWN(fault)
{
	qk_kme_client_free(self->a);
	qk_kme_client_free(self->b);
	EXPECT_EQ(0, kt_sim_stop(&self->sim));
	/* The harness ends each test with _exit(): look for leaks here. */
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
}

static enum qk_kme_err run_op(struct __test_metadata *_metadata,
			      FIXTURE_DATA(fault) *self,
			      const FIXTURE_VARIANT(fault) *v, const char *arm)
{
	struct qk_kme_enc_req er = { .number = v->number, .size = 256 };
	struct qk_kme_keys ek = { 0 }, k = { 0 };
	struct qk_kme_status st = { 0 };
	const char *ids[8];
	enum qk_kme_err rc;

	if (v->op == OP_DEC) {
		/* Keys to fetch, handed out before the fault is armed. */
		EXPECT_EQ(QK_KME_OK, qk_kme_enc_keys(self->a, "SAE_B", &er, &ek,
						     &self->err));
		for (size_t i = 0; i < ek.count && i < 8; i++)
			ids[i] = ek.keys[i].id;
	}
	if (arm)
		EXPECT_EQ(0, kt_ctl_ok(&self->sim, arm, v->spec));
	switch (v->op) {
	case OP_STATUS:
		rc = qk_kme_status(self->a, "SAE_B", 0, &st, &self->err);
		qk_kme_status_free(&st);
		break;
	case OP_ENC:
		rc = qk_kme_enc_keys(self->a, "SAE_B", &er, &k, &self->err);
		break;
	default: {
		struct qk_kme_dec_req d = { .key_ids = ids, .n_ids = ek.count,
					    .size = 256 };

		rc = qk_kme_dec_keys(self->b, "SAE_A", &d, &k, &self->err);
		break;
	}
	}
	/* On failure nothing is returned. */
	if (rc != QK_KME_OK) {
		EXPECT_EQ(0, k.count);
		EXPECT_EQ(NULL, k.material);
	}
	qk_kme_keys_free(&k);
	qk_kme_keys_free(&ek);
	return rc;
}

TEST_F(fault, injected_then_recovered)
{
	const char *arm = variant->op == OP_DEC ? "fault b %s,count=1"
						: "fault a %s,count=1";

	EXPECT_EQ(variant->expect, run_op(_metadata, self, variant, arm));
	EXPECT_EQ(variant->expect, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.message, variant->says))
		TH_LOG("%s: %s", qk_kme_strerror(self->err.code), self->err.message);
	/* Closed on a new connection: the hint that TLS 1.3 can do that. */
	if (variant->expect == QK_KME_E_DROPPED)
		EXPECT_NE(NULL, strstr(self->err.message, "on a new connection: a KME "
				       "that rejects the client certificate"))
			TH_LOG("%s", self->err.message);
	/* The fault was for one request: the same call now succeeds. */
	EXPECT_EQ(QK_KME_OK, run_op(_metadata, self, variant, NULL))
		TH_LOG("%s", self->err.message);
}

/* A fault armed on the command line. */
TEST(fault_by_flag)
{
	struct qk_kme_error err;
	struct qk_kme_client *c;
	struct qk_kme_status st;
	struct kt_sim s;

	ASSERT_EQ(0, kt_sim_start(&s, NULL, "--fault", "a:503,count=2", NULL));
	c = client(s.url_a, "sae-a", NULL, &err);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(QK_KME_E_UNAVAILABLE, qk_kme_status(c, "SAE_B", 0, &st, &err));
	EXPECT_EQ(QK_KME_E_UNAVAILABLE, qk_kme_status(c, "SAE_B", 0, &st, &err));
	EXPECT_EQ(QK_KME_OK, qk_kme_status(c, "SAE_B", 0, &st, &err));
	qk_kme_status_free(&st);
	qk_kme_client_free(c);
	EXPECT_EQ(0, kt_sim_stop(&s));
}

TEST_HARNESS_MAIN
