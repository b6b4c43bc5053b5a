// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HTTPS side of one simulated KME: libmicrohttpd with GnuTLS, one
 * thread per connection (so injected latency stalls only that connection),
 * the SAE identified by its verified client certificate, and the three
 * ETSI GS QKD 014 endpoints:
 *
 *   GET      /api/v1/keys/{slave_SAE_ID}/status
 *   GET/POST /api/v1/keys/{slave_SAE_ID}/enc_keys
 *   GET/POST /api/v1/keys/{master_SAE_ID}/dec_keys
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sim.h"
#include "link.h"

#define MAX_BODY (64 * 1024)

struct req {
	char *body;
	size_t len;
	bool too_big;
};

/* --- answers --------------------------------------------------------------- */

struct wiped {
	char *p;
	size_t len;
};

static void wiped_free(void *cls)
{
	struct wiped *w = cls;

	OPENSSL_clear_free(w->p, w->len);
	free(w);
}

/* Queue @text (malloc'd, taken over, wiped after sending) as @type. */
static enum MHD_Result send_typed(struct MHD_Connection *c, unsigned int status,
				  const char *type, char *text, size_t len)
{
	struct MHD_Response *r;
	struct wiped *w = malloc(sizeof(*w));
	enum MHD_Result ret;

	if (!w) {
		OPENSSL_clear_free(text, len);
		return MHD_NO;
	}
	w->p = text;
	w->len = len;
	r = MHD_create_response_from_buffer_with_free_callback_cls(len, text,
								    wiped_free, w);
	if (!r) {
		wiped_free(w);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned int status,
				 char *text, size_t len)
{
	return send_typed(c, status, "application/json", text, len);
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned int status,
				 json_t *v)
{
	size_t n = v ? json_dumpb(v, NULL, 0, JSON_COMPACT) : 0;
	char *text = n ? malloc(n + 1) : NULL;

	if (!text) {
		json_decref(v);
		return MHD_NO;
	}
	json_dumpb(v, text, n, JSON_COMPACT);
	text[n] = '\0';
	json_decref(v);
	return send_text(c, status, text, n);
}

/* An ETSI "Error" answer: {"message": ..., "details": [{...}]}. */
static enum MHD_Result send_error(struct kme *k, struct MHD_Connection *c,
				  unsigned int status, const char *sae,
				  const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum MHD_Result send_error(struct kme *k, struct MHD_Connection *c,
				  unsigned int status, const char *sae,
				  const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Parts of the message come from the client: keep it ASCII. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	sim_log(k->sim, "kme-%c: %s: %u %s", k->name, sae ? sae : "-", status, msg);
	return send_json(c, status,
			 json_pack("{ss s[{ss sI}]}", "message", msg, "details",
				   "kme", k->id, "http_status", (json_int_t)status));
}

/* --- who is calling --------------------------------------------------------- */

/*
 * The SAE ID of the client: its certificate must verify against the CA
 * given to the simulator and be meant for TLS clients; its subject CN is
 * mapped to an SAE ID.  Returns NULL with @why filled when it does not.
 */
static char *client_sae(struct kme *k, struct MHD_Connection *c, char *why,
			size_t whylen)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t ses;
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (void *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t crt;
	unsigned int status = 0, n = 0;
	char cn[SIM_ID_MAX + 1];
	size_t cnlen = sizeof(cn);
	int rc;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session) {
		snprintf(why, whylen, "no TLS session");
		return NULL;
	}
	ses = ci->tls_session;
	chain = gnutls_certificate_get_peers(ses, &n);
	if (!chain || !n) {
		snprintf(why, whylen, "no client certificate was presented");
		return NULL;
	}
	rc = gnutls_certificate_verify_peers(ses, &purpose, 1, &status);
	if (rc < 0 || status) {
		gnutls_datum_t out = { 0 };

		if (rc >= 0 && gnutls_certificate_verification_status_print(
				       status, GNUTLS_CRT_X509, &out, 0) >= 0) {
			size_t l;

			snprintf(why, whylen, "client certificate rejected: %s",
				 (char *)out.data);
			gnutls_free(out.data);
			l = strlen(why);
			while (l && why[l - 1] == ' ')
				why[--l] = '\0';
		} else {
			snprintf(why, whylen, "client certificate rejected: %s",
				 gnutls_strerror(rc));
		}
		return NULL;
	}
	if (gnutls_x509_crt_init(&crt) < 0) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	rc = gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER);
	if (rc >= 0)
		rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
						   0, 0, cn, &cnlen);
	gnutls_x509_crt_deinit(crt);
	if (rc < 0) {
		snprintf(why, whylen, "client certificate has no usable CN: %s",
			 gnutls_strerror(rc));
		return NULL;
	}
	return sim_sae_for_cn(k->sim, cn, why, whylen);
}

char *sim_sae_for_cn(struct sim *s, const char *cn, char *why, size_t whylen)
{
	if (s->n_map) {
		for (size_t i = 0; i < s->n_map; i++)
			if (!strcmp(s->map[i].cn, cn))
				return strdup(s->map[i].sae);
		snprintf(why, whylen,
			 "client certificate CN \"%.100s\" maps to no SAE", cn);
		return NULL;
	}
	return strdup(cn);
}

/* --- faults ---------------------------------------------------------------- */

/* Take this request's share of the injected faults. */
static void take_faults(struct kme *k, bool key_request, enum fault_kind *kind,
			unsigned long *latency)
{
	int kd;

	fault_take(k, &k->fault, key_request, &kd, latency);
	*kind = kd;
}

/* --- key containers ----------------------------------------------------------- */

static json_t *key_container(struct out_key *keys, size_t n,
			     enum fault_kind fault, bool dec, json_t *ext)
{
	json_t *arr = json_array(), *root;
	size_t i, count = n;

	if (fault == FAULT_WRONG_COUNT)
		count = n > 1 ? n - 1 : n + 1;
	for (i = 0; arr && i < count; i++) {
		struct out_key *k = &keys[i < n ? i : 0];
		size_t len = k->len, b64len;
		char id[37], *b64;
		json_t *o;

		memcpy(id, k->id, sizeof(id));
		if (i >= n || (fault == FAULT_MISMATCH && dec))
			make_uuid(id);
		else if (fault == FAULT_MISMATCH && i > 0)
			memcpy(id, keys[0].id, sizeof(id));
		if (fault == FAULT_BAD_KEY_ID)
			snprintf(id, sizeof(id), "key-%zu", i);
		if (fault == FAULT_KEY_LENGTH)
			len--;
		b64len = 4 * ((len + 2) / 3);
		b64 = OPENSSL_malloc(b64len + 1);
		if (!b64) {
			json_decref(arr);
			return NULL;
		}
		EVP_EncodeBlock((unsigned char *)b64, k->bytes, (int)len);
		if (fault == FAULT_BAD_BASE64)
			memset(b64, '!', b64len > 4 ? 4 : b64len);
		o = json_pack("{ss ss}", "key_ID", id, "key", b64);
		OPENSSL_clear_free(b64, b64len + 1);
		if (json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	root = json_pack("{so}", "keys", arr);
	if (root && ext)
		json_object_set(root, "key_container_extension", ext);
	return root;
}

/* --- request parsing -------------------------------------------------------- */

/* A decimal count from a GET parameter; -1 if invalid. */
static long get_count(struct MHD_Connection *c, const char *name, long dflt)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	long n;

	if (!v)
		return dflt;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0)
		return -1;
	return n;
}

static long json_count(json_t *body, const char *name, long dflt)
{
	json_t *v = json_object_get(body, name);

	if (!v)
		return dflt;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > LONG_MAX)
		return -1;
	return (long)json_integer_value(v);
}

/* Supported extension: {"qktls_echo": X} comes back as
 * key_container_extension {"qktls_echo": X}. */
static int check_extensions(json_t *list, bool mandatory, json_t *echo,
			    char *why, size_t whylen)
{
	size_t i;
	json_t *o;

	if (!list)
		return 0;
	if (!json_is_array(list)) {
		snprintf(why, whylen, "extension_%s is not an array",
			 mandatory ? "mandatory" : "optional");
		return -1;
	}
	json_array_foreach(list, i, o) {
		const char *name;
		json_t *v;

		if (!json_is_object(o)) {
			snprintf(why, whylen, "extension_%s[%zu] is not an object",
				 mandatory ? "mandatory" : "optional", i);
			return -1;
		}
		json_object_foreach(o, name, v) {
			if (!strcmp(name, "qktls_echo")) {
				json_object_set(echo, name, v);
			} else if (mandatory) {
				snprintf(why, whylen,
					 "mandatory extension \"%.64s\" is not supported",
					 name);
				return -1;
			}
		}
	}
	return 0;
}

/* --- endpoints ---------------------------------------------------------------- */

static enum MHD_Result do_status(struct kme *k, struct MHD_Connection *c,
				 const char *sae, const char *slave)
{
	struct sim *s = k->sim;
	unsigned long stored;
	json_t *v;

	if (!kme_has_sae(k->peer, slave))
		return send_error(k, c, 400, sae,
				  "slave SAE %.64s is not attached to the peer KME %s",
				  slave, k->peer->id);
	pthread_mutex_lock(&s->lock);
	stored = link_stored(s);
	v = json_pack("{ss ss ss ss sI sI sI sI sI sI sI s{sI sI sf}}",
		      "source_KME_ID", k->id, "target_KME_ID", k->peer->id,
		      "master_SAE_ID", sae, "slave_SAE_ID", slave,
		      "key_size", (json_int_t)s->key_size,
		      "stored_key_count", (json_int_t)stored,
		      "max_key_count", (json_int_t)s->max_key_count,
		      "max_key_per_request", (json_int_t)s->max_key_per_request,
		      "max_key_size", (json_int_t)s->max_key_size,
		      "min_key_size", (json_int_t)s->min_key_size,
		      "max_SAE_ID_count", (json_int_t)s->max_sae_id_count,
		      "status_extension",
		      "qktls_keys_waiting", (json_int_t)s->n_reserved,
		      "qktls_keys_delivered", (json_int_t)s->keys_delivered,
		      "qktls_rate_bps", s->rate);
	pthread_mutex_unlock(&s->lock);
	sim_log(s, "kme-%c: %s: status %s -> 200 (%lu keys stored)", k->name,
		sae, slave, stored);
	return send_json(c, 200, v);
}

static enum MHD_Result do_enc(struct kme *k, struct MHD_Connection *c,
			      const char *sae, const char *slave, json_t *body,
			      enum fault_kind fault)
{
	struct sim *s = k->sim;
	char *slaves[SIM_MAX_SAES];
	size_t n_slaves = 0, i;
	long number, size;
	json_t *extra = NULL, *echo, *root;
	struct out_key *keys = NULL;
	char why[256];
	int rc;

	if (!kme_has_sae(k->peer, slave))
		return send_error(k, c, 400, sae,
				  "slave SAE %.64s is not attached to the peer KME %s",
				  slave, k->peer->id);
	if (body) {
		number = json_count(body, "number", 1);
		size = json_count(body, "size", (long)s->key_size);
		extra = json_object_get(body, "additional_slave_SAE_IDs");
	} else {
		number = get_count(c, "number", 1);
		size = get_count(c, "size", (long)s->key_size);
	}
	if (number < 1 || (unsigned long)number > s->max_key_per_request)
		return send_error(k, c, 400, sae,
				  "number must be 1 to %lu (max_key_per_request)",
				  s->max_key_per_request);
	if (size < (long)s->min_key_size || size > (long)s->max_key_size || size % 8)
		return send_error(k, c, 400, sae,
				  "size must be a multiple of 8 from %lu to %lu bits",
				  s->min_key_size, s->max_key_size);
	slaves[n_slaves++] = (char *)slave;
	if (extra) {
		json_t *id;

		if (!json_is_array(extra))
			return send_error(k, c, 400, sae,
					  "additional_slave_SAE_IDs is not an array");
		if (json_array_size(extra) > s->max_sae_id_count)
			return send_error(k, c, 400, sae,
					  "%zu additional slave SAEs asked for, max_SAE_ID_count is %lu",
					  json_array_size(extra), s->max_sae_id_count);
		json_array_foreach(extra, i, id) {
			const char *sid = json_string_value(id);

			if (!sid || !kme_has_sae(k->peer, sid))
				return send_error(k, c, 400, sae,
						  "additional slave SAE %.64s is not attached to the peer KME",
						  sid ? sid : "(not a string)");
			for (size_t j = 0; j < n_slaves; j++)
				if (!strcmp(slaves[j], sid))
					return send_error(k, c, 400, sae,
							  "slave SAE %.64s is named twice",
							  sid);
			slaves[n_slaves++] = (char *)sid;
		}
	}
	echo = json_object();
	if (!echo)
		return MHD_NO;
	if (body && (check_extensions(json_object_get(body, "extension_mandatory"),
				      true, echo, why, sizeof(why)) ||
		     check_extensions(json_object_get(body, "extension_optional"),
				      false, echo, why, sizeof(why)))) {
		json_decref(echo);
		return send_error(k, c, 400, sae, "%s", why);
	}

	pthread_mutex_lock(&s->lock);
	rc = link_enc(s, sae, slaves, n_slaves, (unsigned long)number,
		      (unsigned long)size, &keys, why, sizeof(why));
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		json_decref(echo);
		return send_error(k, c, rc, sae, "%s", why);
	}
	root = key_container(keys, (size_t)number, fault, false,
			     json_object_size(echo) ? echo : NULL);
	out_keys_free(keys, (size_t)number);
	json_decref(echo);
	if (!root)
		return MHD_NO;
	if (fault == FAULT_LOSE) {
		json_decref(root);
		sim_log(s, "kme-%c: %s: enc_keys %s -> %ld keys used up, answer lost (fault)",
			k->name, sae, slave, number);
		return MHD_NO;
	}
	sim_log(s, "kme-%c: %s: enc_keys %s -> 200 (%ld keys of %ld bits%s%s)",
		k->name, sae, slave, number, size, fault ? ", fault " : "",
		fault ? fault_name(fault) : "");
	return send_json(c, 200, root);
}

static enum MHD_Result do_dec(struct kme *k, struct MHD_Connection *c,
			      const char *sae, const char *master, json_t *body,
			      enum fault_kind fault)
{
	struct sim *s = k->sim;
	const char **ids = NULL;
	struct out_key *keys = NULL;
	size_t n = 0, i, j;
	enum MHD_Result ret;
	char why[256];
	json_t *root;
	int rc;

	if (!kme_has_sae(k->peer, master))
		return send_error(k, c, 400, sae,
				  "master SAE %.64s is not attached to the peer KME %s",
				  master, k->peer->id);
	if (body) {
		json_t *list = json_object_get(body, "key_IDs"), *o;

		if (!json_is_array(list) || !json_array_size(list))
			return send_error(k, c, 400, sae,
					  "key_IDs must be a non-empty array");
		n = json_array_size(list);
		if (n > s->max_key_per_request)
			return send_error(k, c, 400, sae,
					  "%zu key IDs asked for, max_key_per_request is %lu",
					  n, s->max_key_per_request);
		ids = calloc(n, sizeof(*ids));
		if (!ids)
			return MHD_NO;
		json_array_foreach(list, i, o) {
			ids[i] = json_string_value(json_object_get(o, "key_ID"));
			if (!ids[i]) {
				free(ids);
				return send_error(k, c, 400, sae,
						  "key_IDs[%zu] has no key_ID string", i);
			}
		}
	} else {
		const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
							     "key_ID");

		if (!id)
			return send_error(k, c, 400, sae, "key_ID parameter missing");
		ids = calloc(1, sizeof(*ids));
		if (!ids)
			return MHD_NO;
		ids[0] = id;
		n = 1;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (!strcasecmp(ids[i], ids[j])) {
				ret = send_error(k, c, 400, sae,
						 "key ID %.36s asked for twice",
						 ids[i]);
				free(ids);
				return ret;
			}

	pthread_mutex_lock(&s->lock);
	rc = link_dec(s, sae, master, ids, n, &keys, why, sizeof(why));
	pthread_mutex_unlock(&s->lock);
	free(ids);
	if (rc)
		return send_error(k, c, rc, sae, "%s", why);
	root = key_container(keys, n, fault, true, NULL);
	out_keys_free(keys, n);
	if (!root)
		return MHD_NO;
	if (fault == FAULT_LOSE) {
		json_decref(root);
		sim_log(s, "kme-%c: %s: dec_keys %s -> %zu keys delivered, answer lost (fault)",
			k->name, sae, master, n);
		return MHD_NO;
	}
	sim_log(s, "kme-%c: %s: dec_keys %s -> 200 (%zu keys%s%s)", k->name, sae,
		master, n, fault ? ", fault " : "", fault ? fault_name(fault) : "");
	ret = send_json(c, 200, root);
	return ret;
}

/* --- dispatch ---------------------------------------------------------------- */

static enum MHD_Result handle(struct kme *k, struct MHD_Connection *c,
			      const char *url, const char *method, struct req *rq)
{
	static const char prefix[] = "/api/v1/keys/";
	enum fault_kind fault;
	unsigned long latency;
	char why[300], *sae, *id = NULL;
	const char *op;
	json_t *body = NULL;
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	enum MHD_Result ret;

	sae = client_sae(k, c, why, sizeof(why));
	if (!sae)
		return send_error(k, c, 401, NULL, "%s", why);
	if (!kme_has_sae(k, sae)) {
		ret = send_error(k, c, 401, sae,
				 "SAE %.64s is not attached to KME %s", sae, k->id);
		free(sae);
		return ret;
	}
	op = strrchr(url, '/');
	if (strncmp(url, prefix, sizeof(prefix) - 1) || !op ||
	    op < url + sizeof(prefix) || (strcmp(op, "/status") &&
					  strcmp(op, "/enc_keys") &&
					  strcmp(op, "/dec_keys"))) {
		ret = send_error(k, c, 404, sae, "no such endpoint: %.100s", url);
		goto out;
	}
	id = strndup(url + sizeof(prefix) - 1, op - url - (sizeof(prefix) - 1));
	if (!id || strchr(id, '/')) {
		ret = send_error(k, c, 404, sae, "no such endpoint: %.100s", url);
		goto out;
	}
	if (!get && !(post && strcmp(op, "/status"))) {
		ret = send_error(k, c, 405, sae, "%s is not allowed on %s", method, op);
		goto out;
	}

	take_faults(k, strcmp(op, "/status") != 0, &fault, &latency);
	if (latency) {
		struct timespec ts = { latency / 1000, (latency % 1000) * 1000000L };

		/* Only this connection's thread waits. */
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	if (fault == FAULT_DROP) {
		sim_log(k->sim, "kme-%c: %s: %s %s -> dropped (fault)", k->name,
			sae, method, url);
		ret = MHD_NO;
		goto out;
	}
	if (fault == FAULT_503) {
		ret = send_error(k, c, 503, sae, "fault injected: KME unavailable");
		goto out;
	}
	if (fault == FAULT_HTML) {
		static const char page[] =
			"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error"
			"</title></head>\n<body><h1>Internal Server Error</h1>\n"
			"<p>The server encountered an internal error.</p></body></html>\n";
		char *text = strdup(page);

		sim_log(k->sim, "kme-%c: %s: %s %s -> 500 HTML (fault)", k->name,
			sae, method, url);
		ret = text ? send_typed(c, 500, "text/html", text, sizeof(page) - 1)
			   : MHD_NO;
		goto out;
	}
	if (fault == FAULT_PROBLEM) {
		static const char problem[] =
			"{\"type\":\"about:blank\",\"title\":\"Unauthorized\","
			"\"status\":401,\"detail\":\"fault injected: not an ETSI error\"}";
		char *text = strdup(problem);

		sim_log(k->sim, "kme-%c: %s: %s %s -> 401 problem+json (fault)",
			k->name, sae, method, url);
		ret = text ? send_typed(c, 401, "application/problem+json", text,
					sizeof(problem) - 1) : MHD_NO;
		goto out;
	}
	if (fault == FAULT_EMPTY) {
		char *text = strdup("");

		sim_log(k->sim, "kme-%c: %s: %s %s -> 200 empty (fault)", k->name,
			sae, method, url);
		ret = text ? send_text(c, 200, text, 0) : MHD_NO;
		goto out;
	}
	if (fault == FAULT_MALFORMED) {
		static const char junk[] = "{\"keys\": [{\"key_ID\": \"";
		char *text = strdup(junk);

		sim_log(k->sim, "kme-%c: %s: %s %s -> malformed JSON (fault)",
			k->name, sae, method, url);
		ret = text ? send_text(c, 200, text, sizeof(junk) - 1) : MHD_NO;
		goto out;
	}

	if (post) {
		json_error_t jerr;

		if (rq->too_big) {
			ret = send_error(k, c, 400, sae, "request body larger than %d bytes",
					 MAX_BODY);
			goto out;
		}
		body = json_loadb(rq->body ? rq->body : "", rq->len,
				  JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(body)) {
			ret = send_error(k, c, 400, sae,
					 "request body is not a JSON object: %s",
					 body ? "wrong type" : jerr.text);
			goto out;
		}
	}
	if (!strcmp(op, "/status"))
		ret = do_status(k, c, sae, id);
	else if (!strcmp(op, "/enc_keys"))
		ret = do_enc(k, c, sae, id, body, fault);
	else
		ret = do_dec(k, c, sae, id, body, fault);
out:
	json_decref(body);
	free(id);
	free(sae);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct req *rq = *req_cls;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*req_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		if (rq->too_big || rq->len + n > MAX_BODY) {
			rq->too_big = true;
		} else {
			char *p = realloc(rq->body, rq->len + n + 1);

			if (!p)
				return MHD_NO;
			rq->body = p;
			memcpy(rq->body + rq->len, upload, n);
			rq->len += n;
			rq->body[rq->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return handle(cls, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *req_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
		*req_cls = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct kme *k = cls;
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	/* Always shown: these explain start-up and TLS failures. */
	fprintf(stderr, "qktls-kme-sim: kme-%c: microhttpd: %s\n", k->name, buf);
}

/* ADDR:PORT or [ADDR6]:PORT, numeric. */
int sim_parse_listen(const char *spec, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char *end;
	long port;
	size_t hl;

	if (!colon)
		return -1;
	hl = colon - spec;
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1;
}

int http_start(struct kme *k)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	socklen_t sl;
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
			     MHD_USE_ERROR_LOG;

	if (sim_parse_listen(k->listen, &ss, &sl)) {
		fprintf(stderr, "qktls-kme-sim: KME %c: bad listen address \"%s\" "
			"(want ADDR:PORT or [ADDR6]:PORT)\n", k->name, k->listen);
		return -1;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	k->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, k,
				     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, k,
				     MHD_OPTION_SOCK_ADDR_LEN, sl, (struct sockaddr *)&ss,
				     MHD_OPTION_HTTPS_MEM_KEY, k->key_pem,
				     MHD_OPTION_HTTPS_MEM_CERT, k->cert_pem,
				     MHD_OPTION_HTTPS_MEM_TRUST, k->sim->ca_pem,
				     MHD_OPTION_HTTPS_PRIORITIES,
				     "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				     MHD_OPTION_CONNECTION_TIMEOUT, 60u,
				     MHD_OPTION_END);
	if (!k->daemon) {
		fprintf(stderr, "qktls-kme-sim: KME %c: cannot serve HTTPS on %s "
			"(address in use, bad certificate or key?)\n", k->name,
			k->listen);
		return -1;
	}
	info = MHD_get_daemon_info(k->daemon, MHD_DAEMON_INFO_BIND_PORT);
	k->port = info ? info->port : 0;
	return 0;
}

void http_stop(struct kme *k)
{
	if (k->daemon)
		MHD_stop_daemon(k->daemon);
	k->daemon = NULL;
}
