// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ETSI GS QKD 014 response parsers on crafted answers (no network):
 * what is accepted, and a distinct error for each way an answer is wrong.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"	/* harness vs enums */

#include <string.h>

#include <qktls/kme.h>
#include <sanitizer/lsan_interface.h>

#include "kselftest_harness.h"

#define ID1 "0b5e6f04-41e1-4c5b-9a1e-1f6f2b1e6a01"
#define ID2 "0B5E6F04-41E1-4C5B-9A1E-1F6F2B1E6A02"
/* 32 bytes 0x00..0x1f and 32 bytes 0x20..0x3f */
#define K1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

/* The harness ends each test with _exit(): look for leaks before. */
#define NO_LEAKS() EXPECT_EQ(0, __lsan_do_recoverable_leak_check())

static enum qk_kme_err parse(const char *body, const struct qk_kme_expect *e,
			     struct qk_kme_keys *k, struct qk_kme_error *err)
{
	return qk_kme_parse_keys(body, strlen(body), e, k, err);
}

TEST(two_keys)
{
	const char *body = "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\","
			   "\"key_ID_extension\":{\"a\":1}},"
			   "{\"key_ID\":\"" ID2 "\",\"key\":\"" K2 "\"}],"
			   "\"key_container_extension\":{\"x\":[1,2]}}";
	struct qk_kme_expect e = { .number = 2, .size = 256 };
	struct qk_kme_error err;
	struct qk_kme_keys k;

	ASSERT_EQ(QK_KME_OK, parse(body, &e, &k, &err)) TH_LOG("%s", err.message);
	ASSERT_EQ(2, k.count);
	EXPECT_STREQ(ID1, k.keys[0].id);
	EXPECT_EQ(32, k.keys[0].len);
	for (int i = 0; i < 32; i++) {
		EXPECT_EQ(i, k.keys[0].key[i]);
		EXPECT_EQ(32 + i, k.keys[1].key[i]);
	}
	EXPECT_STREQ("{\"a\":1}", k.keys[0].id_extension);
	EXPECT_EQ(NULL, k.keys[1].id_extension);
	EXPECT_STREQ("{\"x\":[1,2]}", k.container_extension);
	qk_kme_keys_free(&k);
	EXPECT_EQ(0, k.count);
	EXPECT_EQ(NULL, k.material);
	NO_LEAKS();
}

/* dec_keys: IDs compared without case, result in the order asked. */
TEST(ids_reordered)
{
	const char *body = "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"},"
			   "{\"key_ID\":\"" ID2 "\",\"key\":\"" K2 "\"}]}";
	const char *ids[] = { "0b5e6f04-41e1-4c5b-9a1e-1f6f2b1e6a02", ID1 };
	struct qk_kme_expect e = { .ids = ids, .n_ids = 2 };
	struct qk_kme_error err;
	struct qk_kme_keys k;

	ASSERT_EQ(QK_KME_OK, parse(body, &e, &k, &err)) TH_LOG("%s", err.message);
	EXPECT_STREQ(ID2, k.keys[0].id);
	EXPECT_EQ(32, k.keys[0].key[0]);
	EXPECT_STREQ(ID1, k.keys[1].id);
	qk_kme_keys_free(&k);
	NO_LEAKS();
}

struct bad {
	const char *body;
	unsigned int number, size;
	enum qk_kme_err code;
	const char *says;
};

static const struct bad bad[] = {
	{ "", 1, 0, QK_KME_E_MALFORMED, "200 with an empty body where a key container" },
	{ " \r\n", 1, 0, QK_KME_E_MALFORMED, "200 with an empty body" },
	{ "{\"keys\":[", 1, 0, QK_KME_E_MALFORMED, "not valid JSON" },
	{ "[]", 1, 0, QK_KME_E_MALFORMED, "not a JSON object" },
	{ "{}", 1, 0, QK_KME_E_MALFORMED, "no \"keys\" array" },
	{ "{\"keys\":{}}", 1, 0, QK_KME_E_MALFORMED, "no \"keys\" array" },
	{ "{\"keys\":[]}", 0, 0, QK_KME_E_KEY_COUNT, "returned 0 keys" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"}]}", 2, 0,
	  QK_KME_E_KEY_COUNT, "asked for 2 keys, KME returned 1" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\"}]}", 1, 0, QK_KME_E_MALFORMED, "lacks" },
	{ "{\"keys\":[{\"key_ID\":7,\"key\":\"" K1 "\"}]}", 1, 0, QK_KME_E_MALFORMED, "lacks" },
	{ "{\"keys\":[{\"key_ID\":\"abc\",\"key\":\"" K1 "\"}]}", 1, 0,
	  QK_KME_E_BAD_KEY_ID, "not a UUID" },
	{ "{\"keys\":[{\"key_ID\":\"0b5e6f04x41e1-4c5b-9a1e-1f6f2b1e6a01\",\"key\":\"" K1 "\"}]}",
	  1, 0, QK_KME_E_BAD_KEY_ID, "not a UUID" },
	/* NUL inside a string: refused by the JSON parser */
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\\u0000x\",\"key\":\"" K1 "\"}]}", 1, 0,
	  QK_KME_E_MALFORMED, "not valid JSON" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"},"
	  "{\"key_ID\":\"" ID1 "\",\"key\":\"" K2 "\"}]}", 2, 0,
	  QK_KME_E_BAD_KEY_ID, "appears twice" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"AAEC!wQF\"}]}", 1, 0,
	  QK_KME_E_KEY_ENCODING, "base64" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"AAECAwQ\"}]}", 1, 0,
	  QK_KME_E_KEY_ENCODING, "base64" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"AAEC AwQF\"}]}", 1, 0,
	  QK_KME_E_KEY_ENCODING, "base64" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"\"}]}", 1, 0,
	  QK_KME_E_KEY_ENCODING, "base64" },
	/* Padding in the middle, and a non-canonical last character. */
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"AA==AAEC\"}]}", 1, 0,
	  QK_KME_E_KEY_ENCODING, "base64" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"AAECAwR=\"}]}", 1, 0,
	  QK_KME_E_KEY_ENCODING, "base64" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"AAECAx==\"}]}", 1, 0,
	  QK_KME_E_KEY_ENCODING, "base64" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"}]}", 1, 128,
	  QK_KME_E_KEY_LENGTH, "has 32 bytes, expected 16" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"},"
	  "{\"key_ID\":\"" ID2 "\",\"key\":\"AAECAw==\"}]}", 2, 0,
	  QK_KME_E_KEY_LENGTH, "other keys 32" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\",\"key_extension\":3}]}",
	  1, 0, QK_KME_E_MALFORMED, "not an object" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"}],"
	  "\"key_container_extension\":[]}", 1, 0, QK_KME_E_MALFORMED, "not an object" },
	{ "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"}],\"keys\":[]}", 1, 0,
	  QK_KME_E_MALFORMED, "duplicate" },
};

TEST(bad_containers)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct qk_kme_expect e = { .number = bad[i].number, .size = bad[i].size };
		struct qk_kme_error err;
		struct qk_kme_keys k;

		EXPECT_EQ(bad[i].code, parse(bad[i].body, &e, &k, &err))
			TH_LOG("case %zu: %s", i, err.message);
		EXPECT_EQ(bad[i].code, err.code);
		EXPECT_NE(NULL, strstr(err.message, bad[i].says))
			TH_LOG("case %zu: \"%s\" lacks \"%s\"", i, err.message, bad[i].says);
		EXPECT_EQ(0, k.count);
		EXPECT_EQ(NULL, k.keys);
		EXPECT_EQ(NULL, k.material);
	}
	NO_LEAKS();
}

TEST(mismatched_ids)
{
	const char *body = "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"}]}";
	const char *ids[] = { "0b5e6f04-41e1-4c5b-9a1e-1f6f2b1e6a09" };
	struct qk_kme_expect e = { .ids = ids, .n_ids = 1 };
	struct qk_kme_error err;
	struct qk_kme_keys k;

	EXPECT_EQ(QK_KME_E_KEY_ID_MISMATCH, parse(body, &e, &k, &err));
	EXPECT_NE(NULL, strstr(err.message, ID1 ", which was not asked for"));
	ids[0] = ID1;
	EXPECT_EQ(QK_KME_OK, parse(body, &e, &k, &err));
	qk_kme_keys_free(&k);
	NO_LEAKS();
}

TEST(status)
{
	const char *ok = "{\"source_KME_ID\":\"A\",\"target_KME_ID\":\"B\","
			 "\"master_SAE_ID\":\"SA\",\"slave_SAE_ID\":\"SB\","
			 "\"key_size\":256,\"stored_key_count\":25000,"
			 "\"max_key_count\":100000,\"max_key_per_request\":128,"
			 "\"max_key_size\":1024,\"min_key_size\":64,"
			 "\"max_SAE_ID_count\":0,\"status_extension\":{\"v\":true}}";
	struct qk_kme_status st;
	struct qk_kme_error err;
	char *bad;

	ASSERT_EQ(QK_KME_OK, qk_kme_parse_status(ok, strlen(ok), &st, &err))
		TH_LOG("%s", err.message);
	EXPECT_STREQ("A", st.source_kme_id);
	EXPECT_STREQ("SB", st.slave_sae_id);
	EXPECT_EQ(25000, st.stored_key_count);
	EXPECT_EQ(1024, st.max_key_size);
	EXPECT_STREQ("{\"v\":true}", st.status_extension);
	qk_kme_status_free(&st);

	/* Each required field missing or of the wrong type. */
	bad = strdup(ok);
	ASSERT_NE(NULL, bad);
	memcpy(strstr(bad, "stored_key_count"), "xtored", 6);
	EXPECT_EQ(QK_KME_E_MALFORMED, qk_kme_parse_status(bad, strlen(bad), &st, &err));
	EXPECT_NE(NULL, strstr(err.message, "\"stored_key_count\""));
	free(bad);
	bad = strdup(ok);
	ASSERT_NE(NULL, bad);
	memcpy(strstr(bad, "\"A\""), "-1 ", 3);
	EXPECT_EQ(QK_KME_E_MALFORMED, qk_kme_parse_status(bad, strlen(bad), &st, &err));
	EXPECT_NE(NULL, strstr(err.message, "\"source_KME_ID\""));
	free(bad);
	EXPECT_EQ(QK_KME_E_MALFORMED, qk_kme_parse_status("{", 1, &st, &err));
	EXPECT_EQ(NULL, st.status_extension);
	NO_LEAKS();
}

TEST(etsi_errors)
{
	const char *body = "{\"message\":\"key not found\","
			   "\"details\":[{\"key_ID\":\"" ID1 "\"}]}";
	struct qk_kme_error err;

	EXPECT_EQ(QK_KME_E_BAD_REQUEST, qk_kme_parse_error(400, body, strlen(body), &err));
	EXPECT_EQ(400, err.http_status);
	EXPECT_STREQ("key not found", err.message);
	EXPECT_STREQ("[{\"key_ID\":\"" ID1 "\"}]", err.details);
	EXPECT_EQ(QK_KME_E_UNAUTHORIZED, qk_kme_parse_error(401, body, strlen(body), &err));
	EXPECT_EQ(QK_KME_E_UNAVAILABLE, qk_kme_parse_error(503, body, strlen(body), &err));
	EXPECT_EQ(QK_KME_E_HTTP, qk_kme_parse_error(500, "oops", 4, &err));
	EXPECT_STREQ("the KME answered HTTP 500, not with an ETSI error message: oops",
		     err.message);
	EXPECT_STREQ("", err.details);
	EXPECT_STREQ("oops", err.answer);
	/* An ETSI error under another status: the status by number. */
	body = "{\"message\":\"no such endpoint\"}";
	EXPECT_EQ(QK_KME_E_HTTP, qk_kme_parse_error(404, body, strlen(body), &err));
	EXPECT_STREQ("the KME answered HTTP 404: no such endpoint", err.message);
	/* Control characters from the KME do not reach logs raw. */
	body = "{\"message\":\"a\\nb\\u001b\"}";
	EXPECT_EQ(QK_KME_E_BAD_REQUEST, qk_kme_parse_error(400, body, strlen(body), &err));
	EXPECT_STREQ("a?b?", err.message);
	NO_LEAKS();
}

/* Answers of KMEs and proxies that do not speak the ETSI error format. */
TEST(non_etsi_errors)
{
	const char *html = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title>"
			   "</head>\r\n<body>\t<h1>Bad   Gateway</h1></body></html>";
	const char *problem = "{\"type\":\"about:blank\",\"title\":\"Unauthorized\","
			      "\"status\":401}";
	struct qk_kme_error err;
	char big[2000];

	EXPECT_EQ(QK_KME_E_HTTP, qk_kme_parse_error(502, html, strlen(html), &err));
	EXPECT_EQ(502, err.http_status);
	EXPECT_STREQ("the KME answered HTTP 502, not with an ETSI error message: "
		     "<!DOCTYPE html> <html><head><title>502 Bad Gateway</title></head> "
		     "<body> <h1>Bad Gateway</h1></body></html>", err.message);
	EXPECT_EQ(QK_KME_E_UNAUTHORIZED, qk_kme_parse_error(401, problem, strlen(problem),
							    &err));
	EXPECT_NE(NULL, strstr(err.message, "HTTP 401, not with an ETSI error message: "
			       "{\"type\":\"about:blank\",\"title\":\"Unauthorized\""))
		TH_LOG("%s", err.message);
	/* "message" that is not a string is not the ETSI format either. */
	EXPECT_EQ(QK_KME_E_UNAVAILABLE, qk_kme_parse_error(503, "{\"message\":5}", 13, &err));
	EXPECT_NE(NULL, strstr(err.message, "{\"message\":5}")) TH_LOG("%s", err.message);
	EXPECT_EQ(QK_KME_E_HTTP, qk_kme_parse_error(504, "", 0, &err));
	EXPECT_STREQ("the KME answered HTTP 504 with an empty body", err.message);
	/* Long bodies are cut, control bytes replaced. */
	memset(big, 'x', sizeof(big));
	big[10] = '\x1b';
	big[11] = (char)0xc3;
	EXPECT_EQ(QK_KME_E_HTTP, qk_kme_parse_error(500, big, sizeof(big), &err));
	EXPECT_NE(NULL, strstr(err.message, "xxxxxxxxxx??xxx")) TH_LOG("%s", err.message);
	EXPECT_GT(300, strlen(err.message));
	EXPECT_EQ(0, strcmp(err.message + strlen(err.message) - 3, "..."));
	EXPECT_GT(sizeof(err.answer), strlen(err.answer));
	EXPECT_EQ(0, strcmp(err.answer + strlen(err.answer) - 3, "..."));
	NO_LEAKS();
}

/* Fields of the wrong JSON type are named, with what was found. */
TEST(status_types)
{
	static const struct { const char *from, *to, *says; } cases[] = {
		{ "\"key_size\":256", "\"key_size\":\"256\"",
		  "status: \"key_size\" must be a non-negative integer, but is a string: \"256\"" },
		{ "\"target_KME_ID\":\"B\"", "\"target_KME_ID\":0",
		  "status: \"target_KME_ID\" must be a string, but is an integer: 0" },
		{ "\"max_key_count\":100", "\"max_key_count\":1.5",
		  "\"max_key_count\" must be a non-negative integer, but is a number with a fraction" },
		{ "\"slave_SAE_ID\":\"SB\"", "\"slave_SAE_ID\":null",
		  "\"slave_SAE_ID\" must be a string, but is null" },
		{ "\"min_key_size\":64", "\"min_key_sise\":64",
		  "\"min_key_size\" must be a non-negative integer, but is missing" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[600], *at;
		struct qk_kme_status st;
		struct qk_kme_error err;

		snprintf(body, sizeof(body), "{\"source_KME_ID\":\"A\",\"target_KME_ID\":\"B\","
			 "\"master_SAE_ID\":\"SA\",\"slave_SAE_ID\":\"SB\",\"key_size\":256,"
			 "\"stored_key_count\":5,\"max_key_count\":100,"
			 "\"max_key_per_request\":8,\"max_key_size\":1024,"
			 "\"min_key_size\":64,\"max_SAE_ID_count\":0}");
		at = strstr(body, cases[i].from);
		ASSERT_NE(NULL, at);
		memmove(at + strlen(cases[i].to), at + strlen(cases[i].from),
			strlen(at + strlen(cases[i].from)) + 1);
		memcpy(at, cases[i].to, strlen(cases[i].to));
		EXPECT_EQ(QK_KME_E_MALFORMED, qk_kme_parse_status(body, strlen(body), &st, &err));
		EXPECT_NE(NULL, strstr(err.message, cases[i].says))
			TH_LOG("case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i].says);
		/* The answer is kept for --verbose. */
		EXPECT_NE(NULL, strstr(err.answer, cases[i].to)) TH_LOG("%s", err.answer);
	}
	NO_LEAKS();
}

/*
 * A container refused after the KME used its keys up: the key IDs it named
 * are reported, and the answer is kept with every key value redacted.
 */
TEST(rejected_container)
{
	const char *body = "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"},"
			   "{\"key_ID\":\"" ID2 "\",\"key\":\"AAECAw==\"}]}";
	const char *cut = "{\"keys\":[{\"key_ID\":\"" ID1 "\", \"key\" : \"" K1 "\"},"
			  "{\"key_ID\":\"" ID2 "\",\"key\":\"ICEiIyQlJico";
	struct qk_kme_expect e = { .number = 2, .size = 256 };
	struct qk_kme_error err;
	struct qk_kme_keys k;
	char *many;
	size_t len;

	EXPECT_EQ(QK_KME_E_KEY_LENGTH, parse(body, &e, &k, &err));
	EXPECT_STREQ("{\"rejected_key_IDs\":[\"" ID1 "\",\"" ID2 "\"]}", err.details);
	EXPECT_NE(NULL, strstr(err.message, "the KME may count the 2 keys it named as used"))
		TH_LOG("%s", err.message);
	EXPECT_STREQ("{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"<redacted>\"},"
		     "{\"key_ID\":\"" ID2 "\",\"key\":\"<redacted>\"}]}", err.answer);

	/* Not JSON: the text is redacted after every "key": as well. */
	EXPECT_EQ(QK_KME_E_MALFORMED, parse(cut, &e, &k, &err));
	EXPECT_STREQ("", err.details);
	EXPECT_STREQ("{\"keys\":[{\"key_ID\":\"" ID1 "\", \"key\" : \"<redacted>\"},"
		     "{\"key_ID\":\"" ID2 "\",\"key\":\"<redacted>", err.answer);
	EXPECT_EQ(NULL, strstr(err.answer, "AAEC"));

	/* Too many IDs for the details: as many as fit, and a count. */
	len = 12 + 200 * (sizeof("{\"key_ID\":\"" ID1 "\",\"key\":\"AAECAw==\"},") - 1);
	many = malloc(len + 1);
	ASSERT_NE(NULL, many);
	strcpy(many, "{\"keys\":[");
	for (int i = 0; i < 200; i++)
		sprintf(many + strlen(many), "%s{\"key_ID\":\"%08x-41e1-4c5b-9a1e-1f6f2b1e6a01\","
			"\"key\":\"AAECAw==\"}", i ? "," : "", i);
	strcat(many, "]}");
	e.number = 200;
	EXPECT_EQ(QK_KME_E_KEY_LENGTH, parse(many, &e, &k, &err));
	EXPECT_NE(NULL, strstr(err.details, "\"00000000-41e1-4c5b-9a1e-1f6f2b1e6a01\""));
	EXPECT_NE(NULL, strstr(err.details, "\"more_key_IDs\":"));
	EXPECT_GT(sizeof(err.details), strlen(err.details));
	EXPECT_NE(NULL, strstr(err.message, "the 200 keys it named")) TH_LOG("%s", err.message);
	free(many);
	NO_LEAKS();
}

TEST(error_names)
{
	for (int i = 0; i < QK_KME_E_MAX_; i++) {
		EXPECT_STRNE("unknown error", qk_kme_strerror(i));
		for (int j = 0; j < i; j++)
			EXPECT_STRNE(qk_kme_strerror(i), qk_kme_strerror(j));
	}
	EXPECT_STREQ("unknown error", qk_kme_strerror(QK_KME_E_MAX_));
	EXPECT_TRUE(qk_kme_is_uuid(ID2));
	EXPECT_FALSE(qk_kme_is_uuid(ID1 "0"));
	EXPECT_FALSE(qk_kme_is_uuid("0b5e6f04-41e1-4c5b-9a1e-1f6f2b1e6a0g"));
	NO_LEAKS();
}

/* A key source with only some operations: the rest are "unsupported". */
static enum qk_kme_err stub_get(struct qk_key_source *src, const char *peer,
				unsigned int number, unsigned int size,
				struct qk_kme_keys *out, struct qk_kme_error *err)
{
	const char *body = "{\"keys\":[{\"key_ID\":\"" ID1 "\",\"key\":\"" K1 "\"}]}";
	struct qk_kme_expect e = { .number = number, .size = size };

	(void)peer;
	*(int *)src->priv += 1;
	return qk_kme_parse_keys(body, strlen(body), &e, out, err);
}

static void stub_destroy(struct qk_key_source *src)
{
	*(int *)src->priv = -1;
}

TEST(key_source_ops)
{
	static const struct qk_key_source_ops ops = {
		.name = "stub", .get_keys = stub_get, .destroy = stub_destroy,
	};
	int calls = 0;
	struct qk_key_source src = { .ops = &ops, .priv = &calls };
	const char *ids[] = { ID1 };
	struct qk_kme_error err;
	struct qk_kme_status st;
	struct qk_kme_keys k;

	ASSERT_EQ(QK_KME_OK, qk_key_source_get(&src, "peer", 1, 256, &k, &err));
	EXPECT_EQ(1, calls);
	EXPECT_EQ(32, k.keys[0].len);
	qk_kme_keys_free(&k);
	EXPECT_EQ(QK_KME_E_KEY_LENGTH, qk_key_source_get(&src, "peer", 1, 128, &k, &err));
	EXPECT_EQ(QK_KME_E_UNSUPPORTED,
		  qk_key_source_get_by_id(&src, "peer", ids, 1, 256, &k, &err));
	EXPECT_NE(NULL, strstr(err.message, "by ID"));
	EXPECT_EQ(QK_KME_E_UNSUPPORTED, qk_key_source_status(&src, "peer", &st, &err));
	qk_key_source_free(&src);
	EXPECT_EQ(-1, calls);
	NO_LEAKS();
}

TEST_HARNESS_MAIN
