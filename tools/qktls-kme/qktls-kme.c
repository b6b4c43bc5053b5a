// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-kme: check an ETSI GS QKD 014 KME from a host with the SAE's
 * certificates.  Prints JSON; key material only with --show-keys.
 *
 *   qktls-kme [options] status SLAVE_SAE_ID
 *   qktls-kme [options] get SLAVE_SAE_ID
 *   qktls-kme [options] get-by-id MASTER_SAE_ID KEY_ID...
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <qktls/kme.h>

#include "qktls-kme.h"

static void usage(FILE *f)
{
	fputs(
"usage: qktls-kme [options] status SLAVE_SAE_ID\n"
"       qktls-kme [options] get SLAVE_SAE_ID\n"
"       qktls-kme [options] get-by-id MASTER_SAE_ID KEY_ID...\n"
"       qktls-kme 004 ...   (ETSI GS QKD 004: qktls-kme 004 --help)\n"
"\n"
"  -u, --url URL          KME base URL, https://HOST:PORT ($QKTLS_KME_URL)\n"
"  -c, --cert FILE        SAE client certificate, PEM ($QKTLS_KME_CERT)\n"
"  -k, --key FILE         its private key ($QKTLS_KME_KEY)\n"
"  -C, --ca FILE          CA of the KME's certificate ($QKTLS_KME_CA)\n"
"  -t, --timeout MS       time limit per request (default 10000)\n"
"  -n, --number N         get: number of keys (default 1)\n"
"  -s, --size BITS        get: key size; get-by-id: expected size\n"
"  -a, --additional SAE   get: additional slave SAE (repeatable)\n"
"      --ext-mandatory J  get: extension_mandatory, a JSON array\n"
"      --ext-optional J   get: extension_optional, a JSON array\n"
"  -G, --get              use the GET forms of enc_keys/dec_keys\n"
"      --show-keys        include the key material (base64) in the output\n"
"  -v, --verbose          on failure, show the KME's answer (key values redacted)\n"
"  -p, --pretty           indent the JSON\n"
"  -h, --help\n", f);
}

static int parse_uint(const char *opt, const char *s, unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || n > 1u << 30) {
		fprintf(stderr, "qktls-kme: %s wants a number, got \"%s\"\n", opt, s);
		return -1;
	}
	*v = (unsigned int)n;
	return 0;
}

/* Attach the JSON text @text (may be NULL) as @name. */
static void set_raw(json_t *o, const char *name, const char *text)
{
	json_t *v;

	if (!text)
		return;
	v = json_loads(text, JSON_DECODE_ANY, NULL);
	if (v)
		json_object_set_new(o, name, v);
}

static json_t *status_json(const struct qk_kme_status *st)
{
	json_t *o = json_pack("{ss ss ss ss sI sI sI sI sI sI sI}",
			      "source_KME_ID", st->source_kme_id,
			      "target_KME_ID", st->target_kme_id,
			      "master_SAE_ID", st->master_sae_id,
			      "slave_SAE_ID", st->slave_sae_id,
			      "key_size", (json_int_t)st->key_size,
			      "stored_key_count", (json_int_t)st->stored_key_count,
			      "max_key_count", (json_int_t)st->max_key_count,
			      "max_key_per_request", (json_int_t)st->max_key_per_request,
			      "max_key_size", (json_int_t)st->max_key_size,
			      "min_key_size", (json_int_t)st->min_key_size,
			      "max_SAE_ID_count", (json_int_t)st->max_sae_id_count);

	if (o)
		set_raw(o, "status_extension", st->status_extension);
	return o;
}

static json_t *keys_json(const struct qk_kme_keys *k, bool show)
{
	json_t *arr = json_array(), *root;

	for (size_t i = 0; arr && i < k->count; i++) {
		const struct qk_kme_key *key = &k->keys[i];
		json_t *o = json_pack("{ss sI}", "key_ID", key->id,
				      "size", (json_int_t)key->len * 8);

		if (!o)
			continue;
		if (show) {
			size_t n = 4 * ((key->len + 2) / 3) + 1;
			char *b64 = OPENSSL_malloc(n);

			if (b64) {
				EVP_EncodeBlock((unsigned char *)b64, key->key,
						(int)key->len);
				json_object_set_new(o, "key", json_string(b64));
				OPENSSL_clear_free(b64, n);
			}
		}
		set_raw(o, "key_ID_extension", key->id_extension);
		set_raw(o, "key_extension", key->key_extension);
		json_array_append_new(arr, o);
	}
	root = json_pack("{so}", "keys", arr);
	if (root)
		set_raw(root, "key_container_extension", k->container_extension);
	return root;
}

static int print(json_t *v, bool pretty)
{
	int rc = json_dumpf(v, stdout, pretty ? JSON_INDENT(2) : JSON_COMPACT);

	putchar('\n');
	json_decref(v);
	return rc || fflush(stdout) ? -1 : 0;
}

/* Exit 1, or 2 for arguments the library refused before any request. */
static int fail(const struct qk_kme_error *err, bool pretty, bool verbose)
{
	json_t *o = json_pack("{ss sI sI ss}", "error", qk_kme_strerror(err->code),
			      "code", (json_int_t)err->code,
			      "http_status", (json_int_t)err->http_status,
			      "message", err->message);

	if (o) {
		if (err->details[0])
			set_raw(o, "details", err->details);
		print(o, pretty);
	}
	fprintf(stderr, "qktls-kme: %s: %s\n", qk_kme_strerror(err->code), err->message);
	if (err->details[0])
		fprintf(stderr, "qktls-kme: details: %s\n", err->details);
	if (verbose && err->answer[0])
		fprintf(stderr, "qktls-kme: the KME answered (key values redacted): %s\n",
			err->answer);
	return err->code == QK_KME_E_INVAL ? 2 : 1;
}

enum { O_SHOW = 256, O_EXT_M, O_EXT_O };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", 1, NULL, 'u' }, { "cert", 1, NULL, 'c' },
		{ "key", 1, NULL, 'k' }, { "ca", 1, NULL, 'C' },
		{ "timeout", 1, NULL, 't' }, { "number", 1, NULL, 'n' },
		{ "size", 1, NULL, 's' }, { "additional", 1, NULL, 'a' },
		{ "ext-mandatory", 1, NULL, O_EXT_M },
		{ "ext-optional", 1, NULL, O_EXT_O }, { "get", 0, NULL, 'G' },
		{ "show-keys", 0, NULL, O_SHOW }, { "pretty", 0, NULL, 'p' },
		{ "verbose", 0, NULL, 'v' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct qk_kme_config cfg = {
		.url = getenv("QKTLS_KME_URL"), .cert = getenv("QKTLS_KME_CERT"),
		.key = getenv("QKTLS_KME_KEY"), .ca = getenv("QKTLS_KME_CA"),
	};
	struct qk_kme_enc_req er = { 0 };
	struct qk_kme_dec_req dr = { 0 };
	const char *additional[16];
	unsigned int timeout = 0;
	bool show = false, pretty = false, verbose = false;
	struct qk_kme_client *c;
	struct qk_kme_error err;
	struct qk_kme_keys keys;
	struct qk_kme_status st;
	enum qk_kme_err rc;
	const char *cmd, *sae;
	int o, ret;

	if (argc > 1 && !strcmp(argv[1], "004"))
		return qk_kme_cli_004(argc - 1, argv + 1);
	while ((o = getopt_long(argc, argv, "u:c:k:C:t:n:s:a:Gpvh", opts, NULL)) != -1) {
		switch (o) {
		case 'u': cfg.url = optarg; break;
		case 'c': cfg.cert = optarg; break;
		case 'k': cfg.key = optarg; break;
		case 'C': cfg.ca = optarg; break;
		case 't':
			if (parse_uint("--timeout", optarg, &timeout))
				return 2;
			break;
		case 'n':
			if (parse_uint("--number", optarg, &er.number))
				return 2;
			break;
		case 's':
			if (parse_uint("--size", optarg, &er.size))
				return 2;
			dr.size = er.size;
			break;
		case 'a':
			if (er.n_additional == 16) {
				fprintf(stderr, "qktls-kme: at most 16 --additional\n");
				return 2;
			}
			additional[er.n_additional++] = optarg;
			break;
		case O_EXT_M: er.extension_mandatory = optarg; break;
		case O_EXT_O: er.extension_optional = optarg; break;
		case 'G': er.use_get = dr.use_get = true; break;
		case O_SHOW: show = true; break;
		case 'p': pretty = true; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	sae = argv[optind + 1];
	if (strcmp(cmd, "status") && strcmp(cmd, "get") && strcmp(cmd, "get-by-id")) {
		fprintf(stderr, "qktls-kme: unknown command \"%s\" (status, get, get-by-id)\n",
			cmd);
		return 2;
	}
	if ((!strcmp(cmd, "get-by-id")) != (argc - optind > 2) ||
	    (strcmp(cmd, "get-by-id") && argc - optind != 2)) {
		fprintf(stderr, "qktls-kme: %s takes %s\n", cmd,
			strcmp(cmd, "get-by-id") ? "one SAE ID" :
			"the master SAE ID and one or more key IDs");
		return 2;
	}
	if (!cfg.url || !cfg.cert || !cfg.key || !cfg.ca) {
		fprintf(stderr, "qktls-kme: --url, --cert, --key and --ca are required "
			"(or QKTLS_KME_URL, _CERT, _KEY, _CA)\n");
		return 2;
	}
	cfg.timeout_ms = timeout;
	c = qk_kme_client_new(&cfg, &err);
	if (!c)
		return fail(&err, pretty, verbose);

	if (!strcmp(cmd, "status")) {
		rc = qk_kme_status(c, sae, 0, &st, &err);
		if (rc == QK_KME_OK) {
			ret = print(status_json(&st), pretty) ? 1 : 0;
			qk_kme_status_free(&st);
		}
	} else {
		if (!strcmp(cmd, "get")) {
			er.additional_slave_sae_ids = additional;
			rc = qk_kme_enc_keys(c, sae, &er, &keys, &err);
		} else {
			dr.key_ids = (const char *const *)&argv[optind + 2];
			dr.n_ids = argc - optind - 2;
			rc = qk_kme_dec_keys(c, sae, &dr, &keys, &err);
		}
		if (rc == QK_KME_OK) {
			ret = print(keys_json(&keys, show), pretty) ? 1 : 0;
			qk_kme_keys_free(&keys);
		}
	}
	if (rc != QK_KME_OK)
		ret = fail(&err, pretty, verbose);
	qk_kme_client_free(c);
	return ret;
}
