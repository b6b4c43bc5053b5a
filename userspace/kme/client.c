// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ETSI GS QKD 014 v1.1.1 client: status, enc_keys and dec_keys over HTTPS
 * with mutual TLS (libcurl), one connection reused across calls.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "kme-internal.h"

#define DEFAULT_TIMEOUT_MS 10000L

struct qk_kme_client {
	pthread_mutex_t lock;
	CURL *curl;
	struct curl_slist *headers;
	char *base;
	long timeout_ms;
	long connect_timeout_ms;
	struct qk_kme_stats stats;
	char errbuf[CURL_ERROR_SIZE];
};

/* The response body; it may hold key material, so it is wiped. */
struct body {
	char *p;
	size_t len, cap;
	bool too_large;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void body_free(struct body *b)
{
	if (b->p)
		OPENSSL_clear_free(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (n > QK_KME_MAX_RESPONSE - b->len) {
		b->too_large = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		/* Grow by copy, never realloc: the old block is wiped. */
		p = OPENSSL_malloc(cap);
		if (!p)
			return 0;
		if (b->p) {
			memcpy(p, b->p, b->len);
			OPENSSL_clear_free(b->p, b->cap);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/*
 * libcurl re-sends a request, on a new connection, when a reused connection
 * closes before any byte of the answer (lib/transfer.c, Curl_retry_request).
 * The KME may have acted on the first copy: a retried enc_keys uses keys up
 * twice, a retried dec_keys finds its keys gone.  Every attempt passes the
 * pre-request callback, which refuses the second one for key requests.
 */
struct attempt {
	unsigned int sent;
	bool once;
};

static int on_prereq(void *arg, char *ip, char *local_ip, int port,
		     int local_port)
{
	struct attempt *a = arg;

	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	if (a && a->sent++ && a->once)
		return CURL_PREREQFUNC_ABORT;
	return CURL_PREREQFUNC_OK;
}

static enum qk_kme_err check_file(const char *what, const char *path,
				  struct qk_kme_error *err)
{
	if (!path || !*path)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0, "no %s file given", what);
	if (access(path, R_OK))
		return qk_kme_fail(err, QK_KME_E_TLS_CONFIG, 0,
				   "%s file %s: %s", what, path, strerror(errno));
	return QK_KME_OK;
}

struct qk_kme_client *qk_kme_client_new(const struct qk_kme_config *cfg,
					struct qk_kme_error *err)
{
	struct qk_kme_client *c;
	CURL *h;
	size_t n;

	if (!cfg || !cfg->url || strncmp(cfg->url, "https://", 8)) {
		qk_kme_fail(err, QK_KME_E_INVAL, 0,
			    "the KME URL must start with https:// (got %.200s)",
			    cfg && cfg->url ? cfg->url : "nothing");
		return NULL;
	}
	if (cfg->timeout_ms < 0 || cfg->connect_timeout_ms < 0) {
		qk_kme_fail(err, QK_KME_E_INVAL, 0, "negative timeout");
		return NULL;
	}
	if (check_file("client certificate", cfg->cert, err) ||
	    check_file("client key", cfg->key, err) ||
	    check_file("CA", cfg->ca, err))
		return NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		qk_kme_fail(err, QK_KME_E_TRANSPORT, 0, "curl_global_init: %s",
			    curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	pthread_mutex_init(&c->lock, NULL);
	c->base = strdup(cfg->url);
	if (!c->base)
		goto nomem;
	n = strlen(c->base);
	while (n > 8 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->connect_timeout_ms = cfg->connect_timeout_ms;
	c->headers = curl_slist_append(NULL, "Accept: application/json");
	if (!c->headers)
		goto nomem;
	c->curl = h = curl_easy_init();
	if (!h)
		goto nomem;

	/* Mutual TLS, verification always on, TLS 1.2 at least. */
	if (curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert) ||
	    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM") ||
	    curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key) ||
	    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM") ||
	    curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca) ||
	    curl_easy_setopt(h, CURLOPT_CAPATH, NULL) ||
	    (cfg->crl && curl_easy_setopt(h, CURLOPT_CRLFILE, cfg->crl)) ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) ||
	    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq) ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers)) {
		qk_kme_fail(err, QK_KME_E_TLS_CONFIG, 0,
			    "libcurl refused the TLS settings (needs OpenSSL TLS support)");
		qk_kme_client_free(c);
		return NULL;
	}
	return c;
nomem:
	qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
	qk_kme_client_free(c);
	return NULL;
}

void qk_kme_client_free(struct qk_kme_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c->base);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void qk_kme_client_stats(struct qk_kme_client *c, struct qk_kme_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->stats;
	pthread_mutex_unlock(&c->lock);
}

/*
 * The TLS alert the KME sent, if libcurl's message names one that refuses
 * the client certificate (OpenSSL's packed error code, "error:0A000418:").
 * Under TLS 1.3 the client finishes its handshake before the server has
 * checked the client certificate, so the alert only arrives with the
 * answer, where libcurl reports a receive error.
 */
static const char *cert_alert(const char *why)
{
	static const int reasons[] = {
		SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,
		SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
		SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,
		SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
		SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
		SSL_R_TLSV1_ALERT_UNKNOWN_CA,
		SSL_R_TLSV1_ALERT_ACCESS_DENIED,
		SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED,
	};
	const char *p = why;
	unsigned long e;
	size_t i;

	while ((p = strstr(p, "error:"))) {
		char *end;

		p += 6;
		e = strtoul(p, &end, 16);
		if (end != p + 8 || *end != ':' || ERR_GET_LIB(e) != ERR_LIB_SSL)
			continue;
		for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			if (ERR_GET_REASON(e) == reasons[i])
				return ERR_reason_error_string(e) ?
				       ERR_reason_error_string(e) : "certificate alert";
	}
	return NULL;
}

static enum qk_kme_err map_curl(struct qk_kme_client *c, CURLcode rc,
				const char *url, long timeout_ms,
				struct qk_kme_error *err)
{
	const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
	const char *alert = NULL;

	if (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING)
		alert = cert_alert(why);
	if (alert)
		return qk_kme_fail(err, QK_KME_E_TLS, 0,
				   "KME %s: client certificate rejected (TLS alert \"%s\"): "
				   "check the SAE's certificate, its issuer and that the KME "
				   "trusts that CA", url, alert);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return qk_kme_fail(err, QK_KME_E_TIMEOUT, 0,
				   "KME %s did not answer within %ld ms (%s)",
				   url, timeout_ms, why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return qk_kme_fail(err, QK_KME_E_RESOLVE, 0, "%s: %s", url, why);
	case CURLE_COULDNT_CONNECT:
		return qk_kme_fail(err, QK_KME_E_CONNECT, 0,
				   "cannot connect to KME %s: %s", url, why);
	case CURLE_PEER_FAILED_VERIFICATION:
		return qk_kme_fail(err, QK_KME_E_TLS_VERIFY, 0,
				   "KME %s failed verification: %s", url, why);
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		return qk_kme_fail(err, QK_KME_E_TLS_CONFIG, 0,
				   "local TLS set-up for %s failed: %s", url, why);
	case CURLE_SSL_CONNECT_ERROR:
		return qk_kme_fail(err, QK_KME_E_TLS, 0,
				   "TLS handshake with KME %s failed: %s", url, why);
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return qk_kme_fail(err, QK_KME_E_DROPPED, 0,
				   "KME %s closed the connection without a complete answer: %s",
				   url, why);
	default:
		return qk_kme_fail(err, QK_KME_E_TRANSPORT, 0, "%s: %s", url, why);
	}
}

/*
 * One request.  On success the 200 body is in @b (the caller wipes it with
 * body_free); any other status is turned into an error here.  A key
 * request (@once) is never sent twice.
 */
static enum qk_kme_err perform(struct qk_kme_client *c, const char *url,
			       const char *post, long timeout_ms, bool once,
			       struct body *b, struct qk_kme_error *err)
{
	struct attempt att = { .once = once };
	struct curl_slist *hdrs = c->headers, *post_hdrs = NULL;
	enum qk_kme_err ret;
	long status = 0, conns = 0;
	bool dropped_new = false;
	CURLcode rc;

	if (!timeout_ms)
		timeout_ms = c->timeout_ms;
	if (timeout_ms < 0)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0, "negative timeout");
	if (post) {
		post_hdrs = curl_slist_append(NULL, "Accept: application/json");
		if (post_hdrs)
			hdrs = curl_slist_append(post_hdrs, "Content-Type: application/json");
		if (!post_hdrs || !hdrs) {
			curl_slist_free_all(post_hdrs);
			return qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
		}
	}

	pthread_mutex_lock(&c->lock);
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 c->connect_timeout_ms ? c->connect_timeout_ms : timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_PREREQDATA, &att);
	if (post) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(c->curl);
	c->stats.requests++;
	if (curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK)
		c->stats.connects += conns;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK && rc != CURLE_ABORTED_BY_CALLBACK && conns > 0 && !status)
		dropped_new = true;
	if (rc == CURLE_WRITE_ERROR && b->too_large)
		ret = qk_kme_fail(err, QK_KME_E_TOO_LARGE, status,
				  "KME %s sent more than %u bytes", url,
				  QK_KME_MAX_RESPONSE);
	else if (rc == CURLE_WRITE_ERROR)
		ret = qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
	else if (rc == CURLE_ABORTED_BY_CALLBACK && att.sent > 1)
		ret = qk_kme_fail(err, QK_KME_E_DROPPED, 0,
				  "KME %s closed the reused connection without an answer; "
				  "the key request was not sent again, as the KME may "
				  "have used keys up for it already", url);
	else if (rc != CURLE_OK)
		ret = map_curl(c, rc, url, timeout_ms, err);
	else if (status != 200)
		ret = qk_kme_parse_error_at(url, status, b->p, b->len, err);
	else
		ret = QK_KME_OK;
	/*
	 * A TLS 1.3 KME that rejects the client certificate may close before
	 * its alert is read (a reset): then only the timing tells.
	 */
	if (ret == QK_KME_E_DROPPED && dropped_new && err) {
		size_t m = strlen(err->message);

		snprintf(err->message + m, sizeof(err->message) - m,
			 " (on a new connection: a KME that rejects the client "
			 "certificate under TLS 1.3 can look like this too)");
	}
	/* Drop the pointers to the caller's buffers. */
	curl_easy_setopt(c->curl, CURLOPT_PREREQDATA, NULL);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	pthread_mutex_unlock(&c->lock);
	curl_slist_free_all(post_hdrs);
	if (ret != QK_KME_OK)
		body_free(b);
	return ret;
}

/*
 * Refuse a request whose answer could not fit QK_KME_MAX_RESPONSE: each
 * key takes its base64 text, a UUID and {"key_ID":"","key":""}, at least.
 * Sent, the KME would use the keys up for an answer the client must drop.
 */
static enum qk_kme_err check_answer_fits(size_t number, unsigned int size,
					 struct qk_kme_error *err)
{
	size_t per_key = 4 * ((size / 8 + 2) / 3) + QK_KME_UUID_LEN + 23;

	if (!size || number * per_key + 12 <= QK_KME_MAX_RESPONSE)
		return QK_KME_OK;
	return qk_kme_fail(err, QK_KME_E_INVAL, 0,
			   "%zu keys of %u bits make an answer of at least %zu bytes, "
			   "over the %u-byte limit: ask for fewer keys per request",
			   number, size, number * per_key + 12, QK_KME_MAX_RESPONSE);
}

/* "<base>/api/v1/keys/<escaped sae>/<op><query>" */
static char *make_url(struct qk_kme_client *c, const char *sae, const char *op,
		      const char *query, struct qk_kme_error *err)
{
	char *esc, *url = NULL;

	if (!sae || !*sae || strlen(sae) > QK_KME_ID_MAX) {
		qk_kme_fail(err, QK_KME_E_INVAL, 0,
			    "SAE ID must be 1 to %d bytes", QK_KME_ID_MAX);
		return NULL;
	}
	esc = curl_easy_escape(c->curl, sae, 0);
	if (!esc || asprintf(&url, "%s/api/v1/keys/%s/%s%s", c->base, esc, op,
			     query ? query : "") < 0) {
		url = NULL;
		qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
	}
	curl_free(esc);
	return url;
}

enum qk_kme_err qk_kme_status(struct qk_kme_client *c, const char *slave_sae_id,
			      long timeout_ms, struct qk_kme_status *out,
			      struct qk_kme_error *err)
{
	struct body b = { 0 };
	enum qk_kme_err rc;
	char *url;

	memset(out, 0, sizeof(*out));
	url = make_url(c, slave_sae_id, "status", NULL, err);
	if (!url)
		return err ? err->code : QK_KME_E_INVAL;
	rc = perform(c, url, NULL, timeout_ms, false, &b, err);
	if (rc == QK_KME_OK)
		rc = qk_kme_parse_status(b.p, b.len, out, err);
	body_free(&b);
	free(url);
	return rc;
}

/* Parse a caller-supplied JSON text that must be an array or object. */
static enum qk_kme_err user_json(const char *text, const char *name,
				 bool want_array, json_t **out,
				 struct qk_kme_error *err)
{
	*out = NULL;
	if (!text)
		return QK_KME_OK;
	*out = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!*out || (want_array ? !json_is_array(*out) : !json_is_object(*out))) {
		json_decref(*out);
		*out = NULL;
		return qk_kme_fail(err, QK_KME_E_INVAL, 0, "%s is not a JSON %s",
				   name, want_array ? "array" : "object");
	}
	return QK_KME_OK;
}

static char *dump_body(json_t *req, struct qk_kme_error *err)
{
	size_t n = json_dumpb(req, NULL, 0, JSON_COMPACT);
	char *s = n ? malloc(n + 1) : NULL;

	if (!s) {
		qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	json_dumpb(req, s, n, JSON_COMPACT);
	s[n] = '\0';
	return s;
}

static enum qk_kme_err enc_body(const struct qk_kme_enc_req *r, char **out,
				struct qk_kme_error *err)
{
	json_t *req, *ids, *mand = NULL, *opt = NULL;
	enum qk_kme_err rc;
	size_t i;

	*out = NULL;
	rc = user_json(r->extension_mandatory, "extension_mandatory", true, &mand, err);
	if (rc == QK_KME_OK)
		rc = user_json(r->extension_optional, "extension_optional", true,
			       &opt, err);
	if (rc != QK_KME_OK) {
		json_decref(mand);
		return rc;
	}
	req = json_object();
	ids = json_array();
	if (!req || !ids)
		goto nomem;
	if (r->number && json_object_set_new(req, "number", json_integer(r->number)))
		goto nomem;
	if (r->size && json_object_set_new(req, "size", json_integer(r->size)))
		goto nomem;
	for (i = 0; i < r->n_additional; i++) {
		const char *id = r->additional_slave_sae_ids[i];

		if (!id || !*id || strlen(id) > QK_KME_ID_MAX) {
			rc = qk_kme_fail(err, QK_KME_E_INVAL, 0,
					 "additional slave SAE ID %zu is empty or too long", i);
			goto fail;
		}
		if (json_array_append_new(ids, json_string(id)))
			goto nomem;
	}
	if (r->n_additional &&
	    json_object_set(req, "additional_slave_SAE_IDs", ids))
		goto nomem;
	if (mand && json_object_set(req, "extension_mandatory", mand))
		goto nomem;
	if (opt && json_object_set(req, "extension_optional", opt))
		goto nomem;
	*out = dump_body(req, err);
	rc = *out ? QK_KME_OK : QK_KME_E_NOMEM;
	goto fail;
nomem:
	rc = qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
fail:
	json_decref(mand);
	json_decref(opt);
	json_decref(ids);
	json_decref(req);
	return rc;
}

enum qk_kme_err qk_kme_enc_keys(struct qk_kme_client *c, const char *slave_sae_id,
				const struct qk_kme_enc_req *req,
				struct qk_kme_keys *out, struct qk_kme_error *err)
{
	static const struct qk_kme_enc_req dflt;
	struct qk_kme_expect exp = { 0 };
	char query[64] = "", *url, *post = NULL;
	struct body b = { 0 };
	enum qk_kme_err rc;

	memset(out, 0, sizeof(*out));
	if (!req)
		req = &dflt;
	if (req->size % 8)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "key size %u is not a multiple of 8 bits", req->size);
	if (req->number > QK_KME_MAX_KEYS)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "at most %d keys per request", QK_KME_MAX_KEYS);
	if (check_answer_fits(req->number ? req->number : 1, req->size, err))
		return QK_KME_E_INVAL;
	if (req->use_get && (req->n_additional || req->extension_mandatory ||
			     req->extension_optional))
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "additional slave SAEs and extensions need the POST form");
	if (req->use_get) {
		int n = 0;

		if (req->number)
			n = snprintf(query, sizeof(query), "?number=%u", req->number);
		if (req->size)
			snprintf(query + n, sizeof(query) - n, "%ssize=%u",
				 n ? "&" : "?", req->size);
	} else {
		rc = enc_body(req, &post, err);
		if (rc != QK_KME_OK)
			return rc;
	}
	url = make_url(c, slave_sae_id, "enc_keys", query, err);
	if (!url) {
		free(post);
		return err ? err->code : QK_KME_E_INVAL;
	}
	exp.number = req->number ? req->number : 1;
	exp.size = req->size;
	rc = perform(c, url, post, req->timeout_ms, true, &b, err);
	if (rc == QK_KME_OK)
		rc = qk_kme_parse_keys(b.p, b.len, &exp, out, err);
	body_free(&b);
	free(post);
	free(url);
	return rc;
}

static enum qk_kme_err dec_body(const struct qk_kme_dec_req *r, char **out,
				struct qk_kme_error *err)
{
	json_t *req, *ids, *ext = NULL;
	enum qk_kme_err rc;
	size_t i;

	*out = NULL;
	rc = user_json(r->key_ids_extension, "key_IDs_extension", false, &ext, err);
	if (rc != QK_KME_OK)
		return rc;
	req = json_object();
	ids = json_array();
	if (!req || !ids)
		goto nomem;
	for (i = 0; i < r->n_ids; i++)
		if (json_array_append_new(ids, json_pack("{ss}", "key_ID",
							 r->key_ids[i])))
			goto nomem;
	if (json_object_set(req, "key_IDs", ids) ||
	    (ext && json_object_set(req, "key_IDs_extension", ext)))
		goto nomem;
	*out = dump_body(req, err);
	rc = *out ? QK_KME_OK : QK_KME_E_NOMEM;
	goto done;
nomem:
	rc = qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
done:
	json_decref(ext);
	json_decref(ids);
	json_decref(req);
	return rc;
}

enum qk_kme_err qk_kme_dec_keys(struct qk_kme_client *c, const char *master_sae_id,
				const struct qk_kme_dec_req *req,
				struct qk_kme_keys *out, struct qk_kme_error *err)
{
	struct qk_kme_expect exp = { 0 };
	char query[64] = "", *url, *post = NULL;
	struct body b = { 0 };
	enum qk_kme_err rc;
	size_t i, j;

	memset(out, 0, sizeof(*out));
	if (!req || !req->key_ids || !req->n_ids || req->n_ids > QK_KME_MAX_KEYS)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "dec_keys needs 1 to %d key IDs", QK_KME_MAX_KEYS);
	if (req->size % 8)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "key size %u is not a multiple of 8 bits", req->size);
	if (check_answer_fits(req->n_ids, req->size, err))
		return QK_KME_E_INVAL;
	for (i = 0; i < req->n_ids; i++) {
		if (!qk_kme_is_uuid(req->key_ids[i])) {
			char shown[48];

			qk_kme_excerpt(shown, sizeof(shown), req->key_ids[i],
				       req->key_ids[i] ? strlen(req->key_ids[i]) : 0);
			return qk_kme_fail(err, QK_KME_E_INVAL, 0,
					   "key ID %zu (\"%s\") is not a UUID", i, shown);
		}
		for (j = 0; j < i; j++)
			if (!strcasecmp(req->key_ids[i], req->key_ids[j]))
				return qk_kme_fail(err, QK_KME_E_INVAL, 0,
						   "key ID %s asked for twice",
						   req->key_ids[i]);
	}
	if (req->use_get) {
		if (req->n_ids != 1 || req->key_ids_extension)
			return qk_kme_fail(err, QK_KME_E_INVAL, 0,
					   "the GET form of dec_keys takes exactly one key ID and no extension");
		snprintf(query, sizeof(query), "?key_ID=%s", req->key_ids[0]);
	} else {
		rc = dec_body(req, &post, err);
		if (rc != QK_KME_OK)
			return rc;
	}
	url = make_url(c, master_sae_id, "dec_keys", query, err);
	if (!url) {
		free(post);
		return err ? err->code : QK_KME_E_INVAL;
	}
	exp.size = req->size;
	exp.ids = req->key_ids;
	exp.n_ids = req->n_ids;
	rc = perform(c, url, post, req->timeout_ms, true, &b, err);
	if (rc == QK_KME_OK)
		rc = qk_kme_parse_keys(b.p, b.len, &exp, out, err);
	body_free(&b);
	free(post);
	free(url);
	return rc;
}
