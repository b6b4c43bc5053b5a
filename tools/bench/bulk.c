// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-bench-bulk: bulk throughput and CPU time per byte of kTLS against
 * userspace OpenSSL and plain TCP, over a veth link between two network
 * namespaces (or loopback).
 *
 * For each cipher suite and each number of streams (1 and 8 by default),
 * --runs rounds; a round runs every mode once, back to back, starting with
 * a different one:
 *   tcp            plain TCP, write() (the ceiling)
 *   ktls-write     kTLS, plain write()
 *   ktls-sendfile  kTLS, plain sendfile() from a memfd
 *   openssl        userspace OpenSSL SSL_write()/SSL_read(), same suite
 * A run connects its streams afresh (client end in the first namespace,
 * server end in the second), forks the receiver, and sends for --seconds
 * from a 16 MiB buffer of random bytes in calls of 64 KiB; the receiver
 * reads with read() (SSL_read() for openssl) and checks every byte against
 * the same buffer.  kTLS is keyed with random traffic secrets (the
 * handshake is not what is measured); OpenSSL does a TLS 1.3 handshake
 * with X25519MLKEM768 first, outside the measured time.
 *
 * Printed per suite and streams: throughput (receiver: first byte to the
 * last end of stream), median and range over the runs, its ratio to
 * userspace OpenSSL within each round (median and range), and the CPU time
 * per MiB of each end (getrusage of the sending and the receiving process,
 * which includes the kernel work done in their context).  Figures also go
 * to --csv, one row per run.  Asserts nothing about time; fails when a
 * byte differs or a stream breaks.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "../../tests/lib/ktls_secrets.h"

#include <qktls/keysched.h>

#include "bench.h"

#define PROG		"qktls-bench-bulk"
#define CALL		(64 * 1024)	/* bytes per write/sendfile/SSL_write */
#define PATTERN		(16 * MiB)	/* the data, sent over and over */
#define MAX_STREAMS	64

enum mode { M_TCP, M_KTLS_WRITE, M_KTLS_SENDFILE, M_OPENSSL, N_MODES };

static const char *const mode_name[N_MODES] = {
	[M_TCP] = "tcp", [M_KTLS_WRITE] = "ktls-write",
	[M_KTLS_SENDFILE] = "ktls-sendfile", [M_OPENSSL] = "openssl",
};

static const char *const mode_what[N_MODES] = {
	[M_TCP] = "plain TCP, write()",
	[M_KTLS_WRITE] = "kTLS, write()",
	[M_KTLS_SENDFILE] = "kTLS, sendfile()",
	[M_OPENSSL] = "OpenSSL SSL_write()",
};

struct opts {
	const char *ns[2];		/* client's and server's netns, or NULL */
	const char *addr;		/* the server's address */
	double seconds;
	unsigned int runs;
	unsigned int streams[4], n_streams;
	const struct qktls_suite_info *suites[3];
	unsigned int n_suites;
	const char *csv, *summary;
};

/* The data: PATTERN random bytes in a memfd, mapped (shared with the child). */
static int pattern_fd;
static const uint8_t *pattern;

static void pattern_make(void)
{
	uint8_t *p;

	pattern_fd = memfd_create(PROG, MFD_CLOEXEC);
	if (pattern_fd < 0 || ftruncate(pattern_fd, PATTERN))
		die("memfd: %s", strerror(errno));
	p = mmap(NULL, PATTERN, PROT_READ | PROT_WRITE, MAP_SHARED, pattern_fd, 0);
	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (RAND_bytes(p, PATTERN) != 1)
		die("no random bytes");
	pattern = p;
}

/* ---- connections over the link ------------------------------------------------ */

/* @n connected pairs: c[i] in the first namespace, s[i] in the second. */
static void connect_streams(const struct opts *o, unsigned int n, int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	unsigned int i;
	int l;

	if (inet_pton(AF_INET, o->addr, &a.sin_addr) != 1)
		bad_usage("--addr: \"%s\" is not an IPv4 address", o->addr);
	enter_netns(o->ns[1]);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (void *)&a, sizeof(a)) || listen(l, MAX_STREAMS) ||
	    getsockname(l, (void *)&a, &alen))
		die("listen on %s: %s", o->addr, strerror(errno));
	enter_netns(o->ns[0]);
	for (i = 0; i < n; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c[i] < 0 || connect(c[i], (void *)&a, sizeof(a)))
			die("connect to %s: %s", o->addr, strerror(errno));
		s[i] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (s[i] < 0)
			die("accept: %s", strerror(errno));
	}
	close(l);
}

/* ---- one end of a run --------------------------------------------------------------- */

struct end {
	enum mode mode;
	bool server;
	unsigned int n;
	int *fd;
	SSL_CTX *ctx;
	double deadline;		/* sender: when to stop */
	pthread_barrier_t ready, go;	/* the streams are ready; start */
};

/* What a stream, then an end, reports. */
struct result {
	uint64_t bytes;
	double first, last;		/* receiver: first byte, end of stream */
	double cpu;			/* seconds of CPU, the whole end */
	int failed;
	char why[200];
};

struct stream {
	struct end *e;
	unsigned int i;
	struct result r;
};

static void stream_fail(struct stream *st, const char *fmt, const char *arg)
{
	if (!st->r.failed)
		snprintf(st->r.why, sizeof(st->r.why), fmt, st->i, arg);
	st->r.failed = 1;
}

/* Compare @n received bytes at stream offset @off with the pattern. */
static bool verify(const uint8_t *buf, size_t n, uint64_t off)
{
	while (n) {
		size_t at = (size_t)(off % PATTERN), k = PATTERN - at;

		if (k > n)
			k = n;
		if (memcmp(buf, pattern + at, k))
			return false;
		buf += k;
		off += k;
		n -= k;
	}
	return true;
}

static void receive(struct stream *st, int fd, SSL *ssl)
{
	size_t len = 4 * CALL;
	uint8_t *buf = malloc(len);
	ssize_t n;

	if (!buf) {
		stream_fail(st, "stream %u: %s", "out of memory");
		return;
	}
	for (;;) {
		if (ssl) {
			n = SSL_read(ssl, buf, (int)len);
			if (n <= 0) {
				int e = SSL_get_error(ssl, (int)n);

				if (e != SSL_ERROR_ZERO_RETURN)
					stream_fail(st, "stream %u: SSL_read: %s",
						    bench_ssl_error());
				break;
			}
		} else {
			n = read(fd, buf, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				stream_fail(st, "stream %u: read: %s", strerror(errno));
			if (n <= 0)
				break;
		}
		if (!st->r.bytes)
			st->r.first = now();
		if (!verify(buf, (size_t)n, st->r.bytes)) {
			stream_fail(st, "stream %u: %s", "received bytes differ from those sent");
			break;
		}
		st->r.bytes += (uint64_t)n;
	}
	st->r.last = now();
	free(buf);
}

static void send_until(struct stream *st, int fd, SSL *ssl)
{
	enum mode m = st->e->mode;
	uint64_t off = 0;
	long k;

	/* One call at least, however late this thread got the CPU. */
	do {
		size_t at = (size_t)(off % PATTERN);

		if (m == M_OPENSSL) {
			size_t w;

			if (SSL_write_ex(ssl, pattern + at, CALL, &w) != 1 || w != CALL) {
				stream_fail(st, "stream %u: SSL_write: %s", bench_ssl_error());
				return;
			}
			k = CALL;
		} else if (m == M_KTLS_SENDFILE) {
			k = sendfile_full(fd, pattern_fd, (long)at, CALL);
		} else {
			k = write_full(fd, pattern + at, CALL);
		}
		if (k < 0) {
			stream_fail(st, "stream %u: %s", strerror((int)-k));
			return;
		}
		off += (uint64_t)k;
	} while (now() < st->e->deadline);
	st->r.bytes = off;
	if (ssl && SSL_shutdown(ssl) < 0)
		stream_fail(st, "stream %u: SSL_shutdown: %s", bench_ssl_error());
	if (shutdown(fd, SHUT_WR))
		stream_fail(st, "stream %u: shutdown: %s", strerror(errno));
}

static void *stream_main(void *arg)
{
	struct stream *st = arg;
	struct end *e = st->e;
	int fd = e->fd[st->i];
	SSL *ssl = NULL;

	if (e->mode == M_OPENSSL) {
		ssl = SSL_new(e->ctx);
		if (!ssl || !SSL_set_fd(ssl, fd) ||
		    (e->server ? SSL_accept(ssl) : SSL_connect(ssl)) != 1)
			stream_fail(st, "stream %u: TLS handshake: %s", bench_ssl_error());
	}
	pthread_barrier_wait(&e->ready);
	pthread_barrier_wait(&e->go);
	if (!st->r.failed) {
		if (e->server)
			receive(st, fd, ssl);
		else
			send_until(st, fd, ssl);
	}
	SSL_free(ssl);
	return NULL;
}

/* Run one end's streams; their sum in @out. */
static void run_end(struct end *e, double seconds, struct result *out)
{
	struct stream st[MAX_STREAMS];
	pthread_t th[MAX_STREAMS];
	unsigned int i;
	double cpu0;

	memset(st, 0, sizeof(st));
	memset(out, 0, sizeof(*out));
	if (pthread_barrier_init(&e->ready, NULL, e->n + 1) ||
	    pthread_barrier_init(&e->go, NULL, e->n + 1))
		die("pthread_barrier_init failed");
	for (i = 0; i < e->n; i++) {
		st[i].e = e;
		st[i].i = i;
		if (pthread_create(&th[i], NULL, stream_main, &st[i]))
			die("cannot start a stream thread");
	}
	pthread_barrier_wait(&e->ready);
	cpu0 = cpu_secs();
	e->deadline = now() + seconds;
	pthread_barrier_wait(&e->go);
	for (i = 0; i < e->n; i++) {
		pthread_join(th[i], NULL);
		out->bytes += st[i].r.bytes;
		if (!i || st[i].r.first < out->first)
			out->first = st[i].r.first;
		if (st[i].r.last > out->last)
			out->last = st[i].r.last;
		if (st[i].r.failed && !out->failed) {
			out->failed = 1;
			memcpy(out->why, st[i].r.why, sizeof(out->why));
		}
	}
	out->cpu = cpu_secs() - cpu0;
	pthread_barrier_destroy(&e->ready);
	pthread_barrier_destroy(&e->go);
}

struct run {
	double mibps, tx_cpu, rx_cpu;	/* CPU: seconds per MiB */
	uint64_t bytes;
};

static void run_once(const struct opts *o, const struct qktls_suite_info *si,
		     SSL_CTX *sctx, SSL_CTX *cctx, enum mode m, unsigned int n,
		     struct run *out)
{
	int c[MAX_STREAMS], s[MAX_STREAMS], pfd[2];
	struct end e = { .mode = m, .n = n };
	struct result tx, rx;
	unsigned int i;
	pid_t pid;
	int status;

	connect_streams(o, n, c, s);
	if (m == M_KTLS_WRITE || m == M_KTLS_SENDFILE) {
		uint8_t c2s[QKTLS_MAX_HASH_LEN], s2c[QKTLS_MAX_HASH_LEN];

		for (i = 0; i < n; i++) {
			int err;

			if (RAND_bytes(c2s, (int)si->hash_len) != 1 ||
			    RAND_bytes(s2c, (int)si->hash_len) != 1)
				die("no random secrets");
			err = qk_ktls_key_pair(si->suite, c2s, s2c, si->hash_len,
					       c[i], s[i]);
			if (err)
				die("kTLS %s: %s", si->name, qktls_strerror(err));
		}
		OPENSSL_cleanse(c2s, sizeof(c2s));
		OPENSSL_cleanse(s2c, sizeof(s2c));
	}
	if (pipe(pfd))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		/* The receiver: the server ends. */
		for (i = 0; i < n; i++)
			close(c[i]);
		close(pfd[0]);
		e.server = true;
		e.fd = s;
		e.ctx = sctx;
		run_end(&e, 0, &rx);
		if (write(pfd[1], &rx, sizeof(rx)) != sizeof(rx))
			_exit(1);
		_exit(0);
	}
	for (i = 0; i < n; i++)
		close(s[i]);
	close(pfd[1]);
	e.fd = c;
	e.ctx = cctx;
	run_end(&e, o->seconds, &tx);
	for (i = 0; i < n; i++)
		close(c[i]);
	if (read(pfd[0], &rx, sizeof(rx)) != sizeof(rx)) {
		memset(&rx, 0, sizeof(rx));
		rx.failed = 1;
		snprintf(rx.why, sizeof(rx.why), "it reported nothing");
	}
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		die("%s, %s: the receiver process failed", si->name, mode_name[m]);
	if (tx.failed || rx.failed)
		die("%s, %s, %u streams: %s: %s", si->name, mode_name[m], n,
		    tx.failed ? "sender" : "receiver", tx.failed ? tx.why : rx.why);
	if (rx.bytes != tx.bytes)
		die("%s, %s: the receiver got %llu bytes, the sender sent %llu",
		    si->name, mode_name[m], (unsigned long long)rx.bytes,
		    (unsigned long long)tx.bytes);
	if (!rx.bytes || rx.last <= rx.first)
		die("%s, %s: no data moved in %.1f s", si->name, mode_name[m], o->seconds);
	out->bytes = rx.bytes;
	out->mibps = rx.bytes / (rx.last - rx.first) / MiB;
	out->tx_cpu = tx.cpu / (rx.bytes / (double)MiB);
	out->rx_cpu = rx.cpu / (rx.bytes / (double)MiB);
}

/* ---- tables ---------------------------------------------------------------------- */

struct cell {
	struct samples mibps, ratio, tx_cpu, rx_cpu;
};

static void print_table(const struct qktls_suite_info *si, unsigned int n,
			unsigned int runs, struct cell *cells, FILE *sum,
			const struct bench_context *ctx)
{
	unsigned int m;

	for (m = 0; sum && m < N_MODES; m++) {
		struct cell *c = &cells[m];

		fprintf(sum, "%s,%s,%s,%u,%s,%u,%.3f,%.3f,%.3f,%.4f,%.4f,%.4f,%.4f,%.4f\n",
			ctx->kernel, ctx->accel, si->name, n, mode_name[m], runs,
			quantile(&c->mibps, 0.5), quantile(&c->mibps, 0),
			quantile(&c->mibps, 1), quantile(&c->ratio, 0.5),
			quantile(&c->ratio, 0), quantile(&c->ratio, 1),
			quantile(&c->tx_cpu, 0.5) * 1e3, quantile(&c->rx_cpu, 0.5) * 1e3);
	}

	printf("\n%s, %u stream%s, %u runs (median, min .. max):\n", si->name, n,
	       n == 1 ? "" : "s", runs);
	printf("  %-20s %9s %19s %8s %17s %12s %12s\n", "mode", "MiB/s", "(range)",
	       "vs SSL", "(range)", "tx CPU ms/MiB", "rx CPU ms/MiB");
	for (m = 0; m < N_MODES; m++) {
		struct cell *c = &cells[m];

		printf("  %-20s %9.1f %8.1f .. %-8.1f %8.3f %7.3f .. %-7.3f %12.2f %12.2f\n",
		       mode_what[m], quantile(&c->mibps, 0.5), quantile(&c->mibps, 0),
		       quantile(&c->mibps, 1), quantile(&c->ratio, 0.5),
		       quantile(&c->ratio, 0), quantile(&c->ratio, 1),
		       quantile(&c->tx_cpu, 0.5) * 1e3, quantile(&c->rx_cpu, 0.5) * 1e3);
	}
	fflush(stdout);
}

static void bench(const struct opts *o, FILE *csv, FILE *sum,
		  const struct bench_context *ctx)
{
	unsigned int s, k, r, j;

	for (s = 0; s < o->n_suites; s++) {
		const struct qktls_suite_info *si = o->suites[s];
		SSL_CTX *sctx = bench_ssl_ctx(true, si->name, NULL, NULL, NULL);
		SSL_CTX *cctx = bench_ssl_ctx(false, si->name, NULL, NULL, NULL);

		for (k = 0; k < o->n_streams; k++) {
			unsigned int n = o->streams[k];
			struct cell cells[N_MODES];
			struct run warm;

			memset(cells, 0, sizeof(cells));
			/* A short warm-up of every mode, not counted. */
			for (j = 0; j < N_MODES; j++) {
				struct opts w = *o;

				w.seconds = 0.2;
				run_once(&w, si, sctx, cctx, (enum mode)j, n, &warm);
			}
			for (r = 0; r < o->runs; r++) {
				struct run res[N_MODES];

				for (j = 0; j < N_MODES; j++) {
					enum mode m = (enum mode)((r + j) % N_MODES);

					run_once(o, si, sctx, cctx, m, n, &res[m]);
					sample_add(&cells[m].mibps, res[m].mibps);
					sample_add(&cells[m].tx_cpu, res[m].tx_cpu);
					sample_add(&cells[m].rx_cpu, res[m].rx_cpu);
					if (csv)
						fprintf(csv, "%s,%s,%s,%u,%s,%u,%llu,%.3f,%.4f,%.4f\n",
							ctx->kernel, ctx->accel, si->name, n,
							mode_name[m], r + 1,
							(unsigned long long)res[m].bytes,
							res[m].mibps, res[m].tx_cpu * 1e3,
							res[m].rx_cpu * 1e3);
				}
				for (j = 0; j < N_MODES; j++)
					sample_add(&cells[j].ratio,
						   res[j].mibps / res[M_OPENSSL].mibps);
			}
			print_table(si, n, o->runs, cells, sum, ctx);
			for (j = 0; j < N_MODES; j++) {
				samples_free(&cells[j].mibps);
				samples_free(&cells[j].ratio);
				samples_free(&cells[j].tx_cpu);
				samples_free(&cells[j].rx_cpu);
			}
		}
		SSL_CTX_free(sctx);
		SSL_CTX_free(cctx);
	}
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [--netns CLIENT,SERVER] [--addr IPV4] [--seconds S]\n"
	      "                        [--runs N] [--streams N[,N...]] [--suite NAME|all]\n"
	      "                        [--csv FILE] [--summary FILE]\n"
	      "Each mode (plain TCP; kTLS with write() and with sendfile(); userspace\n"
	      "OpenSSL) sends for S seconds (default 10) per run, N runs (default 3),\n"
	      "for every number of streams (default 1,8, at most 64) and suite\n"
	      "(default all three).  --netns: the client's and the server's network\n"
	      "namespaces (ip netns names); --addr: the server's address there\n"
	      "(default 127.0.0.1).  --csv: a row per run; --summary: a row per\n"
	      "table line.  Needs the tls module; see Documentation/benchmarks.rst.\n",
	      f);
}

static void parse_streams(struct opts *o, const char *arg)
{
	char buf[64], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	o->n_streams = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->n_streams == 4)
			bad_usage("--streams: at most four numbers");
		o->streams[o->n_streams++] =
			(unsigned int)parse_uint("--streams", tok, 1, MAX_STREAMS);
	}
	if (!o->n_streams)
		bad_usage("--streams: \"%s\" names no number", arg);
}

static void parse_netns(struct opts *o, const char *arg)
{
	static char buf[256];
	char *comma;

	snprintf(buf, sizeof(buf), "%s", arg);
	comma = strchr(buf, ',');
	if (!comma || comma == buf || !comma[1] || strchr(comma + 1, ','))
		bad_usage("--netns: \"%s\" is not CLIENT,SERVER", arg);
	*comma = 0;
	o->ns[0] = buf;
	o->ns[1] = comma + 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "addr", required_argument, NULL, 'a' },
		{ "seconds", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ "streams", required_argument, NULL, 'S' },
		{ "suite", required_argument, NULL, 's' },
		{ "csv", required_argument, NULL, 'c' },
		{ "summary", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const uint16_t all[] = {
		QKTLS_TLS_AES_128_GCM_SHA256, QKTLS_TLS_AES_256_GCM_SHA384,
		QKTLS_TLS_CHACHA20_POLY1305_SHA256,
	};
	struct opts o = {
		.addr = "127.0.0.1", .seconds = 10, .runs = 3,
		.streams = { 1, 8 }, .n_streams = 2,
	};
	struct bench_context ctx;
	FILE *csv, *sum;
	char *end;
	int c;

	bench_prog = PROG;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			parse_netns(&o, optarg);
			break;
		case 'a':
			o.addr = optarg;
			break;
		case 't':
			errno = 0;
			o.seconds = strtod(optarg, &end);
			if (*end || errno || !(o.seconds >= 0.1 && o.seconds <= 3600))
				bad_usage("--seconds: \"%s\" is not a number from 0.1 to 3600", optarg);
			break;
		case 'r':
			o.runs = (unsigned int)parse_uint("--runs", optarg, 1, 1000);
			break;
		case 'S':
			parse_streams(&o, optarg);
			break;
		case 's':
			if (!strcmp(optarg, "all"))
				break;
			o.suites[0] = qktls_suite_by_name(optarg);
			if (!o.suites[0])
				bad_usage("--suite: unknown cipher suite \"%s\"", optarg);
			o.n_suites = 1;
			break;
		case 'c':
			o.csv = optarg;
			break;
		case 'u':
			o.summary = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument \"%s\" (see --help)", argv[optind]);
	if (!o.n_suites) {
		for (c = 0; c < 3; c++)
			o.suites[c] = qktls_suite_info(all[c]);
		o.n_suites = 3;
	}
	signal(SIGPIPE, SIG_IGN);	/* a failed call says why instead */
	bench_context(&ctx);
	pattern_make();
	csv = bench_csv_open(o.csv, "kernel,accel,suite,streams,mode,run,bytes,mibps,"
			     "tx_cpu_ms_per_mib,rx_cpu_ms_per_mib");
	sum = bench_csv_open(o.summary, "kernel,accel,suite,streams,mode,runs,mibps,"
			     "mibps_min,mibps_max,vs_openssl,vs_openssl_min,vs_openssl_max,"
			     "tx_cpu_ms_per_mib,rx_cpu_ms_per_mib");
	bench_context_print(&ctx);
	printf("bulk: %.1f s per run, calls of %u KiB, every byte checked at the receiver;\n"
	       "CPU: getrusage of each end's process per MiB moved; ratio: each run\n"
	       "against userspace OpenSSL in the same round\n",
	       o.seconds, CALL / 1024);
	bench(&o, csv, sum, &ctx);
	if ((csv && fclose(csv)) || (sum && fclose(sum)))
		die("%s: %s", o.csv, strerror(errno));
	return 0;
}
