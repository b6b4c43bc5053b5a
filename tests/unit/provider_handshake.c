// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The qktls provider in real TLS 1.3 handshakes: an in-process client and
 * server, each in its own library context with its own key store (two
 * hosts holding the same QKD keys), talking through memory BIOs that the
 * test pumps (and may tamper with).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <qktls/provider.h>
#include <sanitizer/lsan_interface.h>

#include "kselftest_harness.h"

#define NKEYS 4
#define ERRBUF 8192
#define EXPORTER_LABEL "EXPERIMENTAL qktls test"

struct side {
	OSSL_LIB_CTX *lib;
	OSSL_PROVIDER *prov;
	struct qktls_memkeys *mk;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *in;		/* bytes for this side to read */
	int done, failed;
	int alert_sent, alert_rcvd;	/* last alert, 0: none */
	int hrr_seen;
	char errs[ERRBUF];
};

static EVP_PKEY *cert_key;
static X509 *cert;

static void make_cert(void)
{
	X509_NAME *name;

	if (cert != NULL)
		return;
	cert_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	cert = X509_new();
	if (cert_key == NULL || cert == NULL)
		abort();
	X509_set_version(cert, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"qktls-test", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	X509_set_pubkey(cert, cert_key);
	if (!X509_sign(cert, cert_key, EVP_sha256()))
		abort();
}

static void ref_of(int i, uint8_t ref[QKTLS_QKD_REF_LEN])
{
	memset(ref, 0, QKTLS_QKD_REF_LEN);
	ref[0] = 0xa0;
	ref[15] = (uint8_t)i;
}

static void collect_errors(struct side *s)
{
	unsigned long e;
	const char *data;
	int flags;
	char buf[256];

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		size_t len = strlen(s->errs);

		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(s->errs + len, sizeof(s->errs) - len, "%s: %s\n", buf,
			 (flags & ERR_TXT_STRING) ? data : "");
	}
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct side *s = SSL_get_app_data(ssl);

	if (where & SSL_CB_ALERT) {
		if (where & SSL_CB_WRITE)
			s->alert_sent = ret & 0xff;
		else
			s->alert_rcvd = ret & 0xff;
	}
}

static void msg_cb(int write_p, int version, int content_type,
		   const void *buf, size_t len, SSL *ssl, void *arg)
{
	static const unsigned char hrr_random[] = {
		0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11,
		0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
		0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
		0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
	};
	const unsigned char *p = buf;
	struct side *s = SSL_get_app_data(ssl);

	(void)write_p;
	(void)version;
	(void)arg;
	if (content_type == SSL3_RT_HANDSHAKE && len >= 38 &&
	    p[0] == SSL3_MT_SERVER_HELLO &&
	    memcmp(p + 6, hrr_random, sizeof(hrr_random)) == 0)
		s->hrr_seen = 1;
}

/* The qkd_mlkem768 flow side_init() configures. */
static enum qktls_qkd_flow init_flow = QKTLS_FLOW_CLIENT_INITIATED;

/* A host: library context, provider over its own store of @nkeys keys
 * (ref_of(i), key bytes from @keys) starting at @first. */
static int side_init(struct side *s, const char *link, const uint8_t *keys,
		     int first, int nkeys, unsigned int hybrid_id)
{
	struct qktls_qkd_keys kcb;
	struct qktls_provider_config cfg = { .keys = &kcb,
					     .hybrid_group_id = hybrid_id,
					     .mlkem_flow = init_flow };
	uint8_t ref[QKTLS_QKD_REF_LEN];

	memset(s, 0, sizeof(*s));
	s->lib = OSSL_LIB_CTX_new();
	s->mk = qktls_memkeys_new(link);
	if (s->lib == NULL || s->mk == NULL)
		return -1;
	for (int i = first; i < first + nkeys; i++) {
		ref_of(i, ref);
		if (qktls_memkeys_add(s->mk, ref, keys + 32 * i, 32))
			return -1;
	}
	qktls_memkeys_bind(s->mk, &kcb);
	s->prov = qktls_provider_load_ex(s->lib, &cfg);
	if (s->prov == NULL) {
		collect_errors(s);
		return -1;
	}
	return 0;
}

static int side_ssl(struct side *s, int server, const char *groups)
{
	BIO *out;

	s->done = s->failed = s->hrr_seen = 0;
	s->alert_sent = s->alert_rcvd = 0;
	s->errs[0] = '\0';
	make_cert();
	s->ctx = SSL_CTX_new_ex(s->lib, NULL, server ? TLS_server_method() :
							TLS_client_method());
	if (s->ctx == NULL ||
	    !SSL_CTX_set_min_proto_version(s->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set1_groups_list(s->ctx, groups)) {
		collect_errors(s);
		return -1;
	}
	SSL_CTX_set_info_callback(s->ctx, info_cb);
	SSL_CTX_set_msg_callback(s->ctx, msg_cb);
	if (server) {
		if (!SSL_CTX_use_certificate(s->ctx, cert) ||
		    !SSL_CTX_use_PrivateKey(s->ctx, cert_key))
			return -1;
	} else {
		X509_STORE_add_cert(SSL_CTX_get_cert_store(s->ctx), cert);
		SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	}
	s->ssl = SSL_new(s->ctx);
	s->in = BIO_new(BIO_s_mem());
	out = BIO_new(BIO_s_mem());
	if (s->ssl == NULL || s->in == NULL || out == NULL)
		return -1;
	BIO_set_mem_eof_return(s->in, -1);
	BIO_set_mem_eof_return(out, -1);
	SSL_set_bio(s->ssl, s->in, out);
	SSL_set_app_data(s->ssl, s);
	if (server)
		SSL_set_accept_state(s->ssl);
	else
		SSL_set_connect_state(s->ssl);
	return 0;
}

static void side_free(struct side *s)
{
	SSL_free(s->ssl);
	s->ssl = NULL;
	SSL_CTX_free(s->ctx);
	s->ctx = NULL;
	if (s->prov)
		qktls_provider_unload(s->prov);
	s->prov = NULL;
	OSSL_LIB_CTX_free(s->lib);
	s->lib = NULL;
	qktls_memkeys_free(s->mk);
	s->mk = NULL;
}

typedef void (*tamper_fn)(unsigned char *buf, size_t *len);

/*
 * Move what @from wrote to @to's input, through @tamper if given.  The
 * buffer is on the stack, one per call: concurrent_handshakes pumps from
 * eight threads at once, and a shared (static) buffer let another thread
 * overwrite the bytes between BIO_read and BIO_write.  64 bytes of room
 * are left for tamper_share to lengthen a key share.
 */
static void pump(struct side *from, struct side *to, tamper_fn tamper)
{
	unsigned char buf[65536];
	BIO *w = SSL_get_wbio(from->ssl);
	int n = BIO_read(w, buf, sizeof(buf) - 64);

	if (n > 0) {
		size_t len = n;

		if (tamper)
			tamper(buf, &len);
		BIO_write(to->in, buf, (int)len);
	}
}

static void step(struct side *s)
{
	int r;

	if (s->done || s->failed)
		return;
	r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		s->done = 1;
	} else {
		int e = SSL_get_error(s->ssl, r);

		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			s->failed = 1;
	}
	collect_errors(s);
}

/* Run the handshake; 1 if both sides completed it. */
static int group_id(SSL *ssl)
{
	/* Groups without a NID come back with TLSEXT_nid_unknown set. */
	return SSL_get_negotiated_group(ssl) & 0xffff;
}

static int handshake(struct side *c, struct side *s, tamper_fn c2s,
		     tamper_fn s2c)
{
	for (int i = 0; i < 50; i++) {
		step(c);
		pump(c, s, i == 0 ? c2s : NULL);
		step(s);
		pump(s, c, i == 0 ? s2c : NULL);
		if ((c->done || c->failed) && (s->done || s->failed))
			break;
	}
	/* Let the client see the server's reaction to its Finished. */
	if (c->done && s->done) {
		char b;

		SSL_read(c->ssl, &b, 0);
		collect_errors(c);
	}
	return c->done && s->done;
}

static int exchange(struct __test_metadata *_metadata, struct side *c,
		    struct side *s)
{
	char buf[64];
	int n;

	ASSERT_EQ(5, SSL_write(c->ssl, "hello", 5));
	pump(c, s, NULL);
	n = SSL_read(s->ssl, buf, sizeof(buf));
	ASSERT_EQ(5, n);
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(5, SSL_write(s->ssl, "world", 5));
	pump(s, c, NULL);
	n = SSL_read(c->ssl, buf, sizeof(buf));
	ASSERT_EQ(5, n);
	ASSERT_EQ(0, memcmp(buf, "world", 5));
	return 0;
}

static void same_exporter(struct __test_metadata *_metadata, struct side *c,
			  struct side *s)
{
	unsigned char a[32], b[32];

	ASSERT_EQ(1, SSL_export_keying_material(c->ssl, a, sizeof(a),
						EXPORTER_LABEL,
						strlen(EXPORTER_LABEL),
						NULL, 0, 0));
	ASSERT_EQ(1, SSL_export_keying_material(s->ssl, b, sizeof(b),
						EXPORTER_LABEL,
						strlen(EXPORTER_LABEL),
						NULL, 0, 0));
	ASSERT_EQ(0, memcmp(a, b, sizeof(a)));
}

static struct qktls_provider_stats stats(struct side *s)
{
	struct qktls_provider_stats st;

	memset(&st, 0xff, sizeof(st));
	qktls_provider_stats(s->prov, &st);
	return st;
}

FIXTURE(hs) {
	uint8_t keys[32 * NKEYS];
	struct side c, s;
};

FIXTURE_SETUP(hs)
{
	ASSERT_EQ(1, RAND_bytes(self->keys, sizeof(self->keys)));
	ASSERT_EQ(0, side_init(&self->c, "test-client", self->keys, 0, NKEYS, 0));
	ASSERT_EQ(0, side_init(&self->s, "test-server", self->keys, 0, NKEYS, 0));
}

FIXTURE_TEARDOWN(hs)
{
	side_free(&self->c);
	side_free(&self->s);
	/* Test processes end with _exit(): check for leaks here. */
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
}

/* The same two hosts, for the malformed-share variants. */
FIXTURE(bad) {
	uint8_t keys[32 * NKEYS];
	struct side c, s;
};

FIXTURE_SETUP(bad)
{
	ASSERT_EQ(1, RAND_bytes(self->keys, sizeof(self->keys)));
	ASSERT_EQ(0, side_init(&self->c, "test-client", self->keys, 0, NKEYS, 0));
	ASSERT_EQ(0, side_init(&self->s, "test-server", self->keys, 0, NKEYS, 0));
}

FIXTURE_TEARDOWN(bad)
{
	side_free(&self->c);
	side_free(&self->s);
	/* Test processes end with _exit(): check for leaks here. */
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
}

static void show(struct side *c, struct side *s)
{
	if (c->errs[0])
		fprintf(stderr, "# client errors:\n%s", c->errs);
	if (s->errs[0])
		fprintf(stderr, "# server errors:\n%s", s->errs);
}

TEST_F(hs, hybrid)
{
	struct qktls_provider_stats cs, ss;
	uint8_t ref[QKTLS_QKD_REF_LEN], want[QKTLS_QKD_REF_LEN];
	EVP_PKEY *pk = NULL;

	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUPS_CLIENT_DEFAULT));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUPS_SERVER_DEFAULT));
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
	EXPECT_EQ(QKTLS_GROUP_HYBRID_ID_DEFAULT,
		  group_id(self->c.ssl));
	EXPECT_EQ(QKTLS_GROUP_HYBRID_ID_DEFAULT,
		  group_id(self->s.ssl));
	EXPECT_STREQ(QKTLS_GROUP_HYBRID, SSL_get0_group_name(self->s.ssl));
	EXPECT_EQ(0, self->c.hrr_seen);
	same_exporter(_metadata, &self->c, &self->s);
	exchange(_metadata, &self->c, &self->s);

	/* The server knows which key the connection used. */
	ref_of(0, want);
	ASSERT_EQ(1, SSL_get_peer_tmp_key(self->s.ssl, &pk));
	EXPECT_EQ(0, qktls_provider_key_ref(pk, ref));
	EXPECT_EQ(0, memcmp(ref, want, sizeof(ref)));
	EVP_PKEY_free(pk);

	ss = stats(&self->s);
	EXPECT_EQ((uint64_t)(1), ss.refs_accepted);
	EXPECT_EQ((uint64_t)(1), ss.secrets_derived);
	EXPECT_EQ((uint64_t)(NKEYS - 1), qktls_memkeys_available(self->s.mk));
	SSL_free(self->c.ssl);
	self->c.ssl = NULL;
	cs = stats(&self->c);
	EXPECT_EQ((uint64_t)(1), cs.keys_fetched);
	EXPECT_EQ((uint64_t)(1), cs.keys_used);
	EXPECT_EQ((uint64_t)(0), cs.keys_discarded);
	EXPECT_EQ((uint64_t)(NKEYS - 1), qktls_memkeys_available(self->c.mk));
}

TEST_F(hs, hybrid_configured_codepoint)
{
	side_free(&self->c);
	side_free(&self->s);
	ASSERT_EQ(0, side_init(&self->c, "c", self->keys, 0, NKEYS, 0xFE42));
	ASSERT_EQ(0, side_init(&self->s, "s", self->keys, 0, NKEYS, 0xFE42));
	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
	EXPECT_EQ(0xFE42, group_id(self->s.ssl));
	same_exporter(_metadata, &self->c, &self->s);
}

TEST(codepoint_outside_private_use_refused)
{
	struct qktls_memkeys *mk = qktls_memkeys_new("x");
	struct qktls_qkd_keys kcb;
	struct qktls_provider_config cfg = { .keys = &kcb,
					     .hybrid_group_id = 0x11EC };
	OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
	char buf[256];

	qktls_memkeys_bind(mk, &kcb);
	ERR_clear_error();
	ASSERT_EQ(NULL, qktls_provider_load_ex(lib, &cfg));
	ERR_error_string_n(ERR_peek_error(), buf, sizeof(buf));
	EXPECT_NE(NULL, strstr(buf, "bad qktls provider configuration")) {
		TH_LOG("error: %s", buf);
	}
	ERR_clear_error();
	OSSL_LIB_CTX_free(lib);
	qktls_memkeys_free(mk);
}

static int err_has(const char *what)
{
	unsigned long e;
	const char *data;
	int flags, found = 0;
	char buf[512];

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		if (strstr(buf, what) ||
		    ((flags & ERR_TXT_STRING) && strstr(data, what)))
			found = 1;
	}
	return found;
}

TEST(load_needs_callbacks)
{
	struct qktls_qkd_keys none = { 0 };
	OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();

	ASSERT_NE(NULL, lib);
	ERR_clear_error();
	EXPECT_EQ(NULL, qktls_provider_load(lib, &none));
	EXPECT_TRUE(err_has("no QKD key callbacks given"));
	EXPECT_EQ(NULL, qktls_provider_load(lib, NULL));
	EXPECT_TRUE(err_has("no QKD key callbacks given"));
	OSSL_LIB_CTX_free(lib);
}

TEST(load_twice_refused_and_reload_works)
{
	struct qktls_memkeys *mk = qktls_memkeys_new("twice");
	struct qktls_qkd_keys kcb;
	OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *prov;
	EVP_KEYMGMT *km;

	qktls_memkeys_bind(mk, &kcb);
	prov = qktls_provider_load(lib, &kcb);
	ASSERT_NE(NULL, prov) ERR_print_errors_fp(stderr);
	ERR_clear_error();
	EXPECT_EQ(NULL, qktls_provider_load(lib, &kcb));
	EXPECT_TRUE(err_has("already loaded in this library context"));
	/* The first instance is untouched by the refused second load. */
	km = EVP_KEYMGMT_fetch(lib, QKTLS_GROUP_HYBRID, NULL);
	EXPECT_NE(NULL, km);
	EVP_KEYMGMT_free(km);
	qktls_provider_unload(prov);
	/* After an unload the algorithms are gone; a new load brings them back. */
	ERR_set_mark();
	km = EVP_KEYMGMT_fetch(lib, QKTLS_GROUP_HYBRID, NULL);
	ERR_pop_to_mark();
	EXPECT_EQ(NULL, km);
	EVP_KEYMGMT_free(km);
	prov = qktls_provider_load(lib, &kcb);
	ASSERT_NE(NULL, prov) ERR_print_errors_fp(stderr);
	km = EVP_KEYMGMT_fetch(lib, QKTLS_GROUP_QKD_MLKEM768, NULL);
	EXPECT_NE(NULL, km);
	EVP_KEYMGMT_free(km);
	qktls_provider_unload(prov);
	OSSL_LIB_CTX_free(lib);
	qktls_memkeys_free(mk);
}

/* The default library context works too (each TEST runs in its own
 * process, so this does not leak into the others). */
TEST(load_into_default_context)
{
	struct qktls_memkeys *mk = qktls_memkeys_new("default");
	struct qktls_qkd_keys kcb;
	struct qktls_provider_stats st;
	OSSL_PROVIDER *prov, *def;
	EVP_PKEY *pkey = NULL;
	uint8_t ref[QKTLS_QKD_REF_LEN] = { 1 }, got[QKTLS_QKD_REF_LEN];
	uint8_t key[32] = { 2 };

	ASSERT_EQ(0, qktls_memkeys_add(mk, ref, key, sizeof(key)));
	EXPECT_EQ(-1, qktls_memkeys_add(mk, ref, key, sizeof(key)));
	EXPECT_EQ(-1, qktls_memkeys_add(mk, got, key, 8));
	qktls_memkeys_bind(mk, &kcb);
	prov = qktls_provider_load(NULL, &kcb);
	ASSERT_NE(NULL, prov);
	def = OSSL_PROVIDER_load(NULL, "default");
	EXPECT_EQ(-1, qktls_provider_stats(def, &st));
	OSSL_PROVIDER_unload(def);

	/* A client key straight from EVP: it took the one key. */
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, QKTLS_GROUP_HYBRID);
	ASSERT_NE(NULL, pkey);
	EXPECT_EQ(0, qktls_provider_key_ref(pkey, got));
	EXPECT_EQ(0, memcmp(ref, got, sizeof(ref)));
	EXPECT_EQ((uint64_t)(0), qktls_memkeys_available(mk));
	EVP_PKEY_free(pkey);
	EXPECT_EQ(0, qktls_provider_stats(prov, &st));
	EXPECT_EQ((uint64_t)(1), st.keys_fetched);
	EXPECT_EQ((uint64_t)(1), st.keys_discarded);
	EXPECT_EQ((uint64_t)(1), qktls_memkeys_discarded(mk));

	/* Another key finds the store empty. */
	ERR_clear_error();
	EXPECT_EQ(NULL, EVP_PKEY_Q_keygen(NULL, NULL, QKTLS_GROUP_HYBRID));
	EXPECT_TRUE(err_has("link default: no QKD key for a qktls-X25519MLKEM768 key share (key pool empty)"));

	/* Not one of ours. */
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EXPECT_EQ(-1, qktls_provider_key_ref(pkey, got));
	EVP_PKEY_free(pkey);
	qktls_provider_unload(prov);
	qktls_memkeys_free(mk);
}

TEST_F(hs, qkd_mlkem768)
{
	struct qktls_provider_stats cs;

	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_QKD_MLKEM768));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_QKD_MLKEM768 ":X25519MLKEM768"));
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
	EXPECT_EQ(QKTLS_GROUP_QKD_MLKEM768_ID,
		  group_id(self->c.ssl));
	EXPECT_EQ(QKTLS_GROUP_QKD_MLKEM768_ID,
		  group_id(self->s.ssl));
	same_exporter(_metadata, &self->c, &self->s);
	exchange(_metadata, &self->c, &self->s);
	cs = stats(&self->c);
	EXPECT_EQ((uint64_t)(1), cs.keys_used);
	EXPECT_EQ((uint64_t)(1), stats(&self->s).refs_accepted);
}

/* Re-create both sides with qkd_mlkem768 in flow @cf (client), @sf (server). */
static void flows(struct __test_metadata *_metadata, FIXTURE_DATA(hs) *self,
		  enum qktls_qkd_flow cf, enum qktls_qkd_flow sf)
{
	side_free(&self->c);
	side_free(&self->s);
	init_flow = cf;
	ASSERT_EQ(0, side_init(&self->c, "test-client", self->keys, 0, NKEYS, 0));
	init_flow = sf;
	ASSERT_EQ(0, side_init(&self->s, "test-server", self->keys, 0, NKEYS, 0));
	init_flow = QKTLS_FLOW_CLIENT_INITIATED;
	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_QKD_MLKEM768));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_QKD_MLKEM768));
}

/* Server-initiated: the server takes the key from its store as it
 * encapsulates, the client takes it by the ID in the ServerHello. */
TEST_F(hs, qkd_mlkem768_server_initiated)
{
	struct qktls_provider_stats cs, ss;
	uint8_t ref[QKTLS_QKD_REF_LEN], want[QKTLS_QKD_REF_LEN];
	EVP_PKEY *pk = NULL;

	flows(_metadata, self, QKTLS_FLOW_SERVER_INITIATED,
	      QKTLS_FLOW_SERVER_INITIATED);
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
	EXPECT_EQ(QKTLS_GROUP_QKD_MLKEM768_ID, group_id(self->c.ssl));
	same_exporter(_metadata, &self->c, &self->s);
	exchange(_metadata, &self->c, &self->s);
	cs = stats(&self->c);
	ss = stats(&self->s);
	EXPECT_EQ((uint64_t)(1), ss.keys_fetched);
	EXPECT_EQ((uint64_t)(0), ss.refs_accepted);
	EXPECT_EQ((uint64_t)(1), cs.refs_accepted);
	EXPECT_EQ((uint64_t)(0), cs.keys_fetched);
	EXPECT_EQ((uint64_t)(1), cs.keys_used);
	EXPECT_EQ((uint64_t)(0), cs.keys_discarded);
	/* The server's first key, named by the server. */
	ASSERT_EQ(1, SSL_get_peer_tmp_key(self->s.ssl, &pk));
	ASSERT_NE(NULL, pk);
	ASSERT_EQ(0, qktls_provider_key_ref(pk, ref));
	EVP_PKEY_free(pk);
	ref_of(0, want);
	EXPECT_EQ(0, memcmp(ref, want, sizeof(ref)));
	EXPECT_EQ((size_t)(NKEYS - 1), qktls_memkeys_available(self->s.mk));
	EXPECT_EQ((size_t)(NKEYS - 1), qktls_memkeys_available(self->c.mk));
}

/* The two flows do not mix: each mismatch fails with a clear reason and
 * consumes no key on the server. */
TEST_F(hs, qkd_mlkem768_flow_mismatch_client_initiated_client)
{
	flows(_metadata, self, QKTLS_FLOW_CLIENT_INITIATED,
	      QKTLS_FLOW_SERVER_INITIATED);
	ASSERT_EQ(0, handshake(&self->c, &self->s, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->s.errs, "the client runs the client-initiated flow"))
		TH_LOG("server: %s", self->s.errs);
	EXPECT_EQ((size_t)(NKEYS), qktls_memkeys_available(self->s.mk));
	EXPECT_EQ((uint64_t)(0), stats(&self->s).keys_fetched);
}

TEST_F(hs, qkd_mlkem768_flow_mismatch_server_initiated_client)
{
	flows(_metadata, self, QKTLS_FLOW_SERVER_INITIATED,
	      QKTLS_FLOW_CLIENT_INITIATED);
	ASSERT_EQ(0, handshake(&self->c, &self->s, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->s.errs, "zero key ID: the client runs the server-initiated flow"))
		TH_LOG("server: %s", self->s.errs);
	EXPECT_EQ((size_t)(NKEYS), qktls_memkeys_available(self->s.mk));
	/* The server-initiated client took nothing either. */
	EXPECT_EQ((size_t)(NKEYS), qktls_memkeys_available(self->c.mk));
}

/* A stock-like server: the client offers both shares, no HRR needed. */
TEST_F(hs, plain_x25519mlkem768_still_works)
{
	struct qktls_provider_stats cs;

	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUPS_CLIENT_DEFAULT));
	ASSERT_EQ(0, side_ssl(&self->s, 1, "X25519MLKEM768"));
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
	EXPECT_EQ(0x11EC, group_id(self->c.ssl));
	EXPECT_EQ(0x11EC, group_id(self->s.ssl));
	EXPECT_EQ(0, self->c.hrr_seen);
	same_exporter(_metadata, &self->c, &self->s);
	exchange(_metadata, &self->c, &self->s);
	/* The server never looked at the QKD share it did not choose. */
	EXPECT_EQ((uint64_t)(0), stats(&self->s).refs_accepted);
	EXPECT_EQ((uint64_t)(NKEYS), qktls_memkeys_available(self->s.mk));
	SSL_free(self->c.ssl);
	self->c.ssl = NULL;
	/* The client's QKD key share went unused: counted and reported. */
	cs = stats(&self->c);
	EXPECT_EQ((uint64_t)(1), cs.keys_fetched);
	EXPECT_EQ((uint64_t)(0), cs.keys_used);
	EXPECT_EQ((uint64_t)(1), cs.keys_discarded);
	EXPECT_EQ((uint64_t)(1), qktls_memkeys_discarded(self->c.mk));
}

TEST_F(hs, plain_both_sides)
{
	ASSERT_EQ(0, side_ssl(&self->c, 0, "X25519MLKEM768"));
	ASSERT_EQ(0, side_ssl(&self->s, 1, "X25519MLKEM768:X25519"));
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
	EXPECT_EQ(0x11EC, group_id(self->s.ssl));
	same_exporter(_metadata, &self->c, &self->s);
	EXPECT_EQ((uint64_t)(0), stats(&self->c).keys_fetched);
}

TEST_F(hs, unknown_reference_fails)
{
	side_free(&self->s);
	/* The server holds keys 1..3 only: the client's first (0) is unknown. */
	ASSERT_EQ(0, side_init(&self->s, "test-server", self->keys, 1, NKEYS - 1, 0));
	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(0, handshake(&self->c, &self->s, NULL, NULL));
	show(&self->c, &self->s);
	EXPECT_TRUE(self->s.failed);
	EXPECT_TRUE(self->c.failed);
	EXPECT_EQ(SSL_AD_ILLEGAL_PARAMETER, self->s.alert_sent);
	EXPECT_EQ(SSL_AD_ILLEGAL_PARAMETER, self->c.alert_rcvd);
	EXPECT_NE(NULL, strstr(self->s.errs, "unknown QKD key reference")) show(&self->c, &self->s);
	EXPECT_NE(NULL, strstr(self->s.errs,
			       "names QKD key a0000000000000000000000000000000, which is unknown here"));
	EXPECT_EQ((uint64_t)(1), stats(&self->s).refs_unknown);
	EXPECT_EQ((uint64_t)(NKEYS - 1), qktls_memkeys_available(self->s.mk));
}

TEST_F(hs, reused_reference_fails)
{
	struct side c2;

	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
	SSL_free(self->s.ssl);
	self->s.ssl = NULL;
	SSL_CTX_free(self->s.ctx);
	self->s.ctx = NULL;

	/* A client whose store hands out key 0 again (a replay of it). */
	ASSERT_EQ(0, side_init(&c2, "replay", self->keys, 0, NKEYS, 0));
	ASSERT_EQ(0, side_ssl(&c2, 0, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_HYBRID));
	EXPECT_EQ(0, handshake(&c2, &self->s, NULL, NULL));
	show(&c2, &self->s);
	EXPECT_EQ(SSL_AD_ILLEGAL_PARAMETER, self->s.alert_sent);
	EXPECT_EQ(SSL_AD_ILLEGAL_PARAMETER, c2.alert_rcvd);
	EXPECT_NE(NULL, strstr(self->s.errs, "QKD key reference already used")) show(&c2, &self->s);
	EXPECT_EQ((uint64_t)(1), stats(&self->s).refs_reused);
	EXPECT_EQ((uint64_t)(1), stats(&self->s).refs_accepted);
	side_free(&c2);
}

/* The same reference names different key bytes on the two sides: only the
 * QKD key differs, so the handshake must fail (the peers derive different
 * handshake keys and cannot read each other's Finished). */
TEST_F(hs, different_qkd_key_fails)
{
	uint8_t other[32 * NKEYS];

	memcpy(other, self->keys, sizeof(other));
	other[5] ^= 0x01;	/* one bit of key 0 */
	side_free(&self->s);
	ASSERT_EQ(0, side_init(&self->s, "test-server", other, 0, NKEYS, 0));
	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_HYBRID));
	EXPECT_EQ(0, handshake(&self->c, &self->s, NULL, NULL));
	show(&self->c, &self->s);
	EXPECT_TRUE(self->c.failed) show(&self->c, &self->s);
	EXPECT_FALSE(self->c.done);
	EXPECT_FALSE(self->s.done);
	/* The QKD part itself succeeded on both sides. */
	EXPECT_EQ((uint64_t)(1), stats(&self->s).refs_accepted);
	EXPECT_EQ((uint64_t)(1), stats(&self->s).secrets_derived);
	EXPECT_EQ((uint64_t)(1), stats(&self->c).secrets_derived);
	EXPECT_TRUE(self->c.alert_sent == SSL_AD_BAD_RECORD_MAC ||
		    self->c.alert_sent == SSL_AD_DECRYPT_ERROR) {
		TH_LOG("client sent alert %d", self->c.alert_sent);
	}
}

TEST_F(hs, same_keys_different_key_works_control)
{
	/* Control for the test above: identical stores succeed. */
	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
}

/* HRR away from the QKD group: the client's QKD share is discarded,
 * counted and reported to the key source. */
TEST_F(hs, hrr_discarding_qkd_share_is_counted)
{
	struct qktls_provider_stats cs;

	ASSERT_EQ(0, side_ssl(&self->c, 0, "*" QKTLS_GROUP_HYBRID ":X25519MLKEM768"));
	ASSERT_EQ(0, side_ssl(&self->s, 1, "X25519MLKEM768"));
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
	EXPECT_EQ(1, self->c.hrr_seen);
	EXPECT_EQ(0x11EC, group_id(self->c.ssl));
	SSL_free(self->c.ssl);
	self->c.ssl = NULL;
	cs = stats(&self->c);
	EXPECT_EQ((uint64_t)(1), cs.keys_fetched);
	EXPECT_EQ((uint64_t)(0), cs.keys_used);
	EXPECT_EQ((uint64_t)(1), cs.keys_discarded);
	EXPECT_EQ((uint64_t)(1), qktls_memkeys_discarded(self->c.mk));
}

/* HRR towards the QKD group: the key is taken only for the second
 * ClientHello, so nothing is discarded. */
TEST_F(hs, hrr_to_qkd_group_takes_one_key)
{
	struct qktls_provider_stats cs;

	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_HYBRID ":*X25519MLKEM768"));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(1, handshake(&self->c, &self->s, NULL, NULL)) show(&self->c, &self->s);
	EXPECT_EQ(1, self->c.hrr_seen);
	EXPECT_EQ(QKTLS_GROUP_HYBRID_ID_DEFAULT,
		  group_id(self->c.ssl));
	same_exporter(_metadata, &self->c, &self->s);
	SSL_free(self->c.ssl);
	self->c.ssl = NULL;
	cs = stats(&self->c);
	EXPECT_EQ((uint64_t)(1), cs.keys_fetched);
	EXPECT_EQ((uint64_t)(1), cs.keys_used);
	EXPECT_EQ((uint64_t)(0), cs.keys_discarded);
}

TEST_F(hs, client_without_keys_fails_clearly)
{
	side_free(&self->c);
	ASSERT_EQ(0, side_init(&self->c, "empty-link", self->keys, 0, 0, 0));
	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_HYBRID));
	EXPECT_EQ(0, handshake(&self->c, &self->s, NULL, NULL));
	EXPECT_TRUE(self->c.failed);
	EXPECT_NE(NULL, strstr(self->c.errs,
			       "link empty-link: no QKD key for a qktls-X25519MLKEM768 key share (key pool empty)"))
		show(&self->c, &self->s);
	EXPECT_EQ((uint64_t)(1), stats(&self->c).keys_fetch_failed);
}

/* --- many handshakes at once ---------------------------------------------- */

#define NTHREADS 8
#define PER_THREAD 4

struct worker {
	struct side *c, *s;	/* the shared hosts */
	int ok;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct side c = { .lib = w->c->lib, .prov = w->c->prov };
		struct side s = { .lib = w->s->lib, .prov = w->s->prov };
		unsigned char a[32], b[32];
		int ok;

		ok = side_ssl(&c, 0, QKTLS_GROUPS_CLIENT_DEFAULT) == 0 &&
		     side_ssl(&s, 1, QKTLS_GROUPS_SERVER_DEFAULT) == 0 &&
		     handshake(&c, &s, NULL, NULL) &&
		     group_id(c.ssl) == QKTLS_GROUP_HYBRID_ID_DEFAULT &&
		     SSL_export_keying_material(c.ssl, a, sizeof(a), "t", 1,
						NULL, 0, 0) == 1 &&
		     SSL_export_keying_material(s.ssl, b, sizeof(b), "t", 1,
						NULL, 0, 0) == 1 &&
		     memcmp(a, b, sizeof(a)) == 0;
		if (!ok)
			show(&c, &s);
		w->ok += ok;
		SSL_free(c.ssl);
		SSL_free(s.ssl);
		SSL_CTX_free(c.ctx);
		SSL_CTX_free(s.ctx);
	}
	return NULL;
}

/* Handshakes in parallel threads share one provider per side: every one
 * succeeds with its own key, and the counters add up. */
TEST(concurrent_handshakes)
{
	static uint8_t keys[32 * NTHREADS * PER_THREAD];
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct side c, s;
	struct qktls_provider_stats cs, ss;
	int total = 0;

	make_cert();
	ASSERT_EQ(1, RAND_bytes(keys, sizeof(keys)));
	ASSERT_EQ(0, side_init(&c, "par-c", keys, 0, NTHREADS * PER_THREAD, 0));
	ASSERT_EQ(0, side_init(&s, "par-s", keys, 0, NTHREADS * PER_THREAD, 0));
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .c = &c, .s = &s };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker_run, &w[i]));
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		total += w[i].ok;
	}
	EXPECT_EQ(NTHREADS * PER_THREAD, total);
	cs = stats(&c);
	ss = stats(&s);
	EXPECT_EQ((uint64_t)(NTHREADS * PER_THREAD), cs.keys_used);
	EXPECT_EQ((uint64_t)(0), cs.keys_discarded);
	EXPECT_EQ((uint64_t)(NTHREADS * PER_THREAD), ss.refs_accepted);
	EXPECT_EQ((uint64_t)(0), ss.refs_reused + ss.refs_unknown);
	EXPECT_EQ((uint64_t)(0), qktls_memkeys_available(c.mk));
	EXPECT_EQ((uint64_t)(0), qktls_memkeys_available(s.mk));
	side_free(&c);
	side_free(&s);
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
}

/* --- malformed key shares ------------------------------------------------- */

static size_t get16(const unsigned char *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static void put16(unsigned char *p, size_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static int tamper_delta;	/* bytes to add to the first key share */
static int tamper_flip;		/* or: flip the last byte of it */

/*
 * Change the first key_share entry of a ClientHello or ServerHello record
 * at the start of @buf: flip its last byte, or change its length by
 * tamper_delta bytes (cut at its end, or padded with zeros), fixing up all
 * the enclosing lengths so that only the key share is malformed.  Records
 * after it in @buf move along.
 */
static void tamper_share(unsigned char *buf, size_t *len)
{
	unsigned char *p, *end = buf + *len, *ext_len, *e, *kx_len;
	size_t n, shift;
	long d = tamper_delta;
	int ch;

	if (*len < 5 + 4 + 2 + 32 || buf[0] != 22 ||
	    (buf[5] != SSL3_MT_CLIENT_HELLO && buf[5] != SSL3_MT_SERVER_HELLO))
		return;
	ch = buf[5] == SSL3_MT_CLIENT_HELLO;
	p = buf + 5 + 4 + 2 + 32;
	p += 1 + p[0];			/* session id */
	p += ch ? 2 + get16(p) : 2;	/* cipher suite(s) */
	p += ch ? 1 + p[0] : 1;		/* compression */
	ext_len = p;
	end = buf + 5 + get16(buf + 3);
	for (e = p + 2; e + 4 <= end; e += 4 + get16(e + 2)) {
		if (get16(e) != 51)
			continue;
		/* [client_shares len,] group, kex len */
		kx_len = e + 4 + (ch ? 2 : 0) + 2;
		n = get16(kx_len);
		shift = kx_len + 2 + n - buf;	/* end of the first share */
		if (tamper_flip) {
			buf[shift - 1] ^= 0x80;
			return;
		}
		memmove(buf + shift + d, buf + shift, *len - shift);
		if (d > 0)
			memset(buf + shift, 0, d);
		*len += d;
		put16(kx_len, n + d);
		if (ch)
			put16(e + 4, get16(e + 4) + d);	/* client_shares */
		put16(e + 2, get16(e + 2) + d);		/* extension */
		put16(ext_len, get16(ext_len) + d);	/* extensions */
		/* handshake length (3 bytes) and record length */
		n = (size_t)buf[6] << 16 | get16(buf + 7);
		n += d;
		buf[6] = n >> 16;
		put16(buf + 7, n & 0xffff);
		put16(buf + 3, get16(buf + 3) + d);
		return;
	}
}

FIXTURE_VARIANT(bad) {
	const char *group;
	int delta;
};

FIXTURE_VARIANT_ADD(bad, hybrid_short) { .group = QKTLS_GROUP_HYBRID, .delta = -1 };
FIXTURE_VARIANT_ADD(bad, hybrid_no_ref) { .group = QKTLS_GROUP_HYBRID, .delta = -16 };
FIXTURE_VARIANT_ADD(bad, hybrid_long) { .group = QKTLS_GROUP_HYBRID, .delta = 1 };
FIXTURE_VARIANT_ADD(bad, mlkem_short) { .group = QKTLS_GROUP_QKD_MLKEM768, .delta = -1 };
FIXTURE_VARIANT_ADD(bad, mlkem_long) { .group = QKTLS_GROUP_QKD_MLKEM768, .delta = 16 };

TEST_F(bad, malformed_client_share_fails)
{
	ASSERT_EQ(0, side_ssl(&self->c, 0, variant->group));
	ASSERT_EQ(0, side_ssl(&self->s, 1, variant->group));
	tamper_delta = variant->delta;
	tamper_flip = 0;
	EXPECT_EQ(0, handshake(&self->c, &self->s, tamper_share, NULL));
	show(&self->c, &self->s);
	EXPECT_TRUE(self->s.failed);
	EXPECT_TRUE(self->c.failed);
	EXPECT_EQ(SSL_AD_ILLEGAL_PARAMETER, self->s.alert_sent);
	EXPECT_NE(NULL, strstr(self->s.errs, "malformed QKD key share"));
	EXPECT_EQ((uint64_t)(1), stats(&self->s).shares_malformed);
	/* No key was consumed for a share that did not parse. */
	EXPECT_EQ((uint64_t)(NKEYS), qktls_memkeys_available(self->s.mk));
}

TEST_F(bad, malformed_server_share_fails)
{
	ASSERT_EQ(0, side_ssl(&self->c, 0, variant->group));
	ASSERT_EQ(0, side_ssl(&self->s, 1, variant->group));
	tamper_delta = variant->delta;
	tamper_flip = 0;
	EXPECT_EQ(0, handshake(&self->c, &self->s, NULL, tamper_share));
	show(&self->c, &self->s);
	EXPECT_TRUE(self->c.failed);
	EXPECT_FALSE(self->c.done);
	EXPECT_FALSE(self->s.done);
	EXPECT_NE(0, self->c.alert_sent);
	EXPECT_NE(NULL, strstr(self->c.errs, "malformed QKD key share"));
	EXPECT_EQ((uint64_t)(1), stats(&self->c).shares_malformed);
	EXPECT_EQ((uint64_t)(0), stats(&self->c).keys_used);
}

/* qkd_mlkem768: the server's ciphertext must echo the client's key ID. */
TEST_F(hs, mlkem_key_id_not_echoed_fails)
{
	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_QKD_MLKEM768));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_QKD_MLKEM768));
	tamper_flip = 1;
	EXPECT_EQ(0, handshake(&self->c, &self->s, NULL, tamper_share));
	show(&self->c, &self->s);
	EXPECT_TRUE(self->c.failed);
	EXPECT_NE(NULL, strstr(self->c.errs, "QKD key ID mismatch"));
	EXPECT_NE(NULL, strstr(self->c.errs, "does not echo key ID a0000000000000000000000000000000"));
}

/* A flipped bit in the client's reference: the server does not know it. */
TEST_F(hs, altered_reference_fails)
{
	ASSERT_EQ(0, side_ssl(&self->c, 0, QKTLS_GROUP_HYBRID));
	ASSERT_EQ(0, side_ssl(&self->s, 1, QKTLS_GROUP_HYBRID));
	tamper_flip = 1;
	EXPECT_EQ(0, handshake(&self->c, &self->s, tamper_share, NULL));
	show(&self->c, &self->s);
	EXPECT_EQ(SSL_AD_ILLEGAL_PARAMETER, self->s.alert_sent);
	EXPECT_NE(NULL, strstr(self->s.errs,
			       "names QKD key a0000000000000000000000000000080, which is unknown here"));
}

TEST_HARNESS_MAIN
