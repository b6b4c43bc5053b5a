// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-bench-rekey: what a QKD TX rekey costs a kTLS stream.
 *
 * A loopback TCP pair with TLS 1.3 kTLS both ways is attached to qktls.ko
 * (QKTLS_CMD_SOCK_ATTACH, through libqktls) with per-direction QKD pools.
 * The client writes one 16 KiB record per write(); every R bytes it asks
 * the module for a QKD TX rekey (QKTLS_CMD_SOCK_REKEY in its own thread:
 * key-reference record, KeyUpdate record, switch).  The server's reader
 * takes the reference, sees the KeyUpdate and asks for the RX rekey.
 *
 * Printed, from one boot, after a warm-up run, median of --runs rounds
 * (each round runs every interval once, back to back, starting with a
 * different one):
 *  - throughput with a rekey every 1, 16 and 256 MiB against no rekey, as
 *    the median of the ratios within a round, with their range, and the
 *    ratio the median writer stall implies (robust on a busy host);
 *  - the stall of one rekey: on the writer, from the return of the last
 *    write() under the old key to the start of the first under the new one;
 *    on the reader, from the last data read before the key reference to the
 *    first data read after the RX rekey; both also as ratios to the time
 *    one 16 KiB record takes without rekeys.
 * Every figure is a ratio of two measurements of the same boot: absolute
 * speeds under emulation mean nothing.  Asserts nothing about time; fails
 * only when a rekey fails or a counter disagrees.
 *
 * --hold is for tests/kernel/qktls_tool.sh: it sets up one attached pair,
 * prints "client ID server ID", waits for a line on stdin, rekeys once
 * each way (QKD client to server, standard server to client; "rekeyed"),
 * or, on a kernel without kTLS rekey, asks for the client's TX rekey all
 * the same and prints "no-rekey" and the module's error message, and waits
 * for stdin to close.
 */
#include <getopt.h>
#include <stdarg.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* The uapi header (through qktls_nl.h) first: sock.h defers to its flags. */
#include "../../tests/lib/ktls.h"
#include "../../tests/lib/qktls_nl.h"

#include <qktls/handshake.h>
#include <qktls/keysched.h>
#include <qktls/ktls.h>
#include <qktls/sock.h>

#define PROG		"qktls-bench-rekey"
#define RECORD		16384		/* bytes per write(), one record */
#define MiB		(1024ULL * 1024)
#define KEY_LEN		32
#define KEY_TAG		0x4b52454bu	/* "KERK": IDs of the bench's keys */
#define ADD_BATCH	512		/* keys per KEY_ADD message */

/* Two copies of each direction's pool, as two hosts would hold them. */
#define POOL_C_C2S	"qkbench-c.c2s"	/* client TX */
#define POOL_C_S2C	"qkbench-c.s2c"	/* client RX */
#define POOL_S_C2S	"qkbench-s.c2s"	/* server RX */
#define POOL_S_S2C	"qkbench-s.s2c"	/* server TX */

static const char *const pools[] = {
	POOL_C_C2S, POOL_C_S2C, POOL_S_C2S, POOL_S_S2C,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void vfail(int status, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0), noreturn));
static void vfail(int status, const char *fmt, va_list ap)
{
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(status);
}

/* A failure: exit status 1. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(1, fmt, ap);
}

/* Bad usage: exit status 2. */
static void bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(2, fmt, ap);
}

/* ---- pools ------------------------------------------------------------------ */

static void nl_check(struct qk_reply *r, const char *what, const char *pool)
{
	int err = r->err;

	if (err)
		die("%s %s: %s%s%s", what, pool, strerror(-err),
		    r->extack[0] ? ": " : "", r->extack);
	qk_reply_free(r);
}

static void pools_create(struct qk *q, uint32_t capacity)
{
	struct qk_reply r;
	size_t i;

	for (i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		qk_pool_simple(q, QKTLS_CMD_POOL_DEL, pools[i], &r);
		qk_reply_free(&r);
		qk_pool_new(q, pools[i], capacity, KEY_LEN, &r);
		nl_check(&r, "pool add", pools[i]);
	}
}

static void pools_delete(struct qk *q)
{
	struct qk_reply r;
	size_t i;

	for (i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		qk_pool_simple(q, QKTLS_CMD_POOL_DEL, pools[i], &r);
		qk_reply_free(&r);
	}
}

/*
 * Fill both copies of a direction's pool with the same @n keys (the IDs
 * count on from *@next, so no ID is ever reused within a pool).
 */
static void pools_fill(struct qk *q, const char *a, const char *b,
		       unsigned int n, uint64_t *next)
{
	struct qk_reply r;
	unsigned int done, k;

	for (done = 0; done < n; done += k) {
		k = n - done < ADD_BATCH ? n - done : ADD_BATCH;
		qk_add_keys(q, a, KEY_TAG, *next + done, k, KEY_LEN, &r);
		nl_check(&r, "key add", a);
		qk_add_keys(q, b, KEY_TAG, *next + done, k, KEY_LEN, &r);
		nl_check(&r, "key add", b);
	}
	*next += n;
}

/* ---- an attached kTLS pair ---------------------------------------------------- */

struct pair {
	int c, s;			/* client (writer), server (reader) */
	uint64_t c_id, s_id;		/* socket cookies */
};

static void attach(struct qktls_nl *nl, int fd, uint16_t suite,
		   const uint8_t *tx, const uint8_t *rx, size_t len,
		   const char *tx_pool, const char *rx_pool, uint64_t policy,
		   uint64_t *id)
{
	struct qktls_sock_attach a = {
		.fd = fd, .suite = suite, .tx_secret = tx, .rx_secret = rx,
		.secret_len = len, .link = "bench", .tx_pool = tx_pool,
		.rx_pool = rx_pool, .qkd_update = true, .rekey_bytes = policy,
	};
	struct qktls_sock_info info;
	int err = qktls_sock_attach(nl, &a, &info);

	if (err)
		die("attach: %s", qktls_nl_error(nl));
	*id = info.id;
}

static void pair_open(struct pair *p, struct qktls_nl *nl, uint16_t suite,
		      uint64_t policy)
{
	const struct qktls_suite_info *si = qktls_suite_info(suite);
	uint8_t c2s[QKTLS_MAX_HASH_LEN], s2c[QKTLS_MAX_HASH_LEN];
	size_t len = si->hash_len;
	int err;

	err = tcp_pair(&p->c, &p->s);
	if (err)
		die("loopback TCP pair: %s", strerror(-err));
	if (RAND_bytes(c2s, (int)len) != 1 || RAND_bytes(s2c, (int)len) != 1)
		die("no random secrets");
	err = qktls_ktls_install(p->c, QKTLS_DIR_TX, suite, c2s, len, 0);
	if (!err)
		err = qktls_ktls_install(p->c, QKTLS_DIR_RX, suite, s2c, len, 0);
	if (!err)
		err = qktls_ktls_install(p->s, QKTLS_DIR_TX, suite, s2c, len, 0);
	if (!err)
		err = qktls_ktls_install(p->s, QKTLS_DIR_RX, suite, c2s, len, 0);
	if (err)
		die("kTLS install: %s", qktls_strerror(err));
	attach(nl, p->c, suite, c2s, s2c, len, POOL_C_C2S, POOL_C_S2C, policy,
	       &p->c_id);
	attach(nl, p->s, suite, s2c, c2s, len, POOL_S_S2C, POOL_S_C2S, policy,
	       &p->s_id);
	OPENSSL_cleanse(c2s, sizeof(c2s));
	OPENSSL_cleanse(s2c, sizeof(s2c));
}

static void pair_close(struct pair *p)
{
	close(p->c);
	close(p->s);
}

/* ---- the reader --------------------------------------------------------------- */

struct samples {
	double *v;
	size_t n, cap;
};

static void sample_add(struct samples *s, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die("out of memory");
	}
	s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The @q quantile (0..1) of @s, nearest rank; sorts @s. */
static double quantile(struct samples *s, double q)
{
	size_t i;

	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	i = (size_t)(q * (s->n - 1) + 0.5);
	return s->v[i];
}

struct reader {
	int fd;
	struct qktls_nl *nl;
	uint64_t bytes, rekeys, qkd_rekeys;
	double t_done;
	struct samples gaps;	/* last data before a reference .. first after */
	const char *err;	/* set on failure */
	char msg[256];
};

/*
 * Read records until the writer shuts down: data is counted, a key
 * reference remembered, a KeyUpdate followed by the RX rekey (with the
 * reference, or standard).  Anything else is an error.
 */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint8_t ref[QKTLS_KEY_ID_LEN];
	bool have_ref = false, in_gap = false;
	double t_data = now();
	size_t len = 4 * RECORD;
	uint8_t *buf = malloc(len);
	uint8_t type;
	ssize_t n;
	int err;

	if (!buf) {
		r->err = "out of memory";
		return NULL;
	}
	for (;;) {
		n = qktls_recv_record(r->fd, buf, len, &type, 0);
		if (n == 0)
			break;
		if (n < 0) {
			snprintf(r->msg, sizeof(r->msg), "read: %s", strerror((int)-n));
			r->err = r->msg;
			break;
		}
		if (type == QKTLS_RECORD_APPLICATION_DATA) {
			double t = now();

			if (in_gap) {
				sample_add(&r->gaps, t - t_data);
				in_gap = false;
			}
			t_data = t;
			r->bytes += (uint64_t)n;
			continue;
		}
		if (type == QKTLS_RECORD_HANDSHAKE && n == 4 + QKTLS_KEY_ID_LEN &&
		    buf[0] == QKTLS_HS_QKD_KEY_REF && buf[1] == 0 && buf[2] == 0 &&
		    buf[3] == QKTLS_KEY_ID_LEN && !have_ref) {
			memcpy(ref, buf + 4, QKTLS_KEY_ID_LEN);
			have_ref = true;
			in_gap = true;
			continue;
		}
		if (type == QKTLS_RECORD_HANDSHAKE && n == 5 && buf[0] == 24 &&
		    buf[1] == 0 && buf[2] == 0 && buf[3] == 1 && buf[4] <= 1) {
			err = qktls_sock_rekey_rx(r->nl, r->fd, have_ref ? ref : NULL);
			if (err) {
				snprintf(r->msg, sizeof(r->msg), "RX rekey: %s",
					 qktls_nl_error(r->nl));
				r->err = r->msg;
				break;
			}
			r->rekeys++;
			r->qkd_rekeys += have_ref;
			in_gap = true;
			have_ref = false;
			continue;
		}
		snprintf(r->msg, sizeof(r->msg),
			 "unexpected record: type %u, %zd bytes, first byte %u%s",
			 type, n, buf[0], have_ref ? " after a key reference" : "");
		r->err = r->msg;
		break;
	}
	r->t_done = now();
	free(buf);
	return NULL;
}

/* ---- one run -------------------------------------------------------------------- */

struct run {
	double secs;		/* first write to the reader's end */
	uint64_t rekeys;
	struct samples stalls;	/* writer: last old write .. first new write */
	struct samples gaps;	/* reader */
};

static void run_once(struct qk *q, struct qktls_nl *wnl, struct qktls_nl *rnl,
		     uint16_t suite, uint64_t total, uint64_t every,
		     unsigned int flags, uint64_t *next_key, struct run *out)
{
	struct reader rd = { .nl = rnl };
	struct qktls_sock_info ci, si;
	uint64_t sent = 0, since = 0;
	static uint8_t buf[RECORD];
	unsigned int keys = every ? (unsigned int)(total / every) + 1 : 0;
	pthread_t th;
	struct pair p;
	double t0, ta;
	int err;

	memset(out, 0, sizeof(*out));
	if (keys && (flags & QKTLS_REKEY_QKD))
		pools_fill(q, POOL_C_C2S, POOL_S_C2S, keys, next_key);
	pair_open(&p, wnl, suite, 0);
	rd.fd = p.s;
	if (pthread_create(&th, NULL, reader_main, &rd))
		die("cannot start the reader thread");
	memset(buf, 0x5a, sizeof(buf));
	t0 = now();
	while (sent < total) {
		size_t n = total - sent < RECORD ? (size_t)(total - sent) : RECORD;
		ssize_t w;

		if (every && since >= every) {
			ta = now();
			err = qktls_sock_rekey_tx(wnl, p.c, flags, NULL);
			if (err < 0)
				die("TX rekey after %llu bytes: %s",
				    (unsigned long long)sent, qktls_nl_error(wnl));
			sample_add(&out->stalls, now() - ta);
			out->rekeys++;
			since = 0;
		}
		w = write_full(p.c, buf, n);
		if (w < 0)
			die("write: %s", strerror((int)-w));
		sent += (uint64_t)w;
		since += (uint64_t)w;
	}
	shutdown(p.c, SHUT_WR);
	pthread_join(th, NULL);
	if (rd.err)
		die("reader: %s", rd.err);
	out->secs = rd.t_done - t0;
	out->gaps = rd.gaps;
	if (rd.bytes != total || rd.rekeys != out->rekeys)
		die("the reader got %llu bytes and %llu rekeys, the writer sent %llu and %llu",
		    (unsigned long long)rd.bytes, (unsigned long long)rd.rekeys,
		    (unsigned long long)total, (unsigned long long)out->rekeys);
	/* The module must have counted what we did, no more, no less. */
	if (qktls_sock_get(wnl, p.c, &ci) || qktls_sock_get(wnl, p.s, &si))
		die("sock get: %s", qktls_nl_error(wnl));
	if (ci.stats.tx_rekeys != out->rekeys || si.stats.rx_rekeys != out->rekeys ||
	    ((flags & QKTLS_REKEY_QKD) &&
	     (ci.stats.tx_qkd_rekeys != out->rekeys ||
	      si.stats.rx_qkd_rekeys != out->rekeys)) ||
	    ci.stats.rekey_errors || si.stats.rekey_errors)
		die("module counters disagree: client tx %llu (qkd %llu), server rx %llu (qkd %llu), errors %llu/%llu, want %llu",
		    (unsigned long long)ci.stats.tx_rekeys,
		    (unsigned long long)ci.stats.tx_qkd_rekeys,
		    (unsigned long long)si.stats.rx_rekeys,
		    (unsigned long long)si.stats.rx_qkd_rekeys,
		    (unsigned long long)ci.stats.rekey_errors,
		    (unsigned long long)si.stats.rekey_errors,
		    (unsigned long long)out->rekeys);
	pair_close(&p);
}

/* ---- --hold: one attached pair for the admin tool's test ----------------------- */

static void expect_record(int fd, uint8_t want_type, uint8_t first, uint8_t *buf,
			  size_t len, ssize_t *got)
{
	uint8_t type;
	ssize_t n = qktls_recv_record(fd, buf, len, &type, 0);

	if (n <= 0 || type != want_type || buf[0] != first)
		die("hold: expected a record of type %u starting with %u, got %zd bytes of type %u",
		    want_type, first, n, n > 0 ? type : 0);
	*got = n;
}

static int hold(struct qk *q, struct qktls_nl *nl, uint16_t suite, bool rekey)
{
	uint8_t buf[256];
	uint64_t next = 1;
	struct pair p;
	ssize_t n;
	int err;

	pools_fill(q, POOL_C_C2S, POOL_S_C2S, 4, &next);
	pools_fill(q, POOL_C_S2C, POOL_S_S2C, 4, &next);
	pair_open(&p, nl, suite, 16 * MiB);
	printf("client %llu server %llu\n", (unsigned long long)p.c_id,
	       (unsigned long long)p.s_id);
	fflush(stdout);
	/* A line on stdin says go (so that monitors can start first). */
	if (!fgets((char *)buf, sizeof(buf), stdin))
		goto out;
	if (!rekey) {
		/* The module must refuse it, and say why. */
		err = qktls_sock_rekey_tx(nl, p.c, QKTLS_REKEY_QKD, NULL);
		printf("no-rekey %d %s\n", err, err < 0 ? qktls_nl_error(nl) : "");
		fflush(stdout);
		goto wait;
	}

	/* Client to server: a QKD update, then data under the new key. */
	err = qktls_sock_rekey_tx(nl, p.c, QKTLS_REKEY_QKD, NULL);
	if (err < 0)
		die("hold: client TX rekey: %s", qktls_nl_error(nl));
	if (write_full(p.c, "ping", 4) != 4)
		die("hold: write: %s", strerror(errno));
	expect_record(p.s, QKTLS_RECORD_HANDSHAKE, QKTLS_HS_QKD_KEY_REF, buf,
		      sizeof(buf), &n);
	if (n != 4 + QKTLS_KEY_ID_LEN)
		die("hold: key reference record of %zd bytes", n);
	memmove(buf, buf + 4, QKTLS_KEY_ID_LEN);
	expect_record(p.s, QKTLS_RECORD_HANDSHAKE, 24, buf + 64, 64, &n);
	if (qktls_sock_rekey_rx(nl, p.s, buf))
		die("hold: server RX rekey: %s", qktls_nl_error(nl));
	expect_record(p.s, QKTLS_RECORD_APPLICATION_DATA, 'p', buf, sizeof(buf), &n);

	/* Server to client: a standard update. */
	if (qktls_sock_rekey_tx(nl, p.s, 0, NULL) < 0)
		die("hold: server TX rekey: %s", qktls_nl_error(nl));
	if (write_full(p.s, "pong", 4) != 4)
		die("hold: write: %s", strerror(errno));
	expect_record(p.c, QKTLS_RECORD_HANDSHAKE, 24, buf, sizeof(buf), &n);
	if (qktls_sock_rekey_rx(nl, p.c, NULL))
		die("hold: client RX rekey: %s", qktls_nl_error(nl));
	expect_record(p.c, QKTLS_RECORD_APPLICATION_DATA, 'p', buf, sizeof(buf), &n);
	puts("rekeyed");
	fflush(stdout);
wait:
	while (fgets((char *)buf, sizeof(buf), stdin))
		;
out:
	pair_close(&p);
	return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [--total SIZE] [--runs N] [--suite NAME] [--standard]\n"
	      "       " PROG " --hold [--suite NAME]\n"
	      "SIZE is bytes per run, with an optional K, M or G (binary) suffix\n"
	      "(default 512M; more than 256M, so that a rekey every 256 MiB happens).\n"
	      "N runs of every rekey interval, in turn (default 3); medians are\n"
	      "printed.  --suite: TLS_AES_256_GCM_SHA384 (default),\n"
	      "TLS_AES_128_GCM_SHA256 or TLS_CHACHA20_POLY1305_SHA256.\n"
	      "--standard: RFC 8446 updates instead of QKD ones.  Needs\n"
	      "CAP_NET_ADMIN, tls and qktls.ko; see qktls-bench-rekey(1).\n", f);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!*s || *s < '0' || *s > '9')
		bad_usage("--total: \"%s\" is not a size", s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'M' || *end == 'G') {
		mul = *end == 'K' ? 1024 : *end == 'M' ? MiB : 1024 * MiB;
		end++;
	}
	if (*end || errno || v > UINT64_MAX / mul)
		bad_usage("--total: \"%s\" is not a size (digits and an optional K, M or G)", s);
	return v * mul;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "total", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ "suite", required_argument, NULL, 's' },
		{ "standard", no_argument, NULL, 'S' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Rekey intervals, no rekey first: the reference of every ratio. */
	static const uint64_t every[] = { 0, 256 * MiB, 16 * MiB, 1 * MiB };
	enum { N_EVERY = sizeof(every) / sizeof(every[0]) };
	const struct qktls_suite_info *si =
		qktls_suite_info(QKTLS_TLS_AES_256_GCM_SHA384);
	unsigned int runs = 3, flags = QKTLS_REKEY_QKD, i, j, k;
	struct samples thr[N_EVERY] = { 0 }, ratio[N_EVERY] = { 0 };
	struct samples stalls = { 0 }, gaps = { 0 };
	uint64_t total = 512 * MiB, rekeys[N_EVERY] = { 0 }, next_key = 1;
	struct qktls_nl *wnl, *rnl;
	bool do_hold = false;
	struct qk q;
	double base, rec_time, stall;
	char *end;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			total = parse_size(optarg);
			break;
		case 'r':
			errno = 0;
			runs = (unsigned int)strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno ||
			    !runs || runs > 1000)
				bad_usage("--runs: \"%s\" is not a number from 1 to 1000", optarg);
			break;
		case 's':
			si = qktls_suite_by_name(optarg);
			if (!si)
				bad_usage("--suite: unknown cipher suite \"%s\"", optarg);
			break;
		case 'S':
			flags = 0;
			break;
		case 'H':
			do_hold = true;
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
	if (total <= every[1])
		bad_usage("--total must be more than 256M, so that the 256 MiB interval rekeys");

	err = qk_open(&q);
	if (err)
		die("no qktls generic netlink family (is qktls.ko loaded?): %s",
		    strerror(-err));
	if (qktls_nl_open(&wnl) || qktls_nl_open(&rnl))
		die("cannot open libqktls netlink handles");
	err = qktls_ktls_rekey_supported();
	if (err < 0)
		die("%s", qktls_strerror(err));
	pools_create(&q, 4096);
	if (do_hold) {
		err = hold(&q, wnl, si->suite, err > 0);
		goto out;
	}
	if (!err)
		die("kernel has no kTLS rekey (TLS 1.3 key update needs Linux 6.14 or later)");

	printf("%s, %s key update, one 16 KiB record per write, %llu MiB per run, median of %u runs\n",
	       si->name, flags ? "QKD" : "standard",
	       (unsigned long long)(total / MiB), runs);
	/* A warm-up run, not counted: first use of every code path. */
	{
		struct run r;

		run_once(&q, wnl, rnl, si->suite, 64 * MiB, 0, flags, &next_key, &r);
		free(r.stalls.v);
		free(r.gaps.v);
	}
	/*
	 * Rounds: every interval once, back to back, starting with a
	 * different one each round.  A ratio is taken within a round, so
	 * slow drift of the machine cancels out.
	 */
	for (i = 0; i < runs; i++) {
		double t[N_EVERY];

		for (k = 0; k < N_EVERY; k++) {
			struct run r;
			size_t x;

			j = (i + k) % N_EVERY;
			run_once(&q, wnl, rnl, si->suite, total, every[j], flags,
				 &next_key, &r);
			t[j] = total / r.secs / MiB;
			sample_add(&thr[j], t[j]);
			rekeys[j] = r.rekeys;
			if (every[j] == 1 * MiB) {
				for (x = 0; x < r.stalls.n; x++)
					sample_add(&stalls, r.stalls.v[x]);
				for (x = 0; x < r.gaps.n; x++)
					sample_add(&gaps, r.gaps.v[x]);
			}
			free(r.stalls.v);
			free(r.gaps.v);
		}
		for (j = 0; j < N_EVERY; j++)
			sample_add(&ratio[j], t[j] / t[0]);
	}

	/*
	 * The writer's median stall per rekey also predicts the ratio: an
	 * interval's time at the no-rekey speed against that time plus one
	 * stall.  It is far less sensitive to a busy host than the measured
	 * ratio, whose range shows how busy the host was.
	 */
	base = quantile(&thr[0], 0.5);
	stall = quantile(&stalls, 0.5);
	printf("%-12s %7s %10s %12s %18s %14s\n", "rekey every", "rekeys",
	       "MiB/s", "vs no rekey", "(min .. max)", "from stall");
	for (j = 0; j < N_EVERY; j++) {
		double span = every[j] / (base * MiB);
		char label[32];

		if (every[j])
			snprintf(label, sizeof(label), "%llu MiB",
				 (unsigned long long)(every[j] / MiB));
		else
			snprintf(label, sizeof(label), "no rekey");
		printf("%-12s %7llu %10.1f %12.3f %8.3f .. %-7.3f %14.4f\n", label,
		       (unsigned long long)rekeys[j], quantile(&thr[j], 0.5),
		       quantile(&ratio[j], 0.5), quantile(&ratio[j], 0),
		       quantile(&ratio[j], 1), every[j] ? span / (span + stall) : 1.0);
	}
	rec_time = RECORD / (base * MiB);
	printf("one rekey's stall (%zu rekeys of the 1 MiB runs), against one 16 KiB record without rekeys (%.1f us):\n",
	       stalls.n, rec_time * 1e6);
	printf("  writer, last old record .. first new record: median %.1f us (%.2f records), p99 %.1f us (%.2f), max %.1f us\n",
	       quantile(&stalls, 0.5) * 1e6, quantile(&stalls, 0.5) / rec_time,
	       quantile(&stalls, 0.99) * 1e6, quantile(&stalls, 0.99) / rec_time,
	       quantile(&stalls, 1) * 1e6);
	printf("  reader, last old data .. first new data:     median %.1f us (%.2f records), p99 %.1f us (%.2f), max %.1f us\n",
	       quantile(&gaps, 0.5) * 1e6, quantile(&gaps, 0.5) / rec_time,
	       quantile(&gaps, 0.99) * 1e6, quantile(&gaps, 0.99) / rec_time,
	       quantile(&gaps, 1) * 1e6);
	for (j = 0; j < N_EVERY; j++) {
		free(thr[j].v);
		free(ratio[j].v);
	}
	free(stalls.v);
	free(gaps.v);
	err = 0;
out:
	pools_delete(&q);
	qktls_nl_close(wnl);
	qktls_nl_close(rnl);
	qk_close(&q);
	return err ? 1 : 0;
}
