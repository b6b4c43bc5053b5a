// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ETSI GS QKD 014 response parsing and validation: key containers, status
 * and error answers.  Network-free, so the fuzzer links exactly this.
 *
 * Key bytes pass through jansson (as base64 strings) on their way here, so
 * the library installs a jansson allocator that wipes every block it frees
 * (before main(), while jansson holds no allocation yet).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "kme-internal.h"

/* Base64 keys pass through jansson: wipe every block it frees. */
__attribute__((constructor)) static void qk_kme_install_json_alloc(void)
{
	qk_json_use_wiping_alloc();
}

/* --- errors -------------------------------------------------------------------- */

static const char *const err_names[QK_KME_E_MAX_] = {
	[QK_KME_OK]		  = "success",
	[QK_KME_E_INVAL]	  = "invalid argument",
	[QK_KME_E_NOMEM]	  = "out of memory",
	[QK_KME_E_BAD_REQUEST]	  = "KME: bad request (400)",
	[QK_KME_E_UNAUTHORIZED]	  = "KME: unauthorized (401)",
	[QK_KME_E_UNAVAILABLE]	  = "KME: unavailable (503)",
	[QK_KME_E_HTTP]		  = "KME: unexpected HTTP status",
	[QK_KME_E_RESOLVE]	  = "KME host name does not resolve",
	[QK_KME_E_CONNECT]	  = "cannot connect to KME",
	[QK_KME_E_TIMEOUT]	  = "KME timed out",
	[QK_KME_E_TLS]		  = "TLS handshake with KME failed",
	[QK_KME_E_TLS_VERIFY]	  = "KME certificate verification failed",
	[QK_KME_E_TLS_CONFIG]	  = "local certificate, key or CA unusable",
	[QK_KME_E_DROPPED]	  = "KME dropped the connection",
	[QK_KME_E_TRANSPORT]	  = "transport failure",
	[QK_KME_E_TOO_LARGE]	  = "KME response too large",
	[QK_KME_E_MALFORMED]	  = "malformed KME response",
	[QK_KME_E_KEY_ENCODING]	  = "key is not valid base64",
	[QK_KME_E_KEY_LENGTH]	  = "wrong key length",
	[QK_KME_E_BAD_KEY_ID]	  = "bad key ID",
	[QK_KME_E_KEY_COUNT]	  = "wrong number of keys",
	[QK_KME_E_KEY_ID_MISMATCH] = "key IDs do not match the request",
	[QK_KME_E_UNSUPPORTED]	  = "operation not supported by this key source",
	[QK_KME_E_PEER_NOT_CONNECTED] = "KME: peer application not connected",
	[QK_KME_E_NO_KEY]	  = "KME: insufficient key available",
	[QK_KME_E_NO_CONNECTION]  = "KME: no QKD connection available",
	[QK_KME_E_KSID_IN_USE]	  = "KME: key stream ID already in use",
	[QK_KME_E_QOS]		  = "KME: QoS cannot be met",
	[QK_KME_E_METADATA_SIZE]  = "KME: metadata larger than the buffer",
	[QK_KME_E_STATUS]	  = "KME: unknown ETSI 004 status",
};

const char *qk_kme_strerror(enum qk_kme_err code)
{
	if ((unsigned int)code < QK_KME_E_MAX_ && err_names[code])
		return err_names[code];
	return "unknown error";
}

enum qk_kme_err qk_kme_fail(struct qk_kme_error *err, enum qk_kme_err code,
			    long http_status, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->http_status = http_status;
	err->details[0] = '\0';
	err->answer[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

/* --- helpers ---------------------------------------------------------------- */

bool qk_kme_is_uuid(const char *s)
{
	static const unsigned char dash[] = { 8, 13, 18, 23 };
	size_t i, d = 0;

	if (!s || strlen(s) != QK_KME_UUID_LEN)
		return false;
	for (i = 0; i < QK_KME_UUID_LEN; i++) {
		if (d < sizeof(dash) && i == dash[d]) {
			if (s[i] != '-')
				return false;
			d++;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* Copy @s into @dst for messages: printable ASCII only, truncated. */
static void sanitize(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < size; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (size)
		dst[i] = '\0';
}

void qk_kme_excerpt(char *dst, size_t size, const char *s, size_t len)
{
	size_t i, o = 0;
	bool gap = false;

	if (!size)
		return;
	for (i = 0; s && i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == ' ' || (ch >= '\t' && ch <= '\r')) {
			gap = o > 0;
			continue;
		}
		if (o + 1 + gap >= size)
			break;
		if (gap)
			dst[o++] = ' ';
		gap = false;
		dst[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (i < len && size > 4) {
		if (o > size - 4)
			o = size - 4;
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* Compact JSON text of @v in plain malloc memory (not jansson's). */
static char *dump_text(json_t *v)
{
	size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	char *text = n ? malloc(n + 1) : NULL;

	if (text) {
		json_dumpb(v, text, n, JSON_COMPACT | JSON_ENCODE_ANY);
		text[n] = '\0';
	}
	return text;
}

/* Replace the value of every "key" member, at any depth, by a marker. */
static void redact_tree(json_t *v)
{
	const char *name;
	json_t *m;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, name, m) {
			if (!strcmp(name, "key") && !json_is_null(m))
				json_object_set_new(v, name, json_string("<redacted>"));
			else
				redact_tree(m);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			redact_tree(m);
	}
}

/*
 * Text that is not JSON (a truncated container, say): blank the string
 * after every literal "key": in place (the text only shrinks).
 */
static size_t redact_text(char *p, size_t len)
{
	size_t i = 0, o = 0, j, start;

	while (i < len) {
		if (len - i >= 5 && !memcmp(p + i, "\"key\"", 5)) {
			for (j = i + 5; j < len && isspace((unsigned char)p[j]); j++)
				;
			if (j < len && p[j] == ':') {
				for (j++; j < len && isspace((unsigned char)p[j]); j++)
					;
				if (j < len && p[j] == '"') {
					start = ++j;
					while (j < len && p[j] != '"')
						j += (p[j] == '\\' && j + 1 < len) ? 2 : 1;
					memmove(p + o, p + i, start - i);
					o += start - i;
					if (j - start >= 10) {
						memcpy(p + o, "<redacted>", 10);
						o += 10;
					} else {
						memset(p + o, '*', j - start);
						o += j - start;
					}
					i = j;
					continue;
				}
			}
		}
		p[o++] = p[i++];
	}
	return o;
}

void qk_kme_redacted(char *dst, size_t size, const char *body, size_t len)
{
	json_t *root;
	char *copy;

	if (!size)
		return;
	dst[0] = '\0';
	if (!body || !len)
		return;
	root = json_loadb(body, len, JSON_DECODE_ANY, NULL);
	if (root) {
		char *text;

		redact_tree(root);
		text = dump_text(root);
		json_decref(root);
		if (text) {
			qk_kme_excerpt(dst, size, text, strlen(text));
			free(text);
			return;
		}
	}
	copy = OPENSSL_malloc(len);
	if (!copy) {
		qk_kme_excerpt(dst, size, "(answer not shown: out of memory)", 33);
		return;
	}
	memcpy(copy, body, len);
	qk_kme_excerpt(dst, size, copy, redact_text(copy, len));
	OPENSSL_clear_free(copy, len);
}

/* Keep the rejected answer @body in @err, redacted. */
static void keep_answer(struct qk_kme_error *err, const char *body, size_t len)
{
	if (err)
		qk_kme_redacted(err->answer, sizeof(err->answer), body, len);
}

/* "a string (\"256\")", "an integer (0)", "missing": for messages. */
static void describe(char *dst, size_t size, json_t *v, bool show_value)
{
	static const char *const kinds[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
		[JSON_STRING] = "a string", [JSON_INTEGER] = "an integer",
		[JSON_REAL] = "a number with a fraction", [JSON_TRUE] = "true",
		[JSON_FALSE] = "false", [JSON_NULL] = "null",
	};
	char shown[64];
	char *text;

	if (!v) {
		snprintf(dst, size, "missing");
		return;
	}
	text = show_value && (json_is_string(v) || json_is_number(v)) ?
	       dump_text(v) : NULL;
	if (text) {
		qk_kme_excerpt(shown, sizeof(shown), text, strlen(text));
		free(text);
		snprintf(dst, size, "%s: %s", kinds[json_typeof(v)], shown);
	} else {
		snprintf(dst, size, "%s", kinds[json_typeof(v)]);
	}
}

/* Compact JSON text of @v in plain malloc memory (NULL if @v is NULL). */
static enum qk_kme_err dump_json(json_t *v, char **out, struct qk_kme_error *err)
{
	size_t n;

	*out = NULL;
	if (!v)
		return QK_KME_OK;
	n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	*out = malloc(n + 1);
	if (!*out)
		return qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
	json_dumpb(v, *out, n, JSON_COMPACT | JSON_ENCODE_ANY);
	(*out)[n] = '\0';
	return QK_KME_OK;
}

static json_t *load(const char *body, size_t len, const char *what,
		    struct qk_kme_error *err)
{
	json_error_t jerr;
	json_t *root;
	size_t i;

	for (i = 0; body && i < len && isspace((unsigned char)body[i]); i++)
		;
	if (!body || i == len) {
		qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
			    "the KME answered 200 with an empty body where a %s was expected",
			    what);
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		char text[JSON_ERROR_TEXT_LENGTH];

		sanitize(text, sizeof(text), jerr.text);
		qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
			    "%s is not valid JSON: %s (line %d, column %d)",
			    what, text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
			    "%s is not a JSON object", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* --- error answers -------------------------------------------------------------- */

enum qk_kme_err qk_kme_parse_error_at(const char *url, long http_status,
				      const char *body, size_t len,
				      struct qk_kme_error *err)
{
	enum qk_kme_err code;
	json_t *root = NULL, *msg, *details;
	char text[400], who[300];

	switch (http_status) {
	case 400:
		code = QK_KME_E_BAD_REQUEST;
		break;
	case 401:
		code = QK_KME_E_UNAUTHORIZED;
		break;
	case 503:
		code = QK_KME_E_UNAVAILABLE;
		break;
	default:
		code = QK_KME_E_HTTP;
		break;
	}
	if (url) {
		memcpy(who, "KME ", 4);
		sanitize(who + 4, sizeof(who) - 4, url);
	} else {
		snprintf(who, sizeof(who), "the KME");
	}
	if (body && len)
		root = json_loadb(body, len, 0, NULL);
	msg = json_is_object(root) ? json_object_get(root, "message") : NULL;
	if (json_is_string(msg)) {
		sanitize(text, sizeof(text), json_string_value(msg));
		/* 400, 401 and 503 are named by the code; the rest by number. */
		if (code == QK_KME_E_HTTP)
			qk_kme_fail(err, code, http_status, "%s answered HTTP %ld: %s",
				    who, http_status, text);
		else
			qk_kme_fail(err, code, http_status, "%s", text);
	} else if (!body || !len) {
		qk_kme_fail(err, code, http_status,
			    "%s answered HTTP %ld with an empty body", who,
			    http_status);
	} else {
		/* Not the ETSI format (an HTML page, an RFC 7807 problem): show it. */
		qk_kme_excerpt(text, 240, body, len);
		qk_kme_fail(err, code, http_status,
			    "%s answered HTTP %ld, not with an ETSI error message: %s",
			    who, http_status, text);
	}
	details = json_is_object(root) ? json_object_get(root, "details") : NULL;
	if (err && details) {
		size_t n = json_dumpb(details, err->details,
				      sizeof(err->details) - 1,
				      JSON_COMPACT | JSON_ENCODE_ANY);

		if (n >= sizeof(err->details))
			n = 0;	/* too long to keep whole: drop it */
		err->details[n] = '\0';
		/* Details are KME text: keep them printable. */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)err->details[i] < 0x20)
				err->details[i] = '?';
	}
	json_decref(root);
	keep_answer(err, body, len);
	return code;
}

enum qk_kme_err qk_kme_parse_error(long http_status, const char *body,
				   size_t len, struct qk_kme_error *err)
{
	return qk_kme_parse_error_at(NULL, http_status, body, len, err);
}

/* --- status ------------------------------------------------------------------------ */

static enum qk_kme_err get_id(json_t *root, const char *name, char *dst,
			      struct qk_kme_error *err)
{
	json_t *v = json_object_get(root, name);
	const char *s;
	char what[96];

	if (!json_is_string(v)) {
		describe(what, sizeof(what), v, true);
		return qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
				   "status: \"%s\" must be a string, but is %s",
				   name, what);
	}
	s = json_string_value(v);
	if (json_string_length(v) > QK_KME_ID_MAX || strlen(s) != json_string_length(v))
		return qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
				   "status: \"%s\" is longer than %d bytes or holds NUL",
				   name, QK_KME_ID_MAX);
	memcpy(dst, s, json_string_length(v) + 1);
	return QK_KME_OK;
}

static enum qk_kme_err get_count(json_t *root, const char *name,
				 unsigned long *dst, struct qk_kme_error *err)
{
	json_t *v = json_object_get(root, name);
	char what[96];

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		describe(what, sizeof(what), v, true);
		return qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
				   "status: \"%s\" must be a non-negative integer, but is %s",
				   name, what);
	}
	*dst = (unsigned long)json_integer_value(v);
	return QK_KME_OK;
}

enum qk_kme_err qk_kme_parse_status(const char *body, size_t len,
				    struct qk_kme_status *out,
				    struct qk_kme_error *err)
{
	const struct { const char *name; size_t off; } ids[] = {
		{ "source_KME_ID", offsetof(struct qk_kme_status, source_kme_id) },
		{ "target_KME_ID", offsetof(struct qk_kme_status, target_kme_id) },
		{ "master_SAE_ID", offsetof(struct qk_kme_status, master_sae_id) },
		{ "slave_SAE_ID", offsetof(struct qk_kme_status, slave_sae_id) },
	};
	const struct { const char *name; size_t off; } counts[] = {
		{ "key_size", offsetof(struct qk_kme_status, key_size) },
		{ "stored_key_count", offsetof(struct qk_kme_status, stored_key_count) },
		{ "max_key_count", offsetof(struct qk_kme_status, max_key_count) },
		{ "max_key_per_request", offsetof(struct qk_kme_status, max_key_per_request) },
		{ "max_key_size", offsetof(struct qk_kme_status, max_key_size) },
		{ "min_key_size", offsetof(struct qk_kme_status, min_key_size) },
		{ "max_SAE_ID_count", offsetof(struct qk_kme_status, max_sae_id_count) },
	};
	enum qk_kme_err rc = QK_KME_OK;
	json_t *root, *ext;
	size_t i;

	memset(out, 0, sizeof(*out));
	root = load(body, len, "status response", err);
	if (!root) {
		keep_answer(err, body, len);
		return QK_KME_E_MALFORMED;
	}
	for (i = 0; rc == QK_KME_OK && i < sizeof(ids) / sizeof(ids[0]); i++)
		rc = get_id(root, ids[i].name, (char *)out + ids[i].off, err);
	for (i = 0; rc == QK_KME_OK && i < sizeof(counts) / sizeof(counts[0]); i++)
		rc = get_count(root, counts[i].name,
			       (unsigned long *)((char *)out + counts[i].off), err);
	ext = json_object_get(root, "status_extension");
	if (rc == QK_KME_OK && ext && !json_is_object(ext))
		rc = qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
				 "status: \"status_extension\" is not an object");
	if (rc == QK_KME_OK)
		rc = dump_json(ext, &out->status_extension, err);
	json_decref(root);
	if (rc != QK_KME_OK) {
		qk_kme_status_free(out);
		if (rc != QK_KME_E_NOMEM)
			keep_answer(err, body, len);
	}
	return rc;
}

void qk_kme_status_free(struct qk_kme_status *st)
{
	if (!st)
		return;
	free(st->status_extension);
	memset(st, 0, sizeof(*st));
}

/* --- key containers -------------------------------------------------------------- */

void qk_kme_keys_free(struct qk_kme_keys *k)
{
	size_t i;

	if (!k)
		return;
	if (k->material)
		OPENSSL_clear_free(k->material, k->material_len);
	for (i = 0; k->keys && i < k->count; i++) {
		free(k->keys[i].id_extension);
		free(k->keys[i].key_extension);
	}
	free(k->keys);
	free(k->container_extension);
	memset(k, 0, sizeof(*k));
}

/*
 * Decode strict base64 into @dst; -1 if invalid: padded, no whitespace, no
 * padding but at the end, and canonical (the unused bits of the last
 * character zero: the bytes encode back to exactly @s), so one key has one
 * encoding only.  OpenSSL's decoder, then its encoder to compare.
 */
static long b64_decode(const char *s, size_t slen, unsigned char *dst)
{
	EVP_ENCODE_CTX *ctx;
	int n1 = 0, n2 = 0;
	long ret = -1;
	char *back;

	if (slen == 0 || slen % 4 || slen > INT32_MAX ||
	    strcspn(s, " \t\r\n\v\f") != slen)
		return -1;
	ctx = EVP_ENCODE_CTX_new();
	if (!ctx)
		return -2;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, dst, &n1, (const unsigned char *)s, (int)slen) >= 0 &&
	    EVP_DecodeFinal(ctx, dst + n1, &n2) == 1)
		ret = (long)n1 + n2;
	EVP_ENCODE_CTX_free(ctx);
	if (ret < 0)
		return ret;
	back = malloc(slen + 1);
	if (!back)
		return -2;
	if (EVP_EncodeBlock((unsigned char *)back, dst, (int)ret) != (int)slen ||
	    memcmp(back, s, slen))
		ret = -1;
	OPENSSL_clear_free(back, slen + 1);	/* the key, encoded */
	return ret;
}

static enum qk_kme_err get_ext(json_t *obj, const char *name, char **dst,
			       size_t idx, struct qk_kme_error *err)
{
	json_t *v = json_object_get(obj, name);

	if (v && !json_is_object(v) && !json_is_null(v))
		return qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
				   "key %zu: \"%s\" is not an object", idx, name);
	return dump_json(json_is_null(v) ? NULL : v, dst, err);
}

/*
 * A key container was refused, but the KME has counted its keys as used:
 * list the key IDs it named in @err->details so an operator can reconcile.
 */
static void note_key_ids(json_t *arr, struct qk_kme_error *err)
{
	json_t *list, *o, *k;
	size_t i, n = 0, kept = 0, m;

	if (!err || !json_is_array(arr))
		return;
	list = json_array();
	o = json_pack("{so}", "rejected_key_IDs", list);
	if (!o)
		return;
	json_array_foreach(arr, i, k) {
		json_t *id = json_is_object(k) ? json_object_get(k, "key_ID") : NULL;
		char shown[64];

		if (!json_is_string(id))
			continue;
		n++;
		if (kept < n - 1)
			continue;	/* full already */
		qk_kme_excerpt(shown, sizeof(shown), json_string_value(id),
			       json_string_length(id));
		json_array_append_new(list, json_string(shown));
		/* Room for ,"more_key_IDs":NNNN} as well. */
		if (json_dumpb(o, NULL, 0, JSON_COMPACT) + 24 >= sizeof(err->details))
			json_array_remove(list, json_array_size(list) - 1);
		else
			kept++;
	}
	if (n > kept)
		json_object_set_new(o, "more_key_IDs", json_integer((json_int_t)(n - kept)));
	if (n && json_dumpb(o, NULL, 0, JSON_COMPACT) < sizeof(err->details)) {
		size_t len = json_dumpb(o, err->details, sizeof(err->details) - 1,
					JSON_COMPACT);

		err->details[len] = '\0';
		m = strlen(err->message);
		snprintf(err->message + m, sizeof(err->message) - m,
			 "; the KME may count the %zu key%s it named as used (IDs in details)",
			 n, n == 1 ? "" : "s");
	}
	json_decref(o);
}

enum qk_kme_err qk_kme_parse_keys(const char *body, size_t len,
				  const struct qk_kme_expect *exp,
				  struct qk_kme_keys *out, struct qk_kme_error *err)
{
	static const struct qk_kme_expect none;
	enum qk_kme_err rc = QK_KME_OK;
	json_t *root, *arr = NULL, *ext;
	size_t i, j, n, total = 0, off = 0, keylen = 0;
	bool *placed = NULL;

	memset(out, 0, sizeof(*out));
	if (!exp)
		exp = &none;
	if (exp->size % 8)
		return qk_kme_fail(err, QK_KME_E_INVAL, 0,
				   "key size %u is not a multiple of 8 bits",
				   exp->size);
	root = load(body, len, "key container", err);
	if (!root) {
		keep_answer(err, body, len);
		return QK_KME_E_MALFORMED;
	}
	arr = json_object_get(root, "keys");
	if (!json_is_array(arr)) {
		rc = qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
				 "key container has no \"keys\" array");
		goto out;
	}
	n = json_array_size(arr);
	if (n == 0 || n > QK_KME_MAX_KEYS) {
		rc = qk_kme_fail(err, QK_KME_E_KEY_COUNT, 200,
				 "KME returned %zu keys (expected 1 to %d)",
				 n, QK_KME_MAX_KEYS);
		goto out;
	}
	if ((exp->number && n != exp->number) || (exp->ids && n != exp->n_ids)) {
		rc = qk_kme_fail(err, QK_KME_E_KEY_COUNT, 200,
				 "asked for %zu keys, KME returned %zu",
				 exp->ids ? exp->n_ids : (size_t)exp->number, n);
		goto out;
	}

	/* First pass: shape, IDs, and room for the decoded bytes. */
	for (i = 0; i < n; i++) {
		json_t *k = json_array_get(arr, i);
		json_t *id = json_object_get(k, "key_ID");
		json_t *key = json_object_get(k, "key");
		char shown[48], what[96];

		if (!json_is_object(k)) {
			describe(what, sizeof(what), k, false);
			rc = qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
					 "key %zu is %s, not an object", i, what);
			goto out;
		}
		if (!json_is_string(id) || !json_is_string(key)) {
			/* Never the value of "key": it may be key material. */
			describe(what, sizeof(what), json_is_string(id) ? key : id,
				 !json_is_string(id));
			rc = qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
					 "key %zu lacks a \"%s\" string (%s)", i,
					 json_is_string(id) ? "key" : "key_ID", what);
			goto out;
		}
		if (json_string_length(id) != QK_KME_UUID_LEN ||
		    !qk_kme_is_uuid(json_string_value(id))) {
			sanitize(shown, sizeof(shown), json_string_value(id));
			rc = qk_kme_fail(err, QK_KME_E_BAD_KEY_ID, 200,
					 "key %zu: key_ID \"%s\" is not a UUID", i, shown);
			goto out;
		}
		for (j = 0; j < i; j++) {
			json_t *o = json_object_get(json_array_get(arr, j), "key_ID");

			if (!strcasecmp(json_string_value(o), json_string_value(id))) {
				rc = qk_kme_fail(err, QK_KME_E_BAD_KEY_ID, 200,
						 "key ID %s appears twice in the container",
						 json_string_value(id));
				goto out;
			}
		}
		total += json_string_length(key) / 4 * 3;
	}

	out->keys = calloc(n, sizeof(*out->keys));
	out->material = OPENSSL_zalloc(total ? total : 1);
	placed = calloc(n, sizeof(*placed));
	if (!out->keys || !out->material || !placed) {
		rc = qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
		goto out;
	}
	out->material_len = total ? total : 1;
	out->count = n;

	/* Second pass: decode, check lengths, put each key in its place. */
	for (i = 0; i < n; i++) {
		json_t *k = json_array_get(arr, i);
		const char *id = json_string_value(json_object_get(k, "key_ID"));
		json_t *key = json_object_get(k, "key");
		struct qk_kme_key *dst;
		size_t pos = i;
		long got;

		if (exp->ids) {
			for (pos = 0; pos < exp->n_ids; pos++)
				if (!placed[pos] && exp->ids[pos] &&
				    !strcasecmp(exp->ids[pos], id))
					break;
			if (pos == exp->n_ids) {
				rc = qk_kme_fail(err, QK_KME_E_KEY_ID_MISMATCH, 200,
						 "KME returned key ID %s, which was not asked for",
						 id);
				goto out;
			}
		}
		placed[pos] = true;
		dst = &out->keys[pos];
		got = b64_decode(json_string_value(key), json_string_length(key),
				 out->material + off);
		if (got == -2) {
			rc = qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
			goto out;
		}
		if (got < 0) {
			rc = qk_kme_fail(err, QK_KME_E_KEY_ENCODING, 200,
					 "key %s is not valid padded base64", id);
			goto out;
		}
		if (exp->size && (size_t)got != exp->size / 8) {
			rc = qk_kme_fail(err, QK_KME_E_KEY_LENGTH, 200,
					 "key %s has %ld bytes, expected %u (%u bits)",
					 id, got, exp->size / 8, exp->size);
			goto out;
		}
		if (got == 0 || (i > 0 && (size_t)got != keylen)) {
			rc = qk_kme_fail(err, QK_KME_E_KEY_LENGTH, 200,
					 "key %s has %ld bytes, other keys %zu",
					 id, got, keylen);
			goto out;
		}
		keylen = (size_t)got;
		memcpy(dst->id, id, QK_KME_UUID_LEN + 1);
		dst->key = out->material + off;
		dst->len = keylen;
		off += keylen;
		rc = get_ext(k, "key_ID_extension", &dst->id_extension, i, err);
		if (rc == QK_KME_OK)
			rc = get_ext(k, "key_extension", &dst->key_extension, i, err);
		if (rc != QK_KME_OK)
			goto out;
	}
	ext = json_object_get(root, "key_container_extension");
	if (ext && !json_is_object(ext) && !json_is_null(ext)) {
		rc = qk_kme_fail(err, QK_KME_E_MALFORMED, 200,
				 "\"key_container_extension\" is not an object");
		goto out;
	}
	rc = dump_json(json_is_null(ext) ? NULL : ext, &out->container_extension, err);
out:
	free(placed);
	if (rc != QK_KME_OK && rc != QK_KME_E_NOMEM) {
		note_key_ids(arr, err);
		keep_answer(err, body, len);
	}
	json_decref(root);
	if (rc != QK_KME_OK)
		qk_kme_keys_free(out);
	return rc;
}
