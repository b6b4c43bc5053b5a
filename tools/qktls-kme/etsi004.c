// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-kme 004: check a KME's ETSI GS QKD 004 application interface.
 * Prints JSON; key material only with --show-keys.
 *
 *   qktls-kme 004 [options] open SOURCE DESTINATION
 *   qktls-kme 004 [options] get KEY_STREAM_ID
 *   qktls-kme 004 [options] close KEY_STREAM_ID
 *   qktls-kme 004 [options] stream SOURCE DESTINATION
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <qktls/etsi004.h>

#include "qktls-kme.h"

static void usage(FILE *f)
{
	fputs(
"usage: qktls-kme 004 [options] open SOURCE DESTINATION\n"
"       qktls-kme 004 [options] get KEY_STREAM_ID\n"
"       qktls-kme 004 [options] close KEY_STREAM_ID\n"
"       qktls-kme 004 [options] stream SOURCE DESTINATION\n"
"ETSI GS QKD 004 (TLS over TCP).  open leaves the key stream open; stream\n"
"opens it (or joins --ksid), reads --count keys from --index and closes it.\n"
"\n"
"  -H, --host HOST[:PORT]   the KME (default port 25575; [IPv6]:PORT)\n"
"                           ($QKTLS_KME004_HOST)\n"
"  -c, --cert FILE          application's client certificate ($QKTLS_KME_CERT)\n"
"  -k, --key FILE           its private key ($QKTLS_KME_KEY)\n"
"  -C, --ca FILE            CA of the KME's certificate ($QKTLS_KME_CA)\n"
"  -t, --timeout MS         time limit per call (default 10000)\n"
"  -K, --ksid UUID          open/stream: join this key stream\n"
"  -s, --chunk BYTES        key_chunk_size (default 32)\n"
"      --min-bps N, --max-bps N, --jitter N, --priority N,\n"
"      --qos-timeout MS, --ttl S, --mimetype TYPE   the other QoS fields\n"
"  -i, --index N            first index to read (default 0)\n"
"  -n, --count N            keys to read (get, stream; default 1)\n"
"  -m, --metadata BYTES     metadata the application takes (default 0)\n"
"      --show-keys          include the key material (base64)\n"
"  -p, --pretty             indent the JSON\n"
"  -h, --help\n", f);
}

static int num(const char *opt, const char *s, uint32_t *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || n > UINT32_MAX) {
		fprintf(stderr, "qktls-kme: %s wants a number up to %u, got \"%s\"\n",
			opt, UINT32_MAX, s);
		return -1;
	}
	*v = (uint32_t)n;
	return 0;
}

/* HOST, HOST:PORT, [V6] or [V6]:PORT into @host (static) and @port. */
static int split_host(const char *spec, const char **host, unsigned int *port)
{
	static char buf[256];
	const char *colon;
	uint32_t p = QK_004_PORT;

	if (!spec || !*spec || strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -1;
		*close = '\0';
		if (close[1] && num("--host port", close + 2, &p))
			return -1;
		*host = buf + 1;
	} else {
		colon = strchr(buf, ':');
		if (colon && strchr(colon + 1, ':'))
			return -1;	/* a bare IPv6 address wants [] */
		if (colon) {
			buf[colon - buf] = '\0';
			if (num("--host port", colon + 1, &p))
				return -1;
		}
		*host = buf;
	}
	if (!**host || !p || p > 65535)
		return -1;
	*port = p;
	return 0;
}

/* Print and release @v; 0, or -1 when stdout failed. */
static int emit(json_t *v, bool pretty)
{
	int rc = v ? json_dumpf(v, stdout, pretty ? JSON_INDENT(2) : JSON_COMPACT) : -1;

	putchar('\n');
	json_decref(v);
	return rc || fflush(stdout) ? -1 : 0;
}

static json_t *qos_json(const struct qk_004_qos *q)
{
	return json_pack("{sI sI sI sI sI sI sI ss}",
			 "key_chunk_size", (json_int_t)q->key_chunk_size,
			 "max_bps", (json_int_t)q->max_bps,
			 "min_bps", (json_int_t)q->min_bps,
			 "jitter", (json_int_t)q->jitter,
			 "priority", (json_int_t)q->priority,
			 "timeout", (json_int_t)q->timeout,
			 "ttl", (json_int_t)q->ttl,
			 "metadata_mimetype", q->metadata_mimetype);
}

static json_t *key_json(const struct qk_004_key *k, bool show)
{
	json_t *o = json_pack("{sI sI}", "index", (json_int_t)k->index,
			      "size", (json_int_t)k->len * 8);

	if (o && show) {
		size_t n = 4 * ((k->len + 2) / 3) + 1;
		char *b64 = OPENSSL_malloc(n);

		if (b64) {
			EVP_EncodeBlock((unsigned char *)b64, k->key, (int)k->len);
			json_object_set_new(o, "key", json_string(b64));
			OPENSSL_clear_free(b64, n);
		}
	}
	if (o && k->metadata)
		json_object_set_new(o, "metadata",
				    json_stringn_nocheck(k->metadata, k->metadata_len));
	return o;
}

static int fail004(const struct qk_kme_error *err, uint32_t status, bool pretty)
{
	json_t *o = json_pack("{ss sI ss}", "error", qk_kme_strerror(err->code),
			      "code", (json_int_t)err->code,
			      "message", err->message);

	if (o) {
		json_object_set_new(o, "status", status == UINT32_MAX ? json_null() :
				    json_integer(status));
		if (status != UINT32_MAX)
			json_object_set_new(o, "status_name",
					    json_string(qk_004_status_name(status)));
		emit(o, pretty);
	}
	fprintf(stderr, "qktls-kme: %s: %s\n", qk_kme_strerror(err->code),
		err->message);
	return 1;
}

enum { O_SHOW = 256, O_MIN, O_MAX, O_JITTER, O_PRIO, O_QTIMEOUT, O_TTL, O_MIME };

int qk_kme_cli_004(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", 1, NULL, 'H' }, { "cert", 1, NULL, 'c' },
		{ "key", 1, NULL, 'k' }, { "ca", 1, NULL, 'C' },
		{ "timeout", 1, NULL, 't' }, { "ksid", 1, NULL, 'K' },
		{ "chunk", 1, NULL, 's' }, { "min-bps", 1, NULL, O_MIN },
		{ "max-bps", 1, NULL, O_MAX }, { "jitter", 1, NULL, O_JITTER },
		{ "priority", 1, NULL, O_PRIO }, { "qos-timeout", 1, NULL, O_QTIMEOUT },
		{ "ttl", 1, NULL, O_TTL }, { "mimetype", 1, NULL, O_MIME },
		{ "index", 1, NULL, 'i' }, { "count", 1, NULL, 'n' },
		{ "metadata", 1, NULL, 'm' }, { "show-keys", 0, NULL, O_SHOW },
		{ "pretty", 0, NULL, 'p' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qk_004_config cfg = {
		.cert = getenv("QKTLS_KME_CERT"), .key = getenv("QKTLS_KME_KEY"),
		.ca = getenv("QKTLS_KME_CA"),
	};
	struct qk_004_qos qos = {
		.key_chunk_size = 32, .max_bps = UINT32_MAX, .timeout = 0,
		.metadata_mimetype = "application/json",
	};
	const char *hostspec = getenv("QKTLS_KME004_HOST"), *ksid_arg = NULL, *cmd;
	unsigned char ksid[QK_004_KSID_LEN] = { 0 };
	uint32_t timeout = 0, index = 0, count = 1, mdcap = 0, status = UINT32_MAX;
	bool show = false, pretty = false, opened = false;
	struct qk_004_client *c;
	struct qk_kme_error err;
	enum qk_kme_err rc = QK_KME_OK;
	char text[37];
	json_t *out = NULL, *keys = NULL;
	int o, ret = 0;

	optind = 1;
	while ((o = getopt_long(argc, argv, "H:c:k:C:t:K:s:i:n:m:ph", opts, NULL)) != -1) {
		switch (o) {
		case 'H': hostspec = optarg; break;
		case 'c': cfg.cert = optarg; break;
		case 'k': cfg.key = optarg; break;
		case 'C': cfg.ca = optarg; break;
		case 'K': ksid_arg = optarg; break;
		case 't': if (num("--timeout", optarg, &timeout)) return 2; break;
		case 's': if (num("--chunk", optarg, &qos.key_chunk_size)) return 2; break;
		case O_MIN: if (num("--min-bps", optarg, &qos.min_bps)) return 2; break;
		case O_MAX: if (num("--max-bps", optarg, &qos.max_bps)) return 2; break;
		case O_JITTER: if (num("--jitter", optarg, &qos.jitter)) return 2; break;
		case O_PRIO: if (num("--priority", optarg, &qos.priority)) return 2; break;
		case O_QTIMEOUT: if (num("--qos-timeout", optarg, &qos.timeout)) return 2; break;
		case O_TTL: if (num("--ttl", optarg, &qos.ttl)) return 2; break;
		case O_MIME:
			if (strlen(optarg) > QK_004_MIMETYPE_MAX) {
				fprintf(stderr, "qktls-kme: --mimetype: at most %d bytes\n",
					QK_004_MIMETYPE_MAX);
				return 2;
			}
			strcpy(qos.metadata_mimetype, optarg);
			break;
		case 'i': if (num("--index", optarg, &index)) return 2; break;
		case 'n': if (num("--count", optarg, &count)) return 2; break;
		case 'm': if (num("--metadata", optarg, &mdcap)) return 2; break;
		case O_SHOW: show = true; break;
		case 'p': pretty = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind < 1) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "open") && strcmp(cmd, "get") && strcmp(cmd, "close") &&
	    strcmp(cmd, "stream")) {
		fprintf(stderr, "qktls-kme: unknown 004 command \"%s\" (open, get, close, stream)\n",
			cmd);
		return 2;
	}
	if (argc - optind != ((!strcmp(cmd, "open") || !strcmp(cmd, "stream")) ? 3 : 2)) {
		fprintf(stderr, "qktls-kme: 004 %s takes %s\n", cmd,
			strcmp(cmd, "open") && strcmp(cmd, "stream") ?
			"a key stream ID" : "a source and a destination URI");
		return 2;
	}
	if (!strcmp(cmd, "get") || !strcmp(cmd, "close"))
		ksid_arg = argv[optind + 1];
	if (ksid_arg && qk_004_ksid_parse(ksid_arg, ksid)) {
		fprintf(stderr, "qktls-kme: \"%s\" is not a key stream ID (a UUID)\n",
			ksid_arg);
		return 2;
	}
	if (!count || count > 4096 || !qos.key_chunk_size ||
	    qos.key_chunk_size > QK_004_CHUNK_MAX || mdcap > QK_004_METADATA_MAX ||
	    qos.min_bps > qos.max_bps) {
		fprintf(stderr, "qktls-kme: --count 1 to 4096, --chunk 1 to %u, "
			"--metadata up to %u, --min-bps <= --max-bps\n",
			QK_004_CHUNK_MAX, QK_004_METADATA_MAX);
		return 2;
	}
	if (split_host(hostspec, &cfg.host, &cfg.port) || !cfg.cert || !cfg.key ||
	    !cfg.ca) {
		fprintf(stderr, "qktls-kme: --host HOST[:PORT], --cert, --key and --ca "
			"are required (or QKTLS_KME004_HOST, QKTLS_KME_CERT, _KEY, _CA)\n");
		return 2;
	}
	cfg.timeout_ms = timeout;
	c = qk_004_client_new(&cfg, &err);
	if (!c)
		return fail004(&err, UINT32_MAX, pretty);

	if (!strcmp(cmd, "open") || !strcmp(cmd, "stream")) {
		rc = qk_004_open_connect(c, argv[optind + 1], argv[optind + 2], &qos,
					 ksid, &status, &err);
		opened = rc == QK_KME_OK;
		if (opened) {
			qk_004_ksid_str(ksid, text);
			out = json_pack("{ss sI ss so}", "key_stream_id", text,
					"status", (json_int_t)status, "status_name",
					qk_004_status_name(status), "qos", qos_json(&qos));
		}
	}
	if (rc == QK_KME_OK && (!strcmp(cmd, "get") || !strcmp(cmd, "stream"))) {
		if (!out) {
			qk_004_ksid_str(ksid, text);
			out = json_pack("{ss}", "key_stream_id", text);
		}
		keys = json_array();
		for (uint32_t i = 0; i < count && rc == QK_KME_OK; i++) {
			struct qk_004_key k;

			rc = qk_004_get_key(c, ksid, index + i, qos.key_chunk_size,
					    mdcap, &k, &status, &err);
			if (rc == QK_KME_OK) {
				json_array_append_new(keys, key_json(&k, show));
				qk_004_key_free(&k);
			}
		}
		json_object_set_new(out, "keys", keys);
	}
	if (rc == QK_KME_OK && (!strcmp(cmd, "close") || !strcmp(cmd, "stream"))) {
		rc = qk_004_close(c, ksid, &status, &err);
		if (rc == QK_KME_OK && !out)
			out = json_pack("{sI ss}", "status", (json_int_t)status,
					"status_name", qk_004_status_name(status));
		else if (rc == QK_KME_OK)
			json_object_set_new(out, "closed", json_true());
	} else if (rc != QK_KME_OK && opened && !strcmp(cmd, "stream")) {
		/* Do not leave the stream open at the KME. */
		uint32_t st;
		struct qk_kme_error e2;

		qk_004_close(c, ksid, &st, &e2);
	}
	if (rc == QK_KME_OK)
		ret = emit(out, pretty) ? 1 : 0;
	else
		ret = fail004(&err, status, pretty);
	if (rc != QK_KME_OK)
		json_decref(out);
	qk_004_client_free(c);
	return ret;
}
