// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-bench-handshake: handshake latency and handshakes per second
 * through qktlsd (qktls_handshake()) against a plain OpenSSL loop.
 *
 *   qktls-bench-handshake server --port P [--addr A]
 *           (--agent SOCK --link NAME | --openssl --cert F --key F --ca F)
 *       accepts connections until killed, a thread each: the hand-off to
 *       the agent (or SSL_accept()), then it reads a 32-byte token and
 *       writes it back; prints "LISTEN PORT" once it listens
 *   qktls-bench-handshake client --addr A [--clients 1,8,64] [--count N]
 *           [--runs R] [--agent SOCK] [--cert F --key F --ca F --peer NAME]
 *           --target LABEL=openssl:PORT --target LABEL=KIND:LINK:PORT ...
 *           [--unavailable LABEL=WHY] [--csv FILE] [--summary FILE]
 *       KIND: plain (the handshake must not use a QKD key, group
 *       X25519MLKEM768) or qkd (it must use one).  The first target is the
 *       baseline, the second the reference of the "vs plain" column.
 *
 * For every number of concurrent clients, --runs rounds; a round runs every
 * target once, back to back, starting with a different one.  A run makes
 * max(--count, 2 x clients) handshakes from that many threads, each
 * connecting a fresh TCP socket, timing the handshake call alone
 * (qktls_handshake(), or SSL_connect()), then sending a random token and
 * checking the echo (through kTLS, or SSL_write()/SSL_read()).  Printed per
 * target: handshakes per second of the runs (median and range), latency
 * median and p99 over all handshakes, and the ratios of the median latency
 * to the baseline's and to the reference's in the same round (median and
 * range).  Asserts nothing about time; fails when a handshake fails, does
 * not use the group asked for, or an echo differs.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "../../tests/lib/ktls.h"

#include <qktls/handshake.h>

#include "bench.h"

#define PROG		"qktls-bench-handshake"
#define TOKEN		32
#define MAX_TARGETS	8
#define MAX_CLIENTS	256
#define SUITE		"TLS_AES_256_GCM_SHA384"

enum kind { K_OPENSSL, K_PLAIN, K_QKD };

struct target {
	char label[48];
	enum kind kind;
	char link[QKTLS_LINK_NAME_MAX];
	unsigned int port;
	const char *why;		/* --unavailable: the row says this */
};

struct opts {
	const char *addr, *agent, *cert, *key, *ca, *peer, *link;
	const char *csv, *summary;
	unsigned int port, clients[4], n_clients, count, runs;
	bool openssl;
	struct target t[MAX_TARGETS];
	unsigned int n_targets;
};

static struct sockaddr_in addr_of(const char *addr, unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		bad_usage("--addr: \"%s\" is not an IPv4 address", addr);
	return a;
}

/* ---- server ---------------------------------------------------------------------- */

struct conn {
	const struct opts *o;
	SSL_CTX *ctx;
	int fd;
};

/* Echo the token; for openssl through @ssl.  Then wait for the client's close. */
static void *serve(void *arg)
{
	struct conn *c = arg;
	uint8_t buf[TOKEN];
	struct qktls_result res;
	SSL *ssl = NULL;
	size_t n;

	if (c->ctx) {
		ssl = SSL_new(c->ctx);
		if (!ssl || !SSL_set_fd(ssl, c->fd) || SSL_accept(ssl) != 1) {
			fprintf(stderr, PROG ": server: SSL_accept: %s\n", bench_ssl_error());
			goto out;
		}
		if (SSL_read_ex(ssl, buf, TOKEN, &n) == 1 && n == TOKEN &&
		    SSL_write_ex(ssl, buf, TOKEN, &n) == 1)
			while (SSL_read_ex(ssl, buf, sizeof(buf), &n) == 1)
				;
	} else {
		if (qktls_handshake_at(c->o->agent, c->fd, c->o->link,
				       QKTLS_ROLE_SERVER, &res)) {
			fprintf(stderr, PROG ": server: hand-off: %s\n", res.error);
			goto out;
		}
		if (read_full(c->fd, buf, TOKEN) == TOKEN &&
		    write_full(c->fd, buf, TOKEN) == TOKEN)
			while (read(c->fd, buf, sizeof(buf)) > 0)
				;
	}
out:
	SSL_free(ssl);
	close(c->fd);
	free(c);
	return NULL;
}

static int server(const struct opts *o)
{
	struct sockaddr_in a = addr_of(o->addr, o->port);
	socklen_t alen = sizeof(a);
	SSL_CTX *ctx = NULL;
	pthread_attr_t attr;
	int l, one = 1;

	if (o->openssl)
		ctx = bench_ssl_ctx(true, SUITE, o->cert, o->key, o->ca);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (void *)&a, sizeof(a)) || listen(l, 1024) ||
	    getsockname(l, (void *)&a, &alen))
		die("listen on %s:%u: %s", o->addr, o->port, strerror(errno));
	printf("LISTEN %u\n", ntohs(a.sin_port));
	fflush(stdout);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		struct conn *c = malloc(sizeof(*c));
		pthread_t t;

		if (!c)
			die("out of memory");
		c->o = o;
		c->ctx = ctx;
		c->fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c->fd < 0) {
			free(c);
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		if (pthread_create(&t, &attr, serve, c))
			die("cannot start a connection thread");
	}
}

/* ---- client ---------------------------------------------------------------------- */

struct run {
	const struct opts *o;
	const struct target *t;
	SSL_CTX *ctx;
	unsigned int total;
	atomic_uint next;
	double *lat;			/* one per handshake, seconds */
	atomic_int failed;
	char why[300];
	pthread_mutex_t lock;
};

static void run_fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void run_fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->failed) {
		va_start(ap, fmt);
		vsnprintf(r->why, sizeof(r->why), fmt, ap);
		va_end(ap);
		r->failed = 1;
	}
	pthread_mutex_unlock(&r->lock);
}

/* One handshake and echo; its latency in r->lat[i]. */
static void one(struct run *r, unsigned int i)
{
	const struct target *t = r->t;
	struct sockaddr_in a = addr_of(r->o->addr, t->port);
	uint8_t tok[TOKEN], back[TOKEN];
	struct qktls_result res;
	SSL *ssl = NULL;
	int fd, one = 1;
	double t0;
	size_t n;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (void *)&a, sizeof(a))) {
		run_fail(r, "connect to %s:%u: %s", r->o->addr, t->port, strerror(errno));
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (RAND_bytes(tok, TOKEN) != 1) {
		run_fail(r, "no random token");
		goto out;
	}
	if (t->kind == K_OPENSSL) {
		ssl = SSL_new(r->ctx);
		if (!ssl || !SSL_set_fd(ssl, fd) ||
		    !SSL_set_tlsext_host_name(ssl, r->o->peer) ||
		    !SSL_set1_host(ssl, r->o->peer)) {
			run_fail(r, "SSL_new: %s", bench_ssl_error());
			goto out;
		}
		t0 = now();
		if (SSL_connect(ssl) != 1) {
			run_fail(r, "%s: SSL_connect: %s", t->label, bench_ssl_error());
			goto out;
		}
		r->lat[i] = now() - t0;
		if (SSL_write_ex(ssl, tok, TOKEN, &n) != 1 ||
		    SSL_read_ex(ssl, back, TOKEN, &n) != 1 || n != TOKEN ||
		    memcmp(tok, back, TOKEN)) {
			run_fail(r, "%s: the echo through OpenSSL differs or failed", t->label);
			goto out;
		}
		SSL_shutdown(ssl);
	} else {
		t0 = now();
		if (qktls_handshake_at(r->o->agent, fd, t->link, QKTLS_ROLE_CLIENT, &res)) {
			run_fail(r, "%s: qktls_handshake on link %s: %s", t->label, t->link,
				 res.error[0] ? res.error : strerror(-res.status));
			goto out;
		}
		r->lat[i] = now() - t0;
		if (t->kind == K_QKD ? !res.qkd_used :
		    res.qkd_used || strcmp(res.group, "X25519MLKEM768")) {
			run_fail(r, "%s: group %s, QKD key %s (%s): not the handshake asked for",
				 t->label, res.group, res.qkd_used ? "used" : "not used",
				 res.qkd_note[0] ? res.qkd_note : "-");
			goto out;
		}
		if (write_full(fd, tok, TOKEN) != TOKEN ||
		    read_full(fd, back, TOKEN) != TOKEN || memcmp(tok, back, TOKEN)) {
			run_fail(r, "%s: the echo through kTLS differs or failed", t->label);
			goto out;
		}
	}
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
}

static void *client_main(void *arg)
{
	struct run *r = arg;
	unsigned int i;

	while (!r->failed && (i = atomic_fetch_add(&r->next, 1)) < r->total)
		one(r, i);
	return NULL;
}

struct result {
	double hps, lat_med;
};

/* One run of @t with @clients threads; its latencies appended to @lat. */
static struct result run_once(const struct opts *o, const struct target *t,
			      SSL_CTX *ctx, unsigned int clients, struct samples *lat)
{
	pthread_t th[MAX_CLIENTS];
	struct run r = { .o = o, .t = t, .ctx = ctx };
	struct samples mine = { 0 };
	struct result res;
	unsigned int i;
	double t0;

	r.total = o->count > 2 * clients ? o->count : 2 * clients;
	r.lat = calloc(r.total, sizeof(*r.lat));
	if (!r.lat)
		die("out of memory");
	pthread_mutex_init(&r.lock, NULL);
	t0 = now();
	for (i = 0; i < clients; i++)
		if (pthread_create(&th[i], NULL, client_main, &r))
			die("cannot start a client thread");
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	t0 = now() - t0;
	if (r.failed)
		die("%s", r.why);
	for (i = 0; i < r.total; i++) {
		sample_add(lat, r.lat[i]);
		sample_add(&mine, r.lat[i]);
	}
	res.hps = r.total / t0;
	res.lat_med = quantile(&mine, 0.5);
	samples_free(&mine);
	free(r.lat);
	pthread_mutex_destroy(&r.lock);
	return res;
}

struct cell {
	struct samples hps, lat, vs_base, vs_ref;
};

static void print_row(FILE *sum, const struct bench_context *ctx, unsigned int clients,
		      const struct target *t, struct cell *c, unsigned int runs, bool base)
{
	if (t->why) {
		printf("  %-34s not available: %s\n", t->label, t->why);
		return;
	}
	printf("  %-34s %4u %7.1f %6.1f .. %-6.1f %8.1f %8.1f %7.3f %8.3f %6.3f .. %-6.3f\n",
	       t->label, runs, quantile(&c->hps, 0.5), quantile(&c->hps, 0),
	       quantile(&c->hps, 1), quantile(&c->lat, 0.5) * 1e3,
	       quantile(&c->lat, 0.99) * 1e3, quantile(&c->vs_base, 0.5),
	       quantile(&c->vs_ref, 0.5), quantile(&c->vs_ref, 0), quantile(&c->vs_ref, 1));
	if (sum)
		fprintf(sum, "%s,%s,%u,%s,%s,%u,%zu,%.2f,%.2f,%.2f,%.3f,%.3f,%.4f,%.4f,%.4f,%.4f\n",
			ctx->kernel, ctx->accel, clients, t->label,
			base ? "baseline" : t->kind == K_QKD ? "qkd" : "plain", runs,
			c->lat.n, quantile(&c->hps, 0.5), quantile(&c->hps, 0),
			quantile(&c->hps, 1), quantile(&c->lat, 0.5) * 1e3,
			quantile(&c->lat, 0.99) * 1e3, quantile(&c->vs_base, 0.5),
			quantile(&c->vs_ref, 0.5), quantile(&c->vs_ref, 0),
			quantile(&c->vs_ref, 1));
}

static int client(const struct opts *o)
{
	struct cell cells[MAX_TARGETS];
	struct bench_context ctx;
	unsigned int k, r, j, measured[MAX_TARGETS], n_m = 0;
	SSL_CTX *ssl = bench_ssl_ctx(false, SUITE, o->cert, o->key, o->ca);
	FILE *csv, *sum;

	for (j = 0; j < o->n_targets; j++)
		if (!o->t[j].why)
			measured[n_m++] = j;
	if (n_m < 2 || o->t[measured[0]].kind != K_OPENSSL)
		bad_usage("the first --target must be openssl:PORT, and one more is needed");
	if (o->t[measured[0]].kind == K_OPENSSL && (!o->cert || !o->ca || !o->peer))
		bad_usage("an openssl target needs --cert, --key, --ca and --peer");
	bench_context(&ctx);
	csv = bench_csv_open(o->csv, "kernel,accel,clients,target,run,handshakes_per_s,"
			     "latency_median_ms");
	sum = bench_csv_open(o->summary, "kernel,accel,clients,target,kind,runs,handshakes,"
			     "hps,hps_min,hps_max,latency_median_ms,latency_p99_ms,"
			     "latency_vs_baseline,latency_vs_plain,latency_vs_plain_min,"
			     "latency_vs_plain_max");
	bench_context_print(&ctx);
	printf("handshake: TLS 1.3, %s, mutual certificates (EC P-256); baseline %s;\n"
	       "latency: the handshake call alone (qktls_handshake(), SSL_connect()); hs/s: whole\n"
	       "loop (connect, handshake, 32-byte echo checked, close); ratios: median latency\n"
	       "against the baseline's and against %s's in the same round\n",
	       SUITE, o->t[measured[0]].label, o->t[measured[1]].label);
	for (k = 0; k < o->n_clients; k++) {
		unsigned int c = o->clients[k];
		struct samples warm = { 0 };

		memset(cells, 0, sizeof(cells));
		/* Warm-up: one run of every target, not counted. */
		for (j = 0; j < n_m; j++)
			run_once(o, &o->t[measured[j]], ssl, c, &warm);
		samples_free(&warm);
		for (r = 0; r < o->runs; r++) {
			struct result res[MAX_TARGETS];

			for (j = 0; j < n_m; j++) {
				unsigned int m = measured[(r + j) % n_m];

				res[m] = run_once(o, &o->t[m], ssl, c, &cells[m].lat);
				sample_add(&cells[m].hps, res[m].hps);
				if (csv)
					fprintf(csv, "%s,%s,%u,%s,%u,%.2f,%.3f\n", ctx.kernel,
						ctx.accel, c, o->t[m].label, r + 1, res[m].hps,
						res[m].lat_med * 1e3);
			}
			for (j = 0; j < n_m; j++) {
				unsigned int m = measured[j];

				sample_add(&cells[m].vs_base, res[m].lat_med / res[measured[0]].lat_med);
				sample_add(&cells[m].vs_ref, res[m].lat_med / res[measured[1]].lat_med);
			}
		}
		printf("\n%u concurrent client%s, %u runs of %u handshakes:\n", c,
		       c == 1 ? "" : "s", o->runs, o->count > 2 * c ? o->count : 2 * c);
		printf("  %-34s %4s %7s %16s %8s %8s %7s %8s %16s\n", "target", "runs", "hs/s",
		       "(range)", "med ms", "p99 ms", "vs base", "vs plain", "(range)");
		for (j = 0; j < o->n_targets; j++) {
			print_row(sum, &ctx, c, &o->t[j], &cells[j], o->runs, j == measured[0]);
			samples_free(&cells[j].hps);
			samples_free(&cells[j].lat);
			samples_free(&cells[j].vs_base);
			samples_free(&cells[j].vs_ref);
		}
		fflush(stdout);
	}
	if ((csv && fclose(csv)) || (sum && fclose(sum)))
		die("cannot write the CSV files: %s", strerror(errno));
	SSL_CTX_free(ssl);
	return 0;
}

/* ---- arguments ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("Usage: " PROG " server --port P [--addr A] (--agent SOCK --link NAME |\n"
	      "                                   --openssl --cert F --key F --ca F)\n"
	      "       " PROG " client --addr A [--clients N,N...] [--count N] [--runs R]\n"
	      "                         [--agent SOCK] [--cert F --key F --ca F --peer NAME]\n"
	      "                         --target LABEL=openssl:PORT\n"
	      "                         --target LABEL=plain|qkd:LINK:PORT ...\n"
	      "                         [--unavailable LABEL=WHY] [--csv F] [--summary F]\n"
	      "The first target is the baseline, the second the reference of \"vs plain\".\n"
	      "Defaults: --clients 1,8,64 --count 48 --runs 3.  See\n"
	      "Documentation/benchmarks.rst.\n", f);
}

static void parse_target(struct opts *o, const char *arg, bool unavailable)
{
	struct target *t;
	char buf[160], *eq, *kind, *rest, *port;

	if (o->n_targets == MAX_TARGETS)
		bad_usage("at most %d targets", MAX_TARGETS);
	t = &o->t[o->n_targets++];
	snprintf(buf, sizeof(buf), "%s", arg);
	eq = strchr(buf, '=');
	if (!eq || eq == buf || (size_t)(eq - buf) >= sizeof(t->label))
		bad_usage("\"%s\": LABEL=... with a label of 1 to 47 characters", arg);
	memcpy(t->label, buf, (size_t)(eq - buf));
	if (unavailable) {
		t->why = strdup(eq + 1);
		return;
	}
	kind = eq + 1;
	rest = strchr(kind, ':');
	if (!rest)
		bad_usage("--target \"%s\": openssl:PORT or plain|qkd:LINK:PORT", arg);
	*rest++ = 0;
	if (!strcmp(kind, "openssl")) {
		t->kind = K_OPENSSL;
		port = rest;
	} else {
		if (!strcmp(kind, "plain"))
			t->kind = K_PLAIN;
		else if (!strcmp(kind, "qkd"))
			t->kind = K_QKD;
		else
			bad_usage("--target \"%s\": the kind is openssl, plain or qkd", arg);
		port = strchr(rest, ':');
		if (!port || port == rest || (size_t)(port - rest) >= sizeof(t->link))
			bad_usage("--target \"%s\": %s:LINK:PORT", arg, kind);
		memcpy(t->link, rest, (size_t)(port - rest));
		port++;
	}
	t->port = (unsigned int)parse_uint("--target port", port, 1, 65535);
}

static void parse_clients(struct opts *o, const char *arg)
{
	char buf[64], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	o->n_clients = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->n_clients == 4)
			bad_usage("--clients: at most four numbers");
		o->clients[o->n_clients++] =
			(unsigned int)parse_uint("--clients", tok, 1, MAX_CLIENTS);
	}
	if (!o->n_clients)
		bad_usage("--clients: \"%s\" names no number", arg);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "agent", required_argument, NULL, 'A' },
		{ "link", required_argument, NULL, 'l' },
		{ "openssl", no_argument, NULL, 'o' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "ca", required_argument, NULL, 'R' },
		{ "peer", required_argument, NULL, 'P' },
		{ "clients", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "target", required_argument, NULL, 't' },
		{ "unavailable", required_argument, NULL, 'u' },
		{ "csv", required_argument, NULL, 'v' },
		{ "summary", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.addr = "127.0.0.1", .clients = { 1, 8, 64 }, .n_clients = 3,
		.count = 48, .runs = 3,
	};
	bool is_server;
	int c;

	bench_prog = PROG;
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
		usage(stderr);
		return 2;
	}
	is_server = argv[1][0] == 's';
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.addr = optarg; break;
		case 'p': o.port = (unsigned int)parse_uint("--port", optarg, 0, 65535); break;
		case 'A': o.agent = optarg; break;
		case 'l': o.link = optarg; break;
		case 'o': o.openssl = true; break;
		case 'C': o.cert = optarg; break;
		case 'K': o.key = optarg; break;
		case 'R': o.ca = optarg; break;
		case 'P': o.peer = optarg; break;
		case 'c': parse_clients(&o, optarg); break;
		case 'n': o.count = (unsigned int)parse_uint("--count", optarg, 1, 1000000); break;
		case 'r': o.runs = (unsigned int)parse_uint("--runs", optarg, 1, 1000); break;
		case 't': parse_target(&o, optarg, false); break;
		case 'u': parse_target(&o, optarg, true); break;
		case 'v': o.csv = optarg; break;
		case 's': o.summary = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument \"%s\" (see --help)", argv[optind]);
	signal(SIGPIPE, SIG_IGN);
	if (is_server) {
		if (o.openssl ? !o.cert || !o.key || !o.ca : !o.agent || !o.link)
			bad_usage("server: --agent and --link, or --openssl with --cert, --key and --ca");
		return server(&o);
	}
	if (!o.agent)
		for (c = 0; c < (int)o.n_targets; c++)
			if (!o.t[c].why && o.t[c].kind != K_OPENSSL)
				bad_usage("targets through the agent need --agent");
	return client(&o);
}
