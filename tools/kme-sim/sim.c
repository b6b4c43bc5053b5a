// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-kme-sim: a pair of ETSI GS QKD 014 v1.1.1 KMEs (A and B), one
 * HTTPS listener each, sharing one simulated QKD link.  See
 * Documentation/kme.rst and qktls-kme-sim(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include <qktls/kme.h>

#include "sim.h"

#define VERSION "0.1"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void sim_log(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->verbose)
		return;
	pthread_mutex_lock(&log_lock);
	fputs("qktls-kme-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}

static void usage(FILE *f)
{
	fputs(
"usage: qktls-kme-sim --ca FILE --a-cert FILE --a-key FILE --b-cert FILE\n"
"                     --b-key FILE [options]\n"
"Serves two ETSI GS QKD 014 KMEs (A and B) that share one simulated QKD link,\n"
"and their ETSI GS QKD 004 application interfaces when asked to.\n"
"\n"
"  --a-listen ADDR:PORT     KME A's HTTPS address (default 127.0.0.1:0)\n"
"  --b-listen ADDR:PORT     KME B's (IPv6: [ADDR]:PORT; port 0 picks one)\n"
"  --a-listen-004 ADDR:PORT serve ETSI GS QKD 004 for KME A (TLS over TCP;\n"
"  --b-listen-004 ADDR:PORT port 0 picks one; the standard's is 25575)\n"
"  --a-cert/--a-key FILE    KME A's server certificate and key (PEM)\n"
"  --b-cert/--b-key FILE    KME B's\n"
"  --ca FILE                CA(s) that sign the SAEs' client certificates\n"
"  --a-id ID, --b-id ID     KME IDs (default KME_A, KME_B)\n"
"  --a-sae ID, --b-sae ID   SAE attached to KME A / B (repeatable;\n"
"                           default SAE_A, SAE_B)\n"
"  --map CN=SAE_ID          client certificate CN to SAE ID (repeatable;\n"
"                           without any, the SAE ID is the CN)\n"
"  --rate BITS              key generation rate, bits/s (default 1000000)\n"
"  --max-key-count N        keys of key_size bits the link stores (1000)\n"
"  --initial-keys N         keys stored at start (default max-key-count)\n"
"  --key-size BITS          default key size (256)\n"
"  --min-key-size BITS      (64)\n"
"  --max-key-size BITS      (8192)\n"
"  --max-key-per-request N  (128)\n"
"  --max-sae-id-count N     additional slave SAEs per request (0)\n"
"  --max-waiting N          keys waiting for dec_keys, at most (100000)\n"
"  --fault [a:|b:]SPEC      arm a fault at start; SPEC is latency=MS, 503,\n"
"                           malformed-json, wrong-key-length, mismatched-ids,\n"
"                           bad-key-id, bad-base64, wrong-count or drop,\n"
"                           optionally followed by ,count=N\n"
"  --fault004 [a:|b:]SPEC   arm an ETSI 004 fault: latency=MS, drop,\n"
"                           malformed, peer-not-connected, insufficient-key,\n"
"                           timeout or no-connection, [,count=N]\n"
"  --control PATH           Unix socket for run-time commands\n"
"  --port-file PATH         write \"a=PORT b=PORT\" there once serving (with\n"
"                           \" a004=PORT b004=PORT\" for the 004 listeners)\n"
"  --ready-fd N             write the same line to fd N and close it\n"
"  -v, --verbose            log every request (never key material)\n"
"  -h, --help, --version\n", f);
}

static char *read_file(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "qktls-kme-sim: %s %s: %s\n", what, path,
			strerror(errno));
		return NULL;
	}
	do {
		if (cap - len < 4096) {
			char *p;

			cap = cap ? cap * 2 : 8192;
			p = OPENSSL_malloc(cap);
			if (!p)
				goto fail;
			if (buf) {
				memcpy(p, buf, len);
				OPENSSL_clear_free(buf, cap / 2);
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n && len < (1 << 20));
	if (ferror(f) || len >= (1 << 20))
		goto fail;
	buf[len] = '\0';
	fclose(f);
	return buf;
fail:
	fprintf(stderr, "qktls-kme-sim: cannot read %s %s\n", what, path);
	if (buf)
		OPENSSL_clear_free(buf, cap);
	fclose(f);
	return NULL;
}

static int parse_num(const char *opt, const char *arg, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-') {
		fprintf(stderr, "qktls-kme-sim: %s wants a number, got \"%s\"\n",
			opt, arg);
		return -1;
	}
	return 0;
}

static int add_sae(struct kme *k, const char *id)
{
	if (k->n_saes == SIM_MAX_SAES || !*id || strlen(id) > SIM_ID_MAX) {
		fprintf(stderr, "qktls-kme-sim: too many SAEs on KME %c, or a bad SAE ID\n",
			k->name);
		return -1;
	}
	k->saes[k->n_saes] = strdup(id);
	return k->saes[k->n_saes++] ? 0 : -1;
}

static int write_ready(const char *line, const char *path, int fd)
{
	size_t len = strlen(line);
	struct stat st;

	if (fd >= 0) {
		if (write(fd, line, len) != (ssize_t)len) {
			fprintf(stderr, "qktls-kme-sim: --ready-fd %d: %s\n", fd,
				strerror(errno));
			return -1;
		}
		close(fd);
	}
	if (!path)
		return 0;
	if (!stat(path, &st) && S_ISFIFO(st.st_mode)) {
		int f = open(path, O_WRONLY | O_CLOEXEC);

		if (f < 0 || write(f, line, len) != (ssize_t)len) {
			fprintf(stderr, "qktls-kme-sim: %s: %s\n", path, strerror(errno));
			return -1;
		}
		close(f);
	} else {
		/* A regular file appears whole: written aside, then renamed. */
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
		f = fopen(tmp, "w");
		if (!f || fputs(line, f) < 0 || fclose(f) || rename(tmp, path)) {
			fprintf(stderr, "qktls-kme-sim: %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

enum {
	O_A_LISTEN = 256, O_B_LISTEN, O_A_CERT, O_A_KEY, O_B_CERT, O_B_KEY,
	O_CA, O_A_ID, O_B_ID, O_A_SAE, O_B_SAE, O_MAP, O_RATE, O_MAX_KEYS,
	O_INITIAL, O_KEY_SIZE, O_MIN_SIZE, O_MAX_SIZE, O_PER_REQ, O_SAE_COUNT,
	O_WAITING, O_FAULT, O_CONTROL, O_PORT_FILE, O_READY_FD, O_VERSION,
	O_A_LISTEN4, O_B_LISTEN4, O_FAULT4,
};

static const struct option opts[] = {
	{ "a-listen", 1, NULL, O_A_LISTEN }, { "b-listen", 1, NULL, O_B_LISTEN },
	{ "a-listen-004", 1, NULL, O_A_LISTEN4 },
	{ "b-listen-004", 1, NULL, O_B_LISTEN4 },
	{ "fault004", 1, NULL, O_FAULT4 },
	{ "a-cert", 1, NULL, O_A_CERT }, { "a-key", 1, NULL, O_A_KEY },
	{ "b-cert", 1, NULL, O_B_CERT }, { "b-key", 1, NULL, O_B_KEY },
	{ "ca", 1, NULL, O_CA }, { "a-id", 1, NULL, O_A_ID },
	{ "b-id", 1, NULL, O_B_ID }, { "a-sae", 1, NULL, O_A_SAE },
	{ "b-sae", 1, NULL, O_B_SAE }, { "map", 1, NULL, O_MAP },
	{ "rate", 1, NULL, O_RATE }, { "max-key-count", 1, NULL, O_MAX_KEYS },
	{ "initial-keys", 1, NULL, O_INITIAL }, { "key-size", 1, NULL, O_KEY_SIZE },
	{ "min-key-size", 1, NULL, O_MIN_SIZE }, { "max-key-size", 1, NULL, O_MAX_SIZE },
	{ "max-key-per-request", 1, NULL, O_PER_REQ },
	{ "max-sae-id-count", 1, NULL, O_SAE_COUNT },
	{ "max-waiting", 1, NULL, O_WAITING }, { "fault", 1, NULL, O_FAULT },
	{ "control", 1, NULL, O_CONTROL }, { "port-file", 1, NULL, O_PORT_FILE },
	{ "ready-fd", 1, NULL, O_READY_FD }, { "verbose", 0, NULL, 'v' },
	{ "help", 0, NULL, 'h' }, { "version", 0, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	static struct sim sim;
	struct sim *s = &sim;
	struct kme *a = &s->kme[0], *b = &s->kme[1];
	const char *control = NULL, *port_file = NULL;
	unsigned long v, initial = ULONG_MAX, ready_fd = ULONG_MAX;
	char line[160], why[256];
	sigset_t sigs;
	int c, sig, ret = 1;

	/* Key bytes pass through jansson as base64: wipe what it frees. */
	qk_json_use_wiping_alloc();
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->request_taken, NULL);
	a->name = 'a';
	b->name = 'b';
	a->listen = b->listen = "127.0.0.1:0";
	a->peer = b;
	b->peer = a;
	a->sim = b->sim = s;
	a->fd004 = b->fd004 = -1;
	s->rate = 1000000;
	s->key_size = 256;
	s->max_key_count = 1000;
	s->min_key_size = 64;
	s->max_key_size = 8192;
	s->max_key_per_request = 128;
	s->max_reserved = 100000;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		struct kme *k = NULL;
		const char *name = NULL;
		unsigned long *num = NULL;

		switch (c) {
		case O_A_LISTEN: a->listen = optarg; break;
		case O_B_LISTEN: b->listen = optarg; break;
		case O_A_LISTEN4: a->listen004 = optarg; break;
		case O_B_LISTEN4: b->listen004 = optarg; break;
		case O_A_CERT: a->cert_file = optarg; break;
		case O_A_KEY: a->key_file = optarg; break;
		case O_B_CERT: b->cert_file = optarg; break;
		case O_B_KEY: b->key_file = optarg; break;
		case O_CA: s->ca_file = optarg; break;
		case O_A_ID: free(a->id); a->id = strdup(optarg); break;
		case O_B_ID: free(b->id); b->id = strdup(optarg); break;
		case O_A_SAE: if (add_sae(a, optarg)) return 2; break;
		case O_B_SAE: if (add_sae(b, optarg)) return 2; break;
		case O_MAP: {
			char *eq = strchr(optarg, '=');
			struct cn_map *m;

			if (!eq || eq == optarg || !eq[1]) {
				fprintf(stderr, "qktls-kme-sim: --map wants CN=SAE_ID\n");
				return 2;
			}
			m = realloc(s->map, (s->n_map + 1) * sizeof(*m));
			if (!m)
				return 1;
			s->map = m;
			m[s->n_map].cn = strndup(optarg, eq - optarg);
			m[s->n_map++].sae = strdup(eq + 1);
			break;
		}
		case O_RATE: num = &v; name = "--rate"; break;
		case O_MAX_KEYS: num = &s->max_key_count; name = "--max-key-count"; break;
		case O_INITIAL: num = &initial; name = "--initial-keys"; break;
		case O_KEY_SIZE: num = &s->key_size; name = "--key-size"; break;
		case O_MIN_SIZE: num = &s->min_key_size; name = "--min-key-size"; break;
		case O_MAX_SIZE: num = &s->max_key_size; name = "--max-key-size"; break;
		case O_PER_REQ: num = &s->max_key_per_request; name = "--max-key-per-request"; break;
		case O_SAE_COUNT: num = &s->max_sae_id_count; name = "--max-sae-id-count"; break;
		case O_WAITING: num = &s->max_reserved; name = "--max-waiting"; break;
		case O_READY_FD: num = &ready_fd; name = "--ready-fd"; break;
		case O_FAULT:
		case O_FAULT4: {
			const char *spec = optarg;
			int (*parse)(const char *, struct fault *, char *, size_t) =
				c == O_FAULT ? fault_parse : fault004_parse;
			struct fault *fa = c == O_FAULT ? &a->fault : &a->fault004;
			struct fault *fb = c == O_FAULT ? &b->fault : &b->fault004;

			if (spec[0] && spec[1] == ':') {
				k = spec[0] == 'a' ? a : spec[0] == 'b' ? b : NULL;
				if (!k) {
					fprintf(stderr, "qktls-kme-sim: --fault a:SPEC or b:SPEC\n");
					return 2;
				}
				spec += 2;
			}
			if ((!k || k == a) && parse(spec, fa, why, sizeof(why)))
				goto bad_fault;
			if ((!k || k == b) && parse(spec, fb, why, sizeof(why)))
				goto bad_fault;
			break;
bad_fault:
			fprintf(stderr, "qktls-kme-sim: --fault%s: %s\n",
				c == O_FAULT ? "" : "004", why);
			return 2;
		}
		case O_CONTROL: control = optarg; break;
		case O_PORT_FILE: port_file = optarg; break;
		case 'v': s->verbose = true; break;
		case 'h': usage(stdout); return 0;
		case O_VERSION: puts("qktls-kme-sim " VERSION); return 0;
		default: usage(stderr); return 2;
		}
		if (num && parse_num(name, optarg, num))
			return 2;
		if (c == O_RATE)
			s->rate = (double)v;
	}
	if (optind != argc || !s->ca_file || !a->cert_file || !a->key_file ||
	    !b->cert_file || !b->key_file) {
		fprintf(stderr, "qktls-kme-sim: --ca, --a-cert, --a-key, --b-cert "
			"and --b-key are required\n");
		usage(stderr);
		return 2;
	}
	if (!s->key_size || s->key_size % 8 || s->min_key_size % 8 ||
	    s->max_key_size % 8 || !s->min_key_size ||
	    s->min_key_size > s->key_size || s->key_size > s->max_key_size ||
	    !s->max_key_count || !s->max_key_per_request ||
	    s->max_sae_id_count >= SIM_MAX_SAES ||
	    (ready_fd > INT32_MAX && ready_fd != ULONG_MAX)) {
		fprintf(stderr, "qktls-kme-sim: inconsistent sizes: need multiples "
			"of 8 with min <= key-size <= max, counts >= 1, "
			"max-sae-id-count < %d\n", SIM_MAX_SAES);
		return 2;
	}
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		fprintf(stderr, "qktls-kme-sim: libmicrohttpd was built without TLS\n");
		return 1;
	}
	if ((!a->id && !(a->id = strdup("KME_A"))) ||
	    (!b->id && !(b->id = strdup("KME_B"))) ||
	    (!a->n_saes && add_sae(a, "SAE_A")) ||
	    (!b->n_saes && add_sae(b, "SAE_B")))
		return 1;
	s->ca_pem = read_file(s->ca_file, "CA file");
	a->cert_pem = read_file(a->cert_file, "KME A certificate");
	a->key_pem = read_file(a->key_file, "KME A key");
	b->cert_pem = read_file(b->cert_file, "KME B certificate");
	b->key_pem = read_file(b->key_file, "KME B key");
	if (!s->ca_pem || !a->cert_pem || !a->key_pem || !b->cert_pem || !b->key_pem)
		goto out;
	link_init(s, initial == ULONG_MAX ? s->max_key_count : initial);

	/* Signals go to sigwait() below, never to the server threads. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (http_start(a) || http_start(b))
		goto out;
	if ((a->listen004 && e004_start(a)) || (b->listen004 && e004_start(b)))
		goto out;
	if (control && control_start(s, control))
		goto out;
	if (a->listen004 || b->listen004)
		snprintf(line, sizeof(line), "a=%u b=%u a004=%u b004=%u\n",
			 a->port, b->port, a->port004, b->port004);
	else
		snprintf(line, sizeof(line), "a=%u b=%u\n", a->port, b->port);
	if (write_ready(line, port_file,
			ready_fd == ULONG_MAX ? -1 : (int)ready_fd))
		goto out;
	if (s->verbose)
		fprintf(stderr, "qktls-kme-sim: KME %s on %s port %u, KME %s on %s port %u\n",
			a->id, a->listen, a->port, b->id, b->listen, b->port);
	sigwait(&sigs, &sig);
	sim_log(s, "signal %d: stopping", sig);
	ret = 0;
out:
	control_stop();
	e004_stop(a);
	e004_stop(b);
	http_stop(a);
	http_stop(b);
	pthread_mutex_lock(&s->lock);
	link_free(s);
	e004_free_streams(s);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < 2; i++) {
		struct kme *k = &s->kme[i];

		if (k->key_pem)
			OPENSSL_clear_free(k->key_pem, strlen(k->key_pem));
		OPENSSL_free(k->cert_pem);
		free(k->id);
		for (size_t j = 0; j < k->n_saes; j++)
			free(k->saes[j]);
	}
	OPENSSL_free(s->ca_pem);
	for (size_t i = 0; i < s->n_map; i++) {
		free(s->map[i].cn);
		free(s->map[i].sae);
	}
	free(s->map);
	return ret;
}
